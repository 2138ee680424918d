//! Rendering send steps: fixed messages are serialized once; Flex templates are rendered per
//! user by concatenation (line-flex templates).

use line_core::model::FlexContainer;
use line_flex::Template;
use serde::Serialize;

use crate::model::FlexContent;

/// A flex message borrowing its parts (the wire form of `line_model::FlexMessage` without
/// `quickReply`), so that compiling a template copies nothing.
#[derive(Serialize)]
struct FlexMessageRef<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(rename = "altText")]
    alt_text: &'a str,
    contents: &'a FlexContainer,
}

/// The template of a whole flex message (`altText` may use variables too).
pub(crate) fn flex_template(f: &FlexContent) -> Result<Template, line_flex::Error> {
    Template::new(&FlexMessageRef {
        kind: "flex",
        alt_text: &f.alt_text,
        contents: &f.contents,
    })
}

/// The messages of one send, as the JSON array LINE takes in `messages`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// JSON array of message objects.
    pub json: String,
    /// The number of message objects.
    pub count: usize,
}
