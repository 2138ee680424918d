//! The PostgreSQL stores on a real server (`LINE_STORES_PG_URL`, by default the database
//! of `line-segments/ci-setup.sh`): the conformance suites, the write budget from two
//! processes, and failures. Each test works under a fresh table prefix and drops its
//! tables; with `CI` set, a missing server fails them.
#![cfg(all(feature = "postgres", feature = "testing"))]

use jiff::{SignedDuration, Timestamp};
use line_core::store::postgres::PgPool;
use line_core::testing::store::{child_index, fresh_prefix, pg_drop_prefix, pg_pool, pg_url, report, run_children};
use line_richmenu::postgres_store::{PgAssignmentStore, PgMenuStore, PgUserDirectory};
use line_richmenu::store::MenuStore;
use line_richmenu::{testing, ErrorKind};

#[tokio::test]
async fn postgres_menu_store_conforms() {
    let Some(pool) = pg_pool().await else { return };
    let prefix = fresh_prefix("menus");
    testing::menu_store_conformance(
        std::sync::Arc::new(PgMenuStore::with_prefix(&pool, &prefix).await.unwrap()),
        &line_core::clock::ManualClock::new(jiff::Timestamp::UNIX_EPOCH),
    )
    .await;
    pg_drop_prefix(&pool, &prefix).await;
}

#[tokio::test]
async fn postgres_assignment_store_conforms() {
    let Some(pool) = pg_pool().await else { return };
    let prefix = fresh_prefix("assignments");
    testing::assignment_store_conformance(
        std::sync::Arc::new(PgAssignmentStore::with_prefix(&pool, &prefix).await.unwrap()),
        &line_core::clock::ManualClock::new(jiff::Timestamp::UNIX_EPOCH),
    )
    .await;
    pg_drop_prefix(&pool, &prefix).await;
}

#[tokio::test]
async fn postgres_user_directory_conforms() {
    let Some(pool) = pg_pool().await else { return };
    let prefix = fresh_prefix("users");
    testing::user_directory_conformance(
        std::sync::Arc::new(PgUserDirectory::with_prefix(&pool, &prefix).await.unwrap()),
        &line_core::clock::ManualClock::new(jiff::Timestamp::UNIX_EPOCH),
    )
    .await;
    pg_drop_prefix(&pool, &prefix).await;
}

/// Two processes take 40 uses each of one budget of 30 at once (8 tasks each): exactly
/// 30 are granted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_two_processes_never_overdraw_a_budget() {
    if child_index().is_some() {
        let pool = PgPool::connect(&pg_url()).unwrap();
        let prefix = std::env::var("LINE_TEST_PREFIX").unwrap();
        let store = std::sync::Arc::new(PgMenuStore::with_prefix(&pool, &prefix).await.unwrap());
        let now: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move {
                    let mut granted = 0;
                    for _ in 0..5 {
                        if store
                            .take_budget("create", now, SignedDuration::from_hours(1), 30)
                            .await
                            .unwrap()
                        {
                            granted += 1;
                        }
                    }
                    granted
                })
            })
            .collect();
        for t in tasks {
            for _ in 0..t.await.unwrap() {
                report("granted");
            }
        }
        return;
    }
    let Some(pool) = pg_pool().await else { return };
    let prefix = fresh_prefix("budget");
    PgMenuStore::with_prefix(&pool, &prefix).await.unwrap();
    let reports = run_children(
        "postgres_two_processes_never_overdraw_a_budget",
        2,
        &[("LINE_TEST_PREFIX", prefix.clone())],
    );
    let granted: usize = reports.iter().map(Vec::len).sum();
    assert_eq!(granted, 30, "uses granted across both processes");
    pg_drop_prefix(&pool, &prefix).await;
}

#[tokio::test]
async fn postgres_server_down_is_a_typed_error() {
    let pool = PgPool::connect("postgres://line:hunter2@127.0.0.1:1/line").unwrap();
    let e = PgMenuStore::new(&pool).await.unwrap_err();
    assert_eq!(
        e.kind(),
        &ErrorKind::Store {
            operation: "PgMenuStore::migrate".into()
        }
    );
    assert!(!format!("{e} {e:?}").contains("hunter2"), "{e}");
}
