//! Decisions per second.
//!
//! - `decide/in_memory_3_campaigns`: one core (current-thread runtime), the
//!   in-memory store, 3 active campaigns that all target the visitor, 100,000
//!   visitors in rotation (so most decisions reach the store's caps). After
//!   criterion's mean, a plain loop records 1,000,000 single-decision
//!   durations into an HDR histogram and prints p50, p99 and p99.9.
//! - `decide/redis_3_campaigns` (feature `redis`, needs `REDIS_URL` or
//!   127.0.0.1:6379): the same over Redis on loopback, one round trip per
//!   decision; prints sequential and 64-in-flight throughput.
//!
//! Run: `cargo bench -p line-popup --features redis --bench decide`.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use line_core::clock::SystemClock;
use line_popup::{Banner, Campaign, Caps, Device, InMemoryStore, PopupConfig, PopupEngine, PopupStore, VisitorContext};

fn config() -> PopupConfig {
    let banners = || {
        vec![
            Banner::new("a", "A").with_weight(50),
            Banner::new("b", "B").with_weight(30),
            Banner::new("c", "C").with_weight(20),
        ]
    };
    let mut spring = Campaign::new("spring-sale", banners());
    spring.priority = 30;
    spring.targeting.include = vec!["/products/**".into(), "/sale/**".into()];
    spring.targeting.exclude = vec!["/checkout/**".into()];
    spring.caps = Caps::baroque_default()
        .with_window(2, 86_400)
        .with_min_interval_secs(60);
    let mut friend = Campaign::new("friend-popup", banners());
    friend.priority = 20;
    friend.caps = Caps::baroque_default().with_per_session(2);
    let mut always = Campaign::new("newsletter", banners());
    always.priority = 10;
    always.caps = Caps::none().with_lifetime(20);
    let mut cfg = PopupConfig::new("@baroque", vec![spring, friend, always]);
    cfg.max_per_day = Some(10);
    cfg
}

fn engine(store: Arc<dyn PopupStore>) -> PopupEngine {
    PopupEngine::builder(config(), store, Arc::new(SystemClock))
        .build()
        .unwrap()
}

fn visitors(n: usize) -> Vec<VisitorContext> {
    (0..n)
        .map(|i| {
            VisitorContext::new(
                format!("visitor-{i:08}"),
                format!("session-{:08}", i / 3),
                format!("/products/{}", i % 500),
                Device::Mobile,
            )
        })
        .collect()
}

fn histogram(rt: &tokio::runtime::Runtime, engine: &PopupEngine, ctxs: &[VisitorContext], n: usize, label: &str) {
    let mut h = hdrhistogram::Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).unwrap();
    let start = Instant::now();
    rt.block_on(async {
        for i in 0..n {
            let t = Instant::now();
            black_box(engine.decide(&ctxs[i % ctxs.len()]).await.unwrap());
            h.record(t.elapsed().as_nanos().max(1) as u64).unwrap();
        }
    });
    let total = start.elapsed();
    println!(
        "{label}: {n} decisions in {:.3} s = {:.0}/s; latency p50 {:.2} µs, p99 {:.2} µs, p99.9 {:.2} µs, max {:.2} µs",
        total.as_secs_f64(),
        n as f64 / total.as_secs_f64(),
        h.value_at_quantile(0.50) as f64 / 1000.0,
        h.value_at_quantile(0.99) as f64 / 1000.0,
        h.value_at_quantile(0.999) as f64 / 1000.0,
        h.max() as f64 / 1000.0,
    );
}

fn in_memory(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let engine = engine(Arc::new(InMemoryStore::new()));
    let ctxs = visitors(100_000);
    let mut g = c.benchmark_group("decide");
    g.throughput(Throughput::Elements(1));
    let mut i = 0usize;
    g.bench_function("in_memory_3_campaigns", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(engine.decide(&ctxs[i % ctxs.len()]).await.unwrap());
                    i += 1;
                }
                start.elapsed()
            })
        })
    });
    g.finish();
    histogram(&rt, &engine, &ctxs, 1_000_000, "in-memory, 3 campaigns, one core");
}

#[cfg(feature = "redis")]
fn redis(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let prefix = format!("popup-bench-{}:", std::process::id());
    let store = match rt.block_on(async {
        tokio::time::timeout(
            Duration::from_secs(3),
            line_popup::RedisStore::connect_with_prefix(&url, &prefix),
        )
        .await
    }) {
        Ok(Ok(s)) => s,
        _ => {
            println!("SKIPPED redis bench: no redis at {url}");
            return;
        }
    };
    let engine = Arc::new(engine(Arc::new(store)));
    let ctxs = Arc::new(visitors(100_000));
    let mut g = c.benchmark_group("decide");
    g.throughput(Throughput::Elements(1));
    let mut i = 0usize;
    g.bench_function("redis_3_campaigns", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(engine.decide(&ctxs[i % ctxs.len()]).await.unwrap());
                    i += 1;
                }
                start.elapsed()
            })
        })
    });
    g.finish();
    histogram(&rt, &engine, &ctxs, 20_000, "redis on loopback, sequential");
    // 64 decisions in flight over the one multiplexed connection.
    let n = 100_000;
    let start = Instant::now();
    rt.block_on(async {
        let mut set = tokio::task::JoinSet::new();
        for w in 0..64 {
            let (engine, ctxs) = (engine.clone(), ctxs.clone());
            set.spawn(async move {
                let mut k = w;
                while k < n {
                    black_box(engine.decide(&ctxs[k % ctxs.len()]).await.unwrap());
                    k += 64;
                }
            });
        }
        while set.join_next().await.is_some() {}
    });
    let t = start.elapsed().as_secs_f64();
    println!(
        "redis on loopback, 64 in flight: {n} decisions in {t:.3} s = {:.0}/s",
        n as f64 / t
    );
    // Remove what the bench wrote, in SCAN batches (KEYS over this many keys
    // would outlast the connection's response timeout).
    rt.block_on(async {
        let client = redis::Client::open(url.as_str()).unwrap();
        let mut conn = client.get_multiplexed_tokio_connection().await.unwrap();
        let mut cursor = 0u64;
        loop {
            let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(format!("{prefix}*"))
                .arg("COUNT")
                .arg(5_000)
                .query_async(&mut conn)
                .await
                .unwrap();
            if !keys.is_empty() {
                let _: () = redis::cmd("DEL").arg(&keys).query_async(&mut conn).await.unwrap();
            }
            if next == 0 {
                break;
            }
            cursor = next;
        }
    });
}

#[cfg(not(feature = "redis"))]
fn redis(_: &mut Criterion) {
    println!("SKIPPED redis bench: build with --features redis");
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(5)).warm_up_time(Duration::from_secs(1));
    targets = in_memory, redis
}
criterion_main!(benches);
