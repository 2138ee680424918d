//! # line-core
//!
//! The base of the workspace: the wire model of LINE's APIs, a typed client
//! for every operation of the official OpenAPI specs, and the webhook layer.
//!
//! - [`model`]: every request and response type of the specs (messaging,
//!   audience, insight, channel access token, LIFF, module, shop), lossless:
//!   unknown properties, unknown union kinds and unknown enum values survive a
//!   parse and serialize round trip. It is the `line-model` crate (no HTTP, no
//!   async), re-exported; so are [`ids`], [`secret`] and [`limits`].
//! - [`client`] (feature `client`, on by default): one lazy request builder
//!   per operation ([`client::request`]: sent on `.await`, or turned into a
//!   request without network by `try_into_request()`), with retries ([`retry`]), retry keys, client-side rate limits
//!   ([`ratelimit`]), token sources, dry runs and fan-out.
//! - [`webhook`]: signature check, lenient lossless parsing of all event
//!   types, redelivery dedupe, account link, and (feature `axum`) an extractor.
//! - [`error`]: one error type with a [`kind()`](Error::kind) to branch on.
//! - [`clock`]: the time source of the host traits.
//! - `testing` (feature `testing`): signing helpers and the conformance suites
//!   of the host traits.
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "client")]
pub mod client;
pub mod clock;
pub mod error;
/// The wire model: the [`line_model`] crate, re-exported.
pub use line_model as model;
pub use line_model::ids;
pub use line_model::limits;
pub mod ratelimit;
pub mod retry;
pub use line_model::secret;
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "redis"))]
pub mod store;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod webhook;

pub use error::{ApiError, ApiErrorDetail, Error, ErrorKind, TooManyRequests};
pub use ids::{GroupId, RequestId, RetryKey, RichMenuId, RoomId, UserId};
pub use secret::{ChannelAccessToken, ChannelSecret, SecretString};

/// The README's code blocks, compiled as doc tests (its quick start uses the `axum` feature).
#[cfg(all(doctest, feature = "axum"))]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
