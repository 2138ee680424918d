//! A thousand channels of a thousand friends each fit in one process. Its own test binary
//! (one test), so that the resident-memory reading sees no other test's allocations.

use line_emulator::{ChannelSpec, Emulator, EmulatorConfig};

/// Resident memory of this process in bytes (Linux; `None` elsewhere).
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

#[tokio::test]
async fn a_thousand_channels_of_a_thousand_friends() {
    const CHANNELS: usize = 1_000;
    const FRIENDS: usize = 1_000;
    let emu = Emulator::start_with(EmulatorConfig::new().rate_limits(false))
        .await
        .unwrap();
    let before = resident_bytes();
    for _ in 0..CHANNELS {
        emu.add_channel(ChannelSpec::new().friends(FRIENDS)).unwrap();
    }
    let after = resident_bytes();
    let channels = emu.channels();
    assert_eq!(channels.len(), CHANNELS);
    assert!(channels.iter().all(|c| c.follower_ids().len() == FRIENDS));
    let mut bots: Vec<&str> = channels.iter().map(|c| c.bot_user_id()).collect();
    bots.sort_unstable();
    bots.dedup();
    assert_eq!(bots.len(), CHANNELS);
    if let (Some(before), Some(after)) = (before, after) {
        let per_friend = after.saturating_sub(before) / (CHANNELS * FRIENDS) as u64;
        eprintln!("resident memory per friend: {per_friend} bytes");
        // A simulated friend is a profile of a few short strings: well under a kilobyte.
        assert!(per_friend < 1_024, "{per_friend} bytes per friend");
    }
}
