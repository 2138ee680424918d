//! Containers (bubble, video bubble, carousel), the whole flex message with
//! its quick reply, and [`Document`], which is any of them.

use std::fmt;

use serde::{Serialize, Serializer};
use serde_json::Value;

use crate::action::{FlexAction, Labeled, QuickReplyAction, QuickReplyActionKind};
use crate::component::{FlexBox, Hero, Video};
use crate::error::Error;
use crate::json::{expect_string, flex_object, mismatch, open_enum, FromJson, Path, Placeholder};
use crate::validate::{Check, Cx, Finding, ValidateOptions};
use crate::value::Color;

open_enum! {
    /// `size` of a bubble.
    pub enum BubbleSize {
        /// `nano`
        Nano = "nano",
        /// `micro`
        Micro = "micro",
        /// `deca`
        Deca = "deca",
        /// `hecto`
        Hecto = "hecto",
        /// `kilo`
        Kilo = "kilo",
        /// `mega` (the default)
        Mega = "mega",
        /// `giga`
        Giga = "giga",
    }
}

/// `size` of a bubble with a video hero: only these three sizes play video.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VideoBubbleSize {
    /// `kilo`
    Kilo,
    /// `mega` (the default)
    Mega,
    /// `giga`
    Giga,
}

impl VideoBubbleSize {
    /// The keyword as LINE spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Kilo => "kilo",
            Self::Mega => "mega",
            Self::Giga => "giga",
        }
    }

    fn from_keyword(s: &str) -> Option<Self> {
        match s {
            "kilo" => Some(Self::Kilo),
            "mega" => Some(Self::Mega),
            "giga" => Some(Self::Giga),
            _ => None,
        }
    }
}

impl fmt::Display for VideoBubbleSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for VideoBubbleSize {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl FromJson for VideoBubbleSize {
    fn from_json(v: Value, p: &mut Path) -> Result<Self, Error> {
        let s = expect_string(v, p)?;
        Self::from_keyword(&s)
            .ok_or_else(|| Error::structure(p.pointer(), format!("a bubble with a video hero cannot be {s:?}")))
    }
}

impl Check for VideoBubbleSize {
    fn check(&self, _cx: &mut Cx<'_>) {}
}

impl From<VideoBubbleSize> for BubbleSize {
    fn from(s: VideoBubbleSize) -> Self {
        match s {
            VideoBubbleSize::Kilo => Self::Kilo,
            VideoBubbleSize::Mega => Self::Mega,
            VideoBubbleSize::Giga => Self::Giga,
        }
    }
}

open_enum! {
    /// `direction` of a bubble's text and layout.
    pub enum Direction {
        /// `ltr`: left to right.
        Ltr = "ltr",
        /// `rtl`: right to left.
        Rtl = "rtl",
    }
}

flex_object! {
    /// Style of one block of a bubble.
    pub struct BlockStyle [] {
        /// Background colour of the block.
        background_color: opt Color = "backgroundColor",
        /// Whether a separator is drawn above the block.
        separator: val bool = "separator",
        /// Colour of the separator.
        separator_color: opt Color = "separatorColor",
    }
}

impl BlockStyle {
    /// A block style with nothing set.
    pub fn new() -> Self {
        Self::blank()
    }
}

impl Default for BlockStyle {
    fn default() -> Self {
        Self::new()
    }
}

flex_object! {
    /// Styles of the blocks of a bubble.
    pub struct BubbleStyles [] {
        /// Header block.
        header: opt BlockStyle = "header",
        /// Hero block.
        hero: opt BlockStyle = "hero",
        /// Body block.
        body: opt BlockStyle = "body",
        /// Footer block.
        footer: opt BlockStyle = "footer",
    }
}

impl BubbleStyles {
    /// Styles with nothing set.
    pub fn new() -> Self {
        Self::blank()
    }
}

impl Default for BubbleStyles {
    fn default() -> Self {
        Self::new()
    }
}

flex_object! {
    /// A bubble: one message card with header, hero, body and footer blocks.
    ///
    /// ```
    /// use line_flex::{Bubble, Button, Image, Text, vbox};
    /// use line_flex::action::Uri;
    ///
    /// let bubble = Bubble::new()
    ///     .hero(Image::new("https://example.com/cafe.png"))
    ///     .body(vbox![Text::new("Brown Cafe").bold()])
    ///     .footer(vbox![Button::new(Uri::new("https://example.com").label("Visit"))]);
    /// assert!(bubble.validate().is_empty());
    /// ```
    pub struct Bubble ["type" = "bubble"] {
        /// Width of the bubble.
        size: opt BubbleSize = "size",
        /// Text and layout direction.
        direction: opt Direction = "direction",
        /// Block styles.
        styles: opt BubbleStyles = "styles",
        /// Header block.
        header: opt FlexBox = "header",
        /// Hero block: a box or an image.
        hero: opt Hero = "hero",
        /// Body block.
        body: opt FlexBox = "body",
        /// Footer block.
        footer: opt FlexBox = "footer",
        /// Action on tap anywhere in the bubble.
        action: opt FlexAction = "action",
    }
}

impl Bubble {
    /// An empty bubble.
    pub fn new() -> Self {
        Self::blank()
    }
}

impl Default for Bubble {
    fn default() -> Self {
        Self::new()
    }
}

flex_object! {
    /// A bubble whose hero is a video. It is kilo, mega (the default) or giga,
    /// and it cannot go in a carousel: [`Carousel`] takes [`Bubble`]s only.
    ///
    /// ```compile_fail
    /// use line_flex::{Bubble, Carousel, Image, Video};
    /// let video = Video::new("https://example.com/a.mp4", "https://example.com/a.png",
    ///     Image::new("https://example.com/a.png"));
    /// let _ = Carousel::new([Bubble::new().hero(video)]);
    /// ```
    pub struct VideoBubble ["type" = "bubble"] {
        /// The video hero.
        hero: req Video = "hero",
        /// Width of the bubble.
        size: opt VideoBubbleSize = "size",
        /// Text and layout direction.
        direction: opt Direction = "direction",
        /// Block styles.
        styles: opt BubbleStyles = "styles",
        /// Header block.
        header: opt FlexBox = "header",
        /// Body block.
        body: opt FlexBox = "body",
        /// Footer block.
        footer: opt FlexBox = "footer",
        /// Action on tap anywhere in the bubble.
        action: opt FlexAction = "action",
    }
}

impl VideoBubble {
    /// A bubble with a video hero.
    pub fn new(video: Video) -> Self {
        Self {
            hero: video,
            ..Self::blank()
        }
    }
}

flex_object! {
    /// A carousel: 1 to 12 bubbles of the same size, swiped sideways.
    ///
    /// ```
    /// use line_flex::{Bubble, Carousel, Text, vbox};
    ///
    /// let carousel = Carousel::new((1..=3).map(|i| Bubble::new().body(vbox![Text::new(format!("#{i}"))])));
    /// assert_eq!(carousel.contents.len(), 3);
    /// ```
    pub struct Carousel ["type" = "carousel"] {
        /// The bubbles.
        contents: req Vec<Bubble> = "contents",
    }
}

impl Carousel {
    /// A carousel of `bubbles`.
    pub fn new(bubbles: impl IntoIterator<Item = Bubble>) -> Self {
        Self {
            contents: bubbles.into_iter().collect(),
            ..Self::blank()
        }
    }
}

/// A Flex container: what goes in a flex message's `contents`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
#[allow(clippy::large_enum_variant)] // one per message; boxing would only add an allocation
pub enum Container {
    /// A bubble.
    Bubble(Bubble),
    /// A bubble with a video hero.
    VideoBubble(VideoBubble),
    /// A carousel.
    Carousel(Carousel),
    /// A container type this crate does not know, kept verbatim (`validate()` reports it).
    Unknown(Value),
}

impl From<Bubble> for Container {
    fn from(b: Bubble) -> Self {
        Self::Bubble(b)
    }
}

impl From<VideoBubble> for Container {
    fn from(b: VideoBubble) -> Self {
        Self::VideoBubble(b)
    }
}

impl From<Carousel> for Container {
    fn from(c: Carousel) -> Self {
        Self::Carousel(c)
    }
}

impl Placeholder for Container {
    fn placeholder() -> Self {
        Self::Unknown(Value::Null)
    }
}

/// Whether a bubble's JSON has a video hero in a size that plays video.
fn is_video_bubble(v: &Value) -> bool {
    let hero_is_video = v.get("hero").and_then(|h| h.get("type")).and_then(Value::as_str) == Some("video");
    let size_ok = match v.get("size") {
        None => true,
        Some(Value::String(s)) => VideoBubbleSize::from_keyword(s).is_some(),
        Some(_) => false,
    };
    hero_is_video && size_ok
}

impl FromJson for Container {
    fn from_json(v: Value, p: &mut Path) -> Result<Self, Error> {
        if !v.is_object() {
            return Err(mismatch(&v, "an object", p));
        }
        match v.get("type").and_then(Value::as_str) {
            Some("bubble") if is_video_bubble(&v) => VideoBubble::from_json(v, p).map(Self::VideoBubble),
            Some("bubble") => Bubble::from_json(v, p).map(Self::Bubble),
            Some("carousel") => Carousel::from_json(v, p).map(Self::Carousel),
            _ => Ok(Self::Unknown(v)),
        }
    }
}

impl Serialize for Container {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Bubble(b) => b.serialize(serializer),
            Self::VideoBubble(b) => b.serialize(serializer),
            Self::Carousel(c) => c.serialize(serializer),
            Self::Unknown(v) => v.serialize(serializer),
        }
    }
}

impl<'de> serde::Deserialize<'de> for Container {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        Self::from_json(v, &mut Path::new()).map_err(<D::Error as serde::de::Error>::custom)
    }
}

impl Check for Container {
    fn check(&self, cx: &mut Cx<'_>) {
        match self {
            Self::Bubble(b) => b.check(cx),
            Self::VideoBubble(b) => b.check(cx),
            Self::Carousel(c) => c.check(cx),
            Self::Unknown(v) => match v.get("type").and_then(Value::as_str) {
                Some(t) => cx.error_at(
                    "type",
                    format!("unknown container type {t:?}; expected bubble or carousel"),
                ),
                None => cx.error("a flex container needs a type (bubble or carousel)"),
            },
        }
    }
}

flex_object! {
    /// A quick-reply item: a button above the keyboard.
    pub struct QuickReplyItem ["type" = "action"] {
        /// The action; its label (at most 20 grapheme clusters) is the button's text.
        action: req QuickReplyAction = "action",
        /// HTTPS URL of the icon (PNG, at most 2000 characters).
        image_url: opt String = "imageUrl",
    }
}

impl QuickReplyItem {
    /// A quick-reply button running `action`.
    pub fn new<A: QuickReplyActionKind>(action: Labeled<A>) -> Self {
        Self {
            action: action.into(),
            ..Self::blank()
        }
    }
}

flex_object! {
    /// The quick reply of a message: at most 13 buttons.
    pub struct QuickReply [] {
        /// The buttons.
        items: req Vec<QuickReplyItem> = "items",
    }
}

impl QuickReply {
    /// A quick reply with `items`.
    pub fn new(items: impl IntoIterator<Item = QuickReplyItem>) -> Self {
        Self {
            items: items.into_iter().collect(),
            ..Self::blank()
        }
    }
}

flex_object! {
    /// A whole flex message: `{"type":"flex","altText":…,"contents":…}`.
    pub struct FlexMessage ["type" = "flex"] {
        /// Text shown in notifications and chat lists (1 to 1500 UTF-16 code units).
        alt_text: req String = "altText",
        /// The container.
        contents: req Container = "contents",
        /// Quick reply buttons.
        quick_reply: opt QuickReply = "quickReply",
    }
}

impl FlexMessage {
    /// A flex message showing `contents`, with `alt_text` in notifications.
    pub fn new(alt_text: impl Into<String>, contents: impl Into<Container>) -> Self {
        Self {
            alt_text: alt_text.into(),
            contents: contents.into(),
            ..Self::blank()
        }
    }
}

/// Any Flex document: a container on its own or a whole flex message.
#[derive(Debug, Clone, PartialEq)]
pub enum Document {
    /// A bubble or carousel.
    Container(Container),
    /// A whole flex message.
    Message(FlexMessage),
}

impl Document {
    /// Parses a document, detecting whether it is a bubble, a carousel or a
    /// whole flex message. See [`parse_document`](crate::parse_document).
    pub fn parse(bytes: &[u8]) -> Result<Self, Error> {
        let v: Value = serde_json::from_slice(bytes).map_err(Error::syntax)?;
        Self::from_value(v)
    }

    /// Reads a document from a JSON value.
    pub fn from_value(v: Value) -> Result<Self, Error> {
        let mut p = Path::new();
        if !v.is_object() {
            return Err(mismatch(&v, "a flex message, a bubble or a carousel (an object)", &p));
        }
        match v.get("type").and_then(Value::as_str) {
            Some("flex") => FlexMessage::from_json(v, &mut p).map(Self::Message),
            Some("bubble" | "carousel") => Container::from_json(v, &mut p).map(Self::Container),
            Some(other) => Err(Error::structure(
                "/type".to_owned(),
                format!("expected \"flex\", \"bubble\" or \"carousel\", found {other:?}"),
            )),
            None => Err(Error::structure(String::new(), "missing required property \"type\"")),
        }
    }

    /// The container (of the message, for a whole flex message).
    pub fn container(&self) -> &Container {
        match self {
            Self::Container(c) => c,
            Self::Message(m) => &m.contents,
        }
    }

    /// The document as pretty-printed JSON.
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

impl Serialize for Document {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Container(c) => c.serialize(serializer),
            Self::Message(m) => m.serialize(serializer),
        }
    }
}

impl<T: Into<Container>> From<T> for Document {
    fn from(c: T) -> Self {
        Self::Container(c.into())
    }
}

impl From<FlexMessage> for Document {
    fn from(m: FlexMessage) -> Self {
        Self::Message(m)
    }
}

impl<'de> serde::Deserialize<'de> for Document {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        Self::from_value(v).map_err(<D::Error as serde::de::Error>::custom)
    }
}

impl Check for Document {
    fn check(&self, cx: &mut Cx<'_>) {
        match self {
            Self::Container(c) => c.check(cx),
            Self::Message(m) => m.check(cx),
        }
    }
}

macro_rules! validate_methods {
    ($($t:ty),*) => {
        $(
            impl $t {
                /// All findings with the default limits, errors and warnings,
                /// with pointers relative to this value.
                pub fn validate(&self) -> Vec<Finding> {
                    self.validate_with(&ValidateOptions::default())
                }

                /// All findings with the given limits.
                pub fn validate_with(&self, options: &ValidateOptions) -> Vec<Finding> {
                    let mut cx = Cx::new(options);
                    self.check(&mut cx);
                    cx.finish()
                }
            }
        )*
    };
}

validate_methods!(Bubble, VideoBubble, Carousel, Container, FlexMessage, Document);
