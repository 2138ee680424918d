//! [`PgStore`]: the engine's state, send ledger, wake-ups and contact budget in PostgreSQL,
//! shared by many processes on many machines (feature `postgres`).
//!
//! It is built on line-core's [`PgPool`] (`tokio-postgres` with `deadpool-postgres`; line-core's
//! `store::postgres` module says why that client): build one pool per process and every store of
//! the process on it. The store implements [`StateStore`], [`Scheduler`] and [`ContactStore`];
//! give the same value (behind an `Arc`) to the engine as its state and scheduler, and to the
//! [`Gate`](crate::budget::Gate) as its contact store. [`PgProfiles`] is a
//! [`ProfileStore`](crate::profiles::ProfileStore) on the same pool, for hosts that keep the
//! profiles scenarios read and change in PostgreSQL too. [`PgSources`] (friend sources) and
//! [`PgClickStore`] (tracked clicks) are the other scenario stores on the same pool, each with
//! its own tables and migration component (`scenario_sources`, `scenario_clicks`).
//!
//! # Tables
//!
//! `{prefix}scn_enrollment`, `{prefix}scn_ledger`, `{prefix}scn_wakeup` and `{prefix}scn_contact`,
//! under a prefix (`line_` by default; lowercase letters, digits and `_`), created and upgraded by
//! the store itself through versioned migrations recorded as component `scenarios` in
//! `{prefix}schema_version` (safe when two processes start at once). Scenario and user ids are
//! `COLLATE "C"`, so pages come in byte order, as in every other store.
//!
//! # Atomic operations
//!
//! - [`claim`](StateStore::claim) (the ledger insert) is one round trip: an
//!   `INSERT … ON CONFLICT DO NOTHING` and, pipelined behind it, a read of the key; the insert
//!   decides, so two processes claiming one key at once get one [`Claim::New`].
//! - [`enroll`](StateStore::enroll) is one transaction of two round trips: an insert of entry 1
//!   that does nothing on conflict, then a read of the row `FOR UPDATE` (concurrent enrollments of
//!   one user in one scenario wait here, in any process); the re-entry rule is checked in Rust and
//!   the new entry written with the commit.
//! - [`take`](ContactStore::take) is one transaction of two round trips under a
//!   transaction-scoped advisory lock on (prefix, user): the user's contacts in the window are
//!   counted, and the contact is written with the commit when the limit allows it.
//! - [`due`](Scheduler::due) leases with `FOR UPDATE SKIP LOCKED`, so workers of several
//!   processes share one queue without taking a wake-up twice within its lease.
//!
//! # Expiry
//!
//! Contacts older than the window no longer count, and are deleted in batches of at most 512
//! (through an index on their time) once every 256 `take`s of a store, or by
//! [`purge_expired`](PgStore::purge_expired): never a full scan on the hot path. The store
//! assumes one window per prefix (the [`Gate`](crate::budget::Gate)'s budget). A wake-up's lease
//! is a time on an index (`next_at`), so leased wake-ups cost nothing until their lease passes.
//! Enrollments and the ledger are kept (they are what makes sends exactly once).
//!
//! # Failures
//!
//! A call that cannot reach the server (down, connection dropped, pool exhausted) returns an
//! [`ErrorKind::Store`](crate::ErrorKind::Store) error whose operation names the store and the
//! call (`PgStore::claim`), with the driver's error as its source; nothing panics. A connection
//! that fails inside a transaction is closed rather than returned to the pool, so the server rolls
//! the transaction back; the pool opens a new connection on the next call. The ledger records a
//! send as done only in [`settle`](StateStore::settle) with [`Settled::Accepted`], which the
//! engine calls after LINE accepted it; a failed `settle` leaves the send pending, to be retried
//! with the same retry key.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use line_core::store::postgres::PgPool;
//! use line_scenarios::postgres::PgStore;
//!
//! let pool = PgPool::connect("postgres://line:secret@127.0.0.1:5432/shop")?;
//! let store = Arc::new(PgStore::new(&pool).await?);
//! # let _ = store;
//! # Ok(()) }
//! ```

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use line_core::ids::UserId;
use line_core::store::postgres::{execute_planned, query_planned, BoxError, PgPool, TypedParam};
use line_segments::profile::{Attributes, Profile, Value};
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::Row;

use crate::budget::ContactStore;
use crate::codec;
use crate::error::{Error, Result};
use crate::model::Reentry;
use crate::profiles::TAGS;
use crate::store::*;

/// A statement parameter.
type P<'a> = dyn ToSql + Sync + 'a;

/// After how many `take`s a store deletes a batch of contacts outside the window.
const PURGE_EVERY: u64 = 256;

/// How many contacts one amortised purge deletes at most.
const PURGE_BATCH: i64 = 512;

/// The migrations of component `scenarios`, in order; `{p}` is the table prefix. Never edit one
/// that shipped: add a new one.
const MIGRATIONS: &[&str] = &["
CREATE TABLE {p}scn_enrollment (
  scenario TEXT COLLATE \"C\" NOT NULL, user_id TEXT COLLATE \"C\" NOT NULL,
  entry BIGINT NOT NULL, seq BIGINT NOT NULL, step BIGINT NOT NULL, status TEXT NOT NULL,
  entered_at BIGINT NOT NULL, since BIGINT NOT NULL, wait_until BIGINT, last_sent BIGINT,
  vars TEXT NOT NULL DEFAULT '[]',
  PRIMARY KEY (scenario, user_id));
CREATE INDEX {p}scn_enrollment_user ON {p}scn_enrollment (user_id) WHERE status = 'active';
CREATE INDEX {p}scn_enrollment_active ON {p}scn_enrollment (scenario, user_id) WHERE status = 'active';
CREATE TABLE {p}scn_ledger (
  scenario TEXT COLLATE \"C\" NOT NULL, user_id TEXT COLLATE \"C\" NOT NULL,
  entry BIGINT NOT NULL, step BIGINT NOT NULL, seq BIGINT NOT NULL,
  state TEXT NOT NULL, since BIGINT NOT NULL,
  PRIMARY KEY (scenario, user_id, entry, step, seq));
CREATE TABLE {p}scn_wakeup (
  id BIGSERIAL PRIMARY KEY, scenario TEXT COLLATE \"C\" NOT NULL, user_id TEXT COLLATE \"C\" NOT NULL,
  entry BIGINT NOT NULL, at BIGINT NOT NULL, next_at BIGINT NOT NULL, leased BOOLEAN NOT NULL DEFAULT FALSE);
CREATE INDEX {p}scn_wakeup_next ON {p}scn_wakeup (next_at, id);
CREATE INDEX {p}scn_wakeup_key ON {p}scn_wakeup (scenario, user_id, entry, at);
CREATE TABLE {p}scn_contact (
  user_id TEXT COLLATE \"C\" NOT NULL, key TEXT NOT NULL, at BIGINT NOT NULL,
  PRIMARY KEY (user_id, key));
CREATE INDEX {p}scn_contact_at ON {p}scn_contact (at);
"];

const COLS: &str = "entry, seq, step, status, entered_at, since, wait_until, last_sent, vars";

struct Sql {
    prefix: String,
    enroll_first: String,
    enroll_lock: String,
    enroll_again: String,
    enrollment: String,
    move_to: String,
    exit: String,
    active_of: String,
    active_page: String,
    claim_insert: String,
    claim_read: String,
    settle: String,
    schedule: String,
    due: String,
    ack: String,
    pending: String,
    contact_read: String,
    contact_insert: String,
    give_back: String,
    count: String,
    purge_expired: String,
    schema_version: String,
}

impl Sql {
    fn new(prefix: &str) -> Self {
        let e = |s: &str| s.replace("{p}", prefix).replace("{cols}", COLS);
        Self {
            prefix: prefix.to_owned(),
            enroll_first: e("INSERT INTO {p}scn_enrollment (scenario, user_id, {cols}) \
                             VALUES ($1, $2, 1, 0, 0, 'active', $3, $3, NULL, NULL, $4) \
                             ON CONFLICT (scenario, user_id) DO NOTHING RETURNING entry"),
            enroll_lock: e("SELECT entry, status, entered_at FROM {p}scn_enrollment \
                            WHERE scenario = $1 AND user_id = $2 FOR UPDATE"),
            enroll_again: e("UPDATE {p}scn_enrollment SET entry = $3, seq = 0, step = 0, status = 'active', \
                              entered_at = $4, since = $4, wait_until = NULL, last_sent = NULL, vars = $5 \
                              WHERE scenario = $1 AND user_id = $2"),
            enrollment: e("SELECT {cols} FROM {p}scn_enrollment WHERE scenario = $1 AND user_id = $2"),
            move_to: e("UPDATE {p}scn_enrollment SET seq = seq + 1, step = $5, since = $6, wait_until = $7, \
                        last_sent = $8 \
                        WHERE scenario = $1 AND user_id = $2 AND entry = $3 AND seq = $4 AND status = 'active'"),
            exit: e("UPDATE {p}scn_enrollment SET seq = seq + 1, status = $5, wait_until = NULL \
                     WHERE scenario = $1 AND user_id = $2 AND entry = $3 AND seq = $4 AND status = 'active'"),
            active_of: e("SELECT scenario, {cols} FROM {p}scn_enrollment \
                          WHERE user_id = $1 AND status = 'active' ORDER BY scenario"),
            active_page: e("SELECT scenario, user_id, {cols} FROM {p}scn_enrollment \
                            WHERE status = 'active' AND (scenario, user_id) > ($1, $2) \
                            ORDER BY scenario, user_id LIMIT $3"),
            claim_insert: e("INSERT INTO {p}scn_ledger (scenario, user_id, entry, step, seq, state, since) \
                             VALUES ($1, $2, $3, $4, $5, 'pending', $6) ON CONFLICT DO NOTHING RETURNING 1"),
            claim_read: e("SELECT state, since FROM {p}scn_ledger \
                           WHERE scenario = $1 AND user_id = $2 AND entry = $3 AND step = $4 AND seq = $5"),
            settle: e("INSERT INTO {p}scn_ledger AS l (scenario, user_id, entry, step, seq, state, since) \
                       VALUES ($1, $2, $3, $4, $5, $6, 0) \
                       ON CONFLICT (scenario, user_id, entry, step, seq) \
                       DO UPDATE SET state = CASE WHEN l.state = 'done' THEN 'done' ELSE EXCLUDED.state END"),
            schedule: e("INSERT INTO {p}scn_wakeup (scenario, user_id, entry, at, next_at) VALUES ($1, $2, $3, $4, $4)"),
            // `= ANY(ARRAY(…))`: the rows leased are found by key whatever the planner
            // thinks of the table's size (a join would read it whole at middling sizes).
            due: e("UPDATE {p}scn_wakeup AS w SET next_at = $3, leased = TRUE \
                    WHERE w.id = ANY(ARRAY(SELECT id FROM {p}scn_wakeup WHERE next_at <= $1 \
                          ORDER BY next_at, id LIMIT $2 FOR UPDATE SKIP LOCKED)) \
                    RETURNING w.id, w.scenario, w.user_id, w.entry, w.at"),
            ack: e("DELETE FROM {p}scn_wakeup AS w \
                    USING unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[]) AS k(scenario, user_id, entry, at) \
                    WHERE w.scenario = k.scenario AND w.user_id = k.user_id AND w.entry = k.entry \
                    AND w.at = k.at AND w.leased"),
            pending: e("SELECT count(*) FROM {p}scn_wakeup"),
            contact_read: e("SELECT count(*) FILTER (WHERE at > $3), coalesce(bool_or(key = $2), FALSE) \
                             FROM {p}scn_contact WHERE user_id = $1"),
            contact_insert: e("INSERT INTO {p}scn_contact (user_id, key, at) VALUES ($1, $2, $3)"),
            give_back: e("DELETE FROM {p}scn_contact WHERE user_id = $1 AND key = $2"),
            count: e("SELECT count(*) FROM {p}scn_contact WHERE user_id = $1 AND at > $2"),
            purge_expired: e("DELETE FROM {p}scn_contact WHERE ctid = ANY(ARRAY(SELECT ctid FROM {p}scn_contact \
                               WHERE at <= $1 ORDER BY at LIMIT $2 FOR UPDATE SKIP LOCKED))"),
            schema_version: e("SELECT version FROM {p}schema_version WHERE component = 'scenarios'"),
        }
    }
}

/// [`StateStore`], [`Scheduler`] and [`ContactStore`] in PostgreSQL. Cheap to clone; clones
/// share the pool.
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
    sql: Arc<Sql>,
    takes: Arc<AtomicU64>,
}

impl fmt::Debug for PgStore {
    // The pool prints no URL (it holds a password).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgStore")
            .field("prefix", &self.sql.prefix)
            .field("pool", &self.pool)
            .finish_non_exhaustive()
    }
}

/// Maps a driver or pool error to a store error naming `op` (`PgStore::claim`).
fn err(op: &'static str) -> impl FnOnce(BoxError) -> Error {
    move |e| Error::store(op, &e).with_source(e)
}

fn ts(secs: i64) -> Timestamp {
    Timestamp::from_second(secs).unwrap_or(Timestamp::UNIX_EPOCH)
}

fn get_u32(row: &Row, i: usize) -> std::result::Result<u32, BoxError> {
    Ok(u32::try_from(row.try_get::<_, i64>(i)?)?)
}

fn get_u16(row: &Row, i: usize) -> std::result::Result<u16, BoxError> {
    Ok(u16::try_from(row.try_get::<_, i64>(i)?)?)
}

/// An enrollment from the columns [`COLS`] starting at `at`.
fn row_enrollment(row: &Row, at: usize) -> std::result::Result<Enrollment, BoxError> {
    let status: String = row.try_get(at + 3)?;
    let vars: String = row.try_get(at + 8)?;
    Ok(Enrollment {
        entry: get_u32(row, at)?,
        seq: get_u32(row, at + 1)?,
        step: get_u16(row, at + 2)?,
        status: codec::read_status(&status)?,
        entered_at: ts(row.try_get(at + 4)?),
        since: ts(row.try_get(at + 5)?),
        wait_until: row.try_get::<_, Option<i64>>(at + 6)?.map(ts),
        last_sent: row.try_get::<_, Option<i64>>(at + 7)?.map(u16::try_from).transpose()?,
        vars: codec::read_vars(&vars)?,
    })
}

/// A 64-bit FNV-1a hash of `parts`: the advisory-lock key of a user's contacts.
fn lock_key(parts: &[&str]) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in part.bytes().chain(std::iter::once(0xff)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h as i64
}

impl PgStore {
    /// The store on `pool`, tables under `line_`. Creates or upgrades its tables.
    pub async fn new(pool: &PgPool) -> Result<Self> {
        Self::with_prefix(pool, line_core::store::DEFAULT_PREFIX).await
    }

    /// The store on `pool` with tables under `prefix` (1 to 40 of `[a-z0-9_]`, not starting with
    /// a digit). Creates or upgrades its tables.
    pub async fn with_prefix(pool: &PgPool, prefix: &str) -> Result<Self> {
        pool.migrate("PgStore", prefix, "scenarios", MIGRATIONS)
            .await
            .map_err(|e| match e.kind() {
                line_core::ErrorKind::Config { reason, .. } => Error::config("prefix", reason.clone()),
                _ => Error::store("PgStore::migrate", &e).with_source(e),
            })?;
        Ok(Self {
            pool: pool.clone(),
            sql: Arc::new(Sql::new(prefix)),
            takes: Arc::new(AtomicU64::new(0)),
        })
    }

    /// The number of migrations applied to the tables under this store's prefix.
    pub async fn schema_version(&self) -> Result<i64> {
        let run = async {
            let conn = self.pool.get().await?;
            let c = conn.client();
            let stmt = c.prepare_cached(&self.sql.schema_version).await?;
            Ok::<_, BoxError>(
                c.query_opt(&stmt, &[])
                    .await?
                    .map(|r| r.try_get(0))
                    .transpose()?
                    .unwrap_or(0),
            )
        };
        run.await.map_err(err("PgStore::schema_version"))
    }

    /// Deletes every contact at or before `now - window` (they no longer count in that window);
    /// returns how many.
    pub async fn purge_expired(&self, window: SignedDuration, now: Timestamp) -> Result<u64> {
        self.purge(now.as_second().saturating_sub(window.as_secs()), i64::MAX)
            .await
            .map_err(err("PgStore::purge_expired"))
    }

    async fn purge(&self, before: i64, limit: i64) -> std::result::Result<u64, BoxError> {
        let conn = self.pool.get().await?;
        let c = conn.client();
        // Planned on each call: the table's size swings (see `query_planned`).
        let p: [TypedParam<'_>; 2] = [(&before, Type::INT8), (&limit, Type::INT8)];
        Ok(execute_planned(c, &self.sql.purge_expired, &p).await?)
    }

    async fn enroll_in_tx(
        &self,
        scenario: &str,
        user: &UserId,
        rule: Reentry,
        now: i64,
        vars: &str,
    ) -> std::result::Result<std::result::Result<u32, Refusal>, BoxError> {
        let s = &*self.sql;
        let mut conn = self.pool.get().await?;
        conn.begin();
        let c = conn.client();
        let (begin, first, lock, again, commit) = tokio::try_join!(
            c.prepare_cached("BEGIN"),
            c.prepare_cached(&s.enroll_first),
            c.prepare_cached(&s.enroll_lock),
            c.prepare_cached(&s.enroll_again),
            c.prepare_cached("COMMIT"),
        )?;
        let user = user.as_str();
        // Round trip 1: insert entry 1 unless the user has a row; lock the row either way.
        let p_first: [&P<'_>; 4] = [&scenario, &user, &now, &vars];
        let p_lock: [&P<'_>; 2] = [&scenario, &user];
        let (_, inserted, row) = tokio::try_join!(
            c.execute(&begin, &[]),
            c.query_opt(&first, &p_first),
            c.query_one(&lock, &p_lock),
        )?;
        if inserted.is_some() {
            c.execute(&commit, &[]).await?;
            conn.done();
            return Ok(Ok(1));
        }
        let entry = get_u32(&row, 0)?;
        let status: String = row.try_get(1)?;
        let entered: i64 = row.try_get(2)?;
        if let Some(r) = codec::refusal(rule, &status, entered, ts(now)) {
            c.execute(&commit, &[]).await?;
            conn.done();
            return Ok(Err(r));
        }
        // Round trip 2: the new entry and the commit.
        let next = entry.checked_add(1).ok_or("the entry number overflowed")?;
        let next_i = i64::from(next);
        let p_again: [&P<'_>; 5] = [&scenario, &user, &next_i, &now, &vars];
        tokio::try_join!(c.execute(&again, &p_again), c.execute(&commit, &[]))?;
        conn.done();
        Ok(Ok(next))
    }

    async fn claim_once(&self, key: &SendKey, at: i64) -> std::result::Result<Option<Claim>, BoxError> {
        let s = &*self.sql;
        let conn = self.pool.get().await?;
        let c = conn.client();
        let (insert, read) = tokio::try_join!(c.prepare_cached(&s.claim_insert), c.prepare_cached(&s.claim_read))?;
        let (entry, step, seq) = (i64::from(key.entry), i64::from(key.step), i64::from(key.seq));
        let p_key: [&P<'_>; 5] = [&&*key.scenario, &key.user.as_str(), &entry, &step, &seq];
        let p_insert: [&P<'_>; 6] = [&&*key.scenario, &key.user.as_str(), &entry, &step, &seq, &at];
        // One round trip: the insert decides; the read (a statement of its own, so it sees a row
        // that a concurrent claim committed while the insert waited) says what was known.
        let (inserted, found) = tokio::try_join!(c.query_opt(&insert, &p_insert), c.query_opt(&read, &p_key))?;
        if inserted.is_some() {
            return Ok(Some(Claim::New));
        }
        let Some(row) = found else { return Ok(None) };
        let state: String = row.try_get(0)?;
        Ok(Some(match state.as_str() {
            "done" => Claim::Done,
            "abandoned" => Claim::Abandoned,
            "pending" => Claim::Pending {
                since: ts(row.try_get(1)?),
            },
            other => return Err(format!("unknown ledger state {other:?}").into()),
        }))
    }

    async fn take_in_tx(
        &self,
        user: &str,
        key: &str,
        limit: u32,
        start: i64,
        now: i64,
    ) -> std::result::Result<bool, BoxError> {
        let s = &*self.sql;
        let mut conn = self.pool.get().await?;
        conn.begin();
        let c = conn.client();
        let (begin, lock, read, insert, commit) = tokio::try_join!(
            c.prepare_cached("BEGIN"),
            c.prepare_cached("SELECT pg_advisory_xact_lock($1)"),
            c.prepare_cached(&s.contact_read),
            c.prepare_cached(&s.contact_insert),
            c.prepare_cached("COMMIT"),
        )?;
        let lock_id = lock_key(&["line-scenarios contact", &s.prefix, user]);
        // Round trip 1: lock the user (in every process), then count the window and look for the key.
        let p_lock: [&P<'_>; 1] = [&lock_id];
        let p_read: [&P<'_>; 3] = [&user, &key, &start];
        let (_, _, row) = tokio::try_join!(
            c.execute(&begin, &[]),
            c.execute(&lock, &p_lock),
            c.query_one(&read, &p_read),
        )?;
        let used: i64 = row.try_get(0)?;
        let known: bool = row.try_get(1)?;
        let admit = !known && used < i64::from(limit);
        if admit {
            // Round trip 2: the contact and the commit.
            let p_insert: [&P<'_>; 3] = [&user, &key, &now];
            tokio::try_join!(c.execute(&insert, &p_insert), c.execute(&commit, &[]))?;
        } else {
            c.execute(&commit, &[]).await?;
        }
        conn.done();
        Ok(known || admit)
    }
}

#[async_trait::async_trait]
impl StateStore for PgStore {
    async fn enroll(
        &self,
        scenario: &str,
        user: &UserId,
        rule: Reentry,
        at: Timestamp,
        vars: Vec<(String, String)>,
    ) -> Result<EnrollOutcome> {
        let now = at.as_second();
        let vars_json = codec::vars(&vars);
        let entry = self
            .enroll_in_tx(scenario, user, rule, now, &vars_json)
            .await
            .map_err(err("PgStore::enroll"))?;
        Ok(match entry {
            Ok(entry) => EnrollOutcome::Entered(Enrollment {
                entry,
                seq: 0,
                step: 0,
                status: Status::Active,
                entered_at: ts(now),
                since: ts(now),
                wait_until: None,
                last_sent: None,
                vars,
            }),
            Err(r) => EnrollOutcome::Refused(r),
        })
    }

    async fn enrollment(&self, scenario: &str, user: &UserId) -> Result<Option<Enrollment>> {
        let run = async {
            let conn = self.pool.get().await?;
            let c = conn.client();
            let stmt = c.prepare_cached(&self.sql.enrollment).await?;
            let p: [&P<'_>; 2] = [&scenario, &user.as_str()];
            c.query_opt(&stmt, &p)
                .await?
                .map(|row| row_enrollment(&row, 0))
                .transpose()
        };
        run.await.map_err(err("PgStore::enrollment"))
    }

    async fn transition(
        &self,
        scenario: &str,
        user: &UserId,
        entry: u32,
        seq: u32,
        change: Transition,
    ) -> Result<bool> {
        let run = async {
            let conn = self.pool.get().await?;
            let c = conn.client();
            let (entry, seq) = (i64::from(entry), i64::from(seq));
            let user = user.as_str();
            let n = match change {
                Transition::Move {
                    step,
                    since,
                    wait_until,
                    last_sent,
                } => {
                    let stmt = c.prepare_cached(&self.sql.move_to).await?;
                    let step = i64::from(step);
                    let since = since.as_second();
                    let wait_until = wait_until.map(|t| t.as_second());
                    let last_sent = last_sent.map(i64::from);
                    let p: [&P<'_>; 8] = [&scenario, &user, &entry, &seq, &step, &since, &wait_until, &last_sent];
                    c.execute(&stmt, &p).await?
                }
                Transition::Exit(reason) => {
                    let stmt = c.prepare_cached(&self.sql.exit).await?;
                    let p: [&P<'_>; 5] = [&scenario, &user, &entry, &seq, &reason.name()];
                    c.execute(&stmt, &p).await?
                }
            };
            Ok::<_, BoxError>(n == 1)
        };
        run.await.map_err(err("PgStore::transition"))
    }

    async fn active_of(&self, user: &UserId) -> Result<Vec<(String, Enrollment)>> {
        let run = async {
            let conn = self.pool.get().await?;
            let c = conn.client();
            let stmt = c.prepare_cached(&self.sql.active_of).await?;
            c.query(&stmt, &[&user.as_str()])
                .await?
                .iter()
                .map(|row| Ok((row.try_get(0)?, row_enrollment(row, 1)?)))
                .collect::<std::result::Result<Vec<_>, BoxError>>()
        };
        run.await.map_err(err("PgStore::active_of"))
    }

    async fn active_page(
        &self,
        after: Option<(&str, &UserId)>,
        limit: usize,
    ) -> Result<Vec<(String, UserId, Enrollment)>> {
        let (s, u) = after.map_or(("", ""), |(s, u)| (s, u.as_str()));
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let run = async {
            let conn = self.pool.get().await?;
            let c = conn.client();
            let stmt = c.prepare_cached(&self.sql.active_page).await?;
            let p: [&P<'_>; 3] = [&s, &u, &limit];
            c.query(&stmt, &p)
                .await?
                .iter()
                .map(|row| {
                    Ok((
                        row.try_get(0)?,
                        UserId::new(row.try_get::<_, String>(1)?),
                        row_enrollment(row, 2)?,
                    ))
                })
                .collect::<std::result::Result<Vec<_>, BoxError>>()
        };
        run.await.map_err(err("PgStore::active_page"))
    }

    async fn claim(&self, key: &SendKey, at: Timestamp) -> Result<Claim> {
        // The read after a conflicting insert finds the row, unless it was deleted in between
        // (nothing deletes ledger rows today); then the insert is tried again.
        for _ in 0..3 {
            if let Some(claim) = self
                .claim_once(key, at.as_second())
                .await
                .map_err(err("PgStore::claim"))?
            {
                return Ok(claim);
            }
        }
        Err(Error::store(
            "PgStore::claim",
            "the ledger row changed under every attempt",
        ))
    }

    async fn settle(&self, key: &SendKey, outcome: Settled) -> Result<()> {
        let state = match outcome {
            Settled::Accepted => "done",
            Settled::Abandoned => "abandoned",
        };
        let run = async {
            let conn = self.pool.get().await?;
            let c = conn.client();
            let stmt = c.prepare_cached(&self.sql.settle).await?;
            let (entry, step, seq) = (i64::from(key.entry), i64::from(key.step), i64::from(key.seq));
            let p: [&P<'_>; 6] = [&&*key.scenario, &key.user.as_str(), &entry, &step, &seq, &state];
            c.execute(&stmt, &p).await?;
            Ok::<_, BoxError>(())
        };
        run.await.map_err(err("PgStore::settle"))
    }
}

#[async_trait::async_trait]
impl Scheduler for PgStore {
    async fn schedule(&self, wake: &WakeUp) -> Result<()> {
        let run = async {
            let conn = self.pool.get().await?;
            let c = conn.client();
            let stmt = c.prepare_cached(&self.sql.schedule).await?;
            let (entry, at) = (i64::from(wake.entry), wake.at.as_second());
            let p: [&P<'_>; 4] = [&&*wake.scenario, &wake.user.as_str(), &entry, &at];
            c.execute(&stmt, &p).await?;
            Ok::<_, BoxError>(())
        };
        run.await.map_err(err("PgStore::schedule"))
    }

    async fn due(&self, now: Timestamp, limit: usize, lease: SignedDuration) -> Result<Vec<WakeUp>> {
        let now_s = now.as_second();
        let until = now_s.saturating_add(lease.as_secs());
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let run = async {
            let conn = self.pool.get().await?;
            let c = conn.client();
            // Planned on each call: the queue grows and drains (see `query_planned`).
            let p: [TypedParam<'_>; 3] = [(&now_s, Type::INT8), (&limit, Type::INT8), (&until, Type::INT8)];
            let mut rows = query_planned(c, &self.sql.due, &p)
                .await?
                .iter()
                .map(|row| {
                    let id: i64 = row.try_get(0)?;
                    let at: i64 = row.try_get(4)?;
                    let wake = WakeUp {
                        scenario: Arc::from(row.try_get::<_, &str>(1)?),
                        user: UserId::new(row.try_get::<_, String>(2)?),
                        entry: get_u32(row, 3)?,
                        at: ts(at),
                    };
                    Ok(((at, id), wake))
                })
                .collect::<std::result::Result<Vec<_>, BoxError>>()?;
            // RETURNING keeps no order: earliest first, as scheduled.
            rows.sort_unstable_by_key(|(k, _)| *k);
            Ok::<_, BoxError>(rows.into_iter().map(|(_, w)| w).collect())
        };
        run.await.map_err(err("PgStore::due"))
    }

    async fn ack(&self, wakes: &[WakeUp]) -> Result<()> {
        if wakes.is_empty() {
            return Ok(());
        }
        let scenarios: Vec<&str> = wakes.iter().map(|w| &*w.scenario).collect();
        let users: Vec<&str> = wakes.iter().map(|w| w.user.as_str()).collect();
        let entries: Vec<i64> = wakes.iter().map(|w| i64::from(w.entry)).collect();
        let ats: Vec<i64> = wakes.iter().map(|w| w.at.as_second()).collect();
        let run = async {
            let conn = self.pool.get().await?;
            let c = conn.client();
            // Planned on each call, as `due` is: a cached plan made while the queue was small
            // would read all of it to find the rows given.
            let p: [TypedParam<'_>; 4] = [
                (&scenarios, Type::TEXT_ARRAY),
                (&users, Type::TEXT_ARRAY),
                (&entries, Type::INT8_ARRAY),
                (&ats, Type::INT8_ARRAY),
            ];
            execute_planned(c, &self.sql.ack, &p).await?;
            Ok::<_, BoxError>(())
        };
        run.await.map_err(err("PgStore::ack"))
    }

    async fn pending(&self) -> Result<usize> {
        let run = async {
            let conn = self.pool.get().await?;
            let c = conn.client();
            let stmt = c.prepare_cached(&self.sql.pending).await?;
            let n: i64 = c.query_one(&stmt, &[]).await?.try_get(0)?;
            Ok::<_, BoxError>(usize::try_from(n)?)
        };
        run.await.map_err(err("PgStore::pending"))
    }
}

#[async_trait::async_trait]
impl ContactStore for PgStore {
    async fn take(&self, user: &UserId, key: &str, limit: u32, window: SignedDuration, now: Timestamp) -> Result<bool> {
        let now_s = now.as_second();
        let start = now_s.saturating_sub(window.as_secs());
        let admitted = self
            .take_in_tx(user.as_str(), key, limit, start, now_s)
            .await
            .map_err(err("PgStore::take"))?;
        if self.takes.fetch_add(1, Ordering::Relaxed) % PURGE_EVERY == PURGE_EVERY - 1 {
            self.purge(start, PURGE_BATCH)
                .await
                .map_err(err("PgStore::purge_expired"))?;
        }
        Ok(admitted)
    }

    async fn give_back(&self, user: &UserId, key: &str) -> Result<()> {
        let run = async {
            let conn = self.pool.get().await?;
            let c = conn.client();
            let stmt = c.prepare_cached(&self.sql.give_back).await?;
            let p: [&P<'_>; 2] = [&user.as_str(), &key];
            c.execute(&stmt, &p).await?;
            Ok::<_, BoxError>(())
        };
        run.await.map_err(err("PgStore::give_back"))
    }

    async fn count(&self, user: &UserId, window: SignedDuration, now: Timestamp) -> Result<u32> {
        let start = now.as_second().saturating_sub(window.as_secs());
        let run = async {
            let conn = self.pool.get().await?;
            let c = conn.client();
            let stmt = c.prepare_cached(&self.sql.count).await?;
            let p: [&P<'_>; 2] = [&user.as_str(), &start];
            let n: i64 = c.query_one(&stmt, &p).await?.try_get(0)?;
            Ok::<_, BoxError>(u32::try_from(n)?)
        };
        run.await.map_err(err("PgStore::count"))
    }
}

/// The migrations of component `scenario_profiles`, in order.
const PROFILE_MIGRATIONS: &[&str] = &["
CREATE TABLE {p}scn_profile (
  user_id TEXT COLLATE \"C\" PRIMARY KEY, attributes TEXT NOT NULL DEFAULT '[]',
  line TEXT NOT NULL DEFAULT '{}', history_start TEXT);
CREATE TABLE {p}scn_profile_event (
  id BIGSERIAL PRIMARY KEY, user_id TEXT COLLATE \"C\" NOT NULL, body TEXT NOT NULL);
CREATE INDEX {p}scn_profile_event_user ON {p}scn_profile_event (user_id, id);
"];

struct ProfileSql {
    lock: String,
    write_attributes: String,
    profile: String,
    events: String,
    page: String,
    page_events: String,
    record_event: String,
    put: String,
    clear_events: String,
}

impl ProfileSql {
    fn new(prefix: &str) -> Self {
        let e = |s: &str| s.replace("{p}", prefix);
        Self {
            lock: e("INSERT INTO {p}scn_profile AS p (user_id) VALUES ($1) \
                     ON CONFLICT (user_id) DO UPDATE SET user_id = EXCLUDED.user_id RETURNING attributes"),
            write_attributes: e("UPDATE {p}scn_profile SET attributes = $2 WHERE user_id = $1"),
            profile: e("SELECT user_id, attributes, line, history_start FROM {p}scn_profile WHERE user_id = $1"),
            events: e("SELECT user_id, body FROM {p}scn_profile_event WHERE user_id = $1 ORDER BY id"),
            page: e("SELECT user_id, attributes, line, history_start FROM {p}scn_profile \
                     WHERE user_id > $1 ORDER BY user_id LIMIT $2"),
            page_events: e("SELECT user_id, body FROM {p}scn_profile_event WHERE user_id = ANY($1) ORDER BY id"),
            record_event: e(
                "WITH p AS (INSERT INTO {p}scn_profile (user_id) VALUES ($1) ON CONFLICT DO NOTHING) \
                             INSERT INTO {p}scn_profile_event (user_id, body) VALUES ($1, $2)",
            ),
            put: e(
                "INSERT INTO {p}scn_profile (user_id, attributes, line, history_start) VALUES ($1, $2, $3, $4) \
                    ON CONFLICT (user_id) DO UPDATE SET attributes = EXCLUDED.attributes, line = EXCLUDED.line, \
                    history_start = EXCLUDED.history_start",
            ),
            clear_events: e("DELETE FROM {p}scn_profile_event WHERE user_id = $1"),
        }
    }
}

/// A [`ProfileStore`](crate::profiles::ProfileStore) in PostgreSQL: profiles (attributes, LINE
/// facts, events) that acts change, shared by many processes. Cheap to clone.
///
/// Tables `{prefix}scn_profile` and `{prefix}scn_profile_event` (component `scenario_profiles`).
/// Values are kept as tagged JSON, so every `line_segments::profile::Value` reads back
/// exactly. A tag or attribute change is one transaction of two round trips that locks the user's
/// row (concurrent acts on one user wait, in any process); recording an event is one statement.
/// As with the in-memory store, acts on an unknown user create an empty profile.
#[derive(Clone)]
pub struct PgProfiles {
    pool: PgPool,
    sql: Arc<ProfileSql>,
}

impl fmt::Debug for PgProfiles {
    // The pool prints no URL (it holds a password).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgProfiles")
            .field("pool", &self.pool)
            .finish_non_exhaustive()
    }
}

/// A profile from a row `(user_id, attributes, line, history_start)` and its events.
fn row_profile(row: &Row, events: Vec<line_segments::profile::Event>) -> std::result::Result<Profile, BoxError> {
    let mut p = Profile::new(UserId::new(row.try_get::<_, String>(0)?));
    p.attributes = codec::read_attributes(row.try_get(1)?)?;
    p.line = codec::read_line(row.try_get(2)?)?;
    p.history_start = row.try_get::<_, Option<&str>>(3)?.map(str::parse).transpose()?;
    p.events = events;
    Ok(p)
}

impl PgProfiles {
    /// The store on `pool`, tables under `line_`. Creates or upgrades its tables.
    pub async fn new(pool: &PgPool) -> Result<Self> {
        Self::with_prefix(pool, line_core::store::DEFAULT_PREFIX).await
    }

    /// The store on `pool` with tables under `prefix`. Creates or upgrades its tables.
    pub async fn with_prefix(pool: &PgPool, prefix: &str) -> Result<Self> {
        pool.migrate("PgProfiles", prefix, "scenario_profiles", PROFILE_MIGRATIONS)
            .await
            .map_err(|e| match e.kind() {
                line_core::ErrorKind::Config { reason, .. } => Error::config("prefix", reason.clone()),
                _ => Error::store("PgProfiles::migrate", &e).with_source(e),
            })?;
        Ok(Self {
            pool: pool.clone(),
            sql: Arc::new(ProfileSql::new(prefix)),
        })
    }

    /// Adds or replaces a profile: its attributes, LINE facts, history start and events.
    pub async fn insert(&self, profile: &Profile) -> Result<()> {
        let run = async {
            let mut conn = self.pool.get().await?;
            conn.begin();
            let c = conn.client();
            let (begin, put, clear, event, commit) = tokio::try_join!(
                c.prepare_cached("BEGIN"),
                c.prepare_cached(&self.sql.put),
                c.prepare_cached(&self.sql.clear_events),
                c.prepare_cached(&self.sql.record_event),
                c.prepare_cached("COMMIT"),
            )?;
            let user = profile.id.as_str();
            let attrs = codec::attributes(&profile.attributes);
            let line = codec::line(&profile.line);
            let start = profile.history_start.map(|t| t.to_string());
            let p_put: [&P<'_>; 4] = [&user, &attrs, &line, &start];
            c.execute(&begin, &[]).await?;
            let p_user: [&P<'_>; 1] = [&user];
            tokio::try_join!(c.execute(&put, &p_put), c.execute(&clear, &p_user))?;
            for e in &profile.events {
                let body = codec::event(e);
                let p_event: [&P<'_>; 2] = [&user, &body];
                c.execute(&event, &p_event).await?;
            }
            c.execute(&commit, &[]).await?;
            conn.done();
            Ok::<_, BoxError>(())
        };
        run.await.map_err(err("PgProfiles::insert"))
    }

    /// Changes the user's attributes under a lock on their row, creating the profile if needed.
    async fn update(&self, op: &'static str, user: &UserId, f: impl FnOnce(&mut Attributes)) -> Result<()> {
        let run = async {
            let mut conn = self.pool.get().await?;
            conn.begin();
            let c = conn.client();
            let (begin, lock, write, commit) = tokio::try_join!(
                c.prepare_cached("BEGIN"),
                c.prepare_cached(&self.sql.lock),
                c.prepare_cached(&self.sql.write_attributes),
                c.prepare_cached("COMMIT"),
            )?;
            let user = user.as_str();
            // Round trip 1: lock the row (creating it) and read the attributes.
            let p_user: [&P<'_>; 1] = [&user];
            let (_, row) = tokio::try_join!(c.execute(&begin, &[]), c.query_one(&lock, &p_user))?;
            let mut attrs = codec::read_attributes(row.try_get(0)?)?;
            f(&mut attrs);
            // Round trip 2: write them back and commit.
            let text = codec::attributes(&attrs);
            let p_write: [&P<'_>; 2] = [&user, &text];
            tokio::try_join!(c.execute(&write, &p_write), c.execute(&commit, &[]))?;
            conn.done();
            Ok::<_, BoxError>(())
        };
        run.await.map_err(err(op))
    }
}

#[async_trait::async_trait]
impl crate::profiles::ProfileStore for PgProfiles {
    async fn profile(&self, user: &UserId) -> Result<Option<Arc<Profile>>> {
        let run = async {
            let conn = self.pool.get().await?;
            let c = conn.client();
            let (profile, events) =
                tokio::try_join!(c.prepare_cached(&self.sql.profile), c.prepare_cached(&self.sql.events))?;
            let user = user.as_str();
            let p_user: [&P<'_>; 1] = [&user];
            let (row, events) = tokio::try_join!(c.query_opt(&profile, &p_user), c.query(&events, &p_user))?;
            let Some(row) = row else { return Ok(None) };
            let events = events
                .iter()
                .map(|r| codec::read_event(r.try_get(1)?))
                .collect::<std::result::Result<Vec<_>, BoxError>>()?;
            Ok::<_, BoxError>(Some(Arc::new(row_profile(&row, events)?)))
        };
        run.await.map_err(err("PgProfiles::profile"))
    }

    async fn page(&self, after: Option<&UserId>, limit: usize) -> Result<Vec<Arc<Profile>>> {
        let after = after.map_or("", |u| u.as_str());
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let run = async {
            let conn = self.pool.get().await?;
            let c = conn.client();
            let (page, page_events) = tokio::try_join!(
                c.prepare_cached(&self.sql.page),
                c.prepare_cached(&self.sql.page_events)
            )?;
            let p_page: [&P<'_>; 2] = [&after, &limit];
            let rows = c.query(&page, &p_page).await?;
            let ids: Vec<String> = rows
                .iter()
                .map(|r| r.try_get(0))
                .collect::<std::result::Result<_, _>>()?;
            let mut events: std::collections::HashMap<String, Vec<_>> = std::collections::HashMap::new();
            for r in c.query(&page_events, &[&ids]).await? {
                events
                    .entry(r.try_get(0)?)
                    .or_default()
                    .push(codec::read_event(r.try_get(1)?)?);
            }
            rows.iter()
                .zip(&ids)
                .map(|(row, id)| Ok(Arc::new(row_profile(row, events.remove(id).unwrap_or_default())?)))
                .collect::<std::result::Result<Vec<_>, BoxError>>()
        };
        run.await.map_err(err("PgProfiles::page"))
    }

    async fn record_event(&self, user: &UserId, event: &line_segments::profile::Event) -> Result<()> {
        let body = codec::event(event);
        let run = async {
            let conn = self.pool.get().await?;
            let c = conn.client();
            let stmt = c.prepare_cached(&self.sql.record_event).await?;
            let p: [&P<'_>; 2] = [&user.as_str(), &body];
            c.execute(&stmt, &p).await?;
            Ok::<_, BoxError>(())
        };
        run.await.map_err(err("PgProfiles::record_event"))
    }

    async fn add_tag(&self, user: &UserId, tag: &str) -> Result<()> {
        self.update("PgProfiles::add_tag", user, |a| {
            let mut tags = match a.get(TAGS) {
                Some(Value::Set(s)) => s.clone(),
                _ => Vec::new(),
            };
            if !tags.iter().any(|t| t == tag) {
                tags.push(tag.to_owned());
            }
            a.insert(TAGS, Value::Set(tags));
        })
        .await
    }

    async fn remove_tag(&self, user: &UserId, tag: &str) -> Result<()> {
        self.update("PgProfiles::remove_tag", user, |a| {
            if let Some(Value::Set(s)) = a.get(TAGS) {
                let tags: Vec<String> = s.iter().filter(|t| *t != tag).cloned().collect();
                a.insert(TAGS, Value::Set(tags));
            }
        })
        .await
    }

    async fn set_attribute(&self, user: &UserId, name: &str, value: Value) -> Result<()> {
        self.update("PgProfiles::set_attribute", user, |a| a.insert(name, value))
            .await
    }

    async fn remove_attribute(&self, user: &UserId, name: &str) -> Result<()> {
        self.update("PgProfiles::remove_attribute", user, |a| {
            a.remove(name);
        })
        .await
    }
}

// ---------------------------------------------------------------------------------------------
// Friend sources and tracked clicks.
// ---------------------------------------------------------------------------------------------

/// The migrations of component `scenario_sources` ([`PgSources`]), in order; `{p}` is the table
/// prefix. Never edit one that shipped: add a new one.
const SOURCE_MIGRATIONS: &[&str] = &["
CREATE TABLE {p}src_token (token TEXT COLLATE \"C\" PRIMARY KEY, source TEXT NOT NULL, expires BIGINT NOT NULL);
CREATE TABLE {p}src_binding (user_id TEXT COLLATE \"C\" PRIMARY KEY, source TEXT NOT NULL, expires BIGINT NOT NULL);
CREATE TABLE {p}src_user (user_id TEXT COLLATE \"C\" PRIMARY KEY, source TEXT NOT NULL);
CREATE TABLE {p}src_follow (event_id TEXT COLLATE \"C\" PRIMARY KEY, source TEXT);
CREATE TABLE {p}src_seen (key TEXT COLLATE \"C\" PRIMARY KEY);
CREATE TABLE {p}src_count (
  source TEXT COLLATE \"C\" PRIMARY KEY, visits BIGINT NOT NULL DEFAULT 0, friends BIGINT NOT NULL DEFAULT 0,
  blocks BIGINT NOT NULL DEFAULT 0, conversions BIGINT NOT NULL DEFAULT 0,
  revenue DOUBLE PRECISION NOT NULL DEFAULT 0);
"];

struct SourceSql {
    prefix: String,
    visit: String,
    bind: String,
    follow_claim: String,
    follow_first: String,
    follow_take: String,
    follow_settle: String,
    unfollow: String,
    convert: String,
    source_of: String,
    counts: String,
}

impl SourceSql {
    fn new(prefix: &str) -> Self {
        let e = |s: &str| s.replace("{p}", prefix);
        Self {
            prefix: prefix.to_owned(),
            // $1 source, $2 token, $3 expires.
            visit: e(
                "WITH t AS (INSERT INTO {p}src_token (token, source, expires) VALUES ($2, $1, $3) \
                        ON CONFLICT (token) DO UPDATE SET source = EXCLUDED.source, expires = EXCLUDED.expires) \
                      INSERT INTO {p}src_count AS c (source, visits) VALUES ($1, 1) \
                      ON CONFLICT (source) DO UPDATE SET visits = c.visits + 1",
            ),
            // $1 token, $2 user, $3 now, $4 expires.
            bind: e(
                "WITH t AS (SELECT source, expires FROM {p}src_token WHERE token = $1), \
                       gone AS (DELETE FROM {p}src_token WHERE token = $1 AND expires <= $3), \
                       b AS (INSERT INTO {p}src_binding (user_id, source, expires) \
                             SELECT $2, source, $4 FROM t WHERE expires > $3 \
                             ON CONFLICT (user_id) DO UPDATE SET source = EXCLUDED.source, expires = EXCLUDED.expires \
                             RETURNING source) \
                     SELECT source FROM b",
            ),
            follow_claim: e("INSERT INTO {p}src_follow (event_id, source) VALUES ($1, NULL) \
                             ON CONFLICT (event_id) DO NOTHING RETURNING 1"),
            follow_first: e("SELECT source FROM {p}src_follow WHERE event_id = $1"),
            // $1 user, $2 now: takes the binding (a concurrent follow of the same user waits on
            // the row and then finds it gone), sets the user's source and counts a friend.
            follow_take: e(
                "WITH b AS (DELETE FROM {p}src_binding WHERE user_id = $1 RETURNING source, expires), \
                              s AS (SELECT source FROM b WHERE expires > $2), \
                              u AS (INSERT INTO {p}src_user (user_id, source) SELECT $1, source FROM s \
                                    ON CONFLICT (user_id) DO UPDATE SET source = EXCLUDED.source), \
                              c AS (INSERT INTO {p}src_count AS c (source, friends) SELECT source, 1 FROM s \
                                    ON CONFLICT (source) DO UPDATE SET friends = c.friends + 1) \
                            SELECT source FROM s",
            ),
            follow_settle: e("UPDATE {p}src_follow SET source = $2 WHERE event_id = $1"),
            // $1 user, $2 seen key or NULL.
            unfollow: e("WITH s AS (SELECT source FROM {p}src_user WHERE user_id = $1), \
                           seen AS (INSERT INTO {p}src_seen (key) SELECT $2::text FROM s WHERE $2::text IS NOT NULL \
                                    ON CONFLICT (key) DO NOTHING RETURNING 1), \
                           c AS (INSERT INTO {p}src_count AS c (source, blocks) SELECT source, 1 FROM s \
                                 WHERE $2::text IS NULL OR EXISTS (SELECT 1 FROM seen) \
                                 ON CONFLICT (source) DO UPDATE SET blocks = c.blocks + 1) \
                         SELECT source FROM s"),
            // $1 user, $2 seen key, $3 revenue.
            convert: e("WITH s AS (SELECT source FROM {p}src_user WHERE user_id = $1), \
                          seen AS (INSERT INTO {p}src_seen (key) SELECT $2::text FROM s \
                                   ON CONFLICT (key) DO NOTHING RETURNING 1), \
                          c AS (INSERT INTO {p}src_count AS c (source, conversions, revenue) \
                                SELECT source, 1, $3 FROM s WHERE EXISTS (SELECT 1 FROM seen) \
                                ON CONFLICT (source) DO UPDATE SET conversions = c.conversions + 1, \
                                revenue = c.revenue + EXCLUDED.revenue) \
                        SELECT source FROM s"),
            source_of: e("SELECT source FROM {p}src_user WHERE user_id = $1"),
            counts: e("SELECT visits, friends, blocks, conversions, revenue FROM {p}src_count WHERE source = $1"),
        }
    }
}

/// A [`SourceStore`](crate::sources::SourceStore) in PostgreSQL (friend sources: visits,
/// attribution tokens, bindings, users' sources and per-source counts), shared by many processes.
/// Cheap to clone; clones share the pool.
///
/// Its tables are `{prefix}src_token`, `{prefix}src_binding`, `{prefix}src_user`,
/// `{prefix}src_follow`, `{prefix}src_seen` and `{prefix}src_count`, created and upgraded through
/// migrations recorded as component `scenario_sources`. Times are kept in milliseconds.
///
/// Every operation but `follow` is one statement; `follow` with an event id is one transaction
/// that first claims the event id (a concurrent delivery of the same event waits, then returns
/// the first answer). A binding is taken by a `DELETE … RETURNING`, so two processes following
/// one user at once count one friend; the seen keys of `unfollow` and `convert` are inserted with
/// `ON CONFLICT DO NOTHING` in the statement that counts, so each counts once. Expired tokens are
/// deleted when bound; expired bindings when taken.
#[derive(Clone)]
pub struct PgSources {
    pool: PgPool,
    sql: Arc<SourceSql>,
}

impl fmt::Debug for PgSources {
    // The pool prints no URL (it holds a password).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgSources")
            .field("prefix", &self.sql.prefix)
            .field("pool", &self.pool)
            .finish_non_exhaustive()
    }
}

impl PgSources {
    /// The store on `pool`, tables under `line_`. Creates or upgrades its tables.
    pub async fn new(pool: &PgPool) -> Result<Self> {
        Self::with_prefix(pool, line_core::store::DEFAULT_PREFIX).await
    }

    /// The store on `pool` with tables under `prefix` (1 to 40 of `[a-z0-9_]`, not starting with
    /// a digit). Creates or upgrades its tables.
    pub async fn with_prefix(pool: &PgPool, prefix: &str) -> Result<Self> {
        pool.migrate("PgSources", prefix, "scenario_sources", SOURCE_MIGRATIONS)
            .await
            .map_err(|e| match e.kind() {
                line_core::ErrorKind::Config { reason, .. } => Error::config("prefix", reason.clone()),
                _ => Error::store("PgSources::migrate", &e).with_source(e),
            })?;
        Ok(Self {
            pool: pool.clone(),
            sql: Arc::new(SourceSql::new(prefix)),
        })
    }

    /// Runs one statement that returns at most one `source` column.
    async fn one(&self, sql: &str, params: &[&P<'_>]) -> std::result::Result<Option<String>, BoxError> {
        let conn = self.pool.get().await?;
        let c = conn.client();
        let stmt = c.prepare_cached(sql).await?;
        let row = c.query_opt(&stmt, params).await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }
}

#[async_trait::async_trait]
impl crate::sources::SourceStore for PgSources {
    async fn visit(&self, source: &str, token: &str, expires: Timestamp) -> Result<()> {
        let expires = expires.as_millisecond();
        let run = async {
            let conn = self.pool.get().await?;
            let c = conn.client();
            let stmt = c.prepare_cached(&self.sql.visit).await?;
            let p: [&P<'_>; 3] = [&source, &token, &expires];
            c.execute(&stmt, &p).await?;
            Ok::<_, BoxError>(())
        };
        run.await.map_err(err("PgSources::visit"))
    }

    async fn bind(&self, token: &str, user: &UserId, now: Timestamp, expires: Timestamp) -> Result<Option<String>> {
        let (user, now, expires) = (user.as_str(), now.as_millisecond(), expires.as_millisecond());
        let p: [&P<'_>; 4] = [&token, &user, &now, &expires];
        self.one(&self.sql.bind, &p).await.map_err(err("PgSources::bind"))
    }

    async fn follow(&self, user: &UserId, event_id: Option<&str>, now: Timestamp) -> Result<Option<String>> {
        let (user, now) = (user.as_str(), now.as_millisecond());
        let Some(id) = event_id else {
            let p: [&P<'_>; 2] = [&user, &now];
            return self
                .one(&self.sql.follow_take, &p)
                .await
                .map_err(err("PgSources::follow"));
        };
        let run = async {
            let mut conn = self.pool.get().await?;
            conn.begin();
            let c = conn.client();
            let (begin, claim, first, take, settle, commit) = tokio::try_join!(
                c.prepare_cached("BEGIN"),
                c.prepare_cached(&self.sql.follow_claim),
                c.prepare_cached(&self.sql.follow_first),
                c.prepare_cached(&self.sql.follow_take),
                c.prepare_cached(&self.sql.follow_settle),
                c.prepare_cached("COMMIT"),
            )?;
            let p_id: [&P<'_>; 1] = [&id];
            // Round trip 1: claim the event id. A concurrent claim of the same id waits here
            // until the first commits, then finds it taken.
            let (_, claimed) = tokio::try_join!(c.execute(&begin, &[]), c.query_opt(&claim, &p_id))?;
            let source = if claimed.is_some() {
                // Round trip 2: take the binding, count, record the answer and commit.
                let p_take: [&P<'_>; 2] = [&user, &now];
                let row = c.query_opt(&take, &p_take).await?;
                let source: Option<String> = row.map(|r| r.try_get(0)).transpose()?;
                let p_settle: [&P<'_>; 2] = [&id, &source];
                tokio::try_join!(c.execute(&settle, &p_settle), c.execute(&commit, &[]))?;
                source
            } else {
                // A repeat: the first answer (committed, so this statement sees it).
                let (row, _) = tokio::try_join!(c.query_opt(&first, &p_id), c.execute(&commit, &[]))?;
                row.map(|r| r.try_get::<_, Option<String>>(0)).transpose()?.flatten()
            };
            conn.done();
            Ok::<_, BoxError>(source)
        };
        run.await.map_err(err("PgSources::follow"))
    }

    async fn unfollow(&self, user: &UserId, event_id: Option<&str>) -> Result<Option<String>> {
        let user = user.as_str();
        let key = event_id.map(|id| format!("unfollow\u{1f}{id}"));
        let p: [&P<'_>; 2] = [&user, &key];
        self.one(&self.sql.unfollow, &p)
            .await
            .map_err(err("PgSources::unfollow"))
    }

    async fn convert(&self, user: &UserId, key: &str, revenue: f64) -> Result<Option<String>> {
        let user = user.as_str();
        let key = format!("convert\u{1f}{key}");
        let p: [&P<'_>; 3] = [&user, &key, &revenue];
        self.one(&self.sql.convert, &p).await.map_err(err("PgSources::convert"))
    }

    async fn source_of(&self, user: &UserId) -> Result<Option<String>> {
        let user = user.as_str();
        let p: [&P<'_>; 1] = [&user];
        self.one(&self.sql.source_of, &p)
            .await
            .map_err(err("PgSources::source_of"))
    }

    async fn counts(&self, source: &str) -> Result<crate::sources::SourceCounts> {
        let run = async {
            let conn = self.pool.get().await?;
            let c = conn.client();
            let stmt = c.prepare_cached(&self.sql.counts).await?;
            let p: [&P<'_>; 1] = [&source];
            let mut counts = crate::sources::SourceCounts::default();
            if let Some(r) = c.query_opt(&stmt, &p).await? {
                let n =
                    |i: usize| -> std::result::Result<u64, BoxError> { Ok(u64::try_from(r.try_get::<_, i64>(i)?)?) };
                counts.visits = n(0)?;
                counts.friends = n(1)?;
                counts.blocks = n(2)?;
                counts.conversions = n(3)?;
                counts.revenue = r.try_get(4)?;
            }
            Ok::<_, BoxError>(counts)
        };
        run.await.map_err(err("PgSources::counts"))
    }
}

/// The migrations of component `scenario_clicks` ([`PgClickStore`]), in order; `{p}` is the
/// table prefix. Never edit one that shipped: add a new one.
const CLICK_MIGRATIONS: &[&str] = &["
CREATE TABLE {p}scn_click (
  scenario TEXT COLLATE \"C\" NOT NULL, step BIGINT NOT NULL, entry BIGINT NOT NULL,
  user_id TEXT COLLATE \"C\" NOT NULL, url TEXT NOT NULL, at BIGINT NOT NULL,
  PRIMARY KEY (scenario, step, entry, user_id));
"];

/// A [`ClickStore`](crate::tracking::ClickStore) in PostgreSQL, shared by many processes: one
/// row per send and user in `{prefix}scn_click` (the first click's URL and time, in
/// milliseconds), created and upgraded through migrations recorded as component
/// `scenario_clicks`. A click is one `INSERT … ON CONFLICT DO NOTHING`, so the same click
/// recorded by two processes at once counts once. Cheap to clone; clones share the pool.
#[derive(Clone)]
pub struct PgClickStore {
    pool: PgPool,
    prefix: Arc<str>,
    record: Arc<str>,
    clicks: Arc<str>,
}

impl fmt::Debug for PgClickStore {
    // The pool prints no URL (it holds a password).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgClickStore")
            .field("prefix", &self.prefix)
            .field("pool", &self.pool)
            .finish_non_exhaustive()
    }
}

impl PgClickStore {
    /// The store on `pool`, tables under `line_`. Creates or upgrades its table.
    pub async fn new(pool: &PgPool) -> Result<Self> {
        Self::with_prefix(pool, line_core::store::DEFAULT_PREFIX).await
    }

    /// The store on `pool` with tables under `prefix` (1 to 40 of `[a-z0-9_]`, not starting with
    /// a digit). Creates or upgrades its table.
    pub async fn with_prefix(pool: &PgPool, prefix: &str) -> Result<Self> {
        pool.migrate("PgClickStore", prefix, "scenario_clicks", CLICK_MIGRATIONS)
            .await
            .map_err(|e| match e.kind() {
                line_core::ErrorKind::Config { reason, .. } => Error::config("prefix", reason.clone()),
                _ => Error::store("PgClickStore::migrate", &e).with_source(e),
            })?;
        Ok(Self {
            pool: pool.clone(),
            prefix: Arc::from(prefix),
            record: Arc::from(format!(
                "INSERT INTO {prefix}scn_click (scenario, step, entry, user_id, url, at) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING"
            )),
            clicks: Arc::from(format!(
                "SELECT step, count(*) FROM {prefix}scn_click WHERE scenario = $1 GROUP BY step"
            )),
        })
    }
}

#[async_trait::async_trait]
impl crate::tracking::ClickStore for PgClickStore {
    async fn record_click(&self, link: &crate::tracking::Link, at: Timestamp) -> Result<bool> {
        let run = async {
            let conn = self.pool.get().await?;
            let c = conn.client();
            let stmt = c.prepare_cached(&self.record).await?;
            let (step, entry, user, at) = (
                i64::from(link.step),
                i64::from(link.entry),
                link.user.as_str(),
                at.as_millisecond(),
            );
            let p: [&P<'_>; 6] = [&link.scenario, &step, &entry, &user, &link.url, &at];
            Ok::<_, BoxError>(c.execute(&stmt, &p).await? == 1)
        };
        run.await.map_err(err("PgClickStore::record_click"))
    }

    async fn clicks(&self, scenario: &str) -> Result<std::collections::BTreeMap<u16, u64>> {
        let run = async {
            let conn = self.pool.get().await?;
            let c = conn.client();
            let stmt = c.prepare_cached(&self.clicks).await?;
            let p: [&P<'_>; 1] = [&scenario];
            let mut out = std::collections::BTreeMap::new();
            for r in c.query(&stmt, &p).await? {
                out.insert(get_u16(&r, 0)?, u64::try_from(r.try_get::<_, i64>(1)?)?);
            }
            Ok::<_, BoxError>(out)
        };
        run.await.map_err(err("PgClickStore::clicks"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_keys_separate_parts() {
        assert_ne!(lock_key(&["ab", "c"]), lock_key(&["a", "bc"]));
        assert_eq!(lock_key(&["line_", "U1"]), lock_key(&["line_", "U1"]));
    }
}
