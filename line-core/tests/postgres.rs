//! The PostgreSQL webhook stores on a real server (`LINE_STORES_PG_URL`, by default the
//! database of `line-segments/ci-setup.sh`): the conformance suites, schema management,
//! two processes on one database, and failures. Each test works under a fresh table
//! prefix and drops its tables at the end. With `CI` set, a missing server fails them.
#![cfg(all(feature = "postgres", feature = "testing"))]

use std::collections::HashSet;
use std::time::Duration;

use line_core::clock::{Clock, ManualClock};
use line_core::store::postgres::{PgDedupeStore, PgNonceStore, PgPool};
use line_core::testing::store::{
    child_index, fresh_prefix, pg_batch, pg_drop_prefix, pg_pool, pg_table_scans, pg_url, report, run_children,
};
use line_core::webhook::account_link::NonceStore;
use line_core::webhook::dedupe::DedupeStore;
use line_core::ErrorKind;

fn clock() -> ManualClock {
    ManualClock::new("2026-05-15T00:00:00Z".parse().unwrap())
}

#[tokio::test]
async fn postgres_dedupe_store_passes_the_conformance_suite() {
    let Some(pool) = pg_pool().await else { return };
    let prefix = fresh_prefix("dedupe");
    let clock = clock();
    let store = PgDedupeStore::with_prefix(&pool, &prefix)
        .await
        .unwrap()
        .with_clock(clock.clone());
    line_core::testing::dedupe_store_conformance(std::sync::Arc::new(store), &clock).await;
    pg_drop_prefix(&pool, &prefix).await;
}

#[tokio::test]
async fn postgres_nonce_store_passes_the_conformance_suite() {
    let Some(pool) = pg_pool().await else { return };
    let prefix = fresh_prefix("nonce");
    let clock = clock();
    let store = PgNonceStore::with_prefix(&pool, &prefix)
        .await
        .unwrap()
        .with_clock(clock.clone());
    line_core::testing::nonce_store_conformance(std::sync::Arc::new(store), &clock).await;
    pg_drop_prefix(&pool, &prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_migrations_from_many_pools_at_once_apply_once() {
    let Some(pool) = pg_pool().await else { return };
    let prefix = fresh_prefix("migrate");
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let prefix = prefix.clone();
        tasks.push(tokio::spawn(async move {
            let pool = PgPool::connect(&pg_url()).unwrap();
            PgDedupeStore::with_prefix(&pool, &prefix).await.map(|_| ())?;
            PgNonceStore::with_prefix(&pool, &prefix).await.map(|_| ())
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let conn = pool.get().await.unwrap();
    let rows = conn
        .client()
        .query(
            &format!("SELECT component, version FROM {prefix}schema_version ORDER BY 1"),
            &[],
        )
        .await
        .unwrap();
    let got: Vec<(String, i64)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(got, vec![("dedupe".into(), 1), ("nonce".into(), 1)]);
    conn.client()
        .execute(&format!("UPDATE {prefix}schema_version SET version = 7"), &[])
        .await
        .unwrap();
    drop(conn);
    let e = PgDedupeStore::with_prefix(&pool, &prefix).await.unwrap_err();
    assert_eq!(
        e.kind(),
        &ErrorKind::Store {
            operation: "PgDedupeStore::migrate".into()
        }
    );
    pg_drop_prefix(&pool, &prefix).await;
}

/// Two processes record the same 400 ids at once: each id is new exactly once in all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_two_processes_see_each_id_first_exactly_once() {
    const N: usize = 400;
    if child_index().is_some() {
        let pool = PgPool::connect(&pg_url()).unwrap();
        let prefix = std::env::var("LINE_TEST_PREFIX").unwrap();
        let store = std::sync::Arc::new(PgDedupeStore::with_prefix(&pool, &prefix).await.unwrap());
        let mut tasks = Vec::new();
        for t in 0..8 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let mut new = Vec::new();
                for i in (t..N).step_by(8) {
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
    let Some(pool) = pg_pool().await else { return };
    let prefix = fresh_prefix("two_proc_dedupe");
    PgDedupeStore::with_prefix(&pool, &prefix).await.unwrap();
    let reports = run_children(
        "postgres_two_processes_see_each_id_first_exactly_once",
        2,
        &[("LINE_TEST_PREFIX", prefix.clone())],
    );
    let all: Vec<&String> = reports.iter().flatten().collect();
    let distinct: HashSet<&String> = all.iter().copied().collect();
    assert_eq!(distinct.len(), all.len(), "an id was new in both processes");
    assert_eq!(all.len(), N, "every id was new in one process");
    pg_drop_prefix(&pool, &prefix).await;
}

/// Two processes take the same 200 nonces at once: each is given out exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_two_processes_take_each_nonce_exactly_once() {
    const N: usize = 200;
    if child_index().is_some() {
        let pool = PgPool::connect(&pg_url()).unwrap();
        let prefix = std::env::var("LINE_TEST_PREFIX").unwrap();
        let store = PgNonceStore::with_prefix(&pool, &prefix).await.unwrap();
        for i in 0..N {
            if let Some(member) = store.take(&format!("nonce-{i}")).await.unwrap() {
                report(&member);
            }
        }
        return;
    }
    let Some(pool) = pg_pool().await else { return };
    let prefix = fresh_prefix("two_proc_nonce");
    let store = PgNonceStore::with_prefix(&pool, &prefix).await.unwrap();
    for i in 0..N {
        store
            .put(&format!("nonce-{i}"), &format!("member-{i}"), Duration::from_secs(600))
            .await
            .unwrap();
    }
    let reports = run_children(
        "postgres_two_processes_take_each_nonce_exactly_once",
        2,
        &[("LINE_TEST_PREFIX", prefix.clone())],
    );
    let all: Vec<&String> = reports.iter().flatten().collect();
    let distinct: HashSet<&String> = all.iter().copied().collect();
    assert_eq!(distinct.len(), all.len(), "a nonce was taken twice");
    assert_eq!(all.len(), N, "every nonce was taken once");
    pg_drop_prefix(&pool, &prefix).await;
}

#[tokio::test]
async fn postgres_server_down_is_a_typed_error_without_the_password() {
    // Nothing listens on port 1 of loopback.
    let pool = PgPool::connect("postgres://line:hunter2@127.0.0.1:1/line").unwrap();
    let e = PgDedupeStore::new(&pool).await.unwrap_err();
    assert_eq!(
        e.kind(),
        &ErrorKind::Store {
            operation: "PgDedupeStore::migrate".into()
        }
    );
    let shown = format!("{e} {e:?} {pool:?}");
    assert!(!shown.contains("hunter2"), "the password leaked: {shown}");
    let e = PgPool::connect("postgres://line:hunter2@[bad").unwrap_err();
    assert!(!format!("{e} {e:?}").contains("hunter2"));
    assert!(matches!(e.kind(), ErrorKind::Config { .. }));
}

/// The server drops every connection of the pool (a restart, a failover): calls made
/// then fail with a typed error or succeed on a new connection, and the store goes on
/// working without being rebuilt.
#[tokio::test]
async fn postgres_dropped_connections_are_replaced() {
    let Some(_) = pg_pool().await else { return };
    let app = format!("line_test_{:x}", rand_u32());
    let pool = PgPool::connect(&format!("{}?application_name={app}", pg_url())).unwrap();
    let admin = PgPool::connect(&pg_url()).unwrap();
    let prefix = fresh_prefix("dropped");
    let store = PgDedupeStore::with_prefix(&pool, &prefix).await.unwrap();
    assert!(store.first_seen("ev-1", Duration::from_secs(60)).await.unwrap());
    let conn = admin.get().await.unwrap();
    let killed = conn
        .client()
        .query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
            &[&app],
        )
        .await
        .unwrap();
    assert!(!killed.is_empty(), "the pool's connections were found");
    drop(conn);
    let mut answers = Vec::new();
    for i in 0..3 {
        match store
            .first_seen(&format!("ev-after-{i}"), Duration::from_secs(60))
            .await
        {
            Ok(new) => answers.push(new),
            Err(e) => assert_eq!(
                e.kind(),
                &ErrorKind::Store {
                    operation: "PgDedupeStore::first_seen".into()
                }
            ),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(answers.last() == Some(&true), "the store works again: {answers:?}");
    assert!(
        !store.first_seen("ev-1", Duration::from_secs(60)).await.unwrap(),
        "and kept its data"
    );
    pg_drop_prefix(&admin, &prefix).await;
}

fn rand_u32() -> u32 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::time::SystemTime::now()) as u32
}

#[cfg(feature = "client")]
#[tokio::test]
async fn postgres_retry_key_store_passes_the_conformance_suite() {
    use line_core::client::RetryKeyStore;
    use line_core::ids::RetryKey;
    use line_core::store::postgres::PgRetryKeyStore;

    let Some(pool) = pg_pool().await else { return };
    let prefix = fresh_prefix("retry");
    let store = std::sync::Arc::new(PgRetryKeyStore::with_prefix(&pool, &prefix).await.unwrap());
    line_core::testing::retry_key_store_conformance(store.clone(), &clock()).await;
    // A second handle (another process's) sees the keys of the first.
    let first = RetryKey::new();
    assert_eq!(store.keys("run-1", &[("U1", first)]).await.unwrap(), vec![first]);
    let again = PgRetryKeyStore::with_prefix(&pool, &prefix).await.unwrap();
    assert_eq!(
        again.keys("run-1", &[("U1", RetryKey::new())]).await.unwrap(),
        vec![first]
    );
    pg_drop_prefix(&pool, &prefix).await;
}

/// The purge of expired IDs (every 256th `first_seen`) finds them through the index on
/// expiry, also on a connection that purged while the table held a few IDs and after the
/// table grew to thousands before autovacuum analysed it again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_dedupe_purge_reads_a_grown_table_through_its_index() {
    let Some(pool) = pg_pool().await else { return };
    let prefix = fresh_prefix("dedupe_plans");
    let table = format!("{prefix}dedupe");
    // One connection, so that every call runs in the same server process.
    let one = PgPool::connect_with_size(&pg_url(), 1).unwrap();
    let clock = clock();
    let store = PgDedupeStore::with_prefix(&one, &prefix)
        .await
        .unwrap()
        .with_clock(clock.clone());
    // The time before autovacuum comes by, held still.
    pg_batch(&pool, &format!("ALTER TABLE {table} SET (autovacuum_enabled = off)")).await;
    for i in 0..8 {
        assert!(store
            .first_seen(&format!("old-{i}"), Duration::from_secs(60))
            .await
            .unwrap());
    }
    pg_batch(&pool, &format!("ANALYZE {table}")).await;
    // Purges on the small table (nothing has expired yet).
    for _ in 0..8 {
        assert_eq!(store.purge_expired().await.unwrap(), 0);
    }
    // The table grows by 20,000 IDs that expire in a day; the first 8 expire.
    pg_batch(
        &pool,
        &format!(
            "INSERT INTO {table} (id, expires_ms) \
             SELECT 'new-' || i, {} FROM generate_series(1, 20000) AS i",
            clock.now().as_millisecond() + 86_400_000
        ),
    )
    .await;
    clock.advance(jiff::SignedDuration::from_secs(120));
    let before = pg_table_scans(&pool, &one, &table).await;
    // 256 calls: one of them purges a batch.
    for i in 0..256 {
        assert!(store
            .first_seen(&format!("later-{i}"), Duration::from_secs(60))
            .await
            .unwrap());
    }
    let after = pg_table_scans(&pool, &one, &table).await;
    assert_eq!(after.0 - before.0, 0, "the dedupe table was read whole");
    assert!(after.1 > before.1, "{before:?} {after:?}: no index read");
    // The batch deleted the 8 expired IDs (one of them seen again since).
    assert!(store.first_seen("old-3", Duration::from_secs(60)).await.unwrap());
    let conn = pool.get().await.unwrap();
    let left: i64 = conn
        .client()
        .query_one(&format!("SELECT count(*) FROM {table} WHERE id LIKE 'old-%'"), &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 1, "only old-3, seen again, is left of the expired IDs");
    drop(conn);
    pg_drop_prefix(&pool, &prefix).await;
}
