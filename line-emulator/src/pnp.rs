//! LINE notification messages (PNP): phone numbers the emulator knows,
//! `POST /bot/pnp/push`, the signed `delivery` completion webhook, and
//! `GET /v2/bot/message/delivery/pnp`.
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
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use jiff::Timestamp;
use line_core::ids::{RequestId, UserId};
use line_core::model::{Message, NumberOfMessagesResponse, PnpMessagesRequest};
use serde_json::{json, Value};

use crate::error::LineError;
use crate::handler::{Answer, Ctx, Reply, Shared};

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

    /// This number's delivery webhook comes `delay` after the push (instead of the
    /// emulator's [`pnp_delivery_delay`](crate::Emulator::set_pnp_delivery_delay)).
    pub fn delivery_delay(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }

    /// The delivered messages land in the inbox of this simulated user
    /// ([`Emulator::messages`](crate::Emulator::messages)).
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

/// The PNP part of the emulator's state.
#[derive(Debug, Default)]
pub(crate) struct PnpState {
    /// Phone users by the SHA-256 hex of their E.164 number.
    phones: HashMap<String, PhoneUser>,
    delay: Duration,
    /// Messages delivered per day (`yyyyMMdd`, Japan time).
    per_day: BTreeMap<String, i64>,
    delivered: Vec<PnpDelivered>,
    webhooks: u64,
    refused: u64,
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

fn is_hash(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl crate::Emulator {
    /// Adds (or replaces) a phone number for LINE notification messages. Fails with a
    /// config error naming `e164` (not echoing it) when it is not `+` and 2 to 15 digits.
    pub fn add_phone_user(&self, user: PhoneUser) -> Result<(), crate::Error> {
        if !is_e164(&user.e164) {
            return Err(crate::Error::config(
                "e164",
                "not a phone number in E.164 form (+ and 2 to 15 digits)",
            ));
        }
        let hash = sha256_hex(&user.e164);
        self.shared.lock().pnp.phones.insert(hash, user);
        Ok(())
    }

    /// The delay of the delivery webhook for numbers without their own (default: none;
    /// the webhook still goes after the push has been answered).
    pub fn set_pnp_delivery_delay(&self, delay: Duration) {
        self.shared.lock().pnp.delay = delay;
    }

    /// Notification messages delivered so far, in order.
    pub fn pnp_deliveries(&self) -> Vec<PnpDelivered> {
        self.shared.lock().pnp.delivered.clone()
    }

    /// Delivery webhooks sent (or attempted) so far.
    pub fn pnp_webhooks_sent(&self) -> u64 {
        self.shared.lock().pnp.webhooks
    }

    /// Pushes answered 422.
    pub fn pnp_refused(&self) -> u64 {
        self.shared.lock().pnp.refused
    }
}

/// Handles the PNP operations; `None` for every other one.
pub(crate) fn handle(shared: &Arc<Shared>, ctx: &Ctx) -> Option<Reply> {
    match ctx.op.id {
        "pushMessagesByPhone" => Some(push(shared, ctx)),
        "getPNPMessageStatistics" => Some(statistics(ctx)),
        _ => None,
    }
}

fn push(shared: &Arc<Shared>, ctx: &Ctx) -> Reply {
    let tag = match ctx.headers.get("x-line-delivery-tag") {
        None => None,
        Some(v) => {
            let s = v
                .to_str()
                .map_err(|_| LineError::bad_request("The value for the 'X-Line-Delivery-Tag' header is invalid"))?;
            let n = s.chars().count();
            if !(MIN_DELIVERY_TAG_LEN..=MAX_DELIVERY_TAG_LEN).contains(&n) {
                return Err(LineError::bad_request(format!(
                    "The value for the 'X-Line-Delivery-Tag' header is invalid: length must be between \
                     {MIN_DELIVERY_TAG_LEN} and {MAX_DELIVERY_TAG_LEN}"
                )));
            }
            Some(s.to_owned())
        }
    };
    let raw: Value = ctx.json()?;
    crate::validate::check_body(&raw)?;
    let req: PnpMessagesRequest = ctx.json()?;
    if !is_hash(&req.to) {
        return Err(LineError::property(
            "to",
            "The property, 'to', in the request body is invalid (expected the SHA-256 hex of an E.164 number)",
        ));
    }
    let mut st = ctx.lock();
    let Some(user) = st.pnp.phones.get(&req.to).cloned() else {
        st.pnp.refused += 1;
        return Err(cannot_deliver());
    };
    match user.kind {
        PhoneKind::WithoutLine => {
            st.pnp.refused += 1;
            Err(cannot_deliver())
        }
        PhoneKind::NeverConfirms => Ok(Answer::ok()),
        PhoneKind::WithLine => {
            let day = ctx
                .now
                .to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(9)))
                .strftime("%Y%m%d")
                .to_string();
            *st.pnp.per_day.entry(day).or_default() += req.messages.len() as i64;
            st.pnp.delivered.push(PnpDelivered {
                delivery_tag: tag.clone(),
                request_id: ctx.request_id.clone(),
                messages: req.messages.len(),
                at: ctx.now,
            });
            if let Some(uid) = &user.user_id {
                let messages: Vec<Arc<Message>> = req.messages.iter().cloned().map(Arc::new).collect();
                st.deliver_to_id(uid, &messages, &ctx.request_id, ctx.op.id, ctx.now);
            }
            let delay = user.delay.unwrap_or(st.pnp.delay);
            drop(st);
            let data = tag.unwrap_or_else(|| req.to.clone());
            let shared = Arc::clone(shared);
            let channel = Arc::clone(&ctx.channel);
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                let now = shared.now();
                let event = {
                    let mut st = channel.lock();
                    st.pnp.webhooks += 1;
                    let mut ev = crate::webhook::event(&mut st, "delivery", "", now);
                    if let Some(obj) = ev.as_object_mut() {
                        obj.remove("source");
                    }
                    ev["delivery"] = json!({ "data": data });
                    ev
                };
                if let Err(e) = crate::webhook::deliver(&shared, &channel, vec![event]).await {
                    tracing::warn!(error = %e, "line-emulator: the PNP delivery webhook failed");
                }
            });
            Ok(Answer::ok())
        }
    }
}

fn cannot_deliver() -> LineError {
    LineError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "Failed to send messages: the recipient cannot receive LINE notification messages",
    )
}

fn statistics(ctx: &Ctx) -> Reply {
    let date = ctx.query.get("date").map(String::as_str).unwrap_or("");
    if date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
        return Err(LineError::property("date", "must match ^[0-9]{8}$ (yyyyMMdd, UTC+9)"));
    }
    let success = ctx.lock().pnp.per_day.get(date).copied().unwrap_or(0);
    let mut body = NumberOfMessagesResponse::new("ready");
    body.success = Some(success);
    Ok(Answer::json(&body))
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
