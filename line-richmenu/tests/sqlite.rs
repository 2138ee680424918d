//! The SQLite stores: the conformance suites, the journal across a restart, the write
//! budget from two processes on one file, and failures.
#![cfg(all(feature = "sqlite", feature = "testing"))]

use jiff::{SignedDuration, Timestamp};
use line_core::store::sqlite::SqliteDb;
use line_core::testing::store::{child_index, fresh_sqlite_path, remove_sqlite, report, run_children};
use line_richmenu::sqlite_store::{SqliteAssignmentStore, SqliteMenuStore, SqliteUserDirectory};
use line_richmenu::store::{AssignmentStore, Journal, MenuStore};
use line_richmenu::{testing, ErrorKind};

struct TempDb(std::path::PathBuf);

impl Drop for TempDb {
    fn drop(&mut self) {
        remove_sqlite(&self.0);
    }
}

async fn db(tag: &str) -> (TempDb, SqliteDb) {
    let file = TempDb(fresh_sqlite_path(tag));
    let db = SqliteDb::open(&file.0).await.unwrap();
    (file, db)
}

#[tokio::test]
async fn sqlite_menu_store_conforms() {
    let (_file, db) = db("menus").await;
    testing::menu_store_conformance(
        std::sync::Arc::new(SqliteMenuStore::new(&db).await.unwrap()),
        &line_core::clock::ManualClock::new(jiff::Timestamp::UNIX_EPOCH),
    )
    .await;
}

#[tokio::test]
async fn sqlite_assignment_store_conforms() {
    let (_file, db) = db("assignments").await;
    testing::assignment_store_conformance(
        std::sync::Arc::new(SqliteAssignmentStore::new(&db).await.unwrap()),
        &line_core::clock::ManualClock::new(jiff::Timestamp::UNIX_EPOCH),
    )
    .await;
}

#[tokio::test]
async fn sqlite_user_directory_conforms() {
    let (_file, db) = db("users").await;
    testing::user_directory_conformance(
        std::sync::Arc::new(SqliteUserDirectory::new(&db).await.unwrap()),
        &line_core::clock::ManualClock::new(jiff::Timestamp::UNIX_EPOCH),
    )
    .await;
}

#[tokio::test]
async fn sqlite_journal_and_assignments_survive_a_restart() {
    let (file, db) = db("restart").await;
    let store = SqliteAssignmentStore::new(&db).await.unwrap();
    let users = [line_core::UserId::new("U1"), line_core::UserId::new("U2")];
    store
        .set_many(&users, &line_richmenu::store::Assignment::menu("a", "richmenu-a"))
        .await
        .unwrap();
    store.save_journal(&Journal::default()).await.unwrap();
    drop((store, db));
    let db = SqliteDb::open(&file.0).await.unwrap();
    let store = SqliteAssignmentStore::new(&db).await.unwrap();
    assert_eq!(store.load_journal().await.unwrap(), Some(Journal::default()));
    assert_eq!(
        store.count_on(&line_core::RichMenuId::new("richmenu-a")).await.unwrap(),
        2
    );
}

/// Two processes take 40 uses each of one budget of 30 at once: exactly 30 are granted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_two_processes_never_overdraw_a_budget() {
    if child_index().is_some() {
        let db = SqliteDb::open(std::env::var("LINE_TEST_DB").unwrap()).await.unwrap();
        let store = SqliteMenuStore::new(&db).await.unwrap();
        let now: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        for _ in 0..40 {
            if store
                .take_budget("create", now, SignedDuration::from_hours(1), 30)
                .await
                .unwrap()
            {
                report("granted");
            }
        }
        return;
    }
    let (file, db) = db("budget").await;
    drop(SqliteMenuStore::new(&db).await.unwrap());
    let reports = run_children(
        "sqlite_two_processes_never_overdraw_a_budget",
        2,
        &[("LINE_TEST_DB", file.0.display().to_string())],
    );
    let granted: usize = reports.iter().map(Vec::len).sum();
    assert_eq!(granted, 30, "uses granted across both processes: {reports:?}");
}

#[tokio::test]
async fn sqlite_failures_are_typed_errors_naming_store_and_operation() {
    let (file, db) = db("read-only").await;
    drop(SqliteMenuStore::new(&db).await.unwrap());
    drop(db);
    let db = SqliteDb::open_read_only(&file.0).await.unwrap();
    let store = SqliteMenuStore::new(&db).await.unwrap();
    assert!(store.records().await.unwrap().is_empty(), "reads work");
    let e = store
        .take_budget("create", Timestamp::now(), SignedDuration::from_hours(1), 100)
        .await
        .unwrap_err();
    assert_eq!(
        e.kind(),
        &ErrorKind::Store {
            operation: "SqliteMenuStore::take_budget".into()
        }
    );
    let e = SqliteAssignmentStore::new(&db).await.unwrap_err();
    assert_eq!(
        e.kind(),
        &ErrorKind::Store {
            operation: "SqliteAssignmentStore::migrate".into()
        },
        "tables cannot be created in a read-only file"
    );
}
