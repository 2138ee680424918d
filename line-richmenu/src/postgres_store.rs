//! The rich-menu stores in PostgreSQL (feature `postgres`): [`PgMenuStore`],
//! [`PgAssignmentStore`] (with the reconcile journal) and [`PgUserDirectory`], shared by
//! every process of a channel.
//!
//! Each is built on a [`PgPool`] (see `line_core::store::postgres` for why
//! tokio-postgres with deadpool) and creates or upgrades its tables under a prefix
//! (`line_` by default); the tables are those of the SQLite stores. The atomic
//! operations are one statement or one pipelined transaction each:
//! [`take_budget`](MenuStore::take_budget) takes a transaction-scoped advisory lock on
//! the bucket, then counts and records the use; [`replace_menu`](AssignmentStore::replace_menu)
//! is one `UPDATE`; [`set_linked`](UserDirectory::set_linked) one
//! `INSERT … ON CONFLICT DO UPDATE SET context = jsonb_set(…) RETURNING`.
//! User IDs are compared in the `C` collation (bytes), the order of `UserId`'s `Ord`,
//! whatever the database's default collation.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use line_core::ids::{RichMenuId, UserId};
use line_core::store::postgres::{BoxError, PgPool};
use tokio_postgres::types::ToSql;

use crate::error::{Error, ErrorKind};
use crate::store::{Assignment, AssignmentStore, Journal, MenuRecord, MenuStore, UserContext, UserDirectory};

/// A statement parameter.
type P<'a> = dyn ToSql + Sync + 'a;

const MENU_MIGRATIONS: &[&str] = &["
CREATE TABLE {p}richmenu_menu (rich_menu_id TEXT PRIMARY KEY, record TEXT NOT NULL);
CREATE TABLE {p}richmenu_budget (id BIGSERIAL PRIMARY KEY, bucket TEXT NOT NULL, at_ms BIGINT NOT NULL);
CREATE INDEX {p}richmenu_budget_window ON {p}richmenu_budget (bucket, at_ms);
"];

const ASSIGNMENT_MIGRATIONS: &[&str] = &[r#"
CREATE TABLE {p}richmenu_assignment (user_id TEXT COLLATE "C" PRIMARY KEY, menu_key TEXT, rich_menu_id TEXT);
CREATE INDEX {p}richmenu_assignment_menu ON {p}richmenu_assignment (rich_menu_id);
CREATE TABLE {p}richmenu_journal (id INTEGER PRIMARY KEY CHECK (id = 1), journal TEXT NOT NULL);
"#];

const USER_MIGRATIONS: &[&str] = &["CREATE TABLE {p}richmenu_user (user_id TEXT PRIMARY KEY, context JSONB NOT NULL);"];

fn store_err(op: &'static str) -> impl FnOnce(BoxError) -> Error {
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

/// Runs one statement and gives the rows affected.
async fn execute(pool: &PgPool, q: &str, params: &[&P<'_>]) -> Result<u64, BoxError> {
    let conn = pool.get().await?;
    let c = conn.client();
    let stmt = c.prepare_cached(q).await?;
    Ok(c.execute(&stmt, params).await?)
}

/// Runs one query and gives its rows.
async fn query(pool: &PgPool, q: &str, params: &[&P<'_>]) -> Result<Vec<tokio_postgres::Row>, BoxError> {
    let conn = pool.get().await?;
    let c = conn.client();
    let stmt = c.prepare_cached(q).await?;
    Ok(c.query(&stmt, params).await?)
}

/// A [`MenuStore`] in PostgreSQL.
#[derive(Clone)]
pub struct PgMenuStore {
    pool: PgPool,
    prefix: Arc<str>,
}

impl fmt::Debug for PgMenuStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgMenuStore")
            .field("pool", &self.pool)
            .field("prefix", &self.prefix)
            .finish()
    }
}

impl PgMenuStore {
    /// The store on `pool`, tables under `line_`. Creates or upgrades its tables.
    pub async fn new(pool: &PgPool) -> Result<Self, Error> {
        Self::with_prefix(pool, line_core::store::DEFAULT_PREFIX).await
    }

    /// The store on `pool` with tables under `prefix`.
    pub async fn with_prefix(pool: &PgPool, prefix: &str) -> Result<Self, Error> {
        pool.migrate("PgMenuStore", prefix, "richmenu_menu", MENU_MIGRATIONS)
            .await
            .map_err(migrate_err("PgMenuStore::migrate"))?;
        Ok(Self {
            pool: pool.clone(),
            prefix: prefix.into(),
        })
    }
}

#[async_trait]
impl MenuStore for PgMenuStore {
    async fn records(&self) -> Result<Vec<MenuRecord>, Error> {
        let q = sql(
            "SELECT record FROM {p}richmenu_menu ORDER BY rich_menu_id",
            &self.prefix,
        );
        let run = async {
            let mut out = Vec::new();
            for row in query(&self.pool, &q, &[]).await? {
                let json: String = row.try_get(0)?;
                out.push(serde_json::from_str(&json)?);
            }
            Ok::<_, BoxError>(out)
        };
        run.await.map_err(store_err("PgMenuStore::records"))
    }

    async fn put(&self, record: MenuRecord) -> Result<(), Error> {
        let q = sql(
            "INSERT INTO {p}richmenu_menu (rich_menu_id, record) VALUES ($1, $2) \
             ON CONFLICT (rich_menu_id) DO UPDATE SET record = EXCLUDED.record",
            &self.prefix,
        );
        let run = async {
            let json = serde_json::to_string(&record)?;
            execute(&self.pool, &q, &[&record.rich_menu_id.as_str(), &json]).await?;
            Ok::<_, BoxError>(())
        };
        run.await.map_err(store_err("PgMenuStore::put"))
    }

    async fn remove(&self, rich_menu_id: &RichMenuId) -> Result<(), Error> {
        let q = sql("DELETE FROM {p}richmenu_menu WHERE rich_menu_id = $1", &self.prefix);
        execute(&self.pool, &q, &[&rich_menu_id.as_str()])
            .await
            .map(|_| ())
            .map_err(store_err("PgMenuStore::remove"))
    }

    async fn take_budget(
        &self,
        bucket: &str,
        now: Timestamp,
        window: SignedDuration,
        limit: u32,
    ) -> Result<bool, Error> {
        let forget = sql(
            "DELETE FROM {p}richmenu_budget WHERE bucket = $1 AND at_ms <= $2",
            &self.prefix,
        );
        let add = sql(
            "INSERT INTO {p}richmenu_budget (bucket, at_ms) SELECT $1, $2 \
             WHERE (SELECT count(*) FROM {p}richmenu_budget WHERE bucket = $1) < $3",
            &self.prefix,
        );
        let now_ms = now.as_millisecond();
        let start = now.checked_sub(window).unwrap_or(Timestamp::MIN).as_millisecond();
        let lock_key = {
            // A stable key per prefix and bucket (FNV-1a).
            let mut h: u64 = 0xcbf2_9ce4_8422_2325;
            for b in self.prefix.bytes().chain([0xff]).chain(bucket.bytes()) {
                h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
            }
            h as i64
        };
        let limit = i64::from(limit);
        let run = async {
            let mut conn = self.pool.get().await?;
            conn.begin();
            let c = conn.client();
            let (begin, lock, forget, add, commit) = tokio::try_join!(
                c.prepare_cached("BEGIN"),
                c.prepare_cached("SELECT pg_advisory_xact_lock($1)"),
                c.prepare_cached(&forget),
                c.prepare_cached(&add),
                c.prepare_cached("COMMIT"),
            )?;
            let p_lock: [&P<'_>; 1] = [&lock_key];
            let p_forget: [&P<'_>; 2] = [&bucket, &start];
            let p_add: [&P<'_>; 3] = [&bucket, &now_ms, &limit];
            // One round trip: the uses of one bucket are counted and recorded under its lock.
            let (_, _, _, added, _) = tokio::try_join!(
                c.execute(&begin, &[]),
                c.execute(&lock, &p_lock),
                c.execute(&forget, &p_forget),
                c.execute(&add, &p_add),
                c.execute(&commit, &[]),
            )?;
            conn.done();
            Ok::<_, BoxError>(added == 1)
        };
        run.await.map_err(store_err("PgMenuStore::take_budget"))
    }
}

/// An [`AssignmentStore`] in PostgreSQL, with the reconcile journal.
#[derive(Clone)]
pub struct PgAssignmentStore {
    pool: PgPool,
    prefix: Arc<str>,
}

impl fmt::Debug for PgAssignmentStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgAssignmentStore")
            .field("pool", &self.pool)
            .field("prefix", &self.prefix)
            .finish()
    }
}

fn assignment(row: &tokio_postgres::Row, from: usize) -> Result<Assignment, BoxError> {
    let key: Option<String> = row.try_get(from)?;
    let id: Option<String> = row.try_get(from + 1)?;
    Ok(match (key, id) {
        (Some(key), Some(id)) => Assignment::menu(key, id),
        _ => Assignment::Default,
    })
}

fn columns(a: &Assignment) -> (Option<&str>, Option<&str>) {
    (a.key(), a.rich_menu_id().map(|id| id.as_str()))
}

impl PgAssignmentStore {
    /// The store on `pool`, tables under `line_`. Creates or upgrades its tables.
    pub async fn new(pool: &PgPool) -> Result<Self, Error> {
        Self::with_prefix(pool, line_core::store::DEFAULT_PREFIX).await
    }

    /// The store on `pool` with tables under `prefix`.
    pub async fn with_prefix(pool: &PgPool, prefix: &str) -> Result<Self, Error> {
        pool.migrate(
            "PgAssignmentStore",
            prefix,
            "richmenu_assignment",
            ASSIGNMENT_MIGRATIONS,
        )
        .await
        .map_err(migrate_err("PgAssignmentStore::migrate"))?;
        Ok(Self {
            pool: pool.clone(),
            prefix: prefix.into(),
        })
    }
}

#[async_trait]
impl AssignmentStore for PgAssignmentStore {
    async fn get(&self, user: &UserId) -> Result<Option<Assignment>, Error> {
        let q = sql(
            "SELECT menu_key, rich_menu_id FROM {p}richmenu_assignment WHERE user_id = $1",
            &self.prefix,
        );
        let run = async {
            match query(&self.pool, &q, &[&user.as_str()]).await?.first() {
                Some(row) => Ok::<_, BoxError>(Some(assignment(row, 0)?)),
                None => Ok(None),
            }
        };
        run.await.map_err(store_err("PgAssignmentStore::get"))
    }

    async fn set_many(&self, users: &[UserId], to: &Assignment) -> Result<(), Error> {
        let q = sql(
            "INSERT INTO {p}richmenu_assignment (user_id, menu_key, rich_menu_id) \
             SELECT u, $2, $3 FROM unnest($1::text[]) AS u \
             ON CONFLICT (user_id) DO UPDATE SET menu_key = EXCLUDED.menu_key, rich_menu_id = EXCLUDED.rich_menu_id",
            &self.prefix,
        );
        let ids: Vec<&str> = users.iter().map(|u| u.as_str()).collect();
        let (key, id) = columns(to);
        execute(&self.pool, &q, &[&ids, &key, &id])
            .await
            .map(|_| ())
            .map_err(store_err("PgAssignmentStore::set_many"))
    }

    async fn forget(&self, user: &UserId) -> Result<bool, Error> {
        let q = sql("DELETE FROM {p}richmenu_assignment WHERE user_id = $1", &self.prefix);
        execute(&self.pool, &q, &[&user.as_str()])
            .await
            .map(|n| n > 0)
            .map_err(store_err("PgAssignmentStore::forget"))
    }

    async fn list(&self, after: Option<&UserId>, limit: usize) -> Result<Vec<(UserId, Assignment)>, Error> {
        let q = sql(
            "SELECT user_id, menu_key, rich_menu_id FROM {p}richmenu_assignment \
             WHERE $1::text IS NULL OR user_id > $1 ORDER BY user_id LIMIT $2",
            &self.prefix,
        );
        let after = after.map(|u| u.as_str());
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let run = async {
            let mut out = Vec::new();
            for row in query(&self.pool, &q, &[&after, &limit]).await? {
                let user: String = row.try_get(0)?;
                out.push((UserId::new(user), assignment(&row, 1)?));
            }
            Ok::<_, BoxError>(out)
        };
        run.await.map_err(store_err("PgAssignmentStore::list"))
    }

    async fn replace_menu(&self, from: &RichMenuId, to: &Assignment) -> Result<u64, Error> {
        let q = sql(
            "UPDATE {p}richmenu_assignment SET menu_key = $2, rich_menu_id = $3 WHERE rich_menu_id = $1",
            &self.prefix,
        );
        let (key, id) = columns(to);
        execute(&self.pool, &q, &[&from.as_str(), &key, &id])
            .await
            .map_err(store_err("PgAssignmentStore::replace_menu"))
    }

    async fn count_on(&self, menu: &RichMenuId) -> Result<u64, Error> {
        let q = sql(
            "SELECT count(*) FROM {p}richmenu_assignment WHERE rich_menu_id = $1",
            &self.prefix,
        );
        let run = async {
            let rows = query(&self.pool, &q, &[&menu.as_str()]).await?;
            let n: i64 = rows.first().ok_or("count(*) gave no row")?.try_get(0)?;
            Ok::<_, BoxError>(n.max(0) as u64)
        };
        run.await.map_err(store_err("PgAssignmentStore::count_on"))
    }

    async fn load_journal(&self) -> Result<Option<Journal>, Error> {
        let q = sql("SELECT journal FROM {p}richmenu_journal WHERE id = 1", &self.prefix);
        let run = async {
            match query(&self.pool, &q, &[]).await?.first() {
                Some(row) => {
                    let json: String = row.try_get(0)?;
                    Ok::<_, BoxError>(Some(serde_json::from_str(&json)?))
                }
                None => Ok(None),
            }
        };
        run.await.map_err(store_err("PgAssignmentStore::load_journal"))
    }

    async fn save_journal(&self, journal: &Journal) -> Result<(), Error> {
        let q = sql(
            "INSERT INTO {p}richmenu_journal (id, journal) VALUES (1, $1) \
             ON CONFLICT (id) DO UPDATE SET journal = EXCLUDED.journal",
            &self.prefix,
        );
        let run = async {
            let json = serde_json::to_string(journal)?;
            execute(&self.pool, &q, &[&json]).await?;
            Ok::<_, BoxError>(())
        };
        run.await.map_err(store_err("PgAssignmentStore::save_journal"))
    }

    async fn clear_journal(&self) -> Result<(), Error> {
        let q = sql("DELETE FROM {p}richmenu_journal", &self.prefix);
        execute(&self.pool, &q, &[])
            .await
            .map(|_| ())
            .map_err(store_err("PgAssignmentStore::clear_journal"))
    }
}

/// A [`UserDirectory`] in PostgreSQL.
#[derive(Clone)]
pub struct PgUserDirectory {
    pool: PgPool,
    prefix: Arc<str>,
}

impl fmt::Debug for PgUserDirectory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgUserDirectory")
            .field("pool", &self.pool)
            .field("prefix", &self.prefix)
            .finish()
    }
}

impl PgUserDirectory {
    /// The directory on `pool`, tables under `line_`. Creates or upgrades its table.
    pub async fn new(pool: &PgPool) -> Result<Self, Error> {
        Self::with_prefix(pool, line_core::store::DEFAULT_PREFIX).await
    }

    /// The directory on `pool` with tables under `prefix`.
    pub async fn with_prefix(pool: &PgPool, prefix: &str) -> Result<Self, Error> {
        pool.migrate("PgUserDirectory", prefix, "richmenu_user", USER_MIGRATIONS)
            .await
            .map_err(migrate_err("PgUserDirectory::migrate"))?;
        Ok(Self {
            pool: pool.clone(),
            prefix: prefix.into(),
        })
    }
}

#[async_trait]
impl UserDirectory for PgUserDirectory {
    async fn context(&self, user: &UserId) -> Result<UserContext, Error> {
        let q = sql(
            "SELECT context::text FROM {p}richmenu_user WHERE user_id = $1",
            &self.prefix,
        );
        let run = async {
            match query(&self.pool, &q, &[&user.as_str()]).await?.first() {
                Some(row) => {
                    let json: String = row.try_get(0)?;
                    Ok::<_, BoxError>(serde_json::from_str(&json)?)
                }
                None => Ok(UserContext::new(user.clone())),
            }
        };
        run.await.map_err(store_err("PgUserDirectory::context"))
    }

    async fn put(&self, context: UserContext) -> Result<(), Error> {
        let q = sql(
            "INSERT INTO {p}richmenu_user (user_id, context) VALUES ($1, $2::text::jsonb) \
             ON CONFLICT (user_id) DO UPDATE SET context = EXCLUDED.context",
            &self.prefix,
        );
        let run = async {
            let json = serde_json::to_string(&context)?;
            execute(&self.pool, &q, &[&context.user_id.as_str(), &json]).await?;
            Ok::<_, BoxError>(())
        };
        run.await.map_err(store_err("PgUserDirectory::put"))
    }

    async fn set_linked(&self, user: &UserId, linked: bool) -> Result<UserContext, Error> {
        let q = sql(
            "INSERT INTO {p}richmenu_user AS u (user_id, context) VALUES ($1, $2::text::jsonb) \
             ON CONFLICT (user_id) DO UPDATE SET context = jsonb_set(u.context, '{linked}', to_jsonb($3::boolean)) \
             RETURNING context::text",
            &self.prefix,
        );
        let run = async {
            let fresh = serde_json::to_string(&UserContext::new(user.clone()).linked(linked))?;
            let rows = query(&self.pool, &q, &[&user.as_str(), &fresh, &linked]).await?;
            let json: String = rows.first().ok_or("the upsert returned no row")?.try_get(0)?;
            Ok::<_, BoxError>(serde_json::from_str(&json)?)
        };
        run.await.map_err(store_err("PgUserDirectory::set_linked"))
    }

    async fn forget(&self, user: &UserId) -> Result<(), Error> {
        let q = sql("DELETE FROM {p}richmenu_user WHERE user_id = $1", &self.prefix);
        execute(&self.pool, &q, &[&user.as_str()])
            .await
            .map(|_| ())
            .map_err(store_err("PgUserDirectory::forget"))
    }
}
