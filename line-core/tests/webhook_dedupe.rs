//! Dropping already-seen events, and the dedupe store conformance suite.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use jiff::SignedDuration;
use line_core::clock::ManualClock;
#[cfg(feature = "testing")]
use line_core::testing::dedupe_store_conformance;
use line_core::webhook::dedupe::{DedupeStore, Deduper, InMemoryDedupeStore, DEFAULT_DEDUPE_TTL};
use line_core::webhook::{parse, Event};
use line_core::{Error, ErrorKind};

fn clock() -> ManualClock {
    ManualClock::new("2026-05-01T00:00:00Z".parse().unwrap())
}

fn events(json: &str) -> Vec<Event> {
    parse(format!(r#"{{"destination":"U0","events":[{json}]}}"#).as_bytes())
        .unwrap()
        .events
}

fn unfollow(id: Option<&str>, redelivery: bool) -> String {
    match id {
        Some(id) => format!(
            r#"{{"type":"unfollow","timestamp":1,"mode":"active","webhookEventId":"{id}","deliveryContext":{{"isRedelivery":{redelivery}}}}}"#
        ),
        None => r#"{"type":"unfollow","timestamp":1,"mode":"active"}"#.to_owned(),
    }
}

fn ids(events: &[Event]) -> Vec<Option<String>> {
    events
        .iter()
        .map(|e| e.webhook_event_id().map(|c| c.into_owned()))
        .collect()
}

#[cfg(feature = "testing")]
#[tokio::test]
async fn in_memory_store_passes_the_conformance_suite() {
    let clock = clock();
    let store = std::sync::Arc::new(InMemoryDedupeStore::with_clock(clock.clone()));
    dedupe_store_conformance(store.clone(), &clock).await;
    // Running it again on the same store works too (keys are per run).
    dedupe_store_conformance(store, &clock).await;
}

#[cfg(feature = "testing")]
#[tokio::test]
async fn conformance_suite_catches_a_store_that_forgets() {
    struct Forgetful;
    #[async_trait]
    impl DedupeStore for Forgetful {
        async fn first_seen(&self, _: &str, _: Duration) -> Result<bool, Error> {
            Ok(true)
        }
        async fn forget(&self, _: &str) -> Result<(), Error> {
            Ok(())
        }
    }
    let handle = tokio::spawn(async { dedupe_store_conformance(std::sync::Arc::new(Forgetful), &clock()).await });
    let err = handle
        .await
        .expect_err("the suite must fail a store that never remembers");
    assert!(err.is_panic());
}

#[tokio::test]
async fn redelivered_duplicates_are_dropped() {
    let clock = clock();
    let deduper = Deduper::new(InMemoryDedupeStore::with_clock(clock.clone()));
    let first = events(
        &[
            unfollow(Some("A"), false),
            unfollow(Some("B"), false),
            unfollow(None, false),
        ]
        .join(","),
    );
    let kept = deduper.filter(first).await.unwrap();
    assert_eq!(ids(&kept), [Some("A".into()), Some("B".into()), None]);

    // LINE redelivers A; a new event C arrives with it; an event without id passes again.
    clock.advance(SignedDuration::from_mins(5));
    let again = events(
        &[
            unfollow(Some("A"), true),
            unfollow(Some("C"), false),
            unfollow(None, true),
        ]
        .join(","),
    );
    let kept = deduper.filter(again).await.unwrap();
    assert_eq!(ids(&kept), [Some("C".into()), None]);
}

#[tokio::test]
async fn the_same_id_twice_in_one_batch_is_kept_once() {
    let deduper = Deduper::new(InMemoryDedupeStore::with_clock(clock()));
    let batch = events(&[unfollow(Some("X"), false), unfollow(Some("X"), false)].join(","));
    assert_eq!(deduper.filter(batch).await.unwrap().len(), 1);
}

#[tokio::test]
async fn ids_are_forgotten_after_the_ttl_and_memory_is_reclaimed() {
    let clock = clock();
    let store = Arc::new(InMemoryDedupeStore::with_clock(clock.clone()));
    let deduper = Deduper::new(store.clone()).with_ttl(Duration::from_secs(3600));
    assert_eq!(deduper.ttl(), Duration::from_secs(3600));
    for i in 0..1000 {
        let e = events(&unfollow(Some(&format!("id-{i}")), false));
        assert!(deduper.is_new(&e[0]).await.unwrap());
    }
    assert_eq!(store.len(), 1000);
    clock.advance(SignedDuration::from_secs(3599));
    let e = events(&unfollow(Some("id-0"), true));
    assert!(
        !deduper.is_new(&e[0]).await.unwrap(),
        "still remembered just before the ttl"
    );
    clock.advance(SignedDuration::from_secs(1));
    assert!(store.is_empty(), "expired ids are purged");
    assert!(deduper.is_new(&e[0]).await.unwrap(), "forgotten after the ttl");
}

#[tokio::test]
async fn unknown_events_are_deduplicated_by_their_raw_id() {
    let deduper = Deduper::new(InMemoryDedupeStore::with_clock(clock()));
    let e = r#"{"type":"brandNew","timestamp":1,"webhookEventId":"U-1","deliveryContext":{"isRedelivery":false}}"#;
    assert_eq!(deduper.filter(events(e)).await.unwrap().len(), 1);
    assert_eq!(deduper.filter(events(e)).await.unwrap().len(), 0);
}

/// A store that is down.
struct Down;
#[async_trait]
impl DedupeStore for Down {
    async fn first_seen(&self, _: &str, _: Duration) -> Result<bool, Error> {
        Err(Error::new(ErrorKind::Store {
            operation: "first_seen".into(),
        }))
    }
    async fn forget(&self, _: &str) -> Result<(), Error> {
        Err(Error::new(ErrorKind::Store {
            operation: "forget".into(),
        }))
    }
}

#[tokio::test]
async fn store_failures_are_returned() {
    let deduper = Deduper::new(Down);
    let err = deduper.filter(events(&unfollow(Some("A"), false))).await.unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Store { .. }));
    // Without an id there is nothing to ask the store.
    assert_eq!(deduper.filter(events(&unfollow(None, false))).await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_sightings_admit_exactly_one() {
    let store = Arc::new(InMemoryDedupeStore::new());
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store.first_seen("same-id", DEFAULT_DEDUPE_TTL).await.unwrap()
        }));
    }
    let mut new = 0;
    for t in tasks {
        if t.await.unwrap() {
            new += 1;
        }
    }
    assert_eq!(new, 1);
}

/// A handler's failure, for `Deduper::once`.
#[derive(Debug)]
enum HandlerError {
    Failed,
    Dedupe(Error),
}

impl From<Error> for HandlerError {
    fn from(e: Error) -> Self {
        HandlerError::Dedupe(e)
    }
}

#[tokio::test]
async fn a_failed_event_is_handled_again_on_redelivery_and_then_dropped() {
    let deduper = Deduper::new(InMemoryDedupeStore::with_clock(clock()));
    let calls = std::sync::atomic::AtomicUsize::new(0);
    let run = |fail: bool| {
        let calls = &calls;
        move || async move {
            calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            if fail {
                Err(HandlerError::Failed)
            } else {
                Ok("done")
            }
        }
    };
    let first = events(&unfollow(Some("A"), false));
    assert!(matches!(
        deduper.once(&first[0], run(true)).await,
        Err(HandlerError::Failed)
    ));
    // The redelivery runs the handler again; this time it succeeds.
    let redelivery = events(&unfollow(Some("A"), true));
    assert_eq!(deduper.once(&redelivery[0], run(false)).await.unwrap(), Some("done"));
    // A further copy is dropped without calling the handler.
    assert_eq!(deduper.once(&redelivery[0], run(false)).await.unwrap(), None);
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 2);
    // `release` by hand does the same for hosts that use `is_new` / `filter`.
    deduper.release(&redelivery[0]).await.unwrap();
    assert_eq!(deduper.filter(redelivery).await.unwrap().len(), 1);
    // An event without an id always runs, and releasing it is a no-op.
    let anonymous = events(&unfollow(None, false));
    assert_eq!(deduper.once(&anonymous[0], run(false)).await.unwrap(), Some("done"));
    deduper.release(&anonymous[0]).await.unwrap();
}

#[tokio::test]
async fn once_returns_store_errors_and_keeps_the_handlers_error() {
    struct ForgetDown(InMemoryDedupeStore);
    #[async_trait]
    impl DedupeStore for ForgetDown {
        async fn first_seen(&self, id: &str, ttl: Duration) -> Result<bool, Error> {
            self.0.first_seen(id, ttl).await
        }
        async fn forget(&self, _: &str) -> Result<(), Error> {
            Err(Error::new(ErrorKind::Store {
                operation: "forget".into(),
            }))
        }
    }
    // The store cannot be asked: the handler does not run and the store's error comes back.
    let down = Deduper::new(Down);
    let e = &events(&unfollow(Some("A"), false))[0];
    let err = down.once(e, || async { Ok::<_, HandlerError>(()) }).await.unwrap_err();
    assert!(matches!(err, HandlerError::Dedupe(ref e) if matches!(e.kind(), ErrorKind::Store { .. })));
    // The release fails after a handler failure: the handler's error is still the one returned.
    let forget_down = Deduper::new(ForgetDown(InMemoryDedupeStore::with_clock(clock())));
    let err = forget_down
        .once(e, || async { Err::<(), _>(HandlerError::Failed) })
        .await
        .unwrap_err();
    assert!(matches!(err, HandlerError::Failed));
}
