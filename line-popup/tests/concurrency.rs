//! 64 concurrent decisions for one visitor with a lifetime cap of 5 give
//! exactly 5 showings, and the in-memory store passes the conformance suite.

mod common;

use std::sync::Arc;

use common::*;
use line_popup::{Caps, InMemoryStore, PopupConfig, PopupEngine, PopupStore};

/// Runs 64 concurrent decisions on `store` and checks that 5 show.
pub async fn sixty_four_concurrent_decisions(store: Arc<dyn PopupStore>) {
    let mut c = campaign("popup");
    c.caps = Caps::none().with_lifetime(5);
    let (engine, _clock) = engine_with(PopupConfig::new("@baroque", vec![c]), store);
    let engine = Arc::new(engine);
    let visitor = format!("concurrent-{}", rand_suffix());
    let barrier = Arc::new(tokio::sync::Barrier::new(64));
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let (engine, barrier, visitor) = (engine.clone(), barrier.clone(), visitor.clone());
            tokio::spawn(async move {
                let mut ctx = view(&visitor);
                ctx.session_id = format!("tab-{}", i % 4);
                barrier.wait().await;
                engine.decide(&ctx).await.unwrap().showing().is_some()
            })
        })
        .collect();
    let mut shows = 0;
    for t in tasks {
        shows += usize::from(t.await.unwrap());
    }
    assert_eq!(shows, 5);
    let _: &PopupEngine = &engine;
}

fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::time::SystemTime::now())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn in_memory_64_concurrent_decisions_give_exactly_5() {
    for _ in 0..20 {
        sixty_four_concurrent_decisions(Arc::new(InMemoryStore::new())).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn in_memory_store_passes_the_conformance_suite() {
    line_popup::testing::popup_store_conformance(
        Arc::new(InMemoryStore::new()),
        &line_core::clock::ManualClock::new(jiff::Timestamp::UNIX_EPOCH),
    )
    .await;
}

#[tokio::test]
async fn expired_tokens_are_purged() {
    let store = Arc::new(InMemoryStore::new());
    let mut cfg = PopupConfig::new("@baroque", vec![campaign("popup")]);
    cfg.attribution_ttl_secs = 60;
    let (engine, clock) = engine_with(cfg, store.clone());
    let s = engine.decide(&view("v")).await.unwrap().showing().unwrap().clone();
    clock.advance(mins(2));
    store.purge_expired(line_core::clock::Clock::now(&clock));
    clock.set(start());
    let e = engine.record(&s.token, line_popup::EventKind::Shown).await.unwrap_err();
    assert!(
        e.to_string().contains("unknown or expired"),
        "purged token is gone even at an earlier time: {e}"
    );
}
