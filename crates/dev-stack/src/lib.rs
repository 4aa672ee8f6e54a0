//! Reference token backend, MQTT broker and static server: the whole chat on one machine, in
//! one process, and the executable statement of the token contract in `docs/token-contract.md`.
//! **It is a reference token backend for local use, not a production token service.**
//!
//! [`start`] binds everything on 127.0.0.1 (`BIND_ADDR`; any non-loopback address needs
//! `ALLOW_NON_LOOPBACK=1` and is warned about) and returns a [`RunningStack`]:
//! - HTTP (`PORT`): the built app from `DIST_DIR` at `/` and again under `/app/` (sub-path
//!   hosting), served with a strict Content-Security-Policy by default (`CSP=off` disables it),
//!   `/config.json` (runtime app config), `POST /api/mqtt-token`, `POST /api/mqtt-token/refresh`
//!   (responses carry `brokerUrl`, the stack's public broker WebSocket URL).
//! - Only with `DEV_AUTH=1` (or `DEV_CONTROLS=1`): the dev sign-in `GET /dev/login?user=NAME[&next=/path]`,
//!   `GET|POST /dev/logout` (ends the session **and revokes every live token of that user**: the
//!   broker closes their connections at once) and `GET /dev/session`. Without it nobody can get a
//!   token.
//! - Only with `DEV_CONTROLS=1`: the test controls under `/dev/control/`.
//! - The broker's WebSocket listener (`BROKER_WS_PORT`, path `/mqtt`, subprotocol `mqtt`):
//!   the embedded `mqtt5` broker (default) or Mosquitto 2.0 (`BROKER=mosquitto`), both with the
//!   per-author chat ACL of [`acl`] (`CHAT_ACL` = `author` | `quickstart` | `mixed`), retained
//!   publishes refused and a maximum packet size of [`MAX_PACKET_SIZE`] bytes.
//!
//! Tokens: every credential has its own `tokenId`, MQTT user name and password; a refresh issues
//! a new credential and leaves the old one valid until its own `expiresAt`. A sweep every
//! [`SWEEP_INTERVAL`] revokes expired credentials and **closes every connection that used them**:
//! - embedded broker: `mqtt5` 0.49 cannot close one connection by API (its router's
//!   `disconnect_client` closes the socket, but by client id, which a rotation reuses — see
//!   `tests/mqtt5_disconnect.rs`), so the stack owns the
//!   public port and pipes each connection to the broker's private listener; the auth hook tags
//!   the exact connection with its token and the proxy drops both sockets at expiry (see the
//!   `embedded` module). The tests check that the socket really closes.
//! - Mosquitto with `DEV_CONTROLS=1` is fronted by the same proxy (Mosquitto on a private
//!   loopback port), so the framing and fault controls work on both brokers; its expiry kick
//!   still comes from dynsec and passes through the proxy. Without the controls Mosquitto
//!   listens on the public port itself and the embedded proxy is a plain TCP pipe.
//! - Fault test control (`POST /dev/control/faults`, see the `faults` module): stall,
//!   black-hole after N bytes, delay, drop, reset, per scope (`all`, `new`, `user:NAME`).
//! - Framing test control (`POST /dev/control/framing`, either broker): new connections are
//!   relayed WebSocket to WebSocket with broker→client bytes cut into 1–3-byte frames (`split`)
//!   or several packets per frame (`coalesce`), see the `reframe` module; `off` is the default.
//! - Mosquitto: one dynamic-security client per credential, deleted at expiry, which kicks the
//!   live connection (DISCONNECT 0x98 for MQTT 5 clients). Mosquitto never runs as root: started
//!   by root, it runs as user `mosquitto`.
//!
//! ```no_run
//! # async fn run() -> Result<(), dev_stack::StackError> {
//! let config = dev_stack::StackConfig { http_port: 0, broker_ws_port: 0, ..Default::default() };
//! let stack = dev_stack::start(config).await?;
//! println!("app at http://{}/", stack.http_addr());
//! stack.shutdown().await;
//! # Ok(()) }
//! ```

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::http::HeaderValue;
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub mod acl;
mod broker;
pub mod config;
mod embedded;
pub mod faults;
pub mod http;
mod mosquitto;
pub mod probe;
mod proxy;
pub mod rabbitmq;
pub mod reframe;
mod room_history;
mod sessions;
pub mod timefmt;
pub mod tokens;

pub use config::{BrokerKind, StackConfig};

/// The line the stack logs at start (and `--help` shows): what this program is.
pub const NOT_FOR_PRODUCTION: &str =
    "dev-stack is a reference token backend for local use, not a production token service";

/// Maximum MQTT packet size, in bytes, on both brokers (a larger packet from a client closes its
/// connection; see the crate tests for what each broker sends).
pub const MAX_PACKET_SIZE: usize = 65_536;

/// How often expired tokens are revoked.
pub const SWEEP_INTERVAL: Duration = Duration::from_millis(100);

/// Why the stack could not start or act.
#[derive(Debug, thiserror::Error)]
pub enum StackError {
    /// A listener could not bind its port.
    #[error("cannot listen on {addr} ({var}): {source} — is another process using port {port}?", port = .addr.port())]
    PortInUse {
        /// The variable that sets this port.
        var: &'static str,
        /// The address.
        addr: SocketAddr,
        /// The bind error.
        source: std::io::Error,
    },
    /// The embedded broker failed.
    #[error("embedded broker: {0}")]
    Broker(String),
    /// Mosquitto failed.
    #[error("mosquitto: {0}")]
    Mosquitto(String),
    /// The RabbitMQ cluster failed.
    #[error("rabbitmq: {0}")]
    RabbitMq(String),
    /// The configuration refuses to start (a non-loopback bind without the explicit flag).
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    /// Another IO error.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Binds a loopback listener (SO_REUSEADDR so a restart can rebind at once).
pub(crate) fn bind_listener(
    addr: SocketAddr,
    var: &'static str,
) -> Result<TcpListener, StackError> {
    let fail = |source| StackError::PortInUse { var, addr, source };
    let socket = match addr.ip() {
        IpAddr::V4(_) => TcpSocket::new_v4(),
        IpAddr::V6(_) => TcpSocket::new_v6(),
    }
    .map_err(fail)?;
    socket.set_reuseaddr(true).map_err(fail)?;
    socket.bind(addr).map_err(fail)?;
    socket.listen(1024).map_err(fail)
}

/// Checks that a port can be bound and releases it for a child process to bind.
///
/// Port 0 picks a free one below Linux's ephemeral range (32768 and up): the child may bind it
/// seconds later (a RabbitMQ node boots after the one before it), and a port from the ephemeral
/// range can meanwhile become the local port of an outgoing connection (CI, 2026-11-30: a
/// node's management listener could not start on a port `bind(0)` had handed out).
pub(crate) fn reserve_port(addr: SocketAddr, var: &'static str) -> Result<SocketAddr, StackError> {
    const LOW: u16 = 20_000;
    const SPAN: u16 = 12_000; // 20000..32000
    if addr.port() == 0 {
        let mut seed = [0u8; 2];
        getrandom::fill(&mut seed).expect("the OS random source works");
        let start = u16::from_le_bytes(seed) % SPAN;
        for i in 0..SPAN {
            let port = LOW + (start + i) % SPAN;
            if let Ok(listener) = std::net::TcpListener::bind(SocketAddr::new(addr.ip(), port)) {
                return Ok(listener.local_addr()?);
            }
        }
    }
    let listener = std::net::TcpListener::bind(addr).map_err(|source| StackError::PortInUse {
        var,
        addr,
        source,
    })?;
    Ok(listener.local_addr()?)
}

/// A started stack. Dropping it without [`shutdown`](Self::shutdown) leaves its tasks to the
/// runtime (and kills a spawned Mosquitto).
pub struct RunningStack {
    http_addr: SocketAddr,
    broker: Arc<broker::Broker>,
    dev_auth: bool,
    dev_controls: bool,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl RunningStack {
    /// The HTTP address (app, `/config.json`, `/api/*`, `/dev/*`).
    #[must_use]
    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    /// The broker's public WebSocket address.
    #[must_use]
    pub fn broker_ws_addr(&self) -> SocketAddr {
        self.broker.ws_addr()
    }

    /// The broker's WebSocket URL as served in `/config.json`.
    #[must_use]
    pub fn broker_url(&self) -> String {
        format!("ws://{}/mqtt", self.broker.ws_addr())
    }

    /// Every WebSocket URL of the broker: one per RabbitMQ node (node 1 first, the same as
    /// [`broker_url`](Self::broker_url)), just that one for the other brokers.
    #[must_use]
    pub fn broker_urls(&self) -> Vec<String> {
        self.broker.ws_urls()
    }

    /// The process id of the broker when it is a child process (Mosquitto), `None` for the
    /// embedded broker.
    pub async fn broker_pid(&self) -> Option<u32> {
        self.broker.pid().await
    }

    /// `embedded` or `mosquitto`.
    #[must_use]
    pub fn broker_name(&self) -> &'static str {
        self.broker.name()
    }

    /// Every URL the stack serves, with a label.
    #[must_use]
    pub fn urls(&self) -> Vec<(&'static str, String)> {
        let h = format!("http://{}", self.http_addr);
        let mut urls = vec![
            ("app", format!("{h}/")),
            ("app under a sub-path", format!("{h}/app/")),
            ("runtime config", format!("{h}/config.json")),
            ("token (POST)", format!("{h}/api/mqtt-token")),
            (
                "token refresh (POST)",
                format!("{h}/api/mqtt-token/refresh"),
            ),
        ];
        if self.dev_auth {
            urls.extend([
                ("dev sign-in", format!("{h}/dev/login?user=alice")),
                ("dev sign-out", format!("{h}/dev/logout")),
                ("dev session", format!("{h}/dev/session")),
            ]);
        }
        if self.dev_controls {
            urls.extend([
                ("control state", format!("{h}/dev/control")),
                (
                    "control token endpoint (POST)",
                    format!("{h}/dev/control/token-endpoint"),
                ),
                (
                    "control token TTL (POST)",
                    format!("{h}/dev/control/token-ttl"),
                ),
                (
                    "control expire tokens (POST)",
                    format!("{h}/dev/control/tokens/expire"),
                ),
                (
                    "control broker framing (POST)",
                    format!("{h}/dev/control/framing"),
                ),
                (
                    "control broker link faults (POST)",
                    format!("{h}/dev/control/faults"),
                ),
                (
                    "control restart broker (POST)",
                    format!("{h}/dev/control/broker/restart"),
                ),
            ]);
        }
        let broker = match self.broker.name() {
            "mosquitto" => "broker WebSocket (mosquitto)",
            "rabbitmq" => "broker WebSocket (rabbitmq node)",
            _ => "broker WebSocket (embedded)",
        };
        for url in self.broker_urls() {
            urls.push((broker, url));
        }
        urls
    }

    /// Stops the HTTP server, the sweep and the broker (and Mosquitto), closing every connection.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
        }
        self.broker.shutdown().await;
    }
}

/// Starts the stack: binds the HTTP port, starts the broker, starts the expiry sweep.
///
/// # Errors
/// A port that cannot be bound, a broker that does not start.
pub async fn start(config: StackConfig) -> Result<RunningStack, StackError> {
    config.check_bind()?;
    tracing::warn!("{NOT_FOR_PRODUCTION}");
    if !config.bind_ip.is_loopback() {
        tracing::warn!(
            "!!! LISTENING ON THE NON-LOOPBACK ADDRESS {} (ALLOW_NON_LOOPBACK): other machines can \
             reach the dev sign-in and the broker; this is not a production token service !!!",
            config.bind_ip
        );
    }
    let http_listener = bind_listener(SocketAddr::new(config.bind_ip, config.http_port), "PORT")?;
    let http_addr = http_listener.local_addr()?;
    let mut store = tokens::TokenStore::new(config.token_ttl, config.token_rate_limit);
    if let Some(dir) = &config.state_dir {
        store = store.with_state_dir(dir).map_err(|e| {
            StackError::Io(std::io::Error::new(
                e.kind(),
                format!("STATE_DIR {}: {e}", dir.display()),
            ))
        })?;
        tracing::info!(dir = %dir.display(), "dev sessions kept in the state dir (delete it to sign everybody out)");
    }
    let store = Arc::new(store);
    let broker = Arc::new(broker::Broker::start(&config, Arc::clone(&store)).await?);
    let ws_origin = format!("ws://{}", broker.ws_addr());
    // Every node of a cluster may be named by a token: the page may connect to each.
    let ws_origins: Vec<String> = broker
        .ws_urls()
        .iter()
        .map(|u| u.trim_end_matches("/mqtt").to_owned())
        .collect();
    let csp = config
        .csp_header(&ws_origins.join(" "))
        .map(|csp| {
            HeaderValue::from_str(&csp).map_err(|_| {
                StackError::Io(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "CSP is not a valid header value",
                ))
            })
        })
        .transpose()?;
    let shared = Arc::new(http::Shared::new(
        store,
        Arc::clone(&broker),
        format!("{ws_origin}/mqtt"),
        csp,
        &config.dist_dir,
        config.cors_origins.clone(),
    ));
    let dev_auth = config.dev_auth_enabled();
    let (stop, stop_rx) = watch::channel(false);
    let router = http::router(
        Arc::clone(&shared),
        &config.cors_origins,
        dev_auth,
        config.dev_controls,
    );
    let server = tokio::spawn(http::serve(
        http_listener,
        router,
        Arc::clone(&shared),
        stop_rx.clone(),
    ));
    let mut sweep_stop = stop_rx;
    let sweep = tokio::spawn(async move {
        let mut tick = tokio::time::interval(SWEEP_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => shared.sweep().await,
                _ = sweep_stop.changed() => break,
            }
        }
    });
    Ok(RunningStack {
        http_addr,
        broker,
        dev_auth,
        dev_controls: config.dev_controls,
        stop,
        tasks: vec![server, sweep],
    })
}
