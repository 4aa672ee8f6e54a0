//! Sans-IO MQTT 3.1.1/5.0 client session: bytes, commands and time in; bytes, events and the
//! next deadline out.
//!
//! # Model
//!
//! A [`Session`] is one logical MQTT session that outlives its transport links. The driver (the
//! browser shell, or a test) opens and closes links — WebSockets, named by a [`LinkId`] it
//! chooses — and tells the session; the session says what to write on which link. It owns
//! everything that must survive a reconnect: packet identifiers, QoS 1/2 publishes in flight,
//! incoming QoS 2 state, the *desired* subscription set and a bounded queue of commands issued
//! while offline.
//!
//! The session does no IO and never reads a clock: every input carries `now`, an [`Instant`] on
//! the driver's monotonic millisecond clock. Tests run it with a fake clock and a scripted
//! broker, deterministically and without sleeping.
//!
//! Per link there is a small state machine: awaiting CONNACK (due within `connect_timeout`),
//! then connected (keep-alive: PINGREQ when the link has been quiet for a second less than the
//! keep-alive, so that a background tab's timer a second late still pings within it; dead when
//! nothing answers within half of it). A second link opened while one is connected is a
//! make-before-break takeover (token rotation): the old link finishes what it has in flight
//! (new commands wait), the new link's CONNECT goes out once that is answered (or after 2 s),
//! and at the new CONNACK the session moves and the old link is retired. The server drops the
//! old connection when it sees that CONNECT: draining first means no acknowledgement is lost
//! with it, so nothing we sent is sent twice (unless the old link did not drain in 2 s). On
//! every new link the session resends what the server has not acknowledged (as the spec
//! requires for a resumed session, or as new publishes on a fresh one) and subscribes what the
//! server does not hold.
//!
//! # Driving it
//!
//! Verb grammar: `handle_*` feeds an input, `poll_*` drains an output, commands are `&mut self`
//! methods, getters take `&self`. **After every input or command, drain every `poll_*` until it
//! returns `None` (transmits first: a `LinkDown` may follow a DISCONNECT still to be written),
//! then sleep until [`Session::poll_timeout`] and call [`Session::handle_timeout`].**
//!
//! ```
//! use mqtt_session::{ConnectCredentials, Event, Instant, LinkId, Session, SessionConfig};
//!
//! let mut session = Session::new(SessionConfig { client_id: "doc".into(), ..Default::default() });
//! let link = LinkId(1);
//! let mut now = Instant::from_millis(0);
//! let mut wire = Vec::new(); // stands in for the WebSocket
//!
//! // Input: the socket opened. Output: CONNECT.
//! session.handle_link_opened(now, link, ConnectCredentials::default());
//! while let Some(transmit) = session.poll_transmit() {
//!     wire.extend(transmit.bytes);
//! }
//! assert_eq!(wire[0], 0x10); // CONNECT
//!
//! // Input: the server's CONNACK (v5, success), arriving in two pieces.
//! session.handle_bytes(now, link, &[0x20, 0x03]);
//! session.handle_bytes(now, link, &[0x00, 0x00, 0x00]);
//! while let Some(event) = session.poll_event() {
//!     assert!(matches!(event, Event::Connected { .. }));
//! }
//!
//! // Nothing to do until the deadline: sleep, then tell the session the time.
//! now = session.poll_timeout().expect("keep-alive is on");
//! session.handle_timeout(now);
//! let ping = session.poll_transmit().expect("a PINGREQ is due");
//! assert_eq!(ping.bytes, [0xC0, 0x00]);
//! ```
//!
//! # Choices where the spec leaves room
//!
//! - A PUBACK or PUBCOMP for an unknown packet id is ignored (it happens after a resend raced
//!   the original ack). A PUBREC or PUBREL for an unknown id is answered (PUBREL / PUBCOMP, v5
//!   reason 0x92) so the server can finish its side.
//! - SUBACK/UNSUBACK for an unknown id, AUTH (we never announce an authentication method), a
//!   second CONNACK, a packet other than CONNACK before CONNACK, or a client-only packet are
//!   protocol errors: v5 DISCONNECT 0x82, then [`Event::LinkDown`] with a
//!   [`ProtocolError`]. Topic alias errors use 0x94, too many unreleased QoS 2 messages 0x93,
//!   an incoming packet above our Maximum Packet Size 0x95 (except PUBLISH, below), undecodable
//!   bytes 0x81. On a 3.1.1 link there is no reason code to send: the link is just declared
//!   down.
//! - An incoming PUBLISH above our Maximum Packet Size (a v5 server ignoring the limit we
//!   announced, or any 3.1.1 server, which is never told one) is not a reason to drop the
//!   link: the server would redeliver it on every reconnect, forever. Its payload is skipped
//!   as it streams in, QoS 1 is answered with PUBACK and QoS 2 with PUBREC (success: the
//!   message is ours to drop), and [`Event::MessageDropped`] reports it.
//! - On a fresh server session (session present = 0), a QoS 2 publish that already received
//!   PUBREC counts as acknowledged (the server took ownership); other in-flight publishes are
//!   sent again as new publishes, with DUP clear.
//! - 3.1.1 sessions are persistent from the first CONNECT (Clean Session 0): 3.1.1 has no
//!   session expiry, and without it a reconnect or a takeover would lose messages. Use a
//!   unique client id. v5 persists with Session Expiry, and asks for such a session with
//!   Clean Start 0 from the first CONNECT too (a fresh client id has no session to resume,
//!   and Mosquitto 2.0 writes to disk only sessions whose connection began with Clean Start
//!   0); Clean Start 1 only with Session Expiry 0 and after [`Session::disconnect`].

mod config;
mod event;
mod ids;
mod in_flight;
mod session;
mod subscriptions;
mod time;
mod topic;

#[cfg(test)]
mod tests;

pub use config::{ConnectCredentials, LinkId, SessionConfig};
pub use event::{
    CommandError, DeliveryStatus, DropReason, DroppedMessage, Event, IncomingMessage,
    LinkDownReason, MessageProperties, OutgoingPublish, ProtocolError, PublishId, Refusal,
    RefusalReason, ServerLimits, Transmit,
};
pub use session::{PublishCounts, Session};
pub use subscriptions::SubscriptionStatus;
pub use time::Instant;
pub use topic::{check_filter, check_topic};

/// The codec types that appear in this crate's API, re-exported so callers need not depend on
/// `mqtt-codec` themselves.
pub use mqtt_codec::packet::{LastWill, ProtocolVersion, QoS, RetainHandling, SubscribeFilter};
pub use mqtt_codec::reason::{
    ConnectReason, DisconnectReason, PubAckReason, SubscribeReason, UnsubscribeReason,
};
pub use mqtt_codec::{DecodeError, EncodeError};

/// A subscription filter with default v5 options (no-local off, retain-as-published off,
/// retained messages sent at subscribe time).
#[must_use]
pub fn subscription(filter: impl Into<String>, qos: QoS) -> SubscribeFilter {
    SubscribeFilter {
        filter: filter.into(),
        qos,
        no_local: false,
        retain_as_published: false,
        retain_handling: RetainHandling::SendAtSubscribe,
    }
}
