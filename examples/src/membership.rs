//! A membership card in LIFF: a LINE mini page shows the member's name, tier and "¥X more to
//! reach TIER", served by a small axum app.
//!
//! - `GET /` is the LIFF page (plain HTML, the LINE SDK from LINE's servers, [`LIFF_SDK_URL`]),
//!   `GET /card.js` its script. The script calls `liff.init`, takes the ID token from
//!   `liff.getIDToken()` and calls the API with `Authorization: Bearer <id token>`.
//! - `GET /api/card` takes the user from line-login's [`LineUser`] extractor (the verified ID
//!   token; never a user ID the page sends), finds the member linked to that LINE user
//!   ([`Members`], a host trait), and computes the tier with line-segments: each tier is a
//!   segment `sum(purchase.amount, 365d) >= MIN` over the member's purchase events
//!   ([`Tiers`]). It answers the [`Card`] as JSON, 404 `{"error": "not_linked"}` for a LINE user
//!   linked to no member, and 401 for a missing, forged or expired token.
//!
//! `cargo run -p line-examples --example membership_card` runs it against the emulator;
//! `examples/tests/membership_browser.rs` runs the page in headless Chromium.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use axum::extract::{FromRef, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use jiff::Timestamp;
use line_core::clock::Clock;
use line_login::{LineUser, Verifier};
use line_segments::eval::CompiledSegment;
use line_segments::profile::{Event, Profile, Value};
use serde::Serialize;
use serde_json::json;

use crate::tour::yen;
use crate::{Error, ErrorKind};

/// Where a LIFF page loads the LINE SDK from (version 2, always the latest release).
pub const LIFF_SDK_URL: &str = "https://static.line-scdn.net/liff/edge/2/sdk.js";

/// The page; `{{LIFF_ID}}` is replaced with the (HTML-escaped) LIFF ID.
const INDEX_HTML: &str = include_str!("membership/index.html");
/// The page's script.
const CARD_JS: &str = include_str!("membership/card.js");

/// The event name and amount property that purchases have in the tier segments.
const PURCHASE: &str = "purchase";
const AMOUNT: &str = "amount";

/// One purchase of a member.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Purchase {
    /// When it was paid.
    pub at: Timestamp,
    /// What was paid, in yen (negative for a refund).
    pub amount_yen: i64,
}

impl Purchase {
    /// A purchase of `amount_yen` at `at`.
    pub fn new(at: Timestamp, amount_yen: i64) -> Self {
        Self { at, amount_yen }
    }
}

/// A member of the shop, with the purchase history the tiers are computed from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Member {
    /// The shop's member ID.
    pub id: String,
    /// The name the card shows.
    pub name: String,
    /// Every purchase (the tiers read the ones in their window).
    pub purchases: Vec<Purchase>,
}

impl Member {
    /// A member without purchases.
    pub fn new(id: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            purchases: Vec::new(),
        }
    }

    /// With one more purchase.
    #[must_use]
    pub fn purchase(mut self, at: Timestamp, amount_yen: i64) -> Self {
        self.purchases.push(Purchase::new(at, amount_yen));
        self
    }

    /// The member as a line-segments profile: one `purchase` event with an `amount` per purchase.
    pub fn profile(&self) -> Profile {
        self.purchases.iter().fold(Profile::new(self.id.as_str()), |p, buy| {
            p.with_event(Event::new(PURCHASE, buy.at).with(AMOUNT, Value::Num(buy.amount_yen as f64)))
        })
    }
}

/// The host's members, looked up by the LINE user they linked (account link, or LINE Login on
/// the shop's site). The card never trusts a user ID from the page: the key is the verified
/// ID token's `sub`.
#[async_trait]
pub trait Members: Send + Sync {
    /// The member linked to `line_user_id`, or `None` when that LINE user linked none.
    async fn linked(&self, line_user_id: &str) -> Result<Option<Member>, Error>;
}

/// [`Members`] in memory: a map from LINE user ID to member.
#[derive(Debug, Default)]
pub struct InMemoryMembers {
    by_line_user: RwLock<HashMap<String, Member>>,
}

impl InMemoryMembers {
    /// No members.
    pub fn new() -> Self {
        Self::default()
    }

    /// Links `line_user_id` to `member` (replacing an earlier link of that LINE user).
    pub fn link(&self, line_user_id: impl Into<String>, member: Member) {
        self.by_line_user
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(line_user_id.into(), member);
    }
}

#[async_trait]
impl Members for InMemoryMembers {
    async fn linked(&self, line_user_id: &str) -> Result<Option<Member>, Error> {
        Ok(self
            .by_line_user
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(line_user_id)
            .cloned())
    }
}

/// One tier: its name, the spend that reaches it, and that condition as a compiled segment.
#[derive(Debug)]
struct Tier {
    name: String,
    min_yen: i64,
    segment: CompiledSegment,
}

/// The tiers, from the lowest (reached at ¥0) up, each reached by a yearly spend (or over
/// another window): a member is in the highest tier whose segment
/// `sum(purchase.amount, WINDOWd) >= MIN` line-segments evaluates true on their purchases.
///
/// ```
/// use line_examples::membership::{Member, Tiers};
///
/// let now: jiff::Timestamp = "2026-05-15T00:00:00Z".parse().unwrap();
/// let tiers = Tiers::new(365).tier("BLANC", 0)?.tier("ROUGE", 20_000)?.tier("REINE", 50_000)?;
/// let aoi = Member::new("M1001", "Aoi").purchase("2026-04-01T00:00:00Z".parse().unwrap(), 32_000);
/// let card = tiers.card(&aoi, now)?;
/// assert_eq!(card.tier, "ROUGE");
/// assert_eq!(card.next.unwrap().text, "¥18,000 more to reach REINE");
/// # Ok::<(), line_examples::Error>(())
/// ```
#[derive(Debug)]
pub struct Tiers {
    window_days: u32,
    tiers: Vec<Tier>,
}

impl Tiers {
    /// No tiers yet, counting purchases of the last `window_days` days.
    pub fn new(window_days: u32) -> Self {
        Self {
            window_days,
            tiers: Vec::new(),
        }
    }

    /// The README's tiers over a year: BLANC from ¥0, ROUGE from ¥20,000, REINE from ¥50,000.
    pub fn reine() -> Self {
        Self::new(365)
            .tier("BLANC", 0)
            .and_then(|t| t.tier("ROUGE", 20_000))
            .and_then(|t| t.tier("REINE", crate::tour::REINE_YEN))
            .unwrap_or_else(|e| unreachable!("the built-in tiers are valid: {e}"))
    }

    /// With one more tier, above the others. The first tier must start at ¥0 (so that every
    /// member has a tier), each next one above the one before, and names must be unique and
    /// non-empty; otherwise a config error names the tier (`tiers[2].min_yen`).
    pub fn tier(mut self, name: impl Into<String>, min_yen: i64) -> Result<Self, Error> {
        let name = name.into();
        let i = self.tiers.len();
        let config = |field: &str, reason: String| {
            Error::new(ErrorKind::Config {
                field: format!("tiers[{i}].{field}"),
                reason,
            })
        };
        if self.window_days == 0 {
            return Err(Error::new(ErrorKind::Config {
                field: "tiers.window_days".into(),
                reason: "the window must be at least one day".into(),
            }));
        }
        if name.trim().is_empty() {
            return Err(config("name", "a tier needs a name".into()));
        }
        if self.tiers.iter().any(|t| t.name == name) {
            return Err(config("name", format!("`{name}` is already a tier")));
        }
        match self.tiers.last() {
            None if min_yen != 0 => {
                return Err(config(
                    "min_yen",
                    format!(
                        "the first tier starts at ¥0 (so every member has one), not {}",
                        yen(min_yen)
                    ),
                ))
            }
            Some(below) if min_yen <= below.min_yen => {
                return Err(config(
                    "min_yen",
                    format!(
                        "{} is not above `{}` ({})",
                        yen(min_yen),
                        below.name,
                        yen(below.min_yen)
                    ),
                ))
            }
            _ => {}
        }
        let text = format!("sum({PURCHASE}.{AMOUNT}, {}d) >= {min_yen}", self.window_days);
        let segment = line_segments::text::parse(&text)
            .and_then(|s| CompiledSegment::compile(&s))
            .map_err(Error::segment(&text))?;
        self.tiers.push(Tier { name, min_yen, segment });
        Ok(self)
    }

    /// The segment of each tier in the text form, lowest first.
    pub fn segments(&self) -> Vec<(String, String)> {
        self.tiers
            .iter()
            .map(|t| (t.name.clone(), line_segments::text::print(t.segment.segment())))
            .collect()
    }

    /// The member's card at `now`: the highest tier whose segment is true, the spend in the
    /// window, and how much more reaches the next tier.
    pub fn card(&self, member: &Member, now: Timestamp) -> Result<Card, Error> {
        let profile = member.profile();
        let reached = self
            .tiers
            .iter()
            .rposition(|t| t.segment.at(now).matches(&profile))
            .ok_or_else(|| Error::check(format!("member {} matches no tier (are there tiers?)", member.id)))?;
        let spent = self.spent(&profile, now)?;
        let tier = &self.tiers[reached];
        let next = match self.tiers.get(reached + 1) {
            None => None,
            Some(up) => {
                let remaining = up.min_yen - spent;
                // The segments decided the tier; the spend must agree with them.
                if spent < tier.min_yen || remaining <= 0 {
                    return Err(Error::check(format!(
                        "member {}: a spend of {} disagrees with tier `{}`",
                        member.id,
                        yen(spent),
                        tier.name
                    )));
                }
                Some(NextTier {
                    tier: up.name.clone(),
                    remaining_yen: remaining,
                    remaining: yen(remaining),
                    text: format!("{} more to reach {}", yen(remaining), up.name),
                })
            }
        };
        Ok(Card {
            member_id: member.id.clone(),
            name: member.name.clone(),
            tier: tier.name.clone(),
            spent_yen: spent,
            spent: yen(spent),
            window_days: self.window_days,
            next,
        })
    }

    /// The spend in the window `(now - window, now]`, as line-segments computes it for the
    /// tier segments themselves (the value of their `sum(purchase.amount, …)`), so the amount
    /// shown and the tier decided can never come from two different sums.
    fn spent(&self, profile: &Profile, now: Timestamp) -> Result<i64, Error> {
        let tier = self.tiers.last().ok_or_else(|| Error::check("no tiers"))?;
        let sum = tier
            .segment
            .at(now)
            .aggregates(profile)
            .into_iter()
            .find_map(|a| a.value)
            .ok_or_else(|| Error::check("the tier segment has no sum"))?;
        Ok(sum.round() as i64)
    }
}

/// What the card shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Card {
    /// The shop's member ID.
    pub member_id: String,
    /// The member's name.
    pub name: String,
    /// The tier reached.
    pub tier: String,
    /// The spend in the window, in yen.
    pub spent_yen: i64,
    /// The same, formatted (`¥32,000`).
    pub spent: String,
    /// The window, in days.
    pub window_days: u32,
    /// The next tier, or `None` at the top.
    pub next: Option<NextTier>,
}

/// The tier above the member's and what is missing to reach it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct NextTier {
    /// Its name.
    pub tier: String,
    /// The spend still missing, in yen (at least 1).
    pub remaining_yen: i64,
    /// The same, formatted (`¥18,000`).
    pub remaining: String,
    /// `¥18,000 more to reach REINE`.
    pub text: String,
}

/// The app's state: the token verifier (for [`LineUser`]), the members, the tiers, the clock
/// and the LIFF ID the page initializes with.
#[derive(Clone)]
pub struct MembershipApp {
    verifier: Arc<Verifier>,
    members: Arc<dyn Members>,
    tiers: Arc<Tiers>,
    clock: Arc<dyn Clock>,
    liff_id: Arc<str>,
}

impl std::fmt::Debug for MembershipApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MembershipApp")
            .field("tiers", &self.tiers)
            .field("liff_id", &self.liff_id)
            .finish_non_exhaustive()
    }
}

impl MembershipApp {
    /// The app for the LIFF app `liff_id`, verifying ID tokens with `verifier` (configured with
    /// the LIFF app's LINE Login channel).
    pub fn new(
        verifier: Arc<Verifier>,
        members: Arc<dyn Members>,
        tiers: Tiers,
        clock: Arc<dyn Clock>,
        liff_id: impl Into<String>,
    ) -> Self {
        Self {
            verifier,
            members,
            tiers: Arc::new(tiers),
            clock,
            liff_id: liff_id.into().into(),
        }
    }

    /// The routes: `GET /`, `GET /card.js` and `GET /api/card`.
    pub fn router(self) -> Router {
        Router::new()
            .route("/", get(index))
            .route("/card.js", get(script))
            .route("/api/card", get(api_card))
            .with_state(self)
    }

    /// The page as served, with this app's LIFF ID.
    pub fn page(&self) -> String {
        INDEX_HTML.replace("{{LIFF_ID}}", &escape_html(&self.liff_id))
    }
}

impl FromRef<MembershipApp> for Arc<Verifier> {
    fn from_ref(app: &MembershipApp) -> Self {
        app.verifier.clone()
    }
}

async fn index(State(app): State<MembershipApp>) -> Html<String> {
    Html(app.page())
}

async fn script() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], CARD_JS)
}

async fn api_card(State(app): State<MembershipApp>, user: LineUser) -> Response {
    let member = match app.members.linked(&user.user_id).await {
        Ok(Some(member)) => member,
        Ok(None) => return (StatusCode::NOT_FOUND, Json(json!({"error": "not_linked"}))).into_response(),
        Err(e) => return internal(&e),
    };
    match app.tiers.card(&member, app.clock.now()) {
        Ok(card) => Json(card).into_response(),
        Err(e) => internal(&e),
    }
}

fn internal(e: &Error) -> Response {
    eprintln!("membership card: {e}");
    (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({"error": "internal"}))).into_response()
}

fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The demo's LINE users: Aoi (ROUGE), Ren (BLANC) and Mio (REINE) are linked members; the
/// last one is a LINE user who linked no member.
pub mod demo {
    use jiff::{SignedDuration, Timestamp};

    use super::{InMemoryMembers, Member};

    /// Aoi's LINE user ID: ¥32,000 this year (ROUGE), ¥18,000 short of REINE.
    pub const AOI: &str = "U1a0000000000000000000000000000a1";
    /// Ren's LINE user ID: ¥7,500 this year (BLANC), ¥12,500 short of ROUGE.
    pub const REN: &str = "U1a0000000000000000000000000000b2";
    /// Mio's LINE user ID: ¥52,000 this year (REINE, the top).
    pub const MIO: &str = "U1a0000000000000000000000000000c3";
    /// A LINE user linked to no member.
    pub const UNLINKED: &str = "U1a0000000000000000000000000000d4";

    /// The three linked members, with purchases dated before `now` (Aoi also has one of
    /// ¥30,000 from more than a year ago, which no longer counts).
    pub fn members(now: Timestamp) -> InMemoryMembers {
        let ago = |days: i64| now - SignedDuration::from_hours(24 * days);
        let members = InMemoryMembers::new();
        members.link(
            AOI,
            Member::new("M1001", "Aoi Tanaka")
                .purchase(ago(400), 30_000)
                .purchase(ago(200), 12_000)
                .purchase(ago(90), 8_000)
                .purchase(ago(3), 12_000),
        );
        members.link(
            REN,
            Member::new("M1002", "Ren Sato")
                .purchase(ago(60), 4_500)
                .purchase(ago(10), 3_000),
        );
        members.link(MIO, Member::new("M1003", "Mio Suzuki").purchase(ago(30), 52_000));
        members
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::SignedDuration;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn the_tier_follows_the_spend_in_the_window_at_each_boundary() {
        let now = at("2026-05-15T00:00:00Z");
        let tiers = Tiers::reine();
        let day = |d: i64| now - SignedDuration::from_hours(24 * d);
        for (spend, tier, next) in [
            (0, "BLANC", Some("¥20,000 more to reach ROUGE")),
            (19_999, "BLANC", Some("¥1 more to reach ROUGE")),
            (20_000, "ROUGE", Some("¥30,000 more to reach REINE")),
            (49_999, "ROUGE", Some("¥1 more to reach REINE")),
            (50_000, "REINE", None),
            (1_250_000, "REINE", None),
        ] {
            let m = Member::new("M1", "A").purchase(day(1), spend);
            let card = tiers.card(&m, now).unwrap();
            assert_eq!(card.tier, tier, "spend {spend}");
            assert_eq!(card.next.map(|n| n.text).as_deref(), next, "spend {spend}");
            assert_eq!(card.spent, yen(spend));
        }
        // The window's edges: exactly 365 days ago is out, a second later is in; the future is out.
        let edge = Member::new("M2", "B").purchase(day(365), 50_000).purchase(now, 20_000);
        assert_eq!(tiers.card(&edge, now).unwrap().tier, "ROUGE");
        let inside = Member::new("M3", "C").purchase(day(365) + SignedDuration::from_secs(1), 50_000);
        assert_eq!(tiers.card(&inside, now).unwrap().tier, "REINE");
        let future = Member::new("M4", "D").purchase(now + SignedDuration::from_secs(1), 50_000);
        assert_eq!(tiers.card(&future, now).unwrap().tier, "BLANC");
        // A refund lowers the spend.
        let refunded = Member::new("M5", "E")
            .purchase(day(9), 55_000)
            .purchase(day(2), -10_000);
        let card = tiers.card(&refunded, now).unwrap();
        assert_eq!((card.tier.as_str(), card.spent_yen), ("ROUGE", 45_000));
    }

    #[test]
    fn the_demo_members_are_in_three_tiers() {
        let now = at("2026-05-15T00:00:00Z");
        let members = demo::members(now);
        let tiers = Tiers::reine();
        let card = |id: &str| {
            let m = members.by_line_user.read().unwrap().get(id).cloned().unwrap();
            tiers.card(&m, now).unwrap()
        };
        let aoi = card(demo::AOI);
        assert_eq!((aoi.tier.as_str(), aoi.spent.as_str()), ("ROUGE", "¥32,000"));
        assert_eq!(aoi.next.unwrap().text, "¥18,000 more to reach REINE");
        let ren = card(demo::REN);
        assert_eq!(ren.next.unwrap().text, "¥12,500 more to reach ROUGE");
        assert_eq!(card(demo::MIO).next, None);
    }

    #[test]
    fn bad_tiers_are_refused_naming_the_tier() {
        let err = |r: Result<Tiers, Error>| match r.unwrap_err().kind() {
            ErrorKind::Config { field, reason } => format!("{field}: {reason}"),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            err(Tiers::new(365).tier("A", 100)),
            "tiers[0].min_yen: the first tier starts at ¥0 (so every member has one), not ¥100"
        );
        let two = || Tiers::new(365).tier("A", 0).unwrap().tier("B", 1_000).unwrap();
        assert_eq!(
            err(two().tier("C", 1_000)),
            "tiers[2].min_yen: ¥1,000 is not above `B` (¥1,000)"
        );
        assert_eq!(err(two().tier("A", 5_000)), "tiers[2].name: `A` is already a tier");
        assert_eq!(err(two().tier(" ", 5_000)), "tiers[2].name: a tier needs a name");
        assert_eq!(
            err(Tiers::new(0).tier("A", 0)),
            "tiers.window_days: the window must be at least one day"
        );
        let custom = Tiers::new(30).tier("A", 0).unwrap().tier("B", 1_000).unwrap();
        assert_eq!(custom.segments()[1].1, "sum(purchase.amount, 30d) >= 1000");
    }

    #[test]
    fn the_page_loads_the_real_sdk_and_escapes_the_liff_id() {
        assert!(INDEX_HTML.contains(&format!("<script charset=\"utf-8\" src=\"{LIFF_SDK_URL}\"></script>")));
        assert_eq!(escape_html(r#"1-a"<b>&'"#), "1-a&quot;&lt;b&gt;&amp;&#39;");
        assert!(INDEX_HTML.contains("data-liff-id=\"{{LIFF_ID}}\""));
    }
}
