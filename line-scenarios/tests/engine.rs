//! Engine behaviour on the in-memory stores with a manual clock: triggers, waits, branches, goals,
//! duplicates and late wake-ups, a clock going back, the contact budget, quiet hours, unfollow,
//! unknown users, splits, acts and calendar triggers.

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use line_core::clock::{Clock, ManualClock};
use line_core::ids::UserId;
use line_scenarios::budget::{Budget, Gate, InMemoryContacts, QuietHours};
use line_scenarios::engine::{EngineConfig, UnknownUsers};
use line_scenarios::memory::InMemoryStore;
use line_scenarios::profiles::{InMemoryProfiles, InMemoryRichMenus, TAGS};
use line_scenarios::sender::RecordingSender;
use line_scenarios::stats::{InMemoryJournal, RecordKind, SkipReason};
use line_scenarios::store::{ExitReason, Scheduler, StateStore, Status};
use line_scenarios::{json, Engine};
use line_segments::profile::{Event, Profile, Value};

const CART: &str = r#"{
  "id": "cart",
  "priority": 10,
  "trigger": {"event": {"name": "cart_updated"}},
  "steps": [
    {"id": "wait", "wait": {"for": "1h"}},
    {"id": "bought", "if": {"event_since_entry": {"name": "purchase"}}, "then": "end", "else": "remind"},
    {"id": "remind", "send": {"flex": {"alt_text": "{item} is still in your cart",
      "contents": {"type": "bubble", "body": {"type": "box", "layout": "vertical",
        "contents": [{"type": "text", "text": "{item} is still in your cart, {name}"}]}},
      "vars": {"item": {"event": "item"}, "name": {"attribute": "nickname", "default": "friend"}}}}},
    {"id": "end", "exit": {}}
  ],
  "goals": [{"event": "purchase", "revenue": "amount"}]
}"#;

const START: &str = "2026-05-15T01:00:00Z"; // 10:00 in Tokyo

struct Harness {
    clock: ManualClock,
    store: Arc<InMemoryStore>,
    profiles: Arc<InMemoryProfiles>,
    sender: Arc<RecordingSender>,
    journal: Arc<InMemoryJournal>,
    menus: Arc<InMemoryRichMenus>,
    engine: Engine,
}

fn harness(
    scenarios: &[&str],
    configure: impl FnOnce(line_scenarios::engine::EngineBuilder) -> line_scenarios::engine::EngineBuilder,
) -> Harness {
    let clock = ManualClock::new(START.parse().unwrap());
    let store = Arc::new(InMemoryStore::new());
    let profiles = Arc::new(InMemoryProfiles::new());
    let sender = Arc::new(RecordingSender::new());
    let journal = Arc::new(InMemoryJournal::with_log());
    let menus = Arc::new(InMemoryRichMenus::new());
    let scenarios = scenarios.iter().map(|s| json::from_str(s).unwrap()).collect();
    let builder = Engine::builder(scenarios)
        .state(store.clone())
        .scheduler(store.clone())
        .profiles(profiles.clone())
        .sender(sender.clone())
        .journal(journal.clone())
        .rich_menus(menus.clone())
        .clock(Arc::new(clock.clone()));
    let engine = configure(builder).build().unwrap();
    Harness {
        clock,
        store,
        profiles,
        sender,
        journal,
        menus,
        engine,
    }
}

impl Harness {
    fn now(&self) -> Timestamp {
        self.clock.now()
    }
    fn advance_mins(&self, m: i64) {
        self.clock.advance(SignedDuration::from_mins(m));
    }
    async fn event(&self, user: &UserId, name: &str, props: &[(&str, Value)]) {
        let mut e = Event::new(name, self.now());
        for (k, v) in props {
            e = e.with(*k, v.clone());
        }
        self.engine.on_event(user, &e).await.unwrap();
    }
    async fn run(&self) {
        let r = self.engine.run_due().await.unwrap();
        assert_eq!(r.failed, 0);
    }
    fn sent_to(&self, user: &UserId) -> Vec<String> {
        self.sender
            .pushed()
            .into_iter()
            .filter(|p| p.user == *user)
            .map(|p| p.messages)
            .collect()
    }
    fn skips(&self, reason: &SkipReason) -> usize {
        self.journal
            .log()
            .iter()
            .filter(|r| matches!(&r.kind, RecordKind::Skipped(x) if x == reason))
            .count()
    }
}

fn user(n: u32) -> UserId {
    UserId::new(format!("U{n:032x}"))
}

fn cream() -> [(&'static str, Value); 1] {
    [("item", Value::Str("Face cream".into()))]
}

#[tokio::test]
async fn an_abandoned_cart_gets_one_reminder_after_an_hour() {
    let h = harness(&[CART], |b| b);
    let aoi = user(1);
    h.profiles
        .insert(Profile::new(aoi.clone()).with_attr("nickname", Value::Str("Aoi".into())));
    h.event(&aoi, "cart_updated", &cream()).await;
    h.run().await;
    assert!(h.sent_to(&aoi).is_empty(), "nothing before the hour");
    h.advance_mins(59);
    h.run().await;
    assert!(h.sent_to(&aoi).is_empty(), "nothing at 59 minutes");
    h.advance_mins(1);
    h.run().await;
    let sent = h.sent_to(&aoi);
    assert_eq!(sent.len(), 1);
    assert!(sent[0].contains("Face cream is still in your cart, Aoi"), "{}", sent[0]);
    let m: serde_json::Value = serde_json::from_str(&sent[0]).unwrap();
    assert_eq!(m[0]["altText"], "Face cream is still in your cart");
    let e = h.store.enrollment("cart", &aoi).await.unwrap().unwrap();
    assert_eq!(e.status, Status::Exited(ExitReason::Completed));
    // A purchase after the scenario ended is no conversion of it.
    h.event(&aoi, "purchase", &[("amount", Value::Num(4800.0))]).await;
    assert_eq!(h.journal.counts("cart").total.conversions, 0);
    let c = h.journal.counts("cart");
    assert_eq!((c.total.entered, c.total.sent), (1, 1));
    assert_eq!(c.steps[&2].sent, 1, "the send is counted on its step");
}

#[tokio::test]
async fn a_purchase_within_the_hour_exits_as_a_conversion() {
    let h = harness(&[CART], |b| b);
    let ren = user(2);
    h.event(&ren, "cart_updated", &cream()).await;
    h.advance_mins(20);
    h.event(&ren, "purchase", &[("amount", Value::Num(3200.0))]).await;
    h.advance_mins(60);
    h.run().await;
    assert!(h.sent_to(&ren).is_empty(), "no reminder after a purchase");
    let c = h.journal.counts("cart");
    assert_eq!(c.total.conversions, 1);
    assert_eq!(c.total.revenue, 3200.0);
    assert_eq!(c.total.exited[&ExitReason::Goal], 1);
    assert!(
        h.store.pending().await.unwrap() <= 1,
        "at most the stale wake-up is left"
    );
}

#[tokio::test]
async fn the_branch_sees_purchases_since_entry_only() {
    let h = harness(
        &[CART
            .replace(
                r#""goals": [{"event": "purchase", "revenue": "amount"}]"#,
                r#""goals": []"#,
            )
            .as_str()],
        |b| b,
    );
    let u = user(3);
    // A purchase before the cart does not count.
    h.event(&u, "purchase", &[("amount", Value::Num(100.0))]).await;
    h.advance_mins(1);
    h.event(&u, "cart_updated", &cream()).await;
    h.advance_mins(61);
    h.run().await;
    assert_eq!(h.sent_to(&u).len(), 1);
    // With a purchase after entry (no goal to end it), the branch goes to the exit.
    let v = user(4);
    h.event(&v, "cart_updated", &cream()).await;
    h.advance_mins(30);
    h.event(&v, "purchase", &[("amount", Value::Num(100.0))]).await;
    h.advance_mins(31);
    h.run().await;
    assert!(h.sent_to(&v).is_empty());
}

#[tokio::test]
async fn duplicate_late_and_early_wake_ups_change_nothing() {
    let h = harness(&[CART], |b| b);
    let u = user(5);
    h.event(&u, "cart_updated", &cream()).await;
    let entry = h.store.enrollment("cart", &u).await.unwrap().unwrap().entry;
    // Extra wake-ups: before the hour, exactly at it, twice after it.
    for mins in [10, 60, 61, 61] {
        h.store
            .schedule(&line_scenarios::store::WakeUp {
                scenario: "cart".into(),
                user: u.clone(),
                entry,
                at: h.now().checked_add(SignedDuration::from_mins(mins)).unwrap(),
            })
            .await
            .unwrap();
    }
    h.advance_mins(15);
    h.run().await;
    assert!(h.sent_to(&u).is_empty(), "an early wake-up sends nothing");
    h.advance_mins(300); // very late
    h.run().await;
    h.run().await;
    assert_eq!(h.sent_to(&u).len(), 1, "one reminder, however many wake-ups");
    // A wake-up of an older entry, after re-entering, is ignored.
    h.event(&u, "cart_updated", &cream()).await;
    h.store
        .schedule(&line_scenarios::store::WakeUp {
            scenario: "cart".into(),
            user: u.clone(),
            entry,
            at: h.now(),
        })
        .await
        .unwrap();
    h.run().await;
    assert_eq!(h.sent_to(&u).len(), 1, "the stale wake-up of entry 1 does nothing");
    h.advance_mins(61);
    h.run().await;
    assert_eq!(h.sent_to(&u).len(), 2, "entry 2 has its own reminder");
}

#[tokio::test]
async fn a_clock_going_back_sends_nothing_twice() {
    let h = harness(&[CART], |b| b);
    let u = user(6);
    h.event(&u, "cart_updated", &cream()).await;
    h.advance_mins(61);
    h.run().await;
    assert_eq!(h.sent_to(&u).len(), 1);
    // Back by two hours (NTP step, a restored VM), then forward again.
    h.advance_mins(-120);
    h.run().await;
    h.event(&u, "cart_updated", &cream()).await; // entry 2 starts in the "past"
    h.advance_mins(120);
    h.run().await;
    h.run().await;
    let sent = h.sent_to(&u);
    assert_eq!(sent.len(), 2, "entry 1 once, entry 2 once");
    let keys: std::collections::HashSet<_> = h.sender.pushed().into_iter().map(|p| p.retry_key).collect();
    assert_eq!(keys.len(), 2, "each send has its own retry key");
}

#[tokio::test]
async fn the_contact_budget_holds_and_priority_decides() {
    let promo = r#"{"id": "promo", "priority": 0, "trigger": {"event": {"name": "cart_updated"}},
      "steps": [{"id": "wait", "wait": {"for": "1h"}}, {"id": "offer", "send": {"messages": [{"type": "text", "text": "10% off"}]}}]}"#;
    let h = harness(&[CART, promo], |b| {
        b.gate(Gate::new(Arc::new(InMemoryContacts::new()), Budget::per_week(1)))
    });
    let u = user(7);
    h.event(&u, "cart_updated", &cream()).await;
    h.advance_mins(61);
    h.run().await;
    let sent = h.sent_to(&u);
    assert_eq!(sent.len(), 1, "one contact per week");
    assert!(
        sent[0].contains("still in your cart"),
        "the higher priority (cart, 10) got the slot"
    );
    assert_eq!(h.skips(&SkipReason::Budget), 1);
    assert_eq!(h.journal.counts("promo").steps[&1].skipped[&SkipReason::Budget], 1);
    // A week later there is room again.
    h.advance_mins(7 * 24 * 60);
    h.event(&u, "cart_updated", &cream()).await;
    h.advance_mins(61);
    h.run().await;
    assert_eq!(h.sent_to(&u).len(), 2);
}

#[tokio::test]
async fn quiet_hours_defer_or_drop_as_the_step_says() {
    let drop = r#"{"id": "flash", "trigger": {"event": {"name": "cart_updated"}},
      "steps": [{"id": "wait", "wait": {"for": "1h"}}, {"id": "sale", "send": {"messages": [{"type": "text", "text": "Flash sale"}], "quiet_hours": "drop"}}]}"#;
    let h = harness(&[CART, drop], |b| {
        b.config(EngineConfig::default().quiet_hours(QuietHours::new("21:00", "09:00", "Asia/Tokyo").unwrap()))
    });
    let u = user(8);
    // 20:30 in Tokyo: the steps fall due at 21:30, in quiet hours.
    h.clock.set("2026-05-15T11:30:00Z".parse().unwrap());
    h.event(&u, "cart_updated", &cream()).await;
    h.advance_mins(61);
    h.run().await;
    assert!(h.sent_to(&u).is_empty(), "nothing in quiet hours");
    assert_eq!(h.skips(&SkipReason::QuietHours), 1, "the flash sale is dropped");
    let deferred = h
        .journal
        .log()
        .iter()
        .filter_map(|r| match r.kind {
            RecordKind::Deferred { until } => Some(until),
            _ => None,
        })
        .collect::<Vec<_>>();
    assert_eq!(
        deferred,
        ["2026-05-16T00:00:00Z".parse::<Timestamp>().unwrap()],
        "deferred to 09:00 JST"
    );
    h.clock.set("2026-05-15T23:59:00Z".parse().unwrap());
    h.run().await;
    assert!(h.sent_to(&u).is_empty());
    h.clock.set("2026-05-16T00:00:00Z".parse().unwrap());
    h.run().await;
    let sent = h.sent_to(&u);
    assert_eq!(sent.len(), 1, "the reminder goes out at 09:00");
    assert!(sent[0].contains("Face cream"));
}

#[tokio::test]
async fn unfollow_exits_every_scenario() {
    let series = r#"{"id": "series", "trigger": {"follow": {}}, "steps": [
      {"id": "w", "wait": {"for": "1d"}}, {"id": "tips", "send": {"messages": [{"type": "text", "text": "tips"}]}}]}"#;
    let h = harness(&[CART, series], |b| b);
    let u = user(9);
    h.engine.enter("series", &u).await.unwrap();
    h.event(&u, "cart_updated", &cream()).await;
    assert_eq!(h.store.active_of(&u).await.unwrap().len(), 2);
    let unfollow: line_core::webhook::Event = serde_json::from_value(serde_json::json!({
        "type": "unfollow", "timestamp": 0, "mode": "active", "webhookEventId": "01",
        "deliveryContext": {"isRedelivery": false}, "source": {"type": "user", "userId": u.as_str()}
    }))
    .unwrap();
    h.engine.on_webhook(&unfollow).await.unwrap();
    assert!(h.store.active_of(&u).await.unwrap().is_empty());
    h.advance_mins(2 * 24 * 60);
    h.run().await;
    assert!(h.sent_to(&u).is_empty());
    assert_eq!(h.journal.counts("series").total.exited[&ExitReason::Unfollowed], 1);
    assert_eq!(h.journal.counts("cart").total.exited[&ExitReason::Unfollowed], 1);
}

#[tokio::test]
async fn webhook_triggers_follow_postback_and_keywords() {
    let survey = r#"{"id": "survey", "trigger": {"follow": {}}, "steps": [
      {"id": "ask", "send": {"messages": [{"type": "text", "text": "What do you like?"}]}}]}"#;
    let answer = r#"{"id": "cosmetics", "trigger": {"postback": {"data": "survey=cosmetics"}}, "steps": [
      {"id": "tag", "act": {"add_tag": "cosmetics"}},
      {"id": "menu", "act": {"rich_menu": "cosmetics-menu"}},
      {"id": "start", "act": {"start": "series"}}]}"#;
    let series = r#"{"id": "series", "trigger": {"message": {"keywords": ["tips"], "patterns": ["*skin care*"]}}, "steps": [
      {"id": "tips", "send": {"messages": [{"type": "text", "text": "Skin care tips"}]}}]}"#;
    let h = harness(&[survey, answer, series], |b| b);
    let u = user(10);
    let ev = |v: serde_json::Value| -> line_core::webhook::Event { serde_json::from_value(v).unwrap() };
    let src = serde_json::json!({"type": "user", "userId": u.as_str()});
    h.engine
        .on_webhook(&ev(
            serde_json::json!({"type": "follow", "timestamp": 0, "mode": "active", "replyToken": "r",
            "source": src, "follow": {"isUnblocked": false}}),
        ))
        .await
        .unwrap();
    assert_eq!(h.sent_to(&u).len(), 1, "the survey is sent on follow");
    h.engine
        .on_webhook(&ev(
            serde_json::json!({"type": "postback", "timestamp": 0, "mode": "active", "replyToken": "r",
            "source": src, "postback": {"data": "survey=other"}}),
        ))
        .await
        .unwrap();
    assert!(h.profiles.get(&u).is_none(), "another answer starts nothing");
    h.engine
        .on_webhook(&ev(
            serde_json::json!({"type": "postback", "timestamp": 0, "mode": "active", "replyToken": "r",
            "source": src, "postback": {"data": "survey=cosmetics"}}),
        ))
        .await
        .unwrap();
    let p = h.profiles.get(&u).unwrap();
    assert_eq!(p.attributes.get(TAGS), Some(&Value::Set(vec!["cosmetics".into()])));
    assert_eq!(h.menus.menu_of(&u).as_deref(), Some("cosmetics-menu"));
    assert_eq!(h.sent_to(&u).len(), 2, "the started series sent its tips");
    // Keywords and patterns; the series is inside-only-once, so exit first.
    let msg = |text: &str| {
        ev(
            serde_json::json!({"type": "message", "timestamp": 0, "mode": "active", "replyToken": "r",
            "source": src, "message": {"type": "text", "id": "1", "text": text, "quoteToken": "q"}}),
        )
    };
    h.engine.on_webhook(&msg("Any SKIN CARE advice?")).await.unwrap();
    assert_eq!(h.sent_to(&u).len(), 3, "the pattern matches, ignoring case");
    h.engine.on_webhook(&msg("hello")).await.unwrap();
    assert_eq!(h.sent_to(&u).len(), 3);
}

#[tokio::test]
async fn unknown_users_enter_or_are_ignored_as_configured() {
    let vip = r#"{"id": "vip", "trigger": {"event": {"name": "cart_updated"}},
      "entry": {"segment": {"attr": "points", "op": "ge", "value": 100}},
      "steps": [{"id": "hi", "send": {"messages": [{"type": "text", "text": "VIP"}]}}]}"#;
    let open = r#"{"id": "open", "trigger": {"event": {"name": "cart_updated"}},
      "steps": [{"id": "hi", "send": {"flex": {"alt_text": "hi", "contents": {"type": "bubble", "body": {"type": "box",
        "layout": "vertical", "contents": [{"type": "text", "text": "Hi {name}"}]}},
        "vars": {"name": {"attribute": "nickname"}}}}}]}"#;
    let h = harness(&[vip, open], |b| b);
    let stranger = user(11);
    h.event(&stranger, "cart_updated", &[]).await;
    assert_eq!(
        h.skips(&SkipReason::EntryCondition),
        1,
        "an empty profile is not in the VIP segment"
    );
    assert_eq!(
        h.skips(&SkipReason::MissingValue("name".into())),
        1,
        "no nickname and no default"
    );
    assert!(h.sent_to(&stranger).is_empty());

    let h = harness(&[vip, open], |b| {
        b.config(EngineConfig::default().unknown_users(UnknownUsers::Ignore))
    });
    // `on_event` records the event, which creates the profile in the in-memory store; a
    // webhook-only user stays unknown.
    h.engine.enter("open", &stranger).await.unwrap();
    assert_eq!(h.skips(&SkipReason::UnknownUser), 1);
}

#[tokio::test]
async fn splits_are_deterministic_by_user() {
    let ab = r#"{"id": "ab", "trigger": {"event": {"name": "cart_updated"}}, "steps": [
      {"id": "split", "split": [{"weight": 1, "next": "a"}, {"weight": 1, "next": "b"}]},
      {"id": "a", "send": {"messages": [{"type": "text", "text": "A"}]}, "next": "end"},
      {"id": "b", "send": {"messages": [{"type": "text", "text": "B"}]}},
      {"id": "end", "exit": {}}]}"#;
    let run = || async {
        let h = harness(&[ab], |b| b);
        for i in 0..200 {
            h.event(&user(i), "cart_updated", &[]).await;
        }
        (0..200)
            .map(|i| h.sent_to(&user(i))[0].contains("\"A\""))
            .collect::<Vec<bool>>()
    };
    let first = run().await;
    assert_eq!(first, run().await, "the same users get the same arm");
    let a = first.iter().filter(|x| **x).count();
    assert!((70..=130).contains(&a), "about half get A: {a}");
}

#[tokio::test]
async fn the_birthday_month_coupon_comes_once_a_year_in_tokyo() {
    let bday = r#"{"id": "birthday", "time_zone": "Asia/Tokyo",
      "trigger": {"birthday": {"attribute": "birthday", "match": "month", "at": "10:00"}},
      "entry": {"reentry": {"once_per": "300d"}},
      "steps": [{"id": "coupon", "send": {"messages": [{"type": "text", "text": "Happy birthday month! 20% off"}]}}]}"#;
    let h = harness(&[bday], |b| b);
    let may = user(20);
    let june = user(21);
    h.profiles
        .insert(Profile::new(may.clone()).with_attr("birthday", Value::Date(jiff::civil::date(1990, 5, 3))));
    h.profiles
        .insert(Profile::new(june.clone()).with_attr("birthday", Value::Date(jiff::civil::date(1992, 6, 1))));
    // 2026-04-30T15:30Z is 00:30 on 1 May in Tokyo: May, but before 10:00.
    h.clock.set("2026-04-30T15:30:00Z".parse().unwrap());
    assert_eq!(h.engine.calendar_tick().await.unwrap(), 0);
    h.clock.set("2026-05-01T01:00:00Z".parse().unwrap()); // 10:00 JST
    assert_eq!(h.engine.calendar_tick().await.unwrap(), 1);
    assert_eq!(h.sent_to(&may).len(), 1);
    for day in 0..40 {
        h.clock.set(
            "2026-05-01T03:00:00Z"
                .parse::<Timestamp>()
                .unwrap()
                .checked_add(SignedDuration::from_hours(24 * day))
                .unwrap(),
        );
        h.engine.calendar_tick().await.unwrap();
    }
    assert_eq!(h.sent_to(&may).len(), 1, "once in the month");
    assert_eq!(h.sent_to(&june).len(), 1, "June's user in June");
    h.clock.set("2027-05-01T01:00:00Z".parse().unwrap());
    h.engine.calendar_tick().await.unwrap();
    assert_eq!(h.sent_to(&may).len(), 2, "again the next year");
}

#[tokio::test]
async fn launch_enters_a_segment_and_recover_rebuilds_lost_wake_ups() {
    let launch = r#"{"id": "launch", "trigger": {"at": "2026-05-15T10:00"},
      "entry": {"segment": {"attr": "points", "op": "ge", "value": 100}},
      "steps": [{"id": "w", "wait": {"for": "1d"}}, {"id": "hi", "send": {"messages": [{"type": "text", "text": "hi"}]}}]}"#;
    let h = harness(&[launch], |b| b);
    for i in 0..10 {
        h.profiles
            .insert(Profile::new(user(100 + i)).with_attr("points", Value::Num(f64::from(i * 20))));
    }
    assert_eq!(
        h.engine.launch("launch").await.unwrap(),
        5,
        "points 100, 120, 140, 160, 180"
    );
    h.run().await;
    // Lose every wake-up (a scheduler wiped by a crash), then recover.
    let lost = h
        .store
        .due(
            "2030-01-01T00:00:00Z".parse().unwrap(),
            1_000,
            SignedDuration::from_hours(1_000_000),
        )
        .await
        .unwrap();
    assert_eq!(lost.len(), 5, "one wake-up per waiting user");
    assert_eq!(h.engine.recover().await.unwrap(), 5);
    h.advance_mins(24 * 60);
    h.run().await;
    assert_eq!(h.sender.pushed().len(), 5);
}
