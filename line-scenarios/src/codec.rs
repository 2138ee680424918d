//! The stored forms the SQLite and PostgreSQL stores share, so that both read and write one
//! format.
//!
//! Enrollments: the status as a name (`active`, or an exit reason's name), variables as
//! `[[name, value], …]`; [`refusal`] is the re-entry rule's answer from those columns.
//!
//! Profiles as JSON text. A value is tagged by its kind: `{"s": "gold"}`, `{"n": 1.5}` (finite
//! numbers), `{"nf": "inf"}` (infinities and NaN, as text), `{"b": true}`, `{"d": "2026-05-01"}`,
//! `{"t": "2026-05-01T00:00:00Z"}`, `{"set": ["vip"]}`, so every [`Value`] reads back exactly.
//! Attributes and event properties are ordered `[name, value]` pairs; an event is
//! `{"name", "at", "props"}`; LINE facts are one object with a key per fact (`null` when not
//! known). Text is read into and written from typed shapes directly, with no JSON value in
//! between.

use std::borrow::Cow;

use jiff::Timestamp;
use line_segments::profile::{Attributes, Event, LineFacts, Value};
use serde::{Deserialize, Serialize};

use crate::model::Reentry;
use crate::store::{ExitReason, Refusal, Status};

/// The error of a stored form that does not read back.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;
pub(crate) type R<T> = std::result::Result<T, BoxError>;

/// The stored name of an active enrollment's status (an exited one stores its reason's name).
pub(crate) const ACTIVE: &str = "active";

/// An enrollment's status from its stored name.
pub(crate) fn read_status(name: &str) -> R<Status> {
    match name {
        ACTIVE => Ok(Status::Active),
        other => ExitReason::from_name(other)
            .map(Status::Exited)
            .ok_or_else(|| format!("unknown enrollment status {other:?}").into()),
    }
}

/// An enrollment's variables as text.
pub(crate) fn vars(vars: &[(String, String)]) -> String {
    text(&vars)
}

/// An enrollment's variables from their text.
pub(crate) fn read_vars(text: &str) -> R<Vec<(String, String)>> {
    Ok(serde_json::from_str(text)?)
}

/// The re-entry rule's answer at `at` for a user whose latest enrollment has the stored
/// `status` and entered at `entered` (Unix seconds).
pub(crate) fn refusal(rule: Reentry, status: &str, entered: i64, at: Timestamp) -> Option<Refusal> {
    if status == ACTIVE {
        return Some(Refusal::AlreadyInside);
    }
    match rule {
        Reentry::Once => Some(Refusal::OnceOnly),
        Reentry::OncePer(w) if at.as_second().saturating_sub(entered) < w.secs() as i64 => Some(Refusal::TooSoon),
        _ => None,
    }
}

/// A [`Value`] as stored (externally tagged: a one-key object).
#[derive(Serialize, Deserialize)]
enum Stored<'a> {
    #[serde(rename = "s")]
    Str(Cow<'a, str>),
    #[serde(rename = "n")]
    Num(f64),
    #[serde(rename = "nf")]
    NonFinite(String),
    #[serde(rename = "b")]
    Bool(bool),
    #[serde(rename = "d")]
    Date(String),
    #[serde(rename = "t")]
    Time(String),
    #[serde(rename = "set")]
    Set(Cow<'a, [String]>),
}

impl<'a> From<&'a Value> for Stored<'a> {
    fn from(v: &'a Value) -> Self {
        match v {
            Value::Str(s) => Stored::Str(Cow::Borrowed(s)),
            Value::Num(n) if n.is_finite() => Stored::Num(*n),
            Value::Num(n) => Stored::NonFinite(n.to_string()),
            Value::Bool(b) => Stored::Bool(*b),
            Value::Date(d) => Stored::Date(d.to_string()),
            Value::Time(t) => Stored::Time(t.to_string()),
            Value::Set(s) => Stored::Set(Cow::Borrowed(s)),
        }
    }
}

/// A stored value as read: its errors say so.
struct Read(Stored<'static>);

impl<'de> Deserialize<'de> for Read {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        Stored::deserialize(d)
            .map(Read)
            .map_err(|e| serde::de::Error::custom(format_args!("not a stored profile value: {e}")))
    }
}

impl Read {
    fn into_value(self) -> R<Value> {
        let bad = |e: &dyn std::fmt::Display| format!("not a stored profile value: {e}");
        Ok(match self.0 {
            Stored::Str(s) => Value::Str(s.into_owned()),
            Stored::Num(n) => Value::Num(n),
            Stored::NonFinite(s) => Value::Num(s.parse().map_err(|e| bad(&e))?),
            Stored::Bool(b) => Value::Bool(b),
            Stored::Date(s) => Value::Date(s.parse().map_err(|e| bad(&e))?),
            Stored::Time(s) => Value::Time(s.parse().map_err(|e| bad(&e))?),
            Stored::Set(s) => Value::Set(s.into_owned()),
        })
    }
}

/// Named values in order, `[[name, value], …]`: values are [`Stored`] to write, [`Read`] to read.
type Pairs<'a, V> = Vec<(Cow<'a, str>, V)>;

fn pairs<'a>(it: impl Iterator<Item = (&'a str, &'a Value)>) -> Pairs<'a, Stored<'a>> {
    it.map(|(k, v)| (Cow::Borrowed(k), Stored::from(v))).collect()
}

/// An event as stored.
#[derive(Serialize, Deserialize)]
struct StoredEvent<'a, V> {
    name: Cow<'a, str>,
    at: String,
    props: Pairs<'a, V>,
}

/// LINE facts as stored.
#[derive(Serialize, Deserialize)]
struct StoredLine<'a> {
    is_friend: Option<bool>,
    blocked: Option<bool>,
    id_linked: Option<bool>,
    friend_since: Option<String>,
    friend_source: Option<Cow<'a, str>>,
    store: Option<Cow<'a, str>>,
}

/// The shapes here hold strings, booleans, finite numbers and sequences only, which
/// serde_json always writes: the error arm cannot be taken.
fn text<T: Serialize>(shape: &T) -> String {
    serde_json::to_string(shape).unwrap_or_default()
}

/// Attributes as text.
pub(crate) fn attributes(a: &Attributes) -> String {
    text(&pairs(a.iter()))
}

/// Attributes from their text.
pub(crate) fn read_attributes(text: &str) -> R<Attributes> {
    let mut a = Attributes::new();
    for (k, v) in serde_json::from_str::<Pairs<'_, Read>>(text)? {
        a.insert(k.into_owned(), v.into_value()?);
    }
    Ok(a)
}

/// An event as text.
pub(crate) fn event(e: &Event) -> String {
    text(&StoredEvent {
        name: Cow::Borrowed(&e.name),
        at: e.at.to_string(),
        props: pairs(e.props.iter().map(|(k, v)| (&**k, v))),
    })
}

/// An event from its text.
pub(crate) fn read_event(text: &str) -> R<Event> {
    let s: StoredEvent<'_, Read> = serde_json::from_str(text)?;
    let at: Timestamp = s.at.parse()?;
    let mut e = Event::new(s.name.into_owned(), at);
    for (k, v) in s.props {
        e = e.with(k.into_owned(), v.into_value()?);
    }
    Ok(e)
}

/// LINE facts as text.
pub(crate) fn line(l: &LineFacts) -> String {
    text(&StoredLine {
        is_friend: l.is_friend,
        blocked: l.blocked,
        id_linked: l.id_linked,
        friend_since: l.friend_since.map(|t| t.to_string()),
        friend_source: l.friend_source.as_deref().map(Cow::Borrowed),
        store: l.store.as_deref().map(Cow::Borrowed),
    })
}

/// LINE facts from their text (a fact left out is not known).
pub(crate) fn read_line(text: &str) -> R<LineFacts> {
    let s: StoredLine<'_> = serde_json::from_str(text)?;
    Ok(LineFacts {
        is_friend: s.is_friend,
        blocked: s.blocked,
        id_linked: s.id_linked,
        friend_since: s.friend_since.map(|t| t.parse()).transpose()?,
        friend_source: s.friend_source.map(Cow::into_owned),
        store: s.store.map(Cow::into_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn re_entry_rules() {
        let at: Timestamp = "2026-05-10T00:00:00Z".parse().unwrap();
        let day = 86_400;
        let entered = at.as_second() - 5 * day;
        assert_eq!(
            refusal(Reentry::NotWhileInside, ACTIVE, entered, at),
            Some(Refusal::AlreadyInside)
        );
        assert_eq!(
            refusal(Reentry::Once, "completed", entered, at),
            Some(Refusal::OnceOnly)
        );
        assert_eq!(refusal(Reentry::NotWhileInside, "goal", entered, at), None);
        let w = line_segments::Window::days(6);
        assert_eq!(
            refusal(Reentry::OncePer(w), "goal", entered, at),
            Some(Refusal::TooSoon)
        );
        let w = line_segments::Window::days(5);
        assert_eq!(refusal(Reentry::OncePer(w), "goal", entered, at), None);
    }

    #[test]
    fn enrollment_columns_read_back_and_reject_what_is_not_theirs() {
        assert_eq!(read_status(ACTIVE).unwrap(), Status::Active);
        for reason in [
            ExitReason::Completed,
            ExitReason::Goal,
            ExitReason::Unfollowed,
            ExitReason::Stopped,
        ] {
            assert_eq!(read_status(reason.name()).unwrap(), Status::Exited(reason));
        }
        assert!(read_status("paused").is_err());
        let v = vec![
            ("name".to_owned(), "Ann \"A\"".to_owned()),
            ("coupon".to_owned(), String::new()),
        ];
        assert_eq!(read_vars(&vars(&v)).unwrap(), v);
        assert_eq!(vars(&[]), "[]");
        assert!(read_vars("{}").is_err());
    }

    fn values() -> Vec<Value> {
        vec![
            Value::Str("a \"b\"".into()),
            Value::Num(1.0 / 3.0),
            Value::Num(5000.0),
            Value::Num(f64::INFINITY),
            Value::Num(f64::NEG_INFINITY),
            Value::Bool(false),
            Value::Date("2026-02-28".parse().unwrap()),
            Value::Time("2026-05-01T00:00:00.123456789Z".parse().unwrap()),
            Value::Set(vec!["x".into(), "y".into()]),
        ]
    }

    #[test]
    fn profile_values_round_trip_exactly() {
        let mut a = Attributes::new();
        for (i, v) in values().into_iter().enumerate() {
            a.insert(format!("a{i}"), v);
        }
        assert_eq!(read_attributes(&attributes(&a)).unwrap(), a);
        let mut nan = Attributes::new();
        nan.insert("x", Value::Num(f64::NAN));
        let nan = read_attributes(&attributes(&nan)).unwrap();
        assert!(matches!(nan.get("x"), Some(Value::Num(n)) if n.is_nan()));
        let e = Event::new("purchase", "2026-05-01T00:00:00.5Z".parse().unwrap())
            .with("amount", Value::Num(5000.0))
            .with("items", Value::Set(vec!["cream".into()]));
        assert_eq!(read_event(&event(&e)).unwrap(), e);
        let l = LineFacts {
            is_friend: Some(true),
            friend_since: Some("2026-01-01T00:00:00Z".parse().unwrap()),
            store: Some("shibuya".into()),
            ..Default::default()
        };
        assert_eq!(read_line(&line(&l)).unwrap(), l);
        assert_eq!(read_line(&line(&LineFacts::default())).unwrap(), LineFacts::default());
    }

    /// The stored form is the one both stores have always written (rows written before keep
    /// reading back).
    #[test]
    fn the_stored_text_keeps_its_form() {
        let mut a = Attributes::new();
        a.insert("tier", Value::Str("gold".into()));
        a.insert("points", Value::Num(120.0));
        a.insert("inf", Value::Num(f64::INFINITY));
        a.insert("vip", Value::Bool(true));
        a.insert("birthday", Value::Date("2000-02-29".parse().unwrap()));
        a.insert("seen", Value::Time("2026-05-01T00:00:00Z".parse().unwrap()));
        a.insert("tags", Value::Set(vec!["vip".into()]));
        let text = attributes(&a);
        for part in [
            r#"["tier",{"s":"gold"}]"#,
            r#"["points",{"n":120.0}]"#,
            r#"["inf",{"nf":"inf"}]"#,
            r#"["vip",{"b":true}]"#,
            r#"["birthday",{"d":"2000-02-29"}]"#,
            r#"["seen",{"t":"2026-05-01T00:00:00Z"}]"#,
            r#"["tags",{"set":["vip"]}]"#,
        ] {
            assert!(text.contains(part), "{part} in {text}");
        }
        let old = r#"[["points",{"n":120}],["inf",{"nf":"-inf"}],["d",{"d":"2026-02-28"}]]"#;
        let read = read_attributes(old).unwrap();
        assert_eq!(read.get("points"), Some(&Value::Num(120.0)));
        assert_eq!(read.get("inf"), Some(&Value::Num(f64::NEG_INFINITY)));
        let e =
            read_event(r#"{"at":"2026-05-01T00:00:00Z","name":"purchase","props":[["amount",{"n":5000}]]}"#).unwrap();
        assert_eq!(e.prop("amount"), Some(&Value::Num(5000.0)));
        let l = read_line(r#"{"blocked":null,"friend_since":"2026-01-01T00:00:00Z","is_friend":true}"#).unwrap();
        assert_eq!((l.is_friend, l.blocked, l.store), (Some(true), None, None));
        assert_eq!(read_line("{}").unwrap(), LineFacts::default());
    }

    #[test]
    fn malformed_text_is_an_error() {
        for bad in [
            r#"[["a",{"zz":1}]]"#,
            r#"[["a",{"d":"2026-13-01"}]]"#,
            r#"[["a",{"nf":"many"}]]"#,
            r#"[["a"]]"#,
            r#"{"a":{"s":"x"}}"#,
            "not json",
        ] {
            assert!(read_attributes(bad).is_err(), "{bad}");
        }
        for bad_value in [r#"{"zz":1}"#, r#"{"d":"2026-13-01"}"#, r#"{"nf":"many"}"#, r#"{"s":1}"#] {
            let e = read_attributes(&format!(r#"[["a",{bad_value}]]"#)).unwrap_err();
            assert!(e.to_string().contains("not a stored profile value"), "{bad_value}: {e}");
        }
        assert!(read_event(r#"{"name":"x","props":[]}"#).is_err(), "no time");
        assert!(read_event(r#"{"name":"x","at":"yesterday","props":[]}"#).is_err());
        assert!(read_line(r#"{"friend_since":"soon"}"#).is_err());
    }
}
