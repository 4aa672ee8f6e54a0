//! Tabs sharing one connection: a leader elected with a Web Lock, the others relaying through
//! a `BroadcastChannel`.
//!
//! Every tab of a group (same origin, token endpoint and configured broker: [`group_name`])
//! asks for one Web Lock of that name and opens a `BroadcastChannel` of that name. The tab
//! holding the lock leads: it runs the only `Engine` (socket, token lifecycle, session) with
//! the group's client id. When it closes or crashes the browser releases the lock and gives it
//! to one waiting tab, which starts an engine with the same client id and Clean Start 0, so the
//! broker's session (subscriptions, QoS 1 messages queued meanwhile) carries on.
//!
//! The bookkeeping is pure (`book`, `wire`); this module is the wiring: lock and channel
//! (a few lines of JavaScript, `glue`), and the routing of commands and events.
//!
//! - A follower sends its whole filter set (`Join`) and each publish (`Publish`, numbered by the
//!   tab) to the leader; it keeps each publish until the leader reports a final status, and when
//!   a new leader announces itself it joins again and resends what is still waiting, with the
//!   same numbers (the chat's message ids make a message published twice show once).
//! - The leader subscribes the union of every tab's filters, posts every message it receives
//!   (each tab keeps those its filters match; one batch per task) once another tab has spoken
//!   on the channel (a tab says hello when it opens it; a leader alone posts none), each
//!   publish's progress to its tab, and its state (times as durations, reasons in words)
//!   whenever it changes. It acknowledges relayed messages to the broker only once its own
//!   second listener heard the batch (`relay`): a closing page can lose its posts.

mod book;
mod glue;
mod wire;

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::{Rc, Weak};

use mqtt_lifecycle::{
    ClientEvent, CommandError, ConnectionState, DeliveryStatus, DropReason, Instant,
    OutgoingPublish, PublishId, Status, SubscriptionStatus,
};

pub use book::{topic_matches, Filters, LeaderBook, Outbox};
pub use wire::{Wire, WireError};

use crate::clock::{random_client_id, random_seed, to_core_millis, Clock};
use crate::driver::{DriverConfig, Engine, SendMark, Snapshot, Subscriber};
use crate::error::BrowserError;
use crate::handover::absolute_url;

/// Version of what tabs say to each other: part of the group name, so tabs running another
/// version of the app form their own group rather than misread each other.
pub const PROTOCOL: &str = "livechat-tabs/2";

/// Whether this browser can share a connection among tabs (Web Locks and `BroadcastChannel`).
pub fn supported() -> bool {
    glue::supported()
}

/// The lock's and channel's name for `config`: the protocol, the token endpoint (absolute) and
/// the configured broker URL. Tabs of one origin with the same token endpoint get their
/// credentials from the same session cookie, so they are the same user; a page with another
/// endpoint or broker never joins them. `static/early.js` computes the same name.
pub fn group_name(token_url: &str, broker_url: &str) -> String {
    format!("{PROTOCOL}|{token_url}|{broker_url}")
}

/// One tab of a group. Dropping it leaves the group (a leader hands the connection over).
pub(crate) struct Tab {
    shared: Rc<RefCell<State>>,
}

struct State {
    me: u64,
    name: String,
    config: DriverConfig,
    /// The lock request and the channel, while in the group.
    glue: Option<glue::Glue>,
    clock: Clock,
    filters: Filters,
    outbox: Outbox,
    /// The leading tab as last announced (`Some(me)` while this tab leads).
    leader: Option<u64>,
    /// The group's client id, from the last announcement (or made by this tab when it leads).
    client_id: Option<String>,
    engine: Option<Rc<Engine>>,
    book: LeaderBook,
    /// Deliveries for publish ids not mapped yet, while a publish call is under way.
    stash: Vec<(PublishId, DeliveryStatus)>,
    /// The leader's whole snapshot, as last seen (this tab's engine's while it leads).
    last: Rc<Snapshot>,
    /// What this tab's application sees: `last` for its own filters.
    view: Rc<Snapshot>,
    subscriber: Subscriber,
    events: VecDeque<(ClientEvent, Rc<Snapshot>)>,
    delivering: bool,
    stopped: bool,
    /// Whether another tab has said anything on the channel since this tab joined. Until one
    /// has, nobody reads the channel: a leader alone does not post the messages it receives
    /// (a structured clone and a `postMessage` each, most of a flood's cost; BENCHMARKS.md).
    heard_others: bool,
    /// Leading: the batches posted and not heard back yet, each with where the engine's sends
    /// stood when it was posted (see [`relay`]).
    marks: VecDeque<(u64, SendMark)>,
    /// Leading: the bytes of the messages of the batch being gathered, one after the other.
    relay: Vec<u8>,
    /// How many messages `relay` holds.
    relay_count: u64,
    /// A microtask will post the batch being gathered.
    mark_due: bool,
    /// A batch was posted before that microtask (something else was posted): its position in
    /// the engine's sends is taken by the microtask, after every message of the task.
    early_batch: bool,
    /// The number of the next batch.
    next_mark: u64,
}

impl State {
    fn now(&self) -> Instant {
        Instant::from_millis(to_core_millis(self.clock.now_ms()))
    }

    /// Posts `wire` to the other tabs, after the batch of messages being gathered (if any), so
    /// the other tabs hear everything in the order it happened.
    fn post(&mut self, wire: &Wire) {
        self.post_batch(true);
        if let Some(glue) = &self.glue {
            glue.post(&wire.encode(self.now()));
        }
    }

    /// Posts the messages gathered since the last batch as one batch, noting where the engine's
    /// sends stand: they go once the batch's echo comes back ([`mark_heard`]).
    ///
    /// `early`: something else is posted in the middle of the task. The engine already queued
    /// the acknowledgements of every message of the task, also of those relayed after this
    /// batch, so this batch's echo releases nothing; the microtask gives the task's last batch
    /// the position (`batch_due`).
    fn post_batch(&mut self, early: bool) {
        if self.relay_count == 0 {
            return;
        }
        if let (Some(engine), Some(glue)) = (&self.engine, &self.glue) {
            let n = self.next_mark;
            let bytes = Wire::batch(self.me, n, self.relay_count, &self.relay);
            let position = if early {
                SendMark::default()
            } else {
                engine.send_mark()
            };
            self.marks.push_back((n, position));
            glue.mark(&bytes);
            self.next_mark += 1;
            self.early_batch |= early;
        }
        self.relay.clear();
        self.relay_count = 0;
    }

    fn leading(&self) -> bool {
        self.engine.is_some()
    }

    fn join_message(&self) -> Wire {
        Wire::Join {
            tab: self.me,
            filters: self.filters.list().to_vec(),
        }
    }

    /// Queues a message from the broker (or the news of one dropped) for the application when
    /// this tab's own filters match its topic; anything else is ignored.
    fn keep(&mut self, wire: Wire) {
        let event = match wire {
            Wire::Message(m) if self.filters.wants(&m.topic) => ClientEvent::Message(m),
            Wire::Dropped(d) if self.filters.wants(&d.topic) => ClientEvent::MessageDropped(d),
            _ => return,
        };
        let view = self.view.clone();
        self.events.push_back((event, view));
    }

    /// Takes the leader's snapshot and refreshes the view.
    fn take_view(&mut self, leader: &Rc<Snapshot>) {
        self.last = leader.clone();
        self.refresh_view();
    }

    /// This tab's view of the leader's snapshot: its own filters' statuses only (`Pending` for
    /// one the leader has not taken up yet). Queues the events that tell the application.
    fn refresh_view(&mut self) {
        let leader = self.last.clone();
        let mut subscriptions = crate::Subscriptions::new();
        for (filter, _) in self.filters.list() {
            let status = leader
                .subscriptions
                .get(filter)
                .cloned()
                .unwrap_or(SubscriptionStatus::Pending);
            subscriptions.insert(filter.clone(), status);
        }
        // A new leader knows the user only once its first token came; the tabs of a group are
        // one user (one cookie), so the user stays meanwhile, unless the leader says signed out.
        let user_id = match (&leader.user_id, &leader.status.state) {
            (Some(user), _) => Some(user.clone()),
            (None, ConnectionState::SignedOut | ConnectionState::AuthFailed) => None,
            (None, _) => self.view.user_id.clone(),
        };
        let next = Snapshot {
            status: leader.status.clone(),
            subscriptions,
            user_id,
        };
        if next == *self.view {
            return;
        }
        let status_changed = next.status != self.view.status;
        let changed: Vec<(String, SubscriptionStatus)> = next
            .subscriptions
            .iter()
            .filter(|(f, s)| self.view.subscriptions.get(f) != Some(*s))
            .map(|(f, s)| (f.clone(), s.clone()))
            .collect();
        self.view = Rc::new(next);
        let queued = self.events.len();
        for (filter, status) in changed {
            let result = match status {
                SubscriptionStatus::Granted(qos) => Ok(qos),
                SubscriptionStatus::Refused(refusal) => Err(refusal),
                SubscriptionStatus::Pending => continue,
            };
            self.events.push_back((
                ClientEvent::Subscription { filter, result },
                self.view.clone(),
            ));
        }
        // The state (also when only the user or a pending filter changed: the snapshot did).
        if status_changed || self.events.len() == queued {
            let status = self.view.status.clone();
            self.events
                .push_back((ClientEvent::State(status), self.view.clone()));
        }
    }

    /// Progress of this tab's own publish `seq`, for the application (once per status).
    fn own_delivery(&mut self, seq: u64, status: DeliveryStatus) {
        if self.outbox.settle(seq, &status) {
            self.events.push_back((
                ClientEvent::Delivery {
                    id: PublishId(seq),
                    status,
                },
                self.view.clone(),
            ));
        }
    }
}

impl Tab {
    pub(crate) fn new(config: DriverConfig, subscriber: Subscriber) -> Result<Self, BrowserError> {
        let window = web_sys::window().ok_or(BrowserError::NoWindow)?;
        let token = absolute_url(&config.token_url).unwrap_or_else(|| config.token_url.clone());
        let name = group_name(&token, &config.supervisor.broker_url);
        let queue_limit = config.supervisor.session.queue_limit;
        let initial = Rc::new(Snapshot {
            status: Status {
                state: ConnectionState::Connecting,
                reason: None,
            },
            subscriptions: Default::default(),
            user_id: None,
        });
        let state = State {
            me: random_seed(&window),
            name,
            config,
            glue: None,
            clock: Clock::new(&window),
            filters: Filters::default(),
            outbox: Outbox::new(queue_limit),
            leader: None,
            client_id: None,
            engine: None,
            book: LeaderBook::default(),
            stash: Vec::new(),
            last: initial.clone(),
            view: initial,
            subscriber,
            events: VecDeque::new(),
            delivering: false,
            stopped: false,
            heard_others: false,
            marks: VecDeque::new(),
            relay: Vec::new(),
            relay_count: 0,
            mark_due: false,
            early_batch: false,
            next_mark: 0,
        };
        let tab = Tab {
            shared: Rc::new(RefCell::new(state)),
        };
        join(&tab.shared);
        Ok(tab)
    }

    /// Changes this tab's filters with `change`; the leader then subscribes the new union.
    pub(crate) fn change_filters(
        &self,
        change: impl FnOnce(&mut Filters) -> Result<(), CommandError>,
    ) -> Result<(), CommandError> {
        let engine = {
            let mut state = self.shared.borrow_mut();
            change(&mut state.filters)?;
            state.refresh_view();
            let me = state.me;
            let filters = state.filters.list().to_vec();
            if state.leading() {
                state.book.join(me, &filters);
                state.engine.clone()
            } else {
                let join = state.join_message();
                state.post(&join);
                None
            }
        };
        if let Some(engine) = engine {
            redeclare(&self.shared, &engine);
        }
        deliver(&self.shared);
        Ok(())
    }

    pub(crate) fn publish(&self, message: OutgoingPublish) -> Result<PublishId, CommandError> {
        let (seq, leading) = {
            let mut state = self.shared.borrow_mut();
            let seq = state.outbox.add(&message)?;
            let me = state.me;
            if !state.leading() && state.leader.is_some() {
                state.post(&Wire::Publish {
                    tab: me,
                    seq,
                    message: message.clone(),
                });
            }
            (seq, state.leading())
        };
        if leading {
            let me = self.shared.borrow().me;
            if let Err(error) = leader_publish(&self.shared, me, seq, message) {
                self.shared.borrow_mut().outbox.settle(
                    seq,
                    &DeliveryStatus::Dropped(DropReason::NotAccepted(String::new())),
                );
                return Err(error);
            }
        }
        deliver(&self.shared);
        Ok(PublishId(seq))
    }

    pub(crate) fn retry_now(&self) {
        let engine = {
            let mut state = self.shared.borrow_mut();
            if state.engine.is_none() {
                state.post(&Wire::Retry);
            }
            state.engine.clone()
        };
        if let Some(engine) = engine {
            engine.retry_now();
        }
    }

    pub(crate) fn stop(&self) {
        leave(&self.shared);
        let mut state = self.shared.borrow_mut();
        let stopped = Rc::new(Snapshot {
            status: Status {
                state: ConnectionState::Closed,
                reason: Some(mqtt_lifecycle::Reason::Stopped),
            },
            subscriptions: Default::default(),
            user_id: None,
        });
        state.take_view(&stopped);
        drop(state);
        deliver(&self.shared);
    }

    pub(crate) fn start(&self) {
        if self.shared.borrow().stopped {
            join(&self.shared);
        }
    }

    pub(crate) fn snapshot(&self) -> Rc<Snapshot> {
        self.shared.borrow().view.clone()
    }

    pub(crate) fn now(&self) -> Instant {
        self.shared.borrow().now()
    }

    pub(crate) fn open_links(&self) -> usize {
        let engine = self.shared.borrow().engine.clone();
        engine.map_or(0, |e| e.open_links())
    }

    pub(crate) fn is_leader(&self) -> bool {
        self.shared.borrow().leading()
    }
}

impl Drop for Tab {
    fn drop(&mut self) {
        leave(&self.shared);
        self.shared.borrow_mut().events.clear();
    }
}

/// Opens the channel, asks for the lock and says hello (a leader answers with who it is).
fn join(shared: &Rc<RefCell<State>>) {
    let weak = Rc::downgrade(shared);
    let on_message = {
        let weak = weak.clone();
        move |bytes: Vec<u8>| on_message(&weak, &bytes)
    };
    let on_mark = {
        let weak = weak.clone();
        move |bytes: Vec<u8>| mark_heard(&weak, &bytes)
    };
    let on_leader = move || become_leader(&weak);
    let mut state = shared.borrow_mut();
    let leave = Wire::Leave { tab: state.me }.encode(state.now());
    let glue = glue::Glue::open(&state.name, &leave, on_message, on_leader, on_mark);
    state.glue = Some(glue);
    state.stopped = false;
    state.leader = None;
    // `heard_others` is not reset: a tab that joins again (after a stop) keeps posting if other
    // tabs were ever heard, so followers that stay silent until a leader announces itself still
    // get every message if this tab takes the lead first.
    let hello = state.join_message();
    state.post(&hello);
    let handle = state.glue.as_ref().map(glue::Glue::handle);
    drop(state);
    // The loader's lock request, granted while the wasm loaded: lead at once, so the engine
    // (and its token read) starts in this task rather than after the app's first render.
    if let Some(handle) = handle {
        glue::lead_if_granted(&handle);
    }
}

/// Leaves the group: a follower says so (its filters stop counting); a leader hands over, its
/// engine dropped without ending the session when other tabs are there to take it, gracefully
/// otherwise. Closing the channel and releasing the lock lets a waiting tab lead.
fn leave(shared: &Rc<RefCell<State>>) {
    let (engine, others, glue) = {
        let mut state = shared.borrow_mut();
        if state.stopped {
            return;
        }
        state.stopped = true;
        let me = state.me;
        let others = state.book.others(me) > 0;
        if state.engine.is_none() {
            state.post(&Wire::Leave { tab: me });
        }
        // What this task relayed still reaches the other tabs (its acknowledgements go only
        // with a graceful end; abandoned, the broker redelivers).
        state.post_batch(false);
        let engine = state.engine.take();
        state.marks.clear();
        state.mark_due = false;
        state.early_batch = false;
        state.leader = None;
        state.book = LeaderBook::default();
        (engine, others, state.glue.take())
    };
    // The socket first (a clone held by a call under way goes when that call ends), then the
    // channel and the lock (or the request for it): the next leader finds the link closed.
    if let Some(engine) = engine {
        if others {
            engine.abandon();
        }
        drop(engine);
    }
    drop(glue);
}

/// Subscribes the union of the tabs' filters on the leader's engine.
fn redeclare(shared: &Rc<RefCell<State>>, engine: &Engine) {
    let union = shared.borrow().book.union();
    // Every filter was checked by the tab that asked for it.
    let _ = engine.declare_filters(&union);
}

/// Publishes tab `tab`'s number `seq` through this leader's engine (not twice while in flight).
fn leader_publish(
    shared: &Rc<RefCell<State>>,
    tab: u64,
    seq: u64,
    message: OutgoingPublish,
) -> Result<(), CommandError> {
    let engine = {
        let mut state = shared.borrow_mut();
        if !state.book.start_publish(tab, seq) {
            return Ok(());
        }
        match state.engine.clone() {
            Some(engine) => engine,
            None => return Ok(()),
        }
    };
    let qos = message.qos;
    let result = engine.publish(message);
    let mut state = shared.borrow_mut();
    let stash = std::mem::take(&mut state.stash);
    match result {
        Ok(id) => {
            state.book.published(id, tab, seq, qos);
            for (stashed, status) in stash {
                if stashed == id {
                    route_delivery(&mut state, id, status);
                }
            }
            Ok(())
        }
        Err(error) => {
            state.book.not_published(tab, seq);
            if tab != state.me {
                let status = DeliveryStatus::Dropped(DropReason::NotAccepted(error.to_string()));
                state.post(&Wire::Delivery { tab, seq, status });
            }
            Err(error)
        }
    }
}

/// A delivery status from the engine, to the tab whose publish it is.
fn route_delivery(state: &mut State, id: PublishId, status: DeliveryStatus) {
    match state.book.delivery(id, &status) {
        Some((tab, seq)) if tab == state.me => state.own_delivery(seq, status),
        Some((tab, seq)) => state.post(&Wire::Delivery { tab, seq, status }),
        None => state.stash.push((id, status)),
    }
}

/// The lock is ours: start the engine with the group's client id (resuming the session when a
/// leader ran it before), announce, take every tab's filters and resend our own publishes.
fn become_leader(weak: &Weak<RefCell<State>>) {
    let Some(shared) = weak.upgrade() else {
        return;
    };
    let config = {
        let mut state = shared.borrow_mut();
        if state.stopped || state.engine.is_some() {
            return;
        }
        let mut config = state.config.clone();
        let resume = state.client_id.is_some();
        let client_id = state
            .client_id
            .clone()
            .unwrap_or_else(|| random_client_id(&config.client_id_prefix));
        state.client_id = Some(client_id.clone());
        config.supervisor.session.client_id = client_id;
        config.supervisor.session.resume = resume;
        config
    };
    let subscriber: Subscriber = {
        let weak = weak.clone();
        Rc::new(move |event: ClientEvent, snapshot: Rc<Snapshot>| {
            on_engine_event(&weak, event, &snapshot);
        })
    };
    let engine = match Engine::new(config, subscriber) {
        Ok(engine) => Rc::new(engine),
        // Without a window nothing runs at all; stay a follower.
        Err(_) => return,
    };
    let pending: Vec<(u64, OutgoingPublish)> = {
        let mut state = shared.borrow_mut();
        let me = state.me;
        state.engine = Some(engine.clone());
        state.leader = Some(me);
        let filters = state.filters.list().to_vec();
        state.book.join(me, &filters);
        let client_id = state.client_id.clone().unwrap_or_default();
        state.post(&Wire::Leader { tab: me, client_id });
        let snapshot = engine.snapshot();
        state.post(&Wire::State((*snapshot).clone()));
        state.take_view(&snapshot);
        state
            .outbox
            .pending()
            .map(|(seq, m)| (seq, m.clone()))
            .collect()
    };
    redeclare(&shared, &engine);
    let me = shared.borrow().me;
    for (seq, message) in pending {
        if let Err(error) = leader_publish(&shared, me, seq, message) {
            let status = DeliveryStatus::Dropped(DropReason::NotAccepted(error.to_string()));
            shared.borrow_mut().own_delivery(seq, status);
        }
    }
    deliver(&shared);
}

/// An event of the leader's engine: to this tab's application and to the other tabs.
fn on_engine_event(weak: &Weak<RefCell<State>>, event: ClientEvent, snapshot: &Rc<Snapshot>) {
    let Some(shared) = weak.upgrade() else {
        return;
    };
    {
        let mut state = shared.borrow_mut();
        match event {
            ClientEvent::Message(message) => {
                let wire = Wire::Message(message);
                if state.heard_others {
                    relay(&mut state, weak, &wire);
                }
                state.keep(wire);
            }
            ClientEvent::Delivery { id, status } => route_delivery(&mut state, id, status),
            ClientEvent::MessageDropped(dropped) => {
                let wire = Wire::Dropped(dropped);
                if state.heard_others {
                    relay(&mut state, weak, &wire);
                }
                state.keep(wire);
            }
            _ => {
                state.post(&Wire::State((**snapshot).clone()));
                state.take_view(snapshot);
            }
        }
    }
    deliver(&shared);
}

/// The leader relays a message it received: gathered into this task's batch, posted once (a
/// socket message may carry many), and acknowledged to the broker only once the channel has
/// carried the batch. A page that closes or crashes can lose what it posted on the channel while
/// its socket still sends (e2e/tabs.test.mjs saw messages acknowledged to the broker and never
/// shown in any tab), so the engine's sends are held from the first message of a batch, and when
/// the tab's own second listener hears the batch, every tab was handed it and everything posted
/// before it: the sends queued by then go ([`mark_heard`]). A leader that dies first never
/// acknowledged those messages, so the broker gives them to the next leader.
fn relay(state: &mut State, weak: &Weak<RefCell<State>>, wire: &Wire) {
    let Some(engine) = &state.engine else {
        return;
    };
    engine.hold_sends();
    let now = state.now();
    wire.append_to(&mut state.relay, now);
    state.relay_count += 1;
    if state.mark_due {
        return;
    }
    state.mark_due = true;
    let weak = weak.clone();
    // After every message of this task (unless something else is posted first, which posts
    // the batch before it).
    wasm_bindgen_futures::spawn_local(async move {
        let Some(shared) = weak.upgrade() else {
            return;
        };
        // Microtasks run with nothing on the stack: the state is not borrowed.
        let mut state = shared.borrow_mut();
        batch_due(&mut state);
    });
}

/// The end of a task that relayed: its last messages go as a batch that holds the position of
/// every send queued so far; or, if a batch was posted early and nothing came after it, that
/// batch takes the position.
fn batch_due(state: &mut State) {
    state.mark_due = false;
    if state.relay_count > 0 {
        state.post_batch(false);
    } else if state.early_batch {
        let position = state.engine.as_ref().map(|engine| engine.send_mark());
        if let (Some(position), Some(last)) = (position, state.marks.back_mut()) {
            last.1 = position;
        }
    }
    state.early_batch = false;
}

/// The channel carried this leader's batch `n`: what was queued to send when it was posted goes
/// now, and the hold ends when no batch is left to hear and none is being gathered.
fn mark_heard(weak: &Weak<RefCell<State>>, bytes: &[u8]) {
    let Some(shared) = weak.upgrade() else {
        return;
    };
    let Some((tab, n)) = Wire::batch_header(bytes) else {
        return;
    };
    let (engine, mark, all) = {
        let mut state = shared.borrow_mut();
        let Some(engine) = state.engine.clone().filter(|_| tab == state.me) else {
            return;
        };
        let mut heard = None;
        while state.marks.front().is_some_and(|(m, _)| *m <= n) {
            heard = state.marks.pop_front();
        }
        let Some((_, mark)) = heard else {
            return;
        };
        let all = state.marks.is_empty() && state.relay_count == 0;
        (engine, mark, all)
    };
    engine.release_sends(&mark, all);
}

/// A message from another tab.
fn on_message(weak: &Weak<RefCell<State>>, bytes: &[u8]) {
    let Some(shared) = weak.upgrade() else {
        return;
    };
    let now = shared.borrow().now();
    let Ok(wire) = Wire::decode(bytes, now) else {
        return; // not ours to read: ignored whole
    };
    // Another tab reads the channel from now on (a newcomer says hello when it opens it).
    shared.borrow_mut().heard_others = true;
    let leading = shared.borrow().leading();
    match wire {
        Wire::Join { .. } | Wire::Publish { .. } | Wire::Leave { .. } | Wire::Retry => {
            if leading {
                on_command(&shared, wire);
            }
        }
        // Also once this tab leads: what the old leader posted just before it went (a message
        // it received, a delivery report) may be read only after the lock changed hands.
        _ => on_event(&shared, wire, leading),
    }
    deliver(&shared);
}

/// The leader hears a follower.
fn on_command(shared: &Rc<RefCell<State>>, wire: Wire) {
    let engine = shared.borrow().engine.clone();
    let Some(engine) = engine else {
        return;
    };
    match wire {
        Wire::Join { tab, filters } => {
            let changed = {
                let mut state = shared.borrow_mut();
                if !state.book.knows(tab) {
                    // A newcomer: tell it who leads and how things stand.
                    let (me, client_id) = (state.me, state.client_id.clone().unwrap_or_default());
                    state.post(&Wire::Leader { tab: me, client_id });
                    state.post(&Wire::State((*engine.snapshot()).clone()));
                }
                state.book.join(tab, &filters)
            };
            if changed {
                redeclare(shared, &engine);
            }
        }
        Wire::Publish { tab, seq, message } => {
            // A refusal is reported to the tab by `leader_publish`.
            let _ = leader_publish(shared, tab, seq, message);
        }
        Wire::Leave { tab } => {
            let changed = shared.borrow_mut().book.leave(tab);
            if changed {
                redeclare(shared, &engine);
            }
        }
        Wire::Retry => engine.retry_now(),
        // Only a leader says these; there is one (this tab holds the lock).
        Wire::Leader { .. }
        | Wire::State(_)
        | Wire::Message(_)
        | Wire::Delivery { .. }
        | Wire::Dropped(_)
        | Wire::Batch { .. } => {}
    }
}

/// A follower hears the leader (or a new leader the old one's last words).
fn on_event(shared: &Rc<RefCell<State>>, wire: Wire, leading: bool) {
    let mut state = shared.borrow_mut();
    match wire {
        // Stale once this tab leads: its own engine's state and client id count.
        Wire::Leader { .. } | Wire::State(_) if leading => {}
        Wire::Leader { tab, client_id } => {
            if !client_id.is_empty() {
                state.client_id = Some(client_id);
            }
            if state.leader != Some(tab) {
                // A new leader: join it and resend what it cannot know about.
                state.leader = Some(tab);
                let me = state.me;
                let join = state.join_message();
                state.post(&join);
                let pending: Vec<Wire> = state
                    .outbox
                    .pending()
                    .map(|(seq, message)| Wire::Publish {
                        tab: me,
                        seq,
                        message: message.clone(),
                    })
                    .collect();
                for wire in &pending {
                    state.post(wire);
                }
            }
        }
        Wire::State(snapshot) => state.take_view(&Rc::new(snapshot)),
        wire @ (Wire::Message(_) | Wire::Dropped(_)) => state.keep(wire),
        Wire::Batch { items, .. } => {
            for item in items {
                state.keep(item);
            }
        }
        Wire::Delivery { tab, seq, status } => {
            if tab == state.me {
                state.own_delivery(seq, status);
            }
        }
        // Commands are for the leader.
        Wire::Join { .. } | Wire::Publish { .. } | Wire::Leave { .. } | Wire::Retry => {}
    }
}

/// Hands queued events to the application one at a time, never while the state is borrowed
/// (the application may call the driver back); a nested call leaves them to the outer loop.
fn deliver(shared: &Rc<RefCell<State>>) {
    let subscriber = {
        let mut state = shared.borrow_mut();
        if state.delivering {
            return;
        }
        state.delivering = true;
        state.subscriber.clone()
    };
    loop {
        let next = shared.borrow_mut().events.pop_front();
        match next {
            Some((event, snapshot)) => subscriber(event, snapshot),
            None => break,
        }
    }
    shared.borrow_mut().delivering = false;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_group_is_named_by_protocol_endpoint_and_broker() {
        assert_eq!(
            group_name("https://a.example/api/mqtt-token", "wss://b.example/mqtt"),
            "livechat-tabs/2|https://a.example/api/mqtt-token|wss://b.example/mqtt"
        );
        assert_ne!(
            group_name("https://a.example/t", ""),
            group_name("https://a.example/u", "")
        );
    }
}
