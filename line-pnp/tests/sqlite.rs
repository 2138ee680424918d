//! The SQLite store: the conformance suite, the end-to-end flows on it, and a restart
//! (the store reopened by a new notifier) that resumes an interrupted fallback without a
//! second SMS.
#![cfg(feature = "sqlite")]

mod common;

use std::sync::Arc;

use common::*;
use line_core::store::sqlite::SqliteDb;
use line_core::testing::store::{fresh_prefix, fresh_sqlite_path, remove_sqlite};
use line_emulator::PhoneUser;
use line_pnp::sqlite::SqliteNoticeStore;
use line_pnp::{Change, DeliveryMatch, FallbackReason, NoticeState, NoticeStore};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_store_passes_the_conformance_suite() {
    let path = fresh_sqlite_path("pnp");
    let db = SqliteDb::open(&path).await.unwrap();
    let store = SqliteNoticeStore::with_prefix(&db, &fresh_prefix("pnp")).await.unwrap();
    let clock = line_core::clock::ManualClock::new("2026-12-01T00:00:00Z".parse().unwrap());
    line_pnp::testing::notice_store_conformance(Arc::new(store), &clock).await;
    drop(db);
    remove_sqlite(&path);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_end_to_end_and_restart() {
    let path = fresh_sqlite_path("pnp-e2e");
    let db = SqliteDb::open(&path).await.unwrap();
    let store: Arc<dyn NoticeStore> = Arc::new(SqliteNoticeStore::new(&db).await.unwrap());
    let mut h = Harness::start(Arc::clone(&store)).await;
    let line = h.phone(PhoneUser::with_line("+819044440001"), "090-4444-0001");
    let none = h.phone(PhoneUser::without_line("+819044440002"), "090-4444-0002");
    let quiet = h.phone(PhoneUser::never_confirms("+819044440003"), "090-4444-0003");
    h.notifier.send(notice("sq-1", &line)).await.unwrap();
    assert!(matches!(h.next_delivery().await, DeliveryMatch::Delivered(_)));
    assert_eq!(
        h.notifier.send(notice("sq-2", &none)).await.unwrap().state,
        NoticeState::SmsSent
    );
    let r = h.notifier.send(notice("sq-3", &quiet)).await.unwrap();
    assert_eq!(r.state, NoticeState::Accepted);
    // The process claims the fallback of sq-3 and stops before sending its SMS.
    h.time_out();
    let now = jiff::Timestamp::from_millisecond(line_core::clock::Clock::now(&h.clock).as_millisecond()).unwrap();
    let change = Change::StartFallback {
        reason: FallbackReason::NoDeliveryInTime,
        resume_at: now + jiff::SignedDuration::from_secs(60),
    };
    store.apply(&r.tag, &change, now).await.unwrap().unwrap();
    drop(store);
    drop(h.notifier);
    drop(db);

    // A new process on the same file.
    let db = SqliteDb::open(&path).await.unwrap();
    let store: Arc<dyn NoticeStore> = Arc::new(SqliteNoticeStore::new(&db).await.unwrap());
    let notifier = line_pnp::Notifier::new(
        h.emu.client_builder().build().unwrap(),
        Arc::clone(&store),
        h.sms.clone(),
    )
    .policy(line_pnp::FallbackPolicy::waiting(WAIT))
    .clock(Arc::new(h.clock.clone()));
    h.clock.advance(jiff::SignedDuration::from_secs(61));
    let report = notifier.sweep(10).await.unwrap();
    assert_eq!(report.sms_sent, 1);
    let counts = store.counts().await.unwrap();
    assert_eq!((counts.delivered, counts.sms_sent, counts.total()), (1, 2, 3));
    assert_eq!(h.sms.sent().len(), 2);
    drop(store);
    drop(db);
    remove_sqlite(&path);
}
