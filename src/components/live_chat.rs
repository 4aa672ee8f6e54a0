//! The chat panel: status line, message log and composer, wired to the MQTT hook.

use std::rc::Rc;

use yew::prelude::*;
use yew_mqtt::{use_mqtt, ConnectionState, UseMqttOptions};

use crate::batch::use_batched_inbox;
use crate::chat::{
    status_view, ChatAction, ChatSettings, ChatState, ComposeError, Inbound, LinkState, RoomAccess,
    RoomTopics, Source, TopicMode,
};
use crate::components::{Composer, MessageList, StatusBar};
use crate::config::Config;
use crate::connection;

/// Props of [`LiveChat`].
#[derive(Properties, PartialEq)]
pub struct LiveChatProps {
    /// The validated runtime configuration.
    pub config: Rc<Config>,
}

/// A message id: 128 bits from the browser's CSPRNG (Web Crypto), hex. Unguessable, so nobody
/// can send a message id before its author does (and ids are only compared per verified author
/// anyway).
fn client_message_id() -> String {
    let mut bytes = [0u8; 16];
    let filled = web_sys::window()
        .and_then(|w| w.crypto().ok())
        .and_then(|c| c.get_random_values_with_u8_array(&mut bytes).ok());
    if filled.is_none() {
        // Web Crypto exists in every browser that runs WebAssembly; if it ever fails, refuse
        // to make up a weak id.
        panic!("crypto.getRandomValues is unavailable");
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Why the room runs on the shared topic, in words for the notice.
fn shared_reason(configured: bool, refused: bool) -> &'static str {
    if configured {
        "This room uses the shared topic: authors are not verified by the broker."
    } else if refused {
        "The broker does not offer per-author topics in this room, so authors are not verified."
    } else {
        "Your sign-in gives no user id the broker can check, so authors are not verified."
    }
}

/// The whole chat for one room.
#[function_component(LiveChat)]
pub fn live_chat(props: &LiveChatProps) -> Html {
    let config = props.config.clone();
    let topics = use_memo(config.room.clone(), |room| RoomTopics::new(room));
    let chat = use_reducer({
        let max = config.max_message_length;
        // Without a configured name the user is named by the token endpoint's identity once
        // it arrives (see the `Identified` effect below).
        let user = config.user_name.clone().unwrap_or_default();
        move || ChatState::new(ChatSettings::new(user, max))
    });
    let inbox = use_batched_inbox(chat.dispatcher());
    // After the render that showed them: how many room messages the log has taken in.
    use_effect_with(chat.received(), |count| {
        crate::bench_hook::report_rendered(*count)
    });

    let options = {
        let inbox = inbox.clone();
        let topics = topics.clone();
        let dispatcher = chat.dispatcher();
        let on_dropped = {
            let dispatcher = chat.dispatcher();
            Callback::from(move |_| dispatcher.dispatch(ChatAction::Dropped))
        };
        UseMqttOptions {
            token_url: config.token_url.clone(),
            refresh_url: config.refresh_url.clone(),
            broker_url: config.broker_url.clone(),
            protocol: connection::protocol(config.mqtt_version),
            default_qos: connection::qos(config.qos),
            // Per-author mode reads the author topics (verified) and the shared one (the
            // quickstart's, unverified); the author filter stays declared after a refusal, so
            // the fallback follows the broker if its ACL changes.
            subscriptions: topics.filters(config.topic_mode),
            on_message: Callback::from(move |m: yew_mqtt::MqttMessage| {
                let author = match topics.source(&m.topic) {
                    Some(Source::Author(author)) => Some(author),
                    Some(Source::Shared) => None,
                    None => return,
                };
                let mut inbound = Inbound::new(author, m.payload);
                inbound.retained = m.retain;
                inbox.push(inbound);
            }),
            on_delivery: Callback::from(
                move |(id, status): (yew_mqtt::PublishId, yew_mqtt::DeliveryStatus)| {
                    let update = connection::delivery_update(&status);
                    dispatcher.dispatch(ChatAction::Delivery(connection::publish_key(id), update));
                },
            ),
            on_dropped,
            ..UseMqttOptions::default()
        }
    };
    let mqtt = use_mqtt(options);
    let connected = matches!(
        mqtt.state(),
        ConnectionState::Connected { .. } | ConnectionState::Rotating { .. }
    );

    // Who the user is: the token's user id (the verified author of own messages), which also
    // names the user when the site configured no name. A token without any identity leaves a
    // guest name, given once connected, and no verified author.
    let me = mqtt.user_id().map(str::to_owned);
    {
        let guest = use_memo((), |()| client_message_id()[..4].to_owned());
        let name = me
            .clone()
            .or_else(|| connected.then(|| format!("Guest {guest}")));
        let dispatcher = chat.dispatcher();
        use_effect_with((me.clone(), name), move |(me, name)| {
            if let Some(name) = name {
                dispatcher.dispatch(ChatAction::Identified {
                    me: me.clone(),
                    name: name.clone(),
                });
            }
        });
    }

    // Per-author unless the site said shared, the broker refused the author topics, or the
    // token's identity cannot be a topic level.
    let own_topic = me.as_deref().and_then(|me| topics.author_topic(me));
    let configured_shared = config.topic_mode == TopicMode::Shared;
    let refused = matches!(
        mqtt.subscriptions().get(topics.authors_filter()),
        Some(yew_mqtt::SubscriptionStatus::Refused(_))
    );
    let unidentified = connected && own_topic.is_none();
    let mode = if configured_shared || refused || unidentified {
        TopicMode::Shared
    } else {
        TopicMode::PerAuthor
    };
    let notice = (mode == TopicMode::Shared).then(|| shared_reason(configured_shared, refused));

    // A one-second tick while a countdown is on screen ("Reconnecting in 4 s").
    let tick = use_state(|| 0u32);
    let now_ms = web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0, |p| p.now().max(0.0) as u64);
    let link = connection::link_state(mqtt.state(), now_ms);
    {
        let counting = matches!(link, LinkState::Backoff { .. });
        let tick = tick.clone();
        use_effect_with((counting, *tick), move |(counting, n)| {
            let timer = counting.then(|| {
                let (tick, n) = (tick.clone(), *n);
                gloo_timers::callback::Timeout::new(1_000, move || tick.set(n.wrapping_add(1)))
            });
            move || drop(timer)
        });
    }
    let room_filter = match mode {
        TopicMode::PerAuthor => topics.authors_filter(),
        TopicMode::Shared => topics.shared(),
    };
    let room = connection::room_access(mqtt.subscriptions().get(room_filter));
    let reason = mqtt.reason().map(ToString::to_string);
    let view = status_view(&link, &room, reason.as_deref());

    let on_retry = {
        let mqtt = mqtt.clone();
        Callback::from(move |()| mqtt.retry_now())
    };
    let on_scroll = {
        let dispatcher = chat.dispatcher();
        Callback::from(move |at_bottom| dispatcher.dispatch(ChatAction::Scrolled { at_bottom }))
    };
    let on_send = {
        let (chat, mqtt, topics, qos) = (chat.clone(), mqtt.clone(), topics.clone(), config.qos);
        let (author, topic) = match mode {
            TopicMode::PerAuthor => (me.clone().map(Rc::<str>::from), own_topic.clone()),
            TopicMode::Shared => (None, Some(topics.shared().to_owned())),
        };
        Callback::from(move |draft: String| -> Result<(), String> {
            let message = chat
                .compose(&draft, client_message_id(), js_sys::Date::now() as u64)
                .map_err(|e| e.to_string())?;
            // Before the first token the user's author topic is not known yet.
            let topic = topic
                .as_deref()
                .ok_or_else(|| ComposeError::NoUser.to_string())?;
            let publish = mqtt
                .publish(topic, message.to_json(), connection::qos(qos))
                .map(connection::publish_key)
                .map_err(|e| e.to_string());
            chat.dispatch(ChatAction::Sent {
                message,
                author: author.clone(),
                publish,
            });
            Ok(())
        })
    };
    let blocked: Option<AttrValue> = match &room {
        RoomAccess::Refused(_) => Some("You can't write in this room.".into()),
        _ => None,
    };

    html! {
        <div class="lc-chat">
            <StatusBar {view} {on_retry} />
            if let Some(notice) = notice {
                <p class="lc-notice" role="note">{ notice }</p>
            }
            <MessageList chat={chat.clone()} {on_scroll} />
            <Composer max_chars={config.max_message_length} {on_send} {blocked} />
        </div>
    }
}
