//! Campaign dry runs across accounts, each account on an emulator of its own
//! (the emulator keeps one channel's friends and quota per server).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use line_accounts::bulk::{
    AccountFailure, ApprovalGate, AutoApprove, Campaign, Decision, DryRunOptions, DryRunOutcome, DryRunReport, Quota,
    Refusal, YenLimit,
};
use line_accounts::{
    Account, Accounts, BotUserId, ChannelId, ErrorKind, InMemoryRegistry, MessagePlan, Settings, TokenConfig,
};
use line_core::model::{Message, PushMessageRequest, TextMessage};
use line_core::retry::RetryPolicy;
use line_core::UserId;
use line_emulator::faults::{FaultConfig, FaultRule};
use line_emulator::{Emulator, EmulatorConfig};

fn id(i: u32) -> ChannelId {
    ChannelId::new(format!("17000000{i:02}")).unwrap()
}

fn token(i: u32) -> String {
    format!("static-token-{i}-do-not-print")
}

fn account(i: u32, plan: MessagePlan) -> Account {
    Account::new(
        id(i),
        BotUserId::new(format!("U{:032x}", u128::from(i) + 0x2000)).unwrap(),
        format!("{:032x}", u128::from(i) + 0xdef).into(),
        TokenConfig::Static(token(i).into()),
        Settings::new("Asia/Tokyo", plan).unwrap(),
    )
    .unwrap()
}

async fn emulator(quota: Option<u64>, faults: FaultConfig) -> Emulator {
    Emulator::start_with(
        EmulatorConfig::new()
            .friends(3)
            .rate_limits(false)
            .monthly_quota(quota)
            .faults(faults),
    )
    .await
    .unwrap()
}

/// A URL where nothing listens.
async fn closed_port() -> String {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    format!("http://{addr}")
}

/// Accounts whose clients each call their own base URL (no retries, so a
/// failing account fails at once).
async fn accounts(urls: HashMap<ChannelId, String>, list: Vec<Account>) -> Accounts {
    let accounts = Accounts::builder(Arc::new(InMemoryRegistry::new()))
        .configure_clients(move |b, account| {
            let b = b.retry_policy(RetryPolicy::none());
            match urls.get(&account.channel_id) {
                Some(url) => b.base_url(url.clone()),
                None => b,
            }
        })
        .build()
        .unwrap();
    for a in list {
        accounts.add(a).await.unwrap();
    }
    accounts
}

fn hello() -> Vec<Message> {
    vec![TextMessage::new("Sale starts now").into()]
}

async fn push_one(emu: &Emulator) {
    let client = emu.client_builder().build().unwrap();
    let to = emu.follower_ids()[0].clone();
    client
        .push_message(PushMessageRequest::new(to.as_str(), hello()))
        .await
        .unwrap();
}

/// Four accounts:
/// 1. quota 1,000 with 1 used; plan 200 free → ready, free;
/// 2. quota 2 with 1 used; 3 recipients → refused by quota;
/// 3. no quota; plan 1 free at 5 yen → ready, 2 additional = 10 yen;
/// 4. nothing listens → failed.
struct World {
    emus: Vec<Emulator>,
    accounts: Accounts,
    campaign: Campaign,
}

async fn world(messages: Vec<Message>) -> World {
    let e1 = emulator(Some(1_000), FaultConfig::none()).await;
    let e2 = emulator(Some(2), FaultConfig::none()).await;
    let e3 = emulator(None, FaultConfig::none()).await;
    push_one(&e1).await;
    push_one(&e2).await;
    let closed = closed_port().await;
    let urls = HashMap::from([
        (id(1), e1.base_url().to_owned()),
        (id(2), e2.base_url().to_owned()),
        (id(3), e3.base_url().to_owned()),
        (id(4), closed),
    ]);
    let accounts = accounts(
        urls,
        vec![
            account(1, MessagePlan::new(200, Some(3.0)).unwrap()),
            account(2, MessagePlan::new(200, None).unwrap()),
            account(3, MessagePlan::new(1, Some(5.0)).unwrap()),
            account(4, MessagePlan::new(200, None).unwrap()),
        ],
    )
    .await;
    let mut campaign = Campaign::new(messages).unwrap();
    for (i, e) in [(1, &e1), (2, &e2), (3, &e3)] {
        campaign = campaign.to_users(id(i), e.follower_ids()).unwrap();
    }
    campaign = campaign.to_users(id(4), ["U00000000000000000000000000000004"]).unwrap();
    World {
        emus: vec![e1, e2, e3],
        accounts,
        campaign,
    }
}

#[tokio::test]
async fn dry_run_checks_each_account_and_refuses_over_quota_with_the_numbers() {
    let w = world(hello()).await;
    let report = w
        .campaign
        .dry_run(&w.accounts, &DryRunOptions::new().timeout(Duration::from_secs(10)))
        .await;
    assert_eq!(report.accounts.len(), 4);

    let a1 = report.get(&id(1)).unwrap();
    assert!(a1.outcome.is_ready(), "{:?}", a1.outcome);
    assert_eq!(a1.recipients, 3);
    let q1 = a1.quota.unwrap();
    assert_eq!((q1.limit, q1.used, q1.remaining()), (Some(1_000), 1, Some(999)));
    let c1 = a1.cost.unwrap();
    assert_eq!((c1.free, c1.additional, c1.yen), (3, 0, Some(0.0)));

    let a2 = report.get(&id(2)).unwrap();
    match &a2.outcome {
        DryRunOutcome::Refused(
            r @ Refusal::QuotaExceeded {
                recipients,
                limit,
                used,
                remaining,
            },
        ) => {
            assert_eq!((*recipients, *limit, *used, *remaining), (3, 2, 1, 1));
            assert_eq!(
                r.to_string(),
                "3 messages exceed the quota: 1 of 2 used this month, 1 left"
            );
        }
        other => panic!("account 2: {other:?}"),
    }

    let a3 = report.get(&id(3)).unwrap();
    assert!(a3.outcome.is_ready(), "{:?}", a3.outcome);
    assert_eq!(a3.quota.map(|q| (q.limit, q.remaining())), Some((None, None)));
    let c3 = a3.cost.unwrap();
    assert_eq!((c3.free, c3.additional, c3.yen), (1, 2, Some(10.0)));

    let a4 = report.get(&id(4)).unwrap();
    assert!(
        matches!(&a4.outcome, DryRunOutcome::Failed(AccountFailure::Api(_))),
        "{:?}",
        a4.outcome
    );
    assert_eq!(a4.quota, None);
    assert_eq!(a4.cost, None);

    // Each reachable account was validated with the endpoint of its send, and nothing was sent.
    for e in &w.emus {
        assert_eq!(e.calls("validateMulticast"), 1);
        assert_eq!(e.calls("multicast"), 0);
        assert_eq!(e.calls("getMessageQuota"), 1);
        assert_eq!(e.calls("getMessageQuotaConsumption"), 1);
    }
    assert_eq!(w.emus[0].quota_consumption(), 1);

    let t = report.totals;
    assert_eq!((t.accounts, t.ready, t.refused, t.failed), (4, 2, 1, 1));
    assert_eq!(t.recipients, 6);
    assert_eq!((t.quota.used, t.quota.limit, t.quota.remaining), (2, 1_002, 1_000));
    assert_eq!((t.quota.unlimited, t.quota.unknown), (1, 1));
    assert_eq!((t.free, t.additional, t.yen), (4, 2, 10.0));
}

#[tokio::test]
async fn one_recipient_is_validated_as_a_push() {
    let e = emulator(None, FaultConfig::none()).await;
    let accounts = accounts(
        HashMap::from([(id(1), e.base_url().to_owned())]),
        vec![account(1, MessagePlan::new(200, None).unwrap())],
    )
    .await;
    let campaign = Campaign::new(hello())
        .unwrap()
        .to_users(id(1), [e.follower_ids()[0].clone(), e.follower_ids()[0].clone()])
        .unwrap();
    let report = campaign.dry_run(&accounts, &DryRunOptions::new()).await;
    assert_eq!(report.get(&id(1)).unwrap().recipients, 1);
    assert!(report.get(&id(1)).unwrap().outcome.is_ready());
    assert_eq!((e.calls("validatePush"), e.calls("validateMulticast")), (1, 0));
}

#[tokio::test]
async fn messages_line_rejects_are_refused_on_every_account_with_lines_details() {
    let w = world(vec![TextMessage::new("x".repeat(5_001)).into()]).await;
    let report = w.campaign.dry_run(&w.accounts, &DryRunOptions::new()).await;
    for i in 1..=3 {
        match &report.get(&id(i)).unwrap().outcome {
            DryRunOutcome::Refused(Refusal::InvalidMessages(e)) => {
                assert_eq!(e.status(), Some(400));
                assert!(e.to_string().contains("messages[0].text"), "{e}");
            }
            other => panic!("account {i}: {other:?}"),
        }
    }
    assert_eq!(report.totals.ready, 0);
    assert_eq!(report.totals.yen, 0.0);
}

#[tokio::test]
async fn a_plan_without_additional_messages_refuses_a_send_past_the_free_ones() {
    let e = emulator(None, FaultConfig::none()).await;
    let accounts = accounts(
        HashMap::from([(id(1), e.base_url().to_owned())]),
        vec![account(1, MessagePlan::new(2, None).unwrap())],
    )
    .await;
    let campaign = Campaign::new(hello())
        .unwrap()
        .to_users(id(1), e.follower_ids())
        .unwrap();
    let report = campaign.dry_run(&accounts, &DryRunOptions::new()).await;
    match &report.get(&id(1)).unwrap().outcome {
        DryRunOutcome::Refused(Refusal::PlanExceeded {
            recipients,
            free_left,
            additional,
        }) => assert_eq!((*recipients, *free_left, *additional), (3, 2, 1)),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_slow_account_times_out_alone_under_a_concurrency_bound_of_one() {
    let slow = emulator(
        None,
        FaultConfig::none().with_endpoint("getMessageQuota", FaultRule::new().latency(Duration::from_secs(20))),
    )
    .await;
    let fast1 = emulator(Some(100), FaultConfig::none()).await;
    let fast2 = emulator(Some(100), FaultConfig::none()).await;
    let accounts = accounts(
        HashMap::from([
            (id(1), slow.base_url().to_owned()),
            (id(2), fast1.base_url().to_owned()),
            (id(3), fast2.base_url().to_owned()),
        ]),
        (1..=3)
            .map(|i| account(i, MessagePlan::new(200, None).unwrap()))
            .collect(),
    )
    .await;
    let mut campaign = Campaign::new(hello()).unwrap();
    for (i, e) in [(1, &slow), (2, &fast1), (3, &fast2)] {
        campaign = campaign.to_users(id(i), e.follower_ids()).unwrap();
    }
    let options = DryRunOptions::new().concurrency(1).timeout(Duration::from_millis(500));
    let report = campaign.dry_run(&accounts, &options).await;
    assert!(matches!(
        report.get(&id(1)).unwrap().outcome,
        DryRunOutcome::Failed(AccountFailure::TimedOut(d)) if d == Duration::from_millis(500)
    ));
    assert!(report.get(&id(2)).unwrap().outcome.is_ready());
    assert!(report.get(&id(3)).unwrap().outcome.is_ready());
    assert_eq!(report.totals.failed, 1);
    assert_eq!(report.totals.quota.unknown, 1);
}

#[tokio::test]
async fn an_account_missing_from_the_registry_fails_alone() {
    let e = emulator(None, FaultConfig::none()).await;
    let accounts = accounts(
        HashMap::from([(id(1), e.base_url().to_owned())]),
        vec![account(1, MessagePlan::new(200, None).unwrap())],
    )
    .await;
    let campaign = Campaign::new(hello())
        .unwrap()
        .to_users(id(1), e.follower_ids())
        .unwrap()
        .to_users(id(9), ["U00000000000000000000000000000009"])
        .unwrap();
    let report = campaign.dry_run(&accounts, &DryRunOptions::new()).await;
    assert!(report.get(&id(1)).unwrap().outcome.is_ready());
    match &report.get(&id(9)).unwrap().outcome {
        DryRunOutcome::Failed(AccountFailure::Account(err)) => {
            assert_eq!(
                err.kind(),
                &ErrorKind::UnknownChannel {
                    channel_id: "1700000009".into()
                }
            )
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn bad_campaigns_are_typed_errors_naming_the_field() {
    let err = Campaign::new(vec![]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid campaign, field `messages`: 1 to 5 messages are allowed, got 0"
    );
    let six: Vec<Message> = (0..6).map(|_| TextMessage::new("hi").into()).collect();
    assert!(
        matches!(Campaign::new(six).unwrap_err().kind(), ErrorKind::InvalidCampaign { field, .. } if field == "messages")
    );
    let c = Campaign::new(hello()).unwrap();
    let err = c.clone().to_users(id(1), Vec::<UserId>::new()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid campaign, field `audiences[1700000001]`: no recipients"
    );
    let err = c.to_users(id(1), ["U1"]).unwrap().to_users(id(1), ["U2"]).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::InvalidCampaign { reason, .. } if reason.contains("already")));
}

struct Reject;

#[async_trait]
impl ApprovalGate for Reject {
    async fn review(&self, report: &DryRunReport) -> Result<Decision, line_accounts::Error> {
        Ok(Decision::Reject {
            reason: format!("{} yen is over budget", report.totals.yen),
        })
    }
}

struct Only(BTreeSet<ChannelId>);

#[async_trait]
impl ApprovalGate for Only {
    async fn review(&self, _: &DryRunReport) -> Result<Decision, line_accounts::Error> {
        Ok(Decision::ApproveSome(self.0.clone()))
    }
}

#[tokio::test]
async fn the_gate_approves_all_some_or_none_and_never_an_account_that_is_not_ready() {
    let w = world(hello()).await;
    let report = w.campaign.dry_run(&w.accounts, &DryRunOptions::new()).await;
    let gates: Vec<Arc<dyn ApprovalGate>> = vec![
        Arc::new(AutoApprove),
        Arc::new(YenLimit { max_yen: 5.0 }),
        Arc::new(Reject),
        Arc::new(Only([id(3), id(2)].into())),
    ];
    let mut results = Vec::new();
    for g in &gates {
        results.push(report.approve(g.as_ref()).await.unwrap());
    }
    let not_ready = vec![id(2), id(4)];
    assert_eq!(results[0].approved, vec![id(1), id(3)]);
    assert_eq!(results[0].not_ready, not_ready);
    // Account 3 costs 10 yen.
    assert_eq!(results[1].approved, vec![id(1)]);
    assert_eq!(results[1].not_approved, vec![id(3)]);
    assert!(results[2].approved.is_empty());
    assert_eq!(results[2].not_approved, vec![id(1), id(3)]);
    assert_eq!(results[2].rejected.as_deref(), Some("10 yen is over budget"));
    // Account 2 was refused by quota: approving it changes nothing.
    assert_eq!(results[3].approved, vec![id(3)]);
    assert_eq!(results[3].not_ready, not_ready);

    let err = report.approve(&Only([id(8)].into())).await.unwrap_err();
    assert_eq!(
        err.kind(),
        &ErrorKind::UnknownChannel {
            channel_id: "1700000008".into()
        }
    );
}

#[tokio::test]
async fn nothing_secret_is_in_the_reports_debug() {
    let w = world(hello()).await;
    let report = w.campaign.dry_run(&w.accounts, &DryRunOptions::new()).await;
    let approval = report.approve(&AutoApprove).await.unwrap();
    let text = format!("{report:?} {approval:?} {:?}", w.campaign);
    for i in 1..=4 {
        assert!(!text.contains(&token(i)), "token {i} in {text}");
        assert!(!text.contains(&format!("{:032x}", u128::from(i) + 0xdef)));
    }
    assert!(text.contains("1700000002"));
    let q: Quota = report.get(&id(1)).unwrap().quota.unwrap();
    assert!(text.contains(&format!("{q:?}")));
}

#[tokio::test]
async fn quotas_are_read_per_account_and_rolled_up_without_a_campaign() {
    let w = world(hello()).await;
    let report = line_accounts::bulk::quotas(&w.accounts, (1..=4).map(id), &DryRunOptions::new()).await;
    let got: Vec<_> = report
        .accounts
        .iter()
        .map(|a| {
            (
                a.channel_id.clone(),
                a.quota.as_ref().ok().map(|q| (q.limit, q.used, q.remaining())),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (id(1), Some((Some(1_000), 1, Some(999)))),
            (id(2), Some((Some(2), 1, Some(1)))),
            (id(3), Some((None, 0, None))),
            (id(4), None),
        ]
    );
    assert!(matches!(report.accounts[3].quota, Err(AccountFailure::Api(_))));
    let t = report.totals;
    assert_eq!(
        (t.used, t.limit, t.remaining, t.unlimited, t.unknown),
        (2, 1_002, 1_000, 1, 1)
    );
    // Reading quotas validates and sends nothing.
    for e in &w.emus {
        assert_eq!(e.calls("validateMulticast") + e.calls("multicast"), 0);
    }
}

/// A registry that counts how many lookups are in flight at once (each takes 50 ms).
#[derive(Debug, Default)]
struct Counting {
    inner: InMemoryRegistry,
    now: std::sync::atomic::AtomicUsize,
    max: std::sync::atomic::AtomicUsize,
}

#[async_trait]
impl line_accounts::AccountRegistry for Counting {
    async fn put(&self, account: Account) -> Result<Option<Account>, line_accounts::Error> {
        self.inner.put(account).await
    }
    async fn get(&self, channel_id: &ChannelId) -> Result<Option<Account>, line_accounts::Error> {
        use std::sync::atomic::Ordering::SeqCst;
        let n = self.now.fetch_add(1, SeqCst) + 1;
        self.max.fetch_max(n, SeqCst);
        tokio::time::sleep(Duration::from_millis(50)).await;
        self.now.fetch_sub(1, SeqCst);
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
async fn at_most_the_concurrency_bound_of_accounts_is_checked_at_once() {
    let e = emulator(None, FaultConfig::none()).await;
    let registry = Arc::new(Counting::default());
    let url = e.base_url().to_owned();
    let accounts = Accounts::builder(registry.clone())
        .configure_clients(move |b, _| b.base_url(url.clone()))
        .build()
        .unwrap();
    let mut campaign = Campaign::new(hello()).unwrap();
    for i in 1..=6 {
        accounts
            .add(account(i, MessagePlan::new(200, None).unwrap()))
            .await
            .unwrap();
        campaign = campaign.to_users(id(i), e.follower_ids()).unwrap();
    }
    for (bound, calls) in [(2, 6), (4, 12)] {
        registry.max.store(0, std::sync::atomic::Ordering::SeqCst);
        let report = campaign
            .dry_run(&accounts, &DryRunOptions::new().concurrency(bound))
            .await;
        assert_eq!(report.totals.ready, 6);
        assert_eq!(registry.max.load(std::sync::atomic::Ordering::SeqCst), bound);
        assert_eq!(e.calls("validateMulticast"), calls);
    }
}

struct Failing;

#[async_trait]
impl ApprovalGate for Failing {
    async fn review(&self, _: &DryRunReport) -> Result<Decision, line_accounts::Error> {
        Err(line_accounts::Error::store(
            "review",
            std::io::Error::other("review service down"),
        ))
    }
}

#[tokio::test]
async fn a_failing_gate_approves_nothing_and_its_error_is_passed_on() {
    let w = world(hello()).await;
    let report = w.campaign.dry_run(&w.accounts, &DryRunOptions::new()).await;
    let err = report.approve(&Failing).await.unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Store { operation: "review" });
}
