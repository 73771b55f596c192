//! [`BoundedMap`]: the shape of the tables a client can grow (used request and sign-in nonces, rate-limit buckets;
//! sessions have their own book, `sessions.rs`, which evicts one at a time).
//! It holds at most `cap` entries, each with an expiry; when it is full, expired entries go first, then the
//! ones expiring soonest (the oldest first among equal expiries). The latest expiry among entries evicted before they expired is kept as
//! [`BoundedMap::floor`], so a table of used nonces can refuse whatever it may have forgotten.

use std::collections::HashMap;
use std::hash::Hash;

/// A map of at most `cap` entries that evicts by time. Times are plain `u64`s in whatever unit the owner
/// uses (Unix seconds, milliseconds since start).
#[derive(Debug)]
pub struct BoundedMap<K, V> {
    map: HashMap<K, (u64, u64, V)>,
    cap: usize,
    floor: u64,
    /// Insertions so far: orders entries of equal expiry.
    seq: u64,
}

impl<K: Hash + Eq + Clone, V> BoundedMap<K, V> {
    /// An empty map holding at most `cap` entries (at least 1).
    pub fn new(cap: usize) -> Self {
        Self {
            map: HashMap::new(),
            cap: cap.max(1),
            floor: 0,
            seq: 0,
        }
    }

    /// The value of `key` if it has not expired at `now`.
    pub fn get(&self, key: &K, now: u64) -> Option<&V> {
        self.map
            .get(key)
            .filter(|(until, _, _)| *until > now)
            .map(|(_, _, v)| v)
    }

    /// Sets `key` to `value` until `expires`, making room first if the map is full.
    pub fn insert(&mut self, key: K, expires: u64, value: V, now: u64) {
        if !self.map.contains_key(&key) && self.map.len() >= self.cap {
            self.make_room(now);
        }
        self.seq += 1;
        self.map.insert(key, (expires, self.seq, value));
    }

    /// Drops every entry expired at `now`.
    pub fn prune(&mut self, now: u64) {
        self.map.retain(|_, (until, _, _)| *until > now);
    }

    /// How many entries are held (expired ones not yet pruned included).
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The latest expiry of an entry evicted before it expired (0 if none was).
    pub fn floor(&self) -> u64 {
        self.floor
    }

    /// Raises the floor to `floor` (a floor read back from a file).
    pub fn raise_floor(&mut self, floor: u64) {
        self.floor = self.floor.max(floor);
    }

    /// Every entry with its expiry.
    pub fn iter(&self) -> impl Iterator<Item = (&K, u64, &V)> {
        self.map.iter().map(|(k, (until, _, v))| (k, *until, v))
    }

    /// Drops expired entries; if the map is still more than 7/8 full, drops the entries expiring soonest
    /// until it is 7/8 full (so the work is paid once per `cap / 8` inserts, not on each).
    fn make_room(&mut self, now: u64) {
        self.prune(now);
        let target = (self.cap - self.cap / 8).min(self.cap - 1);
        if self.map.len() <= target {
            return;
        }
        let mut by_time: Vec<(u64, u64, K)> = self
            .map
            .iter()
            .map(|(k, (until, seq, _))| (*until, *seq, k.clone()))
            .collect();
        let n = self.map.len() - target;
        by_time.select_nth_unstable_by_key(n - 1, |(until, seq, _)| (*until, *seq));
        for (until, _, k) in by_time.into_iter().take(n) {
            self.floor = self.floor.max(until);
            self.map.remove(&k);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_evicts_expired_first_then_soonest_and_remembers_the_floor() {
        let mut m = BoundedMap::new(4);
        m.insert("old", 5, (), 0);
        m.insert("a", 100, (), 0);
        m.insert("b", 200, (), 0);
        m.insert("c", 300, (), 0);
        // At time 10 "old" has expired: it goes, nothing live does.
        m.insert("d", 400, (), 10);
        assert_eq!(m.len(), 4);
        assert!(m.get(&"a", 10).is_some());
        assert_eq!(m.floor(), 0);
        // Full of live entries: the one expiring soonest goes, and the floor says until when it would have lived.
        m.insert("e", 500, (), 10);
        assert_eq!(m.len(), 4);
        assert!(m.get(&"a", 10).is_none());
        assert_eq!(m.floor(), 100);
        assert!(m.get(&"e", 10).is_some());
    }

    #[test]
    fn a_million_keys_stay_within_the_bound() {
        let mut m = BoundedMap::new(10_000);
        for i in 0..1_000_000u64 {
            m.insert(i, 1_000 + i, (), i / 1000);
            assert!(m.len() <= 10_000);
        }
        // The newest are the ones kept.
        assert!(m.get(&999_999, 1_000).is_some());
    }

    #[test]
    fn among_equal_expiries_the_oldest_goes_first() {
        let mut m = BoundedMap::new(3);
        for k in 0..10 {
            m.insert(k, 100, (), 0);
        }
        assert!(m.get(&9, 0).is_some());
        assert!(m.get(&0, 0).is_none());
    }
}
