//! [`PgStore`]: a [`PopupStore`] in PostgreSQL, shared by many processes (feature `postgres`).
//!
//! The tables are those of the SQLite store (see [`sqlite_store`](crate::sqlite_store)
//! when that feature is on): visitors, per-campaign state, sessions, tokens, bindings
//! and report counters, under a prefix (`line_` by default), created and upgraded by
//! the store itself.
//!
//! # One reservation, two round trips
//!
//! A reservation is one transaction of two pipelined batches (tokio-postgres sends
//! statements that are awaited together in one round trip):
//!
//! 1. `BEGIN`; an upsert of the visitor's row that locks it (`INSERT … ON CONFLICT DO
//!    UPDATE … RETURNING`: concurrent reservations of one visitor wait here, in any
//!    process); the visitor's campaign state and session counts;
//! 2. the caps are checked in Rust (the same code as every other store); then the
//!    writes and `COMMIT`.
//!
//! `record` and `count_new_friend` are one statement each (data-modifying `WITH`
//! clauses), `bind` one `INSERT … SELECT … WHERE EXISTS`. Expired sessions, tokens and
//! bindings are invisible at once and deleted in batches (through indexes on expiry,
//! `FOR UPDATE SKIP LOCKED`) every 256 reservations of a process, or by
//! [`purge_expired`](PgStore::purge_expired).
//!
//! A connection that fails inside a transaction (an error, a cancelled call) is closed,
//! not returned to the pool, so the server rolls the transaction back. A store failure
//! is an [`ErrorKind::Store`](crate::ErrorKind::Store) error naming the store and
//! operation (`PgStore::reserve`), and the engine shows no popup (decisions fail closed).

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use jiff::Timestamp;
use line_core::store::postgres::{BoxError, PgPool};
use tokio_postgres::types::ToSql;

/// A statement parameter.
type P<'a> = dyn ToSql + Sync + 'a;

use crate::error::Error;
use crate::sql::{decide, event_bit, oldest_kept_day, CampaignRow, OwnedReserve, PURGE_BATCH, PURGE_EVERY};
use crate::store::{
    secs_to_ms, Attribution, EventKind, PopupStore, Recorded, ReserveOutcome, ReserveRequest, StatKind, StatRow, Stats,
};

const MIGRATIONS: &[&str] = &["
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
"];

struct Sql {
    lock_visitor: String,
    campaigns: String,
    sessions: String,
    put_campaign: String,
    put_session: String,
    put_visitor: String,
    put_token: String,
    bump_stat: String,
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
            lock_visitor: e("INSERT INTO {p}popup_visitor AS v (visitor) VALUES ($1) \
                             ON CONFLICT (visitor) DO UPDATE SET visitor = EXCLUDED.visitor RETURNING day, day_count"),
            campaigns: e(
                "SELECT campaign, lifetime, last_ms, dismissed_ms, converted, win FROM {p}popup_campaign \
                          WHERE visitor = $1 AND campaign = ANY($2)",
            ),
            sessions: e("SELECT campaign, count FROM {p}popup_session \
                         WHERE visitor = $1 AND session = $2 AND campaign = ANY($3) AND expires_ms > $4"),
            put_campaign: e(
                "INSERT INTO {p}popup_campaign AS c (visitor, campaign, lifetime, last_ms, win) \
                             VALUES ($1, $2, 1, $3, $4) ON CONFLICT (visitor, campaign) DO UPDATE SET \
                             lifetime = c.lifetime + 1, last_ms = EXCLUDED.last_ms, win = EXCLUDED.win",
            ),
            put_session: e(
                "INSERT INTO {p}popup_session AS s (visitor, campaign, session, count, expires_ms) \
                            VALUES ($1, $2, $3, 1, $4) ON CONFLICT (visitor, campaign, session) DO UPDATE SET \
                            count = CASE WHEN s.expires_ms > $5 THEN s.count + 1 ELSE 1 END, \
                            expires_ms = EXCLUDED.expires_ms",
            ),
            put_visitor: e("UPDATE {p}popup_visitor SET day = $2, day_count = $3 WHERE visitor = $1"),
            put_token: e(
                "INSERT INTO {p}popup_token (token, visitor, campaign, variant, reserved_ms, expires_ms) \
                          VALUES ($1, $2, $3, $4, $5, $6)",
            ),
            bump_stat: e(
                "INSERT INTO {p}popup_stat AS s (day, campaign, variant, kind, count) VALUES ($1, $2, $3, $4, 1) \
                          ON CONFLICT (day, campaign, variant, kind) DO UPDATE SET count = s.count + 1",
            ),
            record: e("WITH t AS (UPDATE {p}popup_token SET events = events | $2 \
                         WHERE token = $1 AND expires_ms > $3 AND (events & $2) = 0 \
                         RETURNING visitor, campaign, variant, reserved_ms), \
                       c AS (INSERT INTO {p}popup_campaign AS c (visitor, campaign, dismissed_ms, converted) \
                         SELECT visitor, campaign, CASE WHEN $4 THEN $3 END, $5 FROM t WHERE $4 OR $5 \
                         ON CONFLICT (visitor, campaign) DO UPDATE SET \
                         dismissed_ms = COALESCE(EXCLUDED.dismissed_ms, c.dismissed_ms), \
                         converted = c.converted OR EXCLUDED.converted), \
                       s AS (INSERT INTO {p}popup_stat AS s (day, campaign, variant, kind, count) \
                         SELECT $6, campaign, variant, $7, 1 FROM t \
                         ON CONFLICT (day, campaign, variant, kind) DO UPDATE SET count = s.count + 1) \
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
            stats: e("SELECT day, campaign, variant, kind, count FROM {p}popup_stat WHERE day = ANY($1)"),
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
}

impl fmt::Debug for PgStore {
    // The pool prints no URL (it holds a password).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgStore")
            .field("pool", &self.pool)
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
        pool.migrate("PgStore", prefix, "popup", MIGRATIONS)
            .await
            .map_err(|e| match e.kind() {
                line_core::ErrorKind::Config { reason, .. } => Error::config("prefix", reason.clone()),
                _ => Error::store("PgStore::migrate", e),
            })?;
        Ok(Self {
            pool: pool.clone(),
            sql: Arc::new(Sql::new(prefix)),
            calls: Arc::new(AtomicU64::new(0)),
        })
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

    async fn reserve_in_tx(&self, r: &OwnedReserve) -> Result<ReserveOutcome, BoxError> {
        let s = &*self.sql;
        let mut conn = self.pool.get().await?;
        conn.begin();
        let c = conn.client();
        let (begin, lock, campaigns_q, sessions_q, put_campaign, put_session, put_visitor, put_token, bump, commit) = tokio::try_join!(
            c.prepare_cached("BEGIN"),
            c.prepare_cached(&s.lock_visitor),
            c.prepare_cached(&s.campaigns),
            c.prepare_cached(&s.sessions),
            c.prepare_cached(&s.put_campaign),
            c.prepare_cached(&s.put_session),
            c.prepare_cached(&s.put_visitor),
            c.prepare_cached(&s.put_token),
            c.prepare_cached(&s.bump_stat),
            c.prepare_cached("COMMIT"),
        )?;
        let names: Vec<&str> = r.candidates.iter().map(|c| c.campaign.as_str()).collect();
        // Round trip 1: begin, lock the visitor, read its state (in this order on the wire).
        let p_lock: [&P<'_>; 1] = [&r.visitor];
        let p_campaigns: [&P<'_>; 2] = [&r.visitor, &names];
        let p_sessions: [&P<'_>; 4] = [&r.visitor, &r.session, &names, &r.now_ms];
        let (_, visitor, campaign_rows, session_rows) = tokio::try_join!(
            c.execute(&begin, &[]),
            c.query_one(&lock, &p_lock),
            c.query(&campaigns_q, &p_campaigns),
            c.query(&sessions_q, &p_sessions),
        )?;
        let day: String = visitor.try_get(0)?;
        let day_count: i64 = if day == r.day { visitor.try_get(1)? } else { 0 };
        let mut rows = HashMap::with_capacity(campaign_rows.len());
        for row in &campaign_rows {
            rows.insert(
                row.try_get::<_, String>(0)?,
                CampaignRow {
                    lifetime: row.try_get(1)?,
                    last_ms: row.try_get(2)?,
                    dismissed_ms: row.try_get(3)?,
                    converted: row.try_get(4)?,
                    window: row.try_get(5)?,
                },
            );
        }
        let mut sessions = HashMap::with_capacity(session_rows.len());
        for row in &session_rows {
            sessions.insert(row.try_get::<_, String>(0)?, row.try_get::<_, i64>(1)?);
        }
        let (chosen, skipped) = decide(r, day_count, &rows, &sessions);
        let Some(chosen) = chosen else {
            c.execute(&commit, &[]).await?;
            conn.done();
            return Ok(ReserveOutcome::Blocked(skipped));
        };
        let cand = &r.candidates[chosen.index];
        let reserved = StatKind::Reserved.as_str();
        // Round trip 2: the writes and the commit.
        let new_day_count = day_count + 1;
        let p_campaign: [&P<'_>; 4] = [&r.visitor, &cand.campaign, &r.now_ms, &chosen.window];
        let p_session: [&P<'_>; 5] = [&r.visitor, &cand.campaign, &r.session, &r.session_exp_ms, &r.now_ms];
        let p_visitor: [&P<'_>; 3] = [&r.visitor, &r.day, &new_day_count];
        let p_token: [&P<'_>; 6] = [
            &r.token,
            &r.visitor,
            &cand.campaign,
            &cand.variant,
            &r.now_ms,
            &r.token_exp_ms,
        ];
        let p_stat: [&P<'_>; 4] = [&r.day, &cand.campaign, &cand.variant, &reserved];
        tokio::try_join!(
            c.execute(&put_campaign, &p_campaign),
            c.execute(&put_session, &p_session),
            c.execute(&put_visitor, &p_visitor),
            c.execute(&put_token, &p_token),
            c.execute(&bump, &p_stat),
            c.execute(&commit, &[]),
        )?;
        conn.done();
        Ok(ReserveOutcome::Reserved {
            index: chosen.index,
            skipped,
        })
    }
}

#[async_trait]
impl PopupStore for PgStore {
    async fn reserve(&self, req: &ReserveRequest<'_>) -> Result<ReserveOutcome, Error> {
        let r = OwnedReserve::new(req)?;
        let out = self.reserve_in_tx(&r).await.map_err(err("PgStore::reserve"))?;
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
