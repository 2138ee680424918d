//! The PostgreSQL store on a real server (`LINE_STORES_PG_URL`, by default the database of
//! `line-segments/ci-setup.sh`): the conformance suites, schema management, a restart of the
//! engine that loses nothing and sends nothing twice, the atomic operations from two processes at
//! once, and failures (server down, connections dropped). Each test works under a fresh table
//! prefix and drops its tables at the end; with `CI` set, a missing server fails them.
#![cfg(feature = "postgres")]

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use jiff::{SignedDuration, Timestamp};
use line_core::clock::{Clock, ManualClock};
use line_core::ids::UserId;
use line_core::store::postgres::PgPool;
use line_core::testing::store::{
    child_index, fresh_prefix, pg_batch, pg_drop_prefix, pg_pool, pg_table_scans, pg_url, report, run_children,
};
use line_scenarios::budget::{Budget, ContactStore, Gate};
use line_scenarios::model::Reentry;
use line_scenarios::postgres::PgProfiles;
use line_scenarios::postgres::PgStore;
use line_scenarios::postgres::{PgClickStore, PgSources};
use line_scenarios::profiles::InMemoryProfiles;
use line_scenarios::profiles::ProfileStore;
use line_scenarios::sender::RecordingSender;
use line_scenarios::sources::SourceStore;
use line_scenarios::store::*;
use line_scenarios::testing::{
    contact_store_conformance, profile_store_conformance, scheduler_conformance, source_store_conformance,
    state_store_conformance,
};
use line_scenarios::tracking::{click_store_conformance, ClickStore, Link};
use line_scenarios::{json, Engine, ErrorKind};
use line_segments::profile::{Event, Value};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn key(scenario: &str, user: &str, step: u16) -> SendKey {
    SendKey {
        scenario: Arc::from(scenario),
        user: UserId::new(user),
        entry: 1,
        step,
        seq: 0,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_store_passes_the_conformance_suites() {
    let Some(pool) = pg_pool().await else { return };
    let prefix = fresh_prefix("scn");
    let store = Arc::new(PgStore::with_prefix(&pool, &prefix).await.unwrap());
    let clock = line_core::clock::ManualClock::new(jiff::Timestamp::UNIX_EPOCH);
    state_store_conformance(store.clone(), &clock).await;
    // A second run on the same tables (other keys) passes too.
    state_store_conformance(store.clone(), &clock).await;
    scheduler_conformance(store.clone(), &clock).await;
    contact_store_conformance(store, &clock).await;
    pg_drop_prefix(&pool, &prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_profiles_pass_the_conformance_suite_and_keep_whole_profiles() {
    let Some(pool) = pg_pool().await else { return };
    let prefix = fresh_prefix("scn_prof");
    let store = Arc::new(PgProfiles::with_prefix(&pool, &prefix).await.unwrap());
    let clock = line_core::clock::ManualClock::new(jiff::Timestamp::UNIX_EPOCH);
    profile_store_conformance(store.clone(), &clock).await;

    // A whole profile, with LINE facts and a history start, reads back as it was put.
    let mut p = line_segments::profile::Profile::new(UserId::new("Uwhole"));
    p.attributes.insert("tier", Value::Str("gold".into()));
    p.attributes
        .insert("birthday", Value::Date("1990-05-01".parse().unwrap()));
    p.line.is_friend = Some(true);
    p.line.store = Some("shibuya".into());
    p.history_start = Some(t("2026-01-01T00:00:00Z"));
    p.events
        .push(Event::new("purchase", t("2026-05-01T10:00:00.25Z")).with("amount", Value::Num(1200.0)));
    store.insert(&p).await.unwrap();
    assert_eq!(store.profile(&p.id).await.unwrap().as_deref(), Some(&p));
    store.add_tag(&p.id, "vip").await.unwrap();
    let got = store.profile(&p.id).await.unwrap().unwrap();
    assert_eq!(got.line, p.line, "acts keep the LINE facts");
    assert_eq!(got.attributes.len(), 3);

    // Concurrent acts on one user do not lose each other's changes (24 calls on 4 connections).
    let small = PgPool::connect_with_size(&pg_url(), 4).unwrap();
    let store = Arc::new(PgProfiles::with_prefix(&small, &prefix).await.unwrap());
    let tasks: Vec<_> = (0..24)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move { store.add_tag(&UserId::new("Uconcurrent"), &format!("t{i}")).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let got = store.profile(&UserId::new("Uconcurrent")).await.unwrap().unwrap();
    match got.attributes.get(line_scenarios::profiles::TAGS) {
        Some(Value::Set(tags)) => assert_eq!(tags.len(), 24, "every tag is kept"),
        other => panic!("tags: {other:?}"),
    }
    pg_drop_prefix(&pool, &prefix).await;
}

#[tokio::test]
async fn postgres_migrations_are_versioned_idempotent_and_prefixed() {
    let Some(pool) = pg_pool().await else { return };
    let (pa, pb) = (fresh_prefix("scn_a"), fresh_prefix("scn_b"));
    let a = PgStore::with_prefix(&pool, &pa).await.unwrap();
    assert_eq!(a.schema_version().await.unwrap(), 1);
    let again = PgStore::with_prefix(&pool, &pa).await.unwrap();
    assert_eq!(
        again.schema_version().await.unwrap(),
        1,
        "opening again applies nothing twice"
    );
    let b = PgStore::with_prefix(&pool, &pb).await.unwrap();
    let u = UserId::new("U1");
    again
        .enroll("s", &u, Reentry::Once, t("2026-05-01T00:00:00Z"), Vec::new())
        .await
        .unwrap();
    assert!(
        a.enrollment("s", &u).await.unwrap().is_some(),
        "one prefix, one set of tables"
    );
    assert!(
        b.enrollment("s", &u).await.unwrap().is_none(),
        "prefixes keep two stores apart"
    );
    for bad in ["Bad_", "x;drop table y", ""] {
        let e = PgStore::with_prefix(&pool, bad).await.unwrap_err();
        assert!(
            matches!(e.kind(), ErrorKind::Config { field, .. } if field == "prefix"),
            "{bad:?}: {e}"
        );
    }
    pg_drop_prefix(&pool, &pa).await;
    pg_drop_prefix(&pool, &pb).await;
}

#[tokio::test]
async fn postgres_contacts_outside_the_window_are_purged() {
    let Some(pool) = pg_pool().await else { return };
    let prefix = fresh_prefix("scn_purge");
    let store = PgStore::with_prefix(&pool, &prefix).await.unwrap();
    let week = SignedDuration::from_hours(7 * 24);
    let t0 = t("2026-05-01T00:00:00Z");
    for i in 0..300 {
        let u = UserId::new(format!("U{i}"));
        assert!(store.take(&u, "k", 1, week, t0).await.unwrap());
    }
    // 300 takes at t0: the amortised purge (every 256 takes) found nothing old enough.
    assert_eq!(store.purge_expired(week, t0).await.unwrap(), 0);
    let later = t("2026-05-09T00:00:00Z");
    // 256 more takes a week later: the amortised purge deletes a batch of the old ones.
    for i in 0..256 {
        let u = UserId::new(format!("V{i}"));
        assert!(store.take(&u, "k", 1, week, later).await.unwrap());
    }
    let rest = store.purge_expired(week, later).await.unwrap();
    assert!(
        rest < 300,
        "the hot path deleted a batch on its own ({rest} left for the explicit purge)"
    );
    assert_eq!(store.purge_expired(week, later).await.unwrap(), 0);
    assert_eq!(
        store.count(&UserId::new("V0"), week, later).await.unwrap(),
        1,
        "contacts inside the window stay"
    );
    pg_drop_prefix(&pool, &prefix).await;
}

const SERIES: &str = r#"{"id": "series", "trigger": {"event": {"name": "signup"}}, "steps": [
  {"id": "hello", "send": {"flex": {"alt_text": "Welcome {name}", "contents": {"type": "bubble", "body": {"type": "box",
    "layout": "vertical", "contents": [{"type": "text", "text": "Welcome {name}"}]}}, "vars": {"name": {"event": "name"}}}}},
  {"id": "wait", "wait": {"for": "1d"}},
  {"id": "tips", "send": {"messages": [{"type": "text", "text": "Day 2 tips"}]}},
  {"id": "wait2", "wait": {"for": "2d"}},
  {"id": "offer", "send": {"messages": [{"type": "text", "text": "Day 4 offer"}]}}
]}"#;

async fn engine(
    pool: &PgPool,
    prefix: &str,
    clock: &ManualClock,
    sender: &Arc<RecordingSender>,
    profiles: &Arc<InMemoryProfiles>,
) -> (Engine, Arc<PgStore>) {
    let store = Arc::new(PgStore::with_prefix(pool, prefix).await.unwrap());
    let engine = Engine::builder(vec![json::from_str(SERIES).unwrap()])
        .state(store.clone())
        .scheduler(store.clone())
        .gate(Gate::new(store.clone(), Budget::per_week(10)))
        .profiles(profiles.clone())
        .sender(sender.clone())
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap();
    (engine, store)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_restart_loses_nothing_and_sends_nothing_twice() {
    let Some(pool) = pg_pool().await else { return };
    let prefix = fresh_prefix("scn_restart");
    let clock = ManualClock::new(t("2026-05-15T01:00:00Z"));
    let sender = Arc::new(RecordingSender::new());
    let profiles = Arc::new(InMemoryProfiles::new());
    let users: Vec<UserId> = (0..20).map(|i| UserId::new(format!("U{i:032x}"))).collect();
    {
        let (engine, _) = engine(&pool, &prefix, &clock, &sender, &profiles).await;
        for (i, u) in users.iter().enumerate() {
            let e = Event::new("signup", clock.now()).with("name", Value::Str(format!("user {i}")));
            engine.on_event(u, &e).await.unwrap();
            clock.advance(SignedDuration::from_mins(1));
        }
        assert_eq!(sender.pushed().len(), 20, "the welcome goes out at once");
        clock.advance(SignedDuration::from_hours(24) - SignedDuration::from_mins(10));
        engine.run_due().await.unwrap();
    }
    assert_eq!(sender.pushed().len(), 31, "11 day-2 tips were due");
    for _ in 0..3 {
        // Restarts (a new store value on the same tables), each re-creating wake-ups and running.
        let (engine, store) = engine(&pool, &prefix, &clock, &sender, &profiles).await;
        engine.recover().await.unwrap();
        engine.run_due().await.unwrap();
        assert!(store.pending().await.unwrap() > 0, "wake-ups are kept in the database");
        clock.advance(SignedDuration::from_hours(24));
    }
    let (engine, store) = engine(&pool, &prefix, &clock, &sender, &profiles).await;
    engine.recover().await.unwrap();
    engine.run_due().await.unwrap();
    let pushed = sender.pushed();
    assert_eq!(
        pushed.len(),
        60,
        "welcome, tips and offer for each of the 20, each once"
    );
    for u in &users {
        assert_eq!(pushed.iter().filter(|p| p.user == *u).count(), 3, "{u:?}");
        let e = store.enrollment("series", u).await.unwrap().unwrap();
        assert_eq!(e.status, Status::Exited(ExitReason::Completed));
        assert_eq!(
            store
                .count(u, SignedDuration::from_hours(7 * 24), clock.now())
                .await
                .unwrap(),
            3,
            "each of the three sends took one slot of the contact budget, once"
        );
    }
    assert!(
        pushed[0].messages.contains("Welcome user 0"),
        "event values survive in the database"
    );
    pg_drop_prefix(&pool, &prefix).await;
}

/// How many of each the children of the two-process test work on.
const KEYS: usize = 300;
const USERS: usize = 100;
const CONTACT_KEYS: usize = 40;
const CONTACT_LIMIT: u32 = 7;
const WAKES: usize = 200;

/// Two processes at once, on one database, each doing the same work in the same order from the
/// same instant (16 calls in flight): claim the same 300 send keys, enroll the same 100 users, take
/// contact slots for one user (40 keys each, limit 7), and, alongside, drain one queue of 200
/// wake-ups. In all: each key claimed new once, each user entered once, exactly 7 contacts, and
/// each wake-up delivered once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_two_processes_claim_enroll_take_and_lease_atomically() {
    if let Some(child) = child_index() {
        // A small pool: 16 calls in flight share 4 connections (opening 16 at one instant can
        // take longer than the pool's connect timeout on a loaded machine).
        let pool = PgPool::connect_with_size(&pg_url(), 4).unwrap();
        let prefix = std::env::var("LINE_TEST_PREFIX").unwrap();
        let store = Arc::new(PgStore::with_prefix(&pool, &prefix).await.unwrap());
        let at = t("2026-05-01T00:00:00Z");
        let s = store.clone();
        let drain = tokio::spawn(async move {
            let mut got = Vec::new();
            loop {
                let batch = s.due(at, 7, SignedDuration::from_hours(1)).await.unwrap();
                if batch.is_empty() {
                    return got;
                }
                got.extend(batch.into_iter().map(|w| w.user));
            }
        });
        let one = |i: usize| {
            let s = store.clone();
            tokio::spawn(async move {
                let new = s.claim(&key("cart", &format!("U{i}"), 1), at).await.unwrap() == Claim::New;
                let entered = i < USERS
                    && matches!(
                        s.enroll(
                            "cart",
                            &UserId::new(format!("U{i}")),
                            Reentry::NotWhileInside,
                            at,
                            Vec::new()
                        )
                        .await
                        .unwrap(),
                        EnrollOutcome::Entered(_)
                    );
                let week = SignedDuration::from_hours(7 * 24);
                let admitted = i < CONTACT_KEYS
                    && s.take(
                        &UserId::new("Ubudget"),
                        &format!("p{child}-{i}"),
                        CONTACT_LIMIT,
                        week,
                        at,
                    )
                    .await
                    .unwrap();
                [new, entered, admitted].map(usize::from)
            })
        };
        let mut totals = [0usize; 3];
        let mut tasks: Vec<JoinHandle<[usize; 3]>> = Vec::new();
        for i in 0..KEYS {
            tasks.push(one(i));
            if tasks.len() == 16 || i == KEYS - 1 {
                for t in tasks.drain(..) {
                    let r = t.await.unwrap();
                    (0..3).for_each(|j| totals[j] += r[j]);
                }
            }
        }
        report(&format!("claim:{}", totals[0]));
        report(&format!("enroll:{}", totals[1]));
        report(&format!("take:{}", totals[2]));
        for u in drain.await.unwrap() {
            report(&format!("wake:{}", u.as_str()));
        }
        return;
    }
    let Some(pool) = pg_pool().await else { return };
    let prefix = fresh_prefix("scn_two_proc");
    let store = PgStore::with_prefix(&pool, &prefix).await.unwrap();
    for i in 0..WAKES {
        store
            .schedule(&WakeUp {
                scenario: Arc::from("cart"),
                user: UserId::new(format!("W{i}")),
                entry: 1,
                at: t("2026-04-30T00:00:00Z"),
            })
            .await
            .unwrap();
    }
    let reports = run_children(
        "postgres_two_processes_claim_enroll_take_and_lease_atomically",
        2,
        &[("LINE_TEST_PREFIX", prefix.clone())],
    );
    let sum = |what: &str| -> usize {
        reports
            .iter()
            .flatten()
            .filter_map(|r| r.strip_prefix(what))
            .map(|n| n.parse::<usize>().unwrap())
            .sum()
    };
    for (i, r) in reports.iter().enumerate() {
        let counts: Vec<&String> = r.iter().filter(|x| !x.starts_with("wake:")).collect();
        let wakes = r.len() - counts.len();
        eprintln!("child {i}: {counts:?}, {wakes} wake-ups");
    }
    assert_eq!(sum("claim:"), KEYS, "each key is claimed new once ({reports:?})");
    assert_eq!(sum("enroll:"), USERS, "each user enters once");
    assert_eq!(
        sum("take:"),
        CONTACT_LIMIT as usize,
        "the contact limit holds across processes"
    );
    let week = SignedDuration::from_hours(7 * 24);
    assert_eq!(
        store
            .count(&UserId::new("Ubudget"), week, t("2026-05-01T00:00:00Z"))
            .await
            .unwrap(),
        CONTACT_LIMIT
    );
    let wakes: Vec<&str> = reports
        .iter()
        .flatten()
        .filter_map(|r| r.strip_prefix("wake:"))
        .collect();
    let distinct: HashSet<&str> = wakes.iter().copied().collect();
    assert_eq!(distinct.len(), WAKES, "every wake-up is delivered");
    assert_eq!(wakes.len(), WAKES, "none twice within its lease");
    for (i, r) in reports.iter().enumerate() {
        assert!(
            r.iter().any(|x| x.starts_with("claim:")),
            "child {i} did its share: {r:?}"
        );
    }
    pg_drop_prefix(&pool, &prefix).await;
}

/// A TCP relay to the test server that can be cut (the server is "down": connections are dropped
/// and new ones refused) and restored on the same port.
struct Relay {
    port: u16,
    upstream: String,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Relay {
    async fn start() -> Self {
        let url: tokio_postgres::Config = pg_url().parse().unwrap();
        let host = match &url.get_hosts()[0] {
            tokio_postgres::config::Host::Tcp(h) => h.clone(),
            #[allow(unreachable_patterns)]
            _ => "127.0.0.1".to_owned(),
        };
        let upstream = format!("{host}:{}", url.get_ports().first().copied().unwrap_or(5432));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let relay = Relay {
            port: listener.local_addr().unwrap().port(),
            upstream,
            tasks: Arc::default(),
        };
        relay.serve(listener);
        relay
    }

    fn serve(&self, listener: TcpListener) {
        let (upstream, tasks) = (self.upstream.clone(), self.tasks.clone());
        let inner = self.tasks.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut down, _)) = listener.accept().await {
                let upstream = upstream.clone();
                let conn = tokio::spawn(async move {
                    if let Ok(mut up) = TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut down, &mut up).await;
                    }
                });
                inner.lock().unwrap().push(conn);
            }
        });
        tasks.lock().unwrap().push(accept);
    }

    fn url(&self) -> String {
        let url: tokio_postgres::Config = pg_url().parse().unwrap();
        let user = url.get_user().unwrap_or("line");
        let password = url
            .get_password()
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .unwrap_or_default();
        let db = url.get_dbname().unwrap_or("line_segments");
        format!("postgres://{user}:{password}@127.0.0.1:{}/{db}", self.port)
    }

    async fn cut(&self) {
        for t in self.tasks.lock().unwrap().drain(..) {
            t.abort();
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    async fn restore(&self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).await.unwrap();
        self.serve(listener);
    }
}

fn assert_store_error(r: Result<impl std::fmt::Debug, line_scenarios::Error>, op: &str) {
    let e = r.expect_err("the call fails while the server is down");
    match e.kind() {
        ErrorKind::Store { operation, .. } => assert_eq!(operation, op, "{e}"),
        other => panic!("{op}: expected a store error, got {other:?}"),
    }
    assert!(
        std::error::Error::source(&e).is_some(),
        "{op}: the driver's error is the source"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_server_down_gives_typed_errors_and_never_records_a_send_as_done() {
    let Some(pool) = pg_pool().await else { return };
    let prefix = fresh_prefix("scn_down");
    PgStore::with_prefix(&pool, &prefix).await.unwrap();
    let down = PgPool::connect("postgres://line:hunter2@127.0.0.1:1/line").unwrap();
    let e = PgStore::with_prefix(&down, &prefix).await.unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::Store { operation, .. } if operation == "PgStore::migrate"),
        "{e}"
    );
    assert!(!format!("{e} {e:?}").contains("hunter2"), "no password in errors");

    let relay = Relay::start().await;
    let relayed = PgPool::connect(&relay.url()).unwrap();
    let store = PgStore::with_prefix(&relayed, &prefix).await.unwrap();
    let profiles = PgProfiles::with_prefix(&relayed, &prefix).await.unwrap();
    let at = t("2026-05-01T00:00:00Z");
    let k = key("cart", "Udown", 1);
    assert_eq!(store.claim(&k, at).await.unwrap(), Claim::New);
    let u = UserId::new("Udown");
    store
        .enroll("cart", &u, Reentry::NotWhileInside, at, Vec::new())
        .await
        .unwrap();

    // The server goes away, with the pool's connections: LINE accepted the send, but recording
    // it fails; so does every other call, each naming itself.
    relay.cut().await;
    assert_store_error(store.settle(&k, Settled::Accepted).await, "PgStore::settle");
    assert_store_error(store.claim(&k, at).await, "PgStore::claim");
    assert_store_error(
        store.enroll("cart", &u, Reentry::NotWhileInside, at, Vec::new()).await,
        "PgStore::enroll",
    );
    assert_store_error(store.enrollment("cart", &u).await, "PgStore::enrollment");
    assert_store_error(
        store
            .transition("cart", &u, 1, 0, Transition::Exit(ExitReason::Stopped))
            .await,
        "PgStore::transition",
    );
    assert_store_error(store.active_of(&u).await, "PgStore::active_of");
    assert_store_error(store.active_page(None, 10).await, "PgStore::active_page");
    let week = SignedDuration::from_hours(7 * 24);
    assert_store_error(store.take(&u, "k", 3, week, at).await, "PgStore::take");
    assert_store_error(store.give_back(&u, "k").await, "PgStore::give_back");
    assert_store_error(store.count(&u, week, at).await, "PgStore::count");
    let wake = WakeUp {
        scenario: Arc::from("cart"),
        user: u.clone(),
        entry: 1,
        at,
    };
    assert_store_error(store.schedule(&wake).await, "PgStore::schedule");
    assert_store_error(store.due(at, 10, week).await, "PgStore::due");
    assert_store_error(store.ack(std::slice::from_ref(&wake)).await, "PgStore::ack");
    assert_store_error(store.pending().await, "PgStore::pending");
    assert_store_error(profiles.profile(&u).await, "PgProfiles::profile");
    assert_store_error(profiles.page(None, 10).await, "PgProfiles::page");
    assert_store_error(profiles.add_tag(&u, "vip").await, "PgProfiles::add_tag");
    assert_store_error(
        profiles.record_event(&u, &Event::new("purchase", at)).await,
        "PgProfiles::record_event",
    );

    // Back up: the pool makes new connections, and the send is still pending, not done.
    relay.restore().await;
    let mut claim = store.claim(&k, at).await;
    for _ in 0..20 {
        if claim.is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        claim = store.claim(&k, at).await;
    }
    assert_eq!(
        claim.unwrap(),
        Claim::Pending { since: at },
        "a send whose settle failed is not recorded as done"
    );
    store.settle(&k, Settled::Accepted).await.unwrap();
    assert_eq!(store.claim(&k, at).await.unwrap(), Claim::Done);
    assert!(
        !format!("{store:?}").contains(&relay.url()),
        "the store does not print its URL"
    );
    relay.cut().await;
    pg_drop_prefix(&pool, &prefix).await;
}

// ---------------------------------------------------------------------------------------------
// Friend sources and tracked clicks.
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_sources_and_clicks_pass_their_conformance_suites() {
    let Some(pool) = pg_pool().await else { return };
    let prefix = fresh_prefix("scn_src");
    let clock = ManualClock::new(Timestamp::UNIX_EPOCH);
    let sources = Arc::new(PgSources::with_prefix(&pool, &prefix).await.unwrap());
    source_store_conformance(sources.clone(), &clock).await;
    // Again on the same tables (other keys), and through a second store on them (migrations
    // already applied).
    source_store_conformance(sources, &clock).await;
    source_store_conformance(Arc::new(PgSources::with_prefix(&pool, &prefix).await.unwrap()), &clock).await;
    let clicks = Arc::new(PgClickStore::with_prefix(&pool, &prefix).await.unwrap());
    click_store_conformance(clicks.clone(), &clock).await;
    click_store_conformance(clicks, &clock).await;
    click_store_conformance(
        Arc::new(PgClickStore::with_prefix(&pool, &prefix).await.unwrap()),
        &clock,
    )
    .await;

    // The migrations are recorded under their own components, and the tables are prefixed.
    let conn = pool.get().await.unwrap();
    let c = conn.client();
    for component in ["scenario_sources", "scenario_clicks"] {
        let v: i64 = c
            .query_one(
                &format!("SELECT version FROM {prefix}schema_version WHERE component = $1"),
                &[&component],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(v, 1, "{component}");
    }
    for table in ["src_token", "src_binding", "src_count", "scn_click"] {
        let n: i64 = c
            .query_one(
                "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename = $1",
                &[&format!("{prefix}{table}")],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(n, 1, "{prefix}{table}");
    }
    drop(conn);
    let e = PgSources::with_prefix(&pool, "Bad-Prefix").await.unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Config { .. }), "{e}");
    let e = PgClickStore::with_prefix(&pool, "Bad-Prefix").await.unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Config { .. }), "{e}");
    pg_drop_prefix(&pool, &prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_sources_and_clicks_down_give_typed_errors() {
    let Some(pool) = pg_pool().await else { return };
    let prefix = fresh_prefix("scn_src_down");
    let down = PgPool::connect("postgres://line:hunter2@127.0.0.1:1/line").unwrap();
    let e = PgSources::with_prefix(&down, &prefix).await.unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::Store { operation, .. } if operation == "PgSources::migrate"),
        "{e}"
    );
    assert!(!format!("{e} {e:?}").contains("hunter2"), "no password in errors");
    let e = PgClickStore::with_prefix(&down, &prefix).await.unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::Store { operation, .. } if operation == "PgClickStore::migrate"),
        "{e}"
    );

    let relay = Relay::start().await;
    let relayed = PgPool::connect(&relay.url()).unwrap();
    let sources = PgSources::with_prefix(&relayed, &prefix).await.unwrap();
    let clicks = PgClickStore::with_prefix(&relayed, &prefix).await.unwrap();
    let at = t("2026-05-01T00:00:00Z");
    let later = t("2026-05-01T01:00:00Z");
    let u = UserId::new("Udown");
    sources.visit("flyer", "tok", later).await.unwrap();
    relay.cut().await;
    assert_store_error(sources.visit("flyer", "tok2", later).await, "PgSources::visit");
    assert_store_error(sources.bind("tok", &u, at, later).await, "PgSources::bind");
    assert_store_error(sources.follow(&u, None, at).await, "PgSources::follow");
    assert_store_error(sources.follow(&u, Some("ev"), at).await, "PgSources::follow");
    assert_store_error(sources.unfollow(&u, Some("ev")).await, "PgSources::unfollow");
    assert_store_error(sources.convert(&u, "order-1", 100.0).await, "PgSources::convert");
    assert_store_error(sources.source_of(&u).await, "PgSources::source_of");
    assert_store_error(sources.counts("flyer").await, "PgSources::counts");
    let link = Link::new("cart", 1, 1, u.clone(), "https://x.example/");
    assert_store_error(clicks.record_click(&link, at).await, "PgClickStore::record_click");
    assert_store_error(clicks.clicks("cart").await, "PgClickStore::clicks");
    assert!(
        !format!("{sources:?} {clicks:?}").contains(&relay.url()),
        "no URL in Debug"
    );
    pg_drop_prefix(&pool, &prefix).await;
}

/// How many users the two-process source test binds; each child follows each of them, and
/// records each click, from 16 tasks at once.
const SOURCE_USERS: usize = 60;

/// Two processes at once, on the same tables: the same follow (with and without an event id),
/// block, conversion and click from both. In all: each binding is taken by one follow, each
/// friend, block, conversion and click counts once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_two_processes_take_a_binding_and_count_a_click_once() {
    if let Some(child) = child_index() {
        let pool = PgPool::connect_with_size(&pg_url(), 4).unwrap();
        let prefix = std::env::var("LINE_TEST_PREFIX").unwrap();
        let sources = Arc::new(PgSources::with_prefix(&pool, &prefix).await.unwrap());
        let clicks = Arc::new(PgClickStore::with_prefix(&pool, &prefix).await.unwrap());
        let at = t("2026-05-01T00:00:00Z");
        let one = |i: usize| {
            let (s, c) = (sources.clone(), clicks.clone());
            tokio::spawn(async move {
                let u = UserId::new(format!("U{i}"));
                // Even users follow with an event id (the same in both processes), odd without.
                let event = i.is_multiple_of(2).then(|| format!("follow-{i}"));
                let took = s.follow(&u, event.as_deref(), at).await.unwrap();
                let new_click = c
                    .record_click(&Link::new("cart", 1, 1, u.clone(), "https://x.example/"), at)
                    .await
                    .unwrap();
                s.unfollow(&u, Some(&format!("block-{i}"))).await.unwrap();
                s.convert(&u, &format!("order-{i}"), 100.0).await.unwrap();
                (took, new_click)
            })
        };
        let mut tasks = Vec::new();
        for i in 0..SOURCE_USERS {
            tasks.push(one(i));
            if tasks.len() == 16 || i == SOURCE_USERS - 1 {
                for task in tasks.drain(..) {
                    let (took, new_click) = task.await.unwrap();
                    report(&format!("follow:{}", took.as_deref().unwrap_or("-")));
                    report(&format!("click:{}", usize::from(new_click)));
                }
            }
        }
        report(&format!("child:{child}"));
        return;
    }
    let Some(pool) = pg_pool().await else { return };
    let prefix = fresh_prefix("scn_src_two");
    let sources = PgSources::with_prefix(&pool, &prefix).await.unwrap();
    let clicks = PgClickStore::with_prefix(&pool, &prefix).await.unwrap();
    let at = t("2026-05-01T00:00:00Z");
    let later = t("2026-05-02T00:00:00Z");
    for i in 0..SOURCE_USERS {
        let token = format!("tok{i}");
        sources.visit("flyer", &token, later).await.unwrap();
        let bound = sources.bind(&token, &UserId::new(format!("U{i}")), at, later).await;
        assert_eq!(bound.unwrap().as_deref(), Some("flyer"));
    }
    let reports = run_children(
        "postgres_two_processes_take_a_binding_and_count_a_click_once",
        2,
        &[("LINE_TEST_PREFIX", prefix.clone())],
    );
    let all: Vec<&str> = reports.iter().flatten().map(String::as_str).collect();
    assert_eq!(all.iter().filter(|r| r.starts_with("child:")).count(), 2, "{reports:?}");
    let matched = all.iter().filter(|r| **r == "follow:flyer").count();
    let unmatched = all.iter().filter(|r| **r == "follow:-").count();
    // A repeated event gives the first answer (the source) in both processes; a follow without
    // an event id finds the binding taken in the second.
    assert_eq!(matched, SOURCE_USERS + SOURCE_USERS / 2, "{reports:?}");
    assert_eq!(unmatched, SOURCE_USERS / 2, "{reports:?}");
    let clicked: usize = all
        .iter()
        .filter_map(|r| r.strip_prefix("click:"))
        .map(|n| n.parse::<usize>().unwrap())
        .sum();
    assert_eq!(clicked, SOURCE_USERS, "each click counts new once");
    assert_eq!(
        clicks.clicks("cart").await.unwrap(),
        std::collections::BTreeMap::from([(1, SOURCE_USERS as u64)])
    );
    let counts = sources.counts("flyer").await.unwrap();
    assert_eq!(counts.visits, SOURCE_USERS as u64);
    assert_eq!(counts.friends, SOURCE_USERS as u64, "each binding is taken once");
    assert_eq!(counts.blocks, SOURCE_USERS as u64, "each block counts once");
    assert_eq!(counts.conversions, SOURCE_USERS as u64, "each conversion counts once");
    assert_eq!(counts.revenue, 100.0 * SOURCE_USERS as f64);
    pg_drop_prefix(&pool, &prefix).await;
}

/// A lease of due wake-ups and its acknowledgement read the queue through its indexes, also
/// on a connection that leased while the queue held a few rows and after the queue grew to
/// thousands before autovacuum analysed it again. A statement cached per connection would
/// keep the plan made for the small table (read it whole) until then; `due` and `ack` are
/// planned on each call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_due_and_ack_read_a_queue_that_grew_through_its_indexes() {
    let Some(pool) = pg_pool().await else { return };
    let prefix = fresh_prefix("scn_plans");
    let table = format!("{prefix}scn_wakeup");
    // One connection, so that every lease runs in the same server process.
    let one = PgPool::connect_with_size(&pg_url(), 1).unwrap();
    let store = PgStore::with_prefix(&one, &prefix).await.unwrap();
    // The time before autovacuum comes by, held still.
    pg_batch(&pool, &format!("ALTER TABLE {table} SET (autovacuum_enabled = off)")).await;
    let now = t("2026-12-07T10:00:00Z");
    let wakes: Vec<WakeUp> = (0..8)
        .map(|i| WakeUp {
            scenario: Arc::from("welcome"),
            user: UserId::new(format!("U{i}")),
            entry: 1,
            at: now - SignedDuration::from_secs(60),
        })
        .collect();
    store.schedule_many(&wakes).await.unwrap();
    pg_batch(&pool, &format!("ANALYZE {table}")).await;
    // Leases on the small queue: the first takes the 8, the others find nothing.
    let mut leased = 0;
    for _ in 0..8 {
        leased += store.due(now, 100, SignedDuration::from_secs(300)).await.unwrap().len();
    }
    assert_eq!(leased, 8);
    for _ in 0..8 {
        store.ack(&wakes).await.unwrap();
    }
    // The queue grows to 20,008 wake-ups, the new ones due tomorrow.
    let later = (now + SignedDuration::from_hours(24)).as_second();
    pg_batch(
        &pool,
        &format!(
            "INSERT INTO {table} (scenario, user_id, entry, at, next_at) \
             SELECT 'welcome', 'V' || i, 1, {later}, {later} FROM generate_series(1, 20000) AS i"
        ),
    )
    .await;
    let before = pg_table_scans(&pool, &one, &table).await;
    for _ in 0..8 {
        assert!(store
            .due(now, 100, SignedDuration::from_secs(300))
            .await
            .unwrap()
            .is_empty());
        store.ack(&wakes).await.unwrap();
    }
    let after = pg_table_scans(&pool, &one, &table).await;
    assert_eq!(after.0 - before.0, 0, "the wake-up queue was read whole");
    assert!(
        after.1 - before.1 >= 8,
        "{before:?} {after:?}: fewer index reads than calls"
    );
    // And the wake-ups due tomorrow come out then.
    let tomorrow = store.due(
        now + SignedDuration::from_hours(25),
        100,
        SignedDuration::from_secs(300),
    );
    let tomorrow = tomorrow.await.unwrap();
    assert_eq!(tomorrow.len(), 100);
    store.ack(&tomorrow).await.unwrap();
    assert_eq!(store.pending().await.unwrap(), 19_900);
    drop(store);
    pg_drop_prefix(&pool, &prefix).await;
}
