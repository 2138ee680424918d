//! The tour's quota gate counts a campaign by its upper bound: a narrowcast
//! whose size only LINE knows is never counted as 0.

use line_examples::tour::{quota_upper_bound, CAMPAIGN_SEGMENT, FALLBACK_SEGMENT, START};
use line_segments::narrowcast::{plan, Plan, PlanOptions};
use line_segments::profile::Profile;
use line_segments::source::InMemorySource;

/// 120 friends: even ones like cosmetics (60, enough for a narrowcast audience), every fourth is ID-linked.
fn source() -> InMemorySource {
    let profiles = (0..120)
        .map(|i| {
            let interests = if i % 2 == 0 { vec!["cosmetics"] } else { vec!["golf"] };
            let json = serde_json::json!({
                "id": format!("U{i:032x}"),
                "attributes": {"interests": interests},
                "line": {"is_friend": true, "blocked": false, "id_linked": i % 4 == 0},
            });
            Profile::from_json(&json, None).expect("a valid profile")
        })
        .collect();
    InMemorySource::new(profiles)
}

async fn plan_of(segment: &str) -> Plan {
    let segment = line_segments::text::parse(segment).expect("the segment parses");
    let options = PlanOptions {
        messages_per_send: 1,
        audience_description: "test".into(),
        ..PlanOptions::default()
    };
    plan(&segment, &source(), START.parse().unwrap(), &options)
        .await
        .expect("the segment plans")
}

#[tokio::test]
async fn a_narrowcast_only_line_can_size_has_no_bound_without_limit_max() {
    let p = plan_of(r#"demo.gender("female")"#).await;
    let Plan::Narrowcast(n) = &p else {
        panic!("expected a narrowcast plan, got {p:?}")
    };
    assert!(n.upload.is_none(), "LINE alone can target this segment");
    // Unknown size: no bound, so the gate refuses (it used to count it as 0 and send).
    assert_eq!(quota_upper_bound(&p, None), None);
    // With `limit.max`, that is the bound.
    assert_eq!(quota_upper_bound(&p, Some(40)), Some(40));
}

#[tokio::test]
async fn a_narrowcast_to_an_uploaded_audience_is_bounded_by_its_size_and_limit_max() {
    let p = plan_of(CAMPAIGN_SEGMENT).await;
    let Plan::Narrowcast(n) = &p else {
        panic!("expected a narrowcast plan, got {p:?}")
    };
    let uploaded = n
        .upload
        .as_ref()
        .expect("the campaign uploads an audience")
        .user_ids
        .len() as i64;
    assert_eq!(uploaded, 60);
    assert_eq!(quota_upper_bound(&p, None), Some(uploaded));
    assert_eq!(quota_upper_bound(&p, Some(4)), Some(4));
    assert_eq!(quota_upper_bound(&p, Some(1_000)), Some(uploaded));
}

#[tokio::test]
async fn a_multicast_counts_its_recipients() {
    let p = plan_of(FALLBACK_SEGMENT).await;
    let Plan::Multicast(m) = &p else {
        panic!("expected a multicast plan, got {p:?}")
    };
    assert_eq!(m.user_ids.len(), 30);
    assert_eq!(quota_upper_bound(&p, None), Some(30));
    // `limit` belongs to narrowcast only.
    assert_eq!(quota_upper_bound(&p, Some(1)), Some(30));
}
