//! LINE Login's token endpoints, with the emulator's own ES256 signing key.
//!
//! - `GET /oauth2/v2.1/certs`: the JSON Web Key Set with the emulator's public key.
//! - `POST /oauth2/v2.1/verify` (`id_token`, `client_id`, optional `nonce`): the claims, or
//!   400 with `{"error": "invalid_request", "error_description": ...}` as LINE answers.
//! - `GET /oauth2/v2.1/verify?access_token=`: `scope`, `client_id` and `expires_in`.
//!
//! Tests mint tokens with [`Emulator::mint_id_token`](crate::Emulator::mint_id_token), [`Emulator::mint_id_token_with`](crate::Emulator::mint_id_token_with)
//! and [`Emulator::issue_login_access_token`](crate::Emulator::issue_login_access_token). The key is made once per process.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use axum::body::Bytes;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{json, Value};

/// The channel ID of the emulator's LINE Login channel (the `aud` of minted ID tokens).
pub const LOGIN_CHANNEL_ID: &str = "1660000001";
/// The issuer of minted ID tokens, as LINE's.
pub const ISSUER: &str = "https://access.line.me";

struct Keys {
    kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    jwks: Value,
    access_secret: Vec<u8>,
}

static KEYS: LazyLock<Keys> = LazyLock::new(|| {
    let rng = SystemRandom::new();
    // Key generation on a working system RNG does not fail; the emulator cannot run without it.
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
        .expect("the system random generator works");
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref())
        .expect("a freshly generated key parses");
    // An uncompressed P-256 point: 0x04, x (32 bytes), y (32 bytes).
    let point = pair.public_key().as_ref();
    let (x, y) = (
        URL_SAFE_NO_PAD.encode(&point[1..33]),
        URL_SAFE_NO_PAD.encode(&point[33..65]),
    );
    let kid = format!("emu-{}", uuid::Uuid::new_v4().simple());
    let decoding = DecodingKey::from_ec_components(&x, &y).expect("the generated point is valid");
    let jwks = json!({"keys": [{
        "kty": "EC", "alg": "ES256", "use": "sig", "crv": "P-256", "kid": kid, "x": x, "y": y
    }]});
    Keys {
        kid,
        encoding: EncodingKey::from_ec_der(pkcs8.as_ref()),
        decoding,
        jwks,
        access_secret: uuid::Uuid::new_v4().as_bytes().to_vec(),
    }
});

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// What an ID token minted by [`Emulator::mint_id_token_with`](crate::Emulator::mint_id_token_with) says.
#[derive(Debug, Clone)]
pub struct IdTokenSpec {
    /// `sub`: the user ID.
    pub user_id: String,
    /// `aud`: the channel ID ([`LOGIN_CHANNEL_ID`] by default).
    pub aud: String,
    /// `iss` ([`ISSUER`] by default).
    pub iss: String,
    /// `nonce`, if any.
    pub nonce: Option<String>,
    /// `exp` relative to now, in seconds (3600 by default; negative for an expired token).
    pub expires_in: i64,
    /// `iat` relative to now, in seconds (0 by default; positive for a token from the future).
    pub issued_in: i64,
    /// The header's `kid` (the emulator's key ID by default; another value names an unknown key).
    pub kid: Option<String>,
    /// `name`, if any.
    pub name: Option<String>,
}

impl IdTokenSpec {
    /// A valid token's spec for `user_id`.
    pub fn new(user_id: impl Into<String>) -> Self {
        Self {
            user_id: user_id.into(),
            aud: LOGIN_CHANNEL_ID.to_owned(),
            iss: ISSUER.to_owned(),
            nonce: None,
            expires_in: 3600,
            issued_in: 0,
            kid: None,
            name: None,
        }
    }
}

/// An ES256 ID token as `spec` says ([`Emulator::mint_id_token_with`](crate::Emulator::mint_id_token_with)).
pub(crate) fn mint_id_token(spec: &IdTokenSpec) -> String {
    let keys = &*KEYS;
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(spec.kid.clone().unwrap_or_else(|| keys.kid.clone()));
    let now = now();
    let mut claims = json!({
        "iss": spec.iss, "sub": spec.user_id, "aud": spec.aud,
        "exp": now + spec.expires_in, "iat": now + spec.issued_in, "amr": ["linesso"],
    });
    if let Some(nonce) = &spec.nonce {
        claims["nonce"] = json!(nonce);
    }
    if let Some(name) = &spec.name {
        claims["name"] = json!(name);
    }
    jsonwebtoken::encode(&header, &claims, &keys.encoding).expect("signing with the emulator's key does not fail")
}

/// A LINE Login access token for `client_id` with `expires_in` seconds left
/// ([`Emulator::issue_login_access_token`](crate::Emulator::issue_login_access_token)).
pub(crate) fn issue_access_token(client_id: &str, expires_in: i64) -> String {
    let claims = json!({"client_id": client_id, "scope": "profile openid", "exp": now() + expires_in});
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(&KEYS.access_secret),
    )
    .expect("signing with a secret does not fail")
}

fn invalid(description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": "invalid_request", "error_description": description})),
    )
        .into_response()
}

fn signature_only(alg: Algorithm) -> Validation {
    let mut v = Validation::new(alg);
    v.required_spec_claims = HashSet::new();
    v.validate_exp = false;
    v.validate_aud = false;
    v
}

/// `GET /oauth2/v2.1/certs`.
pub(crate) async fn certs() -> Json<Value> {
    Json(KEYS.jwks.clone())
}

/// `POST /oauth2/v2.1/verify`: verifies an ID token as LINE does. Counted in the default
/// channel's calls as `verifyIdToken` (LINE Login has no operationId for it).
pub(crate) async fn verify_id_token(
    axum::extract::State(shared): axum::extract::State<std::sync::Arc<crate::handler::Shared>>,
    body: Bytes,
) -> Response {
    shared.default.count_call("verifyIdToken");
    let Ok(form) = serde_urlencoded::from_bytes::<HashMap<String, String>>(&body) else {
        return invalid("the body must be application/x-www-form-urlencoded");
    };
    let (Some(token), Some(client_id)) = (form.get("id_token"), form.get("client_id")) else {
        return invalid("id_token and client_id are required");
    };
    let Ok(data) = jsonwebtoken::decode::<Value>(token, &KEYS.decoding, &signature_only(Algorithm::ES256)) else {
        return invalid("Invalid IdToken.");
    };
    let claims = data.claims;
    if claims["exp"].as_i64().is_none_or(|exp| exp <= now()) {
        return invalid("IdToken expired.");
    }
    if claims["iss"].as_str() != Some(ISSUER) {
        return invalid("Invalid IdToken Issuer.");
    }
    if claims["aud"].as_str() != Some(client_id.as_str()) {
        return invalid("Invalid IdToken Audience.");
    }
    if let Some(nonce) = form.get("nonce") {
        if claims["nonce"].as_str() != Some(nonce.as_str()) {
            return invalid("Invalid IdToken Nonce.");
        }
    }
    Json(claims).into_response()
}

/// `GET /oauth2/v2.1/verify?access_token=`: what LINE says of an access token.
pub(crate) async fn verify_access_token(Query(q): Query<HashMap<String, String>>) -> Response {
    let Some(token) = q.get("access_token") else {
        return invalid("access_token is required");
    };
    let secret = DecodingKey::from_secret(&KEYS.access_secret);
    let Ok(data) = jsonwebtoken::decode::<Value>(token, &secret, &signature_only(Algorithm::HS256)) else {
        return invalid("invalid access token");
    };
    let expires_in = data.claims["exp"].as_i64().unwrap_or(0) - now();
    if expires_in <= 0 {
        return invalid("access token expired");
    }
    Json(json!({
        "scope": data.claims["scope"], "client_id": data.claims["client_id"], "expires_in": expires_in
    }))
    .into_response()
}
