//! MQTT 3.1.1 and 5.0 packets for a client: our packet model, its encoder and decoder, and a
//! streaming framer.
//!
//! # Model
//! - [`Packet`] and its structs ([`Connect`], [`ConnAck`], [`Publish`], ...) are our own types.
//!   Every MQTT 5 property is a typed field; under 3.1.1 the v5-only fields stay at their
//!   defaults. Reason codes are kept as the byte received; [`reason`] gives them typed meaning
//!   ([`ConnectReason`], [`SubscribeReason`], ...), mapping 3.1.1 return codes onto the same
//!   outcomes as their v5 counterparts.
//! - [`encode`] writes one packet for a link of a given [`ProtocolVersion`]. A client uses
//!   [`encode_client`], which refuses the packets only a server sends (and AUTH), so their
//!   writers stay out of its wasm: 0.4 KB brotli off the bare page and the app.
//! - [`Framer`] turns received bytes, in any chunking, into packets. It reads the fixed header
//!   itself, refuses a packet above the maximum size from its header alone (before buffering
//!   it), and is poisoned by the first error: the link must then be closed. A client's framer
//!   can instead skip an oversized PUBLISH ([`Framer::skip_oversized_publishes`],
//!   [`Frame::Oversized`]): its headers are decoded, its payload discarded as it streams in,
//!   and the caller acknowledges it, so a broker that ignores our limit cannot force a
//!   reconnect loop.
//!   A client's link uses [`Framer::client`], which does not parse the bodies of CONNECT,
//!   SUBSCRIBE and UNSUBSCRIBE (only a client sends them) nor AUTH (the client refuses them
//!   all anyway), so their readers stay out of the client's wasm: 1.9 KB brotli off the bare
//!   client page and the app.
//! - Errors are [`DecodeError`] and [`EncodeError`], carrying the offending value.
//!
//! ```
//! use mqtt_codec::{encode, Framer, Packet, ProtocolVersion, Publish, QoS};
//!
//! let publish = Packet::Publish(Box::new(Publish {
//!     topic: "chat/room1".into(),
//!     qos: QoS::AtLeastOnce,
//!     packet_id: Some(7),
//!     payload: br#"{"text":"hi"}"#.to_vec(),
//!     ..Publish::default()
//! }));
//! let mut wire = Vec::new();
//! encode(&publish, ProtocolVersion::V5, &mut wire)?;
//!
//! // The bytes may arrive split anywhere.
//! let mut framer = Framer::new(ProtocolVersion::V5, 256 * 1024);
//! let (a, b) = wire.split_at(3);
//! framer.push(a);
//! assert!(framer.next_packet().is_none());
//! framer.push(b);
//! assert_eq!(framer.next_packet(), Some(Ok(publish)));
//! # Ok::<(), mqtt_codec::EncodeError>(())
//! ```
//!
//! # Why the codec is ours
//! Until issue 15 the packet bodies went through `mqtt5-protocol` (0.16.2) behind an adapter of
//! 1.7 k lines. It is now written here, one file per packet type under [`packet`] (struct, read,
//! write), over three shared files: `varint.rs`, `strings.rs` (a borrowing reader and a writer
//! that counts, then writes) and `properties.rs`. Reasons:
//! - **Size.** The adapter and the crate behind it were the largest single part of the client
//!   stack's wasm (18.3 KB brotli with what only they pulled in); see "Measured" below.
//! - **Copies.** The crate copied every PUBLISH payload into a `Bytes` and the adapter copied it
//!   again into our `Vec<u8>`; encoding cloned the payload into the crate's packet before
//!   writing it. Our reader borrows the framer's buffer, so decoding copies a payload once (into
//!   [`Publish::payload`]) and encoding once (into the output).
//! - **Workarounds.** The adapter decoded CONNACK itself (the crate guessed the version from the
//!   body's shape and refused 3.1.1 codes above 5), read 3.1.1 acks and DISCONNECT around the
//!   crate's version-blind decoders, refused what the crate let through (bodies on PINGRESP,
//!   bytes after an ack's properties), and could not fix the order of properties (a hash map).
//!   Each of those is now simply how the code reads.
//!
//! Behaviour kept from the adapter, pinned by the byte-vector tests in [`codec`]: CONNACK keeps
//! its code as received and a 2-byte CONNACK is accepted on a v5 link (how a 3.1.1-only broker
//! refuses a v5 CONNECT); a 3.1.1 PUBACK/PUBREC/PUBREL/PUBCOMP longer than 2 bytes is read in the
//! MQTT 5 layout (the embedded `mqtt5` broker appends a reason code when it refuses); reason
//! codes a packet type does not define are malformed, except in CONNACK; properties a packet does
//! not define are skipped, unknown property ids and repeated single-valued properties are
//! malformed. Properties are written in one fixed order.
//!
//! ## Measured (issue 15, one commit with and without the change, `trunk build --release`)
//! | wasm | before (adapter) | after (ours) |
//! |---|---:|---:|
//! | bare client page (`bench/bare`), raw / brotli q11 | 314 163 / 112 662 B | 280 849 / 101 762 B |
//! | whole app (`dist/livechat_bg.wasm`), raw / brotli q11 | 516 005 / 176 683 B | 484 125 / 166 747 B |
//!
//! That is 10.9 KB brotli (33 KB raw) off the bare page and 9.9 KB brotli (32 KB raw) off the
//! app. `cargo bench -p mqtt-codec` on the same shared 2-core machine (medians, noisy): decoding
//! 1000 100-byte QoS 0 PUBLISH packets through the framer 407–464 µs before, 279–360 µs after;
//! encoding 100 chat-sized QoS 1 PUBLISH packets 30–37 µs before, 21–22 µs after.
//!
//! `mqtt5-protocol` stays as a **dev-dependency oracle**: differential property tests encode
//! with one and decode with the other, both ways and for both versions, and the fuzz target
//! decodes with both and compares.
//!
//! # Fuzzing
//! The `framer` fuzz target (`crates/fuzz-targets/src/framer.rs`, driven by libFuzzer from
//! `fuzz/`) feeds arbitrary bytes in arbitrary chunks to the [`Framer`]; `cargo test` replays its
//! corpus. A one-minute smoke run from the repository root (`fuzz/README.md`, `docs/fuzzing.md`):
//! ```text
//! scripts/fuzz.sh run framer -max_total_time=60
//! ```

pub mod codec;
pub mod error;
pub mod framer;
pub mod packet;
mod properties;
pub mod reason;
mod strings;
mod varint;

#[cfg(test)]
extern crate self as mqtt_codec;
#[cfg(test)]
mod differential;
#[cfg(test)]
mod oracle;
#[cfg(test)]
mod strategies;

pub use codec::{encode, encode_client};
pub use error::{DecodeError, EncodeError};
pub use framer::{decode, Frame, Framer, OversizedPublish};
pub use packet::{
    Auth, ConnAck, Connect, Disconnect, LastWill, Packet, ProtocolVersion, Publish, QoS,
    QosHandshake, RetainHandling, SubAck, Subscribe, SubscribeFilter, UnsubAck, Unsubscribe,
    UserProperty,
};
pub use reason::{
    AuthReason, ConnectReason, DisconnectReason, PubAckReason, PubCompReason, PubRecReason,
    PubRelReason, SubscribeReason, UnsubscribeReason,
};

// The README's examples are compiled with the doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
