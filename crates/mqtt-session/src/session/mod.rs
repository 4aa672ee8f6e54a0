//! The session state machine: [`Session`], its state and outputs. Its inputs and commands live
//! beside the state they drive:
//!
//! - `link`: the link `Phase` (offline, connecting, connected, rotating), links
//!   opening and closing, bytes in, failing a link, `disconnect`;
//! - `connect`: CONNECT out, CONNACK in, what a fresh server session resets;
//! - `keep_alive`: the keep-alive and CONNACK deadlines (`handle_timeout`);
//! - `inbound`: packets from the server: dispatch, incoming PUBLISH and its QoS 1/2 answers,
//!   topic aliases, SUBACK/UNSUBACK;
//! - `outbound`: our publishes: `publish`, writing what the link can take (`pump`), PUBACK,
//!   PUBREC and PUBCOMP for them;
//! - `subscribe`: the subscription commands over the desired set (`crate::subscriptions`);
//! - `limits`: what a publish is checked against (server and own limits, the queue limit).

mod connect;
mod inbound;
mod keep_alive;
mod limits;
mod link;
mod outbound;
mod subscribe;

use std::collections::VecDeque;

use mqtt_codec::packet::{Packet, ProtocolVersion, Publish};
use mqtt_codec::{encode_client, EncodeError};

use crate::config::{LinkId, SessionConfig};
use crate::event::{DeliveryStatus, Event, LinkDownReason, PublishId, ServerLimits, Transmit};
use crate::ids::{IdSet, PacketIds};
use crate::in_flight::InFlightTable;
use crate::subscriptions::{SubscriptionStatus, Subscriptions};
use crate::time::Instant;

use self::link::Phase;

/// One logical MQTT session across successive links. See the [crate docs](crate) for the model
/// and the drive loop.
#[derive(Debug)]
pub struct Session {
    config: SessionConfig,
    /// Version of the next CONNECT.
    protocol: ProtocolVersion,
    /// `config.client_id`, or the identifier the server assigned.
    client_id: String,
    phase: Phase,
    /// A server-side session may exist for us (some CONNACK succeeded since the start or the
    /// last `disconnect`): a v5 CONNECT then asks to resume it (Clean Start 0).
    resume: bool,
    /// `disconnect` ended the previous session and no CONNACK came since: the next v5 CONNECT
    /// asks for a new session (Clean Start 1). Before the first CONNACK a persistent session
    /// (Session Expiry > 0) is asked for with Clean Start 0 instead: see `connect_packet`.
    ended: bool,
    /// The latest `now` seen; commands without a `now` argument use it.
    clock: Instant,
    ids: PacketIds,
    next_publish_id: u64,
    /// Publishes not yet written (offline, or over the server's Receive Maximum), in order.
    queue: VecDeque<Queued>,
    in_flight: InFlightTable,
    /// Incoming QoS 2 packet ids delivered and PUBREC'd, awaiting PUBREL.
    incoming_qos2: IdSet,
    subs: Subscriptions,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
    /// Incoming messages skipped for their size, over the session's lifetime.
    dropped_oversized: u64,
    /// Incoming PUBLISH packets on an active link, and those of them with DUP set (before any
    /// duplicate detection above the session), over the session's lifetime.
    received: PublishCounts,
}

/// How many PUBLISH packets the server sent on connected links over a session's lifetime
/// (oversized ones included), and how many of them carried the DUP flag: a redelivery of a
/// QoS 1/2 message the server had sent before without getting its acknowledgement. The
/// application's own duplicate detection sees them as ordinary messages; this counts them on
/// the wire, for tests and diagnostics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PublishCounts {
    /// Every incoming PUBLISH accepted on an active link.
    pub publishes: u64,
    /// Those with DUP set.
    pub dup: u64,
}

#[derive(Debug)]
struct Queued {
    id: PublishId,
    /// Packet id not yet assigned: it is taken only when the publish is written.
    publish: Publish,
}

impl Session {
    /// A session with no link yet. Commands may be issued right away; they are queued.
    #[must_use]
    pub fn new(config: SessionConfig) -> Self {
        Self {
            protocol: config.protocol,
            client_id: config.client_id.clone(),
            resume: config.resume,
            config,
            phase: Phase::Offline,
            ended: false,
            clock: Instant::default(),
            ids: PacketIds::default(),
            next_publish_id: 1,
            queue: VecDeque::new(),
            in_flight: InFlightTable::default(),
            incoming_qos2: IdSet::default(),
            subs: Subscriptions::default(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            dropped_oversized: 0,
            received: PublishCounts::default(),
        }
    }

    /// Next bytes to write. Consecutive packets for the same link are joined into one
    /// transmit. Write them before acting on events: a `LinkDown` may follow a DISCONNECT
    /// that still has to go out.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        let mut transmit = self.transmits.pop_front()?;
        while self
            .transmits
            .front()
            .is_some_and(|next| next.link == transmit.link)
        {
            if let Some(next) = self.transmits.pop_front() {
                transmit.bytes.extend_from_slice(&next.bytes);
            }
        }
        Some(transmit)
    }

    /// Next event for the application.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`Session::handle_timeout`] must be called next (`None`: no deadline).
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let connack = self
            .pending()
            .map(|p| p.deadline(self.config.connect_timeout));
        let keep_alive = self.active().and_then(|a| a.keep_alive.deadline());
        match (connack, keep_alive) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The link carrying the session (during a takeover: the old one, until the new CONNACK).
    #[must_use]
    pub fn active_link(&self) -> Option<LinkId> {
        self.active().map(|a| a.id)
    }

    /// The link awaiting its CONNACK (or, in a takeover, still holding its CONNECT), if any.
    #[must_use]
    pub fn connecting_link(&self) -> Option<LinkId> {
        self.pending().map(|p| p.id)
    }

    /// Whether a link is connected.
    #[must_use]
    pub fn is_connected(&self) -> bool {
        self.active().is_some()
    }

    /// The active link's server limits.
    #[must_use]
    pub fn server_limits(&self) -> Option<&ServerLimits> {
        self.active().map(|a| &a.limits)
    }

    /// Protocol version of the next CONNECT.
    #[must_use]
    pub fn protocol(&self) -> ProtocolVersion {
        self.protocol
    }

    /// Client identifier (the configured one, or the one the server assigned).
    #[must_use]
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// Publishes waiting to be written.
    #[must_use]
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// QoS 1/2 publishes written and not yet fully acknowledged.
    #[must_use]
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Incoming messages skipped because they were above our Maximum Packet Size (each also
    /// reported as [`Event::MessageDropped`]), over the session's lifetime.
    #[must_use]
    pub fn dropped_oversized(&self) -> u64 {
        self.dropped_oversized
    }

    /// Incoming PUBLISH packets (and those with DUP set) over the session's lifetime.
    #[must_use]
    pub fn received_publishes(&self) -> PublishCounts {
        self.received
    }

    /// Status of one desired filter (`None`: not in the desired set).
    #[must_use]
    pub fn subscription(&self, filter: &str) -> Option<SubscriptionStatus> {
        self.subs.status(filter)
    }

    /// Every desired filter with its status, sorted by filter.
    pub fn subscriptions(&self) -> impl Iterator<Item = (&str, SubscriptionStatus)> {
        self.subs.iter()
    }

    fn tick(&mut self, now: Instant) {
        self.clock = self.clock.max(now);
    }

    /// Encodes and queues a packet the session itself generates. Such packets cannot fail to
    /// encode given validated inputs; if one ever does, the link is failed rather than left
    /// silently out of step.
    fn write_control(&mut self, link: LinkId, packet: &Packet) {
        if let Err(error) = self.write(link, packet) {
            self.fail_link(link, LinkDownReason::Encode(error), None);
        }
    }

    /// Nothing is written on a link whose CONNECT is held (a DISCONNECT there would come
    /// before any CONNECT): the driver just closes it.
    fn write(&mut self, link: LinkId, packet: &Packet) -> Result<(), EncodeError> {
        let Some(protocol) = self.link_protocol(link) else {
            return Ok(());
        };
        if self.connect_held() && self.connecting_link() == Some(link) {
            return Ok(());
        }
        let bytes = encoded(packet, protocol)?;
        self.push_bytes(link, bytes);
        Ok(())
    }

    fn push_bytes(&mut self, link: LinkId, bytes: Vec<u8>) {
        let now = self.clock;
        if let Some(active) = self.active_mut().filter(|a| a.id == link) {
            active.keep_alive.sent(now);
        }
        self.transmits.push_back(Transmit { link, bytes });
    }

    fn delivery(&mut self, id: PublishId, status: DeliveryStatus) {
        self.events.push_back(Event::Delivery { id, status });
    }
}

fn encoded(packet: &Packet, protocol: ProtocolVersion) -> Result<Vec<u8>, EncodeError> {
    let mut bytes = Vec::new();
    encode_client(packet, protocol, &mut bytes)?;
    Ok(bytes)
}
