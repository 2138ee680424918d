//! Token sources: stateless and v2.1 tokens are issued, cached and refreshed.

mod common;

use std::sync::Arc;

use line_core::client::{Client, JwtTokenSource, StatelessTokenSource, TokenSource};
use line_core::model::PushMessageRequest;
use line_core::ratelimit::RateLimiter;
use line_core::retry::RetryPolicy;
use line_core::ChannelSecret;
use serde_json::json;
use wiremock::matchers::{body_string, body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn client_with(server: &MockServer, source: Arc<dyn TokenSource>) -> Client {
    Client::builder()
        .token_source(source)
        .base_url(server.uri())
        .retry_policy(RetryPolicy::none())
        .rate_limiter(RateLimiter::disabled())
        .build()
        .unwrap()
}

#[tokio::test]
async fn stateless_tokens_are_issued_once_and_reused() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth2/v3/token"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string(
            "grant_type=client_credentials&client_id=1234&client_secret=s%26cret",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "issued-token-1", "expires_in": 900, "token_type": "Bearer"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v2/bot/message/push"))
        .and(header("authorization", "Bearer issued-token-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"sentMessages": []})))
        .expect(2)
        .mount(&server)
        .await;
    let source = StatelessTokenSource::new("1234", ChannelSecret::new("s&cret"))
        .with_base_url(&server.uri())
        .unwrap();
    let dbg = format!("{source:?}");
    assert!(!dbg.contains("s&cret"), "{dbg}");
    let client = client_with(&server, Arc::new(source));
    let req = PushMessageRequest::new("U1", vec![]);
    client.push_message(&req).await.unwrap();
    client.push_message(&req).await.unwrap();
}

#[tokio::test]
async fn a_401_refreshes_a_rotating_token_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth2/v2.1/token"))
        .and(body_string_contains("client_assertion=signed.jwt.value"))
        .and(body_string_contains("grant_type=client_credentials"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "v21-token", "expires_in": 2592000, "token_type": "Bearer", "key_id": "k1"
        })))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/bot/info"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"message": "Authentication failed"})))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/bot/info"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "userId": "Ub", "basicId": "@216ru", "displayName": "Shop", "chatMode": "bot", "markAsReadMode": "auto"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let source = JwtTokenSource::new(Arc::new(|| Ok("signed.jwt.value".to_owned())))
        .with_base_url(&server.uri())
        .unwrap();
    let client = client_with(&server, Arc::new(source));
    let info = client.get_bot_info().await.unwrap();
    assert_eq!(info.body.basic_id, "@216ru");
    assert_eq!(info.attempts, 2);
}

#[tokio::test]
async fn a_static_token_gets_no_second_try_after_401() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/bot/info"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"message": "Authentication failed"})))
        .expect(1)
        .mount(&server)
        .await;
    let client = common::client_for(&server, RetryPolicy::default());
    let err = client.get_bot_info().await.unwrap_err();
    assert_eq!(err.status(), Some(401));
}
