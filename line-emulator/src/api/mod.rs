//! LINE's endpoints, one module per area. They build on [`crate::handler`] (the request, the
//! answer, the channel) and the state modules below it; `server` routes to them, and none of
//! them imports `server`.

mod audience;
mod message;
mod misc;
pub(crate) mod oauth;
mod pnp;
mod profile;
mod richmenu;

use std::sync::Arc;

use crate::error::LineError;
use crate::handler::{Ctx, Reply, Shared};

/// Runs the handler of `ctx.op`: the token endpoints, the PNP endpoints, then the
/// Messaging API's (after the channel's due jobs have run).
pub(crate) fn dispatch(shared: &Arc<Shared>, ctx: &Ctx) -> Reply {
    if let Some(reply) = oauth::dispatch(shared, ctx) {
        return reply;
    }
    if let Some(reply) = pnp::dispatch(shared, ctx) {
        return reply;
    }
    ctx.lock().settle(ctx.now);
    match ctx.op.id {
        "replyMessage" => message::reply(shared, ctx),
        "pushMessage" => message::push(ctx),
        "multicast" => message::multicast(ctx),
        "broadcast" => message::broadcast(ctx),
        "narrowcast" => message::narrowcast(shared, ctx),
        "getNarrowcastProgress" => message::narrowcast_progress(ctx),
        "validatePush" | "validateReply" | "validateMulticast" | "validateNarrowcast" | "validateBroadcast" => {
            message::validate(ctx)
        }
        "getMessageQuota" => misc::quota(ctx),
        "getStatisticsPerUnit" => misc::statistics_per_unit(ctx),
        "getMessageQuotaConsumption" => misc::consumption(ctx),
        "getProfile" => profile::profile(ctx),
        "getFollowers" => profile::followers(ctx),
        "getBotInfo" => profile::bot_info(ctx),
        "issueLinkToken" => misc::issue_link_token(ctx),
        "showLoadingAnimation" => misc::loading(ctx),
        "markMessagesAsRead" => misc::mark_as_read(ctx),
        "markMessagesAsReadByToken" => misc::mark_as_read_by_token(ctx),
        "createRichMenu" => richmenu::create(ctx),
        "validateRichMenuObject" => richmenu::validate(ctx),
        "getRichMenu" => richmenu::get(ctx),
        "deleteRichMenu" => richmenu::delete(ctx),
        "getRichMenuList" => richmenu::list(ctx),
        "setRichMenuImage" => richmenu::set_image(ctx),
        "getRichMenuImage" => richmenu::get_image(ctx),
        "setDefaultRichMenu" => richmenu::set_default(ctx),
        "getDefaultRichMenuId" => richmenu::get_default(ctx),
        "cancelDefaultRichMenu" => richmenu::cancel_default(ctx),
        "linkRichMenuIdToUser" => richmenu::link_user(ctx),
        "unlinkRichMenuIdFromUser" => richmenu::unlink_user(ctx),
        "getRichMenuIdOfUser" => richmenu::menu_of_user(ctx),
        "linkRichMenuIdToUsers" => richmenu::bulk_link(ctx),
        "unlinkRichMenuIdFromUsers" => richmenu::bulk_unlink(ctx),
        "createRichMenuAlias" => richmenu::create_alias(ctx),
        "getRichMenuAlias" => richmenu::get_alias(ctx),
        "updateRichMenuAlias" => richmenu::update_alias(ctx),
        "deleteRichMenuAlias" => richmenu::delete_alias(ctx),
        "getRichMenuAliasList" => richmenu::list_aliases(ctx),
        "richMenuBatch" => richmenu::batch(shared, ctx),
        "validateRichMenuBatchRequest" => richmenu::validate_batch(ctx),
        "getRichMenuBatchProgress" => richmenu::batch_progress(ctx),
        "createAudienceGroup" => audience::create(ctx),
        "createAudienceForUploadingUserIds" => audience::create_by_file(ctx),
        "addUserIdsToAudience" => audience::add_by_file(ctx),
        "addAudienceToAudienceGroup" => audience::add(ctx),
        "getAudienceData" => audience::get(ctx),
        "deleteAudienceGroup" => audience::delete(ctx),
        other => Err(LineError::not_found(format!(
            "Not found (the emulator does not implement {other})"
        ))),
    }
}
