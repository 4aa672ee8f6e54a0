//! The Will: carried in every CONNECT (first link, takeover, reconnect) with its v5 properties,
//! and published by the server on a graceful stop (v5 DISCONNECT 0x04) when one is set; over
//! 3.1.1, which has no such code, the session publishes the Will's message itself first.

use mqtt_codec::packet::{LastWill, Packet, ProtocolVersion, QoS};

use super::*;

/// A presence-style Will: empty retained payload, QoS 1, a Will Delay Interval.
fn will() -> LastWill {
    LastWill {
        topic: "chat/lobby/presence/alice/0123456789abcdef".into(),
        payload: Vec::new(),
        qos: QoS::AtLeastOnce,
        retain: true,
        delay_interval: Some(15),
        ..LastWill::default()
    }
}

fn with_will(protocol: ProtocolVersion) -> Harness {
    Harness::new(SessionConfig {
        will: Some(will()),
        ..config(protocol)
    })
}

fn disconnect_reason(h: &mut Harness, link: u32) -> (u8, Option<u32>) {
    h.session.disconnect(h.now);
    h.drain();
    match h.sent(link).as_slice() {
        [Packet::Disconnect(d)] => (d.reason, d.session_expiry_interval),
        other => panic!("expected one DISCONNECT, got {other:?}"),
    }
}

#[test]
fn every_connect_carries_the_will_with_its_delay_first_link_takeover_and_reconnect() {
    let mut h = with_will(ProtocolVersion::V5);
    assert_eq!(h.open(1).will, Some(will()));
    h.reply(1, connack(false));
    h.sent(1);
    // A make-before-break takeover: the new CONNECT carries the same Will, so the session's
    // Will stays armed with its delay (the server must not publish it for the takeover).
    assert_eq!(h.open(2).will, Some(will()));
    h.reply(2, connack(true));
    h.close(1);
    h.close(2);
    assert_eq!(h.open(3).will, Some(will()));
}

#[test]
fn the_will_round_trips_through_the_codec_with_retain_qos_and_delay() {
    let mut h = with_will(ProtocolVersion::V5);
    let connect = h.open(1);
    let w = connect.will.expect("a will");
    assert!(w.retain);
    assert_eq!(w.qos, QoS::AtLeastOnce);
    assert_eq!(w.delay_interval, Some(15));
    assert!(w.payload.is_empty());
}

#[test]
fn mqtt311_carries_the_will_without_v5_properties() {
    let mut h = with_will(ProtocolVersion::V311);
    let w = h.open(1).will.expect("a will");
    assert_eq!(w.topic, will().topic);
    assert!(w.retain);
    assert_eq!(w.delay_interval, None, "3.1.1 has no Will Delay Interval");
}

#[test]
fn a_graceful_stop_with_a_will_asks_the_server_to_publish_it_on_mqtt5() {
    let mut h = with_will(ProtocolVersion::V5);
    h.connect(1, false);
    assert_eq!(
        disconnect_reason(&mut h, 1),
        (0x04, Some(0)),
        "Disconnect with Will Message, session ended"
    );
}

#[test]
fn a_graceful_stop_without_a_will_stays_a_normal_disconnect() {
    let mut h = Harness::v5();
    h.connect(1, false);
    assert_eq!(disconnect_reason(&mut h, 1), (0x00, Some(0)));
}

#[test]
fn mqtt311_has_no_code_for_it_so_the_will_is_published_before_the_plain_disconnect() {
    let mut h = with_will(ProtocolVersion::V311);
    h.connect(1, false);
    h.session.disconnect(h.now);
    h.drain();
    match h.sent(1).as_slice() {
        [Packet::Publish(p), Packet::Disconnect(d)] => {
            assert_eq!(p.topic, will().topic);
            assert!(
                p.payload.is_empty() && p.retain,
                "the Will's message, retained"
            );
            assert_eq!(p.qos, QoS::AtMostOnce);
            assert_eq!((d.reason, d.session_expiry_interval), (0x00, None));
        }
        other => panic!("expected PUBLISH then DISCONNECT, got {other:?}"),
    }
}

#[test]
fn mqtt311_without_a_will_sends_only_the_disconnect() {
    let mut h = Harness::v311();
    h.connect(1, false);
    assert_eq!(disconnect_reason(&mut h, 1), (0x00, None));
}

#[test]
fn a_stop_while_rotating_asks_for_the_will_on_both_links() {
    let mut h = with_will(ProtocolVersion::V5);
    h.connect(1, false);
    h.open(2);
    h.session.disconnect(h.now);
    h.drain();
    for link in [1, 2] {
        assert!(
            matches!(h.sent(link).as_slice(), [Packet::Disconnect(d)] if d.reason == 0x04),
            "link {link}"
        );
    }
}

#[test]
fn set_will_changes_the_next_connect_only() {
    let mut h = Harness::v5();
    assert_eq!(h.open(1).will, None);
    h.session.set_will(Some(will()));
    assert_eq!(h.session.will(), Some(&will()));
    h.reply(1, connack(false));
    assert_eq!(
        h.open(2).will,
        Some(will()),
        "the takeover's CONNECT carries it"
    );
    h.session.set_will(None);
    h.reply(2, connack(true));
    h.close(1);
    h.close(2);
    assert_eq!(h.open(3).will, None);
}
