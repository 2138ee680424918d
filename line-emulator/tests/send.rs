//! line-core's client against the emulator: the send endpoints.

mod common;

use std::sync::Arc;

use common::{api, start};
use jiff::{SignedDuration, Timestamp};
use line_core::clock::ManualClock;
use line_core::model::TextMessage;
use line_core::model::{BroadcastRequest, Message, MulticastRequest, PushMessageRequest, ReplyMessageRequest};
use line_core::{RetryKey, UserId};
use line_emulator::{EmulatorConfig, UserSpec};

fn text(s: &str) -> Message {
    TextMessage::new(s).into()
}

fn text_of(m: &Message) -> &str {
    match m {
        Message::Text(t) => &t.text,
        other => panic!("expected a text message, got {other:?}"),
    }
}

#[tokio::test]
async fn push_delivers_in_order_with_request_ids() {
    let (emu, client) = start(EmulatorConfig::new().friends(2)).await;
    let alice = emu.users()[0].user_id.clone();
    let r1 = client
        .push_message(PushMessageRequest::new(alice.as_str(), vec![text("one"), text("two")]))
        .await
        .unwrap();
    let r2 = client
        .push_message(PushMessageRequest::new(alice.as_str(), vec![text("three")]))
        .await
        .unwrap();
    let body = r1.body.clone().into_new().expect("fresh send");
    assert_eq!(body.sent_messages.len(), 2);
    assert!(r1.request_id.is_some() && r1.request_id != r2.request_id);
    let inbox = emu.messages(&alice);
    let texts: Vec<&str> = inbox.iter().map(|m| text_of(&m.message)).collect();
    assert_eq!(texts, ["one", "two", "three"]);
    assert_eq!(Some(&inbox[0].request_id), r1.request_id.as_ref());
    assert_eq!(Some(&inbox[2].request_id), r2.request_id.as_ref());
    assert_eq!(inbox[0].operation, "pushMessage");
    assert_eq!(emu.messages(&emu.users()[1].user_id).len(), 0);
    assert_eq!(emu.calls("pushMessage"), 2);
    assert_eq!(emu.quota_consumption(), 2);
}

#[tokio::test]
async fn retry_key_duplicate_answers_409_for_24_hours_of_emulated_time() {
    let clock = ManualClock::new("2026-05-01T00:00:00Z".parse::<Timestamp>().unwrap());
    let (emu, client) = start(EmulatorConfig::new().friends(1).clock(Arc::new(clock.clone()))).await;
    let alice = emu.users()[0].user_id.clone();
    let req = PushMessageRequest::new(alice.as_str(), vec![text("once")]);
    let key = RetryKey::new();
    let first = client.push_message(&req).retry_key(key).await.unwrap();
    assert!(!first.body.is_duplicate());
    let again = client.push_message(&req).retry_key(key).await.unwrap();
    assert_eq!(again.status, 409);
    assert!(again.body.is_duplicate());
    assert_eq!(again.accepted_request_id, first.request_id);
    assert_ne!(again.request_id, first.request_id);
    assert_eq!(emu.messages(&alice).len(), 1, "a duplicate is not delivered");

    clock.advance(SignedDuration::from_hours(23));
    assert!(client
        .push_message(&req)
        .retry_key(key)
        .await
        .unwrap()
        .body
        .is_duplicate());
    clock.advance(SignedDuration::from_hours(2));
    let later = client.push_message(&req).retry_key(key).await.unwrap();
    assert!(!later.body.is_duplicate(), "keys are kept 24 h only");
    assert_eq!(emu.messages(&alice).len(), 2);
}

#[tokio::test]
async fn multicast_validates_count_and_recipients() {
    let (emu, client) = start(EmulatorConfig::new().friends(3)).await;
    let users: Vec<UserId> = emu.users().into_iter().map(|u| u.user_id).collect();

    let six = vec![text("x"); 6];
    let err = client
        .multicast(MulticastRequest::new(six, users.clone()))
        .await
        .unwrap_err();
    let a = api(&err);
    assert_eq!(a.status, 400);
    assert_eq!(a.message, "The request body has 1 error(s)");
    assert_eq!(a.details[0].property.as_deref(), Some("messages"));

    let many: Vec<UserId> = (0..501).map(|i| UserId::new(format!("U{i:032x}"))).collect();
    let err = client
        .multicast(MulticastRequest::new(vec![text("x")], many))
        .await
        .unwrap_err();
    assert_eq!(api(&err).details[0].property.as_deref(), Some("to"));

    let bad = vec![UserId::new("not-a-user")];
    let err = client
        .multicast(MulticastRequest::new(vec![text("x")], bad))
        .await
        .unwrap_err();
    assert_eq!(api(&err).details[0].property.as_deref(), Some("to[0]"));

    let empty_text = vec![text("")];
    let err = client
        .multicast(MulticastRequest::new(empty_text, users.clone()))
        .await
        .unwrap_err();
    assert_eq!(api(&err).details[0].property.as_deref(), Some("messages[0].text"));

    let ok = client
        .multicast(MulticastRequest::new(vec![text("hi")], users.clone()))
        .await
        .unwrap();
    assert_eq!(ok.status, 200);
    for u in &users {
        let inbox = emu.messages(u);
        assert_eq!(inbox.len(), 1);
        assert_eq!(Some(&inbox[0].request_id), ok.request_id.as_ref());
    }
    assert_eq!(emu.delivered_count(), 3, "rejected requests deliver nothing");
}

#[tokio::test]
async fn blocked_users_and_non_friends_receive_nothing() {
    let (emu, client) = start(EmulatorConfig::new()).await;
    let friend = emu.add_user(UserSpec::new("Friend"));
    let blocked = emu.add_user(UserSpec::new("Blocked").blocked(true));
    let stranger = emu.add_user(UserSpec::new("Stranger").friend(false));
    let req = MulticastRequest::new(
        vec![text("sale")],
        vec![friend.clone(), blocked.clone(), stranger.clone()],
    );
    client.multicast(&req).await.unwrap();
    assert_eq!(emu.messages(&friend).len(), 1);
    assert!(emu.messages(&blocked).is_empty());
    assert!(emu.messages(&stranger).is_empty());
    assert_eq!(emu.quota_consumption(), 1);

    client
        .broadcast(BroadcastRequest::new(vec![text("all")]))
        .await
        .unwrap();
    assert_eq!(emu.messages(&friend).len(), 2);
    assert!(emu.messages(&blocked).is_empty());

    let unknown = PushMessageRequest::new(format!("U{:032x}", 7u8), vec![text("?")]);
    let err = client.push_message(&unknown).await.unwrap_err();
    assert_eq!(api(&err).message, "Failed to send messages");
}

#[tokio::test]
async fn reply_tokens_are_single_use_and_expire() {
    let clock = ManualClock::new("2026-05-01T00:00:00Z".parse::<Timestamp>().unwrap());
    let (emu, client) = start(EmulatorConfig::new().friends(1).clock(Arc::new(clock.clone()))).await;
    let alice = emu.users()[0].user_id.clone();
    let token = emu.issue_reply_token(&alice).unwrap();
    let r = client
        .reply_message(ReplyMessageRequest::new(token.clone(), vec![text("thanks")]))
        .await
        .unwrap();
    assert_eq!(r.body.sent_messages.len(), 1);
    assert_eq!(text_of(&emu.messages(&alice)[0].message), "thanks");
    let err = client
        .reply_message(ReplyMessageRequest::new(token, vec![text("again")]))
        .await
        .unwrap_err();
    assert_eq!(api(&err).message, "Invalid reply token");

    let stale = emu.issue_reply_token(&alice).unwrap();
    clock.advance(SignedDuration::from_secs(61));
    let err = client
        .reply_message(ReplyMessageRequest::new(stale, vec![text("late")]))
        .await
        .unwrap_err();
    assert_eq!(api(&err).status, 400);
    assert_eq!(emu.messages(&alice).len(), 1);
    assert_eq!(emu.quota_consumption(), 0, "replies are free");
}

#[tokio::test]
async fn monthly_quota_answers_429_and_the_quota_endpoints_report_it() {
    let (emu, client) = start(EmulatorConfig::new().friends(3).monthly_quota(Some(4))).await;
    let users: Vec<UserId> = emu.users().into_iter().map(|u| u.user_id).collect();
    client
        .multicast(MulticastRequest::new(vec![text("a")], users.clone()))
        .await
        .unwrap();
    let err = client
        .multicast(MulticastRequest::new(vec![text("b")], users.clone()))
        .await
        .unwrap_err();
    assert_eq!(api(&err).status, 429);
    assert!(err.is_monthly_quota(), "{err}");
    assert_eq!(api(&err).message, "You have reached your monthly limit.");
    let quota = client.get_message_quota().await.unwrap().body;
    assert_eq!(quota.value, Some(4));
    assert_eq!(quota.kind.as_str(), "limited");
    let used = client.get_message_quota_consumption().await.unwrap().body;
    assert_eq!(used.total_usage, 3);
    client
        .push_message(PushMessageRequest::new(users[0].as_str(), vec![text("c")]))
        .await
        .unwrap();
    assert_eq!(
        client.get_message_quota_consumption().await.unwrap().body.total_usage,
        4
    );
}

#[tokio::test]
async fn wrong_token_gets_401_and_unknown_paths_404_in_line_shape() {
    let (emu, client) = start(EmulatorConfig::new().friends(1).token("right-token")).await;
    assert!(client.get_bot_info().await.is_ok());
    let wrong = emu
        .client_builder()
        .token("wrong-token")
        .retry_policy(line_core::retry::RetryPolicy::none())
        .build()
        .unwrap();
    let err = wrong.get_bot_info().await.unwrap_err();
    assert_eq!(api(&err).status, 401);
    assert!(!format!("{err:?}{err}").contains("right-token"));

    let http = reqwest::Client::new();
    let resp = http
        .get(format!("{}/v2/bot/no/such/endpoint", emu.base_url()))
        .bearer_auth("right-token")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    assert!(resp.headers().contains_key("x-line-request-id"));
    let body: serde_json::Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
    assert_eq!(body["message"], "Not found");
    assert_eq!(emu.calls("unknown"), 1);
}

#[tokio::test]
async fn malformed_bodies_name_the_property() {
    let (emu, _client) = start(EmulatorConfig::new().friends(1)).await;
    let http = reqwest::Client::new();
    let resp = http
        .post(format!("{}/v2/bot/message/push", emu.base_url()))
        .bearer_auth("t")
        .header("content-type", "application/json")
        .body(r#"{"to": "U00000000000000000000000000000001", "messages": [{"type": "text", "text": 5}]}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: serde_json::Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
    assert_eq!(body["details"][0]["property"], "messages[0].text", "{body}");

    let resp = http
        .post(format!("{}/v2/bot/message/push", emu.base_url()))
        .bearer_auth("t")
        .header("x-line-retry-key", "not-a-uuid")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(emu.delivered_count(), 0);
}
