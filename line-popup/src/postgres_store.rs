//! [`PgStore`]: a [`PopupStore`] in PostgreSQL, shared by many processes (feature `postgres`).
//!
//! The tables are those of the SQLite store (see [`sqlite_store`](crate::sqlite_store)
//! when that feature is on): visitors, per-campaign state, sessions, tokens, bindings
//! and report counters, under a prefix (`line_` by default), created and upgraded by
//! the store itself. One difference: a report counter is spread over 16 rows (one per
//! shard, picked by the server process that writes, `pg_backend_pid() % 16`) and summed
//! when [`stats`](PopupStore::stats) reads it, so reservations of one variant made at
//! once on different connections do not queue for one row lock.
//!
//! # One reservation, one round trip
//!
//! A reservation is one call of a PL/pgSQL function that the store's migrations create
//! (`{prefix}popup_reserve`), sent as a prepared statement in its own implicit
//! transaction. Inside it, `SELECT … FOR UPDATE` locks the visitor's row (concurrent
//! reservations of one visitor wait here, in any process); then it reads the
//! visitor's campaign state and session counts, checks the caps of the candidates in
//! order (the same caps, in the same order, as every other store), and writes the
//! reservation. A single SQL statement could not do this safely: its reads would see
//! the snapshot taken before the lock was granted, whereas each statement of a
//! (volatile) function takes a fresh one. A first visit (no row for the visitor yet)
//! has no state to read: the caps decide from zero, and the visitor's row is inserted
//! with its final count, which locks it as well (six statements in all; a returning
//! visitor's showing takes seven or more: a read of campaign state per candidate checked,
//! and one more for a window or a session cap).
//!
//! Both reservation functions run with `enable_seqscan = off` (migration 7), so each of
//! their statements is planned as a lookup through a key even in a server process that
//! first ran them while the tables were small; PL/pgSQL keeps such a plan until the tables
//! are analysed again, and a plan that read a growing table whole slowed every first visit
//! by milliseconds (`docs/host-traits.md` in the repository has the measurements).
//!
//! # Shared connections
//!
//! Reservations do not take a connection of the pool each: they share a few connections
//! of their own ([`DEFAULT_RESERVE_CONNECTIONS`], 2, unless
//! [`with_reserve_connections`](PgStore::with_reserve_connections) says otherwise), and
//! each goes to the one with the fewest reservations in flight. The shared connections
//! are opened on first use (or all at once by
//! [`open_connections`](PgStore::open_connections), which a host calls before traffic
//! arrives) with the pool's settings and then taken out of it, so they do not count
//! against its size; the other operations take pooled connections as before.
//!
//! # Batches
//!
//! Each shared connection has a task that sends one call at a time: a reservation that
//! finds the connection idle goes alone (the function above), and those that queued
//! while a call ran go together in the next one, at most 32, as one call of
//! `{prefix}popup_reserve_many` (migration 6): one round trip, one transaction, one
//! wake-up of the server process for all of them. Inside it:
//!
//! - each reservation runs the same statements as alone (the decisions are the same),
//!   in its own subtransaction: one whose data fail (a token already used, say) fails
//!   alone with a typed error, and the others are made;
//! - the reservations run in the order of their visitors (one visitor's in the order
//!   they came), so two batches lock visitors' rows in one order and never wait for each
//!   other in a cycle; the report counters are written once, at the end, in key order;
//! - a visitor's row stays locked until the batch commits, so a reservation of that
//!   visitor on another connection or in another process waits for the whole batch.
//!
//! A text with a NUL byte (which the server refuses before any function runs) is sent
//! alone, so it fails no one else's reservation. A batch waits for a visitor's row lock
//! that another process holds, and the reservations queued behind it wait too
//! (head-of-line blocking); that wait ends by itself, since the holder is a call running
//! on another connection, and queued reservations hold no locks. A connection that
//! breaks (the server restarted, the process was terminated) fails the reservations in
//! flight on it with a typed error, and the next call opens a new one. A reservation
//! cancelled before its call was sent is not made.
//!
//! `record` and `count_new_friend` are one statement each (data-modifying `WITH`
//! clauses), `bind` one `INSERT … SELECT … WHERE EXISTS`.
//!
//! # Expired rows
//!
//! Expired sessions, tokens and bindings are invisible at once, and deleted in batches
//! (at most 512 rows of each table, found through an index, `FOR UPDATE SKIP LOCKED`)
//! off the reservations' path: the store owns a background task, spawned on the Tokio
//! runtime that built it, which every 256 reservations of the process deletes one batch
//! of what expired by the time of the reservation that woke it. So no reservation waits
//! for a batch (the one that triggered it used to run its three `DELETE`s first), and a
//! purge that fails is logged with `tracing` and tried again at the next wake rather
//! than failing a reservation that was made. Wakes that come while a batch runs are
//! merged into one; the task ends when the last clone of the store is dropped.
//! [`purge_expired`](PgStore::purge_expired) deletes without a batch limit, for a host
//! that prefers to purge on its own schedule (a process that reserves little, say).
//! Counted friend events (kept 8 days, for deduplication) are deleted the same way: a
//! `count_new_friend` call among every 256 calls wakes the task with its day, and the
//! task deletes one batch of the events of older days, off the webhook's path.
//!
//! A session's row is found for deletion through a coarse expiry (`purge_after`, its
//! expiry rounded up to the hour, and moved only when the session outlives it), not the
//! exact one: a showing that extends a session then leaves every indexed column as it
//! was, so PostgreSQL updates the row in place (a HOT update) instead of adding index
//! entries on every showing. A session is deleted at most an hour after it expired, and
//! is invisible from its expiry on as before.
//!
//! # Asynchronous commit (opt-in)
//!
//! By default a reservation commits as the server is configured to (durably, with
//! `synchronous_commit = on`, its default): the call returns once the commit is flushed
//! to the write-ahead log on disk, which on an ordinary disk costs a few milliseconds
//! and dominates the latency of a reservation. [`PgStore::with_asynchronous_commit`]
//! makes reservations (only they) commit without waiting for that flush
//! (`synchronous_commit = off` for their own transaction). The database stays
//! consistent; what a crash of the server can lose is the reservations of the last
//! few hundred milliseconds (at most three times `wal_writer_delay`): their showings
//! are forgotten, so a visitor may see at most that many more popups than a cap says.
//! A popup cap is a display cap, so that is a fair trade for some hosts, never a
//! message sent twice; it is off unless you ask for it.
//!
//! A reservation whose call is cancelled after it was sent may still be made on the
//! server (it counts against the caps, as an unrendered reservation does); one that
//! fails is rolled back whole. A store failure
//! is an [`ErrorKind::Store`](crate::ErrorKind::Store) error naming the store and
//! operation (`PgStore::reserve`), and the engine shows no popup (decisions fail closed).

use std::fmt;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use async_trait::async_trait;
use jiff::Timestamp;
use line_core::store::postgres::{execute_planned, BoxError, PgClient, PgPool, TypedParam};
use tokio::sync::{mpsc, oneshot, Notify};
use tokio::task::JoinHandle;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::Statement;

/// A statement parameter.
type P<'a> = dyn ToSql + Sync + 'a;

use crate::error::Error;
use crate::sql::{event_bit, oldest_kept_day, OwnedReserve, PURGE_BATCH, PURGE_EVERY};
use crate::store::{
    secs_to_ms, Attribution, CapKind, EventKind, PopupStore, Recorded, ReserveOutcome, ReserveRequest, StatKind,
    StatRow, Stats,
};

/// Migration 1: the tables.
const TABLES: &str = "
CREATE TABLE {p}popup_visitor (visitor TEXT PRIMARY KEY, day TEXT NOT NULL DEFAULT '', day_count BIGINT NOT NULL DEFAULT 0);
CREATE TABLE {p}popup_campaign (visitor TEXT NOT NULL, campaign TEXT NOT NULL, lifetime BIGINT NOT NULL DEFAULT 0,
  last_ms BIGINT, dismissed_ms BIGINT, converted BOOLEAN NOT NULL DEFAULT FALSE, win TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (visitor, campaign));
CREATE TABLE {p}popup_session (visitor TEXT NOT NULL, campaign TEXT NOT NULL, session TEXT NOT NULL,
  count BIGINT NOT NULL, expires_ms BIGINT NOT NULL, PRIMARY KEY (visitor, campaign, session));
CREATE INDEX {p}popup_session_expiry ON {p}popup_session (expires_ms);
CREATE TABLE {p}popup_token (token TEXT PRIMARY KEY, visitor TEXT NOT NULL, campaign TEXT NOT NULL, variant TEXT NOT NULL,
  reserved_ms BIGINT NOT NULL, expires_ms BIGINT NOT NULL, events BIGINT NOT NULL DEFAULT 0);
CREATE INDEX {p}popup_token_expiry ON {p}popup_token (expires_ms);
CREATE TABLE {p}popup_binding (key TEXT PRIMARY KEY, token TEXT NOT NULL, expires_ms BIGINT NOT NULL);
CREATE INDEX {p}popup_binding_expiry ON {p}popup_binding (expires_ms);
CREATE TABLE {p}popup_stat (day TEXT NOT NULL, campaign TEXT NOT NULL, variant TEXT NOT NULL, kind TEXT NOT NULL,
  count BIGINT NOT NULL, PRIMARY KEY (day, campaign, variant, kind));
CREATE TABLE {p}popup_new_friend (day TEXT PRIMARY KEY, count BIGINT NOT NULL);
CREATE TABLE {p}popup_friend_event (event_id TEXT PRIMARY KEY, day TEXT NOT NULL);
CREATE INDEX {p}popup_friend_event_day ON {p}popup_friend_event (day);
";

/// The migrations of component `popup`, in order; `{p}` is the table prefix. Never edit one
/// that shipped: add a new one.
static MIGRATIONS: LazyLock<[&'static str; 7]> = LazyLock::new(|| {
    [
        TABLES,
        RESERVE_FUNCTION,
        SHARDED_STATS.as_str(),
        SESSION_PURGE_AND_LOCK.as_str(),
        RESERVE_FUNCTION_V5,
        RESERVE_MANY.as_str(),
        INDEX_PLANS,
    ]
});

/// Migration 7: the reservation functions plan their statements without sequential scans.
///
/// PL/pgSQL plans a function's statements on their first calls in a server process and
/// then keeps one generic plan for each, until a table it reads is analysed again. The
/// store's tables start empty, and while the planner takes a table for a few pages (from
/// its statistics, or its guess for a table not analysed yet) it prefers a sequential scan
/// to a lookup through the key for a first visit's check that no campaign or session state
/// exists (an `EXISTS` stops at the first row, and a small table has it at once). That
/// plan stayed in use while the tables grew, until autovacuum analysed them again (it
/// comes by once a minute by default): measured on fresh tables, calls with that plan took
/// the server 4 to 16 ms each once the tables held 100,000 visitors (each read both tables
/// whole), and every reservation queued behind them. With `enable_seqscan = off` for the
/// two functions the server calls (the planner still uses a sequential scan where no index
/// serves, which none of their statements needs), every statement is planned as a lookup
/// through the tables' keys, whatever their size was when it was planned.
/// `{p}popup_reserve_one` runs inside `{p}popup_reserve_many`, so it has the setting of its
/// caller and needs none of its own (a setting of its own would be set and restored on
/// each of the calls of a batch).
const INDEX_PLANS: &str = "
ALTER FUNCTION {p}popup_reserve(TEXT, TEXT, BIGINT, TEXT, BIGINT, BIGINT, TEXT, BIGINT, TEXT[], TEXT[],
  BIGINT[], BIGINT[], BIGINT[], BIGINT[], BIGINT[], BIGINT[], BOOLEAN[]) SET enable_seqscan = off;
ALTER FUNCTION {p}popup_reserve_many(TEXT[], TEXT[], BIGINT[], TEXT[], BIGINT[], BIGINT[], TEXT[], BIGINT[],
  INTEGER[], INTEGER[], TEXT[], TEXT[], BIGINT[], BIGINT[], BIGINT[], BIGINT[], BIGINT[], BIGINT[], BOOLEAN[])
  SET enable_seqscan = off;
";

/// Migration 6: several reservations in one call (one transaction), for the reservations
/// that queue on a shared connection (see the [module docs](self#batches)).
///
/// `{p}popup_reserve_one` is migration 5's function without its counter write;
/// `{p}popup_reserve_many` takes the requests as parallel arrays (the candidates of
/// request `k` are elements `p_first[k] .. p_first[k] + p_count[k] - 1` of the candidate
/// arrays) and returns one row per request: its index (from 0), the outcome, or the
/// error that rolled back that request alone (each runs in its own subtransaction).
///
/// - Locks: the requests run in the order of their visitors (byte order; arrival order
///   for one visitor), so two batches take their visitors' row locks in one order and
///   never wait for each other in a cycle.
/// - Counters: the batch writes its counter rows last, summed per (day, campaign,
///   variant), in key order, after every visitor lock: a batch waiting for a visitor
///   never holds a counter row another batch waits for.
static RESERVE_MANY: LazyLock<String> = LazyLock::new(|| {
    let one = RESERVE_FUNCTION_V5
        .replacen("FUNCTION {p}popup_reserve(", "FUNCTION {p}popup_reserve_one(", 1)
        .replacen(STAT_WRITE_V5_FIRST, "", 1)
        .replacen(STAT_WRITE_V5, "", 1);
    format!("{one}{RESERVE_MANY_FUNCTION}")
});

/// The counter writes of [`RESERVE_FUNCTION_V5`] (a first visit's, and a returning one's).
const STAT_WRITE_V5_FIRST: &str = "        INSERT INTO {p}popup_stat AS s (day, campaign, variant, kind, shard, count)
          VALUES (p_day, p_campaigns[chosen], p_variants[chosen], 'reserved', pg_backend_pid() % 16, 1)
          ON CONFLICT (day, campaign, variant, kind, shard) DO UPDATE SET count = s.count + 1;
";
const STAT_WRITE_V5: &str = "      -- Last: a counter row is shared by the reservations of this server process's
      -- shard, so it is locked the shortest time (until the commit right after the call).
      INSERT INTO {p}popup_stat AS s (day, campaign, variant, kind, shard, count)
        VALUES (p_day, p_campaigns[i], p_variants[i], 'reserved', pg_backend_pid() % 16, 1)
        ON CONFLICT (day, campaign, variant, kind, shard) DO UPDATE SET count = s.count + 1;
";

/// The batch function of [`RESERVE_MANY`].
const RESERVE_MANY_FUNCTION: &str = "
CREATE OR REPLACE FUNCTION {p}popup_reserve_many(
  p_visitor TEXT[], p_session TEXT[], p_now BIGINT[], p_day TEXT[], p_max_per_day BIGINT[],
  p_session_exp BIGINT[], p_token TEXT[], p_token_exp BIGINT[], p_first INTEGER[], p_count INTEGER[],
  p_campaigns TEXT[], p_variants TEXT[], p_lifetime BIGINT[], p_window_from BIGINT[], p_window_max BIGINT[],
  p_per_session BIGINT[], p_min_interval_ms BIGINT[], p_cooldown_ms BIGINT[], p_stop_converted BOOLEAN[])
RETURNS TABLE (request INTEGER, chosen INTEGER, skipped TEXT[], failure TEXT)
LANGUAGE plpgsql AS $fn$
DECLARE
  v_k INTEGER;
  v_lo INTEGER;
  v_hi INTEGER;
  v_days TEXT[] := ARRAY[]::TEXT[];
  v_campaigns TEXT[] := ARRAY[]::TEXT[];
  v_variants TEXT[] := ARRAY[]::TEXT[];
BEGIN
  FOR v_k IN SELECT o.k FROM unnest(p_visitor) WITH ORDINALITY AS o(v, k) ORDER BY o.v COLLATE \"C\", o.k LOOP
    request := v_k - 1;
    v_lo := p_first[v_k];
    v_hi := p_first[v_k] + p_count[v_k] - 1;
    BEGIN
      SELECT r.chosen, r.skipped INTO chosen, skipped
        FROM {p}popup_reserve_one(p_visitor[v_k], p_session[v_k], p_now[v_k], p_day[v_k], p_max_per_day[v_k],
          p_session_exp[v_k], p_token[v_k], p_token_exp[v_k], p_campaigns[v_lo:v_hi], p_variants[v_lo:v_hi],
          p_lifetime[v_lo:v_hi], p_window_from[v_lo:v_hi], p_window_max[v_lo:v_hi], p_per_session[v_lo:v_hi],
          p_min_interval_ms[v_lo:v_hi], p_cooldown_ms[v_lo:v_hi], p_stop_converted[v_lo:v_hi]) r;
      failure := NULL;
      IF chosen IS NOT NULL THEN
        v_days := v_days || p_day[v_k];
        v_campaigns := v_campaigns || p_campaigns[v_lo + chosen];
        v_variants := v_variants || p_variants[v_lo + chosen];
      END IF;
    EXCEPTION WHEN OTHERS THEN
      chosen := NULL;
      skipped := NULL;
      failure := SQLSTATE || ': ' || SQLERRM;
    END;
    RETURN NEXT;
  END LOOP;
  INSERT INTO {p}popup_stat AS s (day, campaign, variant, kind, shard, count)
    SELECT u.d, u.c, u.v, 'reserved', pg_backend_pid() % 16, count(*)
      FROM unnest(v_days, v_campaigns, v_variants) AS u(d, c, v)
      GROUP BY u.d, u.c, u.v ORDER BY u.d, u.c, u.v
    ON CONFLICT (day, campaign, variant, kind, shard) DO UPDATE SET count = s.count + EXCLUDED.count;
END
$fn$;
";

/// Migration 5: the reservation function with fewer statements, the same decisions.
///
/// - **A first visit** (no row for the visitor yet) has no state to read: every cap
///   counts from zero, so only a cap whose limit is 0 (and a daily cap of 0) blocks a
///   candidate. The function decides that before it writes, then inserts the visitor's
///   row with its final day and count, and the campaign and session rows with plain
///   inserts: six statements instead of eight (no read of campaign state that cannot
///   exist, no second version of the visitor's row left for vacuum). The store writes
///   a visitor's campaign and session rows only with the visitor's row, and never
///   deletes that row, so such rows cannot exist yet; the insert of the visitor's row
///   checks that in the same statement (two index probes), and if rows were left by a
///   hand that deleted a visitor's row, the function takes the path that reads them.
/// - **A returning visitor** updates its campaign row when the read found one, instead
///   of an insert that conflicts and then updates.
///
/// Concurrent first visits of one visitor stay serialised: the second one's insert of
/// the visitor's row waits for the first to commit, finds the row, and takes the
/// returning visitor's path, whose reads see what the first one wrote.
const RESERVE_FUNCTION_V5: &str = "
CREATE OR REPLACE FUNCTION {p}popup_reserve(
  p_visitor TEXT, p_session TEXT, p_now BIGINT, p_day TEXT, p_max_per_day BIGINT,
  p_session_exp BIGINT, p_token TEXT, p_token_exp BIGINT, p_campaigns TEXT[], p_variants TEXT[],
  p_lifetime BIGINT[], p_window_from BIGINT[], p_window_max BIGINT[], p_per_session BIGINT[],
  p_min_interval_ms BIGINT[], p_cooldown_ms BIGINT[], p_stop_converted BOOLEAN[],
  OUT chosen INTEGER, OUT skipped TEXT[])
LANGUAGE plpgsql AS $fn$
DECLARE
  v_n INTEGER := coalesce(array_length(p_campaigns, 1), 0);
  v_day TEXT;
  v_day_count BIGINT;
  v_daily BOOLEAN;
  v_found BOOLEAN;
  v_lifetime BIGINT;
  v_last BIGINT;
  v_dismissed BIGINT;
  v_converted BOOLEAN;
  v_win TEXT;
  v_times BIGINT[];
  v_in_session BIGINT;
  v_cap TEXT;
  v_purge_after BIGINT := CASE WHEN p_session_exp > 9223372036851175807 THEN 9223372036854775807
                               ELSE (p_session_exp / 3600000 + 1) * 3600000 END;
BEGIN
  skipped := ARRAY[]::TEXT[];
  chosen := NULL;
  -- Locks the visitor's row: concurrent reservations of one visitor wait here.
  SELECT v.day, v.day_count INTO v_day, v_day_count
    FROM {p}popup_visitor v WHERE v.visitor = p_visitor FOR UPDATE;
  IF NOT FOUND THEN
    -- A first visit: the caps in the order of the other path, each counting from zero.
    FOR i IN 1 .. v_n LOOP
      v_cap := CASE
        WHEN p_lifetime[i] IS NOT NULL AND p_lifetime[i] <= 0 THEN 'lifetime'
        WHEN p_window_from[i] IS NOT NULL AND p_window_max[i] <= 0 THEN 'window'
        WHEN p_per_session[i] IS NOT NULL AND p_per_session[i] <= 0 THEN 'session'
        WHEN p_max_per_day IS NOT NULL AND p_max_per_day <= 0 THEN 'daily'
      END;
      IF v_cap IS NULL THEN
        chosen := i;
        EXIT;
      END IF;
      skipped := skipped || v_cap;
    END LOOP;
    -- The row is written with its final state, and stays locked until the commit;
    -- unless state of the visitor exists without its row (written by hand), then the
    -- path below reads it.
    INSERT INTO {p}popup_visitor (visitor, day, day_count)
      SELECT p_visitor, CASE WHEN chosen IS NULL THEN '' ELSE p_day END, CASE WHEN chosen IS NULL THEN 0 ELSE 1 END
      WHERE NOT EXISTS (SELECT 1 FROM {p}popup_campaign c WHERE c.visitor = p_visitor)
        AND NOT EXISTS (SELECT 1 FROM {p}popup_session s WHERE s.visitor = p_visitor)
      ON CONFLICT (visitor) DO NOTHING;
    IF FOUND THEN
      IF chosen IS NOT NULL THEN
        INSERT INTO {p}popup_campaign (visitor, campaign, lifetime, last_ms, win)
          VALUES (p_visitor, p_campaigns[chosen], 1, p_now,
                  CASE WHEN p_window_from[chosen] IS NULL THEN '' ELSE p_now::TEXT END);
        INSERT INTO {p}popup_session (visitor, campaign, session, count, expires_ms, purge_after)
          VALUES (p_visitor, p_campaigns[chosen], p_session, 1, p_session_exp, v_purge_after);
        INSERT INTO {p}popup_token (token, visitor, campaign, variant, reserved_ms, expires_ms)
          VALUES (p_token, p_visitor, p_campaigns[chosen], p_variants[chosen], p_now, p_token_exp);
        INSERT INTO {p}popup_stat AS s (day, campaign, variant, kind, shard, count)
          VALUES (p_day, p_campaigns[chosen], p_variants[chosen], 'reserved', pg_backend_pid() % 16, 1)
          ON CONFLICT (day, campaign, variant, kind, shard) DO UPDATE SET count = s.count + 1;
        chosen := chosen - 1;
      END IF;
      RETURN;
    END IF;
    -- Another reservation inserted the row first and has committed (lock it), or the
    -- visitor has state without a row (insert one as migration 4 did).
    skipped := ARRAY[]::TEXT[];
    chosen := NULL;
    INSERT INTO {p}popup_visitor (visitor) VALUES (p_visitor) ON CONFLICT (visitor) DO NOTHING
      RETURNING day, day_count INTO v_day, v_day_count;
    IF NOT FOUND THEN
      SELECT v.day, v.day_count INTO STRICT v_day, v_day_count
        FROM {p}popup_visitor v WHERE v.visitor = p_visitor FOR UPDATE;
    END IF;
  END IF;
  IF v_day IS DISTINCT FROM p_day THEN
    v_day_count := 0;
  END IF;
  v_daily := p_max_per_day IS NOT NULL AND v_day_count >= p_max_per_day;
  FOR i IN 1 .. v_n LOOP
    v_lifetime := NULL; v_last := NULL; v_dismissed := NULL; v_converted := NULL; v_win := NULL;
    SELECT c.lifetime, c.last_ms, c.dismissed_ms, c.converted, c.win
      INTO v_lifetime, v_last, v_dismissed, v_converted, v_win
      FROM {p}popup_campaign c WHERE c.visitor = p_visitor AND c.campaign = p_campaigns[i];
    v_found := FOUND;
    v_lifetime := coalesce(v_lifetime, 0);
    v_converted := coalesce(v_converted, FALSE);
    v_win := coalesce(v_win, '');
    v_times := NULL;
    IF p_window_from[i] IS NOT NULL THEN
      -- The showing times still in the window, in stored order.
      SELECT coalesce(array_agg(w.n::BIGINT ORDER BY w.o), ARRAY[]::BIGINT[]) INTO v_times
        FROM (SELECT u.o, CASE WHEN u.t ~ '^[+-]?[0-9]{1,19}$' THEN u.t::NUMERIC END AS n
              FROM unnest(string_to_array(v_win, ',')) WITH ORDINALITY AS u(t, o)) w
        WHERE w.n BETWEEN -9223372036854775808 AND 9223372036854775807 AND w.n > p_window_from[i];
    END IF;
    v_cap := NULL;
    IF p_stop_converted[i] AND v_converted THEN
      v_cap := 'converted';
    ELSIF p_cooldown_ms[i] IS NOT NULL AND v_dismissed IS NOT NULL
        AND p_now::NUMERIC < v_dismissed::NUMERIC + p_cooldown_ms[i] THEN
      v_cap := 'dismiss_cooldown';
    ELSIF p_lifetime[i] IS NOT NULL AND v_lifetime >= p_lifetime[i] THEN
      v_cap := 'lifetime';
    ELSIF p_min_interval_ms[i] IS NOT NULL AND v_last IS NOT NULL
        AND p_now::NUMERIC < v_last::NUMERIC + p_min_interval_ms[i] THEN
      v_cap := 'min_interval';
    ELSIF v_times IS NOT NULL AND coalesce(array_length(v_times, 1), 0) >= p_window_max[i] THEN
      v_cap := 'window';
    ELSIF p_per_session[i] IS NOT NULL THEN
      SELECT s.count INTO v_in_session FROM {p}popup_session s
        WHERE s.visitor = p_visitor AND s.campaign = p_campaigns[i] AND s.session = p_session
          AND s.expires_ms > p_now;
      IF coalesce(v_in_session, 0) >= p_per_session[i] THEN
        v_cap := 'session';
      END IF;
    END IF;
    IF v_cap IS NULL AND v_daily THEN
      v_cap := 'daily';
    END IF;
    IF v_cap IS NULL THEN
      IF v_times IS NOT NULL THEN
        v_win := array_to_string(v_times || p_now, ',');
      END IF;
      IF v_found THEN
        UPDATE {p}popup_campaign SET lifetime = lifetime + 1, last_ms = p_now, win = v_win
          WHERE visitor = p_visitor AND campaign = p_campaigns[i];
      ELSE
        INSERT INTO {p}popup_campaign (visitor, campaign, lifetime, last_ms, win)
          VALUES (p_visitor, p_campaigns[i], 1, p_now, v_win);
      END IF;
      INSERT INTO {p}popup_session AS s (visitor, campaign, session, count, expires_ms, purge_after)
        VALUES (p_visitor, p_campaigns[i], p_session, 1, p_session_exp, v_purge_after)
        ON CONFLICT (visitor, campaign, session) DO UPDATE SET
          count = CASE WHEN s.expires_ms > p_now THEN s.count + 1 ELSE 1 END,
          expires_ms = EXCLUDED.expires_ms,
          purge_after = CASE WHEN s.purge_after >= EXCLUDED.expires_ms THEN s.purge_after
                             ELSE EXCLUDED.purge_after END;
      UPDATE {p}popup_visitor SET day = p_day, day_count = v_day_count + 1 WHERE visitor = p_visitor;
      INSERT INTO {p}popup_token (token, visitor, campaign, variant, reserved_ms, expires_ms)
        VALUES (p_token, p_visitor, p_campaigns[i], p_variants[i], p_now, p_token_exp);
      -- Last: a counter row is shared by the reservations of this server process's
      -- shard, so it is locked the shortest time (until the commit right after the call).
      INSERT INTO {p}popup_stat AS s (day, campaign, variant, kind, shard, count)
        VALUES (p_day, p_campaigns[i], p_variants[i], 'reserved', pg_backend_pid() % 16, 1)
        ON CONFLICT (day, campaign, variant, kind, shard) DO UPDATE SET count = s.count + 1;
      chosen := i - 1;
      RETURN;
    END IF;
    skipped := skipped || v_cap;
  END LOOP;
END
$fn$;
";

/// Migration 4: the session table gets `purge_after` (a coarse expiry, indexed in place
/// of the exact one, so that extending a session is a HOT update), and the reservation
/// function locks the visitor's row without writing a version of it that changes
/// nothing.
///
/// Before, every showing wrote two versions of the visitor's row (the locking upsert,
/// `SET visitor = EXCLUDED.visitor`, then the day's count) and a session row whose
/// indexed expiry had changed, so none of the session updates stayed on its page (0 %
/// HOT in `pg_stat_user_tables`) and each added two index entries. Existing sessions
/// get `purge_after = expires_ms`, which keeps the rule `purge_after >= expires_ms`
/// that the purge relies on.
static SESSION_PURGE_AND_LOCK: LazyLock<String> =
    LazyLock::new(|| format!("{SESSION_PURGE_TABLES}{}", &*RESERVE_FUNCTION_V4));

/// The table changes of [`SESSION_PURGE_AND_LOCK`].
const SESSION_PURGE_TABLES: &str = "
ALTER TABLE {p}popup_session ADD COLUMN purge_after BIGINT NOT NULL DEFAULT 0;
UPDATE {p}popup_session SET purge_after = expires_ms;
ALTER TABLE {p}popup_session ALTER COLUMN purge_after DROP DEFAULT;
DROP INDEX {p}popup_session_expiry;
CREATE INDEX {p}popup_session_purge ON {p}popup_session (purge_after);
ALTER TABLE {p}popup_session SET (fillfactor = 80);
";

/// The reservation function of migration 4: migration 3's with the visitor's row locked
/// by `SELECT … FOR UPDATE` (a new visitor's row inserted first) and the session's
/// `purge_after` written.
static RESERVE_FUNCTION_V4: LazyLock<String> = LazyLock::new(|| {
    RESERVE_FUNCTION
        .replacen(STAT_WRITE_V2, STAT_WRITE_V3, 1)
        .replacen(LOCK_V2, LOCK_V4, 1)
        .replacen(SESSION_WRITE_V2, SESSION_WRITE_V4, 1)
});

/// The visitor's lock in [`RESERVE_FUNCTION`] and in [`RESERVE_FUNCTION_V4`].
const LOCK_V2: &str = "  INSERT INTO {p}popup_visitor AS v (visitor) VALUES (p_visitor)
    ON CONFLICT (visitor) DO UPDATE SET visitor = EXCLUDED.visitor
    RETURNING v.day, v.day_count INTO v_day, v_day_count;";
const LOCK_V4: &str = "  -- The lock writes nothing. A new visitor's row is inserted (and stays locked by
  -- this transaction until its commit); if another transaction inserted it first, that
  -- one is waited for and the row then locked.
  SELECT v.day, v.day_count INTO v_day, v_day_count
    FROM {p}popup_visitor v WHERE v.visitor = p_visitor FOR UPDATE;
  IF NOT FOUND THEN
    INSERT INTO {p}popup_visitor (visitor) VALUES (p_visitor) ON CONFLICT (visitor) DO NOTHING
      RETURNING day, day_count INTO v_day, v_day_count;
    IF NOT FOUND THEN
      SELECT v.day, v.day_count INTO STRICT v_day, v_day_count
        FROM {p}popup_visitor v WHERE v.visitor = p_visitor FOR UPDATE;
    END IF;
  END IF;";

/// The session write of [`RESERVE_FUNCTION`] and of [`RESERVE_FUNCTION_V4`]: the latter
/// keeps `purge_after` unless the session now outlives it, then moves it to the end of
/// the hour of the new expiry (saturated).
const SESSION_WRITE_V2: &str = "      INSERT INTO {p}popup_session AS s (visitor, campaign, session, count, expires_ms)
        VALUES (p_visitor, p_campaigns[i], p_session, 1, p_session_exp)
        ON CONFLICT (visitor, campaign, session) DO UPDATE SET
          count = CASE WHEN s.expires_ms > p_now THEN s.count + 1 ELSE 1 END,
          expires_ms = EXCLUDED.expires_ms;";
const SESSION_WRITE_V4: &str =
    "      INSERT INTO {p}popup_session AS s (visitor, campaign, session, count, expires_ms, purge_after)
        VALUES (p_visitor, p_campaigns[i], p_session, 1, p_session_exp,
          CASE WHEN p_session_exp > 9223372036851175807 THEN 9223372036854775807
               ELSE (p_session_exp / 3600000 + 1) * 3600000 END)
        ON CONFLICT (visitor, campaign, session) DO UPDATE SET
          count = CASE WHEN s.expires_ms > p_now THEN s.count + 1 ELSE 1 END,
          expires_ms = EXCLUDED.expires_ms,
          purge_after = CASE WHEN s.purge_after >= EXCLUDED.expires_ms THEN s.purge_after
                             ELSE EXCLUDED.purge_after END;";

/// Migration 3: the report counters are spread over 16 rows per (day,
/// campaign, variant, kind), one chosen by the server process that writes
/// (`pg_backend_pid() % 16`), and summed when read. With one row, every reservation of a
/// variant locked the same row until its commit, so reservations queued behind one
/// another (and behind any that the operating system paused while it held the lock):
/// sampled wait events showed most of the waiting time as `Lock:transactionid` on it.
/// The tables whose rows are updated in place get room on their pages for the new
/// versions (`fillfactor`), so those updates stay on the page (HOT) when they can. Then
/// the reservation function is replaced by [`RESERVE_FUNCTION`] with the sharded counter
/// write (the same signature, so `CREATE OR REPLACE` swaps it in place, in the same
/// transaction as the tables).
static SHARDED_STATS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "{SHARDED_TABLES}{}",
        RESERVE_FUNCTION.replacen(STAT_WRITE_V2, STAT_WRITE_V3, 1)
    )
});

/// The table changes of [`SHARDED_STATS`].
const SHARDED_TABLES: &str = "
ALTER TABLE {p}popup_stat ADD COLUMN shard INTEGER NOT NULL DEFAULT 0;
ALTER TABLE {p}popup_stat DROP CONSTRAINT {p}popup_stat_pkey;
ALTER TABLE {p}popup_stat ADD PRIMARY KEY (day, campaign, variant, kind, shard);
ALTER TABLE {p}popup_stat SET (fillfactor = 50);
ALTER TABLE {p}popup_visitor SET (fillfactor = 90);
ALTER TABLE {p}popup_campaign SET (fillfactor = 90);
";

/// The counter write of [`RESERVE_FUNCTION`] (migration 2), and the one of migration 3.
const STAT_WRITE_V2: &str = "      -- Last: the day's counter row is shared by every visitor, so it is locked the
      -- shortest time (until the commit right after the call).
      INSERT INTO {p}popup_stat AS s (day, campaign, variant, kind, count)
        VALUES (p_day, p_campaigns[i], p_variants[i], 'reserved', 1)
        ON CONFLICT (day, campaign, variant, kind) DO UPDATE SET count = s.count + 1;";
const STAT_WRITE_V3: &str = "      -- Last: a counter row is shared by the reservations of this server process's
      -- shard, so it is locked the shortest time (until the commit right after the call).
      INSERT INTO {p}popup_stat AS s (day, campaign, variant, kind, shard, count)
        VALUES (p_day, p_campaigns[i], p_variants[i], 'reserved', pg_backend_pid() % 16, 1)
        ON CONFLICT (day, campaign, variant, kind, shard) DO UPDATE SET count = s.count + 1;";

/// Migration 2: a reservation as one server-side function, so that it is one round trip.
///
/// It keeps the cap check of [`check_caps`](crate::store) (the same caps in the same
/// order, then the daily cap) and the writes of the other SQL stores. It is `VOLATILE`
/// (the default), so in `READ COMMITTED` each statement in it takes a fresh snapshot:
/// the reads after the visitor's row lock see what a reservation that held the lock
/// before committed. Durations arrive in milliseconds (saturated by the caller), and
/// sums are taken in `numeric`, so nothing overflows; a window entry that is not a
/// 64-bit integer is skipped, as the other stores skip it.
const RESERVE_FUNCTION: &str = "
CREATE OR REPLACE FUNCTION {p}popup_reserve(
  p_visitor TEXT, p_session TEXT, p_now BIGINT, p_day TEXT, p_max_per_day BIGINT,
  p_session_exp BIGINT, p_token TEXT, p_token_exp BIGINT, p_campaigns TEXT[], p_variants TEXT[],
  p_lifetime BIGINT[], p_window_from BIGINT[], p_window_max BIGINT[], p_per_session BIGINT[],
  p_min_interval_ms BIGINT[], p_cooldown_ms BIGINT[], p_stop_converted BOOLEAN[],
  OUT chosen INTEGER, OUT skipped TEXT[])
LANGUAGE plpgsql AS $fn$
DECLARE
  v_day TEXT;
  v_day_count BIGINT;
  v_daily BOOLEAN;
  v_lifetime BIGINT;
  v_last BIGINT;
  v_dismissed BIGINT;
  v_converted BOOLEAN;
  v_win TEXT;
  v_times BIGINT[];
  v_in_session BIGINT;
  v_cap TEXT;
BEGIN
  skipped := ARRAY[]::TEXT[];
  -- Locks the visitor's row: concurrent reservations of one visitor wait here.
  INSERT INTO {p}popup_visitor AS v (visitor) VALUES (p_visitor)
    ON CONFLICT (visitor) DO UPDATE SET visitor = EXCLUDED.visitor
    RETURNING v.day, v.day_count INTO v_day, v_day_count;
  IF v_day IS DISTINCT FROM p_day THEN
    v_day_count := 0;
  END IF;
  v_daily := p_max_per_day IS NOT NULL AND v_day_count >= p_max_per_day;
  FOR i IN 1 .. coalesce(array_length(p_campaigns, 1), 0) LOOP
    v_lifetime := NULL; v_last := NULL; v_dismissed := NULL; v_converted := NULL; v_win := NULL;
    SELECT c.lifetime, c.last_ms, c.dismissed_ms, c.converted, c.win
      INTO v_lifetime, v_last, v_dismissed, v_converted, v_win
      FROM {p}popup_campaign c WHERE c.visitor = p_visitor AND c.campaign = p_campaigns[i];
    v_lifetime := coalesce(v_lifetime, 0);
    v_converted := coalesce(v_converted, FALSE);
    v_win := coalesce(v_win, '');
    v_times := NULL;
    IF p_window_from[i] IS NOT NULL THEN
      -- The showing times still in the window, in stored order.
      SELECT coalesce(array_agg(w.n::BIGINT ORDER BY w.o), ARRAY[]::BIGINT[]) INTO v_times
        FROM (SELECT u.o, CASE WHEN u.t ~ '^[+-]?[0-9]{1,19}$' THEN u.t::NUMERIC END AS n
              FROM unnest(string_to_array(v_win, ',')) WITH ORDINALITY AS u(t, o)) w
        WHERE w.n BETWEEN -9223372036854775808 AND 9223372036854775807 AND w.n > p_window_from[i];
    END IF;
    v_cap := NULL;
    IF p_stop_converted[i] AND v_converted THEN
      v_cap := 'converted';
    ELSIF p_cooldown_ms[i] IS NOT NULL AND v_dismissed IS NOT NULL
        AND p_now::NUMERIC < v_dismissed::NUMERIC + p_cooldown_ms[i] THEN
      v_cap := 'dismiss_cooldown';
    ELSIF p_lifetime[i] IS NOT NULL AND v_lifetime >= p_lifetime[i] THEN
      v_cap := 'lifetime';
    ELSIF p_min_interval_ms[i] IS NOT NULL AND v_last IS NOT NULL
        AND p_now::NUMERIC < v_last::NUMERIC + p_min_interval_ms[i] THEN
      v_cap := 'min_interval';
    ELSIF v_times IS NOT NULL AND coalesce(array_length(v_times, 1), 0) >= p_window_max[i] THEN
      v_cap := 'window';
    ELSIF p_per_session[i] IS NOT NULL THEN
      SELECT s.count INTO v_in_session FROM {p}popup_session s
        WHERE s.visitor = p_visitor AND s.campaign = p_campaigns[i] AND s.session = p_session
          AND s.expires_ms > p_now;
      IF coalesce(v_in_session, 0) >= p_per_session[i] THEN
        v_cap := 'session';
      END IF;
    END IF;
    IF v_cap IS NULL AND v_daily THEN
      v_cap := 'daily';
    END IF;
    IF v_cap IS NULL THEN
      IF v_times IS NOT NULL THEN
        v_win := array_to_string(v_times || p_now, ',');
      END IF;
      INSERT INTO {p}popup_campaign AS c (visitor, campaign, lifetime, last_ms, win)
        VALUES (p_visitor, p_campaigns[i], 1, p_now, v_win)
        ON CONFLICT (visitor, campaign) DO UPDATE SET
          lifetime = c.lifetime + 1, last_ms = EXCLUDED.last_ms, win = EXCLUDED.win;
      INSERT INTO {p}popup_session AS s (visitor, campaign, session, count, expires_ms)
        VALUES (p_visitor, p_campaigns[i], p_session, 1, p_session_exp)
        ON CONFLICT (visitor, campaign, session) DO UPDATE SET
          count = CASE WHEN s.expires_ms > p_now THEN s.count + 1 ELSE 1 END,
          expires_ms = EXCLUDED.expires_ms;
      UPDATE {p}popup_visitor SET day = p_day, day_count = v_day_count + 1 WHERE visitor = p_visitor;
      INSERT INTO {p}popup_token (token, visitor, campaign, variant, reserved_ms, expires_ms)
        VALUES (p_token, p_visitor, p_campaigns[i], p_variants[i], p_now, p_token_exp);
      -- Last: the day's counter row is shared by every visitor, so it is locked the
      -- shortest time (until the commit right after the call).
      INSERT INTO {p}popup_stat AS s (day, campaign, variant, kind, count)
        VALUES (p_day, p_campaigns[i], p_variants[i], 'reserved', 1)
        ON CONFLICT (day, campaign, variant, kind) DO UPDATE SET count = s.count + 1;
      chosen := i - 1;
      RETURN;
    END IF;
    skipped := skipped || v_cap;
  END LOOP;
  chosen := NULL;
END
$fn$;
";

struct Sql {
    reserve: String,
    /// The reservation with `synchronous_commit = off` for its own transaction only.
    reserve_async: String,
    /// Several reservations in one call (one transaction).
    reserve_many: String,
    reserve_many_async: String,
    record: String,
    token: String,
    bind: String,
    resolve: String,
    friend_event: String,
    new_friend: String,
    stats: String,
    new_friends: String,
    purge: [String; 3],
    purge_events: String,
}

impl Sql {
    fn new(prefix: &str) -> Self {
        let e = |s: &str| s.replace("{p}", prefix);
        Self {
            reserve: e(
                "SELECT chosen, skipped FROM {p}popup_reserve($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
                         $11, $12, $13, $14, $15, $16, $17)",
            ),
            reserve_async: e("SELECT chosen, skipped, set_config('synchronous_commit', 'off', true) \
                 FROM {p}popup_reserve($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
                         $11, $12, $13, $14, $15, $16, $17)"),
            reserve_many: e(
                "SELECT request, chosen, skipped, failure FROM {p}popup_reserve_many($1, $2, $3, $4, \
                 $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)",
            ),
            reserve_many_async: e(
                "SELECT request, chosen, skipped, failure, set_config('synchronous_commit', 'off', true) \
                 FROM {p}popup_reserve_many($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, \
                 $15, $16, $17, $18, $19)",
            ),
            record: e("WITH t AS (UPDATE {p}popup_token SET events = events | $2 \
                         WHERE token = $1 AND expires_ms > $3 AND (events & $2) = 0 \
                         RETURNING visitor, campaign, variant, reserved_ms), \
                       c AS (INSERT INTO {p}popup_campaign AS c (visitor, campaign, dismissed_ms, converted) \
                         SELECT visitor, campaign, CASE WHEN $4 THEN $3 END, $5 FROM t WHERE $4 OR $5 \
                         ON CONFLICT (visitor, campaign) DO UPDATE SET \
                         dismissed_ms = COALESCE(EXCLUDED.dismissed_ms, c.dismissed_ms), \
                         converted = c.converted OR EXCLUDED.converted), \
                       s AS (INSERT INTO {p}popup_stat AS s (day, campaign, variant, kind, shard, count) \
                         SELECT $6, campaign, variant, $7, pg_backend_pid() % 16, 1 FROM t \
                         ON CONFLICT (day, campaign, variant, kind, shard) DO UPDATE SET count = s.count + 1) \
                       SELECT visitor, campaign, variant, reserved_ms FROM t"),
            token: e("SELECT visitor, campaign, variant, reserved_ms FROM {p}popup_token \
                      WHERE token = $1 AND expires_ms > $2"),
            bind: e(
                "INSERT INTO {p}popup_binding AS b (key, token, expires_ms) SELECT $1, $2, $3 \
                     WHERE EXISTS (SELECT 1 FROM {p}popup_token WHERE token = $2 AND expires_ms > $4) \
                     ON CONFLICT (key) DO UPDATE SET token = EXCLUDED.token, expires_ms = EXCLUDED.expires_ms",
            ),
            resolve: e("SELECT token FROM {p}popup_binding WHERE key = $1 AND expires_ms > $2"),
            friend_event: e(
                "WITH e AS (INSERT INTO {p}popup_friend_event (event_id, day) VALUES ($1, $2) \
                               ON CONFLICT DO NOTHING RETURNING day), \
                             n AS (INSERT INTO {p}popup_new_friend AS n (day, count) SELECT day, 1 FROM e \
                               ON CONFLICT (day) DO UPDATE SET count = n.count + 1 RETURNING 1) \
                             SELECT count(*) FROM n",
            ),
            new_friend: e("INSERT INTO {p}popup_new_friend AS n (day, count) VALUES ($1, 1) \
                           ON CONFLICT (day) DO UPDATE SET count = n.count + 1"),
            stats: e(
                "SELECT day, campaign, variant, kind, sum(count)::BIGINT FROM {p}popup_stat \
                      WHERE day = ANY($1) GROUP BY day, campaign, variant, kind",
            ),
            new_friends: e("SELECT day, count FROM {p}popup_new_friend WHERE day = ANY($1)"),
            // A session is found through `purge_after` (never before its expiry), the
            // others through their exact expiry.
            purge: [
                ("popup_session", "purge_after"),
                ("popup_token", "expires_ms"),
                ("popup_binding", "expires_ms"),
            ]
            .map(|(t, key)| {
                e(&format!(
                    "DELETE FROM {{p}}{t} WHERE ctid = ANY(ARRAY(SELECT ctid FROM {{p}}{t} \
                     WHERE {key} <= $1 AND expires_ms <= $1 ORDER BY {key} LIMIT $2 FOR UPDATE SKIP LOCKED))"
                ))
            }),
            purge_events: e(
                "DELETE FROM {p}popup_friend_event WHERE ctid = ANY(ARRAY(SELECT ctid FROM {p}popup_friend_event \
                             WHERE day < $1 ORDER BY day LIMIT $2 FOR UPDATE SKIP LOCKED))",
            ),
        }
    }
}

/// How many connections the reservations of a [`PgStore`] share unless told otherwise
/// (see [`PgStore::with_reserve_connections`]).
pub const DEFAULT_RESERVE_CONNECTIONS: usize = 2;

/// A [`PopupStore`] in PostgreSQL. Cheap to clone.
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
    sql: Arc<Sql>,
    calls: Arc<AtomicU64>,
    async_commit: bool,
    /// The connections reservations share; `None`: each takes one from the pool.
    lanes: Option<Arc<Lanes>>,
    purge_wake: Arc<PurgeWake>,
    purge_task: Arc<PurgeTask>,
}

/// How the store wakes its background purge (see the [module docs](self#expired-rows)).
struct PurgeWake {
    /// The time (milliseconds) of the reservation that woke the task last.
    now_ms: AtomicI64,
    /// The oldest day of counted friend events to keep, set by the `count_new_friend`
    /// call that woke the task (taken by the task).
    events_before: Mutex<Option<String>>,
    wake: Notify,
}

/// The background purge task, aborted when the last clone of the store drops this.
/// (`None` if the store was built outside a Tokio runtime: then only
/// [`PgStore::purge_expired`] purges.)
struct PurgeTask(Option<JoinHandle<()>>);

impl Drop for PurgeTask {
    fn drop(&mut self) {
        if let Some(task) = &self.0 {
            task.abort();
        }
    }
}

/// How many queued reservations one call of `popup_reserve_many` takes at most. Each runs
/// in a subtransaction, and a transaction with more than 64 subtransactions that wrote
/// slows every other session's snapshots down (the server's per-process cache of them
/// overflows), so a batch stays well under that.
const MAX_BATCH: usize = 32;

/// The outcome of one reservation as the functions return it: the chosen index (from
/// 0) and the caps that blocked the candidates before it.
type Answer = (Option<i32>, Vec<String>);

/// The connections that reservations share (see the [module docs](self#shared-connections)).
struct Lanes {
    shared: Arc<LaneShared>,
    /// Where the search for the least busy lane starts (turns, so that ties alternate).
    next: AtomicUsize,
    lanes: Box<[Lane]>,
}

/// What a lane's task needs to open its connection.
struct LaneShared {
    pool: PgPool,
    sql: Arc<Sql>,
    /// Reservations sent in `popup_reserve_many` calls (for the tests).
    #[cfg(test)]
    batched: AtomicUsize,
}

/// One shared connection, owned by a task of its own that sends the reservations queued
/// for it (started on first use, ended when the store's last clone is dropped).
#[derive(Default)]
struct Lane {
    /// The queue of the lane's task; a new task is started when there is none yet or
    /// the last one ended (its runtime shut down).
    queue: Mutex<Option<mpsc::UnboundedSender<Msg>>>,
    /// Reservations queued or sent on this lane and not answered yet.
    in_flight: AtomicUsize,
}

/// What a lane's task is asked to do.
enum Msg {
    /// Send a reservation.
    Reserve(Job),
    /// Open the lane's connection now if it has none (see [`PgStore::open_connections`]),
    /// and say whether it is open.
    Open(oneshot::Sender<Result<(), BoxError>>),
}

/// A reservation waiting for its lane.
struct Job {
    r: OwnedReserve,
    async_commit: bool,
    reply: oneshot::Sender<Result<Answer, BoxError>>,
}

/// A shared connection and its prepared statements.
struct LaneConn {
    client: PgClient,
    reserve: Statement,
    reserve_async: Statement,
    many: Statement,
    many_async: Statement,
}

/// Counts a reservation on its lane until it is answered or cancelled.
struct InFlight<'a>(&'a Lane);

impl<'a> InFlight<'a> {
    fn enter(lane: &'a Lane) -> Self {
        lane.in_flight.fetch_add(1, Ordering::Relaxed);
        Self(lane)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Lanes {
    fn new(pool: &PgPool, sql: &Arc<Sql>, n: usize) -> Self {
        Self {
            shared: Arc::new(LaneShared {
                pool: pool.clone(),
                sql: sql.clone(),
                #[cfg(test)]
                batched: AtomicUsize::new(0),
            }),
            next: AtomicUsize::new(0),
            lanes: (0..n).map(|_| Lane::default()).collect(),
        }
    }

    /// The lane with the fewest reservations in flight: a lane whose server process
    /// stalls collects few calls while the others take the rest.
    fn pick(&self) -> &Lane {
        let n = self.lanes.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed) % n;
        let mut best = &self.lanes[start];
        for k in 1..n {
            let lane = &self.lanes[(start + k) % n];
            if lane.in_flight.load(Ordering::Relaxed) < best.in_flight.load(Ordering::Relaxed) {
                best = lane;
            }
        }
        best
    }

    /// Queues `msg` for `lane`'s task, starting the task if it has none (or it ended).
    fn post(&self, lane: &Lane, msg: Msg) -> Result<(), BoxError> {
        let mut queue = lane.queue.lock().unwrap_or_else(PoisonError::into_inner);
        let unsent = match queue.as_ref() {
            Some(q) => q.send(msg).err().map(|e| e.0),
            None => Some(msg),
        };
        if let Some(msg) = unsent {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(run_lane(self.shared.clone(), rx));
            tx.send(msg)
                .map_err(|_| "the task of a shared reservation connection has ended")?;
            *queue = Some(tx);
        }
        Ok(())
    }

    /// One reservation, queued on the least busy lane; its answer.
    async fn reserve(&self, r: OwnedReserve, async_commit: bool) -> Result<Answer, BoxError> {
        let lane = self.pick();
        let _counted = InFlight::enter(lane);
        let (reply, answer) = oneshot::channel();
        self.post(lane, Msg::Reserve(Job { r, async_commit, reply }))?;
        answer
            .await
            .map_err(|_| "the task of a shared reservation connection ended before answering")?
    }

    /// Has every lane open its connection (those that have one keep it); the first
    /// failure, once all have answered.
    async fn open_all(&self) -> Result<(), BoxError> {
        let mut answers = Vec::with_capacity(self.lanes.len());
        for lane in &self.lanes {
            let (reply, answer) = oneshot::channel();
            self.post(lane, Msg::Open(reply))?;
            answers.push(answer);
        }
        let mut first = Ok(());
        for answer in answers {
            let opened = answer
                .await
                .map_err(|_| "the task of a shared reservation connection ended before answering")
                .map_err(BoxError::from)
                .and_then(|r| r);
            if first.is_ok() {
                first = opened;
            }
        }
        first
    }
}

/// A lane's task: sends what queued while the previous call ran as one call (alone, a
/// `popup_reserve` call; several, one `popup_reserve_many` call), then waits for its
/// answer; a request to open the connection is answered before that call. Ends when
/// the store's last clone (holding the queue's sender) is dropped.
async fn run_lane(shared: Arc<LaneShared>, mut queue: mpsc::UnboundedReceiver<Msg>) {
    let mut conn: Option<LaneConn> = None;
    while let Some(first) = queue.recv().await {
        let (mut jobs, mut opens) = (Vec::new(), Vec::new());
        let mut next = Some(first);
        while let Some(msg) = next.take() {
            match msg {
                Msg::Reserve(job) => jobs.push(job),
                Msg::Open(reply) => opens.push(reply),
            }
            if jobs.len() < MAX_BATCH {
                next = queue.try_recv().ok();
            }
        }
        for reply in opens {
            let _ = reply.send(connect(&shared, &mut conn).await.map(|_| ()));
        }
        // A reservation cancelled before it was sent is not made.
        jobs.retain(|j| !j.reply.is_closed());
        // A text with a NUL byte fails the whole call it is in (the server refuses it
        // before the function runs): it goes alone. Asynchronous commit is per call.
        let (alone, jobs): (Vec<Job>, Vec<Job>) = jobs.into_iter().partition(|j| has_nul(&j.r));
        let (relaxed, durable): (Vec<Job>, Vec<Job>) = jobs.into_iter().partition(|j| j.async_commit);
        for job in alone {
            send(&shared, &mut conn, vec![job]).await;
        }
        for batch in [durable, relaxed] {
            if !batch.is_empty() {
                send(&shared, &mut conn, batch).await;
            }
        }
    }
}

fn has_nul(r: &OwnedReserve) -> bool {
    [&r.visitor, &r.session, &r.day, &r.token]
        .into_iter()
        .chain(r.candidates.iter().flat_map(|c| [&c.campaign, &c.variant]))
        .any(|s| s.contains('\0'))
}

/// The lane's connection: the one it has if that is still open, else a new one.
async fn connect<'c>(shared: &LaneShared, conn: &'c mut Option<LaneConn>) -> Result<&'c LaneConn, BoxError> {
    if conn.as_ref().is_none_or(|c| c.client.is_closed()) {
        *conn = None;
        *conn = Some(open(shared).await?);
    }
    conn.as_ref().ok_or_else(|| "no shared reservation connection".into())
}

/// Opens a lane's connection (from the pool, then taken out of it) and prepares its
/// statements.
async fn open(shared: &LaneShared) -> Result<LaneConn, BoxError> {
    let client = shared.pool.get().await?.detach();
    let sql = &shared.sql;
    let (reserve, reserve_async, many, many_async) = tokio::try_join!(
        client.prepare(&sql.reserve),
        client.prepare(&sql.reserve_async),
        client.prepare(&sql.reserve_many),
        client.prepare(&sql.reserve_many_async)
    )?;
    Ok(LaneConn {
        client,
        reserve,
        reserve_async,
        many,
        many_async,
    })
}

/// Sends `jobs` (all with the same commit setting) as one call on the lane's connection,
/// opening one if it has none or it closed, and answers each. A call that fails as a
/// whole fails every reservation in it; a connection that broke is dropped, and the
/// next call opens another.
async fn send(shared: &LaneShared, conn: &mut Option<LaneConn>, jobs: Vec<Job>) {
    let fail_all = |jobs: Vec<Job>, why: String| {
        for j in jobs {
            let _ = j.reply.send(Err(why.clone().into()));
        }
    };
    let c = match connect(shared, conn).await {
        Ok(c) => c,
        Err(e) => return fail_all(jobs, e.to_string()),
    };
    let async_commit = jobs[0].async_commit;
    let answers = if let [job] = jobs.as_slice() {
        let stmt = if async_commit { &c.reserve_async } else { &c.reserve };
        call_one(&c.client, stmt, &job.r).await.map(|a| vec![Ok(a)])
    } else {
        let stmt = if async_commit { &c.many_async } else { &c.many };
        #[cfg(test)]
        shared.batched.fetch_add(jobs.len(), Ordering::Relaxed);
        call_many(&c.client, stmt, &jobs).await
    };
    match answers {
        Ok(answers) => {
            for (j, a) in jobs.into_iter().zip(answers) {
                let _ = j.reply.send(a);
            }
        }
        Err(e) => {
            let fatal = e
                .as_db_error()
                .is_some_and(|db| matches!(db.severity(), "FATAL" | "PANIC"));
            if fatal || e.is_closed() || c.client.is_closed() {
                *conn = None;
            }
            fail_all(jobs, e.to_string());
        }
    }
}

/// The candidates of reservations as the functions' parallel arrays.
#[derive(Default)]
struct Candidates<'a> {
    campaigns: Vec<&'a str>,
    variants: Vec<&'a str>,
    lifetime: Vec<Option<i64>>,
    window_from: Vec<Option<i64>>,
    window_max: Vec<Option<i64>>,
    per_session: Vec<Option<i64>>,
    min_interval: Vec<Option<i64>>,
    cooldown: Vec<Option<i64>>,
    stop: Vec<bool>,
}

impl<'a> Candidates<'a> {
    /// The statement's parameters: `head`, then the candidate arrays (the functions take
    /// them last, in this order).
    fn after<'p>(&'p self, head: &[&'p P<'p>]) -> Vec<&'p P<'p>> {
        let arrays: [&P<'_>; 9] = [
            &self.campaigns,
            &self.variants,
            &self.lifetime,
            &self.window_from,
            &self.window_max,
            &self.per_session,
            &self.min_interval,
            &self.cooldown,
            &self.stop,
        ];
        head.iter().copied().chain(arrays).collect()
    }

    fn push(&mut self, r: &'a OwnedReserve) {
        for cand in &r.candidates {
            let caps = &cand.caps;
            self.campaigns.push(cand.campaign.as_str());
            self.variants.push(cand.variant.as_str());
            self.lifetime.push(caps.lifetime.map(i64::from));
            self.window_from
                .push(caps.window.map(|w| r.now_ms.saturating_sub(secs_to_ms(w.secs))));
            self.window_max.push(caps.window.map(|w| i64::from(w.max)));
            self.per_session.push(caps.per_session.map(i64::from));
            self.min_interval.push(caps.min_interval_secs.map(secs_to_ms));
            self.cooldown.push(caps.dismiss_cooldown_secs.map(secs_to_ms));
            self.stop.push(caps.stop_after_conversion);
        }
    }
}

/// One reservation: one call of `popup_reserve`.
async fn call_one(
    client: &tokio_postgres::Client,
    stmt: &Statement,
    r: &OwnedReserve,
) -> Result<Answer, tokio_postgres::Error> {
    let mut c = Candidates::default();
    c.push(r);
    let max_per_day = r.max_per_day.map(i64::from);
    let head: [&P<'_>; 8] = [
        &r.visitor,
        &r.session,
        &r.now_ms,
        &r.day,
        &max_per_day,
        &r.session_exp_ms,
        &r.token,
        &r.token_exp_ms,
    ];
    let params = c.after(&head);
    let row = client.query_one(stmt, &params).await?;
    Ok((row.try_get(0)?, row.try_get(1)?))
}

/// Several reservations: one call of `popup_reserve_many`; each one's answer, in order.
async fn call_many(
    client: &tokio_postgres::Client,
    stmt: &Statement,
    jobs: &[Job],
) -> Result<Vec<Result<Answer, BoxError>>, tokio_postgres::Error> {
    let n = jobs.len();
    let mut visitor = Vec::with_capacity(n);
    let mut session = Vec::with_capacity(n);
    let mut now = Vec::with_capacity(n);
    let mut day = Vec::with_capacity(n);
    let mut max_per_day = Vec::with_capacity(n);
    let mut session_exp = Vec::with_capacity(n);
    let mut token = Vec::with_capacity(n);
    let mut token_exp = Vec::with_capacity(n);
    let mut first = Vec::with_capacity(n);
    let mut count = Vec::with_capacity(n);
    let mut c = Candidates::default();
    for j in jobs {
        let r = &j.r;
        visitor.push(r.visitor.as_str());
        session.push(r.session.as_str());
        now.push(r.now_ms);
        day.push(r.day.as_str());
        max_per_day.push(r.max_per_day.map(i64::from));
        session_exp.push(r.session_exp_ms);
        token.push(r.token.as_str());
        token_exp.push(r.token_exp_ms);
        // SQL arrays count from 1.
        first.push(i32::try_from(c.campaigns.len() + 1).unwrap_or(i32::MAX));
        count.push(i32::try_from(r.candidates.len()).unwrap_or(i32::MAX));
        c.push(r);
    }
    let head: [&P<'_>; 10] = [
        &visitor,
        &session,
        &now,
        &day,
        &max_per_day,
        &session_exp,
        &token,
        &token_exp,
        &first,
        &count,
    ];
    let params = c.after(&head);
    let rows = client.query(stmt, &params).await?;
    let mut answers: Vec<Option<Result<Answer, BoxError>>> = (0..n).map(|_| None).collect();
    for row in &rows {
        let k: i32 = row.try_get(0)?;
        let answer = match row.try_get::<_, Option<String>>(3)? {
            Some(failure) => Err(format!("popup_reserve_many: {failure}").into()),
            None => Ok((
                row.try_get(1)?,
                row.try_get::<_, Option<Vec<String>>>(2)?.unwrap_or_default(),
            )),
        };
        if let Some(slot) = usize::try_from(k).ok().and_then(|k| answers.get_mut(k)) {
            *slot = Some(answer);
        }
    }
    Ok(answers
        .into_iter()
        .map(|a| a.unwrap_or_else(|| Err("no answer from popup_reserve_many".into())))
        .collect())
}

/// Deletes at most `limit` rows of each expiring table that expired at `now`; planned on
/// each call, as the tables grow and shrink (see `query_planned` of line-core).
async fn purge(pool: &PgPool, sql: &Sql, now: i64, limit: i64) -> Result<u64, BoxError> {
    let conn = pool.get().await?;
    let c = conn.client();
    let params: [TypedParam<'_>; 2] = [(&now, Type::INT8), (&limit, Type::INT8)];
    let mut n = 0;
    for p in &sql.purge {
        n += execute_planned(c, p, &params).await?;
    }
    Ok(n)
}

/// Deletes at most `limit` counted friend events of days before `oldest` (the oldest day
/// kept).
async fn purge_events(pool: &PgPool, sql: &Sql, oldest: &str, limit: i64) -> Result<u64, BoxError> {
    let conn = pool.get().await?;
    let c = conn.client();
    let params: [TypedParam<'_>; 2] = [(&oldest, Type::TEXT), (&limit, Type::INT8)];
    Ok(execute_planned(c, &sql.purge_events, &params).await?)
}

/// The background purge: one batch per wake (wakes during a batch are merged) of the
/// expired rows, and of the old friend events when a `count_new_friend` call asked.
async fn purge_in_background(pool: PgPool, sql: Arc<Sql>, wake: Arc<PurgeWake>) {
    loop {
        wake.wake.notified().await;
        let now = wake.now_ms.load(Ordering::Acquire);
        if let Err(e) = purge(&pool, &sql, now, PURGE_BATCH).await {
            tracing::warn!(error = %e, "PgStore: deleting expired popup rows failed; tried again at the next wake");
        }
        let events_before = wake.events_before.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(oldest) = events_before {
            if let Err(e) = purge_events(&pool, &sql, &oldest, PURGE_BATCH).await {
                tracing::warn!(error = %e, "PgStore: deleting old friend events failed; tried again at the next wake");
            }
        }
    }
}

impl fmt::Debug for PgStore {
    // The pool prints no URL (it holds a password).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgStore")
            .field("pool", &self.pool)
            .field("async_commit", &self.async_commit)
            .field("reserve_connections", &self.lanes.as_ref().map_or(0, |l| l.lanes.len()))
            .finish_non_exhaustive()
    }
}

fn err(op: &'static str) -> impl FnOnce(BoxError) -> Error {
    move |e| Error::store(op, e)
}

fn attribution(row: &tokio_postgres::Row) -> Result<Attribution, BoxError> {
    let visitor: String = row.try_get(0)?;
    let campaign: String = row.try_get(1)?;
    let variant: String = row.try_get(2)?;
    let at = Timestamp::from_millisecond(row.try_get(3)?)?;
    Ok(Attribution::new(&visitor, &campaign, &variant, at))
}

impl PgStore {
    /// The store on `pool`, tables under `line_`. Creates or upgrades its tables.
    pub async fn new(pool: &PgPool) -> Result<Self, Error> {
        Self::with_prefix(pool, line_core::store::DEFAULT_PREFIX).await
    }

    /// The store on `pool` with tables under `prefix`.
    pub async fn with_prefix(pool: &PgPool, prefix: &str) -> Result<Self, Error> {
        pool.migrate("PgStore", prefix, "popup", &*MIGRATIONS)
            .await
            .map_err(|e| match e.kind() {
                line_core::ErrorKind::Config { reason, .. } => Error::config("prefix", reason.clone()),
                _ => Error::store("PgStore::migrate", e),
            })?;
        let sql = Arc::new(Sql::new(prefix));
        let purge_wake = Arc::new(PurgeWake {
            now_ms: AtomicI64::new(0),
            events_before: Mutex::new(None),
            wake: Notify::new(),
        });
        let task = tokio::runtime::Handle::try_current()
            .ok()
            .map(|rt| rt.spawn(purge_in_background(pool.clone(), sql.clone(), purge_wake.clone())));
        Ok(Self {
            pool: pool.clone(),
            lanes: Some(Arc::new(Lanes::new(pool, &sql, DEFAULT_RESERVE_CONNECTIONS))),
            sql,
            calls: Arc::new(AtomicU64::new(0)),
            async_commit: false,
            purge_wake,
            purge_task: Arc::new(PurgeTask(task)),
        })
    }

    /// Whether reservations commit without waiting for the server's write-ahead-log flush
    /// (`synchronous_commit = off` for each reservation's own transaction; off by default).
    ///
    /// A reservation then returns before its commit is on disk: a crash of the *server*
    /// may forget the reservations of its last few hundred milliseconds (so a visitor may
    /// see that many popups more than a cap allows), never corrupt the tables. Events,
    /// bindings and counters other than the reservation's keep the server's setting. See
    /// the [module docs](self#asynchronous-commit-opt-in).
    #[must_use]
    pub fn with_asynchronous_commit(mut self, on: bool) -> Self {
        self.async_commit = on;
        self
    }

    /// How many connections the reservations share (default
    /// [`DEFAULT_RESERVE_CONNECTIONS`]); 0 makes each reservation take a connection of the
    /// pool for its call instead. See the [module docs](self#shared-connections).
    ///
    /// The shared connections are opened on first use (or by
    /// [`open_connections`](PgStore::open_connections)) with the pool's settings and then
    /// taken out of the pool, so they do not count against its size. This applies to this
    /// store and the clones made from it afterwards.
    #[must_use]
    pub fn with_reserve_connections(mut self, n: usize) -> Self {
        self.lanes = (n > 0).then(|| Arc::new(Lanes::new(&self.pool, &self.sql, n)));
        self
    }

    /// Opens the connections that reservations share now, instead of at the first
    /// reservations (see the [module docs](self#shared-connections)); a connection
    /// already open is kept. Call it once the store is configured, before traffic
    /// arrives: otherwise the first reservations of each connection wait for it to be
    /// opened and its statements prepared, a few milliseconds in which the reservations
    /// that arrive queue behind them. A server that cannot be reached (or a pool that
    /// gives no connection within its wait timeout) shows here as an
    /// [`ErrorKind::Store`](crate::ErrorKind::Store) error naming
    /// `PgStore::open_connections`, rather than at the first reservation.
    ///
    /// A connection that breaks later is replaced at the next reservation, as always.
    /// With [`with_reserve_connections(0)`](PgStore::with_reserve_connections) this
    /// checks that the pool gives a connection.
    pub async fn open_connections(&self) -> Result<(), Error> {
        match &self.lanes {
            Some(lanes) => lanes.open_all().await,
            None => self.pool.get().await.map(drop),
        }
        .map_err(err("PgStore::open_connections"))
    }

    /// Deletes the tokens and bindings that expired at `now`, and the expired sessions
    /// whose `purge_after` (their expiry rounded up to the hour) has passed (see the
    /// [module docs](self#expired-rows)); returns how many rows. The store also purges
    /// in batches on its own, in the background.
    pub async fn purge_expired(&self, now: Timestamp) -> Result<u64, Error> {
        purge(&self.pool, &self.sql, now.as_millisecond(), i64::MAX)
            .await
            .map_err(err("PgStore::purge_expired"))
    }

    /// One reservation: one call of the `popup_reserve` function (one round trip, one
    /// implicit transaction).
    async fn reserve_once(&self, r: OwnedReserve) -> Result<ReserveOutcome, BoxError> {
        let n = r.candidates.len();
        let (chosen, skipped) = match &self.lanes {
            Some(lanes) => lanes.reserve(r, self.async_commit).await?,
            None => {
                let conn = self.pool.get().await?;
                let c = conn.client();
                let sql = if self.async_commit {
                    &self.sql.reserve_async
                } else {
                    &self.sql.reserve
                };
                let stmt = c.prepare_cached(sql).await?;
                call_one(c, &stmt, &r).await?
            }
        };
        let skipped = skipped
            .iter()
            .map(|k| CapKind::parse(k).ok_or_else(|| format!("unknown cap {k:?} from popup_reserve")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(match chosen {
            Some(i) => ReserveOutcome::Reserved {
                index: usize::try_from(i)
                    .ok()
                    .filter(|i| *i < n)
                    .ok_or_else(|| format!("candidate index {i} from popup_reserve"))?,
                skipped,
            },
            None => ReserveOutcome::Blocked(skipped),
        })
    }
}

#[async_trait]
impl PopupStore for PgStore {
    async fn reserve(&self, req: &ReserveRequest<'_>) -> Result<ReserveOutcome, Error> {
        let r = OwnedReserve::new(req)?;
        let now_ms = r.now_ms;
        let out = self.reserve_once(r).await.map_err(err("PgStore::reserve"))?;
        if self.calls.fetch_add(1, Ordering::Relaxed) % PURGE_EVERY == PURGE_EVERY - 1 {
            // The batch runs in the store's background task, not on this call's path.
            self.purge_wake.now_ms.store(now_ms, Ordering::Release);
            self.purge_wake.wake.notify_one();
        }
        Ok(out)
    }

    async fn record(&self, token: &str, kind: EventKind, now: Timestamp, day: &str) -> Result<Recorded, Error> {
        let now = now.as_millisecond();
        let run = async {
            let conn = self.pool.get().await?;
            let c = conn.client();
            let stmt = c.prepare_cached(&self.sql.record).await?;
            let dismissed = kind == EventKind::Dismissed;
            let converted = kind.is_conversion();
            let rows = c
                .query(
                    &stmt,
                    &[
                        &token,
                        &event_bit(kind),
                        &now,
                        &dismissed,
                        &converted,
                        &day,
                        &StatKind::Event(kind).as_str(),
                    ],
                )
                .await?;
            if let Some(row) = rows.first() {
                return Ok::<_, BoxError>(Recorded::New(attribution(row)?));
            }
            let stmt = c.prepare_cached(&self.sql.token).await?;
            Ok(match c.query_opt(&stmt, &[&token, &now]).await? {
                Some(row) => Recorded::Duplicate(attribution(&row)?),
                None => Recorded::UnknownToken,
            })
        };
        run.await.map_err(err("PgStore::record"))
    }

    async fn bind(&self, key: &str, token: &str, now: Timestamp, ttl_secs: u64) -> Result<bool, Error> {
        let now = now.as_millisecond();
        let exp = now.saturating_add(secs_to_ms(ttl_secs));
        let run = async {
            let conn = self.pool.get().await?;
            let c = conn.client();
            let stmt = c.prepare_cached(&self.sql.bind).await?;
            Ok::<_, BoxError>(c.execute(&stmt, &[&key, &token, &exp, &now]).await? == 1)
        };
        run.await.map_err(err("PgStore::bind"))
    }

    async fn resolve(&self, key: &str, now: Timestamp) -> Result<Option<String>, Error> {
        let now = now.as_millisecond();
        let run = async {
            let conn = self.pool.get().await?;
            let c = conn.client();
            let stmt = c.prepare_cached(&self.sql.resolve).await?;
            match c.query_opt(&stmt, &[&key, &now]).await? {
                Some(row) => Ok::<_, BoxError>(Some(row.try_get(0)?)),
                None => Ok(None),
            }
        };
        run.await.map_err(err("PgStore::resolve"))
    }

    async fn count_new_friend(&self, event_id: Option<&str>, day: &str) -> Result<bool, Error> {
        let purge = self.calls.fetch_add(1, Ordering::Relaxed) % PURGE_EVERY == PURGE_EVERY - 1;
        let run = async {
            let conn = self.pool.get().await?;
            let c = conn.client();
            let Some(id) = event_id else {
                let stmt = c.prepare_cached(&self.sql.new_friend).await?;
                c.execute(&stmt, &[&day]).await?;
                return Ok::<_, BoxError>(true);
            };
            let stmt = c.prepare_cached(&self.sql.friend_event).await?;
            let counted: i64 = c.query_one(&stmt, &[&id, &day]).await?.try_get(0)?;
            Ok(counted == 1)
        };
        let counted = run.await.map_err(err("PgStore::count_new_friend"))?;
        // Old events are deleted off the webhook's path, by the background task, and a
        // purge that fails never fails a count that was made.
        if let Some(oldest) = purge.then(|| oldest_kept_day(day)).flatten() {
            if self.purge_task.0.is_some() {
                *self
                    .purge_wake
                    .events_before
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = Some(oldest);
                self.purge_wake.wake.notify_one();
            } else if let Err(e) = purge_events(&self.pool, &self.sql, &oldest, PURGE_BATCH).await {
                tracing::warn!(error = %e, "PgStore: deleting old friend events failed; tried again later");
            }
        }
        Ok(counted)
    }

    async fn stats(&self, days: &[String]) -> Result<Stats, Error> {
        let run = async {
            let conn = self.pool.get().await?;
            let c = conn.client();
            let (stats, nf) = tokio::try_join!(
                c.prepare_cached(&self.sql.stats),
                c.prepare_cached(&self.sql.new_friends)
            )?;
            let p_days: [&P<'_>; 1] = [&days];
            let (rows, friends) = tokio::try_join!(c.query(&stats, &p_days), c.query(&nf, &p_days))?;
            let mut out = Stats::default();
            for row in &rows {
                let kind: String = row.try_get(3)?;
                let kind = StatKind::parse(&kind).ok_or_else(|| format!("unknown counter {kind:?} in popup_stat"))?;
                let (day, campaign, variant): (String, String, String) =
                    (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
                let n: i64 = row.try_get(4)?;
                out.rows
                    .push(StatRow::new(&day, &campaign, &variant, kind, n.max(0) as u64));
            }
            for row in &friends {
                let n: i64 = row.try_get(1)?;
                out.new_friends.push((row.try_get(0)?, n.max(0) as u64));
            }
            Ok::<_, BoxError>(out)
        };
        run.await.map_err(err("PgStore::stats"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Candidate;
    use crate::Caps;
    use line_core::testing::store::{fresh_prefix, pg_drop_prefix, pg_pool};

    #[test]
    fn migration_3_replaces_the_counter_write_of_the_function() {
        assert!(RESERVE_FUNCTION.contains(STAT_WRITE_V2));
        assert!(SHARDED_STATS.contains(STAT_WRITE_V3));
        assert!(!SHARDED_STATS.contains(STAT_WRITE_V2));
    }

    #[test]
    fn migration_4_replaces_the_lock_and_the_session_write() {
        for (old, new) in [
            (STAT_WRITE_V2, STAT_WRITE_V3),
            (LOCK_V2, LOCK_V4),
            (SESSION_WRITE_V2, SESSION_WRITE_V4),
        ] {
            assert!(RESERVE_FUNCTION.contains(old));
            assert!(!SESSION_PURGE_AND_LOCK.contains(old));
            assert!(SESSION_PURGE_AND_LOCK.contains(new));
        }
    }

    #[test]
    fn migration_6_leaves_the_counters_of_a_batch_to_its_end() {
        for write in [STAT_WRITE_V5_FIRST, STAT_WRITE_V5] {
            assert!(RESERVE_FUNCTION_V5.contains(write));
            assert!(!RESERVE_MANY.contains(write));
        }
        assert_eq!(RESERVE_MANY.matches("INSERT INTO {p}popup_stat").count(), 1);
        assert!(RESERVE_MANY.contains("FUNCTION {p}popup_reserve_one("));
        assert!(!RESERVE_MANY.contains("FUNCTION {p}popup_reserve("));
    }

    fn request<'a>(
        visitor: &'a str,
        session: &'a str,
        now_ms: i64,
        candidates: &'a [Candidate<'a>],
        token: &'a str,
        ttl_secs: u64,
    ) -> ReserveRequest<'a> {
        ReserveRequest {
            visitor,
            session,
            now: Timestamp::from_millisecond(now_ms).unwrap(),
            day: "2026-05-01",
            max_per_day: None,
            session_ttl_secs: ttl_secs,
            candidates,
            token,
            token_ttl_secs: ttl_secs,
        }
    }

    /// One showing of `c` (variant `a`) for visitor `v` in session `s` at 1 s on
    /// 2026-05-01, made by calling the `popup_reserve` function the tables have now
    /// (an older version's, in the upgrade tests).
    async fn show_once_with_the_installed_function(pool: &PgPool, prefix: &str) {
        let conn = pool.get().await.unwrap();
        let sql = format!(
            "SELECT chosen FROM {prefix}popup_reserve('v', 's', 1000, '2026-05-01', NULL, 3601000, $1, 3601000, \
             ARRAY['c'], ARRAY['a'], ARRAY[NULL]::BIGINT[], ARRAY[NULL]::BIGINT[], ARRAY[NULL]::BIGINT[], \
             ARRAY[NULL]::BIGINT[], ARRAY[NULL]::BIGINT[], ARRAY[NULL]::BIGINT[], ARRAY[FALSE])"
        );
        let chosen: Option<i32> = conn.client().query_one(&sql, &[&token(1)]).await.unwrap().get(0);
        assert_eq!(chosen, Some(0));
    }

    fn token(i: u64) -> String {
        format!("{i:032x}")
    }

    async fn count(pool: &PgPool, sql: &str) -> i64 {
        let conn = pool.get().await.unwrap();
        conn.client().query_one(sql, &[]).await.unwrap().get(0)
    }

    /// Sessions written at version 3 keep counting after migration 4, and the purge
    /// deletes the expired one through `purge_after`, not the live one.
    #[tokio::test]
    async fn sessions_survive_the_upgrade_to_purge_after() {
        let Some(pool) = pg_pool().await else { return };
        let prefix = fresh_prefix("popup_upgrade4");
        let all: &'static [&'static str] = &*MIGRATIONS;
        pool.migrate("PgStore", &prefix, "popup", &all[..3]).await.unwrap();
        {
            let conn = pool.get().await.unwrap();
            let sql = format!(
                "INSERT INTO {prefix}popup_session (visitor, campaign, session, count, expires_ms) \
                 VALUES ('v', 'c', 's-live', 1, 10000), ('v', 'c', 's-old', 1, 1000)"
            );
            conn.client().execute(&sql, &[]).await.unwrap();
        }
        let store = PgStore::with_prefix(&pool, &prefix).await.unwrap();
        let caps = Caps::none().with_per_session(2);
        let candidates = [Candidate::new("c", "a", &caps)];
        // At 5 s the live session has one showing of two: one more, then the cap.
        let (t1, t2) = (token(1), token(2));
        let first = store.reserve(&request("v", "s-live", 5000, &candidates, &t1, 60)).await;
        assert!(
            matches!(first, Ok(ReserveOutcome::Reserved { index: 0, .. })),
            "{first:?}"
        );
        let second = store.reserve(&request("v", "s-live", 5001, &candidates, &t2, 60)).await;
        assert_eq!(second.unwrap(), ReserveOutcome::Blocked(vec![CapKind::Session]));
        // The showing moved the live session's expiry to 65 s, and `purge_after` to the
        // end of that hour.
        let purge_after = count(
            &pool,
            &format!("SELECT purge_after FROM {prefix}popup_session WHERE session = 's-live'"),
        )
        .await;
        assert_eq!(purge_after, 3_600_000);
        // Only the session that expired at 1 s goes.
        let at = Timestamp::from_millisecond(5002).unwrap();
        assert_eq!(store.purge_expired(at).await.unwrap(), 1);
        let left = count(
            &pool,
            &format!("SELECT count(*) FROM {prefix}popup_session WHERE session = 's-live'"),
        )
        .await;
        assert_eq!(left, 1);
        assert_eq!(
            count(&pool, &format!("SELECT count(*) FROM {prefix}popup_session")).await,
            1
        );
        drop(store);
        pg_drop_prefix(&pool, &prefix).await;
    }

    /// A first visit takes migration 5's path without reads, a returning one the path
    /// that reads its state: both answer as the in-memory store does, for caps that
    /// block from zero (limits of 0) and caps that do not, one candidate or several, and
    /// leave the state that the next showing is counted against. Made one at a time
    /// (each a `popup_reserve` call) and sent together (each round of visits one
    /// `popup_reserve_many` call): the same answers and counters.
    #[tokio::test]
    async fn first_and_returning_visits_decide_as_the_memory_store() {
        assert_eq!(decide_as_the_memory_store(false).await, 0);
    }

    /// The same visits, each round of eight sent together: on a current-thread runtime
    /// the lane's task runs only once all eight are queued, so each round is one batch.
    #[tokio::test]
    async fn first_and_returning_visits_in_batches_decide_as_the_memory_store() {
        let sent_together = decide_as_the_memory_store(true).await;
        if pg_pool().await.is_some() {
            assert_eq!(sent_together, 32);
        }
    }

    /// The body of the two tests above; how many reservations went in batches.
    async fn decide_as_the_memory_store(batched: bool) -> usize {
        let Some(pool) = pg_pool().await else { return 0 };
        let prefix = fresh_prefix("popup_first");
        // One shared connection: with `batched`, the reservations sent together queue on it.
        let pg = PgStore::with_prefix(&pool, &prefix)
            .await
            .unwrap()
            .with_reserve_connections(1);
        let mem = crate::InMemoryStore::new();
        let open = Caps::none();
        let cases: Vec<(Vec<Caps>, Option<u32>)> = vec![
            (vec![open.clone()], None),
            (vec![open.clone()], Some(0)),
            (vec![open.clone()], Some(1)),
            (vec![Caps::none().with_lifetime(0), open.clone()], None),
            (
                vec![Caps::none().with_window(0, 60), Caps::none().with_per_session(0)],
                None,
            ),
            (
                vec![
                    Caps::none().with_per_session(0),
                    Caps::none().with_lifetime(1).with_window(2, 60),
                ],
                Some(2),
            ),
            (
                vec![Caps::none().with_lifetime(0), Caps::none().with_window(0, 60)],
                Some(0),
            ),
            (
                vec![Caps::none()
                    .with_min_interval_secs(10)
                    .with_dismiss_cooldown_secs(10)
                    .with_stop_after_conversion(true)],
                None,
            ),
        ];
        let names: Vec<Vec<String>> = cases
            .iter()
            .map(|(caps, _)| (0..caps.len()).map(|i| format!("c{i}")).collect())
            .collect();
        let candidates: Vec<Vec<Candidate<'_>>> = cases
            .iter()
            .zip(&names)
            .map(|((caps, _), names)| {
                caps.iter()
                    .zip(names)
                    .map(|(c, name)| Candidate::new(name, "a", c))
                    .collect()
            })
            .collect();
        let visitors: Vec<String> = (0..cases.len()).map(|case| format!("v{case}")).collect();
        // The first visit, then three returning ones a second apart.
        for step in 0..4_i64 {
            let tokens: Vec<String> = (0..cases.len())
                .map(|case| token(step as u64 * 100 + case as u64))
                .collect();
            let requests: Vec<ReserveRequest<'_>> = (0..cases.len())
                .map(|case| {
                    let mut req = request(
                        &visitors[case],
                        "s",
                        1_000 + step * 1_000,
                        &candidates[case],
                        &tokens[case],
                        3600,
                    );
                    req.max_per_day = cases[case].1;
                    req
                })
                .collect();
            let mut want = Vec::new();
            for req in &requests {
                want.push(mem.reserve(req).await.unwrap());
            }
            let got: Vec<ReserveOutcome> = if batched {
                futures::future::join_all(requests.iter().map(|r| pg.reserve(r)))
                    .await
                    .into_iter()
                    .map(Result::unwrap)
                    .collect()
            } else {
                let mut got = Vec::new();
                for req in &requests {
                    got.push(pg.reserve(req).await.unwrap());
                }
                got
            };
            for (case, (got, want)) in got.iter().zip(&want).enumerate() {
                assert_eq!(got, want, "case {case}, visit {step}");
            }
        }
        let days = ["2026-05-01".to_owned()];
        let total = |s: Stats| {
            let mut rows: Vec<_> = s
                .rows
                .iter()
                .map(|r| (r.campaign.clone(), r.kind.as_str(), r.count))
                .collect();
            rows.sort();
            rows
        };
        assert_eq!(
            total(pg.stats(&days).await.unwrap()),
            total(mem.stats(&days).await.unwrap())
        );
        let sent_together = pg.lanes.as_ref().unwrap().shared.batched.load(Ordering::Relaxed);
        drop(pg);
        pg_drop_prefix(&pool, &prefix).await;
        sent_together
    }

    /// A batch in which one reservation's data fail (a token already used, a text with a
    /// NUL byte): that one fails with a typed error, the others are made, and the
    /// counters count only what was made. A visitor's reservations in one batch are made
    /// in the order they came.
    #[tokio::test]
    async fn bad_data_fail_only_their_own_reservation_in_a_batch() {
        let Some(pool) = pg_pool().await else { return };
        let prefix = fresh_prefix("popup_batchbad");
        let store = PgStore::with_prefix(&pool, &prefix)
            .await
            .unwrap()
            .with_reserve_connections(1);
        let caps = Caps::none().with_lifetime(2);
        let candidates = [Candidate::new("c", "a", &caps)];
        let used = token(7);
        store
            .reserve(&request("u", "s", 1000, &candidates, &used, 60))
            .await
            .unwrap();
        let tokens: Vec<String> = (10..15).map(token).collect();
        let requests = [
            request("v", "s", 2000, &candidates, &tokens[0], 60),
            request("w", "s", 2000, &candidates, &used, 60),
            request("v", "s", 2000, &candidates, &tokens[1], 60),
            request("x\0y", "s", 2000, &candidates, &tokens[2], 60),
            request("v", "s", 2000, &candidates, &tokens[3], 60),
            request("a", "s", 2000, &candidates, &tokens[4], 60),
        ];
        let outcomes = futures::future::join_all(requests.iter().map(|r| store.reserve(r))).await;
        let reserved = |o: &Result<ReserveOutcome, Error>| matches!(o, Ok(ReserveOutcome::Reserved { index: 0, .. }));
        assert!(reserved(&outcomes[0]), "{outcomes:?}");
        assert!(reserved(&outcomes[2]), "{outcomes:?}");
        assert_eq!(
            outcomes[4].as_ref().unwrap(),
            &ReserveOutcome::Blocked(vec![CapKind::Lifetime])
        );
        assert!(reserved(&outcomes[5]), "{outcomes:?}");
        for bad in [&outcomes[1], &outcomes[3]] {
            let e = bad.as_ref().unwrap_err();
            assert_eq!(
                e.kind(),
                &crate::ErrorKind::Store {
                    operation: "PgStore::reserve"
                }
            );
        }
        assert_eq!(store.lanes.as_ref().unwrap().shared.batched.load(Ordering::Relaxed), 5);
        let days = ["2026-05-01".to_owned()];
        let made: u64 = store
            .stats(&days)
            .await
            .unwrap()
            .rows
            .iter()
            .filter(|r| r.kind == StatKind::Reserved)
            .map(|r| r.count)
            .sum();
        assert_eq!(made, 4, "u, v twice and a");
        assert_eq!(
            count(&pool, &format!("SELECT count(*) FROM {prefix}popup_token")).await,
            4
        );
        drop(store);
        pg_drop_prefix(&pool, &prefix).await;
    }

    /// A store whose first reservations ran on a runtime that has shut down (and taken
    /// the task of the shared connection with it) starts a new task on the next one.
    #[test]
    fn a_store_outlives_the_runtime_of_its_first_reservations() {
        let runtime = || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
        };
        let first = runtime();
        let Some((pool, store, prefix)) = first.block_on(async {
            let pool = pg_pool().await?;
            let prefix = fresh_prefix("popup_rt");
            let store = PgStore::with_prefix(&pool, &prefix)
                .await
                .unwrap()
                .with_reserve_connections(1);
            Some((pool, store, prefix))
        }) else {
            return;
        };
        let caps = Caps::none();
        let candidates = [Candidate::new("c", "a", &caps)];
        let (t1, t2) = (token(1), token(2));
        let shown = first.block_on(store.reserve(&request("v", "s", 1000, &candidates, &t1, 60)));
        assert!(matches!(shown, Ok(ReserveOutcome::Reserved { .. })), "{shown:?}");
        drop(first);
        let second = runtime();
        let shown = second.block_on(store.reserve(&request("w", "s", 1000, &candidates, &t2, 60)));
        assert!(matches!(shown, Ok(ReserveOutcome::Reserved { .. })), "{shown:?}");
        drop(store);
        second.block_on(pg_drop_prefix(&pool, &prefix));
    }

    /// Asynchronous commit in a batch is set for its own transaction: the connection
    /// keeps its session's setting.
    #[tokio::test]
    async fn a_batch_with_asynchronous_commit_keeps_it_local() {
        let Some(shared) = pg_pool().await else { return };
        let prefix = fresh_prefix("popup_batchasync");
        PgStore::with_prefix(&shared, &prefix).await.unwrap();
        let url = line_core::testing::store::pg_url();
        let sep = if url.contains('?') { '&' } else { '?' };
        let pool = PgPool::connect_with_size(&format!("{url}{sep}options=-c%20synchronous_commit%3Don"), 1).unwrap();
        let conn = pool.get().await.unwrap();
        let c = conn.client();
        let sql = Sql::new(&prefix);
        let stmt = c.prepare(&sql.reserve_many_async).await.unwrap();
        let (t1, t2) = (token(1), token(2));
        let rows = c
            .query(
                &stmt,
                &[
                    &vec!["w", "v"],
                    &vec!["s", "s"],
                    &vec![1000_i64, 1000],
                    &vec!["2026-05-01", "2026-05-01"],
                    &vec![None::<i64>, None],
                    &vec![61000_i64, 61000],
                    &vec![t1.as_str(), t2.as_str()],
                    &vec![61000_i64, 61000],
                    &vec![1_i32, 2],
                    &vec![1_i32, 1],
                    &vec!["c", "c"],
                    &vec!["a", "a"],
                    &vec![None::<i64>, None],
                    &vec![None::<i64>, None],
                    &vec![None::<i64>, None],
                    &vec![None::<i64>, None],
                    &vec![None::<i64>, None],
                    &vec![None::<i64>, None],
                    &vec![false, false],
                ],
            )
            .await
            .unwrap();
        // In visitor order: v (request 1) first.
        let order: Vec<i32> = rows.iter().map(|r| r.get(0)).collect();
        assert_eq!(order, [1, 0]);
        for row in &rows {
            assert_eq!(row.get::<_, Option<i32>>(1), Some(0));
            assert_eq!(row.get::<_, &str>(4), "off");
        }
        let after: String = c.query_one("SHOW synchronous_commit", &[]).await.unwrap().get(0);
        assert_eq!(after, "on", "the batch's setting leaked into the connection");
        drop(conn);
        pg_drop_prefix(&shared, &prefix).await;
    }

    /// State written by migration 5's function counts for reservations made in a batch
    /// after migration 6.
    #[tokio::test]
    async fn state_written_at_version_5_counts_in_batches_after_the_upgrade_to_6() {
        let Some(pool) = pg_pool().await else { return };
        let prefix = fresh_prefix("popup_upgrade6");
        let all: &'static [&'static str] = &*MIGRATIONS;
        pool.migrate("PgStore", &prefix, "popup", &all[..5]).await.unwrap();
        show_once_with_the_installed_function(&pool, &prefix).await;
        let store = PgStore::with_prefix(&pool, &prefix)
            .await
            .unwrap()
            .with_reserve_connections(1);
        let caps = Caps::none().with_lifetime(2);
        let candidates = [Candidate::new("c", "a", &caps)];
        let tokens: Vec<String> = (2..6).map(token).collect();
        let requests: Vec<_> = tokens
            .iter()
            .map(|t| request("v", "s", 2000, &candidates, t, 3600))
            .collect();
        let outcomes = futures::future::join_all(requests.iter().map(|r| store.reserve(r))).await;
        let outcomes: Vec<ReserveOutcome> = outcomes.into_iter().map(Result::unwrap).collect();
        assert!(matches!(outcomes[0], ReserveOutcome::Reserved { index: 0, .. }));
        for o in &outcomes[1..] {
            assert_eq!(o, &ReserveOutcome::Blocked(vec![CapKind::Lifetime]));
        }
        assert_eq!(store.lanes.as_ref().unwrap().shared.batched.load(Ordering::Relaxed), 4);
        let days = ["2026-05-01".to_owned()];
        let reserved: u64 = store.stats(&days).await.unwrap().rows.iter().map(|r| r.count).sum();
        assert_eq!(reserved, 2);
        drop(store);
        pg_drop_prefix(&pool, &prefix).await;
    }

    /// State written by migration 4's function counts after migration 5 replaced it.
    #[tokio::test]
    async fn state_written_at_version_4_counts_after_the_upgrade_to_5() {
        let Some(pool) = pg_pool().await else { return };
        let prefix = fresh_prefix("popup_upgrade5");
        let all: &'static [&'static str] = &*MIGRATIONS;
        pool.migrate("PgStore", &prefix, "popup", &all[..4]).await.unwrap();
        // Version 4's function: one showing of `c` for `v` in session `s` at 1 s.
        show_once_with_the_installed_function(&pool, &prefix).await;
        let store = PgStore::with_prefix(&pool, &prefix).await.unwrap();
        let caps = Caps::none().with_lifetime(2).with_per_session(2);
        let candidates = [Candidate::new("c", "a", &caps)];
        let (t2, t3) = (token(2), token(3));
        let mut second = request("v", "s", 2000, &candidates, &t2, 3600);
        second.max_per_day = Some(3);
        assert!(matches!(
            store.reserve(&second).await,
            Ok(ReserveOutcome::Reserved { index: 0, .. })
        ));
        let mut third = request("v", "s", 3000, &candidates, &t3, 3600);
        third.max_per_day = Some(3);
        assert_eq!(
            store.reserve(&third).await.unwrap(),
            ReserveOutcome::Blocked(vec![CapKind::Lifetime])
        );
        let day_count = count(
            &pool,
            &format!("SELECT day_count FROM {prefix}popup_visitor WHERE visitor = 'v'"),
        )
        .await;
        assert_eq!(day_count, 2);
        // A campaign row left without its visitor's row (by a hand that deleted that
        // row) still counts: the visit is not taken for a first one.
        {
            let conn = pool.get().await.unwrap();
            let sql = format!(
                "INSERT INTO {prefix}popup_campaign (visitor, campaign, lifetime, last_ms) VALUES ('o', 'c', 2, 500)"
            );
            conn.client().execute(&sql, &[]).await.unwrap();
        }
        let t4 = token(4);
        assert_eq!(
            store
                .reserve(&request("o", "s", 4000, &candidates, &t4, 3600))
                .await
                .unwrap(),
            ReserveOutcome::Blocked(vec![CapKind::Lifetime])
        );
        drop(store);
        pg_drop_prefix(&pool, &prefix).await;
    }

    /// Every `PURGE_EVERY` reservations wake the store's background task, which deletes
    /// what expired at the time of the reservation that woke it; dropping the last clone
    /// of the store ends the task.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn expired_rows_are_purged_in_the_background_until_the_store_is_dropped() {
        let Some(pool) = pg_pool().await else { return };
        let prefix = fresh_prefix("popup_bgpurge");
        let store = PgStore::with_prefix(&pool, &prefix).await.unwrap();
        let caps = Caps::none();
        let candidates = [Candidate::new("c", "a", &caps)];
        // A showing whose session and token expire after 1 s, then two hours later
        // enough showings of other visitors to wake the purge once.
        let t0 = token(0);
        store
            .reserve(&request("old", "s", 0, &candidates, &t0, 1))
            .await
            .unwrap();
        for i in 1..PURGE_EVERY {
            let (visitor, t) = (format!("v{i}"), token(i));
            store
                .reserve(&request(&visitor, "s", 7_200_000, &candidates, &t, 3600))
                .await
                .unwrap();
        }
        let old = format!(
            "SELECT (SELECT count(*) FROM {prefix}popup_session WHERE visitor = 'old') \
                  + (SELECT count(*) FROM {prefix}popup_token WHERE visitor = 'old')"
        );
        let start = std::time::Instant::now();
        while count(&pool, &old).await > 0 {
            assert!(
                start.elapsed() < std::time::Duration::from_secs(20),
                "the expired rows were not purged"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let live = count(&pool, &format!("SELECT count(*) FROM {prefix}popup_token")).await;
        assert_eq!(live, i64::try_from(PURGE_EVERY - 1).unwrap());
        // The task holds the wake until it ends: with a clone left it runs on.
        let wake = Arc::downgrade(&store.purge_wake);
        let clone = store.clone();
        drop(store);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(wake.upgrade().is_some());
        drop(clone);
        let start = std::time::Instant::now();
        while wake.upgrade().is_some() {
            assert!(
                start.elapsed() < std::time::Duration::from_secs(5),
                "the purge task outlived the store"
            );
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        pg_drop_prefix(&pool, &prefix).await;
    }

    /// A database made by the two first migrations (one counter row) keeps its counts
    /// through migration 3, and the store sums the shards it reads.
    #[tokio::test]
    async fn counters_survive_the_upgrade_to_shards() {
        let Some(pool) = pg_pool().await else { return };
        let prefix = fresh_prefix("popup_upgrade");
        let all: &'static [&'static str] = &*MIGRATIONS;
        pool.migrate("PgStore", &prefix, "popup", &all[..2]).await.unwrap();
        let insert = |shard: Option<i32>, n: i64| {
            let (pool, prefix) = (pool.clone(), prefix.clone());
            async move {
                let conn = pool.get().await.unwrap();
                let sql = match shard {
                    None => format!(
                        "INSERT INTO {prefix}popup_stat (day, campaign, variant, kind, count) \
                         VALUES ('2026-05-01', 'c', 'a', 'reserved', $1)"
                    ),
                    Some(s) => format!(
                        "INSERT INTO {prefix}popup_stat (day, campaign, variant, kind, shard, count) \
                         VALUES ('2026-05-01', 'c', 'a', 'reserved', {s}, $1)"
                    ),
                };
                conn.client().execute(&sql, &[&n]).await.unwrap();
            }
        };
        insert(None, 7).await;
        let store = PgStore::with_prefix(&pool, &prefix).await.unwrap();
        let days = ["2026-05-01".to_owned()];
        let count = |stats: Stats| {
            stats
                .rows
                .iter()
                .filter(|r| r.kind == StatKind::Reserved)
                .map(|r| r.count)
                .sum::<u64>()
        };
        assert_eq!(count(store.stats(&days).await.unwrap()), 7);
        insert(Some(3), 2).await;
        assert_eq!(count(store.stats(&days).await.unwrap()), 9);
        assert_eq!(store.stats(&days).await.unwrap().rows.len(), 1, "one row per counter");
        pg_drop_prefix(&pool, &prefix).await;
    }
}
