//! Conformance suites of the host traits (feature `testing`).
//!
//! A store implementation proves itself by running the suite on itself; each suite panics,
//! naming the broken rule, when the store does not behave. Keys are prefixed per run, so a suite
//! can run against a shared database.
//!
//! Every suite has the shape of all suites of the workspace,
//! `(store: Arc<dyn Trait>, clock: &dyn TestClock)` (see `line_core::testing`). The scenario
//! traits take the time as an argument of each call, so the suites pass fixed instants and
//! leave the clock alone.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! use line_core::clock::ManualClock;
//! use line_scenarios::memory::InMemoryStore;
//! use line_scenarios::testing::{scheduler_conformance, state_store_conformance};
//!
//! let clock = ManualClock::new("2026-05-01T00:00:00Z".parse().unwrap());
//! state_store_conformance(Arc::new(InMemoryStore::new()), &clock).await;
//! scheduler_conformance(Arc::new(InMemoryStore::new()), &clock).await;
//! # });
//! ```

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use line_core::ids::UserId;
use line_core::testing::TestClock;
use line_segments::profile::{Event, Value};

use crate::budget::ContactStore;
use crate::model::Reentry;
use crate::profiles::{ProfileStore, TAGS};
use crate::store::*;
/// The suite of `tracking::ClickStore`, here with the other suites (it lives next to the trait).
pub use crate::tracking::click_store_conformance;

fn run_prefix() -> String {
    format!("c{:012x}", rand_u64() & 0xffff_ffff_ffff)
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(Timestamp::now().as_nanosecond() as u64);
    h.finish()
}

fn t(s: &str) -> Timestamp {
    s.parse().unwrap_or(Timestamp::UNIX_EPOCH)
}

fn entered(o: EnrollOutcome, rule: &str) -> Enrollment {
    match o {
        EnrollOutcome::Entered(e) => e,
        other => panic!("{rule}: expected an entry, got {other:?}"),
    }
}

/// The conformance suite of [`StateStore`]: enrollment and re-entry rules, compare-and-set
/// transitions, active lists, the send ledger, and the batched forms (`enrollments_of`,
/// `transition_many`, `claim_many`, `settle_many`) answering as the single calls would.
pub async fn state_store_conformance(store: Arc<dyn StateStore>, _clock: &dyn TestClock) {
    let store = &*store;
    let p = run_prefix();
    let s = format!("{p}-welcome");
    let other = format!("{p}-other");
    let u = UserId::new(format!("U{p}-1"));
    // A user id in LINE's form (`U` and 32 hex digits), distinct per run.
    let packed = UserId::new(format!("U{}{:020x}", &p[1..], 0xabcu32));
    let t0 = t("2026-05-01T00:00:00Z");

    assert_eq!(
        store.enrollment(&s, &u).await.expect("enrollment failed"),
        None,
        "nothing before an entry"
    );

    // First entry: step 0, active, not waiting, with its vars.
    let vars = vec![("item".to_owned(), "Face cream".to_owned())];
    let e = entered(
        store
            .enroll(&s, &u, Reentry::NotWhileInside, t0, vars.clone())
            .await
            .expect("enroll failed"),
        "a first entry enters",
    );
    assert_eq!(
        (e.entry, e.step, e.status),
        (1, 0, Status::Active),
        "a new enrollment is entry 1 at step 0"
    );
    assert_eq!((e.entered_at, e.since, e.wait_until, e.last_sent), (t0, t0, None, None));
    assert_eq!(e.vars, vars, "vars are kept");
    assert_eq!(
        store.enrollment(&s, &u).await.expect("enrollment failed"),
        Some(e.clone())
    );
    assert_eq!(
        store
            .enroll(&s, &u, Reentry::NotWhileInside, t0, Vec::new())
            .await
            .expect("enroll failed"),
        EnrollOutcome::Refused(Refusal::AlreadyInside),
        "no entry while inside"
    );

    // Compare-and-set transitions.
    let t1 = t("2026-05-01T01:00:00Z");
    let mv = |step, wait| Transition::Move {
        step,
        since: t1,
        wait_until: wait,
        last_sent: Some(0),
    };
    assert!(
        store
            .transition(&s, &u, 1, e.seq, mv(2, Some(t1)))
            .await
            .expect("transition failed"),
        "a transition at the current version applies"
    );
    assert!(
        !store
            .transition(&s, &u, 1, e.seq, mv(3, None))
            .await
            .expect("transition failed"),
        "a transition at an old version does not apply"
    );
    assert!(
        !store
            .transition(&s, &u, 2, e.seq + 1, mv(3, None))
            .await
            .expect("transition failed"),
        "a transition of another entry does not apply"
    );
    let e2 = store
        .enrollment(&s, &u)
        .await
        .expect("enrollment failed")
        .expect("the enrollment exists");
    assert_eq!(
        (e2.step, e2.seq, e2.since, e2.wait_until, e2.last_sent),
        (2, e.seq + 1, t1, Some(t1), Some(0))
    );
    assert_eq!(e2.vars, vars, "vars survive transitions");
    assert!(
        !store
            .transition(&other, &u, 1, 0, mv(1, None))
            .await
            .expect("transition failed"),
        "a transition of an unknown enrollment does not apply"
    );

    // Active lists.
    entered(
        store
            .enroll(&other, &u, Reentry::Once, t0, Vec::new())
            .await
            .expect("enroll failed"),
        "another scenario is independent",
    );
    let mut active: Vec<String> = store
        .active_of(&u)
        .await
        .expect("active_of failed")
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    active.sort();
    let mut want = vec![s.clone(), other.clone()];
    want.sort();
    assert_eq!(active, want, "active_of lists both scenarios");
    let page = store.active_page(None, 100_000).await.expect("active_page failed");
    let mine: Vec<_> = page.iter().filter(|(sc, _, _)| sc.starts_with(&p)).collect();
    assert_eq!(mine.len(), 2, "active_page lists the active enrollments");
    assert!(
        page.windows(2)
            .all(|w| (w[0].0.as_str(), w[0].1.as_str()) < (w[1].0.as_str(), w[1].1.as_str())),
        "active_page is ordered by (scenario, user)"
    );
    let first = &page[0];
    let rest = store
        .active_page(Some((&first.0, &first.1)), 100_000)
        .await
        .expect("active_page failed");
    assert_eq!(rest.len(), page.len() - 1, "active_page continues after the given key");

    // Exit and re-entry rules.
    assert!(store
        .transition(&s, &u, 1, e2.seq, Transition::Exit(ExitReason::Goal))
        .await
        .expect("transition failed"));
    let ex = store
        .enrollment(&s, &u)
        .await
        .expect("enrollment failed")
        .expect("kept after exit");
    assert_eq!(ex.status, Status::Exited(ExitReason::Goal), "the exit reason is kept");
    assert!(
        !store
            .transition(&s, &u, 1, ex.seq, mv(0, None))
            .await
            .expect("transition failed"),
        "an exited enrollment does not move"
    );
    assert_eq!(store.active_of(&u).await.expect("active_of failed").len(), 1);
    let again = entered(
        store
            .enroll(&s, &u, Reentry::NotWhileInside, t1, Vec::new())
            .await
            .expect("enroll failed"),
        "re-entry after leaving",
    );
    assert_eq!(
        (again.entry, again.vars.len()),
        (2, 0),
        "the second entry is entry 2, with its own vars"
    );
    let o = store
        .enrollment(&other, &u)
        .await
        .expect("enrollment failed")
        .expect("exists");
    assert!(store
        .transition(&other, &u, 1, o.seq, Transition::Exit(ExitReason::Completed))
        .await
        .expect("transition failed"));
    assert_eq!(
        store
            .enroll(&other, &u, Reentry::Once, t1, Vec::new())
            .await
            .expect("enroll failed"),
        EnrollOutcome::Refused(Refusal::OnceOnly),
        "once means once"
    );
    let per = format!("{p}-birthday");
    let w = line_segments::Window::days(300);
    let b = entered(
        store
            .enroll(&per, &packed, Reentry::OncePer(w), t0, Vec::new())
            .await
            .expect("enroll failed"),
        "a packed user id enters",
    );
    assert!(store
        .transition(&per, &packed, 1, b.seq, Transition::Exit(ExitReason::Completed))
        .await
        .expect("transition failed"));
    assert_eq!(
        store
            .enroll(
                &per,
                &packed,
                Reentry::OncePer(w),
                t("2026-12-01T00:00:00Z"),
                Vec::new()
            )
            .await
            .expect("enroll failed"),
        EnrollOutcome::Refused(Refusal::TooSoon),
        "not again within the period"
    );
    let b2 = entered(
        store
            .enroll(
                &per,
                &packed,
                Reentry::OncePer(w),
                t("2027-05-01T00:00:00Z"),
                Vec::new(),
            )
            .await
            .expect("enroll failed"),
        "again after the period",
    );
    assert_eq!(b2.entry, 2);
    assert_eq!(
        store.active_of(&packed).await.expect("active_of failed")[0].0,
        per,
        "a packed user id reads back exactly"
    );

    // The ledger.
    let key = SendKey {
        scenario: Arc::from(s.as_str()),
        user: u.clone(),
        entry: 1,
        step: 2,
        seq: 1,
    };
    assert_eq!(
        store.claim(&key, t0).await.expect("claim failed"),
        Claim::New,
        "a new key is new"
    );
    assert_eq!(
        store.claim(&key, t1).await.expect("claim failed"),
        Claim::Pending { since: t0 },
        "a claimed key is pending since the first claim"
    );
    let other_visit = SendKey { seq: 2, ..key.clone() };
    assert_eq!(
        store.claim(&other_visit, t0).await.expect("claim failed"),
        Claim::New,
        "another visit is another key"
    );
    store.settle(&key, Settled::Accepted).await.expect("settle failed");
    assert_eq!(
        store.claim(&key, t1).await.expect("claim failed"),
        Claim::Done,
        "an accepted send is done"
    );
    store.settle(&key, Settled::Abandoned).await.expect("settle failed");
    assert_eq!(
        store.claim(&key, t1).await.expect("claim failed"),
        Claim::Done,
        "an accepted send stays done"
    );
    store
        .settle(&other_visit, Settled::Abandoned)
        .await
        .expect("settle failed");
    assert_eq!(
        store.claim(&other_visit, t1).await.expect("claim failed"),
        Claim::Abandoned
    );
    let unclaimed = SendKey { step: 9, ..key.clone() };
    store
        .settle(&unclaimed, Settled::Accepted)
        .await
        .expect("settle failed");
    assert_eq!(
        store.claim(&unclaimed, t1).await.expect("claim failed"),
        Claim::Done,
        "settling records an unclaimed key"
    );

    batched_state_forms(store, &p, t0, t1).await;
}

/// The batched forms answer as the single calls made in order would.
async fn batched_state_forms(store: &dyn StateStore, p: &str, t0: Timestamp, t1: Timestamp) {
    let s: Arc<str> = Arc::from(format!("{p}-batch").as_str());
    let x = UserId::new(format!("U{p}-bx"));
    let y = UserId::new(format!("U{}{:020x}", &p[1..], 0xb47u32));
    let nobody = UserId::new(format!("U{p}-nobody"));
    let wake = |user: &UserId| WakeUp {
        scenario: s.clone(),
        user: user.clone(),
        entry: 1,
        at: t0,
    };
    let vars = vec![("item".to_owned(), "Tote bag".to_owned())];
    let ex = entered(
        store
            .enroll(&s, &x, Reentry::NotWhileInside, t0, vars)
            .await
            .expect("enroll failed"),
        "batch: x enters",
    );
    let ey = entered(
        store
            .enroll(&s, &y, Reentry::NotWhileInside, t0, Vec::new())
            .await
            .expect("enroll failed"),
        "batch: y enters",
    );
    assert_eq!(
        store
            .enrollments_of(&[wake(&x), wake(&nobody), wake(&y)])
            .await
            .expect("enrollments_of failed"),
        [Some(ex.clone()), None, Some(ey.clone())],
        "enrollments_of reads each enrollment, in order, None for an unknown one"
    );
    assert_eq!(
        store.enrollments_of(&[]).await.expect("enrollments_of failed"),
        [],
        "an empty batch reads nothing"
    );

    let to = |step: u16| Transition::Move {
        step,
        since: t1,
        wait_until: Some(t1),
        last_sent: Some(0),
    };
    let op = |user: &'static str, seq: u32, change: Transition| (user, seq, change);
    let ops = [
        op("x", 0, to(1)),
        op("y", 7, to(1)),
        op("x", 0, to(2)),
        op("x", 1, Transition::Exit(ExitReason::Goal)),
        op("nobody", 0, to(1)),
    ];
    let user_of = |name: &str| match name {
        "x" => &x,
        "y" => &y,
        _ => &nobody,
    };
    let changes: Vec<TransitionOf<'_>> = ops
        .iter()
        .map(|(u, seq, change)| TransitionOf {
            scenario: &s,
            user: user_of(u),
            entry: 1,
            seq: *seq,
            change: change.clone(),
        })
        .collect();
    assert_eq!(
        store.transition_many(&changes).await.expect("transition_many failed"),
        [true, false, false, true, false],
        "transition_many applies each change in order as a compare-and-set: a stale or wrong \
         version and an unknown enrollment are refused, a later change sees the earlier ones"
    );
    let x_now = store
        .enrollment(&s, &x)
        .await
        .expect("enrollment failed")
        .expect("x exists");
    assert_eq!(
        (x_now.seq, x_now.step, x_now.status, x_now.wait_until, x_now.last_sent),
        (2, 1, Status::Exited(ExitReason::Goal), None, Some(0)),
        "both applied changes of x are kept"
    );
    assert_eq!(x_now.vars, ex.vars, "a transition keeps the entry's vars");
    assert_eq!(
        store.enrollment(&s, &y).await.expect("enrollment failed"),
        Some(ey),
        "a refused change changes nothing"
    );

    let key = |user: &UserId, step: u16| SendKey {
        scenario: s.clone(),
        user: user.clone(),
        entry: 1,
        step,
        seq: 1,
    };
    let (k1, k2, k3) = (key(&x, 1), key(&y, 1), key(&y, 5));
    assert_eq!(
        store
            .claim_many(&[k1.clone(), k2.clone(), k1.clone()], t0)
            .await
            .expect("claim_many failed"),
        [Claim::New, Claim::New, Claim::Pending { since: t0 }],
        "claim_many claims in order: a key repeated in the batch is pending the second time"
    );
    assert_eq!(
        store.claim(&k2, t1).await.expect("claim failed"),
        Claim::Pending { since: t0 },
        "claim_many records the claims before it returns"
    );
    store
        .settle_many(&[
            (&k1, Settled::Accepted),
            (&k2, Settled::Abandoned),
            (&k1, Settled::Abandoned),
            (&k3, Settled::Accepted),
        ])
        .await
        .expect("settle_many failed");
    assert_eq!(
        store.claim_many(&[k1, k2, k3], t1).await.expect("claim_many failed"),
        [Claim::Done, Claim::Abandoned, Claim::Done],
        "settle_many records each outcome: accepted stays accepted, unclaimed keys are recorded"
    );
    assert_eq!(
        store.claim_many(&[], t1).await.expect("claim_many failed"),
        [],
        "an empty batch claims nothing"
    );
    store.settle_many(&[]).await.expect("settle_many of nothing failed");
}

/// The conformance suite of [`Scheduler`]: due order, leases, acknowledgement, redelivery,
/// `schedule_many`.
pub async fn scheduler_conformance(scheduler: Arc<dyn Scheduler>, _clock: &dyn TestClock) {
    let scheduler = &*scheduler;
    let p = run_prefix();
    let sc: Arc<str> = Arc::from(format!("{p}-s").as_str());
    let w = |user: &str, at: &str| WakeUp {
        scenario: sc.clone(),
        user: UserId::new(format!("U{p}-{user}")),
        entry: 1,
        at: t(at),
    };
    let lease = SignedDuration::from_mins(5);
    let mine = |v: Vec<WakeUp>| -> Vec<WakeUp> { v.into_iter().filter(|x| x.scenario == sc).collect() };

    let a = w("a", "2026-05-01T00:10:00Z");
    let b = w("b", "2026-05-01T00:05:00Z");
    let c = w("c", "2026-05-01T01:00:00Z");
    for x in [&a, &b, &c] {
        scheduler.schedule(x).await.expect("schedule failed");
    }
    assert!(
        mine(
            scheduler
                .due(t("2026-05-01T00:00:00Z"), 100, lease)
                .await
                .expect("due failed")
        )
        .is_empty(),
        "nothing is due early"
    );
    let got = mine(
        scheduler
            .due(t("2026-05-01T00:20:00Z"), 100, lease)
            .await
            .expect("due failed"),
    );
    assert_eq!(
        got,
        [b.clone(), a.clone()],
        "due wake-ups come earliest first, exactly as scheduled"
    );
    assert!(
        mine(
            scheduler
                .due(t("2026-05-01T00:21:00Z"), 100, lease)
                .await
                .expect("due failed")
        )
        .is_empty(),
        "leased wake-ups are not delivered again within the lease"
    );
    scheduler.ack(std::slice::from_ref(&b)).await.expect("ack failed");
    // After the lease, the unacknowledged one comes back; the acknowledged one does not.
    let again = mine(
        scheduler
            .due(t("2026-05-01T00:26:00Z"), 100, lease)
            .await
            .expect("due failed"),
    );
    assert_eq!(
        again,
        std::slice::from_ref(&a),
        "an unacknowledged wake-up is delivered again after its lease"
    );
    scheduler.ack(std::slice::from_ref(&a)).await.expect("ack failed");
    scheduler
        .ack(std::slice::from_ref(&a))
        .await
        .expect("a second ack is harmless failed");
    let later = mine(
        scheduler
            .due(t("2026-05-01T02:00:00Z"), 100, lease)
            .await
            .expect("due failed"),
    );
    assert_eq!(later, std::slice::from_ref(&c));
    scheduler.ack(&later).await.expect("ack failed");
    assert!(mine(
        scheduler
            .due(t("2026-05-01T03:00:00Z"), 100, lease)
            .await
            .expect("due failed")
    )
    .is_empty());

    // Limits, and many at one time.
    for i in 0..25 {
        scheduler
            .schedule(&w(&format!("m{i:02}"), "2026-05-02T00:00:00Z"))
            .await
            .expect("schedule failed");
    }
    let mut seen = Vec::new();
    loop {
        let batch = scheduler
            .due(t("2026-05-02T00:00:00Z"), 10, lease)
            .await
            .expect("due failed");
        let batch = mine(batch);
        if batch.is_empty() {
            break;
        }
        assert!(batch.len() <= 10, "due returns at most `limit`");
        scheduler.ack(&batch).await.expect("ack failed");
        seen.extend(batch);
    }
    seen.sort_by(|x, y| x.user.as_str().cmp(y.user.as_str()));
    seen.dedup();
    assert_eq!(seen.len(), 25, "every wake-up is delivered");

    // A duplicate is delivered at least once; delivery of both is allowed.
    let d = w("dup", "2026-05-03T00:00:00Z");
    scheduler.schedule(&d).await.expect("schedule failed");
    scheduler.schedule(&d).await.expect("schedule failed");
    let got = mine(
        scheduler
            .due(t("2026-05-03T00:00:00Z"), 100, lease)
            .await
            .expect("due failed"),
    );
    assert!(
        !got.is_empty() && got.iter().all(|x| *x == d),
        "a wake-up scheduled twice is delivered"
    );
    scheduler.ack(&got).await.expect("ack failed");

    // Many at once: like scheduling each.
    let e = w("many-e", "2026-05-04T00:10:00Z");
    let f = w("many-f", "2026-05-04T00:05:00Z");
    scheduler
        .schedule_many(&[e.clone(), f.clone()])
        .await
        .expect("schedule_many failed");
    scheduler
        .schedule_many(&[])
        .await
        .expect("schedule_many of nothing failed");
    let got = mine(
        scheduler
            .due(t("2026-05-04T00:20:00Z"), 100, lease)
            .await
            .expect("due failed"),
    );
    assert_eq!(got, [f, e], "schedule_many schedules every wake-up");
    scheduler.ack(&got).await.expect("ack failed");
}

/// The conformance suite of [`ContactStore`]: the window, idempotent keys, limits, give-back.
pub async fn contact_store_conformance(store: Arc<dyn ContactStore>, _clock: &dyn TestClock) {
    let store = &*store;
    let p = run_prefix();
    let u = UserId::new(format!("U{p}"));
    let week = SignedDuration::from_hours(7 * 24);
    let t0 = t("2026-05-01T00:00:00Z");
    assert!(store.take(&u, "a", 2, week, t0).await.expect("take failed"));
    assert!(
        store.take(&u, "a", 2, week, t0).await.expect("take failed"),
        "a key taken before is admitted again"
    );
    assert_eq!(
        store.count(&u, week, t0).await.expect("count failed"),
        1,
        "and counted once"
    );
    assert!(store.take(&u, "b", 2, week, t0).await.expect("take failed"));
    assert!(
        !store.take(&u, "c", 2, week, t0).await.expect("take failed"),
        "the limit holds"
    );
    assert!(
        store.take(&u, "c", 3, week, t0).await.expect("take failed"),
        "a higher limit admits more"
    );
    store.give_back(&u, "c").await.expect("give_back failed");
    assert_eq!(
        store.count(&u, week, t0).await.expect("count failed"),
        2,
        "a slot given back is free"
    );
    let later = t("2026-05-08T00:00:01Z");
    assert_eq!(
        store.count(&u, week, later).await.expect("count failed"),
        0,
        "the window rolls"
    );
    assert!(store.take(&u, "d", 1, week, later).await.expect("take failed"));
    let other = UserId::new(format!("U{p}-other"));
    assert!(
        store.take(&other, "a", 1, week, t0).await.expect("take failed"),
        "users are independent"
    );
}

/// The conformance suite of [`ProfileStore`]: reads, paging, events, tags and attributes.
pub async fn profile_store_conformance(store: Arc<dyn ProfileStore>, _clock: &dyn TestClock) {
    let store = &*store;
    let p = run_prefix();
    let u = UserId::new(format!("U{p}-1"));
    store.add_tag(&u, "vip").await.expect("add_tag failed");
    store.add_tag(&u, "vip").await.expect("add_tag failed");
    store.add_tag(&u, "new").await.expect("add_tag failed");
    store.remove_tag(&u, "new").await.expect("remove_tag failed");
    store
        .set_attribute(&u, "points", Value::Num(120.0))
        .await
        .expect("set_attribute failed");
    store
        .set_attribute(&u, "tier", Value::Str("gold".into()))
        .await
        .expect("set_attribute failed");
    store
        .remove_attribute(&u, "tier")
        .await
        .expect("remove_attribute failed");
    let ev = Event::new("purchase", t("2026-05-01T00:00:00Z")).with("amount", Value::Num(5000.0));
    store.record_event(&u, &ev).await.expect("record_event failed");
    let got = store
        .profile(&u)
        .await
        .expect("profile failed")
        .expect("acts create the profile");
    assert_eq!(
        got.attributes.get(TAGS),
        Some(&Value::Set(vec!["vip".into()])),
        "tags are a set"
    );
    assert_eq!(got.attributes.get("points"), Some(&Value::Num(120.0)));
    assert_eq!(got.attributes.get("tier"), None, "a removed attribute is gone");
    assert_eq!(got.events, vec![ev], "recorded events are read back");
    assert!(store
        .profile(&UserId::new(format!("U{p}-none")))
        .await
        .expect("profile failed")
        .is_none());
    let u2 = UserId::new(format!("U{p}-2"));
    store.add_tag(&u2, "x").await.expect("add_tag failed");
    let page = store.page(None, 100_000).await.expect("page failed");
    assert!(page.windows(2).all(|w| w[0].id < w[1].id), "pages are in id order");
    let i = page.iter().position(|x| x.id == u).expect("the user is listed");
    let next = store.page(Some(&u), 1).await.expect("page failed");
    assert_eq!(next[0].id, page[i + 1].id, "a page continues after the given id");
}

/// The conformance suite of [`SourceStore`](crate::sources::SourceStore): visits, token and
/// follow expiry, one follow per binding, redelivered events counted once, blocks and
/// conversions counted for the user's source. Source codes are prefixed per run.
pub async fn source_store_conformance(store: Arc<dyn crate::sources::SourceStore>, _clock: &dyn TestClock) {
    let store = &*store;
    let p = run_prefix();
    let (a, b) = (format!("{p}-a"), format!("{p}-b"));
    let t0 = t("2026-05-01T00:00:00Z");
    let hour = SignedDuration::from_hours(1);
    let later = |d: SignedDuration| t0.saturating_add(d).unwrap_or(t0);
    let tok = |n: u32| format!("{}{:08x}", &format!("{p:0<24}")[..24], n);
    let (u1, u2, u3) = (
        UserId::new(format!("U{p}-1")),
        UserId::new(format!("U{p}-2")),
        UserId::new(format!("U{p}-3")),
    );

    store.visit(&a, &tok(1), later(hour)).await.expect("visit failed");
    store.visit(&a, &tok(2), later(hour)).await.expect("visit failed");
    store.visit(&b, &tok(3), later(hour)).await.expect("visit failed");
    assert_eq!(
        store.counts(&a).await.expect("counts failed").visits,
        2,
        "every visit counts"
    );

    assert_eq!(
        store.bind(&tok(9), &u1, t0, later(hour)).await.expect("bind failed"),
        None,
        "an unknown token binds nothing"
    );
    assert_eq!(
        store
            .bind(&tok(1), &u1, later(hour), later(hour * 2))
            .await
            .expect("bind failed"),
        None,
        "a token expires at its expiry"
    );
    assert_eq!(
        store.bind(&tok(2), &u1, t0, later(hour)).await.expect("bind failed"),
        Some(a.clone()),
        "a live token binds the user to its source"
    );
    assert_eq!(
        store.bind(&tok(3), &u2, t0, later(hour)).await.expect("bind failed"),
        Some(b.clone())
    );

    let first = store
        .follow(&u1, Some(&format!("{p}-e1")), t0)
        .await
        .expect("follow failed");
    assert_eq!(first, Some(a.clone()), "a follow takes the user's binding");
    let again = store
        .follow(&u1, Some(&format!("{p}-e1")), t0)
        .await
        .expect("follow failed");
    assert_eq!(again, first, "a redelivered follow gives the same source");
    assert_eq!(
        store.counts(&a).await.expect("counts failed").friends,
        1,
        "and counts once"
    );
    assert_eq!(
        store
            .follow(&u1, Some(&format!("{p}-e2")), t0)
            .await
            .expect("follow failed"),
        None,
        "a binding is used by one follow only"
    );
    assert_eq!(
        store.source_of(&u1).await.expect("source_of failed"),
        Some(a.clone()),
        "an unmatched follow keeps the user's source"
    );
    assert_eq!(
        store
            .follow(&u2, Some(&format!("{p}-e3")), later(hour))
            .await
            .expect("follow failed"),
        None,
        "a binding expires at its expiry"
    );
    assert_eq!(store.counts(&b).await.expect("counts failed").friends, 0);
    assert_eq!(
        store.follow(&u3, None, t0).await.expect("follow failed"),
        None,
        "a user never bound follows from no source"
    );

    assert_eq!(
        store
            .unfollow(&u1, Some(&format!("{p}-e4")))
            .await
            .expect("unfollow failed"),
        Some(a.clone())
    );
    store
        .unfollow(&u1, Some(&format!("{p}-e4")))
        .await
        .expect("unfollow failed");
    assert_eq!(
        store
            .unfollow(&u3, Some(&format!("{p}-e5")))
            .await
            .expect("unfollow failed"),
        None,
        "a block of a user without a source counts nowhere"
    );
    let k1 = format!("{p}-k1");
    assert_eq!(
        store.convert(&u1, &k1, 4800.0).await.expect("convert failed"),
        Some(a.clone())
    );
    store.convert(&u1, &k1, 4800.0).await.expect("convert failed");
    store
        .convert(&u1, &format!("{p}-k2"), 200.0)
        .await
        .expect("convert failed");
    assert_eq!(
        store
            .convert(&u3, &format!("{p}-k3"), 100.0)
            .await
            .expect("convert failed"),
        None
    );
    let c = store.counts(&a).await.expect("counts failed");
    assert_eq!(
        (c.visits, c.friends, c.blocks, c.conversions, c.revenue),
        (2, 1, 1, 2, 5000.0),
        "a block counts once per event, a conversion once per key"
    );
    let none = store.counts(&format!("{p}-never")).await.expect("counts failed");
    assert_eq!(
        none,
        crate::sources::SourceCounts::default(),
        "an unseen source counts zero"
    );
}
