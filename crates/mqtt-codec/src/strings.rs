//! MQTT's data representations (MQTT 5 §1.5, 3.1.1 §1.5): big-endian integers, length-prefixed
//! UTF-8 strings and binary data, read from a body slice and written to (or counted for) an
//! output buffer.
//!
//! Decoding borrows the body: [`Reader`] hands out sub-slices, so a PUBLISH payload is copied
//! once, straight from the framer's buffer into the packet.

use crate::varint;

/// A cursor over a packet body. Errors are the `detail` of a
/// [`DecodeError::Malformed`](crate::DecodeError::Malformed).
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Self { buf }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len()
    }

    /// The next `n` bytes.
    pub(crate) fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], String> {
        if self.buf.len() < n {
            return Err(format!("{what} needs {n} bytes, {} left", self.buf.len()));
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    /// Everything left.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        core::mem::take(&mut self.buf)
    }

    pub(crate) fn u8(&mut self, what: &str) -> Result<u8, String> {
        Ok(self.take(1, what)?[0])
    }

    pub(crate) fn u16(&mut self, what: &str) -> Result<u16, String> {
        let b = self.take(2, what)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    pub(crate) fn u32(&mut self, what: &str) -> Result<u32, String> {
        let b = self.take(4, what)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub(crate) fn varint(&mut self, what: &str) -> Result<u32, String> {
        match varint::parse(self.buf) {
            Ok(Some((value, n))) => {
                self.buf = &self.buf[n..];
                Ok(value)
            }
            Ok(None) => Err(format!("{what}: truncated variable byte integer")),
            Err(_) => Err(format!("{what}: variable byte integer longer than 4 bytes")),
        }
    }

    /// Binary Data: a 2-byte length, then that many bytes.
    pub(crate) fn bin(&mut self, what: &str) -> Result<&'a [u8], String> {
        let len = self.u16(what)?;
        self.take(usize::from(len), what)
    }

    /// UTF-8 Encoded String: valid UTF-8 without U+0000 (MQTT-1.5.4-1, -2).
    pub(crate) fn str(&mut self, what: &str) -> Result<String, String> {
        let bytes = self.bin(what)?;
        let text = core::str::from_utf8(bytes).map_err(|_| format!("{what} is not valid UTF-8"))?;
        if text.contains('\0') {
            return Err(format!("{what} contains U+0000"));
        }
        Ok(text.to_owned())
    }
}

/// Writes a packet body, or only counts its length: every encoder runs its body once with
/// [`Writer::counter`] (length, and the checks that can fail) and once with [`Writer::to`]. One
/// list of fields serves both, and nothing is written before the fixed header, whose remaining
/// length must come first.
pub(crate) struct Writer<'a> {
    out: Option<&'a mut Vec<u8>>,
    /// Bytes written or counted.
    pub(crate) len: usize,
    /// The first field that cannot be encoded (seen while counting).
    pub(crate) error: Option<String>,
}

impl<'a> Writer<'a> {
    pub(crate) fn counter() -> Writer<'static> {
        Writer {
            out: None,
            len: 0,
            error: None,
        }
    }

    pub(crate) fn to(out: &'a mut Vec<u8>) -> Self {
        Self {
            out: Some(out),
            len: 0,
            error: None,
        }
    }

    pub(crate) fn fail(&mut self, detail: String) {
        self.error.get_or_insert(detail);
    }

    pub(crate) fn bytes(&mut self, bytes: &[u8]) {
        self.len += bytes.len();
        if let Some(out) = self.out.as_deref_mut() {
            out.extend_from_slice(bytes);
        }
    }

    pub(crate) fn u8(&mut self, v: u8) {
        self.bytes(&[v]);
    }

    pub(crate) fn u16(&mut self, v: u16) {
        self.bytes(&v.to_be_bytes());
    }

    pub(crate) fn u32(&mut self, v: u32) {
        self.bytes(&v.to_be_bytes());
    }

    pub(crate) fn varint(&mut self, v: u32) {
        if v > varint::MAX {
            self.fail(format!("{v} exceeds the variable byte integer maximum"));
        }
        self.len += varint::len(v);
        if let Some(out) = self.out.as_deref_mut() {
            varint::write(v, out);
        }
    }

    /// Binary Data: at most 65 535 bytes.
    pub(crate) fn bin(&mut self, v: &[u8]) {
        match u16::try_from(v.len()) {
            Ok(len) => self.u16(len),
            Err(_) => self.fail(format!("{} bytes exceed 65535", v.len())),
        }
        self.bytes(v);
    }

    /// UTF-8 Encoded String: at most 65 535 bytes, no U+0000.
    pub(crate) fn str(&mut self, v: &str) {
        if v.contains('\0') {
            self.fail("a string contains U+0000".to_owned());
        }
        self.bin(v.as_bytes());
    }
}
