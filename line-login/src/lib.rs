#![doc = include_str!("../README.md")]

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
