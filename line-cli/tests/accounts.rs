//! `linectl accounts` over a registry file, against the emulator on 127.0.0.1:
//! what `list` shows (never a secret), `check` issuing and verifying tokens per
//! account, `quota` rolled up, and the exit codes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use line_core::model::{Message, PushMessageRequest, TextMessage};
use line_emulator::oauth::AssertionKeyPair;
use line_emulator::{Emulator, EmulatorConfig};
use serde_json::{json, Value};

/// A fresh directory for one test's files, removed when dropped.
struct TempDir(PathBuf);

impl std::ops::Deref for TempDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn dir(test: &str) -> TempDir {
    let d = std::env::temp_dir().join(format!("linectl-accounts-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    TempDir(d)
}

fn write_registry(dir: &Path, accounts: &[Value]) -> PathBuf {
    let path = dir.join("accounts.json");
    std::fs::write(&path, json!({ "accounts": accounts }).to_string()).unwrap();
    path
}

async fn linectl(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_linectl"))
            .args(&args)
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8(out.stdout.clone()).unwrap(),
        String::from_utf8(out.stderr.clone()).unwrap(),
    )
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// Channel `i`: ID `17000000{i:02}`, bot user ID, and secret.
fn channel(i: u32) -> (String, String, String) {
    (
        format!("17000000{i:02}"),
        format!("U{:032x}", 0x2000 + i),
        format!("{:032x}", 0xfeed_0000 + i),
    )
}

fn entry(i: u32, token: Value) -> Value {
    let (id, bot, secret) = channel(i);
    json!({
        "channel_id": id,
        "bot_user_id": bot,
        "name": format!("Store {i}"),
        "channel_secret": secret,
        "token": token,
        "time_zone": "Asia/Tokyo",
        "plan": {"free_messages_per_month": 200, "yen_per_additional_message": 3.0}
    })
}

async fn emulator(quota: Option<u64>) -> Emulator {
    Emulator::start_with(EmulatorConfig::new().rate_limits(false).monthly_quota(quota).friends(2))
        .await
        .unwrap()
}

/// Registers channel `i` with the emulator.
fn register(emu: &Emulator, i: u32) {
    let (id, _, secret) = channel(i);
    emu.register_channel(&id, secret.as_str()).unwrap();
}

/// Registers channel `i` and a fresh assertion key; writes the private key next to
/// the registry and gives the v2.1 `token` object naming it by a relative path.
fn v21_token(emu: &Emulator, dir: &Path, i: u32) -> (Value, String) {
    register(emu, i);
    let pair = AssertionKeyPair::generate();
    let kid = emu.register_public_key(&channel(i).0, pair.public_jwk()).unwrap();
    std::fs::create_dir_all(dir.join("keys")).unwrap();
    std::fs::write(dir.join(format!("keys/{i}.pem")), pair.private_pem()).unwrap();
    (
        json!({"type": "v2.1", "kid": kid, "private_key_file": format!("keys/{i}.pem")}),
        pair.private_pem().to_owned(),
    )
}

/// A line of the PEM body: long enough that finding it means the key leaked.
fn key_marker(pem: &str) -> String {
    pem.lines().nth(2).unwrap().to_owned()
}

#[tokio::test]
async fn list_shows_ids_and_settings_and_never_a_secret() {
    let d = dir("list");
    let pair = AssertionKeyPair::generate();
    let mut stateless = entry(3, json!({"type": "stateless"}));
    stateless["time_zone"] = json!("Europe/Paris");
    stateless["plan"] = json!({"free_messages_per_month": 5000});
    let file = write_registry(
        &d,
        &[
            entry(1, json!({"type": "static", "access_token": "STATIC-TOKEN-abc123"})),
            entry(
                2,
                json!({"type": "v2.1", "kid": "kid-2", "private_key": pair.private_pem()}),
            ),
            stateless,
        ],
    );
    let out = linectl(args(&["accounts", "list", file.to_str().unwrap()])).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines,
        [
            format!("1700000001\t{}\tstatic\tAsia/Tokyo\t200\t3\tStore 1", channel(1).1),
            format!("1700000002\t{}\tv2.1\tAsia/Tokyo\t200\t3\tStore 2", channel(2).1),
            format!(
                "1700000003\t{}\tstateless\tEurope/Paris\t5000\t-\tStore 3",
                channel(3).1
            ),
        ]
    );
    let all = format!("{stdout}{stderr}");
    for i in 1..=3 {
        assert!(!all.contains(&channel(i).2), "secret of {i} printed: {all}");
    }
    assert!(!all.contains("STATIC-TOKEN-abc123"), "{all}");
    assert!(!all.contains(&key_marker(pair.private_pem())), "{all}");
    assert!(!all.contains("kid-2"), "{all}");
}

#[tokio::test]
async fn a_malformed_registry_exits_2_naming_the_entry_and_field() {
    let d = dir("malformed");
    let mut bad = entry(2, json!({"type": "short_lived"}));
    bad["time_zone"] = json!("Mars/Olympus");
    let file = write_registry(&d, &[entry(1, json!({"type": "short_lived"})), bad]);
    for cmd in ["list", "check", "quota"] {
        let out = linectl(args(&["accounts", cmd, file.to_str().unwrap()])).await;
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(2), "{cmd}: {stdout}{stderr}");
        assert!(
            stderr.contains("accounts[1] (channel 1700000002), field `time_zone`"),
            "{cmd}: {stderr}"
        );
        assert!(stdout.is_empty(), "{cmd}: {stdout}");
    }

    // A malformed secret: named, never quoted.
    let mut bad = entry(1, json!({"type": "short_lived"}));
    bad["channel_secret"] = json!("not-a-secret-SHOWN");
    let file = write_registry(&d, &[bad]);
    let out = linectl(args(&["accounts", "check", file.to_str().unwrap()])).await;
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("accounts[0] (channel 1700000001), field `channel_secret`"),
        "{stderr}"
    );
    assert!(!stderr.contains("not-a-secret-SHOWN"), "{stderr}");

    // Not a registry, and no file at all.
    std::fs::write(d.join("not.json"), "{\"accounts\": 3}").unwrap();
    let out = linectl(args(&["accounts", "quota", d.join("not.json").to_str().unwrap()])).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).1.contains("/accounts"), "{}", text(&out).1);
    let out = linectl(args(&["accounts", "list", d.join("missing.json").to_str().unwrap()])).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).1.contains("missing.json"), "{}", text(&out).1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_issues_and_verifies_each_token_and_a_failing_account_exits_1() {
    let d = dir("check");
    let emu = emulator(None).await;
    let (v21, pem) = v21_token(&emu, &d, 1);
    register(&emu, 2);
    register(&emu, 3);
    // Channel 4 is registered with another secret: LINE refuses to issue its token.
    emu.register_channel(&channel(4).0, format!("{:032x}", 0xbad).as_str())
        .unwrap();
    let good = [
        entry(1, v21),
        entry(2, json!({"type": "short_lived"})),
        entry(3, json!({"type": "stateless"})),
    ];
    let file = write_registry(&d, &good);
    let base = emu.base_url().to_owned();
    let out = linectl(args(&[
        "accounts",
        "check",
        file.to_str().unwrap(),
        "--base-url",
        &base,
    ]))
    .await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert!(
        lines[0].starts_with("1700000001\tok\ttoken verified, expires in "),
        "{stdout}"
    );
    assert!(
        lines[1].starts_with("1700000002\tok\ttoken verified, expires in "),
        "{stdout}"
    );
    assert_eq!(lines[2], "1700000003\tok\ttoken accepted by the Messaging API");
    for (i, kind) in [(1, "v2.1"), (2, "short_lived"), (3, "stateless")] {
        let issued = emu.issued_tokens(&channel(i).0);
        assert_eq!(issued.len(), 1, "channel {i}");
        assert_eq!(issued[0].kind, kind);
    }
    // The short-lived token went to `POST /v2/oauth/verify` (the v2.1 one to the GET verify).
    assert_eq!(emu.calls("verifyChannelToken"), 1);

    // Without a monthly limit, each account's quota is unlimited.
    let out = linectl(args(&[
        "accounts",
        "quota",
        file.to_str().unwrap(),
        "--base-url",
        &base,
    ]))
    .await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert_eq!(
        stdout.lines().collect::<Vec<_>>(),
        [
            "1700000001\tunlimited\t0\t-",
            "1700000002\tunlimited\t0\t-",
            "1700000003\tunlimited\t0\t-",
            "total\t0\t0\t0\t3 unlimited, 0 unknown",
        ]
    );

    // Add the failing account and a static token LINE does not know.
    let mut all = good.to_vec();
    all.push(entry(4, json!({"type": "short_lived"})));
    all.push(entry(
        5,
        json!({"type": "static", "access_token": "UNKNOWN-STATIC-TOKEN"}),
    ));
    let file = write_registry(&d, &all);
    let out = linectl(args(&[
        "accounts",
        "check",
        file.to_str().unwrap(),
        "--base-url",
        &base,
    ]))
    .await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 5, "{stdout}");
    assert!(lines[..3].iter().all(|l| l.contains("\tok\t")), "{stdout}");
    assert!(
        lines[3].starts_with("1700000004\tfailed\t")
            && lines[3].contains("channel access token issue failed for channel 1700000004")
            && lines[3].contains("status 400"),
        "{stdout}"
    );
    assert!(
        lines[4].starts_with("1700000005\tfailed\tverifyChannelToken failed with status 400"),
        "{stdout}"
    );
    assert!(stderr.contains("5 accounts, 3 ok, 2 failed"), "{stderr}");
    assert!(emu.issued_tokens(&channel(4).0).is_empty());

    // Nothing secret in what was printed: no channel secret, key, static token, or issued token.
    let printed = format!("{stdout}{stderr}");
    for i in 1..=5 {
        assert!(!printed.contains(&channel(i).2), "secret of {i}: {printed}");
    }
    assert!(!printed.contains("UNKNOWN-STATIC-TOKEN"), "{printed}");
    assert!(!printed.contains(&key_marker(&pem)), "{printed}");
    for word in printed.split(|c: char| c.is_whitespace() || c == ',' || c == ':') {
        assert_eq!(emu.token_channel(word), None, "an issued token was printed: {printed}");
    }
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quota_reports_each_account_and_the_total() {
    let d = dir("quota");
    let emu = emulator(Some(1_000)).await;
    register(&emu, 1);
    register(&emu, 2);
    let file = write_registry(
        &d,
        &[
            entry(1, json!({"type": "short_lived"})),
            entry(2, json!({"type": "stateless"})),
        ],
    );
    // Two messages sent this month (the emulator keeps one quota for all its channels).
    let client = emu.client_builder().build().unwrap();
    for user in emu.follower_ids() {
        let hello: Message = TextMessage::new("hello").into();
        client
            .push_message(PushMessageRequest::new(user.as_str(), vec![hello]))
            .await
            .unwrap();
    }
    assert_eq!(emu.quota_consumption(), 2);
    let base = emu.base_url().to_owned();
    let out = linectl(args(&[
        "accounts",
        "quota",
        file.to_str().unwrap(),
        "--base-url",
        &base,
    ]))
    .await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert_eq!(
        stdout.lines().collect::<Vec<_>>(),
        [
            "1700000001\t1000\t2\t998",
            "1700000002\t1000\t2\t998",
            "total\t2000\t4\t1996\t0 unlimited, 0 unknown",
        ]
    );

    // An account whose quota cannot be read (its channel is unknown to LINE): exit 1, counted unknown.
    let file = write_registry(
        &d,
        &[
            entry(1, json!({"type": "short_lived"})),
            entry(2, json!({"type": "stateless"})),
            entry(3, json!({"type": "short_lived"})),
        ],
    );
    let out = linectl(args(&[
        "accounts",
        "quota",
        file.to_str().unwrap(),
        "--base-url",
        &base,
        "--json",
    ]))
    .await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    let doc: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(
        doc["accounts"][0],
        json!({"channel_id": "1700000001", "limit": 1000, "used": 2, "remaining": 998})
    );
    assert_eq!(doc["accounts"][1]["remaining"], 998);
    assert_eq!(doc["accounts"][2]["channel_id"], "1700000003");
    assert!(
        doc["accounts"][2]["error"]
            .as_str()
            .unwrap()
            .contains("channel access token issue failed for channel 1700000003"),
        "{doc}"
    );
    assert_eq!(
        doc["total"],
        json!({"limit": 2000, "used": 4, "remaining": 1996, "unlimited": 0, "unknown": 1})
    );
    assert!(!stdout.contains(&channel(3).2));
    emu.shutdown().await;
}
