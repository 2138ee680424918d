//! The crate's one error type, in twilight's shape: a struct with a
//! [`kind()`](Error::kind) to branch on and a boxed source.

use std::error::Error as StdError;
use std::fmt;

/// Anything that can go wrong in `line-popup`.
///
/// Messages are lowercase and name the place: a JSON pointer for configuration
/// read from JSON, a field for values given in code, the store operation for a
/// store failure.
pub struct Error {
    kind: ErrorKind,
    source: Option<Box<dyn StdError + Send + Sync>>,
}

/// What went wrong. Match with a wildcard arm: new kinds may be added.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The popup configuration was rejected.
    Config {
        /// JSON pointer (for example `/campaigns/0/banners/1/weight`) of the offending value.
        pointer: String,
        /// Why it was rejected.
        reason: String,
    },
    /// A caller-supplied value (a visitor context, an event) was rejected.
    InvalidInput {
        /// The field or argument.
        field: String,
        /// Why it was rejected.
        reason: String,
    },
    /// The popup store failed. Decisions fail closed: no popup is shown.
    Store {
        /// What the store was doing (`reserve`, `record`, …).
        operation: &'static str,
    },
    /// A segment condition could not be evaluated.
    Segment {
        /// The segment's name in the configuration.
        name: String,
    },
}

impl Error {
    /// An error of this kind, with no source.
    pub fn new(kind: ErrorKind) -> Self {
        Self { kind, source: None }
    }

    /// An error of this kind caused by `source`.
    pub fn with_source(kind: ErrorKind, source: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        Self {
            kind,
            source: Some(source.into()),
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// Consumes the error, giving its kind and source.
    pub fn into_parts(self) -> (ErrorKind, Option<Box<dyn StdError + Send + Sync>>) {
        (self.kind, self.source)
    }

    /// A configuration error at `pointer`.
    pub fn config(pointer: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::new(ErrorKind::Config {
            pointer: pointer.into(),
            reason: reason.into(),
        })
    }

    /// An invalid-input error for `field`.
    pub fn invalid_input(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput {
            field: field.into(),
            reason: reason.into(),
        })
    }

    /// A store failure during `operation`, caused by `source`.
    pub fn store(operation: &'static str, source: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        Self::with_source(ErrorKind::Store { operation }, source)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.kind);
        if let Some(s) = &self.source {
            d.field("source", s);
        }
        d.finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ErrorKind::Config { pointer, reason } => {
                let at = if pointer.is_empty() {
                    "the document root"
                } else {
                    pointer
                };
                write!(f, "invalid popup configuration at {at}: {reason}")
            }
            ErrorKind::InvalidInput { field, reason } => write!(f, "invalid {field}: {reason}"),
            ErrorKind::Store { operation } => write!(f, "popup store failed during {operation}"),
            ErrorKind::Segment { name } => write!(f, "segment {name:?} could not be evaluated"),
        }
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source.as_ref().map(|s| &**s as &(dyn StdError + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_place() {
        let e = Error::config("/campaigns/0/banners", "must not be empty");
        assert_eq!(
            e.to_string(),
            "invalid popup configuration at /campaigns/0/banners: must not be empty"
        );
        let e = Error::store("reserve", std::io::Error::other("down"));
        assert_eq!(e.to_string(), "popup store failed during reserve");
        assert!(StdError::source(&e).is_some());
        assert_eq!(e.kind(), &ErrorKind::Store { operation: "reserve" });
    }
}
