//! Validation of menu sets against LINE's rules. Every finding names its place as a JSON
//! pointer into the definition (`/menus/2/areas/0/bounds`, `/image`, `/chatBarText`…).

use std::collections::{HashMap, HashSet};

use line_core::limits::{
    MAX_ACTION_TEXT, MAX_CLIPBOARD_TEXT, MAX_POSTBACK_DATA, MAX_RICH_MENUS, MAX_RICH_MENU_AREAS,
    MAX_RICH_MENU_CHAT_BAR_TEXT, MAX_RICH_MENU_NAME, MAX_URI_ACTION_LENGTH,
};
use line_core::model::{Action, DatetimePickerActionMode, PostbackActionInputOption};
use unicode_segmentation::UnicodeSegmentation;

use crate::menu::{Menu, MenuSet, NAME_TAG_LEN};

/// Smallest image width LINE accepts.
pub const MIN_IMAGE_WIDTH: u32 = 800;
/// Largest image width LINE accepts.
pub const MAX_IMAGE_WIDTH: u32 = 2_500;
/// Smallest image height LINE accepts.
pub const MIN_IMAGE_HEIGHT: u32 = 250;
/// Smallest width/height ratio LINE accepts.
pub const MIN_ASPECT_RATIO: f64 = 1.45;
/// Largest image file LINE accepts (1 MB).
pub const MAX_IMAGE_BYTES: usize = 1_048_576;
/// Longest menu key.
pub const MAX_KEY_LEN: usize = 64;
/// Longest label of an area's action, in grapheme clusters (LINE: 20 characters in rich menus;
/// read aloud by accessibility features).
pub const MAX_AREA_ACTION_LABEL: usize = 20;
/// Earliest date a datetime picker accepts (`initial`, `min`, `max`).
pub const DATETIMEPICKER_MIN_DATE: jiff::civil::Date = jiff::civil::date(1900, 1, 1);
/// Latest date a datetime picker accepts (`initial`, `min`, `max`).
pub const DATETIMEPICKER_MAX_DATE: jiff::civil::Date = jiff::civil::date(2100, 12, 31);

pub use crate::finding::{Finding, Severity};

/// Whether `alias` matches `^[a-z0-9_-]{1,32}$`.
pub fn is_valid_alias(alias: &str) -> bool {
    (1..=32).contains(&alias.len())
        && alias
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// Checks every menu of the set and the set as a whole. An empty result means LINE should
/// accept every menu.
pub fn validate_set(set: &MenuSet) -> Vec<Finding> {
    let mut out = Vec::new();
    let menus = set.menus();
    if menus.len() > MAX_RICH_MENUS {
        out.push(Finding::error(
            "/menus",
            format!("{} menus; a channel holds at most {MAX_RICH_MENUS}", menus.len()),
        ));
    }
    let aliases: HashSet<&str> = menus.iter().filter_map(|m| m.def.alias.as_deref()).collect();
    let mut keys_seen: HashMap<&str, &str> = HashMap::new();
    let mut aliases_seen: HashMap<&str, &str> = HashMap::new();
    for m in menus {
        if let Some(first) = keys_seen.insert(m.def.key.as_str(), m.place.as_str()) {
            out.push(Finding::error(
                format!("{}/key", m.place),
                format!("duplicate key {:?} (also at {})", m.def.key, or_root(first)),
            ));
        }
        if let Some(a) = m.def.alias.as_deref() {
            if let Some(first) = aliases_seen.insert(a, m.place.as_str()) {
                out.push(Finding::error(
                    format!("{}/alias", m.place),
                    format!("duplicate alias {a:?} (also at {})", or_root(first)),
                ));
            }
        }
        validate_menu(m, &aliases, &mut out);
    }
    out
}

fn or_root(p: &str) -> &str {
    if p.is_empty() {
        "/"
    } else {
        p
    }
}

fn validate_menu(m: &Menu, aliases: &HashSet<&str>, out: &mut Vec<Finding>) {
    let p = &m.place;
    let key = &m.def.key;
    if key.is_empty()
        || key.len() > MAX_KEY_LEN
        || key.starts_with('@')
        || key.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        out.push(Finding::error(
            format!("{p}/key"),
            format!("key must be 1 to {MAX_KEY_LEN} bytes without spaces, not starting with @"),
        ));
    }
    // Image.
    let img = &m.image;
    let image_place = format!("{p}/image");
    if let Some(reason) = img.read_error() {
        out.push(Finding::error(&image_place, reason));
    } else {
        if img.format().is_none() {
            out.push(Finding::error(&image_place, "image must be a PNG or a JPEG"));
        }
        if img.bytes().len() > MAX_IMAGE_BYTES {
            out.push(Finding::error(
                &image_place,
                format!("image is {} bytes; at most {MAX_IMAGE_BYTES} (1 MB)", img.bytes().len()),
            ));
        }
        match img.dimensions() {
            None => {
                if img.format().is_some() {
                    out.push(Finding::error(&image_place, "cannot read the image dimensions"));
                }
            }
            Some((w, h)) => {
                if !(MIN_IMAGE_WIDTH..=MAX_IMAGE_WIDTH).contains(&w) {
                    out.push(Finding::error(
                        &image_place,
                        format!("image width {w} is outside {MIN_IMAGE_WIDTH} to {MAX_IMAGE_WIDTH}"),
                    ));
                }
                if h < MIN_IMAGE_HEIGHT {
                    out.push(Finding::error(
                        &image_place,
                        format!("image height {h} is below {MIN_IMAGE_HEIGHT}"),
                    ));
                }
                if h > 0 && f64::from(w) / f64::from(h) < MIN_ASPECT_RATIO {
                    out.push(Finding::error(
                        &image_place,
                        format!("image aspect ratio {w}/{h} is below {MIN_ASPECT_RATIO}"),
                    ));
                }
                if let Some(s) = m.def.size {
                    if (s.width, s.height) != (w, h) {
                        out.push(Finding::error(
                            format!("{p}/size"),
                            format!("size {}x{} differs from the image's {w}x{h}", s.width, s.height),
                        ));
                    }
                }
            }
        }
    }
    // Texts.
    let cbt = m.def.chat_bar_text.chars().count();
    if cbt == 0 || cbt > MAX_RICH_MENU_CHAT_BAR_TEXT {
        out.push(Finding::error(
            format!("{p}/chatBarText"),
            format!("chatBarText has {cbt} characters; it needs 1 to {MAX_RICH_MENU_CHAT_BAR_TEXT}"),
        ));
    }
    let max_name = MAX_RICH_MENU_NAME - NAME_TAG_LEN;
    if let Some(name) = &m.def.name {
        let n = name.chars().count();
        if n == 0 || n > max_name {
            out.push(Finding::error(
                format!("{p}/name"),
                format!("name has {n} characters; it needs 1 to {max_name} (the deploy tag takes the rest)"),
            ));
        }
    } else if key.chars().count() > max_name {
        out.push(Finding::error(
            format!("{p}/key"),
            "key is too long to serve as the name",
        ));
    }
    if let Some(a) = &m.def.alias {
        if !is_valid_alias(a) {
            out.push(Finding::error(
                format!("{p}/alias"),
                format!("alias {a:?} does not match ^[a-z0-9_-]{{1,32}}$"),
            ));
        }
    }
    // Areas.
    if m.def.areas.len() > MAX_RICH_MENU_AREAS {
        out.push(Finding::error(
            format!("{p}/areas"),
            format!("{} areas; at most {MAX_RICH_MENU_AREAS}", m.def.areas.len()),
        ));
    }
    if m.def.areas.is_empty() {
        out.push(Finding::warning(format!("{p}/areas"), "the menu has no tappable area"));
    }
    let size = m.effective_size();
    for (i, area) in m.def.areas.iter().enumerate() {
        let ap = format!("{p}/areas/{i}");
        let b = area.bounds;
        if b.width == 0 || b.height == 0 {
            out.push(Finding::error(format!("{ap}/bounds"), "area has zero width or height"));
        }
        if let Some(s) = size {
            let right = u64::from(b.x) + u64::from(b.width);
            let bottom = u64::from(b.y) + u64::from(b.height);
            if right > u64::from(s.width) || bottom > u64::from(s.height) {
                out.push(Finding::error(
                    format!("{ap}/bounds"),
                    format!(
                        "area ({},{}) {}x{} extends past the {}x{} image",
                        b.x, b.y, b.width, b.height, s.width, s.height
                    ),
                ));
            }
        }
        validate_action(&area.action, &format!("{ap}/action"), aliases, out);
    }
}

/// Checks an area's action against LINE's rules for actions in rich menus. `p` is the pointer
/// of the action object.
fn validate_action(action: &Action, p: &str, aliases: &HashSet<&str>, out: &mut Vec<Finding>) {
    if let Some(label) = action.label() {
        let n = label.graphemes(true).count();
        if n > MAX_AREA_ACTION_LABEL {
            out.push(Finding::error(
                format!("{p}/label"),
                format!("label is {n} characters long; at most {MAX_AREA_ACTION_LABEL} in a rich menu"),
            ));
        }
    }
    match action {
        Action::Camera(_) | Action::CameraRoll(_) | Action::Location(_) => out.push(Finding::error(
            format!("{p}/type"),
            format!(
                "a {} action works only in quick-reply buttons; LINE rejects it in a rich-menu area",
                action.kind()
            ),
        )),
        Action::Postback(pb) => {
            match pb.data.as_deref() {
                None => out.push(Finding::error(p, "a postback action needs data")),
                Some(d) => max_chars(out, p, "data", d, MAX_POSTBACK_DATA),
            }
            for (key, v) in [
                ("displayText", &pb.display_text),
                ("text", &pb.text),
                ("fillInText", &pb.fill_in_text),
            ] {
                if let Some(v) = v {
                    max_chars(out, p, key, v, MAX_ACTION_TEXT);
                }
            }
            if pb.display_text.is_some() && pb.text.is_some() {
                out.push(Finding::error(
                    format!("{p}/text"),
                    "a postback action cannot have both displayText and text",
                ));
            }
            match &pb.input_option {
                Some(PostbackActionInputOption::Unknown(o)) => out.push(Finding::error(
                    format!("{p}/inputOption"),
                    format!("inputOption {o:?} is not closeRichMenu, openRichMenu, openKeyboard or openVoice"),
                )),
                Some(PostbackActionInputOption::OpenKeyboard) => {}
                _ if pb.fill_in_text.is_some() => out.push(Finding::warning(
                    format!("{p}/fillInText"),
                    "fillInText is used only with inputOption openKeyboard",
                )),
                _ => {}
            }
        }
        Action::Message(m) => match m.text.as_deref() {
            None => out.push(Finding::error(p, "a message action needs a text")),
            Some("") => out.push(Finding::error(format!("{p}/text"), "the text is empty")),
            Some(t) => max_chars(out, p, "text", t, MAX_ACTION_TEXT),
        },
        Action::Uri(u) => {
            match u.uri.as_deref() {
                None => out.push(Finding::error(p, "a uri action needs a uri")),
                Some(uri) => action_uri(out, &format!("{p}/uri"), uri),
            }
            if u.alt_uri.as_ref().is_some_and(|a| a.desktop.is_some()) {
                out.push(Finding::warning(
                    format!("{p}/altUri/desktop"),
                    "LINE reads altUri.desktop only in Flex messages; a rich menu opens uri on every platform",
                ));
            }
        }
        Action::Datetimepicker(dt) => {
            match dt.data.as_deref() {
                None => out.push(Finding::error(p, "a datetimepicker action needs data")),
                Some(d) => max_chars(out, p, "data", d, MAX_POSTBACK_DATA),
            }
            match &dt.mode {
                None => out.push(Finding::error(p, "a datetimepicker action needs a mode")),
                Some(DatetimePickerActionMode::Unknown(m)) => out.push(Finding::error(
                    format!("{p}/mode"),
                    format!("mode {m:?} is not date, time or datetime"),
                )),
                Some(mode) => picker_values(out, p, mode, [&dt.initial, &dt.min, &dt.max]),
            }
        }
        Action::Clipboard(c) => {
            let n = c.clipboard_text.chars().count();
            if !(1..=MAX_CLIPBOARD_TEXT).contains(&n) {
                out.push(Finding::error(
                    format!("{p}/clipboardText"),
                    format!("clipboardText has {n} characters; it needs 1 to {MAX_CLIPBOARD_TEXT}"),
                ));
            }
        }
        Action::Richmenuswitch(sw) => {
            match sw.rich_menu_alias_id.as_deref() {
                None => out.push(Finding::error(p, "richmenuswitch needs a richMenuAliasId")),
                Some(target) if !aliases.contains(target) => out.push(Finding::error(
                    format!("{p}/richMenuAliasId"),
                    format!("alias {target:?} is not declared by any menu of the set"),
                )),
                Some(_) => {}
            }
            match sw.data.as_deref() {
                None | Some("") => out.push(Finding::error(format!("{p}/data"), "richmenuswitch needs data")),
                Some(d) => max_chars(out, p, "data", d, MAX_POSTBACK_DATA),
            }
        }
        Action::Unknown { kind, .. } => out.push(Finding::warning(
            format!("{p}/type"),
            format!("action type {kind:?} is unknown to this version"),
        )),
        _ => out.push(Finding::warning(
            format!("{p}/type"),
            format!("action type {:?} is not checked by this version", action.kind()),
        )),
    }
}

/// An error at `{p}/{key}` when `value` is longer than `max` characters.
fn max_chars(out: &mut Vec<Finding>, p: &str, key: &str, value: &str, max: usize) {
    let n = value.chars().count();
    if n > max {
        out.push(Finding::error(
            format!("{p}/{key}"),
            format!("{key} is {n} characters long; at most {max}"),
        ));
    }
}

/// A URI action's target: http, https, line or tel, at most [`MAX_URI_ACTION_LENGTH`] characters.
fn action_uri(out: &mut Vec<Finding>, place: &str, uri: &str) {
    let n = uri.chars().count();
    if n > MAX_URI_ACTION_LENGTH {
        out.push(Finding::error(
            place,
            format!("uri is {n} characters long; at most {MAX_URI_ACTION_LENGTH}"),
        ));
    }
    let scheme = uri.split_once(':').map(|(s, _)| s).unwrap_or("");
    let rest = &uri[scheme.len()..];
    let ok = match scheme.to_ascii_lowercase().as_str() {
        "http" | "https" => rest.strip_prefix("://").is_some_and(|r| !r.is_empty()),
        "line" | "tel" => rest.len() > 1,
        _ => false,
    };
    if !ok {
        out.push(Finding::error(
            place,
            format!("{uri:?} is not a URI LINE opens; the scheme must be http, https, line or tel"),
        ));
    }
}

/// Checks a datetime picker's `initial`, `min` and `max` against its mode and each other.
fn picker_values(out: &mut Vec<Finding>, p: &str, mode: &DatetimePickerActionMode, values: [&Option<String>; 3]) {
    fn date(s: &str) -> Option<jiff::civil::Date> {
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let d: jiff::civil::Date = s.parse().ok()?;
        (DATETIMEPICKER_MIN_DATE..=DATETIMEPICKER_MAX_DATE)
            .contains(&d)
            .then_some(d)
    }
    fn time(s: &str) -> Option<jiff::civil::Time> {
        let b = s.as_bytes();
        if b.len() != 5 || b[2] != b':' || !b[..2].iter().chain(&b[3..]).all(u8::is_ascii_digit) {
            return None;
        }
        s.parse().ok()
    }
    let read = |s: &str| -> Option<jiff::civil::DateTime> {
        match mode {
            DatetimePickerActionMode::Date => date(s).map(|d| d.to_datetime(jiff::civil::Time::midnight())),
            DatetimePickerActionMode::Time => time(s).map(|t| jiff::civil::date(2000, 1, 1).to_datetime(t)),
            _ => {
                let (d, t) = (s.get(..10)?, s.get(11..)?);
                matches!(s.get(10..11), Some("T" | "t")).then_some(())?;
                Some(date(d)?.to_datetime(time(t)?))
            }
        }
    };
    let form = match mode {
        DatetimePickerActionMode::Date => "a date yyyy-MM-dd from 1900-01-01 to 2100-12-31",
        DatetimePickerActionMode::Time => "a time HH:mm",
        _ => "a date and time yyyy-MM-ddTHH:mm from 1900-01-01 to 2100-12-31",
    };
    let mut parsed = [None; 3];
    for ((key, value), slot) in ["initial", "min", "max"].into_iter().zip(values).zip(&mut parsed) {
        let Some(s) = value.as_deref() else { continue };
        *slot = read(s);
        if slot.is_none() {
            out.push(Finding::error(
                format!("{p}/{key}"),
                format!("{key} {s:?} is not {form} (mode {})", mode.as_str()),
            ));
        }
    }
    let [initial, min, max] = parsed;
    if let (Some(lo), Some(hi)) = (min, max) {
        if lo > hi {
            out.push(Finding::error(format!("{p}/min"), "min is after max"));
        }
    }
    if let Some(i) = initial {
        if min.is_some_and(|lo| i < lo) || max.is_some_and(|hi| i > hi) {
            out.push(Finding::error(format!("{p}/initial"), "initial is outside min to max"));
        }
    }
}
