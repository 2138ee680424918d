//! The declarative forms the generated model is written in.
//!
//! The generator (`cargo xtask codegen`) writes one invocation per type that
//! lists its fields; these macros expand it into the type and its serde
//! impls, written here once:
//!
//! - [`wire_struct!`](crate::wire_struct): a struct with `extra`, its
//!   constructor, its `Fields` builder (the streaming deserializer fills it)
//!   and its serializer.
//! - [`wire_union!`](crate::wire_union): a tagged union with an
//!   `Unknown { kind, raw }` case, `From` impls, `kind()`, the accessors of
//!   properties every kind has, and its serde impls.
//! - [`string_enum!`](crate::string_enum) (in `wire`): an open string enum.
//!
//! The expansions name a module `wire` that must be in scope where they are
//! invoked: the model's own plumbing ([`crate::wire`]), or a module that
//! re-exports it and changes what it must (the webhook layer's refuses
//! repeated keys).

/// Declares a wire struct: its fields, in JSON order, each `req` (always
/// present) or `opt` (may be absent; `None` is not written), with its Rust
/// name, type and JSON key. A variant of a tagged union names its tag after
/// the builder: `[tag "type" = "text"]`.
///
/// Expands to the struct (with `extra` for properties it does not know), a
/// constructor taking the required fields (`Default` when there are none),
/// the `Fields` builder, `Deserialize` (streaming, lossless; a tag read with
/// the struct must be its own, so a `TextMessage` is not read from an image)
/// and `Serialize` (tag first, then the fields in order, then `extra`).
#[macro_export]
#[doc(hidden)]
macro_rules! wire_struct {
    (
        $(#[$m:meta])*
        $name:ident / $fields:ident $([tag $tk:literal = $tv:literal])? {
            $( $(#[$fm:meta])* $kind:ident $f:ident : $t:ty = $j:literal ),* $(,)?
        }
    ) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq)]
        #[non_exhaustive]
        pub struct $name {
            $( $(#[$fm])* pub $f: $crate::__wire_ty!($kind $t), )*
            /// Properties this version of the model does not know, kept as they came.
            pub extra: $crate::Extra,
        }

        $crate::__wire_new!(@ $name [] [] $($kind $f: $t,)*);

        #[derive(Default)]
        pub(crate) struct $fields {
            $( pub(crate) $f: Option<$t>, )*
            pub(crate) extra: $crate::Extra,
        }

        impl $crate::wire::Fields for $fields {
            type Output = $name;
            #[allow(clippy::match_single_binding)]
            fn field<'de, D: serde::Deserializer<'de>>(&mut self, key: &str, d: D) -> Result<(), D::Error> {
                match key {
                    $( $j => $crate::__wire_field!($kind self.$f, self.extra, key, d), )*
                    $( $tk => $crate::wire::tag(d, $tv), )?
                    _ => wire::other(&mut self.extra, key, d),
                }
            }
            fn finish<E: serde::de::Error>(self) -> Result<$name, E> {
                Ok($name {
                    $( $f: $crate::__wire_finish!($kind self.$f, $j, E), )*
                    extra: self.extra,
                })
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                wire::deserialize_object::<D, $fields>(d, stringify!($name))
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeMap;
                let mut m = s.serialize_map(None)?;
                $( m.serialize_entry($tk, $tv)?; )?
                $( $crate::__wire_ser!($kind m, $j, &self.$f); )*
                wire::serialize_extra(&mut m, &self.extra)?;
                m.end()
            }
        }
    };
}

/// The type of a struct field: `req` as declared, `opt` in an `Option`.
#[macro_export]
#[doc(hidden)]
macro_rules! __wire_ty {
    (req $t:ty) => { $t };
    (opt $t:ty) => { Option<$t> };
}

/// Builds `new` from the required fields, one field at a time.
#[macro_export]
#[doc(hidden)]
macro_rules! __wire_new {
    (@ $name:ident [$($p:ident: $pt:ty,)*] [$($init:tt)*]) => {
        impl $name {
            #[doc = concat!("A `", stringify!($name), "` with its required fields; optional ones are `None`.")]
            #[allow(clippy::too_many_arguments)]
            pub fn new($($p: impl Into<$pt>),*) -> Self {
                Self {
                    $($init)*
                    extra: $crate::Extra::new(),
                }
            }
        }
        $crate::__wire_default!($name [$($p)*]);
    };
    (@ $name:ident [$($p:ident: $pt:ty,)*] [$($init:tt)*] req $f:ident: $t:ty, $($rest:tt)*) => {
        $crate::__wire_new!(@ $name [$($p: $pt,)* $f: $t,] [$($init)* $f: $f.into(),] $($rest)*);
    };
    (@ $name:ident [$($p:ident: $pt:ty,)*] [$($init:tt)*] opt $f:ident: $t:ty, $($rest:tt)*) => {
        $crate::__wire_new!(@ $name [$($p: $pt,)*] [$($init)* $f: None,] $($rest)*);
    };
}

/// `Default` for a struct without required fields.
#[macro_export]
#[doc(hidden)]
macro_rules! __wire_default {
    ($name:ident []) => {
        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }
    };
    ($name:ident [$($p:ident)+]) => {};
}

/// Reads one known property into its slot.
#[macro_export]
#[doc(hidden)]
macro_rules! __wire_field {
    (req $slot:expr, $extra:expr, $key:ident, $d:ident) => {
        wire::req(&mut $slot, $d)
    };
    (opt $slot:expr, $extra:expr, $key:ident, $d:ident) => {
        wire::opt(&mut $slot, &mut $extra, $key, $d)
    };
}

/// Takes a field out of the builder; a required one must be there.
#[macro_export]
#[doc(hidden)]
macro_rules! __wire_finish {
    (req $slot:expr, $j:literal, $e:ident) => {
        $slot.ok_or_else(|| <$e as serde::de::Error>::missing_field($j))?
    };
    (opt $slot:expr, $j:literal, $e:ident) => {
        $slot
    };
}

/// Writes one field: a required one always, an optional one when set.
#[macro_export]
#[doc(hidden)]
macro_rules! __wire_ser {
    (req $m:ident, $j:literal, $v:expr) => {
        $m.serialize_entry($j, $v)?
    };
    (opt $m:ident, $j:literal, $v:expr) => {
        if let Some(v) = $v {
            $m.serialize_entry($j, v)?;
        }
    };
}

/// Declares a tagged union: its tag property, the type that keeps an unknown
/// kind's JSON, and its variants (`Rust name("tag") = Struct / StructFields`);
/// then, under `common`, the properties every kind may have, with how each
/// variant holds them (`req`, `opt`, or `none`).
///
/// Expands to the enum (with `Unknown { kind, raw }`), `From` each variant,
/// `kind()`, `is_unknown()`, one accessor per common property, a
/// `Deserialize` that finds the tag wherever it is, and `Serialize`.
#[macro_export]
#[doc(hidden)]
macro_rules! wire_union {
    (
        $(#[$m:meta])*
        $name:ident by $tag:literal, raw $raw:ty {
            $( $v:ident($vt:literal) = $target:ident / $fields:ident ),* $(,)?
        }
        common {
            $( $acc:ident: $at:ty = $aj:literal { $($av:ident: $ak:ident),* $(,)? } )*
        }
    ) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq)]
        #[non_exhaustive]
        pub enum $name {
            $(
                #[doc = concat!("`\"", $tag, "\": \"", $vt, "\"`.")]
                $v($target),
            )*
            #[doc = concat!("A kind this version does not know. `raw` holds the whole object, `\"", $tag, "\"` included.")]
            Unknown {
                /// The tag value.
                kind: String,
                /// The whole JSON object, as it came.
                raw: $raw,
            },
        }

        $(
            impl From<$target> for $name {
                fn from(v: $target) -> Self {
                    Self::$v(v)
                }
            }
        )*

        impl $name {
            #[doc = concat!("The `\"", $tag, "\"` value.")]
            pub fn kind(&self) -> &str {
                match self {
                    $( Self::$v(_) => $vt, )*
                    Self::Unknown { kind, .. } => kind,
                }
            }

            /// Whether this is a kind this version does not know.
            pub fn is_unknown(&self) -> bool {
                matches!(self, Self::Unknown { .. })
            }

            $(
                #[doc = concat!("`", $aj, "`, for every kind (parsed from the raw JSON for an unknown one).")]
                pub fn $acc(&self) -> Option<std::borrow::Cow<'_, $at>> {
                    match self {
                        $( Self::$av(x) => $crate::__wire_get!($ak x.$acc), )*
                        Self::Unknown { raw, .. } => wire::from_raw(raw, $aj),
                    }
                }
            )*
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> serde::de::Visitor<'de> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        wire::expecting(f, stringify!($name))
                    }
                    #[allow(clippy::useless_conversion)]
                    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<$name, A::Error> {
                        let mut other = wire::Pending::new();
                        let tag = wire::find_tag_into(&mut map, $tag, &mut other)?;
                        Ok(match &*tag {
                            $( $vt => $name::$v(wire::finish_variant_with($fields::default(), other, map)?), )*
                            _ => {
                                let raw = wire::finish_unknown(map, $tag, &tag, other)?;
                                $name::Unknown { kind: tag.into_owned(), raw: raw.into() }
                            }
                        })
                    }
                }
                d.deserialize_map(V)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                match self {
                    $( Self::$v(x) => x.serialize(s), )*
                    Self::Unknown { raw, .. } => raw.serialize(s),
                }
            }
        }
    };
}

/// A common property of one variant: `req` borrowed, `opt` when set, `none`
/// when that kind does not have it.
#[macro_export]
#[doc(hidden)]
macro_rules! __wire_get {
    (req $x:ident . $f:ident) => {
        Some(std::borrow::Cow::Borrowed(&$x.$f))
    };
    (opt $x:ident . $f:ident) => {
        $x.$f.as_ref().map(std::borrow::Cow::Borrowed)
    };
    (none $x:ident . $f:ident) => {{
        let _ = $x;
        None
    }};
}
