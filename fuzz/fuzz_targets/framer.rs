//! Feeds arbitrary bytes, in arbitrary chunks, to the streaming `Framer`, for either protocol
//! version and any maximum packet size. It must never panic; every packet it returns must
//! re-encode to bytes that decode to the same packet; and it never returns more than was fed.
//!
//! Input layout: a control byte (bit 0: MQTT 5), two bytes of maximum packet size (big endian),
//! then chunks, each a length byte followed by up to that many bytes.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mqtt_codec::{decode, encode, Framer, ProtocolVersion};

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
        }
        assert!(2 * packets <= fed, "every packet is at least 2 bytes");
        assert!(framer.buffered() <= fed);
    }
});
