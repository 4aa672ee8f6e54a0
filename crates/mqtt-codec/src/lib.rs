//! MQTT 3.1.1 and 5.0 packets for a client: our packet model, the one adapter over the codec
//! crate, and a streaming framer.
//!
//! # Model
//! - [`Packet`] and its structs ([`Connect`], [`ConnAck`], [`Publish`], ...) are our own types.
//!   Every MQTT 5 property is a typed field; under 3.1.1 the v5-only fields stay at their
//!   defaults. Reason codes are kept as the byte received; [`reason`] gives them typed meaning
//!   ([`ConnectReason`], [`SubscribeReason`], ...), mapping 3.1.1 return codes onto the same
//!   outcomes as their v5 counterparts.
//! - [`encode`] writes one packet for a link of a given [`ProtocolVersion`].
//! - [`Framer`] turns received bytes, in any chunking, into packets. It reads the fixed header
//!   itself, refuses a packet above the maximum size from its header alone (before buffering
//!   it), and is poisoned by the first error: the link must then be closed. A client's framer
//!   can instead skip an oversized PUBLISH ([`Framer::skip_oversized_publishes`],
//!   [`Frame::Oversized`]): its headers are decoded, its payload discarded as it streams in,
//!   and the caller acknowledges it, so a broker that ignores our limit cannot force a
//!   reconnect loop.
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
//! # The codec crate and where we do not use it
//! Packet bodies are encoded and decoded by `mqtt5-protocol` (pinned `=0.16.2`,
//! `default-features = false`: no_std, builds for wasm32). Only `adapter.rs` names it. Where it
//! does not fit a client, the adapter does the work itself:
//! - **Framing.** The crate has no incremental decoder: a truncated packet gives the same
//!   `MalformedPacket` error as a bad one. The [`Framer`] parses the fixed header and the
//!   variable-length remaining length (at most 4 bytes) and calls the crate only with a
//!   complete body.
//! - **CONNACK.** The crate guesses the version from the body's shape and converts 3.1.1 return
//!   codes into v5 reason codes, refusing any other code. We decode CONNACK ourselves (two bytes,
//!   then the v5 properties through the crate's `Properties::decode`) and keep the code as
//!   received. A 2-byte CONNACK on a v5 link is accepted: that is how a 3.1.1-only broker refuses
//!   a v5 CONNECT (return code 1), and the client must read it to fall back. We also write the
//!   3.1.1 CONNACK ourselves (for tests).
//! - **Version-blind bodies.** `decode_from_body_with_version` passes the version only to
//!   PUBLISH, SUBSCRIBE, SUBACK, UNSUBSCRIBE and UNSUBACK. The acks and DISCONNECT are decoded
//!   v5-style whatever the version, so under 3.1.1 we require an ack body of exactly 2 bytes and
//!   an empty DISCONNECT (which `mqtt5` brokers send to 3.1.1 clients), and refuse AUTH (type 15
//!   is reserved in 3.1.1).
//! - **Empty bodies and trailing bytes.** The crate accepts PINGREQ/PINGRESP with a body and
//!   ignores bytes left after an ack's properties; we refuse both.
//! - **Property order.** The crate stores properties in a hash map, so the order in which several
//!   different properties are written is not fixed (the spec allows any order; values of one
//!   repeated property, like user properties, keep their order). Byte-exact tests therefore use at
//!   most one property kind per packet; the others compare decoded packets.
//! - **Unknown reason codes.** The crate refuses reason codes not defined for a packet type (a
//!   malformed packet per the spec), except in CONNACK, which we decode: an unknown CONNACK code
//!   becomes [`ConnectReason::Other`] and still reads as a refusal.
//!
//! # Fuzzing
//! `fuzz/fuzz_targets/framer.rs` feeds arbitrary bytes in arbitrary chunks to the [`Framer`]. It
//! needs nightly and `cargo install cargo-fuzz`; a one-minute smoke run from the repository root:
//! ```text
//! cd fuzz && cargo +nightly fuzz run framer -- -max_total_time=60
//! ```

pub mod adapter;
pub mod error;
pub mod framer;
pub mod packet;
pub mod reason;
#[cfg(test)]
mod strategies;

pub use adapter::encode;
pub use error::{DecodeError, EncodeError};
pub use framer::{decode, Frame, Framer, OversizedPublish};
pub use packet::{
    Auth, ConnAck, Connect, Disconnect, LastWill, Packet, ProtocolVersion, PubAckLike, Publish,
    QoS, RetainHandling, SubAck, Subscribe, SubscribeFilter, UnsubAck, Unsubscribe, UserProperty,
};
pub use reason::{
    AuthReason, ConnectReason, DisconnectReason, PubAckReason, PubCompReason, PubRecReason,
    PubRelReason, SubscribeReason, UnsubscribeReason,
};
