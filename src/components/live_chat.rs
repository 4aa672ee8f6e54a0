//! The chat panel: status line, message log and composer, wired to the MQTT hook.

use std::cell::Cell;
use std::rc::Rc;

use yew::prelude::*;
use yew_mqtt::{use_mqtt, ConnectionState, UseMqttOptions};

use crate::batch::use_batched_inbox;
use crate::chat::{status_view, ChatAction, ChatSettings, ChatState, LinkState, RoomAccess};
use crate::components::{Composer, MessageList, StatusBar};
use crate::config::Config;
use crate::connection;

/// Props of [`LiveChat`].
#[derive(Properties, PartialEq)]
pub struct LiveChatProps {
    /// The validated runtime configuration.
    pub config: Rc<Config>,
}

thread_local! {
    static NEXT_ID: Cell<u64> = const { Cell::new(0) };
}

/// A client message id: a random per-page prefix and a counter.
fn client_message_id(prefix: &str) -> String {
    let n = NEXT_ID.with(|c| {
        c.set(c.get() + 1);
        c.get()
    });
    format!("{prefix}-{n}")
}

fn random_prefix() -> String {
    let a = (js_sys::Math::random() * 2f64.powi(52)) as u64;
    let b = (js_sys::Math::random() * 2f64.powi(52)) as u64;
    format!("{a:x}{b:x}")
}

/// The whole chat for one room.
#[function_component(LiveChat)]
pub fn live_chat(props: &LiveChatProps) -> Html {
    let config = props.config.clone();
    let topic = use_memo(config.clone(), |c| c.topic());
    let id_prefix = use_memo((), |()| random_prefix());
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
        let topic = topic.clone();
        let dispatcher = chat.dispatcher();
        UseMqttOptions {
            token_url: config.token_url.clone(),
            refresh_url: config.refresh_url.clone(),
            broker_url: config.broker_url.clone(),
            protocol: connection::protocol(config.mqtt_version),
            default_qos: connection::qos(config.qos),
            subscriptions: vec![(*topic).clone()],
            on_message: Callback::from(move |m: yew_mqtt::MqttMessage| {
                if m.topic == *topic {
                    inbox.push(Rc::from(m.payload));
                }
            }),
            on_delivery: Callback::from(
                move |(id, status): (yew_mqtt::PublishId, yew_mqtt::DeliveryStatus)| {
                    let update = connection::delivery_update(&status);
                    dispatcher.dispatch(ChatAction::Delivery(connection::publish_key(id), update));
                },
            ),
            ..UseMqttOptions::default()
        }
    };
    let mqtt = use_mqtt(options);

    // The signed-in identity names the user when the site configured no name (the reducer
    // ignores it otherwise). A token without any identity leaves a stable-per-page guest name,
    // given once connected.
    {
        let identity = mqtt.user_id().map(str::to_owned).or_else(|| {
            matches!(mqtt.state(), ConnectionState::Connected { .. })
                .then(|| format!("Guest {}", &id_prefix[..4.min(id_prefix.len())]))
        });
        let dispatcher = chat.dispatcher();
        use_effect_with(identity, move |identity| {
            if let Some(name) = identity {
                dispatcher.dispatch(ChatAction::Identified(name.clone()));
            }
        });
    }

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
    let room = connection::room_access(mqtt.subscriptions().get(topic.as_str()));
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
        let (chat, mqtt, topic, prefix, qos) = (
            chat.clone(),
            mqtt.clone(),
            topic.clone(),
            id_prefix.clone(),
            config.qos,
        );
        Callback::from(move |draft: String| -> Result<(), String> {
            let message = chat
                .compose(
                    &draft,
                    client_message_id(&prefix),
                    js_sys::Date::now() as u64,
                )
                .map_err(|e| e.to_string())?;
            let publish = mqtt
                .publish(topic.as_str(), message.to_json(), connection::qos(qos))
                .map(connection::publish_key)
                .map_err(|e| e.to_string());
            chat.dispatch(ChatAction::Sent { message, publish });
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
            <MessageList chat={chat.clone()} {on_scroll} />
            <Composer max_chars={config.max_message_length} {on_send} {blocked} />
        </div>
    }
}
