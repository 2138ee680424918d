//! PostgreSQL: stores shared by many processes on many machines (feature `postgres`).
//!
//! # Why tokio-postgres with deadpool-postgres
//!
//! The host traits are async and are called from many tasks at once, so the stores
//! need an async client and a pool. We use `tokio-postgres` with `deadpool-postgres`
//! rather than `sqlx`:
//!
//! - `tokio-postgres` pipelines: statements sent together on one connection go out in
//!   one round trip. A popup reservation (lock the visitor, read its counters, then
//!   write them back in one transaction) costs two round trips this way.
//! - `deadpool-postgres` keeps a statement cache per connection (`prepare_cached`), so
//!   a hot statement is parsed and planned once per connection.
//! - Both are small (no macros, no compile-time database, no other backends) and
//!   tokio-only, which is what this workspace runs on; `sqlx`'s compile-time checked
//!   queries would need a database or an offline cache at build time, and its
//!   statement pipelining is not exposed.
//!
//! A [`PgPool`] is cheap to clone; build every store of a process on one pool.
//! Connections are made on demand (up to the pool's size) and a connection that
//! closed is dropped and replaced on the next call, so a restart of the server costs
//! the calls made while it is down (each fails with a typed error), not the store.

use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;

#[cfg(feature = "client")]
pub use super::retry_postgres::PgRetryKeyStore;
pub use super::webhook_postgres::{PgDedupeStore, PgNonceStore};
use super::{check_prefix, expand, stable_hash, store_error, SchemaTooNew};
use crate::error::{Error, ErrorKind};

/// How many connections a pool opens at most unless told otherwise.
pub const DEFAULT_POOL_SIZE: usize = 16;

/// The error of a call, boxed: the store maps it to its crate's error type.
pub type BoxError = Box<dyn StdError + Send + Sync>;

/// A pool of connections to one PostgreSQL database. Cheap to clone.
#[derive(Clone)]
pub struct PgPool {
    pool: Pool,
}

impl fmt::Debug for PgPool {
    // The URL holds a password: it is not kept, and the pool's status is all we print.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = self.pool.status();
        f.debug_struct("PgPool")
            .field("size", &status.size)
            .field("max_size", &status.max_size)
            .finish()
    }
}

/// A connection taken from the pool. If it is dropped inside a transaction (an error,
/// a cancelled future), it is closed instead of going back to the pool, so the server
/// rolls the transaction back and no later call sees it.
#[doc(hidden)]
pub struct PgConn {
    obj: Option<Object>,
    dirty: bool,
}

impl PgConn {
    /// The client.
    pub fn client(&self) -> &deadpool_postgres::ClientWrapper {
        self.obj.as_ref().expect("a PgConn holds its connection until dropped")
    }

    /// Marks the start of a transaction: until [`done`](Self::done), dropping closes the connection.
    pub fn begin(&mut self) {
        self.dirty = true;
    }

    /// Marks the end of the transaction.
    pub fn done(&mut self) {
        self.dirty = false;
    }
}

impl Drop for PgConn {
    fn drop(&mut self) {
        if self.dirty {
            if let Some(obj) = self.obj.take() {
                drop(Object::take(obj));
            }
        }
    }
}

impl PgPool {
    /// A pool of up to [`DEFAULT_POOL_SIZE`] connections to `url`
    /// (`postgres://user:password@host:port/database`). Connects on first use.
    pub fn connect(url: &str) -> Result<Self, Error> {
        Self::connect_with_size(url, DEFAULT_POOL_SIZE)
    }

    /// A pool of up to `max_size` connections to `url`. Connects on first use, with a
    /// connect timeout of 5 seconds unless the URL sets one.
    pub fn connect_with_size(url: &str, max_size: usize) -> Result<Self, Error> {
        let mut config: tokio_postgres::Config = url.parse().map_err(|_| {
            // The URL is not echoed (it holds a password), nor the parser's message (it may quote it).
            Error::new(ErrorKind::Config {
                field: "postgres url".into(),
                reason: "not a valid PostgreSQL connection URL".into(),
            })
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(5));
        }
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(max_size.max(1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_secs(10)))
            .create_timeout(Some(Duration::from_secs(5)))
            .recycle_timeout(Some(Duration::from_secs(5)))
            .build()
            .map_err(|e| {
                Error::with_source(
                    ErrorKind::Config {
                        field: "postgres pool".into(),
                        reason: "the pool could not be built".into(),
                    },
                    e.to_string(),
                )
            })?;
        Ok(Self { pool })
    }

    /// A connection from the pool.
    ///
    /// Plumbing for the stores of this workspace's crates; not a stable API.
    #[doc(hidden)]
    pub async fn get(&self) -> Result<PgConn, BoxError> {
        let obj = self.pool.get().await.map_err(|e| Box::new(e) as BoxError)?;
        Ok(PgConn {
            obj: Some(obj),
            dirty: false,
        })
    }

    /// Brings the tables of `component` under `prefix` to the last of `migrations`
    /// (each a batch of SQL with `{p}` for the prefix), recording the version in
    /// `{prefix}schema_version`. Idempotent; two processes starting at once are
    /// serialised by a transaction-scoped advisory lock on the prefix.
    ///
    /// Plumbing for the stores of this workspace's crates; not a stable API.
    #[doc(hidden)]
    pub async fn migrate(
        &self,
        store: &'static str,
        prefix: &str,
        component: &'static str,
        migrations: &'static [&'static str],
    ) -> Result<(), Error> {
        check_prefix(prefix)?;
        let op = format!("{store}::migrate");
        let run = async {
            let mut conn = self.get().await?;
            conn.begin();
            let c = conn.client();
            c.batch_execute("BEGIN").await?;
            c.execute(
                "SELECT pg_advisory_xact_lock($1)",
                &[&stable_hash(&["line-rs schema", prefix])],
            )
            .await?;
            c.batch_execute(&expand(
                "CREATE TABLE IF NOT EXISTS {p}schema_version (component TEXT PRIMARY KEY, version BIGINT NOT NULL)",
                prefix,
            ))
            .await?;
            let found: i64 = match c
                .query_opt(
                    &expand("SELECT version FROM {p}schema_version WHERE component = $1", prefix),
                    &[&component],
                )
                .await?
            {
                Some(row) => row.try_get(0)?,
                None => 0,
            };
            if found > migrations.len() as i64 {
                return Err(Box::new(SchemaTooNew {
                    component: format!("{prefix}{component}"),
                    found,
                    known: migrations.len(),
                }) as BoxError);
            }
            for sql in &migrations[found as usize..] {
                c.batch_execute(&expand(sql, prefix)).await?;
            }
            if found == migrations.len() as i64 {
                c.batch_execute("COMMIT").await?;
                conn.done();
                return Ok(());
            }
            c.execute(
                &expand(
                    "INSERT INTO {p}schema_version (component, version) VALUES ($1, $2) \
                     ON CONFLICT (component) DO UPDATE SET version = EXCLUDED.version",
                    prefix,
                ),
                &[&component, &(migrations.len() as i64)],
            )
            .await?;
            c.batch_execute("COMMIT").await?;
            conn.done();
            Ok::<_, BoxError>(())
        };
        run.await.map_err(|e| store_error(&op, e))
    }
}
