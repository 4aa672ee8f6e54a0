//! Keep-alive: PINGREQ when idle, a dead link declared without sleeping.

use mqtt_codec::packet::{Packet, QoS};

use super::*;
use crate::LinkDownReason;

#[test]
fn an_idle_link_sends_pingreq_a_second_before_the_keep_alive_runs_out() {
    let mut h = Harness::v5();
    h.connect(1, false);
    h.advance(28_999);
    assert!(h.sent(1).is_empty());
    h.advance(1);
    assert_eq!(h.sent(1), vec![Packet::PingReq]);
    h.reply(1, Packet::PingResp);
    assert!(h
        .events()
        .iter()
        .all(|e| matches!(e, Event::Connected { .. })));
    // The next ping is a second short of a full interval after the last one.
    h.advance(28_999);
    assert!(h.sent(1).is_empty());
    h.advance(1);
    assert_eq!(h.sent(1), vec![Packet::PingReq]);
}

#[test]
fn missing_pingresp_declares_the_link_dead() {
    let mut h = Harness::v5();
    h.connect(1, false);
    h.events();
    h.sleep_until_deadline();
    assert_eq!(h.sent(1), vec![Packet::PingReq]);
    h.advance(14_999);
    assert!(h.events().is_empty());
    h.advance(1);
    assert_eq!(
        link_downs(&h.events()),
        vec![(LinkId(1), LinkDownReason::KeepAliveTimeout)]
    );
    assert!(!h.session.is_connected());
    assert!(
        h.sent(1).is_empty(),
        "nothing more is written on a dead link"
    );
}

#[test]
fn any_packet_after_pingreq_proves_the_link_alive() {
    let mut h = Harness::v5();
    h.connect(1, false);
    h.sleep_until_deadline();
    assert_eq!(h.sent(1), vec![Packet::PingReq]);
    h.advance(10_000);
    h.reply(1, message("chat/a", b"hi", QoS::AtMostOnce, None));
    h.advance(10_000);
    assert!(h.session.is_connected());
}

#[test]
fn sending_keeps_the_link_from_pinging_only_while_the_server_also_talks() {
    let mut h = Harness::v5();
    h.connect(1, false);
    // We publish every 10 s, the server never answers: the silence from the server still
    // triggers a PINGREQ after the keep-alive, and its absence kills the link.
    for _ in 0..2 {
        h.advance(10_000);
        h.publish("chat/a", b"x", QoS::AtMostOnce);
    }
    h.advance(10_000);
    let sent = h.sent(1);
    assert!(sent.contains(&Packet::PingReq), "{sent:?}");
    h.advance(15_000);
    assert!(!h.session.is_connected());
}

#[test]
fn server_keep_alive_replaces_ours() {
    let mut h = Harness::v5();
    h.open(1);
    h.reply(1, connack_with(|a| a.server_keep_alive = Some(5)));
    h.advance(3_999);
    assert!(h.sent(1).is_empty());
    h.advance(1);
    assert_eq!(h.sent(1), vec![Packet::PingReq]);
}

#[test]
fn server_keep_alive_zero_turns_pinging_off() {
    let mut h = Harness::v5();
    h.open(1);
    h.reply(1, connack_with(|a| a.server_keep_alive = Some(0)));
    assert_eq!(h.session.poll_timeout(), None);
}

#[test]
fn the_deadline_is_exposed_so_the_driver_sleeps_exactly_until_it() {
    let mut h = Harness::v5();
    h.open(1);
    assert_eq!(
        h.session.poll_timeout(),
        Some(h.now + Duration::from_secs(10))
    );
    h.reply(1, connack(false));
    assert_eq!(
        h.session.poll_timeout(),
        Some(h.now + Duration::from_secs(29))
    );
}

#[test]
fn a_probe_declares_a_silent_link_dead_within_its_window_not_the_keep_alive() {
    let mut h = Harness::v5();
    h.connect(1, false);
    h.events();
    h.advance(1_000);
    assert!(h
        .session
        .probe_link(h.now, std::time::Duration::from_millis(3_000)));
    h.drain();
    assert_eq!(h.sent(1), vec![Packet::PingReq]);
    // A second probe while the first is running sends nothing and keeps the earlier deadline.
    assert!(h
        .session
        .probe_link(h.now, std::time::Duration::from_millis(20_000)));
    h.drain();
    assert!(h.sent(1).is_empty());
    assert_eq!(
        h.session.poll_timeout(),
        Some(h.now + std::time::Duration::from_millis(3_000))
    );
    h.advance(2_999);
    assert!(h.events().is_empty());
    h.advance(1);
    assert_eq!(
        link_downs(&h.events()),
        vec![(LinkId(1), LinkDownReason::KeepAliveTimeout)]
    );
    // Nothing to probe without a link.
    assert!(!h
        .session
        .probe_link(h.now, std::time::Duration::from_millis(3_000)));
}

#[test]
fn a_probe_answered_leaves_the_link_alone_and_the_keep_alive_resumes() {
    let mut h = Harness::v5();
    h.connect(1, false);
    h.events();
    h.advance(5_000);
    h.session
        .probe_link(h.now, std::time::Duration::from_millis(3_000));
    h.drain();
    assert_eq!(h.sent(1), vec![Packet::PingReq]);
    h.advance(200);
    h.reply(1, Packet::PingResp);
    h.advance(10_000);
    assert!(h.session.is_connected());
    assert!(h.events().is_empty());
    // The next regular ping is a second short of a full interval after the last packet sent
    // (the probe's PINGREQ).
    h.advance(18_799);
    assert!(h.sent(1).is_empty());
    h.advance(1);
    assert_eq!(h.sent(1), vec![Packet::PingReq]);
}

/// A tab in the background runs its timers up to about a second late: the PINGREQs of an idle
/// link still leave within the keep-alive, each of them a second late, for 3 s and 30 s.
#[test]
fn pings_a_second_late_still_keep_within_the_keep_alive() {
    for keep_alive in [3_u64, 30] {
        let mut h = Harness::new(SessionConfig {
            keep_alive: Duration::from_secs(keep_alive),
            ..config(ProtocolVersion::V5)
        });
        h.connect(1, false);
        h.events();
        let mut last_sent = h.now;
        for _ in 0..5 {
            let due = h.session.poll_timeout().expect("a ping is due");
            // The throttled timer fires a second after the deadline.
            h.now = due + Duration::from_secs(1);
            h.session.handle_timeout(h.now);
            h.drain();
            assert_eq!(h.sent(1), vec![Packet::PingReq]);
            let gap = h.now.saturating_duration_since(last_sent);
            assert!(
                gap <= Duration::from_secs(keep_alive),
                "keep-alive {keep_alive} s: a PINGREQ {gap:?} after the last packet sent"
            );
            last_sent = h.now;
            h.reply(1, Packet::PingResp);
        }
        assert!(h.session.is_connected());
    }
}

/// Under 2 s the ping is due at half the keep-alive (a second before it would be no wait at all).
#[test]
fn a_short_keep_alive_pings_at_its_half() {
    let mut h = Harness::new(SessionConfig {
        keep_alive: Duration::from_secs(1),
        ..config(ProtocolVersion::V5)
    });
    h.connect(1, false);
    h.advance(499);
    assert!(h.sent(1).is_empty());
    h.advance(1);
    assert_eq!(h.sent(1), vec![Packet::PingReq]);
}
