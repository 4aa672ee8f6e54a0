//! The per-user topic ACL both brokers enforce: `chat/{room}/messages` for any room matching
//! `[A-Za-z0-9_-]{1,64}`, except room `admin`, which only user `admin` may use. Wildcard filters
//! are refused (`+` and `#` are not room characters).

/// The room of a chat topic, when the topic has the allowed shape.
#[must_use]
pub fn room_of(topic: &str) -> Option<&str> {
    let room = topic.strip_prefix("chat/")?.strip_suffix("/messages")?;
    let valid = (1..=64).contains(&room.len())
        && room
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    valid.then_some(room)
}

/// The room only user `admin` may use.
pub const ADMIN_ROOM: &str = "admin";

/// Whether `user` may publish to or subscribe to `topic`.
#[must_use]
pub fn allowed(user: &str, topic: &str) -> bool {
    room_of(topic).is_some_and(|room| room != ADMIN_ROOM || user == ADMIN_ROOM)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_user_may_use_a_well_formed_room() {
        assert!(allowed("alice", "chat/lobby/messages"));
        assert!(allowed("alice", "chat/A-z_09/messages"));
        assert!(allowed(
            "alice",
            &format!("chat/{}/messages", "r".repeat(64))
        ));
    }

    #[test]
    fn only_admin_may_use_the_admin_room() {
        assert!(!allowed("alice", "chat/admin/messages"));
        assert!(allowed("admin", "chat/admin/messages"));
    }

    #[test]
    fn malformed_rooms_and_wildcards_are_refused() {
        for topic in [
            "chat//messages",
            "chat/+/messages",
            "chat/#",
            "#",
            "chat/a b/messages",
            "chat/a/b/messages",
            "chat/lobby/other",
            "x/lobby/messages",
            &format!("chat/{}/messages", "r".repeat(65)),
        ] {
            assert!(!allowed("admin", topic), "{topic}");
        }
    }
}
