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
use line_core::testing::store::{child_index, fresh_prefix, pg_pool, pg_table_scans, pg_url, report, run_children};
use line_popup::{Caps, PgStore, PopupConfig, PopupEngine, PopupStore};

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
/// server's setting. (Here each reservation takes the pool's connection; a unit test of
/// `postgres_store` checks the shared connections.)
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
            .with_asynchronous_commit(true)
            .with_reserve_connections(0),
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

/// Each reservation on a connection of the pool of its own (no shared connections): the
/// same suite.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_store_without_shared_connections_passes_the_suite() {
    let Some(pool) = pg_pool().await else { return };
    let prefix = fresh_prefix("popup_pooled");
    let store = PgStore::with_prefix(&pool, &prefix)
        .await
        .unwrap()
        .with_reserve_connections(0);
    assert!(format!("{store:?}").contains("reserve_connections: 0"));
    line_popup::testing::popup_store_conformance(
        Arc::new(store),
        &line_core::clock::ManualClock::new(jiff::Timestamp::UNIX_EPOCH),
    )
    .await;
    drop_prefix(&pool, &prefix).await;
}

/// The server terminates the shared reservation connections while reservations wait on
/// them (behind a visitor's row lock held elsewhere): those fail with a typed error that
/// names the store and operation, nothing panics, and the next reservation opens a new
/// connection and succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_terminated_reservation_connection_fails_its_calls_typed_and_is_replaced() {
    let Some(pool) = pg_pool().await else { return };
    let prefix = fresh_prefix("popup_kill");
    let (own, app) = named_pool("kill", &prefix);
    let store = PgStore::with_prefix(&own, &prefix).await.unwrap();
    assert!(format!("{store:?}").contains("reserve_connections: 2"));
    let store: Arc<dyn PopupStore> = Arc::new(store);
    let (engine, _) = engine_with(PopupConfig::new("@shop", vec![campaign("popup")]), store);
    let engine = Arc::new(engine);
    assert!(engine.decide(&view("v")).await.unwrap().showing().is_some());

    // Another session locks v's row; two reservations of v then wait for it, one on each
    // shared connection.
    let mut locker = pool.get().await.unwrap();
    locker.begin();
    locker.client().batch_execute("BEGIN").await.unwrap();
    locker
        .client()
        .execute(
            &format!("SELECT 1 FROM {prefix}popup_visitor WHERE visitor = 'v' FOR UPDATE"),
            &[],
        )
        .await
        .unwrap();
    let waiting: Vec<_> = (0..2)
        .map(|_| {
            let engine = engine.clone();
            tokio::spawn(async move { engine.decide(&view("v")).await })
        })
        .collect();
    let watch = pool.get().await.unwrap();
    let started = std::time::Instant::now();
    loop {
        let n: i64 = watch
            .client()
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'",
                &[&app],
            )
            .await
            .unwrap()
            .get(0);
        if n == 2 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the reservations did not wait for the lock ({n} waiting)"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let killed: i64 = watch
        .client()
        .query_one(
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE application_name = $1 AND wait_event_type = 'Lock') k",
            &[&app],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(killed, 2);
    for t in waiting {
        let e = t.await.unwrap().unwrap_err();
        assert_eq!(
            e.kind(),
            &line_popup::ErrorKind::Store {
                operation: "PgStore::reserve"
            }
        );
        assert_eq!(e.to_string(), "popup store failed during PgStore::reserve");
    }
    locker.client().batch_execute("ROLLBACK").await.unwrap();
    locker.done();
    drop(locker);
    // The next reservations open new connections.
    assert!(engine.decide(&view("w")).await.unwrap().showing().is_some());
    assert!(engine.decide(&view("x")).await.unwrap().showing().is_some());
    drop(watch);
    drop(engine);
    drop_prefix(&pool, &prefix).await;
}

/// A pool whose connections carry an `application_name` of their own (from `tag` and the
/// test's prefix), by which `pg_stat_activity` tells them apart; and that name.
fn named_pool(tag: &str, prefix: &str) -> (PgPool, String) {
    let app = format!("line_popup_{tag}_{}", &prefix[prefix.len() - 13..prefix.len() - 1]);
    let url = pg_url();
    let sep = if url.contains('?') { '&' } else { '?' };
    let pool = PgPool::connect(&format!("{url}{sep}application_name={app}")).unwrap();
    (pool, app)
}

/// How many server processes serve connections named `app`.
async fn backends(pool: &PgPool, app: &str) -> i64 {
    let conn = pool.get().await.unwrap();
    conn.client()
        .query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
            &[&app],
        )
        .await
        .unwrap()
        .get(0)
}

/// `n` decisions at once for visitors `{tag}-0`, `{tag}-1`, …, each of which must show the
/// popup.
async fn show_to_new_visitors_at_once(engine: &Arc<PopupEngine>, tag: &str, n: usize) {
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let (engine, visitor) = (engine.clone(), view(&format!("{tag}-{i}")));
            tokio::spawn(async move { engine.decide(&visitor).await })
        })
        .collect();
    for t in tasks {
        assert!(t.await.unwrap().unwrap().showing().is_some());
    }
}

/// `open_connections` opens the shared reservation connections before any reservation;
/// the reservations then open none, and a second call keeps the open ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_open_connections_opens_the_shared_connections_before_the_first_reservation() {
    let Some(pool) = pg_pool().await else { return };
    let prefix = fresh_prefix("popup_open");
    let (own, app) = named_pool("open", &prefix);
    let store = PgStore::with_prefix(&own, &prefix)
        .await
        .unwrap()
        .with_reserve_connections(3);
    let before = backends(&pool, &app).await;
    assert!(before < 3, "{before} connections before any reservation");
    store.open_connections().await.unwrap();
    let opened = backends(&pool, &app).await;
    assert!(opened >= 3, "{opened} connections after open_connections");
    store.open_connections().await.unwrap();
    assert_eq!(backends(&pool, &app).await, opened, "a second call opens no more");

    let store: Arc<dyn PopupStore> = Arc::new(store);
    let (engine, _) = engine_with(PopupConfig::new("@shop", vec![campaign("popup")]), store);
    let engine = Arc::new(engine);
    show_to_new_visitors_at_once(&engine, "v", 24).await;
    assert_eq!(
        backends(&pool, &app).await,
        opened,
        "the reservations opened no connection"
    );
    drop(engine);
    drop_prefix(&pool, &prefix).await;
}

/// Checks `done` every 20 ms until it holds; fails the test with `what` after 20 s.
async fn wait_until<F: std::future::Future<Output = bool>>(what: &str, mut done: impl FnMut() -> F) {
    let started = std::time::Instant::now();
    while !done().await {
        assert!(started.elapsed() < Duration::from_secs(20), "{what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until no server process serves connections named `app` (a process flushes its
/// table counters as it exits).
async fn wait_for_no_backends(pool: &PgPool, app: &str) {
    let what = format!("the connections named {app} were not closed");
    wait_until(&what, || async move { backends(pool, app).await == 0 }).await;
}

/// First visits read the campaign and session tables through their keys, also in a server
/// process that planned the reservation's statements while the tables were small
/// (PL/pgSQL keeps those plans until the tables are analysed again, and on a table of a few
/// pages the planner prefers reading it whole to an index lookup). The tables' counters
/// show it: no sequential scan for 64 first visits at once on one shared connection (alone
/// and in batches), nor for 64 more on pooled connections.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_first_visits_read_state_through_the_keys_of_tables_planned_small() {
    let Some(pool) = pg_pool().await else { return };
    let prefix = fresh_prefix("popup_plans");
    let mut c = campaign("popup");
    c.caps = Caps::none();
    let config = PopupConfig::new("@shop", vec![c]);
    // The tables are created, given 8 visitors and analysed (as autovacuum does soon after
    // a deployment) on connections that are then closed, so that their own scans are
    // counted before the first reading.
    let (setup, setup_app) = named_pool("plans_setup", &prefix);
    let store = PgStore::with_prefix(&setup, &prefix).await.unwrap();
    let (engine, _) = engine_with(config.clone(), Arc::new(store));
    show_to_new_visitors_at_once(&Arc::new(engine), "early", 8).await;
    let conn = setup.get().await.unwrap();
    conn.client()
        .batch_execute(&format!("ANALYZE {prefix}popup_campaign, {prefix}popup_session"))
        .await
        .unwrap();
    drop(conn);
    drop(setup);
    wait_for_no_backends(&pool, &setup_app).await;
    let tables = [format!("{prefix}popup_campaign"), format!("{prefix}popup_session")];
    let mut before = Vec::new();
    for t in &tables {
        before.push(pg_table_scans(&pool, &pool, t).await);
    }

    let (own, app) = named_pool("plans", &prefix);
    for (round, shared) in [(0, 1), (1, 0)] {
        let store = PgStore::with_prefix(&own, &prefix)
            .await
            .unwrap()
            .with_reserve_connections(shared);
        let (engine, _) = engine_with(config.clone(), Arc::new(store));
        show_to_new_visitors_at_once(&Arc::new(engine), &format!("v-{round}"), 64).await;
    }
    drop(own);
    wait_for_no_backends(&pool, &app).await;
    for (t, (seq_before, idx_before)) in tables.iter().zip(before) {
        let (seq, idx) = pg_table_scans(&pool, &pool, t).await;
        assert_eq!(seq - seq_before, 0, "{t} read whole");
        // Each first visit looks the visitor up once in each table.
        assert!(idx - idx_before >= 128, "{t}: {} index reads", idx - idx_before);
    }
    drop_prefix(&pool, &prefix).await;
}

/// A pool that gives no connection (its one connection held elsewhere, a short wait
/// timeout) fails `open_connections` with a typed error naming the store and operation,
/// with shared connections and without; once the pool has one, it succeeds.
#[tokio::test]
async fn postgres_open_connections_fails_typed_when_the_pool_gives_no_connection() {
    let Some(pool) = pg_pool().await else { return };
    let prefix = fresh_prefix("popup_open_fail");
    let config = PgPoolConfig::default()
        .with_max_size(1)
        .with_wait_timeout(Duration::from_millis(200));
    let small = PgPool::connect_with(&pg_url(), &config).unwrap();
    let shared = PgStore::with_prefix(&small, &prefix).await.unwrap();
    let pooled = shared.clone().with_reserve_connections(0);
    let held = small.get().await.unwrap();
    for store in [&shared, &pooled] {
        let e = store.open_connections().await.unwrap_err();
        assert_eq!(
            e.kind(),
            &line_popup::ErrorKind::Store {
                operation: "PgStore::open_connections"
            },
            "{store:?}"
        );
    }
    drop(held);
    shared.open_connections().await.unwrap();
    pooled.open_connections().await.unwrap();
    let store: Arc<dyn PopupStore> = Arc::new(shared);
    let (engine, _) = engine_with(PopupConfig::new("@shop", vec![campaign("popup")]), store);
    assert!(engine.decide(&view("v")).await.unwrap().showing().is_some());
    drop(engine);
    drop(pooled);
    drop_prefix(&pool, &prefix).await;
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

/// Counted friend events of days older than the 8 kept are deleted by the store's
/// background task, which one `count_new_friend` call in 256 wakes; the kept days'
/// events stay and still deduplicate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_old_friend_events_are_deleted_in_the_background() {
    let Some(pool) = pg_pool().await else { return };
    let prefix = fresh_prefix("popup_friends");
    let store = PgStore::with_prefix(&pool, &prefix).await.unwrap();
    for i in 0..10 {
        assert!(store
            .count_new_friend(Some(&format!("old-{i}")), "2026-04-01")
            .await
            .unwrap());
    }
    // Days from 2026-04-24 on are kept at 2026-05-01; 300 calls wake the task once.
    for i in 0..300 {
        assert!(store
            .count_new_friend(Some(&format!("new-{i}")), "2026-05-01")
            .await
            .unwrap());
    }
    let conn = pool.get().await.unwrap();
    let per_day = |day: &'static str| {
        let (c, prefix) = (conn.client(), prefix.clone());
        async move {
            c.query_one(
                &format!("SELECT count(*) FROM {prefix}popup_friend_event WHERE day = $1"),
                &[&day],
            )
            .await
            .unwrap()
            .get::<_, i64>(0)
        }
    };
    wait_until("the old day's events were not deleted", || {
        let old = per_day("2026-04-01");
        async move { old.await == 0 }
    })
    .await;
    assert_eq!(per_day("2026-05-01").await, 300);
    assert!(!store.count_new_friend(Some("new-7"), "2026-05-01").await.unwrap());
    drop(conn);
    drop(store);
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
    let (own, app) = named_pool("down", &prefix);
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
