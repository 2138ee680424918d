//! [`SqliteNoticeStore`]: notices in a SQLite file (feature `sqlite`).
//!
//! Built on line-core's [`SqliteDb`]: one connection thread per file, each call one
//! transaction under the database's write lock (`BEGIN IMMEDIATE`), so every
//! compare-and-set on a notice's state is atomic, also between processes sharing the
//! file. The tables (`{prefix}pnp_notice`, `{prefix}pnp_unknown_delivery`) are created
//! and upgraded by the store (component `pnp` in `{prefix}schema_version`).

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use jiff::Timestamp;
use line_core::store::sqlite::{BoxError, SqliteDb};
use line_core::store::DEFAULT_PREFIX;
use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::error::Error;
use crate::sql::{ts, ChangeCols, Corrupt, RawNotice};
use crate::store::{
    Change, DeliveryMatch, Insert, NewNotice, NoticeCounts, NoticeRecord, NoticeState, NoticeStore, UnknownDelivery,
};
use crate::tag::DeliveryTag;

const MIGRATIONS: &[&str] = &["
CREATE TABLE {p}pnp_notice (
  tag TEXT PRIMARY KEY,
  phone TEXT NOT NULL,
  sms_text TEXT NOT NULL,
  state TEXT NOT NULL,
  fallback TEXT,
  created_ms INTEGER NOT NULL,
  due_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL,
  delivered_ms INTEGER,
  line_request_id TEXT
) WITHOUT ROWID;
CREATE INDEX {p}pnp_notice_due ON {p}pnp_notice (due_ms) WHERE state IN ('pending', 'accepted', 'falling_back');
CREATE TABLE {p}pnp_unknown_delivery (
  data TEXT PRIMARY KEY,
  first_ms INTEGER NOT NULL,
  count INTEGER NOT NULL,
  seq INTEGER NOT NULL
) WITHOUT ROWID;
"];

const COLUMNS: &str =
    "tag, phone, sms_text, state, fallback, created_ms, due_ms, updated_ms, delivered_ms, line_request_id";

struct Sql {
    insert: String,
    get: String,
    apply: String,
    deliver: String,
    late: String,
    unknown: String,
    due: String,
    unknowns: String,
    counts: String,
    late_count: String,
    unknown_count: String,
}

impl Sql {
    fn new(p: &str) -> Self {
        let e = |s: &str| s.replace("{p}", p).replace("{cols}", COLUMNS);
        Self {
            insert: e(
                "INSERT INTO {p}pnp_notice ({cols}) VALUES (?1, ?2, ?3, 'pending', NULL, ?4, ?5, ?4, NULL, NULL) \
                       ON CONFLICT (tag) DO NOTHING",
            ),
            get: e("SELECT {cols} FROM {p}pnp_notice WHERE tag = ?1"),
            // ?2 new state, ?3 fallback (kept if NULL), ?4 due (kept if NULL), ?5 request id (kept
            // if NULL), ?6 now, ?7 ?8 the states it applies from, ?9 only if due by now.
            apply: e(
                "UPDATE {p}pnp_notice SET state = ?2, fallback = COALESCE(?3, fallback), \
                      due_ms = COALESCE(?4, due_ms), line_request_id = COALESCE(?5, line_request_id), updated_ms = ?6 \
                      WHERE tag = ?1 AND state IN (?7, ?8) AND (?9 = 0 OR due_ms <= ?6) RETURNING {cols}",
            ),
            deliver: e(
                "UPDATE {p}pnp_notice SET state = 'delivered', delivered_ms = ?2, updated_ms = ?2 \
                        WHERE tag = ?1 AND state IN ('pending', 'accepted') RETURNING {cols}",
            ),
            late: e("UPDATE {p}pnp_notice SET delivered_ms = COALESCE(delivered_ms, ?2), \
                     updated_ms = CASE WHEN delivered_ms IS NULL THEN ?2 ELSE updated_ms END \
                     WHERE tag = ?1 RETURNING {cols}"),
            unknown: e("INSERT INTO {p}pnp_unknown_delivery (data, first_ms, count, seq) \
                        VALUES (?1, ?2, 1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM {p}pnp_unknown_delivery)) \
                        ON CONFLICT (data) DO UPDATE SET count = count + 1 RETURNING data, first_ms, count"),
            due: e(
                "SELECT {cols} FROM {p}pnp_notice WHERE state IN ('pending', 'accepted', 'falling_back') \
                    AND due_ms <= ?1 ORDER BY due_ms, tag LIMIT ?2",
            ),
            unknowns: e("SELECT data, first_ms, count FROM {p}pnp_unknown_delivery ORDER BY seq"),
            counts: e("SELECT state, COUNT(*) FROM {p}pnp_notice GROUP BY state"),
            late_count: e("SELECT COUNT(*) FROM {p}pnp_notice WHERE delivered_ms IS NOT NULL AND state <> 'delivered'"),
            unknown_count: e("SELECT COUNT(*) FROM {p}pnp_unknown_delivery"),
        }
    }
}

/// A [`NoticeStore`] in a SQLite file (feature `sqlite`).
pub struct SqliteNoticeStore {
    db: SqliteDb,
    sql: Arc<Sql>,
}

impl fmt::Debug for SqliteNoticeStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteNoticeStore")
            .field("db", &self.db)
            .finish_non_exhaustive()
    }
}

fn raw(r: &Row<'_>) -> rusqlite::Result<RawNotice> {
    Ok(RawNotice {
        tag: r.get(0)?,
        phone: r.get(1)?,
        sms_text: r.get(2)?,
        state: r.get(3)?,
        fallback: r.get(4)?,
        created_ms: r.get(5)?,
        due_ms: r.get(6)?,
        updated_ms: r.get(7)?,
        delivered_ms: r.get(8)?,
        line_request_id: r.get(9)?,
    })
}

fn one(conn: &Connection, sql: &str, p: impl rusqlite::Params) -> Result<Option<NoticeRecord>, BoxError> {
    let found = conn.prepare_cached(sql)?.query_row(p, raw).optional()?;
    found.map(RawNotice::into_record).transpose()
}

impl SqliteNoticeStore {
    /// The store in `db`, tables under [`DEFAULT_PREFIX`]. Creates or upgrades its tables.
    pub async fn new(db: &SqliteDb) -> Result<Self, Error> {
        Self::with_prefix(db, DEFAULT_PREFIX).await
    }

    /// The store in `db` with tables under `prefix`.
    pub async fn with_prefix(db: &SqliteDb, prefix: &str) -> Result<Self, Error> {
        db.migrate("SqliteNoticeStore", prefix, "pnp", MIGRATIONS).await?;
        Ok(Self {
            db: db.clone(),
            sql: Arc::new(Sql::new(prefix)),
        })
    }

    async fn call<T, F>(&self, op: &'static str, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&Connection, &Sql) -> Result<T, BoxError> + Send + 'static,
    {
        let sql = Arc::clone(&self.sql);
        self.db
            .call(move |conn| f(conn, &sql))
            .await
            .map_err(|e| Error::store(format!("SqliteNoticeStore::{op}"), e))
    }
}

#[async_trait]
impl NoticeStore for SqliteNoticeStore {
    async fn insert(&self, notice: NewNotice, now: Timestamp) -> Result<Insert, Error> {
        self.call("insert", move |conn, sql| {
            let n = conn.prepare_cached(&sql.insert)?.execute(params![
                notice.tag.as_str(),
                notice.phone.expose_e164(),
                notice.sms_text,
                now.as_millisecond(),
                notice.due_at.as_millisecond(),
            ])?;
            let r = one(conn, &sql.get, [notice.tag.as_str()])?.ok_or_else(|| Box::new(Corrupt("tag")) as BoxError)?;
            Ok(if n == 1 {
                Insert::Created(r)
            } else {
                Insert::Existing(r)
            })
        })
        .await
    }

    async fn get(&self, tag: &DeliveryTag) -> Result<Option<NoticeRecord>, Error> {
        let tag = tag.as_str().to_owned();
        self.call("get", move |conn, sql| one(conn, &sql.get, [tag])).await
    }

    async fn apply(&self, tag: &DeliveryTag, change: &Change, now: Timestamp) -> Result<Option<NoticeRecord>, Error> {
        let tag = tag.as_str().to_owned();
        let c = ChangeCols::of(change);
        self.call("apply", move |conn, sql| {
            one(
                conn,
                &sql.apply,
                params![
                    tag,
                    c.state,
                    c.fallback,
                    c.due_ms,
                    c.request_id,
                    now.as_millisecond(),
                    c.from[0],
                    c.from[1],
                    i64::from(c.only_if_due),
                ],
            )
        })
        .await
    }

    async fn record_delivery(&self, data: &str, now: Timestamp) -> Result<DeliveryMatch, Error> {
        let data = data.to_owned();
        self.call("record_delivery", move |conn, sql| {
            let ms = now.as_millisecond();
            if let Some(r) = one(conn, &sql.deliver, params![data, ms])? {
                return Ok(DeliveryMatch::Delivered(Box::new(r)));
            }
            if let Some(r) = one(conn, &sql.late, params![data, ms])? {
                return Ok(if r.state == NoticeState::Delivered {
                    DeliveryMatch::Repeated(Box::new(r))
                } else {
                    DeliveryMatch::Late(Box::new(r))
                });
            }
            let (d, first, count): (String, i64, i64) = conn
                .prepare_cached(&sql.unknown)?
                .query_row(params![data, ms], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            Ok(DeliveryMatch::Unknown(UnknownDelivery::new(
                d,
                ts(first)?,
                count as u64,
            )))
        })
        .await
    }

    async fn due(&self, now: Timestamp, limit: usize) -> Result<Vec<NoticeRecord>, Error> {
        self.call("due", move |conn, sql| {
            let mut stmt = conn.prepare_cached(&sql.due)?;
            let rows = stmt.query_map(params![now.as_millisecond(), limit as i64], raw)?;
            let mut out = Vec::new();
            for r in rows {
                out.push(r?.into_record()?);
            }
            Ok(out)
        })
        .await
    }

    async fn unknown_deliveries(&self) -> Result<Vec<UnknownDelivery>, Error> {
        self.call("unknown_deliveries", move |conn, sql| {
            let mut stmt = conn.prepare_cached(&sql.unknowns)?;
            let rows = stmt.query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
            })?;
            let mut out = Vec::new();
            for r in rows {
                let (d, first, count) = r?;
                out.push(UnknownDelivery::new(d, ts(first)?, count as u64));
            }
            Ok(out)
        })
        .await
    }

    async fn counts(&self) -> Result<NoticeCounts, Error> {
        self.call("counts", move |conn, sql| {
            let mut c = NoticeCounts::default();
            let mut stmt = conn.prepare_cached(&sql.counts)?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
            for row in rows {
                let (state, n) = row?;
                let state = NoticeState::from_name(&state).ok_or_else(|| Box::new(Corrupt("state")) as BoxError)?;
                *c.slot(state) = n as u64;
            }
            c.late_deliveries = conn
                .prepare_cached(&sql.late_count)?
                .query_row([], |r| r.get::<_, i64>(0))? as u64;
            c.unknown_deliveries = conn
                .prepare_cached(&sql.unknown_count)?
                .query_row([], |r| r.get::<_, i64>(0))? as u64;
            Ok(c)
        })
        .await
    }
}
