//! The tour's sending bot is killed (SIGKILL) in the middle of sending and restarted on
//! the same SQLite file: every friend gets the coupon exactly once, and the restarted run
//! knows which pushes the first one got through.
//!
//! The emulator runs in this test process, so its inbox outlives the bot. The bot is a
//! child process: this test binary again, running the same function the tour runs with
//! `--emulator URL --store sqlite:PATH` ([`line_examples::deliver::deliver`]).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use line_emulator::{Emulator, EmulatorConfig, FaultConfig, FaultRule};
use line_examples::deliver::{coupon, deliver, DeliverOptions};
use line_examples::stores::StoreUrl;

const TEST: &str = "the_sending_bot_killed_mid_send_and_restarted_on_its_sqlite_file_sends_each_coupon_once";
const CHILD_API: &str = "LINE_TOUR_CRASH_TEST_API";
const CHILD_STORE: &str = "LINE_TOUR_CRASH_TEST_STORE";
const FRIENDS: usize = 120;

/// One run of the bot in a child process, writing its output to stdout.
fn spawn_bot(api: &str, store: &str) -> std::process::Child {
    Command::new(std::env::current_exe().expect("the test binary"))
        .args([TEST, "--exact", "--nocapture", "--test-threads", "1"])
        .env(CHILD_API, api)
        .env(CHILD_STORE, store)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the bot process starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sending_bot_killed_mid_send_and_restarted_on_its_sqlite_file_sends_each_coupon_once() {
    // In the child: be the bot.
    if let (Ok(api), Ok(store)) = (std::env::var(CHILD_API), std::env::var(CHILD_STORE)) {
        let store: StoreUrl = store.parse().expect("a store URL");
        let mut out = Vec::new();
        let totals = deliver(&mut out, &DeliverOptions::new(api, store)).await;
        print!("{}", String::from_utf8_lossy(&out));
        let totals = totals.expect("the sending bot runs");
        println!("BOT-TOTALS {} {} {}", totals.recipients, totals.sent, totals.duplicates);
        return;
    }

    // Every push waits 25 ms in the emulator, so a run takes a few seconds and the kill
    // lands in the middle of it.
    let faults = FaultConfig::none().with_endpoint("pushMessage", FaultRule::new().latency(Duration::from_millis(25)));
    let emu = Emulator::start_with(EmulatorConfig::new().faults(faults))
        .await
        .expect("the emulator starts");
    emu.add_friends(FRIENDS);
    let friends = emu.follower_ids();
    assert!(friends.len() >= FRIENDS, "the emulator has {} friends", friends.len());

    let dir = std::env::temp_dir().join(format!("line-tour-crash-{:016x}", rand_u64()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let file = dir.join("bot.sqlite");
    let store = format!("sqlite:{}", file.display());

    // First run: killed with SIGKILL once some pushes are in, long before all are.
    let mut first = spawn_bot(emu.base_url(), &store);
    let deadline = Instant::now() + Duration::from_secs(120);
    let kill_after = friends.len() / 4;
    while emu.delivered_count() < kill_after {
        if let Ok(Some(status)) = first.try_wait() {
            let out = first.wait_with_output().expect("output");
            panic!(
                "the first run ended ({status}) before the kill:\n{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        assert!(Instant::now() < deadline, "the first run sent nothing in time");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    first.kill().expect("SIGKILL the bot"); // std's kill is SIGKILL on Unix
    let status = first.wait().expect("the killed bot is reaped");
    assert!(!status.success(), "the bot was killed, not finished: {status}");
    // Requests that were in flight are finished (or dropped) by the emulator now.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after_kill = emu.delivered_count();
    assert!(
        after_kill >= kill_after && after_kill < friends.len(),
        "the kill must land mid-send: {after_kill} of {} delivered",
        friends.len()
    );

    // Second run on the same file: finishes, and knows what the first one sent.
    let second = spawn_bot(emu.base_url(), &store)
        .wait_with_output()
        .expect("the second run");
    let stdout = String::from_utf8_lossy(&second.stdout);
    assert!(
        second.status.success(),
        "the restarted bot failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&second.stderr)
    );
    let totals: Vec<usize> = stdout
        .lines()
        .find_map(|l| l.split_once("BOT-TOTALS ").map(|(_, v)| v.to_owned()))
        .expect("the restarted bot reports its totals")
        .split(' ')
        .map(|n| n.parse().expect("a number"))
        .collect();
    let (recipients, sent, duplicates) = (totals[0], totals[1], totals[2]);
    assert_eq!(recipients, friends.len());
    assert_eq!(
        duplicates, after_kill,
        "every push of the killed run is recognised (409 for its stored retry key)"
    );
    assert_eq!(sent + duplicates, friends.len(), "the restarted run sends the rest");

    // The inbox: every friend got their coupon exactly once; nothing else was sent.
    for u in &friends {
        let got: Vec<_> = emu
            .messages(u)
            .into_iter()
            .filter(|m| m.operation == "pushMessage")
            .collect();
        assert_eq!(got.len(), 1, "{u} got {} coupons", got.len());
        let expected = serde_json::to_value(coupon(u)).expect("json");
        let actual = serde_json::to_value(&*got[0].message).expect("json");
        assert_eq!(actual, expected, "{u} got their own coupon");
    }
    assert_eq!(
        emu.delivered_count(),
        friends.len(),
        "no duplicate and no stray message"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish()
}
