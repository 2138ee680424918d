//! The admin interface under `/_emulator/`: a contract for scripts in any language.
//!
//! | Method and path | What it does |
//! |---|---|
//! | `GET /_emulator/users` | JSON array of `{"userId", "displayName", "friend", "blocked"}` |
//! | `POST /_emulator/users` | adds a user: `{"displayName", "userId"?, "friend"?, "blocked"?}`; answers the user |
//! | `GET /_emulator/messages?userId=U…` | the messages the user received, in order: `{"requestId", "operation", "message", "receivedAt"}` |
//! | `POST /_emulator/reset` | back to the state at start (same seeded friends, initial faults) |
//! | `PUT /_emulator/faults` | the fault configuration (see [`crate::faults`]); `GET` reads it |
//! | `GET /_emulator/calls` | calls per operationId (`unknown` for unmatched paths) |
//! | `POST /_emulator/webhook/follow` | `{"userId"}`: the user follows; sends a follow event |
//! | `POST /_emulator/webhook/text` | `{"userId", "text"}`: the user sends a text message |
//! | `POST /_emulator/webhook/postback` | `{"userId", "data"}`: the user taps a postback action |
//! | `GET /dialog/bot/accountLink?linkToken=…&nonce=…` | LINE's account-link page: completes the link and sends the `accountLink` event |
//!
//! Errors use LINE's shape, `{"message", "details": [{"message", "property"}]}`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use crate::error::{ErrorKind, LineError};
use crate::server::Shared;
use crate::state::UserSpec;
use crate::Emulator;

type S = State<Arc<Shared>>;

fn error(e: LineError) -> Response {
    (e.status, Json(e.body)).into_response()
}

fn from_error(e: crate::Error) -> Response {
    let status = match e.kind() {
        ErrorKind::UnknownUser { .. } | ErrorKind::UnknownLinkToken => StatusCode::NOT_FOUND,
        ErrorKind::Webhook { .. } => StatusCode::BAD_GATEWAY,
        _ => StatusCode::BAD_REQUEST,
    };
    error(LineError::new(status, e.to_string()))
}

fn parse<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, Box<LineError>> {
    line_core::error::from_json_slice(body).map_err(|e| {
        Box::new(match e.kind() {
            line_core::ErrorKind::Parse { pointer, reason } => {
                LineError::property(crate::error::property_from_pointer(pointer), reason.clone())
            }
            _ => LineError::bad_request("the request body could not be parsed as JSON"),
        })
    })
}

pub(crate) async fn users(State(shared): S) -> Response {
    Json(Emulator::users_of(&shared)).into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewUser {
    display_name: String,
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default = "yes")]
    friend: bool,
    #[serde(default)]
    blocked: bool,
}

fn yes() -> bool {
    true
}

pub(crate) async fn add_user(State(shared): S, body: Bytes) -> Response {
    let u: NewUser = match parse(&body) {
        Ok(u) => u,
        Err(e) => return error(*e),
    };
    let mut spec = UserSpec::new(u.display_name).friend(u.friend).blocked(u.blocked);
    if let Some(id) = u.user_id {
        spec = spec.user_id(id);
    }
    let mut st = shared.lock();
    let idx = st.add_user(spec);
    Json(st.users[idx].view()).into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UserQuery {
    user_id: Option<String>,
}

pub(crate) async fn messages(State(shared): S, Query(q): Query<UserQuery>) -> Response {
    let Some(user_id) = q.user_id else {
        return error(LineError::property("userId", "the userId query parameter is required"));
    };
    let mut st = shared.lock();
    st.settle(shared.now());
    if st.user(&user_id).is_none() {
        return error(LineError::not_found(format!("unknown simulated user {user_id}")));
    }
    let list = st.inbox.get(&user_id).cloned().unwrap_or_default();
    Json(list).into_response()
}

pub(crate) async fn reset(State(shared): S) -> Response {
    Emulator::reset_shared(&shared);
    Json(serde_json::json!({})).into_response()
}

pub(crate) async fn put_faults(State(shared): S, body: Bytes) -> Response {
    match crate::faults::FaultConfig::from_json(&body) {
        Ok(config) => {
            *shared.lock_faults() = crate::faults::Faults::new(config.clone());
            Json(config).into_response()
        }
        Err(e) => match e.kind() {
            ErrorKind::Parse { pointer, reason } => error(LineError::property(pointer.clone(), reason.clone())),
            _ => from_error(e),
        },
    }
}

pub(crate) async fn get_faults(State(shared): S) -> Response {
    Json(shared.lock_faults().config().clone()).into_response()
}

pub(crate) async fn calls(State(shared): S) -> Response {
    Json(shared.lock().calls.clone()).into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct UserAction {
    user_id: String,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    data: Option<String>,
}

async fn user_action(shared: Arc<Shared>, body: Bytes, kind: &str) -> Response {
    let a: UserAction = match parse(&body) {
        Ok(a) => a,
        Err(e) => return error(*e),
    };
    let user = line_core::ids::UserId::new(a.user_id);
    let result = match kind {
        "follow" => Emulator::follow_shared(&shared, &user).await,
        "text" => match a.text {
            Some(t) => Emulator::send_text_shared(&shared, &user, &t).await,
            None => return error(LineError::property("text", "must not be null")),
        },
        _ => match a.data {
            Some(d) => Emulator::postback_shared(&shared, &user, &d).await,
            None => return error(LineError::property("data", "must not be null")),
        },
    };
    match result {
        Ok(d) => Json(d).into_response(),
        Err(e) => from_error(e),
    }
}

pub(crate) async fn webhook_follow(State(shared): S, body: Bytes) -> Response {
    user_action(shared, body, "follow").await
}

pub(crate) async fn webhook_text(State(shared): S, body: Bytes) -> Response {
    user_action(shared, body, "text").await
}

pub(crate) async fn webhook_postback(State(shared): S, body: Bytes) -> Response {
    user_action(shared, body, "postback").await
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LinkQuery {
    link_token: Option<String>,
    nonce: Option<String>,
}

pub(crate) async fn account_link_dialog(State(shared): S, Query(q): Query<LinkQuery>) -> Response {
    let (Some(token), Some(nonce)) = (q.link_token, q.nonce) else {
        return error(LineError::bad_request("linkToken and nonce are required"));
    };
    match Emulator::complete_account_link_shared(&shared, &token, &nonce).await {
        Ok(d) => Json(d).into_response(),
        Err(e) => from_error(e),
    }
}
