//! What tabs sharing one connection tell each other over their `BroadcastChannel`, as bytes.
//!
//! Pure: encoded and decoded here, tested natively. Each message is one `Uint8Array`: a tag byte,
//! then its fields (unsigned LEB128 integers, length-prefixed strings and byte strings). A message
//! that does not decode (another version of the app uses another channel name, so this means a
//! bug or a script on the page) is ignored by the receiver, never half-applied.
//!
//! Times cross tabs as durations: each tab's `performance.now()` has its own origin, so an
//! [`Instant`] of the leader's means nothing in a follower. `Connected { since }` travels as
//! "up for N ms" and `Backoff { retry_at }` as "retry in N ms", rebuilt on the receiver's clock.

use std::time::Duration;

use mqtt_lifecycle::{
    ConnectionState, DeliveryStatus, DropReason, DroppedMessage, IncomingMessage, Instant,
    OutgoingPublish, ProtocolVersion, PubAckReason, QoS, Reason, Refusal, RefusalReason, Status,
    SubscribeReason, SubscriptionStatus, UnsubscribeReason,
};

use crate::driver::Snapshot;

/// One message between tabs. Followers send the first four to the leader; the leader sends the
/// rest to every follower.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wire {
    /// A tab's whole subscription set (sent when it changes and whenever a new leader speaks).
    Join {
        /// The sending tab.
        tab: u64,
        /// Its filters, each with its QoS.
        filters: Vec<(String, QoS)>,
    },
    /// A tab's publish, numbered by the tab; sent again with the same number to a new leader
    /// until a final delivery status comes back.
    Publish {
        /// The sending tab.
        tab: u64,
        /// The tab's number for it (its `PublishId`).
        seq: u64,
        /// Topic, payload, QoS, retain (v5 properties are not relayed).
        message: OutgoingPublish,
    },
    /// The tab is going away: its subscriptions no longer count.
    Leave {
        /// The leaving tab.
        tab: u64,
    },
    /// The user asked to retry now (in a follower).
    Retry,
    /// The leader: who it is and the client id of the session every leader uses.
    Leader {
        /// The leader's tab.
        tab: u64,
        /// The MQTT client id, reused by the next leader.
        client_id: String,
    },
    /// The connection's state, subscription statuses and user, as the leader's driver has them.
    State(Snapshot),
    /// A message from the broker, for every tab that subscribes to its topic.
    Message(IncomingMessage),
    /// Progress of one tab's publish.
    Delivery {
        /// The tab that published it.
        tab: u64,
        /// That tab's number for it.
        seq: u64,
        /// Its new status (a drop's reason travels in words).
        status: DeliveryStatus,
    },
    /// An incoming message above the maximum packet size was skipped.
    Dropped(DroppedMessage),
    /// The messages (and news of dropped ones) the leader received in one task, posted once:
    /// every tab keeps those its filters match. The leader's own second listener on the channel
    /// hears it too: then the channel has handed it (and everything posted before it) to every
    /// tab, and the leader sends the acknowledgements it held for batch `n`.
    Batch {
        /// The leader's tab.
        tab: u64,
        /// The leader's number for this batch.
        n: u64,
        /// Only [`Wire::Message`] and [`Wire::Dropped`].
        items: Vec<Wire>,
    },
}

/// The tag byte of [`Wire::Batch`]: the leader's echo listener looks at this byte only, and
/// reads no more than [`BATCH_HEADER_MAX`] bytes of it.
pub const BATCH_TAG: u8 = 15;

/// The longest a batch's header (tag, tab, number) can be: a tag byte and two 10-byte integers.
pub const BATCH_HEADER_MAX: usize = 21;

/// A message that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unreadable message between tabs")]
pub struct WireError;

type Read<T> = Result<T, WireError>;

impl Wire {
    /// The bytes of this message; `now` is the sender's clock (for the state's times).
    pub fn encode(&self, now: Instant) -> Vec<u8> {
        let mut w = Writer(Vec::with_capacity(32));
        self.write(&mut w, now);
        w.0
    }

    /// Appends this message's bytes to `out` (an item of a batch, see [`Wire::batch`]).
    pub fn append_to(&self, out: &mut Vec<u8>, now: Instant) {
        let mut w = Writer(std::mem::take(out));
        self.write(&mut w, now);
        *out = w.0;
    }

    /// The bytes of a [`Wire::Batch`] of `count` items whose bytes, one after the other (each
    /// from [`Wire::append_to`]), are `items`.
    pub fn batch(tab: u64, n: u64, count: u64, items: &[u8]) -> Vec<u8> {
        let mut w = Writer(Vec::with_capacity(BATCH_HEADER_MAX + 10 + items.len()));
        w.u8(BATCH_TAG);
        w.int(tab);
        w.int(n);
        w.int(count);
        w.0.extend_from_slice(items);
        w.0
    }

    /// The tab and number of a batch from the start of its bytes (the rest is not read).
    pub fn batch_header(bytes: &[u8]) -> Option<(u64, u64)> {
        let mut r = Reader(bytes);
        (r.u8().ok()? == BATCH_TAG).then_some(())?;
        Some((r.int().ok()?, r.int().ok()?))
    }

    fn write(&self, w: &mut Writer, now: Instant) {
        match self {
            Wire::Join { tab, filters } => {
                w.u8(1);
                w.int(*tab);
                w.int(filters.len() as u64);
                for (filter, qos) in filters {
                    w.str(filter);
                    w.u8(*qos as u8);
                }
            }
            Wire::Publish { tab, seq, message } => {
                w.u8(2);
                w.int(*tab);
                w.int(*seq);
                w.str(&message.topic);
                w.bytes(&message.payload);
                w.u8(message.qos as u8);
                w.u8(u8::from(message.retain));
            }
            Wire::Leave { tab } => {
                w.u8(3);
                w.int(*tab);
            }
            Wire::Retry => w.u8(4),
            Wire::Leader { tab, client_id } => {
                w.u8(10);
                w.int(*tab);
                w.str(client_id);
            }
            Wire::State(snapshot) => {
                w.u8(11);
                w.state(&snapshot.status.state, now);
                w.opt_str(
                    snapshot
                        .status
                        .reason
                        .as_ref()
                        .map(ToString::to_string)
                        .as_deref(),
                );
                w.opt_str(snapshot.user_id.as_deref());
                w.int(snapshot.subscriptions.len() as u64);
                for (filter, status) in &snapshot.subscriptions {
                    w.str(filter);
                    match status {
                        SubscriptionStatus::Pending => w.u8(0),
                        SubscriptionStatus::Granted(qos) => {
                            w.u8(1);
                            w.u8(*qos as u8);
                        }
                        SubscriptionStatus::Refused(refusal) => {
                            w.u8(2);
                            w.refusal(refusal);
                        }
                    }
                }
            }
            Wire::Message(m) => {
                w.u8(12);
                w.str(&m.topic);
                w.bytes(&m.payload);
                w.u8((m.qos as u8) | (u8::from(m.retain) << 2) | (u8::from(m.dup) << 3));
            }
            Wire::Delivery { tab, seq, status } => {
                w.u8(13);
                w.int(*tab);
                w.int(*seq);
                match status {
                    DeliveryStatus::Sent => w.u8(0),
                    DeliveryStatus::Acknowledged => w.u8(1),
                    DeliveryStatus::Refused(refusal) => {
                        w.u8(2);
                        w.refusal(refusal);
                    }
                    DeliveryStatus::Dropped(reason) => {
                        w.u8(3);
                        w.str(&reason.to_string());
                    }
                }
            }
            Wire::Dropped(d) => {
                w.u8(14);
                w.str(&d.topic);
                w.int(d.size);
                w.u8(d.qos as u8);
                w.int(u64::from(d.maximum));
            }
            Wire::Batch { tab, n, items } => {
                w.u8(BATCH_TAG);
                w.int(*tab);
                w.int(*n);
                w.int(items.len() as u64);
                for item in items {
                    item.write(w, now);
                }
            }
        }
    }

    /// Reads a message; `now` is the receiver's clock.
    pub fn decode(bytes: &[u8], now: Instant) -> Result<Wire, WireError> {
        let mut r = Reader(bytes);
        let wire = Self::read(&mut r, now)?;
        if r.0.is_empty() {
            Ok(wire)
        } else {
            Err(WireError)
        }
    }

    fn read(r: &mut Reader<'_>, now: Instant) -> Read<Wire> {
        Ok(match r.u8()? {
            1 => {
                let tab = r.int()?;
                let n = r.int()?;
                let mut filters = Vec::new();
                for _ in 0..n {
                    filters.push((r.string()?, r.qos()?));
                }
                Wire::Join { tab, filters }
            }
            2 => {
                let (tab, seq) = (r.int()?, r.int()?);
                let (topic, payload, qos) = (r.string()?, r.bytes()?.to_vec(), r.qos()?);
                let mut message = OutgoingPublish::new(topic, payload, qos);
                message.retain = r.flag()?;
                Wire::Publish { tab, seq, message }
            }
            3 => Wire::Leave { tab: r.int()? },
            4 => Wire::Retry,
            10 => Wire::Leader {
                tab: r.int()?,
                client_id: r.string()?,
            },
            11 => {
                let state = r.state(now)?;
                let reason = r.opt_string()?.map(Reason::Relayed);
                let user_id = r.opt_string()?;
                let mut subscriptions = crate::Subscriptions::new();
                for _ in 0..r.int()? {
                    let filter = r.string()?;
                    let status = match r.u8()? {
                        0 => SubscriptionStatus::Pending,
                        1 => SubscriptionStatus::Granted(r.qos()?),
                        2 => SubscriptionStatus::Refused(r.refusal()?),
                        _ => return Err(WireError),
                    };
                    subscriptions.insert(filter, status);
                }
                Wire::State(Snapshot {
                    status: Status { state, reason },
                    subscriptions,
                    user_id,
                })
            }
            12 => {
                let (topic, payload) = (r.string()?, r.bytes()?.to_vec());
                let flags = r.u8()?;
                if flags >> 4 != 0 {
                    return Err(WireError);
                }
                Wire::Message(IncomingMessage {
                    topic,
                    payload,
                    qos: qos(flags & 3)?,
                    retain: flags & 4 != 0,
                    dup: flags & 8 != 0,
                    properties: Default::default(),
                })
            }
            13 => {
                let (tab, seq) = (r.int()?, r.int()?);
                let status = match r.u8()? {
                    0 => DeliveryStatus::Sent,
                    1 => DeliveryStatus::Acknowledged,
                    2 => DeliveryStatus::Refused(r.refusal()?),
                    3 => DeliveryStatus::Dropped(DropReason::NotAccepted(r.string()?)),
                    _ => return Err(WireError),
                };
                Wire::Delivery { tab, seq, status }
            }
            14 => Wire::Dropped(DroppedMessage {
                topic: r.string()?,
                size: r.int()?,
                qos: r.qos()?,
                maximum: u32::try_from(r.int()?).map_err(|_| WireError)?,
            }),
            BATCH_TAG => {
                let (tab, n) = (r.int()?, r.int()?);
                let mut items = Vec::new();
                for _ in 0..r.int()? {
                    // Only a message or a drop, checked before reading: no batch in a batch
                    // (each level would be one more call on the stack).
                    if !matches!(r.0.first(), Some(12 | 14)) {
                        return Err(WireError);
                    }
                    items.push(Self::read(r, now)?);
                }
                Wire::Batch { tab, n, items }
            }
            _ => return Err(WireError),
        })
    }
}

fn qos(byte: u8) -> Read<QoS> {
    match byte {
        0 => Ok(QoS::AtMostOnce),
        1 => Ok(QoS::AtLeastOnce),
        2 => Ok(QoS::ExactlyOnce),
        _ => Err(WireError),
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

struct Writer(Vec<u8>);

impl Writer {
    fn u8(&mut self, b: u8) {
        self.0.push(b);
    }

    fn int(&mut self, mut n: u64) {
        loop {
            let low = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                self.0.push(low);
                return;
            }
            self.0.push(low | 0x80);
        }
    }

    fn bytes(&mut self, b: &[u8]) {
        self.int(b.len() as u64);
        self.0.extend_from_slice(b);
    }

    fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }

    fn opt_str(&mut self, s: Option<&str>) {
        match s {
            Some(s) => {
                self.u8(1);
                self.str(s);
            }
            None => self.u8(0),
        }
    }

    fn refusal(&mut self, refusal: &Refusal) {
        self.u8(match refusal.reason {
            RefusalReason::Subscribe(_) => 0,
            RefusalReason::Unsubscribe(_) => 1,
            RefusalReason::Publish(_) => 2,
        });
        self.u8(refusal.code);
        self.opt_str(refusal.reason_string.as_deref());
    }

    fn state(&mut self, state: &ConnectionState, now: Instant) {
        let age = |since: &Instant| millis(now.saturating_duration_since(*since));
        match state {
            ConnectionState::Idle => self.u8(0),
            ConnectionState::FetchingToken => self.u8(1),
            ConnectionState::Connecting => self.u8(2),
            ConnectionState::Connected {
                since,
                session_present,
            } => {
                self.u8(3);
                self.int(age(since));
                self.u8(u8::from(*session_present));
            }
            ConnectionState::Rotating { since } => {
                self.u8(4);
                self.int(age(since));
            }
            ConnectionState::Backoff { attempt, retry_at } => {
                self.u8(5);
                self.int(u64::from(*attempt));
                self.int(millis(retry_at.saturating_duration_since(now)));
            }
            ConnectionState::Offline => self.u8(6),
            ConnectionState::SignedOut => self.u8(7),
            ConnectionState::AuthFailed => self.u8(8),
            ConnectionState::Closed => self.u8(9),
        }
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn u8(&mut self) -> Read<u8> {
        let (&b, rest) = self.0.split_first().ok_or(WireError)?;
        self.0 = rest;
        Ok(b)
    }

    fn int(&mut self) -> Read<u64> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.u8()?;
            let bits = u64::from(b & 0x7f);
            if shift == 63 && bits > 1 {
                return Err(WireError);
            }
            n |= bits << shift;
            if b & 0x80 == 0 {
                return Ok(n);
            }
        }
        Err(WireError)
    }

    fn bytes(&mut self) -> Read<&'a [u8]> {
        let len = usize::try_from(self.int()?).map_err(|_| WireError)?;
        if len > self.0.len() {
            return Err(WireError);
        }
        let (b, rest) = self.0.split_at(len);
        self.0 = rest;
        Ok(b)
    }

    fn string(&mut self) -> Read<String> {
        std::str::from_utf8(self.bytes()?)
            .map(str::to_owned)
            .map_err(|_| WireError)
    }

    fn opt_string(&mut self) -> Read<Option<String>> {
        match self.u8()? {
            0 => Ok(None),
            1 => self.string().map(Some),
            _ => Err(WireError),
        }
    }

    fn flag(&mut self) -> Read<bool> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(WireError),
        }
    }

    fn qos(&mut self) -> Read<QoS> {
        qos(self.u8()?)
    }

    fn refusal(&mut self) -> Read<Refusal> {
        let kind = self.u8()?;
        let code = self.u8()?;
        let v5 = ProtocolVersion::V5;
        let reason = match kind {
            0 => RefusalReason::Subscribe(SubscribeReason::from_code(v5, code)),
            1 => RefusalReason::Unsubscribe(UnsubscribeReason::from_code(v5, code)),
            2 => RefusalReason::Publish(PubAckReason::from_code(v5, code)),
            _ => return Err(WireError),
        };
        Ok(Refusal {
            reason,
            code,
            reason_string: self.opt_string()?,
        })
    }

    fn state(&mut self, now: Instant) -> Read<ConnectionState> {
        let ago = |ms: u64| Instant::from_millis(now.as_millis().saturating_sub(ms));
        Ok(match self.u8()? {
            0 => ConnectionState::Idle,
            1 => ConnectionState::FetchingToken,
            2 => ConnectionState::Connecting,
            3 => ConnectionState::Connected {
                since: ago(self.int()?),
                session_present: self.flag()?,
            },
            4 => ConnectionState::Rotating {
                since: ago(self.int()?),
            },
            5 => ConnectionState::Backoff {
                attempt: u32::try_from(self.int()?).map_err(|_| WireError)?,
                retry_at: now + Duration::from_millis(self.int()?),
            },
            6 => ConnectionState::Offline,
            7 => ConnectionState::SignedOut,
            8 => ConnectionState::AuthFailed,
            9 => ConnectionState::Closed,
            _ => return Err(WireError),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mqtt_lifecycle::QoS::{AtLeastOnce, AtMostOnce};

    fn at(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    fn round_trip(wire: &Wire) -> Wire {
        Wire::decode(&wire.encode(at(5_000)), at(5_000)).expect("decodes")
    }

    #[test]
    fn commands_and_events_survive_the_trip() {
        let mut retained = OutgoingPublish::new("chat/r/presence/a/1", "{}", AtLeastOnce);
        retained.retain = true;
        let cases = [
            Wire::Join {
                tab: u64::MAX,
                filters: vec![
                    ("chat/r/messages/+".into(), AtLeastOnce),
                    ("x".into(), AtMostOnce),
                ],
            },
            Wire::Join {
                tab: 0,
                filters: vec![],
            },
            Wire::Publish {
                tab: 7,
                seq: 300,
                message: retained,
            },
            Wire::Publish {
                tab: 7,
                seq: 1,
                message: OutgoingPublish::new("t", vec![0u8, 255, 10], QoS::ExactlyOnce),
            },
            Wire::Leave { tab: 9 },
            Wire::Retry,
            Wire::Leader {
                tab: 3,
                client_id: "livechat-00ab12cd34ef".into(),
            },
            Wire::Message(IncomingMessage {
                topic: "chat/r/messages/bob".into(),
                payload: "{\"text\":\"é\"}".into(),
                qos: AtLeastOnce,
                retain: true,
                dup: true,
                properties: Default::default(),
            }),
            Wire::Delivery {
                tab: 4,
                seq: 2,
                status: DeliveryStatus::Acknowledged,
            },
            Wire::Delivery {
                tab: 4,
                seq: 3,
                status: DeliveryStatus::Sent,
            },
            Wire::Dropped(DroppedMessage {
                topic: "big".into(),
                size: 70_000,
                qos: AtLeastOnce,
                maximum: 65_536,
            }),
            Wire::Batch {
                tab: 3,
                n: 0,
                items: vec![],
            },
            Wire::Batch {
                tab: u64::MAX,
                n: 1 << 40,
                items: vec![
                    Wire::Message(IncomingMessage {
                        topic: "chat/r/messages/bob".into(),
                        payload: vec![0, 1, 2],
                        qos: AtLeastOnce,
                        retain: false,
                        dup: false,
                        properties: Default::default(),
                    }),
                    Wire::Dropped(DroppedMessage {
                        topic: "big".into(),
                        size: 70_000,
                        qos: AtLeastOnce,
                        maximum: 65_536,
                    }),
                ],
            },
        ];
        for wire in cases {
            assert_eq!(round_trip(&wire), wire);
        }
    }

    #[test]
    fn refusals_keep_their_code_and_words_and_a_drop_its_words() {
        let refusal = Refusal {
            reason: RefusalReason::Publish(PubAckReason::NotAuthorized),
            code: 0x87,
            reason_string: Some("not your topic".into()),
        };
        let refused = Wire::Delivery {
            tab: 1,
            seq: 1,
            status: DeliveryStatus::Refused(refusal),
        };
        assert_eq!(round_trip(&refused), refused);
        let dropped = Wire::Delivery {
            tab: 1,
            seq: 2,
            status: DeliveryStatus::Dropped(DropReason::RetainNotSupported),
        };
        let Wire::Delivery {
            status: DeliveryStatus::Dropped(reason),
            ..
        } = round_trip(&dropped)
        else {
            panic!("a drop")
        };
        assert_eq!(
            reason.to_string(),
            DropReason::RetainNotSupported.to_string()
        );
    }

    #[test]
    fn the_state_travels_as_durations_on_the_receivers_clock() {
        let mut subscriptions = crate::Subscriptions::new();
        subscriptions.insert("a/+".to_owned(), SubscriptionStatus::Granted(AtLeastOnce));
        subscriptions.insert("b".to_owned(), SubscriptionStatus::Pending);
        subscriptions.insert(
            "c".to_owned(),
            SubscriptionStatus::Refused(Refusal {
                reason: RefusalReason::Subscribe(SubscribeReason::NotAuthorized),
                code: 0x87,
                reason_string: None,
            }),
        );
        let leader = Snapshot {
            status: Status {
                state: ConnectionState::Backoff {
                    attempt: 2,
                    retry_at: at(13_000),
                },
                reason: Some(Reason::LinkClosed),
            },
            subscriptions,
            user_id: Some("alice".into()),
        };
        // The leader's clock says 10 s, the follower's 100 s: retry in 3 s either way.
        let bytes = Wire::State(leader.clone()).encode(at(10_000));
        let Ok(Wire::State(follower)) = Wire::decode(&bytes, at(100_000)) else {
            panic!("a state")
        };
        assert_eq!(
            follower.status.state,
            ConnectionState::Backoff {
                attempt: 2,
                retry_at: at(103_000)
            }
        );
        assert_eq!(
            follower.status.reason,
            Some(Reason::Relayed(Reason::LinkClosed.to_string()))
        );
        assert_eq!(follower.subscriptions, leader.subscriptions);
        assert_eq!(follower.user_id.as_deref(), Some("alice"));

        let up = Snapshot {
            status: Status {
                state: ConnectionState::Connected {
                    since: at(4_000),
                    session_present: true,
                },
                reason: None,
            },
            subscriptions: crate::Subscriptions::new(),
            user_id: None,
        };
        let Ok(Wire::State(seen)) = Wire::decode(&Wire::State(up).encode(at(10_000)), at(7_000))
        else {
            panic!("a state")
        };
        assert_eq!(
            seen.status.state,
            ConnectionState::Connected {
                since: at(1_000),
                session_present: true
            }
        );
    }

    #[test]
    fn a_batch_gathered_item_by_item_reads_as_the_batch_and_its_header_alone() {
        let items = vec![
            Wire::Message(IncomingMessage {
                topic: "a".into(),
                payload: b"one".to_vec(),
                qos: AtLeastOnce,
                retain: false,
                dup: true,
                properties: Default::default(),
            }),
            Wire::Message(IncomingMessage {
                topic: "b".into(),
                payload: vec![],
                qos: AtMostOnce,
                retain: true,
                dup: false,
                properties: Default::default(),
            }),
        ];
        let mut gathered = Vec::new();
        for item in &items {
            item.append_to(&mut gathered, at(0));
        }
        let bytes = Wire::batch(u64::MAX, 300, items.len() as u64, &gathered);
        let whole = Wire::Batch {
            tab: u64::MAX,
            n: 300,
            items,
        };
        assert_eq!(bytes, whole.encode(at(0)));
        assert_eq!(Wire::decode(&bytes, at(0)), Ok(whole));
        // The echo listener hands over at most the header's length.
        assert!(bytes.len() > BATCH_HEADER_MAX);
        assert_eq!(
            Wire::batch_header(&bytes[..BATCH_HEADER_MAX]),
            Some((u64::MAX, 300))
        );
        assert_eq!(Wire::batch_header(&Wire::Retry.encode(at(0))), None);
        assert_eq!(Wire::batch_header(&[BATCH_TAG, 0x80]), None);
    }

    #[test]
    fn a_batch_holds_only_messages_and_drops() {
        let mut inner = Vec::new();
        Wire::Leave { tab: 1 }.append_to(&mut inner, at(0));
        assert_eq!(
            Wire::decode(&Wire::batch(1, 0, 1, &inner), at(0)),
            Err(WireError)
        );
        let nested = Wire::batch(1, 0, 0, &[]);
        assert_eq!(
            Wire::decode(&Wire::batch(1, 1, 1, &nested), at(0)),
            Err(WireError)
        );
        // More items announced than there are.
        assert_eq!(
            Wire::decode(&Wire::batch(1, 0, 2, &[]), at(0)),
            Err(WireError)
        );
    }

    #[test]
    fn anything_else_is_refused_whole() {
        let good = Wire::Leader {
            tab: 1,
            client_id: "c".into(),
        }
        .encode(at(0));
        let bad: Vec<Vec<u8>> = vec![
            vec![],
            vec![0],
            vec![99, 1],
            good[..good.len() - 1].to_vec(),
            [good.as_slice(), &[0]].concat(),
            vec![1, 1, 1, 1, b'a', 3], // QoS 3
            vec![
                3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
            ], // > u64
            vec![10, 1, 2, 0xc3, 0x28], // not UTF-8
            vec![10, 1, 200, b'a'],    // length past the end
        ];
        for bad in &bad {
            assert_eq!(Wire::decode(bad, at(0)), Err(WireError), "{bad:?}");
        }
    }
}
