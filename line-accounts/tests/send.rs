//! Sending campaigns across accounts, each account on an emulator of its own
//! (with its own seed, so every channel has its own users): chunks, pushes and
//! narrowcasts, the report per account, skips, isolation, removal mid-send,
//! and runs resumed after a crash at each point with every recipient getting
//! exactly one message.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use line_accounts::bulk::{
    AccountStatus, Approval, ApprovalGate, BulkStore, Campaign, Chunk, ChunkOutcome, Decision, DryRunOptions,
    DryRunReport, InMemoryBulkStore, NarrowcastOutcome, RunPlan, SendOptions, SendReport, SkipReason,
};
use line_accounts::{
    Account, Accounts, BotUserId, ChannelId, ErrorKind, InMemoryRegistry, MessagePlan, Settings, TokenConfig,
};
use line_core::clock::ManualClock;
use line_core::model::{Audience as AudienceId, CreateAudienceGroupRequest, Message, TextMessage};
use line_core::retry::RetryPolicy;
use line_core::{RetryKey, UserId};
use line_emulator::faults::{FaultConfig, FaultRule};
use line_emulator::{Emulator, EmulatorConfig};

fn id(i: u32) -> ChannelId {
    ChannelId::new(format!("18000000{i:02}")).unwrap()
}

fn token(i: u32) -> String {
    format!("static-token-{i}-do-not-print")
}

fn account(i: u32, plan: MessagePlan) -> Account {
    Account::new(
        id(i),
        BotUserId::new(format!("U{:032x}", u128::from(i) + 0x3000)).unwrap(),
        format!("{:032x}", u128::from(i) + 0xfed).into(),
        TokenConfig::Static(token(i).into()),
        Settings::new("Asia/Tokyo", plan).unwrap(),
    )
    .unwrap()
}

fn money_plan() -> MessagePlan {
    MessagePlan::new(1_000, Some(3.0)).unwrap()
}

/// Emulator `i`: `friends` users of its own (seed `i`), no rate limits.
async fn emulator(i: u32, friends: usize, quota: Option<u64>, faults: FaultConfig) -> Emulator {
    Emulator::start_with(
        EmulatorConfig::new()
            .seed(u64::from(i) * 7_919)
            .friends(friends)
            .rate_limits(false)
            .monthly_quota(quota)
            .faults(faults),
    )
    .await
    .unwrap()
}

/// Accounts 1..=n on their own emulators, with `policy` on every client.
async fn accounts_on(emus: &[&Emulator], policy: RetryPolicy) -> Accounts {
    let urls: HashMap<ChannelId, String> = emus
        .iter()
        .enumerate()
        .map(|(i, e)| (id(i as u32 + 1), e.base_url().to_owned()))
        .collect();
    let accounts = Accounts::builder(Arc::new(InMemoryRegistry::new()))
        .configure_clients(move |b, account| {
            let b = b.retry_policy(policy.clone());
            match urls.get(&account.channel_id) {
                Some(url) => b.base_url(url.clone()),
                None => b,
            }
        })
        .build()
        .unwrap();
    for i in 1..=emus.len() as u32 {
        accounts.add(account(i, money_plan())).await.unwrap();
    }
    accounts
}

fn quick_retries() -> RetryPolicy {
    RetryPolicy::default()
        .with_max_attempts(4)
        .with_base_delay(Duration::from_millis(5))
        .with_max_delay(Duration::from_millis(20))
}

fn hello() -> Vec<Message> {
    vec![TextMessage::new("Sale starts now").into()]
}

fn campaign_of(emus: &[&Emulator]) -> Campaign {
    let mut c = Campaign::new(hello()).unwrap();
    for (i, e) in emus.iter().enumerate() {
        c = c.to_users(id(i as u32 + 1), e.follower_ids()).unwrap();
    }
    c
}

/// Dry run, approve every ready account, plan.
async fn planned(campaign: &Campaign, accounts: &Accounts, options: &SendOptions) -> (DryRunReport, Approval, RunPlan) {
    let report = campaign.dry_run(accounts, &DryRunOptions::new()).await;
    let approval = report.approve(&line_accounts::bulk::AutoApprove).await.unwrap();
    let plan = campaign.plan(&report, &approval, options);
    (report, approval, plan)
}

/// Every follower of `emu` got exactly `n` messages.
fn each_got(emu: &Emulator, n: usize) {
    for u in emu.follower_ids() {
        assert_eq!(emu.messages(&u).len(), n, "user {u:?} of {}", emu.base_url());
    }
}

fn status_of(report: &SendReport, i: u32) -> AccountStatus {
    report.get(&id(i)).unwrap().status()
}

struct Only(BTreeSet<ChannelId>);

#[async_trait]
impl ApprovalGate for Only {
    async fn review(&self, _: &DryRunReport) -> Result<Decision, line_accounts::Error> {
        Ok(Decision::ApproveSome(self.0.clone()))
    }
}

#[tokio::test]
async fn approved_accounts_send_in_chunks_and_the_report_says_what_each_did() {
    // 1: 5 users in chunks of 2 (3 multicasts); 2: over quota; 3: one user (a push);
    // 4: ready but not approved.
    let e1 = emulator(1, 5, None, FaultConfig::none()).await;
    let e2 = emulator(2, 3, Some(2), FaultConfig::none()).await;
    let e3 = emulator(3, 1, None, FaultConfig::none()).await;
    let e4 = emulator(4, 2, None, FaultConfig::none()).await;
    let emus = [&e1, &e2, &e3, &e4];
    let accounts = accounts_on(&emus, RetryPolicy::none()).await;
    let campaign = campaign_of(&emus);
    let options = SendOptions::new().chunk_size(2);
    let dry = campaign.dry_run(&accounts, &DryRunOptions::new()).await;
    let approval = dry.approve(&Only([id(1), id(2), id(3)].into())).await.unwrap();
    let plan = campaign.plan(&dry, &approval, &options);
    let store = InMemoryBulkStore::new();
    let report = campaign
        .send(&accounts, &store, "may-sale", &plan, &options)
        .await
        .unwrap();

    let a1 = report.get(&id(1)).unwrap();
    assert_eq!(a1.status(), AccountStatus::Sent);
    assert_eq!((a1.recipients, a1.sent, a1.accepted_earlier), (5, 5, 0));
    assert_eq!(e1.calls("multicast"), 3);
    each_got(&e1, 1);
    // The report's request IDs are the ones the users' messages came with.
    let got: BTreeSet<String> = e1
        .follower_ids()
        .iter()
        .map(|u| e1.messages(u)[0].request_id.as_str().to_owned())
        .collect();
    assert_eq!(got, a1.request_ids.iter().cloned().collect::<BTreeSet<_>>());
    assert_eq!(a1.request_ids.len(), 3);

    let a2 = report.get(&id(2)).unwrap();
    assert_eq!(
        a2.skipped,
        Some(SkipReason::Quota {
            recipients: 3,
            limit: 2,
            used: 0,
            remaining: 2
        })
    );
    assert_eq!((a2.sent, a2.skipped_recipients), (0, 3));
    assert_eq!(e2.delivered_count(), 0);

    let a3 = report.get(&id(3)).unwrap();
    assert_eq!(a3.status(), AccountStatus::Sent);
    assert_eq!((e3.calls("pushMessage"), e3.calls("multicast")), (1, 0));
    each_got(&e3, 1);

    let a4 = report.get(&id(4)).unwrap();
    assert_eq!(a4.skipped, Some(SkipReason::NotApproved));
    assert_eq!(e4.delivered_count(), 0);

    let t = report.totals;
    assert_eq!(
        (t.accounts, t.sent_accounts, t.skipped_accounts, t.incomplete_accounts),
        (4, 2, 2, 0)
    );
    assert_eq!((t.recipients, t.sent, t.skipped, t.failed, t.pending), (11, 6, 5, 0, 0));
    assert!(report.is_complete());

    // The store alone gives the same report.
    let again = line_accounts::bulk::report(&store, "may-sale").await.unwrap().unwrap();
    assert_eq!(again, report);
    assert!(line_accounts::bulk::report(&store, "other").await.unwrap().is_none());

    // Nothing secret in the report.
    let text = format!("{report:?} {plan:?} {store:?}");
    for i in 1..=4 {
        assert!(!text.contains(&token(i)));
    }
}

#[tokio::test]
async fn a_rejected_campaign_sends_nothing_and_says_why() {
    let e1 = emulator(1, 2, None, FaultConfig::none()).await;
    let accounts = accounts_on(&[&e1], RetryPolicy::none()).await;
    let campaign = campaign_of(&[&e1]);
    let dry = campaign.dry_run(&accounts, &DryRunOptions::new()).await;
    struct No;
    #[async_trait]
    impl ApprovalGate for No {
        async fn review(&self, _: &DryRunReport) -> Result<Decision, line_accounts::Error> {
            Ok(Decision::Reject {
                reason: "not this week".into(),
            })
        }
    }
    let approval = dry.approve(&No).await.unwrap();
    let options = SendOptions::new();
    let plan = campaign.plan(&dry, &approval, &options);
    let report = campaign
        .send(&accounts, &InMemoryBulkStore::new(), "r", &plan, &options)
        .await
        .unwrap();
    assert_eq!(
        report.get(&id(1)).unwrap().skipped,
        Some(SkipReason::Rejected {
            reason: "not this week".into()
        })
    );
    assert_eq!(e1.calls("multicast"), 0);
}

#[tokio::test]
async fn a_narrowcast_reaches_the_audience_once_and_its_size_bounds_the_cost() {
    let e1 = emulator(1, 60, None, FaultConfig::none()).await;
    let accounts = accounts_on(&[&e1], RetryPolicy::none()).await;
    let (group, members) = audience_of(&accounts, &e1, 1, 55).await;
    let campaign = Campaign::new(hello()).unwrap().to_audience(id(1), group).unwrap();
    let options = SendOptions::new();
    let (dry, _, plan) = planned(&campaign, &accounts, &options).await;
    let a = dry.get(&id(1)).unwrap();
    assert!(a.outcome.is_ready(), "{:?}", a.outcome);
    assert_eq!(a.recipients, 55);
    assert_eq!((e1.calls("validateNarrowcast"), e1.calls("getAudienceData")), (1, 1));
    let report = campaign
        .send(&accounts, &InMemoryBulkStore::new(), "vip", &plan, &options)
        .await
        .unwrap();
    let s = report.get(&id(1)).unwrap();
    assert_eq!((s.status(), s.sent, s.request_ids.len()), (AccountStatus::Sent, 55, 1));
    // `sent` is what LINE's progress reported, not the audience's size.
    match &s.narrowcast {
        Some(NarrowcastOutcome::Succeeded {
            request_id,
            success,
            failure,
            ..
        }) => {
            assert_eq!((*success, *failure), (55, 0));
            assert_eq!(Some(request_id), s.request_ids.first());
        }
        other => panic!("{other:?}"),
    }
    assert!(e1.calls("getNarrowcastProgress") >= 1);
    assert_eq!(e1.calls("narrowcast"), 1);
    for u in &members {
        assert_eq!(e1.messages(u).len(), 1);
    }
    assert_eq!(e1.delivered_count(), 55);
}

#[tokio::test]
async fn a_failing_account_fails_alone_with_lines_request_ids_and_errors() {
    let broken = emulator(
        1,
        4,
        None,
        FaultConfig::none().with_endpoint("multicast", FaultRule::new().error_rate(1.0)),
    )
    .await;
    let fine = emulator(2, 4, None, FaultConfig::none()).await;
    let accounts = accounts_on(&[&broken, &fine], RetryPolicy::none()).await;
    let campaign = campaign_of(&[&broken, &fine]);
    let options = SendOptions::new().chunk_size(2);
    let (_, _, plan) = planned(&campaign, &accounts, &options).await;
    let report = campaign
        .send(&accounts, &InMemoryBulkStore::new(), "r", &plan, &options)
        .await
        .unwrap();
    let a1 = report.get(&id(1)).unwrap();
    assert_eq!(a1.status(), AccountStatus::Incomplete);
    assert_eq!((a1.sent, a1.failed_recipients, a1.failed.len()), (0, 4, 2));
    for f in &a1.failed {
        assert_eq!(f.status, Some(500));
        assert!(!f.error.is_empty());
    }
    assert_eq!(status_of(&report, 2), AccountStatus::Sent);
    each_got(&fine, 1);
    assert_eq!(report.totals.failed, 4);
    assert!(!report.is_complete());
}

#[tokio::test]
async fn a_chunk_line_rejects_keeps_lines_request_id_and_details() {
    let e1 = emulator(1, 2, None, FaultConfig::none()).await;
    let accounts = accounts_on(&[&e1], RetryPolicy::none()).await;
    let mut users = e1.follower_ids();
    users.push(UserId::from("Unot-a-user-id"));
    let campaign = Campaign::new(hello()).unwrap().to_users(id(1), users).unwrap();
    // Chunks of 2: the first is fine, the second holds the bad ID.
    let options = SendOptions::new().chunk_size(2);
    let (_, _, plan) = planned(&campaign, &accounts, &options).await;
    let report = campaign
        .send(&accounts, &InMemoryBulkStore::new(), "r", &plan, &options)
        .await
        .unwrap();
    let a = report.get(&id(1)).unwrap();
    assert_eq!((a.sent, a.failed_recipients), (2, 1));
    let f = &a.failed[0];
    assert_eq!((f.index, f.recipients, f.status), (1, 1, Some(400)));
    assert!(f.request_id.as_deref().is_some_and(|r| !r.is_empty()), "{f:?}");
    assert!(f.error.contains("to[0]"), "{}", f.error);
}

#[tokio::test]
async fn lost_responses_are_resent_with_their_key_and_nobody_gets_two() {
    let e1 = emulator(
        1,
        9,
        None,
        FaultConfig::none()
            .with_seed(3)
            .with_endpoint("multicast", FaultRule::new().lost_response_rate(0.4)),
    )
    .await;
    let accounts = accounts_on(&[&e1], quick_retries()).await;
    let campaign = campaign_of(&[&e1]);
    let options = SendOptions::new().chunk_size(2).chunk_concurrency(1);
    let (_, _, plan) = planned(&campaign, &accounts, &options).await;
    let store = InMemoryBulkStore::new();
    let mut report = campaign.send(&accounts, &store, "r", &plan, &options).await.unwrap();
    // A chunk whose every attempt lost its answer failed; running again finishes it.
    for _ in 0..5 {
        if report.is_complete() {
            break;
        }
        report = campaign.resume(&accounts, &store, "r", &options).await.unwrap();
    }
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(report.get(&id(1)).unwrap().sent, 9);
    assert!(e1.fault_counts().lost_responses > 0, "the faults fired");
    assert!(
        report.totals.accepted_earlier > 0,
        "some chunks were accepted before their answer was lost"
    );
    each_got(&e1, 1);
}

/// A store that panics (the process "crashes") at one point.
#[derive(Debug)]
struct Crashing {
    inner: Arc<dyn BulkStore>,
    point: Crash,
    records: AtomicUsize,
}

#[derive(Debug, Clone, Copy)]
enum Crash {
    /// After the keys are stored, before any call.
    AfterReserve,
    /// After `n` outcomes are stored: the next call never happens.
    BeforeCall(usize),
    /// At the `n`-th outcome (from 1), before it is stored: LINE accepted it.
    AfterAccepted(usize),
}

#[async_trait]
impl BulkStore for Crashing {
    async fn begin_run(&self, run: &str, plan: &RunPlan) -> Result<RunPlan, line_accounts::Error> {
        self.inner.begin_run(run, plan).await
    }
    async fn run_plan(&self, run: &str) -> Result<Option<RunPlan>, line_accounts::Error> {
        self.inner.run_plan(run).await
    }
    async fn runs(&self) -> Result<Vec<String>, line_accounts::Error> {
        self.inner.runs().await
    }
    async fn set_skip(&self, run: &str, c: &ChannelId, s: Option<&SkipReason>) -> Result<(), line_accounts::Error> {
        self.inner.set_skip(run, c, s).await
    }
    async fn reserve_chunks(
        &self,
        run: &str,
        c: &ChannelId,
        proposed: &[(u32, RetryKey)],
    ) -> Result<Vec<Chunk>, line_accounts::Error> {
        let chunks = self.inner.reserve_chunks(run, c, proposed).await?;
        if matches!(self.point, Crash::AfterReserve) {
            panic!("crash after the keys were stored");
        }
        Ok(chunks)
    }
    async fn record_outcome(
        &self,
        run: &str,
        c: &ChannelId,
        index: u32,
        outcome: &ChunkOutcome,
    ) -> Result<(), line_accounts::Error> {
        let n = self.records.fetch_add(1, Ordering::SeqCst) + 1;
        if let Crash::AfterAccepted(at) = self.point {
            if n == at {
                assert!(outcome.is_accepted(), "LINE accepted the chunk");
                panic!("crash after LINE accepted, before the outcome was stored");
            }
        }
        self.inner.record_outcome(run, c, index, outcome).await?;
        if let Crash::BeforeCall(at) = self.point {
            if n == at {
                panic!("crash before the next call");
            }
        }
        Ok(())
    }
    async fn chunks(&self, run: &str) -> Result<Vec<Chunk>, line_accounts::Error> {
        self.inner.chunks(run).await
    }
    async fn forget_run(&self, run: &str) -> Result<(), line_accounts::Error> {
        self.inner.forget_run(run).await
    }
}

/// Sends three accounts (7, 1 and 4 users, chunks of 2) through a store that
/// crashes at `point`, then resumes with the store as it was left: every user
/// gets exactly one message. Gives the resumed report.
async fn crash_and_resume(store: Arc<dyn BulkStore>, point: Crash) -> SendReport {
    let e1 = emulator(1, 7, None, FaultConfig::none()).await;
    let e2 = emulator(2, 1, None, FaultConfig::none()).await;
    let e3 = emulator(3, 4, None, FaultConfig::none()).await;
    let emus = [&e1, &e2, &e3];
    let accounts = accounts_on(&emus, RetryPolicy::none()).await;
    let campaign = campaign_of(&emus);
    let options = SendOptions::new().chunk_size(2).chunk_concurrency(1).concurrency(1);
    let (_, _, plan) = planned(&campaign, &accounts, &options).await;
    let crashing = Arc::new(Crashing {
        inner: Arc::clone(&store),
        point,
        records: AtomicUsize::new(0),
    });
    let run = {
        let (accounts, campaign, crashing, plan) = (accounts.clone(), campaign.clone(), crashing.clone(), plan.clone());
        tokio::spawn(async move { campaign.send(&accounts, &*crashing, "crashy", &plan, &options).await })
    };
    let crashed = run.await.unwrap_err();
    assert!(crashed.is_panic(), "the run crashed");
    let before: usize = emus.iter().map(|e| e.delivered_count()).sum();
    let report = campaign.resume(&accounts, &*store, "crashy", &options).await.unwrap();
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(report.totals.sent, 12);
    for e in emus {
        each_got(e, 1);
    }
    let after: usize = emus.iter().map(|e| e.delivered_count()).sum();
    assert_eq!(after, 12);
    assert!(after >= before);
    report
}

#[tokio::test]
async fn a_crash_after_the_keys_are_stored_resumes_without_duplicates() {
    let report = crash_and_resume(Arc::new(InMemoryBulkStore::new()), Crash::AfterReserve).await;
    assert_eq!(report.totals.accepted_earlier, 0, "nothing had been sent");
}

#[tokio::test]
async fn a_crash_before_a_call_resumes_without_duplicates() {
    let report = crash_and_resume(Arc::new(InMemoryBulkStore::new()), Crash::BeforeCall(2)).await;
    assert_eq!(
        report.totals.accepted_earlier, 0,
        "the recorded chunks are not called again"
    );
}

#[tokio::test]
async fn a_crash_after_line_accepted_but_before_recording_counts_the_409_as_sent() {
    let report = crash_and_resume(Arc::new(InMemoryBulkStore::new()), Crash::AfterAccepted(3)).await;
    // The third chunk (account 1's users 5 and 6) was accepted before the crash.
    assert_eq!(report.totals.accepted_earlier, 2);
    assert_eq!(report.get(&id(1)).unwrap().accepted_earlier, 2);
}

#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_resumes_from_a_sqlite_file_reopened() {
    use line_accounts::sqlite::SqliteBulkStore;
    use line_core::store::sqlite::SqliteDb;
    use line_core::testing::store::{fresh_sqlite_path, remove_sqlite};
    let path = fresh_sqlite_path("bulk_crash");
    let db = SqliteDb::open(&path).await.unwrap();
    let store = Arc::new(SqliteBulkStore::new(&db).await.unwrap());
    let report = crash_and_resume(store, Crash::AfterAccepted(1)).await;
    assert_eq!(report.totals.accepted_earlier, 2);
    drop(db);
    let db = SqliteDb::open(&path).await.unwrap();
    let reopened = SqliteBulkStore::new(&db).await.unwrap();
    let stored = line_accounts::bulk::report(&reopened, "crashy").await.unwrap().unwrap();
    assert_eq!(stored, report);
    drop(db);
    remove_sqlite(&path);
}

#[tokio::test]
async fn a_slow_account_does_not_stall_the_others() {
    let slow = emulator(
        1,
        2,
        None,
        FaultConfig::none().with_endpoint("multicast", FaultRule::new().latency(Duration::from_secs(5))),
    )
    .await;
    let e2 = emulator(2, 3, None, FaultConfig::none()).await;
    let e3 = emulator(3, 3, None, FaultConfig::none()).await;
    let emus = [&slow, &e2, &e3];
    let accounts = accounts_on(&emus, RetryPolicy::none()).await;
    let campaign = campaign_of(&emus);
    // Two accounts at once: the slow one holds one slot, the others share the second.
    let options = SendOptions::new().concurrency(2);
    let (_, _, plan) = planned(&campaign, &accounts, &options).await;
    let task = {
        let (accounts, campaign) = (accounts.clone(), campaign.clone());
        tokio::spawn(async move {
            campaign
                .send(&accounts, &InMemoryBulkStore::new(), "r", &plan, &options)
                .await
        })
    };
    let deadline = Instant::now() + Duration::from_secs(4);
    while e2.delivered_count() < 3 || e3.delivered_count() < 3 {
        assert!(Instant::now() < deadline, "the fast accounts waited on the slow one");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(slow.delivered_count(), 0, "the slow account is still in its call");
    let report = task.await.unwrap().unwrap();
    assert!(report.is_complete());
    each_got(&slow, 1);
}

/// A registry that counts how many lookups are in flight at once (each takes 50 ms).
#[derive(Debug, Default)]
struct Counting {
    inner: InMemoryRegistry,
    now: AtomicUsize,
    max: AtomicUsize,
}

#[async_trait]
impl line_accounts::AccountRegistry for Counting {
    async fn put(&self, account: Account) -> Result<Option<Account>, line_accounts::Error> {
        self.inner.put(account).await
    }
    async fn get(&self, channel_id: &ChannelId) -> Result<Option<Account>, line_accounts::Error> {
        let n = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.max.fetch_max(n, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(50)).await;
        self.now.fetch_sub(1, Ordering::SeqCst);
        self.inner.get(channel_id).await
    }
    async fn by_bot_user_id(&self, bot_user_id: &str) -> Result<Option<Account>, line_accounts::Error> {
        self.inner.by_bot_user_id(bot_user_id).await
    }
    async fn remove(&self, channel_id: &ChannelId) -> Result<Option<Account>, line_accounts::Error> {
        self.inner.remove(channel_id).await
    }
    async fn channel_ids(&self) -> Result<Vec<ChannelId>, line_accounts::Error> {
        self.inner.channel_ids().await
    }
}

#[tokio::test]
async fn at_most_the_concurrency_bound_of_accounts_send_at_once() {
    let e = emulator(1, 40, None, FaultConfig::none()).await;
    let registry = Arc::new(Counting::default());
    let url = e.base_url().to_owned();
    let accounts = Accounts::builder(registry.clone())
        .configure_clients(move |b, _| b.base_url(url.clone()))
        .build()
        .unwrap();
    // Six accounts, each with distinct users of the one emulator.
    let users = e.follower_ids();
    let mut campaign = Campaign::new(hello()).unwrap();
    for i in 1..=6u32 {
        accounts.add(account(i, money_plan())).await.unwrap();
        let mine = users[(i as usize - 1) * 6..i as usize * 6].to_vec();
        campaign = campaign.to_users(id(i), mine).unwrap();
    }
    for (run, bound) in [("two", 2), ("four", 4)] {
        let options = SendOptions::new().concurrency(bound);
        let (_, _, plan) = planned(&campaign, &accounts, &options).await;
        registry.max.store(0, Ordering::SeqCst);
        let report = campaign
            .send(&accounts, &InMemoryBulkStore::new(), run, &plan, &options)
            .await
            .unwrap();
        assert!(report.is_complete());
        assert_eq!(registry.max.load(Ordering::SeqCst), bound);
    }
    // Two runs of one campaign under two names send twice; nobody got more.
    for u in &users[..36] {
        assert_eq!(e.messages(u).len(), 2);
    }
}

#[tokio::test]
async fn an_account_removed_during_the_send_is_skipped_and_the_rest_continue() {
    let e1 = emulator(
        1,
        6,
        None,
        FaultConfig::none().with_endpoint("multicast", FaultRule::new().latency(Duration::from_millis(400))),
    )
    .await;
    let e2 = emulator(
        2,
        6,
        None,
        FaultConfig::none().with_endpoint("multicast", FaultRule::new().latency(Duration::from_millis(400))),
    )
    .await;
    let emus = [&e1, &e2];
    let accounts = accounts_on(&emus, RetryPolicy::none()).await;
    let campaign = campaign_of(&emus);
    let options = SendOptions::new().chunk_size(2).chunk_concurrency(1);
    let (_, _, plan) = planned(&campaign, &accounts, &options).await;
    let store = Arc::new(InMemoryBulkStore::new());
    let task = {
        let (accounts, campaign, store) = (accounts.clone(), campaign.clone(), store.clone());
        tokio::spawn(async move { campaign.send(&accounts, &*store, "r", &plan, &options).await })
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while e1.delivered_count() < 2 {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    accounts.remove(&id(1)).await.unwrap().unwrap();
    let report = task.await.unwrap().unwrap();
    let a1 = report.get(&id(1)).unwrap();
    assert_eq!(a1.skipped, Some(SkipReason::Removed));
    assert_eq!(a1.status(), AccountStatus::Skipped);
    assert!(a1.sent >= 2 && a1.sent < 6, "{a1:?}");
    assert_eq!(a1.sent + a1.skipped_recipients, 6);
    assert_eq!(
        a1.failed_recipients, 0,
        "nothing of the removed account reached LINE and failed"
    );
    assert_eq!(e1.delivered_count() as u64, a1.sent);
    assert_eq!(status_of(&report, 2), AccountStatus::Sent);
    each_got(&e2, 1);

    // Back in the registry, a resumed run sends the rest, and nobody gets two.
    accounts.add(account(1, money_plan())).await.unwrap();
    let report = campaign.resume(&accounts, &*store, "r", &options).await.unwrap();
    assert!(report.is_complete(), "{report:?}");
    each_got(&e1, 1);
    each_got(&e2, 1);
}

#[tokio::test]
async fn an_account_removed_before_the_send_is_skipped() {
    let e1 = emulator(1, 2, None, FaultConfig::none()).await;
    let e2 = emulator(2, 2, None, FaultConfig::none()).await;
    let accounts = accounts_on(&[&e1, &e2], RetryPolicy::none()).await;
    let campaign = campaign_of(&[&e1, &e2]);
    let options = SendOptions::new();
    let (_, _, plan) = planned(&campaign, &accounts, &options).await;
    accounts.remove(&id(2)).await.unwrap();
    let report = campaign
        .send(&accounts, &InMemoryBulkStore::new(), "r", &plan, &options)
        .await
        .unwrap();
    assert_eq!(report.get(&id(2)).unwrap().skipped, Some(SkipReason::Removed));
    assert_eq!(report.get(&id(2)).unwrap().skipped_recipients, 2);
    assert_eq!(e2.delivered_count(), 0);
    each_got(&e1, 1);
}

#[tokio::test]
async fn a_run_resumes_only_with_its_own_campaign() {
    let e1 = emulator(1, 2, None, FaultConfig::none()).await;
    let accounts = accounts_on(&[&e1], RetryPolicy::none()).await;
    let campaign = campaign_of(&[&e1]);
    let options = SendOptions::new();
    let (_, _, plan) = planned(&campaign, &accounts, &options).await;
    let store = InMemoryBulkStore::new();
    campaign.send(&accounts, &store, "r", &plan, &options).await.unwrap();
    let other = Campaign::new(vec![TextMessage::new("Another sale").into()])
        .unwrap()
        .to_users(id(1), e1.follower_ids())
        .unwrap();
    assert_ne!(other.digest(), campaign.digest());
    let err = other.resume(&accounts, &store, "r", &options).await.unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::InvalidCampaign { field, .. } if field == "run"),
        "{err}"
    );
    let err = other.send(&accounts, &store, "r", &plan, &options).await.unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::InvalidCampaign { .. }), "{err}");
    let err = campaign.resume(&accounts, &store, "nope", &options).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid campaign, field `run`: no run \"nope\" in the store"
    );
    // Sending the same run again sends nothing new.
    let report = campaign.send(&accounts, &store, "r", &plan, &options).await.unwrap();
    assert!(report.is_complete());
    assert_eq!(e1.calls("multicast"), 1);
    each_got(&e1, 1);
}

#[test]
fn campaign_files_are_read_and_errors_name_the_json_pointer() {
    let ok = br#"{"messages": [{"type": "text", "text": "hi"}],
        "audiences": {"1650000001": {"user_ids": ["U1", "U2", "U1"]}, "1650000002": {"audience_group_id": 7}}}"#;
    let c = Campaign::from_json(ok).unwrap();
    assert_eq!(c.audiences().count(), 2);
    assert_eq!(
        c.audience(&ChannelId::new("1650000001").unwrap())
            .and_then(|a| a.recipients()),
        Some(2)
    );
    for (doc, message) in [
        (
            &br#"{"messages": [{"type": "text", "text": "hi"}], "audiences": {"16x": {"user_ids": ["U1"]}}}"#[..],
            "invalid campaign, field `/audiences/16x`: a channel ID is 1 to 20 digits",
        ),
        (
            br#"{"messages": [{"type": "text", "text": "hi"}], "audiences": {"1": {"user_ids": ["U1", ""]}}}"#,
            "invalid campaign, field `/audiences/1/user_ids/1`: a user ID is empty",
        ),
        (
            br#"{"messages": [{"type": "text", "text": "hi"}], "audiences": {"1": {"user_ids": ["U1"], "audience_group_id": 3}}}"#,
            "invalid campaign, field `/audiences/1`: exactly one of `user_ids` and `audience_group_id` is needed",
        ),
        (
            br#"{"messages": [{"type": "text", "text": "hi"}], "audiences": {"1": {"audience_group_id": 0}}}"#,
            "invalid campaign, field `/audiences/1/audience_group_id`: must be a positive number",
        ),
        (
            br#"{"messages": [{"type": "text", "text": "hi"}], "audiences": {}}"#,
            "invalid campaign, field `/audiences`: no accounts",
        ),
    ] {
        assert_eq!(Campaign::from_json(doc).unwrap_err().to_string(), message);
    }
    let err = Campaign::from_json(br#"{"messages": [], "audiences": {"1": {"user_ids": 5}}}"#).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::InvalidCampaign { field, .. } if field == "/audiences/1/user_ids"),
        "{err}"
    );
    let err = Campaign::from_json(br#"{"messages": [{"type": "text", "text": "hi"}], "extra": 1}"#).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::InvalidCampaign { .. }), "{err}");
}

#[tokio::test]
async fn the_in_memory_bulk_store_passes_the_conformance_suite() {
    let clock = line_core::clock::ManualClock::new(jiff::Timestamp::UNIX_EPOCH);
    line_accounts::testing::bulk_store_conformance(Arc::new(InMemoryBulkStore::new()), &clock).await;
}

#[tokio::test]
async fn an_account_that_reaches_the_monthly_limit_stops_and_says_so() {
    let e1 = emulator(1, 5, Some(5), FaultConfig::none()).await;
    let e2 = emulator(2, 2, None, FaultConfig::none()).await;
    let accounts = accounts_on(&[&e1, &e2], RetryPolicy::none()).await;
    let campaign = campaign_of(&[&e1, &e2]);
    let options = SendOptions::new().chunk_size(2).chunk_concurrency(1);
    let (dry, _, plan) = planned(&campaign, &accounts, &options).await;
    assert!(dry.get(&id(1)).unwrap().outcome.is_ready());
    // Another sender uses 2 of the 5 messages between the dry run and the send.
    let other = e1.client_builder().build().unwrap();
    for u in &e1.follower_ids()[..2] {
        other
            .push_message(line_core::model::PushMessageRequest::new(u.as_str(), hello()))
            .await
            .unwrap();
    }
    let report = campaign
        .send(&accounts, &InMemoryBulkStore::new(), "r", &plan, &options)
        .await
        .unwrap();
    let a1 = report.get(&id(1)).unwrap();
    assert_eq!(a1.skipped, Some(SkipReason::MonthlyLimitReached));
    assert_eq!((a1.sent, a1.failed_recipients, a1.skipped_recipients), (2, 2, 1));
    assert_eq!(a1.failed[0].status, Some(429));
    assert_eq!(e1.calls("multicast"), 2, "the chunk after the limit was not sent");
    assert_eq!(status_of(&report, 2), AccountStatus::Sent);
}

#[tokio::test]
async fn each_account_is_paced_by_its_own_rate_limiter() {
    use line_core::ratelimit::{Quota, RateClass, RateLimiter};
    let e1 = emulator(1, 6, None, FaultConfig::none()).await;
    let e2 = emulator(2, 2, None, FaultConfig::none()).await;
    let urls = HashMap::from([(id(1), e1.base_url().to_owned()), (id(2), e2.base_url().to_owned())]);
    // One multicast every 2 seconds, per account: account 1's three chunks take 4 s.
    let accounts = Accounts::builder(Arc::new(InMemoryRegistry::new()))
        .configure_clients(move |b, account| {
            let limiter =
                RateLimiter::line_defaults().with_quota(RateClass::Multicast, Quota::new(1, Duration::from_secs(2)));
            b.base_url(urls[&account.channel_id].clone())
                .retry_policy(RetryPolicy::none())
                .rate_limiter(limiter)
        })
        .build()
        .unwrap();
    for i in 1..=2 {
        accounts.add(account(i, money_plan())).await.unwrap();
    }
    let campaign = campaign_of(&[&e1, &e2]);
    let options = SendOptions::new().chunk_size(2);
    let (_, _, plan) = planned(&campaign, &accounts, &options).await;
    let task = {
        let (accounts, campaign) = (accounts.clone(), campaign.clone());
        tokio::spawn(async move {
            campaign
                .send(&accounts, &InMemoryBulkStore::new(), "r", &plan, &options)
                .await
        })
    };
    let deadline = Instant::now() + Duration::from_millis(3_500);
    while e2.delivered_count() < 2 {
        assert!(Instant::now() < deadline, "account 2 waited on account 1's budget");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(e1.delivered_count() < 6, "account 1 is still paced by its own limiter");
    let report = task.await.unwrap().unwrap();
    assert!(report.is_complete());
    each_got(&e1, 1);
    each_got(&e2, 1);
}

/// A store whose `reserve_chunks` fails for one channel.
#[derive(Debug)]
struct FailsFor(Arc<dyn BulkStore>, ChannelId);

#[async_trait]
impl BulkStore for FailsFor {
    async fn begin_run(&self, run: &str, plan: &RunPlan) -> Result<RunPlan, line_accounts::Error> {
        self.0.begin_run(run, plan).await
    }
    async fn run_plan(&self, run: &str) -> Result<Option<RunPlan>, line_accounts::Error> {
        self.0.run_plan(run).await
    }
    async fn runs(&self) -> Result<Vec<String>, line_accounts::Error> {
        self.0.runs().await
    }
    async fn set_skip(&self, run: &str, c: &ChannelId, s: Option<&SkipReason>) -> Result<(), line_accounts::Error> {
        self.0.set_skip(run, c, s).await
    }
    async fn reserve_chunks(
        &self,
        run: &str,
        c: &ChannelId,
        proposed: &[(u32, RetryKey)],
    ) -> Result<Vec<Chunk>, line_accounts::Error> {
        if c == &self.1 {
            return Err(line_accounts::Error::store(
                "reserve_chunks",
                std::io::Error::other("disk full"),
            ));
        }
        self.0.reserve_chunks(run, c, proposed).await
    }
    async fn record_outcome(
        &self,
        run: &str,
        c: &ChannelId,
        index: u32,
        outcome: &ChunkOutcome,
    ) -> Result<(), line_accounts::Error> {
        self.0.record_outcome(run, c, index, outcome).await
    }
    async fn chunks(&self, run: &str) -> Result<Vec<Chunk>, line_accounts::Error> {
        self.0.chunks(run).await
    }
    async fn forget_run(&self, run: &str) -> Result<(), line_accounts::Error> {
        self.0.forget_run(run).await
    }
}

#[tokio::test]
async fn a_store_failure_for_one_account_sends_nothing_for_it_and_the_rest_continue() {
    let e1 = emulator(1, 3, None, FaultConfig::none()).await;
    let e2 = emulator(2, 3, None, FaultConfig::none()).await;
    let accounts = accounts_on(&[&e1, &e2], RetryPolicy::none()).await;
    let campaign = campaign_of(&[&e1, &e2]);
    let options = SendOptions::new();
    let (_, _, plan) = planned(&campaign, &accounts, &options).await;
    let inner: Arc<dyn BulkStore> = Arc::new(InMemoryBulkStore::new());
    let store = FailsFor(Arc::clone(&inner), id(1));
    let report = campaign.send(&accounts, &store, "r", &plan, &options).await.unwrap();
    let a1 = report.get(&id(1)).unwrap();
    assert_eq!(a1.status(), AccountStatus::Incomplete);
    assert_eq!((a1.sent, a1.pending_recipients), (0, 3));
    let error = a1.error.as_deref().unwrap();
    assert!(
        error.contains("reserve_chunks") && error.contains("disk full"),
        "{error}"
    );
    assert_eq!(e1.delivered_count(), 0, "no call without a stored key");
    assert_eq!(status_of(&report, 2), AccountStatus::Sent);
    // With the store working again, the run finishes.
    let report = campaign.resume(&accounts, &*inner, "r", &options).await.unwrap();
    assert!(report.is_complete());
    each_got(&e1, 1);
    each_got(&e2, 1);
}

/// A store that records the order in which accounts begin sending.
#[derive(Debug)]
struct Order(InMemoryBulkStore, std::sync::Mutex<Vec<ChannelId>>);

#[async_trait]
impl BulkStore for Order {
    async fn begin_run(&self, run: &str, plan: &RunPlan) -> Result<RunPlan, line_accounts::Error> {
        self.0.begin_run(run, plan).await
    }
    async fn run_plan(&self, run: &str) -> Result<Option<RunPlan>, line_accounts::Error> {
        self.0.run_plan(run).await
    }
    async fn runs(&self) -> Result<Vec<String>, line_accounts::Error> {
        self.0.runs().await
    }
    async fn set_skip(&self, run: &str, c: &ChannelId, s: Option<&SkipReason>) -> Result<(), line_accounts::Error> {
        self.0.set_skip(run, c, s).await
    }
    async fn reserve_chunks(
        &self,
        run: &str,
        c: &ChannelId,
        proposed: &[(u32, RetryKey)],
    ) -> Result<Vec<Chunk>, line_accounts::Error> {
        self.1.lock().unwrap().push(c.clone());
        self.0.reserve_chunks(run, c, proposed).await
    }
    async fn record_outcome(
        &self,
        run: &str,
        c: &ChannelId,
        index: u32,
        outcome: &ChunkOutcome,
    ) -> Result<(), line_accounts::Error> {
        self.0.record_outcome(run, c, index, outcome).await
    }
    async fn chunks(&self, run: &str) -> Result<Vec<Chunk>, line_accounts::Error> {
        self.0.chunks(run).await
    }
    async fn forget_run(&self, run: &str) -> Result<(), line_accounts::Error> {
        self.0.forget_run(run).await
    }
}

#[tokio::test]
async fn the_accounts_that_take_longest_at_their_rate_limit_start_first() {
    use line_core::ratelimit::{Quota, RateClass, RateLimiter};
    // 1: one chunk; 2: two chunks at LINE's multicast rate; 3: two chunks, one
    // multicast per 300 ms (the longest); 4: three chunks at LINE's rate.
    let e1 = emulator(1, 2, None, FaultConfig::none()).await;
    let e2 = emulator(2, 4, None, FaultConfig::none()).await;
    let e3 = emulator(3, 4, None, FaultConfig::none()).await;
    let e4 = emulator(4, 6, None, FaultConfig::none()).await;
    let emus = [&e1, &e2, &e3, &e4];
    let urls: HashMap<ChannelId, String> = emus
        .iter()
        .enumerate()
        .map(|(i, e)| (id(i as u32 + 1), e.base_url().to_owned()))
        .collect();
    let accounts = Accounts::builder(Arc::new(InMemoryRegistry::new()))
        .configure_clients(move |b, account| {
            let mut limiter = RateLimiter::line_defaults();
            if account.channel_id == id(3) {
                limiter = limiter.with_quota(RateClass::Multicast, Quota::new(1, Duration::from_millis(300)));
            }
            b.base_url(urls[&account.channel_id].clone())
                .retry_policy(RetryPolicy::none())
                .rate_limiter(limiter)
        })
        .build()
        .unwrap();
    for i in 1..=4 {
        accounts.add(account(i, money_plan())).await.unwrap();
    }
    let campaign = campaign_of(&emus);
    let options = SendOptions::new().chunk_size(2).concurrency(1);
    let (_, _, plan) = planned(&campaign, &accounts, &options).await;
    let store = Order(InMemoryBulkStore::new(), Default::default());
    let report = campaign.send(&accounts, &store, "r", &plan, &options).await.unwrap();
    assert!(report.is_complete());
    // Longest at its rate first (3: 300 ms), then by calls (4: three, 2: two, 1: one).
    assert_eq!(*store.1.lock().unwrap(), [id(3), id(4), id(2), id(1)]);
    for e in emus {
        each_got(e, 1);
    }
}

/// An audience of the first `n` followers of `accounts`' channel `i`, made on
/// its emulator; its group ID.
async fn audience_of(accounts: &Accounts, emu: &Emulator, i: u32, n: usize) -> (i64, Vec<UserId>) {
    let members: Vec<UserId> = emu.follower_ids().into_iter().take(n).collect();
    let mut req = CreateAudienceGroupRequest::new();
    req.description = Some("bulk test audience".into());
    req.audiences = Some(
        members
            .iter()
            .map(|u| {
                let mut a = AudienceId::new();
                a.id = Some(u.as_str().to_owned());
                a
            })
            .collect(),
    );
    let handle = accounts.get(&id(i)).await.unwrap();
    let group = handle
        .client()
        .create_audience_group(&req)
        .await
        .unwrap()
        .into_body()
        .audience_group_id
        .unwrap();
    (group, members)
}

#[tokio::test]
async fn a_narrowcast_still_sending_is_pending_and_a_resume_reports_lines_counts_without_sending_again() {
    let clock = Arc::new(ManualClock::new(jiff::Timestamp::now()));
    let e1 = Emulator::start_with(
        EmulatorConfig::new()
            .seed(11)
            .friends(60)
            .rate_limits(false)
            .clock(clock.clone())
            .job_delay(Duration::from_secs(600)),
    )
    .await
    .unwrap();
    let accounts = accounts_on(&[&e1], RetryPolicy::none()).await;
    let (group, members) = audience_of(&accounts, &e1, 1, 52).await;
    let campaign = Campaign::new(hello()).unwrap().to_audience(id(1), group).unwrap();
    // Three looks at most within the wait: 20, then 40 ms apart.
    let options = SendOptions::new()
        .narrowcast_wait(Duration::from_millis(100))
        .narrowcast_poll(Duration::from_millis(20));
    let (_, _, plan) = planned(&campaign, &accounts, &options).await;
    let store = InMemoryBulkStore::new();
    let report = campaign.send(&accounts, &store, "nc", &plan, &options).await.unwrap();
    let s = report.get(&id(1)).unwrap();
    assert!(
        matches!(&s.narrowcast, Some(NarrowcastOutcome::InProgress { phase, .. }) if phase == "waiting"),
        "{:?}",
        s.narrowcast
    );
    assert_eq!(
        (s.status(), s.sent, s.pending_recipients),
        (AccountStatus::Incomplete, 0, 52)
    );
    let looks = e1.calls("getNarrowcastProgress");
    assert!((2..=4).contains(&looks), "{looks} looks");
    assert_eq!(e1.delivered_count(), 0);

    // LINE finishes; a resume looks again and sends nothing.
    clock.advance(jiff::SignedDuration::from_secs(601));
    let report = campaign.resume(&accounts, &store, "nc", &options).await.unwrap();
    let s = report.get(&id(1)).unwrap();
    assert!(
        matches!(
            &s.narrowcast,
            Some(NarrowcastOutcome::Succeeded {
                success: 52,
                failure: 0,
                ..
            })
        ),
        "{:?}",
        s.narrowcast
    );
    assert_eq!((s.status(), s.sent, s.pending_recipients), (AccountStatus::Sent, 52, 0));
    assert_eq!(e1.calls("narrowcast"), 1);
    for u in &members {
        assert_eq!(e1.messages(u).len(), 1);
    }
    assert_eq!(e1.delivered_count(), 52);
}

#[tokio::test]
async fn a_narrowcast_line_fails_is_reported_failed_with_lines_error_code() {
    let e1 = emulator(1, 60, None, FaultConfig::none()).await;
    let accounts = accounts_on(&[&e1], RetryPolicy::none()).await;
    // Fewer than 50 members: LINE accepts the narrowcast, then fails it (code 4).
    let (group, _) = audience_of(&accounts, &e1, 1, 10).await;
    let campaign = Campaign::new(hello()).unwrap().to_audience(id(1), group).unwrap();
    let options = SendOptions::new().narrowcast_poll(Duration::from_millis(10));
    let (_, _, plan) = planned(&campaign, &accounts, &options).await;
    let report = campaign
        .send(&accounts, &InMemoryBulkStore::new(), "small", &plan, &options)
        .await
        .unwrap();
    let s = report.get(&id(1)).unwrap();
    assert!(
        matches!(
            &s.narrowcast,
            Some(NarrowcastOutcome::Failed {
                error_code: Some(4),
                ..
            })
        ),
        "{:?}",
        s.narrowcast
    );
    assert_eq!(
        (s.status(), s.sent, s.failed_recipients),
        (AccountStatus::Incomplete, 0, 10)
    );
    assert!(s.failed[0].error.contains("error code 4"), "{}", s.failed[0].error);
    assert_eq!(e1.delivered_count(), 0);
}

#[tokio::test]
async fn a_chunk_whose_call_times_out_is_unknown_and_a_resume_sends_it_once() {
    // Every multicast answers after 2 s; the chunks' calls give up after 200 ms.
    let e1 = emulator(
        1,
        5,
        None,
        FaultConfig::none().with_endpoint("multicast", FaultRule::new().latency(Duration::from_secs(2))),
    )
    .await;
    let accounts = accounts_on(&[&e1], RetryPolicy::none()).await;
    let campaign = campaign_of(&[&e1]);
    let options = SendOptions::new()
        .chunk_size(2)
        .request_timeout(Duration::from_millis(200));
    let (_, _, plan) = planned(&campaign, &accounts, &options).await;
    let store = InMemoryBulkStore::new();
    let started = Instant::now();
    let report = campaign.send(&accounts, &store, "t", &plan, &options).await.unwrap();
    assert!(
        started.elapsed() < Duration::from_millis(1_900),
        "{:?}",
        started.elapsed()
    );
    let a = report.get(&id(1)).unwrap();
    assert_eq!(a.status(), AccountStatus::Incomplete);
    assert_eq!((a.sent, a.failed_recipients, a.unknown_recipients), (0, 0, 5));
    assert_eq!(a.unknown.len(), 3);
    assert!(
        a.unknown.iter().all(|c| c.error.contains("timed out")),
        "{:?}",
        a.unknown
    );
    assert_eq!(report.totals.unknown, 5);
    let stored = store.chunks("t").await.unwrap();
    assert!(stored
        .iter()
        .all(|c| matches!(c.outcome, Some(ChunkOutcome::Unknown { .. }))));
    let keys: Vec<RetryKey> = stored.iter().map(|c| c.retry_key).collect();

    // LINE answers in time again: the resume resends each chunk with its key.
    e1.set_faults(FaultConfig::none()).unwrap();
    let report = campaign.resume(&accounts, &store, "t", &options).await.unwrap();
    assert!(report.is_complete(), "{report:?}");
    let a = report.get(&id(1)).unwrap();
    assert_eq!((a.sent, a.unknown_recipients), (5, 0));
    let again: Vec<RetryKey> = store.chunks("t").await.unwrap().iter().map(|c| c.retry_key).collect();
    assert_eq!(keys, again);
    each_got(&e1, 1);
}

#[tokio::test]
async fn a_chunk_whose_answer_is_lost_is_unknown_and_the_resume_counts_lines_409_as_sent() {
    let e1 = emulator(
        1,
        6,
        None,
        FaultConfig::none().with_endpoint("multicast", FaultRule::new().lost_response_rate(1.0)),
    )
    .await;
    let accounts = accounts_on(&[&e1], RetryPolicy::none()).await;
    let campaign = campaign_of(&[&e1]);
    let options = SendOptions::new().chunk_size(4);
    let (_, _, plan) = planned(&campaign, &accounts, &options).await;
    let store = InMemoryBulkStore::new();
    let report = campaign.send(&accounts, &store, "l", &plan, &options).await.unwrap();
    let a = report.get(&id(1)).unwrap();
    assert_eq!((a.sent, a.failed_recipients, a.unknown_recipients), (0, 0, 6));
    assert_eq!(a.status(), AccountStatus::Incomplete);
    // LINE took both chunks; their answers were lost.
    each_got(&e1, 1);
    e1.set_faults(FaultConfig::none()).unwrap();
    let report = campaign.resume(&accounts, &store, "l", &options).await.unwrap();
    assert!(report.is_complete(), "{report:?}");
    let a = report.get(&id(1)).unwrap();
    assert_eq!((a.sent, a.accepted_earlier, a.unknown_recipients), (6, 6, 0));
    assert_eq!(e1.calls("multicast"), 4);
    each_got(&e1, 1);
}

#[tokio::test]
async fn every_accounts_calls_share_one_bound_on_calls_in_flight() {
    let slow = || FaultConfig::none().with_endpoint("multicast", FaultRule::new().latency(Duration::from_millis(400)));
    let (e1, e2, e3) = (
        emulator(1, 3, None, slow()).await,
        emulator(2, 3, None, slow()).await,
        emulator(3, 3, None, slow()).await,
    );
    let emus = [&e1, &e2, &e3];
    let urls: HashMap<ChannelId, String> = emus
        .iter()
        .enumerate()
        .map(|(i, e)| (id(i as u32 + 1), e.base_url().to_owned()))
        .collect();
    let accounts = Accounts::builder(Arc::new(InMemoryRegistry::new()))
        .max_in_flight(1)
        .configure_clients(move |b, account| {
            b.retry_policy(RetryPolicy::none())
                .base_url(urls[&account.channel_id].clone())
        })
        .build()
        .unwrap();
    for i in 1..=3 {
        accounts.add(account(i, money_plan())).await.unwrap();
    }
    assert_eq!(accounts.in_flight().max(), 1);
    let campaign = campaign_of(&emus);
    let options = SendOptions::new().concurrency(3);
    let (_, _, plan) = planned(&campaign, &accounts, &options).await;
    let send = {
        let (campaign, accounts, plan) = (campaign.clone(), accounts.clone(), plan.clone());
        tokio::spawn(async move {
            campaign
                .send(&accounts, &InMemoryBulkStore::new(), "f", &plan, &options)
                .await
        })
    };
    // Three accounts sending at once, one call in flight among them: once the
    // first call arrived (it is answered 400 ms later), no other has.
    let calls = |es: &[&Emulator]| es.iter().map(|e| e.calls("multicast")).sum::<u64>();
    let waited = Instant::now();
    while calls(&emus) == 0 && waited.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(calls(&emus), 1);
    assert_eq!(accounts.in_flight().in_flight(), 1);
    let report = send.await.unwrap().unwrap();
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(calls(&emus), 3);
    for e in emus {
        each_got(e, 1);
    }
}
