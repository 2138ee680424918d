//! One webhook endpoint for three channels: routing by `destination`, each
//! channel's secret, unknown destinations, bodies that are not webhooks.
#![cfg(feature = "axum")]

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::routing::post;
use axum::Router;
use common::*;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use line_accounts::webhook::ChannelEvents;
use line_accounts::{Account, AccountRegistry, Accounts, InMemoryRegistry, TokenConfig};
use line_core::testing::sign;
use tower::ServiceExt;

/// An account registry that counts lookups and refuses reads of a "poisoned" one.
#[derive(Debug, Default)]
struct Counting {
    inner: InMemoryRegistry,
    lookups: std::sync::atomic::AtomicUsize,
}

#[async_trait::async_trait]
impl AccountRegistry for Counting {
    async fn put(&self, a: Account) -> Result<Option<Account>, line_accounts::Error> {
        self.inner.put(a).await
    }
    async fn get(&self, c: &line_accounts::ChannelId) -> Result<Option<Account>, line_accounts::Error> {
        self.inner.get(c).await
    }
    async fn by_bot_user_id(&self, b: &str) -> Result<Option<Account>, line_accounts::Error> {
        self.lookups.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.by_bot_user_id(b).await
    }
    async fn remove(&self, c: &line_accounts::ChannelId) -> Result<Option<Account>, line_accounts::Error> {
        self.inner.remove(c).await
    }
    async fn channel_ids(&self) -> Result<Vec<line_accounts::ChannelId>, line_accounts::Error> {
        self.inner.channel_ids().await
    }
}

async fn setup() -> (Router, Arc<Counting>, Vec<Account>) {
    let registry = Arc::new(Counting::default());
    let mut accounts_list = Vec::new();
    for i in 1..=3 {
        let (id, bot, secret) = channel(i);
        let a = Account::new(id, bot, secret.into(), TokenConfig::Static("t".into()), settings()).unwrap();
        registry.put(a.clone()).await.unwrap();
        accounts_list.push(a);
    }
    let accounts = Accounts::builder(registry.clone()).build().unwrap();
    async fn callback(ChannelEvents { account, request, .. }: ChannelEvents) -> String {
        format!("{} {}", account.channel_id(), request.events.len())
    }
    let app = Router::new().route("/callback", post(callback)).with_state(accounts);
    (app, registry, accounts_list)
}

fn body_for(destination: &str) -> Vec<u8> {
    format!(
        r#"{{"destination":"{destination}","events":[{{"type":"unfollow","timestamp":1,"mode":"active","webhookEventId":"01H","deliveryContext":{{"isRedelivery":false}},"source":{{"type":"user","userId":"U1"}}}}]}}"#
    )
    .into_bytes()
}

async fn post_body(app: &Router, body: Vec<u8>, signature: Option<String>) -> (StatusCode, serde_json::Value, String) {
    let mut req = Request::post("/callback").header("content-type", "application/json");
    if let Some(s) = signature {
        req = req.header("x-line-signature", s);
    }
    let resp = app.clone().oneshot(req.body(Body::from(body)).unwrap()).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
        text,
    )
}

#[tokio::test]
async fn each_channel_is_verified_with_its_own_secret() {
    let (app, _, accounts) = setup().await;
    for a in &accounts {
        let body = body_for(a.bot_user_id.as_str());
        let sig = sign(a.channel_secret.expose(), &body);
        let (status, _, text) = post_body(&app, body, Some(sig)).await;
        assert_eq!(status, StatusCode::OK, "{text}");
        assert_eq!(text, format!("{} 1", a.channel_id));
    }
}

#[tokio::test]
async fn a_signature_made_with_another_channels_secret_is_rejected() {
    let (app, _, accounts) = setup().await;
    let body = body_for(accounts[0].bot_user_id.as_str());
    let sig = sign(accounts[1].channel_secret.expose(), &body);
    let (status, json, text) = post_body(&app, body, Some(sig)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(json["kind"], "invalid_signature");
    for a in &accounts {
        assert!(!text.contains(a.channel_secret.expose()));
    }
}

#[tokio::test]
async fn an_unknown_destination_is_404_without_any_secret() {
    let (app, registry, accounts) = setup().await;
    let body = body_for("U99999999999999999999999999999999");
    // Signed with a registered channel's secret: still unknown.
    let sig = sign(accounts[0].channel_secret.expose(), &body);
    let (status, json, _) = post_body(&app, body, Some(sig)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(json["kind"], "unknown_destination");
    assert_eq!(
        registry.lookups.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "one lookup, by destination"
    );
}

#[tokio::test]
async fn bodies_that_cannot_be_routed_are_400_with_a_pointer() {
    let (app, registry, _) = setup().await;
    for (body, pointer) in [
        (&br#"{"destination": 5, "events": []}"#[..], "/destination"),
        (br#"{"events": []}"#, "/destination"),
        (br#"{"destination": "U1", "events": [}"#, "/events"),
        (b"not json", ""),
    ] {
        let sig = sign("0123456789abcdef0123456789abcdef", body);
        let (status, json, text) = post_body(&app, body.to_vec(), Some(sig)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
        assert_eq!(json["kind"], "parse", "{text}");
        assert_eq!(json["pointer"], pointer, "{text}");
    }
    assert_eq!(
        registry.lookups.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "no lookup for unroutable bodies"
    );
}

#[tokio::test]
async fn unsigned_requests_are_refused_before_any_lookup() {
    let (app, registry, accounts) = setup().await;
    let body = body_for(accounts[0].bot_user_id.as_str());
    let (status, json, _) = post_body(&app, body.clone(), None).await;
    assert_eq!(
        (status, json["kind"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("missing_signature"))
    );
    let (status, json, _) = post_body(&app, body, Some("abc".into())).await;
    assert_eq!(
        (status, json["kind"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("malformed_signature"))
    );
    assert_eq!(
        registry.lookups.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "only the malformed one was looked up"
    );
}

#[tokio::test]
async fn a_bad_event_after_verification_is_kept_as_invalid_and_a_tampered_body_fails() {
    let (app, _, accounts) = setup().await;
    let a = &accounts[2];
    let body = format!(
        r#"{{"destination":"{}","events":[{{"type":"message","timestamp":"x"}},{{"type":"unfollow","timestamp":1}}]}}"#,
        a.bot_user_id
    )
    .into_bytes();
    let sig = sign(a.channel_secret.expose(), &body);
    let (status, _, text) = post_body(&app, body.clone(), Some(sig.clone())).await;
    assert_eq!((status, text), (StatusCode::OK, format!("{} 2", a.channel_id)));
    let mut tampered = body;
    tampered.push(b' ');
    let (status, _, _) = post_body(&app, tampered, Some(sig)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[test]
fn destination_is_read_without_the_events() {
    assert_eq!(
        line_accounts::webhook::read_destination(br#"{"destination":"U\u0030a","events":[1,2,{"x":[]}]}"#).unwrap(),
        "U0a"
    );
    let err =
        line_accounts::webhook::read_destination(br#"{"destination":"a","destination":"b","events":[]}"#).unwrap_err();
    assert!(
        matches!(err.kind(), line_core::ErrorKind::Parse { .. }),
        "a repeated destination is refused"
    );
}
