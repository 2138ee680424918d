//! The in-memory stores pass the conformance suites.

use line_scenarios::budget::InMemoryContacts;
use line_scenarios::memory::InMemoryStore;
use line_scenarios::profiles::InMemoryProfiles;
use line_scenarios::testing::*;

#[tokio::test]
async fn in_memory_state_store() {
    let store = std::sync::Arc::new(InMemoryStore::new());
    let clock = line_core::clock::ManualClock::new(jiff::Timestamp::UNIX_EPOCH);
    state_store_conformance(store.clone(), &clock).await;
    // A second run on the same store (other keys) passes too.
    state_store_conformance(store, &clock).await;
}

#[tokio::test]
async fn in_memory_scheduler() {
    scheduler_conformance(
        std::sync::Arc::new(InMemoryStore::new()),
        &line_core::clock::ManualClock::new(jiff::Timestamp::UNIX_EPOCH),
    )
    .await;
}

#[tokio::test]
async fn in_memory_contacts() {
    contact_store_conformance(
        std::sync::Arc::new(InMemoryContacts::new()),
        &line_core::clock::ManualClock::new(jiff::Timestamp::UNIX_EPOCH),
    )
    .await;
}

#[tokio::test]
async fn in_memory_profiles() {
    profile_store_conformance(
        std::sync::Arc::new(InMemoryProfiles::new()),
        &line_core::clock::ManualClock::new(jiff::Timestamp::UNIX_EPOCH),
    )
    .await;
}
