//! CONNACK (MQTT 5 §3.2, 3.1.1 §3.2): the server's answer to CONNECT.
//!
//! The code is kept as received ([`crate::ConnectReason::from_code`] interprets it). A 2-byte
//! CONNACK is accepted on a v5 link: that is how a 3.1.1-only broker refuses a v5 CONNECT
//! (return code 1), and the client must read it to fall back.

use super::{frame, redacted, ProtocolVersion, QoS, UserProperty};
use crate::error::EncodeError;
use crate::properties::{self as prop, Value};
use crate::strings::{Reader, Writer};

/// CONNACK (server → client). Its `Debug` never shows the authentication data.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct ConnAck {
    /// Session Present flag.
    pub session_present: bool,
    /// Reason code (v5) or return code (3.1.1) as sent on the wire; see [`ConnectReason`](crate::ConnectReason).
    pub code: u8,
    /// v5 Session Expiry Interval.
    pub session_expiry_interval: Option<u32>,
    /// v5 Receive Maximum.
    pub receive_maximum: Option<u16>,
    /// v5 Maximum QoS.
    pub maximum_qos: Option<QoS>,
    /// v5 Retain Available.
    pub retain_available: Option<bool>,
    /// v5 Maximum Packet Size.
    pub maximum_packet_size: Option<u32>,
    /// v5 Assigned Client Identifier.
    pub assigned_client_identifier: Option<String>,
    /// v5 Topic Alias Maximum.
    pub topic_alias_maximum: Option<u16>,
    /// v5 Reason String.
    pub reason_string: Option<String>,
    /// v5 Wildcard Subscription Available.
    pub wildcard_subscription_available: Option<bool>,
    /// v5 Subscription Identifiers Available.
    pub subscription_identifiers_available: Option<bool>,
    /// v5 Shared Subscription Available.
    pub shared_subscription_available: Option<bool>,
    /// v5 Server Keep Alive.
    pub server_keep_alive: Option<u16>,
    /// v5 Response Information.
    pub response_information: Option<String>,
    /// v5 Server Reference.
    pub server_reference: Option<String>,
    /// v5 Authentication Method.
    pub authentication_method: Option<String>,
    /// v5 Authentication Data.
    pub authentication_data: Option<Vec<u8>>,
    /// v5 User Properties.
    pub user_properties: Vec<UserProperty>,
}

impl core::fmt::Debug for ConnAck {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ConnAck")
            .field("session_present", &self.session_present)
            .field("code", &self.code)
            .field("session_expiry_interval", &self.session_expiry_interval)
            .field("receive_maximum", &self.receive_maximum)
            .field("maximum_qos", &self.maximum_qos)
            .field("retain_available", &self.retain_available)
            .field("maximum_packet_size", &self.maximum_packet_size)
            .field(
                "assigned_client_identifier",
                &self.assigned_client_identifier,
            )
            .field("topic_alias_maximum", &self.topic_alias_maximum)
            .field("reason_string", &self.reason_string)
            .field(
                "wildcard_subscription_available",
                &self.wildcard_subscription_available,
            )
            .field(
                "subscription_identifiers_available",
                &self.subscription_identifiers_available,
            )
            .field(
                "shared_subscription_available",
                &self.shared_subscription_available,
            )
            .field("server_keep_alive", &self.server_keep_alive)
            .field("response_information", &self.response_information)
            .field("server_reference", &self.server_reference)
            .field("authentication_method", &self.authentication_method)
            .field(
                "authentication_data",
                &redacted(self.authentication_data.as_ref()),
            )
            .field("user_properties", &self.user_properties)
            .finish()
    }
}

impl ConnAck {
    pub(crate) fn read(r: &mut Reader<'_>, version: ProtocolVersion) -> Result<Self, String> {
        if r.remaining() < 2 {
            return Err(format!("needs at least 2 bytes, got {}", r.remaining()));
        }
        let flags = r.u8("acknowledge flags")?;
        if flags & 0xFE != 0 {
            return Err(format!("reserved acknowledge flags set: 0x{flags:02X}"));
        }
        let mut c = Self {
            session_present: flags & 1 == 1,
            code: r.u8("reason code")?,
            ..Self::default()
        };
        match version {
            ProtocolVersion::V311 if !r.is_empty() => {
                return Err(format!(
                    "3.1.1 CONNACK must be 2 bytes, not {}",
                    r.remaining() + 2
                ));
            }
            // A v5 CONNACK always has a property length; a 2-byte one comes from a 3.1.1-only
            // broker refusing our v5 CONNECT.
            ProtocolVersion::V311 => {}
            ProtocolVersion::V5 if r.is_empty() => {}
            ProtocolVersion::V5 => prop::read(r, &mut |id, v| {
                match (id, v) {
                    (prop::SESSION_EXPIRY_INTERVAL, Value::U32(x)) => {
                        c.session_expiry_interval = Some(x);
                    }
                    (prop::RECEIVE_MAXIMUM, Value::U16(x)) => c.receive_maximum = Some(x),
                    (prop::MAXIMUM_QOS, Value::Byte(x)) => {
                        c.maximum_qos = match x {
                            0 => Some(QoS::AtMostOnce),
                            1 => Some(QoS::AtLeastOnce),
                            other => return Err(format!("Maximum QoS {other}")),
                        };
                    }
                    (prop::RETAIN_AVAILABLE, v) => c.retain_available = v.flag(),
                    (prop::MAXIMUM_PACKET_SIZE, Value::U32(x)) => c.maximum_packet_size = Some(x),
                    (prop::ASSIGNED_CLIENT_IDENTIFIER, Value::Str(x)) => {
                        c.assigned_client_identifier = Some(x);
                    }
                    (prop::TOPIC_ALIAS_MAXIMUM, Value::U16(x)) => c.topic_alias_maximum = Some(x),
                    (prop::REASON_STRING, Value::Str(x)) => c.reason_string = Some(x),
                    (prop::WILDCARD_SUBSCRIPTION_AVAILABLE, v) => {
                        c.wildcard_subscription_available = v.flag();
                    }
                    (prop::SUBSCRIPTION_IDENTIFIER_AVAILABLE, v) => {
                        c.subscription_identifiers_available = v.flag();
                    }
                    (prop::SHARED_SUBSCRIPTION_AVAILABLE, v) => {
                        c.shared_subscription_available = v.flag();
                    }
                    (prop::SERVER_KEEP_ALIVE, Value::U16(x)) => c.server_keep_alive = Some(x),
                    (prop::RESPONSE_INFORMATION, Value::Str(x)) => {
                        c.response_information = Some(x);
                    }
                    (prop::SERVER_REFERENCE, Value::Str(x)) => c.server_reference = Some(x),
                    (prop::AUTHENTICATION_METHOD, Value::Str(x)) => {
                        c.authentication_method = Some(x);
                    }
                    (prop::AUTHENTICATION_DATA, Value::Bin(x)) => {
                        c.authentication_data = Some(x.to_vec());
                    }
                    (prop::USER_PROPERTY, Value::Pair(k, v)) => c.user_properties.push((k, v)),
                    _ => {}
                }
                Ok(())
            })?,
        }
        Ok(c)
    }

    /// Writes the code as given (CONNACK is only encoded by tests and test brokers).
    pub(crate) fn write(
        &self,
        version: ProtocolVersion,
        out: &mut Vec<u8>,
    ) -> Result<(), EncodeError> {
        frame(
            "CONNACK",
            0x20,
            &|b: &mut Writer<'_>| {
                b.u8(u8::from(self.session_present));
                b.u8(self.code);
                if version == ProtocolVersion::V5 {
                    b.properties(&|p: &mut Writer<'_>| self.write_properties(p));
                }
            },
            out,
        )
    }

    fn write_properties(&self, p: &mut Writer<'_>) {
        p.prop_u32(prop::SESSION_EXPIRY_INTERVAL, self.session_expiry_interval);
        p.prop_u16(prop::RECEIVE_MAXIMUM, self.receive_maximum);
        p.prop_byte(prop::MAXIMUM_QOS, self.maximum_qos.map(|q| q as u8));
        p.prop_flag(prop::RETAIN_AVAILABLE, self.retain_available);
        p.prop_u32(prop::MAXIMUM_PACKET_SIZE, self.maximum_packet_size);
        p.prop_str(
            prop::ASSIGNED_CLIENT_IDENTIFIER,
            self.assigned_client_identifier.as_deref(),
        );
        p.prop_u16(prop::TOPIC_ALIAS_MAXIMUM, self.topic_alias_maximum);
        p.prop_str(prop::REASON_STRING, self.reason_string.as_deref());
        p.prop_flag(
            prop::WILDCARD_SUBSCRIPTION_AVAILABLE,
            self.wildcard_subscription_available,
        );
        p.prop_flag(
            prop::SUBSCRIPTION_IDENTIFIER_AVAILABLE,
            self.subscription_identifiers_available,
        );
        p.prop_flag(
            prop::SHARED_SUBSCRIPTION_AVAILABLE,
            self.shared_subscription_available,
        );
        p.prop_u16(prop::SERVER_KEEP_ALIVE, self.server_keep_alive);
        p.prop_str(
            prop::RESPONSE_INFORMATION,
            self.response_information.as_deref(),
        );
        p.prop_str(prop::SERVER_REFERENCE, self.server_reference.as_deref());
        p.prop_str(
            prop::AUTHENTICATION_METHOD,
            self.authentication_method.as_deref(),
        );
        p.prop_bin(
            prop::AUTHENTICATION_DATA,
            self.authentication_data.as_deref(),
        );
        p.prop_users(&self.user_properties);
    }
}
