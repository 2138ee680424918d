//! SQL compilation, run on SQLite and compared with in-process evaluation.

mod common;

use common::*;
use line_segments::profile::{Profile, Value};
use line_segments::sql::{self, Placeholders, SqlMapping, SqlParam};
use line_segments::text;
use proptest::prelude::*;
use rusqlite::{params_from_iter, Connection};

fn mapping() -> SqlMapping {
    sql_mapping("")
}

fn load(profiles: &[Profile]) -> Connection {
    let db = Connection::open_in_memory().unwrap();
    db.execute_batch(
        "CREATE TABLE profiles (user_id TEXT PRIMARY KEY, s1 TEXT, s2 TEXT, n1 REAL, n2 REAL, b1 BOOLEAN,
            tags_known INTEGER, d1 TEXT, t1 INTEGER, is_friend BOOLEAN, blocked BOOLEAN, id_linked BOOLEAN,
            friend_since INTEGER, friend_source TEXT, store TEXT, history_start INTEGER);
         CREATE TABLE profile_tags (user_id TEXT, value TEXT);
         CREATE TABLE events (user_id TEXT, name TEXT, at INTEGER, amount REAL, category TEXT);
         CREATE INDEX events_user ON events (user_id, name, at);",
    )
    .unwrap();
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
        db.execute(
            "INSERT INTO profiles VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            rusqlite::params![
                p.id.as_str(),
                s("s1"),
                s("s2"),
                n("n1"),
                n("n2"),
                b1,
                tags.as_ref().map(|_| 1),
                s("d1"),
                t("t1"),
                p.line.is_friend,
                p.line.blocked,
                p.line.id_linked,
                p.line.friend_since.map(|t| t.as_second()),
                p.line.friend_source,
                p.line.store,
                p.history_start.map(|t| t.as_second()),
            ],
        )
        .unwrap();
        for tag in tags.unwrap_or_default() {
            db.execute(
                "INSERT INTO profile_tags VALUES (?, ?)",
                rusqlite::params![p.id.as_str(), tag],
            )
            .unwrap();
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
            db.execute(
                "INSERT INTO events VALUES (?, ?, ?, ?, ?)",
                rusqlite::params![p.id.as_str(), e.name, e.at.as_second(), amount, category],
            )
            .unwrap();
        }
    }
    db
}

fn run(db: &Connection, q: &sql::SqlQuery) -> Vec<String> {
    let params = q.params.iter().map(|p| match p {
        SqlParam::Text(s) => rusqlite::types::Value::Text(s.clone()),
        SqlParam::Int(i) => rusqlite::types::Value::Integer(*i),
        SqlParam::Real(r) => rusqlite::types::Value::Real(*r),
        SqlParam::Bool(b) => rusqlite::types::Value::Integer(i64::from(*b)),
    });
    let mut stmt = db.prepare(&q.sql).unwrap_or_else(|e| panic!("{e}\n{}", q.sql));
    stmt.query_map(params_from_iter(params), |r| r.get::<_, String>(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn sqlite_agrees_with_in_process_evaluation(seg in sql_segment(), ps in profiles(1..12)) {
        let db = load(&ps);
        let q = sql::compile(&seg, &mapping(), now(), Placeholders::Question).unwrap();
        let got = run(&db, &q);
        let want = in_process(&seg, &ps, now());
        prop_assert_eq!(got, want, "segment: {}\nsql: {}", text::print(&seg), q.sql);
        // The negation agrees too, which checks unknown (NULL) against unknown.
        let neg = seg.clone().not();
        let q = sql::compile(&neg, &mapping(), now(), Placeholders::Question).unwrap();
        prop_assert_eq!(run(&db, &q), in_process(&neg, &ps, now()), "negated: {}", text::print(&seg));
    }
}

#[test]
fn dollar_placeholders_are_numbered_in_text_order() {
    let seg = text::parse(r#"s1 = "a" and count(purchase, 30d) >= 2 and n1 between 1 and 3"#).unwrap();
    let q = sql::compile(&seg, &mapping(), now(), Placeholders::Dollar).unwrap();
    let mut expected = 1;
    let mut rest = q.sql.as_str();
    while let Some(i) = rest.find('$') {
        let digits: String = rest[i + 1..].chars().take_while(|c| c.is_ascii_digit()).collect();
        assert_eq!(digits.parse::<usize>().unwrap(), expected, "{}", q.sql);
        expected += 1;
        rest = &rest[i + 1..];
    }
    assert_eq!(expected - 1, q.params.len());
    assert_eq!(q.params[0], SqlParam::Text("a".into()));
    assert!(!q.sql.contains('?'));
}

#[test]
fn cart_abandonment_in_sql() {
    let seg = text::parse("sequence(view then no purchase within 1h, 7d)").unwrap();
    let q = sql::compile(&seg, &mapping(), now(), Placeholders::Question).unwrap();
    assert!(q.sql.contains("NOT EXISTS"), "{}", q.sql);
}

#[test]
fn unsupported_nodes_are_named() {
    assert_unsupported_nodes_are_named(Placeholders::Question);
}

/// The random cases are not trivial: many segments select some but not all profiles.
#[test]
fn random_cases_select_some_but_not_all() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let (mut mixed, mut checked) = (0, 0);
    for _ in 0..300 {
        let seg = sql_segment().new_tree(&mut runner).unwrap().current();
        let ps = profiles(8..9).new_tree(&mut runner).unwrap().current();
        let db = load(&ps);
        let q = sql::compile(&seg, &mapping(), now(), Placeholders::Question).unwrap();
        let got = run(&db, &q);
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
