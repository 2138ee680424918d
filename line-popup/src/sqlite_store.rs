//! [`SqliteStore`]: a [`PopupStore`] in a SQLite file (feature `sqlite`).
//!
//! Every call is one transaction on the file's connection thread
//! ([`SqliteDb`]), which holds the database's write
//! lock from its start (`BEGIN IMMEDIATE`): a reservation reads the visitor's counters,
//! checks the caps and writes the counters back with no other process's write in
//! between, so concurrent page views, in one process or in several sharing the file,
//! never exceed a cap.
//!
//! # Tables (under the prefix, `line_` by default)
//!
//! | table | holds | expires |
//! | --- | --- | --- |
//! | `popup_visitor` | a visitor's day and its showings that day | never (one row per visitor) |
//! | `popup_campaign` | per visitor and campaign: lifetime count, last showing, dismiss, conversion, rolling window | never (lifetime state) |
//! | `popup_session` | per visitor, campaign and session: showings | session time to live |
//! | `popup_token` | attribution tokens and the events recorded | attribution time to live |
//! | `popup_binding` | keys bound to tokens | binding time to live |
//! | `popup_stat`, `popup_new_friend` | report counters per day | never |
//! | `popup_friend_event` | webhook event IDs of counted new friends | after 8 days |
//!
//! Expired rows are invisible at once (every read compares with `now`) and deleted in
//! batches through an index on expiry every 256 reservations, or by
//! [`purge_expired`](SqliteStore::purge_expired).

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use jiff::Timestamp;
use line_core::store::sqlite::SqliteDb;
use rusqlite::{params, OptionalExtension};

use crate::error::Error;
use crate::sql::{decide, event_bit, oldest_kept_day, CampaignRow, OwnedReserve, PURGE_BATCH, PURGE_EVERY};
use crate::store::{
    secs_to_ms, Attribution, EventKind, PopupStore, Recorded, ReserveOutcome, ReserveRequest, StatKind, StatRow, Stats,
};

const MIGRATIONS: &[&str] = &["
CREATE TABLE {p}popup_visitor (visitor TEXT PRIMARY KEY, day TEXT NOT NULL DEFAULT '', day_count INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
CREATE TABLE {p}popup_campaign (visitor TEXT NOT NULL, campaign TEXT NOT NULL, lifetime INTEGER NOT NULL DEFAULT 0,
  last_ms INTEGER, dismissed_ms INTEGER, converted INTEGER NOT NULL DEFAULT 0, win TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (visitor, campaign)) WITHOUT ROWID;
CREATE TABLE {p}popup_session (visitor TEXT NOT NULL, campaign TEXT NOT NULL, session TEXT NOT NULL,
  count INTEGER NOT NULL, expires_ms INTEGER NOT NULL, PRIMARY KEY (visitor, campaign, session));
CREATE INDEX {p}popup_session_expiry ON {p}popup_session (expires_ms);
CREATE TABLE {p}popup_token (token TEXT PRIMARY KEY, visitor TEXT NOT NULL, campaign TEXT NOT NULL, variant TEXT NOT NULL,
  reserved_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL, events INTEGER NOT NULL DEFAULT 0);
CREATE INDEX {p}popup_token_expiry ON {p}popup_token (expires_ms);
CREATE TABLE {p}popup_binding (key TEXT PRIMARY KEY, token TEXT NOT NULL, expires_ms INTEGER NOT NULL);
CREATE INDEX {p}popup_binding_expiry ON {p}popup_binding (expires_ms);
CREATE TABLE {p}popup_stat (day TEXT NOT NULL, campaign TEXT NOT NULL, variant TEXT NOT NULL, kind TEXT NOT NULL,
  count INTEGER NOT NULL, PRIMARY KEY (day, campaign, variant, kind)) WITHOUT ROWID;
CREATE TABLE {p}popup_new_friend (day TEXT PRIMARY KEY, count INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE {p}popup_friend_event (event_id TEXT PRIMARY KEY, day TEXT NOT NULL);
CREATE INDEX {p}popup_friend_event_day ON {p}popup_friend_event (day);
"];

struct Sql {
    visitor: String,
    campaign: String,
    session: String,
    put_campaign: String,
    put_session: String,
    put_visitor: String,
    put_token: String,
    bump_stat: String,
    mark_event: String,
    token: String,
    dismiss: String,
    convert: String,
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
            visitor: e("SELECT day, day_count FROM {p}popup_visitor WHERE visitor = ?1"),
            campaign: e("SELECT lifetime, last_ms, dismissed_ms, converted, win FROM {p}popup_campaign \
                         WHERE visitor = ?1 AND campaign = ?2"),
            session: e("SELECT count FROM {p}popup_session \
                        WHERE visitor = ?1 AND campaign = ?2 AND session = ?3 AND expires_ms > ?4"),
            put_campaign: e("INSERT INTO {p}popup_campaign (visitor, campaign, lifetime, last_ms, win) \
                             VALUES (?1, ?2, 1, ?3, ?4) ON CONFLICT (visitor, campaign) DO UPDATE SET \
                             lifetime = lifetime + 1, last_ms = excluded.last_ms, win = excluded.win"),
            put_session: e("INSERT INTO {p}popup_session (visitor, campaign, session, count, expires_ms) \
                            VALUES (?1, ?2, ?3, 1, ?4) ON CONFLICT (visitor, campaign, session) DO UPDATE SET \
                            count = CASE WHEN expires_ms > ?5 THEN count + 1 ELSE 1 END, expires_ms = excluded.expires_ms"),
            put_visitor: e("INSERT INTO {p}popup_visitor (visitor, day, day_count) VALUES (?1, ?2, ?3) \
                            ON CONFLICT (visitor) DO UPDATE SET day = excluded.day, day_count = excluded.day_count"),
            put_token: e("INSERT INTO {p}popup_token (token, visitor, campaign, variant, reserved_ms, expires_ms) \
                          VALUES (?1, ?2, ?3, ?4, ?5, ?6)"),
            bump_stat: e("INSERT INTO {p}popup_stat (day, campaign, variant, kind, count) VALUES (?1, ?2, ?3, ?4, 1) \
                          ON CONFLICT (day, campaign, variant, kind) DO UPDATE SET count = count + 1"),
            mark_event: e("UPDATE {p}popup_token SET events = events | ?2 \
                           WHERE token = ?1 AND expires_ms > ?3 AND (events & ?2) = 0 \
                           RETURNING visitor, campaign, variant, reserved_ms"),
            token: e("SELECT visitor, campaign, variant, reserved_ms FROM {p}popup_token \
                      WHERE token = ?1 AND expires_ms > ?2"),
            dismiss: e("INSERT INTO {p}popup_campaign (visitor, campaign, dismissed_ms) VALUES (?1, ?2, ?3) \
                        ON CONFLICT (visitor, campaign) DO UPDATE SET dismissed_ms = excluded.dismissed_ms"),
            convert: e("INSERT INTO {p}popup_campaign (visitor, campaign, converted) VALUES (?1, ?2, 1) \
                        ON CONFLICT (visitor, campaign) DO UPDATE SET converted = 1"),
            bind: e("INSERT INTO {p}popup_binding (key, token, expires_ms) SELECT ?1, ?2, ?3 \
                     WHERE EXISTS (SELECT 1 FROM {p}popup_token WHERE token = ?2 AND expires_ms > ?4) \
                     ON CONFLICT (key) DO UPDATE SET token = excluded.token, expires_ms = excluded.expires_ms"),
            resolve: e("SELECT token FROM {p}popup_binding WHERE key = ?1 AND expires_ms > ?2"),
            friend_event: e("INSERT INTO {p}popup_friend_event (event_id, day) VALUES (?1, ?2) ON CONFLICT DO NOTHING"),
            new_friend: e("INSERT INTO {p}popup_new_friend (day, count) VALUES (?1, 1) \
                           ON CONFLICT (day) DO UPDATE SET count = count + 1"),
            stats: e("SELECT campaign, variant, kind, count FROM {p}popup_stat WHERE day = ?1"),
            new_friends: e("SELECT count FROM {p}popup_new_friend WHERE day = ?1"),
            purge: ["popup_session", "popup_token", "popup_binding"].map(|t| {
                e(&format!(
                    "DELETE FROM {{p}}{t} WHERE rowid IN \
                     (SELECT rowid FROM {{p}}{t} WHERE expires_ms <= ?1 ORDER BY expires_ms LIMIT ?2)"
                ))
            }),
            purge_events: e("DELETE FROM {p}popup_friend_event WHERE rowid IN \
                             (SELECT rowid FROM {p}popup_friend_event WHERE day < ?1 ORDER BY day LIMIT ?2)"),
        }
    }
}

/// A [`PopupStore`] in a SQLite file. Cheap to clone.
#[derive(Clone)]
pub struct SqliteStore {
    db: SqliteDb,
    sql: Arc<Sql>,
    calls: Arc<AtomicU64>,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("db", &self.db)
            .finish_non_exhaustive()
    }
}

fn err(op: &'static str) -> impl FnOnce(line_core::store::sqlite::BoxError) -> Error {
    move |e| Error::store(op, e)
}

fn purge_due(calls: &AtomicU64) -> bool {
    calls.fetch_add(1, Ordering::Relaxed) % PURGE_EVERY == PURGE_EVERY - 1
}

fn attribution(visitor: String, campaign: String, variant: String, reserved_ms: i64) -> rusqlite::Result<Attribution> {
    let at = Timestamp::from_millisecond(reserved_ms)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(3, rusqlite::types::Type::Integer, Box::new(e)))?;
    Ok(Attribution::new(&visitor, &campaign, &variant, at))
}

impl SqliteStore {
    /// The store in `db`, tables under `line_`. Creates or upgrades its tables.
    pub async fn new(db: &SqliteDb) -> Result<Self, Error> {
        Self::with_prefix(db, line_core::store::DEFAULT_PREFIX).await
    }

    /// The store in `db` with tables under `prefix`.
    pub async fn with_prefix(db: &SqliteDb, prefix: &str) -> Result<Self, Error> {
        db.migrate("SqliteStore", prefix, "popup", MIGRATIONS)
            .await
            .map_err(|e| match e.kind() {
                line_core::ErrorKind::Config { reason, .. } => Error::config("prefix", reason.clone()),
                _ => Error::store("SqliteStore::migrate", e),
            })?;
        Ok(Self {
            db: db.clone(),
            sql: Arc::new(Sql::new(prefix)),
            calls: Arc::new(AtomicU64::new(0)),
        })
    }

    /// Deletes sessions, tokens and bindings that expired at `now`; returns how many rows.
    pub async fn purge_expired(&self, now: Timestamp) -> Result<u64, Error> {
        let sql = self.sql.clone();
        let now = now.as_millisecond();
        self.db
            .call(move |c| {
                let mut n = 0;
                for p in &sql.purge {
                    n += c.prepare_cached(p)?.execute(params![now, i64::MAX])? as u64;
                }
                Ok(n)
            })
            .await
            .map_err(err("SqliteStore::purge_expired"))
    }
}

#[async_trait]
impl PopupStore for SqliteStore {
    async fn reserve(&self, req: &ReserveRequest<'_>) -> Result<ReserveOutcome, Error> {
        let r = OwnedReserve::new(req)?;
        let sql = self.sql.clone();
        let purge = purge_due(&self.calls);
        self.db
            .call(move |c| {
                let (day, count): (String, i64) = c
                    .prepare_cached(&sql.visitor)?
                    .query_row([&r.visitor], |row| Ok((row.get(0)?, row.get(1)?)))
                    .optional()?
                    .unwrap_or_default();
                let day_count = if day == r.day { count } else { 0 };
                let mut rows = HashMap::with_capacity(r.candidates.len());
                let mut sessions = HashMap::new();
                for cand in &r.candidates {
                    if rows.contains_key(&cand.campaign) {
                        continue;
                    }
                    let row = c
                        .prepare_cached(&sql.campaign)?
                        .query_row([&r.visitor, &cand.campaign], |row| {
                            Ok(CampaignRow {
                                lifetime: row.get(0)?,
                                last_ms: row.get(1)?,
                                dismissed_ms: row.get(2)?,
                                converted: row.get::<_, i64>(3)? != 0,
                                window: row.get(4)?,
                            })
                        })
                        .optional()?;
                    if cand.caps.per_session.is_some() {
                        let n: Option<i64> = c
                            .prepare_cached(&sql.session)?
                            .query_row(params![r.visitor, cand.campaign, r.session, r.now_ms], |row| row.get(0))
                            .optional()?;
                        sessions.insert(cand.campaign.clone(), n.unwrap_or(0));
                    }
                    rows.insert(cand.campaign.clone(), row.unwrap_or_default());
                }
                let (chosen, skipped) = decide(&r, day_count, &rows, &sessions);
                let Some(chosen) = chosen else {
                    return Ok(ReserveOutcome::Blocked(skipped));
                };
                let cand = &r.candidates[chosen.index];
                c.prepare_cached(&sql.put_campaign)?.execute(params![
                    r.visitor,
                    cand.campaign,
                    r.now_ms,
                    chosen.window
                ])?;
                c.prepare_cached(&sql.put_session)?.execute(params![
                    r.visitor,
                    cand.campaign,
                    r.session,
                    r.session_exp_ms,
                    r.now_ms
                ])?;
                c.prepare_cached(&sql.put_visitor)?
                    .execute(params![r.visitor, r.day, day_count + 1])?;
                c.prepare_cached(&sql.put_token)?.execute(params![
                    r.token,
                    r.visitor,
                    cand.campaign,
                    cand.variant,
                    r.now_ms,
                    r.token_exp_ms
                ])?;
                c.prepare_cached(&sql.bump_stat)?.execute(params![
                    r.day,
                    cand.campaign,
                    cand.variant,
                    StatKind::Reserved.as_str()
                ])?;
                if purge {
                    for p in &sql.purge {
                        c.prepare_cached(p)?.execute(params![r.now_ms, PURGE_BATCH])?;
                    }
                }
                Ok(ReserveOutcome::Reserved {
                    index: chosen.index,
                    skipped,
                })
            })
            .await
            .map_err(err("SqliteStore::reserve"))
    }

    async fn record(&self, token: &str, kind: EventKind, now: Timestamp, day: &str) -> Result<Recorded, Error> {
        let sql = self.sql.clone();
        let (token, day, now) = (token.to_owned(), day.to_owned(), now.as_millisecond());
        self.db
            .call(move |c| {
                let marked = c
                    .prepare_cached(&sql.mark_event)?
                    .query_row(params![token, event_bit(kind), now], |row| {
                        Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
                    })
                    .optional()?;
                let Some((visitor, campaign, variant, at)) = marked else {
                    let known = c
                        .prepare_cached(&sql.token)?
                        .query_row(params![token, now], |row| {
                            attribution(row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)
                        })
                        .optional()?;
                    return Ok(known.map_or(Recorded::UnknownToken, Recorded::Duplicate));
                };
                let a = attribution(visitor, campaign, variant, at)?;
                if kind == EventKind::Dismissed {
                    c.prepare_cached(&sql.dismiss)?
                        .execute(params![a.visitor, a.campaign, now])?;
                } else if kind.is_conversion() {
                    c.prepare_cached(&sql.convert)?
                        .execute(params![a.visitor, a.campaign])?;
                }
                c.prepare_cached(&sql.bump_stat)?.execute(params![
                    day,
                    a.campaign,
                    a.variant,
                    StatKind::Event(kind).as_str()
                ])?;
                Ok(Recorded::New(a))
            })
            .await
            .map_err(err("SqliteStore::record"))
    }

    async fn bind(&self, key: &str, token: &str, now: Timestamp, ttl_secs: u64) -> Result<bool, Error> {
        let sql = self.sql.clone();
        let (key, token, now) = (key.to_owned(), token.to_owned(), now.as_millisecond());
        let exp = now.saturating_add(secs_to_ms(ttl_secs));
        self.db
            .call(move |c| Ok(c.prepare_cached(&sql.bind)?.execute(params![key, token, exp, now])? == 1))
            .await
            .map_err(err("SqliteStore::bind"))
    }

    async fn resolve(&self, key: &str, now: Timestamp) -> Result<Option<String>, Error> {
        let sql = self.sql.clone();
        let (key, now) = (key.to_owned(), now.as_millisecond());
        self.db
            .call(move |c| {
                Ok(c.prepare_cached(&sql.resolve)?
                    .query_row(params![key, now], |row| row.get(0))
                    .optional()?)
            })
            .await
            .map_err(err("SqliteStore::resolve"))
    }

    async fn count_new_friend(&self, event_id: Option<&str>, day: &str) -> Result<bool, Error> {
        let sql = self.sql.clone();
        let (event_id, day) = (event_id.map(str::to_owned), day.to_owned());
        let purge = purge_due(&self.calls);
        self.db
            .call(move |c| {
                if let Some(id) = &event_id {
                    if c.prepare_cached(&sql.friend_event)?.execute(params![id, day])? == 0 {
                        return Ok(false);
                    }
                    if purge {
                        if let Some(oldest) = oldest_kept_day(&day) {
                            c.prepare_cached(&sql.purge_events)?
                                .execute(params![oldest, PURGE_BATCH])?;
                        }
                    }
                }
                c.prepare_cached(&sql.new_friend)?.execute([&day])?;
                Ok(true)
            })
            .await
            .map_err(err("SqliteStore::count_new_friend"))
    }

    async fn stats(&self, days: &[String]) -> Result<Stats, Error> {
        let sql = self.sql.clone();
        let days = days.to_vec();
        self.db
            .call(move |c| {
                let mut out = Stats::default();
                for d in &days {
                    let mut stmt = c.prepare_cached(&sql.stats)?;
                    let mut rows = stmt.query([d])?;
                    while let Some(row) = rows.next()? {
                        let kind: String = row.get(2)?;
                        let kind =
                            StatKind::parse(&kind).ok_or_else(|| format!("unknown counter {kind:?} in popup_stat"))?;
                        let (campaign, variant): (String, String) = (row.get(0)?, row.get(1)?);
                        out.rows.push(StatRow::new(
                            d,
                            &campaign,
                            &variant,
                            kind,
                            row.get::<_, i64>(3)?.max(0) as u64,
                        ));
                    }
                    let nf: Option<i64> = c
                        .prepare_cached(&sql.new_friends)?
                        .query_row([d], |row| row.get(0))
                        .optional()?;
                    if let Some(n) = nf {
                        out.new_friends.push((d.clone(), n.max(0) as u64));
                    }
                }
                Ok(out)
            })
            .await
            .map_err(err("SqliteStore::stats"))
    }
}
