//! The SQLite store: the conformance suite, the engine end to end, persistence, two
//! processes on one file, and failures (decisions fail closed).
#![cfg(feature = "sqlite")]

mod common;

use std::sync::Arc;

use common::*;
use line_core::store::sqlite::SqliteDb;
use line_core::testing::store::{child_index, fresh_sqlite_path, remove_sqlite, report, run_children};
use line_popup::{Caps, PopupConfig, PopupStore, SqliteStore};

struct TempDb(std::path::PathBuf);

impl Drop for TempDb {
    fn drop(&mut self) {
        remove_sqlite(&self.0);
    }
}

async fn store(file: &TempDb) -> Arc<SqliteStore> {
    let db = SqliteDb::open(&file.0).await.unwrap();
    Arc::new(SqliteStore::new(&db).await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_store_passes_the_conformance_suite() {
    let file = TempDb(fresh_sqlite_path("popup"));
    line_popup::testing::popup_store_conformance(
        store(&file).await,
        &line_core::clock::ManualClock::new(jiff::Timestamp::UNIX_EPOCH),
    )
    .await;
}

/// 64 page views of one visitor at once, a lifetime cap of 5, through the engine: 5 showings.
async fn sixty_four_at_once(store: Arc<dyn PopupStore>, visitor: &str) -> usize {
    let mut c = campaign("popup");
    c.caps = Caps::none().with_lifetime(5);
    let (engine, _clock) = engine_with(PopupConfig::new("@shop", vec![c]), store);
    let engine = Arc::new(engine);
    let barrier = Arc::new(tokio::sync::Barrier::new(64));
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let (engine, barrier) = (engine.clone(), barrier.clone());
            let mut ctx = view(visitor);
            ctx.session_id = format!("tab-{}", i % 4);
            tokio::spawn(async move {
                barrier.wait().await;
                engine.decide(&ctx).await.unwrap().showing().is_some()
            })
        })
        .collect();
    let mut shows = 0;
    for t in tasks {
        shows += usize::from(t.await.unwrap());
    }
    shows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_64_concurrent_decisions_give_exactly_5() {
    let file = TempDb(fresh_sqlite_path("popup-64"));
    let store = store(&file).await;
    for round in 0..3 {
        assert_eq!(sixty_four_at_once(store.clone(), &format!("v-{round}")).await, 5);
    }
}

#[tokio::test]
async fn sqlite_counters_survive_a_restart() {
    let file = TempDb(fresh_sqlite_path("popup-restart"));
    let mut c = campaign("popup");
    c.caps = Caps::none().with_lifetime(2);
    let config = PopupConfig::new("@shop", vec![c]);
    let token = {
        let (engine, _) = engine_with(config.clone(), store(&file).await);
        let s = engine.decide(&view("v")).await.unwrap().showing().unwrap().clone();
        assert!(engine.decide(&view("v")).await.unwrap().showing().is_some());
        s.token
    };
    let (engine, _) = engine_with(config, store(&file).await);
    assert!(
        engine.decide(&view("v")).await.unwrap().showing().is_none(),
        "the lifetime cap counts showings made before the restart"
    );
    engine.record(&token, line_popup::EventKind::Shown).await.unwrap();
}

/// Two processes, 32 page views each at once, one visitor with a lifetime cap of 5:
/// exactly 5 showings in all, in each of 3 rounds.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_two_processes_never_exceed_a_cap() {
    if child_index().is_some() {
        let path = std::env::var("LINE_TEST_DB").unwrap();
        let db = SqliteDb::open(&path).await.unwrap();
        let store = Arc::new(SqliteStore::new(&db).await.unwrap());
        for round in 0..3 {
            let mut c = campaign("popup");
            c.caps = Caps::none().with_lifetime(5);
            let (engine, _clock) = engine_with(PopupConfig::new("@shop", vec![c]), store.clone());
            let engine = Arc::new(engine);
            let tasks: Vec<_> = (0..32)
                .map(|_| {
                    let engine = engine.clone();
                    tokio::spawn(async move {
                        engine
                            .decide(&view(&format!("v-{round}")))
                            .await
                            .unwrap()
                            .showing()
                            .is_some()
                    })
                })
                .collect();
            let mut shows = 0;
            for t in tasks {
                shows += usize::from(t.await.unwrap());
            }
            report(&format!("{round}:{shows}"));
        }
        return;
    }
    let file = TempDb(fresh_sqlite_path("popup-two-proc"));
    drop(store(&file).await);
    let reports = run_children(
        "sqlite_two_processes_never_exceed_a_cap",
        2,
        &[("LINE_TEST_DB", file.0.display().to_string())],
    );
    for round in 0..3 {
        let total: usize = reports
            .iter()
            .flatten()
            .filter_map(|r| r.strip_prefix(&format!("{round}:")))
            .map(|n| n.parse::<usize>().unwrap())
            .sum();
        assert_eq!(total, 5, "round {round}: showings across both processes ({reports:?})");
    }
}

#[tokio::test]
async fn sqlite_failures_are_typed_and_decisions_fail_closed() {
    let file = TempDb(fresh_sqlite_path("popup-ro"));
    drop(store(&file).await);
    let db = SqliteDb::open_read_only(&file.0).await.unwrap();
    let store = Arc::new(SqliteStore::new(&db).await.unwrap());
    let (engine, _) = engine_with(PopupConfig::new("@shop", vec![campaign("popup")]), store.clone());
    let e = engine.decide(&view("v")).await.unwrap_err();
    assert_eq!(
        e.kind(),
        &line_popup::ErrorKind::Store {
            operation: "SqliteStore::reserve"
        },
        "{e}"
    );
    let e = store.count_new_friend(Some("ev"), "2026-05-01").await.unwrap_err();
    assert_eq!(
        e.kind(),
        &line_popup::ErrorKind::Store {
            operation: "SqliteStore::count_new_friend"
        }
    );
    // Reads still work on a read-only file.
    assert!(store.stats(&["2026-05-01".into()]).await.unwrap().rows.is_empty());
}
