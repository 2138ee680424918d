//! Channel access tokens per channel: v2.1 tokens from assertions checked against
//! the registered key and LINE's claim rules, short-lived and stateless tokens,
//! verify, revoke, and API calls with revoked or expired tokens.

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use line_core::client::Client;
use line_core::clock::ManualClock;
use line_core::model::{
    IssueChannelTokenByJWTRequest, IssueChannelTokenRequest, IssueStatelessChannelTokenByClientSecretRequest,
    IssueStatelessChannelTokenByClientSecretRequestGrantType, IssueStatelessChannelTokenByJWTAssertionRequest,
    IssueStatelessChannelTokenByJWTAssertionRequestClientAssertionType,
    IssueStatelessChannelTokenByJWTAssertionRequestGrantType, IssueStatelessChannelTokenRequest,
    RevokeChannelTokenByJWTRequest, RevokeChannelTokenRequest, VerifyChannelTokenRequest,
};
use line_emulator::oauth::AssertionKeyPair;
use line_emulator::{Emulator, EmulatorConfig};
use serde_json::{json, Value};

const CHANNEL: &str = "1650000001";
const SECRET: &str = "00112233445566778899aabbccddeeff";
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

fn t0() -> Timestamp {
    "2026-05-01T00:00:00Z".parse().unwrap()
}

struct Setup {
    emu: Emulator,
    clock: ManualClock,
    pair: AssertionKeyPair,
    kid: String,
    raw: Client,
}

async fn setup() -> Setup {
    let clock = ManualClock::new(t0());
    let emu = Emulator::start_with(EmulatorConfig::new().clock(Arc::new(clock.clone())).rate_limits(false))
        .await
        .unwrap();
    emu.register_channel(CHANNEL, SECRET).unwrap();
    let pair = AssertionKeyPair::generate();
    let kid = emu.register_public_key(CHANNEL, pair.public_jwk()).unwrap();
    let raw = Client::builder()
        .token("unused")
        .base_url(emu.base_url())
        .build()
        .unwrap();
    Setup {
        emu,
        clock,
        pair,
        kid,
        raw,
    }
}

fn claims(now: Timestamp) -> Value {
    json!({
        "iss": CHANNEL, "sub": CHANNEL, "aud": "https://api.line.me/",
        "exp": now.as_second() + 1800, "token_exp": 86400
    })
}

async fn issue(s: &Setup, assertion: String) -> Result<(String, i32, String), line_core::Error> {
    let body = IssueChannelTokenByJWTRequest::new("client_credentials", JWT_BEARER, assertion);
    s.raw.issue_channel_token_by_jwt(&body).await.map(|r| {
        (
            r.body.access_token.expose().to_owned(),
            r.body.expires_in,
            r.body.key_id,
        )
    })
}

async fn call_with(s: &Setup, token: &str) -> Option<u16> {
    let client = Client::builder()
        .token(token)
        .base_url(s.emu.base_url())
        .build()
        .unwrap();
    client
        .get_bot_info()
        .await
        .err()
        .map(|e| e.api().map_or(0, |a| a.status))
}

#[tokio::test]
async fn a_signed_assertion_gives_a_v21_token_that_verifies_and_revokes() {
    let s = setup().await;
    let (token, expires_in, key_id) = issue(&s, s.pair.sign(&s.kid, &claims(t0()))).await.unwrap();
    assert_eq!(expires_in, 86400);
    assert_eq!(call_with(&s, &token).await, None, "the token works");
    let v = s.raw.verify_channel_token_by_jwt(&token).await.unwrap().body;
    assert_eq!((v.client_id.as_str(), v.expires_in), (CHANNEL, 86400));
    let kids = s
        .raw
        .gets_all_valid_channel_access_token_key_ids(JWT_BEARER, &s.pair.sign(&s.kid, &claims(t0())))
        .await
        .unwrap()
        .body;
    assert_eq!(kids.kids, vec![key_id]);
    // Revoking needs the channel's own secret.
    let wrong = RevokeChannelTokenByJWTRequest::new(CHANNEL, "ffffffffffffffffffffffffffffffff", token.as_str());
    assert_eq!(
        s.raw
            .revoke_channel_token_by_jwt(&wrong)
            .await
            .unwrap_err()
            .api()
            .unwrap()
            .status,
        400
    );
    assert_eq!(
        call_with(&s, &token).await,
        None,
        "a refused revocation changes nothing"
    );
    s.raw
        .revoke_channel_token_by_jwt(RevokeChannelTokenByJWTRequest::new(CHANNEL, SECRET, token.as_str()))
        .await
        .unwrap();
    assert_eq!(call_with(&s, &token).await, Some(401), "a revoked token is refused");
    assert_eq!(
        s.raw
            .verify_channel_token_by_jwt(&token)
            .await
            .unwrap_err()
            .api()
            .unwrap()
            .status,
        400
    );
    assert!(s.emu.issued_tokens(CHANNEL)[0].revoked);
}

#[tokio::test]
async fn tokens_expire_in_emulated_time() {
    let s = setup().await;
    let (token, _, _) = issue(&s, s.pair.sign(&s.kid, &claims(t0()))).await.unwrap();
    s.clock.advance(SignedDuration::from_secs(86_399));
    assert_eq!(call_with(&s, &token).await, None);
    s.clock.advance(SignedDuration::from_secs(1));
    assert_eq!(call_with(&s, &token).await, Some(401), "an expired token is refused");
}

#[tokio::test]
async fn assertions_that_break_line_rules_are_refused() {
    let s = setup().await;
    let other = AssertionKeyPair::generate();
    let now = t0().as_second();
    let mut cases: Vec<(&str, String)> = Vec::new();
    // (what, assertion); the refusal must say why (see `expect` below).
    let with = |k: &str, v: Value| {
        let mut c = claims(t0());
        c[k] = v;
        c
    };
    cases.push(("unknown kid", s.pair.sign("no-such-kid", &claims(t0()))));
    cases.push(("another key", other.sign(&s.kid, &claims(t0()))));
    cases.push((
        "wrong aud",
        s.pair.sign(&s.kid, &with("aud", json!("https://api.line.me"))),
    ));
    cases.push((
        "iss is not the key's channel",
        s.pair.sign(&s.kid, &with("iss", json!("1650000002"))),
    ));
    cases.push(("sub differs", s.pair.sign(&s.kid, &with("sub", json!("1650000002")))));
    cases.push(("expired", s.pair.sign(&s.kid, &with("exp", json!(now - 1)))));
    cases.push(("exp too far", s.pair.sign(&s.kid, &with("exp", json!(now + 1801)))));
    cases.push((
        "token_exp over 30 days",
        s.pair.sign(&s.kid, &with("token_exp", json!(2_592_001))),
    ));
    cases.push(("no token_exp", {
        let mut c = claims(t0());
        c.as_object_mut().unwrap().remove("token_exp");
        s.pair.sign(&s.kid, &c)
    }));
    cases.push(("not a JWT", "abc".into()));
    let hs = jsonwebtoken::encode(
        &jsonwebtoken::Header {
            kid: Some(s.kid.clone()),
            ..jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256)
        },
        &claims(t0()),
        &jsonwebtoken::EncodingKey::from_secret(b"k"),
    )
    .unwrap();
    cases.push(("HS256", hs));
    let expect = [
        "unknown kid",
        "invalid signature",
        "aud must be",
        "iss and sub",
        "iss and sub",
        "has expired",
        "at most 30 minutes",
        "token_exp must be at most 30 days",
        "token_exp is required",
        "not a JWT",
        "RS256",
    ];
    assert_eq!(cases.len(), expect.len());
    for ((what, assertion), why) in cases.into_iter().zip(expect) {
        let err = issue(&s, assertion).await.unwrap_err();
        let api = err.api().unwrap_or_else(|| panic!("{what}: {err:?}"));
        assert_eq!(api.status, 400, "{what}: {err:?}");
        assert!(
            api.message.contains(why),
            "{what}: {:?} should say {why:?}",
            api.message
        );
    }
    assert!(s.emu.issued_tokens(CHANNEL).is_empty(), "nothing was issued");
    // The boundaries themselves are accepted.
    issue(&s, s.pair.sign(&s.kid, &with("exp", json!(now + 1800))))
        .await
        .unwrap();
    issue(&s, s.pair.sign(&s.kid, &with("token_exp", json!(2_592_000))))
        .await
        .unwrap();
}

#[tokio::test]
async fn public_keys_must_be_as_line_wants_them() {
    let s = setup().await;
    let good = s.pair.public_jwk().clone();
    for (what, change) in [
        ("a kid", ("kid", json!("mine"))),
        ("kty EC", ("kty", json!("EC"))),
        ("alg RS512", ("alg", json!("RS512"))),
        ("use enc", ("use", json!("enc"))),
        ("short n", ("n", json!("AQAB"))),
    ] {
        let mut jwk = good.clone();
        jwk[change.0] = change.1;
        assert!(s.emu.register_public_key(CHANNEL, &jwk).is_err(), "{what}");
    }
    let mut verify_only = good.clone();
    verify_only.as_object_mut().unwrap().remove("use");
    verify_only["key_ops"] = json!(["verify"]);
    assert!(s.emu.register_public_key(CHANNEL, &verify_only).is_ok());
    assert!(
        s.emu.register_public_key("1650000009", &good).is_err(),
        "an unregistered channel"
    );
}

#[tokio::test]
async fn short_lived_tokens_from_the_channel_secret() {
    let s = setup().await;
    let bad = IssueChannelTokenRequest::new("client_credentials", CHANNEL, "ffffffffffffffffffffffffffffffff");
    assert_eq!(
        s.raw.issue_channel_token(&bad).await.unwrap_err().api().unwrap().status,
        400
    );
    let good = IssueChannelTokenRequest::new("client_credentials", CHANNEL, SECRET);
    let r = s.raw.issue_channel_token(&good).await.unwrap().body;
    assert_eq!(r.expires_in, 2_592_000);
    let token = r.access_token.expose().to_owned();
    assert_eq!(call_with(&s, &token).await, None);
    let v = s
        .raw
        .verify_channel_token(VerifyChannelTokenRequest::new(token.as_str()))
        .await
        .unwrap()
        .body;
    assert_eq!(v.client_id, CHANNEL);
    s.raw
        .revoke_channel_token(RevokeChannelTokenRequest::new(token.as_str()))
        .await
        .unwrap();
    assert_eq!(call_with(&s, &token).await, Some(401));
}

#[tokio::test]
async fn stateless_tokens_last_15_minutes_and_cannot_be_revoked() {
    let s = setup().await;
    let by_secret = IssueStatelessChannelTokenRequest::from(IssueStatelessChannelTokenByClientSecretRequest::new(
        IssueStatelessChannelTokenByClientSecretRequestGrantType::ClientCredentials,
        CHANNEL,
        SECRET,
    ));
    let r = s.raw.issue_stateless_channel_token(&by_secret).await.unwrap().body;
    assert_eq!(r.expires_in, 900);
    let token = r.access_token.expose().to_owned();
    let by_jwt = IssueStatelessChannelTokenRequest::from(IssueStatelessChannelTokenByJWTAssertionRequest::new(
        IssueStatelessChannelTokenByJWTAssertionRequestGrantType::ClientCredentials,
        IssueStatelessChannelTokenByJWTAssertionRequestClientAssertionType::UrnIetfParamsOauthClientAssertionTypeJwtBearer,
        s.pair.sign(&s.kid, &claims(t0())),
    ));
    s.raw.issue_stateless_channel_token(&by_jwt).await.unwrap();
    assert_eq!(s.emu.issued_tokens(CHANNEL).len(), 2);
    let err = s
        .raw
        .revoke_channel_token(RevokeChannelTokenRequest::new(token.as_str()))
        .await
        .unwrap_err();
    assert_eq!(err.api().unwrap().status, 400);
    assert_eq!(call_with(&s, &token).await, None);
    s.clock.advance(SignedDuration::from_mins(15));
    assert_eq!(call_with(&s, &token).await, Some(401));
}

#[tokio::test]
async fn the_configured_token_and_login_tokens_work_as_before() {
    let clock = ManualClock::new(t0());
    let emu = Emulator::start_with(
        EmulatorConfig::new()
            .clock(Arc::new(clock.clone()))
            .token("fixed-token"),
    )
    .await
    .unwrap();
    emu.register_channel(CHANNEL, SECRET).unwrap();
    let fixed = emu.client_builder().build().unwrap();
    fixed.get_bot_info().await.unwrap();
    let other = Client::builder()
        .token("not-it")
        .base_url(emu.base_url())
        .build()
        .unwrap();
    assert_eq!(other.get_bot_info().await.unwrap_err().api().unwrap().status, 401);
    // An issued token is accepted next to the configured one.
    let r = fixed
        .issue_channel_token(IssueChannelTokenRequest::new("client_credentials", CHANNEL, SECRET))
        .await
        .unwrap()
        .body;
    let issued = Client::builder()
        .token(r.access_token.expose())
        .base_url(emu.base_url())
        .build()
        .unwrap();
    issued.get_bot_info().await.unwrap();
    // A LINE Login access token still verifies at GET /oauth2/v2.1/verify.
    let login = emu.issue_login_access_token("1660000001", 600);
    let v = fixed.verify_channel_token_by_jwt(&login).await.unwrap().body;
    assert_eq!(v.client_id, "1660000001");
    // reset() forgets issued tokens.
    emu.reset();
    assert!(emu.issued_tokens(CHANNEL).is_empty());
}
