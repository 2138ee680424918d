//! [`SqliteRegistry`]: the account registry in a SQLite file, and
//! [`SqliteBulkStore`]: the state of bulk send runs (feature `sqlite`).
//!
//! One table, `{prefix}accounts (channel_id PRIMARY KEY, bot_user_id UNIQUE, account)`,
//! where `account` is the entry's JSON in the registry file's format with the
//! private key inline. Secrets are stored as they are: protect the file as you
//! would the registry file (see the crate docs on storage).

use async_trait::async_trait;
use line_core::store::sqlite::SqliteDb;
use line_core::store::DEFAULT_PREFIX;
use rusqlite::OptionalExtension;

use crate::account::{from_stored_json, to_stored_json, Account, ChannelId};
use crate::error::{Error, ErrorKind};
use crate::registry::AccountRegistry;

const MIGRATIONS: &[&str] = &["
CREATE TABLE {p}accounts (channel_id TEXT PRIMARY KEY, bot_user_id TEXT NOT NULL UNIQUE, account TEXT NOT NULL) WITHOUT ROWID;
"];

/// The account registry in a SQLite file. Cheap to clone.
#[derive(Debug, Clone)]
pub struct SqliteRegistry {
    db: SqliteDb,
    prefix: String,
}

enum Put {
    Done(Option<String>),
    Conflict(String),
}

impl SqliteRegistry {
    /// The registry in `db`, under the default table prefix; creates its table.
    pub async fn new(db: &SqliteDb) -> Result<Self, Error> {
        Self::with_prefix(db, DEFAULT_PREFIX).await
    }

    /// The registry under `prefix`; creates its table.
    pub async fn with_prefix(db: &SqliteDb, prefix: &str) -> Result<Self, Error> {
        db.migrate("SqliteRegistry", prefix, "accounts", MIGRATIONS)
            .await
            .map_err(|e| Error::store("migrate", e))?;
        Ok(Self {
            db: db.clone(),
            prefix: prefix.to_owned(),
        })
    }

    fn sql(&self, s: &str) -> String {
        s.replace("{p}", &self.prefix)
    }

    async fn one(&self, operation: &'static str, sql: String, key: String) -> Result<Option<Account>, Error> {
        let json = self
            .db
            .call(move |c| Ok(c.query_row(&sql, [key], |r| r.get::<_, String>(0)).optional()?))
            .await
            .map_err(|e| Error::store(operation, e))?;
        json.map(|j| from_stored_json(&j)).transpose()
    }
}

#[async_trait]
impl AccountRegistry for SqliteRegistry {
    async fn put(&self, account: Account) -> Result<Option<Account>, Error> {
        let owner = self.sql("SELECT channel_id FROM {p}accounts WHERE bot_user_id = ?1");
        let old = self.sql("SELECT account FROM {p}accounts WHERE channel_id = ?1");
        let upsert = self.sql(
            "INSERT INTO {p}accounts (channel_id, bot_user_id, account) VALUES (?1, ?2, ?3) \
             ON CONFLICT (channel_id) DO UPDATE SET bot_user_id = excluded.bot_user_id, account = excluded.account",
        );
        let channel = account.channel_id.as_str().to_owned();
        let bot = account.bot_user_id.as_str().to_owned();
        let json = to_stored_json(&account);
        let outcome = self
            .db
            .call(move |c| {
                let holder: Option<String> = c.query_row(&owner, [&bot], |r| r.get(0)).optional()?;
                if let Some(holder) = holder.filter(|h| *h != channel) {
                    return Ok(Put::Conflict(holder));
                }
                let previous: Option<String> = c.query_row(&old, [&channel], |r| r.get(0)).optional()?;
                c.execute(&upsert, rusqlite::params![channel, bot, json])?;
                Ok(Put::Done(previous))
            })
            .await
            .map_err(|e| Error::store("put", e))?;
        match outcome {
            Put::Conflict(holder) => Err(Error::new(ErrorKind::Conflict {
                existing_channel: holder,
                bot_user_id: account.bot_user_id.to_string(),
            })),
            Put::Done(previous) => previous.map(|j| from_stored_json(&j)).transpose(),
        }
    }

    async fn get(&self, channel_id: &ChannelId) -> Result<Option<Account>, Error> {
        let sql = self.sql("SELECT account FROM {p}accounts WHERE channel_id = ?1");
        self.one("get", sql, channel_id.as_str().to_owned()).await
    }

    async fn by_bot_user_id(&self, bot_user_id: &str) -> Result<Option<Account>, Error> {
        let sql = self.sql("SELECT account FROM {p}accounts WHERE bot_user_id = ?1");
        self.one("by_bot_user_id", sql, bot_user_id.to_owned()).await
    }

    async fn remove(&self, channel_id: &ChannelId) -> Result<Option<Account>, Error> {
        let sql = self.sql("DELETE FROM {p}accounts WHERE channel_id = ?1 RETURNING account");
        self.one("remove", sql, channel_id.as_str().to_owned()).await
    }

    async fn channel_ids(&self) -> Result<Vec<ChannelId>, Error> {
        let sql = self.sql("SELECT channel_id FROM {p}accounts");
        let ids = self
            .db
            .call(move |c| {
                let mut stmt = c.prepare(&sql)?;
                let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
                Ok(rows.collect::<Result<Vec<String>, _>>()?)
            })
            .await
            .map_err(|e| Error::store("channel_ids", e))?;
        let mut ids = ids.into_iter().map(ChannelId::new).collect::<Result<Vec<_>, _>>()?;
        // Text order is not numeric order: sort as the in-memory registry does.
        ids.sort();
        Ok(ids)
    }
}

// ---- The state of bulk send runs. ----

use line_core::RetryKey;

use crate::bulk::store::{outcome_from_json, outcome_to_json, skip_from_json, skip_to_json};
use crate::bulk::{BulkStore, Chunk, ChunkOutcome, PlannedAccount, RunPlan, SkipReason};

const BULK_MIGRATIONS: &[&str] = &["
CREATE TABLE {p}bulk_run (run TEXT PRIMARY KEY, campaign TEXT NOT NULL, chunk_size INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE {p}bulk_account (
    run TEXT NOT NULL, channel_id TEXT NOT NULL, recipients INTEGER NOT NULL, skip TEXT,
    PRIMARY KEY (run, channel_id)
) WITHOUT ROWID;
CREATE TABLE {p}bulk_chunk (
    run TEXT NOT NULL, channel_id TEXT NOT NULL, chunk INTEGER NOT NULL, recipients INTEGER NOT NULL,
    retry_key TEXT NOT NULL, accepted INTEGER NOT NULL DEFAULT 0, outcome TEXT,
    PRIMARY KEY (run, channel_id, chunk)
) WITHOUT ROWID;
"];

/// The state of bulk send runs in a SQLite file (feature `sqlite`): a run's
/// plan, and each chunk's retry key and outcome, so a run resumed after a
/// restart sends nothing twice. Cheap to clone.
///
/// Tables `{prefix}bulk_run`, `{prefix}bulk_account` and `{prefix}bulk_chunk`;
/// no secret is stored. Each method is one transaction.
#[derive(Debug, Clone)]
pub struct SqliteBulkStore {
    db: SqliteDb,
    prefix: String,
}

type Row = (String, u32, u32, String, Option<String>);

/// A run as stored: campaign digest, chunk size, and per account (channel, recipients, skip JSON).
type RawPlan = (String, u32, Vec<(String, u64, Option<String>)>);

impl SqliteBulkStore {
    /// The store in `db`, under the default table prefix; creates its tables.
    pub async fn new(db: &SqliteDb) -> Result<Self, Error> {
        Self::with_prefix(db, DEFAULT_PREFIX).await
    }

    /// The store under `prefix`; creates its tables.
    pub async fn with_prefix(db: &SqliteDb, prefix: &str) -> Result<Self, Error> {
        db.migrate("SqliteBulkStore", prefix, "bulk", BULK_MIGRATIONS)
            .await
            .map_err(|e| Error::store("migrate", e))?;
        Ok(Self {
            db: db.clone(),
            prefix: prefix.to_owned(),
        })
    }

    fn sql(&self, s: &str) -> String {
        s.replace("{p}", &self.prefix)
    }
}

fn chunk_of(row: Row) -> Result<Chunk, Error> {
    let (channel, index, recipients, key, outcome) = row;
    Ok(Chunk {
        channel_id: ChannelId::new(channel)?,
        index,
        recipients,
        retry_key: key
            .parse::<RetryKey>()
            .map_err(|e| Error::store("read a retry key", e))?,
        outcome: outcome_from_json(outcome)?,
    })
}

fn read_plan(
    c: &rusqlite::Connection,
    runs: &str,
    accounts: &str,
    run: &str,
) -> Result<Option<RawPlan>, rusqlite::Error> {
    let head: Option<(String, u32)> = c.query_row(runs, [run], |r| Ok((r.get(0)?, r.get(1)?))).optional()?;
    let Some((campaign, chunk_size)) = head else {
        return Ok(None);
    };
    let mut stmt = c.prepare_cached(accounts)?;
    let rows = stmt.query_map([run], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64, r.get(2)?)))?;
    Ok(Some((campaign, chunk_size, rows.collect::<Result<Vec<_>, _>>()?)))
}

fn plan_of(raw: RawPlan) -> Result<RunPlan, Error> {
    let (campaign, chunk_size, rows) = raw;
    let accounts = rows
        .into_iter()
        .map(|(id, recipients, skip)| {
            Ok(PlannedAccount::new(
                ChannelId::new(id)?,
                recipients,
                skip_from_json(skip)?,
            ))
        })
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(RunPlan::new(campaign, chunk_size, accounts))
}

#[async_trait]
impl BulkStore for SqliteBulkStore {
    async fn begin_run(&self, run: &str, plan: &RunPlan) -> Result<RunPlan, Error> {
        let insert_run = self.sql(
            "INSERT INTO {p}bulk_run (run, campaign, chunk_size) VALUES (?1, ?2, ?3) ON CONFLICT (run) DO NOTHING",
        );
        let insert_account =
            self.sql("INSERT INTO {p}bulk_account (run, channel_id, recipients, skip) VALUES (?1, ?2, ?3, ?4)");
        let runs = self.sql("SELECT campaign, chunk_size FROM {p}bulk_run WHERE run = ?1");
        let accounts = self.sql("SELECT channel_id, recipients, skip FROM {p}bulk_account WHERE run = ?1");
        let run = run.to_owned();
        let campaign = plan.campaign.clone();
        let chunk_size = plan.chunk_size;
        let rows: Vec<(String, i64, Option<String>)> = plan
            .accounts
            .iter()
            .map(|a| {
                (
                    a.channel_id.as_str().to_owned(),
                    i64::try_from(a.recipients).unwrap_or(i64::MAX),
                    skip_to_json(a.skip.as_ref()),
                )
            })
            .collect();
        let raw = self
            .db
            .call(move |c| {
                if c.execute(&insert_run, rusqlite::params![run, campaign, chunk_size])? == 1 {
                    let mut stmt = c.prepare_cached(&insert_account)?;
                    for (id, recipients, skip) in &rows {
                        stmt.execute(rusqlite::params![run, id, recipients, skip])?;
                    }
                }
                Ok(read_plan(c, &runs, &accounts, &run)?)
            })
            .await
            .map_err(|e| Error::store("begin_run", e))?;
        match raw {
            Some(raw) => plan_of(raw),
            None => Err(Error::store("begin_run", "the run was not stored")),
        }
    }

    async fn run_plan(&self, run: &str) -> Result<Option<RunPlan>, Error> {
        let runs = self.sql("SELECT campaign, chunk_size FROM {p}bulk_run WHERE run = ?1");
        let accounts = self.sql("SELECT channel_id, recipients, skip FROM {p}bulk_account WHERE run = ?1");
        let run = run.to_owned();
        let raw = self
            .db
            .call(move |c| Ok(read_plan(c, &runs, &accounts, &run)?))
            .await
            .map_err(|e| Error::store("run_plan", e))?;
        raw.map(plan_of).transpose()
    }

    async fn runs(&self) -> Result<Vec<String>, Error> {
        let sql = self.sql("SELECT run FROM {p}bulk_run ORDER BY run");
        self.db
            .call(move |c| {
                let mut stmt = c.prepare(&sql)?;
                let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
                Ok(rows.collect::<Result<Vec<_>, _>>()?)
            })
            .await
            .map_err(|e| Error::store("runs", e))
    }

    async fn set_skip(&self, run: &str, channel_id: &ChannelId, skip: Option<&SkipReason>) -> Result<(), Error> {
        let sql = self.sql("UPDATE {p}bulk_account SET skip = ?3 WHERE run = ?1 AND channel_id = ?2");
        let args = (run.to_owned(), channel_id.as_str().to_owned(), skip_to_json(skip));
        self.db
            .call(move |c| {
                c.execute(&sql, rusqlite::params![args.0, args.1, args.2])?;
                Ok(())
            })
            .await
            .map_err(|e| Error::store("set_skip", e))
    }

    async fn reserve_chunks(
        &self,
        run: &str,
        channel_id: &ChannelId,
        proposed: &[(u32, RetryKey)],
    ) -> Result<Vec<Chunk>, Error> {
        let known = self.sql("SELECT 1 FROM {p}bulk_run WHERE run = ?1");
        let insert = self.sql(
            "INSERT INTO {p}bulk_chunk (run, channel_id, chunk, recipients, retry_key) VALUES (?1, ?2, ?3, ?4, ?5) \
             ON CONFLICT (run, channel_id, chunk) DO NOTHING",
        );
        let select = self.sql(
            "SELECT channel_id, chunk, recipients, retry_key, outcome FROM {p}bulk_chunk \
             WHERE run = ?1 AND channel_id = ?2 ORDER BY chunk",
        );
        let run = run.to_owned();
        let channel = channel_id.as_str().to_owned();
        let proposed: Vec<(u32, String)> = proposed.iter().map(|(n, k)| (*n, k.to_string())).collect();
        let rows = self
            .db
            .call(move |c| {
                if c.query_row(&known, [&run], |_| Ok(())).optional()?.is_none() {
                    return Err(format!("no run {run:?}").into());
                }
                let mut stmt = c.prepare_cached(&insert)?;
                for (i, (recipients, key)) in proposed.iter().enumerate() {
                    stmt.execute(rusqlite::params![run, channel, i as u32, recipients, key])?;
                }
                let mut stmt = c.prepare_cached(&select)?;
                let rows = stmt.query_map(rusqlite::params![run, channel], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })?;
                Ok(rows.collect::<Result<Vec<Row>, _>>()?)
            })
            .await
            .map_err(|e| Error::store("reserve_chunks", e))?;
        rows.into_iter().map(chunk_of).collect()
    }

    async fn record_outcome(
        &self,
        run: &str,
        channel_id: &ChannelId,
        index: u32,
        outcome: &ChunkOutcome,
    ) -> Result<(), Error> {
        let update = self.sql(
            "UPDATE {p}bulk_chunk SET outcome = ?4, accepted = ?5 \
             WHERE run = ?1 AND channel_id = ?2 AND chunk = ?3 AND accepted = 0",
        );
        let exists = self.sql("SELECT 1 FROM {p}bulk_chunk WHERE run = ?1 AND channel_id = ?2 AND chunk = ?3");
        let run = run.to_owned();
        let channel = channel_id.as_str().to_owned();
        let json = outcome_to_json(outcome);
        let accepted = outcome.is_accepted();
        self.db
            .call(move |c| {
                let changed = c.execute(&update, rusqlite::params![run, channel, index, json, accepted])?;
                if changed == 0
                    && c.query_row(&exists, rusqlite::params![run, channel, index], |_| Ok(()))
                        .optional()?
                        .is_none()
                {
                    return Err(format!("chunk {index} was never reserved").into());
                }
                Ok(())
            })
            .await
            .map_err(|e| Error::store("record_outcome", e))
    }

    async fn chunks(&self, run: &str) -> Result<Vec<Chunk>, Error> {
        let sql = self.sql(
            "SELECT channel_id, chunk, recipients, retry_key, outcome FROM {p}bulk_chunk \
             WHERE run = ?1 ORDER BY channel_id, chunk",
        );
        let run = run.to_owned();
        let rows = self
            .db
            .call(move |c| {
                let mut stmt = c.prepare_cached(&sql)?;
                let rows = stmt.query_map([run], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))?;
                Ok(rows.collect::<Result<Vec<Row>, _>>()?)
            })
            .await
            .map_err(|e| Error::store("chunks", e))?;
        let mut chunks = rows.into_iter().map(chunk_of).collect::<Result<Vec<_>, _>>()?;
        // Text order is not numeric order: sort channels as ChannelId does.
        chunks.sort_by(|a, b| a.channel_id.cmp(&b.channel_id).then(a.index.cmp(&b.index)));
        Ok(chunks)
    }

    async fn forget_run(&self, run: &str) -> Result<(), Error> {
        let sqls = [
            self.sql("DELETE FROM {p}bulk_chunk WHERE run = ?1"),
            self.sql("DELETE FROM {p}bulk_account WHERE run = ?1"),
            self.sql("DELETE FROM {p}bulk_run WHERE run = ?1"),
        ];
        let run = run.to_owned();
        self.db
            .call(move |c| {
                for sql in &sqls {
                    c.execute(sql, [&run])?;
                }
                Ok(())
            })
            .await
            .map_err(|e| Error::store("forget_run", e))
    }
}
