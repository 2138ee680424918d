//! The rich-menu stores in a SQLite file (feature `sqlite`): [`SqliteMenuStore`],
//! [`SqliteAssignmentStore`] (with the reconcile journal) and [`SqliteUserDirectory`].
//!
//! Each is built on a [`SqliteDb`] (one file, one connection thread; every call is one
//! transaction holding the file's write lock) and creates or upgrades its tables under
//! a prefix (`line_` by default). Several processes may share the file: the atomic
//! operations ([`take_budget`](MenuStore::take_budget),
//! [`replace_menu`](AssignmentStore::replace_menu),
//! [`set_linked`](UserDirectory::set_linked)) hold the write lock from start to commit.
//!
//! | table | holds |
//! | --- | --- |
//! | `richmenu_menu` | one row per rich menu ID: the [`MenuRecord`] as JSON |
//! | `richmenu_budget` | one row per use of an hourly write budget, deleted once out of the window |
//! | `richmenu_assignment` | one row per user: menu key and rich menu ID (none for the default menu) |
//! | `richmenu_journal` | at most one row: the reconcile [`Journal`] as JSON |
//! | `richmenu_user` | one row per user: the [`UserContext`] as JSON |

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use line_core::ids::{RichMenuId, UserId};
use line_core::store::sqlite::{BoxError, SqliteDb};
use rusqlite::{params, OptionalExtension};

use crate::error::{Error, ErrorKind};
use crate::store::{Assignment, AssignmentStore, Journal, MenuRecord, MenuStore, UserContext, UserDirectory};

const MENU_MIGRATIONS: &[&str] = &["
CREATE TABLE {p}richmenu_menu (rich_menu_id TEXT PRIMARY KEY, record TEXT NOT NULL);
CREATE TABLE {p}richmenu_budget (id INTEGER PRIMARY KEY, bucket TEXT NOT NULL, at_ms INTEGER NOT NULL);
CREATE INDEX {p}richmenu_budget_window ON {p}richmenu_budget (bucket, at_ms);
"];

const ASSIGNMENT_MIGRATIONS: &[&str] = &["
CREATE TABLE {p}richmenu_assignment (user_id TEXT PRIMARY KEY, menu_key TEXT, rich_menu_id TEXT);
CREATE INDEX {p}richmenu_assignment_menu ON {p}richmenu_assignment (rich_menu_id);
CREATE TABLE {p}richmenu_journal (id INTEGER PRIMARY KEY CHECK (id = 1), journal TEXT NOT NULL);
"];

const USER_MIGRATIONS: &[&str] = &["CREATE TABLE {p}richmenu_user (user_id TEXT PRIMARY KEY, context TEXT NOT NULL);"];

pub(crate) fn store_err(op: &'static str) -> impl FnOnce(BoxError) -> Error {
    move |e| {
        Error::with_source(
            ErrorKind::Store {
                operation: op.to_owned(),
            },
            e,
        )
    }
}

fn migrate_err(op: &'static str) -> impl FnOnce(line_core::Error) -> Error {
    move |e| {
        Error::with_source(
            ErrorKind::Store {
                operation: op.to_owned(),
            },
            e,
        )
    }
}

fn sql(template: &str, prefix: &str) -> String {
    template.replace("{p}", prefix)
}

/// A [`MenuStore`] in a SQLite file.
#[derive(Clone)]
pub struct SqliteMenuStore {
    db: SqliteDb,
    prefix: Arc<str>,
}

impl fmt::Debug for SqliteMenuStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteMenuStore")
            .field("db", &self.db)
            .field("prefix", &self.prefix)
            .finish()
    }
}

impl SqliteMenuStore {
    /// The store in `db`, tables under `line_`. Creates or upgrades its tables.
    pub async fn new(db: &SqliteDb) -> Result<Self, Error> {
        Self::with_prefix(db, line_core::store::DEFAULT_PREFIX).await
    }

    /// The store in `db` with tables under `prefix`.
    pub async fn with_prefix(db: &SqliteDb, prefix: &str) -> Result<Self, Error> {
        db.migrate("SqliteMenuStore", prefix, "richmenu_menu", MENU_MIGRATIONS)
            .await
            .map_err(migrate_err("SqliteMenuStore::migrate"))?;
        Ok(Self {
            db: db.clone(),
            prefix: prefix.into(),
        })
    }
}

#[async_trait]
impl MenuStore for SqliteMenuStore {
    async fn records(&self) -> Result<Vec<MenuRecord>, Error> {
        let q = sql(
            "SELECT record FROM {p}richmenu_menu ORDER BY rich_menu_id",
            &self.prefix,
        );
        self.db
            .call(move |c| {
                let mut stmt = c.prepare_cached(&q)?;
                let mut rows = stmt.query([])?;
                let mut out = Vec::new();
                while let Some(row) = rows.next()? {
                    let json: String = row.get(0)?;
                    out.push(serde_json::from_str(&json)?);
                }
                Ok(out)
            })
            .await
            .map_err(store_err("SqliteMenuStore::records"))
    }

    async fn put(&self, record: MenuRecord) -> Result<(), Error> {
        let q = sql(
            "INSERT INTO {p}richmenu_menu (rich_menu_id, record) VALUES (?1, ?2) \
             ON CONFLICT (rich_menu_id) DO UPDATE SET record = excluded.record",
            &self.prefix,
        );
        self.db
            .call(move |c| {
                let json = serde_json::to_string(&record)?;
                c.prepare_cached(&q)?
                    .execute(params![record.rich_menu_id.as_str(), json])?;
                Ok(())
            })
            .await
            .map_err(store_err("SqliteMenuStore::put"))
    }

    async fn remove(&self, rich_menu_id: &RichMenuId) -> Result<(), Error> {
        let q = sql("DELETE FROM {p}richmenu_menu WHERE rich_menu_id = ?1", &self.prefix);
        let id = rich_menu_id.as_str().to_owned();
        self.db
            .call(move |c| {
                c.prepare_cached(&q)?.execute([id])?;
                Ok(())
            })
            .await
            .map_err(store_err("SqliteMenuStore::remove"))
    }

    async fn take_budget(
        &self,
        bucket: &str,
        now: Timestamp,
        window: SignedDuration,
        limit: u32,
    ) -> Result<bool, Error> {
        let forget = sql(
            "DELETE FROM {p}richmenu_budget WHERE bucket = ?1 AND at_ms <= ?2",
            &self.prefix,
        );
        let count = sql(
            "SELECT count(*) FROM {p}richmenu_budget WHERE bucket = ?1",
            &self.prefix,
        );
        let add = sql(
            "INSERT INTO {p}richmenu_budget (bucket, at_ms) VALUES (?1, ?2)",
            &self.prefix,
        );
        let bucket = bucket.to_owned();
        let now_ms = now.as_millisecond();
        let start = now.checked_sub(window).unwrap_or(Timestamp::MIN).as_millisecond();
        self.db
            .call(move |c| {
                c.prepare_cached(&forget)?.execute(params![bucket, start])?;
                let used: i64 = c.prepare_cached(&count)?.query_row([&bucket], |r| r.get(0))?;
                if used >= i64::from(limit) {
                    return Ok(false);
                }
                c.prepare_cached(&add)?.execute(params![bucket, now_ms])?;
                Ok(true)
            })
            .await
            .map_err(store_err("SqliteMenuStore::take_budget"))
    }
}

/// An [`AssignmentStore`] in a SQLite file, with the reconcile journal.
#[derive(Clone)]
pub struct SqliteAssignmentStore {
    db: SqliteDb,
    prefix: Arc<str>,
}

impl fmt::Debug for SqliteAssignmentStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteAssignmentStore")
            .field("db", &self.db)
            .field("prefix", &self.prefix)
            .finish()
    }
}

fn assignment(key: Option<String>, id: Option<String>) -> Assignment {
    match (key, id) {
        (Some(key), Some(id)) => Assignment::menu(key, id),
        _ => Assignment::Default,
    }
}

fn columns(a: &Assignment) -> (Option<String>, Option<String>) {
    (
        a.key().map(str::to_owned),
        a.rich_menu_id().map(|id| id.as_str().to_owned()),
    )
}

impl SqliteAssignmentStore {
    /// The store in `db`, tables under `line_`. Creates or upgrades its tables.
    pub async fn new(db: &SqliteDb) -> Result<Self, Error> {
        Self::with_prefix(db, line_core::store::DEFAULT_PREFIX).await
    }

    /// The store in `db` with tables under `prefix`.
    pub async fn with_prefix(db: &SqliteDb, prefix: &str) -> Result<Self, Error> {
        db.migrate(
            "SqliteAssignmentStore",
            prefix,
            "richmenu_assignment",
            ASSIGNMENT_MIGRATIONS,
        )
        .await
        .map_err(migrate_err("SqliteAssignmentStore::migrate"))?;
        Ok(Self {
            db: db.clone(),
            prefix: prefix.into(),
        })
    }
}

#[async_trait]
impl AssignmentStore for SqliteAssignmentStore {
    async fn get(&self, user: &UserId) -> Result<Option<Assignment>, Error> {
        let q = sql(
            "SELECT menu_key, rich_menu_id FROM {p}richmenu_assignment WHERE user_id = ?1",
            &self.prefix,
        );
        let user = user.as_str().to_owned();
        self.db
            .call(move |c| {
                Ok(c.prepare_cached(&q)?
                    .query_row([user], |r| Ok(assignment(r.get(0)?, r.get(1)?)))
                    .optional()?)
            })
            .await
            .map_err(store_err("SqliteAssignmentStore::get"))
    }

    async fn set_many(&self, users: &[UserId], to: &Assignment) -> Result<(), Error> {
        let q = sql(
            "INSERT INTO {p}richmenu_assignment (user_id, menu_key, rich_menu_id) VALUES (?1, ?2, ?3) \
             ON CONFLICT (user_id) DO UPDATE SET menu_key = excluded.menu_key, rich_menu_id = excluded.rich_menu_id",
            &self.prefix,
        );
        let users: Vec<String> = users.iter().map(|u| u.as_str().to_owned()).collect();
        let (key, id) = columns(to);
        self.db
            .call(move |c| {
                let mut stmt = c.prepare_cached(&q)?;
                for u in &users {
                    stmt.execute(params![u, key, id])?;
                }
                Ok(())
            })
            .await
            .map_err(store_err("SqliteAssignmentStore::set_many"))
    }

    async fn forget(&self, user: &UserId) -> Result<bool, Error> {
        let q = sql("DELETE FROM {p}richmenu_assignment WHERE user_id = ?1", &self.prefix);
        let user = user.as_str().to_owned();
        self.db
            .call(move |c| Ok(c.prepare_cached(&q)?.execute([user])? > 0))
            .await
            .map_err(store_err("SqliteAssignmentStore::forget"))
    }

    async fn list(&self, after: Option<&UserId>, limit: usize) -> Result<Vec<(UserId, Assignment)>, Error> {
        // SQLite compares TEXT byte by byte (BINARY), the order of `UserId`'s `Ord`.
        let q = sql(
            "SELECT user_id, menu_key, rich_menu_id FROM {p}richmenu_assignment \
             WHERE ?1 IS NULL OR user_id > ?1 ORDER BY user_id LIMIT ?2",
            &self.prefix,
        );
        let after = after.map(|u| u.as_str().to_owned());
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.db
            .call(move |c| {
                let mut stmt = c.prepare_cached(&q)?;
                let mut rows = stmt.query(params![after, limit])?;
                let mut out = Vec::new();
                while let Some(r) = rows.next()? {
                    let user: String = r.get(0)?;
                    out.push((UserId::new(user), assignment(r.get(1)?, r.get(2)?)));
                }
                Ok(out)
            })
            .await
            .map_err(store_err("SqliteAssignmentStore::list"))
    }

    async fn replace_menu(&self, from: &RichMenuId, to: &Assignment) -> Result<u64, Error> {
        let q = sql(
            "UPDATE {p}richmenu_assignment SET menu_key = ?2, rich_menu_id = ?3 WHERE rich_menu_id = ?1",
            &self.prefix,
        );
        let from = from.as_str().to_owned();
        let (key, id) = columns(to);
        self.db
            .call(move |c| Ok(c.prepare_cached(&q)?.execute(params![from, key, id])? as u64))
            .await
            .map_err(store_err("SqliteAssignmentStore::replace_menu"))
    }

    async fn count_on(&self, menu: &RichMenuId) -> Result<u64, Error> {
        let q = sql(
            "SELECT count(*) FROM {p}richmenu_assignment WHERE rich_menu_id = ?1",
            &self.prefix,
        );
        let menu = menu.as_str().to_owned();
        self.db
            .call(move |c| {
                let n: i64 = c.prepare_cached(&q)?.query_row([menu], |r| r.get(0))?;
                Ok(n.max(0) as u64)
            })
            .await
            .map_err(store_err("SqliteAssignmentStore::count_on"))
    }

    async fn load_journal(&self) -> Result<Option<Journal>, Error> {
        let q = sql("SELECT journal FROM {p}richmenu_journal WHERE id = 1", &self.prefix);
        self.db
            .call(move |c| {
                let json: Option<String> = c.prepare_cached(&q)?.query_row([], |r| r.get(0)).optional()?;
                Ok(match json {
                    Some(j) => Some(serde_json::from_str(&j)?),
                    None => None,
                })
            })
            .await
            .map_err(store_err("SqliteAssignmentStore::load_journal"))
    }

    async fn save_journal(&self, journal: &Journal) -> Result<(), Error> {
        let q = sql(
            "INSERT INTO {p}richmenu_journal (id, journal) VALUES (1, ?1) \
             ON CONFLICT (id) DO UPDATE SET journal = excluded.journal",
            &self.prefix,
        );
        let json = serde_json::to_string(journal)
            .map_err(|e| store_err("SqliteAssignmentStore::save_journal")(Box::new(e)))?;
        self.db
            .call(move |c| {
                c.prepare_cached(&q)?.execute([json])?;
                Ok(())
            })
            .await
            .map_err(store_err("SqliteAssignmentStore::save_journal"))
    }

    async fn clear_journal(&self) -> Result<(), Error> {
        let q = sql("DELETE FROM {p}richmenu_journal", &self.prefix);
        self.db
            .call(move |c| {
                c.prepare_cached(&q)?.execute([])?;
                Ok(())
            })
            .await
            .map_err(store_err("SqliteAssignmentStore::clear_journal"))
    }
}

/// A [`UserDirectory`] in a SQLite file.
#[derive(Clone)]
pub struct SqliteUserDirectory {
    db: SqliteDb,
    prefix: Arc<str>,
}

impl fmt::Debug for SqliteUserDirectory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteUserDirectory")
            .field("db", &self.db)
            .field("prefix", &self.prefix)
            .finish()
    }
}

impl SqliteUserDirectory {
    /// The directory in `db`, tables under `line_`. Creates or upgrades its table.
    pub async fn new(db: &SqliteDb) -> Result<Self, Error> {
        Self::with_prefix(db, line_core::store::DEFAULT_PREFIX).await
    }

    /// The directory in `db` with tables under `prefix`.
    pub async fn with_prefix(db: &SqliteDb, prefix: &str) -> Result<Self, Error> {
        db.migrate("SqliteUserDirectory", prefix, "richmenu_user", USER_MIGRATIONS)
            .await
            .map_err(migrate_err("SqliteUserDirectory::migrate"))?;
        Ok(Self {
            db: db.clone(),
            prefix: prefix.into(),
        })
    }
}

#[async_trait]
impl UserDirectory for SqliteUserDirectory {
    async fn context(&self, user: &UserId) -> Result<UserContext, Error> {
        let q = sql("SELECT context FROM {p}richmenu_user WHERE user_id = ?1", &self.prefix);
        let user = user.clone();
        self.db
            .call(move |c| {
                let json: Option<String> = c
                    .prepare_cached(&q)?
                    .query_row([user.as_str()], |r| r.get(0))
                    .optional()?;
                Ok(match json {
                    Some(j) => serde_json::from_str(&j)?,
                    None => UserContext::new(user),
                })
            })
            .await
            .map_err(store_err("SqliteUserDirectory::context"))
    }

    async fn put(&self, context: UserContext) -> Result<(), Error> {
        let q = sql(
            "INSERT INTO {p}richmenu_user (user_id, context) VALUES (?1, ?2) \
             ON CONFLICT (user_id) DO UPDATE SET context = excluded.context",
            &self.prefix,
        );
        self.db
            .call(move |c| {
                let json = serde_json::to_string(&context)?;
                c.prepare_cached(&q)?.execute(params![context.user_id.as_str(), json])?;
                Ok(())
            })
            .await
            .map_err(store_err("SqliteUserDirectory::put"))
    }

    async fn set_linked(&self, user: &UserId, linked: bool) -> Result<UserContext, Error> {
        let get = sql("SELECT context FROM {p}richmenu_user WHERE user_id = ?1", &self.prefix);
        let put = sql(
            "INSERT INTO {p}richmenu_user (user_id, context) VALUES (?1, ?2) \
             ON CONFLICT (user_id) DO UPDATE SET context = excluded.context",
            &self.prefix,
        );
        let user = user.clone();
        // Read, change and write in one transaction under the file's write lock.
        self.db
            .call(move |c| {
                let json: Option<String> = c
                    .prepare_cached(&get)?
                    .query_row([user.as_str()], |r| r.get(0))
                    .optional()?;
                let mut ctx: UserContext = match json {
                    Some(j) => serde_json::from_str(&j)?,
                    None => UserContext::new(user.clone()),
                };
                ctx.linked = linked;
                c.prepare_cached(&put)?
                    .execute(params![user.as_str(), serde_json::to_string(&ctx)?])?;
                Ok(ctx)
            })
            .await
            .map_err(store_err("SqliteUserDirectory::set_linked"))
    }

    async fn forget(&self, user: &UserId) -> Result<(), Error> {
        let q = sql("DELETE FROM {p}richmenu_user WHERE user_id = ?1", &self.prefix);
        let user = user.as_str().to_owned();
        self.db
            .call(move |c| {
                c.prepare_cached(&q)?.execute([user])?;
                Ok(())
            })
            .await
            .map_err(store_err("SqliteUserDirectory::forget"))
    }
}
