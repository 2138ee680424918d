//! One campaign across 1,000 channels of one emulator, with faults (500s, 429s
//! and lost responses) on 5% of them: dry run, approve all, send, and resume
//! until done as a host would. Every intended recipient ends up with exactly
//! one message in that channel's inbox, and the report's per-account counts
//! match the emulator's inboxes.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use line_accounts::bulk::{AccountStatus, AutoApprove, Campaign, DryRunOptions, InMemoryBulkStore, SendOptions};
use line_accounts::{Account, Accounts, BotUserId, ChannelId, InMemoryRegistry, MessagePlan, Settings, TokenConfig};
use line_core::model::TextMessage;
use line_core::retry::RetryPolicy;
use line_emulator::faults::{FaultConfig, FaultRule};
use line_emulator::{ChannelHandle, ChannelSpec, Emulator, EmulatorConfig};

const CHANNELS: usize = 1_000;
const FRIENDS: usize = 12;
/// Every 20th channel (5%) has faults on `multicast`.
const FAULTY_EVERY: usize = 20;

/// The faults of channel `i` (0-based): on every 20th, one kind of fault in
/// three (500s, 429s, lost responses), each at a high rate so that some chunks
/// fail even after the client's retries and need the host's resume.
fn faults_of(i: usize) -> FaultConfig {
    if !i.is_multiple_of(FAULTY_EVERY) {
        return FaultConfig::none();
    }
    let rule = match (i / FAULTY_EVERY) % 3 {
        0 => FaultRule::new().error_rate(0.6),
        1 => FaultRule::new().rate_limit_rate(0.6),
        _ => FaultRule::new().lost_response_rate(0.6),
    };
    FaultConfig::none().with_seed(i as u64).with_endpoint("multicast", rule)
}

fn account_of(channel: &ChannelHandle) -> Account {
    Account::new(
        ChannelId::new(channel.channel_id()).unwrap(),
        BotUserId::new(channel.bot_user_id()).unwrap(),
        channel.channel_secret().expose().to_owned().into(),
        TokenConfig::Static(channel.token().expose().to_owned().into()),
        Settings::new("Asia/Tokyo", MessagePlan::new(1_000, Some(3.0)).unwrap()).unwrap(),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_channels_with_faults_on_five_percent_each_recipient_gets_one_message() {
    let emu = Emulator::start_with(EmulatorConfig::new().seed(15).rate_limits(false))
        .await
        .unwrap();
    let channels: Vec<ChannelHandle> = (0..CHANNELS)
        .map(|i| {
            emu.add_channel(ChannelSpec::new().friends(FRIENDS).faults(faults_of(i)))
                .unwrap()
        })
        .collect();

    let url = emu.base_url().to_owned();
    let accounts = Accounts::builder(Arc::new(InMemoryRegistry::new()))
        .configure_clients(move |b, _| {
            b.base_url(url.clone()).retry_policy(
                RetryPolicy::default()
                    .with_max_attempts(3)
                    .with_base_delay(Duration::from_millis(2))
                    .with_max_delay(Duration::from_millis(10)),
            )
        })
        .build()
        .unwrap();
    let mut campaign = Campaign::new(vec![TextMessage::new("Autumn sale in every store").into()]).unwrap();
    for channel in &channels {
        accounts.add(account_of(channel)).await.unwrap();
        campaign = campaign
            .to_users(ChannelId::new(channel.channel_id()).unwrap(), channel.follower_ids())
            .unwrap();
    }

    // Dry run: every account is ready (the faults are on multicast only).
    let dry = campaign.dry_run(&accounts, &DryRunOptions::new().concurrency(32)).await;
    assert_eq!(dry.ready().count(), CHANNELS, "{:?}", dry.totals);
    let approval = dry.approve(&AutoApprove).await.unwrap();

    // Chunks of 5: three multicasts per account, 3,000 calls in all.
    let options = SendOptions::new().concurrency(32).chunk_size(5);
    let plan = campaign.plan(&dry, &approval, &options);
    let store = InMemoryBulkStore::new();
    let mut report = campaign
        .send(&accounts, &store, "thousand", &plan, &options)
        .await
        .unwrap();
    let first_incomplete: BTreeSet<ChannelId> = report
        .accounts
        .iter()
        .filter(|a| a.status() != AccountStatus::Sent)
        .map(|a| a.channel_id.clone())
        .collect();
    let mut resumes = 0;
    while !report.is_complete() && resumes < 20 {
        report = campaign.resume(&accounts, &store, "thousand", &options).await.unwrap();
        resumes += 1;
    }
    assert!(report.is_complete(), "after {resumes} resumes: {:?}", report.totals);

    // The faults fired, and some accounts needed the host's resume.
    let faulty: BTreeSet<ChannelId> = channels
        .iter()
        .enumerate()
        .filter(|(i, _)| i.is_multiple_of(FAULTY_EVERY))
        .map(|(_, c)| ChannelId::new(c.channel_id()).unwrap())
        .collect();
    assert_eq!(faulty.len(), CHANNELS / FAULTY_EVERY);
    let counts: Vec<_> = channels.iter().map(ChannelHandle::fault_counts).collect();
    assert!(counts.iter().map(|c| c.errors).sum::<u64>() > 0, "500s fired");
    assert!(counts.iter().map(|c| c.rate_limits).sum::<u64>() > 0, "429s fired");
    assert!(
        counts.iter().map(|c| c.lost_responses).sum::<u64>() > 0,
        "lost responses fired"
    );
    assert!(resumes > 0, "every account finished on the first run");
    assert!(
        first_incomplete.is_subset(&faulty),
        "only faulty channels were left incomplete: {:?}",
        first_incomplete.difference(&faulty).collect::<Vec<_>>()
    );
    assert!(
        report.totals.accepted_earlier > 0,
        "a lost answer's chunk was accepted earlier"
    );

    // Exactly one message per intended recipient; the report matches the inboxes.
    let mut delivered = 0;
    let by_id: HashMap<&str, &ChannelHandle> = channels.iter().map(|c| (c.channel_id(), c)).collect();
    assert_eq!(report.accounts.len(), CHANNELS);
    for sent in &report.accounts {
        let channel_id = &sent.channel_id;
        let channel = by_id[channel_id.as_str()];
        let followers = channel.follower_ids();
        assert_eq!(followers.len(), FRIENDS);
        for user in &followers {
            assert_eq!(channel.messages(user).len(), 1, "{user:?} of {channel_id:?}");
        }
        assert_eq!(channel.delivered_count(), FRIENDS, "{channel_id:?}");
        assert_eq!(sent.status(), AccountStatus::Sent, "{channel_id:?}");
        assert_eq!(sent.recipients, FRIENDS as u64, "{channel_id:?}");
        assert_eq!(sent.sent, channel.delivered_count() as u64, "{channel_id:?}");
        assert_eq!(channel.quota_consumption(), sent.sent, "{channel_id:?}");
        delivered += channel.delivered_count();
    }
    assert_eq!(report.totals.sent, delivered as u64);
    assert_eq!(delivered, CHANNELS * FRIENDS);
    assert_eq!((report.totals.failed, report.totals.pending), (0, 0));
    // Nothing reached the default channel.
    assert_eq!(emu.delivered_count(), 0);
}
