//! The send-ledger insert (`StateStore::claim` of a new key) on PostgreSQL over loopback, through
//! a pool of 16 connections; every claim is a new key, so every call writes and commits a row.
//!
//! - `postgres_ledger/claim_{16,64}_in_flight`: claims per second (criterion's throughput) with
//!   as many claims in flight as the pool has connections, and with four times as many (calls
//!   then also wait for a connection).
//! - Before the benchmarks, a fixed run of 20,000 claims at each width prints the rate and the
//!   p50/p99 latency of one claim (`ledger insert: … claims/s, p50 … ms, p99 … ms`).
//! - Then 20,000 claims are offered at a fixed 5,000 a second (an open loop: each starts on
//!   schedule whether or not earlier ones finished, and its latency counts from then, so a stall
//!   counts against every claim that waited behind it): the target is a p99 under 5 ms.
//!
//! A server at `LINE_STORES_PG_URL` or the one of `line-segments/ci-setup.sh`; without one the
//! benchmark says so and measures nothing.
//!
//! Run: `cargo bench -p line-scenarios --features postgres --bench postgres`. The line printed
//! names the server's `synchronous_commit`; to measure commits that wait for the disk on a server
//! configured otherwise, add `?options=-c%20synchronous_commit%3Don` to `LINE_STORES_PG_URL`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use jiff::Timestamp;
use line_core::ids::UserId;
use line_core::store::postgres::PgPool;
use line_core::testing::store::{fresh_prefix, pg_drop_prefix, pg_url};
use line_scenarios::postgres::PgStore;
use line_scenarios::store::{Claim, SendKey, StateStore};

fn send_key(scenario: &Arc<str>, n: u64) -> SendKey {
    SendKey {
        scenario: scenario.clone(),
        user: UserId::new(format!("U{n:032x}")),
        entry: 1,
        step: 2,
        seq: 3,
    }
}

/// Runs `iters` claims of new keys with `width` in flight; gives the time they took and each
/// claim's latency.
async fn run(
    store: Arc<PgStore>,
    scenario: Arc<str>,
    next: Arc<AtomicU64>,
    iters: u64,
    width: u64,
) -> (Duration, Vec<Duration>) {
    let per = iters.div_ceil(width);
    let at: Timestamp = "2026-05-01T00:00:00Z".parse().unwrap();
    let start = Instant::now();
    let tasks: Vec<_> = (0..width)
        .map(|_| {
            let (store, scenario, next) = (store.clone(), scenario.clone(), next.clone());
            tokio::spawn(async move {
                let mut lat = Vec::with_capacity(per as usize);
                for _ in 0..per {
                    let key = send_key(&scenario, next.fetch_add(1, Ordering::Relaxed));
                    let t = Instant::now();
                    assert_eq!(store.claim(&key, at).await.unwrap(), Claim::New);
                    lat.push(t.elapsed());
                }
                lat
            })
        })
        .collect();
    let mut lat = Vec::with_capacity(iters as usize);
    for t in tasks {
        lat.extend(t.await.unwrap());
    }
    let took = start.elapsed().mul_f64(iters as f64 / (per * width) as f64);
    (took, lat)
}

/// Offers `n` claims of new keys at a fixed `rate` per second on `rt`, paced by this
/// (non-runtime) thread with the operating system's sleep (tokio's timer has a 1 ms tick, and a
/// pacer on it would start each millisecond's claims together, late); gives the rate sustained
/// each claim's latency from its scheduled start, and how many failed.
fn at_rate(
    rt: &tokio::runtime::Runtime,
    store: Arc<PgStore>,
    scenario: Arc<str>,
    next: Arc<AtomicU64>,
    n: usize,
    rate: u32,
) -> (f64, Vec<Duration>, usize) {
    let at: Timestamp = "2026-05-01T00:00:00Z".parse().unwrap();
    let period = Duration::from_secs(1) / rate;
    let begin = Instant::now();
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let due = begin + period * i as u32;
        if let Some(early) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(early);
        }
        let key = send_key(&scenario, next.fetch_add(1, Ordering::Relaxed));
        let store = store.clone();
        tasks.push(rt.spawn(async move {
            // A store that falls behind makes claims wait for a connection until the pool's
            // wait timeout: those are counted as failed, not a panic of the benchmark.
            let ok = matches!(store.claim(&key, at).await, Ok(Claim::New));
            (due.elapsed(), ok)
        }));
    }
    let (lat, failed) = rt.block_on(async {
        let (mut lat, mut failed) = (Vec::with_capacity(n), 0);
        for t in tasks {
            let (took, ok) = t.await.unwrap();
            lat.push(took);
            failed += usize::from(!ok);
        }
        (lat, failed)
    });
    (n as f64 / begin.elapsed().as_secs_f64(), lat, failed)
}

fn ledger(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let pool = PgPool::connect(&pg_url()).unwrap();
    let prefix = fresh_prefix("bench_scn");
    let store = match rt.block_on(PgStore::with_prefix(&pool, &prefix)) {
        Ok(s) => Arc::new(s),
        Err(e) => {
            eprintln!("postgres_ledger skipped: {e}");
            return;
        }
    };
    let scenario: Arc<str> = Arc::from("cart");
    let next = Arc::new(AtomicU64::new(0));

    // The figure depends on whether a commit waits for the disk: say which.
    let sync: String = rt.block_on(async {
        let conn = pool.get().await.unwrap();
        conn.client()
            .query_one("SHOW synchronous_commit", &[])
            .await
            .unwrap()
            .get(0)
    });
    let n = 20_000;
    for width in [16, 64] {
        let (took, mut lat) = rt.block_on(run(store.clone(), scenario.clone(), next.clone(), n, width));
        lat.sort_unstable();
        let pct = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)].as_secs_f64() * 1e3;
        println!(
            "ledger insert: {:.0} claims/s, p50 {:.2} ms, p99 {:.2} ms \
             ({n} claims, {width} in flight, pool of 16, synchronous_commit {sync})",
            n as f64 / took.as_secs_f64(),
            pct(0.50),
            pct(0.99)
        );
    }

    // The target: at least 5,000 claims a second with a p99 under 5 ms.
    let (rate, mut lat, failed) = at_rate(&rt, store.clone(), scenario.clone(), next.clone(), n as usize, 5_000);
    lat.sort_unstable();
    let pct = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)].as_secs_f64() * 1e3;
    println!(
        "ledger insert: {n} claims offered at 5000/s (sustained {rate:.0}/s, {failed} failed): p50 {:.2} ms, \
         p99 {:.2} ms, \
         max {:.2} ms (pool of 16, synchronous_commit {sync})",
        pct(0.50),
        pct(0.99),
        pct(1.0)
    );

    let mut g = c.benchmark_group("postgres_ledger");
    g.throughput(Throughput::Elements(1));
    g.sample_size(10);
    for width in [16, 64] {
        g.bench_function(format!("claim_{width}_in_flight"), |b| {
            b.iter_custom(|iters| {
                rt.block_on(run(store.clone(), scenario.clone(), next.clone(), iters, width))
                    .0
            })
        });
    }
    g.finish();
    rt.block_on(pg_drop_prefix(&pool, &prefix));
}

criterion_group!(benches, ledger);
criterion_main!(benches);
