//! Identifier newtypes.
//!
//! They serialize as plain JSON strings, so they drop into wire types without
//! changing the JSON.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps a string without checking it.
            pub fn new(id: impl Into<String>) -> Self {
                Self(id.into())
            }

            /// The identifier as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The identifier as an owned string.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
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

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
    };
}

string_id!(
    /// A LINE user ID (`U` followed by 32 hex digits), unique per provider.
    UserId
);
string_id!(
    /// A group chat ID (`C…`).
    GroupId
);
string_id!(
    /// A multi-person chat ID (`R…`).
    RoomId
);
string_id!(
    /// The `x-line-request-id` LINE gives every API response.
    RequestId
);
string_id!(
    /// A rich menu ID (`richmenu-…`).
    RichMenuId
);

/// The `X-Line-Retry-Key` of a send: a UUID made once per logical send and
/// reused on every retry of it.
///
/// Persist it before sending when a send must resume after a crash: sending
/// again with the same key makes LINE answer 409 instead of delivering twice.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RetryKey(uuid::Uuid);

impl RetryKey {
    /// A fresh random (v4) key.
    pub fn new() -> Self {
        Self(uuid::Uuid::new_v4())
    }

    /// Wraps an existing UUID.
    pub fn from_uuid(uuid: uuid::Uuid) -> Self {
        Self(uuid)
    }

    /// The UUID.
    pub fn as_uuid(&self) -> uuid::Uuid {
        self.0
    }
}

impl Default for RetryKey {
    fn default() -> Self {
        Self::new()
    }
}

impl std::str::FromStr for RetryKey {
    type Err = ParseRetryKeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        uuid::Uuid::parse_str(s)
            .map(Self)
            .map_err(|e| ParseRetryKeyError { reason: e.to_string() })
    }
}

/// A retry key that is not a UUID. `line_core::Error` converts from it (as
/// invalid input for the field `retry_key`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseRetryKeyError {
    reason: String,
}

impl fmt::Display for ParseRetryKeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not a UUID: {}", self.reason)
    }
}

impl std::error::Error for ParseRetryKeyError {}

impl fmt::Debug for RetryKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RetryKey({})", self.0.hyphenated())
    }
}

impl fmt::Display for RetryKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.hyphenated(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_plain_json_strings() {
        let id: UserId = serde_json::from_str("\"U4af4980629\"").unwrap();
        assert_eq!(id, "U4af4980629");
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"U4af4980629\"");
    }

    #[test]
    fn retry_key_parses_and_prints_hyphenated() {
        let k: RetryKey = "123e4567-e89b-12d3-a456-426614174000".parse().unwrap();
        assert_eq!(k.to_string(), "123e4567-e89b-12d3-a456-426614174000");
        assert!("not-a-uuid".parse::<RetryKey>().is_err());
        assert_ne!(RetryKey::new(), RetryKey::new());
    }
}
