//! When to retry a failed request, and how long to wait first.
//!
//! The decision is a pure function ([`RetryPolicy::decide`]) of whether the
//! call may be repeated ([`Idempotency`]), the attempt number, what went wrong
//! ([`Outcome`]) and a jitter sample the caller draws, so every rule is
//! unit-tested without HTTP, clocks or randomness.
//!
//! Rules (LINE's guidance for the Messaging API):
//! - retry on 5xx, timeouts, connection errors and the rate-limit kinds of 429
//!   ([`TooManyRequests::RateLimit`], [`TooManyRequests::AudienceConcurrency`],
//!   [`TooManyRequests::Other`], and a 429 that was not classified);
//! - never retry the monthly-quota 429 ([`TooManyRequests::MonthlyQuota`]) or any
//!   other 4xx. A 409 on a send that carries an `X-Line-Retry-Key` means "accepted
//!   earlier"; the client treats it as a success before it asks the policy, so
//!   here it is just another 4xx;
//! - never repeat a call that is not idempotent ([`Idempotency::NotIdempotent`]:
//!   a POST without a retry key, such as `createRichMenu`) once the request may
//!   have reached LINE (a 5xx, a timeout, a connection lost after sending): the
//!   decision is [`Decision::OutcomeUnknown`]. Such a call is still retried when
//!   LINE certainly did not act on it: a connection that could not be made, or a
//!   rate-limit 429;
//! - give up once `attempt >= max_attempts`;
//! - wait `base_delay * 2^(attempt - 1)`, capped at `max_delay`, times a jitter
//!   factor in `[1 - jitter, 1 + jitter)`, capped again; and at least the
//!   server's `Retry-After` when one was given ([`parse_retry_after`] reads
//!   both of its forms). A `Retry-After` longer than
//!   [`max_retry_after`](RetryPolicy::max_retry_after) gives up instead of
//!   waiting that long: the error carries it, so the caller can come back later.

use std::time::Duration;

use crate::error::{Error, ErrorKind, TooManyRequests};

/// How many times to try a request, and how long to wait between tries.
///
/// ```
/// use std::time::Duration;
/// use line_core::retry::{Decision, Outcome, RetryPolicy};
///
/// use line_core::retry::Idempotency::{Idempotent, NotIdempotent};
///
/// let policy = RetryPolicy::default().with_max_attempts(3);
/// let failed = Outcome::Status { status: 503, too_many_requests: None, retry_after: None };
/// // A jitter sample of 0.5 means "no jitter": the plain backoff.
/// assert_eq!(policy.decide(Idempotent, 1, &failed, 0.5), Decision::Retry { after: Duration::from_millis(500) });
/// assert_eq!(policy.decide(Idempotent, 2, &failed, 0.5), Decision::Retry { after: Duration::from_secs(1) });
/// assert_eq!(policy.decide(Idempotent, 3, &failed, 0.5), Decision::GiveUp);
/// // A POST without a retry key (createRichMenu) is not repeated after a 503:
/// // LINE may have created the menu.
/// assert_eq!(policy.decide(NotIdempotent, 1, &failed, 0.5), Decision::OutcomeUnknown);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RetryPolicy {
    max_attempts: u32,
    base_delay: Duration,
    max_delay: Duration,
    jitter: f64,
    max_retry_after: Duration,
}

impl Default for RetryPolicy {
    /// Five attempts in all, 500 ms base delay, 30 s cap, ±20 % jitter, and a
    /// `Retry-After` of up to 5 minutes honoured.
    fn default() -> Self {
        Self {
            max_attempts: Self::DEFAULT_MAX_ATTEMPTS,
            base_delay: Self::DEFAULT_BASE_DELAY,
            max_delay: Self::DEFAULT_MAX_DELAY,
            jitter: Self::DEFAULT_JITTER,
            max_retry_after: Self::DEFAULT_MAX_RETRY_AFTER,
        }
    }
}

impl RetryPolicy {
    /// Attempts in all (the first one included) of [`RetryPolicy::default`].
    pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;
    /// Delay before the first retry of [`RetryPolicy::default`].
    pub const DEFAULT_BASE_DELAY: Duration = Duration::from_millis(500);
    /// Longest backoff of [`RetryPolicy::default`].
    pub const DEFAULT_MAX_DELAY: Duration = Duration::from_secs(30);
    /// Jitter fraction of [`RetryPolicy::default`]: delays vary by ±20 %.
    pub const DEFAULT_JITTER: f64 = 0.2;
    /// Longest `Retry-After` that [`RetryPolicy::default`] waits for.
    pub const DEFAULT_MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

    /// A policy that never retries: the first failure is final.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// Sets the number of attempts in all, the first one included. `0` is taken as `1`.
    pub fn with_max_attempts(mut self, max_attempts: u32) -> Self {
        self.max_attempts = max_attempts.max(1);
        self
    }

    /// Sets the delay before the first retry; each later retry doubles it.
    pub fn with_base_delay(mut self, base_delay: Duration) -> Self {
        self.base_delay = base_delay;
        self
    }

    /// Sets the longest backoff. A server's `Retry-After` may still ask for longer.
    pub fn with_max_delay(mut self, max_delay: Duration) -> Self {
        self.max_delay = max_delay;
        self
    }

    /// Sets the jitter fraction: each delay is multiplied by a factor in
    /// `[1 - jitter, 1 + jitter)`. Clamped to `0.0..=1.0`; NaN means no jitter.
    pub fn with_jitter(mut self, jitter: f64) -> Self {
        self.jitter = if jitter.is_nan() { 0.0 } else { jitter.clamp(0.0, 1.0) };
        self
    }

    /// Sets the longest `Retry-After` the client waits for. A server asking for
    /// longer makes the call give up at once (the error carries the server's
    /// `Retry-After`), rather than hold it for that long or come back sooner.
    pub fn with_max_retry_after(mut self, max: Duration) -> Self {
        self.max_retry_after = max;
        self
    }

    /// Longest `Retry-After` the client waits for.
    pub fn max_retry_after(&self) -> Duration {
        self.max_retry_after
    }

    /// Attempts in all, the first one included.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// Delay before the first retry.
    pub fn base_delay(&self) -> Duration {
        self.base_delay
    }

    /// Longest backoff.
    pub fn max_delay(&self) -> Duration {
        self.max_delay
    }

    /// Jitter fraction.
    pub fn jitter(&self) -> f64 {
        self.jitter
    }

    /// Decides what to do after attempt number `attempt` (1-based; `0` is taken
    /// as `1`) of a call of this `idempotency` failed with `outcome`.
    ///
    /// `jitter_sample` is a number in `[0, 1)` drawn by the caller (the client uses
    /// `rand`); `0.5` gives the plain backoff. Values outside `[0, 1]` are clamped
    /// and NaN counts as `0.5`, so no input panics.
    pub fn decide(&self, idempotency: Idempotency, attempt: u32, outcome: &Outcome, jitter_sample: f64) -> Decision {
        let attempt = attempt.max(1);
        if !outcome.is_retryable() {
            return Decision::GiveUp;
        }
        if idempotency == Idempotency::NotIdempotent && outcome.may_have_reached_line() {
            return Decision::OutcomeUnknown;
        }
        if attempt >= self.max_attempts {
            return Decision::GiveUp;
        }
        let mut after = self.backoff(attempt, jitter_sample);
        if let Outcome::Status {
            retry_after: Some(server),
            ..
        } = outcome
        {
            if *server > self.max_retry_after {
                return Decision::GiveUp;
            }
            after = after.max(*server);
        }
        Decision::Retry { after }
    }

    /// [`decide`](Self::decide) with a jitter sample drawn from the thread-local RNG.
    pub fn decide_random(&self, idempotency: Idempotency, attempt: u32, outcome: &Outcome) -> Decision {
        self.decide(idempotency, attempt, outcome, rand::random::<f64>())
    }

    /// The jittered, capped backoff after attempt `attempt` (>= 1), ignoring `Retry-After`.
    fn backoff(&self, attempt: u32, jitter_sample: f64) -> Duration {
        let max = self.max_delay.as_nanos();
        let exponent = attempt - 1;
        // 2^64 times any non-zero base exceeds every Duration, so larger
        // exponents only saturate; u128 holds base (< 2^94 ns) times 2^63 without
        // wrapping when multiplied with saturation.
        let plain = if exponent >= 64 {
            if self.base_delay.is_zero() {
                0
            } else {
                u128::MAX
            }
        } else {
            self.base_delay.as_nanos().saturating_mul(1u128 << exponent)
        };
        let capped = plain.min(max);

        let sample = if jitter_sample.is_nan() {
            0.5
        } else {
            jitter_sample.clamp(0.0, 1.0)
        };
        let factor = 1.0 - self.jitter + 2.0 * self.jitter * sample;
        let jittered = if factor == 1.0 {
            capped
        } else {
            // `as` saturates on overflow and maps negative values to 0.
            (capped as f64 * factor).round() as u128
        };
        duration_from_nanos(jittered.min(max))
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

/// Whether a call can be repeated without doing its work twice.
///
/// The client takes it from the spec, per operation: GET, PUT and DELETE are
/// idempotent by HTTP's rules, and so is a call that carries an
/// `X-Line-Retry-Key` (LINE answers 409 to a repeat); any other POST or PATCH
/// (`createRichMenu`, `createAudienceGroup`, `createCoupon`, `issueLinkToken`,
/// `replyMessage`…) is not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Idempotency {
    /// Repeating it cannot do its work twice: it may be retried whenever the
    /// outcome is retryable.
    Idempotent,
    /// Repeating it could do its work twice: it is retried only when LINE
    /// certainly did not act on it.
    NotIdempotent,
}

/// How one attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// LINE answered with an error status.
    Status {
        /// HTTP status.
        status: u16,
        /// For a 429: which limit was hit (`None` if it was not classified, which
        /// counts as a rate limit). Ignored for other statuses.
        too_many_requests: Option<TooManyRequests>,
        /// The server's `Retry-After`, if it sent one: the policy waits at least that.
        retry_after: Option<Duration>,
    },
    /// No answer came in time; the request may have reached LINE.
    Timeout,
    /// The connection could not be made: the request never left.
    Connection,
    /// The connection broke after the request was sent (or while it was being
    /// sent), before an answer arrived: it may have reached LINE.
    ConnectionLost,
}

impl Outcome {
    /// A status outcome with no 429 kind and no `Retry-After`.
    pub fn status(status: u16) -> Self {
        Self::Status {
            status,
            too_many_requests: None,
            retry_after: None,
        }
    }

    /// The outcome an error stands for, or `None` for errors that no retry can fix
    /// (invalid input, decoding, configuration, an unknown outcome and the like).
    ///
    /// An error does not say whether a failed connection was ever made, so
    /// [`ErrorKind::Connection`] maps to [`Outcome::ConnectionLost`], the
    /// cautious reading.
    pub fn from_error(error: &Error) -> Option<Self> {
        match error.kind() {
            ErrorKind::Api(api) => Some(Self::Status {
                status: api.status,
                too_many_requests: api.too_many_requests,
                retry_after: api.retry_after,
            }),
            ErrorKind::Timeout { .. } => Some(Self::Timeout),
            ErrorKind::Connection { .. } => Some(Self::ConnectionLost),
            _ => None,
        }
    }

    /// Whether another attempt could succeed, regardless of how many were made.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Timeout | Self::Connection | Self::ConnectionLost => true,
            Self::Status {
                status: 429,
                too_many_requests,
                ..
            } => !matches!(too_many_requests, Some(TooManyRequests::MonthlyQuota)),
            Self::Status { status, .. } => (500..=599).contains(status),
        }
    }

    /// Whether LINE may have acted on the request: a 5xx, a timeout or a
    /// connection lost after sending. A refused connection and a 429 (LINE
    /// turned the request away) leave nothing done; so does any other 4xx.
    pub fn may_have_reached_line(&self) -> bool {
        match self {
            Self::Timeout | Self::ConnectionLost => true,
            Self::Connection => false,
            Self::Status { status, .. } => (500..=599).contains(status),
        }
    }
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Try again after waiting this long (with the same retry key).
    Retry {
        /// How long to wait before the next attempt.
        after: Duration,
    },
    /// Stop and report the failure.
    GiveUp,
    /// Stop without repeating, and report the outcome as unknown: the call is
    /// not idempotent and the request may have reached LINE, so a repeat could
    /// do its work twice.
    OutcomeUnknown,
}

/// Reads a `Retry-After` header value: delay-seconds (`"120"`) or an HTTP-date
/// (`"Wed, 21 Oct 2015 07:28:00 GMT"`), the latter as the time left from `now`
/// (zero if it is past). `None` for a value that is neither.
///
/// ```
/// use std::time::Duration;
/// use line_core::retry::parse_retry_after;
///
/// let now: jiff::Timestamp = "2015-10-21T07:27:30Z".parse().unwrap();
/// assert_eq!(parse_retry_after("120", now), Some(Duration::from_secs(120)));
/// assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now), Some(Duration::from_secs(30)));
/// assert_eq!(parse_retry_after("soon", now), None);
/// ```
pub fn parse_retry_after(value: &str, now: jiff::Timestamp) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Beyond u64 seconds, the wait is "forever": saturate.
        return Some(value.parse::<u64>().map_or(Duration::MAX, Duration::from_secs));
    }
    let at = jiff::fmt::rfc2822::DateTimeParser::new().parse_timestamp(value).ok()?;
    let left = at.duration_since(now);
    Some(if left.is_negative() {
        Duration::ZERO
    } else {
        left.unsigned_abs()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ApiError;
    use Idempotency::{Idempotent, NotIdempotent};

    const ALL_429_KINDS: [Option<TooManyRequests>; 5] = [
        None,
        Some(TooManyRequests::RateLimit),
        Some(TooManyRequests::MonthlyQuota),
        Some(TooManyRequests::AudienceConcurrency),
        Some(TooManyRequests::Other),
    ];

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn too_many(kind: TooManyRequests) -> Outcome {
        Outcome::Status {
            status: 429,
            too_many_requests: Some(kind),
            retry_after: None,
        }
    }

    fn no_jitter() -> RetryPolicy {
        RetryPolicy::default().with_jitter(0.0)
    }

    fn retry_after_ms(d: Decision) -> u128 {
        match d {
            Decision::Retry { after } => after.as_millis(),
            other => panic!("expected a retry, got {other:?}"),
        }
    }

    #[test]
    fn defaults() {
        let p = RetryPolicy::default();
        assert_eq!(p.max_attempts(), 5);
        assert_eq!(p.base_delay(), ms(500));
        assert_eq!(p.max_delay(), Duration::from_secs(30));
        assert_eq!(p.jitter(), 0.2);
    }

    #[test]
    fn builder_sets_and_clamps() {
        let p = RetryPolicy::default()
            .with_max_attempts(7)
            .with_base_delay(ms(100))
            .with_max_delay(ms(900))
            .with_jitter(0.1);
        assert_eq!(
            (p.max_attempts(), p.base_delay(), p.max_delay(), p.jitter()),
            (7, ms(100), ms(900), 0.1)
        );
        assert_eq!(RetryPolicy::default().with_max_attempts(0).max_attempts(), 1);
        assert_eq!(RetryPolicy::default().with_jitter(3.0).jitter(), 1.0);
        assert_eq!(RetryPolicy::default().with_jitter(-1.0).jitter(), 0.0);
        assert_eq!(RetryPolicy::default().with_jitter(f64::NAN).jitter(), 0.0);
        assert_ne!(RetryPolicy::default(), RetryPolicy::none());
        assert_eq!(RetryPolicy::default().clone(), RetryPolicy::default());
    }

    #[test]
    fn none_never_retries() {
        let p = RetryPolicy::none();
        assert_eq!(p.max_attempts(), 1);
        for outcome in [Outcome::Timeout, Outcome::Connection, Outcome::status(503)] {
            assert_eq!(p.decide(Idempotent, 1, &outcome, 0.5), Decision::GiveUp);
        }
    }

    #[test]
    fn retries_5xx() {
        for status in [500, 502, 503, 504, 599] {
            assert_eq!(
                no_jitter().decide(Idempotent, 1, &Outcome::status(status), 0.0),
                Decision::Retry { after: ms(500) },
                "{status}"
            );
        }
    }

    #[test]
    fn retries_timeouts_and_connection_errors() {
        assert_eq!(
            no_jitter().decide(Idempotent, 1, &Outcome::Timeout, 0.9),
            Decision::Retry { after: ms(500) }
        );
        assert_eq!(
            no_jitter().decide(Idempotent, 2, &Outcome::Connection, 0.1),
            Decision::Retry { after: ms(1000) }
        );
    }

    #[test]
    fn retries_rate_limit_429s() {
        for kind in [
            TooManyRequests::RateLimit,
            TooManyRequests::AudienceConcurrency,
            TooManyRequests::Other,
        ] {
            assert_eq!(
                no_jitter().decide(Idempotent, 1, &too_many(kind), 0.5),
                Decision::Retry { after: ms(500) },
                "{kind:?}"
            );
        }
        // An unclassified 429 counts as a rate limit.
        assert!(matches!(
            no_jitter().decide(Idempotent, 1, &Outcome::status(429), 0.5),
            Decision::Retry { .. }
        ));
    }

    #[test]
    fn never_retries_the_monthly_quota() {
        let quota = too_many(TooManyRequests::MonthlyQuota);
        for attempt in 0..10 {
            assert_eq!(
                RetryPolicy::default().decide(Idempotent, attempt, &quota, 0.5),
                Decision::GiveUp
            );
        }
        // Not even when the server asks to come back later.
        let with_after = Outcome::Status {
            status: 429,
            too_many_requests: Some(TooManyRequests::MonthlyQuota),
            retry_after: Some(ms(10)),
        };
        assert_eq!(
            RetryPolicy::default().decide(Idempotent, 1, &with_after, 0.5),
            Decision::GiveUp
        );
    }

    #[test]
    fn never_retries_other_4xx() {
        for status in [400, 401, 403, 404, 405, 409, 410, 413, 415, 422, 499] {
            assert_eq!(
                RetryPolicy::default().decide(Idempotent, 1, &Outcome::status(status), 0.5),
                Decision::GiveUp,
                "{status}"
            );
        }
    }

    #[test]
    fn the_429_kind_only_matters_for_429() {
        let outcome = Outcome::Status {
            status: 503,
            too_many_requests: Some(TooManyRequests::MonthlyQuota),
            retry_after: None,
        };
        assert!(outcome.is_retryable());
        let outcome = Outcome::Status {
            status: 400,
            too_many_requests: Some(TooManyRequests::RateLimit),
            retry_after: None,
        };
        assert!(!outcome.is_retryable());
    }

    #[test]
    fn gives_up_after_max_attempts() {
        let p = no_jitter().with_max_attempts(3);
        assert_eq!(
            p.decide(Idempotent, 1, &Outcome::Timeout, 0.5),
            Decision::Retry { after: ms(500) }
        );
        assert_eq!(
            p.decide(Idempotent, 2, &Outcome::Timeout, 0.5),
            Decision::Retry { after: ms(1000) }
        );
        assert_eq!(p.decide(Idempotent, 3, &Outcome::Timeout, 0.5), Decision::GiveUp);
        assert_eq!(p.decide(Idempotent, 4, &Outcome::Timeout, 0.5), Decision::GiveUp);
        assert_eq!(p.decide(Idempotent, u32::MAX, &Outcome::Timeout, 0.5), Decision::GiveUp);
    }

    #[test]
    fn default_policy_makes_five_attempts_in_all() {
        let p = RetryPolicy::default();
        let retries = (1..=100)
            .take_while(|&a| p.decide(Idempotent, a, &Outcome::Connection, 0.5) != Decision::GiveUp)
            .count();
        assert_eq!(retries, 4, "four retries after the first attempt");
    }

    #[test]
    fn attempt_zero_counts_as_the_first() {
        let p = no_jitter();
        assert_eq!(
            p.decide(Idempotent, 0, &Outcome::Timeout, 0.5),
            p.decide(Idempotent, 1, &Outcome::Timeout, 0.5)
        );
    }

    #[test]
    fn backoff_doubles_then_caps() {
        let p = no_jitter().with_max_attempts(u32::MAX);
        let delays: Vec<u128> = (1..=9)
            .map(|a| retry_after_ms(p.decide(Idempotent, a, &Outcome::Timeout, 0.3)))
            .collect();
        assert_eq!(
            delays,
            [500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]
        );
    }

    #[test]
    fn cap_applies_to_a_custom_policy() {
        let p = no_jitter()
            .with_max_attempts(100)
            .with_base_delay(ms(3))
            .with_max_delay(ms(20));
        let delays: Vec<u128> = (1..=6)
            .map(|a| retry_after_ms(p.decide(Idempotent, a, &Outcome::Timeout, 0.5)))
            .collect();
        assert_eq!(delays, [3, 6, 12, 20, 20, 20]);
        // A base above the cap is capped from the first retry.
        let p = no_jitter().with_base_delay(ms(50)).with_max_delay(ms(10));
        assert_eq!(
            p.decide(Idempotent, 1, &Outcome::Timeout, 0.5),
            Decision::Retry { after: ms(10) }
        );
    }

    #[test]
    fn a_sample_of_one_half_is_the_plain_backoff() {
        let p = RetryPolicy::default().with_max_attempts(10);
        for attempt in 1..10 {
            assert_eq!(
                p.decide(Idempotent, attempt, &Outcome::Timeout, 0.5),
                no_jitter()
                    .with_max_attempts(10)
                    .decide(Idempotent, attempt, &Outcome::Timeout, 0.0),
                "attempt {attempt}"
            );
        }
    }

    #[test]
    fn jitter_stays_within_bounds() {
        let p = RetryPolicy::default().with_max_attempts(20);
        for attempt in 1..20 {
            let plain = no_jitter()
                .with_max_attempts(20)
                .decide(Idempotent, attempt, &Outcome::Timeout, 0.5);
            let Decision::Retry { after: plain } = plain else {
                panic!("expected a retry");
            };
            let low = plain.mul_f64(0.8);
            let high = plain.mul_f64(1.2).min(p.max_delay());
            for i in 0..=1000 {
                let sample = f64::from(i) / 1000.0;
                let Decision::Retry { after } = p.decide(Idempotent, attempt, &Outcome::Timeout, sample) else {
                    panic!("expected a retry");
                };
                assert!(
                    after >= low && after <= high,
                    "attempt {attempt} sample {sample}: {after:?} not in [{low:?}, {high:?}]"
                );
            }
        }
    }

    #[test]
    fn jitter_extremes_are_exact() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.decide(Idempotent, 1, &Outcome::Timeout, 0.0),
            Decision::Retry { after: ms(400) }
        );
        assert_eq!(
            p.decide(Idempotent, 2, &Outcome::Timeout, 0.0),
            Decision::Retry { after: ms(800) }
        );
        assert_eq!(
            p.decide(Idempotent, 2, &Outcome::Timeout, 0.75),
            Decision::Retry { after: ms(1_100) }
        );
        // Near 1 the factor approaches 1.2.
        let Decision::Retry { after } = p.decide(Idempotent, 1, &Outcome::Timeout, 0.999_999) else {
            panic!("expected a retry");
        };
        assert!(after > ms(599) && after < ms(600), "{after:?}");
    }

    #[test]
    fn jitter_never_exceeds_the_cap() {
        let p = RetryPolicy::default().with_max_attempts(50);
        for attempt in 7..50 {
            assert_eq!(
                p.decide(Idempotent, attempt, &Outcome::Timeout, 0.99),
                Decision::Retry {
                    after: Duration::from_secs(30)
                },
                "attempt {attempt}"
            );
            // The low side still varies below the cap.
            assert_eq!(
                p.decide(Idempotent, attempt, &Outcome::Timeout, 0.0),
                Decision::Retry {
                    after: Duration::from_secs(24)
                }
            );
        }
    }

    #[test]
    fn out_of_range_samples_are_clamped() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.decide(Idempotent, 1, &Outcome::Timeout, -5.0),
            Decision::Retry { after: ms(400) }
        );
        assert_eq!(
            p.decide(Idempotent, 1, &Outcome::Timeout, 5.0),
            Decision::Retry { after: ms(600) }
        );
        assert_eq!(
            p.decide(Idempotent, 1, &Outcome::Timeout, f64::NAN),
            Decision::Retry { after: ms(500) }
        );
        assert_eq!(
            p.decide(Idempotent, 1, &Outcome::Timeout, f64::INFINITY),
            Decision::Retry { after: ms(600) }
        );
    }

    #[test]
    fn full_jitter_can_reach_zero() {
        let p = RetryPolicy::default().with_jitter(1.0);
        assert_eq!(
            p.decide(Idempotent, 1, &Outcome::Timeout, 0.0),
            Decision::Retry { after: ms(0) }
        );
        assert_eq!(
            p.decide(Idempotent, 1, &Outcome::Timeout, 0.5),
            Decision::Retry { after: ms(500) }
        );
    }

    #[test]
    fn retry_after_is_a_minimum() {
        let with_after = |d: Duration| Outcome::Status {
            status: 429,
            too_many_requests: Some(TooManyRequests::RateLimit),
            retry_after: Some(d),
        };
        let p = no_jitter();
        // Longer than the backoff: wait for the server, even past max_delay.
        assert_eq!(
            p.decide(Idempotent, 1, &with_after(Duration::from_secs(120)), 0.5),
            Decision::Retry {
                after: Duration::from_secs(120)
            }
        );
        // Shorter than the backoff: the backoff wins.
        assert_eq!(
            p.decide(Idempotent, 3, &with_after(ms(10)), 0.5),
            Decision::Retry { after: ms(2_000) }
        );
        // It does not lift the attempt limit.
        assert_eq!(p.decide(Idempotent, 5, &with_after(ms(10)), 0.5), Decision::GiveUp);
        // It also applies to a 503.
        let unavailable = Outcome::Status {
            status: 503,
            too_many_requests: None,
            retry_after: Some(Duration::from_secs(7)),
        };
        assert_eq!(
            p.decide(Idempotent, 1, &unavailable, 0.5),
            Decision::Retry {
                after: Duration::from_secs(7)
            }
        );
    }

    #[test]
    fn huge_attempts_and_delays_do_not_overflow() {
        let p = RetryPolicy::default()
            .with_max_attempts(u32::MAX)
            .with_base_delay(Duration::MAX)
            .with_max_delay(Duration::MAX);
        for attempt in [1, 2, 63, 64, 65, 127, 128, 129, 1_000, u32::MAX - 1] {
            for sample in [0.0, 0.5, 0.999] {
                match p.decide(Idempotent, attempt, &Outcome::Timeout, sample) {
                    Decision::Retry { after } => assert!(after > Duration::from_secs(1 << 60), "{after:?}"),
                    other => panic!("attempt {attempt}: {other:?}"),
                }
            }
        }
        assert_eq!(
            p.decide(Idempotent, 1, &Outcome::Timeout, 0.5),
            Decision::Retry { after: Duration::MAX }
        );

        let p = no_jitter().with_max_attempts(u32::MAX);
        for attempt in [40, 64, 65, 200, u32::MAX - 1] {
            assert_eq!(
                p.decide(Idempotent, attempt, &Outcome::Timeout, 0.5),
                Decision::Retry {
                    after: Duration::from_secs(30)
                }
            );
        }
        let zero = no_jitter().with_max_attempts(u32::MAX).with_base_delay(Duration::ZERO);
        for attempt in [1, 64, 65, u32::MAX - 1] {
            assert_eq!(
                zero.decide(Idempotent, attempt, &Outcome::Timeout, 0.5),
                Decision::Retry { after: Duration::ZERO }
            );
        }
    }

    /// The rules, written independently of the implementation.
    fn expected_retryable(status: u16, kind: Option<TooManyRequests>) -> bool {
        match status {
            429 => kind != Some(TooManyRequests::MonthlyQuota),
            500..=599 => true,
            _ => false,
        }
    }

    #[test]
    fn exhaustive_grid_of_statuses_kinds_and_attempts() {
        let p = RetryPolicy::default();
        let mut retried = 0;
        for status in 0..=1_000u16 {
            for kind in ALL_429_KINDS {
                let outcome = Outcome::Status {
                    status,
                    too_many_requests: kind,
                    retry_after: None,
                };
                let retryable = expected_retryable(status, kind);
                assert_eq!(outcome.is_retryable(), retryable, "{status} {kind:?}");
                for attempt in 0..=7 {
                    for sample in [0.0, 0.25, 0.5, 0.75, 0.999] {
                        let decision = p.decide(Idempotent, attempt, &outcome, sample);
                        if retryable && attempt < 5 {
                            let plain = 500u64 << (attempt.max(1) - 1);
                            let expected = Duration::from_millis(plain).mul_f64(0.8 + 0.4 * sample);
                            let Decision::Retry { after } = decision else {
                                panic!("{status} {kind:?} attempt {attempt}: gave up");
                            };
                            let diff = after.abs_diff(expected);
                            assert!(diff <= Duration::from_nanos(1), "{after:?} vs {expected:?}");
                            retried += 1;
                        } else {
                            assert_eq!(decision, Decision::GiveUp, "{status} {kind:?} attempt {attempt}");
                        }
                    }
                }
            }
        }
        // 100 statuses (5xx) with every kind, plus 429 with four of the five kinds,
        // each retried at attempts 0..=4 for 5 samples.
        assert_eq!(retried, (100 * 5 + 4) * 5 * 5);
    }

    #[test]
    fn outcome_from_error() {
        let api = |status: u16, kind: Option<TooManyRequests>| {
            Error::new(ErrorKind::Api(Box::new(ApiError {
                operation: "pushMessage",
                status,
                message: String::new(),
                details: Vec::new(),
                request_id: None,
                too_many_requests: kind,
                retry_after: None,
            })))
        };
        assert_eq!(
            Outcome::from_error(&api(429, Some(TooManyRequests::MonthlyQuota))),
            Some(too_many(TooManyRequests::MonthlyQuota))
        );
        assert_eq!(Outcome::from_error(&api(502, None)), Some(Outcome::status(502)));
        assert_eq!(
            Outcome::from_error(&Error::new(ErrorKind::Timeout {
                operation: "pushMessage"
            })),
            Some(Outcome::Timeout)
        );
        assert_eq!(
            Outcome::from_error(&Error::new(ErrorKind::Connection {
                operation: "pushMessage"
            })),
            Some(Outcome::ConnectionLost),
            "an error does not say whether the request left, so it may have reached LINE"
        );
        assert_eq!(Outcome::from_error(&Error::new(ErrorKind::InvalidSignature)), None);
        assert_eq!(
            Outcome::from_error(&Error::invalid_input("to", "empty")),
            None,
            "input errors are not retried"
        );
    }

    #[test]
    fn decide_random_stays_within_jitter_bounds() {
        let p = RetryPolicy::default();
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..200 {
            let Decision::Retry { after } = p.decide_random(Idempotent, 2, &Outcome::Timeout) else {
                panic!("expected a retry");
            };
            assert!(after >= ms(800) && after <= ms(1_200), "{after:?}");
            seen.insert(after);
        }
        assert!(seen.len() > 1, "the sample is random");
        assert_eq!(p.decide_random(Idempotent, 5, &Outcome::Timeout), Decision::GiveUp);
    }

    #[test]
    fn a_call_that_is_not_idempotent_is_not_repeated_once_it_may_have_reached_line() {
        let p = no_jitter().with_max_attempts(10);
        for outcome in [
            Outcome::Timeout,
            Outcome::ConnectionLost,
            Outcome::status(500),
            Outcome::status(503),
        ] {
            for attempt in [1, 2, 9, 10, 11] {
                assert_eq!(
                    p.decide(NotIdempotent, attempt, &outcome, 0.5),
                    Decision::OutcomeUnknown,
                    "{outcome:?} attempt {attempt}"
                );
            }
            // The same outcome is retried for an idempotent call.
            assert!(matches!(p.decide(Idempotent, 1, &outcome, 0.5), Decision::Retry { .. }));
        }
        // A 503 asking to come back later is still unknown: LINE may have acted.
        let unavailable = Outcome::Status {
            status: 503,
            too_many_requests: None,
            retry_after: Some(ms(10)),
        };
        assert_eq!(p.decide(NotIdempotent, 1, &unavailable, 0.5), Decision::OutcomeUnknown);
    }

    #[test]
    fn a_call_that_is_not_idempotent_is_retried_when_line_did_not_act() {
        let p = no_jitter().with_max_attempts(3);
        // The connection was never made.
        assert_eq!(
            p.decide(NotIdempotent, 1, &Outcome::Connection, 0.5),
            Decision::Retry { after: ms(500) }
        );
        assert_eq!(p.decide(NotIdempotent, 3, &Outcome::Connection, 0.5), Decision::GiveUp);
        // LINE turned it away with a rate limit.
        assert_eq!(
            p.decide(NotIdempotent, 1, &too_many(TooManyRequests::RateLimit), 0.5),
            Decision::Retry { after: ms(500) }
        );
        // A definite answer is final, as for any call.
        assert_eq!(p.decide(NotIdempotent, 1, &Outcome::status(400), 0.5), Decision::GiveUp);
        assert_eq!(
            p.decide(NotIdempotent, 1, &too_many(TooManyRequests::MonthlyQuota), 0.5),
            Decision::GiveUp
        );
    }

    #[test]
    fn which_outcomes_may_have_reached_line() {
        for status in 0..=1_000u16 {
            assert_eq!(
                Outcome::status(status).may_have_reached_line(),
                (500..=599).contains(&status),
                "{status}"
            );
        }
        assert!(Outcome::Timeout.may_have_reached_line());
        assert!(Outcome::ConnectionLost.may_have_reached_line());
        assert!(!Outcome::Connection.may_have_reached_line());
    }

    #[test]
    fn a_retry_after_beyond_the_maximum_gives_up() {
        let p = no_jitter().with_max_retry_after(Duration::from_secs(60));
        assert_eq!(p.max_retry_after(), Duration::from_secs(60));
        assert_eq!(RetryPolicy::default().max_retry_after(), Duration::from_secs(300));
        let after = |d: Duration| Outcome::Status {
            status: 429,
            too_many_requests: Some(TooManyRequests::RateLimit),
            retry_after: Some(d),
        };
        assert_eq!(
            p.decide(Idempotent, 1, &after(Duration::from_secs(60)), 0.5),
            Decision::Retry {
                after: Duration::from_secs(60)
            }
        );
        assert_eq!(
            p.decide(Idempotent, 1, &after(Duration::from_secs(61)), 0.5),
            Decision::GiveUp
        );
        assert_eq!(p.decide(Idempotent, 1, &after(Duration::MAX), 0.5), Decision::GiveUp);
    }

    #[test]
    fn retry_after_in_seconds() {
        let now: jiff::Timestamp = "2026-05-01T00:00:00Z".parse().unwrap();
        assert_eq!(parse_retry_after("0", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after(" 120 ", now), Some(Duration::from_secs(120)));
        assert_eq!(
            parse_retry_after("99999999999999999999999", now),
            Some(Duration::MAX),
            "too large saturates"
        );
        for bad in ["", " ", "-1", "1.5", "+3", "3s", "soon", "0x10"] {
            assert_eq!(parse_retry_after(bad, now), None, "{bad:?}");
        }
    }

    #[test]
    fn retry_after_as_an_http_date() {
        let now: jiff::Timestamp = "2015-10-21T07:27:30Z".parse().unwrap();
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 08:27:30 GMT", now),
            Some(Duration::from_secs(3_600))
        );
        // A date in the past means "now".
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("Wed, 32 Oct 2015 07:00:00 GMT", now), None);
    }
}
