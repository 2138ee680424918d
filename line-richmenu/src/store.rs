//! Host traits for the state this crate keeps, and their in-memory implementations.
//!
//! - [`MenuStore`]: which rich menu ID holds which menu key and content hash, and the
//!   hourly write budgets shared by every process of a channel.
//! - [`AssignmentStore`]: which menu each user has now, and the reconcile journal.
//! - [`UserDirectory`]: what the policy needs to know about a user (ID-link status, store…).
//!
//! Every method that must be atomic is one method, so that a SQL or Redis implementation
//! can do it in one round trip.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use line_core::ids::{RichMenuId, UserId};
use serde::{Deserialize, Serialize};

use crate::error::Error;

/// Where a deployed menu is in its life.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum MenuState {
    /// Created on LINE; its image is not uploaded yet.
    Created,
    /// Image uploaded: the live menu of its key.
    Live,
    /// Superseded (a new version of its key) or no longer declared. Its users are moved to
    /// `successor` (or unlinked when there is none), then it is deleted.
    Retired {
        /// The menu that replaces it.
        successor: Option<RichMenuId>,
        /// Whether its users have been moved off it.
        moved: bool,
    },
}

/// One rich menu this crate created on LINE.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MenuRecord {
    /// LINE's ID.
    pub rich_menu_id: RichMenuId,
    /// The declared key.
    pub key: String,
    /// The content hash of the definition and image.
    pub hash: String,
    /// The alias pointed at it, if any.
    pub alias: Option<String>,
    /// Where it is in its life.
    pub state: MenuState,
}

impl MenuRecord {
    /// A record.
    pub fn new(
        rich_menu_id: impl Into<RichMenuId>,
        key: impl Into<String>,
        hash: impl Into<String>,
        alias: Option<String>,
        state: MenuState,
    ) -> Self {
        Self {
            rich_menu_id: rich_menu_id.into(),
            key: key.into(),
            hash: hash.into(),
            alias,
            state,
        }
    }

    /// Whether this is the live menu of its key.
    pub fn is_live(&self) -> bool {
        self.state == MenuState::Live
    }
}

/// Deployed menus and write budgets.
#[async_trait]
pub trait MenuStore: Send + Sync {
    /// Every record.
    async fn records(&self) -> Result<Vec<MenuRecord>, Error>;
    /// Inserts or replaces the record of `record.rich_menu_id`.
    async fn put(&self, record: MenuRecord) -> Result<(), Error>;
    /// Removes a record; removing an absent one is not an error.
    async fn remove(&self, rich_menu_id: &RichMenuId) -> Result<(), Error>;
    /// Atomically: if fewer than `limit` uses of `bucket` happened in `(now - window, now]`,
    /// records one at `now` and returns `true`; otherwise returns `false` and records nothing.
    async fn take_budget(
        &self,
        bucket: &str,
        now: Timestamp,
        window: SignedDuration,
        limit: u32,
    ) -> Result<bool, Error>;
}

/// What a user has, or should have.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Assignment {
    /// No per-user menu: the user sees the channel's default menu.
    Default,
    /// A per-user menu.
    Menu {
        /// The menu key.
        key: String,
        /// LINE's ID of the menu.
        rich_menu_id: RichMenuId,
    },
}

impl Assignment {
    /// A per-user menu.
    pub fn menu(key: impl Into<String>, rich_menu_id: impl Into<RichMenuId>) -> Self {
        Self::Menu {
            key: key.into(),
            rich_menu_id: rich_menu_id.into(),
        }
    }

    /// The rich menu ID, unless this is the default.
    pub fn rich_menu_id(&self) -> Option<&RichMenuId> {
        match self {
            Self::Default => None,
            Self::Menu { rich_menu_id, .. } => Some(rich_menu_id),
        }
    }

    /// The menu key, unless this is the default.
    pub fn key(&self) -> Option<&str> {
        match self {
            Self::Default => None,
            Self::Menu { key, .. } => Some(key),
        }
    }
}

/// Where a journal step is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum StepStatus {
    /// Not started.
    Pending,
    /// The call may have been sent; on resume, the users are checked before sending again.
    InFlight,
    /// Done and recorded.
    Done,
    /// LINE rejected it; it will not be retried.
    Failed {
        /// Why.
        reason: String,
    },
}

/// One write of a reconcile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum StepOp {
    /// Bulk link (at most 500 users).
    Link {
        /// Where they go.
        to: Assignment,
        /// Who.
        users: Vec<UserId>,
    },
    /// Bulk unlink (at most 500 users).
    Unlink {
        /// Who.
        users: Vec<UserId>,
    },
    /// A rich-menu batch job: every user of each `from` goes to its `to`
    /// ([`Assignment::Default`] unlinks).
    Batch {
        /// `(from, to)` pairs, at most 1,000.
        moves: Vec<(RichMenuId, Assignment)>,
        /// The `resumeRequestKey`, so that sending again after a crash is safe.
        resume_key: String,
        /// LINE's request id, once accepted.
        request_id: Option<String>,
    },
}

/// A step and its status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Step {
    /// What to do.
    pub op: StepOp,
    /// Where it is.
    pub status: StepStatus,
}

/// The plan of a reconcile, saved before the first write so that a crash can resume it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct Journal {
    /// The steps, in order.
    pub steps: Vec<Step>,
}

/// Current assignments and the reconcile journal.
#[async_trait]
pub trait AssignmentStore: Send + Sync {
    /// The user's current assignment, if known.
    async fn get(&self, user: &UserId) -> Result<Option<Assignment>, Error>;
    /// Sets the assignment of every user in `users`.
    async fn set_many(&self, users: &[UserId], to: &Assignment) -> Result<(), Error>;
    /// Forgets a user; returns whether it was known.
    async fn forget(&self, user: &UserId) -> Result<bool, Error>;
    /// Up to `limit` assignments in user-ID order, after `after`.
    async fn list(&self, after: Option<&UserId>, limit: usize) -> Result<Vec<(UserId, Assignment)>, Error>;
    /// Atomically moves every user on `from` to `to`; returns how many moved.
    async fn replace_menu(&self, from: &RichMenuId, to: &Assignment) -> Result<u64, Error>;
    /// How many users are on `menu`.
    async fn count_on(&self, menu: &RichMenuId) -> Result<u64, Error>;
    /// The saved journal.
    async fn load_journal(&self) -> Result<Option<Journal>, Error>;
    /// Saves the journal, replacing any other.
    async fn save_journal(&self, journal: &Journal) -> Result<(), Error>;
    /// Removes the journal.
    async fn clear_journal(&self) -> Result<(), Error>;
}

/// What the policy knows about a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UserContext {
    /// The user.
    pub user_id: UserId,
    /// Whether the user's LINE account is linked to a member account.
    pub linked: bool,
    /// The user's store, if the host tracks one.
    pub store: Option<String>,
    /// Free-form attributes for segment conditions.
    pub attributes: BTreeMap<String, String>,
    /// Free-form tags for segment conditions.
    pub tags: BTreeSet<String>,
}

impl UserContext {
    /// A user with nothing known: not linked, no store.
    pub fn new(user_id: impl Into<UserId>) -> Self {
        Self {
            user_id: user_id.into(),
            linked: false,
            store: None,
            attributes: BTreeMap::new(),
            tags: BTreeSet::new(),
        }
    }

    /// Sets the link status.
    pub fn linked(mut self, linked: bool) -> Self {
        self.linked = linked;
        self
    }

    /// Sets the store.
    pub fn store(mut self, store: impl Into<String>) -> Self {
        self.store = Some(store.into());
        self
    }

    /// Adds a tag.
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.tags.insert(tag.into());
        self
    }
}

/// The host's knowledge of its users.
#[async_trait]
pub trait UserDirectory: Send + Sync {
    /// The user's context; an unknown user gets [`UserContext::new`].
    async fn context(&self, user: &UserId) -> Result<UserContext, Error>;
    /// Stores a context.
    async fn put(&self, context: UserContext) -> Result<(), Error>;
    /// Atomically sets the link status (creating the user if unknown) and returns the
    /// context after the change.
    async fn set_linked(&self, user: &UserId, linked: bool) -> Result<UserContext, Error>;
    /// Forgets a user.
    async fn forget(&self, user: &UserId) -> Result<(), Error>;
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A [`MenuStore`] in memory.
#[derive(Debug, Default)]
pub struct InMemoryMenuStore {
    records: Mutex<BTreeMap<String, MenuRecord>>,
    budgets: Mutex<HashMap<String, Vec<Timestamp>>>,
}

impl InMemoryMenuStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl MenuStore for InMemoryMenuStore {
    async fn records(&self) -> Result<Vec<MenuRecord>, Error> {
        Ok(lock(&self.records).values().cloned().collect())
    }

    async fn put(&self, record: MenuRecord) -> Result<(), Error> {
        lock(&self.records).insert(record.rich_menu_id.as_str().to_owned(), record);
        Ok(())
    }

    async fn remove(&self, rich_menu_id: &RichMenuId) -> Result<(), Error> {
        lock(&self.records).remove(rich_menu_id.as_str());
        Ok(())
    }

    async fn take_budget(
        &self,
        bucket: &str,
        now: Timestamp,
        window: SignedDuration,
        limit: u32,
    ) -> Result<bool, Error> {
        let mut budgets = lock(&self.budgets);
        let uses = budgets.entry(bucket.to_owned()).or_default();
        let start = now.checked_sub(window).unwrap_or(Timestamp::MIN);
        uses.retain(|t| *t > start);
        if uses.len() < limit as usize {
            uses.push(now);
            Ok(true)
        } else {
            Ok(false)
        }
    }
}

/// An [`AssignmentStore`] in memory.
#[derive(Debug, Default)]
pub struct InMemoryAssignmentStore {
    assignments: Mutex<BTreeMap<UserId, Assignment>>,
    journal: Mutex<Option<Journal>>,
}

impl InMemoryAssignmentStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl AssignmentStore for InMemoryAssignmentStore {
    async fn get(&self, user: &UserId) -> Result<Option<Assignment>, Error> {
        Ok(lock(&self.assignments).get(user).cloned())
    }

    async fn set_many(&self, users: &[UserId], to: &Assignment) -> Result<(), Error> {
        let mut a = lock(&self.assignments);
        for u in users {
            a.insert(u.clone(), to.clone());
        }
        Ok(())
    }

    async fn forget(&self, user: &UserId) -> Result<bool, Error> {
        Ok(lock(&self.assignments).remove(user).is_some())
    }

    async fn list(&self, after: Option<&UserId>, limit: usize) -> Result<Vec<(UserId, Assignment)>, Error> {
        use std::ops::Bound;
        let a = lock(&self.assignments);
        let lower = match after {
            Some(u) => Bound::Excluded(u.clone()),
            None => Bound::Unbounded,
        };
        Ok(a.range((lower, Bound::Unbounded))
            .take(limit)
            .map(|(u, x)| (u.clone(), x.clone()))
            .collect())
    }

    async fn replace_menu(&self, from: &RichMenuId, to: &Assignment) -> Result<u64, Error> {
        let mut a = lock(&self.assignments);
        let mut n = 0;
        for v in a.values_mut() {
            if v.rich_menu_id() == Some(from) {
                *v = to.clone();
                n += 1;
            }
        }
        Ok(n)
    }

    async fn count_on(&self, menu: &RichMenuId) -> Result<u64, Error> {
        Ok(lock(&self.assignments)
            .values()
            .filter(|v| v.rich_menu_id() == Some(menu))
            .count() as u64)
    }

    async fn load_journal(&self) -> Result<Option<Journal>, Error> {
        Ok(lock(&self.journal).clone())
    }

    async fn save_journal(&self, journal: &Journal) -> Result<(), Error> {
        *lock(&self.journal) = Some(journal.clone());
        Ok(())
    }

    async fn clear_journal(&self) -> Result<(), Error> {
        *lock(&self.journal) = None;
        Ok(())
    }
}

/// A [`UserDirectory`] in memory.
#[derive(Debug, Default)]
pub struct InMemoryUserDirectory {
    users: Mutex<HashMap<UserId, UserContext>>,
}

impl InMemoryUserDirectory {
    /// An empty directory.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl UserDirectory for InMemoryUserDirectory {
    async fn context(&self, user: &UserId) -> Result<UserContext, Error> {
        Ok(lock(&self.users)
            .get(user)
            .cloned()
            .unwrap_or_else(|| UserContext::new(user.clone())))
    }

    async fn put(&self, context: UserContext) -> Result<(), Error> {
        lock(&self.users).insert(context.user_id.clone(), context);
        Ok(())
    }

    async fn set_linked(&self, user: &UserId, linked: bool) -> Result<UserContext, Error> {
        let mut users = lock(&self.users);
        let ctx = users
            .entry(user.clone())
            .or_insert_with(|| UserContext::new(user.clone()));
        ctx.linked = linked;
        Ok(ctx.clone())
    }

    async fn forget(&self, user: &UserId) -> Result<(), Error> {
        lock(&self.users).remove(user);
        Ok(())
    }
}
