//! The embedded `mqtt5` broker behind a connection-tracking TCP proxy.
//!
//! `mqtt5` 0.49 has no API to close one *connection*. Its router's
//! `disconnect_client(client_id)` does close the socket (verified at run time in
//! `tests/mqtt5_disconnect.rs`: no MQTT DISCONNECT, just the close), but it works by client *id*,
//! which is the wrong key here: during a make-before-break rotation the same client id is served
//! by a connection authenticated with the new token, so closing by id at the old token's expiry
//! would close the new connection too (also pinned by that test).
//!
//! So the stack owns the public WebSocket port itself. Every accepted TCP connection is piped to
//! the broker's private WebSocket listener (127.0.0.1, ephemeral port); the proxy's outbound
//! socket address is exactly the `client_addr` the broker passes to
//! [`AuthProvider::authenticate`], so the auth hook tags *that* connection with the token it
//! used. At expiry the proxy drops both sockets of every connection tagged with the token: the
//! browser sees its WebSocket close (no MQTT DISCONNECT), the broker sees EOF and keeps the
//! session (memory storage with persistence on, so sessions also survive a takeover).
//! A connection that did not come through the proxy is refused at CONNECT.
//!
//! With the framing test control on (see [`crate::reframe`]), new connections are relayed
//! WebSocket to WebSocket instead of piped: the proxy still opens its own TCP connection to the
//! broker first, so tagging and closing at expiry work the same way for relayed connections.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use mqtt5::broker::config::WebSocketConfig;
use mqtt5::broker::events::{BrokerEventHandler, ClientPublishEvent, PublishAction};
use mqtt5::broker::{
    AuthProvider, AuthResult, BrokerConfig, BrokerShutdownHandle, MqttBroker, StorageBackendType,
    StorageConfig,
};
use mqtt5::packet::connect::ConnectPacket;
use mqtt5::protocol::v5::reason_codes::ReasonCode;
use tokio::task::JoinHandle;

use crate::acl::AclMode;
use crate::proxy::{Front, Proxy};
use crate::room_history::RoomHistory;
use crate::tokens::TokenStore;
use crate::StackError;

/// Checks CONNECT credentials against the live token store and applies the chat ACL
/// ([`crate::acl`], per mode).
struct TokenAuth {
    store: Arc<TokenStore>,
    proxy: Arc<Proxy>,
    mode: AclMode,
}

impl TokenAuth {
    fn check(&self, connect: &ConnectPacket, addr: SocketAddr) -> AuthResult {
        let refused = || AuthResult::fail(ReasonCode::BadUsernameOrPassword);
        let (Some(username), Some(password)) = (&connect.username, &connect.password) else {
            return refused();
        };
        let Some(token) = self.store.validate(username, password, SystemTime::now()) else {
            return refused();
        };
        if !self.proxy.tag(addr, &token.token_id) {
            return AuthResult::fail(ReasonCode::NotAuthorized);
        }
        // The expiry sweep removes the token first and then closes tagged connections, so a
        // tag made after that sweep is caught by this second look.
        if !self.store.is_live(&token.token_id, SystemTime::now()) {
            self.proxy.untag(addr);
            return refused();
        }
        // A retained Will is published by the broker itself, past the publish event handler:
        // allow the retain flag only where a retained PUBLISH is allowed (one's own presence
        // topic). The topic itself is checked again when the Will is published.
        if let Some(will) = connect.will.as_ref().filter(|w| w.retain) {
            if !crate::acl::may_retain(self.mode, &token.user, &will.topic) {
                self.proxy.untag(addr);
                return AuthResult::fail(ReasonCode::RetainNotSupported);
            }
        }
        // The user (not the token) is the broker's user id: a session may only be resumed by the
        // same user, and a rotation changes the token.
        AuthResult::success_with_user(token.user)
    }
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

impl AuthProvider for TokenAuth {
    fn authenticate<'a>(
        &'a self,
        connect: &'a ConnectPacket,
        client_addr: SocketAddr,
    ) -> BoxFuture<'a, mqtt5::Result<AuthResult>> {
        Box::pin(async move { Ok(self.check(connect, client_addr)) })
    }

    fn authorize_publish<'a>(
        &'a self,
        _client_id: &str,
        user_id: Option<&'a str>,
        topic: &'a str,
    ) -> BoxFuture<'a, bool> {
        Box::pin(async move {
            user_id.is_some_and(|user| crate::acl::may_publish(self.mode, user, topic))
        })
    }

    fn authorize_subscribe<'a>(
        &'a self,
        _client_id: &str,
        user_id: Option<&'a str>,
        topic_filter: &'a str,
    ) -> BoxFuture<'a, bool> {
        Box::pin(async move {
            user_id.is_some_and(|user| crate::acl::may_subscribe(self.mode, user, topic_filter))
        })
    }
}

/// Lets a retained publish through only on the sender's own presence topic
/// ([`crate::acl::may_retain`]); every other retained publish that got past the broker's
/// retained-size limit (see [`start_broker`]) is dropped: never stored nor delivered. A live
/// chat message (the event comes after the broker's ACL) goes into the room history.
struct RetainOnlyPresence {
    mode: AclMode,
    history: Arc<RoomHistory>,
}

impl BrokerEventHandler for RetainOnlyPresence {
    fn on_client_publish<'a>(
        &'a self,
        event: ClientPublishEvent,
    ) -> Pin<Box<dyn Future<Output = PublishAction> + Send + 'a>> {
        Box::pin(async move {
            let allowed = event
                .user_id
                .as_deref()
                .is_some_and(|user| crate::acl::may_retain(self.mode, user, &event.topic));
            if event.retain && !allowed {
                tracing::info!(topic = %event.topic, "retained publish dropped");
                PublishAction::Handled
            } else {
                self.history
                    .record(&event.topic, &event.payload, event.retain);
                PublishAction::Continue
            }
        })
    }
}

/// The largest retained message (a presence entry) the embedded broker stores, in bytes.
pub const MAX_RETAINED_BYTES: usize = 512;

struct Running {
    shutdown: BrokerShutdownHandle,
    task: JoinHandle<()>,
}

/// The embedded broker, its proxy and their tasks.
pub(crate) struct Embedded {
    front: Front,
    proxy: Arc<Proxy>,
    store: Arc<TokenStore>,
    mode: AclMode,
    storage_dir: std::path::PathBuf,
    /// The storage is in the state dir and outlives the stack (not removed at shutdown).
    kept: bool,
    /// The rooms' last messages (`/api/history`), kept across broker restarts (not the stack's).
    history: Arc<RoomHistory>,
    running: tokio::sync::Mutex<Option<Running>>,
}

async fn start_broker(
    store: &Arc<TokenStore>,
    proxy: &Arc<Proxy>,
    mode: AclMode,
    storage_dir: &std::path::Path,
    history: &Arc<RoomHistory>,
) -> Result<(BrokerShutdownHandle, JoinHandle<()>), StackError> {
    let private = SocketAddr::new(proxy.public().ip(), 0);
    let config = BrokerConfig::default()
        .with_bind_addresses(Vec::new())
        .with_websocket(WebSocketConfig::new().with_bind_addresses(vec![private]))
        .with_storage(
            StorageConfig::new()
                // File storage in a private temp dir, so sessions (subscriptions and the QoS 1
                // messages queued for offline clients) survive a broker restart, as they do on a
                // production broker with persistence. Memory storage would lose them.
                .with_backend(StorageBackendType::File)
                .with_base_dir(storage_dir.to_path_buf())
                .with_persistence(true),
        )
        .with_sys_topics_enabled(false)
        // A larger packet from a client ends its connection; larger messages are not forwarded
        // to a client that advertises a smaller Maximum Packet Size.
        .with_max_packet_size(crate::MAX_PACKET_SIZE)
        // Retain: only presence entries (one's own presence topic, see `crate::acl`). CONNACK
        // says "Retain Available: 1" (or a retained Will would be refused); a retained PUBLISH
        // over `MAX_RETAINED_BYTES` is refused by the size limit (v5 PUBACK 0x97 Quota
        // exceeded), `RetainOnlyPresence` drops a smaller one anywhere else unrouted, and
        // `TokenAuth` refuses a retained Will anywhere else at CONNECT. mqtt5 0.49's
        // `AuthProvider` does not see the retain flag of a PUBLISH, so a drop is all it can do.
        .with_retain_available(true)
        .with_max_retained_message_size(MAX_RETAINED_BYTES)
        .with_event_handler(Arc::new(RetainOnlyPresence {
            mode,
            history: Arc::clone(history),
        }));
    let auth = TokenAuth {
        store: Arc::clone(store),
        proxy: Arc::clone(proxy),
        mode,
    };
    let mut broker = MqttBroker::with_config(config)
        .await
        .map_err(|e| StackError::Broker(format!("the embedded broker did not start: {e}")))?
        .with_auth_provider(Arc::new(auth));
    // mqtt5 only logs a warning when its WebSocket listener cannot bind: check it ourselves.
    let ws = broker.ws_local_addr().ok_or_else(|| {
        StackError::Broker("the embedded broker opened no WebSocket listener".into())
    })?;
    let shutdown = broker.shutdown_handle();
    let mut ready = broker.ready_receiver();
    let task = tokio::spawn(async move {
        if let Err(e) = broker.run().await {
            tracing::error!("embedded broker stopped with an error: {e}");
        }
    });
    let became_ready = matches!(
        tokio::time::timeout(Duration::from_secs(10), ready.wait_for(|r| *r)).await,
        Ok(Ok(_))
    );
    // `ws` is a bound, listening socket, so "ready" is all that is left to check (a probe
    // connection would only make the broker log a failed handshake).
    if !became_ready {
        task.abort();
        return Err(StackError::Broker(format!(
            "the embedded broker on {ws} did not become ready"
        )));
    }
    proxy.set_backend(Some(ws));
    Ok((shutdown, task))
}

impl Embedded {
    /// Binds the public WebSocket port and starts the broker.
    pub(crate) async fn start(
        public: SocketAddr,
        store: Arc<TokenStore>,
        mode: AclMode,
        faults: bool,
        state_dir: Option<&std::path::Path>,
    ) -> Result<Self, StackError> {
        let front = Front::bind(public, faults)?;
        let proxy = Arc::clone(&front.proxy);
        let port = proxy.public().port();
        let (storage_dir, kept) = match state_dir {
            // With a state dir the broker's sessions (subscriptions, queued QoS 1 messages)
            // outlive the stack like its sign-ins: a restart of the whole stack on the same port
            // resumes them, as a production broker with persistence does.
            Some(dir) => (dir.join(format!("embedded-broker-{port}")), true),
            None => (
                std::env::temp_dir().join(format!("livechat-broker-{}-{port}", std::process::id())),
                false,
            ),
        };
        if !kept {
            // A fresh stack starts with no sessions: clear what an earlier process may have left.
            let _ = std::fs::remove_dir_all(&storage_dir);
        }
        std::fs::create_dir_all(&storage_dir)?;
        let history = Arc::new(RoomHistory::new(mode));
        let (shutdown, task) = start_broker(&store, &proxy, mode, &storage_dir, &history).await?;
        front.open()?;
        Ok(Self {
            front,
            proxy,
            store,
            mode,
            storage_dir,
            kept,
            history,
            running: tokio::sync::Mutex::new(Some(Running { shutdown, task })),
        })
    }

    /// The public WebSocket address.
    /// The rooms' last messages.
    pub(crate) fn history(&self) -> &RoomHistory {
        &self.history
    }

    pub(crate) fn ws_addr(&self) -> SocketAddr {
        self.proxy.public()
    }

    /// The proxy on the public port.
    pub(crate) fn proxy(&self) -> &Proxy {
        &self.proxy
    }

    /// Closes every connection that used `token_id`.
    pub(crate) fn revoke(&self, token_id: &str) -> usize {
        self.proxy.close_token(token_id)
    }

    async fn stop(&self, running: &mut Option<Running>) {
        if let Some(r) = running.take() {
            self.proxy.set_backend(None);
            self.front.close().await;
            r.shutdown.shutdown();
            let mut task = r.task;
            if tokio::time::timeout(Duration::from_secs(5), &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
    }

    /// Stops the broker (closing every connection, the port refuses connections for `down`),
    /// then starts a fresh one on the same port. Sessions survive the restart (file storage).
    pub(crate) async fn restart(&self, down: Duration) -> Result<(), StackError> {
        let mut running = self.running.lock().await;
        self.stop(&mut running).await;
        tokio::time::sleep(down).await;
        let (shutdown, task) = self.start_when_unlocked().await?;
        self.front.open()?;
        *running = Some(Running { shutdown, task });
        Ok(())
    }

    /// Starts the broker on its storage. The previous broker's connection tasks (spawned by it,
    /// not ended with its main task) may still hold the storage's directory lock (mqtt5's flock
    /// on `.lock`) after a stop or kill — a dead process's lock would go with it. The main task
    /// has ended, so after a short wait the stale lock file is replaced: the new broker locks a
    /// fresh one.
    async fn start_when_unlocked(
        &self,
    ) -> Result<(BrokerShutdownHandle, JoinHandle<()>), StackError> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        let mut replaced = false;
        loop {
            match start_broker(
                &self.store,
                &self.proxy,
                self.mode,
                &self.storage_dir,
                &self.history,
            )
            .await
            {
                Err(StackError::Broker(e)) if e.contains("already in use") && !replaced => {
                    if tokio::time::Instant::now() >= deadline {
                        tracing::warn!(
                            "the stopped broker's tasks still hold its storage lock: replacing it"
                        );
                        let _ = std::fs::remove_file(self.storage_dir.join(".lock"));
                        replaced = true;
                    } else {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
                other => return other,
            }
        }
    }

    /// Kills the broker as `kill -9` would: no graceful shutdown, its task aborted mid-work
    /// (the in-process equivalent of the process dying), every connection closed at once
    /// without an MQTT DISCONNECT, and the port refusing connections until [`Self::revive`].
    /// What the broker had written to its file storage is all that survives.
    pub(crate) async fn kill(&self) {
        let mut running = self.running.lock().await;
        if let Some(r) = running.take() {
            self.proxy.set_backend(None);
            self.front.close().await;
            r.task.abort();
            let _ = r.task.await;
            drop(r.shutdown);
        }
    }

    /// Starts the broker again after [`Self::kill`] (nothing to do if it runs).
    pub(crate) async fn revive(&self) -> Result<(), StackError> {
        let mut running = self.running.lock().await;
        if running.is_some() {
            return Ok(());
        }
        let (shutdown, task) = self.start_when_unlocked().await?;
        self.front.open()?;
        *running = Some(Running { shutdown, task });
        Ok(())
    }

    /// Stops the broker and closes every connection.
    pub(crate) async fn shutdown(&self) {
        let mut running = self.running.lock().await;
        self.stop(&mut running).await;
        if !self.kept {
            let _ = std::fs::remove_dir_all(&self.storage_dir);
        }
    }
}
