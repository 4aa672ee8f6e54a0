//! UNSUBSCRIBE (MQTT 5 §3.10, 3.1.1 §3.10).

use super::{frame, nonzero_id, ProtocolVersion, UserProperty};
use crate::error::EncodeError;
use crate::properties::{self as prop, Value};
use crate::strings::{Reader, Writer};

/// UNSUBSCRIBE (client → server).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsubscribe {
    /// Packet identifier.
    pub packet_id: u16,
    /// Filters, at least one.
    pub filters: Vec<String>,
    /// v5 User Properties.
    pub user_properties: Vec<UserProperty>,
}

impl Unsubscribe {
    pub(crate) fn read(r: &mut Reader<'_>, version: ProtocolVersion) -> Result<Self, String> {
        let mut u = Self {
            packet_id: r.u16("packet identifier")?,
            filters: Vec::new(),
            user_properties: Vec::new(),
        };
        if version == ProtocolVersion::V5 {
            prop::read(r, &mut |id, v| {
                if let (prop::USER_PROPERTY, Value::Pair(k, v)) = (id, v) {
                    u.user_properties.push((k, v));
                }
                Ok(())
            })?;
        }
        if r.is_empty() {
            return Err("UNSUBSCRIBE packet must contain at least one topic filter".to_owned());
        }
        while !r.is_empty() {
            u.filters.push(r.str("topic filter")?);
        }
        Ok(u)
    }

    pub(crate) fn write(
        &self,
        version: ProtocolVersion,
        out: &mut Vec<u8>,
    ) -> Result<(), EncodeError> {
        nonzero_id("UNSUBSCRIBE", self.packet_id)?;
        if self.filters.is_empty() {
            return Err(EncodeError::Empty {
                packet_type: "UNSUBSCRIBE",
            });
        }
        frame(
            "UNSUBSCRIBE",
            0xA2,
            &|b: &mut Writer<'_>| {
                b.u16(self.packet_id);
                if version == ProtocolVersion::V5 {
                    b.properties(&|p: &mut Writer<'_>| p.prop_users(&self.user_properties));
                }
                for f in &self.filters {
                    b.str(f);
                }
            },
            out,
        )
    }
}
