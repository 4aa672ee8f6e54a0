//! UNSUBACK (MQTT 5 §3.11, 3.1.1 §3.11): v5 has one code per filter, 3.1.1 only the packet id.

use super::{check_reason, frame, nonzero_id, read_reason, ProtocolVersion, UserProperty};
use crate::error::EncodeError;
use crate::properties as prop;
use crate::strings::{Reader, Writer};

/// UNSUBACK (server → client).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UnsubAck {
    /// Packet identifier.
    pub packet_id: u16,
    /// v5: one reason code per filter; 3.1.1: empty.
    pub codes: Vec<u8>,
    /// v5 Reason String.
    pub reason_string: Option<String>,
    /// v5 User Properties.
    pub user_properties: Vec<UserProperty>,
}

/// UNSUBACK reason codes (MQTT 5).
const CODES: &[u8] = &[0x00, 0x11, 0x80, 0x83, 0x87, 0x8F, 0x91];

impl UnsubAck {
    pub(crate) fn read(r: &mut Reader<'_>, version: ProtocolVersion) -> Result<Self, String> {
        let mut u = Self {
            packet_id: r.u16("packet identifier")?,
            ..Self::default()
        };
        if version == ProtocolVersion::V311 {
            return Ok(u);
        }
        prop::read_reason_and_user(r, &mut u.reason_string, &mut u.user_properties)?;
        if r.is_empty() {
            return Err("UNSUBACK packet must contain at least one reason code".to_owned());
        }
        u.codes = r
            .rest()
            .iter()
            .map(|&code| read_reason("UNSUBACK", code, CODES))
            .collect::<Result<_, _>>()?;
        Ok(u)
    }

    pub(crate) fn write(
        &self,
        version: ProtocolVersion,
        out: &mut Vec<u8>,
    ) -> Result<(), EncodeError> {
        nonzero_id("UNSUBACK", self.packet_id)?;
        let v5 = version == ProtocolVersion::V5;
        if v5 {
            if self.codes.is_empty() {
                return Err(EncodeError::Empty {
                    packet_type: "UNSUBACK",
                });
            }
            for &code in &self.codes {
                check_reason("UNSUBACK", code, CODES)?;
            }
        }
        frame(
            "UNSUBACK",
            0xB0,
            &|b: &mut Writer<'_>| {
                b.u16(self.packet_id);
                if v5 {
                    b.properties(&|p: &mut Writer<'_>| {
                        p.prop_str(prop::REASON_STRING, self.reason_string.as_deref());
                        p.prop_users(&self.user_properties);
                    });
                    b.bytes(&self.codes);
                }
            },
            out,
        )
    }
}
