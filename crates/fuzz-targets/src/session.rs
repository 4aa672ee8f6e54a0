//! The `session` target: drives an [`mqtt_session::Session`] with arbitrary inputs: links opened
//! and closed, raw bytes (in any chunking) on any link, time jumps and every command, draining
//! every output after each step like a driver.
//!
//! It must never panic, never keep a deadline without a link, never let its queue outgrow the
//! configured limit, and only ever write whole, well-formed packets.
//!
//! Input: six bytes of configuration (bit 0 of the first: MQTT 5; queue limit; receive maximum,
//! two bytes; maximum packet size, two bytes; topic alias maximum), then steps, each an
//! operation byte ([`Op`], modulo 9) and its operands.

use std::time::Duration;

use mqtt_codec::{Framer, ProtocolVersion as CodecVersion};
use mqtt_session::{
    subscription, ConnectCredentials, Instant, LinkId, OutgoingPublish, ProtocolVersion, QoS,
    Session, SessionConfig,
};

use crate::input::Input;

/// The operations, by their byte (modulo 9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Op {
    /// Open a new link. No operands.
    Open = 0,
    /// Close a link: one byte, which link counting back from the newest (modulo 4).
    Close = 1,
    /// Bytes on a link: which link (as for `Close`), a length byte (modulo 65), the bytes.
    Bytes = 2,
    /// Time passes: two bytes, tens of milliseconds; then the session's timeout runs.
    Wait = 3,
    /// Publish: topic byte (`t/0`..`t/7`), two bytes of payload length (modulo 301), the
    /// payload, a QoS byte (modulo 3), a retain byte (bit 0).
    Publish = 4,
    /// Subscribe: a filter byte (one of four filters), a QoS byte.
    Subscribe = 5,
    /// Unsubscribe: a filter byte.
    Unsubscribe = 6,
    /// The application disconnects. No operands.
    Disconnect = 7,
    /// Switch the protocol version: one byte (bit 0: MQTT 5).
    SetProtocol = 8,
}

/// The filters `Subscribe` and `Unsubscribe` pick from.
pub const FILTERS: [&str; 4] = ["t/a", "t/+", "t/#", "#"];

fn qos(n: u8) -> QoS {
    match n % 3 {
        0 => QoS::AtMostOnce,
        1 => QoS::AtLeastOnce,
        _ => QoS::ExactlyOnce,
    }
}

fn version(bit: u8) -> ProtocolVersion {
    if bit & 1 == 1 {
        ProtocolVersion::V5
    } else {
        ProtocolVersion::V311
    }
}

/// Runs one input. Running out of input just ends the run early.
pub fn run(data: &[u8]) {
    let _ = steps(&mut Input::new(data));
}

fn steps(u: &mut Input<'_>) -> Option<()> {
    let config = SessionConfig {
        protocol: version(u.byte()?),
        client_id: "fuzz".into(),
        queue_limit: usize::from(u.byte()?),
        receive_maximum: u.u16()?,
        maximum_packet_size: u32::from(u.u16()?),
        topic_alias_maximum: u16::from(u.byte()?),
        ..SessionConfig::default()
    };
    let limit = config.queue_limit;
    let mut session = Session::new(config);
    let mut now = Instant::from_millis(0);
    let mut opened = 0u32;
    // Steps name links relative to the newest one, so they hit live links often.
    let link = |back: u8, opened: u32| LinkId(opened.saturating_sub(u32::from(back % 4)));
    while !u.is_empty() {
        match u.byte()? % 9 {
            0 => {
                opened += 1;
                session.handle_link_opened(now, LinkId(opened), ConnectCredentials::default());
            }
            1 => session.handle_link_closed(now, link(u.byte()?, opened)),
            2 => {
                let back = u.byte()?;
                let len = usize::from(u.byte()? % 65);
                let bytes = u.bytes(len)?;
                session.handle_bytes(now, link(back, opened), bytes);
            }
            3 => {
                now += Duration::from_millis(u64::from(u.u16()?) * 10);
                session.handle_timeout(now);
            }
            4 => {
                let topic = format!("t/{}", u.byte()? % 8);
                let len = usize::from(u.u16()? % 301);
                let payload = u.bytes(len)?;
                let mut msg = OutgoingPublish::new(topic, payload, qos(u.byte()?));
                msg.retain = u.bool()?;
                let _ = session.publish(now, msg);
            }
            5 => {
                let filter = FILTERS[usize::from(u.byte()?) % FILTERS.len()];
                let _ = session.subscribe(subscription(filter, qos(u.byte()?)));
            }
            6 => {
                let filter = FILTERS[usize::from(u.byte()?) % FILTERS.len()];
                let _ = session.unsubscribe(filter);
            }
            7 => session.disconnect(now),
            _ => session.set_protocol(version(u.byte()?)),
        }
        while let Some(transmit) = session.poll_transmit() {
            assert!(
                whole_packets(&transmit.bytes, CodecVersion::V5)
                    || whole_packets(&transmit.bytes, CodecVersion::V311),
                "the session wrote bytes that are not whole packets: {:02X?}",
                transmit.bytes
            );
        }
        while session.poll_event().is_some() {}
        assert!(session.queued() <= limit.max(1));
        if session.active_link().is_none() && session.connecting_link().is_none() {
            assert_eq!(session.poll_timeout(), None, "no link, no deadline");
        }
    }
    Some(())
}

/// Whether `bytes` are one or more whole, well-formed packets of `version`.
fn whole_packets(bytes: &[u8], version: CodecVersion) -> bool {
    let mut framer = Framer::new(version, u32::MAX);
    framer.push(bytes);
    let mut packets = 0;
    while let Some(result) = framer.next_packet() {
        if result.is_err() {
            return false;
        }
        packets += 1;
    }
    packets > 0 && framer.buffered() == 0
}
