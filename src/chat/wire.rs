//! The JSON a chat message travels as, and the checks an incoming payload must pass.

use serde::{Deserialize, Serialize};

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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireMessage {
    /// Client message id, chosen by the sender (128 random bits) and unique per message; used to
    /// drop duplicates of the same author's message. Absent in the quickstart's messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
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
        let message: WireMessage =
            serde_json::from_slice(payload).map_err(|e| PayloadError::Shape(e.to_string()))?;
        message.check()?;
        Ok(message)
    }

    /// The JSON bytes to publish.
    pub fn to_json(&self) -> Vec<u8> {
        // Serialising a struct of strings and an integer cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    fn check(&self) -> Result<(), PayloadError> {
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
    fn payloads_of_the_wrong_shape_are_refused() {
        for bad in [
            &b"not json"[..],
            b"[]",
            b"{}",
            br#"{"id":"a","user":"b","text":"c"}"#,
            br#"{"user":"b","text":"c"}"#,
            br#"{"id":"a","user":"b","text":"c","timestamp":"yesterday"}"#,
            br#"{"id":1,"user":"b","text":"c","timestamp":1}"#,
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
