//! The in-memory stores pass the conformance suites.

use line_scenarios::budget::InMemoryContacts;
use line_scenarios::memory::InMemoryStore;
use line_scenarios::profiles::InMemoryProfiles;
use line_scenarios::testing::*;

#[tokio::test]
async fn in_memory_state_store() {
    let store = InMemoryStore::new();
    state_store_conformance(&store).await;
    // A second run on the same store (other keys) passes too.
    state_store_conformance(&store).await;
}

#[tokio::test]
async fn in_memory_scheduler() {
    scheduler_conformance(&InMemoryStore::new()).await;
}

#[tokio::test]
async fn in_memory_contacts() {
    contact_store_conformance(&InMemoryContacts::new()).await;
}

#[tokio::test]
async fn in_memory_profiles() {
    profile_store_conformance(&InMemoryProfiles::new()).await;
}
