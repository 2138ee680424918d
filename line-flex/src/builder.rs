//! The plumbing shared by every builder: each one is a `#[must_use]` newtype
//! over a `line_model` value, turns into it with `From`, reads its fields
//! through `Deref`, and serializes as it does.

/// Declares a builder over a `line_model` type.
macro_rules! builder {
    ($(#[$m:meta])* $name:ident => $model:ty) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq)]
        #[must_use]
        pub struct $name(pub(crate) $model);

        impl $name {
            /// The `line_model` value built so far.
            pub fn as_model(&self) -> &$model {
                &self.0
            }

            /// The `line_model` value (the same as `.into()`).
            pub fn into_model(self) -> $model {
                self.0
            }
        }

        impl From<$name> for $model {
            fn from(b: $name) -> Self {
                b.0
            }
        }

        impl std::ops::Deref for $name {
            type Target = $model;
            fn deref(&self) -> &$model {
                &self.0
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                self.0.serialize(s)
            }
        }
    };
}
pub(crate) use builder;

/// Declares setters of optional properties. Kinds: `into T` (the value
/// converted with `Into<T>`, written as its model type with `Into` again),
/// `flex` (a share: a `u32`, written as the model's `i32`), `bool`.
macro_rules! setters {
    ($($(#[$m:meta])* $kind:ident $f:ident $(: $t:ty)? = $json:literal;)*) => {
        $( $crate::builder::setter!($(#[$m])* $kind $f $(: $t)? = $json); )*
    };
}
pub(crate) use setters;

macro_rules! setter {
    ($(#[$m:meta])* into $f:ident: $t:ty = $json:literal) => {
        $(#[$m])*
        #[doc = concat!("\n\nSets `", $json, "`.")]
        pub fn $f(mut self, value: impl Into<$t>) -> Self {
            let value: $t = value.into();
            self.0.$f = Some(value.into());
            self
        }
    };
    ($(#[$m:meta])* flex $f:ident = $json:literal) => {
        $(#[$m])*
        #[doc = concat!("\n\nSets `", $json, "`.")]
        pub fn $f(mut self, value: u32) -> Self {
            self.0.$f = Some(i32::try_from(value).unwrap_or(i32::MAX));
            self
        }
    };
    ($(#[$m:meta])* bool $f:ident = $json:literal) => {
        $(#[$m])*
        #[doc = concat!("\n\nSets `", $json, "`.")]
        pub fn $f(mut self, value: bool) -> Self {
            self.0.$f = Some(value);
            self
        }
    };
}
pub(crate) use setter;
