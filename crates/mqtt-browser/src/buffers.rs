//! The byte buffers a link reuses between the socket and the session: one for the bytes waiting
//! to leave in its next WebSocket message, one for the frame being received.
//!
//! Both keep their capacity, so after the first messages of a connection neither sending nor
//! receiving allocates.

/// Bytes queued for one link's next WebSocket message, in the order they were queued.
///
/// The driver queues every `Send` the supervisor produces and flushes once per task, so
/// everything one task produces for a link (the PUBACK of a message just received and a
/// PUBLISH made right after it, or a burst of publishes) leaves as one WebSocket message.
/// MQTT over WebSocket allows several packets in one message (MQTT 5.0 §6, MQTT 3.1.1 §6).
#[derive(Debug, Default)]
pub(crate) struct Outgoing {
    bytes: Vec<u8>,
}

impl Outgoing {
    /// Appends `bytes` after everything queued so far.
    pub(crate) fn push(&mut self, bytes: &[u8]) {
        self.bytes.extend_from_slice(bytes);
    }

    /// Whether anything waits to be sent.
    pub(crate) fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Hands everything queued to `send` as one message and empties the queue (keeping its
    /// capacity); `None` without calling `send` when nothing is queued.
    pub(crate) fn flush<R>(&mut self, send: impl FnOnce(&[u8]) -> R) -> Option<R> {
        if self.bytes.is_empty() {
            return None;
        }
        let result = send(&self.bytes);
        self.bytes.clear();
        Some(result)
    }
}

/// The receive buffer: each incoming frame is copied into it (not into a new `Vec`) and handed
/// on as a slice.
#[derive(Debug, Default)]
pub(crate) struct FrameBuffer {
    bytes: Vec<u8>,
}

impl FrameBuffer {
    /// A slice of exactly `len` bytes to copy the next frame into. It grows to the largest frame
    /// seen and never shrinks, so only a frame larger than every earlier one allocates; the
    /// bytes in it are stale until overwritten.
    pub(crate) fn frame(&mut self, len: usize) -> &mut [u8] {
        if self.bytes.len() < len {
            self.bytes.resize(len, 0);
        }
        &mut self.bytes[..len]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flushed(outgoing: &mut Outgoing) -> Option<Vec<u8>> {
        outgoing.flush(<[u8]>::to_vec)
    }

    #[test]
    fn everything_queued_leaves_as_one_message_in_queue_order() {
        let mut outgoing = Outgoing::default();
        let puback = [0x40, 0x02, 0x00, 0x07];
        let publish = [0x32, 0x07, 0x00, 0x01, b't', 0x00, 0x08, 0x00, b'x'];
        outgoing.push(&puback);
        outgoing.push(&publish);
        assert!(!outgoing.is_empty());
        let mut sends = Vec::new();
        outgoing.flush(|bytes| sends.push(bytes.to_vec()));
        assert_eq!(sends, vec![[&puback[..], &publish[..]].concat()]);
        assert!(outgoing.is_empty());
    }

    #[test]
    fn an_empty_queue_sends_nothing() {
        let mut outgoing = Outgoing::default();
        let mut calls = 0;
        assert_eq!(outgoing.flush(|_| calls += 1), None);
        assert_eq!(calls, 0);
        outgoing.push(&[]);
        assert_eq!(flushed(&mut outgoing), None, "no empty WebSocket message");
    }

    #[test]
    fn a_flush_empties_the_queue_and_keeps_its_capacity() {
        let mut outgoing = Outgoing::default();
        outgoing.push(&[1; 300]);
        assert_eq!(flushed(&mut outgoing).map(|b| b.len()), Some(300));
        let capacity = outgoing.bytes.capacity();
        outgoing.push(&[2; 100]);
        assert_eq!(
            flushed(&mut outgoing),
            Some(vec![2; 100]),
            "nothing of the first"
        );
        assert_eq!(outgoing.bytes.capacity(), capacity, "no new allocation");
        assert_eq!(flushed(&mut outgoing), None);
    }

    #[test]
    fn the_frame_buffer_is_exactly_as_long_as_each_frame_and_reuses_its_memory() {
        let mut buffer = FrameBuffer::default();
        buffer.frame(1000).copy_from_slice(&[7; 1000]);
        let memory = buffer.bytes.as_ptr();
        let small = buffer.frame(10);
        assert_eq!(small.len(), 10);
        small.copy_from_slice(&[1; 10]);
        assert_eq!(buffer.frame(1000).len(), 1000);
        assert_eq!(
            buffer.bytes.as_ptr(),
            memory,
            "a smaller frame does not allocate"
        );
        assert_eq!(buffer.frame(0).len(), 0);
        assert_eq!(buffer.frame(1001).len(), 1001, "a larger one grows it");
    }
}
