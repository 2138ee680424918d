//! The logic behind `linectl segment`.

use line_segments::cli;

const PROFILES: &str = r#"{"id": "U1", "attributes": {"gender": "female", "interests": ["cosmetics"]}, "line": {"id_linked": true}, "events": [{"name": "purchase", "at": "2026-05-01T00:00:00Z"}, {"name": "purchase", "at": "2026-04-01T00:00:00Z"}]}
{"id": "U2", "attributes": {"gender": "female", "interests": ["cosmetics"]}, "line": {"id_linked": true}}
{"id": "U3", "attributes": {"gender": "male"}}
"#;

const SEG: &str = "gender = \"female\" and \"cosmetics\" in interests\n  and id_linked and count(purchase, 90d) >= 2\n";
const NOW: Option<&str> = Some("2026-05-15T00:00:00Z");

#[test]
fn check_reports_places() {
    let schema = cli::load_schema(r#"{"attributes": {"gender": "string"}, "events": {}}"#).unwrap();
    assert!(cli::check("gender = \"x\"", Some(&schema)).is_empty());
    let problems = cli::check("gender = \"x\" and\n  vip", Some(&schema));
    assert_eq!(problems.len(), 1);
    assert!(
        problems[0].contains("line 2, column 3") && problems[0].contains("unknown attribute `vip`"),
        "{problems:?}"
    );
    let problems = cli::check("gender = ", None);
    assert!(
        problems[0].starts_with("syntax error at line 1, column 10"),
        "{problems:?}"
    );
    assert!(cli::load_schema(r#"{"attributes": {"x": "colour"}}"#).is_err());
}

#[test]
fn fmt_converts_both_ways() {
    let json = cli::fmt(SEG, None).unwrap();
    assert!(json.trim_start().starts_with('{'));
    let text = cli::fmt(&json, None).unwrap();
    assert_eq!(
        text,
        "gender = \"female\" and \"cosmetics\" in interests and id_linked and count(purchase, 90d) >= 2\n"
    );
    assert_eq!(cli::fmt(&text, Some(cli::Form::Text)).unwrap(), text);
}

#[test]
fn eval_prints_members_and_explains() {
    assert_eq!(cli::eval(SEG, PROFILES, None, NOW, None).unwrap(), "U1\n");
    let ex = cli::eval(SEG, PROFILES, None, NOW, Some("U2")).unwrap();
    assert!(ex.starts_with("[false] all\n"), "{ex}");
    assert!(
        ex.contains("[false] count(purchase, 90d) >= 2    (0 matching `purchase` events"),
        "{ex}"
    );
    assert!(cli::eval(SEG, PROFILES, None, NOW, Some("U9")).is_err());
    assert!(cli::eval(SEG, PROFILES, None, Some("yesterday"), None).is_err());
    let err = cli::eval("demo.age(20..)", PROFILES, None, NOW, None).unwrap_err();
    assert!(err.to_string().contains("line 1, column 1"), "{err}");
}

#[test]
fn compile_sql_and_narrowcast() {
    let mapping = r#"{"profiles": {"table": "profiles", "id": "user_id"},
        "attributes": {"gender": {"column": "gender", "type": "string"}}}"#;
    let out = cli::compile_sql("gender = \"f\"", mapping, NOW, true).unwrap();
    assert_eq!(
        out,
        "SELECT p.\"user_id\" FROM \"profiles\" p WHERE (p.\"gender\" = CAST($1 AS TEXT)) ORDER BY p.\"user_id\";\n-- params: [\"f\"]\n"
    );
    let err = cli::compile_sql("gender = \"f\" and\n vip", mapping, NOW, false).unwrap_err();
    assert!(err.to_string().contains("line 2, column 2"), "{err}");
    #[cfg(feature = "narrowcast")]
    {
        let plan = cli::compile_narrowcast(r#"demo.gender("female")"#, None, None, NOW).unwrap();
        let v: serde_json::Value = serde_json::from_str(&plan).unwrap();
        assert_eq!(
            v["filter"],
            serde_json::json!({"demographic": {"type": "gender", "oneOf": ["female"]}})
        );
    }
}
