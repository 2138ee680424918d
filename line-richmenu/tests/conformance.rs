//! The in-memory stores pass the conformance suites.
#![cfg(feature = "testing")]

use line_richmenu::store::{InMemoryAssignmentStore, InMemoryMenuStore, InMemoryUserDirectory};
use line_richmenu::testing;

#[tokio::test]
async fn in_memory_menu_store_conforms() {
    testing::menu_store_conformance(
        std::sync::Arc::new(InMemoryMenuStore::new()),
        &line_core::clock::ManualClock::new(jiff::Timestamp::UNIX_EPOCH),
    )
    .await;
}

#[tokio::test]
async fn in_memory_assignment_store_conforms() {
    testing::assignment_store_conformance(
        std::sync::Arc::new(InMemoryAssignmentStore::new()),
        &line_core::clock::ManualClock::new(jiff::Timestamp::UNIX_EPOCH),
    )
    .await;
}

#[tokio::test]
async fn in_memory_user_directory_conforms() {
    testing::user_directory_conformance(
        std::sync::Arc::new(InMemoryUserDirectory::new()),
        &line_core::clock::ManualClock::new(jiff::Timestamp::UNIX_EPOCH),
    )
    .await;
}
