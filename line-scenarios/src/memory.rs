//! In-memory [`StateStore`] and [`Scheduler`], laid out compactly for millions of users.
//!
//! One [`InMemoryStore`] implements both traits, so that users and scenarios are interned once:
//! a LINE user id (`U` and 32 lowercase hex digits) is kept as 16 bytes, times as 32-bit seconds
//! (from 2000-01-01 to 2136, saturating outside), an enrollment in 40 bytes (a 12-byte table
//! entry and a 28-byte slot) and a pending wake-up in 16 (in the bucket of its due second, see
//! `Calendar`). [`InMemoryStore::approx_bytes`] sums the tables' capacities.
//!
//! The tables keyed by interned numbers and by LINE user ids (issued by LINE, uniformly random)
//! use a fast multiplicative hash; user ids in any other form are kept in a table with the
//! standard library's keyed hash, so crafted ids cannot degrade it.
//!
//! The engine names each user of a batch several times (the read, each move, the claim, the
//! settle, the acknowledgement); a small direct-mapped cache in front of the LINE-id table answers
//! the repeats from a few kilobytes instead of a random probe into a table of millions. Each
//! cache entry also keeps where that user's enrollment in one scenario is, so that the repeats
//! reach the enrollment without probing the enrollment table either (the scheduler puts each
//! user it hands out a wake-up for into the cache). It only ever holds entries of those tables (a miss falls
//! through to them), so crafted ids that collide in the cache cost a table lookup each, as
//! without the cache.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use jiff::{SignedDuration, Timestamp};
use line_core::ids::UserId;

use crate::error::Result;
use crate::model::Reentry;
use crate::packed::{pack, unpack, Fast, SEED};
use crate::store::*;

/// Seconds from the Unix epoch to 2000-01-01T00:00:00Z.
const EPOCH_2000: i64 = 946_684_800;
/// Indices at and above this are users whose id is not in LINE's usual form.
const OTHER_BIT: u32 = 1 << 31;
const NO_STEP: u16 = u16::MAX;

fn secs(t: Timestamp) -> u32 {
    (t.as_second() - EPOCH_2000).clamp(0, i64::from(u32::MAX)) as u32
}

fn time(s: u32) -> Timestamp {
    Timestamp::from_second(i64::from(s) + EPOCH_2000).unwrap_or(Timestamp::UNIX_EPOCH)
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    entered: u32,
    since: u32,
    /// 0: not waiting.
    wait_until: u32,
    entry: u32,
    seq: u32,
    step: u16,
    last_sent: u16,
    /// 0 active, 1 + ExitReason index otherwise.
    status: u8,
}

const REASONS: [ExitReason; 4] = [
    ExitReason::Completed,
    ExitReason::Goal,
    ExitReason::Unfollowed,
    ExitReason::Stopped,
];

impl Slot {
    fn status(&self) -> Status {
        match self.status {
            0 => Status::Active,
            n => Status::Exited(REASONS[usize::from(n - 1).min(3)]),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct LedgerKey {
    scenario: u16,
    step: u16,
    user: u32,
    entry: u32,
    seq: u32,
}

#[derive(Debug, Clone, Copy)]
struct LedgerEntry {
    /// 0 pending, 1 done, 2 abandoned.
    state: u8,
    since: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Wake {
    at: u32,
    scenario: u16,
    user: u32,
    entry: u32,
}

impl Wake {
    fn due(&self, slot: u32) -> Due {
        Due {
            scenario: self.scenario,
            user: self.user,
            entry: self.entry,
            slot,
        }
    }
}

/// A wake-up in its second's bucket (the second is the bucket's key): 16 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Due {
    scenario: u16,
    user: u32,
    entry: u32,
    /// Where the enrollment of (scenario, user) is in `slots` ([`NO_SLOT`]: not enrolled when
    /// scheduled). An enrollment keeps its slot, so this never goes stale; handing the wake-up
    /// out puts it into the recent-users cache, and the engine's read of the enrollment that
    /// follows needs no probe of the enrollment table (a cache miss among millions).
    slot: u32,
}

/// The slot of a wake-up scheduled for a user not enrolled.
const NO_SLOT: u32 = u32::MAX;

/// The wake-ups due in one second, handed out in (scenario, user, entry) order.
#[derive(Debug, Default)]
struct Bucket {
    wakes: Vec<Due>,
    /// `wakes[..taken]` are handed out.
    taken: usize,
    /// Whether `wakes[taken..]` is in order (wake-ups are mostly scheduled in order: a launch
    /// enrolls users in the order they were interned, and a batch reschedules in its own order).
    sorted: bool,
}

/// Scheduled (not leased) wake-ups, a bucket per due second: the earliest is the first bucket's
/// next entry, so taking a batch costs a copy out of one array instead of a binary-heap pop (a
/// walk down the heap's levels, each a likely cache miss among millions) per wake-up. The order is
/// by time, then scenario, user and entry.
#[derive(Debug, Default)]
struct Calendar {
    buckets: BTreeMap<u32, Bucket>,
    len: usize,
}

impl Calendar {
    fn push(&mut self, at: u32, w: Due) {
        let b = self.buckets.entry(at).or_insert_with(|| Bucket {
            sorted: true,
            ..Bucket::default()
        });
        if b.sorted && b.wakes.len() > b.taken && b.wakes[b.wakes.len() - 1] > w {
            b.sorted = false;
        }
        b.wakes.push(w);
        self.len += 1;
    }

    fn len(&self) -> usize {
        self.len
    }

    /// When the earliest wake-up is due.
    fn first(&self) -> Option<u32> {
        self.buckets.first_key_value().map(|(&at, _)| at)
    }

    /// Moves up to `limit` of the earliest wake-ups due at or before `now` into `out`, in order.
    fn take_due(&mut self, now: u32, limit: usize, out: &mut Vec<(Wake, u32)>) {
        while out.len() < limit {
            let Some(mut first) = self.buckets.first_entry() else {
                break;
            };
            let at = *first.key();
            if at > now {
                break;
            }
            let b = first.get_mut();
            if !b.sorted {
                b.wakes.drain(..b.taken);
                b.taken = 0;
                // Stable sort: a sorted run and a few appended cost about one pass.
                b.wakes.sort();
                b.sorted = true;
            }
            let n = (limit - out.len()).min(b.wakes.len() - b.taken);
            out.extend(b.wakes[b.taken..b.taken + n].iter().map(|d| {
                let w = Wake {
                    at,
                    scenario: d.scenario,
                    user: d.user,
                    entry: d.entry,
                };
                (w, d.slot)
            }));
            b.taken += n;
            self.len -= n;
            if b.taken == b.wakes.len() {
                first.remove();
            }
        }
    }

    /// The bytes held: each bucket's array, and about a B-tree entry per bucket.
    fn bytes(&self) -> usize {
        self.buckets
            .values()
            .map(|b| b.wakes.capacity() * std::mem::size_of::<Due>() + std::mem::size_of::<(u32, Bucket)>())
            .sum()
    }
}

/// Event values kept with an entry.
type EntryVars = Box<[(Box<str>, Box<str>)]>;

/// Slots of the recent-users cache (a power of two; 4,096 × 28 bytes).
const RECENT: usize = 4096;

/// An entry of the recent-users cache: a packed LINE user id, its index, and where the
/// enrollment of that user in one scenario is (`scenario` is [`NO_USER`] when none is cached).
#[derive(Debug, Clone, Copy)]
struct Recent {
    packed: [u8; 16],
    user: u32,
    scenario: u32,
    slot: u32,
}

const NO_RECENT: Recent = Recent {
    packed: [0; 16],
    user: NO_USER,
    scenario: NO_USER,
    slot: 0,
};
/// The index of an empty slot of the recent-users cache.
const NO_USER: u32 = u32::MAX;

/// The slot of a packed user id in the recent-users cache.
#[inline]
fn recent_slot(p: &[u8; 16]) -> usize {
    let mut a = [0u8; 8];
    let mut b = [0u8; 8];
    a.copy_from_slice(&p[..8]);
    b.copy_from_slice(&p[8..]);
    let w = u64::from_le_bytes(a) ^ u64::from_le_bytes(b).rotate_left(29);
    (w.wrapping_mul(SEED) >> (64 - RECENT.trailing_zeros())) as usize
}

#[derive(Debug, Default)]
struct Inner {
    packed: HashMap<[u8; 16], u32, Fast>,
    packed_list: Vec<[u8; 16]>,
    /// Recently resolved LINE user ids (see the module docs); empty until first used.
    recent: Vec<Recent>,
    other: HashMap<Box<str>, u32>,
    other_list: Vec<Box<str>>,
    /// Scenario ids come from the host's configuration, not from users: the fast hash is safe.
    scenarios: HashMap<Arc<str>, u16, Fast>,
    scenario_list: Vec<Arc<str>>,
    /// The index in `slots` of each (scenario, user) enrolled; an enrollment keeps its slot
    /// (re-entry overwrites it), so the index never changes.
    enrollments: HashMap<(u32, u32), u32, Fast>,
    slots: Vec<Slot>,
    vars: HashMap<(u32, u32), EntryVars, Fast>,
    ledger: HashMap<LedgerKey, LedgerEntry, Fast>,
    calendar: Calendar,
    leased: HashMap<Wake, u32, Fast>,
}

impl Inner {
    /// The cached index of a packed user id, if the cache has it.
    #[inline]
    fn recent(&self, p: &[u8; 16]) -> Option<u32> {
        match self.recent.get(recent_slot(p)) {
            Some(r) if r.user != NO_USER && r.packed == *p => Some(r.user),
            _ => None,
        }
    }

    /// Caches user `i` (packed id `p`) with the slot of their enrollment in scenario `s`.
    #[inline]
    fn remember_slot(&mut self, p: [u8; 16], i: u32, s: u16, slot: u32) {
        if self.recent.is_empty() {
            self.recent = vec![NO_RECENT; RECENT];
        }
        self.recent[recent_slot(&p)] = Recent {
            packed: p,
            user: i,
            scenario: u32::from(s),
            slot,
        };
    }

    /// The slot of the enrollment of user `u` in scenario `s` ([`NO_SLOT`] if none).
    fn slot_of(&mut self, s: u16, u: u32, user: &UserId) -> u32 {
        match self.locate(s, user) {
            Some((found, slot)) if found == u => slot,
            _ => NO_SLOT,
        }
    }

    #[inline]
    fn remember(&mut self, p: [u8; 16], i: u32) {
        if self.recent.is_empty() {
            self.recent = vec![NO_RECENT; RECENT];
        }
        let r = &mut self.recent[recent_slot(&p)];
        if r.user != i || r.packed != p {
            *r = Recent {
                packed: p,
                user: i,
                ..NO_RECENT
            };
        }
    }

    /// The user's index and the slot of their enrollment in scenario `s`, if enrolled: for a LINE
    /// user id named recently, from the cache alone (no probe of either table).
    fn locate(&mut self, s: u16, user: &UserId) -> Option<(u32, u32)> {
        let Some(p) = pack(user.as_str()) else {
            let u = self.other.get(user.as_str()).copied()?;
            return Some((u, *self.enrollments.get(&Self::key(s, u))?));
        };
        let at = recent_slot(&p);
        let u = match self.recent.get(at) {
            Some(r) if r.user != NO_USER && r.packed == p => {
                if r.scenario == u32::from(s) {
                    return Some((r.user, r.slot));
                }
                r.user
            }
            _ => {
                let u = self.packed.get(&p).copied()?;
                self.remember(p, u);
                u
            }
        };
        let slot = *self.enrollments.get(&Self::key(s, u))?;
        let r = &mut self.recent[at];
        r.scenario = u32::from(s);
        r.slot = slot;
        Some((u, slot))
    }

    fn user(&mut self, user: &UserId) -> u32 {
        match pack(user.as_str()) {
            Some(p) => {
                if let Some(i) = self.recent(&p) {
                    return i;
                }
                let next = self.packed_list.len() as u32;
                let i = *self.packed.entry(p).or_insert_with(|| {
                    self.packed_list.push(p);
                    next
                });
                self.remember(p, i);
                i
            }
            None => {
                if let Some(&i) = self.other.get(user.as_str()) {
                    return i;
                }
                let i = OTHER_BIT | self.other_list.len() as u32;
                self.other_list.push(user.as_str().into());
                self.other.insert(user.as_str().into(), i);
                i
            }
        }
    }

    fn find_user(&mut self, user: &UserId) -> Option<u32> {
        match pack(user.as_str()) {
            Some(p) => {
                if let Some(i) = self.recent(&p) {
                    return Some(i);
                }
                let i = self.packed.get(&p).copied()?;
                self.remember(p, i);
                Some(i)
            }
            None => self.other.get(user.as_str()).copied(),
        }
    }

    fn user_id(&self, i: u32) -> UserId {
        if i & OTHER_BIT == 0 {
            UserId::new(unpack(&self.packed_list[i as usize]))
        } else {
            UserId::new(self.other_list[(i & !OTHER_BIT) as usize].to_string())
        }
    }

    fn scenario(&mut self, id: &str) -> u16 {
        if let Some(&i) = self.scenarios.get(id) {
            return i;
        }
        let i = self.scenario_list.len() as u16;
        let id: Arc<str> = id.into();
        self.scenario_list.push(id.clone());
        self.scenarios.insert(id, i);
        i
    }

    fn key(scenario: u16, user: u32) -> (u32, u32) {
        (u32::from(scenario), user)
    }

    fn enrollment(&self, scenario: u16, user: u32, slot: &Slot) -> Enrollment {
        let vars = self
            .vars
            .get(&Self::key(scenario, user))
            .map(|v| v.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
            .unwrap_or_default();
        Enrollment {
            entry: slot.entry,
            seq: slot.seq,
            step: slot.step,
            status: slot.status(),
            entered_at: time(slot.entered),
            since: time(slot.since),
            wait_until: (slot.wait_until != 0).then(|| time(slot.wait_until)),
            last_sent: (slot.last_sent != NO_STEP).then_some(slot.last_sent),
            vars,
        }
    }

    fn ledger_key(&mut self, key: &SendKey) -> LedgerKey {
        LedgerKey {
            scenario: self.scenario(&key.scenario),
            step: key.step,
            user: self.user(&key.user),
            entry: key.entry,
            seq: key.seq,
        }
    }

    fn get_enrollment(&mut self, scenario: &str, user: &UserId) -> Option<Enrollment> {
        let s = *self.scenarios.get(scenario)?;
        let (u, slot) = self.locate(s, user)?;
        Some(self.enrollment(s, u, &self.slots[slot as usize]))
    }

    fn transition(&mut self, scenario: &str, user: &UserId, entry: u32, seq: u32, change: &Transition) -> bool {
        let Some(&s) = self.scenarios.get(scenario) else {
            return false;
        };
        let Some((_, at)) = self.locate(s, user) else {
            return false;
        };
        let slot = &mut self.slots[at as usize];
        if slot.entry != entry || slot.seq != seq || slot.status != 0 {
            return false;
        }
        slot.seq = slot.seq.wrapping_add(1);
        match change {
            Transition::Move {
                step,
                since,
                wait_until,
                last_sent,
            } => {
                slot.step = *step;
                slot.since = secs(*since);
                slot.wait_until = wait_until.map_or(0, |t| secs(t).max(1));
                slot.last_sent = last_sent.unwrap_or(NO_STEP);
            }
            Transition::Exit(reason) => {
                slot.status = 1 + REASONS.iter().position(|r| r == reason).unwrap_or(0) as u8;
                slot.wait_until = 0;
            }
        }
        true
    }

    fn claim(&mut self, key: &SendKey, at: Timestamp) -> Claim {
        let k = self.ledger_key(key);
        match self.ledger.entry(k) {
            std::collections::hash_map::Entry::Occupied(e) => match e.get().state {
                0 => Claim::Pending {
                    since: time(e.get().since),
                },
                1 => Claim::Done,
                _ => Claim::Abandoned,
            },
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(LedgerEntry {
                    state: 0,
                    since: secs(at),
                });
                Claim::New
            }
        }
    }

    fn settle(&mut self, key: &SendKey, outcome: &Settled) {
        let k = self.ledger_key(key);
        let state = match outcome {
            Settled::Accepted => 1,
            Settled::Abandoned => 2,
        };
        let e = self.ledger.entry(k).or_insert(LedgerEntry { state, since: 0 });
        // An accepted send stays accepted.
        if e.state != 1 {
            e.state = state;
        }
    }

    fn schedule(&mut self, wake: &WakeUp) {
        let w = Wake {
            at: secs(wake.at),
            scenario: self.scenario(&wake.scenario),
            user: self.user(&wake.user),
            entry: wake.entry,
        };
        let slot = self.slot_of(w.scenario, w.user, &wake.user);
        self.calendar.push(w.at, w.due(slot));
    }
}

/// The in-memory [`StateStore`] and [`Scheduler`]. Cheap to share behind an `Arc`.
#[derive(Debug, Default)]
pub struct InMemoryStore {
    inner: Mutex<Inner>,
}

impl InMemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store with room for `users` users without growing.
    pub fn with_capacity(users: usize) -> Self {
        let inner = Inner {
            packed: HashMap::with_capacity_and_hasher(users, Fast::default()),
            packed_list: Vec::with_capacity(users),
            enrollments: HashMap::with_capacity_and_hasher(users, Fast::default()),
            slots: Vec::with_capacity(users),
            ..Default::default()
        };
        Self {
            inner: Mutex::new(inner),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The heap bytes the tables hold (capacities times entry sizes, plus one control byte per
    /// hash-table bucket), for sizing and for the memory benchmark.
    pub fn approx_bytes(&self) -> usize {
        fn map<K, V, S>(m: &HashMap<K, V, S>) -> usize {
            // hashbrown keeps capacity * 8 / 7 buckets (rounded to a power of two) of (K, V) plus a control byte each.
            let buckets = if m.capacity() == 0 {
                0
            } else {
                (m.capacity() * 8 / 7).next_power_of_two()
            };
            buckets * (std::mem::size_of::<(K, V)>() + 1)
        }
        let g = self.lock();
        map(&g.packed)
            + g.packed_list.capacity() * 16
            + map(&g.other)
            + g.other_list.iter().map(|s| s.len() * 2 + 16).sum::<usize>()
            + map(&g.enrollments)
            + g.slots.capacity() * std::mem::size_of::<Slot>()
            + map(&g.vars)
            + map(&g.ledger)
            + g.calendar.bytes()
            + map(&g.leased)
            + g.recent.capacity() * std::mem::size_of::<Recent>()
    }

    /// When the earliest scheduled (not leased) wake-up is due.
    pub fn next_due(&self) -> Option<Timestamp> {
        self.lock().calendar.first().map(time)
    }

    /// Enters many users at once (a segment launch): like [`StateStore::enroll`] with no event
    /// properties, followed by [`Scheduler::schedule`] of a wake-up at `at` for each one entered.
    /// Returns how many entered.
    pub fn enroll_many<'a>(
        &self,
        scenario: &str,
        users: impl IntoIterator<Item = &'a UserId>,
        rule: Reentry,
        at: Timestamp,
    ) -> usize {
        let mut g = self.lock();
        let s = g.scenario(scenario);
        let now = secs(at);
        let mut n = 0;
        for user in users {
            let u = g.user(user);
            if let Ok(at) = enroll_slot(&mut g, s, u, rule, now) {
                let entry = g.slots[at as usize].entry;
                g.calendar.push(
                    now,
                    Due {
                        scenario: s,
                        user: u,
                        entry,
                        slot: at,
                    },
                );
                n += 1;
            }
        }
        n
    }
}

/// Enters user `u` into scenario `s`; returns the enrollment's slot.
fn enroll_slot(g: &mut Inner, s: u16, u: u32, rule: Reentry, now: u32) -> std::result::Result<u32, Refusal> {
    let key = Inner::key(s, u);
    let at = g.enrollments.get(&key).copied();
    let prior = at.map(|at| g.slots[at as usize]);
    if let Some(p) = prior {
        if p.status == 0 {
            return Err(Refusal::AlreadyInside);
        }
        match rule {
            Reentry::Once => return Err(Refusal::OnceOnly),
            Reentry::OncePer(w) if i64::from(now) - i64::from(p.entered) < w.secs() as i64 => {
                return Err(Refusal::TooSoon);
            }
            _ => {}
        }
    }
    let entry = prior.map_or(1, |p| p.entry + 1);
    let slot = Slot {
        entered: now,
        since: now,
        wait_until: 0,
        entry,
        seq: 0,
        step: 0,
        last_sent: NO_STEP,
        status: 0,
    };
    let at = match at {
        Some(at) => {
            g.slots[at as usize] = slot;
            at
        }
        None => {
            let at = g.slots.len() as u32;
            g.slots.push(slot);
            g.enrollments.insert(key, at);
            at
        }
    };
    if !g.vars.is_empty() {
        g.vars.remove(&key);
    }
    Ok(at)
}

#[async_trait::async_trait]
impl StateStore for InMemoryStore {
    async fn enroll(
        &self,
        scenario: &str,
        user: &UserId,
        rule: Reentry,
        at: Timestamp,
        vars: Vec<(String, String)>,
    ) -> Result<EnrollOutcome> {
        let mut g = self.lock();
        let s = g.scenario(scenario);
        let u = g.user(user);
        match enroll_slot(&mut g, s, u, rule, secs(at)) {
            Err(r) => Ok(EnrollOutcome::Refused(r)),
            Ok(at) => {
                let key = Inner::key(s, u);
                if !vars.is_empty() {
                    g.vars.insert(
                        key,
                        vars.into_iter()
                            .map(|(k, v)| (k.into_boxed_str(), v.into_boxed_str()))
                            .collect(),
                    );
                }
                let slot = g.slots[at as usize];
                Ok(EnrollOutcome::Entered(g.enrollment(s, u, &slot)))
            }
        }
    }

    async fn enrollment(&self, scenario: &str, user: &UserId) -> Result<Option<Enrollment>> {
        Ok(self.lock().get_enrollment(scenario, user))
    }

    async fn transition(
        &self,
        scenario: &str,
        user: &UserId,
        entry: u32,
        seq: u32,
        change: Transition,
    ) -> Result<bool> {
        Ok(self.lock().transition(scenario, user, entry, seq, &change))
    }

    async fn active_of(&self, user: &UserId) -> Result<Vec<(String, Enrollment)>> {
        let mut g = self.lock();
        let Some(u) = g.find_user(user) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for (s, id) in g.scenario_list.iter().enumerate() {
            if let Some(&at) = g.enrollments.get(&Inner::key(s as u16, u)) {
                let slot = &g.slots[at as usize];
                if slot.status == 0 {
                    out.push((id.to_string(), g.enrollment(s as u16, u, slot)));
                }
            }
        }
        Ok(out)
    }

    async fn active_page(
        &self,
        after: Option<(&str, &UserId)>,
        limit: usize,
    ) -> Result<Vec<(String, UserId, Enrollment)>> {
        let g = self.lock();
        let mut all: Vec<(Arc<str>, UserId, (u32, u32, u32))> = g
            .enrollments
            .iter()
            .filter(|(_, &at)| g.slots[at as usize].status == 0)
            .map(|(&(s, u), &at)| (g.scenario_list[s as usize].clone(), g.user_id(u), (s, u, at)))
            .filter(|(s, u, _)| match after {
                Some((a_s, a_u)) => (&**s, u.as_str()) > (a_s, a_u.as_str()),
                None => true,
            })
            .collect();
        all.sort_by(|a, b| (&*a.0, a.1.as_str()).cmp(&(&*b.0, b.1.as_str())));
        all.truncate(limit);
        Ok(all
            .into_iter()
            .map(|(s, u, (sc, ui, at))| {
                let e = g.enrollment(sc as u16, ui, &g.slots[at as usize]);
                (s.to_string(), u, e)
            })
            .collect())
    }

    async fn claim(&self, key: &SendKey, at: Timestamp) -> Result<Claim> {
        Ok(self.lock().claim(key, at))
    }

    async fn settle(&self, key: &SendKey, outcome: Settled) -> Result<()> {
        self.lock().settle(key, &outcome);
        Ok(())
    }

    async fn enrollments_of(&self, wakes: &[WakeUp]) -> Result<Vec<Option<Enrollment>>> {
        let mut g = self.lock();
        Ok(wakes.iter().map(|w| g.get_enrollment(&w.scenario, &w.user)).collect())
    }

    async fn transition_many(&self, changes: &[TransitionOf<'_>]) -> Result<Vec<bool>> {
        let mut g = self.lock();
        Ok(changes
            .iter()
            .map(|c| g.transition(c.scenario, c.user, c.entry, c.seq, &c.change))
            .collect())
    }

    async fn claim_many(&self, keys: &[SendKey], at: Timestamp) -> Result<Vec<Claim>> {
        let mut g = self.lock();
        Ok(keys.iter().map(|k| g.claim(k, at)).collect())
    }

    async fn settle_many(&self, outcomes: &[(&SendKey, Settled)]) -> Result<()> {
        let mut g = self.lock();
        for (k, o) in outcomes {
            g.settle(k, o);
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl Scheduler for InMemoryStore {
    async fn schedule(&self, wake: &WakeUp) -> Result<()> {
        self.lock().schedule(wake);
        Ok(())
    }

    async fn schedule_many(&self, wakes: &[WakeUp]) -> Result<()> {
        let mut g = self.lock();
        for w in wakes {
            g.schedule(w);
        }
        Ok(())
    }

    async fn due(&self, now: Timestamp, limit: usize, lease: SignedDuration) -> Result<Vec<WakeUp>> {
        let mut g = self.lock();
        let now_s = secs(now);
        let until = secs(now.saturating_add(lease).unwrap_or(now));
        // Expired leases come back first.
        let expired: Vec<Wake> = g
            .leased
            .iter()
            .filter(|(_, &until)| until <= now_s)
            .map(|(w, _)| *w)
            .collect();
        for w in expired {
            g.leased.remove(&w);
            let slot = g
                .enrollments
                .get(&Inner::key(w.scenario, w.user))
                .copied()
                .unwrap_or(NO_SLOT);
            g.calendar.push(w.at, w.due(slot));
        }
        let mut taken = Vec::with_capacity(limit.min(g.calendar.len()));
        g.calendar.take_due(now_s, limit, &mut taken);
        let mut out = Vec::with_capacity(taken.len());
        for (w, slot) in taken {
            g.leased.insert(w, until);
            if w.user & OTHER_BIT == 0 {
                // The engine names this user next (the read, the moves, the ack): from the cache,
                // with where the enrollment is.
                let p = g.packed_list[w.user as usize];
                if slot == NO_SLOT {
                    g.remember(p, w.user);
                } else {
                    g.remember_slot(p, w.user, w.scenario, slot);
                }
            }
            out.push(WakeUp {
                scenario: g.scenario_list[usize::from(w.scenario)].clone(),
                user: g.user_id(w.user),
                entry: w.entry,
                at: time(w.at),
            });
        }
        Ok(out)
    }

    async fn ack(&self, wakes: &[WakeUp]) -> Result<()> {
        let mut g = self.lock();
        for wake in wakes {
            let Some(&s) = g.scenarios.get(&*wake.scenario) else {
                continue;
            };
            let Some(u) = g.find_user(&wake.user) else {
                continue;
            };
            let w = Wake {
                at: secs(wake.at),
                scenario: s,
                user: u,
                entry: wake.entry,
            };
            g.leased.remove(&w);
        }
        Ok(())
    }

    async fn pending(&self) -> Result<usize> {
        let g = self.lock();
        Ok(g.calendar.len() + g.leased.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_ids_of_any_form_are_interned_once() {
        let id = "U4af4980629d1b2c3e4f5a6b7c8d9e0f1";
        let mut g = Inner::default();
        for u in [id, "Ushort", "emoji-🎉"] {
            let i = g.user(&UserId::new(u));
            assert_eq!(g.user_id(i).as_str(), u);
            assert_eq!(g.user(&UserId::new(u)), i, "interned once");
        }
    }

    #[test]
    fn the_recent_users_cache_answers_as_the_table_does() {
        let mut g = Inner::default();
        // More users than cache slots, so that many collide in the cache.
        let users: Vec<UserId> = (0..3 * RECENT as u64)
            .map(|i| UserId::new(format!("U{:032x}", i.wrapping_mul(0x9e37_79b9_7f4a_7c15))))
            .collect();
        let ids: Vec<u32> = users.iter().map(|u| g.user(u)).collect();
        for round in 0..2 {
            for (u, &i) in users.iter().zip(&ids).rev() {
                assert_eq!(g.find_user(u), Some(i), "round {round}");
                assert_eq!(g.user(u), i, "round {round}");
                assert_eq!(g.user_id(i), *u);
            }
        }
        assert_eq!(g.find_user(&UserId::new(format!("U{:032x}", 7))), None);
        assert_eq!(g.packed_list.len(), users.len());
    }

    #[test]
    fn located_enrollments_are_the_tables_own() {
        let mut g = Inner::default();
        // More users than cache slots (many collide in the cache), and one id in another form.
        let users: Vec<UserId> = (0..3 * RECENT as u64)
            .map(|i| UserId::new(format!("U{:032x}", i.wrapping_mul(0x9e37_79b9_7f4a_7c15))))
            .chain([UserId::new("Ushort")])
            .collect();
        let (a, b) = (g.scenario("a"), g.scenario("b"));
        for (n, u) in users.iter().enumerate() {
            let i = g.user(u);
            enroll_slot(&mut g, a, i, Reentry::NotWhileInside, 1).unwrap();
            if n % 3 == 0 {
                enroll_slot(&mut g, b, i, Reentry::NotWhileInside, 1).unwrap();
            }
        }
        let mut found = 0;
        for round in 0..2 {
            for (n, u) in users.iter().enumerate().rev() {
                let i = g.find_user(u).unwrap();
                for s in [a, b, a] {
                    let want = g.enrollments.get(&Inner::key(s, i)).map(|&at| (i, at));
                    found += usize::from(want.is_some());
                    assert_eq!(g.locate(s, u), want, "round {round}, user {n}, scenario {s}");
                }
            }
        }
        assert_eq!(found, 2 * (2 * users.len() + users.len().div_ceil(3)));
        assert_eq!(g.locate(a, &UserId::new(format!("U{:032x}", 7))), None);
        assert_eq!(g.locate(a, &UserId::new("Uother")), None);
    }

    #[test]
    fn times_saturate_to_the_stored_range() {
        let t: Timestamp = "2026-05-15T01:02:03Z".parse().unwrap();
        assert_eq!(time(secs(t)), t);
        assert_eq!(secs("1990-01-01T00:00:00Z".parse().unwrap()), 0);
    }

    #[test]
    fn an_enrollment_takes_40_bytes_and_a_wake_up_16() {
        // Its entry in the table, and its slot.
        assert_eq!(std::mem::size_of::<((u32, u32), u32)>(), 12);
        assert_eq!(std::mem::size_of::<Slot>(), 28);
        // In its second's bucket, with its enrollment's slot (16 with its time while leased).
        assert_eq!(std::mem::size_of::<Due>(), 16);
        assert_eq!(std::mem::size_of::<Wake>(), 16);
    }

    #[test]
    fn the_calendar_hands_out_in_time_then_key_order() {
        let mut cal = Calendar::default();
        let d = |scenario: u16, user: u32, entry: u32| Due {
            scenario,
            user,
            entry,
            slot: user,
        };
        // Out of order within a second and across seconds.
        let mut want = Vec::new();
        for (at, due) in [
            (20, d(0, 5, 1)),
            (10, d(1, 0, 1)),
            (10, d(0, 9, 1)),
            (20, d(0, 1, 2)),
            (10, d(0, 9, 0)),
            (30, d(0, 0, 1)),
        ] {
            cal.push(at, due);
            want.push(Wake {
                at,
                scenario: due.scenario,
                user: due.user,
                entry: due.entry,
            });
        }
        want.sort();
        assert_eq!(cal.len(), 6);
        assert_eq!(cal.first(), Some(10));
        let mut taken = Vec::new();
        let mut out = |cal: &mut Calendar, now: u32, limit: usize| {
            cal.take_due(now, limit, &mut taken);
            for (w, slot) in &taken {
                assert_eq!(*slot, w.user, "each wake-up keeps its slot");
            }
            taken.iter().map(|(w, _)| *w).collect::<Vec<Wake>>()
        };
        assert_eq!(out(&mut cal, 25, 2), want[..2]);
        // One scheduled into the second being handed out, before what is left of it.
        cal.push(10, d(0, 0, 7));
        want.push(Wake {
            at: 10,
            scenario: 0,
            user: 0,
            entry: 7,
        });
        want[2..].sort();
        assert_eq!(out(&mut cal, 25, 100), want[..6], "nothing past `now`");
        assert_eq!(cal.first(), Some(30));
        assert_eq!(out(&mut cal, 30, 100), want);
        assert_eq!((cal.len(), cal.first()), (0, None));
    }
}
