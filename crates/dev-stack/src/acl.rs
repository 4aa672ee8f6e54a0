//! The chat topic ACL both brokers enforce (the embedded broker calls these functions; the
//! Mosquitto dynsec roles in the `mosquitto` module express the same rule).
//!
//! Topics (see `docs/ARCHITECTURE.md`):
//! - shared ("quickstart") topic `chat/{room}/messages`: the author is whatever the payload says;
//! - author topic `chat/{room}/messages/{author}`: only `{author}` may publish there, so the last
//!   level is the author *verified by the broker*.
//!
//! A room matches `[A-Za-z0-9_-]{1,64}`; room `admin` is only for user `admin`. What a user may
//! do depends on the [`AclMode`] (`CHAT_ACL`):
//!
//! | mode         | publish                                   | subscribe                                    |
//! |--------------|-------------------------------------------|----------------------------------------------|
//! | `author`     | `chat/{room}/messages/{self}`             | `chat/{room}/messages`, `chat/{room}/messages/+` |
//! | `quickstart` | `chat/{room}/messages`                    | `chat/{room}/messages`                       |
//! | `mixed`      | both of the above                         | `chat/{room}/messages`, `chat/{room}/messages/+` |
//!
//! Any other wildcard (`#`, `+` as the room) is refused; so is publishing on another user's
//! author topic. Subscribing to one author's topic (`chat/{room}/messages/{user}`) is a subset of
//! `…/+` and allowed where `…/+` is.
//!
//! Presence (where author topics exist, `author` and `mixed`): one entry per user and tab on
//! `chat/{room}/presence/{author}/{instance}` (`{instance}` `[A-Za-z0-9_-]{1,64}`). Only
//! `{author}` may publish there, so that level is the verified author, as for messages; anyone
//! in the room may subscribe to `chat/{room}/presence/+/+` (or one author's `…/{user}/+`).
//! **Retained** publishes (and retained Wills) are allowed on one's own presence topic and
//! nowhere else ([`may_retain`]).

use std::fmt;
use std::str::FromStr;

/// Which chat topics a credential may use (`CHAT_ACL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AclMode {
    /// Publish only on one's own author topic; read both topic kinds (default).
    #[default]
    Author,
    /// Only the shared `chat/{room}/messages` topic, as an existing quickstart backend allows.
    Quickstart,
    /// `Author` plus publishing on the shared topic (a room shared with quickstart clients).
    Mixed,
}

impl AclMode {
    /// The name used by `CHAT_ACL` / `--chat-acl`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Author => "author",
            Self::Quickstart => "quickstart",
            Self::Mixed => "mixed",
        }
    }

    /// Whether the shared topic may be published on.
    #[must_use]
    pub fn shared_publish(self) -> bool {
        matches!(self, Self::Quickstart | Self::Mixed)
    }

    /// Whether author topics exist (publish own, subscribe `…/+`).
    #[must_use]
    pub fn author_topics(self) -> bool {
        matches!(self, Self::Author | Self::Mixed)
    }
}

impl fmt::Display for AclMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for AclMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "" | "author" => Ok(Self::Author),
            "quickstart" => Ok(Self::Quickstart),
            "mixed" => Ok(Self::Mixed),
            _ => Err("expected `author`, `quickstart` or `mixed`".into()),
        }
    }
}

/// The room only user `admin` may use.
pub const ADMIN_ROOM: &str = "admin";

fn valid_room(room: &str) -> bool {
    (1..=64).contains(&room.len())
        && room
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Whether `name` is a possible dev-stack user name (`[A-Za-z0-9_.-]{1,64}`, as `/dev/login`
/// accepts).
#[must_use]
pub fn valid_user(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// The room of a shared chat topic `chat/{room}/messages`, when the topic has that shape.
#[must_use]
pub fn room_of(topic: &str) -> Option<&str> {
    let room = topic.strip_prefix("chat/")?.strip_suffix("/messages")?;
    valid_room(room).then_some(room)
}

/// `(room, last level)` of `chat/{room}/messages/{level}`, the room validated, the level not.
fn author_parts(topic: &str) -> Option<(&str, &str)> {
    let rest = topic.strip_prefix("chat/")?;
    let (room, rest) = rest.split_once('/')?;
    let level = rest.strip_prefix("messages/")?;
    (valid_room(room) && !level.contains('/')).then_some((room, level))
}

/// `(room, author level, instance level)` of `chat/{room}/presence/{author}/{instance}`, the
/// room validated, the other levels not.
fn presence_parts(topic: &str) -> Option<(&str, &str, &str)> {
    let rest = topic.strip_prefix("chat/")?;
    let (room, rest) = rest.split_once('/')?;
    let (author, instance) = rest.strip_prefix("presence/")?.split_once('/')?;
    (valid_room(room) && !instance.contains('/')).then_some((room, author, instance))
}

/// A presence instance level: `[A-Za-z0-9_-]{1,64}` (the same shape as a room name).
fn valid_instance(instance: &str) -> bool {
    valid_room(instance)
}

fn room_allowed(user: &str, room: &str) -> bool {
    room != ADMIN_ROOM || user == ADMIN_ROOM
}

/// Whether `user` may publish on `topic` under `mode`.
#[must_use]
pub fn may_publish(mode: AclMode, user: &str, topic: &str) -> bool {
    if let Some(room) = room_of(topic) {
        return mode.shared_publish() && room_allowed(user, room);
    }
    if let Some((room, author, instance)) = presence_parts(topic) {
        return mode.author_topics()
            && author == user
            && valid_instance(instance)
            && room_allowed(user, room);
    }
    match author_parts(topic) {
        Some((room, author)) => mode.author_topics() && author == user && room_allowed(user, room),
        None => false,
    }
}

/// Whether `user` may publish on `topic` with the retain flag (a retained PUBLISH or a
/// retained Will): only on their own presence topic.
#[must_use]
pub fn may_retain(mode: AclMode, user: &str, topic: &str) -> bool {
    presence_parts(topic).is_some() && may_publish(mode, user, topic)
}

/// Whether a retained message of `len` bytes on `topic` may stay retained at the broker: a
/// presence entry on a topic its author level may retain on (the broker has already checked
/// that level is the publisher's) of at most 512 bytes (the embedded broker's retained limit). Anything
/// else retained is deleted (Mosquitto's retain janitor; the embedded broker never stores it).
#[must_use]
pub fn retained_may_stay(mode: AclMode, topic: &str, len: usize) -> bool {
    len <= crate::embedded::MAX_RETAINED_BYTES
        && presence_parts(topic).is_some_and(|(_, author, _)| may_retain(mode, author, topic))
}

/// Whether `topic` is a presence topic (`chat/{room}/presence/{author}/{instance}` in shape).
#[must_use]
pub fn is_presence_topic(topic: &str) -> bool {
    presence_parts(topic).is_some()
}

/// Whether `user` may subscribe to `filter` under `mode`.
#[must_use]
pub fn may_subscribe(mode: AclMode, user: &str, filter: &str) -> bool {
    if let Some(room) = room_of(filter) {
        return room_allowed(user, room);
    }
    if let Some((room, author, instance)) = presence_parts(filter) {
        return mode.author_topics()
            && (author == "+" || valid_user(author))
            && (instance == "+" || valid_instance(instance))
            && room_allowed(user, room);
    }
    match author_parts(filter) {
        Some((room, level)) => {
            mode.author_topics() && (level == "+" || valid_user(level)) && room_allowed(user, room)
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::AclMode::{Author, Mixed, Quickstart};
    use super::*;

    #[test]
    fn modes_parse_by_name_and_default_to_author() {
        assert_eq!("".parse::<AclMode>(), Ok(Author));
        assert_eq!(" mixed ".parse::<AclMode>(), Ok(Mixed));
        assert_eq!("quickstart".parse::<AclMode>(), Ok(Quickstart));
        assert!("open".parse::<AclMode>().is_err());
        assert_eq!(AclMode::default(), Author);
        for mode in [Author, Quickstart, Mixed] {
            assert_eq!(mode.name().parse::<AclMode>(), Ok(mode));
        }
    }

    #[test]
    fn author_mode_publishes_only_on_ones_own_author_topic() {
        assert!(may_publish(Author, "alice", "chat/lobby/messages/alice"));
        assert!(!may_publish(Author, "alice", "chat/lobby/messages/bob"));
        assert!(!may_publish(Author, "alice", "chat/lobby/messages"));
        assert!(!may_publish(Author, "alice", "chat/lobby/messages/+"));
        assert!(!may_publish(Author, "alice", "chat/lobby/messages/alice/x"));
        assert!(may_subscribe(Author, "alice", "chat/lobby/messages/+"));
        assert!(may_subscribe(Author, "alice", "chat/lobby/messages"));
        assert!(may_subscribe(Author, "alice", "chat/lobby/messages/bob"));
    }

    #[test]
    fn only_small_presence_entries_may_stay_retained() {
        let entry = "chat/lobby/presence/alice/0af3";
        assert!(retained_may_stay(Author, entry, 0));
        assert!(retained_may_stay(Mixed, entry, 512));
        assert!(
            !retained_may_stay(Author, entry, 513),
            "over the entry size"
        );
        assert!(
            !retained_may_stay(Quickstart, entry, 10),
            "no presence in quickstart mode"
        );
        assert!(!retained_may_stay(
            Author,
            "chat/lobby/presence/alice/a.b",
            10
        ));
        assert!(!retained_may_stay(Author, "chat/lobby/messages/alice", 10));
        assert!(!retained_may_stay(Mixed, "chat/lobby/messages", 10));
        assert!(!retained_may_stay(
            Author,
            "chat/admin/presence/bob/0af3",
            10
        ));
        assert!(retained_may_stay(
            Author,
            "chat/admin/presence/admin/0af3",
            10
        ));
    }

    #[test]
    fn quickstart_mode_has_only_the_shared_topic() {
        assert!(may_publish(Quickstart, "alice", "chat/lobby/messages"));
        assert!(may_subscribe(Quickstart, "alice", "chat/lobby/messages"));
        assert!(!may_publish(
            Quickstart,
            "alice",
            "chat/lobby/messages/alice"
        ));
        assert!(!may_subscribe(Quickstart, "alice", "chat/lobby/messages/+"));
    }

    #[test]
    fn mixed_mode_adds_the_shared_topic_to_author_mode() {
        assert!(may_publish(Mixed, "alice", "chat/lobby/messages"));
        assert!(may_publish(Mixed, "alice", "chat/lobby/messages/alice"));
        assert!(!may_publish(Mixed, "alice", "chat/lobby/messages/bob"));
        assert!(may_subscribe(Mixed, "alice", "chat/lobby/messages/+"));
    }

    #[test]
    fn presence_is_published_only_on_ones_own_topic_and_read_by_the_room() {
        for mode in [Author, Mixed] {
            assert!(may_publish(mode, "alice", "chat/lobby/presence/alice/0af3"));
            assert!(may_retain(mode, "alice", "chat/lobby/presence/alice/0af3"));
            assert!(!may_publish(mode, "alice", "chat/lobby/presence/bob/0af3"));
            assert!(!may_retain(mode, "alice", "chat/lobby/presence/bob/0af3"));
            assert!(may_subscribe(mode, "alice", "chat/lobby/presence/+/+"));
            assert!(may_subscribe(mode, "alice", "chat/lobby/presence/bob/+"));
            assert!(may_subscribe(mode, "alice", "chat/lobby/presence/bob/0af3"));
        }
        assert!(!may_publish(
            Quickstart,
            "alice",
            "chat/lobby/presence/alice/0af3"
        ));
        assert!(!may_subscribe(
            Quickstart,
            "alice",
            "chat/lobby/presence/+/+"
        ));
        assert!(!may_publish(
            Author,
            "alice",
            "chat/admin/presence/alice/0af3"
        ));
        assert!(!may_subscribe(Author, "alice", "chat/admin/presence/+/+"));
        assert!(may_retain(
            Author,
            "admin",
            "chat/admin/presence/admin/0af3"
        ));
    }

    #[test]
    fn retain_is_allowed_nowhere_but_ones_own_presence_topic() {
        for mode in [Author, Quickstart, Mixed] {
            for topic in [
                "chat/lobby/messages/alice",
                "chat/lobby/messages",
                "chat/lobby/presence/alice",
                "chat/lobby/presence/alice/",
                "chat/lobby/presence/alice/a/b",
                "chat/lobby/presence/alice/+",
                "chat/lobby/presence/alice/#",
                "chat/lobby/presence/alice/a b",
                "chat/+/presence/alice/x",
                "other/lobby/presence/alice/x",
            ] {
                assert!(!may_retain(mode, "alice", topic), "{mode} retain {topic}");
            }
        }
    }

    #[test]
    fn malformed_presence_filters_are_refused() {
        for filter in [
            "chat/lobby/presence/#",
            "chat/lobby/presence/+",
            "chat/lobby/presence/+/#",
            "chat/+/presence/+/+",
            "chat/lobby/presence/+/+/x",
            "chat/lobby/presence/a b/+",
        ] {
            assert!(!may_subscribe(Author, "alice", filter), "sub {filter}");
            assert!(!may_publish(Author, "alice", filter), "pub {filter}");
        }
    }

    #[test]
    fn any_user_may_use_a_well_formed_room() {
        for mode in [Author, Quickstart, Mixed] {
            assert!(may_subscribe(mode, "alice", "chat/A-z_09/messages"));
            assert!(may_subscribe(
                mode,
                "alice",
                &format!("chat/{}/messages", "r".repeat(64))
            ));
        }
    }

    #[test]
    fn only_admin_may_use_the_admin_room() {
        for mode in [Author, Quickstart, Mixed] {
            assert!(!may_subscribe(mode, "alice", "chat/admin/messages"));
            assert!(!may_subscribe(mode, "alice", "chat/admin/messages/+"));
            assert!(!may_publish(mode, "alice", "chat/admin/messages"));
            assert!(!may_publish(mode, "alice", "chat/admin/messages/alice"));
            assert!(may_subscribe(mode, "admin", "chat/admin/messages"));
        }
        assert!(may_publish(Author, "admin", "chat/admin/messages/admin"));
        assert!(may_publish(Quickstart, "admin", "chat/admin/messages"));
    }

    #[test]
    fn malformed_rooms_and_other_wildcards_are_refused() {
        for mode in [Author, Quickstart, Mixed] {
            for topic in [
                "chat//messages",
                "chat/+/messages",
                "chat/+/messages/+",
                "chat/+/messages/admin",
                "chat/lobby/messages/#",
                "chat/lobby/messages/+/x",
                "chat/lobby/messages/",
                "chat/#",
                "#",
                "chat/a b/messages",
                "chat/a/b/messages",
                "chat/lobby/other",
                "x/lobby/messages",
                &format!("chat/{}/messages", "r".repeat(65)),
            ] {
                assert!(!may_subscribe(mode, "admin", topic), "{mode} sub {topic}");
                assert!(!may_publish(mode, "admin", topic), "{mode} pub {topic}");
            }
        }
    }
}
