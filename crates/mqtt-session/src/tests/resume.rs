//! Reconnects: resume with resend, or a fresh session with resubscribe.

use mqtt_codec::packet::{Packet, QoS, Subscribe};

use super::*;

fn subscribes(packets: &[Packet]) -> Vec<Subscribe> {
    packets
        .iter()
        .filter_map(|p| match p {
            Packet::Subscribe(s) => Some(s.clone()),
            _ => None,
        })
        .collect()
}

/// Connected on link 1 with `rooms/1` granted, one QoS 1 publish unacknowledged, and one QoS 2
/// publish past PUBREC; then link 1 drops. Returns (qos1 id, qos1 packet id, qos2 id, qos2
/// packet id).
fn drop_with_work_in_flight(h: &mut Harness) -> (PublishId, u16, PublishId, u16) {
    h.subscribe("rooms/1", QoS::AtLeastOnce);
    let sent = h.connect(1, false);
    h.reply(1, suback(subscribes(&sent)[0].packet_id, &[1]));
    let q2 = h.publish("chat/a", b"two", QoS::ExactlyOnce);
    let q1 = h.publish("chat/a", b"one", QoS::AtLeastOnce);
    let sent = publishes(&h.sent(1));
    let (q2_pid, q1_pid) = (sent[0].packet_id.unwrap(), sent[1].packet_id.unwrap());
    h.reply(1, Packet::PubRec(ack(q2_pid, 0)));
    assert_eq!(h.sent(1), vec![Packet::PubRel(ack(q2_pid, 0))]);
    h.close(1);
    h.events();
    (q1, q1_pid, q2, q2_pid)
}

#[test]
fn a_resumed_session_resends_unacked_publish_with_dup_and_pubrel_in_order() {
    let mut h = Harness::v5();
    let (q1, q1_pid, q2, q2_pid) = drop_with_work_in_flight(&mut h);
    // Offline work waits behind the resends.
    let later = h.publish("chat/a", b"later", QoS::AtLeastOnce);
    let sent = h.connect(2, true);
    // The PUBLISH first (sent order), then PUBREL (PUBREC order), then the new publish.
    assert_eq!(sent.len(), 3, "{sent:?}");
    let Packet::Publish(resent) = &sent[0] else {
        panic!("{sent:?}")
    };
    assert!(resent.dup);
    assert_eq!(resent.packet_id, Some(q1_pid));
    assert_eq!(resent.payload, b"one");
    assert_eq!(sent[1], Packet::PubRel(ack(q2_pid, 0)));
    let Packet::Publish(new) = &sent[2] else {
        panic!("{sent:?}")
    };
    assert!(!new.dup);
    assert_eq!(new.payload, b"later");
    assert!(
        subscribes(&sent).is_empty(),
        "the server still holds the subscription"
    );
    h.reply(2, puback(q1_pid));
    h.reply(2, Packet::PubComp(ack(q2_pid, 0)));
    let events = h.events();
    assert_eq!(
        Harness::deliveries(&events, q1),
        vec![DeliveryStatus::Acknowledged]
    );
    assert_eq!(
        Harness::deliveries(&events, q2),
        vec![DeliveryStatus::Acknowledged]
    );
    assert_eq!(
        Harness::deliveries(&events, later),
        vec![DeliveryStatus::Sent]
    );
}

#[test]
fn a_fresh_session_resubscribes_the_desired_set_exactly_once() {
    let mut h = Harness::v5();
    let (q1, q1_pid, q2, _) = drop_with_work_in_flight(&mut h);
    h.subscribe("rooms/2", QoS::AtMostOnce);
    let sent = h.connect(2, false);
    let subs = subscribes(&sent);
    assert_eq!(subs.len(), 1, "{sent:?}");
    let filters: Vec<&str> = subs[0].filters.iter().map(|f| f.filter.as_str()).collect();
    assert_eq!(filters, vec!["rooms/1", "rooms/2"]);
    // The unacknowledged QoS 1 publish goes again as a new publish; the QoS 2 one past
    // PUBREC counts as delivered.
    let resent = publishes(&sent);
    assert_eq!(resent.len(), 1);
    assert!(!resent[0].dup);
    assert_eq!(resent[0].packet_id, Some(q1_pid));
    assert!(!sent.iter().any(|p| matches!(p, Packet::PubRel(_))));
    let events = h.events();
    assert_eq!(
        Harness::deliveries(&events, q2),
        vec![DeliveryStatus::Acknowledged]
    );
    assert!(Harness::deliveries(&events, q1).is_empty());
    // Nothing else is subscribed later on this link.
    h.reply(2, suback(subs[0].packet_id, &[1, 0]));
    h.advance(1);
    assert!(subscribes(&h.sent(2)).is_empty());
}

#[test]
fn a_subscribe_in_flight_when_the_link_drops_is_sent_again_on_resume() {
    let mut h = Harness::v5();
    h.connect(1, false);
    h.subscribe("rooms/1", QoS::AtLeastOnce);
    assert_eq!(subscribes(&h.sent(1)).len(), 1);
    h.close(1);
    let sent = subscribes(&h.connect(2, true));
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].filters[0].filter, "rooms/1");
}

#[test]
fn an_unsubscribe_made_offline_is_sent_on_resume_and_moot_on_a_fresh_session() {
    let mut h = Harness::v5();
    h.subscribe("rooms/1", QoS::AtLeastOnce);
    let sent = h.connect(1, false);
    h.reply(1, suback(subscribes(&sent)[0].packet_id, &[1]));
    h.close(1);
    h.unsubscribe("rooms/1");
    let sent = h.connect(2, true);
    assert!(matches!(sent.as_slice(), [Packet::Unsubscribe(u)] if u.filters == ["rooms/1"]));

    let mut h = Harness::v5();
    h.connect(1, false);
    h.close(1);
    h.unsubscribe("rooms/1");
    h.events();
    let sent = h.connect(2, false);
    assert!(sent.is_empty(), "{sent:?}");
    let events = h.events();
    assert!(events.contains(&Event::Unsubscribed {
        filter: "rooms/1".into(),
        result: Ok(())
    }));
}

#[test]
fn incoming_qos2_state_survives_a_resume_so_nothing_is_delivered_twice() {
    let mut h = Harness::v5();
    h.connect(1, false);
    h.reply(1, message("chat/a", b"m", QoS::ExactlyOnce, Some(9)));
    assert_eq!(messages(&h.events()).len(), 1);
    h.close(1);
    h.connect(2, true);
    // The server did not see our PUBREC: it resends the PUBLISH with DUP.
    h.reply(2, message("chat/a", b"m", QoS::ExactlyOnce, Some(9)));
    assert!(messages(&h.events()).is_empty());
    assert_eq!(h.sent(2), vec![Packet::PubRec(ack(9, 0))]);
    h.reply(2, Packet::PubRel(ack(9, 0)));
    assert_eq!(h.sent(2), vec![Packet::PubComp(ack(9, 0))]);
}
