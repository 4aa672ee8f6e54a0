//! Our publishes: queued by `publish`, written by `pump` within the server's Receive Maximum
//! (rewrites first, then subscription changes, then the queue), finished by PUBACK, PUBREC and
//! PUBCOMP.

use mqtt_codec::packet::{
    Packet, ProtocolVersion, Publish, QoS, QosHandshake, Subscribe, Unsubscribe,
};
use mqtt_codec::reason::PubRelReason;

use crate::config::LinkId;
use crate::event::{
    CommandError, DeliveryStatus, OutgoingPublish, PublishId, Refusal, RefusalReason,
};
use crate::in_flight::InFlightState;
use crate::time::Instant;
use crate::topic::check_topic;

use super::limits::{check_publish, PublishLimits, Unsendable};
use super::{encoded, Queued, Session};

impl Session {
    /// Publishes `msg`: written now if a link is connected (and no takeover is under way) and
    /// the server's Receive Maximum allows, otherwise queued in order. A takeover holds new
    /// publishes for about two round trips (up to 2 s for a stalled old link, plus the CONNACK),
    /// and they count against the queue limit meanwhile. Progress comes as
    /// [`Event::Delivery`](crate::Event::Delivery) with the returned id: `Sent`, then for QoS 1/2
    /// `Acknowledged` or `Refused`; or `Dropped`.
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
            Some(active) => (
                PublishLimits::server(&active.limits, own_maximum),
                active.protocol,
            ),
            None => (PublishLimits::own_only(own_maximum), self.protocol),
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

    /// Writes whatever the connected link can take now: first publishes to rewrite after a
    /// link change, then subscription changes, then queued publishes, within the server's
    /// Receive Maximum; then a takeover's held CONNECT if the old link is drained.
    pub(super) fn pump(&mut self) {
        self.pump_active();
        self.send_held_connect(false);
    }

    fn pump_active(&mut self) {
        // During a takeover the old link only finishes what it has in flight: anything new
        // waits for the new link (see `handle_link_opened`).
        if self.pending().is_some() {
            return;
        }
        let Some(active) = self.active() else {
            return;
        };
        let link = active.id;
        let protocol = active.protocol;
        let limits = PublishLimits::server(&active.limits, self.own_maximum());
        let quota = usize::from(active.limits.receive_maximum);
        let mut on_link = self.in_flight.count_on(link);

        for packet_id in self.in_flight.ids_not_on(link) {
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
                InFlightState::Released => {
                    encoded(&Packet::PubRel(handshake_ok(packet_id)), protocol)
                        .map_err(Unsendable::from)
                }
                InFlightState::Qos1Sent | InFlightState::Qos2Sent => {
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
                            InFlightState::Qos1Sent
                        } else {
                            InFlightState::Qos2Sent
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

    /// PUBACK for an unknown id (or for a QoS 2 exchange) is ignored: the spec lets a client
    /// ignore it, and it happens legitimately after a resend raced the original ack.
    pub(super) fn on_puback(&mut self, protocol: ProtocolVersion, ack: &QosHandshake) {
        let known = self
            .in_flight
            .get(ack.packet_id)
            .is_some_and(|e| e.state == InFlightState::Qos1Sent);
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
    pub(super) fn on_pubrec(
        &mut self,
        link: LinkId,
        protocol: ProtocolVersion,
        ack: &QosHandshake,
    ) {
        let packet_id = ack.packet_id;
        match self.in_flight.get(packet_id).map(|e| e.state) {
            Some(InFlightState::Qos2Sent) => match publish_outcome(protocol, ack) {
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
            Some(InFlightState::Released) => {
                self.write_control(link, &Packet::PubRel(handshake_ok(packet_id)));
            }
            Some(InFlightState::Qos1Sent) | None => {
                let code = not_found(protocol);
                self.write_control(link, &Packet::PubRel(handshake(packet_id, code)));
            }
        }
    }

    /// PUBCOMP ends a QoS 2 exchange (0x92 from the server means it had already finished it).
    /// For an unknown id it is ignored, as the spec allows.
    pub(super) fn on_pubcomp(&mut self, ack: &QosHandshake) {
        let known = self
            .in_flight
            .get(ack.packet_id)
            .is_some_and(|e| e.state == InFlightState::Released);
        if known {
            if let Some(entry) = self.in_flight.remove(ack.packet_id) {
                self.ids.release(ack.packet_id);
                self.delivery(entry.id, DeliveryStatus::Acknowledged);
            }
        }
    }
}

pub(super) fn publish_outcome(protocol: ProtocolVersion, ack: &QosHandshake) -> DeliveryStatus {
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

pub(super) fn not_found(protocol: ProtocolVersion) -> u8 {
    match protocol {
        ProtocolVersion::V5 => PubRelReason::PacketIdentifierNotFound.code(),
        ProtocolVersion::V311 => 0,
    }
}

pub(super) fn handshake_ok(packet_id: u16) -> QosHandshake {
    handshake(packet_id, 0)
}

pub(super) fn handshake(packet_id: u16, reason: u8) -> QosHandshake {
    QosHandshake {
        packet_id,
        reason,
        reason_string: None,
        user_properties: Vec::new(),
    }
}
