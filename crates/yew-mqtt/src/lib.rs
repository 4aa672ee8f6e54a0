//! Yew hooks over the browser MQTT driver.
//!
//! [`use_mqtt`] mounts one [`mqtt_browser::Driver`] per component instance and exposes it as a
//! [`UseMqttHandle`]: the typed connection state with its reason, per-filter subscription
//! statuses, and the commands (`subscribe`, `publish`, `publish_json`, `retry_now`). The hook is
//! thin wiring: tokens, reconnects, backoff, rotation and the offline queue live in the
//! supervisor (`mqtt-lifecycle`) and the driver (`mqtt-browser`), which are tested on their own.
//!
//! - Messages go to `on_message`, delivery progress to `on_delivery`, incoming messages skipped
//!   for being above `maximum_packet_size` to `on_dropped`; the latest closures
//!   passed in the options are always the ones called (they are kept in a ref updated on every
//!   render), so they may capture fresh state.
//! - `subscriptions` are declared: applied once connected, restored by the session after each
//!   reconnect, and diffed when the list changes.
//! - Unmounting drops the driver: DISCONNECT, sockets closed, timer cleared, listeners removed,
//!   token fetches aborted.
//!
//! ```ignore
//! #[function_component]
//! fn Room() -> Html {
//!     let on_message = Callback::from(|m: MqttMessage| {
//!         if let Ok(chat) = m.json::<Chat>() { /* reduce */ }
//!     });
//!     let mqtt = use_mqtt(UseMqttOptions {
//!         broker_url: "wss://chat.example/mqtt".into(),
//!         subscriptions: vec!["chat/lobby/messages".into()],
//!         on_message,
//!         ..Default::default()
//!     });
//!     let send = {
//!         let mqtt = mqtt.clone();
//!         Callback::from(move |_| { let _ = mqtt.publish_json("chat/lobby/messages", &Chat::new("hi")); })
//!     };
//!     html! { <p>{ mqtt.status().to_string() }</p> }
//! }
//! ```

mod handle;
mod hook;
mod message;
mod options;

pub use handle::UseMqttHandle;
pub use hook::use_mqtt;
pub use message::{JsonError, MqttMessage, SetupError, UseMqttError};
pub use options::{ConnectionKey, UseMqttOptions};

pub use mqtt_browser::{
    debug_counts, BrowserError, CommandError, ConnectionState, DebugCounts, DeliveryStatus,
    DropReason, DroppedMessage, ProtocolVersion, PublishId, QoS, Reason, Refusal, Status,
    SubscriptionStatus,
};
