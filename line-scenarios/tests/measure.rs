//! Measurement end to end: against the emulator, sends carry their step's aggregation unit and
//! LINE's per-unit counts come back into the report; tracked links go through the axum redirect
//! and are counted once per send and user.

#![cfg(feature = "client")]

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use jiff::SignedDuration;
use line_core::clock::{Clock, ManualClock};
use line_core::ids::UserId;
use line_emulator::{Emulator, EmulatorConfig};
use line_scenarios::insight::{self, unit_name, LineCounts};
use line_scenarios::memory::InMemoryStore;
use line_scenarios::profiles::InMemoryProfiles;
use line_scenarios::sender::{RecordingSender, Sender};
use line_scenarios::stats::{self, InMemoryJournal, Plan, Record, RecordKind};
use line_scenarios::tracking::{self, ClickService, ClickStore, InMemoryClickStore, LinkKey, Tracker, TrackingSender};
use line_scenarios::{json, Engine};
use line_segments::profile::Event;
use tower::ServiceExt as _;

const SCENARIO: &str = r#"{"id": "cart", "trigger": {"event": {"name": "cart_updated"}}, "steps": [
  {"id": "wait", "wait": {"for": "1h"}},
  {"id": "remind", "send": {"messages": [{"type": "template", "altText": "Your cart",
     "template": {"type": "buttons", "text": "Your cart misses you", "actions": [
       {"type": "uri", "label": "Open cart", "uri": "https://shop.example/cart?from=line"}]}}]}},
  {"id": "wait2", "wait": {"for": "1d"}},
  {"id": "last", "send": {"messages": [{"type": "text", "text": "Last call"}]}}
]}"#;

struct World {
    emu: Emulator,
    clock: ManualClock,
    journal: Arc<InMemoryJournal>,
    users: Vec<UserId>,
}

async fn world(friends: usize) -> World {
    let clock = ManualClock::new("2026-05-15T01:00:00Z".parse().unwrap());
    let emu = Emulator::start_with(EmulatorConfig::new().friends(friends).clock(Arc::new(clock.clone())))
        .await
        .unwrap();
    let users = emu.follower_ids();
    World {
        emu,
        clock,
        journal: Arc::new(InMemoryJournal::new()),
        users,
    }
}

impl World {
    fn engine(&self, sender: Arc<dyn Sender>) -> Engine {
        let store = Arc::new(InMemoryStore::new());
        Engine::builder(vec![json::from_str(SCENARIO).unwrap()])
            .state(store.clone())
            .scheduler(store)
            .profiles(Arc::new(InMemoryProfiles::new()))
            .sender(sender)
            .journal(self.journal.clone())
            .clock(Arc::new(self.clock.clone()))
            .build()
            .unwrap()
    }

    /// Every user carts; both sends go out.
    async fn run(&self, engine: &Engine) {
        for u in &self.users {
            engine
                .on_event(u, &Event::new("cart_updated", self.clock.now()))
                .await
                .unwrap();
        }
        self.clock.advance(SignedDuration::from_hours(1));
        engine.run_due().await.unwrap();
        self.clock.advance(SignedDuration::from_hours(24));
        engine.run_due().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushes_carry_the_step_unit_and_line_counts_reach_the_report() {
    let w = world(25).await;
    let client = w.emu.client_builder().build().unwrap();
    let engine = w.engine(Arc::new(client.clone()));
    w.run(&engine).await;

    let remind = unit_name("cart", "remind");
    let last = unit_name("cart", "last");
    assert_ne!(remind, last);
    // The emulator saw each push with its step's unit (it refuses a name against LINE's rules).
    assert_eq!(
        w.emu.unit_recipients(&remind),
        w.users,
        "every remind push carried {remind}"
    );
    assert_eq!(w.emu.unit_recipients(&last), w.users, "every last push carried {last}");
    assert!(w.emu.unit_recipients("cart_wait_00000000").is_empty());

    // 22 users open the reminder and 21 of them tap its link; 3 open the last call (under LINE's
    // floor of 20: withheld).
    for (i, u) in w.users.iter().enumerate() {
        if i < 21 {
            assert!(w.emu.click_unit(u, &remind));
        } else if i < 22 {
            assert!(w.emu.open_unit(u, &remind));
        }
        if i < 3 {
            assert!(w.emu.open_unit(u, &last));
        }
    }
    let scenarios = vec![json::from_str(SCENARIO).unwrap()];
    let day = jiff::civil::date(2026, 5, 15);
    let line = insight::fetch(&client, &scenarios, day, day.tomorrow().unwrap())
        .await
        .unwrap();
    assert_eq!(line["cart"][&1], LineCounts::new(Some(22), Some(21)));
    assert_eq!(line["cart"][&3], LineCounts::new(None, None));
    assert_eq!(w.emu.calls("getStatisticsPerUnit"), 2, "one request per send step");
    let far = jiff::civil::date(2026, 7, 1);
    assert!(
        insight::fetch(&client, &scenarios, day, far).await.is_err(),
        "LINE allows 30 days"
    );

    let mut rows = stats::report(&scenarios, &|id| w.journal.counts(id), &Plan::new(0, 3.0), 0);
    stats::merge_line_stats(&mut rows, &line);
    let remind_row = rows.iter().find(|r| r.step.as_deref() == Some("remind")).unwrap();
    assert_eq!(remind_row.counts.sent, 25);
    assert_eq!(remind_row.line, Some(LineCounts::new(Some(22), Some(21))));
    let total = rows.iter().find(|r| r.step.is_none()).unwrap();
    assert_eq!(
        total.line,
        Some(LineCounts::new(Some(22), Some(21))),
        "withheld counts stay out"
    );
    let table = stats::render_table(&rows);
    assert!(table.lines().next().unwrap().contains("LINE opens"), "{table}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_emulator_refuses_a_unit_name_against_lines_rules() {
    let w = world(1).await;
    let client = w.emu.client_builder().build().unwrap();
    let mut body = line_core::model::PushMessageRequest::new(
        w.users[0].as_str(),
        vec![serde_json::from_str(r#"{"type":"text","text":"hi"}"#).unwrap()],
    );
    for bad in ["promo-a", "", "a234567890123456789012345678901"] {
        body.custom_aggregation_units = Some(vec![bad.to_owned()]);
        let e = client.push_message(&body).await.unwrap_err();
        assert!(e.to_string().contains("customAggregationUnits"), "{bad}: {e}");
    }
    body.custom_aggregation_units = Some(vec!["a".into(), "b".into()]);
    assert!(client.push_message(&body).await.is_err(), "one unit per request");
    assert_eq!(w.emu.messages(&w.users[0]).len(), 0);
}

fn key() -> LinkKey {
    LinkKey::new(*b"measure-test-key-of-32-bytes-xyz").unwrap()
}

async fn get(router: &axum::Router, path: &str) -> (StatusCode, Option<String>) {
    let r = router
        .clone()
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let location = r.headers().get("location").map(|v| v.to_str().unwrap().to_owned());
    (r.status(), location)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tracked_links_redirect_once_counted_and_refuse_forgeries() {
    let w = world(3).await;
    let recorder = Arc::new(RecordingSender::new());
    let tracker = Tracker::new(key(), "https://host.example/c/").unwrap();
    let engine = w.engine(Arc::new(TrackingSender::new(recorder.clone(), tracker)));
    w.run(&engine).await;

    // Each user's reminder has their own tracked link; the plain text message is untouched.
    let pushed = recorder.pushed();
    assert_eq!(pushed.len(), 6);
    let mut links = Vec::new();
    for p in &pushed {
        assert_eq!(
            p.unit.as_deref(),
            Some(
                unit_name(
                    "cart",
                    if p.messages.contains("Last call") {
                        "last"
                    } else {
                        "remind"
                    }
                )
                .as_str()
            )
        );
        let v: serde_json::Value = serde_json::from_str(&p.messages).unwrap();
        if let Some(uri) = v[0]["template"]["actions"][0]["uri"].as_str() {
            let path = uri.strip_prefix("https://host.example").expect("a tracked URL");
            links.push((p.user.clone(), path.to_owned()));
        }
    }
    assert_eq!(links.len(), 3);

    let store = Arc::new(InMemoryClickStore::new());
    let service = ClickService::new(key(), store.clone(), Arc::new(w.clock.clone())).journal(w.journal.clone());
    let router = tracking::router(Arc::new(service));
    for (_, path) in &links {
        let (status, location) = get(&router, path).await;
        assert_eq!(status, StatusCode::FOUND);
        assert_eq!(location.as_deref(), Some("https://shop.example/cart?from=line"));
    }
    // Clicking again counts nothing more.
    let (status, _) = get(&router, &links[0].1).await;
    assert_eq!(status, StatusCode::FOUND);
    assert_eq!(store.clicks("cart").await.unwrap(), [(1u16, 3u64)].into());
    assert_eq!(w.journal.counts("cart").steps[&1].clicks, 3);

    // Forged, altered and foreign tokens: 404, never a redirect.
    let token = links[0].1.strip_prefix("/c/").unwrap();
    let mut altered = token.to_owned().into_bytes();
    let mid = altered.len() / 2;
    altered[mid] = if altered[mid] == b'A' { b'B' } else { b'A' };
    let forged = tracking::sign(
        &LinkKey::new(*b"some-other-key-of-thirty-two-byt").unwrap(),
        &tracking::Link::new("cart", 1, 1, links[0].0.clone(), "https://evil.example/"),
    )
    .unwrap();
    for bad in [
        format!("/c/{}", String::from_utf8(altered).unwrap()),
        format!("/c/{forged}"),
        "/c/https%3A%2F%2Fevil.example".to_owned(),
        "/c/%FF%FE".to_owned(),
        format!("/c/{}", "A".repeat(6000)),
    ] {
        let (status, location) = get(&router, &bad).await;
        assert!(status.is_client_error(), "{bad}: {status}");
        assert_eq!(location, None, "{bad}");
    }
    assert_eq!(store.clicks("cart").await.unwrap(), [(1u16, 3u64)].into());

    // Clicks reach the report, per step.
    let scenarios = vec![json::from_str(SCENARIO).unwrap()];
    let rows = stats::report(&scenarios, &|id| w.journal.counts(id), &Plan::new(0, 3.0), 0);
    let remind = rows.iter().find(|r| r.step.as_deref() == Some("remind")).unwrap();
    assert_eq!((remind.counts.sent, remind.counts.clicks), (3, 3));
    let line = serde_json::json!({"at": "2026-05-16T02:00:00Z", "scenario": "cart", "user": "U1", "step": 1, "kind": "clicked"});
    let record = Record::from_json(&line).unwrap();
    assert_eq!(record.to_json(), line);
    assert_eq!(
        record.kind,
        RecordKind::Clicked,
        "clicks survive the JSON Lines journal"
    );
}

#[tokio::test]
async fn in_memory_click_store_conforms() {
    tracking::click_store_conformance(
        std::sync::Arc::new(InMemoryClickStore::new()),
        &line_core::clock::ManualClock::new(jiff::Timestamp::UNIX_EPOCH),
    )
    .await;
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn sqlite_click_store_conforms_and_keeps_clicks_across_a_reopen() {
    use line_scenarios::tracking::{Link, SqliteClickStore};
    tracking::click_store_conformance(
        std::sync::Arc::new(SqliteClickStore::open_in_memory("t_").unwrap()),
        &line_core::clock::ManualClock::new(jiff::Timestamp::UNIX_EPOCH),
    )
    .await;
    let dir = std::env::temp_dir().join(format!("line-scenarios-clicks-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("clicks.db");
    let link = Link::new("cart", 1, 1, UserId::new("U1"), "https://shop.example/");
    let at = "2026-05-15T01:00:00Z".parse().unwrap();
    {
        let store = SqliteClickStore::open(&path, "scn_").unwrap();
        assert!(store.record_click(&link, at).await.unwrap());
    }
    let store = SqliteClickStore::open(&path, "scn_").unwrap();
    assert!(
        !store.record_click(&link, at).await.unwrap(),
        "a reopened store remembers the click"
    );
    assert_eq!(store.clicks("cart").await.unwrap(), [(1u16, 1u64)].into());
    assert!(SqliteClickStore::open_in_memory("bad-prefix;").is_err());
    let _ = std::fs::remove_dir_all(&dir);
}
