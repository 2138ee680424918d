//! Events that cannot be read: `Event`'s `Deserialize`, and the one function both
//! parse paths use to decide an event they are not sure of (the reason is an
//! [`EventError`]).
//!
//! An event is first taken as plain JSON (a [`Buf`], which keeps every key
//! in order, repeated ones too); only a syntax error fails there, and it fails
//! the whole body. Then:
//! 1. a key repeated in any object of the event makes it invalid;
//! 2. otherwise the event is read strictly, its tags first; a missing or
//!    mistyped property makes it invalid.
//!
//! An invalid event becomes [`Event::Invalid`] with its JSON, the JSON pointer
//! of the failure (inside the event) and the reason. The serde path decides
//! every event this way; the direct reader only the events it gives up on, from
//! their text, so both give the same result.

use serde::de::{Deserialize, Deserializer, IntoDeserializer};

use super::event::Event;
use super::event_error::EventError;
use super::raw::RawJson;
use super::wire::{repeated_reason, Buf, Keys};
use crate::wire::pointer_from_path;

impl<'de> Deserialize<'de> for Event {
    /// Any JSON value: one that is not a readable event becomes
    /// [`Event::Invalid`]; only a syntax error fails.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(decide(Buf::deserialize(d)?, None))
    }
}

/// Decides one event from its JSON; `text` is its text when the caller has it
/// (it is then kept as the raw JSON of an invalid event).
pub(crate) fn decide(buf: Buf<'_>, text: Option<&str>) -> Event {
    let error = match repeated_key(&buf, &mut String::new()) {
        Some(error) => error,
        None => {
            let mut ordered = buf.clone();
            tags_first(&mut ordered);
            let d = IntoDeserializer::<serde_json::Error>::into_deserializer(ordered);
            match serde_path_to_error::deserialize::<_, Strict>(d) {
                Ok(Strict(event)) => return event,
                Err(e) => EventError {
                    pointer: pointer_from_path(e.path()),
                    reason: e.into_inner().to_string(),
                },
            }
        }
    };
    let kind = match &buf {
        // serde_json's view: the last `"type"`.
        Buf::Map(m) => m.iter().rev().find(|(k, _)| k == "type").and_then(|(_, v)| match v {
            Buf::Str(s) => Some(s.to_string()),
            _ => None,
        }),
        _ => None,
    };
    let raw = match text {
        Some(text) => RawJson::from_checked(text),
        None => {
            let mut out = String::new();
            write_buf(&buf, &mut out);
            RawJson::from_checked(&out)
        }
    };
    Event::Invalid {
        kind: kind.unwrap_or_default(),
        raw,
        error,
    }
}

/// An event read strictly (see [`Event::deserialize_strict`]).
struct Strict(Event);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Event::deserialize_strict(d).map(Strict)
    }
}

/// The first key repeated in an object of `v` (depth first, in document
/// order), as an error at its second occurrence. `at` is `v`'s pointer.
fn repeated_key(v: &Buf<'_>, at: &mut String) -> Option<EventError> {
    let len = at.len();
    let found = match v {
        Buf::Map(m) => {
            let mut keys = Keys::default();
            m.iter().find_map(|(k, v)| {
                at.truncate(len);
                at.push('/');
                at.push_str(&k.replace('~', "~0").replace('/', "~1"));
                if keys.first(std::borrow::Cow::Borrowed(k)) {
                    repeated_key(v, at)
                } else {
                    Some(EventError {
                        pointer: at.clone(),
                        reason: repeated_reason(k),
                    })
                }
            })
        }
        Buf::Seq(items) => items.iter().enumerate().find_map(|(i, v)| {
            at.truncate(len);
            at.push('/');
            at.push_str(&i.to_string());
            repeated_key(v, at)
        }),
        _ => None,
    };
    at.truncate(len);
    found
}

/// Moves each object's `"type"` to its front, so a union reads no property
/// before its tag and every error's path names its property.
fn tags_first(v: &mut Buf<'_>) {
    match v {
        Buf::Map(m) => {
            if let Some(i) = m.iter().position(|(k, _)| k == "type") {
                m[..=i].rotate_right(1);
            }
            m.iter_mut().for_each(|(_, v)| tags_first(v));
        }
        Buf::Seq(items) => items.iter_mut().for_each(tags_first),
        _ => {}
    }
}

/// Writes `v` as JSON text, every key kept, in order.
fn write_buf(v: &Buf<'_>, out: &mut String) {
    let string = |s: &str, out: &mut String| out.push_str(&serde_json::Value::from(s).to_string());
    match v {
        Buf::Null => out.push_str("null"),
        Buf::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Buf::U64(n) => out.push_str(&n.to_string()),
        Buf::I64(n) => out.push_str(&n.to_string()),
        Buf::F64(n) => out.push_str(&serde_json::Value::from(*n).to_string()),
        Buf::Str(s) => string(s, out),
        Buf::Seq(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_buf(v, out);
            }
            out.push(']');
        }
        Buf::Map(m) => {
            out.push('{');
            for (i, (k, v)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                string(k, out);
                out.push(':');
                write_buf(v, out);
            }
            out.push('}');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buf(text: &str) -> Buf<'_> {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn a_repeated_key_is_found_with_its_pointer() {
        for (text, pointer) in [
            (r#"{"a":1,"a":2}"#, Some("/a")),
            (r#"{"a":[{"x":1},{"y/~":1,"y/~":2}]}"#, Some("/a/1/y~1~0")),
            (r#"{"a":{"b":1},"c":{"b":1}}"#, None),
            (r#"[{"k":1},{"k":1}]"#, None),
        ] {
            let found = repeated_key(&buf(text), &mut String::new());
            assert_eq!(found.as_ref().map(EventError::pointer), pointer, "{text}");
        }
    }

    #[test]
    fn written_json_is_the_same_value_with_every_key() {
        let text = r#"{"a":[1,-2,2.5,"x\"y",null,true],"a":{"b":{}},"c":18446744073709551615}"#;
        let mut out = String::new();
        write_buf(&buf(text), &mut out);
        assert_eq!(out, text);
    }

    #[test]
    fn tags_move_to_the_front_and_nothing_else_moves() {
        let mut b = buf(r#"{"a":1,"b":{"x":1,"type":"t"},"type":"u","c":2}"#);
        tags_first(&mut b);
        let mut out = String::new();
        write_buf(&b, &mut out);
        assert_eq!(out, r#"{"type":"u","a":1,"b":{"type":"t","x":1},"c":2}"#);
    }
}
