//! The retry keys of resumable fan-outs, on SQLite (features `sqlite` and `client`).

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use super::sqlite::SqliteDb;
use super::{expand, store_error, DEFAULT_PREFIX};
use crate::client::RetryKeyStore;
use crate::error::Error;
use crate::ids::RetryKey;

const MIGRATIONS: &[&str] = &["CREATE TABLE {p}retry_key (
        run TEXT NOT NULL,
        recipient TEXT NOT NULL,
        retry_key TEXT NOT NULL,
        PRIMARY KEY (run, recipient)
    ) WITHOUT ROWID;"];

struct Sql {
    insert: String,
    select: String,
    forget: String,
}

/// A [`RetryKeyStore`] in a SQLite file (features `sqlite` and `client`): the retry
/// keys of a resumable `push_each` survive a crash of the process, so a re-run after a
/// restart reuses every key and LINE answers "accepted earlier" (409) for the pushes the
/// first run already made, rather than delivering them twice.
///
/// One call of `keys` is one transaction (an `INSERT … ON CONFLICT DO NOTHING` and a
/// `SELECT` per recipient), so two processes resuming one run at once agree on every key.
pub struct SqliteRetryKeyStore {
    db: SqliteDb,
    sql: Arc<Sql>,
}

impl fmt::Debug for SqliteRetryKeyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteRetryKeyStore")
            .field("db", &self.db)
            .finish_non_exhaustive()
    }
}

impl SqliteRetryKeyStore {
    /// The store in `db`, tables under [`DEFAULT_PREFIX`]. Creates or upgrades its table.
    pub async fn new(db: &SqliteDb) -> Result<Self, Error> {
        Self::with_prefix(db, DEFAULT_PREFIX).await
    }

    /// The store in `db` with tables under `prefix`.
    pub async fn with_prefix(db: &SqliteDb, prefix: &str) -> Result<Self, Error> {
        db.migrate("SqliteRetryKeyStore", prefix, "retry_key", MIGRATIONS)
            .await?;
        Ok(Self {
            db: db.clone(),
            sql: Arc::new(Sql {
                insert: expand(
                    "INSERT INTO {p}retry_key (run, recipient, retry_key) VALUES (?1, ?2, ?3) \
                     ON CONFLICT (run, recipient) DO NOTHING",
                    prefix,
                ),
                select: expand(
                    "SELECT retry_key FROM {p}retry_key WHERE run = ?1 AND recipient = ?2",
                    prefix,
                ),
                forget: expand("DELETE FROM {p}retry_key WHERE run = ?1", prefix),
            }),
        })
    }
}

#[async_trait]
impl RetryKeyStore for SqliteRetryKeyStore {
    async fn keys(&self, run: &str, proposed: &[(&str, RetryKey)]) -> Result<Vec<RetryKey>, Error> {
        if proposed.is_empty() {
            return Ok(Vec::new());
        }
        let run = run.to_owned();
        let proposed: Vec<(String, String)> = proposed.iter().map(|(r, k)| ((*r).to_owned(), k.to_string())).collect();
        let sql = self.sql.clone();
        self.db
            .call(move |c| {
                let mut insert = c.prepare_cached(&sql.insert)?;
                let mut select = c.prepare_cached(&sql.select)?;
                let mut keys = Vec::with_capacity(proposed.len());
                for (recipient, key) in &proposed {
                    insert.execute(rusqlite::params![run, recipient, key])?;
                    let stored: String = select.query_row(rusqlite::params![run, recipient], |r| r.get(0))?;
                    keys.push(stored.parse::<RetryKey>()?);
                }
                Ok(keys)
            })
            .await
            .map_err(|e| store_error("SqliteRetryKeyStore::keys", e))
    }

    async fn forget_run(&self, run: &str) -> Result<(), Error> {
        let run = run.to_owned();
        let sql = self.sql.clone();
        self.db
            .call(move |c| {
                c.prepare_cached(&sql.forget)?.execute([run])?;
                Ok(())
            })
            .await
            .map_err(|e| store_error("SqliteRetryKeyStore::forget_run", e))
    }
}
