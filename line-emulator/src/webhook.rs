//! Webhook delivery: signed bodies with `webhookEventId` and `deliveryContext`,
//! optional redelivery, and the events of the simulated-user helpers.

use std::time::Duration;

use jiff::Timestamp;
use line_core::webhook::WebhookVerifier;
use rand::Rng;
use serde::Serialize;
use serde_json::{json, Value};

use crate::error::{Error, ErrorKind};
use crate::handler::{Channel, Shared};
use crate::state::State;

/// What a webhook helper did.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct WebhookDelivery {
    /// The events sent (as first delivered, `isRedelivery: false`).
    pub events: Vec<Value>,
    /// The webhook's last HTTP status; `None` if no webhook URL is configured
    /// (the simulated user's state still changed).
    pub status: Option<u16>,
    /// Deliveries made, redeliveries included.
    pub attempts: u32,
}

impl WebhookDelivery {
    /// The reply token of the first event, if it has one.
    pub fn reply_token(&self) -> Option<&str> {
        self.events.first()?.get("replyToken")?.as_str()
    }

    /// The `webhookEventId` of the first event.
    pub fn webhook_event_id(&self) -> Option<&str> {
        self.events.first()?.get("webhookEventId")?.as_str()
    }
}

/// A ULID (48-bit milliseconds, 80 random bits, Crockford base32), the format
/// of LINE's `webhookEventId`. Ten lines are simpler than a dependency here.
fn ulid(state: &mut State, now: Timestamp) -> String {
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let ms = u128::try_from(now.as_millisecond()).unwrap_or(0) & ((1 << 48) - 1);
    let rand: u128 = state.rng.random::<u128>() & ((1 << 80) - 1);
    let v = (ms << 80) | rand;
    (0..26)
        .rev()
        .map(|i| ALPHABET[((v >> (i * 5)) & 31) as usize] as char)
        .collect()
}

/// The common part of an event from user `user_id`.
pub(crate) fn event(state: &mut State, kind: &str, user_id: &str, now: Timestamp) -> Value {
    json!({
        "type": kind,
        "mode": "active",
        "timestamp": now.as_millisecond(),
        "source": {"type": "user", "userId": user_id},
        "webhookEventId": ulid(state, now),
        "deliveryContext": {"isRedelivery": false},
    })
}

/// Mints a reply token for user `idx` and puts it on `event`.
pub(crate) fn with_reply_token(state: &mut State, event: &mut Value, idx: usize, now: Timestamp) {
    let token = state.hex_id("");
    state.reply_tokens.insert(token.clone(), (idx, now));
    event["replyToken"] = Value::String(token);
}

/// Posts the events to `channel`'s webhook URL, signed with its secret, with its bot user ID
/// as `destination`; redelivers on failure.
pub(crate) async fn deliver(shared: &Shared, channel: &Channel, events: Vec<Value>) -> Result<WebhookDelivery, Error> {
    let Some(url) = channel.webhook_url.clone() else {
        return Ok(WebhookDelivery {
            events,
            status: None,
            attempts: 0,
        });
    };
    let verifier = WebhookVerifier::new(&channel.secret);
    let mut attempts = 0;
    let mut last_status = None;
    let mut last_err: Option<reqwest::Error> = None;
    let mut sent = events.clone();
    while attempts <= shared.config.redeliveries {
        if attempts > 0 {
            for e in &mut sent {
                e["deliveryContext"]["isRedelivery"] = Value::Bool(true);
            }
        }
        attempts += 1;
        let body = json!({"destination": channel.bot_user_id, "events": sent});
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        let signature = verifier.sign(&bytes);
        let result = shared
            .http
            .post(&url)
            .header("content-type", "application/json; charset=utf-8")
            .header("x-line-signature", signature)
            .header("user-agent", "LineBotWebhook/2.0")
            .timeout(Duration::from_secs(10))
            .body(bytes)
            .send()
            .await;
        match result {
            Ok(resp) if resp.status().is_success() => {
                return Ok(WebhookDelivery {
                    events,
                    status: Some(resp.status().as_u16()),
                    attempts,
                })
            }
            Ok(resp) => last_status = Some(resp.status().as_u16()),
            Err(e) => last_err = Some(e),
        }
    }
    let kind = ErrorKind::Webhook {
        url,
        status: last_status,
    };
    Err(match last_err {
        Some(e) if last_status.is_none() => Error::with_source(kind, e),
        _ => Error::new(kind),
    })
}
