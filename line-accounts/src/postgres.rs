//! [`PgRegistry`]: the account registry in PostgreSQL, shared by many processes, and
//! [`PgBulkStore`]: the state of bulk send runs
//! (feature `postgres`).
//!
//! One table, `{prefix}accounts (channel_id PRIMARY KEY, bot_user_id UNIQUE, account)`,
//! where `account` is the entry's JSON in the registry file's format with the
//! private key inline. Secrets are stored as they are: restrict who can read the
//! table (see the crate docs on storage).

use async_trait::async_trait;
use line_core::store::postgres::{BoxError, PgPool};
use line_core::store::DEFAULT_PREFIX;

use crate::account::{from_stored_json, to_stored_json, Account, ChannelId};
use crate::error::{Error, ErrorKind};
use crate::registry::AccountRegistry;

const MIGRATIONS: &[&str] = &["
CREATE TABLE {p}accounts (channel_id TEXT PRIMARY KEY, bot_user_id TEXT NOT NULL UNIQUE, account TEXT NOT NULL);
"];

/// The account registry in PostgreSQL. Cheap to clone.
#[derive(Debug, Clone)]
pub struct PgRegistry {
    pool: PgPool,
    prefix: String,
}

impl PgRegistry {
    /// The registry on `pool`, under the default table prefix; creates its table.
    pub async fn new(pool: &PgPool) -> Result<Self, Error> {
        Self::with_prefix(pool, DEFAULT_PREFIX).await
    }

    /// The registry under `prefix`; creates its table.
    pub async fn with_prefix(pool: &PgPool, prefix: &str) -> Result<Self, Error> {
        pool.migrate("PgRegistry", prefix, "accounts", MIGRATIONS)
            .await
            .map_err(|e| Error::store("migrate", e))?;
        Ok(Self {
            pool: pool.clone(),
            prefix: prefix.to_owned(),
        })
    }

    fn sql(&self, s: &str) -> String {
        s.replace("{p}", &self.prefix)
    }

    async fn one(&self, operation: &'static str, sql: String, key: &str) -> Result<Option<Account>, Error> {
        let run = async {
            let conn = self.pool.get().await?;
            let stmt = conn.client().prepare_cached(&sql).await?;
            let row = conn.client().query_opt(&stmt, &[&key]).await?;
            Ok::<_, BoxError>(row.map(|r| r.get::<_, String>(0)))
        };
        let json = run.await.map_err(|e| Error::store(operation, e))?;
        json.map(|j| from_stored_json(&j)).transpose()
    }
}

enum Put {
    Done(Option<String>),
    Conflict(String),
}

#[async_trait]
impl AccountRegistry for PgRegistry {
    async fn put(&self, account: Account) -> Result<Option<Account>, Error> {
        let channel = account.channel_id.as_str();
        let bot = account.bot_user_id.as_str();
        let json = to_stored_json(&account);
        let run = async {
            let mut conn = self.pool.get().await?;
            conn.begin();
            let c = conn.client();
            c.batch_execute("BEGIN").await?;
            // Lock the channel's row (if any), then look at the bot user ID's owner;
            // the unique index settles two channels racing for one bot user ID.
            let previous = c
                .query_opt(
                    &self.sql("SELECT account FROM {p}accounts WHERE channel_id = $1 FOR UPDATE"),
                    &[&channel],
                )
                .await?
                .map(|r| r.get::<_, String>(0));
            let holder = c
                .query_opt(
                    &self.sql("SELECT channel_id FROM {p}accounts WHERE bot_user_id = $1"),
                    &[&bot],
                )
                .await?
                .map(|r| r.get::<_, String>(0));
            if let Some(holder) = holder.filter(|h| h != channel) {
                c.batch_execute("ROLLBACK").await?;
                conn.done();
                return Ok::<_, BoxError>(Put::Conflict(holder));
            }
            let upsert = c
                .execute(
                    &self.sql(
                        "INSERT INTO {p}accounts (channel_id, bot_user_id, account) VALUES ($1, $2, $3) \
                         ON CONFLICT (channel_id) DO UPDATE SET bot_user_id = EXCLUDED.bot_user_id, account = EXCLUDED.account",
                    ),
                    &[&channel, &bot, &json],
                )
                .await;
            if let Err(e) = upsert {
                // Another channel took the bot user ID since we looked.
                let conflict = e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION);
                c.batch_execute("ROLLBACK").await?;
                let holder = if conflict {
                    c.query_opt(
                        &self.sql("SELECT channel_id FROM {p}accounts WHERE bot_user_id = $1"),
                        &[&bot],
                    )
                    .await?
                    .map(|r| r.get::<_, String>(0))
                } else {
                    None
                };
                conn.done();
                return match (conflict, holder) {
                    (true, h) => Ok(Put::Conflict(h.unwrap_or_default())),
                    (false, _) => Err(Box::new(e) as BoxError),
                };
            }
            c.batch_execute("COMMIT").await?;
            conn.done();
            Ok(Put::Done(previous))
        };
        match run.await.map_err(|e| Error::store("put", e))? {
            Put::Conflict(holder) => Err(Error::new(ErrorKind::Conflict {
                existing_channel: holder,
                bot_user_id: account.bot_user_id.to_string(),
            })),
            Put::Done(previous) => previous.map(|j| from_stored_json(&j)).transpose(),
        }
    }

    async fn get(&self, channel_id: &ChannelId) -> Result<Option<Account>, Error> {
        let sql = self.sql("SELECT account FROM {p}accounts WHERE channel_id = $1");
        self.one("get", sql, channel_id.as_str()).await
    }

    async fn by_bot_user_id(&self, bot_user_id: &str) -> Result<Option<Account>, Error> {
        let sql = self.sql("SELECT account FROM {p}accounts WHERE bot_user_id = $1");
        self.one("by_bot_user_id", sql, bot_user_id).await
    }

    async fn remove(&self, channel_id: &ChannelId) -> Result<Option<Account>, Error> {
        let sql = self.sql("DELETE FROM {p}accounts WHERE channel_id = $1 RETURNING account");
        self.one("remove", sql, channel_id.as_str()).await
    }

    async fn channel_ids(&self) -> Result<Vec<ChannelId>, Error> {
        let sql = self.sql("SELECT channel_id FROM {p}accounts");
        let run = async {
            let conn = self.pool.get().await?;
            let rows = conn.client().query(&sql, &[]).await?;
            Ok::<_, BoxError>(rows.into_iter().map(|r| r.get::<_, String>(0)).collect::<Vec<_>>())
        };
        let ids = run.await.map_err(|e| Error::store("channel_ids", e))?;
        let mut ids = ids.into_iter().map(ChannelId::new).collect::<Result<Vec<_>, _>>()?;
        ids.sort();
        Ok(ids)
    }
}

// ---- The state of bulk send runs. ----

use line_core::RetryKey;

use crate::bulk::store::{outcome_from_json, outcome_to_json, skip_from_json, skip_to_json};
use crate::bulk::{BulkStore, Chunk, ChunkOutcome, PlannedAccount, RunPlan, SkipReason};

const BULK_MIGRATIONS: &[&str] = &["
CREATE TABLE {p}bulk_run (run TEXT PRIMARY KEY, campaign TEXT NOT NULL, chunk_size BIGINT NOT NULL);
CREATE TABLE {p}bulk_account (
    run TEXT NOT NULL, channel_id TEXT NOT NULL, recipients BIGINT NOT NULL, skip TEXT,
    PRIMARY KEY (run, channel_id)
);
CREATE TABLE {p}bulk_chunk (
    run TEXT NOT NULL, channel_id TEXT NOT NULL, chunk BIGINT NOT NULL, recipients BIGINT NOT NULL,
    retry_key TEXT NOT NULL, accepted BOOLEAN NOT NULL DEFAULT FALSE, outcome TEXT,
    PRIMARY KEY (run, channel_id, chunk)
);
"];

/// The state of bulk send runs in PostgreSQL (feature `postgres`), shared by
/// every process that sends or resumes a run: a run's plan, and each chunk's
/// retry key and outcome. Cheap to clone.
///
/// Tables `{prefix}bulk_run`, `{prefix}bulk_account` and `{prefix}bulk_chunk`;
/// no secret is stored. A chunk's key is inserted with `ON CONFLICT DO NOTHING`
/// and read back, so two processes resuming one run agree on every key.
#[derive(Debug, Clone)]
pub struct PgBulkStore {
    pool: PgPool,
    prefix: String,
}

impl PgBulkStore {
    /// The store on `pool`, under the default table prefix; creates its tables.
    pub async fn new(pool: &PgPool) -> Result<Self, Error> {
        Self::with_prefix(pool, DEFAULT_PREFIX).await
    }

    /// The store under `prefix`; creates its tables.
    pub async fn with_prefix(pool: &PgPool, prefix: &str) -> Result<Self, Error> {
        pool.migrate("PgBulkStore", prefix, "bulk", BULK_MIGRATIONS)
            .await
            .map_err(|e| Error::store("migrate", e))?;
        Ok(Self {
            pool: pool.clone(),
            prefix: prefix.to_owned(),
        })
    }

    fn sql(&self, s: &str) -> String {
        s.replace("{p}", &self.prefix)
    }

    async fn read_plan(&self, c: &tokio_postgres::Client, run: &str) -> Result<Option<RunPlan>, BoxError> {
        let head = c
            .query_opt(
                &self.sql("SELECT campaign, chunk_size FROM {p}bulk_run WHERE run = $1"),
                &[&run],
            )
            .await?;
        let Some(head) = head else {
            return Ok(None);
        };
        let rows = c
            .query(
                &self.sql("SELECT channel_id, recipients, skip FROM {p}bulk_account WHERE run = $1"),
                &[&run],
            )
            .await?;
        let mut accounts = Vec::with_capacity(rows.len());
        for r in rows {
            let id: String = r.try_get(0)?;
            let recipients: i64 = r.try_get(1)?;
            let skip: Option<String> = r.try_get(2)?;
            accounts.push(PlannedAccount::new(
                ChannelId::new(id)?,
                u64::try_from(recipients).unwrap_or(0),
                skip_from_json(skip)?,
            ));
        }
        let chunk_size: i64 = head.try_get(1)?;
        Ok(Some(RunPlan::new(
            head.try_get::<_, String>(0)?,
            u32::try_from(chunk_size).unwrap_or(0),
            accounts,
        )))
    }
}

fn pg_chunk(r: &tokio_postgres::Row) -> Result<Chunk, BoxError> {
    let channel: String = r.try_get(0)?;
    let index: i64 = r.try_get(1)?;
    let recipients: i64 = r.try_get(2)?;
    let key: String = r.try_get(3)?;
    let outcome: Option<String> = r.try_get(4)?;
    Ok(Chunk {
        channel_id: ChannelId::new(channel)?,
        index: u32::try_from(index)?,
        recipients: u32::try_from(recipients)?,
        retry_key: key.parse::<RetryKey>()?,
        outcome: outcome_from_json(outcome)?,
    })
}

#[async_trait]
impl BulkStore for PgBulkStore {
    async fn begin_run(&self, run: &str, plan: &RunPlan) -> Result<RunPlan, Error> {
        let ids: Vec<&str> = plan.accounts.iter().map(|a| a.channel_id.as_str()).collect();
        let recipients: Vec<i64> = plan
            .accounts
            .iter()
            .map(|a| i64::try_from(a.recipients).unwrap_or(i64::MAX))
            .collect();
        let skips: Vec<Option<String>> = plan.accounts.iter().map(|a| skip_to_json(a.skip.as_ref())).collect();
        let chunk_size = i64::from(plan.chunk_size);
        let body = async {
            let mut conn = self.pool.get().await?;
            conn.begin();
            let c = conn.client();
            c.batch_execute("BEGIN").await?;
            let inserted = c
                .execute(
                    &self.sql(
                        "INSERT INTO {p}bulk_run (run, campaign, chunk_size) VALUES ($1, $2, $3) \
                         ON CONFLICT (run) DO NOTHING",
                    ),
                    &[&run, &plan.campaign, &chunk_size],
                )
                .await?;
            if inserted == 1 {
                c.execute(
                    &self.sql(
                        "INSERT INTO {p}bulk_account (run, channel_id, recipients, skip) \
                         SELECT $1, t.id, t.n, t.skip FROM unnest($2::text[], $3::bigint[], $4::text[]) AS t(id, n, skip)",
                    ),
                    &[&run, &ids, &recipients, &skips],
                )
                .await?;
            }
            c.batch_execute("COMMIT").await?;
            conn.done();
            self.read_plan(conn.client(), run).await
        };
        match body.await.map_err(|e| Error::store("begin_run", e))? {
            Some(p) => Ok(p),
            None => Err(Error::store("begin_run", "the run was not stored")),
        }
    }

    async fn run_plan(&self, run: &str) -> Result<Option<RunPlan>, Error> {
        let body = async {
            let conn = self.pool.get().await?;
            self.read_plan(conn.client(), run).await
        };
        body.await.map_err(|e| Error::store("run_plan", e))
    }

    async fn runs(&self) -> Result<Vec<String>, Error> {
        let sql = self.sql("SELECT run FROM {p}bulk_run ORDER BY run");
        let body = async {
            let conn = self.pool.get().await?;
            let rows = conn.client().query(&sql, &[]).await?;
            rows.iter()
                .map(|r| r.try_get::<_, String>(0).map_err(BoxError::from))
                .collect::<Result<Vec<_>, _>>()
        };
        body.await.map_err(|e| Error::store("runs", e))
    }

    async fn set_skip(&self, run: &str, channel_id: &ChannelId, skip: Option<&SkipReason>) -> Result<(), Error> {
        let sql = self.sql("UPDATE {p}bulk_account SET skip = $3 WHERE run = $1 AND channel_id = $2");
        let json = skip_to_json(skip);
        let body = async {
            let conn = self.pool.get().await?;
            conn.client()
                .execute(&sql, &[&run, &channel_id.as_str(), &json])
                .await?;
            Ok::<_, BoxError>(())
        };
        body.await.map_err(|e| Error::store("set_skip", e))
    }

    async fn reserve_chunks(
        &self,
        run: &str,
        channel_id: &ChannelId,
        proposed: &[(u32, RetryKey)],
    ) -> Result<Vec<Chunk>, Error> {
        let indices: Vec<i64> = (0..proposed.len() as i64).collect();
        let recipients: Vec<i64> = proposed.iter().map(|(n, _)| i64::from(*n)).collect();
        let keys: Vec<String> = proposed.iter().map(|(_, k)| k.to_string()).collect();
        let channel = channel_id.as_str();
        let body = async {
            let conn = self.pool.get().await?;
            let c = conn.client();
            let known = c
                .query_opt(&self.sql("SELECT 1 FROM {p}bulk_run WHERE run = $1"), &[&run])
                .await?;
            if known.is_none() {
                return Err(BoxError::from(format!("no run {run:?}")));
            }
            c.execute(
                &self.sql(
                    "INSERT INTO {p}bulk_chunk (run, channel_id, chunk, recipients, retry_key) \
                     SELECT $1, $2, t.i, t.n, t.k FROM unnest($3::bigint[], $4::bigint[], $5::text[]) AS t(i, n, k) \
                     ORDER BY t.i ON CONFLICT (run, channel_id, chunk) DO NOTHING",
                ),
                &[&run, &channel, &indices, &recipients, &keys],
            )
            .await?;
            let rows = c
                .query(
                    &self.sql(
                        "SELECT channel_id, chunk, recipients, retry_key, outcome FROM {p}bulk_chunk \
                         WHERE run = $1 AND channel_id = $2 ORDER BY chunk",
                    ),
                    &[&run, &channel],
                )
                .await?;
            rows.iter().map(pg_chunk).collect::<Result<Vec<_>, _>>()
        };
        body.await.map_err(|e| Error::store("reserve_chunks", e))
    }

    async fn record_outcome(
        &self,
        run: &str,
        channel_id: &ChannelId,
        index: u32,
        outcome: &ChunkOutcome,
    ) -> Result<(), Error> {
        let json = outcome_to_json(outcome);
        let accepted = outcome.is_accepted();
        let index = i64::from(index);
        let channel = channel_id.as_str();
        let body = async {
            let conn = self.pool.get().await?;
            let c = conn.client();
            let changed = c
                .execute(
                    &self.sql(
                        "UPDATE {p}bulk_chunk SET outcome = $4, accepted = $5 \
                         WHERE run = $1 AND channel_id = $2 AND chunk = $3 AND NOT accepted",
                    ),
                    &[&run, &channel, &index, &json, &accepted],
                )
                .await?;
            if changed == 0 {
                let exists = c
                    .query_opt(
                        &self.sql("SELECT 1 FROM {p}bulk_chunk WHERE run = $1 AND channel_id = $2 AND chunk = $3"),
                        &[&run, &channel, &index],
                    )
                    .await?;
                if exists.is_none() {
                    return Err(BoxError::from(format!("chunk {index} was never reserved")));
                }
            }
            Ok(())
        };
        body.await.map_err(|e| Error::store("record_outcome", e))
    }

    async fn chunks(&self, run: &str) -> Result<Vec<Chunk>, Error> {
        let sql = self.sql(
            "SELECT channel_id, chunk, recipients, retry_key, outcome FROM {p}bulk_chunk \
             WHERE run = $1 ORDER BY channel_id, chunk",
        );
        let body = async {
            let conn = self.pool.get().await?;
            let rows = conn.client().query(&sql, &[&run]).await?;
            rows.iter().map(pg_chunk).collect::<Result<Vec<_>, _>>()
        };
        let mut chunks = body.await.map_err(|e| Error::store("chunks", e))?;
        chunks.sort_by(|a, b| a.channel_id.cmp(&b.channel_id).then(a.index.cmp(&b.index)));
        Ok(chunks)
    }

    async fn forget_run(&self, run: &str) -> Result<(), Error> {
        let body = async {
            let conn = self.pool.get().await?;
            let c = conn.client();
            for table in ["bulk_chunk", "bulk_account", "bulk_run"] {
                c.execute(&self.sql(&format!("DELETE FROM {{p}}{table} WHERE run = $1")), &[&run])
                    .await?;
            }
            Ok::<_, BoxError>(())
        };
        body.await.map_err(|e| Error::store("forget_run", e))
    }
}
