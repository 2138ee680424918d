//! The domain tables of the generator, in one place: which module a schema
//! lives in, what each module covers, which fields carry IDs or secrets,
//! which webhook properties real payloads omit, and LINE's rate classes.

/// The REST specs, in the order their operations are listed.
pub const REST_FILES: &[&str] = &[
    "messaging-api.yml",
    "manage-audience.yml",
    "insight.yml",
    "channel-access-token.yml",
    "liff.yml",
    "module.yml",
    "module-attach.yml",
    "shop.yml",
];

/// The webhook spec.
pub const WEBHOOK_FILE: &str = "webhook.yml";

/// Which module of the model a messaging-api schema lives in, by name prefix
/// (first match wins; anything else goes to `message`).
pub const MESSAGING_AREAS: &[(&str, &str)] = &[
    ("Flex", "flex"),
    ("RichMenu", "richmenu"),
    ("Imagemap", "message"),
    ("Template", "message"),
    ("ButtonsTemplate", "message"),
    ("ConfirmTemplate", "message"),
    ("CarouselTemplate", "message"),
    ("CarouselColumn", "message"),
    ("ImageCarousel", "message"),
    ("Coupon", "coupon"),
    ("MessagingApiPagerCoupon", "coupon"),
    ("AcquisitionCondition", "coupon"),
    ("NormalAcquisition", "coupon"),
    ("LotteryAcquisition", "coupon"),
    ("ReferralAcquisition", "coupon"),
    ("CashBack", "coupon"),
    ("Discount", "coupon"),
    ("Recipient", "narrowcast"),
    ("OperatorRecipient", "narrowcast"),
    ("AudienceRecipient", "narrowcast"),
    ("RedeliveryRecipient", "narrowcast"),
    ("Filter", "narrowcast"),
    ("Limit", "narrowcast"),
    ("Narrowcast", "narrowcast"),
    ("AgeDemographic", "narrowcast"),
    ("AppTypeDemographic", "narrowcast"),
    ("AreaDemographic", "narrowcast"),
    ("GenderDemographic", "narrowcast"),
    ("OperatorDemographic", "narrowcast"),
    ("SubscriptionPeriodDemographic", "narrowcast"),
    ("DemographicFilter", "narrowcast"),
    ("Membership", "membership"),
    ("GetMembership", "membership"),
    ("GetJoinedMembership", "membership"),
    ("Subscri", "membership"),
    ("Action", "action"),
    ("CameraAction", "action"),
    ("CameraRollAction", "action"),
    ("ClipboardAction", "action"),
    ("DatetimePickerAction", "action"),
    ("LocationAction", "action"),
    ("MessageAction", "action"),
    ("PostbackAction", "action"),
    ("RichMenuSwitchAction", "action"),
    ("URIAction", "action"),
    ("AltUri", "action"),
    ("UserProfile", "profile"),
    ("GetFollowers", "profile"),
    ("BotInfo", "profile"),
    ("GroupUserProfile", "group"),
    ("RoomUserProfile", "group"),
    ("MembersIds", "group"),
    ("Group", "group"),
    ("Room", "group"),
    ("IssueLinkToken", "account_link"),
    ("MarkMessages", "chat"),
    ("ChatReference", "chat"),
    ("ShowLoadingAnimation", "chat"),
    ("Pnp", "pnp"),
    ("MessageQuota", "quota"),
    ("QuotaType", "quota"),
    ("QuotaConsumption", "quota"),
    ("NumberOfMessages", "quota"),
    ("GetAggregation", "quota"),
    ("GetWebhookEndpoint", "webhook_settings"),
    ("SetWebhookEndpoint", "webhook_settings"),
    ("TestWebhookEndpoint", "webhook_settings"),
    ("GetMessageContentTranscoding", "content"),
    ("ErrorResponse", "error_response"),
    ("ErrorDetail", "error_response"),
];

/// The module of every schema of the other REST specs, by file.
pub const FILE_AREAS: &[(&str, &str)] = &[
    ("manage-audience.yml", "audience"),
    ("insight.yml", "insight"),
    ("channel-access-token.yml", "token"),
    ("liff.yml", "liff"),
    ("module.yml", "module"),
    ("module-attach.yml", "module"),
    ("shop.yml", "shop"),
];

/// The first doc line of each module.
pub const AREA_DOCS: &[(&str, &str)] = &[
    ("message", "Message objects: the 11 message kinds, quick reply, sender, and the send requests and responses."),
    ("action", "Action objects (postback, message, uri, datetimepicker, camera, camera roll, location, rich-menu switch, clipboard)."),
    ("flex", "Flex Message containers and components, as LINE's spec describes them."),
    ("richmenu", "Rich menus, aliases, bulk link and batch operations."),
    ("narrowcast", "Narrowcast recipient, demographic filter and limit objects."),
    ("coupon", "Coupons: create, get, list, close."),
    ("membership", "Memberships and their subscribers."),
    ("profile", "User profiles, followers and bot info."),
    ("group", "Group and multi-person chat summaries, members and member profiles."),
    ("account_link", "Link tokens for account linking."),
    ("chat", "Loading animation and mark-as-read."),
    ("pnp", "LINE notification messages (PNP) by phone number."),
    ("quota", "Message quota, consumption and delivery counts."),
    ("webhook_settings", "Webhook endpoint settings."),
    ("content", "Message content (transcoding status)."),
    ("error_response", "LINE's error body."),
    ("audience", "Audiences (manage-audience)."),
    ("insight", "Insight statistics."),
    ("token", "Channel access tokens (v2, v2.1 and stateless)."),
    ("liff", "LIFF apps."),
    ("module", "Module channels (attach, detach, chat control)."),
    ("shop", "Mission stickers (shop)."),
    ("params", "Enums used only as query parameters."),
];

/// Fields whose string values are secrets and must never print.
pub const SECRET_FIELDS: &[&str] = &[
    "client_secret",
    "access_token",
    "client_assertion",
    "refresh_token",
    "code_verifier",
];

/// Fields of well-known identifier types.
pub const ID_FIELDS: &[(&str, &str)] = &[("userId", "UserId"), ("groupId", "GroupId"), ("roomId", "RoomId")];

/// Webhook fields that the spec requires but real payloads omit.
pub const LENIENT_WEBHOOK: &[&str] = &[
    "webhookEventId",
    "deliveryContext",
    "mode",
    "destination",
    "quoteToken",
    "follow",
    "markAsReadToken",
    "source",
];

/// Rate classes (`line_core::ratelimit::RateClass`) by operationId.
const RATE_CLASS: &[(&str, &str)] = &[
    ("multicast", "Multicast"),
    ("narrowcast", "Narrowcast"),
    ("broadcast", "Broadcast"),
    ("createRichMenu", "RichMenuCreateDelete"),
    ("deleteRichMenu", "RichMenuCreateDelete"),
    ("richMenuBatch", "RichMenuBatch"),
    ("getRichMenuList", "RichMenuList"),
    ("showLoadingAnimation", "LoadingAnimation"),
    ("getNumberOfMessageDeliveries", "Insight"),
    ("getNumberOfFollowers", "Insight"),
    ("getFriendsDemographics", "Insight"),
    ("getMessageEvent", "Insight"),
    ("getStatisticsPerUnit", "Insight"),
];

/// The rate class of an operation: by operationId, else by spec (audience,
/// insight), else coupons, else the default class.
pub fn rate_class(operation_id: &str, spec: &str) -> &'static str {
    if let Some((_, class)) = RATE_CLASS.iter().find(|(id, _)| *id == operation_id) {
        return class;
    }
    match spec {
        "manage-audience.yml" => "Audience",
        "insight.yml" => "Insight",
        _ if operation_id.to_lowercase().contains("coupon") => "Coupon",
        _ => "Default",
    }
}

/// The `Host` of a server URL.
pub fn host_of(server: &str) -> Option<&'static str> {
    match server.trim_end_matches('/') {
        "https://api.line.me" => Some("Host::Api"),
        "https://api-data.line.me" => Some("Host::ApiData"),
        "https://manager.line.biz" => Some("Host::Manager"),
        _ => None,
    }
}

/// Whether an operation may be repeated: idempotent by HTTP's rules, or
/// deduplicated by LINE through the retry key. Any other POST or PATCH may do
/// its work twice.
pub fn idempotent(method: &str, retry_key: bool) -> bool {
    matches!(method, "GET" | "PUT" | "DELETE") || retry_key
}

/// The union whose values make up a webhook request's `events`. One of them
/// that cannot be read becomes `Invalid` instead of failing the whole request.
pub const BATCH_ITEM: &str = "Event";

/// Looks `key` up in a table of pairs.
pub fn lookup(table: &[(&str, &'static str)], key: &str) -> Option<&'static str> {
    table.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
}
