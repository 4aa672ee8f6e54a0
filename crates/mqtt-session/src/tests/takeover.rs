//! Make-before-break takeover (token rotation).

use std::collections::BTreeMap;
use std::time::Duration;

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
    // A is in flight on the old link when the rotation starts: the new link's CONNECT waits
    // for its PUBACK (the server would drop the old connection, and maybe that PUBACK, on
    // seeing the CONNECT; A resent would reach every subscriber twice).
    let a = h.publish("chat/a", b"A", QoS::AtLeastOnce);
    let a_pid = publishes(&h.sent(1))[0].packet_id.unwrap();
    h.events();
    h.open_held(2);
    // B, published during the takeover, waits for the new link.
    let b = h.publish("chat/a", b"B", QoS::AtLeastOnce);
    assert!(h.sent(1).is_empty() && h.sent(2).is_empty());
    // An incoming message on the old link before the switch is delivered and acked there.
    h.reply(1, message("chat/in", b"m1", QoS::AtLeastOnce, Some(100)));
    assert_eq!(h.sent(1), vec![puback(100)]);
    assert!(h.sent(2).is_empty(), "still held: A is in flight");
    h.reply(1, puback(a_pid));
    assert_eq!(
        Harness::deliveries(&h.events(), a),
        vec![DeliveryStatus::Acknowledged]
    );
    assert!(matches!(h.sent(2).as_slice(), [Packet::Connect(_)]));
    assert!(h.sent(1).is_empty(), "B waits for the new link");

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

    // Only B goes out on the new link, as a new message: nothing is resent.
    let written = publishes(&h.sent(2));
    assert_eq!(
        written
            .iter()
            .map(|p| (p.payload.as_slice(), p.dup))
            .collect::<Vec<_>>(),
        vec![(&b"B"[..], false)]
    );
    let b_pid = written[0].packet_id.unwrap();
    // The old link is ignored from now on.
    h.reply(1, message("chat/in", b"stale", QoS::AtMostOnce, None));
    assert!(h.events().is_empty());
    assert!(h.sent(1).is_empty());
    // New commands go out on the new link.
    let c = h.publish("chat/a", b"C", QoS::AtLeastOnce);
    let c_pid = publishes(&h.sent(2))[0].packet_id.unwrap();
    for pid in [b_pid, c_pid] {
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
    assert_eq!(finals, BTreeMap::from([(b, 1), (c, 1)]));
    // Closing the retired link later is quiet.
    h.close(1);
    assert!(h.events().is_empty());
}

#[test]
fn a_takeover_whose_old_link_does_not_drain_connects_after_two_seconds() {
    let mut h = Harness::v5();
    h.connect(1, false);
    let a = h.publish("chat/a", b"A", QoS::AtLeastOnce);
    let a_pid = publishes(&h.sent(1))[0].packet_id.unwrap();
    let opened = h.now;
    h.open_held(2);
    assert_eq!(
        h.session.poll_timeout(),
        Some(opened + Duration::from_secs(2))
    );
    h.advance(1_999);
    assert!(h.sent(2).is_empty());
    h.advance(1);
    assert!(matches!(h.sent(2).as_slice(), [Packet::Connect(_)]));
    // The CONNACK deadline runs from the CONNECT, not from the link's opening.
    h.advance(9_999);
    assert!(link_downs(&h.events()).is_empty());
    assert_eq!(h.session.connecting_link(), Some(LinkId(2)));
    h.reply(2, connack(true));
    // A may have reached the server: resent as DUP (the old link's ack may be lost).
    let resent = publishes(&h.sent(2));
    assert_eq!(
        resent
            .iter()
            .map(|p| (p.packet_id.unwrap(), p.dup))
            .collect::<Vec<_>>(),
        vec![(a_pid, true)]
    );
    // Its PUBACK on the old link, late, is ignored; the one on the new link counts once.
    h.reply(1, puback(a_pid));
    h.reply(2, puback(a_pid));
    assert_eq!(
        Harness::deliveries(&h.events(), a),
        vec![DeliveryStatus::Acknowledged]
    );
}

#[test]
fn a_takeover_waits_for_a_subscription_request_in_flight() {
    let mut h = Harness::v5();
    h.connect(1, false);
    h.subscribe("chat/#", QoS::AtLeastOnce);
    let Some(Packet::Subscribe(sub)) = h.sent(1).into_iter().next() else {
        panic!("no SUBSCRIBE");
    };
    h.open_held(2);
    // A second filter asked for meanwhile waits for the new link.
    h.subscribe("news/#", QoS::AtMostOnce);
    assert!(h.sent(1).is_empty());
    h.reply(1, suback(sub.packet_id, &[1]));
    assert!(matches!(h.sent(2).as_slice(), [Packet::Connect(_)]));
    h.reply(2, connack(true));
    let Some(Packet::Subscribe(next)) = h.sent(2).into_iter().next() else {
        panic!("no SUBSCRIBE on the new link");
    };
    let filters: Vec<&str> = next.filters.iter().map(|f| f.filter.as_str()).collect();
    assert_eq!(
        filters,
        ["news/#"],
        "chat/# is granted and not asked for again"
    );
}

#[test]
fn ending_the_session_during_a_held_takeover_writes_nothing_on_the_new_link() {
    let mut h = Harness::v5();
    h.connect(1, false);
    h.publish("chat/a", b"A", QoS::AtLeastOnce);
    h.sent(1);
    h.open_held(2);
    h.session.disconnect(h.now);
    h.drain();
    assert_eq!(disconnects(&h.sent(1)), vec![0x00]);
    assert!(h.sent(2).is_empty(), "no DISCONNECT before a CONNECT");
    assert_eq!(
        link_downs(&h.events()),
        vec![
            (LinkId(1), LinkDownReason::ClientDisconnect),
            (LinkId(2), LinkDownReason::ClientDisconnect)
        ]
    );
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
    h.open_held(2);
    h.close(1); // the old connection died (say its token expired) while A was in flight
    assert!(!h.session.is_connected());
    assert!(
        matches!(h.sent(2).as_slice(), [Packet::Connect(_)]),
        "nothing left to wait for"
    );
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

#[test]
fn a_packet_on_a_takeover_link_before_its_connect_is_a_protocol_error() {
    let mut h = Harness::v5();
    h.connect(1, false);
    h.publish("chat/a", b"A", QoS::AtLeastOnce);
    h.sent(1);
    h.open_held(2);
    h.events();
    // No server speaks first: not even a CONNACK may take the held link over.
    h.reply(2, connack(true));
    assert_eq!(
        link_downs(&h.events()),
        vec![(
            LinkId(2),
            LinkDownReason::Protocol(crate::ProtocolError::BeforeConnect { packet: "CONNACK" })
        )]
    );
    assert!(
        h.sent(2).is_empty(),
        "nothing, not even DISCONNECT, before a CONNECT"
    );
    assert_eq!(h.session.active_link(), Some(LinkId(1)));
    assert_eq!(h.session.connecting_link(), None);
}
