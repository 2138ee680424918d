//! The assignment policy: ordered rules, each a condition and a menu, with a default at the
//! end. The first rule whose condition is true gives the user's menu.

use std::fmt;
use std::sync::Arc;

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::Timestamp;

use crate::menu::MenuSet;
use crate::store::UserContext;
use crate::validate::Finding;

/// A host-defined condition over a user: line-segments' [`SegmentCondition`] over a
/// [`UserContext`], in three-valued logic: `None` means "unknown", and an unknown condition does
/// not match (the rule is skipped). A closure `Fn(&UserContext, Timestamp) -> Option<bool>` is
/// one, and so is [`CompiledSegmentCondition`](crate::segments::CompiledSegmentCondition).
pub use line_segments::condition::SegmentCondition;

/// A rule's condition.
#[derive(Clone)]
#[non_exhaustive]
pub enum Condition {
    /// Always true.
    Always,
    /// The user's ID-link status equals this.
    Linked(bool),
    /// The user's store is one of these.
    Store(Vec<String>),
    /// `now`, read in `tz`, is in `[start, end)`: a campaign period.
    Window {
        /// First moment, local time.
        start: DateTime,
        /// First moment after, local time.
        end: DateTime,
        /// The time zone the times are in (usually Asia/Tokyo).
        tz: TimeZone,
    },
    /// A host-defined segment.
    Segment(Arc<dyn SegmentCondition<UserContext>>),
    /// Every condition holds.
    All(Vec<Condition>),
    /// At least one condition holds.
    Any(Vec<Condition>),
    /// The condition does not hold.
    Not(Box<Condition>),
}

impl fmt::Debug for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Always => f.write_str("Always"),
            Self::Linked(b) => f.debug_tuple("Linked").field(b).finish(),
            Self::Store(s) => f.debug_tuple("Store").field(s).finish(),
            Self::Window { start, end, tz } => f
                .debug_struct("Window")
                .field("start", start)
                .field("end", end)
                .field("tz", &tz.iana_name())
                .finish(),
            Self::Segment(_) => f.write_str("Segment(..)"),
            Self::All(c) => f.debug_tuple("All").field(c).finish(),
            Self::Any(c) => f.debug_tuple("Any").field(c).finish(),
            Self::Not(c) => f.debug_tuple("Not").field(c).finish(),
        }
    }
}

impl Condition {
    /// A campaign period in a named time zone, e.g. `("2026-12-01T00:00", "2026-12-26T00:00", "Asia/Tokyo")`.
    pub fn window(start: &str, end: &str, tz: &str) -> Result<Self, crate::Error> {
        let bad = |field: &str, reason: String| {
            crate::Error::new(crate::ErrorKind::Parse {
                pointer: format!("/{field}"),
                reason,
            })
        };
        let start: DateTime = start.parse().map_err(|e: jiff::Error| bad("start", e.to_string()))?;
        let end: DateTime = end.parse().map_err(|e: jiff::Error| bad("end", e.to_string()))?;
        let tz = TimeZone::get(tz).map_err(|e| bad("tz", e.to_string()))?;
        Ok(Self::Window { start, end, tz })
    }

    /// A host-defined segment.
    pub fn segment(s: impl SegmentCondition<UserContext> + 'static) -> Self {
        Self::Segment(Arc::new(s))
    }

    /// Three-valued evaluation (Kleene): `None` is unknown.
    pub fn eval(&self, user: &UserContext, now: Timestamp) -> Option<bool> {
        match self {
            Self::Always => Some(true),
            Self::Linked(b) => Some(user.linked == *b),
            Self::Store(stores) => Some(user.store.as_ref().is_some_and(|s| stores.contains(s))),
            Self::Window { start, end, tz } => {
                let local = now.to_zoned(tz.clone()).datetime();
                Some(*start <= local && local < *end)
            }
            Self::Segment(s) => s.matches(user, now),
            Self::All(cs) => {
                let mut out = Some(true);
                for c in cs {
                    match c.eval(user, now) {
                        Some(false) => return Some(false),
                        None => out = None,
                        Some(true) => {}
                    }
                }
                out
            }
            Self::Any(cs) => {
                let mut out = Some(false);
                for c in cs {
                    match c.eval(user, now) {
                        Some(true) => return Some(true),
                        None => out = None,
                        Some(false) => {}
                    }
                }
                out
            }
            Self::Not(c) => c.eval(user, now).map(|b| !b),
        }
    }
}

/// What a rule gives.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Target {
    /// The menu with this key.
    Menu(String),
    /// No per-user menu: the channel's default.
    Default,
}

impl From<&str> for Target {
    fn from(key: &str) -> Self {
        Self::Menu(key.to_owned())
    }
}

impl From<String> for Target {
    fn from(key: String) -> Self {
        Self::Menu(key)
    }
}

/// A condition and the menu it gives.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Rule {
    /// A name for reports and explanations.
    pub name: String,
    /// When it applies.
    pub when: Condition,
    /// What it gives.
    pub target: Target,
}

/// The policy's answer for one user.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Decision {
    /// The menu.
    pub target: Target,
    /// The rule that gave it (`None` for the default).
    pub rule: Option<String>,
}

/// Ordered rules with a default.
#[derive(Debug, Clone)]
pub struct Policy {
    rules: Vec<Rule>,
    default: Target,
}

impl Policy {
    /// A policy that gives `default` to everyone until rules are added.
    pub fn new(default: impl Into<Target>) -> Self {
        Self {
            rules: Vec::new(),
            default: default.into(),
        }
    }

    /// Adds a rule after the others.
    pub fn rule(mut self, name: impl Into<String>, when: Condition, target: impl Into<Target>) -> Self {
        self.rules.push(Rule {
            name: name.into(),
            when,
            target: target.into(),
        });
        self
    }

    /// The rules, in order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The menu `user` should have at `now`.
    pub fn evaluate(&self, user: &UserContext, now: Timestamp) -> Decision {
        for r in &self.rules {
            if r.when.eval(user, now) == Some(true) {
                return Decision {
                    target: r.target.clone(),
                    rule: Some(r.name.clone()),
                };
            }
        }
        Decision {
            target: self.default.clone(),
            rule: None,
        }
    }

    /// Checks that every key the policy gives is declared in `menus`. Places are
    /// `/rules/{i}/target` and `/default`.
    pub fn check(&self, menus: &MenuSet) -> Vec<Finding> {
        let mut out = Vec::new();
        let mut check = |t: &Target, place: String| {
            if let Target::Menu(k) = t {
                if menus.get(k).is_none() {
                    out.push(Finding::error(place, format!("menu key {k:?} is not in the menu set")));
                }
            }
        };
        for (i, r) in self.rules.iter().enumerate() {
            check(&r.target, format!("/rules/{i}/target"));
        }
        check(&self.default, "/default".to_owned());
        out
    }
}

/// The menu name that stands for the channel's default menu in policy files.
pub const DEFAULT_MENU: &str = "@default";

/// Named segments a policy file may refer to with `{"segment": "name"}`.
pub type Segments = std::collections::HashMap<String, Arc<dyn SegmentCondition<UserContext>>>;

fn parse_err(pointer: String, reason: impl Into<String>) -> crate::Error {
    crate::Error::new(crate::ErrorKind::Parse {
        pointer,
        reason: reason.into(),
    })
}

impl Policy {
    /// Reads a policy from JSON:
    ///
    /// ```json
    /// { "rules": [
    ///     { "name": "members, year end", "menu": "sale-member",
    ///       "when": { "all": [ { "linked": true },
    ///                          { "window": { "start": "2026-12-26T00:00", "end": "2027-01-01T00:00",
    ///                                        "tz": "Asia/Tokyo" } } ] } },
    ///     { "name": "vip", "when": { "segment": "vip" }, "menu": "vip" },
    ///     { "name": "shibuya", "when": { "store": ["shibuya"] }, "menu": "shibuya" } ],
    ///   "default": "guest" }
    /// ```
    ///
    /// A condition is an object with one of `always`, `linked`, `store`, `window`, `segment`
    /// (a name looked up in `segments`), `all`, `any`, `not`. A menu is a key, or `"@default"`
    /// for the channel's default menu. Errors name the JSON pointer.
    pub fn from_json_str(text: &str, segments: &Segments) -> Result<Self, crate::Error> {
        let v: serde_json::Value = serde_json::from_str(text).map_err(|e| parse_err(String::new(), e.to_string()))?;
        Self::from_value(&v, segments)
    }

    /// Reads a policy from TOML, with the structure of [`Policy::from_json_str`].
    pub fn from_toml_str(text: &str, segments: &Segments) -> Result<Self, crate::Error> {
        let v: serde_json::Value = toml::from_str(text).map_err(|e| parse_err(String::new(), e.message()))?;
        Self::from_value(&v, segments)
    }

    /// Reads a policy from a JSON value (see [`Policy::from_json_str`]).
    pub fn from_value(v: &serde_json::Value, segments: &Segments) -> Result<Self, crate::Error> {
        let obj = v
            .as_object()
            .ok_or_else(|| parse_err(String::new(), "expected an object"))?;
        if let Some(k) = obj.keys().find(|k| *k != "rules" && *k != "default") {
            return Err(parse_err(format!("/{k}"), "unknown field"));
        }
        let default = target_of(obj.get("default"), "/default")?;
        let mut policy = Policy::new(default);
        let rules = match obj.get("rules") {
            None => &Vec::new(),
            Some(serde_json::Value::Array(r)) => r,
            Some(_) => return Err(parse_err("/rules".into(), "expected an array")),
        };
        for (i, r) in rules.iter().enumerate() {
            let p = format!("/rules/{i}");
            let ro = r
                .as_object()
                .ok_or_else(|| parse_err(p.clone(), "expected an object"))?;
            if let Some(k) = ro.keys().find(|k| !["name", "when", "menu"].contains(&k.as_str())) {
                return Err(parse_err(format!("{p}/{k}"), "unknown field"));
            }
            let name = match ro.get("name") {
                None => format!("rule {i}"),
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(_) => return Err(parse_err(format!("{p}/name"), "expected a string")),
            };
            let when = match ro.get("when") {
                Some(w) => condition_of(w, &format!("{p}/when"), segments)?,
                None => return Err(parse_err(format!("{p}/when"), "missing field")),
            };
            let target = target_of(ro.get("menu"), &format!("{p}/menu"))?;
            policy = policy.rule(name, when, target);
        }
        Ok(policy)
    }
}

fn target_of(v: Option<&serde_json::Value>, p: &str) -> Result<Target, crate::Error> {
    match v {
        Some(serde_json::Value::String(s)) if s == DEFAULT_MENU => Ok(Target::Default),
        Some(serde_json::Value::String(s)) if !s.is_empty() => Ok(Target::Menu(s.clone())),
        None => Err(parse_err(p.to_owned(), "missing menu key")),
        Some(_) => Err(parse_err(p.to_owned(), "expected a menu key or \"@default\"")),
    }
}

fn condition_of(v: &serde_json::Value, p: &str, segments: &Segments) -> Result<Condition, crate::Error> {
    use serde_json::Value;
    let obj = v
        .as_object()
        .ok_or_else(|| parse_err(p.to_owned(), "expected an object"))?;
    let mut it = obj.iter();
    let (Some((k, x)), None) = (it.next(), it.next()) else {
        return Err(parse_err(p.to_owned(), "a condition has exactly one field"));
    };
    let q = format!("{p}/{k}");
    let list = |x: &Value| -> Result<Vec<Condition>, crate::Error> {
        let a = x.as_array().ok_or_else(|| parse_err(q.clone(), "expected an array"))?;
        a.iter()
            .enumerate()
            .map(|(i, c)| condition_of(c, &format!("{q}/{i}"), segments))
            .collect()
    };
    match (k.as_str(), x) {
        ("always", Value::Bool(true)) => Ok(Condition::Always),
        ("linked", Value::Bool(b)) => Ok(Condition::Linked(*b)),
        ("store", Value::Array(a)) => a
            .iter()
            .enumerate()
            .map(|(i, s)| {
                s.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| parse_err(format!("{q}/{i}"), "expected a string"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Condition::Store),
        ("window", Value::Object(w)) => {
            let field = |f: &str| {
                w.get(f)
                    .and_then(Value::as_str)
                    .ok_or_else(|| parse_err(format!("{q}/{f}"), "expected a string"))
            };
            let (start, end, tz) = (field("start")?, field("end")?, field("tz")?);
            Condition::window(start, end, tz).map_err(|e| match e.kind() {
                crate::ErrorKind::Parse { pointer, reason } => parse_err(format!("{q}{pointer}"), reason.clone()),
                _ => e,
            })
        }
        ("segment", Value::String(name)) => segments
            .get(name)
            .cloned()
            .map(Condition::Segment)
            .ok_or_else(|| parse_err(q.clone(), format!("no segment named {name:?} was registered"))),
        ("all", x) => list(x).map(Condition::All),
        ("any", x) => list(x).map(Condition::Any),
        ("not", x) => condition_of(x, &q, segments).map(|c| Condition::Not(Box::new(c))),
        ("always" | "linked" | "store" | "window" | "segment", _) => {
            Err(parse_err(q.clone(), format!("wrong type of value for {k}")))
        }
        _ => Err(parse_err(q.clone(), format!("unknown condition {k:?}"))),
    }
}
