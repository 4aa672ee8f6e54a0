//! Mosquitto 2.0 as a child process, credentials managed through its dynamic-security plugin.
//!
//! The stack writes `mosquitto.conf` and `dynsec.json` into a private temporary directory:
//! a WebSocket listener on the public port (`socket_domain ipv4`, or the Debian build binds
//! every interface) and a TCP listener on a free loopback port for the stack's admin link.
//! Mosquitto never runs as root: when the stack runs as root, the configuration says
//! `user mosquitto` and the directory and its files are handed to that user (dynsec rewrites its
//! JSON file there); without that user the stack refuses to start Mosquitto.
//! `max_packet_size 65536`; retained messages are available (presence entries need them).
//!
//! The chat ACL ([`crate::acl`], per [`AclMode`]) as dynsec roles — `%u` patterns do not fit,
//! since the MQTT user name is `{user}@{tokenId}`:
//! - `chat-user` / `chat-admin`, fixed at start (see [`dynsec_config`]): subscribing to
//!   `chat/{room}/messages` (and in `author`/`mixed` mode `chat/{room}/messages/+` and the
//!   presence entries `chat/{room}/presence/+/+`), publishing on `chat/{room}/messages` in
//!   `quickstart`/`mixed` mode, and for non-admins denials of room `admin` that outrank the rest;
//! - `chat-author-{user}` (`author`/`mixed` mode), created when the user's first token is issued
//!   and never deleted: `publishClientSend chat/+/messages/{user}` and
//!   `chat/+/presence/{user}/+` (the user's own presence entries and Will).
//!
//! Each issued token becomes a dynsec client (`createClient` with those roles); at expiry the
//! client is **disabled** (`disableClient`), which kicks its live connection (v5 clients get
//! DISCONNECT 0x98) and refuses its password from then on, and deleted ([`SESSION_GRACE`]) later.
//! Not deleted at once: Mosquitto checks the ACL of a disconnected session's user name when it
//! queues a message for it and when it publishes its delayed Will, and dynsec denies everything
//! to a user name it does not know, so deleting the client of a session whose tab was closed (or
//! is offline) would drop the presence Will (a ghost entry) and every message queued for the
//! session until it comes back. Roles are never deleted: deleting a role still held by a
//! connected client and then the client crashes 2.0.11 (upstream issue 2660).
//!
//! Dynsec patterns cannot express the room-name rule (a `+` in an ACL pattern also matches a `+`
//! in a subscription): literal denials refuse `chat/+/messages`, `chat/+/messages/+` and
//! `chat/+/presence/+/+` as subscriptions, but on Mosquitto a subscription such as
//! `chat/+/messages/bob` (one author in every room) or a room name outside `[A-Za-z0-9_-]{1,64}`
//! is granted; publishing is exact except that the presence instance level is not checked.
//!
//! **Retain.** Dynsec cannot tie the retain flag to a topic: whoever may publish on a topic may
//! leave a retained message there (their own author topic, the shared topic in `quickstart` /
//! `mixed` mode, a presence entry of any size). The stack's **retain janitor** (a second admin
//! connection, see [`janitor`]) subscribes to every chat topic with Retain As Published and
//! deletes, with an empty retained publish, every retained message that is not a presence
//! entry of at most 512 bytes ([`crate::acl::retained_may_stay`]); it also sweeps what a
//! restart restored. A subscriber that arrives in the milliseconds between the store and the
//! delete gets the message with the retain flag, which the chat ignores.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use base64::Engine as _;
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

use crate::acl::AclMode;
use crate::probe::{self, ConnectOptions, Incoming, TcpClient};
use crate::{reserve_port, StackError};

const CONTROL_TOPIC: &str = "$CONTROL/dynamic-security/v1";
const RESPONSE_TOPIC: &str = "$CONTROL/dynamic-security/v1/response";
const ADMIN_USER: &str = "dev-stack-admin";
/// What the retain janitor subscribes to (with Retain As Published): every chat topic a user may
/// publish on.
const JANITOR_FILTERS: [&str; 3] = [
    "chat/+/messages",
    "chat/+/messages/+",
    "chat/+/presence/+/+",
];
const WAIT: Duration = Duration::from_secs(5);
/// How long a disabled (expired or signed-out) dynsec client is kept before it is deleted: the
/// longest a session last connected with it can outlive it (the chat's Session Expiry, 600 s,
/// `mqtt_session::SessionConfig::session_expiry`) plus its presence Will Delay (15 s).
const SESSION_GRACE: Duration = Duration::from_secs(600 + 15);

/// PBKDF2-HMAC-SHA512 as the dynamic-security plugin stores passwords: 101 iterations over the
/// raw salt bytes, both base64 in the JSON file.
fn dynsec_hash(password: &str, salt: &[u8], iterations: u32) -> String {
    let mut out = [0u8; 64];
    pbkdf2::pbkdf2_hmac::<sha2::Sha512>(password.as_bytes(), salt, iterations, &mut out);
    base64::engine::general_purpose::STANDARD.encode(out)
}

fn acl(kind: &str, topic: &str, allow: bool, priority: i64) -> Value {
    json!({ "acltype": kind, "topic": topic, "allow": allow, "priority": priority })
}

/// The ACLs of the fixed chat roles: `(chat-user, chat-admin)`.
fn chat_role_acls(mode: AclMode) -> (Vec<Value>, Vec<Value>) {
    let shared = "chat/+/messages";
    let authors = "chat/+/messages/+";
    // Higher priority is checked first. The literal denials refuse the wildcard-room filters
    // themselves (rooms are literal names); the patterns allow every single room.
    let mut acls = vec![
        acl("subscribeLiteral", shared, false, 10),
        acl("subscribePattern", shared, true, 0),
        acl("unsubscribePattern", shared, true, 0),
    ];
    let presence = "chat/+/presence/+/+";
    if mode.author_topics() {
        acls.extend([
            acl("subscribeLiteral", authors, false, 10),
            acl("subscribePattern", authors, true, 0),
            acl("unsubscribePattern", authors, true, 0),
            acl("subscribeLiteral", presence, false, 10),
            acl("subscribePattern", presence, true, 0),
            acl("unsubscribePattern", presence, true, 0),
        ]);
    }
    if mode.shared_publish() {
        acls.push(acl("publishClientSend", shared, true, 0));
    }
    let admin_acls = acls.clone();
    let admin_room = "chat/admin/messages";
    let admin_presence = "chat/admin/presence/#";
    acls.extend([
        acl("publishClientSend", &format!("{admin_room}/#"), false, 20),
        acl("subscribeLiteral", admin_room, false, 20),
        acl("subscribePattern", &format!("{admin_room}/#"), false, 20),
        acl(
            "publishClientReceive",
            &format!("{admin_room}/#"),
            false,
            20,
        ),
        acl("publishClientSend", admin_presence, false, 20),
        acl("subscribePattern", admin_presence, false, 20),
        acl("publishClientReceive", admin_presence, false, 20),
    ]);
    (acls, admin_acls)
}

/// The per-user role of `author`/`mixed` mode: publishing on one's own author topic and
/// presence entries only.
fn author_role(user: &str) -> (String, Vec<Value>) {
    (
        format!("chat-author-{user}"),
        vec![
            acl(
                "publishClientSend",
                &format!("chat/+/messages/{user}"),
                true,
                0,
            ),
            acl(
                "publishClientSend",
                &format!("chat/+/presence/{user}/+"),
                true,
                0,
            ),
        ],
    )
}

/// The initial dynsec file: the admin client and the two fixed chat roles.
fn dynsec_config(admin_password: &str, mode: AclMode) -> Value {
    let mut salt = [0u8; 12];
    getrandom::fill(&mut salt).expect("the OS random source works");
    let (user_acls, admin_acls) = chat_role_acls(mode);
    json!({
        "clients": [{
            "username": ADMIN_USER,
            "textName": "dev-stack admin link",
            "password": dynsec_hash(admin_password, &salt, 101),
            "salt": base64::engine::general_purpose::STANDARD.encode(salt),
            "iterations": 101,
            "roles": [{ "rolename": "dynsec-admin" }]
        }],
        "roles": [
            {
                "rolename": "dynsec-admin",
                "acls": [
                    acl("publishClientSend", "$CONTROL/dynamic-security/#", true, 0),
                    acl("publishClientReceive", "$CONTROL/dynamic-security/#", true, 0),
                    acl("subscribePattern", "$CONTROL/dynamic-security/#", true, 0),
                    // The retain janitor: reads every chat topic, deletes retained messages.
                    acl("subscribePattern", "chat/#", true, 0),
                    acl("publishClientSend", "chat/#", true, 0),
                ]
            },
            { "rolename": "chat-user", "acls": user_acls },
            { "rolename": "chat-admin", "acls": admin_acls }
        ],
        "defaultACLAccess": {
            "publishClientSend": false,
            "publishClientReceive": true,
            "subscribe": false,
            "unsubscribe": true
        }
    })
}

/// Subscription option Retain As Published: a retained publish reaches the janitor flagged.
const RETAIN_AS_PUBLISHED: u8 = 0x08;

/// The presence entries the janitor has seen stored, by author: what a sign-out deletes.
type Entries = std::collections::HashMap<String, HashSet<String>>;

/// Deletes `packet` from the broker's retained store if it is a retained message that may not
/// stay there ([`crate::acl::retained_may_stay`]): an empty retained publish on its topic.
/// Keeps `entries` up to date with the presence entries that stay.
async fn sweep(
    client: &mut TcpClient,
    mode: AclMode,
    entries: &mut Entries,
    packet: Incoming,
) -> Result<(), probe::ProbeError> {
    if let Incoming::Publish {
        topic,
        payload,
        retain: true,
        ..
    } = packet
    {
        let author = topic.split('/').nth(3).unwrap_or_default().to_owned();
        if payload.is_empty() {
            if let Some(topics) = entries.get_mut(&author) {
                topics.remove(&topic);
            }
        } else if crate::acl::retained_may_stay(mode, &topic, payload.len()) {
            entries.entry(author).or_default().insert(topic);
        } else {
            tracing::info!(
                topic,
                bytes = payload.len(),
                "mosquitto retain janitor: deleted a retained message"
            );
            client
                .send(&probe::encode_publish_with(&topic, &[], 0, 0, true, false))
                .await?;
        }
    }
    Ok(())
}

/// Deletes every presence entry of `user` (a sign-out: dynsec's kick discards the Will).
async fn clear_user(
    client: &mut TcpClient,
    entries: &mut Entries,
    user: &str,
) -> Result<(), probe::ProbeError> {
    for topic in entries.remove(user).unwrap_or_default() {
        tracing::info!(
            topic,
            "mosquitto retain janitor: signed out, presence entry deleted"
        );
        client
            .send(&probe::encode_publish_with(&topic, &[], 0, 0, true, false))
            .await?;
    }
    Ok(())
}

/// The retain janitor: Mosquitto's dynsec cannot refuse the retain flag per topic, so every
/// retained message a user leaves outside their presence entries (or a presence entry over 512
/// bytes) is deleted as soon as the broker routes it. It also deletes a user's presence entries
/// when the user signs out (`signed_out`), since the kick that revocation does discards the
/// Will that would have deleted them. Runs until the link ends (the broker stopped or was killed;
/// the next start runs a new one).
async fn janitor(
    mut client: TcpClient,
    mode: AclMode,
    mut entries: Entries,
    mut signed_out: tokio::sync::mpsc::UnboundedReceiver<String>,
) {
    loop {
        // `recv` is cancel-safe: bytes are only taken from the socket when a read completes.
        let result = tokio::select! {
            packet = client.recv(Duration::from_secs(3600)) => match packet {
                Ok(packet) => sweep(&mut client, mode, &mut entries, packet).await,
                Err(probe::ProbeError::Timeout(_)) => Ok(()),
                Err(e) => Err(e),
            },
            Some(user) = signed_out.recv() => clear_user(&mut client, &mut entries, &user).await,
        };
        if let Err(e) = result {
            tracing::debug!("mosquitto retain janitor: link ended: {e}");
            return;
        }
    }
}

/// The account Mosquitto runs as when the stack runs as root.
const RUN_AS: &str = "mosquitto";

/// `Some((uid, gid))` of the `mosquitto` account when running as root (Mosquitto must drop to
/// it); `None` when not root (Mosquitto then runs as the current, unprivileged user).
fn run_as() -> Result<Option<(u32, u32)>, StackError> {
    if !nix::unistd::geteuid().is_root() {
        return Ok(None);
    }
    match nix::unistd::User::from_name(RUN_AS) {
        Ok(Some(user)) => Ok(Some((user.uid.as_raw(), user.gid.as_raw()))),
        _ => Err(StackError::Mosquitto(format!(
            "running as root and there is no `{RUN_AS}` user to run Mosquitto as (the Debian \
             package creates it); Mosquitto is never run as root"
        ))),
    }
}

fn mosquitto_conf(
    dir: &Path,
    plugin: &Path,
    max_queued: Option<u32>,
    persistence: bool,
    ws: SocketAddr,
    admin: SocketAddr,
) -> String {
    let max_queued = max_queued.map_or(String::new(), |n| format!("max_queued_messages {n}\n"));
    // Saved after every change (subscription, queued message): a `kill -9` then loses only
    // what changed since the last save, not every session.
    let persistence = if persistence {
        format!(
            "persistence true\npersistence_location {}/\nautosave_interval 1\nautosave_on_changes true\n",
            dir.display()
        )
    } else {
        "persistence false\n".to_owned()
    };
    format!(
        "# Written by dev-stack; removed when it stops.\n\
         # Started by root, Mosquitto drops to this user (the option is ignored otherwise).\n\
         user {RUN_AS}\n\
         per_listener_settings false\n\
         allow_anonymous false\n\
         {persistence}\
         # Chat messages are small: send each at once instead of waiting to coalesce (Nagle).\n\
         set_tcp_nodelay true\n\
         max_packet_size {max_packet}\n\
         # 2.0.11 does not apply max_packet_size to WebSocket clients: also limit the payload.\n\
         message_size_limit {max_packet}\n\
         {max_queued}\
         log_dest file {log}\n\
         plugin {plugin}\n\
         plugin_opt_config_file {dynsec}\n\
         \n\
         listener {admin_port} {admin_ip}\n\
         \n\
         listener {ws_port} {ws_ip}\n\
         protocol websockets\n\
         socket_domain ipv4\n",
        max_packet = crate::MAX_PACKET_SIZE,
        log = dir.join("mosquitto.log").display(),
        plugin = plugin.display(),
        dynsec = dir.join("dynsec.json").display(),
        admin_port = admin.port(),
        admin_ip = admin.ip(),
        ws_port = ws.port(),
        ws_ip = ws.ip(),
    )
}

/// A running Mosquitto and the stack's admin link to it.
pub(crate) struct Mosquitto {
    dir: tempfile::TempDir,
    bin: PathBuf,
    /// Where Mosquitto's WebSocket listener is: the public port, or with the proxy in front a
    /// private loopback port.
    ws: SocketAddr,
    /// The stack's proxy on the public port (`DEV_CONTROLS=1`: faults and framing).
    front: Option<crate::proxy::Front>,
    admin_addr: SocketAddr,
    admin_password: String,
    mode: AclMode,
    child: tokio::sync::Mutex<Option<Child>>,
    admin: tokio::sync::Mutex<Option<TcpClient>>,
    /// Per-user author roles already created (never deleted).
    author_roles: tokio::sync::Mutex<HashSet<String>>,
    /// The retain janitor's task (see [`janitor`]), one per Mosquitto process, and where to tell
    /// it a user signed out.
    janitor: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
    janitor_signed_out: std::sync::Mutex<Option<tokio::sync::mpsc::UnboundedSender<String>>>,
    /// Disabled dynsec clients and when to delete them ([`SESSION_GRACE`]), oldest first.
    disabled: tokio::sync::Mutex<std::collections::VecDeque<(tokio::time::Instant, String)>>,
}

impl std::fmt::Debug for Mosquitto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mosquitto")
            .field("dir", &self.dir.path())
            .field("ws", &self.ws)
            .field("admin_addr", &self.admin_addr)
            .field("admin_password", &"[REDACTED]")
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

impl Mosquitto {
    /// Writes the configuration, starts Mosquitto and opens the admin link.
    pub(crate) async fn start(
        bin: &Path,
        plugin: &Path,
        max_queued: Option<u32>,
        persistence: bool,
        mode: AclMode,
        public: SocketAddr,
        fronted: bool,
    ) -> Result<Self, StackError> {
        if !bin.exists() {
            return Err(StackError::Mosquitto(format!(
                "{} not found (apt-get install mosquitto)",
                bin.display()
            )));
        }
        if !plugin.exists() {
            return Err(StackError::Mosquitto(format!(
                "dynamic-security plugin {} not found",
                plugin.display()
            )));
        }
        let (ws, front) = if fronted {
            let front = crate::proxy::Front::bind(public, true)?;
            let ws = reserve_port(
                SocketAddr::new(public.ip(), 0),
                "the Mosquitto private WebSocket port",
            )?;
            front.proxy.set_backend(Some(ws));
            (ws, Some(front))
        } else {
            (reserve_port(public, "BROKER_WS_PORT")?, None)
        };
        let admin_addr = reserve_port(SocketAddr::new(public.ip(), 0), "the Mosquitto admin port")?;
        let dir = tempfile::Builder::new()
            .prefix("dev-stack-mosquitto-")
            .tempdir()?;
        let mut pw = [0u8; 24];
        getrandom::fill(&mut pw).expect("the OS random source works");
        let admin_password = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(pw);
        std::fs::write(
            dir.path().join("dynsec.json"),
            serde_json::to_vec_pretty(&dynsec_config(&admin_password, mode))
                .expect("JSON values serialize"),
        )?;
        std::fs::write(
            dir.path().join("mosquitto.conf"),
            mosquitto_conf(dir.path(), plugin, max_queued, persistence, ws, admin_addr),
        )?;
        if let Some((uid, gid)) = run_as()? {
            // Mosquitto drops to this user before it reads its files and rewrites dynsec.json
            // (write to a new file, then rename) in this directory.
            for path in [
                dir.path().to_owned(),
                dir.path().join("dynsec.json"),
                dir.path().join("mosquitto.conf"),
            ] {
                std::os::unix::fs::chown(&path, Some(uid), Some(gid))?;
            }
        }
        let broker = Self {
            dir,
            bin: bin.to_owned(),
            ws,
            front,
            admin_addr,
            admin_password,
            mode,
            child: tokio::sync::Mutex::new(None),
            admin: tokio::sync::Mutex::new(None),
            author_roles: tokio::sync::Mutex::new(HashSet::new()),
            janitor: std::sync::Mutex::new(None),
            janitor_signed_out: std::sync::Mutex::new(None),
            disabled: tokio::sync::Mutex::new(std::collections::VecDeque::new()),
        };
        broker.spawn().await?;
        Ok(broker)
    }

    /// The public WebSocket address.
    pub(crate) fn ws_addr(&self) -> SocketAddr {
        self.front.as_ref().map_or(self.ws, |f| f.proxy.public())
    }

    /// The proxy in front of Mosquitto, with `DEV_CONTROLS=1`.
    pub(crate) fn proxy(&self) -> Option<&crate::proxy::Proxy> {
        self.front.as_ref().map(|f| &*f.proxy)
    }

    /// The process id of the running Mosquitto.
    pub(crate) async fn pid(&self) -> Option<u32> {
        self.child.lock().await.as_ref().and_then(Child::id)
    }

    fn log_tail(&self) -> String {
        let log =
            std::fs::read_to_string(self.dir.path().join("mosquitto.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(8)..].join("\n")
    }

    async fn spawn(&self) -> Result<(), StackError> {
        let mut child = Command::new(&self.bin)
            .arg("-c")
            .arg(self.dir.path().join("mosquitto.conf"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                StackError::Mosquitto(format!("cannot start {}: {e}", self.bin.display()))
            })?;
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                let tail = self.log_tail();
                let port_hint = if tail.contains("in use") {
                    format!(
                        " (port {} or {} is taken)",
                        self.ws.port(),
                        self.admin_addr.port()
                    )
                } else {
                    String::new()
                };
                return Err(StackError::Mosquitto(format!(
                    "mosquitto exited with {status}{port_hint}:\n{tail}"
                )));
            }
            if TcpStream::connect(self.ws).await.is_ok()
                && TcpStream::connect(self.admin_addr).await.is_ok()
            {
                break;
            }
            if tokio::time::Instant::now() > deadline {
                let _ = child.start_kill();
                return Err(StackError::Mosquitto(format!(
                    "mosquitto did not open port {} within {WAIT:?}:\n{}",
                    self.ws.port(),
                    self.log_tail()
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        *self.child.lock().await = Some(child);
        let admin = self.connect_admin().await?;
        *self.admin.lock().await = Some(admin);
        // Its subscriptions replay what a restart restored (swept at once), and with the proxy in
        // front (DEV_CONTROLS) they are in place before any client can connect.
        let (janitor_link, entries) = self.connect_janitor().await?;
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        *self
            .janitor_signed_out
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(tx);
        self.set_janitor(Some(tokio::spawn(janitor(
            janitor_link,
            self.mode,
            entries,
            rx,
        ))));
        if let Some(front) = &self.front {
            front.open()?;
        }
        Ok(())
    }

    async fn connect_admin(&self) -> Result<TcpClient, StackError> {
        let options = ConnectOptions {
            client_id: format!("dev-stack-admin-{}", std::process::id()),
            username: Some(ADMIN_USER.into()),
            password: Some(self.admin_password.clone().into_bytes()),
            keep_alive: 0,
            clean_start: true,
            session_expiry: 0,
            v311: false,
        };
        let mut client = TcpClient::connect(self.admin_addr, &options, WAIT)
            .await
            .map_err(|e| StackError::Mosquitto(format!("admin link: {e}")))?;
        let id = client.packet_id();
        client
            .send(&probe::encode_subscribe(id, RESPONSE_TOPIC, 0))
            .await
            .map_err(|e| StackError::Mosquitto(format!("admin link: {e}")))?;
        match client.recv(WAIT).await {
            Ok(Incoming::SubAck { reasons, .. }) if reasons.first().is_some_and(|r| *r < 0x80) => {
                Ok(client)
            }
            other => Err(StackError::Mosquitto(format!(
                "admin link: subscribe to the dynsec responses failed: {other:?}"
            ))),
        }
    }

    /// The retain janitor's connection: the admin account under its own client id, subscribed
    /// to every chat topic with Retain As Published (QoS 0).
    async fn connect_janitor(&self) -> Result<(TcpClient, Entries), StackError> {
        let options = ConnectOptions {
            client_id: format!("dev-stack-janitor-{}", std::process::id()),
            username: Some(ADMIN_USER.into()),
            password: Some(self.admin_password.clone().into_bytes()),
            keep_alive: 0,
            clean_start: true,
            session_expiry: 0,
            v311: false,
        };
        let fail = |e: probe::ProbeError| StackError::Mosquitto(format!("retain janitor: {e}"));
        let mut client = TcpClient::connect(self.admin_addr, &options, WAIT)
            .await
            .map_err(fail)?;
        let mut entries = Entries::new();
        for filter in JANITOR_FILTERS {
            let id = client.packet_id();
            client
                .send(&probe::encode_subscribe_options(
                    id,
                    filter,
                    RETAIN_AS_PUBLISHED,
                ))
                .await
                .map_err(fail)?;
            // Retained replays may come before the SUBACK: sweep them as they come.
            loop {
                match client.recv(WAIT).await.map_err(fail)? {
                    Incoming::SubAck { reasons, .. }
                        if reasons.first().is_some_and(|r| *r < 0x80) =>
                    {
                        break
                    }
                    Incoming::SubAck { reasons, .. } => {
                        return Err(StackError::Mosquitto(format!(
                            "retain janitor: subscribing to {filter} refused: {reasons:?}"
                        )))
                    }
                    packet => sweep(&mut client, self.mode, &mut entries, packet)
                        .await
                        .map_err(fail)?,
                }
            }
        }
        Ok((client, entries))
    }

    /// A user signed out: the janitor deletes their presence entries (see [`janitor`]).
    pub(crate) fn signed_out(&self, user: &str) {
        let tx = self
            .janitor_signed_out
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(tx) = tx.as_ref() {
            let _ = tx.send(user.to_owned());
        }
    }

    fn set_janitor(&self, task: Option<tokio::task::JoinHandle<()>>) {
        let mut slot = self
            .janitor
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(old) = std::mem::replace(&mut *slot, task) {
            old.abort();
        }
    }

    /// Sends one dynsec command and waits for its response; `Err` carries the plugin's error.
    async fn command(&self, mut command: Value) -> Result<(), String> {
        let mut nonce = [0u8; 8];
        getrandom::fill(&mut nonce).expect("the OS random source works");
        let correlation: String = nonce.iter().map(|b| format!("{b:02x}")).collect();
        command["correlationData"] = Value::String(correlation.clone());
        let payload =
            serde_json::to_vec(&json!({ "commands": [command] })).expect("JSON values serialize");
        let mut admin = self.admin.lock().await;
        for attempt in 0..2 {
            if admin.is_none() {
                *admin = Some(self.connect_admin().await.map_err(|e| e.to_string())?);
            }
            let client = admin.as_mut().expect("connected above");
            match Self::exchange(client, &payload, &correlation).await {
                Ok(result) => return result,
                Err(e) => {
                    tracing::warn!("mosquitto admin link failed (attempt {attempt}): {e}");
                    *admin = None;
                }
            }
        }
        Err("the Mosquitto admin link is down".into())
    }

    async fn exchange(
        client: &mut TcpClient,
        payload: &[u8],
        correlation: &str,
    ) -> Result<Result<(), String>, probe::ProbeError> {
        client
            .send(&probe::encode_publish(CONTROL_TOPIC, payload, 0, 0))
            .await?;
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if let Incoming::Publish { topic, payload, .. } = client.recv(left).await? {
                if topic != RESPONSE_TOPIC {
                    continue;
                }
                let Ok(body) = serde_json::from_slice::<Value>(&payload) else {
                    continue;
                };
                let Some(response) = body["responses"]
                    .as_array()
                    .and_then(|r| r.iter().find(|r| r["correlationData"] == correlation))
                else {
                    continue;
                };
                return Ok(match response.get("error").and_then(Value::as_str) {
                    Some(error) => Err(error.to_owned()),
                    None => Ok(()),
                });
            }
        }
    }

    /// Creates the per-user author role once (it is never deleted).
    async fn ensure_author_role(&self, user: &str) -> Result<String, String> {
        let (rolename, acls) = author_role(user);
        let mut created = self.author_roles.lock().await;
        if !created.contains(&rolename) {
            match self
                .command(json!({ "command": "createRole", "rolename": rolename, "acls": acls }))
                .await
            {
                // Also after a restart of the stack's admin link: the role is in dynsec.json.
                Ok(()) => {}
                Err(e) if e.contains("already exists") => {}
                Err(e) => return Err(format!("createRole {rolename}: {e}")),
            }
            created.insert(rolename.clone());
        }
        Ok(rolename)
    }

    /// Creates the dynsec client for a freshly issued token.
    pub(crate) async fn register(
        &self,
        user: &str,
        username: &str,
        password: &str,
    ) -> Result<(), String> {
        let base = if user == crate::acl::ADMIN_ROOM {
            "chat-admin"
        } else {
            "chat-user"
        };
        let mut roles = vec![json!({ "rolename": base, "priority": 10 })];
        if self.mode.author_topics() {
            let own = self.ensure_author_role(user).await?;
            roles.push(json!({ "rolename": own, "priority": 0 }));
        }
        self.command(json!({
            "command": "createClient",
            "username": username,
            "password": password,
            "roles": roles
        }))
        .await
    }

    /// Disables the dynsec client of an expired token, which kicks its live connection and
    /// refuses its password; deletes the clients disabled more than [`SESSION_GRACE`] ago.
    pub(crate) async fn revoke(&self, username: &str) -> Result<(), String> {
        self.command(json!({ "command": "disableClient", "username": username }))
            .await?;
        let now = tokio::time::Instant::now();
        let due: Vec<String> = {
            let mut disabled = self.disabled.lock().await;
            disabled.push_back((now + SESSION_GRACE, username.to_owned()));
            let n = disabled.iter().take_while(|(at, _)| *at <= now).count();
            disabled.drain(..n).map(|(_, name)| name).collect()
        };
        for name in due {
            if let Err(e) = self
                .command(json!({ "command": "deleteClient", "username": name }))
                .await
            {
                tracing::warn!("deleting the disabled dynsec client {name} failed: {e}");
            }
        }
        Ok(())
    }

    async fn stop_child(&self) {
        if let Some(front) = &self.front {
            front.close().await;
        }
        *self.admin.lock().await = None;
        self.set_janitor(None);
        let Some(mut child) = self.child.lock().await.take() else {
            return;
        };
        if let Some(pid) = child.id() {
            let pid = nix::unistd::Pid::from_raw(pid as i32);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        }
        if tokio::time::timeout(Duration::from_secs(3), child.wait())
            .await
            .is_err()
        {
            let _ = child.kill().await;
        }
    }

    /// Stops Mosquitto (every connection closes, the port refuses connections for `down`) and
    /// starts it again with the same configuration; live tokens keep working (dynsec file).
    pub(crate) async fn restart(&self, down: Duration) -> Result<(), StackError> {
        self.stop_child().await;
        tokio::time::sleep(down).await;
        self.spawn().await
    }

    /// `kill -9` of the Mosquitto process (no DISCONNECT, nothing saved); the proxy in front,
    /// if any, stops accepting so the port refuses connections until [`Self::revive`].
    pub(crate) async fn kill(&self) {
        *self.admin.lock().await = None;
        self.set_janitor(None);
        if let Some(mut child) = self.child.lock().await.take() {
            if let Some(pid) = child.id() {
                let pid = nix::unistd::Pid::from_raw(pid as i32);
                let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
            }
            let _ = child.wait().await;
        }
        if let Some(front) = &self.front {
            front.close().await;
        }
    }

    /// Starts Mosquitto again after [`Self::kill`] (nothing to do if it runs).
    pub(crate) async fn revive(&self) -> Result<(), StackError> {
        if self.child.lock().await.is_some() {
            return Ok(());
        }
        self.spawn().await
    }

    /// Stops Mosquitto.
    pub(crate) async fn shutdown(&self) {
        self.stop_child().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dynsec_hash_matches_a_file_written_by_mosquitto_ctrl() {
        // `mosquitto_ctrl dynsec init f admin s3cret` (2.0.11) wrote this salt and hash.
        let salt = base64::engine::general_purpose::STANDARD
            .decode("KWIGbYqF8PAZFjkV")
            .unwrap();
        assert_eq!(
            dynsec_hash("s3cret", &salt, 101),
            "cw0tQGGiwJwpKZFpDCqKLiac0R8gw+LX5+VCYzlEOf/y9KGh+euRdS8qGy8ynQnZW3ziOomUmcASJWiAhQUpaA=="
        );
    }

    #[test]
    fn config_binds_loopback_only_with_ipv4_websockets() {
        let ws: SocketAddr = "127.0.0.1:8083".parse().unwrap();
        let admin: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        let conf = mosquitto_conf(Path::new("/d"), Path::new("/p.so"), None, false, ws, admin);
        assert!(conf.contains("listener 8083 127.0.0.1\nprotocol websockets\nsocket_domain ipv4\n"));
        assert!(conf.contains("listener 40000 127.0.0.1\n"));
        assert!(conf.contains("allow_anonymous false\n"));
        assert!(conf.contains("set_tcp_nodelay true\n"));
        assert!(!conf.contains("max_queued_messages"));
    }

    #[test]
    fn config_never_keeps_root_and_sets_the_broker_limits() {
        let ws: SocketAddr = "127.0.0.1:8083".parse().unwrap();
        let admin: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        let conf = mosquitto_conf(Path::new("/d"), Path::new("/p.so"), None, false, ws, admin);
        assert!(!conf.contains("user root"));
        assert!(conf.contains("\nuser mosquitto\n"));
        assert!(conf.contains("\nmax_packet_size 65536\n"));
        assert!(conf.contains("\nmessage_size_limit 65536\n"));
        assert!(
            !conf.contains("retain_available"),
            "retained presence entries need it"
        );
    }

    fn topics_of(acls: &[Value], kind: &str, allow: bool) -> Vec<String> {
        acls.iter()
            .filter(|a| a["acltype"] == kind && a["allow"] == allow)
            .map(|a| a["topic"].as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn roles_follow_the_acl_mode() {
        let (user, admin) = chat_role_acls(AclMode::Author);
        assert!(topics_of(&user, "publishClientSend", true).is_empty());
        assert_eq!(
            topics_of(&user, "subscribePattern", true),
            [
                "chat/+/messages",
                "chat/+/messages/+",
                "chat/+/presence/+/+"
            ]
        );
        assert_eq!(
            topics_of(&user, "subscribeLiteral", false),
            [
                "chat/+/messages",
                "chat/+/messages/+",
                "chat/+/presence/+/+",
                "chat/admin/messages"
            ]
        );
        assert_eq!(
            topics_of(&user, "subscribePattern", false),
            ["chat/admin/messages/#", "chat/admin/presence/#"]
        );
        assert_eq!(
            topics_of(&user, "publishClientSend", false),
            ["chat/admin/messages/#", "chat/admin/presence/#"]
        );
        assert_eq!(
            topics_of(&admin, "subscribeLiteral", false),
            [
                "chat/+/messages",
                "chat/+/messages/+",
                "chat/+/presence/+/+"
            ]
        );
        assert!(topics_of(&admin, "publishClientSend", false).is_empty());
        let (user, _) = chat_role_acls(AclMode::Quickstart);
        assert_eq!(
            topics_of(&user, "publishClientSend", true),
            ["chat/+/messages"]
        );
        assert_eq!(
            topics_of(&user, "subscribePattern", true),
            ["chat/+/messages"],
            "no presence without author topics"
        );
        let (user, _) = chat_role_acls(AclMode::Mixed);
        assert_eq!(
            topics_of(&user, "publishClientSend", true),
            ["chat/+/messages"]
        );
        let (name, acls) = author_role("alice");
        assert_eq!(name, "chat-author-alice");
        assert_eq!(
            topics_of(&acls, "publishClientSend", true),
            ["chat/+/messages/alice", "chat/+/presence/alice/+"]
        );
    }

    #[test]
    fn debug_output_never_shows_the_admin_password() {
        let broker = Mosquitto {
            dir: tempfile::tempdir().unwrap(),
            bin: PathBuf::from("/usr/sbin/mosquitto"),
            ws: "127.0.0.1:1".parse().unwrap(),
            front: None,
            admin_addr: "127.0.0.1:2".parse().unwrap(),
            admin_password: "admin-secret-pw".into(),
            mode: AclMode::Author,
            child: tokio::sync::Mutex::new(None),
            admin: tokio::sync::Mutex::new(None),
            author_roles: tokio::sync::Mutex::new(HashSet::new()),
            janitor: std::sync::Mutex::new(None),
            janitor_signed_out: std::sync::Mutex::new(None),
            disabled: tokio::sync::Mutex::new(std::collections::VecDeque::new()),
        };
        let shown = format!("{broker:?}");
        assert!(!shown.contains("admin-secret-pw"), "{shown}");
        assert!(shown.contains("REDACTED"));
    }

    #[test]
    fn a_queue_limit_is_written_only_when_configured() {
        let ws: SocketAddr = "127.0.0.1:8083".parse().unwrap();
        let admin: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        let conf = mosquitto_conf(
            Path::new("/d"),
            Path::new("/p.so"),
            Some(0),
            false,
            ws,
            admin,
        );
        assert!(conf.contains("\nmax_queued_messages 0\nlog_dest file"));
    }

    #[test]
    fn persistence_saves_after_every_change_in_the_broker_dir_when_on() {
        let ws: SocketAddr = "127.0.0.1:8083".parse().unwrap();
        let admin: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        let off = mosquitto_conf(Path::new("/d"), Path::new("/p.so"), None, false, ws, admin);
        assert!(off.contains("\npersistence false\n"));
        let on = mosquitto_conf(Path::new("/d"), Path::new("/p.so"), None, true, ws, admin);
        assert!(on.contains(
            "\npersistence true\npersistence_location /d/\nautosave_interval 1\nautosave_on_changes true\n"
        ));
    }
}
