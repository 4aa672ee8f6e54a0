//! The JSON a chat message travels as, and the checks an incoming payload must pass.

use mqtt_lifecycle::json::{self, Value};

/// Longest client message id accepted.
pub const MAX_ID_LEN: usize = 128;
/// Longest author name accepted.
pub const MAX_USER_LEN: usize = 128;
/// Longest incoming text accepted, in characters, whatever this client's own limit is: a peer
/// could send anything up to the broker's packet limit, and one huge message must not stall the list.
pub const MAX_INCOMING_TEXT_CHARS: usize = 10_000;

/// One chat message on the wire:
/// `{ "id": "<client message id>", "user": "...", "text": "...", "timestamp": <epoch ms> }`.
///
/// `user`, `text` and a numeric `timestamp` are exactly what CloudSignal's quickstart component
/// publishes and reads, so the two interoperate; the quickstart sends no `id`, so it is optional
/// here. `user` is a *claimed* display name: who really sent a message is told by its topic
/// (see [`super::topics`]), never by the payload.
///
/// Read and written with the client's small JSON reader ([`mqtt_lifecycle::json`]), not serde:
/// unknown fields are ignored, `"id": null` means no id, a field given twice is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WireMessage {
    /// Client message id, chosen by the sender (128 random bits) and unique per message; used to
    /// drop duplicates of the same author's message. Absent in the quickstart's messages.
    pub id: Option<String>,
    /// The display name the sender claims.
    pub user: String,
    /// The message text (plain text, never markup).
    pub text: String,
    /// When the sender sent it, milliseconds since the Unix epoch.
    pub timestamp: u64,
}

/// Why an incoming payload was skipped.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    /// Not JSON, or JSON of another shape.
    #[error("payload is not a chat message: {0}")]
    Shape(String),
    /// A field is present but empty or too long.
    #[error("chat message field `{field}` is empty or longer than {limit}")]
    Field {
        /// The offending field.
        field: &'static str,
        /// Its limit.
        limit: usize,
    },
}

impl WireMessage {
    /// Parses and checks an incoming payload.
    pub fn parse(payload: &[u8]) -> Result<Self, PayloadError> {
        let shape = |what: &str| PayloadError::Shape(what.to_owned());
        let value = json::parse(payload).map_err(|e| PayloadError::Shape(e.to_string()))?;
        let Value::Object(object) = value else {
            return Err(shape("not a JSON object"));
        };
        let field = |name: &'static str| match object.count(name) {
            0 => Ok(None),
            1 => Ok(object.get(name)),
            _ => Err(PayloadError::Shape(["`", name, "` given twice"].concat())),
        };
        let text = |name: &'static str| match field(name)? {
            Some(Value::String(s)) => Ok(s.clone()),
            _ => Err(PayloadError::Shape(
                ["`", name, "` is not a string"].concat(),
            )),
        };
        let id = match field("id")? {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err(shape("`id` is not a string")),
        };
        let timestamp = match field("timestamp")? {
            Some(Value::Number(n)) => n.as_u64(),
            _ => None,
        }
        .ok_or_else(|| shape("`timestamp` is not a whole number of milliseconds"))?;
        let message = WireMessage {
            id,
            user: text("user")?,
            text: text("text")?,
            timestamp,
        };
        message.check()?;
        Ok(message)
    }

    /// The JSON bytes to publish: the fields in declaration order, `id` left out when absent
    /// (the bytes serde_json wrote).
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = String::with_capacity(48 + self.user.len() + self.text.len());
        out.push('{');
        if let Some(id) = &self.id {
            out.push_str("\"id\":");
            json::write_string(&mut out, id);
            out.push(',');
        }
        out.push_str("\"user\":");
        json::write_string(&mut out, &self.user);
        out.push_str(",\"text\":");
        json::write_string(&mut out, &self.text);
        out.push_str(",\"timestamp\":");
        // No `format!`: this runs once per message sent.
        let mut digits = [0u8; 20];
        let mut n = self.timestamp;
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        out.extend(digits[i..].iter().map(|&d| char::from(d)));
        out.push('}');
        out.into_bytes()
    }

    /// Checks the fields as [`WireMessage::parse`] does (non-empty, within the limits).
    pub(crate) fn check(&self) -> Result<(), PayloadError> {
        let field = |field, limit| PayloadError::Field { field, limit };
        if self
            .id
            .as_ref()
            .is_some_and(|id| id.is_empty() || id.len() > MAX_ID_LEN)
        {
            return Err(field("id", MAX_ID_LEN));
        }
        if self.user.trim().is_empty() || self.user.chars().count() > MAX_USER_LEN {
            return Err(field("user", MAX_USER_LEN));
        }
        if self.text.trim().is_empty() || self.text.chars().count() > MAX_INCOMING_TEXT_CHARS {
            return Err(field("text", MAX_INCOMING_TEXT_CHARS));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_well_formed_payload_parses() {
        let m = WireMessage::parse(br#"{"id":"c-1","user":"ann","text":"hi","timestamp":17}"#)
            .expect("valid");
        assert_eq!(m.user, "ann");
        assert_eq!(m.id.as_deref(), Some("c-1"));
        assert_eq!(m.timestamp, 17);
    }

    #[test]
    fn the_quickstarts_exact_payload_parses_without_an_id() {
        let m = WireMessage::parse(
            br#"{ "user": "user-123", "text": "hello", "timestamp": 1764000000000 }"#,
        )
        .expect("the quickstart's shape");
        assert_eq!(m.id, None);
        assert_eq!(m.user, "user-123");
        assert_eq!(m.timestamp, 1_764_000_000_000);
    }

    #[test]
    fn our_payload_reads_as_the_quickstarts_shape() {
        let m = WireMessage {
            id: Some("abc".into()),
            user: "ann".into(),
            text: "hi".into(),
            timestamp: 1_764_000_000_000,
        };
        assert_eq!(
            m.to_json(),
            br#"{"id":"abc","user":"ann","text":"hi","timestamp":1764000000000}"#
        );
        let v: serde_json::Value = serde_json::from_slice(&m.to_json()).expect("json");
        assert!(v["user"].is_string() && v["text"].is_string());
        assert_eq!(v["timestamp"].as_u64(), Some(1_764_000_000_000));
        assert_eq!(v["id"], "abc");
    }

    #[test]
    fn a_message_survives_a_round_trip() {
        let m = WireMessage {
            id: Some("x".into()),
            user: "<b>".into(),
            text: "\"quoted\" & <script>".into(),
            timestamp: 1,
        };
        assert_eq!(WireMessage::parse(&m.to_json()), Ok(m));
    }

    #[test]
    fn tricky_text_round_trips_through_serde_json_both_ways() {
        for (id, user, text, timestamp) in [
            (None, "ann", "plain", 0),
            (Some("é"), "\"b\"\\", "line\nbreak\ttab\u{1}\u{7f}", 1),
            (
                Some("x"),
                "😀 \u{2028}",
                "</script><!-- & \\u0041",
                u64::MAX,
            ),
        ] {
            let m = WireMessage {
                id: id.map(str::to_owned),
                user: user.into(),
                text: text.into(),
                timestamp,
            };
            let ours = m.to_json();
            let v: serde_json::Value = serde_json::from_slice(&ours).expect("json");
            assert_eq!(v["user"], user);
            assert_eq!(v["text"], text);
            assert_eq!(v["timestamp"].as_u64(), Some(timestamp));
            assert_eq!(v.get("id").and_then(|v| v.as_str()), id);
            let theirs = serde_json::to_vec(&v).expect("json");
            assert_eq!(WireMessage::parse(&theirs).as_ref(), Ok(&m));
            assert_eq!(WireMessage::parse(&ours), Ok(m));
        }
    }

    #[test]
    fn unknown_fields_are_ignored_and_a_null_id_is_no_id() {
        let m = WireMessage::parse(
            br#"{"id":null,"user":"a","text":"b","timestamp":2,"extra":{"x":[1]}}"#,
        )
        .expect("valid");
        assert_eq!((m.id, m.timestamp), (None, 2));
    }

    #[test]
    fn payloads_of_the_wrong_shape_are_refused() {
        for bad in [
            &b"not json"[..],
            b"[]",
            b"{}",
            br#"{"id":"a","user":"b","text":"c"}"#,
            br#"{"user":"b","text":"c"}"#,
            br#"{"id":"a","user":"b","text":"c","timestamp":"yesterday"}"#,
            br#"{"id":1,"user":"b","text":"c","timestamp":1}"#,
            br#"{"user":"b","user":"d","text":"c","timestamp":1}"#,
            br#"{"user":"b","text":"c","timestamp":1.5}"#,
            br#"{"user":"b","text":"c","timestamp":-1}"#,
            br#"{"user":"b","text":"c","timestamp":1e3}"#,
            br#"{"user":"b","text":"c","timestamp":18446744073709551616}"#,
            br#"{"user":null,"text":"c","timestamp":1}"#,
            br#"["a","b","c",1]"#,
            b"{\"user\":\"\xff\",\"text\":\"c\",\"timestamp\":1}",
            b"\xff\xfe",
        ] {
            assert!(
                matches!(WireMessage::parse(bad), Err(PayloadError::Shape(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn empty_or_oversized_fields_are_refused() {
        let long = "x".repeat(MAX_INCOMING_TEXT_CHARS + 1);
        for (json, field) in [
            (
                r#"{"id":"","user":"b","text":"c","timestamp":1}"#.to_owned(),
                "id",
            ),
            (
                r#"{"id":"a","user":" ","text":"c","timestamp":1}"#.to_owned(),
                "user",
            ),
            (
                r#"{"id":"a","user":"b","text":"  ","timestamp":1}"#.to_owned(),
                "text",
            ),
            (
                format!(r#"{{"id":"a","user":"b","text":"{long}","timestamp":1}}"#),
                "text",
            ),
        ] {
            match WireMessage::parse(json.as_bytes()) {
                Err(PayloadError::Field { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{json}: {other:?}"),
            }
        }
    }
}
