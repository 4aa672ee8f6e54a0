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
    /// How many bytes were ever sent: with `bytes.len()`, a position in everything ever queued
    /// ([`Outgoing::end`]), which a partial flush can name.
    sent: u64,
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

    /// Drops what is queued, unsent (it counts as sent for [`Outgoing::end`]).
    pub(crate) fn clear(&mut self) {
        self.sent += self.bytes.len() as u64;
        self.bytes.clear();
    }

    /// The position just after the last byte queued so far, counted over everything ever
    /// queued: [`Outgoing::flush_to`] with it later sends exactly what is queued now.
    #[cfg_attr(not(feature = "tabs"), allow(dead_code))] // used by the tab group
    pub(crate) fn end(&self) -> u64 {
        self.sent + self.bytes.len() as u64
    }

    /// Hands what was queued before position `end` (an earlier [`Outgoing::end`]; `u64::MAX`
    /// for everything) and is not sent yet to `send` as one message, keeping the queue's
    /// capacity; what was queued after stays. `None` without calling `send` when none of it
    /// waits.
    pub(crate) fn flush_to<R>(&mut self, end: u64, send: impl FnOnce(&[u8]) -> R) -> Option<R> {
        let n = usize::try_from(end.saturating_sub(self.sent))
            .unwrap_or(usize::MAX)
            .min(self.bytes.len());
        if n == 0 {
            return None;
        }
        let result = send(&self.bytes[..n]);
        self.bytes.drain(..n);
        self.sent += n as u64;
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
        outgoing.flush_to(u64::MAX, <[u8]>::to_vec)
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
        outgoing.flush_to(u64::MAX, |bytes| sends.push(bytes.to_vec()));
        assert_eq!(sends, vec![[&puback[..], &publish[..]].concat()]);
        assert!(outgoing.is_empty());
    }

    #[test]
    fn an_empty_queue_sends_nothing() {
        let mut outgoing = Outgoing::default();
        let mut calls = 0;
        assert_eq!(outgoing.flush_to(u64::MAX, |_| calls += 1), None);
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
    fn a_flush_to_a_position_sends_what_was_queued_before_it_and_keeps_the_rest() {
        let mut outgoing = Outgoing::default();
        outgoing.push(&[1, 1]);
        let first = outgoing.end();
        outgoing.push(&[2, 2, 2]);
        let second = outgoing.end();
        outgoing.push(&[3]);
        assert_eq!(outgoing.flush_to(first, <[u8]>::to_vec), Some(vec![1, 1]));
        assert_eq!(
            outgoing.flush_to(first, <[u8]>::to_vec),
            None,
            "sent already"
        );
        assert_eq!(outgoing.end(), second + 1, "positions count what was sent");
        assert_eq!(
            outgoing.flush_to(second, <[u8]>::to_vec),
            Some(vec![2, 2, 2])
        );
        outgoing.push(&[4]);
        assert_eq!(flushed(&mut outgoing), Some(vec![3, 4]));
        assert_eq!(outgoing.flush_to(second, <[u8]>::to_vec), None);
        assert_eq!(outgoing.end(), second + 2);
        outgoing.push(&[5, 5]);
        outgoing.clear();
        assert!(outgoing.is_empty());
        assert_eq!(outgoing.end(), second + 4, "cleared bytes count as gone");
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

    /// The real supervisor, with the driver's IO played by hand: what used to be one
    /// `WebSocket.send` per `Action::Send` and what one [`Outgoing`] per link makes of it when
    /// it is flushed once per task.
    mod with_the_supervisor {
        use std::collections::BTreeMap;
        use std::time::Duration;

        use mqtt_lifecycle::{
            subscription, Action, ClientEvent, HttpResponse, Instant, LinkId, OutgoingPublish, QoS,
            SessionConfig, Supervisor, SupervisorConfig, TokenResult,
        };

        use super::super::Outgoing;

        /// One task's actions the way the driver performs them: `sends` counts the
        /// `Action::Send`s (each was a WebSocket message before), `queues` holds what the
        /// driver's flush will send (one message per non-empty link).
        #[derive(Default)]
        struct Task {
            sends: usize,
            queues: BTreeMap<LinkId, Outgoing>,
            messages: Vec<String>,
        }

        impl Task {
            fn perform(&mut self, sup: &mut Supervisor) {
                while let Some(action) = sup.poll_action() {
                    if let Action::Send { link, bytes } = action {
                        self.sends += 1;
                        self.queues.entry(link).or_default().push(&bytes);
                    }
                }
                while let Some(event) = sup.poll_event() {
                    if let ClientEvent::Message(message) = event {
                        self.messages.push(message.topic);
                    }
                }
            }

            /// The driver's flush: one message per link with bytes queued.
            fn flush(mut self) -> Vec<Vec<u8>> {
                self.queues
                    .values_mut()
                    .filter_map(|queue| queue.flush_to(u64::MAX, <[u8]>::to_vec))
                    .collect()
            }
        }

        fn connected() -> (Supervisor, LinkId, Instant) {
            let session = SessionConfig {
                client_id: "join-1".into(),
                ..SessionConfig::default()
            };
            let mut sup = Supervisor::new(SupervisorConfig::new("ws://127.0.0.1:9/mqtt", session));
            let now = Instant::from_millis(0);
            sup.start(now);
            let Some(Action::FetchToken { request }) = sup.poll_action() else {
                panic!("a token request");
            };
            let Some(Action::OpenLink { link, .. }) = sup.poll_action() else {
                panic!("a link");
            };
            sup.handle_link_opened(now, link);
            let body = r#"{"accessToken":"pw","expires_in":3600,"username":"u","userId":"u"}"#;
            let response = HttpResponse {
                status: 200,
                body: body.into(),
                ..HttpResponse::default()
            };
            sup.handle_token(now, request, TokenResult::Response(response));
            (sup, link, now + Duration::from_millis(5))
        }

        const CONNACK: [u8; 5] = [0x20, 0x03, 0x00, 0x00, 0x00];
        /// MQTT 5 PUBLISH, QoS 1, topic `t/1`, packet id 7, no properties, payload `x`.
        const PUBLISH_IN: [u8; 11] = [
            0x32, 0x09, 0x00, 0x03, b't', b'/', b'1', 0x00, 0x07, 0x00, b'x',
        ];

        /// Within one input the session already joins its packets (this was one `Send` before
        /// too); the test pins that the driver keeps it so.
        #[test]
        fn the_connack_task_sends_subscribe_and_queued_publishes_as_one_message() {
            let (mut sup, link, now) = connected();
            let mut task = Task::default();
            task.perform(&mut sup); // CONNECT
            assert_eq!(task.flush().len(), 1);
            // Asked for while connecting: they wait for the CONNACK.
            sup.declare_subscriptions(&[subscription("t/1", QoS::AtLeastOnce)])
                .unwrap();
            for text in ["a", "b"] {
                sup.publish(now, OutgoingPublish::new("t/2", text, QoS::AtLeastOnce))
                    .unwrap();
            }
            let mut task = Task::default();
            task.perform(&mut sup);
            assert_eq!(task.sends, 0, "nothing before the CONNACK");

            let mut task = Task::default();
            sup.handle_link_bytes(now, link, &CONNACK);
            task.perform(&mut sup);
            let messages = task.flush();
            assert_eq!(messages.len(), 1, "one WebSocket message");
            let packets = packet_types(&messages[0]);
            assert_eq!(
                packets.iter().filter(|&&t| t == 0x80).count(),
                1,
                "{packets:x?}"
            );
            assert_eq!(
                packets.iter().filter(|&&t| t == 0x30).count(),
                2,
                "{packets:x?}"
            );
        }

        #[test]
        fn a_puback_and_the_publish_made_after_its_message_leave_as_one_message() {
            let (mut sup, link, now) = connected();
            let mut task = Task::default();
            task.perform(&mut sup);
            sup.handle_link_bytes(now, link, &CONNACK);
            task.perform(&mut sup);
            let _ = task.flush();

            // The message's task: its PUBACK, then (the subscriber, or a promise reaction
            // before the flush microtask) the next publish.
            let mut task = Task::default();
            sup.handle_link_bytes(now, link, &PUBLISH_IN);
            task.perform(&mut sup);
            assert_eq!(task.messages, ["t/1"]);
            sup.publish(now, OutgoingPublish::new("t/1", "next", QoS::AtLeastOnce))
                .unwrap();
            task.perform(&mut sup);
            assert_eq!(task.sends, 2, "two WebSocket messages before");
            let messages = task.flush();
            assert_eq!(messages.len(), 1, "one now");
            assert_eq!(
                messages[0][..4],
                [0x40, 0x02, 0x00, 0x07],
                "the PUBACK first, as it was produced"
            );
            assert_eq!(packet_types(&messages[0]), [0x40, 0x30]);
        }

        /// The packet types (high nibble of the first byte, flags cleared) in `bytes`.
        fn packet_types(mut bytes: &[u8]) -> Vec<u8> {
            let mut types = Vec::new();
            while let Some((&first, rest)) = bytes.split_first() {
                types.push(first & 0xf0);
                let (mut length, mut shift, mut used) = (0usize, 0, 0);
                for &b in rest {
                    used += 1;
                    length |= usize::from(b & 0x7f) << shift;
                    shift += 7;
                    if b & 0x80 == 0 {
                        break;
                    }
                }
                bytes = &rest[used + length..];
            }
            types
        }
    }
}
