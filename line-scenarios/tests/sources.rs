//! Friend sources: the registry and its checks, the per-source follow trigger in JSON and in
//! validation, the conformance suite on the in-memory store, and an end-to-end run against the
//! emulator where two users come from two stores' QR codes and a third from nowhere.

use std::sync::Arc;

use jiff::SignedDuration;
use line_core::clock::{Clock, ManualClock};
use line_core::ids::UserId;
use line_emulator::{Emulator, EmulatorConfig, UserSpec};
use line_scenarios::model::{FollowSource, Trigger};
use line_scenarios::profiles::{InMemoryProfiles, TAGS};
use line_scenarios::sender::RecordingSender;
use line_scenarios::sources::{Entry, InMemorySources, Source, SourceRegistry, Sources, TOKEN_PARAM};
use line_scenarios::validate::{validate, Options};
use line_scenarios::{json, Engine, ErrorKind};
use line_segments::profile::{Event, Value};

const LIFF: &str = "https://liff.line.me/1650000000-AbCdEfGh";

/// The per-store greetings and the default one, as scenarios.
const GREETINGS: &str = r#"[
  {"id": "greet_shibuya", "trigger": {"follow": {"source": "store_shibuya"}},
   "steps": [{"id": "hello", "send": {"messages": [{"type": "text", "text": "Welcome from the Shibuya store! Show this for 10% off."}]}}]},
  {"id": "greet_shinjuku", "trigger": {"follow": {"source": "store_shinjuku"}},
   "steps": [{"id": "hello", "send": {"messages": [{"type": "text", "text": "Welcome from the Shinjuku store!"}]}}]},
  {"id": "greet_default", "trigger": {"follow": {"source": "none"}},
   "steps": [{"id": "hello", "send": {"messages": [{"type": "text", "text": "Thanks for adding us!"}]}}]}
]"#;

fn registry() -> SourceRegistry {
    SourceRegistry::builder("@shop", "https://shop.example/s")
        .entry(Entry::Liff(LIFF.into()))
        .source(Source::new("store_shibuya", "Shibuya store"))
        .source(Source::new("store_shinjuku", "Shinjuku store").tag("store:shinjuku"))
        .source(Source::new("flyer_may", "May flyer"))
        .goal(line_scenarios::model::Goal::event("purchase", Some("amount")))
        .build()
        .unwrap()
}

#[test]
fn the_registry_checks_codes_urls_and_durations() {
    let r = registry();
    assert_eq!(
        r.tracked_url("store_shibuya").unwrap(),
        "https://shop.example/s/store_shibuya"
    );
    assert_eq!(r.qr_text("flyer_may").unwrap(), "https://shop.example/s/flyer_may");
    assert_eq!(r.add_friend_url(), "https://line.me/R/ti/p/%40shop");
    let err = r.tracked_url("store_osaka").unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::UnknownSource { code } if code == "store_osaka"));

    let field = |b: line_scenarios::sources::SourceRegistryBuilder| match b.build().unwrap_err().kind() {
        ErrorKind::Config { field, .. } => field.clone(),
        other => panic!("expected a config error, got {other:?}"),
    };
    let base = || SourceRegistry::builder("@shop", "https://shop.example/s");
    assert_eq!(field(base().source(Source::new("Shop", "x"))), "sources/0/code");
    assert_eq!(field(base().source(Source::new("none", "x"))), "sources/0/code");
    assert_eq!(
        field(base().source(Source::new("a", "x")).source(Source::new("a", "y"))),
        "sources/1/code"
    );
    assert_eq!(field(base().source(Source::new("a", "x").tag(" "))), "sources/0/tag");
    assert_eq!(
        field(SourceRegistry::builder("@", "https://shop.example/s")),
        "basic_id"
    );
    assert_eq!(
        field(SourceRegistry::builder("@shop", "http://shop.example/s")),
        "base_url"
    );
    assert_eq!(
        field(SourceRegistry::builder("@shop", "https://shop.example/s?x=1")),
        "base_url"
    );
    assert_eq!(field(SourceRegistry::builder("@shop", "not a url")), "base_url");
    assert_eq!(field(base().entry(Entry::Liff("javascript:alert(1)".into()))), "entry");
    assert_eq!(field(base().token_ttl(SignedDuration::ZERO)), "token_ttl");
    assert_eq!(field(base().follow_ttl(SignedDuration::from_secs(-1))), "follow_ttl");
}

#[test]
fn the_follow_source_trigger_parses_prints_and_validates() {
    let all = json::many_from_str(GREETINGS).unwrap();
    assert_eq!(
        all[0].trigger,
        Trigger::Follow {
            source: Some(FollowSource::Code("store_shibuya".into()))
        }
    );
    assert_eq!(
        all[2].trigger,
        Trigger::Follow {
            source: Some(FollowSource::NoSource)
        }
    );
    for s in &all {
        assert!(validate(s, &Options::default()).is_empty());
        assert_eq!(&json::from_value(&json::to_value(s)).unwrap(), s, "round trip");
    }
    // The Rust builder gives the same per-store greeting.
    let built = line_scenarios::builder::ScenarioBuilder::new("greet_shinjuku")
        .trigger(Trigger::Follow {
            source: Some(FollowSource::Code("store_shinjuku".into())),
        })
        .step(line_scenarios::builder::steps::send(
            "hello",
            line_scenarios::model::Send::messages(vec![line_core::model::TextMessage::new(
                "Welcome from the Shinjuku store!",
            )
            .into()]),
        ))
        .build();
    assert_eq!(built, all[1]);
    let any =
        json::from_str(r#"{"id": "x", "trigger": {"follow": {"source": "any"}}, "steps": [{"id": "e", "exit": {}}]}"#)
            .unwrap();
    assert_eq!(json::to_value(&any)["trigger"]["follow"]["source"], "any");
    let plain =
        json::from_str(r#"{"id": "x", "trigger": {"follow": {}}, "steps": [{"id": "e", "exit": {}}]}"#).unwrap();
    assert_eq!(json::to_value(&plain)["trigger"], serde_json::json!({"follow": {}}));

    let err = json::from_str(
        r#"{"id": "x", "trigger": {"follow": {"source": "Store/1"}}, "steps": [{"id": "e", "exit": {}}]}"#,
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("invalid scenario at /trigger/follow/source: invalid source code"),
        "{err}"
    );
    let err =
        json::from_str(r#"{"id": "x", "trigger": {"follow": {"from": "a"}}, "steps": [{"id": "e", "exit": {}}]}"#)
            .unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Json { pointer, .. } if pointer.starts_with("/trigger/follow")));

    // A scenario built in Rust with a malformed code is caught by validation.
    let built = line_scenarios::builder::ScenarioBuilder::new("x")
        .trigger(Trigger::Follow {
            source: Some(FollowSource::Code("Not OK".into())),
        })
        .step(line_scenarios::model::Step::new(
            "e",
            line_scenarios::model::StepKind::Exit,
        ))
        .build();
    let problems = validate(&built, &Options::default());
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].pointer, "/trigger/follow/source");
}

#[tokio::test]
async fn an_engine_needs_the_sources_its_scenarios_name() {
    let greetings = json::many_from_str(GREETINGS).unwrap();
    let build = |sources: Option<Sources>| {
        let store = Arc::new(line_scenarios::memory::InMemoryStore::new());
        let mut b = Engine::builder(greetings.clone())
            .state(store.clone())
            .scheduler(store)
            .profiles(Arc::new(InMemoryProfiles::new()))
            .sender(Arc::new(RecordingSender::new()));
        if let Some(s) = sources {
            b = b.sources(s);
        }
        b.build()
    };
    let err = build(None).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Config { field, .. } if field == "sources"));
    let only_shibuya = SourceRegistry::builder("@shop", "https://shop.example/s")
        .source(Source::new("store_shibuya", "Shibuya store"))
        .build()
        .unwrap();
    let err = build(Some(Sources::new(only_shibuya, Arc::new(InMemorySources::new())))).unwrap_err();
    assert!(err.to_string().contains("store_shinjuku"), "{err}");
    assert!(build(Some(Sources::new(registry(), Arc::new(InMemorySources::new())))).is_ok());
}

#[tokio::test]
async fn the_in_memory_store_passes_the_conformance_suite() {
    line_scenarios::testing::source_store_conformance(
        std::sync::Arc::new(InMemorySources::new()),
        &line_core::clock::ManualClock::new(jiff::Timestamp::UNIX_EPOCH),
    )
    .await;
}

#[tokio::test]
async fn tokens_and_bindings_expire_and_bad_input_is_typed() {
    let clock = ManualClock::new("2026-05-15T01:00:00Z".parse().unwrap());
    let sources = Sources::new(registry(), Arc::new(InMemorySources::new())).with_clock(Arc::new(clock.clone()));
    let aoi = UserId::new("U1");

    let visit = sources.visit("store_shibuya").await.unwrap();
    assert_eq!(visit.redirect, format!("{LIFF}?{TOKEN_PARAM}={}", visit.token));
    assert_eq!(visit.token.len(), 32);
    let err = sources.visit("store_osaka").await.unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::UnknownSource { .. }));
    let err = sources.bind("../../etc", &aoi).await.unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::InvalidInput { field, .. } if field == TOKEN_PARAM));
    assert_eq!(
        sources.bind(&"0".repeat(32), &aoi).await.unwrap(),
        None,
        "unknown token"
    );

    // The token lives an hour: bound after 61 minutes, it matches nothing.
    clock.advance(SignedDuration::from_mins(61));
    assert_eq!(sources.bind(&visit.token, &aoi).await.unwrap(), None);
    assert_eq!(sources.on_follow(&aoi, Some("e1")).await.unwrap(), None);

    // Bound in time, but the follow comes after the binding's hour: no source.
    let visit = sources.visit("store_shibuya").await.unwrap();
    let bound = sources.bind(&visit.token, &aoi).await.unwrap().unwrap();
    assert_eq!(bound.code, "store_shibuya");
    clock.advance(SignedDuration::from_mins(61));
    assert_eq!(sources.on_follow(&aoi, Some("e2")).await.unwrap(), None);
    let c = sources.counts("store_shibuya").await.unwrap();
    assert_eq!((c.visits, c.friends), (2, 0));
}

async fn http_get(addr: std::net::SocketAddr, path: &str) -> (u16, Option<String>) {
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: shop.example\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).unwrap();
        let status = text[9..12].parse().unwrap();
        let location = text
            .lines()
            .take_while(|l| !l.is_empty())
            .find_map(|l| l.strip_prefix("location: ").map(str::to_owned));
        (status, location)
    })
    .await
    .unwrap()
}

async fn deliver(engine: &Engine, delivery: line_emulator::WebhookDelivery) {
    let body = serde_json::json!({"destination": "Ubot", "events": delivery.events});
    let req = line_core::webhook::parse(body.to_string().as_bytes()).unwrap();
    for e in &req.events {
        engine.on_webhook(e).await.unwrap();
    }
}

fn texts(emu: &Emulator, user: &UserId) -> Vec<String> {
    emu.messages(user)
        .iter()
        .map(|m| {
            serde_json::to_value(&*m.message).unwrap()["text"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stores_and_nowhere_get_their_greetings_and_exact_counts() {
    let clock = ManualClock::new("2026-05-15T01:00:00Z".parse().unwrap());
    let emu = Emulator::start_with(EmulatorConfig::new().clock(Arc::new(clock.clone())))
        .await
        .unwrap();
    let aoi = emu.add_user(UserSpec::new("Aoi").friend(false));
    let ren = emu.add_user(UserSpec::new("Ren").friend(false));
    let mei = emu.add_user(UserSpec::new("Mei").friend(false));

    let source_store = Arc::new(InMemorySources::new());
    let sources = Sources::new(registry(), source_store.clone()).with_clock(Arc::new(clock.clone()));
    let profiles = Arc::new(InMemoryProfiles::new());
    let store = Arc::new(line_scenarios::memory::InMemoryStore::new());
    let engine = Engine::builder(json::many_from_str(GREETINGS).unwrap())
        .state(store.clone())
        .scheduler(store)
        .profiles(profiles.clone())
        .sender(Arc::new(emu.client_builder().build().unwrap()))
        .sources(sources.clone())
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap();

    // The host serves the tracked URLs under /s.
    let app = axum::Router::new().nest("/s", line_scenarios::sources::router(sources.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    // Forged codes: 404 and no redirect anywhere.
    for forged in [
        "/s/store_osaka",
        "/s/Store_Shibuya",
        "/s/https:%2F%2Fevil.example",
        "/s/%2F%2Fevil.example",
        "/s/none",
    ] {
        let (status, location) = http_get(addr, forged).await;
        assert_eq!((status, location), (404, None), "{forged}");
    }

    // Aoi scans the Shibuya store's QR code, Ren the Shinjuku one; someone else scans the
    // Shibuya code and never adds the account.
    let visit = |code: &'static str| async move {
        let (status, location) = http_get(addr, &format!("/s/{code}")).await;
        assert_eq!(status, 303);
        let location = location.unwrap();
        let token = location
            .strip_prefix(&format!("{LIFF}?{TOKEN_PARAM}="))
            .unwrap_or_else(|| panic!("redirect to the LIFF app, got {location}"))
            .to_owned();
        token
    };
    let aoi_token = visit("store_shibuya").await;
    let ren_token = visit("store_shinjuku").await;
    let _ = visit("store_shibuya").await;

    // The LIFF app posts the verified user to the host, which binds it; then the user adds the
    // account (the emulator sends the follow webhook, which the host hands to the engine).
    assert_eq!(
        sources.bind(&aoi_token, &aoi).await.unwrap().unwrap().code,
        "store_shibuya"
    );
    clock.advance(SignedDuration::from_secs(20));
    deliver(&engine, emu.follow(&aoi).await.unwrap()).await;
    assert_eq!(
        sources.bind(&ren_token, &ren).await.unwrap().unwrap().code,
        "store_shinjuku"
    );
    deliver(&engine, emu.follow(&ren).await.unwrap()).await;
    // Mei finds the account by search: no tracked link.
    deliver(&engine, emu.follow(&mei).await.unwrap()).await;

    assert_eq!(
        texts(&emu, &aoi),
        ["Welcome from the Shibuya store! Show this for 10% off."]
    );
    assert_eq!(texts(&emu, &ren), ["Welcome from the Shinjuku store!"]);
    assert_eq!(texts(&emu, &mei), ["Thanks for adding us!"]);

    // Tagged through the profile store.
    let tags = |u: &UserId| profiles.get(u).and_then(|p| p.attributes.get(TAGS).cloned());
    assert_eq!(tags(&aoi), Some(Value::Set(vec!["source:store_shibuya".into()])));
    assert_eq!(tags(&ren), Some(Value::Set(vec!["store:shinjuku".into()])));
    assert_eq!(tags(&mei), None);

    // Ren blocks; Aoi and Mei buy; LINE redelivers Aoi's follow (the store counts it once).
    deliver(&engine, emu.unfollow(&ren).await.unwrap()).await;
    clock.advance(SignedDuration::from_hours(2));
    let purchase = |amount: f64| Event::new("purchase", clock.now()).with("amount", Value::Num(amount));
    engine.on_event(&aoi, &purchase(4800.0)).await.unwrap();
    engine.on_event(&aoi, &purchase(4800.0)).await.unwrap(); // the same event again
    clock.advance(SignedDuration::from_mins(1));
    engine.on_event(&aoi, &purchase(1200.0)).await.unwrap();
    engine.on_event(&mei, &purchase(9900.0)).await.unwrap();
    engine
        .on_event(&aoi, &Event::new("cart_updated", clock.now()))
        .await
        .unwrap();
    let again = sources.on_follow(&aoi, None).await.unwrap();
    assert_eq!(again, None, "the binding was used by the first follow");

    let report = sources.report().await.unwrap();
    let row = |code: &str| {
        let r = report.iter().find(|r| r.source.code == code).unwrap();
        let c = r.counts;
        (c.visits, c.friends, c.blocks, c.conversions, c.revenue)
    };
    assert_eq!(row("store_shibuya"), (2, 1, 0, 2, 6000.0));
    assert_eq!(row("store_shinjuku"), (1, 1, 1, 0, 0.0));
    assert_eq!(row("flyer_may"), (0, 0, 0, 0, 0.0));
    assert_eq!(sources.source_of(&mei).await.unwrap(), None);
    let table = line_scenarios::sources::render_table(&report);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 4, "{table}");
    assert!(lines[0].starts_with("source "), "{table}");
    assert!(
        lines[1].starts_with("store_shibuya   Shibuya store") && lines[1].ends_with("¥6,000          50.0%"),
        "{table}"
    );
    assert!(lines[3].ends_with("¥0              -"), "{table}");
    assert_eq!(emu.delivered_count(), 3, "one greeting each, nothing more");
}

/// A store that fails every call.
struct Down;

#[async_trait::async_trait]
impl line_scenarios::sources::SourceStore for Down {
    async fn visit(&self, _: &str, _: &str, _: jiff::Timestamp) -> line_scenarios::Result<()> {
        Err(line_scenarios::Error::store("visit", "database is down"))
    }
    async fn bind(
        &self,
        _: &str,
        _: &UserId,
        _: jiff::Timestamp,
        _: jiff::Timestamp,
    ) -> line_scenarios::Result<Option<String>> {
        Err(line_scenarios::Error::store("bind", "database is down"))
    }
    async fn follow(&self, _: &UserId, _: Option<&str>, _: jiff::Timestamp) -> line_scenarios::Result<Option<String>> {
        Err(line_scenarios::Error::store("follow", "database is down"))
    }
    async fn unfollow(&self, _: &UserId, _: Option<&str>) -> line_scenarios::Result<Option<String>> {
        Err(line_scenarios::Error::store("unfollow", "database is down"))
    }
    async fn convert(&self, _: &UserId, _: &str, _: f64) -> line_scenarios::Result<Option<String>> {
        Err(line_scenarios::Error::store("convert", "database is down"))
    }
    async fn source_of(&self, _: &UserId) -> line_scenarios::Result<Option<String>> {
        Err(line_scenarios::Error::store("source_of", "database is down"))
    }
    async fn counts(&self, _: &str) -> line_scenarios::Result<line_scenarios::sources::SourceCounts> {
        Err(line_scenarios::Error::store("counts", "database is down"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_router_answers_503_when_the_store_fails_and_never_caches_a_redirect() {
    let serve = |sources: Sources| async move {
        let app = axum::Router::new().nest("/s", line_scenarios::sources::router(sources));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        addr
    };
    let down = serve(Sources::new(registry(), Arc::new(Down))).await;
    assert_eq!(http_get(down, "/s/store_shibuya").await, (503, None));
    assert_eq!(http_get(down, "/s/store_osaka").await, (404, None));

    let up = serve(Sources::new(registry(), Arc::new(InMemorySources::new()))).await;
    let raw = tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(up).unwrap();
        write!(s, "GET /s/flyer_may HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).unwrap();
        text
    })
    .await
    .unwrap();
    assert!(raw.starts_with("HTTP/1.1 303"), "{raw}");
    assert!(raw.contains("cache-control: no-store\r\n"), "{raw}");

    // A hostile code in an error is escaped and cut, so it cannot forge log lines.
    let sources = Sources::new(registry(), Arc::new(InMemorySources::new()));
    let err = sources
        .visit(&format!("x\nERROR forged{}", "y".repeat(200)))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(!text.contains('\n') && text.contains("\\n"), "{text}");
    assert!(text.len() < 120, "{text}");
}

proptest::proptest! {
    /// Whatever the requested code, a visit either is an unknown source or redirects to the
    /// configured entry with a fresh token: never anywhere the request chose.
    #[test]
    fn a_visit_redirects_only_to_the_configured_entry(code in "(store_shibuya|flyer_may|[a-z_]{1,14}|\\PC{0,40})") {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let sources = Sources::new(registry(), Arc::new(InMemorySources::new()));
        match rt.block_on(sources.visit(&code)) {
            Ok(v) => {
                proptest::prop_assert!(["store_shibuya", "store_shinjuku", "flyer_may"].contains(&code.as_str()));
                proptest::prop_assert_eq!(v.redirect, format!("{LIFF}?{TOKEN_PARAM}={}", v.token));
                proptest::prop_assert!(v.token.len() == 32 && v.token.bytes().all(|b| b.is_ascii_hexdigit()));
            }
            Err(e) => {
                let unknown = matches!(e.kind(), ErrorKind::UnknownSource { .. });
                proptest::prop_assert!(unknown, "{}", e);
                proptest::prop_assert!(!e.to_string().contains('\n'));
            }
        }
    }
}
