//! Errors of token verification. None carries a token or a secret.

use std::fmt;

/// Which part of a JWT could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MalformedPart {
    /// The whole token: not three dot-separated parts.
    Token,
    /// The header (first part).
    Header,
    /// The payload (second part).
    Payload,
    /// The signature (third part).
    Signature,
}

impl fmt::Display for MalformedPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Token => "token",
            Self::Header => "header",
            Self::Payload => "payload",
            Self::Signature => "signature",
        })
    }
}

/// What went wrong, to branch on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The token is not a well-formed JWT.
    #[error("malformed id token: {part}: {reason}")]
    Malformed {
        /// The part that could not be read.
        part: MalformedPart,
        /// Why (never the part's content).
        reason: &'static str,
    },
    /// The header names an algorithm LINE does not use (`none` included).
    #[error("unsupported id token algorithm {alg:?} (LINE uses HS256 and ES256)")]
    UnsupportedAlgorithm {
        /// The header's `alg`, cut to 16 characters.
        alg: String,
    },
    /// An ES256 token without `kid` in its header.
    #[error("es256 id token without a key id")]
    MissingKeyId,
    /// An ES256 token whose `kid` is not among LINE's published keys.
    #[error("unknown id token key id {kid:?}")]
    UnknownKeyId {
        /// The header's `kid`, cut to 64 characters.
        kid: String,
    },
    /// An HS256 token, but the verifier has no channel secret.
    #[error("hs256 id token, but no channel secret is configured")]
    NoChannelSecret,
    /// The signature does not match (another channel's secret, another key, or a changed token).
    #[error("id token signature does not verify")]
    BadSignature,
    /// `iss` is not `https://access.line.me`.
    #[error("id token issuer is not https://access.line.me")]
    WrongIssuer,
    /// `aud` (or an access token's `client_id`) is not this channel's ID.
    #[error("token was issued for another channel")]
    WrongAudience,
    /// The token expired (beyond the leeway).
    #[error("token expired")]
    Expired,
    /// `iat` (or `nbf`) is in the future (beyond the leeway).
    #[error("id token is not valid yet")]
    NotYetValid,
    /// The nonce differs from the one given.
    #[error("id token nonce does not match")]
    NonceMismatch,
    /// LINE's verify endpoint rejected the token.
    #[error("{endpoint} rejected the token: {status} {error}: {description}")]
    Rejected {
        /// The endpoint, such as `POST /oauth2/v2.1/verify`.
        endpoint: &'static str,
        /// The HTTP status.
        status: u16,
        /// LINE's `error` field.
        error: String,
        /// LINE's `error_description` field.
        description: String,
    },
    /// The JWKS or verify endpoint could not be reached or answered something unreadable.
    #[error("{endpoint}: {reason}")]
    Http {
        /// The endpoint, such as `GET /oauth2/v2.1/certs`.
        endpoint: &'static str,
        /// What failed (no URL, so no token from a query string).
        reason: String,
    },
}

/// A verification error. Its [`kind`](Self::kind) says what failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
}

impl Error {
    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    pub(crate) fn malformed(part: MalformedPart, reason: &'static str) -> Self {
        ErrorKind::Malformed { part, reason }.into()
    }

    pub(crate) fn http(endpoint: &'static str, reason: impl Into<String>) -> Self {
        ErrorKind::Http {
            endpoint,
            reason: reason.into(),
        }
        .into()
    }
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Self {
        Self { kind }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.kind.fmt(f)
    }
}

impl std::error::Error for Error {}

/// Cuts a value taken from a token to `max` characters before it goes into an error.
pub(crate) fn cut(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}
