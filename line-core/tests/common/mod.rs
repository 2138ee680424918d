//! Shared test helpers.
#![allow(dead_code)]

pub mod generated_calls;

use line_core::client::Client;
use line_core::ratelimit::RateLimiter;
use line_core::retry::RetryPolicy;
use std::time::Duration;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The token every test client uses; tests assert it never leaks.
pub const TOKEN: &str = "test-token-DO-NOT-PRINT-8c1f";

/// A mock server with a catch-all that fails the test if any request reaches
/// it (more specific mocks mounted later take precedence), plus a client
/// pointed at it for every host, with fast retries and no rate limiting.
pub async fn setup() -> (MockServer, Client) {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(418))
        .with_priority(u8::MAX)
        .expect(0)
        .named("catch-all: a request went somewhere unexpected")
        .mount(&server)
        .await;
    let client = client_for(
        &server,
        RetryPolicy::default().with_base_delay(Duration::from_millis(5)),
    );
    (server, client)
}

/// A client for `server` with this retry policy and no rate limiting.
pub fn client_for(server: &MockServer, retry: RetryPolicy) -> Client {
    Client::builder()
        .token(TOKEN)
        .base_url(server.uri())
        .retry_policy(retry)
        .rate_limiter(RateLimiter::disabled())
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap()
}
