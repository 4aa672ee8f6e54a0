//! The `framer` target: arbitrary bytes, in arbitrary chunks, to the streaming [`Framer`], for
//! either protocol version, any maximum packet size, with or without skipping oversized
//! PUBLISH packets.
//!
//! It must never panic, and:
//! - every packet it returns re-encodes to bytes that decode to the same packet, and the oracle
//!   (`mqtt5-protocol`, through `crates/mqtt-codec/src/oracle.rs`) decodes those bytes to the
//!   same packet, except where our codec differs on purpose (see
//!   `crates/mqtt-codec/src/differential.rs`);
//! - it never returns more frames than the bytes fed allow (every packet is at least 2 bytes)
//!   and never buffers more than was fed;
//! - after an error it returns nothing more;
//! - a skipped PUBLISH is larger than the maximum and comes without its payload;
//! - the chunking changes nothing: the same bytes pushed at once give the same frames;
//! - where both decoders accept the input after the control bytes as one packet, they agree.
//!
//! Input: a control byte (bit 0: MQTT 5; bit 1: skip oversized PUBLISH packets), two bytes of
//! maximum packet size (big endian), then chunks, each a length byte followed by up to that
//! many bytes.

use mqtt_codec::{decode, encode, DecodeError, Frame, Framer, Packet, ProtocolVersion};

use crate::input::Input;
use crate::oracle;

/// The control byte's bits.
pub const V5: u8 = 1;
/// Skip oversized PUBLISH packets ([`Framer::skip_oversized_publishes`]).
pub const SKIP_OVERSIZED: u8 = 2;

/// Runs one input.
pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let (Some(control), Some(max)) = (input.byte(), input.u16()) else {
        return;
    };
    let version = if control & V5 != 0 {
        ProtocolVersion::V5
    } else {
        ProtocolVersion::V311
    };
    let skip = control & SKIP_OVERSIZED != 0;
    let max = u32::from(max);
    let new_framer = || {
        let framer = Framer::new(version, max);
        if skip {
            framer.skip_oversized_publishes()
        } else {
            framer
        }
    };
    let whole = &data[3..];

    let mut framer = new_framer();
    let mut fed = Vec::new();
    let mut frames = Vec::new();
    while !input.is_empty() {
        let Some(chunk) = input.chunk() else { break };
        framer.push(chunk);
        fed.extend_from_slice(chunk);
        drain(&mut framer, version, max, &mut frames);
        let taken = frames.iter().filter(|frame| frame.is_ok()).count();
        assert!(2 * taken <= fed.len(), "every frame is at least 2 bytes");
        assert!(framer.buffered() <= fed.len());
    }

    // The same bytes in one push give the same frames.
    let mut at_once = new_framer();
    at_once.push(&fed);
    let mut frames_at_once = Vec::new();
    drain(&mut at_once, version, max, &mut frames_at_once);
    assert_eq!(frames, frames_at_once, "the chunking changed the frames");

    // The whole input after the control bytes as one packet: where both decoders accept it,
    // they agree.
    if let (Ok(ours), Ok(theirs)) = (decode(whole, version), oracle::decode(whole, version)) {
        assert_eq!(ours, theirs, "{whole:02X?}");
    }
}

/// Takes every frame the framer has, checking each; an error ends the stream.
fn drain(
    framer: &mut Framer,
    version: ProtocolVersion,
    max: u32,
    frames: &mut Vec<Result<Frame, DecodeError>>,
) {
    while let Some(result) = framer.next_frame() {
        match &result {
            Ok(Frame::Packet(packet)) => check_packet(packet, version),
            Ok(Frame::Oversized(skipped)) => {
                assert!(
                    skipped.size > u64::from(max),
                    "skipped a packet within the maximum"
                );
                assert!(
                    skipped.publish.payload.is_empty(),
                    "a skipped PUBLISH kept its payload"
                );
            }
            Err(_) => {
                assert!(framer.is_poisoned(), "an error leaves the framer poisoned");
            }
        }
        let failed = result.is_err();
        frames.push(result);
        if failed {
            assert!(
                framer.next_frame().is_none(),
                "a poisoned framer returned a frame"
            );
            return;
        }
    }
}

/// Our packet, re-encoded by us, decodes back the same, and the same with the oracle; the oracle
/// may refuse only what we accept on purpose: CONNACK codes it does not know, and (its CONNECT
/// decoder) a v5 password without a user name.
///
/// One packet cannot come back the same: a 3.1.1 PUBACK/PUBREC/PUBREL/PUBCOMP longer than 2
/// bytes is read in the MQTT 5 layout (see `mqtt_codec`'s "Behaviour kept from the adapter"), and
/// 3.1.1 has no room for its reason code and properties. Its re-encoding must still be stable.
pub fn check_packet(packet: &Packet, version: ProtocolVersion) {
    let mut bytes = Vec::new();
    if encode(packet, version, &mut bytes).is_err() {
        return;
    }
    let again = decode(&bytes, version).unwrap_or_else(|e| panic!("{bytes:02X?}: {e}"));
    if !(version == ProtocolVersion::V311 && is_v311_ack_with_v5_fields(packet)) {
        assert_eq!(&again, packet, "{bytes:02X?}");
    }
    let mut bytes_again = Vec::new();
    encode(&again, version, &mut bytes_again).expect("a decoded packet encodes");
    assert_eq!(bytes, bytes_again, "re-encoding is not stable");
    match oracle::decode(&bytes, version) {
        Ok(theirs) => assert_eq!(theirs, again, "{bytes:02X?}"),
        Err(e) => assert!(
            matches!(again, Packet::ConnAck(_))
                || matches!(&again, Packet::Connect(c) if c.password.is_some() && c.username.is_none()),
            "the oracle refuses {bytes:02X?}: {e}"
        ),
    }
}

fn is_v311_ack_with_v5_fields(packet: &Packet) -> bool {
    match packet {
        Packet::PubAck(ack) | Packet::PubRec(ack) | Packet::PubRel(ack) | Packet::PubComp(ack) => {
            ack.reason != 0 || ack.reason_string.is_some() || !ack.user_properties.is_empty()
        }
        _ => false,
    }
}
