//! Messages in and out, and the typed errors of the handle's commands and the JSON helpers.

use mqtt_browser::{BrowserError, CommandError, IncomingMessage, QoS};
use serde::de::DeserializeOwned;

/// A message that arrived on a subscribed topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MqttMessage {
    /// The topic it was published to.
    pub topic: String,
    /// The raw payload.
    pub payload: Vec<u8>,
    /// The QoS it was delivered with.
    pub qos: QoS,
    /// Whether it is a retained message replayed at subscribe time.
    pub retain: bool,
    /// Whether the broker marked it as a possible redelivery. A hint only: drop duplicates by an
    /// application message id.
    pub dup: bool,
}

impl From<IncomingMessage> for MqttMessage {
    /// Moves the topic and payload over; nothing is copied.
    fn from(message: IncomingMessage) -> Self {
        Self {
            topic: message.topic,
            payload: message.payload,
            qos: message.qos,
            retain: message.retain,
            dup: message.dup,
        }
    }
}

impl MqttMessage {
    /// The payload parsed as JSON into any `Deserialize` type.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, JsonError> {
        serde_json::from_slice(&self.payload).map_err(|source| JsonError {
            topic: self.topic.clone(),
            source,
        })
    }

    /// The payload as UTF-8 text, if it is.
    pub fn text(&self) -> Option<&str> {
        std::str::from_utf8(&self.payload).ok()
    }
}

/// A payload that is not the JSON the application expected.
#[derive(Debug, thiserror::Error)]
#[error("the payload on {topic} does not parse: {source}")]
pub struct JsonError {
    /// The message's topic.
    pub topic: String,
    /// What serde_json said.
    #[source]
    pub source: serde_json::Error,
}

/// Why a command of the handle (`subscribe`, `unsubscribe`, `publish`, `publish_json`) was
/// not queued.
#[derive(Debug, thiserror::Error)]
pub enum UseMqttError {
    /// The client is not running (the component is unmounting, or it could not start: see
    /// [`UseMqttHandle::setup_error`](crate::UseMqttHandle::setup_error)).
    #[error("the MQTT client is not running")]
    NotRunning,
    /// The session refused the command (queue full, invalid topic...).
    #[error(transparent)]
    Command(#[from] CommandError),
    /// The value could not be serialized to JSON; serde_json's message. Text, not the
    /// `serde_json::Error`: this enum's `Display` is in every app that publishes, and carrying
    /// the error would link serde_json's messages into apps that never use `publish_json`.
    #[error("cannot serialize the payload: {0}")]
    Serialize(String),
}

/// Why the hook could not do what its options ask; the handle reports it until the next
/// attempt succeeds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SetupError {
    /// The client could not start (no window: not running in a page). The state stays `Idle`.
    #[error("the MQTT client could not start: {0}")]
    Start(#[source] BrowserError),
    /// The declared `subscriptions` were refused: an invalid filter (then nothing changed), or
    /// a full offline queue (then the changes before it apply).
    #[error("the subscriptions could not be declared: {0}")]
    Subscriptions(#[source] CommandError),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(payload: &[u8]) -> MqttMessage {
        MqttMessage {
            topic: "chat/lobby/messages".into(),
            payload: payload.to_vec(),
            qos: QoS::AtLeastOnce,
            retain: false,
            dup: false,
        }
    }

    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Chat {
        id: u32,
        text: String,
    }

    #[test]
    fn a_json_payload_reads_as_the_asked_type() {
        let chat: Chat = message(br#"{"id":7,"text":"hi"}"#).json().unwrap();
        assert_eq!(
            chat,
            Chat {
                id: 7,
                text: "hi".into()
            }
        );
    }

    #[test]
    fn a_payload_of_the_wrong_shape_is_a_typed_error_naming_the_topic() {
        let error = message(br#"{"id":"seven"}"#).json::<Chat>().unwrap_err();
        assert_eq!(error.topic, "chat/lobby/messages");
        assert!(error.to_string().contains("chat/lobby/messages"));
    }

    #[test]
    fn binary_payloads_are_not_text() {
        assert_eq!(message(b"hi").text(), Some("hi"));
        assert_eq!(message(&[0xFF, 0xFE]).text(), None);
    }
}
