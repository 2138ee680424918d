//! One bulk campaign to 1,000 accounts × 1,000 recipients each (1,000,000
//! messages, multicast chunks of 500: 2,000 calls) against one emulator of
//! 1,000 channels that answers every multicast after 50 ms. Each account has
//! its own rate limiter: one multicast every 2, 2.5, 3, 3.5 or 4 seconds (by
//! account), so each account's second chunk waits for its own limit. With every
//! account sending at once, the ideal time is the slowest account's interval
//! plus the latency: 4.05 s (the limiter adds 1% of its window as slack, 40 ms).
//!
//! Run: `cargo bench -p line-accounts --bench bulk -- --warm-up-time 1`. Each
//! run gets a fresh emulator, registry and limiters (not timed, with the dry run
//! and the approval); the send alone is timed. The send is spawned on the client
//! runtime (one thread), so all of the client's work runs on its threads. Each run
//! prints its wall time next to the ideal one, the client's CPU time (the client
//! runtime's threads, read from /proc), the emulator's (its runtime's two threads)
//! and the whole process's.

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use line_accounts::bulk::{AutoApprove, Campaign, DryRunOptions, InMemoryBulkStore, SendOptions};
use line_accounts::{Account, Accounts, BotUserId, ChannelId, InMemoryRegistry, MessagePlan, Settings, TokenConfig};
use line_core::model::TextMessage;
use line_core::ratelimit::{Quota, RateClass, RateLimiter};
use line_core::retry::RetryPolicy;
use line_emulator::faults::{FaultConfig, FaultRule};
use line_emulator::{ChannelHandle, ChannelSpec, Emulator, EmulatorConfig};

const ACCOUNTS: usize = 1_000;
const RECIPIENTS: usize = 1_000;
const LATENCY: Duration = Duration::from_millis(50);

/// Account `i`'s multicast interval: 2 to 4 seconds.
fn interval(i: usize) -> Duration {
    Duration::from_millis(2_000 + 500 * (i % 5) as u64)
}

/// The time the rate limits allow: every account at once, its first chunk at
/// once and its second one interval later, answered after the latency.
fn ideal() -> Duration {
    (0..ACCOUNTS).map(interval).max().unwrap_or_default() + LATENCY
}

/// CPU time (user + system) of this process's threads whose name starts with
/// `prefix`, or of the whole process for `None` (Linux `/proc`, in ticks of 10 ms).
fn cpu(prefix: Option<&str>) -> Duration {
    let ticks = |stat: &str| -> u64 {
        // The fields after the ")" of the command name: utime is the 14th field, stime the 15th.
        stat.rsplit_once(')')
            .map(|(_, rest)| {
                let f: Vec<&str> = rest.split_whitespace().collect();
                [11, 12]
                    .iter()
                    .filter_map(|&n| f.get(n).and_then(|v| v.parse::<u64>().ok()))
                    .sum()
            })
            .unwrap_or(0)
    };
    let total = match prefix {
        None => ticks(&std::fs::read_to_string("/proc/self/stat").unwrap_or_default()),
        Some(prefix) => std::fs::read_dir("/proc/self/task")
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| {
                std::fs::read_to_string(e.path().join("comm"))
                    .unwrap_or_default()
                    .starts_with(prefix)
            })
            .map(|e| ticks(&std::fs::read_to_string(e.path().join("stat")).unwrap_or_default()))
            .sum(),
    };
    Duration::from_secs_f64(total as f64 / 100.0) // USER_HZ
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

/// A fresh emulator of 1,000 channels, its registry and the approved plan.
struct Setup {
    emu: Emulator,
    channels: Vec<ChannelHandle>,
    accounts: Accounts,
    campaign: Campaign,
    plan: line_accounts::bulk::RunPlan,
}

fn setup(server: &tokio::runtime::Runtime, client: &tokio::runtime::Runtime, options: &SendOptions) -> Setup {
    let emu = server.block_on(async {
        Emulator::start_with(EmulatorConfig::new().rate_limits(false))
            .await
            .unwrap()
    });
    let latency = FaultConfig::none().with_endpoint("multicast", FaultRule::new().latency(LATENCY));
    let channels: Vec<ChannelHandle> = (0..ACCOUNTS)
        .map(|_| {
            emu.add_channel(ChannelSpec::new().friends(RECIPIENTS).faults(latency.clone()))
                .unwrap()
        })
        .collect();
    let url = emu.base_url().to_owned();
    let intervals: std::collections::HashMap<String, Duration> = channels
        .iter()
        .enumerate()
        .map(|(i, c)| (c.channel_id().to_owned(), interval(i)))
        .collect();
    let accounts = Accounts::builder(Arc::new(InMemoryRegistry::new()))
        .configure_clients(move |b, account| {
            let every = intervals[account.channel_id.as_str()];
            b.base_url(url.clone())
                .retry_policy(RetryPolicy::none())
                .rate_limiter(RateLimiter::line_defaults().with_quota(RateClass::Multicast, Quota::new(1, every)))
        })
        .build()
        .unwrap();
    let (campaign, plan) = client.block_on(async {
        let mut campaign = Campaign::new(vec![TextMessage::new("Winter sale in every store").into()]).unwrap();
        for channel in &channels {
            accounts.add(account_of(channel)).await.unwrap();
            campaign = campaign
                .to_users(ChannelId::new(channel.channel_id()).unwrap(), channel.follower_ids())
                .unwrap();
        }
        let dry = campaign.dry_run(&accounts, &DryRunOptions::new().concurrency(64)).await;
        assert_eq!(dry.ready().count(), ACCOUNTS);
        let approval = dry.approve(&AutoApprove).await.unwrap();
        let plan = campaign.plan(&dry, &approval, options);
        (campaign, plan)
    });
    Setup {
        emu,
        channels,
        accounts,
        campaign,
        plan,
    }
}

fn bench(c: &mut Criterion) {
    // The emulator has its own runtime and threads, so its CPU is not counted as
    // the client's. Two of them: LINE answers many channels' calls in parallel, and
    // an emulator working through a burst of 200 calls one at a time would add its
    // own queue to the wall time.
    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("emulator")
        .enable_all()
        .build()
        .unwrap();
    let client = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("client")
        .enable_all()
        .build()
        .unwrap();
    // Every account at once, both of its chunks in flight when its limiter allows.
    let options = SendOptions::new()
        .concurrency(ACCOUNTS)
        .chunk_concurrency(2)
        .chunk_size(500);
    let mut g = c.benchmark_group("bulk");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(45));
    g.bench_function("1000_accounts_x_1000_recipients_50ms", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let s = setup(&server, &client, &options);
                let (campaign, accounts, plan) = (Arc::new(s.campaign), s.accounts.clone(), s.plan.clone());
                let (client_before, emulator_before, process_before) =
                    (cpu(Some("client")), cpu(Some("emulator")), cpu(None));
                let start = Instant::now();
                // Spawned, so that the whole send runs on the client runtime's
                // thread and its CPU is counted (`block_on` alone would poll the
                // send on this thread, outside "client").
                let report = client
                    .block_on(client.spawn(async move {
                        campaign
                            .send(&accounts, &InMemoryBulkStore::new(), "bench", &plan, &options)
                            .await
                    }))
                    .unwrap()
                    .unwrap();
                let wall = start.elapsed();
                let client_cpu = cpu(Some("client")).saturating_sub(client_before);
                let emulator_cpu = cpu(Some("emulator")).saturating_sub(emulator_before);
                let process_cpu = cpu(None).saturating_sub(process_before);
                assert!(report.is_complete(), "{:?}", report.totals);
                assert_eq!(report.totals.sent, (ACCOUNTS * RECIPIENTS) as u64);
                let delivered: usize = s.channels.iter().map(ChannelHandle::delivered_count).sum();
                assert_eq!(delivered, ACCOUNTS * RECIPIENTS);
                let calls: u64 = s.channels.iter().map(|c| c.calls("multicast")).sum();
                eprintln!(
                    "bulk: {delivered} messages in {calls} multicasts, wall {:.3} s, ideal {:.3} s ({:+.1}%), \
                     client cpu {:.2} s ({:.1}% of one core), emulator cpu {:.2} s, process cpu {:.2} s",
                    wall.as_secs_f64(),
                    ideal().as_secs_f64(),
                    100.0 * (wall.as_secs_f64() / ideal().as_secs_f64() - 1.0),
                    client_cpu.as_secs_f64(),
                    100.0 * client_cpu.as_secs_f64() / wall.as_secs_f64(),
                    emulator_cpu.as_secs_f64(),
                    process_cpu.as_secs_f64(),
                );
                total += wall;
                drop(s.emu);
            }
            total
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
