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

mod event_error;
mod event_reader;
mod expiring;
pub(crate) mod invalid;
mod raw;
mod reader;
#[cfg(test)]
mod reader_tests;
mod verify;
mod wire;

pub mod account_link;
#[cfg(feature = "axum")]
pub mod axum;
pub mod dedupe;
pub mod event;

pub use event::{CallbackRequest, Event};
pub use event_error::EventError;
pub use raw::{RawJson, RawObject};
pub use verify::{verify, WebhookVerifier, SIGNATURE_HEADER};

use crate::error::{strip_position, Error};
use crate::secret::ChannelSecret;

/// Parses a webhook request body (no signature check).
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
    // UTF-8 is checked once, up front, for the whole body: serde_json does
    // not check the strings it skips.
    let text = match std::str::from_utf8(body) {
        Ok(text) => text,
        Err(e) => {
            return Err(match crate::error::from_json_slice::<CallbackRequest>(body) {
                Err(e) => e,
                Ok(_) => Error::parse("", format!("invalid UTF-8 at byte {}", e.valid_up_to())),
            })
        }
    };
    // The direct reader handles every well-formed body; it gives up on
    // anything else, and serde decides.
    if let Ok(request) = read_request(text) {
        return Ok(request);
    }
    // The serde path does no path bookkeeping either; only a failure pays for
    // a second pass that finds the pointer.
    match serde_json::from_str(text) {
        Ok(request) => Ok(request),
        Err(fast) => match crate::error::from_json_slice::<CallbackRequest>(body) {
            Err(e) => Err(e),
            // The second pass does not look past the value: trailing bytes fail
            // only the first one.
            Ok(_) => Err(Error::parse("", strip_position(&fast))),
        },
    }
}

/// The direct reader over a whole body (see the `reader` module).
fn read_request(text: &str) -> Result<CallbackRequest, reader::Bail> {
    let mut r = reader::Reader::new(text);
    let request = event_reader::read_callback_request(&mut r, false)?;
    r.end()?;
    Ok(request)
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
