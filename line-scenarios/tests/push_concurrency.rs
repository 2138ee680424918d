//! Pushes within a batch run concurrently up to `EngineConfig::push_concurrency`: against the
//! emulator with 100 ms of latency per push, the pushes of a batch of 40 sends with a bound of 8
//! overlap 8 at a time (never more), and each user gets the message once. The wall time (about
//! latency × ceil(n / bound), not latency × n) is measured by the `send_with_latency` benchmark
//! (`benches/scenarios.rs`), not asserted here.

#![cfg(feature = "client")]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::SignedDuration;
use line_core::clock::{Clock, ManualClock};
use line_core::ids::{RetryKey, UserId};
use line_emulator::{Emulator, EmulatorConfig, FaultConfig, FaultRule};
use line_scenarios::memory::InMemoryStore;
use line_scenarios::profiles::InMemoryProfiles;
use line_scenarios::sender::{Accepted, Rendered, SendFailure, Sender};
use line_scenarios::{json, Engine, EngineConfig};
use line_segments::profile::Event;

const SCENARIO: &str = r#"{"id": "cart", "trigger": {"event": {"name": "cart_updated"}}, "steps": [
  {"id": "wait", "wait": {"for": "1h"}},
  {"id": "remind", "send": {"messages": [{"type": "text", "text": "Your cart misses you"}]}}
]}"#;

const LATENCY: Duration = Duration::from_millis(100);

/// The client, counting the pushes in flight.
struct Counting {
    client: line_core::client::Client,
    /// In flight now, and the most at once.
    flight: Mutex<(usize, usize)>,
}

#[async_trait::async_trait]
impl Sender for Counting {
    async fn push(&self, user: &UserId, m: &Rendered, key: RetryKey) -> Result<Accepted, SendFailure> {
        {
            let mut f = self.flight.lock().unwrap();
            f.0 += 1;
            f.1 = f.1.max(f.0);
        }
        let r = Sender::push(&self.client, user, m, key).await;
        self.flight.lock().unwrap().0 -= 1;
        r
    }
}

/// Runs one batch of `users` sends with `bound` pushes at once; returns the most pushes in flight
/// at once.
async fn peak(users: usize, bound: usize) -> usize {
    let clock = ManualClock::new("2026-05-15T01:00:00Z".parse().unwrap());
    let emu = Emulator::start_with(
        EmulatorConfig::new()
            .friends(users)
            .clock(Arc::new(clock.clone()))
            .faults(FaultConfig::none().with_default(FaultRule::new().latency(LATENCY))),
    )
    .await
    .unwrap();
    let ids: Vec<UserId> = emu.users().into_iter().map(|u| u.user_id).collect();
    let store = Arc::new(InMemoryStore::new());
    let sender = Arc::new(Counting {
        client: emu.client_builder().build().unwrap(),
        flight: Mutex::default(),
    });
    let engine = Engine::builder(vec![json::from_str(SCENARIO).unwrap()])
        .state(store.clone())
        .scheduler(store.clone())
        .profiles(Arc::new(InMemoryProfiles::new()))
        .sender(sender.clone())
        .clock(Arc::new(clock.clone()))
        .config(EngineConfig::default().push_concurrency(bound))
        .build()
        .unwrap();
    for u in &ids {
        engine
            .on_event(u, &Event::new("cart_updated", clock.now()))
            .await
            .unwrap();
    }
    clock.advance(SignedDuration::from_mins(61));
    let r = engine.run_due().await.unwrap();
    assert_eq!((r.processed, r.failed), (users, 0));
    for u in &ids {
        assert_eq!(emu.messages(u).len(), 1, "{u:?} got the reminder once");
    }
    emu.shutdown().await;
    let peak = sender.flight.lock().unwrap().1;
    peak
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pushes_of_a_batch_overlap_up_to_the_bound() {
    // 40 pushes of 100 ms each: the first 8 start before any ends.
    assert_eq!(peak(40, 8).await, 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bound_of_one_pushes_one_at_a_time() {
    assert_eq!(peak(6, 1).await, 1);
}

/// Two scenarios due at once for every user, a budget of one message a week, pushes 16 at once:
/// each user gets exactly one message, from the scenario with the higher priority, and the other
/// send is recorded as held back by the budget.
#[tokio::test]
async fn concurrent_pushes_never_overspend_a_users_budget() {
    use line_scenarios::budget::{Budget, Gate, InMemoryContacts};
    use line_scenarios::sender::RecordingSender;
    use line_scenarios::stats::{InMemoryJournal, RecordKind, SkipReason};

    const N: usize = 30;
    let scenario = |id: &str, priority: i32| {
        json::from_str(&format!(
            r#"{{"id": "{id}", "priority": {priority}, "trigger": {{"event": {{"name": "cart_updated"}}}}, "steps": [
              {{"id": "wait", "wait": {{"for": "1h"}}}},
              {{"id": "send", "send": {{"messages": [{{"type": "text", "text": "{id}"}}]}}}}]}}"#
        ))
        .unwrap()
    };
    let users: Vec<UserId> = (0..N).map(|i| UserId::new(format!("U{i:032x}"))).collect();
    let clock = ManualClock::new("2026-05-15T01:00:00Z".parse().unwrap());
    let store = Arc::new(InMemoryStore::new());
    let sender = Arc::new(RecordingSender::new());
    let journal = Arc::new(InMemoryJournal::with_log());
    let engine = Engine::builder(vec![scenario("low", 1), scenario("high", 9)])
        .state(store.clone())
        .scheduler(store.clone())
        .profiles(Arc::new(InMemoryProfiles::new()))
        .sender(sender.clone())
        .journal(journal.clone())
        .gate(Gate::new(Arc::new(InMemoryContacts::new()), Budget::per_week(1)))
        .clock(Arc::new(clock.clone()))
        .config(EngineConfig::default().push_concurrency(16))
        .build()
        .unwrap();
    for u in &users {
        engine
            .on_event(u, &Event::new("cart_updated", clock.now()))
            .await
            .unwrap();
    }
    clock.advance(SignedDuration::from_mins(61));
    let r = engine.run_due().await.unwrap();
    assert_eq!((r.processed, r.failed), (2 * N, 0));
    let pushed = sender.pushed();
    for u in &users {
        let mine: Vec<_> = pushed.iter().filter(|p| p.user == *u).collect();
        assert_eq!(mine.len(), 1, "{u:?}: one message within the budget");
        assert!(
            mine[0].messages.contains("high"),
            "{u:?}: the higher priority took the slot"
        );
    }
    let held = journal
        .log()
        .iter()
        .filter(|r| &*r.scenario == "low" && r.kind == RecordKind::Skipped(SkipReason::Budget))
        .count();
    assert_eq!(held, N, "every lower-priority send recorded as held back by the budget");
}
