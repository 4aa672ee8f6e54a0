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
//! - **In the same poll** it opens a link ([`Action::OpenLink`]) to the configured broker
//!   ([`SupervisorConfig::broker_url`]), so the WebSocket handshake and the token request run
//!   at the same time. The link is handed to the session (CONNECT, with the token as the
//!   password) the moment both the socket is open and the token is there. The broker the token
//!   response names (`brokerUrl`, validated) wins: if it is another one, the early link is
//!   closed before anything is sent on it and a link to that broker is opened. With no broker
//!   configured the link waits for the token; with none anywhere it stops in
//!   [`ConnectionState::Closed`] with [`Reason::NoBrokerUrl`] (no retry loop). An early link
//!   that fails before the token comes is not an attempt of its own (the token opens a new
//!   one). It relays the session's bytes ([`Action::Send`]) and retirements
//!   ([`Action::CloseLink`]).
//! - **At `refreshAt`** it renews the token ([`Action::RefreshToken`], falling back to a fresh
//!   token if that fails) and rotates make-before-break: a second link with the same client id
//!   and a persistent session takes the session over, then the old link is closed. The state
//!   shows [`ConnectionState::Rotating`] while the user-facing connection stays up; in-flight
//!   QoS 1/2 messages are resent by the session, so none is lost (the session lets the old
//!   link drain before the takeover, so that is rare: see `mqtt_session`). The broker may redeliver
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
//! `poll_timeout()` and call `handle_timeout(now)`.** A driver maps each [`Action`] to IO
//! (`FetchToken`/`RefreshToken` to an HTTP request answered through
//! [`Supervisor::handle_token`], `OpenLink` to a WebSocket reported through
//! [`Supervisor::handle_link_opened`]/[`Supervisor::handle_link_closed`], `Send` to a binary
//! frame, `CloseLink` to a close) and feeds every byte received to
//! [`Supervisor::handle_link_bytes`] and the page's `online`/`offline`/visibility to
//! [`Supervisor::handle_online`], [`Supervisor::handle_offline`] and
//! [`Supervisor::handle_wake`].
//!
//! One connection, from the first token to a published message, with the driver's IO played by
//! hand:
//!
//! ```
//! use std::time::Duration;
//! use mqtt_lifecycle::{
//!     Action, ConnectionState, HttpResponse, Instant, OutgoingPublish, QoS, SessionConfig,
//!     Supervisor, SupervisorConfig, TokenResult,
//! };
//!
//! let session = SessionConfig { client_id: "doc-1".into(), ..SessionConfig::default() };
//! let mut sup = Supervisor::new(SupervisorConfig::new("ws://127.0.0.1:8083/mqtt", session));
//! let mut now = Instant::from_millis(0);
//! sup.start(now);
//!
//! // Before every connect: a fresh token, and at the same time a link to the broker.
//! let Some(Action::FetchToken { request }) = sup.poll_action() else { panic!("a token") };
//! let Some(Action::OpenLink { link, url }) = sup.poll_action() else { panic!("a link") };
//! assert_eq!(url, "ws://127.0.0.1:8083/mqtt");
//! assert_eq!(sup.state(), ConnectionState::FetchingToken);
//!
//! // The driver POSTs to the token endpoint and opens the WebSocket. The socket may open
//! // first: nothing is sent on it until the token is there.
//! now = now + Duration::from_millis(30);
//! sup.handle_link_opened(now, link);
//! assert_eq!(sup.poll_action(), None);
//! // The token response, as it came (status, headers, body); it names no other broker.
//! now = now + Duration::from_millis(10);
//! let body = r#"{"accessToken":"s3cret","expires_in":3600,"username":"alice","userId":"alice"}"#;
//! let response = HttpResponse { status: 200, body: body.into(), ..HttpResponse::default() };
//! sup.handle_token(now, request, TokenResult::Response(response));
//! let Some(Action::Send { bytes, .. }) = sup.poll_action() else { panic!("CONNECT") };
//! assert_eq!(bytes[0], 0x10); // CONNECT, with the token as the password
//!
//! // The broker accepts (an MQTT 5 CONNACK, success); the state says so.
//! sup.handle_link_bytes(now, link, &[0x20, 0x03, 0x00, 0x00, 0x00]);
//! assert!(sup.state().is_up());
//! assert_eq!(sup.user_id(), Some("alice"));
//!
//! // Commands go through the session: a PUBLISH to write on the link, progress as events.
//! let id = sup.publish(now, OutgoingPublish::new("chat/lobby/messages/alice", "hi", QoS::AtLeastOnce))?;
//! while let Some(action) = sup.poll_action() {
//!     assert!(matches!(action, Action::Send { .. }), "{action:?}");
//! }
//! while let Some(event) = sup.poll_event() {
//!     println!("{event:?}"); // State(Connected), Delivery { id, status: Sent }, ...
//! }
//! # let _ = id;
//! // Nothing more to do until the next deadline (keep-alive, token refresh): sleep, then
//! // tell the supervisor the time.
//! now = sup.poll_timeout().expect("keep-alive and refresh are due some time");
//! sup.handle_timeout(now);
//! # Ok::<(), mqtt_lifecycle::CommandError>(())
//! ```

pub mod backoff;
pub mod json;
pub mod net;
pub mod state;
pub mod supervisor;
pub mod token;
mod wallclock;

#[cfg(test)]
mod testkit;

pub use backoff::{BackoffPolicy, Rng};
pub use state::{ConnectionState, Reason, Status};
pub use supervisor::{
    Action, ClientEvent, RequestId, Supervisor, SupervisorConfig, OFFLINE_PROBE,
    USER_ID_PLACEHOLDER,
};
pub use token::{
    check_broker_url, parse_response, Credentials, HttpResponse, Secret, TokenError, TokenOutcome,
    TokenResult,
};
pub use wallclock::EpochMillis;

// The session's vocabulary, re-exported so the driver and the hook need only this crate.
pub use mqtt_session::{check_filter, check_topic, subscription};
pub use mqtt_session::{
    CommandError, ConnectReason, DeliveryStatus, DropReason, DroppedMessage, IncomingMessage,
    Instant, LastWill, LinkDownReason, LinkId, MessageProperties, OutgoingPublish, ProtocolVersion,
    PublishId, QoS, Refusal, RefusalReason, RetainHandling, SessionConfig, SubscribeFilter,
    SubscriptionStatus,
};
pub use mqtt_session::{PubAckReason, SubscribeReason, UnsubscribeReason};

// The README's examples are compiled with the doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
