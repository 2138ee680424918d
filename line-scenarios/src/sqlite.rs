//! A durable [`StateStore`] and [`Scheduler`] on SQLite (feature `sqlite`, rusqlite with the
//! bundled library): the embedded default for one process; [`SqliteSources`], the friend
//! sources' store; [`SqliteContacts`], the contact budget; and [`SqliteProfiles`], the profiles
//! scenarios read and change.
//!
//! The database runs in WAL mode with a busy timeout. Tables carry a prefix (default `scn_`) so
//! that they can live in the host's own database; the schema is created and upgraded by versioned
//! migrations recorded in `{prefix}migrations`, each applied once in its own transaction, so
//! opening the same file again (or from a newer version) is safe. Every atomic operation of the
//! traits is one transaction, and each batched form (`enrollments_of`, `transition_many`,
//! `claim_many`, `settle_many`, `schedule_many`) runs its whole batch in one. Calls block on SQLite
//! for the duration of a statement.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! use line_scenarios::sqlite::SqliteStore;
//! let store = Arc::new(SqliteStore::open_in_memory("scn_").unwrap());
//! let clock = line_core::clock::ManualClock::new(jiff::Timestamp::UNIX_EPOCH);
//! line_scenarios::testing::state_store_conformance(store.clone(), &clock).await;
//! line_scenarios::testing::scheduler_conformance(store, &clock).await;
//! # });
//! ```

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use jiff::{SignedDuration, Timestamp};
use line_core::ids::UserId;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use crate::codec;
use crate::error::{Error, Result};
use crate::model::Reentry;
use crate::store::*;

/// The migrations, in order; `{p}` is replaced by the table prefix. Never edit one that shipped:
/// add a new one.
const MIGRATIONS: &[&str] = &[
    // 1: enrollments, the send ledger, wake-ups.
    "CREATE TABLE IF NOT EXISTS {p}enrollments (
        scenario TEXT NOT NULL,
        user_id TEXT NOT NULL,
        entry INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        step INTEGER NOT NULL,
        status TEXT NOT NULL,
        entered_at INTEGER NOT NULL,
        since INTEGER NOT NULL,
        wait_until INTEGER,
        last_sent INTEGER,
        vars TEXT NOT NULL DEFAULT '[]',
        PRIMARY KEY (scenario, user_id)
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS {p}enrollments_user ON {p}enrollments (user_id);
    CREATE TABLE IF NOT EXISTS {p}ledger (
        scenario TEXT NOT NULL,
        user_id TEXT NOT NULL,
        entry INTEGER NOT NULL,
        step INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        state TEXT NOT NULL,
        since INTEGER NOT NULL,
        PRIMARY KEY (scenario, user_id, entry, step, seq)
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS {p}wakeups (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        scenario TEXT NOT NULL,
        user_id TEXT NOT NULL,
        entry INTEGER NOT NULL,
        at INTEGER NOT NULL,
        leased_until INTEGER
    );
    CREATE INDEX IF NOT EXISTS {p}wakeups_due ON {p}wakeups (at, id);
    CREATE INDEX IF NOT EXISTS {p}wakeups_key ON {p}wakeups (scenario, user_id, entry, at);",
];

/// The SQLite store. `Send + Sync`; share it behind an `Arc`.
#[derive(Debug)]
pub struct SqliteStore {
    conn: Mutex<Connection>,
    prefix: String,
}

fn db(op: &str) -> impl Fn(rusqlite::Error) -> Error + '_ {
    move |e| Error::store(op, &e).with_source(e)
}

fn ts(secs: i64) -> Timestamp {
    Timestamp::from_second(secs).unwrap_or(Timestamp::UNIX_EPOCH)
}

impl SqliteStore {
    /// Opens (or creates) the database file and applies the migrations.
    pub fn open(path: impl AsRef<Path>, prefix: &str) -> Result<Self> {
        let conn = Connection::open(path).map_err(db("open"))?;
        Self::init(conn, prefix)
    }

    /// A private in-memory database (tests).
    pub fn open_in_memory(prefix: &str) -> Result<Self> {
        let conn = Connection::open_in_memory().map_err(db("open"))?;
        Self::init(conn, prefix)
    }

    fn init(mut conn: Connection, prefix: &str) -> Result<Self> {
        if !prefix.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(Error::config("prefix", "use only ASCII letters, digits and `_`"));
        }
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(db("busy_timeout"))?;
        let _mode: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .map_err(db("journal_mode"))?;
        conn.execute_batch("PRAGMA synchronous=NORMAL")
            .map_err(db("synchronous"))?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db("migrate"))?;
        tx.execute_batch(&format!(
            "CREATE TABLE IF NOT EXISTS {prefix}migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)"
        ))
        .map_err(db("migrate"))?;
        let current: i64 = tx
            .query_row(
                &format!("SELECT COALESCE(MAX(version), 0) FROM {prefix}migrations"),
                [],
                |r| r.get(0),
            )
            .map_err(db("migrate"))?;
        tx.commit().map_err(db("migrate"))?;
        for (i, sql) in MIGRATIONS.iter().enumerate() {
            let version = i as i64 + 1;
            if version <= current {
                continue;
            }
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db("migrate"))?;
            // Another process may have applied it meanwhile.
            let done: Option<i64> = tx
                .query_row(
                    &format!("SELECT version FROM {prefix}migrations WHERE version = ?1"),
                    [version],
                    |r| r.get(0),
                )
                .optional()
                .map_err(db("migrate"))?;
            if done.is_none() {
                tx.execute_batch(&sql.replace("{p}", prefix)).map_err(db("migrate"))?;
                tx.execute(
                    &format!("INSERT INTO {prefix}migrations (version, applied_at) VALUES (?1, ?2)"),
                    params![version, Timestamp::now().as_second()],
                )
                .map_err(db("migrate"))?;
            }
            tx.commit().map_err(db("migrate"))?;
        }
        Ok(Self {
            conn: Mutex::new(conn),
            prefix: prefix.to_owned(),
        })
    }

    /// The schema version of the database.
    pub fn schema_version(&self) -> Result<i64> {
        self.lock()
            .query_row(
                &format!("SELECT COALESCE(MAX(version), 0) FROM {}migrations", self.prefix),
                [],
                |r| r.get(0),
            )
            .map_err(db("schema_version"))
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn t(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }
}

const COLS: &str = "entry, seq, step, status, entered_at, since, wait_until, last_sent, vars";

fn row_enrollment(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Enrollment> {
    // A column that does not read back is an error (never an active enrollment or no variables).
    let stored =
        |i: usize, e: codec::BoxError| rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, e);
    let status: String = r.get(at + 3)?;
    let vars: String = r.get(at + 8)?;
    Ok(Enrollment {
        entry: r.get(at)?,
        seq: r.get(at + 1)?,
        step: r.get(at + 2)?,
        status: codec::read_status(&status).map_err(|e| stored(at + 3, e))?,
        entered_at: ts(r.get(at + 4)?),
        since: ts(r.get(at + 5)?),
        wait_until: r.get::<_, Option<i64>>(at + 6)?.map(ts),
        last_sent: r.get(at + 7)?,
        vars: codec::read_vars(&vars).map_err(|e| stored(at + 8, e))?,
    })
}

#[async_trait::async_trait]
impl StateStore for SqliteStore {
    async fn enroll(
        &self,
        scenario: &str,
        user: &UserId,
        rule: Reentry,
        at: Timestamp,
        vars: Vec<(String, String)>,
    ) -> Result<EnrollOutcome> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db("enroll"))?;
        let prior: Option<(u32, String, i64)> = tx
            .query_row(
                &format!(
                    "SELECT entry, status, entered_at FROM {} WHERE scenario = ?1 AND user_id = ?2",
                    self.t("enrollments")
                ),
                params![scenario, user.as_str()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(db("enroll"))?;
        if let Some((_, status, entered)) = &prior {
            if let Some(r) = codec::refusal(rule, status, *entered, at) {
                return Ok(EnrollOutcome::Refused(r));
            }
        }
        let entry = prior.map_or(1, |p| p.0 + 1);
        let now = at.as_second();
        let vars_json = codec::vars(&vars);
        tx.execute(
            &format!(
                "INSERT OR REPLACE INTO {} (scenario, user_id, {COLS}) VALUES (?1, ?2, ?3, 0, 0, 'active', ?4, ?4, NULL, NULL, ?5)",
                self.t("enrollments")
            ),
            params![scenario, user.as_str(), entry, now, vars_json],
        )
        .map_err(db("enroll"))?;
        tx.commit().map_err(db("enroll"))?;
        Ok(EnrollOutcome::Entered(Enrollment {
            entry,
            seq: 0,
            step: 0,
            status: Status::Active,
            entered_at: ts(now),
            since: ts(now),
            wait_until: None,
            last_sent: None,
            vars,
        }))
    }

    async fn enrollment(&self, scenario: &str, user: &UserId) -> Result<Option<Enrollment>> {
        self.enrollment_in(&self.lock(), scenario, user)
            .map_err(db("enrollment"))
    }

    async fn transition(
        &self,
        scenario: &str,
        user: &UserId,
        entry: u32,
        seq: u32,
        change: Transition,
    ) -> Result<bool> {
        self.transition_in(&self.lock(), scenario, user, entry, seq, &change)
            .map_err(db("transition"))
    }

    async fn active_of(&self, user: &UserId) -> Result<Vec<(String, Enrollment)>> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT scenario, {COLS} FROM {} WHERE user_id = ?1 AND status = 'active' ORDER BY scenario",
                self.t("enrollments")
            ))
            .map_err(db("active_of"))?;
        let rows = stmt
            .query_map([user.as_str()], |r| Ok((r.get(0)?, row_enrollment(r, 1)?)))
            .map_err(db("active_of"))?;
        rows.collect::<rusqlite::Result<_>>().map_err(db("active_of"))
    }

    async fn active_page(
        &self,
        after: Option<(&str, &UserId)>,
        limit: usize,
    ) -> Result<Vec<(String, UserId, Enrollment)>> {
        let conn = self.lock();
        let (s, u) = after.map_or(("", ""), |(s, u)| (s, u.as_str()));
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT scenario, user_id, {COLS} FROM {} WHERE status = 'active' AND (scenario, user_id) > (?1, ?2)
                 ORDER BY scenario, user_id LIMIT ?3",
                self.t("enrollments")
            ))
            .map_err(db("active_page"))?;
        let rows = stmt
            .query_map(params![s, u, limit as i64], |r| {
                Ok((r.get(0)?, UserId::new(r.get::<_, String>(1)?), row_enrollment(r, 2)?))
            })
            .map_err(db("active_page"))?;
        rows.collect::<rusqlite::Result<_>>().map_err(db("active_page"))
    }

    async fn claim(&self, key: &SendKey, at: Timestamp) -> Result<Claim> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db("claim"))?;
        let claim = self.claim_in(&tx, key, at).map_err(db("claim"))?;
        tx.commit().map_err(db("claim"))?;
        Ok(claim)
    }

    async fn settle(&self, key: &SendKey, outcome: Settled) -> Result<()> {
        self.settle_in(&self.lock(), key, &outcome).map_err(db("settle"))
    }

    async fn enrollments_of(&self, wakes: &[WakeUp]) -> Result<Vec<Option<Enrollment>>> {
        let conn = self.lock();
        wakes
            .iter()
            .map(|w| self.enrollment_in(&conn, &w.scenario, &w.user))
            .collect::<rusqlite::Result<_>>()
            .map_err(db("enrollment"))
    }

    async fn transition_many(&self, changes: &[TransitionOf<'_>]) -> Result<Vec<bool>> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db("transition"))?;
        let out = changes
            .iter()
            .map(|c| self.transition_in(&tx, c.scenario, c.user, c.entry, c.seq, &c.change))
            .collect::<rusqlite::Result<_>>()
            .map_err(db("transition"))?;
        tx.commit().map_err(db("transition"))?;
        Ok(out)
    }

    async fn claim_many(&self, keys: &[SendKey], at: Timestamp) -> Result<Vec<Claim>> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db("claim"))?;
        let out = keys
            .iter()
            .map(|k| self.claim_in(&tx, k, at))
            .collect::<rusqlite::Result<_>>()
            .map_err(db("claim"))?;
        tx.commit().map_err(db("claim"))?;
        Ok(out)
    }

    async fn settle_many(&self, outcomes: &[(&SendKey, Settled)]) -> Result<()> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db("settle"))?;
        for (k, o) in outcomes {
            self.settle_in(&tx, k, o).map_err(db("settle"))?;
        }
        tx.commit().map_err(db("settle"))
    }
}

impl SqliteStore {
    fn enrollment_in(&self, conn: &Connection, scenario: &str, user: &UserId) -> rusqlite::Result<Option<Enrollment>> {
        conn.prepare_cached(&format!(
            "SELECT {COLS} FROM {} WHERE scenario = ?1 AND user_id = ?2",
            self.t("enrollments")
        ))?
        .query_row(params![scenario, user.as_str()], |r| row_enrollment(r, 0))
        .optional()
    }

    fn transition_in(
        &self,
        conn: &Connection,
        scenario: &str,
        user: &UserId,
        entry: u32,
        seq: u32,
        change: &Transition,
    ) -> rusqlite::Result<bool> {
        let table = self.t("enrollments");
        let n = match change {
            Transition::Move {
                step,
                since,
                wait_until,
                last_sent,
            } => conn
                .prepare_cached(&format!(
                    "UPDATE {table} SET seq = seq + 1, step = ?5, since = ?6, wait_until = ?7, last_sent = ?8
                     WHERE scenario = ?1 AND user_id = ?2 AND entry = ?3 AND seq = ?4 AND status = 'active'"
                ))?
                .execute(params![
                    scenario,
                    user.as_str(),
                    entry,
                    seq,
                    step,
                    since.as_second(),
                    wait_until.map(|t| t.as_second()),
                    last_sent
                ])?,
            Transition::Exit(reason) => conn
                .prepare_cached(&format!(
                    "UPDATE {table} SET seq = seq + 1, status = ?5, wait_until = NULL
                     WHERE scenario = ?1 AND user_id = ?2 AND entry = ?3 AND seq = ?4 AND status = 'active'"
                ))?
                .execute(params![scenario, user.as_str(), entry, seq, reason.name()])?,
        };
        Ok(n == 1)
    }

    /// Claims `key`; run it inside an immediate transaction.
    fn claim_in(&self, conn: &Connection, key: &SendKey, at: Timestamp) -> rusqlite::Result<Claim> {
        let table = self.t("ledger");
        let found: Option<(String, i64)> = conn
            .prepare_cached(&format!(
                "SELECT state, since FROM {table} WHERE scenario = ?1 AND user_id = ?2 AND entry = ?3 AND step = ?4 AND seq = ?5"
            ))?
            .query_row(
                params![&*key.scenario, key.user.as_str(), key.entry, key.step, key.seq],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        Ok(match found {
            Some((state, since)) => match state.as_str() {
                "done" => Claim::Done,
                "abandoned" => Claim::Abandoned,
                _ => Claim::Pending { since: ts(since) },
            },
            None => {
                conn.prepare_cached(&format!(
                    "INSERT INTO {table} (scenario, user_id, entry, step, seq, state, since) VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6)"
                ))?
                .execute(params![&*key.scenario, key.user.as_str(), key.entry, key.step, key.seq, at.as_second()])?;
                Claim::New
            }
        })
    }

    fn settle_in(&self, conn: &Connection, key: &SendKey, outcome: &Settled) -> rusqlite::Result<()> {
        let state = match outcome {
            Settled::Accepted => "done",
            Settled::Abandoned => "abandoned",
        };
        conn.prepare_cached(&format!(
            "INSERT INTO {} (scenario, user_id, entry, step, seq, state, since) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0)
             ON CONFLICT (scenario, user_id, entry, step, seq)
             DO UPDATE SET state = CASE WHEN state = 'done' THEN 'done' ELSE excluded.state END",
            self.t("ledger")
        ))?
        .execute(params![
            &*key.scenario,
            key.user.as_str(),
            key.entry,
            key.step,
            key.seq,
            state
        ])?;
        Ok(())
    }

    fn schedule_in(&self, conn: &Connection, wake: &WakeUp) -> rusqlite::Result<()> {
        conn.prepare_cached(&format!(
            "INSERT INTO {} (scenario, user_id, entry, at, leased_until) VALUES (?1, ?2, ?3, ?4, NULL)",
            self.t("wakeups")
        ))?
        .execute(params![
            &*wake.scenario,
            wake.user.as_str(),
            wake.entry,
            wake.at.as_second()
        ])?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl Scheduler for SqliteStore {
    async fn schedule(&self, wake: &WakeUp) -> Result<()> {
        self.schedule_in(&self.lock(), wake).map_err(db("schedule"))
    }

    async fn schedule_many(&self, wakes: &[WakeUp]) -> Result<()> {
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(db("schedule"))?;
        for w in wakes {
            self.schedule_in(&tx, w).map_err(db("schedule"))?;
        }
        tx.commit().map_err(db("schedule"))
    }

    async fn due(&self, now: Timestamp, limit: usize, lease: SignedDuration) -> Result<Vec<WakeUp>> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db("due"))?;
        let table = self.t("wakeups");
        let now_s = now.as_second();
        let until = now_s.saturating_add(lease.as_secs());
        let rows: Vec<(i64, WakeUp)> = {
            let mut stmt = tx
                .prepare_cached(&format!(
                    "SELECT id, scenario, user_id, entry, at FROM {table}
                     WHERE at <= ?1 AND (leased_until IS NULL OR leased_until <= ?1) ORDER BY at, id LIMIT ?2"
                ))
                .map_err(db("due"))?;
            let rows = stmt
                .query_map(params![now_s, limit as i64], |r| {
                    Ok((
                        r.get(0)?,
                        WakeUp {
                            scenario: r.get::<_, String>(1)?.into(),
                            user: UserId::new(r.get::<_, String>(2)?),
                            entry: r.get(3)?,
                            at: ts(r.get(4)?),
                        },
                    ))
                })
                .map_err(db("due"))?;
            rows.collect::<rusqlite::Result<_>>().map_err(db("due"))?
        };
        {
            let mut lease_stmt = tx
                .prepare_cached(&format!("UPDATE {table} SET leased_until = ?2 WHERE id = ?1"))
                .map_err(db("due"))?;
            for (id, _) in &rows {
                lease_stmt.execute(params![id, until]).map_err(db("due"))?;
            }
        }
        tx.commit().map_err(db("due"))?;
        Ok(rows.into_iter().map(|(_, w)| w).collect())
    }

    async fn ack(&self, wakes: &[WakeUp]) -> Result<()> {
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(db("ack"))?;
        {
            let mut stmt = tx
                .prepare_cached(&format!(
                    "DELETE FROM {} WHERE scenario = ?1 AND user_id = ?2 AND entry = ?3 AND at = ?4 AND leased_until IS NOT NULL",
                    self.t("wakeups")
                ))
                .map_err(db("ack"))?;
            for w in wakes {
                stmt.execute(params![&*w.scenario, w.user.as_str(), w.entry, w.at.as_second()])
                    .map_err(db("ack"))?;
            }
        }
        tx.commit().map_err(db("ack"))
    }

    async fn pending(&self) -> Result<usize> {
        self.lock()
            .query_row(&format!("SELECT COUNT(*) FROM {}", self.t("wakeups")), [], |r| {
                r.get::<_, i64>(0)
            })
            .map(|n| n as usize)
            .map_err(db("len"))
    }
}

/// The migrations of [`SqliteSources`], recorded in `{prefix}source_migrations` (apart from the
/// state store's, so that the two evolve on their own). Never edit one that shipped.
const SOURCE_MIGRATIONS: &[&str] = &[
    // 1: tokens, bindings, users' sources, follows seen, other events seen, counts.
    "CREATE TABLE IF NOT EXISTS {p}source_tokens (
        token TEXT PRIMARY KEY, source TEXT NOT NULL, expires INTEGER NOT NULL) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS {p}source_bindings (
        user_id TEXT PRIMARY KEY, source TEXT NOT NULL, expires INTEGER NOT NULL) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS {p}source_users (
        user_id TEXT PRIMARY KEY, source TEXT NOT NULL) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS {p}source_follows (
        event_id TEXT PRIMARY KEY, source TEXT) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS {p}source_seen (key TEXT PRIMARY KEY) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS {p}source_counts (
        source TEXT PRIMARY KEY,
        visits INTEGER NOT NULL DEFAULT 0,
        friends INTEGER NOT NULL DEFAULT 0,
        blocks INTEGER NOT NULL DEFAULT 0,
        conversions INTEGER NOT NULL DEFAULT 0,
        revenue REAL NOT NULL DEFAULT 0
    ) WITHOUT ROWID;",
];

/// A durable [`SourceStore`](crate::sources::SourceStore) on SQLite: each operation is one
/// immediate transaction. It may share a file (and a prefix) with [`SqliteStore`]. Times are kept
/// in milliseconds.
#[derive(Debug)]
pub struct SqliteSources {
    conn: Mutex<Connection>,
    prefix: String,
}

impl SqliteSources {
    /// Opens (or creates) the database file and applies the migrations.
    pub fn open(path: impl AsRef<Path>, prefix: &str) -> Result<Self> {
        let conn = Connection::open(path).map_err(db("open"))?;
        Self::init(conn, prefix)
    }

    /// A private in-memory database (tests).
    pub fn open_in_memory(prefix: &str) -> Result<Self> {
        let conn = Connection::open_in_memory().map_err(db("open"))?;
        Self::init(conn, prefix)
    }

    fn init(mut conn: Connection, prefix: &str) -> Result<Self> {
        if !prefix.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(Error::config("prefix", "use only ASCII letters, digits and `_`"));
        }
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(db("busy_timeout"))?;
        let _mode: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .map_err(db("journal_mode"))?;
        for (i, sql) in SOURCE_MIGRATIONS.iter().enumerate() {
            let version = i as i64 + 1;
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db("migrate"))?;
            tx.execute_batch(&format!(
                "CREATE TABLE IF NOT EXISTS {prefix}source_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)"
            ))
            .map_err(db("migrate"))?;
            let done: Option<i64> = tx
                .query_row(
                    &format!("SELECT version FROM {prefix}source_migrations WHERE version = ?1"),
                    [version],
                    |r| r.get(0),
                )
                .optional()
                .map_err(db("migrate"))?;
            if done.is_none() {
                tx.execute_batch(&sql.replace("{p}", prefix)).map_err(db("migrate"))?;
                tx.execute(
                    &format!("INSERT INTO {prefix}source_migrations (version, applied_at) VALUES (?1, ?2)"),
                    params![version, Timestamp::now().as_second()],
                )
                .map_err(db("migrate"))?;
            }
            tx.commit().map_err(db("migrate"))?;
        }
        Ok(Self {
            conn: Mutex::new(conn),
            prefix: prefix.to_owned(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` in one immediate transaction.
    fn tx<T>(&self, op: &str, f: impl FnOnce(&rusqlite::Transaction<'_>, &str) -> rusqlite::Result<T>) -> Result<T> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db(op))?;
        let out = f(&tx, &self.prefix).map_err(db(op))?;
        tx.commit().map_err(db(op))?;
        Ok(out)
    }
}

fn bump(tx: &rusqlite::Transaction<'_>, p: &str, source: &str, column: &str, revenue: f64) -> rusqlite::Result<()> {
    tx.execute(
        &format!(
            "INSERT INTO {p}source_counts (source, {column}, revenue) VALUES (?1, 1, ?2)
             ON CONFLICT (source) DO UPDATE SET {column} = {column} + 1, revenue = revenue + ?2"
        ),
        params![source, revenue],
    )
    .map(|_| ())
}

fn user_source(tx: &rusqlite::Transaction<'_>, p: &str, user: &UserId) -> rusqlite::Result<Option<String>> {
    tx.query_row(
        &format!("SELECT source FROM {p}source_users WHERE user_id = ?1"),
        [user.as_str()],
        |r| r.get(0),
    )
    .optional()
}

/// Inserts `key` into the seen set; whether it was new.
fn first_time(tx: &rusqlite::Transaction<'_>, p: &str, key: &str) -> rusqlite::Result<bool> {
    tx.execute(
        &format!("INSERT INTO {p}source_seen (key) VALUES (?1) ON CONFLICT DO NOTHING"),
        [key],
    )
    .map(|n| n == 1)
}

#[async_trait::async_trait]
impl crate::sources::SourceStore for SqliteSources {
    async fn visit(&self, source: &str, token: &str, expires: Timestamp) -> Result<()> {
        self.tx("source visit", |tx, p| {
            tx.execute(
                &format!(
                    "INSERT INTO {p}source_tokens (token, source, expires) VALUES (?1, ?2, ?3)
                     ON CONFLICT (token) DO UPDATE SET source = ?2, expires = ?3"
                ),
                params![token, source, expires.as_millisecond()],
            )?;
            bump(tx, p, source, "visits", 0.0)
        })
    }

    async fn bind(&self, token: &str, user: &UserId, now: Timestamp, expires: Timestamp) -> Result<Option<String>> {
        self.tx("source bind", |tx, p| {
            let found: Option<(String, i64)> = tx
                .query_row(
                    &format!("SELECT source, expires FROM {p}source_tokens WHERE token = ?1"),
                    [token],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            match found {
                Some((source, exp)) if exp > now.as_millisecond() => {
                    tx.execute(
                        &format!(
                            "INSERT INTO {p}source_bindings (user_id, source, expires) VALUES (?1, ?2, ?3)
                             ON CONFLICT (user_id) DO UPDATE SET source = ?2, expires = ?3"
                        ),
                        params![user.as_str(), &source, expires.as_millisecond()],
                    )?;
                    Ok(Some(source))
                }
                Some(_) => {
                    tx.execute(&format!("DELETE FROM {p}source_tokens WHERE token = ?1"), [token])?;
                    Ok(None)
                }
                None => Ok(None),
            }
        })
    }

    async fn follow(&self, user: &UserId, event_id: Option<&str>, now: Timestamp) -> Result<Option<String>> {
        self.tx("source follow", |tx, p| {
            if let Some(id) = event_id {
                let first: Option<Option<String>> = tx
                    .query_row(
                        &format!("SELECT source FROM {p}source_follows WHERE event_id = ?1"),
                        [id],
                        |r| r.get(0),
                    )
                    .optional()?;
                if let Some(first) = first {
                    return Ok(first);
                }
            }
            let bound: Option<(String, i64)> = tx
                .query_row(
                    &format!("DELETE FROM {p}source_bindings WHERE user_id = ?1 RETURNING source, expires"),
                    [user.as_str()],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            let source = bound.and_then(|(s, exp)| (exp > now.as_millisecond()).then_some(s));
            if let Some(s) = &source {
                tx.execute(
                    &format!(
                        "INSERT INTO {p}source_users (user_id, source) VALUES (?1, ?2)
                         ON CONFLICT (user_id) DO UPDATE SET source = ?2"
                    ),
                    params![user.as_str(), s],
                )?;
                bump(tx, p, s, "friends", 0.0)?;
            }
            if let Some(id) = event_id {
                tx.execute(
                    &format!("INSERT INTO {p}source_follows (event_id, source) VALUES (?1, ?2)"),
                    params![id, &source],
                )?;
            }
            Ok(source)
        })
    }

    async fn unfollow(&self, user: &UserId, event_id: Option<&str>) -> Result<Option<String>> {
        self.tx("source unfollow", |tx, p| {
            let Some(source) = user_source(tx, p, user)? else {
                return Ok(None);
            };
            let new = match event_id {
                Some(id) => first_time(tx, p, &format!("unfollow\u{1f}{id}"))?,
                None => true,
            };
            if new {
                bump(tx, p, &source, "blocks", 0.0)?;
            }
            Ok(Some(source))
        })
    }

    async fn convert(&self, user: &UserId, key: &str, revenue: f64) -> Result<Option<String>> {
        self.tx("source convert", |tx, p| {
            let Some(source) = user_source(tx, p, user)? else {
                return Ok(None);
            };
            if first_time(tx, p, &format!("convert\u{1f}{key}"))? {
                bump(tx, p, &source, "conversions", revenue)?;
            }
            Ok(Some(source))
        })
    }

    async fn source_of(&self, user: &UserId) -> Result<Option<String>> {
        self.tx("source of", |tx, p| user_source(tx, p, user))
    }

    async fn counts(&self, source: &str) -> Result<crate::sources::SourceCounts> {
        self.tx("source counts", |tx, p| {
            let row: Option<(i64, i64, i64, i64, f64)> = tx
                .query_row(
                    &format!(
                        "SELECT visits, friends, blocks, conversions, revenue FROM {p}source_counts WHERE source = ?1"
                    ),
                    [source],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
                )
                .optional()?;
            let mut c = crate::sources::SourceCounts::default();
            if let Some((v, f, b, n, rev)) = row {
                c.visits = v as u64;
                c.friends = f as u64;
                c.blocks = b as u64;
                c.conversions = n as u64;
                c.revenue = rev;
            }
            Ok(c)
        })
    }
}

// ---------------------------------------------------------------------------------------------
// The contact budget and profiles on SQLite.
// ---------------------------------------------------------------------------------------------

/// Opens `conn` for one of the stores below: WAL, a busy timeout, and `migrations` applied in
/// order, each once in its own immediate transaction, recorded in `{prefix}{table}` (so that
/// two processes opening one file at once apply each migration once).
fn open_with(mut conn: Connection, prefix: &str, table: &str, migrations: &[&str], store: &str) -> Result<Connection> {
    if !prefix.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(Error::config("prefix", "use only ASCII letters, digits and `_`"));
    }
    let op = |what: &str| format!("{store}::{what}");
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(db(&op("open")))?;
    let _mode: String = conn
        .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
        .map_err(db(&op("open")))?;
    let migrate = op("migrate");
    for (i, sql) in migrations.iter().enumerate() {
        let version = i as i64 + 1;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db(&migrate))?;
        tx.execute_batch(&format!(
            "CREATE TABLE IF NOT EXISTS {prefix}{table} (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)"
        ))
        .map_err(db(&migrate))?;
        let done: Option<i64> = tx
            .query_row(
                &format!("SELECT version FROM {prefix}{table} WHERE version = ?1"),
                [version],
                |r| r.get(0),
            )
            .optional()
            .map_err(db(&migrate))?;
        if done.is_none() {
            tx.execute_batch(&sql.replace("{p}", prefix)).map_err(db(&migrate))?;
            tx.execute(
                &format!("INSERT INTO {prefix}{table} (version, applied_at) VALUES (?1, ?2)"),
                params![version, Timestamp::now().as_second()],
            )
            .map_err(db(&migrate))?;
        }
        tx.commit().map_err(db(&migrate))?;
    }
    Ok(conn)
}

/// The schema version recorded in `{prefix}{table}`.
fn version_in(conn: &Connection, prefix: &str, table: &str, op: &str) -> Result<i64> {
    conn.query_row(
        &format!("SELECT COALESCE(MAX(version), 0) FROM {prefix}{table}"),
        [],
        |r| r.get(0),
    )
    .map_err(db(op))
}

/// Runs `f` in one immediate transaction on `conn` (SQLite's write lock, in every process);
/// errors name `op`.
fn in_tx<T, E>(
    conn: &Mutex<Connection>,
    op: &str,
    f: impl FnOnce(&rusqlite::Transaction<'_>) -> std::result::Result<T, E>,
) -> Result<T>
where
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    run_tx(conn, TransactionBehavior::Immediate, op, f)
}

/// Runs the reads of `f` in one deferred transaction on `conn` (one snapshot, no write lock).
fn in_read<T, E>(
    conn: &Mutex<Connection>,
    op: &str,
    f: impl FnOnce(&rusqlite::Transaction<'_>) -> std::result::Result<T, E>,
) -> Result<T>
where
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    run_tx(conn, TransactionBehavior::Deferred, op, f)
}

fn run_tx<T, E>(
    conn: &Mutex<Connection>,
    behavior: TransactionBehavior,
    op: &str,
    f: impl FnOnce(&rusqlite::Transaction<'_>) -> std::result::Result<T, E>,
) -> Result<T>
where
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut conn = conn.lock().unwrap_or_else(|e| e.into_inner());
    let tx = conn.transaction_with_behavior(behavior).map_err(db(op))?;
    let out = f(&tx).map_err(|e| {
        let e = e.into();
        Error::store(op, &e).with_source(e)
    })?;
    tx.commit().map_err(db(op))?;
    Ok(out)
}

/// The migrations of [`SqliteContacts`], recorded in `{prefix}contact_migrations`. Never edit one
/// that shipped.
const CONTACT_MIGRATIONS: &[&str] = &[
    // 1: one row per contact.
    "CREATE TABLE IF NOT EXISTS {p}contacts (
        user_id TEXT NOT NULL, key TEXT NOT NULL, at INTEGER NOT NULL,
        PRIMARY KEY (user_id, key)) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS {p}contacts_at ON {p}contacts (at);",
];

/// A durable [`ContactStore`](crate::budget::ContactStore) (the contact budget) on SQLite, in
/// table `{prefix}contacts`. It may share a file (and a prefix) with [`SqliteStore`].
///
/// A [`take`](crate::budget::ContactStore::take) is one immediate transaction (SQLite's write
/// lock): the key is looked up, the user's contacts outside the window are deleted, the rest are
/// counted and the contact is written, so the limit holds across the processes that share the
/// file. Times are kept in seconds.
#[derive(Debug)]
pub struct SqliteContacts {
    conn: Mutex<Connection>,
    prefix: String,
}

impl SqliteContacts {
    /// Opens (or creates) the database file and applies the migrations.
    pub fn open(path: impl AsRef<Path>, prefix: &str) -> Result<Self> {
        let conn = Connection::open(path).map_err(db("SqliteContacts::open"))?;
        Self::init(conn, prefix)
    }

    /// A private in-memory database (tests).
    pub fn open_in_memory(prefix: &str) -> Result<Self> {
        let conn = Connection::open_in_memory().map_err(db("SqliteContacts::open"))?;
        Self::init(conn, prefix)
    }

    fn init(conn: Connection, prefix: &str) -> Result<Self> {
        let conn = open_with(conn, prefix, "contact_migrations", CONTACT_MIGRATIONS, "SqliteContacts")?;
        Ok(Self {
            conn: Mutex::new(conn),
            prefix: prefix.to_owned(),
        })
    }

    /// The schema version of the contact tables.
    pub fn schema_version(&self) -> Result<i64> {
        let conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        version_in(
            &conn,
            &self.prefix,
            "contact_migrations",
            "SqliteContacts::schema_version",
        )
    }

    /// Deletes every contact at or before `now - window` (of every user: a `take` deletes only
    /// its user's); returns how many.
    pub fn purge_expired(&self, window: SignedDuration, now: Timestamp) -> Result<u64> {
        let start = now.as_second().saturating_sub(window.as_secs());
        in_tx(&self.conn, "SqliteContacts::purge_expired", |tx| {
            tx.execute(&format!("DELETE FROM {}contacts WHERE at <= ?1", self.prefix), [start])
                .map(|n| n as u64)
        })
    }
}

#[async_trait::async_trait]
impl crate::budget::ContactStore for SqliteContacts {
    async fn take(&self, user: &UserId, key: &str, limit: u32, window: SignedDuration, now: Timestamp) -> Result<bool> {
        let p = &self.prefix;
        let now_s = now.as_second();
        let start = now_s.saturating_sub(window.as_secs());
        in_tx(&self.conn, "SqliteContacts::take", |tx| {
            let seen: Option<i64> = tx
                .prepare_cached(&format!("SELECT 1 FROM {p}contacts WHERE user_id = ?1 AND key = ?2"))?
                .query_row(params![user.as_str(), key], |r| r.get(0))
                .optional()?;
            if seen.is_some() {
                return Ok(true);
            }
            // As in memory: contacts older than the window no longer count (nor are they kept);
            // contacts "in the future" (a clock that went back) still do.
            tx.prepare_cached(&format!("DELETE FROM {p}contacts WHERE user_id = ?1 AND at <= ?2"))?
                .execute(params![user.as_str(), start])?;
            let n: i64 = tx
                .prepare_cached(&format!("SELECT COUNT(*) FROM {p}contacts WHERE user_id = ?1"))?
                .query_row([user.as_str()], |r| r.get(0))?;
            if n >= i64::from(limit) {
                return Ok(false);
            }
            tx.prepare_cached(&format!(
                "INSERT INTO {p}contacts (user_id, key, at) VALUES (?1, ?2, ?3)"
            ))?
            .execute(params![user.as_str(), key, now_s])?;
            Ok::<_, rusqlite::Error>(true)
        })
    }

    async fn give_back(&self, user: &UserId, key: &str) -> Result<()> {
        in_tx(&self.conn, "SqliteContacts::give_back", |tx| {
            tx.prepare_cached(&format!(
                "DELETE FROM {}contacts WHERE user_id = ?1 AND key = ?2",
                self.prefix
            ))?
            .execute(params![user.as_str(), key])
            .map(|_| ())
        })
    }

    async fn count(&self, user: &UserId, window: SignedDuration, now: Timestamp) -> Result<u32> {
        let start = now.as_second().saturating_sub(window.as_secs());
        in_read(&self.conn, "SqliteContacts::count", |tx| {
            let n: i64 = tx
                .prepare_cached(&format!(
                    "SELECT COUNT(*) FROM {}contacts WHERE user_id = ?1 AND at > ?2",
                    self.prefix
                ))?
                .query_row(params![user.as_str(), start], |r| r.get(0))?;
            Ok::<_, rusqlite::Error>(u32::try_from(n).unwrap_or(u32::MAX))
        })
    }
}

/// The migrations of [`SqliteProfiles`], recorded in `{prefix}profile_migrations`. Never edit one
/// that shipped.
const PROFILE_MIGRATIONS: &[&str] = &[
    // 1: profiles (attributes and LINE facts as JSON text) and their events.
    "CREATE TABLE IF NOT EXISTS {p}profiles (
        user_id TEXT PRIMARY KEY, attributes TEXT NOT NULL DEFAULT '[]',
        line TEXT NOT NULL DEFAULT '{}', history_start TEXT) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS {p}profile_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT, user_id TEXT NOT NULL, body TEXT NOT NULL);
    CREATE INDEX IF NOT EXISTS {p}profile_events_user ON {p}profile_events (user_id, id);",
];

use crate::codec::BoxError;
use crate::profiles::TAGS;
use line_segments::profile::{Attributes, Profile, Value};

/// A durable [`ProfileStore`](crate::profiles::ProfileStore) on SQLite: the profiles scenarios
/// read and change, in tables `{prefix}profiles` and `{prefix}profile_events`. It may share a file
/// (and a prefix) with [`SqliteStore`].
///
/// Values are kept as tagged JSON, so every [`Value`] reads back exactly. Each call is one
/// transaction (a read one for `profile` and `page`): a tag or attribute change reads and writes
/// the user's attributes under SQLite's write lock, so concurrent acts (in any process on the
/// file) lose no change. As with the in-memory store, acts on an unknown user create an empty
/// profile.
#[derive(Debug)]
pub struct SqliteProfiles {
    conn: Mutex<Connection>,
    prefix: String,
}

impl SqliteProfiles {
    /// Opens (or creates) the database file and applies the migrations.
    pub fn open(path: impl AsRef<Path>, prefix: &str) -> Result<Self> {
        let conn = Connection::open(path).map_err(db("SqliteProfiles::open"))?;
        Self::init(conn, prefix)
    }

    /// A private in-memory database (tests).
    pub fn open_in_memory(prefix: &str) -> Result<Self> {
        let conn = Connection::open_in_memory().map_err(db("SqliteProfiles::open"))?;
        Self::init(conn, prefix)
    }

    fn init(conn: Connection, prefix: &str) -> Result<Self> {
        let conn = open_with(conn, prefix, "profile_migrations", PROFILE_MIGRATIONS, "SqliteProfiles")?;
        Ok(Self {
            conn: Mutex::new(conn),
            prefix: prefix.to_owned(),
        })
    }

    /// The schema version of the profile tables.
    pub fn schema_version(&self) -> Result<i64> {
        let conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        version_in(
            &conn,
            &self.prefix,
            "profile_migrations",
            "SqliteProfiles::schema_version",
        )
    }

    /// Adds or replaces a profile: its attributes, LINE facts, history start and events.
    pub fn insert(&self, profile: &Profile) -> Result<()> {
        let p = &self.prefix;
        in_tx(&self.conn, "SqliteProfiles::insert", |tx| {
            let user = profile.id.as_str();
            tx.execute(
                &format!(
                    "INSERT INTO {p}profiles (user_id, attributes, line, history_start) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (user_id) DO UPDATE SET attributes = ?2, line = ?3, history_start = ?4"
                ),
                params![
                    user,
                    codec::attributes(&profile.attributes),
                    codec::line(&profile.line),
                    profile.history_start.map(|t| t.to_string())
                ],
            )?;
            tx.execute(&format!("DELETE FROM {p}profile_events WHERE user_id = ?1"), [user])?;
            let mut add = tx.prepare_cached(&format!(
                "INSERT INTO {p}profile_events (user_id, body) VALUES (?1, ?2)"
            ))?;
            for e in &profile.events {
                add.execute(params![user, codec::event(e)])?;
            }
            Ok::<_, rusqlite::Error>(())
        })
    }

    /// Changes the user's attributes in one transaction, creating the profile if needed.
    fn update(&self, op: &str, user: &UserId, f: impl FnOnce(&mut Attributes)) -> Result<()> {
        let p = &self.prefix;
        in_tx(&self.conn, op, |tx| {
            tx.prepare_cached(&format!(
                "INSERT INTO {p}profiles (user_id) VALUES (?1) ON CONFLICT DO NOTHING"
            ))?
            .execute([user.as_str()])?;
            let text: String = tx
                .prepare_cached(&format!("SELECT attributes FROM {p}profiles WHERE user_id = ?1"))?
                .query_row([user.as_str()], |r| r.get(0))?;
            let mut attrs = codec::read_attributes(&text)?;
            f(&mut attrs);
            tx.prepare_cached(&format!("UPDATE {p}profiles SET attributes = ?2 WHERE user_id = ?1"))?
                .execute(params![user.as_str(), codec::attributes(&attrs)])?;
            Ok::<_, BoxError>(())
        })
    }

    /// The profile of a row `(user_id, attributes, line, history_start)`, with its events.
    fn read_profile(
        &self,
        tx: &rusqlite::Transaction<'_>,
        (id, attributes, line, start): (String, String, String, Option<String>),
    ) -> std::result::Result<Profile, BoxError> {
        let mut p = Profile::new(UserId::new(id));
        p.attributes = codec::read_attributes(&attributes)?;
        p.line = codec::read_line(&line)?;
        p.history_start = start.as_deref().map(str::parse).transpose()?;
        let mut stmt = tx.prepare_cached(&format!(
            "SELECT body FROM {}profile_events WHERE user_id = ?1 ORDER BY id",
            self.prefix
        ))?;
        let bodies = stmt
            .query_map([p.id.as_str()], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        p.events = bodies
            .iter()
            .map(|b| codec::read_event(b))
            .collect::<std::result::Result<_, _>>()?;
        Ok(p)
    }
}

type ProfileRow = (String, String, String, Option<String>);

fn profile_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ProfileRow> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
}

#[async_trait::async_trait]
impl crate::profiles::ProfileStore for SqliteProfiles {
    async fn profile(&self, user: &UserId) -> Result<Option<std::sync::Arc<Profile>>> {
        in_read(&self.conn, "SqliteProfiles::profile", |tx| {
            let row = tx
                .prepare_cached(&format!(
                    "SELECT user_id, attributes, line, history_start FROM {}profiles WHERE user_id = ?1",
                    self.prefix
                ))?
                .query_row([user.as_str()], profile_row)
                .optional()?;
            row.map(|row| self.read_profile(tx, row).map(std::sync::Arc::new))
                .transpose()
        })
    }

    async fn page(&self, after: Option<&UserId>, limit: usize) -> Result<Vec<std::sync::Arc<Profile>>> {
        let after = after.map_or("", |u| u.as_str());
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        in_read(&self.conn, "SqliteProfiles::page", |tx| {
            let rows = tx
                .prepare_cached(&format!(
                    "SELECT user_id, attributes, line, history_start FROM {}profiles
                     WHERE user_id > ?1 ORDER BY user_id LIMIT ?2",
                    self.prefix
                ))?
                .query_map(params![after, limit], profile_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter()
                .map(|row| self.read_profile(tx, row).map(std::sync::Arc::new))
                .collect::<std::result::Result<Vec<_>, BoxError>>()
        })
    }

    async fn record_event(&self, user: &UserId, event: &line_segments::profile::Event) -> Result<()> {
        let p = &self.prefix;
        in_tx(&self.conn, "SqliteProfiles::record_event", |tx| {
            tx.prepare_cached(&format!(
                "INSERT INTO {p}profiles (user_id) VALUES (?1) ON CONFLICT DO NOTHING"
            ))?
            .execute([user.as_str()])?;
            tx.prepare_cached(&format!(
                "INSERT INTO {p}profile_events (user_id, body) VALUES (?1, ?2)"
            ))?
            .execute(params![user.as_str(), codec::event(event)])?;
            Ok::<_, rusqlite::Error>(())
        })
    }

    async fn add_tag(&self, user: &UserId, tag: &str) -> Result<()> {
        self.update("SqliteProfiles::add_tag", user, |a| {
            let mut tags = match a.get(TAGS) {
                Some(Value::Set(s)) => s.clone(),
                _ => Vec::new(),
            };
            if !tags.iter().any(|t| t == tag) {
                tags.push(tag.to_owned());
            }
            a.insert(TAGS, Value::Set(tags));
        })
    }

    async fn remove_tag(&self, user: &UserId, tag: &str) -> Result<()> {
        self.update("SqliteProfiles::remove_tag", user, |a| {
            if let Some(Value::Set(s)) = a.get(TAGS) {
                let tags: Vec<String> = s.iter().filter(|t| *t != tag).cloned().collect();
                a.insert(TAGS, Value::Set(tags));
            }
        })
    }

    async fn set_attribute(&self, user: &UserId, name: &str, value: Value) -> Result<()> {
        self.update("SqliteProfiles::set_attribute", user, |a| a.insert(name, value))
    }

    async fn remove_attribute(&self, user: &UserId, name: &str) -> Result<()> {
        self.update("SqliteProfiles::remove_attribute", user, |a| {
            a.remove(name);
        })
    }
}
