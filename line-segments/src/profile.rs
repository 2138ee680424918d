//! Profiles: what the evaluator reads.
//!
//! The evaluator reads a profile through the [`ProfileView`] trait, so a host can hand it its own
//! typed structs without copying. [`Profile`] is an owned implementation, and the one the JSON Lines
//! format below parses into.
//!
//! # Profile JSON Lines format
//!
//! One profile per line (blank lines and lines starting with `#` are skipped):
//!
//! ```json
//! {"id": "U4af4980629...", "attributes": {"gender": "female", "interests": ["cosmetics"], "points": 1200,
//!   "vip": true, "birthday": {"date": "1990-05-03"}, "signup_at": {"timestamp": "2025-01-01T00:00:00Z"}},
//!  "line": {"is_friend": true, "blocked": false, "id_linked": true, "friend_since": "2025-01-01T00:00:00Z",
//!   "friend_source": "qr", "store": "shibuya"},
//!  "events": [{"name": "purchase", "at": "2026-05-01T10:00:00Z", "props": {"amount": 5000}}],
//!  "history_start": "2025-01-01T00:00:00Z"}
//! ```
//!
//! - `id` (required): the LINE user ID.
//! - `attributes`: first-party values. A string, number or boolean; an array of strings (a
//!   `string_set`); `{"date": …}` or `{"timestamp": …}`. `null` or absence means missing. When a
//!   schema is given, plain strings for `date` and `timestamp` attributes are accepted too.
//! - `line`: LINE facts, each optional.
//! - `events`: `name`, `at` (RFC 3339) and optional `props` (values as for attributes, but not arrays).
//! - `history_start`: events are complete from this instant on; earlier events may be missing. Absent
//!   means the history is complete. Aggregates over windows that start before it are partly unknown
//!   (see the crate docs).

use std::sync::Arc;

use jiff::civil::Date;
use jiff::Timestamp;
use line_core::ids::UserId;
use serde_json::{Map, Value as Json};

use crate::ast::LineFact;
use crate::error::{push_ptr, Error, ErrorKind, Place, Result};
use crate::schema::{AttrType, Schema};

/// An owned attribute or property value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Text.
    Str(String),
    /// A number.
    Num(f64),
    /// A boolean.
    Bool(bool),
    /// A calendar date.
    Date(Date),
    /// An instant.
    Time(Timestamp),
    /// A set of strings.
    Set(Vec<String>),
}

impl Value {
    /// Borrows the value.
    #[inline]
    pub fn as_ref(&self) -> ValueRef<'_> {
        match self {
            Value::Str(s) => ValueRef::Str(s),
            Value::Num(n) => ValueRef::Num(*n),
            Value::Bool(b) => ValueRef::Bool(*b),
            Value::Date(d) => ValueRef::Date(*d),
            Value::Time(t) => ValueRef::Time(*t),
            Value::Set(s) => ValueRef::Set(s),
        }
    }

    /// JSON form, as in the profile format.
    pub fn to_json(&self) -> Json {
        match self {
            Value::Str(s) => Json::String(s.clone()),
            Value::Num(n) => serde_json::Number::from_f64(*n).map(Json::Number).unwrap_or(Json::Null),
            Value::Bool(b) => Json::Bool(*b),
            Value::Date(d) => serde_json::json!({ "date": d.to_string() }),
            Value::Time(t) => serde_json::json!({ "timestamp": t.to_string() }),
            Value::Set(s) => serde_json::json!(s),
        }
    }
}

/// A borrowed attribute or property value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ValueRef<'a> {
    /// Text.
    Str(&'a str),
    /// A number.
    Num(f64),
    /// A boolean.
    Bool(bool),
    /// A calendar date.
    Date(Date),
    /// An instant.
    Time(Timestamp),
    /// A set of strings.
    Set(&'a [String]),
}

impl std::fmt::Display for ValueRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ValueRef::Str(s) => write!(f, "{}", serde_json::to_string(s).unwrap_or_default()),
            ValueRef::Num(n) => write!(f, "{n}"),
            ValueRef::Bool(b) => write!(f, "{b}"),
            ValueRef::Date(d) => write!(f, "{d}"),
            ValueRef::Time(t) => write!(f, "{t}"),
            ValueRef::Set(s) => write!(f, "{}", serde_json::to_string(s).unwrap_or_default()),
        }
    }
}

/// One event in a profile's history.
///
/// Names are `Arc<str>` so that millions of events can share one allocation per distinct name.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The event name, for example `purchase`.
    pub name: Arc<str>,
    /// When it happened.
    pub at: Timestamp,
    /// Its properties (a small list; looked up by linear scan).
    pub props: Vec<(Arc<str>, Value)>,
}

impl Event {
    /// An event without properties.
    pub fn new(name: impl Into<Arc<str>>, at: Timestamp) -> Self {
        Self {
            name: name.into(),
            at,
            props: Vec::new(),
        }
    }

    /// Adds a property.
    pub fn with(mut self, prop: impl Into<Arc<str>>, value: Value) -> Self {
        self.props.push((prop.into(), value));
        self
    }

    /// Looks a property up.
    #[inline(always)]
    pub fn prop(&self, name: &str) -> Option<&Value> {
        for (k, v) in &self.props {
            if str_eq(k, name) {
                return Some(v);
            }
        }
        None
    }
}

/// String equality tuned for the short names and values segments compare (event names, property
/// names, tags): short strings are compared as machine words, without a call to `memcmp`.
#[inline(always)]
pub fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let word = |s: &[u8], at: usize| -> u64 {
        s.get(at..at + 8)
            .and_then(|w| <[u8; 8]>::try_from(w).ok())
            .map(u64::from_le_bytes)
            .unwrap_or(0)
    };
    let half = |s: &[u8], at: usize| -> u32 {
        s.get(at..at + 4)
            .and_then(|w| <[u8; 4]>::try_from(w).ok())
            .map(u32::from_le_bytes)
            .unwrap_or(0)
    };
    match n {
        0..=3 => a.iter().zip(b).all(|(x, y)| x == y),
        4..=7 => half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4),
        8..=16 => word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8),
        _ => a == b,
    }
}

/// First-party attributes of a profile: a small map kept as a vector (compact for millions of
/// profiles; lookups scan it).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Attributes {
    entries: Vec<(Arc<str>, Value)>,
}

impl Attributes {
    /// No attributes.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets an attribute, replacing an earlier value.
    pub fn insert(&mut self, name: impl Into<Arc<str>>, value: Value) {
        let name = name.into();
        match self.entries.iter_mut().find(|(k, _)| *k == name) {
            Some(slot) => slot.1 = value,
            None => self.entries.push((name, value)),
        }
    }

    /// Looks an attribute up.
    #[inline(always)]
    pub fn get(&self, name: &str) -> Option<&Value> {
        for (k, v) in &self.entries {
            if str_eq(k, name) {
                return Some(v);
            }
        }
        None
    }

    /// Whether the attribute is set.
    pub fn contains_key(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Removes an attribute.
    pub fn remove(&mut self, name: &str) -> Option<Value> {
        let i = self.entries.iter().position(|(k, _)| **k == *name)?;
        Some(self.entries.swap_remove(i).1)
    }

    /// The number of attributes set.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no attribute is set.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The attributes, in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.entries.iter().map(|(k, v)| (&**k, v))
    }

    /// The entries, with their shared names.
    #[cfg(feature = "source")]
    pub(crate) fn entries(&self) -> &[(Arc<str>, Value)] {
        &self.entries
    }

    /// Attributes from entries with distinct names (as taken from other attributes).
    #[cfg(feature = "source")]
    pub(crate) fn from_entries(entries: Vec<(Arc<str>, Value)>) -> Self {
        Self { entries }
    }
}

/// LINE facts about a user (see [`LineFact`]). Each is optional: missing facts are unknown.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LineFacts {
    /// The user is a friend now.
    pub is_friend: Option<bool>,
    /// The user has blocked the account.
    pub blocked: Option<bool>,
    /// The user is ID-linked.
    pub id_linked: Option<bool>,
    /// When the user became a friend.
    pub friend_since: Option<Timestamp>,
    /// How the user became a friend (`qr`, `flyer`, `popup`, `store`, …).
    pub friend_source: Option<String>,
    /// Store.
    pub store: Option<String>,
}

impl LineFacts {
    /// Reads one fact.
    #[inline]
    pub fn get(&self, fact: LineFact) -> Option<ValueRef<'_>> {
        match fact {
            LineFact::IsFriend => self.is_friend.map(ValueRef::Bool),
            LineFact::Blocked => self.blocked.map(ValueRef::Bool),
            LineFact::IdLinked => self.id_linked.map(ValueRef::Bool),
            LineFact::FriendSince => self.friend_since.map(ValueRef::Time),
            LineFact::FriendSource => self.friend_source.as_deref().map(ValueRef::Str),
            LineFact::Store => self.store.as_deref().map(ValueRef::Str),
        }
    }
}

/// What the evaluator needs from a profile. Implement it on your own types to avoid copies.
pub trait ProfileView {
    /// The first-party attribute `name`. `slot` is the attribute's index in
    /// [`crate::eval::CompiledSegment::attributes`], so a host that lays values out in that order can
    /// skip the name lookup; a host that looks up by name can ignore it.
    fn attr(&self, slot: usize, name: &str) -> Option<ValueRef<'_>>;
    /// A LINE fact.
    fn line_fact(&self, fact: LineFact) -> Option<ValueRef<'_>>;
    /// The events (any order).
    fn events(&self) -> &[Event];
    /// Events are complete from this instant on; `None` means the history is complete.
    fn history_start(&self) -> Option<Timestamp> {
        None
    }
}

/// An owned profile.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// The LINE user ID.
    pub id: UserId,
    /// First-party attributes.
    pub attributes: Attributes,
    /// LINE facts.
    pub line: LineFacts,
    /// Events.
    pub events: Vec<Event>,
    /// Events are complete from this instant on; `None` means complete.
    pub history_start: Option<Timestamp>,
}

impl Profile {
    /// An empty profile.
    pub fn new(id: impl Into<UserId>) -> Self {
        Self {
            id: id.into(),
            attributes: Attributes::new(),
            line: LineFacts::default(),
            events: Vec::new(),
            history_start: None,
        }
    }

    /// Sets an attribute.
    pub fn with_attr(mut self, name: impl Into<Arc<str>>, value: Value) -> Self {
        self.attributes.insert(name.into(), value);
        self
    }

    /// Adds an event.
    pub fn with_event(mut self, event: Event) -> Self {
        self.events.push(event);
        self
    }

    /// Parses one profile from its JSON form (see the module docs). `schema` allows plain strings for
    /// date and timestamp attributes. Errors name the JSON pointer.
    pub fn from_json(value: &Json, schema: Option<&Schema>) -> Result<Self> {
        let obj = as_obj(value, "")?;
        for k in obj.keys() {
            if !["id", "attributes", "line", "events", "history_start"].contains(&k.as_str()) {
                return Err(Error::json(&push_ptr("", k), format!("unexpected key `{k}`")));
            }
        }
        let id = match obj.get("id") {
            Some(Json::String(s)) if !s.is_empty() => UserId::new(s.clone()),
            Some(_) => return Err(Error::json("/id", "expected a non-empty user id string")),
            None => return Err(Error::json("", "missing required key `id`")),
        };
        let mut p = Profile::new(id);
        if let Some(a) = obj.get("attributes") {
            for (k, v) in as_obj(a, "/attributes")? {
                let ptr = push_ptr("/attributes", k);
                let ty = schema.and_then(|s| s.attributes.get(k).copied());
                if let Some(v) = value_from_json(v, &ptr, ty, true)? {
                    p.attributes.insert(k.as_str(), v);
                }
            }
        }
        if let Some(l) = obj.get("line") {
            let lo = as_obj(l, "/line")?;
            for (k, v) in lo {
                let ptr = push_ptr("/line", k);
                let fact =
                    LineFact::from_name(k).ok_or_else(|| Error::json(&ptr, format!("unknown LINE fact `{k}`")))?;
                if v.is_null() {
                    continue;
                }
                match fact {
                    LineFact::IsFriend | LineFact::Blocked | LineFact::IdLinked => {
                        let b = v.as_bool().ok_or_else(|| Error::json(&ptr, "expected a boolean"))?;
                        match fact {
                            LineFact::IsFriend => p.line.is_friend = Some(b),
                            LineFact::Blocked => p.line.blocked = Some(b),
                            _ => p.line.id_linked = Some(b),
                        }
                    }
                    LineFact::FriendSince => p.line.friend_since = Some(timestamp(v, &ptr)?),
                    LineFact::FriendSource | LineFact::Store => {
                        let s = v
                            .as_str()
                            .ok_or_else(|| Error::json(&ptr, "expected a string"))?
                            .to_owned();
                        if fact == LineFact::Store {
                            p.line.store = Some(s);
                        } else {
                            p.line.friend_source = Some(s);
                        }
                    }
                }
            }
        }
        if let Some(evs) = obj.get("events") {
            let Json::Array(list) = evs else {
                return Err(Error::json("/events", "expected an array of events"));
            };
            for (i, e) in list.iter().enumerate() {
                let ep = push_ptr("/events", i);
                let eo = as_obj(e, &ep)?;
                for k in eo.keys() {
                    if !["name", "at", "props"].contains(&k.as_str()) {
                        return Err(Error::json(&push_ptr(&ep, k), format!("unexpected key `{k}`")));
                    }
                }
                let name = match eo.get("name") {
                    Some(Json::String(s)) if !s.is_empty() => s.clone(),
                    _ => return Err(Error::json(&push_ptr(&ep, "name"), "expected a non-empty event name")),
                };
                let at = timestamp(
                    eo.get("at")
                        .ok_or_else(|| Error::json(&ep, "missing required key `at`"))?,
                    &push_ptr(&ep, "at"),
                )?;
                let mut ev = Event::new(name.as_str(), at);
                if let Some(props) = eo.get("props") {
                    let pp = push_ptr(&ep, "props");
                    for (k, v) in as_obj(props, &pp)? {
                        let ty = schema.and_then(|s| s.events.get(&name)).and_then(|e| e.get(k)).copied();
                        if let Some(v) = value_from_json(v, &push_ptr(&pp, k), ty, false)? {
                            ev.props.push((k.as_str().into(), v));
                        }
                    }
                }
                p.events.push(ev);
            }
        }
        if let Some(h) = obj.get("history_start") {
            if !h.is_null() {
                p.history_start = Some(timestamp(h, "/history_start")?);
            }
        }
        Ok(p)
    }

    /// The JSON form (see the module docs).
    pub fn to_json(&self) -> Json {
        let mut line = Map::new();
        for f in LineFact::ALL {
            if let Some(v) = self.line.get(f) {
                line.insert(
                    f.name().into(),
                    match v {
                        ValueRef::Time(t) => Json::String(t.to_string()),
                        ValueRef::Str(s) => Json::String(s.into()),
                        ValueRef::Bool(b) => Json::Bool(b),
                        _ => Json::Null,
                    },
                );
            }
        }
        let mut obj = Map::new();
        obj.insert("id".into(), Json::String(self.id.to_string()));
        obj.insert(
            "attributes".into(),
            Json::Object(
                self.attributes
                    .iter()
                    .map(|(k, v)| (k.to_owned(), v.to_json()))
                    .collect(),
            ),
        );
        obj.insert("line".into(), Json::Object(line));
        obj.insert(
            "events".into(),
            Json::Array(
                self.events
                    .iter()
                    .map(|e| {
                        serde_json::json!({
                            "name": &*e.name,
                            "at": e.at.to_string(),
                            "props": Json::Object(e.props.iter().map(|(k, v)| (k.to_string(), v.to_json())).collect()),
                        })
                    })
                    .collect(),
            ),
        );
        if let Some(h) = self.history_start {
            obj.insert("history_start".into(), Json::String(h.to_string()));
        }
        Json::Object(obj)
    }
}

/// Parses profiles from JSON Lines text. Errors name the line and the pointer within it.
pub fn parse_jsonl(text: &str, schema: Option<&Schema>) -> Result<Vec<Profile>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let value: Json = serde_json::from_str(trimmed).map_err(|e| {
            Error::new(ErrorKind::Json {
                place: Place::Text {
                    line: i + 1,
                    column: e.column(),
                },
                message: crate::json::strip_serde_position(&e.to_string()),
            })
        })?;
        let p = Profile::from_json(&value, schema).map_err(|e| match e.into_kind() {
            ErrorKind::Json {
                place: Place::Pointer(pointer),
                message,
            } => Error::new(ErrorKind::Json {
                place: Place::JsonLine { line: i + 1, pointer },
                message,
            }),
            other => Error::new(other),
        })?;
        out.push(p);
    }
    Ok(out)
}

fn as_obj<'a>(v: &'a Json, ptr: &str) -> Result<&'a Map<String, Json>> {
    v.as_object().ok_or_else(|| Error::json(ptr, "expected an object"))
}

fn timestamp(v: &Json, ptr: &str) -> Result<Timestamp> {
    match v {
        Json::String(s) => s
            .parse()
            .map_err(|e| Error::json(ptr, format!("invalid RFC 3339 timestamp `{s}`: {e}"))),
        _ => Err(Error::json(ptr, "expected an RFC 3339 timestamp string")),
    }
}

fn value_from_json(v: &Json, ptr: &str, ty: Option<AttrType>, allow_set: bool) -> Result<Option<Value>> {
    Ok(Some(match v {
        Json::Null => return Ok(None),
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => Value::Num(
            n.as_f64()
                .filter(|f| f.is_finite())
                .ok_or_else(|| Error::json(ptr, "number out of range"))?,
        ),
        Json::String(s) => match ty {
            Some(AttrType::Timestamp) => Value::Time(
                s.parse()
                    .map_err(|e| Error::json(ptr, format!("invalid RFC 3339 timestamp `{s}`: {e}")))?,
            ),
            Some(AttrType::Date) => Value::Date(
                s.parse()
                    .map_err(|e| Error::json(ptr, format!("invalid date `{s}`: {e}")))?,
            ),
            _ => Value::Str(s.clone()),
        },
        Json::Array(items) if allow_set => Value::Set(
            items
                .iter()
                .enumerate()
                .map(|(i, x)| match x {
                    Json::String(s) => Ok(s.clone()),
                    _ => Err(Error::json(&push_ptr(ptr, i), "a set holds strings only")),
                })
                .collect::<Result<_>>()?,
        ),
        Json::Object(_) => match crate::json::literal_from_json(v, ptr)? {
            crate::ast::Literal::Date(d) => Value::Date(d),
            crate::ast::Literal::Time(t) => Value::Time(t),
            _ => return Err(Error::json(ptr, "expected {\"date\": …} or {\"timestamp\": …}")),
        },
        _ => {
            return Err(Error::json(
                ptr,
                "expected a string, number, boolean, date or timestamp",
            ))
        }
    }))
}

impl ProfileView for Profile {
    #[inline(always)]
    fn attr(&self, _slot: usize, name: &str) -> Option<ValueRef<'_>> {
        self.attributes.get(name).map(Value::as_ref)
    }
    #[inline]
    fn line_fact(&self, fact: LineFact) -> Option<ValueRef<'_>> {
        self.line.get(fact)
    }
    #[inline]
    fn events(&self) -> &[Event] {
        &self.events
    }
    fn history_start(&self) -> Option<Timestamp> {
        self.history_start
    }
}

impl<T: ProfileView + ?Sized> ProfileView for &T {
    fn attr(&self, slot: usize, name: &str) -> Option<ValueRef<'_>> {
        (**self).attr(slot, name)
    }
    fn line_fact(&self, fact: LineFact) -> Option<ValueRef<'_>> {
        (**self).line_fact(fact)
    }
    fn events(&self) -> &[Event] {
        (**self).events()
    }
    fn history_start(&self) -> Option<Timestamp> {
        (**self).history_start()
    }
}

impl<T: ProfileView + ?Sized> ProfileView for std::sync::Arc<T> {
    fn attr(&self, slot: usize, name: &str) -> Option<ValueRef<'_>> {
        (**self).attr(slot, name)
    }
    fn line_fact(&self, fact: LineFact) -> Option<ValueRef<'_>> {
        (**self).line_fact(fact)
    }
    fn events(&self) -> &[Event] {
        (**self).events()
    }
    fn history_start(&self) -> Option<Timestamp> {
        (**self).history_start()
    }
}
