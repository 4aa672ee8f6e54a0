//! CONNECT out, CONNACK in: a pending link becomes the active one.

use core::time::Duration;

use mqtt_codec::packet::{ConnAck, Connect, LastWill, ProtocolVersion, QoS};
use mqtt_codec::reason::ConnectReason;

use crate::config::{ConnectCredentials, LinkId};
use crate::event::{DeliveryStatus, Event, ServerLimits};
use crate::time::Instant;

use super::keep_alive::KeepAlive;
use super::limits::effective_receive_maximum;
use super::link::{ActiveLink, PendingLink, Phase};
use super::Session;

impl Session {
    /// Sets the protocol version of the next CONNECT (e.g. fall back to 3.1.1 after
    /// [`ConnectReason::UnsupportedProtocolVersion`]). Links already open keep theirs.
    pub fn set_protocol(&mut self, version: ProtocolVersion) {
        self.protocol = version;
    }

    /// Replaces the Will of the next CONNECT (`None`: no Will). Links already open keep the
    /// Will they connected with; the server holds that one until the session's next CONNECT.
    pub fn set_will(&mut self, will: Option<LastWill>) {
        self.config.will = will;
    }

    /// The Will the next CONNECT carries.
    pub fn will(&self) -> Option<&LastWill> {
        self.config.will.as_ref()
    }

    pub(super) fn connect_packet(&mut self, creds: ConnectCredentials, takeover: bool) -> Connect {
        let v5 = self.protocol == ProtocolVersion::V5;
        // v5: Session Expiry keeps the session alive across links. Clean Start 1 only for a
        // session that is not to outlive its link (expiry 0) and after `disconnect` ended the
        // previous one; otherwise Clean Start 0 from the first CONNECT, like 3.1.1's Clean
        // Session 0 (which is what makes a reconnect resume and a takeover lossless there).
        // With a fresh client id that is still a new session, but one Mosquitto 2.0 writes to
        // disk: it persists only sessions whose connection began with Clean Start 0, so one
        // started with Clean Start 1 is lost in a crash until its first reconnect.
        let clean_start =
            v5 && !takeover && !self.resume && (self.ended || self.config.session_expiry == 0);
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

    pub(super) fn on_connack(&mut self, now: Instant, link: LinkId, ack: ConnAck) {
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
        // The interval runs from our last packet: the CONNECT (`since`: when it was written).
        let keep_alive = KeepAlive::start(keep_alive, since, now);
        let activate = |p: PendingLink| ActiveLink {
            id: p.id,
            protocol: p.protocol,
            framer: p.framer,
            limits: limits.clone(),
            keep_alive,
            aliases: Vec::new(),
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
        self.ended = false;
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
        // PUBREC (success) meant the server had taken ownership of a message: it was delivered,
        // and resending it would duplicate it; the PUBREL handshake cannot be finished on a
        // session that no longer exists. The others were never acknowledged: written again as
        // new PUBLISHes (DUP clear), same ids.
        for done in self.in_flight.fresh_session() {
            self.ids.release(done.publish.packet_id.unwrap_or_default());
            self.delivery(done.id, DeliveryStatus::Acknowledged);
        }
    }
}
