#![doc = include_str!("../README.md")]
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
