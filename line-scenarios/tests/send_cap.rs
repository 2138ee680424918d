//! A scenario whose loop would send more than the contact budget allows sends exactly the budget,
//! and each send held back is recorded as skipped with its reason (`budget`) and its step. Run
//! through `Engine::run_due`'s batches with many users at once.
//!
//! The engine's only per-user cap on sends is the contact budget: `stats::max_sends_per_entry` is
//! a static bound (it is `None` for a loop that sends, which is why the budget must hold).

use std::collections::HashSet;
use std::sync::Arc;

use jiff::SignedDuration;
use line_core::clock::{Clock, ManualClock};
use line_core::ids::UserId;
use line_scenarios::budget::{Budget, Gate, InMemoryContacts};
use line_scenarios::memory::InMemoryStore;
use line_scenarios::profiles::InMemoryProfiles;
use line_scenarios::sender::RecordingSender;
use line_scenarios::stats::{max_sends_per_entry, InMemoryJournal, RecordKind, SkipReason};
use line_scenarios::store::{StateStore, Status};
use line_scenarios::{json, Engine};
use line_segments::profile::Profile;

/// A tip every day, for ever: the loop passes through a wait, so validation accepts it.
const DAILY: &str = r#"{"id": "daily", "trigger": {"event": {"name": "subscribed"}}, "steps": [
  {"id": "tip", "send": {"messages": [{"type": "text", "text": "Tip of the day"}]}},
  {"id": "wait", "wait": {"for": "1d"}, "next": "tip"}
]}"#;

const USERS: usize = 40;
const CAP: u32 = 3;
const DAYS: usize = 7;

#[tokio::test]
async fn a_sending_loop_sends_exactly_the_budget_and_records_each_skip() {
    let scenario = json::from_str(DAILY).unwrap();
    assert_eq!(
        max_sends_per_entry(&scenario),
        None,
        "a loop that sends has no static bound"
    );
    let users: Vec<UserId> = (0..USERS).map(|i| UserId::new(format!("U{i:032x}"))).collect();
    let clock = ManualClock::new("2026-05-15T01:00:00Z".parse().unwrap());
    let store = Arc::new(InMemoryStore::new());
    let sender = Arc::new(RecordingSender::new());
    let journal = Arc::new(InMemoryJournal::with_log());
    let engine = Engine::builder(vec![scenario])
        .state(store.clone())
        .scheduler(store.clone())
        .profiles(Arc::new(InMemoryProfiles::with_profiles(
            users.iter().map(|u| Profile::new(u.clone())),
        )))
        .sender(sender.clone())
        .journal(journal.clone())
        .gate(Gate::new(Arc::new(InMemoryContacts::new()), Budget::per_week(CAP)))
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap();

    assert_eq!(engine.launch("daily").await.unwrap(), USERS);
    // Seven daily visits of the send step within one rolling week.
    for day in 0..DAYS {
        let r = engine.run_due().await.unwrap();
        assert_eq!(
            (r.processed, r.failed),
            (USERS, 0),
            "day {day}: every user's wake-up ran"
        );
        clock.advance(SignedDuration::from_hours(24));
    }

    let pushed = sender.pushed();
    for u in &users {
        let mine: Vec<_> = pushed.iter().filter(|p| p.user == *u).collect();
        assert_eq!(mine.len(), CAP as usize, "{u:?} got exactly the budget");
        let keys: HashSet<_> = mine.iter().map(|p| p.retry_key).collect();
        assert_eq!(keys.len(), CAP as usize, "each visit of the step is its own send");
        let e = store.enrollment("daily", u).await.unwrap().unwrap();
        assert_eq!(e.status, Status::Active, "a skipped send does not end the scenario");
    }
    assert_eq!(pushed.len(), USERS * CAP as usize);

    let held_back = (DAYS - CAP as usize) * USERS;
    let counts = journal.counts("daily");
    assert_eq!(counts.steps[&0].sent, (USERS * CAP as usize) as u64);
    assert_eq!(
        counts.steps[&0].skipped.get(&SkipReason::Budget).copied(),
        Some(held_back as u64),
        "every send held back is counted as a budget skip of the send step"
    );
    let skips: Vec<_> = journal
        .log()
        .into_iter()
        .filter(|r| matches!(r.kind, RecordKind::Skipped(_)))
        .collect();
    assert_eq!(skips.len(), held_back, "nothing else was skipped");
    for r in &skips {
        assert_eq!(r.kind, RecordKind::Skipped(SkipReason::Budget));
        assert_eq!(
            (&*r.scenario, r.step),
            ("daily", Some(0)),
            "the skip names the send step"
        );
        assert!(
            r.at >= clock.now() - SignedDuration::from_hours(24 * (DAYS as i64 - CAP as i64)),
            "skips come after the budget is spent"
        );
    }
}
