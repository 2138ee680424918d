//! The webhook stores on SQLite.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::sqlite::SqliteDb;
use super::{expand, expiry_ms, store_error, DEFAULT_PREFIX, PURGE_BATCH, PURGE_EVERY};
use crate::clock::{Clock, SystemClock};
use crate::error::Error;
use crate::webhook::account_link::NonceStore;
use crate::webhook::dedupe::DedupeStore;

const DEDUPE_MIGRATIONS: &[&str] = &[
    "CREATE TABLE {p}dedupe (id TEXT PRIMARY KEY, expires_ms INTEGER NOT NULL) WITHOUT ROWID;
     CREATE INDEX {p}dedupe_expiry ON {p}dedupe (expires_ms);",
];

const NONCE_MIGRATIONS: &[&str] = &[
    "CREATE TABLE {p}nonce (nonce TEXT PRIMARY KEY, member TEXT NOT NULL, expires_ms INTEGER NOT NULL) WITHOUT ROWID;
     CREATE INDEX {p}nonce_expiry ON {p}nonce (expires_ms);",
];

struct Sql {
    first_seen: String,
    forget: String,
    purge: String,
}

/// A [`DedupeStore`] in a SQLite file (feature `sqlite`).
///
/// `first_seen` is one statement (`INSERT … ON CONFLICT DO UPDATE … WHERE expired`):
/// the ID is recorded, or its expired record renewed, or nothing changes, atomically,
/// also across processes sharing the file. Every 256 writes a batch of expired IDs is
/// deleted through the index on expiry.
pub struct SqliteDedupeStore {
    db: SqliteDb,
    clock: Arc<dyn Clock>,
    sql: Arc<Sql>,
    writes: AtomicU64,
}

impl fmt::Debug for SqliteDedupeStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteDedupeStore")
            .field("db", &self.db)
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

impl SqliteDedupeStore {
    /// The store in `db`, tables under [`DEFAULT_PREFIX`], on the system clock.
    /// Creates or upgrades its table.
    pub async fn new(db: &SqliteDb) -> Result<Self, Error> {
        Self::with_prefix(db, DEFAULT_PREFIX).await
    }

    /// The store in `db` with tables under `prefix`.
    pub async fn with_prefix(db: &SqliteDb, prefix: &str) -> Result<Self, Error> {
        db.migrate("SqliteDedupeStore", prefix, "dedupe", DEDUPE_MIGRATIONS)
            .await?;
        Ok(Self {
            db: db.clone(),
            clock: Arc::new(SystemClock),
            sql: Arc::new(Sql {
                first_seen: expand(
                    "INSERT INTO {p}dedupe (id, expires_ms) VALUES (?1, ?2) \
                     ON CONFLICT (id) DO UPDATE SET expires_ms = excluded.expires_ms \
                     WHERE {p}dedupe.expires_ms <= ?3",
                    prefix,
                ),
                forget: expand("DELETE FROM {p}dedupe WHERE id = ?1", prefix),
                purge: expand(
                    "DELETE FROM {p}dedupe WHERE id IN \
                     (SELECT id FROM {p}dedupe WHERE expires_ms <= ?1 ORDER BY expires_ms LIMIT ?2)",
                    prefix,
                ),
            }),
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
        let sql = self.sql.clone();
        self.db
            .call(move |c| {
                Ok(c.prepare_cached(&sql.purge)?
                    .execute(rusqlite::params![now, i64::MAX])? as u64)
            })
            .await
            .map_err(|e| store_error("SqliteDedupeStore::purge_expired", e))
    }
}

#[async_trait]
impl DedupeStore for SqliteDedupeStore {
    async fn first_seen(&self, webhook_event_id: &str, ttl: Duration) -> Result<bool, Error> {
        let now = self.clock.now().as_millisecond();
        let expires = expiry_ms(now, ttl);
        let id = webhook_event_id.to_owned();
        let sql = self.sql.clone();
        let purge = self.writes.fetch_add(1, Ordering::Relaxed) % PURGE_EVERY == PURGE_EVERY - 1;
        self.db
            .call(move |c| {
                let changed = c
                    .prepare_cached(&sql.first_seen)?
                    .execute(rusqlite::params![id, expires, now])?;
                if purge {
                    c.prepare_cached(&sql.purge)?
                        .execute(rusqlite::params![now, PURGE_BATCH])?;
                }
                // A record that expires at once is not kept: the ID is new, and stays new.
                Ok(changed == 1)
            })
            .await
            .map_err(|e| store_error("SqliteDedupeStore::first_seen", e))
    }

    async fn forget(&self, webhook_event_id: &str) -> Result<(), Error> {
        let id = webhook_event_id.to_owned();
        let sql = self.sql.clone();
        self.db
            .call(move |c| {
                c.prepare_cached(&sql.forget)?.execute([id])?;
                Ok(())
            })
            .await
            .map_err(|e| store_error("SqliteDedupeStore::forget", e))
    }
}

struct NonceSql {
    put: String,
    take: String,
    purge: String,
}

/// A [`NonceStore`] in a SQLite file (feature `sqlite`).
///
/// `take` is one statement (`DELETE … RETURNING`), so a nonce is given out once even
/// when two processes sharing the file take it at once. Nonces never appear in
/// `Debug` output.
pub struct SqliteNonceStore {
    db: SqliteDb,
    clock: Arc<dyn Clock>,
    sql: Arc<NonceSql>,
    writes: AtomicU64,
}

impl fmt::Debug for SqliteNonceStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteNonceStore")
            .field("db", &self.db)
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

impl SqliteNonceStore {
    /// The store in `db`, tables under [`DEFAULT_PREFIX`], on the system clock.
    pub async fn new(db: &SqliteDb) -> Result<Self, Error> {
        Self::with_prefix(db, DEFAULT_PREFIX).await
    }

    /// The store in `db` with tables under `prefix`.
    pub async fn with_prefix(db: &SqliteDb, prefix: &str) -> Result<Self, Error> {
        db.migrate("SqliteNonceStore", prefix, "nonce", NONCE_MIGRATIONS)
            .await?;
        Ok(Self {
            db: db.clone(),
            clock: Arc::new(SystemClock),
            sql: Arc::new(NonceSql {
                put: expand(
                    "INSERT INTO {p}nonce (nonce, member, expires_ms) VALUES (?1, ?2, ?3) \
                     ON CONFLICT (nonce) DO UPDATE SET member = excluded.member, expires_ms = excluded.expires_ms",
                    prefix,
                ),
                take: expand(
                    "DELETE FROM {p}nonce WHERE nonce = ?1 RETURNING member, expires_ms",
                    prefix,
                ),
                purge: expand(
                    "DELETE FROM {p}nonce WHERE nonce IN \
                     (SELECT nonce FROM {p}nonce WHERE expires_ms <= ?1 ORDER BY expires_ms LIMIT ?2)",
                    prefix,
                ),
            }),
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
        let sql = self.sql.clone();
        self.db
            .call(move |c| {
                Ok(c.prepare_cached(&sql.purge)?
                    .execute(rusqlite::params![now, i64::MAX])? as u64)
            })
            .await
            .map_err(|e| store_error("SqliteNonceStore::purge_expired", e))
    }
}

#[async_trait]
impl NonceStore for SqliteNonceStore {
    async fn put(&self, nonce: &str, member_id: &str, ttl: Duration) -> Result<(), Error> {
        let now = self.clock.now().as_millisecond();
        let expires = expiry_ms(now, ttl);
        let (nonce, member) = (nonce.to_owned(), member_id.to_owned());
        let sql = self.sql.clone();
        let purge = self.writes.fetch_add(1, Ordering::Relaxed) % PURGE_EVERY == PURGE_EVERY - 1;
        self.db
            .call(move |c| {
                c.prepare_cached(&sql.put)?
                    .execute(rusqlite::params![nonce, member, expires])?;
                if purge {
                    c.prepare_cached(&sql.purge)?
                        .execute(rusqlite::params![now, PURGE_BATCH])?;
                }
                Ok(())
            })
            .await
            .map_err(|e| store_error("SqliteNonceStore::put", e))
    }

    async fn take(&self, nonce: &str) -> Result<Option<String>, Error> {
        let now = self.clock.now().as_millisecond();
        let nonce = nonce.to_owned();
        let sql = self.sql.clone();
        self.db
            .call(move |c| {
                let mut stmt = c.prepare_cached(&sql.take)?;
                let mut rows = stmt.query([nonce])?;
                let taken = match rows.next()? {
                    Some(row) => {
                        let member: String = row.get(0)?;
                        let expires: i64 = row.get(1)?;
                        (expires > now).then_some(member)
                    }
                    None => None,
                };
                Ok(taken)
            })
            .await
            .map_err(|e| store_error("SqliteNonceStore::take", e))
    }
}
