//! Fan-out: chunks of 500, concurrency, safe retries, per-chunk report,
//! resumable pushes and progress.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use line_core::client::{Client, InMemoryRetryKeyStore, Progress};
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

/// Answers 200 to a push only if every key of the run is already stored, and
/// records the retry key of each request.
struct StoredFirst {
    store: Arc<InMemoryRetryKeyStore>,
    expected: usize,
    keys: Arc<Mutex<Vec<String>>>,
}

impl Respond for StoredFirst {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let key = req
            .headers
            .get("x-line-retry-key")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        self.keys.lock().unwrap().push(key);
        if self.store.len("run-1") != self.expected {
            return ResponseTemplate::new(400).set_body_json(serde_json::json!({"message": "keys not stored first"}));
        }
        ResponseTemplate::new(200).set_body_json(serde_json::json!({"sentMessages": []}))
    }
}

fn personalized(users: &[UserId]) -> Vec<(UserId, Vec<Message>)> {
    users
        .iter()
        .map(|u| (u.clone(), vec![Message::from(TextMessage::new(format!("hi {u}")))]))
        .collect()
}

#[tokio::test]
async fn a_resumable_push_each_stores_every_key_first_and_a_rerun_reuses_them() {
    let server = MockServer::start().await;
    let store = Arc::new(InMemoryRetryKeyStore::new());
    let keys: Arc<Mutex<Vec<String>>> = Arc::default();
    Mock::given(method("POST"))
        .and(path("/v2/bot/message/push"))
        .respond_with(StoredFirst {
            store: store.clone(),
            expected: 30,
            keys: keys.clone(),
        })
        .expect(60)
        .mount(&server)
        .await;
    let client = Client::builder()
        .token("t")
        .base_url(server.uri())
        .rate_limiter(RateLimiter::disabled())
        .build()
        .unwrap();
    let all = users(30);
    let report = client
        .fan_out()
        .concurrency(4)
        .resumable(store.clone(), "run-1")
        .push_each(personalized(&all))
        .await
        .unwrap();
    assert_eq!((report.sent, report.failed.len()), (30, 0));
    // The re-run, in another order, sends the same key for each user.
    let mut reversed = personalized(&all);
    reversed.reverse();
    client
        .fan_out()
        .resumable(store.clone(), "run-1")
        .push_each(reversed)
        .await
        .unwrap();
    let keys = keys.lock().unwrap();
    let mut first: Vec<&String> = keys[..30].iter().collect();
    let mut second: Vec<&String> = keys[30..].iter().collect();
    first.sort();
    second.sort();
    assert_eq!(first, second);
    first.dedup();
    assert_eq!(first.len(), 30, "one key per user");
}

#[tokio::test]
async fn a_resumable_run_rejects_a_user_listed_twice() {
    let (server, client) = common::setup().await;
    let store = Arc::new(InMemoryRetryKeyStore::new());
    let mut items = personalized(&users(3));
    items.push(items[1].clone());
    let err = client
        .fan_out()
        .resumable(store.clone(), "run")
        .push_each(items)
        .await
        .unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::InvalidInput { field, .. } if field == "items[3].user_id"),
        "{err}"
    );
    assert!(store.is_empty("run"), "nothing stored for a rejected run");
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn push_each_reports_progress_after_each_push() {
    let (server, client) = common::setup().await;
    Mock::given(method("POST"))
        .and(path("/v2/bot/message/push"))
        .and(wiremock::matchers::body_partial_json(
            serde_json::json!({"to": format!("U{:032x}", 3)}),
        ))
        .respond_with(ResponseTemplate::new(400).set_body_json(serde_json::json!({"message": "bad"})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v2/bot/message/push"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"sentMessages": []})))
        .mount(&server)
        .await;
    let seen: Arc<Mutex<Vec<Progress>>> = Arc::default();
    let log = seen.clone();
    let report = client
        .fan_out()
        .concurrency(1)
        .on_progress(move |p: &Progress| log.lock().unwrap().push(p.clone()))
        .push_each(personalized(&users(5)))
        .await
        .unwrap();
    assert_eq!((report.sent, report.failed.len()), (4, 1));
    let seen = seen.lock().unwrap();
    let steps: Vec<(usize, usize, usize)> = seen.iter().map(|p| (p.sent, p.failed, p.remaining)).collect();
    assert_eq!(
        steps,
        [(0, 0, 5), (1, 0, 4), (2, 0, 3), (3, 0, 2), (3, 1, 1), (4, 1, 0)],
        "one report before the first push, then one per push"
    );
    assert!(seen.iter().all(|p| p.total == 5));
}
