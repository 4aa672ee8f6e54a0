//! Decode and encode errors. Each variant carries the offending value.

use crate::packet::{ProtocolVersion, QoS};

/// Why incoming bytes could not be turned into a [`Packet`](crate::Packet).
///
/// Every decode error is fatal for the link: the [`Framer`](crate::Framer) is poisoned after
/// returning one, and the MQTT specs require the connection to be closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The remaining-length field had a continuation bit set on its 4th byte.
    #[error("invalid remaining length: continuation bit set on byte 4 (0x{fourth_byte:02X})")]
    InvalidRemainingLength {
        /// The 4th length byte, whose continuation bit was set.
        fourth_byte: u8,
    },
    /// The packet (fixed header included) is larger than the configured maximum.
    #[error("packet of {size} bytes exceeds the maximum of {max} bytes")]
    PacketTooLarge {
        /// Total packet size declared by the fixed header.
        size: u64,
        /// The configured maximum.
        max: u32,
    },
    /// The packet type is reserved (0), or not defined in the link's protocol version
    /// (AUTH, 15, under MQTT 3.1.1).
    #[error("unexpected packet type {0}")]
    UnexpectedPacketType(u8),
    /// The fixed-header flags are not those the spec requires for this packet type.
    #[error("invalid fixed-header flags 0x{flags:X} for {packet_type}")]
    InvalidFlags {
        /// Packet name, e.g. `"SUBACK"`.
        packet_type: &'static str,
        /// The low nibble of the first byte.
        flags: u8,
    },
    /// The body does not follow the spec for its packet type.
    #[error("malformed {packet_type}: {detail}")]
    Malformed {
        /// Packet name, e.g. `"CONNACK"`.
        packet_type: &'static str,
        /// What was wrong.
        detail: String,
    },
}

/// Why a [`Packet`](crate::Packet) could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// The packet type does not exist in this protocol version (AUTH under 3.1.1).
    #[error("{packet_type} does not exist in {version:?}")]
    NotInVersion {
        /// Packet name.
        packet_type: &'static str,
        /// The version asked for.
        version: ProtocolVersion,
    },
    /// CONNECT's `protocol` differs from the version of the link it is encoded for.
    #[error("CONNECT for {packet:?} encoded on a {link:?} link")]
    VersionMismatch {
        /// `Connect::protocol`.
        packet: ProtocolVersion,
        /// The version asked for.
        link: ProtocolVersion,
    },
    /// PUBLISH must carry a packet id exactly when its QoS is above 0.
    #[error("PUBLISH with {qos:?} cannot carry packet id {}", OptionalId(*.packet_id))]
    PacketIdMismatch {
        /// The publish QoS.
        qos: QoS,
        /// The packet id given.
        packet_id: Option<u16>,
    },
    /// Packet identifiers must be non-zero.
    #[error("{packet_type} with packet id 0")]
    ZeroPacketId {
        /// Packet name.
        packet_type: &'static str,
    },
    /// The reason code is not defined for this packet type.
    #[error("reason code 0x{code:02X} is not valid in {packet_type}")]
    InvalidReasonCode {
        /// Packet name.
        packet_type: &'static str,
        /// The code given.
        code: u8,
    },
    /// SUBSCRIBE and UNSUBSCRIBE need at least one filter; SUBACK at least one code.
    #[error("{packet_type} needs at least one entry")]
    Empty {
        /// Packet name.
        packet_type: &'static str,
    },
    /// MQTT 3.1.1 forbids a password without a user name (MQTT-3.1.2-22).
    #[error("MQTT 3.1.1 CONNECT cannot carry a password without a user name")]
    PasswordWithoutUsername,
    /// The codec crate refused the packet (a string longer than 65 535 bytes, a NUL in a
    /// string, a packet above 256 MiB, ...).
    #[error("cannot encode {packet_type}: {detail}")]
    Rejected {
        /// Packet name.
        packet_type: &'static str,
        /// The codec's reason.
        detail: String,
    },
}

/// `{:?}` of an `Option<u16>` ("None", "Some(7)"), written out: the derived `Debug` links the
/// debug builders (with their `{:#?}` pretty-printer) into the wasm build for this one message.
struct OptionalId(Option<u16>);

impl core::fmt::Display for OptionalId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.0 {
            Some(id) => write!(f, "Some({id})"),
            None => f.write_str("None"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packet_id_mismatch_shows_the_id_as_debug_would() {
        for packet_id in [None, Some(0), Some(7), Some(u16::MAX)] {
            let error = EncodeError::PacketIdMismatch {
                qos: QoS::AtMostOnce,
                packet_id,
            };
            assert_eq!(
                error.to_string(),
                format!("PUBLISH with AtMostOnce cannot carry packet id {packet_id:?}")
            );
        }
    }
}
