//! Unsolicited and out-of-order packets, topic aliases, size limits, server DISCONNECT, and
//! bytes in any chunking.

use mqtt_codec::packet::{Auth, Disconnect, Packet, ProtocolVersion, Publish, QoS};

use super::*;
use crate::{DecodeError, DisconnectReason, LinkDownReason, ProtocolError};

fn aliased(topic: &str, alias: u16, payload: &[u8]) -> Packet {
    Packet::Publish(Box::new(Publish {
        topic: topic.into(),
        topic_alias: Some(alias),
        payload: payload.to_vec(),
        ..Publish::default()
    }))
}

/// Asserts `link` went down for `error`, after a DISCONNECT with `code`.
fn assert_protocol_error(h: &mut Harness, link: u32, error: ProtocolError, code: u8) {
    assert_eq!(disconnects(&h.sent(link)), vec![code]);
    assert_eq!(
        link_downs(&h.events()),
        vec![(LinkId(link), LinkDownReason::Protocol(error))]
    );
    assert!(!h.session.is_connected());
}

#[test]
fn topic_aliases_are_resolved_and_remembered_per_link() {
    let mut h = Harness::v5();
    h.connect(1, false);
    h.events();
    h.reply(1, aliased("chat/room1", 3, b"first"));
    h.reply(1, aliased("", 3, b"second"));
    assert_eq!(
        messages(&h.events()),
        vec![
            ("chat/room1".to_owned(), b"first".to_vec()),
            ("chat/room1".to_owned(), b"second".to_vec())
        ]
    );
    // Aliases die with the link.
    h.close(1);
    h.connect(2, true);
    h.events();
    h.reply(2, aliased("", 3, b"third"));
    assert_protocol_error(
        &mut h,
        2,
        ProtocolError::UnknownTopicAlias { alias: 3 },
        0x94,
    );
}

#[test]
fn an_unknown_topic_alias_disconnects_with_0x94() {
    let mut h = Harness::v5();
    h.connect(1, false);
    h.events();
    h.reply(1, aliased("", 5, b"x"));
    assert_protocol_error(
        &mut h,
        1,
        ProtocolError::UnknownTopicAlias { alias: 5 },
        0x94,
    );
}

#[test]
fn a_topic_alias_above_our_maximum_disconnects_with_0x94() {
    let mut h = Harness::v5();
    h.connect(1, false);
    h.events();
    h.reply(1, aliased("chat/a", 17, b"x"));
    assert_protocol_error(
        &mut h,
        1,
        ProtocolError::TopicAliasInvalid {
            alias: 17,
            maximum: 16,
        },
        0x94,
    );
}

#[test]
fn an_incoming_packet_other_than_publish_above_our_maximum_disconnects_with_0x95() {
    // (An oversized PUBLISH is skipped instead: see tests/limits.rs.)
    let mut h = Harness::new(SessionConfig {
        maximum_packet_size: 128,
        ..config(ProtocolVersion::V5)
    });
    h.connect(1, false);
    h.events();
    h.reply(1, suback(1, &[0u8; 200]));
    assert_eq!(disconnects(&h.sent(1)), vec![0x95]);
    let downs = link_downs(&h.events());
    assert!(
        matches!(
            downs.as_slice(),
            [(
                LinkId(1),
                LinkDownReason::Decode(DecodeError::PacketTooLarge { .. })
            )]
        ),
        "{downs:?}"
    );
}

#[test]
fn garbage_bytes_disconnect_with_0x81_under_mqtt5_and_just_close_under_mqtt311() {
    for (version, expected) in [
        (ProtocolVersion::V5, vec![0x81]),
        (ProtocolVersion::V311, vec![]),
    ] {
        let mut h = Harness::new(config(version));
        h.connect(1, false);
        h.events();
        h.bytes(1, &[0x00, 0x00]); // packet type 0 is reserved
        assert_eq!(disconnects(&h.sent(1)), expected, "{version:?}");
        assert!(matches!(
            link_downs(&h.events()).as_slice(),
            [(LinkId(1), LinkDownReason::Decode(_))]
        ));
        // Later bytes on the failed link are ignored.
        h.reply(1, puback(1));
        assert!(h.events().is_empty());
    }
}

#[test]
fn an_unsolicited_auth_is_a_protocol_error() {
    let mut h = Harness::v5();
    h.connect(1, false);
    h.events();
    h.reply(
        1,
        Packet::Auth(Auth {
            reason: 0x19,
            authentication_method: Some("SCRAM-SHA-256".into()),
            ..Auth::default()
        }),
    );
    assert_protocol_error(&mut h, 1, ProtocolError::UnexpectedAuth, 0x82);
}

#[test]
fn a_second_connack_is_a_protocol_error() {
    let mut h = Harness::v5();
    h.connect(1, false);
    h.events();
    h.reply(1, connack(false));
    assert_protocol_error(&mut h, 1, ProtocolError::DuplicateConnAck, 0x82);
}

#[test]
fn a_publish_before_connack_is_a_protocol_error() {
    let mut h = Harness::v5();
    h.open(1);
    h.reply(1, message("chat/a", b"early", QoS::AtMostOnce, None));
    assert_eq!(disconnects(&h.sent(1)), vec![0x82]);
    assert_eq!(
        link_downs(&h.events()),
        vec![(
            LinkId(1),
            LinkDownReason::Protocol(ProtocolError::BeforeConnAck { packet: "PUBLISH" })
        )]
    );
}

#[test]
fn a_suback_for_an_unknown_id_is_a_protocol_error() {
    let mut h = Harness::v5();
    h.connect(1, false);
    h.events();
    h.reply(1, suback(77, &[0]));
    let error = ProtocolError::UnknownPacketId {
        packet: "SUBACK",
        packet_id: 77,
    };
    assert_protocol_error(&mut h, 1, error, 0x82);
}

#[test]
fn a_suback_with_the_wrong_number_of_codes_is_a_protocol_error() {
    let mut h = Harness::v5();
    h.connect(1, false);
    h.subscribe("a", QoS::AtMostOnce);
    let sent = h.sent(1);
    let Packet::Subscribe(s) = &sent[0] else {
        panic!("{sent:?}")
    };
    h.events();
    h.reply(1, suback(s.packet_id, &[0, 0]));
    let error = ProtocolError::AckCountMismatch {
        packet: "SUBACK",
        expected: 1,
        received: 2,
    };
    assert_protocol_error(&mut h, 1, error, 0x82);
}

#[test]
fn a_puback_or_pubcomp_for_an_unknown_id_is_ignored() {
    let mut h = Harness::v5();
    h.connect(1, false);
    h.events();
    h.reply(1, puback(500));
    h.reply(1, Packet::PubComp(ack(501, 0)));
    assert!(h.events().is_empty());
    assert!(h.sent(1).is_empty());
    assert!(h.session.is_connected());
}

#[test]
fn a_pubrec_or_pubrel_for_an_unknown_id_is_answered_with_0x92() {
    let mut h = Harness::v5();
    h.connect(1, false);
    h.reply(1, Packet::PubRec(ack(600, 0)));
    h.reply(1, Packet::PubRel(ack(601, 0)));
    assert_eq!(
        h.sent(1),
        vec![
            Packet::PubRel(ack(600, 0x92)),
            Packet::PubComp(ack(601, 0x92))
        ]
    );
    assert!(h.session.is_connected());

    let mut h = Harness::v311();
    h.connect(1, false);
    h.reply(1, Packet::PubRel(ack(601, 0)));
    assert_eq!(h.sent(1), vec![Packet::PubComp(ack(601, 0))]);
}

#[test]
fn too_many_unreleased_incoming_qos2_messages_disconnect_with_0x93() {
    let mut h = Harness::new(SessionConfig {
        receive_maximum: 2,
        ..config(ProtocolVersion::V5)
    });
    h.connect(1, false);
    h.events();
    for packet_id in 1..=2 {
        h.reply(
            1,
            message("chat/a", b"x", QoS::ExactlyOnce, Some(packet_id)),
        );
    }
    assert_eq!(messages(&h.events()).len(), 2);
    h.sent(1);
    h.reply(1, message("chat/a", b"x", QoS::ExactlyOnce, Some(3)));
    assert_protocol_error(
        &mut h,
        1,
        ProtocolError::ReceiveMaximumExceeded { maximum: 2 },
        0x93,
    );
}

#[test]
fn a_server_disconnect_is_reported_with_its_typed_reason() {
    let mut h = Harness::v5();
    h.connect(1, false);
    h.events();
    h.reply(
        1,
        Packet::Disconnect(Disconnect {
            reason: 0x8E,
            reason_string: Some("taken over".into()),
            ..Disconnect::default()
        }),
    );
    assert_eq!(
        link_downs(&h.events()),
        vec![(
            LinkId(1),
            LinkDownReason::ServerDisconnect {
                reason: DisconnectReason::SessionTakenOver,
                reason_string: Some("taken over".into()),
                server_reference: None,
            }
        )]
    );
    assert!(h.sent(1).is_empty(), "no DISCONNECT in answer to one");
}

/// The same server stream, fed whole, coalesced, or one byte at a time.
fn scripted_stream(h: &Harness) -> Vec<u8> {
    let mut stream = h.encode_for(1, &connack(false));
    stream.extend(h.encode_for(1, &suback(1, &[1])));
    stream.extend(h.encode_for(1, &message("chat/a", b"one", QoS::AtLeastOnce, Some(5))));
    stream.extend(h.encode_for(1, &message("chat/a", b"two", QoS::AtMostOnce, None)));
    stream.extend(h.encode_for(1, &Packet::PingResp));
    stream
}

#[test]
fn bytes_in_one_byte_chunks_or_coalesced_give_the_same_result() {
    let run = |chunk: usize| {
        let mut h = Harness::v5();
        h.subscribe("chat/#", QoS::AtLeastOnce);
        h.open(1);
        let stream = scripted_stream(&h);
        for piece in stream.chunks(chunk) {
            h.bytes(1, piece);
        }
        (h.events(), h.sent(1))
    };
    let whole = run(usize::MAX);
    assert_eq!(whole.0.len(), 4, "{:?}", whole.0); // Connected, Subscription, 2 messages
    assert_eq!(run(1), whole);
    assert_eq!(run(3), whole);
}
