//! Reconcile against a stateful fake of LINE's rich-menu endpoints: chunking, batch moves,
//! and resuming after a failure.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use common::{png, user, FakeLine};
use line_core::clock::ManualClock;
use line_core::ids::{RichMenuId, UserId};
use line_core::model::{Action, URIAction};
use line_richmenu::scheduler::ManualScheduler;
use line_richmenu::store::{
    Assignment, AssignmentStore, InMemoryAssignmentStore, InMemoryMenuStore, Journal, UserContext,
};
use line_richmenu::{
    Bounds, Condition, Error, ErrorKind, Image, Menu, MenuDef, MenuSet, Options, Policy, RichMenus, Target,
};

fn uri() -> Action {
    let mut a = URIAction::new();
    a.uri = Some("https://example.com".into());
    a.into()
}

fn three_menus() -> MenuSet {
    MenuSet::new(["a", "b", "c"].iter().enumerate().map(|(i, k)| {
        let def = MenuDef::new(*k, "Menu", format!("{k}.png")).area(Bounds::new(0, 0, 800, 540), uri());
        Menu::new(def, Image::from_bytes(png(800, 540, i as u8)))
    }))
}

fn by_store() -> Policy {
    Policy::new("c")
        .rule("store a", Condition::Store(vec!["a".into()]), "a")
        .rule("store b", Condition::Store(vec!["b".into()]), "b")
}

fn users(n: u32) -> Vec<UserContext> {
    (0..n)
        .map(|i| {
            let c = UserContext::new(user(i));
            match i % 3 {
                0 => c.store("a"),
                1 => c.store("b"),
                _ => c,
            }
        })
        .collect()
}

async fn rm_with(
    fake: &FakeLine,
    assignments: Arc<dyn AssignmentStore>,
    options: Options,
) -> (RichMenus, ManualScheduler) {
    let clock = ManualClock::new("2026-03-01T00:00:00Z".parse().unwrap());
    let sched = ManualScheduler::new(clock.clone());
    let rm = RichMenus::new(fake.client(), Arc::new(InMemoryMenuStore::new()), assignments)
        .with_clock(Arc::new(clock))
        .with_scheduler(Arc::new(sched.clone()))
        .with_options(options);
    rm.deploy(&three_menus()).await.unwrap();
    fake.reset_log();
    (rm, sched)
}

/// Checks that every user is linked where the policy says, on LINE and in the store.
async fn assert_all_correct(fake: &FakeLine, rm: &RichMenus, users: &[UserContext]) {
    let live = rm.live_menus().await.unwrap();
    let policy = by_store();
    let now = rm.clock().now();
    for u in users {
        let Target::Menu(key) = policy.evaluate(u, now).target else {
            panic!()
        };
        let id = &live[&key];
        assert_eq!(
            fake.state().links.get(u.user_id.as_str()).map(String::as_str),
            Some(id.as_str()),
            "{} on LINE",
            u.user_id
        );
        assert_eq!(
            rm.assignment_store().get(&u.user_id).await.unwrap(),
            Some(Assignment::menu(key.clone(), id.clone())),
            "{} in the store",
            u.user_id
        );
    }
}

#[tokio::test]
async fn ten_thousand_users_across_three_menus_take_at_most_ceil_n_over_500_calls_per_menu() {
    let fake = FakeLine::start().await;
    let (rm, _) = rm_with(&fake, Arc::new(InMemoryAssignmentStore::new()), Options::default()).await;
    let all = users(10_000);
    let report = rm.reconcile(&by_store(), all.clone()).await.unwrap();
    let live = rm.live_menus().await.unwrap();
    {
        let st = fake.state();
        let mut calls_per_menu: HashMap<String, usize> = HashMap::new();
        for l in st.log.iter().filter(|l| l.path == "/v2/bot/richmenu/bulk/link") {
            *calls_per_menu
                .entry(l.body["richMenuId"].as_str().unwrap().to_owned())
                .or_default() += 1;
        }
        for (key, n) in [("a", 3334usize), ("b", 3333), ("c", 3333)] {
            let id = live[key].as_str();
            assert_eq!(st.users_on(id), n, "menu {key}");
            assert!(
                calls_per_menu[id] <= n.div_ceil(500),
                "menu {key}: {} calls",
                calls_per_menu[id]
            );
            assert_eq!(report.moved[key], n as u64);
        }
        assert_eq!(report.calls.bulk_link, 21);
        assert!(st.link_writes.values().all(|n| *n == 1));
        assert!(st.unexpected.is_empty());
    }
    assert_all_correct(&fake, &rm, &all).await;
    fake.reset_log();
    let again = rm.reconcile(&by_store(), all).await.unwrap();
    assert_eq!(again.calls.writes(), 0);
    assert!(fake.state().log.is_empty());
}

#[tokio::test]
async fn a_reconcile_stopped_by_a_500_resumes_and_links_nobody_twice() {
    let fake = FakeLine::start().await;
    let (rm, _) = rm_with(&fake, Arc::new(InMemoryAssignmentStore::new()), Options::default()).await;
    let all = users(3_000);
    fake.fail("POST", "/v2/bot/richmenu/bulk/link", 3, 1);
    let e = rm.reconcile(&by_store(), all.clone()).await.unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Api { status: Some(500), .. }), "{e}");
    assert!(
        rm.assignment_store().load_journal().await.unwrap().is_some(),
        "the journal stays"
    );
    let report = rm.reconcile(&by_store(), all.clone()).await.unwrap();
    assert!(report.resumed);
    assert!(
        report.calls.verify > 0 && report.calls.verify <= 500,
        "only the interrupted chunk is checked"
    );
    assert!(rm.assignment_store().load_journal().await.unwrap().is_none());
    assert_all_correct(&fake, &rm, &all).await;
    let st = fake.state();
    let twice: Vec<_> = st.link_writes.iter().filter(|(_, n)| **n != 1).collect();
    assert!(twice.is_empty(), "linked twice: {twice:?}");
}

/// An assignment store whose `set_many` fails once, after `ok` successful calls.
struct Flaky {
    inner: InMemoryAssignmentStore,
    ok: AtomicU32,
}

#[async_trait]
impl AssignmentStore for Flaky {
    async fn get(&self, user: &UserId) -> Result<Option<Assignment>, Error> {
        self.inner.get(user).await
    }
    async fn set_many(&self, users: &[UserId], to: &Assignment) -> Result<(), Error> {
        if self.ok.fetch_sub(1, Ordering::SeqCst) == 0 {
            return Err(Error::store("set_many (injected)"));
        }
        self.inner.set_many(users, to).await
    }
    async fn forget(&self, user: &UserId) -> Result<bool, Error> {
        self.inner.forget(user).await
    }
    async fn list(&self, after: Option<&UserId>, limit: usize) -> Result<Vec<(UserId, Assignment)>, Error> {
        self.inner.list(after, limit).await
    }
    async fn replace_menu(&self, from: &RichMenuId, to: &Assignment) -> Result<u64, Error> {
        self.inner.replace_menu(from, to).await
    }
    async fn count_on(&self, menu: &RichMenuId) -> Result<u64, Error> {
        self.inner.count_on(menu).await
    }
    async fn load_journal(&self) -> Result<Option<Journal>, Error> {
        self.inner.load_journal().await
    }
    async fn save_journal(&self, journal: &Journal) -> Result<(), Error> {
        self.inner.save_journal(journal).await
    }
    async fn clear_journal(&self) -> Result<(), Error> {
        self.inner.clear_journal().await
    }
}

#[tokio::test]
async fn a_reconcile_stopped_by_the_store_resumes_and_links_nobody_twice() {
    let fake = FakeLine::start().await;
    let flaky = Arc::new(Flaky {
        inner: InMemoryAssignmentStore::new(),
        ok: AtomicU32::new(u32::MAX),
    });
    let (rm, _) = rm_with(&fake, flaky.clone(), Options::default()).await;
    let all = users(3_000);
    flaky.ok.store(2, Ordering::SeqCst);
    let e = rm.reconcile(&by_store(), all.clone()).await.unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Store { .. }), "{e}");
    flaky.ok.store(u32::MAX, Ordering::SeqCst);
    let report = rm.reconcile(&by_store(), all.clone()).await.unwrap();
    assert!(report.resumed);
    assert_all_correct(&fake, &rm, &all).await;
    let st = fake.state();
    assert!(st.link_writes.values().all(|n| *n == 1), "someone was linked twice");
    assert_eq!(st.link_writes.len(), 3_000);
}

#[tokio::test]
async fn moving_every_user_of_a_menu_uses_one_batch_job_polled_through_the_scheduler() {
    let fake = FakeLine::start().await;
    let mut options = Options::default();
    options.batch_threshold = 100;
    let (rm, sched) = rm_with(&fake, Arc::new(InMemoryAssignmentStore::new()), options).await;
    let all: Vec<UserContext> = (0..600).map(|i| UserContext::new(user(i)).store("a")).collect();
    rm.reconcile(&by_store(), all.clone()).await.unwrap();
    fake.reset_log();
    fake.state().batch_ongoing_polls = 2;
    // The store "a" closes: its customers move to "b".
    let moved: Vec<UserContext> = all.iter().map(|u| u.clone().store("b")).collect();
    let report = rm.reconcile(&by_store(), moved.clone()).await.unwrap();
    assert_eq!(report.calls.batch, 1);
    assert_eq!(report.calls.bulk_link, 0);
    assert_eq!(report.calls.progress, 3);
    assert_eq!(sched.sleeps(), 2);
    assert_eq!(report.moved["b"], 600);
    let live = rm.live_menus().await.unwrap();
    assert_eq!(fake.state().users_on(live["b"].as_str()), 600);
    assert_eq!(rm.assignment_store().count_on(&live["b"]).await.unwrap(), 600);
}

#[tokio::test]
async fn users_whose_target_is_the_default_are_bulk_unlinked() {
    let fake = FakeLine::start().await;
    let (rm, _) = rm_with(&fake, Arc::new(InMemoryAssignmentStore::new()), Options::default()).await;
    let all: Vec<UserContext> = (0..700).map(|i| UserContext::new(user(i)).store("a")).collect();
    rm.reconcile(&by_store(), all.clone()).await.unwrap();
    let policy = Policy::new(Target::Default).rule("a", Condition::Store(vec!["a".into()]), "a");
    let leaving: Vec<UserContext> = all.iter().map(|u| UserContext::new(u.user_id.clone())).collect();
    let report = rm.reconcile(&policy, leaving).await.unwrap();
    assert_eq!(report.calls.bulk_unlink, 2);
    assert_eq!(report.moved[""], 700);
    assert!(fake.state().links.is_empty());
}

#[tokio::test]
async fn a_policy_naming_an_unknown_menu_is_an_error_before_any_write() {
    let fake = FakeLine::start().await;
    let (rm, _) = rm_with(&fake, Arc::new(InMemoryAssignmentStore::new()), Options::default()).await;
    let e = rm.reconcile(&Policy::new("nope"), users(3)).await.unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::UnknownMenu { key } if key == "nope"));
    assert!(fake.state().writes().is_empty());
    let findings = Policy::new("nope")
        .rule("x", Condition::Always, "a")
        .check(&three_menus());
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].place, "/default");
}

#[tokio::test]
async fn without_batch_budget_a_whole_menu_move_falls_back_to_bulk_calls() {
    let fake = FakeLine::start().await;
    let mut options = Options::default();
    options.batch_threshold = 100;
    options.batch_per_hour = 0;
    let (rm, _) = rm_with(&fake, Arc::new(InMemoryAssignmentStore::new()), options).await;
    let all: Vec<UserContext> = (0..600).map(|i| UserContext::new(user(i)).store("a")).collect();
    rm.reconcile(&by_store(), all.clone()).await.unwrap();
    let moved: Vec<UserContext> = all.iter().map(|u| u.clone().store("b")).collect();
    let report = rm.reconcile(&by_store(), moved.clone()).await.unwrap();
    assert_eq!(report.calls.batch, 0);
    assert_eq!(report.calls.bulk_link, 2);
    assert_all_correct(&fake, &rm, &moved).await;
}

#[tokio::test]
async fn a_chunk_line_rejects_is_reported_and_the_rest_goes_on() {
    let fake = FakeLine::start().await;
    let (rm, _) = rm_with(&fake, Arc::new(InMemoryAssignmentStore::new()), Options::default()).await;
    let all: Vec<UserContext> = (0..1_200).map(|i| UserContext::new(user(i)).store("a")).collect();
    fake.fail_with(400, "POST", "/v2/bot/richmenu/bulk/link", 1, 1);
    let report = rm.reconcile(&by_store(), all.clone()).await.unwrap();
    assert_eq!(report.failures.len(), 1, "{report:?}");
    assert_eq!(report.failures[0].users, 500);
    assert_eq!(report.failures[0].target.as_deref(), Some("a"));
    assert!(
        report.failures[0].reason.contains("400"),
        "{}",
        report.failures[0].reason
    );
    assert_eq!(report.moved["a"], 700);
    let live = rm.live_menus().await.unwrap();
    assert_eq!(fake.state().users_on(live["a"].as_str()), 700);
    assert!(rm.assignment_store().load_journal().await.unwrap().is_none());
    // The rejected users are still unassigned, so the next run tries them again.
    let again = rm.reconcile(&by_store(), all.clone()).await.unwrap();
    assert_eq!(again.moved["a"], 500);
    assert_all_correct(&fake, &rm, &all).await;
}
