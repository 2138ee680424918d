//! The crate's one error type, in twilight's shape: a struct with a
//! [`kind()`](Error::kind) to branch on and a boxed source.

use std::error::Error as StdError;
use std::fmt;

use line_model::wire::{pointer_from_path, strip_position};
use serde::{Deserialize, Serialize};

use crate::ids::RequestId;

/// Anything that can go wrong in `line-core`.
///
/// Messages are lowercase, name the place (operation, JSON pointer or field),
/// and never contain a token, a channel secret or an expected signature.
pub struct Error {
    kind: ErrorKind,
    source: Option<Box<dyn StdError + Send + Sync>>,
}

/// What went wrong. Match with a wildcard arm: new kinds may be added.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// LINE answered with an error status.
    Api(Box<ApiError>),
    /// The request timed out.
    Timeout {
        /// The operationId.
        operation: &'static str,
    },
    /// The connection failed or dropped before a response arrived.
    Connection {
        /// The operationId.
        operation: &'static str,
    },
    /// A response body did not match the typed model.
    Decode {
        /// The operationId.
        operation: &'static str,
        /// JSON pointer of the offending value in the response body.
        pointer: String,
        /// What was wrong there.
        reason: String,
    },
    /// A caller-supplied value was rejected before anything was sent.
    InvalidInput {
        /// The field or argument.
        field: String,
        /// Why it was rejected.
        reason: String,
    },
    /// A webhook request had no `x-line-signature` header.
    MissingSignature,
    /// A webhook signature was not valid base64 of 32 bytes.
    MalformedSignature,
    /// A webhook signature did not match the body.
    InvalidSignature,
    /// A JSON input (a webhook body, a fixture) did not parse.
    Parse {
        /// JSON pointer of the place that failed (empty for the document).
        pointer: String,
        /// What was wrong there.
        reason: String,
    },
    /// A host store failed.
    Store {
        /// What the store was doing.
        operation: String,
    },
    /// The token source could not provide a channel access token.
    Token,
    /// A builder was given an inconsistent configuration.
    Config {
        /// The setting.
        field: String,
        /// Why it was rejected.
        reason: String,
    },
    /// An account-link nonce was unknown, already used, or expired.
    UnknownNonce,
    /// A call that is not idempotent may have reached LINE, and no answer says
    /// whether it took effect; it was not repeated, since a repeat could do its
    /// work twice (a second rich menu, a second coupon). Check LINE's state
    /// (list the rich menus, the coupons…) before trying again.
    OutcomeUnknown(Box<OutcomeUnknown>),
}

/// What is known about a call whose outcome is unknown.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct OutcomeUnknown {
    /// The operationId.
    pub operation: &'static str,
    /// Attempts made (earlier ones failed in ways that left nothing done on LINE).
    pub attempts: u32,
    /// How the last attempt ended.
    pub cause: UnknownCause,
}

/// How the last attempt of a call with an unknown outcome ended.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum UnknownCause {
    /// LINE answered with a server error (5xx): its status, message and request id.
    ServerError(ApiError),
    /// No answer came in time.
    Timeout,
    /// The connection broke after the request was sent.
    ConnectionLost,
}

/// An error answer from LINE.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ApiError {
    /// The operationId that failed.
    pub operation: &'static str,
    /// HTTP status.
    pub status: u16,
    /// LINE's `message`.
    pub message: String,
    /// LINE's `details[]`, each naming a `property`.
    pub details: Vec<ApiErrorDetail>,
    /// The `x-line-request-id` of the failed request.
    pub request_id: Option<RequestId>,
    /// For a 429: which limit was hit.
    pub too_many_requests: Option<TooManyRequests>,
    /// The server's `Retry-After` (on a 429 or 503, when it sent one): come
    /// back no sooner than this.
    pub retry_after: Option<std::time::Duration>,
}

/// One entry of an API error's `details[]`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ApiErrorDetail {
    /// What is wrong.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Where, as a property path such as `messages[0].text`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub property: Option<String>,
}

/// The three meanings of a 429.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TooManyRequests {
    /// "The API rate limit has been exceeded": wait and retry.
    RateLimit,
    /// "You have reached your monthly limit.": never retry this month.
    MonthlyQuota,
    /// Too many audiences being created at once: retry later.
    AudienceConcurrency,
    /// A 429 whose message is not one of the above; treated as a rate limit.
    Other,
}

impl TooManyRequests {
    /// Classifies a 429 by LINE's message.
    pub fn classify(message: &str) -> Self {
        let m = message.to_ascii_lowercase();
        if m.contains("monthly limit") {
            Self::MonthlyQuota
        } else if m.contains("rate limit") {
            Self::RateLimit
        } else if m.contains("concurren") || m.contains("audience") {
            Self::AudienceConcurrency
        } else {
            Self::Other
        }
    }
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

    /// The API error, when LINE answered with one (also when that answer, a
    /// 5xx, left the outcome of a call unknown).
    pub fn api(&self) -> Option<&ApiError> {
        match &self.kind {
            ErrorKind::Api(e) => Some(e),
            ErrorKind::OutcomeUnknown(u) => match &u.cause {
                UnknownCause::ServerError(e) => Some(e),
                _ => None,
            },
            _ => None,
        }
    }

    /// What is known, when a call that is not idempotent may or may not have
    /// taken effect on LINE ([`ErrorKind::OutcomeUnknown`]).
    pub fn outcome_unknown(&self) -> Option<&OutcomeUnknown> {
        match &self.kind {
            ErrorKind::OutcomeUnknown(u) => Some(u),
            _ => None,
        }
    }

    /// The HTTP status, when LINE answered.
    pub fn status(&self) -> Option<u16> {
        self.api().map(|e| e.status)
    }

    /// Whether this is the monthly-quota 429, which must not be retried.
    pub fn is_monthly_quota(&self) -> bool {
        self.api().and_then(|e| e.too_many_requests) == Some(TooManyRequests::MonthlyQuota)
    }

    pub(crate) fn invalid_input(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput {
            field: field.into(),
            reason: reason.into(),
        })
    }

    pub(crate) fn parse(pointer: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::new(ErrorKind::Parse {
            pointer: pointer.into(),
            reason: reason.into(),
        })
    }
}

impl From<crate::ids::ParseRetryKeyError> for Error {
    /// A retry key that is not a UUID: invalid input for the field `retry_key`.
    fn from(e: crate::ids::ParseRetryKeyError) -> Self {
        Self::invalid_input("retry_key", e.to_string())
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
            ErrorKind::Api(e) => write_api(f, e),
            ErrorKind::OutcomeUnknown(u) => {
                write!(
                    f,
                    "{}: outcome unknown after {} attempt(s), not repeated because the call is not idempotent: ",
                    u.operation, u.attempts
                )?;
                match &u.cause {
                    UnknownCause::ServerError(e) => write_api(f, e),
                    UnknownCause::Timeout => f.write_str("timed out after sending"),
                    UnknownCause::ConnectionLost => f.write_str("connection lost after sending"),
                }
            }
            ErrorKind::Timeout { operation } => write!(f, "{operation} timed out"),
            ErrorKind::Connection { operation } => write!(f, "{operation}: connection failed"),
            ErrorKind::Decode {
                operation,
                pointer,
                reason,
            } => {
                write!(
                    f,
                    "{operation}: unexpected response body at {}: {reason}",
                    show_pointer(pointer)
                )
            }
            ErrorKind::InvalidInput { field, reason } => write!(f, "invalid {field}: {reason}"),
            ErrorKind::MissingSignature => f.write_str("missing x-line-signature header"),
            ErrorKind::MalformedSignature => f.write_str("x-line-signature is not base64 of a 32-byte hmac"),
            ErrorKind::InvalidSignature => f.write_str("x-line-signature does not match the body"),
            ErrorKind::Parse { pointer, reason } => {
                write!(f, "invalid json at {}: {reason}", show_pointer(pointer))
            }
            ErrorKind::Store { operation } => write!(f, "host store failed during {operation}"),
            ErrorKind::Token => f.write_str("the token source could not provide a channel access token"),
            ErrorKind::Config { field, reason } => {
                write!(f, "invalid configuration of {field}: {reason}")
            }
            ErrorKind::UnknownNonce => f.write_str("account-link nonce is unknown, used or expired"),
        }
    }
}

fn write_api(f: &mut fmt::Formatter<'_>, e: &ApiError) -> fmt::Result {
    write!(f, "{} failed with status {}: {}", e.operation, e.status, e.message)?;
    for d in &e.details {
        match (&d.property, &d.message) {
            (Some(p), Some(m)) => write!(f, "; {p}: {m}")?,
            (None, Some(m)) => write!(f, "; {m}")?,
            (Some(p), None) => write!(f, "; {p}")?,
            (None, None) => {}
        }
    }
    if let Some(after) = e.retry_after {
        write!(f, " (retry after {}s)", after.as_secs())?;
    }
    if let Some(id) = &e.request_id {
        write!(f, " (request id {id})")?;
    }
    Ok(())
}

fn show_pointer(p: &str) -> &str {
    if p.is_empty() {
        "the document root"
    } else {
        p
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source.as_ref().map(|s| &**s as &(dyn StdError + 'static))
    }
}

/// Deserializes `T` from any serde deserializer (JSON, TOML, a `Value`…). On
/// failure it gives the JSON pointer of the place that failed (`/menus/0/image`)
/// together with the deserializer's own error.
pub fn deserialize_at<'de, D, T>(d: D) -> Result<T, (String, D::Error)>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    serde_path_to_error::deserialize(d).map_err(|e| (pointer_from_path(e.path()), e.into_inner()))
}

/// Parses JSON into `T`, reporting a failure with the JSON pointer of its place.
pub fn from_json_slice<'de, T: Deserialize<'de>>(bytes: &'de [u8]) -> Result<T, Error> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize(de) {
        Ok(v) => Ok(v),
        Err(e) => {
            let pointer = pointer_from_path(e.path());
            let inner = e.into_inner();
            Err(Error::parse(pointer, strip_position(&inner)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_429s() {
        assert_eq!(
            TooManyRequests::classify("The API rate limit has been exceeded. Try again later."),
            TooManyRequests::RateLimit
        );
        assert_eq!(
            TooManyRequests::classify("You have reached your monthly limit."),
            TooManyRequests::MonthlyQuota
        );
        assert_eq!(
            TooManyRequests::classify("Can't create audience: too many concurrent requests"),
            TooManyRequests::AudienceConcurrency
        );
    }

    #[test]
    fn parse_errors_name_the_pointer() {
        #[derive(Deserialize, Debug)]
        #[allow(dead_code)]
        struct T {
            a: Vec<u32>,
        }
        let e = from_json_slice::<T>(br#"{"a":[1,2,"x"]}"#).unwrap_err();
        match e.kind() {
            ErrorKind::Parse { pointer, .. } => assert_eq!(pointer, "/a/2"),
            k => panic!("unexpected {k:?}"),
        }
        assert!(e.to_string().contains("/a/2"), "{e}");
    }
}
