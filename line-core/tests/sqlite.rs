//! The SQLite webhook stores: the conformance suites, persistence across a reopen,
//! schema management, expiry, two processes on one file, and failures.
#![cfg(all(feature = "sqlite", feature = "testing"))]

use std::collections::HashSet;
use std::time::Duration;

use jiff::SignedDuration;
use line_core::clock::ManualClock;
use line_core::store::sqlite::{SqliteDb, SqliteDedupeStore, SqliteNonceStore};
use line_core::testing::store::{child_index, fresh_sqlite_path, remove_sqlite, report, run_children};
use line_core::webhook::account_link::NonceStore;
use line_core::webhook::dedupe::{DedupeStore, Deduper};
use line_core::ErrorKind;

fn clock() -> ManualClock {
    ManualClock::new("2026-05-15T00:00:00Z".parse().unwrap())
}

struct TempDb(std::path::PathBuf);

impl Drop for TempDb {
    fn drop(&mut self) {
        remove_sqlite(&self.0);
    }
}

fn count_rows(path: &std::path::Path, table: &str) -> i64 {
    let c = rusqlite::Connection::open(path).unwrap();
    c.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

#[tokio::test]
async fn sqlite_dedupe_store_passes_the_conformance_suite() {
    let file = TempDb(fresh_sqlite_path("dedupe"));
    let db = SqliteDb::open(&file.0).await.unwrap();
    let clock = clock();
    let store = SqliteDedupeStore::new(&db).await.unwrap().with_clock(clock.clone());
    line_core::testing::dedupe_store_conformance(std::sync::Arc::new(store), &clock).await;
}

#[tokio::test]
async fn sqlite_nonce_store_passes_the_conformance_suite() {
    let file = TempDb(fresh_sqlite_path("nonce"));
    let db = SqliteDb::open(&file.0).await.unwrap();
    let clock = clock();
    let store = SqliteNonceStore::new(&db).await.unwrap().with_clock(clock.clone());
    line_core::testing::nonce_store_conformance(std::sync::Arc::new(store), &clock).await;
}

#[tokio::test]
async fn sqlite_state_survives_closing_and_reopening_the_file() {
    let file = TempDb(fresh_sqlite_path("reopen"));
    {
        let db = SqliteDb::open(&file.0).await.unwrap();
        let dedupe = SqliteDedupeStore::new(&db).await.unwrap();
        assert!(dedupe.first_seen("ev-1", Duration::from_secs(600)).await.unwrap());
        let nonces = SqliteNonceStore::new(&db).await.unwrap();
        nonces.put("n-1", "member-1", Duration::from_secs(600)).await.unwrap();
    }
    // The thread ends with the last handle; a new one reads what the old one committed.
    let db = SqliteDb::open(&file.0).await.unwrap();
    let dedupe = SqliteDedupeStore::new(&db).await.unwrap();
    assert!(
        !dedupe.first_seen("ev-1", Duration::from_secs(600)).await.unwrap(),
        "an id seen before the restart is still seen"
    );
    let nonces = SqliteNonceStore::new(&db).await.unwrap();
    assert_eq!(nonces.take("n-1").await.unwrap().as_deref(), Some("member-1"));
}

#[tokio::test]
async fn sqlite_schema_is_versioned_per_prefix_and_a_newer_one_is_refused() {
    let file = TempDb(fresh_sqlite_path("schema"));
    let db = SqliteDb::open(&file.0).await.unwrap();
    let a = SqliteDedupeStore::with_prefix(&db, "shop_a_").await.unwrap();
    let b = SqliteDedupeStore::with_prefix(&db, "shop_b_").await.unwrap();
    // Opening again is a no-op.
    let a2 = SqliteDedupeStore::with_prefix(&db, "shop_a_").await.unwrap();
    assert!(a.first_seen("ev", Duration::from_secs(60)).await.unwrap());
    assert!(
        !a2.first_seen("ev", Duration::from_secs(60)).await.unwrap(),
        "same prefix, same table"
    );
    assert!(
        b.first_seen("ev", Duration::from_secs(60)).await.unwrap(),
        "prefixes are separate"
    );
    drop((a, a2, b));
    let c = rusqlite::Connection::open(&file.0).unwrap();
    let v: i64 = c
        .query_row(
            "SELECT version FROM shop_a_schema_version WHERE component = 'dedupe'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(v, 1);
    c.execute(
        "UPDATE shop_a_schema_version SET version = 99 WHERE component = 'dedupe'",
        [],
    )
    .unwrap();
    drop(c);
    let e = SqliteDedupeStore::with_prefix(&db, "shop_a_").await.unwrap_err();
    assert_eq!(
        e.kind(),
        &ErrorKind::Store {
            operation: "SqliteDedupeStore::migrate".into()
        }
    );
    let why = std::error::Error::source(&e).unwrap().to_string();
    assert!(why.contains("version 99"), "{why}");
    let e = SqliteDedupeStore::with_prefix(&db, "Bad-Prefix").await.unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::Config { field, .. } if field == "prefix"),
        "{e:?}"
    );
}

#[tokio::test]
async fn sqlite_migrations_from_many_tasks_at_once_apply_once() {
    let file = TempDb(fresh_sqlite_path("migrate"));
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let path = file.0.clone();
        // Separate handles, so separate connections racing for the file's write lock.
        tasks.push(tokio::spawn(async move {
            let db = SqliteDb::open(&path).await.unwrap();
            SqliteDedupeStore::with_prefix(&db, "race_").await.map(|_| ())
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(count_rows(&file.0, "race_schema_version"), 1);
}

#[tokio::test]
async fn sqlite_expired_ids_are_deleted_in_batches_without_a_call_to_purge() {
    let file = TempDb(fresh_sqlite_path("purge"));
    let db = SqliteDb::open(&file.0).await.unwrap();
    let clock = clock();
    let store = SqliteDedupeStore::new(&db).await.unwrap().with_clock(clock.clone());
    for i in 0..300 {
        assert!(store
            .first_seen(&format!("old-{i}"), Duration::from_secs(1))
            .await
            .unwrap());
    }
    clock.advance(SignedDuration::from_secs(2));
    for i in 0..211 {
        store
            .first_seen(&format!("new-{i}"), Duration::from_secs(60))
            .await
            .unwrap();
    }
    assert_eq!(
        count_rows(&file.0, "line_dedupe"),
        511,
        "expired rows are kept until a purge"
    );
    // The 512th write purges a batch of expired rows along the way.
    store.first_seen("new-last", Duration::from_secs(60)).await.unwrap();
    assert_eq!(
        count_rows(&file.0, "line_dedupe"),
        212,
        "the amortised purge dropped the expired rows"
    );

    let nonces = SqliteNonceStore::new(&db).await.unwrap().with_clock(clock.clone());
    for i in 0..10 {
        nonces.put(&format!("n{i}"), "m", Duration::from_secs(1)).await.unwrap();
    }
    clock.advance(SignedDuration::from_secs(2));
    assert_eq!(nonces.purge_expired().await.unwrap(), 10);
    assert_eq!(store.purge_expired().await.unwrap(), 0);
}

/// Two processes record the same 400 ids at once: each id is new exactly once in all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_two_processes_see_each_id_first_exactly_once() {
    const N: usize = 400;
    if child_index().is_some() {
        let path = std::env::var("LINE_TEST_DB").unwrap();
        let db = SqliteDb::open(&path).await.unwrap();
        let store = std::sync::Arc::new(SqliteDedupeStore::new(&db).await.unwrap());
        let mut tasks = Vec::new();
        for t in 0..4 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let mut new = Vec::new();
                for i in (t..N).step_by(4) {
                    let id = format!("ev-{i}");
                    if store.first_seen(&id, Duration::from_secs(600)).await.unwrap() {
                        new.push(id);
                    }
                }
                new
            }));
        }
        for t in tasks {
            for id in t.await.unwrap() {
                report(&id);
            }
        }
        return;
    }
    let file = TempDb(fresh_sqlite_path("two-proc-dedupe"));
    // Create the schema first, so the children race on the data, not only the schema.
    drop(
        SqliteDedupeStore::new(&SqliteDb::open(&file.0).await.unwrap())
            .await
            .unwrap(),
    );
    let reports = run_children(
        "sqlite_two_processes_see_each_id_first_exactly_once",
        2,
        &[("LINE_TEST_DB", file.0.display().to_string())],
    );
    let all: Vec<&String> = reports.iter().flatten().collect();
    let distinct: HashSet<&String> = all.iter().copied().collect();
    assert_eq!(distinct.len(), all.len(), "an id was new in both processes");
    assert_eq!(all.len(), N, "every id was new in one process");
    // Which process sees an id first is up to SQLite's write lock: one process may hold it
    // for the whole run while the other waits, so how the ids split is not checked.
}

/// Two processes take the same 200 nonces at once: each is given out exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_two_processes_take_each_nonce_exactly_once() {
    const N: usize = 200;
    if child_index().is_some() {
        let path = std::env::var("LINE_TEST_DB").unwrap();
        let db = SqliteDb::open(&path).await.unwrap();
        let store = SqliteNonceStore::new(&db).await.unwrap();
        for i in 0..N {
            if let Some(member) = store.take(&format!("nonce-{i}")).await.unwrap() {
                report(&member);
            }
        }
        return;
    }
    let file = TempDb(fresh_sqlite_path("two-proc-nonce"));
    {
        let db = SqliteDb::open(&file.0).await.unwrap();
        let store = SqliteNonceStore::new(&db).await.unwrap();
        for i in 0..N {
            store
                .put(&format!("nonce-{i}"), &format!("member-{i}"), Duration::from_secs(600))
                .await
                .unwrap();
        }
    }
    let reports = run_children(
        "sqlite_two_processes_take_each_nonce_exactly_once",
        2,
        &[("LINE_TEST_DB", file.0.display().to_string())],
    );
    let all: Vec<&String> = reports.iter().flatten().collect();
    let distinct: HashSet<&String> = all.iter().copied().collect();
    assert_eq!(distinct.len(), all.len(), "a nonce was taken twice");
    assert_eq!(all.len(), N, "every nonce was taken once");
}

#[tokio::test]
async fn sqlite_failures_are_typed_errors_naming_store_and_operation() {
    // A file that cannot be opened.
    let e = SqliteDb::open("/nonexistent-dir-for-line-tests/x.sqlite")
        .await
        .unwrap_err();
    assert_eq!(
        e.kind(),
        &ErrorKind::Store {
            operation: "SqliteDb::open".into()
        }
    );

    // A read-only database: reads work, writes fail with a typed error.
    let file = TempDb(fresh_sqlite_path("read-only"));
    {
        let db = SqliteDb::open(&file.0).await.unwrap();
        let store = SqliteDedupeStore::new(&db).await.unwrap();
        store.first_seen("ev-old", Duration::from_secs(600)).await.unwrap();
        SqliteNonceStore::new(&db).await.unwrap();
    }
    let db = SqliteDb::open_read_only(&file.0).await.unwrap();
    let store = SqliteDedupeStore::new(&db).await.unwrap();
    let e = store.first_seen("ev-new", Duration::from_secs(600)).await.unwrap_err();
    assert_eq!(
        e.kind(),
        &ErrorKind::Store {
            operation: "SqliteDedupeStore::first_seen".into()
        }
    );
    assert!(e.to_string().contains("SqliteDedupeStore::first_seen"), "{e}");
    let source = std::error::Error::source(&e).unwrap().to_string();
    assert!(source.contains("readonly"), "{source}");
    let nonces = SqliteNonceStore::new(&db).await.unwrap();
    let e = nonces.put("n", "m", Duration::from_secs(60)).await.unwrap_err();
    assert_eq!(
        e.kind(),
        &ErrorKind::Store {
            operation: "SqliteNonceStore::put".into()
        }
    );
    assert!(
        !format!("{e:?}").contains("\"n\""),
        "the nonce is not in the error: {e:?}"
    );
}

/// The documented choice: when the dedupe store fails, the event is not handled and
/// the error is returned (answer the webhook with a 5xx, LINE redelivers); an outage
/// never lets an event through unchecked.
#[tokio::test]
async fn on_a_dedupe_store_outage_events_are_not_handled_and_the_error_is_returned() {
    let file = TempDb(fresh_sqlite_path("outage"));
    drop(
        SqliteDedupeStore::new(&SqliteDb::open(&file.0).await.unwrap())
            .await
            .unwrap(),
    );
    let db = SqliteDb::open_read_only(&file.0).await.unwrap();
    let deduper = Deduper::new(SqliteDedupeStore::new(&db).await.unwrap());
    let body = br#"{"destination":"U0","events":[{"type":"unfollow","timestamp":1,"webhookEventId":"01OUTAGE"}]}"#;
    let event = &line_core::webhook::parse(body).unwrap().events[0];
    let ran = std::sync::atomic::AtomicBool::new(false);
    let r = deduper
        .once(event, || async {
            ran.store(true, std::sync::atomic::Ordering::SeqCst);
            Ok::<_, line_core::Error>(())
        })
        .await;
    let e = r.unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Store { .. }), "{e:?}");
    assert!(
        !ran.load(std::sync::atomic::Ordering::SeqCst),
        "the handler must not run"
    );
    let events = line_core::webhook::parse(body).unwrap().events;
    assert!(deduper.filter(events).await.is_err(), "filter reports the outage too");
}

#[cfg(feature = "client")]
#[tokio::test]
async fn sqlite_retry_key_store_passes_the_conformance_suite_and_survives_a_reopen() {
    use line_core::client::RetryKeyStore;
    use line_core::ids::RetryKey;
    use line_core::store::sqlite::SqliteRetryKeyStore;

    let file = TempDb(fresh_sqlite_path("retry"));
    let first = RetryKey::new();
    {
        let db = SqliteDb::open(&file.0).await.unwrap();
        let store = std::sync::Arc::new(SqliteRetryKeyStore::new(&db).await.unwrap());
        line_core::testing::retry_key_store_conformance(store.clone(), &clock()).await;
        assert_eq!(store.keys("run-1", &[("U1", first)]).await.unwrap(), vec![first]);
    }
    let db = SqliteDb::open(&file.0).await.unwrap();
    let store = SqliteRetryKeyStore::new(&db).await.unwrap();
    assert_eq!(
        store.keys("run-1", &[("U1", RetryKey::new())]).await.unwrap(),
        vec![first],
        "a key stored before the restart is the key after it"
    );
}
