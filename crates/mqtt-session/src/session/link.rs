//! Which links exist and what each is doing; links opening, closing, carrying bytes and failing.

use core::time::Duration;

use mqtt_codec::packet::{Disconnect, Packet, ProtocolVersion, Publish, QoS};
use mqtt_codec::reason::DisconnectReason;
use mqtt_codec::{DecodeError, Frame, Framer};

use crate::config::{ConnectCredentials, LinkId};
use crate::event::{
    DeliveryStatus, DropReason, Event, LinkDownReason, ProtocolError, ServerLimits,
};
use crate::time::Instant;

use super::keep_alive::KeepAlive;
use super::{encoded, Session};

/// Which links exist and what they are doing. At most one link carries the session; at most
/// one more is connecting (a reconnect, or a make-before-break takeover).
#[derive(Debug, Default)]
pub(super) enum Phase {
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

/// How long a takeover's CONNECT waits for the old link to finish what it has in flight
/// before it goes out anyway. One round trip is enough for a live link; the bound keeps a
/// stalled old link from holding the rotation up.
pub(super) const TAKEOVER_DRAIN: Duration = Duration::from_secs(2);

/// A link whose CONNECT is written (or held) and whose CONNACK is awaited.
#[derive(Debug)]
pub(super) struct PendingLink {
    pub(super) id: LinkId,
    pub(super) protocol: ProtocolVersion,
    pub(super) framer: Framer,
    /// When the link opened, or when its held CONNECT went out; CONNACK is due
    /// `connect_timeout` after the CONNECT.
    pub(super) since: Instant,
    /// A takeover's CONNECT, not written yet: it waits until the old link has no publish or
    /// subscription request in flight (at most [`TAKEOVER_DRAIN`]). The server drops the old
    /// connection when this CONNECT arrives, and with it any acknowledgement still on its way
    /// to us: a publish it had already accepted would be resent and reach every subscriber a
    /// second time, as a new message (the server sets DUP only on its own redeliveries).
    pub(super) held_connect: Option<Vec<u8>>,
}

impl PendingLink {
    /// When the session must act on this link: send the held CONNECT anyway, or give up on
    /// the CONNACK.
    pub(super) fn deadline(&self, connect_timeout: Duration) -> Instant {
        if self.held_connect.is_some() {
            self.since + TAKEOVER_DRAIN
        } else {
            self.since + connect_timeout
        }
    }
}

/// A link that received a successful CONNACK.
#[derive(Debug)]
pub(super) struct ActiveLink {
    pub(super) id: LinkId,
    pub(super) protocol: ProtocolVersion,
    pub(super) framer: Framer,
    pub(super) limits: ServerLimits,
    pub(super) keep_alive: KeepAlive,
    /// Incoming topic aliases set by the server on this link (v5; they die with the link),
    /// sorted by alias. Not a `HashMap`: a sorted `Vec` does the same for the few aliases a
    /// server sets, without linking a hash table and its hasher into the wasm build.
    pub(super) aliases: Vec<(u16, String)>,
}

/// What a link is to the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    /// It carries the session.
    Active,
    /// Its CONNACK is awaited.
    Pending,
}

impl Session {
    /// The transport `link` is open: CONNECT goes out on it (a takeover's may wait, below).
    ///
    /// With no link this is a (re)connect. If another link is connected this is a
    /// make-before-break takeover: CONNECT asks to resume the session (Clean Start 0, Session
    /// Expiry ≥ 1), then the session moves over at the new CONNACK and [`Event::LinkRetired`]
    /// names the old link. Until then the old link carries on, but new publishes and
    /// subscription requests wait for the new link, and the CONNECT itself waits (at most
    /// 2 s) until the old link has nothing in flight: the server closes the old connection
    /// when the CONNECT arrives, and an acknowledgement lost that way would make us resend a
    /// message the server had already passed on. A link still awaiting its CONNACK is
    /// superseded by the new one (also `LinkRetired`). An id already in use is ignored.
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
            framer: Framer::client(self.protocol, self.incoming_limit()).skip_oversized_publishes(),
            since: now,
            held_connect: None,
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
        match encoded(&Packet::Connect(Box::new(connect)), self.protocol) {
            Ok(bytes) => {
                if let Phase::Rotating { pending, .. } = &mut self.phase {
                    pending.held_connect = Some(bytes);
                    self.send_held_connect(false);
                } else {
                    self.push_bytes(link, bytes);
                }
            }
            Err(error) => self.fail_link(link, LinkDownReason::Encode(error), None),
        }
    }

    /// Writes a takeover's held CONNECT once the old link has nothing in flight, it is gone,
    /// or `force` (the drain took too long); the CONNACK deadline runs from then.
    pub(super) fn send_held_connect(&mut self, force: bool) {
        if !self.connect_held() {
            return;
        }
        let drained = match self.active() {
            Some(active) => {
                self.in_flight.count_on(active.id) == 0 && !self.subs.has_requests_in_flight()
            }
            None => true,
        };
        if !drained && !force {
            return;
        }
        let now = self.clock;
        let Some(pending) = self.pending_mut() else {
            return;
        };
        let Some(bytes) = pending.held_connect.take() else {
            return;
        };
        pending.since = now;
        let link = pending.id;
        self.push_bytes(link, bytes);
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

    /// Ends the session cleanly: DISCONNECT (normal; v5 with Session Expiry 0 so the server
    /// drops the session) on every link, then [`Event::LinkDown`] with
    /// [`LinkDownReason::ClientDisconnect`] for each. Queued and in-flight publishes are
    /// reported `Dropped(SessionEnded)`. The desired subscriptions are kept: a later
    /// [`Session::handle_link_opened`] starts a new session and subscribes them again.
    ///
    /// With a Will configured, a v5 DISCONNECT says 0x04 (Disconnect with Will Message): the
    /// server publishes the Will (at once, since the session ends now) instead of discarding it,
    /// so a Will that says "gone" (presence) goes out on a graceful stop too. 3.1.1 has no such
    /// code and its DISCONNECT discards the Will, so there the Will's message is published
    /// first, as a QoS 0 PUBLISH with the Will's retain flag (the link closes right after; the
    /// server reads it before the DISCONNECT).
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
            if let (ProtocolVersion::V311, Some(will)) = (protocol, &self.config.will) {
                let publish = Publish {
                    qos: QoS::AtMostOnce,
                    retain: will.retain,
                    topic: will.topic.clone(),
                    payload: will.payload.clone(),
                    ..Publish::default()
                };
                self.write_control(link, &Packet::Publish(Box::new(publish)));
            }
            let reason = if self.config.will.is_some() && protocol == ProtocolVersion::V5 {
                DisconnectReason::DisconnectWithWillMessage
            } else {
                DisconnectReason::NormalDisconnection
            };
            let disconnect = Disconnect {
                reason: reason.code(),
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
        self.ended = true;
    }

    pub(super) fn on_server_disconnect(&mut self, link: LinkId, disconnect: Disconnect) {
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

    pub(super) fn protocol_error(&mut self, link: LinkId, error: ProtocolError) {
        let code = error.disconnect_reason();
        self.fail_link(link, LinkDownReason::Protocol(error), Some(code));
    }

    /// Ends `link` with `reason`: a v5 link first gets DISCONNECT with `disconnect` if given
    /// (3.1.1 has no way to say why: the link is just closed).
    pub(super) fn fail_link(
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

    pub(super) fn role(&self, link: LinkId) -> Option<Role> {
        if self.active().is_some_and(|a| a.id == link) {
            Some(Role::Active)
        } else if self.pending().is_some_and(|p| p.id == link) {
            Some(Role::Pending)
        } else {
            None
        }
    }

    pub(super) fn active(&self) -> Option<&ActiveLink> {
        match &self.phase {
            Phase::Connected(active) | Phase::Rotating { active, .. } => Some(active),
            Phase::Offline | Phase::Connecting(_) => None,
        }
    }

    pub(super) fn active_mut(&mut self) -> Option<&mut ActiveLink> {
        match &mut self.phase {
            Phase::Connected(active) | Phase::Rotating { active, .. } => Some(active),
            Phase::Offline | Phase::Connecting(_) => None,
        }
    }

    pub(super) fn pending(&self) -> Option<&PendingLink> {
        match &self.phase {
            Phase::Connecting(pending) | Phase::Rotating { pending, .. } => Some(pending),
            Phase::Offline | Phase::Connected(_) => None,
        }
    }

    /// Whether the connecting link's CONNECT is held (a takeover letting the old link drain).
    pub(super) fn connect_held(&self) -> bool {
        self.pending().is_some_and(|p| p.held_connect.is_some())
    }

    pub(super) fn pending_mut(&mut self) -> Option<&mut PendingLink> {
        match &mut self.phase {
            Phase::Connecting(pending) | Phase::Rotating { pending, .. } => Some(pending),
            Phase::Offline | Phase::Connected(_) => None,
        }
    }

    pub(super) fn link_protocol(&self, link: LinkId) -> Option<ProtocolVersion> {
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
    pub(super) fn remove_link(&mut self, link: LinkId) -> bool {
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
