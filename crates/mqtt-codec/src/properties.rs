//! MQTT 5 properties (MQTT 5 §2.2.2): a variable-byte length, then `id value` pairs in any order.
//!
//! Decoding checks each property's wire type by its id, refuses unknown ids and a repeated
//! single-valued property, and hands `(id, value)` to the packet, which keeps the properties it
//! defines and ignores the others. Encoding writes a packet's properties in one fixed order.

use crate::packet::UserProperty;
use crate::strings::{Reader, Writer};

pub(crate) const PAYLOAD_FORMAT_INDICATOR: u8 = 0x01;
pub(crate) const MESSAGE_EXPIRY_INTERVAL: u8 = 0x02;
pub(crate) const CONTENT_TYPE: u8 = 0x03;
pub(crate) const RESPONSE_TOPIC: u8 = 0x08;
pub(crate) const CORRELATION_DATA: u8 = 0x09;
pub(crate) const SUBSCRIPTION_IDENTIFIER: u8 = 0x0B;
pub(crate) const SESSION_EXPIRY_INTERVAL: u8 = 0x11;
pub(crate) const ASSIGNED_CLIENT_IDENTIFIER: u8 = 0x12;
pub(crate) const SERVER_KEEP_ALIVE: u8 = 0x13;
pub(crate) const AUTHENTICATION_METHOD: u8 = 0x15;
pub(crate) const AUTHENTICATION_DATA: u8 = 0x16;
pub(crate) const REQUEST_PROBLEM_INFORMATION: u8 = 0x17;
pub(crate) const WILL_DELAY_INTERVAL: u8 = 0x18;
pub(crate) const REQUEST_RESPONSE_INFORMATION: u8 = 0x19;
pub(crate) const RESPONSE_INFORMATION: u8 = 0x1A;
pub(crate) const SERVER_REFERENCE: u8 = 0x1C;
pub(crate) const REASON_STRING: u8 = 0x1F;
pub(crate) const RECEIVE_MAXIMUM: u8 = 0x21;
pub(crate) const TOPIC_ALIAS_MAXIMUM: u8 = 0x22;
pub(crate) const TOPIC_ALIAS: u8 = 0x23;
pub(crate) const MAXIMUM_QOS: u8 = 0x24;
pub(crate) const RETAIN_AVAILABLE: u8 = 0x25;
pub(crate) const USER_PROPERTY: u8 = 0x26;
pub(crate) const MAXIMUM_PACKET_SIZE: u8 = 0x27;
pub(crate) const WILDCARD_SUBSCRIPTION_AVAILABLE: u8 = 0x28;
pub(crate) const SUBSCRIPTION_IDENTIFIER_AVAILABLE: u8 = 0x29;
pub(crate) const SHARED_SUBSCRIPTION_AVAILABLE: u8 = 0x2A;

/// A decoded property value, typed by its id.
pub(crate) enum Value<'a> {
    Byte(u8),
    U16(u16),
    U32(u32),
    Var(u32),
    Str(String),
    Bin(&'a [u8]),
    Pair(String, String),
}

impl Value<'_> {
    /// A Byte property read as a boolean (any non-zero is true).
    pub(crate) fn flag(&self) -> Option<bool> {
        match self {
            Self::Byte(b) => Some(*b != 0),
            _ => None,
        }
    }
}

/// Reads a property block and passes each property to `each`.
pub(crate) fn read<'a>(
    r: &mut Reader<'a>,
    each: &mut dyn FnMut(u8, Value<'a>) -> Result<(), String>,
) -> Result<(), String> {
    let len = r.varint("property length")?;
    let block = r.take(usize::try_from(len).unwrap_or(usize::MAX), "properties")?;
    let mut r = Reader::new(block);
    // Ids seen so far, one bit each (every id is below 64).
    let mut seen = 0u64;
    while !r.is_empty() {
        let id = r.u8("property id")?;
        let value = match id {
            PAYLOAD_FORMAT_INDICATOR
            | REQUEST_PROBLEM_INFORMATION
            | REQUEST_RESPONSE_INFORMATION
            | MAXIMUM_QOS
            | RETAIN_AVAILABLE
            | WILDCARD_SUBSCRIPTION_AVAILABLE
            | SUBSCRIPTION_IDENTIFIER_AVAILABLE
            | SHARED_SUBSCRIPTION_AVAILABLE => Value::Byte(r.u8("property")?),
            SERVER_KEEP_ALIVE | RECEIVE_MAXIMUM | TOPIC_ALIAS_MAXIMUM | TOPIC_ALIAS => {
                Value::U16(r.u16("property")?)
            }
            MESSAGE_EXPIRY_INTERVAL
            | SESSION_EXPIRY_INTERVAL
            | WILL_DELAY_INTERVAL
            | MAXIMUM_PACKET_SIZE => Value::U32(r.u32("property")?),
            SUBSCRIPTION_IDENTIFIER => Value::Var(r.varint("subscription identifier")?),
            CONTENT_TYPE
            | RESPONSE_TOPIC
            | ASSIGNED_CLIENT_IDENTIFIER
            | AUTHENTICATION_METHOD
            | RESPONSE_INFORMATION
            | SERVER_REFERENCE
            | REASON_STRING => Value::Str(r.str("property")?),
            CORRELATION_DATA | AUTHENTICATION_DATA => Value::Bin(r.bin("property")?),
            USER_PROPERTY => Value::Pair(r.str("user property")?, r.str("user property")?),
            other => return Err(format!("invalid property id 0x{other:02X}")),
        };
        let bit = 1u64 << id;
        if seen & bit != 0 && !matches!(id, USER_PROPERTY | SUBSCRIPTION_IDENTIFIER) {
            return Err(format!("duplicate property id 0x{id:02X}"));
        }
        seen |= bit;
        each(id, value)?;
    }
    Ok(())
}

/// Reads the property block of an acknowledgement that carries only a Reason String and User
/// Properties (PUBACK/PUBREC/PUBREL/PUBCOMP, SUBACK, UNSUBACK); other properties are ignored.
pub(crate) fn read_reason_and_user(
    r: &mut Reader<'_>,
    reason_string: &mut Option<String>,
    user_properties: &mut Vec<(String, String)>,
) -> Result<(), String> {
    read(r, &mut |id, v| {
        match (id, v) {
            (REASON_STRING, Value::Str(x)) => *reason_string = Some(x),
            (USER_PROPERTY, Value::Pair(k, v)) => user_properties.push((k, v)),
            _ => {}
        }
        Ok(())
    })
}

impl Writer<'_> {
    /// Writes a property block: its length, then what `props` writes.
    pub(crate) fn properties(&mut self, props: &dyn Fn(&mut Writer<'_>)) {
        let mut count = Writer::counter();
        props(&mut count);
        if let Some(error) = count.error {
            self.fail(error);
        }
        let len = u32::try_from(count.len).unwrap_or(u32::MAX);
        self.varint(len);
        props(self);
    }

    pub(crate) fn prop_byte(&mut self, id: u8, v: Option<u8>) {
        if let Some(v) = v {
            self.bytes(&[id, v]);
        }
    }

    pub(crate) fn prop_flag(&mut self, id: u8, v: Option<bool>) {
        self.prop_byte(id, v.map(u8::from));
    }

    pub(crate) fn prop_u16(&mut self, id: u8, v: Option<u16>) {
        if let Some(v) = v {
            self.u8(id);
            self.u16(v);
        }
    }

    pub(crate) fn prop_u32(&mut self, id: u8, v: Option<u32>) {
        if let Some(v) = v {
            self.u8(id);
            self.u32(v);
        }
    }

    pub(crate) fn prop_var(&mut self, id: u8, v: u32) {
        self.u8(id);
        self.varint(v);
    }

    pub(crate) fn prop_str(&mut self, id: u8, v: Option<&str>) {
        if let Some(v) = v {
            self.u8(id);
            self.str(v);
        }
    }

    pub(crate) fn prop_bin(&mut self, id: u8, v: Option<&[u8]>) {
        if let Some(v) = v {
            self.u8(id);
            self.bin(v);
        }
    }

    pub(crate) fn prop_users(&mut self, users: &[UserProperty]) {
        for (name, value) in users {
            self.u8(USER_PROPERTY);
            self.str(name);
            self.str(value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(block: &[u8]) -> Result<Vec<u8>, String> {
        let mut got = Vec::new();
        read(&mut Reader::new(block), &mut |id, _| {
            got.push(id);
            Ok(())
        })?;
        Ok(got)
    }

    #[test]
    fn user_properties_and_subscription_identifiers_may_repeat_and_nothing_else() {
        assert_eq!(ids(&[0x04, 0x0B, 0x01, 0x0B, 0x02]), Ok(vec![0x0B, 0x0B]));
        assert_eq!(
            ids(&[0x06, 0x23, 0x00, 0x01, 0x23, 0x00, 0x02]),
            Err("duplicate property id 0x23".to_owned())
        );
        assert_eq!(
            ids(&[0x02, 0x7F, 0x00]),
            Err("invalid property id 0x7F".to_owned())
        );
    }

    #[test]
    fn a_property_block_longer_than_the_body_is_malformed() {
        assert!(ids(&[0x05, 0x23, 0x00]).is_err());
    }
}
