//! SUBSCRIBE (MQTT 5 §3.8, 3.1.1 §3.8): filters with their options.

use super::{frame, nonzero_id, ProtocolVersion, QoS, UserProperty};
use crate::error::EncodeError;
use crate::properties::{self as prop, Value};
use crate::strings::{Reader, Writer};

/// Retain handling subscription option (v5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RetainHandling {
    /// Send retained messages at subscribe time.
    #[default]
    SendAtSubscribe = 0,
    /// Send retained only if the subscription is new.
    SendIfNew = 1,
    /// Never send retained messages for this subscription.
    DoNotSend = 2,
}

/// One topic filter in SUBSCRIBE with its options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscribeFilter {
    /// Topic filter.
    pub filter: String,
    /// Maximum QoS.
    pub qos: QoS,
    /// v5 No Local.
    pub no_local: bool,
    /// v5 Retain As Published.
    pub retain_as_published: bool,
    /// v5 Retain Handling.
    pub retain_handling: RetainHandling,
}

/// SUBSCRIBE (client → server).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscribe {
    /// Packet identifier.
    pub packet_id: u16,
    /// Filters, at least one.
    pub filters: Vec<SubscribeFilter>,
    /// v5 Subscription Identifier.
    pub subscription_identifier: Option<u32>,
    /// v5 User Properties.
    pub user_properties: Vec<UserProperty>,
}

impl SubscribeFilter {
    /// The subscription options byte (3.1.1: the QoS alone).
    fn options(&self, version: ProtocolVersion) -> u8 {
        let qos = self.qos as u8;
        match version {
            ProtocolVersion::V311 => qos,
            ProtocolVersion::V5 => {
                qos | u8::from(self.no_local) << 2
                    | u8::from(self.retain_as_published) << 3
                    | (self.retain_handling as u8) << 4
            }
        }
    }

    fn from_options(filter: String, byte: u8, version: ProtocolVersion) -> Result<Self, String> {
        let reserved = match version {
            ProtocolVersion::V311 => 0xFC,
            ProtocolVersion::V5 => 0xC0,
        };
        if byte & reserved != 0 {
            return Err(format!(
                "reserved subscription option bits set: 0x{byte:02X}"
            ));
        }
        let qos = QoS::from_bits(byte & 0x03).ok_or("subscription QoS 3")?;
        let retain_handling = match (byte >> 4) & 0x03 {
            0 => RetainHandling::SendAtSubscribe,
            1 => RetainHandling::SendIfNew,
            2 => RetainHandling::DoNotSend,
            _ => return Err("retain handling 3".to_owned()),
        };
        Ok(Self {
            filter,
            qos,
            no_local: byte & 0x04 != 0,
            retain_as_published: byte & 0x08 != 0,
            retain_handling,
        })
    }
}

impl Subscribe {
    pub(crate) fn read(r: &mut Reader<'_>, version: ProtocolVersion) -> Result<Self, String> {
        let mut s = Self {
            packet_id: r.u16("packet identifier")?,
            filters: Vec::new(),
            subscription_identifier: None,
            user_properties: Vec::new(),
        };
        if version == ProtocolVersion::V5 {
            prop::read(r, &mut |id, v| {
                match (id, v) {
                    (prop::SUBSCRIPTION_IDENTIFIER, Value::Var(x)) => {
                        s.subscription_identifier.get_or_insert(x);
                    }
                    (prop::USER_PROPERTY, Value::Pair(k, v)) => s.user_properties.push((k, v)),
                    _ => {}
                }
                Ok(())
            })?;
        }
        if r.is_empty() {
            return Err("SUBSCRIBE packet must contain at least one topic filter".to_owned());
        }
        while !r.is_empty() {
            let filter = r.str("topic filter")?;
            let options = r.u8("subscription options")?;
            s.filters
                .push(SubscribeFilter::from_options(filter, options, version)?);
        }
        Ok(s)
    }

    pub(crate) fn write(
        &self,
        version: ProtocolVersion,
        out: &mut Vec<u8>,
    ) -> Result<(), EncodeError> {
        nonzero_id("SUBSCRIBE", self.packet_id)?;
        if self.filters.is_empty() {
            return Err(EncodeError::Empty {
                packet_type: "SUBSCRIBE",
            });
        }
        frame(
            "SUBSCRIBE",
            0x82,
            &|b: &mut Writer<'_>| {
                b.u16(self.packet_id);
                if version == ProtocolVersion::V5 {
                    b.properties(&|p: &mut Writer<'_>| {
                        if let Some(id) = self.subscription_identifier {
                            p.prop_var(prop::SUBSCRIPTION_IDENTIFIER, id);
                        }
                        p.prop_users(&self.user_properties);
                    });
                }
                for f in &self.filters {
                    b.str(&f.filter);
                    b.u8(f.options(version));
                }
            },
            out,
        )
    }
}
