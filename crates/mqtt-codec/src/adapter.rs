//! The one module that names the codec crate (`mqtt5-protocol`, pinned `=0.16.2`).
//!
//! It converts between our [`Packet`] model and the crate's packet structs, and works around
//! what the crate gets wrong for a client (see the crate docs, "Where we do not use the codec
//! crate"). Everything else in the project, including the rest of this crate, sees only our types.

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

use crate::error::{DecodeError, EncodeError};
use crate::packet::{
    Auth, ConnAck, Connect, Disconnect, LastWill, Packet, ProtocolVersion, PubAckLike, Publish,
    QoS, RetainHandling, SubAck, Subscribe, SubscribeFilter, UnsubAck, Unsubscribe, UserProperty,
};

/// Packet name for a fixed-header type nibble, for errors.
pub(crate) fn type_name(nibble: u8) -> &'static str {
    match nibble {
        1 => "CONNECT",
        2 => "CONNACK",
        3 => "PUBLISH",
        4 => "PUBACK",
        5 => "PUBREC",
        6 => "PUBREL",
        7 => "PUBCOMP",
        8 => "SUBSCRIBE",
        9 => "SUBACK",
        10 => "UNSUBSCRIBE",
        11 => "UNSUBACK",
        12 => "PINGREQ",
        13 => "PINGRESP",
        14 => "DISCONNECT",
        15 => "AUTH",
        _ => "reserved packet type",
    }
}

/// Protocol level byte of CONNECT.
fn level(version: ProtocolVersion) -> u8 {
    match version {
        ProtocolVersion::V311 => 4,
        ProtocolVersion::V5 => 5,
    }
}

// ---------------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------------

/// Encodes `packet` for a link speaking `version`, appending the bytes to `out`.
///
/// Under MQTT 3.1.1 the v5-only fields (properties, reason codes of acks and DISCONNECT,
/// subscription options other than QoS) are not written: leave them at their defaults. AUTH does
/// not exist in 3.1.1 and is refused. On error nothing is appended to `out`.
///
/// Every packet type can be encoded (the server-side ones too), so tests can build any byte
/// stream from our types.
///
/// # Errors
/// [`EncodeError`] names the field the packet cannot carry.
pub fn encode(
    packet: &Packet,
    version: ProtocolVersion,
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    let start = out.len();
    let result = encode_inner(packet, version, out);
    if result.is_err() {
        out.truncate(start);
    }
    result
}

fn encode_inner(
    packet: &Packet,
    version: ProtocolVersion,
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    let v5 = version == ProtocolVersion::V5;
    let name = packet.name();
    let rejected = |e: MqttError| EncodeError::Rejected {
        packet_type: name,
        detail: describe(&e),
    };
    match packet {
        Packet::Connect(c) => connect_to_mp(c, version)?.encode(out).map_err(rejected),
        Packet::ConnAck(c) if !v5 => {
            // The crate writes a 3.1.1 CONNACK by mapping a v5 reason code back; we keep the
            // raw return code, so we write these four bytes ourselves.
            out.extend_from_slice(&[0x20, 0x02, u8::from(c.session_present), c.code]);
            Ok(())
        }
        Packet::ConnAck(c) => connack_to_mp(c)?.encode(out).map_err(rejected),
        Packet::Publish(p) => publish_to_mp(p, version)?.encode(out).map_err(rejected),
        Packet::PubAck(a) => {
            let (packet_id, reason_code, properties) = ack_parts(a, v5, name, false)?;
            let ack = PubAckPacket {
                packet_id,
                reason_code,
                properties,
            };
            ack.encode(out).map_err(rejected)
        }
        Packet::PubRec(a) => {
            let (packet_id, reason_code, properties) = ack_parts(a, v5, name, false)?;
            let ack = PubRecPacket {
                packet_id,
                reason_code,
                properties,
            };
            ack.encode(out).map_err(rejected)
        }
        Packet::PubRel(a) => {
            let (packet_id, reason_code, properties) = ack_parts(a, v5, name, true)?;
            let ack = PubRelPacket {
                packet_id,
                reason_code,
                properties,
            };
            ack.encode(out).map_err(rejected)
        }
        Packet::PubComp(a) => {
            let (packet_id, reason_code, properties) = ack_parts(a, v5, name, true)?;
            let ack = PubCompPacket {
                packet_id,
                reason_code,
                properties,
            };
            ack.encode(out).map_err(rejected)
        }
        Packet::Subscribe(s) => subscribe_to_mp(s, version)?.encode(out).map_err(rejected),
        Packet::SubAck(s) => suback_to_mp(s, version)?.encode(out).map_err(rejected),
        Packet::Unsubscribe(u) => unsubscribe_to_mp(u, version)?.encode(out).map_err(rejected),
        Packet::UnsubAck(u) => unsuback_to_mp(u, version)?.encode(out).map_err(rejected),
        Packet::PingReq => {
            out.extend_from_slice(&[0xC0, 0x00]);
            Ok(())
        }
        Packet::PingResp => {
            out.extend_from_slice(&[0xD0, 0x00]);
            Ok(())
        }
        Packet::Disconnect(_) if !v5 => {
            out.extend_from_slice(&[0xE0, 0x00]);
            Ok(())
        }
        Packet::Disconnect(d) => disconnect_to_mp(d)?.encode(out).map_err(rejected),
        Packet::Auth(_) if !v5 => Err(EncodeError::NotInVersion {
            packet_type: name,
            version,
        }),
        Packet::Auth(a) => auth_to_mp(a)?.encode(out).map_err(rejected),
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
    a: &PubAckLike,
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

// ---------------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------------

/// Decodes one packet from its first byte and its complete body (the bytes after the
/// remaining-length field). Called by the framer once the whole packet is buffered.
pub(crate) fn decode_body(
    first_byte: u8,
    body: &[u8],
    version: ProtocolVersion,
) -> Result<Packet, DecodeError> {
    let nibble = first_byte >> 4;
    let flags = first_byte & 0x0F;
    let name = type_name(nibble);
    let v5 = version == ProtocolVersion::V5;
    let packet_type = match PacketType::from_u8(nibble) {
        Some(PacketType::Auth) if !v5 => return Err(DecodeError::UnexpectedPacketType(nibble)),
        Some(t) => t,
        None => return Err(DecodeError::UnexpectedPacketType(nibble)),
    };
    let flags_ok = match packet_type {
        PacketType::Publish => true, // QoS 3 and DUP on QoS 0 are checked by the codec
        PacketType::PubRel | PacketType::Subscribe | PacketType::Unsubscribe => flags == 0x02,
        _ => flags == 0,
    };
    if !flags_ok {
        return Err(DecodeError::InvalidFlags {
            packet_type: name,
            flags,
        });
    }
    let malformed = |detail: String| DecodeError::Malformed {
        packet_type: name,
        detail,
    };
    let must_be_empty = |packet: Packet| {
        if body.is_empty() {
            Ok(packet)
        } else {
            Err(malformed(format!("{} unexpected body bytes", body.len())))
        }
    };

    // Packets the codec crate does not decode right for our needs (see the crate docs).
    match packet_type {
        PacketType::ConnAck => return decode_connack(body, version),
        PacketType::PingReq => return must_be_empty(Packet::PingReq),
        PacketType::PingResp => return must_be_empty(Packet::PingResp),
        PacketType::Disconnect if !v5 => {
            return must_be_empty(Packet::Disconnect(Disconnect::default()))
        }
        PacketType::PubAck | PacketType::PubRec | PacketType::PubRel | PacketType::PubComp
            if !v5 && body.len() < 2 =>
        {
            return Err(malformed(format!(
                "3.1.1 acknowledgement must be 2 bytes, not {}",
                body.len()
            )));
        }
        _ => {}
    }
    // A 3.1.1 acknowledgement is exactly a packet id, but the embedded `mqtt5` broker (0.49)
    // appends an MQTT 5 reason code to 3.1.1 PUBACKs it refuses (retain, quota). Rejecting it as
    // malformed would drop the link and resend the same publish forever, so such an ack is read
    // in the MQTT 5 layout, which also tells the sender why it was refused.
    let version = if !v5
        && body.len() > 2
        && matches!(
            packet_type,
            PacketType::PubAck | PacketType::PubRec | PacketType::PubRel | PacketType::PubComp
        ) {
        ProtocolVersion::V5
    } else {
        version
    };

    let remaining_length = u32::try_from(body.len())
        .map_err(|_| malformed(format!("body of {} bytes", body.len())))?;
    let header = FixedHeader::new(packet_type, flags, remaining_length);
    let mut buf = body;
    let decoded =
        mp::Packet::decode_from_body_with_version(packet_type, &header, &mut buf, level(version))
            .map_err(|e| malformed(describe(&e)))?;
    if !buf.is_empty() {
        return Err(malformed(format!("{} trailing bytes", buf.len())));
    }
    from_mp(decoded).map_err(malformed)
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

/// CONNACK is decoded here, not by the crate: the crate guesses the protocol version from the
/// body's shape and turns 3.1.1 return codes into v5 reason codes, refusing 3.1.1 codes above 5.
/// We keep the code as received and let [`crate::ConnectReason::from_code`] interpret it.
fn decode_connack(body: &[u8], version: ProtocolVersion) -> Result<Packet, DecodeError> {
    let malformed = |detail: String| DecodeError::Malformed {
        packet_type: "CONNACK",
        detail,
    };
    let [flags, code, rest @ ..] = body else {
        return Err(malformed(format!(
            "needs at least 2 bytes, got {}",
            body.len()
        )));
    };
    if flags & 0xFE != 0 {
        return Err(malformed(format!(
            "reserved acknowledge flags set: 0x{flags:02X}"
        )));
    }
    let mut connack = ConnAck {
        session_present: flags & 1 == 1,
        code: *code,
        ..ConnAck::default()
    };
    match version {
        ProtocolVersion::V311 if !rest.is_empty() => {
            return Err(malformed(format!(
                "3.1.1 CONNACK must be 2 bytes, not {}",
                body.len()
            )));
        }
        // A v5 CONNACK always has a property length; a 2-byte one comes from a 3.1.1-only
        // broker refusing our v5 CONNECT. Accept it so the refusal can be read.
        ProtocolVersion::V311 => {}
        ProtocolVersion::V5 if rest.is_empty() => {}
        ProtocolVersion::V5 => {
            let mut buf = rest;
            let props = Properties::decode(&mut buf).map_err(|e| malformed(describe(&e)))?;
            if !buf.is_empty() {
                return Err(malformed(format!("{} trailing bytes", buf.len())));
            }
            let p = PropsIn(&props);
            connack.session_expiry_interval = p.u32(PropertyId::SessionExpiryInterval);
            connack.receive_maximum = p.u16(PropertyId::ReceiveMaximum);
            connack.maximum_qos = match p.byte(PropertyId::MaximumQoS) {
                None => None,
                Some(0) => Some(QoS::AtMostOnce),
                Some(1) => Some(QoS::AtLeastOnce),
                Some(other) => return Err(malformed(format!("Maximum QoS {other}"))),
            };
            connack.retain_available = p.bool(PropertyId::RetainAvailable);
            connack.maximum_packet_size = p.u32(PropertyId::MaximumPacketSize);
            connack.assigned_client_identifier = p.str(PropertyId::AssignedClientIdentifier);
            connack.topic_alias_maximum = p.u16(PropertyId::TopicAliasMaximum);
            connack.reason_string = p.str(PropertyId::ReasonString);
            connack.wildcard_subscription_available =
                p.bool(PropertyId::WildcardSubscriptionAvailable);
            connack.subscription_identifiers_available =
                p.bool(PropertyId::SubscriptionIdentifierAvailable);
            connack.shared_subscription_available = p.bool(PropertyId::SharedSubscriptionAvailable);
            connack.server_keep_alive = p.u16(PropertyId::ServerKeepAlive);
            connack.response_information = p.str(PropertyId::ResponseInformation);
            connack.server_reference = p.str(PropertyId::ServerReference);
            connack.authentication_method = p.str(PropertyId::AuthenticationMethod);
            connack.authentication_data = p.bin(PropertyId::AuthenticationData);
            connack.user_properties = p.users();
        }
    }
    Ok(Packet::ConnAck(Box::new(connack)))
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
        mp::Packet::ConnAck(_) => return Err("CONNACK is decoded by the adapter".into()),
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

fn ack_from_mp(packet_id: u16, reason: ReasonCode, props: &Properties) -> PubAckLike {
    let p = PropsIn(props);
    PubAckLike {
        packet_id,
        reason: u8::from(reason),
        reason_string: p.str(PropertyId::ReasonString),
        user_properties: p.users(),
    }
}

#[cfg(test)]
mod tests {
    //! Byte vectors written by hand from the MQTT 3.1.1 and 5.0 specs (chapter 3 of each).

    use super::*;
    use crate::framer::decode;
    use crate::reason::{ConnectReason, DisconnectReason, PubAckReason, SubscribeReason};
    use crate::strategies;
    use proptest::prelude::*;
    use ProtocolVersion::{V311, V5};

    fn enc(packet: &Packet, version: ProtocolVersion) -> Vec<u8> {
        let mut out = Vec::new();
        encode(packet, version, &mut out).expect("encodes");
        out
    }

    /// Checks both directions: `packet` encodes to `bytes` and `bytes` decode to `packet`.
    fn both_ways(packet: &Packet, version: ProtocolVersion, bytes: &[u8]) {
        assert_eq!(enc(packet, version), bytes, "encoding {packet:?}");
        assert_eq!(
            decode(bytes, version).as_ref(),
            Ok(packet),
            "decoding {bytes:02X?}"
        );
    }

    fn connect(version: ProtocolVersion) -> Connect {
        Connect {
            protocol: version,
            client_id: "a".into(),
            clean_start: true,
            keep_alive: 60,
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
            user_properties: vec![],
        }
    }

    fn publish(qos: QoS, packet_id: Option<u16>) -> Publish {
        Publish {
            qos,
            packet_id,
            topic: "a/b".into(),
            payload: b"hi".to_vec(),
            ..Publish::default()
        }
    }

    fn ack(packet_id: u16, reason: u8) -> PubAckLike {
        PubAckLike {
            packet_id,
            reason,
            ..PubAckLike::default()
        }
    }

    #[test]
    fn a_311_puback_with_a_trailing_reason_code_is_read_as_that_reason() {
        // The embedded mqtt5 broker (0.49) refuses a retained 3.1.1 publish with this.
        let refused = [0x40, 0x03, 0x00, 0x07, 0x97];
        assert_eq!(decode(&refused, V311), Ok(Packet::PubAck(ack(7, 0x97))));
        assert_eq!(
            decode(&[0x40, 0x02, 0x00, 0x07], V311),
            Ok(Packet::PubAck(ack(7, 0)))
        );
        assert!(decode(&[0x40, 0x01, 0x00], V311).is_err());
    }

    #[test]
    fn connect_311_with_client_id_a_and_keep_alive_60_matches_the_spec_layout() {
        let bytes = [
            0x10, 0x0D, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0x02, 0x00, 0x3C, 0x00, 0x01,
            b'a',
        ];
        both_ways(&Packet::Connect(Box::new(connect(V311))), V311, &bytes);
    }

    #[test]
    fn connect_5_without_properties_has_an_empty_property_length() {
        let bytes = [
            0x10, 0x0E, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x05, 0x02, 0x00, 0x3C, 0x00, 0x00,
            0x01, b'a',
        ];
        both_ways(&Packet::Connect(Box::new(connect(V5))), V5, &bytes);
    }

    #[test]
    fn connect_5_carries_session_expiry_interval() {
        let c = Connect {
            session_expiry_interval: Some(600),
            ..connect(V5)
        };
        let bytes = [
            0x10, 0x13, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x05, 0x02, 0x00, 0x3C, 0x05, 0x11,
            0x00, 0x00, 0x02, 0x58, 0x00, 0x01, b'a',
        ];
        both_ways(&Packet::Connect(Box::new(c)), V5, &bytes);
    }

    fn will() -> LastWill {
        LastWill {
            topic: "w".into(),
            payload: b"bye".to_vec(),
            qos: QoS::AtLeastOnce,
            retain: true,
            ..LastWill::default()
        }
    }

    #[test]
    fn connect_311_with_will_and_credentials_sets_every_flag() {
        let c = Connect {
            username: Some("u".into()),
            password: Some(b"p".to_vec()),
            will: Some(will()),
            ..connect(V311)
        };
        let bytes = [
            0x10, 0x1B, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0xEE, 0x00, 0x3C, // header
            0x00, 0x01, b'a', // client id
            0x00, 0x01, b'w', 0x00, 0x03, b'b', b'y', b'e', // will
            0x00, 0x01, b'u', 0x00, 0x01, b'p', // credentials
        ];
        both_ways(&Packet::Connect(Box::new(c)), V311, &bytes);
    }

    #[test]
    fn connect_5_writes_will_properties_before_the_will_topic() {
        let c = Connect {
            username: Some("u".into()),
            password: Some(b"p".to_vec()),
            will: Some(LastWill {
                delay_interval: Some(5),
                ..will()
            }),
            ..connect(V5)
        };
        let bytes = [
            0x10, 0x22, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x05, 0xEE, 0x00, 0x3C,
            0x00, // header
            0x00, 0x01, b'a', // client id
            0x05, 0x18, 0x00, 0x00, 0x00, 0x05, // will properties: delay 5 s
            0x00, 0x01, b'w', 0x00, 0x03, b'b', b'y', b'e', // will
            0x00, 0x01, b'u', 0x00, 0x01, b'p', // credentials
        ];
        both_ways(&Packet::Connect(Box::new(c)), V5, &bytes);
    }

    #[test]
    fn connect_5_round_trips_every_property() {
        let c = Connect {
            username: Some("user".into()),
            password: Some(vec![0, 1, 2]),
            will: Some(LastWill {
                delay_interval: Some(5),
                payload_format_utf8: Some(true),
                message_expiry_interval: Some(60),
                content_type: Some("application/json".into()),
                response_topic: Some("r".into()),
                correlation_data: Some(vec![9]),
                user_properties: vec![("k".into(), "v".into()), ("k".into(), "w".into())],
                ..will()
            }),
            session_expiry_interval: Some(600),
            receive_maximum: Some(64),
            maximum_packet_size: Some(262_144),
            topic_alias_maximum: Some(16),
            request_response_information: Some(false),
            request_problem_information: Some(true),
            authentication_method: Some("token".into()),
            authentication_data: Some(b"secret".to_vec()),
            user_properties: vec![("app".into(), "livechat".into())],
            ..connect(V5)
        };
        let packet = Packet::Connect(Box::new(c));
        assert_eq!(decode(&enc(&packet, V5), V5), Ok(packet));
    }

    #[test]
    fn connack_311_return_codes_map_to_typed_outcomes() {
        let cases = [
            (0x00, ConnectReason::Success),
            (0x01, ConnectReason::UnsupportedProtocolVersion),
            (0x02, ConnectReason::ClientIdentifierNotValid),
            (0x03, ConnectReason::ServerUnavailable),
            (0x04, ConnectReason::BadUserNameOrPassword),
            (0x05, ConnectReason::NotAuthorized),
        ];
        for (code, reason) in cases {
            let bytes = [0x20, 0x02, 0x01, code];
            let expected = ConnAck {
                session_present: true,
                code,
                ..ConnAck::default()
            };
            both_ways(&Packet::ConnAck(Box::new(expected.clone())), V311, &bytes);
            assert_eq!(expected.reason(V311), reason);
        }
    }

    #[test]
    fn connack_5_surfaces_every_property_it_carries() {
        let bytes = [
            0x20, 0x1B, 0x00, 0x00, 0x18, // flags, success, 24 bytes of properties
            0x21, 0x00, 0x0A, // receive maximum 10
            0x24, 0x01, // maximum QoS 1
            0x22, 0x00, 0x10, // topic alias maximum 16
            0x12, 0x00, 0x03, b'a', b'b', b'c', // assigned client identifier
            0x13, 0x00, 0x1E, // server keep alive 30
            0x26, 0x00, 0x01, b'k', 0x00, 0x01, b'v', // user property
        ];
        let expected = ConnAck {
            receive_maximum: Some(10),
            maximum_qos: Some(QoS::AtLeastOnce),
            topic_alias_maximum: Some(16),
            assigned_client_identifier: Some("abc".into()),
            server_keep_alive: Some(30),
            user_properties: vec![("k".into(), "v".into())],
            ..ConnAck::default()
        };
        assert_eq!(decode(&bytes, V5), Ok(Packet::ConnAck(Box::new(expected))));
    }

    #[test]
    fn connack_5_refusal_0x86_carries_its_reason_string() {
        let bytes = [
            0x20, 0x09, 0x00, 0x86, 0x06, 0x1F, 0x00, 0x03, b'b', b'a', b'd',
        ];
        let expected = ConnAck {
            code: 0x86,
            reason_string: Some("bad".into()),
            ..ConnAck::default()
        };
        both_ways(&Packet::ConnAck(Box::new(expected.clone())), V5, &bytes);
        assert_eq!(expected.reason(V5), ConnectReason::BadUserNameOrPassword);
    }

    #[test]
    fn connack_5_not_authorized_without_properties() {
        let expected = ConnAck {
            code: 0x87,
            ..ConnAck::default()
        };
        both_ways(
            &Packet::ConnAck(Box::new(expected.clone())),
            V5,
            &[0x20, 0x03, 0x00, 0x87, 0x00],
        );
        assert_eq!(expected.reason(V5), ConnectReason::NotAuthorized);
    }

    #[test]
    fn a_311_connack_on_a_v5_link_reads_as_unsupported_protocol_version() {
        let Ok(Packet::ConnAck(connack)) = decode(&[0x20, 0x02, 0x00, 0x01], V5) else {
            panic!("a 2-byte CONNACK must decode on a v5 link");
        };
        assert_eq!(
            connack.reason(V5),
            ConnectReason::UnsupportedProtocolVersion
        );
    }

    #[test]
    fn connack_with_reserved_flags_or_extra_311_bytes_is_malformed() {
        assert!(matches!(
            decode(&[0x20, 0x02, 0x02, 0x00], V311),
            Err(DecodeError::Malformed {
                packet_type: "CONNACK",
                ..
            })
        ));
        assert!(matches!(
            decode(&[0x20, 0x03, 0x00, 0x00, 0x00], V311),
            Err(DecodeError::Malformed {
                packet_type: "CONNACK",
                ..
            })
        ));
        assert!(matches!(
            decode(&[0x20, 0x01, 0x00], V5),
            Err(DecodeError::Malformed {
                packet_type: "CONNACK",
                ..
            })
        ));
    }

    #[test]
    fn publish_311_qos0_has_no_packet_id() {
        let bytes = [0x30, 0x07, 0x00, 0x03, b'a', b'/', b'b', b'h', b'i'];
        both_ways(
            &Packet::Publish(Box::new(publish(QoS::AtMostOnce, None))),
            V311,
            &bytes,
        );
    }

    #[test]
    fn publish_311_qos1_with_dup_and_retain_sets_the_header_flags() {
        let p = Publish {
            dup: true,
            retain: true,
            ..publish(QoS::AtLeastOnce, Some(10))
        };
        let bytes = [
            0x3B, 0x09, 0x00, 0x03, b'a', b'/', b'b', 0x00, 0x0A, b'h', b'i',
        ];
        both_ways(&Packet::Publish(Box::new(p)), V311, &bytes);
    }

    #[test]
    fn publish_5_qos0_has_an_empty_property_length() {
        let bytes = [0x30, 0x08, 0x00, 0x03, b'a', b'/', b'b', 0x00, b'h', b'i'];
        both_ways(
            &Packet::Publish(Box::new(publish(QoS::AtMostOnce, None))),
            V5,
            &bytes,
        );
    }

    #[test]
    fn publish_5_qos2_carries_a_topic_alias() {
        let p = Publish {
            topic_alias: Some(5),
            ..publish(QoS::ExactlyOnce, Some(10))
        };
        let bytes = [
            0x34, 0x0D, 0x00, 0x03, b'a', b'/', b'b', 0x00, 0x0A, 0x03, 0x23, 0x00, 0x05, b'h',
            b'i',
        ];
        both_ways(&Packet::Publish(Box::new(p)), V5, &bytes);
    }

    #[test]
    fn publish_5_with_several_subscription_identifiers_keeps_them_all() {
        let bytes = [
            0x30, 0x0B, 0x00, 0x03, b'a', b'/', b'b', // QoS 0: no packet id
            0x05, 0x0B, 0x01, 0x0B, 0x80, 0x01, // subscription identifiers 1 and 128
        ];
        let expected = Publish {
            subscription_identifiers: vec![1, 128],
            payload: vec![],
            ..publish(QoS::AtMostOnce, None)
        };
        assert_eq!(decode(&bytes, V5), Ok(Packet::Publish(Box::new(expected))));
    }

    #[test]
    fn publish_with_qos_3_is_malformed() {
        let bytes = [0x36, 0x07, 0x00, 0x03, b'a', b'/', b'b', 0x00, 0x01];
        assert!(matches!(
            decode(&bytes, V311),
            Err(DecodeError::Malformed {
                packet_type: "PUBLISH",
                ..
            })
        ));
    }

    #[test]
    fn the_four_acks_are_two_bytes_in_311() {
        both_ways(&Packet::PubAck(ack(10, 0)), V311, &[0x40, 0x02, 0x00, 0x0A]);
        both_ways(&Packet::PubRec(ack(10, 0)), V311, &[0x50, 0x02, 0x00, 0x0A]);
        both_ways(&Packet::PubRel(ack(10, 0)), V311, &[0x62, 0x02, 0x00, 0x0A]);
        both_ways(
            &Packet::PubComp(ack(10, 0)),
            V311,
            &[0x70, 0x02, 0x00, 0x0A],
        );
    }

    #[test]
    fn successful_acks_use_the_short_form_in_5() {
        both_ways(&Packet::PubAck(ack(10, 0)), V5, &[0x40, 0x02, 0x00, 0x0A]);
        both_ways(&Packet::PubRec(ack(10, 0)), V5, &[0x50, 0x02, 0x00, 0x0A]);
        both_ways(&Packet::PubRel(ack(10, 0)), V5, &[0x62, 0x02, 0x00, 0x0A]);
        both_ways(&Packet::PubComp(ack(10, 0)), V5, &[0x70, 0x02, 0x00, 0x0A]);
    }

    #[test]
    fn puback_5_not_authorized_decodes_with_or_without_property_length() {
        for bytes in [
            &[0x40, 0x03, 0x00, 0x0A, 0x87][..],
            &[0x40, 0x04, 0x00, 0x0A, 0x87, 0x00][..],
        ] {
            let Ok(Packet::PubAck(a)) = decode(bytes, V5) else {
                panic!("{bytes:02X?} must decode");
            };
            assert_eq!(a, ack(10, 0x87));
            assert_eq!(a.puback_reason(V5), PubAckReason::NotAuthorized);
        }
        assert_eq!(
            enc(&Packet::PubAck(ack(10, 0x87)), V5),
            [0x40, 0x04, 0x00, 0x0A, 0x87, 0x00]
        );
    }

    #[test]
    fn pubrel_5_packet_identifier_not_found_and_reason_string() {
        let a = PubAckLike {
            reason_string: Some("gone".into()),
            ..ack(10, 0x92)
        };
        let bytes = [
            0x62, 0x0B, 0x00, 0x0A, 0x92, 0x07, 0x1F, 0x00, 0x04, b'g', b'o', b'n', b'e',
        ];
        both_ways(&Packet::PubRel(a), V5, &bytes);
    }

    #[test]
    fn a_codec_refusal_keeps_the_codec_s_reason_in_the_detail() {
        let detail = |bytes: &[u8]| match decode(bytes, V5) {
            Err(DecodeError::Malformed { detail, .. }) => detail,
            other => panic!("expected a malformed packet, got {other:?}"),
        };
        assert_eq!(
            detail(&[0x90, 0x03, 0x00, 0x01, 0x00]),
            "SUBACK packet must contain at least one reason code"
        );
        assert_eq!(
            detail(&[0x20, 0x04, 0x00, 0x00, 0x01, 0x7F]),
            "invalid property id 0x7F"
        );
    }

    #[test]
    fn bytes_after_an_ack_s_properties_are_malformed() {
        assert!(matches!(
            decode(&[0x40, 0x05, 0x00, 0x0A, 0x87, 0x00, 0xFF], V5),
            Err(DecodeError::Malformed {
                packet_type: "PUBACK",
                ..
            })
        ));
    }

    fn sub_filter(filter: &str, qos: QoS) -> SubscribeFilter {
        SubscribeFilter {
            filter: filter.into(),
            qos,
            no_local: false,
            retain_as_published: false,
            retain_handling: RetainHandling::SendAtSubscribe,
        }
    }

    #[test]
    fn subscribe_311_has_flags_2_and_a_qos_byte_per_filter() {
        let s = Subscribe {
            packet_id: 1,
            filters: vec![sub_filter("a/#", QoS::AtLeastOnce)],
            subscription_identifier: None,
            user_properties: vec![],
        };
        let bytes = [0x82, 0x08, 0x00, 0x01, 0x00, 0x03, b'a', b'/', b'#', 0x01];
        both_ways(&Packet::Subscribe(s), V311, &bytes);
    }

    #[test]
    fn subscribe_5_packs_no_local_retain_as_published_and_retain_handling() {
        let s = Subscribe {
            packet_id: 1,
            filters: vec![SubscribeFilter {
                no_local: true,
                retain_as_published: true,
                retain_handling: RetainHandling::DoNotSend,
                ..sub_filter("a/#", QoS::AtLeastOnce)
            }],
            subscription_identifier: None,
            user_properties: vec![],
        };
        let bytes = [
            0x82, 0x09, 0x00, 0x01, 0x00, 0x00, 0x03, b'a', b'/', b'#', 0x2D,
        ];
        both_ways(&Packet::Subscribe(s), V5, &bytes);
    }

    #[test]
    fn subscribe_5_carries_a_subscription_identifier() {
        let s = Subscribe {
            packet_id: 2,
            filters: vec![sub_filter("x", QoS::AtMostOnce)],
            subscription_identifier: Some(200),
            user_properties: vec![],
        };
        let bytes = [
            0x82, 0x0A, 0x00, 0x02, 0x03, 0x0B, 0xC8, 0x01, 0x00, 0x01, b'x', 0x00,
        ];
        both_ways(&Packet::Subscribe(s), V5, &bytes);
    }

    #[test]
    fn suback_311_0x80_is_a_refusal() {
        let s = SubAck {
            packet_id: 1,
            codes: vec![0x00, 0x80],
            ..SubAck::default()
        };
        both_ways(
            &Packet::SubAck(s.clone()),
            V311,
            &[0x90, 0x04, 0x00, 0x01, 0x00, 0x80],
        );
        let reasons: Vec<_> = s.reasons(V311).collect();
        assert_eq!(
            reasons,
            [SubscribeReason::GrantedQoS0, SubscribeReason::Refused]
        );
    }

    #[test]
    fn suback_5_0x87_is_not_authorized() {
        let s = SubAck {
            packet_id: 1,
            codes: vec![0x01, 0x87],
            ..SubAck::default()
        };
        both_ways(
            &Packet::SubAck(s.clone()),
            V5,
            &[0x90, 0x05, 0x00, 0x01, 0x00, 0x01, 0x87],
        );
        let reasons: Vec<_> = s.reasons(V5).collect();
        assert_eq!(
            reasons,
            [SubscribeReason::GrantedQoS1, SubscribeReason::NotAuthorized]
        );
    }

    #[test]
    fn suback_with_wrong_flags_is_refused() {
        assert_eq!(
            decode(&[0x92, 0x03, 0x00, 0x01, 0x00], V311),
            Err(DecodeError::InvalidFlags {
                packet_type: "SUBACK",
                flags: 2
            })
        );
    }

    #[test]
    fn unsubscribe_in_both_versions() {
        let u = Unsubscribe {
            packet_id: 2,
            filters: vec!["a/#".into()],
            user_properties: vec![],
        };
        both_ways(
            &Packet::Unsubscribe(u.clone()),
            V311,
            &[0xA2, 0x07, 0x00, 0x02, 0x00, 0x03, b'a', b'/', b'#'],
        );
        both_ways(
            &Packet::Unsubscribe(u),
            V5,
            &[0xA2, 0x08, 0x00, 0x02, 0x00, 0x00, 0x03, b'a', b'/', b'#'],
        );
    }

    #[test]
    fn unsuback_311_has_no_codes_and_5_has_one_per_filter() {
        let u311 = UnsubAck {
            packet_id: 2,
            ..UnsubAck::default()
        };
        both_ways(&Packet::UnsubAck(u311), V311, &[0xB0, 0x02, 0x00, 0x02]);
        let u5 = UnsubAck {
            packet_id: 2,
            codes: vec![0x00, 0x11],
            ..UnsubAck::default()
        };
        both_ways(
            &Packet::UnsubAck(u5),
            V5,
            &[0xB0, 0x05, 0x00, 0x02, 0x00, 0x00, 0x11],
        );
    }

    #[test]
    fn pingreq_and_pingresp_are_two_bytes_in_both_versions() {
        for version in [V311, V5] {
            both_ways(&Packet::PingReq, version, &[0xC0, 0x00]);
            both_ways(&Packet::PingResp, version, &[0xD0, 0x00]);
        }
    }

    #[test]
    fn pingresp_with_a_body_is_malformed() {
        assert!(matches!(
            decode(&[0xD0, 0x01, 0x00], V311),
            Err(DecodeError::Malformed {
                packet_type: "PINGRESP",
                ..
            })
        ));
    }

    #[test]
    fn normal_disconnect_is_two_bytes_in_both_versions() {
        for version in [V311, V5] {
            both_ways(
                &Packet::Disconnect(Disconnect::default()),
                version,
                &[0xE0, 0x00],
            );
        }
    }

    #[test]
    fn disconnect_5_session_taken_over_decodes_in_its_short_and_long_forms() {
        let d = Disconnect {
            reason: 0x8E,
            ..Disconnect::default()
        };
        both_ways(&Packet::Disconnect(d.clone()), V5, &[0xE0, 0x01, 0x8E]);
        assert_eq!(
            decode(&[0xE0, 0x02, 0x8E, 0x00], V5),
            Ok(Packet::Disconnect(d.clone()))
        );
        assert_eq!(d.typed_reason(V5), DisconnectReason::SessionTakenOver);
    }

    #[test]
    fn disconnect_5_carries_server_reference() {
        let d = Disconnect {
            reason: 0x9C,
            server_reference: Some("b2".into()),
            ..Disconnect::default()
        };
        both_ways(
            &Packet::Disconnect(d),
            V5,
            &[0xE0, 0x07, 0x9C, 0x05, 0x1C, 0x00, 0x02, b'b', b'2'],
        );
    }

    #[test]
    fn auth_5_success_is_two_bytes_and_continue_names_its_method() {
        both_ways(&Packet::Auth(Auth::default()), V5, &[0xF0, 0x00]);
        let a = Auth {
            reason: 0x18,
            authentication_method: Some("SCRAM".into()),
            ..Auth::default()
        };
        both_ways(
            &Packet::Auth(a),
            V5,
            &[
                0xF0, 0x0A, 0x18, 0x08, 0x15, 0x00, 0x05, b'S', b'C', b'R', b'A', b'M',
            ],
        );
    }

    #[test]
    fn auth_does_not_exist_in_311() {
        let mut out = vec![1];
        assert_eq!(
            encode(&Packet::Auth(Auth::default()), V311, &mut out),
            Err(EncodeError::NotInVersion {
                packet_type: "AUTH",
                version: V311
            })
        );
        assert_eq!(out, [1], "nothing appended on error");
        assert_eq!(
            decode(&[0xF0, 0x00], V311),
            Err(DecodeError::UnexpectedPacketType(15))
        );
    }

    #[test]
    fn reserved_packet_type_0_is_refused() {
        assert_eq!(
            decode(&[0x00, 0x00], V5),
            Err(DecodeError::UnexpectedPacketType(0))
        );
    }

    #[test]
    fn encode_refuses_what_the_packet_cannot_carry() {
        let mut out = Vec::new();
        let no_id = Packet::Publish(Box::new(publish(QoS::AtLeastOnce, None)));
        assert_eq!(
            encode(&no_id, V5, &mut out),
            Err(EncodeError::PacketIdMismatch {
                qos: QoS::AtLeastOnce,
                packet_id: None
            })
        );
        let qos0_with_id = Packet::Publish(Box::new(publish(QoS::AtMostOnce, Some(1))));
        assert!(matches!(
            encode(&qos0_with_id, V5, &mut out),
            Err(EncodeError::PacketIdMismatch { .. })
        ));
        assert_eq!(
            encode(&Packet::PubAck(ack(0, 0)), V5, &mut out),
            Err(EncodeError::ZeroPacketId {
                packet_type: "PUBACK"
            })
        );
        assert_eq!(
            encode(&Packet::PubAck(ack(1, 0x8E)), V5, &mut out),
            Err(EncodeError::InvalidReasonCode {
                packet_type: "PUBACK",
                code: 0x8E
            })
        );
        let password_only = Connect {
            password: Some(b"p".to_vec()),
            ..connect(V311)
        };
        assert_eq!(
            encode(&Packet::Connect(Box::new(password_only)), V311, &mut out),
            Err(EncodeError::PasswordWithoutUsername)
        );
        assert_eq!(
            encode(&Packet::Connect(Box::new(connect(V5))), V311, &mut out),
            Err(EncodeError::VersionMismatch {
                packet: V5,
                link: V311
            })
        );
        let empty = Subscribe {
            packet_id: 1,
            filters: vec![],
            subscription_identifier: None,
            user_properties: vec![],
        };
        assert_eq!(
            encode(&Packet::Subscribe(empty), V5, &mut out),
            Err(EncodeError::Empty {
                packet_type: "SUBSCRIBE"
            })
        );
        let nul_topic = Publish {
            topic: "a\0b".into(),
            ..publish(QoS::AtMostOnce, None)
        };
        assert!(matches!(
            encode(&Packet::Publish(Box::new(nul_topic)), V5, &mut out),
            Err(EncodeError::Rejected {
                packet_type: "PUBLISH",
                ..
            })
        ));
        assert!(out.is_empty(), "nothing appended on error");
    }

    proptest! {
        #[test]
        fn any_valid_packet_survives_encode_then_decode(
            (version, packet) in strategies::version()
                .prop_flat_map(|v| (Just(v), strategies::packet(v)))
        ) {
            let mut bytes = Vec::new();
            encode(&packet, version, &mut bytes).unwrap();
            prop_assert_eq!(decode(&bytes, version), Ok(packet));
        }
    }
}
