//! Serde plumbing shared by the generated model.
//!
//! Structs stream their fields straight from the deserializer into a
//! `Fields` builder, so parsing never buffers a whole object; properties the
//! model does not know go to `extra`. Tagged unions look for their tag: when
//! it comes first (the usual case) the rest of the object streams into the
//! variant; properties seen before the tag are buffered (borrowing their
//! strings) and replayed once the tag is known, so the result does not depend
//! on where the tag is.

use std::borrow::Cow;
use std::marker::PhantomData;

use serde::de::{self, DeserializeOwned, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};

/// Declares an open string enum: known values plus `Unknown(String)`.
#[macro_export]
#[doc(hidden)]
macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $var:ident = $s:literal),* $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, PartialEq, Eq, Hash, Debug)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vm])* $var,)*
            /// A value this version does not know, kept as it came.
            Unknown(String),
        }

        impl $name {
            /// The value as LINE spells it.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$var => $s,)*
                    Self::Unknown(s) => s,
                }
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                match s {
                    $($s => Self::$var,)*
                    other => Self::Unknown(other.to_owned()),
                }
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                match s.as_str() {
                    $($s => Self::$var,)*
                    _ => Self::Unknown(s),
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::convert::Infallible;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Ok(Self::from(s))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl $crate::wire::StrEnum for $name {
            fn as_wire_str(&self) -> &str {
                self.as_str()
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <$crate::wire::Key as serde::Deserialize>::deserialize(d)?;
                Ok(match &*s.0 {
                    $($s => Self::$var,)*
                    _ => Self::Unknown(s.0.into_owned()),
                })
            }
        }
    };
}
pub use crate::string_enum;

/// Implemented by every open string enum, and by `str` (so a plain string
/// goes wherever one of them does, as in a query string).
pub trait StrEnum {
    /// The value as LINE spells it.
    fn as_wire_str(&self) -> &str;
}

impl StrEnum for str {
    fn as_wire_str(&self) -> &str {
        self
    }
}

impl<T: StrEnum + ?Sized> StrEnum for &T {
    fn as_wire_str(&self) -> &str {
        (**self).as_wire_str()
    }
}

/// A string that borrows from the input when it can.
pub struct Key<'de>(pub Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// A struct under construction, fed one property at a time.
pub trait Fields: Default {
    type Output;
    /// Takes the value of property `key` from `d`.
    fn field<'de, D: Deserializer<'de>>(&mut self, key: &str, d: D) -> Result<(), D::Error>;
    /// Checks required properties and builds the struct.
    fn finish<E: de::Error>(self) -> Result<Self::Output, E>;
}

/// A required property.
pub fn req<'de, D: Deserializer<'de>, T: Deserialize<'de>>(slot: &mut Option<T>, d: D) -> Result<(), D::Error> {
    *slot = Some(T::deserialize(d)?);
    Ok(())
}

/// An optional property. An explicit `null` is kept in `extra` so it
/// serializes back as `null`.
pub fn opt<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    slot: &mut Option<T>,
    extra: &mut crate::Extra,
    key: &str,
    d: D,
) -> Result<(), D::Error> {
    match Option::<T>::deserialize(d)? {
        Some(v) => {
            *slot = Some(v);
            if extra.has(key) {
                extra.remove(key);
            }
        }
        None => {
            *slot = None;
            extra.insert(key.to_owned(), Value::Null);
        }
    }
    Ok(())
}

/// A property the model does not know.
pub fn other<'de, D: Deserializer<'de>>(extra: &mut crate::Extra, key: &str, d: D) -> Result<(), D::Error> {
    extra.insert(key.to_owned(), Value::deserialize(d)?);
    Ok(())
}

/// The tag of a variant struct read on its own: it must name the struct's
/// own kind (a `TextMessage` is not read from `{"type": "image", …}`).
pub fn tag<'de, D: Deserializer<'de>>(d: D, expected: &'static str) -> Result<(), D::Error> {
    let found = Key::deserialize(d)?;
    if found.0 == expected {
        Ok(())
    } else {
        Err(de::Error::custom(format_args!(
            "expected {expected:?}, found {:?}",
            found.0
        )))
    }
}

/// Writes the unknown properties after the known ones.
pub fn serialize_extra<M: serde::ser::SerializeMap>(m: &mut M, extra: &Map<String, Value>) -> Result<(), M::Error> {
    for (k, v) in extra {
        m.serialize_entry(k, v)?;
    }
    Ok(())
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

fn read_fields<'de, A: MapAccess<'de>, F: Fields>(fields: &mut F, map: &mut A) -> Result<(), A::Error> {
    while let Some(key) = map.next_key::<Key<'de>>()? {
        map.next_value_seed(FieldSeed {
            fields: &mut *fields,
            key: &key.0,
        })?;
    }
    Ok(())
}

struct ObjectVisitor<F>(&'static str, PhantomData<F>);

impl<'de, F: Fields> Visitor<'de> for ObjectVisitor<F> {
    type Value = F::Output;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        expecting(f, self.0)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<F::Output, A::Error> {
        let mut fields = F::default();
        read_fields(&mut fields, &mut map)?;
        fields.finish()
    }
}

/// What a visitor of the object `name` expects: "a Message object".
pub fn expecting(f: &mut std::fmt::Formatter<'_>, name: &str) -> std::fmt::Result {
    let article = if name.starts_with(['A', 'E', 'I', 'O', 'U']) {
        "an"
    } else {
        "a"
    };
    write!(f, "{article} {name} object")
}

/// Deserializes a struct through its `Fields` builder.
pub fn deserialize_object<'de, D: Deserializer<'de>, F: Fields>(
    d: D,
    name: &'static str,
) -> Result<F::Output, D::Error> {
    d.deserialize_map(ObjectVisitor::<F>(name, PhantomData))
}

/// Properties read before a union's tag was found.
pub type Pending<'de> = Vec<(Cow<'de, str>, Buf<'de>)>;

/// A JSON value buffered without copying the strings it can borrow: the
/// properties a union reads before its tag are kept this way and replayed
/// into the variant once the tag is known.
#[derive(Debug, Clone)]
pub enum Buf<'de> {
    Null,
    Bool(bool),
    U64(u64),
    I64(i64),
    F64(f64),
    Str(Cow<'de, str>),
    Seq(Vec<Buf<'de>>),
    Map(Vec<(Cow<'de, str>, Buf<'de>)>),
}

impl<'de> Deserialize<'de> for Buf<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Buf<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Buf<'de>, E> {
                Ok(Buf::Null)
            }
            fn visit_none<E: de::Error>(self) -> Result<Buf<'de>, E> {
                Ok(Buf::Null)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Buf<'de>, D::Error> {
                Buf::deserialize(d)
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Buf<'de>, E> {
                Ok(Buf::Bool(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Buf<'de>, E> {
                Ok(Buf::U64(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Buf<'de>, E> {
                Ok(Buf::I64(v))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Buf<'de>, E> {
                Ok(Buf::F64(v))
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Buf<'de>, E> {
                Ok(Buf::Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Buf<'de>, E> {
                Ok(Buf::Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Buf<'de>, E> {
                Ok(Buf::Str(Cow::Owned(v)))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Buf<'de>, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
                while let Some(v) = seq.next_element::<Buf<'de>>()? {
                    out.push(v);
                }
                Ok(Buf::Seq(out))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Buf<'de>, A::Error> {
                let mut out = Vec::new();
                while let Some(k) = map.next_key::<Key<'de>>()? {
                    out.push((k.0, map.next_value::<Buf<'de>>()?));
                }
                Ok(Buf::Map(out))
            }
        }
        d.deserialize_any(V)
    }
}

impl Buf<'_> {
    fn into_value(self) -> Value {
        match self {
            Buf::Null => Value::Null,
            Buf::Bool(b) => Value::Bool(b),
            Buf::U64(n) => Value::from(n),
            Buf::I64(n) => Value::from(n),
            Buf::F64(n) => serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number),
            Buf::Str(s) => Value::String(s.into_owned()),
            Buf::Seq(v) => Value::Array(v.into_iter().map(Buf::into_value).collect()),
            Buf::Map(m) => Value::Object(m.into_iter().map(|(k, v)| (k.into_owned(), v.into_value())).collect()),
        }
    }
}

/// Replays a [`Buf`] as a deserializer whose errors are `E`.
pub struct BufDe<'de, E>(Buf<'de>, PhantomData<E>);

impl<'de, E: de::Error> de::IntoDeserializer<'de, E> for Buf<'de> {
    type Deserializer = BufDe<'de, E>;
    fn into_deserializer(self) -> BufDe<'de, E> {
        BufDe(self, PhantomData)
    }
}

impl<'de, E: de::Error> Deserializer<'de> for BufDe<'de, E> {
    type Error = E;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        use de::value::{MapDeserializer, SeqDeserializer};
        match self.0 {
            Buf::Null => visitor.visit_unit(),
            Buf::Bool(b) => visitor.visit_bool(b),
            Buf::U64(n) => visitor.visit_u64(n),
            Buf::I64(n) => visitor.visit_i64(n),
            Buf::F64(n) => visitor.visit_f64(n),
            Buf::Str(Cow::Borrowed(s)) => visitor.visit_borrowed_str(s),
            Buf::Str(Cow::Owned(s)) => visitor.visit_string(s),
            Buf::Seq(v) => {
                let mut seq = SeqDeserializer::new(v.into_iter());
                let out = visitor.visit_seq(&mut seq)?;
                seq.end()?;
                Ok(out)
            }
            Buf::Map(m) => {
                let mut map = MapDeserializer::new(m.into_iter().map(|(k, v)| (Buf::Str(k), v)));
                let out = visitor.visit_map(&mut map)?;
                map.end()?;
                Ok(out)
            }
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        match self.0 {
            Buf::Null => visitor.visit_none(),
            other => visitor.visit_some(BufDe(other, PhantomData)),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, E> {
        match self.0 {
            Buf::Str(s) => visitor.visit_enum(de::value::CowStrDeserializer::new(s)),
            other => BufDe(other, PhantomData).deserialize_any(visitor),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _name: &'static str, visitor: V) -> Result<V::Value, E> {
        visitor.visit_newtype_struct(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

/// Reads a union object up to its tag, buffering the properties before it
/// in `pending`. Returns the tag; `map` is left positioned after it.
pub fn find_tag_into<'de, A: MapAccess<'de>>(
    map: &mut A,
    tag: &'static str,
    pending: &mut Pending<'de>,
) -> Result<Cow<'de, str>, A::Error> {
    while let Some(key) = map.next_key::<Key<'de>>()? {
        if key.0 == tag {
            return Ok(map.next_value::<Key<'de>>()?.0);
        }
        if pending.is_empty() {
            pending.reserve(8);
        }
        let value = map.next_value::<Buf<'de>>()?;
        pending.push((key.0, value));
    }
    Err(de::Error::missing_field(tag))
}

/// Finishes a known variant: replays the buffered properties, reads the rest
/// of the map, and checks required fields.
pub fn finish_variant_with<'de, A: MapAccess<'de>, F: Fields>(
    mut fields: F,
    other: Pending<'de>,
    mut map: A,
) -> Result<F::Output, A::Error> {
    for (k, v) in other {
        fields
            .field(&k, de::IntoDeserializer::<A::Error>::into_deserializer(v))
            .map_err(|e| de::Error::custom(format_args!("{k}: {e}")))?;
    }
    read_fields(&mut fields, &mut map)?;
    fields.finish()
}

/// Keeps an unknown variant whole: the properties read before the tag, the
/// tag, and the rest.
pub fn finish_unknown<'de, A: MapAccess<'de>>(
    mut map: A,
    tag_name: &str,
    tag: &str,
    other: Pending<'de>,
) -> Result<Map<String, Value>, A::Error> {
    let mut raw = Map::new();
    for (k, v) in other {
        raw.insert(k.into_owned(), v.into_value());
    }
    raw.insert(tag_name.to_owned(), Value::String(tag.to_owned()));
    while let Some(key) = map.next_key::<String>()? {
        let value = map.next_value::<Value>()?;
        raw.insert(key, value);
    }
    Ok(raw)
}

/// The JSON object an unknown union kind keeps: a map here, the webhook
/// layer's text.
pub trait RawMap {
    /// The object as a map.
    fn raw_map(&self) -> Cow<'_, Map<String, Value>>;
}

impl RawMap for Map<String, Value> {
    fn raw_map(&self) -> Cow<'_, Map<String, Value>> {
        Cow::Borrowed(self)
    }
}

/// A common property of an unknown variant, parsed from its raw JSON.
pub fn from_raw<T: DeserializeOwned + Clone, R: RawMap + ?Sized>(raw: &R, key: &str) -> Option<Cow<'static, T>> {
    raw.raw_map()
        .get(key)
        .and_then(|v| T::deserialize(v).ok())
        .map(Cow::Owned)
}

/// Turns a `serde_path_to_error` path (`a.b[2].c`) into a JSON pointer
/// (`/a/b/2/c`), escaping `~` and `/` in keys.
pub fn pointer_from_path(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for seg in path.iter() {
        out.push('/');
        match seg {
            Segment::Seq { index } => out.push_str(&index.to_string()),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                out.push_str(&key.replace('~', "~0").replace('/', "~1"))
            }
            Segment::Unknown => out.push('?'),
        }
    }
    out
}

/// serde_json's message without the " at line X column Y" suffix, which a
/// JSON pointer replaces; the position is kept in a separate clause.
pub fn strip_position(e: &serde_json::Error) -> String {
    let full = e.to_string();
    match full.rfind(" at line ") {
        Some(i) if e.line() > 0 => {
            format!("{} (line {}, column {})", &full[..i], e.line(), e.column())
        }
        _ => full,
    }
}
