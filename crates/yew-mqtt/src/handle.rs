//! What `use_mqtt` returns: read-only state and the client's commands.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use mqtt_browser::{
    ConnectionState, Driver, Instant, OutgoingPublish, PublishId, QoS, Reason, Snapshot, Status,
    Subscriptions,
};
use serde::Serialize;

use crate::message::{SetupError, UseMqttError};

/// The slot holding the running driver; empty before the first effect and after unmount.
pub(crate) type DriverSlot = Rc<RefCell<Option<Driver>>>;

/// The client as the component sees it. Cheap to clone; equal while nothing visible changed.
#[derive(Clone)]
pub struct UseMqttHandle {
    pub(crate) snapshot: Rc<Snapshot>,
    pub(crate) setup_error: Option<Rc<SetupError>>,
    pub(crate) driver: DriverSlot,
    pub(crate) default_qos: QoS,
}

impl PartialEq for UseMqttHandle {
    fn eq(&self, other: &Self) -> bool {
        (Rc::ptr_eq(&self.snapshot, &other.snapshot) || self.snapshot == other.snapshot)
            && self.setup_error == other.setup_error
            && Rc::ptr_eq(&self.driver, &other.driver)
            && self.default_qos == other.default_qos
    }
}

impl UseMqttHandle {
    /// The connection state (`Idle`, `FetchingToken`, `Connecting`, `Connected`, `Rotating`,
    /// `Backoff { attempt, retry_at }`, `Offline`, `SignedOut`, `AuthFailed`, `Closed`).
    pub fn state(&self) -> &ConnectionState {
        &self.snapshot.status.state
    }

    /// Why the client is in its state (the last failure or cause), if anything.
    pub fn reason(&self) -> Option<&Reason> {
        self.snapshot.status.reason.as_ref()
    }

    /// State and reason together (displayable in words).
    pub fn status(&self) -> &Status {
        &self.snapshot.status
    }

    /// What the hook could not do with its options: start the client, or declare its
    /// subscriptions. `None` while everything asked for was accepted.
    pub fn setup_error(&self) -> Option<&SetupError> {
        self.setup_error.as_deref()
    }

    /// How long until the next connection attempt while backing off (`Backoff { retry_at }`),
    /// measured on the driver's clock; zero once it is due. `None` in any other state. Read at
    /// each render: the value does not change by itself between renders.
    pub fn retry_in(&self) -> Option<Duration> {
        if !matches!(self.state(), ConnectionState::Backoff { .. }) {
            return None;
        }
        let now = self.driver.try_borrow().ok()?.as_ref()?.now();
        time_to_retry(self.state(), now)
    }

    /// Who is signed in, as the token endpoint said: its `userId`, else the MQTT user name's
    /// part before `@`. `None` until the first token arrives and after a sign-out.
    pub fn user_id(&self) -> Option<&str> {
        self.snapshot.user_id.as_deref()
    }

    /// Every filter the session is asked to hold and where it stands (pending again after a
    /// reconnect to a broker that lost the session, until it answers).
    pub fn subscriptions(&self) -> &Subscriptions {
        &self.snapshot.subscriptions
    }

    /// Subscribes to `filter` at the default QoS (queued until connected). The next change of
    /// the `subscriptions` option makes the session's set that list again, dropping this one
    /// unless it is listed.
    pub fn subscribe(&self, filter: &str) -> Result<(), UseMqttError> {
        self.with_driver(|d| Ok(d.subscribe(filter, self.default_qos)?))
    }

    /// Unsubscribes from `filter`.
    pub fn unsubscribe(&self, filter: &str) -> Result<(), UseMqttError> {
        self.with_driver(|d| Ok(d.unsubscribe(filter)?))
    }

    /// Publishes `payload` to `topic`. `Ok(id)` means queued; the progress (sent,
    /// acknowledged, refused, dropped) arrives at `on_delivery` with the same id.
    pub fn publish(
        &self,
        topic: &str,
        payload: Vec<u8>,
        qos: QoS,
    ) -> Result<PublishId, UseMqttError> {
        self.with_driver(|d| Ok(d.publish(OutgoingPublish::new(topic, payload, qos))?))
    }

    /// Publishes `payload` to `topic` with the RETAIN flag: the broker keeps it for later
    /// subscribers (an empty payload deletes what it kept). Brokers may refuse retained messages
    /// (Retain Available 0, or an ACL that allows them only on some topics).
    pub fn publish_retained(
        &self,
        topic: &str,
        payload: Vec<u8>,
        qos: QoS,
    ) -> Result<PublishId, UseMqttError> {
        let mut message = OutgoingPublish::new(topic, payload, qos);
        message.retain = true;
        self.with_driver(|d| Ok(d.publish(message)?))
    }

    /// Publishes `value` serialized as JSON, at the default QoS.
    pub fn publish_json<T: Serialize>(
        &self,
        topic: &str,
        value: &T,
    ) -> Result<PublishId, UseMqttError> {
        let payload =
            serde_json::to_vec(value).map_err(|e| UseMqttError::Serialize(e.to_string()))?;
        self.publish(topic, payload, self.default_qos)
    }

    /// Tries to connect again at once (after signed-out, refused, backoff or offline).
    pub fn retry_now(&self) {
        // Not running means unmounted: nothing to retry.
        let _ = self.with_driver(|d| {
            d.retry_now();
            Ok(())
        });
    }

    fn with_driver<R>(
        &self,
        f: impl FnOnce(&Driver) -> Result<R, UseMqttError>,
    ) -> Result<R, UseMqttError> {
        match self.driver.borrow().as_ref() {
            Some(driver) => f(driver),
            None => Err(UseMqttError::NotRunning),
        }
    }
}

/// How long until the next attempt in `state`, at `now`: `Some` only while backing off.
fn time_to_retry(state: &ConnectionState, now: Instant) -> Option<Duration> {
    match state {
        ConnectionState::Backoff { retry_at, .. } => Some(retry_at.saturating_duration_since(now)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_time_to_retry_counts_down_to_zero_while_backing_off_only() {
        let backoff = ConnectionState::Backoff {
            attempt: 2,
            retry_at: Instant::from_millis(10_000),
        };
        assert_eq!(
            time_to_retry(&backoff, Instant::from_millis(7_500)),
            Some(Duration::from_millis(2_500))
        );
        assert_eq!(
            time_to_retry(&backoff, Instant::from_millis(12_000)),
            Some(Duration::ZERO)
        );
        assert_eq!(
            time_to_retry(&ConnectionState::Offline, Instant::from_millis(0)),
            None
        );
    }
}
