//! The connection supervisor: one MQTT [`Session`] kept alive across links and tokens.
//!
//! See the crate documentation for the model and the drive loop. This module holds the
//! [`Supervisor`] itself, its commands, the page's inputs (time, online, wake) and its outputs;
//! each responsibility around it has its own file:
//!
//! - `phase`: the internal `Phase` enum (each phase carries its own data) and the forward
//!   transitions: fetching, connecting, connected, rotating;
//! - `token_flight`: the single token request in flight and what its answer leads to;
//! - `links`: the links asked for, each at a `LinkStage`, and the link inputs;
//! - `retry`: what a failure leads to: backoff, a kept link after a failed rotation, giving up;
//! - `config` and `output`: [`SupervisorConfig`], [`Action`] and [`ClientEvent`].

use std::collections::VecDeque;
use std::time::Duration;

use mqtt_codec::packet::ProtocolVersion;
use mqtt_session::{
    CommandError, Event, LastWill, LinkId, OutgoingPublish, PublishId, Session, SubscribeFilter,
};

use crate::backoff::{BackoffPolicy, Rng};
use crate::net::split_once_str;
use crate::state::{ConnectionState, Reason, Status};
use crate::token::Credentials;
use crate::Instant;

mod config;
mod links;
mod output;
mod phase;
mod retry;
mod token_flight;

pub use config::SupervisorConfig;
pub use output::{Action, ClientEvent};
pub use token_flight::RequestId;

use links::Links;
use phase::Phase;
use retry::Retry;
use token_flight::TokenFlight;

/// How long a live link has to answer once the browser reports that it is offline
/// ([`Supervisor::handle_offline`]) before it is declared dead.
pub const OFFLINE_PROBE: Duration = Duration::from_secs(3);

/// The sans-IO connection supervisor. See the crate docs for the drive loop.
#[derive(Debug)]
pub struct Supervisor {
    session: Session,
    /// The configured broker URL in use (`None`: none configured): one of [`Self::brokers`].
    broker_url: Option<String>,
    /// The configured broker URLs, shuffled once ([`SupervisorConfig::broker_urls`]), and
    /// the index of the one in use.
    brokers: Vec<String>,
    broker_index: usize,
    backoff: BackoffPolicy,
    wake_drift: Duration,
    rng: Rng,
    /// The protocol the next link speaks: the configured one until a v5 → 3.1.1 fallback.
    /// A fallback on CONNACK "unsupported protocol version" is for good; one on a close
    /// without CONNACK ([`Self::closed_before_connack`]) is for good once a 3.1.1 CONNACK
    /// came, and undone if the 3.1.1 attempt is closed the same way (then it was not the
    /// protocol: a dying broker, a network fault).
    protocol: ProtocolVersion,
    /// The 3.1.1 fallback was taken on a close without CONNACK and no CONNACK came since.
    fallback_unconfirmed: bool,
    /// The link being connected that the server closed after our CONNECT and before any
    /// CONNACK, while that close is being handled: over MQTT 5 this is how RabbitMQ 3.10 says
    /// it speaks only 3.1.1, so it leads to the same fallback as CONNACK "unsupported protocol
    /// version".
    closed_before_connack: Option<mqtt_session::LinkId>,
    phase: Phase,
    reason: Option<Reason>,
    /// The last status emitted as [`ClientEvent::State`].
    shown: Status,
    /// Failure bookkeeping that outlives any one phase.
    retry: Retry,
    /// What the page last said (`online`/`offline` events); not a phase: a live link may
    /// survive going offline.
    online: bool,
    /// The current token: set by each token answer, used for the CONNECT, the rotation time and
    /// the refresh. Forgotten when a connect attempt fails (a failed rotation keeps it: its
    /// link is still up), when bad credentials are refused, and on `stop` or giving up.
    credentials: Option<Credentials>,
    /// Who the last token belonged to ([`Credentials::identity`]); kept across reconnects,
    /// forgotten when the user is signed out.
    user_id: Option<String>,
    /// The one token request in flight (single-flight: every need shares it).
    tokens: TokenFlight,
    links: Links,
    /// A link the browser has not opened this long after [`Action::OpenLink`] is given up
    /// (the session's `connect_timeout`, which then bounds the wait for CONNACK too).
    open_timeout: Duration,
    actions: VecDeque<Action>,
    events: VecDeque<ClientEvent>,
    last_now: Instant,
    /// The configured Will when its topic names the user ([`USER_ID_PLACEHOLDER`]): filled in
    /// with each token's user before each CONNECT.
    will_template: Option<LastWill>,
    /// The Will (template, session Will) taken off after a 3.1.1 link with a retained Will was
    /// closed without CONNACK (how Mosquitto without retain refuses it over 3.1.1; over MQTT 5
    /// it says 0x9A). Dropped for good once a CONNACK comes; put back if the attempt without
    /// it is closed the same way (then the Will was not the problem).
    suspended_will: Option<(Option<LastWill>, Option<LastWill>)>,
}

/// Written in the topic of [`SessionConfig::will`](mqtt_session::SessionConfig::will), this text
/// is replaced before each CONNECT by the signed-in user's id (the token's `userId`, else the
/// user name before `@`): a Will on the user's own topic (presence) whose author is not known
/// until the token comes. Without a user id that can be a topic level (no `/`, `+`, `#` or
/// control characters), the CONNECT carries no Will.
pub const USER_ID_PLACEHOLDER: &str = "{userId}";

/// The Will for `user`: `template` with [`USER_ID_PLACEHOLDER`] replaced, if `user` can be a
/// topic level.
/// `topic.replace(USER_ID_PLACEHOLDER, user)`, without a string pattern (see
/// [`split_once_str`]).
fn fill_user(topic: &str, user: &str) -> String {
    let mut out = String::with_capacity(topic.len());
    let mut rest = topic;
    while let Some((before, after)) = split_once_str(rest, USER_ID_PLACEHOLDER) {
        out.push_str(before);
        out.push_str(user);
        rest = after;
    }
    out.push_str(rest);
    out
}

fn will_for(template: &LastWill, user: Option<&str>) -> Option<LastWill> {
    let user = user.filter(|u| {
        !u.is_empty()
            && !u
                .chars()
                .any(|c| matches!(c, '/' | '+' | '#') || c.is_control())
    })?;
    Some(LastWill {
        topic: fill_user(&template.topic, user),
        ..template.clone()
    })
}

impl Supervisor {
    /// A supervisor in [`ConnectionState::Idle`]; nothing happens until [`Supervisor::start`].
    #[must_use]
    pub fn new(config: SupervisorConfig) -> Self {
        let protocol = config.session.protocol;
        let open_timeout = config.session.connect_timeout;
        let will_template = config
            .session
            .will
            .clone()
            .filter(|w| split_once_str(&w.topic, USER_ID_PLACEHOLDER).is_some());
        let mut rng = Rng::new(config.seed);
        let mut brokers: Vec<String> = Vec::new();
        for url in std::iter::once(&config.broker_url).chain(&config.broker_urls) {
            let url = url.trim();
            if !url.is_empty() && !brokers.iter().any(|b| b == url) {
                brokers.push(url.to_owned());
            }
        }
        // Fisher-Yates; a single URL draws nothing, so the jitter sequence is unchanged.
        for i in (1..brokers.len()).rev() {
            let j = rng.below_inclusive(i as u64) as usize;
            brokers.swap(i, j);
        }
        let mut session = Session::new(config.session);
        if will_template.is_some() {
            // No Will until a token says whose it is.
            session.set_will(None);
        }
        Supervisor {
            session,
            will_template,
            suspended_will: None,
            broker_url: brokers.first().cloned(),
            brokers,
            broker_index: 0,
            backoff: config.backoff,
            wake_drift: config.wake_drift,
            rng,
            protocol,
            closed_before_connack: None,
            fallback_unconfirmed: false,
            phase: Phase::Idle,
            reason: None,
            shown: Status {
                state: ConnectionState::Idle,
                reason: None,
            },
            retry: Retry::default(),
            online: true,
            credentials: None,
            user_id: None,
            tokens: TokenFlight::new(config.token_timeout),
            links: Links::default(),
            open_timeout,
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
            self.retry = Retry::default();
            self.reason = None;
            self.begin_connect(now);
        }
        self.pump(now);
    }

    /// Ends the session gracefully (DISCONNECT on the active link), closes every link, ignores
    /// answers to token requests in flight, and moves to `Closed`.
    pub fn stop(&mut self, now: Instant) {
        self.last_now = now;
        if matches!(self.phase, Phase::Closed) {
            return;
        }
        self.phase = Phase::Closed;
        self.reason = Some(Reason::Stopped);
        self.tokens.abandon();
        self.credentials = None;
        self.session.disconnect(now);
        self.pump(now);
        let open: Vec<LinkId> = self.links.ids();
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
                self.retry.auth_retry_used = false;
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

    /// Publishes through the session (queued while no link is connected, and during a takeover). `Ok(id)` means
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

    // ----- Inputs (the links' are in `links`, the token's in `token_flight`) ----------------

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
    /// offline do not count as attempts. A live link is not dropped (it may well survive: a
    /// loopback or VPN broker, a brief switch) but must prove itself within
    /// [`OFFLINE_PROBE`]: a PINGREQ goes out and a link from which nothing arrives by then is
    /// declared dead, so the status says "Offline" in seconds rather than after up to 1.5 × the
    /// keep-alive of "Connected" on a dead network.
    pub fn handle_offline(&mut self, now: Instant) {
        self.last_now = now;
        self.online = false;
        if matches!(self.phase, Phase::Backoff { .. }) {
            self.phase = Phase::Offline;
            self.reason = Some(Reason::Offline);
        }
        self.session.probe_link(now, OFFLINE_PROBE);
        self.pump(now);
    }

    /// The page woke up (visibilitychange to visible, pageshow, window focus, or timer drift):
    /// re-checks at once a refresh that became due, a link whose token expired meanwhile
    /// (presumed dead: replaced at once), an overdue retry, and the session's own timers. When
    /// signed out it asks the token endpoint once more: the user may have signed in on another
    /// tab meanwhile (a 401 again just stays signed out; nothing retries on a timer).
    pub fn handle_wake(&mut self, now: Instant) {
        self.last_now = now;
        self.session.handle_timeout(now);
        self.pump(now);
        let expired = self
            .credentials
            .as_ref()
            .is_some_and(|c| c.expires_at <= now);
        match self.phase {
            Phase::SignedOut => {
                self.retry.auth_retry_used = false;
                self.begin_connect(now);
            }
            Phase::Connected { link, .. } if expired => {
                // The broker ends a link when its token expires; after a sleep the socket may
                // not have noticed yet. Not a failure: reconnect at once, no waiting.
                self.close_link(now, link, true);
                self.retry.attempt = 0;
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
        let open_due = self
            .links
            .oldest_opening()
            .map(|since| since + self.open_timeout);
        [
            self.session.poll_timeout(),
            self.tokens.deadline(),
            own,
            open_due,
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

    /// Drains the session (transmits before events, so a DISCONNECT goes out before the
    /// close it causes), then emits a state event if the status changed.
    fn pump(&mut self, now: Instant) {
        loop {
            self.pump_transmits();
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

    fn check_deadlines(&mut self, now: Instant) {
        self.check_token_deadline(now);
        self.check_open_deadlines(now);
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
