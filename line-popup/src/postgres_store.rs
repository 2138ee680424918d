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
//! transaction. Inside it, an upsert of the visitor's row locks it (`INSERT … ON
//! CONFLICT DO UPDATE … RETURNING`: concurrent reservations of one visitor wait here,
//! in any process); then it reads the visitor's campaign state and session counts,
//! checks the caps of the candidates in order (the same caps, in the same order, as
//! every other store), and writes the reservation. A single SQL statement could not
//! do this safely: its reads would see the snapshot taken before the lock was granted,
//! whereas each statement of a (volatile) function takes a fresh one.
//!
//! `record` and `count_new_friend` are one statement each (data-modifying `WITH`
//! clauses), `bind` one `INSERT … SELECT … WHERE EXISTS`. Expired sessions, tokens and
//! bindings are invisible at once and deleted in batches (through indexes on expiry,
//! `FOR UPDATE SKIP LOCKED`) every 256 reservations of a process, or by
//! [`purge_expired`](PgStore::purge_expired).
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
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};

use async_trait::async_trait;
use jiff::Timestamp;
use line_core::store::postgres::{BoxError, PgPool};
use tokio_postgres::types::ToSql;

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
static MIGRATIONS: LazyLock<[&'static str; 3]> = LazyLock::new(|| [TABLES, RESERVE_FUNCTION, SHARDED_STATS.as_str()]);

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
            purge: ["popup_session", "popup_token", "popup_binding"].map(|t| {
                e(&format!(
                    "DELETE FROM {{p}}{t} WHERE ctid IN (SELECT ctid FROM {{p}}{t} \
                     WHERE expires_ms <= $1 ORDER BY expires_ms LIMIT $2 FOR UPDATE SKIP LOCKED)"
                ))
            }),
            purge_events: e(
                "DELETE FROM {p}popup_friend_event WHERE ctid IN (SELECT ctid FROM {p}popup_friend_event \
                             WHERE day < $1 ORDER BY day LIMIT $2 FOR UPDATE SKIP LOCKED)",
            ),
        }
    }
}

/// A [`PopupStore`] in PostgreSQL. Cheap to clone.
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
    sql: Arc<Sql>,
    calls: Arc<AtomicU64>,
    async_commit: bool,
}

impl fmt::Debug for PgStore {
    // The pool prints no URL (it holds a password).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgStore")
            .field("pool", &self.pool)
            .field("async_commit", &self.async_commit)
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
        Ok(Self {
            pool: pool.clone(),
            sql: Arc::new(Sql::new(prefix)),
            calls: Arc::new(AtomicU64::new(0)),
            async_commit: false,
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

    /// Deletes sessions, tokens and bindings that expired at `now`; returns how many rows.
    pub async fn purge_expired(&self, now: Timestamp) -> Result<u64, Error> {
        self.purge(now.as_millisecond(), i64::MAX)
            .await
            .map_err(err("PgStore::purge_expired"))
    }

    async fn purge(&self, now: i64, limit: i64) -> Result<u64, BoxError> {
        let conn = self.pool.get().await?;
        let c = conn.client();
        let mut n = 0;
        for p in &self.sql.purge {
            let stmt = c.prepare_cached(p).await?;
            n += c.execute(&stmt, &[&now, &limit]).await?;
        }
        Ok(n)
    }

    /// One reservation: one call of the `popup_reserve` function (one round trip, one
    /// implicit transaction).
    async fn reserve_once(&self, r: &OwnedReserve) -> Result<ReserveOutcome, BoxError> {
        let conn = self.pool.get().await?;
        let c = conn.client();
        let sql = if self.async_commit {
            &self.sql.reserve_async
        } else {
            &self.sql.reserve
        };
        let stmt = c.prepare_cached(sql).await?;
        let n = r.candidates.len();
        let (mut campaigns, mut variants) = (Vec::with_capacity(n), Vec::with_capacity(n));
        let (mut lifetime, mut window_from, mut window_max) =
            (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
        let (mut per_session, mut min_interval, mut cooldown, mut stop) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        for cand in &r.candidates {
            let caps = &cand.caps;
            campaigns.push(cand.campaign.as_str());
            variants.push(cand.variant.as_str());
            lifetime.push(caps.lifetime.map(i64::from));
            window_from.push(caps.window.map(|w| r.now_ms.saturating_sub(secs_to_ms(w.secs))));
            window_max.push(caps.window.map(|w| i64::from(w.max)));
            per_session.push(caps.per_session.map(i64::from));
            min_interval.push(caps.min_interval_secs.map(secs_to_ms));
            cooldown.push(caps.dismiss_cooldown_secs.map(secs_to_ms));
            stop.push(caps.stop_after_conversion);
        }
        let max_per_day = r.max_per_day.map(i64::from);
        let params: [&P<'_>; 17] = [
            &r.visitor,
            &r.session,
            &r.now_ms,
            &r.day,
            &max_per_day,
            &r.session_exp_ms,
            &r.token,
            &r.token_exp_ms,
            &campaigns,
            &variants,
            &lifetime,
            &window_from,
            &window_max,
            &per_session,
            &min_interval,
            &cooldown,
            &stop,
        ];
        let row = c.query_one(&stmt, &params).await?;
        let chosen: Option<i32> = row.try_get(0)?;
        let skipped = row
            .try_get::<_, Vec<String>>(1)?
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
        let out = self.reserve_once(&r).await.map_err(err("PgStore::reserve"))?;
        if self.calls.fetch_add(1, Ordering::Relaxed) % PURGE_EVERY == PURGE_EVERY - 1 {
            self.purge(r.now_ms, PURGE_BATCH)
                .await
                .map_err(err("PgStore::purge_expired"))?;
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
            if purge {
                if let Some(oldest) = oldest_kept_day(day) {
                    let stmt = c.prepare_cached(&self.sql.purge_events).await?;
                    c.execute(&stmt, &[&oldest, &PURGE_BATCH]).await?;
                }
            }
            Ok(counted == 1)
        };
        run.await.map_err(err("PgStore::count_new_friend"))
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
    use line_core::testing::store::{fresh_prefix, pg_drop_prefix, pg_pool};

    #[test]
    fn migration_3_replaces_the_counter_write_of_the_function() {
        assert!(RESERVE_FUNCTION.contains(STAT_WRITE_V2));
        assert!(SHARDED_STATS.contains(STAT_WRITE_V3));
        assert!(!SHARDED_STATS.contains(STAT_WRITE_V2));
    }

    /// A database made by the two first migrations (one counter row) keeps its counts
    /// through migration 3, and the store sums the shards it reads.
    #[tokio::test]
    async fn counters_survive_the_upgrade_to_shards() {
        let Some(pool) = pg_pool().await else { return };
        let prefix = fresh_prefix("popup_upgrade");
        let all: &'static [&'static str; 3] = &MIGRATIONS;
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
