//! LINE's endpoints, one module per area.

mod audience;
mod message;
mod misc;
mod profile;
mod richmenu;

use crate::error::LineError;
use crate::server::{Ctx, Reply, Shared};

/// Runs the handler of `ctx.op`.
pub(crate) fn dispatch(shared: &Shared, ctx: &Ctx) -> Reply {
    shared.lock().settle(ctx.now);
    match ctx.op.id {
        "replyMessage" => message::reply(shared, ctx),
        "pushMessage" => message::push(shared, ctx),
        "multicast" => message::multicast(shared, ctx),
        "broadcast" => message::broadcast(shared, ctx),
        "narrowcast" => message::narrowcast(shared, ctx),
        "getNarrowcastProgress" => message::narrowcast_progress(shared, ctx),
        "validatePush" | "validateReply" | "validateMulticast" | "validateNarrowcast" | "validateBroadcast" => {
            message::validate(ctx)
        }
        "getMessageQuota" => misc::quota(shared),
        "getStatisticsPerUnit" => misc::statistics_per_unit(shared, ctx),
        "getMessageQuotaConsumption" => misc::consumption(shared),
        "getProfile" => profile::profile(shared, ctx),
        "getFollowers" => profile::followers(shared, ctx),
        "getBotInfo" => profile::bot_info(shared),
        "issueLinkToken" => misc::issue_link_token(shared, ctx),
        "showLoadingAnimation" => misc::loading(shared, ctx),
        "markMessagesAsRead" => misc::mark_as_read(shared, ctx),
        "markMessagesAsReadByToken" => misc::mark_as_read_by_token(shared, ctx),
        "createRichMenu" => richmenu::create(shared, ctx),
        "validateRichMenuObject" => richmenu::validate(ctx),
        "getRichMenu" => richmenu::get(shared, ctx),
        "deleteRichMenu" => richmenu::delete(shared, ctx),
        "getRichMenuList" => richmenu::list(shared),
        "setRichMenuImage" => richmenu::set_image(shared, ctx),
        "getRichMenuImage" => richmenu::get_image(shared, ctx),
        "setDefaultRichMenu" => richmenu::set_default(shared, ctx),
        "getDefaultRichMenuId" => richmenu::get_default(shared),
        "cancelDefaultRichMenu" => richmenu::cancel_default(shared),
        "linkRichMenuIdToUser" => richmenu::link_user(shared, ctx),
        "unlinkRichMenuIdFromUser" => richmenu::unlink_user(shared, ctx),
        "getRichMenuIdOfUser" => richmenu::menu_of_user(shared, ctx),
        "linkRichMenuIdToUsers" => richmenu::bulk_link(shared, ctx),
        "unlinkRichMenuIdFromUsers" => richmenu::bulk_unlink(shared, ctx),
        "createRichMenuAlias" => richmenu::create_alias(shared, ctx),
        "getRichMenuAlias" => richmenu::get_alias(shared, ctx),
        "updateRichMenuAlias" => richmenu::update_alias(shared, ctx),
        "deleteRichMenuAlias" => richmenu::delete_alias(shared, ctx),
        "getRichMenuAliasList" => richmenu::list_aliases(shared),
        "richMenuBatch" => richmenu::batch(shared, ctx),
        "validateRichMenuBatchRequest" => richmenu::validate_batch(shared, ctx),
        "getRichMenuBatchProgress" => richmenu::batch_progress(shared, ctx),
        "createAudienceGroup" => audience::create(shared, ctx),
        "createAudienceForUploadingUserIds" => audience::create_by_file(shared, ctx),
        "addUserIdsToAudience" => audience::add_by_file(shared, ctx),
        "addAudienceToAudienceGroup" => audience::add(shared, ctx),
        "getAudienceData" => audience::get(shared, ctx),
        "deleteAudienceGroup" => audience::delete(shared, ctx),
        other => Err(LineError::not_found(format!(
            "Not found (the emulator does not implement {other})"
        ))),
    }
}

/// Parses a positive integer path or query value, naming it on failure.
pub(crate) fn int_param(name: &str, value: &str) -> Result<i64, LineError> {
    value
        .parse::<i64>()
        .map_err(|_| LineError::property(name, format!("must be an integer, got {value:?}")))
}
