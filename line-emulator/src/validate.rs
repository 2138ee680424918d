//! LINE's rules for message objects, checked on the raw JSON of a request.
//!
//! The emulator is meant to be an independent judge of what LINE accepts, so
//! these checks are its own, written from LINE's Messaging API reference and
//! OpenAPI spec (message objects, Flex Message elements, action objects, quick
//! reply). They do not call line-flex's validator or use line-core's limits:
//! a bug in one is then caught by the other.
//!
//! Every problem becomes one `details[]` entry of LINE's 400 answer, with the
//! property path in LINE's style (`messages[0].contents.body.contents[1].url`).
//! Where LINE's reference leaves a rule unclear, the check accepts, and a
//! comment says so.

use serde_json::{Map, Value};
use unicode_segmentation::UnicodeSegmentation;

use crate::error::LineError;

/// Messages in one request.
const MAX_MESSAGES: usize = 5;
/// A text message's `text`, in UTF-16 code units.
const MAX_TEXT: usize = 5_000;
/// LINE emojis in one text message.
const MAX_EMOJIS: usize = 20;
/// `altText` of a Flex or imagemap message.
const MAX_ALT_TEXT: usize = 1_500;
/// `altText` of a template message.
const MAX_TEMPLATE_ALT_TEXT: usize = 400;
/// Image, video, audio and icon URLs, in characters.
const MAX_URL: usize = 2_000;
/// A location's `title` and `address`.
const MAX_LOCATION_TEXT: usize = 100;
/// A video's `trackingId`.
const MAX_TRACKING_ID: usize = 100;
/// Quick reply buttons.
const MAX_QUICK_REPLY_ITEMS: usize = 13;
/// `sender.name`.
const MAX_SENDER_NAME: usize = 20;
/// Bubbles in a Flex carousel.
const MAX_CAROUSEL_BUBBLES: usize = 12;
/// The JSON of one bubble. LINE's reference says 30 KB; whether a KB is 1,000
/// or 1,024 bytes it does not say, so the larger reading is used.
const MAX_BUBBLE_BYTES: usize = 30 * 1024;
/// The JSON of one carousel (50 KB, read as above).
const MAX_CAROUSEL_BYTES: usize = 50 * 1024;
/// Flex images with `animated: true` in one message. LINE's reference has
/// said three and, later, ten; the larger is used.
const MAX_ANIMATED_IMAGES: usize = 10;
/// Imagemap actions.
const MAX_IMAGEMAP_ACTIONS: usize = 50;
/// Columns of a carousel or image carousel template.
const MAX_TEMPLATE_COLUMNS: usize = 10;
/// `data` of postback, datetime-picker and rich-menu-switch actions.
const MAX_POSTBACK_DATA: usize = 300;
/// `text` of a message action; `displayText` and `fillInText` of a postback.
const MAX_ACTION_TEXT: usize = 300;
/// `uri` of a URI action and `altUri.desktop`.
const MAX_URI: usize = 1_000;
/// `clipboardText` of a clipboard action.
const MAX_CLIPBOARD_TEXT: usize = 1_000;

/// Where an action sits: its label limit and which action types LINE allows
/// there depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// A Flex component, block or bubble.
    Flex,
    /// A buttons, confirm or carousel template's button.
    Template,
    /// A template's `defaultAction` (no label shown).
    DefaultAction,
    /// An image carousel column.
    ImageCarousel,
    /// A quick reply button.
    QuickReply,
}

impl Place {
    /// The longest label, in characters. LINE's reference gives 20 for
    /// templates and quick reply and 12 for image carousels. For Flex it names
    /// no limit of its own; 40 is accepted (the longest LINE documents for
    /// labels). Labels are counted in grapheme clusters: LINE counts
    /// "characters" and does not say which kind, and graphemes are the lenient
    /// reading.
    fn max_label(self) -> usize {
        match self {
            Place::Flex | Place::DefaultAction => 40,
            Place::Template | Place::QuickReply => 20,
            Place::ImageCarousel => 12,
        }
    }
}

/// What a Flex component's parent is; it decides which components may appear.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Parent {
    /// A box's `contents`, with the box's layout.
    Box { baseline: bool },
    /// A bubble's `hero`.
    Hero,
    /// A video's `altContent`.
    VideoAlt,
}

const SPACING_KEYWORDS: &[&str] = &["none", "xs", "sm", "md", "lg", "xl", "xxl"];
const SIZE_KEYWORDS: &[&str] = &["xxs", "xs", "sm", "md", "lg", "xl", "xxl", "3xl", "4xl", "5xl"];
const IMAGE_SIZE_KEYWORDS: &[&str] = &["xxs", "xs", "sm", "md", "lg", "xl", "xxl", "3xl", "4xl", "5xl", "full"];
const BORDER_WIDTH_KEYWORDS: &[&str] = &["none", "light", "normal", "medium", "semi-bold", "bold"];
const POSITION: &[&str] = &["relative", "absolute"];
const GRAVITY: &[&str] = &["top", "bottom", "center"];
const ALIGN: &[&str] = &["start", "end", "center"];
const WEIGHT: &[&str] = &["regular", "bold"];
const STYLE: &[&str] = &["normal", "italic"];
const DECORATION: &[&str] = &["none", "underline", "line-through"];
const ADJUST_MODE: &[&str] = &["shrink-to-fit"];

/// Checks the `messages` of a send or validate request body. `Ok` when LINE
/// would accept them, else LINE's 400 with one detail per problem.
pub(crate) fn check_body(body: &Value) -> Result<(), LineError> {
    let mut c = Checker::default();
    match body.get("messages") {
        None | Some(Value::Null) => c.fail("messages", "must be specified"),
        Some(Value::Array(list)) => {
            if list.is_empty() || list.len() > MAX_MESSAGES {
                c.fail("messages", format!("Size must be between 1 and {MAX_MESSAGES}"));
            }
            for (i, m) in list.iter().enumerate() {
                c.message(m, &format!("messages[{i}]"));
            }
        }
        Some(_) => c.fail("messages", "must be an array"),
    }
    if c.details.is_empty() {
        Ok(())
    } else {
        Err(LineError::invalid(c.details))
    }
}

#[derive(Debug, Default)]
struct Checker {
    details: Vec<(String, String)>,
    /// Flex images with `animated: true` in the message being checked.
    animated: usize,
}

fn join(at: &str, key: &str) -> String {
    format!("{at}.{key}")
}

fn utf16_len(s: &str) -> usize {
    s.encode_utf16().count()
}

fn graphemes(s: &str) -> usize {
    s.graphemes(true).count()
}

/// A number followed by `unit` (`12px`, `50%`, `12.5px`); `signed` allows a
/// leading minus (offsets).
fn is_unit(s: &str, unit: &str, signed: bool) -> bool {
    let Some(n) = s.strip_suffix(unit) else { return false };
    let n = if signed { n.strip_prefix('-').unwrap_or(n) } else { n };
    let mut parts = n.splitn(2, '.');
    let int = parts.next().unwrap_or("");
    let frac = parts.next();
    !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
}

/// `#RRGGBB` or `#RRGGBBAA`.
fn is_color(s: &str) -> bool {
    s.strip_prefix('#')
        .is_some_and(|h| (h.len() == 6 || h.len() == 8) && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `{width}:{height}`, each from 1 to 100,000, the height at most three times
/// the width (LINE's image reference). LINE's examples use integers; decimals
/// are accepted, since the reference does not forbid them.
fn aspect_ratio_problem(s: &str) -> Option<&'static str> {
    const FORM: &str = "must be {width}:{height} with each from 1 to 100000";
    let Some((w, h)) = s.split_once(':') else {
        return Some(FORM);
    };
    let parse = |x: &str| -> Option<f64> {
        let ok = !x.is_empty()
            && x.bytes().all(|b| b.is_ascii_digit() || b == b'.')
            && x.bytes().filter(|b| *b == b'.').count() <= 1;
        if ok {
            x.parse::<f64>().ok()
        } else {
            None
        }
    };
    match (parse(w), parse(h)) {
        (Some(w), Some(h)) if (1.0..=100_000.0).contains(&w) && (1.0..=100_000.0).contains(&h) => {
            (h > 3.0 * w).then_some("the height must not be more than three times the width")
        }
        _ => Some(FORM),
    }
}

fn uri_scheme(s: &str) -> Option<String> {
    let (scheme, _) = s.split_once(':')?;
    Some(scheme.to_ascii_lowercase())
}

impl Checker {
    fn fail(&mut self, property: impl Into<String>, message: impl Into<String>) {
        self.details.push((property.into(), message.into()));
    }

    /// The value as an object, or a detail.
    fn object<'a>(&mut self, v: &'a Value, at: &str) -> Option<&'a Map<String, Value>> {
        match v {
            Value::Object(o) => Some(o),
            _ => {
                self.fail(at, "must be an object");
                None
            }
        }
    }

    /// An optional string field; a detail when it is there but not a string.
    fn opt_str<'a>(&mut self, o: &'a Map<String, Value>, at: &str, key: &str) -> Option<&'a str> {
        match o.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s),
            Some(_) => {
                self.fail(join(at, key), "must be a string");
                None
            }
        }
    }

    /// A required string field.
    fn req_str<'a>(&mut self, o: &'a Map<String, Value>, at: &str, key: &str) -> Option<&'a str> {
        if matches!(o.get(key), None | Some(Value::Null)) {
            self.fail(join(at, key), "must be specified");
            return None;
        }
        self.opt_str(o, at, key)
    }

    /// A length check in UTF-16 code units.
    fn len16(&mut self, s: Option<&str>, at: &str, key: &str, min: usize, max: usize) {
        if let Some(s) = s {
            let n = utf16_len(s);
            if n < min || n > max {
                self.fail(join(at, key), format!("Length must be between {min} and {max}"));
            }
        }
    }

    /// A length check in characters (Unicode scalar values).
    fn len_chars(&mut self, s: Option<&str>, at: &str, key: &str, min: usize, max: usize) {
        if let Some(s) = s {
            let n = s.chars().count();
            if n < min || n > max {
                self.fail(join(at, key), format!("Length must be between {min} and {max}"));
            }
        }
    }

    fn non_empty(&mut self, s: Option<&str>, at: &str, key: &str) {
        if s.is_some_and(str::is_empty) {
            self.fail(join(at, key), "must not be empty");
        }
    }

    fn opt_enum(&mut self, o: &Map<String, Value>, at: &str, key: &str, allowed: &[&str]) {
        if let Some(s) = self.opt_str(o, at, key) {
            if !allowed.contains(&s) {
                self.fail(
                    join(at, key),
                    format!("must be one of the following values: [{}]", allowed.join(", ")),
                );
            }
        }
    }

    fn opt_bool(&mut self, o: &Map<String, Value>, at: &str, key: &str) {
        if !matches!(o.get(key), None | Some(Value::Null | Value::Bool(_))) {
            self.fail(join(at, key), "must be a boolean");
        }
    }

    /// An optional non-negative integer (Flex `flex`, `maxLines`).
    fn opt_non_negative(&mut self, o: &Map<String, Value>, at: &str, key: &str) {
        match o.get(key) {
            None | Some(Value::Null) => {}
            Some(Value::Number(n)) if n.as_u64().is_some() => {}
            Some(_) => self.fail(join(at, key), "must be an integer of 0 or more"),
        }
    }

    fn opt_color(&mut self, o: &Map<String, Value>, at: &str, key: &str) {
        if let Some(s) = self.opt_str(o, at, key) {
            if !is_color(s) {
                self.fail(join(at, key), "must be a hex color code (#RRGGBB or #RRGGBBAA)");
            }
        }
    }

    /// A Flex length: one of `keywords`, or pixels, or (if `percent`) a percentage.
    fn opt_length(
        &mut self,
        o: &Map<String, Value>,
        at: &str,
        key: &str,
        keywords: &[&str],
        percent: bool,
        signed: bool,
    ) {
        if let Some(s) = self.opt_str(o, at, key) {
            let ok = keywords.contains(&s) || is_unit(s, "px", signed) || (percent && is_unit(s, "%", signed));
            if !ok {
                let mut forms = Vec::new();
                if !keywords.is_empty() {
                    forms.push(format!("one of [{}]", keywords.join(", ")));
                }
                forms.push("pixels (e.g. 10px)".to_owned());
                if percent {
                    forms.push("a percentage (e.g. 50%)".to_owned());
                }
                self.fail(join(at, key), format!("must be {}", forms.join(" or ")));
            }
        }
    }

    /// An HTTPS URL of at most 2,000 characters.
    fn https_url(&mut self, o: &Map<String, Value>, at: &str, key: &str, required: bool) {
        let s = if required {
            self.req_str(o, at, key)
        } else {
            self.opt_str(o, at, key)
        };
        if let Some(s) = s {
            if s.chars().count() > MAX_URL {
                self.fail(join(at, key), format!("Length must be between 1 and {MAX_URL}"));
            } else if !s.get(..8).is_some_and(|p| p.eq_ignore_ascii_case("https://")) || s.len() == 8 {
                self.fail(join(at, key), "must be an HTTPS URL");
            }
        }
    }

    fn message(&mut self, v: &Value, at: &str) {
        let Some(m) = self.object(v, at) else { return };
        let Some(kind) = self.req_str(m, at, "type") else {
            return;
        };
        match kind {
            "text" => self.text_message(m, at),
            "textV2" => self.text_v2_message(m, at),
            "sticker" => {
                for key in ["packageId", "stickerId"] {
                    let s = self.req_str(m, at, key);
                    self.non_empty(s, at, key);
                }
            }
            "image" => {
                self.https_url(m, at, "originalContentUrl", true);
                self.https_url(m, at, "previewImageUrl", true);
            }
            "video" => {
                self.https_url(m, at, "originalContentUrl", true);
                self.https_url(m, at, "previewImageUrl", true);
                let t = self.opt_str(m, at, "trackingId");
                self.len_chars(t, at, "trackingId", 1, MAX_TRACKING_ID);
            }
            "audio" => {
                self.https_url(m, at, "originalContentUrl", true);
                match m.get("duration") {
                    None | Some(Value::Null) => self.fail(join(at, "duration"), "must be specified"),
                    Some(Value::Number(n)) if n.as_u64().is_some() => {}
                    Some(_) => self.fail(join(at, "duration"), "must be an integer of 0 or more"),
                }
            }
            "location" => {
                for key in ["title", "address"] {
                    let s = self.req_str(m, at, key);
                    self.len_chars(s, at, key, 1, MAX_LOCATION_TEXT);
                }
                for key in ["latitude", "longitude"] {
                    match m.get(key) {
                        None | Some(Value::Null) => self.fail(join(at, key), "must be specified"),
                        Some(Value::Number(_)) => {}
                        Some(_) => self.fail(join(at, key), "must be a number"),
                    }
                }
            }
            "imagemap" => self.imagemap_message(m, at),
            "template" => self.template_message(m, at),
            "flex" => {
                self.animated = 0;
                self.flex_message(m, at);
                if self.animated > MAX_ANIMATED_IMAGES {
                    self.fail(
                        join(at, "contents"),
                        format!("at most {MAX_ANIMATED_IMAGES} images of a message may be animated"),
                    );
                }
            }
            "coupon" => {
                let id = self.req_str(m, at, "couponId");
                self.non_empty(id, at, "couponId");
                let tag = self.opt_str(m, at, "deliveryTag");
                self.len_chars(tag, at, "deliveryTag", 0, 30);
            }
            _ => self.fail(join(at, "type"), "Invalid message type"),
        }
        if let Some(q) = m.get("quickReply").filter(|q| !q.is_null()) {
            self.quick_reply(q, &join(at, "quickReply"));
        }
        if let Some(s) = m.get("sender").filter(|s| !s.is_null()) {
            let at = join(at, "sender");
            if let Some(s) = self.object(s, &at) {
                // LINE also refuses some names (such as "LINE"); its list is not
                // published, so the emulator does not guess.
                let name = self.opt_str(s, &at, "name");
                self.len_chars(name, &at, "name", 1, MAX_SENDER_NAME);
                self.https_url(s, &at, "iconUrl", false);
            }
        }
    }

    fn text_message(&mut self, m: &Map<String, Value>, at: &str) {
        let text = self.req_str(m, at, "text");
        self.len16(text, at, "text", 1, MAX_TEXT);
        let Some(emojis) = m.get("emojis").filter(|e| !e.is_null()) else {
            return;
        };
        let eat = join(at, "emojis");
        let Some(list) = emojis.as_array() else {
            self.fail(eat, "must be an array");
            return;
        };
        if list.len() > MAX_EMOJIS {
            self.fail(&eat, format!("Size must be between 0 and {MAX_EMOJIS}"));
        }
        let units: Vec<u16> = text.unwrap_or("").encode_utf16().collect();
        let chars: Vec<char> = text.unwrap_or("").chars().collect();
        for (i, e) in list.iter().enumerate() {
            let at = format!("{eat}[{i}]");
            let Some(e) = self.object(e, &at) else { continue };
            self.req_str(e, &at, "productId");
            self.req_str(e, &at, "emojiId");
            match e.get("index").and_then(Value::as_u64) {
                None => self.fail(join(&at, "index"), "must be specified as an integer of 0 or more"),
                Some(idx) => {
                    // The index points at a `$` of the text. LINE counts it in
                    // characters; whether those are UTF-16 units or code points is
                    // not said, so either reading is accepted.
                    let idx = idx as usize;
                    let by_unit = units.get(idx) == Some(&u16::from(b'$'));
                    let by_char = chars.get(idx) == Some(&'$');
                    if !(by_unit || by_char) {
                        self.fail(join(&at, "index"), "must point at a '$' in text");
                    }
                }
            }
        }
    }

    fn text_v2_message(&mut self, m: &Map<String, Value>, at: &str) {
        let text = self.req_str(m, at, "text");
        self.len16(text, at, "text", 1, MAX_TEXT);
        let Some(sub) = m.get("substitution").filter(|s| !s.is_null()) else {
            return;
        };
        let sat = join(at, "substitution");
        let Some(sub) = self.object(sub, &sat) else { return };
        for (key, v) in sub {
            let at = join(&sat, key);
            let Some(o) = self.object(v, &at) else { continue };
            match self.req_str(o, &at, "type") {
                Some("mention") => match o.get("mentionee") {
                    None | Some(Value::Null) => self.fail(join(&at, "mentionee"), "must be specified"),
                    Some(t) => {
                        let tat = join(&at, "mentionee");
                        if let Some(t) = self.object(t, &tat) {
                            match self.req_str(t, &tat, "type") {
                                Some("user") => {
                                    self.req_str(t, &tat, "userId");
                                }
                                Some("all") | None => {}
                                Some(_) => {
                                    self.fail(join(&tat, "type"), "must be one of the following values: [user, all]")
                                }
                            }
                        }
                    }
                },
                Some("emoji") => {
                    self.req_str(o, &at, "productId");
                    self.req_str(o, &at, "emojiId");
                }
                Some(_) => self.fail(
                    join(&at, "type"),
                    "must be one of the following values: [mention, emoji]",
                ),
                None => {}
            }
        }
    }

    fn quick_reply(&mut self, q: &Value, at: &str) {
        let Some(q) = self.object(q, at) else { return };
        let iat = join(at, "items");
        let Some(items) = q.get("items").and_then(Value::as_array) else {
            self.fail(iat, "must be specified as an array");
            return;
        };
        // LINE documents a maximum only; an empty list is accepted.
        if items.len() > MAX_QUICK_REPLY_ITEMS {
            self.fail(&iat, format!("Size must be between 0 and {MAX_QUICK_REPLY_ITEMS}"));
        }
        for (i, item) in items.iter().enumerate() {
            let at = format!("{iat}[{i}]");
            let Some(item) = self.object(item, &at) else { continue };
            // The spec gives `type` the default `action`, so it may be left out.
            if let Some(t) = self.opt_str(item, &at, "type") {
                if t != "action" {
                    self.fail(join(&at, "type"), "must be action");
                }
            }
            self.https_url(item, &at, "imageUrl", false);
            match item.get("action") {
                None | Some(Value::Null) => self.fail(join(&at, "action"), "must be specified"),
                Some(a) => self.action(a, &join(&at, "action"), Place::QuickReply),
            }
        }
    }

    fn action(&mut self, v: &Value, at: &str, place: Place) {
        let Some(a) = self.object(v, at) else { return };
        let Some(kind) = self.req_str(a, at, "type") else {
            return;
        };
        let label = self.opt_str(a, at, "label");
        let label_required = match place {
            Place::Template => true,
            // Camera, camera roll and location buttons show only their label.
            Place::QuickReply => matches!(kind, "camera" | "cameraRoll" | "location"),
            _ => false,
        };
        match label {
            None if label_required => self.fail(join(at, "label"), "must be specified"),
            Some(l) if graphemes(l) > place.max_label() || l.is_empty() => self.fail(
                join(at, "label"),
                format!("Length must be between 1 and {}", place.max_label()),
            ),
            _ => {}
        }
        match kind {
            "postback" => {
                let data = self.req_str(a, at, "data");
                self.len_chars(data, at, "data", 0, MAX_POSTBACK_DATA);
                let display = self.opt_str(a, at, "displayText");
                self.len_chars(display, at, "displayText", 1, MAX_ACTION_TEXT);
                let text = self.opt_str(a, at, "text");
                self.len_chars(text, at, "text", 1, MAX_ACTION_TEXT);
                if display.is_some() && text.is_some() {
                    self.fail(join(at, "text"), "displayText and text cannot both be specified");
                }
                self.opt_enum(
                    a,
                    at,
                    "inputOption",
                    &["closeRichMenu", "openRichMenu", "openKeyboard", "openVoice"],
                );
                let fill = self.opt_str(a, at, "fillInText");
                self.len_chars(fill, at, "fillInText", 0, MAX_ACTION_TEXT);
            }
            "message" => {
                let text = self.req_str(a, at, "text");
                self.len_chars(text, at, "text", 1, MAX_ACTION_TEXT);
            }
            "uri" => {
                let uri = self.req_str(a, at, "uri");
                self.uri(uri, &join(at, "uri"));
                if let Some(alt) = a.get("altUri").filter(|v| !v.is_null()) {
                    let aat = join(at, "altUri");
                    if let Some(alt) = self.object(alt, &aat) {
                        let desktop = self.req_str(alt, &aat, "desktop");
                        self.uri(desktop, &join(&aat, "desktop"));
                    }
                }
            }
            "datetimepicker" => {
                let data = self.req_str(a, at, "data");
                self.len_chars(data, at, "data", 0, MAX_POSTBACK_DATA);
                let mode = self.req_str(a, at, "mode");
                match mode {
                    Some("date" | "time" | "datetime") | None => {}
                    Some(_) => self.fail(
                        join(at, "mode"),
                        "must be one of the following values: [date, time, datetime]",
                    ),
                }
                for key in ["initial", "max", "min"] {
                    if let (Some(v), Some(mode)) = (self.opt_str(a, at, key), mode) {
                        if !datetime_fits(mode, v) {
                            self.fail(join(at, key), format!("must be in the format of mode {mode}"));
                        }
                    }
                }
            }
            "clipboard" => {
                let text = self.req_str(a, at, "clipboardText");
                self.len_chars(text, at, "clipboardText", 1, MAX_CLIPBOARD_TEXT);
            }
            "camera" | "cameraRoll" | "location" => {
                if place != Place::QuickReply {
                    self.fail(
                        join(at, "type"),
                        format!("the {kind} action can be used only in quick reply"),
                    );
                }
            }
            "richmenuswitch" => self.fail(
                join(at, "type"),
                "the richmenuswitch action can be used only in rich menus",
            ),
            _ => self.fail(join(at, "type"), "Invalid action type"),
        }
    }

    /// A URI action's target: at most 1,000 characters, scheme http, https, line or tel.
    fn uri(&mut self, uri: Option<&str>, at: &str) {
        let Some(uri) = uri else { return };
        let n = uri.chars().count();
        if n == 0 || n > MAX_URI {
            self.fail(at, format!("Length must be between 1 and {MAX_URI}"));
        } else if !matches!(uri_scheme(uri).as_deref(), Some("http" | "https" | "line" | "tel")) {
            self.fail(at, "invalid uri scheme (http, https, line or tel)");
        }
    }

    fn imagemap_message(&mut self, m: &Map<String, Value>, at: &str) {
        self.https_url(m, at, "baseUrl", true);
        let alt = self.req_str(m, at, "altText");
        self.len16(alt, at, "altText", 1, MAX_ALT_TEXT);
        match m.get("baseSize") {
            None | Some(Value::Null) => self.fail(join(at, "baseSize"), "must be specified"),
            Some(b) => {
                let bat = join(at, "baseSize");
                if let Some(b) = self.object(b, &bat) {
                    self.positive_ints(b, &bat, &["width", "height"]);
                }
            }
        }
        let aat = join(at, "actions");
        match m.get("actions").and_then(Value::as_array) {
            None => self.fail(&aat, "must be specified as an array"),
            Some(list) => {
                if list.len() > MAX_IMAGEMAP_ACTIONS {
                    self.fail(&aat, format!("Size must be between 0 and {MAX_IMAGEMAP_ACTIONS}"));
                }
                for (i, a) in list.iter().enumerate() {
                    let at = format!("{aat}[{i}]");
                    let Some(a) = self.object(a, &at) else { continue };
                    self.area(a.get("area"), &join(&at, "area"));
                    match self.req_str(a, &at, "type") {
                        Some("uri") => {
                            let u = self.req_str(a, &at, "linkUri");
                            self.uri(u, &join(&at, "linkUri"));
                        }
                        Some("message") => {
                            let t = self.req_str(a, &at, "text");
                            self.len_chars(t, &at, "text", 1, 400);
                        }
                        Some("clipboard") => {
                            let t = self.req_str(a, &at, "clipboardText");
                            self.len_chars(t, &at, "clipboardText", 1, MAX_CLIPBOARD_TEXT);
                        }
                        Some(_) => self.fail(
                            join(&at, "type"),
                            "must be one of the following values: [uri, message, clipboard]",
                        ),
                        None => {}
                    }
                }
            }
        }
        if let Some(v) = m.get("video").filter(|v| !v.is_null()) {
            let vat = join(at, "video");
            if let Some(v) = self.object(v, &vat) {
                self.https_url(v, &vat, "originalContentUrl", true);
                self.https_url(v, &vat, "previewImageUrl", true);
                self.area(v.get("area"), &join(&vat, "area"));
                if let Some(link) = v.get("externalLink").filter(|l| !l.is_null()) {
                    let lat = join(&vat, "externalLink");
                    if let Some(link) = self.object(link, &lat) {
                        let u = self.req_str(link, &lat, "linkUri");
                        self.uri(u, &join(&lat, "linkUri"));
                        let l = self.req_str(link, &lat, "label");
                        self.len_chars(l, &lat, "label", 1, 30);
                    }
                }
            }
        }
    }

    fn area(&mut self, v: Option<&Value>, at: &str) {
        match v {
            None | Some(Value::Null) => self.fail(at, "must be specified"),
            Some(v) => {
                if let Some(o) = self.object(v, at) {
                    for key in ["x", "y"] {
                        match o.get(key) {
                            Some(Value::Number(n)) if n.as_u64().is_some() => {}
                            None | Some(Value::Null) => self.fail(join(at, key), "must be specified"),
                            Some(_) => self.fail(join(at, key), "must be an integer of 0 or more"),
                        }
                    }
                    self.positive_ints(o, at, &["width", "height"]);
                }
            }
        }
    }

    fn positive_ints(&mut self, o: &Map<String, Value>, at: &str, keys: &[&str]) {
        for key in keys {
            match o.get(*key) {
                Some(Value::Number(n)) if n.as_u64().is_some_and(|n| n >= 1) => {}
                None | Some(Value::Null) => self.fail(join(at, key), "must be specified"),
                Some(_) => self.fail(join(at, key), "must be an integer of 1 or more"),
            }
        }
    }

    fn template_message(&mut self, m: &Map<String, Value>, at: &str) {
        let alt = self.req_str(m, at, "altText");
        self.len16(alt, at, "altText", 1, MAX_TEMPLATE_ALT_TEXT);
        let tat = join(at, "template");
        let Some(t) = m.get("template").filter(|t| !t.is_null()) else {
            self.fail(tat, "must be specified");
            return;
        };
        let Some(t) = self.object(t, &tat) else { return };
        let at = tat;
        match self.req_str(t, &at, "type") {
            Some("buttons") => {
                let has_image = t.get("thumbnailImageUrl").is_some_and(|v| !v.is_null());
                let title = self.opt_str(t, &at, "title");
                self.len_chars(title, &at, "title", 1, 40);
                let max = if has_image || title.is_some() { 60 } else { 160 };
                let text = self.req_str(t, &at, "text");
                self.len_chars(text, &at, "text", 1, max);
                self.https_url(t, &at, "thumbnailImageUrl", false);
                self.opt_enum(t, &at, "imageAspectRatio", &["rectangle", "square"]);
                self.opt_enum(t, &at, "imageSize", &["cover", "contain"]);
                self.opt_color(t, &at, "imageBackgroundColor");
                self.default_action(t, &at);
                self.actions(t, &at, 1, 4, Place::Template);
            }
            Some("confirm") => {
                let text = self.req_str(t, &at, "text");
                self.len_chars(text, &at, "text", 1, 240);
                self.actions(t, &at, 2, 2, Place::Template);
            }
            Some("carousel") => {
                self.opt_enum(t, &at, "imageAspectRatio", &["rectangle", "square"]);
                self.opt_enum(t, &at, "imageSize", &["cover", "contain"]);
                let cat = join(&at, "columns");
                let Some(cols) = t.get("columns").and_then(Value::as_array) else {
                    self.fail(cat, "must be specified as an array");
                    return;
                };
                if cols.is_empty() || cols.len() > MAX_TEMPLATE_COLUMNS {
                    self.fail(&cat, format!("Size must be between 1 and {MAX_TEMPLATE_COLUMNS}"));
                }
                let mut counts = Vec::new();
                for (i, col) in cols.iter().enumerate() {
                    let at = format!("{cat}[{i}]");
                    let Some(col) = self.object(col, &at) else { continue };
                    let has_image = col.get("thumbnailImageUrl").is_some_and(|v| !v.is_null());
                    let title = self.opt_str(col, &at, "title");
                    self.len_chars(title, &at, "title", 1, 40);
                    let max = if has_image || title.is_some() { 60 } else { 120 };
                    let text = self.req_str(col, &at, "text");
                    self.len_chars(text, &at, "text", 1, max);
                    self.https_url(col, &at, "thumbnailImageUrl", false);
                    self.opt_color(col, &at, "imageBackgroundColor");
                    self.default_action(col, &at);
                    counts.push(self.actions(col, &at, 1, 3, Place::Template));
                }
                if counts.windows(2).any(|w| w[0] != w[1]) {
                    self.fail(&cat, "every column must have the same number of actions");
                }
            }
            Some("image_carousel") => {
                let cat = join(&at, "columns");
                let Some(cols) = t.get("columns").and_then(Value::as_array) else {
                    self.fail(cat, "must be specified as an array");
                    return;
                };
                if cols.is_empty() || cols.len() > MAX_TEMPLATE_COLUMNS {
                    self.fail(&cat, format!("Size must be between 1 and {MAX_TEMPLATE_COLUMNS}"));
                }
                for (i, col) in cols.iter().enumerate() {
                    let at = format!("{cat}[{i}]");
                    let Some(col) = self.object(col, &at) else { continue };
                    self.https_url(col, &at, "imageUrl", true);
                    match col.get("action") {
                        None | Some(Value::Null) => self.fail(join(&at, "action"), "must be specified"),
                        Some(a) => self.action(a, &join(&at, "action"), Place::ImageCarousel),
                    }
                }
            }
            Some(_) => self.fail(
                join(&at, "type"),
                "must be one of the following values: [buttons, confirm, carousel, image_carousel]",
            ),
            None => {}
        }
    }

    fn default_action(&mut self, o: &Map<String, Value>, at: &str) {
        if let Some(a) = o.get("defaultAction").filter(|a| !a.is_null()) {
            self.action(a, &join(at, "defaultAction"), Place::DefaultAction);
        }
    }

    /// A template's `actions`: between `min` and `max`. Returns how many there are.
    fn actions(&mut self, o: &Map<String, Value>, at: &str, min: usize, max: usize, place: Place) -> usize {
        let aat = join(at, "actions");
        let Some(list) = o.get("actions").and_then(Value::as_array) else {
            self.fail(aat, "must be specified as an array");
            return 0;
        };
        if list.len() < min || list.len() > max {
            self.fail(&aat, format!("Size must be between {min} and {max}"));
        }
        for (i, a) in list.iter().enumerate() {
            self.action(a, &format!("{aat}[{i}]"), place);
        }
        list.len()
    }

    fn flex_message(&mut self, m: &Map<String, Value>, at: &str) {
        let alt = self.req_str(m, at, "altText");
        self.len16(alt, at, "altText", 1, MAX_ALT_TEXT);
        let cat = join(at, "contents");
        let Some(contents) = m.get("contents").filter(|c| !c.is_null()) else {
            self.fail(cat, "must be specified");
            return;
        };
        let Some(c) = self.object(contents, &cat) else { return };
        match self.req_str(c, &cat, "type") {
            Some("bubble") => {
                self.size(contents, &cat, MAX_BUBBLE_BYTES);
                self.bubble(c, &cat);
            }
            Some("carousel") => {
                self.size(contents, &cat, MAX_CAROUSEL_BYTES);
                let bat = join(&cat, "contents");
                let Some(list) = c.get("contents").and_then(Value::as_array) else {
                    self.fail(bat, "must be specified as an array");
                    return;
                };
                if list.is_empty() || list.len() > MAX_CAROUSEL_BUBBLES {
                    self.fail(&bat, format!("Size must be between 1 and {MAX_CAROUSEL_BUBBLES}"));
                }
                for (i, b) in list.iter().enumerate() {
                    let at = format!("{bat}[{i}]");
                    let Some(b) = self.object(b, &at) else { continue };
                    match self.req_str(b, &at, "type") {
                        Some("bubble") => self.bubble(b, &at),
                        Some(_) => self.fail(join(&at, "type"), "must be bubble"),
                        None => {}
                    }
                }
            }
            Some(_) => self.fail(
                join(&cat, "type"),
                "must be one of the following values: [bubble, carousel]",
            ),
            None => {}
        }
    }

    /// The container's JSON, written compactly, must not exceed `max` bytes.
    fn size(&mut self, v: &Value, at: &str, max: usize) {
        let n = serde_json::to_vec(v).map_or(0, |b| b.len());
        if n > max {
            self.fail(
                at,
                format!("the JSON of this container is {n} bytes; at most {max} are allowed"),
            );
        }
    }

    fn bubble(&mut self, b: &Map<String, Value>, at: &str) {
        self.opt_enum(
            b,
            at,
            "size",
            &["nano", "micro", "deca", "hecto", "kilo", "mega", "giga"],
        );
        self.opt_enum(b, at, "direction", &["ltr", "rtl"]);
        for block in ["header", "body", "footer"] {
            if let Some(v) = b.get(block).filter(|v| !v.is_null()) {
                let bat = join(at, block);
                if let Some(o) = self.object(v, &bat) {
                    match self.req_str(o, &bat, "type") {
                        Some("box") => self.flex_box(o, &bat),
                        Some(_) => self.fail(join(&bat, "type"), "must be box"),
                        None => {}
                    }
                }
            }
        }
        if let Some(v) = b.get("hero").filter(|v| !v.is_null()) {
            self.component(v, &join(at, "hero"), Parent::Hero);
        }
        if let Some(v) = b.get("styles").filter(|v| !v.is_null()) {
            let sat = join(at, "styles");
            if let Some(s) = self.object(v, &sat) {
                for block in ["header", "hero", "body", "footer"] {
                    if let Some(v) = s.get(block).filter(|v| !v.is_null()) {
                        let bat = join(&sat, block);
                        if let Some(o) = self.object(v, &bat) {
                            self.opt_color(o, &bat, "backgroundColor");
                            self.opt_bool(o, &bat, "separator");
                            self.opt_color(o, &bat, "separatorColor");
                        }
                    }
                }
            }
        }
        self.flex_action(b, at);
    }

    fn flex_action(&mut self, o: &Map<String, Value>, at: &str) {
        if let Some(a) = o.get("action").filter(|a| !a.is_null()) {
            self.action(a, &join(at, "action"), Place::Flex);
        }
    }

    /// Margin, position and offsets, shared by most components.
    fn placement(&mut self, o: &Map<String, Value>, at: &str) {
        self.opt_length(o, at, "margin", SPACING_KEYWORDS, false, false);
        self.opt_enum(o, at, "position", POSITION);
        for key in ["offsetTop", "offsetBottom", "offsetStart", "offsetEnd"] {
            // LINE does not say whether offsets may be negative; they are accepted.
            self.opt_length(o, at, key, SPACING_KEYWORDS, true, true);
        }
    }

    fn component(&mut self, v: &Value, at: &str, parent: Parent) {
        let Some(o) = self.object(v, at) else { return };
        let Some(kind) = self.req_str(o, at, "type") else {
            return;
        };
        let allowed = match parent {
            // A baseline box lays out icons and texts on one baseline.
            Parent::Box { baseline: true } => matches!(kind, "icon" | "text" | "filler" | "spacer"),
            Parent::Box { baseline: false } => {
                matches!(
                    kind,
                    "box" | "button" | "image" | "text" | "separator" | "filler" | "spacer"
                )
            }
            Parent::Hero => matches!(kind, "box" | "image" | "video"),
            Parent::VideoAlt => matches!(kind, "box" | "image"),
        };
        let known = matches!(
            kind,
            "box" | "button" | "image" | "video" | "icon" | "text" | "span" | "separator" | "filler" | "spacer"
        );
        if !known {
            self.fail(join(at, "type"), "Invalid component type");
            return;
        }
        if !allowed {
            let place = match parent {
                Parent::Box { baseline: true } => "a baseline box",
                Parent::Box { baseline: false } => "a horizontal or vertical box",
                Parent::Hero => "the hero block",
                Parent::VideoAlt => "a video's altContent",
            };
            self.fail(
                join(at, "type"),
                format!("a {kind} component cannot be used in {place}"),
            );
            return;
        }
        match kind {
            "box" => self.flex_box(o, at),
            "button" => {
                match o.get("action") {
                    None | Some(Value::Null) => self.fail(join(at, "action"), "must be specified"),
                    Some(a) => self.action(a, &join(at, "action"), Place::Flex),
                }
                self.opt_non_negative(o, at, "flex");
                self.placement(o, at);
                self.opt_enum(o, at, "height", &["sm", "md"]);
                self.opt_enum(o, at, "style", &["primary", "secondary", "link"]);
                self.opt_color(o, at, "color");
                self.opt_enum(o, at, "gravity", GRAVITY);
                self.opt_enum(o, at, "adjustMode", ADJUST_MODE);
                self.opt_bool(o, at, "scaling");
            }
            "image" => {
                self.https_url(o, at, "url", true);
                self.opt_non_negative(o, at, "flex");
                self.placement(o, at);
                self.opt_enum(o, at, "align", ALIGN);
                self.opt_enum(o, at, "gravity", GRAVITY);
                self.opt_length(o, at, "size", IMAGE_SIZE_KEYWORDS, true, false);
                self.aspect_ratio(o, at);
                self.opt_enum(o, at, "aspectMode", &["fit", "cover"]);
                self.opt_color(o, at, "backgroundColor");
                self.opt_bool(o, at, "animated");
                if o.get("animated") == Some(&Value::Bool(true)) {
                    self.animated += 1;
                }
                self.flex_action(o, at);
            }
            "video" => {
                self.https_url(o, at, "url", true);
                self.https_url(o, at, "previewUrl", true);
                match o.get("altContent") {
                    None | Some(Value::Null) => self.fail(join(at, "altContent"), "must be specified"),
                    Some(alt) => self.component(alt, &join(at, "altContent"), Parent::VideoAlt),
                }
                self.aspect_ratio(o, at);
                self.flex_action(o, at);
            }
            "icon" => {
                self.https_url(o, at, "url", true);
                self.placement(o, at);
                self.opt_length(o, at, "size", SIZE_KEYWORDS, false, false);
                self.aspect_ratio(o, at);
                self.opt_bool(o, at, "scaling");
            }
            "text" => {
                let spans = o.get("contents").and_then(Value::as_array);
                if spans.is_none_or(|s| s.is_empty()) {
                    // Either `text` or spans in `contents` must be given.
                    self.req_str(o, at, "text");
                } else {
                    self.opt_str(o, at, "text");
                }
                if let Some(spans) = spans {
                    let sat = join(at, "contents");
                    for (i, s) in spans.iter().enumerate() {
                        self.span(s, &format!("{sat}[{i}]"));
                    }
                } else if !matches!(o.get("contents"), None | Some(Value::Null)) {
                    self.fail(join(at, "contents"), "must be an array");
                }
                self.opt_non_negative(o, at, "flex");
                self.placement(o, at);
                self.opt_length(o, at, "size", SIZE_KEYWORDS, false, false);
                self.opt_enum(o, at, "align", ALIGN);
                self.opt_enum(o, at, "gravity", GRAVITY);
                self.opt_bool(o, at, "wrap");
                self.opt_length(o, at, "lineSpacing", &[], false, false);
                self.opt_non_negative(o, at, "maxLines");
                self.opt_enum(o, at, "weight", WEIGHT);
                self.opt_color(o, at, "color");
                self.opt_enum(o, at, "style", STYLE);
                self.opt_enum(o, at, "decoration", DECORATION);
                self.opt_enum(o, at, "adjustMode", ADJUST_MODE);
                self.opt_bool(o, at, "scaling");
                self.flex_action(o, at);
            }
            "separator" => {
                self.opt_length(o, at, "margin", SPACING_KEYWORDS, false, false);
                self.opt_color(o, at, "color");
            }
            "filler" => self.opt_non_negative(o, at, "flex"),
            // The spacer is deprecated; LINE still accepts it in old messages.
            "spacer" => self.opt_enum(o, at, "size", SPACING_KEYWORDS),
            _ => {}
        }
    }

    fn span(&mut self, v: &Value, at: &str) {
        let Some(o) = self.object(v, at) else { return };
        match self.req_str(o, at, "type") {
            Some("span") => {}
            Some(_) => {
                self.fail(join(at, "type"), "must be span");
                return;
            }
            None => return,
        }
        self.req_str(o, at, "text");
        self.opt_length(o, at, "size", SIZE_KEYWORDS, false, false);
        self.opt_color(o, at, "color");
        self.opt_enum(o, at, "weight", WEIGHT);
        self.opt_enum(o, at, "style", STYLE);
        self.opt_enum(o, at, "decoration", DECORATION);
    }

    fn aspect_ratio(&mut self, o: &Map<String, Value>, at: &str) {
        if let Some(r) = self.opt_str(o, at, "aspectRatio") {
            if let Some(p) = aspect_ratio_problem(r) {
                self.fail(join(at, "aspectRatio"), p);
            }
        }
    }

    fn flex_box(&mut self, o: &Map<String, Value>, at: &str) {
        let layout = self.req_str(o, at, "layout");
        match layout {
            Some("horizontal" | "vertical" | "baseline") | None => {}
            Some(_) => self.fail(
                join(at, "layout"),
                "must be one of the following values: [horizontal, vertical, baseline]",
            ),
        }
        let cat = join(at, "contents");
        match o.get("contents") {
            None | Some(Value::Null) => self.fail(cat, "must be specified"),
            Some(Value::Array(list)) => {
                let parent = Parent::Box {
                    baseline: layout == Some("baseline"),
                };
                for (i, c) in list.iter().enumerate() {
                    self.component(c, &format!("{cat}[{i}]"), parent);
                }
            }
            Some(_) => self.fail(cat, "must be an array"),
        }
        self.opt_non_negative(o, at, "flex");
        self.opt_length(o, at, "spacing", SPACING_KEYWORDS, false, false);
        self.placement(o, at);
        for key in ["backgroundColor", "borderColor"] {
            self.opt_color(o, at, key);
        }
        self.opt_length(o, at, "borderWidth", BORDER_WIDTH_KEYWORDS, false, false);
        self.opt_length(o, at, "cornerRadius", SPACING_KEYWORDS, false, false);
        for key in ["width", "maxWidth", "height", "maxHeight"] {
            self.opt_length(o, at, key, &[], true, false);
        }
        for key in [
            "paddingAll",
            "paddingTop",
            "paddingBottom",
            "paddingStart",
            "paddingEnd",
        ] {
            self.opt_length(o, at, key, SPACING_KEYWORDS, true, false);
        }
        self.opt_enum(
            o,
            at,
            "justifyContent",
            &[
                "center",
                "flex-start",
                "flex-end",
                "space-between",
                "space-around",
                "space-evenly",
            ],
        );
        self.opt_enum(o, at, "alignItems", &["center", "flex-start", "flex-end"]);
        if let Some(bg) = o.get("background").filter(|b| !b.is_null()) {
            let bat = join(at, "background");
            if let Some(bg) = self.object(bg, &bat) {
                match self.req_str(bg, &bat, "type") {
                    Some("linearGradient") => {
                        if let Some(angle) = self.req_str(bg, &bat, "angle") {
                            // LINE's examples are integers and decimals of degrees.
                            let ok = angle
                                .strip_suffix("deg")
                                .is_some_and(|n| !n.is_empty() && n.parse::<f64>().is_ok_and(f64::is_finite));
                            if !ok {
                                self.fail(join(&bat, "angle"), "must be an angle in degrees (e.g. 90deg)");
                            }
                        }
                        for key in ["startColor", "endColor"] {
                            if self.req_str(bg, &bat, key).is_some() {
                                self.opt_color(bg, &bat, key);
                            }
                        }
                        self.opt_color(bg, &bat, "centerColor");
                        self.opt_length(bg, &bat, "centerPosition", &[], true, false);
                    }
                    Some(_) => self.fail(join(&bat, "type"), "must be linearGradient"),
                    None => {}
                }
            }
        }
        self.flex_action(o, at);
    }
}

/// Whether a datetime picker's `initial`, `max` or `min` has its mode's
/// format: `2017-12-25`, `12:00` or `2017-12-25T12:00` (`t` also accepted).
fn datetime_fits(mode: &str, v: &str) -> bool {
    fn digits(s: &str, n: usize) -> bool {
        s.len() == n && s.bytes().all(|b| b.is_ascii_digit())
    }
    fn date(s: &str) -> bool {
        let p: Vec<&str> = s.split('-').collect();
        p.len() == 3 && digits(p[0], 4) && digits(p[1], 2) && digits(p[2], 2)
    }
    fn time(s: &str) -> bool {
        s.split_once(':').is_some_and(|(h, m)| digits(h, 2) && digits(m, 2))
    }
    match mode {
        "date" => date(v),
        "time" => time(v),
        "datetime" => v.split_once(['T', 't']).is_some_and(|(d, t)| date(d) && time(t)),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn details(body: Value) -> Vec<(String, String)> {
        match check_body(&body) {
            Ok(()) => Vec::new(),
            Err(e) => e
                .body
                .details
                .unwrap_or_default()
                .into_iter()
                .map(|d| (d.property.unwrap_or_default(), d.message.unwrap_or_default()))
                .collect(),
        }
    }

    #[test]
    fn lengths_and_units() {
        assert!(is_unit("10px", "px", false));
        assert!(is_unit("10.5px", "px", false));
        assert!(!is_unit("-10px", "px", false));
        assert!(is_unit("-10px", "px", true));
        assert!(!is_unit("px", "px", false));
        assert!(!is_unit("1.px", "px", false));
        assert!(is_unit("50%", "%", false));
        assert!(is_color("#00ff00"));
        assert!(is_color("#00ff00AA"));
        assert!(!is_color("00ff00"));
        assert!(!is_color("#0f0"));
    }

    #[test]
    fn aspect_ratios() {
        assert_eq!(aspect_ratio_problem("20:13"), None);
        assert_eq!(aspect_ratio_problem("1.51:1"), None);
        assert_eq!(aspect_ratio_problem("1:3"), None);
        assert!(aspect_ratio_problem("1:4").is_some());
        assert!(aspect_ratio_problem("0:1").is_some());
        assert!(aspect_ratio_problem("100001:1").is_some());
        assert!(aspect_ratio_problem("a:b").is_some());
    }

    #[test]
    fn datetime_formats() {
        assert!(datetime_fits("date", "2017-12-25"));
        assert!(!datetime_fits("date", "2017-12-25T12:00"));
        assert!(datetime_fits("time", "12:00"));
        assert!(datetime_fits("datetime", "2017-12-25t12:00"));
        assert!(!datetime_fits("datetime", "2017-12-25"));
    }

    #[test]
    fn labels_count_graphemes() {
        // 20 family emoji (each one grapheme of several code points) fit a quick reply label.
        let label = "👨‍👩‍👧".repeat(20);
        let body = json!({"messages": [{"type": "text", "text": "hi", "quickReply": {"items": [
            {"type": "action", "action": {"type": "message", "label": label, "text": "a"}}
        ]}}]});
        assert_eq!(details(body), Vec::new());
    }

    #[test]
    fn every_problem_is_reported() {
        let body = json!({"messages": [
            {"type": "text", "text": ""},
            {"type": "image", "originalContentUrl": "http://a.example/x.png"}
        ]});
        let d = details(body);
        let props: Vec<&str> = d.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            props,
            [
                "messages[0].text",
                "messages[1].originalContentUrl",
                "messages[1].previewImageUrl"
            ]
        );
    }
}
