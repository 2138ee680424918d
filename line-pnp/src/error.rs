//! The crate's one error type, in twilight's shape: a struct with a
//! [`kind()`](Error::kind) to branch on and a boxed source.
//!
//! No message, kind or source ever holds a phone number, a channel access token or an
//! SMS text: a bad phone number is named by its field (`customers[3].phone`), never
//! quoted.

use std::error::Error as StdError;
use std::fmt;

/// Anything that can go wrong in `line-pnp`.
pub struct Error {
    kind: ErrorKind,
    source: Option<Box<dyn StdError + Send + Sync>>,
}

/// Why a phone number was rejected. The number itself is never kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PhoneReason {
    /// The input holds no phone number (too few digits, or not a number at all).
    NotANumber,
    /// The country calling code is not one of any country.
    InvalidCountryCode,
    /// Too short to be a phone number of its country.
    TooShort,
    /// Too long to be a phone number.
    TooLong,
    /// It parses, but is not a number in use in its country's numbering plan.
    NotValid,
    /// The input is longer than any phone number written out (200 characters).
    InputTooLong,
}

impl fmt::Display for PhoneReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotANumber => "not a phone number",
            Self::InvalidCountryCode => "unknown country calling code",
            Self::TooShort => "too short for a phone number",
            Self::TooLong => "too long for a phone number",
            Self::NotValid => "not a valid number in its country's numbering plan",
            Self::InputTooLong => "longer than 200 characters",
        })
    }
}

/// What went wrong. Match with a wildcard arm: new kinds may be added.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A phone number was rejected.
    InvalidPhoneNumber {
        /// The input field or position (`phone`, `customers[3].phone`).
        field: String,
        /// Why.
        reason: PhoneReason,
    },
    /// A delivery tag (or the reference it is made from) was rejected.
    InvalidDeliveryTag {
        /// The input field (`reference`, `delivery_tag`).
        field: String,
        /// Why.
        reason: String,
    },
    /// Another caller-supplied value was rejected (a region code, a message count).
    InvalidInput {
        /// The field or argument.
        field: String,
        /// Why it was rejected.
        reason: String,
    },
    /// The notice store failed.
    Store {
        /// What the store was doing (`SqliteNoticeStore::transition`, …).
        operation: String,
    },
    /// LINE failed in a way that is neither "cannot deliver" nor a rejection
    /// (the call did not reach LINE at all, or its token source failed).
    Line {
        /// The operationId.
        operation: &'static str,
    },
    /// The host's SMS sender failed.
    Sms {
        /// Whether trying again later may help (the notice stays due).
        transient: bool,
    },
    /// A notice with this tag exists with a different phone number.
    TagConflict {
        /// The delivery tag.
        tag: String,
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

    /// An invalid-input error for `field`.
    pub fn invalid_input(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput {
            field: field.into(),
            reason: reason.into(),
        })
    }

    /// A store failure during `operation` (which names the store and method).
    pub fn store(operation: impl Into<String>, source: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        Self::with_source(
            ErrorKind::Store {
                operation: operation.into(),
            },
            source,
        )
    }

    pub(crate) fn phone(field: &str, reason: PhoneReason) -> Self {
        Self::new(ErrorKind::InvalidPhoneNumber {
            field: field.to_owned(),
            reason,
        })
    }

    pub(crate) fn tag(field: &str, reason: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidDeliveryTag {
            field: field.to_owned(),
            reason: reason.into(),
        })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ErrorKind::InvalidPhoneNumber { field, reason } => write!(f, "invalid phone number in `{field}`: {reason}"),
            ErrorKind::InvalidDeliveryTag { field, reason } => write!(f, "invalid delivery tag in `{field}`: {reason}"),
            ErrorKind::InvalidInput { field, reason } => write!(f, "invalid `{field}`: {reason}"),
            ErrorKind::Store { operation } => write!(f, "notice store failed in {operation}"),
            ErrorKind::Line { operation } => write!(f, "LINE call {operation} failed"),
            ErrorKind::Sms { transient: true } => f.write_str("the SMS sender failed (transient)"),
            ErrorKind::Sms { transient: false } => f.write_str("the SMS sender refused the message"),
            ErrorKind::TagConflict { tag } => {
                write!(
                    f,
                    "delivery tag {tag} is already used by a notice to another phone number"
                )
            }
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
        self.source.as_deref().map(|e| e as &(dyn StdError + 'static))
    }
}

impl From<line_core::Error> for Error {
    fn from(e: line_core::Error) -> Self {
        match e.kind() {
            line_core::ErrorKind::Store { operation } => Self::store(operation.clone(), e),
            line_core::ErrorKind::Config { field, reason } => Self::invalid_input(field.clone(), reason.clone()),
            _ => Self::with_source(ErrorKind::Line { operation: "unknown" }, e),
        }
    }
}
