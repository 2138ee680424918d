//! Step 7 of the tour: system deliveries with line-scenarios, on the emulator and its clock.
//!
//! - Cart abandonment: six friends add an item to the cart; an hour later those who did not buy
//!   get one reminder showing their item; a purchase ends the scenario as a conversion with its
//!   revenue (before the reminder, or within a day after it, credited to the reminder).
//! - Birthday month: a coupon for the friends whose birthday month it is in Asia/Tokyo, once.
//!
//! The engine sends through the tour's client with retry keys derived from (scenario, user,
//! entry, step); a second run of everything due sends nothing more.

use std::io::Write;
use std::sync::Arc;

use jiff::SignedDuration;
use line_core::client::Client;
use line_core::clock::{Clock, ManualClock};
use line_core::UserId;
use line_emulator::Emulator;
use line_scenarios::profiles::InMemoryProfiles;
use line_scenarios::stats::{self, InMemoryJournal, Plan};
use line_scenarios::store::{Scheduler, StateStore};
use line_scenarios::Engine;
use line_segments::profile::{Event, Profile, Value};

use crate::error::{Error, ErrorKind};
use crate::table::heading;

/// The cart-abandonment scenario.
pub const CART_SCENARIO: &str = r#"{
  "id": "cart_abandonment",
  "name": "Cart abandonment reminder",
  "priority": 10,
  "trigger": {"event": {"name": "cart_updated"}},
  "steps": [
    {"id": "wait_1h", "wait": {"for": "1h"}},
    {"id": "bought", "if": {"event_since_entry": {"name": "purchase"}}, "then": "end", "else": "reminder"},
    {"id": "reminder", "send": {"flex": {
      "alt_text": "{item} is still in your cart",
      "contents": {"type": "bubble", "body": {"type": "box", "layout": "vertical", "contents": [
        {"type": "text", "text": "Still thinking about it?", "weight": "bold"},
        {"type": "text", "text": "{item} is waiting in your cart", "wrap": true}]}},
      "vars": {"item": {"event": "item"}}}}},
    {"id": "grace", "wait": {"for": "1d"}},
    {"id": "end", "exit": {}}
  ],
  "goals": [{"event": "purchase", "revenue": "amount"}]
}"#;

/// The birthday-month coupon scenario.
pub const BIRTHDAY_SCENARIO: &str = r#"{
  "id": "birthday_month",
  "name": "Birthday month coupon",
  "time_zone": "Asia/Tokyo",
  "trigger": {"birthday": {"attribute": "birthday", "match": "month", "at": "09:00"}},
  "entry": {"reentry": {"once_per": "300d"}},
  "steps": [
    {"id": "coupon", "send": {"messages": [{"type": "text", "text": "Happy birthday month! 20% off with code BDAY20"}]}}
  ],
  "goals": [{"event": "purchase", "revenue": "amount"}]
}"#;

/// What step 7 did.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct ScenarioTotals {
    /// Users who entered the cart scenario.
    pub cart_entered: u64,
    /// Cart reminders sent (and delivered by the emulator).
    pub cart_reminders: u64,
    /// Purchases that ended the cart scenario.
    pub cart_conversions: u64,
    /// Their revenue in yen.
    pub cart_revenue: i64,
    /// Conversions credited to the reminder step.
    pub reminder_conversions: u64,
    /// Birthday coupons sent.
    pub birthday_coupons: u64,
    /// Messages the emulator received during the step.
    pub messages_delivered: usize,
}

fn scenario_error(action: &str) -> impl FnOnce(line_scenarios::Error) -> Error + '_ {
    move |e| Error::with_source(ErrorKind::Scenario { action: action.into() }, e)
}

/// Runs step 7 for `friends` (at least 14 existing friends, in a fixed order), with the
/// scenario state and wake-ups in `state` and `scheduler`, and checks on the emulator what
/// was delivered.
pub async fn step(
    out: &mut dyn Write,
    emu: &Emulator,
    client: &Client,
    clock: &ManualClock,
    friends: &[(UserId, String)],
    (state, scheduler): (Arc<dyn StateStore>, Arc<dyn Scheduler>),
) -> Result<ScenarioTotals, Error> {
    heading(out, "7. System deliveries: cart abandonment and birthday month")?;
    if friends.len() < 14 {
        return Err(Error::check("step 7 needs at least 14 friends"));
    }
    let now = clock.now();
    let tokyo = jiff::tz::TimeZone::get("Asia/Tokyo").map_err(|e| {
        Error::with_source(
            ErrorKind::Check {
                what: "time zone".into(),
            },
            e,
        )
    })?;
    let this_month = now.to_zoned(tokyo).month();
    // Friends 6..14 have birthdays: 6, 7 and 8 this month (in Tokyo), the others in other months.
    let profiles = Arc::new(InMemoryProfiles::new());
    for (i, (id, _)) in friends.iter().enumerate().take(14) {
        let mut p = Profile::new(id.clone());
        if i >= 6 {
            let month = if i <= 8 {
                this_month
            } else {
                (this_month + i as i8) % 12 + 1
            };
            let month = if i > 8 && month == this_month {
                month % 12 + 1
            } else {
                month
            };
            let day = 1 + (i as i8 % 28);
            p = p.with_attr("birthday", Value::Date(jiff::civil::date(1990, month, day)));
        }
        profiles.insert(p);
    }

    let journal = Arc::new(InMemoryJournal::new());
    let scenarios = vec![
        line_scenarios::json::from_str(CART_SCENARIO).map_err(scenario_error("parse the cart scenario"))?,
        line_scenarios::json::from_str(BIRTHDAY_SCENARIO).map_err(scenario_error("parse the birthday scenario"))?,
    ];
    let engine = Engine::builder(scenarios.clone())
        .state(state)
        .scheduler(scheduler)
        .profiles(profiles.clone())
        .sender(Arc::new(client.clone()))
        .journal(journal.clone())
        .clock(Arc::new(clock.clone()))
        .build()
        .map_err(scenario_error("build the engine"))?;
    let delivered_before = emu.delivered_count();

    // Cart abandonment: friends 0..6 add an item; 1 and 4 buy within the hour.
    let items = [
        "Silk scarf",
        "Face cream",
        "Linen shirt",
        "Lip balm",
        "Tote bag",
        "Denim jacket",
    ];
    for (i, (id, _)) in friends.iter().take(6).enumerate() {
        let e = Event::new("cart_updated", clock.now()).with("item", Value::Str(items[i].into()));
        engine.on_event(id, &e).await.map_err(scenario_error("cart_updated"))?;
        clock.advance(SignedDuration::from_mins(1));
    }
    clock.advance(SignedDuration::from_mins(20));
    for (i, amount) in [(1usize, 4_800.0), (4, 12_000.0)] {
        let e = Event::new("purchase", clock.now()).with("amount", Value::Num(amount));
        engine
            .on_event(&friends[i].0, &e)
            .await
            .map_err(scenario_error("purchase"))?;
    }
    clock.advance(SignedDuration::from_mins(40));
    let first = engine.run_due().await.map_err(scenario_error("run due steps"))?;
    let again = engine.run_due().await.map_err(scenario_error("run due steps"))?;
    if first.failed + again.failed > 0 {
        return Err(Error::check("a due step failed"));
    }
    // Friend 2 buys the shirt two hours after the reminder: a conversion of the reminder.
    clock.advance(SignedDuration::from_hours(2));
    let e = Event::new("purchase", clock.now()).with("amount", Value::Num(8_900.0));
    engine
        .on_event(&friends[2].0, &e)
        .await
        .map_err(scenario_error("purchase"))?;

    // Check on the emulator: each reminded friend got their own item, once.
    for (i, (id, name)) in friends.iter().take(6).enumerate() {
        let texts: Vec<String> = emu
            .messages(id)
            .iter()
            .filter_map(|m| serde_json::to_string(&*m.message).ok())
            .filter(|j| j.contains("is still in your cart"))
            .collect();
        let expected = usize::from(i != 1 && i != 4);
        if texts.len() != expected || (expected == 1 && !texts[0].contains(items[i])) {
            return Err(Error::check(format!(
                "{name}: {} cart reminder(s): {texts:?}",
                texts.len()
            )));
        }
    }

    // Birthday month: the calendar check runs (here: once, then again the next day).
    let coupons_first = engine.calendar_tick().await.map_err(scenario_error("calendar"))?;
    clock.advance(SignedDuration::from_hours(24));
    let coupons_again = engine.calendar_tick().await.map_err(scenario_error("calendar"))?;
    if coupons_again != 0 {
        return Err(Error::check("a birthday coupon was sent twice"));
    }
    for (i, (id, name)) in friends.iter().enumerate().take(14).skip(6) {
        let got = emu
            .messages(id)
            .iter()
            .filter_map(|m| serde_json::to_string(&*m.message).ok())
            .filter(|j| j.contains("BDAY20"))
            .count();
        if got != usize::from(i <= 8) {
            return Err(Error::check(format!("{name}: {got} birthday coupon(s)")));
        }
    }

    let cart = journal.counts("cart_abandonment");
    let birthday = journal.counts("birthday_month");
    let totals = ScenarioTotals {
        cart_entered: cart.total.entered,
        cart_reminders: cart.total.sent,
        cart_conversions: cart.total.conversions,
        cart_revenue: cart.total.revenue as i64,
        reminder_conversions: cart.steps.get(&2).map_or(0, |s| s.conversions),
        birthday_coupons: birthday.total.sent,
        messages_delivered: emu.delivered_count() - delivered_before,
    };
    writeln!(
        out,
        "cart: {} entered, {} reminders, {} purchases (¥{}); birthday coupons: {} (first check {}, next day {})",
        totals.cart_entered,
        totals.cart_reminders,
        totals.cart_conversions,
        crate::tour::grouped(totals.cart_revenue),
        totals.birthday_coupons,
        coupons_first,
        coupons_again
    )?;
    // The cost as if the month's 30,000 included messages were used up (¥3 per message).
    let plan = Plan::new(30_000, 3.0);
    let rows = stats::report(&scenarios, &|id| journal.counts(id), &plan, 30_000);
    write!(out, "{}", stats::render_table(&rows))?;
    writeln!(
        out,
        "Checked on the emulator: {} reminders with the right item, {} coupons, nothing twice (at {}).",
        totals.cart_reminders,
        totals.birthday_coupons,
        clock.now()
    )?;
    Ok(totals)
}
