//! Durable webhook stores: SQLite `first_seen` (feature `sqlite`), one call at a time
//! and with 64 callers at once (which share commits), on a current-thread runtime (the
//! store's connection thread is the only other thread).
//!
//! `cargo bench -p line-core --features sqlite --bench stores`

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use line_core::store::sqlite::{SqliteDb, SqliteDedupeStore};
use line_core::testing::store::{fresh_sqlite_path, remove_sqlite};
use line_core::webhook::dedupe::DedupeStore;

fn dedupe(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let path = fresh_sqlite_path("bench-dedupe");
    let store = rt.block_on(async {
        let db = SqliteDb::open(&path).await.unwrap();
        Arc::new(SqliteDedupeStore::new(&db).await.unwrap())
    });
    let next = Arc::new(AtomicU64::new(0));
    let ttl = Duration::from_secs(86_400);
    let mut g = c.benchmark_group("sqlite_dedupe_first_seen");
    g.throughput(Throughput::Elements(1));
    g.sample_size(10).measurement_time(Duration::from_secs(4));
    g.bench_function("one_at_a_time", |b| {
        b.to_async(&rt).iter(|| {
            let (store, next) = (store.clone(), next.clone());
            async move {
                let id = format!("01H{:020}", next.fetch_add(1, Ordering::Relaxed));
                assert!(store.first_seen(&id, ttl).await.unwrap());
            }
        })
    });
    g.bench_function("64_callers", |b| {
        b.iter_custom(|iters| {
            let (store, next) = (store.clone(), next.clone());
            rt.block_on(async move {
                let per = iters.div_ceil(64);
                let start = Instant::now();
                let tasks: Vec<_> = (0..64)
                    .map(|_| {
                        let (store, next) = (store.clone(), next.clone());
                        tokio::spawn(async move {
                            for _ in 0..per {
                                let id = format!("01H{:020}", next.fetch_add(1, Ordering::Relaxed));
                                assert!(store.first_seen(&id, ttl).await.unwrap());
                            }
                        })
                    })
                    .collect();
                for t in tasks {
                    t.await.unwrap();
                }
                // Time per call, as if `iters` calls were made.
                start.elapsed().mul_f64(iters as f64 / (per * 64) as f64)
            })
        })
    });
    g.finish();
    drop(store);
    remove_sqlite(&path);
}

criterion_group!(benches, dedupe);
criterion_main!(benches);
