//! Outgoing and incoming QoS 0/1/2 flows, limits and the offline queue.

use mqtt_codec::packet::{Packet, ProtocolVersion, Publish, QoS};

use super::*;
use crate::{CommandError, DropReason, Refusal, RefusalReason};

#[test]
fn qos0_publish_is_written_and_reported_sent() {
    let mut h = Harness::v5();
    h.connect(1, false);
    h.events();
    let id = h.publish("chat/a", b"hello", QoS::AtMostOnce);
    let sent = publishes(&h.sent(1));
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].topic, "chat/a");
    assert_eq!(sent[0].packet_id, None);
    assert_eq!(
        Harness::deliveries(&h.events(), id),
        vec![DeliveryStatus::Sent]
    );
}

#[test]
fn qos1_publish_is_acknowledged_by_puback() {
    let mut h = Harness::v5();
    h.connect(1, false);
    h.events();
    let id = h.publish("chat/a", b"hello", QoS::AtLeastOnce);
    let sent = publishes(&h.sent(1));
    let packet_id = sent[0].packet_id.expect("QoS 1 has a packet id");
    assert_ne!(packet_id, 0);
    assert!(!sent[0].dup);
    assert_eq!(
        Harness::deliveries(&h.events(), id),
        vec![DeliveryStatus::Sent]
    );
    assert_eq!(h.session.in_flight(), 1);
    h.reply(1, puback(packet_id));
    assert_eq!(
        Harness::deliveries(&h.events(), id),
        vec![DeliveryStatus::Acknowledged]
    );
    assert_eq!(h.session.in_flight(), 0);
}

#[test]
fn qos2_publish_completes_through_pubrec_pubrel_pubcomp() {
    let mut h = Harness::v5();
    h.connect(1, false);
    h.events();
    let id = h.publish("chat/a", b"once", QoS::ExactlyOnce);
    let packet_id = publishes(&h.sent(1))[0].packet_id.unwrap();
    h.reply(1, Packet::PubRec(ack(packet_id, 0)));
    assert_eq!(h.sent(1), vec![Packet::PubRel(ack(packet_id, 0))]);
    assert_eq!(
        Harness::deliveries(&h.events(), id),
        vec![DeliveryStatus::Sent]
    );
    // A duplicate PUBREC is answered again, nothing else happens.
    h.reply(1, Packet::PubRec(ack(packet_id, 0)));
    assert_eq!(h.sent(1), vec![Packet::PubRel(ack(packet_id, 0))]);
    h.reply(1, Packet::PubComp(ack(packet_id, 0)));
    assert_eq!(
        Harness::deliveries(&h.events(), id),
        vec![DeliveryStatus::Acknowledged]
    );
    assert_eq!(h.session.in_flight(), 0);
}

#[test]
fn puback_0x87_refuses_the_publish_with_a_typed_reason() {
    let mut h = Harness::v5();
    h.connect(1, false);
    h.events();
    let id = h.publish("rooms/forbidden", b"x", QoS::AtLeastOnce);
    let packet_id = publishes(&h.sent(1))[0].packet_id.unwrap();
    let mut refusal = ack(packet_id, 0x87);
    refusal.reason_string = Some("not your room".into());
    h.reply(1, Packet::PubAck(refusal));
    assert_eq!(
        Harness::deliveries(&h.events(), id),
        vec![
            DeliveryStatus::Sent,
            DeliveryStatus::Refused(Refusal {
                reason: RefusalReason::Publish(crate::PubAckReason::NotAuthorized),
                code: 0x87,
                reason_string: Some("not your room".into()),
            })
        ]
    );
}

#[test]
fn pubrec_refusal_ends_a_qos2_publish_without_pubrel() {
    let mut h = Harness::v5();
    h.connect(1, false);
    h.events();
    let id = h.publish("chat/a", b"x", QoS::ExactlyOnce);
    let packet_id = publishes(&h.sent(1))[0].packet_id.unwrap();
    h.reply(1, Packet::PubRec(ack(packet_id, 0x97)));
    assert!(h.sent(1).is_empty());
    assert!(matches!(
        Harness::deliveries(&h.events(), id).as_slice(),
        [
            DeliveryStatus::Sent,
            DeliveryStatus::Refused(Refusal { code: 0x97, .. })
        ]
    ));
}

#[test]
fn incoming_qos1_is_delivered_and_acknowledged() {
    let mut h = Harness::v5();
    h.connect(1, false);
    h.events();
    h.reply(1, message("chat/a", b"m1", QoS::AtLeastOnce, Some(42)));
    assert_eq!(
        messages(&h.events()),
        vec![("chat/a".to_owned(), b"m1".to_vec())]
    );
    assert_eq!(h.sent(1), vec![puback(42)]);
}

#[test]
fn incoming_qos2_is_delivered_exactly_once_and_completed() {
    let mut h = Harness::v5();
    h.connect(1, false);
    h.events();
    h.reply(1, message("chat/a", b"m2", QoS::ExactlyOnce, Some(7)));
    assert_eq!(messages(&h.events()).len(), 1);
    assert_eq!(h.sent(1), vec![Packet::PubRec(ack(7, 0))]);
    // The server resends before PUBREL (DUP): acknowledged again, not delivered again.
    let mut dup = message("chat/a", b"m2", QoS::ExactlyOnce, Some(7));
    if let Packet::Publish(p) = &mut dup {
        p.dup = true;
    }
    h.reply(1, dup);
    assert!(messages(&h.events()).is_empty());
    assert_eq!(h.sent(1), vec![Packet::PubRec(ack(7, 0))]);
    h.reply(1, Packet::PubRel(ack(7, 0)));
    assert_eq!(h.sent(1), vec![Packet::PubComp(ack(7, 0))]);
    // After PUBCOMP the id is free again: a new message with it is a new message.
    h.reply(1, message("chat/a", b"m3", QoS::ExactlyOnce, Some(7)));
    assert_eq!(
        messages(&h.events()),
        vec![("chat/a".to_owned(), b"m3".to_vec())]
    );
}

#[test]
fn publishes_made_offline_are_queued_and_sent_in_order_once_connected() {
    let mut h = Harness::v5();
    let a = h.publish("chat/a", b"1", QoS::AtLeastOnce);
    let b = h.publish("chat/a", b"2", QoS::AtMostOnce);
    let c = h.publish("chat/a", b"3", QoS::ExactlyOnce);
    assert_eq!(h.session.queued(), 3);
    assert!(h.events().is_empty());
    let sent = publishes(&h.connect(1, false));
    let payloads: Vec<&[u8]> = sent.iter().map(|p| p.payload.as_slice()).collect();
    assert_eq!(payloads, vec![&b"1"[..], b"2", b"3"]);
    let events = h.events();
    for id in [a, b, c] {
        assert_eq!(Harness::deliveries(&events, id), vec![DeliveryStatus::Sent]);
    }
}

#[test]
fn offline_queue_overflow_is_an_explicit_error_and_nothing_is_lost() {
    let mut h = Harness::new(SessionConfig {
        queue_limit: 3,
        ..config(ProtocolVersion::V5)
    });
    let ids: Vec<_> = (0..3u8)
        .map(|n| h.publish("chat/a", &[n], QoS::AtLeastOnce))
        .collect();
    let overflow = h.session.publish(
        h.now,
        OutgoingPublish::new("chat/a", b"4".to_vec(), QoS::AtLeastOnce),
    );
    assert_eq!(overflow, Err(CommandError::QueueFull { limit: 3 }));
    assert_eq!(
        h.session
            .subscribe(subscription("chat/#", QoS::AtLeastOnce)),
        Err(CommandError::QueueFull { limit: 3 })
    );
    let sent = publishes(&h.connect(1, false));
    assert_eq!(sent.len(), 3);
    let events = h.events();
    for id in ids {
        assert_eq!(Harness::deliveries(&events, id), vec![DeliveryStatus::Sent]);
    }
    // Room again once written.
    assert!(h
        .session
        .subscribe(subscription("chat/#", QoS::AtLeastOnce))
        .is_ok());
}

#[test]
fn receive_maximum_caps_publishes_in_flight_and_the_rest_wait_in_order() {
    let mut h = Harness::v5();
    h.open(1);
    h.reply(1, connack_with(|a| a.receive_maximum = Some(2)));
    let ids: Vec<_> = (0..4u8)
        .map(|n| h.publish("chat/a", &[n], QoS::AtLeastOnce))
        .collect();
    let first = publishes(&h.sent(1));
    assert_eq!(
        first.iter().map(|p| p.payload[0]).collect::<Vec<_>>(),
        vec![0, 1]
    );
    assert_eq!(h.session.queued(), 2);
    // A QoS 0 message behind them waits too: order is kept.
    h.publish("chat/a", &[9], QoS::AtMostOnce);
    assert!(h.sent(1).is_empty());
    h.reply(1, puback(first[0].packet_id.unwrap()));
    let next = publishes(&h.sent(1));
    assert_eq!(
        next.iter().map(|p| p.payload[0]).collect::<Vec<_>>(),
        vec![2]
    );
    h.reply(1, puback(first[1].packet_id.unwrap()));
    let rest = publishes(&h.sent(1));
    assert_eq!(
        rest.iter().map(|p| p.payload[0]).collect::<Vec<_>>(),
        vec![3, 9]
    );
    assert_eq!(h.session.in_flight(), 2);
    let events = h.events();
    assert_eq!(
        Harness::deliveries(&events, ids[0]),
        vec![DeliveryStatus::Sent, DeliveryStatus::Acknowledged]
    );
}

#[test]
fn packet_ids_wrap_around_without_reusing_one_in_flight() {
    let mut h = Harness::v5();
    h.connect(1, false);
    // Id 1 stays in flight for the whole test.
    h.publish("chat/a", b"held", QoS::AtLeastOnce);
    let held = publishes(&h.sent(1))[0].packet_id.unwrap();
    let mut seen_two = 0;
    for _ in 0..u32::from(u16::MAX) + 2 {
        h.publish("chat/a", b"", QoS::AtLeastOnce);
        let packet_id = publishes(&h.sent(1))[0].packet_id.unwrap();
        assert_ne!(packet_id, 0);
        assert_ne!(packet_id, held, "an id in flight was reused");
        seen_two += u32::from(packet_id == 2);
        h.reply(1, puback(packet_id));
    }
    assert_eq!(seen_two, 2, "the ids wrapped around");
    h.events();
}

#[test]
fn a_publish_too_large_for_the_server_is_refused_up_front() {
    let mut h = Harness::v5();
    h.open(1);
    h.reply(1, connack_with(|a| a.maximum_packet_size = Some(64)));
    let result = h.session.publish(
        h.now,
        OutgoingPublish::new("chat/a", vec![0u8; 100], QoS::AtLeastOnce),
    );
    assert!(
        matches!(
            result,
            Err(CommandError::PacketTooLarge { maximum: 64, .. })
        ),
        "{result:?}"
    );
    h.drain();
    assert!(h.sent(1).is_empty());
    assert_eq!(h.session.in_flight(), 0);
}

#[test]
fn a_queued_publish_too_large_for_the_server_is_dropped_with_the_reason() {
    let mut h = Harness::v5();
    let big = h.publish("chat/a", &[0u8; 100], QoS::AtLeastOnce);
    let small = h.publish("chat/a", b"ok", QoS::AtLeastOnce);
    h.open(1);
    h.reply(1, connack_with(|a| a.maximum_packet_size = Some(64)));
    let sent = publishes(&h.sent(1));
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].payload, b"ok");
    let events = h.events();
    assert!(matches!(
        Harness::deliveries(&events, big).as_slice(),
        [DeliveryStatus::Dropped(DropReason::PacketTooLarge {
            maximum: 64,
            ..
        })]
    ));
    assert_eq!(
        Harness::deliveries(&events, small),
        vec![DeliveryStatus::Sent]
    );
}

#[test]
fn a_publish_above_the_server_maximum_qos_or_retain_is_refused_up_front() {
    let mut h = Harness::v5();
    h.open(1);
    h.reply(
        1,
        connack_with(|a| {
            a.maximum_qos = Some(QoS::AtLeastOnce);
            a.retain_available = Some(false);
        }),
    );
    let qos2 = h.session.publish(
        h.now,
        OutgoingPublish::new("chat/a", b"x".to_vec(), QoS::ExactlyOnce),
    );
    assert_eq!(
        qos2,
        Err(CommandError::QosNotSupported {
            requested: QoS::ExactlyOnce,
            maximum: QoS::AtLeastOnce
        })
    );
    let mut retained = OutgoingPublish::new("chat/a", b"x".to_vec(), QoS::AtMostOnce);
    retained.retain = true;
    assert_eq!(
        h.session.publish(h.now, retained),
        Err(CommandError::RetainNotSupported)
    );
}

#[test]
fn invalid_topics_are_refused_before_queueing() {
    let mut h = Harness::v5();
    let result = h.session.publish(
        h.now,
        OutgoingPublish::new("chat/#", b"x".to_vec(), QoS::AtMostOnce),
    );
    assert!(matches!(result, Err(CommandError::InvalidTopic { .. })));
    assert_eq!(h.session.queued(), 0);
}

#[test]
fn publish_properties_reach_the_wire_under_mqtt5() {
    let mut h = Harness::v5();
    h.connect(1, false);
    let mut msg = OutgoingPublish::new("chat/a", b"{}".to_vec(), QoS::AtLeastOnce);
    msg.properties.content_type = Some("application/json".into());
    msg.properties.user_properties = vec![("msg-id".into(), "abc".into())];
    h.session.publish(h.now, msg).unwrap();
    h.drain();
    let sent: Vec<Publish> = publishes(&h.sent(1));
    assert_eq!(sent[0].content_type.as_deref(), Some("application/json"));
    assert_eq!(
        sent[0].user_properties,
        vec![("msg-id".to_owned(), "abc".to_owned())]
    );
}

#[test]
fn incoming_publishes_and_their_dup_flags_are_counted_before_any_dedupe() {
    let mut h = Harness::v5();
    assert_eq!(
        h.session.received_publishes(),
        crate::PublishCounts::default()
    );
    h.connect(1, false);
    h.events();
    h.reply(1, message("chat/a", b"one", QoS::AtLeastOnce, Some(7)));
    // The server did not see our PUBACK and sends the same message again, DUP set: the session
    // delivers it again (QoS 1 is at least once) and counts it as a redelivery.
    let Packet::Publish(mut again) = message("chat/a", b"one", QoS::AtLeastOnce, Some(7)) else {
        unreachable!("message() builds a PUBLISH")
    };
    again.dup = true;
    h.reply(1, Packet::Publish(again));
    h.reply(1, message("chat/a", b"zero", QoS::AtMostOnce, None));
    assert_eq!(messages(&h.events()).len(), 3);
    assert_eq!(
        h.session.received_publishes(),
        crate::PublishCounts {
            publishes: 3,
            dup: 1
        }
    );
    // The counts are the session's, across links.
    h.close(1);
    h.events();
    h.connect(2, true);
    let Packet::Publish(mut redelivered) = message("chat/a", b"two", QoS::AtLeastOnce, Some(8))
    else {
        unreachable!("message() builds a PUBLISH")
    };
    redelivered.dup = true;
    h.reply(2, Packet::Publish(redelivered));
    assert_eq!(
        h.session.received_publishes(),
        crate::PublishCounts {
            publishes: 4,
            dup: 2
        }
    );
}
