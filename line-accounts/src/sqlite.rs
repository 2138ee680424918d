//! [`SqliteRegistry`]: the account registry in a SQLite file (feature `sqlite`).
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
