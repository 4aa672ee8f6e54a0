//! The embedded broker's room history: the last chat messages of each room as the broker
//! accepted them (after its ACL), served at `GET /api/history?room=R`, the app's optional
//! `historyUrl` (contract in docs/token-contract.md, "Room history").
//!
//! Fed by the broker's publish event, which `mqtt5` fires only for publishes that passed
//! `authorize_publish`: a message on `chat/{room}/messages/{author}` was published by `{author}`'s
//! credential, so the author given out is the verified one, as the topic tells a subscriber. In
//! memory only: a restart of the stack starts empty.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use serde_json::{json, Value};

use crate::acl::{self, AclMode};

/// Messages kept per room (the app's default `storedMessages`).
pub const HISTORY_PER_ROOM: usize = 200;
/// Rooms kept at most; past it a room's history is dropped to make room.
pub const MAX_ROOMS: usize = 1_000;
/// Longest text kept, in characters (the app's limit for incoming text).
pub const MAX_TEXT_CHARS: usize = 10_000;

/// The rooms' last messages.
pub(crate) struct RoomHistory {
    mode: AclMode,
    rooms: Mutex<HashMap<String, VecDeque<Value>>>,
}

/// `(room, author)` of a chat message topic: `chat/{room}/messages/{author}` (verified author)
/// or `chat/{room}/messages` (the shared topic: no author).
fn message_topic(topic: &str) -> Option<(&str, Option<&str>)> {
    if let Some(room) = acl::room_of(topic) {
        return Some((room, None));
    }
    let (prefix, author) = topic.rsplit_once('/')?;
    let room = acl::room_of(prefix)?;
    acl::valid_user(author).then_some((room, Some(author)))
}

/// The chat message in `payload` as served: `{id?, author?, user, text, timestamp}`.
fn entry(author: Option<&str>, payload: &[u8]) -> Option<Value> {
    let Ok(Value::Object(m)) = serde_json::from_slice::<Value>(payload) else {
        return None;
    };
    let user = m.get("user")?.as_str()?;
    let text = m.get("text")?.as_str()?;
    let timestamp = m.get("timestamp")?.as_u64()?;
    let id = match m.get("id") {
        None | Some(Value::Null) => None,
        Some(Value::String(id)) if (1..=128).contains(&id.len()) => Some(id.as_str()),
        Some(_) => return None,
    };
    let sound = !user.trim().is_empty()
        && user.chars().count() <= 128
        && !text.trim().is_empty()
        && text.chars().count() <= MAX_TEXT_CHARS;
    sound.then(|| {
        let mut e = json!({ "user": user, "text": text, "timestamp": timestamp });
        if let Some(id) = id {
            e["id"] = json!(id);
        }
        if let Some(author) = author {
            e["author"] = json!(author);
        }
        e
    })
}

impl RoomHistory {
    /// An empty history for a broker with the chat ACL `mode`.
    pub(crate) fn new(mode: AclMode) -> Self {
        Self {
            mode,
            rooms: Mutex::new(HashMap::new()),
        }
    }

    /// Records a publish the broker accepted; anything but a live chat message is ignored.
    pub(crate) fn record(&self, topic: &str, payload: &[u8], retain: bool) {
        if retain {
            return;
        }
        let Some((room, author)) = message_topic(topic) else {
            return;
        };
        let Some(e) = entry(author, payload) else {
            return;
        };
        let mut rooms = self.rooms.lock().unwrap_or_else(|p| p.into_inner());
        if !rooms.contains_key(room) && rooms.len() >= MAX_ROOMS {
            if let Some(victim) = rooms.keys().next().cloned() {
                rooms.remove(&victim);
            }
        }
        let list = rooms.entry(room.to_owned()).or_default();
        list.push_back(e);
        while list.len() > HISTORY_PER_ROOM {
            list.pop_front();
        }
    }

    /// Whether `user` may read `room` (may subscribe to its messages).
    pub(crate) fn may_read(&self, user: &str, room: &str) -> bool {
        acl::may_subscribe(self.mode, user, &format!("chat/{room}/messages"))
    }

    /// `room`'s messages, oldest first.
    pub(crate) fn messages(&self, room: &str) -> Vec<Value> {
        let rooms = self.rooms.lock().unwrap_or_else(|p| p.into_inner());
        rooms
            .get(room)
            .map(|l| l.iter().cloned().collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(id: &str, text: &str) -> Vec<u8> {
        serde_json::to_vec(&json!({ "id": id, "user": "Ann", "text": text, "timestamp": 5 }))
            .expect("json")
    }

    #[test]
    fn author_topic_messages_are_kept_with_the_verified_author_and_shared_ones_without() {
        let h = RoomHistory::new(AclMode::Mixed);
        h.record("chat/r1/messages/ann", &payload("a", "hi"), false);
        h.record("chat/r1/messages", &payload("b", "shared"), false);
        let m = h.messages("r1");
        assert_eq!(m.len(), 2);
        assert_eq!(m[0]["author"], "ann");
        assert_eq!(m[0]["id"], "a");
        assert!(m[1].get("author").is_none());
        assert!(h.messages("r2").is_empty());
    }

    #[test]
    fn anything_but_a_live_chat_message_is_ignored() {
        let h = RoomHistory::new(AclMode::Author);
        h.record("chat/r1/messages/ann", &payload("a", "retained"), true);
        h.record(
            "chat/r1/presence/ann/i1",
            br#"{"name":"x","since":1}"#,
            false,
        );
        h.record("chat/r1/messages/ann", b"not json", false);
        h.record(
            "chat/r1/messages/ann",
            br#"{"user":"a","text":" ","timestamp":1}"#,
            false,
        );
        h.record(
            "chat/r1/messages/ann",
            br#"{"id":7,"user":"a","text":"x","timestamp":1}"#,
            false,
        );
        h.record("chat/bad room/messages/ann", &payload("a", "x"), false);
        h.record("other/r1/messages/ann", &payload("a", "x"), false);
        assert!(h.messages("r1").is_empty());
    }

    #[test]
    fn each_room_keeps_its_newest_messages() {
        let h = RoomHistory::new(AclMode::Author);
        for i in 0..HISTORY_PER_ROOM + 5 {
            h.record(
                "chat/r/messages/ann",
                &payload(&format!("m{i}"), "x"),
                false,
            );
        }
        let m = h.messages("r");
        assert_eq!(m.len(), HISTORY_PER_ROOM);
        assert_eq!(m[0]["id"], "m5");
    }

    #[test]
    fn the_admin_room_is_readable_by_admin_only() {
        let h = RoomHistory::new(AclMode::Author);
        assert!(h.may_read("ann", "lobby"));
        assert!(!h.may_read("ann", "admin"));
        assert!(h.may_read("admin", "admin"));
    }
}
