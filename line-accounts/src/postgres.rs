//! [`PgRegistry`]: the account registry in PostgreSQL, shared by many processes
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
