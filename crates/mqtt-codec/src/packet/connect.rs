//! CONNECT (MQTT 5 §3.1, 3.1.1 §3.1): the client's first packet.

use super::{frame, redacted, ProtocolVersion, QoS, UserProperty};
use crate::error::EncodeError;
use crate::properties::{self as prop, Value};
use crate::strings::{Reader, Writer};

/// The Will message carried in CONNECT.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LastWill {
    /// Topic the will is published to.
    pub topic: String,
    /// Will payload.
    pub payload: Vec<u8>,
    /// Will QoS.
    pub qos: QoS,
    /// Will retain flag.
    pub retain: bool,
    /// v5 Will Delay Interval, seconds.
    pub delay_interval: Option<u32>,
    /// v5 Payload Format Indicator (true = UTF-8).
    pub payload_format_utf8: Option<bool>,
    /// v5 Message Expiry Interval, seconds.
    pub message_expiry_interval: Option<u32>,
    /// v5 Content Type.
    pub content_type: Option<String>,
    /// v5 Response Topic.
    pub response_topic: Option<String>,
    /// v5 Correlation Data.
    pub correlation_data: Option<Vec<u8>>,
    /// v5 User Properties.
    pub user_properties: Vec<UserProperty>,
}

/// CONNECT (client → server). Its `Debug` never shows the password or authentication data.
#[derive(Clone, PartialEq, Eq)]
pub struct Connect {
    /// Protocol version to speak.
    pub protocol: ProtocolVersion,
    /// Client identifier.
    pub client_id: String,
    /// Clean Start (v5) / Clean Session (3.1.1).
    pub clean_start: bool,
    /// Keep Alive in seconds (0 = off).
    pub keep_alive: u16,
    /// User name.
    pub username: Option<String>,
    /// Password.
    pub password: Option<Vec<u8>>,
    /// Will message.
    pub will: Option<LastWill>,
    /// v5 Session Expiry Interval, seconds.
    pub session_expiry_interval: Option<u32>,
    /// v5 Receive Maximum.
    pub receive_maximum: Option<u16>,
    /// v5 Maximum Packet Size.
    pub maximum_packet_size: Option<u32>,
    /// v5 Topic Alias Maximum.
    pub topic_alias_maximum: Option<u16>,
    /// v5 Request Response Information.
    pub request_response_information: Option<bool>,
    /// v5 Request Problem Information.
    pub request_problem_information: Option<bool>,
    /// v5 Authentication Method.
    pub authentication_method: Option<String>,
    /// v5 Authentication Data.
    pub authentication_data: Option<Vec<u8>>,
    /// v5 User Properties.
    pub user_properties: Vec<UserProperty>,
}

impl core::fmt::Debug for Connect {
    // The password is a bearer token: never let it reach a log through `{:?}`.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Connect")
            .field("protocol", &self.protocol)
            .field("client_id", &self.client_id)
            .field("clean_start", &self.clean_start)
            .field("keep_alive", &self.keep_alive)
            .field("username", &self.username)
            .field("password", &redacted(self.password.as_ref()))
            .field("will", &self.will)
            .field("session_expiry_interval", &self.session_expiry_interval)
            .field("receive_maximum", &self.receive_maximum)
            .field("maximum_packet_size", &self.maximum_packet_size)
            .field("topic_alias_maximum", &self.topic_alias_maximum)
            .field(
                "request_response_information",
                &self.request_response_information,
            )
            .field(
                "request_problem_information",
                &self.request_problem_information,
            )
            .field("authentication_method", &self.authentication_method)
            .field(
                "authentication_data",
                &redacted(self.authentication_data.as_ref()),
            )
            .field("user_properties", &self.user_properties)
            .finish()
    }
}

impl Connect {
    /// A CONNECT of `protocol` with nothing else set: empty client id, Clean Start 0, no
    /// keep-alive, no credentials, Will or properties. The base the reader and callers fill in.
    #[must_use]
    pub fn empty(protocol: ProtocolVersion) -> Self {
        Self {
            protocol,
            client_id: String::new(),
            clean_start: false,
            keep_alive: 0,
            username: None,
            password: None,
            will: None,
            session_expiry_interval: None,
            receive_maximum: None,
            maximum_packet_size: None,
            topic_alias_maximum: None,
            request_response_information: None,
            request_problem_information: None,
            authentication_method: None,
            authentication_data: None,
            user_properties: Vec::new(),
        }
    }

    /// Reads a CONNECT body. The version is the packet's own protocol level.
    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, String> {
        if r.bin("protocol name")? != b"MQTT" {
            return Err("protocol name is not MQTT".to_owned());
        }
        let protocol = match r.u8("protocol level")? {
            4 => ProtocolVersion::V311,
            5 => ProtocolVersion::V5,
            other => return Err(format!("unsupported protocol level {other}")),
        };
        let v5 = protocol == ProtocolVersion::V5;
        let flags = r.u8("connect flags")?;
        let will_flag = flags & 0x04 != 0;
        let will_qos = QoS::from_bits((flags >> 3) & 0x03);
        if flags & 0x01 != 0 {
            return Err("reserved connect flag set".to_owned());
        }
        if !will_flag && flags & 0x38 != 0 {
            return Err("will QoS or retain without a will".to_owned());
        }
        let Some(will_qos) = will_qos else {
            return Err("will QoS 3".to_owned());
        };
        let has_username = flags & 0x80 != 0;
        let has_password = flags & 0x40 != 0;
        if !v5 && has_password && !has_username {
            return Err("3.1.1 password without a user name".to_owned());
        }
        let mut c = Self {
            clean_start: flags & 0x02 != 0,
            keep_alive: r.u16("keep alive")?,
            ..Self::empty(protocol)
        };
        if v5 {
            prop::read(r, &mut |id, v| {
                match (id, v) {
                    (prop::SESSION_EXPIRY_INTERVAL, Value::U32(x)) => {
                        c.session_expiry_interval = Some(x);
                    }
                    (prop::RECEIVE_MAXIMUM, Value::U16(x)) => c.receive_maximum = Some(x),
                    (prop::MAXIMUM_PACKET_SIZE, Value::U32(x)) => c.maximum_packet_size = Some(x),
                    (prop::TOPIC_ALIAS_MAXIMUM, Value::U16(x)) => c.topic_alias_maximum = Some(x),
                    (prop::REQUEST_RESPONSE_INFORMATION, v) => {
                        c.request_response_information = v.flag();
                    }
                    (prop::REQUEST_PROBLEM_INFORMATION, v) => {
                        c.request_problem_information = v.flag();
                    }
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
            })?;
        }
        c.client_id = r.str("client identifier")?;
        if will_flag {
            let mut w = LastWill {
                qos: will_qos,
                retain: flags & 0x20 != 0,
                ..LastWill::default()
            };
            if v5 {
                prop::read(r, &mut |id, v| {
                    match (id, v) {
                        (prop::WILL_DELAY_INTERVAL, Value::U32(x)) => w.delay_interval = Some(x),
                        (prop::PAYLOAD_FORMAT_INDICATOR, v) => w.payload_format_utf8 = v.flag(),
                        (prop::MESSAGE_EXPIRY_INTERVAL, Value::U32(x)) => {
                            w.message_expiry_interval = Some(x);
                        }
                        (prop::CONTENT_TYPE, Value::Str(x)) => w.content_type = Some(x),
                        (prop::RESPONSE_TOPIC, Value::Str(x)) => w.response_topic = Some(x),
                        (prop::CORRELATION_DATA, Value::Bin(x)) => {
                            w.correlation_data = Some(x.to_vec());
                        }
                        (prop::USER_PROPERTY, Value::Pair(k, v)) => w.user_properties.push((k, v)),
                        _ => {}
                    }
                    Ok(())
                })?;
            }
            w.topic = r.str("will topic")?;
            w.payload = r.bin("will payload")?.to_vec();
            c.will = Some(w);
        }
        if has_username {
            c.username = Some(r.str("user name")?);
        }
        if has_password {
            c.password = Some(r.bin("password")?.to_vec());
        }
        Ok(c)
    }

    pub(crate) fn write(
        &self,
        version: ProtocolVersion,
        out: &mut Vec<u8>,
    ) -> Result<(), EncodeError> {
        let v5 = version == ProtocolVersion::V5;
        if self.protocol != version {
            return Err(EncodeError::VersionMismatch {
                packet: self.protocol,
                link: version,
            });
        }
        if !v5 && self.password.is_some() && self.username.is_none() {
            return Err(EncodeError::PasswordWithoutUsername);
        }
        let mut flags = u8::from(self.clean_start) << 1;
        if let Some(w) = &self.will {
            flags |= 0x04 | (w.qos as u8) << 3 | u8::from(w.retain) << 5;
        }
        if self.password.is_some() {
            flags |= 0x40;
        }
        if self.username.is_some() {
            flags |= 0x80;
        }
        frame(
            "CONNECT",
            0x10,
            &|b: &mut Writer<'_>| {
                b.str("MQTT");
                b.u8(version.level());
                b.u8(flags);
                b.u16(self.keep_alive);
                if v5 {
                    b.properties(&|p: &mut Writer<'_>| {
                        p.prop_u32(prop::SESSION_EXPIRY_INTERVAL, self.session_expiry_interval);
                        p.prop_u16(prop::RECEIVE_MAXIMUM, self.receive_maximum);
                        p.prop_u32(prop::MAXIMUM_PACKET_SIZE, self.maximum_packet_size);
                        p.prop_u16(prop::TOPIC_ALIAS_MAXIMUM, self.topic_alias_maximum);
                        p.prop_flag(
                            prop::REQUEST_RESPONSE_INFORMATION,
                            self.request_response_information,
                        );
                        p.prop_flag(
                            prop::REQUEST_PROBLEM_INFORMATION,
                            self.request_problem_information,
                        );
                        p.prop_str(
                            prop::AUTHENTICATION_METHOD,
                            self.authentication_method.as_deref(),
                        );
                        p.prop_bin(
                            prop::AUTHENTICATION_DATA,
                            self.authentication_data.as_deref(),
                        );
                        p.prop_users(&self.user_properties);
                    });
                }
                b.str(&self.client_id);
                if let Some(w) = &self.will {
                    if v5 {
                        b.properties(&|p: &mut Writer<'_>| {
                            p.prop_u32(prop::WILL_DELAY_INTERVAL, w.delay_interval);
                            p.prop_flag(prop::PAYLOAD_FORMAT_INDICATOR, w.payload_format_utf8);
                            p.prop_u32(prop::MESSAGE_EXPIRY_INTERVAL, w.message_expiry_interval);
                            p.prop_str(prop::CONTENT_TYPE, w.content_type.as_deref());
                            p.prop_str(prop::RESPONSE_TOPIC, w.response_topic.as_deref());
                            p.prop_bin(prop::CORRELATION_DATA, w.correlation_data.as_deref());
                            p.prop_users(&w.user_properties);
                        });
                    }
                    b.str(&w.topic);
                    b.bin(&w.payload);
                }
                if let Some(u) = &self.username {
                    b.str(u);
                }
                if let Some(p) = &self.password {
                    b.bin(p);
                }
            },
            out,
        )
    }
}
