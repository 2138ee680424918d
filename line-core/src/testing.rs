//! Helpers for tests: webhook signing, and the conformance suites of the host
//! traits (feature `testing`).
//!
//! A store implementation proves itself by running the suite on itself. Every
//! conformance suite of the workspace (line-core, line-richmenu, line-popup,
//! line-scenarios) has one shape:
//!
//! ```text
//! async fn {trait}_conformance(store: Arc<dyn Trait>, clock: &dyn TestClock)
//! ```
//!
//! `clock` is how the suite moves time for the store: a [`ManualClock`] that the store
//! also reads (in-memory and SQL stores built `with_clock`), or [`SleepClock`] for a
//! store on its server's clock (Redis), whose `advance` sleeps. Suites of traits that
//! take the time as an argument of each call pass fixed instants and leave the clock alone.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! use line_core::clock::ManualClock;
//! use line_core::testing::dedupe_store_conformance;
//! use line_core::webhook::dedupe::InMemoryDedupeStore;
//!
//! let clock = ManualClock::new("2026-05-01T00:00:00Z".parse().unwrap());
//! let store = InMemoryDedupeStore::with_clock(clock.clone());
//! dedupe_store_conformance(Arc::new(store), &clock).await;
//! # });
//! ```

#[cfg(any(feature = "sqlite", feature = "postgres", feature = "redis"))]
pub mod store;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};

use crate::clock::{Clock, ManualClock};
use crate::secret::ChannelSecret;
use crate::webhook::account_link::NonceStore;
use crate::webhook::dedupe::DedupeStore;
use crate::webhook::WebhookVerifier;

/// Something that holds a channel secret: [`ChannelSecret`], `str` or `String`.
pub trait SigningSecret {
    /// The secret's bytes (the HMAC key).
    fn secret_bytes(&self) -> &[u8];
}

impl SigningSecret for ChannelSecret {
    fn secret_bytes(&self) -> &[u8] {
        self.expose().as_bytes()
    }
}

impl SigningSecret for str {
    fn secret_bytes(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl SigningSecret for String {
    fn secret_bytes(&self) -> &[u8] {
        self.as_bytes()
    }
}

/// The `x-line-signature` value LINE would send with `body` for a channel with this secret.
///
/// ```
/// use line_core::testing::sign;
///
/// assert_eq!(sign("test_secret", br#"{"hello":"world"}"#), "t7Hn4ZDHqs6e+wdvI5TyQIvzie0DmMUmuXEBqyyE/tM=");
/// ```
pub fn sign<S: SigningSecret + ?Sized>(secret: &S, body: &[u8]) -> String {
    WebhookVerifier::from_key(secret.secret_bytes()).sign(body)
}

/// A `POST` of `body` to `uri` with a valid `x-line-signature`, ready for
/// `tower::ServiceExt::oneshot` on an axum router (feature `axum`).
#[cfg(feature = "axum")]
pub fn signed_request<S: SigningSecret + ?Sized>(
    secret: &S,
    uri: &str,
    body: impl Into<bytes::Bytes>,
) -> http::Request<axum::body::Body> {
    let body = body.into();
    let signature = sign(secret, &body);
    let mut req = http::Request::new(axum::body::Body::from(body));
    *req.method_mut() = http::Method::POST;
    if let Ok(uri) = uri.parse() {
        *req.uri_mut() = uri;
    }
    req.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    if let Ok(v) = http::HeaderValue::from_str(&signature) {
        req.headers_mut().insert(crate::webhook::SIGNATURE_HEADER, v);
    }
    req
}

/// How a conformance suite moves time for the store under test (see the [module
/// documentation](self)).
#[async_trait]
pub trait TestClock: Send + Sync {
    /// The current instant, as the store sees it.
    fn now(&self) -> Timestamp;
    /// Moves the store's time on by `by`.
    async fn advance(&self, by: Duration);
}

#[async_trait]
impl TestClock for ManualClock {
    fn now(&self) -> Timestamp {
        Clock::now(self)
    }

    async fn advance(&self, by: Duration) {
        ManualClock::advance(self, SignedDuration::try_from(by).unwrap_or(SignedDuration::MAX));
    }
}

/// Real time, for a store that reads its server's clock (Redis key expiry, SQL
/// `now()`): [`advance`](TestClock::advance) sleeps. The suites advance at most about
/// 15 seconds in all.
#[derive(Debug, Clone, Copy, Default)]
pub struct SleepClock;

#[async_trait]
impl TestClock for SleepClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }

    async fn advance(&self, by: Duration) {
        tokio::time::sleep(by).await;
    }
}

/// A prefix that keeps the keys of one suite run apart from other data in a shared store.
fn run_prefix() -> String {
    format!("conformance-{:016x}", rand::random::<u64>())
}

/// The conformance suite of [`DedupeStore`]: new and seen ids, expiry after the ttl
/// (on `clock`), `forget`.
///
/// Panics, naming the broken rule, when the store does not behave.
pub async fn dedupe_store_conformance(store: Arc<dyn DedupeStore>, clock: &dyn TestClock) {
    let store = &*store;
    let p = run_prefix();
    let ttl = Duration::from_secs(4);
    let first = |id: String| async move {
        store
            .first_seen(&id, ttl)
            .await
            .unwrap_or_else(|e| panic!("first_seen({id:?}) failed: {e}"))
    };

    let a = format!("{p}-A");
    assert!(first(a.clone()).await, "a new id must be reported as new");
    for _ in 0..3 {
        assert!(!first(a.clone()).await, "a seen id must be reported as seen");
    }
    assert!(first(format!("{p}-B")).await, "a different id must be new");
    assert!(
        first(format!("{p}-a")).await,
        "ids differing only in case are different ids"
    );
    let long = format!("{p}-{}", "x".repeat(255));
    assert!(first(long.clone()).await, "a long id must be new");
    assert!(!first(long).await, "a long id must be remembered");
    let unicode = format!("{p}-イベント-🎉");
    assert!(first(unicode.clone()).await, "a non-ASCII id must be new");
    assert!(!first(unicode).await, "a non-ASCII id must be remembered");

    // Different TTLs per id.
    let short = format!("{p}-short");
    let long_lived = format!("{p}-long");
    assert!(store
        .first_seen(&short, Duration::from_secs(2))
        .await
        .expect("first_seen failed"));
    assert!(store
        .first_seen(&long_lived, Duration::from_secs(10))
        .await
        .expect("first_seen failed"));

    clock.advance(Duration::from_secs(1)).await;
    assert!(
        !first(a.clone()).await,
        "an id must be remembered before its ttl passes"
    );

    clock.advance(Duration::from_secs(4)).await; // 5 s in: A (4 s) and short (2 s) expired
    assert!(first(a.clone()).await, "an id must be new again once its ttl passed");
    assert!(!first(a.clone()).await, "a re-recorded id must be remembered again");
    assert!(
        store
            .first_seen(&short, Duration::from_secs(2))
            .await
            .expect("first_seen failed"),
        "an id with a short ttl must expire on its own schedule"
    );
    assert!(
        !store
            .first_seen(&long_lived, Duration::from_secs(10))
            .await
            .expect("first_seen failed"),
        "an id with a long ttl must outlive shorter ones"
    );
    clock.advance(Duration::from_secs(6)).await; // 11 s in
    assert!(
        store
            .first_seen(&long_lived, Duration::from_secs(10))
            .await
            .expect("first_seen failed"),
        "an id must expire ttl after it was first recorded, not after it was last seen"
    );

    // Forgetting: a forgotten id is new again (and then remembered); forgetting an
    // unknown id is fine and leaves others alone.
    let f = format!("{p}-forget");
    assert!(first(f.clone()).await, "a new id must be new");
    store
        .forget(&f)
        .await
        .unwrap_or_else(|e| panic!("forget({f:?}) failed: {e}"));
    assert!(first(f.clone()).await, "a forgotten id must be new again");
    assert!(
        !first(f.clone()).await,
        "an id recorded after forget must be remembered"
    );
    store
        .forget(&format!("{p}-never-seen"))
        .await
        .unwrap_or_else(|e| panic!("forgetting an unknown id failed: {e}"));
    assert!(!first(f).await, "forgetting another id must not forget this one");

    // Many distinct ids: each is new exactly once.
    let mut new = 0;
    for round in 0..2 {
        for i in 0..50 {
            if first(format!("{p}-many-{i}")).await {
                new += 1;
            }
        }
        assert_eq!(new, 50, "round {round}: each id must be new exactly once");
    }
}

/// The conformance suite of [`NonceStore`]: a nonce is taken once, by its member,
/// before its ttl passes (on `clock`).
///
/// Panics, naming the broken rule, when the store does not behave.
pub async fn nonce_store_conformance(store: Arc<dyn NonceStore>, clock: &dyn TestClock) {
    let store = &*store;
    let p = run_prefix();
    let ttl = Duration::from_secs(3);
    let put = |nonce: String, member: &'static str, ttl: Duration| async move {
        store
            .put(&nonce, member, ttl)
            .await
            .unwrap_or_else(|e| panic!("put({nonce:?}) failed: {e}"))
    };
    let take = |nonce: String| async move {
        store
            .take(&nonce)
            .await
            .unwrap_or_else(|e| panic!("take({nonce:?}) failed: {e}"))
    };

    assert_eq!(take(format!("{p}-never")).await, None, "an unknown nonce gives nothing");

    put(format!("{p}-n1"), "member-1", ttl).await;
    put(format!("{p}-n2"), "member-2", ttl).await;
    put(format!("{p}-n3"), "member-1", Duration::from_secs(60)).await;
    assert_eq!(take(format!("{p}-N1")).await, None, "nonces are case-sensitive");
    assert_eq!(
        take(format!("{p}-n1")).await.as_deref(),
        Some("member-1"),
        "take gives the member the nonce was put for"
    );
    assert_eq!(take(format!("{p}-n1")).await, None, "a nonce can be taken once only");
    assert_eq!(
        take(format!("{p}-n3")).await.as_deref(),
        Some("member-1"),
        "two nonces for one member are independent"
    );

    put(format!("{p}-n4"), "member-4", ttl).await;
    clock.advance(Duration::from_secs(1)).await;
    assert_eq!(
        take(format!("{p}-n4")).await.as_deref(),
        Some("member-4"),
        "a nonce is kept until its ttl passes"
    );
    clock.advance(Duration::from_secs(4)).await;
    assert_eq!(take(format!("{p}-n2")).await, None, "an expired nonce gives nothing");

    put(format!("{p}-n5"), "member-5", ttl).await;
    assert_eq!(
        take(format!("{p}-n5")).await.as_deref(),
        Some("member-5"),
        "a nonce put after others expired works"
    );
}

/// The conformance suite of [`RetryKeyStore`](crate::client::RetryKeyStore). Retry keys
/// do not expire in the store, so the suite leaves `clock` alone.
///
/// Panics, naming the broken rule, when the store does not behave.
#[cfg(feature = "client")]
pub async fn retry_key_store_conformance(store: Arc<dyn crate::client::RetryKeyStore>, _clock: &dyn TestClock) {
    use crate::ids::RetryKey;

    let store = &*store;

    let p = run_prefix();
    let run = format!("{p}-run");
    let keys = |run: String, proposed: Vec<(String, RetryKey)>| async move {
        let refs: Vec<(&str, RetryKey)> = proposed.iter().map(|(r, k)| (r.as_str(), *k)).collect();
        let got = store
            .keys(&run, &refs)
            .await
            .unwrap_or_else(|e| panic!("keys({run:?}) failed: {e}"));
        assert_eq!(got.len(), proposed.len(), "keys must return one key per recipient");
        got
    };
    let fresh = |recipients: &[&str]| -> Vec<(String, RetryKey)> {
        recipients.iter().map(|r| ((*r).to_owned(), RetryKey::new())).collect()
    };

    assert!(keys(run.clone(), Vec::new()).await.is_empty(), "no recipients, no keys");

    // First call: the proposals are stored and returned, in order.
    let first = fresh(&["U1", "U2", "U3"]);
    let got = keys(run.clone(), first.clone()).await;
    assert_eq!(
        got,
        first.iter().map(|(_, k)| *k).collect::<Vec<_>>(),
        "new recipients must get the proposed keys, in order"
    );

    // A re-run proposes new keys and gets the stored ones back, in its own order.
    let again = fresh(&["U3", "U1", "U2"]);
    let got = keys(run.clone(), again).await;
    assert_eq!(
        got,
        vec![first[2].1, first[0].1, first[1].1],
        "known recipients must get their stored keys, in the order asked"
    );

    // A mix of known and new recipients.
    let mixed = fresh(&["U4", "U2", "U5"]);
    let got = keys(run.clone(), mixed.clone()).await;
    assert_eq!(
        got,
        vec![mixed[0].1, first[1].1, mixed[2].1],
        "a mix must keep the known keys and store the new ones"
    );
    let got = keys(run.clone(), fresh(&["U5", "U4"])).await;
    assert_eq!(got, vec![mixed[2].1, mixed[0].1], "keys stored in a mix must be kept");

    // Recipients are case-sensitive; runs are independent.
    let got = keys(run.clone(), fresh(&["u1"])).await;
    assert_ne!(
        got[0], first[0].1,
        "recipients differing only in case are different recipients"
    );
    let other_run = format!("{p}-other");
    let other = fresh(&["U1"]);
    assert_eq!(
        keys(other_run.clone(), other.clone()).await,
        vec![other[0].1],
        "another run must not see this run's keys"
    );

    // Concurrent callers of one run agree on every key.
    let race = format!("{p}-race");
    let (a, b) = futures::join!(
        keys(race.clone(), fresh(&["R1", "R2", "R3"])),
        keys(race.clone(), fresh(&["R3", "R2", "R1"]))
    );
    assert_eq!(
        a,
        b.into_iter().rev().collect::<Vec<_>>(),
        "concurrent calls must agree"
    );

    // Many recipients in one call (a large push run).
    let many_run = format!("{p}-many");
    let many: Vec<(String, RetryKey)> = (0..2_000).map(|i| (format!("U{i:032x}"), RetryKey::new())).collect();
    let stored = keys(many_run.clone(), many.clone()).await;
    assert_eq!(stored, many.iter().map(|(_, k)| *k).collect::<Vec<_>>());
    let reread = keys(
        many_run.clone(),
        many.iter().map(|(r, _)| (r.clone(), RetryKey::new())).collect(),
    )
    .await;
    assert_eq!(reread, stored, "every key of a large run must be kept");

    // Forgetting a run starts it over and leaves other runs alone.
    store
        .forget_run(&run)
        .await
        .unwrap_or_else(|e| panic!("forget_run({run:?}) failed: {e}"));
    let restart = fresh(&["U1"]);
    assert_eq!(
        keys(run.clone(), restart.clone()).await,
        vec![restart[0].1],
        "a forgotten run must take new keys"
    );
    assert_eq!(
        keys(other_run.clone(), fresh(&["U1"])).await,
        vec![other[0].1],
        "forgetting a run must not forget another"
    );
    store
        .forget_run(&format!("{p}-never"))
        .await
        .unwrap_or_else(|e| panic!("forgetting an unknown run failed: {e}"));
    for r in [run, other_run, race, many_run] {
        store
            .forget_run(&r)
            .await
            .unwrap_or_else(|e| panic!("forget_run({r:?}) failed: {e}"));
    }
}
