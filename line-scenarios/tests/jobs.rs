//! Wake-ups on graphile_worker against the PostgreSQL server of the tests: wake-ups scheduled by
//! one process are run by two worker processes on one queue, one of which dies in the middle of
//! a send; every user gets every message once (the emulator's inbox says so), none is lost.
//! Without a server the tests are skipped, unless `CI` is set: then they fail.
#![cfg(all(feature = "graphile", feature = "sqlite", feature = "client"))]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use line_core::clock::{Clock, ManualClock, SystemClock};
use line_core::ids::{RetryKey, UserId};
use line_core::testing::store::{child_index, fresh_sqlite_path, pg_pool, pg_url, remove_sqlite, report, run_children};
use line_emulator::{Emulator, EmulatorConfig};
use line_scenarios::graphile::{GraphileScheduler, TASK};
use line_scenarios::memory::InMemoryStore;
use line_scenarios::model::Reentry;
use line_scenarios::profiles::InMemoryProfiles;
use line_scenarios::sender::{Accepted, RecordingSender, Rendered, SendFailure, Sender};
use line_scenarios::sqlite::SqliteStore;
use line_scenarios::store::{ExitReason, Scheduler, StateStore, Status, WakeUp};
use line_scenarios::{json, Engine, ErrorKind};
use line_segments::profile::Profile;

const SERIES: &str = r#"{"id": "series", "trigger": {"event": {"name": "signup"}}, "steps": [
  {"id": "hello", "send": {"messages": [{"type": "text", "text": "hello"}]}},
  {"id": "wait", "wait": {"for": "1m"}},
  {"id": "later", "send": {"messages": [{"type": "text", "text": "one minute later"}]}}
]}"#;

const USERS: usize = 120;

/// A fresh schema name for one test's graphile_worker tables.
fn fresh_schema(tag: &str) -> String {
    format!("gw_{tag}_{:012x}", rand_u64() & 0xffff_ffff_ffff)
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    );
    h.finish()
}

async fn drop_schema(schema: &str) {
    let pool = pg_pool().await.expect("the server answered before");
    let conn = pool.get().await.unwrap();
    conn.client()
        .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
        .await
        .unwrap();
}

fn engine(store: Arc<SqliteStore>, scheduler: &GraphileScheduler, users: &[UserId], sender: Arc<dyn Sender>) -> Engine {
    let profiles = InMemoryProfiles::with_profiles(users.iter().map(|u| Profile::new(u.clone())));
    Engine::builder(vec![json::from_str(SERIES).unwrap()])
        .state(store)
        .scheduler(Arc::new(scheduler.clone()))
        .profiles(Arc::new(profiles))
        .sender(sender)
        .clock(Arc::new(SystemClock))
        .build()
        .unwrap()
}

/// The emulator's client; the process exits right after LINE accepted its `crash_at`-th push,
/// before the engine records it (a worker dying in the middle of a job).
struct DyingSender {
    client: line_core::client::Client,
    pushes: AtomicUsize,
    crash_at: Option<usize>,
}

#[async_trait::async_trait]
impl Sender for DyingSender {
    async fn push(&self, user: &UserId, m: &Rendered, key: RetryKey) -> Result<Accepted, SendFailure> {
        let r = Sender::push(&self.client, user, m, key).await;
        let n = self.pushes.fetch_add(1, Ordering::SeqCst) + 1;
        if Some(n) == self.crash_at && r.is_ok() {
            report(&format!("crashed after {n} pushes"));
            std::process::exit(0);
        }
        r
    }
}

/// One worker process: runs wake-ups until none is left (at most three minutes).
async fn child(i: usize) {
    let url = std::env::var("LINE_TEST_EMULATOR").unwrap();
    let schema = std::env::var("LINE_TEST_SCHEMA").unwrap();
    let db = std::env::var("LINE_TEST_DB").unwrap();
    let users: Vec<UserId> = std::env::var("LINE_TEST_USERS")
        .unwrap()
        .split(',')
        .map(UserId::new)
        .collect();
    let sender = Arc::new(DyingSender {
        client: line_core::client::Client::builder()
            .token(line_emulator::ANY_TOKEN)
            .base_url(url)
            .build()
            .unwrap(),
        pushes: AtomicUsize::new(0),
        // The second worker dies in the middle of its fifth send.
        crash_at: (i == 1).then_some(5),
    });
    let store = Arc::new(SqliteStore::open(std::path::Path::new(&db), "scn_").unwrap());
    let scheduler = GraphileScheduler::connect(&pg_url(), &schema).await.unwrap();
    let engine = engine(store, &scheduler, &users, sender.clone());
    let worker = Arc::new(
        scheduler
            .worker(engine)
            .concurrency(4)
            .poll_interval(Duration::from_millis(200))
            .heartbeat_interval(Duration::from_secs(1))
            .sweep_interval(Duration::from_secs(1))
            .sweep_threshold(Duration::from_secs(4))
            .start()
            .await
            .unwrap(),
    );
    let running = tokio::spawn({
        let worker = worker.clone();
        async move { worker.run().await }
    });
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        if scheduler.pending().await.unwrap() == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "wake-ups are left after three minutes");
    }
    worker.shutdown();
    running.await.unwrap().unwrap();
    report(&format!("pushes {}", sender.pushes.load(Ordering::SeqCst)));
}

/// Two worker processes on one queue drive a scenario for many users; one dies mid-send.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_workers_on_one_queue_send_every_message_once_across_a_crash() {
    if let Some(i) = child_index() {
        child(i).await;
        return;
    }
    if pg_pool().await.is_none() {
        return; // skipped (a failure when CI is set)
    }
    let emu = Emulator::start_with(EmulatorConfig::new().friends(USERS))
        .await
        .unwrap();
    let users: Vec<UserId> = emu.users().into_iter().map(|u| u.user_id).collect();
    assert_eq!(users.len(), USERS);
    let schema = fresh_schema("two");
    let db = fresh_sqlite_path("scenarios-jobs");
    let store = Arc::new(SqliteStore::open(&db, "scn_").unwrap());
    let scheduler = GraphileScheduler::connect(&pg_url(), &schema).await.unwrap();

    // This process schedules (a launch enters every user, each with a wake-up now) and runs no
    // worker: the children run every wake-up.
    let sender = Arc::new(DyingSender {
        client: emu.client_builder().build().unwrap(),
        pushes: AtomicUsize::new(0),
        crash_at: None,
    });
    let launcher = engine(store.clone(), &scheduler, &users, sender.clone());
    assert_eq!(launcher.launch("series").await.unwrap(), USERS);
    assert_eq!(scheduler.pending().await.unwrap(), USERS);
    assert_eq!(
        launcher.run_due().await.unwrap().processed,
        0,
        "outside a worker the scheduler hands out nothing"
    );
    assert_eq!(emu.delivered_count(), 0);

    let env = [
        ("LINE_TEST_EMULATOR", emu.base_url().to_owned()),
        ("LINE_TEST_SCHEMA", schema.clone()),
        ("LINE_TEST_DB", db.display().to_string()),
        (
            "LINE_TEST_USERS",
            users.iter().map(|u| u.as_str()).collect::<Vec<_>>().join(","),
        ),
    ];
    let reports = tokio::task::spawn_blocking(move || {
        run_children(
            "two_workers_on_one_queue_send_every_message_once_across_a_crash",
            2,
            &env,
        )
    })
    .await
    .unwrap();

    assert_eq!(
        reports[1],
        vec!["crashed after 5 pushes".to_owned()],
        "the second worker died mid-send: {reports:?}"
    );
    let survivor: usize = reports[0]
        .iter()
        .find_map(|r| r.strip_prefix("pushes "))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("the first worker reports its pushes: {reports:?}"));
    assert!(survivor > 0, "the first worker ran wake-ups too");

    // Every user got both messages, each once, in order.
    for u in &users {
        let texts: Vec<String> = emu
            .messages(u)
            .iter()
            .map(|m| {
                let v = serde_json::to_value(&*m.message).unwrap();
                v["text"].as_str().unwrap_or_default().to_owned()
            })
            .collect();
        assert_eq!(texts, ["hello", "one minute later"], "{u:?}");
        let e = store.enrollment("series", u).await.unwrap().unwrap();
        assert_eq!(e.status, Status::Exited(ExitReason::Completed), "{u:?}");
    }
    assert_eq!(emu.delivered_count(), 2 * USERS);
    // The send the dead worker made was made again by the survivor with the same retry key:
    // the survivor's calls and the dead worker's five cover more than the 2 × USERS messages
    // delivered, and LINE answered the repeat with 409. (The dead worker may also have had up to
    // three other calls in flight when it died; they reached LINE, and were repeated too.)
    let calls = emu.calls("pushMessage") as usize;
    assert!(
        (survivor + 5..=survivor + 5 + 3).contains(&calls),
        "every push of the two workers reached the emulator: {calls} calls, {survivor} + 5 pushes"
    );
    assert!(survivor + 5 > 2 * USERS, "the dead worker's send was repeated");
    assert_eq!(scheduler.pending().await.unwrap(), 0);

    remove_sqlite(&db);
    drop_schema(&schema).await;
}

/// Scheduling the same wake-up twice keeps one job; jobs run at the wake-ups' times; outside a
/// worker's job the scheduler hands out nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_wake_up_is_one_job_and_nothing_runs_outside_a_worker() {
    if pg_pool().await.is_none() {
        return;
    }
    let schema = fresh_schema("dedupe");
    let scheduler = GraphileScheduler::connect(&pg_url(), &schema).await.unwrap();
    let at = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(1);
    let at = jiff::Timestamp::from_second(at.as_second()).unwrap();
    let wake = |user: &str| WakeUp {
        scenario: "series".into(),
        user: UserId::new(user),
        entry: 1,
        at,
    };
    scheduler.schedule(&wake("U1")).await.unwrap();
    scheduler.schedule(&wake("U1")).await.unwrap();
    scheduler.schedule(&wake("U2")).await.unwrap();
    assert_eq!(scheduler.pending().await.unwrap(), 2, "a repeated wake-up is one job");
    let later = WakeUp {
        at: at + jiff::SignedDuration::from_mins(1),
        ..wake("U1")
    };
    scheduler.schedule(&later).await.unwrap();
    assert_eq!(scheduler.pending().await.unwrap(), 3, "another due time is another job");
    // Outside a worker's job the scheduler hands out nothing and acknowledges nothing.
    let now = at + jiff::SignedDuration::from_hours(2);
    assert!(scheduler
        .due(now, 10, jiff::SignedDuration::from_mins(5))
        .await
        .unwrap()
        .is_empty());
    scheduler.ack(&[wake("U1")]).await.unwrap();
    assert_eq!(scheduler.pending().await.unwrap(), 3);
    let conn = pg_pool().await.unwrap().get().await.unwrap();
    let n: i64 = conn
        .client()
        .query_one(
            &format!("select count(*) from \"{schema}\".jobs where task_identifier = $1 and run_at > now() + interval '50 minutes'"),
            &[&TASK],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 3, "jobs run at the wake-ups' times");
    drop_schema(&schema).await;
}

#[tokio::test]
async fn bad_settings_are_typed_errors_naming_the_field() {
    for bad in ["", "Upper", "1abc", "semi;colon", "a-b", &"x".repeat(64)] {
        let e = GraphileScheduler::connect("postgres://line:hunter2@127.0.0.1:1/db", bad)
            .await
            .unwrap_err();
        assert!(
            matches!(e.kind(), ErrorKind::Config { field, .. } if field == "schema"),
            "{bad:?}: {e:?}"
        );
        assert!(!format!("{e} {e:?}").contains("hunter2"));
    }
    let e = GraphileScheduler::connect("not a url", "ok_schema").await.unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::Config { field, .. } if field == "url"),
        "{e:?}"
    );
}

/// A job that arrives before its wake-up is due by the engine's clock (another machine's clock
/// is ahead) is put back for the rest of the delay, not dropped; a due one runs; one of a
/// scenario this worker's engine does not run fails (to be retried), not dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_early_job_is_put_back_and_a_due_one_runs() {
    if pg_pool().await.is_none() {
        return;
    }
    let schema = fresh_schema("early");
    // Another process with the system clock schedules; this process's engine runs an hour behind.
    let other = GraphileScheduler::connect(&pg_url(), &schema).await.unwrap();
    let real = jiff::Timestamp::from_second(jiff::Timestamp::now().as_second()).unwrap();
    let clock = ManualClock::new(real - jiff::SignedDuration::from_hours(1));
    let scheduler = other.clone().with_clock(Arc::new(clock.clone()));
    let store = Arc::new(InMemoryStore::new());
    let sender = Arc::new(RecordingSender::new());
    let (early, due) = (UserId::new("Uearly"), UserId::new("Udue"));
    let engine = Engine::builder(vec![json::from_str(SERIES).unwrap()])
        .state(store.clone())
        .scheduler(Arc::new(scheduler.clone()))
        .profiles(Arc::new(InMemoryProfiles::with_profiles(
            [&early, &due].map(|u| Profile::new(u.clone())),
        )))
        .sender(sender.clone())
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap();
    // A wake-up of a scenario this engine does not run (another version deployed elsewhere).
    other
        .schedule(&WakeUp {
            scenario: "retired".into(),
            user: due.clone(),
            entry: 1,
            at: clock.now(),
        })
        .await
        .unwrap();
    for (u, at) in [(&early, real), (&due, clock.now())] {
        store.enroll("series", u, Reentry::Once, at, Vec::new()).await.unwrap();
        other
            .schedule(&WakeUp {
                scenario: "series".into(),
                user: u.clone(),
                entry: 1,
                at,
            })
            .await
            .unwrap();
    }
    let worker = Arc::new(
        scheduler
            .worker(engine)
            .poll_interval(Duration::from_millis(200))
            .start()
            .await
            .unwrap(),
    );
    let running = tokio::spawn({
        let worker = worker.clone();
        async move { worker.run().await }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    while sender.pushed().is_empty() {
        assert!(Instant::now() < deadline, "the due wake-up ran");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Give the early job the same time to be taken and put back.
    tokio::time::sleep(Duration::from_secs(2)).await;
    worker.shutdown();
    running.await.unwrap().unwrap();

    let pushed = sender.pushed();
    assert_eq!(
        pushed.len(),
        1,
        "only the due wake-up sent (its next step waits a minute)"
    );
    assert_eq!(pushed[0].user, due);
    let e = store.enrollment("series", &early).await.unwrap().unwrap();
    assert_eq!(
        (e.step, e.status),
        (0, Status::Active),
        "the early wake-up did nothing yet"
    );
    let conn = pg_pool().await.unwrap().get().await.unwrap();
    let rows = conn
        .client()
        .query(
            &format!(
                "select key, run_at > now() + interval '50 minutes', attempts, coalesce(last_error, '') \
                 from \"{schema}\".jobs where task_identifier = $1"
            ),
            &[&TASK],
        )
        .await
        .unwrap();
    let jobs: Vec<(String, bool, i16, String)> =
        rows.iter().map(|r| (r.get(0), r.get(1), r.get(2), r.get(3))).collect();
    // The job of the due user was the one that moved it to the wait (its next wake-up, a minute
    // later by the engine's clock); the early user's job is back, an hour later.
    let early_jobs: Vec<_> = jobs.iter().filter(|j| j.0.contains("Uearly")).collect();
    assert_eq!(early_jobs.len(), 1, "{jobs:?}");
    assert!(early_jobs[0].1, "put back for the rest of the hour: {jobs:?}");
    assert_eq!(early_jobs[0].2, 0, "as a new job, not a failed attempt: {jobs:?}");
    // The other scenario's job failed (to be retried, by a worker that runs it), not dropped.
    let retired: Vec<_> = jobs.iter().filter(|j| j.0.starts_with("retired")).collect();
    assert_eq!(retired.len(), 1, "{jobs:?}");
    assert!(retired[0].2 >= 1, "{jobs:?}");
    assert!(retired[0].3.contains("`retired` is not deployed"), "{jobs:?}");
    drop_schema(&schema).await;
}
