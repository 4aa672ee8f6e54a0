//! Streaming framer: bytes in any chunking in, complete packets out.
//!
//! The framer reads the fixed header and the remaining length, waits for the whole packet (or
//! skips an oversized PUBLISH), and hands each complete body to [`crate::codec`], which borrows
//! it from the framer's buffer.

use crate::codec;
use crate::error::DecodeError;
use crate::packet::{Packet, ProtocolVersion, Publish};
use crate::varint;

/// Once this many consumed bytes sit at the front of the buffer (and they are at least half of
/// it), they are dropped. Keeps memory bounded without copying the tail on every packet.
const COMPACT_THRESHOLD: usize = 8 * 1024;

/// The most the framer allocates ahead for a packet that is still arriving.
const MAX_RESERVE: usize = 64 * 1024;

/// Reassembles MQTT packets from a byte stream.
///
/// ```
/// use mqtt_codec::{Framer, Packet, ProtocolVersion};
///
/// let mut framer = Framer::new(ProtocolVersion::V311, 64 * 1024);
/// framer.push(&[0xD0]); // half a PINGRESP
/// assert!(framer.next_packet().is_none());
/// framer.push(&[0x00, 0xD0, 0x00]); // its end, and a whole second one
/// assert_eq!(framer.next_packet(), Some(Ok(Packet::PingResp)));
/// assert_eq!(framer.next_packet(), Some(Ok(Packet::PingResp)));
/// assert_eq!(framer.next_packet(), None);
/// ```
///
/// After an error the framer is poisoned: it drops its buffer, ignores further input and
/// `next_packet` returns `None`. The link must be closed.
///
/// # Oversized PUBLISH
/// By default a packet above the maximum is an error. With
/// [`Framer::skip_oversized_publishes`], a PUBLISH above the maximum is skipped instead:
/// [`Framer::next_frame`] returns [`Frame::Oversized`] with its headers (topic, QoS, packet
/// id, properties; empty payload) as soon as they have arrived, and the rest of its bytes are
/// discarded as they stream in, never buffered whole. The stream then goes on with the next
/// packet, so the caller can acknowledge the skipped message instead of dropping the link.
#[derive(Debug, Clone)]
pub struct Framer {
    version: ProtocolVersion,
    max_packet_size: u32,
    buf: Vec<u8>,
    /// Start of the first unconsumed byte in `buf`.
    pos: usize,
    poisoned: bool,
    /// Skip oversized PUBLISH packets instead of failing.
    skip_oversized: bool,
    /// Bytes of a skipped packet still to arrive (and be discarded).
    skip: u64,
    /// The body decoder: the full one, or the client's ([`Framer::client`]).
    decode: codec::DecodeBody,
}

/// One unit of a byte stream, from [`Framer::next_frame`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A complete packet.
    Packet(Packet),
    /// A PUBLISH above the maximum packet size, skipped (only with
    /// [`Framer::skip_oversized_publishes`]).
    Oversized(OversizedPublish),
}

/// The headers of a PUBLISH that was too large to take in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OversizedPublish {
    /// The PUBLISH with its topic, flags, packet id and v5 properties, and an **empty
    /// payload** (the payload was discarded).
    pub publish: Publish,
    /// Its total size on the wire, fixed header included.
    pub size: u64,
}

/// A parsed fixed header.
#[derive(Debug, Clone, Copy)]
struct Header {
    first_byte: u8,
    /// Length of the fixed header: 1 + length of the remaining-length field.
    len: usize,
    remaining: u32,
}

impl Header {
    fn total(&self) -> u64 {
        self.len as u64 + u64::from(self.remaining)
    }
}

/// Parses a fixed header at the start of `bytes`: `Ok(None)` while it is incomplete.
fn parse_header(bytes: &[u8]) -> Result<Option<Header>, DecodeError> {
    let Some((&first_byte, rest)) = bytes.split_first() else {
        return Ok(None);
    };
    let mut remaining = 0u32;
    for (i, &b) in rest.iter().take(4).enumerate() {
        remaining |= u32::from(b & 0x7F) << (7 * i);
        if b & 0x80 == 0 {
            return Ok(Some(Header {
                first_byte,
                len: 2 + i,
                remaining,
            }));
        }
        if i == 3 {
            return Err(DecodeError::InvalidRemainingLength { fourth_byte: b });
        }
    }
    Ok(None)
}

/// Refuses packet types that are reserved, or unknown to `version`, from the first byte alone.
fn check_type(first_byte: u8, version: ProtocolVersion) -> Result<(), DecodeError> {
    match first_byte >> 4 {
        0 => Err(DecodeError::UnexpectedPacketType(0)),
        15 if version == ProtocolVersion::V311 => Err(DecodeError::UnexpectedPacketType(15)),
        _ => Ok(()),
    }
}

impl Framer {
    /// A framer for a link speaking `version` that refuses packets larger than
    /// `max_packet_size` bytes (fixed header included, as MQTT 5's Maximum Packet Size counts).
    #[must_use]
    pub fn new(version: ProtocolVersion, max_packet_size: u32) -> Self {
        Self::with_decoder(version, max_packet_size, codec::decode_body)
    }

    /// A framer for a client's link: as [`Framer::new`], except that CONNECT, SUBSCRIBE and
    /// UNSUBSCRIBE, which only a client sends, and AUTH (refused by a client that never sends
    /// an Authentication Method) are not parsed. Once their fixed header is
    /// checked they come out as that packet with default fields (the body is ignored), for the
    /// client to refuse as a protocol error; a client's build then does not link their readers.
    #[must_use]
    pub fn client(version: ProtocolVersion, max_packet_size: u32) -> Self {
        Self::with_decoder(version, max_packet_size, codec::decode_client_body)
    }

    fn with_decoder(
        version: ProtocolVersion,
        max_packet_size: u32,
        decode: codec::DecodeBody,
    ) -> Self {
        Self {
            version,
            max_packet_size,
            buf: Vec::new(),
            pos: 0,
            poisoned: false,
            skip_oversized: false,
            skip: 0,
            decode,
        }
    }

    /// From now on, a PUBLISH above the maximum is skipped and reported as
    /// [`Frame::Oversized`] by [`Framer::next_frame`] instead of being an error (other packet
    /// types above the maximum still are). See the type docs.
    #[must_use]
    pub fn skip_oversized_publishes(mut self) -> Self {
        self.skip_oversized = true;
        self
    }

    /// Changes the version used to decode the packets still to come (3.1.1 fallback).
    pub fn set_version(&mut self, version: ProtocolVersion) {
        self.version = version;
    }

    /// The version packets are decoded with.
    #[must_use]
    pub fn version(&self) -> ProtocolVersion {
        self.version
    }

    /// The largest packet accepted, in bytes.
    #[must_use]
    pub fn max_packet_size(&self) -> u32 {
        self.max_packet_size
    }

    /// Bytes received but not yet returned as packets.
    #[must_use]
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// True once an error was returned; the framer then ignores all input.
    #[must_use]
    pub fn is_poisoned(&self) -> bool {
        self.poisoned
    }

    /// Feeds received bytes. Call [`Framer::next_packet`] until it returns `None` afterwards.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.poisoned || bytes.is_empty() {
            return;
        }
        // The rest of a skipped packet is dropped as it arrives, never buffered.
        let skipped = usize::try_from(self.skip).map_or(bytes.len(), |s| s.min(bytes.len()));
        self.skip -= skipped as u64;
        let bytes = &bytes[skipped..];
        if bytes.is_empty() {
            return;
        }
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        } else if self.pos >= COMPACT_THRESHOLD && self.pos * 2 >= self.buf.len() {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete packet: `None` when more bytes are needed (or the framer is poisoned),
    /// `Some(Err(_))` once, on the first malformed or oversized packet.
    ///
    /// With [`Framer::skip_oversized_publishes`] on, a skipped PUBLISH is reported here as
    /// [`DecodeError::PacketTooLarge`] (and poisons the framer): use [`Framer::next_frame`] to
    /// go on past it.
    #[must_use]
    pub fn next_packet(&mut self) -> Option<Result<Packet, DecodeError>> {
        match self.next_frame()? {
            Ok(Frame::Packet(packet)) => Some(Ok(packet)),
            Ok(Frame::Oversized(skipped)) => Some(Err(self.poison(DecodeError::PacketTooLarge {
                size: skipped.size,
                max: self.max_packet_size,
            }))),
            Err(error) => Some(Err(error)),
        }
    }

    /// The next complete packet or skipped oversized PUBLISH: `None` when more bytes are
    /// needed (or the framer is poisoned), `Some(Err(_))` once, on the first malformed packet
    /// or oversized packet that is not skipped.
    #[must_use]
    pub fn next_frame(&mut self) -> Option<Result<Frame, DecodeError>> {
        if self.poisoned {
            return None;
        }
        let available = &self.buf[self.pos..];
        let first_byte = *available.first()?;
        if let Err(e) = check_type(first_byte, self.version) {
            return Some(Err(self.poison(e)));
        }
        let header = match parse_header(available) {
            Ok(Some(header)) => header,
            Ok(None) => return None,
            Err(e) => return Some(Err(self.poison(e))),
        };
        let total = header.total();
        if total > u64::from(self.max_packet_size) {
            if self.skip_oversized && first_byte >> 4 == 3 {
                return match self.skip_publish(header) {
                    Ok(None) => None,
                    Ok(Some(skipped)) => Some(Ok(Frame::Oversized(skipped))),
                    Err(e) => Some(Err(self.poison(e))),
                };
            }
            return Some(Err(self.poison(DecodeError::PacketTooLarge {
                size: total,
                max: self.max_packet_size,
            })));
        }
        // `total` is at most max_packet_size, a u32, so it fits a usize on every target we build
        // for (wasm32 included).
        let total = usize::try_from(total).unwrap_or(usize::MAX);
        if available.len() < total {
            // Reserve ahead instead of growing chunk by chunk, but never more than
            // MAX_RESERVE on the word of a header whose bytes have not arrived.
            self.buf.reserve((total - available.len()).min(MAX_RESERVE));
            return None;
        }
        let body = &available[header.len..total];
        let result = (self.decode)(header.first_byte, body, self.version);
        self.consume(total);
        Some(result.map(Frame::Packet).map_err(|e| self.poison(e)))
    }

    /// An oversized PUBLISH starts at `pos`: once its variable header (topic, packet id, v5
    /// properties) is here, decode it, drop what is buffered of the packet and arrange for
    /// the rest to be discarded as it arrives. `Ok(None)`: the variable header is incomplete.
    fn skip_publish(&mut self, header: Header) -> Result<Option<OversizedPublish>, DecodeError> {
        let malformed = |detail: String| DecodeError::Malformed {
            packet_type: "PUBLISH",
            detail,
        };
        let too_short = |needed: usize| {
            malformed(format!(
                "variable header of at least {needed} bytes in a packet of {} bytes",
                header.remaining
            ))
        };
        if header.remaining < 2 {
            return Err(too_short(2));
        }
        let available = &self.buf[self.pos..];
        let after_fixed = &available[header.len..];
        let Some(topic_len) = after_fixed.get(..2) else {
            return Ok(None);
        };
        let qos = (header.first_byte >> 1) & 0x03;
        let mut var_len = 2 + usize::from(u16::from_be_bytes([topic_len[0], topic_len[1]]));
        if qos > 0 {
            var_len += 2;
        }
        if self.version == ProtocolVersion::V5 {
            if var_len as u64 >= u64::from(header.remaining) {
                return Err(too_short(var_len + 1));
            }
            let Some(rest) = after_fixed.get(var_len..) else {
                return Ok(None);
            };
            let Some((properties, varint_len)) = varint::parse(rest)? else {
                return Ok(None);
            };
            var_len += varint_len + usize::try_from(properties).unwrap_or(usize::MAX);
        }
        let var_len_u64 = var_len as u64;
        if var_len_u64 > u64::from(header.remaining) {
            return Err(too_short(var_len));
        }
        // Headers alone above the maximum: nothing sensible can be kept of this packet.
        if var_len_u64 + header.len as u64 > u64::from(self.max_packet_size) {
            return Err(DecodeError::PacketTooLarge {
                size: header.total(),
                max: self.max_packet_size,
            });
        }
        let Some(var_header) = after_fixed.get(..var_len) else {
            return Ok(None);
        };
        // The variable header alone is a valid PUBLISH with an empty payload.
        let publish = match (self.decode)(header.first_byte, var_header, self.version)? {
            Packet::Publish(publish) => *publish,
            _ => return Err(malformed("not a PUBLISH".into())),
        };
        let total = header.total();
        let buffered = available.len() as u64;
        let consumed = buffered.min(total);
        self.skip = total - consumed;
        self.consume(usize::try_from(consumed).unwrap_or(usize::MAX));
        Ok(Some(OversizedPublish {
            publish,
            size: total,
        }))
    }

    /// Marks `n` bytes at `pos` as taken.
    fn consume(&mut self, n: usize) {
        self.pos += n;
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        }
    }

    fn poison(&mut self, error: DecodeError) -> DecodeError {
        self.poisoned = true;
        self.buf = Vec::new();
        self.pos = 0;
        self.skip = 0;
        error
    }
}

/// Decodes exactly one complete packet (fixed header included) from `bytes`.
///
/// A convenience for tests and tools; links use [`Framer`].
///
/// # Errors
/// [`DecodeError::Malformed`] if `bytes` holds less or more than one packet, or any error the
/// framer would return.
pub fn decode(bytes: &[u8], version: ProtocolVersion) -> Result<Packet, DecodeError> {
    let Some(&first_byte) = bytes.first() else {
        return Err(DecodeError::Malformed {
            packet_type: "packet",
            detail: "no bytes".into(),
        });
    };
    let incomplete = |detail: String| DecodeError::Malformed {
        packet_type: codec::type_name(first_byte >> 4),
        detail,
    };
    check_type(first_byte, version)?;
    let header = parse_header(bytes)?
        .ok_or_else(|| incomplete(format!("incomplete fixed header ({} bytes)", bytes.len())))?;
    let total = usize::try_from(header.total()).unwrap_or(usize::MAX);
    if bytes.len() != total {
        return Err(incomplete(format!(
            "fixed header declares {total} bytes, got {}",
            bytes.len()
        )));
    }
    codec::decode_body(header.first_byte, &bytes[header.len..], version)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::encode;
    use crate::packet::{Publish, QoS, QosHandshake};
    use crate::strategies;
    use proptest::prelude::*;
    use ProtocolVersion::{V311, V5};

    fn is_server_bound(packet: &Packet) -> bool {
        matches!(
            packet,
            Packet::Connect(_) | Packet::Subscribe(_) | Packet::Unsubscribe(_) | Packet::Auth(_)
        )
    }

    #[test]
    fn the_client_framer_does_not_parse_server_bound_bodies_but_checks_their_flags() {
        // A CONNECT whose body is garbage, a SUBSCRIBE with no filter and an UNSUBSCRIBE with
        // trailing junk: malformed for the full framer, placeholders for a client's.
        let wire = [0x10, 0x01, 0xFF, 0x82, 0x02, 0x00, 0x01, 0xA2, 0x01, 0x00];
        for version in [V311, V5] {
            let mut full = Framer::new(version, 1024);
            full.push(&wire);
            assert!(matches!(
                drain(&mut full)[..],
                [Err(DecodeError::Malformed { .. })]
            ));
            let mut client = Framer::client(version, 1024);
            client.push(&wire);
            let got = drain(&mut client);
            assert_eq!(got.len(), 3, "{got:?}");
            assert!(matches!(&got[0], Ok(Packet::Connect(c)) if c.protocol == version));
            assert!(matches!(&got[1], Ok(Packet::Subscribe(s)) if s.filters.is_empty()));
            assert!(matches!(&got[2], Ok(Packet::Unsubscribe(u)) if u.filters.is_empty()));
        }
        let mut client = Framer::client(V5, 1024);
        client.push(&[0x80, 0x00]);
        assert_eq!(
            drain(&mut client),
            [Err(DecodeError::InvalidFlags {
                packet_type: "SUBSCRIBE",
                flags: 0
            })]
        );
    }

    fn drain(framer: &mut Framer) -> Vec<Result<Packet, DecodeError>> {
        std::iter::from_fn(|| framer.next_packet()).collect()
    }

    fn qos0_publish(payload_len: usize) -> Packet {
        Packet::Publish(Box::new(Publish {
            topic: "chat/room".into(),
            payload: vec![b'x'; payload_len],
            ..Publish::default()
        }))
    }

    #[test]
    fn a_packet_split_into_single_bytes_comes_out_once_complete() {
        let mut wire = Vec::new();
        encode(&qos0_publish(20), V5, &mut wire).unwrap();
        let mut framer = Framer::new(V5, 1024);
        for &b in &wire[..wire.len() - 1] {
            framer.push(&[b]);
            assert_eq!(framer.next_packet(), None);
        }
        framer.push(&wire[wire.len() - 1..]);
        assert_eq!(framer.next_packet(), Some(Ok(qos0_publish(20))));
        assert_eq!(framer.next_packet(), None);
        assert_eq!(framer.buffered(), 0);
    }

    #[test]
    fn several_packets_in_one_chunk_come_out_in_order() {
        let mut wire = vec![0xD0, 0x00];
        encode(&qos0_publish(3), V311, &mut wire).unwrap();
        wire.extend_from_slice(&[0x20, 0x02, 0x00, 0x00]);
        let mut framer = Framer::new(V311, 1024);
        framer.push(&wire);
        let got = drain(&mut framer);
        assert_eq!(got.len(), 3);
        assert_eq!(got[0], Ok(Packet::PingResp));
        assert_eq!(got[1], Ok(qos0_publish(3)));
        assert!(matches!(got[2], Ok(Packet::ConnAck(_))));
    }

    #[test]
    fn an_oversized_packet_is_refused_from_its_header_alone() {
        let mut framer = Framer::new(V5, 1024);
        // PUBLISH declaring a remaining length of 16 384: only the 4 header bytes arrive.
        framer.push(&[0x30, 0x80, 0x80, 0x01]);
        assert_eq!(
            framer.next_packet(),
            Some(Err(DecodeError::PacketTooLarge {
                size: 16_388,
                max: 1024
            }))
        );
        assert!(framer.is_poisoned());
        assert_eq!(framer.buffered(), 0);
    }

    #[test]
    fn a_packet_of_exactly_the_maximum_size_is_accepted() {
        let mut wire = Vec::new();
        encode(&qos0_publish(50), V311, &mut wire).unwrap();
        let exact = u32::try_from(wire.len()).unwrap();
        let mut framer = Framer::new(V311, exact);
        framer.push(&wire);
        assert_eq!(framer.next_packet(), Some(Ok(qos0_publish(50))));
        let mut framer = Framer::new(V311, exact - 1);
        framer.push(&wire);
        assert!(matches!(
            framer.next_packet(),
            Some(Err(DecodeError::PacketTooLarge { .. }))
        ));
    }

    fn publish(qos: QoS, packet_id: Option<u16>, payload_len: usize) -> Publish {
        Publish {
            topic: "chat/big".into(),
            qos,
            packet_id,
            payload: vec![b'y'; payload_len],
            ..Publish::default()
        }
    }

    fn wire_of(packet: &Packet, version: ProtocolVersion) -> Vec<u8> {
        let mut wire = Vec::new();
        encode(packet, version, &mut wire).unwrap();
        wire
    }

    #[test]
    fn an_oversized_publish_is_skipped_and_the_stream_goes_on_in_any_chunking() {
        for version in [V311, V5] {
            let big = publish(QoS::AtLeastOnce, Some(9), 5_000);
            let mut wire = wire_of(&Packet::Publish(Box::new(big.clone())), version);
            let big_len = wire.len() as u64;
            wire.extend(wire_of(&qos0_publish(10), version));
            for chunk_size in [1, 3, 7, 100, 1000, wire.len()] {
                let mut framer = Framer::new(version, 1024).skip_oversized_publishes();
                let mut frames = Vec::new();
                for chunk in wire.chunks(chunk_size) {
                    framer.push(chunk);
                    // Never holds much more than the headers plus one chunk.
                    assert!(
                        framer.buffered() <= 64 + chunk_size,
                        "{}",
                        framer.buffered()
                    );
                    frames.extend(std::iter::from_fn(|| framer.next_frame()));
                }
                let headers = Publish {
                    payload: Vec::new(),
                    ..big.clone()
                };
                assert_eq!(
                    frames,
                    vec![
                        Ok(Frame::Oversized(OversizedPublish {
                            publish: headers,
                            size: big_len
                        })),
                        Ok(Frame::Packet(qos0_publish(10))),
                    ],
                    "{version:?} in chunks of {chunk_size}"
                );
                assert!(!framer.is_poisoned());
                assert_eq!(framer.buffered(), 0);
            }
        }
    }

    #[test]
    fn an_oversized_v5_publish_keeps_its_properties_and_qos2_id() {
        let big = Publish {
            topic_alias: Some(3),
            content_type: Some("application/json".into()),
            ..publish(QoS::ExactlyOnce, Some(77), 3_000)
        };
        let wire = wire_of(&Packet::Publish(Box::new(big.clone())), V5);
        let mut framer = Framer::new(V5, 256).skip_oversized_publishes();
        framer.push(&wire[..40]);
        match framer.next_frame() {
            Some(Ok(Frame::Oversized(skipped))) => {
                assert_eq!(skipped.publish.packet_id, Some(77));
                assert_eq!(skipped.publish.qos, QoS::ExactlyOnce);
                assert_eq!(skipped.publish.topic_alias, Some(3));
                assert_eq!(skipped.publish.content_type, big.content_type);
                assert!(skipped.publish.payload.is_empty());
                assert_eq!(skipped.size, wire.len() as u64);
            }
            other => panic!("expected a skipped publish, got {other:?}"),
        }
        framer.push(&wire[40..]);
        assert_eq!(framer.next_frame(), None);
        framer.push(&[0xD0, 0x00]);
        assert_eq!(
            framer.next_frame(),
            Some(Ok(Frame::Packet(Packet::PingResp)))
        );
    }

    #[test]
    fn a_huge_declared_publish_is_skipped_without_reserving_its_size() {
        // A PUBLISH declaring 200 MB: only its headers and a little payload ever arrive.
        let mut framer = Framer::new(V311, 65_536).skip_oversized_publishes();
        let mut head = vec![0x32, 0x80, 0x80, 0x80, 0x60]; // QoS 1, remaining 201 326 592
        head.extend_from_slice(&[0x00, 0x01, b't', 0x00, 0x05]);
        framer.push(&head);
        assert!(matches!(framer.next_frame(), Some(Ok(Frame::Oversized(_)))));
        framer.push(&[b'z'; 4096]);
        assert_eq!(framer.next_frame(), None);
        assert_eq!(framer.buffered(), 0);
        assert!(framer.buf.capacity() < 64 * 1024);
    }

    #[test]
    fn oversized_packets_other_than_publish_are_still_errors() {
        let mut framer = Framer::new(V5, 16).skip_oversized_publishes();
        // SUBACK declaring 100 bytes.
        framer.push(&[0x90, 0x64]);
        assert!(matches!(
            framer.next_frame(),
            Some(Err(DecodeError::PacketTooLarge { size: 102, max: 16 }))
        ));
        assert!(framer.is_poisoned());
    }

    #[test]
    fn without_skipping_an_oversized_publish_is_still_refused() {
        let big = Packet::Publish(Box::new(publish(QoS::AtLeastOnce, Some(1), 2_000)));
        let mut framer = Framer::new(V5, 1024);
        framer.push(&wire_of(&big, V5));
        assert!(matches!(
            framer.next_packet(),
            Some(Err(DecodeError::PacketTooLarge { .. }))
        ));
        // next_packet on a skipping framer reports it as an error too.
        let mut framer = Framer::new(V5, 1024).skip_oversized_publishes();
        framer.push(&wire_of(&big, V5));
        assert!(matches!(
            framer.next_packet(),
            Some(Err(DecodeError::PacketTooLarge { .. }))
        ));
    }

    #[test]
    fn an_oversized_publish_with_a_truncated_variable_header_is_malformed() {
        // Remaining length 1 cannot hold a topic length.
        let mut framer = Framer::new(V311, 1).skip_oversized_publishes();
        framer.push(&[0x30, 0x01, 0x00]);
        assert!(matches!(
            framer.next_frame(),
            Some(Err(DecodeError::Malformed { .. }))
        ));
        // A topic longer than the packet.
        let mut framer = Framer::new(V311, 8).skip_oversized_publishes();
        framer.push(&[0x30, 0x0A, 0x00, 0x20]);
        assert!(matches!(
            framer.next_frame(),
            Some(Err(DecodeError::Malformed { .. }))
        ));
    }

    #[test]
    fn a_fifth_remaining_length_byte_is_refused() {
        let mut framer = Framer::new(V5, u32::MAX);
        framer.push(&[0x30, 0xFF, 0xFF, 0xFF]);
        assert_eq!(
            framer.next_packet(),
            None,
            "three length bytes may continue"
        );
        framer.push(&[0xFF]);
        assert_eq!(
            framer.next_packet(),
            Some(Err(DecodeError::InvalidRemainingLength {
                fourth_byte: 0xFF
            }))
        );
    }

    #[test]
    fn the_largest_remaining_length_parses_from_four_bytes() {
        let header = parse_header(&[0x30, 0xFF, 0xFF, 0xFF, 0x7F])
            .unwrap()
            .unwrap();
        assert_eq!(header.remaining, 268_435_455);
        assert_eq!(header.len, 5);
    }

    #[test]
    fn a_reserved_packet_type_is_refused_before_its_body_arrives() {
        let mut framer = Framer::new(V5, 1024);
        framer.push(&[0x00]);
        assert_eq!(
            framer.next_packet(),
            Some(Err(DecodeError::UnexpectedPacketType(0)))
        );
    }

    #[test]
    fn after_an_error_the_framer_ignores_everything() {
        let mut framer = Framer::new(V311, 1024);
        framer.push(&[0xD0, 0x01, 0x00]); // PINGRESP with a body
        assert!(matches!(framer.next_packet(), Some(Err(_))));
        framer.push(&[0xD0, 0x00]);
        assert_eq!(framer.next_packet(), None);
        assert_eq!(framer.buffered(), 0);
    }

    #[test]
    fn set_version_changes_how_later_packets_decode() {
        let mut framer = Framer::new(V5, 1024);
        framer.set_version(V311);
        assert_eq!(framer.version(), V311);
        framer.push(&[0xF0, 0x00]); // AUTH exists only in MQTT 5
        assert!(matches!(
            framer.next_packet(),
            Some(Err(DecodeError::UnexpectedPacketType(15)))
        ));
    }

    #[test]
    fn a_long_stream_keeps_the_buffer_bounded() {
        let mut one = Vec::new();
        encode(&qos0_publish(90), V5, &mut one).unwrap();
        let mut framer = Framer::new(V5, 1024);
        // Feed 1000 packets in chunks that never line up with packet boundaries.
        let stream: Vec<u8> = one.iter().copied().cycle().take(one.len() * 1000).collect();
        let mut count = 0;
        for chunk in stream.chunks(777) {
            framer.push(chunk);
            while let Some(packet) = framer.next_packet() {
                assert_eq!(packet, Ok(qos0_publish(90)));
                count += 1;
            }
            assert!(framer.buf.len() < 2 * COMPACT_THRESHOLD + 777);
        }
        assert_eq!(count, 1000);
    }

    #[test]
    fn decode_wants_exactly_one_packet() {
        assert!(matches!(
            decode(&[0xD0, 0x00, 0xD0], V5),
            Err(DecodeError::Malformed { .. })
        ));
        assert!(matches!(
            decode(&[0xD0], V5),
            Err(DecodeError::Malformed { .. })
        ));
        assert!(matches!(
            decode(&[], V5),
            Err(DecodeError::Malformed { .. })
        ));
    }

    /// A version, a stream of valid packets for it, and where to cut the encoded stream.
    fn stream_and_cuts(
    ) -> impl Strategy<Value = (ProtocolVersion, Vec<Packet>, Vec<prop::sample::Index>)> {
        strategies::version().prop_flat_map(|v| {
            (
                Just(v),
                proptest::collection::vec(strategies::packet(v), 1..8),
                proptest::collection::vec(any::<prop::sample::Index>(), 0..12),
            )
        })
    }

    /// What a packet becomes once written: a 3.1.1 acknowledgement is read in the MQTT 5 layout
    /// (a reason code and properties after the packet id are kept, as the embedded broker sends
    /// them: see `packet::qos_handshake`), but written as the packet id alone.
    fn v311_wire_form(packet: Packet, version: ProtocolVersion) -> Packet {
        if version != ProtocolVersion::V311 {
            return packet;
        }
        let plain = |a: QosHandshake| QosHandshake {
            packet_id: a.packet_id,
            ..QosHandshake::default()
        };
        match packet {
            Packet::PubAck(a) => Packet::PubAck(plain(a)),
            Packet::PubRec(a) => Packet::PubRec(plain(a)),
            Packet::PubRel(a) => Packet::PubRel(plain(a)),
            Packet::PubComp(a) => Packet::PubComp(plain(a)),
            other => other,
        }
    }

    proptest! {
        #[test]
        fn any_split_of_a_valid_stream_yields_the_same_packets(
            (version, packets, cuts) in stream_and_cuts()
        ) {
            let mut wire = Vec::new();
            for p in &packets {
                encode(p, version, &mut wire).unwrap();
            }
            let mut cuts: Vec<usize> = cuts.iter().map(|c| c.index(wire.len() + 1)).collect();
            cuts.sort_unstable();
            cuts.push(wire.len());
            let mut framer = Framer::new(version, u32::MAX);
            let mut got = Vec::new();
            let mut start = 0;
            for end in cuts {
                framer.push(&wire[start..end]);
                start = end;
                got.extend(drain(&mut framer));
            }
            let expected: Vec<_> = packets.into_iter().map(Ok).collect();
            prop_assert_eq!(got, expected);
            prop_assert_eq!(framer.buffered(), 0);
        }

        #[test]
        fn a_corrupted_valid_stream_never_panics_and_what_decodes_re_encodes_to_itself(
            (version, packets, flips) in strategies::version().prop_flat_map(|v| {
                (
                    Just(v),
                    proptest::collection::vec(strategies::packet(v), 1..6),
                    proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
                )
            })
        ) {
            let mut wire = Vec::new();
            for p in &packets {
                encode(p, version, &mut wire).unwrap();
            }
            for (at, byte) in flips {
                let i = at.index(wire.len());
                wire[i] = byte;
            }
            let mut framer = Framer::new(version, 64 * 1024);
            framer.push(&wire);
            for packet in drain(&mut framer).into_iter().flatten() {
                let mut again = Vec::new();
                if encode(&packet, version, &mut again).is_ok() {
                    prop_assert_eq!(decode(&again, version), Ok(v311_wire_form(packet, version)));
                }
            }
        }

        #[test]
        fn the_client_framer_reads_what_the_full_one_does_but_server_bound_bodies(
            (version, packets) in strategies::version().prop_flat_map(|v| {
                (Just(v), proptest::collection::vec(strategies::packet(v), 1..6))
            })
        ) {
            let mut wire = Vec::new();
            for p in &packets {
                encode(p, version, &mut wire).unwrap();
            }
            let mut framer = Framer::client(version, u32::MAX);
            framer.push(&wire);
            let got = drain(&mut framer);
            prop_assert_eq!(got.len(), packets.len());
            for (got, sent) in got.into_iter().zip(packets) {
                let got = got.unwrap();
                if is_server_bound(&sent) {
                    prop_assert_eq!(std::mem::discriminant(&got), std::mem::discriminant(&sent));
                } else {
                    prop_assert_eq!(got, sent);
                }
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic_nor_yield_more_than_was_fed(
            version in strategies::version(),
            max in 0u32..4096,
            chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..16),
            skip in any::<bool>(),
        ) {
            let mut framer = Framer::new(version, max);
            if skip {
                framer = framer.skip_oversized_publishes();
            }
            let mut fed = 0usize;
            let mut packets = 0usize;
            let mut errors = 0usize;
            for chunk in &chunks {
                framer.push(chunk);
                fed += chunk.len();
                for result in std::iter::from_fn(|| framer.next_frame()) {
                    match result {
                        Ok(_) => packets += 1,
                        Err(_) => errors += 1,
                    }
                }
                // Every packet is at least 2 bytes long.
                prop_assert!(2 * packets <= fed);
                prop_assert!(framer.buffered() <= fed);
            }
            prop_assert!(errors <= 1, "one error, then poisoned");
        }
    }
}
