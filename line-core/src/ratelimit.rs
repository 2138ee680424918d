//! Client-side rate limiting with LINE's per-endpoint limits.
//!
//! LINE limits each channel per endpoint (see [`RateClass::line_quota`] for the
//! table) and its responses carry no rate-limit headers, so the only way to
//! avoid 429s is to pace requests on our side. A [`RateLimiter`] keeps one
//! [`SlidingWindow`] per endpoint, created on first use with its class's quota.
//! Use one limiter per channel; clones share the windows.
//!
//! A sliding window grants at most `count` requests in *any* span of `per`:
//! a burst of `count` passes at once, and the next request waits until the
//! oldest of the last `count` grants is `per` old. A token bucket, which
//! starts full and refills continuously, can let nearly `2 × count` through
//! in one window right after a burst, and a server that counts per window
//! would answer those with 429s; so the limiter uses the window.
//!
//! The windows live in the process by default. Several processes sending for
//! one channel share a budget through a [`RateBudget`] backend
//! ([`RateLimiter::with_budget`]); [`redis::RedisBudget`] (feature `redis`)
//! keeps the windows on Redis.

#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub mod redis;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A rate: at most `count` requests per `per`, refilled continuously.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Quota {
    /// Requests allowed per window; also the largest burst. `0` is taken as `1`.
    pub count: u32,
    /// The window. [`Duration::ZERO`] means no limit.
    pub per: Duration,
}

impl Quota {
    /// `count` requests per `per`.
    pub const fn new(count: u32, per: Duration) -> Self {
        Self { count, per }
    }

    /// `count` requests per second.
    pub const fn per_second(count: u32) -> Self {
        Self::new(count, Duration::from_secs(1))
    }

    /// `count` requests per minute.
    pub const fn per_minute(count: u32) -> Self {
        Self::new(count, Duration::from_secs(60))
    }

    /// `count` requests per hour.
    pub const fn per_hour(count: u32) -> Self {
        Self::new(count, Duration::from_secs(3_600))
    }

    /// The same count over a window scaled by `scale` (finite and positive).
    fn scaled(self, scale: f64) -> Self {
        if scale == 1.0 {
            return self;
        }
        // `as` saturates, so a huge scale gives the longest window instead of panicking.
        let nanos = (self.per.as_nanos() as f64 * scale).round() as u128;
        Self::new(self.count, duration_from_nanos(nanos))
    }
}

/// A `Duration` of `nanos` nanoseconds, saturating at [`Duration::MAX`].
fn duration_from_nanos(nanos: u128) -> Duration {
    const NANOS_PER_SEC: u128 = 1_000_000_000;
    match u64::try_from(nanos / NANOS_PER_SEC) {
        Ok(secs) => Duration::new(secs, (nanos % NANOS_PER_SEC) as u32),
        Err(_) => Duration::MAX,
    }
}

/// Which of LINE's rate limits an endpoint falls under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RateClass {
    /// 2,000/s: push, reply, profile, account link and most other endpoints.
    Default,
    /// 200/s: multicast.
    Multicast,
    /// 200/s: coupon endpoints.
    Coupon,
    /// 60/hour: narrowcast.
    Narrowcast,
    /// 60/hour: broadcast.
    Broadcast,
    /// 60/hour: insight endpoints.
    Insight,
    /// 60/minute: audience endpoints.
    Audience,
    /// 100/hour: creating and deleting a rich menu.
    RichMenuCreateDelete,
    /// 3/hour: the rich-menu batch operation.
    RichMenuBatch,
    /// 10/s: listing rich menus.
    RichMenuList,
    /// 100/s: the loading animation.
    LoadingAnimation,
    /// Not limited on our side.
    Unlimited,
}

impl RateClass {
    /// Every class, in declaration order.
    pub const ALL: &'static [RateClass] = &[
        Self::Default,
        Self::Multicast,
        Self::Coupon,
        Self::Narrowcast,
        Self::Broadcast,
        Self::Insight,
        Self::Audience,
        Self::RichMenuCreateDelete,
        Self::RichMenuBatch,
        Self::RichMenuList,
        Self::LoadingAnimation,
        Self::Unlimited,
    ];

    /// LINE's documented limit for one endpoint of this class, per channel;
    /// `None` for [`RateClass::Unlimited`].
    pub const fn line_quota(self) -> Option<Quota> {
        Some(match self {
            Self::Default => Quota::per_second(2_000),
            Self::Multicast | Self::Coupon => Quota::per_second(200),
            Self::Narrowcast | Self::Broadcast | Self::Insight => Quota::per_hour(60),
            Self::Audience => Quota::per_minute(60),
            Self::RichMenuCreateDelete => Quota::per_hour(100),
            Self::RichMenuBatch => Quota::per_hour(3),
            Self::RichMenuList => Quota::per_second(10),
            Self::LoadingAnimation => Quota::per_second(100),
            Self::Unlimited => return None,
        })
    }
}

/// One sliding window per endpoint, shared by every clone.
///
/// Keyed by the endpoint's [`RateClass`] and its operationId, because LINE counts
/// each endpoint separately. Cheap to clone (an `Arc` inside), `Send` and `Sync`.
/// The lock is held only to update one bucket (a hash lookup and a few integer
/// operations), never across a sleep.
///
/// ```
/// use std::time::{Duration, Instant};
/// use line_core::ratelimit::{RateClass, RateLimiter};
///
/// let limiter = RateLimiter::line_defaults();
/// let now = Instant::now();
/// // Rich-menu list: 10/s. Ten pass at once; the next ten wait for the
/// // window, plus 1% slack.
/// for _ in 0..10 {
///     assert_eq!(limiter.reserve(RateClass::RichMenuList, "getRichMenuList", now), Duration::ZERO);
/// }
/// assert_eq!(limiter.reserve(RateClass::RichMenuList, "getRichMenuList", now), Duration::from_millis(1_010));
/// ```
#[derive(Clone)]
pub struct RateLimiter {
    inner: Arc<Inner>,
}

#[derive(Debug, Clone)]
struct Config {
    enabled: bool,
    time_scale: f64,
    overrides: HashMap<RateClass, Quota>,
    budget: Option<Arc<dyn RateBudget>>,
}

/// Where a [`RateLimiter`]'s windows live, when not in the process.
///
/// [`RateLimiter::acquire`] asks the budget for a slot of endpoint `key` of
/// `class` under `quota` (the limiter's quota for the class, overrides and time
/// scale applied) and sleeps for the wait it returns. Every process that sends
/// for one channel must use a budget on the same shared store, with the same
/// quotas. A budget grants like [`SlidingWindow::reserve`]: the slot is taken even
/// when the wait is positive, so callers queue.
///
/// A budget handles its own failures (for example by falling back to a local
/// limit); the limiter does not retry it.
#[async_trait::async_trait]
pub trait RateBudget: Send + Sync + fmt::Debug {
    /// Takes a slot for endpoint `key` of `class` under `quota`, and returns how
    /// long from now the caller must wait before sending.
    async fn reserve(&self, class: RateClass, key: &'static str, quota: Quota) -> Duration;
}

struct Inner {
    config: Config,
    buckets: Mutex<HashMap<(RateClass, &'static str), Paced>>,
}

/// At most `count` grants in any span of `per`.
///
/// Keeps the instants of the last `count` grants; a new grant is due when the
/// oldest of them is `per` old (and never before the latest grant). So any
/// `count + 1` consecutive grants span at least `per`.
///
/// ```
/// use std::time::{Duration, Instant};
/// use line_core::ratelimit::{Quota, SlidingWindow};
///
/// let t0 = Instant::now();
/// let mut w = SlidingWindow::new(Quota::per_second(2));
/// assert_eq!(w.reserve(t0), Duration::ZERO);
/// assert_eq!(w.reserve(t0), Duration::ZERO);
/// assert_eq!(w.reserve(t0), Duration::from_secs(1));
/// assert_eq!(w.reserve(t0 + Duration::from_millis(400)), Duration::from_millis(600));
/// ```
#[derive(Debug, Clone)]
pub struct SlidingWindow {
    quota: Quota,
    /// Added to the window: requests that left on time can still arrive at
    /// the server unevenly, so the limiter keeps a little slack.
    margin: Duration,
    grants: std::collections::VecDeque<Instant>,
}

impl SlidingWindow {
    /// An empty window for `quota`.
    pub fn new(quota: Quota) -> Self {
        Self::with_margin(quota, Duration::ZERO)
    }

    /// An empty window for `quota` that waits `margin` longer than the
    /// window before reusing a slot.
    pub fn with_margin(quota: Quota, margin: Duration) -> Self {
        let cap = quota.count.max(1) as usize;
        Self {
            quota,
            margin,
            grants: std::collections::VecDeque::with_capacity(cap.min(4096)),
        }
    }

    /// The quota this window enforces.
    pub fn quota(&self) -> Quota {
        self.quota
    }

    /// Grants one request and returns how long from `now` the caller must wait
    /// before sending it (zero if it may go at once). Grants queue in order.
    pub fn reserve(&mut self, now: Instant) -> Duration {
        match self.next_due(now) {
            Some(at) => {
                self.record(at);
                at.saturating_duration_since(now)
            }
            // A window too long for the clock to express: never.
            None => Duration::MAX,
        }
    }

    /// Grants one request if `now` is due (fewer than `count` grants in the
    /// last `per` plus margin); otherwise grants nothing and returns how long
    /// from `now` until one would be due. This is how a server that enforces the
    /// quota answers: it admits or rejects, it does not queue.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use line_core::ratelimit::{Quota, SlidingWindow};
    ///
    /// let t0 = Instant::now();
    /// let mut w = SlidingWindow::new(Quota::per_second(2));
    /// assert_eq!(w.try_take(t0), Ok(()));
    /// assert_eq!(w.try_take(t0 + Duration::from_millis(300)), Ok(()));
    /// assert_eq!(w.try_take(t0 + Duration::from_millis(600)), Err(Duration::from_millis(400)));
    /// // A rejection takes no slot: the first grant's slot frees at t0 + 1 s.
    /// assert_eq!(w.try_take(t0 + Duration::from_secs(1)), Ok(()));
    /// assert!(w.try_take(t0 + Duration::from_millis(1200)).is_err());
    /// ```
    pub fn try_take(&mut self, now: Instant) -> Result<(), Duration> {
        match self.next_due(now) {
            Some(at) if at <= now => {
                self.record(now);
                Ok(())
            }
            Some(at) => Err(at - now),
            None => Err(Duration::MAX),
        }
    }

    /// When the next grant is due, without taking it; `None` when that is
    /// beyond what an `Instant` can express.
    fn next_due(&self, now: Instant) -> Option<Instant> {
        if self.quota.per.is_zero() {
            return Some(now);
        }
        let count = self.quota.count.max(1) as usize;
        let mut at = now;
        if let Some(&last) = self.grants.back() {
            at = at.max(last);
        }
        if self.grants.len() >= count {
            let oldest = self.grants[self.grants.len() - count];
            at = at.max(oldest.checked_add(self.quota.per.saturating_add(self.margin))?);
        }
        Some(at)
    }

    fn record(&mut self, at: Instant) {
        if self.quota.per.is_zero() {
            return;
        }
        let count = self.quota.count.max(1) as usize;
        while self.grants.len() >= count {
            self.grants.pop_front();
        }
        self.grants.push_back(at);
    }
}

/// The limiter's per-endpoint state: LINE's window, and for large quotas a
/// tenth of it.
///
/// A burst of a large quota (200 or 2,000 requests) at once is allowed by the
/// window alone, but it takes time to transmit, so it reaches the server
/// spread out and overlaps the next window's burst there; LINE would answer
/// the overlap with 429s. For quotas over 100 a finer window (a tenth of the
/// quota per tenth of the window) keeps bursts short, so what the server sees
/// stays within the quota. Small quotas (hourly classes, rich-menu list) keep
/// their whole burst.
#[derive(Debug, Clone)]
struct Paced {
    window: SlidingWindow,
    fine: Option<SlidingWindow>,
}

impl Paced {
    fn new(quota: Quota) -> Self {
        // 1% slack on each window absorbs uneven network delays between the
        // client's send times and the server's arrival times.
        let fine = (quota.count > 100).then(|| {
            let fine = Quota::new(quota.count / 10, quota.per / 10);
            SlidingWindow::with_margin(fine, fine.per / 100)
        });
        Self {
            window: SlidingWindow::with_margin(quota, quota.per / 100),
            fine,
        }
    }

    fn reserve(&mut self, now: Instant) -> Duration {
        let Some(mut at) = self.window.next_due(now) else {
            return Duration::MAX;
        };
        if let Some(fine) = &self.fine {
            let Some(due) = fine.next_due(now) else {
                return Duration::MAX;
            };
            at = at.max(due);
        }
        self.window.record(at);
        if let Some(fine) = &mut self.fine {
            fine.record(at);
        }
        at.saturating_duration_since(now)
    }
}

impl Default for RateLimiter {
    /// The same as [`RateLimiter::line_defaults`].
    fn default() -> Self {
        Self::line_defaults()
    }
}

impl RateLimiter {
    fn from_config(config: Config) -> Self {
        Self {
            inner: Arc::new(Inner {
                config,
                buckets: Mutex::new(HashMap::new()),
            }),
        }
    }

    fn reconfigure(self, change: impl FnOnce(&mut Config)) -> Self {
        let mut config = self.inner.config.clone();
        change(&mut config);
        Self::from_config(config)
    }

    /// A limiter with LINE's table ([`RateClass::line_quota`]).
    pub fn line_defaults() -> Self {
        Self::from_config(Config {
            enabled: true,
            time_scale: 1.0,
            overrides: HashMap::new(),
            budget: None,
        })
    }

    /// A limiter that never waits.
    pub fn disabled() -> Self {
        Self::from_config(Config {
            enabled: false,
            time_scale: 1.0,
            overrides: HashMap::new(),
            budget: None,
        })
    }

    /// Uses `quota` for every endpoint of `class` instead of LINE's value
    /// (for example a stricter limit shared with other processes, or a limit for
    /// [`RateClass::Unlimited`]).
    ///
    /// Like every `with_` method this returns a new limiter with empty buckets;
    /// configure it before cloning it or sharing it.
    pub fn with_quota(self, class: RateClass, quota: Quota) -> Self {
        self.reconfigure(|c| {
            c.overrides.insert(class, quota);
        })
    }

    /// Multiplies every window by `scale`: `0.001` makes an hour pass in 3.6 s,
    /// for tests, emulators and demos. Applies to overrides too.
    ///
    /// # Panics
    ///
    /// If `scale` is not finite and positive.
    pub fn with_time_scale(self, scale: f64) -> Self {
        assert!(
            scale.is_finite() && scale > 0.0,
            "rate limiter time scale must be finite and positive, got {scale}"
        );
        self.reconfigure(|c| c.time_scale = scale)
    }

    /// Keeps the windows in `budget` instead of this process, so that several
    /// processes sending for one channel stay within LINE's limits together.
    /// Only [`acquire`](Self::acquire) (what the client calls) uses the budget;
    /// [`reserve`](Self::reserve) stays in-process. Quotas, overrides and the time
    /// scale still come from this limiter.
    pub fn with_budget(self, budget: Arc<dyn RateBudget>) -> Self {
        self.reconfigure(|c| c.budget = Some(budget))
    }

    /// Whether this limiter ever waits.
    pub fn is_enabled(&self) -> bool {
        self.inner.config.enabled
    }

    /// The quota an endpoint of `class` gets, with overrides and time scale
    /// applied; `None` if it is not limited.
    pub fn quota(&self, class: RateClass) -> Option<Quota> {
        let config = &self.inner.config;
        if !config.enabled {
            return None;
        }
        config
            .overrides
            .get(&class)
            .copied()
            .or(class.line_quota())
            .map(|q| q.scaled(config.time_scale))
    }

    /// Takes a token for endpoint `key` (its operationId) of `class` as of `now`,
    /// and returns how long from `now` the caller must wait before sending.
    ///
    /// The token is consumed even when the wait is positive, so concurrent callers
    /// queue in the order they reserved and the sustained rate never exceeds the
    /// quota. A caller that gives up after reserving has still used its slot.
    pub fn reserve(&self, class: RateClass, key: &'static str, now: Instant) -> Duration {
        if !self.inner.config.enabled {
            return Duration::ZERO;
        }
        let mut buckets = self.inner.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(bucket) = buckets.get_mut(&(class, key)) {
            return bucket.reserve(now);
        }
        let Some(quota) = self.quota(class) else {
            return Duration::ZERO;
        };
        let mut bucket = Paced::new(quota);
        let wait = bucket.reserve(now);
        buckets.insert((class, key), bucket);
        wait
    }

    /// Reserves a token (see [`reserve`](Self::reserve)) and sleeps until it may be
    /// used. Returns how long it slept.
    ///
    /// Reads the time from `tokio::time::Instant`, so a paused tokio clock also
    /// drives the limiter.
    #[cfg(feature = "client")]
    #[cfg_attr(docsrs, doc(cfg(feature = "client")))]
    pub async fn acquire(&self, class: RateClass, key: &'static str) -> Duration {
        let wait = match &self.inner.config.budget {
            Some(budget) => match self.quota(class) {
                Some(quota) if !quota.per.is_zero() => budget.reserve(class, key, quota).await,
                _ => Duration::ZERO,
            },
            None => self.reserve(class, key, tokio::time::Instant::now().into_std()),
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        wait
    }
}

impl fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let config = &self.inner.config;
        let buckets = self
            .inner
            .buckets
            .lock()
            .map(|b| b.len())
            .unwrap_or_else(|e| e.into_inner().len());
        f.debug_struct("RateLimiter")
            .field("enabled", &config.enabled)
            .field("time_scale", &config.time_scale)
            .field("overrides", &config.overrides)
            .field("buckets", &buckets)
            .field("budget", &config.budget)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn quota_constructors() {
        assert_eq!(
            Quota::per_second(5),
            Quota {
                count: 5,
                per: ms(1_000)
            }
        );
        assert_eq!(Quota::per_minute(5).per, Duration::from_secs(60));
        assert_eq!(Quota::per_hour(5).per, Duration::from_secs(3_600));
        assert_eq!(Quota::new(7, ms(3)), Quota { count: 7, per: ms(3) });
    }

    #[test]
    fn lines_table() {
        use RateClass::*;
        let expected = [
            (Default, Some(Quota::per_second(2_000))),
            (Multicast, Some(Quota::per_second(200))),
            (Coupon, Some(Quota::per_second(200))),
            (Narrowcast, Some(Quota::per_hour(60))),
            (Broadcast, Some(Quota::per_hour(60))),
            (Insight, Some(Quota::per_hour(60))),
            (Audience, Some(Quota::per_minute(60))),
            (RichMenuCreateDelete, Some(Quota::per_hour(100))),
            (RichMenuBatch, Some(Quota::per_hour(3))),
            (RichMenuList, Some(Quota::per_second(10))),
            (LoadingAnimation, Some(Quota::per_second(100))),
            (Unlimited, None),
        ];
        assert_eq!(RateClass::ALL.len(), expected.len());
        for (class, quota) in expected {
            assert_eq!(class.line_quota(), quota, "{class:?}");
            assert!(RateClass::ALL.contains(&class));
        }
    }

    #[test]
    fn burst_then_steady_rate() {
        // 10/s: ten at once, then each further ten a full window later, so no
        // span of one second ever holds more than ten grants.
        let limiter = RateLimiter::line_defaults();
        let t0 = Instant::now();
        let sends: Vec<Duration> = (0..30)
            .map(|_| limiter.reserve(RateClass::RichMenuList, "getRichMenuList", t0))
            .collect();
        for (i, send) in sends.iter().enumerate() {
            assert_eq!(*send, ms(1_010) * (i as u32 / 10), "send {i}");
        }
        for i in 10..sends.len() {
            assert!(
                sends[i] - sends[i - 10] >= Duration::from_secs(1),
                "grants {} and {i} closer than the window",
                i - 10
            );
        }
    }

    #[test]
    fn large_quotas_are_paced_in_tenths() {
        // Multicast, 200/s: 20 at once, then 20 per 101 ms; never more than 200 in any 1.01 s.
        let limiter = RateLimiter::line_defaults();
        let t0 = Instant::now();
        let waits: Vec<Duration> = (0..400)
            .map(|_| limiter.reserve(RateClass::Multicast, "multicast", t0))
            .collect();
        for (i, w) in waits.iter().enumerate() {
            assert_eq!(*w, ms(101) * (i as u32 / 20), "grant {i}");
        }
        for i in 200..waits.len() {
            assert!(
                waits[i] - waits[i - 200] >= ms(1_010),
                "201 grants within the window at {i}"
            );
        }
    }

    #[test]
    fn sliding_window_never_exceeds_the_quota_in_any_span() {
        // Arrivals at irregular instants; every 5 consecutive grants must span >= 100 ms.
        let mut w = SlidingWindow::new(Quota::new(4, ms(100)));
        let t0 = Instant::now();
        let mut grants = Vec::new();
        for i in 0..200u64 {
            let now = t0 + ms((i * 37) % 11 + i * 7);
            grants.push(now + w.reserve(now));
        }
        for i in 4..grants.len() {
            assert!(grants[i] >= grants[i - 1], "grants are in order");
            assert!(grants[i] - grants[i - 4] >= ms(100), "5 grants within 100 ms at {i}");
        }
    }

    #[test]
    fn each_endpoint_has_its_own_bucket() {
        let limiter = RateLimiter::line_defaults();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(
                limiter.reserve(RateClass::RichMenuBatch, "richMenuBatch", t0),
                Duration::ZERO
            );
        }
        assert_eq!(
            limiter.reserve(RateClass::RichMenuBatch, "richMenuBatch", t0),
            Duration::from_secs(3_636)
        );
        // Another endpoint of the same class is not affected.
        assert_eq!(
            limiter.reserve(RateClass::RichMenuBatch, "otherBatch", t0),
            Duration::ZERO
        );
        // Nor the same key under another class.
        assert_eq!(
            limiter.reserve(RateClass::Narrowcast, "richMenuBatch", t0),
            Duration::ZERO
        );
    }

    #[test]
    fn clones_share_buckets() {
        let a = RateLimiter::line_defaults();
        let b = a.clone();
        let t0 = Instant::now();
        for _ in 0..3 {
            a.reserve(RateClass::RichMenuBatch, "richMenuBatch", t0);
        }
        assert_eq!(
            b.reserve(RateClass::RichMenuBatch, "richMenuBatch", t0),
            Duration::from_secs(3_636)
        );
    }

    #[test]
    fn concurrent_reservations_queue_by_window() {
        // 100/s: 8 threads reserve 50 each at the same instant; the 400 waits
        // must be exactly 100 zeros, then 100 each one window (plus 1% slack) later.
        let limiter = RateLimiter::line_defaults();
        let t0 = Instant::now();
        let mut waits: Vec<Duration> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    let limiter = limiter.clone();
                    s.spawn(move || {
                        (0..50)
                            .map(|_| limiter.reserve(RateClass::LoadingAnimation, "showLoadingAnimation", t0))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
        });
        waits.sort();
        let expected: Vec<Duration> = (0..400u32).map(|i| ms(1_010) * (i / 100)).collect();
        assert_eq!(waits, expected);
    }

    #[test]
    fn time_scale_shrinks_windows() {
        // 60/hour at 0.001: 60 per 3.6 s.
        let limiter = RateLimiter::line_defaults().with_time_scale(0.001);
        assert_eq!(limiter.quota(RateClass::Broadcast), Some(Quota::new(60, ms(3_600))));
        let t0 = Instant::now();
        for _ in 0..60 {
            assert_eq!(limiter.reserve(RateClass::Broadcast, "broadcast", t0), Duration::ZERO);
        }
        assert_eq!(limiter.reserve(RateClass::Broadcast, "broadcast", t0), ms(3_636));
        assert_eq!(limiter.reserve(RateClass::Broadcast, "broadcast", t0), ms(3_636));
        // 3/hour batch: 3 per 3.6 s.
        assert_eq!(limiter.quota(RateClass::RichMenuBatch), Some(Quota::new(3, ms(3_600))));
        // A slower clock works too.
        let slow = RateLimiter::line_defaults().with_time_scale(2.0);
        assert_eq!(slow.quota(RateClass::RichMenuList), Some(Quota::new(10, ms(2_000))));
    }

    #[test]
    #[should_panic(expected = "finite and positive")]
    fn time_scale_must_be_positive() {
        let _ = RateLimiter::line_defaults().with_time_scale(0.0);
    }

    #[test]
    fn disabled_never_waits() {
        let limiter = RateLimiter::disabled();
        assert!(!limiter.is_enabled());
        let t0 = Instant::now();
        for class in RateClass::ALL {
            assert_eq!(limiter.quota(*class), None);
            for _ in 0..1_000 {
                assert_eq!(limiter.reserve(*class, "op", t0), Duration::ZERO);
            }
        }
        // Overrides do not turn it on.
        let limiter = limiter.with_quota(RateClass::Default, Quota::per_hour(1));
        assert_eq!(limiter.reserve(RateClass::Default, "op", t0), Duration::ZERO);
        assert_eq!(limiter.reserve(RateClass::Default, "op", t0), Duration::ZERO);
        assert!(format!("{limiter:?}").contains("buckets: 0"), "{limiter:?}");
    }

    #[test]
    fn unlimited_class_never_waits_and_keeps_no_bucket() {
        let limiter = RateLimiter::line_defaults();
        let t0 = Instant::now();
        for _ in 0..10_000 {
            assert_eq!(limiter.reserve(RateClass::Unlimited, "op", t0), Duration::ZERO);
        }
        assert!(format!("{limiter:?}").contains("buckets: 0"), "{limiter:?}");
        limiter.reserve(RateClass::Default, "pushMessage", t0);
        assert!(format!("{limiter:?}").contains("buckets: 1"), "{limiter:?}");
    }

    #[test]
    fn overrides_replace_lines_value() {
        let limiter = RateLimiter::line_defaults()
            .with_quota(RateClass::Default, Quota::per_second(2))
            .with_quota(RateClass::Unlimited, Quota::per_minute(1))
            .with_time_scale(0.5);
        assert_eq!(limiter.quota(RateClass::Default), Some(Quota::new(2, ms(500))));
        assert_eq!(limiter.quota(RateClass::Multicast), Some(Quota::new(200, ms(500))));
        let t0 = Instant::now();
        assert_eq!(limiter.reserve(RateClass::Default, "pushMessage", t0), Duration::ZERO);
        assert_eq!(limiter.reserve(RateClass::Default, "pushMessage", t0), Duration::ZERO);
        assert_eq!(limiter.reserve(RateClass::Default, "pushMessage", t0), ms(505));
        assert_eq!(limiter.reserve(RateClass::Unlimited, "x", t0), Duration::ZERO);
        assert_eq!(limiter.reserve(RateClass::Unlimited, "x", t0), ms(30_300));
    }

    #[test]
    fn limiter_is_send_sync_and_debug() {
        fn assert_send_sync<T: Send + Sync + Clone + fmt::Debug>() {}
        assert_send_sync::<RateLimiter>();
        let text = format!("{:?}", RateLimiter::default().with_time_scale(0.25));
        assert!(text.starts_with("RateLimiter {"), "{text}");
        assert!(
            text.contains("enabled: true") && text.contains("time_scale: 0.25"),
            "{text}"
        );
        assert!(RateLimiter::default().is_enabled());
    }

    #[cfg(feature = "client")]
    #[tokio::test]
    async fn acquire_asks_the_budget_with_the_scaled_quota() {
        #[derive(Debug, Default)]
        struct Recording(Mutex<Vec<(RateClass, &'static str, Quota)>>);
        #[async_trait::async_trait]
        impl RateBudget for Recording {
            async fn reserve(&self, class: RateClass, key: &'static str, quota: Quota) -> Duration {
                self.0.lock().unwrap().push((class, key, quota));
                ms(3)
            }
        }
        let budget = Arc::new(Recording::default());
        let limiter = RateLimiter::line_defaults()
            .with_quota(RateClass::Default, Quota::per_second(7))
            .with_time_scale(0.5)
            .with_budget(budget.clone());
        assert_eq!(limiter.acquire(RateClass::Default, "pushMessage").await, ms(3));
        assert_eq!(limiter.acquire(RateClass::Unlimited, "x").await, Duration::ZERO);
        assert_eq!(
            *budget.0.lock().unwrap(),
            [(RateClass::Default, "pushMessage", Quota::new(7, ms(500)))],
            "unlimited classes do not reach the budget"
        );
        // The in-process windows are not used.
        assert!(format!("{limiter:?}").contains("buckets: 0"), "{limiter:?}");
        // A disabled limiter does not ask the budget either.
        let off = RateLimiter::disabled().with_budget(budget.clone());
        assert_eq!(off.acquire(RateClass::Default, "pushMessage").await, Duration::ZERO);
        assert_eq!(budget.0.lock().unwrap().len(), 1);
    }

    #[cfg(feature = "client")]
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn acquire_sleeps_in_real_time() {
        // One token per millisecond and no burst beyond one: 21 acquisitions
        // spread over 20 tasks cannot all finish in less than 20 ms.
        let limiter = RateLimiter::line_defaults().with_quota(RateClass::Default, Quota::new(1, ms(1)));
        let start = Instant::now();
        assert_eq!(limiter.acquire(RateClass::Default, "pushMessage").await, Duration::ZERO);
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let limiter = limiter.clone();
                tokio::spawn(async move { limiter.acquire(RateClass::Default, "pushMessage").await })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        // The 21st token exists 20 ms after the first was taken, however the
        // tasks were scheduled, and no sleep ends before its token exists.
        let elapsed = start.elapsed();
        assert!(elapsed >= ms(20), "took only {elapsed:?}");
        // A loose upper bound: catches a unit mistake (seconds for milliseconds),
        // not scheduler jitter.
        assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
    }
}
