//! Maximum Packet Size, both directions: what we announce, what we refuse to send, and how an
//! oversized incoming PUBLISH is skipped and acknowledged instead of looping the link.

use mqtt_codec::packet::{Packet, ProtocolVersion, Publish, QoS};

use super::*;
use crate::{CommandError, DropReason, DroppedMessage, LinkId};

fn small(protocol: ProtocolVersion, maximum: u32) -> Harness {
    Harness::new(SessionConfig {
        maximum_packet_size: maximum,
        ..config(protocol)
    })
}

fn dropped(events: &[Event]) -> Vec<DroppedMessage> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::MessageDropped(d) => Some(d.clone()),
            _ => None,
        })
        .collect()
}

/// Feeds `bytes` in chunks of `size`.
fn feed_in_chunks(h: &mut Harness, link: u32, bytes: &[u8], size: usize) {
    for chunk in bytes.chunks(size) {
        h.bytes(link, chunk);
    }
}

// ----- What we announce -------------------------------------------------------------------

#[test]
fn connect_announces_65536_by_default_under_mqtt5_and_nothing_under_311() {
    assert_eq!(SessionConfig::default().maximum_packet_size, 65_536);
    let mut h = Harness::v5();
    assert_eq!(h.open(1).maximum_packet_size, Some(65_536));
    let mut h = small(ProtocolVersion::V5, 4096);
    assert_eq!(h.open(1).maximum_packet_size, Some(4096));
    let mut h = Harness::v311();
    assert_eq!(h.open(1).maximum_packet_size, None);
}

// ----- Outgoing ---------------------------------------------------------------------------

#[test]
fn a_publish_above_our_own_limit_is_refused_offline_and_online_and_never_queued() {
    let mut h = small(ProtocolVersion::V5, 256);
    let refused = h.session.publish(
        h.now,
        OutgoingPublish::new("chat/a", vec![0u8; 300], QoS::AtLeastOnce),
    );
    let Err(error @ CommandError::ExceedsOwnLimit { maximum: 256, .. }) = refused else {
        panic!("{refused:?}");
    };
    assert!(
        error.to_string().starts_with("message too large: "),
        "{error}"
    );
    assert_eq!(h.session.queued(), 0);
    h.connect(1, false);
    let refused = h.session.publish(
        h.now,
        OutgoingPublish::new("chat/a", vec![0u8; 300], QoS::AtMostOnce),
    );
    assert!(matches!(
        refused,
        Err(CommandError::ExceedsOwnLimit { maximum: 256, .. })
    ));
    h.drain();
    assert!(h.sent(1).is_empty());
}

#[test]
fn the_smaller_of_our_limit_and_the_brokers_decides_and_the_error_says_so_in_words() {
    let mut h = small(ProtocolVersion::V5, 1024);
    h.open(1);
    h.reply(1, connack_with(|a| a.maximum_packet_size = Some(100)));
    let refused = h.session.publish(
        h.now,
        OutgoingPublish::new("chat/a", vec![0u8; 200], QoS::AtLeastOnce),
    );
    let Err(error) = refused else {
        panic!("accepted");
    };
    let size = match error {
        CommandError::PacketTooLarge { size, maximum: 100 } => size,
        ref other => panic!("{other:?}"),
    };
    assert_eq!(
        error.to_string(),
        format!("message too large: {size} bytes, the broker accepts at most 100")
    );
    h.drain();
    assert!(h.sent(1).is_empty());
    assert!(h.session.is_connected());
}

#[test]
fn queued_and_in_flight_publishes_above_a_new_lower_broker_limit_fail_and_never_loop() {
    let mut h = Harness::v5();
    h.connect(1, false);
    // Sent on a link without a broker limit, never acknowledged.
    let in_flight = h.publish("chat/a", &[1u8; 500], QoS::AtLeastOnce);
    assert_eq!(publishes(&h.sent(1)).len(), 1);
    h.close(1);
    // Queued while offline.
    let queued = h.publish("chat/a", &[2u8; 500], QoS::AtLeastOnce);
    let fits = h.publish("chat/a", b"ok", QoS::AtLeastOnce);
    h.events();

    // The next CONNACK announces a smaller limit (session resumed).
    h.open(2);
    h.reply(
        2,
        connack_with(|a| {
            a.session_present = true;
            a.maximum_packet_size = Some(200);
        }),
    );
    let sent = publishes(&h.sent(2));
    assert_eq!(sent.len(), 1, "only the one that fits goes out");
    assert_eq!(sent[0].payload, b"ok");
    let events = h.events();
    for id in [in_flight, queued] {
        let statuses = Harness::deliveries(&events, id);
        assert!(
            matches!(
                statuses.as_slice(),
                [DeliveryStatus::Dropped(DropReason::PacketTooLarge {
                    maximum: 200,
                    ..
                })]
            ),
            "{statuses:?}"
        );
        if let DeliveryStatus::Dropped(reason) = &statuses[0] {
            assert!(reason
                .to_string()
                .contains("the broker accepts at most 200"));
        }
    }
    assert_eq!(
        Harness::deliveries(&events, fits),
        vec![DeliveryStatus::Sent]
    );
    assert!(link_downs(&events).is_empty(), "{events:?}");
    assert!(h.session.is_connected());
    assert_eq!(h.session.in_flight(), 1);
    assert_eq!(h.session.queued(), 0);
}

// ----- Incoming ---------------------------------------------------------------------------

#[test]
fn an_oversized_qos1_publish_is_skipped_acknowledged_and_reported_in_both_versions() {
    for protocol in [ProtocolVersion::V5, ProtocolVersion::V311] {
        for chunk in [1, 7, 64, 10_000] {
            let mut h = small(protocol, 1024);
            h.connect(1, false);
            h.events();
            let big = h.encode_for(
                1,
                &message(
                    "chat/r/messages/bob",
                    &[b'x'; 5000],
                    QoS::AtLeastOnce,
                    Some(42),
                ),
            );
            let mut wire = big.clone();
            wire.extend(h.encode_for(
                1,
                &message("chat/r/messages/bob", b"small", QoS::AtLeastOnce, Some(43)),
            ));
            feed_in_chunks(&mut h, 1, &wire, chunk);

            let sent = h.sent(1);
            let acks: Vec<u16> = sent
                .iter()
                .filter_map(|p| match p {
                    Packet::PubAck(a) => Some(a.packet_id),
                    _ => None,
                })
                .collect();
            assert_eq!(acks, vec![42, 43], "{protocol:?}/{chunk}: {sent:?}");
            assert!(disconnects(&sent).is_empty());
            let events = h.events();
            assert!(link_downs(&events).is_empty(), "{events:?}");
            assert_eq!(
                dropped(&events),
                vec![DroppedMessage {
                    topic: "chat/r/messages/bob".into(),
                    size: big.len() as u64,
                    qos: QoS::AtLeastOnce,
                    maximum: 1024,
                }]
            );
            assert_eq!(
                messages(&events),
                vec![("chat/r/messages/bob".into(), b"small".to_vec())]
            );
            assert!(h.session.is_connected());
            assert_eq!(h.session.dropped_oversized(), 1);
        }
    }
}

#[test]
fn the_dropped_message_reads_in_words() {
    let dropped = DroppedMessage {
        topic: "chat/r/messages".into(),
        size: 70_000,
        qos: QoS::AtLeastOnce,
        maximum: 65_536,
    };
    assert_eq!(
        dropped.to_string(),
        "dropped oversized message on chat/r/messages (70000 bytes, the limit is 65536)"
    );
}

#[test]
fn an_oversized_qos2_publish_goes_through_pubrec_pubrel_pubcomp_and_is_reported_once() {
    for protocol in [ProtocolVersion::V5, ProtocolVersion::V311] {
        let mut h = small(protocol, 512);
        h.connect(1, false);
        h.events();
        let big = message("chat/a", &[b'x'; 2000], QoS::ExactlyOnce, Some(7));
        let wire = h.encode_for(1, &big);
        feed_in_chunks(&mut h, 1, &wire, 100);
        assert!(matches!(h.sent(1).as_slice(), [Packet::PubRec(a)] if a.packet_id == 7));
        // A redelivery (DUP) before PUBREL: PUBREC again, no second report.
        let Packet::Publish(mut again) = big else {
            unreachable!()
        };
        again.dup = true;
        let wire = h.encode_for(1, &Packet::Publish(again));
        h.bytes(1, &wire);
        assert!(matches!(h.sent(1).as_slice(), [Packet::PubRec(a)] if a.packet_id == 7));
        h.reply(1, Packet::PubRel(ack(7, 0)));
        assert!(
            matches!(h.sent(1).as_slice(), [Packet::PubComp(a)] if a.packet_id == 7 && a.reason == 0)
        );
        let events = h.events();
        assert_eq!(dropped(&events).len(), 1, "{protocol:?}: {events:?}");
        assert!(link_downs(&events).is_empty());
    }
}

#[test]
fn an_oversized_qos0_publish_is_only_reported() {
    let mut h = small(ProtocolVersion::V311, 300);
    h.connect(1, false);
    h.events();
    h.reply(1, message("chat/a", &[0u8; 400], QoS::AtMostOnce, None));
    assert!(h.sent(1).is_empty());
    let events = h.events();
    assert_eq!(dropped(&events).len(), 1);
    assert!(link_downs(&events).is_empty());
}

#[test]
fn an_oversized_publish_may_set_a_topic_alias_used_by_later_messages() {
    let mut h = small(ProtocolVersion::V5, 300);
    h.connect(1, false);
    h.events();
    let with_alias = Packet::Publish(Box::new(Publish {
        topic: "chat/aliased".into(),
        topic_alias: Some(2),
        payload: vec![0u8; 400],
        ..Publish::default()
    }));
    h.reply(1, with_alias);
    let by_alias = Packet::Publish(Box::new(Publish {
        topic: String::new(),
        topic_alias: Some(2),
        payload: b"hi".to_vec(),
        ..Publish::default()
    }));
    h.reply(1, by_alias);
    let events = h.events();
    assert_eq!(dropped(&events)[0].topic, "chat/aliased");
    assert_eq!(
        messages(&events),
        vec![("chat/aliased".into(), b"hi".to_vec())]
    );
    assert!(h.session.is_connected());
}

#[test]
fn an_oversized_publish_before_connack_is_a_protocol_error() {
    let mut h = small(ProtocolVersion::V5, 300);
    h.open(1);
    h.reply(1, message("chat/a", &[0u8; 400], QoS::AtLeastOnce, Some(1)));
    let downs = link_downs(&h.events());
    assert!(
        matches!(
            downs.as_slice(),
            [(LinkId(1), crate::LinkDownReason::Protocol(_))]
        ),
        "{downs:?}"
    );
}
