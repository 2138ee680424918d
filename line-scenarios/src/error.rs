//! The crate's error type, in the twilight shape: a struct with a [`kind`](Error::kind) to branch on.

use std::fmt;

/// What went wrong. Grows over time, so match with a wildcard arm.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input is not JSON.
    Syntax {
        /// Line, from 1.
        line: usize,
        /// Column, from 1.
        column: usize,
        /// What the parser found.
        message: String,
    },
    /// JSON that does not follow the scenario format.
    Json {
        /// The JSON pointer of the offending value.
        pointer: String,
        /// What was wrong there.
        message: String,
    },
    /// A scenario failed validation; `problems` lists every finding.
    Invalid {
        /// The scenario.
        scenario: String,
        /// Each problem, naming the step and pointer.
        problems: Vec<Problem>,
    },
    /// The engine was given two scenarios with one id, or a scenario it does not know.
    UnknownScenario {
        /// The id.
        id: String,
    },
    /// A host store (state, ledger, scheduler, profiles, budget) failed; nothing was recorded as sent.
    Store {
        /// What the store was doing.
        operation: String,
        /// What it said.
        message: String,
    },
    /// The sender failed in a way that left the outcome of the send unknown or refused.
    Send {
        /// What happened.
        message: String,
    },
    /// A friend-source code that is not in the registry (a forged or stale link). The code is
    /// shown escaped and cut to 64 characters.
    UnknownSource {
        /// The code as given.
        code: String,
    },
    /// A request value (a source code's form, an attribution token) was malformed.
    InvalidInput {
        /// The field.
        field: String,
        /// Why.
        reason: String,
    },
    /// A configuration value was rejected.
    Config {
        /// The setting.
        field: String,
        /// Why.
        reason: String,
    },
}

/// One problem found by [`validate`](crate::validate::validate) (re-exported there);
/// [`ErrorKind::Invalid`] lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Problem {
    /// The step's id, when the problem is in a step.
    pub step: Option<String>,
    /// The JSON pointer of the offending value.
    pub pointer: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = if self.pointer.is_empty() { "/" } else { &self.pointer };
        match &self.step {
            Some(step) => write!(f, "step `{step}` at {at}: {}", self.message),
            None => write!(f, "at {at}: {}", self.message),
        }
    }
}

/// The error type of this crate.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl Error {
    /// An error of this kind.
    pub fn new(kind: ErrorKind) -> Self {
        Self { kind, source: None }
    }

    /// Attaches the underlying cause.
    #[must_use]
    pub fn with_source(mut self, source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// What kind of error this is.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// A store failure.
    pub fn store(operation: impl Into<String>, message: impl fmt::Display) -> Self {
        Self::new(ErrorKind::Store {
            operation: operation.into(),
            message: message.to_string(),
        })
    }

    /// A configuration error.
    pub fn config(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::new(ErrorKind::Config {
            field: field.into(),
            reason: reason.into(),
        })
    }

    pub(crate) fn json(pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Json {
            pointer: pointer.into(),
            message: message.into(),
        })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ErrorKind::Syntax { line, column, message } => {
                write!(f, "not json at line {line}, column {column}: {message}")
            }
            ErrorKind::Json { pointer, message } => {
                let at = if pointer.is_empty() {
                    "the document root"
                } else {
                    pointer
                };
                write!(f, "invalid scenario at {at}: {message}")
            }
            ErrorKind::Invalid { scenario, problems } => {
                write!(f, "scenario `{scenario}` has {} problem(s)", problems.len())?;
                for p in problems {
                    write!(f, "; {p}")?;
                }
                Ok(())
            }
            ErrorKind::UnknownScenario { id } => write!(f, "unknown scenario `{id}`"),
            ErrorKind::Store { operation, message } => write!(f, "store failed during {operation}: {message}"),
            ErrorKind::Send { message } => write!(f, "send failed: {message}"),
            ErrorKind::Config { field, reason } => write!(f, "invalid setting `{field}`: {reason}"),
            ErrorKind::UnknownSource { code } => {
                let shown: String = code.chars().take(64).collect();
                write!(f, "unknown friend source {shown:?}")
            }
            ErrorKind::InvalidInput { field, reason } => write!(f, "invalid `{field}`: {reason}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Appends a token to a JSON pointer, escaping `~` and `/`.
pub(crate) fn push_ptr(base: &str, token: impl fmt::Display) -> String {
    let t = token.to_string().replace('~', "~0").replace('/', "~1");
    format!("{base}/{t}")
}
