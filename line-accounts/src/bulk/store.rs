//! [`BulkStore`]: where a send run keeps its plan, each chunk's retry key (stored
//! before the chunk's call) and each chunk's outcome (stored after it), so that a
//! run resumed after a crash sends nothing twice.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Mutex;

use async_trait::async_trait;
use line_core::RetryKey;
use serde::{Deserialize, Serialize};

use crate::account::ChannelId;
use crate::error::Error;

/// Why an account of a run sends nothing (more).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum SkipReason {
    /// The dry run refused the send: it needs more messages than the month's
    /// quota has left.
    Quota {
        /// Messages the send needs.
        recipients: u64,
        /// The month's limit.
        limit: u64,
        /// Messages sent this month.
        used: u64,
        /// Messages left.
        remaining: u64,
    },
    /// LINE answered "You have reached your monthly limit." during the send:
    /// the chunks after it were not sent.
    MonthlyLimitReached,
    /// The approval gate rejected the campaign.
    Rejected {
        /// The gate's reason.
        reason: String,
    },
    /// The account was ready, but the gate did not approve it.
    NotApproved,
    /// The dry run refused the send for another reason, or could not check
    /// the account.
    NotReady {
        /// Why.
        reason: String,
    },
    /// The account was removed from the registry before or during the send;
    /// its chunks not sent by then were not sent.
    Removed,
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::Quota {
                recipients,
                limit,
                used,
                remaining,
            } => write!(
                f,
                "over quota: {recipients} messages, {used} of {limit} used this month, {remaining} left"
            ),
            SkipReason::MonthlyLimitReached => f.write_str("LINE answered that the monthly limit was reached"),
            SkipReason::Rejected { reason } => write!(f, "the campaign was rejected: {reason}"),
            SkipReason::NotApproved => f.write_str("not approved"),
            SkipReason::NotReady { reason } => write!(f, "not ready: {reason}"),
            SkipReason::Removed => f.write_str("the account was removed from the registry"),
        }
    }
}

/// One account of a run's plan.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PlannedAccount {
    /// The channel.
    pub channel_id: ChannelId,
    /// Recipients the send reaches (for a narrowcast, the audience's size: an upper bound).
    pub recipients: u64,
    /// Why it sends nothing (more); `None` for an account that sends.
    pub skip: Option<SkipReason>,
}

impl PlannedAccount {
    /// An account of a plan.
    pub fn new(channel_id: ChannelId, recipients: u64, skip: Option<SkipReason>) -> Self {
        Self {
            channel_id,
            recipients,
            skip,
        }
    }
}

/// What a run sends: which accounts send and which are skipped (and why), for
/// one campaign (its [`digest`](super::Campaign::digest)) in chunks of one size.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RunPlan {
    /// The campaign's digest: a run resumes only with the campaign it began with.
    pub campaign: String,
    /// Recipients per multicast chunk (1 to 500).
    pub chunk_size: u32,
    /// The accounts, in ascending channel order.
    pub accounts: Vec<PlannedAccount>,
}

impl RunPlan {
    /// A plan; the accounts are sorted by channel ID.
    pub fn new(campaign: impl Into<String>, chunk_size: u32, mut accounts: Vec<PlannedAccount>) -> Self {
        accounts.sort_by(|a, b| a.channel_id.cmp(&b.channel_id));
        Self {
            campaign: campaign.into(),
            chunk_size,
            accounts,
        }
    }
}

/// How one chunk's call ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ChunkOutcome {
    /// LINE accepted the chunk.
    Accepted {
        /// `x-line-request-id` (or, when LINE had accepted the retry key
        /// earlier, `x-line-accepted-request-id`).
        request_id: Option<String>,
        /// LINE had accepted this retry key earlier (it answered 409): a
        /// resumed chunk, sent once all the same.
        accepted_earlier: bool,
    },
    /// The call may have reached LINE, and no answer says whether LINE
    /// accepted it: it timed out (see [`SendOptions::request_timeout`](super::SendOptions::request_timeout)),
    /// or the connection broke after the request was sent. The chunk is
    /// pending: a resume sends it again with the same retry key, and LINE
    /// answers 409 if it had accepted it, so nobody gets it twice.
    Unknown {
        /// What happened (the timeout or the transport error).
        error: String,
    },
    /// The call failed (after the client's retries).
    Failed {
        /// The HTTP status, when LINE answered.
        status: Option<u16>,
        /// LINE's `x-line-request-id`, when it answered.
        request_id: Option<String>,
        /// What went wrong (LINE's message and details, or the transport error).
        error: String,
    },
}

impl ChunkOutcome {
    /// Whether LINE accepted the chunk.
    pub fn is_accepted(&self) -> bool {
        matches!(self, ChunkOutcome::Accepted { .. })
    }
}

/// One chunk of an account's send, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Chunk {
    /// The channel.
    pub channel_id: ChannelId,
    /// Its position in the account's send (chunk `i` holds recipients
    /// `chunk_size * i ..`).
    pub index: u32,
    /// Its recipients (for a narrowcast, the audience's size).
    pub recipients: u32,
    /// The `X-Line-Retry-Key` of every call of this chunk.
    pub retry_key: RetryKey,
    /// How its last call ended; `None` before the first call ends (or when the
    /// process stopped during it).
    pub outcome: Option<ChunkOutcome>,
}

/// The host store of send runs: a run's plan, and per chunk its retry key and
/// outcome.
///
/// The send stores a chunk's retry key **before** the chunk's call and its
/// outcome after. A run resumed after a crash gets the stored keys back, so a
/// chunk LINE accepted before the crash answers 409 ("accepted earlier") and
/// counts as sent, never delivered twice. LINE remembers a retry key for 24
/// hours: resume within that.
///
/// Rules every implementation keeps (the conformance suite,
/// `testing::bulk_store_conformance`, checks them):
/// - [`begin_run`](Self::begin_run) stores a run's plan once: the first plan
///   stored wins, and every later call gives it back unchanged;
/// - [`reserve_chunks`](Self::reserve_chunks) keeps the first key stored for a
///   chunk (atomic per chunk, so two processes resuming one run agree);
/// - an accepted outcome is final: a later failed outcome of the same chunk
///   does not replace it;
/// - runs are independent: forgetting one leaves the others.
///
/// Implementations: [`InMemoryBulkStore`], `sqlite::SqliteBulkStore` (feature
/// `sqlite`) and `postgres::PgBulkStore` (feature `postgres`). Used as
/// `Arc<dyn BulkStore>` or `&dyn BulkStore`.
#[async_trait]
pub trait BulkStore: Send + Sync + fmt::Debug {
    /// Stores `plan` as run `run`'s plan, unless the run has one: gives the
    /// run's stored plan (the one given, for a new run).
    async fn begin_run(&self, run: &str, plan: &RunPlan) -> Result<RunPlan, Error>;

    /// The plan of run `run`, with the accounts' current skip reasons.
    async fn run_plan(&self, run: &str) -> Result<Option<RunPlan>, Error>;

    /// Every run, in ascending order.
    async fn runs(&self) -> Result<Vec<String>, Error>;

    /// Sets (or clears, with `None`) why an account of the run sends nothing
    /// more: an account removed during the send, or one that LINE's monthly
    /// limit stopped. Unknown runs and accounts are ignored.
    async fn set_skip(&self, run: &str, channel_id: &ChannelId, skip: Option<&SkipReason>) -> Result<(), Error>;

    /// Before an account's calls: its chunks, one per `(recipients, proposed key)`
    /// in order. A chunk stored earlier comes back as stored (its key, its
    /// recipients and outcome); a new one is stored with the proposed key and no
    /// outcome before this returns. Chunks stored beyond the proposed ones come
    /// back too.
    async fn reserve_chunks(
        &self,
        run: &str,
        channel_id: &ChannelId,
        proposed: &[(u32, RetryKey)],
    ) -> Result<Vec<Chunk>, Error>;

    /// After a call: the chunk's outcome. An accepted outcome stored earlier is
    /// kept. A chunk that was never reserved is a store error.
    async fn record_outcome(
        &self,
        run: &str,
        channel_id: &ChannelId,
        index: u32,
        outcome: &ChunkOutcome,
    ) -> Result<(), Error>;

    /// Every chunk of run `run`, by channel, then index.
    async fn chunks(&self, run: &str) -> Result<Vec<Chunk>, Error>;

    /// Forgets run `run` (its plan and chunks). Forgetting an unknown run is
    /// not an error.
    async fn forget_run(&self, run: &str) -> Result<(), Error>;
}

/// A [`BulkStore`] in process memory: it survives a failed send or an aborted
/// task, not a crash of the process. For tests, benches and runs whose crash
/// recovery is a retry in the same process; a SQLite file
/// (`sqlite::SqliteBulkStore`) survives a restart.
#[derive(Default)]
pub struct InMemoryBulkStore {
    runs: Mutex<BTreeMap<String, MemRun>>,
}

struct MemRun {
    plan: RunPlan,
    chunks: HashMap<ChannelId, Vec<Chunk>>,
}

impl fmt::Debug for InMemoryBulkStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InMemoryBulkStore")
            .field("runs", &self.lock().len())
            .finish()
    }
}

impl InMemoryBulkStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, MemRun>> {
        self.runs.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn no_chunk(index: u32) -> Error {
    Error::store("record_outcome", format!("chunk {index} was never reserved"))
}

#[async_trait]
impl BulkStore for InMemoryBulkStore {
    async fn begin_run(&self, run: &str, plan: &RunPlan) -> Result<RunPlan, Error> {
        let mut runs = self.lock();
        let entry = runs.entry(run.to_owned()).or_insert_with(|| MemRun {
            plan: plan.clone(),
            chunks: HashMap::new(),
        });
        Ok(entry.plan.clone())
    }

    async fn run_plan(&self, run: &str) -> Result<Option<RunPlan>, Error> {
        Ok(self.lock().get(run).map(|r| r.plan.clone()))
    }

    async fn runs(&self) -> Result<Vec<String>, Error> {
        Ok(self.lock().keys().cloned().collect())
    }

    async fn set_skip(&self, run: &str, channel_id: &ChannelId, skip: Option<&SkipReason>) -> Result<(), Error> {
        if let Some(r) = self.lock().get_mut(run) {
            if let Some(a) = r.plan.accounts.iter_mut().find(|a| &a.channel_id == channel_id) {
                a.skip = skip.cloned();
            }
        }
        Ok(())
    }

    async fn reserve_chunks(
        &self,
        run: &str,
        channel_id: &ChannelId,
        proposed: &[(u32, RetryKey)],
    ) -> Result<Vec<Chunk>, Error> {
        let mut runs = self.lock();
        let Some(r) = runs.get_mut(run) else {
            return Err(Error::store("reserve_chunks", format!("no run {run:?}")));
        };
        let chunks = r.chunks.entry(channel_id.clone()).or_default();
        for (i, (recipients, key)) in proposed.iter().enumerate().skip(chunks.len()) {
            chunks.push(Chunk {
                channel_id: channel_id.clone(),
                index: i as u32,
                recipients: *recipients,
                retry_key: *key,
                outcome: None,
            });
        }
        Ok(chunks.clone())
    }

    async fn record_outcome(
        &self,
        run: &str,
        channel_id: &ChannelId,
        index: u32,
        outcome: &ChunkOutcome,
    ) -> Result<(), Error> {
        let mut runs = self.lock();
        let chunk = runs
            .get_mut(run)
            .and_then(|r| r.chunks.get_mut(channel_id))
            .and_then(|c| c.get_mut(index as usize))
            .ok_or_else(|| no_chunk(index))?;
        if !chunk.outcome.as_ref().is_some_and(ChunkOutcome::is_accepted) {
            chunk.outcome = Some(outcome.clone());
        }
        Ok(())
    }

    async fn chunks(&self, run: &str) -> Result<Vec<Chunk>, Error> {
        let runs = self.lock();
        let Some(r) = runs.get(run) else {
            return Ok(Vec::new());
        };
        let mut ids: Vec<&ChannelId> = r.chunks.keys().collect();
        ids.sort();
        Ok(ids.into_iter().flat_map(|id| r.chunks[id].iter().cloned()).collect())
    }

    async fn forget_run(&self, run: &str) -> Result<(), Error> {
        self.lock().remove(run);
        Ok(())
    }
}

/// A skip reason as the SQL stores keep it (JSON).
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn skip_to_json(skip: Option<&SkipReason>) -> Option<String> {
    skip.map(|s| serde_json::to_string(s).unwrap_or_default())
}

/// A stored skip reason back.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn skip_from_json(json: Option<String>) -> Result<Option<SkipReason>, Error> {
    json.map(|j| serde_json::from_str(&j).map_err(|e| Error::store("read a skip reason", e)))
        .transpose()
}

/// An outcome as the SQL stores keep it (JSON).
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn outcome_to_json(outcome: &ChunkOutcome) -> String {
    serde_json::to_string(outcome).unwrap_or_default()
}

/// A stored outcome back.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn outcome_from_json(json: Option<String>) -> Result<Option<ChunkOutcome>, Error> {
    json.map(|j| serde_json::from_str(&j).map_err(|e| Error::store("read a chunk outcome", e)))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn the_trait_is_object_safe_and_the_store_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<InMemoryBulkStore>();
        let store: Arc<dyn BulkStore> = Arc::new(InMemoryBulkStore::new());
        assert!(format!("{store:?}").contains("InMemoryBulkStore"));
    }

    #[test]
    fn skip_reasons_read_as_sentences() {
        let q = SkipReason::Quota {
            recipients: 3,
            limit: 2,
            used: 1,
            remaining: 1,
        };
        assert_eq!(q.to_string(), "over quota: 3 messages, 1 of 2 used this month, 1 left");
        assert_eq!(
            SkipReason::Removed.to_string(),
            "the account was removed from the registry"
        );
    }
}
