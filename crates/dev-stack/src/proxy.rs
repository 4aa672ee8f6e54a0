//! The stack's broker proxy: it owns the public broker WebSocket port and pipes every connection
//! to the broker's private listener, tracking each by its outbound socket address (which the
//! embedded broker's auth hook sees as `client_addr`, see [`crate::embedded`]).
//!
//! It fronts the embedded broker always, and Mosquitto only with `DEV_CONTROLS=1` (the controls
//! need it; without them Mosquitto listens on the public port itself). Per connection it pipes raw
//! TCP, or through [`crate::faults::pipe`] when the fault control is available, or — framing
//! control on — relays WebSocket to WebSocket ([`crate::reframe`]; faults do not apply there).

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::faults::Faults;
use crate::reframe::{self, Framing, FramingCell};
use crate::{bind_listener, StackError};

struct Conn {
    token_id: Option<String>,
    close: Arc<Notify>,
}

/// Connections between the public port and the broker, keyed by the proxy's outbound address.
pub(crate) struct Proxy {
    public: SocketAddr,
    backend: Mutex<Option<SocketAddr>>,
    conns: Mutex<HashMap<SocketAddr, Conn>>,
    pub(crate) framing: FramingCell,
    /// `Some` with `DEV_CONTROLS=1`: connections go through the fault pipe.
    pub(crate) faults: Option<Arc<Faults>>,
}

impl Proxy {
    fn conns(&self) -> std::sync::MutexGuard<'_, HashMap<SocketAddr, Conn>> {
        self.conns.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The public address.
    pub(crate) fn public(&self) -> SocketAddr {
        self.public
    }

    pub(crate) fn set_backend(&self, addr: Option<SocketAddr>) {
        *self.backend.lock().unwrap_or_else(|e| e.into_inner()) = addr;
    }

    fn backend(&self) -> Option<SocketAddr> {
        *self.backend.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records that the connection seen by the broker as `addr` authenticated with `token_id`.
    pub(crate) fn tag(&self, addr: SocketAddr, token_id: &str) -> bool {
        match self.conns().get_mut(&addr) {
            Some(conn) => {
                conn.token_id = Some(token_id.to_owned());
                true
            }
            None => false,
        }
    }

    pub(crate) fn untag(&self, addr: SocketAddr) {
        if let Some(conn) = self.conns().get_mut(&addr) {
            conn.token_id = None;
        }
    }

    /// Closes every connection that authenticated with `token_id`.
    pub(crate) fn close_token(&self, token_id: &str) -> usize {
        let conns = self.conns();
        let mut closed = 0;
        for conn in conns.values() {
            if conn.token_id.as_deref() == Some(token_id) {
                conn.close.notify_one();
                closed += 1;
            }
        }
        closed
    }

    pub(crate) fn close_all(&self) -> usize {
        let conns = self.conns();
        for conn in conns.values() {
            conn.close.notify_one();
        }
        conns.len()
    }

    async fn accept_loop(self: Arc<Self>, listener: TcpListener) {
        loop {
            match listener.accept().await {
                Ok((inbound, _)) => {
                    tokio::spawn(Arc::clone(&self).pipe(inbound, self.framing.get()));
                }
                Err(e) => {
                    tracing::warn!("broker WebSocket accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    /// Connects `inbound` to the broker: a raw TCP pipe (through the fault pipe when the
    /// controls are on), or with `framing` on a WebSocket relay that re-frames the broker's bytes.
    async fn pipe(self: Arc<Self>, mut inbound: TcpStream, framing: Framing) {
        let _ = inbound.set_nodelay(true);
        if framing == Framing::Off {
            let faults = self.faults.clone();
            let _ = self
                .connected(|mut outbound| async move {
                    match faults {
                        Some(faults) => {
                            let conn = faults.conn();
                            crate::faults::pipe(inbound, outbound, &faults, &conn).await;
                        }
                        None => {
                            let _ =
                                tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                        }
                    }
                })
                .await;
            return;
        }
        let Some((client, path)) = reframe::accept_client(inbound).await else {
            return;
        };
        let _ = self
            .connected(|outbound| async move {
                if let Some(broker) = reframe::connect_broker(outbound, &path).await {
                    reframe::relay(client, broker, framing).await;
                }
            })
            .await;
    }

    /// Opens a tracked connection to the broker and runs `serve` on it until it ends or the
    /// connection is closed (token expiry, broker stop); dropping it closes both sockets.
    async fn connected<F, Fut>(&self, serve: F) -> Option<()>
    where
        F: FnOnce(TcpStream) -> Fut,
        Fut: Future<Output = ()>,
    {
        let backend = self.backend()?;
        let outbound = TcpStream::connect(backend).await.ok()?;
        let _ = outbound.set_nodelay(true);
        let key = outbound.local_addr().ok()?;
        let close = Arc::new(Notify::new());
        self.conns().insert(
            key,
            Conn {
                token_id: None,
                close: Arc::clone(&close),
            },
        );
        tokio::select! {
            () = serve(outbound) => {}
            () = close.notified() => {}
        }
        self.conns().remove(&key);
        // Dropping the `serve` future here closes both sockets.
        Some(())
    }
}

/// The public port: the [`Proxy`] and its accept loop, which stops (the port then refuses
/// connections) while the broker is down.
pub(crate) struct Front {
    pub(crate) proxy: Arc<Proxy>,
    listener: Mutex<Option<TcpListener>>,
    accept: Mutex<Option<JoinHandle<()>>>,
}

impl Front {
    /// Binds the public port (connections wait in the backlog until [`Self::open`]).
    pub(crate) fn bind(public: SocketAddr, faults: bool) -> Result<Self, StackError> {
        let listener = bind_listener(public, "BROKER_WS_PORT")?;
        let proxy = Arc::new(Proxy {
            public: listener.local_addr()?,
            backend: Mutex::new(None),
            conns: Mutex::new(HashMap::new()),
            framing: FramingCell::default(),
            faults: faults.then(|| Arc::new(Faults::default())),
        });
        Ok(Self {
            proxy,
            listener: Mutex::new(Some(listener)),
            accept: Mutex::new(None),
        })
    }

    /// Starts accepting (binding the port again after [`Self::close`]).
    pub(crate) fn open(&self) -> Result<(), StackError> {
        let listener = self
            .listener
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        let listener = match listener {
            Some(l) => l,
            None => bind_listener(self.proxy.public, "BROKER_WS_PORT")?,
        };
        let task = tokio::spawn(Arc::clone(&self.proxy).accept_loop(listener));
        if let Some(old) = self
            .accept
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .replace(task)
        {
            old.abort();
        }
        Ok(())
    }

    /// Stops accepting (the port refuses connections) and closes every connection.
    pub(crate) async fn close(&self) {
        let task = self.accept.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(task) = task {
            task.abort();
            let _ = task.await;
        }
        self.listener
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        self.proxy.close_all();
    }
}
