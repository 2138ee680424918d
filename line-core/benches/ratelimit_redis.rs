//! The shared rate budget on Redis (feature `redis`; Redis on 127.0.0.1:6379).
//!
//! Run: `cargo bench -p line-core --features redis --bench ratelimit_redis`.
//! Before criterion's timing of one reservation it prints two figures:
//!
//! - round trips per acquire: the Redis commands the budget sent, counted by a
//!   proxy between it and Redis that parses the request stream, divided by
//!   the acquisitions (target: at most 1);
//! - the fraction of the limit achieved: 16 tasks, in two budgets (as two
//!   processes would have), acquire as fast as the budget lets them for 2 s
//!   against 200 per 100 ms; the grants in the last 1.5 s, divided by what the
//!   limit allows in that time. The same run with the in-process limiter gives
//!   the reference: the difference is what coordination costs (target: at most
//!   2% of the limit).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, Criterion};
use line_core::ratelimit::redis::{ChannelKey, RedisBudget};
use line_core::ratelimit::{Quota, RateClass, RateLimiter};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const REDIS: &str = "127.0.0.1:6379";

/// Counts complete RESP commands in a client's request stream.
#[derive(Default)]
struct RespCounter {
    buf: Vec<u8>,
}

impl RespCounter {
    /// Feeds bytes; returns how many commands they completed.
    fn feed(&mut self, bytes: &[u8]) -> u64 {
        self.buf.extend_from_slice(bytes);
        let mut done = 0;
        while let Some(used) = Self::command_len(&self.buf) {
            self.buf.drain(..used);
            done += 1;
        }
        done
    }

    fn line(buf: &[u8], from: usize) -> Option<(&[u8], usize)> {
        let rest = buf.get(from..)?;
        let end = rest.windows(2).position(|w| w == b"\r\n")?;
        Some((&rest[..end], from + end + 2))
    }

    fn number(bytes: &[u8]) -> Option<usize> {
        std::str::from_utf8(bytes).ok()?.parse().ok()
    }

    /// The length of the first complete command (`*N` then `N` bulk strings).
    fn command_len(buf: &[u8]) -> Option<usize> {
        let (head, mut at) = Self::line(buf, 0)?;
        let n = Self::number(head.strip_prefix(b"*")?)?;
        for _ in 0..n {
            let (len, next) = Self::line(buf, at)?;
            let len = Self::number(len.strip_prefix(b"$")?)?;
            at = next + len + 2;
            if buf.len() < at {
                return None;
            }
        }
        Some(at)
    }
}

/// A proxy to Redis that counts the commands sent through it.
async fn counting_proxy(commands: Arc<AtomicU64>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((inbound, _)) = listener.accept().await {
            let commands = commands.clone();
            tokio::spawn(async move {
                let Ok(outbound) = TcpStream::connect(REDIS).await else {
                    return;
                };
                let (mut in_read, mut in_write) = inbound.into_split();
                let (mut out_read, mut out_write) = outbound.into_split();
                tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut out_read, &mut in_write).await;
                });
                let mut counter = RespCounter::default();
                let mut buf = vec![0u8; 16 * 1024];
                while let Ok(n) = in_read.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    commands.fetch_add(counter.feed(&buf[..n]), Ordering::Relaxed);
                    if out_write.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    format!("redis://{addr}")
}

fn prefix(what: &str) -> String {
    format!("line-rs-bench:{what}:{}", uuid::Uuid::new_v4())
}

async fn budget(url: &str, prefix: &str) -> Arc<RedisBudget> {
    let b = RedisBudget::connect(url, ChannelKey::from_channel_id("bench").expect("id"), 2)
        .await
        .expect("Redis on 127.0.0.1:6379 (the bench needs it)")
        .with_prefix(prefix);
    Arc::new(b)
}

async fn round_trips_per_acquire() -> f64 {
    let commands = Arc::new(AtomicU64::new(0));
    let url = counting_proxy(commands.clone()).await;
    let b = budget(&url, &prefix("rtt")).await;
    let limiter = RateLimiter::line_defaults().with_budget(b);
    // Unlimited in practice: 100 per microsecond.
    let limiter = limiter.with_quota(RateClass::Default, Quota::new(100, Duration::from_micros(1)));
    let before = commands.load(Ordering::Relaxed);
    let n = 2_000;
    for _ in 0..n {
        limiter.acquire(RateClass::Default, "pushMessage").await;
    }
    // Let the proxy count the last bytes.
    tokio::time::sleep(Duration::from_millis(50)).await;
    (commands.load(Ordering::Relaxed) - before) as f64 / n as f64
}

/// Grants per second in the last 1.5 s of a 2 s run of 16 tasks split over `limiters`.
async fn achieved_rate(limiters: Vec<RateLimiter>) -> f64 {
    let start = tokio::time::Instant::now();
    let end = start + Duration::from_secs(2);
    let measured_from = start + Duration::from_millis(500);
    let counted = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for i in 0..16 {
        let limiter = limiters[i % limiters.len()].clone();
        let counted = counted.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                limiter.acquire(RateClass::Multicast, "multicast").await;
                let now = tokio::time::Instant::now();
                if now >= end {
                    break;
                }
                if now >= measured_from {
                    counted.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    counted.load(Ordering::Relaxed) as f64 / 1.5
}

fn figures(rt: &tokio::runtime::Runtime) {
    rt.block_on(async {
        let trips = round_trips_per_acquire().await;
        println!("ratelimit_redis: {trips:.3} Redis round trips per acquire");
        // Multicast, 200/s, at time scale 0.1: 200 per 100 ms, a limit of 2,000/s.
        let limit = 2_000.0;
        let scaled = || RateLimiter::line_defaults().with_time_scale(0.1);
        let local = achieved_rate(vec![scaled()]).await;
        let p = prefix("rate");
        let shared = achieved_rate(vec![
            scaled().with_budget(budget(&format!("redis://{REDIS}"), &p).await),
            scaled().with_budget(budget(&format!("redis://{REDIS}"), &p).await),
        ])
        .await;
        println!(
            "ratelimit_redis: in-process limiter {:.1}% of the limit, shared Redis budget (2 budgets, 16 tasks) {:.1}%; lost to coordination {:.1}% of the limit",
            100.0 * local / limit,
            100.0 * shared / limit,
            100.0 * (local - shared) / limit
        );
    });
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    figures(&rt);
    let b = rt.block_on(budget(&format!("redis://{REDIS}"), &prefix("latency")));
    let quota = Quota::new(100, Duration::from_micros(1));
    c.bench_function("redis_budget_reserve", |bench| {
        bench.iter(|| {
            rt.block_on(b.try_reserve(RateClass::Default, "pushMessage", quota))
                .expect("reserve")
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = bench
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
