//! The demo server's routes, shared by `examples/popup_server.rs` and the
//! browser test (`tests/browser.rs`).

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use line_core::clock::Clock;
use line_core::webhook::WebhookVerifier;
use line_core::{ChannelSecret, UserId};
use line_popup::{
    Banner, Campaign, Caps, Device, ErrorKind, EventKind, Goal, LoginConfig, PopupConfig, PopupEngine, PopupStore,
    VisitorContext,
};
use serde::Deserialize;

/// What the routes share.
#[derive(Clone)]
pub struct AppState {
    /// The decision engine.
    pub engine: Arc<PopupEngine>,
    /// Checks `x-line-signature` on `/webhook`.
    pub verifier: Arc<WebhookVerifier>,
}

/// Baroque Japan's popup: three banners, 5 showings at most, 7 days of quiet
/// after a dismiss, none after a conversion; LINE Login with `bot_prompt`.
pub fn demo_config() -> PopupConfig {
    let mut c = Campaign::new(
        "friend-popup",
        vec![
            Banner::new("a", "LINEで友だち追加して10%OFF").with_weight(1),
            Banner::new("b", "新作情報をLINEでいち早く").with_weight(1),
            Banner::new("c", "会員IDを連携してポイント2倍").with_weight(1),
        ],
    );
    c.goal = Goal::Login;
    c.caps = Caps::baroque_default();
    c.targeting.include = vec!["/".into(), "/products/**".into()];
    c.targeting.exclude = vec!["/checkout/**".into()];
    let mut cfg = PopupConfig::new("@baroque", vec![c]);
    cfg.max_per_day = Some(10);
    cfg.login = Some(LoginConfig::new("1650000000", "https://shop.example/line/callback"));
    cfg.id_link_url = Some("https://shop.example/account/line-link".into());
    cfg
}

/// The demo state over a store and a clock.
pub fn demo_state(store: Arc<dyn PopupStore>, clock: Arc<dyn Clock>, secret: &ChannelSecret) -> AppState {
    let engine = PopupEngine::builder(demo_config(), store, clock)
        .build()
        .expect("the demo configuration is valid");
    AppState {
        engine: Arc::new(engine),
        verifier: Arc::new(WebhookVerifier::new(secret)),
    }
}

/// All routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(shop))
        .route("/products/{id}", get(shop))
        .route("/popup.js", get(script))
        .route("/popup/decide", post(decide))
        .route("/popup/event", post(event))
        .route("/line/callback", get(login_callback))
        .route("/webhook", post(webhook))
        .with_state(state)
}

async fn shop() -> Html<&'static str> {
    Html(include_str!("shop.html"))
}

async fn script() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/javascript; charset=utf-8")],
        include_str!("popup.js"),
    )
}

#[derive(Deserialize)]
struct DecideRequest {
    visitor_id: String,
    session_id: String,
    path: String,
}

fn error(status: StatusCode, e: &line_popup::Error) -> Response {
    (
        status,
        Json(serde_json::json!({"decision": "hide", "error": e.to_string()})),
    )
        .into_response()
}

async fn decide(State(s): State<AppState>, headers: HeaderMap, Json(req): Json<DecideRequest>) -> Response {
    let ua = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let ctx = VisitorContext::new(req.visitor_id, req.session_id, req.path, Device::from_user_agent(ua));
    match s.engine.decide(&ctx).await {
        Ok(d) => Json(d).into_response(),
        Err(e) => match e.kind() {
            ErrorKind::InvalidInput { .. } => error(StatusCode::BAD_REQUEST, &e),
            // Fail closed: the page shows nothing.
            _ => error(StatusCode::SERVICE_UNAVAILABLE, &e),
        },
    }
}

#[derive(Deserialize)]
struct EventRequest {
    token: String,
    kind: String,
}

async fn event(State(s): State<AppState>, Json(req): Json<EventRequest>) -> Response {
    let kind = match EventKind::parse(&req.kind) {
        Some(k @ (EventKind::Shown | EventKind::Clicked | EventKind::Dismissed)) => k,
        _ => {
            return (StatusCode::BAD_REQUEST, "kind must be shown, clicked or dismissed").into_response();
        }
    };
    match s.engine.record(&req.token, kind).await {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => match e.kind() {
            ErrorKind::InvalidInput { .. } => error(StatusCode::BAD_REQUEST, &e),
            _ => error(StatusCode::SERVICE_UNAVAILABLE, &e),
        },
    }
}

#[derive(Deserialize)]
struct Callback {
    state: String,
    user_id: String,
}

/// A stand-in for the LINE Login callback: a real one exchanges `code` for an
/// ID token and reads the user ID from it; the demo takes `user_id` as given.
async fn login_callback(State(s): State<AppState>, Query(q): Query<Callback>) -> Response {
    match s.engine.bind_line_user(&q.state, &UserId::new(q.user_id)).await {
        Ok(true) => Html("<p id=\"linked\">ログインしました</p>").into_response(),
        Ok(false) => (StatusCode::BAD_REQUEST, "unknown state").into_response(),
        Err(e) => error(StatusCode::BAD_REQUEST, &e),
    }
}

async fn webhook(State(s): State<AppState>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let sig = headers.get("x-line-signature").and_then(|v| v.to_str().ok());
    let req = match s.verifier.verify_and_parse(&body, sig) {
        Ok(r) => r,
        Err(e) => return (StatusCode::UNAUTHORIZED, e.to_string()).into_response(),
    };
    for ev in &req.events {
        if let Err(e) = s.engine.handle_event(ev).await {
            // LINE redelivers on a non-2xx answer; every step is idempotent.
            return error(StatusCode::SERVICE_UNAVAILABLE, &e);
        }
    }
    StatusCode::OK.into_response()
}
