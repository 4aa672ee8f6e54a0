//! PUBACK, PUBREC, PUBREL and PUBCOMP (MQTT 5 §3.4–3.7, 3.1.1 §3.4–3.7): the packets of the
//! QoS 1/2 handshake after a PUBLISH, one shape.
//!
//! A 3.1.1 acknowledgement is exactly a packet id, but the embedded `mqtt5` broker (0.49)
//! appends an MQTT 5 reason code to 3.1.1 PUBACKs it refuses (retain, quota). Rejecting it as
//! malformed would drop the link and resend the same publish forever, so an acknowledgement is
//! always read in the MQTT 5 layout, which also tells the sender why it was refused.

use super::{check_reason, frame, nonzero_id, read_reason, ProtocolVersion, UserProperty};
use crate::error::EncodeError;
use crate::properties as prop;
use crate::strings::{Reader, Writer};

/// One packet of the QoS 1/2 handshake that follows a PUBLISH: PUBACK (QoS 1), or PUBREC,
/// PUBREL, PUBCOMP (QoS 2). All four share this shape; [`Packet`](super::Packet)'s variant
/// says which one it is.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QosHandshake {
    /// Packet identifier.
    pub packet_id: u16,
    /// v5 reason code (0 = success; 3.1.1 always 0).
    pub reason: u8,
    /// v5 Reason String.
    pub reason_string: Option<String>,
    /// v5 User Properties.
    pub user_properties: Vec<UserProperty>,
}

/// Which of the four handshake packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(clippy::enum_variant_names)] // the packets' own names
pub(crate) enum QosHandshakeKind {
    PubAck,
    PubRec,
    PubRel,
    PubComp,
}

/// PUBACK and PUBREC reason codes.
const PUBACK_CODES: &[u8] = &[0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99];
/// PUBREL and PUBCOMP reason codes.
const PUBREL_CODES: &[u8] = &[0x00, 0x92];

impl QosHandshakeKind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::PubAck => "PUBACK",
            Self::PubRec => "PUBREC",
            Self::PubRel => "PUBREL",
            Self::PubComp => "PUBCOMP",
        }
    }

    fn first_byte(self) -> u8 {
        match self {
            Self::PubAck => 0x40,
            Self::PubRec => 0x50,
            Self::PubRel => 0x62,
            Self::PubComp => 0x70,
        }
    }

    fn codes(self) -> &'static [u8] {
        match self {
            Self::PubAck | Self::PubRec => PUBACK_CODES,
            Self::PubRel | Self::PubComp => PUBREL_CODES,
        }
    }
}

impl QosHandshake {
    pub(crate) fn read(
        kind: QosHandshakeKind,
        r: &mut Reader<'_>,
        version: ProtocolVersion,
    ) -> Result<Self, String> {
        if version == ProtocolVersion::V311 && r.remaining() < 2 {
            return Err(format!(
                "3.1.1 acknowledgement must be 2 bytes, not {}",
                r.remaining()
            ));
        }
        let mut a = Self {
            packet_id: r.u16("packet identifier")?,
            ..Self::default()
        };
        if !r.is_empty() {
            a.reason = read_reason(kind.name(), r.u8("reason code")?, kind.codes())?;
        }
        if !r.is_empty() {
            prop::read_reason_and_user(r, &mut a.reason_string, &mut a.user_properties)?;
        }
        Ok(a)
    }

    pub(crate) fn write(
        &self,
        kind: QosHandshakeKind,
        version: ProtocolVersion,
        out: &mut Vec<u8>,
    ) -> Result<(), EncodeError> {
        let name = kind.name();
        nonzero_id(name, self.packet_id)?;
        let v5 = version == ProtocolVersion::V5;
        if v5 {
            check_reason(name, self.reason, kind.codes())?;
        }
        // Success without properties is the short form, in both versions; any other v5 ack
        // carries its reason code and a property length (possibly 0).
        let long = v5
            && (self.reason != 0
                || self.reason_string.is_some()
                || !self.user_properties.is_empty());
        frame(
            name,
            kind.first_byte(),
            &|b: &mut Writer<'_>| {
                b.u16(self.packet_id);
                if long {
                    b.u8(self.reason);
                    b.properties(&|p: &mut Writer<'_>| {
                        p.prop_str(prop::REASON_STRING, self.reason_string.as_deref());
                        p.prop_users(&self.user_properties);
                    });
                }
            },
            out,
        )
    }
}
