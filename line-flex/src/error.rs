//! The crate's one error type, in twilight's shape: a struct with a
//! [`kind()`](Error::kind) to branch on and a boxed source.

use std::error::Error as StdError;
use std::fmt;

/// Anything that can go wrong in `line-flex`.
///
/// Messages are lowercase and name the place: a JSON pointer, a property or a
/// template variable.
pub struct Error {
    kind: ErrorKind,
    source: Option<Box<dyn StdError + Send + Sync>>,
}

/// What went wrong. Match with a wildcard arm: new kinds may be added.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input is not JSON at all (or not UTF-8).
    Syntax {
        /// 1-based line of the syntax error.
        line: usize,
        /// 1-based column of the syntax error.
        column: usize,
    },
    /// The input is JSON, but its shape cannot be a Flex document: a value of
    /// the wrong JSON type, or a required property that is missing.
    Structure {
        /// JSON pointer of the offending value, relative to the parsed document.
        pointer: String,
        /// What was wrong there.
        reason: String,
    },
    /// A string did not match a value grammar (size, colour, aspect ratio…).
    InvalidValue {
        /// The rejected text.
        value: String,
        /// What was expected.
        expected: &'static str,
    },
    /// A template was rendered without a value for one of its variables.
    MissingVariable {
        /// The variable's name, without braces.
        name: String,
        /// JSON pointer of the first string that uses the variable.
        pointer: String,
    },
    /// A document could not be serialized (a template of a value whose
    /// `Serialize` fails).
    Conversion {
        /// What was wrong.
        reason: String,
    },
}

impl Error {
    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// Consumes the error, returning its kind and source.
    pub fn into_parts(self) -> (ErrorKind, Option<Box<dyn StdError + Send + Sync>>) {
        (self.kind, self.source)
    }

    /// JSON pointer of the place that failed, when there is one.
    pub fn pointer(&self) -> Option<&str> {
        match &self.kind {
            ErrorKind::Structure { pointer, .. } | ErrorKind::MissingVariable { pointer, .. } => Some(pointer),
            _ => None,
        }
    }

    pub(crate) fn new(kind: ErrorKind) -> Self {
        Self { kind, source: None }
    }

    pub(crate) fn with_source(mut self, source: impl StdError + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    pub(crate) fn structure(pointer: String, reason: impl Into<String>) -> Self {
        Self::new(ErrorKind::Structure {
            pointer,
            reason: reason.into(),
        })
    }

    pub(crate) fn syntax(err: serde_json::Error) -> Self {
        Self::new(ErrorKind::Syntax {
            line: err.line(),
            column: err.column(),
        })
        .with_source(err)
    }

    pub(crate) fn invalid_value(value: &str, expected: &'static str) -> Self {
        Self::new(ErrorKind::InvalidValue {
            value: value.to_owned(),
            expected,
        })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ErrorKind::Syntax { line, column } => write!(f, "input is not valid JSON (line {line}, column {column})"),
            ErrorKind::Structure { pointer, reason } => {
                let at = if pointer.is_empty() {
                    "the document root"
                } else {
                    pointer
                };
                write!(f, "invalid flex document at {at}: {reason}")
            }
            ErrorKind::InvalidValue { value, expected } => write!(f, "invalid value {value:?}: expected {expected}"),
            ErrorKind::MissingVariable { name, pointer } => {
                write!(f, "template variable {{{name}}} (used at {pointer}) has no value")
            }
            ErrorKind::Conversion { reason } => write!(f, "cannot serialize the flex document: {reason}"),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.kind)
            .field("source", &self.source)
            .finish()
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source.as_deref().map(|s| s as &(dyn StdError + 'static))
    }
}
