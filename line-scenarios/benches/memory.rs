//! Memory per pending wake-up in the in-memory store, with 1M users waiting in a scenario.
//!
//! The bench counts every byte the process has allocated and not freed (a counting global
//! allocator), enters 1M users, runs their first step (a wait of one day, so each has one pending
//! wake-up) and prints the growth divided by 1M: the store's tables with their spare capacity,
//! the interned user ids, the enrollments and the wake-up buckets, and anything the engine keeps.
//! The user ids given to the store are made before counting starts. Target: at most 200 bytes.
//! Criterion times the same work (entering 1M users and running their first step).
//!
//! `cargo bench -p line-scenarios --bench memory`

use std::alloc::System;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cap::Cap;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use jiff::Timestamp;
use line_core::clock::ManualClock;
use line_core::ids::UserId;
use line_scenarios::memory::InMemoryStore;
use line_scenarios::model::Reentry;
use line_scenarios::profiles::InMemoryProfiles;
use line_scenarios::sender::NullSender;
use line_scenarios::store::Scheduler;
use line_scenarios::{json, Engine};

#[global_allocator]
static ALLOCATED: Cap<System> = Cap::new(System, usize::MAX);

const WAITING: &str = r#"{"id": "waiting", "trigger": {"event": {"name": "launch"}}, "steps": [
  {"id": "wait", "wait": {"for": "1d"}},
  {"id": "send", "send": {"messages": [{"type": "text", "text": "A day later"}]}}
]}"#;

const N: usize = 1_000_000;

fn t0() -> Timestamp {
    "2026-05-15T01:00:00Z".parse().unwrap()
}

/// Enters `users` and runs their first step; returns the store (with one pending wake-up each).
fn enter_and_wait(users: &[UserId], rt: &tokio::runtime::Runtime) -> Arc<InMemoryStore> {
    let store = Arc::new(InMemoryStore::new());
    let engine = Engine::builder(vec![json::from_str(WAITING).unwrap()])
        .state(store.clone())
        .scheduler(store.clone())
        .profiles(Arc::new(InMemoryProfiles::new()))
        .sender(Arc::new(NullSender))
        .clock(Arc::new(ManualClock::new(t0())))
        .build()
        .unwrap();
    store.enroll_many("waiting", users, Reentry::NotWhileInside, t0());
    let r = rt.block_on(engine.run_due()).unwrap();
    assert_eq!(r.processed, users.len());
    drop(engine);
    store
}

fn pending_wakeups(c: &mut Criterion) {
    let users: Vec<UserId> = (0..N).map(|i| UserId::new(format!("U{i:032x}"))).collect();
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();

    let before = ALLOCATED.allocated();
    let store = enter_and_wait(&users, &rt);
    let grown = ALLOCATED.allocated().saturating_sub(before);
    let pending = rt.block_on(store.pending()).unwrap();
    assert_eq!(pending, N, "one pending wake-up per user");
    eprintln!(
        "memory: {N} users waiting, {pending} pending wake-ups: {grown} bytes allocated, \
         {:.1} bytes per pending wake-up (the store's own estimate: {:.1})",
        grown as f64 / pending as f64,
        store.approx_bytes() as f64 / pending as f64
    );
    drop(store);

    let mut g = c.benchmark_group("pending_wakeups");
    g.sample_size(10);
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("enter_1M_and_wait", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let start = Instant::now();
                let store = enter_and_wait(&users, &rt);
                total += start.elapsed();
                black_box(store);
            }
            total
        })
    });
    g.finish();
}

criterion_group!(benches, pending_wakeups);
criterion_main!(benches);
