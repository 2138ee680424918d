//! Dropping events that were already handled, keyed on `webhookEventId`.
//!
//! LINE redelivers an event when the bot did not answer in time, and marks the
//! copy with `deliveryContext.isRedelivery`. The event keeps its
//! `webhookEventId`, so remembering the IDs already seen is enough to handle
//! each event once. The memory is a host store ([`DedupeStore`]): Redis
//! (`SET key 1 NX PX ttl`), SQL (`INSERT … ON CONFLICT DO NOTHING`) or the
//! bundled [`InMemoryDedupeStore`].

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;

use super::event::Event;
use super::expiring::ExpiringMap;
use crate::clock::{Clock, SystemClock};
use crate::error::Error;

/// How long a [`Deduper`] remembers an event ID unless told otherwise: one day.
///
/// Pick a longer TTL with [`Deduper::with_ttl`] if your channel may see
/// redeliveries of older events.
pub const DEFAULT_DEDUPE_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// A host store that remembers which webhook event IDs were seen.
///
/// The one operation is atomic, so that two servers handling the same
/// redelivered event at once cannot both see it as new. Implementations can
/// run `line_core::testing::dedupe_store_conformance` (feature `testing`) on
/// themselves.
#[async_trait]
pub trait DedupeStore: Send + Sync {
    /// Records `webhook_event_id` for `ttl` unless it is already recorded and
    /// not yet expired. Returns `true` when the ID was new (the caller should
    /// handle the event) and `false` when it was seen before.
    async fn first_seen(&self, webhook_event_id: &str, ttl: Duration) -> Result<bool, Error>;

    /// Forgets `webhook_event_id`, so that its next sighting (a redelivery)
    /// counts as new again. Called when handling the event failed. Forgetting an
    /// ID that is not recorded is not an error.
    async fn forget(&self, webhook_event_id: &str) -> Result<(), Error>;
}

#[async_trait]
impl<T: DedupeStore + ?Sized> DedupeStore for Arc<T> {
    async fn first_seen(&self, webhook_event_id: &str, ttl: Duration) -> Result<bool, Error> {
        (**self).first_seen(webhook_event_id, ttl).await
    }

    async fn forget(&self, webhook_event_id: &str) -> Result<(), Error> {
        (**self).forget(webhook_event_id).await
    }
}

/// A [`DedupeStore`] in process memory, for one server or for tests.
///
/// Expiry follows the [`Clock`] it was given. Expired IDs are dropped on every
/// call, so memory holds only the IDs of the last `ttl`.
pub struct InMemoryDedupeStore {
    clock: Arc<dyn Clock>,
    seen: Mutex<ExpiringMap<()>>,
}

impl InMemoryDedupeStore {
    /// A store on the system clock.
    pub fn new() -> Self {
        Self::with_clock(SystemClock)
    }

    /// A store on the given clock (a [`ManualClock`](crate::clock::ManualClock) in tests).
    pub fn with_clock(clock: impl Clock + 'static) -> Self {
        Self {
            clock: Arc::new(clock),
            seen: Mutex::new(ExpiringMap::default()),
        }
    }

    /// How many IDs are remembered now (expired ones are not counted).
    pub fn len(&self) -> usize {
        let now = self.clock.now();
        self.lock().len(now)
    }

    /// Whether no ID is remembered now.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ExpiringMap<()>> {
        // A panic elsewhere while holding the lock cannot leave the map
        // inconsistent in a way that matters here; keep serving.
        self.seen.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Default for InMemoryDedupeStore {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for InMemoryDedupeStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InMemoryDedupeStore")
            .field("clock", &self.clock)
            .field("len", &self.len())
            .finish()
    }
}

#[async_trait]
impl DedupeStore for InMemoryDedupeStore {
    async fn first_seen(&self, webhook_event_id: &str, ttl: Duration) -> Result<bool, Error> {
        let now = self.clock.now();
        Ok(self.lock().insert_if_absent(now, webhook_event_id, (), ttl))
    }

    async fn forget(&self, webhook_event_id: &str) -> Result<(), Error> {
        let now = self.clock.now();
        self.lock().take(now, webhook_event_id);
        Ok(())
    }
}

/// Filters webhook events through a [`DedupeStore`], keyed on `webhookEventId`.
///
/// An event whose ID was seen within the TTL is dropped (a redelivery, or the
/// same event twice in one batch). An event without a `webhookEventId` always
/// passes: there is nothing to key it on.
///
/// An ID is recorded when the event is checked, before your handler runs, so
/// that two servers given the same redelivery at once do not both handle it.
/// If handling then fails, call [`release`](Self::release) (or let
/// [`once`](Self::once) do it): the ID is forgotten and LINE's redelivery of
/// the event is handled again instead of being dropped. When a store call
/// fails, the methods return the error; answering the webhook with a 5xx then
/// makes LINE redeliver (when redelivery is on for the channel).
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use line_core::webhook::dedupe::{Deduper, InMemoryDedupeStore};
///
/// let deduper = Deduper::new(InMemoryDedupeStore::new());
/// let body = br#"{"destination":"U0","events":[
///   {"type":"unfollow","timestamp":1,"mode":"active","webhookEventId":"01A","deliveryContext":{"isRedelivery":false}}]}"#;
/// let first = line_core::webhook::parse(body)?;
/// assert_eq!(deduper.filter(first.events).await?.len(), 1);
/// let again = line_core::webhook::parse(body)?;
/// assert_eq!(deduper.filter(again.events).await?.len(), 0);
/// # Ok::<(), line_core::Error>(())
/// # }).unwrap();
/// ```
pub struct Deduper {
    store: Arc<dyn DedupeStore>,
    ttl: Duration,
}

impl Deduper {
    /// A deduper over `store` that remembers IDs for [`DEFAULT_DEDUPE_TTL`].
    pub fn new(store: impl DedupeStore + 'static) -> Self {
        Self {
            store: Arc::new(store),
            ttl: DEFAULT_DEDUPE_TTL,
        }
    }

    /// Changes how long IDs are remembered.
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// How long IDs are remembered.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Whether `event` should be handled: true for a first sighting or an event
    /// without `webhookEventId`. Records the ID.
    pub async fn is_new(&self, event: &Event) -> Result<bool, Error> {
        match event.webhook_event_id() {
            Some(id) => self.store.first_seen(&id, self.ttl).await,
            None => Ok(true),
        }
    }

    /// Forgets `event`'s ID, so that a redelivery of it is handled again. Call
    /// this when handling the event failed. A no-op for an event without
    /// `webhookEventId`.
    pub async fn release(&self, event: &Event) -> Result<(), Error> {
        match event.webhook_event_id() {
            Some(id) => self.store.forget(&id).await,
            None => Ok(()),
        }
    }

    /// Handles `event` at most once per `webhookEventId`, and again after a
    /// failure.
    ///
    /// Returns `Ok(None)` without calling `handler` when the ID was seen
    /// before, and `handler`'s result otherwise. When `handler` fails, the ID
    /// is [released](Self::release) before its error is returned, so LINE's
    /// redelivery of the event runs `handler` again. (If the release itself
    /// fails, that is logged at `error` level and the handler's error is still
    /// the one returned.)
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// use line_core::webhook::dedupe::{Deduper, InMemoryDedupeStore};
    ///
    /// let deduper = Deduper::new(InMemoryDedupeStore::new());
    /// let body = br#"{"destination":"U0","events":[{"type":"unfollow","timestamp":1,"webhookEventId":"01A"}]}"#;
    /// let event = &line_core::webhook::parse(body)?.events[0];
    ///
    /// // The first try fails: the ID is released.
    /// let down = || line_core::Error::new(line_core::ErrorKind::Store { operation: "save".into() });
    /// let failed = deduper.once(event, || async { Err::<(), _>(down()) }).await;
    /// assert!(failed.is_err());
    /// // LINE redelivers; this time the handler runs and succeeds.
    /// assert_eq!(deduper.once(event, || async { Ok::<_, line_core::Error>(7) }).await?, Some(7));
    /// // Any further copy is dropped.
    /// assert_eq!(deduper.once(event, || async { Ok::<_, line_core::Error>(8) }).await?, None);
    /// # Ok::<(), line_core::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn once<T, E, F, Fut>(&self, event: &Event, handler: F) -> Result<Option<T>, E>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<T, E>>,
        E: From<Error>,
    {
        if !self.is_new(event).await? {
            return Ok(None);
        }
        match handler().await {
            Ok(v) => Ok(Some(v)),
            Err(e) => {
                if let Err(release) = self.release(event).await {
                    tracing::error!(
                        kind = event.kind(),
                        error = %release,
                        "handling a webhook event failed and its id could not be released: a redelivery will be dropped"
                    );
                }
                Err(e)
            }
        }
    }

    /// Keeps the events to handle, in their order; drops those already seen.
    pub async fn filter(&self, events: Vec<Event>) -> Result<Vec<Event>, Error> {
        let mut keep = Vec::with_capacity(events.len());
        for event in events {
            if self.is_new(&event).await? {
                keep.push(event);
            } else {
                tracing::debug!(
                    kind = event.kind(),
                    redelivery = event.delivery_context().is_some_and(|c| c.is_redelivery),
                    "dropping a webhook event already seen"
                );
            }
        }
        Ok(keep)
    }
}

impl fmt::Debug for Deduper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Deduper")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}
