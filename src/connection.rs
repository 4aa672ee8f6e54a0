//! The edge between the MQTT hook's types and the chat's own: state, subscription and delivery
//! mapped onto [`crate::chat`] vocabulary, and the configuration onto the hook's options.

use yew_mqtt::{
    ConnectionState, DeliveryStatus, ProtocolVersion, PublishId, QoS, SubscriptionStatus,
};

use crate::chat::{DeliveryUpdate, LinkState, PublishKey, RoomAccess};
use crate::config::{MqttVersion, Qos};

/// The hook's protocol version for the configured one.
pub fn protocol(version: MqttVersion) -> ProtocolVersion {
    match version {
        MqttVersion::V5 => ProtocolVersion::V5,
        MqttVersion::V311 => ProtocolVersion::V311,
    }
}

/// The hook's QoS for the configured one.
pub fn qos(qos: Qos) -> QoS {
    match qos {
        Qos::AtMostOnce => QoS::AtMostOnce,
        Qos::AtLeastOnce => QoS::AtLeastOnce,
        Qos::ExactlyOnce => QoS::ExactlyOnce,
    }
}

/// The reducer's key for a publish.
pub fn publish_key(id: PublishId) -> PublishKey {
    id.0
}

/// The reducer's delivery update for a hook report.
pub fn delivery_update(status: &DeliveryStatus) -> DeliveryUpdate {
    match status {
        DeliveryStatus::Sent => DeliveryUpdate::Sent,
        DeliveryStatus::Acknowledged => DeliveryUpdate::Acknowledged,
        DeliveryStatus::Refused(refusal) => DeliveryUpdate::Failed(refusal.to_string()),
        DeliveryStatus::Dropped(reason) => DeliveryUpdate::Failed(reason.to_string()),
    }
}

/// The status line's view of the connection state; `now_ms` is the page's monotonic clock
/// (`performance.now()`), the one the driver's instants are measured on.
pub fn link_state(state: &ConnectionState, now_ms: u64) -> LinkState {
    match state {
        ConnectionState::Idle => LinkState::Idle,
        ConnectionState::FetchingToken => LinkState::FetchingToken,
        ConnectionState::Connecting => LinkState::Connecting,
        ConnectionState::Connected { .. } => LinkState::Connected,
        ConnectionState::Rotating { .. } => LinkState::Rotating,
        ConnectionState::Backoff { attempt, retry_at } => LinkState::Backoff {
            attempt: *attempt,
            retry_in_secs: retry_at.as_millis().saturating_sub(now_ms).div_ceil(1000),
        },
        ConnectionState::Offline => LinkState::Offline,
        ConnectionState::SignedOut => LinkState::SignedOut,
        ConnectionState::AuthFailed => LinkState::AuthFailed,
        ConnectionState::Closed => LinkState::Closed,
    }
}

/// Whether the room's subscription is granted.
pub fn room_access(status: Option<&SubscriptionStatus>) -> RoomAccess {
    match status {
        None | Some(SubscriptionStatus::Pending) => RoomAccess::Pending,
        Some(SubscriptionStatus::Granted(_)) => RoomAccess::Granted,
        Some(SubscriptionStatus::Refused(refusal)) => RoomAccess::Refused(refusal.to_string()),
    }
}
