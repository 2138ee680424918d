//! The PostgreSQL store on a real server (`LINE_STORES_PG_URL`, by default the database
//! of `line-segments/ci-setup.sh`): the conformance suite, the engine end to end, two
//! processes on one database, and failures (decisions fail closed). Each test works
//! under a fresh table prefix and drops its tables at the end; with `CI` set, a missing
//! server fails them.
#![cfg(feature = "postgres")]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use line_core::store::postgres::{PgPool, PgPoolConfig};
use line_core::testing::store::{child_index, fresh_prefix, pg_pool, pg_url, report, run_children};
use line_popup::{Caps, PgStore, PopupConfig, PopupStore};

/// Drops a test's tables and the store's reservation function, and checks that nothing
/// of the prefix is left behind.
async fn drop_prefix(pool: &PgPool, prefix: &str) {
    line_core::testing::store::pg_drop_prefix(pool, prefix).await;
    let conn = pool.get().await.unwrap();
    let left: i64 = conn
        .client()
        .query_one(
            "SELECT (SELECT count(*) FROM pg_proc WHERE starts_with(proname, $1)) \
                  + (SELECT count(*) FROM pg_tables WHERE starts_with(tablename, $1))",
            &[&prefix],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0, "tables or functions of {prefix} left behind");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_store_passes_the_conformance_suite() {
    let Some(pool) = pg_pool().await else { return };
    let prefix = fresh_prefix("popup");
    let store = Arc::new(PgStore::with_prefix(&pool, &prefix).await.unwrap());
    line_popup::testing::popup_store_conformance(
        store,
        &line_core::clock::ManualClock::new(jiff::Timestamp::UNIX_EPOCH),
    )
    .await;
    drop_prefix(&pool, &prefix).await;
}

/// With asynchronous commit the store behaves the same (the suite), and the setting stays
/// in the reservation's own transaction: the connection goes back to the pool with the
/// server's setting.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_store_with_asynchronous_commit_passes_the_suite_and_keeps_it_local() {
    let Some(shared) = pg_pool().await else { return };
    let prefix = fresh_prefix("popup_async");
    // One connection, so the check below runs on the one the reservations used; its
    // session commits synchronously whatever the server's default, so a leak would show.
    let url = pg_url();
    let sep = if url.contains('?') { '&' } else { '?' };
    let pool = PgPool::connect_with_size(&format!("{url}{sep}options=-c%20synchronous_commit%3Don"), 1).unwrap();
    let server: String = {
        let conn = pool.get().await.unwrap();
        conn.client()
            .query_one("SHOW synchronous_commit", &[])
            .await
            .unwrap()
            .get(0)
    };
    assert_eq!(server, "on");
    let store = Arc::new(
        PgStore::with_prefix(&pool, &prefix)
            .await
            .unwrap()
            .with_asynchronous_commit(true),
    );
    assert!(format!("{store:?}").contains("async_commit: true"));
    line_popup::testing::popup_store_conformance(
        store,
        &line_core::clock::ManualClock::new(jiff::Timestamp::UNIX_EPOCH),
    )
    .await;
    let after: String = {
        let conn = pool.get().await.unwrap();
        conn.client()
            .query_one("SHOW synchronous_commit", &[])
            .await
            .unwrap()
            .get(0)
    };
    assert_eq!(after, server, "the reservation's setting leaked into the connection");
    drop_prefix(&shared, &prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_64_concurrent_decisions_give_exactly_5() {
    let Some(pool) = pg_pool().await else { return };
    let prefix = fresh_prefix("popup_64");
    let store: Arc<dyn PopupStore> = Arc::new(PgStore::with_prefix(&pool, &prefix).await.unwrap());
    for round in 0..3 {
        let mut c = campaign("popup");
        c.caps = Caps::none().with_lifetime(5);
        let (engine, _clock) = engine_with(PopupConfig::new("@shop", vec![c]), store.clone());
        let engine = Arc::new(engine);
        let barrier = Arc::new(tokio::sync::Barrier::new(64));
        let tasks: Vec<_> = (0..64)
            .map(|i| {
                let (engine, barrier) = (engine.clone(), barrier.clone());
                let mut ctx = view(&format!("v-{round}"));
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
        assert_eq!(shows, 5, "round {round}");
    }
    drop_prefix(&pool, &prefix).await;
}

/// Two processes, 32 page views each at once, one visitor with a lifetime cap of 5:
/// exactly 5 showings in all, in each of 3 rounds.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_two_processes_never_exceed_a_cap() {
    if child_index().is_some() {
        // A few connections, given time: on a loaded machine, 16 connections authenticating
        // at once (SCRAM costs CPU on both sides) once overran a 5-second create timeout.
        let config = PgPoolConfig::default()
            .with_max_size(4)
            .with_create_timeout(Duration::from_secs(60))
            .with_wait_timeout(Duration::from_secs(60));
        let pool = PgPool::connect_with(&pg_url(), &config).unwrap();
        let prefix = std::env::var("LINE_TEST_PREFIX").unwrap();
        let store = Arc::new(PgStore::with_prefix(&pool, &prefix).await.unwrap());
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
    let Some(pool) = pg_pool().await else { return };
    let prefix = fresh_prefix("popup_two_proc");
    PgStore::with_prefix(&pool, &prefix).await.unwrap();
    let reports = run_children(
        "postgres_two_processes_never_exceed_a_cap",
        2,
        &[("LINE_TEST_PREFIX", prefix.clone())],
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
    drop_prefix(&pool, &prefix).await;
}

#[tokio::test]
async fn postgres_server_down_fails_closed_with_a_typed_error() {
    let Some(pool) = pg_pool().await else { return };
    let prefix = fresh_prefix("popup_down");
    // Build the store on a working server, then lose the server: a pool to a port where
    // nothing listens stands for it, with the same tables.
    PgStore::with_prefix(&pool, &prefix).await.unwrap();
    let down = PgPool::connect("postgres://line:hunter2@127.0.0.1:1/line").unwrap();
    let e = PgStore::with_prefix(&down, &prefix).await.unwrap_err();
    assert_eq!(
        e.kind(),
        &line_popup::ErrorKind::Store {
            operation: "PgStore::migrate"
        }
    );
    assert!(!format!("{e} {e:?}").contains("hunter2"));

    // A store whose connections are dropped by the server mid-way: calls fail typed or
    // succeed on a new connection; never a panic, never a popup on failure.
    let app = format!("line_popup_test_{}", &prefix[2..14]);
    let own = PgPool::connect(&format!("{}?application_name={app}", pg_url())).unwrap();
    let store: Arc<dyn PopupStore> = Arc::new(PgStore::with_prefix(&own, &prefix).await.unwrap());
    let (engine, _) = engine_with(PopupConfig::new("@shop", vec![campaign("popup")]), store);
    assert!(engine.decide(&view("v")).await.unwrap().showing().is_some());
    let conn = pool.get().await.unwrap();
    conn.client()
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
            &[&app],
        )
        .await
        .unwrap();
    drop(conn);
    let mut ok = 0;
    for _ in 0..3 {
        match engine.decide(&view("w")).await {
            Ok(_) => ok += 1,
            Err(e) => assert_eq!(
                e.kind(),
                &line_popup::ErrorKind::Store {
                    operation: "PgStore::reserve"
                }
            ),
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(ok >= 1, "the store recovers on a new connection");
    drop_prefix(&pool, &prefix).await;
}
