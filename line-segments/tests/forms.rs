//! Text and JSON forms, schema checks, named segments and the profile source.

use line_segments::library::Library;
use line_segments::profile::parse_jsonl;
use line_segments::schema::{AttrType, Schema};
use line_segments::{json, text, ErrorKind, Place, Segment};
use serde_json::json;

fn parse_err(src: &str) -> (usize, usize, Vec<String>, String) {
    match text::parse(src).unwrap_err().into_kind() {
        ErrorKind::Parse {
            place: Place::Text { line, column },
            expected,
            found,
        } => (line, column, expected, found),
        other => panic!("{src}: {other:?}"),
    }
}

#[test]
fn the_issue_example_parses_to_the_documented_json() {
    let seg =
        text::parse(r#"gender = "female" and "cosmetics" in interests and id_linked and count(purchase, 90d) >= 2"#)
            .unwrap();
    assert_eq!(
        json::to_json(&seg).unwrap(),
        json!({"all": [
            {"attr": "gender", "op": "eq", "value": "female"},
            {"attr": "interests", "op": "contains", "value": "cosmetics"},
            {"attr": "line.id_linked", "op": "eq", "value": true},
            {"count": {"event": "purchase"}, "window": "90d", "op": "ge", "value": 2}
        ]})
    );
    assert_eq!(
        text::print(&seg),
        r#"gender = "female" and "cosmetics" in interests and id_linked and count(purchase, 90d) >= 2"#
    );
}

#[test]
fn marketing_examples_parse_and_print_stably() {
    for src in [
        // Unpurchased users, and second purchases.
        "count(purchase, 365d) = 0",
        "count(purchase, 365d) = 1 and days_since(last(purchase)) >= 7",
        // ¥X more to reach REINE (¥50,000 a year), and birthday-month coupons.
        "sum(purchase.amount, 365d) >= 40000 and sum(purchase.amount, 365d) < 50000",
        r#"month(birthday, "Asia/Tokyo") = current and is_friend and not blocked"#,
        // Cart abandonment: added to cart, and no purchase within an hour.
        "sequence(add_to_cart then no purchase within 1h, 7d)",
        // Clicked, from a flyer or the store.
        r#"count(click where campaign = "spring", 30d) >= 1 and line.friend_source in ["flyer", "store"]"#,
        r#"(demo.gender("female") or audience(123)) and not segment("vip")"#,
        "last_login within 30d and signup_at before 2026-01-01T00:00:00Z and birthday after 1990-01-01",
        "sequence(add_to_cart where sku = \"x\" and qty >= 2 then no purchase where sku = \"x\" within 2h, 14d)",
        "`weird name` = 1 and `and` = true and a.b.c",
    ] {
        let seg = text::parse(src).unwrap_or_else(|e| panic!("{src}: {e}"));
        let printed = text::print(&seg);
        assert_eq!(text::parse(&printed).unwrap(), seg, "{src} -> {printed}");
        let back = json::from_json(&json::to_json(&seg).unwrap()).unwrap();
        assert_eq!(back, seg);
    }
}

#[test]
fn parse_errors_give_line_column_and_expectation() {
    let (l, c, exp, found) = parse_err("gender = \"female\" and\n  count(purchase 90d) >= 2");
    assert_eq!((l, c), (2, 18));
    assert!(exp.iter().any(|e| e.contains("`,`")), "{exp:?}");
    assert_eq!(found, "window 90d");
    let (l, c, exp, _) = parse_err("age >");
    assert_eq!((l, c), (1, 6));
    assert!(exp[0].contains("literal"));
    let (l, c, _, found) = parse_err("x = \"unterminated");
    assert_eq!((l, c, found.as_str()), (1, 5, "end of line"));
    let (_, c, _, found) = parse_err("x = 1 y = 2");
    assert_eq!((c, found.as_str()), (7, "`y`"));
    let (_, _, exp, _) = parse_err(r#"demo.gender("other")"#);
    assert!(exp[0].contains("male"));
    let (_, _, _, found) = parse_err("line.nope = 1");
    assert_eq!(found, "`nope`");
    let (_, c, _, _) = parse_err("count(purchase, 90x) > 1");
    assert_eq!(c, 17);
    let err = text::parse("a = 1 and").unwrap_err();
    assert_eq!(
        err.to_string(),
        "syntax error at line 1, column 10: expected a predicate, `not` or `(`, found end of input"
    );
}

#[test]
fn json_errors_name_the_pointer() {
    for (doc, ptr, needle) in [
        (
            json!({"all": [{"attr": "a", "op": "eq"}]}),
            "/all/0",
            "missing required key `value`",
        ),
        (
            json!({"any": [{"attr": "a", "op": "like", "value": 1}]}),
            "/any/0/op",
            "unknown operator",
        ),
        (
            json!({"not": {"count": {"event": "p"}, "window": "9x", "op": "ge", "value": 1}}),
            "/not/window",
            "invalid window",
        ),
        (
            json!({"attr": "a", "op": "eq", "value": 1, "extra": 2}),
            "/extra",
            "unexpected key",
        ),
        (
            json!({"attr": "line.nope", "op": "exists"}),
            "/attr",
            "unknown LINE fact",
        ),
        (
            json!({"demographic": {"type": "age", "gte": "age_21"}}),
            "/demographic/gte",
            "age_20",
        ),
        (
            json!({"demographic": {"type": "gender", "oneOf": ["x"]}}),
            "/demographic/oneOf/0",
            "not a LINE gender",
        ),
        (
            json!({"attr": "t", "op": "before", "value": {"timestamp": "yesterday"}}),
            "/value/timestamp",
            "invalid RFC 3339",
        ),
        (json!({"all": [{"nope": 1}]}), "/all/0", "not a segment node"),
        (json!([1]), "", "expected a segment node"),
    ] {
        let err = json::from_json(&doc).unwrap_err();
        match err.kind() {
            ErrorKind::Json {
                place: Place::Pointer(p),
                message,
            } => {
                assert_eq!(p, ptr, "{doc}: {err}");
                assert!(message.contains(needle), "{doc}: {message}");
            }
            other => panic!("{other:?}"),
        }
    }
    let err = json::from_json_str("{\"all\": [\n  1,]}").unwrap_err();
    assert!(matches!(err.place(), Some(Place::Text { line: 2, .. })), "{err}");
}

fn schema() -> Schema {
    Schema::new()
        .attribute("gender", AttrType::String)
        .attribute("interests", AttrType::StringSet)
        .attribute("age", AttrType::Number)
        .attribute("birthday", AttrType::Date)
        .event(
            "purchase",
            [("amount", AttrType::Number), ("category", AttrType::String)],
        )
}

#[test]
fn schema_checks_name_the_place() {
    let src = "gender = 3 and\n\"x\" in age and nope = 1 and count(purchase where color = \"r\", 0d) >= 1\nand sum(purchase.category, 7d) > 1 and month(birthday, \"Mars/Base\") = 13\nand sequence(purchase then no purchase within 7d, 7d) and age between 9 and 3";
    let (seg, map) = text::parse_with_map(src).unwrap();
    let errs: Vec<(String, String)> = schema()
        .check(&seg)
        .into_iter()
        .map(|e| {
            let pointer = match e.place() {
                Some(Place::Pointer(p)) => p.clone(),
                other => panic!("{other:?}"),
            };
            let located = map.locate(e);
            (pointer, located.to_string())
        })
        .collect();
    let pointers: Vec<&str> = errs.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        pointers,
        vec![
            "/all/0/value",
            "/all/1/op",
            "/all/2/attr",
            "/all/3/count/where/0/prop",
            "/all/3/window",
            "/all/4/sum/property",
            "/all/5/tz",
            "/all/5/in/0",
            "/all/6/sequence/within",
            "/all/7/value",
        ]
    );
    assert!(
        errs[0]
            .1
            .starts_with("schema check failed at line 1, column 1: type mismatch"),
        "{}",
        errs[0].1
    );
    assert!(errs[1].1.contains("line 2, column 1"), "{}", errs[1].1);
    assert!(errs[2].1.contains("unknown attribute `nope`"), "{}", errs[2].1);
    assert!(errs[4].1.contains("impossible window"), "{}", errs[4].1);
    assert!(errs[9].1.contains("impossible range"), "{}", errs[9].1);
    assert!(schema()
        .check(&text::parse(r#"gender = "f" and age >= 20"#).unwrap())
        .is_empty());
}

#[test]
fn named_segments_resolve_and_cycles_are_reported() {
    let mut lib = Library::new();
    lib.insert("buyers", text::parse("count(purchase, 90d) >= 1").unwrap());
    lib.insert("loyal", text::parse(r#"segment("buyers") and age >= 30"#).unwrap());
    let resolved = lib
        .resolve(&text::parse(r#"segment("loyal") or vip"#).unwrap())
        .unwrap();
    assert_eq!(
        text::print(&resolved),
        "(count(purchase, 90d) >= 1 and age >= 30) or vip = true"
    );
    lib.insert("a", text::parse(r#"segment("b")"#).unwrap());
    lib.insert("b", text::parse(r#"vip and segment("c")"#).unwrap());
    lib.insert("c", text::parse(r#"not segment("a")"#).unwrap());
    let err = lib.resolve(&text::parse(r#"segment("a")"#).unwrap()).unwrap_err();
    assert_eq!(
        err.kind(),
        &ErrorKind::Cycle {
            path: vec!["a".into(), "b".into(), "c".into(), "a".into()]
        }
    );
    assert_eq!(err.to_string(), "named segments form a cycle: a -> b -> c -> a");
    assert!(lib.validate().is_err());
    let err = lib
        .resolve(&text::parse(r#"vip or segment("missing")"#).unwrap())
        .unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::UnknownSegment { name, place: Place::Pointer(p) } if name == "missing" && p == "/any/1/ref")
    );
    // A library is JSON too.
    let as_json = serde_json::to_value(&lib).unwrap();
    let back: Library = serde_json::from_value(as_json).unwrap();
    assert_eq!(back, lib);
}

#[test]
fn profile_jsonl_parses_and_reports_line_and_pointer() {
    let schema = schema().attribute("signup_at", AttrType::Timestamp);
    let text = r#"
# comment
{"id": "U1", "attributes": {"gender": "female", "interests": ["a"], "birthday": "1990-05-03", "signup_at": "2026-01-01T00:00:00Z", "age": null}, "line": {"id_linked": true, "friend_since": "2025-01-01T00:00:00Z"}, "events": [{"name": "purchase", "at": "2026-05-01T00:00:00Z", "props": {"amount": 5}}], "history_start": "2025-01-01T00:00:00Z"}
{"id": "U2"}
"#;
    let ps = parse_jsonl(text, Some(&schema)).unwrap();
    assert_eq!(ps.len(), 2);
    assert!(!ps[0].attributes.contains_key("age"));
    assert!(matches!(
        ps[0].attributes.get("birthday"),
        Some(line_segments::profile::Value::Date(_))
    ));
    let back = line_segments::profile::Profile::from_json(&ps[0].to_json(), None).unwrap();
    assert_eq!(back, ps[0]);
    let bad = "{\"id\": \"U1\"}\n{\"id\": \"U2\", \"events\": [{\"name\": \"x\", \"at\": \"noon\"}]}";
    let err = parse_jsonl(bad, None).unwrap_err();
    assert_eq!(
        err.place(),
        Some(&Place::JsonLine {
            line: 2,
            pointer: "/events/0/at".into()
        })
    );
    match err.kind() {
        ErrorKind::Json { place, .. } => assert_eq!(
            place,
            &Place::JsonLine {
                line: 2,
                pointer: "/events/0/at".into()
            }
        ),
        other => panic!("{other:?}"),
    }
    let err = parse_jsonl("{\"id\": 1}", None).unwrap_err();
    assert!(err.to_string().contains("line 1 at `/id`"), "{err}");
}

#[test]
fn segments_are_serde_values() {
    let seg: Segment = serde_json::from_value(json!({"not": {"ref": "vip"}})).unwrap();
    assert_eq!(seg, Segment::Not(Box::new(Segment::Ref("vip".into()))));
    let err = serde_json::from_value::<Segment>(json!({"not": 3})).unwrap_err();
    assert!(err.to_string().contains("`/not`"), "{err}");
}

#[cfg(feature = "testing")]
#[tokio::test]
async fn in_memory_source_passes_the_conformance_suite() {
    use line_segments::source::{testing, InMemorySource};
    let clock = line_core::clock::ManualClock::new(jiff::Timestamp::UNIX_EPOCH);
    testing::profile_source_conformance(std::sync::Arc::new(InMemorySource::new(testing::fixture())), &clock).await;
}
