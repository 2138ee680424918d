//! LINE's documented limits, in one place.
//!
//! Builders and validators across the workspace share these constants, so a
//! limit changes in exactly one line.

/// Messages in one reply, push, multicast, narrowcast or broadcast request.
pub const MAX_MESSAGES_PER_REQUEST: usize = 5;
/// Recipients (`to`) of one multicast request.
pub const MAX_MULTICAST_RECIPIENTS: usize = 500;
/// Users in one bulk rich-menu link or unlink request.
pub const MAX_RICH_MENU_BULK_USERS: usize = 500;
/// Operations in one rich-menu batch request.
pub const MAX_RICH_MENU_BATCH_OPERATIONS: usize = 1_000;
/// Rich menus a channel may hold.
pub const MAX_RICH_MENUS: usize = 1_000;
/// Rich-menu aliases a channel may hold.
pub const MAX_RICH_MENU_ALIASES: usize = 1_000;
/// Tappable areas of one rich menu.
pub const MAX_RICH_MENU_AREAS: usize = 20;
/// Length of a rich menu's `chatBarText`, in characters.
pub const MAX_RICH_MENU_CHAT_BAR_TEXT: usize = 14;
/// Length of a rich menu's `name`, in characters.
pub const MAX_RICH_MENU_NAME: usize = 300;
/// User IDs in one JSON audience upload.
pub const MAX_AUDIENCE_UPLOAD_IDS: usize = 10_000;
/// Users an audience needs before narrowcast can use it.
pub const MIN_AUDIENCE_SIZE_FOR_NARROWCAST: usize = 50;
/// Audience and redelivery objects in one narrowcast recipient.
pub const MAX_NARROWCAST_RECIPIENT_OBJECTS: usize = 10;
/// Demographic objects in one narrowcast filter.
pub const MAX_NARROWCAST_DEMOGRAPHIC_OBJECTS: usize = 10;
/// Items in a quick reply.
pub const MAX_QUICK_REPLY_ITEMS: usize = 13;
/// Length of a message's `altText`, in UTF-16 code units.
pub const MAX_ALT_TEXT_UTF16: usize = 1_500;
/// Length of an action label, in grapheme clusters (quick reply and Flex buttons).
pub const MAX_ACTION_LABEL_GRAPHEMES: usize = 40;
/// Length of a quick-reply action label, in grapheme clusters.
pub const MAX_QUICK_REPLY_LABEL_GRAPHEMES: usize = 20;
/// Length of a postback action's `data`, in characters.
pub const MAX_POSTBACK_DATA: usize = 300;
/// Length of a postback or message action's `displayText` / `text`, in characters.
pub const MAX_ACTION_TEXT: usize = 300;
/// Length of a clipboard action's `clipboardText`, in characters.
pub const MAX_CLIPBOARD_TEXT: usize = 1_000;
/// Length of a URI action's `uri`, in characters.
pub const MAX_URI_ACTION_LENGTH: usize = 1_000;
/// Length of an image or video URL, in characters.
pub const MAX_MEDIA_URL_LENGTH: usize = 2_000;
/// Bubbles in one Flex carousel.
pub const MAX_FLEX_CAROUSEL_BUBBLES: usize = 12;
/// Serialized size of one Flex bubble, in bytes.
pub const MAX_FLEX_BUBBLE_BYTES: usize = 30_000;
/// Serialized size of one Flex carousel, in bytes.
pub const MAX_FLEX_CAROUSEL_BYTES: usize = 50_000;
/// Retry keys are remembered by LINE for this many hours.
pub const RETRY_KEY_TTL_HOURS: u64 = 24;
/// A link token is good for this many seconds (10 minutes).
pub const LINK_TOKEN_TTL_SECS: u64 = 600;
/// Length of a LINE user ID (`U` followed by 32 hex digits).
pub const USER_ID_LEN: usize = 33;
