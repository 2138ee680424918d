//! Secret types: they never print.
//!
//! `Debug` shows `<redacted>`; there is no `Display`. [`ChannelAccessToken`] and
//! [`ChannelSecret`] have no `Serialize` either. [`SecretString`] is the one
//! wire type that carries a secret (token endpoint forms and responses), so it
//! serializes, but it still never prints.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! secret {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            /// Wraps a secret value.
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            /// The secret itself. Call this only where it is sent or used.
            pub fn expose(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}(<redacted>)", stringify!($name))
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self(s)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }
    };
}

secret!(
    /// A channel access token (the bearer token of every API call).
    ChannelAccessToken
);
secret!(
    /// A channel secret (the HMAC key of webhook signatures).
    ChannelSecret
);
secret!(
    /// A secret carried in a wire type, such as `client_secret` or
    /// `access_token` in the token endpoints.
    SecretString
);

impl Serialize for SecretString {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for SecretString {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Self)
    }
}

impl From<SecretString> for ChannelAccessToken {
    fn from(s: SecretString) -> Self {
        Self(s.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let t = ChannelAccessToken::new("tok-abc123");
        let s = ChannelSecret::new("sec-xyz789");
        let w = SecretString::new("wire-secret");
        let out = format!("{t:?} {s:?} {w:?} {t:#?}");
        assert!(!out.contains("tok-abc123"));
        assert!(!out.contains("sec-xyz789"));
        assert!(!out.contains("wire-secret"));
        assert!(out.contains("<redacted>"));
        assert_eq!(serde_json::to_string(&w).unwrap(), "\"wire-secret\"");
    }
}
