//! Many channels in one emulator: each with its own tokens, bot user ID, friends, inboxes,
//! quota, rate limits, faults and webhook secret; the default channel as before.

mod common;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use axum::Router;
use common::client;
use line_core::client::Client;
use line_core::clock::ManualClock;
use line_core::model::{IssueChannelTokenByJWTRequest, IssueChannelTokenRequest, PushMessageRequest, TextMessage};
use line_core::ratelimit::RateLimiter;
use line_core::retry::RetryPolicy;
use line_core::webhook::WebhookVerifier;
use line_core::ChannelSecret;
use line_emulator::{
    ChannelHandle, ChannelSpec, Emulator, EmulatorConfig, ErrorKind, FaultConfig, FaultRule, UserSpec,
};
use serde_json::json;
use tokio::sync::mpsc;

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

fn t0() -> jiff::Timestamp {
    "2026-05-01T00:00:00Z".parse().unwrap()
}

fn push(to: &str, text: &str) -> PushMessageRequest {
    PushMessageRequest::new(to, vec![TextMessage::new(text).into()])
}

fn status(e: &line_core::Error) -> u16 {
    e.api().map_or(0, |a| a.status)
}

#[tokio::test]
async fn a_push_reaches_its_own_channel_and_counts_against_its_quota_only() {
    let emu = Emulator::start_with(EmulatorConfig::new().friends(1)).await.unwrap();
    let a = emu.add_channel(ChannelSpec::new().monthly_quota(Some(10))).unwrap();
    let b = emu.add_channel(ChannelSpec::new().monthly_quota(Some(10))).unwrap();
    // The same user is a friend of both channels (and of the default one).
    let aoi = "U0123456789abcdef0123456789abcdef";
    for c in [&a, &b, &emu.default_channel()] {
        c.add_user(UserSpec::new("Aoi").user_id(aoi));
    }
    let aoi = line_core::ids::UserId::new(aoi);

    client(&a).push_message(push(aoi.as_str(), "from a")).await.unwrap();
    assert_eq!(a.messages(&aoi).len(), 1);
    assert!(b.messages(&aoi).is_empty());
    assert!(emu.messages(&aoi).is_empty());
    assert_eq!((a.quota_consumption(), b.quota_consumption()), (1, 0));
    assert_eq!(emu.quota_consumption(), 0);
    assert_eq!((a.calls("pushMessage"), b.calls("pushMessage")), (1, 0));
    assert_eq!(emu.default_channel().calls("pushMessage"), 0);
    // The emulator's own count covers every channel.
    assert_eq!(emu.calls("pushMessage"), 1);

    // Each channel answers its own quota and bot user ID.
    let quota = client(&b).get_message_quota().await.unwrap().body;
    assert_eq!(quota.value, Some(10));
    let used = client(&a).get_message_quota_consumption().await.unwrap().body;
    assert_eq!(used.total_usage, 1);
    let info = client(&b).get_bot_info().await.unwrap().body;
    assert_eq!(info.user_id.as_str(), b.bot_user_id());
    assert_ne!(a.bot_user_id(), b.bot_user_id());
    assert_ne!(a.bot_user_id(), emu.bot_user_id());

    // A's quota runs out; B's does not.
    a.set_quota(Some(1));
    let err = client(&a).push_message(push(aoi.as_str(), "again")).await.unwrap_err();
    assert_eq!(status(&err), 429);
    client(&b).push_message(push(aoi.as_str(), "from b")).await.unwrap();
    assert_eq!((a.messages(&aoi).len(), b.messages(&aoi).len()), (1, 1));
    assert_eq!(b.messages(&aoi)[0].operation, "pushMessage");
}

#[tokio::test]
async fn friends_are_per_channel() {
    let emu = Emulator::start_with(EmulatorConfig::new().friends(2).channels(2))
        .await
        .unwrap();
    let channels = emu.channels();
    assert_eq!(channels.len(), 2);
    let (a, b) = (&channels[0], &channels[1]);
    assert_eq!((a.users().len(), b.users().len(), emu.users().len()), (2, 2, 2));
    let a_ids = a.follower_ids();
    assert!(a_ids.iter().all(|u| !b.follower_ids().contains(u)));
    b.add_friends(3);
    assert_eq!((a.follower_ids().len(), b.follower_ids().len()), (2, 5));
    // A user of A is not known to B: a push from B to them is refused, as LINE does for a
    // user who is not a friend of the channel.
    let err = client(b).push_message(push(a_ids[0].as_str(), "hi")).await.unwrap_err();
    assert_eq!(status(&err), 400);
    assert_eq!(b.quota_consumption(), 0);
    // Lookups by ID.
    assert_eq!(emu.channel(a.channel_id()).unwrap().bot_user_id(), a.bot_user_id());
    assert_eq!(
        emu.channel(line_emulator::DEFAULT_CHANNEL_ID).unwrap().bot_user_id(),
        emu.bot_user_id()
    );
    assert!(emu.channel("1").is_none());
}

#[tokio::test]
async fn a_rate_limit_429_of_one_channel_leaves_the_others_alone() {
    let clock = ManualClock::new(t0());
    let emu = Emulator::start_with(EmulatorConfig::new().clock(Arc::new(clock.clone())))
        .await
        .unwrap();
    let a = emu.add_channel(ChannelSpec::new()).unwrap();
    let b = emu.add_channel(ChannelSpec::new()).unwrap();
    // LINE allows 10 rich-menu list calls a second per channel; the clock stands still.
    let (ca, cb) = (client(&a), client(&b));
    for _ in 0..10 {
        ca.get_rich_menu_list().await.unwrap();
    }
    let err = ca.get_rich_menu_list().await.unwrap_err();
    assert_eq!(status(&err), 429);
    for _ in 0..10 {
        cb.get_rich_menu_list().await.unwrap();
    }
    assert_eq!(status(&cb.get_rich_menu_list().await.unwrap_err()), 429);
    // The default channel has its own windows too.
    let default = emu
        .client_builder()
        .retry_policy(RetryPolicy::none())
        .rate_limiter(RateLimiter::disabled());
    default.build().unwrap().get_rich_menu_list().await.unwrap();
    assert_eq!((a.calls("getRichMenuList"), b.calls("getRichMenuList")), (11, 11));
}

#[tokio::test]
async fn faults_are_set_per_channel() {
    let emu = Emulator::start().await.unwrap();
    let a = emu.add_channel(ChannelSpec::new().friends(1)).unwrap();
    let b = emu
        .add_channel(
            ChannelSpec::new()
                .friends(1)
                .faults(FaultConfig::none().with_endpoint("pushMessage", FaultRule::new().error_rate(1.0))),
        )
        .unwrap();
    let to_a = a.follower_ids()[0].clone();
    let to_b = b.follower_ids()[0].clone();
    client(&a).push_message(push(to_a.as_str(), "ok")).await.unwrap();
    let err = client(&b).push_message(push(to_b.as_str(), "lost")).await.unwrap_err();
    assert_eq!(status(&err), 500);
    assert_eq!((a.fault_counts().errors, b.fault_counts().errors), (0, 1));
    assert_eq!(emu.fault_counts().errors, 0);
    assert!(b.messages(&to_b).is_empty());

    // Now A answers 429s and B is healthy again.
    a.set_faults(FaultConfig::none().with_default(FaultRule::new().rate_limit_rate(1.0)))
        .unwrap();
    b.set_faults(FaultConfig::none()).unwrap();
    let err = client(&a).push_message(push(to_a.as_str(), "no")).await.unwrap_err();
    assert_eq!(status(&err), 429);
    client(&b).push_message(push(to_b.as_str(), "yes")).await.unwrap();
    assert_eq!((a.messages(&to_a).len(), b.messages(&to_b).len()), (1, 1));
    assert_eq!(a.faults().default.rate_limit_rate, 1.0);
    // A bad rate names its place.
    let bad = FaultConfig::none().with_default(FaultRule::new().error_rate(2.0));
    assert!(
        matches!(a.set_faults(bad).unwrap_err().kind(), ErrorKind::Parse { pointer, .. } if pointer == "/default/errorRate")
    );
}

async fn hook(State(tx): State<mpsc::UnboundedSender<(Bytes, Option<String>)>>, headers: HeaderMap, body: Bytes) {
    let sig = headers
        .get("x-line-signature")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let _ = tx.send((body, sig));
}

#[tokio::test]
async fn each_channel_signs_its_webhooks_with_its_own_secret() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let app = Router::new().route("/callback", post(hook)).with_state(tx);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/callback", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    // One webhook URL for every channel, as a multi-account service has.
    let emu = Emulator::start_with(EmulatorConfig::new().webhook_url(url).channels(2))
        .await
        .unwrap();
    let channels = emu.channels();
    let (a, b) = (&channels[0], &channels[1]);
    assert_ne!(a.channel_secret().expose(), b.channel_secret().expose());
    let bo = b.add_user(UserSpec::new("Bo").friend(false));
    let delivery = b.follow(&bo).await.unwrap();
    assert_eq!(delivery.status, Some(200));
    assert_eq!(b.follower_ids(), vec![bo.clone()]);
    assert!(a.follower_ids().is_empty());

    let (body, sig) = rx.recv().await.unwrap();
    let parsed = WebhookVerifier::new(b.channel_secret())
        .verify_and_parse(&body, sig.as_deref())
        .unwrap();
    assert_eq!(parsed.destination.as_deref(), Some(b.bot_user_id()));
    assert!(WebhookVerifier::new(a.channel_secret())
        .verify_and_parse(&body, sig.as_deref())
        .is_err());
    assert!(WebhookVerifier::new(emu.channel_secret())
        .verify_and_parse(&body, sig.as_deref())
        .is_err());

    // The default channel still signs with the configured secret.
    let cy = emu.add_user(UserSpec::new("Cy").friend(false));
    emu.follow(&cy).await.unwrap();
    let (body, sig) = rx.recv().await.unwrap();
    let parsed = WebhookVerifier::new(&ChannelSecret::new(line_emulator::DEFAULT_CHANNEL_SECRET))
        .verify_and_parse(&body, sig.as_deref())
        .unwrap();
    assert_eq!(parsed.destination.as_deref(), Some(emu.bot_user_id()));
}

#[tokio::test]
async fn issued_tokens_reach_their_channel() {
    let clock = ManualClock::new(t0());
    let emu = Emulator::start_with(EmulatorConfig::new().clock(Arc::new(clock.clone())))
        .await
        .unwrap();
    let a = emu.add_channel(ChannelSpec::new().friends(1)).unwrap();
    let raw = Client::builder()
        .token("unused")
        .base_url(emu.base_url())
        .build()
        .unwrap();

    // A short-lived token from A's ID and secret.
    let req = IssueChannelTokenRequest::new("client_credentials", a.channel_id(), a.channel_secret().expose());
    let short = raw.issue_channel_token(&req).await.unwrap().body.access_token;
    // A v2.1 token from an assertion signed with a key registered for A.
    let (pair, kid) = a.new_assertion_key().unwrap();
    let claims = json!({
        "iss": a.channel_id(), "sub": a.channel_id(), "aud": "https://api.line.me/",
        "exp": t0().as_second() + 600, "token_exp": 3600
    });
    let body = IssueChannelTokenByJWTRequest::new("client_credentials", JWT_BEARER, pair.sign(&kid, &claims));
    let v21 = raw.issue_channel_token_by_jwt(&body).await.unwrap().body.access_token;

    let to = a.follower_ids()[0].clone();
    for token in [short.expose(), v21.expose()] {
        let c = Client::builder()
            .token(token)
            .base_url(emu.base_url())
            .retry_policy(RetryPolicy::none())
            .build()
            .unwrap();
        c.push_message(push(to.as_str(), "hi")).await.unwrap();
        assert_eq!(c.get_bot_info().await.unwrap().body.user_id.as_str(), a.bot_user_id());
    }
    assert_eq!(a.messages(&to).len(), 2);
    assert_eq!(a.quota_consumption(), 2);
    assert_eq!(emu.quota_consumption(), 0);
    assert_eq!(emu.token_channel(v21.expose()).as_deref(), Some(a.channel_id()));
}

#[tokio::test]
async fn verifying_an_access_token_is_counted() {
    let emu = Emulator::start().await.unwrap();
    let a = emu.add_channel(ChannelSpec::new()).unwrap();
    let raw = Client::builder()
        .token("unused")
        .base_url(emu.base_url())
        .build()
        .unwrap();
    let req = IssueChannelTokenRequest::new("client_credentials", a.channel_id(), a.channel_secret().expose());
    let token = raw.issue_channel_token(&req).await.unwrap().body.access_token;
    let v = raw.verify_channel_token_by_jwt(token.expose()).await.unwrap().body;
    assert_eq!(v.client_id, a.channel_id());
    assert_eq!(emu.calls("verifyChannelTokenByJWT"), 1);
    assert_eq!(a.calls("verifyChannelTokenByJWT"), 1);
    // A LINE Login access token goes through the same endpoint and is counted too.
    let login = emu.issue_login_access_token("1234567890", 3600);
    raw.verify_channel_token_by_jwt(&login).await.unwrap();
    assert_eq!(emu.calls("verifyChannelTokenByJWT"), 2);
    assert_eq!(emu.default_channel().calls("verifyChannelTokenByJWT"), 1);
}

#[tokio::test]
async fn the_default_channel_works_as_before() {
    let emu = Emulator::start_with(EmulatorConfig::new().friends(2).token("the-token"))
        .await
        .unwrap();
    let a = emu.add_channel(ChannelSpec::new().friends(2)).unwrap();
    let default = emu.default_channel();
    assert_eq!(default.channel_id(), line_emulator::DEFAULT_CHANNEL_ID);
    assert_eq!(default.token().expose(), "the-token");
    assert_eq!(default.users(), emu.users());
    let to = emu.follower_ids()[0].clone();
    let c = emu.client_builder().retry_policy(RetryPolicy::none()).build().unwrap();
    c.push_message(push(to.as_str(), "hi")).await.unwrap();
    assert_eq!(emu.messages(&to).len(), 1);
    assert_eq!(emu.delivered_count(), 1);
    assert_eq!(a.delivered_count(), 0);
    // Another token is still refused; an added channel's token is not the default one's.
    let wrong = Client::builder()
        .token("wrong")
        .base_url(emu.base_url())
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    assert_eq!(status(&wrong.get_bot_info().await.unwrap_err()), 401);
    assert_eq!(
        client(&a).get_bot_info().await.unwrap().body.user_id.as_str(),
        a.bot_user_id()
    );
    // Reset goes back to the start in every channel; the channels stay.
    a.add_friends(1);
    emu.reset();
    assert_eq!((emu.delivered_count(), a.users().len()), (0, 2));
    assert_eq!(emu.channels().len(), 1);
    assert_eq!(emu.calls("pushMessage"), 0);
}

#[tokio::test]
async fn bad_channel_specs_name_the_field() {
    let emu = Emulator::start().await.unwrap();
    let a = emu.add_channel(ChannelSpec::new()).unwrap();
    let field = |spec: ChannelSpec| match emu.add_channel(spec).unwrap_err().kind() {
        ErrorKind::Config { field, .. } => field.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(field(ChannelSpec::new().channel_id("12ab")), "channel_id");
    assert_eq!(field(ChannelSpec::new().channel_id(a.channel_id())), "channel_id");
    assert_eq!(field(ChannelSpec::new().bot_user_id("U123")), "bot_user_id");
    assert_eq!(field(ChannelSpec::new().bot_user_id(a.bot_user_id())), "bot_user_id");
    assert_eq!(field(ChannelSpec::new().token(a.token().expose())), "token");
    assert_eq!(field(ChannelSpec::new().channel_secret("")), "channel_secret");
    assert_eq!(
        field(ChannelSpec::new().webhook_url("https://example.com/")),
        "webhook_url"
    );
    assert_eq!(emu.channels().len(), 1);
    // Fixed credentials are kept as given.
    let b = emu
        .add_channel(
            ChannelSpec::new()
                .channel_id("1650000009")
                .bot_user_id(format!("U{:032x}", 9))
                .channel_secret("00112233445566778899aabbccddeeff")
                .token("token-of-b"),
        )
        .unwrap();
    assert_eq!(b.channel_id(), "1650000009");
    assert_eq!(
        client(&b).get_bot_info().await.unwrap().body.user_id.as_str(),
        b.bot_user_id()
    );
}

#[tokio::test]
async fn credentials_stay_out_of_debug() {
    let emu = Emulator::start_with(EmulatorConfig::new().channels(1)).await.unwrap();
    let a = &emu.channels()[0];
    let spec = ChannelSpec::new().channel_secret("spec-secret-1").token("spec-token-2");
    for shown in [format!("{a:?}"), format!("{emu:?}"), format!("{spec:?}")] {
        assert!(!shown.contains(a.channel_secret().expose()), "{shown}");
        assert!(!shown.contains(a.token().expose()), "{shown}");
        assert!(
            !shown.contains("spec-secret-1") && !shown.contains("spec-token-2"),
            "{shown}"
        );
    }
    assert!(format!("{a:?}").contains(a.channel_id()));
}

#[tokio::test]
async fn generated_channels_are_reproducible_from_the_seed() {
    let creds = |emu: &Emulator| -> Vec<serde_json::Value> {
        emu.channels().iter().map(ChannelHandle::credentials_json).collect()
    };
    let one = Emulator::start_with(EmulatorConfig::new().seed(5).channels(3))
        .await
        .unwrap();
    let two = Emulator::start_with(EmulatorConfig::new().seed(5).channels(3))
        .await
        .unwrap();
    let other = Emulator::start_with(EmulatorConfig::new().seed(6).channels(3))
        .await
        .unwrap();
    assert_eq!(creds(&one), creds(&two));
    assert_ne!(creds(&one), creds(&other));
    let ids: Vec<String> = one.channels().iter().map(|c| c.channel_id().to_owned()).collect();
    assert_eq!(ids, ["1600000001", "1600000002", "1600000003"]);
}

async fn admin(method: reqwest::Method, url: String, body: &str) -> (u16, serde_json::Value) {
    let r = reqwest::Client::new()
        .request(method, url)
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let bytes = r.bytes().await.unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
    )
}

#[tokio::test]
async fn the_admin_interface_takes_a_channel_id() {
    let emu = Emulator::start_with(EmulatorConfig::new().friends(1).channels(1))
        .await
        .unwrap();
    let a = &emu.channels()[0];
    let base = emu.base_url();
    let id = a.channel_id();
    let faults = r#"{"endpoints": {"getBotInfo": {"errorRate": 1.0}}}"#;
    let (status, _) = admin(
        reqwest::Method::PUT,
        format!("{base}/_emulator/faults?channelId={id}"),
        faults,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(a.faults().endpoints["getBotInfo"].error_rate, 1.0);
    assert!(emu.faults().endpoints.is_empty());
    assert_eq!(status_of(client(a).get_bot_info().await), 500);
    assert_eq!(
        status_of(emu.client_builder().build().unwrap().get_bot_info().await),
        200
    );

    let (_, calls) = admin(
        reqwest::Method::GET,
        format!("{base}/_emulator/calls?channelId={id}"),
        "",
    )
    .await;
    assert_eq!(calls, json!({"getBotInfo": 1}));
    let (_, all) = admin(reqwest::Method::GET, format!("{base}/_emulator/calls"), "").await;
    assert_eq!(all, json!({"getBotInfo": 2}));

    let (status, user) = admin(
        reqwest::Method::POST,
        format!("{base}/_emulator/users?channelId={id}"),
        r#"{"displayName": "Dee"}"#,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(a.users().len(), 2);
    assert_eq!(emu.users().len(), 1);
    let (_, users) = admin(
        reqwest::Method::GET,
        format!("{base}/_emulator/users?channelId={id}"),
        "",
    )
    .await;
    assert_eq!(users[1], user);

    let (status, _) = admin(reqwest::Method::GET, format!("{base}/_emulator/users?channelId=42"), "").await;
    assert_eq!(status, 404);
}

fn status_of<T>(r: Result<T, line_core::Error>) -> u16 {
    match r {
        Ok(_) => 200,
        Err(e) => status(&e),
    }
}

#[tokio::test]
async fn token_endpoint_calls_count_on_the_channel_the_token_is_for() {
    let emu = Emulator::start().await.unwrap();
    let a = emu.add_channel(ChannelSpec::new()).unwrap();
    let b = emu.add_channel(ChannelSpec::new()).unwrap();
    let raw = Client::builder()
        .token("unused")
        .base_url(emu.base_url())
        .build()
        .unwrap();
    let req = IssueChannelTokenRequest::new("client_credentials", a.channel_id(), a.channel_secret().expose());
    raw.issue_channel_token(&req).await.unwrap();
    raw.issue_channel_token(&req).await.unwrap();
    assert_eq!(a.calls("issueChannelToken"), 2);
    assert_eq!(b.calls("issueChannelToken"), 0);
    assert_eq!(emu.default_channel().calls("issueChannelToken"), 0);
    // A refused request still names its channel.
    let wrong = IssueChannelTokenRequest::new("client_credentials", b.channel_id(), "not-the-secret");
    assert!(raw.issue_channel_token(&wrong).await.is_err());
    assert_eq!(b.calls("issueChannelToken"), 1);
    // A request that names no known channel counts on the default channel.
    let unknown = IssueChannelTokenRequest::new("client_credentials", "1999999999", "not-a-channel");
    assert!(raw.issue_channel_token(&unknown).await.is_err());
    assert_eq!(emu.default_channel().calls("issueChannelToken"), 1);
    assert_eq!(emu.calls("issueChannelToken"), 4);
}
