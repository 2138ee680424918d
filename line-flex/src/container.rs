//! Builders of containers (bubble, video bubble, carousel) and of the whole
//! flex message with its quick reply, and [`Document`]: a parsed bubble,
//! carousel or flex message in `line_model`'s types.

use std::fmt;

use line_model::{FlexBubble, FlexCarousel, FlexComponent, FlexContainer, Message};
use serde::{Serialize, Serializer};

use crate::action::{Labeled, QuickReplyAction, QuickReplyActionKind};
use crate::builder::{builder, setters};
use crate::component::{FlexBox, Hero, Video};
use crate::validate::{Finding, Validate, ValidateOptions};
use crate::value::Color;

/// `direction` of a bubble's text and layout.
pub use line_model::FlexBubbleDirection as Direction;
/// `size` of a bubble.
pub use line_model::FlexBubbleSize as BubbleSize;

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
}

impl fmt::Display for VideoBubbleSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
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

builder! {
    /// Style of one block of a bubble.
    BlockStyle => line_model::FlexBlockStyle
}

impl BlockStyle {
    /// A block style with nothing set.
    pub fn new() -> Self {
        Self(line_model::FlexBlockStyle::new())
    }

    setters! {
        /// Background colour of the block.
        into background_color: Color = "backgroundColor";
        /// Whether a separator is drawn above the block.
        bool separator = "separator";
        /// Colour of the separator.
        into separator_color: Color = "separatorColor";
    }
}

impl Default for BlockStyle {
    fn default() -> Self {
        Self::new()
    }
}

builder! {
    /// Styles of the blocks of a bubble.
    BubbleStyles => line_model::FlexBubbleStyles
}

impl BubbleStyles {
    /// Styles with nothing set.
    pub fn new() -> Self {
        Self(line_model::FlexBubbleStyles::new())
    }

    setters! {
        /// Header block.
        into header: BlockStyle = "header";
        /// Hero block.
        into hero: BlockStyle = "hero";
        /// Body block.
        into body: BlockStyle = "body";
        /// Footer block.
        into footer: BlockStyle = "footer";
    }
}

impl Default for BubbleStyles {
    fn default() -> Self {
        Self::new()
    }
}

/// Setters every bubble has, with or without a video hero.
macro_rules! bubble_setters {
    () => {
        setters! {
            /// Text and layout direction.
            into direction: Direction = "direction";
            /// Block styles.
            into styles: BubbleStyles = "styles";
            /// Header block.
            into header: FlexBox = "header";
            /// Body block.
            into body: FlexBox = "body";
            /// Footer block.
            into footer: FlexBox = "footer";
            /// Action on tap anywhere in the bubble.
            into action: crate::action::FlexAction = "action";
        }
    };
}

builder! {
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
    /// let model: line_model::FlexBubble = bubble.into();
    /// assert!(model.hero.is_some());
    /// ```
    Bubble => FlexBubble
}

impl Bubble {
    /// An empty bubble.
    pub fn new() -> Self {
        Self(FlexBubble::new())
    }

    /// Sets `hero`: a box or an image (a video hero makes a [`VideoBubble`]).
    pub fn hero(mut self, hero: impl Into<Hero>) -> Self {
        self.0.hero = Some(hero.into().0);
        self
    }

    setters! {
        /// Width of the bubble.
        into size: BubbleSize = "size";
    }
    bubble_setters!();
}

impl Default for Bubble {
    fn default() -> Self {
        Self::new()
    }
}

builder! {
    /// A bubble whose hero is a video. It is kilo, mega (the default) or giga,
    /// and it cannot go in a carousel: [`Carousel`] takes [`Bubble`]s only.
    ///
    /// ```compile_fail
    /// use line_flex::{Bubble, Carousel, Image, Video};
    /// let video = Video::new("https://example.com/a.mp4", "https://example.com/a.png",
    ///     Image::new("https://example.com/a.png"));
    /// let _ = Carousel::new([Bubble::new().hero(video)]);
    /// ```
    VideoBubble => FlexBubble
}

impl VideoBubble {
    /// A bubble with a video hero.
    pub fn new(video: Video) -> Self {
        let mut b = FlexBubble::new();
        b.hero = Some(FlexComponent::from(video.0));
        Self(b)
    }

    /// Sets `size`: kilo, mega or giga.
    pub fn size(mut self, size: VideoBubbleSize) -> Self {
        self.0.size = Some(size.into());
        self
    }

    bubble_setters!();
}

builder! {
    /// A carousel: 1 to 12 bubbles of the same size, swiped sideways.
    ///
    /// ```
    /// use line_flex::{Bubble, Carousel, Text, vbox};
    ///
    /// let carousel = Carousel::new((1..=3).map(|i| Bubble::new().body(vbox![Text::new(format!("#{i}"))])));
    /// assert_eq!(carousel.contents.len(), 3);
    /// ```
    Carousel => FlexCarousel
}

impl Carousel {
    /// A carousel of `bubbles`.
    pub fn new(bubbles: impl IntoIterator<Item = Bubble>) -> Self {
        Self(FlexCarousel::new(bubbles.into_iter().map(|b| b.0).collect::<Vec<_>>()))
    }
}

macro_rules! into_container {
    ($($b:ident),*) => {
        $(
            impl From<$b> for FlexContainer {
                fn from(b: $b) -> Self {
                    b.0.into()
                }
            }
        )*
    };
}

into_container!(Bubble, VideoBubble, Carousel);

builder! {
    /// A quick-reply item: a button above the keyboard.
    QuickReplyItem => line_model::QuickReplyItem
}

impl QuickReplyItem {
    /// A quick-reply button running `action`; its label (at most 20 grapheme
    /// clusters) is the button's text.
    pub fn new<A: QuickReplyActionKind>(action: Labeled<A>) -> Self {
        let mut item = line_model::QuickReplyItem::new();
        item.kind = Some("action".to_owned());
        item.action = Some(QuickReplyAction::from(action).0);
        Self(item)
    }

    /// Sets `imageUrl`: the icon (HTTPS PNG, at most 2000 characters).
    pub fn image_url(mut self, url: impl Into<String>) -> Self {
        self.0.image_url = Some(url.into());
        self
    }
}

builder! {
    /// The quick reply of a message: at most 13 buttons.
    QuickReply => line_model::QuickReply
}

impl QuickReply {
    /// A quick reply with `items`.
    pub fn new(items: impl IntoIterator<Item = QuickReplyItem>) -> Self {
        let mut q = line_model::QuickReply::new();
        q.items = Some(items.into_iter().map(|i| i.0).collect());
        Self(q)
    }
}

builder! {
    /// A whole flex message: `{"type":"flex","altText":…,"contents":…}`.
    ///
    /// It turns into a `line_model::Message` with `From`, which cannot fail;
    /// call `validate()` first to know that LINE will accept it.
    ///
    /// ```
    /// use line_flex::{vbox, Bubble, FlexMessage, Text};
    ///
    /// let msg = FlexMessage::new("Hello", Bubble::new().body(vbox![Text::new("Hello")]));
    /// assert!(msg.validate().is_empty());
    /// let message: line_model::Message = msg.into();
    /// assert_eq!(message.kind(), "flex");
    /// ```
    FlexMessage => line_model::FlexMessage
}

impl FlexMessage {
    /// A flex message showing `contents`, with `alt_text` (1 to 1500 UTF-16
    /// code units) in notifications and chat lists.
    pub fn new(alt_text: impl Into<String>, contents: impl Into<FlexContainer>) -> Self {
        Self(line_model::FlexMessage::new(alt_text, contents))
    }

    /// Sets `quickReply`.
    pub fn quick_reply(mut self, quick_reply: QuickReply) -> Self {
        self.0.quick_reply = Some(quick_reply.0);
        self
    }
}

impl From<FlexMessage> for Message {
    fn from(m: FlexMessage) -> Self {
        m.0.into()
    }
}

/// Any Flex document, in `line_model`'s types: a container on its own or a
/// whole flex message.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)] // one per document; boxing would only add an allocation
pub enum Document {
    /// A bubble or carousel.
    Container(FlexContainer),
    /// A whole flex message.
    Message(line_model::FlexMessage),
}

impl Document {
    /// The container (of the message, for a whole flex message).
    pub fn container(&self) -> &FlexContainer {
        match self {
            Self::Container(c) => c,
            Self::Message(m) => &m.contents,
        }
    }

    /// All findings with the default limits (see [`Validate`]).
    pub fn validate(&self) -> Vec<Finding> {
        Validate::validate(self)
    }

    /// All findings with the given limits.
    pub fn validate_with(&self, options: &ValidateOptions) -> Vec<Finding> {
        Validate::validate_with(self, options)
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

impl From<FlexContainer> for Document {
    fn from(c: FlexContainer) -> Self {
        Self::Container(c)
    }
}

impl From<line_model::FlexMessage> for Document {
    fn from(m: line_model::FlexMessage) -> Self {
        Self::Message(m)
    }
}

macro_rules! builder_methods {
    ($($t:ty),*) => {
        $(
            impl $t {
                /// All findings with the default limits, errors and warnings,
                /// with pointers relative to this value.
                pub fn validate(&self) -> Vec<Finding> {
                    Validate::validate(&self.0)
                }

                /// All findings with the given limits.
                pub fn validate_with(&self, options: &ValidateOptions) -> Vec<Finding> {
                    Validate::validate_with(&self.0, options)
                }
            }
        )*
    };
}

builder_methods!(Bubble, VideoBubble, Carousel, FlexMessage);

macro_rules! container_message {
    ($($t:ty),*) => {
        $(
            impl $t {
                /// A flex message showing this container, with `alt_text` in
                /// notifications and chat lists.
                pub fn message(self, alt_text: impl Into<String>) -> FlexMessage {
                    FlexMessage::new(alt_text, self)
                }

                /// A `line_model` message showing this container, ready to send
                /// (the same as `.message(alt_text).into()`). It cannot fail:
                /// call `validate()` first, and check `alt_text` (1 to 1500
                /// UTF-16 code units) or validate the [`FlexMessage`].
                pub fn into_message(self, alt_text: impl Into<String>) -> Message {
                    self.message(alt_text).into()
                }
            }
        )*
    };
}

container_message!(Bubble, VideoBubble, Carousel);

impl Validate for Document {
    fn validate_with(&self, options: &ValidateOptions) -> Vec<Finding> {
        match self {
            Self::Container(c) => c.validate_with(options),
            Self::Message(m) => m.validate_with(options),
        }
    }
}
