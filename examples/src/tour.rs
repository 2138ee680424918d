//! The tour: the whole journey of a LINE Official Account on the embedded
//! emulator, in one call.
//!
//! [`run`] starts a [`line_emulator::Emulator`], the shop's webhook bot
//! ([`crate::bot::ShopBot`]) and the in-memory stores of every crate, then:
//!
//! 1. site visitors get popup decisions (caps visible), and some add the
//!    account as friends through the popup (attribution recorded);
//! 2. follow events get a greeting and a Flex survey; answers update profiles;
//! 3. account link: link token, nonce, `accountLink` event, member id stored,
//!    rich menu switched from guest to member;
//! 4. a segment campaign: compiled, dry-run, planned (narrowcast or
//!    multicast), sent, and delivery checked on the emulator;
//! 5. personalized pushes ("¥X more to reach REINE") rendered per user from a
//!    Flex template;
//! 6. a report;
//! 7. system deliveries ([`crate::tour_scenarios`]): cart abandonment and a
//!    birthday-month coupon, run by line-scenarios on the emulated clock.
//!
//! Time is a [`ManualClock`] starting at 2026-05-15 10:00 JST, so every run
//! gives the same totals ([`TourTotals`]).

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use line_core::client::Client;
use line_core::clock::{Clock, ManualClock};
use line_core::model::{Message, NarrowcastRequest};
use line_core::webhook::account_link::{AccountLink, NonceStore};
use line_core::webhook::WebhookVerifier;
use line_core::UserId;
use line_emulator::{Emulator, EmulatorConfig, UserSpec, WebhookDelivery};
use line_flex::template::Template;
use line_flex::value::{px, Color, SizeKeyword, Space};
use line_flex::{vbox, Bubble, Text};
use line_popup::{
    Banner, Campaign, Caps, Decision, Device, EventKind, Goal, LineStatus, LoginConfig, PopupConfig, PopupEngine,
    Reason, VisitorContext,
};
use line_richmenu::store::UserContext;
use line_richmenu::{Bounds, Condition, EventHandler, Image, Menu, MenuDef, MenuSet, Policy, RichMenus};
use line_segments::eval::CompiledSegment;
use line_segments::execute::{Checkpoint, ExecuteOptions, Executor, Polling, Report};
use line_segments::narrowcast::{plan, Plan, PlanOptions};
use line_segments::profile::{Event as ProfileEvent, Profile, Value};
use line_segments::source::InMemorySource;

use crate::bot::{ShopBot, SURVEY_PREFIX};
use crate::error::{Error, ErrorKind};
use crate::stores::{StoreUrl, Stores};
use crate::table::{heading, Table};

/// When the tour starts: 2026-05-15 10:00 in Tokyo.
pub const START: &str = "2026-05-15T01:00:00Z";

/// The most messages a campaign `plan` can use of the monthly quota, for the
/// quota gate: a multicast's exact count; a narrowcast's uploaded audience
/// (LINE's filter can only narrow it) or the request's `limit.max`, whichever is
/// smaller. `None` when nothing bounds it (a narrowcast that only LINE can size,
/// sent without `limit.max`): the gate must then refuse, never count it as 0.
pub fn quota_upper_bound(plan: &Plan, limit_max: Option<i64>) -> Option<i64> {
    let planned = plan.estimated_messages().map(|n| i64::try_from(n).unwrap_or(i64::MAX));
    let limit = match plan {
        Plan::Narrowcast(_) => limit_max.map(|m| m.max(0)),
        Plan::Multicast(_) => None,
    };
    match (planned, limit) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// How the tour waits for the emulator's audience and narrowcast jobs: it runs them at once, so
/// short delays suffice (LINE's take minutes; the executor's defaults are sized for those).
fn polling() -> Polling {
    Polling::new(
        std::time::Duration::from_millis(10),
        std::time::Duration::from_millis(200),
        std::time::Duration::from_secs(60),
    )
}

/// The segment of the campaign in step 4.
pub const CAMPAIGN_SEGMENT: &str =
    r#"demo.gender("female") and "cosmetics" in interests and is_friend and not blocked"#;

/// A segment that LINE cannot target as a narrowcast (an `or` across LINE
/// demographics and first-party data): its plan falls back to multicast.
pub const FALLBACK_SEGMENT: &str = r#"demo.gender("female") or id_linked"#;

/// The segment of the personalized pushes in step 5: ¥40,000 to ¥49,999 spent in a year.
pub const TIER_SEGMENT: &str =
    "sum(purchase.amount, 365d) >= 40000 and sum(purchase.amount, 365d) < 50000 and is_friend and not blocked";

/// Yearly spend that reaches the REINE tier.
pub const REINE_YEN: i64 = 50_000;

/// Settings of a tour run.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TourOptions {
    /// Friends the account has before the tour (each with a profile, a
    /// purchase and demographics). At least 60, so that the campaign's
    /// uploaded audience reaches LINE's minimum of 50.
    pub existing_friends: usize,
    /// Where the host stores live (`--store`): in memory by default. On SQLite or
    /// PostgreSQL every store of the run is durable; since each run starts a fresh
    /// emulator, each run keeps its tables under a prefix of its own (printed).
    pub store: StoreUrl,
}

impl Default for TourOptions {
    fn default() -> Self {
        Self {
            existing_friends: 120,
            store: StoreUrl::Memory,
        }
    }
}

impl TourOptions {
    /// The default tour with its stores on `store`.
    pub fn with_store(mut self, store: StoreUrl) -> Self {
        self.store = store;
        self
    }
}

/// What the tour did, for its report and for tests.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct TourTotals {
    /// Site visitors simulated.
    pub visitors: usize,
    /// Page views, each with a popup decision.
    pub page_views: usize,
    /// Popups shown.
    pub popups_shown: usize,
    /// Page views on which a cap (not targeting) hid the popup.
    pub hidden_by_cap: usize,
    /// Friends who came through the popup (attributed conversions).
    pub popup_friends: u64,
    /// All new friends during the tour (follow events).
    pub new_friends: u64,
    /// Friends at the end.
    pub friends: usize,
    /// Friends with a linked member id at the end.
    pub linked: usize,
    /// Account links completed in step 3.
    pub account_links: usize,
    /// Users in the campaign's uploaded audience (the local part of the segment).
    pub campaign_audience: usize,
    /// Users the campaign reached (after LINE's demographic filter).
    pub campaign_delivered: usize,
    /// Personalized pushes sent.
    pub tier_pushes: usize,
    /// Messages delivered in all (replies included).
    pub messages_delivered: usize,
    /// Messages counted against the monthly quota (replies are free).
    pub quota_used: i64,
    /// Step 7: system deliveries (after the report, so the totals above do not include them).
    pub scenarios: crate::tour_scenarios::ScenarioTotals,
    /// Step 8: notification messages by phone number, by outcome.
    pub notices: line_pnp::NoticeCounts,
}

impl TourTotals {
    /// Linked friends over all friends, in percent.
    pub fn link_rate_percent(&self) -> f64 {
        percent(self.linked as u64, self.friends as u64)
    }

    /// Popup friends over all new friends, in percent.
    pub fn popup_share_percent(&self) -> f64 {
        percent(self.popup_friends, self.new_friends)
    }
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

/// `¥42,000`.
pub fn yen(amount: i64) -> String {
    format!("{}¥{}", if amount < 0 { "-" } else { "" }, grouped(amount.abs()))
}

/// `10,000`: digits grouped by three.
pub fn grouped(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    format!("{}{out}", if n < 0 { "-" } else { "" })
}

/// A user the tour knows: the emulator's side (demographics) and the shop's.
#[derive(Debug, Clone)]
struct Person {
    id: UserId,
    name: String,
    female: bool,
}

/// A site visitor of step 1.
#[derive(Debug)]
struct Visitor {
    person: Person,
    visitor_id: String,
    status: LineStatus,
    /// What the visitor does with the first popup: 0 dismiss, 1 add friend, 2 ignore.
    behaviour: usize,
    /// Survey answer after becoming a friend.
    interest: &'static str,
    trail: Vec<String>,
    variant: String,
}

/// Everything a step needs.
struct Ctx<'a> {
    out: &'a mut dyn Write,
    clock: ManualClock,
    emu: Emulator,
    client: Client,
    bot: Arc<ShopBot>,
    popup: Arc<PopupEngine>,
    nonces: Arc<dyn NonceStore>,
    scenario_stores: (
        Arc<dyn line_scenarios::store::StateStore>,
        Arc<dyn line_scenarios::store::Scheduler>,
    ),
    menu_keys: BTreeMap<String, String>,
    people: BTreeMap<UserId, Person>,
    totals: TourTotals,
    notifier: line_pnp::Notifier,
    sms: Arc<crate::tour_pnp::ShopSms>,
}

/// Runs the tour on the emulator, writing a readable account to `out`.
///
/// Fails with a typed error when a step fails or when a check of the outcome
/// (what the emulator delivered against what was sent) does not hold.
pub async fn run(out: &mut dyn Write, options: &TourOptions) -> Result<TourTotals, Error> {
    if options.existing_friends < 60 {
        return Err(Error::new(ErrorKind::Config {
            field: "existing_friends".into(),
            reason: format!("must be at least 60, got {}", options.existing_friends),
        }));
    }
    let start: Timestamp = START.parse().map_err(|e| {
        Error::with_source(
            ErrorKind::Config {
                field: "START".into(),
                reason: "not a timestamp".into(),
            },
            e,
        )
    })?;
    let clock = ManualClock::new(start);
    let shared_clock: Arc<dyn Clock> = Arc::new(clock.clone());

    writeln!(
        out,
        "line-rs tour: a LINE Official Account for a fashion shop, on the embedded emulator"
    )?;
    writeln!(out, "(emulated time starts {start}; nothing leaves 127.0.0.1)")?;

    // The bot's socket first, so that the emulator knows where to send webhooks.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let webhook_url = format!("http://{}/callback", listener.local_addr()?);
    let config = EmulatorConfig::new()
        .clock(shared_clock.clone())
        .webhook_url(webhook_url.clone())
        .monthly_quota(Some(10_000))
        .seed(7);
    let emu = Emulator::start_with(config).await.map_err(Error::emulator("start"))?;
    let client = emu.client_builder().build().map_err(Error::api("build the client"))?;

    // Every host store on the `--store` backend. The emulator starts empty on each run,
    // so a durable run keeps its tables under a prefix of its own.
    let prefix = match options.store {
        StoreUrl::Memory => "line_".to_owned(),
        _ => format!("tour_{:08x}_", rand::random::<u32>()),
    };
    let stores = Stores::open(&options.store, &prefix, shared_clock.clone()).await?;

    // Rich menus: deployed before anyone arrives.
    let richmenus = RichMenus::new(client.clone(), stores.menus.clone(), stores.assignments.clone())
        .with_clock(shared_clock.clone());
    let deploy = richmenus
        .deploy(&menu_set()?)
        .await
        .map_err(Error::richmenu("deploy"))?;
    let menu_keys: BTreeMap<String, String> = deploy
        .live
        .iter()
        .map(|(key, id)| (id.as_str().to_owned(), key.clone()))
        .collect();
    let policy = Arc::new(Policy::new("guest").rule("members", Condition::Linked(true), "member"));
    let directory = stores.directory.clone();
    let handler = EventHandler::new(richmenus.clone(), policy.clone(), directory.clone());

    let popup = Arc::new(
        PopupEngine::builder(popup_config(), stores.popup.clone(), shared_clock.clone())
            .build()
            .map_err(Error::popup("configure"))?,
    );
    let nonces = stores.nonces.clone();
    // Notification messages by phone number (step 8), with the shop's SMS gateway.
    let sms = Arc::new(crate::tour_pnp::ShopSms::default());
    let notifier = line_pnp::Notifier::new(client.clone(), stores.notices.clone(), sms.clone())
        .policy(line_pnp::FallbackPolicy::waiting(crate::tour_pnp::WAIT_FOR_DELIVERY))
        .clock(shared_clock.clone());
    let bot = Arc::new(
        ShopBot::new(
            client.clone(),
            shared_clock.clone(),
            popup.clone(),
            handler,
            nonces.clone(),
        )
        .with_dedupe(stores.dedupe.clone())
        .with_notices(notifier.clone()),
    );
    let app = bot.clone().router(WebhookVerifier::new(emu.channel_secret()));
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let mut ctx = Ctx {
        out,
        clock,
        emu,
        client,
        bot,
        popup,
        nonces,
        scenario_stores: (stores.scenario_state.clone(), stores.scheduler.clone()),
        menu_keys,
        people: BTreeMap::new(),
        totals: TourTotals::default(),
        notifier,
        sms,
    };

    // The friends the account already has, with their profiles and menus.
    let contexts = ctx.seed_friends(options.existing_friends);
    for c in &contexts {
        directory
            .put(c.clone())
            .await
            .map_err(Error::richmenu("store a user"))?;
    }
    let reconciled = richmenus
        .reconcile(&policy, contexts)
        .await
        .map_err(Error::richmenu("reconcile"))?;
    heading(ctx.out, "0. Setup")?;
    let mut t = Table::new(["piece", "state"]);
    t.row([
        "emulator".to_owned(),
        format!("{} (monthly quota 10,000)", ctx.emu.base_url()),
    ]);
    t.row(["webhook bot".to_owned(), webhook_url]);
    let where_ = match options.store {
        StoreUrl::Memory => stores.url.to_string(),
        _ => format!("{}, tables under {prefix}", stores.url),
    };
    t.row(["stores".to_owned(), where_]);
    for note in &stores.notes {
        t.row(["note".to_owned(), note.clone()]);
    }
    t.row([
        "rich menus".to_owned(),
        format!(
            "{} deployed: {}",
            deploy.created.len(),
            deploy.live.keys().cloned().collect::<Vec<_>>().join(", ")
        ),
    ]);
    t.row([
        "existing friends".to_owned(),
        format!(
            "{} profiles; menus assigned: {}",
            options.existing_friends,
            reconciled
                .moved
                .iter()
                .map(|(k, n)| format!("{n} {}", if k.is_empty() { "default" } else { k }))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    ]);
    t.write_to(ctx.out)?;

    let result = ctx.steps().await;
    server.abort();
    let totals = result?;
    Ok(totals)
}

impl Ctx<'_> {
    async fn steps(&mut self) -> Result<TourTotals, Error> {
        let mut visitors = self.step_popups().await?;
        self.step_follow_and_survey(&mut visitors).await?;
        self.step_account_link(&visitors).await?;
        self.step_campaign().await?;
        self.step_tier_pushes().await?;
        self.step_report().await?;
        self.step_scenarios().await?;
        self.totals.notices =
            crate::tour_pnp::step(self.out, &self.emu, &self.notifier, &self.sms, &self.clock).await?;
        Ok(self.totals.clone())
    }

    /// Step 7, in [`crate::tour_scenarios`]: the existing friends in their order of arrival.
    async fn step_scenarios(&mut self) -> Result<(), Error> {
        let mut friends: Vec<(UserId, String)> = self
            .people
            .values()
            .filter(|p| p.name.starts_with("Friend "))
            .map(|p| (p.id.clone(), p.name.clone()))
            .collect();
        friends.sort_by(|a, b| a.1.cmp(&b.1));
        self.totals.scenarios = crate::tour_scenarios::step(
            self.out,
            &self.emu,
            &self.client,
            &self.clock,
            &friends,
            self.scenario_stores.clone(),
        )
        .await?;
        Ok(())
    }

    fn add_person(&mut self, spec: UserSpec, name: &str, female: bool) -> Person {
        let id = self.emu.add_user(spec);
        let p = Person {
            id: id.clone(),
            name: name.to_owned(),
            female,
        };
        self.people.insert(id, p.clone());
        p
    }

    /// Existing friends: profile, purchase, demographics and link status.
    fn seed_friends(&mut self, n: usize) -> Vec<UserContext> {
        let now = self.clock.now();
        let mut contexts = Vec::with_capacity(n);
        for i in 0..n {
            let female = i.is_multiple_of(2);
            let name = format!("Friend {:03}", i + 1);
            let spec = UserSpec::new(&name)
                .gender(if female { "female" } else { "male" })
                .age(20 + (i % 30) as u8)
                .area("jp_13")
                .friend_days(200);
            let person = self.add_person(spec, &name, female);
            let interest = if i.is_multiple_of(3) { "fashion" } else { "cosmetics" };
            let amount = (i % 10) as f64 * 5_000.0 + 2_000.0;
            let linked = i.is_multiple_of(4);
            let mut profile = Profile::new(person.id.clone())
                .with_attr("interests", Value::Set(vec![interest.to_owned()]))
                .with_event(
                    ProfileEvent::new("purchase", now - SignedDuration::from_hours(24 * 60))
                        .with("amount", Value::Num(amount)),
                );
            profile.line.is_friend = Some(true);
            profile.line.blocked = Some(false);
            profile.line.id_linked = Some(linked);
            profile.line.friend_since = Some(now - SignedDuration::from_hours(24 * 200));
            profile.line.friend_source = Some("store".into());
            self.bot.put_profile(profile);
            contexts.push(UserContext::new(person.id.clone()).linked(linked));
        }
        contexts
    }

    /// Fails if the webhook was not answered with 200 or the bot kept an error.
    fn delivered(&self, what: &str, d: Result<WebhookDelivery, line_emulator::Error>) -> Result<(), Error> {
        let d = d.map_err(Error::emulator(what))?;
        if let Some(e) = self.bot.take_error() {
            return Err(e);
        }
        if d.status != Some(200) {
            return Err(Error::check(format!("{what}: the webhook answered {:?}", d.status)));
        }
        Ok(())
    }

    fn name(&self, id: &UserId) -> String {
        self.people.get(id).map_or_else(|| id.to_string(), |p| p.name.clone())
    }

    fn write_log(&mut self, filter: impl Fn(&crate::bot::LogLine) -> bool) -> Result<Vec<crate::bot::LogLine>, Error> {
        let (shown, kept): (Vec<_>, Vec<_>) = self.bot.take_log().into_iter().partition(|l| filter(l));
        let mut t = Table::new(["user", "event", "what the bot did"]);
        for l in &shown {
            t.row([self.name(&l.user), l.event.clone(), l.action.clone()]);
        }
        if !t.is_empty() {
            t.write_to(self.out)?;
        }
        Ok(kept)
    }

    async fn step_popups(&mut self) -> Result<Vec<Visitor>, Error> {
        heading(self.out, "1. Site popups: decisions, caps and attribution")?;
        writeln!(
            self.out,
            "Campaign `friend-popup` (goal: LINE Login with bot_prompt): caps 1 per session, 2 per lifetime,\n\
             7 days of cool-down after a dismiss, none after a conversion. 10 visitors over 3 days.\n"
        )?;
        let names = [
            "Aoi", "Yui", "Mio", "Sota", "Riku", "Hina", "Sakura", "Mei", "Haruto", "Yuto",
        ];
        let interests = [
            "fashion",
            "cosmetics",
            "home",
            "fashion",
            "cosmetics",
            "home",
            "fashion",
            "fashion",
            "home",
            "home",
        ];
        let mut visitors = Vec::new();
        for (i, name) in names.iter().enumerate() {
            // Visitors 1 and 7 are women, visitor 4 is a man (the campaign filters on gender).
            let female = matches!(i, 0 | 1 | 2 | 5 | 6 | 7);
            let spec = UserSpec::new(*name)
                .friend(false)
                .gender(if female { "female" } else { "male" })
                .age(30)
                .area("jp_13");
            let person = self.add_person(spec, name, female);
            visitors.push(Visitor {
                person,
                visitor_id: format!("v-{:04}", 1000 + i),
                status: LineStatus::Unknown,
                behaviour: i % 3,
                interest: interests[i],
                trail: Vec::new(),
                variant: "-".into(),
            });
        }
        let day_pages: [&[&str]; 3] = [&["/", "/products/1", "/products/2"], &["/"], &["/"]];
        for (day, pages) in day_pages.iter().enumerate() {
            for v in visitors.iter_mut() {
                let session = format!("s{day}-{}", v.visitor_id);
                for page in pages.iter() {
                    let mut vctx =
                        VisitorContext::new(&v.visitor_id, &session, *page, Device::Mobile).with_line(v.status);
                    if v.status != LineStatus::Unknown {
                        vctx.line_user_id = Some(v.person.id.clone());
                    }
                    let decision = self.popup.decide(&vctx).await.map_err(Error::popup("decide"))?;
                    self.totals.page_views += 1;
                    match decision {
                        Decision::Show(showing) => {
                            self.totals.popups_shown += 1;
                            v.variant = showing.banner.id.clone();
                            self.popup
                                .record(&showing.token, EventKind::Shown)
                                .await
                                .map_err(Error::popup("record shown"))?;
                            let cell = if day == 0 && v.behaviour == 0 {
                                self.popup
                                    .record(&showing.token, EventKind::Dismissed)
                                    .await
                                    .map_err(Error::popup("record dismissed"))?;
                                "shown, dismissed"
                            } else if day == 0 && v.behaviour == 1 {
                                self.popup
                                    .record(&showing.token, EventKind::Clicked)
                                    .await
                                    .map_err(Error::popup("record clicked"))?;
                                // LINE Login comes back with state = token and the user's id;
                                // the host ties them together, then the user adds the account.
                                let bound = self
                                    .popup
                                    .bind_line_user(&showing.token, &v.person.id)
                                    .await
                                    .map_err(Error::popup("bind the LINE user"))?;
                                if !bound {
                                    return Err(Error::check("a fresh popup token did not bind"));
                                }
                                let d = self.emu.follow(&v.person.id).await;
                                self.delivered("follow", d)?;
                                v.status = LineStatus::Friend;
                                "shown, clicked, added friend"
                            } else {
                                "shown, ignored"
                            };
                            v.trail.push(format!("{page}: {cell}"));
                        }
                        Decision::Hide { .. } => {
                            let reason = decision.reason();
                            if matches!(reason, Some(Reason::Cap(_))) {
                                self.totals.hidden_by_cap += 1;
                            }
                            v.trail.push(format!("{page}: hidden ({})", reason_text(reason)));
                        }
                        _ => v.trail.push(format!("{page} (unknown decision)")),
                    }
                }
            }
            self.clock.advance(SignedDuration::from_hours(24));
        }
        self.totals.visitors = visitors.len();
        let mut t = Table::new(["visitor", "variant", "day", "page views: decision"]);
        for v in &visitors {
            let who = format!("{} ({})", v.visitor_id, v.person.name);
            t.row([who, v.variant.clone(), "1".into(), v.trail[..3].join(" · ")]);
            t.row([String::new(), String::new(), "2".into(), v.trail[3].clone()]);
            t.row([String::new(), String::new(), "3".into(), v.trail[4].clone()]);
        }
        t.write_to(self.out)?;
        writeln!(
            self.out,
            "\n{} page views: {} popups shown, {} hidden by a cap, the rest by targeting (already friends).",
            self.totals.page_views, self.totals.popups_shown, self.totals.hidden_by_cap
        )?;
        writeln!(self.out, "Attribution, matched from the follow webhooks:")?;
        self.write_log(|l| l.action.starts_with("popup conversion"))?
            .into_iter()
            .for_each(|l| self.requeue(l));
        Ok(visitors)
    }

    /// Puts a log line back for a later step.
    fn requeue(&self, line: crate::bot::LogLine) {
        self.bot.requeue_log(line);
    }

    async fn step_follow_and_survey(&mut self, visitors: &mut [Visitor]) -> Result<(), Error> {
        heading(
            self.out,
            "2. Follow: greeting and survey (Flex); answers update profiles",
        )?;
        // Two more friends arrive from the QR code in the shop: no popup involved.
        let mut new_friends: Vec<(UserId, &'static str)> = visitors
            .iter()
            .filter(|v| v.status == LineStatus::Friend)
            .map(|v| (v.person.id.clone(), v.interest))
            .collect();
        for (name, female, interest) in [("Kenta", false, "fashion"), ("Emi", true, "cosmetics")] {
            let spec = UserSpec::new(name)
                .friend(false)
                .gender(if female { "female" } else { "male" })
                .age(41)
                .area("jp_27");
            let p = self.add_person(spec, name, female);
            let d = self.emu.follow(&p.id).await;
            self.delivered("follow", d)?;
            new_friends.push((p.id, interest));
        }
        for (user, interest) in &new_friends {
            let d = self.emu.postback(user, &format!("{SURVEY_PREFIX}{interest}")).await;
            self.delivered("survey postback", d)?;
        }
        self.write_log(|_| true)?;
        let mut t = Table::new(["new friend", "friend_source", "interests", "inbox"]);
        for (user, _) in &new_friends {
            let profile = self
                .bot
                .profiles()
                .into_iter()
                .find(|p| &p.id == user)
                .ok_or_else(|| Error::check(format!("no profile for {}", self.name(user))))?;
            let inbox = self.emu.messages(user);
            let kinds: Vec<String> = inbox.iter().map(|m| m.message.kind().to_owned()).collect();
            if kinds != ["text", "flex", "text"] {
                return Err(Error::check(format!(
                    "{} received {kinds:?}, expected greeting, survey and thanks",
                    self.name(user)
                )));
            }
            let interests = match profile.attributes.get("interests") {
                Some(Value::Set(s)) => s.join(", "),
                _ => "-".into(),
            };
            t.row([
                self.name(user),
                profile.line.friend_source.clone().unwrap_or_default(),
                interests,
                kinds.join(", "),
            ]);
        }
        writeln!(self.out)?;
        t.write_to(self.out)?;
        Ok(())
    }

    async fn step_account_link(&mut self, visitors: &[Visitor]) -> Result<(), Error> {
        heading(self.out, "3. Account link: member id stored, rich menu guest -> member")?;
        let ren = visitors
            .iter()
            .find(|v| v.status == LineStatus::Friend)
            .map(|v| v.person.id.clone())
            .ok_or_else(|| Error::check("no visitor became a friend"))?;
        let emi = self
            .people
            .values()
            .find(|p| p.name == "Emi")
            .map(|p| p.id.clone())
            .ok_or_else(|| Error::check("Emi is missing"))?;
        // The shop's website: after the member logs in, start the link.
        let site = AccountLink::new(self.nonces.clone());
        let mut t = Table::new(["user", "member id", "link URL (nonce cut)", "menu before", "menu after"]);
        for (user, member) in [(ren, "M-1001"), (emi, "M-1002")] {
            let url = site
                .start(&self.client, &user, member)
                .await
                .map_err(Error::api("issueLinkToken"))?;
            let parsed = url::Url::parse(&url).map_err(|e| {
                Error::with_source(
                    ErrorKind::Check {
                        what: "link URL".into(),
                    },
                    e,
                )
            })?;
            let query: BTreeMap<String, String> = parsed.query_pairs().into_owned().collect();
            let (Some(token), Some(nonce)) = (query.get("linkToken"), query.get("nonce")) else {
                return Err(Error::check(format!("the link URL lacks linkToken or nonce: {url}")));
            };
            let before = self.menu_of(&user);
            // The user confirms on LINE's page; LINE sends the accountLink event.
            let d = self.emu.complete_account_link(token, nonce).await;
            self.delivered("account link", d)?;
            let after = self.menu_of(&user);
            if self.bot.member_of(&user).as_deref() != Some(member) {
                return Err(Error::check(format!("{}: member id not stored", self.name(&user))));
            }
            if after != "member" {
                return Err(Error::check(format!(
                    "{}: rich menu is {after}, expected member",
                    self.name(&user)
                )));
            }
            self.totals.account_links += 1;
            let cut = url.find("nonce=").map_or(url.as_str(), |i| &url[..i + 6]);
            t.row([self.name(&user), member.to_owned(), format!("{cut}…"), before, after]);
        }
        t.write_to(self.out)?;
        writeln!(self.out)?;
        self.write_log(|_| true)?;
        Ok(())
    }

    fn menu_of(&self, user: &UserId) -> String {
        match self.emu.rich_menu_of(user) {
            Some(id) => self.menu_keys.get(&id).cloned().unwrap_or(id),
            None => "none".into(),
        }
    }

    async fn step_campaign(&mut self) -> Result<(), Error> {
        heading(self.out, "4. Segment campaign: compile, dry run, plan, send, check")?;
        let now = self.clock.now();
        let profiles = self.bot.profiles();
        let source = InMemorySource::new(profiles.clone());
        let options = PlanOptions {
            messages_per_send: 1,
            audience_description: "tour: cosmetics fans".into(),
            ..PlanOptions::default()
        };
        writeln!(self.out, "segment: {CAMPAIGN_SEGMENT}\n")?;
        let segment = line_segments::text::parse(CAMPAIGN_SEGMENT).map_err(Error::segment("campaign"))?;
        let fallback = line_segments::text::parse(FALLBACK_SEGMENT).map_err(Error::segment("fallback"))?;
        let planned = plan(&segment, &source, now, &options)
            .await
            .map_err(Error::segment("campaign"))?;
        let fallback_plan = plan(&fallback, &source, now, &options)
            .await
            .map_err(Error::segment("fallback"))?;
        let mut t = Table::new(["segment", "plan", "recipients"]);
        let mut why = Vec::new();
        for (text, p) in [(CAMPAIGN_SEGMENT, &planned), (FALLBACK_SEGMENT, &fallback_plan)] {
            let (kind, recipients, why_text) = match p {
                Plan::Narrowcast(n) => (
                    "narrowcast",
                    match &n.upload {
                        Some(u) => format!("<= {} (uploaded audience, then LINE's filter)", u.user_ids.len()),
                        None => "known to LINE only".into(),
                    },
                    n.notes.join("; "),
                ),
                Plan::Multicast(m) => (
                    "multicast",
                    format!("{} (evaluated here)", m.user_ids.len()),
                    m.reason.clone(),
                ),
            };
            let reason = why_text;
            t.row([text.to_owned(), kind.to_owned(), recipients]);
            why.push(format!("- {kind}: {reason}"));
        }
        t.write_to(self.out)?;
        writeln!(
            self.out,
            "(the second segment is planned for comparison only; the first is sent)"
        )?;
        for line in &why {
            writeln!(self.out, "{line}")?;
        }

        let message = campaign_message()?;
        let messages = vec![message];
        // Dry run: LINE validates the messages; nothing is sent, no quota used.
        let check = self
            .client
            .dry_run()
            .narrowcast(&NarrowcastRequest::new(messages.clone()))
            .await
            .map_err(Error::api("validateNarrowcast"))?;
        let quota = self
            .client
            .get_message_quota()
            .await
            .map_err(Error::api("getMessageQuota"))?
            .body;
        let used = self
            .client
            .get_message_quota_consumption()
            .await
            .map_err(Error::api("getMessageQuotaConsumption"))?
            .body
            .total_usage;
        let limit = quota.value.unwrap_or(i64::MAX);
        // The narrowcast below sets no `limit.max`: its bound is the uploaded audience.
        let bound = quota_upper_bound(&planned, None);
        let fits = bound.is_some_and(|b| b <= limit - used);
        writeln!(
            self.out,
            "\nDry run (POST /v2/bot/message/validate/narrowcast → {}):",
            check.status
        )?;
        let mut t = Table::new(["check", "result"]);
        let described: Vec<String> = messages
            .iter()
            .map(|m| {
                let alt = match m {
                    Message::Flex(f) => f.alt_text.as_str(),
                    Message::Template(t) => t.alt_text.as_str(),
                    Message::Imagemap(i) => i.alt_text.as_str(),
                    _ => "",
                };
                format!("{} \"{alt}\"", m.kind())
            })
            .collect();
        t.row([
            "messages".to_owned(),
            format!("{}: {}", messages.len(), described.join(", ")),
        ]);
        t.row([
            "recipients".to_owned(),
            match bound {
                Some(b) => format!("at most {b}"),
                None => "unknown (no uploaded audience, no limit.max)".to_owned(),
            },
        ]);
        t.row([
            "quota".to_owned(),
            format!(
                "{} used of {}, {} left",
                grouped(used),
                grouped(limit),
                grouped(limit - used)
            ),
        ]);
        t.row([
            "verdict".to_owned(),
            match (fits, bound) {
                (true, _) => "fits: sending",
                (false, None) => "size unknown, cannot be shown to fit: not sending",
                (false, Some(_)) => "would exceed the quota: not sending",
            }
            .to_owned(),
        ]);
        t.write_to(self.out)?;
        if !fits {
            return Err(Error::check("the campaign is not known to fit in the monthly quota"));
        }

        // Send: line-segments' executor uploads the audience, waits until LINE has it ready,
        // narrowcasts with the checkpoint's retry key and polls the progress until it is done.
        let mut checkpoint = Checkpoint::new();
        let report = Executor::new(self.client.clone())
            .options(ExecuteOptions::default().audience_ready(polling()).progress(polling()))
            .execute(&planned, &messages, &mut checkpoint)
            .await
            .map_err(Error::segment("campaign send"))?;
        let (request_id, audience) = match (&report, &planned) {
            (Report::Narrowcast(r), Plan::Narrowcast(n)) => {
                writeln!(
                    self.out,
                    "\nSent: narrowcast {}, audience {} uploaded ({} users); progress: {:?}, {} of {} delivered.",
                    r.request_id,
                    r.audience_group_id.map_or("-".into(), |a| a.to_string()),
                    r.uploaded_users,
                    r.progress.phase,
                    r.progress.success_count.unwrap_or(0),
                    r.progress.target_count.unwrap_or(0)
                )?;
                let audience_users = n.upload.as_ref().map(|u| u.user_ids.clone()).unwrap_or_default();
                (Some(r.request_id.clone()), audience_users)
            }
            (Report::Multicast(r), Plan::Multicast(m)) => {
                writeln!(
                    self.out,
                    "\nSent: {} multicast chunk(s), {} of {} recipients accepted.",
                    r.request_ids.len(),
                    r.sent + r.duplicates,
                    r.recipients
                )?;
                (None, m.user_ids.clone())
            }
            _ => return Err(Error::check("the executor's report does not match the plan")),
        };
        // Check on the emulator: exactly the audience members LINE's filter keeps got it, once.
        let expected: Vec<&UserId> = audience
            .iter()
            .filter(|u| self.people.get(*u).is_some_and(|p| p.female))
            .collect();
        let mut delivered = 0;
        for u in &audience {
            let got = self
                .emu
                .messages(u)
                .iter()
                .filter(|m| request_id.as_ref().is_none_or(|id| &m.request_id == id) && m.message.kind() == "flex")
                .filter(|m| m.operation == "narrowcast" || m.operation == "multicast")
                .count();
            if got > 1 {
                return Err(Error::check(format!("{} got the campaign {got} times", self.name(u))));
            }
            delivered += got;
        }
        if request_id.is_some() && delivered != expected.len() {
            return Err(Error::check(format!(
                "the campaign reached {delivered} users, expected the {} women of the audience",
                expected.len()
            )));
        }
        writeln!(
            self.out,
            "Checked on the emulator: {delivered} of {} audience members got it once (LINE's filter kept the women).",
            audience.len()
        )?;
        self.totals.campaign_audience = audience.len();
        self.totals.campaign_delivered = delivered;
        Ok(())
    }

    async fn step_tier_pushes(&mut self) -> Result<(), Error> {
        heading(self.out, "5. Personalized pushes: \"¥X more to reach REINE\"")?;
        writeln!(self.out, "segment: {TIER_SEGMENT}\n")?;
        let now = self.clock.now();
        let segment = line_segments::text::parse(TIER_SEGMENT).map_err(Error::segment("tier"))?;
        let compiled = CompiledSegment::compile(&segment).map_err(Error::segment("tier"))?;
        let eval = compiled.at(now);
        let template = tier_template()?;
        let year_ago = now - SignedDuration::from_hours(24 * 365);
        let mut items: Vec<(UserId, Vec<Message>)> = Vec::new();
        let mut t = Table::new(["user", "spent this year", "to REINE", "altText"]);
        for p in self.bot.profiles().iter().filter(|p| eval.matches(*p)) {
            let spent: f64 = p
                .events
                .iter()
                .filter(|e| &*e.name == "purchase" && e.at >= year_ago)
                .filter_map(|e| match e.prop("amount") {
                    Some(Value::Num(n)) => Some(*n),
                    _ => None,
                })
                .sum();
            let spent = spent as i64;
            let name = self.name(&p.id);
            let vars = [
                ("name", name.as_str()),
                ("spent", &yen(spent)),
                ("remaining", &yen(REINE_YEN - spent)),
            ];
            let doc = template
                .render_document(&vars[..])
                .map_err(Error::flex("render the tier message"))?;
            if let Some(f) = doc.validate().first() {
                return Err(Error::new(ErrorKind::Flex {
                    what: format!("the tier message for {name} does not validate: {f}"),
                }));
            }
            // The rendered document is already in the model: no second parse.
            let line_flex::Document::Message(flex) = doc else {
                return Err(Error::new(ErrorKind::Flex {
                    what: "the tier template is not a whole flex message".into(),
                }));
            };
            if t.len() < 4 {
                t.row([name.clone(), yen(spent), yen(REINE_YEN - spent), flex.alt_text.clone()]);
            }
            let message: Message = flex.into();
            items.push((p.id.clone(), vec![message]));
        }
        let n = items.len();
        if n > t.len() {
            t.row([
                format!("… {} more", n - t.len()),
                String::new(),
                String::new(),
                String::new(),
            ]);
        }
        t.write_to(self.out)?;
        let users: Vec<UserId> = items.iter().map(|(u, _)| u.clone()).collect();
        let report = self
            .client
            .fan_out()
            .push_each(items)
            .await
            .map_err(Error::api("pushMessage"))?;
        if let Some(f) = report.failed.first() {
            return Err(Error::check(format!(
                "{} pushes failed, first: {}",
                report.failed.len(),
                f.error
            )));
        }
        for u in &users {
            let pushes = self
                .emu
                .messages(u)
                .iter()
                .filter(|m| m.operation == "pushMessage")
                .count();
            if pushes != 1 {
                return Err(Error::check(format!("{} got {pushes} tier pushes", self.name(u))));
            }
        }
        writeln!(
            self.out,
            "\n{} pushes sent ({} duplicates, {} failed), one per user, each with its own retry key.",
            report.sent,
            report.duplicates,
            report.failed.len()
        )?;
        self.totals.tier_pushes = report.sent;
        Ok(())
    }

    async fn step_report(&mut self) -> Result<(), Error> {
        heading(self.out, "6. Report")?;
        let start: Timestamp = START
            .parse()
            .map_err(|e| Error::with_source(ErrorKind::Check { what: "START".into() }, e))?;
        let from = self.popup.day_of(start);
        let to = self.popup.day_of(self.clock.now());
        let popup = self.popup.report(from, to).await.map_err(Error::popup("report"))?;
        let followers = self.emu.follower_ids();
        let linked = self
            .bot
            .profiles()
            .iter()
            .filter(|p| p.line.id_linked == Some(true) && p.line.is_friend == Some(true))
            .count();
        let used = self
            .client
            .get_message_quota_consumption()
            .await
            .map_err(Error::api("getMessageQuotaConsumption"))?
            .body
            .total_usage;
        if u64::try_from(used).ok() != Some(self.emu.quota_consumption()) {
            return Err(Error::check("the quota API and the emulator disagree"));
        }
        self.totals.friends = followers.len();
        self.totals.linked = linked;
        self.totals.popup_friends = popup.popup_friends;
        self.totals.new_friends = popup.new_friends;
        self.totals.messages_delivered = self.emu.delivered_count();
        self.totals.quota_used = used;
        let t_ = &self.totals;
        let mut t = Table::new(["metric", "value"]);
        t.row(["friends".to_owned(), t_.friends.to_string()]);
        t.row([
            "link rate".to_owned(),
            format!(
                "{:.1}% ({} of {} friends linked)",
                t_.link_rate_percent(),
                t_.linked,
                t_.friends
            ),
        ]);
        t.row([
            "new friends".to_owned(),
            format!(
                "{} ({} through the popup: {:.0}%)",
                t_.new_friends,
                t_.popup_friends,
                t_.popup_share_percent()
            ),
        ]);
        t.row([
            "popups".to_owned(),
            format!("{} shown on {} page views", t_.popups_shown, t_.page_views),
        ]);
        t.row([
            "campaign".to_owned(),
            format!(
                "{} reached of an audience of {}",
                t_.campaign_delivered, t_.campaign_audience
            ),
        ]);
        t.row(["tier pushes".to_owned(), t_.tier_pushes.to_string()]);
        t.row([
            "messages sent".to_owned(),
            format!("{} (replies included)", t_.messages_delivered),
        ]);
        t.row([
            "quota used".to_owned(),
            format!("{} of 10,000 (replies are free)", t_.quota_used),
        ]);
        t.write_to(self.out)?;
        let mut v = Table::new(["campaign/variant", "shown", "clicks", "dismissals", "friends", "rate"]);
        for r in &popup.variants {
            v.row([
                format!("{}/{}", r.campaign, r.variant),
                r.impressions.to_string(),
                r.clicks.to_string(),
                r.dismissals.to_string(),
                r.friend_conversions.to_string(),
                r.conversion_rate.map_or("-".into(), |x| format!("{:.0}%", x * 100.0)),
            ]);
        }
        writeln!(self.out)?;
        v.write_to(self.out)?;
        Ok(())
    }
}

fn reason_text(reason: Option<Reason>) -> String {
    match reason {
        None => "no campaign".into(),
        Some(Reason::Cap(cap)) => format!("cap {}", cap.as_str()),
        Some(other) => other.rule().into(),
    }
}

fn popup_config() -> PopupConfig {
    let mut campaign = Campaign::new(
        "friend-popup",
        vec![
            Banner::new("points", "Add us on LINE: 500 points"),
            Banner::new("coupon", "Add us on LINE: 10% off today"),
        ],
    );
    campaign.goal = Goal::Login;
    campaign.caps = Caps::none()
        .with_per_session(1)
        .with_lifetime(2)
        .with_dismiss_cooldown_secs(7 * 24 * 3600)
        .with_stop_after_conversion(true);
    let mut config = PopupConfig::new("@baroque", vec![campaign]);
    config.login = Some(LoginConfig::new("1650000000", "https://shop.example.com/line/callback"));
    config
}

/// The campaign's message: a coupon bubble.
pub fn campaign_message() -> Result<Message, Error> {
    let bubble = Bubble::new().body(
        vbox![
            Text::new("Spring cosmetics").bold().size(SizeKeyword::Xl),
            Text::new("20% OFF")
                .bold()
                .size(SizeKeyword::X3l)
                .color(Color::from_static("#06C755")),
            Text::new("Code SPRING20, until May 31").size(SizeKeyword::Sm),
        ]
        .spacing(Space::Sm)
        .padding_all(px(20)),
    );
    let message = bubble.message("Spring cosmetics: 20% off for you");
    if let Some(f) = message.validate().first() {
        return Err(Error::new(ErrorKind::Flex {
            what: format!("the campaign message does not validate: {f}"),
        }));
    }
    // Validated, so the conversion cannot fail.
    Ok(message.into())
}

/// The tier message template, with `{name}`, `{spent}` and `{remaining}`.
pub fn tier_template() -> Result<Template, Error> {
    let bubble = Bubble::new().body(
        vbox![
            Text::new("{name}さん").bold(),
            Text::new("{remaining} more to reach REINE")
                .size(SizeKeyword::Lg)
                .wrap(true),
            Text::new("Spent this year: {spent}").size(SizeKeyword::Sm),
        ]
        .spacing(Space::Sm)
        .padding_all(px(16)),
    );
    Template::message("{name}さん: {remaining} more to reach REINE", bubble).map_err(Error::flex("the tier template"))
}

/// Two rich menus, `guest` and `member` (aliases of the same names), with generated 1200×405 images.
pub fn menu_set() -> Result<MenuSet, Error> {
    let guest = MenuDef::new("guest", "Menu", "guest.png").alias("guest").area(
        Bounds::new(0, 0, 1200, 405),
        uri_action("Link your member ID", "https://shop.example.com/line/link"),
    );
    let member = MenuDef::new("member", "Member menu", "member.png")
        .alias("member")
        .area(
            Bounds::new(0, 0, 1200, 405),
            uri_action("Member card", "https://shop.example.com/member/card"),
        );
    Ok(MenuSet::new([
        Menu::new(guest, Image::from_bytes(png_image([0xEE, 0xEE, 0xEE])?)),
        Menu::new(member, Image::from_bytes(png_image([0x06, 0xC7, 0x55])?)),
    ]))
}

fn uri_action(label: &str, uri: &str) -> line_core::model::Action {
    let mut action = line_core::model::URIAction::new();
    action.label = Some(label.to_owned());
    action.uri = Some(uri.to_owned());
    action.into()
}

/// A 1200×405 PNG of one colour (LINE accepts 800 to 2500 wide, ratio at least 1.45).
pub fn png_image(rgb: [u8; 3]) -> Result<Vec<u8>, Error> {
    let (w, h) = (1200u32, 405u32);
    let mut bytes = Vec::new();
    let err = |e: png::EncodingError| {
        Error::with_source(
            ErrorKind::RichMenu {
                action: "draw the menu image".into(),
            },
            e,
        )
    };
    {
        let mut encoder = png::Encoder::new(&mut bytes, w, h);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_compression(png::Compression::Fast);
        let mut writer = encoder.write_header().map_err(err)?;
        let data: Vec<u8> = rgb.iter().copied().cycle().take((w * h * 3) as usize).collect();
        writer.write_image_data(&data).map_err(err)?;
        writer.finish().map_err(err)?;
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yen_groups_thousands() {
        assert_eq!(yen(0), "¥0");
        assert_eq!(yen(800), "¥800");
        assert_eq!(yen(3_000), "¥3,000");
        assert_eq!(yen(1_234_567), "¥1,234,567");
        assert_eq!(yen(-8_000), "-¥8,000");
    }

    #[test]
    fn the_fixed_messages_validate() {
        assert_eq!(campaign_message().unwrap().kind(), "flex");
        assert_eq!(crate::bot::survey().unwrap().kind(), "flex");
        let t = tier_template().unwrap();
        assert_eq!(t.variables(), ["name", "remaining", "spent"]);
    }

    #[test]
    fn too_few_friends_is_a_config_error() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let mut out = Vec::new();
        let err = rt
            .block_on(run(
                &mut out,
                &TourOptions {
                    existing_friends: 10,
                    ..TourOptions::default()
                },
            ))
            .unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::Config { field, .. } if field == "existing_friends"));
        assert!(out.is_empty());
    }
}
