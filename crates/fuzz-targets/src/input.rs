//! A cursor over the fuzzer's bytes, for the targets that read structured input. Running out of
//! bytes gives `None`, which ends the run early (like `arbitrary::Unstructured`, which is not a
//! dependency here so that the workspace needs no fuzzing crate).

/// The unread part of an input.
#[derive(Debug, Clone)]
pub struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    /// A cursor at the start of `data`.
    #[must_use]
    pub fn new(data: &'a [u8]) -> Self {
        Input { data }
    }

    /// Whether every byte has been read.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The next byte.
    pub fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.data.split_first()?;
        self.data = rest;
        Some(b)
    }

    /// The next byte's low bit.
    pub fn bool(&mut self) -> Option<bool> {
        Some(self.byte()? & 1 == 1)
    }

    /// The next two bytes, big endian.
    pub fn u16(&mut self) -> Option<u16> {
        Some(u16::from_be_bytes([self.byte()?, self.byte()?]))
    }

    /// The next eight bytes, big endian.
    pub fn u64(&mut self) -> Option<u64> {
        let bytes = self.bytes(8)?;
        Some(u64::from_be_bytes(bytes.try_into().ok()?))
    }

    /// The next `n` bytes, if there are that many.
    pub fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.data.len() < n {
            return None;
        }
        let (head, rest) = self.data.split_at(n);
        self.data = rest;
        Some(head)
    }

    /// A length byte, then up to that many bytes (fewer at the end of the input).
    pub fn chunk(&mut self) -> Option<&'a [u8]> {
        let len = usize::from(self.byte()?).min(self.data.len());
        self.bytes(len)
    }

    /// Everything not read yet.
    pub fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.data)
    }
}
