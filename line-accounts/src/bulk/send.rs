//! Sending an approved campaign: per account, multicast chunks (a push for one
//! recipient) or a narrowcast, each chunk's retry key stored before its call,
//! and the report per account, read back from the store.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use futures::stream::{self, StreamExt};
use line_core::limits::MAX_MULTICAST_RECIPIENTS;
use line_core::model::{
    AudienceRecipient, Message, MulticastRequest, NarrowcastRequest, PushMessageRequest, Recipient,
};
use line_core::ratelimit::RateClass;
use line_core::{RetryKey, UserId};

use super::store::{BulkStore, Chunk, ChunkOutcome, PlannedAccount, RunPlan, SkipReason};
use super::{Approval, Audience, Campaign, DryRunOutcome, DryRunReport, Refusal};
use crate::account::ChannelId;
use crate::accounts::Accounts;
use crate::error::{Error, ErrorKind};

/// How a send goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SendOptions {
    /// Most accounts sending at once (at least 1; default 16). Each account
    /// has its own client and rate limiter, so a slow or failing account holds
    /// one of these slots and nothing else.
    pub concurrency: usize,
    /// Most calls in flight at once within one account (at least 1; default 4).
    /// The account's rate limiter, not this number, sets the pace.
    pub chunk_concurrency: usize,
    /// Recipients per multicast chunk (1 to 500, LINE's limit; default 500).
    /// A resumed run keeps the size it began with.
    pub chunk_size: usize,
    /// How long each attempt of a chunk's call may take once the account's
    /// rate limiter lets it go (default 30 seconds). A chunk whose call times
    /// out (or loses its connection after sending) is recorded as
    /// [`ChunkOutcome::Unknown`]: LINE may have accepted it, so a resume sends
    /// it again with the same retry key, and LINE's 409 counts it as sent once.
    pub request_timeout: Duration,
    /// How long to wait, after LINE accepts a narrowcast, for its progress
    /// (`GET /v2/bot/message/progress/narrowcast`) to reach `succeeded` or
    /// `failed` (default 60 seconds; zero looks once). A narrowcast still
    /// `waiting` or `sending` then is reported as
    /// [`NarrowcastOutcome::InProgress`]; LINE goes on delivering it, and a
    /// resume looks again.
    pub narrowcast_wait: Duration,
    /// The first pause between two looks at a narrowcast's progress, doubled
    /// after each look up to 30 seconds (default 1 second).
    pub narrowcast_poll: Duration,
}

/// The longest pause between two looks at a narrowcast's progress.
const MAX_NARROWCAST_POLL: Duration = Duration::from_secs(30);

impl Default for SendOptions {
    fn default() -> Self {
        Self {
            concurrency: 16,
            chunk_concurrency: 4,
            chunk_size: MAX_MULTICAST_RECIPIENTS,
            request_timeout: Duration::from_secs(30),
            narrowcast_wait: Duration::from_secs(60),
            narrowcast_poll: Duration::from_secs(1),
        }
    }
}

impl SendOptions {
    /// The defaults: 16 accounts at once, 4 calls per account, 500 recipients a
    /// chunk, 30 seconds per call, up to 60 seconds of waiting for a narrowcast's progress.
    pub fn new() -> Self {
        Self::default()
    }

    /// Most accounts sending at once (0 counts as 1).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// Most calls in flight within one account (0 counts as 1).
    pub fn chunk_concurrency(mut self, n: usize) -> Self {
        self.chunk_concurrency = n.max(1);
        self
    }

    /// Recipients per multicast chunk, kept within 1 to 500.
    pub fn chunk_size(mut self, n: usize) -> Self {
        self.chunk_size = n.clamp(1, MAX_MULTICAST_RECIPIENTS);
        self
    }

    /// How long each attempt of a chunk's call may take (zero counts as 1 ms).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// How long to wait for a narrowcast's progress to reach a final phase.
    pub fn narrowcast_wait(mut self, wait: Duration) -> Self {
        self.narrowcast_wait = wait;
        self
    }

    /// The first pause between two looks at a narrowcast's progress (kept
    /// within 1 ms to 30 seconds).
    pub fn narrowcast_poll(mut self, pause: Duration) -> Self {
        self.narrowcast_poll = pause.clamp(Duration::from_millis(1), MAX_NARROWCAST_POLL);
        self
    }
}

/// One chunk that failed, with what LINE said.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FailedChunk {
    /// The chunk's position in the account's send.
    pub index: u32,
    /// Its recipients.
    pub recipients: u32,
    /// The HTTP status, when LINE answered.
    pub status: Option<u16>,
    /// LINE's `x-line-request-id`, when it answered.
    pub request_id: Option<String>,
    /// What went wrong.
    pub error: String,
}

/// What LINE's progress said of a narrowcast it accepted
/// (`GET /v2/bot/message/progress/narrowcast`), looked at until it was final or
/// [`SendOptions::narrowcast_wait`] passed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NarrowcastOutcome {
    /// Phase `succeeded`: LINE's counts.
    Succeeded {
        /// The narrowcast's request ID.
        request_id: String,
        /// Users the message reached (`successCount`): the account's `sent`.
        success: u64,
        /// Users it failed to reach (`failureCount`).
        failure: u64,
        /// Intended recipients (`targetCount`), when LINE gave them.
        target: Option<u64>,
    },
    /// Phase `failed`: LINE sent nothing (too small an audience, a partial
    /// delivery avoided…).
    Failed {
        /// The narrowcast's request ID.
        request_id: String,
        /// LINE's `errorCode`.
        error_code: Option<i64>,
        /// LINE's `failedDescription`.
        description: Option<String>,
    },
    /// Still `waiting` or `sending` when the wait ran out. LINE goes on
    /// delivering; the recipients count as pending, and a resume looks again
    /// (it never sends the narrowcast twice: its chunk is accepted).
    InProgress {
        /// The narrowcast's request ID.
        request_id: String,
        /// The last phase LINE reported.
        phase: String,
    },
    /// The progress could not be read until the wait ran out (the recipients
    /// count as pending; a resume looks again).
    Unread {
        /// The narrowcast's request ID.
        request_id: String,
        /// The last error.
        error: String,
    },
}

/// Where one account's send stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AccountStatus {
    /// Every recipient was sent.
    Sent,
    /// Some recipients failed or are not sent yet: run again to resume.
    Incomplete,
    /// The account sends nothing (more): see [`AccountSend::skipped`].
    Skipped,
}

impl AccountStatus {
    /// `sent`, `incomplete` or `skipped`.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountStatus::Sent => "sent",
            AccountStatus::Incomplete => "incomplete",
            AccountStatus::Skipped => "skipped",
        }
    }
}

/// One account's send.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AccountSend {
    /// The channel.
    pub channel_id: ChannelId,
    /// Recipients planned (for a narrowcast, the audience's size: an upper bound).
    pub recipients: u64,
    /// Recipients in chunks LINE accepted (in this run or before a crash).
    pub sent: u64,
    /// Of those, recipients in chunks LINE had accepted before (409 for their
    /// retry key): resumed, sent once all the same.
    pub accepted_earlier: u64,
    /// The request IDs of the accepted chunks, in chunk order.
    pub request_ids: Vec<String>,
    /// The chunks that failed, with LINE's request ID and the error.
    pub failed: Vec<FailedChunk>,
    /// Recipients in failed chunks.
    pub failed_recipients: u64,
    /// The chunks whose outcome is unknown ([`ChunkOutcome::Unknown`]: the call
    /// timed out or lost its connection after sending). A resume sends them
    /// again with their retry key; LINE's 409 then counts one as sent once.
    pub unknown: Vec<FailedChunk>,
    /// Recipients in chunks whose outcome is unknown.
    pub unknown_recipients: u64,
    /// For a narrowcast LINE accepted: what LINE's progress reported
    /// (`sent` is then its success count, not the audience's size).
    pub narrowcast: Option<NarrowcastOutcome>,
    /// Why the account sends nothing (more), if it does not.
    pub skipped: Option<SkipReason>,
    /// Recipients not sent because the account was skipped.
    pub skipped_recipients: u64,
    /// Recipients neither sent, failed, unknown nor skipped: their chunks were
    /// not sent, the run stopped during their call, or (for a narrowcast) LINE
    /// was still delivering. Run again to resume.
    pub pending_recipients: u64,
    /// An error that stopped this account's send in this run (the registry or
    /// the store failed); not kept in the store.
    pub error: Option<String>,
}

impl AccountSend {
    /// Where the account's send stands.
    pub fn status(&self) -> AccountStatus {
        if self.skipped.is_some() {
            AccountStatus::Skipped
        } else if self.failed_recipients == 0
            && self.unknown_recipients == 0
            && self.pending_recipients == 0
            && self.error.is_none()
        {
            AccountStatus::Sent
        } else {
            AccountStatus::Incomplete
        }
    }
}

/// A send's numbers over all accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct SendTotals {
    /// Accounts in the run.
    pub accounts: usize,
    /// Accounts that sent to every recipient.
    pub sent_accounts: usize,
    /// Accounts with failed or pending recipients.
    pub incomplete_accounts: usize,
    /// Accounts skipped.
    pub skipped_accounts: usize,
    /// Recipients planned.
    pub recipients: u64,
    /// Recipients sent.
    pub sent: u64,
    /// Of those, accepted before (409).
    pub accepted_earlier: u64,
    /// Recipients in failed chunks.
    pub failed: u64,
    /// Recipients in chunks whose outcome is unknown (a resume resends them
    /// with their retry keys).
    pub unknown: u64,
    /// Recipients skipped.
    pub skipped: u64,
    /// Recipients pending.
    pub pending: u64,
}

/// What a send run did, per account (by channel ID) and in total.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SendReport {
    /// The run.
    pub run: String,
    /// Each account, ordered by channel ID.
    pub accounts: Vec<AccountSend>,
    /// The totals.
    pub totals: SendTotals,
}

impl SendReport {
    /// One account's send.
    pub fn get(&self, channel_id: &ChannelId) -> Option<&AccountSend> {
        self.accounts.iter().find(|a| &a.channel_id == channel_id)
    }

    /// Whether every account that sends has sent to every recipient.
    pub fn is_complete(&self) -> bool {
        self.totals.incomplete_accounts == 0
    }
}

/// The report of run `run` from the store alone (`None` for an unknown run):
/// what `linectl bulk report` prints.
pub async fn report(store: &dyn BulkStore, run: &str) -> Result<Option<SendReport>, Error> {
    let Some(plan) = store.run_plan(run).await? else {
        return Ok(None);
    };
    let chunks = store.chunks(run).await?;
    Ok(Some(build_report(run, &plan, chunks, HashMap::new(), HashMap::new())))
}

fn build_report(
    run: &str,
    plan: &RunPlan,
    chunks: Vec<Chunk>,
    mut errors: HashMap<ChannelId, String>,
    mut narrowcasts: HashMap<ChannelId, NarrowcastOutcome>,
) -> SendReport {
    let mut by_account: HashMap<ChannelId, Vec<Chunk>> = HashMap::new();
    for c in chunks {
        by_account.entry(c.channel_id.clone()).or_default().push(c);
    }
    let mut totals = SendTotals {
        accounts: plan.accounts.len(),
        ..SendTotals::default()
    };
    let accounts: Vec<AccountSend> = plan
        .accounts
        .iter()
        .map(|p| {
            let mut a = AccountSend {
                channel_id: p.channel_id.clone(),
                recipients: p.recipients,
                sent: 0,
                accepted_earlier: 0,
                request_ids: Vec::new(),
                failed: Vec::new(),
                failed_recipients: 0,
                unknown: Vec::new(),
                unknown_recipients: 0,
                narrowcast: narrowcasts.remove(&p.channel_id),
                skipped: p.skip.clone(),
                skipped_recipients: 0,
                pending_recipients: 0,
                error: errors.remove(&p.channel_id),
            };
            let mut chunks = by_account.remove(&p.channel_id).unwrap_or_default();
            chunks.sort_by_key(|c| c.index);
            for c in chunks {
                match c.outcome {
                    Some(ChunkOutcome::Accepted {
                        request_id,
                        accepted_earlier,
                    }) => {
                        a.sent += u64::from(c.recipients);
                        if accepted_earlier {
                            a.accepted_earlier += u64::from(c.recipients);
                        }
                        a.request_ids.extend(request_id);
                    }
                    Some(ChunkOutcome::Failed {
                        status,
                        request_id,
                        error,
                    }) => {
                        a.failed_recipients += u64::from(c.recipients);
                        a.failed.push(FailedChunk {
                            index: c.index,
                            recipients: c.recipients,
                            status,
                            request_id,
                            error,
                        });
                    }
                    Some(ChunkOutcome::Unknown { error }) => {
                        a.unknown_recipients += u64::from(c.recipients);
                        a.unknown.push(FailedChunk {
                            index: c.index,
                            recipients: c.recipients,
                            status: None,
                            request_id: None,
                            error,
                        });
                    }
                    None => {}
                }
            }
            let mut rest = p
                .recipients
                .saturating_sub(a.sent + a.failed_recipients + a.unknown_recipients);
            match &a.narrowcast {
                // LINE's counts replace the audience's size (an upper bound).
                Some(NarrowcastOutcome::Succeeded { success, .. }) => {
                    a.accepted_earlier = a.accepted_earlier.min(*success);
                    a.sent = *success;
                    rest = 0;
                }
                Some(NarrowcastOutcome::Failed {
                    request_id,
                    error_code,
                    description,
                }) => {
                    a.sent = 0;
                    a.accepted_earlier = 0;
                    a.request_ids.clear();
                    a.failed_recipients = p.recipients;
                    a.failed.push(FailedChunk {
                        index: 0,
                        recipients: u32::try_from(p.recipients).unwrap_or(u32::MAX),
                        status: None,
                        request_id: Some(request_id.clone()),
                        error: format!(
                            "LINE's narrowcast failed (error code {}): {}",
                            error_code.map_or_else(|| "-".to_owned(), |c| c.to_string()),
                            description.as_deref().unwrap_or("no description")
                        ),
                    });
                    rest = 0;
                }
                // Accepted, not delivered yet (or not known to be): pending.
                Some(NarrowcastOutcome::InProgress { .. } | NarrowcastOutcome::Unread { .. }) => {
                    rest = p.recipients;
                    a.sent = 0;
                    a.accepted_earlier = 0;
                }
                None => {}
            }
            if a.skipped.is_some() {
                a.skipped_recipients = rest;
            } else {
                a.pending_recipients = rest;
            }
            totals.recipients += a.recipients;
            totals.sent += a.sent;
            totals.accepted_earlier += a.accepted_earlier;
            totals.failed += a.failed_recipients;
            totals.unknown += a.unknown_recipients;
            totals.skipped += a.skipped_recipients;
            totals.pending += a.pending_recipients;
            match a.status() {
                AccountStatus::Sent => totals.sent_accounts += 1,
                AccountStatus::Incomplete => totals.incomplete_accounts += 1,
                AccountStatus::Skipped => totals.skipped_accounts += 1,
            }
            a
        })
        .collect();
    SendReport {
        run: run.to_owned(),
        accounts,
        totals,
    }
}

/// What stopped an account's remaining chunks.
const GO: u8 = 0;
const REMOVED: u8 = 1;
const MONTHLY_LIMIT: u8 = 2;
const STORE_FAILED: u8 = 3;

/// Whether a call failed because the account's token source was retired (the
/// account was removed from the registry): nothing reached LINE.
fn removed(e: &line_core::Error) -> bool {
    if !matches!(e.kind(), line_core::ErrorKind::Token) {
        return false;
    }
    let mut next = std::error::Error::source(e);
    while let Some(s) = next {
        if let Some(ours) = s.downcast_ref::<Error>() {
            if matches!(ours.kind(), ErrorKind::UnknownChannel { .. }) {
                return true;
            }
        }
        next = s.source();
    }
    false
}

/// An error and its sources, `: `-separated (no error here quotes a secret).
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut next = e.source();
    while let Some(s) = next {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        next = s.source();
    }
    text
}

/// Whether a call's error leaves its outcome unknown: it timed out or lost its
/// connection after the request may have left (a refused connection never
/// reached LINE, so it is a plain failure).
fn outcome_unknown(e: &line_core::Error) -> bool {
    match e.kind() {
        line_core::ErrorKind::Timeout { .. } | line_core::ErrorKind::OutcomeUnknown(_) => true,
        line_core::ErrorKind::Connection { .. } => {
            let connect = std::error::Error::source(e)
                .and_then(|s| s.downcast_ref::<reqwest::Error>())
                .is_some_and(reqwest::Error::is_connect);
            !connect
        }
        _ => false,
    }
}

fn unknown(e: &line_core::Error) -> ChunkOutcome {
    ChunkOutcome::Unknown { error: chain(e) }
}

fn failed(e: &line_core::Error) -> ChunkOutcome {
    ChunkOutcome::Failed {
        status: e.status(),
        request_id: e
            .api()
            .and_then(|a| a.request_id.as_ref())
            .map(|r| r.as_str().to_owned()),
        error: chain(e),
    }
}

fn accepted<T>(r: line_core::client::Response<line_core::client::Sent<T>>) -> ChunkOutcome {
    let earlier = r.body.is_duplicate();
    let id = if earlier { r.accepted_request_id } else { r.request_id };
    ChunkOutcome::Accepted {
        request_id: id.map(|r| r.as_str().to_owned()),
        accepted_earlier: earlier,
    }
}

/// A stable 64-bit FNV-1a hash, fed byte by byte.
struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    fn hex(&self) -> String {
        format!("{:016x}", self.0)
    }
}

impl Campaign {
    /// A digest of the campaign (its messages and every account's audience, in
    /// order): a run resumes only with the campaign it began with. Stable across
    /// processes and versions of this crate. Made once per campaign.
    pub fn digest(&self) -> String {
        self.digest.0.get_or_init(|| self.make_digest()).clone()
    }

    /// The FNV-1a hash of the messages' JSON, then per account `0xff`, the
    /// channel ID and its audience (`0xfe` and the ID per user, or `0xfd` and
    /// the audience group ID), hashed as it goes rather than gathered first.
    fn make_digest(&self) -> String {
        let mut h = Fnv::new();
        h.write(&serde_json::to_vec(&self.messages).unwrap_or_default());
        for (id, audience) in &self.audiences {
            h.write(&[0xff]);
            h.write(id.as_str().as_bytes());
            match audience {
                Audience::UserIds(ids) => {
                    for u in ids {
                        h.write(&[0xfe]);
                        h.write(u.as_str().as_bytes());
                    }
                }
                Audience::AudienceGroup(g) => {
                    h.write(&[0xfd]);
                    h.write(g.to_string().as_bytes());
                }
            }
        }
        h.hex()
    }

    /// The plan of a send after a dry run and its approval: approved accounts
    /// send; the others are skipped with the reason (over quota with the
    /// numbers, rejected with the gate's reason, not approved, not ready).
    pub fn plan(&self, dry_run: &DryRunReport, approval: &Approval, options: &SendOptions) -> RunPlan {
        let accounts = self
            .audiences
            .keys()
            .map(|id| {
                let run = dry_run.get(id);
                let recipients = run.map_or(0, |r| r.recipients);
                let skip = if approval.approved.contains(id) {
                    None
                } else if let Some(reason) = &approval.rejected {
                    Some(SkipReason::Rejected { reason: reason.clone() })
                } else {
                    match run.map(|r| &r.outcome) {
                        Some(DryRunOutcome::Ready) => Some(SkipReason::NotApproved),
                        Some(DryRunOutcome::Refused(Refusal::QuotaExceeded {
                            recipients,
                            limit,
                            used,
                            remaining,
                        })) => Some(SkipReason::Quota {
                            recipients: *recipients,
                            limit: *limit,
                            used: *used,
                            remaining: *remaining,
                        }),
                        Some(DryRunOutcome::Refused(r)) => Some(SkipReason::NotReady { reason: r.to_string() }),
                        Some(DryRunOutcome::Failed(f)) => Some(SkipReason::NotReady { reason: f.to_string() }),
                        None => Some(SkipReason::NotReady {
                            reason: "not in the dry run".into(),
                        }),
                    }
                };
                PlannedAccount::new(id.clone(), recipients, skip)
            })
            .collect();
        RunPlan::new(self.digest(), options.chunk_size as u32, accounts)
    }

    /// Sends run `run` of this campaign as `plan` says, or resumes it when
    /// `store` has the run already (its stored plan then counts, and must be
    /// of this campaign).
    ///
    /// Per account that sends (at most `options.concurrency` at once, each
    /// with its own client and rate limiter): the recipients in multicast
    /// chunks of `chunk_size` (a push for one recipient), or one narrowcast to
    /// the audience. Every chunk's retry key is stored before its call and its
    /// outcome after; chunks accepted earlier are not called again, and chunks
    /// whose call may have reached LINE reuse their key, so LINE answers 409 and
    /// the chunk counts as sent once. An account removed from the registry
    /// before or during the send is skipped from there on, an account that
    /// reaches LINE's monthly limit stops, and neither holds up the others.
    ///
    /// Errors: a run of another campaign ([`ErrorKind::InvalidCampaign`],
    /// field `run`), and a store that fails to begin the run or read it back.
    /// Failures of one account (its calls, its registry entry, the store while
    /// sending its chunks) are in its [`AccountSend`].
    pub async fn send(
        &self,
        accounts: &Accounts,
        store: &dyn BulkStore,
        run: &str,
        plan: &RunPlan,
        options: &SendOptions,
    ) -> Result<SendReport, Error> {
        let digest = self.digest();
        let other = |what: &str| {
            Error::new(ErrorKind::InvalidCampaign {
                field: "run".into(),
                reason: format!("run {run:?} {what}"),
            })
        };
        if plan.campaign != digest {
            return Err(other("was planned for another campaign"));
        }
        let plan = store.begin_run(run, plan).await?;
        if plan.campaign != digest {
            return Err(other("began with another campaign"));
        }
        self.run(accounts, store, run, &plan, options).await
    }

    /// Resumes run `run` from its stored plan; [`ErrorKind::InvalidCampaign`]
    /// (field `run`) when the store has no such run or it is of another campaign.
    pub async fn resume(
        &self,
        accounts: &Accounts,
        store: &dyn BulkStore,
        run: &str,
        options: &SendOptions,
    ) -> Result<SendReport, Error> {
        let Some(plan) = store.run_plan(run).await? else {
            return Err(Error::new(ErrorKind::InvalidCampaign {
                field: "run".into(),
                reason: format!("no run {run:?} in the store"),
            }));
        };
        self.send(accounts, store, run, &plan, options).await
    }

    async fn run(
        &self,
        accounts: &Accounts,
        store: &dyn BulkStore,
        run: &str,
        plan: &RunPlan,
        options: &SendOptions,
    ) -> Result<SendReport, Error> {
        let chunk_size = (plan.chunk_size as usize).clamp(1, MAX_MULTICAST_RECIPIENTS);
        let chunk_concurrency = options.chunk_concurrency.max(1);
        // Indices, not references, go through the stream: its closures then take
        // no borrowed arguments, and the future stays `Send` for any spawner.
        let mut todo: Vec<(usize, (Duration, usize))> = (0..plan.accounts.len())
            .filter(|&i| matches!(plan.accounts[i].skip, None | Some(SkipReason::Removed)))
            .filter_map(|i| {
                let id = &plan.accounts[i].channel_id;
                let audience = self.audiences.get(id)?;
                Some((i, span(accounts, id, audience, chunk_size)))
            })
            .collect();
        // Longest first: with N accounts at once, the accounts whose own rate
        // limit makes them take longest start first, so none of them starts
        // late and ends the run late (and with every account at once, they get
        // their first grant before the others' start-up work).
        todo.sort_by_key(|t| std::cmp::Reverse(t.1));
        let todo: Vec<usize> = todo.into_iter().map(|(i, _)| i).collect();
        let done: Vec<(usize, AccountDone)> = stream::iter(todo)
            .map(|i| async move {
                let p = &plan.accounts[i];
                let audience = &self.audiences[&p.channel_id];
                let r = self
                    .send_account(
                        accounts,
                        store,
                        run,
                        p,
                        audience,
                        chunk_size,
                        chunk_concurrency,
                        options,
                    )
                    .await;
                (i, r)
            })
            .buffer_unordered(options.concurrency.max(1))
            .filter(|(_, r)| std::future::ready(r.error.is_some() || r.narrowcast.is_some()))
            .collect()
            .await;
        let mut errors = HashMap::new();
        let mut narrowcasts = HashMap::new();
        for (i, r) in done {
            let id = &plan.accounts[i].channel_id;
            if let Some(e) = r.error {
                errors.insert(id.clone(), e);
            }
            if let Some(n) = r.narrowcast {
                narrowcasts.insert(id.clone(), n);
            }
        }
        let plan = store.run_plan(run).await?.unwrap_or_else(|| plan.clone());
        let chunks = store.chunks(run).await?;
        Ok(build_report(run, &plan, chunks, errors, narrowcasts))
    }

    /// One account's send: an error string when something outside its calls
    /// (the registry, the store) stopped it, and a narrowcast's progress.
    #[allow(clippy::too_many_arguments)]
    async fn send_account(
        &self,
        accounts: &Accounts,
        store: &dyn BulkStore,
        run: &str,
        planned: &PlannedAccount,
        audience: &Audience,
        chunk_size: usize,
        chunk_concurrency: usize,
        options: &SendOptions,
    ) -> AccountDone {
        let mut narrowcast = None;
        let error = self
            .send_chunks(
                accounts,
                store,
                run,
                planned,
                audience,
                chunk_size,
                chunk_concurrency,
                options,
                &mut narrowcast,
            )
            .await
            .err();
        AccountDone { error, narrowcast }
    }

    #[allow(clippy::too_many_arguments)]
    async fn send_chunks(
        &self,
        accounts: &Accounts,
        store: &dyn BulkStore,
        run: &str,
        planned: &PlannedAccount,
        audience: &Audience,
        chunk_size: usize,
        chunk_concurrency: usize,
        options: &SendOptions,
        narrowcast: &mut Option<NarrowcastOutcome>,
    ) -> Result<(), String> {
        let id = &planned.channel_id;
        let handle = match accounts.get(id).await {
            Ok(h) => h,
            Err(e) if matches!(e.kind(), ErrorKind::UnknownChannel { .. }) => {
                return store
                    .set_skip(run, id, Some(&SkipReason::Removed))
                    .await
                    .map_err(|e| chain(&e));
            }
            Err(e) => return Err(chain(&e)),
        };
        if planned.skip.is_some() {
            // Removed during an earlier run, and back in the registry now.
            store.set_skip(run, id, None).await.map_err(|e| chain(&e))?;
        }
        let proposed: Vec<(u32, RetryKey)> = match audience {
            Audience::UserIds(users) => users
                .chunks(chunk_size)
                .map(|c| (c.len() as u32, RetryKey::new()))
                .collect(),
            Audience::AudienceGroup(_) => {
                vec![(u32::try_from(planned.recipients).unwrap_or(u32::MAX), RetryKey::new())]
            }
        };
        let chunks = store.reserve_chunks(run, id, &proposed).await.map_err(|e| chain(&e))?;
        // The chunks' calls time out on their own; the account's limiter and
        // connection pool stay shared with its other calls.
        let client = &handle.client().with_timeout(options.request_timeout);
        let stop = AtomicU8::new(GO);
        // A narrowcast's request ID once LINE accepted it (in an earlier run or in this one).
        let accepted_narrowcast =
            std::sync::Mutex::new(match (audience, chunks.first().and_then(|c| c.outcome.as_ref())) {
                (
                    Audience::AudienceGroup(_),
                    Some(ChunkOutcome::Accepted {
                        request_id: Some(r), ..
                    }),
                ) => Some(r.clone()),
                _ => None,
            });
        let store_error = std::sync::Mutex::new(None::<String>);
        let messages = &self.messages;
        let todo: Vec<usize> = (0..chunks.len())
            .filter(|&i| !chunks[i].outcome.as_ref().is_some_and(ChunkOutcome::is_accepted))
            .collect();
        let stop = &stop;
        let store_error = &store_error;
        let chunks = &chunks;
        let accepted_narrowcast = &accepted_narrowcast;
        stream::iter(todo)
            .map(|i| async move {
                let c = &chunks[i];
                let users: &[UserId] = match audience {
                    Audience::UserIds(users) => {
                        let start = (c.index as usize).saturating_mul(chunk_size).min(users.len());
                        let end = start.saturating_add(chunk_size).min(users.len());
                        &users[start..end]
                    }
                    Audience::AudienceGroup(_) => &[],
                };
                if stop.load(Ordering::SeqCst) != GO || (users.is_empty() && matches!(audience, Audience::UserIds(_))) {
                    return;
                }
                let outcome = match call(client, messages, audience, users, c.retry_key).await {
                    Ok(o) => o,
                    Err(e) if removed(&e) => {
                        stop.store(REMOVED, Ordering::SeqCst);
                        return;
                    }
                    Err(e) if outcome_unknown(&e) => unknown(&e),
                    Err(e) => {
                        if e.is_monthly_quota() {
                            stop.store(MONTHLY_LIMIT, Ordering::SeqCst);
                        }
                        failed(&e)
                    }
                };
                if let (
                    Audience::AudienceGroup(_),
                    ChunkOutcome::Accepted {
                        request_id: Some(r), ..
                    },
                ) = (audience, &outcome)
                {
                    *accepted_narrowcast.lock().unwrap_or_else(|p| p.into_inner()) = Some(r.clone());
                }
                if let Err(e) = store.record_outcome(run, id, c.index, &outcome).await {
                    stop.store(STORE_FAILED, Ordering::SeqCst);
                    *store_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(chain(&e));
                }
            })
            .buffer_unordered(chunk_concurrency)
            .collect::<Vec<()>>()
            .await;
        let skip = match stop.load(Ordering::SeqCst) {
            REMOVED => Some(SkipReason::Removed),
            MONTHLY_LIMIT => Some(SkipReason::MonthlyLimitReached),
            _ => None,
        };
        if let Some(skip) = skip {
            store.set_skip(run, id, Some(&skip)).await.map_err(|e| chain(&e))?;
        }
        let error = store_error.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(e) = error {
            return Err(e);
        }
        let request_id = accepted_narrowcast.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(request_id) = request_id {
            *narrowcast = Some(narrowcast_progress(client, request_id, options).await);
        }
        Ok(())
    }
}

/// What one account's send left for the report.
struct AccountDone {
    error: Option<String>,
    narrowcast: Option<NarrowcastOutcome>,
}

/// Looks at an accepted narrowcast's progress until it is final or
/// `options.narrowcast_wait` has passed, pausing `narrowcast_poll` at first and
/// twice as long after each look (up to 30 seconds).
async fn narrowcast_progress(
    client: &line_core::client::Client,
    request_id: String,
    options: &SendOptions,
) -> NarrowcastOutcome {
    use line_core::model::NarrowcastProgressResponsePhase as Phase;
    let started = tokio::time::Instant::now();
    let mut pause = options
        .narrowcast_poll
        .clamp(Duration::from_millis(1), MAX_NARROWCAST_POLL);
    loop {
        let last = match client.get_narrowcast_progress(&request_id).await {
            Ok(r) => {
                let p = r.into_body();
                let count = |n: Option<i64>| u64::try_from(n.unwrap_or(0)).unwrap_or(0);
                match p.phase {
                    Phase::Succeeded => {
                        return NarrowcastOutcome::Succeeded {
                            request_id,
                            success: count(p.success_count),
                            failure: count(p.failure_count),
                            target: p.target_count.and_then(|t| u64::try_from(t).ok()),
                        }
                    }
                    Phase::Failed => {
                        return NarrowcastOutcome::Failed {
                            request_id,
                            error_code: p.error_code,
                            description: p.failed_description,
                        }
                    }
                    // waiting, sending, or a phase this version does not know.
                    phase => NarrowcastOutcome::InProgress {
                        request_id: request_id.clone(),
                        phase: phase.to_string(),
                    },
                }
            }
            Err(e) => NarrowcastOutcome::Unread {
                request_id: request_id.clone(),
                error: chain(&e),
            },
        };
        if started.elapsed() + pause > options.narrowcast_wait {
            return last;
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(MAX_NARROWCAST_POLL);
    }
}

/// How long an account's send takes at its rate limit (from the first call to
/// the last), and its number of calls: what orders the accounts, longest first.
/// The limit comes from the account's live client (made by the dry run); an
/// account without one counts by its calls alone.
fn span(accounts: &Accounts, id: &ChannelId, audience: &Audience, chunk_size: usize) -> (Duration, usize) {
    let (calls, class) = match audience {
        Audience::UserIds(users) if users.len() == 1 => (1, RateClass::Default),
        Audience::UserIds(users) => (users.len().div_ceil(chunk_size.max(1)), RateClass::Multicast),
        Audience::AudienceGroup(_) => (1, RateClass::Narrowcast),
    };
    let quota = accounts.cached(id).and_then(|h| h.client().rate_limiter().quota(class));
    let span = match quota {
        Some(q) => {
            let windows = (calls.saturating_sub(1) / q.count.max(1) as usize) as u32;
            q.per.saturating_mul(windows)
        }
        None => Duration::ZERO,
    };
    (span, calls)
}

/// One chunk's call: a push for one recipient, a multicast for more, or the
/// narrowcast of an audience. The request goes by value, so its recipients are
/// freed once its body is made rather than held while the call is in flight.
async fn call(
    client: &line_core::client::Client,
    messages: &[Message],
    audience: &Audience,
    users: &[UserId],
    key: RetryKey,
) -> Result<ChunkOutcome, line_core::Error> {
    match audience {
        Audience::UserIds(all) if all.len() == 1 => {
            let req = PushMessageRequest::new(users[0].as_str(), messages.to_vec());
            client.push_message(req).retry_key(key).await.map(accepted)
        }
        Audience::UserIds(_) => {
            let req = MulticastRequest::new(messages.to_vec(), users.to_vec());
            client.multicast(req).retry_key(key).await.map(accepted)
        }
        Audience::AudienceGroup(group) => {
            let mut recipient = AudienceRecipient::new();
            recipient.audience_group_id = Some(*group);
            let mut req = NarrowcastRequest::new(messages.to_vec());
            req.recipient = Some(Recipient::from(recipient));
            client.narrowcast(req).retry_key(key).await.map(accepted)
        }
    }
}

impl fmt::Display for AccountStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use line_core::model::TextMessage;

    /// The digest as first defined: every byte gathered, then hashed (FNV-1a).
    fn gathered_digest(c: &Campaign) -> String {
        let mut bytes = serde_json::to_vec(&c.messages).unwrap();
        for (id, audience) in &c.audiences {
            bytes.push(0xff);
            bytes.extend_from_slice(id.as_str().as_bytes());
            match audience {
                Audience::UserIds(ids) => {
                    for u in ids {
                        bytes.push(0xfe);
                        bytes.extend_from_slice(u.as_str().as_bytes());
                    }
                }
                Audience::AudienceGroup(g) => {
                    bytes.push(0xfd);
                    bytes.extend_from_slice(g.to_string().as_bytes());
                }
            }
        }
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        format!("{h:016x}")
    }

    #[test]
    fn the_digest_is_the_same_hashed_as_it_goes_and_changes_with_the_campaign() {
        let c = Campaign::new(vec![TextMessage::new("Sale").into()])
            .unwrap()
            .to_users(
                ChannelId::new("1650000001").unwrap(),
                ["U11111111111111111111111111111111", "U22222222222222222222222222222222"],
            )
            .unwrap()
            .to_audience(ChannelId::new("1650000002").unwrap(), 42)
            .unwrap();
        assert_eq!(c.digest(), gathered_digest(&c));
        // Kept once made, and made again for a changed campaign.
        assert_eq!(c.digest(), c.digest());
        let more = c
            .clone()
            .to_users(
                ChannelId::new("1650000003").unwrap(),
                ["U33333333333333333333333333333333"],
            )
            .unwrap();
        assert_eq!(more.digest(), gathered_digest(&more));
        assert_ne!(more.digest(), c.digest());
        // A campaign compares equal to its clone whether or not its digest is made.
        let fresh = Campaign::new(vec![TextMessage::new("Sale").into()]).unwrap();
        let made = fresh.clone();
        let _ = made.digest();
        assert_eq!(fresh, made);
    }
}
