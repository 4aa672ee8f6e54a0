//! The supervisor's settings.

use std::time::Duration;

use mqtt_session::SessionConfig;

use crate::backoff::BackoffPolicy;
#[cfg(doc)]
use {super::Supervisor, crate::state::Reason};

/// Supervisor settings. Build with [`SupervisorConfig::new`] and adjust fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupervisorConfig {
    /// Broker WebSocket URL (`ws://` or `wss://`), used for every link whose credentials do
    /// not name their own broker (a token response's `brokerUrl` wins). Empty: none
    /// configured, so every token response must name the broker; if one does not, the
    /// supervisor stops with [`Reason::NoBrokerUrl`].
    pub broker_url: String,
    /// More WebSocket URLs of the same broker cluster (default none). With any, `broker_url`
    /// and these are one list, shuffled once per supervisor (with [`Self::seed`]) so a
    /// cluster's clients spread over its nodes; the first is used until a link fails to
    /// connect or is lost, then the next one, in turn. A token response's `brokerUrl` still
    /// wins over the list (the token backend may assign a node or name a load balancer).
    pub broker_urls: Vec<String>,
    /// The MQTT session's settings (client id, keep-alive, protocol...).
    pub session: SessionConfig,
    /// Reconnect backoff (default: 0.5 s base, 30 s cap, reset after 10 s connected).
    pub backoff: BackoffPolicy,
    /// A token request not answered within this is treated as failed (default 15 s).
    pub token_timeout: Duration,
    /// A timer firing this much later than the deadline it was set for means the machine
    /// slept or the tab was frozen: handled as [`Supervisor::handle_wake`] (default 5 s).
    pub wake_drift: Duration,
    /// Seed of the backoff jitter (the driver passes random bits; tests a constant).
    pub seed: u64,
}

impl SupervisorConfig {
    /// Settings with the documented defaults for `broker_url` (may be empty: see
    /// [`SupervisorConfig::broker_url`]) and `session`.
    #[must_use]
    pub fn new(broker_url: impl Into<String>, session: SessionConfig) -> Self {
        SupervisorConfig {
            broker_url: broker_url.into(),
            broker_urls: Vec::new(),
            session,
            backoff: BackoffPolicy::default(),
            token_timeout: Duration::from_secs(15),
            wake_drift: Duration::from_secs(5),
            seed: 0x5EED,
        }
    }
}
