//! The retry keys of resumable fan-outs, on PostgreSQL (features `postgres` and `client`).

use std::collections::HashMap;
use std::fmt;

use async_trait::async_trait;

use super::postgres::{BoxError, PgPool};
use super::{expand, store_error, DEFAULT_PREFIX};
use crate::client::RetryKeyStore;
use crate::error::Error;
use crate::ids::RetryKey;

const MIGRATIONS: &[&str] = &["CREATE TABLE {p}retry_key (
        run TEXT NOT NULL,
        recipient TEXT NOT NULL,
        retry_key TEXT NOT NULL,
        PRIMARY KEY (run, recipient)
    );"];

/// A [`RetryKeyStore`] in PostgreSQL (features `postgres` and `client`): the retry keys
/// of a resumable `push_each`, shared by every process that resumes the run.
///
/// `keys` is one statement: an `INSERT … SELECT FROM unnest(…) ON CONFLICT DO UPDATE …
/// RETURNING` over the recipients in a fixed order, so a recipient already stored (by
/// this run earlier, or by another process at the same moment) comes back with its
/// stored key, and two processes proposing keys for one run at once agree on each.
pub struct PgRetryKeyStore {
    pool: PgPool,
    upsert: String,
    forget: String,
}

impl fmt::Debug for PgRetryKeyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgRetryKeyStore")
            .field("pool", &self.pool)
            .finish_non_exhaustive()
    }
}

impl PgRetryKeyStore {
    /// The store on `pool`, tables under [`DEFAULT_PREFIX`]. Creates or upgrades its table.
    pub async fn new(pool: &PgPool) -> Result<Self, Error> {
        Self::with_prefix(pool, DEFAULT_PREFIX).await
    }

    /// The store on `pool` with tables under `prefix`.
    pub async fn with_prefix(pool: &PgPool, prefix: &str) -> Result<Self, Error> {
        pool.migrate("PgRetryKeyStore", prefix, "retry_key", MIGRATIONS).await?;
        Ok(Self {
            pool: pool.clone(),
            // DO UPDATE (to the same value) rather than DO NOTHING: it waits for a
            // concurrent insert of the row and returns the committed key, which a
            // statement snapshot taken before that commit would not see.
            upsert: expand(
                "INSERT INTO {p}retry_key AS k (run, recipient, retry_key) \
                 SELECT $1, t.recipient, t.retry_key FROM unnest($2::text[], $3::text[]) AS t(recipient, retry_key) \
                 ON CONFLICT (run, recipient) DO UPDATE SET retry_key = k.retry_key \
                 RETURNING recipient, retry_key",
                prefix,
            ),
            forget: expand("DELETE FROM {p}retry_key WHERE run = $1", prefix),
        })
    }
}

#[async_trait]
impl RetryKeyStore for PgRetryKeyStore {
    async fn keys(&self, run: &str, proposed: &[(&str, RetryKey)]) -> Result<Vec<RetryKey>, Error> {
        if proposed.is_empty() {
            return Ok(Vec::new());
        }
        // One row per recipient (the first proposal wins), in a fixed order, so that
        // concurrent calls lock rows in the same order and cannot deadlock.
        let mut unique: Vec<(&str, String)> = Vec::with_capacity(proposed.len());
        let mut seen = std::collections::HashSet::with_capacity(proposed.len());
        for (recipient, key) in proposed {
            if seen.insert(*recipient) {
                unique.push((recipient, key.to_string()));
            }
        }
        unique.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let recipients: Vec<&str> = unique.iter().map(|(r, _)| *r).collect();
        let keys: Vec<&str> = unique.iter().map(|(_, k)| k.as_str()).collect();
        let run_sql = async {
            let conn = self.pool.get().await?;
            let c = conn.client();
            let stmt = c.prepare_cached(&self.upsert).await?;
            let rows = c.query(&stmt, &[&run, &recipients, &keys]).await?;
            let mut stored: HashMap<String, RetryKey> = HashMap::with_capacity(rows.len());
            for row in rows {
                let recipient: String = row.try_get(0)?;
                let key: String = row.try_get(1)?;
                stored.insert(recipient, key.parse::<RetryKey>()?);
            }
            Ok::<_, BoxError>(stored)
        };
        let stored = run_sql.await.map_err(|e| store_error("PgRetryKeyStore::keys", e))?;
        proposed
            .iter()
            .map(|(recipient, _)| {
                stored
                    .get(*recipient)
                    .copied()
                    .ok_or_else(|| store_error("PgRetryKeyStore::keys", "the database returned no key for a recipient"))
            })
            .collect()
    }

    async fn forget_run(&self, run: &str) -> Result<(), Error> {
        let run_sql = async {
            let conn = self.pool.get().await?;
            let c = conn.client();
            let stmt = c.prepare_cached(&self.forget).await?;
            c.execute(&stmt, &[&run]).await?;
            Ok::<_, BoxError>(())
        };
        run_sql.await.map_err(|e| store_error("PgRetryKeyStore::forget_run", e))
    }
}
