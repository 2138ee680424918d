//! The scenario model: a trigger, an entry condition with re-entry rules, steps and goals.
//!
//! A [`Scenario`] is plain data with a JSON form (see `docs/formats.md`, parsed by
//! [`crate::json`]) and a Rust builder ([`crate::builder`]) that produce the same value.

use std::collections::BTreeMap;

use jiff::civil::{Date, DateTime, Time};
use line_core::model::{FlexContainer, Message};
use line_segments::{Segment, Window};
use serde::{Deserialize, Serialize};

/// A system delivery: who enters, what happens to them over time, and what counts as success.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Scenario {
    /// A stable identifier (letters, digits, `_`, `-`, `.`); part of every idempotency key.
    pub id: String,
    /// A human-readable name for reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Who gets a contact-budget slot first when several scenarios compete: higher wins.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub priority: i32,
    /// IANA time zone for waits until a time of day or date, birthdays and fixed dates.
    /// `None` uses the engine's account time zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// What starts the scenario for a user.
    pub trigger: Trigger,
    /// Who may enter, and how often.
    #[serde(default, skip_serializing_if = "Entry::is_default")]
    pub entry: Entry,
    /// The steps, run from the first; each goes to the next one in the list unless it says otherwise.
    pub steps: Vec<Step>,
    /// Host events that end the scenario for the user and count as conversions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub goals: Vec<Goal>,
}

fn is_zero(n: &i32) -> bool {
    *n == 0
}

/// What starts a scenario for a user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum Trigger {
    /// The user adds the account as a friend (webhook `follow`), from any source or, with
    /// `source`, from one friend source (see [`crate::sources`]).
    Follow {
        /// Which follows: from this source, from `any` source, or from `none` (not matched to a
        /// source). Without it, every follow.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        source: Option<FollowSource>,
    },
    /// The user blocks the account (webhook `unfollow`). Only acts make sense after it.
    Unfollow {},
    /// The user finishes an account link (webhook `accountLink` with result `ok`).
    AccountLink {},
    /// The user taps a postback action (webhook `postback`).
    Postback {
        /// The postback `data` must equal this.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        data: Option<String>,
        /// The postback `data` must start with this.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        prefix: Option<String>,
    },
    /// The user writes a text message matching a keyword or a pattern (auto-reply rules).
    Message(MessageMatch),
    /// A host event (`cart_updated`, `purchase`, `tier_changed`, …).
    Event(EventMatch),
    /// A birthday in the scenario's time zone, checked by [`crate::engine::Engine::calendar_tick`].
    Birthday(BirthdayTrigger),
    /// A fixed local date and time in the scenario's time zone, for every user the entry admits.
    At(#[serde(with = "civil_datetime")] DateTime),
}

/// Longest friend-source code, in bytes (also `sources::MAX_CODE_LEN`).
pub const MAX_CODE_LEN: usize = 64;
/// Friend-source codes no source may have: the trigger uses them for "any source" and "no source".
pub const RESERVED_CODES: [&str; 2] = ["any", "none"];

/// Checks the form of a friend-source code (also `sources::check_code`): 1 to 64 of `a-z`,
/// `0-9`, `_`, `-`, not `any` or `none`.
/// Lowercase only, so that a code printed in a QR code or typed from a flyer is one code.
pub fn check_code(code: &str) -> std::result::Result<(), String> {
    if code.is_empty() || code.len() > MAX_CODE_LEN {
        return Err(format!("a source code has 1 to {MAX_CODE_LEN} characters"));
    }
    if !code
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
    {
        return Err(format!(
            "invalid source code {:?}: use a-z, 0-9, `_` and `-`",
            code.chars().take(MAX_CODE_LEN).collect::<String>()
        ));
    }
    if RESERVED_CODES.contains(&code) {
        return Err(format!(
            "`{code}` is reserved (it means {code} source in a follow trigger)"
        ));
    }
    Ok(())
}

/// The friend source a [`Trigger::Follow`] asks for. Its JSON form is a string: a source code,
/// `"any"` or `"none"` (both reserved: no source may have them as its code).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
#[non_exhaustive]
pub enum FollowSource {
    /// A follow matched to this source (its code).
    Code(String),
    /// A follow matched to any source.
    Any,
    /// A follow matched to no source.
    NoSource,
}

impl FollowSource {
    /// Whether a follow matched to `source` (a code, or `None`) is one this trigger asks for.
    pub fn matches(&self, source: Option<&str>) -> bool {
        match (self, source) {
            (FollowSource::Code(c), Some(s)) => c == s,
            (FollowSource::Any, Some(_)) | (FollowSource::NoSource, None) => true,
            _ => false,
        }
    }
}

impl TryFrom<String> for FollowSource {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        match s.as_str() {
            "any" => Ok(FollowSource::Any),
            "none" => Ok(FollowSource::NoSource),
            _ => {
                check_code(&s)?;
                Ok(FollowSource::Code(s))
            }
        }
    }
}

impl From<FollowSource> for String {
    fn from(s: FollowSource) -> String {
        match s {
            FollowSource::Code(c) => c,
            FollowSource::Any => "any".to_owned(),
            FollowSource::NoSource => "none".to_owned(),
        }
    }
}

/// Text matching for [`Trigger::Message`]. Matching ignores ASCII case and surrounding white space.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct MessageMatch {
    /// The whole text equals one of these.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keywords: Vec<String>,
    /// Patterns where `*` matches any run of characters (no regular expressions), e.g. `*coupon*`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub patterns: Vec<String>,
}

/// A host event by name, with property values that must match.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct EventMatch {
    /// The event name.
    pub name: String,
    /// Property values the event must carry, compared for equality.
    #[serde(default, rename = "where", skip_serializing_if = "BTreeMap::is_empty")]
    pub props: BTreeMap<String, PropValue>,
}

impl EventMatch {
    /// A match on the event name alone.
    pub fn named(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            props: BTreeMap::new(),
        }
    }
}

/// A birthday trigger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct BirthdayTrigger {
    /// The `date` attribute holding the birthday.
    #[serde(default = "default_birthday_attr")]
    pub attribute: String,
    /// Whether the birthday's month or its day starts the scenario.
    #[serde(rename = "match")]
    pub granularity: BirthdayMatch,
    /// The local time of day from which users enter (on the first day of the month, or the day).
    #[serde(default = "midnight", with = "civil_time")]
    pub at: Time,
}

fn default_birthday_attr() -> String {
    "birthday".to_owned()
}

fn midnight() -> Time {
    Time::midnight()
}

/// Which part of the birthday is matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BirthdayMatch {
    /// Any day of the birthday month (enter once, on the first check of the month).
    Month,
    /// The birthday itself (29 February is 28 February in other years).
    Day,
}

/// Who may enter a scenario, and how often.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Entry {
    /// Only users in this segment (evaluated at the trigger) enter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment: Option<Segment>,
    /// How often a user may enter.
    #[serde(default, skip_serializing_if = "is_default_reentry")]
    pub reentry: Reentry,
}

impl Entry {
    fn is_default(&self) -> bool {
        self == &Entry::default()
    }
}

fn is_default_reentry(r: &Reentry) -> bool {
    *r == Reentry::default()
}

/// How often a user may enter a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Reentry {
    /// Never again after the first entry.
    Once,
    /// Again after leaving, but not while already inside (the default).
    #[default]
    NotWhileInside,
    /// Not while inside, and not within this long of the previous entry (birthday: `300d`).
    OncePer(Window),
}

/// One step of a scenario.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Step {
    /// The step's identifier, unique in the scenario; targets of `next`, `then`, `else`, splits.
    pub id: String,
    /// What the step does.
    pub kind: StepKind,
    /// The step after this one; `None` is the next step in the list (after the last: exit).
    /// Ignored by branches, splits and exits, which name their targets.
    pub next: Option<String>,
}

impl Step {
    /// A step going to the next one in the list.
    pub fn new(id: impl Into<String>, kind: StepKind) -> Self {
        Self {
            id: id.into(),
            kind,
            next: None,
        }
    }

    /// Sets the step after this one.
    #[must_use]
    pub fn then(mut self, next: impl Into<String>) -> Self {
        self.next = Some(next.into());
        self
    }
}

/// What a step does.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
#[allow(clippy::large_enum_variant)] // a few per scenario, compiled once; boxing would only add an allocation
pub enum StepKind {
    /// Wait before the next step.
    Wait(Wait),
    /// Go to `then` when the condition is true for the user now, else to `otherwise`.
    Branch {
        /// The condition.
        condition: Condition,
        /// The step when true.
        then: String,
        /// The step when false or unknown.
        otherwise: String,
    },
    /// Send messages to the user.
    Send(Send),
    /// A deterministic split by user: each arm gets a share of users by weight.
    Split(Vec<SplitArm>),
    /// Change the user's profile or rich menu, or start or stop a scenario.
    Act(Act),
    /// Leave the scenario.
    Exit,
}

/// How long a [`StepKind::Wait`] waits, counted from when the step was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Wait {
    /// A fixed duration.
    For(Window),
    /// Until the next occurrence of this local time of day (strictly after the step was reached).
    UntilTime(Time),
    /// Until this local date and time (at once when already past).
    Until(DateTime),
}

/// The bounds of a wait accepted by validation.
pub mod bounds {
    /// The shortest fixed wait, in seconds (1 minute).
    pub const MIN_WAIT_SECS: u64 = 60;
    /// The longest fixed wait, in seconds (400 days).
    pub const MAX_WAIT_SECS: u64 = 400 * 86_400;
}

/// The condition of a [`StepKind::Branch`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum Condition {
    /// The user is in this segment now (three-valued: unknown is false).
    Segment(Segment),
    /// The user had this host event since entering the scenario (e.g. a purchase).
    EventSinceEntry(EventMatch),
}

/// A send step.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Send {
    /// What is sent.
    pub content: Content,
    /// What to do when the step falls in quiet hours.
    pub quiet_hours: QuietPolicy,
}

impl Send {
    /// Sends fixed messages.
    pub fn messages(messages: Vec<Message>) -> Self {
        Self {
            content: Content::Messages(messages),
            quiet_hours: QuietPolicy::default(),
        }
    }

    /// Sends a Flex message rendered per user: `contents` is a bubble or a carousel (a
    /// `line_model` container, or a `line_flex` builder) whose strings may hold `{name}` variables.
    pub fn flex(
        alt_text: impl Into<String>,
        contents: impl Into<FlexContainer>,
        vars: BTreeMap<String, VarSource>,
    ) -> Self {
        Self {
            content: Content::Flex(FlexContent {
                alt_text: alt_text.into(),
                contents: contents.into(),
                vars,
            }),
            quiet_hours: QuietPolicy::default(),
        }
    }

    /// Sets the quiet-hours policy.
    #[must_use]
    pub fn quiet_hours(mut self, policy: QuietPolicy) -> Self {
        self.quiet_hours = policy;
        self
    }
}

/// The content of a send step.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
#[allow(clippy::large_enum_variant)] // one per send step, compiled once; boxing would only add an allocation
pub enum Content {
    /// line-core messages, 1 to 5.
    Messages(Vec<Message>),
    /// A line-flex template.
    Flex(FlexContent),
}

/// A Flex message template with `{name}` variables in its strings and alt text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct FlexContent {
    /// The alt text (may use variables).
    pub alt_text: String,
    /// The container (a bubble or a carousel), `{name}` variables in its strings. It is read
    /// into the model as it is (unknown properties and kinds are kept); an unknown container
    /// kind or a value LINE would reject is reported by validation.
    pub contents: FlexContainer,
    /// Where each variable's value comes from.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub vars: BTreeMap<String, VarSource>,
}

/// Where a template variable's value comes from.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct VarSource {
    /// Where to read it.
    pub from: VarFrom,
    /// The value when the source has none (without it, a missing value skips the send).
    pub default: Option<String>,
}

impl VarSource {
    /// A property of the event that made the user enter.
    pub fn event(prop: impl Into<String>) -> Self {
        Self {
            from: VarFrom::Event(prop.into()),
            default: None,
        }
    }

    /// A profile attribute.
    pub fn attribute(name: impl Into<String>) -> Self {
        Self {
            from: VarFrom::Attribute(name.into()),
            default: None,
        }
    }

    /// A fallback value.
    #[must_use]
    pub fn or(mut self, default: impl Into<String>) -> Self {
        self.default = Some(default.into());
        self
    }
}

/// The source of a variable.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum VarFrom {
    /// A property of the triggering event (kept with the entry).
    Event(String),
    /// A first-party attribute of the user's profile.
    Attribute(String),
    /// A fixed value.
    Value(String),
}

/// What a send step does in quiet hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuietPolicy {
    /// Wait until quiet hours end, then send (the default).
    #[default]
    Defer,
    /// Skip the send (recorded with reason `quiet_hours`) and go on.
    Drop,
}

/// One arm of a split.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitArm {
    /// Relative weight, at least 1.
    pub weight: u32,
    /// The step users of this arm go to.
    pub next: String,
}

/// An action on the user ("action settings").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum Act {
    /// Add a tag (to the `tags` set attribute) through the profile store.
    AddTag(String),
    /// Remove a tag.
    RemoveTag(String),
    /// Set an attribute.
    SetAttribute {
        /// The attribute.
        name: String,
        /// The value (a string, number, boolean, or `{"date": …}` / `{"timestamp": …}`).
        value: AttrValue,
    },
    /// Remove an attribute.
    RemoveAttribute(String),
    /// Link the user to a rich menu (by id or alias, as the host's switcher understands it).
    RichMenu(String),
    /// Start another scenario for the user (subject to its entry rules).
    Start(String),
    /// Make the user leave another scenario.
    Stop(String),
}

/// A goal: a host event that ends the scenario for the user and counts as a conversion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Goal {
    /// The event name.
    pub event: String,
    /// Property values the event must carry.
    #[serde(default, rename = "where", skip_serializing_if = "BTreeMap::is_empty")]
    pub props: BTreeMap<String, PropValue>,
    /// The numeric event property holding the revenue in yen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revenue: Option<String>,
}

impl Goal {
    /// A goal on an event, with the property holding its revenue.
    pub fn event(name: impl Into<String>, revenue: Option<&str>) -> Self {
        Self {
            event: name.into(),
            props: BTreeMap::new(),
            revenue: revenue.map(str::to_owned),
        }
    }
}

pub(crate) mod civil_time {
    use jiff::civil::Time;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(t: &Time, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&t.strftime("%H:%M"))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Time, D::Error> {
        let s = String::deserialize(d)?;
        parse(&s).map_err(serde::de::Error::custom)
    }

    pub(crate) fn parse(s: &str) -> Result<Time, String> {
        Time::strptime("%H:%M", s).map_err(|_| format!("invalid time of day `{s}`: expected HH:MM"))
    }
}

pub(crate) mod civil_datetime {
    use jiff::civil::DateTime;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(t: &DateTime, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&t.strftime("%Y-%m-%dT%H:%M"))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime, D::Error> {
        let s = String::deserialize(d)?;
        parse(&s).map_err(serde::de::Error::custom)
    }

    pub(crate) fn parse(s: &str) -> Result<DateTime, String> {
        DateTime::strptime("%Y-%m-%dT%H:%M", s)
            .map_err(|_| format!("invalid local date and time `{s}`: expected YYYY-MM-DDTHH:MM"))
    }
}

/// A property value an event must carry (`where` of an event trigger, a condition or a goal):
/// a string, a number or a boolean, compared for equality with the event's property.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum PropValue {
    /// Text.
    Str(String),
    /// A number (kept as written, compared as a float).
    Num(serde_json::Number),
    /// A boolean.
    Bool(bool),
}

impl PropValue {
    /// Whether the event property `v` equals this value.
    pub fn matches(&self, v: &line_segments::profile::Value) -> bool {
        use line_segments::profile::Value;
        match (self, v) {
            (Self::Str(a), Value::Str(b)) => a == b,
            (Self::Num(a), Value::Num(b)) => a.as_f64() == Some(*b),
            (Self::Bool(a), Value::Bool(b)) => a == b,
            _ => false,
        }
    }
}

/// Whether `event` carries every property of `want` (the `where` of an event trigger, a
/// condition or a goal) with an equal value.
pub(crate) fn props_match(want: &BTreeMap<String, PropValue>, event: &line_segments::profile::Event) -> bool {
    want.iter().all(|(k, v)| event.prop(k).is_some_and(|p| v.matches(p)))
}

impl From<&str> for PropValue {
    fn from(s: &str) -> Self {
        Self::Str(s.to_owned())
    }
}

impl From<String> for PropValue {
    fn from(s: String) -> Self {
        Self::Str(s)
    }
}

impl From<bool> for PropValue {
    fn from(b: bool) -> Self {
        Self::Bool(b)
    }
}

impl From<i64> for PropValue {
    fn from(n: i64) -> Self {
        Self::Num(n.into())
    }
}

/// A value an action sets on a profile attribute: a string, a number, a boolean,
/// `{"date": "YYYY-MM-DD"}` or `{"timestamp": "RFC 3339"}`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum AttrValue {
    /// Text.
    Str(String),
    /// A finite number (kept as written).
    Num(serde_json::Number),
    /// A boolean.
    Bool(bool),
    /// A calendar date.
    Date(Date),
    /// An instant.
    Time(jiff::Timestamp),
}

impl AttrValue {
    /// The profile value it sets.
    pub fn to_profile_value(&self) -> line_segments::profile::Value {
        use line_segments::profile::Value;
        match self {
            Self::Str(s) => Value::Str(s.clone()),
            Self::Num(n) => Value::Num(n.as_f64().unwrap_or(f64::NAN)),
            Self::Bool(b) => Value::Bool(*b),
            Self::Date(d) => Value::Date(*d),
            Self::Time(t) => Value::Time(*t),
        }
    }

    /// The attribute type it fits.
    pub fn attr_type(&self) -> line_segments::schema::AttrType {
        use line_segments::schema::AttrType;
        match self {
            Self::Str(_) => AttrType::String,
            Self::Num(_) => AttrType::Number,
            Self::Bool(_) => AttrType::Bool,
            Self::Date(_) => AttrType::Date,
            Self::Time(_) => AttrType::Timestamp,
        }
    }
}

impl From<&str> for AttrValue {
    fn from(s: &str) -> Self {
        Self::Str(s.to_owned())
    }
}

impl From<String> for AttrValue {
    fn from(s: String) -> Self {
        Self::Str(s)
    }
}

impl From<bool> for AttrValue {
    fn from(b: bool) -> Self {
        Self::Bool(b)
    }
}

impl From<i64> for AttrValue {
    fn from(n: i64) -> Self {
        Self::Num(n.into())
    }
}

impl From<Date> for AttrValue {
    fn from(d: Date) -> Self {
        Self::Date(d)
    }
}

impl From<jiff::Timestamp> for AttrValue {
    fn from(t: jiff::Timestamp) -> Self {
        Self::Time(t)
    }
}

/// A local date at midnight, for [`Wait::Until`].
pub fn at_midnight(date: Date) -> DateTime {
    date.to_datetime(Time::midnight())
}
