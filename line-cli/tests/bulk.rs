//! `linectl bulk plan|run|report` over a registry file and a campaign file,
//! against the emulator on 127.0.0.1 (each channel sends to users of its own):
//! the tables, a run resumed from its state file, the report, the exit codes, and
//! the per-chunk timeout.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use std::time::Duration;

use line_emulator::faults::{FaultConfig, FaultRule};
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
    let d = std::env::temp_dir().join(format!("linectl-bulk-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    TempDir(d)
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

fn token(i: u32) -> String {
    format!("static-token-{i}-not-printed")
}

fn entry(i: u32) -> Value {
    json!({
        "channel_id": format!("19000000{i:02}"),
        "bot_user_id": format!("U{:032x}", 0x4000 + i),
        "channel_secret": format!("{:032x}", 0xbeef_0000_u64 + u64::from(i)),
        "token": {"type": "static", "access_token": token(i)},
        "plan": {"free_messages_per_month": 200, "yen_per_additional_message": 3.0}
    })
}

/// A registry of two accounts and a campaign where each sends to two users of its own.
fn files(dir: &Path, emu: &Emulator, extra_user: Option<&str>) -> (String, String) {
    let registry = dir.join("accounts.json");
    std::fs::write(&registry, json!({"accounts": [entry(1), entry(2)]}).to_string()).unwrap();
    let users: Vec<String> = emu.follower_ids().iter().map(|u| u.as_str().to_owned()).collect();
    let mut second: Vec<String> = users[2..4].to_vec();
    second.extend(extra_user.map(str::to_owned));
    let campaign = dir.join("campaign.json");
    std::fs::write(
        &campaign,
        json!({
            "messages": [{"type": "text", "text": "Sale starts now"}],
            "audiences": {
                "1900000001": {"user_ids": users[0..2]},
                "1900000002": {"user_ids": second}
            }
        })
        .to_string(),
    )
    .unwrap();
    (registry.display().to_string(), campaign.display().to_string())
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// `bulk run` of a campaign against the emulator at `url`, with its state file and `more` flags.
fn run_args(registry: &str, campaign: &str, url: &str, state: &str, more: &[&str]) -> Vec<String> {
    let mut list = args(&[
        "bulk",
        "run",
        registry,
        "--campaign",
        campaign,
        "--base-url",
        url,
        "--state",
        state,
    ]);
    list.extend(args(more));
    list
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_run_resume_and_report_a_two_account_campaign() {
    let d = dir("run");
    let emu = Emulator::start_with(EmulatorConfig::new().rate_limits(false).friends(4))
        .await
        .unwrap();
    let (registry, campaign) = files(&d, &emu, None);
    let state = d.join("state.sqlite").display().to_string();
    let url = emu.base_url().to_owned();

    let out = linectl(args(&[
        "bulk",
        "plan",
        &registry,
        "--campaign",
        &campaign,
        "--base-url",
        &url,
    ]))
    .await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert_eq!(
        stdout,
        "1900000001\tready\t2\t2\t0\t0\t\n1900000002\tready\t2\t2\t0\t0\t\ntotal\t2 ready, 0 refused, 0 failed\t4\t4\t0\t0\n"
    );
    assert_eq!(emu.delivered_count(), 0, "a plan sends nothing");

    // No approval given: a usage error, nothing sent.
    let run = run_args(&registry, &campaign, &url, &state, &[]);
    let out = linectl(run.clone()).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).1.contains("--approve-all"));
    assert_eq!(emu.delivered_count(), 0);

    let mut approved = run.clone();
    approved.push("--approve-all".into());
    let out = linectl(approved.clone()).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert_eq!(
        stdout,
        "1900000001\tsent\t2\t2\t0\t0\t0\t\n1900000002\tsent\t2\t2\t0\t0\t0\t\n\
         total\t2 sent, 0 incomplete, 0 skipped\t4\t4\t0\t0\t0\n"
    );
    for u in emu.follower_ids() {
        assert_eq!(emu.messages(&u).len(), 1);
    }
    assert_eq!(emu.calls("multicast"), 2);

    // The same command again resumes the finished run: nothing is sent again.
    let out = linectl(run.clone()).await;
    let (again, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{again}{stderr}");
    assert!(stderr.contains("resuming run campaign-"), "{stderr}");
    assert_eq!(again, stdout);
    assert_eq!(emu.calls("multicast"), 2);

    let out = linectl(args(&["bulk", "report", "--state", &state])).await;
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out).0, stdout);
    let all = format!("{stdout}{stderr}");
    for i in 1..=2 {
        assert!(!all.contains(&token(i)));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunk_line_rejects_is_reported_and_exits_1() {
    let d = dir("fail");
    let emu = Emulator::start_with(EmulatorConfig::new().rate_limits(false).friends(4))
        .await
        .unwrap();
    let (registry, campaign) = files(&d, &emu, Some("Unot-a-user"));
    let state = d.join("state.sqlite").display().to_string();
    let url = emu.base_url().to_owned();
    let out = linectl(run_args(
        &registry,
        &campaign,
        &url,
        &state,
        &["--run", "may", "--max-yen", "100", "--chunk-size", "2"],
    ))
    .await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], "1900000001\tsent\t2\t2\t0\t0\t0\t");
    assert_eq!(lines[1], "1900000002\tincomplete\t3\t2\t1\t0\t0\t");
    let failed: Vec<&str> = lines[2].split('\t').collect();
    assert_eq!(&failed[..5], &["1900000002", "failed-chunk", "1", "1", "400"]);
    assert!(
        !failed[5].is_empty() && failed[5] != "-",
        "LINE's request ID: {}",
        lines[2]
    );
    assert!(failed[6].contains("to[0]"), "{}", lines[2]);
    assert!(stderr.contains("run may: 1 accounts incomplete"), "{stderr}");

    let out = linectl(args(&["bulk", "report", "--state", &state, "--run", "may"])).await;
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out).0, stdout);
    let out = linectl(args(&["bulk", "report", "--state", &state, "--run", "june"])).await;
    assert_eq!(out.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunk_that_times_out_is_unknown_and_the_next_run_sends_it_once() {
    let d = dir("timeout");
    // Every multicast answers after 3 s; `--request-timeout 1` gives up before.
    let slow = FaultConfig::none().with_endpoint("multicast", FaultRule::new().latency(Duration::from_secs(3)));
    let emu = Emulator::start_with(EmulatorConfig::new().rate_limits(false).friends(4).faults(slow))
        .await
        .unwrap();
    let (registry, campaign) = files(&d, &emu, None);
    let state = d.join("state.sqlite").display().to_string();
    let url = emu.base_url().to_owned();
    let run = run_args(
        &registry,
        &campaign,
        &url,
        &state,
        &["--run", "slow", "--approve-all", "--request-timeout", "1"],
    );
    let out = linectl(run.clone()).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    for channel in ["1900000001", "1900000002"] {
        let account = lines
            .iter()
            .find(|l| l.starts_with(&format!("{channel}\tincomplete\t")));
        assert!(
            account.is_some_and(|l| l.ends_with("2 unknown (timed out or answer lost): run again")),
            "{stdout}"
        );
        let chunk = lines
            .iter()
            .find(|l| l.starts_with(&format!("{channel}\tunknown-chunk\t0\t2\t")));
        assert!(chunk.is_some_and(|l| l.contains("timed out")), "{stdout}");
    }

    // LINE answers in time again: the next run resends each chunk with its retry key,
    // and every user has the message once, whether the first attempt got through or not.
    emu.set_faults(FaultConfig::none()).unwrap();
    let out = linectl(run).await;
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.starts_with("1900000001\tsent\t2\t2\t"), "{stdout}");
    assert!(stdout.contains("\n1900000002\tsent\t2\t2\t"), "{stdout}");
    // Let any first attempt still held by the emulator land before counting.
    tokio::time::sleep(Duration::from_secs(3)).await;
    for u in emu.follower_ids() {
        assert_eq!(emu.messages(&u).len(), 1, "{u:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_campaign_file_exits_2_naming_the_pointer() {
    let d = dir("bad");
    let registry = d.join("accounts.json");
    std::fs::write(&registry, json!({"accounts": [entry(1)]}).to_string()).unwrap();
    let campaign = d.join("campaign.json");
    std::fs::write(
        &campaign,
        r#"{"messages": [{"type": "text", "text": "hi"}], "audiences": {"1900000001": {"user_ids": ["U1", ""]}}}"#,
    )
    .unwrap();
    let out = linectl(args(&[
        "bulk",
        "plan",
        &registry.display().to_string(),
        "--campaign",
        &campaign.display().to_string(),
    ]))
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out).1,
        "error: invalid campaign, field `/audiences/1900000001/user_ids/1`: a user ID is empty\n"
    );
    let out = linectl(args(&[
        "bulk",
        "report",
        "--state",
        &d.join("none.sqlite").display().to_string(),
    ]))
    .await;
    assert_eq!(out.status.code(), Some(2));
}
