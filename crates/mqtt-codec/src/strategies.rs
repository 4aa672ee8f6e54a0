//! proptest strategies: arbitrary *valid* packets for a protocol version (what the spec lets a
//! peer send, so that encode → decode must give the packet back).

use proptest::collection::vec;
use proptest::option::of;
use proptest::prelude::*;

use crate::packet::*;

fn text() -> impl Strategy<Value = String> {
    // Any non-control characters (multi-byte included); the codec refuses NUL.
    "\\PC{0,8}"
}

fn topic() -> impl Strategy<Value = String> {
    "[a-z0-9/_ -]{1,16}"
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..16)
}

fn qos() -> impl Strategy<Value = QoS> {
    prop_oneof![
        Just(QoS::AtMostOnce),
        Just(QoS::AtLeastOnce),
        Just(QoS::ExactlyOnce)
    ]
}

fn packet_id() -> impl Strategy<Value = u16> {
    1..=u16::MAX
}

/// Property values exist only in v5: under 3.1.1 the strategy yields the default.
fn v5<S>(version: ProtocolVersion, s: S) -> BoxedStrategy<S::Value>
where
    S: Strategy + 'static,
    S::Value: Default + std::fmt::Debug + Clone + 'static,
{
    match version {
        ProtocolVersion::V5 => s.boxed(),
        ProtocolVersion::V311 => Just(S::Value::default()).boxed(),
    }
}

fn users(version: ProtocolVersion) -> BoxedStrategy<Vec<UserProperty>> {
    v5(version, vec((text(), text()), 0..3))
}

fn last_will(version: ProtocolVersion) -> impl Strategy<Value = LastWill> {
    (
        (topic(), bytes(), qos(), any::<bool>()),
        v5(version, of(any::<u32>())),
        v5(version, of(any::<bool>())),
        v5(version, of(any::<u32>())),
        v5(version, of(text())),
        v5(version, of(topic())),
        v5(version, of(bytes())),
        users(version),
    )
        .prop_map(
            |((topic, payload, qos, retain), delay, pfi, expiry, ct, rt, cd, up)| LastWill {
                topic,
                payload,
                qos,
                retain,
                delay_interval: delay,
                payload_format_utf8: pfi,
                message_expiry_interval: expiry,
                content_type: ct,
                response_topic: rt,
                correlation_data: cd,
                user_properties: up,
            },
        )
}

fn connect(version: ProtocolVersion) -> impl Strategy<Value = Packet> {
    (
        (
            text(),
            any::<bool>(),
            any::<u16>(),
            of(text()),
            of(bytes()),
            of(last_will(version)),
        ),
        (
            v5(version, of(any::<u32>())),
            v5(version, of(any::<u16>())),
            v5(version, of(any::<u32>())),
            v5(version, of(any::<u16>())),
            v5(version, of(any::<bool>())),
            v5(version, of(any::<bool>())),
            v5(version, of(text())),
            v5(version, of(bytes())),
            users(version),
        ),
    )
        .prop_map(move |((client_id, clean, ka, user, pass, will), props)| {
            // MQTT-3.1.2-22: no password without a user name in 3.1.1. v5 allows it, but the
            // codec crate's CONNECT decoder refuses it (we only decode CONNECT in tests).
            let password = if user.is_none() { None } else { pass };
            let (sei, rm, mps, tam, rri, rpi, am, ad, up) = props;
            Packet::Connect(Box::new(Connect {
                protocol: version,
                client_id,
                clean_start: clean,
                keep_alive: ka,
                username: user,
                password,
                will,
                session_expiry_interval: sei,
                receive_maximum: rm,
                maximum_packet_size: mps,
                topic_alias_maximum: tam,
                request_response_information: rri,
                request_problem_information: rpi,
                authentication_method: am,
                authentication_data: ad,
                user_properties: up,
            }))
        })
}

const CONNACK_V5_CODES: &[u8] = &[
    0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8A, 0x8C, 0x90, 0x95, 0x97,
    0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9F,
];
const PUBACK_CODES: &[u8] = &[0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99];
const PUBREL_CODES: &[u8] = &[0x00, 0x92];
const SUBACK_V5_CODES: &[u8] = &[
    0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2,
];
const SUBACK_V311_CODES: &[u8] = &[0x00, 0x01, 0x02, 0x80];
const UNSUBACK_CODES: &[u8] = &[0x00, 0x11, 0x80, 0x83, 0x87, 0x8F, 0x91];
const DISCONNECT_CODES: &[u8] = &[
    0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8B, 0x8D, 0x8E, 0x8F, 0x90, 0x93, 0x94, 0x95,
    0x96, 0x97, 0x98, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9E, 0x9F, 0xA0, 0xA1, 0xA2,
];

fn one_of(codes: &'static [u8]) -> impl Strategy<Value = u8> {
    proptest::sample::select(codes)
}

fn connack(version: ProtocolVersion) -> impl Strategy<Value = Packet> {
    let code = match version {
        ProtocolVersion::V311 => (0u8..=5).boxed(),
        ProtocolVersion::V5 => one_of(CONNACK_V5_CODES).boxed(),
    };
    let max_qos = prop_oneof![Just(QoS::AtMostOnce), Just(QoS::AtLeastOnce)];
    (
        (any::<bool>(), code),
        (
            v5(version, of(any::<u32>())),
            v5(version, of(any::<u16>())),
            v5(version, of(max_qos)),
            v5(version, of(any::<bool>())),
            v5(version, of(any::<u32>())),
            v5(version, of(text())),
            v5(version, of(any::<u16>())),
            v5(version, of(text())),
        ),
        (
            v5(version, of(any::<bool>())),
            v5(version, of(any::<bool>())),
            v5(version, of(any::<bool>())),
            v5(version, of(any::<u16>())),
            v5(version, of(text())),
            v5(version, of(text())),
            v5(version, of(text())),
            v5(version, of(bytes())),
            users(version),
        ),
    )
        .prop_map(|((sp, code), a, b)| {
            let (sei, rm, mq, ra, mps, aci, tam, rs) = a;
            let (wsa, sia, ssa, ska, ri, sr, am, ad, up) = b;
            Packet::ConnAck(Box::new(ConnAck {
                session_present: sp,
                code,
                session_expiry_interval: sei,
                receive_maximum: rm,
                maximum_qos: mq,
                retain_available: ra,
                maximum_packet_size: mps,
                assigned_client_identifier: aci,
                topic_alias_maximum: tam,
                reason_string: rs,
                wildcard_subscription_available: wsa,
                subscription_identifiers_available: sia,
                shared_subscription_available: ssa,
                server_keep_alive: ska,
                response_information: ri,
                server_reference: sr,
                authentication_method: am,
                authentication_data: ad,
                user_properties: up,
            }))
        })
}

/// A PUBLISH for `version`.
pub(crate) fn publish(version: ProtocolVersion) -> impl Strategy<Value = Publish> {
    (
        (
            qos(),
            any::<bool>(),
            any::<bool>(),
            topic(),
            packet_id(),
            bytes(),
        ),
        (
            v5(version, of(any::<bool>())),
            v5(version, of(any::<u32>())),
            v5(version, of(1..=u16::MAX)),
            v5(version, of(topic())),
            v5(version, of(bytes())),
            v5(version, vec(1..=268_435_455u32, 0..3)),
            v5(version, of(text())),
            users(version),
        ),
    )
        .prop_map(|((qos, dup, retain, topic, id, payload), props)| {
            let (pfi, mei, ta, rt, cd, sids, ct, up) = props;
            Publish {
                // DUP must be 0 for QoS 0 (MQTT-3.3.1-2).
                dup: dup && qos != QoS::AtMostOnce,
                qos,
                retain,
                topic,
                packet_id: (qos != QoS::AtMostOnce).then_some(id),
                payload,
                payload_format_utf8: pfi,
                message_expiry_interval: mei,
                topic_alias: ta,
                response_topic: rt,
                correlation_data: cd,
                subscription_identifiers: sids,
                content_type: ct,
                user_properties: up,
            }
        })
}

fn ack(version: ProtocolVersion, codes: &'static [u8]) -> impl Strategy<Value = QosHandshake> {
    (
        packet_id(),
        v5(version, one_of(codes)),
        v5(version, of(text())),
        users(version),
    )
        .prop_map(|(packet_id, reason, rs, up)| QosHandshake {
            packet_id,
            reason,
            reason_string: rs,
            user_properties: up,
        })
}

fn subscribe(version: ProtocolVersion) -> impl Strategy<Value = Packet> {
    let retain_handling = prop_oneof![
        Just(RetainHandling::SendAtSubscribe),
        Just(RetainHandling::SendIfNew),
        Just(RetainHandling::DoNotSend)
    ];
    let filter = (
        topic(),
        qos(),
        v5(version, any::<bool>()),
        v5(version, any::<bool>()),
        v5(version, retain_handling),
    )
        .prop_map(|(filter, qos, nl, rap, rh)| SubscribeFilter {
            filter,
            qos,
            no_local: nl,
            retain_as_published: rap,
            retain_handling: rh,
        });
    (
        packet_id(),
        vec(filter, 1..4),
        v5(version, of(1..=268_435_455u32)),
        users(version),
    )
        .prop_map(|(packet_id, filters, sid, up)| {
            Packet::Subscribe(Subscribe {
                packet_id,
                filters,
                subscription_identifier: sid,
                user_properties: up,
            })
        })
}

fn suback(version: ProtocolVersion) -> impl Strategy<Value = Packet> {
    let codes = match version {
        ProtocolVersion::V311 => SUBACK_V311_CODES,
        ProtocolVersion::V5 => SUBACK_V5_CODES,
    };
    (
        packet_id(),
        vec(one_of(codes), 1..4),
        v5(version, of(text())),
        users(version),
    )
        .prop_map(|(packet_id, codes, rs, up)| {
            Packet::SubAck(SubAck {
                packet_id,
                codes,
                reason_string: rs,
                user_properties: up,
            })
        })
}

fn unsubscribe(version: ProtocolVersion) -> impl Strategy<Value = Packet> {
    (packet_id(), vec(topic(), 1..4), users(version)).prop_map(|(packet_id, filters, up)| {
        Packet::Unsubscribe(Unsubscribe {
            packet_id,
            filters,
            user_properties: up,
        })
    })
}

fn unsuback(version: ProtocolVersion) -> impl Strategy<Value = Packet> {
    (
        packet_id(),
        v5(version, vec(one_of(UNSUBACK_CODES), 1..4)),
        v5(version, of(text())),
        users(version),
    )
        .prop_map(|(packet_id, codes, rs, up)| {
            Packet::UnsubAck(UnsubAck {
                packet_id,
                codes,
                reason_string: rs,
                user_properties: up,
            })
        })
}

fn disconnect(version: ProtocolVersion) -> impl Strategy<Value = Packet> {
    (
        v5(version, one_of(DISCONNECT_CODES)),
        v5(version, of(any::<u32>())),
        v5(version, of(text())),
        v5(version, of(text())),
        users(version),
    )
        .prop_map(|(reason, sei, rs, sr, up)| {
            Packet::Disconnect(Disconnect {
                reason,
                session_expiry_interval: sei,
                reason_string: rs,
                server_reference: sr,
                user_properties: up,
            })
        })
}

fn auth() -> impl Strategy<Value = Packet> {
    (
        one_of(&[0x00, 0x18, 0x19]),
        text(),
        any::<bool>(),
        of(bytes()),
        of(text()),
        users(ProtocolVersion::V5),
    )
        .prop_map(|(reason, method, send_method, data, rs, up)| {
            // Continue and re-authenticate must name the method.
            let method = (send_method || reason != 0).then_some(method);
            Packet::Auth(Auth {
                reason,
                authentication_method: method,
                authentication_data: data,
                reason_string: rs,
                user_properties: up,
            })
        })
}

/// Any valid packet, in either direction, for `version`.
pub(crate) fn packet(version: ProtocolVersion) -> BoxedStrategy<Packet> {
    let common = prop_oneof![
        connect(version),
        connack(version),
        publish(version).prop_map(|p| Packet::Publish(Box::new(p))),
        ack(version, PUBACK_CODES).prop_map(Packet::PubAck),
        ack(version, PUBACK_CODES).prop_map(Packet::PubRec),
        ack(version, PUBREL_CODES).prop_map(Packet::PubRel),
        ack(version, PUBREL_CODES).prop_map(Packet::PubComp),
        subscribe(version),
        suback(version),
        unsubscribe(version),
        unsuback(version),
        Just(Packet::PingReq),
        Just(Packet::PingResp),
        disconnect(version),
    ];
    match version {
        ProtocolVersion::V311 => common.boxed(),
        ProtocolVersion::V5 => prop_oneof![14 => common, 1 => auth()].boxed(),
    }
}

/// A protocol version.
pub(crate) fn version() -> impl Strategy<Value = ProtocolVersion> {
    prop_oneof![Just(ProtocolVersion::V311), Just(ProtocolVersion::V5)]
}
