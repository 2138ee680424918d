//! Fan-out: one set of messages to many users, or one message per user.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt};

use super::resume::RetryKeyStore;
use super::{Client, Sent};
use crate::error::ErrorKind;
use crate::ids::{RequestId, RetryKey, UserId};
use crate::limits::{MAX_MESSAGES_PER_REQUEST, MAX_MULTICAST_RECIPIENTS};
use crate::model::{Message, MulticastRequest, PushMessageRequest};
use crate::Error;

/// Sends to many users within LINE's limits. Made by [`Client::fan_out`].
///
/// Requests run concurrently up to [`concurrency`](Self::concurrency); the
/// client's rate limiter paces them (200 multicast requests/s, 2,000
/// pushes/s), and each request keeps one retry key across its retries, so a
/// retried chunk is never delivered twice.
///
/// ```no_run
/// # async fn run(client: line_core::client::Client, users: Vec<line_core::UserId>) -> Result<(), line_core::Error> {
/// use line_core::model::TextMessage;
/// let report = client.fan_out().multicast(&[TextMessage::new("Sale starts now").into()], &users).await?;
/// println!("{} of {} recipients accepted", report.accepted_recipients, report.recipients);
/// # Ok(()) }
/// ```
///
/// Both sends report [`Progress`] while they run ([`on_progress`](Self::on_progress)),
/// and `push_each` can be made resumable after a crash ([`resumable`](Self::resumable)).
#[derive(Clone)]
pub struct FanOut {
    client: Client,
    concurrency: usize,
    retry_keys: Vec<RetryKey>,
    key_store: Option<(Arc<dyn RetryKeyStore>, String)>,
    progress: Option<ProgressFn>,
}

/// The progress callback of a fan-out.
type ProgressFn = Arc<dyn Fn(&Progress) + Send + Sync>;

impl fmt::Debug for FanOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FanOut")
            .field("client", &self.client)
            .field("concurrency", &self.concurrency)
            .field("retry_keys", &self.retry_keys.len())
            .field("run", &self.key_store.as_ref().map(|(_, run)| run))
            .field("on_progress", &self.progress.is_some())
            .finish()
    }
}

/// How far a fan-out has got, passed to the [`on_progress`](FanOut::on_progress)
/// callback once before the first request and again after each request ends.
///
/// Counts are recipients: a multicast chunk counts its users, a push one.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Progress {
    /// Recipients in all.
    pub total: usize,
    /// Recipients LINE accepted now.
    pub sent: usize,
    /// Recipients LINE had accepted before (409 for their retry key: a resumed run).
    pub duplicates: usize,
    /// Recipients whose request failed.
    pub failed: usize,
    /// Recipients not done yet (waiting or in flight).
    pub remaining: usize,
    /// Requests that ended (accepted or failed).
    pub requests: usize,
    /// Time since the run started (after the keys were stored).
    pub elapsed: Duration,
}

impl Progress {
    fn start(total: usize) -> Self {
        Self {
            total,
            sent: 0,
            duplicates: 0,
            failed: 0,
            remaining: total,
            requests: 0,
            elapsed: Duration::ZERO,
        }
    }

    fn record(&mut self, recipients: usize, outcome: Result<bool, ()>, started: Instant) {
        match outcome {
            Ok(false) => self.sent += recipients,
            Ok(true) => self.duplicates += recipients,
            Err(()) => self.failed += recipients,
        }
        self.remaining = self.remaining.saturating_sub(recipients);
        self.requests += 1;
        self.elapsed = started.elapsed();
    }

    /// Recipients done (sent, duplicate or failed) per second so far; `0.0`
    /// before the first request ends.
    pub fn rate(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            (self.total - self.remaining) as f64 / secs
        } else {
            0.0
        }
    }
}

/// The result of one multicast chunk.
#[derive(Debug)]
#[non_exhaustive]
pub struct ChunkResult {
    /// Position of the chunk (chunk `i` holds users `500*i ..`).
    pub index: usize,
    /// Users in the chunk.
    pub recipients: usize,
    /// The retry key the chunk used; pass the keys back through
    /// [`FanOut::resume_with`] to resume after a crash without duplicates.
    pub retry_key: RetryKey,
    /// The request id that LINE accepted, or the error the chunk gave up with.
    pub outcome: Result<Accepted, Error>,
}

/// A chunk or push that LINE accepted.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Accepted {
    /// `x-line-request-id` (or, for a duplicate, `x-line-accepted-request-id`).
    pub request_id: Option<RequestId>,
    /// LINE had accepted this retry key before (409): nothing was sent twice.
    pub duplicate: bool,
    /// Attempts it took.
    pub attempts: u32,
}

/// What a multicast fan-out did.
#[derive(Debug)]
#[non_exhaustive]
pub struct FanOutReport {
    /// Per chunk, in chunk order.
    pub chunks: Vec<ChunkResult>,
    /// All recipients.
    pub recipients: usize,
    /// Recipients in accepted chunks (duplicates included).
    pub accepted_recipients: usize,
    /// Recipients in chunks that failed.
    pub failed_recipients: usize,
    /// HTTP attempts of the accepted chunks, retries included, plus one for
    /// each chunk that failed (an error does not say how often it was tried).
    pub attempts: u64,
}

impl FanOutReport {
    /// The retry keys, one per chunk, for [`FanOut::resume_with`].
    pub fn retry_keys(&self) -> Vec<RetryKey> {
        self.chunks.iter().map(|c| c.retry_key).collect()
    }
}

/// The result of one personalized push that failed.
#[derive(Debug)]
#[non_exhaustive]
pub struct PushResult {
    /// The user.
    pub user_id: UserId,
    /// The retry key of that push.
    pub retry_key: RetryKey,
    /// Why it failed.
    pub error: Error,
}

/// What a personalized push fan-out did.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct PushReport {
    /// Pushes LINE accepted now.
    pub sent: usize,
    /// Pushes LINE had already accepted (409 for their retry key).
    pub duplicates: usize,
    /// Pushes that failed, with the reason.
    pub failed: Vec<PushResult>,
    /// HTTP attempts of the accepted pushes, retries included, plus one for
    /// each push that failed.
    pub attempts: u64,
}

impl FanOut {
    pub(crate) fn new(client: Client) -> Self {
        Self {
            client,
            concurrency: 128,
            retry_keys: Vec::new(),
            key_store: None,
            progress: None,
        }
    }

    /// Makes [`push_each`](Self::push_each) resumable: before its first request
    /// it makes a retry key for every recipient and stores them all in `store`
    /// under the name `run`. Running the same `run` again (after a crash, a
    /// failed run, an aborted task) reuses the stored keys, so every push LINE
    /// already took answers 409 and is counted as a duplicate, never delivered
    /// twice. LINE remembers a retry key for 24 hours; resume within that.
    ///
    /// A resumable run sends one push per user: a user listed twice is an error.
    pub fn resumable(mut self, store: Arc<dyn RetryKeyStore>, run: impl Into<String>) -> Self {
        self.key_store = Some((store, run.into()));
        self
    }

    /// Calls `f` with the [`Progress`] of the run: once before the first
    /// request, then each time a request ends. It runs on the sending task, so
    /// it should be quick (update a gauge, send on a channel).
    pub fn on_progress(mut self, f: impl Fn(&Progress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(f));
        self
    }

    fn report(&self, progress: &Progress) {
        if let Some(f) = &self.progress {
            f(progress);
        }
    }

    /// Requests in flight at once (default 128). The rate limiter, not this
    /// number, sets the pace; it only needs to cover rate × latency.
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// Reuses the retry keys of an interrupted run (one per chunk, in order),
    /// so that chunks LINE already accepted answer 409 instead of being
    /// delivered again. Chunks beyond the given keys get fresh ones.
    pub fn resume_with(mut self, keys: Vec<RetryKey>) -> Self {
        self.retry_keys = keys;
        self
    }

    /// Sends `messages` to every user in `users`, in multicast calls of at
    /// most 500 users.
    pub async fn multicast(&self, messages: &[Message], users: &[UserId]) -> Result<FanOutReport, Error> {
        check_messages(messages)?;
        let chunks: Vec<(usize, &[UserId], RetryKey)> = users
            .chunks(MAX_MULTICAST_RECIPIENTS)
            .enumerate()
            .map(|(i, c)| (i, c, self.retry_keys.get(i).copied().unwrap_or_default()))
            .collect();
        let client = &self.client;
        let mut progress = Progress::start(users.len());
        self.report(&progress);
        let started = Instant::now();
        let mut pending = stream::iter(chunks)
            .map(|(index, users, key)| async move {
                let req = MulticastRequest::new(messages.to_vec(), users.to_vec());
                let outcome = client.multicast(req).retry_key(key).await.map(|r| Accepted {
                    duplicate: r.body.is_duplicate(),
                    request_id: if matches!(r.body, Sent::Duplicate) {
                        r.accepted_request_id
                    } else {
                        r.request_id
                    },
                    attempts: r.attempts,
                });
                ChunkResult {
                    index,
                    recipients: users.len(),
                    retry_key: key,
                    outcome,
                }
            })
            .buffer_unordered(self.concurrency);
        let mut results = Vec::new();
        while let Some(chunk) = pending.next().await {
            let outcome = chunk.outcome.as_ref().map(|a| a.duplicate).map_err(|_| ());
            progress.record(chunk.recipients, outcome, started);
            self.report(&progress);
            results.push(chunk);
        }
        results.sort_by_key(|c| c.index);
        let accepted_recipients = results.iter().filter(|c| c.outcome.is_ok()).map(|c| c.recipients).sum();
        let attempts = results
            .iter()
            .map(|c| match &c.outcome {
                Ok(a) => u64::from(a.attempts),
                Err(_) => 1,
            })
            .sum();
        Ok(FanOutReport {
            recipients: users.len(),
            accepted_recipients,
            failed_recipients: users.len() - accepted_recipients,
            attempts,
            chunks: results,
        })
    }

    /// Sends each user their own messages (for example a rendered
    /// "¥X more to reach the next tier"), one push per user, paced by the
    /// 2,000/s push limit. Each push has its own retry key, made for every
    /// user before the first request (and stored first, when the fan-out is
    /// [`resumable`](Self::resumable)).
    pub async fn push_each<I>(&self, items: I) -> Result<PushReport, Error>
    where
        I: IntoIterator<Item = (UserId, Vec<Message>)>,
    {
        let items: Vec<(UserId, Vec<Message>)> = items.into_iter().collect();
        for (i, (_, m)) in items.iter().enumerate() {
            check_messages(m).map_err(|_| {
                Error::invalid_input(
                    format!("items[{i}].messages"),
                    format!("must hold 1 to {MAX_MESSAGES_PER_REQUEST} messages"),
                )
            })?;
        }
        let keys = self.push_keys(&items).await?;
        let client = &self.client;
        let mut progress = Progress::start(items.len());
        self.report(&progress);
        let started = Instant::now();
        let mut pending = stream::iter(items.into_iter().zip(keys))
            .map(|((user, messages), key)| async move {
                let req = PushMessageRequest::new(user.as_str(), messages);
                let r = client.push_message(req).retry_key(key).await;
                (user, key, r)
            })
            .buffer_unordered(self.concurrency);
        let mut report = PushReport::default();
        while let Some((user_id, retry_key, r)) = pending.next().await {
            let outcome = r.as_ref().map(|resp| resp.body.is_duplicate()).map_err(|_| ());
            match r {
                Ok(resp) => {
                    report.attempts += u64::from(resp.attempts);
                    if resp.body.is_duplicate() {
                        report.duplicates += 1;
                    } else {
                        report.sent += 1;
                    }
                }
                Err(error) => {
                    report.attempts += 1;
                    report.failed.push(PushResult {
                        user_id,
                        retry_key,
                        error,
                    });
                }
            }
            progress.record(1, outcome, started);
            self.report(&progress);
        }
        Ok(report)
    }

    /// One retry key per item: fresh ones, or, for a resumable run, the stored
    /// ones (fresh ones stored first).
    async fn push_keys(&self, items: &[(UserId, Vec<Message>)]) -> Result<Vec<RetryKey>, Error> {
        let fresh: Vec<RetryKey> = items.iter().map(|_| RetryKey::new()).collect();
        let Some((store, run)) = &self.key_store else {
            return Ok(fresh);
        };
        let mut seen: HashMap<&str, usize> = HashMap::with_capacity(items.len());
        for (i, (user, _)) in items.iter().enumerate() {
            if let Some(first) = seen.insert(user.as_str(), i) {
                return Err(Error::invalid_input(
                    format!("items[{i}].user_id"),
                    format!("the user of items[{first}] again; a resumable run sends one push per user"),
                ));
            }
        }
        let proposed: Vec<(&str, RetryKey)> = items.iter().map(|(u, _)| u.as_str()).zip(fresh).collect();
        let keys = store.keys(run, &proposed).await?;
        if keys.len() != items.len() {
            return Err(Error::new(ErrorKind::Store {
                operation: format!(
                    "retry keys of run {run:?}: {} keys for {} recipients",
                    keys.len(),
                    items.len()
                ),
            }));
        }
        Ok(keys)
    }
}

fn check_messages(messages: &[Message]) -> Result<(), Error> {
    if messages.is_empty() || messages.len() > MAX_MESSAGES_PER_REQUEST {
        return Err(Error::invalid_input(
            "messages",
            format!(
                "must hold 1 to {MAX_MESSAGES_PER_REQUEST} messages, got {}",
                messages.len()
            ),
        ));
    }
    Ok(())
}
