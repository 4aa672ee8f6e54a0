//! Packet identifier allocation.

/// Hands out packet identifiers: non-zero, in increasing order with wrap-around, and never one
/// that is still in use (an unacknowledged publish, subscribe or unsubscribe).
#[derive(Debug, Clone)]
pub(crate) struct PacketIds {
    next: u16,
    in_use: IdSet,
}

/// A set of packet identifiers: one bit per identifier (8 KiB, allocated by the first insert).
/// Not a `BTreeSet<u16>`: that is about 4 KB of wasm for a set with O(1) operations here.
#[derive(Debug, Clone, Default)]
pub(crate) struct IdSet {
    bits: Vec<u64>,
    len: usize,
}

impl IdSet {
    /// Adds `id`; false when it was already in the set.
    pub(crate) fn insert(&mut self, id: u16) -> bool {
        if self.bits.is_empty() {
            self.bits = vec![0; 1 << 10];
        }
        let (word, bit) = (usize::from(id >> 6), 1u64 << (id & 63));
        let added = self.bits[word] & bit == 0;
        self.bits[word] |= bit;
        self.len += usize::from(added);
        added
    }

    /// Removes `id`; false when it was not in the set. (By reference, as `BTreeSet`'s.)
    pub(crate) fn remove(&mut self, &id: &u16) -> bool {
        let bit = 1u64 << (id & 63);
        match self.bits.get_mut(usize::from(id >> 6)) {
            Some(word) if *word & bit != 0 => {
                *word &= !bit;
                self.len -= 1;
                true
            }
            _ => false,
        }
    }

    /// Whether `id` is in the set.
    pub(crate) fn contains(&self, &id: &u16) -> bool {
        self.bits
            .get(usize::from(id >> 6))
            .is_some_and(|word| word & (1u64 << (id & 63)) != 0)
    }

    /// How many identifiers are in the set.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Empties the set (and frees its bits).
    pub(crate) fn clear(&mut self) {
        self.bits = Vec::new();
        self.len = 0;
    }
}

impl Default for PacketIds {
    fn default() -> Self {
        Self {
            next: 1,
            in_use: IdSet::default(),
        }
    }
}

impl PacketIds {
    /// A free identifier, now reserved; `None` when all 65 535 are in use.
    pub(crate) fn allocate(&mut self) -> Option<u16> {
        if self.in_use.len() >= usize::from(u16::MAX) {
            return None;
        }
        loop {
            let id = self.next;
            self.next = if self.next == u16::MAX {
                1
            } else {
                self.next + 1
            };
            if self.in_use.insert(id) {
                return Some(id);
            }
        }
    }

    /// Frees `id` for reuse.
    pub(crate) fn release(&mut self, id: u16) {
        self.in_use.remove(&id);
    }

    /// Frees every identifier (the session ended).
    pub(crate) fn clear(&mut self) {
        self.in_use.clear();
    }

    #[cfg(test)]
    pub(crate) fn in_use(&self) -> usize {
        self.in_use.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_set_counts_inserts_and_removes_once_each() {
        let mut set = IdSet::default();
        assert!(!set.contains(&0) && !set.remove(&5));
        assert!(set.insert(5) && !set.insert(5));
        assert!(set.insert(0) && set.insert(u16::MAX));
        assert!(
            set.contains(&5) && set.contains(&0) && set.contains(&u16::MAX) && !set.contains(&6)
        );
        assert_eq!(set.len(), 3);
        assert!(set.remove(&5) && !set.remove(&5));
        assert_eq!(set.len(), 2);
        set.clear();
        assert_eq!(set.len(), 0);
        assert!(!set.contains(&0) && set.insert(0));
    }

    #[test]
    fn identifiers_start_at_one_and_are_never_zero() {
        let mut ids = PacketIds::default();
        assert_eq!(ids.allocate(), Some(1));
        for _ in 0..70_000 {
            if let Some(id) = ids.allocate() {
                assert_ne!(id, 0);
                ids.release(id);
            }
        }
    }

    #[test]
    fn identifiers_wrap_around_and_skip_those_still_in_use() {
        let mut ids = PacketIds::default();
        let held = ids.allocate().unwrap(); // 1 stays in flight
        for _ in 2..=u16::MAX {
            let id = ids.allocate().unwrap();
            ids.release(id);
        }
        // Wrapped: 1 is still held, so the next one is 2.
        assert_eq!(ids.allocate(), Some(2));
        assert_eq!(held, 1);
    }

    #[test]
    fn exhaustion_is_reported_instead_of_reusing() {
        let mut ids = PacketIds::default();
        for _ in 0..u16::MAX {
            assert!(ids.allocate().is_some());
        }
        assert_eq!(ids.allocate(), None);
        ids.release(777);
        assert_eq!(ids.allocate(), Some(777));
        assert_eq!(ids.in_use(), usize::from(u16::MAX));
    }
}
