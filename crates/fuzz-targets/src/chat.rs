//! The `chat` target: the app's chat payload parser, `WireMessage::parse` in `src/chat/wire.rs`
//! (included here as is), which reads every message a peer publishes.
//!
//! It must never panic, and a payload it accepts:
//! - keeps its fields within their limits (id 1..=128 bytes, user 1..=128 characters, text
//!   1..=10 000 characters, neither blank);
//! - is a JSON object with those fields for `serde_json` too;
//! - survives our writer: `parse(to_json(m)) == m`.
//!
//! Input: the payload.

use crate::wire::{PayloadError, WireMessage, MAX_ID_LEN, MAX_INCOMING_TEXT_CHARS, MAX_USER_LEN};

/// Runs one input.
pub fn run(data: &[u8]) {
    let message = match WireMessage::parse(data) {
        Ok(message) => message,
        Err(error) => {
            // Its words are built without panicking.
            let _ = error.to_string();
            if let PayloadError::Field { limit, .. } = error {
                assert!(limit > 0);
            }
            return;
        }
    };
    if let Some(id) = &message.id {
        assert!(!id.is_empty() && id.len() <= MAX_ID_LEN, "{message:?}");
    }
    assert!(!message.user.trim().is_empty() && message.user.chars().count() <= MAX_USER_LEN);
    assert!(
        !message.text.trim().is_empty() && message.text.chars().count() <= MAX_INCOMING_TEXT_CHARS
    );

    let theirs: serde_json::Value =
        serde_json::from_slice(data).expect("serde_json reads a payload we accept");
    assert_eq!(theirs["user"].as_str(), Some(message.user.as_str()));
    assert_eq!(theirs["text"].as_str(), Some(message.text.as_str()));
    assert_eq!(theirs["timestamp"].as_u64(), Some(message.timestamp));
    assert_eq!(
        theirs.get("id").and_then(|v| v.as_str()),
        message.id.as_deref()
    );

    let written = message.to_json();
    assert_eq!(
        WireMessage::parse(&written).as_ref(),
        Ok(&message),
        "{written:?}"
    );
}
