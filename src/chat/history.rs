//! What the chat keeps across reloads, as pure data: the last messages of a room and the
//! outbox (own messages typed but not acknowledged yet), their storage format and bounds.
//!
//! One record per (verified user, room), written whole: a message is either in the history or
//! in the outbox of one record, never in both, so a reload can neither lose an unacknowledged
//! message nor show one twice. The browser side (IndexedDB, the write schedule) is in
//! `crate::room::history`; the merge into the live list is [`super::ChatAction::Restored`].

use mqtt_lifecycle::json::{self, Value};

use super::wire::{MAX_ID_LEN, MAX_INCOMING_TEXT_CHARS, MAX_USER_LEN};

/// The format version written into each record; a record of another version is ignored.
pub const FORMAT_VERSION: u64 = 1;
/// The most bytes (of JSON) one room's record may take; the oldest history goes first. The
/// outbox is never dropped for size (the client's offline queue bounds it: 256 messages).
pub const MAX_RECORD_BYTES: usize = 512 * 1024;
/// Separates the parts of a storage key (cannot occur in a room name or a topic level).
pub const KEY_SEPARATOR: char = '\u{1f}';
/// The storage key that names the user whose records this browser holds.
pub const USER_MARKER_KEY: &str = "user";

/// The storage key of `user`'s record for `room`: `"room" US user US room`, under the user's
/// scope ([`user_scope`]), so signing out deletes a user's rooms together.
pub fn record_key(user: &str, room: &str) -> String {
    let mut key = user_scope(user);
    key.push(KEY_SEPARATOR);
    key.push_str(room);
    key
}

/// `"room" US user`: the key every record of `user` starts with (followed by the separator).
/// The storage module's delete takes it and removes every key under it.
pub fn user_scope(user: &str) -> String {
    let mut key = String::with_capacity(user.len() + 6);
    key.push_str("room");
    key.push(KEY_SEPARATOR);
    key.push_str(user);
    key
}

/// One message as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredMessage {
    /// The dedupe key it was listed under (the digest of (verified author, id), else of the
    /// payload). Written as 16 hex digits. Only used for messages whose payload is not kept
    /// (no id, or the shared topic); the others' keys are computed again when read, so a new
    /// build whose digest differs still recognises them.
    pub key: u64,
    /// The sender's message id.
    pub id: Option<String>,
    /// The verified author; `None` for the shared topic.
    pub author: Option<String>,
    /// The claimed display name.
    pub user: String,
    /// The text.
    pub text: String,
    /// The sender's clock, ms since the epoch.
    pub timestamp: u64,
    /// Written by this user.
    pub own: bool,
    /// Sent from a page of this browser and acknowledged: shown as "delivered" again.
    pub delivered: bool,
}

/// A room's record: the last messages (oldest first) and the outbox (in the order typed).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stored {
    /// Messages shown, oldest first.
    pub messages: Vec<StoredMessage>,
    /// Own messages not acknowledged yet: sent again, with the same id, when the app runs again.
    pub outbox: Vec<StoredMessage>,
}

fn write_message(out: &mut String, m: &StoredMessage) {
    out.push_str("{\"k\":\"");
    for shift in (0..16).rev() {
        out.push(char::from_digit(((m.key >> (shift * 4)) & 0xf) as u32, 16).unwrap_or('0'));
    }
    out.push('"');
    if let Some(id) = &m.id {
        out.push_str(",\"i\":");
        json::write_string(out, id);
    }
    if let Some(author) = &m.author {
        out.push_str(",\"a\":");
        json::write_string(out, author);
    }
    out.push_str(",\"u\":");
    json::write_string(out, &m.user);
    out.push_str(",\"t\":");
    json::write_string(out, &m.text);
    out.push_str(",\"s\":");
    out.push_str(&m.timestamp.to_string());
    if m.own {
        out.push_str(",\"o\":1");
    }
    if m.delivered {
        out.push_str(",\"d\":1");
    }
    out.push('}');
}

fn read_message(value: &Value) -> Option<StoredMessage> {
    let Value::Object(o) = value else { return None };
    let flag = |k: &str| matches!(o.get(k), Some(Value::Number(n)) if n.as_str() == "1");
    let text = |k: &str| match o.get(k) {
        Some(Value::String(s)) => Some(s.clone()),
        _ => None,
    };
    let m = StoredMessage {
        // 16 hex digits, folded here: `u64::from_str_radix` would link the standard integer
        // parser that `mqtt_lifecycle::net::parse_u64` keeps out of the wasm.
        key: text("k").filter(|k| k.len() == 16).and_then(|k| {
            k.chars()
                .try_fold(0u64, |n, c| Some(n << 4 | u64::from(c.to_digit(16)?)))
        })?,
        id: text("i"),
        author: text("a"),
        user: text("u")?,
        text: text("t")?,
        timestamp: match o.get("s") {
            Some(Value::Number(n)) => n.as_u64()?,
            _ => return None,
        },
        own: flag("o"),
        delivered: flag("d"),
    };
    let ok =
        m.id.as_ref()
            .is_none_or(|id| (1..=MAX_ID_LEN).contains(&id.len()))
            && m.author.as_ref().is_none_or(|a| !a.is_empty())
            && m.user.chars().count() <= MAX_USER_LEN
            && !m.text.trim().is_empty()
            && m.text.chars().count() <= MAX_INCOMING_TEXT_CHARS;
    ok.then_some(m)
}

impl Stored {
    /// The record as JSON: `{"v":1,"messages":[…],"outbox":[…]}` with short field names.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(64 + 160 * (self.messages.len() + self.outbox.len()));
        out.push_str("{\"v\":1,\"messages\":[");
        for (i, m) in self.messages.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_message(&mut out, m);
        }
        out.push_str("],\"outbox\":[");
        for (i, m) in self.outbox.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_message(&mut out, m);
        }
        out.push_str("]}");
        out
    }

    /// Reads a record. Not JSON, another version or another shape is an error (the caller
    /// starts empty and says so); an entry that does not check out is skipped, the rest kept.
    /// An outbox entry without an id cannot be sent again exactly once, so it is skipped too.
    pub fn from_json(text: &str) -> Result<Self, String> {
        let value = json::parse(text.as_bytes()).map_err(|e| e.to_string())?;
        let Value::Object(o) = value else {
            return Err("not a JSON object".to_owned());
        };
        match o.get("v") {
            Some(Value::Number(n)) if n.as_u64() == Some(FORMAT_VERSION) => {}
            _ => return Err(format!("not a version {FORMAT_VERSION} record")),
        }
        let list = |name: &str| match o.get(name) {
            Some(Value::Array(items)) => Ok(items.iter().filter_map(read_message).collect()),
            _ => Err(format!("`{name}` is not a list")),
        };
        let messages = list("messages")?;
        let mut outbox: Vec<StoredMessage> = list("outbox")?;
        outbox.retain(|m| m.own && m.id.is_some());
        Ok(Stored { messages, outbox })
    }

    /// Keeps at most `max_messages` of the newest history, then drops the oldest until the
    /// record's JSON fits in `max_bytes` (the outbox is kept whole).
    pub fn bounded(mut self, max_messages: usize, max_bytes: usize) -> Self {
        if self.messages.len() > max_messages {
            self.messages.drain(..self.messages.len() - max_messages);
        }
        // What each entry adds to the JSON, at most: its strings escaped (\uXXXX: 6 bytes per
        // byte in the worst case) is too pessimistic; measure instead.
        let size = |m: &StoredMessage| {
            let mut s = String::new();
            write_message(&mut s, m);
            s.len() + 1
        };
        let mut total = 40 + self.outbox.iter().map(size).sum::<usize>();
        let sizes: Vec<usize> = self.messages.iter().map(size).collect();
        total += sizes.iter().sum::<usize>();
        let mut drop = 0;
        while total > max_bytes && drop < sizes.len() {
            total -= sizes[drop];
            drop += 1;
        }
        self.messages.drain(..drop);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(key: u64, text: &str, own: bool) -> StoredMessage {
        StoredMessage {
            key,
            id: Some(format!("id-{key}")),
            author: Some("ann".into()),
            user: "Ann \"A\"".into(),
            text: text.into(),
            timestamp: 1_764_000_000_000,
            own,
            delivered: own,
        }
    }

    #[test]
    fn a_record_round_trips() {
        let mut shared = msg(u64::MAX, "line\nbreak </script>", false);
        shared.author = None;
        shared.id = None;
        let record = Stored {
            messages: vec![msg(0, "hi", false), shared],
            outbox: vec![msg(0x0123_4567_89ab_cdef, "pending 😀", true)],
        };
        assert_eq!(Stored::from_json(&record.to_json()), Ok(record));
    }

    #[test]
    fn a_damaged_record_is_an_error_and_bad_entries_are_skipped() {
        for bad in [
            "",
            "[]",
            "{}",
            r#"{"v":2,"messages":[],"outbox":[]}"#,
            r#"{"v":1,"messages":{}}"#,
        ] {
            assert!(Stored::from_json(bad).is_err(), "{bad}");
        }
        let text = r#"{"v":1,"messages":[{"k":"000000000000000a","u":"x","t":"ok","s":1},
            {"k":"000000000000000b","u":"x","t":"  ","s":1},{"k":"000000000000000c","u":"x","t":"no time"},7,
            {"k":"c","u":"x","t":"short key","s":1},{"k":"00000000000000zz","u":"x","t":"not hex","s":1}],
            "outbox":[{"k":"000000000000000d","i":"1","u":"x","t":"own","s":1,"o":1},
            {"k":"000000000000000e","u":"x","t":"no id","s":1,"o":1},
            {"k":"000000000000000f","i":"2","u":"x","t":"not own","s":1}]}"#;
        let s = Stored::from_json(text).expect("readable");
        let keys = |v: &[StoredMessage]| v.iter().map(|m| m.key).collect::<Vec<_>>();
        assert_eq!(keys(&s.messages), [0xa]);
        assert_eq!(keys(&s.outbox), [0xd]);
    }

    #[test]
    fn bounds_keep_the_newest_history_and_the_whole_outbox() {
        let record = Stored {
            messages: (0..10).map(|i| msg(i, &"x".repeat(100), false)).collect(),
            outbox: (100..103).map(|i| msg(i, &"y".repeat(100), true)).collect(),
        };
        let by_count = record.clone().bounded(4, usize::MAX);
        assert_eq!(by_count.messages.first().map(|m| m.key), Some(6));
        assert_eq!((by_count.messages.len(), by_count.outbox.len()), (4, 3));
        let by_size = record.clone().bounded(100, 1_000);
        assert!(
            by_size.to_json().len() <= 1_000,
            "{}",
            by_size.to_json().len()
        );
        assert_eq!(by_size.outbox.len(), 3);
        assert!(by_size.messages.len() < 10);
        assert_eq!(by_size.messages.last().map(|m| m.key), Some(9));
        // Too small even for the outbox: every message goes, the outbox stays.
        assert_eq!(record.bounded(100, 10).messages.len(), 0);
    }

    #[test]
    fn keys_are_per_user_and_room_and_a_users_keys_share_a_prefix() {
        assert_eq!(record_key("ann", "lobby"), "room\u{1f}ann\u{1f}lobby");
        let scope = |u: &str| format!("{}\u{1f}", user_scope(u));
        assert!(record_key("ann", "lobby").starts_with(&scope("ann")));
        assert!(!record_key("anne", "lobby").starts_with(&scope("ann")));
    }
}
