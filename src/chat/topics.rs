//! Which topics a room uses, and what a message's topic says about its author.
//!
//! Identity comes from the broker, never from the payload: a message published on
//! `chat/{room}/messages/{author}` can only have been sent with a credential the broker's ACL lets
//! publish there, so the last level is the **verified author** (the token's `userId`). The shared
//! topic `chat/{room}/messages` (the one CloudSignal's quickstart uses) carries messages whose
//! author cannot be verified: their `user` field is only a claim.

/// Longest author id (topic level) accepted, in bytes.
pub const MAX_AUTHOR_LEN: usize = 128;

/// Where a message came from, read off its topic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source<'a> {
    /// An author topic: the broker verified that `0` published it.
    Author(&'a str),
    /// The shared topic: the author is only what the payload claims.
    Shared,
}

/// Whether `author` can be a topic level: non-empty, at most [`MAX_AUTHOR_LEN`] bytes, and no
/// `/`, `+`, `#`, NUL or other control character. (RabbitMQ also turns `.` into a level
/// separator: hosts on RabbitMQ must use ids without `.`; see docs/token-contract.md.)
pub fn is_valid_author(author: &str) -> bool {
    (1..=MAX_AUTHOR_LEN).contains(&author.len())
        && !author
            .chars()
            .any(|c| matches!(c, '/' | '+' | '#') || c.is_control())
}

pub use livechat_config::TopicMode;

/// The topics of one room.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoomTopics {
    shared: String,
    authors: String,
}

impl RoomTopics {
    /// The topics of `room` (a valid room name).
    pub fn new(room: &str) -> Self {
        let shared = format!("chat/{room}/messages");
        let authors = format!("{shared}/+");
        Self { shared, authors }
    }

    /// `chat/{room}/messages`: the quickstart's topic, unverified.
    pub fn shared(&self) -> &str {
        &self.shared
    }

    /// `chat/{room}/messages/+`: every author topic of the room.
    pub fn authors_filter(&self) -> &str {
        &self.authors
    }

    /// `chat/{room}/messages/{author}`, if `author` can be a topic level.
    pub fn author_topic(&self, author: &str) -> Option<String> {
        is_valid_author(author).then(|| format!("{}/{author}", self.shared))
    }

    /// What `topic` says about the author of a message that arrived on it; `None` for a topic
    /// that is not one of this room's.
    pub fn source<'t>(&self, topic: &'t str) -> Option<Source<'t>> {
        let rest = topic.strip_prefix(self.shared.as_str())?;
        if rest.is_empty() {
            return Some(Source::Shared);
        }
        let author = rest.strip_prefix('/')?;
        is_valid_author(author).then_some(Source::Author(author))
    }

    /// The filters to subscribe in `mode`.
    pub fn filters(&self, mode: TopicMode) -> Vec<String> {
        match mode {
            TopicMode::PerAuthor => vec![self.authors.clone(), self.shared.clone()],
            TopicMode::Shared => vec![self.shared.clone()],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_level_of_an_author_topic_is_the_author() {
        let t = RoomTopics::new("lobby");
        assert_eq!(
            t.source("chat/lobby/messages/alice"),
            Some(Source::Author("alice"))
        );
        assert_eq!(t.source("chat/lobby/messages"), Some(Source::Shared));
        assert_eq!(
            t.author_topic("alice").as_deref(),
            Some("chat/lobby/messages/alice")
        );
    }

    #[test]
    fn other_rooms_deeper_levels_and_lookalikes_are_not_this_rooms() {
        let t = RoomTopics::new("lobby");
        for topic in [
            "chat/lobby/messagesx",
            "chat/lobby/messages/",
            "chat/lobby/messages/a/b",
            "chat/lobby2/messages/alice",
            "chat/lobb/messages",
            "chat/lobby",
        ] {
            assert_eq!(t.source(topic), None, "{topic}");
        }
    }

    #[test]
    fn an_author_id_that_cannot_be_a_topic_level_gets_no_topic() {
        let t = RoomTopics::new("lobby");
        for bad in ["", "a/b", "a+", "#", "a\0b", "a\nb"] {
            assert_eq!(t.author_topic(bad), None, "{bad:?}");
        }
        assert_eq!(t.author_topic(&"x".repeat(MAX_AUTHOR_LEN + 1)), None);
        assert!(t.author_topic("user-123@org_7").is_some());
    }

    #[test]
    fn per_author_mode_reads_both_topics_and_shared_mode_only_the_shared_one() {
        let t = RoomTopics::new("r");
        assert_eq!(
            t.filters(TopicMode::PerAuthor),
            ["chat/r/messages/+", "chat/r/messages"]
        );
        assert_eq!(t.filters(TopicMode::Shared), ["chat/r/messages"]);
    }
}
