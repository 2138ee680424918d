//! Every rule and cap of `PopupEngine::decide`, with a manual clock.

mod common;

use std::sync::Arc;

use common::*;
use line_core::webhook::{self, Event};
use line_popup::engine::Reason;
use line_popup::{
    Audience, Banner, CapKind, Caps, Day, Decision, Device, ErrorKind, EventKind, Goal, Hours, LineStatus, LoginConfig,
    PopupConfig, Recorded, VisitorContext,
};

async fn shows(engine: &line_popup::PopupEngine, ctx: &VisitorContext) -> bool {
    engine.decide(ctx).await.unwrap().showing().is_some()
}

async fn reason(engine: &line_popup::PopupEngine, ctx: &VisitorContext) -> Option<Reason> {
    engine.decide(ctx).await.unwrap().reason()
}

fn with_caps(caps: Caps) -> PopupConfig {
    let mut c = campaign("popup");
    c.caps = caps;
    PopupConfig::new("@baroque", vec![c])
}

#[tokio::test]
async fn lifetime_cap_of_five_over_seven_views() {
    let (engine, clock) = engine(with_caps(Caps::none().with_lifetime(5)));
    let mut n = 0;
    for _ in 0..7 {
        if shows(&engine, &view("v1")).await {
            n += 1;
        }
        clock.advance(mins(1));
    }
    assert_eq!(n, 5);
    assert_eq!(reason(&engine, &view("v1")).await, Some(Reason::Cap(CapKind::Lifetime)));
    clock.advance(days(3650));
    assert_eq!(reason(&engine, &view("v1")).await, Some(Reason::Cap(CapKind::Lifetime)));
    assert!(shows(&engine, &view("v2")).await, "another visitor has their own cap");
}

#[tokio::test]
async fn rolling_window_cap() {
    let (engine, clock) = engine(with_caps(Caps::none().with_window(2, 24 * 3600)));
    assert!(shows(&engine, &view("v")).await);
    clock.advance(mins(60));
    assert!(shows(&engine, &view("v")).await);
    clock.advance(mins(60));
    assert_eq!(reason(&engine, &view("v")).await, Some(Reason::Cap(CapKind::Window)));
    clock.advance(mins(22 * 60 - 1)); // 23:59 after the first
    assert_eq!(reason(&engine, &view("v")).await, Some(Reason::Cap(CapKind::Window)));
    clock.advance(mins(1)); // 24:00 after the first: it left the window
    assert!(shows(&engine, &view("v")).await);
    assert_eq!(reason(&engine, &view("v")).await, Some(Reason::Cap(CapKind::Window)));
}

#[tokio::test]
async fn per_session_cap() {
    let (engine, clock) = engine(with_caps(Caps::none().with_per_session(2)));
    let s1 = view("v");
    assert!(shows(&engine, &s1).await);
    assert!(shows(&engine, &s1).await);
    assert_eq!(reason(&engine, &s1).await, Some(Reason::Cap(CapKind::Session)));
    clock.advance(mins(5));
    let mut s2 = view("v");
    s2.session_id = "s2".into();
    assert!(shows(&engine, &s2).await, "a new session starts a new count");
}

#[tokio::test]
async fn minimum_interval() {
    let (engine, clock) = engine(with_caps(Caps::none().with_min_interval_secs(30 * 60)));
    assert!(shows(&engine, &view("v")).await);
    clock.advance(mins(29));
    assert_eq!(
        reason(&engine, &view("v")).await,
        Some(Reason::Cap(CapKind::MinInterval))
    );
    clock.advance(mins(1));
    assert!(shows(&engine, &view("v")).await);
}

#[tokio::test]
async fn dismiss_starts_a_seven_day_cooldown() {
    let (engine, clock) = engine(with_caps(Caps::baroque_default()));
    let d = engine.decide(&view("v")).await.unwrap();
    let token = d.showing().unwrap().token.clone();
    engine.record(&token, EventKind::Shown).await.unwrap();
    assert!(shows(&engine, &view("v")).await, "no cool-down before a dismiss");
    clock.advance(mins(1));
    assert!(matches!(
        engine.record(&token, EventKind::Dismissed).await.unwrap(),
        Recorded::New(_)
    ));
    assert!(
        matches!(
            engine.record(&token, EventKind::Dismissed).await.unwrap(),
            Recorded::Duplicate(_)
        ),
        "a second dismiss beacon is not counted again"
    );
    clock.advance(days(7) - mins(1));
    assert_eq!(
        reason(&engine, &view("v")).await,
        Some(Reason::Cap(CapKind::DismissCooldown))
    );
    clock.advance(mins(1));
    assert!(shows(&engine, &view("v")).await);
}

#[tokio::test]
async fn a_reserved_showing_that_was_never_rendered_still_counts() {
    let (engine, clock) = engine(with_caps(Caps::none().with_lifetime(2)));
    // Two decisions whose pages closed before the banner rendered: no `shown`.
    assert!(shows(&engine, &view("v")).await);
    assert!(shows(&engine, &view("v")).await);
    assert_eq!(reason(&engine, &view("v")).await, Some(Reason::Cap(CapKind::Lifetime)));
    let day = engine.day_of(clock.now_ts());
    let r = engine.report(day, day).await.unwrap();
    assert_eq!((r.variants[0].reserved, r.variants[0].impressions), (2, 0));
    assert_eq!(r.variants[0].conversion_rate, None);
}

fn follow_event(user: &str, event_id: &str, unblocked: bool) -> Event {
    let body = serde_json::json!({
        "destination": "Uxxxxxxxx",
        "events": [{
            "type": "follow", "mode": "active", "timestamp": 1777604400000i64,
            "source": {"type": "user", "userId": user},
            "webhookEventId": event_id,
            "deliveryContext": {"isRedelivery": false},
            "replyToken": "r", "follow": {"isUnblocked": unblocked}
        }]
    });
    let cb = webhook::parse(body.to_string().as_bytes()).unwrap();
    cb.events.into_iter().next().unwrap()
}

fn login_config() -> PopupConfig {
    let mut c = campaign("login");
    c.goal = Goal::Login;
    c.caps = Caps::baroque_default();
    let mut cfg = PopupConfig::new("@baroque", vec![c]);
    cfg.login = Some(LoginConfig::new("1650000000", "https://shop.example/line/callback"));
    cfg
}

#[tokio::test]
async fn conversion_through_login_stops_the_popup() {
    let (engine, clock) = engine(login_config());
    let d = engine.decide(&view("v")).await.unwrap();
    let s = d.showing().unwrap();
    let state = s.token.clone();
    assert_eq!(s.click_url, s.login_url.clone().unwrap());
    assert!(s.click_url.ends_with(&format!("&state={state}")), "{}", s.click_url);
    engine.record(&state, EventKind::Shown).await.unwrap();
    engine.record(&state, EventKind::Clicked).await.unwrap();
    // The host's login callback gets `state` back and the user's LINE ID.
    let user = line_core::UserId::new("U4af4980629c0ffee00000000000000aa");
    assert!(engine.bind_line_user(&state, &user).await.unwrap());
    assert!(
        !engine
            .bind_line_user("0123456789abcdef0123456789abcdef", &user)
            .await
            .unwrap(),
        "an unknown state is refused"
    );
    clock.advance(mins(2));
    let conv = engine
        .handle_event(&follow_event(user.as_str(), "01EV1", false))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((conv.kind, conv.duplicate), (EventKind::ConvertedFriend, false));
    assert_eq!(conv.attribution.visitor, "v");
    let again = engine
        .handle_event(&follow_event(user.as_str(), "01EV1", false))
        .await
        .unwrap()
        .unwrap();
    assert!(again.duplicate, "a redelivered follow is not a second conversion");
    assert_eq!(reason(&engine, &view("v")).await, Some(Reason::Cap(CapKind::Converted)));

    let day = engine.day_of(clock.now_ts());
    let report = engine.report(day, day).await.unwrap();
    assert_eq!(report.variants.len(), 1);
    let v = &report.variants[0];
    assert_eq!((v.reserved, v.impressions, v.clicks, v.conversions), (1, 1, 1, 1));
    assert_eq!(v.conversion_rate, Some(1.0));
    assert_eq!(report.new_friends, 1);
    assert_eq!(report.popup_friends, 1);
}

trait NowTs {
    fn now_ts(&self) -> jiff::Timestamp;
}
impl NowTs for line_core::clock::ManualClock {
    fn now_ts(&self) -> jiff::Timestamp {
        line_core::clock::Clock::now(self)
    }
}

#[tokio::test]
async fn conversion_through_account_link() {
    let mut c = campaign("link");
    c.goal = Goal::IdLink;
    c.targeting.audience = Audience::FriendNotLinked;
    c.caps.stop_after_conversion = true;
    let mut cfg = PopupConfig::new("@baroque", vec![c]);
    cfg.id_link_url = Some("https://shop.example/account/line?from=web".into());
    let (engine, _clock) = engine(cfg);
    let friend = view("v").with_line(LineStatus::Friend);
    let d = engine.decide(&friend).await.unwrap();
    let s = d.showing().unwrap();
    let url = url::Url::parse(&s.click_url).unwrap();
    let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(q["from"], "web");
    assert_eq!(q["utm_campaign"], "link");
    assert_eq!(q["utm_content"], "a");
    assert_eq!(q["popup_token"], s.token);
    // The host starts the account link and tells the engine its nonce.
    assert!(engine.bind_link_nonce(&s.token, "nonce-123456").await.unwrap());
    let body = serde_json::json!({"destination": "U1", "events": [{
        "type": "accountLink", "mode": "active", "timestamp": 1777604400000i64,
        "source": {"type": "user", "userId": "U1"}, "webhookEventId": "01EV2",
        "deliveryContext": {"isRedelivery": false}, "replyToken": "r",
        "link": {"result": "ok", "nonce": "nonce-123456"}}]});
    let ev = webhook::parse(body.to_string().as_bytes()).unwrap().events.remove(0);
    let conv = engine.handle_event(&ev).await.unwrap().unwrap();
    assert_eq!(conv.kind, EventKind::ConvertedLink);
    assert_eq!(reason(&engine, &friend).await, Some(Reason::Cap(CapKind::Converted)));
    assert_eq!(
        reason(&engine, &view("v").with_line(LineStatus::Linked)).await,
        Some(Reason::Audience)
    );
}

#[tokio::test]
async fn share_of_new_friends_through_popups() {
    let (engine, clock) = engine(login_config());
    for i in 0..4 {
        engine
            .handle_event(&follow_event(&format!("Uorganic{i}"), &format!("01ORG{i}"), false))
            .await
            .unwrap();
    }
    engine
        .handle_event(&follow_event("Uunblock", "01UNB", true))
        .await
        .unwrap();
    engine
        .handle_event(&follow_event("Uorganic0", "01ORG0", false))
        .await
        .unwrap(); // redelivery
    let s = engine.decide(&view("v")).await.unwrap().showing().unwrap().clone();
    engine.record(&s.token, EventKind::Shown).await.unwrap();
    engine
        .bind_line_user(&s.token, &line_core::UserId::new("Upopup"))
        .await
        .unwrap();
    assert!(engine
        .handle_event(&follow_event("Upopup", "01POP", false))
        .await
        .unwrap()
        .is_some());
    let day = engine.day_of(clock.now_ts());
    let r = engine.report(day, day).await.unwrap();
    assert_eq!(
        r.new_friends, 5,
        "4 organic + 1 popup; unblock and redelivery not counted"
    );
    assert_eq!(r.popup_friends, 1);
    assert_eq!(r.popup_share, Some(0.2));
    let other = engine
        .report(day.tomorrow().unwrap(), day.tomorrow().unwrap())
        .await
        .unwrap();
    assert_eq!(other.new_friends, 0);
    assert_eq!(other.popup_share, None);
}

#[tokio::test]
async fn stop_after_conversion_off_keeps_showing() {
    let mut cfg = login_config();
    cfg.campaigns[0].caps.stop_after_conversion = false;
    let (engine, _clock) = engine(cfg);
    let s = engine.decide(&view("v")).await.unwrap().showing().unwrap().clone();
    engine
        .bind_line_user(&s.token, &line_core::UserId::new("U9"))
        .await
        .unwrap();
    engine
        .handle_event(&follow_event("U9", "01E9", false))
        .await
        .unwrap()
        .unwrap();
    assert!(shows(&engine, &view("v")).await);
}

#[tokio::test]
async fn at_most_one_popup_per_page_view_and_n_per_day() {
    let mut a = campaign("high");
    a.priority = 10;
    let mut b = campaign("low");
    b.priority = 1;
    a.caps.lifetime = Some(1);
    let mut cfg = PopupConfig::new("@baroque", vec![b, a]);
    cfg.max_per_day = Some(2);
    let (engine, clock) = engine(cfg);
    let d = engine.decide(&view("v")).await.unwrap();
    let s = d.showing().unwrap();
    assert_eq!(&*s.campaign, "high", "priority decides");
    assert_eq!(s.passed_over.len(), 1);
    assert_eq!(s.passed_over[0].reason, Reason::OnePerPageView);
    let d = engine.decide(&view("v")).await.unwrap();
    let s = d.showing().unwrap();
    assert_eq!(&*s.campaign, "low", "the capped campaign falls through");
    assert_eq!(s.passed_over[0].reason, Reason::Cap(CapKind::Lifetime));
    match engine.decide(&view("v")).await.unwrap() {
        Decision::Hide { blocked } => {
            assert_eq!(blocked.len(), 2);
            assert_eq!(blocked[0].reason, Reason::Cap(CapKind::Lifetime));
            assert_eq!(blocked[1].reason, Reason::Cap(CapKind::Daily));
        }
        d => panic!("expected nothing, got {d:?}"),
    }
    // The day is Tokyo's: 12:00 JST + 12h = midnight, a new day.
    clock.advance(mins(11 * 60 + 59));
    assert_eq!(reason(&engine, &view("v")).await, Some(Reason::Cap(CapKind::Lifetime)));
    clock.advance(mins(1));
    assert!(shows(&engine, &view("v")).await);
}

#[tokio::test]
async fn schedule_start_end_days_and_hours_in_tokyo() {
    let mut c = campaign("weekend");
    c.schedule.start = Some("2026-05-01T00:00:00+09:00".parse::<jiff::Timestamp>().unwrap());
    c.schedule.end = Some("2026-06-01T00:00:00+09:00".parse::<jiff::Timestamp>().unwrap());
    c.schedule.days = vec![Day::Sat, Day::Sun];
    c.schedule.hours = Some(Hours::new(10, 22));
    let (engine, clock) = engine(PopupConfig::new("@baroque", vec![c]));
    let at = |s: &str| clock.set(s.parse::<jiff::Zoned>().unwrap().timestamp());
    at("2026-04-30T23:59:59+09:00[Asia/Tokyo]");
    assert_eq!(reason(&engine, &view("v")).await, Some(Reason::Schedule));
    at("2026-05-01T12:00:00+09:00[Asia/Tokyo]"); // Friday
    assert_eq!(reason(&engine, &view("v")).await, Some(Reason::Hours));
    at("2026-05-02T09:59:00+09:00[Asia/Tokyo]"); // Saturday, before 10
    assert_eq!(reason(&engine, &view("v")).await, Some(Reason::Hours));
    at("2026-05-02T10:00:00+09:00[Asia/Tokyo]");
    assert!(shows(&engine, &view("v")).await);
    at("2026-05-03T21:59:00+09:00[Asia/Tokyo]"); // Sunday
    assert!(shows(&engine, &view("v")).await);
    at("2026-05-03T22:00:00+09:00[Asia/Tokyo]");
    assert_eq!(reason(&engine, &view("v")).await, Some(Reason::Hours));
    at("2026-06-06T12:00:00+09:00[Asia/Tokyo]"); // a Saturday after the end
    assert_eq!(reason(&engine, &view("v")).await, Some(Reason::Schedule));
}

#[tokio::test]
async fn audience_pages_and_devices() {
    let mut c = campaign("pages");
    c.targeting.include = vec!["/products/**".into(), "/".into()];
    c.targeting.exclude = vec!["/products/*/reviews".into()];
    c.targeting.devices = vec![Device::Mobile, Device::Tablet];
    let (engine, _clock) = engine(PopupConfig::new("@baroque", vec![c]));
    let at = |path: &str, device: Device, line: LineStatus| {
        VisitorContext::new(
            format!("v{path}{device:?}{line:?}").replace('/', "_"),
            "s",
            path,
            device,
        )
        .with_line(line)
    };
    assert!(shows(&engine, &at("/", Device::Mobile, LineStatus::Unknown)).await);
    assert!(shows(&engine, &at("/products/42", Device::Tablet, LineStatus::NotFriend)).await);
    assert!(shows(&engine, &at("/products/a/b/c", Device::Mobile, LineStatus::Unknown)).await);
    assert_eq!(
        reason(&engine, &at("/cart", Device::Mobile, LineStatus::Unknown)).await,
        Some(Reason::Page)
    );
    assert_eq!(
        reason(
            &engine,
            &at("/products/42/reviews", Device::Mobile, LineStatus::Unknown)
        )
        .await,
        Some(Reason::Page)
    );
    assert_eq!(
        reason(&engine, &at("/products/42", Device::Desktop, LineStatus::Unknown)).await,
        Some(Reason::Device)
    );
    assert_eq!(
        reason(&engine, &at("/products/42", Device::Mobile, LineStatus::Friend)).await,
        Some(Reason::Audience)
    );
    assert_eq!(
        reason(&engine, &at("/products/42", Device::Mobile, LineStatus::Linked)).await,
        Some(Reason::Audience)
    );
}

#[tokio::test]
async fn anyone_audience_and_friend_not_linked() {
    let mut any = campaign("any");
    any.targeting.audience = Audience::Anyone;
    let mut fnl = campaign("fnl");
    fnl.targeting.audience = Audience::FriendNotLinked;
    fnl.priority = 5;
    let (engine, _clock) = engine(PopupConfig::new("@baroque", vec![any, fnl]));
    let engine = &engine;
    let pick = |line| async move {
        let ctx = view(&format!("{line:?}")).with_line(line);
        engine
            .decide(&ctx)
            .await
            .unwrap()
            .showing()
            .map(|s| s.campaign.to_string())
    };
    assert_eq!(pick(LineStatus::Friend).await.as_deref(), Some("fnl"));
    assert_eq!(pick(LineStatus::Linked).await.as_deref(), Some("any"));
    assert_eq!(pick(LineStatus::Unknown).await.as_deref(), Some("any"));
}

#[tokio::test]
async fn segment_targeting() {
    let mut c = campaign("vip");
    c.targeting.segment = Some("vips".into());
    let clock = line_core::clock::ManualClock::new(start());
    let engine = line_popup::PopupEngine::builder(
        PopupConfig::new("@baroque", vec![c.clone()]),
        Arc::new(line_popup::InMemoryStore::new()),
        Arc::new(clock),
    )
    .segment("vips", Arc::new(line_popup::segment::VisitorSet::new(["alice"])))
    .build()
    .unwrap();
    assert!(shows(&engine, &view("alice")).await);
    assert_eq!(reason(&engine, &view("bob")).await, Some(Reason::Segment));
    let err = line_popup::PopupEngine::builder(
        PopupConfig::new("@baroque", vec![c]),
        Arc::new(line_popup::InMemoryStore::new()),
        Arc::new(line_core::clock::SystemClock),
    )
    .build()
    .unwrap_err();
    assert_eq!(
        err.kind(),
        &ErrorKind::Config {
            pointer: "/campaigns/0/targeting/segment".into(),
            reason: "no segment named \"vips\" is registered".into()
        }
    );
}

#[tokio::test]
async fn urls() {
    let mut cfg = login_config();
    cfg.campaigns[0].goal = Goal::AddFriend;
    cfg.id_link_url = Some("https://shop.example/link".into());
    let (engine, _clock) = engine(cfg);
    let d = engine.decide(&view("v")).await.unwrap();
    let s = d.showing().unwrap();
    assert_eq!(&*s.add_friend_url, "https://line.me/R/ti/p/%40baroque");
    assert_eq!(s.click_url, "https://line.me/R/ti/p/%40baroque");
    let login = url::Url::parse(s.login_url.as_ref().unwrap()).unwrap();
    assert_eq!(login.host_str(), Some("access.line.me"));
    assert_eq!(login.path(), "/oauth2/v2.1/authorize");
    let q: std::collections::HashMap<_, _> = login.query_pairs().into_owned().collect();
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["client_id"], "1650000000");
    assert_eq!(q["redirect_uri"], "https://shop.example/line/callback");
    assert_eq!(q["bot_prompt"], "aggressive");
    assert_eq!(q["scope"], "profile openid");
    assert_eq!(q["state"], s.token);
    assert!(login.as_str().contains("scope=profile%20openid"), "{login}");
    assert!(s
        .id_link_url
        .as_ref()
        .unwrap()
        .starts_with("https://shop.example/link?utm_source=line_popup"));
}

#[tokio::test]
async fn bad_input_is_a_typed_error_naming_the_field() {
    let (engine, _clock) = engine(with_caps(Caps::default()));
    let mut ctx = view("v");
    ctx.path = "products".into();
    let e = engine.decide(&ctx).await.unwrap_err();
    assert_eq!(
        e.kind(),
        &ErrorKind::InvalidInput {
            field: "path".into(),
            reason: "must start with '/'".into()
        }
    );
    let e = engine.decide(&view("")).await.unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::InvalidInput { field, .. } if field == "visitor_id"));
    let e = engine.decide(&view(&"x".repeat(200))).await.unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::InvalidInput { field, .. } if field == "visitor_id"));
    let e = engine.record("not-a-token", EventKind::Shown).await.unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::InvalidInput { field, .. } if field == "token"));
    let e = engine
        .record("0123456789abcdef0123456789abcdef", EventKind::Shown)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("unknown or expired"), "{e}");
    let d = engine.day_of(start());
    let e = engine.report(d, d.yesterday().unwrap()).await.unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::InvalidInput { field, .. } if field == "to"));
}

#[test]
fn bad_configuration_names_the_json_pointer() {
    let cases: Vec<(serde_json::Value, &str)> = vec![
        (serde_json::json!({"basic_id": "@", "campaigns": []}), "/basic_id"),
        (
            serde_json::json!({"basic_id": "@b", "time_zone": "Mars/Olympus", "campaigns": []}),
            "/time_zone",
        ),
        (
            serde_json::json!({"basic_id": "@b", "campaigns": [{"id": "a b", "banners": [{"id": "x"}]}]}),
            "/campaigns/0/id",
        ),
        (
            serde_json::json!({"basic_id": "@b", "campaigns": [{"id": "a", "banners": []}]}),
            "/campaigns/0/banners",
        ),
        (
            serde_json::json!({"basic_id": "@b", "campaigns": [{"id": "a", "banners": [{"id": "x"}, {"id": "y", "weight": 0}]}]}),
            "/campaigns/0/banners/1/weight",
        ),
        (
            serde_json::json!({"basic_id": "@b", "campaigns": [{"id": "a", "banners": [{"id": "x"}]}, {"id": "a", "banners": [{"id": "x"}]}]}),
            "/campaigns/1/id",
        ),
        (
            serde_json::json!({"basic_id": "@b", "campaigns": [{"id": "a", "banners": [{"id": "x"}], "targeting": {"include": ["/ok", "/[bad"]}}]}),
            "/campaigns/0/targeting/include/1",
        ),
        (
            serde_json::json!({"basic_id": "@b", "campaigns": [{"id": "a", "banners": [{"id": "x"}], "schedule": {"hours": {"from": 25, "to": 3}}}]}),
            "/campaigns/0/schedule/hours/from",
        ),
        (
            serde_json::json!({"basic_id": "@b", "campaigns": [{"id": "a", "banners": [{"id": "x"}], "schedule": {"start": "2026-05-02T00:00:00Z", "end": "2026-05-01T00:00:00Z"}}]}),
            "/campaigns/0/schedule/end",
        ),
        (
            serde_json::json!({"basic_id": "@b", "campaigns": [{"id": "a", "banners": [{"id": "x"}], "caps": {"lifetime": 0}}]}),
            "/campaigns/0/caps/lifetime",
        ),
        (
            serde_json::json!({"basic_id": "@b", "campaigns": [{"id": "a", "banners": [{"id": "x"}], "caps": {"window": {"max": 1, "secs": 0}}}]}),
            "/campaigns/0/caps/window/secs",
        ),
        (
            serde_json::json!({"basic_id": "@b", "campaigns": [{"id": "a", "goal": "login", "banners": [{"id": "x"}]}]}),
            "/campaigns/0/goal",
        ),
        (
            serde_json::json!({"basic_id": "@b", "id_link_url": "ftp://x", "campaigns": []}),
            "/id_link_url",
        ),
        (
            serde_json::json!({"basic_id": "@b", "login": {"channel_id": "abc", "redirect_uri": "https://x"}, "campaigns": []}),
            "/login/channel_id",
        ),
        (
            serde_json::json!({"basic_id": "@b", "campaigns": [{"id": "a", "banners": [{"id": "x"}], "targeting": {"audience": "everyone"}}]}),
            "/campaigns/0/targeting/audience",
        ),
    ];
    for (json, pointer) in cases {
        let err = PopupConfig::from_json(json.to_string().as_bytes()).and_then(|cfg| {
            line_popup::PopupEngine::builder(
                cfg,
                Arc::new(line_popup::InMemoryStore::new()),
                Arc::new(line_core::clock::SystemClock),
            )
            .build()
            .map(|_| ())
        });
        match err {
            Err(e) => match e.kind() {
                ErrorKind::Config { pointer: p, .. } => assert_eq!(p, pointer, "{json}: {e}"),
                k => panic!("{json}: unexpected {k:?}"),
            },
            Ok(()) => panic!("{json} was accepted"),
        }
    }
}

#[derive(Debug)]
struct BrokenStore;

#[async_trait::async_trait]
impl line_popup::PopupStore for BrokenStore {
    async fn reserve(
        &self,
        _: &line_popup::store::ReserveRequest<'_>,
    ) -> Result<line_popup::store::ReserveOutcome, line_popup::Error> {
        Err(line_popup::Error::store(
            "reserve",
            std::io::Error::other("connection refused"),
        ))
    }
    async fn record(&self, _: &str, _: EventKind, _: jiff::Timestamp, _: &str) -> Result<Recorded, line_popup::Error> {
        Err(line_popup::Error::store(
            "record",
            std::io::Error::other("connection refused"),
        ))
    }
    async fn bind(&self, _: &str, _: &str, _: jiff::Timestamp, _: u64) -> Result<bool, line_popup::Error> {
        Err(line_popup::Error::store(
            "bind",
            std::io::Error::other("connection refused"),
        ))
    }
    async fn resolve(&self, _: &str, _: jiff::Timestamp) -> Result<Option<String>, line_popup::Error> {
        Err(line_popup::Error::store(
            "resolve",
            std::io::Error::other("connection refused"),
        ))
    }
    async fn count_new_friend(&self, _: Option<&str>, _: &str) -> Result<bool, line_popup::Error> {
        Err(line_popup::Error::store("count_new_friend", std::io::Error::other("x")))
    }
    async fn stats(&self, _: &[String]) -> Result<line_popup::store::Stats, line_popup::Error> {
        Err(line_popup::Error::store("stats", std::io::Error::other("x")))
    }
}

/// A store that answers with a candidate index it was never given.
#[derive(Debug)]
struct LyingStore;

#[async_trait::async_trait]
impl line_popup::PopupStore for LyingStore {
    async fn reserve(
        &self,
        _: &line_popup::store::ReserveRequest<'_>,
    ) -> Result<line_popup::store::ReserveOutcome, line_popup::Error> {
        Ok(line_popup::store::ReserveOutcome::Reserved {
            index: 7,
            skipped: vec![CapKind::Lifetime; 7],
        })
    }
    async fn record(&self, _: &str, _: EventKind, _: jiff::Timestamp, _: &str) -> Result<Recorded, line_popup::Error> {
        Ok(Recorded::UnknownToken)
    }
    async fn bind(&self, _: &str, _: &str, _: jiff::Timestamp, _: u64) -> Result<bool, line_popup::Error> {
        Ok(false)
    }
    async fn resolve(&self, _: &str, _: jiff::Timestamp) -> Result<Option<String>, line_popup::Error> {
        Ok(None)
    }
    async fn count_new_friend(&self, _: Option<&str>, _: &str) -> Result<bool, line_popup::Error> {
        Ok(false)
    }
    async fn stats(&self, _: &[String]) -> Result<line_popup::store::Stats, line_popup::Error> {
        Ok(Default::default())
    }
}

#[tokio::test]
async fn a_failing_store_fails_closed_with_a_typed_error() {
    let (engine, _clock) = engine_with(with_caps(Caps::baroque_default()), Arc::new(BrokenStore));
    let e = engine.decide(&view("v")).await.unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::Store { operation: "reserve" });
    assert_eq!(e.to_string(), "popup store failed during reserve");
    let e = engine
        .handle_event(&follow_event("U1", "01X", false))
        .await
        .unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Store { .. }));

    let (engine, _clock) = engine_with(with_caps(Caps::baroque_default()), Arc::new(LyingStore));
    let e = engine.decide(&view("v")).await.unwrap_err();
    assert_eq!(
        e.kind(),
        &ErrorKind::Store { operation: "reserve" },
        "an impossible answer shows nothing"
    );
}

#[tokio::test]
async fn decisions_serialize_for_the_browser() {
    let (engine, _clock) = engine(with_caps(Caps::none().with_lifetime(1)));
    let shown = serde_json::to_value(engine.decide(&view("v")).await.unwrap()).unwrap();
    assert_eq!(shown["decision"], "show");
    assert_eq!(shown["banner"]["title"], "Add us on LINE");
    let hidden = serde_json::to_value(engine.decide(&view("v")).await.unwrap()).unwrap();
    assert_eq!(
        hidden,
        serde_json::json!({"decision": "hide", "blocked": [{"campaign": "popup", "reason": {"rule": "cap", "cap": "lifetime"}}]})
    );
}

#[test]
fn banner_weights_in_code() {
    let b = Banner::new("x", "t").with_weight(3);
    assert_eq!(b.weight, 3);
}
