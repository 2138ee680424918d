//! Reservations per second on the durable stores, through the engine (`decide`), one
//! campaign without caps so that every decision writes a showing (the worst case: a
//! capped decision only reads). 100,000 visitors in rotation.
//!
//! - `sqlite_reserve/*` (feature `sqlite`): one SQLite file; one decision at a time, and
//!   64 at once (waiting calls share a commit), on a current-thread runtime: one core
//!   for the engine plus the store's connection thread.
//! - `postgres_reserve/64_in_flight` (feature `postgres`, a server at
//!   `LINE_STORES_PG_URL` or the one of `line-segments/ci-setup.sh`; skipped without
//!   one): a pool of 16 connections (the reservations share 2 of their own, where those
//!   that queue go together in one call; see below), 64 decisions in flight.
//!
//! After each group, 20,000 more decisions are timed one by one (64 in flight on SQLite,
//! 16 on PostgreSQL: as many as the pool has connections) and the median and 99th-percentile
//! latency printed. On PostgreSQL, 20,000 more are then offered at a fixed 5,000 a
//! second (an open loop: each starts on schedule, and its latency counts from then),
//! once with the store's default (commits wait as the server's `synchronous_commit`
//! says, which the line printed names) and once with
//! `PgStore::with_asynchronous_commit` (a second store, whose connections are opened
//! with `PgStore::open_connections` before the loop, as the first store's are before
//! the closed loops); then a third time by 1,000 returning visitors
//! (about 20 decisions each, so nearly every reservation updates rows; the other runs
//! give each of 100,000 visitors about one decision, so they measure mostly first
//! visits, every write an insert). To measure durable commits on a server
//! configured otherwise, add `?options=-c%20synchronous_commit%3Don` to
//! `LINE_STORES_PG_URL`. The reservations share the store's default number of
//! connections (`PgStore::with_reserve_connections`); `LINE_STORES_PG_RESERVE_CONNECTIONS`
//! sets another (0: each reservation takes a connection of the pool).
//!
//! Run: `cargo bench -p line-popup --features sqlite,postgres --bench stores`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use line_core::clock::SystemClock;
use line_popup::{Banner, Campaign, Caps, Device, PopupConfig, PopupEngine, PopupStore, VisitorContext};

fn engine(store: Arc<dyn PopupStore>) -> Arc<PopupEngine> {
    let mut c = Campaign::new("popup", vec![Banner::new("a", "A"), Banner::new("b", "B")]);
    c.caps = Caps::none();
    Arc::new(
        PopupEngine::builder(PopupConfig::new("@shop", vec![c]), store, Arc::new(SystemClock))
            .build()
            .unwrap(),
    )
}

/// `n` visitors, each in a session of its own.
fn visitors(n: usize) -> Arc<Vec<VisitorContext>> {
    Arc::new(
        (0..n)
            .map(|i| {
                VisitorContext::new(
                    format!("visitor-{i:08}"),
                    format!("s-{i}"),
                    "/products/1",
                    Device::Mobile,
                )
            })
            .collect(),
    )
}

/// 1,000 visitors, named apart from those of [`visitors`].
#[cfg(feature = "postgres")]
fn returning_visitors() -> Arc<Vec<VisitorContext>> {
    Arc::new(
        (0..1_000)
            .map(|i| {
                VisitorContext::new(
                    format!("returning-{i:05}"),
                    format!("r-{i}"),
                    "/products/1",
                    Device::Mobile,
                )
            })
            .collect(),
    )
}

/// Runs `iters` decisions with `width` in flight; gives the time they took.
async fn run(
    engine: Arc<PopupEngine>,
    views: Arc<Vec<VisitorContext>>,
    next: Arc<AtomicUsize>,
    iters: u64,
    width: u64,
) -> Duration {
    let per = iters.div_ceil(width);
    let start = Instant::now();
    let tasks: Vec<_> = (0..width)
        .map(|_| {
            let (engine, views, next) = (engine.clone(), views.clone(), next.clone());
            tokio::spawn(async move {
                for _ in 0..per {
                    let v = &views[next.fetch_add(1, Ordering::Relaxed) % views.len()];
                    assert!(engine.decide(v).await.unwrap().showing().is_some());
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    start.elapsed().mul_f64(iters as f64 / (per * width) as f64)
}

/// Makes `n` decisions with `width` in flight, timing each; prints the median and the
/// 99th percentile of the latency (criterion reports throughput only).
async fn latencies(
    label: &str,
    engine: Arc<PopupEngine>,
    views: Arc<Vec<VisitorContext>>,
    next: Arc<AtomicUsize>,
    n: usize,
    width: usize,
) {
    let per = n.div_ceil(width);
    let tasks: Vec<_> = (0..width)
        .map(|_| {
            let (engine, views, next) = (engine.clone(), views.clone(), next.clone());
            tokio::spawn(async move {
                let mut took = Vec::with_capacity(per);
                for _ in 0..per {
                    let v = &views[next.fetch_add(1, Ordering::Relaxed) % views.len()];
                    let start = Instant::now();
                    assert!(engine.decide(v).await.unwrap().showing().is_some());
                    took.push(start.elapsed());
                }
                took
            })
        })
        .collect();
    let mut all = Vec::with_capacity(per * width);
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort_unstable();
    let at = |q: f64| all[((all.len() - 1) as f64 * q) as usize];
    eprintln!(
        "{label}: {} decisions, {width} in flight: latency p50 {:?}, p99 {:?}, max {:?}",
        all.len(),
        at(0.5),
        at(0.99),
        all[all.len() - 1]
    );
}

/// Offers `n` decisions at a fixed `rate` per second, each started on its own schedule
/// whether or not earlier ones have finished (an open loop, as real visitors arrive), and
/// prints the latency percentiles measured from each decision's scheduled start, so a
/// stall counts against every decision that waited behind it. Also prints the rate the
/// store sustained.
///
/// The schedule is kept by this (non-runtime) thread with the operating system's sleep,
/// which wakes within tens of microseconds; tokio's timer has a 1 ms tick, so a pacer on
/// it would start the decisions of each millisecond together, up to 1 ms late, and that
/// lateness would count as store latency.
fn latencies_at_rate(
    rt: &tokio::runtime::Runtime,
    label: &str,
    engine: Arc<PopupEngine>,
    views: Arc<Vec<VisitorContext>>,
    next: Arc<AtomicUsize>,
    n: usize,
    rate: u32,
) {
    let period = Duration::from_secs(1) / rate;
    let begin = Instant::now();
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let due = begin + period * i as u32;
        if let Some(early) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(early);
        }
        let (engine, views, next) = (engine.clone(), views.clone(), next.clone());
        tasks.push(rt.spawn(async move {
            let v = &views[next.fetch_add(1, Ordering::Relaxed) % views.len()];
            // A store that falls behind makes calls wait for a connection until the pool's
            // wait timeout: those are counted as failed, not a panic of the benchmark.
            let ok = engine.decide(v).await.is_ok_and(|d| d.showing().is_some());
            (due.elapsed(), ok)
        }));
    }
    let (mut all, failed) = rt.block_on(async {
        let (mut all, mut failed) = (Vec::with_capacity(n), 0);
        for t in tasks {
            let (took, ok) = t.await.unwrap();
            all.push(took);
            failed += usize::from(!ok);
        }
        (all, failed)
    });
    let wall = begin.elapsed();
    all.sort_unstable();
    let at = |q: f64| all[((all.len() - 1) as f64 * q) as usize];
    eprintln!(
        "{label}: {n} decisions offered at {rate}/s (sustained {:.0}/s, {failed} failed): \
         latency p50 {:?}, p99 {:?}, max {:?}",
        n as f64 / wall.as_secs_f64(),
        at(0.5),
        at(0.99),
        all[all.len() - 1]
    );
}

#[cfg(feature = "sqlite")]
fn sqlite(c: &mut Criterion) {
    use line_core::store::sqlite::SqliteDb;
    use line_core::testing::store::{fresh_sqlite_path, remove_sqlite};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let path = fresh_sqlite_path("bench-popup");
    let store: Arc<dyn PopupStore> = rt.block_on(async {
        let db = SqliteDb::open(&path).await.unwrap();
        Arc::new(line_popup::SqliteStore::new(&db).await.unwrap())
    });
    let (engine, views, next) = (engine(store), visitors(100_000), Arc::new(AtomicUsize::new(0)));
    let mut g = c.benchmark_group("sqlite_reserve");
    g.throughput(Throughput::Elements(1));
    g.sample_size(10).measurement_time(Duration::from_secs(4));
    for width in [1, 64] {
        g.bench_function(format!("{width}_in_flight"), |b| {
            b.iter_custom(|iters| rt.block_on(run(engine.clone(), views.clone(), next.clone(), iters, width)))
        });
    }
    g.finish();
    rt.block_on(latencies(
        "sqlite_reserve",
        engine.clone(),
        views.clone(),
        next.clone(),
        20_000,
        64,
    ));
    drop(engine);
    remove_sqlite(&path);
}

#[cfg(not(feature = "sqlite"))]
fn sqlite(_: &mut Criterion) {}

#[cfg(feature = "postgres")]
fn postgres(c: &mut Criterion) {
    use line_core::store::postgres::PgPool;
    use line_core::testing::store::{fresh_prefix, pg_drop_prefix, pg_url};
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let pool = PgPool::connect(&pg_url()).unwrap();
    let prefix = fresh_prefix("bench");
    let shared = match std::env::var("LINE_STORES_PG_RESERVE_CONNECTIONS") {
        Ok(n) => n
            .parse::<usize>()
            .expect("LINE_STORES_PG_RESERVE_CONNECTIONS is a number"),
        Err(_) => line_popup::postgres_store::DEFAULT_RESERVE_CONNECTIONS,
    };
    eprintln!("postgres_reserve: reservations share {shared} connections (0: one of the pool's 16 each)");
    let store = match rt.block_on(line_popup::PgStore::with_prefix(&pool, &prefix)) {
        Ok(s) => s.with_reserve_connections(shared),
        Err(e) => {
            eprintln!("postgres_reserve skipped: {e}");
            return;
        }
    };
    // As a host would before traffic arrives: no timed decision waits for a connection
    // to be opened.
    rt.block_on(store.open_connections()).unwrap();
    let store: Arc<dyn PopupStore> = Arc::new(store);
    let (engine, views, next) = (engine(store), visitors(100_000), Arc::new(AtomicUsize::new(0)));
    let mut g = c.benchmark_group("postgres_reserve");
    g.throughput(Throughput::Elements(1));
    g.sample_size(10).measurement_time(Duration::from_secs(4));
    g.bench_function("64_in_flight", |b| {
        b.iter_custom(|iters| rt.block_on(run(engine.clone(), views.clone(), next.clone(), iters, 64)))
    });
    g.finish();
    // 16 in flight, as many as the pool has connections (kept so that runs compare with earlier ones).
    rt.block_on(latencies(
        "postgres_reserve",
        engine.clone(),
        views.clone(),
        next.clone(),
        20_000,
        16,
    ));
    // The target: at least 5,000 decisions a second with a p99 under 5 ms; with
    // the store's default (commits as the server says) and with asynchronous commit.
    let sync: String = rt.block_on(async {
        let conn = pool.get().await.unwrap();
        conn.client()
            .query_one("SHOW synchronous_commit", &[])
            .await
            .unwrap()
            .get(0)
    });
    latencies_at_rate(
        &rt,
        &format!("postgres_reserve (server's synchronous_commit {sync})"),
        engine.clone(),
        views.clone(),
        next.clone(),
        20_000,
        5_000,
    );
    let relaxed = rt
        .block_on(line_popup::PgStore::with_prefix(&pool, &prefix))
        .unwrap()
        .with_asynchronous_commit(true)
        .with_reserve_connections(shared);
    rt.block_on(relaxed.open_connections()).unwrap();
    latencies_at_rate(
        &rt,
        "postgres_reserve (with_asynchronous_commit)",
        self::engine(Arc::new(relaxed)),
        views.clone(),
        next.clone(),
        20_000,
        5_000,
    );
    // A second case, not in place of the first: returning visitors. 1,000 visitors (new
    // to these tables) make the 20,000 decisions in turn, about 20 each, one every 200 ms
    // per visitor; after the first round every reservation updates the visitor's rows
    // instead of inserting them.
    latencies_at_rate(
        &rt,
        "postgres_reserve (returning visitors)",
        engine.clone(),
        returning_visitors(),
        Arc::new(AtomicUsize::new(0)),
        20_000,
        5_000,
    );
    rt.block_on(pg_drop_prefix(&pool, &prefix));
}

#[cfg(not(feature = "postgres"))]
fn postgres(_: &mut Criterion) {}

criterion_group!(benches, sqlite, postgres);
criterion_main!(benches);
