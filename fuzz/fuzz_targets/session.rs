//! Drives an `mqtt_session::Session` with arbitrary inputs: links opened and closed, raw bytes
//! (in any chunking) on any link, time jumps and every command, draining every output after
//! each step like a driver. It must never panic, never keep a deadline without a link, and never
//! let its queue outgrow the configured limit.

#![no_main]

use std::time::Duration;

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use mqtt_session::{
    subscription, ConnectCredentials, Instant, LinkId, OutgoingPublish, ProtocolVersion, QoS, Session,
    SessionConfig,
};

fn qos(n: u8) -> QoS {
    match n % 3 {
        0 => QoS::AtMostOnce,
        1 => QoS::AtLeastOnce,
        _ => QoS::ExactlyOnce,
    }
}

const FILTERS: [&str; 4] = ["t/a", "t/+", "t/#", "#"];

fuzz_target!(|data: &[u8]| {
    // Running out of input just ends the run early.
    let _ = run(&mut Unstructured::new(data));
});

fn run(u: &mut Unstructured<'_>) -> Result<()> {
    let config = SessionConfig {
        protocol: if u.arbitrary()? { ProtocolVersion::V5 } else { ProtocolVersion::V311 },
        client_id: "fuzz".into(),
        queue_limit: usize::from(u.arbitrary::<u8>()?),
        receive_maximum: u.arbitrary()?,
        maximum_packet_size: u32::from(u.arbitrary::<u16>()?),
        topic_alias_maximum: u16::from(u.arbitrary::<u8>()?),
        ..SessionConfig::default()
    };
    let limit = config.queue_limit;
    let mut session = Session::new(config);
    let mut now = Instant::from_millis(0);
    let mut opened = 0u32;
    // Steps name links relative to the newest one, so they hit live links often.
    let link = |back: u8, opened: u32| LinkId(opened.saturating_sub(u32::from(back % 4)));
    while !u.is_empty() {
        match u.int_in_range(0..=8u8)? {
            0 => {
                opened += 1;
                session.handle_link_opened(now, LinkId(opened), ConnectCredentials::default());
            }
            1 => session.handle_link_closed(now, link(u.arbitrary()?, opened)),
            2 => {
                let back = u.arbitrary()?;
                let len = u.int_in_range(0..=64usize)?;
                let bytes = u.bytes(len)?;
                session.handle_bytes(now, link(back, opened), bytes);
            }
            3 => {
                now += Duration::from_millis(u64::from(u.arbitrary::<u16>()?) * 10);
                session.handle_timeout(now);
            }
            4 => {
                let topic = format!("t/{}", u.arbitrary::<u8>()? % 8);
                let len = u.int_in_range(0..=300usize)?;
                let mut msg = OutgoingPublish::new(topic, u.bytes(len)?, qos(u.arbitrary()?));
                msg.retain = u.arbitrary()?;
                let _ = session.publish(now, msg);
            }
            5 => {
                let filter = FILTERS[usize::from(u.arbitrary::<u8>()?) % FILTERS.len()];
                let _ = session.subscribe(subscription(filter, qos(u.arbitrary()?)));
            }
            6 => {
                let filter = FILTERS[usize::from(u.arbitrary::<u8>()?) % FILTERS.len()];
                let _ = session.unsubscribe(filter);
            }
            7 => session.disconnect(now),
            _ => session.set_protocol(if u.arbitrary()? {
                ProtocolVersion::V5
            } else {
                ProtocolVersion::V311
            }),
        }
        while session.poll_transmit().is_some() {}
        while session.poll_event().is_some() {}
        assert!(session.queued() <= limit.max(1));
        if session.active_link().is_none() && session.connecting_link().is_none() {
            assert_eq!(session.poll_timeout(), None, "no link, no deadline");
        }
    }
    Ok(())
}
