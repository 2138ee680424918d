//! The PostgreSQL store on a real server (`LINE_STORES_PG_URL`, by default the database
//! of `line-segments/ci-setup.sh`): the conformance suite, and the end-to-end flows with
//! two notifiers (two "processes") sharing one store. Each test works under a fresh
//! table prefix and drops its tables at the end; with `CI` set, a missing server fails
//! them.
#![cfg(feature = "postgres")]

mod common;

use std::sync::Arc;

use common::*;
use line_core::testing::store::{fresh_prefix, pg_drop_prefix, pg_pool};
use line_emulator::PhoneUser;
use line_pnp::postgres::PgNoticeStore;
use line_pnp::{DeliveryMatch, NoticeState, NoticeStore};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_store_passes_the_conformance_suite() {
    let Some(pool) = pg_pool().await else { return };
    let prefix = fresh_prefix("pnp");
    let store = PgNoticeStore::with_prefix(&pool, &prefix).await.unwrap();
    let clock = line_core::clock::ManualClock::new("2026-12-01T00:00:00Z".parse().unwrap());
    line_pnp::testing::notice_store_conformance(Arc::new(store), &clock).await;
    pg_drop_prefix(&pool, &prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_end_to_end_with_two_notifiers() {
    let Some(pool) = pg_pool().await else { return };
    let prefix = fresh_prefix("pnp_e2e");
    let store: Arc<dyn NoticeStore> = Arc::new(PgNoticeStore::with_prefix(&pool, &prefix).await.unwrap());
    let mut h = Harness::start(Arc::clone(&store)).await;
    // A second process on the same store and SMS gateway.
    let other = line_pnp::Notifier::new(
        h.emu.client_builder().build().unwrap(),
        Arc::clone(&store),
        h.sms.clone(),
    )
    .policy(line_pnp::FallbackPolicy::waiting(WAIT))
    .clock(Arc::new(h.clock.clone()));
    let line = h.phone(PhoneUser::with_line("+819055550001"), "090-5555-0001");
    let none = h.phone(PhoneUser::without_line("+819055550002"), "090-5555-0002");
    let mut quiet = Vec::new();
    for i in 0..8 {
        let number = format!("+8190555501{i:02}");
        quiet.push(h.phone(PhoneUser::never_confirms(number.as_str()), &number));
    }
    h.notifier.send(notice("pg-1", &line)).await.unwrap();
    assert!(matches!(h.next_delivery().await, DeliveryMatch::Delivered(_)));
    assert_eq!(
        other.send(notice("pg-2", &none)).await.unwrap().state,
        NoticeState::SmsSent
    );
    for (i, to) in quiet.iter().enumerate() {
        h.notifier.send(notice(&format!("pg-q{i}"), to)).await.unwrap();
    }
    h.time_out();
    // Both processes sweep at once: each timed-out notice gets one SMS.
    let (a, b) = tokio::join!(h.notifier.sweep(100), other.sweep(100));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.sms_sent + b.sms_sent, 8);
    assert_eq!(a.timed_out + b.timed_out, 8);
    assert_eq!(h.sms.attempts(), 9, "no SMS attempted twice");
    let counts = store.counts().await.unwrap();
    assert_eq!((counts.delivered, counts.sms_sent, counts.total()), (1, 9, 10));
    pg_drop_prefix(&pool, &prefix).await;
}
