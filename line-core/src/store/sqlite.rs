//! SQLite: one database file, no server (feature `sqlite`).
//!
//! A [`SqliteDb`] owns one connection, served by a thread of its own: every store call
//! sends a job to that thread and awaits its answer, so no SQLite call ever blocks the
//! async runtime. The thread runs the jobs that are waiting together in one
//! transaction (`BEGIN IMMEDIATE` … `COMMIT`, each job in a savepoint of its own), so
//! under load many calls share one commit; a job's answer is sent only after its
//! commit. `BEGIN IMMEDIATE` takes the database's write lock at once, so a job that
//! reads and then writes (a popup reservation) cannot race a job of another process
//! on the same file.
//!
//! The file is opened in WAL mode with `synchronous = NORMAL` (a commit survives a
//! crash of the process; the last commits before a power loss may be lost) and a busy
//! timeout of 5 seconds for the write lock held by another process.
//!
//! Clone a `SqliteDb` to share it between stores: they then share the thread and the
//! connection. The thread ends when the last clone is dropped.

use std::error::Error as StdError;
use std::fmt;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use rusqlite::Connection;

#[cfg(feature = "client")]
pub use super::retry_sqlite::SqliteRetryKeyStore;
pub use super::webhook_sqlite::{SqliteDedupeStore, SqliteNonceStore};
use super::{check_prefix, expand, store_error, SchemaTooNew};
use crate::error::Error;

/// How long a job waits for another process's write lock before failing.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// At most this many waiting jobs share one transaction.
const MAX_BATCH: usize = 128;

/// The error of a job, boxed: the store maps it to its crate's error type.
pub type BoxError = Box<dyn StdError + Send + Sync>;

/// A handle on one SQLite database file and the thread that serves it. Cheap to clone.
#[derive(Clone)]
pub struct SqliteDb {
    inner: Arc<Inner>,
}

struct Inner {
    jobs: mpsc::Sender<Box<dyn Job>>,
    path: PathBuf,
    read_only: bool,
}

impl fmt::Debug for SqliteDb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteDb")
            .field("path", &self.inner.path)
            .field("read_only", &self.inner.read_only)
            .finish()
    }
}

/// A failure of the store thread itself (it stopped, or a job panicked).
#[derive(Debug)]
struct ThreadFailure(&'static str);

impl fmt::Display for ThreadFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl StdError for ThreadFailure {}

/// The commit of a shared transaction failed: every job in it gets this.
#[derive(Debug)]
struct CommitFailed(String);

impl fmt::Display for CommitFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the transaction could not be committed: {}", self.0)
    }
}

impl StdError for CommitFailed {}

trait Job: Send {
    /// Runs the job on `conn`, inside the batch's transaction; `savepoint` when other
    /// jobs share it. Returns whether it succeeded.
    fn run(&mut self, conn: &Connection, savepoint: bool) -> bool;
    /// Sends the job's answer (its result, or `failure` when the batch failed).
    fn finish(self: Box<Self>, failure: Option<&dyn fmt::Display>);
}

struct Call<T, F> {
    f: Option<F>,
    out: Option<Result<T, BoxError>>,
    reply: tokio::sync::oneshot::Sender<Result<T, BoxError>>,
}

impl<T, F> Job for Call<T, F>
where
    T: Send,
    F: FnOnce(&Connection) -> Result<T, BoxError> + Send,
{
    fn run(&mut self, conn: &Connection, savepoint: bool) -> bool {
        let Some(f) = self.f.take() else { return false };
        let result = (|| {
            if savepoint {
                conn.prepare_cached("SAVEPOINT job")?.execute([])?;
            }
            let out = std::panic::catch_unwind(AssertUnwindSafe(|| f(conn)))
                .unwrap_or_else(|_| Err(Box::new(ThreadFailure("a store job panicked")) as BoxError));
            if savepoint {
                match &out {
                    Ok(_) => {
                        conn.prepare_cached("RELEASE job")?.execute([])?;
                    }
                    Err(_) => {
                        conn.execute_batch("ROLLBACK TO job; RELEASE job")?;
                    }
                }
            }
            out
        })();
        let ok = result.is_ok();
        self.out = Some(result);
        ok
    }

    fn finish(self: Box<Self>, failure: Option<&dyn fmt::Display>) {
        let result = match (failure, self.out) {
            (Some(why), Some(Ok(_)) | None) => Err(Box::new(CommitFailed(why.to_string())) as BoxError),
            (_, Some(out)) => out,
            (None, None) => Err(Box::new(ThreadFailure("a store job did not run")) as BoxError),
        };
        // The caller may have stopped waiting (a cancelled future): nothing to do then.
        let _ = self.reply.send(result);
    }
}

fn open_connection(path: &Path, read_only: bool) -> rusqlite::Result<Connection> {
    use rusqlite::OpenFlags;
    let conn = if read_only {
        Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?
    } else {
        Connection::open(path)?
    };
    conn.busy_timeout(BUSY_TIMEOUT)?;
    if !read_only {
        let _mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
    }
    conn.set_prepared_statement_cache_capacity(128);
    Ok(conn)
}

fn serve(conn: Connection, jobs: mpsc::Receiver<Box<dyn Job>>, read_only: bool) {
    // A read-only connection cannot take the write lock: its transactions are deferred.
    let begin = if read_only { "BEGIN" } else { "BEGIN IMMEDIATE" };
    let mut batch: Vec<Box<dyn Job>> = Vec::with_capacity(MAX_BATCH);
    while let Ok(first) = jobs.recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        if let Err(e) = conn.prepare_cached(begin).and_then(|mut s| s.execute([])) {
            for job in batch.drain(..) {
                job.finish(Some(&e));
            }
            continue;
        }
        let shared = batch.len() > 1;
        let mut all_ok = true;
        for job in batch.iter_mut() {
            all_ok &= job.run(&conn, shared);
        }
        // A lone job that failed is rolled back whole; a shared transaction keeps the
        // jobs that succeeded (the failed ones were rolled back to their savepoints).
        if !shared && !all_ok {
            let _ = conn.execute_batch("ROLLBACK");
            for job in batch.drain(..) {
                job.finish(None);
            }
            continue;
        }
        match conn.prepare_cached("COMMIT").and_then(|mut s| s.execute([])) {
            Ok(_) => {
                for job in batch.drain(..) {
                    job.finish(None);
                }
            }
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                for job in batch.drain(..) {
                    job.finish(Some(&e));
                }
            }
        }
    }
}

impl SqliteDb {
    /// Opens (or creates) the database file at `path` and starts its thread.
    ///
    /// Fails with a [`Store`](crate::ErrorKind::Store) error (operation
    /// `SqliteDb::open`) when the file cannot be opened or put in WAL mode.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, Error> {
        Self::open_with(path.as_ref(), false).await
    }

    /// Opens an existing database file read-only (a process that only reports, say).
    /// Reads work; every write fails with a [`Store`](crate::ErrorKind::Store) error
    /// naming the store and operation, as it does when the file itself is read-only.
    pub async fn open_read_only(path: impl AsRef<Path>) -> Result<Self, Error> {
        Self::open_with(path.as_ref(), true).await
    }

    async fn open_with(path: &Path, read_only: bool) -> Result<Self, Error> {
        let path = path.to_owned();
        let (jobs, rx) = mpsc::channel::<Box<dyn Job>>();
        let (ready, is_ready) = tokio::sync::oneshot::channel::<Result<(), BoxError>>();
        let thread_path = path.clone();
        std::thread::Builder::new()
            .name("line-sqlite".into())
            .spawn(move || match open_connection(&thread_path, read_only) {
                Ok(conn) => {
                    let _ = ready.send(Ok(()));
                    serve(conn, rx, read_only);
                }
                Err(e) => {
                    let _ = ready.send(Err(Box::new(e)));
                }
            })
            .map_err(|e| store_error("SqliteDb::open", e))?;
        match is_ready.await {
            Ok(Ok(())) => Ok(Self {
                inner: Arc::new(Inner { jobs, path, read_only }),
            }),
            Ok(Err(e)) => Err(store_error("SqliteDb::open", e)),
            Err(_) => Err(store_error("SqliteDb::open", ThreadFailure("the store thread stopped"))),
        }
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `f` on the connection thread, inside a transaction, and gives its result
    /// once committed. If `f` fails, what it wrote is rolled back.
    ///
    /// Plumbing for the stores of this workspace's crates; not a stable API.
    #[doc(hidden)]
    pub async fn call<T, F>(&self, f: F) -> Result<T, BoxError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, BoxError> + Send + 'static,
    {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job: Box<dyn Job> = Box::new(Call {
            f: Some(f),
            out: None,
            reply,
        });
        self.inner
            .jobs
            .send(job)
            .map_err(|_| Box::new(ThreadFailure("the store thread stopped")) as BoxError)?;
        answer
            .await
            .map_err(|_| Box::new(ThreadFailure("the store thread stopped")) as BoxError)?
    }

    /// Brings the tables of `component` under `prefix` to the last of `migrations`
    /// (each a batch of SQL with `{p}` for the prefix), recording the version in
    /// `{prefix}schema_version`. Idempotent; safe when processes start at once.
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
        let prefix = prefix.to_owned();
        self.call(move |conn| {
            conn.execute_batch(&expand(
                "CREATE TABLE IF NOT EXISTS {p}schema_version (component TEXT PRIMARY KEY, version INTEGER NOT NULL)",
                &prefix,
            ))?;
            let found: i64 = conn
                .query_row(
                    &expand("SELECT version FROM {p}schema_version WHERE component = ?1", &prefix),
                    [component],
                    |r| r.get(0),
                )
                .or_else(|e| match e {
                    rusqlite::Error::QueryReturnedNoRows => Ok(0),
                    e => Err(e),
                })?;
            if found > migrations.len() as i64 {
                return Err(Box::new(SchemaTooNew {
                    component: format!("{prefix}{component}"),
                    found,
                    known: migrations.len(),
                }) as BoxError);
            }
            if found == migrations.len() as i64 {
                return Ok(());
            }
            for sql in &migrations[found as usize..] {
                conn.execute_batch(&expand(sql, &prefix))?;
            }
            conn.execute(
                &expand(
                    "INSERT INTO {p}schema_version (component, version) VALUES (?1, ?2) \
                     ON CONFLICT (component) DO UPDATE SET version = excluded.version",
                    &prefix,
                ),
                rusqlite::params![component, migrations.len() as i64],
            )?;
            Ok(())
        })
        .await
        .map_err(|e| store_error(&format!("{store}::migrate"), e))
    }
}
