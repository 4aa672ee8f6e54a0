//! Browser driver: owns the WebSockets, one timer and the token fetches, and feeds the sans-IO
//! core.
//!
//! # The model
//! [`mqtt_lifecycle::Supervisor`] decides everything (when to fetch a token, open or close a
//! link, back off, rotate) and never touches the browser. A [`Driver`] runs it in a page:
//!
//! - it **performs** the supervisor's actions: `FetchToken`/`RefreshToken` become a `fetch`
//!   (`credentials: include`, abortable), `OpenLink` a WebSocket
//!   (subprotocol `mqtt`, binary frames), `Send` bytes queued on the link, `CloseLink` a close;
//! - it **feeds** every happening back as an input, with `now` from `performance.now()`: socket
//!   open/bytes/close, fetch answers, its single timer (armed for
//!   `poll_timeout()`), and the page's `online`, `offline`, `visibilitychange`, `pageshow` and
//!   window `focus`;
//!   a timer that fires far too late (the machine slept) is
//!   fed as a wake;
//! - **after every input** it performs every action and drains every event until the supervisor
//!   has nothing more, re-arms the timer, and hands the events (with a shared [`Snapshot`] of the
//!   state and the session's per-filter subscription statuses) to one subscriber callback;
//! - then one microtask sends each link's queued bytes as **one WebSocket message**, so what one
//!   task produces (a PUBACK and a publish made in reaction to its message, a burst of
//!   publishes) leaves together, in the order it was produced. [`debug_traffic`] counts the
//!   `WebSocket.send` calls.
//!
//! The first driver of a page takes over what the page's loader started while the wasm loaded
//! (the token request and the WebSocket, left in [`HANDOVER_GLOBAL`]), if they are exactly what
//! it would have started itself; [`take_handed_over_response`] gives the loader's configuration
//! response to the app. Every later connect makes its own.
//!
//! Every browser resource is an owned value whose `Drop` releases it (sockets closed, timer
//! cleared, listeners removed, fetches aborted); no closure is leaked with `Closure::forget`.
//! Dropping the [`Driver`] ends the session gracefully and releases everything;
//! [`debug_counts`] reports what is still held, for leak tests.
//!
//! JavaScript exceptions become typed [`BrowserError`]s at the edge; no `JsValue` crosses a
//! module boundary.
//!
//! A client that watches sensor readings and asks for a fresh one. Like the whole crate, it
//! compiles for any target (so code using the driver can be type-checked and unit-tested on the
//! host) but runs only in a browser page:
//!
//! ```no_run
//! use std::rc::Rc;
//! use mqtt_browser::{ClientEvent, Driver, DriverConfig, OutgoingPublish, QoS, Snapshot};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Every default (token endpoint `/api/mqtt-token`, MQTT 5, keep-alive 30 s, ...) is in
//! // `DriverConfig::new`; an empty broker URL leaves it to the token response's `brokerUrl`.
//! let mut config = DriverConfig::new("wss://broker.example/mqtt");
//! config.client_id_prefix = "dashboard-".into();
//!
//! // One subscriber sees every event, with the state right after it.
//! let subscriber = Rc::new(|event: ClientEvent, snapshot: Rc<Snapshot>| match event {
//!     ClientEvent::Message(message) => {
//!         println!("{}: {}", message.topic, String::from_utf8_lossy(&message.payload));
//!     }
//!     _ => println!("{}", snapshot.status), // e.g. "connected"
//! });
//! let driver = Driver::new(config, subscriber)?;
//!
//! // Commands are accepted in any state: queued until connected, restored after reconnects.
//! driver.declare_subscriptions(&["sensors/+/temperature"], QoS::AtLeastOnce)?;
//! driver.publish(OutgoingPublish::new("sensors/kitchen/ask", "now", QoS::AtMostOnce))?;
//!
//! drop(driver); // DISCONNECT, sockets closed, timer cleared, listeners removed, fetches aborted
//! # Ok(())
//! # }
//! ```
//!
//! # Tabs sharing one connection
//! With [`DriverConfig::share_tabs`], the drivers of one browser's tabs (same origin, token
//! endpoint and broker URL: [`tabs::group_name`]) share one connection. The tab holding a Web
//! Lock of that name leads: it runs the only client (socket, tokens, session) and subscribes the
//! union of every tab's filters; the others send their filters and publishes to it over a
//! `BroadcastChannel` and get their messages, delivery reports and the state back. When the
//! leader's page closes or crashes, the browser hands the lock to a waiting tab, which takes the
//! session over with the same client id and Clean Start 0 (the broker delivers what it queued
//! meanwhile); followers resend every publish not yet acknowledged, with the same id. The API
//! does not change; [`Driver::is_leader`] says which role a tab has. Without Web Locks or
//! `BroadcastChannel` each driver runs its own connection. The pure parts (the wire format, the
//! union of filters, the outboxes) are in [`tabs`] with native tests; the lock and channel are a
//! few lines of `inline_js`. All of it is the `tabs` feature (on by default): built without it,
//! `share_tabs` is ignored, every driver runs its own connection, and none of that code is in
//! the wasm.
//!
//! In a Yew app, use the `yew-mqtt` crate's `use_mqtt` hook instead: it owns a driver per
//! component and turns the snapshot into renders.

mod buffers;
mod client;
mod clock;
mod counters;
mod driver;
mod error;
mod fetch;
mod handover;
mod link;
mod listeners;
#[cfg(feature = "tabs")]
pub mod tabs;
mod timer;

pub use client::Driver;
pub use counters::{debug_counts, debug_traffic, DebugCounts, DebugTraffic};
pub use driver::{DriverConfig, Snapshot, Subscriber, Subscriptions, SubscriptionsIter};
pub use error::{BrowserError, JsError};
pub use fetch::response_text;
pub use handover::{take_handed_over_response, HANDOVER_GLOBAL};

/// The supervisor's vocabulary that appears in the driver's API (events, states, commands and
/// the configuration's field types), so users of the driver need only this crate.
pub use mqtt_lifecycle::{
    ClientEvent, CommandError, ConnectionState, DeliveryStatus, DropReason, DroppedMessage,
    IncomingMessage, Instant, LastWill, OutgoingPublish, ProtocolVersion, PublishId, QoS, Reason,
    Refusal, SessionConfig, Status, SubscriptionStatus, SupervisorConfig,
};

// The README's examples are compiled with the doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
