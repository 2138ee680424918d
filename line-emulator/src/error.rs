//! The crate's error type (twilight shape) and LINE's error answers.

use std::error::Error as StdError;
use std::fmt;

use axum::http::StatusCode;
use line_core::model::{ErrorDetail, ErrorResponse};

/// Anything that can go wrong when starting or driving the emulator.
///
/// Messages are lowercase, name the place (setting, user, URL) and never
/// contain the channel access token or the channel secret.
pub struct Error {
    kind: ErrorKind,
    source: Option<Box<dyn StdError + Send + Sync>>,
}

/// What went wrong. Match with a wildcard arm: new kinds may be added.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A setting was rejected.
    Config {
        /// The setting (for example `time_scale`, `faults.endpoints.multicast.errorRate`).
        field: String,
        /// Why it was rejected.
        reason: String,
    },
    /// The listening socket could not be bound.
    Bind {
        /// The address that was asked for.
        addr: String,
    },
    /// A simulated user id is not known to the emulator.
    UnknownUser {
        /// The user id.
        user_id: String,
    },
    /// A link token is not one the emulator issued.
    UnknownLinkToken,
    /// Waiting for Ctrl-C failed.
    Signal,
    /// Delivering a webhook failed (connection error or non-2xx answer after
    /// all redeliveries).
    Webhook {
        /// The webhook URL.
        url: String,
        /// The last HTTP status, if an answer arrived.
        status: Option<u16>,
    },
    /// A fault configuration did not parse.
    Parse {
        /// JSON pointer of the offending value.
        pointer: String,
        /// What was wrong there.
        reason: String,
    },
    /// The headless browser of [`browser`](crate::browser) (feature `browser`) could not
    /// start or answer.
    Browser {
        /// What it was doing (and, when chromedriver is missing, how to install it).
        step: String,
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

    /// The kind and the source, taken apart.
    pub fn into_parts(self) -> (ErrorKind, Option<Box<dyn StdError + Send + Sync>>) {
        (self.kind, self.source)
    }

    pub(crate) fn config(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::new(ErrorKind::Config {
            field: field.into(),
            reason: reason.into(),
        })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ErrorKind::Config { field, reason } => write!(f, "invalid emulator setting `{field}`: {reason}"),
            ErrorKind::Bind { addr } => write!(f, "cannot listen on {addr}"),
            ErrorKind::UnknownUser { user_id } => write!(f, "unknown simulated user {user_id}"),
            ErrorKind::UnknownLinkToken => f.write_str("unknown link token"),
            ErrorKind::Signal => f.write_str("cannot wait for ctrl-c"),
            ErrorKind::Webhook { url, status: Some(s) } => write!(f, "webhook delivery to {url} answered {s}"),
            ErrorKind::Webhook { url, status: None } => write!(f, "webhook delivery to {url} failed"),
            ErrorKind::Parse { pointer, reason } => write!(f, "invalid fault configuration at `{pointer}`: {reason}"),
            ErrorKind::Browser { step } => write!(f, "headless browser: {step}"),
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

/// An error answer in LINE's shape: `{"message": "...", "details": [{"message", "property"}]}`.
#[derive(Debug, Clone)]
pub(crate) struct LineError {
    pub(crate) status: StatusCode,
    pub(crate) body: ErrorResponse,
}

impl LineError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            body: ErrorResponse::new(message),
        }
    }

    /// A 400 with LINE's "The request body has N error(s)" and the details.
    pub(crate) fn invalid(details: Vec<(String, String)>) -> Self {
        let mut body = ErrorResponse::new(format!("The request body has {} error(s)", details.len()));
        body.details = Some(
            details
                .into_iter()
                .map(|(property, message)| {
                    let mut d = ErrorDetail::new();
                    d.property = Some(property);
                    d.message = Some(message);
                    d
                })
                .collect(),
        );
        Self {
            status: StatusCode::BAD_REQUEST,
            body,
        }
    }

    /// A 400 naming one property.
    pub(crate) fn property(property: impl Into<String>, message: impl Into<String>) -> Self {
        Self::invalid(vec![(property.into(), message.into())])
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    pub(crate) fn rate_limited() -> Self {
        Self::new(StatusCode::TOO_MANY_REQUESTS, RATE_LIMIT_MESSAGE)
    }

    pub(crate) fn monthly_limit() -> Self {
        Self::new(StatusCode::TOO_MANY_REQUESTS, MONTHLY_LIMIT_MESSAGE)
    }

    pub(crate) fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "An error occurred in the backend server",
        )
    }
}

/// LINE's message for a rate-limit 429.
pub(crate) const RATE_LIMIT_MESSAGE: &str = "The API rate limit has been exceeded. Try again later.";
/// LINE's message for the monthly-quota 429.
pub(crate) const MONTHLY_LIMIT_MESSAGE: &str = "You have reached your monthly limit.";

/// Turns a serde JSON pointer (`/messages/0/text`) into LINE's property path
/// (`messages[0].text`).
pub(crate) fn property_from_pointer(pointer: &str) -> String {
    let mut out = String::new();
    for seg in pointer.split('/').filter(|s| !s.is_empty()) {
        let seg = seg.replace("~1", "/").replace("~0", "~");
        if !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit()) {
            out.push('[');
            out.push_str(&seg);
            out.push(']');
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&seg);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_become_line_property_paths() {
        assert_eq!(property_from_pointer("/messages/0/text"), "messages[0].text");
        assert_eq!(property_from_pointer("/to"), "to");
        assert_eq!(property_from_pointer(""), "");
        assert_eq!(property_from_pointer("/a~1b/10"), "a/b[10]");
    }

    #[test]
    fn invalid_counts_its_details() {
        let e = LineError::invalid(vec![("messages".into(), "Size must be between 1 and 5".into())]);
        let v = serde_json::to_value(&e.body).unwrap();
        assert_eq!(v["message"], "The request body has 1 error(s)");
        assert_eq!(v["details"][0]["property"], "messages");
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
    }
}
