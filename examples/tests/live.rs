//! The `--live` code path (dry run first, send only when asked), pointed at
//! the emulator instead of LINE: no network beyond 127.0.0.1.

use line_emulator::{Emulator, EmulatorConfig};
use line_examples::live::{run_with, LiveOptions};

#[tokio::test]
async fn the_dry_run_validates_everything_and_delivers_nothing() {
    let emu = Emulator::start_with(EmulatorConfig::new().friends(1).monthly_quota(Some(100)))
        .await
        .unwrap();
    let client = emu.client_builder().build().unwrap();
    let mut out = Vec::new();
    let summary = run_with(&mut out, &client, &LiveOptions::default()).await.unwrap();
    assert_eq!(summary.validated, 3);
    assert_eq!(summary.pushed, 0);
    assert_eq!(emu.delivered_count(), 0);
    assert_eq!(emu.quota_consumption(), 0);
    assert_eq!(emu.calls("validatePush"), 2);
    assert_eq!(emu.calls("validateNarrowcast"), 1);
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("quota: 0 used of 100 this month, 100 left"), "{text}");
    assert!(text.contains("dry run only"), "{text}");
}

#[tokio::test]
async fn send_pushes_the_greeting_to_the_one_user_only() {
    let emu = Emulator::start_with(EmulatorConfig::new().friends(2)).await.unwrap();
    let client = emu.client_builder().build().unwrap();
    let users = emu.follower_ids();
    let mut out = Vec::new();
    let options = LiveOptions::new(true, Some(users[0].clone()));
    let summary = run_with(&mut out, &client, &options).await.unwrap();
    assert_eq!(summary.pushed, 2);
    let inbox: Vec<String> = emu
        .messages(&users[0])
        .iter()
        .map(|m| m.message.kind().to_owned())
        .collect();
    assert_eq!(inbox, ["text", "flex"]);
    assert!(emu.messages(&users[1]).is_empty());
}

#[tokio::test]
async fn send_without_a_recipient_is_refused_before_any_call() {
    let env = line_examples::live::LiveEnv::from_lookup(|_| Some("not-a-real-value".into())).unwrap();
    let mut out = Vec::new();
    let err = line_examples::live::run(&mut out, &env, &LiveOptions::new(true, None))
        .await
        .unwrap_err();
    assert!(matches!(err.kind(), line_examples::ErrorKind::Config { field, .. } if field == "--to"));
    assert!(!err.to_string().contains("not-a-real-value"));
    assert!(out.is_empty());
}
