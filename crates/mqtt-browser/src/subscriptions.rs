//! Per-filter subscription statuses and the declared subscription set.
//!
//! Pure bookkeeping, tested natively: the driver feeds it its commands and the supervisor's
//! events, the hook reads the statuses. The session itself restores subscriptions after a
//! reconnect; this table only mirrors what the application asked for and what the broker said.

use std::collections::{BTreeMap, BTreeSet};

use mqtt_lifecycle::{ClientEvent, QoS, Refusal};

/// Where one filter stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubscriptionStatus {
    /// Asked for; no SUBACK yet (queued while disconnected).
    Pending,
    /// The broker granted it with this maximum QoS.
    Granted(QoS),
    /// The broker refused it.
    Refused(Refusal),
}

/// What to send after the declared set changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubscriptionDiff {
    /// Newly declared filters.
    pub subscribe: Vec<String>,
    /// Filters no longer declared.
    pub unsubscribe: Vec<String>,
}

impl SubscriptionDiff {
    /// Nothing to do.
    pub fn is_empty(&self) -> bool {
        self.subscribe.is_empty() && self.unsubscribe.is_empty()
    }
}

/// The statuses of every filter the application asked for, plus the declared set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubscriptionTable {
    declared: BTreeSet<String>,
    statuses: BTreeMap<String, SubscriptionStatus>,
}

impl SubscriptionTable {
    /// Replaces the declared set; returns what to subscribe and unsubscribe. Each filter is in
    /// the diff once: re-declaring the same set is a no-op.
    pub fn declare<S: AsRef<str>>(&mut self, filters: &[S]) -> SubscriptionDiff {
        // Inserted one by one, not `collect`ed: collecting into a BTreeSet sorts a Vec first,
        // which brings a stable sort (4 KB of wasm) used nowhere else.
        let mut wanted = BTreeSet::new();
        for filter in filters {
            wanted.insert(filter.as_ref().to_owned());
        }
        let diff = SubscriptionDiff {
            subscribe: wanted.difference(&self.declared).cloned().collect(),
            unsubscribe: self.declared.difference(&wanted).cloned().collect(),
        };
        self.declared = wanted;
        diff
    }

    /// Records an imperative (or declared) subscribe: pending until the broker answers.
    pub fn subscribing(&mut self, filter: &str) {
        self.statuses
            .insert(filter.to_owned(), SubscriptionStatus::Pending);
    }

    /// Records an unsubscribe: the filter is forgotten at once.
    pub fn unsubscribing(&mut self, filter: &str) {
        self.statuses.remove(filter);
        self.declared.remove(filter);
    }

    /// Updates the statuses from a supervisor event. Results for filters the application
    /// already let go of are ignored.
    pub fn apply(&mut self, event: &ClientEvent) {
        if let ClientEvent::Subscription { filter, result } = event {
            if let Some(status) = self.statuses.get_mut(filter) {
                *status = match result {
                    Ok(qos) => SubscriptionStatus::Granted(*qos),
                    Err(refusal) => SubscriptionStatus::Refused(refusal.clone()),
                };
            }
        }
    }

    /// Every filter asked for and its status.
    pub fn statuses(&self) -> &BTreeMap<String, SubscriptionStatus> {
        &self.statuses
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declaring_a_set_subscribes_each_filter_once() {
        let mut table = SubscriptionTable::default();
        let diff = table.declare(&["chat/a", "chat/b", "chat/a"]);
        assert_eq!(
            diff.subscribe,
            vec!["chat/a".to_owned(), "chat/b".to_owned()]
        );
        assert!(diff.unsubscribe.is_empty());
        assert!(table.declare(&["chat/b", "chat/a"]).is_empty());
    }

    #[test]
    fn changing_the_declared_set_adds_and_removes_only_the_difference() {
        let mut table = SubscriptionTable::default();
        let _ = table.declare(&["chat/a", "chat/b"]);
        let diff = table.declare(&["chat/b", "chat/c"]);
        assert_eq!(diff.subscribe, vec!["chat/c".to_owned()]);
        assert_eq!(diff.unsubscribe, vec!["chat/a".to_owned()]);
    }

    #[test]
    fn a_subscription_is_pending_until_granted() {
        let mut table = SubscriptionTable::default();
        table.subscribing("chat/a");
        assert_eq!(table.statuses()["chat/a"], SubscriptionStatus::Pending);
        table.apply(&ClientEvent::Subscription {
            filter: "chat/a".into(),
            result: Ok(QoS::AtLeastOnce),
        });
        assert_eq!(
            table.statuses()["chat/a"],
            SubscriptionStatus::Granted(QoS::AtLeastOnce)
        );
    }

    #[test]
    fn a_result_for_a_dropped_filter_does_not_bring_it_back() {
        let mut table = SubscriptionTable::default();
        table.subscribing("chat/a");
        table.unsubscribing("chat/a");
        table.apply(&ClientEvent::Subscription {
            filter: "chat/a".into(),
            result: Ok(QoS::AtLeastOnce),
        });
        assert!(table.statuses().is_empty());
    }
}
