//! Property tests: arbitrary bytes and arbitrary command sequences never panic the session,
//! and its bookkeeping stays consistent.

use core::time::Duration;

use mqtt_codec::packet::{Packet, ProtocolVersion, QoS};
use proptest::prelude::*;

use super::*;

/// One step of a random session life.
#[derive(Debug, Clone)]
enum Step {
    Open,
    Close(u8),
    /// Raw bytes on a link.
    Bytes(u8, Vec<u8>),
    /// A well-formed server packet on a link (reaches deeper states than random bytes).
    Server(u8, u8, u16),
    Advance(u32),
    Publish(u8, u8),
    Subscribe(u8),
    Unsubscribe(u8),
    Disconnect,
    SetProtocol(bool),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        Just(Step::Open),
        (0..4u8).prop_map(Step::Close),
        (0..4u8, proptest::collection::vec(any::<u8>(), 0..64))
            .prop_map(|(l, b)| Step::Bytes(l, b)),
        (0..4u8, 0..14u8, 0..8u16).prop_map(|(l, k, id)| Step::Server(l, k, id)),
        (0..40_000u32).prop_map(Step::Advance),
        (0..3u8, 0..4u8).prop_map(|(q, t)| Step::Publish(q, t)),
        (0..4u8).prop_map(Step::Subscribe),
        (0..4u8).prop_map(Step::Unsubscribe),
        Just(Step::Disconnect),
        any::<bool>().prop_map(Step::SetProtocol),
    ]
}

fn qos(n: u8) -> QoS {
    match n % 3 {
        0 => QoS::AtMostOnce,
        1 => QoS::AtLeastOnce,
        _ => QoS::ExactlyOnce,
    }
}

fn server_packet(kind: u8, id: u16) -> Packet {
    let id = id.max(1);
    match kind {
        0 => connack(false),
        1 => connack(true),
        2 => connack_with(|a| {
            a.receive_maximum = Some(1);
            a.topic_alias_maximum = Some(2);
        }),
        3 => connack_with(|a| a.code = 0x87),
        4 => puback(id),
        5 => Packet::PubRec(ack(id, 0)),
        6 => Packet::PubComp(ack(id, 0)),
        7 => Packet::PubRel(ack(id, 0)),
        8 => suback(id, &[1]),
        9 => unsuback(id, &[0]),
        10 => {
            let q = qos(id as u8);
            message("t/x", b"m", q, (q != QoS::AtMostOnce).then_some(id))
        }
        11 => Packet::PingResp,
        12 => Packet::Disconnect(Default::default()),
        _ => Packet::Auth(Default::default()),
    }
}

/// Runs `steps` against a fresh session, draining every output after each, like a driver.
fn run(steps: &[Step]) {
    let mut session = Session::new(config(ProtocolVersion::V5));
    let mut now = Instant::from_millis(0);
    let mut opened = 0u32;
    let link = |n: u8, opened: u32| LinkId(opened.saturating_sub(u32::from(n)));
    for step in steps {
        match step {
            Step::Open => {
                opened += 1;
                session.handle_link_opened(now, LinkId(opened), creds());
            }
            Step::Close(n) => session.handle_link_closed(now, link(*n, opened)),
            Step::Bytes(n, bytes) => session.handle_bytes(now, link(*n, opened), bytes),
            Step::Server(n, kind, id) => {
                let packet = server_packet(*kind, *id);
                let mut bytes = Vec::new();
                // Encoded for the session's current version; a mismatch is just more garbage.
                if mqtt_codec::encode(&packet, session.protocol(), &mut bytes).is_ok() {
                    session.handle_bytes(now, link(*n, opened), &bytes);
                }
            }
            Step::Advance(ms) => {
                now += Duration::from_millis(u64::from(*ms));
                session.handle_timeout(now);
            }
            Step::Publish(q, t) => {
                let msg = OutgoingPublish::new(format!("t/{t}"), vec![*t; 8], qos(*q));
                let _ = session.publish(now, msg);
            }
            Step::Subscribe(t) => {
                let _ = session.subscribe(subscription(format!("t/{t}"), qos(*t)));
            }
            Step::Unsubscribe(t) => {
                let _ = session.unsubscribe(&format!("t/{t}"));
            }
            Step::Disconnect => session.disconnect(now),
            Step::SetProtocol(v5) => session.set_protocol(if *v5 {
                ProtocolVersion::V5
            } else {
                ProtocolVersion::V311
            }),
        }
        while session.poll_transmit().is_some() {}
        while session.poll_event().is_some() {}
        if let Some(deadline) = session.poll_timeout() {
            // A deadline in the past would make a driver spin.
            assert!(
                deadline >= now || session.is_connected() || session.connecting_link().is_some()
            );
        }
        assert!(session.queued() <= 256);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic_a_connected_session(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..256), 0..8)) {
        let mut h = Harness::v5();
        h.connect(1, false);
        for chunk in &chunks {
            h.session.handle_bytes(h.now, LinkId(1), chunk);
            while h.session.poll_transmit().is_some() {}
            while h.session.poll_event().is_some() {}
        }
    }

    #[test]
    fn arbitrary_command_and_input_sequences_never_panic(steps in proptest::collection::vec(step(), 0..60)) {
        run(&steps);
    }
}
