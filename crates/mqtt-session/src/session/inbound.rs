//! Packets from the server on a link: dispatch by link role, incoming PUBLISH (QoS 0/1/2, topic
//! aliases, oversized messages), PUBREL, SUBACK and UNSUBACK.

use mqtt_codec::packet::{Packet, ProtocolVersion, Publish, QoS, QosHandshake};
use mqtt_codec::OversizedPublish;

use crate::config::LinkId;
use crate::event::{DroppedMessage, Event, IncomingMessage, MessageProperties, ProtocolError};
use crate::time::Instant;

use super::limits::effective_receive_maximum;
use super::link::Role;
use super::outbound::{handshake, handshake_ok, not_found};
use super::Session;

impl Session {
    pub(super) fn on_packet(&mut self, now: Instant, link: LinkId, packet: Packet) {
        match self.role(link) {
            Some(Role::Pending) if self.connect_held() => {
                let packet = packet_name(&packet);
                self.protocol_error(link, ProtocolError::BeforeConnect { packet });
            }
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
        self.count_received(dup);
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

    fn count_received(&mut self, dup: bool) {
        self.received.publishes += 1;
        self.received.dup += u64::from(dup);
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
    pub(super) fn on_oversized(&mut self, now: Instant, link: LinkId, skipped: OversizedPublish) {
        match self.role(link) {
            Some(Role::Active) => {}
            Some(Role::Pending) if self.connect_held() => {
                let error = ProtocolError::BeforeConnect { packet: "PUBLISH" };
                return self.protocol_error(link, error);
            }
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
        self.count_received(publish.dup);
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
}

/// The topic of an incoming PUBLISH, resolving (and recording) a v5 topic alias.
pub(super) fn resolve_topic(
    aliases: &mut Vec<(u16, String)>,
    maximum: u16,
    topic: String,
    topic_alias: Option<u16>,
) -> Result<String, ProtocolError> {
    match topic_alias {
        Some(alias) if alias == 0 || alias > maximum => {
            Err(ProtocolError::TopicAliasInvalid { alias, maximum })
        }
        Some(alias) if topic.is_empty() => aliases
            .binary_search_by_key(&alias, |(a, _)| *a)
            .map(|i| aliases[i].1.clone())
            .map_err(|_| ProtocolError::UnknownTopicAlias { alias }),
        Some(alias) => {
            match aliases.binary_search_by_key(&alias, |(a, _)| *a) {
                Ok(i) => aliases[i].1.clone_from(&topic),
                Err(i) => aliases.insert(i, (alias, topic.clone())),
            }
            Ok(topic)
        }
        None if topic.is_empty() => Err(ProtocolError::EmptyTopic),
        None => Ok(topic),
    }
}

pub(super) fn packet_name(packet: &Packet) -> &'static str {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn resolve_topic_remembers_aliases_as_a_map_would() {
        let mut aliases = Vec::new();
        let mut model: HashMap<u16, String> = HashMap::new();
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for step in 0..2_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let alias = (state % 12) as u16;
            let topic = if state & 0x100 == 0 {
                String::new()
            } else {
                format!("t/{step}")
            };
            let expected = match alias {
                0 | 11.. => Err(ProtocolError::TopicAliasInvalid { alias, maximum: 10 }),
                _ if topic.is_empty() => model
                    .get(&alias)
                    .cloned()
                    .ok_or(ProtocolError::UnknownTopicAlias { alias }),
                _ => {
                    model.insert(alias, topic.clone());
                    Ok(topic.clone())
                }
            };
            let got = resolve_topic(&mut aliases, 10, topic, Some(alias));
            assert_eq!(got, expected, "step {step}");
            assert!(aliases.windows(2).all(|w| w[0].0 < w[1].0));
        }
    }
}
