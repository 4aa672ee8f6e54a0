//! DISCONNECT (MQTT 5 §3.14, 3.1.1 §3.14). In 3.1.1 it is two bytes and client → server only;
//! `mqtt5` brokers send that empty form to 3.1.1 clients too.

use super::{check_reason, frame, read_reason, ProtocolVersion, UserProperty};
use crate::error::EncodeError;
use crate::properties::{self as prop, Value};
use crate::strings::{Reader, Writer};

/// DISCONNECT (both directions in v5; client → server only in 3.1.1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Disconnect {
    /// v5 reason code (0 = normal).
    pub reason: u8,
    /// v5 Session Expiry Interval.
    pub session_expiry_interval: Option<u32>,
    /// v5 Reason String.
    pub reason_string: Option<String>,
    /// v5 Server Reference.
    pub server_reference: Option<String>,
    /// v5 User Properties.
    pub user_properties: Vec<UserProperty>,
}

/// DISCONNECT reason codes (MQTT 5).
const CODES: &[u8] = &[
    0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8B, 0x8D, 0x8E, 0x8F, 0x90, 0x93, 0x94, 0x95,
    0x96, 0x97, 0x98, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9E, 0x9F, 0xA0, 0xA1, 0xA2,
];

impl Disconnect {
    pub(crate) fn read(r: &mut Reader<'_>, version: ProtocolVersion) -> Result<Self, String> {
        let mut d = Self::default();
        if version == ProtocolVersion::V311 || r.is_empty() {
            return Ok(d);
        }
        d.reason = read_reason("DISCONNECT", r.u8("reason code")?, CODES)?;
        if !r.is_empty() {
            prop::read(r, &mut |id, v| {
                match (id, v) {
                    (prop::SESSION_EXPIRY_INTERVAL, Value::U32(x)) => {
                        d.session_expiry_interval = Some(x);
                    }
                    (prop::REASON_STRING, Value::Str(x)) => d.reason_string = Some(x),
                    (prop::SERVER_REFERENCE, Value::Str(x)) => d.server_reference = Some(x),
                    (prop::USER_PROPERTY, Value::Pair(k, v)) => d.user_properties.push((k, v)),
                    _ => {}
                }
                Ok(())
            })?;
        }
        Ok(d)
    }

    pub(crate) fn write(
        &self,
        version: ProtocolVersion,
        out: &mut Vec<u8>,
    ) -> Result<(), EncodeError> {
        if version == ProtocolVersion::V311 {
            out.extend_from_slice(&[0xE0, 0x00]);
            return Ok(());
        }
        check_reason("DISCONNECT", self.reason, CODES)?;
        let has_properties = self.session_expiry_interval.is_some()
            || self.reason_string.is_some()
            || self.server_reference.is_some()
            || !self.user_properties.is_empty();
        // The shortest form that says it all: nothing, the reason alone, or both.
        frame(
            "DISCONNECT",
            0xE0,
            &|b: &mut Writer<'_>| {
                if self.reason != 0 || has_properties {
                    b.u8(self.reason);
                }
                if has_properties {
                    b.properties(&|p: &mut Writer<'_>| {
                        p.prop_u32(prop::SESSION_EXPIRY_INTERVAL, self.session_expiry_interval);
                        p.prop_str(prop::REASON_STRING, self.reason_string.as_deref());
                        p.prop_str(prop::SERVER_REFERENCE, self.server_reference.as_deref());
                        p.prop_users(&self.user_properties);
                    });
                }
            },
            out,
        )
    }
}
