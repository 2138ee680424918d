//! Sending messages: headers, bodies, retry keys, retries, 409s and 429s.

mod common;

use std::time::Duration;

use line_core::client::Sent;
use line_core::model::{
    BroadcastRequest, Message, MulticastRequest, NarrowcastRequest, PushMessageRequest, ReplyMessageRequest,
    TextMessage,
};
use line_core::retry::RetryPolicy;
use line_core::{ErrorKind, RetryKey, TooManyRequests, UserId};
use serde_json::json;
use wiremock::matchers::{body_json, header, header_exists, method, path};
use wiremock::{Mock, Request, ResponseTemplate};

fn hello() -> Vec<Message> {
    vec![TextMessage::new("Hello").into()]
}

fn retry_keys(requests: &[Request]) -> Vec<String> {
    requests
        .iter()
        .map(|r| {
            r.headers
                .get("x-line-retry-key")
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default()
        })
        .collect()
}

#[tokio::test]
async fn push_sends_auth_content_type_retry_key_and_body() {
    let (server, client) = common::setup().await;
    Mock::given(method("POST"))
        .and(path("/v2/bot/message/push"))
        .and(header("authorization", format!("Bearer {}", common::TOKEN).as_str()))
        .and(header("content-type", "application/json"))
        .and(header_exists("x-line-retry-key"))
        .and(body_json(
            json!({"to": "U123", "messages": [{"type": "text", "text": "Hello"}]}),
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-line-request-id", "req-1")
                .set_body_json(json!({"sentMessages": [{"id": "461230966842064897", "quoteToken": "q"}]})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let resp = client
        .push_message(PushMessageRequest::new("U123", hello()))
        .await
        .unwrap();
    assert_eq!(resp.status, 200);
    assert_eq!(resp.request_id.as_ref().unwrap(), "req-1");
    let body = resp.body.into_new().unwrap();
    assert_eq!(body.sent_messages[0].id, "461230966842064897");
    let sent_key = retry_keys(&server.received_requests().await.unwrap())[0].clone();
    assert_eq!(resp.retry_key.unwrap().to_string(), sent_key);
    assert!(sent_key.parse::<RetryKey>().is_ok(), "retry key is a UUID: {sent_key}");
}

#[tokio::test]
async fn reply_has_no_retry_key() {
    let (server, client) = common::setup().await;
    Mock::given(method("POST"))
        .and(path("/v2/bot/message/reply"))
        .and(body_json(
            json!({"replyToken": "rt", "messages": [{"type": "text", "text": "Hello"}]}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"sentMessages": []})))
        .expect(1)
        .mount(&server)
        .await;
    let resp = client
        .reply_message(ReplyMessageRequest::new("rt", hello()))
        .await
        .unwrap();
    assert!(resp.retry_key.is_none());
    let reqs = server.received_requests().await.unwrap();
    assert!(reqs[0].headers.get("x-line-retry-key").is_none());
}

#[tokio::test]
async fn retries_on_500_reuse_the_same_retry_key() {
    let (server, client) = common::setup().await;
    Mock::given(method("POST"))
        .and(path("/v2/bot/message/multicast"))
        .respond_with(ResponseTemplate::new(500).set_body_json(json!({"message": "internal error"})))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v2/bot/message/multicast"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-line-request-id", "ok-3")
                .set_body_json(json!({})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let req = MulticastRequest::new(hello(), vec![UserId::new("U1"), UserId::new("U2")]);
    let resp = client.multicast(&req).await.unwrap();
    assert_eq!(resp.attempts, 3);
    assert_eq!(resp.request_id.unwrap(), "ok-3");
    let keys = retry_keys(&server.received_requests().await.unwrap());
    assert_eq!(keys.len(), 3);
    assert!(keys.iter().all(|k| k == &keys[0] && !k.is_empty()), "{keys:?}");
}

#[tokio::test]
async fn retries_on_timeout_reuse_the_same_retry_key() {
    let (server, client) = common::setup().await;
    Mock::given(method("POST"))
        .and(path("/v2/bot/message/broadcast"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_delay(Duration::from_secs(3))
                .set_body_json(json!({})),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v2/bot/message/broadcast"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .expect(1)
        .mount(&server)
        .await;
    let resp = client.broadcast(BroadcastRequest::new(hello())).await.unwrap();
    assert_eq!(resp.attempts, 2);
    let keys = retry_keys(&server.received_requests().await.unwrap());
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0], keys[1]);
}

#[tokio::test]
async fn a_409_for_the_retry_key_is_success_with_the_accepted_request_id() {
    let (server, client) = common::setup().await;
    let key: RetryKey = "123e4567-e89b-12d3-a456-426614174000".parse().unwrap();
    Mock::given(method("POST"))
        .and(path("/v2/bot/message/push"))
        .and(header("x-line-retry-key", "123e4567-e89b-12d3-a456-426614174000"))
        .respond_with(
            ResponseTemplate::new(409)
                .insert_header("x-line-request-id", "req-dup")
                .insert_header("x-line-accepted-request-id", "req-first")
                .set_body_json(json!({"message": "The retry key is already accepted"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let resp = client
        .push_message(PushMessageRequest::new("U1", hello()))
        .retry_key(key)
        .await
        .unwrap();
    assert_eq!(resp.status, 409);
    assert_eq!(resp.body, Sent::Duplicate);
    assert_eq!(resp.accepted_request_id.unwrap(), "req-first");
    assert_eq!(resp.retry_key, Some(key));
}

#[tokio::test]
async fn the_monthly_quota_429_is_not_retried() {
    let (server, client) = common::setup().await;
    Mock::given(method("POST"))
        .and(path("/v2/bot/message/push"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("x-line-request-id", "req-q")
                .set_body_json(json!({"message": "You have reached your monthly limit."})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let err = client
        .push_message(PushMessageRequest::new("U1", hello()))
        .await
        .unwrap_err();
    assert!(err.is_monthly_quota(), "{err:?}");
    let api = err.api().unwrap();
    assert_eq!(api.status, 429);
    assert_eq!(api.request_id.as_ref().unwrap(), "req-q");
    assert_eq!(api.too_many_requests, Some(TooManyRequests::MonthlyQuota));
}

#[tokio::test]
async fn the_rate_limit_429_is_retried() {
    let (server, client) = common::setup().await;
    Mock::given(method("POST"))
        .and(path("/v2/bot/message/push"))
        .respond_with(
            ResponseTemplate::new(429)
                .set_body_json(json!({"message": "The API rate limit has been exceeded. Try again later."})),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v2/bot/message/push"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"sentMessages": []})))
        .expect(1)
        .mount(&server)
        .await;
    let resp = client
        .push_message(PushMessageRequest::new("U1", hello()))
        .await
        .unwrap();
    assert_eq!(resp.attempts, 2);
}

#[tokio::test]
async fn a_400_is_not_retried_and_keeps_message_details_and_request_id() {
    let (server, client) = common::setup().await;
    Mock::given(method("POST"))
        .and(path("/v2/bot/message/push"))
        .respond_with(ResponseTemplate::new(400).insert_header("x-line-request-id", "req-400").set_body_json(json!({
            "message": "The request body has 2 error(s)",
            "details": [
                {"message": "May not be empty", "property": "messages[0].text"},
                {"message": "Must be one of the following values: [text, image]", "property": "messages[1].type"}
            ]
        })))
        .expect(1)
        .mount(&server)
        .await;
    let err = client
        .push_message(PushMessageRequest::new("U1", hello()))
        .await
        .unwrap_err();
    let api = err.api().unwrap();
    assert_eq!(api.status, 400);
    assert_eq!(api.operation, "pushMessage");
    assert_eq!(api.details.len(), 2);
    assert_eq!(api.details[0].property.as_deref(), Some("messages[0].text"));
    let text = err.to_string();
    assert!(
        text.contains("pushMessage") && text.contains("messages[0].text") && text.contains("req-400"),
        "{text}"
    );
}

#[tokio::test]
async fn give_up_after_max_attempts_with_the_last_error() {
    let (server, _) = common::setup().await;
    let client = common::client_for(
        &server,
        RetryPolicy::default()
            .with_max_attempts(3)
            .with_base_delay(Duration::from_millis(1)),
    );
    Mock::given(method("POST"))
        .and(path("/v2/bot/message/narrowcast"))
        .respond_with(ResponseTemplate::new(503).set_body_json(json!({"message": "unavailable"})))
        .expect(3)
        .mount(&server)
        .await;
    let err = client.narrowcast(NarrowcastRequest::new(hello())).await.unwrap_err();
    assert_eq!(err.status(), Some(503));
    let keys = retry_keys(&server.received_requests().await.unwrap());
    assert_eq!(keys.len(), 3);
    assert!(keys.iter().all(|k| k == &keys[0]));
}

#[tokio::test]
async fn narrowcast_202_and_a_caller_set_retry_key() {
    let (server, client) = common::setup().await;
    let key = RetryKey::new();
    Mock::given(method("POST"))
        .and(path("/v2/bot/message/narrowcast"))
        .and(header("x-line-retry-key", key.to_string().as_str()))
        .respond_with(
            ResponseTemplate::new(202)
                .insert_header("x-line-request-id", "nc-1")
                .set_body_json(json!({})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let resp = client
        .narrowcast(NarrowcastRequest::new(hello()))
        .retry_key(key)
        .await
        .unwrap();
    assert_eq!(resp.status, 202);
    assert_eq!(resp.retry_key, Some(key));
    assert!(!resp.body.is_duplicate());
}

#[tokio::test]
async fn dry_run_posts_to_the_validate_endpoints() {
    let (server, client) = common::setup().await;
    Mock::given(method("POST"))
        .and(path("/v2/bot/message/validate/push"))
        .and(body_json(json!({"messages": [{"type": "text", "text": "Hello"}]})))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v2/bot/message/validate/multicast"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "message": "A message (messages[0]) in the request body is invalid",
            "details": [{"message": "Length must be between 0 and 5000", "property": "/text"}]
        })))
        .expect(1)
        .mount(&server)
        .await;
    client
        .dry_run()
        .push(&PushMessageRequest::new("U1", hello()))
        .await
        .unwrap();
    let err = client
        .dry_run()
        .multicast(&MulticastRequest::new(hello(), vec![UserId::new("U1")]))
        .await
        .unwrap_err();
    assert_eq!(err.api().unwrap().details[0].property.as_deref(), Some("/text"));
}

#[tokio::test]
async fn an_unexpected_response_body_names_the_pointer() {
    let (server, client) = common::setup().await;
    Mock::given(method("POST"))
        .and(path("/v2/bot/message/push"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"sentMessages": [{"id": 5}]})))
        .mount(&server)
        .await;
    let err = client
        .push_message(PushMessageRequest::new("U1", hello()))
        .await
        .unwrap_err();
    match err.kind() {
        ErrorKind::Decode { operation, pointer, .. } => {
            assert_eq!(*operation, "pushMessage");
            assert_eq!(pointer, "/sentMessages/0/id");
        }
        other => panic!("unexpected {other:?}"),
    }
}
