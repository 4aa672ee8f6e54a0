//! Sans-IO connection supervisor: credentials, backoff, token rotation and links around an
//! MQTT session.
//!
//! # The model
//! A [`Supervisor`] owns one [`mqtt_session::Session`] — one logical MQTT session (packet ids,
//! in-flight QoS 1/2 messages, subscriptions, the offline queue) — and keeps it connected through
//! a succession of transport links (WebSockets) and short-lived tokens. It decides; the driver
//! (the browser driver in `mqtt-browser`, or a test) acts:
//!
//! - **Before every (re)connect** it asks for a fresh token ([`Action::FetchToken`]); the token
//!   endpoint's answer comes back through [`Supervisor::handle_token`] and is parsed into a
//!   typed [`TokenOutcome`] (credentials / signed out / rate limited / failed), with deadlines
//!   measured against the server's clock, never the browser's alone. Token requests are
//!   single-flight: at most one is ever out, and every need shares it.
//! - It opens a link ([`Action::OpenLink`]) to the broker the token response names
//!   (`brokerUrl`, validated, wins) or else the configured one ([`SupervisorConfig::broker_url`]);
//!   with neither it stops in [`ConnectionState::Closed`] with [`Reason::NoBrokerUrl`] (no
//!   retry loop). It hands the link to the session once open, and relays the session's bytes
//!   ([`Action::Send`]) and retirements ([`Action::CloseLink`]).
//! - **At `refreshAt`** it renews the token ([`Action::RefreshToken`], falling back to a fresh
//!   token if that fails) and rotates make-before-break: a second link with the same client id
//!   and a persistent session takes the session over, then the old link is closed. The state
//!   shows [`ConnectionState::Rotating`] while the user-facing connection stays up; in-flight
//!   QoS 1/2 messages are resent by the session, so none is lost. The broker may redeliver
//!   a message that reached the old link but whose PUBACK did not, with DUP set: the session
//!   cannot tell it from a new one, so **the application drops duplicates by an application
//!   message id** (a small LRU), not by packet id.
//! - **When a link drops** (the broker closes it at token expiry, the network fails...) it
//!   fetches a new token and reconnects, waiting a full-jitter exponential backoff
//!   ([`BackoffPolicy`]: the first retry at once or after a short jitter, then up to 30 s),
//!   reset only after a link stayed up for a while.
//! - **Refusals** are typed: bad credentials get one fresh token, then
//!   [`ConnectionState::AuthFailed`]; 401/403 from the token endpoint means
//!   [`ConnectionState::SignedOut`] (no retry until [`Supervisor::retry_now`]); 429 waits
//!   `Retry-After`; a broker without MQTT 5 makes the session fall back to 3.1.1 at once.
//! - **The browser's world**: [`Supervisor::handle_online`] skips the backoff wait,
//!   [`Supervisor::handle_offline`] stops attempts from being burnt, and
//!   [`Supervisor::handle_wake`] (visibility, pageshow, or a timer firing far too late) re-checks
//!   an overdue refresh and a link whose token expired during the sleep.
//!
//! The state ([`Status`]: a [`ConnectionState`] plus the last [`Reason`], both displayable in
//! words) is reported as [`ClientEvent::State`] whenever it changes, next to the session's
//! messages, subscription results and delivery progress.
//!
//! No IO and no clock: time is an input ([`Instant`], a monotonic millisecond count the driver
//! makes from `performance.now()`), and so is randomness (the backoff jitter is drawn from a
//! small PRNG seeded by [`SupervisorConfig::seed`]).
//!
//! # The drive loop
//! `handle_*` feeds an input; `poll_*` drains an output until `None`. **After every input
//! (including commands), drain every `poll_*` until it returns `None`, then sleep until
//! `poll_timeout()` and call `handle_timeout(now)`.**
//!
//! ```ignore
//! let mut sup = Supervisor::new(SupervisorConfig::new("wss://broker/mqtt", session_config));
//! sup.start(now());
//! loop {
//!     while let Some(action) = sup.poll_action() {
//!         match action {
//!             Action::FetchToken { request } => spawn_fetch(request),        // -> handle_token
//!             Action::RefreshToken { request, token_id, password } =>
//!                 spawn_refresh(request, token_id, password),                  // -> handle_token
//!             Action::OpenLink { link, url } => open_socket(link, &url),      // -> handle_link_opened / _closed
//!             Action::Send { link, bytes } => socket(link).send(&bytes),
//!             Action::CloseLink { link } => drop_socket(link),
//!         }
//!     }
//!     while let Some(event) = sup.poll_event() { app.on(event) }
//!     arm_timer(sup.poll_timeout());
//!     match next_input().await {
//!         Input::Token(request, result) => sup.handle_token(now(), request, result),
//!         Input::Opened(link) => sup.handle_link_opened(now(), link),
//!         Input::Bytes(link, bytes) => sup.handle_link_bytes(now(), link, &bytes),
//!         Input::Closed(link) => sup.handle_link_closed(now(), link),
//!         Input::Timer => sup.handle_timeout(now()),
//!         Input::Online => sup.handle_online(now()),
//!         Input::Offline => sup.handle_offline(now()),
//!         Input::Visible | Input::PageShow => sup.handle_wake(now()),
//!     }
//! }
//! ```

pub mod backoff;
pub mod state;
pub mod supervisor;
pub mod token;
mod wallclock;

#[cfg(test)]
mod testkit;

pub use backoff::{BackoffPolicy, Rng};
pub use state::{ConnectionState, Reason, Status};
pub use supervisor::{Action, ClientEvent, RequestId, Supervisor, SupervisorConfig};
pub use token::{
    check_broker_url, parse_response, Credentials, HttpResponse, Secret, TokenError, TokenOutcome,
    TokenResult,
};
pub use wallclock::EpochMillis;

// The session's vocabulary, re-exported so the driver and the hook need only this crate.
pub use mqtt_session::{
    CommandError, ConnectReason, DeliveryStatus, DropReason, DroppedMessage, IncomingMessage,
    Instant, LastWill, LinkDownReason, LinkId, MessageProperties, OutgoingPublish, ProtocolVersion,
    PublishId, QoS, Refusal, RefusalReason, RetainHandling, SessionConfig, SubscribeFilter,
    SubscriptionState,
};
