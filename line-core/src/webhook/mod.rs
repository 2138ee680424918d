//! Webhooks: check the signature, parse the events, drop redeliveries, link accounts.
//!
//! A request is handled in this order:
//! 1. [`WebhookVerifier::verify`] checks `x-line-signature` against the raw body
//!    (HMAC-SHA256 with the channel secret, compared in constant time);
//! 2. [`parse`] turns the body into a typed [`CallbackRequest`], keeping unknown
//!    event types and unknown properties so nothing is lost; an event that
//!    cannot be read arrives as [`Event::Invalid`] without failing the others;
//! 3. optionally, a [`dedupe::Deduper`] drops events already handled, keyed on
//!    `webhookEventId`.
//!
//! [`WebhookVerifier::verify_and_parse`] does steps 1 and 2. With the `axum`
//! feature, the extractors of the `axum` module (`VerifiedEvents`,
//! `VerifiedBody`) do them for a handler.
//!
//! ```
//! use line_core::webhook::{Event, WebhookVerifier};
//! use line_core::ChannelSecret;
//!
//! let verifier = WebhookVerifier::new(&ChannelSecret::new("my-channel-secret"));
//! let body = br#"{"destination":"U0123","events":[{"type":"unfollow","timestamp":1,"mode":"active"}]}"#;
//! let signature = verifier.sign(body); // LINE sends this in `x-line-signature`
//!
//! let request = verifier.verify_and_parse(body, Some(&signature))?;
//! assert!(matches!(request.events[0], Event::Unfollow(_)));
//! # Ok::<(), line_core::Error>(())
//! ```

mod expiring;
mod verify;

pub mod account_link;
#[cfg(feature = "axum")]
pub mod axum;
pub mod dedupe;
/// The webhook event types: line-model's, re-exported.
pub use line_model::webhook::event;

pub use line_model::webhook::{CallbackRequest, Event, EventError, RawJson, RawObject};
pub use verify::{verify, WebhookVerifier, SIGNATURE_HEADER};

use crate::error::Error;
use crate::secret::ChannelSecret;

/// Parses a webhook request body (no signature check): [`line_model::webhook::parse`],
/// with its error as this crate's [`Error`].
///
/// Lenient where LINE's real payloads are: `webhookEventId`, `deliveryContext`,
/// `source` and `mode` may be missing, and `events` may be empty. An unknown
/// event type becomes [`Event::Unknown`] with its JSON kept; unknown properties
/// are kept in each struct's `extra`.
///
/// One bad event never loses the others: an event with a missing or mistyped
/// property, or a repeated key, becomes [`Event::Invalid`] with its JSON and
/// an [`EventError`] (pointer and reason), and the rest are read as usual.
///
/// Lossless: for every body it accepts, serializing the result gives the same
/// JSON value as `serde_json::from_slice::<Value>(body)`.
///
/// A body that is not a webhook request (not UTF-8, not JSON, not an object,
/// `events` missing or not an array, `destination` not a string, a key repeated
/// in the request object) gives a [`Parse`](crate::ErrorKind::Parse) error
/// naming the JSON pointer of the offending value.
pub fn parse(body: &[u8]) -> Result<CallbackRequest, Error> {
    line_model::webhook::parse(body).map_err(|e| {
        let (pointer, reason) = e.into_parts();
        Error::parse(pointer, reason)
    })
}

/// Checks the signature with a one-off verifier, then parses the body.
///
/// Prefer [`WebhookVerifier::verify_and_parse`] on a long-lived verifier.
pub fn verify_and_parse(
    secret: &ChannelSecret,
    body: &[u8],
    signature: Option<&str>,
) -> Result<CallbackRequest, Error> {
    WebhookVerifier::new(secret).verify_and_parse(body, signature)
}

impl WebhookVerifier {
    /// Checks the signature (see [`verify`](Self::verify)), then [`parse`]s the body.
    pub fn verify_and_parse(&self, body: &[u8], signature: Option<&str>) -> Result<CallbackRequest, Error> {
        self.verify(body, signature)?;
        parse(body)
    }
}
