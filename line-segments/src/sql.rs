//! Compilation to portable SQL, for pushing a segment down to a warehouse.
//!
//! Given a host [`SqlMapping`] (which column holds each attribute, which table holds events), a
//! segment becomes one parameterized `SELECT` of the matching user IDs. The SQL uses only
//! `EXISTS`, correlated subqueries, `CASE`, `COALESCE`, `SUBSTR`, `CAST(… AS INTEGER)` and standard
//! aggregates, and runs on SQLite and PostgreSQL (choose the placeholder style with [`Placeholders`]).
//!
//! SQL's `NULL` logic is Kleene logic, so a predicate compiles to an expression that is `NULL`
//! exactly when the in-process evaluator says `unknown`, and `WHERE` keeps only `true` rows: SQL and
//! in-process evaluation agree (property tests check this on SQLite and on a PostgreSQL server).
//!
//! # Storage conventions
//!
//! - strings: text (compared byte-wise: SQLite's default; on PostgreSQL use a `C` collation, and a
//!   UTF-8 database so that `SUBSTR`, and so `starts_with`, counts characters);
//! - numbers: `REAL` / `DOUBLE PRECISION`; booleans: `BOOLEAN` (0/1 on SQLite);
//! - dates: ISO-8601 text `YYYY-MM-DD`; timestamps: integer seconds since the Unix epoch (`INTEGER`
//!   / `BIGINT`);
//! - a `string_set` attribute: a side table `(user, value)`, plus optionally a `known` column of the
//!   profile table that is `NULL` when the set itself is missing (without it, a missing set counts as
//!   empty, where in-process evaluation says unknown);
//! - events: one table `(user, name, at, property columns…)`;
//! - the profile table may have a `history_start` column (see partial history in the crate docs).
//!
//! Unsupported (an error naming the node): calendar tests on timestamps and `weekday` (no portable
//! time-zone or weekday functions), and LINE-only predicates.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::ast::*;
use crate::error::{push_ptr, Error, Result};
use crate::schema::AttrType;

/// Where the profile rows live.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileTable {
    /// The table name (may be `schema.table`).
    pub table: String,
    /// The user ID column (what the query returns).
    pub id: String,
    /// Optional column with the instant (epoch seconds) from which events are complete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history_start: Option<String>,
}

/// Where one attribute lives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged, deny_unknown_fields)]
pub enum SqlAttr {
    /// A column of the profile table.
    Column {
        /// The column.
        column: String,
        /// The attribute's type.
        #[serde(rename = "type")]
        ty: AttrType,
    },
    /// A `string_set` in a side table.
    Set {
        /// The side table.
        set_table: String,
        /// Its user ID column.
        user_column: String,
        /// Its value column.
        value_column: String,
        /// A profile-table column that is `NULL` when the set is missing.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        known: Option<String>,
    },
}

/// Where events live.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventTable {
    /// The table.
    pub table: String,
    /// The user ID column.
    pub user: String,
    /// The event name column.
    pub name: String,
    /// The time column (epoch seconds).
    pub at: String,
    /// Property name to column.
    #[serde(default)]
    pub props: BTreeMap<String, String>,
}

/// The host's mapping from segment names to tables and columns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SqlMapping {
    /// The profile table.
    pub profiles: ProfileTable,
    /// Attributes (first-party names, and `line.*` for LINE facts).
    #[serde(default)]
    pub attributes: BTreeMap<String, SqlAttr>,
    /// The event table, if events are stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<EventTable>,
}

/// Placeholder style.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Placeholders {
    /// `?` (SQLite, MySQL).
    #[default]
    Question,
    /// `CAST($1 AS TEXT)`, `CAST($2 AS BIGINT)`, … (PostgreSQL): numbered, and each cast to its
    /// parameter's type ([`SqlParam::sql_type`]).
    ///
    /// PostgreSQL gives a bare `$n` the type its context suggests (`integer` next to
    /// `CAST(… AS INTEGER)`, `bigint` next to a `BIGINT` time column), and its clients bind a value
    /// only to that type, so an [`SqlParam::Int`] would not bind to an `integer` nor an
    /// [`SqlParam::Real`] (a clock reading between seconds) to a `bigint`. With the cast, the type
    /// is the variant's: bind `Text` as text, `Int` as a 64-bit integer, `Real` as a double and
    /// `Bool` as a boolean.
    Dollar,
}

/// A query parameter.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum SqlParam {
    /// Text.
    Text(String),
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Real(f64),
    /// A boolean.
    Bool(bool),
}

impl SqlParam {
    /// The standard SQL type of the parameter (`TEXT`, `BIGINT`, `DOUBLE PRECISION` or `BOOLEAN`),
    /// which [`Placeholders::Dollar`] casts its placeholder to.
    pub fn sql_type(&self) -> &'static str {
        match self {
            SqlParam::Text(_) => "TEXT",
            SqlParam::Int(_) => "BIGINT",
            SqlParam::Real(_) => "DOUBLE PRECISION",
            SqlParam::Bool(_) => "BOOLEAN",
        }
    }
}

/// A parameterized query.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SqlQuery {
    /// The SQL text.
    pub sql: String,
    /// The parameters, in placeholder order.
    pub params: Vec<SqlParam>,
}

/// Quotes an identifier (each dotted part separately).
fn ident(name: &str) -> String {
    name.split('.')
        .map(|p| format!("\"{}\"", p.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(".")
}

struct Gen<'a> {
    map: &'a SqlMapping,
    params: Vec<SqlParam>,
    now: Timestamp,
    alias: usize,
}

const TRUE: &str = "(1=1)";
const FALSE: &str = "(1=0)";
const DAY: i64 = 86_400;

fn time_param(t: Timestamp) -> SqlParam {
    if t.subsec_nanosecond() == 0 {
        SqlParam::Int(t.as_second())
    } else {
        SqlParam::Real(t.as_nanosecond() as f64 / 1e9)
    }
}

impl Gen<'_> {
    /// Registers a parameter and returns a marker; `finish` replaces markers by placeholders in
    /// textual order, so the order parameters are created in does not matter.
    fn p(&mut self, v: SqlParam) -> String {
        self.params.push(v);
        format!("\u{1}{}\u{1}", self.params.len() - 1)
    }

    fn lit(&mut self, l: &Literal) -> String {
        let v = match l {
            Literal::Str(s) => SqlParam::Text(s.clone()),
            Literal::Num(n) => SqlParam::Real(*n),
            Literal::Bool(b) => SqlParam::Bool(*b),
            Literal::Date(d) => SqlParam::Text(d.to_string()),
            Literal::Time(t) => time_param(*t),
        };
        self.p(v)
    }

    fn secs_param(&mut self, secs: i128) -> String {
        let v = i64::try_from(secs).unwrap_or(if secs < 0 { i64::MIN } else { i64::MAX });
        self.p(SqlParam::Int(v))
    }

    fn now_param(&mut self) -> String {
        let now = self.now;
        self.p(time_param(now))
    }

    /// `now - secs` as a parameter.
    fn ago(&mut self, secs: i128) -> String {
        if self.now.subsec_nanosecond() == 0 {
            self.secs_param(i128::from(self.now.as_second()) - secs)
        } else {
            let v = self.now.as_nanosecond() as f64 / 1e9 - secs as f64;
            self.p(SqlParam::Real(v))
        }
    }

    fn column(&self, a: &Attr, ptr: &str) -> Result<(String, AttrType)> {
        match self.map.attributes.get(&a.json_name()) {
            Some(SqlAttr::Column { column, ty }) => Ok((format!("p.{}", ident(column)), *ty)),
            Some(SqlAttr::Set { .. }) => Err(Error::unsupported(
                &push_ptr(ptr, "attr"),
                format!("attribute `{a}` is a set; only `contains`, `exists` and `missing` apply"),
            )),
            None => Err(Error::unsupported(
                &push_ptr(ptr, "attr"),
                format!("the SQL mapping has no column for attribute `{a}`"),
            )),
        }
    }

    fn events(&self, ptr: &str) -> Result<&EventTable> {
        self.map
            .events
            .as_ref()
            .ok_or_else(|| Error::unsupported(ptr, "the SQL mapping has no event table"))
    }

    fn partial(&mut self, start: Option<String>) -> Option<String> {
        let hs = self.map.profiles.history_start.as_ref()?;
        let hs = format!("p.{}", ident(hs));
        Some(match start {
            Some(s) => format!("({hs} IS NOT NULL AND {hs} > {s})"),
            None => format!("({hs} IS NOT NULL)"),
        })
    }

    fn id_col(&self) -> String {
        format!("p.{}", ident(&self.map.profiles.id))
    }

    /// `FROM events e WHERE e.user = p.id AND e.name = ? AND <window> AND <filter>`
    fn event_from(&mut self, ev: &EventRef, window: Option<Window>, ptr: &str) -> Result<(String, String)> {
        let t = self.events(ptr)?.clone();
        self.alias += 1;
        let e = format!("e{}", self.alias);
        let mut sql = format!(
            "FROM {} {e} WHERE {e}.{} = {} AND {e}.{} = {}",
            ident(&t.table),
            ident(&t.user),
            self.id_col(),
            ident(&t.name),
            self.p(SqlParam::Text(ev.name.clone()))
        );
        if let Some(w) = window {
            let start = self.ago(i128::from(w.secs()));
            let _ = write!(sql, " AND {e}.{} > {start}", ident(&t.at));
        }
        let now = self.now_param();
        let _ = write!(sql, " AND {e}.{} <= {now}", ident(&t.at));
        sql.push_str(&self.filter(&t, &e, ev, ptr)?);
        Ok((sql, e))
    }

    fn filter(&mut self, t: &EventTable, e: &str, ev: &EventRef, ptr: &str) -> Result<String> {
        let mut sql = String::new();
        for (i, c) in ev.filter.iter().enumerate() {
            let col = t.props.get(&c.prop).ok_or_else(|| {
                Error::unsupported(
                    &push_ptr(&push_ptr(&push_ptr(ptr, "where"), i), "prop"),
                    format!("the SQL mapping has no column for event property `{}`", c.prop),
                )
            })?;
            let col = format!("{e}.{}", ident(col));
            match &c.test {
                PropTest::Cmp(op, l) => {
                    let v = self.lit(l);
                    let _ = write!(sql, " AND {col} {} {v}", sql_op(*op));
                }
                PropTest::In(ls) if ls.is_empty() => sql.push_str(&format!(" AND {FALSE}")),
                PropTest::In(ls) => {
                    let vs: Vec<String> = ls.iter().map(|l| self.lit(l)).collect();
                    let _ = write!(sql, " AND {col} IN ({})", vs.join(", "));
                }
            }
        }
        Ok(sql)
    }

    /// `x op days` where `days = floor((now - x) / 86400)`, as a range test on `x`.
    fn days_since(&mut self, x: &str, op: CmpOp, n: i64) -> String {
        let n = i128::from(n);
        let d = i128::from(DAY);
        match op {
            CmpOp::Ge => format!("({x} <= {})", self.ago(n * d)),
            CmpOp::Gt => format!("({x} <= {})", self.ago((n + 1) * d)),
            CmpOp::Le => format!("({x} > {})", self.ago((n + 1) * d)),
            CmpOp::Lt => format!("({x} > {})", self.ago(n * d)),
            CmpOp::Eq => {
                let lo = self.ago((n + 1) * d);
                let hi = self.ago(n * d);
                format!("({x} > {lo} AND {x} <= {hi})")
            }
            CmpOp::Ne => {
                let lo = self.ago((n + 1) * d);
                let hi = self.ago(n * d);
                format!("({x} <= {lo} OR {x} > {hi})")
            }
        }
    }

    fn seg(&mut self, s: &Segment, ptr: &str) -> Result<String> {
        Ok(match s {
            Segment::All(c) if c.is_empty() => TRUE.into(),
            Segment::Any(c) if c.is_empty() => FALSE.into(),
            Segment::All(c) | Segment::Any(c) => {
                let (key, joiner) = if matches!(s, Segment::All(_)) {
                    ("all", " AND ")
                } else {
                    ("any", " OR ")
                };
                let parts = c
                    .iter()
                    .enumerate()
                    .map(|(i, x)| self.seg(x, &format!("{ptr}/{key}/{i}")))
                    .collect::<Result<Vec<_>>>()?;
                format!("({})", parts.join(joiner))
            }
            Segment::Not(x) => format!("(NOT {})", self.seg(x, &format!("{ptr}/not"))?),
            Segment::Ref(name) => {
                return Err(Error::unsupported(
                    &push_ptr(ptr, "ref"),
                    format!("resolve the reference to `{name}` with a library first"),
                ))
            }
            Segment::Pred(p) => self.pred(p, ptr)?,
        })
    }

    #[allow(clippy::type_complexity)]
    fn set_parts(&self, a: &Attr, ptr: &str) -> Result<Option<(String, String, String, Option<String>)>> {
        match self.map.attributes.get(&a.json_name()) {
            Some(SqlAttr::Set {
                set_table,
                user_column,
                value_column,
                known,
            }) => Ok(Some((
                set_table.clone(),
                user_column.clone(),
                value_column.clone(),
                known.clone(),
            ))),
            Some(SqlAttr::Column { .. }) => Ok(None),
            None => Err(Error::unsupported(
                &push_ptr(ptr, "attr"),
                format!("the SQL mapping has no column for attribute `{a}`"),
            )),
        }
    }

    fn pred(&mut self, p: &Predicate, ptr: &str) -> Result<String> {
        Ok(match p {
            Predicate::Compare { attr, op, value } => {
                let (c, _) = self.column(attr, ptr)?;
                format!("({c} {} {})", sql_op(*op), self.lit(value))
            }
            Predicate::Between { attr, low, high } => {
                let (c, _) = self.column(attr, ptr)?;
                let lo = self.lit(low);
                let hi = self.lit(high);
                format!("({c} >= {lo} AND {c} <= {hi})")
            }
            Predicate::In { attr, values } => {
                let (c, _) = self.column(attr, ptr)?;
                if values.is_empty() {
                    FALSE.into()
                } else {
                    let vs: Vec<String> = values.iter().map(|l| self.lit(l)).collect();
                    format!("({c} IN ({}))", vs.join(", "))
                }
            }
            Predicate::Contains { attr, value } => {
                let Some((table, user, val, known)) = self.set_parts(attr, ptr)? else {
                    return Err(Error::unsupported(
                        &push_ptr(ptr, "attr"),
                        format!("`contains` needs attribute `{attr}` mapped as a set table"),
                    ));
                };
                self.alias += 1;
                let s = format!("s{}", self.alias);
                let id = self.id_col();
                let v = self.p(SqlParam::Text(value.clone()));
                let exists = format!(
                    "EXISTS (SELECT 1 FROM {} {s} WHERE {s}.{} = {id} AND {s}.{} = {v})",
                    ident(&table),
                    ident(&user),
                    ident(&val)
                );
                match known {
                    Some(k) => format!("(CASE WHEN p.{} IS NULL THEN NULL ELSE {exists} END)", ident(&k)),
                    None => format!("({exists})"),
                }
            }
            Predicate::StartsWith { attr, prefix } => {
                let (c, _) = self.column(attr, ptr)?;
                let n = prefix.chars().count();
                let v = self.p(SqlParam::Text(prefix.clone()));
                format!("(SUBSTR({c}, 1, {n}) = {v})")
            }
            Predicate::Exists(attr) | Predicate::Missing(attr) => {
                let is = if matches!(p, Predicate::Exists(_)) {
                    "IS NOT NULL"
                } else {
                    "IS NULL"
                };
                match self.set_parts(attr, ptr)? {
                    Some((_, _, _, Some(known))) => format!("(p.{} {is})", ident(&known)),
                    Some((_, _, _, None)) => {
                        return Err(Error::unsupported(
                            &push_ptr(ptr, "attr"),
                            format!("`exists`/`missing` on set `{attr}` needs its `known` column in the mapping"),
                        ))
                    }
                    None => {
                        let (c, _) = self.column(attr, ptr)?;
                        format!("({c} {is})")
                    }
                }
            }
            Predicate::Before { attr, at } | Predicate::After { attr, at } => {
                let (c, _) = self.column(attr, ptr)?;
                let op = if matches!(p, Predicate::Before { .. }) {
                    "<"
                } else {
                    ">"
                };
                format!("({c} {op} {})", self.lit(at))
            }
            Predicate::WithinLast { attr, window } => {
                let (c, _) = self.column(attr, ptr)?;
                let start = self.ago(i128::from(window.secs()));
                let now = self.now_param();
                format!("({c} > {start} AND {c} <= {now})")
            }
            Predicate::DaysSince { attr, op, days } => {
                let (c, _) = self.column(attr, ptr)?;
                self.days_since(&c, *op, *days)
            }
            Predicate::Calendar { unit, attr, tz, test } => {
                let (c, ty) = self.column(attr, ptr)?;
                if ty != AttrType::Date {
                    return Err(Error::unsupported(
                        ptr,
                        "calendar tests on timestamps need time-zone functions that portable SQL lacks; store a date",
                    ));
                }
                let from = match unit {
                    CalUnit::Month => 6,
                    CalUnit::Day => 9,
                    CalUnit::Weekday => {
                        return Err(Error::unsupported(ptr, "`weekday` has no portable SQL form"));
                    }
                };
                let field = format!("CAST(SUBSTR({c}, {from}, 2) AS INTEGER)");
                match test {
                    CalTest::Current => {
                        let zone = jiff::tz::TimeZone::get(tz)
                            .map_err(|_| Error::schema(&push_ptr(ptr, "tz"), format!("unknown time zone `{tz}`")))?;
                        let today = self.now.to_zoned(zone).date();
                        let cur = match unit {
                            CalUnit::Month => i64::from(today.month()),
                            _ => i64::from(today.day()),
                        };
                        format!("({field} = {})", self.p(SqlParam::Int(cur)))
                    }
                    CalTest::In(v) if v.is_empty() => format!("(CASE WHEN {c} IS NULL THEN NULL ELSE {FALSE} END)"),
                    CalTest::In(v) => {
                        let vs: Vec<String> = v.iter().map(|n| self.p(SqlParam::Int(*n))).collect();
                        format!("({field} IN ({}))", vs.join(", "))
                    }
                }
            }
            Predicate::Count {
                event,
                window,
                op,
                value,
            } => {
                let ep = push_ptr(ptr, "count");
                let full = {
                    let (from, _) = self.event_from(event, Some(*window), &ep)?;
                    let v = self.p(SqlParam::Int(*value));
                    format!("((SELECT COUNT(*) {from}) {} {v})", sql_op(*op))
                };
                let start = self.ago(i128::from(window.secs()));
                match self.partial(Some(start)) {
                    None => full,
                    Some(partial) => {
                        let (from, _) = self.event_from(event, Some(*window), &ep)?;
                        let cnt = format!("(SELECT COUNT(*) {from})");
                        let v = self.p(SqlParam::Int(*value));
                        let lower = match op {
                            CmpOp::Ge => format!("CASE WHEN {cnt} >= {v} THEN {TRUE} ELSE NULL END"),
                            CmpOp::Gt | CmpOp::Ne => format!("CASE WHEN {cnt} > {v} THEN {TRUE} ELSE NULL END"),
                            CmpOp::Le | CmpOp::Eq => format!("CASE WHEN {cnt} > {v} THEN {FALSE} ELSE NULL END"),
                            CmpOp::Lt => format!("CASE WHEN {cnt} >= {v} THEN {FALSE} ELSE NULL END"),
                        };
                        format!("(CASE WHEN {partial} THEN ({lower}) ELSE {full} END)")
                    }
                }
            }
            Predicate::Aggregate {
                func,
                event,
                property,
                window,
                op,
                value,
            } => {
                let ep = push_ptr(ptr, func.name());
                let t = self.events(&ep)?.clone();
                let col = t.props.get(property).ok_or_else(|| {
                    Error::unsupported(
                        &push_ptr(&ep, "property"),
                        format!("the SQL mapping has no column for event property `{property}`"),
                    )
                })?;
                let (from, e) = self.event_from(event, Some(*window), &ep)?;
                let x = format!("{e}.{}", ident(col));
                let agg = match func {
                    AggFunc::Sum => format!("COALESCE(SUM({x}), 0)"),
                    AggFunc::Min => format!("MIN({x})"),
                    AggFunc::Max => format!("MAX({x})"),
                    AggFunc::Avg => format!("AVG({x})"),
                };
                let v = self.p(SqlParam::Real(*value));
                let full = format!("((SELECT {agg} {from}) {} {v})", sql_op(*op));
                let start = self.ago(i128::from(window.secs()));
                match self.partial(Some(start)) {
                    None => full,
                    Some(partial) => format!("(CASE WHEN {partial} THEN NULL ELSE {full} END)"),
                }
            }
            Predicate::Occurrence {
                which,
                event,
                window,
                test,
            } => {
                let ep = push_ptr(ptr, which.name());
                let t = self.events(&ep)?.clone();
                let (from, e) = self.event_from(event, *window, &ep)?;
                let f = if *which == Which::First { "MIN" } else { "MAX" };
                let occ = format!("(SELECT {f}({e}.{}) {from})", ident(&t.at));
                let full = match test {
                    TimeTest::Before(l) | TimeTest::After(l) => {
                        let at = match l {
                            Literal::Date(d) => d
                                .to_zoned(jiff::tz::TimeZone::UTC)
                                .map(|z| time_param(z.timestamp()))
                                .map_err(|e| {
                                    Error::schema(&push_ptr(ptr, "before"), format!("date out of range: {e}"))
                                })?,
                            Literal::Time(ts) => time_param(*ts),
                            other => {
                                return Err(Error::schema(
                                    ptr,
                                    format!(
                                        "an occurrence time is compared with a date or timestamp, not a {}",
                                        other.type_name()
                                    ),
                                ))
                            }
                        };
                        let op = if matches!(test, TimeTest::Before(_)) { "<" } else { ">" };
                        format!("({occ} {op} {})", self.p(at))
                    }
                    TimeTest::DaysSince(op, n) => self.days_since(&occ, *op, *n),
                };
                if *which == Which::Last {
                    full
                } else {
                    let start = window.map(|w| self.ago(i128::from(w.secs())));
                    match self.partial(start) {
                        None => full,
                        Some(partial) => format!("(CASE WHEN {partial} THEN NULL ELSE {full} END)"),
                    }
                }
            }
            Predicate::Sequence {
                first,
                then_no,
                within,
                window,
            } => {
                let sp = push_ptr(ptr, "sequence");
                let t = self.events(&sp)?.clone();
                let (from_a, a) = self.event_from(first, Some(*window), &push_ptr(&sp, "did"))?;
                let old_enough = self.ago(i128::from(within.secs()));
                let at = ident(&t.at);
                let mut hit = format!("EXISTS (SELECT 1 {from_a} AND {a}.{at} <= {old_enough}");
                if let Some(hs) = &self.map.profiles.history_start {
                    let hs = format!("p.{}", ident(hs));
                    let _ = write!(hit, " AND ({hs} IS NULL OR {a}.{at} >= {hs})");
                }
                self.alias += 1;
                let b = format!("e{}", self.alias);
                let name_b = self.p(SqlParam::Text(then_no.name.clone()));
                let w = self.secs_param(i128::from(within.secs()));
                let filter_b = self.filter(&t, &b, then_no, &push_ptr(&sp, "then_no"))?;
                let _ = write!(
                    hit,
                    " AND NOT EXISTS (SELECT 1 FROM {} {b} WHERE {b}.{user} = {a}.{user} AND {b}.{name} = {name_b} AND {b}.{at} > {a}.{at} AND {b}.{at} <= {a}.{at} + {w}{filter_b}))",
                    ident(&t.table),
                    user = ident(&t.user),
                    name = ident(&t.name),
                );
                let start = self.ago(i128::from(window.secs()));
                match self.partial(Some(start)) {
                    None => format!("({hit})"),
                    Some(partial) => format!("(CASE WHEN {hit} THEN {TRUE} WHEN {partial} THEN NULL ELSE {FALSE} END)"),
                }
            }
            Predicate::Demographic(_) | Predicate::Audience(_) | Predicate::Redelivery(_) => {
                return Err(Error::unsupported(
                    ptr,
                    "this predicate is known only to LINE and has no SQL form; compile to a narrowcast plan",
                ))
            }
        })
    }
}

fn sql_op(op: CmpOp) -> &'static str {
    match op {
        CmpOp::Eq => "=",
        CmpOp::Ne => "<>",
        CmpOp::Lt => "<",
        CmpOp::Le => "<=",
        CmpOp::Gt => ">",
        CmpOp::Ge => ">=",
    }
}

/// Compiles a segment (without references) to a query returning the matching user IDs, ordered.
///
/// `now` is fixed into the parameters, like the in-process evaluator's clock reading.
pub fn compile(segment: &Segment, mapping: &SqlMapping, now: Timestamp, style: Placeholders) -> Result<SqlQuery> {
    segment.check_depth()?;
    let mut g = Gen {
        map: mapping,
        params: Vec::new(),
        now,
        alias: 0,
    };
    let cond = g.seg(segment, "")?;
    let id = g.id_col();
    let sql = format!(
        "SELECT {id} FROM {} p WHERE {cond} ORDER BY {id}",
        ident(&mapping.profiles.table)
    );
    Ok(finish(&sql, g.params, style))
}

fn finish(marked: &str, params: Vec<SqlParam>, style: Placeholders) -> SqlQuery {
    let mut sql = String::with_capacity(marked.len());
    let mut ordered = Vec::with_capacity(params.len());
    let mut parts = marked.split('\u{1}');
    if let Some(first) = parts.next() {
        sql.push_str(first);
    }
    while let (Some(index), Some(text)) = (parts.next(), parts.next()) {
        if let Some(v) = index.parse::<usize>().ok().and_then(|i| params.get(i)) {
            ordered.push(v.clone());
            match style {
                Placeholders::Question => sql.push('?'),
                Placeholders::Dollar => {
                    let _ = write!(sql, "CAST(${} AS {})", ordered.len(), v.sql_type());
                }
            }
        }
        sql.push_str(text);
    }
    SqlQuery { sql, params: ordered }
}
