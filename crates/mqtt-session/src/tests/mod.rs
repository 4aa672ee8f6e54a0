//! Session flow tests on a scripted fake broker and a fake clock.
//!
//! [`Harness`] drives a [`Session`] the way the browser driver does (input, then drain every
//! output) and plays the server: it decodes what the session wrote with the codec's framer,
//! one framer per link, and answers with encoded server packets. Time only moves when a test
//! calls [`Harness::advance`].

mod connect;
mod errors;
mod fuzz;
mod keep_alive;
mod limits;
mod qos;
mod resume;
mod subscriptions;
mod takeover;
mod will;

use core::time::Duration;
use std::collections::{HashMap, VecDeque};

use mqtt_codec::packet::{
    ConnAck, Connect, Packet, ProtocolVersion, Publish, QoS, QosHandshake, SubAck, UnsubAck,
};
use mqtt_codec::{encode, Framer};

use crate::{
    subscription, ConnectCredentials, DeliveryStatus, Event, Instant, LinkId, OutgoingPublish,
    PublishId, Session, SessionConfig,
};

/// A session plus the broker's view of every link.
pub(crate) struct Harness {
    pub(crate) session: Session,
    pub(crate) now: Instant,
    /// Broker-side decoder per link, with the link's protocol version.
    wires: HashMap<LinkId, (ProtocolVersion, Framer)>,
    /// What the session wrote, decoded, per link, not yet looked at.
    outbox: HashMap<LinkId, VecDeque<Packet>>,
    events: VecDeque<Event>,
}

pub(crate) fn config(protocol: ProtocolVersion) -> SessionConfig {
    SessionConfig {
        protocol,
        client_id: "test-client".into(),
        ..SessionConfig::default()
    }
}

pub(crate) fn creds() -> ConnectCredentials {
    ConnectCredentials {
        username: Some("alice".into()),
        password: Some(b"token-1".to_vec()),
    }
}

impl Harness {
    pub(crate) fn new(config: SessionConfig) -> Self {
        Self {
            session: Session::new(config),
            now: Instant::from_millis(1_000),
            wires: HashMap::new(),
            outbox: HashMap::new(),
            events: VecDeque::new(),
        }
    }

    pub(crate) fn v5() -> Self {
        Self::new(config(ProtocolVersion::V5))
    }

    pub(crate) fn v311() -> Self {
        Self::new(config(ProtocolVersion::V311))
    }

    /// Drains every output, as the driver must after each input.
    pub(crate) fn drain(&mut self) {
        while let Some(transmit) = self.session.poll_transmit() {
            let (_, framer) = self
                .wires
                .get_mut(&transmit.link)
                .expect("the session wrote on a link never opened");
            framer.push(&transmit.bytes);
            while let Some(packet) = framer.next_packet() {
                let packet = packet.expect("the session wrote bytes its own codec cannot decode");
                self.outbox
                    .entry(transmit.link)
                    .or_default()
                    .push_back(packet);
            }
        }
        while let Some(event) = self.session.poll_event() {
            self.events.push_back(event);
        }
    }

    /// Opens `link` and returns the CONNECT the session wrote on it.
    pub(crate) fn open(&mut self, link: u32) -> Connect {
        let link = LinkId(link);
        let protocol = self.session.protocol();
        self.wires
            .insert(link, (protocol, Framer::new(protocol, u32::MAX)));
        self.session.handle_link_opened(self.now, link, creds());
        self.drain();
        match self.sent(link.0).as_slice() {
            [Packet::Connect(connect)] => (**connect).clone(),
            other => panic!("expected one CONNECT, got {other:?}"),
        }
    }

    /// Opens `link` as a takeover whose CONNECT the session holds back (the old link has
    /// something in flight): nothing is written on it yet.
    pub(crate) fn open_held(&mut self, link: u32) {
        let protocol = self.session.protocol();
        self.wires
            .insert(LinkId(link), (protocol, Framer::new(protocol, u32::MAX)));
        self.session
            .handle_link_opened(self.now, LinkId(link), creds());
        self.drain();
        assert_eq!(self.sent(link), Vec::new(), "the CONNECT was not held");
    }

    /// Opens `link`, answers CONNACK success, and returns what the session then wrote.
    pub(crate) fn connect(&mut self, link: u32, session_present: bool) -> Vec<Packet> {
        self.open(link);
        self.reply(link, connack(session_present));
        self.sent(link)
    }

    /// Sends one server packet on `link`, encoded for the link's version.
    pub(crate) fn reply(&mut self, link: u32, packet: Packet) {
        let bytes = self.encode_for(link, &packet);
        self.bytes(link, &bytes);
    }

    pub(crate) fn encode_for(&self, link: u32, packet: &Packet) -> Vec<u8> {
        let (protocol, _) = self.wires.get(&LinkId(link)).expect("link never opened");
        let mut bytes = Vec::new();
        encode(packet, *protocol, &mut bytes).expect("test packet encodes");
        bytes
    }

    pub(crate) fn bytes(&mut self, link: u32, bytes: &[u8]) {
        self.session.handle_bytes(self.now, LinkId(link), bytes);
        self.drain();
    }

    pub(crate) fn close(&mut self, link: u32) {
        self.session.handle_link_closed(self.now, LinkId(link));
        self.drain();
    }

    /// Moves the fake clock and fires the timer if the session's deadline has passed.
    pub(crate) fn advance(&mut self, millis: u64) {
        self.now += Duration::from_millis(millis);
        if self
            .session
            .poll_timeout()
            .is_some_and(|deadline| deadline <= self.now)
        {
            self.session.handle_timeout(self.now);
        }
        self.drain();
    }

    /// Jumps the clock to the session's next deadline and fires it, as a driver's timer does.
    pub(crate) fn sleep_until_deadline(&mut self) {
        let deadline = self.session.poll_timeout().expect("a deadline");
        assert!(deadline >= self.now, "deadline in the past");
        self.now = deadline;
        self.session.handle_timeout(self.now);
        self.drain();
    }

    pub(crate) fn publish(&mut self, topic: &str, payload: &[u8], qos: QoS) -> PublishId {
        let id = self
            .session
            .publish(self.now, OutgoingPublish::new(topic, payload, qos))
            .expect("publish accepted");
        self.drain();
        id
    }

    pub(crate) fn subscribe(&mut self, filter: &str, qos: QoS) {
        self.session
            .subscribe(subscription(filter, qos))
            .expect("subscribe accepted");
        self.drain();
    }

    pub(crate) fn unsubscribe(&mut self, filter: &str) {
        self.session
            .unsubscribe(filter)
            .expect("unsubscribe accepted");
        self.drain();
    }

    /// Everything the session wrote on `link` since the last look.
    pub(crate) fn sent(&mut self, link: u32) -> Vec<Packet> {
        self.outbox
            .remove(&LinkId(link))
            .map(Vec::from)
            .unwrap_or_default()
    }

    /// Every event since the last look.
    pub(crate) fn events(&mut self) -> Vec<Event> {
        self.events.drain(..).collect()
    }

    /// The delivery statuses of `id` among `events`.
    pub(crate) fn deliveries(events: &[Event], id: PublishId) -> Vec<DeliveryStatus> {
        events
            .iter()
            .filter_map(|e| match e {
                Event::Delivery { id: got, status } if *got == id => Some(status.clone()),
                _ => None,
            })
            .collect()
    }
}

pub(crate) fn connack(session_present: bool) -> Packet {
    Packet::ConnAck(Box::new(ConnAck {
        session_present,
        ..ConnAck::default()
    }))
}

pub(crate) fn connack_with(edit: impl FnOnce(&mut ConnAck)) -> Packet {
    let mut ack = ConnAck::default();
    edit(&mut ack);
    Packet::ConnAck(Box::new(ack))
}

pub(crate) fn ack(packet_id: u16, reason: u8) -> QosHandshake {
    QosHandshake {
        packet_id,
        reason,
        ..QosHandshake::default()
    }
}

pub(crate) fn puback(packet_id: u16) -> Packet {
    Packet::PubAck(ack(packet_id, 0))
}

pub(crate) fn suback(packet_id: u16, codes: &[u8]) -> Packet {
    Packet::SubAck(SubAck {
        packet_id,
        codes: codes.to_vec(),
        ..SubAck::default()
    })
}

pub(crate) fn unsuback(packet_id: u16, codes: &[u8]) -> Packet {
    Packet::UnsubAck(UnsubAck {
        packet_id,
        codes: codes.to_vec(),
        ..UnsubAck::default()
    })
}

/// A server PUBLISH.
pub(crate) fn message(topic: &str, payload: &[u8], qos: QoS, packet_id: Option<u16>) -> Packet {
    Packet::Publish(Box::new(Publish {
        topic: topic.into(),
        payload: payload.to_vec(),
        qos,
        packet_id,
        ..Publish::default()
    }))
}

/// The PUBLISH packets among `packets`.
pub(crate) fn publishes(packets: &[Packet]) -> Vec<Publish> {
    packets
        .iter()
        .filter_map(|p| match p {
            Packet::Publish(publish) => Some((**publish).clone()),
            _ => None,
        })
        .collect()
}

/// The messages among `events`, as (topic, payload).
pub(crate) fn messages(events: &[Event]) -> Vec<(String, Vec<u8>)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Message(m) => Some((m.topic.clone(), m.payload.clone())),
            _ => None,
        })
        .collect()
}

/// The link-down reasons among `events`, with their links.
pub(crate) fn link_downs(events: &[Event]) -> Vec<(LinkId, crate::LinkDownReason)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::LinkDown { link, reason } => Some((*link, reason.clone())),
            _ => None,
        })
        .collect()
}

/// The DISCONNECT reason codes among `packets`.
pub(crate) fn disconnects(packets: &[Packet]) -> Vec<u8> {
    packets
        .iter()
        .filter_map(|p| match p {
            Packet::Disconnect(d) => Some(d.reason),
            _ => None,
        })
        .collect()
}
