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
//! | `GET /_emulator/channels` | the added channels: `[{"channelId", "botUserId", "channelSecret", "accessToken", "webhookUrl"}]` |
//!
//! The user, message, fault, call and webhook paths act on the default channel; with
//! `?channelId=…` they act on that channel (an unknown channel ID is a 404). `GET
//! /_emulator/calls` without it counts every channel's calls.
//!
//! Errors use LINE's shape, `{"message", "details": [{"message", "property"}]}`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use crate::channels::ChannelHandle;
use crate::error::{ErrorKind, LineError};
use crate::handler::Shared;
use crate::state::UserSpec;

type S = State<Arc<Shared>>;

/// `?channelId=…`: which channel an admin call acts on.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ChannelQuery {
    channel_id: Option<String>,
}

/// The channel named by `channel_id`, or the default channel; 404 for an unknown one.
fn pick(shared: &Arc<Shared>, channel_id: Option<&str>) -> Result<ChannelHandle, Box<Response>> {
    let channel = match channel_id {
        None => Arc::clone(&shared.default),
        Some(id) => shared
            .channel(id)
            .ok_or_else(|| Box::new(error(LineError::not_found(format!("unknown channel {id}")))))?,
    };
    Ok(ChannelHandle {
        shared: Arc::clone(shared),
        channel,
    })
}

fn error(e: LineError) -> Response {
    (e.status, Json(e.body)).into_response()
}

fn from_error(e: crate::error::Error) -> Response {
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

pub(crate) async fn users(State(shared): S, Query(q): Query<ChannelQuery>) -> Response {
    match pick(&shared, q.channel_id.as_deref()) {
        Ok(c) => Json(c.users()).into_response(),
        Err(r) => *r,
    }
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

pub(crate) async fn add_user(State(shared): S, Query(q): Query<ChannelQuery>, body: Bytes) -> Response {
    let channel = match pick(&shared, q.channel_id.as_deref()) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let u: NewUser = match parse(&body) {
        Ok(u) => u,
        Err(e) => return error(*e),
    };
    let mut spec = UserSpec::new(u.display_name).friend(u.friend).blocked(u.blocked);
    if let Some(id) = u.user_id {
        spec = spec.user_id(id);
    }
    let mut st = channel.channel.lock();
    let idx = st.add_user(spec);
    Json(st.users[idx].view()).into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UserQuery {
    user_id: Option<String>,
    channel_id: Option<String>,
}

pub(crate) async fn messages(State(shared): S, Query(q): Query<UserQuery>) -> Response {
    let Some(user_id) = q.user_id else {
        return error(LineError::property("userId", "the userId query parameter is required"));
    };
    let channel = match pick(&shared, q.channel_id.as_deref()) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let mut st = channel.channel.lock();
    st.settle(shared.now());
    if st.user(&user_id).is_none() {
        return error(LineError::not_found(format!("unknown simulated user {user_id}")));
    }
    let list = st.inbox(&user_id);
    Json(list).into_response()
}

pub(crate) async fn reset(State(shared): S) -> Response {
    shared.reset();
    Json(serde_json::json!({})).into_response()
}

pub(crate) async fn put_faults(State(shared): S, Query(q): Query<ChannelQuery>, body: Bytes) -> Response {
    let channel = match pick(&shared, q.channel_id.as_deref()) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    match crate::faults::FaultConfig::from_json(&body) {
        Ok(config) => {
            *channel.channel.lock_faults() = crate::faults::Faults::new(config.clone());
            Json(config).into_response()
        }
        Err(e) => match e.kind() {
            ErrorKind::Parse { pointer, reason } => error(LineError::property(pointer.clone(), reason.clone())),
            _ => from_error(e),
        },
    }
}

pub(crate) async fn get_faults(State(shared): S, Query(q): Query<ChannelQuery>) -> Response {
    match pick(&shared, q.channel_id.as_deref()) {
        Ok(c) => Json(c.faults()).into_response(),
        Err(r) => *r,
    }
}

pub(crate) async fn calls(State(shared): S, Query(q): Query<ChannelQuery>) -> Response {
    if q.channel_id.is_none() {
        let channels: Vec<_> = shared.read_channels().by_id.values().cloned().collect();
        let mut all = std::collections::BTreeMap::<String, u64>::new();
        for c in channels {
            for (op, n) in c.calls() {
                *all.entry(op).or_insert(0) += n;
            }
        }
        return Json(all).into_response();
    }
    match pick(&shared, q.channel_id.as_deref()) {
        Ok(c) => Json(c.call_counts()).into_response(),
        Err(r) => *r,
    }
}

pub(crate) async fn channels(State(shared): S) -> Response {
    let added: Vec<_> = shared.read_channels().added.clone();
    let list: Vec<serde_json::Value> = added
        .into_iter()
        .map(|channel| {
            ChannelHandle {
                shared: Arc::clone(&shared),
                channel,
            }
            .credentials_json()
        })
        .collect();
    Json(list).into_response()
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

async fn user_action(shared: Arc<Shared>, q: ChannelQuery, body: Bytes, kind: &str) -> Response {
    let channel = match pick(&shared, q.channel_id.as_deref()) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let a: UserAction = match parse(&body) {
        Ok(a) => a,
        Err(e) => return error(*e),
    };
    let user = line_core::ids::UserId::new(a.user_id);
    let result = match kind {
        "follow" => channel.follow(&user).await,
        "text" => match a.text {
            Some(t) => channel.send_text(&user, &t).await,
            None => return error(LineError::property("text", "must not be null")),
        },
        _ => match a.data {
            Some(d) => channel.postback(&user, &d).await,
            None => return error(LineError::property("data", "must not be null")),
        },
    };
    match result {
        Ok(d) => Json(d).into_response(),
        Err(e) => from_error(e),
    }
}

pub(crate) async fn webhook_follow(State(shared): S, Query(q): Query<ChannelQuery>, body: Bytes) -> Response {
    user_action(shared, q, body, "follow").await
}

pub(crate) async fn webhook_text(State(shared): S, Query(q): Query<ChannelQuery>, body: Bytes) -> Response {
    user_action(shared, q, body, "text").await
}

pub(crate) async fn webhook_postback(State(shared): S, Query(q): Query<ChannelQuery>, body: Bytes) -> Response {
    user_action(shared, q, body, "postback").await
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
    match crate::channels::link_channel(&shared, &token)
        .complete_account_link(&token, &nonce)
        .await
    {
        Ok(d) => Json(d).into_response(),
        Err(e) => from_error(e),
    }
}
