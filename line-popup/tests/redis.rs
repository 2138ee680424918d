//! The Redis store, on a real Redis server (`REDIS_URL`, default
//! `redis://127.0.0.1:6379`; `bash line-popup/ci-setup.sh` starts one).
//!
//! With `CI` set, a missing server fails these tests; without it they are
//! skipped with a notice.
#![cfg(feature = "redis")]

mod common;

use std::sync::Arc;

use common::*;
use line_popup::{Caps, PopupConfig, PopupStore, RedisStore};

fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// Deletes the keys a test wrote under its prefix.
async fn cleanup(store: &RedisStore) {
    let prefix = format!("{store:?}")
        .split('"')
        .nth(1)
        .expect("the debug form shows the prefix")
        .to_owned();
    let client = redis::Client::open(redis_url()).unwrap();
    let mut conn = client.get_multiplexed_tokio_connection().await.unwrap();
    let mut cursor = 0u64;
    let mut deleted = 0;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{prefix}*"))
            .arg("COUNT")
            .arg(5_000)
            .query_async(&mut conn)
            .await
            .unwrap();
        if !keys.is_empty() {
            deleted += keys.len();
            let _: () = redis::cmd("DEL").arg(&keys).query_async(&mut conn).await.unwrap();
        }
        if next == 0 {
            break;
        }
        cursor = next;
    }
    assert!(deleted > 0, "the test wrote under {prefix}");
}

async fn store() -> Option<Arc<RedisStore>> {
    let url = redis_url();
    let prefix = format!("popup-test-{}:", uuid_like());
    let connect = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        RedisStore::connect_with_prefix(&url, &prefix),
    )
    .await;
    match connect {
        Ok(Ok(s)) => Some(Arc::new(s)),
        other => {
            let why = match other {
                Ok(Err(e)) => format!("{e}: {:?}", std::error::Error::source(&e)),
                _ => "timed out".into(),
            };
            if std::env::var_os("CI").is_some() {
                panic!("redis is required in CI (run `bash line-popup/ci-setup.sh`): {why}");
            }
            eprintln!("SKIPPED: no redis at {url} ({why}); run `bash line-popup/ci-setup.sh`");
            None
        }
    }
}

fn uuid_like() -> String {
    use std::hash::{BuildHasher, RandomState};
    format!("{:016x}", RandomState::new().hash_one(std::time::SystemTime::now()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_store_passes_the_conformance_suite() {
    let Some(store) = store().await else { return };
    line_popup::testing::popup_store_conformance(
        store.clone(),
        &line_core::clock::ManualClock::new(jiff::Timestamp::UNIX_EPOCH),
    )
    .await;
    cleanup(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_64_concurrent_decisions_give_exactly_5() {
    let Some(store) = store().await else { return };
    for _ in 0..5 {
        let mut c = campaign("popup");
        c.caps = Caps::none().with_lifetime(5);
        let (engine, _clock) = engine_with(PopupConfig::new("@baroque", vec![c]), store.clone());
        let engine = Arc::new(engine);
        let visitor = format!("concurrent-{}", uuid_like());
        let barrier = Arc::new(tokio::sync::Barrier::new(64));
        let tasks: Vec<_> = (0..64)
            .map(|_| {
                let (engine, barrier, visitor) = (engine.clone(), barrier.clone(), visitor.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    engine.decide(&view(&visitor)).await.unwrap().showing().is_some()
                })
            })
            .collect();
        let mut shows = 0;
        for t in tasks {
            shows += usize::from(t.await.unwrap());
        }
        assert_eq!(shows, 5);
    }
    cleanup(&store).await;
}

#[tokio::test]
async fn redis_engine_end_to_end_with_cooldown_and_report() {
    let Some(store) = store().await else { return };
    let mut c = campaign("popup");
    c.caps = Caps::baroque_default();
    let (engine, clock) = engine_with(PopupConfig::new("@baroque", vec![c]), store.clone());
    let s = engine.decide(&view("v")).await.unwrap().showing().unwrap().clone();
    engine.record(&s.token, line_popup::EventKind::Shown).await.unwrap();
    engine.record(&s.token, line_popup::EventKind::Shown).await.unwrap();
    engine.record(&s.token, line_popup::EventKind::Dismissed).await.unwrap();
    assert_eq!(
        engine.decide(&view("v")).await.unwrap().reason(),
        Some(line_popup::Reason::Cap(line_popup::CapKind::DismissCooldown))
    );
    clock.advance(days(7));
    assert!(engine.decide(&view("v")).await.unwrap().showing().is_some());
    let from = engine.day_of(start());
    let to = engine.day_of(line_core::clock::Clock::now(&clock));
    let r = engine.report(from, to).await.unwrap();
    assert_eq!(r.variants.len(), 1);
    assert_eq!(
        (
            r.variants[0].reserved,
            r.variants[0].impressions,
            r.variants[0].dismissals
        ),
        (2, 1, 1)
    );
    let _: &dyn PopupStore = &*store;
    cleanup(&store).await;
}

#[tokio::test]
async fn an_unreachable_redis_fails_closed() {
    // Port 1 on loopback: nothing listens there.
    let r = RedisStore::connect("redis://127.0.0.1:1").await;
    let e = r.unwrap_err();
    assert_eq!(e.kind(), &line_popup::ErrorKind::Store { operation: "connect" });
    let e = RedisStore::connect("redis://user:hunter2@[bad").await.unwrap_err();
    assert!(!format!("{e} {e:?}").contains("hunter2"), "the password leaked: {e:?}");
}

#[tokio::test]
async fn redis_debug_does_not_print_the_url() {
    let Some(store) = store().await else { return };
    let dbg = format!("{store:?}");
    assert!(dbg.contains("popup-test-") && !dbg.contains("redis://"), "{dbg}");
}
