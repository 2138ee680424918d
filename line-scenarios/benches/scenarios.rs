//! Benchmarks of the scenario engine on the in-memory store.
//!
//! - `due_wakeups`: due wake-ups processed (a branch on a segment, a Flex template rendered with a
//!   profile value, the ledger claim and settle, the move to the exit) with a null sender.
//! - `enroll_from_segment/1M`: a segment evaluated over 1M profiles and the members enrolled, each
//!   with a wake-up.
//! - The memory per pending wake-up at 1M users is printed before the benchmarks run
//!   (`bytes per pending wake-up`), from the store's table sizes and from the process's resident
//!   memory.
//!
//! `cargo bench -p line-scenarios`

use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use jiff::Timestamp;
use line_core::clock::ManualClock;
use line_core::ids::UserId;
use line_scenarios::memory::InMemoryStore;
use line_scenarios::model::Reentry;
use line_scenarios::profiles::InMemoryProfiles;
use line_scenarios::sender::NullSender;
use line_scenarios::{json, Engine};
use line_segments::ast::LineFact;
use line_segments::eval::CompiledSegment;
use line_segments::profile::{Event, Profile, ProfileView, Value, ValueRef};

const SCENARIO: &str = r#"{"id": "bench", "trigger": {"event": {"name": "cart_updated"}}, "steps": [
  {"id": "check", "if": {"segment": {"attr": "points", "op": "ge", "value": 0}}, "then": "send", "else": "end"},
  {"id": "send", "send": {"flex": {"alt_text": "Hi {name}", "contents": {"type": "bubble", "body": {"type": "box",
    "layout": "vertical", "contents": [{"type": "text", "text": "Hi {name}, your points are waiting"}]}},
    "vars": {"name": {"attribute": "name"}}}}},
  {"id": "end", "exit": {}}
]}"#;

fn user(i: usize) -> UserId {
    UserId::new(format!("U{i:032x}"))
}

fn t0() -> Timestamp {
    "2026-05-15T01:00:00Z".parse().unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().build().unwrap()
}

fn due_wakeups(c: &mut Criterion) {
    const N: usize = 100_000;
    let users: Vec<UserId> = (0..N).map(user).collect();
    let profiles = Arc::new(InMemoryProfiles::with_profiles(users.iter().enumerate().map(
        |(i, u)| {
            Profile::new(u.clone())
                .with_attr("name", Value::Str(format!("member {i}")))
                .with_attr("points", Value::Num(i as f64))
        },
    )));
    let rt = runtime();
    let mut g = c.benchmark_group("due_wakeups");
    g.sample_size(10);
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("branch_render_ledger_null_sender/100k", |b| {
        b.iter_batched(
            || {
                let store = Arc::new(InMemoryStore::with_capacity(N));
                store.enroll_many("bench", &users, Reentry::NotWhileInside, t0());
                let engine = Engine::builder(vec![json::from_str(SCENARIO).unwrap()])
                    .state(store.clone())
                    .scheduler(store.clone())
                    .profiles(profiles.clone())
                    .sender(Arc::new(NullSender))
                    .clock(Arc::new(ManualClock::new(t0())))
                    .build()
                    .unwrap();
                (engine, store)
            },
            |(engine, store)| {
                let r = rt.block_on(engine.run_due()).unwrap();
                assert_eq!(r.processed, N);
                black_box(store)
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

/// A lean profile: the id and one number.
struct Lite {
    id: UserId,
    points: f64,
}

impl ProfileView for Lite {
    fn attr(&self, _: usize, name: &str) -> Option<ValueRef<'_>> {
        (name == "points").then_some(ValueRef::Num(self.points))
    }
    fn line_fact(&self, _: LineFact) -> Option<ValueRef<'_>> {
        None
    }
    fn events(&self) -> &[Event] {
        &[]
    }
}

fn enroll_from_segment(c: &mut Criterion) {
    const N: usize = 1_000_000;
    let profiles: Vec<Lite> = (0..N)
        .map(|i| Lite {
            id: user(i),
            points: (i % 1000) as f64,
        })
        .collect();
    let segment = CompiledSegment::compile(&line_segments::text::parse("points >= 0").unwrap()).unwrap();
    let mut g = c.benchmark_group("enroll_from_segment");
    g.sample_size(10);
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("1M", |b| {
        b.iter_batched(
            || InMemoryStore::with_capacity(N),
            |store| {
                let eval = segment.at(t0());
                let members = profiles.iter().filter(|p| eval.matches(*p)).map(|p| &p.id);
                let n = store.enroll_many("launch", members, Reentry::Once, t0());
                assert_eq!(n, N);
                store
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

fn resident_bytes() -> Option<usize> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: usize = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// Prints the memory per pending wake-up with 1M users waiting.
fn memory_per_pending_wakeup() {
    const N: usize = 1_000_000;
    let users: Vec<UserId> = (0..N).map(user).collect();
    let before = resident_bytes();
    let store = InMemoryStore::new();
    store.enroll_many("waiting", &users, Reentry::NotWhileInside, t0());
    let after = resident_bytes();
    let table = store.approx_bytes();
    eprintln!(
        "bytes per pending wake-up at 1M users: {:.0} (table capacities){}",
        table as f64 / N as f64,
        match (before, after) {
            (Some(b), Some(a)) => format!(
                ", {:.0} (resident memory growth)",
                a.saturating_sub(b) as f64 / N as f64
            ),
            _ => String::new(),
        }
    );
    black_box(store);
}

fn memory(_: &mut Criterion) {
    memory_per_pending_wakeup();
}

criterion_group!(benches, memory, due_wakeups, enroll_from_segment);
criterion_main!(benches);
