//! Campaign configuration: banners, schedule, targeting and caps.
//!
//! A [`PopupConfig`] is plain data. It can be built in code or read from JSON
//! with [`PopupConfig::from_json`]; either way [`crate::PopupEngineBuilder::build`]
//! checks it and reports the first problem with the JSON pointer of its place
//! (`/campaigns/0/caps/lifetime`), so the same message serves both.
//!
//! Durations are whole seconds (`*_secs` fields), which keeps the JSON free of
//! any duration syntax.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::Error;

/// The whole popup configuration of one site and one LINE Official Account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct PopupConfig {
    /// The account's basic ID, with or without the leading `@` (for example `@baroque`).
    pub basic_id: String,
    /// IANA time zone of the calendar day used by [`max_per_day`](Self::max_per_day)
    /// and by reports (for example `Asia/Tokyo`).
    #[serde(default = "default_time_zone")]
    pub time_zone: String,
    /// Across all campaigns, at most this many showings per visitor per calendar day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_per_day: Option<u32>,
    /// How long a showing's attribution token can still be matched to a conversion.
    #[serde(default = "default_attribution_secs")]
    pub attribution_ttl_secs: u64,
    /// How long a per-session counter is kept after its last showing.
    #[serde(default = "default_session_secs")]
    pub session_ttl_secs: u64,
    /// LINE Login settings, needed by campaigns whose goal is [`Goal::Login`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login: Option<LoginConfig>,
    /// The host's own ID-link page, needed by campaigns whose goal is [`Goal::IdLink`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_link_url: Option<String>,
    /// The campaigns. Order does not matter: [`Campaign::priority`] does.
    pub campaigns: Vec<Campaign>,
}

fn default_time_zone() -> String {
    "Asia/Tokyo".to_owned()
}
fn default_attribution_secs() -> u64 {
    30 * 24 * 3600
}
fn default_session_secs() -> u64 {
    24 * 3600
}

impl PopupConfig {
    /// A configuration for the account `basic_id` with these campaigns and
    /// defaults elsewhere (Asia/Tokyo, 30-day attribution, 1-day sessions).
    pub fn new(basic_id: impl Into<String>, campaigns: Vec<Campaign>) -> Self {
        Self {
            basic_id: basic_id.into(),
            time_zone: default_time_zone(),
            max_per_day: None,
            attribution_ttl_secs: default_attribution_secs(),
            session_ttl_secs: default_session_secs(),
            login: None,
            id_link_url: None,
            campaigns,
        }
    }

    /// Reads a configuration from JSON. A failure names the JSON pointer of its place.
    pub fn from_json(bytes: &[u8]) -> Result<Self, Error> {
        let de = &mut serde_json::Deserializer::from_slice(bytes);
        line_core::error::deserialize_at(de).map_err(|(pointer, inner)| {
            let msg = inner.to_string();
            let reason = match msg.rfind(" at line ") {
                Some(i) => msg[..i].to_owned(),
                None => msg,
            };
            Error::config(pointer, reason)
        })
    }
}

/// LINE Login settings for the login-with-`bot_prompt` goal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct LoginConfig {
    /// The LINE Login channel ID (`client_id`). Not a secret.
    pub channel_id: String,
    /// The host's registered callback URL (`redirect_uri`).
    pub redirect_uri: String,
    /// `normal` or `aggressive`: how LINE offers to add the linked Official Account.
    #[serde(default = "default_bot_prompt")]
    pub bot_prompt: BotPrompt,
}

fn default_bot_prompt() -> BotPrompt {
    BotPrompt::Aggressive
}

impl LoginConfig {
    /// Login settings with `bot_prompt=aggressive`.
    pub fn new(channel_id: impl Into<String>, redirect_uri: impl Into<String>) -> Self {
        Self {
            channel_id: channel_id.into(),
            redirect_uri: redirect_uri.into(),
            bot_prompt: BotPrompt::Aggressive,
        }
    }
}

/// LINE Login's `bot_prompt` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum BotPrompt {
    /// The add-friend option is shown on the consent screen.
    Normal,
    /// A separate add-friend screen opens after consent.
    Aggressive,
}

impl BotPrompt {
    /// The parameter value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Normal => "normal",
            Self::Aggressive => "aggressive",
        }
    }
}

/// One popup campaign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Campaign {
    /// Identifier: 1 to 64 of `A-Z a-z 0-9 - _ .`.
    pub id: String,
    /// Higher goes first when several campaigns could show on one page view.
    #[serde(default)]
    pub priority: i32,
    /// Where the banner's button leads.
    #[serde(default = "default_goal")]
    pub goal: Goal,
    /// The variants, split by weight. At least one.
    pub banners: Vec<Banner>,
    /// When the campaign runs. Defaults to always.
    #[serde(default)]
    pub schedule: Schedule,
    /// Who sees it and where.
    #[serde(default)]
    pub targeting: Targeting,
    /// Frequency caps. Every cap that is set must allow a showing.
    #[serde(default)]
    pub caps: Caps,
}

fn default_goal() -> Goal {
    Goal::AddFriend
}

impl Campaign {
    /// A campaign with these banners, priority 0, goal add-friend, no schedule
    /// limits, targeting non-friends everywhere, and no caps.
    pub fn new(id: impl Into<String>, banners: Vec<Banner>) -> Self {
        Self {
            id: id.into(),
            priority: 0,
            goal: Goal::AddFriend,
            banners,
            schedule: Schedule::default(),
            targeting: Targeting::default(),
            caps: Caps::default(),
        }
    }
}

/// Where a banner's button leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Goal {
    /// The add-friend URL `https://line.me/R/ti/p/%40{basic_id}`. Conversions
    /// are attributed only when the host later binds the visitor's LINE user ID
    /// to the showing ([`crate::PopupEngine::bind_line_user`]).
    AddFriend,
    /// LINE Login with `bot_prompt`; `state` carries the attribution token, so
    /// the login callback can bind the LINE user ID to the showing.
    Login,
    /// The host's ID-link page, with tracking parameters and the attribution token.
    IdLink,
}

/// One banner variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Banner {
    /// Variant identifier: 1 to 64 of `A-Z a-z 0-9 - _ .`.
    pub id: String,
    /// Relative weight of the split, at least 1.
    #[serde(default = "one")]
    pub weight: u32,
    /// Headline.
    #[serde(default)]
    pub title: String,
    /// Body text.
    #[serde(default)]
    pub body: String,
    /// Optional image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
}

fn one() -> u32 {
    1
}

impl Banner {
    /// A banner of weight 1 with a title and no body or image.
    pub fn new(id: impl Into<String>, title: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            weight: 1,
            title: title.into(),
            body: String::new(),
            image_url: None,
        }
    }

    /// The same banner with another weight.
    pub fn with_weight(mut self, weight: u32) -> Self {
        self.weight = weight;
        self
    }
}

/// When a campaign runs.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Schedule {
    /// First instant (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<Timestamp>,
    /// Last instant (exclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<Timestamp>,
    /// Days of the week in [`time_zone`](Self::time_zone); empty means every day.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub days: Vec<Day>,
    /// Hours of the day in [`time_zone`](Self::time_zone); absent means all day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hours: Option<Hours>,
    /// IANA time zone of `days` and `hours`; defaults to the configuration's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
}

/// A day of the week.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)]
pub enum Day {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl Day {
    pub(crate) fn from_jiff(w: jiff::civil::Weekday) -> Self {
        use jiff::civil::Weekday as W;
        match w {
            W::Monday => Self::Mon,
            W::Tuesday => Self::Tue,
            W::Wednesday => Self::Wed,
            W::Thursday => Self::Thu,
            W::Friday => Self::Fri,
            W::Saturday => Self::Sat,
            W::Sunday => Self::Sun,
        }
    }
}

/// Hours of the day: from `from:00` (inclusive) to `to:00` (exclusive). When
/// `to` is not after `from`, the range wraps past midnight (22 to 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Hours {
    /// First hour, 0 to 23.
    pub from: u8,
    /// End hour, 0 to 24.
    pub to: u8,
}

impl Hours {
    /// From `from:00` to `to:00`.
    pub fn new(from: u8, to: u8) -> Self {
        Self { from, to }
    }

    pub(crate) fn contains(self, hour: i8) -> bool {
        let h = hour as u8;
        if self.from < self.to {
            h >= self.from && h < self.to
        } else {
            h >= self.from || h < self.to
        }
    }
}

/// Who sees a campaign and where.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Targeting {
    /// The visitor's relation to the LINE account.
    #[serde(default)]
    pub audience: Audience,
    /// Path globs the page must match (any of them); empty means every page.
    /// `*` stays within one path segment, `**` crosses segments.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<String>,
    /// Path globs the page must not match (none of them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
    /// Devices; empty means every device.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<Device>,
    /// Name of a [`crate::SegmentCondition`] registered with the engine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment: Option<String>,
}

/// The audience state a campaign targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Audience {
    /// Visitors not known to be friends (unknown visitors included).
    #[default]
    NotFriend,
    /// Friends whose member ID is not linked.
    FriendNotLinked,
    /// Everyone.
    Anyone,
}

/// A visitor's device class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Device {
    /// A phone.
    Mobile,
    /// A tablet.
    Tablet,
    /// A desktop or laptop.
    Desktop,
}

impl Device {
    /// A rough classification of a `User-Agent` header, for hosts that have no better one.
    pub fn from_user_agent(ua: &str) -> Self {
        if ua.contains("iPad") || (ua.contains("Android") && !ua.contains("Mobile")) || ua.contains("Tablet") {
            Self::Tablet
        } else if ua.contains("Mobi") || ua.contains("iPhone") || ua.contains("Android") {
            Self::Mobile
        } else {
            Self::Desktop
        }
    }
}

/// Frequency caps of one campaign. Every cap that is set must allow a showing.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Caps {
    /// At most this many showings per visitor, ever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifetime: Option<u32>,
    /// At most `max` showings in any rolling window of `secs` seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<WindowCap>,
    /// At most this many showings per session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_session: Option<u32>,
    /// At least this many seconds between two showings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_interval_secs: Option<u64>,
    /// No showing for this many seconds after a dismiss.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dismiss_cooldown_secs: Option<u64>,
    /// No showing after the visitor converted through this campaign.
    #[serde(default)]
    pub stop_after_conversion: bool,
}

impl Caps {
    /// No caps at all.
    pub fn none() -> Self {
        Self::default()
    }

    /// With a lifetime cap.
    pub fn with_lifetime(mut self, max: u32) -> Self {
        self.lifetime = Some(max);
        self
    }

    /// With a rolling-window cap of `max` showings in `secs` seconds.
    pub fn with_window(mut self, max: u32, secs: u64) -> Self {
        self.window = Some(WindowCap::new(max, secs));
        self
    }

    /// With a per-session cap.
    pub fn with_per_session(mut self, max: u32) -> Self {
        self.per_session = Some(max);
        self
    }

    /// With a minimum interval between showings.
    pub fn with_min_interval_secs(mut self, secs: u64) -> Self {
        self.min_interval_secs = Some(secs);
        self
    }

    /// With a cool-down after a dismiss.
    pub fn with_dismiss_cooldown_secs(mut self, secs: u64) -> Self {
        self.dismiss_cooldown_secs = Some(secs);
        self
    }

    /// With or without the stop after a conversion.
    pub fn with_stop_after_conversion(mut self, stop: bool) -> Self {
        self.stop_after_conversion = stop;
        self
    }

    /// The caps of Baroque Japan's friend popup: 5 in a lifetime, 7 days of
    /// cool-down after a dismiss, and none after a conversion.
    pub fn baroque_default() -> Self {
        Self {
            lifetime: Some(5),
            dismiss_cooldown_secs: Some(7 * 24 * 3600),
            stop_after_conversion: true,
            ..Self::default()
        }
    }
}

/// A rolling-window cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct WindowCap {
    /// Showings allowed in the window.
    pub max: u32,
    /// Window length in seconds.
    pub secs: u64,
}

impl WindowCap {
    /// At most `max` showings in any `secs` seconds.
    pub fn new(max: u32, secs: u64) -> Self {
        Self { max, secs }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn json_errors_carry_a_pointer() {
        let e = PopupConfig::from_json(
            br#"{"basic_id":"@x","campaigns":[{"id":"a","banners":[{"id":"b","weight":"heavy"}]}]}"#,
        )
        .unwrap_err();
        match e.kind() {
            ErrorKind::Config { pointer, .. } => assert_eq!(pointer, "/campaigns/0/banners/0/weight"),
            k => panic!("unexpected {k:?}"),
        }
        let e =
            PopupConfig::from_json(br#"{"basic_id":"@x","campaigns":[{"id":"a","banners":[],"caps":{"lifetme":5}}]}"#)
                .unwrap_err();
        match e.kind() {
            ErrorKind::Config { pointer, reason } => {
                assert_eq!(pointer, "/campaigns/0/caps/lifetme");
                assert!(reason.contains("unknown field"), "{reason}");
            }
            k => panic!("unexpected {k:?}"),
        }
    }

    #[test]
    fn json_round_trips() {
        let json = serde_json::json!({
            "basic_id": "@baroque",
            "time_zone": "Asia/Tokyo",
            "max_per_day": 3,
            "attribution_ttl_secs": 86400,
            "session_ttl_secs": 3600,
            "login": {"channel_id": "1650000000", "redirect_uri": "https://shop.example/cb", "bot_prompt": "normal"},
            "campaigns": [{
                "id": "spring", "priority": 5, "goal": "login",
                "banners": [{"id": "a", "weight": 2, "title": "Add us", "body": "10% off"}],
                "schedule": {"start": "2026-05-01T00:00:00Z", "days": ["sat", "sun"], "hours": {"from": 9, "to": 21}},
                "targeting": {"audience": "not_friend", "include": ["/products/**"], "devices": ["mobile"]},
                "caps": {"lifetime": 5, "window": {"max": 2, "secs": 86400}, "stop_after_conversion": true}
            }]
        });
        let cfg = PopupConfig::from_json(json.to_string().as_bytes()).unwrap();
        assert_eq!(cfg.campaigns[0].caps.window, Some(WindowCap::new(2, 86400)));
        assert_eq!(cfg.campaigns[0].schedule.days, vec![Day::Sat, Day::Sun]);
        assert_eq!(serde_json::to_value(&cfg).unwrap(), json);
    }

    #[test]
    fn hours_wrap_past_midnight() {
        let h = Hours::new(22, 2);
        assert!(h.contains(23) && h.contains(0) && h.contains(1));
        assert!(!h.contains(2) && !h.contains(12) && !h.contains(21));
        let d = Hours::new(9, 17);
        assert!(d.contains(9) && d.contains(16) && !d.contains(17) && !d.contains(8));
    }

    #[test]
    fn classifies_user_agents() {
        assert_eq!(
            Device::from_user_agent("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148"),
            Device::Mobile
        );
        assert_eq!(
            Device::from_user_agent("Mozilla/5.0 (iPad; CPU OS 17_0)"),
            Device::Tablet
        );
        assert_eq!(
            Device::from_user_agent("Mozilla/5.0 (X11; Linux x86_64) Chrome/120"),
            Device::Desktop
        );
    }
}
