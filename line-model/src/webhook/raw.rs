//! [`RawObject`]: the JSON of a webhook object of a kind this version does not
//! know; [`RawJson`]: the JSON of an event that could not be read.

use std::fmt;

use serde_json::{Map, Value};

/// The JSON text of an object of an unknown kind (an event type, message
/// type or source type newer than this version), kept as it came: every
/// property, in its order, with its spelling.
///
/// Nothing is parsed until asked for: [`to_map`](Self::to_map) and
/// [`get`](Self::get) read the text each time they are called. Two raw
/// objects are equal when they hold the same JSON value (as
/// `serde_json::Map`s), whatever their spelling. Serializing writes that
/// value.
///
/// ```
/// use line_model::webhook::{parse, Event};
///
/// let body = br#"{"events":[{"type":"brandNew","timestamp":1,"extra":{"a":[1,2]}}]}"#;
/// let Event::Unknown { kind, raw } = &parse(body)?.events[0] else { unreachable!() };
/// assert_eq!(kind, "brandNew");
/// assert_eq!(raw.as_str(), r#"{"type":"brandNew","timestamp":1,"extra":{"a":[1,2]}}"#);
/// assert_eq!(raw.get("extra").unwrap()["a"][1], 2);
/// # Ok::<(), line_model::webhook::ParseError>(())
/// ```
#[derive(Clone)]
pub struct RawObject(Box<str>);

impl RawObject {
    /// Takes text already checked to be one JSON object.
    pub(crate) fn from_checked(text: &str) -> Self {
        Self(text.into())
    }

    /// The object's JSON text, as it came.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The object's properties. A repeated key keeps its last value.
    pub fn to_map(&self) -> Map<String, Value> {
        // The text is always one JSON object (checked on the way in, or
        // written from a map), so this does not fail.
        serde_json::from_str(&self.0).unwrap_or_default()
    }

    /// The value of one property, if the object has it.
    pub fn get(&self, key: &str) -> Option<Value> {
        self.to_map().remove(key)
    }
}

impl crate::wire::RawMap for RawObject {
    fn raw_map(&self) -> std::borrow::Cow<'_, Map<String, Value>> {
        std::borrow::Cow::Owned(self.to_map())
    }
}

impl From<Map<String, Value>> for RawObject {
    fn from(map: Map<String, Value>) -> Self {
        Self(Value::Object(map).to_string().into())
    }
}

impl PartialEq for RawObject {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0 || self.to_map() == other.to_map()
    }
}

impl fmt::Debug for RawObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RawObject").field(&&*self.0).finish()
    }
}

impl fmt::Display for RawObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl serde::Serialize for RawObject {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_map().serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for RawObject {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Map::deserialize(d).map(Self::from)
    }
}

/// The JSON text of an event that could not be read (see
/// [`Event::Invalid`](super::Event::Invalid)), kept as it came: any JSON
/// value, usually an object.
///
/// Like [`RawObject`], nothing is parsed until asked for, two are equal when
/// they hold the same JSON value, and serializing writes that value (a
/// repeated key keeps its last value, as serde_json reads it).
#[derive(Clone)]
pub struct RawJson(Box<str>);

impl RawJson {
    /// Takes text already checked to be one JSON value.
    pub(crate) fn from_checked(text: &str) -> Self {
        Self(text.into())
    }

    /// The JSON text, as it came.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The JSON value.
    pub fn to_value(&self) -> Value {
        // The text is always one JSON value (checked on the way in).
        serde_json::from_str(&self.0).unwrap_or_default()
    }

    /// The properties, when the value is an object (empty otherwise). A
    /// repeated key keeps its last value.
    pub fn to_map(&self) -> Map<String, Value> {
        match self.to_value() {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    /// The value of one property, if the value is an object that has it.
    pub fn get(&self, key: &str) -> Option<Value> {
        self.to_map().remove(key)
    }
}

impl PartialEq for RawJson {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0 || self.to_value() == other.to_value()
    }
}

impl fmt::Debug for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RawJson").field(&&*self.0).finish()
    }
}

impl fmt::Display for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl serde::Serialize for RawJson {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_value().serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_by_value_not_by_spelling() {
        let a: RawObject = serde_json::from_str(r#"{"b":1,"a":"x"}"#).unwrap();
        let b = RawObject::from_checked(r#"{ "a" : "\u0078", "b" : 1 }"#);
        assert_eq!(a, b);
        assert_ne!(a, RawObject::from_checked(r#"{"a":"x","b":2}"#));
        assert_eq!(serde_json::to_value(&b).unwrap(), serde_json::json!({"a": "x", "b": 1}));
        assert_eq!(format!("{b:?}"), r#"RawObject("{ \"a\" : \"\\u0078\", \"b\" : 1 }")"#);
        assert_eq!(b.to_string(), b.as_str());
    }

    #[test]
    fn a_repeated_key_reads_as_its_last_value() {
        let raw = RawObject::from_checked(r#"{"k":1,"k":2}"#);
        assert_eq!(raw.get("k"), Some(Value::from(2)));
        assert_eq!(raw.get("missing"), None);
        assert_eq!(raw.as_str(), r#"{"k":1,"k":2}"#);
    }

    #[test]
    fn raw_json_holds_any_value_and_compares_by_value() {
        let a = RawJson::from_checked(r#"{"k":1,"k":2,"t":"x"}"#);
        assert_eq!(a, RawJson::from_checked(r#"{ "t":"\u0078","k":2 }"#));
        assert_eq!(a.get("k"), Some(Value::from(2)));
        assert_eq!(serde_json::to_value(&a).unwrap(), serde_json::json!({"k": 2, "t": "x"}));
        let n = RawJson::from_checked("5");
        assert_eq!(n.to_value(), Value::from(5));
        assert!(n.to_map().is_empty());
        assert_ne!(n, RawJson::from_checked("5.0"));
        assert_eq!(n.to_string(), "5");
    }
}
