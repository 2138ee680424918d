//! The rules of each Flex type: what `validate()` checks beyond value grammars.
//! Every limit comes from [`crate::limits`].
//!
//! The walk goes over the `line_model` Flex types: the value grammars of
//! [`crate::value`] read their string properties back, and the keyword
//! properties report values LINE does not document.

use line_model::{
    Action, AltUri, DatetimePickerAction, DatetimePickerActionMode, FlexBlockStyle, FlexBox, FlexBoxBackground,
    FlexBoxLayout, FlexBoxLinearGradient, FlexBubble, FlexBubbleSize, FlexBubbleStyles, FlexButton, FlexCarousel,
    FlexComponent, FlexContainer, FlexIcon, FlexImage, FlexMessage, FlexSpan, FlexText, FlexVideo, QuickReply,
    QuickReplyItem,
};
use serde_json::{Map, Value};

use crate::limits::{
    DATETIMEPICKER_MAX_DATE, DATETIMEPICKER_MIN_DATE, MAX_ACTION_LABEL_GRAPHEMES, MAX_ACTION_TEXT, MAX_ALT_TEXT_UTF16,
    MAX_ALT_URI_LENGTH, MAX_ANIMATED_IMAGES, MAX_CLIPBOARD_TEXT, MAX_DATETIMEPICKER_DATA, MAX_FILL_IN_TEXT,
    MAX_FLEX_CAROUSEL_BUBBLES, MAX_MEDIA_URL_LENGTH, MAX_POSTBACK_DATA, MAX_QUICK_REPLY_IMAGE_URL_LENGTH,
    MAX_QUICK_REPLY_ITEMS, MAX_QUICK_REPLY_LABEL_GRAPHEMES, MAX_URI_ACTION_LENGTH, MIN_ALT_TEXT_UTF16,
    MIN_CLIPBOARD_TEXT, MIN_FLEX_CAROUSEL_BUBBLES,
};
use crate::validate::{chars, graphemes, json_len, utf16_len, Cx, Finding, Validate, ValidateOptions};
use crate::value::{
    Angle, AspectRatio, BorderWidth, Color, FontSize, IconSize, ImageSize, Length, Offset, Padding, Percent, Px,
    Spacing,
};

// ---------------------------------------------------------------- the `Validate` impls

// `Validate` of each model type is the walk of its rules below.
macro_rules! validate_impl {
    ($($t:ty => $walk:path),*) => {
        $(
            impl Validate for $t {
                fn validate_with(&self, options: &ValidateOptions) -> Vec<Finding> {
                    let mut cx = Cx::new(options);
                    $walk(self, &mut cx);
                    cx.finish()
                }
            }
        )*
    };
}

validate_impl! {
    line_model::FlexBubble => bubble,
    line_model::FlexCarousel => carousel,
    line_model::FlexContainer => container,
    line_model::FlexMessage => message,
    line_model::FlexBox => flex_box
}

// ---------------------------------------------------------------- helpers

/// An image, icon or video URL: https only, at most `max` characters.
fn media_url(cx: &mut Cx<'_>, key: &str, url: &str, max: usize) {
    if url.is_empty() {
        cx.error_at(key, "the URL must not be empty");
    } else if !starts_with_ignore_case(url, "https://") {
        cx.error_at(key, "media URLs must use https");
    }
    let n = chars(url);
    if n > max {
        cx.error_at(
            key,
            format!("the URL is {n} characters long; at most {max} are allowed"),
        );
    }
}

fn starts_with_ignore_case(s: &str, prefix: &str) -> bool {
    s.len() >= prefix.len() && s.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

/// A URI action's target: http, https, line or tel, at most `max` characters.
fn action_uri(cx: &mut Cx<'_>, key: &str, uri: &str, max: usize) {
    let n = chars(uri);
    if n > max {
        cx.error_at(
            key,
            format!("the URI is {n} characters long; at most {max} are allowed"),
        );
    }
    let scheme = uri.split_once(':').map(|(s, _)| s).unwrap_or("");
    let ok = match scheme.to_ascii_lowercase().as_str() {
        "http" | "https" => uri[scheme.len()..].starts_with("://") && uri.len() > scheme.len() + 3,
        "line" | "tel" => uri.len() > scheme.len() + 1,
        _ => false,
    };
    if !ok {
        cx.error_at(
            key,
            format!("{uri:?} is not a valid URI; the scheme must be http, https, line or tel"),
        );
    }
}

fn max_chars(cx: &mut Cx<'_>, key: &str, text: Option<&str>, max: usize) {
    if let Some(t) = text {
        let n = chars(t);
        if n > max {
            cx.error_at(key, format!("{key} is {n} characters long; at most {max} are allowed"));
        }
    }
}

fn label(cx: &mut Cx<'_>, label: Option<&str>) {
    let Some(label) = label else { return };
    let (max, place) = if cx.in_quick_reply {
        (MAX_QUICK_REPLY_LABEL_GRAPHEMES, "a quick-reply label")
    } else {
        (MAX_ACTION_LABEL_GRAPHEMES, "an action label")
    };
    let n = graphemes(label);
    if n > max {
        cx.error_at(
            "label",
            format!("{place} is {n} grapheme clusters long; at most {max} are allowed"),
        );
    }
}

/// Checks a datetime picker value against its mode; returns a sortable form.
fn picker_value(mode: &DatetimePickerActionMode, s: &str) -> Result<String, &'static str> {
    fn date(s: &str) -> bool {
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return false;
        }
        let num = |r: std::ops::Range<usize>| s.get(r).filter(|t| t.bytes().all(|c| c.is_ascii_digit()));
        let (Some(y), Some(m), Some(d)) = (num(0..4), num(5..7), num(8..10)) else {
            return false;
        };
        let (Ok(y), Ok(m), Ok(d)) = (y.parse::<u32>(), m.parse::<u32>(), d.parse::<u32>()) else {
            return false;
        };
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        let days = match m {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return false,
        };
        (1..=days).contains(&d)
    }
    fn time(s: &str) -> bool {
        let b = s.as_bytes();
        if b.len() != 5 || b[2] != b':' || !b[..2].iter().chain(&b[3..]).all(u8::is_ascii_digit) {
            return false;
        }
        let h = u32::from(b[0] - b'0') * 10 + u32::from(b[1] - b'0');
        let m = u32::from(b[3] - b'0') * 10 + u32::from(b[4] - b'0');
        h < 24 && m < 60
    }
    let in_range = |d: &str| (DATETIMEPICKER_MIN_DATE..=DATETIMEPICKER_MAX_DATE).contains(&d);
    match mode {
        DatetimePickerActionMode::Date => {
            if !date(s) {
                return Err("expected a date yyyy-MM-dd");
            }
            if !in_range(s) {
                return Err("the date must be from 1900-01-01 to 2100-12-31");
            }
            Ok(s.to_owned())
        }
        DatetimePickerActionMode::Time => {
            if time(s) {
                Ok(s.to_owned())
            } else {
                Err("expected a time HH:mm from 00:00 to 23:59")
            }
        }
        DatetimePickerActionMode::Datetime => {
            let (d, t) = match (s.get(..10), s.get(10..11), s.get(11..)) {
                (Some(d), Some("T" | "t"), Some(t)) => (d, t),
                _ => return Err("expected a date and time yyyy-MM-ddTHH:mm"),
            };
            if !date(d) || !time(t) {
                return Err("expected a date and time yyyy-MM-ddTHH:mm");
            }
            if !in_range(d) {
                return Err("the date must be from 1900-01-01 to 2100-12-31");
            }
            Ok(format!("{d}T{t}"))
        }
        _ => Err("the mode is unknown"),
    }
}

// ---------------------------------------------------------------- properties

/// A keyword property of the model: an open string enum whose `Unknown`
/// case LINE rejects.
trait Keyword {
    /// The keywords LINE documents, for the message.
    const EXPECTED: &'static str;
    /// The text of an unknown keyword.
    fn unknown(&self) -> Option<&str>;
}

macro_rules! keywords {
    ($($t:ident: $expected:literal;)*) => {
        $(
            impl Keyword for line_model::$t {
                const EXPECTED: &'static str = $expected;
                fn unknown(&self) -> Option<&str> {
                    match self {
                        Self::Unknown(s) => Some(s),
                        _ => None,
                    }
                }
            }
        )*
    };
}

keywords! {
    FlexBoxLayout: "horizontal, vertical, baseline";
    FlexBoxPosition: "relative, absolute";
    FlexButtonPosition: "relative, absolute";
    FlexImagePosition: "relative, absolute";
    FlexIconPosition: "relative, absolute";
    FlexTextPosition: "relative, absolute";
    FlexBoxJustifyContent: "center, flex-start, flex-end, space-between, space-around, space-evenly";
    FlexBoxAlignItems: "center, flex-start, flex-end";
    FlexImageAlign: "start, end, center";
    FlexTextAlign: "start, end, center";
    FlexButtonGravity: "top, bottom, center";
    FlexImageGravity: "top, bottom, center";
    FlexTextGravity: "top, bottom, center";
    FlexImageAspectMode: "fit, cover";
    FlexTextWeight: "regular, bold";
    FlexSpanWeight: "regular, bold";
    FlexTextStyle: "normal, italic";
    FlexSpanStyle: "normal, italic";
    FlexTextDecoration: "none, underline, line-through";
    FlexSpanDecoration: "none, underline, line-through";
    FlexTextAdjustMode: "shrink-to-fit";
    FlexButtonAdjustMode: "shrink-to-fit";
    FlexButtonStyle: "primary, secondary, link";
    FlexButtonHeight: "md, sm";
    FlexBubbleSize: "nano, micro, deca, hecto, kilo, mega, giga";
    FlexBubbleDirection: "ltr, rtl";
    PostbackActionInputOption: "closeRichMenu, openRichMenu, openKeyboard, openVoice";
    DatetimePickerActionMode: "date, time, datetime";
}

/// Reports an unknown keyword at `key`.
fn keyword<K: Keyword>(cx: &mut Cx<'_>, key: &'static str, v: &Option<K>) {
    if let Some(s) = v.as_ref().and_then(Keyword::unknown) {
        cx.error_at(key, format!("unknown keyword {s:?}; expected one of: {}", K::EXPECTED));
    }
}

/// Checks a string property against a value grammar of [`crate::value`].
macro_rules! grammar {
    ($cx:expr, $key:literal, $v:expr, $t:ident) => {
        if let Some(s) = &$v {
            $cx.at($key, |cx| $t::lenient(s.clone()).check(cx));
        }
    };
}

/// A raw value of a grammar that keeps its text as it is.
fn raw<T>(cx: &mut Cx<'_>, key: &'static str, v: &Option<String>, make: fn(String) -> T, check: fn(&T, &mut Cx<'_>)) {
    if let Some(s) = v {
        cx.at(key, |cx| check(&make(s.clone()), cx));
    }
}

fn color(cx: &mut Cx<'_>, key: &'static str, v: &Option<String>) {
    raw(cx, key, v, Color::from_raw, Color::check);
}

fn px(cx: &mut Cx<'_>, key: &'static str, v: &Option<String>) {
    raw(cx, key, v, Px::from_raw, Px::check);
}

fn aspect_ratio(cx: &mut Cx<'_>, v: &Option<String>) {
    raw(cx, "aspectRatio", v, AspectRatio::from_raw, AspectRatio::check);
}

/// `flex` and `maxLines` are non-negative integers.
fn non_negative(cx: &mut Cx<'_>, key: &'static str, v: Option<i32>) {
    if v.is_some_and(|n| n < 0) {
        cx.error_at(key, "expected a non-negative integer, found a negative number");
    }
}

fn offsets(
    cx: &mut Cx<'_>,
    top: &Option<String>,
    bottom: &Option<String>,
    start: &Option<String>,
    end: &Option<String>,
) {
    grammar!(cx, "offsetTop", top, Offset);
    grammar!(cx, "offsetBottom", bottom, Offset);
    grammar!(cx, "offsetStart", start, Offset);
    grammar!(cx, "offsetEnd", end, Offset);
}

/// A property the model makes optional but LINE requires: reported as the
/// parser of a stricter model would.
fn required<T>(cx: &mut Cx<'_>, key: &str, v: &Option<T>) -> bool {
    if v.is_none() {
        cx.error(format!("missing required property \"{key}\""));
        false
    } else {
        true
    }
}

// ---------------------------------------------------------------- actions

fn postback(a: &line_model::PostbackAction, cx: &mut Cx<'_>) {
    required(cx, "data", &a.data);
    keyword(cx, "inputOption", &a.input_option);
    label(cx, a.label.as_deref());
    max_chars(cx, "data", a.data.as_deref(), MAX_POSTBACK_DATA);
    max_chars(cx, "displayText", a.display_text.as_deref(), MAX_ACTION_TEXT);
    max_chars(cx, "text", a.text.as_deref(), MAX_ACTION_TEXT);
    max_chars(cx, "fillInText", a.fill_in_text.as_deref(), MAX_FILL_IN_TEXT);
    if a.display_text.is_some() && a.text.is_some() {
        cx.error_at("text", "a postback action cannot have both displayText and text");
    }
}

fn message_action(a: &line_model::MessageAction, cx: &mut Cx<'_>) {
    if !required(cx, "text", &a.text) {
        return;
    }
    label(cx, a.label.as_deref());
    let text = a.text.as_deref().unwrap_or_default();
    if text.is_empty() {
        cx.error_at("text", "the message text must not be empty");
    }
    max_chars(cx, "text", Some(text), MAX_ACTION_TEXT);
}

fn alt_uri(a: &AltUri, cx: &mut Cx<'_>) {
    if let Some(d) = &a.desktop {
        action_uri(cx, "desktop", d, MAX_ALT_URI_LENGTH);
    }
}

fn uri_action(a: &line_model::URIAction, cx: &mut Cx<'_>) {
    if !required(cx, "uri", &a.uri) {
        return;
    }
    if let Some(alt) = &a.alt_uri {
        cx.at("altUri", |cx| alt_uri(alt, cx));
    }
    label(cx, a.label.as_deref());
    action_uri(cx, "uri", a.uri.as_deref().unwrap_or_default(), MAX_URI_ACTION_LENGTH);
}

fn datetime_picker(a: &DatetimePickerAction, cx: &mut Cx<'_>) {
    let has_data = required(cx, "data", &a.data);
    if !(has_data && required(cx, "mode", &a.mode)) {
        return;
    }
    keyword(cx, "mode", &a.mode);
    label(cx, a.label.as_deref());
    max_chars(cx, "data", a.data.as_deref(), MAX_DATETIMEPICKER_DATA);
    let Some(mode) = a.mode.as_ref().filter(|m| m.unknown().is_none()) else {
        return; // the mode itself is reported above
    };
    let mut read = |key: &'static str, v: &Option<String>| -> Option<String> {
        let s = v.as_deref()?;
        match picker_value(mode, s) {
            Ok(norm) => Some(norm),
            Err(why) => {
                cx.error_at(key, format!("invalid {key} {s:?} for mode {mode}: {why}"));
                None
            }
        }
    };
    let initial = read("initial", &a.initial);
    let min = read("min", &a.min);
    let max = read("max", &a.max);
    if let (Some(lo), Some(hi)) = (&min, &max) {
        if lo > hi {
            cx.error_at("min", "min must not be after max");
        }
    }
    if let Some(init) = &initial {
        if min.as_ref().is_some_and(|lo| init < lo) || max.as_ref().is_some_and(|hi| init > hi) {
            cx.error_at("initial", "initial must be between min and max");
        }
    }
}

fn clipboard(a: &line_model::ClipboardAction, cx: &mut Cx<'_>) {
    label(cx, a.label.as_deref());
    let n = chars(&a.clipboard_text);
    if !(MIN_CLIPBOARD_TEXT..=MAX_CLIPBOARD_TEXT).contains(&n) {
        cx.error_at(
            "clipboardText",
            format!("clipboardText is {n} characters long; it must be 1 to {MAX_CLIPBOARD_TEXT}"),
        );
    }
}

/// The action of a Flex component: postback, message, uri, datetimepicker or clipboard.
fn flex_action(a: &Action, cx: &mut Cx<'_>) {
    match a {
        Action::Postback(a) => postback(a, cx),
        Action::Message(a) => message_action(a, cx),
        Action::Uri(a) => uri_action(a, cx),
        Action::Datetimepicker(a) => datetime_picker(a, cx),
        Action::Clipboard(a) => clipboard(a, cx),
        other => match other.kind() {
            t @ ("camera" | "cameraRoll" | "location" | "richmenuswitch") => cx.error_at(
                "type",
                format!("a {t} action is not allowed in flex; use postback, message, uri, datetimepicker or clipboard"),
            ),
            t => cx.error_at("type", format!("unknown action type {t:?}")),
        },
    }
}

/// The action of a quick-reply item: a flex action, camera, camera roll or location.
fn quick_reply_action(a: &Action, cx: &mut Cx<'_>) {
    match a {
        Action::Postback(_)
        | Action::Message(_)
        | Action::Uri(_)
        | Action::Datetimepicker(_)
        | Action::Clipboard(_) => flex_action(a, cx),
        Action::Camera(a) => label(cx, a.label.as_deref()),
        Action::CameraRoll(a) => label(cx, a.label.as_deref()),
        Action::Location(a) => label(cx, a.label.as_deref()),
        other => cx.error_at(
            "type",
            format!("action type {:?} is not allowed in a quick reply", other.kind()),
        ),
    }
}

fn opt_action(cx: &mut Cx<'_>, a: &Option<Action>) {
    if let Some(a) = a {
        cx.at("action", |cx| flex_action(a, cx));
    }
}

// ---------------------------------------------------------------- components

fn is_absolute(c: &FlexComponent) -> bool {
    let p = match c {
        FlexComponent::Box(c) => c.position.as_ref().map(|p| p.as_str()),
        FlexComponent::Button(c) => c.position.as_ref().map(|p| p.as_str()),
        FlexComponent::Image(c) => c.position.as_ref().map(|p| p.as_str()),
        FlexComponent::Icon(c) => c.position.as_ref().map(|p| p.as_str()),
        FlexComponent::Text(c) => c.position.as_ref().map(|p| p.as_str()),
        FlexComponent::Unknown { raw, .. } => raw.get("position").and_then(Value::as_str),
        _ => None,
    };
    p == Some("absolute")
}

pub(crate) fn flex_box(b: &FlexBox, cx: &mut Cx<'_>) {
    let baseline = b.layout == FlexBoxLayout::Baseline;
    if let Some(layout) = b.layout.unknown() {
        cx.error_at(
            "layout",
            format!("unknown keyword {layout:?}; expected one of: horizontal, vertical, baseline"),
        );
    }
    cx.at("contents", |cx| {
        for (i, c) in b.contents.iter().enumerate() {
            cx.at_index(i, |cx| component(c, baseline, cx));
        }
    });
    non_negative(cx, "flex", b.flex);
    grammar!(cx, "spacing", b.spacing, Spacing);
    grammar!(cx, "margin", b.margin, Spacing);
    keyword(cx, "position", &b.position);
    offsets(cx, &b.offset_top, &b.offset_bottom, &b.offset_start, &b.offset_end);
    color(cx, "backgroundColor", &b.background_color);
    color(cx, "borderColor", &b.border_color);
    grammar!(cx, "borderWidth", b.border_width, BorderWidth);
    grammar!(cx, "cornerRadius", b.corner_radius, Spacing);
    grammar!(cx, "width", b.width, Length);
    grammar!(cx, "maxWidth", b.max_width, Length);
    grammar!(cx, "height", b.height, Length);
    grammar!(cx, "maxHeight", b.max_height, Length);
    grammar!(cx, "paddingAll", b.padding_all, Padding);
    grammar!(cx, "paddingTop", b.padding_top, Padding);
    grammar!(cx, "paddingBottom", b.padding_bottom, Padding);
    grammar!(cx, "paddingStart", b.padding_start, Padding);
    grammar!(cx, "paddingEnd", b.padding_end, Padding);
    opt_action(cx, &b.action);
    keyword(cx, "justifyContent", &b.justify_content);
    keyword(cx, "alignItems", &b.align_items);
    if let Some(bg) = &b.background {
        cx.at("background", |cx| match bg {
            FlexBoxBackground::LinearGradient(g) => gradient(g, cx),
            other => cx.error_at(
                "type",
                format!("unknown background type {:?}; expected linearGradient", other.kind()),
            ),
        });
    }
    if b.contents.first().is_some_and(is_absolute) {
        cx.path.push_key("contents");
        cx.path.push_index(0);
        cx.warn_at(
            "position",
            "the first child of the box is absolutely positioned: it leaves the layout, so the box is sized \
             by the other children only and can collapse",
        );
        cx.path.pop();
        cx.path.pop();
    }
}

fn gradient(g: &FlexBoxLinearGradient, cx: &mut Cx<'_>) {
    raw(cx, "angle", &g.angle, Angle::from_raw, Angle::check);
    color(cx, "startColor", &g.start_color);
    color(cx, "endColor", &g.end_color);
    color(cx, "centerColor", &g.center_color);
    raw(
        cx,
        "centerPosition",
        &g.center_position,
        Percent::from_raw,
        Percent::check,
    );
    if g.angle.is_none() {
        // LINE's reference marks `angle` as required.
        cx.error("a linear gradient needs an angle, such as 90deg");
    }
    if g.start_color.is_none() {
        cx.error("a linear gradient needs a startColor");
    }
    if g.end_color.is_none() {
        cx.error("a linear gradient needs an endColor");
    }
    if let Some(pos) = &g.center_position {
        if let Some(v) = Percent::from_raw(pos.clone()).value() {
            if !(0.0..=100.0).contains(&v) {
                cx.error_at("centerPosition", "centerPosition must be from 0% to 100%");
            }
        }
        if g.center_color.is_none() {
            cx.warn_at("centerPosition", "centerPosition has no effect without centerColor");
        }
    }
}

/// A child of a box: which kinds a box holds depends on its layout.
fn component(c: &FlexComponent, in_baseline: bool, cx: &mut Cx<'_>) {
    match c {
        FlexComponent::Text(t) => text(t, cx),
        FlexComponent::Filler(f) => non_negative(cx, "flex", f.flex),
        FlexComponent::Icon(i) if in_baseline => icon(i, cx),
        FlexComponent::Box(b) if !in_baseline => flex_box(b, cx),
        FlexComponent::Button(b) if !in_baseline => button(b, cx),
        FlexComponent::Image(i) if !in_baseline => image(i, cx),
        FlexComponent::Separator(s) if !in_baseline => {
            grammar!(cx, "margin", s.margin, Spacing);
            color(cx, "color", &s.color);
        }
        other => misplaced(cx, other.kind(), in_baseline),
    }
}

/// What a component type is doing in the wrong place.
fn misplaced(cx: &mut Cx<'_>, kind: &str, in_baseline: bool) {
    match kind {
        "spacer" => cx.warn_at(
            "type",
            "spacer is a legacy component that LINE no longer documents; use margin or padding instead",
        ),
        "icon" => cx.error_at("type", "an icon is allowed only in a baseline box"),
        "span" => cx.error_at("type", "a span is allowed only in a text's contents"),
        "video" => cx.error_at("type", "a video is allowed only as the hero of a bubble"),
        t @ ("box" | "button" | "image" | "separator") if in_baseline => cx.error_at(
            "type",
            format!("a {t} is not allowed in a baseline box (only icon, text and filler)"),
        ),
        t => cx.error_at("type", format!("unknown component type {t:?}")),
    }
}

fn button(b: &FlexButton, cx: &mut Cx<'_>) {
    cx.at("action", |cx| flex_action(&b.action, cx));
    non_negative(cx, "flex", b.flex);
    color(cx, "color", &b.color);
    keyword(cx, "style", &b.style);
    keyword(cx, "gravity", &b.gravity);
    grammar!(cx, "margin", b.margin, Spacing);
    keyword(cx, "position", &b.position);
    offsets(cx, &b.offset_top, &b.offset_bottom, &b.offset_start, &b.offset_end);
    keyword(cx, "height", &b.height);
    keyword(cx, "adjustMode", &b.adjust_mode);
    let action_is_flex = !matches!(
        b.action,
        Action::Camera(_)
            | Action::CameraRoll(_)
            | Action::Location(_)
            | Action::Richmenuswitch(_)
            | Action::Unknown { .. }
    );
    if action_is_flex {
        match b.action.label().as_deref().map(String::as_str) {
            None => cx.at("action", |cx| cx.error_at("label", "a button's action needs a label")),
            Some("") => cx.at("action", |cx| {
                cx.error_at("label", "a button's label must not be empty")
            }),
            Some(_) => {}
        }
    }
}

fn image(i: &FlexImage, cx: &mut Cx<'_>) {
    non_negative(cx, "flex", i.flex);
    grammar!(cx, "margin", i.margin, Spacing);
    keyword(cx, "position", &i.position);
    offsets(cx, &i.offset_top, &i.offset_bottom, &i.offset_start, &i.offset_end);
    keyword(cx, "align", &i.align);
    keyword(cx, "gravity", &i.gravity);
    grammar!(cx, "size", i.size, ImageSize);
    aspect_ratio(cx, &i.aspect_ratio);
    keyword(cx, "aspectMode", &i.aspect_mode);
    color(cx, "backgroundColor", &i.background_color);
    opt_action(cx, &i.action);
    media_url(cx, "url", &i.url, MAX_MEDIA_URL_LENGTH);
    if i.animated == Some(true) {
        cx.animated += 1;
        if cx.animated == MAX_ANIMATED_IMAGES + 1 {
            cx.error_at(
                "animated",
                format!("more than {MAX_ANIMATED_IMAGES} animated images in one message"),
            );
        }
    }
}

fn video(v: &FlexVideo, cx: &mut Cx<'_>) {
    cx.at("altContent", |cx| match &*v.alt_content {
        FlexComponent::Image(i) => image(i, cx),
        FlexComponent::Box(b) => flex_box(b, cx),
        other => cx.error_at(
            "type",
            format!("a video's altContent must be an image or a box, not {:?}", other.kind()),
        ),
    });
    aspect_ratio(cx, &v.aspect_ratio);
    opt_action(cx, &v.action);
    media_url(cx, "url", &v.url, MAX_MEDIA_URL_LENGTH);
    media_url(cx, "previewUrl", &v.preview_url, MAX_MEDIA_URL_LENGTH);
    if let FlexComponent::Image(img) = &*v.alt_content {
        if let (Some(va), Some(ia)) = (&v.aspect_ratio, &img.aspect_ratio) {
            let whole = |s: &String| AspectRatio::from_raw(s.clone()).terms().is_some();
            if whole(va) && whole(ia) && va != ia {
                cx.warn_at(
                    "aspectRatio",
                    format!(
                        "the video is {va} but its altContent image is {ia}; clients that cannot play the video \
                         show a differently shaped hero"
                    ),
                );
            }
        }
    }
    if v.aspect_ratio.is_none() {
        cx.warn_at("aspectRatio", "a video without aspectRatio is shown at 1:1");
    }
}

fn icon(i: &FlexIcon, cx: &mut Cx<'_>) {
    grammar!(cx, "size", i.size, IconSize);
    aspect_ratio(cx, &i.aspect_ratio);
    grammar!(cx, "margin", i.margin, Spacing);
    keyword(cx, "position", &i.position);
    offsets(cx, &i.offset_top, &i.offset_bottom, &i.offset_start, &i.offset_end);
    media_url(cx, "url", &i.url, MAX_MEDIA_URL_LENGTH);
}

fn text(t: &FlexText, cx: &mut Cx<'_>) {
    if let Some(spans) = &t.contents {
        cx.at("contents", |cx| {
            for (i, s) in spans.iter().enumerate() {
                cx.at_index(i, |cx| span(s, cx));
            }
        });
    }
    non_negative(cx, "flex", t.flex);
    grammar!(cx, "size", t.size, FontSize);
    keyword(cx, "align", &t.align);
    keyword(cx, "gravity", &t.gravity);
    color(cx, "color", &t.color);
    keyword(cx, "weight", &t.weight);
    keyword(cx, "style", &t.style);
    keyword(cx, "decoration", &t.decoration);
    px(cx, "lineSpacing", &t.line_spacing);
    grammar!(cx, "margin", t.margin, Spacing);
    keyword(cx, "position", &t.position);
    offsets(cx, &t.offset_top, &t.offset_bottom, &t.offset_start, &t.offset_end);
    opt_action(cx, &t.action);
    non_negative(cx, "maxLines", t.max_lines);
    keyword(cx, "adjustMode", &t.adjust_mode);
    let has_spans = t.contents.as_ref().is_some_and(|c| !c.is_empty());
    if has_spans {
        return;
    }
    match t.text.as_deref() {
        None => cx.error_at("text", "a text component needs text or spans in contents"),
        Some("") => cx.error_at("text", "the text must not be empty"),
        Some(_) => {}
    }
}

fn span(s: &FlexSpan, cx: &mut Cx<'_>) {
    grammar!(cx, "size", s.size, FontSize);
    color(cx, "color", &s.color);
    keyword(cx, "weight", &s.weight);
    keyword(cx, "style", &s.style);
    keyword(cx, "decoration", &s.decoration);
    match s.text.as_deref() {
        None => cx.error_at("text", "a span needs text"),
        Some("") => cx.error_at("text", "the span text must not be empty"),
        Some(_) => {}
    }
}

// ---------------------------------------------------------------- containers

fn block_style(s: &FlexBlockStyle, cx: &mut Cx<'_>) {
    color(cx, "backgroundColor", &s.background_color);
    color(cx, "separatorColor", &s.separator_color);
}

fn bubble_styles(s: &FlexBubbleStyles, cx: &mut Cx<'_>) {
    for (key, block) in [
        ("header", &s.header),
        ("hero", &s.hero),
        ("body", &s.body),
        ("footer", &s.footer),
    ] {
        if let Some(block) = block {
            cx.at(key, |cx| block_style(block, cx));
        }
    }
}

/// Whether a bubble of this size can show a video hero.
fn plays_video(size: Option<&FlexBubbleSize>) -> bool {
    matches!(
        size,
        None | Some(FlexBubbleSize::Kilo | FlexBubbleSize::Mega | FlexBubbleSize::Giga)
    )
}

fn hero(h: &FlexComponent, size: Option<&FlexBubbleSize>, cx: &mut Cx<'_>) {
    match h {
        FlexComponent::Box(b) => flex_box(b, cx),
        FlexComponent::Image(i) => image(i, cx),
        FlexComponent::Video(_) if cx.in_carousel => {
            cx.error_at("type", "a video hero is not allowed in a carousel bubble")
        }
        FlexComponent::Video(_) if !plays_video(size) => {
            cx.error_at("type", "a video hero needs a bubble of size kilo, mega or giga")
        }
        FlexComponent::Video(v) => video(v, cx),
        other => cx.error_at(
            "type",
            format!("the hero must be a box, an image or a video, not {:?}", other.kind()),
        ),
    }
}

pub(crate) fn bubble(b: &FlexBubble, cx: &mut Cx<'_>) {
    keyword(cx, "size", &b.size);
    keyword(cx, "direction", &b.direction);
    if let Some(s) = &b.styles {
        cx.at("styles", |cx| bubble_styles(s, cx));
    }
    if let Some(x) = &b.header {
        cx.at("header", |cx| flex_box(x, cx));
    }
    if let Some(x) = &b.hero {
        cx.at("hero", |cx| hero(x, b.size.as_ref(), cx));
    }
    if let Some(x) = &b.body {
        cx.at("body", |cx| flex_box(x, cx));
    }
    if let Some(x) = &b.footer {
        cx.at("footer", |cx| flex_box(x, cx));
    }
    opt_action(cx, &b.action);
    let bytes = json_len(b);
    cx.bubble_bytes.push(bytes);
    let max = cx.opts.max_bubble_bytes;
    if bytes > max {
        cx.error(format!(
            "the bubble is {bytes} bytes of JSON; at most {max} are allowed"
        ));
    }
}

pub(crate) fn carousel(c: &FlexCarousel, cx: &mut Cx<'_>) {
    cx.in_carousel = true;
    cx.bubble_bytes.clear();
    cx.at("contents", |cx| {
        for (i, b) in c.contents.iter().enumerate() {
            cx.at_index(i, |cx| bubble(b, cx));
        }
    });
    cx.in_carousel = false;
    let n = c.contents.len();
    if n > MAX_FLEX_CAROUSEL_BUBBLES {
        cx.error_at(
            "contents",
            format!("a carousel holds at most {MAX_FLEX_CAROUSEL_BUBBLES} bubbles, this one has {n}"),
        );
    } else if n < MIN_FLEX_CAROUSEL_BUBBLES {
        cx.error_at("contents", "a carousel needs at least one bubble");
    }
    // All bubbles must have the same size (no size means mega).
    let size_of = |b: &FlexBubble| b.size.clone().unwrap_or(FlexBubbleSize::Mega);
    if let Some(first) = c.contents.first().map(size_of) {
        for (i, b) in c.contents.iter().enumerate().skip(1) {
            let size = size_of(b);
            if size != first {
                cx.path.push_key("contents");
                cx.path.push_index(i);
                cx.error_at(
                    "size",
                    format!(
                        "all bubbles in a carousel must have the same size: bubble 0 is {first}, this one is {size}"
                    ),
                );
                cx.path.pop();
                cx.path.pop();
            }
        }
    }
    // Size of the whole carousel, from the sizes of its bubbles:
    // {"type":"carousel","contents":[b0,b1,…]<,"key":value…>}
    let bubbles: usize = cx.bubble_bytes.iter().sum();
    let mut bytes = r#"{"type":"carousel","contents":[]}"#.len() + bubbles + n.saturating_sub(1);
    bytes += extra_len(&c.extra);
    cx.bubble_bytes.clear();
    let max = cx.opts.max_carousel_bytes;
    if bytes > max {
        cx.error(format!(
            "the carousel is {bytes} bytes of JSON; at most {max} are allowed"
        ));
    }
}

/// Bytes that the unknown properties of an object add to its JSON.
fn extra_len(extra: &Map<String, Value>) -> usize {
    extra.iter().map(|(k, v)| 2 + json_len(k) + json_len(v)).sum()
}

pub(crate) fn container(c: &FlexContainer, cx: &mut Cx<'_>) {
    match c {
        FlexContainer::Bubble(b) => bubble(b, cx),
        FlexContainer::Carousel(c) => carousel(c, cx),
        other => cx.error_at(
            "type",
            format!("unknown container type {:?}; expected bubble or carousel", other.kind()),
        ),
    }
}

fn quick_reply_item(item: &QuickReplyItem, cx: &mut Cx<'_>) {
    match item.kind.as_deref() {
        Some("action") => {}
        Some(other) => cx.error_at("type", format!("expected \"action\", found {other:?}")),
        None => cx.error("missing required property \"type\""),
    }
    let Some(action) = &item.action else {
        cx.error("missing required property \"action\"");
        return;
    };
    cx.at("action", |cx| quick_reply_action(action, cx));
    if action.label().is_none() && !action.is_unknown() && !matches!(action, Action::Richmenuswitch(_)) {
        cx.at("action", |cx| {
            cx.error_at("label", "a quick-reply action needs a label")
        });
    }
    if let Some(url) = &item.image_url {
        media_url(cx, "imageUrl", url, MAX_QUICK_REPLY_IMAGE_URL_LENGTH);
    }
}

fn quick_reply(q: &QuickReply, cx: &mut Cx<'_>) {
    let Some(items) = &q.items else {
        cx.error("missing required property \"items\"");
        return;
    };
    cx.in_quick_reply = true;
    cx.at("items", |cx| {
        for (i, item) in items.iter().enumerate() {
            cx.at_index(i, |cx| quick_reply_item(item, cx));
        }
    });
    cx.in_quick_reply = false;
    let n = items.len();
    if n > MAX_QUICK_REPLY_ITEMS {
        cx.error_at(
            "items",
            format!("a quick reply holds at most {MAX_QUICK_REPLY_ITEMS} items, this one has {n}"),
        );
    }
}

pub(crate) fn message(m: &FlexMessage, cx: &mut Cx<'_>) {
    cx.at("contents", |cx| container(&m.contents, cx));
    if let Some(q) = &m.quick_reply {
        cx.at("quickReply", |cx| quick_reply(q, cx));
    }
    let n = utf16_len(&m.alt_text);
    if !(MIN_ALT_TEXT_UTF16..=MAX_ALT_TEXT_UTF16).contains(&n) {
        cx.error_at(
            "altText",
            format!("altText is {n} UTF-16 code units long; it must be 1 to {MAX_ALT_TEXT_UTF16}"),
        );
    }
}
