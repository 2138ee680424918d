//! The rules of each Flex type: what `validate()` checks beyond value grammars.
//! Every limit comes from [`crate::limits`].

use serde_json::Value;

use crate::action::{
    AltUri, Camera, CameraRoll, Clipboard, DatetimeMode, DatetimePicker, FlexAction, Location, Message, Postback,
    QuickReplyAction, Uri,
};
use crate::component::{
    AltContent, Background, BaselineComponent, Button, Component, Filler, FlexBox, Hero, Icon, Image, LinearGradient,
    Position, Separator, Span, Text, Video,
};
use crate::container::{
    BlockStyle, Bubble, BubbleSize, BubbleStyles, Carousel, FlexMessage, QuickReply, QuickReplyItem, VideoBubble,
};
use crate::limits::{
    DATETIMEPICKER_MAX_DATE, DATETIMEPICKER_MIN_DATE, MAX_ACTION_LABEL_GRAPHEMES, MAX_ACTION_TEXT, MAX_ALT_TEXT_UTF16,
    MAX_ALT_URI_LENGTH, MAX_ANIMATED_IMAGES, MAX_CLIPBOARD_TEXT, MAX_DATETIMEPICKER_DATA, MAX_FILL_IN_TEXT,
    MAX_FLEX_CAROUSEL_BUBBLES, MAX_MEDIA_URL_LENGTH, MAX_POSTBACK_DATA, MAX_QUICK_REPLY_IMAGE_URL_LENGTH,
    MAX_QUICK_REPLY_ITEMS, MAX_QUICK_REPLY_LABEL_GRAPHEMES, MAX_URI_ACTION_LENGTH, MIN_ALT_TEXT_UTF16,
    MIN_CLIPBOARD_TEXT, MIN_FLEX_CAROUSEL_BUBBLES,
};
use crate::validate::{chars, graphemes, json_len, utf16_len, Cx, Rules, UnknownRule};

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

fn raw_type(v: &Value) -> Option<&str> {
    v.get("type").and_then(Value::as_str)
}

// ---------------------------------------------------------------- actions

impl Rules for Postback {
    fn rules(&self, cx: &mut Cx<'_>) {
        label(cx, self.label.as_deref());
        max_chars(cx, "data", Some(&self.data), MAX_POSTBACK_DATA);
        max_chars(cx, "displayText", self.display_text.as_deref(), MAX_ACTION_TEXT);
        max_chars(cx, "text", self.text.as_deref(), MAX_ACTION_TEXT);
        max_chars(cx, "fillInText", self.fill_in_text.as_deref(), MAX_FILL_IN_TEXT);
        if self.display_text.is_some() && self.text.is_some() {
            cx.error_at("text", "a postback action cannot have both displayText and text");
        }
    }
}

impl Rules for Message {
    fn rules(&self, cx: &mut Cx<'_>) {
        label(cx, self.label.as_deref());
        if self.text.is_empty() {
            cx.error_at("text", "the message text must not be empty");
        }
        max_chars(cx, "text", Some(&self.text), MAX_ACTION_TEXT);
    }
}

impl Rules for AltUri {
    fn rules(&self, cx: &mut Cx<'_>) {
        if let Some(d) = &self.desktop {
            action_uri(cx, "desktop", d, MAX_ALT_URI_LENGTH);
        }
    }
}

impl Rules for Uri {
    fn rules(&self, cx: &mut Cx<'_>) {
        label(cx, self.label.as_deref());
        action_uri(cx, "uri", &self.uri, MAX_URI_ACTION_LENGTH);
    }
}

/// Checks a datetime picker value against its mode; returns a sortable form.
fn picker_value(mode: &DatetimeMode, s: &str) -> Result<String, &'static str> {
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
        DatetimeMode::Date => {
            if !date(s) {
                return Err("expected a date yyyy-MM-dd");
            }
            if !in_range(s) {
                return Err("the date must be from 1900-01-01 to 2100-12-31");
            }
            Ok(s.to_owned())
        }
        DatetimeMode::Time => {
            if time(s) {
                Ok(s.to_owned())
            } else {
                Err("expected a time HH:mm from 00:00 to 23:59")
            }
        }
        DatetimeMode::Datetime => {
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
        DatetimeMode::Unknown(_) => Err("the mode is unknown"),
    }
}

impl Rules for DatetimePicker {
    fn rules(&self, cx: &mut Cx<'_>) {
        label(cx, self.label.as_deref());
        max_chars(cx, "data", Some(&self.data), MAX_DATETIMEPICKER_DATA);
        if !self.mode.is_known() {
            return; // the mode itself is reported by its own check
        }
        let mut read = |key: &'static str, v: &Option<String>| -> Option<String> {
            let s = v.as_deref()?;
            match picker_value(&self.mode, s) {
                Ok(norm) => Some(norm),
                Err(why) => {
                    cx.error_at(key, format!("invalid {key} {s:?} for mode {}: {why}", self.mode));
                    None
                }
            }
        };
        let initial = read("initial", &self.initial);
        let min = read("min", &self.min);
        let max = read("max", &self.max);
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
}

impl Rules for Clipboard {
    fn rules(&self, cx: &mut Cx<'_>) {
        label(cx, self.label.as_deref());
        let n = chars(&self.clipboard_text);
        if !(MIN_CLIPBOARD_TEXT..=MAX_CLIPBOARD_TEXT).contains(&n) {
            cx.error_at(
                "clipboardText",
                format!("clipboardText is {n} characters long; it must be 1 to {MAX_CLIPBOARD_TEXT}"),
            );
        }
    }
}

impl Rules for Camera {
    fn rules(&self, cx: &mut Cx<'_>) {
        label(cx, self.label.as_deref());
    }
}

impl Rules for CameraRoll {
    fn rules(&self, cx: &mut Cx<'_>) {
        label(cx, self.label.as_deref());
    }
}

impl Rules for Location {
    fn rules(&self, cx: &mut Cx<'_>) {
        label(cx, self.label.as_deref());
    }
}

impl UnknownRule for FlexAction {
    fn unknown(raw: &Value, cx: &mut Cx<'_>) {
        match raw_type(raw) {
            Some(t @ ("camera" | "cameraRoll" | "location" | "richmenuswitch")) => cx.error_at(
                "type",
                format!("a {t} action is not allowed in flex; use postback, message, uri, datetimepicker or clipboard"),
            ),
            Some(t) => cx.error_at("type", format!("unknown action type {t:?}")),
            None => cx.error("an action needs a type"),
        }
    }
}

impl UnknownRule for QuickReplyAction {
    fn unknown(raw: &Value, cx: &mut Cx<'_>) {
        match raw_type(raw) {
            Some(t) => cx.error_at("type", format!("action type {t:?} is not allowed in a quick reply")),
            None => cx.error("an action needs a type"),
        }
    }
}

// ---------------------------------------------------------------- components

impl Rules for FlexBox {
    fn rules(&self, cx: &mut Cx<'_>) {
        if self.contents.first_position() == Some(&Position::Absolute) {
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
}

impl Rules for LinearGradient {
    fn rules(&self, cx: &mut Cx<'_>) {
        if self.angle.is_none() {
            // LINE's reference marks `angle` as required.
            cx.error("a linear gradient needs an angle, such as 90deg");
        }
        if self.start_color.is_none() {
            cx.error("a linear gradient needs a startColor");
        }
        if self.end_color.is_none() {
            cx.error("a linear gradient needs an endColor");
        }
        if let Some(pos) = &self.center_position {
            if let Some(v) = pos.value() {
                if !(0.0..=100.0).contains(&v) {
                    cx.error_at("centerPosition", "centerPosition must be from 0% to 100%");
                }
            }
            if self.center_color.is_none() {
                cx.warn_at("centerPosition", "centerPosition has no effect without centerColor");
            }
        }
    }
}

impl UnknownRule for Background {
    fn unknown(raw: &Value, cx: &mut Cx<'_>) {
        match raw_type(raw) {
            Some(t) => cx.error_at(
                "type",
                format!("unknown background type {t:?}; expected linearGradient"),
            ),
            None => cx.error("a background needs a type (linearGradient)"),
        }
    }
}

impl Rules for Button {
    fn rules(&self, cx: &mut Cx<'_>) {
        match self.action.label() {
            None => cx.at("action", |cx| cx.error_at("label", "a button's action needs a label")),
            Some("") => cx.at("action", |cx| {
                cx.error_at("label", "a button's label must not be empty")
            }),
            Some(_) => {}
        }
    }
}

impl Rules for Image {
    fn rules(&self, cx: &mut Cx<'_>) {
        media_url(cx, "url", &self.url, MAX_MEDIA_URL_LENGTH);
        if self.animated == Some(true) {
            cx.animated += 1;
            if cx.animated == MAX_ANIMATED_IMAGES + 1 {
                cx.error_at(
                    "animated",
                    format!("more than {MAX_ANIMATED_IMAGES} animated images in one message"),
                );
            }
        }
    }
}

impl Rules for Video {
    fn rules(&self, cx: &mut Cx<'_>) {
        media_url(cx, "url", &self.url, MAX_MEDIA_URL_LENGTH);
        media_url(cx, "previewUrl", &self.preview_url, MAX_MEDIA_URL_LENGTH);
        if let AltContent::Image(img) = &self.alt_content {
            if let (Some(v), Some(a)) = (&self.aspect_ratio, &img.aspect_ratio) {
                if v.terms().is_some() && a.terms().is_some() && v.as_str() != a.as_str() {
                    cx.warn_at(
                        "aspectRatio",
                        format!(
                            "the video is {v} but its altContent image is {a}; clients that cannot play the video \
                             show a differently shaped hero"
                        ),
                    );
                }
            }
        }
        if self.aspect_ratio.is_none() {
            cx.warn_at("aspectRatio", "a video without aspectRatio is shown at 1:1");
        }
    }
}

impl UnknownRule for AltContent {
    fn unknown(raw: &Value, cx: &mut Cx<'_>) {
        match raw_type(raw) {
            Some(t) => cx.error_at(
                "type",
                format!("a video's altContent must be an image or a box, not {t:?}"),
            ),
            None => cx.error("a video's altContent needs a type (image or box)"),
        }
    }
}

impl Rules for Icon {
    fn rules(&self, cx: &mut Cx<'_>) {
        media_url(cx, "url", &self.url, MAX_MEDIA_URL_LENGTH);
    }
}

impl Rules for Text {
    fn rules(&self, cx: &mut Cx<'_>) {
        let has_spans = self.contents.as_ref().is_some_and(|c| !c.is_empty());
        if has_spans {
            return;
        }
        match self.text.as_deref() {
            None => cx.error_at("text", "a text component needs text or spans in contents"),
            Some("") => cx.error_at("text", "the text must not be empty"),
            Some(_) => {}
        }
    }
}

impl Rules for Span {
    fn rules(&self, cx: &mut Cx<'_>) {
        match self.text.as_deref() {
            None => cx.error_at("text", "a span needs text"),
            Some("") => cx.error_at("text", "the span text must not be empty"),
            Some(_) => {}
        }
    }
}

impl Rules for Separator {}
impl Rules for Filler {}

/// What a known component type is doing in the wrong place.
fn misplaced(cx: &mut Cx<'_>, raw: &Value, in_baseline: bool) {
    match raw_type(raw) {
        Some("spacer") => cx.warn_at(
            "type",
            "spacer is a legacy component that LINE no longer documents; use margin or padding instead",
        ),
        Some("icon") => cx.error_at("type", "an icon is allowed only in a baseline box"),
        Some("span") => cx.error_at("type", "a span is allowed only in a text's contents"),
        Some("video") => cx.error_at("type", "a video is allowed only as the hero of a bubble"),
        Some(t @ ("box" | "button" | "image" | "separator")) if in_baseline => cx.error_at(
            "type",
            format!("a {t} is not allowed in a baseline box (only icon, text and filler)"),
        ),
        Some(t) => cx.error_at("type", format!("unknown component type {t:?}")),
        None => cx.error("a component needs a type"),
    }
}

impl UnknownRule for Component {
    fn unknown(raw: &Value, cx: &mut Cx<'_>) {
        misplaced(cx, raw, false);
    }
}

impl UnknownRule for BaselineComponent {
    fn unknown(raw: &Value, cx: &mut Cx<'_>) {
        misplaced(cx, raw, true);
    }
}

impl UnknownRule for Hero {
    fn unknown(raw: &Value, cx: &mut Cx<'_>) {
        match raw_type(raw) {
            Some("video") if cx.in_carousel => cx.error_at("type", "a video hero is not allowed in a carousel bubble"),
            Some("video") => cx.error_at("type", "a video hero needs a bubble of size kilo, mega or giga"),
            Some(t) => cx.error_at(
                "type",
                format!("the hero must be a box, an image or a video, not {t:?}"),
            ),
            None => cx.error("the hero needs a type"),
        }
    }
}

// ---------------------------------------------------------------- containers

impl Rules for BlockStyle {}
impl Rules for BubbleStyles {}

fn bubble_size<T: serde::Serialize>(bubble: &T, cx: &mut Cx<'_>) {
    let bytes = json_len(bubble);
    cx.bubble_bytes.push(bytes);
    let max = cx.opts.max_bubble_bytes;
    if bytes > max {
        cx.error(format!(
            "the bubble is {bytes} bytes of JSON; at most {max} are allowed"
        ));
    }
}

impl Rules for Bubble {
    fn rules(&self, cx: &mut Cx<'_>) {
        bubble_size(self, cx);
    }
}

impl Rules for VideoBubble {
    fn rules(&self, cx: &mut Cx<'_>) {
        bubble_size(self, cx);
    }
}

impl Rules for Carousel {
    fn enter(&self, cx: &mut Cx<'_>) {
        cx.in_carousel = true;
        cx.bubble_bytes.clear();
    }

    fn rules(&self, cx: &mut Cx<'_>) {
        cx.in_carousel = false;
        let n = self.contents.len();
        if n > MAX_FLEX_CAROUSEL_BUBBLES {
            cx.error_at(
                "contents",
                format!("a carousel holds at most {MAX_FLEX_CAROUSEL_BUBBLES} bubbles, this one has {n}"),
            );
        } else if n < MIN_FLEX_CAROUSEL_BUBBLES {
            cx.error_at("contents", "a carousel needs at least one bubble");
        }
        // All bubbles must have the same size (no size means mega).
        let size_of = |b: &Bubble| b.size.clone().unwrap_or(BubbleSize::Mega);
        if let Some(first) = self.contents.first().map(size_of) {
            for (i, b) in self.contents.iter().enumerate().skip(1) {
                let size = size_of(b);
                if size != first {
                    cx.path.push_key("contents");
                    cx.path.push_index(i);
                    cx.error_at(
                        "size",
                        format!("all bubbles in a carousel must have the same size: bubble 0 is {first}, this one is {size}"),
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
        for (k, v) in &self.extra {
            bytes += 2 + json_len(k) + json_len(v);
        }
        cx.bubble_bytes.clear();
        let max = cx.opts.max_carousel_bytes;
        if bytes > max {
            cx.error(format!(
                "the carousel is {bytes} bytes of JSON; at most {max} are allowed"
            ));
        }
    }
}

impl Rules for QuickReplyItem {
    fn rules(&self, cx: &mut Cx<'_>) {
        if self.action.label().is_none() && !matches!(self.action, QuickReplyAction::Unknown(_)) {
            cx.at("action", |cx| {
                cx.error_at("label", "a quick-reply action needs a label")
            });
        }
        if let Some(url) = &self.image_url {
            media_url(cx, "imageUrl", url, MAX_QUICK_REPLY_IMAGE_URL_LENGTH);
        }
    }
}

impl Rules for QuickReply {
    fn enter(&self, cx: &mut Cx<'_>) {
        cx.in_quick_reply = true;
    }

    fn rules(&self, cx: &mut Cx<'_>) {
        cx.in_quick_reply = false;
        let n = self.items.len();
        if n > MAX_QUICK_REPLY_ITEMS {
            cx.error_at(
                "items",
                format!("a quick reply holds at most {MAX_QUICK_REPLY_ITEMS} items, this one has {n}"),
            );
        }
    }
}

impl Rules for FlexMessage {
    fn rules(&self, cx: &mut Cx<'_>) {
        let n = utf16_len(&self.alt_text);
        if !(MIN_ALT_TEXT_UTF16..=MAX_ALT_TEXT_UTF16).contains(&n) {
            cx.error_at(
                "altText",
                format!("altText is {n} UTF-16 code units long; it must be 1 to {MAX_ALT_TEXT_UTF16}"),
            );
        }
    }
}
