//! [`InMemoryStore`]: a sharded in-process [`PopupStore`].

use std::collections::VecDeque;
use std::hash::{BuildHasher, Hash};
use std::sync::{Mutex, MutexGuard};

use hashbrown::{Equivalent, HashMap};

use async_trait::async_trait;
use jiff::Timestamp;

use crate::error::Error;
use crate::store::{
    check_caps, secs_to_ms, Attribution, CapKind, CapState, EventKind, PopupStore, Recorded, ReserveOutcome,
    ReserveRequest, StatKind, StatRow, Stats,
};

const SHARDS: usize = 64;

/// A [`PopupStore`] in process memory, for tests, single-server sites and benchmarks.
///
/// Visitors are spread over 64 shards, each behind its own mutex that is held
/// only for the few map operations of one call (never across an `.await`), so
/// concurrent page views of different visitors rarely wait on each other,
/// while those of one visitor are serialized, which makes
/// [`reserve`](PopupStore::reserve) atomic.
///
/// Expired window entries, sessions and days are pruned when their visitor is
/// next touched; expired tokens and bindings when they are next read, or by
/// [`purge_expired`](Self::purge_expired).
#[derive(Debug)]
pub struct InMemoryStore {
    // foldhash with a per-process random seed: fast, and visitor IDs chosen by
    // an attacker cannot be made to collide ahead of time.
    hasher: hashbrown::DefaultHashBuilder,
    visitors: Vec<Mutex<HashMap<String, VisitorState>>>,
    /// Keyed by the token's 128 bits (tokens are 32 hex digits): no allocation per showing.
    tokens: Vec<Mutex<HashMap<u128, TokenState>>>,
    bindings: Mutex<HashMap<String, (String, i64)>>,
    stats: Mutex<HashMap<StatKey, u64>>,
    new_friends: Mutex<HashMap<String, u64>>,
    seen_events: Mutex<hashbrown::HashSet<String>>,
}

/// Owned key of a report counter; looked up by [`StatRef`] without allocating.
#[derive(Debug, PartialEq, Eq, Hash)]
struct StatKey {
    day: Box<str>,
    campaign: Box<str>,
    variant: Box<str>,
    kind: StatKind,
}

#[derive(Hash)]
struct StatRef<'a> {
    day: &'a str,
    campaign: &'a str,
    variant: &'a str,
    kind: StatKind,
}

impl Equivalent<StatKey> for StatRef<'_> {
    fn equivalent(&self, k: &StatKey) -> bool {
        self.kind == k.kind && *self.day == *k.day && *self.campaign == *k.campaign && *self.variant == *k.variant
    }
}

#[derive(Debug, Default)]
struct VisitorState {
    campaigns: Vec<(String, CampaignState)>,
    /// (day, count)
    day: Option<(String, u32)>,
    /// (campaign, session, count, expires_ms)
    sessions: Vec<(String, String, u32, i64)>,
}

#[derive(Debug, Default)]
struct CampaignState {
    lifetime: u32,
    window: VecDeque<i64>,
    last_shown_ms: Option<i64>,
    dismissed_ms: Option<i64>,
    converted: bool,
}

#[derive(Debug)]
struct TokenState {
    attribution: Attribution,
    expires_ms: i64,
    recorded: Vec<EventKind>,
}

impl Default for InMemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

/// A token's 128 bits, or `None` when it is not 32 hex digits.
fn token_key(token: &str) -> Option<u128> {
    if token.len() != 32 {
        return None;
    }
    token.bytes().try_fold(0u128, |acc, b| {
        let digit = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            b'A'..=b'F' => b - b'A' + 10,
            _ => return None,
        };
        Some(acc << 4 | u128::from(digit))
    })
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding a shard cannot leave a half-applied reservation:
    // every update below is done after all checks, with no fallible step between.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl InMemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self {
            hasher: Default::default(),
            visitors: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            tokens: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            bindings: Mutex::new(HashMap::new()),
            stats: Mutex::new(HashMap::new()),
            new_friends: Mutex::new(HashMap::new()),
            seen_events: Mutex::new(hashbrown::HashSet::new()),
        }
    }

    fn shard<K: Hash + ?Sized>(&self, key: &K) -> usize {
        (self.hasher.hash_one(key) as usize) % SHARDS
    }

    /// Drops tokens and bindings that expired before `now`.
    pub fn purge_expired(&self, now: Timestamp) {
        let now_ms = now.as_millisecond();
        for shard in &self.tokens {
            lock(shard).retain(|_, t| t.expires_ms > now_ms);
        }
        lock(&self.bindings).retain(|_, (_, exp)| *exp > now_ms);
    }

    fn bump_stat(&self, day: &str, campaign: &str, variant: &str, kind: StatKind) {
        let key = StatRef {
            day,
            campaign,
            variant,
            kind,
        };
        let mut stats = lock(&self.stats);
        match stats.get_mut(&key) {
            Some(n) => *n += 1,
            None => {
                stats.insert(
                    StatKey {
                        day: day.into(),
                        campaign: campaign.into(),
                        variant: variant.into(),
                        kind,
                    },
                    1,
                );
            }
        }
    }
}

#[async_trait]
impl PopupStore for InMemoryStore {
    async fn reserve(&self, req: &ReserveRequest<'_>) -> Result<ReserveOutcome, Error> {
        let now_ms = req.now.as_millisecond();
        // Checked before anything changes, so a bad token reserves nothing.
        let key = token_key(req.token).ok_or_else(|| Error::invalid_input("token", "must be 32 hex digits"))?;
        let (chosen, skipped) = {
            let mut shard = lock(&self.visitors[self.shard(req.visitor)]);
            let v = match shard.get_mut(req.visitor) {
                Some(v) => v,
                None => shard.entry(req.visitor.to_owned()).or_default(),
            };
            v.sessions.retain(|s| s.3 > now_ms);
            let day_count = match &v.day {
                Some((d, n)) if d == req.day => *n,
                _ => 0,
            };
            let mut blocked = Vec::with_capacity(req.candidates.len());
            let mut chosen = None;
            for (i, c) in req.candidates.iter().enumerate() {
                let state = v.campaigns.iter_mut().find(|(id, _)| id == c.campaign).map(|(_, s)| s);
                let in_session = v
                    .sessions
                    .iter()
                    .find(|s| s.0 == c.campaign && s.1 == req.session)
                    .map_or(0, |s| s.2);
                let cap_state = match state {
                    Some(s) => {
                        if let Some(w) = c.caps.window {
                            let from = now_ms.saturating_sub(secs_to_ms(w.secs));
                            while s.window.front().is_some_and(|t| *t <= from) {
                                s.window.pop_front();
                            }
                        }
                        CapState {
                            lifetime: s.lifetime,
                            in_window: s.window.len() as u32,
                            in_session,
                            last_shown_ms: s.last_shown_ms,
                            dismissed_ms: s.dismissed_ms,
                            converted: s.converted,
                        }
                    }
                    None => CapState {
                        lifetime: 0,
                        in_window: 0,
                        in_session,
                        last_shown_ms: None,
                        dismissed_ms: None,
                        converted: false,
                    },
                };
                let daily = req.max_per_day.filter(|max| day_count >= *max).map(|_| CapKind::Daily);
                match check_caps(c.caps, &cap_state, now_ms).or(daily) {
                    Some(cap) => blocked.push(cap),
                    None => {
                        chosen = Some(i);
                        break;
                    }
                }
            }
            let Some(i) = chosen else {
                return Ok(ReserveOutcome::Blocked(blocked));
            };
            let c = req.candidates[i];
            let s = match v.campaigns.iter().position(|(id, _)| id == c.campaign) {
                Some(p) => &mut v.campaigns[p].1,
                None => {
                    v.campaigns.push((c.campaign.to_owned(), CampaignState::default()));
                    &mut v.campaigns.last_mut().expect("just pushed").1
                }
            };
            s.lifetime = s.lifetime.saturating_add(1);
            s.last_shown_ms = Some(now_ms);
            if c.caps.window.is_some() {
                s.window.push_back(now_ms);
            }
            let session_exp = now_ms.saturating_add(secs_to_ms(req.session_ttl_secs));
            match v.sessions.iter_mut().find(|s| s.0 == c.campaign && s.1 == req.session) {
                Some(s) => {
                    s.2 += 1;
                    s.3 = session_exp;
                }
                None => v
                    .sessions
                    .push((c.campaign.to_owned(), req.session.to_owned(), 1, session_exp)),
            }
            v.day = Some((req.day.to_owned(), day_count + 1));
            (i, blocked)
        };
        let c = req.candidates[chosen];
        lock(&self.tokens[self.shard(&key)]).insert(
            key,
            TokenState {
                attribution: Attribution::new(req.visitor, c.campaign, c.variant, req.now),
                expires_ms: now_ms.saturating_add(secs_to_ms(req.token_ttl_secs)),
                recorded: Vec::new(),
            },
        );
        self.bump_stat(req.day, c.campaign, c.variant, StatKind::Reserved);
        Ok(ReserveOutcome::Reserved { index: chosen, skipped })
    }

    async fn record(&self, token: &str, kind: EventKind, now: Timestamp, day: &str) -> Result<Recorded, Error> {
        let now_ms = now.as_millisecond();
        let Some(key) = token_key(token) else {
            return Ok(Recorded::UnknownToken);
        };
        let attribution = {
            let mut shard = lock(&self.tokens[self.shard(&key)]);
            let Some(t) = shard.get_mut(&key) else {
                return Ok(Recorded::UnknownToken);
            };
            if t.expires_ms <= now_ms {
                shard.remove(&key);
                return Ok(Recorded::UnknownToken);
            }
            if t.recorded.contains(&kind) {
                return Ok(Recorded::Duplicate(t.attribution.clone()));
            }
            t.recorded.push(kind);
            t.attribution.clone()
        };
        if kind == EventKind::Dismissed || kind.is_conversion() {
            let mut shard = lock(&self.visitors[self.shard(attribution.visitor.as_str())]);
            let v = shard.entry(attribution.visitor.clone()).or_default();
            let s = match v.campaigns.iter().position(|(id, _)| *id == attribution.campaign) {
                Some(p) => &mut v.campaigns[p].1,
                None => {
                    v.campaigns
                        .push((attribution.campaign.clone(), CampaignState::default()));
                    &mut v.campaigns.last_mut().expect("just pushed").1
                }
            };
            if kind == EventKind::Dismissed {
                s.dismissed_ms = Some(now_ms);
            } else {
                s.converted = true;
            }
        }
        self.bump_stat(day, &attribution.campaign, &attribution.variant, StatKind::Event(kind));
        Ok(Recorded::New(attribution))
    }

    async fn bind(&self, key: &str, token: &str, now: Timestamp, ttl_secs: u64) -> Result<bool, Error> {
        let now_ms = now.as_millisecond();
        let known = token_key(token).is_some_and(|key| {
            lock(&self.tokens[self.shard(&key)])
                .get(&key)
                .is_some_and(|t| t.expires_ms > now_ms)
        });
        if known {
            lock(&self.bindings).insert(
                key.to_owned(),
                (token.to_owned(), now_ms.saturating_add(secs_to_ms(ttl_secs))),
            );
        }
        Ok(known)
    }

    async fn resolve(&self, key: &str, now: Timestamp) -> Result<Option<String>, Error> {
        let now_ms = now.as_millisecond();
        Ok(lock(&self.bindings)
            .get(key)
            .filter(|(_, exp)| *exp > now_ms)
            .map(|(t, _)| t.clone()))
    }

    async fn count_new_friend(&self, event_id: Option<&str>, day: &str) -> Result<bool, Error> {
        if let Some(id) = event_id {
            if !lock(&self.seen_events).insert(id.to_owned()) {
                return Ok(false);
            }
        }
        *lock(&self.new_friends).entry(day.to_owned()).or_default() += 1;
        Ok(true)
    }

    async fn stats(&self, days: &[String]) -> Result<Stats, Error> {
        let mut out = Stats::default();
        {
            let stats = lock(&self.stats);
            for (k, n) in stats.iter() {
                if days.iter().any(|d| **d == *k.day) {
                    out.rows.push(StatRow::new(&k.day, &k.campaign, &k.variant, k.kind, *n));
                }
            }
        }
        let nf = lock(&self.new_friends);
        for d in days {
            if let Some(n) = nf.get(d) {
                out.new_friends.push((d.clone(), *n));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::token_key;

    #[test]
    fn token_keys_are_32_hex_digits() {
        assert_eq!(token_key("0000000000000000000000000000001f"), Some(31));
        assert_eq!(token_key("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"), Some(u128::MAX));
        assert_eq!(token_key("ffffffffffffffffffffffffffffffff"), Some(u128::MAX));
        assert_eq!(
            token_key("0123456789abcdefABCDEF0123456789"),
            u128::from_str_radix("0123456789abcdefABCDEF0123456789", 16).ok()
        );
        assert_eq!(token_key("0123456789abcdefABCDEF012345678"), None, "31 digits");
        assert_eq!(token_key("0123456789abcdefABCDEF012345678g"), None, "not hex");
        assert_eq!(
            token_key("+123456789abcdefABCDEF0123456789"),
            None,
            "a sign is not a digit"
        );
    }
}
