//! `linectl richmenu validate`: the same output format and exit codes as `linectl flex validate`.

use std::path::PathBuf;
use std::process::{Command, Output};

fn linectl(args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_linectl"))
        .args(args)
        .output()
        .expect("linectl runs");
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("panicked"),
        "linectl panicked"
    );
    out
}

/// The header of a baseline JPEG of `w`x`h`: enough for a dimension reader.
fn jpeg(w: u16, h: u16) -> Vec<u8> {
    let [hh, hl] = h.to_be_bytes();
    let [wh, wl] = w.to_be_bytes();
    vec![
        0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x11, 0x08, hh, hl, wh, wl, 0x03, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1, 0xFF, 0xD9,
    ]
}

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("linectl-rm-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn a_valid_menu_exits_0_and_errors_exit_1_with_pointers() {
    let d = dir("ok");
    std::fs::write(d.join("linked.jpg"), jpeg(2500, 843)).unwrap();
    let menu = r#"{"key": "linked", "chatBarText": "Menu", "image": "linked.jpg",
        "areas": [{"bounds": {"x": 0, "y": 0, "width": 1250, "height": 843},
                   "action": {"type": "uri", "uri": "https://shop.example/mypage"}}]}"#;
    std::fs::write(d.join("menu.json"), menu).unwrap();
    let out = linectl(&["richmenu", "validate", d.join("menu.json").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));

    let bad = menu
        .replace("\"Menu\"", "\"Open the menu right now\"")
        .replace("1250", "2600");
    std::fs::write(d.join("bad.json"), bad).unwrap();
    let out = linectl(&["richmenu", "validate", d.join("bad.json").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(text.lines().any(|l| l.starts_with("error\t/chatBarText\t")), "{text}");
    assert!(text.lines().any(|l| l.starts_with("error\t/areas/0/bounds")), "{text}");
    std::fs::remove_dir_all(&d).ok();
}

#[test]
fn unreadable_or_unparsable_input_exits_2() {
    assert_eq!(
        linectl(&["richmenu", "validate", "/nonexistent/menu.json"])
            .status
            .code(),
        Some(2)
    );
    let d = dir("bad");
    std::fs::write(d.join("m.json"), "{not json").unwrap();
    assert_eq!(
        linectl(&["richmenu", "validate", d.join("m.json").to_str().unwrap()])
            .status
            .code(),
        Some(2)
    );
    std::fs::remove_dir_all(&d).ok();
}

#[test]
fn action_rules_of_line_are_errors_with_pointers() {
    let d = dir("actions");
    std::fs::write(d.join("m.jpg"), jpeg(2500, 843)).unwrap();
    let area = |x: u32, action: &str| {
        format!(r#"{{"bounds": {{"x": {x}, "y": 0, "width": 400, "height": 843}}, "action": {action}}}"#)
    };
    let areas = [
        area(0, r#"{"type": "camera", "label": "Photo"}"#),
        area(400, r#"{"type": "cameraRoll", "label": "Album"}"#),
        area(800, r#"{"type": "location", "label": "Here"}"#),
        area(
            1200,
            r#"{"type": "message", "label": "A label that is far too long", "text": "hi"}"#,
        ),
        area(
            1600,
            &format!(r#"{{"type": "postback", "data": "{}"}}"#, "d".repeat(301)),
        ),
        area(2000, r#"{"type": "uri", "uri": "ftp://example.com/file"}"#),
        area(2100, r#"{"type": "uri", "label": "No target"}"#),
    ];
    let menu = format!(
        r#"{{"key": "m", "chatBarText": "Menu", "image": "m.jpg", "areas": [{}]}}"#,
        areas.join(",")
    );
    std::fs::write(d.join("menu.json"), menu).unwrap();
    let out = linectl(&["richmenu", "validate", d.join("menu.json").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    for pointer in [
        "/areas/0/action/type",
        "/areas/1/action/type",
        "/areas/2/action/type",
        "/areas/3/action/label",
        "/areas/4/action/data",
        "/areas/5/action/uri",
        "/areas/6/action",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(&format!("error\t{pointer}\t"))),
            "no error at {pointer}:\n{text}"
        );
    }
    assert_eq!(text.lines().filter(|l| l.starts_with("error\t")).count(), 7, "{text}");
    std::fs::remove_dir_all(&d).ok();
}
