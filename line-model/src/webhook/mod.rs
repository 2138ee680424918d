//! Webhook events: the request body LINE posts to a bot, and [`parse`], which
//! reads it.
//!
//! The types are generated from LINE's webhook spec (plus `messageEdited`),
//! like the rest of the model. Parsing is lossless and lenient where LINE's
//! real payloads are (see [`parse`]). The signature check, redelivery dedupe
//! and account linking are line-core's `webhook` module, which re-exports
//! these types.
//!
//! ```
//! use line_model::webhook::{parse, Event};
//!
//! let body = br#"{"destination":"U0123","events":[{"type":"unfollow","timestamp":1,"mode":"active"}]}"#;
//! let request = parse(body)?;
//! assert!(matches!(request.events[0], Event::Unfollow(_)));
//! # Ok::<(), line_model::webhook::ParseError>(())
//! ```

mod event_error;
mod event_reader;
mod invalid;
mod raw;
mod reader;
#[cfg(test)]
mod reader_tests;
mod wire;

pub mod event;

use std::fmt;

pub use event::{CallbackRequest, Event};
pub use event_error::EventError;
pub use raw::{RawJson, RawObject};

use crate::wire::{pointer_from_path, strip_position};

/// A body that is not a webhook request: where (a JSON pointer, empty for the
/// whole document) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pointer: String,
    reason: String,
}

impl ParseError {
    fn new(pointer: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            pointer: pointer.into(),
            reason: reason.into(),
        }
    }

    /// The JSON pointer of the offending value (`""` for the whole body).
    pub fn pointer(&self) -> &str {
        &self.pointer
    }

    /// Why it was refused.
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// The pointer and the reason, by value.
    pub fn into_parts(self) -> (String, String) {
        (self.pointer, self.reason)
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = if self.pointer.is_empty() {
            "the document root"
        } else {
            &self.pointer
        };
        write!(f, "invalid webhook body at {at}: {}", self.reason)
    }
}

impl std::error::Error for ParseError {}

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
/// in the request object) gives a [`ParseError`] naming the JSON pointer of the
/// offending value.
pub fn parse(body: &[u8]) -> Result<CallbackRequest, ParseError> {
    // UTF-8 is checked once, up front, for the whole body: serde_json does
    // not check the strings it skips.
    let text = match std::str::from_utf8(body) {
        Ok(text) => text,
        Err(e) => {
            return Err(match with_pointer(body) {
                Err(e) => e,
                Ok(()) => ParseError::new("", format!("invalid UTF-8 at byte {}", e.valid_up_to())),
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
        Err(fast) => match with_pointer(body) {
            Err(e) => Err(e),
            // The second pass does not look past the value: trailing bytes fail
            // only the first one.
            Ok(()) => Err(ParseError::new("", strip_position(&fast))),
        },
    }
}

/// The serde path again, keeping track of where it is, to name the place of
/// a failure.
fn with_pointer(body: &[u8]) -> Result<(), ParseError> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    match serde_path_to_error::deserialize::<_, CallbackRequest>(de) {
        Ok(_) => Ok(()),
        Err(e) => {
            let pointer = pointer_from_path(e.path());
            Err(ParseError::new(pointer, strip_position(e.inner())))
        }
    }
}

/// The direct reader over a whole body (see the `reader` module).
fn read_request(text: &str) -> Result<CallbackRequest, reader::Bail> {
    let mut r = reader::Reader::new(text);
    let request = event_reader::read_callback_request(&mut r, false)?;
    r.end()?;
    Ok(request)
}
