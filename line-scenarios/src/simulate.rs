//! Simulation: what would have been sent. Past events are replayed through scenarios on a
//! simulated clock, with in-memory stores and a sender that sends nothing; the result says who
//! would have received which step when, what the contact budget and quiet hours held back, and
//! what it would have cost. `linectl scenario simulate` prints it.
//!
//! # Events file (JSON Lines)
//!
//! One event per line (blank lines and lines starting with `#` are skipped), in any order:
//!
//! ```json
//! {"at": "2026-05-15T01:00:00Z", "user": "U…", "event": "cart_updated", "props": {"item": "Face cream"}}
//! {"at": "2026-05-15T01:20:00Z", "user": "U…", "event": "purchase", "props": {"amount": 4800}}
//! {"at": "2026-05-15T02:00:00Z", "user": "U…", "webhook": "follow"}
//! {"at": "2026-05-15T02:00:30Z", "user": "U…", "webhook": "follow", "source": "store_shibuya"}
//! {"at": "2026-05-15T02:01:00Z", "user": "U…", "webhook": "postback", "data": "survey=cosmetics"}
//! {"at": "2026-05-15T02:02:00Z", "user": "U…", "webhook": "message", "text": "coupon"}
//! ```
//!
//! `webhook` is one of `follow`, `unfollow`, `account_link`, `postback` (with `data`) and `message`
//! (with `text`). Event `props` take strings, numbers and booleans.
//!
//! A follow may name the [friend source](crate::sources) it came from (`source`, a source code):
//! the simulation plays the tracked link (a visit of the source's URL and the binding of the user)
//! just before the follow, so the follow is matched to the source, the user is tagged with it and
//! `{"follow": {"source": …}}` scenarios (per-store greetings) start. The simulated sources are the
//! codes named by the scenarios' follow triggers and by the events; their counts (visits, friends,
//! blocks) are part of the outcome.
//!
//! Profiles (line-segments' JSON Lines format) describe the users before the first event. Without
//! `to`, the simulation ends when no wake-up is left (at most 400 days after the last event), and
//! calendar triggers are checked hourly up to the last event; with `to`, both run until `to`.

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use line_core::clock::{Clock, ManualClock};
use line_core::ids::UserId;
use line_segments::profile::{Event, Profile, Value};
use serde_json::Value as Json;

use crate::budget::{Budget, Gate, InMemoryContacts};
use crate::engine::{Engine, EngineConfig};
use crate::error::{Error, ErrorKind, Result};
use crate::memory::InMemoryStore;
use crate::model::{FollowSource, Scenario, Trigger};
use crate::profiles::{InMemoryProfiles, InMemoryRichMenus};
use crate::sender::RecordingSender;
use crate::sources::{self, InMemorySources, Source, SourceRegistry, SourceRow, Sources};
use crate::stats::{self, InMemoryJournal, Plan, Record, RecordKind, Row};

/// One replayed event.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SimEvent {
    /// When it happened.
    pub at: Timestamp,
    /// Who.
    pub user: UserId,
    /// What.
    pub kind: SimKind,
    /// For a follow: the code of the friend source it came from (through its tracked link).
    pub source: Option<String>,
}

/// What a replayed event is.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum SimKind {
    /// A host event with its properties.
    Host {
        /// Its name.
        name: String,
        /// Its properties.
        props: Vec<(String, Value)>,
    },
    /// A webhook event, as LINE would send it.
    Webhook(Box<line_core::webhook::Event>),
}

/// Parses an events file (see the module docs). Errors name the line and the key.
pub fn parse_events(text: &str) -> Result<Vec<SimEvent>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let err = |pointer: &str, message: String| Error::json(format!("line {line_no}: {pointer}"), message);
        let v: Json = serde_json::from_str(trimmed).map_err(|e| {
            Error::new(ErrorKind::Syntax {
                line: line_no,
                column: e.column(),
                message: e.to_string(),
            })
        })?;
        let Some(obj) = v.as_object() else {
            return Err(err("", "expected an object".into()));
        };
        for k in obj.keys() {
            if !["at", "user", "event", "props", "webhook", "data", "text", "source"].contains(&k.as_str()) {
                return Err(err(&format!("/{k}"), format!("unexpected key `{k}`")));
            }
        }
        let at: Timestamp = obj
            .get("at")
            .and_then(Json::as_str)
            .ok_or_else(|| err("/at", "missing RFC 3339 timestamp".into()))?
            .parse()
            .map_err(|e| err("/at", format!("invalid timestamp: {e}")))?;
        let user = match obj.get("user").and_then(Json::as_str) {
            Some(u) if !u.is_empty() => UserId::new(u),
            _ => return Err(err("/user", "missing user id".into())),
        };
        let kind = match (obj.get("event"), obj.get("webhook")) {
            (Some(Json::String(name)), None) => {
                let mut props = Vec::new();
                if let Some(p) = obj.get("props") {
                    let Some(p) = p.as_object() else {
                        return Err(err("/props", "expected an object".into()));
                    };
                    for (k, v) in p {
                        let value = match v {
                            Json::String(s) => Value::Str(s.clone()),
                            Json::Bool(b) => Value::Bool(*b),
                            Json::Number(n) => Value::Num(n.as_f64().unwrap_or(0.0)),
                            _ => {
                                return Err(err(
                                    &format!("/props/{k}"),
                                    "a property is a string, number or boolean".into(),
                                ))
                            }
                        };
                        props.push((k.clone(), value));
                    }
                }
                SimKind::Host {
                    name: name.clone(),
                    props,
                }
            }
            (None, Some(Json::String(w))) => {
                let text = |key: &str| {
                    obj.get(key)
                        .and_then(Json::as_str)
                        .ok_or_else(|| err(&format!("/{key}"), format!("a {w} needs `{key}`")))
                };
                let event = match w.as_str() {
                    "follow" => webhook::follow(&user, at),
                    "unfollow" => webhook::unfollow(&user, at),
                    "account_link" => webhook::account_link(&user, at),
                    "postback" => webhook::postback(&user, at, text("data")?),
                    "message" => webhook::message(&user, at, text("text")?),
                    other => return Err(err("/webhook", format!("unknown webhook `{other}`"))),
                };
                SimKind::Webhook(Box::new(event))
            }
            _ => return Err(err("", "exactly one of `event` and `webhook`".into())),
        };
        let source = match obj.get("source") {
            None => None,
            Some(v) => {
                if obj.get("webhook").and_then(Json::as_str) != Some("follow") {
                    return Err(err("/source", "only a follow has a source".into()));
                }
                let Some(code) = v.as_str() else {
                    return Err(err("/source", "expected a source code (a string)".into()));
                };
                sources::check_code(code).map_err(|m| err("/source", m))?;
                Some(code.to_owned())
            }
        };
        out.push(SimEvent { at, user, kind, source });
    }
    Ok(out)
}

/// The webhook events a simulation replays, typed, as LINE would send them
/// from a user (source `user`, mode `active`).
mod webhook {
    use jiff::Timestamp;
    use line_core::ids::UserId;
    use line_core::webhook::event::{
        AccountLinkEvent, EventMode, FollowDetail, FollowEvent, LinkContent, LinkContentResult, MessageContent,
        MessageEvent, PostbackContent, PostbackEvent, Source, TextMessageContent, UnfollowEvent, UserSource,
    };
    use line_core::webhook::Event;

    /// The reply token of every simulated event that has one.
    const REPLY_TOKEN: &str = "simulated";

    /// Sets the source (the user) and the mode of an event.
    macro_rules! from_user {
        ($e:expr, $user:expr) => {{
            let mut e = $e;
            let mut source = UserSource::new();
            source.user_id = Some($user.clone());
            e.source = Some(Source::User(source));
            e.mode = Some(EventMode::Active);
            e
        }};
    }

    pub(super) fn follow(user: &UserId, at: Timestamp) -> Event {
        let mut e = from_user!(FollowEvent::new(at.as_millisecond(), REPLY_TOKEN), user);
        e.follow = Some(FollowDetail::new(false));
        Event::Follow(e)
    }

    pub(super) fn unfollow(user: &UserId, at: Timestamp) -> Event {
        Event::Unfollow(from_user!(UnfollowEvent::new(at.as_millisecond()), user))
    }

    pub(super) fn account_link(user: &UserId, at: Timestamp) -> Event {
        let link = LinkContent::new(LinkContentResult::Ok, "simulated");
        let mut e = from_user!(AccountLinkEvent::new(at.as_millisecond(), link), user);
        e.reply_token = Some(REPLY_TOKEN.to_owned());
        Event::AccountLink(e)
    }

    pub(super) fn postback(user: &UserId, at: Timestamp, data: &str) -> Event {
        let mut e = from_user!(
            PostbackEvent::new(at.as_millisecond(), PostbackContent::new(data)),
            user
        );
        e.reply_token = Some(REPLY_TOKEN.to_owned());
        Event::Postback(e)
    }

    pub(super) fn message(user: &UserId, at: Timestamp, text: &str) -> Event {
        let mut content = TextMessageContent::new("1", text);
        content.quote_token = Some("q".to_owned());
        let mut e = from_user!(
            MessageEvent::new(at.as_millisecond(), MessageContent::Text(content)),
            user
        );
        e.reply_token = Some(REPLY_TOKEN.to_owned());
        Event::Message(e)
    }
}

/// Settings of a simulation.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Options {
    /// Replay events from this instant (earlier ones are left out).
    pub from: Option<Timestamp>,
    /// Until this instant (later events are left out; wake-ups up to it run).
    pub to: Option<Timestamp>,
    /// Engine settings (time zone, quiet hours).
    pub config: EngineConfig,
    /// The contact budget, if any.
    pub budget: Option<Budget>,
    /// The message plan for the cost.
    pub plan: Option<Plan>,
}

/// What a simulation found.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Outcome {
    /// Everything that happened, in order.
    pub records: Vec<Record>,
    /// The report rows.
    pub rows: Vec<Row>,
    /// Pushes that would have been sent.
    pub sends: u64,
    /// Their cost in yen.
    pub cost: f64,
    /// The scenarios.
    pub scenarios: Vec<Scenario>,
    /// Counts per friend source (empty when neither the scenarios nor the events name one).
    pub sources: Vec<SourceRow>,
}

/// The friend sources of a simulation: every code a follow trigger or an event names, in the
/// order first named; `None` when there is none.
fn simulated_sources(scenarios: &[Scenario], events: &[SimEvent], clock: &ManualClock) -> Result<Option<Sources>> {
    let mut codes: Vec<&str> = Vec::new();
    let mut by_source_trigger = false;
    for s in scenarios {
        if let Trigger::Follow { source: Some(from) } = &s.trigger {
            by_source_trigger = true;
            if let FollowSource::Code(code) = from {
                if !codes.contains(&code.as_str()) {
                    codes.push(code);
                }
            }
        }
    }
    for e in events {
        if let Some(code) = &e.source {
            if !codes.contains(&code.as_str()) {
                codes.push(code);
            }
        }
    }
    if codes.is_empty() && !by_source_trigger {
        return Ok(None);
    }
    // The tracked URLs are never visited by a browser here: any well-formed account will do.
    let mut registry = SourceRegistry::builder("@simulated", "https://simulated.invalid/s");
    for code in codes {
        registry = registry.source(Source::new(code, code));
    }
    Ok(Some(
        Sources::new(registry.build()?, Arc::new(InMemorySources::new())).with_clock(Arc::new(clock.clone())),
    ))
}

/// Replays `events` through `scenarios`.
pub async fn run(
    scenarios: Vec<Scenario>,
    profiles: Vec<Profile>,
    events: Vec<SimEvent>,
    options: Options,
) -> Result<Outcome> {
    let mut events: Vec<SimEvent> = events
        .into_iter()
        .filter(|e| options.from.is_none_or(|f| e.at >= f) && options.to.is_none_or(|t| e.at <= t))
        .collect();
    events.sort_by_key(|e| e.at);
    let start = options
        .from
        .or_else(|| events.first().map(|e| e.at))
        .unwrap_or_else(Timestamp::now);
    let clock = ManualClock::new(start);
    let store = Arc::new(InMemoryStore::new());
    let journal = Arc::new(InMemoryJournal::with_log());
    let sources = simulated_sources(&scenarios, &events, &clock)?;
    let mut builder = Engine::builder(scenarios.clone())
        .state(store.clone())
        .scheduler(store.clone())
        .profiles(Arc::new(InMemoryProfiles::with_profiles(profiles)))
        .sender(Arc::new(RecordingSender::new()))
        .rich_menus(Arc::new(InMemoryRichMenus::new()))
        .journal(journal.clone())
        .clock(Arc::new(clock.clone()))
        .config(options.config.clone());
    if let Some(b) = &options.budget {
        builder = builder.gate(Gate::new(Arc::new(InMemoryContacts::new()), b.clone()));
    }
    if let Some(s) = &sources {
        builder = builder.sources(s.clone());
    }
    let engine = builder.build()?;
    let calendar = scenarios
        .iter()
        .any(|s| matches!(s.trigger, Trigger::Birthday(_) | Trigger::At(_)));
    let last_event = events.last().map_or(start, |e| e.at);
    let tick_until = options.to.unwrap_or(last_event);
    let end = options.to.unwrap_or_else(|| {
        last_event
            .checked_add(SignedDuration::from_hours(400 * 24))
            .unwrap_or(last_event)
    });
    let mut next_tick = calendar.then_some(start);

    for e in &events {
        next_tick = drain(&engine, &store, &clock, e.at, tick_until, next_tick).await?;
        clock.set(e.at.max(clock.now()));
        match &e.kind {
            SimKind::Host { name, props } => {
                let mut ev = Event::new(name.as_str(), e.at);
                for (k, v) in props {
                    ev = ev.with(k.as_str(), v.clone());
                }
                engine.on_event(&e.user, &ev).await?;
            }
            SimKind::Webhook(w) => {
                if let (Some(code), Some(s)) = (&e.source, &sources) {
                    // The tracked link, just before the follow: the visit, then the LIFF app's binding.
                    let visit = s.visit(code).await?;
                    s.bind(&visit.token, &e.user).await?;
                }
                engine.on_webhook(w).await?
            }
        }
    }
    drain(&engine, &store, &clock, end, tick_until, next_tick).await?;

    let records = journal.log();
    let plan = options.plan.unwrap_or(Plan::new(0, 0.0));
    let rows = stats::report(&scenarios, &|id| journal.counts(id), &plan, 0);
    let sends = records
        .iter()
        .filter(|r| matches!(r.kind, RecordKind::Sent { .. }))
        .count() as u64;
    let sources = match &sources {
        Some(s) => s.report().await?,
        None => Vec::new(),
    };
    Ok(Outcome {
        sources,
        cost: plan.cost(0, sends),
        records,
        rows,
        sends,
        scenarios,
    })
}

/// Runs wake-ups and calendar ticks up to `until`, in time order; returns the next tick.
async fn drain(
    engine: &Engine,
    store: &InMemoryStore,
    clock: &ManualClock,
    until: Timestamp,
    tick_until: Timestamp,
    mut next_tick: Option<Timestamp>,
) -> Result<Option<Timestamp>> {
    loop {
        let due = store.next_due().filter(|d| *d <= until);
        let tick = next_tick.filter(|t| *t <= until && *t <= tick_until);
        let next = match (due, tick) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) => a,
            (None, Some(b)) => b,
            (None, None) => return Ok(next_tick),
        };
        clock.set(next.max(clock.now()));
        if tick == Some(next) {
            engine.calendar_tick().await?;
            next_tick = next.checked_add(SignedDuration::from_hours(1)).ok();
        }
        engine.run_due().await?;
    }
}

/// The timeline (one line per record: time, user, scenario, step, what), the table, the friend
/// sources' counts (when there are sources) and the cost.
pub fn render(outcome: &Outcome) -> String {
    let step_name = |scenario: &str, step: Option<u16>| -> String {
        let Some(i) = step else { return "-".into() };
        outcome
            .scenarios
            .iter()
            .find(|s| s.id == scenario)
            .and_then(|s| s.steps.get(usize::from(i)))
            .map_or_else(|| i.to_string(), |s| s.id.clone())
    };
    let mut out = String::new();
    for r in &outcome.records {
        let what = match &r.kind {
            RecordKind::Entered => "entered".to_owned(),
            RecordKind::Sent { messages } => format!("sent ({messages} message object(s))"),
            RecordKind::Skipped(reason) => format!("held back: {}", reason.name()),
            RecordKind::Deferred { until } => format!("deferred by quiet hours until {until}"),
            RecordKind::Acted => "acted".to_owned(),
            RecordKind::Exited(reason) => format!("exited ({})", reason.name()),
            RecordKind::Conversion { revenue } => format!("conversion {}", stats::yen(*revenue)),
            RecordKind::Clicked => "clicked a tracked link".to_owned(),
        };
        out.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\n",
            r.at,
            r.user.as_str(),
            r.scenario,
            step_name(&r.scenario, r.step),
            what
        ));
    }
    out.push('\n');
    out.push_str(&stats::render_table(&outcome.rows));
    if !outcome.sources.is_empty() {
        out.push_str("\nFriend sources:\n");
        out.push_str(&sources::render_table(&outcome.sources));
    }
    out.push_str(&format!(
        "\n{} message(s) would be sent, costing {}\n",
        outcome.sends,
        stats::yen(outcome.cost)
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Each simulated webhook event is the JSON LINE would send for it, and
    /// reads back as the same typed event.
    #[test]
    fn simulated_webhook_events_are_what_line_sends() {
        let user = "U0123456789abcdef0123456789abcdef";
        let ms = 1_778_810_400_000_i64; // 2026-05-15T02:00:00Z
        let common = json!({"timestamp": ms, "mode": "active", "source": {"type": "user", "userId": user}});
        let with = |extra: serde_json::Value| {
            let mut v = common.clone();
            v.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            v
        };
        let cases = [
            (
                r#""webhook": "follow""#,
                with(json!({"type": "follow", "replyToken": "simulated", "follow": {"isUnblocked": false}})),
            ),
            (r#""webhook": "unfollow""#, with(json!({"type": "unfollow"}))),
            (
                r#""webhook": "account_link""#,
                with(json!({"type": "accountLink", "replyToken": "simulated",
                            "link": {"result": "ok", "nonce": "simulated"}})),
            ),
            (
                r#""webhook": "postback", "data": "survey=cosmetics""#,
                with(json!({"type": "postback", "replyToken": "simulated",
                            "postback": {"data": "survey=cosmetics"}})),
            ),
            (
                r#""webhook": "message", "text": "coupon""#,
                with(json!({"type": "message", "replyToken": "simulated",
                            "message": {"type": "text", "id": "1", "text": "coupon", "quoteToken": "q"}})),
            ),
        ];
        for (line, expected) in cases {
            let text = format!(r#"{{"at": "2026-05-15T02:00:00Z", "user": "{user}", {line}}}"#);
            let events = parse_events(&text).unwrap();
            let SimKind::Webhook(event) = &events[0].kind else {
                panic!("{line}: not a webhook event")
            };
            assert_eq!(serde_json::to_value(event).unwrap(), expected, "{line}");
            let back: line_core::webhook::Event = serde_json::from_value(expected).unwrap();
            assert_eq!(&back, &**event, "{line}");
        }
    }

    #[test]
    fn a_postback_without_data_names_the_key() {
        let text = r#"{"at": "2026-05-15T02:00:00Z", "user": "U1", "webhook": "postback"}"#;
        let e = parse_events(text).unwrap_err().to_string();
        assert!(e.contains("/data") && e.contains("a postback needs `data`"), "{e}");
    }
}
