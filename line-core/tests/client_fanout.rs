//! Fan-out: chunks of 500, concurrency, safe retries, per-chunk report.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use line_core::client::Client;
use line_core::model::{Message, TextMessage};
use line_core::ratelimit::RateLimiter;
use line_core::retry::RetryPolicy;
use line_core::{ErrorKind, UserId};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// Answers like LINE with retry keys: the first request of each key is
/// accepted (every third first try fails with a 500 *after* being accepted),
/// a repeated key answers 409.
#[derive(Clone, Default)]
struct Line {
    accepted: Arc<Mutex<HashMap<String, Vec<String>>>>,
    calls: Arc<AtomicUsize>,
}

impl Respond for Line {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        let key = req
            .headers
            .get("x-line-retry-key")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
        let to: Vec<String> = serde_json::from_value(body["to"].clone()).unwrap();
        let mut accepted = self.accepted.lock().unwrap();
        if accepted.contains_key(&key) {
            return ResponseTemplate::new(409)
                .insert_header("x-line-accepted-request-id", format!("req-{key}").as_str())
                .set_body_json(serde_json::json!({"message": "The retry key is already accepted"}));
        }
        accepted.insert(key.clone(), to);
        if n.is_multiple_of(3) {
            // accepted, but the answer says otherwise: the client must retry with the same key
            return ResponseTemplate::new(500).set_body_json(serde_json::json!({"message": "oops"}));
        }
        ResponseTemplate::new(200)
            .insert_header("x-line-request-id", format!("req-{key}").as_str())
            .set_body_json(serde_json::json!({}))
    }
}

fn users(n: usize) -> Vec<UserId> {
    (0..n).map(|i| UserId::new(format!("U{i:032x}"))).collect()
}

#[tokio::test]
async fn multicast_fan_out_delivers_each_user_exactly_once() {
    let server = MockServer::start().await;
    let line = Line::default();
    Mock::given(method("POST"))
        .and(path("/v2/bot/message/multicast"))
        .respond_with(line.clone())
        .mount(&server)
        .await;
    let client = Client::builder()
        .token("t")
        .base_url(server.uri())
        .retry_policy(RetryPolicy::default().with_base_delay(Duration::from_millis(1)))
        .rate_limiter(RateLimiter::disabled())
        .build()
        .unwrap();
    let all = users(2_345);
    let messages: Vec<Message> = vec![TextMessage::new("Sale").into()];
    let report = client
        .fan_out()
        .concurrency(8)
        .multicast(&messages, &all)
        .await
        .unwrap();
    assert_eq!(report.chunks.len(), 5, "ceil(2345 / 500)");
    assert_eq!(report.recipients, 2_345);
    assert_eq!(report.accepted_recipients, 2_345);
    assert_eq!(report.failed_recipients, 0);
    assert!(report.chunks.iter().all(|c| c.recipients <= 500));
    let accepted = line.accepted.lock().unwrap();
    let mut delivered: Vec<String> = accepted.values().flatten().cloned().collect();
    delivered.sort();
    let mut expected: Vec<String> = all.iter().map(|u| u.to_string()).collect();
    expected.sort();
    assert_eq!(delivered, expected, "every user exactly once");
    // retried chunks came back as duplicates of their first, accepted, attempt
    assert!(report.chunks.iter().any(|c| c.outcome.as_ref().unwrap().duplicate));
}

#[tokio::test]
async fn resuming_with_the_same_keys_sends_nothing_twice() {
    let server = MockServer::start().await;
    let line = Line::default();
    Mock::given(method("POST"))
        .and(path("/v2/bot/message/multicast"))
        .respond_with(line.clone())
        .mount(&server)
        .await;
    let client = Client::builder()
        .token("t")
        .base_url(server.uri())
        .retry_policy(RetryPolicy::default().with_base_delay(Duration::from_millis(1)))
        .rate_limiter(RateLimiter::disabled())
        .build()
        .unwrap();
    let all = users(1_200);
    let messages: Vec<Message> = vec![TextMessage::new("Sale").into()];
    let first = client.fan_out().multicast(&messages, &all).await.unwrap();
    let again = client
        .fan_out()
        .resume_with(first.retry_keys())
        .multicast(&messages, &all)
        .await
        .unwrap();
    assert!(again.chunks.iter().all(|c| c.outcome.as_ref().unwrap().duplicate));
    assert_eq!(
        line.accepted.lock().unwrap().values().map(Vec::len).sum::<usize>(),
        1_200
    );
}

#[tokio::test]
async fn personalized_pushes_and_bad_input() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/bot/message/push"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"sentMessages": []})))
        .expect(50)
        .mount(&server)
        .await;
    let client = Client::builder()
        .token("t")
        .base_url(server.uri())
        .rate_limiter(RateLimiter::disabled())
        .build()
        .unwrap();
    let items = users(50).into_iter().enumerate().map(|(i, u)| {
        (
            u,
            vec![Message::from(TextMessage::new(format!(
                "¥{} more to reach the next tier",
                1000 + i
            )))],
        )
    });
    let report = client.fan_out().push_each(items).await.unwrap();
    assert_eq!(report.sent, 50);
    assert!(report.failed.is_empty());
    let bodies: Vec<serde_json::Value> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert!(bodies
        .iter()
        .any(|b| b["messages"][0]["text"] == "¥1049 more to reach the next tier"));

    let err = client.fan_out().multicast(&[], &users(3)).await.unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::InvalidInput { field, .. } if field == "messages"),
        "{err}"
    );
}
