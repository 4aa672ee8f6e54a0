//! This tab's presence in the room (see docs/ARCHITECTURE.md, "Presence"): its Will and when
//! to publish its entry. The state and its rules are in [`crate::chat::presence`].

use yew_mqtt::{LastWill, QoS};

use crate::chat::presence::{PresenceTopics, PRESENCE_WILL_DELAY_SECS};

/// This tab's Will: an empty retained payload on its entry topic (deleting the entry), QoS 1,
/// with the Will Delay Interval; the author level is filled in with the token's user before
/// each CONNECT ([`mqtt_lifecycle::USER_ID_PLACEHOLDER`]). `None` if `instance` cannot be a level.
pub fn will(topics: &PresenceTopics, instance: &str) -> Option<LastWill> {
    let topic = topics.entry_topic(mqtt_lifecycle::USER_ID_PLACEHOLDER, instance)?;
    Some(LastWill {
        topic,
        payload: Vec::new(),
        qos: QoS::AtLeastOnce,
        retain: true,
        delay_interval: Some(PRESENCE_WILL_DELAY_SECS),
        ..LastWill::default()
    })
}

/// Whether to publish this tab's entry now: the link is up and the room's presence is readable
/// (`ready`), and either it just became so (every (re)connect: idempotent for readers) or the
/// entry is missing (not echoed yet, or cleared by a Will, as on MQTT 3.1.1 after a takeover).
pub fn should_publish(ready: bool, was_ready: bool, own_listed: bool) -> bool {
    ready && (!was_ready || !own_listed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_will_deletes_this_tabs_entry_after_the_delay() {
        let w = will(&PresenceTopics::new("lobby"), "0af3").expect("a will");
        assert_eq!(w.topic, "chat/lobby/presence/{userId}/0af3");
        assert!(w.payload.is_empty() && w.retain);
        assert_eq!(w.qos, QoS::AtLeastOnce);
        assert_eq!(w.delay_interval, Some(PRESENCE_WILL_DELAY_SECS));
        assert_eq!(will(&PresenceTopics::new("lobby"), "a/b"), None);
    }

    #[test]
    fn the_entry_is_published_on_each_connect_and_when_missing() {
        assert!(should_publish(true, false, true), "a (re)connect");
        assert!(should_publish(true, true, false), "cleared while connected");
        assert!(!should_publish(true, true, true), "listed: nothing to do");
        assert!(!should_publish(false, true, false), "not connected");
    }
}
