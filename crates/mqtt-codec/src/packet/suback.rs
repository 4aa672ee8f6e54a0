//! SUBACK (MQTT 5 §3.9, 3.1.1 §3.9): one code per filter of the SUBSCRIBE.

use super::{check_reason, frame, nonzero_id, read_reason, ProtocolVersion, UserProperty};
use crate::error::EncodeError;
use crate::properties as prop;
use crate::strings::{Reader, Writer};

/// SUBACK (server → client).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SubAck {
    /// Packet identifier.
    pub packet_id: u16,
    /// One code per filter, as on the wire (granted QoS 0..=2 or a failure code ≥ 0x80).
    pub codes: Vec<u8>,
    /// v5 Reason String.
    pub reason_string: Option<String>,
    /// v5 User Properties.
    pub user_properties: Vec<UserProperty>,
}

/// SUBACK codes of MQTT 5 (read in both versions: a broker may send them to a 3.1.1 client;
/// [`crate::SubscribeReason::from_code`] keeps those as `Other`).
const V5_CODES: &[u8] = &[
    0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2,
];
/// SUBACK return codes of MQTT 3.1.1.
const V311_CODES: &[u8] = &[0x00, 0x01, 0x02, 0x80];

impl SubAck {
    pub(crate) fn read(r: &mut Reader<'_>, version: ProtocolVersion) -> Result<Self, String> {
        let mut s = Self {
            packet_id: r.u16("packet identifier")?,
            ..Self::default()
        };
        if version == ProtocolVersion::V5 {
            prop::read_reason_and_user(r, &mut s.reason_string, &mut s.user_properties)?;
        }
        if r.is_empty() {
            return Err("SUBACK packet must contain at least one reason code".to_owned());
        }
        s.codes = r
            .rest()
            .iter()
            .map(|&code| read_reason("SUBACK", code, V5_CODES))
            .collect::<Result<_, _>>()?;
        Ok(s)
    }

    pub(crate) fn write(
        &self,
        version: ProtocolVersion,
        out: &mut Vec<u8>,
    ) -> Result<(), EncodeError> {
        nonzero_id("SUBACK", self.packet_id)?;
        if self.codes.is_empty() {
            return Err(EncodeError::Empty {
                packet_type: "SUBACK",
            });
        }
        let v5 = version == ProtocolVersion::V5;
        let valid = if v5 { V5_CODES } else { V311_CODES };
        for &code in &self.codes {
            check_reason("SUBACK", code, valid)?;
        }
        frame(
            "SUBACK",
            0x90,
            &|b: &mut Writer<'_>| {
                b.u16(self.packet_id);
                if v5 {
                    b.properties(&|p: &mut Writer<'_>| {
                        p.prop_str(prop::REASON_STRING, self.reason_string.as_deref());
                        p.prop_users(&self.user_properties);
                    });
                }
                b.bytes(&self.codes);
            },
            out,
        )
    }
}
