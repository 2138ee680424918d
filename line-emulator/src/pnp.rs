//! LINE notification messages (PNP): phone numbers the emulator knows,
//! `POST /bot/pnp/push`, the signed `delivery` completion webhook, and
//! `GET /v2/bot/message/delivery/pnp`.
//!
//! Each channel has its own phone numbers, deliveries and daily counts, as it has its own
//! friends: [`ChannelHandle::add_phone_user`](crate::ChannelHandle::add_phone_user) registers a
//! number with one channel ([`Emulator::add_phone_user`](crate::Emulator::add_phone_user) with
//! the default channel). A push is answered from the phone numbers of the channel its bearer
//! token belongs to, and the delivery webhook goes to that channel's webhook URL, signed with
//! its secret.
//!
//! A phone number is known as one of three kinds of [`PhoneUser`]:
//! - [`with_line`](PhoneUser::with_line): LINE delivers. The push answers 200 and,
//!   after the delivery delay, a `delivery` event carrying the request's
//!   `X-Line-Delivery-Tag` (or the hashed number when there was none) goes to the
//!   webhook URL, signed with the channel secret.
//! - [`never_confirms`](PhoneUser::never_confirms): a LINE user who never agrees to
//!   receive notification messages (or never passes the SMS check). The push answers
//!   200, and nothing more happens: no delivery, no webhook.
//! - [`without_line`](PhoneUser::without_line), and every number the emulator does not
//!   know: the push answers 422.
//!
//! Bad requests answer 400 in LINE's shape: a body that does not parse or whose
//! messages LINE would refuse, a `to` that is not 64 lowercase hex digits (a SHA-256 of
//! an E.164 number), a delivery tag outside 16 to 100 characters. As LINE documents, the
//! endpoint takes no `X-Line-Retry-Key`. The count of
//! `GET /v2/bot/message/delivery/pnp?date=yyyyMMdd` is of messages delivered on that
//! day in Japan time.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use jiff::Timestamp;
use line_core::ids::{RequestId, UserId};

use crate::error::Error;

/// Fewest characters in an `X-Line-Delivery-Tag` (LINE's reference).
pub const MIN_DELIVERY_TAG_LEN: usize = 16;
/// Most characters in an `X-Line-Delivery-Tag` (LINE's reference).
pub const MAX_DELIVERY_TAG_LEN: usize = 100;

/// How a phone number answers a LINE notification message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PhoneKind {
    /// Has LINE and receives: 200, then the delivery webhook.
    WithLine,
    /// Has no LINE account (or cannot receive): 422.
    WithoutLine,
    /// Has LINE but never confirms: 200, then nothing.
    NeverConfirms,
}

/// A phone number the emulator knows. `Debug` hides the number.
#[derive(Clone)]
#[must_use]
pub struct PhoneUser {
    pub(crate) e164: String,
    pub(crate) kind: PhoneKind,
    pub(crate) delay: Option<Duration>,
    pub(crate) user_id: Option<UserId>,
}

impl std::fmt::Debug for PhoneUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PhoneUser")
            .field("e164", &"<redacted>")
            .field("kind", &self.kind)
            .field("delay", &self.delay)
            .field("user_id", &self.user_id)
            .finish()
    }
}

impl PhoneUser {
    /// A number whose owner has LINE and receives notification messages. `e164` is
    /// the number in E.164 form (`+819012345678`).
    pub fn with_line(e164: impl Into<String>) -> Self {
        Self::new(e164, PhoneKind::WithLine)
    }

    /// A number LINE cannot deliver to (422).
    pub fn without_line(e164: impl Into<String>) -> Self {
        Self::new(e164, PhoneKind::WithoutLine)
    }

    /// A number whose owner never confirms: 200 and no delivery.
    pub fn never_confirms(e164: impl Into<String>) -> Self {
        Self::new(e164, PhoneKind::NeverConfirms)
    }

    fn new(e164: impl Into<String>, kind: PhoneKind) -> Self {
        Self {
            e164: e164.into(),
            kind,
            delay: None,
            user_id: None,
        }
    }

    /// This number's delivery webhook comes `delay` after the push (instead of its
    /// channel's [`set_pnp_delivery_delay`](crate::ChannelHandle::set_pnp_delivery_delay)).
    pub fn delivery_delay(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }

    /// The delivered messages land in the inbox of this simulated user, in the channel the
    /// number is registered with ([`ChannelHandle::messages`](crate::ChannelHandle::messages)).
    pub fn user(mut self, user_id: UserId) -> Self {
        self.user_id = Some(user_id);
        self
    }

    /// How the number answers.
    pub fn kind(&self) -> PhoneKind {
        self.kind
    }
}

/// One notification message delivered by the emulator.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PnpDelivered {
    /// The `X-Line-Delivery-Tag`, if the request had one.
    pub delivery_tag: Option<String>,
    /// The `x-line-request-id` of the push.
    pub request_id: RequestId,
    /// Messages in the request.
    pub messages: usize,
    /// Emulated time of the push.
    pub at: Timestamp,
}

/// The PNP part of one channel's state.
#[derive(Debug, Default)]
pub(crate) struct PnpState {
    /// Phone users by the SHA-256 hex of their E.164 number.
    pub(crate) phones: HashMap<String, PhoneUser>,
    /// The delivery delay of numbers without their own.
    pub(crate) delay: Duration,
    /// Messages delivered per day (`yyyyMMdd`, Japan time).
    pub(crate) per_day: BTreeMap<String, i64>,
    pub(crate) delivered: Vec<PnpDelivered>,
    pub(crate) webhooks: u64,
    pub(crate) refused: u64,
}

impl PnpState {
    /// Adds (or replaces) a phone number. Fails with a config error naming `e164` (not
    /// echoing it) when it is not `+` and 2 to 15 digits.
    pub(crate) fn add_phone(&mut self, user: PhoneUser) -> Result<(), Error> {
        if !is_e164(&user.e164) {
            return Err(Error::config(
                "e164",
                "not a phone number in E.164 form (+ and 2 to 15 digits)",
            ));
        }
        self.phones.insert(sha256_hex(&user.e164), user);
        Ok(())
    }
}

/// The `to` of a notification message for a number in E.164 form: the lowercase hex
/// SHA-256 of it.
///
/// ```
/// assert_eq!(
///     line_emulator::pnp::phone_hash("+818000001234"),
///     "d41e0ad70dddfeb68f149ad6fc61574b9c5780ab7bcb2fba5517771ffbb2409c"
/// );
/// ```
pub fn phone_hash(e164: &str) -> String {
    sha256_hex(e164)
}

/// The lowercase hex SHA-256 of `s`.
fn sha256_hex(s: &str) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, s.as_bytes());
    let mut out = String::with_capacity(64);
    for b in d.as_ref() {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

fn is_e164(s: &str) -> bool {
    s.len() >= 3 && s.len() <= 16 && s.starts_with('+') && s[1..].bytes().all(|b| b.is_ascii_digit())
}

/// Whether `s` is a `to` of a notification message: 64 lowercase hex digits.
pub(crate) fn is_hash(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_like_lines_example() {
        assert_eq!(
            sha256_hex("+818000001234"),
            "d41e0ad70dddfeb68f149ad6fc61574b9c5780ab7bcb2fba5517771ffbb2409c"
        );
        assert!(is_hash(&sha256_hex("+818000001234")));
        assert!(!is_hash("+818000001234"));
        assert!(is_e164("+818000001234"));
        assert!(!is_e164("08000001234"));
    }
}
