//! `linectl flex validate|fmt`: output format and exit codes.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../line-flex/tests/fixtures")
        .join(name)
}

fn linectl(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_linectl"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("linectl runs");
    let _ = child.stdin.take().unwrap().write_all(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("panicked"),
        "linectl panicked"
    );
    out
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[test]
fn a_valid_bubble_exits_0_and_fmt_gives_the_same_json() {
    let path = fixture("java__reconstruction__Receipt.json");
    let out = linectl(&["flex", "validate", path.to_str().unwrap()], b"");
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let out = linectl(&["flex", "fmt", path.to_str().unwrap()], b"");
    assert_eq!(out.status.code(), Some(0));
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    let original: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(printed, original);
}

#[test]
fn the_legacy_spacer_is_a_warning_and_exits_0() {
    let path = fixture("java__legacy-line-bot-model__Menu.json");
    let out = linectl(&["flex", "validate", path.to_str().unwrap()], b"");
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    let lines: Vec<Vec<&str>> = text.lines().map(|l| l.split('\t').collect()).collect();
    assert!(!lines.is_empty(), "the spacer is reported");
    assert!(
        lines
            .iter()
            .all(|l| l.len() == 3 && l[0] == "warning" && l[1].starts_with('/')),
        "{text}"
    );
}

#[test]
fn errors_from_stdin_name_the_pointer_and_exit_1() {
    let doc = br#"{"type":"flex","altText":"","contents":{"type":"bubble","body":{"type":"box","layout":"vertical",
        "contents":[{"type":"button","action":{"type":"uri","label":"Go","uri":"ftp://example.com"}}]}}}"#;
    let out = linectl(&["flex", "validate"], doc);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.lines().any(|l| l.starts_with("error\t/altText\t")), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("error\t/contents/body/contents/0/action/uri\t")),
        "{text}"
    );
}

#[test]
fn non_json_and_unreadable_input_exit_2() {
    assert_eq!(linectl(&["flex", "validate"], b"{not json").status.code(), Some(2));
    assert_eq!(
        linectl(&["flex", "fmt", "/nonexistent/file.json"], b"").status.code(),
        Some(2)
    );
}

#[test]
fn a_gradient_without_angle_exits_1_and_a_decimal_aspect_ratio_exits_0() {
    let gradient = br##"{"type":"bubble","body":{"type":"box","layout":"vertical","contents":[],
        "background":{"type":"linearGradient","startColor":"#ff0000","endColor":"#0000ff"}}}"##;
    let out = linectl(&["flex", "validate"], gradient);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out).starts_with("error\t/body/background\t"),
        "{}",
        stdout(&out)
    );

    let hero = br#"{"type":"bubble","hero":{"type":"image","url":"https://example.com/a.png","aspectRatio":"1.91:1"}}"#;
    let out = linectl(&["flex", "validate"], hero);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(
        stdout(&out).starts_with("warning\t/hero/aspectRatio\t"),
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out).contains("191:100"), "{}", stdout(&out));
}
