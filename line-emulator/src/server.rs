//! The HTTP side: routing, auth, faults, rate limits, request ids.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;
use bytes::Bytes;
use line_core::client::{operations, AuthScheme, HttpMethod, Operation};
use line_core::ids::RequestId;

use crate::api;
use crate::error::LineError;
use crate::faults::Fault;
use crate::handler::{AnswerBody, Channel, Ctx, Reply, Shared};
use crate::state::State as EmuState;

/// Largest request body the emulator reads (rich-menu images are at most 1 MB,
/// audience files a little more).
const MAX_BODY: usize = 64 * 1024 * 1024;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(
            "/_emulator/users",
            get(crate::admin::users).post(crate::admin::add_user),
        )
        .route("/_emulator/messages", get(crate::admin::messages))
        .route("/_emulator/reset", post(crate::admin::reset))
        .route(
            "/_emulator/faults",
            put(crate::admin::put_faults).get(crate::admin::get_faults),
        )
        .route("/_emulator/calls", get(crate::admin::calls))
        .route("/_emulator/webhook/follow", post(crate::admin::webhook_follow))
        .route("/_emulator/webhook/text", post(crate::admin::webhook_text))
        .route("/_emulator/webhook/postback", post(crate::admin::webhook_postback))
        .route("/dialog/bot/accountLink", get(crate::admin::account_link_dialog))
        .route("/_emulator/channels", get(crate::admin::channels))
        .route("/oauth2/v2.1/certs", get(crate::login::certs))
        .route(
            "/oauth2/v2.1/verify",
            get(api::oauth::verify_get).post(crate::login::verify_id_token),
        )
        .fallback(line_api)
        .with_state(shared)
}

fn method_of(op: &Operation) -> Method {
    match op.method {
        HttpMethod::Get => Method::GET,
        HttpMethod::Post => Method::POST,
        HttpMethod::Put => Method::PUT,
        HttpMethod::Delete => Method::DELETE,
        HttpMethod::Patch => Method::PATCH,
    }
}

/// Finds the operation for a method and path; literal segments win over
/// `{param}` ones (`/richmenu/list` before `/richmenu/{richMenuId}`).
pub(crate) fn route(method: &Method, path: &str) -> Option<(&'static Operation, Vec<String>)> {
    let segs: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let mut best: Option<(usize, &'static Operation, Vec<String>)> = None;
    for op in operations::ALL.iter().copied() {
        if method_of(op) != method {
            continue;
        }
        let tmpl: Vec<&str> = op.path.split('/').collect();
        if tmpl.len() != segs.len() {
            continue;
        }
        let mut literals = 0;
        let mut params = Vec::new();
        let mut ok = true;
        for (t, s) in tmpl.iter().zip(&segs) {
            if t.starts_with('{') && t.ends_with('}') {
                if s.is_empty() {
                    ok = false;
                    break;
                }
                params.push((*s).to_owned());
            } else if t == s {
                literals += 1;
            } else {
                ok = false;
                break;
            }
        }
        if ok && best.as_ref().is_none_or(|(l, _, _)| literals > *l) {
            best = Some((literals, op, params));
        }
    }
    best.map(|(_, op, params)| (op, params))
}

fn finish(request_id: &RequestId, result: Reply) -> Response {
    let mut resp = match result {
        Ok(answer) => {
            let mut r = match answer.body {
                AnswerBody::Json(v) => (answer.status, axum::Json(v)).into_response(),
                AnswerBody::Bytes(b, ct) => {
                    let mut r = (answer.status, b).into_response();
                    if let Ok(v) = HeaderValue::from_str(&ct) {
                        r.headers_mut().insert(axum::http::header::CONTENT_TYPE, v);
                    }
                    r
                }
            };
            if let Some(id) = answer.accepted_request_id {
                if let Ok(v) = HeaderValue::from_str(id.as_str()) {
                    r.headers_mut().insert("x-line-accepted-request-id", v);
                }
            }
            r
        }
        Err(e) => (e.status, axum::Json(e.body)).into_response(),
    };
    if let Ok(v) = HeaderValue::from_str(request_id.as_str()) {
        resp.headers_mut().insert("x-line-request-id", v);
    }
    resp
}

/// A response whose body fails at once: the client sees the connection drop.
fn dropped() -> Response {
    let stream = futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::other("line-emulator: response lost on purpose"))
    });
    Response::new(Body::from_stream(stream))
}

const INVALID_TOKEN: &str =
    "Authentication failed. Confirm that the access token in the authorization header is valid.";

/// The bearer token of a request, if it has one.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
}

/// Where a request goes: its channel, whether its token is one the token endpoints issued
/// (`Some(Ok(channel ID))` while valid, `Some(Err)` once revoked or expired), and whether it
/// is an added channel's ready token.
struct Route {
    channel: Arc<Channel>,
    issued: Option<Result<String, LineError>>,
    ready: bool,
}

/// The channel of a request comes from its bearer token: an added channel's ready token, a
/// token issued for a channel (an added one, else the default channel), or any other token
/// (the default channel).
fn channel_of(shared: &Shared, headers: &HeaderMap) -> Route {
    let Some(token) = bearer(headers) else {
        return Route {
            channel: Arc::clone(&shared.default),
            issued: None,
            ready: false,
        };
    };
    if let Some(c) = shared.read_channels().by_token.get(token) {
        return Route {
            channel: Arc::clone(c),
            issued: None,
            ready: true,
        };
    }
    let checked = shared.lock_oauth().check_bearer(token, shared.now());
    match checked {
        Some(checked) => {
            let channel = match &checked {
                Ok(id) => shared.channel_or_default(id),
                Err(_) => {
                    let id = shared.lock_oauth().channel_of_token(token);
                    id.map(|id| shared.channel_or_default(&id))
                        .unwrap_or_else(|| Arc::clone(&shared.default))
                }
            };
            Route {
                channel,
                issued: Some(checked),
                ready: false,
            }
        }
        None => Route {
            channel: Arc::clone(&shared.default),
            issued: None,
            ready: false,
        },
    }
}

fn check_auth(shared: &Shared, route: &Route, headers: &HeaderMap) -> Result<(), LineError> {
    let Some(token) = bearer(headers) else {
        return Err(LineError::new(
            StatusCode::UNAUTHORIZED,
            "Authorization header required. Must follow the scheme, 'Authorization: Bearer <ACCESS TOKEN>'",
        ));
    };
    if route.ready {
        return Ok(());
    }
    // Tokens issued by the token endpoints: valid until revoked or expired.
    if let Some(checked) = &route.issued {
        return checked.clone().map(|_| ());
    }
    match &shared.config.token {
        Some(expected) if expected.expose() != token => Err(LineError::new(StatusCode::UNAUTHORIZED, INVALID_TOKEN)),
        _ if token.is_empty() => Err(LineError::new(StatusCode::UNAUTHORIZED, INVALID_TOKEN)),
        _ => Ok(()),
    }
}

fn check_rate(
    shared: &Shared,
    state: &mut EmuState,
    op: &'static Operation,
    route: &Route,
    headers: &HeaderMap,
) -> Result<(), LineError> {
    if !shared.config.rate_limits {
        return Ok(());
    }
    // LINE counts per channel: an added channel has its own state (so one key), tokens
    // issued here count for their channel, and any other bearer token is taken for a
    // channel of its own.
    let header = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let key = if route.ready {
        Some(format!("channel:{}", route.channel.channel_id))
    } else {
        match &route.issued {
            Some(Ok(c)) => Some(format!("channel:{c}")),
            _ => None,
        }
    };
    let channel = key.as_deref().unwrap_or(header);
    if state
        .rates
        .admit(channel, op.id, shared.now(), shared.config.time_scale)
    {
        Ok(())
    } else {
        Err(LineError::rate_limited())
    }
}

async fn line_api(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let request_id = RequestId::new(uuid::Uuid::new_v4().to_string());
    let route_of = channel_of(&shared, req.headers());
    let channel = Arc::clone(&route_of.channel);
    let Some((op, params)) = route(req.method(), req.uri().path()) else {
        channel.count_call("unknown");
        return finish(&request_id, Err(LineError::not_found("Not found")));
    };
    let req = if api::oauth::is_token_operation(op.id) {
        // A token endpoint carries no bearer token: the call counts on the channel
        // the request names (its client ID, assertion key or token), read from
        // the body, which is then put back for the handler.
        let (parts, body) = req.into_parts();
        let Ok(body) = axum::body::to_bytes(body, MAX_BODY).await else {
            channel.count_call(op.id);
            return finish(
                &request_id,
                Err(LineError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "Request entity too large",
                )),
            );
        };
        let query = Query::<HashMap<String, String>>::try_from_uri(&parts.uri)
            .map(|q| q.0)
            .unwrap_or_default();
        match api::oauth::channel_of_request(&shared, &body, &query) {
            Some(id) => shared.channel_or_default(&id),
            None => Arc::clone(&shared.default),
        }
        .count_call(op.id);
        Request::from_parts(parts, Body::from(body))
    } else {
        channel.count_call(op.id);
        req
    };
    if op.auth == AuthScheme::Bearer {
        if let Err(e) = check_auth(&shared, &route_of, req.headers()) {
            return finish(&request_id, Err(e));
        }
    }
    let (latency, fault) = channel.lock_faults().draw(op.id);
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    match fault {
        Fault::Error500 => {
            channel.lock_faults().count(fault);
            return finish(&request_id, Err(LineError::internal()));
        }
        Fault::RateLimit => {
            channel.lock_faults().count(fault);
            return finish(&request_id, Err(LineError::rate_limited()));
        }
        Fault::Timeout(hold) => {
            channel.lock_faults().count(fault);
            tokio::time::sleep(hold).await;
            return dropped();
        }
        Fault::None | Fault::LostResponse => {}
    }
    if let Err(e) = check_rate(&shared, &mut channel.lock(), op, &route_of, req.headers()) {
        return finish(&request_id, Err(e));
    }
    let query = Query::<HashMap<String, String>>::try_from_uri(req.uri())
        .map(|q| q.0)
        .unwrap_or_default();
    let (parts, body) = req.into_parts();
    let body = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => {
            return finish(
                &request_id,
                Err(LineError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "Request entity too large",
                )),
            )
        }
    };
    let content_type = parts
        .headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let form = if content_type.starts_with("multipart/form-data") {
        match multipart(content_type, body.clone()).await {
            Ok(f) => f,
            Err(reason) => {
                return finish(
                    &request_id,
                    Err(LineError::bad_request(format!(
                        "The request body could not be parsed as multipart/form-data: {reason}"
                    ))),
                )
            }
        }
    } else {
        Vec::new()
    };
    let ctx = Ctx {
        op,
        channel: Arc::clone(&channel),
        params,
        query,
        headers: parts.headers,
        body,
        request_id: request_id.clone(),
        now: shared.now(),
        form,
    };
    let result = api::dispatch(&shared, &ctx);
    if fault == Fault::LostResponse {
        channel.lock_faults().count(fault);
        return dropped();
    }
    finish(&request_id, result)
}

/// The fields of a `multipart/form-data` body.
async fn multipart(content_type: &str, body: Bytes) -> Result<Vec<(String, Bytes)>, String> {
    let boundary = multer::parse_boundary(content_type).map_err(|e| e.to_string())?;
    let stream = futures::stream::once(async move { Ok::<Bytes, std::io::Error>(body) });
    let mut parts = multer::Multipart::new(stream, boundary);
    let mut fields = Vec::new();
    while let Some(field) = parts.next_field().await.map_err(|e| e.to_string())? {
        let name = field.name().unwrap_or("").to_owned();
        let bytes = field.bytes().await.map_err(|e| e.to_string())?;
        fields.push((name, bytes));
    }
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_segments_win() {
        let (op, p) = route(&Method::GET, "/v2/bot/richmenu/list").unwrap();
        assert_eq!(op.id, "getRichMenuList");
        assert!(p.is_empty());
        let (op, p) = route(&Method::GET, "/v2/bot/richmenu/richmenu-1").unwrap();
        assert_eq!(op.id, "getRichMenu");
        assert_eq!(p, ["richmenu-1"]);
        let (op, _) = route(&Method::GET, "/v2/bot/richmenu/alias/list").unwrap();
        assert_eq!(op.id, "getRichMenuAliasList");
        let (op, p) = route(&Method::POST, "/v2/bot/user/U1/richmenu/richmenu-2").unwrap();
        assert_eq!(op.id, "linkRichMenuIdToUser");
        assert_eq!(p, ["U1", "richmenu-2"]);
        assert!(route(&Method::GET, "/v2/bot/nothing").is_none());
        assert!(route(&Method::DELETE, "/v2/bot/message/push").is_none());
    }
}
