//! The JSON form and the builder give the same scenario; the JSON form round-trips; validation
//! finds each kind of problem with its step and pointer.

use std::collections::BTreeMap;

use line_core::model::TextMessage;
use line_scenarios::builder::{steps, ScenarioBuilder};
use line_scenarios::json;
use line_scenarios::model::*;
use line_scenarios::validate::{validate, validate_all, Options, Problem};
use line_segments::schema::{AttrType, Schema};

const FULL: &str = r#"{
  "id": "onboarding",
  "name": "Onboarding after a follow",
  "priority": 5,
  "time_zone": "Asia/Tokyo",
  "trigger": {"follow": {}},
  "entry": {"segment": {"attr": "line.is_friend", "op": "eq", "value": true}, "reentry": {"once_per": "300d"}},
  "steps": [
    {"id": "hello", "send": {"messages": [{"type": "text", "text": "Welcome!"}]}},
    {"id": "ab", "split": [{"weight": 1, "next": "tag_a"}, {"weight": 3, "next": "tag_b"}]},
    {"id": "tag_a", "act": {"add_tag": "variant_a"}, "next": "morning"},
    {"id": "tag_b", "act": {"set_attribute": {"name": "variant", "value": "b"}}},
    {"id": "morning", "wait": {"until_time": "10:00"}},
    {"id": "linked", "if": {"segment": {"attr": "line.id_linked", "op": "eq", "value": true}}, "then": "menu", "else": "nudge"},
    {"id": "menu", "act": {"rich_menu": "member"}, "next": "end"},
    {"id": "nudge", "send": {"flex": {"alt_text": "Hi {name}", "contents": {"type": "bubble", "body": {"type": "box", "layout": "vertical", "contents": [{"type": "text", "text": "Hi {name}, link your card"}]}}, "vars": {"name": {"attribute": "nickname", "default": "there"}}}, "quiet_hours": "drop"}},
    {"id": "later", "wait": {"until": "2026-12-24T18:00"}},
    {"id": "xmas", "act": {"start": "xmas"}},
    {"id": "end", "exit": {}}
  ],
  "goals": [{"event": "purchase", "where": {"channel": "online"}, "revenue": "amount"}]
}"#;

fn full_built() -> Scenario {
    let mut vars = BTreeMap::new();
    vars.insert("name".to_owned(), VarSource::attribute("nickname").or("there"));
    let contents = line_flex::Bubble::new().body(line_flex::vbox![line_flex::Text::new("Hi {name}, link your card")]);
    let mut goal = Goal::event("purchase", Some("amount"));
    goal.props.insert("channel".into(), "online".into());
    ScenarioBuilder::new("onboarding")
        .name("Onboarding after a follow")
        .priority(5)
        .time_zone("Asia/Tokyo")
        .trigger(Trigger::Follow { source: None })
        .entry_segment(line_segments::text::parse("line.is_friend = true").unwrap())
        .reentry(Reentry::OncePer(line_segments::Window::days(300)))
        .step(steps::send(
            "hello",
            Send::messages(vec![TextMessage::new("Welcome!").into()]),
        ))
        .step(steps::split("ab", &[(1, "tag_a"), (3, "tag_b")]))
        .step(steps::act("tag_a", Act::AddTag("variant_a".into())).then("morning"))
        .step(steps::act(
            "tag_b",
            Act::SetAttribute {
                name: "variant".into(),
                value: "b".into(),
            },
        ))
        .step(steps::wait_until_time("morning", jiff::civil::time(10, 0, 0, 0)))
        .step(steps::branch(
            "linked",
            Condition::Segment(line_segments::text::parse("line.id_linked = true").unwrap()),
            "menu",
            "nudge",
        ))
        .step(steps::act("menu", Act::RichMenu("member".into())).then("end"))
        .step(steps::send(
            "nudge",
            Send::flex("Hi {name}", contents, vars).quiet_hours(QuietPolicy::Drop),
        ))
        .step(steps::wait_until(
            "later",
            jiff::civil::datetime(2026, 12, 24, 18, 0, 0, 0),
        ))
        .step(steps::act("xmas", Act::Start("xmas".into())))
        .step(steps::exit("end"))
        .goal(goal)
        .build()
}

#[test]
fn the_builder_and_the_json_form_give_the_same_scenario() {
    let parsed = json::from_str(FULL).unwrap();
    assert_eq!(parsed, full_built());
}

#[test]
fn the_json_form_round_trips() {
    let parsed = json::from_str(FULL).unwrap();
    let printed = json::to_value(&parsed);
    let input: serde_json::Value = serde_json::from_str(FULL).unwrap();
    assert_eq!(printed, input, "printing gives the input back");
    assert_eq!(json::from_value(&printed).unwrap(), parsed);
    let pretty = json::to_string_pretty(&parsed);
    assert_eq!(json::from_str(&pretty).unwrap(), parsed);
}

#[test]
fn every_trigger_kind_round_trips() {
    for trigger in [
        r#"{"follow": {}}"#,
        r#"{"unfollow": {}}"#,
        r#"{"account_link": {}}"#,
        r#"{"postback": {"prefix": "survey="}}"#,
        r#"{"message": {"keywords": ["coupon"], "patterns": ["*size*"]}}"#,
        r#"{"event": {"name": "cart_updated", "where": {"store": "shibuya"}}}"#,
        r#"{"birthday": {"attribute": "birthday", "match": "month", "at": "10:00"}}"#,
        r#"{"at": "2026-06-01T10:00"}"#,
    ] {
        let text = format!(r#"{{"id": "t", "trigger": {trigger}, "steps": [{{"id": "end", "exit": {{}}}}]}}"#);
        let s = json::from_str(&text).unwrap_or_else(|e| panic!("{trigger}: {e}"));
        let back = json::to_value(&s);
        let input: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, input, "{trigger}");
    }
}

/// The survey on follow, and a per-store greeting, as scenarios (issue #13).
#[test]
fn a_follow_survey_and_a_per_store_greeting_are_scenarios() {
    let survey = json::many_from_str(
        r#"[
      {"id": "survey", "trigger": {"follow": {}}, "steps": [
        {"id": "ask", "send": {"messages": [{"type": "text", "text": "What do you like?",
          "quickReply": {"items": [{"type": "action", "action": {"type": "postback", "label": "Cosmetics", "data": "survey=cosmetics"}}]}}]}}
      ]},
      {"id": "cosmetics_series", "trigger": {"postback": {"data": "survey=cosmetics"}}, "steps": [
        {"id": "tag", "act": {"add_tag": "cosmetics"}},
        {"id": "wait", "wait": {"for": "1d"}},
        {"id": "tips", "send": {"messages": [{"type": "text", "text": "Three tips for dry skin"}]}}
      ]},
      {"id": "greeting_shibuya", "trigger": {"follow": {}},
       "entry": {"segment": {"attr": "line.store", "op": "eq", "value": "shibuya"}},
       "steps": [{"id": "hello", "send": {"messages": [{"type": "text", "text": "Welcome to the Shibuya store!"}]}}]}
    ]"#,
    )
    .unwrap();
    assert_eq!(validate_all(&survey, &Options::default()), Vec::new());
}

fn problems(text: &str, options: &Options) -> Vec<Problem> {
    validate(&json::from_str(text).unwrap(), options)
}

fn one(text: &str, options: &Options) -> Problem {
    let mut p = problems(text, options);
    assert_eq!(p.len(), 1, "{p:#?}");
    p.remove(0)
}

#[test]
fn unknown_targets_name_the_step_and_pointer() {
    let p = one(
        r#"{"id": "x", "trigger": {"follow": {}}, "steps": [
        {"id": "a", "if": {"event_since_entry": {"name": "purchase"}}, "then": "b", "else": "nope"},
        {"id": "b", "exit": {}}]}"#,
        &Options::default(),
    );
    assert_eq!(p.to_string(), "step `a` at /steps/0/else: unknown step `nope`");
    let p = one(
        r#"{"id": "x", "trigger": {"follow": {}}, "steps": [
        {"id": "a", "split": [{"weight": 1, "next": "a2"}, {"weight": 2, "next": "b"}]},
        {"id": "b", "exit": {}}]}"#,
        &Options::default(),
    );
    assert_eq!(p.pointer, "/steps/0/split/0/next");
}

#[test]
fn zero_weights_and_duplicate_ids_are_problems() {
    let p = problems(
        r#"{"id": "x", "trigger": {"follow": {}}, "steps": [
        {"id": "a", "split": [{"weight": 0, "next": "b"}]},
        {"id": "b", "exit": {}}, {"id": "b", "exit": {}}]}"#,
        &Options::default(),
    );
    let ptrs: Vec<&str> = p.iter().map(|p| p.pointer.as_str()).collect();
    assert!(ptrs.contains(&"/steps/0/split/0/weight"), "{p:#?}");
    assert!(ptrs.contains(&"/steps/2/id"), "{p:#?}");
}

#[test]
fn unreachable_steps_are_found() {
    let p = one(
        r#"{"id": "x", "trigger": {"follow": {}}, "steps": [
        {"id": "a", "exit": {}},
        {"id": "orphan", "send": {"messages": [{"type": "text", "text": "never"}]}}]}"#,
        &Options::default(),
    );
    assert_eq!((p.step.as_deref(), p.pointer.as_str()), (Some("orphan"), "/steps/1"));
}

#[test]
fn loops_need_a_wait() {
    let spin = r#"{"id": "x", "trigger": {"follow": {}}, "steps": [
        {"id": "a", "send": {"messages": [{"type": "text", "text": "hi"}]}},
        {"id": "b", "if": {"event_since_entry": {"name": "purchase"}}, "then": "end", "else": "a"},
        {"id": "end", "exit": {}}]}"#;
    let p = one(spin, &Options::default());
    assert!(p.message.contains("loop back to step `a` with no wait"), "{p}");
    let paced = spin.replace(r#""else": "a""#, r#""else": "w""#).replace(
        r#"{"id": "end", "exit": {}}"#,
        r#"{"id": "end", "exit": {}}, {"id": "w", "wait": {"for": "1d"}, "next": "a"}"#,
    );
    assert_eq!(
        problems(&paced, &Options::default()),
        Vec::new(),
        "a loop through a wait is fine"
    );
}

#[test]
fn template_variables_need_sources() {
    let p = one(
        r#"{"id": "x", "trigger": {"event": {"name": "cart_updated"}}, "steps": [
        {"id": "remind", "send": {"flex": {"alt_text": "{item} is waiting", "contents": {"type": "bubble", "body": {"type": "box", "layout": "vertical", "contents": [{"type": "text", "text": "{item}: ¥{price}"}]}}, "vars": {"item": {"event": "item"}}}}}]}"#,
        &Options::default(),
    );
    assert_eq!(
        p.to_string(),
        "step `remind` at /steps/0/send/flex/vars: template variable {price} has no source in `vars`"
    );

    let p = one(
        r#"{"id": "x", "trigger": {"follow": {}}, "steps": [
        {"id": "remind", "send": {"flex": {"alt_text": "hi", "contents": {"type": "bubble", "body": {"type": "box", "layout": "vertical", "contents": [{"type": "text", "text": "{item}"}]}}, "vars": {"item": {"event": "item"}}}}}]}"#,
        &Options::default(),
    );
    assert_eq!(p.pointer, "/steps/0/send/flex/vars/item");
    assert!(p.message.contains("triggered by a host event"), "{p}");
}

#[test]
fn flex_contents_line_would_reject_are_problems() {
    let p = one(
        r#"{"id": "x", "trigger": {"follow": {}}, "steps": [
        {"id": "s", "send": {"flex": {"alt_text": "hi", "contents": {"type": "bubble", "body": {"type": "box", "layout": "vertical", "contents": [{"type": "text", "text": ""}]}}}}}]}"#,
        &Options::default(),
    );
    assert!(
        p.pointer.starts_with("/steps/0/send/flex/contents/body/contents/0"),
        "{p}"
    );
}

#[test]
fn segments_are_type_checked_against_the_schema() {
    let schema = Schema::new()
        .attribute("points", AttrType::Number)
        .attribute("birthday", AttrType::Date)
        .attribute("tags", AttrType::StringSet)
        .event("purchase", [("amount", AttrType::Number)])
        .event("cart_updated", [("item", AttrType::String)]);
    let options = Options::default().with_schema(schema);
    let text = r#"{"id": "x", "trigger": {"event": {"name": "cart_updated"}},
      "entry": {"segment": {"attr": "points", "op": "eq", "value": "many"}},
      "steps": [
        {"id": "a", "if": {"segment": {"attr": "nickname", "op": "exists"}}, "then": "b", "else": "b"},
        {"id": "b", "act": {"set_attribute": {"name": "points", "value": "ten"}}},
        {"id": "c", "if": {"event_since_entry": {"name": "refund"}}, "then": "d", "else": "d"},
        {"id": "d", "exit": {}}
      ],
      "goals": [{"event": "purchase", "revenue": "amount"}]}"#;
    let p = problems(text, &options);
    let got: Vec<(Option<&str>, &str)> = p.iter().map(|p| (p.step.as_deref(), p.pointer.as_str())).collect();
    assert_eq!(
        got,
        [
            (None, "/entry/segment/value"),
            (Some("a"), "/steps/0/if/segment/attr"),
            (Some("b"), "/steps/1/act/set_attribute/name"),
            (Some("c"), "/steps/2/if/event_since_entry/name"),
        ],
        "{p:#?}"
    );
    // The same scenario without a schema only fails where nothing can evaluate.
    assert_eq!(problems(text, &Options::default()), Vec::new());
    // A LINE-only predicate cannot run in process.
    let p = one(
        r#"{"id": "x", "trigger": {"follow": {}}, "entry": {"segment": {"demographic": {"type": "gender", "oneOf": ["female"]}}},
        "steps": [{"id": "d", "exit": {}}]}"#,
        &Options::default(),
    );
    assert!(p.pointer.starts_with("/entry/segment"), "{p}");
}

#[test]
fn waits_outside_sane_bounds() {
    for (w, msg) in [
        ("30s", "shorter than the minimum of 1m"),
        ("500d", "longer than the maximum of 400d"),
    ] {
        let p = one(
            &format!(
                r#"{{"id": "x", "trigger": {{"follow": {{}}}}, "steps": [{{"id": "w", "wait": {{"for": "{w}"}}}}]}}"#
            ),
            &Options::default(),
        );
        assert_eq!(p.pointer, "/steps/0/wait/for");
        assert!(p.message.contains(msg), "{p}");
    }
}

#[test]
fn other_problems() {
    let p = problems(
        r#"{"id": "bad id", "time_zone": "Mars/Base", "trigger": {"message": {}}, "steps": [
        {"id": "s", "send": {"messages": []}},
        {"id": "go", "act": {"start": "missing"}}]}"#,
        &Options::default().with_scenarios(["bad id".to_owned()]),
    );
    let ptrs: Vec<&str> = p.iter().map(|p| p.pointer.as_str()).collect();
    assert_eq!(
        ptrs,
        [
            "/id",
            "/time_zone",
            "/trigger/message",
            "/steps/0/send/messages",
            "/steps/1/act/start"
        ],
        "{p:#?}"
    );
    let p = problems(
        r#"{"id": "x", "trigger": {"follow": {}}, "steps": []}"#,
        &Options::default(),
    );
    assert_eq!(p[0].pointer, "/steps");
}

#[test]
fn malformed_json_never_panics() {
    use proptest::prelude::*;
    let mut runner = proptest::test_runner::TestRunner::default();
    runner
        .run(&(0usize..FULL.len(), any::<u8>()), |(at, byte)| {
            let mut bytes = FULL.as_bytes().to_vec();
            bytes[at] = byte;
            if let Ok(text) = std::str::from_utf8(&bytes) {
                if let Ok(s) = json::from_str(text) {
                    let _ = validate(&s, &Options::default());
                }
            }
            Ok(())
        })
        .unwrap();
}

/// The pointer and message of a parse error.
fn parse_error(text: &str) -> (String, String) {
    match json::from_str(text).unwrap_err().kind() {
        line_scenarios::ErrorKind::Json { pointer, message } => (pointer.clone(), message.clone()),
        other => panic!("expected a json error, got {other:?}"),
    }
}

fn with_send(send: &str) -> String {
    format!(r#"{{"id": "x", "trigger": {{"follow": {{}}}}, "steps": [{{"id": "s", "send": {send}}}]}}"#)
}

#[test]
fn flex_contents_are_read_into_the_model() {
    let s = json::from_str(&with_send(
        r#"{"flex": {"alt_text": "hi", "contents": {"type": "carousel", "contents": [{"type": "bubble", "size": "kilo",
            "body": {"type": "box", "layout": "vertical", "contents": [{"type": "text", "text": "{name}", "x-new": 1}]}}]}}}"#,
    ))
    .unwrap();
    let StepKind::Send(send) = &s.steps[0].kind else {
        panic!("a send")
    };
    let Content::Flex(f) = &send.content else {
        panic!("flex")
    };
    let line_core::model::FlexContainer::Carousel(c) = &f.contents else {
        panic!("a carousel")
    };
    assert_eq!(c.contents.len(), 1);
    // Lossless: an unknown property is kept and printed back.
    let back = json::to_value(&s);
    assert_eq!(
        back["steps"][0]["send"]["flex"]["contents"]["contents"][0]["body"]["contents"][0]["x-new"],
        1
    );
    assert_eq!(json::from_value(&back).unwrap(), s);
}

#[test]
fn flex_contents_of_the_wrong_shape_are_parse_errors_at_their_pointer() {
    let (p, m) = parse_error(&with_send(r#"{"flex": {"alt_text": "hi", "contents": "a bubble"}}"#));
    assert_eq!(p, "/steps/0/send/flex/contents");
    assert!(m.contains("FlexContainer"), "{m}");

    let (p, m) = parse_error(&with_send(
        r#"{"flex": {"alt_text": "hi", "contents": {"type": "bubble", "body": {"type": "box", "layout": "vertical",
            "contents": [{"type": "text", "text": "a"}, {"type": "box", "contents": []}]}}}}"#,
    ));
    assert_eq!(p, "/steps/0/send/flex/contents/body/contents/1");
    assert!(m.contains("missing field `layout`"), "{m}");

    let (p, m) = parse_error(&with_send(
        r#"{"flex": {"alt_text": "hi", "contents": {"type": "carousel", "contents": [{"type": "box", "layout": "vertical", "contents": []}]}}}"#,
    ));
    assert_eq!(p, "/steps/0/send/flex/contents/contents/0/type");
    assert!(m.contains(r#"expected "bubble", found "box""#), "{m}");
}

#[test]
fn a_whole_flex_message_where_a_container_belongs_is_a_problem() {
    let p = one(
        &with_send(
            r#"{"flex": {"alt_text": "hi", "contents": {"type": "flex", "altText": "hi", "contents": {"type": "bubble",
            "body": {"type": "box", "layout": "vertical", "contents": [{"type": "text", "text": "hi"}]}}}}}"#,
        ),
        &Options::default(),
    );
    assert!(p.pointer.starts_with("/steps/0/send/flex/contents"), "{p}");
    assert!(p.message.contains("unknown container type"), "{p}");
}

#[test]
fn where_values_are_strings_numbers_or_booleans() {
    let text = r#"{"id": "x", "trigger": {"event": {"name": "cart_updated", "where": {"channel": "online", "n": 2, "vip": true}}},
      "steps": [{"id": "e", "exit": {}}], "goals": [{"event": "purchase", "where": {"amount": 5000}}]}"#;
    let s = json::from_str(text).unwrap();
    let Trigger::Event(m) = &s.trigger else {
        panic!("an event trigger")
    };
    assert_eq!(m.props["channel"], PropValue::from("online"));
    assert_eq!(m.props["n"], PropValue::from(2));
    assert_eq!(m.props["vip"], PropValue::from(true));
    // Numbers print back as written.
    assert_eq!(json::to_value(&s)["goals"][0]["where"]["amount"].to_string(), "5000");

    let (p, m) = parse_error(
        r#"{"id": "x", "trigger": {"follow": {}}, "steps": [], "goals": [{"event": "purchase", "where": {"channel": null}}]}"#,
    );
    assert_eq!(p, "/goals/0/where/channel");
    assert!(m.contains("expected a string, a number or a boolean"), "{m}");
    let (p, _) =
        parse_error(r#"{"id": "x", "trigger": {"event": {"name": "e", "where": {"tags": ["a"]}}}, "steps": []}"#);
    assert_eq!(p, "/trigger/event/where/tags");
}

#[test]
fn set_attribute_values_are_typed() {
    let act = |value: &str| {
        with_send("null").replace(
            r#""send": null"#,
            &format!(r#""act": {{"set_attribute": {{"name": "a", "value": {value}}}}}"#),
        )
    };
    for (value, want) in [
        (r#""gold""#, AttrValue::from("gold")),
        ("120", AttrValue::from(120)),
        ("false", AttrValue::from(false)),
        (
            r#"{"date": "1990-05-03"}"#,
            AttrValue::from(jiff::civil::date(1990, 5, 3)),
        ),
        (
            r#"{"timestamp": "2026-05-01T10:00:00Z"}"#,
            AttrValue::from("2026-05-01T10:00:00Z".parse::<jiff::Timestamp>().unwrap()),
        ),
    ] {
        let s = json::from_str(&act(value)).unwrap();
        let StepKind::Act(Act::SetAttribute { value: got, .. }) = &s.steps[0].kind else {
            panic!("set_attribute")
        };
        assert_eq!(got, &want, "{value}");
        let printed = json::to_value(&s)["steps"][0]["act"]["set_attribute"]["value"].clone();
        assert_eq!(
            printed,
            serde_json::from_str::<serde_json::Value>(value).unwrap(),
            "{value}"
        );
    }
    for bad in [
        r#"{"date": "1990-13-45"}"#,
        "[1]",
        "null",
        r#"{"date": "1990-05-03", "x": 1}"#,
        r#"{"day": "1"}"#,
    ] {
        let (p, _) = parse_error(&act(bad));
        assert_eq!(p, "/steps/0/act/set_attribute/value", "{bad}");
    }
}
