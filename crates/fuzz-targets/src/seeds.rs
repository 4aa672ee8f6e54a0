//! The seed corpus, generated: valid packets of every type in both protocol versions (encoded
//! by our codec; `tests/corpus.rs` checks the oracle decodes each to the same packet), session
//! scripts that connect, subscribe, publish and receive in both versions, and valid token
//! responses and chat payloads of every accepted shape.
//!
//! `tests/corpus.rs` checks that `fuzz/corpus/<target>/seed-<name>` holds each; run it with
//! `LIVECHAT_WRITE_SEEDS=1` to (re)write them.

use mqtt_codec::{
    encode, Auth, ConnAck, Connect, Disconnect, LastWill, Packet, ProtocolVersion, Publish, QoS,
    QosHandshake, RetainHandling, SubAck, Subscribe, SubscribeFilter, UnsubAck, Unsubscribe,
};

use crate::session::Op;
use crate::{framer, token};

/// A seed: its name (without the `seed-` prefix) and its bytes.
pub type Seed = (String, Vec<u8>);

/// The seeds of the target named `target` (empty for an unknown name).
#[must_use]
pub fn of(target: &str) -> Vec<Seed> {
    match target {
        "framer" => framer_seeds(),
        "session" => session_seeds(),
        "json" => json_seeds(),
        "token" => token_seeds(),
        "chat" => chat_seeds(),
        _ => Vec::new(),
    }
}

fn user_properties() -> Vec<(String, String)> {
    vec![("k".into(), "v".into()), ("k".into(), "é".into())]
}

/// One packet of every type `version` has, the v5 ones with every property they can carry;
/// each with a short name.
#[must_use]
pub fn packets(version: ProtocolVersion) -> Vec<(&'static str, Packet)> {
    let v5 = version == ProtocolVersion::V5;
    let props = |p: Vec<(String, String)>| if v5 { p } else { Vec::new() };
    let some = |x| if v5 { Some(x) } else { None };
    let will = LastWill {
        topic: "presence/ann".into(),
        payload: b"offline".to_vec(),
        qos: QoS::AtLeastOnce,
        retain: true,
        delay_interval: some(5),
        payload_format_utf8: if v5 { Some(true) } else { None },
        message_expiry_interval: some(60),
        content_type: if v5 { Some("text/plain".into()) } else { None },
        response_topic: if v5 { Some("r/ann".into()) } else { None },
        correlation_data: if v5 { Some(vec![1, 2, 3]) } else { None },
        user_properties: props(user_properties()),
    };
    let mut list = vec![
        (
            "connect",
            Packet::Connect(Box::new(Connect {
                protocol: version,
                client_id: "livechat-ann".into(),
                clean_start: true,
                keep_alive: 30,
                username: Some("ann@org".into()),
                password: Some(b"token".to_vec()),
                will: Some(will),
                session_expiry_interval: some(600),
                receive_maximum: if v5 { Some(64) } else { None },
                maximum_packet_size: some(65_536),
                topic_alias_maximum: if v5 { Some(16) } else { None },
                request_response_information: if v5 { Some(true) } else { None },
                request_problem_information: if v5 { Some(false) } else { None },
                authentication_method: None,
                authentication_data: None,
                user_properties: props(user_properties()),
            })),
        ),
        (
            "connect-minimal",
            Packet::Connect(Box::new(Connect::empty(version))),
        ),
        (
            "connack",
            Packet::ConnAck(Box::new(ConnAck {
                session_present: true,
                code: 0,
                session_expiry_interval: some(300),
                receive_maximum: if v5 { Some(20) } else { None },
                maximum_qos: if v5 { Some(QoS::AtLeastOnce) } else { None },
                retain_available: if v5 { Some(true) } else { None },
                maximum_packet_size: some(1 << 20),
                assigned_client_identifier: if v5 { Some("auto-1".into()) } else { None },
                topic_alias_maximum: if v5 { Some(8) } else { None },
                reason_string: if v5 { Some("welcome".into()) } else { None },
                wildcard_subscription_available: if v5 { Some(true) } else { None },
                subscription_identifiers_available: if v5 { Some(false) } else { None },
                shared_subscription_available: if v5 { Some(true) } else { None },
                server_keep_alive: if v5 { Some(20) } else { None },
                response_information: if v5 { Some("resp/".into()) } else { None },
                server_reference: None,
                authentication_method: None,
                authentication_data: None,
                user_properties: props(user_properties()),
            })),
        ),
        (
            "connack-refused",
            Packet::ConnAck(Box::new(ConnAck {
                code: if v5 { 0x87 } else { 5 },
                ..ConnAck::default()
            })),
        ),
        (
            "publish-qos0",
            Packet::Publish(Box::new(Publish {
                topic: "chat/room1/ann".into(),
                payload: br#"{"id":"c-1","user":"ann","text":"hi","timestamp":17}"#.to_vec(),
                ..Publish::default()
            })),
        ),
        (
            "publish-qos1",
            Packet::Publish(Box::new(Publish {
                dup: true,
                qos: QoS::AtLeastOnce,
                retain: true,
                topic: "chat/room1/bob".into(),
                packet_id: Some(7),
                payload: b"hello".to_vec(),
                payload_format_utf8: if v5 { Some(true) } else { None },
                message_expiry_interval: some(120),
                topic_alias: if v5 { Some(3) } else { None },
                response_topic: if v5 { Some("r/bob".into()) } else { None },
                correlation_data: if v5 { Some(vec![9, 9]) } else { None },
                subscription_identifiers: if v5 { vec![1, 300] } else { Vec::new() },
                content_type: if v5 {
                    Some("application/json".into())
                } else {
                    None
                },
                user_properties: props(user_properties()),
            })),
        ),
        (
            "publish-qos2",
            Packet::Publish(Box::new(Publish {
                qos: QoS::ExactlyOnce,
                topic: "t/2".into(),
                packet_id: Some(65_535),
                payload: Vec::new(),
                ..Publish::default()
            })),
        ),
    ];
    let handshake = |packet_id, reason: u8| QosHandshake {
        packet_id,
        reason: if v5 { reason } else { 0 },
        reason_string: if v5 && reason != 0 {
            Some("no".into())
        } else {
            None
        },
        user_properties: if v5 && reason != 0 {
            user_properties()
        } else {
            Vec::new()
        },
    };
    list.extend([
        ("puback", Packet::PubAck(handshake(7, 0))),
        ("puback-refused", Packet::PubAck(handshake(8, 0x87))),
        ("pubrec", Packet::PubRec(handshake(9, 0x10))),
        ("pubrel", Packet::PubRel(handshake(9, 0))),
        ("pubcomp", Packet::PubComp(handshake(9, 0x92))),
        (
            "subscribe",
            Packet::Subscribe(Subscribe {
                packet_id: 1,
                filters: vec![
                    SubscribeFilter {
                        filter: "chat/room1/+".into(),
                        qos: QoS::AtLeastOnce,
                        no_local: v5,
                        retain_as_published: v5,
                        retain_handling: if v5 {
                            RetainHandling::SendIfNew
                        } else {
                            RetainHandling::SendAtSubscribe
                        },
                    },
                    SubscribeFilter {
                        filter: "presence/#".into(),
                        qos: QoS::ExactlyOnce,
                        no_local: false,
                        retain_as_published: false,
                        retain_handling: if v5 {
                            RetainHandling::DoNotSend
                        } else {
                            RetainHandling::SendAtSubscribe
                        },
                    },
                ],
                subscription_identifier: some(300),
                user_properties: props(user_properties()),
            }),
        ),
        (
            "suback",
            Packet::SubAck(SubAck {
                packet_id: 1,
                codes: vec![1, 2, 0x80],
                reason_string: if v5 { Some("partly".into()) } else { None },
                user_properties: props(user_properties()),
            }),
        ),
        (
            "unsubscribe",
            Packet::Unsubscribe(Unsubscribe {
                packet_id: 2,
                filters: vec!["chat/room1/+".into(), "presence/#".into()],
                user_properties: props(user_properties()),
            }),
        ),
        (
            "unsuback",
            Packet::UnsubAck(UnsubAck {
                packet_id: 2,
                codes: if v5 { vec![0, 0x11] } else { Vec::new() },
                reason_string: if v5 { Some("gone".into()) } else { None },
                user_properties: props(user_properties()),
            }),
        ),
        ("pingreq", Packet::PingReq),
        ("pingresp", Packet::PingResp),
        ("disconnect", Packet::Disconnect(Disconnect::default())),
    ]);
    if v5 {
        list.extend([
            (
                "disconnect-kicked",
                Packet::Disconnect(Disconnect {
                    reason: 0x98,
                    session_expiry_interval: Some(0),
                    reason_string: Some("token expired".into()),
                    server_reference: Some("wss://other.example".into()),
                    user_properties: user_properties(),
                }),
            ),
            (
                "auth",
                Packet::Auth(Auth {
                    reason: 0x18,
                    authentication_method: Some("SCRAM-SHA-1".into()),
                    authentication_data: Some(vec![0, 1, 2]),
                    reason_string: Some("continue".into()),
                    user_properties: user_properties(),
                }),
            ),
        ]);
    }
    list
}

fn wire(packet: &Packet, version: ProtocolVersion) -> Vec<u8> {
    let mut out = Vec::new();
    encode(packet, version, &mut out).expect("a seed packet encodes");
    out
}

fn tag(version: ProtocolVersion) -> &'static str {
    match version {
        ProtocolVersion::V311 => "v311",
        ProtocolVersion::V5 => "v5",
    }
}

/// A framer input: the control byte, the maximum packet size, then `stream` in chunks of at
/// most `chunk` bytes.
fn framer_input(control: u8, max: u16, stream: &[u8], chunk: usize) -> Vec<u8> {
    let mut out = vec![control];
    out.extend_from_slice(&max.to_be_bytes());
    for piece in stream.chunks(chunk.clamp(1, 255)) {
        out.push(piece.len() as u8);
        out.extend_from_slice(piece);
    }
    out
}

fn framer_seeds() -> Vec<Seed> {
    let mut seeds = Vec::new();
    for version in [ProtocolVersion::V311, ProtocolVersion::V5] {
        let control = if version == ProtocolVersion::V5 {
            framer::V5
        } else {
            0
        };
        let mut stream = Vec::new();
        for (name, packet) in packets(version) {
            let bytes = wire(&packet, version);
            seeds.push((
                format!("{}-{name}", tag(version)),
                framer_input(control, u16::MAX, &bytes, 255),
            ));
            stream.extend_from_slice(&bytes);
        }
        seeds.push((
            format!("{}-all-in-7-byte-chunks", tag(version)),
            framer_input(control, u16::MAX, &stream, 7),
        ));
        // A PUBLISH above a 64-byte maximum between two small packets, refused and skipped.
        let big = Packet::Publish(Box::new(Publish {
            qos: QoS::AtLeastOnce,
            topic: "chat/room1/big".into(),
            packet_id: Some(3),
            payload: vec![b'x'; 300],
            ..Publish::default()
        }));
        let mut oversized = wire(&Packet::PingResp, version);
        oversized.extend(wire(&big, version));
        oversized.extend(wire(&Packet::PingResp, version));
        seeds.push((
            format!("{}-oversized-refused", tag(version)),
            framer_input(control, 64, &oversized, 40),
        ));
        seeds.push((
            format!("{}-oversized-skipped", tag(version)),
            framer_input(control | framer::SKIP_OVERSIZED, 64, &oversized, 40),
        ));
    }
    seeds
}

/// A session script under construction.
struct Script(Vec<u8>);

impl Script {
    fn new(version: ProtocolVersion, queue_limit: u8) -> Self {
        let v5 = u8::from(version == ProtocolVersion::V5);
        // Receive maximum 10, maximum packet size 65 535, topic alias maximum 8.
        Script(vec![v5, queue_limit, 0, 10, 0xFF, 0xFF, 8])
    }
    fn op(mut self, op: Op, operands: &[u8]) -> Self {
        self.0.push(op as u8);
        self.0.extend_from_slice(operands);
        self
    }
    /// `packet` arriving on the newest link, in pieces of at most 64 bytes.
    fn receive(mut self, packet: &Packet, version: ProtocolVersion) -> Self {
        for piece in wire(packet, version).chunks(64) {
            self = self.op(Op::Bytes, &[0, piece.len() as u8]);
            self.0.extend_from_slice(piece);
        }
        self
    }
    fn publish(self, topic: u8, payload: &[u8], qos: u8) -> Self {
        let mut operands = vec![topic];
        operands.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        operands.extend_from_slice(payload);
        operands.extend_from_slice(&[qos, 0]);
        self.op(Op::Publish, &operands)
    }
    fn wait(self, tens_of_ms: u16) -> Self {
        self.op(Op::Wait, &tens_of_ms.to_be_bytes())
    }
}

fn session_seeds() -> Vec<Seed> {
    let mut seeds = Vec::new();
    for version in [ProtocolVersion::V311, ProtocolVersion::V5] {
        let find = |name: &str| {
            packets(version)
                .into_iter()
                .find(|(n, _)| *n == name)
                .map(|(_, p)| p)
                .expect("a seed packet")
        };
        let connack = Packet::ConnAck(Box::default());
        let incoming = |qos, packet_id| {
            Packet::Publish(Box::new(Publish {
                qos,
                topic: "t/a".into(),
                packet_id,
                payload: b"from bob".to_vec(),
                ..Publish::default()
            }))
        };
        let ack = |packet_id| QosHandshake {
            packet_id,
            ..QosHandshake::default()
        };
        let conversation = Script::new(version, 16)
            .op(Op::Subscribe, &[2, 1])
            .publish(1, b"queued before connecting", 1)
            .op(Op::Open, &[])
            .receive(&connack, version)
            .receive(&find("suback"), version)
            .publish(2, br#"{"text":"hi"}"#, 1)
            .publish(3, b"exactly once", 2)
            .publish(4, b"fire and forget", 0)
            .receive(&Packet::PubAck(ack(1)), version)
            .receive(&Packet::PubAck(ack(2)), version)
            .receive(&Packet::PubRec(ack(3)), version)
            .receive(&Packet::PubComp(ack(3)), version)
            .receive(&incoming(QoS::AtLeastOnce, Some(7)), version)
            .receive(&incoming(QoS::ExactlyOnce, Some(8)), version)
            .receive(&Packet::PubRel(ack(8)), version)
            .receive(&incoming(QoS::AtMostOnce, None), version)
            .wait(3_000)
            .receive(&Packet::PingResp, version)
            .op(Op::Unsubscribe, &[2])
            .receive(&find("unsuback"), version)
            .op(Op::Disconnect, &[]);
        seeds.push((format!("{}-conversation", tag(version)), conversation.0));

        let outage = Script::new(version, 4)
            .op(Op::Open, &[])
            .receive(&connack, version)
            .publish(1, b"in flight", 1)
            .op(Op::Close, &[0])
            .publish(2, b"typed offline 1", 1)
            .publish(3, b"typed offline 2", 1)
            .publish(4, b"typed offline 3", 1)
            .publish(5, b"typed offline 4", 1)
            .publish(6, b"over the limit", 1)
            .wait(500)
            .op(Op::Open, &[])
            .wait(1_500)
            .op(Op::Open, &[])
            .receive(&find("connack"), version)
            .receive(&find("puback-refused"), version)
            .receive(&find("disconnect"), version)
            .op(Op::SetProtocol, &[0])
            .op(Op::Open, &[])
            .receive(&find("connack-refused"), version);
        seeds.push((format!("{}-outage", tag(version)), outage.0));
    }
    seeds
}

const TOKEN_BODIES: [(&str, &str); 6] = [
    (
        "contract",
        r#"{"accessToken":"tok-abcdefgh","tokenId":"t-1","expiresAt":"2026-11-28T10:15:00Z","refreshAt":"2026-11-28T10:13:30Z","username":"ann@org","userId":"u-1","brokerUrl":"wss://broker.example/mqtt"}"#,
    ),
    (
        "contract-epoch-ms",
        r#"{"accessToken":"tok-abcdefgh","tokenId":17,"expiresAt":1795860900000,"refreshAt":1795860810000,"username":"ann","userId":42,"issuedAt":1795860000000,"brokerUrl":"ws://127.0.0.1:18083"}"#,
    ),
    (
        "cloudsignal",
        r#"{"access_token":"a","token_id":"t-2","expires_at":"2026-11-28T10:15:00.250+00:00","refresh_recommended_at":1795860810,"mqtt_credentials":{"username":"ann@org","password":"p-abcdefgh"},"issued_at":"2026-11-28T10:00:00Z"}"#,
    ),
    (
        "cloudsignal-flat",
        r#"{"mqtt_username":"ann@org","mqtt_password":"p-abcdefgh","expires_in":900,"broker_url":"wss://[::1]:8884/mqtt"}"#,
    ),
    (
        "cloudsignal-v1",
        r#"{"token_password":"p","expires_in":"899.5"}"#,
    ),
    ("not-an-object", r#"["accessToken"]"#),
];

const DATE_HEADER: &str = "Sat, 28 Nov 2026 10:00:00 GMT";

fn token_input(status: u16, date: Option<&str>, retry_after: Option<&str>, body: &str) -> Vec<u8> {
    let index = token::STATUSES
        .iter()
        .position(|&s| s == status)
        .expect("a status the target can pick");
    let mut flags = token::LOCAL_TIME;
    if date.is_some() {
        flags |= token::DATE;
    }
    if retry_after.is_some() {
        flags |= token::RETRY_AFTER;
    }
    let mut out = vec![index as u8, flags];
    for header in [date, retry_after].into_iter().flatten() {
        out.push(header.len() as u8);
        out.extend_from_slice(header.as_bytes());
    }
    // The local clock, five minutes fast; the response arrives at 12.345 s.
    out.extend_from_slice(&1_795_860_300_000i64.to_be_bytes());
    out.extend_from_slice(&12_345u64.to_be_bytes()[2..]);
    out.extend_from_slice(body.as_bytes());
    out
}

fn token_seeds() -> Vec<Seed> {
    let mut seeds = Vec::new();
    for (name, body) in TOKEN_BODIES {
        seeds.push((
            format!("{name}-date"),
            token_input(200, Some(DATE_HEADER), None, body),
        ));
        seeds.push((
            format!("{name}-no-date"),
            token_input(200, None, None, body),
        ));
    }
    seeds.extend([
        (
            "signed-out".into(),
            token_input(401, None, None, r#"{"error":"sign in"}"#),
        ),
        ("forbidden".into(), token_input(403, None, None, "")),
        (
            "rate-limited-seconds".into(),
            token_input(429, None, Some("5"), ""),
        ),
        (
            "rate-limited-date".into(),
            token_input(
                429,
                Some(DATE_HEADER),
                Some("Sat, 28 Nov 2026 10:00:30 GMT"),
                "",
            ),
        ),
        (
            "unavailable".into(),
            token_input(503, None, Some("120"), ""),
        ),
        (
            "server-error".into(),
            token_input(500, None, None, "<html>oops</html>"),
        ),
    ]);
    seeds
}

const CHAT_PAYLOADS: [(&str, &str); 6] = [
    (
        "ours",
        r#"{"id":"c-1","user":"ann","text":"hi","timestamp":1764000000000}"#,
    ),
    (
        "quickstart",
        r#"{ "user": "user-123", "text": "hello", "timestamp": 1764000000000 }"#,
    ),
    (
        "escapes",
        r#"{"id":"\u00e9","user":"\"b\"\\","text":"line\nbreak\ttab\u0001 \ud83d\ude00 </script>","timestamp":0}"#,
    ),
    (
        "null-id-and-extras",
        r#"{"id":null,"user":"a","text":"b","timestamp":18446744073709551615,"extra":{"x":[1,2.5e3,true,null]}}"#,
    ),
    (
        "duplicate-field",
        r#"{"user":"b","user":"d","text":"c","timestamp":1}"#,
    ),
    (
        "blank-text",
        r#"{"id":"a","user":"b","text":"  ","timestamp":1}"#,
    ),
];

fn chat_seeds() -> Vec<Seed> {
    CHAT_PAYLOADS
        .iter()
        .map(|(name, payload)| ((*name).to_owned(), payload.as_bytes().to_vec()))
        .collect()
}

fn json_seeds() -> Vec<Seed> {
    let mut seeds: Vec<Seed> = TOKEN_BODIES
        .iter()
        .map(|(name, body)| (format!("token-{name}"), body.as_bytes().to_vec()))
        .chain(
            CHAT_PAYLOADS
                .iter()
                .map(|(name, p)| (format!("chat-{name}"), p.as_bytes().to_vec())),
        )
        .collect();
    seeds.extend(
        [
            (
                "config",
                r#"{"brokerUrl":"wss://broker.example/mqtt","tokenUrl":"/api/token","room":"lobby","protocol":5,"keepAliveSecs":30}"#,
            ),
            (
                "numbers",
                "[0,-0,1,-1,1.5,-1.5e3,1E+2,2e-308,1.7976931348623157e308,18446744073709551616,-9223372036854775809,0.1e1]",
            ),
            ("scalars", " [ true , false , null , \"\" , {} , [] ] "),
            ("nested", "[[[[[[[[{\"a\":[{\"b\":{}}]}]]]]]]]]"),
        ]
        .map(|(name, text)| (name.to_owned(), text.as_bytes().to_vec())),
    );
    seeds
}
