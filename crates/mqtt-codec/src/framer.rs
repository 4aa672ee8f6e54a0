//! Streaming framer: bytes in any chunking in, complete packets out.
//!
//! The codec crate cannot tell a truncated packet from a malformed one, so the framer reads the
//! fixed header and the remaining length itself and hands the codec only complete packets.

use crate::adapter;
use crate::error::DecodeError;
use crate::packet::{Packet, ProtocolVersion};

/// Once this many consumed bytes sit at the front of the buffer (and they are at least half of
/// it), they are dropped. Keeps memory bounded without copying the tail on every packet.
const COMPACT_THRESHOLD: usize = 8 * 1024;

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
#[derive(Debug, Clone)]
pub struct Framer {
    version: ProtocolVersion,
    max_packet_size: u32,
    buf: Vec<u8>,
    /// Start of the first unconsumed byte in `buf`.
    pos: usize,
    poisoned: bool,
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
        Self {
            version,
            max_packet_size,
            buf: Vec::new(),
            pos: 0,
            poisoned: false,
        }
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
    #[must_use]
    pub fn next_packet(&mut self) -> Option<Result<Packet, DecodeError>> {
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
            return Some(Err(self.poison(DecodeError::PacketTooLarge {
                size: total,
                max: self.max_packet_size,
            })));
        }
        // `total` is at most max_packet_size, a u32, so it fits a usize on every target we build
        // for (wasm32 included).
        let total = usize::try_from(total).unwrap_or(usize::MAX);
        if available.len() < total {
            // Reserve the rest once instead of growing chunk by chunk; bounded by the maximum.
            self.buf.reserve(total - available.len());
            return None;
        }
        let body = &available[header.len..total];
        let result = adapter::decode_body(header.first_byte, body, self.version);
        self.pos += total;
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        }
        Some(result.map_err(|e| self.poison(e)))
    }

    fn poison(&mut self, error: DecodeError) -> DecodeError {
        self.poisoned = true;
        self.buf = Vec::new();
        self.pos = 0;
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
        packet_type: adapter::type_name(first_byte >> 4),
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
    adapter::decode_body(header.first_byte, &bytes[header.len..], version)
}
