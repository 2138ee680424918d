//! Benchmarks of the scenario engine on the in-memory store.
//!
//! - `due_wakeups`: due wake-ups processed (a branch on a segment, a Flex template rendered with a
//!   profile value, the ledger claim and settle, the move to the exit, the journal records) with a
//!   null sender. Target: at least 500,000 per second on one core.
//! - `enroll_from_segment/1M`: a segment evaluated over 1M profiles and the members enrolled, each
//!   with a wake-up. Target: at most 2 s.
//! - `send_at_rate_limit/1M`: `Engine::run_due` sending one step to 1M users through a sender
//!   paced at a rate limit (the n-th push starts no earlier than n / rate after the first). LINE's
//!   push limit is 2,000 requests per second, so 1M pushes take 500 s; the bench scales the limit
//!   by 25 (50,000 per second, 20 s ideal), which makes the engine's own cost 25 times more
//!   visible against the ideal. Each run prints its wall time against the ideal. Target: within 5%.
//! - `send_with_latency/2k_20ms_x32`: `Engine::run_due` sending one step to 2,000 users through a
//!   sender that takes 20 ms per push (LINE's round trip), with the default bound of 32 pushes in
//!   flight per batch. Each run prints its wall time against latency × ceil(n / bound) per batch
//!   (1.26 s; one push at a time would take 40 s).
//!
//! The memory per pending wake-up is measured by `benches/memory.rs` (a counting allocator, kept
//! out of this binary so that it does not slow these down).
//!
//! `cargo bench -p line-scenarios --bench scenarios`

use std::hint::black_box;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use jiff::Timestamp;
use line_core::clock::ManualClock;
use line_core::ids::{RetryKey, UserId};
use line_scenarios::memory::InMemoryStore;
use line_scenarios::model::Reentry;
use line_scenarios::profiles::InMemoryProfiles;
use line_scenarios::sender::{Accepted, NullSender, Rendered, SendFailure, Sender};
use line_scenarios::{json, Engine, EngineConfig};
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

/// The CPU time this thread has run (Linux: `/proc/thread-self/schedstat`), to tell the engine's
/// own cost from the wall time on a shared machine.
fn thread_cpu() -> Option<Duration> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    Some(Duration::from_nanos(s.split_whitespace().next()?.parse().ok()?))
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
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
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
                let cpu = thread_cpu();
                let start = Instant::now();
                let r = rt.block_on(engine.run_due()).unwrap();
                let wall = start.elapsed();
                let cpu = thread_cpu()
                    .zip(cpu)
                    .map(|(after, before)| after.saturating_sub(before));
                assert_eq!(r.processed, N);
                if let Some(cpu) = cpu {
                    eprintln!(
                        "due_wakeups: {N} in {:.3} s wall ({:.0} per s), {:.3} s on the CPU ({:.0} per s of one core)",
                        wall.as_secs_f64(),
                        N as f64 / wall.as_secs_f64(),
                        cpu.as_secs_f64(),
                        N as f64 / cpu.as_secs_f64()
                    );
                }
                total += wall;
                black_box(store);
            }
            total
        })
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
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let store = InMemoryStore::with_capacity(N);
                let cpu = thread_cpu();
                let start = Instant::now();
                let eval = segment.at(t0());
                let members = profiles.iter().filter(|p| eval.matches(*p)).map(|p| &p.id);
                let n = store.enroll_many("launch", members, Reentry::Once, t0());
                let wall = start.elapsed();
                let cpu = thread_cpu()
                    .zip(cpu)
                    .map(|(after, before)| after.saturating_sub(before));
                assert_eq!(n, N);
                if let Some(cpu) = cpu {
                    eprintln!(
                        "enroll_from_segment: {N} in {:.3} s wall, {:.3} s on the CPU",
                        wall.as_secs_f64(),
                        cpu.as_secs_f64()
                    );
                }
                total += wall;
                black_box(store);
            }
            total
        })
    });
    g.finish();
}

const BLAST: &str = r#"{"id": "blast", "trigger": {"event": {"name": "launch"}}, "steps": [
  {"id": "send", "send": {"messages": [{"type": "text", "text": "Winter sale: 20% off until Sunday"}]}}
]}"#;

/// A sender that accepts every push, paced at `rate` pushes per second: the n-th push (from 0)
/// is not accepted before `n / rate` seconds after the first, as a client-side limiter at LINE's
/// rate keeps them.
struct Paced {
    rate: f64,
    state: Mutex<(Option<Instant>, u64)>,
}

impl Paced {
    fn new(rate: f64) -> Self {
        Self {
            rate,
            state: Mutex::new((None, 0)),
        }
    }
}

#[async_trait::async_trait]
impl Sender for Paced {
    async fn push(&self, _: &UserId, _: &Rendered, _: RetryKey) -> Result<Accepted, SendFailure> {
        let slot = {
            let mut g = self.state.lock().unwrap();
            let start = *g.0.get_or_insert_with(Instant::now);
            let n = g.1;
            g.1 += 1;
            start + Duration::from_secs_f64(n as f64 / self.rate)
        };
        if slot > Instant::now() {
            tokio::time::sleep_until(slot.into()).await;
        }
        Ok(Accepted::New)
    }
}

/// A sender that accepts every push after a fixed latency.
struct Slow(Duration);

#[async_trait::async_trait]
impl Sender for Slow {
    async fn push(&self, _: &UserId, _: &Rendered, _: RetryKey) -> Result<Accepted, SendFailure> {
        tokio::time::sleep(self.0).await;
        Ok(Accepted::New)
    }
}

fn send_with_latency(c: &mut Criterion) {
    const N: usize = 2_000;
    const LATENCY: Duration = Duration::from_millis(20);
    let users: Vec<UserId> = (0..N).map(user).collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let config = EngineConfig::default();
    let (bound, batch) = (config.push_concurrency, config.batch);
    // Per batch, ceil(size / bound) waves of pushes, one latency each.
    let waves: usize = (0..N.div_ceil(batch))
        .map(|b| (N - b * batch).min(batch).div_ceil(bound))
        .sum();
    let ideal = LATENCY * waves as u32;
    let mut g = c.benchmark_group("send_with_latency");
    g.sample_size(10);
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("2k_20ms_x32", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let store = Arc::new(InMemoryStore::with_capacity(N));
                store.enroll_many("blast", &users, Reentry::NotWhileInside, t0());
                let engine = Engine::builder(vec![json::from_str(BLAST).unwrap()])
                    .state(store.clone())
                    .scheduler(store.clone())
                    .profiles(Arc::new(InMemoryProfiles::new()))
                    .sender(Arc::new(Slow(LATENCY)))
                    .clock(Arc::new(ManualClock::new(t0())))
                    .config(config.clone())
                    .build()
                    .unwrap();
                let start = Instant::now();
                let r = rt.block_on(engine.run_due()).unwrap();
                let wall = start.elapsed();
                assert_eq!(r.processed, N);
                eprintln!(
                    "send_with_latency: {N} pushes of {} ms, {bound} at once: wall {:.3} s, ideal {:.3} s ({:+.1}%), one at a time {:.1} s",
                    LATENCY.as_millis(),
                    wall.as_secs_f64(),
                    ideal.as_secs_f64(),
                    100.0 * (wall.as_secs_f64() / ideal.as_secs_f64() - 1.0),
                    (LATENCY * N as u32).as_secs_f64()
                );
                total += wall;
                black_box(store);
            }
            total
        })
    });
    g.finish();
}

fn send_at_rate_limit(c: &mut Criterion) {
    const N: usize = 1_000_000;
    const RATE: f64 = 50_000.0;
    let users: Vec<UserId> = (0..N).map(user).collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let ideal = Duration::from_secs_f64(N as f64 / RATE);
    let mut g = c.benchmark_group("send_at_rate_limit");
    g.sample_size(10);
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("1M_at_50k_per_s", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let store = Arc::new(InMemoryStore::with_capacity(N));
                store.enroll_many("blast", &users, Reentry::NotWhileInside, t0());
                let engine = Engine::builder(vec![json::from_str(BLAST).unwrap()])
                    .state(store.clone())
                    .scheduler(store.clone())
                    .profiles(Arc::new(InMemoryProfiles::new()))
                    .sender(Arc::new(Paced::new(RATE)))
                    .clock(Arc::new(ManualClock::new(t0())))
                    .build()
                    .unwrap();
                let start = Instant::now();
                let r = rt.block_on(engine.run_due()).unwrap();
                let wall = start.elapsed();
                assert_eq!(r.processed, N);
                eprintln!(
                    "send_at_rate_limit: {N} pushes at {RATE} per s: wall {:.3} s, ideal {:.3} s, {:+.2}% over",
                    wall.as_secs_f64(),
                    ideal.as_secs_f64(),
                    100.0 * (wall.as_secs_f64() / ideal.as_secs_f64() - 1.0)
                );
                total += wall;
                black_box(store);
            }
            total
        })
    });
    g.finish();
}

criterion_group!(
    benches,
    due_wakeups,
    enroll_from_segment,
    send_at_rate_limit,
    send_with_latency
);
criterion_main!(benches);
