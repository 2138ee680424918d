//! Helpers shared by the integration tests.
#![allow(dead_code)]

use line_core::client::Client;
use line_core::ratelimit::RateLimiter;
use line_core::retry::RetryPolicy;
use line_emulator::{ChannelHandle, Emulator, EmulatorConfig};

/// An emulator with `config` and a client of its default channel without retries or
/// client-side limits.
pub async fn start(config: EmulatorConfig) -> (Emulator, Client) {
    let emu = Emulator::start_with(config).await.expect("emulator starts");
    let client = client(&emu.default_channel());
    (emu, client)
}

/// A client of `channel` without retries or client-side limits.
pub fn client(channel: &ChannelHandle) -> Client {
    channel
        .client_builder()
        .retry_policy(RetryPolicy::none())
        .rate_limiter(RateLimiter::disabled())
        .build()
        .expect("client builds")
}

/// The `ApiError` of a failed call.
pub fn api(err: &line_core::Error) -> &line_core::ApiError {
    err.api()
        .unwrap_or_else(|| panic!("expected an API error, got {err:?}"))
}

/// The header of a PNG of `w`×`h` (enough for the emulator, which reads only the header).
pub fn png(w: u32, h: u32) -> Vec<u8> {
    let mut v = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13];
    v.extend_from_slice(b"IHDR");
    v.extend_from_slice(&w.to_be_bytes());
    v.extend_from_slice(&h.to_be_bytes());
    v.extend_from_slice(&[8, 2, 0, 0, 0, 0, 0, 0, 0]);
    v.extend_from_slice(&[0; 12]);
    v
}
