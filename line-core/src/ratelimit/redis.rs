//! [`RedisBudget`]: a [`RateBudget`] on Redis, shared by every process that
//! sends for one channel (feature `redis`).
//!
//! Each endpoint's window is a Redis list of the send times of its last
//! `count` grants, under the key `{prefix}:{channel}:{class}:{operationId}`.
//! One Lua script, run with `EVALSHA` (one round trip per request), reads
//! Redis's clock (`TIME`), finds the next due instant the way the in-process
//! limiter does (the window plus 1% slack, and for quotas over 100 a tenth of
//! the quota per tenth of the window), records it and returns the wait. Since
//! Redis's clock decides, the processes' clocks do not matter. A key expires
//! one window (plus slack) after its latest grant.
//!
//! The channel part of the key is a [`ChannelKey`]: a channel id you give, or
//! a SHA-256 digest of the access token; never the token itself.
//!
//! **When Redis fails** (unreachable, an error, or no answer within the
//! timeout, 1 s by default), [`RateBudget::reserve`] logs a warning and falls
//! back to a local window of the quota divided by the number of processes you
//! declared ([`RedisBudget::connect`]'s `processes`), at least one request per
//! window. So while Redis is down the processes together stay within the
//! limit, at a lower rate; the next request that Redis answers uses the shared
//! windows again (the local grants made meanwhile are not counted there, so
//! the first window after an outage may hold up to twice the quota's share of
//! one process). [`RedisBudget::try_reserve`] returns the typed error instead.
//!
//! The script targets a single Redis server (or a primary), not Redis Cluster.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use sha2::{Digest, Sha256};

use super::{Paced, Quota, RateBudget, RateClass};
use crate::secret::ChannelAccessToken;

/// The key prefix when none is given.
pub const DEFAULT_PREFIX: &str = "line-rs:rate";

/// The window script. KEYS[1]: the endpoint's list. ARGV: count, span (window
/// plus slack, µs), fine count (0: none), fine span (µs), and in tests only a
/// fixed `now` (µs) instead of Redis's clock. Returns the wait in µs.
const SCRIPT: &str = r#"
local key = KEYS[1]
local count = tonumber(ARGV[1])
local span = tonumber(ARGV[2])
local fcount = tonumber(ARGV[3])
local fspan = tonumber(ARGV[4])
local now
if ARGV[5] then
  now = tonumber(ARGV[5])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local at = now
local len = redis.call('LLEN', key)
if len > 0 then
  local last = tonumber(redis.call('LINDEX', key, -1))
  if last > at then at = last end
  if len >= count then
    local due = tonumber(redis.call('LINDEX', key, -count)) + span
    if due > at then at = due end
  end
  if fcount > 0 and len >= fcount then
    local due = tonumber(redis.call('LINDEX', key, -fcount)) + fspan
    if due > at then at = due end
  end
end
redis.call('RPUSH', key, string.format('%d', at))
redis.call('LTRIM', key, -count, -1)
redis.call('PEXPIRE', key, math.ceil((at - now + span) / 1000) + 1)
return at - now
"#;

/// A connection manager for `url` with `timeout` for connecting and for each
/// answer, and one reconnection attempt per failed call: the connection handling of
/// the shared rate budget and of the Redis stores (`store::redis`). The outer error is
/// the connect timeout.
pub(crate) async fn connect_manager(
    url: &str,
    timeout: Duration,
) -> Result<Result<ConnectionManager, redis::RedisError>, tokio::time::error::Elapsed> {
    let client = match redis::Client::open(url) {
        Ok(c) => c,
        Err(e) => return Ok(Err(e)),
    };
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(timeout)
        .set_response_timeout(timeout)
        .set_number_of_retries(1);
    tokio::time::timeout(timeout, ConnectionManager::new_with_config(client, config)).await
}

/// The largest span passed to the script, in µs (about 142 years): Lua
/// numbers are doubles, exact up to 2^53.
const MAX_SPAN_MICROS: u64 = 1 << 52;

/// Which channel a budget counts for, as it appears in Redis keys.
///
/// Never holds the token: [`from_token`](Self::from_token) keeps a digest.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ChannelKey(String);

impl ChannelKey {
    /// A key from a channel id (or any stable name you choose for the channel).
    ///
    /// # Errors
    ///
    /// If `id` is empty, longer than 128 bytes, or holds anything but ASCII
    /// letters, digits, `-`, `_` and `.`.
    pub fn from_channel_id(id: &str) -> Result<Self, RedisBudgetError> {
        let ok = !id.is_empty()
            && id.len() <= 128
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if ok {
            Ok(Self(format!("id-{id}")))
        } else {
            Err(RedisBudgetError::ChannelId)
        }
    }

    /// A key from the channel's access token: the first 128 bits of its
    /// SHA-256 digest, in hex. Processes that hold the same token get the same
    /// key; a reissued token starts a new budget.
    pub fn from_token(token: &ChannelAccessToken) -> Self {
        let digest = Sha256::digest(token.expose().as_bytes());
        let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        Self(format!("tok-{hex}"))
    }

    /// The key text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ChannelKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ChannelKey").field(&self.0).finish()
    }
}

/// Why the shared budget could not answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RedisBudgetError {
    /// [`ChannelKey::from_channel_id`] got an empty, too long or non-ASCII id.
    #[error("rate budget: the channel id must be 1 to 128 ASCII letters, digits, '-', '_' or '.'")]
    ChannelId,
    /// The `processes` argument was zero.
    #[error("rate budget: processes must be at least 1")]
    Processes,
    /// Redis answered with an error, or the connection failed.
    #[error("rate budget: Redis {op} failed: {source}")]
    Redis {
        /// What was being done: `connect` or `reserve`.
        op: &'static str,
        /// The client's error.
        #[source]
        source: redis::RedisError,
    },
    /// Redis did not answer within the timeout.
    #[error("rate budget: Redis did not answer within {0:?}")]
    Timeout(Duration),
    /// The script answered something other than a wait in microseconds.
    #[error("rate budget: the script answered a negative wait ({0} µs)")]
    BadReply(i64),
}

/// A [`RateBudget`] on Redis: every process that builds one for the same
/// channel, Redis and prefix shares one set of windows.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use line_core::client::Client;
/// use line_core::ratelimit::RateLimiter;
/// use line_core::ratelimit::redis::{ChannelKey, RedisBudget};
/// use line_core::secret::ChannelAccessToken;
///
/// let token = ChannelAccessToken::new(std::env::var("LINE_TOKEN")?);
/// // Four worker processes send for this channel.
/// let budget = RedisBudget::connect("redis://127.0.0.1:6379", ChannelKey::from_token(&token), 4).await?;
/// let client = Client::builder()
///     .token(token)
///     .rate_limiter(RateLimiter::line_defaults().with_budget(Arc::new(budget)))
///     .build()?;
/// # let _ = client; Ok(()) }
/// ```
pub struct RedisBudget {
    conn: ConnectionManager,
    script: redis::Script,
    prefix: String,
    channel: ChannelKey,
    processes: u32,
    timeout: Duration,
    slack: Duration,
    fallback: Mutex<HashMap<(RateClass, &'static str), Paced>>,
}

impl RedisBudget {
    /// Connects to Redis at `url` (`redis://host:port/db`). `processes` is how
    /// many processes share the channel: when Redis fails, each one falls back
    /// to `1/processes` of the quota.
    ///
    /// # Errors
    ///
    /// [`RedisBudgetError::Redis`] if the URL is invalid or Redis cannot be
    /// reached now; [`RedisBudgetError::Processes`] if `processes` is zero.
    pub async fn connect(url: &str, channel: ChannelKey, processes: u32) -> Result<Self, RedisBudgetError> {
        Self::connect_with_timeout(url, channel, processes, Duration::from_secs(1)).await
    }

    /// [`connect`](Self::connect) with a timeout other than 1 s for connecting
    /// and for each reservation.
    ///
    /// # Errors
    ///
    /// As [`connect`](Self::connect).
    pub async fn connect_with_timeout(
        url: &str,
        channel: ChannelKey,
        processes: u32,
        timeout: Duration,
    ) -> Result<Self, RedisBudgetError> {
        if processes == 0 {
            return Err(RedisBudgetError::Processes);
        }
        let redis_err = |source| RedisBudgetError::Redis { op: "connect", source };
        let conn = connect_manager(url, timeout)
            .await
            .map_err(|_| RedisBudgetError::Timeout(timeout))?
            .map_err(redis_err)?;
        Ok(Self {
            conn,
            script: redis::Script::new(SCRIPT),
            prefix: DEFAULT_PREFIX.to_owned(),
            channel,
            processes,
            timeout,
            slack: Duration::ZERO,
            fallback: Mutex::new(HashMap::new()),
        })
    }

    /// Uses `prefix` instead of [`DEFAULT_PREFIX`] for the keys (for example to
    /// separate environments on one Redis).
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Adds `slack` to each endpoint's window (beyond the 1% every window
    /// keeps) before a slot is reused.
    ///
    /// A grant is an instant on Redis's clock; the request reaches LINE later,
    /// by a delay that varies with the network and with how busy the sending
    /// host is. When two grants one window apart see delays that differ by
    /// more than the slack, LINE sees them within one window and may answer 429. The
    /// default 1% (10 ms for a per-second limit) suits an idle host; add more
    /// on a busy one, at the cost of a lower rate.
    pub fn with_slack(mut self, slack: Duration) -> Self {
        self.slack = slack;
        self
    }

    /// The channel this budget counts for.
    pub fn channel(&self) -> &ChannelKey {
        &self.channel
    }

    fn key(&self, class: RateClass, op: &str) -> String {
        format!("{}:{}:{class:?}:{op}", self.prefix, self.channel.as_str())
    }

    /// Takes a slot in the shared window in one round trip and returns the wait,
    /// or the error without falling back.
    ///
    /// # Errors
    ///
    /// [`RedisBudgetError::Redis`], [`RedisBudgetError::Timeout`] or
    /// [`RedisBudgetError::BadReply`].
    pub async fn try_reserve(
        &self,
        class: RateClass,
        key: &'static str,
        quota: Quota,
    ) -> Result<Duration, RedisBudgetError> {
        self.run(class, key, quota, None).await
    }

    async fn run(
        &self,
        class: RateClass,
        op: &str,
        quota: Quota,
        now_micros: Option<u64>,
    ) -> Result<Duration, RedisBudgetError> {
        let args = ScriptArgs::of(quota, self.slack);
        let mut conn = self.conn.clone();
        let mut invocation = self.script.key(self.key(class, op));
        invocation
            .arg(args.count)
            .arg(args.span)
            .arg(args.fine_count)
            .arg(args.fine_span);
        if let Some(now) = now_micros {
            invocation.arg(now);
        }
        let reply: i64 = tokio::time::timeout(self.timeout, invocation.invoke_async(&mut conn))
            .await
            .map_err(|_| RedisBudgetError::Timeout(self.timeout))?
            .map_err(|source| RedisBudgetError::Redis { op: "reserve", source })?;
        let micros = u64::try_from(reply).map_err(|_| RedisBudgetError::BadReply(reply))?;
        Ok(Duration::from_micros(micros))
    }

    /// The local window used while Redis fails.
    fn reserve_locally(&self, class: RateClass, key: &'static str, quota: Quota) -> Duration {
        let share = Quota::new((quota.count / self.processes).max(1), quota.per);
        let now = tokio::time::Instant::now().into_std();
        let mut windows = self.fallback.lock().unwrap_or_else(|e| e.into_inner());
        windows
            .entry((class, key))
            .or_insert_with(|| Paced::new(share))
            .reserve(now)
    }
}

#[async_trait::async_trait]
impl RateBudget for RedisBudget {
    async fn reserve(&self, class: RateClass, key: &'static str, quota: Quota) -> Duration {
        match self.try_reserve(class, key, quota).await {
            Ok(wait) => wait,
            Err(error) => {
                tracing::warn!(%error, operation = key, "shared rate budget unavailable; using the local share");
                self.reserve_locally(class, key, quota)
            }
        }
    }
}

impl fmt::Debug for RedisBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisBudget")
            .field("prefix", &self.prefix)
            .field("channel", &self.channel)
            .field("processes", &self.processes)
            .field("timeout", &self.timeout)
            .field("slack", &self.slack)
            .finish_non_exhaustive()
    }
}

/// The script's arguments for a quota: the same windows as the in-process
/// limiter's `Paced`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ScriptArgs {
    count: u32,
    span: u64,
    fine_count: u32,
    fine_span: u64,
}

impl ScriptArgs {
    fn of(quota: Quota, slack: Duration) -> Self {
        let micros = |d: Duration| u64::try_from(d.as_micros()).unwrap_or(u64::MAX).min(MAX_SPAN_MICROS);
        let count = quota.count.max(1);
        let (fine_count, fine_span) = if count > 100 {
            let fine = quota.per / 10;
            (count / 10, micros(fine.saturating_add(fine / 100)))
        } else {
            (0, 0)
        };
        Self {
            count,
            span: micros(quota.per.saturating_add(quota.per / 100).saturating_add(slack)),
            fine_count,
            fine_span,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "redis://127.0.0.1:6379";

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// A budget under a fresh prefix; `None` (the test passes without running)
    /// only when Redis is missing outside CI.
    async fn budget(test: &str) -> Option<RedisBudget> {
        match RedisBudget::connect(URL, ChannelKey::from_channel_id("c1").unwrap(), 2).await {
            Ok(b) => Some(b.with_prefix(format!("line-rs-test:{test}:{}", uuid::Uuid::new_v4()))),
            Err(e) if std::env::var("CI").as_deref() != Ok("true") => {
                eprintln!("skipping {test}: Redis is not available ({e})");
                None
            }
            Err(e) => panic!("Redis is required when CI=true: {e}"),
        }
    }

    /// A reservation at a fixed `now` (µs on Redis's side).
    async fn at(b: &RedisBudget, op: &'static str, quota: Quota, now_ms: u64) -> Duration {
        b.run(RateClass::Default, op, quota, Some(now_ms * 1_000))
            .await
            .unwrap()
    }

    #[test]
    fn script_args_match_the_local_windows() {
        assert_eq!(
            ScriptArgs::of(Quota::per_second(10), Duration::ZERO),
            ScriptArgs {
                count: 10,
                span: 1_010_000,
                fine_count: 0,
                fine_span: 0
            }
        );
        assert_eq!(
            ScriptArgs::of(Quota::per_second(2_000), Duration::ZERO),
            ScriptArgs {
                count: 2_000,
                span: 1_010_000,
                fine_count: 200,
                fine_span: 101_000
            }
        );
        assert_eq!(ScriptArgs::of(Quota::new(0, ms(5)), Duration::ZERO).count, 1);
        assert_eq!(
            ScriptArgs::of(Quota::new(3, Duration::MAX), ms(1)).span,
            MAX_SPAN_MICROS
        );
        // Slack widens the window, not the fine one.
        assert_eq!(
            ScriptArgs::of(Quota::per_second(2_000), ms(40)),
            ScriptArgs {
                count: 2_000,
                span: 1_050_000,
                fine_count: 200,
                fine_span: 101_000
            }
        );
    }

    #[test]
    fn channel_keys_never_hold_the_token() {
        let token = ChannelAccessToken::new("secret-token-value");
        let key = ChannelKey::from_token(&token);
        assert!(!key.as_str().contains("secret"), "{key:?}");
        assert_eq!(key.as_str().len(), 4 + 32);
        assert_eq!(
            key,
            ChannelKey::from_token(&ChannelAccessToken::new("secret-token-value"))
        );
        assert_ne!(key, ChannelKey::from_token(&ChannelAccessToken::new("other")));
        assert_eq!(ChannelKey::from_channel_id("1234567").unwrap().as_str(), "id-1234567");
        for bad in ["", "a:b", "a b", "é", &"x".repeat(129)] {
            assert!(
                matches!(ChannelKey::from_channel_id(bad), Err(RedisBudgetError::ChannelId)),
                "{bad:?}"
            );
        }
    }

    #[tokio::test]
    async fn zero_processes_is_an_error() {
        let err = RedisBudget::connect(URL, ChannelKey::from_channel_id("c").unwrap(), 0)
            .await
            .unwrap_err();
        assert!(matches!(err, RedisBudgetError::Processes), "{err}");
    }

    #[tokio::test]
    async fn window_boundaries_match_the_local_window() {
        let Some(b) = budget("boundaries").await else { return };
        // 3 per 100 ms: span 101 ms. Three at once, the fourth when the first is 101 ms old.
        let q = Quota::new(3, ms(100));
        for _ in 0..3 {
            assert_eq!(at(&b, "op", q, 1_000).await, Duration::ZERO);
        }
        assert_eq!(at(&b, "op", q, 1_000).await, ms(101));
        // Queued: the fifth and sixth are due with it (the second and third slots), the seventh 101 ms later.
        assert_eq!(at(&b, "op", q, 1_000).await, ms(101));
        assert_eq!(at(&b, "op", q, 1_000).await, ms(101));
        assert_eq!(at(&b, "op", q, 1_000).await, ms(202));
        // The same calls against the in-process window.
        let mut local = super::super::SlidingWindow::with_margin(q, ms(1));
        let t0 = std::time::Instant::now();
        let waits: Vec<Duration> = (0..7).map(|_| local.reserve(t0)).collect();
        assert_eq!(waits, [0, 0, 0, 101, 101, 101, 202].map(ms));
        // Just before and at the boundary, on an idle window.
        let q = Quota::new(2, ms(100));
        assert_eq!(at(&b, "edge", q, 5_000).await, Duration::ZERO);
        assert_eq!(at(&b, "edge", q, 5_050).await, Duration::ZERO);
        assert_eq!(at(&b, "edge", q, 5_100).await, ms(1), "the first slot frees at 5,101");
        assert_eq!(
            at(&b, "edge", q, 5_151).await,
            Duration::ZERO,
            "the second frees at 5,151"
        );
    }

    #[tokio::test]
    async fn large_quotas_get_the_fine_window() {
        let Some(b) = budget("fine").await else { return };
        // 200 per s: 20 at once, then 20 per 101 ms.
        let q = Quota::per_second(200);
        let mut waits = Vec::new();
        for _ in 0..60 {
            waits.push(at(&b, "multicast", q, 0).await);
        }
        for (i, w) in waits.iter().enumerate() {
            assert_eq!(*w, ms(101) * (i as u32 / 20), "grant {i}");
        }
    }

    #[tokio::test]
    async fn keys_are_per_channel_class_and_endpoint_and_expire() {
        let Some(b) = budget("keys").await else { return };
        let q = Quota::new(1, ms(200));
        assert_eq!(at(&b, "a", q, 0).await, Duration::ZERO);
        assert_eq!(at(&b, "a", q, 0).await, ms(202));
        assert_eq!(at(&b, "b", q, 0).await, Duration::ZERO, "another endpoint");
        let other = b.run(RateClass::Multicast, "a", q, Some(0)).await.unwrap();
        assert_eq!(other, Duration::ZERO, "another class");
        let mut conn = b.conn.clone();
        let key = b.key(RateClass::Default, "a");
        assert!(key.contains(":id-c1:Default:a"), "{key}");
        let ttl: i64 = redis::cmd("PTTL").arg(&key).query_async(&mut conn).await.unwrap();
        // The latest grant is at 202 ms; the key lives 202 + 202 + 1 ms from "now" (0).
        assert!((1..=405).contains(&ttl), "ttl {ttl}");
        // With Redis's own clock a short window's key is gone after it passes.
        let key = b.key(RateClass::Default, "short");
        b.try_reserve(RateClass::Default, "short", Quota::new(5, ms(20)))
            .await
            .unwrap();
        let exists: bool = redis::cmd("EXISTS").arg(&key).query_async(&mut conn).await.unwrap();
        assert!(exists);
        tokio::time::sleep(ms(100)).await;
        let exists: bool = redis::cmd("EXISTS").arg(&key).query_async(&mut conn).await.unwrap();
        assert!(!exists, "the key outlived its window");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_callers_on_separate_connections_queue_exactly() {
        let Some(b) = budget("concurrent").await else { return };
        let prefix = b.prefix.clone();
        // 8 budgets (as 8 processes would have), 25 reservations each, of a 50-per-second window.
        let mut budgets = vec![b];
        for _ in 1..8 {
            let other = RedisBudget::connect(URL, ChannelKey::from_channel_id("c1").unwrap(), 8)
                .await
                .unwrap()
                .with_prefix(prefix.clone());
            budgets.push(other);
        }
        let q = Quota::per_second(50);
        let tasks: Vec<_> = budgets
            .into_iter()
            .map(|b| {
                tokio::spawn(async move {
                    let mut waits = Vec::new();
                    for _ in 0..25 {
                        waits.push(at(&b, "op", q, 10_000).await);
                    }
                    waits
                })
            })
            .collect();
        let mut waits = Vec::new();
        for t in tasks {
            waits.extend(t.await.unwrap());
        }
        waits.sort();
        let expected: Vec<Duration> = (0..200u32).map(|i| ms(1_010) * (i / 50)).collect();
        assert_eq!(waits, expected);
    }

    /// A TCP proxy to Redis that can be cut: cutting closes the listener and every open connection.
    struct Proxy {
        addr: std::net::SocketAddr,
        task: tokio::task::JoinHandle<()>,
    }

    impl Proxy {
        async fn start() -> Self {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let task = tokio::spawn(async move {
                let mut conns = tokio::task::JoinSet::new();
                while let Ok((mut inbound, _)) = listener.accept().await {
                    conns.spawn(async move {
                        if let Ok(mut outbound) = tokio::net::TcpStream::connect("127.0.0.1:6379").await {
                            let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                        }
                    });
                }
            });
            Self { addr, task }
        }

        fn cut(self) {
            // Aborting the task drops the listener and the JoinSet, which aborts every connection.
            self.task.abort();
        }
    }

    #[tokio::test]
    async fn an_outage_falls_back_to_the_local_share_and_try_reserve_reports_it() {
        // Only to check that Redis is there (and fail in CI if not).
        let Some(_) = budget("outage-probe").await else { return };
        let proxy = Proxy::start().await;
        let url = format!("redis://{}", proxy.addr);
        let b = RedisBudget::connect_with_timeout(&url, ChannelKey::from_channel_id("c1").unwrap(), 4, ms(300))
            .await
            .unwrap()
            .with_prefix(format!("line-rs-test:outage:{}", uuid::Uuid::new_v4()));
        let q = Quota::new(8, ms(10_000));
        assert_eq!(
            b.try_reserve(RateClass::Default, "op", q).await.unwrap(),
            Duration::ZERO
        );
        proxy.cut();
        tokio::time::sleep(ms(50)).await;
        let err = b.try_reserve(RateClass::Default, "op", q).await.unwrap_err();
        assert!(
            matches!(err, RedisBudgetError::Redis { .. } | RedisBudgetError::Timeout(_)),
            "{err:?}"
        );
        // The fallback: 8 / 4 processes = 2 per window, then a wait of about one window.
        assert_eq!(b.reserve(RateClass::Default, "op", q).await, Duration::ZERO);
        assert_eq!(b.reserve(RateClass::Default, "op", q).await, Duration::ZERO);
        let third = b.reserve(RateClass::Default, "op", q).await;
        assert!(third > ms(9_000) && third <= ms(10_100), "{third:?}");
        assert!(!format!("{err}").is_empty());
    }

    #[test]
    fn debug_shows_no_secret() {
        let key = ChannelKey::from_token(&ChannelAccessToken::new("tok-secret-123"));
        assert!(!format!("{key:?}").contains("secret"));
    }
}
