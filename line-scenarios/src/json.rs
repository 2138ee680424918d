//! The JSON form of a scenario (documented in `docs/formats.md`).
//!
//! Parsing is strict: an unknown key, a step with two kinds or a bad duration is an
//! error naming its JSON pointer. Serializing gives the same form back, so a scenario
//! survives a parse and print round trip (defaults are left out).
//!
//! ```
//! let scenario = line_scenarios::json::from_str(r#"{
//!   "id": "cart",
//!   "trigger": {"event": {"name": "cart_updated"}},
//!   "steps": [
//!     {"id": "wait", "wait": {"for": "1h"}},
//!     {"id": "bought", "if": {"event_since_entry": {"name": "purchase"}}, "then": "end", "else": "remind"},
//!     {"id": "remind", "send": {"messages": [{"type": "text", "text": "Still thinking about it?"}]}},
//!     {"id": "end", "exit": {}}
//!   ]
//! }"#).unwrap();
//! assert_eq!(scenario.steps.len(), 4);
//!
//! let err = line_scenarios::json::from_str(r#"{"id": "x", "trigger": {"follow": {}},
//!   "steps": [{"id": "w", "wait": {"for": "soon"}}]}"#).unwrap_err();
//! assert_eq!(err.to_string(), "invalid scenario at /steps/0/wait/for: invalid window `soon`: expected such as 90d");
//! ```

use std::collections::BTreeMap;

use line_segments::Window;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, ErrorKind, Result};
use crate::model::*;

/// Parses a scenario from JSON text.
///
/// The text is read straight into the typed scenario (no intermediate JSON value), so an
/// error inside a message or a Flex container names its exact pointer.
pub fn from_str(text: &str) -> Result<Scenario> {
    from_text(text)
}

/// Parses a scenario from a JSON value (an error inside a union whose `"type"` is not its first
/// property, as in a `serde_json::Value`, names the union's pointer).
pub fn from_value(value: &Value) -> Result<Scenario> {
    serde_path_to_error::deserialize::<_, Scenario>(value).map_err(data_error)
}

/// Parses several scenarios: a JSON array of scenarios, or one scenario.
pub fn many_from_str(text: &str) -> Result<Vec<Scenario>> {
    if text.trim_start().starts_with('[') {
        from_text(text)
    } else {
        from_text(text).map(|s| vec![s])
    }
}

/// Reads `T` from JSON text: syntax errors with their line and column, others with their
/// JSON pointer.
fn from_text<T: serde::de::DeserializeOwned>(text: &str) -> Result<T> {
    let mut de = serde_json::Deserializer::from_str(text);
    match serde_path_to_error::deserialize(&mut de) {
        Ok(value) => {
            de.end().map_err(|e| syntax_error(&e))?;
            Ok(value)
        }
        Err(e) if e.inner().is_data() => Err(data_error(e)),
        Err(_) => {
            // serde_json reports a few shape errors of valid JSON (such as `{}` where an enum
            // belongs) as syntax errors; read through a value, which names their pointer.
            let value: Value = serde_json::from_str(text).map_err(|e| syntax_error(&e))?;
            serde_path_to_error::deserialize::<_, T>(&value).map_err(data_error)
        }
    }
}

fn syntax_error(e: &serde_json::Error) -> Error {
    Error::new(ErrorKind::Syntax {
        line: e.line(),
        column: e.column(),
        message: strip_position(&e.to_string()),
    })
}

fn data_error(e: serde_path_to_error::Error<serde_json::Error>) -> Error {
    Error::json(pointer_of(e.path()), strip_position(&e.inner().to_string()))
}

/// The JSON form of a scenario.
pub fn to_value(scenario: &Scenario) -> Value {
    serde_json::to_value(scenario).unwrap_or(Value::Null)
}

/// The JSON form, pretty-printed.
pub fn to_string_pretty(scenario: &Scenario) -> String {
    serde_json::to_string_pretty(scenario).unwrap_or_default()
}

fn pointer_of(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment as S;
    let mut out = String::new();
    for seg in path.iter() {
        match seg {
            S::Seq { index } => out = crate::error::push_ptr(&out, index),
            S::Map { key } => out = crate::error::push_ptr(&out, key),
            S::Enum { variant } => out = crate::error::push_ptr(&out, variant),
            S::Unknown => {}
        }
    }
    out
}

fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg.to_owned(),
    }
}

/// An empty object, `{}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Empty {}

/// `Serialize` and `Deserialize` of a model type through its JSON shape, as serde's
/// `into`/`try_from` attributes would give (here, so that the model names no JSON shape).
macro_rules! via_shape {
    ($($ty:ty => $shape:ty),* $(,)?) => {$(
        impl Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                <$shape>::from(self.clone()).serialize(s)
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
                <$shape>::deserialize(d)?.try_into().map_err(serde::de::Error::custom)
            }
        }
    )*};
}

via_shape!(Step => RawStep, Wait => RawWait, Send => RawSend, VarSource => RawVar);

/// The JSON shape of a step: an `id`, exactly one kind key, and `next`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    wait: Option<Wait>,
    #[serde(default, rename = "if", skip_serializing_if = "Option::is_none")]
    condition: Option<Condition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    then: Option<String>,
    #[serde(default, rename = "else", skip_serializing_if = "Option::is_none")]
    otherwise: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    send: Option<Send>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    split: Option<Vec<SplitArm>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    act: Option<Act>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    exit: Option<Empty>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    next: Option<String>,
}

/// The JSON shape of a wait: exactly one of `for`, `until_time`, `until`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWait {
    #[serde(default, rename = "for", skip_serializing_if = "Option::is_none")]
    duration: Option<Window>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    until_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    until: Option<String>,
}

impl TryFrom<RawWait> for Wait {
    type Error = String;
    fn try_from(w: RawWait) -> Result<Self, String> {
        match (w.duration, w.until_time, w.until) {
            (Some(d), None, None) => Ok(Wait::For(d)),
            (None, Some(t), None) => crate::model::civil_time::parse(&t).map(Wait::UntilTime),
            (None, None, Some(u)) => {
                if let Ok(date) = u.parse::<jiff::civil::Date>() {
                    if u.len() == 10 {
                        return Ok(Wait::Until(at_midnight(date)));
                    }
                }
                crate::model::civil_datetime::parse(&u).map(Wait::Until)
            }
            _ => Err("a wait has exactly one of `for`, `until_time` and `until`".to_owned()),
        }
    }
}

impl From<Wait> for RawWait {
    fn from(w: Wait) -> Self {
        match w {
            Wait::For(d) => RawWait {
                duration: Some(d),
                ..Default::default()
            },
            Wait::UntilTime(t) => RawWait {
                until_time: Some(t.strftime("%H:%M").to_string()),
                ..Default::default()
            },
            Wait::Until(dt) => RawWait {
                until: Some(dt.strftime("%Y-%m-%dT%H:%M").to_string()),
                ..Default::default()
            },
        }
    }
}

impl TryFrom<RawStep> for Step {
    type Error = String;
    fn try_from(r: RawStep) -> Result<Self, String> {
        let id = r.id;
        let mut kinds = Vec::new();
        if r.wait.is_some() {
            kinds.push("wait");
        }
        if r.condition.is_some() {
            kinds.push("if");
        }
        if r.send.is_some() {
            kinds.push("send");
        }
        if r.split.is_some() {
            kinds.push("split");
        }
        if r.act.is_some() {
            kinds.push("act");
        }
        if r.exit.is_some() {
            kinds.push("exit");
        }
        if kinds.len() != 1 {
            return Err(format!(
                "step `{id}` must have exactly one of `wait`, `if`, `send`, `split`, `act`, `exit` (found {})",
                if kinds.is_empty() {
                    "none".to_owned()
                } else {
                    kinds.join(", ")
                }
            ));
        }
        let is_branch = r.condition.is_some();
        if !is_branch && (r.then.is_some() || r.otherwise.is_some()) {
            return Err(format!("step `{id}`: `then` and `else` belong to an `if` step"));
        }
        if (is_branch || r.split.is_some() || r.exit.is_some()) && r.next.is_some() {
            return Err(format!(
                "step `{id}`: `next` does not apply to `{}` (it names its own targets)",
                kinds[0]
            ));
        }
        let kind = if let Some(w) = r.wait {
            StepKind::Wait(w)
        } else if let Some(condition) = r.condition {
            let (Some(then), Some(otherwise)) = (r.then, r.otherwise) else {
                return Err(format!("step `{id}`: an `if` step needs both `then` and `else`"));
            };
            StepKind::Branch {
                condition,
                then,
                otherwise,
            }
        } else if let Some(s) = r.send {
            StepKind::Send(s)
        } else if let Some(arms) = r.split {
            StepKind::Split(arms)
        } else if let Some(a) = r.act {
            StepKind::Act(a)
        } else {
            StepKind::Exit
        };
        Ok(Step { id, kind, next: r.next })
    }
}

impl From<Step> for RawStep {
    fn from(s: Step) -> Self {
        let mut r = RawStep {
            id: s.id,
            wait: None,
            condition: None,
            then: None,
            otherwise: None,
            send: None,
            split: None,
            act: None,
            exit: None,
            next: s.next,
        };
        match s.kind {
            StepKind::Wait(w) => r.wait = Some(w),
            StepKind::Branch {
                condition,
                then,
                otherwise,
            } => {
                r.condition = Some(condition);
                r.then = Some(then);
                r.otherwise = Some(otherwise);
                r.next = None;
            }
            StepKind::Send(s) => r.send = Some(s),
            StepKind::Split(arms) => {
                r.split = Some(arms);
                r.next = None;
            }
            StepKind::Act(a) => r.act = Some(a),
            StepKind::Exit => {
                r.exit = Some(Empty {});
                r.next = None;
            }
        }
        r
    }
}

/// The JSON shape of a send: `messages` or `flex`, and `quiet_hours`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSend {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    messages: Option<Vec<line_core::model::Message>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    flex: Option<FlexContent>,
    #[serde(default, skip_serializing_if = "is_default_quiet")]
    quiet_hours: QuietPolicy,
}

fn is_default_quiet(q: &QuietPolicy) -> bool {
    *q == QuietPolicy::default()
}

impl TryFrom<RawSend> for Send {
    type Error = &'static str;
    fn try_from(r: RawSend) -> Result<Self, &'static str> {
        let content = match (r.messages, r.flex) {
            (Some(m), None) => Content::Messages(m),
            (None, Some(f)) => Content::Flex(f),
            _ => return Err("a send has exactly one of `messages` and `flex`"),
        };
        Ok(Send {
            content,
            quiet_hours: r.quiet_hours,
        })
    }
}

impl From<Send> for RawSend {
    fn from(s: Send) -> Self {
        let (messages, flex) = match s.content {
            Content::Messages(m) => (Some(m), None),
            Content::Flex(f) => (None, Some(f)),
        };
        RawSend {
            messages,
            flex,
            quiet_hours: s.quiet_hours,
        }
    }
}

/// The JSON shape of a variable source: one of `event`, `attribute`, `value`, and `default`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVar {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    event: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    attribute: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    default: Option<String>,
}

impl TryFrom<RawVar> for VarSource {
    type Error = &'static str;
    fn try_from(r: RawVar) -> Result<Self, &'static str> {
        let from = match (r.event, r.attribute, r.value) {
            (Some(e), None, None) => VarFrom::Event(e),
            (None, Some(a), None) => VarFrom::Attribute(a),
            (None, None, Some(v)) => VarFrom::Value(v),
            _ => return Err("a variable has exactly one of `event`, `attribute` and `value`"),
        };
        Ok(VarSource {
            from,
            default: r.default,
        })
    }
}

impl From<VarSource> for RawVar {
    fn from(v: VarSource) -> Self {
        let mut r = RawVar {
            default: v.default,
            ..Default::default()
        };
        match v.from {
            VarFrom::Event(e) => r.event = Some(e),
            VarFrom::Attribute(a) => r.attribute = Some(a),
            VarFrom::Value(x) => r.value = Some(x),
        }
        r
    }
}

impl Serialize for PropValue {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            PropValue::Str(v) => s.serialize_str(v),
            PropValue::Num(n) => n.serialize(s),
            PropValue::Bool(b) => s.serialize_bool(*b),
        }
    }
}

impl<'de> Deserialize<'de> for PropValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        d.deserialize_any(ScalarVisitor("a string, a number or a boolean"))
            .and_then(|v| match v {
                Scalar::Str(s) => Ok(PropValue::Str(s)),
                Scalar::Num(n) => Ok(PropValue::Num(n)),
                Scalar::Bool(b) => Ok(PropValue::Bool(b)),
                Scalar::Map(..) => Err(serde::de::Error::custom(
                    "invalid type: map, expected a string, a number or a boolean",
                )),
            })
    }
}

impl Serialize for AttrValue {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            AttrValue::Str(v) => s.serialize_str(v),
            AttrValue::Num(n) => n.serialize(s),
            AttrValue::Bool(b) => s.serialize_bool(*b),
            AttrValue::Date(d) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("date", &d.to_string())?;
                m.end()
            }
            AttrValue::Time(t) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("timestamp", &t.to_string())?;
                m.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for AttrValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        use serde::de::Error as _;
        d.deserialize_any(ScalarVisitor(ATTR_VALUE)).and_then(|v| match v {
            Scalar::Str(s) => Ok(AttrValue::Str(s)),
            Scalar::Num(n) => Ok(AttrValue::Num(n)),
            Scalar::Bool(b) => Ok(AttrValue::Bool(b)),
            Scalar::Map(key, text) => match key.as_str() {
                "date" => text
                    .parse()
                    .map(AttrValue::Date)
                    .map_err(|e| D::Error::custom(format!("invalid date `{text}`: {e}"))),
                "timestamp" => text
                    .parse()
                    .map(AttrValue::Time)
                    .map_err(|e| D::Error::custom(format!("invalid RFC 3339 timestamp `{text}`: {e}"))),
                _ => Err(D::Error::custom(format!("invalid value: expected {ATTR_VALUE}"))),
            },
        })
    }
}

const ATTR_VALUE: &str = "a string, a number, a boolean, {\"date\": …} or {\"timestamp\": …}";

/// A scalar, or a one-entry object of a string (`{"date": "…"}`).
enum Scalar {
    Str(String),
    Num(serde_json::Number),
    Bool(bool),
    Map(String, String),
}

struct ScalarVisitor(&'static str);

impl<'de> serde::de::Visitor<'de> for ScalarVisitor {
    type Value = Scalar;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
    fn visit_bool<E: serde::de::Error>(self, v: bool) -> std::result::Result<Scalar, E> {
        Ok(Scalar::Bool(v))
    }
    fn visit_i64<E: serde::de::Error>(self, v: i64) -> std::result::Result<Scalar, E> {
        Ok(Scalar::Num(v.into()))
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> std::result::Result<Scalar, E> {
        Ok(Scalar::Num(v.into()))
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> std::result::Result<Scalar, E> {
        serde_json::Number::from_f64(v)
            .map(Scalar::Num)
            .ok_or_else(|| E::custom("number out of range"))
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> std::result::Result<Scalar, E> {
        Ok(Scalar::Str(v.to_owned()))
    }
    fn visit_string<E: serde::de::Error>(self, v: String) -> std::result::Result<Scalar, E> {
        Ok(Scalar::Str(v))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> std::result::Result<Scalar, A::Error> {
        use serde::de::Error as _;
        let wrong = || A::Error::custom(format!("invalid type: map, expected {}", self.0));
        let Some(key) = map.next_key::<String>()? else {
            return Err(wrong());
        };
        if key != "date" && key != "timestamp" {
            return Err(wrong());
        }
        let text: String = map.next_value()?;
        if map.next_key::<String>()?.is_some() {
            return Err(wrong());
        }
        Ok(Scalar::Map(key, text))
    }
}

/// Variables by name (used by the builder).
pub type Vars = BTreeMap<String, VarSource>;

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> (String, String) {
        match from_str(text).unwrap_err().kind() {
            ErrorKind::Json { pointer, message } => (pointer.clone(), message.clone()),
            other => panic!("expected a json error, got {other:?}"),
        }
    }

    #[test]
    fn syntax_errors_name_line_and_column() {
        let e = from_str("{\n  \"id\": \"x\",,\n}").unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::Syntax { line: 2, .. }), "{e}");
    }

    #[test]
    fn shape_errors_name_the_pointer() {
        let (p, m) = err(
            r#"{"id":"x","trigger":{"follow":{}},"steps":[{"id":"a","exit":{}},{"id":"b","send":{"messages":[],"bogus":1}}]}"#,
        );
        assert_eq!(p, "/steps/1/send/bogus");
        assert!(m.contains("unknown field `bogus`"), "{m}");

        let (p, m) = err(r#"{"id":"x","trigger":{"follow":{}},"steps":[{"id":"a","wait":{"for":"1h"},"exit":{}}]}"#);
        assert_eq!(p, "/steps/0");
        assert!(m.contains("exactly one of"), "{m}");

        let (p, _) = err(r#"{"id":"x","trigger":{"fllow":{}},"steps":[]}"#);
        assert_eq!(p, "/trigger");

        let (p, _) = err(r#"{"id":"x","trigger":{"follow":{}},"steps":[{"id":"w","wait":{"until_time":"25:00"}}]}"#);
        assert_eq!(p, "/steps/0/wait");

        let (p, _) = err(r#"{"id":"x","trigger":{"follow":{}},"entry":{"segment":{"all":[{"bad":1}]}},"steps":[]}"#);
        assert_eq!(p, "/entry/segment");

        let (p, m) = err(r#"{"id":"x","trigger":{"follow":{}}}"#);
        assert_eq!(p, "");
        assert!(m.contains("missing field `steps`"), "{m}");
    }

    #[test]
    fn many_prefixes_the_index() {
        let e = many_from_str(r#"[{"id":"a","trigger":{"follow":{}},"steps":[]},{"id":"b","trigger":{},"steps":[]}]"#)
            .unwrap_err();
        match e.kind() {
            ErrorKind::Json { pointer, .. } => assert!(pointer.starts_with("/1/trigger"), "{pointer}"),
            other => panic!("{other:?}"),
        }
    }
}
