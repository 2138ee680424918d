//! Flex components: box, button, image, video, icon, text, span, separator
//! and filler, and the unions that say where each may appear.
//!
//! Containment is in the types: a [`FlexBox`] with a vertical or horizontal
//! layout holds [`Component`]s, a baseline box holds
//! [`BaselineComponent`]s (icon, text, filler), a [`Span`] goes only inside a
//! [`Text`], and a [`Video`] goes only as the hero of a
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

use serde::ser::SerializeMap;
use serde_json::{Map, Value};

use crate::action::{FlexAction, FlexActionKind, Labeled};
use crate::error::Error;
use crate::json::{expect_string, flex_object, open_enum, tagged_enum, Flat, FromJson, Path, Placeholder};
use crate::validate::{Check, Cx};
use crate::value::{
    Angle, AspectRatio, BorderWidth, Color, FontSize, IconSize, ImageSize, Length, Offset, Padding, Percent, Px,
    Spacing,
};

open_enum! {
    /// `layout` of a box.
    pub enum Layout {
        /// `horizontal`
        Horizontal = "horizontal",
        /// `vertical`
        Vertical = "vertical",
        /// `baseline`
        Baseline = "baseline",
    }
}

open_enum! {
    /// `position`: how offsets are applied.
    pub enum Position {
        /// `relative` (the default): offsets move the component from where it would be.
        Relative = "relative",
        /// `absolute`: offsets are from the parent box's edges.
        Absolute = "absolute",
    }
}

open_enum! {
    /// `justifyContent` of a box.
    pub enum JustifyContent {
        /// `center`
        Center = "center",
        /// `flex-start`
        FlexStart = "flex-start",
        /// `flex-end`
        FlexEnd = "flex-end",
        /// `space-between`
        SpaceBetween = "space-between",
        /// `space-around`
        SpaceAround = "space-around",
        /// `space-evenly`
        SpaceEvenly = "space-evenly",
    }
}

open_enum! {
    /// `alignItems` of a box.
    pub enum AlignItems {
        /// `center`
        Center = "center",
        /// `flex-start`
        FlexStart = "flex-start",
        /// `flex-end`
        FlexEnd = "flex-end",
    }
}

open_enum! {
    /// `align`: horizontal alignment.
    pub enum Align {
        /// `start`
        Start = "start",
        /// `end`
        End = "end",
        /// `center`
        Center = "center",
    }
}

open_enum! {
    /// `gravity`: vertical alignment.
    pub enum Gravity {
        /// `top`
        Top = "top",
        /// `bottom`
        Bottom = "bottom",
        /// `center`
        Center = "center",
    }
}

open_enum! {
    /// `aspectMode` of an image.
    pub enum AspectMode {
        /// `fit`
        Fit = "fit",
        /// `cover`
        Cover = "cover",
    }
}

open_enum! {
    /// `weight` of a text or span.
    pub enum Weight {
        /// `regular`
        Regular = "regular",
        /// `bold`
        Bold = "bold",
    }
}

open_enum! {
    /// `style` of a text or span.
    pub enum FontStyle {
        /// `normal`
        Normal = "normal",
        /// `italic`
        Italic = "italic",
    }
}

open_enum! {
    /// `decoration` of a text or span.
    pub enum Decoration {
        /// `none`
        None = "none",
        /// `underline`
        Underline = "underline",
        /// `line-through`
        LineThrough = "line-through",
    }
}

open_enum! {
    /// `adjustMode`: how text shrinks to fit.
    pub enum AdjustMode {
        /// `shrink-to-fit`
        ShrinkToFit = "shrink-to-fit",
    }
}

open_enum! {
    /// `style` of a button.
    pub enum ButtonStyle {
        /// `primary`: white text on a dark background.
        Primary = "primary",
        /// `secondary`: dark text on a light background.
        Secondary = "secondary",
        /// `link`: a text link.
        Link = "link",
    }
}

open_enum! {
    /// `height` of a button.
    pub enum ButtonHeight {
        /// `md` (the default)
        Md = "md",
        /// `sm`
        Sm = "sm",
    }
}

/// A box's `layout` together with its `contents`: the layout decides which
/// components the box may hold.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum BoxContents {
    /// `layout: horizontal`
    Horizontal(Vec<Component>),
    /// `layout: vertical`
    Vertical(Vec<Component>),
    /// `layout: baseline`: icons, texts and fillers aligned on their baseline.
    Baseline(Vec<BaselineComponent>),
    /// A layout this crate does not know, kept verbatim (`validate()` reports it).
    Other {
        /// The layout keyword as written.
        layout: String,
        /// The contents.
        contents: Vec<Component>,
    },
}

impl BoxContents {
    /// The layout keyword.
    pub fn layout(&self) -> Layout {
        match self {
            Self::Horizontal(_) => Layout::Horizontal,
            Self::Vertical(_) => Layout::Vertical,
            Self::Baseline(_) => Layout::Baseline,
            Self::Other { layout, .. } => Layout::Unknown(layout.clone()),
        }
    }

    /// Number of child components.
    pub fn len(&self) -> usize {
        match self {
            Self::Horizontal(c) | Self::Vertical(c) | Self::Other { contents: c, .. } => c.len(),
            Self::Baseline(c) => c.len(),
        }
    }

    /// Whether the box has no children.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `position` of the first child, if it has one.
    pub(crate) fn first_position(&self) -> Option<&Position> {
        match self {
            Self::Horizontal(c) | Self::Vertical(c) | Self::Other { contents: c, .. } => {
                c.first().and_then(Component::position)
            }
            Self::Baseline(c) => c.first().and_then(BaselineComponent::position),
        }
    }
}

impl Placeholder for BoxContents {
    fn placeholder() -> Self {
        Self::Vertical(Vec::new())
    }
}

impl Flat for BoxContents {
    fn take(obj: &mut Map<String, Value>, p: &mut Path) -> Result<Self, Error> {
        let layout = match obj.remove("layout") {
            Some(v) => {
                p.push_key("layout");
                let s = expect_string(v, p);
                p.pop();
                s?
            }
            None => return Err(Error::structure(p.pointer(), "missing required property \"layout\"")),
        };
        let Some(contents) = obj.remove("contents") else {
            return Err(Error::structure(p.pointer(), "missing required property \"contents\""));
        };
        p.push_key("contents");
        let out = match layout.as_str() {
            "horizontal" => Vec::from_json(contents, p).map(Self::Horizontal),
            "vertical" => Vec::from_json(contents, p).map(Self::Vertical),
            "baseline" => Vec::from_json(contents, p).map(Self::Baseline),
            _ => Vec::from_json(contents, p).map(|contents| Self::Other { layout, contents }),
        };
        p.pop();
        out
    }

    fn ser<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        match self {
            Self::Horizontal(c) => {
                m.serialize_entry("layout", "horizontal")?;
                m.serialize_entry("contents", c)
            }
            Self::Vertical(c) => {
                m.serialize_entry("layout", "vertical")?;
                m.serialize_entry("contents", c)
            }
            Self::Baseline(c) => {
                m.serialize_entry("layout", "baseline")?;
                m.serialize_entry("contents", c)
            }
            Self::Other { layout, contents } => {
                m.serialize_entry("layout", layout)?;
                m.serialize_entry("contents", contents)
            }
        }
    }
}

impl Check for BoxContents {
    fn check(&self, cx: &mut Cx<'_>) {
        if let Self::Other { layout, .. } = self {
            cx.error_at(
                "layout",
                format!("unknown keyword {layout:?}; expected one of: horizontal, vertical, baseline"),
            );
        }
        cx.at("contents", |cx| match self {
            Self::Horizontal(c) | Self::Vertical(c) | Self::Other { contents: c, .. } => c.check(cx),
            Self::Baseline(c) => c.check(cx),
        });
    }
}

flex_object! {
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
    pub struct FlexBox ["type" = "box"] {
        /// `layout` and `contents`.
        contents: flat BoxContents = "contents",
        /// Share of the parent box's space (`0` keeps the natural size).
        flex: val u32 = "flex",
        /// Minimum space between children.
        spacing: opt Spacing = "spacing",
        /// Space before this component in its parent box.
        margin: opt Spacing = "margin",
        /// Reference point of the offsets.
        position: opt Position = "position",
        /// Offset from the top.
        offset_top: opt Offset = "offsetTop",
        /// Offset from the bottom.
        offset_bottom: opt Offset = "offsetBottom",
        /// Offset from the start.
        offset_start: opt Offset = "offsetStart",
        /// Offset from the end.
        offset_end: opt Offset = "offsetEnd",
        /// Background colour.
        background_color: opt Color = "backgroundColor",
        /// Border colour.
        border_color: opt Color = "borderColor",
        /// Border width.
        border_width: opt BorderWidth = "borderWidth",
        /// Corner radius.
        corner_radius: opt Spacing = "cornerRadius",
        /// Width.
        width: opt Length = "width",
        /// Largest width.
        max_width: opt Length = "maxWidth",
        /// Height.
        height: opt Length = "height",
        /// Largest height.
        max_height: opt Length = "maxHeight",
        /// Padding on every side.
        padding_all: opt Padding = "paddingAll",
        /// Top padding.
        padding_top: opt Padding = "paddingTop",
        /// Bottom padding.
        padding_bottom: opt Padding = "paddingBottom",
        /// Start padding.
        padding_start: opt Padding = "paddingStart",
        /// End padding.
        padding_end: opt Padding = "paddingEnd",
        /// Action on tap.
        action: opt FlexAction = "action",
        /// Placement of children along the main axis.
        justify_content: opt JustifyContent = "justifyContent",
        /// Placement of children along the cross axis.
        align_items: opt AlignItems = "alignItems",
        /// Background (a linear gradient).
        background: opt Background = "background",
    }
}

impl FlexBox {
    /// A vertical box.
    pub fn vertical(contents: impl IntoIterator<Item = Component>) -> Self {
        Self {
            contents: BoxContents::Vertical(contents.into_iter().collect()),
            ..Self::blank()
        }
    }

    /// A horizontal box.
    pub fn horizontal(contents: impl IntoIterator<Item = Component>) -> Self {
        Self {
            contents: BoxContents::Horizontal(contents.into_iter().collect()),
            ..Self::blank()
        }
    }

    /// A baseline box: icons, texts and fillers only.
    pub fn baseline(contents: impl IntoIterator<Item = BaselineComponent>) -> Self {
        Self {
            contents: BoxContents::Baseline(contents.into_iter().collect()),
            ..Self::blank()
        }
    }

    /// Appends a child to a vertical or horizontal box.
    ///
    /// A baseline box takes [`push_baseline`](Self::push_baseline) instead; on a
    /// baseline box this turns the child into raw JSON, which `validate()`
    /// reports.
    #[must_use]
    pub fn push(mut self, child: impl Into<Component>) -> Self {
        let child = child.into();
        match &mut self.contents {
            BoxContents::Horizontal(c) | BoxContents::Vertical(c) | BoxContents::Other { contents: c, .. } => {
                c.push(child)
            }
            BoxContents::Baseline(c) => c.push(BaselineComponent::Unknown(
                serde_json::to_value(&child).unwrap_or(Value::Null),
            )),
        }
        self
    }

    /// Appends a child to a baseline box (on another layout the child is kept as raw JSON).
    #[must_use]
    pub fn push_baseline(mut self, child: impl Into<BaselineComponent>) -> Self {
        let child = child.into();
        match &mut self.contents {
            BoxContents::Baseline(c) => c.push(child),
            BoxContents::Horizontal(c) | BoxContents::Vertical(c) | BoxContents::Other { contents: c, .. } => {
                c.push(Component::Unknown(serde_json::to_value(&child).unwrap_or(Value::Null)))
            }
        }
        self
    }
}

flex_object! {
    /// A linear gradient background of a box.
    pub struct LinearGradient ["type" = "linearGradient"] {
        /// Direction: `0deg` is bottom to top, `90deg` left to right.
        angle: opt Angle = "angle",
        /// Colour at the start.
        start_color: opt Color = "startColor",
        /// Colour at the end.
        end_color: opt Color = "endColor",
        /// Colour in the middle.
        center_color: opt Color = "centerColor",
        /// Where the middle colour sits (0% to 100%).
        center_position: opt Percent = "centerPosition",
    }
}

impl LinearGradient {
    /// A gradient from `start` to `end`, at `angle`.
    pub fn new(angle: Angle, start: Color, end: Color) -> Self {
        Self {
            angle: Some(angle),
            start_color: Some(start),
            end_color: Some(end),
            ..Self::blank()
        }
    }
}

tagged_enum! {
    /// The background of a box.
    pub enum Background {
        /// `linearGradient`
        LinearGradient(LinearGradient) = "linearGradient",
    }
}

flex_object! {
    /// A button. Its action needs a label.
    pub struct Button ["type" = "button"] {
        /// Action on tap; its label is the button's text.
        action: req FlexAction = "action",
        /// Share of the parent box's space.
        flex: val u32 = "flex",
        /// Character colour (link) or background colour (primary, secondary).
        color: opt Color = "color",
        /// Style.
        style: opt ButtonStyle = "style",
        /// Vertical alignment.
        gravity: opt Gravity = "gravity",
        /// Space before this component in its parent box.
        margin: opt Spacing = "margin",
        /// Reference point of the offsets.
        position: opt Position = "position",
        /// Offset from the top.
        offset_top: opt Offset = "offsetTop",
        /// Offset from the bottom.
        offset_bottom: opt Offset = "offsetBottom",
        /// Offset from the start.
        offset_start: opt Offset = "offsetStart",
        /// Offset from the end.
        offset_end: opt Offset = "offsetEnd",
        /// Height.
        height: opt ButtonHeight = "height",
        /// How the label shrinks to fit.
        adjust_mode: opt AdjustMode = "adjustMode",
        /// Whether the label scales with the user's font size setting.
        scaling: val bool = "scaling",
    }
}

impl Button {
    /// A button running `action`, whose label is the button's text.
    pub fn new<A: FlexActionKind>(action: Labeled<A>) -> Self {
        Self {
            action: action.into(),
            ..Self::blank()
        }
    }
}

flex_object! {
    /// An image.
    pub struct Image ["type" = "image"] {
        /// HTTPS URL of a JPEG or PNG (at most 2000 characters).
        url: req String = "url",
        /// Share of the parent box's space.
        flex: val u32 = "flex",
        /// Space before this component in its parent box.
        margin: opt Spacing = "margin",
        /// Reference point of the offsets.
        position: opt Position = "position",
        /// Offset from the top.
        offset_top: opt Offset = "offsetTop",
        /// Offset from the bottom.
        offset_bottom: opt Offset = "offsetBottom",
        /// Offset from the start.
        offset_start: opt Offset = "offsetStart",
        /// Offset from the end.
        offset_end: opt Offset = "offsetEnd",
        /// Horizontal alignment.
        align: opt Align = "align",
        /// Vertical alignment.
        gravity: opt Gravity = "gravity",
        /// Largest width.
        size: opt ImageSize = "size",
        /// Aspect ratio `{width}:{height}`.
        aspect_ratio: opt AspectRatio = "aspectRatio",
        /// How the image fills its aspect ratio.
        aspect_mode: opt AspectMode = "aspectMode",
        /// Background colour.
        background_color: opt Color = "backgroundColor",
        /// Action on tap.
        action: opt FlexAction = "action",
        /// Whether an APNG plays (at most 10 per message).
        animated: val bool = "animated",
    }
}

impl Image {
    /// An image at `url`.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            ..Self::blank()
        }
    }
}

tagged_enum! {
    /// What a video shows where it cannot play: an image or a box.
    pub enum AltContent {
        /// `image`
        Image(Image) = "image",
        /// `box`
        Box(FlexBox) = "box",
    }
}

impl Placeholder for AltContent {
    fn placeholder() -> Self {
        Self::Unknown(Value::Null)
    }
}

flex_object! {
    /// A video, only as the hero of a kilo, mega or giga bubble outside a carousel.
    pub struct Video ["type" = "video"] {
        /// HTTPS URL of an mp4 (at most 2000 characters).
        url: req String = "url",
        /// HTTPS URL of the preview image (at most 2000 characters).
        preview_url: req String = "previewUrl",
        /// What shows where the video cannot play.
        alt_content: req AltContent = "altContent",
        /// Aspect ratio `{width}:{height}`.
        aspect_ratio: opt AspectRatio = "aspectRatio",
        /// Action (a link shown after the video ends).
        action: opt FlexAction = "action",
    }
}

impl Video {
    /// A video with its preview image and the content shown where it cannot play.
    pub fn new(url: impl Into<String>, preview_url: impl Into<String>, alt_content: impl Into<AltContent>) -> Self {
        Self {
            url: url.into(),
            preview_url: preview_url.into(),
            alt_content: alt_content.into(),
            ..Self::blank()
        }
    }
}

impl Placeholder for Video {
    fn placeholder() -> Self {
        Self::blank()
    }
}

flex_object! {
    /// An icon, only inside a baseline box.
    pub struct Icon ["type" = "icon"] {
        /// HTTPS URL of a JPEG or PNG (at most 2000 characters).
        url: req String = "url",
        /// Size.
        size: opt IconSize = "size",
        /// Aspect ratio `{width}:{height}`.
        aspect_ratio: opt AspectRatio = "aspectRatio",
        /// Space before this component in its parent box.
        margin: opt Spacing = "margin",
        /// Reference point of the offsets.
        position: opt Position = "position",
        /// Offset from the top.
        offset_top: opt Offset = "offsetTop",
        /// Offset from the bottom.
        offset_bottom: opt Offset = "offsetBottom",
        /// Offset from the start.
        offset_start: opt Offset = "offsetStart",
        /// Offset from the end.
        offset_end: opt Offset = "offsetEnd",
        /// Whether the icon scales with the user's font size setting.
        scaling: val bool = "scaling",
    }
}

impl Icon {
    /// An icon at `url`.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            ..Self::blank()
        }
    }
}

flex_object! {
    /// A text, made of a string or of spans.
    pub struct Text ["type" = "text"] {
        /// The text (ignored when `contents` has spans).
        text: opt String = "text",
        /// Spans with their own styles.
        contents: opt Vec<Span> = "contents",
        /// Share of the parent box's space (`0` keeps the natural size).
        flex: val u32 = "flex",
        /// Font size.
        size: opt FontSize = "size",
        /// Horizontal alignment.
        align: opt Align = "align",
        /// Vertical alignment.
        gravity: opt Gravity = "gravity",
        /// Colour.
        color: opt Color = "color",
        /// Weight.
        weight: opt Weight = "weight",
        /// Style.
        style: opt FontStyle = "style",
        /// Decoration.
        decoration: opt Decoration = "decoration",
        /// Whether the text wraps.
        wrap: val bool = "wrap",
        /// Space between lines (px).
        line_spacing: opt Px = "lineSpacing",
        /// Space before this component in its parent box.
        margin: opt Spacing = "margin",
        /// Reference point of the offsets.
        position: opt Position = "position",
        /// Offset from the top.
        offset_top: opt Offset = "offsetTop",
        /// Offset from the bottom.
        offset_bottom: opt Offset = "offsetBottom",
        /// Offset from the start.
        offset_start: opt Offset = "offsetStart",
        /// Offset from the end.
        offset_end: opt Offset = "offsetEnd",
        /// Action on tap.
        action: opt FlexAction = "action",
        /// Most lines shown (`0` means no limit).
        max_lines: val u32 = "maxLines",
        /// How the text shrinks to fit.
        adjust_mode: opt AdjustMode = "adjustMode",
        /// Whether the text scales with the user's font size setting.
        scaling: val bool = "scaling",
    }
}

impl Text {
    /// A text.
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: Some(text.into()),
            ..Self::blank()
        }
    }

    /// A text made of spans.
    pub fn spans(spans: impl IntoIterator<Item = Span>) -> Self {
        Self {
            contents: Some(spans.into_iter().collect()),
            ..Self::blank()
        }
    }

    /// Shorthand for `.weight(Weight::Bold)`.
    #[must_use]
    pub fn bold(self) -> Self {
        self.weight(Weight::Bold)
    }
}

flex_object! {
    /// A span: a run of text with its own style, only inside a text.
    pub struct Span ["type" = "span"] {
        /// The text.
        text: opt String = "text",
        /// Font size.
        size: opt FontSize = "size",
        /// Colour.
        color: opt Color = "color",
        /// Weight.
        weight: opt Weight = "weight",
        /// Style.
        style: opt FontStyle = "style",
        /// Decoration.
        decoration: opt Decoration = "decoration",
    }
}

impl Span {
    /// A span.
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: Some(text.into()),
            ..Self::blank()
        }
    }
}

flex_object! {
    /// A separator line.
    pub struct Separator ["type" = "separator"] {
        /// Space before the separator.
        margin: opt Spacing = "margin",
        /// Colour.
        color: opt Color = "color",
    }
}

impl Separator {
    /// A separator.
    pub fn new() -> Self {
        Self::blank()
    }
}

impl Default for Separator {
    fn default() -> Self {
        Self::new()
    }
}

flex_object! {
    /// A filler: empty space that takes a share of its box.
    pub struct Filler ["type" = "filler"] {
        /// Share of the parent box's space.
        flex: val u32 = "flex",
    }
}

impl Filler {
    /// A filler.
    pub fn new() -> Self {
        Self::blank()
    }
}

impl Default for Filler {
    fn default() -> Self {
        Self::new()
    }
}

tagged_enum! {
    /// A child of a horizontal or vertical box.
    pub enum Component {
        /// `box`
        Box(FlexBox) = "box",
        /// `button`
        Button(Button) = "button",
        /// `image`
        Image(Image) = "image",
        /// `text`
        Text(Text) = "text",
        /// `separator`
        Separator(Separator) = "separator",
        /// `filler`
        Filler(Filler) = "filler",
    }
}

fn raw_position(v: &Value) -> Option<&Position> {
    match v.get("position").and_then(Value::as_str) {
        Some("absolute") => Some(&Position::Absolute),
        Some("relative") => Some(&Position::Relative),
        _ => None,
    }
}

impl Component {
    /// `position`, for the components that have one.
    pub fn position(&self) -> Option<&Position> {
        match self {
            Self::Box(c) => c.position.as_ref(),
            Self::Button(c) => c.position.as_ref(),
            Self::Image(c) => c.position.as_ref(),
            Self::Text(c) => c.position.as_ref(),
            Self::Separator(_) | Self::Filler(_) => None,
            Self::Unknown(v) => raw_position(v),
        }
    }
}

tagged_enum! {
    /// A child of a baseline box: icon, text or filler.
    pub enum BaselineComponent {
        /// `icon`
        Icon(Icon) = "icon",
        /// `text`
        Text(Text) = "text",
        /// `filler`
        Filler(Filler) = "filler",
    }
}

impl BaselineComponent {
    /// `position`, for the components that have one.
    pub fn position(&self) -> Option<&Position> {
        match self {
            Self::Icon(c) => c.position.as_ref(),
            Self::Text(c) => c.position.as_ref(),
            Self::Filler(_) => None,
            Self::Unknown(v) => raw_position(v),
        }
    }
}

tagged_enum! {
    /// The hero block of a bubble: a box or an image. (A video hero makes a
    /// [`VideoBubble`](crate::VideoBubble).)
    pub enum Hero {
        /// `box`
        Box(FlexBox) = "box",
        /// `image`
        Image(Image) = "image",
    }
}
