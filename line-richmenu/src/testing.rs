//! Conformance suites for host-store implementations (feature `testing`).
//!
//! Run them from a test of your implementation; they panic with a message naming the broken
//! rule. Each expects an empty store. They have the shape of every suite of the workspace,
//! `(store: Arc<dyn Trait>, clock: &dyn TestClock)` (see `line_core::testing`); the rich-menu
//! traits take the time as an argument of each call, so the suites pass fixed instants and
//! leave the clock alone.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! use line_core::clock::ManualClock;
//! use line_richmenu::store::InMemoryAssignmentStore;
//!
//! let clock = ManualClock::new("2026-05-01T00:00:00Z".parse().unwrap());
//! line_richmenu::testing::assignment_store_conformance(Arc::new(InMemoryAssignmentStore::new()), &clock).await;
//! # });
//! ```

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use line_core::ids::{RichMenuId, UserId};
use line_core::testing::TestClock;

use crate::store::{
    Assignment, AssignmentStore, Journal, MenuRecord, MenuState, MenuStore, Step, StepOp, StepStatus, UserDirectory,
};

/// Checks a [`MenuStore`]: upsert, remove, and the atomic budget.
pub async fn menu_store_conformance(store: Arc<dyn MenuStore>, _clock: &dyn TestClock) {
    let store = &*store;
    assert!(store.records().await.unwrap().is_empty(), "a new store must be empty");
    let a = MenuRecord::new("richmenu-a", "home", "h1", Some("tab-a".into()), MenuState::Created);
    store.put(a.clone()).await.unwrap();
    assert_eq!(
        store.records().await.unwrap(),
        vec![a.clone()],
        "put must store the record"
    );
    let mut live = a.clone();
    live.state = MenuState::Live;
    store.put(live.clone()).await.unwrap();
    assert_eq!(
        store.records().await.unwrap(),
        vec![live.clone()],
        "put must replace by richMenuId"
    );
    let b = MenuRecord::new(
        "richmenu-b",
        "home",
        "h0",
        None,
        MenuState::Retired {
            successor: Some(RichMenuId::new("richmenu-a")),
            moved: false,
        },
    );
    store.put(b.clone()).await.unwrap();
    let mut all = store.records().await.unwrap();
    all.sort_by(|x, y| x.rich_menu_id.cmp(&y.rich_menu_id));
    assert_eq!(all, vec![live.clone(), b.clone()], "records must return every record");
    store.remove(&RichMenuId::new("richmenu-b")).await.unwrap();
    store.remove(&RichMenuId::new("richmenu-b")).await.unwrap();
    assert_eq!(
        store.records().await.unwrap(),
        vec![live],
        "remove must delete, twice is fine"
    );

    let t0: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
    let hour = SignedDuration::from_hours(1);
    for i in 0..3 {
        let now = t0 + SignedDuration::from_mins(i);
        assert!(
            store.take_budget("b", now, hour, 3).await.unwrap(),
            "use {i} is within the budget"
        );
    }
    assert!(
        !store
            .take_budget("b", t0 + SignedDuration::from_mins(10), hour, 3)
            .await
            .unwrap(),
        "a fourth use within the hour must be refused"
    );
    assert!(
        store.take_budget("other", t0, hour, 3).await.unwrap(),
        "buckets are independent"
    );
    // At 61 minutes only the use at 2 minutes is still in the window (the refused one at 10
    // minutes must not have been recorded), so two more fit, and then none.
    let later = t0 + SignedDuration::from_mins(61);
    assert!(
        store.take_budget("b", later, hour, 3).await.unwrap(),
        "uses older than the window no longer count"
    );
    assert!(
        store.take_budget("b", later, hour, 3).await.unwrap(),
        "a refused use must not have been recorded"
    );
    assert!(
        !store.take_budget("b", later, hour, 3).await.unwrap(),
        "accepted uses must be recorded"
    );
}

/// Checks an [`AssignmentStore`]: assignments, paging, atomic replace, journal.
pub async fn assignment_store_conformance(store: Arc<dyn AssignmentStore>, _clock: &dyn TestClock) {
    let store = &*store;
    let u = |i: u32| UserId::new(format!("U{i:032x}"));
    let a = Assignment::menu("a", "richmenu-a");
    let b = Assignment::menu("b", "richmenu-b");
    assert_eq!(
        store.get(&u(1)).await.unwrap(),
        None,
        "unknown users have no assignment"
    );
    let users: Vec<UserId> = (0..10).map(u).collect();
    store.set_many(&users[..6], &a).await.unwrap();
    store.set_many(&users[6..], &b).await.unwrap();
    store.set_many(&users[9..], &Assignment::Default).await.unwrap();
    assert_eq!(store.get(&u(0)).await.unwrap(), Some(a.clone()));
    assert_eq!(store.get(&u(7)).await.unwrap(), Some(b.clone()));
    assert_eq!(
        store.get(&u(9)).await.unwrap(),
        Some(Assignment::Default),
        "set_many overwrites"
    );
    assert_eq!(store.count_on(&RichMenuId::new("richmenu-a")).await.unwrap(), 6);
    assert_eq!(store.count_on(&RichMenuId::new("richmenu-b")).await.unwrap(), 3);

    let mut listed = Vec::new();
    let mut after: Option<UserId> = None;
    loop {
        let page = store.list(after.as_ref(), 4).await.unwrap();
        assert!(page.len() <= 4, "list must respect the limit");
        if page.is_empty() {
            break;
        }
        after = page.last().map(|(u, _)| u.clone());
        listed.extend(page);
    }
    assert_eq!(listed.len(), 10, "paging must visit every user once");
    let ids: Vec<&UserId> = listed.iter().map(|(u, _)| u).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(ids, sorted, "list must be in user-ID order without repeats");

    let n = store.replace_menu(&RichMenuId::new("richmenu-a"), &b).await.unwrap();
    assert_eq!(n, 6, "replace_menu returns how many moved");
    assert_eq!(store.count_on(&RichMenuId::new("richmenu-a")).await.unwrap(), 0);
    assert_eq!(store.count_on(&RichMenuId::new("richmenu-b")).await.unwrap(), 9);

    assert!(store.forget(&u(0)).await.unwrap(), "forgetting a known user says so");
    assert!(!store.forget(&u(0)).await.unwrap(), "forgetting twice finds nothing");
    assert_eq!(store.get(&u(0)).await.unwrap(), None);

    assert_eq!(store.load_journal().await.unwrap(), None, "no journal at first");
    let j = Journal {
        steps: vec![Step {
            op: StepOp::Unlink { users: vec![u(3)] },
            status: StepStatus::InFlight,
        }],
    };
    store.save_journal(&j).await.unwrap();
    assert_eq!(
        store.load_journal().await.unwrap(),
        Some(j.clone()),
        "the journal must round-trip"
    );
    let mut j2 = j;
    j2.steps[0].status = StepStatus::Done;
    store.save_journal(&j2).await.unwrap();
    assert_eq!(
        store.load_journal().await.unwrap(),
        Some(j2),
        "save replaces the journal"
    );
    store.clear_journal().await.unwrap();
    assert_eq!(store.load_journal().await.unwrap(), None, "clear removes it");
}

/// Checks a [`UserDirectory`].
pub async fn user_directory_conformance(dir: Arc<dyn UserDirectory>, _clock: &dyn TestClock) {
    let dir = &*dir;
    let u = UserId::new("U00000000000000000000000000000001");
    let ctx = dir.context(&u).await.unwrap();
    assert_eq!(ctx.user_id, u, "an unknown user gets a fresh context");
    assert!(!ctx.linked, "an unknown user is not linked");
    dir.put(crate::store::UserContext::new(u.clone()).store("shibuya"))
        .await
        .unwrap();
    let after = dir.set_linked(&u, true).await.unwrap();
    assert!(after.linked, "set_linked returns the context after the change");
    assert_eq!(
        after.store.as_deref(),
        Some("shibuya"),
        "set_linked keeps the other facts"
    );
    assert_eq!(dir.context(&u).await.unwrap(), after);
    dir.forget(&u).await.unwrap();
    assert!(!dir.context(&u).await.unwrap().linked, "forget drops what was known");
}
