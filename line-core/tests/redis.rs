//! The Redis webhook stores: the conformance suites (on Redis's clock), two processes
//! at once, and failures (typed errors naming store and operation; the dedupe outage
//! choice).
#![cfg(all(feature = "redis", feature = "testing"))]

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use line_core::store::redis::{RedisDb, RedisDedupeStore, RedisNonceStore};
use line_core::testing::store::{child_index, fresh_prefix, redis_db, redis_url, report, run_children};
use line_core::testing::SleepClock;
use line_core::webhook::account_link::NonceStore;
use line_core::webhook::dedupe::{DedupeStore, Deduper};
use line_core::ErrorKind;

#[tokio::test]
async fn redis_dedupe_store_passes_the_conformance_suite() {
    let Some(db) = redis_db().await else { return };
    let store = RedisDedupeStore::with_prefix(&db, &fresh_prefix("dedupe")).unwrap();
    line_core::testing::dedupe_store_conformance(Arc::new(store), &SleepClock).await;
}

#[tokio::test]
async fn redis_nonce_store_passes_the_conformance_suite() {
    let Some(db) = redis_db().await else { return };
    let store = RedisNonceStore::with_prefix(&db, &fresh_prefix("nonce")).unwrap();
    line_core::testing::nonce_store_conformance(Arc::new(store), &SleepClock).await;
}

/// Two processes record the same 400 ids at once: each id is new in exactly one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_two_processes_see_each_id_first_exactly_once() {
    const N: usize = 400;
    if child_index().is_some() {
        let db = RedisDb::connect(&redis_url()).await.unwrap();
        let prefix = std::env::var("LINE_TEST_PREFIX").unwrap();
        let store = Arc::new(RedisDedupeStore::with_prefix(&db, &prefix).unwrap());
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
    let Some(_) = redis_db().await else { return };
    let reports = run_children(
        "redis_two_processes_see_each_id_first_exactly_once",
        2,
        &[("LINE_TEST_PREFIX", fresh_prefix("two_proc_dedupe"))],
    );
    let all: Vec<&String> = reports.iter().flatten().collect();
    let distinct: HashSet<&String> = all.iter().copied().collect();
    assert_eq!(distinct.len(), all.len(), "an id was new in both processes");
    assert_eq!(all.len(), N, "every id was new in one process");
}

/// Two processes take the same 200 nonces at once: each is given out exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_two_processes_take_each_nonce_exactly_once() {
    const N: usize = 200;
    if child_index().is_some() {
        let db = RedisDb::connect(&redis_url()).await.unwrap();
        let prefix = std::env::var("LINE_TEST_PREFIX").unwrap();
        let store = RedisNonceStore::with_prefix(&db, &prefix).unwrap();
        for i in 0..N {
            if let Some(member) = store.take(&format!("nonce-{i}")).await.unwrap() {
                report(&member);
            }
        }
        return;
    }
    let Some(db) = redis_db().await else { return };
    let prefix = fresh_prefix("two_proc_nonce");
    let store = RedisNonceStore::with_prefix(&db, &prefix).unwrap();
    for i in 0..N {
        store
            .put(&format!("nonce-{i}"), &format!("member-{i}"), Duration::from_secs(600))
            .await
            .unwrap();
    }
    let reports = run_children(
        "redis_two_processes_take_each_nonce_exactly_once",
        2,
        &[("LINE_TEST_PREFIX", prefix)],
    );
    let all: Vec<&String> = reports.iter().flatten().collect();
    let distinct: HashSet<&String> = all.iter().copied().collect();
    assert_eq!(distinct.len(), all.len(), "a nonce was taken twice");
    assert_eq!(all.len(), N, "every nonce was taken once");
}

/// A TCP proxy to Redis that can be cut: cutting closes the listener and every open connection.
struct Proxy {
    addr: std::net::SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    async fn start() -> Self {
        let target = redis_url()
            .trim_start_matches("redis://")
            .split('/')
            .next()
            .unwrap()
            .to_owned();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let mut conns = tokio::task::JoinSet::new();
            while let Ok((mut inbound, _)) = listener.accept().await {
                let target = target.clone();
                conns.spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        Self { addr, task }
    }

    fn cut(self) {
        // Aborting the task drops the listener and the JoinSet, which aborts every connection.
        self.task.abort();
    }
}

fn store_op(e: &line_core::Error) -> String {
    match e.kind() {
        ErrorKind::Store { operation } => operation.clone(),
        other => panic!("not a store error: {other:?}"),
    }
}

#[tokio::test]
async fn redis_failures_are_typed_errors_naming_store_and_operation() {
    // Nothing listens on a port just released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let e = RedisDb::connect_with_timeout(
        &format!("redis://:hunter2-secret@127.0.0.1:{port}"),
        Duration::from_millis(500),
    )
    .await
    .unwrap_err();
    assert_eq!(store_op(&e), "RedisDb::connect");
    assert!(
        !format!("{e} {e:?}").contains("hunter2"),
        "the password is not in the error: {e:?}"
    );
    let e = RedisDb::connect("not a url").await.unwrap_err();
    assert_eq!(store_op(&e), "RedisDb::connect");

    // A server that goes away after the stores were built.
    let Some(_) = redis_db().await else { return };
    let proxy = Proxy::start().await;
    let db = RedisDb::connect_with_timeout(&format!("redis://{}", proxy.addr), Duration::from_millis(500))
        .await
        .unwrap();
    let prefix = fresh_prefix("outage");
    let dedupe = RedisDedupeStore::with_prefix(&db, &prefix).unwrap();
    let nonces = RedisNonceStore::with_prefix(&db, &prefix).unwrap();
    assert!(dedupe.first_seen("ev-1", Duration::from_secs(60)).await.unwrap());
    proxy.cut();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let e = dedupe.first_seen("ev-2", Duration::from_secs(60)).await.unwrap_err();
    assert_eq!(store_op(&e), "RedisDedupeStore::first_seen");
    assert!(e.to_string().contains("RedisDedupeStore::first_seen"), "{e}");
    assert!(
        std::error::Error::source(&e).is_some(),
        "the client's error is the source"
    );
    let e = dedupe.forget("ev-1").await.unwrap_err();
    assert_eq!(store_op(&e), "RedisDedupeStore::forget");
    let e = nonces.put("n-secret", "m", Duration::from_secs(60)).await.unwrap_err();
    assert_eq!(store_op(&e), "RedisNonceStore::put");
    assert!(
        !format!("{e:?}").contains("n-secret"),
        "the nonce is not in the error: {e:?}"
    );
    let e = nonces.take("n-secret").await.unwrap_err();
    assert_eq!(store_op(&e), "RedisNonceStore::take");
}

/// The documented choice, on Redis too: when the dedupe store fails, the event is not
/// handled and the error is returned (answer with a 5xx, LINE redelivers).
#[tokio::test]
async fn on_a_redis_outage_events_are_not_handled_and_the_error_is_returned() {
    let Some(_) = redis_db().await else { return };
    let proxy = Proxy::start().await;
    let db = RedisDb::connect_with_timeout(&format!("redis://{}", proxy.addr), Duration::from_millis(500))
        .await
        .unwrap();
    let deduper = Deduper::new(RedisDedupeStore::with_prefix(&db, &fresh_prefix("outage_dedupe")).unwrap());
    proxy.cut();
    tokio::time::sleep(Duration::from_millis(50)).await;
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
