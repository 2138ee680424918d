//! Narrowcast plans against hand-written LINE JSON, including the multicast fallbacks.
#![cfg(feature = "narrowcast")]

use jiff::Timestamp;
use line_segments::narrowcast::{plan, plan_profiles, Plan, PlanOptions};
use line_segments::profile::{Profile, Value};
use line_segments::source::InMemorySource;
use line_segments::text;
use serde_json::json;

/// A typed value as LINE's JSON.
fn js<T: serde::Serialize>(t: &T) -> serde_json::Value {
    serde_json::to_value(t).unwrap()
}

fn now() -> Timestamp {
    "2026-05-15T03:00:00Z".parse().unwrap()
}

/// `n` profiles; the first `vip` of them are VIPs, the first `cosmetics` like cosmetics.
fn people(n: usize, vip: usize, cosmetics: usize) -> Vec<Profile> {
    (0..n)
        .map(|i| {
            Profile::new(format!("U{i:04}"))
                .with_attr("vip", Value::Bool(i < vip))
                .with_attr(
                    "interests",
                    Value::Set(if i < cosmetics {
                        vec!["cosmetics".into()]
                    } else {
                        vec![]
                    }),
                )
        })
        .collect()
}

fn plan_of(src: &str, profiles: &[Profile]) -> Plan {
    let seg = text::parse(src).unwrap();
    plan_profiles(&seg, profiles, now(), &PlanOptions::default()).unwrap()
}

fn narrowcast(p: Plan) -> line_segments::narrowcast::NarrowcastPlan {
    match p {
        Plan::Narrowcast(n) => n,
        other => panic!("expected a narrowcast, got {other:?}"),
    }
}

fn multicast(p: Plan) -> line_segments::narrowcast::MulticastPlan {
    match p {
        Plan::Multicast(m) => m,
        other => panic!("expected a multicast, got {other:?}"),
    }
}

#[test]
fn demographics_become_the_filter() {
    let n = narrowcast(plan_of(r#"demo.gender("female") and demo.age(20..40)"#, &[]));
    assert_eq!(
        js(&n.filter),
        (json!({"demographic": {"type": "operator", "and": [
            {"type": "gender", "oneOf": ["female"]},
            {"type": "age", "gte": "age_20", "lt": "age_40"}
        ]}}))
    );
    assert_eq!(n.recipient(None).unwrap(), None);
    assert_eq!(n.upload, None);
    assert_eq!(n.estimated_messages, None);
}

#[test]
fn demographic_or_and_not_stay_inside_the_filter() {
    let n = narrowcast(plan_of(
        r#"(demo.area("jp_13", "jp_14") or demo.app_type("ios")) and not demo.subscription(..30)"#,
        &[],
    ));
    assert_eq!(
        js(&n.filter),
        (json!({"demographic": {"type": "operator", "and": [
            {"type": "operator", "or": [
                {"type": "area", "oneOf": ["jp_13", "jp_14"]},
                {"type": "appType", "oneOf": ["ios"]}
            ]},
            {"type": "operator", "not": {"type": "subscriptionPeriod", "lt": "day_30"}}
        ]}}))
    );
}

#[test]
fn audiences_and_redeliveries_become_the_recipient() {
    let n = narrowcast(plan_of(
        r#"audience(111) and not redelivery("req-1") and demo.gender("male")"#,
        &[],
    ));
    assert_eq!(
        js(&n.recipient(None).unwrap()),
        (json!({"type": "operator", "and": [
            {"type": "audience", "audienceGroupId": 111},
            {"type": "operator", "not": {"type": "redelivery", "requestId": "req-1"}}
        ]}))
    );
    assert_eq!(
        js(&n.filter),
        (json!({"demographic": {"type": "gender", "oneOf": ["male"]}}))
    );
    let n = narrowcast(plan_of("audience(1) or audience(2)", &[]));
    assert_eq!(
        js(&n.recipient(None).unwrap()),
        (json!({"type": "operator", "or": [
            {"type": "audience", "audienceGroupId": 1},
            {"type": "audience", "audienceGroupId": 2}
        ]}))
    );
}

#[test]
fn first_party_part_is_uploaded_as_an_audience() {
    let people = people(100, 0, 60);
    let n = narrowcast(plan_of(
        r#"demo.gender("female") and "cosmetics" in interests"#,
        &people,
    ));
    let upload = n.upload.as_ref().unwrap();
    assert_eq!(upload.user_ids.len(), 60);
    assert_eq!(upload.user_ids[0].as_str(), "U0000");
    assert_eq!(n.estimated_messages, Some(60));
    assert_eq!(
        js(&n
            .request(vec![line_core::model::TextMessage::new("hi").into()], Some(9001))
            .unwrap()),
        json!({
            "messages": [{"type": "text", "text": "hi"}],
            "recipient": {"type": "audience", "audienceGroupId": 9001},
            "filter": {"demographic": {"type": "gender", "oneOf": ["female"]}}
        })
    );
    // With an existing audience too, the upload joins it with `and`.
    let n = narrowcast(plan_of(r#"audience(5) and "cosmetics" in interests"#, &people));
    assert_eq!(
        js(&n.recipient(Some(9001)).unwrap()),
        (json!({"type": "operator", "and": [
            {"type": "audience", "audienceGroupId": 5},
            {"type": "audience", "audienceGroupId": 9001}
        ]}))
    );
}

#[test]
fn small_upload_falls_back_to_multicast() {
    let people = people(100, 0, 10);
    let m = multicast(plan_of(
        r#"demo.gender("female") and "cosmetics" in interests"#,
        &people,
    ));
    assert!(m.reason.contains("below LINE's minimum audience of 50"), "{}", m.reason);
    // The demographic is unknown locally, so nobody is definitely in the segment.
    assert!(m.user_ids.is_empty());
    assert_eq!(m.estimated_messages, 0);
}

#[test]
fn or_across_demographics_and_first_party_falls_back_to_multicast() {
    let people = people(10, 3, 0);
    let p = plan_of(r#"demo.gender("female") or vip"#, &people);
    assert_eq!(
        js(&p),
        json!({
            "type": "multicast",
            "reason": "`demo.gender(\"female\") or vip = true` mixes what LINE targets (demographics, audiences, redeliveries) with first-party data or with each other, which one narrowcast cannot express; sending a multicast to the users for whom the segment is true locally (LINE-only predicates count as unknown)",
            "estimated_messages": 3,
            "batches": [["U0000", "U0001", "U0002"]]
        })
    );
    // An `or` of a demographic and an audience cannot be expressed either.
    let m = multicast(plan_of(r#"demo.gender("female") or audience(1)"#, &people));
    assert!(m.user_ids.is_empty());
}

#[test]
fn first_party_only_is_a_multicast_in_batches_of_500() {
    let people = people(1_200, 1_100, 0);
    let options = PlanOptions {
        messages_per_send: 2,
        ..PlanOptions::default()
    };
    let seg = text::parse("vip").unwrap();
    let m = multicast(plan_profiles(&seg, &people, now(), &options).unwrap());
    assert_eq!(m.user_ids.len(), 1_100);
    assert_eq!(m.batches().map(|b| b.len()).collect::<Vec<_>>(), vec![500, 500, 100]);
    assert_eq!(m.estimated_messages, 2_200);
}

#[test]
fn line_limits_force_the_fallback() {
    let audiences: Vec<String> = (1..=11).map(|i| format!("audience({i})")).collect();
    let m = multicast(plan_of(&audiences.join(" and "), &[]));
    assert!(
        m.reason.contains("11 audience and redelivery objects; LINE allows 10"),
        "{}",
        m.reason
    );
    // Ten audiences plus an upload is eleven objects too.
    let m = multicast(plan_of(
        &format!("{} and vip", audiences[..10].join(" and ")),
        &people(60, 60, 0),
    ));
    assert!(m.reason.contains("11 audience and redelivery objects"), "{}", m.reason);
    let demos: Vec<&str> = vec![r#"demo.area("jp_01")"#; 11];
    let m = multicast(plan_of(&demos.join(" or "), &[]));
    assert!(
        m.reason.contains("11 demographic objects; LINE allows 10"),
        "{}",
        m.reason
    );
    // Ten is fine.
    narrowcast(plan_of(&demos[..10].join(" or "), &[]));
    let seg = text::parse("vip").unwrap();
    let bad = PlanOptions {
        messages_per_send: 6,
        ..PlanOptions::default()
    };
    assert!(plan_profiles(&seg, &[], now(), &bad).is_err());
}

#[test]
fn always_false_sends_nothing_and_references_must_be_resolved() {
    let m = multicast(plan_of(r#"false and demo.gender("male")"#, &people(5, 5, 5)));
    assert!(m.user_ids.is_empty());
    let seg = text::parse(r#"segment("vip")"#).unwrap();
    assert!(plan_profiles(&seg, &[], now(), &PlanOptions::default()).is_err());
}

#[test]
fn the_plan_holds_line_core_model_values() {
    let people = people(100, 0, 80);
    let n = narrowcast(plan_of(
        r#"audience(7) and not redelivery("r-9") and demo.age(20..) and demo.gender("female") and "cosmetics" in interests"#,
        &people,
    ));
    let recipient = n.recipient(Some(42)).unwrap().unwrap();
    let line_core::model::Recipient::Operator(op) = &recipient else {
        panic!("expected an operator, got {recipient:?}")
    };
    let and = op.and.as_ref().unwrap();
    assert_eq!(and.len(), 3);
    assert!(matches!(&and[2], line_core::model::Recipient::Audience(a) if a.audience_group_id == Some(42)));
    let filter = n.filter.as_ref().unwrap();
    let Some(line_core::model::DemographicFilter::Operator(op)) = &filter.demographic else {
        panic!("expected an operator filter, got {filter:?}")
    };
    assert!(matches!(
        &op.and.as_ref().unwrap()[0],
        line_core::model::DemographicFilter::Age(a) if a.gte == Some(line_core::model::AgeDemographic::Age20) && a.lt.is_none()
    ));
    // Without the uploaded audience's id there is no recipient.
    assert!(n.recipient(None).is_err());
    // The plan's JSON shows the pending upload with a placeholder.
    let v = js(&Plan::Narrowcast(n));
    assert_eq!(
        v["recipient"]["and"][2],
        json!({"type": "audience", "audienceGroupId": "<uploaded audience>"})
    );
    assert_eq!(v["upload"]["userIds"].as_array().unwrap().len(), 80);
}

#[test]
fn a_limit_is_carried_into_the_request_and_caps_the_estimate() {
    let mut limit = line_core::model::Limit::new();
    limit.max = Some(25);
    let options = PlanOptions {
        limit: Some(limit.clone()),
        ..PlanOptions::default()
    };
    let seg = text::parse(r#"demo.gender("female") and "cosmetics" in interests"#).unwrap();
    let n = narrowcast(plan_profiles(&seg, &people(100, 0, 60), now(), &options).unwrap());
    assert_eq!(n.limit, Some(limit));
    assert_eq!(n.estimated_messages, Some(25));
    let req = n
        .request(vec![line_core::model::TextMessage::new("hi").into()], Some(1))
        .unwrap();
    assert_eq!(js(&req)["limit"], json!({"max": 25}));
    let seg = text::parse(r#"demo.gender("female")"#).unwrap();
    let n = narrowcast(plan_profiles(&seg, &[], now(), &options).unwrap());
    assert_eq!(n.estimated_messages, Some(25));
}

#[tokio::test]
async fn async_plan_over_a_source_matches_the_in_memory_plan() {
    let people = people(300, 120, 70);
    let source = InMemorySource::new(people.clone());
    for src in [
        r#"demo.gender("female") and "cosmetics" in interests"#,
        r#"demo.gender("female") or vip"#,
        "vip and not \"cosmetics\" in interests",
    ] {
        let seg = text::parse(src).unwrap();
        let options = PlanOptions {
            page_size: 7,
            ..PlanOptions::default()
        };
        let a = plan(&seg, &source, now(), &options).await.unwrap();
        let b = plan_profiles(&seg, &people, now(), &options).unwrap();
        assert_eq!(a, b, "{src}");
    }
}

#[test]
fn ranges_line_rejects_are_refused_with_the_place() {
    use line_segments::{cli, schema::Schema, ErrorKind, Place};
    for (src, column) in [
        ("demo.age(40..20)", 1),
        ("demo.age(20..20)", 1),
        (r#"vip and demo.subscription(365..7)"#, 9),
        (r#"demo.gender("female") and not audience(0)"#, 31),
    ] {
        let (seg, map) = text::parse_with_map(src).unwrap();
        // The planner refuses what `check --schema` reports, at the same place ...
        let err = plan_profiles(&seg, &people(60, 60, 0), now(), &PlanOptions::default()).unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::Schema { .. }), "{src}: {err}");
        let checked = Schema::new().check(&seg);
        assert!(
            checked.iter().any(|e| e.place() == err.place()),
            "{src}: {err} / {checked:?}"
        );
        assert_eq!(map.locate(err).place(), Some(&Place::Text { line: 1, column }), "{src}");
        // ... and so does the command line's logic, with the line and column.
        let err = cli::compile_narrowcast(src, None, None, Some("2026-05-15T00:00:00Z")).unwrap_err();
        assert_eq!(err.place(), Some(&Place::Text { line: 1, column }), "{src}: {err}");
    }
    let err = cli::compile_narrowcast(
        r#"{"demographic": {"type": "age", "gte": "age_40", "lt": "age_20"}}"#,
        None,
        None,
        None,
    )
    .unwrap_err();
    assert_eq!(err.place(), Some(&Place::Pointer("/demographic".into())), "{err}");
    assert!(err.to_string().contains("impossible range"), "{err}");
    // A valid range still compiles to LINE's object.
    let p = narrowcast(plan_of("demo.age(20..40)", &[]));
    assert_eq!(
        js(&p.filter),
        (json!({"demographic": {"type": "age", "gte": "age_20", "lt": "age_40"}}))
    );
}
