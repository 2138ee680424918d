//! The PNP endpoints (`POST /bot/pnp/push`, `GET /v2/bot/message/delivery/pnp`) over the
//! phone numbers of the request's channel ([`crate::pnp`] holds them).

use std::sync::Arc;

use axum::http::StatusCode;
use line_core::model::{Message, NumberOfMessagesResponse, PnpMessagesRequest};
use serde_json::{json, Value};

use crate::error::LineError;
use crate::handler::{Answer, Ctx, Reply, Shared};
use crate::pnp::{is_hash, PhoneKind, PnpDelivered, MAX_DELIVERY_TAG_LEN, MIN_DELIVERY_TAG_LEN};
use crate::{validate, webhook};

/// Handles the PNP operations; `None` for every other one.
pub(crate) fn dispatch(shared: &Arc<Shared>, ctx: &Ctx) -> Option<Reply> {
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
    validate::check_body(&raw)?;
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
                    let mut ev = webhook::event(&mut st, "delivery", "", now);
                    if let Some(obj) = ev.as_object_mut() {
                        obj.remove("source");
                    }
                    ev["delivery"] = json!({ "data": data });
                    ev
                };
                if let Err(e) = webhook::deliver(&shared, &channel, vec![event]).await {
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
