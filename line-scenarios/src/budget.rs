//! The contact budget (at most N messages per user per rolling window, shared by every sender
//! that goes through the gate) and quiet hours.
//!
//! A "contact" is one delivery to a user (one push, whatever the number of message objects in it).
//! Scenarios take slots through [`Gate`]; a spot campaign or any other sender can take slots
//! through the same gate before it sends, so that one budget covers everything.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! use line_core::ids::UserId;
//! use line_scenarios::budget::{Budget, Gate, InMemoryContacts};
//!
//! let gate = Gate::new(Arc::new(InMemoryContacts::new()), Budget::per_week(2).reserve(10, 1));
//! let now: jiff::Timestamp = "2026-05-15T01:00:00Z".parse().unwrap();
//! let user = UserId::new("U1");
//! // Priority 0 may use 1 of the 2 slots: the other is kept for priority 10 and above.
//! assert!(gate.admit(&user, "campaign-a", 0, now).await.unwrap());
//! assert!(!gate.admit(&user, "campaign-b", 0, now).await.unwrap());
//! assert!(gate.admit(&user, "cart-reminder", 10, now).await.unwrap());
//! assert!(gate.admit(&user, "cart-reminder", 10, now).await.unwrap(), "the same key is admitted once, idempotently");
//! # });
//! ```

use std::collections::HashMap;
use std::hash::Hasher;
use std::sync::{Arc, Mutex};

use jiff::civil::Time;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use line_core::ids::UserId;

use crate::error::{Error, Result};

/// Counts of contacts per user. Object-safe; use as `Arc<dyn ContactStore>`.
#[async_trait::async_trait]
pub trait ContactStore: Send + Sync {
    /// Records a contact for `key` at `now` when the user had fewer than `limit` contacts in
    /// `(now - window, now]`, atomically. A key recorded before is admitted again without counting
    /// twice (so a retried send takes one slot). Returns whether the contact is admitted.
    async fn take(&self, user: &UserId, key: &str, limit: u32, window: SignedDuration, now: Timestamp) -> Result<bool>;
    /// Forgets the contact recorded for `key` (its send was refused).
    async fn give_back(&self, user: &UserId, key: &str) -> Result<()>;
    /// The user's contacts in `(now - window, now]`.
    async fn count(&self, user: &UserId, window: SignedDuration, now: Timestamp) -> Result<u32>;
}

/// The budget: at most `max` contacts per user in any `window`, with slots reserved for higher
/// priorities.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Budget {
    /// The most contacts per user in one window.
    pub max: u32,
    /// The rolling window (7 days for [`Budget::per_week`]).
    pub window: SignedDuration,
    /// `(priority, slots)`: `slots` of the window are kept for senders of at least `priority`.
    pub reserved: Vec<(i32, u32)>,
}

impl Budget {
    /// At most `max` contacts per rolling 7 days.
    pub fn per_week(max: u32) -> Self {
        Self {
            max,
            window: SignedDuration::from_hours(7 * 24),
            reserved: Vec::new(),
        }
    }

    /// Keeps `slots` for senders of priority `priority` or more.
    #[must_use]
    pub fn reserve(mut self, priority: i32, slots: u32) -> Self {
        self.reserved.push((priority, slots));
        self
    }

    /// The number of contacts a sender of `priority` may bring a user up to.
    pub fn limit_for(&self, priority: i32) -> u32 {
        let kept: u32 = self
            .reserved
            .iter()
            .filter(|(p, _)| *p > priority)
            .map(|(_, s)| *s)
            .sum();
        self.max.saturating_sub(kept)
    }
}

/// The gate every sender goes through: a [`Budget`] over a [`ContactStore`].
#[derive(Clone)]
pub struct Gate {
    store: Arc<dyn ContactStore>,
    budget: Budget,
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gate")
            .field("budget", &self.budget)
            .finish_non_exhaustive()
    }
}

impl Gate {
    /// A gate.
    pub fn new(store: Arc<dyn ContactStore>, budget: Budget) -> Self {
        Self { store, budget }
    }

    /// The budget.
    pub fn budget(&self) -> &Budget {
        &self.budget
    }

    /// Takes a slot for the send `key` of a sender with `priority`; `false` when the budget is spent.
    pub async fn admit(&self, user: &UserId, key: &str, priority: i32, now: Timestamp) -> Result<bool> {
        self.store
            .take(user, key, self.budget.limit_for(priority), self.budget.window, now)
            .await
    }

    /// Gives the slot of `key` back (LINE refused the send).
    pub async fn give_back(&self, user: &UserId, key: &str) -> Result<()> {
        self.store.give_back(user, key).await
    }

    /// The contacts the user had in the current window.
    pub async fn used(&self, user: &UserId, now: Timestamp) -> Result<u32> {
        self.store.count(user, self.budget.window, now).await
    }
}

fn key_hash(key: &str) -> u64 {
    let mut h = siphasher::sip::SipHasher13::new_with_keys(0x6c69_6e65_2d73_6365, 0x6e61_7269_6f73_2d62);
    h.write(key.as_bytes());
    h.finish()
}

/// A [`ContactStore`] in memory: per user, the times and key hashes of the contacts in the window.
#[derive(Debug, Default)]
pub struct InMemoryContacts {
    inner: Mutex<HashMap<UserId, Vec<(i64, u64)>>>,
}

impl InMemoryContacts {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait::async_trait]
impl ContactStore for InMemoryContacts {
    async fn take(&self, user: &UserId, key: &str, limit: u32, window: SignedDuration, now: Timestamp) -> Result<bool> {
        let h = key_hash(key);
        let now_s = now.as_second();
        let start = now_s - window.as_secs();
        let mut map = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let list = map.entry(user.clone()).or_default();
        if list.iter().any(|(_, k)| *k == h) {
            return Ok(true);
        }
        // Contacts older than the window no longer count; contacts "in the future" (a clock
        // that went back) still do.
        list.retain(|(t, _)| *t > start);
        if list.len() as u64 >= u64::from(limit) {
            return Ok(false);
        }
        list.push((now_s, h));
        Ok(true)
    }

    async fn give_back(&self, user: &UserId, key: &str) -> Result<()> {
        let h = key_hash(key);
        let mut map = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(list) = map.get_mut(user) {
            list.retain(|(_, k)| *k != h);
        }
        Ok(())
    }

    async fn count(&self, user: &UserId, window: SignedDuration, now: Timestamp) -> Result<u32> {
        let start = now.as_second() - window.as_secs();
        let map = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        Ok(map
            .get(user)
            .map_or(0, |l| l.iter().filter(|(t, _)| *t > start).count() as u32))
    }
}

/// Hours in which nothing is sent, in the account's time zone, e.g. 21:00 to 09:00.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct QuietHours {
    /// The start (inclusive).
    pub start: Time,
    /// The end (exclusive); before `start` means the quiet hours span midnight.
    pub end: Time,
    /// The time zone.
    pub tz: TimeZone,
}

impl QuietHours {
    /// Quiet hours from `start` to `end` (`"21:00"`, `"09:00"`) in the IANA zone `tz`.
    pub fn new(start: &str, end: &str, tz: &str) -> Result<Self> {
        let parse =
            |field: &str, s: &str| crate::model::civil_time::parse(s).map_err(|reason| Error::config(field, reason));
        let start = parse("quiet_hours.start", start)?;
        let end = parse("quiet_hours.end", end)?;
        if start == end {
            return Err(Error::config("quiet_hours", "start and end are the same time"));
        }
        let tz = TimeZone::get(tz).map_err(|e| Error::config("quiet_hours.tz", e.to_string()))?;
        Ok(Self { start, end, tz })
    }

    /// Whether `at` is in quiet hours.
    pub fn contains(&self, at: Timestamp) -> bool {
        let t = at.to_zoned(self.tz.clone()).time();
        if self.start < self.end {
            self.start <= t && t < self.end
        } else {
            t >= self.start || t < self.end
        }
    }

    /// The first instant at or after `at` outside quiet hours.
    pub fn next_allowed(&self, at: Timestamp) -> Timestamp {
        if !self.contains(at) {
            return at;
        }
        let z = at.to_zoned(self.tz.clone());
        let mut date = z.date();
        if z.time() >= self.end {
            // In the evening part of overnight quiet hours: the end is tomorrow.
            date = date.tomorrow().unwrap_or(date);
        }
        date.to_datetime(self.end)
            .to_zoned(self.tz.clone())
            .map(|z| z.timestamp())
            .unwrap_or(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn quiet_hours_span_midnight_in_tokyo() {
        let q = QuietHours::new("21:00", "09:00", "Asia/Tokyo").unwrap();
        // 12:00 UTC is 21:00 JST: quiet; it ends at 09:00 JST next day (00:00 UTC).
        assert!(q.contains(ts("2026-05-15T12:00:00Z")));
        assert_eq!(q.next_allowed(ts("2026-05-15T12:00:00Z")), ts("2026-05-16T00:00:00Z"));
        // 23:30 UTC is 08:30 JST: quiet until 09:00 JST the same day.
        assert_eq!(q.next_allowed(ts("2026-05-15T23:30:00Z")), ts("2026-05-16T00:00:00Z"));
        // 03:00 UTC is noon JST: allowed.
        assert!(!q.contains(ts("2026-05-15T03:00:00Z")));
        assert_eq!(q.next_allowed(ts("2026-05-15T03:00:00Z")), ts("2026-05-15T03:00:00Z"));
        // The end itself is allowed, one second before is not.
        assert!(!q.contains(ts("2026-05-16T00:00:00Z")));
        assert!(q.contains(ts("2026-05-15T23:59:59Z")));
    }

    #[test]
    fn daytime_quiet_hours() {
        let q = QuietHours::new("12:00", "13:00", "UTC").unwrap();
        assert!(q.contains(ts("2026-05-15T12:30:00Z")));
        assert_eq!(q.next_allowed(ts("2026-05-15T12:30:00Z")), ts("2026-05-15T13:00:00Z"));
        assert!(!q.contains(ts("2026-05-15T13:00:00Z")));
        assert!(QuietHours::new("12:00", "12:00", "UTC").is_err());
        assert!(QuietHours::new("12:00", "13:00", "Mars/Base").is_err());
    }

    #[tokio::test]
    async fn the_window_rolls_and_reserved_slots_go_to_higher_priorities() {
        let gate = Gate::new(Arc::new(InMemoryContacts::new()), Budget::per_week(3).reserve(5, 1));
        let u = UserId::new("U1");
        let t0 = ts("2026-05-01T00:00:00Z");
        assert!(gate.admit(&u, "a", 0, t0).await.unwrap());
        assert!(gate.admit(&u, "b", 0, t0).await.unwrap());
        assert!(
            !gate.admit(&u, "c", 0, t0).await.unwrap(),
            "the third slot is kept for priority 5"
        );
        assert!(gate.admit(&u, "c", 5, t0).await.unwrap());
        assert!(!gate.admit(&u, "d", 9, t0).await.unwrap(), "no slot at all is left");
        assert_eq!(gate.used(&u, t0).await.unwrap(), 3);
        gate.give_back(&u, "c").await.unwrap();
        assert!(
            gate.admit(&u, "d", 9, t0).await.unwrap(),
            "a slot given back is free again"
        );
        // Seven days later the first contacts leave the window.
        let later = t0.checked_add(SignedDuration::from_hours(7 * 24)).unwrap();
        assert_eq!(gate.used(&u, later).await.unwrap(), 0);
        assert!(gate.admit(&u, "e", 0, later).await.unwrap());
        assert_eq!(
            gate.used(&UserId::new("U2"), later).await.unwrap(),
            0,
            "budgets are per user"
        );
    }
}
