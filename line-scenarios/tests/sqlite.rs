//! The SQLite store: the conformance suites, idempotent migrations, and a restart on the same
//! file that loses nothing and sends nothing twice.
#![cfg(feature = "sqlite")]

use std::path::PathBuf;
use std::sync::Arc;

use jiff::SignedDuration;
use line_core::clock::{Clock, ManualClock};
use line_core::ids::UserId;
use line_scenarios::profiles::InMemoryProfiles;
use line_scenarios::sender::RecordingSender;
use line_scenarios::sqlite::SqliteStore;
use line_scenarios::store::{Scheduler, StateStore, Status};
use line_scenarios::testing::{scheduler_conformance, state_store_conformance};
use line_scenarios::{json, Engine};
use line_segments::profile::{Event, Value};

fn temp_db(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("line-scenarios-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("scenarios.db")
}

#[tokio::test]
async fn the_sqlite_store_passes_the_conformance_suites() {
    let path = temp_db("conformance");
    let clock = line_core::clock::ManualClock::new(jiff::Timestamp::UNIX_EPOCH);
    let store = std::sync::Arc::new(SqliteStore::open(&path, "scn_").unwrap());
    state_store_conformance(store.clone(), &clock).await;
    scheduler_conformance(store, &clock).await;
    let memory = std::sync::Arc::new(SqliteStore::open_in_memory("").unwrap());
    state_store_conformance(memory.clone(), &clock).await;
    scheduler_conformance(memory, &clock).await;
}

#[tokio::test]
async fn migrations_are_versioned_idempotent_and_prefixed() {
    let path = temp_db("migrations");
    let a = SqliteStore::open(&path, "shop_a_").unwrap();
    assert_eq!(a.schema_version().unwrap(), 1);
    drop(a);
    let again = SqliteStore::open(&path, "shop_a_").unwrap();
    assert_eq!(
        again.schema_version().unwrap(),
        1,
        "opening again applies nothing twice"
    );
    let b = SqliteStore::open(&path, "shop_b_").unwrap();
    let u = UserId::new("U1");
    let t0 = "2026-05-01T00:00:00Z".parse().unwrap();
    again
        .enroll("s", &u, line_scenarios::model::Reentry::Once, t0, Vec::new())
        .await
        .unwrap();
    assert!(
        b.enrollment("s", &u).await.unwrap().is_none(),
        "prefixes keep two stores apart"
    );
    assert!(SqliteStore::open(&path, "bad;prefix").is_err());
    let conn = rusqlite::Connection::open(&path).unwrap();
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "wal");
}

/// An enrollment row this version cannot read (a status or variables written by something
/// else) is an error of the read: never an active enrollment or one without its variables.
#[tokio::test]
async fn an_unreadable_enrollment_row_is_an_error_not_an_active_enrollment() {
    let path = temp_db("unreadable");
    let store = SqliteStore::open(&path, "scn_").unwrap();
    let t0 = "2026-05-01T00:00:00Z".parse().unwrap();
    let vars = vec![("name".to_owned(), "Ann".to_owned())];
    for user in ["U1", "U2"] {
        store
            .enroll(
                "s",
                &UserId::new(user),
                line_scenarios::model::Reentry::Once,
                t0,
                vars.clone(),
            )
            .await
            .unwrap();
    }
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute("UPDATE scn_enrollments SET status = 'paused' WHERE user_id = 'U1'", [])
        .unwrap();
    conn.execute(
        "UPDATE scn_enrollments SET vars = '{\"name\": 1}' WHERE user_id = 'U2'",
        [],
    )
    .unwrap();
    for user in ["U1", "U2"] {
        let e = store.enrollment("s", &UserId::new(user)).await.unwrap_err();
        assert!(
            matches!(e.kind(), line_scenarios::ErrorKind::Store { .. }),
            "{user}: {e}"
        );
    }
    assert!(
        store.active_of(&UserId::new("U1")).await.unwrap().is_empty(),
        "not active"
    );
    assert!(store.active_of(&UserId::new("U2")).await.is_err());
}

const SERIES: &str = r#"{"id": "series", "trigger": {"event": {"name": "signup"}}, "steps": [
  {"id": "hello", "send": {"flex": {"alt_text": "Welcome {name}", "contents": {"type": "bubble", "body": {"type": "box",
    "layout": "vertical", "contents": [{"type": "text", "text": "Welcome {name}"}]}}, "vars": {"name": {"event": "name"}}}}},
  {"id": "wait", "wait": {"for": "1d"}},
  {"id": "tips", "send": {"messages": [{"type": "text", "text": "Day 2 tips"}]}},
  {"id": "wait2", "wait": {"for": "2d"}},
  {"id": "offer", "send": {"messages": [{"type": "text", "text": "Day 4 offer"}]}}
]}"#;

fn engine(
    path: &PathBuf,
    clock: &ManualClock,
    sender: &Arc<RecordingSender>,
    profiles: &Arc<InMemoryProfiles>,
) -> (Engine, Arc<SqliteStore>) {
    let store = Arc::new(SqliteStore::open(path, "scn_").unwrap());
    let engine = Engine::builder(vec![json::from_str(SERIES).unwrap()])
        .state(store.clone())
        .scheduler(store.clone())
        .profiles(profiles.clone())
        .sender(sender.clone())
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap();
    (engine, store)
}

#[tokio::test]
async fn a_restart_on_the_same_file_loses_nothing_and_sends_nothing_twice() {
    let path = temp_db("restart");
    let clock = ManualClock::new("2026-05-15T01:00:00Z".parse().unwrap());
    let sender = Arc::new(RecordingSender::new());
    let profiles = Arc::new(InMemoryProfiles::new());
    let users: Vec<UserId> = (0..20).map(|i| UserId::new(format!("U{i:032x}"))).collect();
    {
        let (engine, _) = engine(&path, &clock, &sender, &profiles);
        for (i, u) in users.iter().enumerate() {
            let e = Event::new("signup", clock.now()).with("name", Value::Str(format!("user {i}")));
            engine.on_event(u, &e).await.unwrap();
            clock.advance(SignedDuration::from_mins(1));
        }
        assert_eq!(sender.pushed().len(), 20, "the welcome goes out at once");
        // A day later half of them are due; run and "crash" (drop everything) mid-way.
        clock.advance(SignedDuration::from_hours(24) - SignedDuration::from_mins(10));
        engine.run_due().await.unwrap();
    }
    let after_first = sender.pushed().len();
    // The clock is at 24 h 10 min after the first signup: users 0 to 10 are due.
    assert_eq!(after_first, 31, "11 day-2 tips were due");
    for _ in 0..3 {
        // Restarts, each re-creating wake-ups and running; then time passes.
        let (engine, store) = engine(&path, &clock, &sender, &profiles);
        engine.recover().await.unwrap();
        engine.run_due().await.unwrap();
        assert!(store.pending().await.unwrap() > 0, "wake-ups are kept in the file");
        clock.advance(SignedDuration::from_hours(24));
    }
    let (engine, store) = engine(&path, &clock, &sender, &profiles);
    engine.recover().await.unwrap();
    engine.run_due().await.unwrap();
    let pushed = sender.pushed();
    assert_eq!(
        pushed.len(),
        60,
        "welcome, tips and offer for each of the 20, each once"
    );
    for u in &users {
        let texts: Vec<&str> = pushed
            .iter()
            .filter(|p| p.user == *u)
            .map(|p| p.messages.as_str())
            .collect();
        assert_eq!(texts.len(), 3, "{u:?}");
        let e = store.enrollment("series", u).await.unwrap().unwrap();
        assert_eq!(e.status, Status::Exited(line_scenarios::store::ExitReason::Completed));
    }
    assert!(
        pushed[0].messages.contains("Welcome user 0"),
        "event values survive in the file"
    );
}

#[tokio::test]
async fn the_sqlite_sources_pass_their_conformance_suite_and_survive_a_reopen() {
    use line_scenarios::sources::SourceStore;
    use line_scenarios::sqlite::SqliteSources;
    line_scenarios::testing::source_store_conformance(
        std::sync::Arc::new(SqliteSources::open_in_memory("").unwrap()),
        &line_core::clock::ManualClock::new(jiff::Timestamp::UNIX_EPOCH),
    )
    .await;
    let path = temp_db("sources");
    // The same file and prefix as the state store: the tables live side by side.
    let _state = SqliteStore::open(&path, "scn_").unwrap();
    let sources = std::sync::Arc::new(SqliteSources::open(&path, "scn_").unwrap());
    line_scenarios::testing::source_store_conformance(
        sources.clone(),
        &line_core::clock::ManualClock::new(jiff::Timestamp::UNIX_EPOCH),
    )
    .await;
    let t0: jiff::Timestamp = "2026-05-15T01:00:00Z".parse().unwrap();
    let later = t0 + SignedDuration::from_hours(1);
    let aoi = UserId::new("U1");
    sources.visit("store_x", &"a".repeat(32), later).await.unwrap();
    sources.bind(&"a".repeat(32), &aoi, t0, later).await.unwrap();
    assert_eq!(
        sources.follow(&aoi, Some("e1"), t0).await.unwrap().as_deref(),
        Some("store_x")
    );
    drop(sources);
    let reopened = SqliteSources::open(&path, "scn_").unwrap();
    assert_eq!(reopened.source_of(&aoi).await.unwrap().as_deref(), Some("store_x"));
    assert_eq!(
        reopened.follow(&aoi, Some("e1"), t0).await.unwrap().as_deref(),
        Some("store_x")
    );
    let c = reopened.counts("store_x").await.unwrap();
    assert_eq!((c.visits, c.friends), (1, 1));
}

#[tokio::test]
async fn the_sqlite_contacts_and_profiles_pass_their_conformance_suites() {
    use line_scenarios::sqlite::{SqliteContacts, SqliteProfiles};
    use line_scenarios::testing::{contact_store_conformance, profile_store_conformance};
    let clock = ManualClock::new(jiff::Timestamp::UNIX_EPOCH);
    contact_store_conformance(Arc::new(SqliteContacts::open_in_memory("").unwrap()), &clock).await;
    profile_store_conformance(Arc::new(SqliteProfiles::open_in_memory("").unwrap()), &clock).await;
    // On a file shared with the state store and the sources, under one prefix; twice (the
    // suites use fresh keys per run).
    let path = temp_db("contacts-profiles");
    let _state = SqliteStore::open(&path, "scn_").unwrap();
    let _sources = line_scenarios::sqlite::SqliteSources::open(&path, "scn_").unwrap();
    let contacts = Arc::new(SqliteContacts::open(&path, "scn_").unwrap());
    let profiles = Arc::new(SqliteProfiles::open(&path, "scn_").unwrap());
    for _ in 0..2 {
        contact_store_conformance(contacts.clone(), &clock).await;
        profile_store_conformance(profiles.clone(), &clock).await;
    }
    assert_eq!(contacts.schema_version().unwrap(), 1);
    assert_eq!(profiles.schema_version().unwrap(), 1);
    assert!(SqliteContacts::open(&path, "bad;prefix").is_err());
    assert!(SqliteProfiles::open(&path, "bad prefix").is_err());
}

#[tokio::test]
async fn sqlite_contacts_and_profiles_survive_a_reopen() {
    use line_scenarios::budget::{Budget, ContactStore, Gate};
    use line_scenarios::profiles::{ProfileStore, TAGS};
    use line_scenarios::sqlite::{SqliteContacts, SqliteProfiles};
    let path = temp_db("contacts-reopen");
    let t0: jiff::Timestamp = "2026-05-15T01:00:00Z".parse().unwrap();
    let week = SignedDuration::from_hours(7 * 24);
    let aoi = UserId::new("U1");
    let mut full = line_segments::profile::Profile::new(UserId::new("U2"));
    full.attributes
        .insert("birthday", Value::Date("2000-02-29".parse().unwrap()));
    full.attributes.insert("ratio", Value::Num(1.0 / 3.0));
    full.line.is_friend = Some(true);
    full.line.friend_since = Some(t0);
    full.history_start = Some(t0);
    full.events
        .push(Event::new("visit", t0).with("store", Value::Str("shibuya".into())));
    let purchase = Event::new("purchase", t0).with("amount", Value::Num(5000.0));
    {
        let gate = Gate::new(
            Arc::new(SqliteContacts::open(&path, "scn_").unwrap()),
            Budget::per_week(2),
        );
        assert!(gate.admit(&aoi, "a", 0, t0).await.unwrap());
        assert!(gate.admit(&aoi, "b", 0, t0).await.unwrap());
        let profiles = SqliteProfiles::open(&path, "scn_").unwrap();
        profiles.add_tag(&aoi, "vip").await.unwrap();
        profiles.set_attribute(&aoi, "points", Value::Num(120.0)).await.unwrap();
        profiles.record_event(&aoi, &purchase).await.unwrap();
        profiles.insert(&full).unwrap();
    }
    let contacts = SqliteContacts::open(&path, "scn_").unwrap();
    assert_eq!(contacts.count(&aoi, week, t0).await.unwrap(), 2, "contacts are kept");
    assert!(
        !contacts.take(&aoi, "c", 2, week, t0).await.unwrap(),
        "the budget spent before the reopen still holds"
    );
    assert!(
        contacts.take(&aoi, "a", 2, week, t0).await.unwrap(),
        "a key taken before is still known"
    );
    let later = t0 + week;
    assert_eq!(
        contacts.purge_expired(week, later).unwrap(),
        2,
        "both contacts left the window"
    );
    assert_eq!(contacts.count(&aoi, week, t0).await.unwrap(), 0);

    let profiles = SqliteProfiles::open(&path, "scn_").unwrap();
    let got = profiles.profile(&aoi).await.unwrap().expect("the profile is kept");
    assert_eq!(got.attributes.get(TAGS), Some(&Value::Set(vec!["vip".into()])));
    assert_eq!(got.attributes.get("points"), Some(&Value::Num(120.0)));
    assert_eq!(got.events, vec![purchase]);
    let back = profiles
        .profile(&full.id)
        .await
        .unwrap()
        .expect("the inserted profile is kept");
    assert_eq!(*back, full, "every part of a profile reads back exactly");
    let page = profiles.page(None, 10).await.unwrap();
    let ids: Vec<&str> = page.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["U1", "U2"]);
}

#[tokio::test]
async fn sqlite_contact_and_profile_errors_name_the_store_and_operation() {
    use line_scenarios::budget::ContactStore;
    use line_scenarios::profiles::ProfileStore;
    use line_scenarios::sqlite::{SqliteContacts, SqliteProfiles};
    use line_scenarios::ErrorKind;
    fn operation(e: &line_scenarios::Error) -> &str {
        assert!(
            std::error::Error::source(e).is_some(),
            "the driver's error is the source: {e}"
        );
        match e.kind() {
            ErrorKind::Store { operation, .. } => operation,
            other => panic!("expected a store error, got {other:?}"),
        }
    }
    let path = temp_db("contacts-errors");
    let contacts = SqliteContacts::open(&path, "scn_").unwrap();
    let profiles = SqliteProfiles::open(&path, "scn_").unwrap();
    // Another process drops the tables under the open stores.
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch("DROP TABLE scn_contacts; DROP TABLE scn_profiles;")
        .unwrap();
    let u = UserId::new("U1");
    let t0: jiff::Timestamp = "2026-05-15T01:00:00Z".parse().unwrap();
    let week = SignedDuration::from_hours(7 * 24);
    let e = contacts.take(&u, "a", 1, week, t0).await.unwrap_err();
    assert_eq!(operation(&e), "SqliteContacts::take");
    let e = contacts.count(&u, week, t0).await.unwrap_err();
    assert_eq!(operation(&e), "SqliteContacts::count");
    let e = contacts.give_back(&u, "a").await.unwrap_err();
    assert_eq!(operation(&e), "SqliteContacts::give_back");
    let e = profiles.add_tag(&u, "vip").await.unwrap_err();
    assert_eq!(operation(&e), "SqliteProfiles::add_tag");
    let e = profiles.profile(&u).await.unwrap_err();
    assert_eq!(operation(&e), "SqliteProfiles::profile");
    let e = profiles.record_event(&u, &Event::new("visit", t0)).await.unwrap_err();
    assert_eq!(operation(&e), "SqliteProfiles::record_event");
    // A value this version cannot read is an error of the read, not a panic or a wrong value.
    let other = SqliteProfiles::open(&path, "bad_").unwrap();
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute(
            "INSERT INTO bad_profiles (user_id, attributes) VALUES ('U9', '[[\"x\", {\"zz\": 1}]]')",
            [],
        )
        .unwrap();
    let e = other.profile(&UserId::new("U9")).await.unwrap_err();
    assert_eq!(operation(&e), "SqliteProfiles::profile");
    assert!(e.to_string().contains("not a stored profile value"), "{e}");
}

/// Two processes take slots of one user's budget on one file at once: the limit is never
/// exceeded, and every admitted key is counted once.
#[test]
fn sqlite_two_processes_never_exceed_the_contact_limit() {
    use line_core::testing::store::{child_index, report, run_children};
    use line_scenarios::budget::ContactStore;
    use line_scenarios::sqlite::SqliteContacts;
    const KEYS: usize = 40;
    const LIMIT: u32 = 25;
    let week = SignedDuration::from_hours(7 * 24);
    let at: jiff::Timestamp = "2026-05-01T00:00:00Z".parse().unwrap();
    let user = UserId::new("Ubudget");
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    if let Some(child) = child_index() {
        let path = std::env::var("LINE_TEST_DB").unwrap();
        let store = SqliteContacts::open(&path, "scn_").unwrap();
        rt.block_on(async {
            for i in 0..KEYS {
                let key = format!("p{child}-{i}");
                if store.take(&user, &key, LIMIT, week, at).await.unwrap() {
                    // A retried take of an admitted key is admitted again, without a second slot.
                    assert!(store.take(&user, &key, LIMIT, week, at).await.unwrap());
                    report(&format!("take:{key}"));
                }
            }
        });
        return;
    }
    let path = temp_db("contacts-two-processes");
    drop(SqliteContacts::open(&path, "scn_").unwrap());
    let reports = run_children(
        "sqlite_two_processes_never_exceed_the_contact_limit",
        2,
        &[("LINE_TEST_DB", path.display().to_string())],
    );
    let admitted: Vec<&String> = reports.iter().flatten().collect();
    eprintln!(
        "admitted per child: {:?}",
        reports.iter().map(Vec::len).collect::<Vec<_>>()
    );
    assert_eq!(admitted.len(), LIMIT as usize, "the limit holds across processes");
    let store = SqliteContacts::open(&path, "scn_").unwrap();
    assert_eq!(rt.block_on(store.count(&user, week, at)).unwrap(), LIMIT);
}
