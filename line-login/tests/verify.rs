//! ID and access token verification against the emulator (ES256, verify endpoints) and
//! with HS256 tokens made here.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use line_emulator::login::IdTokenSpec;
use line_emulator::Emulator;
use line_login::{Config, ErrorKind, MalformedPart, Verifier};
use serde_json::json;

const SECRET: &str = "channel-secret-of-this-channel";

fn verifier(emu: &Emulator) -> Verifier {
    Verifier::new(
        Config::new(emu.login_channel_id())
            .channel_secret(SECRET)
            .api_base(emu.base_url()),
    )
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

fn hs256(secret: &str, aud: &str) -> String {
    let claims = json!({
        "iss": "https://access.line.me", "sub": "Uweb", "aud": aud,
        "exp": now() + 600, "iat": now(), "nonce": "n-1", "amr": ["pwd"], "name": "Web User"
    });
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

fn kind_of(r: Result<line_login::IdTokenClaims, line_login::Error>) -> ErrorKind {
    r.expect_err("the token must be refused").kind().clone()
}

#[tokio::test]
async fn es256_token_from_the_emulator_verifies_with_its_published_key() {
    let emu = Emulator::start().await.unwrap();
    let v = verifier(&emu);
    let token = emu.mint_id_token("U1234", Some("nonce-1"));
    let claims = v.verify_id_token(&token, Some("nonce-1")).await.unwrap();
    assert_eq!(claims.sub, "U1234");
    assert_eq!(claims.aud, emu.login_channel_id());
    assert_eq!(claims.nonce.as_deref(), Some("nonce-1"));
    // Without a nonce to compare, the nonce is not checked.
    assert!(v.verify_id_token(&token, None).await.is_ok());
}

#[tokio::test]
async fn hs256_token_signed_with_the_channel_secret_verifies() {
    let emu = Emulator::start().await.unwrap();
    let v = verifier(&emu);
    let claims = v
        .verify_id_token(&hs256(SECRET, emu.login_channel_id()), Some("n-1"))
        .await
        .unwrap();
    assert_eq!(claims.sub, "Uweb");
    assert_eq!(claims.name.as_deref(), Some("Web User"));
}

#[tokio::test]
async fn hs256_token_signed_with_another_channels_secret_is_refused() {
    let emu = Emulator::start().await.unwrap();
    let token = hs256("secret-of-another-channel", emu.login_channel_id());
    assert_eq!(
        kind_of(verifier(&emu).verify_id_token(&token, None).await),
        ErrorKind::BadSignature
    );
}

#[tokio::test]
async fn hs256_token_without_a_configured_secret_is_refused() {
    let emu = Emulator::start().await.unwrap();
    let v = Verifier::new(Config::new(emu.login_channel_id()).api_base(emu.base_url()));
    let token = hs256(SECRET, emu.login_channel_id());
    assert_eq!(
        kind_of(v.verify_id_token(&token, None).await),
        ErrorKind::NoChannelSecret
    );
}

#[tokio::test]
async fn each_bad_claim_has_its_own_error() {
    let emu = Emulator::start().await.unwrap();
    let v = verifier(&emu);
    let cases = [
        (
            IdTokenSpec {
                expires_in: -120,
                ..IdTokenSpec::new("U1")
            },
            ErrorKind::Expired,
        ),
        (
            IdTokenSpec {
                issued_in: 300,
                ..IdTokenSpec::new("U1")
            },
            ErrorKind::NotYetValid,
        ),
        (
            IdTokenSpec {
                aud: "1999999999".into(),
                ..IdTokenSpec::new("U1")
            },
            ErrorKind::WrongAudience,
        ),
        (
            IdTokenSpec {
                iss: "https://evil.example".into(),
                ..IdTokenSpec::new("U1")
            },
            ErrorKind::WrongIssuer,
        ),
        (
            IdTokenSpec {
                nonce: Some("other".into()),
                ..IdTokenSpec::new("U1")
            },
            ErrorKind::NonceMismatch,
        ),
        (
            IdTokenSpec {
                kid: Some("no-such-key".into()),
                ..IdTokenSpec::new("U1")
            },
            ErrorKind::UnknownKeyId {
                kid: "no-such-key".into(),
            },
        ),
    ];
    for (spec, want) in cases {
        let token = emu.mint_id_token_with(&spec);
        assert_eq!(
            kind_of(v.verify_id_token(&token, Some("expected")).await),
            want,
            "{spec:?}"
        );
    }
    // Within the 60 s leeway an expired token still passes.
    let token = emu.mint_id_token_with(&IdTokenSpec {
        expires_in: -20,
        ..IdTokenSpec::new("U1")
    });
    assert!(v.verify_id_token(&token, None).await.is_ok());
}

#[tokio::test]
async fn alg_none_and_changed_tokens_are_refused() {
    let emu = Emulator::start().await.unwrap();
    let v = verifier(&emu);
    let good = emu.mint_id_token("U1", None);
    let parts: Vec<&str> = good.split('.').collect();

    let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let unsigned = format!("{none_header}.{}.", parts[1]);
    assert_eq!(
        kind_of(v.verify_id_token(&unsigned, None).await),
        ErrorKind::UnsupportedAlgorithm { alg: "none".into() }
    );

    let other_payload = URL_SAFE_NO_PAD.encode(
        json!({"iss": "https://access.line.me", "sub": "Uattacker", "aud": emu.login_channel_id(),
               "exp": now() + 600, "iat": now()})
        .to_string(),
    );
    let changed = format!("{}.{other_payload}.{}", parts[0], parts[2]);
    assert_eq!(
        kind_of(v.verify_id_token(&changed, None).await),
        ErrorKind::BadSignature
    );
}

#[tokio::test]
async fn malformed_tokens_name_the_part() {
    let emu = Emulator::start().await.unwrap();
    let v = verifier(&emu);
    let good = emu.mint_id_token("U1", None);
    let parts: Vec<&str> = good.split('.').collect();
    let not_json = URL_SAFE_NO_PAD.encode(b"not json");
    let cases = [
        ("abc.def".to_owned(), MalformedPart::Token),
        (format!("{good}.extra"), MalformedPart::Token),
        (String::new(), MalformedPart::Token),
        (format!("!!!.{}.{}", parts[1], parts[2]), MalformedPart::Header),
        (format!("{not_json}.{}.{}", parts[1], parts[2]), MalformedPart::Header),
        (format!("{}.%%%.{}", parts[0], parts[2]), MalformedPart::Payload),
        (format!("{}.{not_json}.{}", parts[0], parts[2]), MalformedPart::Payload),
        (format!("{}.{}.***", parts[0], parts[1]), MalformedPart::Signature),
    ];
    for (token, part) in cases {
        match kind_of(v.verify_id_token(&token, None).await) {
            ErrorKind::Malformed { part: got, .. } => assert_eq!(got, part, "{token}"),
            other => panic!("{token}: {other:?}"),
        }
    }
}

/// A JWKS server that counts its fetches and publishes no keys.
async fn counting_jwks() -> (String, Arc<AtomicUsize>) {
    counting_jwks_serving(json!({"keys": []})).await
}

/// A JWKS server that counts its fetches and publishes `jwks`.
async fn counting_jwks_serving(jwks: serde_json::Value) -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&hits);
    let app = axum::Router::new().route(
        "/oauth2/v2.1/certs",
        axum::routing::get(move || {
            let counter = Arc::clone(&counter);
            let jwks = jwks.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                axum::Json(jwks)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), hits)
}

#[tokio::test]
async fn a_flood_of_unknown_key_ids_fetches_the_key_set_once_per_interval() {
    let emu = Emulator::start().await.unwrap();
    let (base, hits) = counting_jwks().await;
    let v = Verifier::new(Config::new(emu.login_channel_id()).api_base(&base));
    for i in 0..20 {
        let token = emu.mint_id_token_with(&IdTokenSpec {
            kid: Some(format!("k{i}")),
            ..IdTokenSpec::new("U1")
        });
        assert!(matches!(
            kind_of(v.verify_id_token(&token, None).await),
            ErrorKind::UnknownKeyId { .. }
        ));
    }
    assert_eq!(hits.load(Ordering::SeqCst), 1);

    // With no minimum interval, each unknown key ID fetches again.
    let v = Verifier::new(
        Config::new(emu.login_channel_id())
            .api_base(&base)
            .jwks_min_refetch(Duration::ZERO),
    );
    for _ in 0..3 {
        let token = emu.mint_id_token("U1", None);
        assert!(v.verify_id_token(&token, None).await.is_err());
    }
    assert_eq!(hits.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn the_key_set_is_fetched_again_once_it_expires() {
    let emu = Emulator::start().await.unwrap();
    let jwks: serde_json::Value = reqwest::get(format!("{}/oauth2/v2.1/certs", emu.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (base, hits) = counting_jwks_serving(jwks).await;
    let token = emu.mint_id_token("U1", None);

    let cached = Verifier::new(Config::new(emu.login_channel_id()).api_base(&base));
    for _ in 0..3 {
        cached.verify_id_token(&token, None).await.unwrap();
    }
    assert_eq!(hits.load(Ordering::SeqCst), 1);

    let expiring = Verifier::new(
        Config::new(emu.login_channel_id())
            .api_base(&base)
            .jwks_ttl(Duration::ZERO)
            .jwks_min_refetch(Duration::ZERO),
    );
    for _ in 0..3 {
        expiring.verify_id_token(&token, None).await.unwrap();
    }
    assert_eq!(hits.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn known_keys_are_served_from_the_cache() {
    let emu = Emulator::start().await.unwrap();
    let v = verifier(&emu);
    for _ in 0..3 {
        v.verify_id_token(&emu.mint_id_token("U1", None), None).await.unwrap();
    }
    // The emulator is stopped: a cached key still verifies, with no fetch.
    let token = emu.mint_id_token("U2", None);
    emu.shutdown().await;
    assert_eq!(v.verify_id_token(&token, None).await.unwrap().sub, "U2");
}

#[tokio::test]
async fn remote_id_token_verification_goes_through_the_emulator() {
    let emu = Emulator::start().await.unwrap();
    let v = verifier(&emu);
    let token = emu.mint_id_token("U77", Some("n"));
    let claims = v.verify_id_token_remote(&token, Some("n")).await.unwrap();
    assert_eq!(claims.sub, "U77");

    let err = v.verify_id_token_remote(&token, Some("other")).await.unwrap_err();
    match err.kind() {
        ErrorKind::Rejected {
            status,
            error,
            description,
            ..
        } => {
            assert_eq!(
                (*status, error.as_str(), description.as_str()),
                (400, "invalid_request", "Invalid IdToken Nonce.")
            );
        }
        other => panic!("{other:?}"),
    }
    let expired = emu.mint_id_token_with(&IdTokenSpec {
        expires_in: -5,
        ..IdTokenSpec::new("U1")
    });
    let err = v.verify_id_token_remote(&expired, None).await.unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Rejected { description, .. } if description == "IdToken expired."),
        "{err}"
    );
    assert!(!err.to_string().contains(&expired));
    let other_channel = emu.mint_id_token_with(&IdTokenSpec {
        aud: "1999999999".into(),
        ..IdTokenSpec::new("U1")
    });
    let err = v.verify_id_token_remote(&other_channel, None).await.unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Rejected { description, .. } if description == "Invalid IdToken Audience."),
        "{err}"
    );
}

#[tokio::test]
async fn access_tokens_are_checked_for_channel_and_expiry() {
    let emu = Emulator::start().await.unwrap();
    let v = verifier(&emu);
    let token = emu.issue_login_access_token(emu.login_channel_id(), 900);
    let info = v.verify_access_token(&token).await.unwrap();
    assert_eq!(info.client_id, emu.login_channel_id());
    assert!(info.expires_in > 0 && info.expires_in <= 900);
    assert_eq!(info.scope, "profile openid");

    let other = emu.issue_login_access_token("1999999999", 900);
    assert_eq!(
        v.verify_access_token(&other).await.unwrap_err().kind(),
        &ErrorKind::WrongAudience
    );

    let expired = emu.issue_login_access_token(emu.login_channel_id(), -1);
    let err = v.verify_access_token(&expired).await.unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Rejected { status: 400, .. }), "{err}");
    assert!(!format!("{err} {err:?}").contains(&expired));
}

#[tokio::test]
async fn transport_errors_do_not_carry_the_token() {
    // Nothing listens on port 9 of 127.0.0.1.
    let v = Verifier::new(Config::new("1").channel_secret(SECRET).api_base("http://127.0.0.1:9"));
    let token = "secret-access-token-value";
    let err = v.verify_access_token(token).await.unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Http { .. }), "{err}");
    let text = format!("{err} {err:?} {v:?}");
    assert!(!text.contains(token), "{text}");
    assert!(!text.contains(SECRET), "{text}");
}
