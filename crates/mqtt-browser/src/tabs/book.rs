//! The bookkeeping of tabs sharing one connection, with no browser in it (tested natively).
//!
//! - [`Filters`]: one tab's subscription set, changed by its `subscribe`, `unsubscribe` and
//!   `declare_subscriptions`, and whether a topic is for it ([`topic_matches`]).
//! - [`Outbox`]: one tab's publishes that have no final status yet, numbered by the tab; sent
//!   again, with the same numbers, to a new leader.
//! - [`LeaderBook`]: the leader's view of every tab: the union of their filters (a filter stays
//!   subscribed while at least one tab wants it, at the highest QoS any of them asked for), and
//!   which tab and number each of the session's publish ids belongs to.
//!
//! A handful of tabs and of publishes in flight: plain `Vec`s, searched linearly (each map
//! type instantiated costs the wasm build a kilobyte or more).

use mqtt_lifecycle::{
    check_filter, check_topic, subscription, CommandError, DeliveryStatus, OutgoingPublish,
    PublishId, QoS, SubscribeFilter,
};

/// Whether `topic` (a topic name) matches `filter` (MQTT §4.7: `+` one level, `#` the rest,
/// including the parent level; a filter starting with a wildcard does not match `$` topics).
pub fn topic_matches(filter: &str, topic: &str) -> bool {
    if topic.starts_with('$') && (filter.starts_with('+') || filter.starts_with('#')) {
        return false;
    }
    let mut topic_levels = topic.split('/');
    for level in filter.split('/') {
        match level {
            "#" => return true,
            "+" => {
                if topic_levels.next().is_none() {
                    return false;
                }
            }
            _ => {
                if topic_levels.next() != Some(level) {
                    return false;
                }
            }
        }
    }
    topic_levels.next().is_none()
}

/// One tab's subscription set, in the order asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters(Vec<(String, QoS)>);

impl Filters {
    /// The filters with their QoS.
    pub fn list(&self) -> &[(String, QoS)] {
        &self.0
    }

    /// Adds `filter` (or changes its QoS). An invalid filter is refused and changes nothing.
    pub fn subscribe(&mut self, filter: &str, qos: QoS) -> Result<(), CommandError> {
        check_filter(filter)?;
        match self.0.iter_mut().find(|(f, _)| f == filter) {
            Some(entry) => entry.1 = qos,
            None => self.0.push((filter.to_owned(), qos)),
        }
        Ok(())
    }

    /// Removes `filter`.
    pub fn unsubscribe(&mut self, filter: &str) -> Result<(), CommandError> {
        check_filter(filter)?;
        self.0.retain(|(f, _)| f != filter);
        Ok(())
    }

    /// Makes `filters` the whole set, at `qos`. Checked first: one invalid filter changes
    /// nothing.
    pub fn declare(&mut self, filters: &[String], qos: QoS) -> Result<(), CommandError> {
        for filter in filters {
            check_filter(filter)?;
        }
        self.0.clear();
        for filter in filters {
            if !self.0.iter().any(|(f, _)| f == filter) {
                self.0.push((filter.clone(), qos));
            }
        }
        Ok(())
    }

    /// Whether a message on `topic` is for this tab.
    pub fn wants(&self, topic: &str) -> bool {
        self.0.iter().any(|(f, _)| topic_matches(f, topic))
    }
}

/// One tab's publishes without a final status, by the tab's own number (the `PublishId` its
/// application got). Bounded like the session's offline queue.
#[derive(Debug, Clone)]
pub struct Outbox {
    next: u64,
    limit: usize,
    /// By number, ascending (numbers only grow).
    pending: Vec<(u64, OutgoingPublish)>,
}

impl Outbox {
    /// An empty outbox holding at most `limit` publishes.
    pub fn new(limit: usize) -> Self {
        Self {
            next: 1,
            limit,
            pending: Vec::new(),
        }
    }

    /// Takes `message` and gives it the next number; refused when its topic is invalid or
    /// `limit` publishes are waiting already.
    pub fn add(&mut self, message: &OutgoingPublish) -> Result<u64, CommandError> {
        check_topic(&message.topic)?;
        if self.pending.len() >= self.limit {
            return Err(CommandError::QueueFull { limit: self.limit });
        }
        let seq = self.next;
        self.next += 1;
        self.pending.push((seq, message.clone()));
        Ok(seq)
    }

    /// Records `status` for publish `seq`: a final one (acknowledged, refused, dropped, or
    /// sent at QoS 0) lets the publish go. Returns whether `seq` was waiting: a status for a
    /// publish already settled (the old leader's, arriving late) is not reported twice.
    pub fn settle(&mut self, seq: u64, status: &DeliveryStatus) -> bool {
        let Some(i) = self.pending.iter().position(|(s, _)| *s == seq) else {
            return false;
        };
        let done = match status {
            DeliveryStatus::Sent => self.pending[i].1.qos == QoS::AtMostOnce,
            _ => true,
        };
        if done {
            self.pending.remove(i);
        }
        true
    }

    /// What is still waiting, oldest first: sent again to a new leader.
    pub fn pending(&self) -> impl Iterator<Item = (u64, &OutgoingPublish)> {
        self.pending.iter().map(|(seq, m)| (*seq, m))
    }

    /// How many publishes are waiting.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// Whether none is waiting.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }
}

/// The leader's view of the tabs it serves.
#[derive(Debug, Default)]
pub struct LeaderBook {
    /// Each tab's filters, in the order the tabs joined.
    tabs: Vec<(u64, Vec<(String, QoS)>)>,
    /// The session's publish id, and the tab, that tab's number and the QoS it stands for.
    publishes: Vec<(PublishId, u64, u64, QoS)>,
    /// (tab, number) published through this leader and not final yet: a resend is not
    /// published twice.
    in_flight: Vec<(u64, u64)>,
}

impl LeaderBook {
    /// Sets `tab`'s whole filter set. Returns whether the union changed.
    pub fn join(&mut self, tab: u64, filters: &[(String, QoS)]) -> bool {
        let before = self.union();
        match self.tabs.iter_mut().find(|(t, _)| *t == tab) {
            Some(entry) => entry.1 = filters.to_vec(),
            None => self.tabs.push((tab, filters.to_vec())),
        }
        self.union() != before
    }

    /// Forgets `tab`. Returns whether the union changed.
    pub fn leave(&mut self, tab: u64) -> bool {
        let before = self.union();
        self.tabs.retain(|(t, _)| *t != tab);
        self.in_flight.retain(|(t, _)| *t != tab);
        self.publishes.retain(|(_, t, _, _)| *t != tab);
        self.union() != before
    }

    /// Whether `tab` has joined.
    pub fn knows(&self, tab: u64) -> bool {
        self.tabs.iter().any(|(t, _)| *t == tab)
    }

    /// Tabs other than `me` that joined.
    pub fn others(&self, me: u64) -> usize {
        self.tabs.iter().filter(|(t, _)| *t != me).count()
    }

    /// How many tabs want `filter`.
    pub fn refcount(&self, filter: &str) -> usize {
        self.tabs
            .iter()
            .filter(|(_, list)| list.iter().any(|(f, _)| f == filter))
            .count()
    }

    /// The session's subscription set: every filter some tab wants, at the highest QoS asked
    /// for, in the order first asked for.
    pub fn union(&self) -> Vec<SubscribeFilter> {
        let mut union: Vec<SubscribeFilter> = Vec::new();
        for (filter, qos) in self.tabs.iter().flat_map(|(_, list)| list) {
            match union.iter_mut().find(|s| s.filter == *filter) {
                Some(s) if (*qos as u8) > (s.qos as u8) => s.qos = *qos,
                Some(_) => {}
                None => union.push(subscription(filter.as_str(), *qos)),
            }
        }
        union
    }

    /// Whether (`tab`, `seq`) should be published now: false when it already was through this
    /// leader and is not final yet (a resend).
    pub fn start_publish(&mut self, tab: u64, seq: u64) -> bool {
        if self.in_flight.contains(&(tab, seq)) {
            return false;
        }
        self.in_flight.push((tab, seq));
        true
    }

    /// The session took (`tab`, `seq`), a publish at `qos`, as `id`.
    pub fn published(&mut self, id: PublishId, tab: u64, seq: u64, qos: QoS) {
        self.publishes.push((id, tab, seq, qos));
    }

    /// The session did not take (`tab`, `seq`): forget it.
    pub fn not_published(&mut self, tab: u64, seq: u64) {
        self.in_flight.retain(|e| *e != (tab, seq));
    }

    /// Whose publish `id` is, forgetting it once `status` is final (acknowledged, refused,
    /// dropped; at QoS 0 sent). `None` for an id this book does not know (not mapped yet, or its
    /// tab left).
    pub fn delivery(&mut self, id: PublishId, status: &DeliveryStatus) -> Option<(u64, u64)> {
        let i = self.publishes.iter().position(|(p, ..)| *p == id)?;
        let (_, tab, seq, qos) = self.publishes[i];
        if !matches!(status, DeliveryStatus::Sent) || qos == QoS::AtMostOnce {
            self.publishes.remove(i);
            self.in_flight.retain(|e| *e != (tab, seq));
        }
        Some((tab, seq))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mqtt_lifecycle::QoS::{AtLeastOnce, AtMostOnce, ExactlyOnce};

    #[test]
    fn topics_match_filters_as_mqtt_says() {
        for (filter, topic, expected) in [
            ("chat/r/messages/+", "chat/r/messages/bob", true),
            ("chat/r/messages/+", "chat/r/messages", false),
            ("chat/r/messages/+", "chat/r/messages/bob/x", false),
            ("chat/r/messages", "chat/r/messages", true),
            ("chat/r/presence/+/+", "chat/r/presence/a/1", true),
            ("chat/#", "chat", true),
            ("chat/#", "chat/a/b", true),
            ("#", "a", true),
            ("#", "$SYS/x", false),
            ("+/x", "$SYS/x", false),
            ("$SYS/#", "$SYS/x", true),
            ("a/+/c", "a//c", true),
            ("a", "b", false),
            ("chat/other/messages/+", "chat/r/messages/bob", false),
        ] {
            assert_eq!(topic_matches(filter, topic), expected, "{filter} {topic}");
        }
    }

    #[test]
    fn a_tabs_filters_follow_its_commands_and_refuse_bad_ones_whole() {
        let mut f = Filters::default();
        f.subscribe("a/+", AtLeastOnce).unwrap();
        f.subscribe("a/+", AtMostOnce).unwrap();
        assert_eq!(f.list(), [("a/+".to_owned(), AtMostOnce)]);
        assert!(f.wants("a/b") && !f.wants("b"));
        assert!(matches!(
            f.declare(&["x".into(), "a/#/b".into()], AtLeastOnce),
            Err(CommandError::InvalidFilter { .. })
        ));
        assert_eq!(f.list().len(), 1, "unchanged by the refused declaration");
        f.declare(&["x".into(), "y".into(), "x".into()], AtLeastOnce)
            .unwrap();
        assert_eq!(
            f.list(),
            [("x".to_owned(), AtLeastOnce), ("y".to_owned(), AtLeastOnce)]
        );
        f.unsubscribe("x").unwrap();
        assert!(!f.wants("x") && f.wants("y"));
    }

    #[test]
    fn the_outbox_keeps_each_publish_until_its_final_status() {
        let mut out = Outbox::new(2);
        let q1 = OutgoingPublish::new("t", "1", AtLeastOnce);
        let q0 = OutgoingPublish::new("t", "0", AtMostOnce);
        let a = out.add(&q1).unwrap();
        let b = out.add(&q0).unwrap();
        assert_eq!((a, b), (1, 2));
        assert!(matches!(
            out.add(&q1),
            Err(CommandError::QueueFull { limit: 2 })
        ));
        assert!(out.settle(a, &DeliveryStatus::Sent));
        assert!(
            out.settle(b, &DeliveryStatus::Sent),
            "QoS 0 is done once sent"
        );
        assert_eq!(out.pending().map(|(s, _)| s).collect::<Vec<_>>(), [1]);
        assert!(out.settle(a, &DeliveryStatus::Acknowledged));
        assert!(out.is_empty());
        assert!(
            !out.settle(a, &DeliveryStatus::Acknowledged),
            "reported once"
        );
        assert!(matches!(
            out.add(&OutgoingPublish::new("a/+", "x", AtMostOnce)),
            Err(CommandError::InvalidTopic { .. })
        ));
        assert_eq!(out.add(&q1).unwrap(), 3, "numbers are never reused");
    }

    #[test]
    fn the_union_counts_tabs_per_filter_at_the_highest_qos() {
        let mut book = LeaderBook::default();
        assert!(book.join(1, &[("a".into(), AtMostOnce), ("b".into(), AtLeastOnce)]));
        assert!(book.join(2, &[("a".into(), ExactlyOnce)]));
        assert!(
            !book.join(2, &[("a".into(), ExactlyOnce)]),
            "same set: nothing to do"
        );
        assert_eq!(book.refcount("a"), 2);
        let union: Vec<_> = book
            .union()
            .into_iter()
            .map(|s| (s.filter, s.qos))
            .collect();
        assert_eq!(
            union,
            [("a".to_owned(), ExactlyOnce), ("b".to_owned(), AtLeastOnce)]
        );
        assert_eq!(book.others(1), 1);
        // Tab 1 leaves: "b" goes, "a" stays for tab 2.
        assert!(book.leave(1));
        let union: Vec<_> = book.union().into_iter().map(|s| s.filter).collect();
        assert_eq!(union, ["a"]);
        assert!(!book.leave(1));
        assert!(book.leave(2));
        assert!(book.union().is_empty());
    }

    #[test]
    fn publish_ids_map_back_to_their_tab_until_final_and_resends_are_not_doubled() {
        let mut book = LeaderBook::default();
        book.join(5, &[]);
        assert!(book.start_publish(5, 1));
        assert!(!book.start_publish(5, 1), "a resend of one in flight");
        book.published(PublishId(40), 5, 1, AtLeastOnce);
        assert_eq!(
            book.delivery(PublishId(40), &DeliveryStatus::Sent),
            Some((5, 1))
        );
        assert_eq!(
            book.delivery(PublishId(40), &DeliveryStatus::Acknowledged),
            Some((5, 1))
        );
        assert_eq!(
            book.delivery(PublishId(40), &DeliveryStatus::Acknowledged),
            None
        );
        assert!(
            book.start_publish(5, 1),
            "final: a later resend is a new publish"
        );
        book.not_published(5, 1);
        assert!(book.start_publish(5, 1));
        book.published(PublishId(41), 5, 1, AtMostOnce);
        assert_eq!(
            book.delivery(PublishId(41), &DeliveryStatus::Sent),
            Some((5, 1))
        );
        assert_eq!(
            book.delivery(PublishId(41), &DeliveryStatus::Sent),
            None,
            "QoS 0: final"
        );
        // A tab that leaves takes its publishes with it.
        assert!(book.start_publish(5, 2));
        book.published(PublishId(42), 5, 2, AtLeastOnce);
        book.leave(5);
        assert_eq!(
            book.delivery(PublishId(42), &DeliveryStatus::Acknowledged),
            None
        );
    }
}
