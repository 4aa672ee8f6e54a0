//! The oracle: `mqtt5-protocol` (0.16.2), the codec crate this crate replaced, wrapped in our
//! packet model. Differential tests (and `crates/fuzz-targets`, which includes this file)
//! encode and decode with it and with ours and compare.
//!
//! This is the conversion code of the old adapter, without its workarounds: where the crate
//! cannot express a packet (a 3.1.1 CONNACK's raw return code, a 3.1.1 DISCONNECT, PINGs), the
//! few bytes are written here by hand. It names this crate as `mqtt_codec`, so that the fuzz
//! crate can include it as it is.

#![allow(dead_code)]

use mp::packet::auth::AuthPacket;
use mp::packet::connack::ConnAckPacket;
use mp::packet::connect::ConnectPacket;
use mp::packet::disconnect::DisconnectPacket;
use mp::packet::puback::PubAckPacket;
use mp::packet::pubcomp::PubCompPacket;
use mp::packet::publish::PublishPacket;
use mp::packet::pubrec::PubRecPacket;
use mp::packet::pubrel::PubRelPacket;
use mp::packet::suback::{SubAckPacket, SubAckReasonCode};
use mp::packet::subscribe::{SubscribePacket, TopicFilter};
use mp::packet::subscribe_options::{RetainHandling as MpRetain, SubscriptionOptions};
use mp::packet::unsuback::{UnsubAckPacket, UnsubAckReasonCode};
use mp::packet::unsubscribe::UnsubscribePacket;
use mp::packet::{FixedHeader, MqttPacket, PacketType};
use mp::{MqttError, Properties, PropertyId, PropertyValue, ReasonCode};
use mqtt5_protocol as mp;

use mqtt_codec::{
    Auth, ConnAck, Connect, Disconnect, EncodeError, LastWill, Packet, ProtocolVersion, Publish,
    QoS, QosHandshake, RetainHandling, SubAck, Subscribe, SubscribeFilter, UnsubAck, Unsubscribe,
    UserProperty,
};

fn level(version: ProtocolVersion) -> u8 {
    match version {
        ProtocolVersion::V311 => 4,
        ProtocolVersion::V5 => 5,
    }
}

/// Encodes `packet` with the oracle.
pub fn encode(packet: &Packet, version: ProtocolVersion) -> Result<Vec<u8>, String> {
    let v5 = version == ProtocolVersion::V5;
    let mut out = Vec::new();
    let name = packet.name();
    let err = |e: EncodeError| e.to_string();
    let mp_err = |e: MqttError| describe(&e);
    match packet {
        Packet::Connect(c) => connect_to_mp(c, version)
            .map_err(err)?
            .encode(&mut out)
            .map_err(mp_err)?,
        Packet::ConnAck(c) if !v5 => {
            out.extend_from_slice(&[0x20, 0x02, u8::from(c.session_present), c.code])
        }
        Packet::ConnAck(c) => connack_to_mp(c)
            .map_err(err)?
            .encode(&mut out)
            .map_err(mp_err)?,
        Packet::Publish(p) => publish_to_mp(p, version)
            .map_err(err)?
            .encode(&mut out)
            .map_err(mp_err)?,
        Packet::PubAck(a) => {
            let (packet_id, reason_code, properties) =
                ack_parts(a, v5, name, false).map_err(err)?;
            PubAckPacket {
                packet_id,
                reason_code,
                properties,
            }
            .encode(&mut out)
            .map_err(mp_err)?;
        }
        Packet::PubRec(a) => {
            let (packet_id, reason_code, properties) =
                ack_parts(a, v5, name, false).map_err(err)?;
            PubRecPacket {
                packet_id,
                reason_code,
                properties,
            }
            .encode(&mut out)
            .map_err(mp_err)?;
        }
        Packet::PubRel(a) => {
            let (packet_id, reason_code, properties) = ack_parts(a, v5, name, true).map_err(err)?;
            PubRelPacket {
                packet_id,
                reason_code,
                properties,
            }
            .encode(&mut out)
            .map_err(mp_err)?;
        }
        Packet::PubComp(a) => {
            let (packet_id, reason_code, properties) = ack_parts(a, v5, name, true).map_err(err)?;
            PubCompPacket {
                packet_id,
                reason_code,
                properties,
            }
            .encode(&mut out)
            .map_err(mp_err)?;
        }
        Packet::Subscribe(s) => subscribe_to_mp(s, version)
            .map_err(err)?
            .encode(&mut out)
            .map_err(mp_err)?,
        Packet::SubAck(s) => suback_to_mp(s, version)
            .map_err(err)?
            .encode(&mut out)
            .map_err(mp_err)?,
        Packet::Unsubscribe(u) => unsubscribe_to_mp(u, version)
            .map_err(err)?
            .encode(&mut out)
            .map_err(mp_err)?,
        Packet::UnsubAck(u) => unsuback_to_mp(u, version)
            .map_err(err)?
            .encode(&mut out)
            .map_err(mp_err)?,
        Packet::PingReq => out.extend_from_slice(&[0xC0, 0x00]),
        Packet::PingResp => out.extend_from_slice(&[0xD0, 0x00]),
        Packet::Disconnect(_) if !v5 => out.extend_from_slice(&[0xE0, 0x00]),
        Packet::Disconnect(d) => disconnect_to_mp(d)
            .map_err(err)?
            .encode(&mut out)
            .map_err(mp_err)?,
        Packet::Auth(_) if !v5 => return Err("AUTH does not exist in 3.1.1".into()),
        Packet::Auth(a) => auth_to_mp(a)
            .map_err(err)?
            .encode(&mut out)
            .map_err(mp_err)?,
    }
    Ok(out)
}

/// Decodes exactly one complete packet with the oracle. Its fixed header is parsed here (the
/// crate has no incremental decoder); the body goes to the crate, with the link's version.
pub fn decode(bytes: &[u8], version: ProtocolVersion) -> Result<Packet, String> {
    let (&first_byte, rest) = bytes.split_first().ok_or("no bytes")?;
    let mut remaining = 0u32;
    let mut len = None;
    for (i, &b) in rest.iter().take(4).enumerate() {
        remaining |= u32::from(b & 0x7F) << (7 * i);
        if b & 0x80 == 0 {
            len = Some(i + 1);
            break;
        }
    }
    let len = len.ok_or("bad remaining length")?;
    let body = &rest[len..];
    if body.len() != remaining as usize {
        return Err("length mismatch".into());
    }
    let packet_type = PacketType::from_u8(first_byte >> 4).ok_or("reserved packet type")?;
    let header = FixedHeader::new(packet_type, first_byte & 0x0F, remaining);
    let mut buf = body;
    let decoded = if packet_type == PacketType::ConnAck {
        mp::Packet::ConnAck(
            ConnAckPacket::decode_body(&mut buf, &header).map_err(|e| describe(&e))?,
        )
    } else {
        mp::Packet::decode_from_body_with_version(packet_type, &header, &mut buf, level(version))
            .map_err(|e| describe(&e))?
    };
    if !buf.is_empty() {
        return Err(format!("{} trailing bytes", buf.len()));
    }
    from_mp(decoded)
}

/// The crate's error as the `detail` of ours. Written out instead of `{e:?}`: the derived `Debug`
/// of `MqttError` and of the reason-code enums inside it cost about 3 KB of compressed wasm. The
/// crate's packet codec raises only the variants named here; any other keeps its text generic.
fn describe(e: &MqttError) -> String {
    match e {
        MqttError::MalformedPacket(text) => text.clone(),
        MqttError::ProtocolError(text) => format!("protocol error: {text}"),
        MqttError::InvalidTopicName(text) => format!("invalid topic name: {text}"),
        MqttError::InvalidTopicFilter(text) => format!("invalid topic filter: {text}"),
        MqttError::PacketTooLarge { size, max } => format!("{size} bytes exceed the maximum {max}"),
        MqttError::StringTooLong(len) => format!("a string of {len} bytes exceeds 65535"),
        MqttError::InvalidQoS(value) => format!("invalid QoS {value}"),
        MqttError::InvalidPacketType(value) => format!("invalid packet type {value}"),
        MqttError::InvalidReasonCode(value) => format!("invalid reason code 0x{value:02X}"),
        MqttError::InvalidPropertyId(value) => format!("invalid property id 0x{value:02X}"),
        MqttError::DuplicatePropertyId(value) => format!("duplicate property id 0x{value:02X}"),
        MqttError::UnsupportedProtocolVersion => "unsupported protocol version".to_owned(),
        _ => "refused by the codec".to_owned(),
    }
}

/// Builds a crate `Properties`. Adding cannot fail here: each single-valued id is added once,
/// always with the value type the crate expects for it.
#[derive(Default)]
struct PropsOut(Properties);

impl PropsOut {
    fn add(&mut self, id: PropertyId, value: PropertyValue) {
        let added = self.0.add(id, value);
        debug_assert!(added.is_ok(), "property {id:?}: {added:?}");
    }
    fn bool(&mut self, id: PropertyId, v: Option<bool>) {
        if let Some(v) = v {
            self.add(id, PropertyValue::Byte(u8::from(v)));
        }
    }
    fn u16(&mut self, id: PropertyId, v: Option<u16>) {
        if let Some(v) = v {
            self.add(id, PropertyValue::TwoByteInteger(v));
        }
    }
    fn u32(&mut self, id: PropertyId, v: Option<u32>) {
        if let Some(v) = v {
            self.add(id, PropertyValue::FourByteInteger(v));
        }
    }
    fn var(&mut self, id: PropertyId, v: u32) {
        self.add(id, PropertyValue::VariableByteInteger(v));
    }
    fn str(&mut self, id: PropertyId, v: &Option<String>) {
        if let Some(v) = v {
            self.add(id, PropertyValue::Utf8String(v.clone()));
        }
    }
    fn bin(&mut self, id: PropertyId, v: &Option<Vec<u8>>) {
        if let Some(v) = v {
            self.add(id, PropertyValue::BinaryData(v.clone().into()));
        }
    }
    fn users(&mut self, v: &[UserProperty]) {
        for (name, value) in v {
            self.add(
                PropertyId::UserProperty,
                PropertyValue::Utf8StringPair(name.clone(), value.clone()),
            );
        }
    }
}

fn qos_to_mp(qos: QoS) -> mp::QoS {
    match qos {
        QoS::AtMostOnce => mp::QoS::AtMostOnce,
        QoS::AtLeastOnce => mp::QoS::AtLeastOnce,
        QoS::ExactlyOnce => mp::QoS::ExactlyOnce,
    }
}

fn qos_from_mp(qos: mp::QoS) -> QoS {
    match qos {
        mp::QoS::AtMostOnce => QoS::AtMostOnce,
        mp::QoS::AtLeastOnce => QoS::AtLeastOnce,
        mp::QoS::ExactlyOnce => QoS::ExactlyOnce,
    }
}

fn reason_to_mp(packet_type: &'static str, code: u8) -> Result<ReasonCode, EncodeError> {
    ReasonCode::from_u8(code).ok_or(EncodeError::InvalidReasonCode { packet_type, code })
}

fn nonzero_id(packet_type: &'static str, id: u16) -> Result<u16, EncodeError> {
    if id == 0 {
        Err(EncodeError::ZeroPacketId { packet_type })
    } else {
        Ok(id)
    }
}

fn connect_to_mp(c: &Connect, version: ProtocolVersion) -> Result<ConnectPacket, EncodeError> {
    let v5 = version == ProtocolVersion::V5;
    if c.protocol != version {
        return Err(EncodeError::VersionMismatch {
            packet: c.protocol,
            link: version,
        });
    }
    if !v5 && c.password.is_some() && c.username.is_none() {
        return Err(EncodeError::PasswordWithoutUsername);
    }
    let mut props = PropsOut::default();
    let mut will_props = PropsOut::default();
    if v5 {
        props.u32(PropertyId::SessionExpiryInterval, c.session_expiry_interval);
        props.u16(PropertyId::ReceiveMaximum, c.receive_maximum);
        props.u32(PropertyId::MaximumPacketSize, c.maximum_packet_size);
        props.u16(PropertyId::TopicAliasMaximum, c.topic_alias_maximum);
        props.bool(
            PropertyId::RequestResponseInformation,
            c.request_response_information,
        );
        props.bool(
            PropertyId::RequestProblemInformation,
            c.request_problem_information,
        );
        props.str(PropertyId::AuthenticationMethod, &c.authentication_method);
        props.bin(PropertyId::AuthenticationData, &c.authentication_data);
        props.users(&c.user_properties);
        if let Some(w) = &c.will {
            will_props.u32(PropertyId::WillDelayInterval, w.delay_interval);
            will_props.bool(PropertyId::PayloadFormatIndicator, w.payload_format_utf8);
            will_props.u32(PropertyId::MessageExpiryInterval, w.message_expiry_interval);
            will_props.str(PropertyId::ContentType, &w.content_type);
            will_props.str(PropertyId::ResponseTopic, &w.response_topic);
            will_props.bin(PropertyId::CorrelationData, &w.correlation_data);
            will_props.users(&w.user_properties);
        }
    }
    // The crate writes the will's properties from `will_properties`, not from the will itself.
    let will = c.will.as_ref().map(|w| {
        let mut will = mp::WillMessage::new(w.topic.clone(), w.payload.clone());
        will.qos = qos_to_mp(w.qos);
        will.retain = w.retain;
        will
    });
    Ok(ConnectPacket {
        protocol_version: level(version),
        clean_start: c.clean_start,
        keep_alive: c.keep_alive,
        client_id: c.client_id.clone(),
        username: c.username.clone(),
        password: c.password.clone(),
        will,
        properties: props.0,
        will_properties: will_props.0,
    })
}

fn connack_to_mp(c: &ConnAck) -> Result<ConnAckPacket, EncodeError> {
    let mut p = PropsOut::default();
    p.u32(PropertyId::SessionExpiryInterval, c.session_expiry_interval);
    p.u16(PropertyId::ReceiveMaximum, c.receive_maximum);
    if let Some(q) = c.maximum_qos {
        p.add(PropertyId::MaximumQoS, PropertyValue::Byte(q as u8));
    }
    p.bool(PropertyId::RetainAvailable, c.retain_available);
    p.u32(PropertyId::MaximumPacketSize, c.maximum_packet_size);
    p.str(
        PropertyId::AssignedClientIdentifier,
        &c.assigned_client_identifier,
    );
    p.u16(PropertyId::TopicAliasMaximum, c.topic_alias_maximum);
    p.str(PropertyId::ReasonString, &c.reason_string);
    p.bool(
        PropertyId::WildcardSubscriptionAvailable,
        c.wildcard_subscription_available,
    );
    p.bool(
        PropertyId::SubscriptionIdentifierAvailable,
        c.subscription_identifiers_available,
    );
    p.bool(
        PropertyId::SharedSubscriptionAvailable,
        c.shared_subscription_available,
    );
    p.u16(PropertyId::ServerKeepAlive, c.server_keep_alive);
    p.str(PropertyId::ResponseInformation, &c.response_information);
    p.str(PropertyId::ServerReference, &c.server_reference);
    p.str(PropertyId::AuthenticationMethod, &c.authentication_method);
    p.bin(PropertyId::AuthenticationData, &c.authentication_data);
    p.users(&c.user_properties);
    Ok(ConnAckPacket {
        session_present: c.session_present,
        reason_code: reason_to_mp("CONNACK", c.code)?,
        properties: p.0,
        protocol_version: 5,
    })
}

fn publish_to_mp(p: &Publish, version: ProtocolVersion) -> Result<PublishPacket, EncodeError> {
    match (p.qos, p.packet_id) {
        (QoS::AtMostOnce, None) => {}
        (QoS::AtLeastOnce | QoS::ExactlyOnce, Some(id)) => {
            nonzero_id("PUBLISH", id)?;
        }
        (qos, packet_id) => return Err(EncodeError::PacketIdMismatch { qos, packet_id }),
    }
    let mut props = PropsOut::default();
    if version == ProtocolVersion::V5 {
        props.bool(PropertyId::PayloadFormatIndicator, p.payload_format_utf8);
        props.u32(PropertyId::MessageExpiryInterval, p.message_expiry_interval);
        props.u16(PropertyId::TopicAlias, p.topic_alias);
        props.str(PropertyId::ResponseTopic, &p.response_topic);
        props.bin(PropertyId::CorrelationData, &p.correlation_data);
        for &id in &p.subscription_identifiers {
            props.var(PropertyId::SubscriptionIdentifier, id);
        }
        props.str(PropertyId::ContentType, &p.content_type);
        props.users(&p.user_properties);
    }
    Ok(PublishPacket {
        topic_name: p.topic.clone(),
        packet_id: p.packet_id,
        payload: p.payload.clone().into(),
        qos: qos_to_mp(p.qos),
        retain: p.retain,
        dup: p.dup,
        properties: props.0,
        protocol_version: level(version),
        stream_id: None,
    })
}

/// Packet id, crate reason code and properties of one of the four acks.
fn ack_parts(
    a: &QosHandshake,
    v5: bool,
    name: &'static str,
    pubrel_family: bool,
) -> Result<(u16, ReasonCode, Properties), EncodeError> {
    let packet_id = nonzero_id(name, a.packet_id)?;
    if !v5 {
        return Ok((packet_id, ReasonCode::Success, Properties::default()));
    }
    let reason = reason_to_mp(name, a.reason)?;
    let valid = if pubrel_family {
        mp::packet::is_valid_pubrel_reason_code(reason)
    } else {
        mp::packet::is_valid_publish_ack_reason_code(reason)
    };
    if !valid {
        return Err(EncodeError::InvalidReasonCode {
            packet_type: name,
            code: a.reason,
        });
    }
    let mut p = PropsOut::default();
    p.str(PropertyId::ReasonString, &a.reason_string);
    p.users(&a.user_properties);
    Ok((packet_id, reason, p.0))
}

fn subscribe_to_mp(
    s: &Subscribe,
    version: ProtocolVersion,
) -> Result<SubscribePacket, EncodeError> {
    let packet_id = nonzero_id("SUBSCRIBE", s.packet_id)?;
    if s.filters.is_empty() {
        return Err(EncodeError::Empty {
            packet_type: "SUBSCRIBE",
        });
    }
    let mut props = PropsOut::default();
    if version == ProtocolVersion::V5 {
        if let Some(id) = s.subscription_identifier {
            props.var(PropertyId::SubscriptionIdentifier, id);
        }
        props.users(&s.user_properties);
    }
    let filters = s
        .filters
        .iter()
        .map(|f| TopicFilter {
            filter: f.filter.clone(),
            options: SubscriptionOptions {
                qos: qos_to_mp(f.qos),
                no_local: f.no_local,
                retain_as_published: f.retain_as_published,
                retain_handling: match f.retain_handling {
                    RetainHandling::SendAtSubscribe => MpRetain::SendAtSubscribe,
                    RetainHandling::SendIfNew => MpRetain::SendAtSubscribeIfNew,
                    RetainHandling::DoNotSend => MpRetain::DoNotSend,
                },
            },
        })
        .collect();
    Ok(SubscribePacket {
        packet_id,
        filters,
        properties: props.0,
        protocol_version: level(version),
    })
}

fn suback_to_mp(s: &SubAck, version: ProtocolVersion) -> Result<SubAckPacket, EncodeError> {
    let packet_id = nonzero_id("SUBACK", s.packet_id)?;
    if s.codes.is_empty() {
        return Err(EncodeError::Empty {
            packet_type: "SUBACK",
        });
    }
    let v5 = version == ProtocolVersion::V5;
    let reason_codes = s
        .codes
        .iter()
        .map(|&code| match SubAckReasonCode::from_u8(code) {
            // 3.1.1 defines only 0, 1, 2 and 0x80.
            Some(c) if v5 || matches!(code, 0 | 1 | 2 | 0x80) => Ok(c),
            _ => Err(EncodeError::InvalidReasonCode {
                packet_type: "SUBACK",
                code,
            }),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut props = PropsOut::default();
    if v5 {
        props.str(PropertyId::ReasonString, &s.reason_string);
        props.users(&s.user_properties);
    }
    Ok(SubAckPacket {
        packet_id,
        reason_codes,
        properties: props.0,
        protocol_version: level(version),
    })
}

fn unsubscribe_to_mp(
    u: &Unsubscribe,
    version: ProtocolVersion,
) -> Result<UnsubscribePacket, EncodeError> {
    let packet_id = nonzero_id("UNSUBSCRIBE", u.packet_id)?;
    if u.filters.is_empty() {
        return Err(EncodeError::Empty {
            packet_type: "UNSUBSCRIBE",
        });
    }
    let mut props = PropsOut::default();
    if version == ProtocolVersion::V5 {
        props.users(&u.user_properties);
    }
    Ok(UnsubscribePacket {
        packet_id,
        filters: u.filters.clone(),
        properties: props.0,
        protocol_version: level(version),
    })
}

fn unsuback_to_mp(u: &UnsubAck, version: ProtocolVersion) -> Result<UnsubAckPacket, EncodeError> {
    let packet_id = nonzero_id("UNSUBACK", u.packet_id)?;
    let v5 = version == ProtocolVersion::V5;
    let mut props = PropsOut::default();
    let mut reason_codes = Vec::new();
    if v5 {
        if u.codes.is_empty() {
            return Err(EncodeError::Empty {
                packet_type: "UNSUBACK",
            });
        }
        for &code in &u.codes {
            reason_codes.push(UnsubAckReasonCode::from_u8(code).ok_or(
                EncodeError::InvalidReasonCode {
                    packet_type: "UNSUBACK",
                    code,
                },
            )?);
        }
        props.str(PropertyId::ReasonString, &u.reason_string);
        props.users(&u.user_properties);
    }
    Ok(UnsubAckPacket {
        packet_id,
        reason_codes,
        properties: props.0,
        protocol_version: level(version),
    })
}

fn disconnect_to_mp(d: &Disconnect) -> Result<DisconnectPacket, EncodeError> {
    let mut p = PropsOut::default();
    p.u32(PropertyId::SessionExpiryInterval, d.session_expiry_interval);
    p.str(PropertyId::ReasonString, &d.reason_string);
    p.str(PropertyId::ServerReference, &d.server_reference);
    p.users(&d.user_properties);
    Ok(DisconnectPacket {
        reason_code: reason_to_mp("DISCONNECT", d.reason)?,
        properties: p.0,
    })
}

fn auth_to_mp(a: &Auth) -> Result<AuthPacket, EncodeError> {
    let mut p = PropsOut::default();
    p.str(PropertyId::AuthenticationMethod, &a.authentication_method);
    p.bin(PropertyId::AuthenticationData, &a.authentication_data);
    p.str(PropertyId::ReasonString, &a.reason_string);
    p.users(&a.user_properties);
    let reason_code = reason_to_mp("AUTH", a.reason)?;
    if !matches!(
        reason_code,
        ReasonCode::Success | ReasonCode::ContinueAuthentication | ReasonCode::ReAuthenticate
    ) {
        return Err(EncodeError::InvalidReasonCode {
            packet_type: "AUTH",
            code: a.reason,
        });
    }
    Ok(AuthPacket {
        reason_code,
        properties: p.0,
    })
}

/// Reads typed values out of a decoded crate `Properties`. The crate already checked each
/// property's wire type against its id, so a mismatch cannot occur and reads as absent.
struct PropsIn<'a>(&'a Properties);

impl PropsIn<'_> {
    fn byte(&self, id: PropertyId) -> Option<u8> {
        match self.0.get(id) {
            Some(PropertyValue::Byte(v)) => Some(*v),
            _ => None,
        }
    }
    fn bool(&self, id: PropertyId) -> Option<bool> {
        self.byte(id).map(|v| v != 0)
    }
    fn u16(&self, id: PropertyId) -> Option<u16> {
        match self.0.get(id) {
            Some(PropertyValue::TwoByteInteger(v)) => Some(*v),
            _ => None,
        }
    }
    fn u32(&self, id: PropertyId) -> Option<u32> {
        match self.0.get(id) {
            Some(PropertyValue::FourByteInteger(v)) => Some(*v),
            _ => None,
        }
    }
    fn vars(&self, id: PropertyId) -> Vec<u32> {
        self.0
            .get_all(id)
            .unwrap_or_default()
            .iter()
            .filter_map(|v| match v {
                PropertyValue::VariableByteInteger(v) => Some(*v),
                _ => None,
            })
            .collect()
    }
    fn str(&self, id: PropertyId) -> Option<String> {
        match self.0.get(id) {
            Some(PropertyValue::Utf8String(v)) => Some(v.clone()),
            _ => None,
        }
    }
    fn bin(&self, id: PropertyId) -> Option<Vec<u8>> {
        match self.0.get(id) {
            Some(PropertyValue::BinaryData(v)) => Some(v.to_vec()),
            _ => None,
        }
    }
    fn users(&self) -> Vec<UserProperty> {
        self.0
            .get_all(PropertyId::UserProperty)
            .unwrap_or_default()
            .iter()
            .filter_map(|v| match v {
                PropertyValue::Utf8StringPair(k, v) => Some((k.clone(), v.clone())),
                _ => None,
            })
            .collect()
    }
}

fn version_from_level(level: u8) -> Result<ProtocolVersion, String> {
    match level {
        4 => Ok(ProtocolVersion::V311),
        5 => Ok(ProtocolVersion::V5),
        other => Err(format!("unsupported protocol level {other}")),
    }
}

/// Converts a decoded crate packet into ours. Properties a packet type does not define are
/// ignored (the crate does not check which properties belong to which packet).
fn from_mp(packet: mp::Packet) -> Result<Packet, String> {
    Ok(match packet {
        mp::Packet::Connect(c) => {
            let p = PropsIn(&c.properties);
            let wp = PropsIn(&c.will_properties);
            Packet::Connect(Box::new(Connect {
                protocol: version_from_level(c.protocol_version)?,
                client_id: c.client_id.clone(),
                clean_start: c.clean_start,
                keep_alive: c.keep_alive,
                username: c.username.clone(),
                password: c.password.clone(),
                will: c.will.as_ref().map(|w| LastWill {
                    topic: w.topic.clone(),
                    payload: w.payload.clone(),
                    qos: qos_from_mp(w.qos),
                    retain: w.retain,
                    delay_interval: wp.u32(PropertyId::WillDelayInterval),
                    payload_format_utf8: wp.bool(PropertyId::PayloadFormatIndicator),
                    message_expiry_interval: wp.u32(PropertyId::MessageExpiryInterval),
                    content_type: wp.str(PropertyId::ContentType),
                    response_topic: wp.str(PropertyId::ResponseTopic),
                    correlation_data: wp.bin(PropertyId::CorrelationData),
                    user_properties: wp.users(),
                }),
                session_expiry_interval: p.u32(PropertyId::SessionExpiryInterval),
                receive_maximum: p.u16(PropertyId::ReceiveMaximum),
                maximum_packet_size: p.u32(PropertyId::MaximumPacketSize),
                topic_alias_maximum: p.u16(PropertyId::TopicAliasMaximum),
                request_response_information: p.bool(PropertyId::RequestResponseInformation),
                request_problem_information: p.bool(PropertyId::RequestProblemInformation),
                authentication_method: p.str(PropertyId::AuthenticationMethod),
                authentication_data: p.bin(PropertyId::AuthenticationData),
                user_properties: p.users(),
            }))
        }
        mp::Packet::ConnAck(c) => {
            let p = PropsIn(&c.properties);
            // The crate turns a 3.1.1 return code into an MQTT 5 reason code: turn it back.
            let code = match (c.protocol_version, c.reason_code) {
                (4, ReasonCode::Success) => 0,
                (4, ReasonCode::UnsupportedProtocolVersion) => 1,
                (4, ReasonCode::ClientIdentifierNotValid) => 2,
                (4, ReasonCode::ServerUnavailable) => 3,
                (4, ReasonCode::BadUsernameOrPassword) => 4,
                (4, ReasonCode::NotAuthorized) => 5,
                (_, code) => u8::from(code),
            };
            Packet::ConnAck(Box::new(ConnAck {
                session_present: c.session_present,
                code,
                session_expiry_interval: p.u32(PropertyId::SessionExpiryInterval),
                receive_maximum: p.u16(PropertyId::ReceiveMaximum),
                maximum_qos: match p.byte(PropertyId::MaximumQoS) {
                    None => None,
                    Some(0) => Some(QoS::AtMostOnce),
                    Some(1) => Some(QoS::AtLeastOnce),
                    Some(other) => return Err(format!("Maximum QoS {other}")),
                },
                retain_available: p.bool(PropertyId::RetainAvailable),
                maximum_packet_size: p.u32(PropertyId::MaximumPacketSize),
                assigned_client_identifier: p.str(PropertyId::AssignedClientIdentifier),
                topic_alias_maximum: p.u16(PropertyId::TopicAliasMaximum),
                reason_string: p.str(PropertyId::ReasonString),
                wildcard_subscription_available: p.bool(PropertyId::WildcardSubscriptionAvailable),
                subscription_identifiers_available: p
                    .bool(PropertyId::SubscriptionIdentifierAvailable),
                shared_subscription_available: p.bool(PropertyId::SharedSubscriptionAvailable),
                server_keep_alive: p.u16(PropertyId::ServerKeepAlive),
                response_information: p.str(PropertyId::ResponseInformation),
                server_reference: p.str(PropertyId::ServerReference),
                authentication_method: p.str(PropertyId::AuthenticationMethod),
                authentication_data: p.bin(PropertyId::AuthenticationData),
                user_properties: p.users(),
            }))
        }
        mp::Packet::Publish(pb) => {
            let p = PropsIn(&pb.properties);
            Packet::Publish(Box::new(Publish {
                dup: pb.dup,
                qos: qos_from_mp(pb.qos),
                retain: pb.retain,
                topic: pb.topic_name,
                packet_id: pb.packet_id,
                payload: pb.payload.to_vec(),
                payload_format_utf8: p.bool(PropertyId::PayloadFormatIndicator),
                message_expiry_interval: p.u32(PropertyId::MessageExpiryInterval),
                topic_alias: p.u16(PropertyId::TopicAlias),
                response_topic: p.str(PropertyId::ResponseTopic),
                correlation_data: p.bin(PropertyId::CorrelationData),
                subscription_identifiers: p.vars(PropertyId::SubscriptionIdentifier),
                content_type: p.str(PropertyId::ContentType),
                user_properties: p.users(),
            }))
        }
        mp::Packet::PubAck(a) => {
            Packet::PubAck(ack_from_mp(a.packet_id, a.reason_code, &a.properties))
        }
        mp::Packet::PubRec(a) => {
            Packet::PubRec(ack_from_mp(a.packet_id, a.reason_code, &a.properties))
        }
        mp::Packet::PubRel(a) => {
            Packet::PubRel(ack_from_mp(a.packet_id, a.reason_code, &a.properties))
        }
        mp::Packet::PubComp(a) => {
            Packet::PubComp(ack_from_mp(a.packet_id, a.reason_code, &a.properties))
        }
        mp::Packet::Subscribe(s) => {
            let p = PropsIn(&s.properties);
            let ids = p.vars(PropertyId::SubscriptionIdentifier);
            Packet::Subscribe(Subscribe {
                packet_id: s.packet_id,
                filters: s
                    .filters
                    .iter()
                    .map(|f| SubscribeFilter {
                        filter: f.filter.clone(),
                        qos: qos_from_mp(f.options.qos),
                        no_local: f.options.no_local,
                        retain_as_published: f.options.retain_as_published,
                        retain_handling: match f.options.retain_handling {
                            MpRetain::SendAtSubscribe => RetainHandling::SendAtSubscribe,
                            MpRetain::SendAtSubscribeIfNew => RetainHandling::SendIfNew,
                            MpRetain::DoNotSend => RetainHandling::DoNotSend,
                        },
                    })
                    .collect(),
                subscription_identifier: ids.first().copied(),
                user_properties: p.users(),
            })
        }
        mp::Packet::SubAck(s) => {
            let p = PropsIn(&s.properties);
            Packet::SubAck(SubAck {
                packet_id: s.packet_id,
                codes: s.reason_codes.iter().map(|&c| c as u8).collect(),
                reason_string: p.str(PropertyId::ReasonString),
                user_properties: p.users(),
            })
        }
        mp::Packet::Unsubscribe(u) => {
            let p = PropsIn(&u.properties);
            Packet::Unsubscribe(Unsubscribe {
                packet_id: u.packet_id,
                filters: u.filters.clone(),
                user_properties: p.users(),
            })
        }
        mp::Packet::UnsubAck(u) => {
            let p = PropsIn(&u.properties);
            Packet::UnsubAck(UnsubAck {
                packet_id: u.packet_id,
                codes: u.reason_codes.iter().map(|&c| c as u8).collect(),
                reason_string: p.str(PropertyId::ReasonString),
                user_properties: p.users(),
            })
        }
        mp::Packet::PingReq => Packet::PingReq,
        mp::Packet::PingResp => Packet::PingResp,
        mp::Packet::Disconnect(d) => {
            let p = PropsIn(&d.properties);
            Packet::Disconnect(Disconnect {
                reason: u8::from(d.reason_code),
                session_expiry_interval: p.u32(PropertyId::SessionExpiryInterval),
                reason_string: p.str(PropertyId::ReasonString),
                server_reference: p.str(PropertyId::ServerReference),
                user_properties: p.users(),
            })
        }
        mp::Packet::Auth(a) => {
            let p = PropsIn(&a.properties);
            Packet::Auth(Auth {
                reason: u8::from(a.reason_code),
                authentication_method: p.str(PropertyId::AuthenticationMethod),
                authentication_data: p.bin(PropertyId::AuthenticationData),
                reason_string: p.str(PropertyId::ReasonString),
                user_properties: p.users(),
            })
        }
    })
}

fn ack_from_mp(packet_id: u16, reason: ReasonCode, props: &Properties) -> QosHandshake {
    let p = PropsIn(props);
    QosHandshake {
        packet_id,
        reason: u8::from(reason),
        reason_string: p.str(PropertyId::ReasonString),
        user_properties: p.users(),
    }
}
