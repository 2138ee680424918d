//! Channel access tokens per channel: the emulator issues, verifies and revokes them
//! as LINE's token endpoints do, and refuses API calls with a revoked or expired one.
//!
//! Register a channel ([`Emulator::register_channel`]) and, for v2.1 tokens, the
//! public half of its assertion signing key ([`Emulator::register_public_key`],
//! which gives the `kid` as LINE's console does). Then:
//!
//! - `POST /oauth2/v2.1/token`: a JWT assertion (RS256, header `kid` of a registered
//!   key, `iss` = `sub` = that key's channel, `aud` = `https://api.line.me/`, `exp`
//!   in the future and at most 30 minutes ahead, `token_exp` at most 30 days) gives
//!   a token of `token_exp` seconds bound to the channel, with its `key_id`;
//! - `GET /oauth2/v2.1/tokens/kid`: the key IDs of the channel's valid v2.1 tokens;
//! - `POST /oauth2/v2.1/revoke` (`client_id`, `client_secret`, `access_token`);
//! - `POST /v2/oauth/accessToken` (client ID and secret): a short-lived token (30 days);
//! - `POST /v2/oauth/verify`, `POST /v2/oauth/revoke`;
//! - `POST /oauth2/v3/token` (client ID and secret, or a JWT assertion): a stateless
//!   token (15 minutes) that cannot be revoked;
//! - `GET /oauth2/v2.1/verify?access_token=`: `client_id`, `expires_in`, `scope` of a
//!   channel token (LINE Login access tokens are answered as before).
//!
//! Refusals are 400 with `{"error": ..., "error_description": ...}` (and LINE's
//! `message`). An API call whose bearer token was issued here is accepted while the
//! token is valid and gets 401 once it is revoked or expired (in emulated time);
//! other bearer tokens are checked as before (any, or the configured one). The
//! rate limits count per channel for issued tokens.

use std::collections::HashMap;

use aws_lc_rs::encoding::AsDer;
use axum::http::StatusCode;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use jiff::{SignedDuration, Timestamp};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use line_core::secret::ChannelSecret;
use serde_json::{json, Value};

use crate::error::{Error, LineError};
use crate::handler::{Answer, AnswerBody, Ctx, Reply, Shared};
use crate::Emulator;

/// The `aud` LINE expects in a v2.1 assertion.
pub const AUDIENCE: &str = "https://api.line.me/";
/// The longest lifetime of an assertion (`exp` from now).
pub const MAX_ASSERTION_LIFETIME_SECS: i64 = 30 * 60;
/// The longest lifetime of a v2.1 token (`token_exp`).
pub const MAX_V21_TOKEN_SECS: i64 = 30 * 24 * 60 * 60;
/// The lifetime of a short-lived token.
pub const SHORT_LIVED_SECS: i64 = 30 * 24 * 60 * 60;
/// The lifetime of a stateless token.
pub const STATELESS_SECS: i64 = 15 * 60;

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A 2048-bit RSA key pair for tests: the private key in PEM (PKCS#8), the public
/// key as the JWK LINE's console takes (no `kid`).
#[derive(Clone)]
pub struct AssertionKeyPair {
    private_pem: String,
    /// The private key as PKCS#1 DER (what jsonwebtoken signs RS256 with).
    pkcs1: Vec<u8>,
    public_jwk: Value,
}

impl std::fmt::Debug for AssertionKeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AssertionKeyPair")
            .field("public_jwk", &self.public_jwk)
            .finish_non_exhaustive()
    }
}

impl AssertionKeyPair {
    /// A fresh key pair.
    pub fn generate() -> Self {
        use aws_lc_rs::signature::KeyPair as _;
        // Key generation with a working system RNG does not fail; the emulator cannot run without it.
        let pair =
            aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).expect("RSA key generation works");
        let der = pair.as_der().expect("a generated key encodes");
        let b64 = STANDARD.encode(der.as_ref());
        let mut pem = String::from("-----BEGIN PRIVATE KEY-----\n");
        for line in b64.as_bytes().chunks(64) {
            pem.push_str(std::str::from_utf8(line).unwrap_or_default());
            pem.push('\n');
        }
        pem.push_str("-----END PRIVATE KEY-----\n");
        let (n, e) = rsa_public_components(pair.public_key().as_ref()).expect("a generated public key parses");
        let pkcs1 = pkcs1_of_pkcs8(der.as_ref())
            .expect("a generated key is PKCS#8")
            .to_vec();
        let public_jwk = json!({
            "kty": "RSA", "alg": "RS256", "use": "sig",
            "n": URL_SAFE_NO_PAD.encode(n), "e": URL_SAFE_NO_PAD.encode(e),
        });
        Self {
            private_pem: pem,
            pkcs1,
            public_jwk,
        }
    }

    /// Signs `claims` RS256 with this key, with `kid` in the header: an assertion
    /// for tests, well formed or not as the claims say.
    pub fn sign(&self, kid: &str, claims: &Value) -> String {
        let mut header = jsonwebtoken::Header::new(Algorithm::RS256);
        header.kid = Some(kid.to_owned());
        jsonwebtoken::encode(&header, claims, &jsonwebtoken::EncodingKey::from_rsa_der(&self.pkcs1))
            .expect("signing with a generated key does not fail")
    }

    /// The private key, PEM (PKCS#8).
    pub fn private_pem(&self) -> &str {
        &self.private_pem
    }

    /// The public key as a JWK.
    pub fn public_jwk(&self) -> &Value {
        &self.public_jwk
    }
}

/// One DER element of `tag` at the start of `input`: its contents and what follows.
fn tlv(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&t, rest) = input.split_first()?;
    if t != tag {
        return None;
    }
    let (&l, rest) = rest.split_first()?;
    let (len, rest) = if l < 0x80 {
        (usize::from(l), rest)
    } else {
        let n = usize::from(l & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n].iter().fold(0usize, |a, &b| (a << 8) | usize::from(b));
        (len, &rest[n..])
    };
    (rest.len() >= len).then(|| (&rest[..len], &rest[len..]))
}

/// The `RSAPrivateKey` (PKCS#1) inside a PKCS#8 `PrivateKeyInfo`
/// (`SEQUENCE { INTEGER version, SEQUENCE algorithm, OCTET STRING key }`).
fn pkcs1_of_pkcs8(der: &[u8]) -> Option<&[u8]> {
    let (seq, _) = tlv(der, 0x30)?;
    let (_, rest) = tlv(seq, 0x02)?;
    let (_, rest) = tlv(rest, 0x30)?;
    tlv(rest, 0x04).map(|(key, _)| key)
}

/// `n` and `e` of a DER `RSAPublicKey` (`SEQUENCE { INTEGER n, INTEGER e }`).
fn rsa_public_components(der: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let (seq, _) = tlv(der, 0x30)?;
    let (n, rest) = tlv(seq, 0x02)?;
    let (e, _) = tlv(rest, 0x02)?;
    let strip = |v: &[u8]| v.iter().skip_while(|&&b| b == 0).copied().collect::<Vec<u8>>();
    Some((strip(n), strip(e)))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    V21,
    ShortLived,
    Stateless,
}

#[derive(Debug)]
struct TokenRecord {
    channel_id: String,
    kind: Kind,
    key_id: String,
    expires_at: Timestamp,
    revoked: bool,
}

struct Channel {
    secret: ChannelSecret,
    /// kid to the public key.
    keys: HashMap<String, DecodingKey>,
}

impl std::fmt::Debug for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Channel")
            .field("keys", &self.keys.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// The channels and the tokens issued for them.
#[derive(Debug, Default)]
pub(crate) struct OAuth {
    channels: HashMap<String, Channel>,
    /// kid to channel ID.
    kids: HashMap<String, String>,
    tokens: HashMap<String, TokenRecord>,
}

impl OAuth {
    /// Forgets every issued token (channels and keys stay).
    pub(crate) fn clear_tokens(&mut self) {
        self.tokens.clear();
    }
}

/// What one issued token looks like from the inspection API.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IssuedToken {
    /// The channel it is bound to.
    pub channel_id: String,
    /// `v2.1`, `short_lived` or `stateless`.
    pub kind: &'static str,
    /// When it expires (emulated time).
    pub expires_at: Timestamp,
    /// Whether it was revoked.
    pub revoked: bool,
}

impl OAuth {
    pub(crate) fn has_channel(&self, channel_id: &str) -> bool {
        self.channels.contains_key(channel_id)
    }
}

/// Registers a channel (or replaces its secret) for the token endpoints.
pub(crate) fn register_channel(shared: &Shared, channel_id: &str, secret: ChannelSecret) -> Result<(), Error> {
    if channel_id.is_empty() || !channel_id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::config("channel_id", "must be digits"));
    }
    if secret.expose().is_empty() {
        return Err(Error::config("channel_secret", "must not be empty"));
    }
    let mut o = shared.lock_oauth();
    match o.channels.get_mut(channel_id) {
        Some(c) => c.secret = secret,
        None => {
            o.channels.insert(
                channel_id.to_owned(),
                Channel {
                    secret,
                    keys: HashMap::new(),
                },
            );
        }
    }
    Ok(())
}

/// Registers the public half of a channel's assertion key; gives its `kid`.
pub(crate) fn register_public_key(shared: &Shared, channel_id: &str, jwk: &Value) -> Result<String, Error> {
    let field = "public_key";
    let s = |k: &str| jwk.get(k).and_then(Value::as_str);
    if s("kty") != Some("RSA") {
        return Err(Error::config(field, "kty must be RSA"));
    }
    if s("alg") != Some("RS256") {
        return Err(Error::config(field, "alg must be RS256"));
    }
    let verify_only = jwk.get("key_ops") == Some(&json!(["verify"]));
    if s("use") != Some("sig") && !verify_only {
        return Err(Error::config(field, "use must be sig, or key_ops [\"verify\"]"));
    }
    if jwk.get("kid").is_some() {
        return Err(Error::config(field, "must not have a kid (LINE gives one)"));
    }
    let (Some(n), Some(e)) = (s("n"), s("e")) else {
        return Err(Error::config(field, "n and e are required"));
    };
    let bits = URL_SAFE_NO_PAD
        .decode(n)
        .map_err(|_| Error::config(field, "n is not base64url"))?
        .iter()
        .skip_while(|&&b| b == 0)
        .count()
        * 8;
    if bits != 2048 {
        return Err(Error::config(field, format!("the key must have 2048 bits, not {bits}")));
    }
    let key = DecodingKey::from_rsa_components(n, e).map_err(|_| Error::config(field, "n or e is malformed"))?;
    let kid = uuid::Uuid::new_v4().to_string();
    let mut o = shared.lock_oauth();
    let Some(channel) = o.channels.get_mut(channel_id) else {
        return Err(Error::config(
            "channel_id",
            format!("channel {channel_id} is not registered"),
        ));
    };
    channel.keys.insert(kid.clone(), key);
    o.kids.insert(kid.clone(), channel_id.to_owned());
    Ok(kid)
}

impl Emulator {
    /// Registers a channel (or replaces its secret): its ID and channel secret, for
    /// the token endpoints. Tokens issued for a channel that was not added with
    /// [`Emulator::add_channel`] reach the default channel's state (with rate limits of
    /// their own channel); an added channel is registered already.
    pub fn register_channel(&self, channel_id: &str, secret: impl Into<ChannelSecret>) -> Result<(), Error> {
        register_channel(&self.shared, channel_id, secret.into())
    }

    /// Registers the public key of a channel's assertion signing key (a JWK: `kty`
    /// `RSA`, `alg` `RS256`, `use` `sig` or `key_ops` `["verify"]`, `n`, `e`, 2048
    /// bits, and no `kid`, as LINE's console wants) and gives its `kid`.
    pub fn register_public_key(&self, channel_id: &str, jwk: &Value) -> Result<String, Error> {
        register_public_key(&self.shared, channel_id, jwk)
    }

    /// Every token issued for `channel_id`, oldest expiry first.
    pub fn issued_tokens(&self, channel_id: &str) -> Vec<IssuedToken> {
        let o = self.shared.lock_oauth();
        let mut v: Vec<IssuedToken> = o
            .tokens
            .values()
            .filter(|t| t.channel_id == channel_id)
            .map(|t| IssuedToken {
                channel_id: t.channel_id.clone(),
                kind: match t.kind {
                    Kind::V21 => "v2.1",
                    Kind::ShortLived => "short_lived",
                    Kind::Stateless => "stateless",
                },
                expires_at: t.expires_at,
                revoked: t.revoked,
            })
            .collect();
        v.sort_by_key(|t| t.expires_at);
        v
    }

    /// The channel an issued access token is bound to (whether or not it is still valid).
    pub fn token_channel(&self, access_token: &str) -> Option<String> {
        self.shared
            .lock_oauth()
            .tokens
            .get(access_token)
            .map(|t| t.channel_id.clone())
    }
}

/// LINE's OAuth refusal: 400 with `error` and `error_description`.
fn refuse(error: &str, description: &str) -> LineError {
    let mut e = LineError::bad_request(description);
    e.body.extra.insert("error".into(), json!(error));
    e.body.extra.insert("error_description".into(), json!(description));
    e
}

fn form(ctx: &Ctx) -> Result<HashMap<String, String>, LineError> {
    serde_urlencoded::from_bytes(&ctx.body)
        .map_err(|_| refuse("invalid_request", "the body must be application/x-www-form-urlencoded"))
}

fn new_token() -> String {
    format!("emu{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple())
}

/// Whether `operation_id` is one of the token endpoints [`dispatch`] handles.
pub(crate) fn is_token_operation(operation_id: &str) -> bool {
    matches!(
        operation_id,
        "issueChannelTokenByJWT"
            | "getsAllValidChannelAccessTokenKeyIds"
            | "revokeChannelTokenByJWT"
            | "issueChannelToken"
            | "verifyChannelToken"
            | "verifyChannelTokenByJWT"
            | "revokeChannelToken"
            | "issueStatelessChannelToken"
    )
}

/// The channel a token endpoint's request is about, for counting the call: its
/// `client_id`, the channel of its assertion's key, or the channel of the token
/// it names (form fields first, then query parameters). `None` when it names
/// nothing the emulator knows. Nothing here is checked: the handler does that.
pub(crate) fn channel_of_request(shared: &Shared, body: &[u8], query: &HashMap<String, String>) -> Option<String> {
    let form: HashMap<String, String> = serde_urlencoded::from_bytes(body).unwrap_or_default();
    let get = |k: &str| form.get(k).or_else(|| query.get(k));
    if let Some(id) = get("client_id") {
        return Some(id.clone());
    }
    if let Some(assertion) = get("client_assertion") {
        let kid = jsonwebtoken::decode_header(assertion).ok()?.kid?;
        return shared.lock_oauth().kids.get(&kid).cloned();
    }
    get("access_token").and_then(|t| channel_of_token(shared, t))
}

/// Handles the token endpoints; `None` for other operations.
pub(crate) fn dispatch(shared: &Shared, ctx: &Ctx) -> Option<Reply> {
    let reply = match ctx.op.id {
        "issueChannelTokenByJWT" => issue_v21(shared, ctx),
        "getsAllValidChannelAccessTokenKeyIds" => key_ids(shared, ctx),
        "revokeChannelTokenByJWT" => revoke_v21(shared, ctx),
        "issueChannelToken" => issue_short_lived(shared, ctx),
        "verifyChannelToken" => form(ctx).and_then(|f| verify(shared, ctx.now, f.get("access_token"))),
        "verifyChannelTokenByJWT" => verify(shared, ctx.now, ctx.query.get("access_token")),
        "revokeChannelToken" => revoke_short_lived(shared, ctx),
        "issueStatelessChannelToken" => issue_stateless(shared, ctx),
        _ => return None,
    };
    Some(reply)
}

/// Checks a JWT assertion; gives its channel and claims.
fn check_assertion(shared: &Shared, now: Timestamp, assertion: &str) -> Result<(String, Value), LineError> {
    let invalid = |why: &str| refuse("invalid_grant", why);
    let header = jsonwebtoken::decode_header(assertion).map_err(|_| invalid("the assertion is not a JWT"))?;
    if header.alg != Algorithm::RS256 {
        return Err(invalid("the assertion must be signed with RS256"));
    }
    let Some(kid) = header.kid else {
        return Err(invalid("the assertion has no kid"));
    };
    let o = shared.lock_oauth();
    let Some(channel_id) = o.kids.get(&kid) else {
        return Err(invalid("unknown kid"));
    };
    let key = &o.channels[channel_id].keys[&kid];
    let mut v = Validation::new(Algorithm::RS256);
    v.required_spec_claims = Default::default();
    v.validate_exp = false;
    v.validate_aud = false;
    let data = jsonwebtoken::decode::<Value>(assertion, key, &v).map_err(|_| invalid("invalid signature"))?;
    let c = data.claims;
    if c["iss"].as_str() != Some(channel_id.as_str()) || c["sub"].as_str() != Some(channel_id.as_str()) {
        return Err(invalid("iss and sub must be the channel ID of the key"));
    }
    if c["aud"].as_str() != Some(AUDIENCE) {
        return Err(invalid("aud must be https://api.line.me/"));
    }
    let Some(exp) = c["exp"].as_i64() else {
        return Err(invalid("exp is required"));
    };
    if exp <= now.as_second() {
        return Err(invalid("the assertion has expired"));
    }
    if exp > now.as_second() + MAX_ASSERTION_LIFETIME_SECS {
        return Err(invalid("exp must be at most 30 minutes ahead"));
    }
    Ok((channel_id.clone(), c))
}

fn record(shared: &Shared, channel_id: &str, kind: Kind, now: Timestamp, secs: i64) -> (String, String) {
    let token = new_token();
    let key_id = uuid::Uuid::new_v4().simple().to_string();
    shared.lock_oauth().tokens.insert(
        token.clone(),
        TokenRecord {
            channel_id: channel_id.to_owned(),
            kind,
            key_id: key_id.clone(),
            expires_at: now.saturating_add(SignedDuration::from_secs(secs)).unwrap_or(now),
            revoked: false,
        },
    );
    (token, key_id)
}

fn assertion_of(f: &HashMap<String, String>) -> Result<&str, LineError> {
    if f.get("client_assertion_type").map(String::as_str) != Some(JWT_BEARER) {
        return Err(refuse("invalid_request", "client_assertion_type must be jwt-bearer"));
    }
    f.get("client_assertion")
        .map(String::as_str)
        .ok_or_else(|| refuse("invalid_request", "client_assertion is required"))
}

fn issue_v21(shared: &Shared, ctx: &Ctx) -> Reply {
    let f = form(ctx)?;
    if f.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return Err(refuse(
            "unsupported_grant_type",
            "grant_type must be client_credentials",
        ));
    }
    let (channel_id, claims) = check_assertion(shared, ctx.now, assertion_of(&f)?)?;
    let Some(secs) = claims["token_exp"].as_i64() else {
        return Err(refuse("invalid_grant", "token_exp is required"));
    };
    if !(1..=MAX_V21_TOKEN_SECS).contains(&secs) {
        return Err(refuse("invalid_grant", "token_exp must be at most 30 days"));
    }
    let (token, key_id) = record(shared, &channel_id, Kind::V21, ctx.now, secs);
    Ok(Answer::json(&json!({
        "access_token": token, "expires_in": secs, "token_type": "Bearer", "key_id": key_id
    })))
}

fn key_ids(shared: &Shared, ctx: &Ctx) -> Reply {
    if ctx.query.get("client_assertion_type").map(String::as_str) != Some(JWT_BEARER) {
        return Err(refuse("invalid_request", "client_assertion_type must be jwt-bearer"));
    }
    let assertion = ctx
        .query
        .get("client_assertion")
        .ok_or_else(|| refuse("invalid_request", "client_assertion is required"))?;
    let (channel_id, _) = check_assertion(shared, ctx.now, assertion)?;
    let o = shared.lock_oauth();
    let kids: Vec<&str> = o
        .tokens
        .values()
        .filter(|t| t.channel_id == channel_id && t.kind == Kind::V21 && !t.revoked && t.expires_at > ctx.now)
        .map(|t| t.key_id.as_str())
        .collect();
    Ok(Answer::json(&json!({ "kids": kids })))
}

/// Checks `client_id` and `client_secret` against a registered channel.
fn client(shared: &Shared, f: &HashMap<String, String>) -> Result<String, LineError> {
    let (Some(id), Some(secret)) = (f.get("client_id"), f.get("client_secret")) else {
        return Err(refuse("invalid_request", "client_id and client_secret are required"));
    };
    let o = shared.lock_oauth();
    match o.channels.get(id) {
        Some(c) if c.secret.expose() == secret => Ok(id.clone()),
        _ => Err(refuse("invalid_client", "invalid client_id or client_secret")),
    }
}

fn revoke_v21(shared: &Shared, ctx: &Ctx) -> Reply {
    let f = form(ctx)?;
    let channel_id = client(shared, &f)?;
    let Some(token) = f.get("access_token") else {
        return Err(refuse("invalid_request", "access_token is required"));
    };
    let mut o = shared.lock_oauth();
    match o.tokens.get_mut(token) {
        Some(t) if t.channel_id != channel_id => Err(refuse("invalid_request", "the token is another channel's")),
        Some(t) => {
            t.revoked = true;
            Ok(Answer::ok())
        }
        // Revoking a token that does not exist changes nothing (RFC 7009).
        None => Ok(Answer::ok()),
    }
}

fn issue_short_lived(shared: &Shared, ctx: &Ctx) -> Reply {
    let f = form(ctx)?;
    if f.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return Err(refuse(
            "unsupported_grant_type",
            "grant_type must be client_credentials",
        ));
    }
    let channel_id = client(shared, &f)?;
    let (token, _) = record(shared, &channel_id, Kind::ShortLived, ctx.now, SHORT_LIVED_SECS);
    Ok(Answer::json(&json!({
        "access_token": token, "expires_in": SHORT_LIVED_SECS, "token_type": "Bearer"
    })))
}

fn revoke_short_lived(shared: &Shared, ctx: &Ctx) -> Reply {
    let f = form(ctx)?;
    let Some(token) = f.get("access_token") else {
        return Err(refuse("invalid_request", "access_token is required"));
    };
    let mut o = shared.lock_oauth();
    match o.tokens.get_mut(token) {
        Some(t) if t.kind == Kind::Stateless => Err(refuse("invalid_request", "a stateless token cannot be revoked")),
        Some(t) => {
            t.revoked = true;
            Ok(Answer::ok())
        }
        None => Ok(Answer::ok()),
    }
}

fn issue_stateless(shared: &Shared, ctx: &Ctx) -> Reply {
    let f = form(ctx)?;
    if f.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return Err(refuse(
            "unsupported_grant_type",
            "grant_type must be client_credentials",
        ));
    }
    let channel_id = if f.contains_key("client_assertion") {
        check_assertion(shared, ctx.now, assertion_of(&f)?)?.0
    } else {
        client(shared, &f)?
    };
    let (token, _) = record(shared, &channel_id, Kind::Stateless, ctx.now, STATELESS_SECS);
    Ok(Answer::json(&json!({
        "token_type": "Bearer", "access_token": token, "expires_in": STATELESS_SECS
    })))
}

fn verify(shared: &Shared, now: Timestamp, token: Option<&String>) -> Reply {
    let Some(token) = token else {
        return Err(refuse("invalid_request", "access_token is required"));
    };
    let o = shared.lock_oauth();
    match o.tokens.get(token) {
        Some(t) if t.revoked => Err(refuse("invalid_request", "the access token was revoked")),
        Some(t) if t.expires_at <= now => Err(refuse("invalid_request", "access token expired")),
        Some(t) => Ok(Answer::json(&json!({
            "client_id": t.channel_id,
            "expires_in": t.expires_at.as_second() - now.as_second(),
            "scope": "",
        }))),
        None => Err(refuse("invalid_request", "invalid access token")),
    }
}

/// `GET /oauth2/v2.1/verify`: a channel token issued here, else a LINE Login access token.
/// Counted as `verifyChannelTokenByJWT` (LINE's operationId of the path), on the token's
/// channel when it is an added one, else on the default channel.
pub(crate) async fn verify_get(
    axum::extract::State(shared): axum::extract::State<std::sync::Arc<Shared>>,
    q: axum::extract::Query<HashMap<String, String>>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let channel_id = q.get("access_token").and_then(|t| channel_of_token(&shared, t));
    match &channel_id {
        Some(id) => shared.channel_or_default(id),
        None => std::sync::Arc::clone(&shared.default),
    }
    .count_call("verifyChannelTokenByJWT");
    if channel_id.is_none() {
        return crate::login::verify_access_token(q).await;
    }
    match verify(&shared, shared.now(), q.get("access_token")) {
        Ok(Answer {
            body: AnswerBody::Json(v),
            ..
        }) => axum::Json(v).into_response(),
        Ok(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        Err(e) => (e.status, axum::Json(e.body)).into_response(),
    }
}

/// The channel an issued token is bound to, valid or not.
pub(crate) fn channel_of_token(shared: &Shared, token: &str) -> Option<String> {
    shared.lock_oauth().tokens.get(token).map(|t| t.channel_id.clone())
}

/// For a bearer token issued here: `Some(Ok(channel))` while valid, `Some(Err)` (401)
/// once revoked or expired. `None` for other tokens.
pub(crate) fn check_bearer(shared: &Shared, token: &str) -> Option<Result<String, LineError>> {
    let o = shared.lock_oauth();
    let t = o.tokens.get(token)?;
    if t.revoked || t.expires_at <= shared.now() {
        return Some(Err(LineError::new(
            StatusCode::UNAUTHORIZED,
            "Authentication failed. Confirm that the access token in the authorization header is valid.",
        )));
    }
    Some(Ok(t.channel_id.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_have_2048_bit_public_halves() {
        let pair = AssertionKeyPair::generate();
        let n = URL_SAFE_NO_PAD
            .decode(pair.public_jwk()["n"].as_str().unwrap())
            .unwrap();
        assert_eq!(n.len(), 256);
        assert!(pair.private_pem().starts_with("-----BEGIN PRIVATE KEY-----\n"));
        assert!(!format!("{pair:?}").contains("PRIVATE KEY"));
    }

    #[test]
    fn der_reader_refuses_truncated_input() {
        assert!(rsa_public_components(&[0x30, 0x05, 0x02, 0x01]).is_none());
        assert!(rsa_public_components(&[0x30, 0x06, 0x02, 0x01, 0x05, 0x02, 0x01, 0x03]) == Some((vec![5], vec![3])));
    }
}
