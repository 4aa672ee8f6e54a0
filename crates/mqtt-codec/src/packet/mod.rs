//! The packet model the rest of the project speaks, one file per packet type.
//!
//! Each file holds the packet's struct, its `read` (from a complete body) and its `write`
//! (counted, then written, by `strings::Writer`), and nothing else. Every MQTT 5
//! property and reason code a client can meet is a typed field; for MQTT 3.1.1 the v5-only
//! fields are simply left at their defaults when encoding and are `None`/empty when decoding.

mod auth;
mod connack;
mod connect;
mod disconnect;
pub(crate) mod pingreq;
pub(crate) mod pingresp;
mod publish;
mod qos_handshake;
mod suback;
mod subscribe;
mod unsuback;
mod unsubscribe;

pub use auth::Auth;
pub use connack::ConnAck;
pub use connect::{Connect, LastWill};
pub use disconnect::Disconnect;
pub use publish::Publish;
pub use qos_handshake::QosHandshake;
pub use suback::SubAck;
pub use subscribe::{RetainHandling, Subscribe, SubscribeFilter};
pub use unsuback::UnsubAck;
pub use unsubscribe::Unsubscribe;

pub(crate) use qos_handshake::QosHandshakeKind;

use crate::error::EncodeError;
use crate::strings::Writer;
use crate::varint;

/// Protocol version spoken on a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProtocolVersion {
    /// MQTT 3.1.1 (protocol level 4).
    V311,
    /// MQTT 5.0 (protocol level 5).
    V5,
}

/// Quality of service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum QoS {
    /// At most once.
    #[default]
    AtMostOnce = 0,
    /// At least once.
    AtLeastOnce = 1,
    /// Exactly once.
    ExactlyOnce = 2,
}

/// A user property (v5): an ordered name/value pair; names may repeat.
pub type UserProperty = (String, String);

/// Any packet the client sends or receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    /// CONNECT.
    Connect(Box<Connect>),
    /// CONNACK.
    ConnAck(Box<ConnAck>),
    /// PUBLISH.
    Publish(Box<Publish>),
    /// PUBACK.
    PubAck(QosHandshake),
    /// PUBREC.
    PubRec(QosHandshake),
    /// PUBREL.
    PubRel(QosHandshake),
    /// PUBCOMP.
    PubComp(QosHandshake),
    /// SUBSCRIBE.
    Subscribe(Subscribe),
    /// SUBACK.
    SubAck(SubAck),
    /// UNSUBSCRIBE.
    Unsubscribe(Unsubscribe),
    /// UNSUBACK.
    UnsubAck(UnsubAck),
    /// PINGREQ.
    PingReq,
    /// PINGRESP.
    PingResp,
    /// DISCONNECT.
    Disconnect(Disconnect),
    /// AUTH.
    Auth(Auth),
}

impl Packet {
    /// The packet's name as the specs write it (`"CONNACK"`, `"PUBLISH"`, ...).
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::Connect(_) => "CONNECT",
            Self::ConnAck(_) => "CONNACK",
            Self::Publish(_) => "PUBLISH",
            Self::PubAck(_) => "PUBACK",
            Self::PubRec(_) => "PUBREC",
            Self::PubRel(_) => "PUBREL",
            Self::PubComp(_) => "PUBCOMP",
            Self::Subscribe(_) => "SUBSCRIBE",
            Self::SubAck(_) => "SUBACK",
            Self::Unsubscribe(_) => "UNSUBSCRIBE",
            Self::UnsubAck(_) => "UNSUBACK",
            Self::PingReq => "PINGREQ",
            Self::PingResp => "PINGRESP",
            Self::Disconnect(_) => "DISCONNECT",
            Self::Auth(_) => "AUTH",
        }
    }
}

impl QoS {
    /// The QoS of a 2-bit field; 3 is not a QoS.
    pub(crate) fn from_bits(bits: u8) -> Option<Self> {
        match bits {
            0 => Some(Self::AtMostOnce),
            1 => Some(Self::AtLeastOnce),
            2 => Some(Self::ExactlyOnce),
            _ => None,
        }
    }
}

impl ProtocolVersion {
    /// The protocol level byte of CONNECT.
    pub(crate) fn level(self) -> u8 {
        match self {
            Self::V311 => 4,
            Self::V5 => 5,
        }
    }
}

/// Appends one packet: the fixed header (`first_byte` and the remaining length), then the body
/// that `body` writes. The body runs twice, counting then writing, so nothing is appended when
/// a field cannot be encoded.
pub(crate) fn frame(
    packet_type: &'static str,
    first_byte: u8,
    body: &dyn Fn(&mut Writer<'_>),
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    let rejected = |detail: String| EncodeError::Rejected {
        packet_type,
        detail,
    };
    let mut count = Writer::counter();
    body(&mut count);
    if let Some(detail) = count.error {
        return Err(rejected(detail));
    }
    let remaining = u32::try_from(count.len)
        .ok()
        .filter(|&n| n <= varint::MAX)
        .ok_or_else(|| rejected(format!("{} bytes exceed the largest packet", count.len)))?;
    out.reserve(1 + varint::len(remaining) + count.len);
    out.push(first_byte);
    varint::write(remaining, out);
    body(&mut Writer::to(out));
    Ok(())
}

/// Packet identifiers must be non-zero (MQTT-2.2.1-3 / 2.3.1-1).
pub(crate) fn nonzero_id(packet_type: &'static str, id: u16) -> Result<u16, EncodeError> {
    if id == 0 {
        Err(EncodeError::ZeroPacketId { packet_type })
    } else {
        Ok(id)
    }
}

/// Refuses a reason code outside `valid`.
pub(crate) fn check_reason(
    packet_type: &'static str,
    code: u8,
    valid: &[u8],
) -> Result<(), EncodeError> {
    if valid.contains(&code) {
        Ok(())
    } else {
        Err(EncodeError::InvalidReasonCode { packet_type, code })
    }
}

/// Refuses a received reason code outside `valid` (a malformed packet, per the spec).
pub(crate) fn read_reason(packet_type: &str, code: u8, valid: &[u8]) -> Result<u8, String> {
    if valid.contains(&code) {
        Ok(code)
    } else {
        Err(format!("invalid {packet_type} reason code 0x{code:02X}"))
    }
}

/// Refuses bytes in a body that must be empty (PINGREQ, PINGRESP).
pub(crate) fn empty(r: &crate::strings::Reader<'_>) -> Result<(), String> {
    if r.is_empty() {
        Ok(())
    } else {
        Err(format!("{} unexpected body bytes", r.remaining()))
    }
}

/// How a secret field appears in `Debug`: whether it is there and how long, never its bytes.
pub(crate) struct Redacted(usize);

impl core::fmt::Debug for Redacted {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "<redacted, {} bytes>", self.0)
    }
}

pub(crate) fn redacted(secret: Option<&Vec<u8>>) -> Option<Redacted> {
    secret.map(|bytes| Redacted(bytes.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_a_password_or_authentication_data() {
        let connect = Packet::Connect(Box::new(Connect {
            protocol: ProtocolVersion::V5,
            client_id: "c1".into(),
            clean_start: true,
            keep_alive: 30,
            username: Some("alice".into()),
            password: Some(b"s3cret-token".to_vec()),
            will: None,
            session_expiry_interval: None,
            receive_maximum: None,
            maximum_packet_size: Some(65_536),
            topic_alias_maximum: None,
            request_response_information: None,
            request_problem_information: None,
            authentication_method: Some("m".into()),
            authentication_data: Some(b"auth-s3cret".to_vec()),
            user_properties: Vec::new(),
        }));
        let connack = Packet::ConnAck(Box::new(ConnAck {
            authentication_data: Some(b"auth-s3cret".to_vec()),
            ..ConnAck::default()
        }));
        let auth = Packet::Auth(Auth {
            authentication_data: Some(b"auth-s3cret".to_vec()),
            ..Auth::default()
        });
        for packet in [connect, connack, auth] {
            let shown = format!("{packet:?} {packet:#?}");
            assert!(!shown.contains("s3cret"), "{shown}");
            assert!(!shown.contains("115, 51"), "bytes of the secret: {shown}");
            assert!(shown.contains("redacted"), "{shown}");
        }
    }
}
