//! Rendering send steps: fixed messages are serialized once; Flex templates are rendered per
//! user by concatenation (line-flex templates).

use line_flex::Template;
use serde_json::{json, Value};

use crate::model::FlexContent;

/// The template of a whole flex message (`altText` may use variables too).
pub(crate) fn flex_template(f: &FlexContent) -> Result<Template, line_flex::Error> {
    let message: Value = json!({"type": "flex", "altText": f.alt_text, "contents": f.contents});
    Template::new(&message)
}

/// The messages of one send, as the JSON array LINE takes in `messages`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// JSON array of message objects.
    pub json: String,
    /// The number of message objects.
    pub count: usize,
}
