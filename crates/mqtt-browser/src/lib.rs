//! Browser driver: owns the WebSockets, one timer and the token fetches, and feeds the sans-IO
//! core.
//!
//! # The model
//! [`mqtt_lifecycle::Supervisor`] decides everything (when to fetch a token, open or close a
//! link, back off, rotate) and never touches the browser. A [`Driver`] runs it in a page:
//!
//! - it **performs** the supervisor's actions: `FetchToken`/`RefreshToken` become a `fetch`
//!   ([`fetch::TokenFetch`], `credentials: include`, abortable), `OpenLink` a WebSocket
//!   ([`link::WsLink`], subprotocol `mqtt`, binary frames), `Send` a frame, `CloseLink` a close;
//! - it **feeds** every happening back as an input, with `now` from `performance.now()`: socket
//!   open/bytes/close, fetch answers, its single timer ([`timer::Timer`], armed for
//!   `poll_timeout()`), and the page's `online`, `offline`, `visibilitychange` and `pageshow`
//!   ([`listeners::PageListeners`]); a timer that fires far too late (the machine slept) is
//!   fed as a wake;
//! - **after every input** it performs every action and drains every event until the supervisor
//!   has nothing more, re-arms the timer, and hands the events (with a [`Snapshot`] of the state
//!   and the per-filter subscription statuses) to one subscriber callback.
//!
//! Every browser resource is an owned value whose `Drop` releases it (sockets closed, timer
//! cleared, listeners removed, fetches aborted); no closure is leaked with `Closure::forget`.
//! Dropping the [`Driver`] ends the session gracefully and releases everything;
//! [`debug_counts`] reports what is still held, for leak tests.
//!
//! JavaScript exceptions become typed [`BrowserError`]s at the edge; no `JsValue` crosses a
//! module boundary.
//!
//! ```ignore
//! let driver = Driver::new(
//!     DriverConfig {
//!         token_url: "/api/mqtt-token".into(),
//!         refresh_url: "/api/mqtt-token/refresh".into(),
//!         supervisor: SupervisorConfig::new("wss://chat.example/mqtt", session_config),
//!     },
//!     Rc::new(|event, snapshot| render(event, snapshot)),
//! )?;
//! driver.declare_subscriptions(&["rooms/lobby"], QoS::AtLeastOnce)?;
//! let id = driver.publish(OutgoingPublish::new("rooms/lobby", b"hi".to_vec(), QoS::AtLeastOnce))?;
//! drop(driver); // DISCONNECT, close, clear, remove, abort
//! ```

pub mod clock;
pub mod counters;
pub mod driver;
pub mod error;
pub mod fetch;
pub mod link;
pub mod listeners;
pub mod subscriptions;
pub mod timer;

pub use counters::{debug_counts, DebugCounts};
pub use driver::{Driver, DriverConfig, Snapshot, Subscriber};
pub use error::{BrowserError, JsError};
pub use subscriptions::{SubscriptionDiff, SubscriptionStatus, SubscriptionTable};

/// The supervisor's vocabulary, re-exported so users of the driver need only this crate.
pub use mqtt_lifecycle;
