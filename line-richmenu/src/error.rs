//! The crate's error type, in twilight's shape: a struct with a [`kind()`](Error::kind)
//! to branch on and a boxed source.

use std::error::Error as StdError;
use std::fmt;

use crate::finding::Finding;

/// Anything that can go wrong in `line-richmenu`.
///
/// Messages are lowercase, name the place (file, JSON pointer, field, operation) and
/// never contain a channel access token or a channel secret.
pub struct Error {
    kind: ErrorKind,
    source: Option<Box<dyn StdError + Send + Sync>>,
}

/// What went wrong. Match with a wildcard arm: new kinds may be added.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A definition file could not be read.
    Read {
        /// The file.
        path: String,
    },
    /// A definition did not parse.
    Parse {
        /// JSON pointer of the place that failed (empty for the whole document).
        pointer: String,
        /// What was wrong there.
        reason: String,
    },
    /// The menu set has validation errors; nothing was sent.
    Invalid {
        /// Every finding, errors and warnings.
        findings: Vec<Finding>,
    },
    /// A LINE API call failed; the source is the `line_core::Error`.
    Api {
        /// The operation (LINE's operationId).
        operation: String,
        /// The HTTP status, when LINE answered.
        status: Option<u16>,
    },
    /// A host store failed.
    Store {
        /// What the store was doing.
        operation: String,
    },
    /// Going on would break one of LINE's limits (menu count, hourly budgets).
    Limit {
        /// The limit.
        limit: String,
        /// What would have happened.
        reason: String,
    },
    /// A policy or an event names a menu key that has no live menu.
    UnknownMenu {
        /// The key.
        key: String,
    },
    /// A rich-menu batch job failed or did not finish in time.
    Batch {
        /// LINE's request id of the batch.
        request_id: String,
        /// What happened.
        reason: String,
    },
}

impl Error {
    /// An error of this kind without a source.
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

    /// A store failure during `operation`.
    pub fn store(operation: impl Into<String>) -> Self {
        Self::new(ErrorKind::Store {
            operation: operation.into(),
        })
    }

    /// Wraps a `line_core` error of the API call `operation`.
    pub fn api(operation: &str, source: line_core::Error) -> Self {
        let status = source.status();
        Self::with_source(
            ErrorKind::Api {
                operation: operation.to_owned(),
                status,
            },
            source,
        )
    }

    /// The `line_core` error behind an [`ErrorKind::Api`] error.
    pub fn line_error(&self) -> Option<&line_core::Error> {
        self.source
            .as_deref()
            .and_then(|s| s.downcast_ref::<line_core::Error>())
    }

    /// Whether this is a definite rejection by LINE (a 4xx other than 429): retrying the
    /// same call cannot succeed.
    pub fn is_rejection(&self) -> bool {
        matches!(self.kind, ErrorKind::Api { status: Some(s), .. } if (400..500).contains(&s) && s != 429)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ErrorKind::Read { path } => write!(f, "cannot read {path}"),
            ErrorKind::Parse { pointer, reason } => {
                if pointer.is_empty() {
                    write!(f, "invalid menu definition: {reason}")
                } else {
                    write!(f, "invalid menu definition at {pointer}: {reason}")
                }
            }
            ErrorKind::Invalid { findings } => {
                let errors = findings.iter().filter(|x| x.is_error()).count();
                write!(f, "the menu set has {errors} validation error(s)")?;
                if let Some(first) = findings.iter().find(|x| x.is_error()) {
                    write!(f, ", first at {}: {}", first.place, first.message)?;
                }
                Ok(())
            }
            ErrorKind::Api { operation, status } => match status {
                Some(s) => write!(f, "line api call {operation} failed with status {s}"),
                None => write!(f, "line api call {operation} failed"),
            },
            ErrorKind::Store { operation } => write!(f, "host store failed during {operation}"),
            ErrorKind::Limit { limit, reason } => write!(f, "limit {limit}: {reason}"),
            ErrorKind::UnknownMenu { key } => write!(f, "no live rich menu for key {key:?}"),
            ErrorKind::Batch { request_id, reason } => write!(f, "rich-menu batch {request_id}: {reason}"),
        }?;
        if let Some(source) = &self.source {
            write!(f, ": {source}")?;
        }
        Ok(())
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
