//! [`PgNoticeStore`]: notices in PostgreSQL, shared by many processes (feature
//! `postgres`).
//!
//! Built on line-core's [`PgPool`]. Every state change is one `UPDATE … WHERE state IN
//! (…) RETURNING` statement: row locking makes it a compare-and-set, so of a delivery
//! webhook and a fallback racing on one notice, in any processes, exactly one moves it.
//! A delivery is up to three single statements (deliver, else note a late delivery,
//! else count an unknown tag); states only move forward, so no interleaving of them
//! changes the outcome.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use jiff::Timestamp;
use line_core::store::postgres::{query_planned, PgPool, TypedParam};
use line_core::store::DEFAULT_PREFIX;
use tokio_postgres::types::Type;
use tokio_postgres::Row;

use crate::error::Error;
use crate::sql::{ts, BoxError, ChangeCols, Corrupt, RawNotice};
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
  created_ms BIGINT NOT NULL,
  due_ms BIGINT NOT NULL,
  updated_ms BIGINT NOT NULL,
  delivered_ms BIGINT,
  line_request_id TEXT
);
CREATE INDEX {p}pnp_notice_due ON {p}pnp_notice (due_ms) WHERE state IN ('pending', 'accepted', 'falling_back');
CREATE TABLE {p}pnp_unknown_delivery (
  data TEXT PRIMARY KEY,
  first_ms BIGINT NOT NULL,
  count BIGINT NOT NULL,
  seq BIGSERIAL NOT NULL
);
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
    extra_counts: String,
}

impl Sql {
    fn new(p: &str) -> Self {
        let e = |s: &str| s.replace("{p}", p).replace("{cols}", COLUMNS);
        Self {
            insert: e(
                "INSERT INTO {p}pnp_notice ({cols}) VALUES ($1, $2, $3, 'pending', NULL, $4, $5, $4, NULL, NULL) \
                       ON CONFLICT (tag) DO NOTHING RETURNING {cols}",
            ),
            get: e("SELECT {cols} FROM {p}pnp_notice WHERE tag = $1"),
            apply: e(
                "UPDATE {p}pnp_notice SET state = $2, fallback = COALESCE($3, fallback), \
                      due_ms = COALESCE($4, due_ms), line_request_id = COALESCE($5, line_request_id), updated_ms = $6 \
                      WHERE tag = $1 AND state IN ($7, $8) AND (NOT $9 OR due_ms <= $6) RETURNING {cols}",
            ),
            deliver: e(
                "UPDATE {p}pnp_notice SET state = 'delivered', delivered_ms = $2, updated_ms = $2 \
                        WHERE tag = $1 AND state IN ('pending', 'accepted') RETURNING {cols}",
            ),
            late: e("UPDATE {p}pnp_notice SET delivered_ms = COALESCE(delivered_ms, $2), \
                     updated_ms = CASE WHEN delivered_ms IS NULL THEN $2 ELSE updated_ms END \
                     WHERE tag = $1 AND state NOT IN ('pending', 'accepted') RETURNING {cols}"),
            unknown: e(
                "INSERT INTO {p}pnp_unknown_delivery AS u (data, first_ms, count) VALUES ($1, $2, 1) \
                        ON CONFLICT (data) DO UPDATE SET count = u.count + 1 RETURNING data, first_ms, count",
            ),
            due: e(
                "SELECT {cols} FROM {p}pnp_notice WHERE state IN ('pending', 'accepted', 'falling_back') \
                    AND due_ms <= $1 ORDER BY due_ms, tag LIMIT $2",
            ),
            unknowns: e("SELECT data, first_ms, count FROM {p}pnp_unknown_delivery ORDER BY seq"),
            counts: e("SELECT state, COUNT(*) FROM {p}pnp_notice GROUP BY state"),
            extra_counts: e("SELECT \
                (SELECT COUNT(*) FROM {p}pnp_notice WHERE delivered_ms IS NOT NULL AND state <> 'delivered'), \
                (SELECT COUNT(*) FROM {p}pnp_unknown_delivery)"),
        }
    }
}

/// A [`NoticeStore`] in PostgreSQL (feature `postgres`).
pub struct PgNoticeStore {
    pool: PgPool,
    sql: Arc<Sql>,
}

impl fmt::Debug for PgNoticeStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgNoticeStore")
            .field("pool", &self.pool)
            .finish_non_exhaustive()
    }
}

fn raw(r: &Row) -> Result<RawNotice, BoxError> {
    Ok(RawNotice {
        tag: r.try_get(0)?,
        phone: r.try_get(1)?,
        sms_text: r.try_get(2)?,
        state: r.try_get(3)?,
        fallback: r.try_get(4)?,
        created_ms: r.try_get(5)?,
        due_ms: r.try_get(6)?,
        updated_ms: r.try_get(7)?,
        delivered_ms: r.try_get(8)?,
        line_request_id: r.try_get(9)?,
    })
}

fn record(r: Option<Row>) -> Result<Option<NoticeRecord>, BoxError> {
    r.map(|r| raw(&r)?.into_record()).transpose()
}

fn store_err(op: &str) -> impl FnOnce(BoxError) -> Error + '_ {
    move |e| Error::store(format!("PgNoticeStore::{op}"), e)
}

impl PgNoticeStore {
    /// The store in `pool`, tables under [`DEFAULT_PREFIX`]. Creates or upgrades its tables.
    pub async fn new(pool: &PgPool) -> Result<Self, Error> {
        Self::with_prefix(pool, DEFAULT_PREFIX).await
    }

    /// The store in `pool` with tables under `prefix`.
    pub async fn with_prefix(pool: &PgPool, prefix: &str) -> Result<Self, Error> {
        pool.migrate("PgNoticeStore", prefix, "pnp", MIGRATIONS).await?;
        Ok(Self {
            pool: pool.clone(),
            sql: Arc::new(Sql::new(prefix)),
        })
    }

    async fn opt(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Option<Row>, BoxError> {
        let conn = self.pool.get().await?;
        let c = conn.client();
        let stmt = c.prepare_cached(sql).await?;
        Ok(c.query_opt(&stmt, params).await?)
    }
}

#[async_trait]
impl NoticeStore for PgNoticeStore {
    async fn insert(&self, notice: NewNotice, now: Timestamp) -> Result<Insert, Error> {
        let run = async {
            let created = self
                .opt(
                    &self.sql.insert,
                    &[
                        &notice.tag.as_str(),
                        &notice.phone.expose_e164(),
                        &notice.sms_text,
                        &now.as_millisecond(),
                        &notice.due_at.as_millisecond(),
                    ],
                )
                .await?;
            if let Some(r) = record(created)? {
                return Ok(Insert::Created(r));
            }
            let existing = record(self.opt(&self.sql.get, &[&notice.tag.as_str()]).await?)?;
            existing
                .map(Insert::Existing)
                .ok_or_else(|| Box::new(Corrupt("tag")) as BoxError)
        };
        run.await.map_err(store_err("insert"))
    }

    async fn get(&self, tag: &DeliveryTag) -> Result<Option<NoticeRecord>, Error> {
        let run = async { record(self.opt(&self.sql.get, &[&tag.as_str()]).await?) };
        run.await.map_err(store_err("get"))
    }

    async fn apply(&self, tag: &DeliveryTag, change: &Change, now: Timestamp) -> Result<Option<NoticeRecord>, Error> {
        let c = ChangeCols::of(change);
        let run = async {
            record(
                self.opt(
                    &self.sql.apply,
                    &[
                        &tag.as_str(),
                        &c.state,
                        &c.fallback,
                        &c.due_ms,
                        &c.request_id,
                        &now.as_millisecond(),
                        &c.from[0],
                        &c.from[1],
                        &c.only_if_due,
                    ],
                )
                .await?,
            )
        };
        run.await.map_err(store_err("apply"))
    }

    async fn record_delivery(&self, data: &str, now: Timestamp) -> Result<DeliveryMatch, Error> {
        let ms = now.as_millisecond();
        let run = async {
            if let Some(r) = record(self.opt(&self.sql.deliver, &[&data, &ms]).await?)? {
                return Ok(DeliveryMatch::Delivered(Box::new(r)));
            }
            if let Some(r) = record(self.opt(&self.sql.late, &[&data, &ms]).await?)? {
                return Ok(if r.state == NoticeState::Delivered {
                    DeliveryMatch::Repeated(Box::new(r))
                } else {
                    DeliveryMatch::Late(Box::new(r))
                });
            }
            let row = self
                .opt(&self.sql.unknown, &[&data, &ms])
                .await?
                .ok_or_else(|| Box::new(Corrupt("data")) as BoxError)?;
            let (d, first, count): (String, i64, i64) = (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
            Ok(DeliveryMatch::Unknown(UnknownDelivery::new(
                d,
                ts(first)?,
                count as u64,
            )))
        };
        run.await.map_err(store_err("record_delivery"))
    }

    async fn due(&self, now: Timestamp, limit: usize) -> Result<Vec<NoticeRecord>, Error> {
        let run = async {
            let conn = self.pool.get().await?;
            let c = conn.client();
            // Planned on each call: the notices waiting come and go (see `query_planned`).
            let (now, limit) = (now.as_millisecond(), limit.min(i64::MAX as usize) as i64);
            let p: [TypedParam<'_>; 2] = [(&now, Type::INT8), (&limit, Type::INT8)];
            let rows = query_planned(c, &self.sql.due, &p).await?;
            rows.iter()
                .map(|r| raw(r)?.into_record())
                .collect::<Result<Vec<_>, BoxError>>()
        };
        run.await.map_err(store_err("due"))
    }

    async fn unknown_deliveries(&self) -> Result<Vec<UnknownDelivery>, Error> {
        let run = async {
            let conn = self.pool.get().await?;
            let c = conn.client();
            let stmt = c.prepare_cached(&self.sql.unknowns).await?;
            let mut out = Vec::new();
            for r in c.query(&stmt, &[]).await? {
                let (d, first, count): (String, i64, i64) = (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
                out.push(UnknownDelivery::new(d, ts(first)?, count as u64));
            }
            Ok::<_, BoxError>(out)
        };
        run.await.map_err(store_err("unknown_deliveries"))
    }

    async fn counts(&self) -> Result<NoticeCounts, Error> {
        let run = async {
            let conn = self.pool.get().await?;
            let c = conn.client();
            let mut counts = NoticeCounts::default();
            let stmt = c.prepare_cached(&self.sql.counts).await?;
            for r in c.query(&stmt, &[]).await? {
                let (state, n): (String, i64) = (r.try_get(0)?, r.try_get(1)?);
                let state = NoticeState::from_name(&state).ok_or_else(|| Box::new(Corrupt("state")) as BoxError)?;
                *counts.slot(state) = n as u64;
            }
            let stmt = c.prepare_cached(&self.sql.extra_counts).await?;
            let row = c.query_one(&stmt, &[]).await?;
            counts.late_deliveries = row.try_get::<_, i64>(0)? as u64;
            counts.unknown_deliveries = row.try_get::<_, i64>(1)? as u64;
            Ok::<_, BoxError>(counts)
        };
        run.await.map_err(store_err("counts"))
    }
}
