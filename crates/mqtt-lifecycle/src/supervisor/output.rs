//! What the supervisor tells the outside: [`Action`]s for the driver, [`ClientEvent`]s for the
//! application.

use mqtt_codec::packet::QoS;
use mqtt_session::{DeliveryStatus, DroppedMessage, IncomingMessage, LinkId, PublishId, Refusal};

use super::RequestId;
#[cfg(doc)]
use super::Supervisor;
use crate::state::Status;
use crate::token::Secret;

/// Something the driver must do. Perform actions in the order they are polled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Request a fresh token from the token endpoint (`credentials: include`), then call
    /// [`Supervisor::handle_token`] with `request` and the response.
    FetchToken {
        /// Echo this in `handle_token`.
        request: RequestId,
    },
    /// Call the refresh endpoint with `{ tokenId, password }`, then
    /// [`Supervisor::handle_token`] with `request` and the response.
    RefreshToken {
        /// Echo this in `handle_token`.
        request: RequestId,
        /// The token to refresh.
        token_id: String,
        /// Its current password (CloudSignal: `current_token_password`).
        password: Secret,
    },
    /// Open a WebSocket (subprotocol `mqtt`, binary) to `url`; report it with
    /// [`Supervisor::handle_link_opened`], or [`Supervisor::handle_link_closed`] if it fails.
    OpenLink {
        /// The id of the new link (never reused).
        link: LinkId,
        /// The broker URL.
        url: String,
    },
    /// Write `bytes` on `link` as one binary frame.
    Send {
        /// The link.
        link: LinkId,
        /// Whole MQTT packets.
        bytes: Vec<u8>,
    },
    /// Close `link` (after the `Send`s polled before it) and forget it; no need to report
    /// its close.
    CloseLink {
        /// The link.
        link: LinkId,
    },
}

/// Something the application should know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientEvent {
    /// The state or its reason changed.
    State(Status),
    /// An application message arrived. During a rotation (and after any reconnect) the broker
    /// may redeliver a QoS 1 message that reached the old link but whose PUBACK did not, with
    /// DUP set: the session cannot tell it from a new one, so the application should drop
    /// duplicates by an application-level message id (a small LRU).
    Message(IncomingMessage),
    /// Result of subscribing one filter (also after each automatic re-subscription).
    Subscription {
        /// The filter.
        filter: String,
        /// Granted QoS, or the server's refusal.
        result: Result<QoS, Refusal>,
    },
    /// Result of unsubscribing one filter.
    Unsubscribed {
        /// The filter.
        filter: String,
        /// Success, or the server's refusal.
        result: Result<(), Refusal>,
    },
    /// Progress of a publish.
    Delivery {
        /// As returned by [`Supervisor::publish`].
        id: PublishId,
        /// Its new status.
        status: DeliveryStatus,
    },
    /// An incoming message above the session's Maximum Packet Size was skipped (and
    /// acknowledged); its `Display` reads `dropped oversized message on <topic> (N bytes, ...)`.
    MessageDropped(DroppedMessage),
}
