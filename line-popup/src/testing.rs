//! The conformance suite of [`PopupStore`] (feature `testing`).
//!
//! Any implementation can run it on itself:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let store = std::sync::Arc::new(line_popup::InMemoryStore::new());
//! let clock = line_core::clock::ManualClock::new("2026-05-01T00:00:00Z".parse().unwrap());
//! line_popup::testing::popup_store_conformance(store, &clock).await;
//! # }
//! ```
//!
//! It panics, with a message naming the broken rule, on the first violation.
//! Reservations alternate between [`PopupStore::reserve`] and
//! [`PopupStore::try_reserve_now`] (when the store answers it), on the same state.
//! It uses fresh random visitor, campaign and day names, so it can run against
//! a shared store (a Redis database in use, say) without interfering with it.
//! Run it in a multi-thread runtime to exercise real parallelism in the
//! concurrency check.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use line_core::testing::TestClock;

use crate::config::{Caps, WindowCap};
use crate::store::{
    Candidate, CapKind, EventKind, PopupStore, Recorded, ReserveOutcome, ReserveRequest, StatKind, StatRow,
};

fn fresh(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        uuid::Builder::from_random_bytes(rand::random()).into_uuid().simple()
    )
}

fn token() -> String {
    uuid::Builder::from_random_bytes(rand::random())
        .into_uuid()
        .simple()
        .to_string()
}

struct Ctx {
    visitor: String,
    session: String,
    day: String,
    max_per_day: Option<u32>,
}

impl Ctx {
    fn new() -> Self {
        Self {
            visitor: fresh("v"),
            session: fresh("s"),
            day: fresh("day"),
            max_per_day: None,
        }
    }
}

async fn reserve(
    store: &dyn PopupStore,
    ctx: &Ctx,
    now: Timestamp,
    candidates: &[Candidate<'_>],
) -> (ReserveOutcome, String) {
    let token = token();
    let req = ReserveRequest {
        visitor: &ctx.visitor,
        session: &ctx.session,
        now,
        day: &ctx.day,
        max_per_day: ctx.max_per_day,
        session_ttl_secs: 3600,
        candidates,
        token: &token,
        token_ttl_secs: 86_400,
    };
    // Every other reservation goes through `try_reserve_now` (what the engine
    // tries first), so that both ways are checked against the same state.
    let now = match RESERVATIONS.fetch_add(1, Ordering::Relaxed) % 2 {
        0 => store.try_reserve_now(&req),
        _ => None,
    };
    let out = match now {
        Some(out) => out,
        None => store.reserve(&req).await,
    }
    .expect("reserve failed");
    (out, token)
}

static RESERVATIONS: AtomicUsize = AtomicUsize::new(0);

fn shown(o: &ReserveOutcome) -> bool {
    matches!(o, ReserveOutcome::Reserved { index: 0, .. })
}

fn blocked_by(o: &ReserveOutcome) -> Option<CapKind> {
    match o {
        ReserveOutcome::Blocked(v) => v.first().copied(),
        ReserveOutcome::Reserved { .. } => None,
    }
}

fn t0() -> Timestamp {
    "2026-05-01T03:00:00Z".parse().expect("valid timestamp")
}

fn at(secs: i64) -> Timestamp {
    t0() + SignedDuration::from_secs(secs)
}

/// Runs every check of the suite on `store`. Panics on the first violation.
///
/// The shape of every suite of the workspace, `(store: Arc<dyn Trait>, clock: &dyn
/// TestClock)` (see `line_core::testing`). A reservation carries its own `now`, so the
/// suite passes fixed instants and leaves the clock alone.
pub async fn popup_store_conformance(store: Arc<dyn PopupStore>, _clock: &dyn TestClock) {
    lifetime_cap(&*store).await;
    window_cap(&*store).await;
    session_cap(&*store).await;
    min_interval(&*store).await;
    dismiss_cooldown_and_conversion(&*store).await;
    daily_cap_across_campaigns(&*store).await;
    first_allowed_candidate_wins(&*store).await;
    events_count_once(&*store).await;
    tokens_expire(&*store).await;
    bindings(&*store).await;
    new_friends_once_per_event(&*store).await;
    concurrent_reservations_never_exceed_a_cap(store.clone(), 64, 5).await;
}

/// A lifetime cap of 5 gives exactly 5 showings.
pub async fn lifetime_cap(store: &dyn PopupStore) {
    let ctx = Ctx::new();
    let campaign = fresh("c");
    let caps = Caps {
        lifetime: Some(5),
        ..Caps::default()
    };
    let cands = [Candidate::new(&campaign, "a", &caps)];
    for i in 0..5 {
        let (o, _) = reserve(store, &ctx, at(i), &cands).await;
        assert!(shown(&o), "lifetime: showing {} of 5 was refused: {o:?}", i + 1);
    }
    let (o, _) = reserve(store, &ctx, at(10), &cands).await;
    assert_eq!(blocked_by(&o), Some(CapKind::Lifetime), "lifetime: 6th showing");
    let (o, _) = reserve(store, &ctx, at(10_000_000), &cands).await;
    assert_eq!(blocked_by(&o), Some(CapKind::Lifetime), "lifetime cap must not expire");
}

/// 2 per rolling hour: the third is refused until the first leaves the window.
pub async fn window_cap(store: &dyn PopupStore) {
    let ctx = Ctx::new();
    let campaign = fresh("c");
    let caps = Caps {
        window: Some(WindowCap::new(2, 3600)),
        ..Caps::default()
    };
    let cands = [Candidate::new(&campaign, "a", &caps)];
    assert!(shown(&reserve(store, &ctx, at(0), &cands).await.0), "window: first");
    assert!(shown(&reserve(store, &ctx, at(1800), &cands).await.0), "window: second");
    let (o, _) = reserve(store, &ctx, at(3599), &cands).await;
    assert_eq!(blocked_by(&o), Some(CapKind::Window), "window: third within the hour");
    assert!(
        shown(&reserve(store, &ctx, at(3600), &cands).await.0),
        "window: the first showing left the window at exactly one hour"
    );
    let (o, _) = reserve(store, &ctx, at(5399), &cands).await;
    assert_eq!(blocked_by(&o), Some(CapKind::Window), "window: rolling, not fixed");
    assert!(
        shown(&reserve(store, &ctx, at(5400), &cands).await.0),
        "window: second left"
    );
}

/// 1 per session: a new session may show again.
pub async fn session_cap(store: &dyn PopupStore) {
    let mut ctx = Ctx::new();
    let campaign = fresh("c");
    let caps = Caps {
        per_session: Some(1),
        ..Caps::default()
    };
    let cands = [Candidate::new(&campaign, "a", &caps)];
    assert!(shown(&reserve(store, &ctx, at(0), &cands).await.0), "session: first");
    let (o, _) = reserve(store, &ctx, at(1), &cands).await;
    assert_eq!(blocked_by(&o), Some(CapKind::Session), "session: second in session");
    ctx.session = fresh("s");
    assert!(
        shown(&reserve(store, &ctx, at(2), &cands).await.0),
        "session: new session"
    );
}

/// 10 minutes between showings.
pub async fn min_interval(store: &dyn PopupStore) {
    let ctx = Ctx::new();
    let campaign = fresh("c");
    let caps = Caps {
        min_interval_secs: Some(600),
        ..Caps::default()
    };
    let cands = [Candidate::new(&campaign, "a", &caps)];
    assert!(shown(&reserve(store, &ctx, at(0), &cands).await.0), "interval: first");
    let (o, _) = reserve(store, &ctx, at(599), &cands).await;
    assert_eq!(blocked_by(&o), Some(CapKind::MinInterval), "interval: too soon");
    assert!(
        shown(&reserve(store, &ctx, at(600), &cands).await.0),
        "interval: after 10 min"
    );
}

/// A dismiss starts a 7-day cool-down; a conversion stops the campaign.
pub async fn dismiss_cooldown_and_conversion(store: &dyn PopupStore) {
    let ctx = Ctx::new();
    let campaign = fresh("c");
    let caps = Caps {
        dismiss_cooldown_secs: Some(7 * 86_400),
        stop_after_conversion: true,
        ..Caps::default()
    };
    let cands = [Candidate::new(&campaign, "a", &caps)];
    let (o, tok) = reserve(store, &ctx, at(0), &cands).await;
    assert!(shown(&o), "cooldown: first");
    let r = store
        .record(&tok, EventKind::Dismissed, at(10), &ctx.day)
        .await
        .expect("record");
    assert!(matches!(r, Recorded::New(_)), "cooldown: dismiss recorded: {r:?}");
    let (o, _) = reserve(store, &ctx, at(10 + 7 * 86_400 - 1), &cands).await;
    assert_eq!(
        blocked_by(&o),
        Some(CapKind::DismissCooldown),
        "cooldown: within 7 days"
    );
    let (o, tok) = reserve(store, &ctx, at(10 + 7 * 86_400), &cands).await;
    assert!(shown(&o), "cooldown: over after 7 days: {o:?}");
    let r = store
        .record(&tok, EventKind::ConvertedFriend, at(8 * 86_400), &ctx.day)
        .await
        .expect("record");
    assert!(matches!(r, Recorded::New(_)), "conversion recorded: {r:?}");
    let (o, _) = reserve(store, &ctx, at(400 * 86_400), &cands).await;
    assert_eq!(
        blocked_by(&o),
        Some(CapKind::Converted),
        "no showing after a conversion"
    );
    // Another campaign is not affected.
    let other = fresh("c");
    let cands = [Candidate::new(&other, "a", &caps)];
    assert!(
        shown(&reserve(store, &ctx, at(400 * 86_400), &cands).await.0),
        "a conversion in one campaign leaves others alone"
    );
}

/// At most 2 per day across campaigns; a new day starts afresh.
pub async fn daily_cap_across_campaigns(store: &dyn PopupStore) {
    let mut ctx = Ctx::new();
    ctx.max_per_day = Some(2);
    let caps = Caps::default();
    let (a, b, c) = (fresh("c"), fresh("c"), fresh("c"));
    assert!(
        shown(&reserve(store, &ctx, at(0), &[Candidate::new(&a, "x", &caps)]).await.0),
        "daily: 1"
    );
    assert!(
        shown(&reserve(store, &ctx, at(1), &[Candidate::new(&b, "x", &caps)]).await.0),
        "daily: 2"
    );
    let (o, _) = reserve(store, &ctx, at(2), &[Candidate::new(&c, "x", &caps)]).await;
    assert_eq!(
        blocked_by(&o),
        Some(CapKind::Daily),
        "daily: 3rd campaign on the same day"
    );
    ctx.day = fresh("day");
    assert!(
        shown(
            &reserve(store, &ctx, at(86_400), &[Candidate::new(&c, "x", &caps)])
                .await
                .0
        ),
        "daily: next day"
    );
}

/// Candidates are tried in order; the first allowed one is reserved, and
/// nothing of a blocked one changes.
pub async fn first_allowed_candidate_wins(store: &dyn PopupStore) {
    let ctx = Ctx::new();
    let (a, b) = (fresh("c"), fresh("c"));
    let one = Caps {
        lifetime: Some(1),
        ..Caps::default()
    };
    let cands = [Candidate::new(&a, "x", &one), Candidate::new(&b, "y", &one)];
    let (o, tok_a) = reserve(store, &ctx, at(0), &cands).await;
    assert_eq!(
        o,
        ReserveOutcome::Reserved {
            index: 0,
            skipped: vec![]
        },
        "order: first candidate first"
    );
    let (o, tok_b) = reserve(store, &ctx, at(1), &cands).await;
    assert_eq!(
        o,
        ReserveOutcome::Reserved {
            index: 1,
            skipped: vec![CapKind::Lifetime]
        },
        "order: falls through to the second"
    );
    let (o, _) = reserve(store, &ctx, at(2), &cands).await;
    assert_eq!(
        o,
        ReserveOutcome::Blocked(vec![CapKind::Lifetime, CapKind::Lifetime]),
        "order: both capped"
    );
    let ra = store
        .record(&tok_a, EventKind::Shown, at(3), &ctx.day)
        .await
        .expect("record");
    let rb = store
        .record(&tok_b, EventKind::Shown, at(3), &ctx.day)
        .await
        .expect("record");
    match (ra, rb) {
        (Recorded::New(x), Recorded::New(y)) => {
            assert_eq!((x.campaign.as_str(), x.variant.as_str()), (a.as_str(), "x"));
            assert_eq!((y.campaign.as_str(), y.variant.as_str()), (b.as_str(), "y"));
            assert_eq!(x.visitor, ctx.visitor);
            assert_eq!(x.reserved_at, at(0));
        }
        other => panic!("tokens must stand for their showings: {other:?}"),
    }
}

/// Each event kind counts once per token, into the day's report counters.
pub async fn events_count_once(store: &dyn PopupStore) {
    let ctx = Ctx::new();
    let campaign = fresh("c");
    let caps = Caps::default();
    let cands = [Candidate::new(&campaign, "v1", &caps)];
    let (_, t1) = reserve(store, &ctx, at(0), &cands).await;
    let (_, t2) = reserve(store, &ctx, at(1), &cands).await;
    for t in [&t1, &t2] {
        for k in [EventKind::Shown, EventKind::Clicked] {
            assert!(matches!(
                store.record(t, k, at(5), &ctx.day).await.expect("record"),
                Recorded::New(_)
            ));
            assert!(
                matches!(
                    store.record(t, k, at(6), &ctx.day).await.expect("record"),
                    Recorded::Duplicate(_)
                ),
                "a repeated {k:?} must be a duplicate"
            );
        }
    }
    assert!(matches!(
        store
            .record(&t1, EventKind::ConvertedLink, at(7), &ctx.day)
            .await
            .expect("record"),
        Recorded::New(_)
    ));
    assert_eq!(
        store
            .record(&token(), EventKind::Shown, at(5), &ctx.day)
            .await
            .expect("record"),
        Recorded::UnknownToken
    );
    let stats = store.stats(std::slice::from_ref(&ctx.day)).await.expect("stats");
    let mut rows: Vec<StatRow> = stats.rows.into_iter().filter(|r| r.campaign == campaign).collect();
    rows.sort_by_key(|r| r.kind.as_str());
    let want = |k: StatKind, n: u64| StatRow::new(&ctx.day, &campaign, "v1", k, n);
    let mut expected = vec![
        want(StatKind::Event(EventKind::Clicked), 2),
        want(StatKind::Event(EventKind::ConvertedLink), 1),
        want(StatKind::Reserved, 2),
        want(StatKind::Event(EventKind::Shown), 2),
    ];
    expected.sort_by_key(|r| r.kind.as_str());
    assert_eq!(rows, expected, "report counters");
    let other_day = fresh("day");
    let stats = store.stats(&[other_day]).await.expect("stats");
    assert!(
        stats.rows.iter().all(|r| r.campaign != campaign),
        "counters belong to their day"
    );
}

/// A token is unknown after its time to live.
pub async fn tokens_expire(store: &dyn PopupStore) {
    let ctx = Ctx::new();
    let campaign = fresh("c");
    let caps = Caps::default();
    let (_, tok) = reserve(store, &ctx, at(0), &[Candidate::new(&campaign, "a", &caps)]).await;
    assert!(
        store.bind(&fresh("user:x"), &tok, at(86_399), 60).await.expect("bind"),
        "bind a live token"
    );
    assert_eq!(
        store
            .record(&tok, EventKind::Shown, at(86_400), &ctx.day)
            .await
            .expect("record"),
        Recorded::UnknownToken,
        "expired token"
    );
}

/// Binding a key to a token, and resolving it until it expires.
pub async fn bindings(store: &dyn PopupStore) {
    let ctx = Ctx::new();
    let campaign = fresh("c");
    let caps = Caps::default();
    let (_, tok) = reserve(store, &ctx, at(0), &[Candidate::new(&campaign, "a", &caps)]).await;
    let key = fresh("user:U");
    assert!(
        !store.bind(&key, &token(), at(1), 60).await.expect("bind"),
        "unknown token"
    );
    assert_eq!(store.resolve(&key, at(1)).await.expect("resolve"), None);
    assert!(store.bind(&key, &tok, at(1), 60).await.expect("bind"));
    assert_eq!(store.resolve(&key, at(60)).await.expect("resolve"), Some(tok.clone()));
    assert_eq!(
        store.resolve(&key, at(61)).await.expect("resolve"),
        None,
        "binding expired"
    );
}

/// A new friend counts once per webhook event ID.
pub async fn new_friends_once_per_event(store: &dyn PopupStore) {
    let day = fresh("day");
    let ev = fresh("ev");
    assert!(store.count_new_friend(Some(&ev), &day).await.expect("count"));
    assert!(
        !store.count_new_friend(Some(&ev), &day).await.expect("count"),
        "redelivery"
    );
    assert!(store.count_new_friend(None, &day).await.expect("count"));
    let stats = store.stats(std::slice::from_ref(&day)).await.expect("stats");
    assert_eq!(stats.new_friends, vec![(day, 2)]);
}

/// `n` concurrent reservations for one visitor with a lifetime cap of `cap`
/// give exactly `cap` showings.
pub async fn concurrent_reservations_never_exceed_a_cap(store: Arc<dyn PopupStore>, n: usize, cap: u32) {
    let ctx = Arc::new(Ctx::new());
    let campaign: Arc<str> = fresh("c").into();
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let (store, ctx, campaign) = (store.clone(), ctx.clone(), campaign.clone());
        tasks.push(tokio::spawn(async move {
            let caps = Caps {
                lifetime: Some(cap),
                ..Caps::default()
            };
            let cands = [Candidate::new(&campaign, "a", &caps)];
            let (o, _) = reserve(&*store, &ctx, at(i as i64 % 3), &cands).await;
            shown(&o)
        }));
    }
    let mut shows = 0;
    for t in tasks {
        if t.await.expect("task panicked") {
            shows += 1;
        }
    }
    assert_eq!(shows, cap as usize, "{n} concurrent reservations with a cap of {cap}");
}
