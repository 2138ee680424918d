//! Redis: the webhook stores as expiring keys (feature `redis`).
//!
//! A [`RedisDb`] is a connection manager (the one the shared rate budget uses:
//! a timeout of 1 s for connecting and for each answer, and a reconnection on the next
//! call after a dropped connection). Build it once and every store on it:
//!
//! - [`RedisDedupeStore`]: `first_seen` is `SET {prefix}dedupe:{id} 1 NX PX ttl`, one
//!   round trip, atomic across every process on the server; `forget` is `DEL`.
//! - [`RedisNonceStore`]: `put` is `SET … PX ttl`, `take` is `GETDEL` (Redis 6.2 or
//!   later), so a nonce is given out once across processes.
//!
//! Expiry is Redis's own (`PX`), on the server's clock: the stores take no
//! [`Clock`](crate::clock::Clock), and expired keys cost nothing on the hot path.
//!
//! **On an outage** (server down, connection dropped, no answer within the timeout)
//! every call returns a [`Store`](crate::ErrorKind::Store) error naming the store and
//! the operation (`RedisDedupeStore::first_seen`), with the client's error as its
//! source. The dedupe helpers then do not run the handler (see the host-traits guide):
//! answer the webhook with a 5xx and LINE redelivers. The next call after the server is
//! back reconnects.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use redis::aio::ConnectionManager;

use super::{check_prefix, store_error, DEFAULT_PREFIX};
use crate::error::Error;
use crate::webhook::account_link::NonceStore;
use crate::webhook::dedupe::DedupeStore;

/// How long a call waits for Redis by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);

/// No answer within the timeout.
#[derive(Debug)]
struct TimedOut(Duration);

impl fmt::Display for TimedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Redis did not answer within {:?}", self.0)
    }
}

impl std::error::Error for TimedOut {}

/// A handle on one Redis server, shared by the stores built on it. Cheap to clone.
/// Its `Debug` never shows the URL (it may hold a password).
#[derive(Clone)]
pub struct RedisDb {
    conn: ConnectionManager,
    timeout: Duration,
}

impl fmt::Debug for RedisDb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisDb")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl RedisDb {
    /// Connects to `url` (`redis://[:PASSWORD@]HOST:PORT/DB`) with the default timeout.
    ///
    /// Fails with a [`Store`](crate::ErrorKind::Store) error (operation
    /// `RedisDb::connect`) when the URL is invalid or the server cannot be reached now.
    pub async fn connect(url: &str) -> Result<Self, Error> {
        Self::connect_with_timeout(url, DEFAULT_TIMEOUT).await
    }

    /// [`connect`](Self::connect) with another timeout for connecting and for each call.
    pub async fn connect_with_timeout(url: &str, timeout: Duration) -> Result<Self, Error> {
        let conn = crate::ratelimit::redis::connect_manager(url, timeout)
            .await
            .map_err(|_| store_error("RedisDb::connect", TimedOut(timeout)))?
            .map_err(|e| store_error("RedisDb::connect", e))?;
        Ok(Self { conn, timeout })
    }

    async fn query<T: redis::FromRedisValue>(&self, operation: &str, cmd: &redis::Cmd) -> Result<T, Error> {
        let mut conn = self.conn.clone();
        match tokio::time::timeout(self.timeout, cmd.query_async::<T>(&mut conn)).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(store_error(operation, e)),
            Err(_) => Err(store_error(operation, TimedOut(self.timeout))),
        }
    }
}

/// The TTL in whole milliseconds, at least 1 (`PX 0` is an error in Redis); `None` for a
/// zero TTL, which keeps nothing.
fn ttl_ms(ttl: Duration) -> Option<u64> {
    if ttl.is_zero() {
        None
    } else {
        Some(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1))
    }
}

/// A [`DedupeStore`] on Redis (feature `redis`): one key per event id, expiring after
/// the ttl. Ids never appear in `Debug` output.
#[derive(Clone)]
pub struct RedisDedupeStore {
    db: RedisDb,
    prefix: String,
}

impl fmt::Debug for RedisDedupeStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisDedupeStore")
            .field("db", &self.db)
            .field("prefix", &self.prefix)
            .finish()
    }
}

impl RedisDedupeStore {
    /// The store on `db`, keys under [`DEFAULT_PREFIX`] (`line_dedupe:{id}`).
    pub fn new(db: &RedisDb) -> Self {
        Self {
            db: db.clone(),
            prefix: DEFAULT_PREFIX.to_owned(),
        }
    }

    /// The store on `db` with keys under `prefix` (lowercase ASCII letters, digits and
    /// `_`, as for the SQL stores' table prefixes).
    pub fn with_prefix(db: &RedisDb, prefix: &str) -> Result<Self, Error> {
        check_prefix(prefix)?;
        Ok(Self {
            db: db.clone(),
            prefix: prefix.to_owned(),
        })
    }

    fn key(&self, id: &str) -> String {
        format!("{}dedupe:{id}", self.prefix)
    }
}

#[async_trait]
impl DedupeStore for RedisDedupeStore {
    async fn first_seen(&self, webhook_event_id: &str, ttl: Duration) -> Result<bool, Error> {
        // A record that would expire at once is not kept: the id is new, and stays new.
        let Some(ms) = ttl_ms(ttl) else { return Ok(true) };
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.key(webhook_event_id)).arg(1).arg("NX").arg("PX").arg(ms);
        let set: Option<String> = self.db.query("RedisDedupeStore::first_seen", &cmd).await?;
        Ok(set.is_some())
    }

    async fn forget(&self, webhook_event_id: &str) -> Result<(), Error> {
        let mut cmd = redis::cmd("DEL");
        cmd.arg(self.key(webhook_event_id));
        let _: i64 = self.db.query("RedisDedupeStore::forget", &cmd).await?;
        Ok(())
    }
}

/// A [`NonceStore`] on Redis (feature `redis`): one key per nonce holding the member,
/// expiring after the ttl; `take` is `GETDEL`. Nonces never appear in `Debug` output.
#[derive(Clone)]
pub struct RedisNonceStore {
    db: RedisDb,
    prefix: String,
}

impl fmt::Debug for RedisNonceStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisNonceStore")
            .field("db", &self.db)
            .field("prefix", &self.prefix)
            .finish()
    }
}

impl RedisNonceStore {
    /// The store on `db`, keys under [`DEFAULT_PREFIX`] (`line_nonce:{nonce}`).
    pub fn new(db: &RedisDb) -> Self {
        Self {
            db: db.clone(),
            prefix: DEFAULT_PREFIX.to_owned(),
        }
    }

    /// The store on `db` with keys under `prefix`.
    pub fn with_prefix(db: &RedisDb, prefix: &str) -> Result<Self, Error> {
        check_prefix(prefix)?;
        Ok(Self {
            db: db.clone(),
            prefix: prefix.to_owned(),
        })
    }

    fn key(&self, nonce: &str) -> String {
        format!("{}nonce:{nonce}", self.prefix)
    }
}

#[async_trait]
impl NonceStore for RedisNonceStore {
    async fn put(&self, nonce: &str, member_id: &str, ttl: Duration) -> Result<(), Error> {
        let Some(ms) = ttl_ms(ttl) else {
            // Expires at once: nothing to keep, and an older entry must not survive it.
            let mut cmd = redis::cmd("DEL");
            cmd.arg(self.key(nonce));
            let _: i64 = self.db.query("RedisNonceStore::put", &cmd).await?;
            return Ok(());
        };
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.key(nonce)).arg(member_id).arg("PX").arg(ms);
        let _: String = self.db.query("RedisNonceStore::put", &cmd).await?;
        Ok(())
    }

    async fn take(&self, nonce: &str) -> Result<Option<String>, Error> {
        let mut cmd = redis::cmd("GETDEL");
        cmd.arg(self.key(nonce));
        self.db.query("RedisNonceStore::take", &cmd).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttls_round_to_at_least_a_millisecond() {
        assert_eq!(ttl_ms(Duration::ZERO), None);
        assert_eq!(ttl_ms(Duration::from_micros(10)), Some(1));
        assert_eq!(ttl_ms(Duration::from_secs(2)), Some(2_000));
    }
}
