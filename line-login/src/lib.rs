//! Verify LINE Login and LIFF tokens.
//!
//! An ID token (a JWT) is verified either locally, with [`Verifier::verify_id_token`]
//! (HS256 with the channel secret for web login, ES256 against LINE's published keys
//! for LIFF and the LINE SDKs), or by LINE itself, with
//! [`Verifier::verify_id_token_remote`] (`POST /oauth2/v2.1/verify`). An access token is
//! verified with [`Verifier::verify_access_token`] (`GET /oauth2/v2.1/verify`).
//!
//! Local verification checks the signature, the issuer (`https://access.line.me`), the
//! audience (the channel ID), the expiry and issue time with a small leeway, and the
//! nonce when one is given. ES256 keys come from LINE's JWKS endpoint
//! (`/oauth2/v2.1/certs`), fetched on first use, cached for [`Config::jwks_ttl`], and
//! fetched again when a token names an unknown key ID, at most once per
//! [`Config::jwks_min_refetch`].
//!
//! With the `axum` feature (on by default), [`LineUser`] is an extractor that gives a
//! handler the verified user ID from `Authorization: Bearer <id token>`, and answers 401
//! with no detail otherwise.

mod error;
#[cfg(feature = "axum")]
mod extract;
mod jwks;
mod verify;

pub use error::{Error, ErrorKind, MalformedPart};
#[cfg(feature = "axum")]
pub use extract::{LineUser, Unauthorized};
pub use verify::{AccessTokenInfo, Config, IdTokenClaims, Verifier};

/// The issuer (`iss`) of every LINE ID token.
pub const ISSUER: &str = "https://access.line.me";
/// The base URL of LINE's Login API (JWKS and verify endpoints).
pub const DEFAULT_API_BASE: &str = "https://api.line.me";
/// The path of LINE's JSON Web Key Set for ES256 ID tokens.
pub const JWKS_PATH: &str = "/oauth2/v2.1/certs";
/// The path of the ID token (`POST`) and access token (`GET`) verify endpoints.
pub const VERIFY_PATH: &str = "/oauth2/v2.1/verify";
