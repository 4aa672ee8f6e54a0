//! A bounded least-recently-used set of message keys (64-bit hashes), used to drop duplicates.

use std::collections::VecDeque;
use std::num::NonZeroU64;

use super::keymap::KeyMap;

/// Remembers the most recently seen `capacity` keys; older ones are forgotten.
///
/// Seeing an id again refreshes it. The order queue may hold stale entries for refreshed ids (each
/// refresh pushes a new one); they are skipped on eviction and compacted away when the queue grows
/// past twice the capacity, so memory stays bounded by `O(capacity)`.
#[derive(Clone, Debug)]
pub struct RecentIds {
    capacity: usize,
    /// When each id was last seen. (Non-zero: a slot of the map is then 16 bytes, not 24.)
    stamps: KeyMap<NonZeroU64>,
    order: VecDeque<(u64, NonZeroU64)>,
    clock: u64,
}

impl RecentIds {
    /// An empty set holding at most `capacity` ids (at least one).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            stamps: KeyMap::new(),
            order: VecDeque::new(),
            clock: 0,
        }
    }

    /// Records `id`; returns `true` when it was not in the set (the first sighting).
    pub fn insert(&mut self, id: u64) -> bool {
        let stamp = NonZeroU64::MIN.saturating_add(self.clock);
        self.clock += 1;
        let fresh = self.stamps.insert(id, stamp).is_none();
        self.order.push_back((id, stamp));
        while self.stamps.len() > self.capacity {
            self.evict_oldest();
        }
        if self.order.len() > self.capacity * 2 {
            let stamps = &self.stamps;
            self.order.retain(|(id, s)| stamps.get(*id) == Some(s));
        }
        fresh
    }

    /// Whether `id` is currently remembered.
    pub fn contains(&self, id: u64) -> bool {
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
            if self.stamps.get(id) == Some(&stamp) {
                self.stamps.remove(id);
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
        assert!(ids.insert(1));
        assert!(!ids.insert(1));
        assert_eq!(ids.len(), 1);
    }

    #[test]
    fn the_oldest_id_is_forgotten_past_capacity() {
        let mut ids = RecentIds::new(2);
        ids.insert(1);
        ids.insert(2);
        ids.insert(3);
        assert!(!ids.contains(1));
        assert!(ids.contains(2) && ids.contains(3));
    }

    #[test]
    fn seeing_an_id_again_keeps_it_longer() {
        let mut ids = RecentIds::new(2);
        ids.insert(1);
        ids.insert(2);
        ids.insert(1);
        ids.insert(3);
        assert!(ids.contains(1));
        assert!(!ids.contains(2));
    }

    #[test]
    fn memory_stays_bounded_under_repeated_refreshes() {
        let mut ids = RecentIds::new(3);
        for i in 0..1000 {
            ids.insert(0);
            ids.insert(1000 + i);
        }
        assert_eq!(ids.len(), 3);
        assert!(ids.order.len() <= 6 + 1);
    }
}
