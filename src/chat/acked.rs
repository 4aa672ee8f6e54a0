//! Own messages acknowledged just before the link was lost, to be published again.
//!
//! A broker that crashes right after acknowledging a publish can lose the copies it had not yet
//! handed to its subscribers: Mosquitto 2.0 keeps a delivery in flight to an online subscriber in
//! memory until its next save, and saves after the sender acknowledges its own echo, a few
//! milliseconds after the PUBACK (docs/deployment.md, "Mosquitto"). So when the link is lost,
//! what was acknowledged in the last [`WINDOW_MS`] is published once more, with the same message
//! id: readers drop the second copy by (verified author, id) as they drop any QoS 1 redelivery,
//! and a reader that lost the first gets it. Only messages on the user's own author topic are
//! kept (readers of the shared topic, such as the quickstart's, would show the copy twice).
//!
//! Pure: the time comes in as milliseconds; the wiring is in `crate::room`.

use std::collections::VecDeque;

use yew_mqtt::{DeliveryStatus, PublishId};

/// How long before a lost link an acknowledged message is published again.
pub const WINDOW_MS: u64 = 2_000;
/// Publishes followed at most (a sender faster than this drops the oldest from the list).
const CAPACITY: usize = 64;

/// A publish to repeat: its topic and payload.
pub type Repeat = (String, Vec<u8>);

/// The own publishes in flight, and those acknowledged lately (oldest first).
#[derive(Debug, Default)]
pub struct RecentlyAcked {
    in_flight: VecDeque<(PublishId, Repeat)>,
    acked: VecDeque<(u64, Repeat)>,
}

impl RecentlyAcked {
    /// A publish of an own message on `topic` was handed to the client as `id`.
    pub fn sent(&mut self, id: PublishId, topic: String, payload: Vec<u8>) {
        if self.in_flight.len() == CAPACITY {
            self.in_flight.pop_front();
        }
        self.in_flight.push_back((id, (topic, payload)));
    }

    /// The client's report on `id` at `now_ms`: acknowledged ones are kept for the window,
    /// refused or dropped ones forgotten.
    pub fn delivery(&mut self, id: PublishId, status: &DeliveryStatus, now_ms: u64) {
        if matches!(status, DeliveryStatus::Sent) {
            return;
        }
        let Some(at) = self.in_flight.iter().position(|(i, _)| *i == id) else {
            return;
        };
        let Some((_, repeat)) = self.in_flight.remove(at) else {
            return;
        };
        if matches!(status, DeliveryStatus::Acknowledged) {
            self.forget_before(now_ms);
            if self.acked.len() == CAPACITY {
                self.acked.pop_front();
            }
            self.acked.push_back((now_ms, repeat));
        }
    }

    /// The link was lost at `now_ms`: what was acknowledged within the window before, to
    /// publish again (each once: the list is emptied).
    pub fn link_lost(&mut self, now_ms: u64) -> Vec<Repeat> {
        self.forget_before(now_ms);
        self.acked.drain(..).map(|(_, repeat)| repeat).collect()
    }

    fn forget_before(&mut self, now_ms: u64) {
        let oldest = now_ms.saturating_sub(WINDOW_MS);
        while self.acked.front().is_some_and(|(at, _)| *at < oldest) {
            self.acked.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mqtt_codec::PubAckReason;
    use mqtt_lifecycle::{DropReason, Refusal, RefusalReason};

    fn sent(r: &mut RecentlyAcked, n: u64) {
        r.sent(
            PublishId(n),
            format!("chat/r/messages/me#{n}"),
            b"{}".to_vec(),
        );
    }

    fn topics(list: Vec<Repeat>) -> Vec<String> {
        list.into_iter().map(|(t, _)| t).collect()
    }

    #[test]
    fn only_what_was_acknowledged_within_the_window_before_the_loss_is_repeated_once() {
        let mut r = RecentlyAcked::default();
        for n in 1..=4 {
            sent(&mut r, n);
        }
        r.delivery(PublishId(1), &DeliveryStatus::Acknowledged, 1_000);
        r.delivery(PublishId(2), &DeliveryStatus::Sent, 2_000);
        r.delivery(PublishId(2), &DeliveryStatus::Acknowledged, 4_000);
        r.delivery(PublishId(3), &DeliveryStatus::Acknowledged, 5_000);
        // 4 is still in flight: the client resends it itself.
        let again = topics(r.link_lost(5_500));
        assert_eq!(again, ["chat/r/messages/me#2", "chat/r/messages/me#3"]);
        assert!(r.link_lost(5_600).is_empty(), "each is repeated once");
        r.delivery(PublishId(4), &DeliveryStatus::Acknowledged, 9_000);
        assert_eq!(topics(r.link_lost(9_100)), ["chat/r/messages/me#4"]);
    }

    #[test]
    fn refused_dropped_and_unknown_publishes_are_never_repeated() {
        let mut r = RecentlyAcked::default();
        sent(&mut r, 1);
        sent(&mut r, 2);
        let refusal = Refusal {
            reason: RefusalReason::Publish(PubAckReason::NotAuthorized),
            code: 0x87,
            reason_string: None,
        };
        r.delivery(PublishId(1), &DeliveryStatus::Refused(refusal), 100);
        r.delivery(
            PublishId(2),
            &DeliveryStatus::Dropped(DropReason::NotAccepted("full".into())),
            100,
        );
        r.delivery(PublishId(9), &DeliveryStatus::Acknowledged, 100);
        assert!(r.link_lost(200).is_empty());
    }

    #[test]
    fn the_lists_stay_bounded() {
        let mut r = RecentlyAcked::default();
        for n in 0..(CAPACITY as u64 * 2) {
            sent(&mut r, n);
        }
        assert_eq!(r.in_flight.len(), CAPACITY);
        for n in CAPACITY as u64..(CAPACITY as u64 * 2) {
            r.delivery(PublishId(n), &DeliveryStatus::Acknowledged, 10);
        }
        r.delivery(PublishId(0), &DeliveryStatus::Acknowledged, 10);
        assert_eq!(r.link_lost(10).len(), CAPACITY);
    }
}
