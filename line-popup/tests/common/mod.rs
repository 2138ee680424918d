#![allow(dead_code)]

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use line_core::clock::ManualClock;
use line_popup::{Banner, Campaign, Device, PopupConfig, PopupEngine, PopupStore, VisitorContext};

/// Friday 2026-05-01 12:00 in Tokyo.
pub fn start() -> Timestamp {
    "2026-05-01T03:00:00Z".parse().unwrap()
}

pub fn campaign(id: &str) -> Campaign {
    Campaign::new(id, vec![Banner::new("a", "Add us on LINE")])
}

pub fn engine_with(config: PopupConfig, store: Arc<dyn PopupStore>) -> (PopupEngine, ManualClock) {
    let clock = ManualClock::new(start());
    let engine = PopupEngine::builder(config, store, Arc::new(clock.clone()))
        .build()
        .unwrap();
    (engine, clock)
}

pub fn engine(config: PopupConfig) -> (PopupEngine, ManualClock) {
    engine_with(config, Arc::new(line_popup::InMemoryStore::new()))
}

pub fn view(visitor: &str) -> VisitorContext {
    VisitorContext::new(visitor, "s1", "/products/42", Device::Mobile)
}

pub fn mins(n: i64) -> SignedDuration {
    SignedDuration::from_mins(n)
}

pub fn days(n: i64) -> SignedDuration {
    SignedDuration::from_hours(24 * n)
}
