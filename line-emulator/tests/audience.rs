//! Audiences, and narrowcast evaluated against audiences, redelivery and filters.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{api, start};
use jiff::{SignedDuration, Timestamp};
use line_core::clock::ManualClock;
use line_core::model::{
    AddAudienceToAudienceGroupRequest, Audience, CreateAudienceGroupRequest, MulticastRequest, NarrowcastRequest,
    TextMessage,
};
use line_core::UserId;
use line_emulator::{EmulatorConfig, UserSpec};
use serde_json::json;

fn audiences(ids: &[UserId]) -> Vec<Audience> {
    ids.iter()
        .map(|u| {
            let mut a = Audience::new();
            a.id = Some(u.as_str().to_owned());
            a
        })
        .collect()
}

async fn create_audience(client: &line_core::client::Client, ids: &[UserId]) -> i64 {
    let mut req = CreateAudienceGroupRequest::new();
    req.description = Some("test audience".into());
    req.audiences = Some(audiences(ids));
    let r = client.create_audience_group(&req).await.unwrap();
    assert_eq!(r.status, 202);
    r.body.audience_group_id.unwrap()
}

fn narrowcast(extra: serde_json::Value) -> NarrowcastRequest {
    let mut v = json!({"messages": [{"type": "text", "text": "news"}]});
    for (k, x) in extra.as_object().unwrap() {
        v[k] = x.clone();
    }
    serde_json::from_value(v).unwrap()
}

#[tokio::test]
async fn upload_add_get_delete() {
    let (emu, client) = start(EmulatorConfig::new().friends(5)).await;
    let users = emu.follower_ids();
    let id = create_audience(&client, &users[..3]).await;
    let mut add = AddAudienceToAudienceGroupRequest::new();
    add.audience_group_id = Some(id);
    add.audiences = Some(audiences(&users[2..]));
    let r = client.add_audience_to_audience_group(&add).await.unwrap();
    assert_eq!(r.status, 202);
    let expected: Vec<String> = users.iter().map(|u| u.as_str().to_owned()).collect();
    assert_eq!(emu.audience_members(id), Some(expected));
    let data = client.get_audience_data(id).await.unwrap().body;
    let group = data.audience_group.unwrap();
    assert_eq!(group.audience_count, Some(5));
    assert_eq!(group.status.unwrap().as_str(), "READY");
    client.delete_audience_group(id).await.unwrap();
    assert!(client.get_audience_data(id).await.is_err());

    let mut no_desc = CreateAudienceGroupRequest::new();
    no_desc.audiences = Some(audiences(&users));
    let err = client.create_audience_group(&no_desc).await.unwrap_err();
    assert_eq!(api(&err).details[0].property.as_deref(), Some("description"));
}

#[tokio::test]
async fn narrowcast_to_an_audience_with_a_demographic_filter() {
    let (emu, client) = start(EmulatorConfig::new()).await;
    let mut members = Vec::new();
    for i in 0..60 {
        let g = if i % 2 == 0 { "female" } else { "male" };
        members.push(emu.add_user(UserSpec::new(format!("u{i}")).gender(g).age(20 + (i % 40) as u8)));
    }
    let outsider = emu.add_user(UserSpec::new("outsider").gender("female"));
    let id = create_audience(&client, &members).await;
    let req = narrowcast(json!({
        "recipient": {"type": "audience", "audienceGroupId": id},
        "filter": {"demographic": {"type": "operator", "and": [
            {"type": "gender", "oneOf": ["female"]},
            {"type": "age", "gte": "age_30"}
        ]}}
    }));
    let r = client.narrowcast(&req).await.unwrap();
    assert_eq!(r.status, 202);
    let request_id = r.request_id.unwrap();
    let expected: Vec<&UserId> = members
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 2 == 0 && 20 + (i % 40) >= 30)
        .map(|(_, u)| u)
        .collect();
    for (i, u) in members.iter().enumerate() {
        let got = emu.messages(u).len();
        assert_eq!(got, usize::from(expected.contains(&u)), "member {i}");
    }
    assert!(emu.messages(&outsider).is_empty());
    let p = client.get_narrowcast_progress(request_id.as_str()).await.unwrap().body;
    assert_eq!(p.phase.as_str(), "succeeded");
    assert_eq!(p.target_count, Some(expected.len() as i64));
    assert_eq!(p.success_count, Some(expected.len() as i64));
}

#[tokio::test]
async fn small_audiences_fail_with_error_code_4_and_empty_targets_with_2() {
    let (emu, client) = start(EmulatorConfig::new().friends(10)).await;
    let small = create_audience(&client, &emu.follower_ids()).await;
    let r = client
        .narrowcast(narrowcast(
            json!({"recipient": {"type": "audience", "audienceGroupId": small}}),
        ))
        .await
        .unwrap();
    let p = client
        .get_narrowcast_progress(r.request_id.unwrap().as_str())
        .await
        .unwrap()
        .body;
    assert_eq!(p.phase.as_str(), "failed");
    assert_eq!(p.error_code, Some(4));
    assert_eq!(emu.delivered_count(), 0);

    let nobody = narrowcast(json!({"filter": {"demographic": {"type": "appType", "oneOf": []}}}));
    let r = client.narrowcast(&nobody).await.unwrap();
    let p = client
        .get_narrowcast_progress(r.request_id.unwrap().as_str())
        .await
        .unwrap()
        .body;
    assert_eq!(p.error_code, Some(2));

    let err = client
        .narrowcast(narrowcast(
            json!({"recipient": {"type": "audience", "audienceGroupId": 1}}),
        ))
        .await
        .unwrap_err();
    assert_eq!(api(&err).status, 400);
}

#[tokio::test]
async fn redelivery_reaches_the_recipients_of_an_earlier_request_and_limit_caps_it() {
    let (emu, client) = start(EmulatorConfig::new().friends(8)).await;
    let users = emu.follower_ids();
    let first = client
        .multicast(MulticastRequest::new(
            vec![TextMessage::new("first").into()],
            users[..5].to_vec(),
        ))
        .await
        .unwrap();
    let rid = first.request_id.unwrap();
    let req = narrowcast(json!({"recipient": {"type": "redelivery", "requestId": rid.as_str()}}));
    client.narrowcast(&req).await.unwrap();
    for (i, u) in users.iter().enumerate() {
        assert_eq!(emu.messages(u).len(), if i < 5 { 2 } else { 0 }, "user {i}");
    }
    let capped = narrowcast(json!({"limit": {"max": 3}}));
    let r = client.narrowcast(&capped).await.unwrap();
    let p = client
        .get_narrowcast_progress(r.request_id.unwrap().as_str())
        .await
        .unwrap()
        .body;
    assert_eq!(p.target_count, Some(8));
    assert_eq!(p.success_count, Some(3));
    assert_eq!(emu.delivered_count(), 10 + 3);

    let not = narrowcast(json!({"recipient": {"type": "operator", "not":
        {"type": "redelivery", "requestId": rid.as_str()}}}));
    let not_id = client.narrowcast(&not).await.unwrap().request_id.unwrap();
    for (i, u) in users.iter().enumerate() {
        let got = emu.messages(u).iter().filter(|m| m.request_id == not_id).count();
        assert_eq!(got, usize::from(i >= 5), "user {i}");
    }
}

#[tokio::test]
async fn narrowcast_waits_until_its_job_is_due() {
    let clock = ManualClock::new("2026-05-01T00:00:00Z".parse::<Timestamp>().unwrap());
    let config = EmulatorConfig::new()
        .friends(2)
        .clock(Arc::new(clock.clone()))
        .job_delay(Duration::from_secs(60));
    let (emu, client) = start(config).await;
    let r = client.narrowcast(narrowcast(json!({}))).await.unwrap();
    let rid = r.request_id.unwrap();
    let p = client.get_narrowcast_progress(rid.as_str()).await.unwrap().body;
    assert_eq!(p.phase.as_str(), "waiting");
    assert_eq!(p.accepted_time, "2026-05-01T00:00:00.000Z");
    assert_eq!(emu.delivered_count(), 0);
    clock.advance(SignedDuration::from_secs(60));
    let p = client.get_narrowcast_progress(rid.as_str()).await.unwrap().body;
    assert_eq!(p.phase.as_str(), "succeeded");
    assert_eq!(p.completed_time.as_deref(), Some("2026-05-01T00:01:00.000Z"));
    assert_eq!(emu.delivered_count(), 2);
}

#[tokio::test]
async fn upload_and_add_by_file_on_the_data_host() {
    let (emu, client) = start(EmulatorConfig::new().friends(4)).await;
    let users = emu.follower_ids();
    let file = format!("{}\n{}\n\n", users[0].as_str(), users[1].as_str());
    let r = client
        .create_audience_for_uploading_user_ids(file.into_bytes())
        .description("by file")
        .is_ifa_audience(false)
        .await
        .unwrap();
    assert_eq!(r.status, 202);
    let id = r.body.audience_group_id.unwrap();
    let more = format!("{}\n{}", users[1].as_str(), users[2].as_str());
    client
        .add_user_ids_to_audience(more.into_bytes())
        .audience_group_id(id)
        .await
        .unwrap();
    let expected: Vec<String> = users[..3].iter().map(|u| u.as_str().to_owned()).collect();
    assert_eq!(emu.audience_members(id), Some(expected));
    let err = client
        .create_audience_for_uploading_user_ids(b"U1".to_vec())
        .await
        .unwrap_err();
    assert_eq!(api(&err).details[0].property.as_deref(), Some("description"));
    let err = client
        .add_user_ids_to_audience(b"x".to_vec())
        .audience_group_id(42)
        .await
        .unwrap_err();
    assert_eq!(api(&err).details[0].property.as_deref(), Some("audienceGroupId"));
}
