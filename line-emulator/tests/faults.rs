//! Fault injection, and the fan-out that survives it.

mod common;

use std::time::Duration;

use common::start;
use line_core::model::{Message, PushMessageRequest, TextMessage};
use line_core::ratelimit::RateLimiter;
use line_core::retry::RetryPolicy;
use line_core::{ErrorKind, RetryKey, UserId};
use line_emulator::{EmulatorConfig, FaultConfig, FaultRule};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multicast_to_100k_under_faults_delivers_exactly_once() {
    let faults = FaultConfig::none().with_seed(2026).with_endpoint(
        "multicast",
        FaultRule::new()
            .error_rate(0.05)
            .rate_limit_rate(0.05)
            .lost_response_rate(0.01),
    );
    // The emulator and the client run LINE's limits at the same time scale (a 10 ms window for
    // multicast's 200/s), so the client's pacing must keep within the emulator's strict window.
    let (emu, _) = start(EmulatorConfig::new().friends(100_000).faults(faults).time_scale(0.01)).await;
    let client = emu
        .client_builder()
        .retry_policy(
            RetryPolicy::default()
                .with_max_attempts(30)
                .with_base_delay(Duration::from_millis(1))
                .with_max_delay(Duration::from_millis(20)),
        )
        .rate_limiter(RateLimiter::line_defaults().with_time_scale(0.01))
        .build()
        .unwrap();
    let users: Vec<UserId> = emu.follower_ids();
    assert_eq!(users.len(), 100_000);
    let messages: Vec<Message> = vec![TextMessage::new("Sale starts now").into()];

    let report = client.fan_out().multicast(&messages, &users).await.unwrap();

    assert_eq!(report.recipients, 100_000);
    assert_eq!(
        report.failed_recipients,
        0,
        "{:?}",
        report.chunks.iter().find(|c| c.outcome.is_err())
    );
    assert_eq!(report.accepted_recipients, 100_000);
    for u in &users {
        let inbox = emu.messages(u);
        assert_eq!(inbox.len(), 1, "user {} got {} copies", u.as_str(), inbox.len());
    }
    assert_eq!(emu.delivered_count(), 100_000);

    let counts = emu.fault_counts();
    let duplicates = report
        .chunks
        .iter()
        .filter(|c| c.outcome.as_ref().is_ok_and(|a| a.duplicate))
        .count() as u64;
    assert!(counts.errors > 0 && counts.rate_limits > 0, "{counts:?}");
    // Every lost acceptance was retried with its key and answered 409; a chunk
    // whose 409 was itself lost counts once.
    assert!(duplicates <= counts.lost_responses, "{duplicates} > {counts:?}");
    assert_eq!(duplicates > 0, counts.lost_responses > 0, "{duplicates} vs {counts:?}");
    assert!(emu.calls("multicast") >= 200 + counts.errors + counts.rate_limits);
}

#[tokio::test]
async fn a_lost_response_is_delivered_and_its_retry_key_answers_409() {
    let lost = FaultConfig::none().with_endpoint("pushMessage", FaultRule::new().lost_response_rate(1.0));
    let (emu, client) = start(EmulatorConfig::new().friends(1).faults(lost)).await;
    let alice = emu.users()[0].user_id.clone();
    let req = PushMessageRequest::new(alice.as_str(), vec![TextMessage::new("hello").into()]);
    let key = RetryKey::new();
    let err = client.push_message(&req).retry_key(key).await.unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Connection { .. } | ErrorKind::Timeout { .. }),
        "{err:?}"
    );
    assert_eq!(emu.messages(&alice).len(), 1, "accepted before the answer was lost");
    emu.set_faults(FaultConfig::none()).unwrap();
    let again = client.push_message(&req).retry_key(key).await.unwrap();
    assert!(again.body.is_duplicate());
    assert_eq!(
        again.accepted_request_id.as_ref(),
        Some(&emu.messages(&alice)[0].request_id)
    );
    assert_eq!(emu.messages(&alice).len(), 1);
}

#[tokio::test]
async fn errors_rate_limits_and_timeouts_are_not_delivered() {
    let (emu, client) = start(EmulatorConfig::new().friends(1)).await;
    let alice = emu.users()[0].user_id.clone();
    let req = PushMessageRequest::new(alice.as_str(), vec![TextMessage::new("x").into()]);

    emu.set_faults(FaultConfig::none().with_default(FaultRule::new().error_rate(1.0)))
        .unwrap();
    let err = client.push_message(&req).await.unwrap_err();
    assert_eq!(err.api().map(|a| a.status), Some(500));

    emu.set_faults(FaultConfig::none().with_default(FaultRule::new().rate_limit_rate(1.0)))
        .unwrap();
    let err = client.push_message(&req).await.unwrap_err();
    let a = err.api().unwrap();
    assert_eq!(a.status, 429);
    assert_eq!(a.too_many_requests, Some(line_core::TooManyRequests::RateLimit));

    emu.set_faults(FaultConfig::none().with_default(FaultRule::new().timeout_rate(1.0, Duration::from_secs(5))))
        .unwrap();
    let impatient = emu
        .client_builder()
        .timeout(Duration::from_millis(200))
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let err = impatient.push_message(&req).await.unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Timeout { .. }), "{err:?}");

    assert!(emu.messages(&alice).is_empty());
    let counts = emu.fault_counts();
    assert_eq!(counts.timeouts, 1);
}

#[tokio::test]
async fn latency_is_added_per_endpoint() {
    let slow = FaultConfig::none().with_endpoint("getBotInfo", FaultRule::new().latency(Duration::from_millis(150)));
    let (emu, client) = start(EmulatorConfig::new().faults(slow)).await;
    let t0 = std::time::Instant::now();
    client.get_bot_info().await.unwrap();
    assert!(t0.elapsed() >= Duration::from_millis(150));
    assert_eq!(emu.faults().endpoints["getBotInfo"].latency_ms, 150);
    assert_eq!(emu.faults().default.latency_ms, 0);
}

#[tokio::test]
async fn the_emulators_rate_limit_answers_429_and_refills_in_scaled_emulated_time() {
    use jiff::{SignedDuration, Timestamp};
    let clock = line_core::clock::ManualClock::new("2026-05-01T00:00:00Z".parse::<Timestamp>().unwrap());
    // Rich-menu list: 10/s, enforced as a sliding window; at time scale 0.5 the window is 500 ms.
    let config = EmulatorConfig::new()
        .time_scale(0.5)
        .clock(std::sync::Arc::new(clock.clone()));
    let (emu, client) = start(config).await;
    for _ in 0..10 {
        client.get_rich_menu_list().await.unwrap();
    }
    let err = client.get_rich_menu_list().await.unwrap_err();
    assert_eq!(
        err.api().unwrap().message,
        "The API rate limit has been exceeded. Try again later."
    );
    assert_eq!(
        err.api().unwrap().too_many_requests,
        Some(line_core::TooManyRequests::RateLimit)
    );
    // Nothing comes back before the window has passed (a token bucket would refill one every 50 ms).
    clock.advance(SignedDuration::from_millis(499));
    assert!(client.get_rich_menu_list().await.is_err());
    // Then the whole window's slots are free again, and no more.
    clock.advance(SignedDuration::from_millis(1));
    for _ in 0..10 {
        client.get_rich_menu_list().await.unwrap();
    }
    assert!(client.get_rich_menu_list().await.is_err());
    assert_eq!(emu.calls("getRichMenuList"), 23);
}

#[tokio::test]
async fn a_huge_time_scale_makes_long_windows_instead_of_panicking() {
    let (emu, client) = start(EmulatorConfig::new().time_scale(1e300)).await;
    for _ in 0..10 {
        client.get_rich_menu_list().await.unwrap();
    }
    assert_eq!(
        client.get_rich_menu_list().await.unwrap_err().api().unwrap().status,
        429
    );
    drop(emu);
}
