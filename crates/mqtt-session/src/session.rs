//! The session state machine.

use core::time::Duration;
use std::collections::{BTreeSet, HashMap, VecDeque};

use mqtt_codec::packet::{
    ConnAck, Connect, Disconnect, Packet, ProtocolVersion, Publish, QoS, QosHandshake, Subscribe,
    SubscribeFilter, Unsubscribe,
};
use mqtt_codec::reason::{ConnectReason, DisconnectReason, PubRelReason};
use mqtt_codec::{encode, DecodeError, EncodeError, Frame, Framer, OversizedPublish};

use crate::config::{ConnectCredentials, LinkId, SessionConfig};
use crate::event::{
    CommandError, DeliveryStatus, DropReason, DroppedMessage, Event, IncomingMessage,
    LinkDownReason, MessageProperties, OutgoingPublish, ProtocolError, PublishId, Refusal,
    RefusalReason, ServerLimits, Transmit,
};
use crate::ids::PacketIds;
use crate::outgoing::{InFlightTable, OutState};
use crate::subscriptions::{SubscriptionStatus, Subscriptions};
use crate::time::Instant;
use crate::topic::{check_filter, check_topic};

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
    /// The latest `now` seen; commands without a `now` argument use it.
    clock: Instant,
    ids: PacketIds,
    next_publish_id: u64,
    /// Publishes not yet written (offline, or over the server's Receive Maximum), in order.
    queue: VecDeque<Queued>,
    in_flight: InFlightTable,
    /// Incoming QoS 2 packet ids delivered and PUBREC'd, awaiting PUBREL.
    incoming_qos2: BTreeSet<u16>,
    subs: Subscriptions,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
    /// Incoming messages skipped for their size, over the session's lifetime.
    dropped_oversized: u64,
}

#[derive(Debug)]
struct Queued {
    id: PublishId,
    /// Packet id not yet assigned: it is taken only when the publish is written.
    publish: Publish,
}

/// Which links exist and what they are doing. At most one link carries the session; at most
/// one more is connecting (a reconnect, or a make-before-break takeover).
#[derive(Debug, Default)]
enum Phase {
    /// No link.
    #[default]
    Offline,
    /// One link, awaiting CONNACK.
    Connecting(PendingLink),
    /// One link carrying the session.
    Connected(ActiveLink),
    /// Takeover in progress: `active` still carries the session until `pending`'s CONNACK.
    Rotating {
        active: ActiveLink,
        pending: PendingLink,
    },
}

/// A link whose CONNECT is written and whose CONNACK is awaited.
#[derive(Debug)]
struct PendingLink {
    id: LinkId,
    protocol: ProtocolVersion,
    framer: Framer,
    /// When the link opened; CONNACK is due `connect_timeout` later.
    since: Instant,
}

/// A link that received a successful CONNACK.
#[derive(Debug)]
struct ActiveLink {
    id: LinkId,
    protocol: ProtocolVersion,
    framer: Framer,
    limits: ServerLimits,
    keep_alive: KeepAlive,
    /// Incoming topic aliases set by the server on this link (v5; they die with the link).
    aliases: HashMap<u16, String>,
}

#[derive(Debug, Clone, Copy)]
enum KeepAlive {
    Off,
    On {
        interval: Duration,
        last_sent: Instant,
        last_received: Instant,
        ping: Ping,
    },
}

#[derive(Debug, Clone, Copy)]
enum Ping {
    Idle,
    /// PINGREQ written; any packet received before `sent_at + interval / 2` proves the link alive.
    Awaiting {
        sent_at: Instant,
    },
}

impl KeepAlive {
    fn deadline(&self) -> Option<Instant> {
        match *self {
            KeepAlive::Off => None,
            KeepAlive::On {
                interval,
                ping: Ping::Awaiting { sent_at },
                ..
            } => Some(sent_at + interval / 2),
            // Ping when either direction has been quiet for the interval: quiet sending is what
            // the spec requires, quiet receiving catches a half-open link while we keep sending
            // QoS 0 messages into it.
            KeepAlive::On {
                interval,
                last_sent,
                last_received,
                ping: Ping::Idle,
            } => Some(last_sent.min(last_received) + interval),
        }
    }

    fn sent(&mut self, now: Instant) {
        if let KeepAlive::On { last_sent, .. } = self {
            *last_sent = (*last_sent).max(now);
        }
    }

    fn received(&mut self, now: Instant) {
        if let KeepAlive::On {
            last_received,
            ping,
            ..
        } = self
        {
            *last_received = (*last_received).max(now);
            *ping = Ping::Idle;
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Active,
    Pending,
}

/// The server limits a publish is checked against.
#[derive(Debug, Clone, Copy)]
struct PublishLimits {
    maximum_packet_size: Option<u32>,
    /// Our own Maximum Packet Size (`None`: no limit).
    own_maximum: Option<u32>,
    maximum_qos: QoS,
    retain_available: bool,
}

impl Session {
    /// A session with no link yet. Commands may be issued right away; they are queued.
    #[must_use]
    pub fn new(config: SessionConfig) -> Self {
        Self {
            protocol: config.protocol,
            client_id: config.client_id.clone(),
            config,
            phase: Phase::Offline,
            resume: false,
            clock: Instant::default(),
            ids: PacketIds::default(),
            next_publish_id: 1,
            queue: VecDeque::new(),
            in_flight: InFlightTable::default(),
            incoming_qos2: BTreeSet::new(),
            subs: Subscriptions::default(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            dropped_oversized: 0,
        }
    }

    // ----------------------------------------------------------------------------------------
    // Inputs
    // ----------------------------------------------------------------------------------------

    /// The transport `link` is open: CONNECT goes out on it.
    ///
    /// With no link this is a (re)connect. If another link is connected this is a
    /// make-before-break takeover: CONNECT asks to resume the session (Clean Start 0, Session
    /// Expiry ≥ 1), commands keep going out on the old link until the new CONNACK, then the
    /// session moves over and [`Event::LinkRetired`] names the old link. A link still awaiting
    /// its CONNACK is superseded by the new one (also `LinkRetired`). An id already in use is
    /// ignored.
    pub fn handle_link_opened(&mut self, now: Instant, link: LinkId, creds: ConnectCredentials) {
        self.tick(now);
        if self.role(link).is_some() {
            return;
        }
        let takeover = matches!(self.phase, Phase::Connected(_) | Phase::Rotating { .. });
        let connect = self.connect_packet(creds, takeover);
        let pending = PendingLink {
            id: link,
            protocol: self.protocol,
            framer: Framer::new(self.protocol, self.incoming_limit()).skip_oversized_publishes(),
            since: now,
        };
        let superseded = match std::mem::take(&mut self.phase) {
            Phase::Offline => {
                self.phase = Phase::Connecting(pending);
                None
            }
            Phase::Connecting(old) => {
                self.phase = Phase::Connecting(pending);
                Some(old.id)
            }
            Phase::Connected(active) => {
                self.phase = Phase::Rotating { active, pending };
                None
            }
            Phase::Rotating {
                active,
                pending: old,
            } => {
                self.phase = Phase::Rotating { active, pending };
                Some(old.id)
            }
        };
        if let Some(old) = superseded {
            self.events.push_back(Event::LinkRetired { link: old });
        }
        if let Err(error) = self.write(link, &Packet::Connect(Box::new(connect))) {
            self.fail_link(link, LinkDownReason::Encode(error), None);
        }
    }

    /// The driver saw `link` close. Its session state is kept for the next link; an
    /// [`Event::LinkDown`] with [`LinkDownReason::TransportClosed`] follows unless the session
    /// had already let go of the link.
    pub fn handle_link_closed(&mut self, now: Instant, link: LinkId) {
        self.tick(now);
        if self.remove_link(link) {
            self.events.push_back(Event::LinkDown {
                link,
                reason: LinkDownReason::TransportClosed,
            });
        }
        self.pump();
    }

    /// Bytes arrived on `link`, in any chunking. Bytes for a link the session no longer uses
    /// (retired, failed, closed) are ignored.
    pub fn handle_bytes(&mut self, now: Instant, link: LinkId, bytes: &[u8]) {
        self.tick(now);
        let Some(framer) = self.framer_mut(link) else {
            return;
        };
        framer.push(bytes);
        // The link may fail (or be retired) while its packets are handled: look it up again
        // for every packet and stop as soon as it is gone.
        while let Some(framer) = self.framer_mut(link) {
            match framer.next_frame() {
                None => break,
                Some(Ok(Frame::Packet(packet))) => self.on_packet(now, link, packet),
                Some(Ok(Frame::Oversized(skipped))) => self.on_oversized(now, link, skipped),
                Some(Err(error)) => {
                    let reason = match error {
                        DecodeError::PacketTooLarge { .. } => DisconnectReason::PacketTooLarge,
                        _ => DisconnectReason::MalformedPacket,
                    };
                    self.fail_link(link, LinkDownReason::Decode(error), Some(reason));
                    break;
                }
            }
        }
        self.pump();
    }

    /// Time passed: checks the CONNACK deadline, sends PINGREQ when due and declares a silent
    /// link dead. Call it when [`Session::poll_timeout`] is reached (calling it early is
    /// harmless).
    pub fn handle_timeout(&mut self, now: Instant) {
        self.tick(now);
        if let Some(pending) = self.pending() {
            if now >= pending.since + self.config.connect_timeout {
                let link = pending.id;
                self.fail_link(link, LinkDownReason::ConnectTimeout, None);
            }
        }
        if let Some(active) = self.active() {
            let (link, keep_alive) = (active.id, active.keep_alive);
            match keep_alive {
                KeepAlive::On {
                    interval,
                    ping: Ping::Awaiting { sent_at },
                    ..
                } if now >= sent_at + interval / 2 => {
                    // No DISCONNECT: nothing comes through this link any more.
                    self.fail_link(link, LinkDownReason::KeepAliveTimeout, None);
                }
                KeepAlive::On {
                    ping: Ping::Idle, ..
                } if keep_alive.deadline().is_some_and(|due| now >= due) => {
                    self.write_control(link, &Packet::PingReq);
                    if let Some(KeepAlive::On { ping, .. }) =
                        self.active_mut().map(|a| &mut a.keep_alive)
                    {
                        *ping = Ping::Awaiting { sent_at: now };
                    }
                }
                _ => {}
            }
        }
        self.pump();
    }

    // ----------------------------------------------------------------------------------------
    // Commands
    // ----------------------------------------------------------------------------------------

    /// Adds `filter` to the desired subscription set. It is sent now if a link is connected,
    /// otherwise on the next connection; re-sent after reconnects only when the server lost
    /// the session. Subscribing again with the same options while granted or in flight is a
    /// no-op; new options (or a refused filter) subscribe again. The result comes as
    /// [`Event::Subscription`].
    ///
    /// # Errors
    /// [`CommandError::InvalidFilter`], or [`CommandError::QueueFull`] when the change would
    /// have to wait and the queue is full.
    pub fn subscribe(&mut self, filter: SubscribeFilter) -> Result<(), CommandError> {
        check_filter(&filter.filter)?;
        if self.subs.subscribe_adds_op(&filter) {
            self.check_queue_room()?;
        }
        if self.subs.subscribe(filter) {
            self.pump();
        }
        Ok(())
    }

    /// Makes `filters` the whole desired subscription set: subscribes the filters not desired
    /// yet (or desired with other options) and unsubscribes the desired filters not listed. A
    /// filter already desired with the same options is left as it is, whatever its status (a
    /// refused one is not asked for again). Declaring the same set twice does nothing.
    ///
    /// # Errors
    /// [`CommandError::InvalidFilter`] before anything changes, or
    /// [`CommandError::QueueFull`] at the first change that finds the queue full.
    pub fn declare_subscriptions(
        &mut self,
        filters: &[SubscribeFilter],
    ) -> Result<(), CommandError> {
        for filter in filters {
            check_filter(&filter.filter)?;
        }
        let unlisted: Vec<String> = self
            .subs
            .filters()
            .filter(|desired| filters.iter().all(|f| f.filter != *desired))
            .map(str::to_owned)
            .collect();
        // Recorded first and written by one pump, so a connected session sends the changes as
        // one UNSUBSCRIBE and one SUBSCRIBE.
        let result = self.record_declared(&unlisted, filters);
        self.pump();
        result
    }

    fn record_declared(
        &mut self,
        unlisted: &[String],
        filters: &[SubscribeFilter],
    ) -> Result<(), CommandError> {
        for filter in unlisted {
            if self.subs.unsubscribe_adds_op(filter) {
                self.check_queue_room()?;
            }
            self.subs.unsubscribe(filter);
        }
        for filter in filters {
            if !self.subs.is_desired_as(filter) {
                if self.subs.subscribe_adds_op(filter) {
                    self.check_queue_room()?;
                }
                self.subs.subscribe(filter.clone());
            }
        }
        Ok(())
    }

    /// Removes `filter` from the desired set and unsubscribes it (now or once connected). The
    /// result comes as [`Event::Unsubscribed`].
    ///
    /// # Errors
    /// [`CommandError::InvalidFilter`], or [`CommandError::QueueFull`].
    pub fn unsubscribe(&mut self, filter: &str) -> Result<(), CommandError> {
        check_filter(filter)?;
        if self.subs.unsubscribe_adds_op(filter) {
            self.check_queue_room()?;
        }
        self.subs.unsubscribe(filter);
        self.pump();
        Ok(())
    }

    /// Publishes `msg`: written now if a link is connected and the server's Receive Maximum
    /// allows, otherwise queued in order. Progress comes as [`Event::Delivery`] with the
    /// returned id: `Sent`, then for QoS 1/2 `Acknowledged` or `Refused`; or `Dropped`.
    ///
    /// # Errors
    /// [`CommandError::InvalidTopic`]; while connected, [`CommandError::PacketTooLarge`],
    /// [`CommandError::QosNotSupported`] or [`CommandError::RetainNotSupported`] against the
    /// server's limits (nothing is sent); [`CommandError::QueueFull`] when it would wait and
    /// the queue is full.
    pub fn publish(
        &mut self,
        now: Instant,
        msg: OutgoingPublish,
    ) -> Result<PublishId, CommandError> {
        self.tick(now);
        check_topic(&msg.topic)?;
        let OutgoingPublish {
            topic,
            payload,
            qos,
            retain,
            properties,
        } = msg;
        let mut publish = Publish {
            dup: false,
            qos,
            retain,
            topic,
            packet_id: None,
            payload,
            payload_format_utf8: properties.payload_format_utf8,
            message_expiry_interval: properties.message_expiry_interval,
            topic_alias: None,
            response_topic: properties.response_topic,
            correlation_data: properties.correlation_data,
            subscription_identifiers: Vec::new(),
            content_type: properties.content_type,
            user_properties: properties.user_properties,
        };
        // Checked against our own limit and the connected server's before anything is
        // queued; a publish queued offline is checked against the server when it is written
        // (and dropped with the reason).
        let own_maximum = self.own_maximum();
        let (limits, protocol) = match self.active() {
            Some(active) => (publish_limits(&active.limits, own_maximum), active.protocol),
            None => (
                PublishLimits {
                    maximum_packet_size: None,
                    own_maximum,
                    maximum_qos: QoS::ExactlyOnce,
                    retain_available: true,
                },
                self.protocol,
            ),
        };
        if qos != QoS::AtMostOnce {
            publish.packet_id = Some(1); // any id: only the size matters here
        }
        let checked = check_publish(&publish, protocol, limits);
        publish.packet_id = None;
        checked.map_err(CommandError::from)?;
        self.check_queue_room()?;
        let id = PublishId(self.next_publish_id);
        self.next_publish_id += 1;
        self.queue.push_back(Queued { id, publish });
        self.pump();
        Ok(id)
    }

    /// Ends the session cleanly: DISCONNECT (normal; v5 with Session Expiry 0 so the server
    /// drops the session) on every link, then [`Event::LinkDown`] with
    /// [`LinkDownReason::ClientDisconnect`] for each. Queued and in-flight publishes are
    /// reported `Dropped(SessionEnded)`. The desired subscriptions are kept: a later
    /// [`Session::handle_link_opened`] starts a new session and subscribes them again.
    pub fn disconnect(&mut self, now: Instant) {
        self.tick(now);
        let links: Vec<(LinkId, ProtocolVersion)> = match &self.phase {
            Phase::Offline => Vec::new(),
            Phase::Connecting(p) => vec![(p.id, p.protocol)],
            Phase::Connected(a) => vec![(a.id, a.protocol)],
            Phase::Rotating { active, pending } => {
                vec![(active.id, active.protocol), (pending.id, pending.protocol)]
            }
        };
        for (link, protocol) in links {
            let disconnect = Disconnect {
                reason: DisconnectReason::NormalDisconnection.code(),
                session_expiry_interval: (protocol == ProtocolVersion::V5).then_some(0),
                ..Disconnect::default()
            };
            self.write_control(link, &Packet::Disconnect(disconnect));
            if self.remove_link(link) {
                self.events.push_back(Event::LinkDown {
                    link,
                    reason: LinkDownReason::ClientDisconnect,
                });
            }
        }
        for queued in std::mem::take(&mut self.queue) {
            self.delivery(queued.id, DeliveryStatus::Dropped(DropReason::SessionEnded));
        }
        for entry in self.in_flight.drain() {
            self.delivery(entry.id, DeliveryStatus::Dropped(DropReason::SessionEnded));
        }
        self.ids.clear();
        self.incoming_qos2.clear();
        self.subs.session_ended();
        self.resume = false;
    }

    /// Sets the protocol version of the next CONNECT (e.g. fall back to 3.1.1 after
    /// [`ConnectReason::UnsupportedProtocolVersion`]). Links already open keep theirs.
    pub fn set_protocol(&mut self, version: ProtocolVersion) {
        self.protocol = version;
    }

    // ----------------------------------------------------------------------------------------
    // Outputs
    // ----------------------------------------------------------------------------------------

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
            .map(|p| p.since + self.config.connect_timeout);
        let keep_alive = self.active().and_then(|a| a.keep_alive.deadline());
        match (connack, keep_alive) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    // ----------------------------------------------------------------------------------------
    // Getters
    // ----------------------------------------------------------------------------------------

    /// The link carrying the session (during a takeover: the old one, until the new CONNACK).
    #[must_use]
    pub fn active_link(&self) -> Option<LinkId> {
        self.active().map(|a| a.id)
    }

    /// The link awaiting its CONNACK, if any.
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

    /// Status of one desired filter (`None`: not in the desired set).
    #[must_use]
    pub fn subscription(&self, filter: &str) -> Option<SubscriptionStatus> {
        self.subs.status(filter)
    }

    /// Every desired filter with its status, sorted by filter.
    pub fn subscriptions(&self) -> impl Iterator<Item = (&str, SubscriptionStatus)> {
        self.subs.iter()
    }

    // ----------------------------------------------------------------------------------------
    // Packets
    // ----------------------------------------------------------------------------------------

    fn on_packet(&mut self, now: Instant, link: LinkId, packet: Packet) {
        match self.role(link) {
            Some(Role::Pending) => match packet {
                Packet::ConnAck(ack) => self.on_connack(now, link, *ack),
                Packet::Disconnect(d) => self.on_server_disconnect(link, d),
                Packet::Auth(_) => self.protocol_error(link, ProtocolError::UnexpectedAuth),
                other => {
                    let packet = packet_name(&other);
                    self.protocol_error(link, ProtocolError::BeforeConnAck { packet });
                }
            },
            Some(Role::Active) => {
                if let Some(active) = self.active_mut() {
                    active.keep_alive.received(now);
                }
                self.on_active_packet(link, packet);
            }
            None => {}
        }
    }

    fn on_active_packet(&mut self, link: LinkId, packet: Packet) {
        let protocol = self.active().map_or(self.protocol, |a| a.protocol);
        match packet {
            Packet::ConnAck(_) => self.protocol_error(link, ProtocolError::DuplicateConnAck),
            Packet::Publish(publish) => self.on_publish(link, *publish),
            Packet::PubAck(ack) => self.on_puback(protocol, &ack),
            Packet::PubRec(ack) => self.on_pubrec(link, protocol, &ack),
            Packet::PubRel(ack) => self.on_pubrel(link, protocol, &ack),
            Packet::PubComp(ack) => self.on_pubcomp(&ack),
            Packet::SubAck(ack) => {
                let result = self.subs.on_suback(
                    protocol,
                    ack.packet_id,
                    &ack.codes,
                    ack.reason_string.as_ref(),
                );
                self.on_sub_result(link, ack.packet_id, result);
            }
            Packet::UnsubAck(ack) => {
                let result = self.subs.on_unsuback(
                    protocol,
                    ack.packet_id,
                    &ack.codes,
                    ack.reason_string.as_ref(),
                );
                self.on_sub_result(link, ack.packet_id, result);
            }
            // The keep-alive state was already refreshed by the arrival itself.
            Packet::PingResp => {}
            Packet::Disconnect(d) => self.on_server_disconnect(link, d),
            // We never send an Authentication Method, so the server must never send AUTH.
            Packet::Auth(_) => self.protocol_error(link, ProtocolError::UnexpectedAuth),
            other @ (Packet::Connect(_)
            | Packet::Subscribe(_)
            | Packet::Unsubscribe(_)
            | Packet::PingReq) => {
                let packet = packet_name(&other);
                self.protocol_error(link, ProtocolError::ClientOnlyPacket { packet });
            }
        }
    }

    fn on_connack(&mut self, now: Instant, link: LinkId, ack: ConnAck) {
        let Some(pending) = self.pending() else {
            return;
        };
        let (protocol, since) = (pending.protocol, pending.since);
        let reason = ack.reason(protocol);
        if reason != ConnectReason::Success {
            self.remove_link(link);
            self.events.push_back(Event::ConnectRefused {
                link,
                reason,
                reason_string: ack.reason_string,
            });
            return;
        }
        let keep_alive = match ack.server_keep_alive {
            Some(seconds) => Duration::from_secs(u64::from(seconds)),
            None => Duration::from_secs(u64::from(self.keep_alive_secs())),
        };
        let limits = ServerLimits {
            receive_maximum: ack.receive_maximum.filter(|&n| n > 0).unwrap_or(u16::MAX),
            maximum_packet_size: ack.maximum_packet_size.filter(|&n| n > 0),
            maximum_qos: ack.maximum_qos.unwrap_or(QoS::ExactlyOnce),
            retain_available: ack.retain_available.unwrap_or(true),
            topic_alias_maximum: ack.topic_alias_maximum.unwrap_or(0),
            keep_alive,
            session_expiry_interval: ack.session_expiry_interval,
            assigned_client_identifier: ack.assigned_client_identifier.clone(),
            wildcard_subscription_available: ack.wildcard_subscription_available.unwrap_or(true),
            subscription_identifiers_available: ack
                .subscription_identifiers_available
                .unwrap_or(true),
            shared_subscription_available: ack.shared_subscription_available.unwrap_or(true),
            response_information: ack.response_information.clone(),
            server_reference: ack.server_reference.clone(),
        };
        if let Some(assigned) = ack.assigned_client_identifier {
            self.client_id = assigned;
        }
        let keep_alive = if keep_alive.is_zero() {
            KeepAlive::Off
        } else {
            // The interval runs from our last packet: the CONNECT, written when the link opened.
            KeepAlive::On {
                interval: keep_alive,
                last_sent: since,
                last_received: now,
                ping: Ping::Idle,
            }
        };
        let activate = |p: PendingLink| ActiveLink {
            id: p.id,
            protocol: p.protocol,
            framer: p.framer,
            limits: limits.clone(),
            keep_alive,
            aliases: HashMap::new(),
        };
        let retired = match std::mem::take(&mut self.phase) {
            Phase::Connecting(pending) => {
                self.phase = Phase::Connected(activate(pending));
                None
            }
            Phase::Rotating { active, pending } => {
                self.phase = Phase::Connected(activate(pending));
                Some(active.id)
            }
            other => {
                self.phase = other;
                return;
            }
        };
        self.resume = true;
        self.events.push_back(Event::Connected {
            link,
            session_present: ack.session_present,
            limits,
        });
        if let Some(old) = retired {
            // Requests in flight on the old link go back to waiting; publishes in flight there
            // are rewritten on the new link by `pump` (as DUP when the session was resumed).
            self.release_sub_requests();
            self.events.push_back(Event::LinkRetired { link: old });
        }
        if !ack.session_present {
            self.fresh_session();
        }
        // Resends and subscriptions go out before any later packet of the same chunk is
        // handled, as if CONNACK had arrived alone.
        self.pump();
    }

    /// The server has no session for us: it holds none of our subscriptions and none of our
    /// packet ids.
    fn fresh_session(&mut self) {
        self.incoming_qos2.clear();
        let events = self.subs.fresh_session();
        self.events.extend(events);
        for packet_id in self.in_flight.ordered_ids() {
            let Some(entry) = self.in_flight.get_mut(packet_id) else {
                continue;
            };
            if entry.state == OutState::Released {
                // PUBREC (success) meant the server had taken ownership of the message; it was
                // delivered, and resending it would duplicate it. The PUBREL handshake cannot
                // be finished on a session that no longer exists.
                if let Some(done) = self.in_flight.remove(packet_id) {
                    self.ids.release(packet_id);
                    self.delivery(done.id, DeliveryStatus::Acknowledged);
                }
            } else {
                // Never acknowledged: written again as a new PUBLISH (DUP clear), same id.
                entry.written_on = None;
            }
        }
    }

    fn on_publish(&mut self, link: LinkId, publish: Publish) {
        let maximum = self.config.topic_alias_maximum;
        let Some(active) = self.active_mut() else {
            return;
        };
        let protocol = active.protocol;
        let Publish {
            dup,
            qos,
            retain,
            topic,
            packet_id,
            payload,
            payload_format_utf8,
            message_expiry_interval,
            topic_alias,
            response_topic,
            correlation_data,
            subscription_identifiers,
            content_type,
            user_properties,
        } = publish;
        let topic = match resolve_topic(&mut active.aliases, maximum, topic, topic_alias) {
            Ok(topic) => topic,
            Err(error) => return self.protocol_error(link, error),
        };
        let message = IncomingMessage {
            topic,
            payload,
            qos,
            retain,
            dup,
            properties: MessageProperties {
                payload_format_utf8,
                message_expiry_interval,
                content_type,
                response_topic,
                correlation_data,
                user_properties,
                subscription_identifiers,
            },
        };
        self.deliver_incoming(link, protocol, qos, packet_id, Event::Message(message));
    }

    /// Reports an incoming publish (`event`: the message, or its being dropped) and
    /// acknowledges it by its QoS.
    fn deliver_incoming(
        &mut self,
        link: LinkId,
        protocol: ProtocolVersion,
        qos: QoS,
        packet_id: Option<u16>,
        event: Event,
    ) {
        match (qos, packet_id) {
            (QoS::AtMostOnce, _) => self.events.push_back(event),
            (QoS::AtLeastOnce, Some(packet_id)) => {
                self.events.push_back(event);
                self.write_control(link, &Packet::PubAck(handshake_ok(packet_id)));
            }
            (QoS::ExactlyOnce, Some(packet_id)) => {
                // Delivered on first sight; a resend (same id before PUBREL) is only re-acked.
                if !self.incoming_qos2.contains(&packet_id) {
                    let limit = effective_receive_maximum(self.config.receive_maximum);
                    if protocol == ProtocolVersion::V5
                        && self.incoming_qos2.len() >= usize::from(limit)
                    {
                        let error = ProtocolError::ReceiveMaximumExceeded { maximum: limit };
                        return self.protocol_error(link, error);
                    }
                    self.incoming_qos2.insert(packet_id);
                    self.events.push_back(event);
                }
                self.write_control(link, &Packet::PubRec(handshake_ok(packet_id)));
            }
            // The codec only yields QoS > 0 with a packet id; deliver rather than panic.
            (_, None) => self.events.push_back(event),
        }
    }

    /// A PUBLISH above our Maximum Packet Size was skipped by the framer: acknowledge it as if
    /// delivered (so the server does not redeliver it on every reconnect) and report it. Before
    /// CONNACK it is a protocol error like any PUBLISH.
    fn on_oversized(&mut self, now: Instant, link: LinkId, skipped: OversizedPublish) {
        match self.role(link) {
            Some(Role::Active) => {}
            Some(Role::Pending) => {
                let error = ProtocolError::BeforeConnAck { packet: "PUBLISH" };
                return self.protocol_error(link, error);
            }
            None => return,
        }
        let maximum = self.config.topic_alias_maximum;
        let Some(active) = self.active_mut() else {
            return;
        };
        active.keep_alive.received(now);
        let protocol = active.protocol;
        let OversizedPublish { publish, size } = skipped;
        // An invalid alias is still a protocol error; an alias this link never set (its
        // setting publish may itself have been skipped before we could read it) is not worth
        // dropping the link for a message we drop anyway.
        let topic = match resolve_topic(
            &mut active.aliases,
            maximum,
            publish.topic,
            publish.topic_alias,
        ) {
            Ok(topic) => topic,
            Err(ProtocolError::UnknownTopicAlias { .. }) => String::new(),
            Err(error) => return self.protocol_error(link, error),
        };
        self.dropped_oversized += 1;
        let dropped = DroppedMessage {
            topic,
            size,
            qos: publish.qos,
            maximum: self.incoming_limit(),
        };
        self.deliver_incoming(
            link,
            protocol,
            publish.qos,
            publish.packet_id,
            Event::MessageDropped(dropped),
        );
    }

    /// PUBACK for an unknown id (or for a QoS 2 exchange) is ignored: the spec lets a client
    /// ignore it, and it happens legitimately after a resend raced the original ack.
    fn on_puback(&mut self, protocol: ProtocolVersion, ack: &QosHandshake) {
        let known = self
            .in_flight
            .get(ack.packet_id)
            .is_some_and(|e| e.state == OutState::Qos1Sent);
        if !known {
            return;
        }
        if let Some(entry) = self.in_flight.remove(ack.packet_id) {
            self.ids.release(ack.packet_id);
            let status = publish_outcome(protocol, ack);
            self.delivery(entry.id, status);
        }
    }

    /// PUBREC: success moves the exchange on to PUBREL; a refusal ends it. A PUBREC for an
    /// unknown id still gets a PUBREL (v5: reason 0x92, Packet Identifier not found) so the
    /// server can free its state; that is what the spec's flow allows.
    fn on_pubrec(&mut self, link: LinkId, protocol: ProtocolVersion, ack: &QosHandshake) {
        let packet_id = ack.packet_id;
        match self.in_flight.get(packet_id).map(|e| e.state) {
            Some(OutState::Qos2Sent) => match publish_outcome(protocol, ack) {
                DeliveryStatus::Refused(refusal) => {
                    if let Some(entry) = self.in_flight.remove(packet_id) {
                        self.ids.release(packet_id);
                        self.delivery(entry.id, DeliveryStatus::Refused(refusal));
                    }
                }
                _ => {
                    self.in_flight.pubrec_received(packet_id);
                    self.write_control(link, &Packet::PubRel(handshake_ok(packet_id)));
                }
            },
            Some(OutState::Released) => {
                self.write_control(link, &Packet::PubRel(handshake_ok(packet_id)));
            }
            Some(OutState::Qos1Sent) | None => {
                let code = not_found(protocol);
                self.write_control(link, &Packet::PubRel(handshake(packet_id, code)));
            }
        }
    }

    /// PUBREL for an incoming QoS 2 message: PUBCOMP. For an id we do not hold (already
    /// completed before a reconnect) PUBCOMP still goes out (v5: 0x92) so the server finishes.
    fn on_pubrel(&mut self, link: LinkId, protocol: ProtocolVersion, ack: &QosHandshake) {
        let code = if self.incoming_qos2.remove(&ack.packet_id) {
            0
        } else {
            not_found(protocol)
        };
        self.write_control(link, &Packet::PubComp(handshake(ack.packet_id, code)));
    }

    /// PUBCOMP ends a QoS 2 exchange (0x92 from the server means it had already finished it).
    /// For an unknown id it is ignored, as the spec allows.
    fn on_pubcomp(&mut self, ack: &QosHandshake) {
        let known = self
            .in_flight
            .get(ack.packet_id)
            .is_some_and(|e| e.state == OutState::Released);
        if known {
            if let Some(entry) = self.in_flight.remove(ack.packet_id) {
                self.ids.release(ack.packet_id);
                self.delivery(entry.id, DeliveryStatus::Acknowledged);
            }
        }
    }

    /// SUBACK/UNSUBACK for an id with no request in flight is a protocol error (the server can
    /// only answer requests made on this connection): DISCONNECT 0x82 and the link goes down.
    fn on_sub_result(
        &mut self,
        link: LinkId,
        packet_id: u16,
        result: Result<Vec<Event>, ProtocolError>,
    ) {
        match result {
            Ok(events) => {
                self.ids.release(packet_id);
                self.events.extend(events);
            }
            Err(error) => self.protocol_error(link, error),
        }
    }

    fn on_server_disconnect(&mut self, link: LinkId, disconnect: Disconnect) {
        let protocol = self.link_protocol(link).unwrap_or(self.protocol);
        let reason = LinkDownReason::ServerDisconnect {
            reason: disconnect.typed_reason(protocol),
            reason_string: disconnect.reason_string,
            server_reference: disconnect.server_reference,
        };
        if self.remove_link(link) {
            self.events.push_back(Event::LinkDown { link, reason });
        }
    }

    fn protocol_error(&mut self, link: LinkId, error: ProtocolError) {
        let code = error.disconnect_reason();
        self.fail_link(link, LinkDownReason::Protocol(error), Some(code));
    }

    /// Ends `link` with `reason`: a v5 link first gets DISCONNECT with `disconnect` if given
    /// (3.1.1 has no way to say why: the link is just closed).
    fn fail_link(
        &mut self,
        link: LinkId,
        reason: LinkDownReason,
        disconnect: Option<DisconnectReason>,
    ) {
        if let Some(code) = disconnect {
            if self.link_protocol(link) == Some(ProtocolVersion::V5) {
                let packet = Disconnect {
                    reason: code.code(),
                    ..Disconnect::default()
                };
                // Cannot fail: a bare DISCONNECT with a defined reason always encodes.
                let _ = self.write(link, &Packet::Disconnect(packet));
            }
        }
        if self.remove_link(link) {
            self.events.push_back(Event::LinkDown { link, reason });
        }
    }

    // ----------------------------------------------------------------------------------------
    // Writing
    // ----------------------------------------------------------------------------------------

    /// Writes whatever the connected link can take now: first publishes to rewrite after a
    /// link change, then subscription changes, then queued publishes, within the server's
    /// Receive Maximum.
    fn pump(&mut self) {
        let Some(active) = self.active() else {
            return;
        };
        let link = active.id;
        let protocol = active.protocol;
        let limits = publish_limits(&active.limits, self.own_maximum());
        let quota = usize::from(active.limits.receive_maximum);
        let mut on_link = self.in_flight.count_on(link);

        for packet_id in self.in_flight.ordered_ids() {
            if on_link >= quota {
                break;
            }
            let Some(entry) = self.in_flight.get(packet_id) else {
                continue;
            };
            if entry.written_on == Some(link) {
                continue;
            }
            let written = match entry.state {
                OutState::Released => encoded(&Packet::PubRel(handshake_ok(packet_id)), protocol)
                    .map_err(Unsendable::from),
                OutState::Qos1Sent | OutState::Qos2Sent => {
                    let mut publish = entry.publish.clone();
                    // Known to the server session already: a resend, DUP set.
                    publish.dup = entry.written_on.is_some();
                    check_publish(&publish, protocol, limits)
                }
            };
            match written {
                Ok(bytes) => {
                    self.push_bytes(link, bytes);
                    if let Some(entry) = self.in_flight.get_mut(packet_id) {
                        entry.written_on = Some(link);
                    }
                    on_link += 1;
                }
                Err(reason) => {
                    if let Some(entry) = self.in_flight.remove(packet_id) {
                        self.ids.release(packet_id);
                        self.delivery(entry.id, DeliveryStatus::Dropped(reason.into()));
                    }
                }
            }
        }

        if self.subs.has_pending_unsubscribe() && self.active_link() == Some(link) {
            if let Some(packet_id) = self.ids.allocate() {
                let filters = self.subs.start_unsubscribe(packet_id);
                let packet = Unsubscribe {
                    packet_id,
                    filters,
                    user_properties: Vec::new(),
                };
                self.write_control(link, &Packet::Unsubscribe(packet));
            }
        }
        if self.subs.has_pending_subscribe() && self.active_link() == Some(link) {
            if let Some(packet_id) = self.ids.allocate() {
                let filters = self.subs.start_subscribe(packet_id);
                let packet = Subscribe {
                    packet_id,
                    filters,
                    subscription_identifier: None,
                    user_properties: Vec::new(),
                };
                self.write_control(link, &Packet::Subscribe(packet));
            }
        }

        // Rewrites keep their place ahead of anything new.
        if self.active_link() != Some(link) || self.in_flight.any_not_on(link) {
            return;
        }
        while let Some(front) = self.queue.front() {
            let qos = front.publish.qos;
            let packet_id = if qos == QoS::AtMostOnce {
                None
            } else {
                if on_link >= quota {
                    break;
                }
                let Some(packet_id) = self.ids.allocate() else {
                    break;
                };
                Some(packet_id)
            };
            let Some(Queued { id, mut publish }) = self.queue.pop_front() else {
                break;
            };
            publish.packet_id = packet_id;
            match check_publish(&publish, protocol, limits) {
                Ok(bytes) => {
                    self.push_bytes(link, bytes);
                    if packet_id.is_some() {
                        let state = if qos == QoS::AtLeastOnce {
                            OutState::Qos1Sent
                        } else {
                            OutState::Qos2Sent
                        };
                        publish.payload.shrink_to_fit();
                        self.in_flight.insert(id, publish, state, link);
                        on_link += 1;
                    }
                    self.delivery(id, DeliveryStatus::Sent);
                }
                Err(reason) => {
                    if let Some(packet_id) = packet_id {
                        self.ids.release(packet_id);
                    }
                    self.delivery(id, DeliveryStatus::Dropped(reason.into()));
                }
            }
        }
    }

    /// Encodes and queues a packet the session itself generates. Such packets cannot fail to
    /// encode given validated inputs; if one ever does, the link is failed rather than left
    /// silently out of step.
    fn write_control(&mut self, link: LinkId, packet: &Packet) {
        if let Err(error) = self.write(link, packet) {
            self.fail_link(link, LinkDownReason::Encode(error), None);
        }
    }

    fn write(&mut self, link: LinkId, packet: &Packet) -> Result<(), EncodeError> {
        let Some(protocol) = self.link_protocol(link) else {
            return Ok(());
        };
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

    fn connect_packet(&mut self, creds: ConnectCredentials, takeover: bool) -> Connect {
        let v5 = self.protocol == ProtocolVersion::V5;
        // v5: Clean Start only for a brand-new session; Session Expiry keeps it alive across
        // links. 3.1.1 has no expiry, so its session is persistent from the first CONNECT
        // (Clean Session 0): that is what makes a reconnect resume and a takeover lossless.
        let clean_start = v5 && !takeover && !self.resume;
        let expiry = if takeover {
            self.config.session_expiry.max(1)
        } else {
            self.config.session_expiry
        };
        let receive_maximum = effective_receive_maximum(self.config.receive_maximum);
        Connect {
            protocol: self.protocol,
            client_id: self.client_id.clone(),
            clean_start,
            keep_alive: self.keep_alive_secs(),
            username: creds.username,
            password: creds.password,
            will: self.config.will.clone(),
            session_expiry_interval: (v5 && expiry > 0).then_some(expiry),
            receive_maximum: (v5 && receive_maximum != u16::MAX).then_some(receive_maximum),
            maximum_packet_size: (v5 && self.config.maximum_packet_size > 0)
                .then_some(self.config.maximum_packet_size),
            topic_alias_maximum: (v5 && self.config.topic_alias_maximum > 0)
                .then_some(self.config.topic_alias_maximum),
            request_response_information: None,
            request_problem_information: None,
            authentication_method: None,
            authentication_data: None,
            user_properties: Vec::new(),
        }
    }

    /// Keep-alive in whole seconds as announced in CONNECT (a sub-second value rounds up to 1).
    fn keep_alive_secs(&self) -> u16 {
        let keep_alive = self.config.keep_alive;
        if keep_alive.is_zero() {
            0
        } else {
            u16::try_from(keep_alive.as_secs())
                .unwrap_or(u16::MAX)
                .max(1)
        }
    }

    /// Our own Maximum Packet Size (`None`: no limit).
    fn own_maximum(&self) -> Option<u32> {
        Some(self.config.maximum_packet_size).filter(|&n| n > 0)
    }

    fn incoming_limit(&self) -> u32 {
        match self.config.maximum_packet_size {
            0 => u32::MAX,
            n => n,
        }
    }

    fn check_queue_room(&self) -> Result<(), CommandError> {
        let limit = self.config.queue_limit;
        if self.queue.len() + self.subs.pending_ops() >= limit {
            return Err(CommandError::QueueFull { limit });
        }
        Ok(())
    }

    fn release_sub_requests(&mut self) {
        for packet_id in self.subs.link_lost() {
            self.ids.release(packet_id);
        }
    }

    // ----------------------------------------------------------------------------------------
    // Links
    // ----------------------------------------------------------------------------------------

    fn tick(&mut self, now: Instant) {
        self.clock = self.clock.max(now);
    }

    fn role(&self, link: LinkId) -> Option<Role> {
        if self.active().is_some_and(|a| a.id == link) {
            Some(Role::Active)
        } else if self.pending().is_some_and(|p| p.id == link) {
            Some(Role::Pending)
        } else {
            None
        }
    }

    fn active(&self) -> Option<&ActiveLink> {
        match &self.phase {
            Phase::Connected(active) | Phase::Rotating { active, .. } => Some(active),
            Phase::Offline | Phase::Connecting(_) => None,
        }
    }

    fn active_mut(&mut self) -> Option<&mut ActiveLink> {
        match &mut self.phase {
            Phase::Connected(active) | Phase::Rotating { active, .. } => Some(active),
            Phase::Offline | Phase::Connecting(_) => None,
        }
    }

    fn pending(&self) -> Option<&PendingLink> {
        match &self.phase {
            Phase::Connecting(pending) | Phase::Rotating { pending, .. } => Some(pending),
            Phase::Offline | Phase::Connected(_) => None,
        }
    }

    fn link_protocol(&self, link: LinkId) -> Option<ProtocolVersion> {
        match self.role(link)? {
            Role::Active => self.active().map(|a| a.protocol),
            Role::Pending => self.pending().map(|p| p.protocol),
        }
    }

    fn framer_mut(&mut self, link: LinkId) -> Option<&mut Framer> {
        match &mut self.phase {
            Phase::Connecting(p) if p.id == link => Some(&mut p.framer),
            Phase::Connected(a) if a.id == link => Some(&mut a.framer),
            Phase::Rotating { active, .. } if active.id == link => Some(&mut active.framer),
            Phase::Rotating { pending, .. } if pending.id == link => Some(&mut pending.framer),
            _ => None,
        }
    }

    /// Forgets `link`. Losing the active link sends its in-flight subscription requests back
    /// to waiting; in-flight publishes stay and are rewritten on the next link. Returns whether
    /// the link was in use.
    fn remove_link(&mut self, link: LinkId) -> bool {
        let (phase, lost_active) = match std::mem::take(&mut self.phase) {
            Phase::Connecting(p) if p.id == link => (Phase::Offline, false),
            Phase::Connected(a) if a.id == link => (Phase::Offline, true),
            Phase::Rotating { active, pending } if active.id == link => {
                (Phase::Connecting(pending), true)
            }
            Phase::Rotating { active, pending } if pending.id == link => {
                (Phase::Connected(active), false)
            }
            other => {
                self.phase = other;
                return false;
            }
        };
        self.phase = phase;
        if lost_active {
            self.release_sub_requests();
        }
        true
    }
}

/// The topic of an incoming PUBLISH, resolving (and recording) a v5 topic alias.
fn resolve_topic(
    aliases: &mut HashMap<u16, String>,
    maximum: u16,
    topic: String,
    topic_alias: Option<u16>,
) -> Result<String, ProtocolError> {
    match topic_alias {
        Some(alias) if alias == 0 || alias > maximum => {
            Err(ProtocolError::TopicAliasInvalid { alias, maximum })
        }
        Some(alias) if topic.is_empty() => aliases
            .get(&alias)
            .cloned()
            .ok_or(ProtocolError::UnknownTopicAlias { alias }),
        Some(alias) => {
            aliases.insert(alias, topic.clone());
            Ok(topic)
        }
        None if topic.is_empty() => Err(ProtocolError::EmptyTopic),
        None => Ok(topic),
    }
}

fn publish_limits(limits: &ServerLimits, own_maximum: Option<u32>) -> PublishLimits {
    PublishLimits {
        maximum_packet_size: limits.maximum_packet_size,
        own_maximum,
        maximum_qos: limits.maximum_qos,
        retain_available: limits.retain_available,
    }
}

/// Encodes a publish after checking it against the server's limits.
fn check_publish(
    publish: &Publish,
    protocol: ProtocolVersion,
    limits: PublishLimits,
) -> Result<Vec<u8>, Unsendable> {
    if publish.qos > limits.maximum_qos {
        return Err(Unsendable::QosNotSupported {
            requested: publish.qos,
            maximum: limits.maximum_qos,
        });
    }
    if publish.retain && !limits.retain_available {
        return Err(Unsendable::RetainNotSupported);
    }
    let packet = Packet::Publish(Box::new(publish.clone()));
    let bytes = encoded(&packet, protocol)?;
    let size = bytes.len();
    // The smaller limit decides, and names itself in the error.
    let server = limits.maximum_packet_size;
    let own = limits.own_maximum;
    match (server, own) {
        (Some(server), own) if own.is_none_or(|own| server <= own) && size > server as usize => {
            return Err(Unsendable::PacketTooLarge {
                size,
                maximum: server,
            });
        }
        (server, Some(own)) if server.is_none_or(|server| own < server) && size > own as usize => {
            return Err(Unsendable::ExceedsOwnLimit { size, maximum: own });
        }
        _ => {}
    }
    Ok(bytes)
}

/// Why a publish cannot go to the connected server: an up-front [`CommandError`] when known at
/// `publish` time, a [`DropReason`] when found at write time.
#[derive(Debug)]
enum Unsendable {
    PacketTooLarge { size: usize, maximum: u32 },
    ExceedsOwnLimit { size: usize, maximum: u32 },
    QosNotSupported { requested: QoS, maximum: QoS },
    RetainNotSupported,
    Encode(EncodeError),
}

impl From<EncodeError> for Unsendable {
    fn from(error: EncodeError) -> Self {
        Self::Encode(error)
    }
}

impl From<Unsendable> for DropReason {
    fn from(reason: Unsendable) -> Self {
        match reason {
            Unsendable::PacketTooLarge { size, maximum } => Self::PacketTooLarge { size, maximum },
            Unsendable::ExceedsOwnLimit { size, maximum } => {
                Self::ExceedsOwnLimit { size, maximum }
            }
            Unsendable::QosNotSupported { requested, maximum } => {
                Self::QosNotSupported { requested, maximum }
            }
            Unsendable::RetainNotSupported => Self::RetainNotSupported,
            Unsendable::Encode(error) => Self::Encode(error),
        }
    }
}

impl From<Unsendable> for CommandError {
    fn from(reason: Unsendable) -> Self {
        match reason {
            Unsendable::PacketTooLarge { size, maximum } => Self::PacketTooLarge { size, maximum },
            Unsendable::ExceedsOwnLimit { size, maximum } => {
                Self::ExceedsOwnLimit { size, maximum }
            }
            Unsendable::QosNotSupported { requested, maximum } => {
                Self::QosNotSupported { requested, maximum }
            }
            Unsendable::RetainNotSupported => Self::RetainNotSupported,
            Unsendable::Encode(error) => Self::Encode(error),
        }
    }
}

fn encoded(packet: &Packet, protocol: ProtocolVersion) -> Result<Vec<u8>, EncodeError> {
    let mut bytes = Vec::new();
    encode(packet, protocol, &mut bytes)?;
    Ok(bytes)
}

fn publish_outcome(protocol: ProtocolVersion, ack: &QosHandshake) -> DeliveryStatus {
    let reason = ack.puback_reason(protocol);
    if reason.is_error() {
        DeliveryStatus::Refused(Refusal {
            reason: RefusalReason::Publish(reason),
            code: ack.reason,
            reason_string: ack.reason_string.clone(),
        })
    } else {
        DeliveryStatus::Acknowledged
    }
}

/// Receive Maximum 0 is not allowed on the wire; it means "no limit" here.
fn effective_receive_maximum(configured: u16) -> u16 {
    if configured == 0 {
        u16::MAX
    } else {
        configured
    }
}

fn not_found(protocol: ProtocolVersion) -> u8 {
    match protocol {
        ProtocolVersion::V5 => PubRelReason::PacketIdentifierNotFound.code(),
        ProtocolVersion::V311 => 0,
    }
}

fn handshake_ok(packet_id: u16) -> QosHandshake {
    handshake(packet_id, 0)
}

fn handshake(packet_id: u16, reason: u8) -> QosHandshake {
    QosHandshake {
        packet_id,
        reason,
        reason_string: None,
        user_properties: Vec::new(),
    }
}

fn packet_name(packet: &Packet) -> &'static str {
    match packet {
        Packet::Connect(_) => "CONNECT",
        Packet::ConnAck(_) => "CONNACK",
        Packet::Publish(_) => "PUBLISH",
        Packet::PubAck(_) => "PUBACK",
        Packet::PubRec(_) => "PUBREC",
        Packet::PubRel(_) => "PUBREL",
        Packet::PubComp(_) => "PUBCOMP",
        Packet::Subscribe(_) => "SUBSCRIBE",
        Packet::SubAck(_) => "SUBACK",
        Packet::Unsubscribe(_) => "UNSUBSCRIBE",
        Packet::UnsubAck(_) => "UNSUBACK",
        Packet::PingReq => "PINGREQ",
        Packet::PingResp => "PINGRESP",
        Packet::Disconnect(_) => "DISCONNECT",
        Packet::Auth(_) => "AUTH",
    }
}
