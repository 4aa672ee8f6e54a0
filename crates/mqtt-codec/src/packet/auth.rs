//! AUTH (MQTT 5 §3.15): enhanced authentication. It does not exist in 3.1.1 (type 15 is
//! reserved there).

use super::{check_reason, frame, read_reason, redacted, UserProperty};
use crate::error::EncodeError;
use crate::properties::{self as prop, Value};
use crate::strings::{Reader, Writer};

/// AUTH (v5 only, both directions). Its `Debug` never shows the authentication data.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Auth {
    /// Reason code: 0x00 success, 0x18 continue, 0x19 re-authenticate.
    pub reason: u8,
    /// Authentication Method.
    pub authentication_method: Option<String>,
    /// Authentication Data.
    pub authentication_data: Option<Vec<u8>>,
    /// Reason String.
    pub reason_string: Option<String>,
    /// User Properties.
    pub user_properties: Vec<UserProperty>,
}

impl core::fmt::Debug for Auth {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Auth")
            .field("reason", &self.reason)
            .field("authentication_method", &self.authentication_method)
            .field(
                "authentication_data",
                &redacted(self.authentication_data.as_ref()),
            )
            .field("reason_string", &self.reason_string)
            .field("user_properties", &self.user_properties)
            .finish()
    }
}

/// AUTH reason codes: success, continue authentication, re-authenticate.
const CODES: &[u8] = &[0x00, 0x18, 0x19];

impl Auth {
    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, String> {
        let mut a = Self::default();
        if r.is_empty() {
            return Ok(a);
        }
        a.reason = read_reason("AUTH", r.u8("reason code")?, CODES)?;
        if !r.is_empty() {
            prop::read(r, &mut |id, v| {
                match (id, v) {
                    (prop::AUTHENTICATION_METHOD, Value::Str(x)) => {
                        a.authentication_method = Some(x);
                    }
                    (prop::AUTHENTICATION_DATA, Value::Bin(x)) => {
                        a.authentication_data = Some(x.to_vec());
                    }
                    (prop::REASON_STRING, Value::Str(x)) => a.reason_string = Some(x),
                    (prop::USER_PROPERTY, Value::Pair(k, v)) => a.user_properties.push((k, v)),
                    _ => {}
                }
                Ok(())
            })?;
        }
        if a.reason != 0 && a.authentication_method.is_none() {
            return Err("continue or re-authenticate without an authentication method".to_owned());
        }
        Ok(a)
    }

    pub(crate) fn write(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        check_reason("AUTH", self.reason, CODES)?;
        if self.reason != 0 && self.authentication_method.is_none() {
            return Err(EncodeError::Rejected {
                packet_type: "AUTH",
                detail: "continue or re-authenticate needs an authentication method".to_owned(),
            });
        }
        let has_properties = self.authentication_method.is_some()
            || self.authentication_data.is_some()
            || self.reason_string.is_some()
            || !self.user_properties.is_empty();
        frame(
            "AUTH",
            0xF0,
            &|b: &mut Writer<'_>| {
                // Success without properties is the empty form.
                if self.reason != 0 || has_properties {
                    b.u8(self.reason);
                    b.properties(&|p: &mut Writer<'_>| {
                        p.prop_str(
                            prop::AUTHENTICATION_METHOD,
                            self.authentication_method.as_deref(),
                        );
                        p.prop_bin(
                            prop::AUTHENTICATION_DATA,
                            self.authentication_data.as_deref(),
                        );
                        p.prop_str(prop::REASON_STRING, self.reason_string.as_deref());
                        p.prop_users(&self.user_properties);
                    });
                }
            },
            out,
        )
    }
}
