//! The webhook stores on PostgreSQL.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::postgres::{execute_planned, BoxError, PgPool, TypedParam};
use super::{expand, expiry_ms, store_error, DEFAULT_PREFIX, PURGE_BATCH, PURGE_EVERY};
use crate::clock::{Clock, SystemClock};
use crate::error::Error;
use crate::webhook::account_link::NonceStore;
use crate::webhook::dedupe::DedupeStore;

const DEDUPE_MIGRATIONS: &[&str] = &[
    "CREATE TABLE {p}dedupe (id TEXT PRIMARY KEY, expires_ms BIGINT NOT NULL);
     CREATE INDEX {p}dedupe_expiry ON {p}dedupe (expires_ms);",
];

const NONCE_MIGRATIONS: &[&str] = &[
    "CREATE TABLE {p}nonce (nonce TEXT PRIMARY KEY, member TEXT NOT NULL, expires_ms BIGINT NOT NULL);
     CREATE INDEX {p}nonce_expiry ON {p}nonce (expires_ms);",
];

/// A [`DedupeStore`] in PostgreSQL (feature `postgres`).
///
/// `first_seen` is one statement (`INSERT … ON CONFLICT DO UPDATE … WHERE expired`),
/// atomic across every process on the database. Every 256 writes of a process, a batch
/// of expired IDs is deleted through the index on expiry (`FOR UPDATE SKIP LOCKED`, so
/// two processes purging at once do not wait on each other).
pub struct PgDedupeStore {
    pool: PgPool,
    clock: Arc<dyn Clock>,
    first_seen: String,
    forget: String,
    purge: String,
    writes: AtomicU64,
}

impl fmt::Debug for PgDedupeStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgDedupeStore")
            .field("pool", &self.pool)
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

fn purge_sql(table: &str, key: &str, prefix: &str) -> String {
    expand(
        &format!(
            "DELETE FROM {{p}}{table} WHERE {key} = ANY(ARRAY(SELECT {key} FROM {{p}}{table} \
             WHERE expires_ms <= $1 ORDER BY expires_ms LIMIT $2 FOR UPDATE SKIP LOCKED))"
        ),
        prefix,
    )
}

impl PgDedupeStore {
    /// The store on `pool`, tables under [`DEFAULT_PREFIX`], on the system clock.
    /// Creates or upgrades its table.
    pub async fn new(pool: &PgPool) -> Result<Self, Error> {
        Self::with_prefix(pool, DEFAULT_PREFIX).await
    }

    /// The store on `pool` with tables under `prefix`.
    pub async fn with_prefix(pool: &PgPool, prefix: &str) -> Result<Self, Error> {
        pool.migrate("PgDedupeStore", prefix, "dedupe", DEDUPE_MIGRATIONS)
            .await?;
        Ok(Self {
            pool: pool.clone(),
            clock: Arc::new(SystemClock),
            first_seen: expand(
                "INSERT INTO {p}dedupe AS d (id, expires_ms) VALUES ($1, $2) \
                 ON CONFLICT (id) DO UPDATE SET expires_ms = EXCLUDED.expires_ms WHERE d.expires_ms <= $3",
                prefix,
            ),
            forget: expand("DELETE FROM {p}dedupe WHERE id = $1", prefix),
            purge: purge_sql("dedupe", "id", prefix),
            writes: AtomicU64::new(0),
        })
    }

    /// Uses `clock` for expiry (a [`ManualClock`](crate::clock::ManualClock) in tests).
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Deletes every expired ID; returns how many.
    pub async fn purge_expired(&self) -> Result<u64, Error> {
        let now = self.clock.now().as_millisecond();
        purge(&self.pool, &self.purge, now, i64::MAX)
            .await
            .map_err(|e| store_error("PgDedupeStore::purge_expired", e))
    }
}

/// Deletes at most `limit` entries expired at `now`, planned on each call
/// ([`execute_planned`]): the table's size swings.
async fn purge(pool: &PgPool, sql: &str, now: i64, limit: i64) -> Result<u64, BoxError> {
    use tokio_postgres::types::Type;
    let conn = pool.get().await?;
    let params: [TypedParam<'_>; 2] = [(&now, Type::INT8), (&limit, Type::INT8)];
    Ok(execute_planned(conn.client(), sql, &params).await?)
}

#[async_trait]
impl DedupeStore for PgDedupeStore {
    async fn first_seen(&self, webhook_event_id: &str, ttl: Duration) -> Result<bool, Error> {
        let now = self.clock.now().as_millisecond();
        let expires = expiry_ms(now, ttl);
        let run = async {
            let conn = self.pool.get().await?;
            let c = conn.client();
            let stmt = c.prepare_cached(&self.first_seen).await?;
            let changed = c.execute(&stmt, &[&webhook_event_id, &expires, &now]).await?;
            Ok::<_, BoxError>(changed == 1)
        };
        let new = run.await.map_err(|e| store_error("PgDedupeStore::first_seen", e))?;
        if self.writes.fetch_add(1, Ordering::Relaxed) % PURGE_EVERY == PURGE_EVERY - 1 {
            purge(&self.pool, &self.purge, now, PURGE_BATCH)
                .await
                .map_err(|e| store_error("PgDedupeStore::purge_expired", e))?;
        }
        Ok(new)
    }

    async fn forget(&self, webhook_event_id: &str) -> Result<(), Error> {
        let run = async {
            let conn = self.pool.get().await?;
            let c = conn.client();
            let stmt = c.prepare_cached(&self.forget).await?;
            c.execute(&stmt, &[&webhook_event_id]).await?;
            Ok::<_, BoxError>(())
        };
        run.await.map_err(|e| store_error("PgDedupeStore::forget", e))
    }
}

/// A [`NonceStore`] in PostgreSQL (feature `postgres`).
///
/// `take` is one statement (`DELETE … RETURNING`), so a nonce is given out once across
/// every process on the database. Nonces never appear in `Debug` output.
pub struct PgNonceStore {
    pool: PgPool,
    clock: Arc<dyn Clock>,
    put: String,
    take: String,
    purge: String,
    writes: AtomicU64,
}

impl fmt::Debug for PgNonceStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgNonceStore")
            .field("pool", &self.pool)
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

impl PgNonceStore {
    /// The store on `pool`, tables under [`DEFAULT_PREFIX`], on the system clock.
    pub async fn new(pool: &PgPool) -> Result<Self, Error> {
        Self::with_prefix(pool, DEFAULT_PREFIX).await
    }

    /// The store on `pool` with tables under `prefix`.
    pub async fn with_prefix(pool: &PgPool, prefix: &str) -> Result<Self, Error> {
        pool.migrate("PgNonceStore", prefix, "nonce", NONCE_MIGRATIONS).await?;
        Ok(Self {
            pool: pool.clone(),
            clock: Arc::new(SystemClock),
            put: expand(
                "INSERT INTO {p}nonce (nonce, member, expires_ms) VALUES ($1, $2, $3) \
                 ON CONFLICT (nonce) DO UPDATE SET member = EXCLUDED.member, expires_ms = EXCLUDED.expires_ms",
                prefix,
            ),
            take: expand(
                "DELETE FROM {p}nonce WHERE nonce = $1 RETURNING member, expires_ms",
                prefix,
            ),
            purge: purge_sql("nonce", "nonce", prefix),
            writes: AtomicU64::new(0),
        })
    }

    /// Uses `clock` for expiry (a [`ManualClock`](crate::clock::ManualClock) in tests).
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Deletes every expired nonce; returns how many.
    pub async fn purge_expired(&self) -> Result<u64, Error> {
        let now = self.clock.now().as_millisecond();
        purge(&self.pool, &self.purge, now, i64::MAX)
            .await
            .map_err(|e| store_error("PgNonceStore::purge_expired", e))
    }
}

#[async_trait]
impl NonceStore for PgNonceStore {
    async fn put(&self, nonce: &str, member_id: &str, ttl: Duration) -> Result<(), Error> {
        let now = self.clock.now().as_millisecond();
        let expires = expiry_ms(now, ttl);
        let run = async {
            let conn = self.pool.get().await?;
            let c = conn.client();
            let stmt = c.prepare_cached(&self.put).await?;
            c.execute(&stmt, &[&nonce, &member_id, &expires]).await?;
            Ok::<_, BoxError>(())
        };
        run.await.map_err(|e| store_error("PgNonceStore::put", e))?;
        if self.writes.fetch_add(1, Ordering::Relaxed) % PURGE_EVERY == PURGE_EVERY - 1 {
            purge(&self.pool, &self.purge, now, PURGE_BATCH)
                .await
                .map_err(|e| store_error("PgNonceStore::purge_expired", e))?;
        }
        Ok(())
    }

    async fn take(&self, nonce: &str) -> Result<Option<String>, Error> {
        let now = self.clock.now().as_millisecond();
        let run = async {
            let conn = self.pool.get().await?;
            let c = conn.client();
            let stmt = c.prepare_cached(&self.take).await?;
            let row = c.query_opt(&stmt, &[&nonce]).await?;
            let Some(row) = row else { return Ok(None) };
            let expires: i64 = row.try_get(1)?;
            let member: String = row.try_get(0)?;
            Ok::<_, BoxError>((expires > now).then_some(member))
        };
        run.await.map_err(|e| store_error("PgNonceStore::take", e))
    }
}
