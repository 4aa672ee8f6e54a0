//! Packet identifier allocation.

use std::collections::BTreeSet;

/// Hands out packet identifiers: non-zero, in increasing order with wrap-around, and never one
/// that is still in use (an unacknowledged publish, subscribe or unsubscribe).
#[derive(Debug, Clone)]
pub(crate) struct PacketIds {
    next: u16,
    in_use: BTreeSet<u16>,
}

impl Default for PacketIds {
    fn default() -> Self {
        Self {
            next: 1,
            in_use: BTreeSet::new(),
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
