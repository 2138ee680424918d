//! Builders of Flex components: box, button, image, video, icon, text, span,
//! separator and filler. Each builds a `line_model` component
//! ([`line_model::FlexBox`], [`line_model::FlexText`]…) and turns into it with
//! `From`.
//!
//! Containment is in the types: a vertical or horizontal [`FlexBox`] takes
//! [`Component`]s (box, button, image, text, separator, filler), a baseline
//! box takes [`BaselineComponent`]s (icon, text, filler), a [`Span`] goes only
//! inside a [`Text`], and a [`Video`] goes only as the hero of a
//! [`VideoBubble`](crate::VideoBubble). So these do not compile:
//!
//! ```compile_fail
//! use line_flex::{FlexBox, Icon};
//! let _ = FlexBox::vertical([Icon::new("https://example.com/star.png").into()]);
//! ```
//!
//! ```compile_fail
//! use line_flex::{FlexBox, Span};
//! let _ = FlexBox::horizontal([Span::new("hi").into()]);
//! ```

use line_model::{
    FlexBoxLayout, FlexBoxLinearGradient, FlexButton, FlexComponent, FlexFiller, FlexIcon, FlexImage, FlexSeparator,
    FlexSpan, FlexText, FlexVideo,
};

use crate::action::{FlexAction, FlexActionKind, Labeled};
use crate::builder::{builder, setters};
use crate::value::{
    Angle, AspectRatio, BorderWidth, Color, FontSize, IconSize, ImageSize, Length, Offset, Padding, Percent, Px,
    Spacing,
};

/// `alignItems` of a box.
pub use line_model::FlexBoxAlignItems as AlignItems;
/// `justifyContent` of a box.
pub use line_model::FlexBoxJustifyContent as JustifyContent;
/// `layout` of a box.
pub use line_model::FlexBoxLayout as Layout;
/// `height` of a button.
pub use line_model::FlexButtonHeight as ButtonHeight;
/// `style` of a button.
pub use line_model::FlexButtonStyle as ButtonStyle;
/// `aspectMode` of an image.
pub use line_model::FlexImageAspectMode as AspectMode;

/// A keyword that several components share, while `line_model` has one enum
/// per component (`FlexTextWeight`, `FlexSpanWeight`…): the builders take this
/// one and write the component's own.
macro_rules! shared_keyword {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $var:ident = $s:literal),* $(,)? } => $($model:ident),+) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vm])* $var, )*
        }

        impl $name {
            /// The keyword as LINE spells it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( Self::$var => $s, )*
                }
            }
        }

        shared_keyword!(@impls $name [$($var)*] $($model)+);
    };
    (@impls $name:ident $vars:tt $($model:ident)+) => {
        $( shared_keyword!(@one $name $vars $model); )+
    };
    (@one $name:ident [$($var:ident)*] $model:ident) => {
        impl From<$name> for line_model::$model {
            fn from(k: $name) -> Self {
                match k {
                    $( $name::$var => Self::$var, )*
                }
            }
        }
    };
}

shared_keyword! {
    /// `position`: how offsets are applied.
    Position {
        /// `relative` (the default): offsets move the component from where it would be.
        Relative = "relative",
        /// `absolute`: offsets are from the parent box's edges.
        Absolute = "absolute",
    } => FlexBoxPosition, FlexButtonPosition, FlexImagePosition, FlexIconPosition, FlexTextPosition
}

shared_keyword! {
    /// `align`: horizontal alignment.
    Align {
        /// `start`
        Start = "start",
        /// `end`
        End = "end",
        /// `center`
        Center = "center",
    } => FlexImageAlign, FlexTextAlign
}

shared_keyword! {
    /// `gravity`: vertical alignment.
    Gravity {
        /// `top`
        Top = "top",
        /// `bottom`
        Bottom = "bottom",
        /// `center`
        Center = "center",
    } => FlexButtonGravity, FlexImageGravity, FlexTextGravity
}

shared_keyword! {
    /// `weight` of a text or span.
    Weight {
        /// `regular`
        Regular = "regular",
        /// `bold`
        Bold = "bold",
    } => FlexTextWeight, FlexSpanWeight
}

shared_keyword! {
    /// `style` of a text or span.
    FontStyle {
        /// `normal`
        Normal = "normal",
        /// `italic`
        Italic = "italic",
    } => FlexTextStyle, FlexSpanStyle
}

shared_keyword! {
    /// `decoration` of a text or span.
    Decoration {
        /// `none`
        None = "none",
        /// `underline`
        Underline = "underline",
        /// `line-through`
        LineThrough = "line-through",
    } => FlexTextDecoration, FlexSpanDecoration
}

shared_keyword! {
    /// `adjustMode`: how text shrinks to fit.
    AdjustMode {
        /// `shrink-to-fit`
        ShrinkToFit = "shrink-to-fit",
    } => FlexTextAdjustMode, FlexButtonAdjustMode
}

/// Setters of the properties every positioned component has.
macro_rules! placement {
    () => {
        setters! {
            /// Space before this component in its parent box.
            into margin: Spacing = "margin";
            /// Reference point of the offsets.
            into position: Position = "position";
            /// Offset from the top.
            into offset_top: Offset = "offsetTop";
            /// Offset from the bottom.
            into offset_bottom: Offset = "offsetBottom";
            /// Offset from the start.
            into offset_start: Offset = "offsetStart";
            /// Offset from the end.
            into offset_end: Offset = "offsetEnd";
        }
    };
}

builder! {
    /// A box: lays out its children horizontally, vertically or on a baseline.
    ///
    /// ```
    /// use line_flex::{FlexBox, Text, vbox};
    /// use line_flex::value::{px, Space};
    ///
    /// let row = vbox![Text::new("Total"), Text::new("¥3,200").bold()]
    ///     .spacing(Space::Sm)
    ///     .padding_all(px(12));
    /// assert_eq!(row.contents.len(), 2);
    /// ```
    FlexBox => line_model::FlexBox
}

impl FlexBox {
    fn with(layout: FlexBoxLayout, contents: Vec<FlexComponent>) -> Self {
        Self(line_model::FlexBox::new(layout, contents))
    }

    /// A vertical box.
    pub fn vertical(contents: impl IntoIterator<Item = Component>) -> Self {
        Self::with(FlexBoxLayout::Vertical, contents.into_iter().map(|c| c.0).collect())
    }

    /// A horizontal box.
    pub fn horizontal(contents: impl IntoIterator<Item = Component>) -> Self {
        Self::with(FlexBoxLayout::Horizontal, contents.into_iter().map(|c| c.0).collect())
    }

    /// A baseline box: icons, texts and fillers only.
    pub fn baseline(contents: impl IntoIterator<Item = BaselineComponent>) -> Self {
        Self::with(FlexBoxLayout::Baseline, contents.into_iter().map(|c| c.0).collect())
    }

    /// Appends a child to a vertical or horizontal box.
    ///
    /// A baseline box takes [`push_baseline`](Self::push_baseline) instead; on a
    /// baseline box the child is added anyway and `validate()` reports it.
    pub fn push(mut self, child: impl Into<Component>) -> Self {
        self.0.contents.push(child.into().0);
        self
    }

    /// Appends a child to a baseline box (on another layout `validate()` reports an icon).
    pub fn push_baseline(mut self, child: impl Into<BaselineComponent>) -> Self {
        self.0.contents.push(child.into().0);
        self
    }

    setters! {
        /// Share of the parent box's space (`0` keeps the natural size).
        flex flex = "flex";
        /// Minimum space between children.
        into spacing: Spacing = "spacing";
    }
    placement!();
    setters! {
        /// Background colour.
        into background_color: Color = "backgroundColor";
        /// Border colour.
        into border_color: Color = "borderColor";
        /// Border width.
        into border_width: BorderWidth = "borderWidth";
        /// Corner radius.
        into corner_radius: Spacing = "cornerRadius";
        /// Width.
        into width: Length = "width";
        /// Largest width.
        into max_width: Length = "maxWidth";
        /// Height.
        into height: Length = "height";
        /// Largest height.
        into max_height: Length = "maxHeight";
        /// Padding on every side.
        into padding_all: Padding = "paddingAll";
        /// Top padding.
        into padding_top: Padding = "paddingTop";
        /// Bottom padding.
        into padding_bottom: Padding = "paddingBottom";
        /// Start padding.
        into padding_start: Padding = "paddingStart";
        /// End padding.
        into padding_end: Padding = "paddingEnd";
        /// Action on tap.
        into action: FlexAction = "action";
        /// Placement of children along the main axis.
        into justify_content: JustifyContent = "justifyContent";
        /// Placement of children along the cross axis.
        into align_items: AlignItems = "alignItems";
    }

    /// Sets `background` (a linear gradient).
    pub fn background(mut self, gradient: LinearGradient) -> Self {
        self.0.background = Some(gradient.0.into());
        self
    }
}

builder! {
    /// A linear gradient background of a box.
    LinearGradient => FlexBoxLinearGradient
}

impl LinearGradient {
    /// A gradient from `start` to `end`, at `angle` (`0deg` is bottom to top, `90deg` left to right).
    pub fn new(angle: Angle, start: Color, end: Color) -> Self {
        let mut g = FlexBoxLinearGradient::new();
        g.angle = Some(angle.into());
        g.start_color = Some(start.into());
        g.end_color = Some(end.into());
        Self(g)
    }

    setters! {
        /// Colour in the middle.
        into center_color: Color = "centerColor";
        /// Where the middle colour sits (0% to 100%).
        into center_position: Percent = "centerPosition";
    }
}

builder! {
    /// A button. Its action needs a label.
    Button => FlexButton
}

impl Button {
    /// A button running `action`, whose label is the button's text.
    pub fn new<A: FlexActionKind>(action: Labeled<A>) -> Self {
        Self(FlexButton::new(FlexAction::from(action).0))
    }

    setters! {
        /// Share of the parent box's space.
        flex flex = "flex";
        /// Character colour (link) or background colour (primary, secondary).
        into color: Color = "color";
        /// Style.
        into style: ButtonStyle = "style";
        /// Vertical alignment.
        into gravity: Gravity = "gravity";
    }
    placement!();
    setters! {
        /// Height.
        into height: ButtonHeight = "height";
        /// How the label shrinks to fit.
        into adjust_mode: AdjustMode = "adjustMode";
        /// Whether the label scales with the user's font size setting.
        bool scaling = "scaling";
    }
}

builder! {
    /// An image.
    Image => FlexImage
}

impl Image {
    /// An image at `url` (HTTPS, JPEG or PNG, at most 2000 characters).
    pub fn new(url: impl Into<String>) -> Self {
        Self(FlexImage::new(url))
    }

    setters! {
        /// Share of the parent box's space.
        flex flex = "flex";
    }
    placement!();
    setters! {
        /// Horizontal alignment.
        into align: Align = "align";
        /// Vertical alignment.
        into gravity: Gravity = "gravity";
        /// Largest width.
        into size: ImageSize = "size";
        /// Aspect ratio `{width}:{height}`.
        into aspect_ratio: AspectRatio = "aspectRatio";
        /// How the image fills its aspect ratio.
        into aspect_mode: AspectMode = "aspectMode";
        /// Background colour.
        into background_color: Color = "backgroundColor";
        /// Action on tap.
        into action: FlexAction = "action";
        /// Whether an APNG plays (at most 10 per message).
        bool animated = "animated";
    }
}

/// What a video shows where it cannot play: an image or a box.
#[derive(Debug, Clone, PartialEq)]
pub struct AltContent(pub(crate) FlexComponent);

impl From<Image> for AltContent {
    fn from(i: Image) -> Self {
        Self(i.0.into())
    }
}

impl From<FlexBox> for AltContent {
    fn from(b: FlexBox) -> Self {
        Self(b.0.into())
    }
}

builder! {
    /// A video, only as the hero of a kilo, mega or giga bubble outside a carousel.
    Video => FlexVideo
}

impl Video {
    /// A video (an HTTPS mp4) with its preview image and the content shown where it cannot play.
    pub fn new(url: impl Into<String>, preview_url: impl Into<String>, alt_content: impl Into<AltContent>) -> Self {
        Self(FlexVideo::new(url, preview_url, Box::new(alt_content.into().0)))
    }

    setters! {
        /// Aspect ratio `{width}:{height}`.
        into aspect_ratio: AspectRatio = "aspectRatio";
        /// Action (a link shown after the video ends).
        into action: FlexAction = "action";
    }
}

builder! {
    /// An icon, only inside a baseline box.
    Icon => FlexIcon
}

impl Icon {
    /// An icon at `url` (HTTPS, JPEG or PNG, at most 2000 characters).
    pub fn new(url: impl Into<String>) -> Self {
        Self(FlexIcon::new(url))
    }

    setters! {
        /// Size.
        into size: IconSize = "size";
        /// Aspect ratio `{width}:{height}`.
        into aspect_ratio: AspectRatio = "aspectRatio";
    }
    placement!();
    setters! {
        /// Whether the icon scales with the user's font size setting.
        bool scaling = "scaling";
    }
}

builder! {
    /// A text, made of a string or of spans.
    Text => FlexText
}

impl Text {
    /// A text.
    pub fn new(text: impl Into<String>) -> Self {
        let mut t = FlexText::new();
        t.text = Some(text.into());
        Self(t)
    }

    /// A text made of spans.
    pub fn spans(spans: impl IntoIterator<Item = Span>) -> Self {
        let mut t = FlexText::new();
        t.contents = Some(spans.into_iter().map(|s| s.0).collect());
        Self(t)
    }

    /// Shorthand for `.weight(Weight::Bold)`.
    pub fn bold(self) -> Self {
        self.weight(Weight::Bold)
    }

    setters! {
        /// Share of the parent box's space (`0` keeps the natural size).
        flex flex = "flex";
        /// Font size.
        into size: FontSize = "size";
        /// Horizontal alignment.
        into align: Align = "align";
        /// Vertical alignment.
        into gravity: Gravity = "gravity";
        /// Colour.
        into color: Color = "color";
        /// Weight.
        into weight: Weight = "weight";
        /// Style.
        into style: FontStyle = "style";
        /// Decoration.
        into decoration: Decoration = "decoration";
        /// Whether the text wraps.
        bool wrap = "wrap";
        /// Space between lines (px).
        into line_spacing: Px = "lineSpacing";
    }
    placement!();
    setters! {
        /// Action on tap.
        into action: FlexAction = "action";
        /// Most lines shown (`0` means no limit).
        flex max_lines = "maxLines";
        /// How the text shrinks to fit.
        into adjust_mode: AdjustMode = "adjustMode";
        /// Whether the text scales with the user's font size setting.
        bool scaling = "scaling";
    }
}

builder! {
    /// A span: a run of text with its own style, only inside a text.
    Span => FlexSpan
}

impl Span {
    /// A span.
    pub fn new(text: impl Into<String>) -> Self {
        let mut s = FlexSpan::new();
        s.text = Some(text.into());
        Self(s)
    }

    setters! {
        /// Font size.
        into size: FontSize = "size";
        /// Colour.
        into color: Color = "color";
        /// Weight.
        into weight: Weight = "weight";
        /// Style.
        into style: FontStyle = "style";
        /// Decoration.
        into decoration: Decoration = "decoration";
    }
}

builder! {
    /// A separator line.
    Separator => FlexSeparator
}

impl Separator {
    /// A separator.
    pub fn new() -> Self {
        Self(FlexSeparator::new())
    }

    setters! {
        /// Space before the separator.
        into margin: Spacing = "margin";
        /// Colour.
        into color: Color = "color";
    }
}

impl Default for Separator {
    fn default() -> Self {
        Self::new()
    }
}

builder! {
    /// A filler: empty space that takes a share of its box.
    Filler => FlexFiller
}

impl Filler {
    /// A filler.
    pub fn new() -> Self {
        Self(FlexFiller::new())
    }

    setters! {
        /// Share of the parent box's space.
        flex flex = "flex";
    }
}

impl Default for Filler {
    fn default() -> Self {
        Self::new()
    }
}

/// Declares a containment wrapper: a `line_model::FlexComponent` that only
/// the listed builders turn into.
macro_rules! slot {
    ($(#[$m:meta])* $name:ident: $($b:ident),+) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq)]
        pub struct $name(pub(crate) FlexComponent);

        $(
            impl From<$b> for $name {
                fn from(b: $b) -> Self {
                    Self(b.0.into())
                }
            }
        )+

        impl From<$name> for FlexComponent {
            fn from(c: $name) -> Self {
                c.0
            }
        }

        impl std::ops::Deref for $name {
            type Target = FlexComponent;
            fn deref(&self) -> &FlexComponent {
                &self.0
            }
        }
    };
}

slot! {
    /// A child of a horizontal or vertical box: box, button, image, text,
    /// separator or filler.
    Component: FlexBox, Button, Image, Text, Separator, Filler
}

slot! {
    /// A child of a baseline box: icon, text or filler.
    BaselineComponent: Icon, Text, Filler
}

slot! {
    /// The hero block of a bubble: a box or an image. (A video hero makes a
    /// [`VideoBubble`](crate::VideoBubble).)
    Hero: FlexBox, Image
}

/// Every builder of a component also turns into a `line_model::FlexComponent`.
macro_rules! into_component {
    ($($b:ident),*) => {
        $(
            impl From<$b> for FlexComponent {
                fn from(b: $b) -> Self {
                    b.0.into()
                }
            }
        )*
    };
}

into_component!(FlexBox, Button, Image, Video, Icon, Text, Span, Separator, Filler);
