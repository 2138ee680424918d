//! Campaigns across accounts: a plan ([`Campaign`], in code or from a campaign
//! file with [`Campaign::from_json`]), a dry run per account
//! ([`Campaign::dry_run`]: LINE's validate endpoint, recipients, quota left and
//! cost in yen) with quotas and costs rolled up ([`Totals`]; [`quotas`] for the
//! quotas alone), an approval gate ([`ApprovalGate`]) that decides which
//! accounts may send, and the send ([`Campaign::send`]): multicast in chunks of
//! 500 (a push for one recipient) or a narrowcast to an audience, per account,
//! resumable after a crash with nothing sent twice (each chunk's retry key is
//! stored in a [`BulkStore`] before its call), with a report per account
//! ([`SendReport`]).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use futures::stream::{self, StreamExt};
use line_core::model::QuotaType;
use line_core::model::{Message, ValidateMessageRequest};
use line_core::UserId;

use crate::account::{ChannelId, Cost};
use crate::accounts::Accounts;
use crate::error::{Error, ErrorKind};

mod file;
mod send;
pub(crate) mod store;

pub use send::{
    report, AccountSend, AccountStatus, FailedChunk, NarrowcastOutcome, SendOptions, SendReport, SendTotals,
};
pub use store::{BulkStore, Chunk, ChunkOutcome, InMemoryBulkStore, PlannedAccount, RunPlan, SkipReason};

/// Most message objects in one send (LINE's limit).
pub const MAX_MESSAGES: usize = 5;

/// What one account sends to.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Audience {
    /// These users, each once: a push for one, multicasts for more.
    UserIds(Vec<UserId>),
    /// The members of one of the account's audiences (`audienceGroupId`): a
    /// narrowcast. Its size is read from LINE in the dry run
    /// (`GET /v2/bot/audienceGroup/{id}`), an upper bound of the recipients
    /// (LINE leaves out members who blocked the account).
    AudienceGroup(i64),
}

impl Audience {
    /// How many messages the send counts against the month's quota (one per
    /// recipient, whatever the number of message objects); `None` for an
    /// audience group, whose size only LINE knows.
    pub fn recipients(&self) -> Option<u64> {
        match self {
            Audience::UserIds(ids) => Some(ids.len() as u64),
            Audience::AudienceGroup(_) => None,
        }
    }

    /// The send endpoint's operation (`pushMessage`, `multicast` or `narrowcast`).
    pub fn operation(&self) -> &'static str {
        match self {
            Audience::UserIds(ids) if ids.len() == 1 => "pushMessage",
            Audience::UserIds(_) => "multicast",
            Audience::AudienceGroup(_) => "narrowcast",
        }
    }
}

/// A campaign: the same messages, sent by several accounts, each to its own audience.
///
/// ```
/// use line_accounts::bulk::Campaign;
/// use line_accounts::ChannelId;
/// use line_core::model::TextMessage;
///
/// let campaign = Campaign::new(vec![TextMessage::new("Sale starts now").into()])?
///     .to_users(ChannelId::new("1650000001")?, ["U11111111111111111111111111111111"])?
///     .to_users(ChannelId::new("1650000002")?, ["U22222222222222222222222222222222", "U33333333333333333333333333333333"])?;
/// assert_eq!(campaign.audiences().count(), 2);
/// # Ok::<(), line_accounts::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Campaign {
    messages: Vec<Message>,
    audiences: BTreeMap<ChannelId, Audience>,
    /// The digest, made once (the plan and the send both need it, and for a
    /// million recipients it is tens of milliseconds of hashing).
    digest: DigestCache,
}

/// A campaign's digest once made; campaigns compare equal whether or not theirs is made.
#[derive(Clone, Default)]
struct DigestCache(std::sync::OnceLock<String>);

impl PartialEq for DigestCache {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl fmt::Debug for DigestCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.get().map_or("-", String::as_str))
    }
}

fn invalid_campaign(field: impl Into<String>, reason: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidCampaign {
        field: field.into(),
        reason: reason.into(),
    })
}

impl Campaign {
    /// A campaign of 1 to 5 messages, with no accounts yet.
    pub fn new(messages: Vec<Message>) -> Result<Self, Error> {
        if messages.is_empty() || messages.len() > MAX_MESSAGES {
            return Err(invalid_campaign(
                "messages",
                format!("1 to {MAX_MESSAGES} messages are allowed, got {}", messages.len()),
            ));
        }
        Ok(Self {
            messages,
            audiences: BTreeMap::new(),
            digest: DigestCache::default(),
        })
    }

    /// Adds an account that sends to these users. A user listed twice gets one
    /// message; an empty list, or a channel already in the campaign, is an error.
    pub fn to_users<U: Into<UserId>>(
        mut self,
        channel_id: ChannelId,
        users: impl IntoIterator<Item = U>,
    ) -> Result<Self, Error> {
        let field = format!("audiences[{channel_id}]");
        if self.audiences.contains_key(&channel_id) {
            return Err(invalid_campaign(field, "the channel is in the campaign already"));
        }
        let mut seen = BTreeSet::new();
        let mut ids = Vec::new();
        for u in users {
            let u: UserId = u.into();
            if u.as_str().is_empty() {
                return Err(invalid_campaign(field, "a user ID is empty"));
            }
            if seen.insert(u.as_str().to_owned()) {
                ids.push(u);
            }
        }
        if ids.is_empty() {
            return Err(invalid_campaign(field, "no recipients"));
        }
        self.audiences.insert(channel_id, Audience::UserIds(ids));
        self.digest = DigestCache::default();
        Ok(self)
    }

    /// Adds an account that sends to the members of one of its audiences (a
    /// narrowcast to `audienceGroupId`). A channel already in the campaign, or
    /// an ID that is not positive, is an error.
    pub fn to_audience(mut self, channel_id: ChannelId, audience_group_id: i64) -> Result<Self, Error> {
        let field = format!("audiences[{channel_id}]");
        if self.audiences.contains_key(&channel_id) {
            return Err(invalid_campaign(field, "the channel is in the campaign already"));
        }
        if audience_group_id <= 0 {
            return Err(invalid_campaign(field, "an audience group ID is a positive number"));
        }
        self.audiences
            .insert(channel_id, Audience::AudienceGroup(audience_group_id));
        self.digest = DigestCache::default();
        Ok(self)
    }

    /// The audience of one account.
    pub fn audience(&self, channel_id: &ChannelId) -> Option<&Audience> {
        self.audiences.get(channel_id)
    }

    /// The messages.
    pub fn messages(&self) -> &[Message] {
        &self.messages
    }

    /// Each account's audience, by channel ID.
    pub fn audiences(&self) -> impl Iterator<Item = (&ChannelId, &Audience)> {
        self.audiences.iter()
    }

    /// Checks every account of the campaign, concurrently (at most
    /// `options.concurrency` at a time, each within `options.timeout`): the
    /// messages with LINE's validate endpoint for the account's send, the
    /// recipients, the month's quota and consumption, and the cost under the
    /// account's plan. Nothing is sent. An account that fails or is slow is
    /// reported as [`DryRunOutcome::Failed`] and never holds up the others.
    pub async fn dry_run(&self, accounts: &Accounts, options: &DryRunOptions) -> DryRunReport {
        let checks = self.audiences.iter().map(|(id, audience)| async move {
            match tokio::time::timeout(options.timeout, check(accounts, id, audience, &self.messages)).await {
                Ok(r) => r,
                Err(_) => AccountDryRun {
                    channel_id: id.clone(),
                    recipients: audience.recipients().unwrap_or(0),
                    quota: None,
                    cost: None,
                    outcome: DryRunOutcome::Failed(AccountFailure::TimedOut(options.timeout)),
                },
            }
        });
        let mut results: Vec<AccountDryRun> = stream::iter(checks)
            .buffer_unordered(options.concurrency.max(1))
            .collect()
            .await;
        results.sort_by(|a, b| a.channel_id.cmp(&b.channel_id));
        let totals = Totals::of(&results);
        DryRunReport {
            accounts: results,
            totals,
        }
    }
}

async fn check(accounts: &Accounts, id: &ChannelId, audience: &Audience, messages: &[Message]) -> AccountDryRun {
    let mut recipients = audience.recipients().unwrap_or(0);
    let mut report = AccountDryRun {
        channel_id: id.clone(),
        recipients,
        quota: None,
        cost: None,
        outcome: DryRunOutcome::Ready,
    };
    let handle = match accounts.get(id).await {
        Ok(h) => h,
        Err(e) => {
            report.outcome = DryRunOutcome::Failed(AccountFailure::Account(e));
            return report;
        }
    };
    let client = handle.client();
    let body = ValidateMessageRequest::new(messages.to_vec());
    let validate = async {
        match audience {
            Audience::UserIds(ids) if ids.len() == 1 => client.validate_push(&body).await,
            Audience::UserIds(_) => client.validate_multicast(&body).await,
            Audience::AudienceGroup(_) => client.validate_narrowcast(&body).await,
        }
    };
    let size = async {
        match audience {
            Audience::AudienceGroup(group) => audience_size(client, *group).await.map(Some),
            Audience::UserIds(_) => Ok(None),
        }
    };
    let (valid, quota, size) = tokio::join!(validate, read_quota(client), size);
    let quota = match quota.and_then(|q| size.map(|s| (q, s))) {
        Ok((q, size)) => {
            if let Some(size) = size {
                recipients = size;
                report.recipients = size;
            }
            q
        }
        Err(e) => {
            report.outcome = DryRunOutcome::Failed(AccountFailure::Api(e));
            return report;
        }
    };
    let cost = handle.plan().cost(quota.used, recipients);
    report.quota = Some(quota);
    report.cost = Some(cost);
    report.outcome = match valid {
        Err(e) if matches!(e.status(), Some(400)) => DryRunOutcome::Refused(Refusal::InvalidMessages(e)),
        Err(e) => DryRunOutcome::Failed(AccountFailure::Api(e)),
        Ok(_) => match (quota.limit, quota.remaining()) {
            (Some(limit), Some(remaining)) if recipients > remaining => {
                DryRunOutcome::Refused(Refusal::QuotaExceeded {
                    recipients,
                    limit,
                    used: quota.used,
                    remaining,
                })
            }
            _ if cost.yen.is_none() => DryRunOutcome::Refused(Refusal::PlanExceeded {
                recipients,
                free_left: cost.free,
                additional: cost.additional,
            }),
            _ => DryRunOutcome::Ready,
        },
    };
    report
}

/// The number of members of an audience group, as LINE reports it.
async fn audience_size(client: &line_core::client::Client, group: i64) -> Result<u64, line_core::Error> {
    let data = client.get_audience_data(group).await?.into_body();
    let count = data.audience_group.and_then(|g| g.audience_count).unwrap_or(0);
    Ok(u64::try_from(count).unwrap_or(0))
}

/// The month's limit and consumption of one account, asked at once.
async fn read_quota(client: &line_core::client::Client) -> Result<Quota, line_core::Error> {
    let (quota, used) = tokio::join!(client.get_message_quota(), client.get_message_quota_consumption());
    let quota = quota?.into_body();
    let used = used?.into_body();
    let limit = match quota.kind {
        QuotaType::Limited => Some(u64::try_from(quota.value.unwrap_or(0)).unwrap_or(0)),
        _ => None,
    };
    Ok(Quota {
        limit,
        used: u64::try_from(used.total_usage).unwrap_or(0),
    })
}

/// Reads the month's quota and consumption of each account, concurrently (at
/// most `options.concurrency` at a time, each within `options.timeout`), and
/// rolls them up. An account that fails or is slow is reported with its
/// failure and never holds up the others.
pub async fn quotas(
    accounts: &Accounts,
    channel_ids: impl IntoIterator<Item = ChannelId>,
    options: &DryRunOptions,
) -> QuotaReport {
    let ids: BTreeSet<ChannelId> = channel_ids.into_iter().collect();
    let reads = ids.into_iter().map(|id| async move {
        let read = async {
            let handle = accounts.get(&id).await.map_err(AccountFailure::Account)?;
            read_quota(handle.client()).await.map_err(AccountFailure::Api)
        };
        let quota = match tokio::time::timeout(options.timeout, read).await {
            Ok(r) => r,
            Err(_) => Err(AccountFailure::TimedOut(options.timeout)),
        };
        AccountQuota { channel_id: id, quota }
    });
    let mut results: Vec<AccountQuota> = stream::iter(reads)
        .buffer_unordered(options.concurrency.max(1))
        .collect()
        .await;
    results.sort_by(|a, b| a.channel_id.cmp(&b.channel_id));
    let mut totals = QuotaTotals::default();
    for a in &results {
        totals.add(a.quota.as_ref().ok());
    }
    QuotaReport {
        accounts: results,
        totals,
    }
}

/// One account's quota, or why it could not be read.
#[derive(Debug)]
#[non_exhaustive]
pub struct AccountQuota {
    /// The channel.
    pub channel_id: ChannelId,
    /// The quota.
    pub quota: Result<Quota, AccountFailure>,
}

/// The quotas of many accounts ([`quotas`]), by channel ID, and their totals.
#[derive(Debug)]
#[non_exhaustive]
pub struct QuotaReport {
    /// Each account's quota, ordered by channel ID.
    pub accounts: Vec<AccountQuota>,
    /// The quotas rolled up.
    pub totals: QuotaTotals,
}

/// How a dry run (or [`quotas`]) goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct DryRunOptions {
    /// Most accounts checked at once (at least 1; default 16).
    pub concurrency: usize,
    /// How long one account's check may take (default 30 seconds).
    pub timeout: Duration,
}

impl Default for DryRunOptions {
    fn default() -> Self {
        Self {
            concurrency: 16,
            timeout: Duration::from_secs(30),
        }
    }
}

impl DryRunOptions {
    /// The defaults: 16 accounts at once, 30 seconds each.
    pub fn new() -> Self {
        Self::default()
    }

    /// Most accounts checked at once (0 counts as 1).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// How long one account's check may take.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

/// An account's monthly quota, as LINE reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Quota {
    /// The month's limit (`GET /v2/bot/message/quota`); `None` when LINE sets none.
    pub limit: Option<u64>,
    /// Messages sent this month (`GET /v2/bot/message/quota/consumption`).
    pub used: u64,
}

impl Quota {
    /// Messages left this month; `None` when there is no limit.
    pub fn remaining(&self) -> Option<u64> {
        self.limit.map(|l| l.saturating_sub(self.used))
    }
}

/// One account's dry run.
#[derive(Debug)]
#[non_exhaustive]
pub struct AccountDryRun {
    /// The channel.
    pub channel_id: ChannelId,
    /// How many users the send reaches (each counts once against the quota);
    /// for an audience group, its size as LINE reports it (an upper bound),
    /// or 0 when it could not be read.
    pub recipients: u64,
    /// The quota, when it could be read.
    pub quota: Option<Quota>,
    /// The send's cost under the account's plan, when the quota could be read.
    pub cost: Option<Cost>,
    /// Whether the account may send.
    pub outcome: DryRunOutcome,
}

/// Whether an account may send.
#[derive(Debug)]
#[non_exhaustive]
pub enum DryRunOutcome {
    /// The messages are valid and the send fits the quota and the plan.
    Ready,
    /// The send would not be accepted.
    Refused(Refusal),
    /// The account could not be checked.
    Failed(AccountFailure),
}

impl DryRunOutcome {
    /// Whether the account may send.
    pub fn is_ready(&self) -> bool {
        matches!(self, DryRunOutcome::Ready)
    }
}

/// Why a send would not be accepted.
#[derive(Debug)]
#[non_exhaustive]
pub enum Refusal {
    /// The send needs more messages than the month's quota has left.
    QuotaExceeded {
        /// Messages the send needs.
        recipients: u64,
        /// The month's limit.
        limit: u64,
        /// Messages sent this month.
        used: u64,
        /// Messages left.
        remaining: u64,
    },
    /// The plan allows no additional messages and the send needs some.
    PlanExceeded {
        /// Messages the send needs.
        recipients: u64,
        /// Free messages left this month.
        free_left: u64,
        /// Messages past the free ones.
        additional: u64,
    },
    /// LINE's validate endpoint rejected the messages (400; the error has
    /// LINE's details with property paths).
    InvalidMessages(line_core::Error),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::QuotaExceeded {
                recipients,
                limit,
                used,
                remaining,
            } => write!(
                f,
                "{recipients} messages exceed the quota: {used} of {limit} used this month, {remaining} left"
            ),
            Refusal::PlanExceeded {
                recipients,
                free_left,
                additional,
            } => write!(
                f,
                "{recipients} messages need {additional} past the {free_left} free ones left, and the plan allows none"
            ),
            Refusal::InvalidMessages(e) => write!(f, "LINE rejected the messages: {e}"),
        }
    }
}

/// Why an account could not be checked.
#[derive(Debug)]
#[non_exhaustive]
pub enum AccountFailure {
    /// The account is not in the registry, or its client could not be made.
    Account(Error),
    /// A call to LINE failed (the error says which operation).
    Api(line_core::Error),
    /// The check took longer than the dry run's timeout.
    TimedOut(Duration),
}

impl fmt::Display for AccountFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AccountFailure::Account(e) => write!(f, "{e}"),
            AccountFailure::Api(e) => write!(f, "{e}"),
            AccountFailure::TimedOut(d) => write!(f, "no answer within {} ms", d.as_millis()),
        }
    }
}

/// Monthly quotas over many accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct QuotaTotals {
    /// Messages sent this month, over the accounts whose quota was read.
    pub used: u64,
    /// Monthly limits, over the accounts with a limit.
    pub limit: u64,
    /// Messages left this month, over the accounts with a limit.
    pub remaining: u64,
    /// Accounts whose quota was read and has no limit.
    pub unlimited: usize,
    /// Accounts whose quota could not be read.
    pub unknown: usize,
}

impl QuotaTotals {
    fn add(&mut self, quota: Option<&Quota>) {
        match quota {
            Some(q) => {
                self.used += q.used;
                match (q.limit, q.remaining()) {
                    (Some(l), Some(r)) => {
                        self.limit += l;
                        self.remaining += r;
                    }
                    _ => self.unlimited += 1,
                }
            }
            None => self.unknown += 1,
        }
    }
}

/// Quotas and costs over all accounts of a dry run.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[non_exhaustive]
pub struct Totals {
    /// Accounts in the campaign.
    pub accounts: usize,
    /// Accounts that may send.
    pub ready: usize,
    /// Accounts whose send would be refused.
    pub refused: usize,
    /// Accounts that could not be checked.
    pub failed: usize,
    /// Recipients of the accounts that may send.
    pub recipients: u64,
    /// The month's quotas of all accounts, rolled up.
    pub quota: QuotaTotals,
    /// Free messages the ready accounts' sends use.
    pub free: u64,
    /// Additional (paid) messages the ready accounts' sends use.
    pub additional: u64,
    /// What the ready accounts' sends cost, in yen.
    pub yen: f64,
}

impl Totals {
    fn of(accounts: &[AccountDryRun]) -> Self {
        let mut t = Totals {
            accounts: accounts.len(),
            ..Totals::default()
        };
        for a in accounts {
            match &a.outcome {
                DryRunOutcome::Ready => t.ready += 1,
                DryRunOutcome::Refused(_) => t.refused += 1,
                DryRunOutcome::Failed(_) => t.failed += 1,
            }
            t.quota.add(a.quota.as_ref());
            if a.outcome.is_ready() {
                t.recipients += a.recipients;
                if let Some(c) = a.cost {
                    t.free += c.free;
                    t.additional += c.additional;
                    t.yen += c.yen.unwrap_or(0.0);
                }
            }
        }
        t
    }
}

/// The dry run of a campaign: one entry per account, by channel ID, and the totals.
#[derive(Debug)]
#[non_exhaustive]
pub struct DryRunReport {
    /// Each account's dry run, ordered by channel ID.
    pub accounts: Vec<AccountDryRun>,
    /// Quotas and costs rolled up.
    pub totals: Totals,
}

impl DryRunReport {
    /// The dry run of one account.
    pub fn get(&self, channel_id: &ChannelId) -> Option<&AccountDryRun> {
        self.accounts.iter().find(|a| &a.channel_id == channel_id)
    }

    /// The accounts that may send.
    pub fn ready(&self) -> impl Iterator<Item = &ChannelId> {
        self.accounts
            .iter()
            .filter(|a| a.outcome.is_ready())
            .map(|a| &a.channel_id)
    }

    /// Asks `gate` which accounts may send. Only ready accounts can be approved:
    /// a gate that approves a refused or failed account does not make it send.
    /// A gate that names a channel not in the campaign gets
    /// [`ErrorKind::UnknownChannel`]; a failing gate's error is passed on.
    pub async fn approve(&self, gate: &dyn ApprovalGate) -> Result<Approval, Error> {
        let decision = gate.review(self).await?;
        let chosen: BTreeSet<ChannelId> = match &decision {
            Decision::ApproveAll => self.ready().cloned().collect(),
            Decision::Reject { .. } => BTreeSet::new(),
            Decision::ApproveSome(ids) => {
                if let Some(unknown) = ids.iter().find(|id| self.get(id).is_none()) {
                    return Err(Error::new(ErrorKind::UnknownChannel {
                        channel_id: unknown.to_string(),
                    }));
                }
                ids.clone()
            }
        };
        let mut approval = Approval {
            approved: Vec::new(),
            not_approved: Vec::new(),
            not_ready: Vec::new(),
            rejected: match decision {
                Decision::Reject { reason } => Some(reason),
                _ => None,
            },
        };
        for a in &self.accounts {
            let id = a.channel_id.clone();
            if !a.outcome.is_ready() {
                approval.not_ready.push(id);
            } else if chosen.contains(&id) {
                approval.approved.push(id);
            } else {
                approval.not_approved.push(id);
            }
        }
        Ok(approval)
    }
}

/// What an [`ApprovalGate`] answers.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Decision {
    /// Every ready account may send.
    ApproveAll,
    /// No account may send.
    Reject {
        /// Why (kept in the [`Approval`]).
        reason: String,
    },
    /// These accounts may send (those that are ready).
    ApproveSome(BTreeSet<ChannelId>),
}

/// Which accounts may send, after the gate.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Approval {
    /// Ready and approved: these send.
    pub approved: Vec<ChannelId>,
    /// Ready, but the gate did not approve them.
    pub not_approved: Vec<ChannelId>,
    /// Refused or failed in the dry run: never sent, whatever the gate said.
    pub not_ready: Vec<ChannelId>,
    /// The gate's reason, when it rejected the campaign.
    pub rejected: Option<String>,
}

/// The host's approval step: sees the dry run and decides which accounts may
/// send (a person in a review UI, a policy, a ticket system). Used as
/// `Arc<dyn ApprovalGate>` or `&dyn ApprovalGate`.
#[async_trait]
pub trait ApprovalGate: Send + Sync {
    /// Decides on a dry run; an error stops the campaign.
    async fn review(&self, report: &DryRunReport) -> Result<Decision, Error>;
}

/// Approves every ready account (tests and examples).
#[derive(Debug, Clone, Copy, Default)]
pub struct AutoApprove;

#[async_trait]
impl ApprovalGate for AutoApprove {
    async fn review(&self, _report: &DryRunReport) -> Result<Decision, Error> {
        Ok(Decision::ApproveAll)
    }
}

/// Approves each ready account whose send costs at most `max_yen`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct YenLimit {
    /// The most one account's send may cost, in yen.
    pub max_yen: f64,
}

#[async_trait]
impl ApprovalGate for YenLimit {
    async fn review(&self, report: &DryRunReport) -> Result<Decision, Error> {
        Ok(Decision::ApproveSome(
            report
                .accounts
                .iter()
                .filter(|a| a.outcome.is_ready())
                .filter(|a| a.cost.and_then(|c| c.yen).is_some_and(|y| y <= self.max_yen))
                .map(|a| a.channel_id.clone())
                .collect(),
        ))
    }
}
