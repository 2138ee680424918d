//! The in-memory store passes the conformance suite.

use std::sync::Arc;

use line_core::clock::ManualClock;
use line_pnp::testing::notice_store_conformance;
use line_pnp::InMemoryNoticeStore;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn in_memory_store_conforms() {
    let clock = ManualClock::new("2026-12-01T00:00:00Z".parse().unwrap());
    notice_store_conformance(Arc::new(InMemoryNoticeStore::new()), &clock).await;
}
