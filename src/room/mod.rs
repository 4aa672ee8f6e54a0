//! `use_chat_room`: one chat room over the MQTT hook, as a handle the components render.
//!
//! The hook owns everything that is neither markup nor a rule of the reducer: message ids (Web
//! Crypto), the inbox that batches incoming payloads into one reducer action per window, who the
//! user is (the token's user id), which topics the room runs on ([`route`]), following the
//! delivery of own publishes, the once-a-second re-render of the reconnect countdown (the time
//! left comes from the driver's clock, `retry_in()`), and the dev sign-in offer. Its decisions are pure functions ([`route`], [`crate::chat::status_view`]) tested
//! natively; the hook only wires them to `use_mqtt`.

pub mod history;
mod inbox;
pub mod presence;
pub mod route;

use std::cell::RefCell;
use std::rc::Rc;

use livechat_config::Config;
use yew::prelude::*;
use yew_mqtt::{
    use_mqtt, ConnectionState, DeliveryStatus, LastWill, MqttMessage, PublishId, QoS,
    SubscriptionStatus, UseMqttHandle, UseMqttOptions,
};

use crate::chat::acked::RecentlyAcked;
use crate::chat::presence::{PresenceAction, PresenceEntry, PresenceTopics, PresenceView};
use crate::chat::{
    setup_failed, status_view, ChatAction, ChatSettings, ChatState, ComposeError, Inbound,
    RoomTopics, Source, StatusView, TopicMode,
};
pub use inbox::{BatchedInbox, BATCH_WINDOW_MS};
use route::{display_name, Route};

/// The dev stack's sign-in form: where it goes and the page to come back to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DevSignIn {
    /// The sign-in page (`devLogin`, validated like the token URL).
    pub action: AttrValue,
    /// The current page (path, query and fragment), passed as `next`.
    pub next: AttrValue,
}

/// What [`use_chat_room`] returns: the chat's state, what the status line says, and the user's
/// commands as callbacks. Cheap to clone.
#[derive(Clone)]
pub struct ChatRoomHandle {
    chat: UseReducerHandle<ChatState>,
    status: StatusView,
    notice: Option<&'static str>,
    blocked: Option<AttrValue>,
    dev_sign_in: Option<DevSignIn>,
    presence: Option<UseReducerHandle<PresenceView>>,
    max_message_length: usize,
    on_send: Callback<String, Result<(), String>>,
    on_retry: Callback<()>,
    on_scroll: Callback<bool>,
}

impl ChatRoomHandle {
    /// The reducer's state: messages, delivery, unread count, scroll intent.
    pub fn chat(&self) -> &UseReducerHandle<ChatState> {
        &self.chat
    }

    /// The status line: tone, words (with the reconnect countdown) and whether retry helps.
    pub fn status(&self) -> &StatusView {
        &self.status
    }

    /// Why authors are not verified, when the room runs on the shared topic.
    pub fn notice(&self) -> Option<&'static str> {
        self.notice
    }

    /// Why the user cannot write (the broker refused the room), if so.
    pub fn blocked(&self) -> Option<&AttrValue> {
        self.blocked.as_ref()
    }

    /// The dev sign-in to offer: only while signed out, and only when configuration has a
    /// `devLogin` page (the dev stack's `config.json` names it when its sign-in is on).
    pub fn dev_sign_in(&self) -> Option<&DevSignIn> {
        self.dev_sign_in.as_ref()
    }

    /// Who is in the room: `None` while the room's presence cannot be read (shared topic mode,
    /// not connected yet, or the broker refused the presence subscription).
    pub fn presence(&self) -> Option<&UseReducerHandle<PresenceView>> {
        self.presence.as_ref()
    }

    /// Longest message, in characters.
    pub fn max_message_length(&self) -> usize {
        self.max_message_length
    }

    /// Sends a draft: `Err(why)` when it was not sent (the composer keeps it).
    pub fn on_send(&self) -> Callback<String, Result<(), String>> {
        self.on_send.clone()
    }

    /// Tries to connect again at once.
    pub fn on_retry(&self) -> Callback<()> {
        self.on_retry.clone()
    }

    /// The user scrolled; whether the list is now at its bottom.
    pub fn on_scroll(&self) -> Callback<bool> {
        self.on_scroll.clone()
    }
}

/// A message id: 128 bits from the browser's CSPRNG (Web Crypto), hex. Unguessable, so nobody
/// can send a message id before its author does (and ids are only compared per verified author
/// anyway).
fn client_message_id() -> String {
    random_hex(16)
}

/// `len` (at most 16) random bytes from the browser's CSPRNG (Web Crypto), as lowercase hex.
fn random_hex(len: usize) -> String {
    let mut bytes = [0u8; 16];
    let bytes = &mut bytes[..len];
    let filled = web_sys::window()
        .and_then(|w| w.crypto().ok())
        .and_then(|c| c.get_random_values_with_u8_array(bytes).ok());
    if filled.is_none() {
        // Web Crypto exists in every browser that runs WebAssembly; if it ever fails, refuse
        // to make up a weak id.
        panic!("crypto.getRandomValues is unavailable");
    }
    hex(bytes)
}

/// `bytes` as lowercase hex (without the formatting machinery of `{:02x}`).
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    bytes
        .iter()
        .flat_map(|b| [DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 15)]])
        .map(char::from)
        .collect()
}

/// The current page as a same-origin path (`/x?y#z`), for the sign-in's `next`.
fn current_page() -> String {
    let Some(location) = web_sys::window().map(|w| w.location()) else {
        return "/".to_owned();
    };
    let part = |r: Result<String, _>| r.unwrap_or_default();
    format!(
        "{}{}{}",
        part(location.pathname()),
        part(location.search()),
        part(location.hash())
    )
}

/// What the hook needs for presence: the room's presence topics, this tab's Will, and where
/// presence messages go.
struct PresenceWiring {
    topics: Rc<PresenceTopics>,
    will: Option<LastWill>,
    dispatcher: UseReducerDispatcher<PresenceView>,
}

/// The hook's options for `config`: the connection settings, the room's subscriptions, and
/// the callbacks that feed the inbox and the reducer (and presence, when on).
fn mqtt_options(
    config: &Config,
    topics: Rc<RoomTopics>,
    inbox: BatchedInbox,
    dispatcher: UseReducerDispatcher<ChatState>,
    presence: Option<PresenceWiring>,
    acked: Rc<RefCell<RecentlyAcked>>,
) -> UseMqttOptions {
    let on_dropped = {
        let dispatcher = dispatcher.clone();
        Callback::from(move |_| dispatcher.dispatch(ChatAction::Dropped))
    };
    UseMqttOptions {
        token_url: config.token_url.clone(),
        refresh_url: config.refresh_url.clone(),
        broker_url: config.broker_url.clone(),
        broker_urls: config.broker_urls.clone(),
        protocol: config.protocol,
        keep_alive_secs: config.keep_alive_secs,
        share_tabs: config.share_tabs,
        default_qos: config.qos,
        // Per-author mode reads the author topics (verified) and the shared one (the
        // quickstart's, unverified); the author filter stays declared after a refusal, so the
        // fallback follows the broker if its ACL changes.
        subscriptions: {
            let mut filters = topics.filters(config.topic_mode);
            filters.extend(presence.as_ref().map(|p| p.topics.filter().to_owned()));
            filters
        },
        will: presence.as_ref().and_then(|p| p.will.clone()),
        on_message: Callback::from(move |m: MqttMessage| {
            if let Some(p) = presence
                .as_ref()
                .filter(|p| p.topics.parse(&m.topic).is_some())
            {
                p.dispatcher.dispatch(PresenceAction::Heard {
                    topic: m.topic,
                    payload: m.payload,
                });
                return;
            }
            let author = match topics.source(&m.topic) {
                Some(Source::Author(author)) => Some(author),
                Some(Source::Shared) => None,
                None => return,
            };
            let mut inbound = Inbound::new(author, m.payload);
            inbound.retained = m.retain;
            inbox.push(inbound);
        }),
        on_delivery: Callback::from(move |(id, status): (PublishId, DeliveryStatus)| {
            let now = js_sys::Date::now() as u64;
            acked.borrow_mut().delivery(id, &status, now);
            dispatcher.dispatch(ChatAction::Delivery(id, status));
        }),
        on_dropped,
        ..UseMqttOptions::default()
    }
}

/// What the room hook remembers across renders (one `use_mut_ref`, one copy of Yew's hook).
#[derive(Default)]
struct Remembered {
    /// The broker refused the author topics once: sticky for the page's life.
    authors_refused: bool,
    /// What the room's effect saw when it last ran (`None` before the first render's).
    seen: Option<Seen>,
}

/// What the room's effect acts on when it changes (the dependencies of its parts).
#[derive(Clone)]
struct Seen {
    /// How many room messages the log has taken in.
    received: u64,
    /// Whether the link is up.
    connected: bool,
    /// The verified user.
    me: Option<String>,
    /// The user's display name, once known.
    name: Option<String>,
    /// Whether this tab's presence entry can be published (subscribed and connected).
    presence_ready: bool,
    /// Whether the room's presence lists this tab.
    own_listed: bool,
}

/// What the room's effect does (after every render, each part only when what it depends on
/// changed): one effect rather than one per part, as each is a copy of Yew's effect hook.
struct RoomEffect {
    seen: Seen,
    remembered: Rc<RefCell<Remembered>>,
    chat: UseReducerDispatcher<ChatState>,
    presence: UseReducerDispatcher<PresenceView>,
    mqtt: UseMqttHandle,
    acked: Rc<RefCell<RecentlyAcked>>,
    qos: QoS,
    presence_topics: Rc<PresenceTopics>,
    instance: Rc<String>,
    entry: PresenceEntry,
    /// Re-renders once a second while the reconnect countdown shows ("Reconnecting in 4 s").
    tick: Option<UseForceUpdateHandle>,
    /// The history's part, run last.
    history: history::HistoryEffect,
}

impl RoomEffect {
    /// Runs the parts whose dependencies changed since the last run; returns the countdown's
    /// timer (dropped, so cancelled, before the next run).
    fn run(self) -> Option<gloo_timers::callback::Timeout> {
        let seen = self.seen;
        let before = self.remembered.borrow_mut().seen.replace(seen.clone());
        let changed =
            |same: fn(&Seen, &Seen) -> bool| before.as_ref().is_none_or(|b| !same(b, &seen));
        // After the render that showed them: how many room messages the log has taken in.
        if changed(|a, b| a.received == b.received) {
            crate::bench_hook::report_rendered(seen.received);
        }
        // Own messages acknowledged just before a lost link are published again (chat::acked).
        if changed(|a, b| a.connected == b.connected) && !seen.connected {
            let now = js_sys::Date::now() as u64;
            let repeats = self.acked.borrow_mut().link_lost(now);
            crate::bench_hook::report_repeated(repeats.len());
            for (topic, payload) in repeats {
                // Queued until the link is back; a full queue refuses it, as it would refuse
                // a new message (the first copy was acknowledged: nothing is lost by that).
                let _ = self.mqtt.publish(&topic, payload, self.qos);
            }
        }
        // Who the user is, and the name the chat shows for them.
        if changed(|a, b| (&a.me, &a.name) == (&b.me, &b.name)) {
            if let Some(name) = &seen.name {
                self.chat.dispatch(ChatAction::Identified {
                    me: seen.me.clone(),
                    name: name.clone(),
                });
            }
        }
        if changed(|a, b| a.me == b.me) {
            self.presence.dispatch(PresenceAction::Me(seen.me.clone()));
        }
        // This tab's entry: published retained on every (re)connect and whenever it is missing.
        if changed(|a, b| {
            (a.presence_ready, a.own_listed, &a.me) == (b.presence_ready, b.own_listed, &b.me)
        }) {
            // As when this part last ran: a change of it runs this part.
            let was_ready = before.as_ref().is_some_and(|b| b.presence_ready);
            if presence::should_publish(seen.presence_ready, was_ready, seen.own_listed) {
                let topic = seen
                    .me
                    .as_deref()
                    .and_then(|m| self.presence_topics.entry_topic(m, &self.instance));
                if let Some(topic) = topic {
                    let _ = self.mqtt.publish_retained(
                        &topic,
                        self.entry.to_json().into_bytes(),
                        QoS::AtLeastOnce,
                    );
                }
            }
        }
        self.history.run();
        // A timer for the next second (any render in between, which shows the countdown anyway,
        // starts it over).
        self.tick.map(|rerender| {
            gloo_timers::callback::Timeout::new(1_000, move || rerender.force_update())
        })
    }
}

/// Runs the chat for `config.room` for as long as the component is mounted.
#[hook]
pub fn use_chat_room(config: Rc<Config>) -> ChatRoomHandle {
    // One memo per lifetime rather than one per value: each is a copy of Yew's memo hook.
    let (topics, presence_topics) = {
        let both = use_memo(config.room.clone(), |room| {
            (
                Rc::new(RoomTopics::new(room)),
                Rc::new(PresenceTopics::new(room)),
            )
        });
        (both.0.clone(), both.1.clone())
    };
    // Fixed for the page's life: this tab's presence instance id (random, so rotations and
    // reconnects keep it), when it joined, and its guest tag.
    let fixed = use_memo((), {
        let share = config.share_tabs;
        move |()| {
            (
                Rc::new(presence::instance(share, || random_hex(8))),
                js_sys::Date::now() as u64,
                random_hex(2),
            )
        }
    });
    let (instance, since) = (fixed.0.clone(), fixed.1);
    let chat = use_reducer({
        let max = config.max_message_length;
        // Without a configured name the user is named by the token's identity once it arrives
        // (the `Identified` part of the room's one effect, `RoomEffect::run`).
        let user = config.user_name.clone().unwrap_or_default();
        move || ChatState::new(ChatSettings::new(user, max))
    });
    let inbox = inbox::use_batched_inbox(chat.dispatcher());
    // Presence (per-author mode only: entries need verified authors).
    let presence_on = config.topic_mode == TopicMode::PerAuthor;
    let presence = use_reducer({
        let (topics, instance) = ((*presence_topics).clone(), (*instance).clone());
        move || PresenceView::new(topics, instance)
    });
    // Own messages acknowledged just before a lost link are published again (chat::acked).
    let acked = use_mut_ref(RecentlyAcked::default);
    let mqtt = use_mqtt(mqtt_options(
        &config,
        topics.clone(),
        inbox,
        chat.dispatcher(),
        presence_on.then(|| PresenceWiring {
            topics: presence_topics.clone(),
            will: presence::will(&presence_topics, &instance),
            dispatcher: presence.dispatcher(),
        }),
        acked.clone(),
    ));
    let connected = mqtt.state().is_up();

    // Who the user is: the token's user id (the verified author of own messages), which also
    // names the user when the site configured no name. The connection layer keeps it until a
    // sign-out (the supervisor across reconnects, the tab group across a handover).
    let me = mqtt.user_id().map(str::to_owned);
    let name = display_name(me.as_deref(), connected, &fixed.2);

    // Sticky for the page's life: after a reconnect to a broker that lost the session the
    // author filter is Pending again until its SUBACK, and the room must not flip back to
    // per-author topics (and publish where it will be refused) in between.
    let remembered = use_mut_ref(Remembered::default);
    if matches!(
        mqtt.subscriptions().get(topics.authors_filter()),
        Some(SubscriptionStatus::Refused(_))
    ) {
        remembered.borrow_mut().authors_refused = true;
    }
    let authors_refused = remembered.borrow().authors_refused;
    let route = Route::new(
        &topics,
        config.topic_mode,
        me.as_deref(),
        connected,
        authors_refused,
    );
    let room = mqtt.subscriptions().get(route.room_filter);
    let reason = mqtt.reason().map(ToString::to_string);
    let status = match mqtt.setup_error() {
        Some(error) => setup_failed(&error.to_string()),
        None => status_view(mqtt.state(), room, reason.as_deref(), mqtt.retry_in()),
    };
    let blocked = matches!(room, Some(SubscriptionStatus::Refused(_)))
        .then(|| AttrValue::from("You can't write in this room."));
    // Whether this tab's presence entry can be published.
    let presence_ready = presence_on
        && connected
        && matches!(
            mqtt.subscriptions().get(presence_topics.filter()),
            Some(SubscriptionStatus::Granted(_))
        );
    let own_listed = me
        .as_deref()
        .is_some_and(|m| presence.presence().has_instance(m, &instance));
    // The room's history and outbox across reloads, per verified user.
    let history = history::use_history(
        history::HistoryWiring {
            room: config.room.clone(),
            topics: topics.clone(),
            max_messages: config.stored_messages,
            qos: config.qos,
            me: me.clone(),
            history_url: config.history_url.clone(),
        },
        chat.clone(),
        mqtt.clone(),
    );
    {
        let rerender = use_force_update();
        let effect = RoomEffect {
            seen: Seen {
                received: chat.received(),
                connected,
                me: me.clone(),
                name,
                presence_ready,
                own_listed,
            },
            remembered,
            chat: chat.dispatcher(),
            presence: presence.dispatcher(),
            mqtt: mqtt.clone(),
            acked: acked.clone(),
            qos: config.qos,
            presence_topics,
            instance,
            entry: PresenceEntry {
                name: config.user_name.clone(),
                since,
            },
            tick: matches!(mqtt.state(), ConnectionState::Backoff { .. }).then_some(rerender),
            history,
        };
        use_effect(move || {
            let timer = effect.run();
            move || drop(timer)
        });
    }
    let dev_sign_in = match (&config.dev_login, mqtt.state()) {
        (Some(page), ConnectionState::SignedOut) => Some(DevSignIn {
            action: page.clone().into(),
            next: current_page().into(),
        }),
        _ => None,
    };

    let on_retry = {
        let mqtt = mqtt.clone();
        Callback::from(move |()| mqtt.retry_now())
    };
    let on_scroll = {
        let dispatcher = chat.dispatcher();
        Callback::from(move |at_bottom| dispatcher.dispatch(ChatAction::Scrolled { at_bottom }))
    };
    let on_send = {
        let (chat, qos, acked) = (chat.clone(), config.qos, acked.clone());
        let (topic, author) = (route.topic.clone(), route.author.clone());
        Callback::from(move |draft: String| -> Result<(), String> {
            let message = chat
                .compose(&draft, client_message_id(), js_sys::Date::now() as u64)
                .map_err(|e| e.to_string())?;
            // Before the first token the user's author topic is not known yet.
            let topic = topic
                .as_deref()
                .ok_or_else(|| ComposeError::NoUser.to_string())?;
            let payload = message.to_json();
            let publish = mqtt
                .publish(topic, payload.clone(), qos)
                .map_err(|e| e.to_string());
            // On the own author topic only: shared-topic readers do not drop a repeat.
            if let (Ok(id), Some(_)) = (&publish, &author) {
                acked.borrow_mut().sent(*id, topic.to_owned(), payload);
            }
            chat.dispatch(ChatAction::Sent {
                message,
                author: author.clone(),
                publish,
            });
            Ok(())
        })
    };

    ChatRoomHandle {
        chat,
        status,
        notice: route.notice,
        blocked,
        dev_sign_in,
        presence: presence_ready.then_some(presence),
        max_message_length: config.max_message_length,
        on_send,
        on_retry,
        on_scroll,
    }
}

#[cfg(test)]
mod tests {
    use super::hex;

    #[test]
    fn bytes_are_lowercase_hex_two_digits_each() {
        assert_eq!(hex(&[]), "");
        assert_eq!(hex(&[0x00, 0x0f, 0xa0, 0xff, 0x5c]), "000fa0ff5c");
        let all: Vec<u8> = (0..=255).collect();
        let expected: String = all.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex(&all), expected);
    }
}
