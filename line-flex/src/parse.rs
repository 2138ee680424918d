//! Reading a Flex document from JSON into `line_model`'s types, with a JSON
//! pointer on every error.
//!
//! The bytes are read into a `serde_json::Value` first, which gives syntax
//! errors their line and column and lets two checks run before the typed
//! parse: the nesting depth (hostile input must not exhaust the stack) and the
//! `type` of the objects whose place fixes their kind (a carousel's bubbles,
//! a bubble's blocks, a text's spans), which the model's structs do not read.
//! The typed parse then runs over the value with `serde_path_to_error`,
//! presenting each object's `type` first so that the model's unions never
//! have to buffer properties (whose errors would lose their place).

use serde::de::value::BorrowedStrDeserializer;
use serde::de::{self, DeserializeOwned, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::forward_to_deserialize_any;
use serde_json::{Map, Value};

use crate::container::Document;
use crate::error::Error;
use crate::limits::MAX_NESTING_DEPTH;
use crate::validate::{push_escaped, Path};

/// Parses a document from bytes. See [`parse_document`](crate::parse_document).
pub(crate) fn document(bytes: &[u8]) -> Result<Document, Error> {
    let v: Value = serde_json::from_slice(bytes).map_err(Error::syntax)?;
    from_value(&v)
}

/// Parses a document from a JSON value.
pub(crate) fn from_value(v: &Value) -> Result<Document, Error> {
    let Value::Object(obj) = v else {
        return Err(mismatch(
            v,
            "a flex message, a bubble or a carousel (an object)",
            &Path::new(),
        ));
    };
    let mut p = Path::new();
    match obj.get("type").and_then(Value::as_str) {
        Some("flex") => {
            if let Some(c) = obj.get("contents") {
                p.push_key("contents");
                container_tags(c, &mut p)?;
            }
            typed(v).map(Document::Message)
        }
        Some("bubble" | "carousel") => {
            container_tags(v, &mut p)?;
            typed(v).map(Document::Container)
        }
        Some(other) => Err(Error::structure(
            "/type".to_owned(),
            format!("expected \"flex\", \"bubble\" or \"carousel\", found {other:?}"),
        )),
        None => Err(Error::structure(String::new(), "missing required property \"type\"")),
    }
}

/// The typed parse, with the pointer of the first error.
fn typed<T: DeserializeOwned>(v: &Value) -> Result<T, Error> {
    serde_path_to_error::deserialize(TypeFirst(v)).map_err(|e| {
        let mut pointer = String::new();
        for seg in e.path().iter() {
            match seg {
                serde_path_to_error::Segment::Seq { index } => {
                    pointer.push('/');
                    pointer.push_str(&index.to_string());
                }
                serde_path_to_error::Segment::Map { key } => {
                    pointer.push('/');
                    push_escaped(&mut pointer, key);
                }
                _ => {}
            }
        }
        let inner = e.into_inner();
        let msg = inner.to_string();
        let reason = match msg.strip_prefix("missing field `").and_then(|r| r.strip_suffix('`')) {
            Some(field) => format!("missing required property \"{field}\""),
            None => msg,
        };
        Error::structure(pointer, reason).with_source(inner)
    })
}

/// Name of a JSON value's type, for error messages.
fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn mismatch(v: &Value, expected: &str, p: &Path) -> Error {
    Error::structure(p.pointer(), format!("expected {expected}, found {}", type_name(v)))
}

// ------------------------------------------------------------ pre-checks

/// Refuses an object nested deeper than [`MAX_NESTING_DEPTH`] steps.
fn depth(p: &Path) -> Result<(), Error> {
    if p.len() > MAX_NESTING_DEPTH {
        Err(Error::structure(
            p.pointer(),
            format!("the document is nested more than {MAX_NESTING_DEPTH} levels deep"),
        ))
    } else {
        Ok(())
    }
}

/// Checks that the object at a place whose kind is fixed says so in `type`.
fn expect_tag(obj: &Map<String, Value>, expected: &str, p: &Path) -> Result<(), Error> {
    match obj.get("type") {
        Some(Value::String(s)) if s == expected => Ok(()),
        Some(Value::String(s)) => Err(Error::structure(
            p.pointer_with("type"),
            format!("expected \"{expected}\", found {s:?}"),
        )),
        Some(other) => Err(Error::structure(
            p.pointer_with("type"),
            format!("expected \"{expected}\", found {}", type_name(other)),
        )),
        None => Err(Error::structure(p.pointer(), "missing required property \"type\"")),
    }
}

/// Runs `f` on each item of an array property; other shapes are left to the typed parse.
fn each(
    obj: &Map<String, Value>,
    key: &'static str,
    p: &mut Path,
    mut f: impl FnMut(&Value, &mut Path) -> Result<(), Error>,
) -> Result<(), Error> {
    if let Some(Value::Array(items)) = obj.get(key) {
        p.push_key(key);
        for (i, item) in items.iter().enumerate() {
            p.push_index(i);
            f(item, p)?;
            p.pop();
        }
        p.pop();
    }
    Ok(())
}

fn at(
    obj: &Map<String, Value>,
    key: &'static str,
    p: &mut Path,
    f: impl FnOnce(&Value, &mut Path) -> Result<(), Error>,
) -> Result<(), Error> {
    if let Some(v) = obj.get(key) {
        p.push_key(key);
        f(v, p)?;
        p.pop();
    }
    Ok(())
}

fn container_tags(v: &Value, p: &mut Path) -> Result<(), Error> {
    let Value::Object(obj) = v else { return Ok(()) };
    match obj.get("type").and_then(Value::as_str) {
        Some("bubble") => bubble_tags(obj, p),
        Some("carousel") => each(obj, "contents", p, |b, p| match b {
            Value::Object(b) => {
                expect_tag(b, "bubble", p)?;
                bubble_tags(b, p)
            }
            _ => Ok(()),
        }),
        _ => Ok(()),
    }
}

fn bubble_tags(obj: &Map<String, Value>, p: &mut Path) -> Result<(), Error> {
    for key in ["header", "body", "footer"] {
        at(obj, key, p, |b, p| match b {
            Value::Object(b) => {
                expect_tag(b, "box", p)?;
                component_tags(b, p)
            }
            _ => Ok(()),
        })?;
    }
    at(obj, "hero", p, |h, p| match h {
        Value::Object(h) => component_tags(h, p),
        _ => Ok(()),
    })
}

fn component_tags(obj: &Map<String, Value>, p: &mut Path) -> Result<(), Error> {
    depth(p)?;
    match obj.get("type").and_then(Value::as_str) {
        Some("box") => each(obj, "contents", p, |c, p| match c {
            Value::Object(c) => component_tags(c, p),
            _ => Ok(()),
        }),
        Some("text") => each(obj, "contents", p, |s, p| match s {
            Value::Object(s) => expect_tag(s, "span", p),
            _ => Ok(()),
        }),
        Some("video") => at(obj, "altContent", p, |a, p| match a {
            Value::Object(a) => component_tags(a, p),
            _ => Ok(()),
        }),
        _ => Ok(()),
    }
}

// ------------------------------------------------------------ type first

/// A deserializer over a `&Value` that presents each object's `type` first.
struct TypeFirst<'a>(&'a Value);

impl<'de> de::Deserializer<'de> for TypeFirst<'de> {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::Object(m) => visitor.visit_map(TypeFirstMap {
                first: m.get_key_value("type"),
                iter: m.iter(),
                value: None,
                len: m.len(),
            }),
            Value::Array(a) => visitor.visit_seq(TypeFirstSeq(a.iter())),
            other => de::Deserializer::deserialize_any(other, visitor),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        de::Deserializer::deserialize_enum(self.0, name, variants, visitor)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

struct TypeFirstMap<'a> {
    first: Option<(&'a String, &'a Value)>,
    iter: serde_json::map::Iter<'a>,
    value: Option<&'a Value>,
    len: usize,
}

impl<'de> MapAccess<'de> for TypeFirstMap<'de> {
    type Error = serde_json::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Self::Error> {
        let (k, v) = match self.first.take() {
            Some(kv) => kv,
            None => loop {
                match self.iter.next() {
                    Some((k, _)) if k == "type" => {}
                    Some(kv) => break kv,
                    None => return Ok(None),
                }
            },
        };
        self.len = self.len.saturating_sub(1);
        self.value = Some(v);
        seed.deserialize(BorrowedStrDeserializer::new(k.as_str())).map(Some)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, Self::Error> {
        match self.value.take() {
            Some(v) => seed.deserialize(TypeFirst(v)),
            None => Err(de::Error::custom("a value was read before its key")),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.len)
    }
}

struct TypeFirstSeq<'a>(std::slice::Iter<'a, Value>);

impl<'de> SeqAccess<'de> for TypeFirstSeq<'de> {
    type Error = serde_json::Error;

    fn next_element_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<Option<S::Value>, Self::Error> {
        self.0.next().map(|v| seed.deserialize(TypeFirst(v))).transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

impl<'de> serde::Deserialize<'de> for Document {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        from_value(&v).map_err(<D::Error as de::Error>::custom)
    }
}

impl Document {
    /// Parses a document, detecting whether it is a bubble, a carousel or a
    /// whole flex message. See [`parse_document`](crate::parse_document).
    pub fn parse(bytes: &[u8]) -> Result<Self, Error> {
        document(bytes)
    }

    /// Reads a document from a JSON value, as [`parse`](Self::parse) does.
    pub fn from_value(v: serde_json::Value) -> Result<Self, Error> {
        from_value(&v)
    }
}
