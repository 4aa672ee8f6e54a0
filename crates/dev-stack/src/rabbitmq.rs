//! A 3-node RabbitMQ 3.10 cluster on 127.0.0.1 as child processes (`BROKER=rabbitmq`), with the
//! dev stack as its auth service.
//!
//! **Nothing of the system's RabbitMQ is touched.** The `/usr/sbin/rabbitmq*` wrappers switch to
//! the `rabbitmq` user and its cookie; the stack calls `/usr/lib/rabbitmq/bin/rabbitmq-server`
//! directly with a private environment (no inherited variable, an empty `rabbitmq-env.conf`):
//! its own state directory (a temporary directory holding `HOME/.erlang.cookie`, each node's
//! `rabbitmq.conf`, plugins file, Mnesia and logs), its own `epmd` on a free loopback port
//! (`ERL_EPMD_PORT`; the system's epmd on 4369 is left alone), node names `livechat{1,2,3}@localhost`,
//! Erlang distribution bound to 127.0.0.1 (`inet_dist_use_interface`), no AMQP and no MQTT TCP
//! listener, and on each node:
//! - Web MQTT on `127.0.0.1:{port}/mqtt` (node 1 on `BROKER_WS_PORT`, nodes 2 and 3 on the next
//!   two ports, or free ports when it is 0),
//! - the management API on a free loopback port (the stack's admin link: cluster status, queue
//!   policy, kicks).
//!
//! The nodes boot in parallel and form the cluster by themselves (`classic_config` peer
//! discovery); [`RabbitMq::start`] returns once the management API lists three running nodes and
//! every node answers an MQTT CONNECT with a CONNACK (a node that keeps refusing while the others
//! serve gets its RabbitMQ application restarted: `wait_formed`).
//!
//! **Auth**: `rabbitmq_auth_backend_http` against a private loopback HTTP listener of the stack
//! (not the public HTTP port: it answers whether a password is valid and knows the admin
//! password), form-encoded POSTs answered `allow` / `deny` (see [`auth_router`]):
//! - `user`: the MQTT user name and password of a live token (the stack's admin user, with tag
//!   `administrator`, for the management API); a client id already used by another user is
//!   refused, as on the embedded broker (a session belongs to one user);
//! - `vhost`: `/` only; `resource`: exchange `amq.topic` (read, write) and the MQTT plugin's
//!   queues `mqtt-subscription-*`;
//! - `topic`: the chat ACL of [`crate::acl`] per [`AclMode`], on the routing key turned back into
//!   an MQTT topic (`.` → `/`, `*` → `+`). RabbitMQ maps a `.` inside a topic level to `/`, so a
//!   user name with a `.` cannot publish on its author topic here (rooms never contain one).
//!
//! RabbitMQ caches the answers per connection, so an expired credential is **kicked**: at expiry
//! the stack calls `DELETE /api/connections/username/{user}` on the first reachable node, which
//! closes that credential's connections on every node (the client sees the WebSocket close; no
//! MQTT DISCONNECT, RabbitMQ speaks MQTT 3.1.1 only).
//!
//! **Processes**: each node (its `sh` wrapper, `beam.smp` and helpers) runs in a process group of
//! its own, so is `epmd`; stopping sends SIGTERM to each group (SIGKILL after
//! [`STOP_WAIT`]). A watchdog (`sh`, its own process group, ignoring SIGINT/SIGTERM/SIGHUP)
//! reads the list of live groups from a pipe whose only writer is the stack: when the stack dies
//! in any way, even SIGKILL, the pipe closes and the watchdog SIGKILLs those groups and removes
//! the state directory. When the stack runs as root the nodes run as the `rabbitmq` user (the
//! Debian package creates it) with the state directory handed to it.
//!
//! **Node loss** ([`QueueMode`], `RABBITMQ_QUEUES`): the MQTT plugin keeps a persistent session's
//! messages in a queue on one node; `mirrored` (default) applies an `ha-mode: all` policy to
//! `^mqtt-subscription-` so a session survives the loss of its node with nothing lost (measured:
//! docs/deployment.md), `quorum` sets `mqtt.durable_queue_type = quorum` (on 3.10.8 Web MQTT then
//! delivers nothing to persistent sessions: see [`QueueMode::Quorum`]), `classic` leaves
//! RabbitMQ's default.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::extract::State;
use axum::routing::post;
use axum::{Form, Router};
use base64::Engine as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::process::{Child, ChildStdin, Command};

use crate::acl::{self, AclMode};
use crate::tokens::TokenStore;
use crate::{bind_listener, reserve_port, StackError};

/// Nodes in the cluster: three, so quorum-based parts (quorum queues, the client-id tracker)
/// keep a majority when one node is lost.
pub const NODES: usize = 3;

/// Default directory of the RabbitMQ scripts (Debian 12 `rabbitmq-server`).
pub const RABBITMQ_BIN_DIR: &str = "/usr/lib/rabbitmq/bin";

/// How long the cluster may take to form (a node boots in 13–16 s alone; three at once on two
/// busy cores take longer).
pub const FORM_WAIT: Duration = Duration::from_secs(180);
/// How long a running node may refuse MQTT while the others serve before its RabbitMQ
/// application is restarted (the leader election itself takes a few seconds).
const MQTT_STUCK_AFTER: Duration = Duration::from_secs(30);
/// The longest a restart of one node's RabbitMQ application may take (`stop_app` + `start_app`).
const RESTART_BUDGET: Duration = Duration::from_secs(60);

/// How long a node may take to stop after SIGTERM before it is killed.
pub const STOP_WAIT: Duration = Duration::from_secs(20);

/// Bound on one management API request.
const HTTP_WAIT: Duration = Duration::from_secs(10);

/// The management user (answered by the stack's auth service, nowhere else).
const ADMIN_USER: &str = "dev-stack-admin";

/// Prefix of the MQTT plugin's session queues.
const MQTT_QUEUE_PREFIX: &str = "mqtt-subscription-";

/// The account the nodes run as when the stack runs as root.
const RUN_AS: &str = "rabbitmq";

/// How persistent MQTT sessions are kept across the loss of a node (`RABBITMQ_QUEUES`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QueueMode {
    /// Classic queues mirrored on every node (`ha-mode: all` policy on the session queues).
    #[default]
    Mirrored,
    /// `mqtt.durable_queue_type = quorum`. **Delivers nothing over Web MQTT on 3.10.8**: the
    /// Web MQTT handler (`rabbit_web_mqtt_handler`) matches only deliveries that carry a
    /// flow-control context, `{basic.deliver, amqp_msg, Ctx}`; a quorum queue's arrive as
    /// `{basic.deliver, amqp_msg}`, are logged as "Web MQTT: unexpected message" and stay
    /// unacknowledged until the connection closes. The MQTT TCP listener handles both forms
    /// (over TCP a node loss lost nothing, measured by hand). Kept to measure newer versions.
    Quorum,
    /// RabbitMQ's default: classic queues on one node (lost with it).
    Classic,
}

impl QueueMode {
    /// The name used by `RABBITMQ_QUEUES`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Mirrored => "mirrored",
            Self::Quorum => "quorum",
            Self::Classic => "classic",
        }
    }
}

impl std::str::FromStr for QueueMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "" | "mirrored" => Ok(Self::Mirrored),
            "quorum" => Ok(Self::Quorum),
            "classic" => Ok(Self::Classic),
            _ => Err("expected `mirrored`, `quorum` or `classic`".into()),
        }
    }
}

/// The MQTT topic (filter) of an AMQP routing key as the MQTT plugin makes it.
fn topic_of_routing_key(key: &str) -> String {
    key.chars()
        .map(|c| match c {
            '.' => '/',
            '*' => '+',
            c => c,
        })
        .collect()
}

/// What the auth service knows: the live tokens, the ACL mode, the admin credentials, and which
/// user each client id belongs to.
struct AuthState {
    store: Arc<TokenStore>,
    mode: AclMode,
    admin_password: String,
    client_users: Mutex<HashMap<String, String>>,
}

impl AuthState {
    fn is_admin(&self, username: &str, password: Option<&str>) -> bool {
        username == ADMIN_USER
            && password.is_none_or(|p| {
                p.len() == self.admin_password.len()
                    && p.bytes()
                        .zip(self.admin_password.bytes())
                        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                        == 0
            })
    }

    /// The user of a live token's MQTT user name.
    fn user_of(&self, username: &str) -> Option<String> {
        self.store
            .live_user(username, SystemTime::now())
            .map(|t| t.user)
    }

    fn user(&self, form: &HashMap<String, String>) -> &'static str {
        let field = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
        let (username, password) = (field("username"), field("password"));
        if self.is_admin(username, Some(password)) {
            return "allow administrator";
        }
        let Some(token) = self
            .store
            .validate(username, password.as_bytes(), SystemTime::now())
        else {
            return "deny";
        };
        // A session (client id) belongs to the user who created it, as on the embedded broker.
        let client_id = field("client_id");
        if !client_id.is_empty() {
            let mut owners = self
                .client_users
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let owner = owners
                .entry(client_id.to_owned())
                .or_insert_with(|| token.user.clone());
            if *owner != token.user {
                return "deny";
            }
        }
        "allow"
    }

    fn vhost(&self, form: &HashMap<String, String>) -> &'static str {
        let username = form.get("username").map(String::as_str).unwrap_or_default();
        let known = self.is_admin(username, None) || self.user_of(username).is_some();
        if known && form.get("vhost").is_some_and(|v| v == "/") {
            "allow"
        } else {
            "deny"
        }
    }

    fn resource(&self, form: &HashMap<String, String>) -> &'static str {
        let field = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
        let username = field("username");
        if self.is_admin(username, None) {
            return "allow";
        }
        if self.user_of(username).is_none() || field("vhost") != "/" {
            return "deny";
        }
        let allowed = match (field("resource"), field("permission")) {
            ("exchange", "read" | "write") => field("name") == "amq.topic",
            ("queue", _) => field("name").starts_with(MQTT_QUEUE_PREFIX),
            _ => false,
        };
        if allowed {
            "allow"
        } else {
            "deny"
        }
    }

    fn topic(&self, form: &HashMap<String, String>) -> &'static str {
        let field = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
        let username = field("username");
        if self.is_admin(username, None) {
            return "allow";
        }
        let Some(user) = self.user_of(username) else {
            return "deny";
        };
        let allowed = topic_allowed(
            self.mode,
            &user,
            field("name"),
            field("permission"),
            field("routing_key"),
        );
        if allowed {
            "allow"
        } else {
            "deny"
        }
    }
}

/// The chat ACL on a RabbitMQ topic authorisation request: `write` is a publish, `read` a
/// subscription (the routing key is the filter's pattern).
fn topic_allowed(
    mode: AclMode,
    user: &str,
    exchange: &str,
    permission: &str,
    routing_key: &str,
) -> bool {
    if exchange != "amq.topic" {
        return false;
    }
    let topic = topic_of_routing_key(routing_key);
    match permission {
        "write" => acl::may_publish(mode, user, &topic),
        "read" => acl::may_subscribe(mode, user, &topic),
        _ => false,
    }
}

type Auth = Arc<AuthState>;
type AuthForm = Form<HashMap<String, String>>;

/// The `rabbitmq_auth_backend_http` endpoints (`/auth/user`, `/auth/vhost`, `/auth/resource`,
/// `/auth/topic`).
fn auth_router(state: Auth) -> Router {
    async fn user(State(s): State<Auth>, Form(f): AuthForm) -> &'static str {
        let answer = s.user(&f);
        tracing::debug!(username = ?f.get("username"), answer, "rabbitmq auth: user");
        answer
    }
    async fn vhost(State(s): State<Auth>, Form(f): AuthForm) -> &'static str {
        s.vhost(&f)
    }
    async fn resource(State(s): State<Auth>, Form(f): AuthForm) -> &'static str {
        s.resource(&f)
    }
    async fn topic(State(s): State<Auth>, Form(f): AuthForm) -> &'static str {
        let answer = s.topic(&f);
        tracing::debug!(username = ?f.get("username"), key = ?f.get("routing_key"),
            permission = ?f.get("permission"), answer, "rabbitmq auth: topic");
        answer
    }
    Router::new()
        .route("/auth/user", post(user))
        .route("/auth/vhost", post(vhost))
        .route("/auth/resource", post(resource))
        .route("/auth/topic", post(topic))
        .with_state(state)
}

/// Everything a node needs to be (re)started.
#[derive(Debug)]
struct Node {
    name: String,
    dir: PathBuf,
    ws: SocketAddr,
    mgmt: SocketAddr,
    dist_port: u16,
    child: tokio::sync::Mutex<Option<Child>>,
}

/// `rabbitmq.conf` of one node.
fn node_conf(node: &Node, peers: &[String], auth: SocketAddr, queues: QueueMode) -> String {
    let mut conf = format!(
        "# Written by dev-stack; removed when it stops.\n\
         listeners.tcp = none\n\
         mqtt.listeners.tcp = none\n\
         mqtt.allow_anonymous = false\n\
         mqtt.vhost = /\n\
         mqtt.exchange = amq.topic\n\
         web_mqtt.tcp.ip = {ws_ip}\n\
         web_mqtt.tcp.port = {ws_port}\n\
         web_mqtt.ws_path = /mqtt\n\
         management.tcp.ip = {mgmt_ip}\n\
         management.tcp.port = {mgmt_port}\n\
         auth_backends.1 = http\n\
         auth_http.http_method = post\n\
         auth_http.user_path = http://{auth}/auth/user\n\
         auth_http.vhost_path = http://{auth}/auth/vhost\n\
         auth_http.resource_path = http://{auth}/auth/resource\n\
         auth_http.topic_path = http://{auth}/auth/topic\n\
         cluster_formation.peer_discovery_backend = classic_config\n",
        ws_ip = node.ws.ip(),
        ws_port = node.ws.port(),
        mgmt_ip = node.mgmt.ip(),
        mgmt_port = node.mgmt.port(),
    );
    for (i, peer) in peers.iter().enumerate() {
        conf.push_str(&format!(
            "cluster_formation.classic_config.nodes.{} = {peer}\n",
            i + 1
        ));
    }
    if queues == QueueMode::Quorum {
        conf.push_str("mqtt.durable_queue_type = quorum\n");
    }
    conf
}

/// The watchdog: keeps the last line it read (the live process groups) and, when the pipe
/// closes, SIGKILLs them and removes the state directory. `/bin/sh` is dash on Debian: its
/// `kill` takes `-9 -PGID`, not `-KILL -- -PGID`.
const WATCHDOG: &str = r#"trap '' INT TERM HUP
last=
while IFS= read -r line; do last=$line; done
for g in $last; do kill -9 "-$g" 2>/dev/null; done
rm -rf -- "$1"
"#;

/// A minimal HTTP/1.0 request to the management API: `(status, body)`.
async fn mgmt_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    basic: &str,
    body: Option<&str>,
) -> Result<(u16, String), String> {
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
        let body = body.unwrap_or("");
        let request = format!(
            "{method} {path} HTTP/1.0\r\nHost: {addr}\r\nAuthorization: Basic {basic}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut response = Vec::new();
        stream
            .read_to_end(&mut response)
            .await
            .map_err(|e| e.to_string())?;
        let text = String::from_utf8_lossy(&response).into_owned();
        let status = text
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("not an HTTP response: {:?}", &text[..text.len().min(80)]))?;
        let body = text
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default();
        Ok((status, body))
    };
    tokio::time::timeout(HTTP_WAIT, exchange)
        .await
        .map_err(|_| format!("no answer within {HTTP_WAIT:?}"))?
}

/// Percent-encodes one URL path segment.
fn path_segment(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'~') {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A node as the management API lists it.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeStatus {
    /// Erlang node name.
    pub name: String,
    /// Its Web MQTT URL.
    pub ws_url: String,
    /// Process id of its process group leader (the `sh` wrapper), while it runs.
    pub pid: Option<u32>,
}

/// A running 3-node cluster, its auth service and its watchdog.
pub(crate) struct RabbitMq {
    dir: tempfile::TempDir,
    bin_dir: PathBuf,
    run_as: Option<(u32, u32)>,
    nodes: Vec<Node>,
    epmd_port: u16,
    epmd: tokio::sync::Mutex<Option<Child>>,
    watchdog: tokio::sync::Mutex<Option<(Child, ChildStdin)>>,
    admin_basic: String,
    /// The administrator's password (also accepted at MQTT CONNECT: the readiness probe).
    admin_password: String,
    auth_task: tokio::task::JoinHandle<()>,
    queues: QueueMode,
    /// The node the next token names ([`Self::assign_url`]).
    next_node: std::sync::atomic::AtomicUsize,
}

impl std::fmt::Debug for RabbitMq {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RabbitMq")
            .field("dir", &self.dir.path())
            .field("nodes", &self.nodes)
            .field("epmd_port", &self.epmd_port)
            .field("admin_basic", &"[REDACTED]")
            .finish_non_exhaustive()
    }
}

fn err(message: impl Into<String>) -> StackError {
    StackError::RabbitMq(message.into())
}

/// `Some((uid, gid))` of the `rabbitmq` account when running as root.
fn run_as() -> Result<Option<(u32, u32)>, StackError> {
    if !nix::unistd::geteuid().is_root() {
        return Ok(None);
    }
    match nix::unistd::User::from_name(RUN_AS) {
        Ok(Some(user)) => Ok(Some((user.uid.as_raw(), user.gid.as_raw()))),
        _ => Err(err(format!(
            "running as root and there is no `{RUN_AS}` user to run the nodes as (the Debian \
             package rabbitmq-server creates it)"
        ))),
    }
}

fn chown_tree(path: &Path, uid: u32, gid: u32) -> std::io::Result<()> {
    std::os::unix::fs::lchown(path, Some(uid), Some(gid))?;
    if path.is_dir() && !path.is_symlink() {
        for entry in std::fs::read_dir(path)? {
            chown_tree(&entry?.path(), uid, gid)?;
        }
    }
    Ok(())
}

fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).expect("the OS random source works");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

impl RabbitMq {
    /// Writes the state directory, starts the auth service, epmd, the watchdog and the three
    /// nodes, and waits until the cluster is formed.
    pub(crate) async fn start(
        bin_dir: &Path,
        store: Arc<TokenStore>,
        mode: AclMode,
        queues: QueueMode,
        public: SocketAddr,
    ) -> Result<Self, StackError> {
        let server = bin_dir.join("rabbitmq-server");
        if !server.exists() {
            return Err(err(format!(
                "{} not found (apt-get install rabbitmq-server)",
                server.display()
            )));
        }
        let run_as = run_as()?;
        if queues == QueueMode::Quorum {
            tracing::warn!(
                "RABBITMQ_QUEUES=quorum: RabbitMQ 3.10.8's Web MQTT delivers nothing from quorum \
                 queues (persistent QoS 1 subscriptions receive nothing); see docs/deployment.md"
            );
        }
        let started = Instant::now();
        let ip = public.ip();
        // Ports: Web MQTT on BROKER_WS_PORT and the next two (or free ports), the rest free.
        let mut ws = Vec::new();
        for i in 0..NODES {
            let port = if public.port() == 0 {
                0
            } else {
                public.port() + i as u16
            };
            ws.push(reserve_port(SocketAddr::new(ip, port), "BROKER_WS_PORT")?);
        }
        let free = |what| reserve_port(SocketAddr::new(ip, 0), what);
        let epmd_port = free("the RabbitMQ epmd port")?.port();
        let dir = tempfile::Builder::new()
            .prefix("dev-stack-rabbitmq-")
            .tempdir()?;
        let names: Vec<String> = (1..=NODES)
            .map(|i| format!("livechat{i}@localhost"))
            .collect();
        let mut nodes = Vec::new();
        for (i, name) in names.iter().enumerate() {
            let node_dir = dir.path().join(format!("node{}", i + 1));
            std::fs::create_dir(&node_dir)?;
            nodes.push(Node {
                name: name.clone(),
                dir: node_dir,
                ws: ws[i],
                mgmt: free("a RabbitMQ management port")?,
                dist_port: free("a RabbitMQ distribution port")?.port(),
                child: tokio::sync::Mutex::new(None),
            });
        }

        // The auth service, up before any node asks it.
        let admin_password = random_token(24);
        let admin_basic = base64::engine::general_purpose::STANDARD
            .encode(format!("{ADMIN_USER}:{admin_password}"));
        let auth_listener = bind_listener(SocketAddr::new(ip, 0), "the RabbitMQ auth service")?;
        let auth_addr = auth_listener.local_addr()?;
        let auth = Arc::new(AuthState {
            store,
            mode,
            admin_password: admin_password.clone(),
            client_users: Mutex::new(HashMap::new()),
        });
        let auth_task = tokio::spawn(async move {
            let _ = axum::serve(auth_listener, auth_router(auth)).await;
        });

        let home = dir.path().join("home");
        std::fs::create_dir(&home)?;
        let cookie = home.join(".erlang.cookie");
        std::fs::write(&cookie, random_token(24))?;
        std::fs::set_permissions(&cookie, std::os::unix::fs::PermissionsExt::from_mode(0o400))?;
        for node in &nodes {
            std::fs::write(node.dir.join("rabbitmq-env.conf"), "")?;
            std::fs::write(
                node.dir.join("enabled_plugins"),
                "[rabbitmq_management,rabbitmq_mqtt,rabbitmq_web_mqtt,rabbitmq_auth_backend_http].\n",
            )?;
            std::fs::write(
                node.dir.join("rabbitmq.conf"),
                node_conf(node, &names, auth_addr, queues),
            )?;
        }
        if let Some((uid, gid)) = run_as {
            chown_tree(dir.path(), uid, gid)?;
        }

        let mut watchdog = Command::new("sh")
            .arg("-c")
            .arg(WATCHDOG)
            .arg("dev-stack-rabbitmq-watchdog")
            .arg(dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(|e| err(format!("cannot start the watchdog (sh): {e}")))?;
        let pipe = watchdog.stdin.take().expect("stdin is piped");

        let cluster = Self {
            dir,
            bin_dir: bin_dir.to_owned(),
            run_as,
            nodes,
            epmd_port,
            epmd: tokio::sync::Mutex::new(None),
            watchdog: tokio::sync::Mutex::new(Some((watchdog, pipe))),
            admin_basic,
            admin_password,
            auth_task,
            queues,
            next_node: std::sync::atomic::AtomicUsize::new(0),
        };
        if let Err(e) = cluster.boot().await {
            cluster.shutdown().await;
            return Err(e);
        }
        tracing::info!(
            nodes = NODES,
            queues = queues.name(),
            secs = started.elapsed().as_secs_f32(),
            dir = %cluster.dir.path().display(),
            "RabbitMQ cluster formed"
        );
        Ok(cluster)
    }

    async fn boot(&self) -> Result<(), StackError> {
        self.spawn_epmd().await?;
        for i in 0..NODES {
            self.spawn_node(i).await?;
        }
        self.wait_formed(FORM_WAIT).await?;
        if self.queues == QueueMode::Mirrored {
            self.apply_mirroring().await?;
        }
        Ok(())
    }

    /// Every process group that must die with the stack, sent to the watchdog.
    async fn tell_watchdog(&self) {
        let mut groups = Vec::new();
        if let Some(pid) = self.epmd.lock().await.as_ref().and_then(Child::id) {
            groups.push(pid.to_string());
        }
        for node in &self.nodes {
            if let Some(pid) = node.child.lock().await.as_ref().and_then(Child::id) {
                groups.push(pid.to_string());
            }
        }
        if let Some((_, pipe)) = self.watchdog.lock().await.as_mut() {
            let line = format!("{}\n", groups.join(" "));
            if let Err(e) = pipe.write_all(line.as_bytes()).await {
                tracing::warn!("RabbitMQ watchdog pipe: {e}");
            }
        }
    }

    fn base_command(&self, program: &Path) -> Command {
        let mut command = Command::new(program);
        command
            .env_clear()
            .env(
                "PATH",
                format!("{}:/usr/bin:/bin:/usr/sbin:/sbin", self.bin_dir.display()),
            )
            .env("LANG", "C.UTF-8")
            .env("LC_ALL", "C.UTF-8")
            .env("HOME", self.dir.path().join("home"))
            .env("ERL_EPMD_PORT", self.epmd_port.to_string())
            .env("ERL_EPMD_ADDRESS", "127.0.0.1")
            .stdin(Stdio::null())
            .process_group(0)
            .kill_on_drop(true);
        if let Some((uid, gid)) = self.run_as {
            command.uid(uid).gid(gid);
        }
        command
    }

    async fn spawn_epmd(&self) -> Result<(), StackError> {
        let child = self
            .base_command(Path::new("epmd"))
            .arg("-port")
            .arg(self.epmd_port.to_string())
            .arg("-address")
            .arg("127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| err(format!("cannot start epmd: {e}")))?;
        *self.epmd.lock().await = Some(child);
        self.tell_watchdog().await;
        let addr = SocketAddr::from(([127, 0, 0, 1], self.epmd_port));
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(addr).await.is_err() {
            if Instant::now() > deadline {
                return Err(err(format!("epmd did not open port {}", self.epmd_port)));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(())
    }

    async fn spawn_node(&self, i: usize) -> Result<(), StackError> {
        let node = &self.nodes[i];
        let out = std::fs::File::create(node.dir.join("out.log"))?;
        let child = self
            .base_command(&self.bin_dir.join("rabbitmq-server"))
            .env("RABBITMQ_NODENAME", &node.name)
            .env("RABBITMQ_DIST_PORT", node.dist_port.to_string())
            .env("RABBITMQ_CONFIG_FILE", node.dir.join("rabbitmq.conf"))
            .env(
                "RABBITMQ_ADVANCED_CONFIG_FILE",
                node.dir.join("advanced.config"),
            )
            .env(
                "RABBITMQ_ENABLED_PLUGINS_FILE",
                node.dir.join("enabled_plugins"),
            )
            .env("RABBITMQ_MNESIA_BASE", node.dir.join("mnesia"))
            .env("RABBITMQ_LOG_BASE", node.dir.join("log"))
            .env("RABBITMQ_PID_FILE", node.dir.join("pid"))
            .env("RABBITMQ_CONF_ENV_FILE", node.dir.join("rabbitmq-env.conf"))
            .env(
                "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS",
                "-kernel inet_dist_use_interface {127,0,0,1}",
            )
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
            .map_err(|e| err(format!("cannot start {}: {e}", node.name)))?;
        *node.child.lock().await = Some(child);
        self.tell_watchdog().await;
        Ok(())
    }

    /// The last `lines` lines of node `i`'s (0-based) console output and RabbitMQ log, each
    /// under a `--- path` header: what a test prints when a node misbehaves.
    pub fn log_tail_lines(&self, i: usize, lines: usize) -> String {
        let node = &self.nodes[i];
        let mut text = String::new();
        for path in [
            node.dir.join("out.log"),
            node.dir.join("log").join(format!("{}.log", node.name)),
        ] {
            let log = std::fs::read_to_string(&path).unwrap_or_default();
            text.push_str(&format!("--- {}\n", path.display()));
            let all: Vec<&str> = log.lines().collect();
            text.push_str(&all[all.len().saturating_sub(lines)..].join("\n"));
            text.push('\n');
        }
        text
    }

    fn log_tail(&self, i: usize) -> String {
        self.log_tail_lines(i, 10)
    }

    /// Names of the running cluster members as seen by the first node that answers.
    async fn running_nodes(&self) -> Result<Vec<String>, String> {
        let mut last = String::from("no node answered");
        for node in &self.nodes {
            match mgmt_request(
                node.mgmt,
                "GET",
                "/api/nodes?columns=name,running",
                &self.admin_basic,
                None,
            )
            .await
            {
                Ok((200, body)) => {
                    let list: serde_json::Value =
                        serde_json::from_str(&body).map_err(|e| format!("/api/nodes: {e}"))?;
                    return Ok(list
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter(|n| n["running"] == true)
                        .filter_map(|n| n["name"].as_str().map(str::to_owned))
                        .collect());
                }
                Ok((status, body)) => last = format!("{}: HTTP {status} {body}", node.name),
                Err(e) => last = format!("{}: {e}", node.name),
            }
        }
        Err(last)
    }

    /// Waits until every running node is a running cluster member and answers an MQTT CONNECT
    /// with a CONNACK ([`Self::takes_mqtt`]); a node that refuses MQTT for
    /// [`MQTT_STUCK_AFTER`] while the others serve gets its RabbitMQ application restarted. A
    /// node that exits fails the wait with its log.
    async fn wait_formed(&self, within: Duration) -> Result<(), StackError> {
        let deadline = Instant::now() + within;
        let mut last;
        // Nodes refusing MQTT while running, since when; and when each was last restarted.
        let mut refusing_since: HashMap<usize, Instant> = HashMap::new();
        let mut restarted: HashMap<usize, Instant> = HashMap::new();
        loop {
            let mut expected = Vec::new();
            for (i, node) in self.nodes.iter().enumerate() {
                let mut child = node.child.lock().await;
                let Some(c) = child.as_mut() else { continue };
                if let Ok(Some(status)) = c.try_wait() {
                    *child = None;
                    return Err(err(format!(
                        "{} exited with {status}:\n{}",
                        node.name,
                        self.log_tail(i)
                    )));
                }
                expected.push(i);
            }
            match self.running_nodes().await {
                Ok(running) => {
                    last = format!("running: {running:?}");
                    let members = expected
                        .iter()
                        .all(|&i| running.contains(&self.nodes[i].name));
                    // Running is not yet serving MQTT: each node's MQTT client-id tracker (the
                    // `mqtt_node` Raft cluster) elects its leader after the nodes report
                    // running, and until then every CONNECT there is closed without a CONNACK
                    // ("client ID registration timed out"; seen in CI for over 30 s).
                    if !members {
                        refusing_since.clear();
                    }
                    let mut refusing = Vec::new();
                    for &i in expected.iter().filter(|_| members) {
                        match self.takes_mqtt(&self.nodes[i]).await {
                            Ok(()) => {
                                refusing_since.remove(&i);
                            }
                            Err(e) => {
                                last = format!(
                                    "{} takes no MQTT connection yet: {e}",
                                    self.nodes[i].name
                                );
                                refusing.push(i);
                            }
                        }
                    }
                    if members && refusing.is_empty() {
                        return Ok(());
                    }
                    // A node whose join request reached the tracker just after its first leader
                    // was elected is refused ("cluster_change_not_permitted") and never asks
                    // again: it refuses MQTT for good while the others serve (3 of 13 starts in
                    // one measurement). Restarting its RabbitMQ application makes it join.
                    let others_serve = refusing.len() < expected.len();
                    for i in refusing {
                        let since = *refusing_since.entry(i).or_insert_with(Instant::now);
                        let due = restarted
                            .get(&i)
                            .is_none_or(|at| at.elapsed() >= 2 * MQTT_STUCK_AFTER);
                        // Not when too little of the wait is left for the restart to help.
                        let room = deadline.saturating_duration_since(Instant::now());
                        if members
                            && others_serve
                            && since.elapsed() >= MQTT_STUCK_AFTER
                            && due
                            && room > RESTART_BUDGET + MQTT_STUCK_AFTER
                        {
                            self.restart_app(i).await;
                            restarted.insert(i, Instant::now());
                            refusing_since.insert(i, Instant::now());
                        }
                    }
                }
                Err(e) => last = e,
            }
            if Instant::now() > deadline {
                let tails: String = (0..NODES).map(|i| self.log_tail(i)).collect();
                return Err(err(format!(
                    "the cluster did not form within {within:?} ({last}):\n{tails}"
                )));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Restarts node `i`'s RabbitMQ application (`rabbitmqctl stop_app`, `start_app`; the Erlang
    /// node stays up), for a node stuck outside the MQTT client-id tracker's cluster.
    async fn restart_app(&self, i: usize) {
        let node = &self.nodes[i];
        tracing::warn!(
            node = %node.name,
            "RabbitMQ node refuses MQTT while the others serve (its client-id tracker missed the \
             cluster's first election): restarting its RabbitMQ application"
        );
        // `start_app` is tried again after a failure: a node left stopped would never serve.
        for action in ["stop_app", "start_app", "start_app", "start_app"] {
            let run = self
                .base_command(&self.bin_dir.join("rabbitmqctl"))
                .env("RABBITMQ_NODENAME", &node.name)
                .env("RABBITMQ_CONF_ENV_FILE", node.dir.join("rabbitmq-env.conf"))
                .arg("-n")
                .arg(&node.name)
                .arg(action)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            match tokio::time::timeout(RESTART_BUDGET / 2, run).await {
                Ok(Ok(status)) if status.success() && action == "start_app" => return,
                Ok(Ok(status)) if status.success() => {}
                other => {
                    tracing::warn!(node = %node.name, action, result = ?other, "rabbitmqctl failed");
                    if action == "stop_app" {
                        return;
                    }
                }
            }
        }
    }

    /// Whether `node` answers an MQTT CONNECT (3.1.1, the stack's administrator) over its Web
    /// MQTT listener with a successful CONNACK; the link is then closed with DISCONNECT.
    async fn takes_mqtt(&self, node: &Node) -> Result<(), String> {
        tokio::time::timeout(HTTP_WAIT * 2, self.try_mqtt(node))
            .await
            .unwrap_or_else(|_| Err(format!("no answer within {:?}", HTTP_WAIT * 2)))
    }

    async fn try_mqtt(&self, node: &Node) -> Result<(), String> {
        use futures_util::{SinkExt as _, StreamExt as _};
        use tokio_tungstenite::tungstenite::Message;
        let stream = TcpStream::connect(node.ws)
            .await
            .map_err(|e| e.to_string())?;
        let mut ws = crate::reframe::connect_broker(stream, "/mqtt")
            .await
            .ok_or("no WebSocket handshake")?;
        let options = crate::probe::ConnectOptions {
            client_id: format!("dev-stack-ready-{}", node.name.replace('@', "-")),
            username: Some(ADMIN_USER.into()),
            password: Some(self.admin_password.clone().into_bytes()),
            keep_alive: 10,
            clean_start: true,
            v311: true,
            ..Default::default()
        };
        let connect = crate::probe::encode_connect(&options);
        ws.send(Message::Binary(connect.into()))
            .await
            .map_err(|e| e.to_string())?;
        let mut decoder = crate::probe::Decoder::for_version(true);
        let answer = tokio::time::timeout(HTTP_WAIT, async {
            while let Some(frame) = ws.next().await {
                match frame.map_err(|e| e.to_string())? {
                    Message::Binary(bytes) => {
                        decoder.push(&bytes);
                        if let Some(packet) = decoder.next_packet().map_err(|e| e.to_string())? {
                            return Ok(packet);
                        }
                    }
                    Message::Close(close) => {
                        return Err(format!("closed before CONNACK ({close:?})"))
                    }
                    _ => {}
                }
            }
            Err("closed before CONNACK".to_owned())
        })
        .await
        .map_err(|_| format!("no CONNACK within {HTTP_WAIT:?}"))??;
        let _ = ws
            .send(Message::Binary(crate::probe::encode_disconnect().into()))
            .await;
        let _ = ws.close(None).await;
        match answer {
            crate::probe::Incoming::ConnAck { reason: 0, .. } => Ok(()),
            other => Err(format!("answered {other:?}")),
        }
    }

    async fn apply_mirroring(&self) -> Result<(), StackError> {
        let body = serde_json::json!({
            "pattern": format!("^{MQTT_QUEUE_PREFIX}"),
            "definition": { "ha-mode": "all", "ha-sync-mode": "automatic" },
            "apply-to": "queues",
            "priority": 0
        })
        .to_string();
        let node = &self.nodes[0];
        match mgmt_request(
            node.mgmt,
            "PUT",
            "/api/policies/%2F/livechat-mqtt-sessions",
            &self.admin_basic,
            Some(&body),
        )
        .await
        {
            Ok((201 | 204, _)) => Ok(()),
            Ok((status, body)) => Err(err(format!("mirroring policy: HTTP {status} {body}"))),
            Err(e) => Err(err(format!("mirroring policy: {e}"))),
        }
    }

    /// Node 1's Web MQTT address (the stack's public broker address).
    pub(crate) fn ws_addr(&self) -> SocketAddr {
        self.nodes[0].ws
    }

    /// Every node's Web MQTT URL, node 1 first.
    pub(crate) fn ws_urls(&self) -> Vec<String> {
        self.nodes
            .iter()
            .map(|n| format!("ws://{}/mqtt", n.ws))
            .collect()
    }

    /// The Web MQTT URL of the next running node, in turn (`None` when none runs).
    pub(crate) async fn assign_url(&self) -> Option<String> {
        for _ in 0..NODES {
            let i = self
                .next_node
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                % NODES;
            let node = &self.nodes[i];
            if node.child.lock().await.is_some() {
                return Some(format!("ws://{}/mqtt", node.ws));
            }
        }
        None
    }

    /// The nodes and their state.
    pub(crate) async fn nodes(&self) -> Vec<NodeStatus> {
        let mut out = Vec::new();
        for node in &self.nodes {
            out.push(NodeStatus {
                name: node.name.clone(),
                ws_url: format!("ws://{}/mqtt", node.ws),
                pid: node.child.lock().await.as_ref().and_then(Child::id),
            });
        }
        out
    }

    /// Node 1's process group leader.
    pub(crate) async fn pid(&self) -> Option<u32> {
        self.nodes[0]
            .child
            .lock()
            .await
            .as_ref()
            .and_then(Child::id)
    }

    /// Closes every connection of an MQTT user name on every node.
    pub(crate) async fn kick(&self, username: &str) -> Result<(), String> {
        let path = format!("/api/connections/username/{}", path_segment(username));
        let mut last = String::from("no node answered");
        for node in &self.nodes {
            match mgmt_request(node.mgmt, "DELETE", &path, &self.admin_basic, None).await {
                Ok((204 | 200 | 404, _)) => return Ok(()),
                Ok((status, body)) => last = format!("{}: HTTP {status} {body}", node.name),
                Err(e) => last = format!("{}: {e}", node.name),
            }
        }
        Err(last)
    }

    /// SIGKILLs node `i` (its whole process group): its connections drop, the others stay.
    pub(crate) async fn kill_node(&self, i: usize) -> Result<(), StackError> {
        let node = self
            .nodes
            .get(i)
            .ok_or_else(|| err(format!("no node {i}")))?;
        let mut child = node.child.lock().await;
        if let Some(mut c) = child.take() {
            if let Some(pid) = c.id() {
                let _ = nix::sys::signal::killpg(
                    nix::unistd::Pid::from_raw(pid as i32),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            let _ = tokio::time::timeout(Duration::from_secs(5), c.wait()).await;
        }
        drop(child);
        tracing::warn!(node = %node.name, "RabbitMQ node killed (SIGKILL)");
        self.tell_watchdog().await;
        Ok(())
    }

    /// Starts a killed node again (a running one is left alone) and waits until it is back in
    /// the cluster.
    pub(crate) async fn start_node(&self, i: usize) -> Result<(), StackError> {
        let node = self
            .nodes
            .get(i)
            .ok_or_else(|| err(format!("no node {i}")))?;
        let running = node.child.lock().await.is_some();
        if !running {
            self.spawn_node(i).await?;
        }
        self.wait_formed(FORM_WAIT).await?;
        tracing::warn!(node = %node.name, "RabbitMQ node back in the cluster");
        Ok(())
    }

    /// Kills every node (the whole broker is gone until [`Self::revive`]).
    #[allow(dead_code)] // for `Broker::kill`, the broker kill control of the fault tests
    pub(crate) async fn kill(&self) {
        for i in 0..NODES {
            let _ = self.kill_node(i).await;
        }
    }

    /// Starts every killed node again and waits for the cluster.
    pub(crate) async fn revive(&self) -> Result<(), StackError> {
        for i in 0..NODES {
            if self.nodes[i].child.lock().await.is_none() {
                self.spawn_node(i).await?;
            }
        }
        self.wait_formed(FORM_WAIT).await
    }

    /// Stops every node (SIGTERM, then SIGKILL after [`STOP_WAIT`]) and starts them again.
    pub(crate) async fn restart(&self, down: Duration) -> Result<(), StackError> {
        self.stop_nodes().await;
        tokio::time::sleep(down).await;
        self.revive().await
    }

    async fn stop_nodes(&self) {
        let mut running = Vec::new();
        for node in &self.nodes {
            if let Some(c) = node.child.lock().await.take() {
                if let Some(pid) = c.id() {
                    let _ = nix::sys::signal::killpg(
                        nix::unistd::Pid::from_raw(pid as i32),
                        nix::sys::signal::Signal::SIGTERM,
                    );
                }
                running.push(c);
            }
        }
        for mut c in running {
            if tokio::time::timeout(STOP_WAIT, c.wait()).await.is_err() {
                if let Some(pid) = c.id() {
                    let _ = nix::sys::signal::killpg(
                        nix::unistd::Pid::from_raw(pid as i32),
                        nix::sys::signal::Signal::SIGKILL,
                    );
                }
                let _ = c.wait().await;
            }
        }
        self.tell_watchdog().await;
    }

    /// Stops the cluster, epmd, the auth service and the watchdog.
    pub(crate) async fn shutdown(&self) {
        self.stop_nodes().await;
        if let Some(mut epmd) = self.epmd.lock().await.take() {
            let _ = epmd.kill().await;
        }
        self.tell_watchdog().await;
        if let Some((mut watchdog, pipe)) = self.watchdog.lock().await.take() {
            drop(pipe);
            let _ = tokio::time::timeout(Duration::from_secs(5), watchdog.wait()).await;
        }
        self.auth_task.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acl::AclMode::{Author, Mixed, Quickstart};

    #[test]
    fn routing_keys_turn_back_into_mqtt_topics() {
        assert_eq!(
            topic_of_routing_key("chat.lobby.messages.*"),
            "chat/lobby/messages/+"
        );
        assert_eq!(topic_of_routing_key("chat.#"), "chat/#");
    }

    #[test]
    fn the_topic_check_is_the_chat_acl() {
        let ok = |mode, user, perm, key| topic_allowed(mode, user, "amq.topic", perm, key);
        assert!(ok(Author, "alice", "write", "chat.lobby.messages.alice"));
        assert!(!ok(Author, "alice", "write", "chat.lobby.messages.bob"));
        assert!(!ok(Author, "alice", "write", "chat.lobby.messages"));
        assert!(ok(Author, "alice", "read", "chat.lobby.messages.*"));
        assert!(ok(Author, "alice", "read", "chat.lobby.messages"));
        assert!(!ok(Author, "alice", "read", "chat.*.messages"));
        assert!(!ok(Author, "alice", "read", "chat.#"));
        assert!(!ok(Author, "alice", "read", "chat.admin.messages"));
        assert!(ok(Author, "admin", "read", "chat.admin.messages"));
        assert!(ok(Quickstart, "alice", "write", "chat.lobby.messages"));
        assert!(!ok(Quickstart, "alice", "read", "chat.lobby.messages.*"));
        assert!(ok(Mixed, "alice", "write", "chat.lobby.messages"));
        assert!(ok(Mixed, "alice", "write", "chat.lobby.messages.alice"));
        assert!(!topic_allowed(
            Author,
            "alice",
            "amq.fanout",
            "write",
            "chat.lobby.messages.alice"
        ));
        assert!(!ok(
            Author,
            "alice",
            "configure",
            "chat.lobby.messages.alice"
        ));
        // A user name with a `.` arrives split into two levels: refused, never widened.
        assert!(!ok(Author, "a.b", "write", "chat.lobby.messages.a.b"));
    }

    fn state(mode: AclMode) -> (AuthState, crate::tokens::Token) {
        let store = Arc::new(TokenStore::new(Duration::from_secs(60), 0));
        let token = store.issue("alice", SystemTime::now());
        (
            AuthState {
                store,
                mode,
                admin_password: "pw".into(),
                client_users: Mutex::new(HashMap::new()),
            },
            token,
        )
    }

    fn form(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn users_are_live_tokens_or_the_admin() {
        let (s, t) = state(Author);
        let user = |u: &str, p: &str, c: &str| {
            s.user(&form(&[("username", u), ("password", p), ("client_id", c)]))
        };
        assert_eq!(user(&t.username, &t.password, "c1"), "allow");
        assert_eq!(user(&t.username, "wrong", "c1"), "deny");
        assert_eq!(user("nobody", &t.password, "c1"), "deny");
        assert_eq!(user(ADMIN_USER, "pw", ""), "allow administrator");
        assert_eq!(user(ADMIN_USER, "px", ""), "deny");
        // Another user may not take over alice's session (client id).
        let bob = s.store.issue("bob", SystemTime::now());
        assert_eq!(user(&bob.username, &bob.password, "c1"), "deny");
        assert_eq!(user(&bob.username, &bob.password, "c2"), "allow");
        // An expired token is refused.
        s.store.expire_now(Some("alice"), SystemTime::now());
        assert_eq!(user(&t.username, &t.password, "c1"), "deny");
    }

    #[test]
    fn resources_are_the_topic_exchange_and_session_queues() {
        let (s, t) = state(Author);
        let res = |kind: &str, name: &str, perm: &str| {
            s.resource(&form(&[
                ("username", &t.username),
                ("vhost", "/"),
                ("resource", kind),
                ("name", name),
                ("permission", perm),
            ]))
        };
        assert_eq!(res("exchange", "amq.topic", "write"), "allow");
        assert_eq!(res("exchange", "amq.topic", "read"), "allow");
        assert_eq!(res("exchange", "amq.topic", "configure"), "deny");
        assert_eq!(res("exchange", "amq.direct", "write"), "deny");
        assert_eq!(
            res("queue", "mqtt-subscription-c1qos1", "configure"),
            "allow"
        );
        assert_eq!(res("queue", "other", "read"), "deny");
        assert_eq!(
            s.vhost(&form(&[("username", &t.username), ("vhost", "/")])),
            "allow"
        );
        assert_eq!(
            s.vhost(&form(&[("username", &t.username), ("vhost", "other")])),
            "deny"
        );
        assert_eq!(
            s.topic(&form(&[
                ("username", &t.username),
                ("name", "amq.topic"),
                ("permission", "write"),
                ("routing_key", "chat.lobby.messages.alice"),
            ])),
            "allow"
        );
        assert_eq!(
            s.topic(&form(&[
                ("username", "someone-else"),
                ("name", "amq.topic"),
                ("permission", "write"),
                ("routing_key", "chat.lobby.messages.alice"),
            ])),
            "deny"
        );
    }

    #[test]
    fn queue_modes_parse_and_quorum_is_written_to_the_config() {
        assert_eq!("".parse::<QueueMode>(), Ok(QueueMode::Mirrored));
        assert_eq!("quorum".parse::<QueueMode>(), Ok(QueueMode::Quorum));
        assert_eq!(" classic ".parse::<QueueMode>(), Ok(QueueMode::Classic));
        assert!("ha".parse::<QueueMode>().is_err());
        let node = Node {
            name: "livechat1@localhost".into(),
            dir: PathBuf::from("/d"),
            ws: "127.0.0.1:8083".parse().unwrap(),
            mgmt: "127.0.0.1:40001".parse().unwrap(),
            dist_port: 40002,
            child: tokio::sync::Mutex::new(None),
        };
        let peers = vec!["a@localhost".to_owned(), "b@localhost".to_owned()];
        let auth: SocketAddr = "127.0.0.1:40003".parse().unwrap();
        let conf = node_conf(&node, &peers, auth, QueueMode::Quorum);
        assert!(conf.contains("\nmqtt.durable_queue_type = quorum\n"));
        assert!(conf.contains("\nweb_mqtt.tcp.ip = 127.0.0.1\nweb_mqtt.tcp.port = 8083\n"));
        assert!(conf.contains("\nlisteners.tcp = none\nmqtt.listeners.tcp = none\n"));
        assert!(conf.contains("\nauth_http.topic_path = http://127.0.0.1:40003/auth/topic\n"));
        assert!(conf.contains("\ncluster_formation.classic_config.nodes.2 = b@localhost\n"));
        let conf = node_conf(&node, &peers, auth, QueueMode::Mirrored);
        assert!(!conf.contains("durable_queue_type"));
    }

    #[test]
    fn user_names_are_percent_encoded_in_the_kick_path() {
        assert_eq!(path_segment("alice@t0k3n"), "alice%40t0k3n");
        assert_eq!(path_segment("a.b/c"), "a%2Eb%2Fc");
    }
}
