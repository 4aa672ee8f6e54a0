//! The driver: runs a [`Supervisor`] with real sockets, one timer, page listeners and fetches.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::{Rc, Weak};

use mqtt_lifecycle::{
    subscription, Action, ClientEvent, CommandError, HttpResponse, Instant, LinkId,
    OutgoingPublish, PublishId, QoS, RequestId, Secret, SessionConfig, Status, SubscribeFilter,
    SubscriptionStatus, Supervisor, SupervisorConfig, TokenResult,
};
use web_sys::Window;

use crate::clock::{random_client_id, random_seed, to_core_millis, Clock};
use crate::counters::{Counted, Kind};
use crate::error::BrowserError;
use crate::fetch::{HttpReply, TokenFetch};
use crate::handover::Handover;
use crate::link::{LinkEvent, WsLink};
use crate::listeners::{PageEvent, PageListeners};
use crate::timer::{is_drift, Timer};

/// Where the driver gets tokens and which broker and session it runs. Build with
/// [`DriverConfig::new`], which holds every default, and adjust fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriverConfig {
    /// Token endpoint (POST, cookies included). Default `/api/mqtt-token`.
    pub token_url: String,
    /// Refresh endpoint (POST `{ tokenId, password }`). Default `/api/mqtt-token/refresh`.
    pub refresh_url: String,
    /// When the session's `client_id` is empty (the default),
    /// [`Driver::new`](crate::Driver::new) makes one from this prefix and 12 random hex digits,
    /// so two tabs never take each other's session over. Default `livechat-`.
    pub client_id_prefix: String,
    /// Share one connection among the page's tabs (same origin, token endpoint and broker
    /// URL): one tab, elected with a Web Lock, holds the connection and the token lifecycle;
    /// the others publish, subscribe and receive through it over a `BroadcastChannel`, and one
    /// of them takes over (same client id, resumed session) when it closes. Where the browser
    /// has no Web Locks or no `BroadcastChannel`, each tab runs its own connection as without
    /// it. The client id is then made once and shared by the tabs. See the `tabs` section of
    /// the crate docs. Default `false`. Ignored when the crate is built without its `tabs`
    /// feature.
    pub share_tabs: bool,
    /// The supervisor's settings: the configured broker URL (may be empty when the token
    /// response names the broker with `brokerUrl`, which wins anyway), the session (its
    /// `maximum_packet_size`, default 65 536, is announced in CONNECT and enforced both ways)
    /// and the backoff. Its `seed` is replaced by random bits from the page. Defaults: those of
    /// [`SupervisorConfig::new`] and [`SessionConfig::default`] (MQTT 5, keep-alive 30 s,
    /// queue limit 256, maximum packet size 65 536).
    pub supervisor: SupervisorConfig,
}

impl DriverConfig {
    /// The defaults, for `broker_url` (may be empty when every token response names the
    /// broker).
    #[must_use]
    pub fn new(broker_url: impl Into<String>) -> Self {
        DriverConfig {
            token_url: "/api/mqtt-token".into(),
            refresh_url: "/api/mqtt-token/refresh".into(),
            client_id_prefix: "livechat-".into(),
            share_tabs: false,
            supervisor: SupervisorConfig::new(broker_url, SessionConfig::default()),
        }
    }
}

/// What the application sees after each event: the state and every subscription's status (as
/// the session holds it: the driver keeps no copy of its own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// Connection state and last reason.
    pub status: Status,
    /// Every filter asked for and where it stands, in filter order.
    pub subscriptions: Subscriptions,
    /// Who is signed in, as the last token said (its user id, else the MQTT user name's part
    /// before `@`); `None` before the first token and after a sign-out.
    pub user_id: Option<String>,
}

/// Every filter asked for and where it stands ([`Snapshot::subscriptions`]), in filter order: a
/// sorted `Vec` with the map methods callers use. Not a `BTreeMap`: every B-tree instantiation
/// is its own copy of the B-tree code in a wasm build (BENCHMARKS.md, "Where the app's bytes
/// go"), and a session holds a handful of filters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subscriptions(Vec<(String, SubscriptionStatus)>);

impl Subscriptions {
    /// No filters.
    pub fn new() -> Self {
        Subscriptions(Vec::new())
    }

    fn find(&self, filter: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(f, _)| f.as_str().cmp(filter))
    }

    /// The status of `filter`, if it is asked for.
    pub fn get(&self, filter: &str) -> Option<&SubscriptionStatus> {
        let i = self.find(filter).ok()?;
        Some(&self.0[i].1)
    }

    /// Whether `filter` is asked for.
    pub fn contains_key(&self, filter: &str) -> bool {
        self.find(filter).is_ok()
    }

    /// Sets the status of `filter`, returning the one it replaces.
    pub fn insert(
        &mut self,
        filter: String,
        status: SubscriptionStatus,
    ) -> Option<SubscriptionStatus> {
        match self.find(&filter) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, status)),
            Err(i) => {
                self.0.insert(i, (filter, status));
                None
            }
        }
    }

    /// How many filters.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Every filter and its status, in filter order.
    pub fn iter(&self) -> SubscriptionsIter<'_> {
        SubscriptionsIter(self.0.iter())
    }
}

impl<'a> IntoIterator for &'a Subscriptions {
    type Item = (&'a String, &'a SubscriptionStatus);
    type IntoIter = SubscriptionsIter<'a>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// The iterator of [`Subscriptions::iter`]: each filter and its status, in filter order.
#[derive(Debug, Clone)]
pub struct SubscriptionsIter<'a>(std::slice::Iter<'a, (String, SubscriptionStatus)>);

impl<'a> Iterator for SubscriptionsIter<'a> {
    type Item = (&'a String, &'a SubscriptionStatus);

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|(f, s)| (f, s))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

/// Called with each supervisor event and the snapshot right after it. The snapshot is shared:
/// events that change nothing in it (messages, deliveries) all carry the same `Rc`.
pub type Subscriber = Rc<dyn Fn(ClientEvent, Rc<Snapshot>)>;

/// Where each link's queue ended at one moment ([`Engine::send_mark`]); the default releases
/// nothing.
#[derive(Default)]
#[cfg_attr(not(feature = "tabs"), allow(dead_code))] // used by the tab group
pub(crate) struct SendMark(Vec<(LinkId, u64)>);

/// The client itself: runs a [`Supervisor`] with its own sockets, timer, listeners and fetches.
/// [`Driver`] runs one directly, or, for tabs sharing one connection, in the tab that leads.
pub(crate) struct Engine {
    inner: Rc<RefCell<Inner>>,
    /// Dropped without ending the session (see [`Engine::abandon`]).
    quiet: Cell<bool>,
}

struct Inner {
    window: Window,
    clock: Clock,
    supervisor: Supervisor,
    token_url: String,
    refresh_url: String,
    links: IdMap<LinkId, WsLink>,
    fetches: IdMap<RequestId, TokenFetch>,
    /// What the page's loader started for the first connect (the first driver only): used by
    /// the first `FetchToken` and `OpenLink` of [`Driver::new`]'s start, dropped right after.
    handover: Handover,
    timer: Timer,
    listeners: Option<PageListeners>,
    /// Set when the session's subscription statuses may have changed since the snapshot was
    /// built (a subscription command, or any event but a message or a delivery).
    subscriptions_changed: bool,
    /// Shared with the queued events: rebuilt only when the state, the subscriptions or the
    /// user id change, so an event that changes none of them (every message) costs no copy.
    snapshot: Rc<Snapshot>,
    /// Events waiting for the subscriber, delivered in order and never while `Inner` is
    /// borrowed (the subscriber may call back into the driver).
    outbox: VecDeque<(ClientEvent, Rc<Snapshot>)>,
    delivering: bool,
    /// A microtask that flushes the links' queued bytes is pending. Shared with that microtask,
    /// which clears it before anything else, so it cannot stay set if the flush fails.
    flush_scheduled: Rc<Cell<bool>>,
    /// Set by [`Engine::hold_sends`]: nothing is flushed until [`Engine::release_sends`] says.
    sends_held: bool,
    /// The session's incoming PUBLISH counts (all, DUP set) already added to the page's
    /// [`crate::debug_traffic`] totals.
    received_seen: (u64, u64),
    subscriber: Subscriber,
    _counted: Counted,
}

/// The current time, in both units the driver needs.
#[derive(Clone, Copy)]
struct Now {
    ms: f64,
    instant: Instant,
}

impl Engine {
    /// Creates the driver and starts connecting at once (the token request and the WebSocket
    /// open together). Every supervisor event goes to `subscriber`, never after the driver is
    /// dropped.
    ///
    /// The first driver of a page takes over what the page's loader already started, if it
    /// left that in [`HANDOVER_GLOBAL`](crate::HANDOVER_GLOBAL): the token request (when it went
    /// to this `token_url`) and the WebSocket (when it goes to this broker URL), each checked
    /// as the `handover` module says, and otherwise makes its own. Later connects, and later
    /// drivers, always make their own.
    pub fn new(config: DriverConfig, subscriber: Subscriber) -> Result<Self, BrowserError> {
        let window = web_sys::window().ok_or(BrowserError::NoWindow)?;
        let document = window.document().ok_or(BrowserError::NoWindow)?;
        let DriverConfig {
            token_url,
            refresh_url,
            client_id_prefix,
            share_tabs: _,
            mut supervisor,
        } = config;
        supervisor.seed = random_seed(&window);
        if supervisor.session.client_id.is_empty() {
            supervisor.session.client_id = random_client_id(&client_id_prefix);
        }
        let supervisor = Supervisor::new(supervisor);
        let snapshot = Rc::new(Snapshot {
            status: supervisor.status(),
            subscriptions: Subscriptions::new(),
            user_id: None,
        });
        let inner = Rc::new_cyclic(|weak: &Weak<RefCell<Inner>>| {
            let on_fire = {
                let weak = weak.clone();
                Rc::new(move |expected_ms: f64| {
                    feed(&weak, |inner, now| {
                        if is_drift(expected_ms, now.ms) {
                            inner.supervisor.handle_wake(now.instant);
                        } else if inner
                            .supervisor
                            .poll_timeout()
                            .is_some_and(|due| due <= now.instant)
                        {
                            inner.supervisor.handle_timeout(now.instant);
                        }
                        // Otherwise it fired before the deadline (at the cap, or a timer kept
                        // for an earlier deadline): settling below just re-arms it.
                    })
                })
            };
            RefCell::new(Inner {
                timer: Timer::new(window.clone(), on_fire),
                window: window.clone(),
                clock: Clock::new(&window),
                supervisor,
                token_url,
                refresh_url,
                links: IdMap::new(),
                fetches: IdMap::new(),
                handover: Handover::take_for_first_driver(&window),
                listeners: None,
                subscriptions_changed: false,
                snapshot,
                outbox: VecDeque::new(),
                delivering: false,
                flush_scheduled: Rc::new(Cell::new(false)),
                sends_held: false,
                received_seen: (0, 0),
                subscriber,
                _counted: Counted::new(Kind::Driver),
            })
        });
        let weak = Rc::downgrade(&inner);
        let on_page: Rc<dyn Fn(PageEvent)> = Rc::new(move |event| {
            feed(&weak, |inner, now| match event {
                PageEvent::Online => inner.supervisor.handle_online(now.instant),
                PageEvent::Offline => inner.supervisor.handle_offline(now.instant),
                PageEvent::Wake => inner.supervisor.handle_wake(now.instant),
            })
        });
        inner.borrow_mut().listeners = Some(PageListeners::new(&window, &document, on_page)?);

        let driver = Engine {
            inner,
            quiet: Cell::new(false),
        };
        let online = window.navigator().on_line();
        driver.command(|inner, now| {
            inner.supervisor.start(now.instant);
            if !online {
                inner.supervisor.handle_offline(now.instant);
            }
        });
        // Only the first connect may use the handover: what it did not take is closed now.
        driver.inner.borrow_mut().handover = Handover::default();
        Ok(driver)
    }

    /// Runs `f` on the supervisor as an input, then settles, delivers and schedules the flush.
    fn command<R>(&self, f: impl FnOnce(&mut Inner, Now) -> R) -> R {
        let result = {
            let mut inner = self.inner.borrow_mut();
            let now = inner.now();
            let result = f(&mut inner, now);
            inner.settle(&Rc::downgrade(&self.inner), now);
            result
        };
        deliver(&self.inner);
        schedule_flush(&self.inner);
        result
    }

    /// Subscribes `filter` at `qos`. Queued until connected and restored after every reconnect
    /// by the session; the result arrives as [`ClientEvent::Subscription`].
    pub fn subscribe(&self, filter: &str, qos: QoS) -> Result<(), CommandError> {
        self.command(|inner, _| {
            inner.subscriptions_changed = true;
            inner.supervisor.subscribe(subscription(filter, qos))
        })
    }

    /// Unsubscribes `filter`; it leaves the snapshot at once.
    pub fn unsubscribe(&self, filter: &str) -> Result<(), CommandError> {
        self.command(|inner, _| {
            inner.subscriptions_changed = true;
            inner.supervisor.unsubscribe(filter)
        })
    }

    /// Publishes `message`. `Ok(id)` means queued; progress arrives as
    /// [`ClientEvent::Delivery`] with that id.
    pub fn publish(&self, message: OutgoingPublish) -> Result<PublishId, CommandError> {
        self.command(|inner, now| inner.supervisor.publish(now.instant, message))
    }

    /// Makes `filters` (each with its own options) the whole subscription set.
    pub(crate) fn declare_filters(&self, filters: &[SubscribeFilter]) -> Result<(), CommandError> {
        self.command(|inner, _| {
            inner.subscriptions_changed = true;
            inner.supervisor.declare_subscriptions(filters)
        })
    }

    /// Makes the engine's drop leave the session alone: no DISCONNECT, the sockets are closed as
    /// a closing page closes them, so the broker keeps the session (and its Will, with its
    /// delay) for the tab that takes it over.
    #[cfg_attr(not(feature = "tabs"), allow(dead_code))] // used by the tab group
    pub(crate) fn abandon(&self) {
        self.quiet.set(true);
    }

    /// Holds every byte the links would send (PUBACKs included) from now on, until
    /// [`Engine::release_sends`]. A leading tab holds the acknowledgements of the messages it
    /// relayed until the channel has carried them (see `tabs`): a page that goes away can lose
    /// what it posted on the channel while its socket still sends. A graceful drop sends what
    /// is held, as it sends anything queued; an abandoned engine throws it away (the broker
    /// then redelivers those messages to the next leader).
    #[cfg_attr(not(feature = "tabs"), allow(dead_code))] // used by the tab group
    pub(crate) fn hold_sends(&self) {
        self.inner.borrow_mut().sends_held = true;
    }

    /// Where each link's queue ends now: [`Engine::release_sends`] with it sends what is queued
    /// now and nothing queued later.
    #[cfg_attr(not(feature = "tabs"), allow(dead_code))] // used by the tab group
    pub(crate) fn send_mark(&self) -> SendMark {
        let inner = self.inner.borrow();
        SendMark(
            inner
                .links
                .0
                .iter()
                .map(|(id, link)| (*id, link.queued_end()))
                .collect(),
        )
    }

    /// Sends what was queued before `mark`; with `all`, also ends the hold and sends the rest.
    #[cfg_attr(not(feature = "tabs"), allow(dead_code))] // used by the tab group
    pub(crate) fn release_sends(&self, mark: &SendMark, all: bool) {
        let mut inner = self.inner.borrow_mut();
        if all {
            // Everything goes: one WebSocket message per link, not the part before the mark
            // and then the rest.
            inner.sends_held = false;
            inner.flush_links();
            return;
        }
        for (id, end) in &mark.0 {
            if let Some(link) = inner.links.get_mut(id) {
                // Fails only on a socket already closing, whose `close` event follows.
                let _ = link.flush_to(*end);
            }
        }
    }

    /// Tries again at once (after signed-out, auth failure, backoff or offline).
    pub fn retry_now(&self) {
        self.command(|inner, now| inner.supervisor.retry_now(now.instant));
    }

    /// Ends the session gracefully and stops; [`Driver::start`] begins again.
    pub fn stop(&self) {
        self.command(|inner, now| inner.supervisor.stop(now.instant));
    }

    /// Starts again after [`Driver::stop`].
    pub fn start(&self) {
        self.command(|inner, now| inner.supervisor.start(now.instant));
    }

    /// The state and subscription statuses right now.
    pub fn snapshot(&self) -> Rc<Snapshot> {
        self.inner.borrow().snapshot.clone()
    }

    /// The driver's clock: the instant every [`Instant`] it reports (such as
    /// `Backoff { retry_at }`) is measured against.
    pub fn now(&self) -> Instant {
        self.inner.borrow().now().instant
    }

    /// Links (WebSockets) the driver holds right now.
    pub fn open_links(&self) -> usize {
        self.inner.borrow().links.len()
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        let Ok(mut inner) = self.inner.try_borrow_mut() else {
            // Unreachable: no borrow outlives a driver method. Dropping `inner` below still
            // releases every resource through their own `Drop`s.
            return;
        };
        // A graceful end: DISCONNECT goes out on the active link before it is closed, so the
        // broker does not publish the will or keep waiting for a keep-alive. Each link sends
        // what is queued on it (the DISCONNECT last) as it is dropped; a flush still scheduled
        // finds no driver and does nothing. Abandoned (another tab takes the session over):
        // the links are closed as a closed page closes them, and the session stays.
        if !self.quiet.get() {
            let now = inner.now();
            inner.supervisor.stop(now.instant);
            inner.perform_all(&Rc::downgrade(&self.inner), now);
        } else if inner.sends_held {
            // Abandoned while holding acknowledgements of relayed messages whose posts may not
            // have reached the other tabs yet: they are not sent, so the broker gives those
            // messages to the next leader (a tab that has them drops the copy by id).
            for link in inner.links.values_mut() {
                link.discard_queued();
            }
        }
        inner.outbox.clear();
        inner.links.clear();
        inner.fetches.clear();
        inner.timer.disarm();
        inner.listeners = None;
    }
}

/// Feeds one browser happening to the driver behind `weak` (if it is still alive), settles it,
/// delivers the resulting events and schedules the flush.
fn feed(weak: &Weak<RefCell<Inner>>, input: impl FnOnce(&mut Inner, Now)) {
    let Some(shared) = weak.upgrade() else {
        return;
    };
    {
        // Browser callbacks never nest inside driver code (socket, timer, fetch and listener
        // callbacks all run as separate tasks), so this borrow cannot collide.
        let mut inner = shared.borrow_mut();
        let now = inner.now();
        input(&mut inner, now);
        inner.settle(weak, now);
    }
    deliver(&shared);
    schedule_flush(&shared);
}

/// Makes sure a microtask will send every link's queued bytes, one WebSocket message per link.
///
/// Called after the events are delivered, never during: a promise the subscriber resolves
/// queues its reactions before this microtask, so a publish made in them (the bench's
/// `await arrived; publish(next)`) still joins the PUBACK of the message that resolved it. A
/// command made inside the subscriber leaves the scheduling to the input that is delivering.
/// Browser tasks cannot run between this and the flush, so nothing waits longer than the
/// task (and its microtasks) that produced it.
fn schedule_flush(shared: &Rc<RefCell<Inner>>) {
    let scheduled = {
        let inner = shared.borrow();
        if inner.delivering
            || inner.sends_held
            || inner.flush_scheduled.get()
            || !inner.links.values().any(WsLink::has_queued)
        {
            return;
        }
        inner.flush_scheduled.set(true);
        inner.flush_scheduled.clone()
    };
    let weak = Rc::downgrade(shared);
    wasm_bindgen_futures::spawn_local(async move {
        scheduled.set(false);
        let Some(shared) = weak.upgrade() else {
            return; // dropped: each link flushed as it was dropped
        };
        // Microtasks run only when no script is on the stack, so the driver is never borrowed
        // here. Were it ever, the next input schedules again for the bytes still queued.
        let Ok(mut inner) = shared.try_borrow_mut() else {
            return;
        };
        if !inner.sends_held {
            inner.flush_links();
        }
    });
}

/// Hands queued events to the subscriber one at a time, without holding a borrow, so the
/// subscriber may call the driver. A nested call only queues; the outer loop delivers in order.
fn deliver(shared: &Rc<RefCell<Inner>>) {
    let subscriber = {
        let mut inner = shared.borrow_mut();
        if inner.delivering {
            return;
        }
        inner.delivering = true;
        inner.subscriber.clone()
    };
    loop {
        let next = shared.borrow_mut().outbox.pop_front();
        match next {
            Some((event, snapshot)) => subscriber(event, snapshot),
            None => break,
        }
    }
    shared.borrow_mut().delivering = false;
}

impl Inner {
    /// Sends each link's queued bytes as one WebSocket message.
    fn flush_links(&mut self) {
        for link in self.links.values_mut() {
            // Sending fails only on a socket that is already closing; its `close` event
            // follows and reports the loss.
            let _ = link.flush();
        }
    }

    fn now(&self) -> Now {
        let ms = self.clock.now_ms();
        Now {
            ms,
            instant: Instant::from_millis(to_core_millis(ms)),
        }
    }

    /// The drive-loop rule: after an input, perform every action and collect every event until
    /// the supervisor has nothing more, then re-arm the timer for its next deadline.
    fn settle(&mut self, weak: &Weak<RefCell<Inner>>, now: Now) {
        loop {
            self.perform_all(weak, now);
            let mut any = false;
            while let Some(event) = self.supervisor.poll_event() {
                any = true;
                match &event {
                    // Messages and deliveries (the hot path) change nothing here.
                    ClientEvent::Message(_)
                    | ClientEvent::MessageDropped(_)
                    | ClientEvent::Delivery { .. } => {}
                    // Emitted only when the status changed. A new link may have reset the
                    // session's subscriptions to pending.
                    ClientEvent::State(status) => {
                        Rc::make_mut(&mut self.snapshot).status = status.clone();
                        self.subscriptions_changed = true;
                    }
                    _ => self.subscriptions_changed = true,
                }
                self.refresh_snapshot();
                self.outbox.push_back((event, self.snapshot.clone()));
            }
            if !any {
                break;
            }
        }
        self.refresh_snapshot();
        self.count_received();
        self.rearm(now);
    }

    /// Adds the PUBLISH packets the session received since the last input to the page's totals.
    fn count_received(&mut self) {
        let counts = self.supervisor.session().received_publishes();
        let (publishes, dup) = self.received_seen;
        if counts.publishes != publishes {
            crate::counters::count_received(counts.publishes - publishes, counts.dup - dup);
            self.received_seen = (counts.publishes, counts.dup);
        }
    }

    /// Brings the shared snapshot up to date with the session's subscriptions and the user id,
    /// copying it only if one of them changed (and a queued event still holds the old one).
    fn refresh_snapshot(&mut self) {
        if self.snapshot.user_id.as_deref() != self.supervisor.user_id() {
            Rc::make_mut(&mut self.snapshot).user_id = self.supervisor.user_id().map(str::to_owned);
        }
        if std::mem::take(&mut self.subscriptions_changed) {
            // Built by insertion, not `collect`: that sorts first, and links a stable sort.
            let mut statuses = Subscriptions::new();
            for (filter, status) in self.supervisor.session().subscriptions() {
                statuses.insert(filter.to_owned(), status);
            }
            if statuses != self.snapshot.subscriptions {
                Rc::make_mut(&mut self.snapshot).subscriptions = statuses;
            }
        }
    }

    fn perform_all(&mut self, weak: &Weak<RefCell<Inner>>, now: Now) {
        while let Some(action) = self.supervisor.poll_action() {
            self.perform(weak, action, now);
        }
    }

    fn perform(&mut self, weak: &Weak<RefCell<Inner>>, action: Action, now: Now) {
        match action {
            Action::FetchToken { request } => {
                let url = self.token_url.clone();
                let handed = self.handover.token_for(&url);
                self.start_fetch(weak, request, &url, None, handed, now);
            }
            Action::RefreshToken {
                request,
                token_id,
                password,
            } => {
                let body = refresh_body(&token_id, password.expose());
                let url = self.refresh_url.clone();
                self.start_fetch(weak, request, &url, Some(body.expose()), None, now);
            }
            Action::OpenLink { link, url } => {
                let weak = weak.clone();
                let on_event: Rc<dyn Fn(LinkEvent<'_>)> = Rc::new(move |event| {
                    feed(&weak, |inner, now| inner.on_link_event(link, event, now));
                });
                let socket = match self.handover.socket_for(&url) {
                    Some(handed) => Ok(WsLink::adopt(handed, on_event)),
                    None => WsLink::open(&url, on_event),
                };
                match socket {
                    Ok(socket) => {
                        // A handed-over socket may have opened before it was adopted: its
                        // `open` event went by, so the supervisor hears it now.
                        let open = socket.is_open();
                        self.links.insert(link, socket);
                        if open {
                            self.supervisor.handle_link_opened(now.instant, link);
                        }
                    }
                    // A URL the browser refuses outright is a link that closed at once.
                    Err(_) => self.supervisor.handle_link_closed(now.instant, link),
                }
            }
            Action::Send { link, bytes } => {
                // Queued, not sent: everything this task produces for the link leaves in one
                // WebSocket message when `schedule_flush`'s microtask runs. But a link's first
                // packet (CONNECT) leaves at once, before the subscriber hears of the new state:
                // nothing else can join it (the session sends nothing more before CONNACK), and
                // the microtask runs only after the application's reaction to the events (a Yew
                // re-render of "Connecting…", which CONNECT waited for: issue 15).
                if let Some(socket) = self.links.get_mut(&link) {
                    let first = socket.queued_end() == 0;
                    socket.queue(&bytes);
                    if first && !self.sends_held {
                        // Fails only on a socket already closing; its `close` event follows.
                        let _ = socket.flush();
                    }
                }
            }
            Action::CloseLink { link } => {
                // Dropping the link sends what is queued on it, detaches its handlers and
                // closes the socket (after those bytes, which the browser still sends).
                self.links.remove(&link);
            }
        }
    }

    fn start_fetch(
        &mut self,
        weak: &Weak<RefCell<Inner>>,
        request: RequestId,
        url: &str,
        body: Option<&str>,
        handed: Option<js_sys::Promise>,
        now: Now,
    ) {
        let on_done = {
            let weak = weak.clone();
            move |result: Result<HttpReply, BrowserError>| {
                feed(&weak, |inner, now| {
                    inner.fetches.remove(&request);
                    let result = token_result(result, js_sys::Date::now());
                    inner.supervisor.handle_token(now.instant, request, result);
                });
            }
        };
        let fetch = match handed {
            Some(promise) => TokenFetch::adopt(&self.window, url, promise, on_done),
            None => TokenFetch::start(&self.window, url, body, on_done),
        };
        match fetch {
            Ok(fetch) => {
                self.fetches.insert(request, fetch);
            }
            Err(error) => self.supervisor.handle_token(
                now.instant,
                request,
                TokenResult::NetworkError(error.to_string()),
            ),
        }
    }

    fn on_link_event(&mut self, link: LinkId, event: LinkEvent<'_>, now: Now) {
        match event {
            LinkEvent::Opened => self.supervisor.handle_link_opened(now.instant, link),
            LinkEvent::Bytes(bytes) => self.supervisor.handle_link_bytes(now.instant, link, bytes),
            // MQTT over WebSocket is binary only (MQTT 5.0 §6): a text frame ends the link.
            LinkEvent::Text | LinkEvent::Closed { .. } => {
                // Removing the link drops the closure that is running right now; wasm-bindgen
                // defers freeing it until this invocation returns.
                self.links.remove(&link);
                self.supervisor.handle_link_closed(now.instant, link);
            }
        }
    }

    fn rearm(&mut self, now: Now) {
        match self.supervisor.poll_timeout() {
            Some(deadline) => {
                // Keeps an armed timer that fires no later (most inputs move the deadline later
                // or leave it): an early fire finds nothing due and comes back here.
                // `setTimeout` only fails without a window; then nothing can run anyway.
                let _ = self.timer.arm_by(now.ms, deadline.as_millis() as f64);
            }
            None => self.timer.disarm(),
        }
    }
}

/// The refresh endpoint's JSON body. It holds the password, so it is a [`Secret`]: its `Debug`
/// never shows it.
pub(crate) fn refresh_body(token_id: &str, password: &str) -> Secret {
    // The bytes serde_json's `json!` wrote (keys sorted), without linking serde_json.
    let mut body = String::with_capacity(28 + token_id.len() + password.len());
    body.push_str("{\"password\":");
    mqtt_lifecycle::json::write_string(&mut body, password);
    body.push_str(",\"tokenId\":");
    mqtt_lifecycle::json::write_string(&mut body, token_id);
    body.push('}');
    Secret::new(body)
}

/// Converts the shell's fetch outcome into the supervisor's token input; `local_time` is the
/// browser's wall clock (`Date.now()`) when the answer arrived.
pub(crate) fn token_result(
    result: Result<HttpReply, BrowserError>,
    local_time: f64,
) -> TokenResult {
    match result {
        Ok(reply) => TokenResult::Response(HttpResponse {
            status: reply.status,
            date: reply.date,
            retry_after: reply.retry_after,
            body: reply.body,
            local_time: Some(local_time as i64),
        }),
        Err(error) => TokenResult::NetworkError(error.to_string()),
    }
}

/// The few links or fetches the driver holds, by id, in id order: a sorted `Vec`, not a
/// `BTreeMap` (each B-tree instantiation costs the wasm build about a kilobyte, issue 15).
/// Same methods as the map it replaces; replacing or removing an entry drops its value.
struct IdMap<K, V>(Vec<(K, V)>);

impl<K: Ord + Copy, V> IdMap<K, V> {
    fn new() -> Self {
        IdMap(Vec::new())
    }

    fn find(&self, key: &K) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| k.cmp(key))
    }

    fn insert(&mut self, key: K, value: V) {
        match self.find(&key) {
            Ok(i) => self.0[i].1 = value,
            Err(i) => self.0.insert(i, (key, value)),
        }
    }

    fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        let i = self.find(key).ok()?;
        Some(&mut self.0[i].1)
    }

    fn remove(&mut self, key: &K) -> Option<V> {
        let i = self.find(key).ok()?;
        Some(self.0.remove(i).1)
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    fn clear(&mut self) {
        self.0.clear();
    }

    fn values(&self) -> impl Iterator<Item = &V> {
        self.0.iter().map(|(_, v)| v)
    }

    fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.0.iter_mut().map(|(_, v)| v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::JsError;

    #[test]
    fn subscriptions_keep_filter_order_and_one_status_per_filter() {
        let mut subs = Subscriptions::new();
        assert!(subs.is_empty());
        assert_eq!(subs.insert("b".into(), SubscriptionStatus::Pending), None);
        assert_eq!(subs.insert("a/+".into(), SubscriptionStatus::Pending), None);
        assert_eq!(
            subs.insert("b".into(), SubscriptionStatus::Granted(QoS::AtLeastOnce)),
            Some(SubscriptionStatus::Pending)
        );
        assert_eq!(subs.len(), 2);
        assert!(subs.contains_key("a/+") && !subs.contains_key("c"));
        assert_eq!(
            subs.get("b"),
            Some(&SubscriptionStatus::Granted(QoS::AtLeastOnce))
        );
        assert_eq!(subs.get("c"), None);
        let filters: Vec<&String> = subs.iter().map(|(f, _)| f).collect();
        assert_eq!(filters, ["a/+", "b"]);
        assert_eq!((&subs).into_iter().count(), 2);
    }

    #[test]
    fn the_config_holds_the_documented_defaults() {
        let config = DriverConfig::new("wss://chat.example/mqtt");
        assert_eq!(config.token_url, "/api/mqtt-token");
        assert_eq!(config.refresh_url, "/api/mqtt-token/refresh");
        assert_eq!(config.client_id_prefix, "livechat-");
        assert!(!config.share_tabs, "one connection per driver unless asked");
        assert_eq!(config.supervisor.broker_url, "wss://chat.example/mqtt");
        let session = &config.supervisor.session;
        assert_eq!(session.client_id, "", "made per driver from the prefix");
        assert_eq!(session.keep_alive, std::time::Duration::from_secs(30));
        assert_eq!(session.queue_limit, 256);
        assert_eq!(session.maximum_packet_size, 65_536);
    }

    #[test]
    fn the_refresh_body_escapes_its_strings() {
        let body = refresh_body("t\"1", "p\\w");
        let value: serde_json::Value = serde_json::from_str(body.expose()).unwrap();
        assert_eq!(value["tokenId"], "t\"1");
        assert_eq!(value["password"], "p\\w");
        let (id, password) = ("\u{1}\n\t/é😀", "\"}\u{7f}\u{2028}");
        let expected = serde_json::json!({ "tokenId": id, "password": password }).to_string();
        assert_eq!(refresh_body(id, password).expose(), expected);
    }

    #[test]
    fn no_debug_output_of_a_refresh_body_reply_or_config_shows_the_password() {
        const SECRET: &str = "sup3r-s3cret-token";
        let body = refresh_body("t1", SECRET);
        let reply = HttpReply {
            status: 200,
            date: None,
            retry_after: None,
            body: format!(r#"{{"accessToken":"{SECRET}","expires_in":60}}"#),
        };
        let result = token_result(Ok(reply.clone()), 0.0);
        let config = DriverConfig::new("");
        let shown = format!("{body:?} {reply:?} {reply:#?} {result:?} {config:?}");
        assert!(!shown.contains(SECRET), "{shown}");
    }

    #[test]
    fn an_http_reply_becomes_a_response_with_the_local_time() {
        let reply = HttpReply {
            status: 429,
            date: Some("Sat, 28 Nov 2026 00:00:00 GMT".into()),
            retry_after: Some("7".into()),
            body: "{}".into(),
        };
        let TokenResult::Response(response) = token_result(Ok(reply), 1_800_000_000_123.0) else {
            panic!("expected a response");
        };
        assert_eq!(response.status, 429);
        assert_eq!(response.retry_after.as_deref(), Some("7"));
        assert_eq!(response.local_time, Some(1_800_000_000_123));
    }

    #[test]
    fn a_fetch_failure_becomes_a_network_error_with_the_browsers_words() {
        let error = BrowserError::Fetch {
            url: "/api/mqtt-token".into(),
            source: JsError {
                name: "TypeError".into(),
                message: "Failed to fetch".into(),
            },
        };
        let TokenResult::NetworkError(text) = token_result(Err(error), 0.0) else {
            panic!("expected a network error");
        };
        assert!(text.contains("Failed to fetch"));
    }
}
