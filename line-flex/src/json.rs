//! Reading the typed model from `serde_json::Value` with JSON-pointer tracking,
//! and the macros that generate parsing, serialization, checking and setters
//! for every Flex object from one field list.
//!
//! Parsing is lossless: properties this crate does not model go into each
//! object's `extra` map, and component or action types it does not know (or
//! that are not allowed where they appear) are kept as raw JSON in an
//! `Unknown` variant. Only JSON of the wrong type and missing required
//! properties are parse errors; everything else is reported by `validate()`.

use serde_json::{Map, Value};

use crate::error::Error;

/// Properties of an object that this crate does not model, kept verbatim.
pub type Extra = Map<String, Value>;

/// One step of a JSON pointer.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Seg {
    Key(&'static str),
    Index(usize),
}

/// A JSON pointer under construction, kept as a stack of steps so that
/// walking a document allocates nothing until a pointer is printed.
#[derive(Debug, Clone, Default)]
pub(crate) struct Path(Vec<Seg>);

impl Path {
    pub(crate) fn new() -> Self {
        Self(Vec::with_capacity(16))
    }

    pub(crate) fn push_key(&mut self, key: &'static str) {
        self.0.push(Seg::Key(key));
    }

    pub(crate) fn push_index(&mut self, index: usize) {
        self.0.push(Seg::Index(index));
    }

    pub(crate) fn pop(&mut self) {
        self.0.pop();
    }

    /// Refuses documents nested deeper than [`MAX_NESTING_DEPTH`](crate::limits::MAX_NESTING_DEPTH).
    pub(crate) fn check_depth(&self) -> Result<(), Error> {
        if self.0.len() > crate::limits::MAX_NESTING_DEPTH {
            Err(Error::structure(
                self.pointer(),
                format!(
                    "the document is nested more than {} levels deep",
                    crate::limits::MAX_NESTING_DEPTH
                ),
            ))
        } else {
            Ok(())
        }
    }

    /// The pointer as RFC 6901 text (`""` for the root).
    pub(crate) fn pointer(&self) -> String {
        let mut out = String::new();
        for seg in &self.0 {
            out.push('/');
            match seg {
                Seg::Key(k) => push_escaped(&mut out, k),
                Seg::Index(i) => out.push_str(&i.to_string()),
            }
        }
        out
    }

    /// The pointer with one more key appended.
    pub(crate) fn pointer_with(&self, key: &str) -> String {
        let mut out = self.pointer();
        out.push('/');
        push_escaped(&mut out, key);
        out
    }
}

pub(crate) fn push_escaped(out: &mut String, key: &str) {
    for c in key.chars() {
        match c {
            '~' => out.push_str("~0"),
            '/' => out.push_str("~1"),
            c => out.push(c),
        }
    }
}

/// Name of a JSON value's type, for error messages.
pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

pub(crate) fn mismatch(v: &Value, expected: &str, p: &Path) -> Error {
    Error::structure(p.pointer(), format!("expected {expected}, found {}", type_name(v)))
}

/// Reading one typed value out of JSON.
pub(crate) trait FromJson: Sized {
    fn from_json(v: Value, p: &mut Path) -> Result<Self, Error>;
}

pub(crate) fn expect_object(v: Value, p: &Path) -> Result<Map<String, Value>, Error> {
    match v {
        Value::Object(m) => Ok(m),
        other => Err(mismatch(&other, "an object", p)),
    }
}

pub(crate) fn expect_string(v: Value, p: &Path) -> Result<String, Error> {
    match v {
        Value::String(s) => Ok(s),
        other => Err(mismatch(&other, "a string", p)),
    }
}

impl FromJson for String {
    fn from_json(v: Value, p: &mut Path) -> Result<Self, Error> {
        expect_string(v, p)
    }
}

impl FromJson for bool {
    fn from_json(v: Value, p: &mut Path) -> Result<Self, Error> {
        match v {
            Value::Bool(b) => Ok(b),
            other => Err(mismatch(&other, "a boolean", p)),
        }
    }
}

impl FromJson for u32 {
    fn from_json(v: Value, p: &mut Path) -> Result<Self, Error> {
        match v.as_u64().and_then(|n| u32::try_from(n).ok()) {
            Some(n) => Ok(n),
            None => Err(mismatch(&v, "a non-negative integer", p)),
        }
    }
}

impl FromJson for Value {
    fn from_json(v: Value, _p: &mut Path) -> Result<Self, Error> {
        Ok(v)
    }
}

impl<T: FromJson> FromJson for Vec<T> {
    fn from_json(v: Value, p: &mut Path) -> Result<Self, Error> {
        match v {
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.into_iter().enumerate() {
                    p.push_index(i);
                    out.push(T::from_json(item, p)?);
                    p.pop();
                }
                Ok(out)
            }
            other => Err(mismatch(&other, "an array", p)),
        }
    }
}

/// Removes a constant property (`"type": "box"`) and checks its value.
pub(crate) fn expect_tag(
    obj: &mut Map<String, Value>,
    key: &'static str,
    expected: &'static str,
    p: &Path,
) -> Result<(), Error> {
    match obj.remove(key) {
        Some(Value::String(s)) if s == expected => Ok(()),
        Some(other) => Err(Error::structure(
            p.pointer_with(key),
            format!("expected \"{expected}\", found {}", display_value(&other)),
        )),
        None => Err(Error::structure(
            p.pointer(),
            format!("missing required property \"{key}\""),
        )),
    }
}

/// A short rendering of a JSON value for error messages.
pub(crate) fn display_value(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        other => type_name(other).to_owned(),
    }
}

/// A field that reads and writes more than one JSON property (a box's
/// `layout` together with its `contents`).
pub(crate) trait Flat: Sized {
    fn take(obj: &mut Map<String, Value>, p: &mut Path) -> Result<Self, Error>;
    fn ser<M: serde::ser::SerializeMap>(&self, m: &mut M) -> Result<(), M::Error>;
}

/// A stand-in value for a required field of a freshly made object; builders
/// overwrite it right away.
pub(crate) trait Placeholder {
    fn placeholder() -> Self;
}

impl Placeholder for String {
    fn placeholder() -> Self {
        String::new()
    }
}

impl<T> Placeholder for Vec<T> {
    fn placeholder() -> Self {
        Vec::new()
    }
}

macro_rules! field_ty {
    (req $t:ty) => { $t };
    (flat $t:ty) => { $t };
    (opt $t:ty) => { Option<$t> };
    (val $t:ty) => { Option<$t> };
    (plain $t:ty) => { Option<$t> };
}
pub(crate) use field_ty;

macro_rules! field_blank {
    (req $t:ty) => {
        <$t as $crate::json::Placeholder>::placeholder()
    };
    (flat $t:ty) => {
        <$t as $crate::json::Placeholder>::placeholder()
    };
    (opt $t:ty) => {
        None
    };
    (val $t:ty) => {
        None
    };
    (plain $t:ty) => {
        None
    };
}
pub(crate) use field_blank;

macro_rules! slot_require {
    (req, $obj:ident, $p:ident, $json:literal) => {
        if !$obj.contains_key($json) {
            return Err($crate::error::Error::structure(
                $p.pointer(),
                concat!("missing required property \"", $json, "\""),
            ));
        }
    };
    ($k:ident, $obj:ident, $p:ident, $json:literal) => {};
}
pub(crate) use slot_require;

macro_rules! slot_take {
    (flat, $out:ident, $f:ident, $t:ty, $obj:ident, $p:ident) => {
        $out.$f = <$t as $crate::json::Flat>::take(&mut $obj, $p)?;
    };
    ($k:ident, $out:ident, $f:ident, $t:ty, $obj:ident, $p:ident) => {};
}
pub(crate) use slot_take;

macro_rules! slot_set {
    (flat, $out:ident, $f:ident, $t:ty, $key:ident, $v:ident, $p:ident, $json:literal) => {{
        $out.extra.insert($key, $v);
    }};
    (req, $out:ident, $f:ident, $t:ty, $key:ident, $v:ident, $p:ident, $json:literal) => {{
        $p.push_key($json);
        $out.$f = <$t as $crate::json::FromJson>::from_json($v, $p)?;
        $p.pop();
    }};
    ($k:ident, $out:ident, $f:ident, $t:ty, $key:ident, $v:ident, $p:ident, $json:literal) => {{
        if $v.is_null() {
            // An explicit `null` is not a value of the field; keep it verbatim.
            $out.extra.insert($key, $v);
        } else {
            $p.push_key($json);
            $out.$f = Some(<$t as $crate::json::FromJson>::from_json($v, $p)?);
            $p.pop();
        }
    }};
}
pub(crate) use slot_set;

macro_rules! ser_field {
    (req, $m:ident, $v:expr, $json:literal) => {
        serde::ser::SerializeMap::serialize_entry(&mut $m, $json, $v)?;
    };
    (flat, $m:ident, $v:expr, $json:literal) => {
        $crate::json::Flat::ser($v, &mut $m)?;
    };
    ($k:ident, $m:ident, $v:expr, $json:literal) => {
        if let Some(x) = $v {
            serde::ser::SerializeMap::serialize_entry(&mut $m, $json, x)?;
        }
    };
}
pub(crate) use ser_field;

macro_rules! check_field {
    (flat, $cx:ident, $v:expr, $json:literal) => {
        $crate::validate::Check::check($v, $cx);
    };
    (req, $cx:ident, $v:expr, $json:literal) => {
        $cx.path.push_key($json);
        $crate::validate::Check::check($v, $cx);
        $cx.path.pop();
    };
    ($k:ident, $cx:ident, $v:expr, $json:literal) => {
        if let Some(x) = $v {
            $cx.path.push_key($json);
            $crate::validate::Check::check(x, $cx);
            $cx.path.pop();
        }
    };
}
pub(crate) use check_field;

macro_rules! setter {
    (opt, $f:ident, $t:ty, $json:literal) => {
        #[doc = concat!("Sets `", $json, "`.")]
        #[must_use]
        pub fn $f(mut self, value: impl Into<$t>) -> Self {
            self.$f = Some(value.into());
            self
        }
    };
    (val, $f:ident, $t:ty, $json:literal) => {
        #[doc = concat!("Sets `", $json, "`.")]
        #[must_use]
        pub fn $f(mut self, value: $t) -> Self {
            self.$f = Some(value);
            self
        }
    };
    ($k:ident, $f:ident, $t:ty, $json:literal) => {};
}
pub(crate) use setter;

/// Defines a Flex object: the struct (with an `extra` map for unknown
/// properties), lossless parsing, serialization, the generic part of
/// validation, and one builder setter per optional property.
///
/// Field kinds: `req` (required), `opt` (optional, setter takes
/// `impl Into<T>`), `val` (optional, setter takes `T`), `flat` (a
/// [`Flat`] field spanning several properties).
macro_rules! flex_object {
    (
        $(#[$meta:meta])*
        pub struct $name:ident [$($tk:literal = $tv:literal),*] {
            $(
                $(#[$fmeta:meta])*
                $field:ident : $kind:ident $ty:ty = $json:literal
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        #[non_exhaustive]
        pub struct $name {
            $(
                $(#[$fmeta])*
                pub $field: $crate::json::field_ty!($kind $ty),
            )*
            /// Properties this crate does not model, kept verbatim so that they survive a round trip.
            pub extra: $crate::json::Extra,
        }

        impl $name {
            /// An object with every optional property unset.
            pub(crate) fn blank() -> Self {
                Self { $( $field: $crate::json::field_blank!($kind $ty), )* extra: $crate::json::Extra::new() }
            }

            $( $crate::json::setter!($kind, $field, $ty, $json); )*

            /// Adds a property this crate does not model (it is serialized after the known ones).
            #[must_use]
            pub fn extra_property(mut self, key: impl Into<String>, value: serde_json::Value) -> Self {
                self.extra.insert(key.into(), value);
                self
            }
        }

        impl $crate::json::FromJson for $name {
            #[allow(unused_mut)]
            fn from_json(v: serde_json::Value, p: &mut $crate::json::Path) -> Result<Self, $crate::error::Error> {
                let mut obj = $crate::json::expect_object(v, p)?;
                $( $crate::json::expect_tag(&mut obj, $tk, $tv, p)?; )*
                $( $crate::json::slot_require!($kind, obj, p, $json); )*
                let mut out = Self::blank();
                $( $crate::json::slot_take!($kind, out, $field, $ty, obj, p); )*
                for (key, value) in obj {
                    match key.as_str() {
                        $( $json => $crate::json::slot_set!($kind, out, $field, $ty, key, value, p, $json), )*
                        _ => {
                            out.extra.insert(key, value);
                        }
                    }
                }
                Ok(out)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut m = serde::Serializer::serialize_map(serializer, None)?;
                $( serde::ser::SerializeMap::serialize_entry(&mut m, $tk, $tv)?; )*
                $( $crate::json::ser_field!($kind, m, &self.$field, $json); )*
                for (k, v) in &self.extra {
                    serde::ser::SerializeMap::serialize_entry(&mut m, k, v)?;
                }
                serde::ser::SerializeMap::end(m)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let v = <serde_json::Value as serde::Deserialize>::deserialize(d)?;
                <Self as $crate::json::FromJson>::from_json(v, &mut $crate::json::Path::new())
                    .map_err(<D::Error as serde::de::Error>::custom)
            }
        }

        impl $crate::validate::Check for $name {
            fn check(&self, cx: &mut $crate::validate::Cx<'_>) {
                $crate::validate::Rules::enter(self, cx);
                $( $crate::json::check_field!($kind, cx, &self.$field, $json); )*
                $crate::validate::Rules::rules(self, cx);
            }
        }
    };
}
pub(crate) use flex_object;

/// Defines an open string enum: known keywords plus `Unknown(String)`.
macro_rules! open_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $var:ident = $s:literal ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* $var, )*
            /// A keyword this crate does not know, kept verbatim (`validate()` reports it).
            Unknown(String),
        }

        impl $name {
            /// Every keyword LINE documents, as LINE spells it.
            pub const KNOWN: &'static [&'static str] = &[$($s),*];

            /// The keyword as LINE spells it.
            pub fn as_str(&self) -> &str {
                match self {
                    $( Self::$var => $s, )*
                    Self::Unknown(s) => s,
                }
            }

            /// Reads a keyword; one this crate does not know is kept in `Unknown`.
            pub fn from_keyword(s: &str) -> Self {
                match s {
                    $( $s => Self::$var, )*
                    other => Self::Unknown(other.to_owned()),
                }
            }

            #[allow(dead_code)]
            pub(crate) fn from_owned(s: String) -> Self {
                match s.as_str() {
                    $( $s => Self::$var, )*
                    _ => Self::Unknown(s),
                }
            }

            /// Whether this is a keyword LINE documents.
            pub fn is_known(&self) -> bool {
                !matches!(self, Self::Unknown(_))
            }

            #[allow(dead_code)]
            pub(crate) fn expected() -> String {
                Self::KNOWN.join(", ")
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::error::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match Self::from_keyword(s) {
                    Self::Unknown(_) => Err($crate::error::Error::invalid_value(
                        s,
                        concat!("one of: ", $($s, " "),*),
                    )),
                    known => Ok(known),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl $crate::json::FromJson for $name {
            fn from_json(v: serde_json::Value, p: &mut $crate::json::Path) -> Result<Self, $crate::error::Error> {
                $crate::json::expect_string(v, p).map(Self::from_owned)
            }
        }

        impl $crate::validate::Check for $name {
            fn check(&self, cx: &mut $crate::validate::Cx<'_>) {
                if let Self::Unknown(s) = self {
                    cx.error(format!("unknown keyword {:?}; expected one of: {}", s, Self::expected()));
                }
            }
        }
    };
}
pub(crate) use open_enum;

/// Defines a tagged union over `type` with an `Unknown(Value)` case that
/// keeps anything else verbatim. The unknown case is checked by the enum's
/// `UnknownRule` implementation.
macro_rules! tagged_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $var:ident($ty:ty) = $tag:literal ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        #[non_exhaustive]
        // Components are built once and then serialized or walked by reference; boxing the
        // variants would add an allocation per component and make matching clumsier.
        #[allow(clippy::large_enum_variant)]
        pub enum $name {
            $( $(#[$vmeta])* $var($ty), )*
            /// A type this crate does not know, or one that is not allowed here, kept verbatim
            /// (`validate()` reports it).
            Unknown(serde_json::Value),
        }

        impl $name {
            /// The `type` property as written.
            pub fn type_name(&self) -> Option<&str> {
                match self {
                    $( Self::$var(_) => Some($tag), )*
                    Self::Unknown(v) => v.get("type").and_then(serde_json::Value::as_str),
                }
            }
        }

        $(
            impl From<$ty> for $name {
                fn from(x: $ty) -> Self {
                    Self::$var(x)
                }
            }
        )*

        impl $crate::json::FromJson for $name {
            fn from_json(v: serde_json::Value, p: &mut $crate::json::Path) -> Result<Self, $crate::error::Error> {
                if !v.is_object() {
                    return Err($crate::json::mismatch(&v, "an object", p));
                }
                p.check_depth()?;
                let tag = match v.get("type") {
                    Some(serde_json::Value::String(s)) => s.as_str(),
                    _ => "",
                };
                match tag {
                    $( $tag => <$ty as $crate::json::FromJson>::from_json(v, p).map(Self::$var), )*
                    _ => Ok(Self::Unknown(v)),
                }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                match self {
                    $( Self::$var(x) => x.serialize(serializer), )*
                    Self::Unknown(v) => v.serialize(serializer),
                }
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let v = <serde_json::Value as serde::Deserialize>::deserialize(d)?;
                <Self as $crate::json::FromJson>::from_json(v, &mut $crate::json::Path::new())
                    .map_err(<D::Error as serde::de::Error>::custom)
            }
        }

        impl $crate::validate::Check for $name {
            fn check(&self, cx: &mut $crate::validate::Cx<'_>) {
                match self {
                    $( Self::$var(x) => $crate::validate::Check::check(x, cx), )*
                    Self::Unknown(v) => <Self as $crate::validate::UnknownRule>::unknown(v, cx),
                }
            }
        }
    };
}
pub(crate) use tagged_enum;
