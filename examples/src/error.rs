//! The error type of the examples: one struct with a [`kind()`](Error::kind)
//! to branch on and the underlying error as its source.

use std::error::Error as StdError;
use std::fmt;

/// What went wrong in the tour or an example.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A call to LINE (or the emulator standing in for it) failed.
    #[error("line api: {operation} failed")]
    Api {
        /// What the tour was doing.
        operation: String,
    },
    /// The emulator could not start or refused a simulated user action.
    #[error("emulator: {action} failed")]
    Emulator {
        /// The action.
        action: String,
    },
    /// A Flex message could not be built or rendered.
    #[error("flex: {what} failed")]
    Flex {
        /// The message.
        what: String,
    },
    /// A segment could not be parsed, compiled or planned.
    #[error("segment `{name}` failed")]
    Segment {
        /// The segment's name.
        name: String,
    },
    /// Rich-menu deploy, reconcile or a switch failed.
    #[error("rich menu: {action} failed")]
    RichMenu {
        /// The action.
        action: String,
    },
    /// A popup decision, event or report failed.
    #[error("popup: {action} failed")]
    Popup {
        /// The action.
        action: String,
    },
    /// The webhook bot could not handle an event (the message says which).
    #[error("webhook bot: {reason}")]
    Bot {
        /// What failed.
        reason: String,
    },
    /// A check of the outcome failed: what LINE (the emulator) holds differs
    /// from what the tour sent.
    #[error("check failed: {what}")]
    Check {
        /// What differed.
        what: String,
    },
    /// The scenario engine failed.
    #[error("scenario engine: {action}")]
    Scenario {
        /// What it was doing.
        action: String,
    },
    /// A LINE notification message (or its SMS fallback) failed.
    #[error("notification message: {action} failed")]
    Notice {
        /// What was being done.
        action: String,
    },
    /// A setting is missing or invalid (an environment variable or a flag).
    #[error("config: {field}: {reason}")]
    Config {
        /// The variable or flag.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Writing the output failed.
    #[error("writing the output failed")]
    Output,
}

/// An error of the tour or an example.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    source: Option<Box<dyn StdError + Send + Sync>>,
}

impl Error {
    /// An error without a source.
    pub fn new(kind: ErrorKind) -> Self {
        Self { kind, source: None }
    }

    /// An error caused by `source`.
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

    /// A failed check of the outcome.
    pub fn check(what: impl Into<String>) -> Self {
        Self::new(ErrorKind::Check { what: what.into() })
    }

    pub(crate) fn api(operation: &str) -> impl FnOnce(line_core::Error) -> Self + '_ {
        move |e| {
            Self::with_source(
                ErrorKind::Api {
                    operation: operation.into(),
                },
                e,
            )
        }
    }

    pub(crate) fn emulator(action: &str) -> impl FnOnce(line_emulator::Error) -> Self + '_ {
        move |e| Self::with_source(ErrorKind::Emulator { action: action.into() }, e)
    }

    pub(crate) fn flex(what: &str) -> impl FnOnce(line_flex::Error) -> Self + '_ {
        move |e| Self::with_source(ErrorKind::Flex { what: what.into() }, e)
    }

    pub(crate) fn segment(name: &str) -> impl FnOnce(line_segments::Error) -> Self + '_ {
        move |e| Self::with_source(ErrorKind::Segment { name: name.into() }, e)
    }

    pub(crate) fn richmenu(action: &str) -> impl FnOnce(line_richmenu::Error) -> Self + '_ {
        move |e| Self::with_source(ErrorKind::RichMenu { action: action.into() }, e)
    }

    pub(crate) fn popup(action: &str) -> impl FnOnce(line_popup::Error) -> Self + '_ {
        move |e| Self::with_source(ErrorKind::Popup { action: action.into() }, e)
    }

    pub(crate) fn notice(action: &str) -> impl FnOnce(line_pnp::Error) -> Self + '_ {
        move |e| Self::with_source(ErrorKind::Notice { action: action.into() }, e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.kind, f)?;
        if let Some(source) = &self.source {
            write!(f, ": {source}")?;
        }
        Ok(())
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn StdError + 'static))
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Self::with_source(ErrorKind::Output, e)
    }
}
