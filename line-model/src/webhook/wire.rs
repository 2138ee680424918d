//! The serde plumbing of the webhook model: the model's own
//! ([`crate::wire`]), except that an object may not repeat a key.
//!
//! A JSON object with a repeated key has no one meaning: serde_json keeps the
//! last value, a streaming reader may act on the first (a union's `"type"`
//! picks the variant before the second one is seen). A webhook body must not
//! have one, so that the typed result, the JSON kept of unknown parts and
//! serde_json's own view always agree. Events are checked as a whole (see
//! `invalid.rs`); this module checks the request object itself: its
//! properties, and the values of the properties the model does not know.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use smallvec::SmallVec;

pub(crate) use crate::wire::*;

/// The keys of one object seen so far: a short list, a set past sixteen (so
/// an object with many keys is not quadratic).
#[derive(Default)]
pub(crate) struct Keys<'a> {
    few: SmallVec<[Cow<'a, str>; 8]>,
    many: HashSet<Cow<'a, str>>,
}

impl<'a> Keys<'a> {
    /// Records `key`; `false` when it was seen before.
    pub(crate) fn first(&mut self, key: Cow<'a, str>) -> bool {
        if !self.many.is_empty() {
            return self.many.insert(key);
        }
        if self.few.contains(&key) {
            return false;
        }
        if self.few.len() == 16 {
            self.many.extend(self.few.drain(..));
            return self.many.insert(key);
        }
        self.few.push(key);
        true
    }
}

/// The reason given for a repeated key.
pub(crate) fn repeated_reason(key: &str) -> String {
    format!("repeated key `{key}`")
}

/// Fails at the value of a repeated key, so the error's path names it.
struct Repeated<'a>(&'a str);

impl<'de> DeserializeSeed<'de> for Repeated<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, _: D) -> Result<(), D::Error> {
        Err(de::Error::custom(repeated_reason(self.0)))
    }
}

struct FieldSeed<'a, F> {
    fields: &'a mut F,
    key: &'a str,
}

impl<'de, F: Fields> DeserializeSeed<'de> for FieldSeed<'_, F> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        self.fields.field(self.key, d)
    }
}

struct ObjectVisitor<F>(&'static str, PhantomData<F>);

impl<'de, F: Fields> Visitor<'de> for ObjectVisitor<F> {
    type Value = F::Output;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let article = if self.0.starts_with(['A', 'E', 'I', 'O', 'U']) {
            "an"
        } else {
            "a"
        };
        write!(f, "{article} {} object", self.0)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<F::Output, A::Error> {
        let mut fields = F::default();
        let mut keys = Keys::default();
        while let Some(key) = map.next_key::<Key<'de>>()? {
            if !keys.first(key.0.clone()) {
                map.next_value_seed(Repeated(&key.0))?;
            }
            map.next_value_seed(FieldSeed {
                fields: &mut fields,
                key: &key.0,
            })?;
        }
        fields.finish()
    }
}

/// Deserializes a struct through its `Fields` builder; a repeated key is an
/// error at that key.
pub(crate) fn deserialize_object<'de, D: Deserializer<'de>, F: Fields>(
    d: D,
    name: &'static str,
) -> Result<F::Output, D::Error> {
    d.deserialize_map(ObjectVisitor::<F>(name, PhantomData))
}

/// A property the model does not know: its value, in which no object may
/// repeat a key either.
pub(crate) fn other<'de, D: Deserializer<'de>>(extra: &mut crate::Extra, key: &str, d: D) -> Result<(), D::Error> {
    extra.insert(key.to_owned(), d.deserialize_any(StrictValue)?);
    Ok(())
}

/// A JSON value in which no object repeats a key.
struct StrictValue;

impl<'de> DeserializeSeed<'de> for StrictValue {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictValue {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(StrictValue)? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        let mut keys = Keys::default();
        while let Some(key) = map.next_key::<Key<'de>>()? {
            if !keys.first(key.0.clone()) {
                map.next_value_seed(Repeated(&key.0))?;
            }
            let v = map.next_value_seed(StrictValue)?;
            out.insert(key.0.into_owned(), v);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_find_repeats_in_short_and_long_objects() {
        for n in [3usize, 16, 17, 40] {
            let mut keys = Keys::default();
            for i in 0..n {
                assert!(keys.first(Cow::Owned(format!("k{i}"))), "{n}: k{i}");
            }
            for i in 0..n {
                assert!(!keys.first(Cow::Owned(format!("k{i}"))), "{n}: k{i} again");
            }
        }
    }
}
