//! Carrying out a [`Plan`] with a `line_core` client (feature `execute`).
//!
//! A narrowcast plan runs in four steps:
//!
//! 1. **upload** the locally evaluated users as a new audience, when the plan has an
//!    [`upload`](crate::narrowcast::NarrowcastPlan::upload): `POST /v2/bot/audienceGroup/upload`
//!    with the first [`MAX_AUDIENCE_UPLOAD_IDS`] users, then `PUT` for each further chunk;
//! 2. **wait** until LINE reports the audience `READY` (`GET /v2/bot/audienceGroup/{id}`), polling
//!    with a growing delay ([`Polling`]) up to a timeout; `FAILED`, `EXPIRED` and `INACTIVE` are an
//!    [`ErrorKind::AudienceFailed`];
//! 3. **narrowcast** the messages to the plan's recipient, filter and limit, with the
//!    checkpoint's retry key;
//! 4. **poll** `GET /v2/bot/message/progress/narrowcast` until the phase is `succeeded` (the
//!    [`Report`]) or `failed` ([`ErrorKind::NarrowcastFailed`]).
//!
//! A multicast plan sends its users in multicasts of at most [`MAX_MULTICAST_RECIPIENTS`], each
//! with its own retry key.
//!
//! # Resuming
//!
//! Everything a re-run needs is in a [`Checkpoint`]: the retry key, the uploaded audience and how
//! many users it holds. Store it before the run (and on each
//! [`on_checkpoint`](Executor::on_checkpoint) call) and pass it back to run the **same plan**
//! again after a crash or an error: the audience is not uploaded twice, the narrowcast (or an
//! accepted multicast chunk) answers 409 for its retry key and is not delivered twice, and the
//! run goes on to the progress. Multicast chunk `i` uses the key derived from the checkpoint's key
//! by [`Checkpoint::chunk_key`]. LINE keeps a retry key for 24 hours.
//!
//! Automatic retries (5xx, timeouts, lost answers, rate-limit 429s) are the client's: a send keeps
//! its retry key across them, and an audience creation, which has no retry key, is not repeated
//! once it may have reached LINE (the error then says the outcome is unknown).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use line_core::client::Client;
use line_core::ids::{RequestId, RetryKey, UserId};
use line_core::limits::{MAX_AUDIENCE_UPLOAD_IDS, MAX_MESSAGES_PER_REQUEST, MAX_MULTICAST_RECIPIENTS};
use line_core::model::{
    AddAudienceToAudienceGroupRequest, Audience, AudienceGroupStatus, CreateAudienceGroupRequest, Message,
    NarrowcastProgressResponse, NarrowcastProgressResponsePhase,
};
use serde::{Deserialize, Serialize};
use tokio::time::{sleep, Instant};

use crate::error::{Error, ErrorKind, Result};
use crate::narrowcast::{AudienceUpload, MulticastPlan, NarrowcastPlan, Plan};

/// How to wait for LINE: the first delay, doubling up to `max`, for at most `timeout` in all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Polling {
    /// The delay before the second look.
    pub first: Duration,
    /// The longest delay between two looks.
    pub max: Duration,
    /// How long to wait in all before giving up with [`ErrorKind::Timeout`].
    pub timeout: Duration,
}

impl Polling {
    /// Waits `first`, then twice as long each time up to `max`, for at most `timeout`.
    pub fn new(first: Duration, max: Duration, timeout: Duration) -> Self {
        Self {
            first,
            max: max.max(first),
            timeout,
        }
    }
}

/// Options of an [`Executor`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ExecuteOptions {
    /// Waiting for the uploaded audience to be `READY` (default: 1 s doubling to 30 s, 30 minutes).
    pub audience_ready: Polling,
    /// Waiting for the narrowcast to finish (default: 1 s doubling to 60 s, 2 hours).
    pub progress: Polling,
    /// The `uploadDescription` of each upload job, if any.
    pub upload_description: Option<String>,
    /// The narrowcast's `notificationDisabled`, if set.
    pub notification_disabled: Option<bool>,
}

impl Default for ExecuteOptions {
    fn default() -> Self {
        Self {
            audience_ready: Polling::new(
                Duration::from_secs(1),
                Duration::from_secs(30),
                Duration::from_secs(30 * 60),
            ),
            progress: Polling::new(
                Duration::from_secs(1),
                Duration::from_secs(60),
                Duration::from_secs(2 * 3600),
            ),
            upload_description: None,
            notification_disabled: None,
        }
    }
}

impl ExecuteOptions {
    /// Sets how to wait for the uploaded audience.
    pub fn audience_ready(mut self, polling: Polling) -> Self {
        self.audience_ready = polling;
        self
    }

    /// Sets how to wait for the narrowcast's progress.
    pub fn progress(mut self, polling: Polling) -> Self {
        self.progress = polling;
        self
    }
}

/// What a run has done so far, to resume it without sending or uploading twice. See the
/// [module docs](self).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Checkpoint {
    /// The narrowcast's retry key, and the base of the multicast chunks' keys.
    pub retry_key: RetryKey,
    /// The audience made for the plan's upload, once LINE has created it.
    pub audience_group_id: Option<i64>,
    /// How many of the plan's upload users LINE has taken (the first ones, in plan order).
    pub uploaded: usize,
}

impl Checkpoint {
    /// A fresh run, with a new retry key.
    pub fn new() -> Self {
        Self::with_key(RetryKey::new())
    }

    /// A run whose retry key was made and stored earlier.
    pub fn with_key(retry_key: RetryKey) -> Self {
        Self {
            retry_key,
            audience_group_id: None,
            uploaded: 0,
        }
    }

    /// The retry key of multicast chunk `index`: the run's key for chunk 0, and for the others
    /// the key with `index` added to its last 48 bits (so it stays a valid UUID of the same
    /// version, and two runs' keys do not meet).
    pub fn chunk_key(&self, index: usize) -> RetryKey {
        const NODE: u128 = (1 << 48) - 1;
        let base = self.retry_key.as_uuid().as_u128();
        let node = (base & NODE).wrapping_add(index as u128) & NODE;
        RetryKey::from_uuid(uuid::Uuid::from_u128((base & !NODE) | node))
    }
}

impl Default for Checkpoint {
    fn default() -> Self {
        Self::new()
    }
}

/// What a run did.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Report {
    /// A narrowcast plan.
    Narrowcast(NarrowcastReport),
    /// A multicast plan.
    Multicast(MulticastReport),
}

impl Report {
    /// Users LINE delivered to (a narrowcast's `successCount`) or accepted (a multicast's
    /// recipients, including chunks accepted by an earlier run).
    pub fn reached(&self) -> usize {
        match self {
            Report::Narrowcast(n) => usize::try_from(n.progress.success_count.unwrap_or(0)).unwrap_or(0),
            Report::Multicast(m) => m.sent + m.duplicates,
        }
    }
}

/// What a narrowcast run did.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct NarrowcastReport {
    /// The audience made for the plan's upload.
    pub audience_group_id: Option<i64>,
    /// Users in that audience (the plan's upload).
    pub uploaded_users: usize,
    /// The narrowcast's request id (`x-line-request-id`, or LINE's `x-line-accepted-request-id`
    /// when it had accepted the retry key before).
    pub request_id: RequestId,
    /// LINE had accepted this retry key before (a resumed run): nothing was sent twice.
    pub resumed: bool,
    /// The last progress LINE reported (phase `succeeded`).
    pub progress: NarrowcastProgressResponse,
    /// Progress requests made.
    pub polls: u32,
}

/// What a multicast run did.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct MulticastReport {
    /// All recipients.
    pub recipients: usize,
    /// Recipients LINE accepted in this run.
    pub sent: usize,
    /// Recipients LINE had accepted before (409 for their chunk's key: a resumed run).
    pub duplicates: usize,
    /// The request id of each chunk, in chunk order (where LINE gave one).
    pub request_ids: Vec<Option<RequestId>>,
}

/// The callback of [`Executor::on_checkpoint`].
type CheckpointFn = Arc<dyn Fn(&Checkpoint) + Send + Sync>;

/// Carries out plans with a `line_core` client. See the [module docs](self).
///
/// ```no_run
/// # async fn run(client: line_core::client::Client, plan: line_segments::narrowcast::Plan) -> Result<(), line_segments::Error> {
/// use line_core::model::TextMessage;
/// use line_segments::execute::{Checkpoint, Executor};
/// let mut checkpoint = Checkpoint::new(); // store it to resume after a crash
/// let report = Executor::new(client)
///     .execute(&plan, &[TextMessage::new("Sale starts now").into()], &mut checkpoint)
///     .await?;
/// println!("{} users reached", report.reached());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Executor {
    client: Client,
    options: ExecuteOptions,
    on_checkpoint: Option<CheckpointFn>,
}

impl fmt::Debug for Executor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Executor")
            .field("client", &self.client)
            .field("options", &self.options)
            .field("on_checkpoint", &self.on_checkpoint.is_some())
            .finish()
    }
}

fn line(operation: &'static str) -> impl FnOnce(line_core::Error) -> Error {
    move |e| {
        Error::new(ErrorKind::Line {
            operation: operation.to_owned(),
        })
        .with_source(e)
    }
}

impl Executor {
    /// An executor with the default [`ExecuteOptions`].
    pub fn new(client: Client) -> Self {
        Self {
            client,
            options: ExecuteOptions::default(),
            on_checkpoint: None,
        }
    }

    /// Sets the options.
    pub fn options(mut self, options: ExecuteOptions) -> Self {
        self.options = options;
        self
    }

    /// Calls `f` each time the checkpoint changes during a run (after the audience is created and
    /// after each further upload chunk), so that the host can store it before going on.
    pub fn on_checkpoint(mut self, f: impl Fn(&Checkpoint) + Send + Sync + 'static) -> Self {
        self.on_checkpoint = Some(Arc::new(f));
        self
    }

    fn checkpointed(&self, checkpoint: &Checkpoint) {
        if let Some(f) = &self.on_checkpoint {
            f(checkpoint);
        }
    }

    /// Sends `messages` (1 to 5) as `plan` says, recording what is done in `checkpoint`. On an
    /// error the checkpoint holds what was done; running the same plan again with it resumes.
    pub async fn execute(&self, plan: &Plan, messages: &[Message], checkpoint: &mut Checkpoint) -> Result<Report> {
        if messages.is_empty() || messages.len() > MAX_MESSAGES_PER_REQUEST {
            return Err(Error::new(ErrorKind::Limit {
                message: format!(
                    "{} messages; a send holds 1 to {MAX_MESSAGES_PER_REQUEST}",
                    messages.len()
                ),
            }));
        }
        match plan {
            Plan::Narrowcast(n) => self.narrowcast(n, messages, checkpoint).await.map(Report::Narrowcast),
            Plan::Multicast(m) => self.multicast(m, messages, checkpoint).await.map(Report::Multicast),
        }
    }

    async fn narrowcast(
        &self,
        plan: &NarrowcastPlan,
        messages: &[Message],
        checkpoint: &mut Checkpoint,
    ) -> Result<NarrowcastReport> {
        let audience = match &plan.upload {
            Some(upload) => {
                let id = self.upload(upload, checkpoint).await?;
                self.wait_ready(id).await?;
                Some(id)
            }
            None => None,
        };
        let mut req = plan.request(messages.to_vec(), audience)?;
        req.notification_disabled = self.options.notification_disabled;
        let sent = self
            .client
            .narrowcast(&req)
            .retry_key(checkpoint.retry_key)
            .await
            .map_err(line("narrowcast"))?;
        let resumed = sent.body.is_duplicate();
        let request_id = if resumed {
            sent.accepted_request_id
        } else {
            sent.request_id
        }
        .ok_or_else(|| {
            Error::new(ErrorKind::Line {
                operation: "narrowcast".into(),
            })
            .with_source("LINE accepted the narrowcast without a request id")
        })?;
        let (progress, polls) = self.wait_done(&request_id).await?;
        Ok(NarrowcastReport {
            audience_group_id: audience,
            uploaded_users: plan.upload.as_ref().map_or(0, |u| u.user_ids.len()),
            request_id,
            resumed,
            progress,
            polls,
        })
    }

    /// Uploads the users the checkpoint says LINE does not have yet; returns the audience.
    async fn upload(&self, upload: &AudienceUpload, checkpoint: &mut Checkpoint) -> Result<i64> {
        let users = &upload.user_ids;
        if checkpoint.uploaded > users.len() {
            return Err(Error::new(ErrorKind::Limit {
                message: format!(
                    "the checkpoint counts {} uploaded users, the plan has {}: it belongs to another plan",
                    checkpoint.uploaded,
                    users.len()
                ),
            }));
        }
        let audiences =
            |chunk: &[UserId]| -> Vec<Audience> { chunk.iter().map(|u| audience_member(u.as_str())).collect() };
        let id = match checkpoint.audience_group_id {
            Some(id) => id,
            None => {
                let first = &users[..users.len().min(MAX_AUDIENCE_UPLOAD_IDS)];
                let mut req = CreateAudienceGroupRequest::new();
                req.description = Some(upload.description.clone());
                req.upload_description = self.options.upload_description.clone();
                req.audiences = Some(audiences(first));
                let created = self
                    .client
                    .create_audience_group(&req)
                    .await
                    .map_err(line("createAudienceGroup"))?
                    .body;
                let id = created.audience_group_id.ok_or_else(|| {
                    Error::new(ErrorKind::Line {
                        operation: "createAudienceGroup".into(),
                    })
                    .with_source("LINE created the audience without an audienceGroupId")
                })?;
                checkpoint.audience_group_id = Some(id);
                checkpoint.uploaded = first.len();
                self.checkpointed(checkpoint);
                id
            }
        };
        while checkpoint.uploaded < users.len() {
            let end = users.len().min(checkpoint.uploaded + MAX_AUDIENCE_UPLOAD_IDS);
            let chunk = &users[checkpoint.uploaded..end];
            let mut req = AddAudienceToAudienceGroupRequest::new();
            req.audience_group_id = Some(id);
            req.upload_description = self.options.upload_description.clone();
            req.audiences = Some(audiences(chunk));
            self.client
                .add_audience_to_audience_group(&req)
                .await
                .map_err(line("addAudienceToAudienceGroup"))?;
            checkpoint.uploaded = end;
            self.checkpointed(checkpoint);
        }
        Ok(id)
    }

    /// Polls the audience until it is `READY`.
    async fn wait_ready(&self, id: i64) -> Result<()> {
        let polling = self.options.audience_ready;
        let started = Instant::now();
        let mut delay = polling.first;
        loop {
            let data = self
                .client
                .get_audience_data(id)
                .await
                .map_err(line("getAudienceData"))?
                .body;
            let group = data.audience_group.as_ref();
            match group.and_then(|g| g.status.as_ref()) {
                Some(AudienceGroupStatus::Ready) => return Ok(()),
                Some(
                    status @ (AudienceGroupStatus::Failed
                    | AudienceGroupStatus::Expired
                    | AudienceGroupStatus::Inactive),
                ) => {
                    return Err(Error::new(ErrorKind::AudienceFailed {
                        audience_group_id: id,
                        status: status.as_str().to_owned(),
                        failed_type: group
                            .and_then(|g| g.failed_type.as_ref())
                            .map(|t| t.as_str().to_owned()),
                    }))
                }
                // IN_PROGRESS, ACTIVATING, or a status this version does not know: wait.
                _ => {}
            }
            if started.elapsed() + delay > polling.timeout {
                return Err(Error::new(ErrorKind::Timeout {
                    waiting_for: format!("audience {id} to be READY"),
                }));
            }
            sleep(delay).await;
            delay = (delay * 2).min(polling.max);
        }
    }

    /// Polls the narrowcast's progress until it is `succeeded` or `failed`.
    async fn wait_done(&self, request_id: &RequestId) -> Result<(NarrowcastProgressResponse, u32)> {
        let polling = self.options.progress;
        let started = Instant::now();
        let mut delay = polling.first;
        let mut polls = 0;
        loop {
            let progress = self
                .client
                .get_narrowcast_progress(request_id.as_str())
                .await
                .map_err(line("getNarrowcastProgress"))?
                .body;
            polls += 1;
            match progress.phase {
                NarrowcastProgressResponsePhase::Succeeded => return Ok((progress, polls)),
                NarrowcastProgressResponsePhase::Failed => {
                    return Err(Error::new(ErrorKind::NarrowcastFailed {
                        request_id: request_id.as_str().to_owned(),
                        error_code: progress.error_code,
                        description: progress.failed_description,
                    }))
                }
                // waiting, sending, or a phase this version does not know: wait.
                _ => {}
            }
            if started.elapsed() + delay > polling.timeout {
                return Err(Error::new(ErrorKind::Timeout {
                    waiting_for: format!("narrowcast {request_id} to finish"),
                }));
            }
            sleep(delay).await;
            delay = (delay * 2).min(polling.max);
        }
    }

    async fn multicast(
        &self,
        plan: &MulticastPlan,
        messages: &[Message],
        checkpoint: &mut Checkpoint,
    ) -> Result<MulticastReport> {
        let chunks = plan.user_ids.len().div_ceil(MAX_MULTICAST_RECIPIENTS);
        let keys = (0..chunks).map(|i| checkpoint.chunk_key(i)).collect();
        let report = self
            .client
            .fan_out()
            .resume_with(keys)
            .multicast(messages, &plan.user_ids)
            .await
            .map_err(line("multicast"))?;
        let mut out = MulticastReport {
            recipients: report.recipients,
            sent: 0,
            duplicates: 0,
            request_ids: Vec::with_capacity(report.chunks.len()),
        };
        let mut first_error = None;
        for chunk in report.chunks {
            match chunk.outcome {
                Ok(a) => {
                    if a.duplicate {
                        out.duplicates += chunk.recipients;
                    } else {
                        out.sent += chunk.recipients;
                    }
                    out.request_ids.push(a.request_id);
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                    out.request_ids.push(None);
                }
            }
        }
        match first_error {
            None => Ok(out),
            Some(e) => Err(Error::new(ErrorKind::MulticastIncomplete {
                failed_recipients: report.failed_recipients,
                recipients: report.recipients,
            })
            .with_source(e)),
        }
    }
}

fn audience_member(id: &str) -> Audience {
    let mut a = Audience::new();
    a.id = Some(id.to_owned());
    a
}
