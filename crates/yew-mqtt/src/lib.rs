//! Yew hooks over the browser MQTT driver.
//!
//! [`use_mqtt`] starts one [`mqtt_browser::Driver`] per component instance (in its first render,
//! so the connect path does not wait for the first layout) and exposes it as a
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
//! - With `share_tabs`, the hooks of a browser's tabs share one connection (one tab leads and
//!   holds it, another takes over when it closes; see `mqtt_browser`'s "Tabs sharing one
//!   connection"): the handle works the same in every tab.
//! - [`UseMqttHandle::setup_error`] says when the client could not start or a subscription
//!   was refused by the session; [`UseMqttHandle::retry_in`] counts down a backoff.
//!
//! A live temperature readout with a button that asks the sensor for a fresh reading (the
//! topics are free here; a broker's ACL decides which ones a user may use):
//!
//! ```no_run
//! use serde::{Deserialize, Serialize};
//! use yew::prelude::*;
//! use yew_mqtt::{use_mqtt, MqttMessage, UseMqttOptions};
//!
//! #[derive(Deserialize)]
//! struct Reading {
//!     celsius: f64,
//! }
//!
//! #[derive(Serialize)]
//! struct Ask {
//!     sensor: &'static str,
//! }
//!
//! #[function_component]
//! fn Thermometer() -> Html {
//!     let celsius = use_state(|| None::<f64>);
//!     let on_message = {
//!         let celsius = celsius.clone();
//!         Callback::from(move |message: MqttMessage| {
//!             if let Ok(reading) = message.json::<Reading>() {
//!                 celsius.set(Some(reading.celsius));
//!             }
//!         })
//!     };
//!     // Defaults: token from `/api/mqtt-token` (the page's cookies), broker from the token
//!     // response's `brokerUrl`, MQTT 5 falling back to 3.1.1, QoS 1.
//!     let mqtt = use_mqtt(UseMqttOptions {
//!         subscriptions: vec!["sensors/kitchen/temperature".into()],
//!         on_message,
//!         ..UseMqttOptions::default()
//!     });
//!     let ask = {
//!         let mqtt = mqtt.clone();
//!         Callback::from(move |_: MouseEvent| {
//!             // Err only when the client is not running or its offline queue is full.
//!             let _ = mqtt.publish_json("sensors/ask", &Ask { sensor: "kitchen" });
//!         })
//!     };
//!     html! {
//!         <section>
//!             <p>{ mqtt.status().to_string() }</p>
//!             <p>{ celsius.map_or("no reading yet".into(), |c| format!("{c:.1} °C")) }</p>
//!             <button onclick={ask} disabled={!mqtt.state().is_up()}>{ "Ask now" }</button>
//!         </section>
//!     }
//! }
//!
//! fn main() {
//!     yew::Renderer::<Thermometer>::new().render();
//! }
//! ```
//!
//! A whole app on this hook, with its own Trunk page, is `examples/presence` in the repository:
//! a presence board (who is in a room, and their status) against the dev stack.

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
    DropReason, DroppedMessage, LastWill, ProtocolVersion, PublishId, QoS, Reason, Refusal, Status,
    SubscriptionStatus, Subscriptions, SubscriptionsIter,
};

// The README's examples are compiled with the doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
