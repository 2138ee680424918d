//! The axum extractors on a real router: 200 with events (a bad event among
//! them included), 401 on bad or missing signatures, 400 on malformed bodies,
//! and no panic on garbage.
#![cfg(all(feature = "axum", feature = "testing"))]

use axum::body::Body;
use axum::extract::FromRef;
use axum::http::{Request, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use http_body_util::BodyExt;
use line_core::testing::{sign, signed_request};
use line_core::webhook::axum::{VerifiedBody, VerifiedEvents};
use line_core::webhook::{WebhookVerifier, SIGNATURE_HEADER};
use line_core::ChannelSecret;
use serde_json::{json, Value};
use tower::ServiceExt;

const SECRET: &str = "axum-test-secret-5f2c";

#[derive(Clone)]
struct AppState {
    verifier: WebhookVerifier,
}

impl FromRef<AppState> for WebhookVerifier {
    fn from_ref(s: &AppState) -> Self {
        s.verifier.clone()
    }
}

async fn callback(VerifiedEvents(req): VerifiedEvents) -> Json<Value> {
    let kinds: Vec<String> = req.events.iter().map(|e| e.kind().to_owned()).collect();
    let invalid: Vec<bool> = req.events.iter().map(|e| e.is_invalid()).collect();
    Json(json!({ "kinds": kinds, "invalid": invalid }))
}

async fn raw(VerifiedBody(body): VerifiedBody) -> String {
    body.len().to_string()
}

fn app() -> Router {
    let state = AppState {
        verifier: WebhookVerifier::new(&ChannelSecret::new(SECRET)),
    };
    Router::new()
        .route("/callback", post(callback))
        .route("/raw", post(raw))
        .with_state(state)
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/fixtures/webhook/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn request(body: &[u8], signature: Option<&str>) -> Request<Body> {
    let mut b = Request::post("/callback").header("content-type", "application/json");
    if let Some(s) = signature {
        b = b.header(SIGNATURE_HEADER, s);
    }
    b.body(Body::from(body.to_vec())).unwrap()
}

async fn send(app: Router, req: Request<Body>) -> (StatusCode, Value) {
    let res = app.oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
    (status, body)
}

#[tokio::test]
async fn signed_request_gets_its_events() {
    let body = fixture("many-events-v3.json");
    let (status, out) = send(app(), signed_request(SECRET, "/callback", body)).await;
    assert_eq!(status, StatusCode::OK, "{out}");
    let kinds = out["kinds"].as_array().unwrap();
    assert_eq!(kinds.len(), 28);
    assert_eq!(kinds[0], "message");
    assert_eq!(kinds[27], "undefined");
}

#[tokio::test]
async fn verifier_as_the_whole_state_and_the_raw_body_extractor() {
    let app = Router::new()
        .route("/raw", post(raw))
        .with_state(WebhookVerifier::new(&ChannelSecret::new(SECRET)));
    let body = b"not even json".to_vec();
    let req = Request::post("/raw")
        .header(SIGNATURE_HEADER, sign(SECRET, &body))
        .body(Body::from(body.clone()))
        .unwrap();
    let (status, out) = send(app, req).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(out, json!(13));
}

#[tokio::test]
async fn missing_malformed_and_wrong_signatures_get_401() {
    let body = fixture("text-user.json");
    let cases = [
        (None, "missing_signature"),
        (Some("not-base64!".to_owned()), "malformed_signature"),
        (Some(sign("another-secret", &body)), "invalid_signature"),
        (Some(sign(SECRET, b"a different body")), "invalid_signature"),
    ];
    for (sig, kind) in cases {
        let (status, out) = send(app(), request(&body, sig.as_deref())).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{kind}: {out}");
        assert_eq!(out["kind"], kind);
        assert!(out["error"].as_str().unwrap().contains("x-line-signature"), "{out}");
        let text = out.to_string();
        assert!(!text.contains(SECRET));
        // The expected signature never leaks either.
        assert!(!text.contains(&sign(SECRET, &body)), "{text}");
    }
    // A header value that is not visible ASCII.
    let mut req = request(&body, None);
    req.headers_mut()
        .insert(SIGNATURE_HEADER, http::HeaderValue::from_bytes(b"\xff\xfe").unwrap());
    let (status, out) = send(app(), req).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(out["kind"], "malformed_signature");
}

#[tokio::test]
async fn malformed_body_gets_400_naming_the_pointer() {
    let body = br#"{"destination":"U0","events":{"type":"unfollow","timestamp":1}}"#;
    let (status, out) = send(app(), signed_request(SECRET, "/callback", &body[..])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(out["kind"], "parse");
    assert_eq!(out["pointer"], "/events");
    assert!(out["error"].as_str().unwrap().contains("/events"));
    assert!(!out.to_string().contains(SECRET));
}

#[tokio::test]
async fn one_bad_event_gets_200_and_the_others_are_handled() {
    let body = br#"{"destination":"U0","events":[
        {"type":"follow","timestamp":1,"replyToken":"r1"},
        {"type":"unfollow","timestamp":"later"},
        {"type":"message","timestamp":1,"replyToken":"r2","message":{"id":"1","type":"image"}},
        {"type":"unfollow","timestamp":2}]}"#;
    let (status, out) = send(app(), signed_request(SECRET, "/callback", &body[..])).await;
    assert_eq!(status, StatusCode::OK, "{out}");
    // The invalid events keep their kind; the handler sees all four.
    assert_eq!(out["kinds"], json!(["follow", "unfollow", "message", "unfollow"]));
    assert_eq!(out["invalid"], json!([false, true, true, false]));
}

#[tokio::test]
async fn signature_is_checked_before_the_body_is_parsed() {
    // Garbage with a bad signature is a 401, not a 400: nothing unsigned is parsed.
    let (status, out) = send(app(), request(b"{{{{", Some(&sign("wrong", b"{{{{")))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{out}");
}

#[tokio::test]
async fn garbage_never_panics() {
    let fixture = fixture("many-events-v3.json");
    let mut bodies: Vec<Vec<u8>> = vec![
        Vec::new(),
        b"null".to_vec(),
        b"[]".to_vec(),
        b"\xff\x00\xfe".to_vec(),
        br#"{"events":{"type":"message"}}"#.to_vec(),
        br#"{"destination":{"nested":1},"events":[]}"#.to_vec(),
        "{\"events\":[".repeat(200).into_bytes(),
    ];
    let last_brace = fixture.iter().rposition(|b| *b == b'}').unwrap();
    for cut in [1, 10, 100, 1000, 5000, last_brace] {
        bodies.push(fixture[..cut].to_vec());
    }
    // Pseudo-random bytes from a fixed seed (xorshift), so failures reproduce.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for len in [1usize, 7, 64, 300, 2048] {
        let mut b = Vec::with_capacity(len);
        for _ in 0..len {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            b.push(x as u8);
        }
        bodies.push(b);
    }
    for body in bodies {
        let (status, out) = send(app(), signed_request(SECRET, "/callback", body.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{} bytes: {out}", body.len());
        assert_eq!(out["kind"], "parse");
        let (status, _) = send(app(), request(&body, Some("garbage"))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn empty_events_is_a_valid_request() {
    let body = br#"{"destination":"Uab012345678901234567890123456789","events":[]}"#;
    let (status, out) = send(app(), signed_request(SECRET, "/callback", &body[..])).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(out, json!({"kinds": [], "invalid": []}));
}

#[tokio::test]
async fn an_oversized_body_is_refused_with_the_limit_status() {
    let app = app().layer(axum::extract::DefaultBodyLimit::max(64));
    let body = fixture("many-events-v3.json");
    let (status, out) = send(app, signed_request(SECRET, "/callback", body)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{out}");
    assert_eq!(out["kind"], "body");
}
