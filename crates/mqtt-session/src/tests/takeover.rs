//! Make-before-break takeover (token rotation).

use std::collections::BTreeMap;

use mqtt_codec::packet::{ProtocolVersion, QoS};

use super::*;
use crate::{ConnectReason, LinkDownReason};

#[test]
fn a_takeover_connect_resumes_the_session() {
    for version in [ProtocolVersion::V5, ProtocolVersion::V311] {
        let mut h = Harness::new(config(version));
        h.connect(1, false);
        let connect = h.open(2);
        assert!(!connect.clean_start, "{version:?}");
        if version == ProtocolVersion::V5 {
            assert!(connect.session_expiry_interval.is_some_and(|s| s > 0));
        }
        assert_eq!(h.session.active_link(), Some(LinkId(1)));
        assert_eq!(h.session.connecting_link(), Some(LinkId(2)));
    }
}

#[test]
fn a_takeover_with_zero_session_expiry_still_announces_one() {
    let mut h = Harness::new(SessionConfig {
        session_expiry: 0,
        ..config(ProtocolVersion::V5)
    });
    assert_eq!(h.open(1).session_expiry_interval, None);
    h.reply(1, connack(false));
    assert!(h.open(2).session_expiry_interval.is_some_and(|s| s >= 1));
}

#[test]
fn takeover_moves_the_session_without_losing_or_duplicating_a_message() {
    let mut h = Harness::v5();
    h.connect(1, false);
    h.events();
    // A is in flight on the old link when the rotation starts.
    let a = h.publish("chat/a", b"A", QoS::AtLeastOnce);
    let a_pid = publishes(&h.sent(1))[0].packet_id.unwrap();
    h.open(2);
    // B is published while the new link awaits CONNACK: it still goes out on the old link.
    let b = h.publish("chat/a", b"B", QoS::AtLeastOnce);
    let b_pid = publishes(&h.sent(1))[0].packet_id.unwrap();
    assert!(h.sent(2).is_empty());
    // An incoming message on the old link before the switch is delivered and acked there.
    h.reply(1, message("chat/in", b"m1", QoS::AtLeastOnce, Some(100)));
    assert_eq!(h.sent(1), vec![puback(100)]);

    h.reply(2, connack(true));
    let events = h.events();
    let position = |wanted: &dyn Fn(&Event) -> bool| events.iter().position(wanted);
    let connected = position(&|e| {
        matches!(
            e,
            Event::Connected {
                link: LinkId(2),
                session_present: true,
                ..
            }
        )
    });
    let retired = position(&|e| *e == Event::LinkRetired { link: LinkId(1) });
    assert!(connected.is_some() && retired.is_some(), "{events:?}");
    assert_eq!(h.session.active_link(), Some(LinkId(2)));
    assert_eq!(h.session.connecting_link(), None);

    // Both are resent on the new link, in order, as DUP.
    let resent = publishes(&h.sent(2));
    assert_eq!(
        resent
            .iter()
            .map(|p| (p.packet_id.unwrap(), p.dup))
            .collect::<Vec<_>>(),
        vec![(a_pid, true), (b_pid, true)]
    );
    // The old link is ignored from now on, even a PUBACK that would have been valid.
    h.reply(1, puback(a_pid));
    h.reply(1, message("chat/in", b"stale", QoS::AtMostOnce, None));
    assert!(h.events().is_empty());
    assert!(h.sent(1).is_empty());
    // New commands go out on the new link.
    let c = h.publish("chat/a", b"C", QoS::AtLeastOnce);
    let c_pid = publishes(&h.sent(2))[0].packet_id.unwrap();
    // The server acks everything on the new link (A twice: the old ack raced the takeover).
    for pid in [a_pid, b_pid, c_pid, a_pid] {
        h.reply(2, puback(pid));
    }
    let events = h.events();
    let mut finals: BTreeMap<PublishId, usize> = BTreeMap::new();
    for event in &events {
        if let Event::Delivery {
            id,
            status: DeliveryStatus::Acknowledged,
        } = event
        {
            *finals.entry(*id).or_default() += 1;
        }
    }
    assert_eq!(finals, BTreeMap::from([(a, 1), (b, 1), (c, 1)]));
    // Closing the retired link later is quiet.
    h.close(1);
    assert!(h.events().is_empty());
}

#[test]
fn a_refused_takeover_keeps_the_old_link_active() {
    let mut h = Harness::v5();
    h.connect(1, false);
    h.events();
    h.open(2);
    h.reply(2, connack_with(|a| a.code = 0x86));
    let events = h.events();
    assert!(matches!(
        events.as_slice(),
        [Event::ConnectRefused {
            link: LinkId(2),
            reason: ConnectReason::BadUserNameOrPassword,
            ..
        }]
    ));
    assert_eq!(h.session.active_link(), Some(LinkId(1)));
    h.publish("chat/a", b"still here", QoS::AtLeastOnce);
    assert_eq!(publishes(&h.sent(1)).len(), 1);
}

#[test]
fn a_takeover_link_that_dies_is_reported_on_that_link_only() {
    let mut h = Harness::v5();
    h.connect(1, false);
    h.events();
    h.open(2);
    h.advance(10_000); // no CONNACK on link 2
    let downs = link_downs(&h.events());
    assert_eq!(downs, vec![(LinkId(2), LinkDownReason::ConnectTimeout)]);
    assert_eq!(h.session.active_link(), Some(LinkId(1)));
    h.open(3);
    h.close(3);
    assert_eq!(
        link_downs(&h.events()),
        vec![(LinkId(3), LinkDownReason::TransportClosed)]
    );
    assert!(h.session.is_connected());
}

#[test]
fn the_old_link_closing_first_leaves_the_new_one_to_finish_the_takeover() {
    let mut h = Harness::v5();
    h.connect(1, false);
    let a = h.publish("chat/a", b"A", QoS::AtLeastOnce);
    let a_pid = publishes(&h.sent(1))[0].packet_id.unwrap();
    h.open(2);
    h.close(1); // the broker kicked the old connection as it took the session over
    assert!(!h.session.is_connected());
    h.events();
    h.reply(2, connack(true));
    let events = h.events();
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, Event::LinkRetired { .. })),
        "{events:?}"
    );
    let resent = publishes(&h.sent(2));
    assert_eq!(resent.len(), 1);
    assert!(resent[0].dup);
    h.reply(2, puback(a_pid));
    assert_eq!(
        Harness::deliveries(&h.events(), a),
        vec![DeliveryStatus::Acknowledged]
    );
}

#[test]
fn a_second_connecting_link_supersedes_the_first() {
    let mut h = Harness::v5();
    h.open(1);
    h.open(2);
    assert_eq!(h.events(), vec![Event::LinkRetired { link: LinkId(1) }]);
    h.reply(1, connack(false));
    assert!(!h.session.is_connected());
    h.reply(2, connack(false));
    assert_eq!(h.session.active_link(), Some(LinkId(2)));
}
