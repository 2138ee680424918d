//! The in-memory stores pass the conformance suites.

use jiff::{SignedDuration, Timestamp};
use line_core::ids::UserId;
use line_scenarios::budget::InMemoryContacts;
use line_scenarios::memory::InMemoryStore;
use line_scenarios::model::Reentry;
use line_scenarios::profiles::InMemoryProfiles;
use line_scenarios::store::*;
use line_scenarios::testing::*;
use line_scenarios::Result;

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

/// A store that implements only the single-item methods, so that the batched forms run their
/// default implementations (what a backend without overrides gets).
struct SingleOnly(InMemoryStore);

#[async_trait::async_trait]
impl StateStore for SingleOnly {
    async fn enroll(
        &self,
        scenario: &str,
        user: &UserId,
        rule: Reentry,
        at: Timestamp,
        vars: Vec<(String, String)>,
    ) -> Result<EnrollOutcome> {
        self.0.enroll(scenario, user, rule, at, vars).await
    }
    async fn enrollment(&self, scenario: &str, user: &UserId) -> Result<Option<Enrollment>> {
        self.0.enrollment(scenario, user).await
    }
    async fn transition(
        &self,
        scenario: &str,
        user: &UserId,
        entry: u32,
        seq: u32,
        change: Transition,
    ) -> Result<bool> {
        self.0.transition(scenario, user, entry, seq, change).await
    }
    async fn active_of(&self, user: &UserId) -> Result<Vec<(String, Enrollment)>> {
        self.0.active_of(user).await
    }
    async fn active_page(
        &self,
        after: Option<(&str, &UserId)>,
        limit: usize,
    ) -> Result<Vec<(String, UserId, Enrollment)>> {
        self.0.active_page(after, limit).await
    }
    async fn claim(&self, key: &SendKey, at: Timestamp) -> Result<Claim> {
        self.0.claim(key, at).await
    }
    async fn settle(&self, key: &SendKey, outcome: Settled) -> Result<()> {
        self.0.settle(key, outcome).await
    }
}

#[async_trait::async_trait]
impl Scheduler for SingleOnly {
    async fn schedule(&self, wake: &WakeUp) -> Result<()> {
        self.0.schedule(wake).await
    }
    async fn due(&self, now: Timestamp, limit: usize, lease: SignedDuration) -> Result<Vec<WakeUp>> {
        self.0.due(now, limit, lease).await
    }
    async fn ack(&self, wakes: &[WakeUp]) -> Result<()> {
        self.0.ack(wakes).await
    }
    async fn pending(&self) -> Result<usize> {
        self.0.pending().await
    }
}

#[tokio::test]
async fn the_default_batched_forms_pass_too() {
    let store = std::sync::Arc::new(SingleOnly(InMemoryStore::new()));
    let clock = line_core::clock::ManualClock::new(jiff::Timestamp::UNIX_EPOCH);
    state_store_conformance(store.clone(), &clock).await;
    scheduler_conformance(store, &clock).await;
}
