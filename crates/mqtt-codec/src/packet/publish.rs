//! PUBLISH (MQTT 5 §3.3, 3.1.1 §3.3), both directions.
//!
//! The payload is the rest of the body: decoding copies it once, from the framer's buffer into
//! [`Publish::payload`], and encoding once, from there into the output.

use super::{frame, nonzero_id, ProtocolVersion, QoS, UserProperty};
use crate::error::EncodeError;
use crate::properties::{self as prop, Value};
use crate::strings::{Reader, Writer};

/// PUBLISH (both directions).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Publish {
    /// DUP flag.
    pub dup: bool,
    /// QoS.
    pub qos: QoS,
    /// RETAIN flag.
    pub retain: bool,
    /// Topic name; may be empty in v5 when a topic alias is used.
    pub topic: String,
    /// Packet identifier; `Some` exactly when `qos > 0`.
    pub packet_id: Option<u16>,
    /// Application payload.
    pub payload: Vec<u8>,
    /// v5 Payload Format Indicator (true = UTF-8).
    pub payload_format_utf8: Option<bool>,
    /// v5 Message Expiry Interval, seconds.
    pub message_expiry_interval: Option<u32>,
    /// v5 Topic Alias.
    pub topic_alias: Option<u16>,
    /// v5 Response Topic.
    pub response_topic: Option<String>,
    /// v5 Correlation Data.
    pub correlation_data: Option<Vec<u8>>,
    /// v5 Subscription Identifiers (server → client; may repeat).
    pub subscription_identifiers: Vec<u32>,
    /// v5 Content Type.
    pub content_type: Option<String>,
    /// v5 User Properties.
    pub user_properties: Vec<UserProperty>,
}

impl Publish {
    /// Reads a PUBLISH body; `flags` is the low nibble of the first byte (DUP, QoS, RETAIN).
    pub(crate) fn read(
        flags: u8,
        r: &mut Reader<'_>,
        version: ProtocolVersion,
    ) -> Result<Self, String> {
        let qos_bits = (flags >> 1) & 0x03;
        let qos = QoS::from_bits(qos_bits).ok_or_else(|| format!("invalid QoS {qos_bits}"))?;
        let dup = flags & 0x08 != 0;
        if dup && qos == QoS::AtMostOnce {
            return Err("DUP flag set on a QoS 0 PUBLISH".to_owned());
        }
        let mut p = Self {
            dup,
            qos,
            retain: flags & 0x01 != 0,
            topic: r.str("topic name")?,
            ..Self::default()
        };
        if qos != QoS::AtMostOnce {
            p.packet_id = Some(r.u16("packet identifier")?);
        }
        if version == ProtocolVersion::V5 {
            prop::read(r, &mut |id, v| {
                match (id, v) {
                    (prop::PAYLOAD_FORMAT_INDICATOR, v) => p.payload_format_utf8 = v.flag(),
                    (prop::MESSAGE_EXPIRY_INTERVAL, Value::U32(x)) => {
                        p.message_expiry_interval = Some(x);
                    }
                    (prop::TOPIC_ALIAS, Value::U16(x)) => p.topic_alias = Some(x),
                    (prop::RESPONSE_TOPIC, Value::Str(x)) => p.response_topic = Some(x),
                    (prop::CORRELATION_DATA, Value::Bin(x)) => {
                        p.correlation_data = Some(x.to_vec());
                    }
                    (prop::SUBSCRIPTION_IDENTIFIER, Value::Var(x)) => {
                        p.subscription_identifiers.push(x);
                    }
                    (prop::CONTENT_TYPE, Value::Str(x)) => p.content_type = Some(x),
                    (prop::USER_PROPERTY, Value::Pair(k, v)) => p.user_properties.push((k, v)),
                    _ => {}
                }
                Ok(())
            })?;
        }
        // The one copy of the payload.
        p.payload = r.rest().to_vec();
        Ok(p)
    }

    pub(crate) fn write(
        &self,
        version: ProtocolVersion,
        out: &mut Vec<u8>,
    ) -> Result<(), EncodeError> {
        match (self.qos, self.packet_id) {
            (QoS::AtMostOnce, None) => {}
            (QoS::AtLeastOnce | QoS::ExactlyOnce, Some(id)) => {
                nonzero_id("PUBLISH", id)?;
            }
            (qos, packet_id) => return Err(EncodeError::PacketIdMismatch { qos, packet_id }),
        }
        let first_byte =
            0x30 | u8::from(self.dup) << 3 | (self.qos as u8) << 1 | u8::from(self.retain);
        frame(
            "PUBLISH",
            first_byte,
            &|b: &mut Writer<'_>| {
                b.str(&self.topic);
                if let Some(id) = self.packet_id {
                    b.u16(id);
                }
                if version == ProtocolVersion::V5 {
                    b.properties(&|p: &mut Writer<'_>| {
                        p.prop_flag(prop::PAYLOAD_FORMAT_INDICATOR, self.payload_format_utf8);
                        p.prop_u32(prop::MESSAGE_EXPIRY_INTERVAL, self.message_expiry_interval);
                        p.prop_u16(prop::TOPIC_ALIAS, self.topic_alias);
                        p.prop_str(prop::RESPONSE_TOPIC, self.response_topic.as_deref());
                        p.prop_bin(prop::CORRELATION_DATA, self.correlation_data.as_deref());
                        for &id in &self.subscription_identifiers {
                            p.prop_var(prop::SUBSCRIPTION_IDENTIFIER, id);
                        }
                        p.prop_str(prop::CONTENT_TYPE, self.content_type.as_deref());
                        p.prop_users(&self.user_properties);
                    });
                }
                b.bytes(&self.payload);
            },
            out,
        )
    }
}
