//! Profiles, follower ids and bot info.

use line_core::ids::UserId;
use line_core::model::{BotInfoResponse, BotInfoResponseChatMode, BotInfoResponseMarkAsReadMode};
use line_core::model::{GetFollowersResponse, UserProfileResponse};

use crate::error::LineError;
use crate::handler::{Answer, Ctx, Reply};

/// Default and largest page of `GET /v2/bot/followers/ids`.
const FOLLOWERS_DEFAULT_LIMIT: usize = 300;
const FOLLOWERS_MAX_LIMIT: usize = 1_000;

pub(crate) fn profile(ctx: &Ctx) -> Reply {
    let st = ctx.lock();
    let user = st
        .user(ctx.param(0))
        .map(|i| &st.users[i])
        .filter(|u| u.spec.friend)
        .ok_or_else(|| LineError::not_found("Not found"))?;
    let mut p = UserProfileResponse::new(user.spec.display_name.clone(), user.user_id.clone());
    p.picture_url.clone_from(&user.spec.picture_url);
    p.status_message.clone_from(&user.spec.status_message);
    p.language = user.spec.language.as_deref().map(str::to_owned);
    Ok(Answer::json(&p))
}

pub(crate) fn followers(ctx: &Ctx) -> Reply {
    let limit = match ctx.query.get("limit") {
        None => FOLLOWERS_DEFAULT_LIMIT,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=FOLLOWERS_MAX_LIMIT).contains(&n) => n,
            _ => {
                return Err(LineError::property(
                    "limit",
                    format!("must be between 1 and {FOLLOWERS_MAX_LIMIT}, got {v:?}"),
                ))
            }
        },
    };
    let start = match ctx.query.get("start") {
        None => 0,
        Some(v) => v
            .strip_prefix("emu-")
            .and_then(|n| usize::from_str_radix(n, 16).ok())
            .ok_or_else(|| LineError::property("start", "invalid continuation token"))?,
    };
    let st = ctx.lock();
    let mut ids: Vec<UserId> = Vec::with_capacity(limit.min(st.users.len()));
    let mut next = None;
    for (i, u) in st.users.iter().enumerate().skip(start) {
        if !u.reachable() {
            continue;
        }
        if ids.len() == limit {
            next = Some(format!("emu-{i:x}"));
            break;
        }
        ids.push(u.user_id.clone());
    }
    let mut r = GetFollowersResponse::new(ids);
    r.next = next;
    Ok(Answer::json(&r))
}

pub(crate) fn bot_info(ctx: &Ctx) -> Reply {
    let info = BotInfoResponse::new(
        ctx.channel.bot_user_id.as_str(),
        "@line-emulator",
        "LINE Emulator",
        BotInfoResponseChatMode::Bot,
        BotInfoResponseMarkAsReadMode::Manual,
    );
    Ok(Answer::json(&info))
}
