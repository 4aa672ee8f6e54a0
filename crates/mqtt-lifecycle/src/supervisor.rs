//! The connection supervisor: one MQTT [`Session`] kept alive across links and tokens.
//!
//! See the crate documentation for the model and the drive loop.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use mqtt_codec::packet::{ProtocolVersion, QoS};
use mqtt_codec::reason::ConnectReason;
use mqtt_session::{
    CommandError, ConnectCredentials, DeliveryStatus, DroppedMessage, Event, IncomingMessage,
    LinkId, OutgoingPublish, PublishId, Refusal, Session, SessionConfig, SubscribeFilter,
};

use crate::backoff::{BackoffPolicy, Rng};
use crate::state::{ConnectionState, Reason, Status};
use crate::token::{Credentials, Secret, TokenError, TokenOutcome, TokenResult};
use crate::Instant;

/// Names one token request, from [`Action::FetchToken`]/[`Action::RefreshToken`] to
/// [`Supervisor::handle_token`]. Never reused; answers to a request that is no longer awaited
/// (timed out, superseded by `stop` or `retry_now`) are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestId(pub u64);

/// Something the driver must do. Perform actions in the order they are polled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Request a fresh token from the token endpoint (`credentials: include`), then call
    /// [`Supervisor::handle_token`] with `request` and the response.
    FetchToken {
        /// Echo this in `handle_token`.
        request: RequestId,
    },
    /// Call the refresh endpoint with `{ tokenId, password }`, then
    /// [`Supervisor::handle_token`] with `request` and the response.
    RefreshToken {
        /// Echo this in `handle_token`.
        request: RequestId,
        /// The token to refresh.
        token_id: String,
        /// Its current password (CloudSignal: `current_token_password`).
        password: Secret,
    },
    /// Open a WebSocket (subprotocol `mqtt`, binary) to `url`; report it with
    /// [`Supervisor::handle_link_opened`], or [`Supervisor::handle_link_closed`] if it fails.
    OpenLink {
        /// The id of the new link (never reused).
        link: LinkId,
        /// The broker URL.
        url: String,
    },
    /// Write `bytes` on `link` as one binary frame.
    Send {
        /// The link.
        link: LinkId,
        /// Whole MQTT packets.
        bytes: Vec<u8>,
    },
    /// Close `link` (after the `Send`s polled before it) and forget it; no need to report
    /// its close.
    CloseLink {
        /// The link.
        link: LinkId,
    },
}

/// Something the application should know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientEvent {
    /// The state or its reason changed.
    State(Status),
    /// An application message arrived. During a rotation (and after any reconnect) the broker
    /// may redeliver a QoS 1 message that reached the old link but whose PUBACK did not, with
    /// DUP set: the session cannot tell it from a new one, so the application should drop
    /// duplicates by an application-level message id (a small LRU).
    Message(IncomingMessage),
    /// Result of subscribing one filter (also after each automatic re-subscription).
    Subscription {
        /// The filter.
        filter: String,
        /// Granted QoS, or the server's refusal.
        result: Result<QoS, Refusal>,
    },
    /// Result of unsubscribing one filter.
    Unsubscribed {
        /// The filter.
        filter: String,
        /// Success, or the server's refusal.
        result: Result<(), Refusal>,
    },
    /// Progress of a publish.
    Delivery {
        /// As returned by [`Supervisor::publish`].
        id: PublishId,
        /// Its new status.
        status: DeliveryStatus,
    },
    /// An incoming message above the session's Maximum Packet Size was skipped (and
    /// acknowledged); its `Display` reads `dropped oversized message on <topic> (N bytes, ...)`.
    MessageDropped(DroppedMessage),
}

/// Supervisor settings. Build with [`SupervisorConfig::new`] and adjust fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupervisorConfig {
    /// Broker WebSocket URL (`ws://` or `wss://`), used for every link whose credentials do
    /// not name their own broker (a token response's `brokerUrl` wins). Empty: none
    /// configured, so every token response must name the broker; if one does not, the
    /// supervisor stops with [`Reason::NoBrokerUrl`].
    pub broker_url: String,
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
            session,
            backoff: BackoffPolicy::default(),
            token_timeout: Duration::from_secs(15),
            wake_drift: Duration::from_secs(5),
            seed: 0x5EED,
        }
    }
}

/// A rotation is never scheduled sooner than this after a connect, whatever `refreshAt` says,
/// so a token with a tiny or past refresh time cannot make the supervisor rotate in a loop.
const MIN_ROTATION_DELAY: Duration = Duration::from_secs(1);

/// Internal phase; [`ConnectionState`] is its public view.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    Idle,
    /// Waiting for a token before opening a link.
    Fetching,
    Connecting {
        link: LinkId,
    },
    Connected {
        link: LinkId,
        since: Instant,
        session_present: bool,
        /// When to renew the token (None: rotation given up for this token).
        rotate_at: Option<Instant>,
    },
    /// Make-before-break: `active` carries the session (None once it closed), `next` is the
    /// link taking over (None while the token is being fetched).
    Rotating {
        active: Option<LinkId>,
        next: Option<LinkId>,
        since: Instant,
        session_present: bool,
    },
    Backoff {
        retry_at: Instant,
    },
    Offline,
    SignedOut,
    AuthFailed,
    Closed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TokenKind {
    Fetch,
    Refresh,
}

#[derive(Debug, Clone, Copy)]
struct PendingToken {
    id: RequestId,
    kind: TokenKind,
    deadline: Instant,
}

/// The sans-IO connection supervisor. See the crate docs for the drive loop.
#[derive(Debug)]
pub struct Supervisor {
    session: Session,
    /// The configured broker URL (`None`: none configured).
    broker_url: Option<String>,
    backoff: BackoffPolicy,
    token_timeout: Duration,
    wake_drift: Duration,
    rng: Rng,
    protocol: ProtocolVersion,
    phase: Phase,
    reason: Option<Reason>,
    /// The last status emitted as [`ClientEvent::State`].
    shown: Status,
    /// Failed connect attempts since the last stable link.
    attempt: u32,
    /// Failed rotations since the last successful one.
    rotation_attempt: u32,
    /// A bad-credentials refusal already led to one fresh token.
    auth_retry_used: bool,
    /// The v5 → 3.1.1 fallback was already taken.
    fallback_used: bool,
    online: bool,
    credentials: Option<Credentials>,
    /// Who the last token belonged to ([`Credentials::identity`]); kept across reconnects,
    /// forgotten when the user is signed out.
    user_id: Option<String>,
    /// The one token request in flight (single-flight: every need shares it).
    pending: Option<PendingToken>,
    next_request: u64,
    next_link: u32,
    /// Links asked for and not yet closed; `true` once handed to the session.
    links: BTreeMap<LinkId, bool>,
    actions: VecDeque<Action>,
    events: VecDeque<ClientEvent>,
    last_now: Instant,
}

impl Supervisor {
    /// A supervisor in [`ConnectionState::Idle`]; nothing happens until [`Supervisor::start`].
    #[must_use]
    pub fn new(config: SupervisorConfig) -> Self {
        let protocol = config.session.protocol;
        Supervisor {
            session: Session::new(config.session),
            broker_url: Some(config.broker_url.trim().to_owned()).filter(|url| !url.is_empty()),
            backoff: config.backoff,
            token_timeout: config.token_timeout,
            wake_drift: config.wake_drift,
            rng: Rng::new(config.seed),
            protocol,
            phase: Phase::Idle,
            reason: None,
            shown: Status {
                state: ConnectionState::Idle,
                reason: None,
            },
            attempt: 0,
            rotation_attempt: 0,
            auth_retry_used: false,
            fallback_used: false,
            online: true,
            credentials: None,
            user_id: None,
            pending: None,
            next_request: 1,
            next_link: 1,
            links: BTreeMap::new(),
            actions: VecDeque::new(),
            events: VecDeque::new(),
            last_now: Instant::default(),
        }
    }

    // ----- Commands -------------------------------------------------------------------------

    /// Starts connecting (from `Idle` or `Closed`); otherwise does nothing.
    pub fn start(&mut self, now: Instant) {
        self.last_now = now;
        if matches!(self.phase, Phase::Idle | Phase::Closed) {
            self.attempt = 0;
            self.rotation_attempt = 0;
            self.auth_retry_used = false;
            self.reason = None;
            self.begin_connect(now);
        }
        self.pump(now);
    }

    /// Ends the session gracefully (DISCONNECT on the active link), closes every link, ignores
    /// answers to token requests in flight, and moves to `Closed`.
    pub fn stop(&mut self, now: Instant) {
        self.last_now = now;
        if self.phase == Phase::Closed {
            return;
        }
        self.phase = Phase::Closed;
        self.reason = Some(Reason::Stopped);
        self.pending = None;
        self.credentials = None;
        self.session.disconnect(now);
        self.pump(now);
        let open: Vec<LinkId> = self.links.keys().copied().collect();
        for link in open {
            self.close_link(now, link, true);
        }
        self.pump(now);
    }

    /// Tries again at once: from `SignedOut`, `AuthFailed`, `Backoff` or `Offline` (and from
    /// `Idle`/`Closed`, like `start`). Does nothing while connecting or connected.
    pub fn retry_now(&mut self, now: Instant) {
        self.last_now = now;
        match self.phase {
            Phase::SignedOut | Phase::AuthFailed | Phase::Backoff { .. } | Phase::Offline => {
                self.auth_retry_used = false;
                self.begin_connect(now);
            }
            Phase::Idle | Phase::Closed => return self.start(now),
            _ => {}
        }
        self.pump(now);
    }

    /// Subscribes through the session (queued while no link is connected, restored after
    /// every reconnect). The result arrives as [`ClientEvent::Subscription`].
    pub fn subscribe(&mut self, filter: SubscribeFilter) -> Result<(), CommandError> {
        let result = self.session.subscribe(filter);
        self.pump(self.last_now);
        result
    }

    /// Makes `filters` the session's whole desired subscription set (see
    /// [`Session::declare_subscriptions`]).
    pub fn declare_subscriptions(
        &mut self,
        filters: &[SubscribeFilter],
    ) -> Result<(), CommandError> {
        let result = self.session.declare_subscriptions(filters);
        self.pump(self.last_now);
        result
    }

    /// Unsubscribes through the session. The result arrives as [`ClientEvent::Unsubscribed`].
    pub fn unsubscribe(&mut self, filter: &str) -> Result<(), CommandError> {
        let result = self.session.unsubscribe(filter);
        self.pump(self.last_now);
        result
    }

    /// Publishes through the session (queued while no link is connected). `Ok(id)` means
    /// queued; progress arrives as [`ClientEvent::Delivery`].
    pub fn publish(
        &mut self,
        now: Instant,
        message: OutgoingPublish,
    ) -> Result<PublishId, CommandError> {
        self.last_now = now;
        let result = self.session.publish(now, message);
        self.pump(now);
        result
    }

    // ----- Inputs ---------------------------------------------------------------------------

    /// The answer to [`Action::FetchToken`] or [`Action::RefreshToken`] number `request`.
    pub fn handle_token(&mut self, now: Instant, request: RequestId, result: TokenResult) {
        self.last_now = now;
        match self.pending {
            Some(pending) if pending.id == request => {
                self.pending = None;
                self.on_token(now, pending.kind, result.parse(now));
            }
            // Stale: timed out, or superseded by stop/retry_now.
            _ => {}
        }
        self.pump(now);
    }

    /// The WebSocket asked for by [`Action::OpenLink`] is open.
    pub fn handle_link_opened(&mut self, now: Instant, link: LinkId) {
        self.last_now = now;
        let expected = match self.phase {
            Phase::Connecting { link: l } => l == link,
            Phase::Rotating { next: Some(l), .. } => l == link,
            _ => false,
        };
        match (self.links.get(&link), &self.credentials) {
            (Some(false), Some(credentials)) if expected => {
                let creds = ConnectCredentials {
                    username: credentials.username.clone(),
                    password: Some(credentials.password.expose().as_bytes().to_vec()),
                };
                self.links.insert(link, true);
                self.session.handle_link_opened(now, link, creds);
            }
            (Some(_), _) => {
                self.close_link(now, link, true);
                self.link_lost(now, link, Reason::LinkClosed);
            }
            // Already closed by us: the driver has the CloseLink.
            (None, _) => {}
        }
        self.pump(now);
    }

    /// A link closed (by the server, the network, or failing to open). Links the supervisor
    /// closed itself need not be reported.
    pub fn handle_link_closed(&mut self, now: Instant, link: LinkId) {
        self.last_now = now;
        let Some(handed) = self.links.remove(&link) else {
            return;
        };
        if handed {
            self.session.handle_link_closed(now, link);
            self.pump(now);
        }
        // No-op if the session already reported it (LinkDown) during the pump above.
        self.link_lost(now, link, Reason::LinkClosed);
        self.pump(now);
    }

    /// Bytes arrived on `link` (one WebSocket message; packets may be split or coalesced).
    pub fn handle_link_bytes(&mut self, now: Instant, link: LinkId, bytes: &[u8]) {
        self.last_now = now;
        if self.links.get(&link) == Some(&true) {
            self.session.handle_bytes(now, link, bytes);
            self.pump(now);
        }
    }

    /// The deadline from [`Supervisor::poll_timeout`] has passed. A call far later than that
    /// deadline (more than `wake_drift`) is handled as a wake.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some(due) = self.poll_timeout() {
            if now >= due + self.wake_drift {
                return self.handle_wake(now);
            }
        }
        self.last_now = now;
        self.session.handle_timeout(now);
        self.pump(now);
        self.check_deadlines(now);
        self.pump(now);
    }

    /// The browser is back online: an attempt starts at once if waiting in `Backoff` or
    /// `Offline`.
    pub fn handle_online(&mut self, now: Instant) {
        self.last_now = now;
        self.online = true;
        if matches!(self.phase, Phase::Backoff { .. } | Phase::Offline) {
            self.begin_connect(now);
        }
        self.pump(now);
    }

    /// The browser is offline: waiting in `Backoff` becomes `Offline`, and failures while
    /// offline do not count as attempts. A live link is left alone (it may well survive).
    pub fn handle_offline(&mut self, now: Instant) {
        self.last_now = now;
        self.online = false;
        if matches!(self.phase, Phase::Backoff { .. }) {
            self.phase = Phase::Offline;
            self.reason = Some(Reason::Offline);
        }
        self.pump(now);
    }

    /// The page woke up (visibilitychange to visible, pageshow, or timer drift): re-checks at
    /// once a refresh that became due, a link whose token expired meanwhile (presumed dead:
    /// replaced at once), an overdue retry, and the session's own timers.
    pub fn handle_wake(&mut self, now: Instant) {
        self.last_now = now;
        self.session.handle_timeout(now);
        self.pump(now);
        let expired = self
            .credentials
            .as_ref()
            .is_some_and(|c| c.expires_at <= now);
        match self.phase {
            Phase::Connected { link, .. } if expired => {
                // The broker ends a link when its token expires; after a sleep the socket may
                // not have noticed yet. Not a failure: reconnect at once, no waiting.
                self.close_link(now, link, true);
                self.attempt = 0;
                self.reason = Some(Reason::TokenExpired);
                self.begin_connect(now);
            }
            Phase::Rotating {
                active: Some(link), ..
            } if expired => {
                self.close_link(now, link, true);
                self.link_lost(now, link, Reason::TokenExpired);
            }
            _ => {}
        }
        self.check_deadlines(now);
        self.pump(now);
    }

    // ----- Outputs --------------------------------------------------------------------------

    /// The next thing the driver must do.
    #[must_use]
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// The next event for the application.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }

    /// When to call [`Supervisor::handle_timeout`]: the earliest of the session's deadline,
    /// the token timeout, the retry time and the rotation time.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let own = match self.phase {
            Phase::Backoff { retry_at } => Some(retry_at),
            Phase::Connected { rotate_at, .. } => rotate_at,
            _ => None,
        };
        [
            self.session.poll_timeout(),
            self.pending.map(|p| p.deadline),
            own,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    // ----- Getters --------------------------------------------------------------------------

    /// The current state and last reason.
    #[must_use]
    pub fn status(&self) -> Status {
        Status {
            state: self.public_state(),
            reason: self.reason.clone(),
        }
    }

    /// Who is signed in, as the last token said: its user id, else the MQTT user name's part
    /// before `@`. `None` before the first token and after a sign-out.
    #[must_use]
    pub fn user_id(&self) -> Option<&str> {
        self.user_id.as_deref()
    }

    /// The current state.
    #[must_use]
    pub fn state(&self) -> ConnectionState {
        self.public_state()
    }

    /// Whether the answer to token request `request` is still awaited (answers to any other
    /// request are ignored, so the driver may abort those fetches).
    #[must_use]
    pub fn awaits_token(&self, request: RequestId) -> bool {
        self.pending.is_some_and(|p| p.id == request)
    }

    /// The MQTT session (subscription set, queue, active link).
    #[must_use]
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The protocol version the next link will speak (3.1.1 after a fallback).
    #[must_use]
    pub fn protocol(&self) -> ProtocolVersion {
        self.protocol
    }

    // ----- Internals ------------------------------------------------------------------------

    fn public_state(&self) -> ConnectionState {
        match self.phase {
            Phase::Idle => ConnectionState::Idle,
            Phase::Fetching => ConnectionState::FetchingToken,
            Phase::Connecting { .. } => ConnectionState::Connecting,
            Phase::Connected {
                since,
                session_present,
                ..
            } => ConnectionState::Connected {
                since,
                session_present,
            },
            Phase::Rotating { since, .. } => ConnectionState::Rotating { since },
            Phase::Backoff { retry_at } => ConnectionState::Backoff {
                attempt: self.attempt,
                retry_at,
            },
            Phase::Offline => ConnectionState::Offline,
            Phase::SignedOut => ConnectionState::SignedOut,
            Phase::AuthFailed => ConnectionState::AuthFailed,
            Phase::Closed => ConnectionState::Closed,
        }
    }

    /// Drains the session (transmits before events, so a DISCONNECT goes out before the
    /// close it causes), then emits a state event if the status changed.
    fn pump(&mut self, now: Instant) {
        loop {
            while let Some(transmit) = self.session.poll_transmit() {
                if self.links.contains_key(&transmit.link) {
                    self.actions.push_back(Action::Send {
                        link: transmit.link,
                        bytes: transmit.bytes,
                    });
                }
            }
            match self.session.poll_event() {
                Some(event) => self.on_session_event(now, event),
                None => break,
            }
        }
        let status = self.status();
        if status != self.shown {
            self.shown = status.clone();
            self.events.push_back(ClientEvent::State(status));
        }
    }

    fn on_session_event(&mut self, now: Instant, event: Event) {
        match event {
            Event::Connected {
                link,
                session_present,
                ..
            } => self.on_connected(now, link, session_present),
            Event::ConnectRefused {
                link,
                reason,
                reason_string,
            } => {
                self.close_link(now, link, false);
                self.on_refused(now, link, reason, reason_string);
            }
            Event::LinkDown { link, reason } => {
                self.close_link(now, link, false);
                self.link_lost(now, link, Reason::LinkDown(reason));
            }
            Event::LinkRetired { link } => {
                self.close_link(now, link, false);
                if let Phase::Rotating { active, .. } = &mut self.phase {
                    if *active == Some(link) {
                        *active = None;
                    }
                }
            }
            Event::Message(message) => self.events.push_back(ClientEvent::Message(message)),
            Event::Subscription { filter, result } => self
                .events
                .push_back(ClientEvent::Subscription { filter, result }),
            Event::Unsubscribed { filter, result } => self
                .events
                .push_back(ClientEvent::Unsubscribed { filter, result }),
            Event::Delivery { id, status } => {
                self.events.push_back(ClientEvent::Delivery { id, status })
            }
            Event::MessageDropped(dropped) => {
                self.events.push_back(ClientEvent::MessageDropped(dropped))
            }
        }
    }

    fn on_connected(&mut self, now: Instant, link: LinkId, session_present: bool) {
        let since = match self.phase {
            Phase::Connecting { link: l } if l == link => now,
            Phase::Rotating {
                next: Some(l),
                since,
                ..
            } if l == link => since,
            _ => return,
        };
        let rotate_at = self
            .credentials
            .as_ref()
            .map(|c| c.refresh_at.max(now + MIN_ROTATION_DELAY));
        self.phase = Phase::Connected {
            link,
            since,
            session_present,
            rotate_at,
        };
        self.reason = None;
        self.auth_retry_used = false;
        self.rotation_attempt = 0;
    }

    fn on_refused(
        &mut self,
        now: Instant,
        link: LinkId,
        reason: ConnectReason,
        reason_string: Option<String>,
    ) {
        let (current, rotating_with_active) = match self.phase {
            Phase::Connecting { link: l } => (l == link, false),
            Phase::Rotating {
                next: Some(l),
                active,
                ..
            } => (l == link, active.is_some()),
            _ => (false, false),
        };
        if !current {
            return;
        }
        let why = Reason::ConnectRefused {
            reason,
            reason_string,
        };
        match reason {
            ConnectReason::UnsupportedProtocolVersion
                if self.protocol == ProtocolVersion::V5 && !self.fallback_used =>
            {
                self.fallback_used = true;
                self.protocol = ProtocolVersion::V311;
                self.session.set_protocol(ProtocolVersion::V311);
                self.reason = Some(Reason::ProtocolFallback);
                self.open_link();
            }
            ConnectReason::BadUserNameOrPassword | ConnectReason::NotAuthorized
                if !self.auth_retry_used =>
            {
                // The token may have been revoked or rotated between fetch and CONNECT: one
                // fresh token, right away.
                self.auth_retry_used = true;
                self.reason = Some(why);
                self.credentials = None;
                match &mut self.phase {
                    Phase::Rotating {
                        next,
                        active: Some(_),
                        ..
                    } => *next = None,
                    phase => *phase = Phase::Fetching,
                }
                self.request_token(now, TokenKind::Fetch);
            }
            ConnectReason::BadUserNameOrPassword
            | ConnectReason::NotAuthorized
            | ConnectReason::Banned
            | ConnectReason::BadAuthenticationMethod
            | ConnectReason::ClientIdentifierNotValid => {
                if rotating_with_active {
                    // Keep the working link until the broker ends it; reconnecting then goes
                    // through the normal path (one fresh token, then AuthFailed).
                    self.rotation_failed(now, why, None, false);
                } else {
                    self.give_up(Phase::AuthFailed, why);
                }
            }
            _ => {
                if rotating_with_active {
                    self.rotation_failed(now, why, None, true);
                } else {
                    self.schedule_retry(now, why, None);
                }
            }
        }
    }

    /// `link` is gone (closed, dead, or failed to open). Moves on if it mattered.
    fn link_lost(&mut self, now: Instant, link: LinkId, why: Reason) {
        match self.phase {
            Phase::Connecting { link: l } if l == link => self.schedule_retry(now, why, None),
            Phase::Connected { link: l, since, .. } if l == link => {
                self.reset_if_stable(now, since);
                self.schedule_retry(now, why, None);
            }
            Phase::Rotating {
                active: Some(l),
                next,
                since,
                ..
            } if l == link => {
                self.reset_if_stable(now, since);
                match next {
                    // The takeover link is already on its way: expected during a rotation
                    // (Mosquitto closes the old socket as soon as the new CONNECT arrives).
                    Some(_) => {
                        if let Phase::Rotating { active, .. } = &mut self.phase {
                            *active = None;
                        }
                    }
                    // Still waiting for the token: the request in flight now serves a
                    // reconnect.
                    None => {
                        self.phase = Phase::Fetching;
                        self.reason = Some(why);
                    }
                }
            }
            Phase::Rotating {
                active,
                next: Some(l),
                ..
            } if l == link => {
                if active.is_some() {
                    self.rotation_failed(now, why, None, true);
                } else {
                    self.schedule_retry(now, why, None);
                }
            }
            _ => {}
        }
    }

    fn reset_if_stable(&mut self, now: Instant, since: Instant) {
        if now.saturating_duration_since(since) >= self.backoff.stable_after {
            self.attempt = 0;
        }
    }

    fn on_token(&mut self, now: Instant, kind: TokenKind, outcome: TokenOutcome) {
        let rotating = match self.phase {
            Phase::Fetching => false,
            Phase::Rotating {
                next: None,
                active: Some(_),
                ..
            } => true,
            // Nobody is waiting for a token any more.
            _ => return,
        };
        match outcome {
            TokenOutcome::Token(credentials) => {
                if let Some(id) = credentials.identity() {
                    self.user_id = Some(id.to_owned());
                }
                self.credentials = Some(credentials);
                self.open_link();
            }
            // A refresh that fails for any reason but rate limiting falls back to a fresh token.
            TokenOutcome::SignedOut { .. } | TokenOutcome::Failed(_)
                if kind == TokenKind::Refresh =>
            {
                self.request_token(now, TokenKind::Fetch);
            }
            TokenOutcome::SignedOut { status } => {
                self.user_id = None;
                self.give_up(Phase::SignedOut, Reason::SignedOut { status });
            }
            TokenOutcome::RateLimited { retry_after } => {
                let why = Reason::RateLimited { retry_after };
                if rotating {
                    self.rotation_failed(now, why, retry_after, true);
                } else {
                    self.schedule_retry(now, why, retry_after);
                }
            }
            TokenOutcome::Failed(error) => {
                let why = Reason::Token(error);
                if rotating {
                    self.rotation_failed(now, why, None, true);
                } else {
                    self.schedule_retry(now, why, None);
                }
            }
        }
    }

    /// Stops for good (until `retry_now`): closes every link, forgets the token.
    fn give_up(&mut self, phase: Phase, why: Reason) {
        let now = self.last_now;
        if self.session.is_connected() {
            self.session.disconnect(now);
            self.pump_transmits();
        }
        let open: Vec<LinkId> = self.links.keys().copied().collect();
        self.phase = phase;
        for link in open {
            self.close_link(now, link, true);
        }
        self.reason = Some(why);
        self.credentials = None;
        self.pending = None;
    }

    fn pump_transmits(&mut self) {
        while let Some(transmit) = self.session.poll_transmit() {
            if self.links.contains_key(&transmit.link) {
                self.actions.push_back(Action::Send {
                    link: transmit.link,
                    bytes: transmit.bytes,
                });
            }
        }
    }

    /// A connect attempt failed: wait (backoff or `explicit`), or go `Offline`.
    fn schedule_retry(&mut self, now: Instant, why: Reason, explicit: Option<Duration>) {
        self.credentials = None;
        self.reason = Some(why);
        if !self.online {
            self.phase = Phase::Offline;
            return;
        }
        let delay = explicit.unwrap_or_else(|| self.backoff.delay(self.attempt, &mut self.rng));
        self.attempt = self.attempt.saturating_add(1);
        self.phase = Phase::Backoff {
            retry_at: now + delay,
        };
    }

    /// A rotation failed but the current link is up: keep it, and retry the rotation later
    /// (`retry`) or not at all for this token.
    fn rotation_failed(
        &mut self,
        now: Instant,
        why: Reason,
        explicit: Option<Duration>,
        retry: bool,
    ) {
        let Phase::Rotating {
            active: Some(link),
            since,
            session_present,
            ..
        } = self.phase
        else {
            return;
        };
        let delay = explicit.unwrap_or_else(|| {
            self.backoff
                .delay(self.rotation_attempt, &mut self.rng)
                .max(MIN_ROTATION_DELAY)
        });
        self.rotation_attempt = self.rotation_attempt.saturating_add(1);
        self.phase = Phase::Connected {
            link,
            since,
            session_present,
            rotate_at: retry.then_some(now + delay),
        };
        self.reason = Some(Reason::Rotation(Box::new(why)));
    }

    fn begin_connect(&mut self, now: Instant) {
        self.phase = Phase::Fetching;
        self.request_token(now, TokenKind::Fetch);
    }

    fn start_rotation(&mut self, now: Instant) {
        let Phase::Connected {
            link,
            since,
            session_present,
            ..
        } = self.phase
        else {
            return;
        };
        self.phase = Phase::Rotating {
            active: Some(link),
            next: None,
            since,
            session_present,
        };
        self.request_token(now, TokenKind::Refresh);
    }

    /// Single flight: if a request is already out, its answer will serve this need too.
    fn request_token(&mut self, now: Instant, kind: TokenKind) {
        if self.pending.is_some() {
            return;
        }
        let request = RequestId(self.next_request);
        self.next_request += 1;
        let refresh = match (&self.credentials, kind) {
            (
                Some(Credentials {
                    token_id: Some(token_id),
                    password,
                    ..
                }),
                TokenKind::Refresh,
            ) => Some((token_id.clone(), password.clone())),
            _ => None,
        };
        let kind = match refresh {
            Some((token_id, password)) => {
                self.actions.push_back(Action::RefreshToken {
                    request,
                    token_id,
                    password,
                });
                TokenKind::Refresh
            }
            None => {
                self.actions.push_back(Action::FetchToken { request });
                TokenKind::Fetch
            }
        };
        self.pending = Some(PendingToken {
            id: request,
            kind,
            deadline: now + self.token_timeout,
        });
    }

    /// Asks the driver for a new link and records it as the one being connected: to the
    /// credentials' own broker if they name one, else the configured one. With neither, stops
    /// for good ([`Reason::NoBrokerUrl`]).
    fn open_link(&mut self) {
        let url = self
            .credentials
            .as_ref()
            .and_then(|c| c.broker_url.clone())
            .or_else(|| self.broker_url.clone());
        let Some(url) = url else {
            return self.give_up(Phase::Closed, Reason::NoBrokerUrl);
        };
        let link = LinkId(self.next_link);
        self.next_link += 1;
        self.links.insert(link, false);
        self.actions.push_back(Action::OpenLink { link, url });
        match &mut self.phase {
            Phase::Rotating { next, .. } => *next = Some(link),
            phase => *phase = Phase::Connecting { link },
        }
    }

    /// Closes a link we still hold; `tell_session` when the session does not know it is gone.
    fn close_link(&mut self, now: Instant, link: LinkId, tell_session: bool) {
        if let Some(handed) = self.links.remove(&link) {
            self.actions.push_back(Action::CloseLink { link });
            if handed && tell_session {
                self.session.handle_link_closed(now, link);
            }
        }
    }

    fn check_deadlines(&mut self, now: Instant) {
        if let Some(pending) = self.pending {
            if pending.deadline <= now {
                self.pending = None;
                let outcome = TokenOutcome::Failed(TokenError::Timeout(self.token_timeout));
                self.on_token(now, pending.kind, outcome);
            }
        }
        match self.phase {
            Phase::Backoff { retry_at } if retry_at <= now => self.begin_connect(now),
            Phase::Connected {
                rotate_at: Some(at),
                ..
            } if at <= now => self.start_rotation(now),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests;
