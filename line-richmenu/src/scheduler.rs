//! Waiting between polls of a rich-menu batch job.

use async_trait::async_trait;
use jiff::SignedDuration;
use line_core::clock::ManualClock;

/// How the crate waits for delayed work (polling a batch job's progress).
#[async_trait]
pub trait Scheduler: Send + Sync {
    /// Returns after `delay`.
    async fn sleep(&self, delay: SignedDuration);
}

/// Waits with `tokio::time::sleep`.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioScheduler;

#[async_trait]
impl Scheduler for TokioScheduler {
    async fn sleep(&self, delay: SignedDuration) {
        let d = std::time::Duration::try_from(delay).unwrap_or_default();
        tokio::time::sleep(d).await;
    }
}

/// The in-memory scheduler for tests: moves a [`ManualClock`] forward instead of waiting.
#[derive(Debug, Clone)]
pub struct ManualScheduler {
    clock: ManualClock,
    sleeps: std::sync::Arc<std::sync::atomic::AtomicU32>,
}

impl ManualScheduler {
    /// A scheduler that advances `clock`.
    pub fn new(clock: ManualClock) -> Self {
        Self {
            clock,
            sleeps: Default::default(),
        }
    }

    /// How many times it was asked to wait.
    pub fn sleeps(&self) -> u32 {
        self.sleeps.load(std::sync::atomic::Ordering::SeqCst)
    }
}

#[async_trait]
impl Scheduler for ManualScheduler {
    async fn sleep(&self, delay: SignedDuration) {
        self.sleeps.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.clock.advance(delay);
    }
}
