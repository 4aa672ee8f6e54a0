//! Feeds arbitrary bytes, in arbitrary chunks, to the streaming `Framer`, for either protocol
//! version and any maximum packet size. It must never panic; every packet it returns must
//! re-encode to bytes that decode to the same packet; it never returns more than was fed; and
//! the oracle (`mqtt5-protocol`, through `crates/mqtt-codec/src/oracle.rs`) decodes each packet's
//! bytes to the same packet, except where our codec differs on purpose (see
//! `crates/mqtt-codec/src/differential.rs`).
//!
//! Input layout: a control byte (bit 0: MQTT 5), two bytes of maximum packet size (big endian),
//! then chunks, each a length byte followed by up to that many bytes.

#![no_main]

#[path = "../../crates/mqtt-codec/src/oracle.rs"]
mod oracle;

use libfuzzer_sys::fuzz_target;
use mqtt_codec::{decode, encode, Framer, Packet, ProtocolVersion};

/// Our packet, re-encoded by us, must decode the same with the oracle; the oracle may refuse only
/// what we accept on purpose: CONNACK codes it does not know, and (its CONNECT decoder) a v5
/// password without a user name.
fn compare_with_oracle(packet: &Packet, version: ProtocolVersion) {
    let mut bytes = Vec::new();
    if encode(packet, version, &mut bytes).is_err() {
        return;
    }
    match oracle::decode(&bytes, version) {
        Ok(theirs) => assert_eq!(&theirs, packet, "{bytes:02X?}"),
        Err(e) => assert!(
            matches!(packet, Packet::ConnAck(_))
                || matches!(packet, Packet::Connect(c) if c.password.is_some() && c.username.is_none()),
            "the oracle refuses {bytes:02X?}: {e}"
        ),
    }
}

fuzz_target!(|data: &[u8]| {
    let [control, max_hi, max_lo, rest @ ..] = data else {
        return;
    };
    let mut rest = rest;
    let version = if control & 1 == 1 {
        ProtocolVersion::V5
    } else {
        ProtocolVersion::V311
    };
    let mut framer = Framer::new(version, u32::from(u16::from_be_bytes([*max_hi, *max_lo])));
    let mut fed = 0usize;
    let mut packets = 0usize;
    while let [len, tail @ ..] = rest {
        let (chunk, next) = tail.split_at(usize::from(*len).min(tail.len()));
        rest = next;
        framer.push(chunk);
        fed += chunk.len();
        while let Some(result) = framer.next_packet() {
            let Ok(packet) = result else { continue };
            packets += 1;
            let mut bytes = Vec::new();
            if encode(&packet, version, &mut bytes).is_ok() {
                assert_eq!(decode(&bytes, version).as_ref(), Ok(&packet), "{bytes:02X?}");
            }
            compare_with_oracle(&packet, version);
        }
        assert!(2 * packets <= fed, "every packet is at least 2 bytes");
        assert!(framer.buffered() <= fed);
    }
    // The whole input after the control bytes as one packet: where both decoders accept it,
    // they agree.
    let whole = &data[3..];
    if let (Ok(ours), Ok(theirs)) = (decode(whole, version), oracle::decode(whole, version)) {
        assert_eq!(ours, theirs, "{whole:02X?}");
    }
});
