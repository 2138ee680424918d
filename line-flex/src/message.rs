//! Turning a container into a message ready to send.
//!
//! The JSON of a flex message is built here; [`into_message`] converts it into
//! `line_core`'s wire model.

use serde_json::{Map, Value};

use crate::container::{Bubble, Carousel, Container, FlexMessage, VideoBubble};
use crate::error::{Error, ErrorKind};
use crate::limits::{MAX_ALT_TEXT_UTF16, MIN_ALT_TEXT_UTF16};
use crate::validate::utf16_len;

fn check_alt_text(alt_text: &str) -> Result<(), Error> {
    let n = utf16_len(alt_text);
    if (MIN_ALT_TEXT_UTF16..=MAX_ALT_TEXT_UTF16).contains(&n) {
        Ok(())
    } else {
        Err(Error::new(ErrorKind::AltText { utf16_len: n }))
    }
}

fn to_value<T: serde::Serialize>(v: &T) -> Result<Value, Error> {
    serde_json::to_value(v).map_err(|e| Error::new(ErrorKind::Conversion { reason: e.to_string() }))
}

impl FlexMessage {
    /// The message as JSON, `{"type":"flex","altText":…,"contents":…}`.
    pub fn to_json(&self) -> Result<Value, Error> {
        check_alt_text(&self.alt_text)?;
        to_value(self)
    }

    /// The message in `line_core`'s wire model, ready to send.
    pub fn into_message(self) -> Result<line_core::model::Message, Error> {
        into_message(self.to_json()?)
    }
}

/// Converts flex message JSON into `line_core`'s wire model.
fn into_message(json: Value) -> Result<line_core::model::Message, Error> {
    serde_json::from_value(json).map_err(|e| {
        let reason = e.to_string();
        Error::new(ErrorKind::Conversion { reason }).with_source(e)
    })
}

macro_rules! container_message {
    ($($t:ty),*) => {
        $(
            impl $t {
                /// The flex message JSON `{"type":"flex","altText":…,"contents":…}`
                /// showing this container. Fails if `alt_text` is empty or longer
                /// than 1500 UTF-16 code units.
                pub fn to_message_json(&self, alt_text: &str) -> Result<Value, Error> {
                    check_alt_text(alt_text)?;
                    let mut m = Map::new();
                    m.insert("type".to_owned(), Value::from("flex"));
                    m.insert("altText".to_owned(), Value::from(alt_text));
                    m.insert("contents".to_owned(), to_value(self)?);
                    Ok(Value::Object(m))
                }

                /// A `line_core` flex message showing this container, ready to send.
                /// Fails if `alt_text` is empty or longer than 1500 UTF-16 code units.
                ///
                /// It does not validate the container; call `validate()` first.
                pub fn into_message(self, alt_text: impl AsRef<str>) -> Result<line_core::model::Message, Error> {
                    into_message(self.to_message_json(alt_text.as_ref())?)
                }
            }
        )*
    };
}

container_message!(Bubble, VideoBubble, Carousel, Container);
