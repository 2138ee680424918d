#![doc = include_str!("../README.md")]

pub mod action;
mod builder;
pub mod component;
pub mod container;
pub mod error;
pub mod limits;
mod parse;
mod rules;
pub mod template;
pub mod validate;
pub mod value;

/// The wire model the builders build and the validator checks, re-exported.
pub use line_model as model;

pub use action::{FlexAction, QuickReplyAction};
pub use component::{
    AltContent, BaselineComponent, Button, Component, Filler, FlexBox, Hero, Icon, Image, LinearGradient, Separator,
    Span, Text, Video,
};
pub use container::{
    BlockStyle, Bubble, BubbleSize, BubbleStyles, Carousel, Document, FlexMessage, QuickReply, QuickReplyItem,
    VideoBubble, VideoBubbleSize,
};
pub use error::{Error, ErrorKind};
pub use template::Template;
pub use validate::{Finding, Severity, Validate, ValidateOptions};

/// Parses a Flex document from JSON bytes, detecting whether it is a bubble,
/// a carousel or a whole flex message (`{"type":"flex","altText":…,"contents":…}`).
///
/// The document is read into `line_model`'s types, which are lossless:
/// serializing the result gives the same JSON value.
/// Input that is not JSON gives [`ErrorKind::Syntax`]; JSON of the wrong shape
/// (a wrong type, a missing required property) gives
/// [`ErrorKind::Structure`] with a JSON pointer. Everything else, including
/// values LINE would reject, parses and is reported by `validate()`.
///
/// ```
/// let doc = line_flex::parse_document(br#"{"type":"bubble","body":{"type":"box","layout":"vertical",
///     "contents":[{"type":"spacer","size":"sm"},{"type":"text","text":"hi","flex":0}]}}"#).unwrap();
/// let findings = doc.validate();
/// assert_eq!(findings.len(), 1);
/// assert_eq!(findings[0].pointer, "/body/contents/0/type");
/// assert_eq!(findings[0].severity, line_flex::Severity::Warning);
/// ```
pub fn parse_document(bytes: &[u8]) -> Result<Document, Error> {
    Document::parse(bytes)
}

/// Parses and validates a document in one step, for tools such as
/// `linectl flex validate`.
///
/// Input that is not JSON is an `Err` ([`ErrorKind::Syntax`]). JSON that
/// cannot be a Flex document (wrong shape) becomes a single error finding
/// at the offending pointer, so every problem is reported the same way.
///
/// ```
/// let findings = line_flex::validate_document(br#"{"type":"bubble","body":{"type":"box"}}"#).unwrap();
/// assert_eq!(findings[0].to_string(), "error\t/body\tmissing required property \"layout\"");
/// assert!(line_flex::validate_document(b"nope").is_err());
/// ```
pub fn validate_document(bytes: &[u8]) -> Result<Vec<Finding>, Error> {
    match parse_document(bytes) {
        Ok(doc) => Ok(Validate::validate(&doc)),
        Err(e) => match e.kind() {
            ErrorKind::Structure { pointer, reason } => Ok(vec![Finding::error(pointer.clone(), reason.clone())]),
            _ => Err(e),
        },
    }
}

/// Parses a document into the model and prints it back as pretty
/// JSON, for tools such as `linectl flex fmt`. The output equals the input
/// as a JSON value.
///
/// ```
/// let pretty = line_flex::format_document(br#"{"type":"bubble","size":"kilo"}"#).unwrap();
/// assert_eq!(pretty, "{\n  \"type\": \"bubble\",\n  \"size\": \"kilo\"\n}");
/// ```
pub fn format_document(bytes: &[u8]) -> Result<String, Error> {
    let doc = parse_document(bytes)?;
    serde_json::to_string_pretty(&doc).map_err(|e| Error::new(ErrorKind::Conversion { reason: e.to_string() }))
}

/// A vertical [`FlexBox`] of the given components (each converted with `Into`).
///
/// ```
/// use line_flex::{vbox, Image, Text};
/// let b = vbox![Text::new("a"), Image::new("https://example.com/a.png")];
/// assert_eq!(b.contents.len(), 2);
/// ```
#[macro_export]
macro_rules! vbox {
    ($($c:expr),* $(,)?) => {
        $crate::FlexBox::vertical([$($crate::Component::from($c)),*])
    };
}

/// A horizontal [`FlexBox`] of the given components (each converted with `Into`).
#[macro_export]
macro_rules! hbox {
    ($($c:expr),* $(,)?) => {
        $crate::FlexBox::horizontal([$($crate::Component::from($c)),*])
    };
}

/// A baseline [`FlexBox`] of icons, texts and fillers.
///
/// ```
/// use line_flex::{baseline, Icon, Text};
/// let stars = baseline![Icon::new("https://example.com/star.png"), Text::new("4.0")];
/// assert_eq!(stars.contents.len(), 2);
/// ```
#[macro_export]
macro_rules! baseline {
    ($($c:expr),* $(,)?) => {
        $crate::FlexBox::baseline([$($crate::BaselineComponent::from($c)),*])
    };
}
