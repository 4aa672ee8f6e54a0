//! The broker the stack runs, behind one interface: register a token's credentials, revoke
//! them at expiry (closing the connections that used them), restart, stop.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::config::{BrokerKind, StackConfig};
use crate::embedded::Embedded;
use crate::mosquitto::Mosquitto;
use crate::rabbitmq::RabbitMq;
use crate::reframe::Framing;
use crate::tokens::{Token, TokenStore};
use crate::StackError;

/// One of the three brokers.
pub(crate) enum Broker {
    Embedded(Embedded),
    Mosquitto(Box<Mosquitto>),
    RabbitMq(Box<RabbitMq>),
}

impl Broker {
    /// Starts the configured broker on its public WebSocket port.
    pub(crate) async fn start(
        config: &StackConfig,
        store: Arc<TokenStore>,
    ) -> Result<Self, StackError> {
        let public = SocketAddr::new(config.bind_ip, config.broker_ws_port);
        Ok(match config.broker {
            BrokerKind::Embedded => Self::Embedded(
                Embedded::start(
                    public,
                    store,
                    config.chat_acl,
                    config.dev_controls,
                    config.state_dir.as_deref(),
                )
                .await?,
            ),
            BrokerKind::Mosquitto => Self::Mosquitto(Box::new(
                Mosquitto::start(
                    &config.mosquitto_bin,
                    &config.dynsec_plugin,
                    config.mosquitto_max_queued,
                    config.mosquitto_persistence,
                    config.chat_acl,
                    public,
                    config.dev_controls,
                )
                .await?,
            )),
            BrokerKind::RabbitMq => Self::RabbitMq(Box::new(
                RabbitMq::start(
                    &config.rabbitmq_bin_dir,
                    store,
                    config.chat_acl,
                    config.rabbitmq_queues,
                    public,
                )
                .await?,
            )),
        })
    }

    /// `embedded`, `mosquitto` or `rabbitmq`.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Self::Embedded(_) => "embedded",
            Self::Mosquitto(_) => "mosquitto",
            Self::RabbitMq(_) => "rabbitmq",
        }
    }

    /// The room history (`/api/history`): kept by the embedded broker only.
    pub(crate) fn history(&self) -> Option<&crate::room_history::RoomHistory> {
        match self {
            Self::Embedded(b) => Some(b.history()),
            _ => None,
        }
    }

    /// The RabbitMQ cluster, when that is the broker.
    pub(crate) fn rabbitmq(&self) -> Option<&RabbitMq> {
        match self {
            Self::RabbitMq(b) => Some(b),
            _ => None,
        }
    }

    /// The broker URL a new token names: for the RabbitMQ cluster the next running node, in
    /// turn; `None` for the single brokers (the stack's one URL).
    pub(crate) async fn assign_url(&self) -> Option<String> {
        match self {
            Self::RabbitMq(b) => b.assign_url().await,
            _ => None,
        }
    }

    /// Every public WebSocket URL (one per RabbitMQ node).
    pub(crate) fn ws_urls(&self) -> Vec<String> {
        match self {
            Self::RabbitMq(b) => b.ws_urls(),
            _ => vec![format!("ws://{}/mqtt", self.ws_addr())],
        }
    }

    /// The broker's process id when it is a child process.
    pub(crate) async fn pid(&self) -> Option<u32> {
        match self {
            Self::Embedded(_) => None,
            Self::Mosquitto(b) => b.pid().await,
            Self::RabbitMq(b) => b.pid().await,
        }
    }

    /// The public WebSocket address.
    pub(crate) fn ws_addr(&self) -> SocketAddr {
        match self {
            Self::Embedded(b) => b.ws_addr(),
            Self::Mosquitto(b) => b.ws_addr(),
            Self::RabbitMq(b) => b.ws_addr(),
        }
    }

    /// Makes a freshly issued token usable on the broker.
    pub(crate) async fn register(&self, token: &Token) -> Result<(), String> {
        match self {
            // The auth hook (embedded) or auth service (RabbitMQ) reads the token store.
            Self::Embedded(_) | Self::RabbitMq(_) => Ok(()),
            Self::Mosquitto(b) => {
                b.register(&token.user, &token.username, &token.password)
                    .await
            }
        }
    }

    /// A user signed out (after their tokens were revoked). Mosquitto: their presence entries
    /// are deleted, since dynsec's kick discards the Will that would have done it; the embedded
    /// broker's proxy just drops the sockets, so the Wills fire by themselves.
    pub(crate) fn signed_out(&self, user: &str) {
        if let Self::Mosquitto(b) = self {
            b.signed_out(user);
        }
    }

    /// Revokes an expired token and closes every connection that used it.
    pub(crate) async fn revoke(&self, token: &Token) {
        match self {
            Self::Embedded(b) => {
                let closed = b.revoke(&token.token_id);
                tracing::info!(
                    token = %token.token_id,
                    user = %token.user,
                    closed,
                    "token expired: connections closed"
                );
            }
            Self::Mosquitto(b) => match b.revoke(&token.username).await {
                Ok(()) => tracing::info!(
                    token = %token.token_id,
                    user = %token.user,
                    "token expired: dynsec client disabled (live connection kicked)"
                ),
                Err(e) => tracing::warn!(token = %token.token_id, "revoking failed: {e}"),
            },
            Self::RabbitMq(b) => match b.kick(&token.username).await {
                Ok(()) => tracing::info!(
                    token = %token.token_id,
                    user = %token.user,
                    "token expired: its connections closed on every RabbitMQ node"
                ),
                Err(e) => tracing::warn!(token = %token.token_id, "kick failed: {e}"),
            },
        }
    }

    /// The stack's proxy on the public port: always for the embedded broker, for Mosquitto only
    /// with `DEV_CONTROLS=1`.
    fn proxy(&self) -> Option<&crate::proxy::Proxy> {
        match self {
            Self::Embedded(b) => Some(b.proxy()),
            Self::Mosquitto(b) => b.proxy(),
            Self::RabbitMq(_) => None,
        }
    }

    /// Sets how the broker proxy frames new connections (test control). `Err` names why it
    /// cannot (Mosquitto without the proxy in front).
    pub(crate) fn set_framing(&self, framing: Framing) -> Result<(), &'static str> {
        match self.proxy() {
            Some(p) => {
                p.framing.set(framing);
                Ok(())
            }
            None if framing == Framing::Off => Ok(()),
            None => Err("the framing control needs the stack's broker proxy (DEV_CONTROLS=1)"),
        }
    }

    /// How the broker proxy frames new connections.
    pub(crate) fn framing(&self) -> Framing {
        self.proxy().map_or(Framing::Off, |p| p.framing.get())
    }

    /// The fault control of the broker proxy (`None` without `DEV_CONTROLS=1`).
    pub(crate) fn faults(&self) -> Option<&std::sync::Arc<crate::faults::Faults>> {
        self.proxy().and_then(|p| p.faults.as_ref())
    }

    /// Stops the broker, closing every connection, and starts it again on the same port.
    pub(crate) async fn restart(&self, down: Duration) -> Result<(), StackError> {
        match self {
            Self::Embedded(b) => b.restart(down).await,
            Self::Mosquitto(b) => b.restart(down).await,
            Self::RabbitMq(b) => b.restart(down).await,
        }
    }

    /// Kills the broker abruptly (Mosquitto: SIGKILL; embedded: its task aborted): every
    /// connection closes without a DISCONNECT and the port refuses connections until
    /// [`Self::revive`].
    pub(crate) async fn kill(&self) {
        match self {
            Self::Embedded(b) => b.kill().await,
            Self::Mosquitto(b) => b.kill().await,
            Self::RabbitMq(b) => b.kill().await,
        }
    }

    /// Starts a killed broker again on the same port (no-op while it runs).
    pub(crate) async fn revive(&self) -> Result<(), StackError> {
        match self {
            Self::Embedded(b) => b.revive().await,
            Self::Mosquitto(b) => b.revive().await,
            Self::RabbitMq(b) => b.revive().await,
        }
    }

    /// Stops the broker.
    pub(crate) async fn shutdown(&self) {
        match self {
            Self::Embedded(b) => b.shutdown().await,
            Self::Mosquitto(b) => b.shutdown().await,
            Self::RabbitMq(b) => b.shutdown().await,
        }
    }
}
