//! Host traits for the engine's state: enrollments and the send ledger ([`StateStore`]) and
//! wake-ups ([`Scheduler`]).
//!
//! Both are `#[async_trait]`, `Send + Sync` and object-safe; the engine holds them as
//! `Arc<dyn …>`. Every operation that must be atomic is one method, so a SQL or Redis store can do
//! it in one statement. In-memory implementations are in [`crate::memory`]; the conformance suites
//! any implementation can run on itself are in `testing` (feature `testing`).
//!
//! Times are kept to the second.

use std::fmt;
use std::sync::Arc;

use jiff::Timestamp;
use line_core::ids::{RetryKey, UserId};
use sha2::{Digest, Sha256};

use crate::error::Result;
use crate::model::Reentry;

/// One user's passage through a scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Enrollment {
    /// The entry number, from 1: the n-th time this user entered this scenario.
    pub entry: u32,
    /// A version, bumped by every transition (compare-and-set guard; part of send keys, so that
    /// a step visited twice in a loop sends twice).
    pub seq: u32,
    /// The index of the current step.
    pub step: u16,
    /// Active, or how it ended.
    pub status: Status,
    /// When the user entered.
    pub entered_at: Timestamp,
    /// When the current step became current (waits count from here, so a re-run computes the
    /// same wake-up time).
    pub since: Timestamp,
    /// While waiting: when the current step is due.
    pub wait_until: Option<Timestamp>,
    /// The last step that sent a message in this entry (conversions are credited to it).
    pub last_sent: Option<u16>,
    /// Properties of the triggering event that templates use.
    pub vars: Vec<(String, String)>,
}

/// Whether an enrollment is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Status {
    /// Inside the scenario.
    Active,
    /// Left it.
    Exited(ExitReason),
}

/// Why a user left a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ExitReason {
    /// Reached an exit step or the end of the steps.
    Completed,
    /// A goal event (a conversion).
    Goal,
    /// The user blocked the account.
    Unfollowed,
    /// Stopped by another scenario's act or by the host.
    Stopped,
}

impl ExitReason {
    /// The name used in reports and stores.
    pub fn name(self) -> &'static str {
        match self {
            ExitReason::Completed => "completed",
            ExitReason::Goal => "goal",
            ExitReason::Unfollowed => "unfollowed",
            ExitReason::Stopped => "stopped",
        }
    }

    /// Parses a name.
    pub fn from_name(s: &str) -> Option<Self> {
        [Self::Completed, Self::Goal, Self::Unfollowed, Self::Stopped]
            .into_iter()
            .find(|r| r.name() == s)
    }
}

/// The answer of [`StateStore::enroll`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EnrollOutcome {
    /// The user entered; this is the new enrollment (at step 0, active, not waiting).
    Entered(Enrollment),
    /// The re-entry rule refused.
    Refused(Refusal),
}

/// Why a re-entry rule refused an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Refusal {
    /// The user is inside the scenario.
    AlreadyInside,
    /// The scenario is once per user, and the user entered before.
    OnceOnly,
    /// The user entered within the re-entry period.
    TooSoon,
}

impl Refusal {
    /// The name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Refusal::AlreadyInside => "already_inside",
            Refusal::OnceOnly => "once_only",
            Refusal::TooSoon => "too_soon",
        }
    }

    /// Parses a name.
    pub fn from_name(s: &str) -> Option<Self> {
        [Self::AlreadyInside, Self::OnceOnly, Self::TooSoon]
            .into_iter()
            .find(|r| r.name() == s)
    }
}

/// A change of an enrollment, applied by [`StateStore::transition`] only when the version still
/// matches.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Transition {
    /// Move to `step` (from `since`), waiting until `wait_until` when set.
    Move {
        /// The new current step.
        step: u16,
        /// When it became current.
        since: Timestamp,
        /// When it is due, if later.
        wait_until: Option<Timestamp>,
        /// The new last sending step.
        last_sent: Option<u16>,
    },
    /// Leave the scenario.
    Exit(ExitReason),
}

/// The identity of one send: (scenario, user, entry, step, visit). It is stored before the call
/// to LINE, and LINE's retry key is derived from it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SendKey {
    /// The scenario id.
    pub scenario: Arc<str>,
    /// The user.
    pub user: UserId,
    /// The entry number.
    pub entry: u32,
    /// The step index.
    pub step: u16,
    /// The enrollment version when the step ran (distinguishes visits of a step in a loop).
    pub seq: u32,
}

impl SendKey {
    /// `X-Line-Retry-Key` for this send: a UUID (version 8, RFC 9562) made from the SHA-256 of the
    /// key's parts, so every process and every re-run derives the same one.
    pub fn retry_key(&self) -> RetryKey {
        let mut h = Sha256::new();
        h.update(b"line-scenarios/send/v1\0");
        h.update(self.scenario.as_bytes());
        h.update([0]);
        h.update(self.user.as_str().as_bytes());
        h.update([0]);
        h.update(self.entry.to_be_bytes());
        h.update(self.step.to_be_bytes());
        h.update(self.seq.to_be_bytes());
        let digest = h.finalize();
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        RetryKey::from_uuid(uuid::Builder::from_custom_bytes(bytes).into_uuid())
    }
}

impl fmt::Display for SendKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}/{}/{}/{}",
            self.scenario,
            self.user.as_str(),
            self.entry,
            self.step,
            self.seq
        )
    }
}

/// The answer of [`StateStore::claim`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Claim {
    /// The key was not known; it is now recorded as pending (call LINE).
    New,
    /// An earlier attempt claimed the key at this time and its outcome is not recorded: it may
    /// have reached LINE. Calling again with the same retry key is safe while LINE remembers it.
    Pending {
        /// When the first claim was made.
        since: Timestamp,
    },
    /// LINE accepted this send before.
    Done,
    /// The send was given up before (a refusal by LINE, or an outcome that could no longer be
    /// checked); it is never tried again.
    Abandoned,
}

/// How a claimed send ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Settled {
    /// LINE accepted it (now, or earlier: a 409 for the retry key).
    Accepted,
    /// It will never be sent (LINE refused it, or its outcome is unknown past LINE's retry-key memory).
    Abandoned,
}

/// A scheduled wake-up of one enrollment.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WakeUp {
    /// The scenario id.
    pub scenario: Arc<str>,
    /// The user.
    pub user: UserId,
    /// The entry the wake-up belongs to (a wake-up of an older entry is ignored).
    pub entry: u32,
    /// When it is due.
    pub at: Timestamp,
}

/// One compare-and-set of [`StateStore::transition_many`]: apply `change` to the enrollment of
/// `user` in `scenario` when it is still at (`entry`, `seq`) and active.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransitionOf<'a> {
    /// The scenario id.
    pub scenario: &'a str,
    /// The user.
    pub user: &'a UserId,
    /// The entry the change expects.
    pub entry: u32,
    /// The version the change expects.
    pub seq: u32,
    /// The change.
    pub change: Transition,
}

/// Enrollments and the send ledger. Object-safe; use as `Arc<dyn StateStore>`.
#[async_trait::async_trait]
pub trait StateStore: Send + Sync {
    /// Enters `user` into `scenario` at `at` when `rule` allows it, atomically: two concurrent
    /// calls never both enter. The new enrollment is active at step 0, not waiting.
    async fn enroll(
        &self,
        scenario: &str,
        user: &UserId,
        rule: Reentry,
        at: Timestamp,
        vars: Vec<(String, String)>,
    ) -> Result<EnrollOutcome>;

    /// The latest enrollment of `user` in `scenario`.
    async fn enrollment(&self, scenario: &str, user: &UserId) -> Result<Option<Enrollment>>;

    /// Applies `change` when the enrollment is still at (`entry`, `seq`) and active; bumps `seq`.
    /// Returns whether it was applied.
    async fn transition(&self, scenario: &str, user: &UserId, entry: u32, seq: u32, change: Transition)
        -> Result<bool>;

    /// The scenarios `user` is active in, with their enrollments.
    async fn active_of(&self, user: &UserId) -> Result<Vec<(String, Enrollment)>>;

    /// Active enrollments in (scenario, user) order after `after`, at most `limit`: for
    /// re-creating wake-ups after a restart.
    async fn active_page(
        &self,
        after: Option<(&str, &UserId)>,
        limit: usize,
    ) -> Result<Vec<(String, UserId, Enrollment)>>;

    /// Records the send `key` as pending at `at` unless it is known; says what was known.
    async fn claim(&self, key: &SendKey, at: Timestamp) -> Result<Claim>;

    /// Records how a claimed send ended. Settling an unclaimed key records it too.
    async fn settle(&self, key: &SendKey, outcome: Settled) -> Result<()>;

    // Batched forms, for the engine's hot path. Each answers exactly as the single calls made in
    // order would; the defaults make those calls. A store overrides them to do a batch at once (one
    // lock, one transaction); each item must still be atomic on its own, but the batch need not be.

    /// The latest enrollment of each wake-up's (scenario, user), in order (like
    /// [`enrollment`](Self::enrollment) for each).
    async fn enrollments_of(&self, wakes: &[WakeUp]) -> Result<Vec<Option<Enrollment>>> {
        let mut out = Vec::with_capacity(wakes.len());
        for w in wakes {
            out.push(self.enrollment(&w.scenario, &w.user).await?);
        }
        Ok(out)
    }

    /// Applies each change in order (like [`transition`](Self::transition) for each); returns
    /// whether each was applied.
    async fn transition_many(&self, changes: &[TransitionOf<'_>]) -> Result<Vec<bool>> {
        let mut out = Vec::with_capacity(changes.len());
        for c in changes {
            out.push(
                self.transition(c.scenario, c.user, c.entry, c.seq, c.change.clone())
                    .await?,
            );
        }
        Ok(out)
    }

    /// Claims each key at `at` in order (like [`claim`](Self::claim) for each); says what was
    /// known of each. Every key answered [`Claim::New`] is recorded as pending when this returns.
    async fn claim_many(&self, keys: &[SendKey], at: Timestamp) -> Result<Vec<Claim>> {
        let mut out = Vec::with_capacity(keys.len());
        for k in keys {
            out.push(self.claim(k, at).await?);
        }
        Ok(out)
    }

    /// Records how each claimed send ended, in order (like [`settle`](Self::settle) for each).
    async fn settle_many(&self, outcomes: &[(&SendKey, Settled)]) -> Result<()> {
        for (k, o) in outcomes {
            self.settle(k, o.clone()).await?;
        }
        Ok(())
    }
}

/// Wake-ups, delivered at least once. Object-safe; use as `Arc<dyn Scheduler>`.
///
/// A wake-up returned by [`due`](Scheduler::due) is leased: it is not returned again until the
/// lease passes, and [`ack`](Scheduler::ack) removes it. A wake-up that is never acknowledged
/// (the worker crashed) comes back after the lease. The engine tolerates duplicates and late
/// wake-ups: it re-reads the enrollment and does nothing unless a step is due.
#[async_trait::async_trait]
pub trait Scheduler: Send + Sync {
    /// Schedules a wake-up. Scheduling the same wake-up twice may deliver it twice.
    async fn schedule(&self, wake: &WakeUp) -> Result<()>;
    /// Schedules each wake-up (like [`schedule`](Self::schedule) for each; the default does
    /// that). A store may override it to schedule them at once.
    async fn schedule_many(&self, wakes: &[WakeUp]) -> Result<()> {
        for w in wakes {
            self.schedule(w).await?;
        }
        Ok(())
    }
    /// Up to `limit` wake-ups due at `now` (earliest first), leased until `now + lease`.
    async fn due(&self, now: Timestamp, limit: usize, lease: jiff::SignedDuration) -> Result<Vec<WakeUp>>;
    /// Removes delivered wake-ups.
    async fn ack(&self, wakes: &[WakeUp]) -> Result<()>;
    /// The number of wake-ups scheduled and not acknowledged.
    async fn pending(&self) -> Result<usize>;
}
