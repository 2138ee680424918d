//! LINE's documented Flex limits.
//!
//! The limits that other crates also need live in [`line_model::limits`] and are
//! re-exported here; the ones only Flex needs are defined in this module.
//! Builders, the validator and templates all read them from here.

pub use line_model::limits::{
    MAX_ACTION_LABEL_GRAPHEMES, MAX_ACTION_TEXT, MAX_ALT_TEXT_UTF16, MAX_CLIPBOARD_TEXT, MAX_FLEX_BUBBLE_BYTES,
    MAX_FLEX_CAROUSEL_BUBBLES, MAX_FLEX_CAROUSEL_BYTES, MAX_MEDIA_URL_LENGTH, MAX_POSTBACK_DATA, MAX_QUICK_REPLY_ITEMS,
    MAX_QUICK_REPLY_LABEL_GRAPHEMES, MAX_URI_ACTION_LENGTH,
};

/// Shortest `altText` of a message, in UTF-16 code units.
pub const MIN_ALT_TEXT_UTF16: usize = 1;
/// Shortest `clipboardText` of a clipboard action, in characters.
pub const MIN_CLIPBOARD_TEXT: usize = 1;
/// Images with `animated: true` in one message.
pub const MAX_ANIMATED_IMAGES: usize = 10;
/// Largest `{width}` or `{height}` term of an `aspectRatio`.
pub const MAX_ASPECT_RATIO_TERM: u32 = 100_000;
/// An `aspectRatio`'s height may be at most this many times its width.
pub const MAX_ASPECT_RATIO_HEIGHT_FACTOR: u32 = 3;
/// Length of a datetime picker action's `data`, in characters.
pub const MAX_DATETIMEPICKER_DATA: usize = 300;
/// Length of a postback action's `fillInText`, in characters.
pub const MAX_FILL_IN_TEXT: usize = 300;
/// Length of a URI action's `altUri.desktop`, in characters.
pub const MAX_ALT_URI_LENGTH: usize = 1_000;
/// Length of a quick-reply item's `imageUrl`, in characters.
pub const MAX_QUICK_REPLY_IMAGE_URL_LENGTH: usize = 2_000;
/// Earliest date a datetime picker accepts (`min`, `max`, `initial`).
pub const DATETIMEPICKER_MIN_DATE: &str = "1900-01-01";
/// Latest date a datetime picker accepts (`min`, `max`, `initial`).
pub const DATETIMEPICKER_MAX_DATE: &str = "2100-12-31";
/// Bubbles a carousel needs at least.
pub const MIN_FLEX_CAROUSEL_BUBBLES: usize = 1;
/// Deepest JSON pointer (in steps) at which the parser accepts a component, so
/// that hostile input cannot exhaust the stack (about 23 nested boxes; LINE's
/// own templates stay under 20 steps). Not a LINE limit.
pub const MAX_NESTING_DEPTH: usize = 48;
