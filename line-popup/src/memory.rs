//! [`InMemoryStore`]: a sharded in-process [`PopupStore`].
//!
//! # Layout
//!
//! With many visitors, a decision's cost is mostly cache misses: every heap
//! block it reads is, for a visitor not seen recently, one trip to main memory.
//! So a visitor's state is kept in few blocks: the table entry holds the
//! visitor ID inline (up to 38 bytes, which fits a hyphenated UUID), the
//! calendar day and its count; one vector holds the per-campaign state, rolling
//! windows of up to two showings inline; one more the per-session counters,
//! session IDs inline, which is read only for a per-session cap and pruned
//! only when a showing is added. Campaign, variant and day names are interned:
//! every visitor's state points to one shared copy, which stays in cache.

use std::fmt;
use std::hash::{BuildHasher, Hash};
use std::sync::{Arc, Mutex, MutexGuard};

use hashbrown::{Equivalent, HashMap, HashSet, HashTable};
use smallvec::SmallVec;

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
/// Expired window entries are pruned when their campaign's caps are next
/// checked, expired session counters when their visitor next gets a showing,
/// and the day count when the day changes; expired tokens and bindings when
/// they are next read, or by
/// [`purge_expired`](Self::purge_expired). Campaign, variant and day names are
/// interned for the life of the store (one copy of each distinct name).
#[derive(Debug)]
pub struct InMemoryStore {
    // foldhash with a per-process random seed: fast, and visitor IDs chosen by
    // an attacker cannot be made to collide ahead of time.
    hasher: hashbrown::DefaultHashBuilder,
    /// Keyed by the `hasher` hash of the visitor ID (see [`visitor_shard`]).
    visitors: Vec<Mutex<HashTable<VisitorState>>>,
    /// Keyed by the token's 128 bits (tokens are 32 hex digits): no allocation per showing.
    tokens: Vec<Mutex<HashMap<u128, TokenState>>>,
    /// Campaign, variant and day names.
    names: Mutex<HashSet<Arc<str>>>,
    bindings: Mutex<HashMap<String, (String, i64)>>,
    stats: Mutex<HashMap<StatKey, u64>>,
    new_friends: Mutex<HashMap<String, u64>>,
    /// Webhook event IDs of counted new friends, by the day they were counted
    /// on; only the last [`SEEN_EVENT_DAYS`] days are kept.
    seen_events: Mutex<std::collections::BTreeMap<String, hashbrown::HashSet<String>>>,
}

/// How many days of counted webhook event IDs the store keeps, like the Redis
/// store's 7-day TTL. A redelivery carries its event's timestamp and so the
/// same day; one of an event older than this would be counted again.
const SEEN_EVENT_DAYS: usize = 8;

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

/// Longest ID kept inline in a [`Key`].
const INLINE_KEY: usize = 38;

/// A visitor or session ID: inline when it fits, so that comparing it reads
/// no other memory; on the heap otherwise.
#[derive(Clone)]
enum Key {
    Inline { len: u8, bytes: [u8; INLINE_KEY] },
    Heap(Box<str>),
}

impl Key {
    fn new(s: &str) -> Self {
        match u8::try_from(s.len()) {
            Ok(len) if s.len() <= INLINE_KEY => {
                let mut bytes = [0; INLINE_KEY];
                bytes[..s.len()].copy_from_slice(s.as_bytes());
                Self::Inline { len, bytes }
            }
            _ => Self::Heap(s.into()),
        }
    }

    fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Self::Heap(s) => s.as_bytes(),
        }
    }

    fn is(&self, s: &str) -> bool {
        self.as_bytes() == s.as_bytes()
    }

    fn as_str(&self) -> &str {
        match self {
            // The bytes of a whole `str`, copied in `new`.
            Self::Inline { .. } => std::str::from_utf8(self.as_bytes()).expect("a key holds a whole str"),
            Self::Heap(s) => s,
        }
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

#[derive(Debug)]
struct VisitorState {
    /// The `hasher` hash of `id`, kept for the table's growth.
    hash: u64,
    id: Key,
    /// The calendar day of `day_count` (interned).
    day: Option<Arc<str>>,
    /// Showings on `day`, across campaigns.
    day_count: u32,
    campaigns: Vec<CampaignState>,
    sessions: Vec<SessionCount>,
}

impl VisitorState {
    fn new(hash: u64, id: &str) -> Self {
        Self {
            hash,
            id: Key::new(id),
            day: None,
            day_count: 0,
            campaigns: Vec::new(),
            sessions: Vec::new(),
        }
    }
}

#[derive(Debug)]
struct CampaignState {
    /// The campaign (interned).
    id: Arc<str>,
    lifetime: u32,
    converted: bool,
    last_shown_ms: Option<i64>,
    dismissed_ms: Option<i64>,
    /// Showings in the rolling window, oldest first.
    window: SmallVec<[i64; 2]>,
}

impl CampaignState {
    fn new(id: Arc<str>) -> Self {
        Self {
            id,
            lifetime: 0,
            converted: false,
            last_shown_ms: None,
            dismissed_ms: None,
            window: SmallVec::new(),
        }
    }
}

/// Showings of one campaign in one session.
#[derive(Debug)]
struct SessionCount {
    session: Key,
    expires_ms: i64,
    count: u32,
    /// The campaign's place in [`VisitorState::campaigns`] (which only grows).
    campaign: u32,
}

impl SessionCount {
    /// Whether this is the live counter of campaign `pos` in `session`.
    fn is(&self, pos: usize, session: &str, now_ms: i64) -> bool {
        self.campaign as usize == pos && self.expires_ms > now_ms && self.session.is(session)
    }
}

/// The showing of a token; [`Attribution`] is made from it when an event is recorded.
#[derive(Debug)]
struct TokenState {
    visitor: Key,
    /// The campaign and variant (interned).
    campaign: Arc<str>,
    variant: Arc<str>,
    reserved_at: Timestamp,
    expires_ms: i64,
    /// The [`event_bit`]s of the events recorded.
    recorded: u8,
}

impl TokenState {
    fn attribution(&self) -> Attribution {
        Attribution::new(self.visitor.as_str(), &self.campaign, &self.variant, self.reserved_at)
    }
}

fn event_bit(kind: EventKind) -> u8 {
    match kind {
        EventKind::Shown => 1,
        EventKind::Clicked => 2,
        EventKind::Dismissed => 4,
        EventKind::ConvertedFriend => 8,
        EventKind::ConvertedLink => 16,
    }
}

impl Default for InMemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

/// Whether `token` is 32 hex digits (a loop without early exit, which the
/// compiler vectorizes).
fn is_token(token: &str) -> bool {
    token.len() == 32 && token.bytes().fold(true, |ok, b| ok & b.is_ascii_hexdigit())
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

/// The shard of a visitor hash. Its bits 40 to 45: a shard's table takes its
/// bucket from the low bits and its tags from the top 7, which must vary
/// within a shard.
fn visitor_shard(hash: u64) -> usize {
    (hash >> 40) as usize % SHARDS
}

/// The state of visitor `id` (of hash `hash`), created empty if missing.
fn visitor_entry<'a>(table: &'a mut HashTable<VisitorState>, hash: u64, id: &str) -> &'a mut VisitorState {
    table
        .entry(hash, |v| v.id.is(id), |v| v.hash)
        .or_insert_with(|| VisitorState::new(hash, id))
        .into_mut()
}

impl InMemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self {
            hasher: Default::default(),
            visitors: (0..SHARDS).map(|_| Mutex::new(HashTable::new())).collect(),
            tokens: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            names: Mutex::new(HashSet::new()),
            bindings: Mutex::new(HashMap::new()),
            stats: Mutex::new(HashMap::new()),
            new_friends: Mutex::new(HashMap::new()),
            seen_events: Mutex::new(std::collections::BTreeMap::new()),
        }
    }

    fn shard<K: Hash + ?Sized>(&self, key: &K) -> usize {
        (self.hasher.hash_one(key) as usize) % SHARDS
    }

    /// The shared copy of a campaign, variant or day name. Locks `names` only,
    /// never while waiting for another lock.
    fn intern(&self, name: &str) -> Arc<str> {
        let mut names = lock(&self.names);
        if let Some(n) = names.get(name) {
            return n.clone();
        }
        let n: Arc<str> = name.into();
        names.insert(n.clone());
        n
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

    /// [`PopupStore::reserve`], which never waits for anything but a shard's mutex.
    fn reserve_sync(&self, req: &ReserveRequest<'_>) -> Result<ReserveOutcome, Error> {
        let now_ms = req.now.as_millisecond();
        // Checked before anything changes, so a bad token reserves nothing.
        if !is_token(req.token) {
            return Err(Error::invalid_input("token", "must be 32 hex digits"));
        }
        let hash = self.hasher.hash_one(req.visitor);
        let (chosen, skipped, campaign) = {
            let mut shard = lock(&self.visitors[visitor_shard(hash)]);
            let v = visitor_entry(&mut shard, hash, req.visitor);
            let day_count = match &v.day {
                Some(d) if **d == *req.day => v.day_count,
                _ => 0,
            };
            let daily = req.max_per_day.filter(|max| day_count >= *max).map(|_| CapKind::Daily);
            let mut blocked = Vec::with_capacity(req.candidates.len());
            // (candidate, position in `v.campaigns`)
            let mut chosen = None;
            for (i, c) in req.candidates.iter().enumerate() {
                let pos = v.campaigns.iter().position(|s| *s.id == *c.campaign);
                // The session counter is read only when a cap uses it (and
                // there is none without the campaign's state).
                let in_session = match (c.caps.per_session, pos) {
                    (Some(_), Some(p)) => v
                        .sessions
                        .iter()
                        .find(|s| s.is(p, req.session, now_ms))
                        .map_or(0, |s| s.count),
                    _ => 0,
                };
                let cap_state = match pos.map(|p| &mut v.campaigns[p]) {
                    Some(s) => {
                        if let Some(w) = c.caps.window {
                            let from = now_ms.saturating_sub(secs_to_ms(w.secs));
                            let expired = s.window.iter().take_while(|t| **t <= from).count();
                            if expired > 0 {
                                s.window.drain(..expired);
                            }
                        }
                        CapState {
                            lifetime: s.lifetime,
                            in_window: u32::try_from(s.window.len()).unwrap_or(u32::MAX),
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
                match check_caps(c.caps, &cap_state, now_ms).or(daily) {
                    Some(cap) => blocked.push(cap),
                    None => {
                        chosen = Some((i, pos));
                        break;
                    }
                }
            }
            let Some((i, pos)) = chosen else {
                return Ok(ReserveOutcome::Blocked(blocked));
            };
            let c = req.candidates[i];
            let pos = match pos {
                Some(p) => p,
                None => {
                    v.campaigns.push(CampaignState::new(self.intern(c.campaign)));
                    v.campaigns.len() - 1
                }
            };
            let s = &mut v.campaigns[pos];
            s.lifetime = s.lifetime.saturating_add(1);
            s.last_shown_ms = Some(now_ms);
            if c.caps.window.is_some() {
                s.window.push(now_ms);
            }
            let campaign = s.id.clone();
            let session_exp = now_ms.saturating_add(secs_to_ms(req.session_ttl_secs));
            match v.sessions.iter_mut().find(|s| s.is(pos, req.session, now_ms)) {
                Some(s) => {
                    s.count = s.count.saturating_add(1);
                    s.expires_ms = session_exp;
                }
                None => {
                    v.sessions.retain(|s| s.expires_ms > now_ms);
                    v.sessions.push(SessionCount {
                        session: Key::new(req.session),
                        expires_ms: session_exp,
                        count: 1,
                        campaign: u32::try_from(pos).unwrap_or(u32::MAX),
                    });
                }
            }
            if v.day.as_deref().is_none_or(|d| d != req.day) {
                v.day = Some(self.intern(req.day));
            }
            v.day_count = day_count.saturating_add(1);
            (i, blocked, campaign)
        };
        let c = req.candidates[chosen];
        // Cannot fail: checked by `is_token` above.
        let key = token_key(req.token).ok_or_else(|| Error::invalid_input("token", "must be 32 hex digits"))?;
        let token = TokenState {
            visitor: Key::new(req.visitor),
            campaign,
            variant: self.intern(c.variant),
            reserved_at: req.now,
            expires_ms: now_ms.saturating_add(secs_to_ms(req.token_ttl_secs)),
            recorded: 0,
        };
        lock(&self.tokens[self.shard(&key)]).insert(key, token);
        self.bump_stat(req.day, c.campaign, c.variant, StatKind::Reserved);
        Ok(ReserveOutcome::Reserved { index: chosen, skipped })
    }
}

#[async_trait]
impl PopupStore for InMemoryStore {
    async fn reserve(&self, req: &ReserveRequest<'_>) -> Result<ReserveOutcome, Error> {
        self.reserve_sync(req)
    }

    fn try_reserve_now(&self, req: &ReserveRequest<'_>) -> Option<Result<ReserveOutcome, Error>> {
        Some(self.reserve_sync(req))
    }

    async fn record(&self, token: &str, kind: EventKind, now: Timestamp, day: &str) -> Result<Recorded, Error> {
        let now_ms = now.as_millisecond();
        let Some(key) = token_key(token) else {
            return Ok(Recorded::UnknownToken);
        };
        let (attribution, campaign) = {
            let mut shard = lock(&self.tokens[self.shard(&key)]);
            let Some(t) = shard.get_mut(&key) else {
                return Ok(Recorded::UnknownToken);
            };
            if t.expires_ms <= now_ms {
                shard.remove(&key);
                return Ok(Recorded::UnknownToken);
            }
            if t.recorded & event_bit(kind) != 0 {
                return Ok(Recorded::Duplicate(t.attribution()));
            }
            t.recorded |= event_bit(kind);
            (t.attribution(), t.campaign.clone())
        };
        if kind == EventKind::Dismissed || kind.is_conversion() {
            let hash = self.hasher.hash_one(attribution.visitor.as_str());
            let mut shard = lock(&self.visitors[visitor_shard(hash)]);
            let v = visitor_entry(&mut shard, hash, &attribution.visitor);
            let s = match v.campaigns.iter().position(|s| s.id == campaign) {
                Some(p) => &mut v.campaigns[p],
                None => {
                    v.campaigns.push(CampaignState::new(campaign));
                    v.campaigns.last_mut().expect("just pushed")
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
            let mut seen = lock(&self.seen_events);
            if !seen.entry(day.to_owned()).or_default().insert(id.to_owned()) {
                return Ok(false);
            }
            // Day names ("2026-05-15") sort by date: drop the oldest days.
            while seen.len() > SEEN_EVENT_DAYS {
                seen.pop_first();
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
    use super::{is_token, token_key, InMemoryStore, Key, INLINE_KEY, SEEN_EVENT_DAYS};
    use crate::store::PopupStore;

    #[tokio::test]
    async fn counted_event_ids_are_kept_for_a_bounded_number_of_days() {
        let store = InMemoryStore::new();
        assert!(store.count_new_friend(Some("ev-1"), "2026-05-01").await.unwrap());
        assert!(
            !store.count_new_friend(Some("ev-1"), "2026-05-01").await.unwrap(),
            "a redelivery"
        );
        for d in 2..=20 {
            let day = format!("2026-05-{d:02}");
            for i in 0..10 {
                assert!(store
                    .count_new_friend(Some(&format!("ev-{d}-{i}")), &day)
                    .await
                    .unwrap());
            }
        }
        {
            let seen = store.seen_events.lock().unwrap();
            assert_eq!(seen.len(), SEEN_EVENT_DAYS, "only the last days are kept");
            assert_eq!(seen.keys().next().map(String::as_str), Some("2026-05-13"));
            assert_eq!(seen.values().map(|s| s.len()).sum::<usize>(), SEEN_EVENT_DAYS * 10);
        }
        // Within the kept days a redelivery is still not counted again.
        assert!(!store.count_new_friend(Some("ev-20-3"), "2026-05-20").await.unwrap());
    }

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
        for t in [
            "0000000000000000000000000000001f",
            "0123456789abcdefABCDEF012345678",
            "0123456789abcdefABCDEF012345678g",
            "+123456789abcdefABCDEF0123456789",
            "0123456789abcdefABCDEF0123456789",
            "",
        ] {
            assert_eq!(is_token(t), token_key(t).is_some(), "{t:?}");
        }
    }

    #[test]
    fn keys_compare_by_content_inline_or_not() {
        for s in [
            "",
            "v",
            "visitor-00000001",
            &"x".repeat(INLINE_KEY),
            &"y".repeat(INLINE_KEY + 1),
            "é-ü",
        ] {
            let k = Key::new(s);
            assert_eq!(k.as_str(), s);
            assert!(k.is(s));
            assert!(!k.is(&format!("{s}.")));
            assert_eq!(matches!(k, Key::Inline { .. }), s.len() <= INLINE_KEY);
        }
    }
}
