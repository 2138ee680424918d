//! Retries never duplicate: `Retry-After` is honoured, calls that are not
//! idempotent are not repeated once they may have reached LINE, and
//! everything that is safe to repeat is retried.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use line_core::client::operations::{self, ALL};
use line_core::client::{Client, HttpMethod};
use line_core::error::UnknownCause;
use line_core::model::{
    CouponCreateRequest, PushMessageRequest, RichMenuRequest, SetWebhookEndpointRequest, TextMessage,
};
use line_core::ratelimit::RateLimiter;
use line_core::retry::{Idempotency, RetryPolicy};
use line_core::ErrorKind;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// Answers with `first` once, then with `then`, and records when each request arrived.
#[derive(Clone)]
struct Sequence {
    first: ResponseTemplate,
    then: ResponseTemplate,
    seen: Arc<Mutex<Vec<Instant>>>,
}

impl Sequence {
    fn new(first: ResponseTemplate, then: ResponseTemplate) -> Self {
        Self {
            first,
            then,
            seen: Arc::default(),
        }
    }

    /// Time between the first and the second request.
    fn gap(&self) -> Duration {
        let seen = self.seen.lock().unwrap();
        assert_eq!(seen.len(), 2, "expected exactly two requests");
        seen[1] - seen[0]
    }
}

impl Respond for Sequence {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let mut seen = self.seen.lock().unwrap();
        seen.push(Instant::now());
        if seen.len() == 1 {
            self.first.clone()
        } else {
            self.then.clone()
        }
    }
}

/// A policy whose own backoff is 1 ms, so any longer wait comes from `Retry-After`.
fn fast() -> RetryPolicy {
    RetryPolicy::default()
        .with_base_delay(Duration::from_millis(1))
        .with_jitter(0.0)
}

fn push() -> PushMessageRequest {
    PushMessageRequest::new("U1", vec![TextMessage::new("hi").into()])
}

fn rich_menu() -> RichMenuRequest {
    let mut req = RichMenuRequest::new();
    req.name = Some("menu".into());
    req
}

fn rate_limited() -> ResponseTemplate {
    ResponseTemplate::new(429)
        .set_body_json(json!({"message": "The API rate limit has been exceeded. Try again later."}))
}

#[tokio::test]
async fn retry_after_in_seconds_is_honoured_on_a_429() {
    let (server, _) = common::setup().await;
    let client = common::client_for(&server, fast());
    let seq = Sequence::new(
        rate_limited().insert_header("retry-after", "1"),
        ResponseTemplate::new(200).set_body_json(json!({"sentMessages": []})),
    );
    Mock::given(method("POST"))
        .and(path("/v2/bot/message/push"))
        .respond_with(seq.clone())
        .expect(2)
        .mount(&server)
        .await;
    let resp = client.push_message(push()).await.unwrap();
    assert_eq!(resp.attempts, 2);
    assert!(seq.gap() >= Duration::from_secs(1), "retried after {:?}", seq.gap());
}

#[tokio::test]
async fn retry_after_in_seconds_is_honoured_on_a_503() {
    let (server, _) = common::setup().await;
    let client = common::client_for(&server, fast());
    let seq = Sequence::new(
        ResponseTemplate::new(503)
            .insert_header("retry-after", "1")
            .set_body_json(json!({"message": "unavailable"})),
        ResponseTemplate::new(200).set_body_json(json!({"userId": "Ubot", "basicId": "@bot", "displayName": "Bot", "chatMode": "bot", "markAsReadMode": "auto"})),
    );
    Mock::given(method("GET"))
        .and(path("/v2/bot/info"))
        .respond_with(seq.clone())
        .expect(2)
        .mount(&server)
        .await;
    let resp = client.get_bot_info().await.unwrap();
    assert_eq!(resp.attempts, 2);
    assert!(seq.gap() >= Duration::from_secs(1), "retried after {:?}", seq.gap());
}

#[tokio::test]
async fn retry_after_as_an_http_date_is_honoured() {
    let (server, _) = common::setup().await;
    let client = common::client_for(&server, fast());
    // Two seconds ahead, at one-second resolution: at least one second of wait.
    let at = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(2);
    let date = at.strftime("%a, %d %b %Y %H:%M:%S GMT").to_string();
    let seq = Sequence::new(
        rate_limited().insert_header("retry-after", date.as_str()),
        ResponseTemplate::new(200).set_body_json(json!({"sentMessages": []})),
    );
    Mock::given(method("POST"))
        .and(path("/v2/bot/message/push"))
        .respond_with(seq.clone())
        .expect(2)
        .mount(&server)
        .await;
    client.push_message(push()).await.unwrap();
    assert!(
        seq.gap() >= Duration::from_secs(1),
        "{date}: retried after {:?}",
        seq.gap()
    );
}

#[tokio::test]
async fn a_retry_after_beyond_the_policy_gives_up_and_carries_it() {
    let (server, client) = common::setup().await;
    Mock::given(method("POST"))
        .and(path("/v2/bot/message/push"))
        .respond_with(rate_limited().insert_header("retry-after", "3600"))
        .expect(1)
        .mount(&server)
        .await;
    let err = client.push_message(push()).await.unwrap_err();
    let api = err.api().unwrap();
    assert_eq!(api.status, 429);
    assert_eq!(api.retry_after, Some(Duration::from_secs(3600)));
    assert!(err.to_string().contains("retry after 3600s"), "{err}");
}

#[tokio::test]
async fn a_500_on_create_rich_menu_is_an_unknown_outcome_after_exactly_one_request() {
    let (server, client) = common::setup().await;
    Mock::given(method("POST"))
        .and(path("/v2/bot/richmenu"))
        .respond_with(
            ResponseTemplate::new(500)
                .insert_header("x-line-request-id", "req-500")
                .set_body_json(json!({"message": "internal error"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let err = client.create_rich_menu(rich_menu()).await.unwrap_err();
    let unknown = err
        .outcome_unknown()
        .unwrap_or_else(|| panic!("not an unknown outcome: {err:?}"));
    assert_eq!(unknown.operation, "createRichMenu");
    assert_eq!(unknown.attempts, 1);
    let UnknownCause::ServerError(api) = &unknown.cause else {
        panic!("{unknown:?}")
    };
    assert_eq!((api.status, api.message.as_str()), (500, "internal error"));
    assert_eq!(api.request_id.as_ref().unwrap(), "req-500");
    // What LINE said stays reachable the usual way.
    assert_eq!(err.status(), Some(500));
    let text = err.to_string();
    assert!(
        text.contains("createRichMenu") && text.contains("outcome unknown") && text.contains("req-500"),
        "{text}"
    );
    assert!(!text.contains(common::TOKEN) && !format!("{err:?}").contains(common::TOKEN));
}

#[tokio::test]
async fn a_503_with_retry_after_on_create_coupon_is_still_not_repeated() {
    let (server, client) = common::setup().await;
    Mock::given(method("POST"))
        .and(path("/v2/bot/coupon"))
        .respond_with(
            ResponseTemplate::new(503)
                .insert_header("retry-after", "1")
                .set_body_json(json!({"message": "unavailable"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let body: CouponCreateRequest = serde_json::from_value(json!({
        "acquisitionCondition": {"type": "normal"}, "description": "d", "maxUseCountPerTicket": 1,
        "startTimestamp": 1, "endTimestamp": 2, "reward": {"type": "discount", "priceInfo": {"type": "fixed", "fixedAmount": 100}},
        "title": "t", "visibility": "UNLISTED", "timezone": "ASIA_TOKYO"
    }))
    .unwrap();
    let err = client.create_coupon(&body).await.unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::OutcomeUnknown(u) if u.operation == "createCoupon"),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_timeout_on_issue_link_token_is_an_unknown_outcome_after_one_request() {
    let (server, client) = common::setup().await;
    Mock::given(method("POST"))
        .and(path("/v2/bot/user/U1/linkToken"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_delay(Duration::from_secs(3))
                .set_body_json(json!({"linkToken": "t"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let err = client.issue_link_token("U1").await.unwrap_err();
    let unknown = err.outcome_unknown().unwrap_or_else(|| panic!("{err:?}"));
    assert_eq!(unknown.cause, UnknownCause::Timeout);
    assert_eq!(unknown.attempts, 1);
}

/// A server that reads one request and closes the connection without answering.
#[tokio::test]
async fn a_connection_lost_after_sending_create_audience_group_is_an_unknown_outcome() {
    use tokio::io::AsyncReadExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(Mutex::new(0usize));
    let count = accepted.clone();
    tokio::spawn(async move {
        loop {
            let (mut sock, _) = listener.accept().await.unwrap();
            *count.lock().unwrap() += 1;
            let mut buf = vec![0u8; 64 * 1024];
            let _ = sock.read(&mut buf).await;
            drop(sock);
        }
    });
    let client = Client::builder()
        .token(common::TOKEN)
        .base_url(format!("http://{addr}"))
        .retry_policy(fast())
        .rate_limiter(RateLimiter::disabled())
        .build()
        .unwrap();
    let body = serde_json::from_value(json!({"description": "vip", "audiences": [{"id": "U1"}]})).unwrap();
    let err = client.create_audience_group(&body).await.unwrap_err();
    let unknown = err.outcome_unknown().unwrap_or_else(|| panic!("{err:?}"));
    assert_eq!(unknown.cause, UnknownCause::ConnectionLost);
    assert_eq!(*accepted.lock().unwrap(), 1, "sent once, never repeated");
}

#[tokio::test]
async fn a_rate_limited_create_rich_menu_is_retried() {
    let (server, _) = common::setup().await;
    let client = common::client_for(&server, fast());
    let seq = Sequence::new(
        rate_limited(),
        ResponseTemplate::new(200).set_body_json(json!({"richMenuId": "richmenu-1"})),
    );
    Mock::given(method("POST"))
        .and(path("/v2/bot/richmenu"))
        .respond_with(seq.clone())
        .expect(2)
        .mount(&server)
        .await;
    let resp = client.create_rich_menu(rich_menu()).await.unwrap();
    assert_eq!((resp.attempts, resp.body.rich_menu_id.as_str()), (2, "richmenu-1"));
}

/// Nothing listens on the port at first: the connection is refused, so the
/// request never left and even a call that is not idempotent may be retried.
#[tokio::test]
async fn a_connection_refused_before_sending_is_retried() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = Client::builder()
        .token(common::TOKEN)
        .base_url(format!("http://127.0.0.1:{port}"))
        .retry_policy(
            RetryPolicy::default()
                .with_base_delay(Duration::from_millis(1_000))
                .with_jitter(0.0),
        )
        .rate_limiter(RateLimiter::disabled())
        .build()
        .unwrap();
    let call = tokio::spawn(async move { client.create_rich_menu(rich_menu()).await });
    // The first attempt is refused at once; the server comes up before the retry.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    let server = MockServer::builder().listener(listener).start().await;
    Mock::given(method("POST"))
        .and(path("/v2/bot/richmenu"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"richMenuId": "richmenu-2"})))
        .expect(1)
        .mount(&server)
        .await;
    let resp = call.await.unwrap().unwrap();
    assert_eq!(
        resp.attempts, 2,
        "one refused attempt, then the one that reached the server"
    );
    assert_eq!(resp.body.rich_menu_id, "richmenu-2");
}

#[tokio::test]
async fn idempotent_get_put_and_delete_calls_are_retried_on_500() {
    let (server, _) = common::setup().await;
    let client = common::client_for(&server, fast());
    let oops = || ResponseTemplate::new(500).set_body_json(json!({"message": "oops"}));
    Mock::given(method("GET"))
        .and(path("/v2/bot/richmenu/list"))
        .respond_with(Sequence::new(
            oops(),
            ResponseTemplate::new(200).set_body_json(json!({"richmenus": []})),
        ))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/v2/bot/channel/webhook/endpoint"))
        .respond_with(Sequence::new(oops(), ResponseTemplate::new(200)))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/v2/bot/richmenu/richmenu-1"))
        .respond_with(Sequence::new(oops(), ResponseTemplate::new(200)))
        .expect(2)
        .mount(&server)
        .await;
    assert_eq!(client.get_rich_menu_list().await.unwrap().attempts, 2);
    let endpoint = SetWebhookEndpointRequest::new("https://bot.example/webhook");
    assert_eq!(client.set_webhook_endpoint(&endpoint).await.unwrap().attempts, 2);
    assert_eq!(client.delete_rich_menu("richmenu-1").await.unwrap().attempts, 2);
}

/// The classification comes from the spec (method and retry-key header), per operation.
#[test]
fn idempotency_follows_the_method_and_the_retry_key() {
    for op in ALL {
        let expected = matches!(op.method, HttpMethod::Get | HttpMethod::Put | HttpMethod::Delete) || op.retry_key;
        assert_eq!(
            op.idempotency == Idempotency::Idempotent,
            expected,
            "{} {:?}",
            op.id,
            op.method
        );
    }
    for op in [
        &operations::CREATE_RICH_MENU,
        &operations::CREATE_AUDIENCE_GROUP,
        &operations::CREATE_COUPON,
        &operations::ISSUE_LINK_TOKEN,
        &operations::REPLY_MESSAGE,
        &operations::CREATE_RICH_MENU_ALIAS,
    ] {
        assert_eq!(op.idempotency, Idempotency::NotIdempotent, "{}", op.id);
    }
    for op in [
        &operations::PUSH_MESSAGE,
        &operations::MULTICAST,
        &operations::NARROWCAST,
        &operations::BROADCAST,
        &operations::GET_BOT_INFO,
        &operations::DELETE_RICH_MENU,
    ] {
        assert_eq!(op.idempotency, Idempotency::Idempotent, "{}", op.id);
    }
    let not = ALL
        .iter()
        .filter(|o| o.idempotency == Idempotency::NotIdempotent)
        .count();
    assert_eq!(not, 42, "every POST but the four sends");
}

#[tokio::test]
async fn a_client_with_its_own_timeout_shares_the_limiter_and_times_out_on_its_own() {
    use line_core::ratelimit::{Quota, RateClass};
    let (server, _) = common::setup().await;
    Mock::given(method("GET"))
        .and(path("/v2/bot/info"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_delay(Duration::from_millis(600))
                .set_body_json(json!({"userId": "Ub", "basicId": "@b", "displayName": "b", "chatMode": "bot", "markAsReadMode": "auto"})),
        )
        .mount(&server)
        .await;
    let limiter =
        RateLimiter::line_defaults().with_quota(RateClass::Default, Quota::new(1, Duration::from_secs(3_600)));
    let client = Client::builder()
        .token(common::TOKEN)
        .base_url(server.uri())
        .retry_policy(RetryPolicy::none())
        .rate_limiter(limiter)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let quick = client.with_timeout(Duration::from_millis(100));
    assert_eq!(
        (client.timeout(), quick.timeout()),
        (Duration::from_secs(10), Duration::from_millis(100))
    );
    // The original client's grant uses the one slot of the hour, for both.
    let now = Instant::now();
    assert_eq!(
        client.rate_limiter().reserve(RateClass::Default, "getBotInfo", now),
        Duration::ZERO
    );
    assert!(quick.rate_limiter().reserve(RateClass::Default, "getBotInfo", now) > Duration::from_secs(3_000));
    // The timeout: only the quick one gives up on a 600 ms answer.
    let unlimited = Client::builder()
        .token(common::TOKEN)
        .base_url(server.uri())
        .retry_policy(RetryPolicy::none())
        .rate_limiter(RateLimiter::disabled())
        .build()
        .unwrap();
    let started = Instant::now();
    let err = unlimited
        .with_timeout(Duration::from_millis(100))
        .get_bot_info()
        .await
        .unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Timeout { .. }), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
    unlimited.get_bot_info().await.unwrap();
}

#[tokio::test]
async fn clients_sharing_an_in_flight_limit_send_one_call_at_a_time_past_their_limiters() {
    use line_core::client::InFlightLimit;
    let (server, _) = common::setup().await;
    Mock::given(method("GET"))
        .and(path("/v2/bot/info"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_delay(Duration::from_millis(400))
                .set_body_json(json!({"userId": "Ub", "basicId": "@b", "displayName": "b", "chatMode": "bot", "markAsReadMode": "auto"})),
        )
        .mount(&server)
        .await;
    let limit = InFlightLimit::new(1);
    let make = || {
        Client::builder()
            .token(common::TOKEN)
            .base_url(server.uri())
            .retry_policy(RetryPolicy::none())
            .rate_limiter(RateLimiter::disabled())
            .in_flight_limit(limit.clone())
            .build()
            .unwrap()
    };
    let (a, b) = (make(), make().with_timeout(Duration::from_secs(5)));
    let calls = tokio::spawn(async move { tokio::join!(a.get_bot_info(), b.get_bot_info(), a.get_bot_info()) });
    // Three calls from two clients (one derived), one slot: once the first request
    // arrived (it is answered 400 ms later), no other has.
    let waited = Instant::now();
    while server.received_requests().await.unwrap_or_default().is_empty() && waited.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(server.received_requests().await.unwrap_or_default().len(), 1);
    assert_eq!((limit.in_flight(), limit.max()), (1, 1));
    let (x, y, z) = calls.await.unwrap();
    x.unwrap();
    y.unwrap();
    z.unwrap();
    assert_eq!(server.received_requests().await.unwrap_or_default().len(), 3);
    assert_eq!(limit.in_flight(), 0);
}
