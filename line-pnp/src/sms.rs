//! The host's SMS gateway, as a trait.

use std::error::Error as StdError;
use std::fmt;

use async_trait::async_trait;

use crate::phone::PhoneNumber;
use crate::tag::DeliveryTag;

/// One SMS to send. `Debug` shows the tag and key, never the number or the text.
#[non_exhaustive]
pub struct Sms<'a> {
    /// The recipient.
    pub to: &'a PhoneNumber,
    /// The text.
    pub text: &'a str,
    /// The notice's tag.
    pub tag: &'a DeliveryTag,
    /// The same for every attempt at this notice's SMS, also after a restart: pass it
    /// to the gateway's idempotency mechanism (or keep it yourself) so that a resumed
    /// attempt does not send a second SMS.
    pub idempotency_key: &'a str,
}

impl<'a> Sms<'a> {
    /// An SMS (the notifier makes these; tests and tools may too).
    pub fn new(to: &'a PhoneNumber, text: &'a str, tag: &'a DeliveryTag, idempotency_key: &'a str) -> Self {
        Self {
            to,
            text,
            tag,
            idempotency_key,
        }
    }
}

impl fmt::Debug for Sms<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sms")
            .field("to", self.to)
            .field("text", &"<redacted>")
            .field("tag", self.tag)
            .field("idempotency_key", &self.idempotency_key)
            .finish()
    }
}

/// A failure of the SMS gateway: transient (try again later: the notice stays due) or
/// permanent (the notice is recorded as failed).
///
/// Its source must not quote the phone number or the text.
pub struct SmsError {
    transient: bool,
    source: Option<Box<dyn StdError + Send + Sync>>,
}

impl SmsError {
    /// A failure worth retrying (timeout, gateway down, rate limit).
    pub fn transient(source: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        Self {
            transient: true,
            source: Some(source.into()),
        }
    }

    /// A refusal that a retry will not change (a number that cannot take SMS).
    pub fn permanent(source: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        Self {
            transient: false,
            source: Some(source.into()),
        }
    }

    /// Whether a retry may help.
    pub fn is_transient(&self) -> bool {
        self.transient
    }
}

impl fmt::Debug for SmsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmsError")
            .field("transient", &self.transient)
            .field("source", &self.source)
            .finish()
    }
}

impl fmt::Display for SmsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.transient {
            f.write_str("sms gateway failed (transient)")
        } else {
            f.write_str("sms gateway refused the message")
        }
    }
}

impl StdError for SmsError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn StdError + 'static))
    }
}

/// Sends an SMS through the host's gateway (Twilio, a carrier API…).
///
/// Called only for a notice LINE could not deliver (a 422, a refusal, or no delivery
/// webhook in time), at most once per notice unless an attempt failed transiently or the
/// process stopped mid-way; every attempt for one notice carries the same
/// [`idempotency_key`](Sms::idempotency_key).
#[async_trait]
pub trait SmsSender: Send + Sync {
    /// Sends `sms`.
    async fn send(&self, sms: &Sms<'_>) -> Result<(), SmsError>;
}
