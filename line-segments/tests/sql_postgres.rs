//! SQL compilation, run on a real PostgreSQL server and compared with in-process evaluation.
//!
//! The server is `LINE_SEGMENTS_PG_URL` (default `postgres://line:line@127.0.0.1:5432/line_segments`;
//! `bash line-segments/ci-setup.sh` starts one). With `CI` set, a missing server fails these tests;
//! without it they are skipped with a notice.
//!
//! Each test has a connection of its own and keeps its tables in that session's temporary schema
//! (`pg_temp.profiles`, …): parallel tests and parallel runs never see each other's rows, and the
//! server drops the tables when the connection ends, even after a panic. The random cases each load
//! their profiles in a transaction that is rolled back, so one set of tables serves them all.
//!
//! Random cases per run: 1,000 in the agreement property (each a segment and its negation, on 1 to
//! 11 random profiles), 300 segments on one population of 300 profiles, and 300 more that also check
//! that the random segments split their profiles.

mod common;

use std::cell::RefCell;
use std::io::Write as _;
use std::sync::Once;
use std::time::{Duration, Instant};

use common::*;
use jiff::{SignedDuration, Timestamp};
use line_segments::profile::{Event, Profile, Value};
use line_segments::sql::{self, Placeholders, SqlMapping, SqlParam, SqlQuery};
use line_segments::{text, Segment};
use postgres::types::ToSql;
use postgres::{Client, GenericClient, NoTls};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;

const DEFAULT_URL: &str = "postgres://line:line@127.0.0.1:5432/line_segments";

fn pg_url() -> String {
    std::env::var("LINE_SEGMENTS_PG_URL").unwrap_or_else(|_| DEFAULT_URL.into())
}

/// A connection with this test's (temporary) tables, or `None` (after a notice) when there is no
/// server and `CI` is not set.
fn connect() -> Option<Client> {
    let url = pg_url();
    let connected = url
        .parse::<postgres::Config>()
        .and_then(|mut c| c.connect_timeout(Duration::from_secs(5)).connect(NoTls));
    let mut client = match connected {
        Ok(c) => c,
        Err(e) => {
            let why = match std::error::Error::source(&e) {
                Some(s) => format!("{e}: {s}"),
                None => e.to_string(),
            };
            if std::env::var_os("CI").is_some() {
                panic!("PostgreSQL is required in CI (run `bash line-segments/ci-setup.sh`): {url}: {why}");
            }
            // Straight to stderr, past the test harness's capture, once for all the tests.
            static NOTICE: Once = Once::new();
            NOTICE.call_once(|| {
                let _ = writeln!(
                    std::io::stderr(),
                    "SKIPPED: line-segments' PostgreSQL tests: no server at {url} ({why}); \
                     run `bash line-segments/ci-setup.sh`"
                );
            });
            return None;
        }
    };
    // Strings compare byte-wise (the `C` collation), as in process and on SQLite.
    client
        .batch_execute(
            r#"CREATE TEMPORARY TABLE profiles (user_id TEXT COLLATE "C" PRIMARY KEY, s1 TEXT COLLATE "C",
                s2 TEXT COLLATE "C", n1 DOUBLE PRECISION, n2 DOUBLE PRECISION, b1 BOOLEAN, tags_known BOOLEAN,
                d1 TEXT COLLATE "C", t1 BIGINT, is_friend BOOLEAN, blocked BOOLEAN, id_linked BOOLEAN,
                friend_since BIGINT, friend_source TEXT COLLATE "C", store TEXT COLLATE "C", history_start BIGINT);
             CREATE TEMPORARY TABLE profile_tags (user_id TEXT COLLATE "C", value TEXT COLLATE "C");
             CREATE TEMPORARY TABLE events (user_id TEXT COLLATE "C", name TEXT COLLATE "C", at BIGINT,
                amount DOUBLE PRECISION, category TEXT COLLATE "C");
             CREATE INDEX ON events (user_id, name, at);
             CREATE INDEX ON profile_tags (user_id, value);"#,
        )
        .expect("create the test tables");
    Some(client)
}

/// The SQLite test's mapping, with the tables named through the session's temporary schema (which
/// also checks that `schema.table` names are quoted part by part).
fn mapping() -> SqlMapping {
    sql_mapping("pg_temp.")
}

type Row = Vec<Box<dyn ToSql + Sync>>;

/// Inserts rows with multi-row `INSERT`s (PostgreSQL takes at most 65,535 parameters a statement).
fn insert(db: &mut impl GenericClient, table: &str, rows: Vec<Row>) -> Result<(), postgres::Error> {
    let Some(width) = rows.first().map(Vec::len) else {
        return Ok(());
    };
    for chunk in rows.chunks(60_000 / width) {
        let mut sql = format!("INSERT INTO {table} VALUES ");
        let mut n = 0;
        for (i, _) in chunk.iter().enumerate() {
            sql.push_str(if i == 0 { "(" } else { ", (" });
            for j in 0..width {
                n += 1;
                sql.push_str(&format!("{}${n}", if j == 0 { "" } else { ", " }));
            }
            sql.push(')');
        }
        let params: Vec<&(dyn ToSql + Sync)> = chunk.iter().flatten().map(|b| &**b as _).collect();
        db.execute(&sql, &params)?;
    }
    Ok(())
}

fn load(db: &mut impl GenericClient, profiles: &[Profile]) -> Result<(), postgres::Error> {
    let (mut prows, mut trows, mut erows): (Vec<Row>, Vec<Row>, Vec<Row>) = Default::default();
    for p in profiles {
        let s = |k: &str| match p.attributes.get(k) {
            Some(Value::Str(s)) => Some(s.clone()),
            Some(Value::Date(d)) => Some(d.to_string()),
            _ => None,
        };
        let n = |k: &str| match p.attributes.get(k) {
            Some(Value::Num(n)) => Some(*n),
            _ => None,
        };
        let t = |k: &str| match p.attributes.get(k) {
            Some(Value::Time(t)) => Some(t.as_second()),
            _ => None,
        };
        let b1 = match p.attributes.get("b1") {
            Some(Value::Bool(b)) => Some(*b),
            _ => None,
        };
        let tags = match p.attributes.get("tags") {
            Some(Value::Set(v)) => Some(v.clone()),
            _ => None,
        };
        prows.push(vec![
            Box::new(p.id.to_string()),
            Box::new(s("s1")),
            Box::new(s("s2")),
            Box::new(n("n1")),
            Box::new(n("n2")),
            Box::new(b1),
            Box::new(tags.as_ref().map(|_| true)),
            Box::new(s("d1")),
            Box::new(t("t1")),
            Box::new(p.line.is_friend),
            Box::new(p.line.blocked),
            Box::new(p.line.id_linked),
            Box::new(p.line.friend_since.map(|t| t.as_second())),
            Box::new(p.line.friend_source.clone()),
            Box::new(p.line.store.clone()),
            Box::new(p.history_start.map(|t| t.as_second())),
        ]);
        for tag in tags.unwrap_or_default() {
            trows.push(vec![Box::new(p.id.to_string()), Box::new(tag)]);
        }
        for e in &p.events {
            let amount = match e.prop("amount") {
                Some(Value::Num(n)) => Some(*n),
                _ => None,
            };
            let category = match e.prop("category") {
                Some(Value::Str(s)) => Some(s.clone()),
                _ => None,
            };
            erows.push(vec![
                Box::new(p.id.to_string()),
                Box::new(e.name.to_string()),
                Box::new(e.at.as_second()),
                Box::new(amount),
                Box::new(category),
            ]);
        }
    }
    insert(db, "pg_temp.profiles", prows)?;
    insert(db, "pg_temp.profile_tags", trows)?;
    insert(db, "pg_temp.events", erows)
}

/// Runs a query; the error shows PostgreSQL's message with the SQL.
fn run(db: &mut impl GenericClient, q: &SqlQuery) -> Result<Vec<String>, String> {
    let params: Vec<Box<dyn ToSql + Sync>> = q
        .params
        .iter()
        .map(|p| -> Box<dyn ToSql + Sync> {
            match p {
                SqlParam::Text(s) => Box::new(s.clone()),
                SqlParam::Int(i) => Box::new(*i),
                SqlParam::Real(r) => Box::new(*r),
                SqlParam::Bool(b) => Box::new(*b),
            }
        })
        .collect();
    let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|b| &**b as _).collect();
    let rows = db.query(&q.sql, &refs).map_err(|e| {
        let detail = e.as_db_error().map(|d| d.to_string()).unwrap_or_else(|| e.to_string());
        format!("{detail}\nsql: {}\nparams: {:?}", q.sql, q.params)
    })?;
    Ok(rows.iter().map(|r| r.get::<_, String>(0)).collect())
}

fn compile(seg: &Segment, now: Timestamp) -> SqlQuery {
    sql::compile(seg, &mapping(), now, Placeholders::Dollar).unwrap()
}

/// [`NOW`], or half a second after it: the clock reading need not be a whole second, and then the
/// time parameters are not integers.
fn clock(half_second: bool) -> Timestamp {
    if half_second {
        now() + SignedDuration::from_millis(500)
    } else {
        now()
    }
}

/// The agreement property, as on SQLite: on random segments and random profiles, the same members
/// in SQL as in process, and for the negation too.
#[test]
fn postgres_agrees_with_in_process_evaluation() {
    let Some(db) = connect() else { return };
    let db = RefCell::new(db);
    let mut runner = TestRunner::new(ProptestConfig {
        cases: 1000,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let cases = (sql_segment(), profiles(1..12), any::<bool>());
    let result = runner.run(&cases, |(seg, ps, half_second)| {
        let mut db = db.borrow_mut();
        // Dropping the transaction rolls the profiles back.
        let mut tx = db.transaction().unwrap();
        load(&mut tx, &ps).unwrap();
        let now = clock(half_second);
        let got = run(&mut tx, &compile(&seg, now));
        prop_assert_eq!(got, Ok(in_process(&seg, &ps, now)), "segment: {}", text::print(&seg));
        // The negation agrees too, which checks unknown (NULL) against unknown.
        let neg = seg.clone().not();
        let got = run(&mut tx, &compile(&neg, now));
        prop_assert_eq!(got, Ok(in_process(&neg, &ps, now)), "negated: {}", text::print(&seg));
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}\n{runner}");
    }
}

/// Many random segments against one larger population, loaded once.
#[test]
fn random_segments_on_a_larger_population() {
    let Some(mut db) = connect() else { return };
    let mut runner = TestRunner::deterministic();
    let ps = profiles(300..301).new_tree(&mut runner).unwrap().current();
    load(&mut db, &ps).unwrap();
    let started = Instant::now();
    for i in 0..300 {
        let seg = sql_segment().new_tree(&mut runner).unwrap().current();
        let now = clock(i % 2 == 1);
        for s in [seg.clone(), seg.clone().not()] {
            let got = run(&mut db, &compile(&s, now)).unwrap_or_else(|e| panic!("{}\n{e}", text::print(&s)));
            assert_eq!(got, in_process(&s, &ps, now), "{}", text::print(&s));
        }
    }
    eprintln!("600 queries over 300 profiles in {:?}", started.elapsed());
}

/// The random cases are not trivial: many segments select some but not all profiles.
#[test]
fn random_cases_select_some_but_not_all() {
    let Some(mut db) = connect() else { return };
    let mut runner = TestRunner::deterministic();
    let (mut mixed, mut checked) = (0, 0);
    for _ in 0..300 {
        let seg = sql_segment().new_tree(&mut runner).unwrap().current();
        let ps = profiles(8..9).new_tree(&mut runner).unwrap().current();
        let mut tx = db.transaction().unwrap();
        load(&mut tx, &ps).unwrap();
        let got = run(&mut tx, &compile(&seg, now())).unwrap();
        assert_eq!(got, in_process(&seg, &ps, now()), "{}", text::print(&seg));
        checked += 1;
        if !got.is_empty() && got.len() < ps.len() {
            mixed += 1;
        }
    }
    assert!(
        mixed * 5 > checked,
        "only {mixed} of {checked} random cases split the profiles"
    );
}

/// Checks hand-written segments against in-process evaluation and an expected member list.
fn check(db: &mut Client, profiles: &[Profile], now: Timestamp, cases: &[(&str, &[&str])]) {
    let mut tx = db.transaction().unwrap();
    load(&mut tx, profiles).unwrap();
    for (src, want) in cases {
        let seg = text::parse(src).unwrap();
        let got = run(&mut tx, &compile(&seg, now)).unwrap_or_else(|e| panic!("{src}: {e}"));
        assert_eq!(got, in_process(&seg, profiles, now), "{src}: SQL and in process differ");
        assert_eq!(got, *want, "{src}");
    }
}

fn ago(secs: i64) -> Timestamp {
    now() - SignedDuration::from_secs(secs)
}

#[test]
fn cart_abandonment_on_postgres() {
    let Some(mut db) = connect() else { return };
    let ps = [
        // Viewed two hours ago and never bought: abandoned.
        Profile::new("U1").with_event(Event::new("view", ago(7200))),
        // Bought half an hour after viewing.
        Profile::new("U2")
            .with_event(Event::new("view", ago(7200)))
            .with_event(Event::new("purchase", ago(5400))),
        // Viewed half an hour ago: the hour is not over yet.
        Profile::new("U3").with_event(Event::new("view", ago(1800))),
        // Bought only after the hour.
        Profile::new("U4")
            .with_event(Event::new("view", ago(3 * 3600)))
            .with_event(Event::new("purchase", ago(3600))),
    ];
    let seg = text::parse("sequence(view then no purchase within 1h, 7d)").unwrap();
    let q = compile(&seg, now());
    assert!(q.sql.contains("NOT EXISTS"), "{}", q.sql);
    check(
        &mut db,
        &ps,
        now(),
        &[
            ("sequence(view then no purchase within 1h, 7d)", &["U1", "U4"]),
            ("not sequence(view then no purchase within 1h, 7d)", &["U2", "U3"]),
        ],
    );
}

/// PostgreSQL-specific storage: byte-wise string order needs the `C` collation, and `SUBSTR` counts
/// characters only in a UTF-8 database; booleans are real `BOOLEAN`s; calendar fields are cut from
/// ISO date text and compared with integer parameters; aggregates run on `DOUBLE PRECISION`.
#[test]
fn typed_comparisons_on_postgres() {
    let Some(mut db) = connect() else { return };
    let d = |s: &str| Value::Date(s.parse().unwrap());
    let ps = [
        Profile::new("U1")
            .with_attr("s1", Value::Str("B".into()))
            .with_attr("b1", Value::Bool(true))
            .with_attr("d1", d("2025-05-15"))
            .with_attr("n1", Value::Num(1.5))
            .with_event(Event::new("purchase", ago(3600)).with("amount", Value::Num(2.0)))
            .with_event(Event::new("purchase", ago(7200)).with("amount", Value::Num(3.0))),
        Profile::new("U2")
            .with_attr("s1", Value::Str("a".into()))
            .with_attr("b1", Value::Bool(false))
            .with_attr("d1", d("2024-12-01"))
            .with_attr("n1", Value::Num(-2.0))
            .with_event(Event::new("purchase", ago(3600)).with("amount", Value::Num(7.0))),
        Profile::new("U3")
            .with_attr("s1", Value::Str("éa".into()))
            .with_attr("d1", d("2026-01-31")),
        Profile::new("U4").with_attr("s1", Value::Str("ébc".into())),
    ];
    check(
        &mut db,
        &ps,
        now(),
        &[
            (r#"s1 < "a""#, &["U1"]),
            (r#"s1 > "z""#, &["U3", "U4"]),
            (r#"s1 between "B" and "a""#, &["U1", "U2"]),
            (r#"s1 starts_with "é""#, &["U3", "U4"]),
            (r#"s1 starts_with "éa""#, &["U3"]),
            ("b1", &["U1"]),
            ("b1 = false", &["U2"]),
            ("b1 != true", &["U2"]),
            ("n1 > 1", &["U1"]),
            ("n1 in [1.5, -2]", &["U1", "U2"]),
            (r#"month(d1, "Asia/Tokyo") = current"#, &["U1"]),
            (r#"month(d1, "Asia/Tokyo") in [1, 12]"#, &["U2", "U3"]),
            (r#"day(d1, "Asia/Tokyo") in [1, 31]"#, &["U2", "U3"]),
            ("d1 before 2025-01-01", &["U2"]),
            ("d1 between 2025-01-01 and 2026-12-31", &["U1", "U3"]),
            ("sum(purchase.amount, 1d) = 5", &["U1"]),
            ("avg(purchase.amount, 1d) > 3", &["U2"]),
            ("min(purchase.amount, 1d) <= 2", &["U1"]),
            ("count(purchase, 90m) >= 1", &["U1", "U2"]),
            ("count(purchase, 90m) >= 2", &[]),
        ],
    );
}

/// The clock reading need not be a whole second: time parameters are then real numbers, compared
/// with the integer (`BIGINT`) time columns.
#[test]
fn a_clock_between_seconds() {
    let Some(mut db) = connect() else { return };
    let ps = [
        Profile::new("U1")
            .with_attr("t1", Value::Time(ago(3600)))
            .with_event(Event::new("view", now())),
        Profile::new("U2")
            .with_attr("t1", Value::Time(ago(86_400)))
            .with_event(Event::new("view", ago(86_400))),
    ];
    check(
        &mut db,
        &ps,
        clock(true),
        &[
            ("t1 within 1d", &["U1"]),
            ("t1 within 86400s", &["U1"]),
            ("days_since(t1) >= 1", &["U2"]),
            ("count(view, 1d) >= 1", &["U1"]),
            ("days_since(last(view)) = 0", &["U1"]),
        ],
    );
}

#[test]
fn dollar_placeholders_are_numbered_in_text_order_and_typed() {
    let seg = text::parse(r#"s1 = "a" and count(purchase, 30d) >= 2 and n1 between 1 and 3 and b1"#).unwrap();
    let q = compile(&seg, now());
    let mut expected = 1;
    let mut rest = q.sql.as_str();
    while let Some(i) = rest.find('$') {
        let digits: String = rest[i + 1..].chars().take_while(|c| c.is_ascii_digit()).collect();
        let n = digits.parse::<usize>().unwrap();
        assert_eq!(n, expected, "{}", q.sql);
        // PostgreSQL infers each parameter's type from its cast, so a client binds exactly the
        // `SqlParam` variant.
        let ty = match &q.params[n - 1] {
            SqlParam::Text(_) => "TEXT",
            SqlParam::Int(_) => "BIGINT",
            SqlParam::Real(_) => "DOUBLE PRECISION",
            SqlParam::Bool(_) => "BOOLEAN",
        };
        assert!(rest[..i].ends_with("CAST("), "{}", q.sql);
        assert!(
            rest[i + 1 + digits.len()..].starts_with(&format!(" AS {ty})")),
            "{}",
            q.sql
        );
        expected += 1;
        rest = &rest[i + 1..];
    }
    assert_eq!(expected - 1, q.params.len());
    assert_eq!(q.params[0], SqlParam::Text("a".into()));
    assert!(!q.sql.contains('?'));
    // The SQLite form is unchanged: bare `?`.
    let q = sql::compile(&seg, &mapping(), now(), Placeholders::Question).unwrap();
    assert!(!q.sql.contains("CAST(?"), "{}", q.sql);
    assert_eq!(q.sql.matches('?').count(), q.params.len());
}

#[test]
fn unsupported_nodes_are_named() {
    assert_unsupported_nodes_are_named(Placeholders::Dollar);
}

/// `SUBSTR` counts characters (as in process and on SQLite) only in a UTF-8 database.
#[test]
fn the_database_is_utf8() {
    let Some(mut db) = connect() else { return };
    let enc: String = db
        .query_one("SELECT current_setting('server_encoding')", &[])
        .unwrap()
        .get(0);
    assert_eq!(enc, "UTF8", "create the database with ENCODING 'UTF8'");
}
