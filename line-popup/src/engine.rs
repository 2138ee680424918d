//! [`PopupEngine`]: per page view, whether a visitor sees a popup and which one.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::Timestamp;
use line_core::clock::Clock;
use line_core::ids::UserId;
use line_core::webhook::Event;
use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

use crate::config::{Audience, Banner, Campaign, Day, Goal, PopupConfig};
use crate::error::{Error, ErrorKind};
use crate::paths::PathRules;
use crate::segment::{PopupSegment, Visitor, VisitorProfiles};
use crate::split::SplitHasher;
use crate::store::{Attribution, Candidate, CapKind, EventKind, PopupStore, Recorded, ReserveOutcome, ReserveRequest};
use line_segments::profile::Profile;
// Where they were first defined; `line_popup::VisitorContext` is the usual path.
pub use crate::visitor::{LineStatus, VisitorContext, MAX_ID_LEN};

/// Longest period of a report, in days.
pub const MAX_REPORT_DAYS: i32 = 400;

/// Where the add-friend URL points, before the percent-encoded `@`.
pub const ADD_FRIEND_URL_PREFIX: &str = "https://line.me/R/ti/p/";
/// LINE Login's authorization endpoint.
pub const LOGIN_AUTHORIZE_URL: &str = "https://access.line.me/oauth2/v2.1/authorize";
/// The query parameter that carries the attribution token on the host's ID-link URL.
pub const TOKEN_PARAM: &str = "popup_token";

/// Why a campaign was not shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "rule", content = "cap")]
#[non_exhaustive]
pub enum Reason {
    /// Outside the campaign's start and end.
    Schedule,
    /// Outside the campaign's days or hours.
    Hours,
    /// The visitor's LINE status is not the targeted audience.
    Audience,
    /// The page path is not included, or is excluded.
    Page,
    /// The device is not targeted.
    Device,
    /// The visitor is not in the segment.
    Segment,
    /// A cap blocked it.
    Cap(CapKind),
    /// Another campaign of higher priority was shown on this page view.
    OnePerPageView,
}

impl Reason {
    /// The rule's name, as serialized in the `rule` property: `schedule`, `hours`,
    /// `audience`, `page`, `device`, `segment`, `cap` or `one_per_page_view`.
    pub fn rule(self) -> &'static str {
        match self {
            Reason::Schedule => "schedule",
            Reason::Hours => "hours",
            Reason::Audience => "audience",
            Reason::Page => "page",
            Reason::Device => "device",
            Reason::Segment => "segment",
            Reason::Cap(_) => "cap",
            Reason::OnePerPageView => "one_per_page_view",
        }
    }
}

/// One campaign that was not shown, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Blocked {
    /// The campaign.
    pub campaign: Arc<str>,
    /// The first rule or cap that blocked it.
    pub reason: Reason,
}

/// A popup to show.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Showing {
    /// The campaign.
    pub campaign: Arc<str>,
    /// The banner variant.
    pub banner: Arc<Banner>,
    /// The attribution token of this showing; send it back with every event.
    pub token: String,
    /// Where the banner's button leads (one of the URLs below, by the campaign's goal).
    pub click_url: String,
    /// The add-friend URL.
    pub add_friend_url: Arc<str>,
    /// The LINE Login URL with `bot_prompt`, whose `state` is the token (when configured).
    pub login_url: Option<String>,
    /// The host's ID-link URL with tracking parameters and the token (when configured).
    pub id_link_url: Option<String>,
    /// Lower-priority campaigns passed over on this page view.
    pub passed_over: Vec<Blocked>,
}

/// The answer for one page view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "decision")]
#[non_exhaustive]
pub enum Decision {
    /// Show this popup.
    Show(Showing),
    /// Show nothing. `blocked` has one entry per campaign, in priority order,
    /// with the rule or cap that blocked it; it is empty when there are no campaigns.
    Hide {
        /// Why each campaign was not shown.
        blocked: Vec<Blocked>,
    },
}

impl Decision {
    /// The showing, if any.
    pub fn showing(&self) -> Option<&Showing> {
        match self {
            Self::Show(s) => Some(s),
            Self::Hide { .. } => None,
        }
    }

    /// The reason of the highest-priority blocked campaign, when nothing is shown.
    pub fn reason(&self) -> Option<Reason> {
        match self {
            Self::Show(_) => None,
            Self::Hide { blocked } => blocked.first().map(|b| b.reason),
        }
    }
}

/// A conversion matched from a webhook event.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Conversion {
    /// The attribution token.
    pub token: String,
    /// The showing it came from.
    pub attribution: Attribution,
    /// A friend or an ID link.
    pub kind: EventKind,
    /// Whether it had been counted already (a redelivered event).
    pub duplicate: bool,
}

/// Counters of one campaign variant over a period.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct VariantReport {
    /// Campaign.
    pub campaign: String,
    /// Variant.
    pub variant: String,
    /// Showings reserved by decisions.
    pub reserved: u64,
    /// Showings the browser reported as rendered.
    pub impressions: u64,
    /// Clicks.
    pub clicks: u64,
    /// Dismissals.
    pub dismissals: u64,
    /// Conversions (friends and ID links).
    pub conversions: u64,
    /// Of which, new friends.
    pub friend_conversions: u64,
    /// Of which, ID links.
    pub link_conversions: u64,
    /// `conversions / impressions`, when there were impressions.
    pub conversion_rate: Option<f64>,
}

/// A report over a period of calendar days.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Report {
    /// First day (inclusive).
    pub from: Date,
    /// Last day (inclusive).
    pub to: Date,
    /// Per campaign and variant, sorted.
    pub variants: Vec<VariantReport>,
    /// All new friends in the period (from `follow` events, unblocks excluded).
    pub new_friends: u64,
    /// New friends that came through popups.
    pub popup_friends: u64,
    /// `popup_friends / new_friends`, when there were new friends.
    pub popup_share: Option<f64>,
}

/// Campaigns kept on the stack during a decision; more spill to the heap.
const INLINE_CAMPAIGNS: usize = 8;

struct Compiled {
    campaign: Campaign,
    id: Arc<str>,
    banners: Vec<Arc<Banner>>,
    cumulative: Vec<u64>,
    total_weight: u64,
    /// The split hash after the campaign ID and its separator.
    split: SplitHasher,
    include: Option<PathRules>,
    exclude: Option<PathRules>,
    tz: TimeZone,
    segment: Option<Arc<PopupSegment>>,
    login_prefix: Option<String>,
    id_link_prefixes: Vec<String>,
}

/// Builds a [`PopupEngine`].
pub struct PopupEngineBuilder {
    config: PopupConfig,
    store: Arc<dyn PopupStore>,
    clock: Arc<dyn Clock>,
    segments: HashMap<String, Arc<PopupSegment>>,
    profiles: Option<Arc<dyn VisitorProfiles>>,
}

impl fmt::Debug for PopupEngineBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PopupEngineBuilder")
            .field("campaigns", &self.config.campaigns.len())
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl PopupEngineBuilder {
    /// Registers a segment under the name campaigns use in `targeting.segment`.
    pub fn segment(mut self, name: impl Into<String>, condition: Arc<PopupSegment>) -> Self {
        self.segments.insert(name.into(), condition);
        self
    }

    /// The source of visitor profiles that segments read ([`Visitor::profile`]); without one,
    /// segments see no profile.
    pub fn profiles(mut self, profiles: Arc<dyn VisitorProfiles>) -> Self {
        self.profiles = Some(profiles);
        self
    }

    /// Checks the configuration and builds the engine. Errors name the JSON
    /// pointer of the offending value.
    pub fn build(self) -> Result<PopupEngine, Error> {
        let cfg = self.config;
        let basic_id = cfg.basic_id.strip_prefix('@').unwrap_or(&cfg.basic_id);
        if basic_id.is_empty() || !basic_id.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)) {
            return Err(Error::config(
                "/basic_id",
                "must be @ followed by letters, digits, '.', '_' or '-'",
            ));
        }
        let add_friend_url: Arc<str> = format!("{ADD_FRIEND_URL_PREFIX}%40{basic_id}").into();
        let tz = parse_tz(&cfg.time_zone, "/time_zone")?;
        if cfg.max_per_day == Some(0) {
            return Err(Error::config(
                "/max_per_day",
                "must be at least 1 (remove it for no cap)",
            ));
        }
        if cfg.attribution_ttl_secs == 0 {
            return Err(Error::config("/attribution_ttl_secs", "must be at least 1"));
        }
        if cfg.session_ttl_secs == 0 {
            return Err(Error::config("/session_ttl_secs", "must be at least 1"));
        }
        if let Some(l) = &cfg.login {
            if l.channel_id.is_empty() || !l.channel_id.chars().all(|c| c.is_ascii_digit()) {
                return Err(Error::config("/login/channel_id", "must be the channel's numeric ID"));
            }
            check_url(&l.redirect_uri, "/login/redirect_uri")?;
        }
        if let Some(u) = &cfg.id_link_url {
            check_url(u, "/id_link_url")?;
        }
        let mut compiled: Vec<Compiled> = Vec::with_capacity(cfg.campaigns.len());
        for (i, c) in cfg.campaigns.iter().enumerate() {
            let at = |f: &str| format!("/campaigns/{i}{f}");
            check_name(&c.id).map_err(|r| Error::config(at("/id"), r))?;
            if compiled.iter().any(|o| o.campaign.id == c.id) {
                return Err(Error::config(at("/id"), format!("duplicate campaign id {:?}", c.id)));
            }
            if c.banners.is_empty() {
                return Err(Error::config(at("/banners"), "must have at least one banner"));
            }
            let mut cumulative = Vec::with_capacity(c.banners.len());
            let mut total = 0u64;
            for (j, b) in c.banners.iter().enumerate() {
                check_name(&b.id).map_err(|r| Error::config(at(&format!("/banners/{j}/id")), r))?;
                if c.banners[..j].iter().any(|o| o.id == b.id) {
                    return Err(Error::config(at(&format!("/banners/{j}/id")), "duplicate banner id"));
                }
                if b.weight == 0 {
                    return Err(Error::config(at(&format!("/banners/{j}/weight")), "must be at least 1"));
                }
                if let Some(u) = &b.image_url {
                    check_url(u, &at(&format!("/banners/{j}/image_url")))?;
                }
                total += u64::from(b.weight);
                cumulative.push(total);
            }
            let s = &c.schedule;
            if let (Some(a), Some(b)) = (s.start, s.end) {
                if b <= a {
                    return Err(Error::config(at("/schedule/end"), "must be after start"));
                }
            }
            if let Some(h) = s.hours {
                if h.from > 23 {
                    return Err(Error::config(at("/schedule/hours/from"), "must be 0 to 23"));
                }
                if h.to > 24 {
                    return Err(Error::config(at("/schedule/hours/to"), "must be 0 to 24"));
                }
                if h.from == h.to {
                    return Err(Error::config(at("/schedule/hours/to"), "must differ from `from`"));
                }
            }
            let ctz = match &s.time_zone {
                Some(name) => parse_tz(name, &at("/schedule/time_zone"))?,
                None => tz.clone(),
            };
            let include = PathRules::new(&c.targeting.include, &at("/targeting/include"))?;
            let exclude = PathRules::new(&c.targeting.exclude, &at("/targeting/exclude"))?;
            let segment = match &c.targeting.segment {
                Some(name) => Some(self.segments.get(name).cloned().ok_or_else(|| {
                    Error::config(
                        at("/targeting/segment"),
                        format!("no segment named {name:?} is registered"),
                    )
                })?),
                None => None,
            };
            let caps = &c.caps;
            if caps.lifetime == Some(0) {
                return Err(Error::config(
                    at("/caps/lifetime"),
                    "must be at least 1 (remove it for no cap)",
                ));
            }
            if caps.per_session == Some(0) {
                return Err(Error::config(
                    at("/caps/per_session"),
                    "must be at least 1 (remove it for no cap)",
                ));
            }
            if let Some(w) = caps.window {
                if w.max == 0 {
                    return Err(Error::config(at("/caps/window/max"), "must be at least 1"));
                }
                if w.secs == 0 {
                    return Err(Error::config(at("/caps/window/secs"), "must be at least 1"));
                }
            }
            let login_prefix = cfg.login.as_ref().map(|l| {
                let mut u = url::Url::parse(LOGIN_AUTHORIZE_URL).expect("constant URL parses");
                u.query_pairs_mut()
                    .append_pair("response_type", "code")
                    .append_pair("client_id", &l.channel_id)
                    .append_pair("redirect_uri", &l.redirect_uri)
                    .append_pair("scope", "profile openid")
                    .append_pair("bot_prompt", l.bot_prompt.as_str());
                // LINE's documentation writes the space of `scope` as %20; the
                // form encoder writes `+`. Every literal `+` of a value is %2B.
                let mut s = String::from(u).replace("scope=profile+openid", "scope=profile%20openid");
                s.push_str("&state=");
                s
            });
            let id_link_prefixes = match &cfg.id_link_url {
                Some(base) => c
                    .banners
                    .iter()
                    .map(|b| {
                        let mut u = url::Url::parse(base).expect("checked above");
                        u.query_pairs_mut()
                            .append_pair("utm_source", "line_popup")
                            .append_pair("utm_medium", "popup")
                            .append_pair("utm_campaign", &c.id)
                            .append_pair("utm_content", &b.id);
                        let mut s = String::from(u);
                        s.push('&');
                        s.push_str(TOKEN_PARAM);
                        s.push('=');
                        s
                    })
                    .collect(),
                None => Vec::new(),
            };
            match c.goal {
                Goal::Login if login_prefix.is_none() => {
                    return Err(Error::config(
                        at("/goal"),
                        "goal `login` needs the top-level `login` settings",
                    ))
                }
                Goal::IdLink if id_link_prefixes.is_empty() => {
                    return Err(Error::config(
                        at("/goal"),
                        "goal `id_link` needs the top-level `id_link_url`",
                    ))
                }
                _ => {}
            }
            compiled.push(Compiled {
                id: c.id.as_str().into(),
                banners: c.banners.iter().cloned().map(Arc::new).collect(),
                cumulative,
                total_weight: total,
                split: SplitHasher::new(&c.id),
                include,
                exclude,
                tz: ctz,
                segment,
                login_prefix,
                id_link_prefixes,
                campaign: c.clone(),
            });
        }
        // Higher priority first; ties keep configuration order (stable sort).
        compiled.sort_by_key(|c| std::cmp::Reverse(c.campaign.priority));
        Ok(PopupEngine {
            campaigns: compiled,
            store: self.store,
            clock: self.clock,
            tz,
            add_friend_url,
            max_per_day: cfg.max_per_day,
            attribution_ttl_secs: cfg.attribution_ttl_secs,
            session_ttl_secs: cfg.session_ttl_secs,
            day_cache: std::sync::RwLock::new((0, 0, Arc::from(""))),
            profiles: self.profiles,
        })
    }
}

fn parse_tz(name: &str, pointer: &str) -> Result<TimeZone, Error> {
    TimeZone::get(name).map_err(|e| Error::config(pointer, format!("unknown time zone {name:?}: {e}")))
}

fn check_url(u: &str, pointer: &str) -> Result<(), Error> {
    let parsed = url::Url::parse(u).map_err(|e| Error::config(pointer, format!("not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "https" | "http") {
        return Err(Error::config(pointer, "must be an http or https URL"));
    }
    if parsed.fragment().is_some() {
        return Err(Error::config(pointer, "must not have a #fragment"));
    }
    Ok(())
}

fn check_name(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > 64 {
        return Err("must be 1 to 64 characters".into());
    }
    if !id.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
        return Err("may contain only A-Z, a-z, 0-9, '-', '_' and '.'".into());
    }
    Ok(())
}

/// Decides, per page view, whether a visitor sees a popup and which one, and
/// records what happened.
///
/// ```
/// # tokio_test_block_on(async {
/// use std::sync::Arc;
/// use line_core::clock::ManualClock;
/// use line_popup::{Banner, Campaign, Caps, Device, InMemoryStore, PopupConfig, PopupEngine, VisitorContext};
///
/// let mut campaign = Campaign::new("friend-popup", vec![Banner::new("a", "Add us on LINE")]);
/// campaign.caps = Caps::baroque_default();
/// let clock = Arc::new(ManualClock::new("2026-05-01T03:00:00Z".parse().unwrap()));
/// let engine = PopupEngine::builder(PopupConfig::new("@baroque", vec![campaign]), Arc::new(InMemoryStore::new()), clock)
///     .build()
///     .unwrap();
/// let ctx = VisitorContext::new("visitor-1", "session-1", "/products/42", Device::Mobile);
/// let mut shown = 0;
/// for _ in 0..7 {
///     if engine.decide(&ctx).await.unwrap().showing().is_some() {
///         shown += 1;
///     }
/// }
/// assert_eq!(shown, 5);
/// # });
/// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
pub struct PopupEngine {
    campaigns: Vec<Compiled>,
    store: Arc<dyn PopupStore>,
    clock: Arc<dyn Clock>,
    tz: TimeZone,
    add_friend_url: Arc<str>,
    max_per_day: Option<u32>,
    attribution_ttl_secs: u64,
    session_ttl_secs: u64,
    /// The current calendar day: [start, end) in milliseconds and its name.
    day_cache: std::sync::RwLock<(i64, i64, Arc<str>)>,
    /// Where segments' profiles come from.
    profiles: Option<Arc<dyn VisitorProfiles>>,
}

impl fmt::Debug for PopupEngine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PopupEngine")
            .field("campaigns", &self.campaigns.iter().map(|c| &*c.id).collect::<Vec<_>>())
            .field("store", &self.store)
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

/// The banner variant a visitor gets in a campaign (see [`crate::split`]).
fn pick(visitor: &str, c: &Compiled) -> usize {
    if c.banners.len() == 1 {
        return 0;
    }
    c.split.pick(visitor, &c.cumulative, c.total_weight)
}

impl PopupEngine {
    /// A builder over this configuration, store and clock.
    pub fn builder(config: PopupConfig, store: Arc<dyn PopupStore>, clock: Arc<dyn Clock>) -> PopupEngineBuilder {
        PopupEngineBuilder {
            config,
            store,
            clock,
            segments: HashMap::new(),
            profiles: None,
        }
    }

    /// The banner variant `visitor_id` gets in `campaign`, or `None` for an
    /// unknown campaign. Deterministic: the same visitor always gets the same variant.
    pub fn variant_for(&self, visitor_id: &str, campaign: &str) -> Option<&Banner> {
        let c = self.campaigns.iter().find(|c| &*c.id == campaign)?;
        Some(&c.banners[pick(visitor_id, c)])
    }

    /// The calendar day of `at` in the configuration's time zone.
    pub fn day_of(&self, at: Timestamp) -> Date {
        at.to_zoned(self.tz.clone()).date()
    }

    /// The name of the calendar day of `at` (`2026-05-01`), cached: the time
    /// zone lookup and formatting run once a day, not once a decision.
    fn day_name(&self, at: Timestamp) -> Arc<str> {
        let ms = at.as_millisecond();
        {
            let c = self.day_cache.read().unwrap_or_else(|e| e.into_inner());
            if c.0 <= ms && ms < c.1 {
                return c.2.clone();
            }
        }
        let z = at.to_zoned(self.tz.clone());
        let name: Arc<str> = z.date().to_string().into();
        let bounds = z
            .start_of_day()
            .ok()
            .zip(z.tomorrow().ok().and_then(|t| t.start_of_day().ok()));
        if let Some((start, end)) = bounds {
            *self.day_cache.write().unwrap_or_else(|e| e.into_inner()) = (
                start.timestamp().as_millisecond(),
                end.timestamp().as_millisecond(),
                name.clone(),
            );
        }
        name
    }

    /// Decides one page view: at most one popup, the highest-priority campaign
    /// that every rule and cap allows.
    ///
    /// A showing is reserved in the store before it is returned (see
    /// [`crate::store`] for what an unrendered reservation means). An `Err`
    /// means no popup: the decision fails closed when the store or a segment fails.
    pub async fn decide(&self, ctx: &VisitorContext) -> Result<Decision, Error> {
        ctx.validate()?;
        let now = self.clock.now();
        // The rule that blocked each campaign, in priority order (`None`: eligible),
        // and the eligible ones with their variants: (priority index, banner index).
        // The eligible ones are also the store's candidates.
        let mut rule_of: SmallVec<[Option<Reason>; INLINE_CAMPAIGNS]> = SmallVec::new();
        let mut eligible: SmallVec<[(usize, usize); INLINE_CAMPAIGNS]> = SmallVec::new();
        let mut candidates: SmallVec<[Candidate<'_>; INLINE_CAMPAIGNS]> = SmallVec::new();
        // The visitor's profile, looked up once, when the first segment needs it.
        let mut profile: Option<Option<Profile>> = None;
        for (ci, c) in self.campaigns.iter().enumerate() {
            let rule = self.rules(c, ctx, now, &mut profile).await?;
            if rule.is_none() {
                let bi = pick(&ctx.visitor_id, c);
                eligible.push((ci, bi));
                candidates.push(Candidate::new(&c.id, &c.banners[bi].id, &c.campaign.caps));
            }
            rule_of.push(rule);
        }
        if eligible.is_empty() {
            let blocked = self
                .campaigns
                .iter()
                .zip(&rule_of)
                .filter_map(|(c, rule)| {
                    rule.map(|reason| Blocked {
                        campaign: c.id.clone(),
                        reason,
                    })
                })
                .collect();
            return Ok(Decision::Hide { blocked });
        }
        // A random (version 4) UUID, formatted on the stack; it becomes a
        // `String` only for a showing.
        let mut token_buf = [0u8; 32];
        let token = encode_token(
            uuid::Builder::from_random_bytes(rand::random::<u128>().to_be_bytes())
                .into_uuid()
                .as_u128(),
            &mut token_buf,
        );
        let day = self.day_name(now);
        let req = ReserveRequest {
            visitor: &ctx.visitor_id,
            session: &ctx.session_id,
            now,
            day: &day,
            max_per_day: self.max_per_day,
            session_ttl_secs: self.session_ttl_secs,
            candidates: &candidates,
            token,
            token_ttl_secs: self.attribution_ttl_secs,
        };
        // On the `dyn PopupStore` itself: through the `Arc` forwarding impl,
        // `reserve` would box one more future.
        let store = &*self.store;
        let reserved = match store.try_reserve_now(&req) {
            Some(r) => r,
            None => store.reserve(&req).await,
        };
        let outcome = match reserved {
            Ok(o) => o,
            Err(e) => {
                tracing::warn!(error = %e, "popup store failed; showing nothing");
                return Err(e);
            }
        };
        let (chosen, caps) = match outcome {
            ReserveOutcome::Reserved { index, skipped } => (Some(index), skipped),
            ReserveOutcome::Blocked(caps) => (None, caps),
        };
        let answered = chosen.unwrap_or(eligible.len());
        if caps.len() != answered || answered > eligible.len() || chosen == Some(eligible.len()) {
            return Err(Error::store(
                "reserve",
                format!(
                    "store answered {} caps and index {chosen:?} for {} candidates",
                    caps.len(),
                    eligible.len()
                ),
            ));
        }
        // Every campaign but the chosen one, in priority order: its rule, or for
        // the k-th eligible one, its cap (before the chosen one) or "one per page
        // view" (after it).
        let mut blocked = Vec::with_capacity(self.campaigns.len() - usize::from(chosen.is_some()));
        let mut k = 0;
        for (c, rule) in self.campaigns.iter().zip(&rule_of) {
            let reason = match *rule {
                Some(reason) => reason,
                None => {
                    let i = k;
                    k += 1;
                    match i.cmp(&answered) {
                        std::cmp::Ordering::Less => Reason::Cap(caps[i]),
                        std::cmp::Ordering::Greater => Reason::OnePerPageView,
                        std::cmp::Ordering::Equal => continue,
                    }
                }
            };
            blocked.push(Blocked {
                campaign: c.id.clone(),
                reason,
            });
        }
        Ok(match chosen {
            Some(index) => {
                let (ci, bi) = eligible[index];
                Decision::Show(self.showing(ci, bi, token, blocked))
            }
            None => Decision::Hide { blocked },
        })
    }

    fn showing(&self, ci: usize, bi: usize, token: &str, passed_over: Vec<Blocked>) -> Showing {
        let c = &self.campaigns[ci];
        let login_url = c.login_prefix.as_deref().map(|p| concat(p, token));
        let id_link_url = c.id_link_prefixes.get(bi).map(|p| concat(p, token));
        let click_url = match c.campaign.goal {
            Goal::Login => login_url.clone(),
            Goal::IdLink => id_link_url.clone(),
            _ => None,
        }
        .unwrap_or_else(|| String::from(&*self.add_friend_url));
        Showing {
            campaign: c.id.clone(),
            banner: c.banners[bi].clone(),
            token: token.to_owned(),
            click_url,
            add_friend_url: self.add_friend_url.clone(),
            login_url,
            id_link_url,
            passed_over,
        }
    }

    async fn rules(
        &self,
        c: &Compiled,
        ctx: &VisitorContext,
        now: Timestamp,
        profile: &mut Option<Option<Profile>>,
    ) -> Result<Option<Reason>, Error> {
        let s = &c.campaign.schedule;
        if s.start.is_some_and(|t| now < t) || s.end.is_some_and(|t| now >= t) {
            return Ok(Some(Reason::Schedule));
        }
        if !s.days.is_empty() || s.hours.is_some() {
            let z = now.to_zoned(c.tz.clone());
            if !s.days.is_empty() && !s.days.contains(&Day::from_jiff(z.weekday())) {
                return Ok(Some(Reason::Hours));
            }
            if s.hours.is_some_and(|h| !h.contains(z.hour())) {
                return Ok(Some(Reason::Hours));
            }
        }
        let audience_ok = match c.campaign.targeting.audience {
            Audience::NotFriend => matches!(ctx.line, LineStatus::Unknown | LineStatus::NotFriend),
            Audience::FriendNotLinked => ctx.line == LineStatus::Friend,
            _ => true,
        };
        if !audience_ok {
            return Ok(Some(Reason::Audience));
        }
        if c.include.as_ref().is_some_and(|r| !r.is_match(&ctx.path))
            || c.exclude.as_ref().is_some_and(|r| r.is_match(&ctx.path))
        {
            return Ok(Some(Reason::Page));
        }
        let devices = &c.campaign.targeting.devices;
        if !devices.is_empty() && !devices.contains(&ctx.device) {
            return Ok(Some(Reason::Device));
        }
        if let Some(seg) = &c.segment {
            let profile = match profile {
                Some(p) => p,
                None => {
                    let loaded = match &self.profiles {
                        Some(source) => source.profile(ctx).await.map_err(|e| {
                            let name = c.campaign.targeting.segment.as_deref().unwrap_or_default();
                            Error::with_source(ErrorKind::Segment { name: name.to_owned() }, e)
                        })?,
                        None => None,
                    };
                    profile.insert(loaded)
                }
            };
            if seg.matches(&Visitor::new(ctx, profile.as_ref()), now) != Some(true) {
                return Ok(Some(Reason::Segment));
            }
        }
        Ok(None)
    }

    /// Records a browser event (shown, clicked, dismissed) of the showing of `token`.
    /// Each kind counts once per token; an unknown or expired token is a typed error.
    pub async fn record(&self, token: &str, kind: EventKind) -> Result<Recorded, Error> {
        check_token(token)?;
        let now = self.clock.now();
        let day = self.day_name(now);
        match self.store.record(token, kind, now, &day).await? {
            Recorded::UnknownToken => Err(Error::invalid_input("token", "unknown or expired attribution token")),
            r => Ok(r),
        }
    }

    /// After a LINE Login that carried `state` = `token`, ties the LINE user to
    /// the showing, so that the user's `follow` event counts as its conversion.
    /// Returns `false` when the token is unknown or expired (treat the login's
    /// `state` as invalid then).
    pub async fn bind_line_user(&self, token: &str, user_id: &UserId) -> Result<bool, Error> {
        check_token(token)?;
        let key = format!("user:{user_id}");
        self.store
            .bind(&key, token, self.clock.now(), self.attribution_ttl_secs)
            .await
    }

    /// When the host starts an account link for a visitor who came through
    /// the ID-link URL (`popup_token` = `token`), ties the link's nonce to the
    /// showing, so that the `accountLink` event counts as its conversion.
    pub async fn bind_link_nonce(&self, token: &str, nonce: &str) -> Result<bool, Error> {
        check_token(token)?;
        if nonce.is_empty() || nonce.len() > 255 {
            return Err(Error::invalid_input("nonce", "must be 1 to 255 characters"));
        }
        let key = format!("nonce:{nonce}");
        self.store
            .bind(&key, token, self.clock.now(), self.attribution_ttl_secs)
            .await
    }

    /// Matches a webhook event to a popup conversion: a `follow` through the
    /// LINE user bound by [`bind_line_user`](Self::bind_line_user), a successful
    /// `accountLink` through the nonce bound by [`bind_link_nonce`](Self::bind_link_nonce).
    /// Every `follow` that is not an unblock also counts as a new friend for
    /// the report, once per `webhookEventId`. Other events give `None`.
    pub async fn handle_event(&self, event: &Event) -> Result<Option<Conversion>, Error> {
        let now = self.clock.now();
        let (key, kind) = match event {
            Event::Follow(f) => {
                let at = Timestamp::from_millisecond(f.timestamp).unwrap_or(now);
                let unblock = f.follow.as_ref().is_some_and(|d| d.is_unblocked);
                if !unblock {
                    let day = self.day_name(at);
                    self.store.count_new_friend(f.webhook_event_id.as_deref(), &day).await?;
                }
                let user = match &f.source {
                    Some(line_core::webhook::event::Source::User(u)) => u.user_id.clone(),
                    _ => None,
                };
                match user {
                    Some(u) => (format!("user:{u}"), EventKind::ConvertedFriend),
                    None => return Ok(None),
                }
            }
            Event::AccountLink(a) => {
                if a.link.result != line_core::webhook::event::LinkContentResult::Ok {
                    return Ok(None);
                }
                (format!("nonce:{}", a.link.nonce), EventKind::ConvertedLink)
            }
            _ => return Ok(None),
        };
        let Some(token) = self.store.resolve(&key, now).await? else {
            return Ok(None);
        };
        let day = self.day_name(now);
        Ok(match self.store.record(&token, kind, now, &day).await? {
            Recorded::New(attribution) => Some(Conversion {
                token,
                attribution,
                kind,
                duplicate: false,
            }),
            Recorded::Duplicate(attribution) => Some(Conversion {
                token,
                attribution,
                kind,
                duplicate: true,
            }),
            Recorded::UnknownToken => None,
        })
    }

    /// The report over the calendar days `from` to `to` (inclusive, in the
    /// configuration's time zone), at most [`MAX_REPORT_DAYS`] days.
    pub async fn report(&self, from: Date, to: Date) -> Result<Report, Error> {
        if to < from {
            return Err(Error::invalid_input("to", "must not be before `from`"));
        }
        let mut days = Vec::new();
        let mut d = from;
        while d <= to {
            if days.len() as i32 >= MAX_REPORT_DAYS {
                return Err(Error::invalid_input(
                    "to",
                    format!("a report covers at most {MAX_REPORT_DAYS} days"),
                ));
            }
            days.push(d.to_string());
            d = match d.tomorrow() {
                Ok(n) => n,
                Err(_) => break,
            };
        }
        let stats = self.store.stats(&days).await?;
        let mut by: std::collections::BTreeMap<(String, String), VariantReport> = Default::default();
        for r in &stats.rows {
            let v = by
                .entry((r.campaign.clone(), r.variant.clone()))
                .or_insert_with(|| VariantReport {
                    campaign: r.campaign.clone(),
                    variant: r.variant.clone(),
                    ..Default::default()
                });
            use crate::store::StatKind as S;
            match r.kind {
                S::Reserved => v.reserved += r.count,
                S::Event(EventKind::Shown) => v.impressions += r.count,
                S::Event(EventKind::Clicked) => v.clicks += r.count,
                S::Event(EventKind::Dismissed) => v.dismissals += r.count,
                S::Event(EventKind::ConvertedFriend) => v.friend_conversions += r.count,
                S::Event(EventKind::ConvertedLink) => v.link_conversions += r.count,
            }
        }
        let mut variants: Vec<VariantReport> = by.into_values().collect();
        for v in &mut variants {
            v.conversions = v.friend_conversions + v.link_conversions;
            v.conversion_rate = (v.impressions > 0).then(|| v.conversions as f64 / v.impressions as f64);
        }
        let new_friends: u64 = stats.new_friends.iter().map(|(_, n)| n).sum();
        let popup_friends: u64 = variants.iter().map(|v| v.friend_conversions).sum();
        Ok(Report {
            from,
            to,
            variants,
            new_friends,
            popup_friends,
            popup_share: (new_friends > 0).then(|| popup_friends as f64 / new_friends as f64),
        })
    }
}

/// The attribution token of `bits`: 32 lowercase hex digits, the same as
/// `Uuid::from_u128(bits).simple()` writes, without a `String`. Each half is
/// spread to one nibble per byte and turned into ASCII 16 digits at a time.
fn encode_token(bits: u128, buf: &mut [u8; 32]) -> &str {
    const ONES: u128 = u128::MAX / 0xff;
    for (half, out) in [(bits >> 64) as u64, bits as u64]
        .into_iter()
        .zip(buf.chunks_exact_mut(16))
    {
        let mut v = u128::from(half);
        v = (v | (v << 32)) & 0x0000_0000_ffff_ffff_0000_0000_ffff_ffff;
        v = (v | (v << 16)) & 0x0000_ffff_0000_ffff_0000_ffff_0000_ffff;
        v = (v | (v << 8)) & 0x00ff_00ff_00ff_00ff_00ff_00ff_00ff_00ff;
        v = (v | (v << 4)) & (ONES * 0x0f);
        // Byte k is nibble k (from the least significant); 10 to 15 get a
        // letter: their byte plus 6 carries into bit 4.
        let letters = ((v + ONES * 6) >> 4) & ONES;
        let ascii = v + ONES * u128::from(b'0') + letters * u128::from(b'a' - b'0' - 10);
        out.copy_from_slice(&ascii.to_be_bytes());
    }
    std::str::from_utf8(buf).expect("hex digits are ASCII")
}

/// `prefix` followed by `token`, in one allocation.
fn concat(prefix: &str, token: &str) -> String {
    let mut s = String::with_capacity(prefix.len() + token.len());
    s.push_str(prefix);
    s.push_str(token);
    s
}

fn check_token(token: &str) -> Result<(), Error> {
    if token.len() != 32 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::invalid_input("token", "not an attribution token"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_rule_is_the_serialized_tag() {
        let all = [
            Reason::Schedule,
            Reason::Hours,
            Reason::Audience,
            Reason::Page,
            Reason::Device,
            Reason::Segment,
            Reason::Cap(CapKind::Lifetime),
            Reason::OnePerPageView,
        ];
        for r in all {
            let v = serde_json::to_value(r).unwrap();
            assert_eq!(v["rule"], r.rule(), "{r:?}");
        }
    }

    #[test]
    fn tokens_are_uuids_in_simple_form() {
        let mut buf = [0u8; 32];
        for bits in [0, u128::MAX, 0x0123_4567_89ab_cdef_fedc_ba98_7654_3210, 1 << 127, 0xa]
            .into_iter()
            .chain((0..10_000).map(|_| rand::random::<u128>()))
        {
            let want = uuid::Uuid::from_u128(bits).simple().to_string();
            assert_eq!(encode_token(bits, &mut buf), want);
        }
    }
}
