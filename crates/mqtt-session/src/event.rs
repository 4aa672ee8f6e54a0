//! What the session hands back: bytes to send, events, and the errors inside them.

use core::fmt::{self, Write as _};
use core::time::Duration;

use mqtt_codec::packet::{QoS, UserProperty};
use mqtt_codec::reason::{
    ConnectReason, DisconnectReason, PubAckReason, SubscribeReason, UnsubscribeReason,
};
use mqtt_codec::{DecodeError, EncodeError};

use crate::config::LinkId;

/// Bytes to write on a link, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// The link to write on.
    pub link: LinkId,
    /// One or more whole MQTT packets.
    pub bytes: Vec<u8>,
}

/// Names one [`Session::publish`](crate::Session::publish) call in later
/// [`Event::Delivery`] events. Unique for the session's lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PublishId(pub u64);

/// Something the application should know about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// CONNACK accepted the connection on `link`, which is now the active link.
    Connected {
        /// The link now carrying the session.
        link: LinkId,
        /// The server resumed an existing session.
        session_present: bool,
        /// What the server allows on this link.
        limits: ServerLimits,
    },
    /// CONNACK refused the connection on `link`. The link is finished: close it.
    ConnectRefused {
        /// The refused link.
        link: LinkId,
        /// Typed reason (3.1.1 return codes are mapped onto the v5 outcomes).
        reason: ConnectReason,
        /// v5 Reason String.
        reason_string: Option<String>,
    },
    /// `link` is finished and the session no longer uses it; close the socket if still open
    /// (after writing the pending transmits: they may hold a DISCONNECT).
    LinkDown {
        /// The finished link.
        link: LinkId,
        /// Why.
        reason: LinkDownReason,
    },
    /// `link` was superseded (a takeover completed, or a newer link replaced a connecting one).
    /// Close it quietly; whatever it still receives is ignored.
    LinkRetired {
        /// The superseded link.
        link: LinkId,
    },
    /// An application message arrived (delivered once per QoS 2 exchange).
    Message(IncomingMessage),
    /// Result of subscribing one filter.
    Subscription {
        /// The filter.
        filter: String,
        /// The granted QoS, or why the server refused it.
        result: Result<QoS, Refusal>,
    },
    /// Result of unsubscribing one filter.
    Unsubscribed {
        /// The filter.
        filter: String,
        /// Success (including "no subscription existed"), or why the server refused.
        result: Result<(), Refusal>,
    },
    /// Progress of one publish.
    Delivery {
        /// The publish, as returned by [`Session::publish`](crate::Session::publish).
        id: PublishId,
        /// Its new status.
        status: DeliveryStatus,
    },
    /// An incoming message above our Maximum Packet Size was skipped (and, at QoS 1/2,
    /// acknowledged so the server does not redeliver it). The link stays up.
    MessageDropped(DroppedMessage),
}

/// An incoming message skipped for its size: what is known of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DroppedMessage {
    /// Its topic (a v5 topic alias resolved; empty if the alias was unknown).
    pub topic: String,
    /// Its size on the wire in bytes, fixed header included.
    pub size: u64,
    /// The QoS it was delivered with.
    pub qos: QoS,
    /// Our Maximum Packet Size it exceeded.
    pub maximum: u32,
}

impl core::fmt::Display for DroppedMessage {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "dropped oversized message on {} ({} bytes, the limit is {})",
            self.topic, self.size, self.maximum
        )
    }
}

/// Status of a publish after `Ok(id)` (which means queued).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// Written to a link for the first time (for QoS 0 this is the last event).
    Sent,
    /// PUBACK (QoS 1) or PUBCOMP (QoS 2) with success.
    Acknowledged,
    /// The server refused it (v5 PUBACK/PUBREC reason code ≥ 0x80).
    Refused(Refusal),
    /// The session gave up on it before the server took it.
    Dropped(DropReason),
}

/// Why a publish was dropped by the session itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DropReason {
    /// Larger than the server's Maximum Packet Size (e.g. queued offline, or in flight when a
    /// new link's CONNACK announced a smaller limit). Never sent.
    #[error("message too large: {size} bytes, the broker accepts at most {maximum}")]
    PacketTooLarge {
        /// Encoded size.
        size: usize,
        /// The server's limit.
        maximum: u32,
    },
    /// Larger than our own Maximum Packet Size on the link it was to be written on (only
    /// after a protocol fallback changed its encoding). Never sent.
    #[error("message too large: {size} bytes, this client sends at most {maximum}")]
    ExceedsOwnLimit {
        /// Encoded size.
        size: usize,
        /// Our limit.
        maximum: u32,
    },
    /// The QoS is above the server's Maximum QoS.
    #[error("{requested:?} exceeds the server's maximum {maximum:?}")]
    QosNotSupported {
        /// QoS asked for.
        requested: QoS,
        /// The server's limit.
        maximum: QoS,
    },
    /// Retain asked for but the server has Retain Available = 0.
    #[error("the server does not support retained messages")]
    RetainNotSupported,
    /// The message could not be encoded.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// [`Session::disconnect`](crate::Session::disconnect) ended the session first.
    #[error("the session was ended before the server acknowledged the message")]
    SessionEnded,
    /// Relayed from another instance that runs the session for this one (the browser tab that
    /// holds the connection tabs share) and did not accept the publish: its reason in words.
    #[error("{0}")]
    NotAccepted(String),
}

/// A refusal from the server: the typed reason, the raw code and the v5 reason string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Typed reason.
    pub reason: RefusalReason,
    /// Code as received on the wire.
    pub code: u8,
    /// v5 Reason String.
    pub reason_string: Option<String>,
}

impl Refusal {
    /// A short human description for the UI.
    #[must_use]
    pub fn describe(&self) -> &'static str {
        match self.reason {
            RefusalReason::Subscribe(r) => r.describe(),
            RefusalReason::Unsubscribe(r) => r.describe(),
            RefusalReason::Publish(r) => r.describe(),
        }
    }
}

impl core::fmt::Display for Refusal {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{} (0x{:02X})", self.describe(), self.code)?;
        if let Some(text) = &self.reason_string {
            write!(f, ": {text}")?;
        }
        Ok(())
    }
}

/// The typed reason inside a [`Refusal`], by the packet that carried it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalReason {
    /// From SUBACK (3.1.1 0x80 is [`SubscribeReason::Refused`]).
    Subscribe(SubscribeReason),
    /// From a v5 UNSUBACK.
    Unsubscribe(UnsubscribeReason),
    /// From a v5 PUBACK or PUBREC.
    Publish(PubAckReason),
}

/// Why a link ended.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkDownReason {
    /// No CONNACK within `connect_timeout`.
    #[error("no CONNACK within the connect timeout")]
    ConnectTimeout,
    /// Nothing came back after a PINGREQ within half the keep-alive.
    #[error("no answer to PINGREQ: the link is dead")]
    KeepAliveTimeout,
    /// The driver reported the transport closed.
    #[error("the transport closed")]
    TransportClosed,
    /// The server sent DISCONNECT.
    #[error("the server disconnected: {reason}")]
    ServerDisconnect {
        /// Typed reason.
        reason: DisconnectReason,
        /// v5 Reason String.
        reason_string: Option<String>,
        /// v5 Server Reference.
        server_reference: Option<String>,
    },
    /// The incoming bytes could not be decoded (v5: we sent DISCONNECT 0x81, or 0x95 for a
    /// packet above our maximum).
    #[error("undecodable input: {0}")]
    Decode(#[from] DecodeError),
    /// The server broke the protocol (v5: we sent DISCONNECT with
    /// [`ProtocolError::disconnect_reason`]).
    #[error("protocol error: {0}")]
    Protocol(#[from] ProtocolError),
    /// CONNECT could not be encoded (e.g. a 3.1.1 password without a user name).
    #[error("cannot encode CONNECT: {0}")]
    Encode(#[from] EncodeError),
    /// [`Session::disconnect`](crate::Session::disconnect) sent DISCONNECT on this link.
    #[error("disconnected by the client")]
    ClientDisconnect,
}

/// A server packet that breaks the MQTT rules, with the offending values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// AUTH, though our CONNECT named no authentication method (MQTT 5 §4.12: the server must
    /// not send AUTH then).
    #[error("AUTH received but no authentication method was requested")]
    UnexpectedAuth,
    /// A second CONNACK on a connected link.
    #[error("second CONNACK on a connected link")]
    DuplicateConnAck,
    /// A packet on a takeover link before we wrote its CONNECT (the session was still letting
    /// the old link drain): no server speaks first.
    #[error("{packet} received before CONNECT was sent")]
    BeforeConnect {
        /// Packet name.
        packet: &'static str,
    },
    /// Something other than CONNACK (or AUTH/DISCONNECT) before CONNACK.
    #[error("{packet} received before CONNACK")]
    BeforeConnAck {
        /// Packet name.
        packet: &'static str,
    },
    /// A packet only a client may send.
    #[error("{packet} is never sent by a server")]
    ClientOnlyPacket {
        /// Packet name.
        packet: &'static str,
    },
    /// SUBACK or UNSUBACK for a packet id with no request in flight on this link.
    #[error("{packet} for unknown packet id {packet_id}")]
    UnknownPacketId {
        /// Packet name.
        packet: &'static str,
        /// The packet id.
        packet_id: u16,
    },
    /// SUBACK/UNSUBACK with a different number of codes than the request had filters.
    #[error("{packet} has {received} codes for {expected} filters")]
    AckCountMismatch {
        /// Packet name.
        packet: &'static str,
        /// Filters in the request.
        expected: usize,
        /// Codes received.
        received: usize,
    },
    /// Topic alias 0 or above our Topic Alias Maximum.
    #[error("topic alias {alias} outside 1..={maximum}")]
    TopicAliasInvalid {
        /// The alias.
        alias: u16,
        /// Our Topic Alias Maximum.
        maximum: u16,
    },
    /// PUBLISH with an empty topic and an alias never set on this link.
    #[error("topic alias {alias} was never set on this link")]
    UnknownTopicAlias {
        /// The alias.
        alias: u16,
    },
    /// PUBLISH with an empty topic and no alias.
    #[error("PUBLISH with an empty topic and no topic alias")]
    EmptyTopic,
    /// More unreleased incoming QoS 2 messages than our Receive Maximum.
    #[error("more than {maximum} incoming QoS 2 messages awaiting PUBREL")]
    ReceiveMaximumExceeded {
        /// Our Receive Maximum.
        maximum: u16,
    },
}

impl ProtocolError {
    /// The v5 DISCONNECT reason the session sends for this error.
    #[must_use]
    pub fn disconnect_reason(&self) -> DisconnectReason {
        match self {
            Self::TopicAliasInvalid { .. } | Self::UnknownTopicAlias { .. } => {
                DisconnectReason::TopicAliasInvalid
            }
            Self::ReceiveMaximumExceeded { .. } => DisconnectReason::ReceiveMaximumExceeded,
            _ => DisconnectReason::ProtocolError,
        }
    }
}

/// What the server allows on one link, from CONNACK (v5 properties; defaults for 3.1.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerLimits {
    /// QoS 1/2 publishes that may await acknowledgement at once (65 535 when absent).
    pub receive_maximum: u16,
    /// Largest packet the server accepts (`None`: no limit announced).
    pub maximum_packet_size: Option<u32>,
    /// Highest QoS the server accepts for our publishes.
    pub maximum_qos: QoS,
    /// Whether retained publishes are allowed.
    pub retain_available: bool,
    /// Topic aliases the server accepts from us (the session does not use them).
    pub topic_alias_maximum: u16,
    /// Keep-alive in force on this link (Server Keep Alive if sent, else ours; zero = off).
    pub keep_alive: Duration,
    /// Session Expiry Interval the server set, if it changed ours.
    pub session_expiry_interval: Option<u32>,
    /// Client identifier the server assigned.
    pub assigned_client_identifier: Option<String>,
    /// Wildcard subscriptions available.
    pub wildcard_subscription_available: bool,
    /// Subscription identifiers available.
    pub subscription_identifiers_available: bool,
    /// Shared subscriptions available.
    pub shared_subscription_available: bool,
    /// v5 Response Information.
    pub response_information: Option<String>,
    /// v5 Server Reference.
    pub server_reference: Option<String>,
}

/// An application message received from the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingMessage {
    /// Topic, with a v5 topic alias already resolved.
    pub topic: String,
    /// Payload.
    pub payload: Vec<u8>,
    /// QoS it was delivered with.
    pub qos: QoS,
    /// RETAIN flag.
    pub retain: bool,
    /// DUP flag (a hint only: the server may be redelivering).
    pub dup: bool,
    /// v5 properties.
    pub properties: MessageProperties,
}

/// v5 PUBLISH properties an application sees or sets (all empty under 3.1.1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MessageProperties {
    /// Payload Format Indicator (true = UTF-8).
    pub payload_format_utf8: Option<bool>,
    /// Message Expiry Interval, seconds.
    pub message_expiry_interval: Option<u32>,
    /// Content Type.
    pub content_type: Option<String>,
    /// Response Topic.
    pub response_topic: Option<String>,
    /// Correlation Data.
    pub correlation_data: Option<Vec<u8>>,
    /// User Properties.
    pub user_properties: Vec<UserProperty>,
    /// Subscription Identifiers (incoming only; ignored when publishing).
    pub subscription_identifiers: Vec<u32>,
}

/// A message to publish.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OutgoingPublish {
    /// Topic name (no wildcards).
    pub topic: String,
    /// Payload.
    pub payload: Vec<u8>,
    /// QoS.
    pub qos: QoS,
    /// RETAIN flag.
    pub retain: bool,
    /// v5 properties.
    pub properties: MessageProperties,
}

impl OutgoingPublish {
    /// A message with no retain flag and no properties.
    #[must_use]
    pub fn new(topic: impl Into<String>, payload: impl Into<Vec<u8>>, qos: QoS) -> Self {
        Self {
            topic: topic.into(),
            payload: payload.into(),
            qos,
            ..Self::default()
        }
    }
}

/// Why a command was refused up front (nothing was queued).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// The offline queue holds `limit` commands already.
    #[error("the offline queue is full ({limit} commands)")]
    QueueFull {
        /// `SessionConfig::queue_limit`.
        limit: usize,
    },
    /// Not a valid topic name.
    #[error("invalid topic name {}: {reason}", Quoted(.topic))]
    InvalidTopic {
        /// The topic.
        topic: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Not a valid topic filter.
    #[error("invalid topic filter {}: {reason}", Quoted(.filter))]
    InvalidFilter {
        /// The filter.
        filter: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Larger than the connected server's Maximum Packet Size. Nothing is sent.
    #[error("message too large: {size} bytes, the broker accepts at most {maximum}")]
    PacketTooLarge {
        /// Encoded size.
        size: usize,
        /// The server's limit.
        maximum: u32,
    },
    /// Larger than our own [`SessionConfig::maximum_packet_size`](crate::SessionConfig::maximum_packet_size)
    /// (checked online and offline). Nothing is queued.
    #[error("message too large: {size} bytes, this client sends at most {maximum}")]
    ExceedsOwnLimit {
        /// Encoded size.
        size: usize,
        /// Our limit.
        maximum: u32,
    },
    /// The QoS is above the connected server's Maximum QoS.
    #[error("{requested:?} exceeds the server's maximum {maximum:?}")]
    QosNotSupported {
        /// QoS asked for.
        requested: QoS,
        /// The server's limit.
        maximum: QoS,
    },
    /// Retain asked for, but the connected server has Retain Available = 0.
    #[error("the server does not support retained messages")]
    RetainNotSupported,
    /// The message cannot be encoded at all.
    #[error(transparent)]
    Encode(#[from] EncodeError),
}

/// A topic or filter in an error text: in double quotes, with `"`, `\` and ASCII control characters
/// escaped as in JSON. Not `{:?}`: `Debug`'s escaping links Unicode tables into the wasm build.
struct Quoted<'a>(&'a str);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_char('"')?;
        for c in self.0.chars() {
            match c {
                '"' => f.write_str("\\\"")?,
                '\\' => f.write_str("\\\\")?,
                c if c.is_ascii_control() => write!(f, "\\u{:04x}", u32::from(c))?,
                c => f.write_char(c)?,
            }
        }
        f.write_char('"')
    }
}

#[cfg(test)]
mod quoted_tests {
    use super::CommandError;

    #[test]
    fn topics_in_error_texts_are_quoted_and_escaped_without_debug() {
        let error = CommandError::InvalidTopic {
            topic: "a\"b\\c\u{1}d\u{7f}é".into(),
            reason: "why",
        };
        assert_eq!(
            error.to_string(),
            r#"invalid topic name "a\"b\\c\u0001d\u007fé": why"#
        );
        let error = CommandError::InvalidFilter {
            filter: "x/#/y".into(),
            reason: "why",
        };
        assert_eq!(error.to_string(), r#"invalid topic filter "x/#/y": why"#);
    }
}
