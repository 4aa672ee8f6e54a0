//! Configuration and identities the caller hands to the session.

use core::time::Duration;

use mqtt_codec::packet::{LastWill, ProtocolVersion};

/// A transport link (one WebSocket), named by the caller. Never reuse an id for a new link:
/// bytes or a close arriving late for an old link must not be mistaken for the new one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LinkId(pub u32);

impl core::fmt::Display for LinkId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "link#{}", self.0)
    }
}

/// User name and password sent in CONNECT (for this project, the short-lived token).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ConnectCredentials {
    /// User name.
    pub username: Option<String>,
    /// Password (raw bytes, MQTT allows binary).
    pub password: Option<Vec<u8>>,
}

impl core::fmt::Debug for ConnectCredentials {
    // The password is a bearer token: never let it reach a log through `{:?}`.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ConnectCredentials")
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// Session settings. Build with `SessionConfig { client_id: ..., ..Default::default() }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    /// Protocol version of the next CONNECT (default MQTT 5); see [`Session::set_protocol`](crate::Session::set_protocol).
    pub protocol: ProtocolVersion,
    /// Client identifier. Empty asks the server to assign one (v5), which is then kept for
    /// every later link of this session.
    pub client_id: String,
    /// Keep-alive announced in CONNECT (default 30 s; zero turns keep-alive off). A v5 server may
    /// override it with Server Keep Alive. Rounded down to whole seconds, capped at 65 535 s.
    pub keep_alive: Duration,
    /// How long CONNACK may take after the link opened (default 10 s).
    pub connect_timeout: Duration,
    /// v5 Session Expiry Interval in seconds (default 600). Must be above zero for a session to
    /// survive a reconnect; a takeover CONNECT always announces at least 1. Above zero, the
    /// first CONNECT already says Clean Start 0 (as 3.1.1 says Clean Session 0): use a fresh
    /// `client_id` for a new session.
    pub session_expiry: u32,
    /// v5 Receive Maximum we announce: how many QoS 1 and 2 messages the server may have
    /// unacknowledged with us at once (default 64). QoS 1 is acknowledged as it arrives, so
    /// what it bounds in practice is incoming QoS 2 messages awaiting PUBREL.
    pub receive_maximum: u16,
    /// Maximum Packet Size in bytes, fixed header included (default 65 536; 0 = no limit).
    ///
    /// - MQTT 5: announced in CONNECT, so the server must not send us anything larger.
    /// - Incoming (both versions): a PUBLISH above it is skipped without being buffered and
    ///   acknowledged (QoS 1/2), and reported as [`Event::MessageDropped`](crate::Event::MessageDropped)
    ///   (no reconnect loop on a message the server keeps redelivering); any other packet
    ///   above it is a protocol error.
    /// - Outgoing: a publish above it is refused like one above the server's limit
    ///   ([`CommandError::ExceedsOwnLimit`](crate::CommandError::ExceedsOwnLimit)).
    pub maximum_packet_size: u32,
    /// v5 Topic Alias Maximum we announce for incoming publishes (default 16; 0 = none).
    pub topic_alias_maximum: u16,
    /// Commands that may wait for a link: publishes not yet written plus subscription changes
    /// not yet sent (default 256). Beyond it commands fail with
    /// [`CommandError::QueueFull`](crate::CommandError::QueueFull).
    pub queue_limit: usize,
    /// Will message (default none).
    pub will: Option<LastWill>,
    /// Whether the first CONNECT must ask to resume a session the server may already hold for
    /// this client id (v5 Clean Start 0) whatever the session expiry (default `false`; with a
    /// session expiry above zero the first CONNECT asks to resume anyway). For a
    /// client that takes over a session another instance left, e.g. the browser tab that takes
    /// over the connection tabs share when the tab that held it closes: the QoS 1 messages the
    /// server queued for the session meanwhile are then delivered.
    pub resume: bool,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            protocol: ProtocolVersion::V5,
            client_id: String::new(),
            keep_alive: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            session_expiry: 600,
            receive_maximum: 64,
            maximum_packet_size: 65_536,
            topic_alias_maximum: 16,
            queue_limit: 256,
            will: None,
            resume: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_debug_never_shows_the_password() {
        let creds = ConnectCredentials {
            username: Some("alice".into()),
            password: Some(b"s3cret".to_vec()),
        };
        let shown = format!("{creds:?}");
        assert!(shown.contains("alice"));
        assert!(!shown.contains("s3cret"));
    }
}
