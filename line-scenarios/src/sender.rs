//! The sender abstraction: a push with a retry key. Implemented for line-core's
//! [`Client`](line_core::client::Client) (feature `client`), and by [`NullSender`] and
//! [`RecordingSender`] for benchmarks, simulation and tests.

use std::sync::Mutex;

use line_core::ids::{RetryKey, UserId};

pub use crate::render::Rendered;

/// LINE took the messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Accepted {
    /// Accepted now.
    New,
    /// Accepted earlier for this retry key (LINE answered 409): nothing was sent twice.
    Before,
}

/// Why a push failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendFailure {
    /// LINE refused the request (a 4xx other than 409 and 429): sending it again cannot succeed.
    Refused {
        /// LINE's status.
        status: u16,
        /// LINE's message.
        message: String,
    },
    /// The request may or may not have reached LINE (timeout, dropped connection, 5xx after the
    /// client's own retries). Retrying with the same retry key is safe.
    Unknown {
        /// What happened.
        message: String,
    },
    /// LINE did not take it now (rate limit, monthly quota): retry later.
    Unavailable {
        /// What happened.
        message: String,
    },
}

impl std::fmt::Display for SendFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendFailure::Refused { status, message } => write!(f, "refused by LINE ({status}): {message}"),
            SendFailure::Unknown { message } => write!(f, "outcome unknown: {message}"),
            SendFailure::Unavailable { message } => write!(f, "not taken now: {message}"),
        }
    }
}

/// Which send a push is: the scenario, the step and the entry. The engine passes it with every
/// push ([`Sender::push_in`]), so a sender can name the push's aggregation unit
/// ([`unit`](Self::unit), sent as LINE's `customAggregationUnits`) or track its links
/// ([`TrackingSender`](crate::tracking::TrackingSender)). Borrowed: building one costs nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SendContext<'a> {
    /// The scenario id.
    pub scenario: &'a str,
    /// The step id.
    pub step_id: &'a str,
    /// The step index.
    pub step: u16,
    /// The user's entry number into the scenario.
    pub entry: u32,
}

impl<'a> SendContext<'a> {
    /// The context of a push made by step `step` (id `step_id`) of `scenario`, in entry `entry`.
    pub fn new(scenario: &'a str, step_id: &'a str, step: u16, entry: u32) -> Self {
        Self {
            scenario,
            step_id,
            step,
            entry,
        }
    }

    /// The aggregation unit of the step (see [`crate::insight::unit_name`]).
    pub fn unit(&self) -> String {
        crate::insight::unit_name(self.scenario, self.step_id)
    }
}

/// Pushes messages. Object-safe; use as `Arc<dyn Sender>`.
#[async_trait::async_trait]
pub trait Sender: Send + Sync {
    /// Pushes `messages` to `user` with `retry_key` (the same key on every attempt of one send).
    async fn push(&self, user: &UserId, messages: &Rendered, retry_key: RetryKey) -> Result<Accepted, SendFailure>;

    /// Pushes as [`push`](Self::push) for the send named by `context`. The engine calls this one.
    /// By default it ignores the context; line-core's client sends the step's aggregation unit
    /// (`customAggregationUnits`), [`RecordingSender`] keeps it.
    async fn push_in(
        &self,
        user: &UserId,
        messages: &Rendered,
        retry_key: RetryKey,
        context: &SendContext<'_>,
    ) -> Result<Accepted, SendFailure> {
        let _ = context;
        self.push(user, messages, retry_key).await
    }
}

/// A shared sender sends as the sender it shares (so wrappers such as
/// [`TrackingSender`](crate::tracking::TrackingSender) can take an `Arc`).
#[async_trait::async_trait]
impl<S: Sender + ?Sized> Sender for std::sync::Arc<S> {
    async fn push(&self, user: &UserId, messages: &Rendered, retry_key: RetryKey) -> Result<Accepted, SendFailure> {
        (**self).push(user, messages, retry_key).await
    }

    async fn push_in(
        &self,
        user: &UserId,
        messages: &Rendered,
        retry_key: RetryKey,
        context: &SendContext<'_>,
    ) -> Result<Accepted, SendFailure> {
        (**self).push_in(user, messages, retry_key, context).await
    }
}

/// A sender that drops the [`SendContext`]: pushes through it carry no aggregation unit. For an
/// account that has not applied for LINE's per-unit statistics.
#[derive(Debug, Clone)]
pub struct WithoutUnits<S>(pub S);

#[async_trait::async_trait]
impl<S: Sender> Sender for WithoutUnits<S> {
    async fn push(&self, user: &UserId, messages: &Rendered, retry_key: RetryKey) -> Result<Accepted, SendFailure> {
        self.0.push(user, messages, retry_key).await
    }
}

/// A sender that accepts everything and sends nothing (benchmarks, dry runs).
#[derive(Debug, Default, Clone, Copy)]
pub struct NullSender;

#[async_trait::async_trait]
impl Sender for NullSender {
    async fn push(&self, _: &UserId, _: &Rendered, _: RetryKey) -> Result<Accepted, SendFailure> {
        Ok(Accepted::New)
    }

    // Answered here rather than through `push` (one boxed future per push, not two).
    async fn push_in(
        &self,
        _: &UserId,
        _: &Rendered,
        _: RetryKey,
        _: &SendContext<'_>,
    ) -> Result<Accepted, SendFailure> {
        Ok(Accepted::New)
    }
}

/// One push seen by a [`RecordingSender`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    /// The user.
    pub user: UserId,
    /// The messages (JSON array).
    pub messages: String,
    /// The retry key.
    pub retry_key: RetryKey,
    /// The aggregation unit, when pushed through [`Sender::push_in`].
    pub unit: Option<String>,
}

/// A sender that keeps what it was given and, like LINE, accepts each retry key once.
#[derive(Debug, Default)]
pub struct RecordingSender {
    pushed: Mutex<Vec<Pushed>>,
}

impl RecordingSender {
    /// An empty recorder.
    pub fn new() -> Self {
        Self::default()
    }

    /// The pushes accepted as new, in order.
    pub fn pushed(&self) -> Vec<Pushed> {
        self.pushed.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl RecordingSender {
    fn keep(&self, user: &UserId, messages: &Rendered, retry_key: RetryKey, unit: Option<String>) -> Accepted {
        let mut pushed = self.pushed.lock().unwrap_or_else(|e| e.into_inner());
        if pushed.iter().any(|p| p.retry_key == retry_key) {
            return Accepted::Before;
        }
        pushed.push(Pushed {
            user: user.clone(),
            messages: messages.json.clone(),
            retry_key,
            unit,
        });
        Accepted::New
    }
}

#[async_trait::async_trait]
impl Sender for RecordingSender {
    async fn push(&self, user: &UserId, messages: &Rendered, retry_key: RetryKey) -> Result<Accepted, SendFailure> {
        Ok(self.keep(user, messages, retry_key, None))
    }

    async fn push_in(
        &self,
        user: &UserId,
        messages: &Rendered,
        retry_key: RetryKey,
        context: &SendContext<'_>,
    ) -> Result<Accepted, SendFailure> {
        Ok(self.keep(user, messages, retry_key, Some(context.unit())))
    }
}

#[cfg(feature = "client")]
async fn client_push(
    client: &line_core::client::Client,
    user: &UserId,
    messages: &Rendered,
    retry_key: RetryKey,
    unit: Option<String>,
) -> Result<Accepted, SendFailure> {
    use line_core::client::Sent;
    use line_core::model::{Message, PushMessageRequest};
    use line_core::ErrorKind;

    let list: Vec<Message> = serde_json::from_str(&messages.json).map_err(|e| SendFailure::Refused {
        status: 0,
        message: format!("the rendered messages are not valid message objects: {e}"),
    })?;
    let mut body = PushMessageRequest::new(user.as_str(), list);
    if let Some(unit) = unit {
        crate::insight::check_unit_name(&unit).map_err(|e| SendFailure::Refused {
            status: 0,
            message: e.to_string(),
        })?;
        body.custom_aggregation_units = Some(vec![unit]);
    }
    match client.push_message(&body).retry_key(retry_key).await {
        Ok(r) => Ok(match r.body {
            Sent::Duplicate => Accepted::Before,
            _ => Accepted::New,
        }),
        Err(e) => Err(match e.kind() {
            ErrorKind::Api(api) if api.status == 429 => SendFailure::Unavailable {
                message: api.message.clone(),
            },
            ErrorKind::Api(api) if (400..500).contains(&api.status) => SendFailure::Refused {
                status: api.status,
                message: api.message.clone(),
            },
            _ => SendFailure::Unknown { message: e.to_string() },
        }),
    }
}

/// Pushes through [`push_in`](Sender::push_in) carry the step's aggregation unit in
/// `customAggregationUnits` (LINE's per-unit statistics; an account must have applied for them,
/// else wrap the client in [`WithoutUnits`]).
#[cfg(feature = "client")]
#[async_trait::async_trait]
impl Sender for line_core::client::Client {
    async fn push(&self, user: &UserId, messages: &Rendered, retry_key: RetryKey) -> Result<Accepted, SendFailure> {
        client_push(self, user, messages, retry_key, None).await
    }

    async fn push_in(
        &self,
        user: &UserId,
        messages: &Rendered,
        retry_key: RetryKey,
        context: &SendContext<'_>,
    ) -> Result<Accepted, SendFailure> {
        client_push(self, user, messages, retry_key, Some(context.unit())).await
    }
}
