//! [`KeyMap`]: a hash map with `u64` keys, for the reducer's message keys and publish ids.
//!
//! Not `std::collections::HashMap`: each of its instantiations is its own copy of hashbrown's
//! code in the wasm build, and SipHash is inlined at every lookup (issue 15; vendor/yew's small
//! tables are `Vec`s for the same reason, vendor/README.md; only Yew's keyed-list `HashSet` is
//! left). The keys here need no hashing of their own but a mix: message keys are already 64-bit
//! hashes, publish ids count up, and a multiplication by the golden ratio (Fibonacci hashing)
//! spreads both over the table.
//!
//! Open addressing with linear probing, at most 3/4 full (the table doubles past that, never
//! shrinks, as `HashMap`); a removal shifts the entries after it back, so there are no
//! tombstones and every operation is O(1) expected.

/// A map from `u64` keys to `V` (see the module doc).
#[derive(Clone, Debug)]
pub struct KeyMap<V> {
    /// A power of two long, or empty before the first insert.
    slots: Vec<Option<(u64, V)>>,
    len: usize,
}

impl<V> Default for KeyMap<V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<V> KeyMap<V> {
    /// An empty map (allocates on the first insert).
    pub fn new() -> Self {
        KeyMap {
            slots: Vec::new(),
            len: 0,
        }
    }

    /// How many keys.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The slot `key` would take in an empty table (the table is not empty).
    fn home(&self, key: u64) -> usize {
        (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as usize & (self.slots.len() - 1)
    }

    /// The slot holding `key`, else the free slot where probing for it stopped.
    fn find(&self, key: u64) -> Result<usize, usize> {
        let mask = self.slots.len() - 1;
        let mut i = self.home(key);
        loop {
            match &self.slots[i] {
                None => return Err(i),
                Some((k, _)) if *k == key => return Ok(i),
                Some(_) => i = (i + 1) & mask,
            }
        }
    }

    /// The value of `key`.
    pub fn get(&self, key: u64) -> Option<&V> {
        if self.len == 0 {
            return None;
        }
        let i = self.find(key).ok()?;
        self.slots[i].as_ref().map(|(_, v)| v)
    }

    /// Whether `key` is in the map.
    pub fn contains_key(&self, key: u64) -> bool {
        self.get(key).is_some()
    }

    /// Sets the value of `key`, returning the one it replaces.
    pub fn insert(&mut self, key: u64, value: V) -> Option<V> {
        if (self.len + 1) * 4 > self.slots.len() * 3 {
            self.grow();
        }
        match self.find(key) {
            Ok(i) => self.slots[i].replace((key, value)).map(|(_, v)| v),
            Err(i) => {
                self.slots[i] = Some((key, value));
                self.len += 1;
                None
            }
        }
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: u64) -> Option<V> {
        if self.len == 0 {
            return None;
        }
        let mut hole = self.find(key).ok()?;
        let (_, value) = self.slots[hole].take()?;
        self.len -= 1;
        // Move back every entry after the hole (up to the next free slot) whose probe from its
        // home slot passed the hole, so lookups never stop early at it.
        let mask = self.slots.len() - 1;
        let mut i = hole;
        loop {
            i = (i + 1) & mask;
            let Some((k, _)) = &self.slots[i] else { break };
            let home = self.home(*k);
            if (i.wrapping_sub(home) & mask) >= (i.wrapping_sub(hole) & mask) {
                self.slots[hole] = self.slots[i].take();
                hole = i;
            }
        }
        Some(value)
    }

    /// Removes every key (keeps the table).
    pub fn clear(&mut self) {
        if self.len > 0 {
            self.slots.iter_mut().for_each(|s| *s = None);
            self.len = 0;
        }
    }

    fn grow(&mut self) {
        let size = (self.slots.len() * 2).max(8);
        let old = std::mem::take(&mut self.slots);
        self.slots.resize_with(size, || None);
        for (key, value) in old.into_iter().flatten() {
            let Err(i) = self.find(key) else {
                unreachable!("keys are distinct")
            };
            self.slots[i] = Some((key, value));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn inserts_gets_replaces_and_removes() {
        let mut m = KeyMap::new();
        assert_eq!(m.get(1), None);
        assert_eq!(m.remove(1), None);
        assert_eq!(m.insert(1, "a"), None);
        assert_eq!(m.insert(2, "b"), None);
        assert_eq!(m.insert(1, "c"), Some("a"));
        assert_eq!((m.len(), m.get(1), m.get(2)), (2, Some(&"c"), Some(&"b")));
        assert_eq!(m.remove(1), Some("c"));
        assert_eq!(m.remove(1), None);
        assert!(!m.contains_key(1) && m.contains_key(2));
        m.clear();
        assert!(m.is_empty() && !m.contains_key(2));
        assert_eq!(m.insert(2, "d"), None);
        assert_eq!(m.get(2), Some(&"d"));
    }

    /// Against `HashMap`, with keys that collide in the table (multiples of a power of two,
    /// sequential ids, hash-like keys), removals in the middle of probe runs and growth.
    #[test]
    fn behaves_as_a_hash_map() {
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for keys in [
            (0..64u64).map(|k| k << 40).collect::<Vec<_>>(),
            (0..300u64).collect(),
            (0..300).map(|_| next()).collect(),
        ] {
            let mut m = KeyMap::new();
            let mut model = HashMap::new();
            for round in 0..4000u64 {
                let key = keys[(next() % keys.len() as u64) as usize];
                if next() % 3 == 0 {
                    assert_eq!(m.remove(key), model.remove(&key), "remove {key}");
                } else {
                    assert_eq!(
                        m.insert(key, round),
                        model.insert(key, round),
                        "insert {key}"
                    );
                }
                assert_eq!(m.len(), model.len());
                if round % 97 == 0 {
                    for k in &keys {
                        assert_eq!(m.get(*k), model.get(k), "get {k}");
                    }
                    assert!(m.len() * 4 <= m.slots.len() * 3);
                }
            }
        }
    }
}
