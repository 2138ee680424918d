//! PostgreSQL: stores shared by many processes on many machines (feature `postgres`).
//!
//! # Why tokio-postgres with deadpool-postgres
//!
//! The host traits are async and are called from many tasks at once, so the stores
//! need an async client and a pool. We use `tokio-postgres` with `deadpool-postgres`
//! rather than `sqlx`:
//!
//! - `tokio-postgres` pipelines: statements sent together on one connection go out in
//!   one round trip. line-popup's store uses it to share a few connections among all
//!   reservations, each reservation one call of a server-side function.
//! - `deadpool-postgres` keeps a statement cache per connection (`prepare_cached`), so
//!   a hot statement is parsed and planned once per connection. Batch statements over
//!   tables that grow and shrink (leases of due work, purges) are planned on each call
//!   instead, in the same one round trip ([`query_planned`]).
//! - Both are small (no macros, no compile-time database, no other backends) and
//!   tokio-only, which is what this workspace runs on; `sqlx`'s compile-time checked
//!   queries would need a database or an offline cache at build time, and its
//!   statement pipelining is not exposed.
//!
//! A [`PgPool`] is cheap to clone; build every store of a process on one pool.
//! Connections are made on demand (up to the pool's size) and a connection that
//! closed is dropped and replaced on the next call, so a restart of the server costs
//! the calls made while it is down (each fails with a typed error), not the store.
//!
//! # Size and timeouts
//!
//! [`PgPool::connect`] takes the defaults of [`PgPoolConfig`]; [`PgPool::connect_with`]
//! takes your own:
//!
//! | Setting | Default | What it bounds |
//! |---|---|---|
//! | [`max_size`](PgPoolConfig::with_max_size) | [`DEFAULT_POOL_SIZE`] (16) | connections open at once |
//! | [`connect_timeout`](PgPoolConfig::with_connect_timeout) | 5 s | the TCP connect of a new connection (a `connect_timeout` in the URL wins) |
//! | [`create_timeout`](PgPoolConfig::with_create_timeout) | 10 s | a whole new connection: connect, TLS-less startup and authentication |
//! | [`wait_timeout`](PgPoolConfig::with_wait_timeout) | 10 s | a call waiting for a free connection when all are taken |
//! | [`recycle_timeout`](PgPoolConfig::with_recycle_timeout) | 5 s | the check of a connection handed back to the pool |
//!
//! A call that runs out of one of these fails with a typed store error; nothing
//! waits forever. Size the pool to what the server can run at once, not to the
//! number of calls in flight: calls beyond the pool's size wait for a connection in
//! the order they came (more connections than the server has cores only make them
//! wait in the server's run queue instead, with a longer tail; see
//! `docs/host-traits.md` for the measurements). A new connection authenticates
//! (SCRAM costs the server and the client a few milliseconds of CPU each), so on a
//! loaded machine many connections opened at once need a generous create timeout.

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

/// The size and timeouts of a [`PgPool`] (see the [module docs](self) for the defaults).
///
/// ```
/// use std::time::Duration;
/// use line_core::store::postgres::{PgPool, PgPoolConfig};
///
/// let config = PgPoolConfig::default()
///     .with_max_size(4)
///     .with_create_timeout(Duration::from_secs(30));
/// let pool = PgPool::connect_with("postgres://line:secret@127.0.0.1:5432/shop", &config)?;
/// # let _ = pool;
/// # Ok::<(), line_core::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PgPoolConfig {
    /// Connections open at once, at most (at least 1).
    pub max_size: usize,
    /// The TCP connect of a new connection, unless the URL sets `connect_timeout`.
    pub connect_timeout: Duration,
    /// A whole new connection: connect, startup and authentication.
    pub create_timeout: Duration,
    /// A call waiting for a free connection when all are taken.
    pub wait_timeout: Duration,
    /// The check of a connection handed back to the pool before it is reused.
    pub recycle_timeout: Duration,
}

impl Default for PgPoolConfig {
    fn default() -> Self {
        Self {
            max_size: DEFAULT_POOL_SIZE,
            connect_timeout: Duration::from_secs(5),
            create_timeout: Duration::from_secs(10),
            wait_timeout: Duration::from_secs(10),
            recycle_timeout: Duration::from_secs(5),
        }
    }
}

impl PgPoolConfig {
    /// Sets [`max_size`](Self::max_size).
    #[must_use]
    pub fn with_max_size(mut self, max_size: usize) -> Self {
        self.max_size = max_size;
        self
    }

    /// Sets [`connect_timeout`](Self::connect_timeout).
    #[must_use]
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets [`create_timeout`](Self::create_timeout).
    #[must_use]
    pub fn with_create_timeout(mut self, timeout: Duration) -> Self {
        self.create_timeout = timeout;
        self
    }

    /// Sets [`wait_timeout`](Self::wait_timeout).
    #[must_use]
    pub fn with_wait_timeout(mut self, timeout: Duration) -> Self {
        self.wait_timeout = timeout;
        self
    }

    /// Sets [`recycle_timeout`](Self::recycle_timeout).
    #[must_use]
    pub fn with_recycle_timeout(mut self, timeout: Duration) -> Self {
        self.recycle_timeout = timeout;
        self
    }

    /// Refuses a size of 0 and zero timeouts, naming the field.
    fn check(&self) -> Result<(), Error> {
        let bad = |field: &str, reason: &str| {
            Err(Error::new(ErrorKind::Config {
                field: format!("postgres pool {field}"),
                reason: reason.into(),
            }))
        };
        if self.max_size == 0 {
            return bad("max_size", "must be at least 1");
        }
        for (field, t) in [
            ("connect_timeout", self.connect_timeout),
            ("create_timeout", self.create_timeout),
            ("wait_timeout", self.wait_timeout),
            ("recycle_timeout", self.recycle_timeout),
        ] {
            if t.is_zero() {
                return bad(field, "must be longer than zero");
            }
        }
        Ok(())
    }
}

/// The error of a call, boxed: the store maps it to its crate's error type.
pub type BoxError = Box<dyn StdError + Send + Sync>;

/// A parameter of [`query_planned`] and [`execute_planned`]: the value and its type.
pub type TypedParam<'a> = (
    &'a (dyn tokio_postgres::types::ToSql + Sync),
    tokio_postgres::types::Type,
);

/// Runs `sql` as the connection's unnamed statement, planned for these `params` on this
/// call, and gives its rows. One round trip, as a cached statement's run is.
///
/// A statement prepared once per connection (`prepare_cached`) gets a generic plan
/// (one for any parameters) from its sixth run on, unless that plan looks dearer than
/// those made for the values of the first five, and keeps it until a table it reads is
/// analysed again. A generic plan made while a table was small reads it whole; if
/// the table then grows (a queue after a quiet night, the tables of a new deployment),
/// every run reads it whole until autovacuum comes by and analyses it. A statement
/// planned on each call sees the table as it is (the planner scales the last
/// statistics to the table's current size), at the cost of planning it every time.
/// The stores run their batch statements this way: leases of due work and purges of
/// expired rows, which run a few times a second at most and whose tables grow and
/// shrink.
pub async fn query_planned(
    client: &tokio_postgres::Client,
    sql: &str,
    params: &[TypedParam<'_>],
) -> Result<Vec<tokio_postgres::Row>, tokio_postgres::Error> {
    client.query_typed(sql, params).await
}

/// Runs `sql` as [`query_planned`] does and gives the number of rows it changed.
pub async fn execute_planned(
    client: &tokio_postgres::Client,
    sql: &str,
    params: &[TypedParam<'_>],
) -> Result<u64, tokio_postgres::Error> {
    use futures::TryStreamExt;
    let rows = client
        .query_typed_raw(sql, params.iter().map(|(v, t)| (*v, t.clone())))
        .await?;
    let mut rows = std::pin::pin!(rows);
    while rows.try_next().await?.is_some() {}
    Ok(rows.rows_affected().unwrap_or(0))
}

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

    /// Takes the connection out of its pool for good (the pool may open another in its
    /// place), for a store that keeps connections of its own; dropping the client closes
    /// the connection.
    pub fn detach(mut self) -> PgClient {
        let obj = self.obj.take().expect("a PgConn holds its connection until dropped");
        Object::take(obj)
    }
}

/// A connection taken out of its pool ([`PgConn::detach`]); derefs to
/// `tokio_postgres::Client`.
#[doc(hidden)]
pub type PgClient = deadpool_postgres::ClientWrapper;

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
    /// (`postgres://user:password@host:port/database`), with the default timeouts of
    /// [`PgPoolConfig`]. Connects on first use.
    pub fn connect(url: &str) -> Result<Self, Error> {
        Self::connect_with(url, &PgPoolConfig::default())
    }

    /// A pool of up to `max_size` connections to `url` (a size of 0 is taken as 1), with
    /// the default timeouts. Connects on first use.
    pub fn connect_with_size(url: &str, max_size: usize) -> Result<Self, Error> {
        Self::connect_with(url, &PgPoolConfig::default().with_max_size(max_size.max(1)))
    }

    /// A pool to `url` sized and timed by `config`. Connects on first use.
    ///
    /// A size of 0 or a zero timeout is refused with a [`Config`](ErrorKind::Config)
    /// error naming the field (`postgres pool max_size`, …).
    pub fn connect_with(url: &str, config: &PgPoolConfig) -> Result<Self, Error> {
        config.check()?;
        let mut pg: tokio_postgres::Config = url.parse().map_err(|_| {
            // The URL is not echoed (it holds a password), nor the parser's message (it may quote it).
            Error::new(ErrorKind::Config {
                field: "postgres url".into(),
                reason: "not a valid PostgreSQL connection URL".into(),
            })
        })?;
        if pg.get_connect_timeout().is_none() {
            pg.connect_timeout(config.connect_timeout);
        }
        let manager = Manager::from_config(
            pg,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(config.max_size)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(config.wait_timeout))
            .create_timeout(Some(config.create_timeout))
            .recycle_timeout(Some(config.recycle_timeout))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zero_size_or_timeout_is_refused_naming_the_field() {
        let url = "postgres://line:hunter2@127.0.0.1:5432/line";
        let zero = Duration::ZERO;
        for (config, field) in [
            (PgPoolConfig::default().with_max_size(0), "postgres pool max_size"),
            (
                PgPoolConfig::default().with_connect_timeout(zero),
                "postgres pool connect_timeout",
            ),
            (
                PgPoolConfig::default().with_create_timeout(zero),
                "postgres pool create_timeout",
            ),
            (
                PgPoolConfig::default().with_wait_timeout(zero),
                "postgres pool wait_timeout",
            ),
            (
                PgPoolConfig::default().with_recycle_timeout(zero),
                "postgres pool recycle_timeout",
            ),
        ] {
            let e = PgPool::connect_with(url, &config).unwrap_err();
            match e.kind() {
                ErrorKind::Config { field: f, .. } => assert_eq!(f, field),
                other => panic!("{field}: {other:?}"),
            }
            assert!(!format!("{e} {e:?}").contains("hunter2"));
        }
        let pool = PgPool::connect_with(url, &PgPoolConfig::default().with_max_size(3)).unwrap();
        assert_eq!(pool.pool.status().max_size, 3);
        // The old entry point still takes 0 as 1.
        assert_eq!(PgPool::connect_with_size(url, 0).unwrap().pool.status().max_size, 1);
    }

    /// A server that accepts the TCP connection and never answers the startup: the
    /// create timeout, not the default of 10 s, bounds the call.
    #[tokio::test]
    async fn the_create_timeout_bounds_a_server_that_never_answers() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let held = tokio::spawn(async move {
            let mut open = Vec::new();
            while let Ok((sock, _)) = listener.accept().await {
                open.push(sock);
            }
        });
        let config = PgPoolConfig::default().with_create_timeout(Duration::from_millis(300));
        let pool = PgPool::connect_with(&format!("postgres://line:hunter2@127.0.0.1:{port}/line"), &config).unwrap();
        let started = std::time::Instant::now();
        let e = match pool.get().await {
            Ok(_) => panic!("a server that never answers gave a connection"),
            Err(e) => e,
        };
        let took = started.elapsed();
        assert!(
            matches!(
                e.downcast_ref::<deadpool_postgres::PoolError>(),
                Some(deadpool_postgres::PoolError::Timeout(
                    deadpool_postgres::TimeoutType::Create
                ))
            ),
            "{e:?}"
        );
        assert!(
            took < Duration::from_secs(5),
            "the create timeout did not apply: {took:?}"
        );
        held.abort();
    }
}
