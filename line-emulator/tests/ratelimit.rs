//! The emulator counts LINE's rate limits itself: per channel (bearer token)
//! and per endpoint, in a strict window of emulated time.

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use line_core::clock::ManualClock;
use line_emulator::{Emulator, EmulatorConfig};
use serde_json::Value;

const RATE_LIMIT_MESSAGE: &str = "The API rate limit has been exceeded. Try again later.";

/// GETs `path` with `token`; returns the status and the JSON answer.
async fn get(emu: &Emulator, token: &str, path: &str) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .get(format!("{}{path}", emu.base_url()))
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await
        .expect("the emulator answers");
    let status = resp.status().as_u16();
    let bytes = resp.bytes().await.expect("a body");
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

#[tokio::test]
async fn each_channel_has_its_own_window_per_endpoint() {
    let clock = ManualClock::new("2026-05-01T00:00:00Z".parse::<Timestamp>().unwrap());
    let emu = Emulator::start_with(EmulatorConfig::new().clock(Arc::new(clock.clone())))
        .await
        .unwrap();
    // The rich-menu list allows 10 requests a second.
    for _ in 0..10 {
        assert_eq!(get(&emu, "channel-a", "/v2/bot/richmenu/list").await.0, 200);
    }
    let (status, answer) = get(&emu, "channel-a", "/v2/bot/richmenu/list").await;
    assert_eq!(status, 429);
    assert_eq!(answer["message"], RATE_LIMIT_MESSAGE);
    // Another endpoint of the same channel, and the same endpoint of another channel, are not counted with it.
    assert_eq!(get(&emu, "channel-a", "/v2/bot/info").await.0, 200);
    for _ in 0..10 {
        assert_eq!(get(&emu, "channel-b", "/v2/bot/richmenu/list").await.0, 200);
    }
    assert_eq!(get(&emu, "channel-b", "/v2/bot/richmenu/list").await.0, 429);
    // Refused requests do not count: once the window has passed, all ten slots are free again.
    clock.advance(SignedDuration::from_millis(999));
    assert_eq!(get(&emu, "channel-a", "/v2/bot/richmenu/list").await.0, 429);
    clock.advance(SignedDuration::from_millis(1));
    for _ in 0..10 {
        assert_eq!(get(&emu, "channel-a", "/v2/bot/richmenu/list").await.0, 200);
    }
    let (status, answer) = get(&emu, "channel-a", "/v2/bot/richmenu/list").await;
    assert_eq!((status, answer["message"].as_str()), (429, Some(RATE_LIMIT_MESSAGE)));
}

#[tokio::test]
async fn the_hourly_broadcast_window_refuses_the_61st_request_until_the_scaled_hour_has_passed() {
    let clock = ManualClock::new("2026-05-01T00:00:00Z".parse::<Timestamp>().unwrap());
    // At time scale 0.001 LINE's hour lasts 3.6 s of emulated time.
    let emu = Emulator::start_with(
        EmulatorConfig::new()
            .friends(1)
            .time_scale(0.001)
            .clock(Arc::new(clock.clone())),
    )
    .await
    .unwrap();
    let http = reqwest::Client::new();
    let send = || async {
        let resp = http
            .post(format!("{}/v2/bot/message/broadcast", emu.base_url()))
            .header("authorization", "Bearer t")
            .header("content-type", "application/json")
            .body(r#"{"messages":[{"type":"text","text":"hi"}]}"#)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let body: Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap_or(Value::Null);
        (status, body)
    };
    for i in 0..60 {
        clock.advance(SignedDuration::from_millis(10));
        assert_eq!(send().await.0, 200, "request {i}");
    }
    let (status, body) = send().await;
    assert_eq!((status, body["message"].as_str()), (429, Some(RATE_LIMIT_MESSAGE)));
    assert_eq!(emu.delivered_count(), 60);
    // The first request was at 10 ms; its slot frees at 3,610 ms, and only that one.
    clock.advance(SignedDuration::from_millis(3_610 - 600 - 1));
    assert_eq!(send().await.0, 429);
    clock.advance(SignedDuration::from_millis(1));
    assert_eq!(send().await.0, 200);
    assert_eq!(send().await.0, 429);
    assert_eq!(emu.delivered_count(), 61);
}
