//! The room and its topics.

/// A room name, `[A-Za-z0-9_-]{1,64}` (the dev stack's rule for chat rooms).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Room(String);

impl Default for Room {
    fn default() -> Self {
        Room(Self::DEFAULT.to_owned())
    }
}

impl Room {
    /// The room used when the page names none (a room of its own, so the chat's rooms stay
    /// free of heartbeats).
    pub const DEFAULT: &'static str = "presence";

    /// `name` as a room, if it is a valid one.
    pub fn parse(name: &str) -> Option<Room> {
        let valid = (1..=64).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        valid.then(|| Room(name.to_owned()))
    }

    /// The room's name.
    pub fn name(&self) -> &str {
        &self.0
    }

    /// The filter every member subscribes to.
    pub fn filter(&self) -> String {
        format!("chat/{}/messages/+", self.0)
    }

    /// The topic `user` publishes on (the only one the broker lets them publish on).
    pub fn topic_of(&self, user: &str) -> String {
        format!("chat/{}/messages/{user}", self.0)
    }

    /// Who published on `topic`: its last level, when `topic` is one of this room's member
    /// topics.
    pub fn author<'t>(&self, topic: &'t str) -> Option<&'t str> {
        let author = topic
            .strip_prefix("chat/")?
            .strip_prefix(self.0.as_str())?
            .strip_prefix("/messages/")?;
        (!author.is_empty() && !author.contains('/')).then_some(author)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_names_follow_the_dev_stack_rule() {
        assert_eq!(Room::parse("lab-3_b").map(|r| r.0), Some("lab-3_b".into()));
        assert_eq!(Room::parse(""), None);
        assert_eq!(Room::parse("a/b"), None);
        assert_eq!(Room::parse("+"), None);
        assert_eq!(Room::parse(&"x".repeat(65)), None);
        assert_eq!(Room::default().name(), "presence");
    }

    #[test]
    fn the_author_is_the_last_level_of_a_member_topic_of_this_room() {
        let room = Room::parse("lab").unwrap();
        assert_eq!(room.filter(), "chat/lab/messages/+");
        assert_eq!(room.topic_of("alice"), "chat/lab/messages/alice");
        assert_eq!(room.author("chat/lab/messages/alice"), Some("alice"));
        assert_eq!(room.author("chat/lab/messages"), None);
        assert_eq!(room.author("chat/lab/messages/"), None);
        assert_eq!(room.author("chat/lab/messages/a/b"), None);
        assert_eq!(room.author("chat/lab2/messages/alice"), None);
        assert_eq!(room.author("chat/other/messages/alice"), None);
    }
}
