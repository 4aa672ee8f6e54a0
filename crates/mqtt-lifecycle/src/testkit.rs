//! Test support: a scripted fake broker speaking real MQTT bytes (through `mqtt-codec`), a
//! scripted token endpoint and a fake clock, wired to a [`Supervisor`] by [`Harness::drive`].
//!
//! The broker keeps server-side sessions the way Mosquitto 2.0.11 and the `mqtt5` broker do
//! (behaviour the dev stack's real-broker tests in `crates/dev-stack/tests/` pin): a CONNECT with the same client id and clean start
//! off takes the session over, the old socket is simply closed (bytes still in flight on it are
//! lost), and unacknowledged QoS 1 messages are redelivered on the new link with DUP set.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::time::Duration;

use mqtt_codec::{
    encode, ConnAck, Connect, Framer, Packet, ProtocolVersion, Publish, QoS, QosHandshake, SubAck,
    UnsubAck,
};
use mqtt_session::{LinkId, OutgoingPublish, SessionConfig};

use crate::supervisor::{Action, ClientEvent, RequestId, Supervisor, SupervisorConfig};
use crate::token::{HttpResponse, TokenResult};
use crate::{ConnectionState, Instant, Reason};

/// Epoch seconds of the fake wall clock at `now_ms == 0` (the server's clock; the supervisor
/// never sees a local one).
pub const WALL0: i64 = 1_795_860_000;

struct Conn {
    framer: Framer,
    version: ProtocolVersion,
    client_id: Option<String>,
    password: Vec<u8>,
}

#[derive(Default)]
struct ServerSession {
    subs: Vec<String>,
    /// QoS 1 messages sent to the client and not yet acknowledged, by packet id.
    unacked: BTreeMap<u16, Publish>,
    next_pid: u16,
    owner: Option<LinkId>,
}

/// A broker with token-password authentication, server-side sessions and takeover.
#[derive(Default)]
pub struct FakeBroker {
    /// Refuse MQTT 5 CONNECTs the way a 3.1.1-only broker does (CONNACK return code 1).
    pub v311_only: bool,
    /// Close the link without any CONNACK on an MQTT 5 CONNECT, the way RabbitMQ 3.10 does.
    pub v5_silent_close: bool,
    /// Close every link without any CONNACK, whatever the protocol (a link fault right after
    /// CONNECT).
    pub close_before_connack: bool,
    /// Refuse a CONNECT with a retained Will the way a broker without retain does (Mosquitto:
    /// v5 CONNACK 0x9A Retain not supported; over 3.1.1 the link is closed without CONNACK).
    pub no_retain: bool,
    /// Accepted passwords and when (ms on the fake clock) the broker ends links using them.
    passwords: HashMap<Vec<u8>, u64>,
    conns: BTreeMap<LinkId, Conn>,
    sessions: HashMap<String, ServerSession>,
    /// Bytes for the client, per link, not yet delivered.
    pub outbox: BTreeMap<LinkId, VecDeque<Vec<u8>>>,
    /// Links the broker closed; the harness reports them to the supervisor.
    pub closed: Vec<LinkId>,
    /// Application messages published by the client, in arrival order.
    pub received: Vec<Publish>,
    /// Every CONNECT seen.
    pub connects: Vec<Connect>,
}

impl FakeBroker {
    /// Accepts `password` until `expires_ms`.
    pub fn accept(&mut self, password: &str, expires_ms: u64) {
        self.passwords
            .insert(password.as_bytes().to_vec(), expires_ms);
    }

    /// Links currently connected (CONNACK sent).
    pub fn connected_links(&self) -> Vec<LinkId> {
        self.conns
            .iter()
            .filter(|(_, c)| c.client_id.is_some())
            .map(|(l, _)| *l)
            .collect()
    }

    fn open(&mut self, link: LinkId) {
        self.conns.insert(
            link,
            Conn {
                framer: Framer::new(ProtocolVersion::V5, 1 << 20),
                version: ProtocolVersion::V5,
                client_id: None,
                password: Vec::new(),
            },
        );
    }

    /// The client closed `link`.
    fn client_closed(&mut self, link: LinkId) {
        self.drop_conn(link);
    }

    /// The broker closes `link` (its undelivered bytes are lost).
    pub fn close(&mut self, link: LinkId) {
        if self.conns.contains_key(&link) {
            self.drop_conn(link);
            self.closed.push(link);
        }
    }

    fn drop_conn(&mut self, link: LinkId) {
        if let Some(conn) = self.conns.remove(&link) {
            if let Some(session) = conn.client_id.and_then(|id| self.sessions.get_mut(&id)) {
                if session.owner == Some(link) {
                    session.owner = None;
                }
            }
        }
        self.outbox.remove(&link);
    }

    /// When the next token expiry ends a link.
    fn next_expiry(&self) -> Option<u64> {
        self.conns
            .values()
            .filter_map(|c| self.passwords.get(&c.password))
            .copied()
            .min()
    }

    /// Ends every link whose token expired by `now_ms`.
    fn expire(&mut self, now_ms: u64) {
        let expired: Vec<LinkId> = self
            .conns
            .iter()
            .filter(|(_, c)| {
                self.passwords
                    .get(&c.password)
                    .is_some_and(|&t| t <= now_ms)
            })
            .map(|(l, _)| *l)
            .collect();
        for link in expired {
            self.close(link);
        }
    }

    fn send(&mut self, link: LinkId, packet: &Packet) {
        let version = self
            .conns
            .get(&link)
            .map_or(ProtocolVersion::V5, |c| c.version);
        let mut bytes = Vec::new();
        encode(packet, version, &mut bytes).expect("the fake broker encodes valid packets");
        self.outbox.entry(link).or_default().push_back(bytes);
    }

    fn handle(&mut self, link: LinkId, bytes: &[u8]) {
        let Some(conn) = self.conns.get_mut(&link) else {
            return;
        };
        conn.framer.push(bytes);
        loop {
            let Some(conn) = self.conns.get_mut(&link) else {
                return;
            };
            match conn.framer.next_packet() {
                None => return,
                Some(Ok(packet)) => self.on_packet(link, packet),
                Some(Err(error)) => panic!("the client sent an undecodable packet: {error}"),
            }
        }
    }

    fn on_packet(&mut self, link: LinkId, packet: Packet) {
        match packet {
            Packet::Connect(connect) => self.on_connect(link, *connect),
            Packet::Publish(publish) => {
                if let Some(packet_id) = publish.packet_id {
                    self.send(
                        link,
                        &Packet::PubAck(QosHandshake {
                            packet_id,
                            ..QosHandshake::default()
                        }),
                    );
                }
                self.received.push((*publish).clone());
                self.route(&publish.topic, &publish.payload);
            }
            Packet::PubAck(ack) => {
                if let Some(session) = self.session_of(link) {
                    session.unacked.remove(&ack.packet_id);
                }
            }
            Packet::Subscribe(subscribe) => {
                let codes = subscribe
                    .filters
                    .iter()
                    .map(|f| (f.qos as u8).min(1))
                    .collect();
                if let Some(session) = self.session_of(link) {
                    for filter in &subscribe.filters {
                        if !session.subs.contains(&filter.filter) {
                            session.subs.push(filter.filter.clone());
                        }
                    }
                }
                self.send(
                    link,
                    &Packet::SubAck(SubAck {
                        packet_id: subscribe.packet_id,
                        codes,
                        ..SubAck::default()
                    }),
                );
            }
            Packet::Unsubscribe(unsubscribe) => {
                if let Some(session) = self.session_of(link) {
                    session.subs.retain(|s| !unsubscribe.filters.contains(s));
                }
                let v5 = self.conns.get(&link).map(|c| c.version) == Some(ProtocolVersion::V5);
                let codes = if v5 {
                    vec![0; unsubscribe.filters.len()]
                } else {
                    Vec::new()
                };
                self.send(
                    link,
                    &Packet::UnsubAck(UnsubAck {
                        packet_id: unsubscribe.packet_id,
                        codes,
                        ..UnsubAck::default()
                    }),
                );
            }
            Packet::PingReq => self.send(link, &Packet::PingResp),
            Packet::Disconnect(_) => self.close(link),
            other => panic!("the fake broker does not expect {}", other.name()),
        }
    }

    fn on_connect(&mut self, link: LinkId, connect: Connect) {
        self.connects.push(connect.clone());
        let version = connect.protocol;
        if let Some(conn) = self.conns.get_mut(&link) {
            conn.version = version;
            conn.framer.set_version(version);
        }
        if self.close_before_connack || (self.v5_silent_close && version == ProtocolVersion::V5) {
            self.close(link);
            return;
        }
        if self.v311_only && version == ProtocolVersion::V5 {
            // A 3.1.1 broker answers with a 3.1.1 CONNACK: return code 1.
            let mut bytes = Vec::new();
            let refusal = Packet::ConnAck(Box::new(ConnAck {
                code: 1,
                ..ConnAck::default()
            }));
            encode(&refusal, ProtocolVersion::V311, &mut bytes).expect("CONNACK encodes");
            self.outbox.entry(link).or_default().push_back(bytes);
            self.close_after_flush(link);
            return;
        }
        if self.no_retain
            && version == ProtocolVersion::V311
            && connect.will.as_ref().is_some_and(|w| w.retain)
        {
            self.close(link);
            return;
        }
        if self.no_retain && connect.will.as_ref().is_some_and(|w| w.retain) {
            self.send(
                link,
                &Packet::ConnAck(Box::new(ConnAck {
                    code: 0x9A,
                    ..ConnAck::default()
                })),
            );
            self.close_after_flush(link);
            return;
        }
        let password = connect.password.clone().unwrap_or_default();
        if !self.passwords.contains_key(&password) {
            let code = match version {
                ProtocolVersion::V5 => 0x86,
                ProtocolVersion::V311 => 4,
            };
            self.send(
                link,
                &Packet::ConnAck(Box::new(ConnAck {
                    code,
                    ..ConnAck::default()
                })),
            );
            self.close_after_flush(link);
            return;
        }
        let client_id = connect.client_id.clone();
        if connect.clean_start {
            self.sessions.remove(&client_id);
        }
        let present = self.sessions.contains_key(&client_id);
        let session = self.sessions.entry(client_id.clone()).or_default();
        let previous = session.owner.replace(link);
        let resend: Vec<Publish> = session.unacked.values().cloned().collect();
        if let Some(conn) = self.conns.get_mut(&link) {
            conn.client_id = Some(client_id);
            conn.password = password;
        }
        // Takeover: Mosquitto just closes the old socket.
        if let Some(old) = previous.filter(|&old| old != link) {
            self.close(old);
        }
        self.send(
            link,
            &Packet::ConnAck(Box::new(ConnAck {
                session_present: present,
                ..ConnAck::default()
            })),
        );
        for mut publish in resend {
            publish.dup = true;
            self.send(link, &Packet::Publish(Box::new(publish)));
        }
    }

    /// Refusals: the CONNACK is delivered, then the socket closes.
    fn close_after_flush(&mut self, link: LinkId) {
        if let Some(conn) = self.conns.remove(&link) {
            drop(conn);
            self.closed.push(link);
        }
    }

    fn session_of(&mut self, link: LinkId) -> Option<&mut ServerSession> {
        let id = self.conns.get(&link)?.client_id.clone()?;
        self.sessions.get_mut(&id)
    }

    /// Another client publishes `payload` on `topic` at QoS 1.
    pub fn inject(&mut self, topic: &str, payload: &[u8]) {
        self.route(topic, payload);
    }

    fn route(&mut self, topic: &str, payload: &[u8]) {
        let mut deliveries = Vec::new();
        for session in self.sessions.values_mut() {
            if !session.subs.iter().any(|f| matches_filter(f, topic)) {
                continue;
            }
            session.next_pid = session.next_pid % u16::MAX + 1;
            let publish = Publish {
                qos: QoS::AtLeastOnce,
                topic: topic.to_owned(),
                packet_id: Some(session.next_pid),
                payload: payload.to_vec(),
                ..Publish::default()
            };
            session.unacked.insert(session.next_pid, publish.clone());
            if let Some(owner) = session.owner {
                deliveries.push((owner, publish));
            }
        }
        for (link, publish) in deliveries {
            self.send(link, &Packet::Publish(Box::new(publish)));
        }
    }
}

fn matches_filter(filter: &str, topic: &str) -> bool {
    let mut f = filter.split('/');
    let mut t = topic.split('/');
    loop {
        match (f.next(), t.next()) {
            (Some("#"), _) => return true,
            (Some("+"), Some(_)) => {}
            (Some(a), Some(b)) if a == b => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

/// A scripted answer of the token endpoint.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A valid token (minted with the harness's TTL and accepted by the broker).
    Token,
    /// A valid-looking token the broker does not accept.
    RevokedToken,
    /// An HTTP status with an optional `Retry-After` and an empty body.
    Status(u16, Option<&'static str>),
    /// A 200 with this body.
    Body(&'static str),
    /// No response at all.
    Network,
}

/// A token request the supervisor made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenRequest {
    /// `FetchToken`.
    Fetch(RequestId),
    /// `RefreshToken` with the token id.
    Refresh(RequestId, String),
}

impl TokenRequest {
    /// The request id.
    pub fn id(&self) -> RequestId {
        match self {
            TokenRequest::Fetch(id) | TokenRequest::Refresh(id, _) => *id,
        }
    }
}

/// Supervisor + fake broker + scripted token endpoint + fake clock.
pub struct Harness {
    pub sup: Supervisor,
    pub broker: FakeBroker,
    pub now_ms: u64,
    /// Lifetime of minted tokens.
    pub ttl: Duration,
    /// Scripted answers, consumed in order; when empty a valid token is minted.
    pub replies: VecDeque<Reply>,
    /// Answer token requests as soon as they are made (else they wait in `pending_tokens`).
    pub auto_answer: bool,
    /// Requests waiting for [`Harness::answer`].
    pub pending_tokens: Vec<TokenRequest>,
    /// Every token request, in order, with the time it was made.
    pub token_log: Vec<(u64, TokenRequest)>,
    /// `OpenLink` actions, in order, with the time.
    pub opened: Vec<(u64, LinkId)>,
    /// `CloseLink` actions, in order.
    pub closed_by_client: Vec<LinkId>,
    /// Links open from the client's point of view.
    pub open_links: BTreeSet<LinkId>,
    /// Links whose broker-to-client bytes are held back (in flight).
    pub held: BTreeSet<LinkId>,
    /// When the broker closes a held link: its held bytes are lost (a reset, the default), or
    /// the close waits until the link is released and comes after its bytes.
    pub lose_held_on_close: bool,
    deferred: Vec<LinkId>,
    /// The next this many `OpenLink`s fail (broker unreachable).
    pub fail_opens: usize,
    /// The next this many `OpenLink`s are never answered (neither opened nor closed), like a
    /// black-holed address or a socket the page's CSP blocked.
    pub hang_opens: usize,
    /// Every client event, in order.
    pub events: Vec<ClientEvent>,
    /// `brokerUrl` put in minted tokens (`None`: the field is absent).
    pub token_broker_url: Option<String>,
    /// The URL of every `OpenLink`, in order.
    pub opened_urls: Vec<String>,
    /// Links any `Send` went on (a CONNECT carries the password).
    pub sent_links: BTreeSet<LinkId>,
    minted: u32,
}

impl Harness {
    /// A harness with a client id, a 1 h token TTL and auto-answered token requests.
    pub fn new(seed: u64) -> Self {
        Self::with_broker_url(seed, "ws://127.0.0.1:8083/mqtt")
    }

    /// [`Harness::new`] with this configured broker URL (empty: none).
    pub fn with_broker_url(seed: u64, broker_url: &str) -> Self {
        Self::with_broker_urls(seed, broker_url, &[])
    }

    /// [`Harness::new`] with a list of broker URLs (`broker_url` and `more`).
    pub fn with_broker_urls(seed: u64, broker_url: &str, more: &[&str]) -> Self {
        let session = SessionConfig {
            client_id: "livechat-test".into(),
            ..SessionConfig::default()
        };
        let mut config = SupervisorConfig::new(broker_url, session);
        config.seed = seed;
        config.broker_urls = more.iter().map(|u| (*u).to_owned()).collect();
        Harness {
            sup: Supervisor::new(config),
            broker: FakeBroker::default(),
            now_ms: 1_000,
            ttl: Duration::from_secs(3600),
            replies: VecDeque::new(),
            auto_answer: true,
            pending_tokens: Vec::new(),
            token_log: Vec::new(),
            opened: Vec::new(),
            closed_by_client: Vec::new(),
            open_links: BTreeSet::new(),
            held: BTreeSet::new(),
            lose_held_on_close: true,
            deferred: Vec::new(),
            fail_opens: 0,
            hang_opens: 0,
            events: Vec::new(),
            token_broker_url: None,
            opened_urls: Vec::new(),
            sent_links: BTreeSet::new(),
            minted: 0,
        }
    }

    pub fn now(&self) -> Instant {
        Instant::from_millis(self.now_ms)
    }

    pub fn start(&mut self) {
        let now = self.now();
        self.sup.start(now);
        self.drive();
    }

    pub fn state(&self) -> ConnectionState {
        self.sup.state()
    }

    pub fn reason(&self) -> Option<Reason> {
        self.sup.status().reason
    }

    /// Fetch and refresh requests made so far.
    pub fn token_requests(&self) -> usize {
        self.token_log.len()
    }

    /// Builds the HTTP response for `reply`.
    fn respond(&mut self, reply: Reply) -> TokenResult {
        let wall_now = WALL0 + (self.now_ms / 1000) as i64;
        match reply {
            Reply::Token | Reply::RevokedToken => {
                self.minted += 1;
                let password = format!("pw{}", self.minted);
                if matches!(reply, Reply::Token) {
                    let expires_ms = self.now_ms + self.ttl.as_millis() as u64;
                    self.broker.accept(&password, expires_ms);
                }
                let broker = self
                    .token_broker_url
                    .as_ref()
                    .map(|url| format!(r#","brokerUrl":"{url}""#))
                    .unwrap_or_default();
                let body = format!(
                    r#"{{"accessToken":"{password}","tokenId":"tok{}","issuedAt":{wall_now},"expiresAt":{},"username":"alice","userId":"u1"{broker}}}"#,
                    self.minted,
                    wall_now + self.ttl.as_secs() as i64
                );
                TokenResult::Response(HttpResponse {
                    status: 200,
                    body,
                    ..HttpResponse::default()
                })
            }
            Reply::Status(status, retry_after) => TokenResult::Response(HttpResponse {
                status,
                retry_after: retry_after.map(str::to_owned),
                ..HttpResponse::default()
            }),
            Reply::Body(body) => TokenResult::Response(HttpResponse {
                status: 200,
                body: body.to_owned(),
                ..HttpResponse::default()
            }),
            Reply::Network => TokenResult::NetworkError("Failed to fetch".into()),
        }
    }

    /// Answers the oldest pending token request with the next scripted reply.
    pub fn answer(&mut self) {
        let request = self.pending_tokens.remove(0);
        let reply = self.replies.pop_front().unwrap_or(Reply::Token);
        let result = self.respond(reply);
        let now = self.now();
        self.sup.handle_token(now, request.id(), result);
        self.drive();
    }

    /// Performs every action and delivers every byte until nothing moves.
    pub fn drive(&mut self) {
        loop {
            let mut progressed = false;
            while let Some(action) = self.sup.poll_action() {
                progressed = true;
                self.perform(action);
            }
            let deliverable: Vec<LinkId> = self
                .broker
                .outbox
                .keys()
                .filter(|l| !self.held.contains(l))
                .copied()
                .collect();
            for link in deliverable {
                let chunks = self.broker.outbox.remove(&link).unwrap_or_default();
                for chunk in chunks {
                    progressed = true;
                    if self.open_links.contains(&link) {
                        let now = self.now();
                        self.sup.handle_link_bytes(now, link, &chunk);
                    }
                }
            }
            let mut closing = std::mem::take(&mut self.broker.closed);
            let (released, still_held): (Vec<LinkId>, Vec<LinkId>) =
                std::mem::take(&mut self.deferred)
                    .into_iter()
                    .partition(|l| !self.held.contains(l));
            self.deferred = still_held;
            closing.extend(released);
            for link in closing {
                progressed = true;
                if self.held.contains(&link) && !self.lose_held_on_close {
                    self.deferred.push(link);
                    continue;
                }
                // Held bytes die with the socket (a reset); others arrive before the close.
                if !self.held.contains(&link) {
                    if let Some(chunks) = self.broker.outbox.remove(&link) {
                        for chunk in chunks {
                            let now = self.now();
                            self.sup.handle_link_bytes(now, link, &chunk);
                        }
                    }
                }
                self.broker.outbox.remove(&link);
                if self.open_links.remove(&link) {
                    let now = self.now();
                    self.sup.handle_link_closed(now, link);
                }
            }
            while let Some(event) = self.sup.poll_event() {
                progressed = true;
                self.events.push(event);
            }
            if !progressed {
                return;
            }
        }
    }

    fn perform(&mut self, action: Action) {
        let now = self.now();
        match action {
            Action::FetchToken { request } => self.token_request(TokenRequest::Fetch(request)),
            Action::RefreshToken {
                request, token_id, ..
            } => self.token_request(TokenRequest::Refresh(request, token_id)),
            Action::OpenLink { link, url } => {
                assert!(url.starts_with("ws://") || url.starts_with("wss://"));
                self.opened_urls.push(url);
                self.opened.push((self.now_ms, link));
                if self.hang_opens > 0 {
                    self.hang_opens -= 1;
                } else if self.fail_opens > 0 {
                    self.fail_opens -= 1;
                    self.sup.handle_link_closed(now, link);
                } else {
                    self.open_links.insert(link);
                    self.broker.open(link);
                    self.sup.handle_link_opened(now, link);
                }
            }
            Action::Send { link, bytes } => {
                assert!(
                    self.open_links.contains(&link),
                    "Send on {link}, which is not open"
                );
                self.sent_links.insert(link);
                self.broker.handle(link, &bytes);
            }
            Action::CloseLink { link } => {
                self.closed_by_client.push(link);
                self.open_links.remove(&link);
                self.broker.client_closed(link);
            }
        }
    }

    fn token_request(&mut self, request: TokenRequest) {
        self.token_log.push((self.now_ms, request.clone()));
        if self.auto_answer {
            let reply = self.replies.pop_front().unwrap_or(Reply::Token);
            let result = self.respond(reply);
            let now = self.now();
            self.sup.handle_token(now, request.id(), result);
        } else {
            self.pending_tokens.push(request);
        }
    }

    /// Moves the clock forward by `by`, firing every deadline on the way exactly when due.
    pub fn advance(&mut self, by: Duration) {
        let target = self.now_ms + by.as_millis() as u64;
        for step in 0.. {
            assert!(step < 1_000_000, "deadlines do not move forward");
            let next = [
                self.sup.poll_timeout().map(Instant::as_millis),
                self.broker.next_expiry(),
            ]
            .into_iter()
            .flatten()
            .min();
            match next {
                Some(at) if at <= target => {
                    self.now_ms = self.now_ms.max(at);
                    self.broker.expire(self.now_ms);
                    self.drive();
                    if self
                        .sup
                        .poll_timeout()
                        .is_some_and(|t| t.as_millis() <= self.now_ms)
                    {
                        let now = self.now();
                        self.sup.handle_timeout(now);
                    }
                    self.drive();
                }
                _ => break,
            }
        }
        self.now_ms = target;
        self.drive();
    }

    /// Advances until `done` holds, at most `limit`; panics if it never does.
    pub fn advance_until(&mut self, limit: Duration, mut done: impl FnMut(&Self) -> bool) {
        let end = self.now_ms + limit.as_millis() as u64;
        while !done(self) {
            assert!(self.now_ms < end, "condition not reached within {limit:?}");
            self.advance(Duration::from_millis(100));
        }
    }

    /// Another client publishes `payload` on `topic` (QoS 1); drives.
    pub fn inject(&mut self, topic: &str, payload: &[u8]) {
        self.broker.inject(topic, payload);
        self.drive();
    }

    /// Subscribes and drives.
    pub fn subscribe(&mut self, filter: &str) {
        self.sup
            .subscribe(mqtt_codec::SubscribeFilter {
                filter: filter.into(),
                qos: QoS::AtLeastOnce,
                no_local: false,
                retain_as_published: false,
                retain_handling: mqtt_codec::RetainHandling::SendAtSubscribe,
            })
            .expect("valid filter");
        self.drive();
    }

    /// Publishes at QoS 1 and drives.
    pub fn publish(&mut self, topic: &str, payload: &str) -> mqtt_session::PublishId {
        let now = self.now();
        let id = self
            .sup
            .publish(
                now,
                OutgoingPublish::new(topic, payload.as_bytes().to_vec(), QoS::AtLeastOnce),
            )
            .expect("valid publish");
        self.drive();
        id
    }

    /// Payloads of the application messages received, in order.
    pub fn messages(&self) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|e| match e {
                ClientEvent::Message(m) => Some(String::from_utf8_lossy(&m.payload).into_owned()),
                _ => None,
            })
            .collect()
    }

    /// Every state reported, in order.
    pub fn states(&self) -> Vec<ConnectionState> {
        self.events
            .iter()
            .filter_map(|e| match e {
                ClientEvent::State(s) => Some(s.state.clone()),
                _ => None,
            })
            .collect()
    }
}
