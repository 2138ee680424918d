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

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn unreadable_input_exits_2_and_wrong_input_exits_1() {
    let dir = std::env::temp_dir().join(format!("linectl-seg-exit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let missing = dir.join("missing.seg");
    let missing = missing.to_str().unwrap();
    let ok = write(&dir, "ok.seg", "vip\n");
    let not_utf8 = dir.join("latin1.seg");
    std::fs::write(&not_utf8, b"name = \"caf\xe9\"\n").unwrap();
    let not_utf8 = not_utf8.to_str().unwrap();
    for args in [
        vec!["segment", "check", missing],
        vec!["segment", "check", not_utf8],
        vec!["segment", "fmt", missing],
        vec!["segment", "check", &ok, "--schema", missing],
        vec!["segment", "eval", "--segment", &ok, "--profiles", missing],
        vec!["segment", "compile", "--target", "narrowcast", missing],
        vec!["segment", "compile", "--target", "sql", &ok],
        vec!["segment", "compile", "--target", "sql", &ok, "--mapping", missing],
    ] {
        let out = linectl(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    }
    // Read and found wrong: 1.
    let bad = write(&dir, "bad.seg", "vip and (");
    let inverted = write(&dir, "inverted.seg", "vip and demo.age(40..20)\n");
    for args in [
        vec!["segment", "check", bad.as_str()],
        vec!["segment", "fmt", bad.as_str()],
        vec!["segment", "compile", "--target", "narrowcast", inverted.as_str()],
    ] {
        let out = linectl(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn compile_refuses_ranges_line_rejects_with_the_position() {
    let dir = std::env::temp_dir().join(format!("linectl-seg-range-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (text, place) in [
        (
            "# women, by age\ndemo.gender(\"female\") and demo.age(40..20)\n",
            "line 2, column 27",
        ),
        ("demo.subscription(365..7)\n", "line 1, column 1"),
    ] {
        let seg = write(&dir, "range.seg", text);
        let out = linectl(&["segment", "compile", "--target", "narrowcast", &seg]);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert!(out.stdout.is_empty(), "nothing is emitted");
        let err = stderr(&out);
        assert!(err.contains(place) && err.contains("impossible range"), "{err}");
        // `check --schema` reports the same problem at the same place.
        let schema = write(&dir, "schema.json", r#"{"attributes": {}}"#);
        let out = linectl(&["segment", "check", &seg, "--schema", &schema]);
        assert_eq!(out.status.code(), Some(1));
        assert!(stderr(&out).contains(place), "{}", stderr(&out));
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn deep_segments_are_an_error_not_a_crash() {
    let dir = std::env::temp_dir().join(format!("linectl-seg-deep-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let deep = write(
        &dir,
        "deep.seg",
        &format!("{}vip{}", "(".repeat(5_000), ")".repeat(5_000)),
    );
    let nots = write(&dir, "nots.seg", &format!("{}vip", "not ".repeat(5_000)));
    for f in [&deep, &nots] {
        for args in [
            vec!["segment", "check", f.as_str()],
            vec!["segment", "fmt", f.as_str()],
            vec!["segment", "compile", "--target", "narrowcast", f.as_str()],
        ] {
            let out = linectl(&args);
            assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
            assert!(stderr(&out).contains("nested too deeply at line 1"), "{}", stderr(&out));
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}
