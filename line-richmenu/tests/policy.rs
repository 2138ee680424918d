//! The assignment policy: order, conditions, time windows in a zone, three-valued segments.

use jiff::Timestamp;
use line_richmenu::store::UserContext;
use line_richmenu::{Condition, Policy, Target};

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn user() -> UserContext {
    UserContext::new("U00000000000000000000000000000001")
}

#[test]
fn the_first_matching_rule_wins_and_the_default_ends() {
    let p = Policy::new("guest")
        .rule(
            "shibuya members",
            Condition::All(vec![Condition::Linked(true), Condition::Store(vec!["shibuya".into()])]),
            "shibuya",
        )
        .rule("members", Condition::Linked(true), "member");
    let now = at("2026-03-01T00:00:00Z");
    let d = p.evaluate(&user().linked(true).store("shibuya"), now);
    assert_eq!(
        (d.target, d.rule.as_deref()),
        (Target::from("shibuya"), Some("shibuya members"))
    );
    assert_eq!(
        p.evaluate(&user().linked(true).store("ginza"), now).target,
        Target::from("member")
    );
    let d = p.evaluate(&user(), now);
    assert_eq!((d.target, d.rule), (Target::from("guest"), None));
}

#[test]
fn a_campaign_window_is_read_in_its_time_zone() {
    let p = Policy::new("normal").rule(
        "year end sale",
        Condition::window("2026-12-26T00:00", "2027-01-01T00:00", "Asia/Tokyo").unwrap(),
        "sale",
    );
    // 2026-12-25T15:00Z is midnight in Tokyo: the sale has begun.
    assert_eq!(
        p.evaluate(&user(), at("2026-12-25T14:59:59Z")).target,
        Target::from("normal")
    );
    assert_eq!(
        p.evaluate(&user(), at("2026-12-25T15:00:00Z")).target,
        Target::from("sale")
    );
    assert_eq!(
        p.evaluate(&user(), at("2026-12-31T14:59:59Z")).target,
        Target::from("sale")
    );
    assert_eq!(
        p.evaluate(&user(), at("2026-12-31T15:00:00Z")).target,
        Target::from("normal")
    );
    assert!(Condition::window("2026-12-26T00:00", "2027-01-01T00:00", "Mars/Olympus").is_err());
    assert!(Condition::window("soon", "2027-01-01T00:00", "Asia/Tokyo").is_err());
}

#[test]
fn an_unknown_segment_does_not_match_and_not_unknown_stays_unknown() {
    let unknown = || Condition::segment(|_: &UserContext, _: Timestamp| None);
    let vip = || Condition::segment(|u: &UserContext, _: Timestamp| Some(u.tags.contains("vip")));
    let now = at("2026-03-01T00:00:00Z");
    let p = Policy::new("d")
        .rule("unknown", unknown(), "x")
        .rule("not unknown", Condition::Not(Box::new(unknown())), "y")
        .rule("vip", vip(), "vip");
    assert_eq!(p.evaluate(&user(), now).target, Target::from("d"));
    assert_eq!(p.evaluate(&user().tag("vip"), now).target, Target::from("vip"));
    assert_eq!(
        Condition::Any(vec![unknown(), vip()]).eval(&user().tag("vip"), now),
        Some(true)
    );
    assert_eq!(Condition::Any(vec![unknown(), vip()]).eval(&user(), now), None);
    assert_eq!(Condition::All(vec![unknown(), vip()]).eval(&user(), now), Some(false));
}

#[test]
fn a_policy_file_reads_every_condition_and_names_the_place_of_mistakes() {
    use std::sync::Arc;
    let mut segments = line_richmenu::Segments::new();
    let vip: Arc<dyn line_richmenu::SegmentCondition<UserContext>> =
        Arc::new(|u: &UserContext, _: Timestamp| Some(u.tags.contains("vip")));
    segments.insert("vip".into(), vip);
    let p = Policy::from_json_str(
        r#"{"rules": [
            {"name": "sale", "menu": "sale",
             "when": {"all": [{"linked": true},
                              {"window": {"start": "2026-12-26T00:00", "end": "2027-01-01T00:00", "tz": "Asia/Tokyo"}}]}},
            {"name": "vip", "when": {"any": [{"segment": "vip"}, {"not": {"always": true}}]}, "menu": "vip"},
            {"name": "shibuya", "when": {"store": ["shibuya"]}, "menu": "@default"}],
          "default": "guest"}"#,
        &segments,
    )
    .unwrap();
    let sale_time = at("2026-12-27T00:00:00Z");
    assert_eq!(p.evaluate(&user().linked(true), sale_time).target, Target::from("sale"));
    assert_eq!(
        p.evaluate(&user().linked(true), at("2026-12-01T00:00:00Z")).target,
        Target::from("guest")
    );
    assert_eq!(p.evaluate(&user().tag("vip"), sale_time).target, Target::from("vip"));
    assert_eq!(p.evaluate(&user().store("shibuya"), sale_time).target, Target::Default);

    let toml = Policy::from_toml_str(
        "default = \"guest\"\n[[rules]]\nmenu = \"member\"\nwhen = { linked = true }\n",
        &segments,
    )
    .unwrap();
    assert_eq!(
        toml.evaluate(&user().linked(true), sale_time).target,
        Target::from("member")
    );

    let place = |text: &str| match Policy::from_json_str(text, &segments).unwrap_err().kind() {
        line_richmenu::ErrorKind::Parse { pointer, .. } => pointer.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        place(r#"{"rules": [{"when": {"segment": "nobody"}, "menu": "a"}], "default": "d"}"#),
        "/rules/0/when/segment"
    );
    assert_eq!(
        place(r#"{"rules": [{"when": {"all": [{"linked": "yes"}]}, "menu": "a"}], "default": "d"}"#),
        "/rules/0/when/all/0/linked"
    );
    assert_eq!(
        place(
            r#"{"rules": [{"when": {"window": {"start": "x", "end": "2027-01-01T00:00", "tz": "Asia/Tokyo"}}, "menu": "a"}], "default": "d"}"#
        ),
        "/rules/0/when/window/start"
    );
    assert_eq!(
        place(r#"{"rules": [{"when": {"linked": true, "store": []}, "menu": "a"}], "default": "d"}"#),
        "/rules/0/when"
    );
    assert_eq!(
        place(r#"{"rules": [{"when": {"sometimes": true}, "menu": "a"}], "default": "d"}"#),
        "/rules/0/when/sometimes"
    );
    assert_eq!(
        place(r#"{"rules": [{"when": {"always": true}}], "default": "d"}"#),
        "/rules/0/menu"
    );
    assert_eq!(place(r#"{"rules": []}"#), "/default");
    assert_eq!(place(r#"{"rules": [], "default": "d", "extra": 1}"#), "/extra");
}
