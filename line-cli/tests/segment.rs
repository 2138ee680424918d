//! `linectl segment`: check, fmt, eval and compile on files.

use std::path::Path;
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

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_owned()
}

#[test]
fn eval_prints_members_and_errors_name_the_place() {
    let dir = std::env::temp_dir().join(format!("linectl-seg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let seg = write(
        &dir,
        "vip.seg",
        "gender = \"female\" and id_linked and count(purchase, 90d) >= 2\n",
    );
    let profiles = write(
        &dir,
        "p.jsonl",
        concat!(
            r#"{"id": "U1", "attributes": {"gender": "female"}, "line": {"id_linked": true}, "events": [{"name": "purchase", "at": "2026-05-01T00:00:00Z"}, {"name": "purchase", "at": "2026-04-20T00:00:00Z"}]}"#,
            "\n",
            r#"{"id": "U2", "attributes": {"gender": "female"}, "line": {"id_linked": false}}"#,
            "\n"
        ),
    );
    let out = linectl(&[
        "segment",
        "eval",
        "--segment",
        &seg,
        "--profiles",
        &profiles,
        "--now",
        "2026-05-15T00:00:00Z",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "U1\n");

    let out = linectl(&["segment", "fmt", &seg]);
    assert_eq!(out.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("text becomes JSON");
    assert!(json.is_object());

    let bad = write(&dir, "bad.seg", "gender = \"female\" and\n  (id_linked");
    let out = linectl(&["segment", "check", &bad]);
    assert_ne!(out.status.code(), Some(0));
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(all.contains("line 2"), "{all}");
    std::fs::remove_dir_all(&dir).ok();
}
