//! The desired subscription set and its reconciliation with the server.

use mqtt_codec::packet::{ProtocolVersion, QoS, SubscribeFilter};
use mqtt_codec::reason::{SubscribeReason, UnsubscribeReason};

use crate::event::{Event, ProtocolError, Refusal, RefusalReason};

/// Where one desired filter stands with the server, as the application sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubscriptionStatus {
    /// Asked for; no SUBACK yet on the current server session (queued while offline, or in
    /// flight).
    Pending,
    /// The server granted it with this maximum QoS.
    Granted(QoS),
    /// The server refused it (retried on a fresh session or a new `subscribe`).
    Refused(Refusal),
}

/// Where one desired filter stands, with the packet id it waits for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Stage {
    /// Not yet sent on the current server session (offline, or waiting for a packet id).
    Pending,
    /// SUBSCRIBE written, SUBACK awaited.
    InFlight {
        /// Packet id of the SUBSCRIBE.
        packet_id: u16,
    },
    /// The server granted it.
    Granted(QoS),
    /// The server refused it.
    Refused(Refusal),
}

impl Stage {
    fn status(&self) -> SubscriptionStatus {
        match self {
            Stage::Pending | Stage::InFlight { .. } => SubscriptionStatus::Pending,
            Stage::Granted(qos) => SubscriptionStatus::Granted(*qos),
            Stage::Refused(refusal) => SubscriptionStatus::Refused(refusal.clone()),
        }
    }
}

#[derive(Debug, Clone)]
struct Desired {
    options: SubscribeFilter,
    state: Stage,
}

/// A SUBSCRIBE or UNSUBSCRIBE written on the active link and not yet acknowledged.
#[derive(Debug, Clone)]
enum Request {
    Subscribe(Vec<String>),
    Unsubscribe(Vec<String>),
}

/// What the application wants subscribed, and what is still to be told to the server.
#[derive(Debug, Default)]
pub(crate) struct Subscriptions {
    desired: DesiredSet,
    /// Filters removed from the desired set whose UNSUBSCRIBE is not yet written.
    to_unsubscribe: FilterSet,
    /// Requests in flight on the active link, with their packet ids.
    requests: Vec<(u16, Request)>,
}

// Sorted `Vec`s instead of `BTreeMap`/`BTreeSet`/`HashMap`: these sets hold a handful of
// filters, and every B-tree or hash-table instantiation costs the wasm about a kilobyte (issue 15).

/// The desired filters, sorted by filter (the key is the entry's own `options.filter`).
#[derive(Debug, Default)]
struct DesiredSet(Vec<Desired>);

impl DesiredSet {
    fn find(&self, filter: &str) -> Result<usize, usize> {
        self.0
            .binary_search_by(|d| d.options.filter.as_str().cmp(filter))
    }

    fn get(&self, filter: &str) -> Option<&Desired> {
        self.find(filter).ok().map(|i| &self.0[i])
    }

    fn get_mut(&mut self, filter: &str) -> Option<&mut Desired> {
        match self.find(filter) {
            Ok(i) => Some(&mut self.0[i]),
            Err(_) => None,
        }
    }

    fn contains_key(&self, filter: &str) -> bool {
        self.find(filter).is_ok()
    }

    fn insert(&mut self, desired: Desired) {
        match self.find(&desired.options.filter) {
            Ok(i) => self.0[i] = desired,
            Err(i) => self.0.insert(i, desired),
        }
    }

    fn remove(&mut self, filter: &str) {
        if let Ok(i) = self.find(filter) {
            self.0.remove(i);
        }
    }

    fn values(&self) -> std::slice::Iter<'_, Desired> {
        self.0.iter()
    }

    fn values_mut(&mut self) -> std::slice::IterMut<'_, Desired> {
        self.0.iter_mut()
    }
}

/// A set of filters, sorted.
#[derive(Debug, Default)]
struct FilterSet(Vec<String>);

impl FilterSet {
    fn find(&self, filter: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|f| f.as_str().cmp(filter))
    }

    fn contains(&self, filter: &str) -> bool {
        self.find(filter).is_ok()
    }

    fn insert(&mut self, filter: String) {
        if let Err(i) = self.find(&filter) {
            self.0.insert(i, filter);
        }
    }

    fn remove(&mut self, filter: &str) {
        if let Ok(i) = self.find(filter) {
            self.0.remove(i);
        }
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Every filter, in order; the set is left empty.
    fn take(&mut self) -> Vec<String> {
        std::mem::take(&mut self.0)
    }
}

/// The request waiting for `packet_id`, if any.
fn request(requests: &[(u16, Request)], packet_id: u16) -> Option<&Request> {
    requests
        .iter()
        .find(|(id, _)| *id == packet_id)
        .map(|(_, r)| r)
}

/// Removes and returns the request waiting for `packet_id`.
fn take_request(requests: &mut Vec<(u16, Request)>, packet_id: u16) -> Option<Request> {
    let i = requests.iter().position(|(id, _)| *id == packet_id)?;
    Some(requests.remove(i).1)
}

impl Subscriptions {
    /// Subscription changes still waiting to be written (they count against the queue limit).
    pub(crate) fn pending_ops(&self) -> usize {
        self.desired
            .values()
            .filter(|d| matches!(d.state, Stage::Pending))
            .count()
            + self.to_unsubscribe.len()
    }

    /// Whether adding or changing `filter` adds a waiting operation.
    pub(crate) fn subscribe_adds_op(&self, options: &SubscribeFilter) -> bool {
        match self.desired.get(&options.filter) {
            Some(d) => !matches!(d.state, Stage::Pending) && !self.is_current(d, options),
            None => true,
        }
    }

    fn is_current(&self, desired: &Desired, options: &SubscribeFilter) -> bool {
        desired.options == *options
            && matches!(desired.state, Stage::InFlight { .. } | Stage::Granted(_))
    }

    /// Records the wish; returns false when nothing needs to be sent (same options already
    /// granted or in flight).
    pub(crate) fn subscribe(&mut self, options: SubscribeFilter) -> bool {
        self.to_unsubscribe.remove(&options.filter);
        if let Some(d) = self.desired.get(&options.filter) {
            if self.is_current(d, &options) {
                return false;
            }
        }
        self.desired.insert(Desired {
            options,
            state: Stage::Pending,
        });
        true
    }

    /// Removes `filter` from the desired set and schedules an UNSUBSCRIBE. It is sent even for
    /// a filter this session never subscribed: the server may hold it from an earlier session,
    /// unsubscribing is harmless, and every call then gets its `Unsubscribed` event.
    pub(crate) fn unsubscribe(&mut self, filter: &str) {
        self.desired.remove(filter);
        self.to_unsubscribe.insert(filter.to_owned());
    }

    /// Whether unsubscribing `filter` adds a waiting operation.
    pub(crate) fn unsubscribe_adds_op(&self, filter: &str) -> bool {
        !self.to_unsubscribe.contains(filter)
    }

    pub(crate) fn has_pending_subscribe(&self) -> bool {
        self.desired
            .values()
            .any(|d| matches!(d.state, Stage::Pending))
    }

    /// Whether a SUBSCRIBE or UNSUBSCRIBE awaits its answer.
    pub(crate) fn has_requests_in_flight(&self) -> bool {
        !self.requests.is_empty()
    }

    pub(crate) fn has_pending_unsubscribe(&self) -> bool {
        !self.to_unsubscribe.is_empty()
    }

    /// Marks every pending filter in flight under `packet_id` and returns them for SUBSCRIBE.
    pub(crate) fn start_subscribe(&mut self, packet_id: u16) -> Vec<SubscribeFilter> {
        let mut filters = Vec::new();
        for d in self.desired.values_mut() {
            if matches!(d.state, Stage::Pending) {
                d.state = Stage::InFlight { packet_id };
                filters.push(d.options.clone());
            }
        }
        self.requests.push((
            packet_id,
            Request::Subscribe(filters.iter().map(|f| f.filter.clone()).collect()),
        ));
        filters
    }

    /// Moves every pending unsubscribe in flight under `packet_id` and returns the filters.
    pub(crate) fn start_unsubscribe(&mut self, packet_id: u16) -> Vec<String> {
        let filters = self.to_unsubscribe.take();
        self.requests
            .push((packet_id, Request::Unsubscribe(filters.clone())));
        filters
    }

    /// Applies a SUBACK; returns the per-filter events.
    pub(crate) fn on_suback(
        &mut self,
        version: ProtocolVersion,
        packet_id: u16,
        codes: &[u8],
        reason_string: Option<&String>,
    ) -> Result<Vec<Event>, ProtocolError> {
        let filters = match request(&self.requests, packet_id) {
            Some(Request::Subscribe(filters)) => filters,
            _ => {
                return Err(ProtocolError::UnknownPacketId {
                    packet: "SUBACK",
                    packet_id,
                })
            }
        };
        if filters.len() != codes.len() {
            return Err(ProtocolError::AckCountMismatch {
                packet: "SUBACK",
                expected: filters.len(),
                received: codes.len(),
            });
        }
        let Some(Request::Subscribe(filters)) = take_request(&mut self.requests, packet_id) else {
            return Ok(Vec::new());
        };
        let mut events = Vec::with_capacity(filters.len());
        for (filter, &code) in filters.into_iter().zip(codes) {
            let reason = SubscribeReason::from_code(version, code);
            let result = match reason.granted_qos() {
                Some(qos) => Ok(qos),
                None => Err(Refusal {
                    reason: RefusalReason::Subscribe(reason),
                    code,
                    reason_string: reason_string.cloned(),
                }),
            };
            // The desired entry may have changed since (new options, or unsubscribed): only
            // the request it is waiting for decides its state.
            if let Some(d) = self.desired.get_mut(&filter) {
                if matches!(d.state, Stage::InFlight { packet_id: p } if p == packet_id) {
                    d.state = match &result {
                        Ok(qos) => Stage::Granted(*qos),
                        Err(refusal) => Stage::Refused(refusal.clone()),
                    };
                }
            }
            events.push(Event::Subscription { filter, result });
        }
        Ok(events)
    }

    /// Applies an UNSUBACK; returns the per-filter events. 3.1.1 UNSUBACK has no codes.
    pub(crate) fn on_unsuback(
        &mut self,
        version: ProtocolVersion,
        packet_id: u16,
        codes: &[u8],
        reason_string: Option<&String>,
    ) -> Result<Vec<Event>, ProtocolError> {
        let filters = match request(&self.requests, packet_id) {
            Some(Request::Unsubscribe(filters)) => filters,
            _ => {
                return Err(ProtocolError::UnknownPacketId {
                    packet: "UNSUBACK",
                    packet_id,
                })
            }
        };
        if version == ProtocolVersion::V5 && filters.len() != codes.len() {
            return Err(ProtocolError::AckCountMismatch {
                packet: "UNSUBACK",
                expected: filters.len(),
                received: codes.len(),
            });
        }
        let Some(Request::Unsubscribe(filters)) = take_request(&mut self.requests, packet_id)
        else {
            return Ok(Vec::new());
        };
        let events = filters
            .into_iter()
            .enumerate()
            .map(|(i, filter)| {
                let code = codes.get(i).copied().unwrap_or(0);
                let reason = UnsubscribeReason::from_code(version, code);
                let result = if reason.is_error() {
                    Err(Refusal {
                        reason: RefusalReason::Unsubscribe(reason),
                        code,
                        reason_string: reason_string.cloned(),
                    })
                } else {
                    Ok(())
                };
                Event::Unsubscribed { filter, result }
            })
            .collect();
        Ok(events)
    }

    /// The active link is gone: requests in flight on it go back to waiting. Returns their
    /// packet ids, to be released.
    pub(crate) fn link_lost(&mut self) -> Vec<u16> {
        let mut ids = Vec::with_capacity(self.requests.len());
        for (packet_id, request) in std::mem::take(&mut self.requests) {
            ids.push(packet_id);
            match request {
                Request::Subscribe(filters) => {
                    for filter in filters {
                        if let Some(d) = self.desired.get_mut(&filter) {
                            if matches!(d.state, Stage::InFlight { packet_id: p } if p == packet_id)
                            {
                                d.state = Stage::Pending;
                            }
                        }
                    }
                }
                Request::Unsubscribe(filters) => {
                    for filter in filters {
                        if !self.desired.contains_key(&filter) {
                            self.to_unsubscribe.insert(filter);
                        }
                    }
                }
            }
        }
        ids
    }

    /// The server has no session for us: every desired filter must be subscribed again (once),
    /// and pending unsubscribes are moot. Returns the `Unsubscribed` events for those.
    pub(crate) fn fresh_session(&mut self) -> Vec<Event> {
        for d in self.desired.values_mut() {
            d.state = Stage::Pending;
        }
        self.to_unsubscribe
            .take()
            .into_iter()
            .map(|filter| Event::Unsubscribed {
                filter,
                result: Ok(()),
            })
            .collect()
    }

    /// The session ended locally (`disconnect`): nothing is in flight any more and every
    /// desired filter must be subscribed again. Pending unsubscribes are kept: a 3.1.1 server
    /// may still hold the old session; a fresh v5 session resolves them (`fresh_session`).
    pub(crate) fn session_ended(&mut self) {
        self.requests.clear();
        for d in self.desired.values_mut() {
            d.state = Stage::Pending;
        }
    }

    /// Whether `filter` is desired with exactly these options.
    pub(crate) fn is_desired_as(&self, options: &SubscribeFilter) -> bool {
        self.desired
            .get(&options.filter)
            .is_some_and(|d| d.options == *options)
    }

    /// Status of one desired filter.
    pub(crate) fn status(&self, filter: &str) -> Option<SubscriptionStatus> {
        self.desired.get(filter).map(|d| d.state.status())
    }

    /// Every desired filter with its status.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, SubscriptionStatus)> {
        self.desired
            .values()
            .map(|d| (d.options.filter.as_str(), d.state.status()))
    }

    /// Every desired filter.
    pub(crate) fn filters(&self) -> impl Iterator<Item = &str> {
        self.desired.values().map(|d| d.options.filter.as_str())
    }
}
