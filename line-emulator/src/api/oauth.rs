//! The token endpoints ([`crate::oauth`] describes them) over the emulator's registered
//! channels and issued tokens, and `GET /oauth2/v2.1/verify` for channel and LINE Login
//! access tokens.

use std::collections::HashMap;

use axum::http::StatusCode;
use jiff::{SignedDuration, Timestamp};
use jsonwebtoken::{Algorithm, Validation};
use serde_json::{json, Value};

use crate::error::LineError;
use crate::handler::{Answer, AnswerBody, Ctx, Reply, Shared};
use crate::oauth::{
    Kind, TokenRecord, AUDIENCE, JWT_BEARER, MAX_ASSERTION_LIFETIME_SECS, MAX_V21_TOKEN_SECS, SHORT_LIVED_SECS,
    STATELESS_SECS,
};

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
    get("access_token").and_then(|t| shared.lock_oauth().channel_of_token(t))
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
    let channel_id = q
        .get("access_token")
        .and_then(|t| shared.lock_oauth().channel_of_token(t));
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
