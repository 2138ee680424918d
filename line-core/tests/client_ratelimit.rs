//! The client-side rate limiter delays a burst instead of drawing 429s.

use std::future::IntoFuture as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use line_core::client::Client;
use line_core::model::{MulticastRequest, TextMessage};
use line_core::ratelimit::{Quota, RateClass, RateLimiter};
use line_core::retry::RetryPolicy;
use line_core::UserId;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// A server-side limit like LINE's: at most `limit` requests in any `window`
/// (sliding), otherwise 429 with the rate-limit message.
struct Limited {
    limit: usize,
    window: Duration,
    seen: Mutex<Vec<Instant>>,
    rejected: Arc<AtomicUsize>,
}

impl Respond for Limited {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let now = Instant::now();
        let mut seen = self.seen.lock().unwrap();
        seen.retain(|t| now.duration_since(*t) < self.window);
        if seen.len() >= self.limit {
            self.rejected.fetch_add(1, Ordering::SeqCst);
            return ResponseTemplate::new(429).set_body_json(
                serde_json::json!({"message": "The API rate limit has been exceeded. Try again later."}),
            );
        }
        seen.push(now);
        ResponseTemplate::new(200).set_body_json(serde_json::json!({}))
    }
}

#[tokio::test]
async fn a_burst_waits_for_tokens_and_draws_no_429() {
    let server = MockServer::start().await;
    let rejected = Arc::new(AtomicUsize::new(0));
    // 10 per 200 ms on the server; the client is told 10 per 320 ms. The server
    // counts a call when it handles it, which on a busy machine can be well after
    // the client let it go, so the client's window is longer by that jitter.
    Mock::given(method("POST"))
        .and(path("/v2/bot/message/multicast"))
        .respond_with(Limited {
            limit: 10,
            window: Duration::from_millis(200),
            seen: Mutex::new(Vec::new()),
            rejected: rejected.clone(),
        })
        .mount(&server)
        .await;
    let limiter =
        RateLimiter::line_defaults().with_quota(RateClass::Multicast, Quota::new(10, Duration::from_millis(320)));
    let client = Client::builder()
        .token("t")
        .base_url(server.uri())
        .retry_policy(RetryPolicy::none())
        .rate_limiter(limiter)
        .build()
        .unwrap();
    let start = Instant::now();
    let req = MulticastRequest::new(vec![TextMessage::new("hi").into()], vec![UserId::new("U1")]);
    let calls = (0..40).map(|_| client.multicast(&req).into_future());
    let results = futures::future::join_all(calls).await;
    let elapsed = start.elapsed();
    assert_eq!(rejected.load(Ordering::SeqCst), 0, "no request drew a 429");
    assert!(results.iter().all(|r| r.is_ok()));
    // 10 at once, then 30 more at 10 per 320 ms: at least ~960 ms.
    assert!(
        elapsed >= Duration::from_millis(900),
        "the limiter made the burst wait: {elapsed:?}"
    );
}
