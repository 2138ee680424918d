//! The axum extractor: the user ID for a good token, a bare 401 for everything else.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::routing::get;
use axum::Router;
use http_body_util::BodyExt as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use line_emulator::login::IdTokenSpec;
use line_emulator::Emulator;
use line_login::{Config, LineUser, Verifier};
use serde_json::json;
use tower::ServiceExt as _;

const SECRET: &str = "channel-secret-of-this-channel";

fn app(emu: &Emulator) -> Router {
    let verifier = Arc::new(Verifier::new(
        Config::new(emu.login_channel_id())
            .channel_secret(SECRET)
            .api_base(emu.base_url()),
    ));
    Router::new()
        .route("/me", get(|user: LineUser| async move { user.user_id }))
        .with_state(verifier)
}

async fn call(app: &Router, authorization: Option<&str>) -> (StatusCode, Option<String>, String) {
    let mut req = Request::get("/me");
    if let Some(value) = authorization {
        req = req.header(header::AUTHORIZATION, value);
    }
    let resp = app.clone().oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
    let status = resp.status();
    let challenge = resp
        .headers()
        .get(header::WWW_AUTHENTICATE)
        .map(|v| v.to_str().unwrap().to_owned());
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, challenge, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn a_good_token_gives_the_user_id() {
    let emu = Emulator::start().await.unwrap();
    let app = app(&emu);
    let token = emu.mint_id_token("Uabc", None);
    let (status, _, body) = call(&app, Some(&format!("Bearer {token}"))).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "Uabc"));
}

#[tokio::test]
async fn every_bad_token_is_a_bare_401() {
    let emu = Emulator::start().await.unwrap();
    let app = app(&emu);
    let now = unix_now();
    let other_secret = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &json!({"iss": "https://access.line.me", "sub": "U1", "aud": emu.login_channel_id(),
                "exp": now + 600, "iat": now}),
        &EncodingKey::from_secret(b"another-channel-secret"),
    )
    .unwrap();
    let good = emu.mint_id_token("U1", None);
    let payload = good.split('.').nth(1).unwrap().to_owned();
    let bad_tokens = [
        emu.mint_id_token_with(&IdTokenSpec {
            expires_in: -600,
            ..IdTokenSpec::new("U1")
        }),
        emu.mint_id_token_with(&IdTokenSpec {
            aud: "1999999999".into(),
            ..IdTokenSpec::new("U1")
        }),
        emu.mint_id_token_with(&IdTokenSpec {
            kid: Some("unknown".into()),
            ..IdTokenSpec::new("U1")
        }),
        format!("eyJhbGciOiJub25lIn0.{payload}."),
        other_secret,
        "not-a-jwt".to_owned(),
    ];
    for token in &bad_tokens {
        let (status, challenge, body) = call(&app, Some(&format!("Bearer {token}"))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{token}");
        assert_eq!(challenge.as_deref(), Some("Bearer"));
        assert_eq!(body, "unauthorized", "no detail for {token}");
    }
    for header in [None, Some("Basic dXNlcjpwdw=="), Some("Bearer "), Some(good.as_str())] {
        let (status, _, body) = call(&app, header).await;
        assert_eq!(
            (status, body.as_str()),
            (StatusCode::UNAUTHORIZED, "unauthorized"),
            "{header:?}"
        );
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}
