//! What the integration tests share: an emulator on a manual clock, and accounts
//! registered with it.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use line_accounts::{
    Account, Accounts, BotUserId, ChannelId, InMemoryRegistry, MessagePlan, PrivateKey, Settings, TokenConfig,
};
use line_core::clock::ManualClock;
use line_emulator::oauth::AssertionKeyPair;
use line_emulator::{Emulator, EmulatorConfig};

pub fn start() -> jiff::Timestamp {
    "2026-05-01T00:00:00Z".parse().unwrap()
}

pub async fn emulator(clock: &ManualClock) -> Emulator {
    Emulator::start_with(
        EmulatorConfig::new()
            .clock(Arc::new(clock.clone()))
            .rate_limits(false)
            .friends(2),
    )
    .await
    .unwrap()
}

pub fn hex32(n: u128) -> String {
    format!("{n:032x}")
}

/// Channel `i`: ID `16000000{i:02}`, bot `U{i:032x}`, secret `{i+0xabc:032x}`.
pub fn channel(i: u32) -> (ChannelId, BotUserId, String) {
    (
        ChannelId::new(format!("16000000{i:02}")).unwrap(),
        BotUserId::new(format!("U{:032x}", u128::from(i) + 0x1000)).unwrap(),
        hex32(u128::from(i) + 0xabc),
    )
}

pub fn settings() -> Settings {
    Settings::new("Asia/Tokyo", MessagePlan::new(200, None).unwrap()).unwrap()
}

/// Registers channel `i` with the emulator and gives its account with `token`.
pub fn account(emu: &Emulator, i: u32, token: TokenConfig) -> Account {
    let (id, bot, secret) = channel(i);
    emu.register_channel(id.as_str(), secret.as_str()).unwrap();
    Account::new(id, bot, secret.into(), token, settings()).unwrap()
}

/// Registers channel `i` and a fresh assertion key; the account uses v2.1 tokens of `lifetime`.
pub fn v21_account(emu: &Emulator, i: u32, lifetime: Duration) -> Account {
    let (id, _, secret) = channel(i);
    emu.register_channel(id.as_str(), secret.as_str()).unwrap();
    let pair = AssertionKeyPair::generate();
    let kid = emu.register_public_key(id.as_str(), pair.public_jwk()).unwrap();
    let token = TokenConfig::V21 {
        kid,
        private_key: PrivateKey::from_pem(pair.private_pem()).unwrap(),
        lifetime,
    };
    account(emu, i, token)
}

pub fn accounts(emu: &Emulator, clock: &ManualClock) -> Accounts {
    Accounts::builder(Arc::new(InMemoryRegistry::new()))
        .base_url(emu.base_url())
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap()
}
