//! This tab's presence in the room (see docs/ARCHITECTURE.md, "Presence"): its Will and when
//! to publish its entry. The state and its rules are in [`crate::chat::presence`].

use yew_mqtt::{LastWill, QoS};

use crate::chat::presence::{PresenceTopics, PRESENCE_WILL_DELAY_SECS};

/// The storage key of the browser's presence instance while tabs share one connection.
const SHARED_INSTANCE_KEY: &str = "livechat-presence-instance";

/// This chat's presence instance: 64 random bits (`fresh`), fixed for the page's life. While the
/// tabs share one connection (`share` on and supported) it is the browser's, shared by its tabs
/// through `localStorage`: the connection has one Will, the leader's, so all tabs of a room must
/// be one entry (one tab closing leaves it; the last one, or the browser, ends it). Where
/// storage is unavailable each tab keeps its own.
pub fn instance(share: bool, fresh: impl FnOnce() -> String) -> String {
    if !(share && mqtt_browser::tabs::supported()) {
        return fresh();
    }
    let storage = web_sys::window().and_then(|w| w.local_storage().ok().flatten());
    let Some(storage) = storage else {
        return fresh();
    };
    match storage.get_item(SHARED_INSTANCE_KEY).ok().flatten() {
        Some(id) if is_instance(&id) => id,
        _ => {
            let id = fresh();
            // Storage full or refused: this tab keeps its own id.
            let _ = storage.set_item(SHARED_INSTANCE_KEY, &id);
            id
        }
    }
}

/// Whether `id` looks like an instance id this app made (16 lowercase hex digits).
fn is_instance(id: &str) -> bool {
    id.len() == 16
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

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
    fn only_an_id_this_app_made_is_taken_from_storage() {
        assert!(is_instance("0123456789abcdef"));
        for bad in [
            "",
            "0123456789ABCDEF",
            "0123456789abcde",
            "0123456789abcdef0",
            "a/b+#",
        ] {
            assert!(!is_instance(bad), "{bad}");
        }
    }

    #[test]
    fn the_entry_is_published_on_each_connect_and_when_missing() {
        assert!(should_publish(true, false, true), "a (re)connect");
        assert!(should_publish(true, true, false), "cleared while connected");
        assert!(!should_publish(true, true, true), "listed: nothing to do");
        assert!(!should_publish(false, true, false), "not connected");
    }
}
