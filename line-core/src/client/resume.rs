//! Retry keys that outlive the process, so that a send run resumed after a
//! crash delivers nothing twice.
//!
//! [`FanOut::push_each`](super::FanOut::push_each) with
//! [`FanOut::resumable`](super::FanOut::resumable) makes one key per recipient
//! and stores them all through a [`RetryKeyStore`] before its first request. A
//! re-run of the same run (same name) gets the stored keys back, so every push
//! LINE took the first time answers 409 instead of being delivered again.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::error::{Error, ErrorKind};
use crate::ids::RetryKey;

/// A host store of the retry keys of send runs: `(run, recipient) -> key`.
///
/// Its one write is atomic per entry ("keep the key stored first"), so two
/// processes resuming the same run at once still agree on every key: Redis
/// (`HSETNX` then `HMGET` in one script), SQL (`INSERT … ON CONFLICT DO NOTHING`
/// then a `SELECT`) or the bundled [`InMemoryRetryKeyStore`]. Implementations can
/// run `line_core::testing::retry_key_store_conformance` (feature `testing`) on
/// themselves.
#[async_trait]
pub trait RetryKeyStore: Send + Sync {
    /// For each `(recipient, proposed key)` of run `run`, in order: the key
    /// stored earlier for that recipient of that run, or else the proposed key,
    /// which is stored before this returns. The recipients of one call are
    /// distinct.
    async fn keys(&self, run: &str, proposed: &[(&str, RetryKey)]) -> Result<Vec<RetryKey>, Error>;

    /// Forgets every key of run `run` (once it is finished, or to start it
    /// over as a new send). Forgetting an unknown run is not an error.
    async fn forget_run(&self, run: &str) -> Result<(), Error>;
}

#[async_trait]
impl<T: RetryKeyStore + ?Sized> RetryKeyStore for Arc<T> {
    async fn keys(&self, run: &str, proposed: &[(&str, RetryKey)]) -> Result<Vec<RetryKey>, Error> {
        (**self).keys(run, proposed).await
    }

    async fn forget_run(&self, run: &str) -> Result<(), Error> {
        (**self).forget_run(run).await
    }
}

/// A [`RetryKeyStore`] in process memory: it survives a failed run or an
/// aborted task, not a crash of the process. For tests, and for runs whose
/// crash recovery is a retry within the same process.
#[derive(Default)]
pub struct InMemoryRetryKeyStore {
    runs: Mutex<Runs>,
}

/// Keys by run, then by recipient.
type Runs = HashMap<String, HashMap<String, RetryKey>>;

impl InMemoryRetryKeyStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many keys run `run` holds.
    pub fn len(&self, run: &str) -> usize {
        self.lock().map_or(0, |runs| runs.get(run).map_or(0, HashMap::len))
    }

    /// Whether run `run` holds no key.
    pub fn is_empty(&self, run: &str) -> bool {
        self.len(run) == 0
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Runs>, Error> {
        self.runs.lock().map_err(|_| {
            Error::new(ErrorKind::Store {
                operation: "retry key store: a writer panicked".into(),
            })
        })
    }
}

impl fmt::Debug for InMemoryRetryKeyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let runs = self.lock().map(|r| r.len()).unwrap_or(0);
        f.debug_struct("InMemoryRetryKeyStore").field("runs", &runs).finish()
    }
}

#[async_trait]
impl RetryKeyStore for InMemoryRetryKeyStore {
    async fn keys(&self, run: &str, proposed: &[(&str, RetryKey)]) -> Result<Vec<RetryKey>, Error> {
        let mut runs = self.lock()?;
        let keys = runs.entry(run.to_owned()).or_default();
        Ok(proposed
            .iter()
            .map(|(recipient, key)| *keys.entry((*recipient).to_owned()).or_insert(*key))
            .collect())
    }

    async fn forget_run(&self, run: &str) -> Result<(), Error> {
        self.lock()?.remove(run);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trait_is_object_safe_and_the_store_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<InMemoryRetryKeyStore>();
        let store: Arc<dyn RetryKeyStore> = Arc::new(InMemoryRetryKeyStore::new());
        assert_eq!(Arc::strong_count(&store), 1);
    }

    #[tokio::test]
    async fn the_in_memory_store_passes_the_conformance_suite() {
        let store = Arc::new(InMemoryRetryKeyStore::new());
        let clock = crate::clock::ManualClock::new(jiff::Timestamp::UNIX_EPOCH);
        crate::testing::retry_key_store_conformance(store.clone(), &clock).await;
        assert!(format!("{store:?}").contains("InMemoryRetryKeyStore"));
    }
}
