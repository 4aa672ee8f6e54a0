//! The fault test control: network faults injected by the stack's broker proxy, between the
//! browsers and either broker (see `POST /dev/control/faults`).
//!
//! Only with `DEV_CONTROLS=1` does the proxy copy bytes through [`pipe`], which checks the current
//! [`FaultRule`] for each chunk; otherwise connections are plain TCP pipes (embedded broker) or
//! go straight to Mosquitto (no proxy at all), so the faults cost nothing when off.
//!
//! Modes, per connection the rule's scope selects, after the first `afterBytes` bytes (both
//! directions together, counted from when the connection meets the rule, i.e. from its start for
//! a connection opened after the rule was set):
//! - `stall`: no byte moves in either direction and the socket stays open (held bytes, and an
//!   EOF, are delivered once healed; the reader stops, so TCP backpressure holds the rest);
//! - `blackhole`: every byte (and EOF) is silently dropped, the socket stays open; bytes dropped
//!   stay dropped after healing (the WebSocket stream is usually broken then);
//! - `delay`: each chunk is delivered `delayMs` after the proxy read it (pipelined latency);
//! - `drop`: both sockets are closed cleanly (TCP FIN, no WebSocket close frame);
//! - `reset`: the client's socket is reset (SO_LINGER 0: TCP RST), the broker's is closed.
//!
//! Scopes: `all` (every open and new connection), `new` (connections accepted after the rule was
//! set), `user:NAME` (connections whose MQTT CONNECT user name is `NAME@tokenId`: the proxy reads
//! the user name from the client's first WebSocket frames). `healAfterMs` turns the rule `off`
//! after that time; `mode: "off"` heals at once.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch, Notify};
use tokio::time::Instant;

/// What the proxy does to the connections a rule selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FaultMode {
    /// Bytes flow.
    #[default]
    Off,
    /// Nothing moves, the socket stays open.
    Stall,
    /// Everything is dropped, the socket stays open.
    Blackhole,
    /// Each chunk is delivered late.
    Delay,
    /// Clean close of both sockets.
    Drop,
    /// TCP RST to the client.
    Reset,
}

impl FaultMode {
    /// The name used in the control API.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Stall => "stall",
            Self::Blackhole => "blackhole",
            Self::Delay => "delay",
            Self::Drop => "drop",
            Self::Reset => "reset",
        }
    }
}

/// Which connections a rule applies to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum FaultScope {
    /// Every open and new connection.
    #[default]
    All,
    /// Connections accepted after the rule was set.
    New,
    /// Connections of one user (from the MQTT CONNECT user name `user@tokenId`).
    User(String),
}

impl FaultScope {
    /// Parses `all`, `new` or `user:NAME`.
    ///
    /// # Errors
    /// Anything else.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "all" => Ok(Self::All),
            "new" => Ok(Self::New),
            _ => match s.strip_prefix("user:") {
                Some(u) if crate::acl::valid_user(u) => Ok(Self::User(u.to_owned())),
                _ => Err(format!(
                    "scope {s:?}: expected \"all\", \"new\" or \"user:NAME\""
                )),
            },
        }
    }

    /// The control API's spelling.
    #[must_use]
    pub fn name(&self) -> String {
        match self {
            Self::All => "all".into(),
            Self::New => "new".into(),
            Self::User(u) => format!("user:{u}"),
        }
    }
}

/// The fault in force.
#[derive(Debug, Clone, Default)]
pub struct FaultRule {
    /// What happens.
    pub mode: FaultMode,
    /// To which connections.
    pub scope: FaultScope,
    /// Bytes that still pass (both directions together) before the mode applies.
    pub after_bytes: u64,
    /// The delay of `delay`.
    pub delay: Duration,
    /// When set, the rule turns `off` this long after it was set.
    pub heal_after: Option<Duration>,
    pub(crate) generation: u64,
    /// Connections numbered from here on are "new".
    pub(crate) first_new: u64,
}

impl FaultRule {
    /// The rule as `GET /dev/control` shows it.
    #[must_use]
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "mode": self.mode.name(),
            "scope": self.scope.name(),
            "afterBytes": self.after_bytes,
            "delayMs": self.delay.as_millis() as u64,
            "healAfterMs": self.heal_after.map(|d| d.as_millis() as u64),
        })
    }
}

/// The fault state of one proxy.
#[derive(Debug)]
pub(crate) struct Faults {
    rule: watch::Sender<FaultRule>,
    next_conn: AtomicU64,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            rule: watch::Sender::new(FaultRule::default()),
            next_conn: AtomicU64::new(0),
        }
    }
}

impl Faults {
    /// Puts `rule` in force (and schedules its healing).
    pub(crate) fn set(self: &Arc<Self>, mut rule: FaultRule) {
        let mut generation = 0;
        self.rule.send_modify(|current| {
            rule.generation = current.generation + 1;
            rule.first_new = self.next_conn.load(Ordering::SeqCst);
            generation = rule.generation;
            *current = rule.clone();
        });
        if let (Some(after), true) = (rule.heal_after, rule.mode != FaultMode::Off) {
            let faults = Arc::clone(self);
            tokio::spawn(async move {
                tokio::time::sleep(after).await;
                if faults.rule.borrow().generation == generation {
                    tracing::warn!("control: faults healed after {after:?}");
                    faults.set(FaultRule::default());
                }
            });
        }
    }

    /// The rule in force.
    pub(crate) fn rule(&self) -> FaultRule {
        self.rule.borrow().clone()
    }

    /// State for a newly accepted connection.
    pub(crate) fn conn(&self) -> Conn {
        Conn {
            seq: self.next_conn.fetch_add(1, Ordering::SeqCst),
            user: Mutex::new(None),
            counted: Mutex::new((u64::MAX, 0)),
            trigger: Notify::new(),
        }
    }
}

/// One connection's view of the faults.
#[derive(Debug)]
pub(crate) struct Conn {
    seq: u64,
    user: Mutex<Option<String>>,
    /// (rule generation, bytes forwarded since this connection met it).
    counted: Mutex<(u64, u64)>,
    trigger: Notify,
}

impl Conn {
    fn applies(&self, rule: &FaultRule) -> bool {
        rule.mode != FaultMode::Off
            && match &rule.scope {
                FaultScope::All => true,
                FaultScope::New => self.seq >= rule.first_new,
                FaultScope::User(u) => {
                    self.user
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .as_deref()
                        == Some(u)
                }
            }
    }

    /// Bytes that may still pass before `rule` applies.
    fn allowance(&self, rule: &FaultRule) -> u64 {
        let mut c = self.counted.lock().unwrap_or_else(|e| e.into_inner());
        if c.0 != rule.generation {
            *c = (rule.generation, 0);
        }
        rule.after_bytes.saturating_sub(c.1)
    }

    fn count(&self, n: usize) {
        let mut c = self.counted.lock().unwrap_or_else(|e| e.into_inner());
        c.1 = c.1.saturating_add(n as u64);
    }

    fn set_user(&self, user: String) {
        *self.user.lock().unwrap_or_else(|e| e.into_inner()) = Some(user);
        self.trigger.notify_one();
    }
}

const CHUNK: usize = 16 * 1024;

/// Copies between `client` and `broker` until both directions end, applying the faults.
pub(crate) async fn pipe(
    mut client: TcpStream,
    mut broker: TcpStream,
    faults: &Faults,
    conn: &Conn,
) {
    let action = {
        let (cr, cw) = client.split();
        let (br, bw) = broker.split();
        let up = direction(cr, bw, faults, conn, true);
        let down = direction(br, cw, faults, conn, false);
        tokio::select! {
            _ = async { tokio::join!(up, down) } => None,
            mode = supervise(faults, conn) => Some(mode),
        }
    };
    match action {
        Some(FaultMode::Reset) => {
            let linger = nix::libc::linger {
                l_onoff: 1,
                l_linger: 0,
            };
            let _ =
                nix::sys::socket::setsockopt(&client, nix::sys::socket::sockopt::Linger, &linger);
            drop(client);
            drop(broker);
        }
        Some(_) => {
            // FIN both ways; read what is still coming for a moment, so that unread bytes do not
            // turn the close into a reset.
            let _ = client.shutdown().await;
            let _ = broker.shutdown().await;
            let mut sink = [0u8; 4096];
            let _ = tokio::time::timeout(Duration::from_secs(2), async {
                while matches!(client.read(&mut sink).await, Ok(n) if n > 0) {}
            })
            .await;
        }
        None => {}
    }
}

/// Waits until a `drop` or `reset` rule takes this connection.
async fn supervise(faults: &Faults, conn: &Conn) -> FaultMode {
    let mut rules = faults.rule.subscribe();
    loop {
        {
            let rule = rules.borrow_and_update().clone();
            if matches!(rule.mode, FaultMode::Drop | FaultMode::Reset)
                && conn.applies(&rule)
                && conn.allowance(&rule) == 0
            {
                return rule.mode;
            }
        }
        tokio::select! {
            changed = rules.changed() => if changed.is_err() { std::future::pending::<()>().await },
            () = conn.trigger.notified() => {}
        }
    }
}

async fn direction<R, W>(mut r: R, mut w: W, faults: &Faults, conn: &Conn, up: bool)
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let (tx, mut rx) = mpsc::channel::<(Instant, Vec<u8>)>(32);
    let read = async move {
        let mut sniffer = up.then(Sniffer::default);
        loop {
            let mut buf = vec![0u8; CHUNK];
            let n = match r.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            buf.truncate(n);
            if let Some(s) = &mut sniffer {
                match s.feed(&buf) {
                    Sniffed::More => {}
                    Sniffed::User(user) => {
                        conn.set_user(user);
                        sniffer = None;
                    }
                    Sniffed::GaveUp => sniffer = None,
                }
            }
            if tx.send((Instant::now(), buf)).await.is_err() {
                break;
            }
        }
    };
    let write = async move {
        let mut rules = faults.rule.subscribe();
        while let Some((at, chunk)) = rx.recv().await {
            if forward(&mut w, &mut rules, conn, at, &chunk).await.is_err() {
                return;
            }
        }
        // The source ended: a stall holds the EOF too, a black hole swallows it.
        loop {
            let rule = rules.borrow_and_update().clone();
            if !conn.applies(&rule) || conn.allowance(&rule) > 0 {
                break;
            }
            match rule.mode {
                FaultMode::Stall => {
                    if rules.changed().await.is_err() {
                        return;
                    }
                }
                FaultMode::Blackhole => return,
                _ => break,
            }
        }
        let _ = w.shutdown().await;
    };
    tokio::join!(read, write);
}

async fn forward<W: AsyncWrite + Unpin>(
    w: &mut W,
    rules: &mut watch::Receiver<FaultRule>,
    conn: &Conn,
    at: Instant,
    chunk: &[u8],
) -> std::io::Result<()> {
    let mut chunk = chunk;
    while !chunk.is_empty() {
        let rule = rules.borrow_and_update().clone();
        let allowance = conn.allowance(&rule);
        if !conn.applies(&rule) || allowance > 0 {
            let n = if conn.applies(&rule) {
                (allowance as usize).min(chunk.len())
            } else {
                chunk.len()
            };
            w.write_all(&chunk[..n]).await?;
            conn.count(n);
            chunk = &chunk[n..];
            continue;
        }
        match rule.mode {
            FaultMode::Off => unreachable!("an off rule applies to nothing"),
            FaultMode::Stall => {
                if rules.changed().await.is_err() {
                    return Err(std::io::ErrorKind::BrokenPipe.into());
                }
            }
            FaultMode::Blackhole => return Ok(()),
            FaultMode::Delay => {
                tokio::time::sleep_until(at + rule.delay).await;
                w.write_all(chunk).await?;
                conn.count(chunk.len());
                return Ok(());
            }
            FaultMode::Drop | FaultMode::Reset => {
                // The supervisor closes the connection; nothing more is forwarded.
                conn.trigger.notify_one();
                std::future::pending::<()>().await;
            }
        }
    }
    Ok(())
}

enum Sniffed {
    More,
    User(String),
    GaveUp,
}

/// Reads the MQTT CONNECT user name out of the client's first bytes: the HTTP upgrade request,
/// then masked WebSocket frames.
#[derive(Default)]
struct Sniffer {
    buf: Vec<u8>,
}

const SNIFF_LIMIT: usize = 32 * 1024;

impl Sniffer {
    fn feed(&mut self, data: &[u8]) -> Sniffed {
        self.buf.extend_from_slice(data);
        if self.buf.len() > SNIFF_LIMIT {
            return Sniffed::GaveUp;
        }
        let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") else {
            return Sniffed::More;
        };
        let payload = ws_payload(&self.buf[end + 4..]);
        match connect_username(&payload) {
            Ok(Some(name)) => Sniffed::User(
                name.rsplit_once('@')
                    .map_or(name.as_str(), |(u, _)| u)
                    .to_owned(),
            ),
            Ok(None) => Sniffed::GaveUp,
            Err(Incomplete) => Sniffed::More,
        }
    }
}

/// The unmasked payload of the complete WebSocket frames at the start of `buf`.
fn ws_payload(buf: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut pos = 0;
    while buf.len() >= pos + 2 {
        let b1 = buf[pos + 1];
        let mut hdr = 2;
        let mut len = u64::from(b1 & 0x7f);
        if len == 126 {
            let Some(b) = buf.get(pos + 2..pos + 4) else {
                break;
            };
            len = u64::from(u16::from_be_bytes([b[0], b[1]]));
            hdr += 2;
        } else if len == 127 {
            let Some(b) = buf.get(pos + 2..pos + 10) else {
                break;
            };
            len = u64::from_be_bytes(b.try_into().expect("8 bytes"));
            hdr += 8;
        }
        let mask = if b1 & 0x80 != 0 {
            let Some(m) = buf.get(pos + hdr..pos + hdr + 4) else {
                break;
            };
            hdr += 4;
            Some([m[0], m[1], m[2], m[3]])
        } else {
            None
        };
        let Ok(len) = usize::try_from(len) else { break };
        let Some(data) = buf.get(pos + hdr..pos + hdr + len) else {
            break;
        };
        out.extend(
            data.iter()
                .enumerate()
                .map(|(i, b)| mask.map_or(*b, |m| b ^ m[i % 4])),
        );
        pos += hdr + len;
    }
    out
}

struct Incomplete;

fn varint(p: &[u8], pos: &mut usize) -> Result<usize, Incomplete> {
    let mut value = 0usize;
    for shift in 0..4 {
        let b = *p.get(*pos).ok_or(Incomplete)?;
        *pos += 1;
        value |= usize::from(b & 0x7f) << (7 * shift);
        if b & 0x80 == 0 {
            return Ok(value);
        }
    }
    Ok(value)
}

fn u16_at(p: &[u8], pos: &mut usize) -> Result<usize, Incomplete> {
    let b = p.get(*pos..*pos + 2).ok_or(Incomplete)?;
    *pos += 2;
    Ok(usize::from(u16::from_be_bytes([b[0], b[1]])))
}

fn skip(p: &[u8], pos: &mut usize, n: usize) -> Result<(), Incomplete> {
    if p.len() < *pos + n {
        return Err(Incomplete);
    }
    *pos += n;
    Ok(())
}

/// The user name of the MQTT CONNECT at the start of `p`: `Ok(None)` when it is not a CONNECT or
/// has no user name, `Err` when more bytes are needed.
fn connect_username(p: &[u8]) -> Result<Option<String>, Incomplete> {
    let first = *p.first().ok_or(Incomplete)?;
    if first != 0x10 {
        return Ok(None);
    }
    let mut pos = 1;
    let _remaining = varint(p, &mut pos)?;
    let name_len = u16_at(p, &mut pos)?;
    skip(p, &mut pos, name_len)?;
    let level = *p.get(pos).ok_or(Incomplete)?;
    let flags = *p.get(pos + 1).ok_or(Incomplete)?;
    pos += 2;
    skip(p, &mut pos, 2)?; // keep alive
    let v5 = level == 5;
    if v5 {
        let props = varint(p, &mut pos)?;
        skip(p, &mut pos, props)?;
    }
    let id_len = u16_at(p, &mut pos)?;
    skip(p, &mut pos, id_len)?;
    if flags & 0x04 != 0 {
        if v5 {
            let props = varint(p, &mut pos)?;
            skip(p, &mut pos, props)?;
        }
        let topic = u16_at(p, &mut pos)?;
        skip(p, &mut pos, topic)?;
        let payload = u16_at(p, &mut pos)?;
        skip(p, &mut pos, payload)?;
    }
    if flags & 0x80 == 0 {
        return Ok(None);
    }
    let len = u16_at(p, &mut pos)?;
    let name = p.get(pos..pos + len).ok_or(Incomplete)?;
    Ok(Some(String::from_utf8_lossy(name).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masked_frame(payload: &[u8]) -> Vec<u8> {
        let mask = [1u8, 2, 3, 4];
        let mut f = vec![0x82, 0x80 | payload.len() as u8];
        f.extend(mask);
        f.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        f
    }

    #[test]
    fn the_sniffer_reads_the_user_of_a_v5_and_a_v311_connect_split_anywhere() {
        for v311 in [false, true] {
            let options = crate::probe::ConnectOptions {
                client_id: "c1".into(),
                username: Some("alice@tok_1".into()),
                password: Some(b"pw".to_vec()),
                keep_alive: 30,
                clean_start: true,
                session_expiry: 0,
                v311,
            };
            let connect = crate::probe::encode_connect(&options);
            let mut bytes = b"GET /mqtt HTTP/1.1\r\nHost: x\r\n\r\n".to_vec();
            bytes.extend(masked_frame(&connect[..5]));
            bytes.extend(masked_frame(&connect[5..]));
            for cut in [1, 7, 40, bytes.len()] {
                let mut s = Sniffer::default();
                let mut got = None;
                for part in bytes.chunks(cut) {
                    match s.feed(part) {
                        Sniffed::More => {}
                        Sniffed::User(u) => {
                            got = Some(u);
                            break;
                        }
                        Sniffed::GaveUp => panic!("gave up"),
                    }
                }
                assert_eq!(got.as_deref(), Some("alice"), "v311 {v311} cut {cut}");
            }
        }
    }

    #[test]
    fn scopes_parse_and_print() {
        for s in ["all", "new", "user:alice"] {
            assert_eq!(FaultScope::parse(s).unwrap().name(), s);
        }
        assert!(FaultScope::parse("user:").is_err());
        assert!(FaultScope::parse("some").is_err());
    }
}
