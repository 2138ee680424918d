//! The channel access token and the channel secret never appear in Debug,
//! Display, error messages or logs.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use line_core::client::{Client, StatelessTokenSource};
use line_core::model::PushMessageRequest;
use line_core::ratelimit::RateLimiter;
use line_core::retry::RetryPolicy;
use line_core::{ChannelAccessToken, ChannelSecret};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECRET: &str = "channel-secret-DO-NOT-PRINT-77aa";

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_secret_in_debug_errors_or_logs() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/bot/message/push"))
        .respond_with(ResponseTemplate::new(500).set_body_json(json!({"message": "internal"})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/oauth2/v3/token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_client"})))
        .mount(&server)
        .await;
    let client = Client::builder()
        .token(common::TOKEN)
        .base_url(server.uri())
        .retry_policy(
            RetryPolicy::default()
                .with_max_attempts(2)
                .with_base_delay(std::time::Duration::from_millis(1)),
        )
        .rate_limiter(RateLimiter::disabled())
        .build()
        .unwrap();
    let err = client
        .push_message(PushMessageRequest::new("U1", vec![]))
        .await
        .unwrap_err();

    // a connection error too
    let dead = Client::builder()
        .token(common::TOKEN)
        .base_url("http://127.0.0.1:9")
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let conn_err = dead.get_bot_info().await.unwrap_err();

    // a token source that fails
    let source = StatelessTokenSource::new("1234", ChannelSecret::new(SECRET))
        .with_base_url(&server.uri())
        .unwrap();
    let via_source = Client::builder()
        .token_source(Arc::new(source))
        .base_url(server.uri())
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let token_err = via_source.get_bot_info().await.unwrap_err();

    let token = ChannelAccessToken::new(common::TOKEN);
    let secret = ChannelSecret::new(SECRET);
    let outputs = [
        format!("{client:?}"),
        format!("{client:#?}"),
        format!("{via_source:?}"),
        format!("{token:?} {secret:?}"),
        format!("{err} {err:?}"),
        format!("{conn_err} {conn_err:?}"),
        format!("{token_err} {token_err:?} {:?}", std::error::Error::source(&token_err)),
        String::from_utf8(logs.0.lock().unwrap().clone()).unwrap(),
    ];
    assert!(
        outputs[7].contains("pushMessage"),
        "the request span was logged: {}",
        outputs[7]
    );
    for out in &outputs {
        assert!(!out.contains(common::TOKEN), "token leaked: {out}");
        assert!(!out.contains(SECRET), "secret leaked: {out}");
    }
}
