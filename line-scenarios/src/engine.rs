//! The engine: turns webhook events, host events and the clock into due steps, and runs them.
//!
//! # How a step runs
//!
//! An enrollment (one user in one scenario) has a current step. Running it depends on its kind:
//! a wait computes its due time from when the step became current (so a re-run computes the same
//! time), moves on and schedules a wake-up; a branch, split or act moves on at once; a send goes
//! through quiet hours, the contact budget and the ledger (below); an exit ends the enrollment.
//! Every move is a compare-and-set on the enrollment's version, so two workers running the same
//! wake-up do each step once.
//!
//! # Exactly-once sends
//!
//! A send's key is (scenario, user, entry, step, visit). Before calling LINE the engine claims the
//! key in the ledger ([`StateStore::claim`]); LINE's `X-Line-Retry-Key` is derived from the key
//! ([`SendKey::retry_key`]), so every attempt of one send carries the same retry key and LINE
//! accepts it once (a 409 on a repeat is success). The ledger records the send as done only after
//! LINE accepted it. A crash anywhere on this path leaves the wake-up unacknowledged; it comes
//! back after its lease, finds the claim pending and calls LINE again with the same key.
//! LINE remembers retry keys for 24 hours: a pending claim older than
//! [`EngineConfig::retry_key_memory`] is not tried again (recorded as `outcome_unknown`), so that
//! nothing is ever sent twice, at the price of possibly not sending it at all.
//!
//! # Wake-ups
//!
//! Wake-ups are at least once and may be late: the engine re-reads the enrollment and does
//! nothing unless a step is due, so a duplicate, a stale or an early wake-up (a clock that went
//! back) changes nothing. After a restart, [`Engine::recover`] schedules a wake-up for every
//! active enrollment (a wake-up lost between a state change and its scheduling is re-created).
//!
//! # Batches
//!
//! [`Engine::run_due`] takes due wake-ups in batches and advances them together in rounds, one
//! step per round, through the batched forms of the store traits
//! ([`StateStore::enrollments_of`], [`StateStore::transition_many`], [`StateStore::claim_many`],
//! [`StateStore::settle_many`], [`Scheduler::schedule_many`]): every key of a round's sends is
//! claimed before the first push and settled after the last, so the guarantees above hold as for
//! one wake-up. The pushes of a round run concurrently, at most [`EngineConfig::push_concurrency`]
//! at once (a batch of n pushes takes about latency × ⌈n / bound⌉, not latency × n); the contact
//! budget is taken before any of them, one send after the other in priority order, so its
//! decisions are those of sequential sends. A second wake-up of a user already in the batch, an
//! act step and a lost compare-and-set go the one-by-one way after the rounds, in priority order.
//!
//! # Unknown users
//!
//! When the profile store does not know a user, [`UnknownUsers::Enter`] (the default) treats them
//! as an empty profile: entry segments are evaluated on it (so most of them keep the user out),
//! template attributes fall back to their defaults, and acts create the profile.
//! [`UnknownUsers::Ignore`] keeps them out of every scenario, recorded as `unknown_user`.
//! Nothing about an unknown user panics.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hasher;
use std::pin::Pin;
use std::sync::Arc;

use futures::{FutureExt, StreamExt};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use line_core::clock::{Clock, SystemClock};
use line_core::ids::UserId;
use line_core::webhook::Event as WebhookEvent;
use line_flex::Template;
use line_segments::eval::CompiledSegment;
use line_segments::profile::{Event, Profile, ProfileView, Value};
use line_segments::schema::Schema;
use siphasher::sip::SipHasher13;

use crate::budget::{Gate, QuietHours};
use crate::error::{Error, ErrorKind, Result};
use crate::model::*;
use crate::packed::{pack, Fast};
use crate::profiles::{value_text, ProfileStore, RichMenuSwitcher};
use crate::render::{flex_template, Rendered};
use crate::sender::{Accepted, SendContext, SendFailure, Sender};
use crate::sources::Sources;
use crate::stats::{InMemoryJournal, Journal, Record, RecordKind, SkipReason};
use crate::store::*;
use crate::validate::{validate_all, Options};

const EXIT: u16 = u16::MAX;
/// At most this many steps run for one wake-up (validation rejects loops without a wait, so a
/// valid scenario never gets near it).
const MAX_STEPS_PER_WAKE: usize = 1_000;
/// How deep `start` acts may chain.
const MAX_START_DEPTH: usize = 8;

/// What the engine does with events of users the profile store does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum UnknownUsers {
    /// Treat them as an empty profile (the default).
    #[default]
    Enter,
    /// Keep them out of every scenario (recorded as `unknown_user`).
    Ignore,
}

/// Settings of an [`Engine`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct EngineConfig {
    /// The account's time zone, for scenarios that name none (default Asia/Tokyo).
    pub time_zone: TimeZone,
    /// Hours without sends (none by default).
    pub quiet_hours: Option<QuietHours>,
    /// How long a wake-up taken by [`Engine::run_due`] stays leased before it may be delivered again.
    pub lease: SignedDuration,
    /// Wake-ups taken per batch.
    pub batch: usize,
    /// How long a pending send may be retried with its retry key (LINE keeps keys 24 hours).
    pub retry_key_memory: SignedDuration,
    /// Events of unknown users.
    pub unknown_users: UnknownUsers,
    /// Pushes of one batch in flight at once (default 32; `0` is taken as `1`). A push waits on
    /// LINE's round trip, so one worker sends about `push_concurrency / latency` pushes per second
    /// (at 50 ms, 640 per second with 32); the client's rate limiter still paces them to LINE's
    /// limits.
    pub push_concurrency: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            time_zone: TimeZone::get("Asia/Tokyo").unwrap_or(TimeZone::UTC),
            quiet_hours: None,
            lease: SignedDuration::from_mins(5),
            batch: 1_024,
            retry_key_memory: SignedDuration::from_hours(23),
            unknown_users: UnknownUsers::Enter,
            push_concurrency: 32,
        }
    }
}

impl EngineConfig {
    /// Sets the account's time zone (IANA name).
    pub fn time_zone(mut self, tz: &str) -> Result<Self> {
        self.time_zone = TimeZone::get(tz).map_err(|e| Error::config("time_zone", e.to_string()))?;
        Ok(self)
    }

    /// Sets quiet hours.
    #[must_use]
    pub fn quiet_hours(mut self, q: QuietHours) -> Self {
        self.quiet_hours = Some(q);
        self
    }

    /// Sets the policy for unknown users.
    #[must_use]
    pub fn unknown_users(mut self, policy: UnknownUsers) -> Self {
        self.unknown_users = policy;
        self
    }

    /// Sets how many pushes of one batch may be in flight at once (`0` is taken as `1`).
    #[must_use]
    pub fn push_concurrency(mut self, n: usize) -> Self {
        self.push_concurrency = n;
        self
    }
}

/// What one [`Engine::run_due`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RunReport {
    /// Wake-ups taken and acknowledged.
    pub processed: usize,
    /// Wake-ups left for a later attempt after an error (store failure, send outcome unknown).
    pub failed: usize,
}

enum CStep {
    Wait {
        wait: Wait,
        next: u16,
    },
    Branch {
        cond: CCond,
        then: u16,
        otherwise: u16,
    },
    Send {
        payload: Payload,
        quiet: QuietPolicy,
        next: u16,
    },
    Split {
        cumulative: Vec<u64>,
        total: u64,
        targets: Vec<u16>,
        hasher: SipHasher13,
    },
    Act {
        act: Act,
        value: Option<Value>,
        next: u16,
    },
    Exit,
}

enum CCond {
    Segment(Box<CompiledSegment>),
    Since(EventMatch),
}

enum Payload {
    Static(Rendered),
    Template { template: Template, vars: Vec<VarSource> },
}

struct Compiled {
    id: Arc<str>,
    scenario: Scenario,
    tz: TimeZone,
    entry: Option<CompiledSegment>,
    steps: Vec<CStep>,
    event_vars: Vec<String>,
}

fn compile(s: &Scenario, account_tz: &TimeZone) -> Result<Compiled> {
    let bad = |message: String| {
        Error::new(ErrorKind::Invalid {
            scenario: s.id.clone(),
            problems: vec![crate::error::Problem {
                step: None,
                pointer: String::new(),
                message,
            }],
        })
    };
    let tz = match &s.time_zone {
        Some(name) => TimeZone::get(name).map_err(|e| bad(e.to_string()))?,
        None => account_tz.clone(),
    };
    let index: HashMap<&str, u16> = s
        .steps
        .iter()
        .enumerate()
        .map(|(i, st)| (st.id.as_str(), i as u16))
        .collect();
    let target = |name: &str| index.get(name).copied().unwrap_or(EXIT);
    let next_of = |i: usize, st: &Step| match &st.next {
        Some(n) => target(n),
        None if i + 1 < s.steps.len() => (i + 1) as u16,
        None => EXIT,
    };
    let mut event_vars = Vec::new();
    let mut steps = Vec::with_capacity(s.steps.len());
    for (i, st) in s.steps.iter().enumerate() {
        steps.push(match &st.kind {
            StepKind::Wait(w) => CStep::Wait {
                wait: *w,
                next: next_of(i, st),
            },
            StepKind::Branch {
                condition,
                then,
                otherwise,
            } => CStep::Branch {
                cond: match condition {
                    Condition::Segment(seg) => {
                        CCond::Segment(Box::new(CompiledSegment::compile(seg).map_err(|e| bad(e.to_string()))?))
                    }
                    Condition::EventSinceEntry(e) => CCond::Since(e.clone()),
                },
                then: target(then),
                otherwise: target(otherwise),
            },
            StepKind::Send(send) => {
                let payload = match &send.content {
                    Content::Messages(m) => Payload::Static(Rendered {
                        json: serde_json::to_string(m).map_err(|e| bad(e.to_string()))?,
                        count: m.len(),
                    }),
                    Content::Flex(f) => {
                        let template = flex_template(f).map_err(|e| bad(e.to_string()))?;
                        let mut vars = Vec::new();
                        for name in template.variables() {
                            let v = f
                                .vars
                                .get(name)
                                .cloned()
                                .ok_or_else(|| bad(format!("template variable {{{name}}} has no source")))?;
                            if let VarFrom::Event(p) = &v.from {
                                if !event_vars.contains(p) {
                                    event_vars.push(p.clone());
                                }
                            }
                            vars.push(v);
                        }
                        Payload::Template { template, vars }
                    }
                };
                CStep::Send {
                    payload,
                    quiet: send.quiet_hours,
                    next: next_of(i, st),
                }
            }
            StepKind::Split(arms) => {
                let mut cumulative = Vec::new();
                let mut total = 0u64;
                for a in arms {
                    total += u64::from(a.weight);
                    cumulative.push(total);
                }
                let mut hasher = SipHasher13::new_with_keys(0x6c69_6e65_2d73_706c, 0x6974_2d73_6365_6e61);
                hasher.write(s.id.as_bytes());
                hasher.write_u8(0xff);
                hasher.write(st.id.as_bytes());
                hasher.write_u8(0xff);
                CStep::Split {
                    cumulative,
                    total,
                    targets: arms.iter().map(|a| target(&a.next)).collect(),
                    hasher,
                }
            }
            StepKind::Act(act) => CStep::Act {
                value: match act {
                    Act::SetAttribute { value, .. } => Some(value.to_profile_value()),
                    _ => None,
                },
                act: act.clone(),
                next: next_of(i, st),
            },
            StepKind::Exit => CStep::Exit,
        });
    }
    let entry = match &s.entry.segment {
        Some(seg) => Some(CompiledSegment::compile(seg).map_err(|e| bad(e.to_string()))?),
        None => None,
    };
    Ok(Compiled {
        id: s.id.as_str().into(),
        scenario: s.clone(),
        tz,
        entry,
        steps,
        event_vars,
    })
}

/// Builds an [`Engine`].
#[must_use]
pub struct EngineBuilder {
    scenarios: Vec<Scenario>,
    schema: Option<Schema>,
    state: Option<Arc<dyn StateStore>>,
    scheduler: Option<Arc<dyn Scheduler>>,
    profiles: Option<Arc<dyn ProfileStore>>,
    sender: Option<Arc<dyn Sender>>,
    clock: Arc<dyn Clock>,
    gate: Option<Gate>,
    menus: Option<Arc<dyn RichMenuSwitcher>>,
    journal: Arc<dyn Journal>,
    config: EngineConfig,
    sources: Option<Sources>,
}

impl std::fmt::Debug for EngineBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineBuilder")
            .field("scenarios", &self.scenarios.len())
            .finish_non_exhaustive()
    }
}

impl EngineBuilder {
    /// The state store (required).
    pub fn state(mut self, state: Arc<dyn StateStore>) -> Self {
        self.state = Some(state);
        self
    }

    /// The scheduler (required).
    pub fn scheduler(mut self, scheduler: Arc<dyn Scheduler>) -> Self {
        self.scheduler = Some(scheduler);
        self
    }

    /// The profile store (required).
    pub fn profiles(mut self, profiles: Arc<dyn ProfileStore>) -> Self {
        self.profiles = Some(profiles);
        self
    }

    /// The sender (required).
    pub fn sender(mut self, sender: Arc<dyn Sender>) -> Self {
        self.sender = Some(sender);
        self
    }

    /// The clock (default: the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The contact-budget gate (default: none, no budget).
    pub fn gate(mut self, gate: Gate) -> Self {
        self.gate = Some(gate);
        self
    }

    /// The rich-menu switcher for `rich_menu` acts (without one, such acts fail validation at build).
    pub fn rich_menus(mut self, menus: Arc<dyn RichMenuSwitcher>) -> Self {
        self.menus = Some(menus);
        self
    }

    /// Friend sources: follows are matched to them, tagged, counted, and trigger
    /// `{"follow": {"source": …}}` scenarios (without them, such scenarios fail at build).
    pub fn sources(mut self, sources: Sources) -> Self {
        self.sources = Some(sources);
        self
    }

    /// The journal (default: an in-memory one with counts only).
    pub fn journal(mut self, journal: Arc<dyn Journal>) -> Self {
        self.journal = journal;
        self
    }

    /// The host schema the scenarios are checked against.
    pub fn schema(mut self, schema: Schema) -> Self {
        self.schema = Some(schema);
        self
    }

    /// Settings.
    pub fn config(mut self, config: EngineConfig) -> Self {
        self.config = config;
        self
    }

    /// Validates the scenarios and builds the engine.
    pub fn build(self) -> Result<Engine> {
        let missing = |what: &str| Error::config(what, "required");
        let options = Options {
            schema: self.schema.clone(),
            ..Options::default()
        };
        let problems = validate_all(&self.scenarios, &options);
        if let Some((id, _)) = problems.first() {
            let id = id.clone();
            return Err(Error::new(ErrorKind::Invalid {
                problems: problems.into_iter().filter(|(s, _)| *s == id).map(|(_, p)| p).collect(),
                scenario: id,
            }));
        }
        if self.menus.is_none() {
            for s in &self.scenarios {
                if s.steps
                    .iter()
                    .any(|st| matches!(st.kind, StepKind::Act(Act::RichMenu(_))))
                {
                    return Err(Error::config(
                        "rich_menus",
                        format!("scenario `{}` switches rich menus: give the engine a switcher", s.id),
                    ));
                }
            }
        }
        for s in &self.scenarios {
            if let Trigger::Follow { source: Some(from) } = &s.trigger {
                match (&self.sources, from) {
                    (None, _) => {
                        return Err(Error::config(
                            "sources",
                            format!(
                                "scenario `{}` is triggered by follows from a source: give the engine the sources",
                                s.id
                            ),
                        ))
                    }
                    (Some(src), FollowSource::Code(code)) if src.registry().get(code).is_err() => {
                        return Err(Error::config(
                            "sources",
                            format!(
                                "scenario `{}` is triggered by follows from `{code}`, which is not a registered source",
                                s.id
                            ),
                        ))
                    }
                    _ => {}
                }
            }
        }
        let mut scenarios = Vec::new();
        let mut by_id = HashMap::new();
        for s in &self.scenarios {
            by_id.insert(s.id.clone(), scenarios.len());
            scenarios.push(Arc::new(compile(s, &self.config.time_zone)?));
        }
        Ok(Engine {
            inner: Arc::new(Inner {
                scenarios,
                by_id,
                state: self.state.ok_or_else(|| missing("state"))?,
                scheduler: self.scheduler.ok_or_else(|| missing("scheduler"))?,
                profiles: self.profiles.ok_or_else(|| missing("profiles"))?,
                sender: self.sender.ok_or_else(|| missing("sender"))?,
                clock: self.clock,
                gate: self.gate,
                menus: self.menus,
                journal: self.journal,
                config: self.config,
                sources: self.sources,
            }),
        })
    }
}

struct Inner {
    scenarios: Vec<Arc<Compiled>>,
    by_id: HashMap<String, usize>,
    state: Arc<dyn StateStore>,
    scheduler: Arc<dyn Scheduler>,
    profiles: Arc<dyn ProfileStore>,
    sender: Arc<dyn Sender>,
    clock: Arc<dyn Clock>,
    gate: Option<Gate>,
    menus: Option<Arc<dyn RichMenuSwitcher>>,
    journal: Arc<dyn Journal>,
    config: EngineConfig,
    sources: Option<Sources>,
}

/// The scenario engine. Cheap to clone (an `Arc` inside); `Send + Sync`.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field(
                "scenarios",
                &self.inner.scenarios.iter().map(|c| &*c.id).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

type BoxFut<'a, T> = Pin<Box<dyn Future<Output = T> + std::marker::Send + 'a>>;

/// A profile loaded once per wake-up, reloaded after acts.
struct Loaded {
    profile: Option<Option<Arc<Profile>>>,
}

impl Engine {
    /// Starts building an engine for these scenarios.
    pub fn builder(scenarios: Vec<Scenario>) -> EngineBuilder {
        EngineBuilder {
            scenarios,
            schema: None,
            state: None,
            scheduler: None,
            profiles: None,
            sender: None,
            clock: Arc::new(SystemClock),
            gate: None,
            menus: None,
            journal: Arc::new(InMemoryJournal::new()),
            config: EngineConfig::default(),
            sources: None,
        }
    }

    /// The scenarios, as given.
    pub fn scenarios(&self) -> Vec<Scenario> {
        self.inner.scenarios.iter().map(|c| c.scenario.clone()).collect()
    }

    fn compiled(&self, id: &str) -> Result<&Arc<Compiled>> {
        self.inner
            .by_id
            .get(id)
            .map(|&i| &self.inner.scenarios[i])
            .ok_or_else(|| Error::new(ErrorKind::UnknownScenario { id: id.to_owned() }))
    }

    /// Now, to the second (stores keep seconds; so does every computed time).
    fn now(&self) -> Timestamp {
        let now = self.inner.clock.now();
        Timestamp::from_second(now.as_second()).unwrap_or(now)
    }

    async fn record(&self, c: &Compiled, user: &UserId, step: Option<u16>, kind: RecordKind) -> Result<()> {
        self.inner
            .journal
            .record(Record {
                at: self.now(),
                scenario: c.id.clone(),
                user: user.clone(),
                step,
                kind,
            })
            .await
    }

    /// A record made now by scenario `c` (for [`Self::record_all`]).
    fn record_of(&self, c: &Compiled, user: &UserId, step: Option<u16>, kind: RecordKind, at: Timestamp) -> Record {
        Record {
            at,
            scenario: c.id.clone(),
            user: user.clone(),
            step,
            kind,
        }
    }

    /// Records a round's outcomes at once (each tagged with its item); on failure, marks each of
    /// those items failed, as a failed [`Self::record`] marks its own.
    async fn record_all(&self, items: &mut [Item], records: Vec<(usize, Record)>) {
        if records.is_empty() {
            return;
        }
        let ixs: Vec<usize> = records.iter().map(|(ix, _)| *ix).collect();
        let records = records.into_iter().map(|(_, r)| r).collect();
        if self.inner.journal.record_many(records).await.is_err() {
            for ix in ixs {
                items[ix].run = Run::Failed;
            }
        }
    }

    async fn load(&self, user: &UserId, loaded: &mut Loaded) -> Result<Option<Arc<Profile>>> {
        if let Some(p) = &loaded.profile {
            return Ok(p.clone());
        }
        let p = self.inner.profiles.profile(user).await?;
        loaded.profile = Some(p.clone());
        Ok(p)
    }

    /// Handles a webhook event: follow, unfollow, account link, postback and text messages start
    /// the scenarios they trigger; unfollow first makes the user leave every scenario. Events of
    /// other kinds, or without a user, are ignored. With [friend sources](crate::sources)
    /// ([`EngineBuilder::sources`]), a follow is first matched to its source (which tags the user
    /// and picks the `{"follow": {"source": …}}` scenarios) and an unfollow counts a block for the
    /// user's source; a host event given to [`Engine::on_event`] may count a source conversion.
    pub async fn on_webhook(&self, event: &WebhookEvent) -> Result<()> {
        let user = match event.source().as_deref() {
            Some(line_core::webhook::event::Source::User(u)) => u.user_id.clone(),
            _ => None,
        };
        let Some(user) = user else { return Ok(()) };
        match event {
            WebhookEvent::Follow(f) => {
                let mut from = None;
                if let Some(sources) = &self.inner.sources {
                    from = sources.on_follow(&user, f.webhook_event_id.as_deref()).await?;
                    if let Some(s) = &from {
                        self.inner.profiles.add_tag(&user, &s.tag).await?;
                    }
                }
                let code = from.as_ref().map(|s| s.code.as_str());
                self.trigger(
                    &user,
                    |t| match t {
                        Trigger::Follow { source } => source.as_ref().is_none_or(|m| m.matches(code)),
                        _ => false,
                    },
                    &[],
                )
                .await
            }
            WebhookEvent::Unfollow(f) => {
                if let Some(sources) = &self.inner.sources {
                    sources.on_unfollow(&user, f.webhook_event_id.as_deref()).await?;
                }
                self.unfollow(&user).await?;
                self.trigger(&user, |t| matches!(t, Trigger::Unfollow {}), &[]).await
            }
            WebhookEvent::AccountLink(e) if e.link.result == line_core::webhook::event::LinkContentResult::Ok => {
                self.trigger(&user, |t| matches!(t, Trigger::AccountLink {}), &[]).await
            }
            WebhookEvent::Postback(e) => {
                let data = e.postback.data.as_str();
                self.trigger(
                    &user,
                    |t| match t {
                        Trigger::Postback { data: d, prefix } => {
                            d.as_deref().is_none_or(|d| d == data)
                                && prefix.as_deref().is_none_or(|p| data.starts_with(p))
                        }
                        _ => false,
                    },
                    &[],
                )
                .await
            }
            WebhookEvent::Message(m) => match &m.message {
                line_core::webhook::event::MessageContent::Text(t) => {
                    let text = t.text.as_str();
                    self.trigger(
                        &user,
                        |tr| match tr {
                            Trigger::Message(mm) => text_matches(mm, text),
                            _ => false,
                        },
                        &[],
                    )
                    .await
                }
                _ => Ok(()),
            },
            _ => Ok(()),
        }
    }

    /// Handles a host event (`cart_updated`, `purchase`, …) at `event.at`: records it in the
    /// profile store, ends the scenarios it is a goal of (conversions), then starts the scenarios
    /// it triggers.
    pub async fn on_event(&self, user: &UserId, event: &Event) -> Result<()> {
        self.inner.profiles.record_event(user, event).await?;
        if let Some(sources) = &self.inner.sources {
            sources.on_event(user, event).await?;
        }
        for c in &self.inner.scenarios {
            for goal in &c.scenario.goals {
                if goal.event != *event.name || !props_match(&goal.props, event) {
                    continue;
                }
                let revenue = goal
                    .revenue
                    .as_deref()
                    .and_then(|p| match event.prop(p) {
                        Some(Value::Num(n)) => Some(*n),
                        _ => None,
                    })
                    .unwrap_or(0.0);
                self.end(c, user, ExitReason::Goal, Some(revenue)).await?;
                break;
            }
        }
        let props: Vec<(String, String)> = event
            .props
            .iter()
            .map(|(k, v)| (k.to_string(), value_text(v)))
            .collect();
        self.trigger(
            user,
            |t| match t {
                Trigger::Event(m) => m.name == *event.name && props_match(&m.props, event),
                _ => false,
            },
            &props,
        )
        .await
    }

    /// Makes `user` leave every scenario (they blocked the account).
    pub async fn unfollow(&self, user: &UserId) -> Result<()> {
        for (id, _) in self.inner.state.active_of(user).await? {
            if let Ok(c) = self.compiled(&id) {
                let c = c.clone();
                self.end(&c, user, ExitReason::Unfollowed, None).await?;
            }
        }
        Ok(())
    }

    /// Makes `user` leave `scenario` (reason `stopped`).
    pub async fn stop(&self, scenario: &str, user: &UserId) -> Result<()> {
        let c = self.compiled(scenario)?.clone();
        self.end(&c, user, ExitReason::Stopped, None).await
    }

    /// Ends the user's active enrollment in `c`, if any; a goal records a conversion.
    async fn end(&self, c: &Compiled, user: &UserId, reason: ExitReason, revenue: Option<f64>) -> Result<()> {
        for _ in 0..16 {
            let Some(e) = self.inner.state.enrollment(&c.id, user).await? else {
                return Ok(());
            };
            if e.status != Status::Active {
                return Ok(());
            }
            if self
                .inner
                .state
                .transition(&c.id, user, e.entry, e.seq, Transition::Exit(reason))
                .await?
            {
                self.record(c, user, None, RecordKind::Exited(reason)).await?;
                if let Some(revenue) = revenue {
                    self.record(c, user, e.last_sent, RecordKind::Conversion { revenue })
                        .await?;
                }
                return Ok(());
            }
        }
        Err(Error::store("exit", "the enrollment kept changing"))
    }

    async fn trigger(&self, user: &UserId, pick: impl Fn(&Trigger) -> bool, props: &[(String, String)]) -> Result<()> {
        let now = self.now();
        let mut loaded = Loaded { profile: None };
        for c in &self.inner.scenarios {
            if pick(&c.scenario.trigger) {
                self.enter_compiled(c.clone(), user.clone(), now, props.to_vec(), &mut loaded, 0)
                    .await?;
            }
        }
        Ok(())
    }

    /// Enters `user` into `scenario` now (subject to its entry segment and re-entry rule) and runs
    /// its first steps. Returns whether the user entered.
    pub async fn enter(&self, scenario: &str, user: &UserId) -> Result<bool> {
        let c = self.compiled(scenario)?.clone();
        let mut loaded = Loaded { profile: None };
        self.enter_compiled(c, user.clone(), self.now(), Vec::new(), &mut loaded, 0)
            .await
    }

    fn enter_compiled<'a>(
        &'a self,
        c: Arc<Compiled>,
        user: UserId,
        now: Timestamp,
        props: Vec<(String, String)>,
        loaded: &'a mut Loaded,
        depth: usize,
    ) -> BoxFut<'a, Result<bool>> {
        Box::pin(async move {
            let profile = self.load(&user, loaded).await?;
            if profile.is_none() && self.inner.config.unknown_users == UnknownUsers::Ignore {
                self.record(&c, &user, None, RecordKind::Skipped(SkipReason::UnknownUser))
                    .await?;
                return Ok(false);
            }
            if let Some(seg) = &c.entry {
                let empty;
                let view: &Profile = match &profile {
                    Some(p) => p,
                    None => {
                        empty = Profile::new(user.clone());
                        &empty
                    }
                };
                if !seg.at(now).matches(view) {
                    self.record(&c, &user, None, RecordKind::Skipped(SkipReason::EntryCondition))
                        .await?;
                    return Ok(false);
                }
            }
            let vars: Vec<(String, String)> = props.into_iter().filter(|(k, _)| c.event_vars.contains(k)).collect();
            match self
                .inner
                .state
                .enroll(&c.id, &user, c.scenario.entry.reentry, now, vars)
                .await?
            {
                EnrollOutcome::Refused(r) => {
                    self.record(&c, &user, None, RecordKind::Skipped(SkipReason::Reentry(r)))
                        .await?;
                    Ok(false)
                }
                EnrollOutcome::Entered(e) => {
                    self.record(&c, &user, None, RecordKind::Entered).await?;
                    if let Err(err) = self.advance(&c, &user, e.entry, now, loaded, depth).await {
                        // Try again after the lease; a crash here is covered by `recover`.
                        let at = now.saturating_add(self.inner.config.lease).unwrap_or(now);
                        let _ = self
                            .inner
                            .scheduler
                            .schedule(&WakeUp {
                                scenario: c.id.clone(),
                                user: user.clone(),
                                entry: e.entry,
                                at,
                            })
                            .await;
                        return Err(err);
                    }
                    Ok(true)
                }
            }
        })
    }

    /// Runs every due wake-up (in batches, higher-priority scenarios first within a batch) until
    /// none is due.
    pub async fn run_due(&self) -> Result<RunReport> {
        let mut report = RunReport::default();
        loop {
            let now = self.now();
            let mut batch = self
                .inner
                .scheduler
                .due(now, self.inner.config.batch, self.inner.config.lease)
                .await?;
            if batch.is_empty() {
                return Ok(report);
            }
            // Each wake-up's scenario, looked up once (not once per comparison of the sort).
            let mut scs = self.scenario_indices(&batch);
            let key = |sc: Option<usize>, w: &WakeUp| {
                let p = sc.map_or(0, |i| self.inner.scenarios[i].scenario.priority);
                (std::cmp::Reverse(p), w.at)
            };
            if !scs.iter().zip(&batch).is_sorted_by_key(|(sc, w)| key(*sc, w)) {
                let mut keyed: Vec<(Option<usize>, WakeUp)> = scs.into_iter().zip(batch).collect();
                keyed.sort_by_key(|(sc, w)| key(*sc, w));
                (scs, batch) = keyed.into_iter().unzip();
            }
            let (done, failed) = self.run_batch(batch, &scs, now).await;
            report.failed += failed;
            report.processed += done.len();
            self.inner.scheduler.ack(&done).await?;
            if report.failed > 0 {
                // Failed wake-ups stay leased; do not spin on them now.
                return Ok(report);
            }
        }
    }

    /// The index of each wake-up's scenario (`None`: no longer deployed). A batch holds runs of
    /// wake-ups of one scenario, mostly sharing its id's allocation: a run costs one lookup.
    fn scenario_indices(&self, batch: &[WakeUp]) -> Vec<Option<usize>> {
        let mut last: Option<(&Arc<str>, Option<usize>)> = None;
        batch
            .iter()
            .map(|w| match last {
                Some((id, sc)) if Arc::ptr_eq(id, &w.scenario) || **id == *w.scenario => sc,
                _ => {
                    let sc = self.inner.by_id.get(&*w.scenario).copied();
                    last = Some((&w.scenario, sc));
                    sc
                }
            })
            .collect()
    }

    /// Runs one batch of due wake-ups (sorted by priority); returns the wake-ups to acknowledge
    /// and how many failed.
    ///
    /// The steps of all wake-ups advance together in rounds, so that the store sees a few calls
    /// per batch instead of several per wake-up: one [`StateStore::enrollments_of`], then per
    /// round one [`StateStore::claim_many`] before any push, one [`StateStore::settle_many`]
    /// after the pushes, one [`StateStore::transition_many`] and one [`Scheduler::schedule_many`].
    /// Each step does what [`Self::advance`] does, in the same order (claim before the call,
    /// settle before the record, move after both). Wake-ups that need the one-by-one path run
    /// after the rounds, in batch order: a second wake-up of a user already in the batch (so that
    /// a user's higher-priority scenario takes the budget first), an act step (it may change other
    /// enrollments or the profile), and a lost compare-and-set (another worker moved it).
    async fn run_batch(&self, batch: Vec<WakeUp>, scs: &[Option<usize>], now: Timestamp) -> (Vec<WakeUp>, usize) {
        let mut items: Vec<Item> = Vec::with_capacity(batch.len());
        {
            // LINE user ids by their 16 bytes with the fast hash (LINE issues them, uniformly
            // random), ids in any other form with the standard keyed hash (crafted ids cannot
            // degrade it), as the in-memory store keeps them.
            let mut line_ids: std::collections::HashSet<[u8; 16], Fast> =
                std::collections::HashSet::with_capacity_and_hasher(batch.len(), Fast::default());
            let mut others = std::collections::HashSet::new();
            for (wake, &sc) in batch.iter().zip(scs) {
                let run = match sc {
                    None => Run::Done, // a scenario no longer deployed
                    Some(_) => {
                        let first = match pack(wake.user.as_str()) {
                            Some(p) => line_ids.insert(p),
                            None => others.insert(wake.user.as_str()),
                        };
                        if first {
                            Run::Live
                        } else {
                            Run::Single
                        }
                    }
                };
                items.push(Item {
                    sc: sc.unwrap_or(0),
                    e: None,
                    loaded: Loaded { profile: None },
                    run,
                });
            }
        }
        // One read for the whole batch (the few wake-ups that run one by one read again).
        match self.inner.state.enrollments_of(&batch).await {
            Ok(es) if es.len() == batch.len() => {
                for (it, e) in items.iter_mut().zip(es) {
                    if it.run == Run::Live {
                        match e {
                            Some(e) => it.e = Some(e),
                            None => it.run = Run::Done, // never entered, or gone
                        }
                    }
                }
            }
            _ => fail_live(&mut items),
        }
        for _ in 0..MAX_STEPS_PER_WAKE {
            if !items.iter().any(|it| it.run == Run::Live) {
                break;
            }
            self.round(&mut items, &batch, now).await;
        }
        let mut done = Vec::with_capacity(batch.len());
        let mut failed = 0;
        for (it, wake) in items.into_iter().zip(batch) {
            match it.run {
                Run::Done => done.push(wake),
                Run::Failed | Run::Live => failed += 1,
                Run::Single => {
                    let c = &self.inner.scenarios[it.sc];
                    let mut loaded = it.loaded;
                    match self.advance(c, &wake.user, wake.entry, now, &mut loaded, 0).await {
                        Ok(()) => done.push(wake),
                        Err(_) => failed += 1,
                    }
                }
            }
        }
        (done, failed)
    }

    /// One round of [`Self::run_batch`]: every live wake-up runs its current step.
    async fn round(&self, items: &mut [Item], batch: &[WakeUp], now: Timestamp) {
        let st = &self.inner.state;
        let mut moves: Vec<(usize, Transition, After)> = Vec::new();
        let mut sends: Vec<(usize, std::borrow::Cow<'_, Rendered>, u16)> = Vec::new();
        let mut wakes: Vec<(usize, WakeUp)> = Vec::new();
        // Plan: each live wake-up's current step, up to its store calls.
        for (ix, it) in items.iter_mut().enumerate() {
            if it.run != Run::Live {
                continue;
            }
            let (c, user) = (&*self.inner.scenarios[it.sc], &batch[ix].user);
            let Some(e) = it.e.as_ref() else {
                it.run = Run::Single;
                continue;
            };
            if e.entry != batch[ix].entry || e.status != Status::Active {
                it.run = Run::Done; // stale wake-up
                continue;
            }
            if let Some(t) = e.wait_until {
                if t > now {
                    // Early (a duplicate, or a clock that went back): make sure it wakes at t.
                    wakes.push((ix, wake_of(c, user, e.entry, t)));
                    it.run = Run::Done;
                    continue;
                }
            }
            let base = e.wait_until.unwrap_or(e.since);
            let i = e.step;
            let Some(step) = c.steps.get(usize::from(i)) else {
                moves.push((ix, Transition::Exit(ExitReason::Completed), After::Exited));
                continue;
            };
            match step {
                CStep::Wait { wait, next } => {
                    let until = wait_until(wait, base, &c.tz);
                    if *next == EXIT {
                        moves.push((ix, Transition::Exit(ExitReason::Completed), After::Exited));
                    } else {
                        let change = Transition::Move {
                            step: *next,
                            since: until,
                            wait_until: Some(until),
                            last_sent: e.last_sent,
                        };
                        let after = if until > now {
                            After::WakeAt(until)
                        } else {
                            After::Continue
                        };
                        moves.push((ix, change, after));
                    }
                }
                CStep::Branch { cond, then, otherwise } => {
                    let profile = match self.load(user, &mut it.loaded).await {
                        Ok(p) => p,
                        Err(_) => {
                            it.run = Run::Failed;
                            continue;
                        }
                    };
                    let empty;
                    let view: &Profile = match &profile {
                        Some(p) => p,
                        None => {
                            empty = Profile::new(user.clone());
                            &empty
                        }
                    };
                    let yes = match cond {
                        CCond::Segment(seg) => seg.at(now).matches(view),
                        CCond::Since(m) => view
                            .events()
                            .iter()
                            .any(|ev| *ev.name == *m.name && ev.at >= e.entered_at && props_match(&m.props, ev)),
                    };
                    moves.push(move_of(if yes { *then } else { *otherwise }, base, e.last_sent, ix));
                }
                CStep::Split {
                    cumulative,
                    total,
                    targets,
                    hasher,
                } => {
                    let target = split_target(cumulative, *total, targets, hasher, user);
                    moves.push(move_of(target, base, e.last_sent, ix));
                }
                CStep::Act { .. } => it.run = Run::Single,
                CStep::Exit => moves.push((ix, Transition::Exit(ExitReason::Completed), After::Exited)),
                CStep::Send { payload, quiet, next } => {
                    if let Some(q) = &self.inner.config.quiet_hours {
                        if q.contains(now) {
                            match quiet {
                                QuietPolicy::Defer => {
                                    let until = q.next_allowed(now);
                                    let change = Transition::Move {
                                        step: i,
                                        since: base,
                                        wait_until: Some(until),
                                        last_sent: e.last_sent,
                                    };
                                    moves.push((ix, change, After::Deferred(until)));
                                }
                                QuietPolicy::Drop => {
                                    let skip = RecordKind::Skipped(SkipReason::QuietHours);
                                    if self.record(c, user, Some(i), skip).await.is_err() {
                                        it.run = Run::Failed;
                                        continue;
                                    }
                                    moves.push(move_of(*next, base, e.last_sent, ix));
                                }
                            }
                            continue;
                        }
                    }
                    match self.render(c, user, e, payload, &mut it.loaded).await {
                        Ok(Some(rendered)) => sends.push((ix, rendered, *next)),
                        Ok(None) => moves.push(move_of(*next, base, e.last_sent, ix)),
                        Err(_) => it.run = Run::Failed,
                    }
                }
            }
        }
        if !sends.is_empty() {
            self.send_many(items, batch, sends, now, &mut moves).await;
        }
        if !moves.is_empty() {
            let ops: Vec<TransitionOf<'_>> = moves
                .iter()
                .map(|(ix, change, _)| {
                    let e = items[*ix].e.as_ref().expect("a moving wake-up has its enrollment");
                    TransitionOf {
                        scenario: &batch[*ix].scenario,
                        user: &batch[*ix].user,
                        entry: e.entry,
                        seq: e.seq,
                        change: change.clone(),
                    }
                })
                .collect();
            let result = st.transition_many(&ops).await;
            drop(ops);
            match result {
                Ok(applied_all) if applied_all.len() == moves.len() => {
                    let at = self.now();
                    let mut records: Vec<(usize, Record)> = Vec::new();
                    for ((ix, change, after), ok) in moves.into_iter().zip(applied_all) {
                        let it = &mut items[ix];
                        let (c, user) = (&*self.inner.scenarios[it.sc], &batch[ix].user);
                        if !ok {
                            it.run = Run::Single; // moved by another worker: re-read there
                            continue;
                        }
                        let Some(e) = it.e.take() else { continue };
                        let next = applied(&e, &change);
                        match after {
                            After::Continue => {}
                            After::WakeAt(t) => {
                                wakes.push((ix, wake_of(c, user, next.entry, t)));
                                it.run = Run::Done;
                            }
                            After::Exited => {
                                it.run = Run::Done;
                                let kind = RecordKind::Exited(ExitReason::Completed);
                                records.push((ix, self.record_of(c, user, None, kind, at)));
                            }
                            After::Deferred(until) => {
                                it.run = Run::Done;
                                wakes.push((ix, wake_of(c, user, next.entry, until)));
                                let kind = RecordKind::Deferred { until };
                                records.push((ix, self.record_of(c, user, Some(e.step), kind, at)));
                            }
                        }
                        it.e = Some(next);
                    }
                    self.record_all(items, records).await;
                }
                _ => {
                    for (ix, _, _) in moves {
                        items[ix].run = Run::Failed;
                    }
                }
            }
        }
        if !wakes.is_empty() {
            let list: Vec<WakeUp> = wakes.iter().map(|(_, w)| w.clone()).collect();
            if self.inner.scheduler.schedule_many(&list).await.is_err() {
                // Not acknowledged: the wake-up comes back after its lease and schedules again.
                for (ix, _) in wakes {
                    items[ix].run = Run::Failed;
                }
            }
        }
    }

    /// The send phase of a round: claims every key at once, pushes, settles every outcome at once,
    /// then records and adds the moves past the send steps.
    async fn send_many(
        &self,
        items: &mut [Item],
        batch: &[WakeUp],
        sends: Vec<(usize, std::borrow::Cow<'_, Rendered>, u16)>,
        now: Timestamp,
        moves: &mut Vec<(usize, Transition, After)>,
    ) {
        let st = &self.inner.state;
        let keys: Vec<SendKey> = sends
            .iter()
            .map(|(ix, _, _)| {
                let e = items[*ix].e.as_ref().expect("a sending wake-up has its enrollment");
                SendKey {
                    scenario: batch[*ix].scenario.clone(),
                    user: batch[*ix].user.clone(),
                    entry: e.entry,
                    step: e.step,
                    seq: e.seq,
                }
            })
            .collect();
        let claims = match st.claim_many(&keys, now).await {
            Ok(c) if c.len() == keys.len() => c,
            _ => {
                for (ix, _, _) in &sends {
                    items[*ix].run = Run::Failed;
                }
                return;
            }
        };
        // What each send came to: taken by LINE (now or before), or not, with the record to make
        // once the outcome is settled; `None`: failed (left for a retry).
        let mut outcomes: Vec<Option<(bool, Option<RecordKind>, bool)>> = vec![None; sends.len()];
        let mut settles: Vec<(&SendKey, Settled)> = Vec::new();
        // First, in batch (priority) order, what needs no push and the budget: a user's slot goes
        // to the sends in the order they would go one by one, whatever the pushes do after.
        let mut pushes: Vec<usize> = Vec::with_capacity(sends.len());
        for (n, (((ix, _, _), key), claim)) in sends.iter().zip(&keys).zip(claims).enumerate() {
            let (c, user) = (&*self.inner.scenarios[items[*ix].sc], &batch[*ix].user);
            match claim {
                Claim::Done => {
                    outcomes[n] = Some((true, None, false));
                    continue;
                }
                Claim::Abandoned => {
                    outcomes[n] = Some((false, None, false));
                    continue;
                }
                Claim::Pending { since } if now.duration_since(since) > self.inner.config.retry_key_memory => {
                    settles.push((key, Settled::Abandoned));
                    outcomes[n] = Some((false, Some(RecordKind::Skipped(SkipReason::OutcomeUnknown)), false));
                    continue;
                }
                _ => {}
            }
            if let Some(gate) = &self.inner.gate {
                match gate.admit(user, &key.to_string(), c.scenario.priority, now).await {
                    Ok(true) => {}
                    Ok(false) => {
                        settles.push((key, Settled::Abandoned));
                        outcomes[n] = Some((false, Some(RecordKind::Skipped(SkipReason::Budget)), false));
                        continue;
                    }
                    Err(_) => continue, // failed: left for a retry
                }
            }
            pushes.push(n);
        }
        // Then the pushes, up to `push_concurrency` at once. Every key was claimed above, before
        // the first push; each outcome is settled below, after the last.
        let bound = self.inner.config.push_concurrency.max(1);
        let results: Vec<(usize, std::result::Result<Accepted, SendFailure>)> = if bound == 1 || pushes.len() < 2 {
            let mut out = Vec::with_capacity(pushes.len());
            for &n in &pushes {
                out.push((n, self.push_one(items, batch, &sends[n], &keys[n]).await));
            }
            out
        } else {
            // The contexts and retry keys live here while the pushes borrow them; each push is the
            // sender's own boxed future, tagged with its index.
            let contexts: Vec<(&UserId, SendContext<'_>, line_core::ids::RetryKey)> = pushes
                .iter()
                .map(|&n| {
                    let (ix, key) = (sends[n].0, &keys[n]);
                    let c = &*self.inner.scenarios[items[ix].sc];
                    let step_id = c
                        .scenario
                        .steps
                        .get(usize::from(key.step))
                        .map_or("", |st| st.id.as_str());
                    (
                        &batch[ix].user,
                        SendContext::new(&c.id, step_id, key.step, key.entry),
                        key.retry_key(),
                    )
                })
                .collect();
            let sender = &self.inner.sender;
            let mut out = Vec::with_capacity(pushes.len());
            let mut in_flight = futures::stream::FuturesUnordered::new();
            for (&n, (user, context, retry_key)) in pushes.iter().zip(&contexts) {
                if in_flight.len() >= bound {
                    if let Some(r) = in_flight.next().await {
                        out.push(r);
                    }
                }
                let mut push = sender.push_in(user, &sends[n].1, *retry_key, context);
                // Polled once here: a push that is done at once (nothing to wait on) needs no task
                // in the set; one that waits goes in and is polled again there with its waker.
                match (&mut push).now_or_never() {
                    Some(r) => out.push((n, r)),
                    None => in_flight.push(push.map(move |r| (n, r))),
                }
            }
            while let Some(r) = in_flight.next().await {
                out.push(r);
            }
            out
        };
        for (n, result) in results {
            let (key, rendered) = (&keys[n], &sends[n].1);
            outcomes[n] = match result {
                Ok(Accepted::New) | Ok(Accepted::Before) => {
                    settles.push((key, Settled::Accepted));
                    let sent = RecordKind::Sent {
                        messages: rendered.count as u32,
                    };
                    Some((true, Some(sent), false))
                }
                Err(SendFailure::Refused { .. }) => {
                    settles.push((key, Settled::Abandoned));
                    Some((false, Some(RecordKind::Skipped(SkipReason::Refused)), true))
                }
                Err(_) => None,
            };
        }
        if !settles.is_empty() && st.settle_many(&settles).await.is_err() {
            // Pending claims: a retry finds them and calls LINE again with the same retry key.
            for (ix, _, _) in &sends {
                items[*ix].run = Run::Failed;
            }
            return;
        }
        // The budget given back and the records, then the moves of those that got through both.
        let at = self.now();
        let mut records: Vec<(usize, Record)> = Vec::new();
        let mut sent_of: Vec<Option<bool>> = vec![None; sends.len()];
        for (n, (((ix, _, _), key), outcome)) in sends.iter().zip(&keys).zip(outcomes).enumerate() {
            let it = &mut items[*ix];
            let (c, user) = (&*self.inner.scenarios[it.sc], &batch[*ix].user);
            let Some((sent, record, give_back)) = outcome else {
                it.run = Run::Failed;
                continue;
            };
            if give_back {
                if let Some(gate) = &self.inner.gate {
                    if gate.give_back(user, &key.to_string()).await.is_err() {
                        it.run = Run::Failed;
                        continue;
                    }
                }
            }
            if let Some(kind) = record {
                records.push((*ix, self.record_of(c, user, Some(key.step), kind, at)));
            }
            sent_of[n] = Some(sent);
        }
        self.record_all(items, records).await;
        for (((ix, _, next), key), sent) in sends.iter().zip(&keys).zip(sent_of) {
            let it = &items[*ix];
            let Some(sent) = sent else { continue };
            if it.run == Run::Failed {
                continue; // its record failed
            }
            let e = it.e.as_ref().expect("a sending wake-up has its enrollment");
            let base = e.wait_until.unwrap_or(e.since);
            let last = if sent { Some(key.step) } else { e.last_sent };
            moves.push(move_of(*next, base, last, *ix));
        }
    }

    /// One push of a round's send phase.
    async fn push_one(
        &self,
        items: &[Item],
        batch: &[WakeUp],
        send: &(usize, std::borrow::Cow<'_, Rendered>, u16),
        key: &SendKey,
    ) -> std::result::Result<Accepted, SendFailure> {
        let (ix, rendered, _) = send;
        let (c, user) = (&*self.inner.scenarios[items[*ix].sc], &batch[*ix].user);
        let step_id = c
            .scenario
            .steps
            .get(usize::from(key.step))
            .map_or("", |st| st.id.as_str());
        let context = SendContext::new(&c.id, step_id, key.step, key.entry);
        self.inner
            .sender
            .push_in(user, rendered, key.retry_key(), &context)
            .await
    }

    /// Schedules a wake-up for every active enrollment (at its due time, or now): run it at start,
    /// so that a wake-up lost in a crash is re-created. Returns how many were scheduled.
    pub async fn recover(&self) -> Result<usize> {
        let now = self.now();
        let mut after: Option<(String, UserId)> = None;
        let mut n = 0;
        loop {
            let page = self
                .inner
                .state
                .active_page(after.as_ref().map(|(s, u)| (s.as_str(), u)), 1_000)
                .await?;
            let Some(last) = page.last() else { return Ok(n) };
            after = Some((last.0.clone(), last.1.clone()));
            for (scenario, user, e) in page {
                self.inner
                    .scheduler
                    .schedule(&WakeUp {
                        scenario: scenario.as_str().into(),
                        user,
                        entry: e.entry,
                        at: e.wait_until.unwrap_or(now),
                    })
                    .await?;
                n += 1;
            }
        }
    }

    /// Enters every user of the profile store that the scenario's entry segment admits (a launch),
    /// scheduling their first steps for now. Returns how many entered.
    pub async fn launch(&self, scenario: &str) -> Result<usize> {
        let c = self.compiled(scenario)?.clone();
        let now = self.now();
        let mut after: Option<UserId> = None;
        let mut n = 0;
        loop {
            let page = self.inner.profiles.page(after.as_ref(), 1_000).await?;
            let Some(last) = page.last() else { return Ok(n) };
            after = Some(last.id.clone());
            let eval = c.entry.as_ref().map(|seg| seg.at(now));
            for p in page {
                if eval.as_ref().is_some_and(|ev| !ev.matches(&*p)) {
                    continue;
                }
                match self
                    .inner
                    .state
                    .enroll(&c.id, &p.id, c.scenario.entry.reentry, now, Vec::new())
                    .await?
                {
                    EnrollOutcome::Entered(e) => {
                        self.record(&c, &p.id, None, RecordKind::Entered).await?;
                        self.inner
                            .scheduler
                            .schedule(&WakeUp {
                                scenario: c.id.clone(),
                                user: p.id.clone(),
                                entry: e.entry,
                                at: now,
                            })
                            .await?;
                        n += 1;
                    }
                    EnrollOutcome::Refused(r) => {
                        self.record(&c, &p.id, None, RecordKind::Skipped(SkipReason::Reentry(r)))
                            .await?;
                    }
                }
            }
        }
    }

    /// Checks calendar triggers (birthdays, fixed dates) for every profile now, entering those
    /// due. Call it periodically (every few minutes). Returns how many entered.
    pub async fn calendar_tick(&self) -> Result<usize> {
        let now = self.now();
        let calendar: Vec<Arc<Compiled>> = self
            .inner
            .scenarios
            .iter()
            .filter(|c| matches!(c.scenario.trigger, Trigger::Birthday(_) | Trigger::At(_)))
            .cloned()
            .collect();
        if calendar.is_empty() {
            return Ok(0);
        }
        let mut n = 0;
        let mut after: Option<UserId> = None;
        loop {
            let page = self.inner.profiles.page(after.as_ref(), 1_000).await?;
            let Some(last) = page.last() else { return Ok(n) };
            after = Some(last.id.clone());
            for p in page {
                for c in &calendar {
                    let Some(period_start) = calendar_due(c, &p, now) else {
                        continue;
                    };
                    if let Some(e) = self.inner.state.enrollment(&c.id, &p.id).await? {
                        if e.entered_at >= period_start {
                            continue; // entered in this period already
                        }
                    }
                    let mut loaded = Loaded {
                        profile: Some(Some(p.clone())),
                    };
                    if self
                        .enter_compiled(c.clone(), p.id.clone(), now, Vec::new(), &mut loaded, 0)
                        .await?
                    {
                        n += 1;
                    }
                }
            }
        }
    }

    /// Runs the enrollment's due steps until it waits, exits or is not due.
    fn advance<'a>(
        &'a self,
        c: &'a Compiled,
        user: &'a UserId,
        entry: u32,
        now: Timestamp,
        loaded: &'a mut Loaded,
        depth: usize,
    ) -> BoxFut<'a, Result<()>> {
        Box::pin(async move {
            let st = &self.inner.state;
            // The enrollment as this worker last moved it (saves a read per step); `None`: read it.
            let mut current: Option<Enrollment> = None;
            macro_rules! flow {
                ($f:expr) => {
                    match $f {
                        Flow::Reread => {}
                        Flow::Have(next) => current = Some(next),
                        Flow::Stop => return Ok(()),
                    }
                };
            }
            for _ in 0..MAX_STEPS_PER_WAKE {
                let e = match current.take() {
                    Some(e) => e,
                    None => match st.enrollment(&c.id, user).await? {
                        Some(e) => e,
                        None => return Ok(()),
                    },
                };
                if e.entry != entry || e.status != Status::Active {
                    return Ok(()); // stale wake-up
                }
                if let Some(t) = e.wait_until {
                    if t > now {
                        // Early (a duplicate, or a clock that went back): make sure it wakes at t.
                        return self.wake_at(c, user, entry, t).await;
                    }
                }
                let base = e.wait_until.unwrap_or(e.since);
                let i = e.step;
                let Some(step) = c.steps.get(usize::from(i)) else {
                    self.finish(c, user, &e).await?;
                    return Ok(());
                };
                match step {
                    CStep::Wait { wait, next } => {
                        let until = wait_until(wait, base, &c.tz);
                        if *next == EXIT {
                            flow!(self.finish(c, user, &e).await?);
                            continue;
                        }
                        let change = Transition::Move {
                            step: *next,
                            since: until,
                            wait_until: Some(until),
                            last_sent: e.last_sent,
                        };
                        if st.transition(&c.id, user, e.entry, e.seq, change.clone()).await? {
                            if until > now {
                                return self.wake_at(c, user, entry, until).await;
                            }
                            current = Some(applied(&e, &change));
                        }
                    }
                    CStep::Branch { cond, then, otherwise } => {
                        let profile = self.load(user, loaded).await?;
                        let empty;
                        let view: &Profile = match &profile {
                            Some(p) => p,
                            None => {
                                empty = Profile::new(user.clone());
                                &empty
                            }
                        };
                        let yes = match cond {
                            CCond::Segment(seg) => seg.at(now).matches(view),
                            CCond::Since(m) => view
                                .events()
                                .iter()
                                .any(|ev| *ev.name == *m.name && ev.at >= e.entered_at && props_match(&m.props, ev)),
                        };
                        flow!(
                            self.move_to(c, user, &e, if yes { *then } else { *otherwise }, base, e.last_sent)
                                .await?
                        );
                    }
                    CStep::Split {
                        cumulative,
                        total,
                        targets,
                        hasher,
                    } => {
                        let target = split_target(cumulative, *total, targets, hasher, user);
                        flow!(self.move_to(c, user, &e, target, base, e.last_sent).await?);
                    }
                    CStep::Act { act, value, next } => {
                        self.act(c, user, act, value.as_ref(), now, depth).await?;
                        loaded.profile = None;
                        self.record(c, user, Some(i), RecordKind::Acted).await?;
                        // An act may have changed this enrollment (a `stop` of itself): re-read.
                        self.move_to(c, user, &e, *next, base, e.last_sent).await?;
                    }
                    CStep::Exit => flow!(self.finish(c, user, &e).await?),
                    CStep::Send { payload, quiet, next } => {
                        if let Some(q) = &self.inner.config.quiet_hours {
                            if q.contains(now) {
                                match quiet {
                                    QuietPolicy::Defer => {
                                        let until = q.next_allowed(now);
                                        let change = Transition::Move {
                                            step: i,
                                            since: base,
                                            wait_until: Some(until),
                                            last_sent: e.last_sent,
                                        };
                                        if st.transition(&c.id, user, e.entry, e.seq, change).await? {
                                            self.record(c, user, Some(i), RecordKind::Deferred { until }).await?;
                                            return self.wake_at(c, user, entry, until).await;
                                        }
                                        continue;
                                    }
                                    QuietPolicy::Drop => {
                                        self.record(c, user, Some(i), RecordKind::Skipped(SkipReason::QuietHours))
                                            .await?;
                                        flow!(self.move_to(c, user, &e, *next, base, e.last_sent).await?);
                                        continue;
                                    }
                                }
                            }
                        }
                        let sent = self.send(c, user, &e, payload, now, loaded).await?;
                        let last = if sent { Some(i) } else { e.last_sent };
                        flow!(self.move_to(c, user, &e, *next, base, last).await?);
                    }
                }
            }
            Err(Error::config(
                "steps",
                format!("scenario `{}` ran {MAX_STEPS_PER_WAKE} steps for one wake-up", c.id),
            ))
        })
    }

    async fn wake_at(&self, c: &Compiled, user: &UserId, entry: u32, at: Timestamp) -> Result<()> {
        self.inner
            .scheduler
            .schedule(&WakeUp {
                scenario: c.id.clone(),
                user: user.clone(),
                entry,
                at,
            })
            .await
    }

    /// Ends the enrollment as completed: `Stop` when this worker ended it, else `Reread`.
    async fn finish(&self, c: &Compiled, user: &UserId, e: &Enrollment) -> Result<Flow> {
        if self
            .inner
            .state
            .transition(&c.id, user, e.entry, e.seq, Transition::Exit(ExitReason::Completed))
            .await?
        {
            self.record(c, user, None, RecordKind::Exited(ExitReason::Completed))
                .await?;
            return Ok(Flow::Stop);
        }
        Ok(Flow::Reread)
    }

    async fn move_to(
        &self,
        c: &Compiled,
        user: &UserId,
        e: &Enrollment,
        target: u16,
        since: Timestamp,
        last_sent: Option<u16>,
    ) -> Result<Flow> {
        if target == EXIT {
            return self.finish(c, user, e).await;
        }
        let change = Transition::Move {
            step: target,
            since,
            wait_until: None,
            last_sent,
        };
        if self
            .inner
            .state
            .transition(&c.id, user, e.entry, e.seq, change.clone())
            .await?
        {
            return Ok(Flow::Have(applied(e, &change)));
        }
        Ok(Flow::Reread)
    }

    /// The messages of a send step for this user; `None` when a template value is missing (the
    /// skip is recorded).
    async fn render<'p>(
        &self,
        c: &Compiled,
        user: &UserId,
        e: &Enrollment,
        payload: &'p Payload,
        loaded: &mut Loaded,
    ) -> Result<Option<std::borrow::Cow<'p, Rendered>>> {
        Ok(Some(match payload {
            Payload::Static(r) => std::borrow::Cow::Borrowed(r),
            Payload::Template { template, vars } => {
                let profile = self.load(user, loaded).await?;
                let mut values: Vec<std::borrow::Cow<'_, str>> = Vec::with_capacity(vars.len());
                for (name, v) in template.variables().iter().zip(vars) {
                    let found = match &v.from {
                        VarFrom::Event(p) => e
                            .vars
                            .iter()
                            .find(|(k, _)| k == p)
                            .map(|(_, x)| std::borrow::Cow::Borrowed(x.as_str())),
                        VarFrom::Attribute(a) => profile.as_ref().and_then(|p| p.attributes.get(a)).map(|x| match x {
                            Value::Str(s) => std::borrow::Cow::Borrowed(s.as_str()),
                            other => std::borrow::Cow::Owned(value_text(other)),
                        }),
                        VarFrom::Value(x) => Some(std::borrow::Cow::Borrowed(x.as_str())),
                    };
                    match found.or_else(|| v.default.as_deref().map(std::borrow::Cow::Borrowed)) {
                        Some(x) => values.push(x),
                        None => {
                            self.record(
                                c,
                                user,
                                Some(e.step),
                                RecordKind::Skipped(SkipReason::MissingValue(name.clone())),
                            )
                            .await?;
                            return Ok(None);
                        }
                    }
                }
                let refs: Vec<&str> = values.iter().map(|v| &**v).collect();
                // `render_values` clears its output: render, then bracket the message as an array.
                let mut out = String::with_capacity(256);
                template
                    .render_values(&refs, &mut out)
                    .map_err(|err| Error::config("template", err.to_string()))?;
                out.insert(0, '[');
                out.push(']');
                std::borrow::Cow::Owned(Rendered { json: out, count: 1 })
            }
        }))
    }

    /// Sends the step's messages once. Returns whether LINE took them (now or before).
    async fn send(
        &self,
        c: &Compiled,
        user: &UserId,
        e: &Enrollment,
        payload: &Payload,
        now: Timestamp,
        loaded: &mut Loaded,
    ) -> Result<bool> {
        let i = e.step;
        let Some(rendered) = self.render(c, user, e, payload, loaded).await? else {
            return Ok(false);
        };
        let key = SendKey {
            scenario: c.id.clone(),
            user: user.clone(),
            entry: e.entry,
            step: i,
            seq: e.seq,
        };
        let st = &self.inner.state;
        match st.claim(&key, now).await? {
            Claim::Done => return Ok(true),
            Claim::Abandoned => return Ok(false),
            Claim::Pending { since } if now.duration_since(since) > self.inner.config.retry_key_memory => {
                st.settle(&key, Settled::Abandoned).await?;
                self.record(c, user, Some(i), RecordKind::Skipped(SkipReason::OutcomeUnknown))
                    .await?;
                return Ok(false);
            }
            _ => {}
        }
        let gate_key = key.to_string();
        if let Some(gate) = &self.inner.gate {
            if !gate.admit(user, &gate_key, c.scenario.priority, now).await? {
                st.settle(&key, Settled::Abandoned).await?;
                self.record(c, user, Some(i), RecordKind::Skipped(SkipReason::Budget))
                    .await?;
                return Ok(false);
            }
        }
        let step_id = c.scenario.steps.get(usize::from(i)).map_or("", |st| st.id.as_str());
        let context = SendContext::new(&c.id, step_id, i, e.entry);
        match self
            .inner
            .sender
            .push_in(user, &rendered, key.retry_key(), &context)
            .await
        {
            Ok(Accepted::New) | Ok(Accepted::Before) => {
                st.settle(&key, Settled::Accepted).await?;
                self.record(
                    c,
                    user,
                    Some(i),
                    RecordKind::Sent {
                        messages: rendered.count as u32,
                    },
                )
                .await?;
                Ok(true)
            }
            Err(SendFailure::Refused { .. }) => {
                st.settle(&key, Settled::Abandoned).await?;
                if let Some(gate) = &self.inner.gate {
                    gate.give_back(user, &gate_key).await?;
                }
                self.record(c, user, Some(i), RecordKind::Skipped(SkipReason::Refused))
                    .await?;
                Ok(false)
            }
            Err(failure) => Err(Error::new(ErrorKind::Send {
                message: failure.to_string(),
            })),
        }
    }

    async fn act(
        &self,
        c: &Compiled,
        user: &UserId,
        act: &Act,
        value: Option<&Value>,
        now: Timestamp,
        depth: usize,
    ) -> Result<()> {
        let p = &self.inner.profiles;
        match act {
            Act::AddTag(t) => p.add_tag(user, t).await,
            Act::RemoveTag(t) => p.remove_tag(user, t).await,
            Act::SetAttribute { name, .. } => match value {
                Some(v) => p.set_attribute(user, name, v.clone()).await,
                None => Err(Error::config("set_attribute", format!("invalid value for `{name}`"))),
            },
            Act::RemoveAttribute(name) => p.remove_attribute(user, name).await,
            Act::RichMenu(menu) => match &self.inner.menus {
                Some(m) => m.link(user, menu).await,
                None => Err(Error::config("rich_menus", "no rich-menu switcher")),
            },
            Act::Start(other) => {
                if depth >= MAX_START_DEPTH || *other == *c.id {
                    return Ok(());
                }
                let oc = self.compiled(other)?.clone();
                let mut loaded = Loaded { profile: None };
                self.enter_compiled(oc, user.clone(), now, Vec::new(), &mut loaded, depth + 1)
                    .await
                    .map(|_| ())
            }
            Act::Stop(other) => {
                let oc = self.compiled(other)?.clone();
                self.end(&oc, user, ExitReason::Stopped, None).await
            }
        }
    }
}

/// Where a wake-up of a batch is (see [`Engine::run_batch`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Run {
    /// Running in the batch's rounds.
    Live,
    /// Finished: acknowledge it.
    Done,
    /// Left for a retry after its lease.
    Failed,
    /// To run one by one after the rounds.
    Single,
}

/// One wake-up of a batch (the wake-up itself is at the same index of the batch).
struct Item {
    /// The scenario's index in the engine.
    sc: usize,
    /// The enrollment as last read or moved.
    e: Option<Enrollment>,
    loaded: Loaded,
    run: Run,
}

/// What a batched move leads to once applied.
#[derive(Debug, Clone, Copy)]
enum After {
    /// Run the next step in the next round.
    Continue,
    /// Wait: schedule a wake-up then.
    WakeAt(Timestamp),
    /// It exited as completed: record it.
    Exited,
    /// Deferred by quiet hours: record it and wake up then.
    Deferred(Timestamp),
}

fn fail_live(items: &mut [Item]) {
    for it in items.iter_mut().filter(|it| it.run == Run::Live) {
        it.run = Run::Failed;
    }
}

/// The move of item `ix` to `target` (an exit when it is the end), as [`Engine::move_to`] does.
fn move_of(target: u16, since: Timestamp, last_sent: Option<u16>, ix: usize) -> (usize, Transition, After) {
    if target == EXIT {
        return (ix, Transition::Exit(ExitReason::Completed), After::Exited);
    }
    let change = Transition::Move {
        step: target,
        since,
        wait_until: None,
        last_sent,
    };
    (ix, change, After::Continue)
}

fn wake_of(c: &Compiled, user: &UserId, entry: u32, at: Timestamp) -> WakeUp {
    WakeUp {
        scenario: c.id.clone(),
        user: user.clone(),
        entry,
        at,
    }
}

/// The arm a split sends `user` to.
fn split_target(cumulative: &[u64], total: u64, targets: &[u16], hasher: &SipHasher13, user: &UserId) -> u16 {
    let mut h = *hasher;
    h.write(user.as_str().as_bytes());
    let x = ((u128::from(h.finish()) * u128::from(total)) >> 64) as u64;
    let arm = cumulative
        .partition_point(|&w| w <= x)
        .min(targets.len().saturating_sub(1));
    targets.get(arm).copied().unwrap_or(EXIT)
}

/// What to do after a move.
enum Flow {
    /// Read the enrollment again (another worker moved it, or it may have changed).
    Reread,
    /// This worker moved it; here it is.
    Have(Enrollment),
    /// This worker ended it.
    Stop,
}

/// The enrollment after `change` was applied to `e`.
fn applied(e: &Enrollment, change: &Transition) -> Enrollment {
    let mut n = e.clone();
    n.seq = n.seq.wrapping_add(1);
    match change {
        Transition::Move {
            step,
            since,
            wait_until,
            last_sent,
        } => {
            n.step = *step;
            n.since = *since;
            n.wait_until = *wait_until;
            n.last_sent = *last_sent;
        }
        Transition::Exit(reason) => {
            n.status = Status::Exited(*reason);
            n.wait_until = None;
        }
    }
    n
}

/// Whether a text matches a message trigger: a keyword equals the whole text, or a pattern
/// (`*` for any run of characters) matches it; ASCII case and surrounding white space are ignored.
pub fn text_matches(m: &MessageMatch, text: &str) -> bool {
    let text = text.trim().to_lowercase();
    m.keywords.iter().any(|k| k.trim().to_lowercase() == text)
        || m.patterns.iter().any(|p| glob(&p.trim().to_lowercase(), &text))
}

fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

/// When a wait that started at `base` ends.
pub fn wait_until(wait: &Wait, base: Timestamp, tz: &TimeZone) -> Timestamp {
    match wait {
        Wait::For(w) => base
            .saturating_add(SignedDuration::from_secs(w.secs() as i64))
            .unwrap_or(base),
        Wait::UntilTime(t) => {
            let z = base.to_zoned(tz.clone());
            let today = z.date().to_datetime(*t).to_zoned(tz.clone()).map(|z| z.timestamp());
            match today {
                Ok(at) if at > base => at,
                _ => z
                    .date()
                    .tomorrow()
                    .ok()
                    .and_then(|d| d.to_datetime(*t).to_zoned(tz.clone()).ok())
                    .map_or(base, |z| z.timestamp()),
            }
        }
        Wait::Until(dt) => dt
            .to_zoned(tz.clone())
            .map(|z| z.timestamp())
            .map_or(base, |at| at.max(base)),
    }
}

/// For a calendar scenario: the start of the current period when `profile` is due now.
fn calendar_due(c: &Compiled, profile: &Profile, now: Timestamp) -> Option<Timestamp> {
    let z = now.to_zoned(c.tz.clone());
    let start =
        |date: Date, t: jiff::civil::Time| date.to_datetime(t).to_zoned(c.tz.clone()).ok().map(|z| z.timestamp());
    match &c.scenario.trigger {
        Trigger::Birthday(b) => {
            let Some(Value::Date(birthday)) = profile.attributes.get(&b.attribute) else {
                return None;
            };
            let today = z.date();
            match b.granularity {
                BirthdayMatch::Month => {
                    if birthday.month() != today.month() {
                        return None;
                    }
                    let first = today.first_of_month();
                    let s = start(first, b.at)?;
                    (now >= s).then_some(s)
                }
                BirthdayMatch::Day => {
                    let day = birthday_in(today.year(), *birthday)?;
                    if day != today {
                        return None;
                    }
                    let s = start(today, b.at)?;
                    (now >= s).then_some(s)
                }
            }
        }
        Trigger::At(dt) => {
            let s = dt.to_zoned(c.tz.clone()).ok()?.timestamp();
            (now >= s).then_some(s)
        }
        _ => None,
    }
}

/// The birthday's date in `year` (29 February becomes 28 February in other years).
fn birthday_in(year: i16, birthday: Date) -> Option<Date> {
    Date::new(year, birthday.month(), birthday.day())
        .ok()
        .or_else(|| Date::new(year, birthday.month(), 28).ok())
}

#[allow(dead_code)]
fn assert_send_sync() {
    fn is<T: std::marker::Send + Sync>() {}
    is::<Engine>();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_use_stars_only() {
        let m = MessageMatch {
            keywords: vec!["Coupon".into()],
            patterns: vec!["*size*please".into(), "hello".into()],
        };
        assert!(text_matches(&m, " coupon "));
        assert!(!text_matches(&m, "coupons"));
        assert!(text_matches(&m, "What size please"));
        assert!(text_matches(&m, "sizeplease"));
        assert!(!text_matches(&m, "size please?"));
        assert!(text_matches(&m, "HELLO"));
        assert!(glob("a*b*c", "axxbyyc"));
        assert!(!glob("a*b*c", "ac"));
        assert!(glob("*", ""));
    }

    #[test]
    fn waits_count_from_the_base_in_the_zone() {
        let tz = TimeZone::get("Asia/Tokyo").unwrap();
        let base: Timestamp = "2026-05-15T01:30:00Z".parse().unwrap(); // 10:30 JST
        let w = Wait::For(line_segments::Window::parse("1h").unwrap());
        assert_eq!(wait_until(&w, base, &tz), "2026-05-15T02:30:00Z".parse().unwrap());
        // 10:00 JST has passed today: tomorrow 10:00 JST.
        let w = Wait::UntilTime(jiff::civil::time(10, 0, 0, 0));
        assert_eq!(wait_until(&w, base, &tz), "2026-05-16T01:00:00Z".parse().unwrap());
        let w = Wait::UntilTime(jiff::civil::time(12, 0, 0, 0));
        assert_eq!(wait_until(&w, base, &tz), "2026-05-15T03:00:00Z".parse().unwrap());
        // A date in the past is due at once.
        let w = Wait::Until(jiff::civil::datetime(2026, 1, 1, 0, 0, 0, 0));
        assert_eq!(wait_until(&w, base, &tz), base);
    }

    #[test]
    fn leap_day_birthdays_fall_on_the_28th() {
        let b = jiff::civil::date(2000, 2, 29);
        assert_eq!(birthday_in(2026, b), Some(jiff::civil::date(2026, 2, 28)));
        assert_eq!(birthday_in(2028, b), Some(jiff::civil::date(2028, 2, 29)));
    }
}
