//! A bounded least-recently-used set of message ids, used to drop duplicates.

use std::collections::{HashMap, VecDeque};

/// Remembers the most recently seen `capacity` ids; older ones are forgotten.
///
/// Seeing an id again refreshes it. The order queue may hold stale entries for refreshed ids (each
/// refresh pushes a new one); they are skipped on eviction and compacted away when the queue grows
/// past twice the capacity, so memory stays bounded by `O(capacity)`.
#[derive(Clone, Debug)]
pub struct RecentIds {
    capacity: usize,
    stamps: HashMap<String, u64>,
    order: VecDeque<(String, u64)>,
    clock: u64,
}

impl RecentIds {
    /// An empty set holding at most `capacity` ids (at least one).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            stamps: HashMap::new(),
            order: VecDeque::new(),
            clock: 0,
        }
    }

    /// Records `id`; returns `true` when it was not in the set (the first sighting).
    pub fn insert(&mut self, id: &str) -> bool {
        self.clock += 1;
        let stamp = self.clock;
        let fresh = self.stamps.insert(id.to_owned(), stamp).is_none();
        self.order.push_back((id.to_owned(), stamp));
        while self.stamps.len() > self.capacity {
            self.evict_oldest();
        }
        if self.order.len() > self.capacity * 2 {
            let stamps = &self.stamps;
            self.order.retain(|(id, s)| stamps.get(id) == Some(s));
        }
        fresh
    }

    /// Whether `id` is currently remembered.
    pub fn contains(&self, id: &str) -> bool {
        self.stamps.contains_key(id)
    }

    /// How many ids are remembered.
    pub fn len(&self) -> usize {
        self.stamps.len()
    }

    /// Whether no id is remembered.
    pub fn is_empty(&self) -> bool {
        self.stamps.is_empty()
    }

    fn evict_oldest(&mut self) {
        while let Some((id, stamp)) = self.order.pop_front() {
            if self.stamps.get(&id) == Some(&stamp) {
                self.stamps.remove(&id);
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_sighting_is_reported_as_a_duplicate() {
        let mut ids = RecentIds::new(4);
        assert!(ids.insert("a"));
        assert!(!ids.insert("a"));
        assert_eq!(ids.len(), 1);
    }

    #[test]
    fn the_oldest_id_is_forgotten_past_capacity() {
        let mut ids = RecentIds::new(2);
        ids.insert("a");
        ids.insert("b");
        ids.insert("c");
        assert!(!ids.contains("a"));
        assert!(ids.contains("b") && ids.contains("c"));
    }

    #[test]
    fn seeing_an_id_again_keeps_it_longer() {
        let mut ids = RecentIds::new(2);
        ids.insert("a");
        ids.insert("b");
        ids.insert("a");
        ids.insert("c");
        assert!(ids.contains("a"));
        assert!(!ids.contains("b"));
    }

    #[test]
    fn memory_stays_bounded_under_repeated_refreshes() {
        let mut ids = RecentIds::new(3);
        for i in 0..1000 {
            ids.insert("hot");
            ids.insert(&format!("cold-{i}"));
        }
        assert_eq!(ids.len(), 3);
        assert!(ids.order.len() <= 6 + 1);
    }
}
