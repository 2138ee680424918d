//! Quota, link tokens, loading animation and mark-as-read.

use axum::http::StatusCode;
use line_core::model::{
    IssueLinkTokenResponse, MarkMessagesAsReadByTokenRequest, MarkMessagesAsReadRequest, MessageQuotaResponse,
    QuotaConsumptionResponse, QuotaType, ShowLoadingAnimationRequest,
};
use rand::distr::{Alphanumeric, SampleString};

use crate::error::LineError;
use crate::handler::{Answer, Ctx, Reply};
use crate::state::LinkToken;

pub(crate) fn quota(ctx: &Ctx) -> Reply {
    let r = match ctx.lock().monthly_quota {
        None => MessageQuotaResponse::new(QuotaType::None),
        Some(n) => {
            let mut r = MessageQuotaResponse::new(QuotaType::Limited);
            r.value = Some(i64::try_from(n).unwrap_or(i64::MAX));
            r
        }
    };
    Ok(Answer::json(&r))
}

pub(crate) fn consumption(ctx: &Ctx) -> Reply {
    let used = ctx.lock().quota_used;
    Ok(Answer::json(&QuotaConsumptionResponse::new(
        i64::try_from(used).unwrap_or(i64::MAX),
    )))
}

pub(crate) fn issue_link_token(ctx: &Ctx) -> Reply {
    let mut st = ctx.lock();
    let Some(idx) = st.user(ctx.param(0)).filter(|&i| st.users[i].spec.friend) else {
        return Err(LineError::bad_request(
            "Failed to issue link token: the user is not a friend",
        ));
    };
    let token = Alphanumeric.sample_string(&mut st.rng, 32);
    let user_id = st.users[idx].user_id.clone();
    st.link_tokens.insert(
        token.clone(),
        LinkToken {
            user_id,
            issued: ctx.now,
            used: false,
        },
    );
    Ok(Answer::json(&IssueLinkTokenResponse::new(token)))
}

pub(crate) fn loading(ctx: &Ctx) -> Reply {
    let req: ShowLoadingAnimationRequest = ctx.json()?;
    let seconds = req.loading_seconds.unwrap_or(20);
    if !(5..=60).contains(&seconds) || seconds % 5 != 0 {
        return Err(LineError::property(
            "loadingSeconds",
            "must be a multiple of 5 between 5 and 60",
        ));
    }
    let mut st = ctx.lock();
    let Some(idx) = st.user(&req.chat_id) else {
        return Err(LineError::property(
            "chatId",
            "The property, 'chatId', in the request body is invalid",
        ));
    };
    let user_id = st.users[idx].user_id.clone();
    st.loading.push((user_id, seconds));
    Ok(Answer::empty(StatusCode::ACCEPTED))
}

pub(crate) fn mark_as_read(ctx: &Ctx) -> Reply {
    let req: MarkMessagesAsReadRequest = ctx.json()?;
    let mut st = ctx.lock();
    let Some(idx) = st.user(req.chat.user_id.as_str()) else {
        return Err(LineError::property("chat.userId", "The user is not known"));
    };
    let user_id = st.users[idx].user_id.clone();
    st.marked_read.push(user_id);
    Ok(Answer::ok())
}

pub(crate) fn mark_as_read_by_token(ctx: &Ctx) -> Reply {
    let req: MarkMessagesAsReadByTokenRequest = ctx.json()?;
    let mut st = ctx.lock();
    let Some(idx) = st.read_tokens.remove(&req.mark_as_read_token) else {
        return Err(LineError::property("markAsReadToken", "Invalid markAsReadToken"));
    };
    let user_id = st.users[idx].user_id.clone();
    st.marked_read.push(user_id);
    Ok(Answer::ok())
}

/// LINE withholds a per-unit count (answers `null`) under this many users.
pub(crate) const UNIT_PRIVACY_FLOOR: usize = 20;

/// `GET /v2/bot/insight/message/event/aggregation`: the emulator's counts for the unit, over all
/// time (`from` and `to` are checked, not applied). Counts under 20 users are `null`, as LINE's.
pub(crate) fn statistics_per_unit(ctx: &Ctx) -> Reply {
    let unit = ctx
        .query
        .get("customAggregationUnit")
        .ok_or_else(|| LineError::property("customAggregationUnit", "must not be null"))?;
    if !super::message::valid_unit_name(unit) {
        return Err(LineError::property(
            "customAggregationUnit",
            "must match \"^[a-zA-Z0-9_]{1,30}$\"",
        ));
    }
    for name in ["from", "to"] {
        match ctx.query.get(name) {
            Some(v) if v.len() == 8 && v.bytes().all(|b| b.is_ascii_digit()) => {}
            Some(_) => return Err(LineError::property(name, "must match \"^[0-9]{8}$\"")),
            None => return Err(LineError::property(name, "must not be null")),
        }
    }
    let st = ctx.lock();
    let users = st.units.get(unit.as_str()).cloned().unwrap_or_default();
    let shown = |n: usize| {
        if n < UNIT_PRIVACY_FLOOR {
            serde_json::Value::Null
        } else {
            serde_json::Value::from(n)
        }
    };
    let body = serde_json::json!({
        "overview": {
            "uniqueImpression": shown(users.opened.len()),
            "uniqueClick": shown(users.clicked.len()),
            "uniqueMediaPlayed": null,
            "uniqueMediaPlayed100Percent": null,
        },
        "messages": [],
        "clicks": [],
    });
    Ok(Answer::json(&body))
}
