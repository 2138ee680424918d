//! Segment evaluation benchmarks.
//!
//! - `A`: five clauses on precomputed attributes, against a hand-written function on the same struct.
//! - `B`: a 90-day count and a 365-day sum over 50 raw events, against a hand-written loop over the
//!   same events.
//! - `batch`: batch evaluation over an in-memory `ProfileSource` (one thread), against the same
//!   predicate compiled to SQL on an in-memory SQLite database with an index. The number of profiles
//!   is `SEG_BENCH_PROFILES` (default 1,000,000, about 10 events each).
//!
//! Run: `CARGO_TARGET_DIR=/work/target-seg cargo bench -p line-segments --bench segments`.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use jiff::{SignedDuration, Timestamp};
use line_segments::ast::LineFact;
use line_segments::eval::CompiledSegment;
use line_segments::profile::{Event, Profile, ProfileView, Value, ValueRef};
use line_segments::source::{evaluate_source, InMemorySource};
use line_segments::sql::{self, Placeholders, SqlMapping};
use line_segments::text;

const NOW: &str = "2026-05-15T03:00:00Z";

/// A small deterministic generator (xorshift64*), so the benches need no extra dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

// ---------------------------------------------------------------------------------------------
// A: precomputed attributes

/// The host's typed profile.
struct Pre {
    gender: String,
    prefs: Vec<String>,
    id_linked: bool,
    birthday_month: u8,
    purchase_count_90d: u32,
}

#[derive(Clone, Copy)]
enum Field {
    Gender,
    Prefs,
    BirthdayMonth,
    PurchaseCount90d,
}

/// How a host exposes its struct to the evaluator: a slot table built once from
/// `CompiledSegment::attributes()`.
struct View<'a> {
    p: &'a Pre,
    layout: &'a [Option<Field>],
}

impl ProfileView for View<'_> {
    #[inline]
    fn attr(&self, slot: usize, _name: &str) -> Option<ValueRef<'_>> {
        Some(match self.layout.get(slot).copied().flatten()? {
            Field::Gender => ValueRef::Str(&self.p.gender),
            Field::Prefs => ValueRef::Set(&self.p.prefs),
            Field::BirthdayMonth => ValueRef::Num(f64::from(self.p.birthday_month)),
            Field::PurchaseCount90d => ValueRef::Num(f64::from(self.p.purchase_count_90d)),
        })
    }
    #[inline]
    fn line_fact(&self, fact: LineFact) -> Option<ValueRef<'_>> {
        match fact {
            LineFact::IdLinked => Some(ValueRef::Bool(self.p.id_linked)),
            _ => None,
        }
    }
    fn events(&self) -> &[Event] {
        &[]
    }
}

/// The floor: the same predicate, written by hand on the same struct.
#[inline(never)]
fn floor_a(p: &Pre) -> bool {
    p.gender == "female"
        && p.prefs.iter().any(|x| x == "cosmetics")
        && !p.id_linked
        && p.birthday_month == 5
        && p.purchase_count_90d >= 2
}

fn pre_profiles(n: usize) -> Vec<Pre> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let prefs = ["cosmetics", "travel", "food", "golf"];
    (0..n)
        .map(|_| Pre {
            gender: if rng.below(4) == 0 { "male" } else { "female" }.to_owned(),
            prefs: (0..rng.below(3))
                .map(|_| prefs[rng.below(4) as usize].to_owned())
                .collect(),
            id_linked: rng.below(4) == 0,
            birthday_month: if rng.below(2) == 0 { 5 } else { 1 + rng.below(12) as u8 },
            purchase_count_90d: rng.below(5) as u32,
        })
        .collect()
}

fn bench_a(c: &mut Criterion) {
    let seg = text::parse(
        r#"gender = "female" and "cosmetics" in prefs and not id_linked and birthday_month = 5 and purchase_count_90d >= 2"#,
    )
    .unwrap();
    let compiled = CompiledSegment::compile(&seg).unwrap();
    let layout: Vec<Option<Field>> = compiled
        .attributes()
        .iter()
        .map(|a| match a.as_str() {
            "gender" => Some(Field::Gender),
            "prefs" => Some(Field::Prefs),
            "birthday_month" => Some(Field::BirthdayMonth),
            "purchase_count_90d" => Some(Field::PurchaseCount90d),
            _ => None,
        })
        .collect();
    let eval = compiled.at(NOW.parse().unwrap());
    let profiles = pre_profiles(1024);
    let ours = profiles
        .iter()
        .filter(|p| eval.matches(&View { p, layout: &layout }))
        .count();
    let floor = profiles.iter().filter(|p| floor_a(p)).count();
    assert_eq!(ours, floor, "the evaluator and the floor must agree before timing them");
    assert!(ours > 0 && ours < profiles.len());

    let mut g = c.benchmark_group("A_five_clauses_precomputed");
    g.throughput(Throughput::Elements(profiles.len() as u64));
    g.bench_function("segment", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for p in black_box(&profiles) {
                n += usize::from(eval.matches(&View { p, layout: &layout }));
            }
            n
        })
    });
    g.bench_function("hand_written_floor", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for p in black_box(&profiles) {
                n += usize::from(floor_a(p));
            }
            n
        })
    });
    g.finish();
}

// ---------------------------------------------------------------------------------------------
// B: raw events

fn event_profiles(n: usize, events_per_profile: usize, seed: u64) -> Vec<Profile> {
    let now: Timestamp = NOW.parse().unwrap();
    let mut rng = Rng(seed);
    let purchase: Arc<str> = Arc::from("purchase");
    let view: Arc<str> = Arc::from("view");
    let amount: Arc<str> = Arc::from("amount");
    (0..n)
        .map(|i| {
            let mut p = Profile::new(format!("U{i:07}"));
            p.attributes.insert(
                "gender",
                Value::Str(if rng.below(2) == 0 { "female" } else { "male" }.into()),
            );
            p.events = (0..events_per_profile)
                .map(|_| {
                    let at = now
                        .checked_sub(SignedDuration::from_secs(rng.below(400 * 86_400) as i64))
                        .unwrap();
                    if rng.below(3) == 0 {
                        Event {
                            name: purchase.clone(),
                            at,
                            props: vec![(amount.clone(), Value::Num((rng.below(60) * 100) as f64))],
                        }
                    } else {
                        Event {
                            name: view.clone(),
                            at,
                            props: Vec::new(),
                        }
                    }
                })
                .collect();
            p
        })
        .collect()
}

/// The floor: one pass over the same events.
#[inline(never)]
fn floor_b(events: &[Event], now: Timestamp, start90: Timestamp, start365: Timestamp) -> bool {
    let mut count = 0u32;
    let mut sum = 0.0f64;
    for e in events {
        if &*e.name == "purchase" && e.at <= now && e.at > start365 {
            if let Some(Value::Num(a)) = e.prop("amount") {
                sum += a;
            }
            if e.at > start90 {
                count += 1;
            }
        }
    }
    count >= 2 && sum >= 10_000.0
}

fn bench_b(c: &mut Criterion) {
    let seg = text::parse("count(purchase, 90d) >= 2 and sum(purchase.amount, 365d) >= 10000").unwrap();
    let compiled = CompiledSegment::compile(&seg).unwrap();
    let now: Timestamp = NOW.parse().unwrap();
    let eval = compiled.at(now);
    let start90 = now.checked_sub(SignedDuration::from_hours(90 * 24)).unwrap();
    let start365 = now.checked_sub(SignedDuration::from_hours(365 * 24)).unwrap();
    let profiles = event_profiles(256, 50, 42);
    let ours = profiles.iter().filter(|p| eval.matches(*p)).count();
    let floor = profiles
        .iter()
        .filter(|p| floor_b(&p.events, now, start90, start365))
        .count();
    assert_eq!(ours, floor, "the evaluator and the floor must agree before timing them");
    assert!(ours > 0 && ours < profiles.len());

    let mut g = c.benchmark_group("B_count_and_sum_over_50_events");
    g.throughput(Throughput::Elements(profiles.len() as u64));
    g.bench_function("segment", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for p in black_box(&profiles) {
                n += usize::from(eval.matches(p));
            }
            n
        })
    });
    g.bench_function("hand_written_floor", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for p in black_box(&profiles) {
                n += usize::from(floor_b(&p.events, now, start90, start365));
            }
            n
        })
    });
    g.finish();
}

// ---------------------------------------------------------------------------------------------
// Batch: in-memory source vs SQLite

fn sqlite(profiles: &[Profile]) -> rusqlite::Connection {
    let mut db = rusqlite::Connection::open_in_memory().unwrap();
    db.execute_batch(
        "CREATE TABLE profiles (user_id TEXT PRIMARY KEY, gender TEXT);
         CREATE TABLE events (user_id TEXT, name TEXT, at INTEGER, amount REAL);",
    )
    .unwrap();
    let tx = db.transaction().unwrap();
    {
        let mut ins_p = tx.prepare("INSERT INTO profiles VALUES (?, ?)").unwrap();
        let mut ins_e = tx.prepare("INSERT INTO events VALUES (?, ?, ?, ?)").unwrap();
        for p in profiles {
            let gender = match p.attributes.get("gender") {
                Some(Value::Str(s)) => Some(s.as_str()),
                _ => None,
            };
            ins_p.execute(rusqlite::params![p.id.as_str(), gender]).unwrap();
            for e in &p.events {
                let amount = match e.prop("amount") {
                    Some(Value::Num(n)) => Some(*n),
                    _ => None,
                };
                ins_e
                    .execute(rusqlite::params![p.id.as_str(), &*e.name, e.at.as_second(), amount])
                    .unwrap();
            }
        }
    }
    tx.commit().unwrap();
    db.execute_batch("CREATE INDEX events_by_user ON events (user_id, name, at); ANALYZE;")
        .unwrap();
    db
}

fn run_sql(db: &rusqlite::Connection, q: &sql::SqlQuery) -> usize {
    let params: Vec<rusqlite::types::Value> = q
        .params
        .iter()
        .map(|p| match p {
            sql::SqlParam::Text(s) => rusqlite::types::Value::Text(s.clone()),
            sql::SqlParam::Int(i) => rusqlite::types::Value::Integer(*i),
            sql::SqlParam::Real(r) => rusqlite::types::Value::Real(*r),
            sql::SqlParam::Bool(b) => rusqlite::types::Value::Integer(i64::from(*b)),
        })
        .collect();
    let mut stmt = db.prepare_cached(&q.sql).unwrap();
    let mut rows = stmt.query(rusqlite::params_from_iter(params)).unwrap();
    let mut n = 0;
    while let Some(row) = rows.next().unwrap() {
        black_box(row.get_ref(0).unwrap());
        n += 1;
    }
    n
}

fn bench_batch(c: &mut Criterion) {
    let n: usize = std::env::var("SEG_BENCH_PROFILES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let seg = text::parse(r#"gender = "female" and count(purchase, 90d) >= 2 and sum(purchase.amount, 365d) >= 10000"#)
        .unwrap();
    let compiled = CompiledSegment::compile(&seg).unwrap();
    let now: Timestamp = NOW.parse().unwrap();
    let profiles = event_profiles(n, 10, 7);
    let db = sqlite(&profiles);
    let source = InMemorySource::new(profiles);
    let mapping: SqlMapping = serde_json::from_value(serde_json::json!({
        "profiles": {"table": "profiles", "id": "user_id"},
        "attributes": {"gender": {"column": "gender", "type": "string"}},
        "events": {"table": "events", "user": "user_id", "name": "name", "at": "at", "props": {"amount": "amount"}}
    }))
    .unwrap();
    let query = sql::compile(&seg, &mapping, now, Placeholders::Question).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let in_process = rt
        .block_on(evaluate_source(&compiled, &source, now, 4096))
        .unwrap()
        .len();
    let in_sql = run_sql(&db, &query);
    assert_eq!(
        in_process, in_sql,
        "SQLite and in-process evaluation must agree before timing them"
    );
    assert!(in_process > 0);

    let mut g = c.benchmark_group(format!("batch_{n}_profiles"));
    g.sample_size(10);
    g.warm_up_time(Duration::from_millis(500));
    g.measurement_time(Duration::from_secs(5));
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function("in_memory_source", |b| {
        b.iter(|| {
            rt.block_on(evaluate_source(&compiled, &source, now, 4096))
                .unwrap()
                .len()
        })
    });
    g.bench_function("sqlite_indexed", |b| b.iter(|| run_sql(&db, &query)));
    g.finish();
}

criterion_group!(benches, bench_a, bench_b, bench_batch);
criterion_main!(benches);
