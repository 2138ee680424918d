//! `linectl webhook verify|parse`: exit codes and output on the shared fixtures.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../line-core/tests/fixtures")
}

fn fixture(path: &str) -> PathBuf {
    fixtures().join(path)
}

/// Runs linectl with `args`, feeding `stdin`, with `LINE_CHANNEL_SECRET` unset unless given.
fn linectl(args: &[&str], stdin: &[u8], secret_env: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_linectl"));
    cmd.args(args)
        .env_remove("LINE_CHANNEL_SECRET")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(s) = secret_env {
        cmd.env("LINE_CHANNEL_SECRET", s);
    }
    let mut child = cmd.spawn().expect("linectl runs");
    {
        let mut input = child.stdin.take().unwrap();
        // The command may exit before reading (usage errors): ignore a closed pipe.
        let _ = input.write_all(stdin);
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "linectl panicked: {stderr}");
    out
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("exited normally")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const PHP_SECRET: &str = "testsecret";
const PHP_SIG: &str = "Nq7AExtg27CQRfM3ngKtQxtVeIM/757ZTyDOrxQtWNg=";

#[test]
fn verify_accepts_a_valid_signature_from_a_file() {
    let file = fixture("signature/php_signature_body.json");
    let out = linectl(
        &[
            "webhook",
            "verify",
            "--secret",
            PHP_SECRET,
            "--signature",
            PHP_SIG,
            file.to_str().unwrap(),
        ],
        b"",
        None,
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out), "valid\n");
}

#[test]
fn verify_reads_stdin_and_takes_the_secret_from_the_environment() {
    let body = std::fs::read(fixture("signature/node_middleware_body.json")).unwrap();
    let sig = "eRdWYcVCzZV3MVZ3M9/rHJCl/a3oSbsRb04cLovpVwM=";
    let out = linectl(
        &["webhook", "verify", "--signature", sig],
        &body,
        Some("test_channel_secret"),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = linectl(
        &["webhook", "verify", "--signature", sig, "-"],
        &body,
        Some("test_channel_secret"),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    // --secret wins over the environment.
    let out = linectl(
        &[
            "webhook",
            "verify",
            "--secret",
            "test_channel_secret",
            "--signature",
            sig,
        ],
        &body,
        Some("something-else"),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

#[test]
fn verify_rejects_wrong_signatures_with_exit_1_and_a_reason() {
    let body = br#"{"hello":"world"}"#;
    let cases = [
        ("t7Hn4ZDHqs6e+wdvi5TyQivzie0DmMUmuXEBqyyE/tM=", "does not match"),
        ("deadbeef", "not base64"),
        ("", "not base64"),
    ];
    for (sig, reason) in cases {
        let out = linectl(
            &["webhook", "verify", "--secret", "test_secret", "--signature", sig],
            body,
            None,
        );
        assert_eq!(code(&out), 1, "{sig}: {}", stderr(&out));
        assert!(stderr(&out).contains(reason), "{sig}: {}", stderr(&out));
        assert!(stdout(&out).is_empty());
        assert!(!stderr(&out).contains("test_secret"));
    }
    // A tampered body (one byte more: the trailing newline a text editor would add).
    let mut body = std::fs::read(fixture("signature/php_signature_body.json")).unwrap();
    body.push(b'\n');
    let out = linectl(
        &["webhook", "verify", "--secret", PHP_SECRET, "--signature", PHP_SIG],
        &body,
        None,
    );
    assert_eq!(code(&out), 1);
}

#[test]
fn verify_usage_errors_exit_2() {
    let body = b"{}";
    // No secret anywhere.
    let out = linectl(&["webhook", "verify", "--signature", "x"], body, None);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    // No signature.
    let out = linectl(&["webhook", "verify", "--secret", "s"], body, None);
    assert_eq!(code(&out), 2);
    // An empty secret.
    let out = linectl(&["webhook", "verify", "--secret", "", "--signature", "x"], body, None);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    // Unreadable input: a missing file and a directory.
    let out = linectl(
        &[
            "webhook",
            "verify",
            "--secret",
            "s",
            "--signature",
            "x",
            "/nonexistent/body.json",
        ],
        body,
        None,
    );
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("/nonexistent/body.json"), "{}", stderr(&out));
    let dir = fixtures();
    let out = linectl(
        &[
            "webhook",
            "verify",
            "--secret",
            "s",
            "--signature",
            "x",
            dir.to_str().unwrap(),
        ],
        body,
        None,
    );
    assert_eq!(code(&out), 2);
    // No subcommand at all.
    assert_eq!(code(&linectl(&["webhook"], b"", None)), 2);
    assert_eq!(code(&linectl(&[], b"", None)), 2);
}

#[test]
fn verify_help_does_not_show_the_environment_secret() {
    let out = linectl(&["webhook", "verify", "--help"], b"", Some("env-secret-value-123"));
    assert_eq!(code(&out), 0);
    assert!(stdout(&out).contains("LINE_CHANNEL_SECRET"));
    assert!(!stdout(&out).contains("env-secret-value-123"));
}

#[test]
fn parse_prints_every_fixture_back_as_the_same_json() {
    let mut n = 0;
    for entry in std::fs::read_dir(fixture("webhook")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let input: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let out = linectl(&["webhook", "parse", path.to_str().unwrap()], b"", None);
        assert_eq!(code(&out), 0, "{}: {}", path.display(), stderr(&out));
        let output: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(output, input, "{}", path.display());
        n += 1;
    }
    assert_eq!(n, 29);
}

#[test]
fn parse_reads_stdin() {
    let body = std::fs::read(fixture("webhook/unknown.json")).unwrap();
    let out = linectl(&["webhook", "parse"], &body, None);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let output: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(output, serde_json::from_slice::<Value>(&body).unwrap());
}

#[test]
fn parse_summary_prints_one_line_per_event() {
    let file = fixture("webhook/many-events-v3.json");
    let out = linectl(&["webhook", "parse", "--summary", file.to_str().unwrap()], b"", None);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 28);
    assert_eq!(lines[0], "0\tmessage\tknown\ttestwebhookeventid");
    assert_eq!(lines[13], "13\taccountLink\tknown\ttestwebhookeventid");
    assert_eq!(lines[26], "26\tmessageEdited\tknown\ttestwebhookeventid");
    assert_eq!(lines[27], "27\tundefined\tunknown\ttestwebhookeventid");

    let file = fixture("webhook/unknown.json");
    let out = linectl(&["webhook", "parse", file.to_str().unwrap(), "--summary"], b"", None);
    assert_eq!(stdout(&out), "0\tgreatNewFeature\tunknown\t-\n1\tmessage\tknown\t-\n");

    let out = linectl(
        &["webhook", "parse", "--summary"],
        br#"{"destination":"U0","events":[]}"#,
        None,
    );
    assert_eq!(code(&out), 0);
    assert_eq!(stdout(&out), "");
}

#[test]
fn parse_keeps_an_invalid_event_and_warns() {
    let body = br#"{"destination":"U0","events":[{"type":"unfollow","timestamp":1},{"type":"follow","timestamp":true,"webhookEventId":"01HX"}]}"#;
    let out = linectl(&["webhook", "parse"], body, None);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let output: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(output, serde_json::from_slice::<Value>(body).unwrap());
    assert!(
        stderr(&out).starts_with("warning: event 1: invalid event at /timestamp: invalid type: boolean `true`"),
        "{}",
        stderr(&out)
    );

    let out = linectl(&["webhook", "parse", "--summary"], body, None);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out), "0\tunfollow\tknown\t-\n1\tfollow\tinvalid\t01HX\n");
    assert!(stderr(&out).contains("event 1"), "{}", stderr(&out));
}

#[test]
fn parse_names_the_json_pointer_and_exits_1() {
    let body = br#"{"destination":"U0","events":{"type":"follow","timestamp":1}}"#;
    let out = linectl(&["webhook", "parse"], body, None);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("/events"), "{}", stderr(&out));
    assert!(stdout(&out).is_empty());

    for garbage in [
        &b""[..],
        b"[1,2,3]",
        b"\x00\xff\xfe binary",
        br#"{"events":[{"type":"message","#,
    ] {
        let out = linectl(&["webhook", "parse", "--summary"], garbage, None);
        assert_eq!(
            code(&out),
            1,
            "{:?}: {}",
            String::from_utf8_lossy(garbage),
            stderr(&out)
        );
        assert!(stderr(&out).contains("not a webhook request"), "{}", stderr(&out));
    }
}

#[test]
fn parse_unreadable_input_exits_2() {
    let out = linectl(&["webhook", "parse", "/nonexistent/body.json"], b"", None);
    assert_eq!(code(&out), 2);
    let out = linectl(&["webhook", "parse", fixtures().to_str().unwrap()], b"", None);
    assert_eq!(code(&out), 2);
    let out = linectl(&["webhook", "parse", "--no-such-flag"], b"", None);
    assert_eq!(code(&out), 2);
}

#[test]
fn sign_prints_the_signature_verify_accepts() {
    let file = fixture("signature/php_signature_body.json");
    let out = linectl(
        &["webhook", "sign", "--secret", PHP_SECRET, file.to_str().unwrap()],
        b"",
        None,
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out), format!("{PHP_SIG}\n"));
    let out = linectl(&["webhook", "sign"], br#"{"hello":"world"}"#, Some("test_secret"));
    assert_eq!(stdout(&out), "t7Hn4ZDHqs6e+wdvI5TyQIvzie0DmMUmuXEBqyyE/tM=\n");
    assert_eq!(code(&linectl(&["webhook", "sign"], b"{}", None)), 2, "no secret");
    assert_eq!(
        code(&linectl(
            &["webhook", "sign", "--secret", "s", "/nonexistent"],
            b"",
            None
        )),
        2
    );
}
