//! Several senders for one channel share a rate budget on Redis and together
//! stay within LINE's limit, as the emulator counts it: multicast, 200 per
//! second per channel, a strict sliding window on the emulator's side.
//!
//! Each sender is a client with its own Redis connection and no retries, so a
//! single 429 fails the send; 16 tasks per sender send multicasts as fast as
//! the limiter lets them. The two-process test runs this file's test binary
//! twice more, as children, each running [`child_sender`].
//!
//! Needs Redis on 127.0.0.1:6379; fails when it is missing and `CI=true`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use line_core::client::Client;
use line_core::model::{MulticastRequest, TextMessage};
use line_core::ratelimit::redis::{ChannelKey, RedisBudget};
use line_core::ratelimit::RateLimiter;
use line_core::retry::RetryPolicy;
use line_core::secret::ChannelAccessToken;
use line_core::UserId;
use line_emulator::{Emulator, EmulatorConfig, ANY_TOKEN};

const REDIS: &str = "redis://127.0.0.1:6379";
/// Multicasts each sender makes.
const PER_SENDER: usize = 200;
/// Multicast: 200 per second, checked in tenths (20 per 101 ms) by the limiter.
const FINE_COUNT: usize = 20;
const FINE_SPAN: Duration = Duration::from_millis(101);
/// Extra slack on the window: the test host runs the emulator and both senders on
/// few, shared cores, where the delay between grant and arrival varies by tens
/// of ms under load (50 ms was seen to be too little on a loaded host).
const SLACK: Duration = Duration::from_millis(200);
/// The child's settings: `base_url|key_prefix|user,user`.
const CHILD_ENV: &str = "LINE_RS_RATE_BUDGET_CHILD";

/// Whether Redis answers; panics when it does not and `CI=true`.
fn redis_available(test: &str) -> bool {
    let up = std::net::TcpStream::connect_timeout(&"127.0.0.1:6379".parse().unwrap(), Duration::from_secs(1)).is_ok();
    if !up {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "Redis is required when CI=true"
        );
        eprintln!("skipping {test}: Redis is not available");
    }
    up
}

async fn shared_client(base_url: &str, prefix: &str) -> Client {
    let token = ChannelAccessToken::new(ANY_TOKEN);
    let budget = RedisBudget::connect(REDIS, ChannelKey::from_token(&token), 2)
        .await
        .expect("connect to Redis")
        .with_prefix(prefix)
        .with_slack(SLACK);
    Client::builder()
        .token(token)
        .base_url(base_url)
        .retry_policy(RetryPolicy::none())
        .rate_limiter(RateLimiter::line_defaults().with_budget(Arc::new(budget)))
        .build()
        .expect("client")
}

/// Sends `n` multicasts from 16 tasks; returns the statuses of the failures
/// (`0` for a failure without one).
async fn send_all(client: Client, users: Vec<UserId>, n: usize) -> Vec<u16> {
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (client, users, next) = (client.clone(), users.clone(), next.clone());
            tokio::spawn(async move {
                let mut failures = Vec::new();
                while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < n {
                    let req = MulticastRequest::new(vec![TextMessage::new("hi").into()], users.clone());
                    if let Err(e) = client.multicast(&req).await {
                        failures.push(e.status().unwrap_or(0));
                    }
                }
                failures
            })
        })
        .collect();
    let mut failures = Vec::new();
    for t in tasks {
        failures.extend(t.await.expect("sender task"));
    }
    failures
}

fn prefix(test: &str) -> String {
    format!("line-rs-test:{test}:{}", uuid::Uuid::new_v4())
}

async fn emulator() -> Emulator {
    Emulator::start_with(EmulatorConfig::new().friends(2))
        .await
        .expect("emulator")
}

/// Any `FINE_COUNT + 1` grants of one budget span at least `FINE_SPAN`, so
/// `total` sends need at least this long when the senders really share it.
fn shared_minimum(total: usize) -> Duration {
    FINE_SPAN * ((total - 1) / FINE_COUNT) as u32
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_clients_with_their_own_redis_connections_share_the_budget() {
    if !redis_available("two_clients") {
        return;
    }
    let emu = emulator().await;
    let users = emu.follower_ids();
    let p = prefix("two-clients");
    let a = shared_client(emu.base_url(), &p).await;
    let b = shared_client(emu.base_url(), &p).await;
    let start = Instant::now();
    let (fa, fb) = tokio::join!(
        send_all(a, users.clone(), PER_SENDER),
        send_all(b, users.clone(), PER_SENDER)
    );
    let elapsed = start.elapsed();
    assert!(fa.is_empty() && fb.is_empty(), "failures (statuses): {fa:?} {fb:?}");
    assert_eq!(
        emu.calls("multicast"),
        2 * PER_SENDER as u64,
        "every request was admitted once"
    );
    assert!(
        elapsed >= shared_minimum(2 * PER_SENDER),
        "{elapsed:?}: the senders did not share one budget"
    );
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_share_the_budget() {
    if !redis_available("two_processes") {
        return;
    }
    let emu = emulator().await;
    let users: Vec<String> = emu.follower_ids().iter().map(|u| u.as_str().to_owned()).collect();
    let settings = format!("{}|{}|{}", emu.base_url(), prefix("two-processes"), users.join(","));
    let exe = std::env::current_exe().expect("test binary");
    let start = Instant::now();
    let children: Vec<std::process::Child> = (0..2)
        .map(|_| {
            std::process::Command::new(&exe)
                .args([
                    "child_sender",
                    "--exact",
                    "--ignored",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(CHILD_ENV, &settings)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn a child")
        })
        .collect();
    let outputs = tokio::task::spawn_blocking(move || {
        children
            .into_iter()
            .map(|c| c.wait_with_output().expect("child output"))
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    let elapsed = start.elapsed();
    for out in &outputs {
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "child failed: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.contains(&format!("child sent {PER_SENDER} multicasts, 0 failures")),
            "{stdout}"
        );
    }
    assert_eq!(
        emu.calls("multicast"),
        2 * PER_SENDER as u64,
        "every request was admitted once"
    );
    assert!(
        elapsed >= shared_minimum(2 * PER_SENDER),
        "{elapsed:?}: the processes did not share one budget"
    );
    emu.shutdown().await;
}

/// The child of [`two_processes_share_the_budget`]; does nothing useful alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run as a child process by two_processes_share_the_budget"]
async fn child_sender() {
    let settings = std::env::var(CHILD_ENV).expect("run by two_processes_share_the_budget");
    let mut parts = settings.split('|');
    let (base_url, prefix, users) = (parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap());
    let users: Vec<UserId> = users.split(',').map(UserId::from).collect();
    let client = shared_client(base_url, prefix).await;
    let failures = send_all(client, users, PER_SENDER).await;
    println!("child sent {PER_SENDER} multicasts, {} failures", failures.len());
    assert!(failures.is_empty(), "failures (statuses): {failures:?}");
}

/// The control: the same two senders with separate in-process limiters send
/// twice the limit, and the emulator refuses the excess. So the shared tests
/// above would see 429s if the budget were not shared.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn separate_limiters_overrun_the_emulator() {
    let emu = emulator().await;
    let users = emu.follower_ids();
    let client = || {
        emu.client_builder()
            .retry_policy(RetryPolicy::none())
            .rate_limiter(RateLimiter::line_defaults())
            .build()
            .unwrap()
    };
    let (fa, fb) = tokio::join!(
        send_all(client(), users.clone(), PER_SENDER),
        send_all(client(), users.clone(), PER_SENDER)
    );
    let refused = fa.iter().chain(&fb).filter(|s| **s == 429).count();
    assert!(refused > 0, "no 429 although each sender used the whole limit");
    emu.shutdown().await;
}
