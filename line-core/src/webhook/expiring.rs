//! A map whose entries expire, for the in-memory host stores.
//!
//! Memory stays bounded by the live entries: every operation first drops the
//! entries whose time has passed, and the expiry queue is rebuilt when stale
//! items (left by removals) pile up.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

#[derive(Debug)]
pub(crate) struct ExpiringMap<V> {
    entries: HashMap<String, (V, Timestamp)>,
    queue: BinaryHeap<Reverse<(Timestamp, String)>>,
}

impl<V> Default for ExpiringMap<V> {
    fn default() -> Self {
        Self {
            entries: HashMap::new(),
            queue: BinaryHeap::new(),
        }
    }
}

/// `now + ttl`, saturating at the end of time.
pub(crate) fn expiry(now: Timestamp, ttl: Duration) -> Timestamp {
    SignedDuration::try_from(ttl)
        .ok()
        .and_then(|d| now.checked_add(d).ok())
        .unwrap_or(Timestamp::MAX)
}

impl<V> ExpiringMap<V> {
    /// Drops every entry that expired at or before `now`.
    pub(crate) fn purge(&mut self, now: Timestamp) {
        while let Some(Reverse((at, _))) = self.queue.peek() {
            if *at > now {
                break;
            }
            let Some(Reverse((at, key))) = self.queue.pop() else {
                break;
            };
            // The key may have been removed, or removed and inserted again with a
            // later expiry; only drop the entry this queue item belongs to.
            if self.entries.get(&key).is_some_and(|(_, exp)| *exp == at) {
                self.entries.remove(&key);
            }
        }
        if self.queue.len() > 2 * self.entries.len() + 64 {
            self.queue = self
                .entries
                .iter()
                .map(|(k, (_, exp))| Reverse((*exp, k.clone())))
                .collect();
        }
    }

    /// Inserts `key` unless a live entry holds it; true when it was inserted.
    pub(crate) fn insert_if_absent(&mut self, now: Timestamp, key: &str, value: V, ttl: Duration) -> bool {
        self.purge(now);
        if self.entries.contains_key(key) {
            return false;
        }
        self.put(now, key, value, ttl);
        true
    }

    /// Inserts or replaces `key`.
    pub(crate) fn insert(&mut self, now: Timestamp, key: &str, value: V, ttl: Duration) {
        self.purge(now);
        self.put(now, key, value, ttl);
    }

    fn put(&mut self, now: Timestamp, key: &str, value: V, ttl: Duration) {
        let at = expiry(now, ttl);
        if at <= now {
            // Expires at once: nothing to remember.
            self.entries.remove(key);
            return;
        }
        self.entries.insert(key.to_owned(), (value, at));
        self.queue.push(Reverse((at, key.to_owned())));
    }

    /// Removes and returns the live value of `key`.
    pub(crate) fn take(&mut self, now: Timestamp, key: &str) -> Option<V> {
        self.purge(now);
        self.entries.remove(key).map(|(v, _)| v)
    }

    /// Live entries (after a purge at `now`).
    pub(crate) fn len(&mut self, now: Timestamp) -> usize {
        self.purge(now);
        self.entries.len()
    }

    /// Items in the expiry queue, live or stale.
    #[cfg(test)]
    pub(crate) fn queue_len(&self) -> usize {
        self.queue.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> Timestamp {
        "2026-05-01T00:00:00Z".parse().unwrap()
    }

    fn secs(n: i64) -> SignedDuration {
        SignedDuration::from_secs(n)
    }

    #[test]
    fn entries_expire_and_are_purged() {
        let mut m = ExpiringMap::default();
        let now = t0();
        assert!(m.insert_if_absent(now, "a", (), Duration::from_secs(10)));
        assert!(!m.insert_if_absent(now, "a", (), Duration::from_secs(10)));
        assert!(m.insert_if_absent(now, "b", (), Duration::from_secs(20)));
        assert_eq!(m.len(now + secs(9)), 2);
        assert_eq!(m.len(now + secs(10)), 1);
        assert!(m.insert_if_absent(now + secs(10), "a", (), Duration::from_secs(10)));
        assert_eq!(m.len(now + secs(100)), 0);
        assert_eq!(m.queue_len(), 0);
    }

    #[test]
    fn reinsert_after_take_is_not_dropped_by_the_stale_queue_item() {
        let mut m = ExpiringMap::default();
        let now = t0();
        m.insert(now, "k", 1, Duration::from_secs(10));
        assert_eq!(m.take(now, "k"), Some(1));
        m.insert(now + secs(5), "k", 2, Duration::from_secs(10));
        // The first item (expiring at +10s) must not remove the second entry.
        assert_eq!(m.take(now + secs(11), "k"), Some(2));
        assert_eq!(m.take(now + secs(11), "k"), None);
    }

    #[test]
    fn stale_queue_items_are_bounded() {
        let mut m = ExpiringMap::default();
        let now = t0();
        for i in 0..10_000 {
            let key = format!("k{i}");
            m.insert(now, &key, i, Duration::from_secs(3600));
            m.take(now, &key);
        }
        assert!(m.queue_len() <= 64 + 1, "queue grew to {}", m.queue_len());
    }

    #[test]
    fn zero_ttl_and_huge_ttl() {
        let mut m = ExpiringMap::default();
        let now = t0();
        assert!(m.insert_if_absent(now, "zero", (), Duration::ZERO));
        assert_eq!(m.len(now), 0);
        assert!(m.insert_if_absent(now, "forever", (), Duration::MAX));
        assert_eq!(m.len(now + secs(10_000_000)), 1);
    }
}
