//! Rich-menu definitions (JSON, or TOML when the input is not JSON): parse and
//! validate never panic, nor do the content hash and the request built for
//! LINE; a definition serializes and reads back equal, with the same findings.
//!
//! Image paths are reduced to plain file names in a folder of test images
//! (written once, at start), so the fuzzer never reads other files.
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use line_richmenu::{validate_set, MenuSet};
use serde_json::Value;

/// A PNG header of the given size (the only part that is read).
fn png(width: u32, height: u32) -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
    b.extend(width.to_be_bytes());
    b.extend(height.to_be_bytes());
    b.extend([8, 6, 0, 0, 0, 0, 0, 0, 0]);
    b
}

/// A JPEG header (start of image, then a baseline frame header) of the given size.
fn jpeg(width: u16, height: u16) -> Vec<u8> {
    let mut b = vec![0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x11, 0x08];
    b.extend(height.to_be_bytes());
    b.extend(width.to_be_bytes());
    b.extend([3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1, 0xFF, 0xD9]);
    b
}

fn images() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("line-fuzz-richmenu-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temporary folder");
        for (name, bytes) in [
            ("menu.png", png(2500, 1686)),
            ("compact.png", png(2500, 843)),
            ("narrow.png", png(700, 200)),
            ("menu.jpg", jpeg(1200, 810)),
            ("text.png", b"not an image".to_vec()),
            ("empty.png", Vec::new()),
        ] {
            std::fs::write(dir.join(name), bytes).expect("a test image");
        }
        dir
    })
}

/// Keeps an image path only when it is a plain file name; anything else reads `menu.png`.
fn confine(def: &mut Value) {
    if let Some(Value::String(path)) = def.get_mut("image") {
        let plain = !path.is_empty()
            && path.len() <= 64
            && !path.starts_with('.')
            && path.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
        if !plain {
            *path = "menu.png".to_owned();
        }
    }
}

fuzz_target!(|bytes: &[u8]| {
    let Ok(text) = std::str::from_utf8(bytes) else { return };
    let base = images();
    let mut value: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(_) => match toml::from_str(text) {
            Ok(v) => v,
            Err(_) => {
                // Not JSON: fails before any image is read.
                assert!(MenuSet::from_json_str(text, base).is_err());
                return;
            }
        },
    };
    match value.get_mut("menus") {
        Some(Value::Array(defs)) => defs.iter_mut().for_each(confine),
        _ => confine(&mut value),
    }
    let Ok(set) = MenuSet::from_value(&value, base) else {
        return;
    };
    let findings = validate_set(&set);
    for menu in set.menus() {
        let request = menu.to_request();
        assert!(request.name.is_some());
        assert_eq!(menu.content_hash().len(), 64);
    }

    // Each definition serializes and reads back equal, with the same findings.
    let defs: Vec<Value> = set
        .menus()
        .iter()
        .map(|m| serde_json::to_value(&m.def).expect("a definition serializes"))
        .collect();
    let written = match value.get("menus") {
        Some(Value::Array(_)) => serde_json::json!({ "menus": defs }),
        _ => defs.into_iter().next().expect("one menu"),
    };
    let again = MenuSet::from_value(&written, base)
        .unwrap_or_else(|e| panic!("a serialized definition does not read back ({e}): {written}"));
    assert_eq!(again, set, "the definitions changed on the round trip: {written}");
    assert_eq!(validate_set(&again), findings);
});
