//! # line-flex
//!
//! A typed Flex Message DSL for LINE that catches LINE's rejections before
//! sending.
//!
//! There is one Flex model, `line_model`'s (re-exported as [`model`]); this
//! crate builds it, checks it and fills it in per recipient.
//!
//! - **Builders** over the model types (as twilight-util's builders produce
//!   twilight-model types): each is `#[must_use]`, reads its fields through
//!   `Deref`, and turns into its `line_model` type with `From`. Containment is
//!   in the types: a baseline box takes only icons, texts and fillers, a span
//!   goes only in a text, a video only as the hero of a [`VideoBubble`], a
//!   button needs a labelled flex action. Sizes, spacings and colours are
//!   typed value grammars ([`value`]).
//! - **Parsing** of any Flex JSON into the model ([`parse_document`]), with a
//!   JSON pointer on every error; the model is lossless, so unknown properties
//!   and component types (such as the legacy `spacer`) are kept.
//! - **Validation** of the model ([`Validate`], and `validate()` on the
//!   builders): every finding with LINE's JSON pointer and a severity. A
//!   message that validates turns into a `line_model::Message` with `From`,
//!   which cannot fail.
//! - **Templates** ([`template`]): `{name}` variables rendered per recipient
//!   by concatenation.
//!
//! ```
//! use line_flex::action::Uri;
//! use line_flex::value::{px, Color, Space};
//! use line_flex::{hbox, vbox, Bubble, Button, Carousel, Image, Text};
//!
//! struct Coupon { title: &'static str, off: u32, code: &'static str, url: &'static str }
//!
//! fn coupon(c: &Coupon) -> Bubble {
//!     Bubble::new()
//!         .hero(Image::new(c.url).size(line_flex::value::ImageSizeKeyword::Full))
//!         .body(vbox![
//!             Text::new(c.title).bold().size(line_flex::value::SizeKeyword::Xl),
//!             hbox![Text::new("Discount"), Text::new(format!("{}% off", c.off)).color(Color::from_static("#E53935"))],
//!             Text::new(format!("Code: {}", c.code)).margin(Space::Md),
//!         ].padding_all(px(16)))
//!         .footer(vbox![Button::new(Uri::new("https://example.com/use").label("Use now"))])
//! }
//!
//! let c = Coupon { title: "Spring sale", off: 20, code: "SPRING20", url: "https://example.com/c.png" };
//! assert!(coupon(&c).validate().is_empty());
//!
//! // A 10-product carousel is a map over the products.
//! let carousel = Carousel::new((0..10).map(|_| coupon(&c)));
//! assert!(carousel.validate().is_empty());
//! ```

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
