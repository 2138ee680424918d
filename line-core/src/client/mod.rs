//! The typed client: one lazy request builder per operation of LINE's OpenAPI
//! specs ([`request`]).
//!
//! ```no_run
//! use line_core::client::Client;
//! use line_core::model::TextMessage;
//!
//! # async fn run() -> Result<(), line_core::Error> {
//! let client = Client::new("CHANNEL_ACCESS_TOKEN");
//! let sent = client.push("U4af4980629...").messages(vec![TextMessage::new("Hello").into()]).await?;
//! println!("request id {:?}, retry key {:?}", sent.request_id, sent.retry_key);
//! let profile = client.get_profile("U4af4980629...").await?.body;
//! # let _ = profile;
//! # Ok(()) }
//! ```
//!
//! Every call goes through the same pipeline: the client-side rate limiter of
//! the operation's class, the request (with the bearer token of the
//! [`TokenSource`]), and the retry policy. The four send operations (push,
//! multicast, narrowcast, broadcast) get an `X-Line-Retry-Key` made once per
//! call and reused on every retry; a 409 for that key comes back as
//! [`Sent::Duplicate`] with the accepted request id. A call that is not
//! idempotent ([`Operation::idempotency`]: a POST without a retry key, such as
//! `createRichMenu`) is never repeated once the request may have reached LINE:
//! it fails with [`ErrorKind::OutcomeUnknown`].

mod dry_run;
mod fanout;
mod methods;
pub mod operations;
pub mod request;
mod resume;
mod token;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde::de::DeserializeOwned;
use tracing::Instrument;

pub use dry_run::DryRun;
pub use fanout::{Accepted, ChunkResult, FanOut, FanOutReport, Progress, PushReport, PushResult};
pub use request::{Request, RequestAuth};
pub use resume::{InMemoryRetryKeyStore, RetryKeyStore};
pub use token::{JwtTokenSource, StatelessTokenSource, TokenSource};

use crate::error::{
    from_json_slice, ApiError, ApiErrorDetail, Error, ErrorKind, OutcomeUnknown, TooManyRequests, UnknownCause,
};
use crate::ids::{RequestId, RetryKey};
use crate::ratelimit::{RateClass, RateLimiter};
use crate::retry::{parse_retry_after, Decision, Idempotency, Outcome, RetryPolicy};
use crate::secret::ChannelAccessToken;

/// An HTTP method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HttpMethod {
    /// GET
    Get,
    /// POST
    Post,
    /// PUT
    Put,
    /// DELETE
    Delete,
    /// PATCH
    Patch,
}

impl HttpMethod {
    /// The method as HTTP spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Delete => "DELETE",
            Self::Patch => "PATCH",
        }
    }
}

/// Which of LINE's hosts serves an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Host {
    /// `https://api.line.me`
    Api,
    /// `https://api-data.line.me` (content, images, audience uploads)
    ApiData,
    /// `https://manager.line.biz` (module attach)
    Manager,
}

impl Host {
    /// LINE's production URL of this host.
    pub fn default_url(self) -> &'static str {
        match self {
            Self::Api => "https://api.line.me",
            Self::ApiData => "https://api-data.line.me",
            Self::Manager => "https://manager.line.biz",
        }
    }
}

/// How an operation authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthScheme {
    /// `Authorization: Bearer {channel access token}`.
    Bearer,
    /// HTTP basic authentication with the channel ID and secret.
    Basic,
    /// No authentication (the token endpoints take credentials in the body).
    None,
}

/// Static facts about one operation of the specs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Operation {
    /// The spec's operationId.
    pub id: &'static str,
    /// HTTP method.
    pub method: HttpMethod,
    /// Path template, with `{param}` placeholders.
    pub path: &'static str,
    /// The host that serves it.
    pub host: Host,
    /// The spec file it comes from.
    pub spec: &'static str,
    /// The rate-limit class it counts against.
    pub rate_class: RateClass,
    /// Whether it takes an `X-Line-Retry-Key`.
    pub retry_key: bool,
    /// Whether it may be repeated after the request may have reached LINE
    /// (GET, PUT, DELETE, or a retry key); see [`Idempotency`].
    pub idempotency: Idempotency,
    /// How it authenticates.
    pub auth: AuthScheme,
}

/// A successful answer: the body plus what LINE said about the request.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Response<T> {
    /// HTTP status.
    pub status: u16,
    /// `x-line-request-id`.
    pub request_id: Option<RequestId>,
    /// `x-line-accepted-request-id`: on a 409 for a retry key, the request
    /// that LINE accepted earlier.
    pub accepted_request_id: Option<RequestId>,
    /// The retry key this call used (send operations only). Persist it to
    /// resume the send after a crash.
    pub retry_key: Option<RetryKey>,
    /// How many attempts the call took.
    pub attempts: u32,
    /// The body.
    pub body: T,
}

impl<T> Response<T> {
    /// The body.
    pub fn into_body(self) -> T {
        self.body
    }

    /// Replaces the body, keeping the metadata.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Response<U> {
        Response {
            status: self.status,
            request_id: self.request_id,
            accepted_request_id: self.accepted_request_id,
            retry_key: self.retry_key,
            attempts: self.attempts,
            body: f(self.body),
        }
    }
}

/// The outcome of a retry-keyed send.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Sent<T> {
    /// LINE accepted this request now.
    New(T),
    /// LINE had already accepted a request with this retry key (it answered
    /// 409); see [`Response::accepted_request_id`]. Nothing was sent twice.
    Duplicate,
}

impl<T> Sent<T> {
    /// Whether LINE had accepted this retry key before.
    pub fn is_duplicate(&self) -> bool {
        matches!(self, Self::Duplicate)
    }

    /// The body of a fresh acceptance.
    pub fn into_new(self) -> Option<T> {
        match self {
            Self::New(t) => Some(t),
            Self::Duplicate => None,
        }
    }
}

/// Binary content with its content type.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Blob {
    /// The bytes.
    pub bytes: Bytes,
    /// `content-type` of the response.
    pub content_type: Option<String>,
}

/// A LINE API client. Cheap to clone (an `Arc` inside).
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

#[derive(Clone)]
struct Inner {
    http: reqwest::Client,
    token: Arc<dyn TokenSource>,
    api_base: String,
    data_base: String,
    manager_base: String,
    timeout: Duration,
    retry: RetryPolicy,
    limiter: RateLimiter,
    in_flight: Option<InFlightLimit>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("token", &self.inner.token)
            .field("api_base", &self.inner.api_base)
            .field("data_base", &self.inner.data_base)
            .field("timeout", &self.inner.timeout)
            .field("retry", &self.inner.retry)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Client`].
#[must_use]
pub struct ClientBuilder {
    token: Option<Arc<dyn TokenSource>>,
    api_base: String,
    data_base: String,
    manager_base: String,
    timeout: Duration,
    connect_timeout: Duration,
    retry: RetryPolicy,
    limiter: RateLimiter,
    http: Option<reqwest::Client>,
    in_flight: Option<InFlightLimit>,
}

/// A bound on the calls in flight (attempts sent and not answered yet) of
/// every client given it ([`ClientBuilder::in_flight_limit`]): with one HTTP/1.1
/// connection per call in flight, it bounds their open connections together.
/// An attempt takes a slot once the client's rate limiter lets it go (so a
/// call waiting for its limiter holds none) and gives it back when its answer
/// is read. Cheap to clone; clones share the slots.
#[derive(Clone)]
pub struct InFlightLimit {
    slots: Arc<tokio::sync::Semaphore>,
    max: usize,
}

impl InFlightLimit {
    /// At most `max` calls in flight (0 counts as 1).
    pub fn new(max: usize) -> Self {
        let max = max.clamp(1, tokio::sync::Semaphore::MAX_PERMITS);
        Self {
            slots: Arc::new(tokio::sync::Semaphore::new(max)),
            max,
        }
    }

    /// The bound.
    pub fn max(&self) -> usize {
        self.max
    }

    /// Calls in flight now.
    pub fn in_flight(&self) -> usize {
        self.max - self.slots.available_permits()
    }
}

impl fmt::Debug for InFlightLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InFlightLimit")
            .field("max", &self.max)
            .field("in_flight", &self.in_flight())
            .finish()
    }
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("token", &self.token)
            .field("api_base", &self.api_base)
            .field("data_base", &self.data_base)
            .finish_non_exhaustive()
    }
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            token: None,
            api_base: Host::Api.default_url().to_owned(),
            data_base: Host::ApiData.default_url().to_owned(),
            manager_base: Host::Manager.default_url().to_owned(),
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            limiter: RateLimiter::line_defaults(),
            http: None,
            in_flight: None,
        }
    }
}

impl ClientBuilder {
    /// A static channel access token.
    pub fn token(mut self, token: impl Into<ChannelAccessToken>) -> Self {
        self.token = Some(Arc::new(token.into()));
        self
    }

    /// A token source that can rotate tokens (see [`StatelessTokenSource`],
    /// [`JwtTokenSource`]).
    pub fn token_source(mut self, source: Arc<dyn TokenSource>) -> Self {
        self.token = Some(source);
        self
    }

    /// Base URL of the api.line.me operations (default `https://api.line.me`).
    pub fn api_base(mut self, url: impl Into<String>) -> Self {
        self.api_base = trim_base(url.into());
        self
    }

    /// Base URL of the api-data.line.me operations.
    pub fn data_base(mut self, url: impl Into<String>) -> Self {
        self.data_base = trim_base(url.into());
        self
    }

    /// Base URL of the manager.line.biz operation (module attach).
    pub fn manager_base(mut self, url: impl Into<String>) -> Self {
        self.manager_base = trim_base(url.into());
        self
    }

    /// One base URL for every host: for a local emulator or a mock server.
    pub fn base_url(self, url: impl Into<String>) -> Self {
        let url = url.into();
        self.api_base(url.clone()).data_base(url.clone()).manager_base(url)
    }

    /// Timeout of one attempt (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Connect timeout (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The retry policy (default [`RetryPolicy::default`]).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The client-side rate limiter (default LINE's table). Clients that
    /// share a channel should share one limiter.
    pub fn rate_limiter(mut self, limiter: RateLimiter) -> Self {
        self.limiter = limiter;
        self
    }

    /// Bounds this client's calls in flight, together with every other client
    /// given the same limit (default: no bound).
    pub fn in_flight_limit(mut self, limit: InFlightLimit) -> Self {
        self.in_flight = Some(limit);
        self
    }

    /// Uses this `reqwest` client (for proxies or custom TLS).
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// Builds the client.
    pub fn build(self) -> Result<Client, Error> {
        let token = self.token.ok_or_else(|| {
            Error::new(ErrorKind::Config {
                field: "token".into(),
                reason: "no token or token source was set".into(),
            })
        })?;
        for (field, url) in [("api_base", &self.api_base), ("data_base", &self.data_base)] {
            if url::Url::parse(url).is_err() {
                return Err(Error::new(ErrorKind::Config {
                    field: field.into(),
                    reason: format!("not a URL: {url}"),
                }));
            }
        }
        let http = match self.http {
            Some(h) => h,
            None => reqwest::Client::builder()
                .connect_timeout(self.connect_timeout)
                .user_agent(concat!("line-rs/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| {
                    Error::with_source(
                        ErrorKind::Config {
                            field: "http".into(),
                            reason: "cannot build the HTTP client".into(),
                        },
                        e,
                    )
                })?,
        };
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                token,
                api_base: self.api_base,
                data_base: self.data_base,
                manager_base: self.manager_base,
                timeout: self.timeout,
                retry: self.retry,
                limiter: self.limiter,
                in_flight: self.in_flight,
            }),
        })
    }
}

fn trim_base(mut s: String) -> String {
    while s.ends_with('/') {
        s.pop();
    }
    s
}

impl Client {
    /// A client for LINE's production hosts with a static token and the
    /// default retry policy and rate limits.
    pub fn new(token: impl Into<ChannelAccessToken>) -> Self {
        ClientBuilder::default()
            .token(token)
            .build()
            .expect("the default configuration is valid")
    }

    /// A builder.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The rate limiter this client uses.
    pub fn rate_limiter(&self) -> &RateLimiter {
        &self.inner.limiter
    }

    /// The timeout of each attempt of a call (the builder's
    /// [`timeout`](ClientBuilder::timeout)).
    pub fn timeout(&self) -> Duration {
        self.inner.timeout
    }

    /// This client with another timeout per attempt of a call: the same
    /// connection pool, token source, retry policy, rate limiter and in-flight
    /// limit (shared, not copied, so the two clients' calls count against one
    /// limit). For a
    /// caller whose calls need a bound of their own, such as a bulk send's
    /// chunks. The timeout counts from when the rate limiter lets the attempt
    /// go, so time spent waiting for the limiter never times a call out.
    pub fn with_timeout(&self, timeout: Duration) -> Client {
        if timeout == self.inner.timeout {
            return self.clone();
        }
        Client {
            inner: Arc::new(Inner {
                timeout,
                ..Inner::clone(&self.inner)
            }),
        }
    }

    /// Validation instead of sending: each method posts the same messages to
    /// LINE's `/v2/bot/message/validate/*` endpoints.
    pub fn dry_run(&self) -> DryRun<'_> {
        DryRun::new(self)
    }

    /// The fan-out helper: multicast in chunks of 500, personalized pushes.
    pub fn fan_out(&self) -> FanOut {
        FanOut::new(self.clone())
    }

    fn base(&self, host: Host) -> &str {
        match host {
            Host::Api => &self.inner.api_base,
            Host::ApiData => &self.inner.data_base,
            Host::Manager => &self.inner.manager_base,
        }
    }

    pub(crate) async fn execute(&self, request: Request) -> Result<Raw, Error> {
        let op = request.operation;
        let mut attempt: u32 = 0;
        let mut refreshed_token = false;
        loop {
            attempt += 1;
            self.inner.limiter.acquire(op.rate_class, op.id).await;
            // Held while this attempt is in flight, given back before any retry's pause.
            let slot = match &self.inner.in_flight {
                Some(l) => Arc::clone(&l.slots).acquire_owned().await.ok(),
                None => None,
            };
            let span = tracing::info_span!(
                "line.request",
                operation = op.id,
                attempt,
                status = tracing::field::Empty,
                request_id = tracing::field::Empty,
            );
            let result = self.send_once(&request).instrument(span.clone()).await;
            drop(slot);
            let (outcome, err) = match result {
                Ok(mut raw) => {
                    span.record("status", raw.status);
                    if let Some(id) = &raw.request_id {
                        span.record("request_id", id.as_str());
                    }
                    raw.attempts = attempt;
                    raw.retry_key = request.retry_key;
                    if (200..300).contains(&raw.status) || (raw.status == 409 && op.retry_key) {
                        raw.op = op;
                        return Ok(raw);
                    }
                    if raw.status == 401 && !refreshed_token && op.auth == AuthScheme::Bearer {
                        refreshed_token = true;
                        self.inner.token.invalidate();
                        if self.inner.token.can_refresh() {
                            continue;
                        }
                    }
                    let err = api_error(op, &raw);
                    let api = err.api();
                    let outcome = Outcome::Status {
                        status: raw.status,
                        too_many_requests: api.and_then(|a| a.too_many_requests),
                        retry_after: api.and_then(|a| a.retry_after),
                    };
                    (outcome, err)
                }
                Err(Failure::Final(err)) => return Err(err),
                Err(Failure::Transport(outcome, err)) => (outcome, err),
            };
            match self
                .inner
                .retry
                .decide(op.idempotency, attempt, &outcome, rand::random::<f64>())
            {
                Decision::Retry { after } => {
                    tracing::debug!(operation = op.id, attempt, ?after, "retrying");
                    tokio::time::sleep(after).await;
                }
                Decision::OutcomeUnknown => {
                    tracing::warn!(operation = op.id, attempt, "outcome unknown; not repeated");
                    return Err(outcome_unknown(op, attempt, &outcome, err));
                }
                Decision::GiveUp => return Err(err),
            }
        }
    }

    async fn send_once(&self, request: &Request) -> Result<Raw, Failure> {
        let op = request.operation;
        let method = match op.method {
            HttpMethod::Get => reqwest::Method::GET,
            HttpMethod::Post => reqwest::Method::POST,
            HttpMethod::Put => reqwest::Method::PUT,
            HttpMethod::Delete => reqwest::Method::DELETE,
            HttpMethod::Patch => reqwest::Method::PATCH,
        };
        let mut req = self
            .inner
            .http
            .request(method, &request.url)
            .timeout(self.inner.timeout);
        match &request.auth {
            RequestAuth::Bearer => {
                let token = self.inner.token.token().await.map_err(Failure::Final)?;
                req = req.bearer_auth(token.expose());
            }
            RequestAuth::Basic {
                client_id,
                client_secret,
            } => {
                req = req.basic_auth(client_id, Some(client_secret.expose()));
            }
            RequestAuth::None => {}
        }
        for (name, value) in &request.headers {
            req = req.header(*name, value);
        }
        if !request.body.is_empty() || request.header("content-type").is_some() {
            req = req.body(request.body.clone());
        }
        let resp = req.send().await.map_err(|e| transport_error(op, e, false))?;
        let status = resp.status().as_u16();
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let request_id = header("x-line-request-id").map(RequestId::new);
        let accepted_request_id = header("x-line-accepted-request-id").map(RequestId::new);
        let content_type = header("content-type");
        let retry_after = header("retry-after");
        let body = resp.bytes().await.map_err(|e| transport_error(op, e, true))?;
        Ok(Raw {
            op,
            status,
            request_id,
            accepted_request_id,
            content_type,
            retry_after,
            body,
            attempts: 1,
            retry_key: request.retry_key,
        })
    }
}

/// How one attempt failed before LINE's answer was read.
enum Failure {
    /// Not worth another attempt (the token source failed).
    Final(Error),
    /// The transport failed: what it means for a retry, and the error to report.
    Transport(Outcome, Error),
}

fn outcome_unknown(op: &'static Operation, attempts: u32, outcome: &Outcome, err: Error) -> Error {
    let cause = match (outcome, err.kind()) {
        (Outcome::Timeout, _) => UnknownCause::Timeout,
        (_, ErrorKind::Api(api)) => UnknownCause::ServerError((**api).clone()),
        _ => UnknownCause::ConnectionLost,
    };
    let kind = ErrorKind::OutcomeUnknown(Box::new(OutcomeUnknown {
        operation: op.id,
        attempts,
        cause,
    }));
    match err.into_parts() {
        (_, Some(source)) => Error::with_source(kind, source),
        (_, None) => Error::new(kind),
    }
}

/// Classifies a transport failure. `answered` is set once LINE's status line
/// arrived (the body then failed to read).
fn transport_error(op: &'static Operation, e: reqwest::Error, answered: bool) -> Failure {
    // reqwest's error names the URL but never the headers, so no token leaks.
    // A connect error (refused, unreachable, connect timeout) means the request
    // never left; anything later means it may have reached LINE.
    if e.is_connect() && !answered {
        Failure::Transport(
            Outcome::Connection,
            Error::with_source(ErrorKind::Connection { operation: op.id }, e),
        )
    } else if e.is_timeout() {
        Failure::Transport(
            Outcome::Timeout,
            Error::with_source(ErrorKind::Timeout { operation: op.id }, e),
        )
    } else {
        Failure::Transport(
            Outcome::ConnectionLost,
            Error::with_source(ErrorKind::Connection { operation: op.id }, e),
        )
    }
}

#[derive(serde::Deserialize, Default)]
struct ErrorBody {
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    details: Vec<ApiErrorDetail>,
}

fn api_error(op: &'static Operation, raw: &Raw) -> Error {
    let body: ErrorBody = serde_json::from_slice(&raw.body).unwrap_or_default();
    let message = body
        .message
        .unwrap_or_else(|| String::from_utf8_lossy(&raw.body).chars().take(200).collect());
    let too_many_requests = (raw.status == 429).then(|| TooManyRequests::classify(&message));
    let retry_after = raw
        .retry_after
        .as_deref()
        .and_then(|v| parse_retry_after(v, jiff::Timestamp::now()));
    Error::new(ErrorKind::Api(Box::new(ApiError {
        operation: op.id,
        status: raw.status,
        message,
        details: body.details,
        request_id: raw.request_id.clone(),
        too_many_requests,
        retry_after,
    })))
}

/// A raw successful (or 409-duplicate) answer, before its body is typed.
pub(crate) struct Raw {
    op: &'static Operation,
    status: u16,
    request_id: Option<RequestId>,
    accepted_request_id: Option<RequestId>,
    content_type: Option<String>,
    retry_after: Option<String>,
    body: Bytes,
    attempts: u32,
    retry_key: Option<RetryKey>,
}

impl Raw {
    fn respond<T>(self, body: T) -> Response<T> {
        Response {
            status: self.status,
            request_id: self.request_id,
            accepted_request_id: self.accepted_request_id,
            retry_key: self.retry_key,
            attempts: self.attempts,
            body,
        }
    }

    fn parse<T: DeserializeOwned>(&self) -> Result<T, Error> {
        let bytes: &[u8] = if self.body.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &self.body
        };
        from_json_slice(bytes).map_err(|e| match e.into_parts() {
            (ErrorKind::Parse { pointer, reason }, _) => Error::new(ErrorKind::Decode {
                operation: self.op.id,
                pointer,
                reason,
            }),
            (kind, _) => Error::new(kind),
        })
    }

    pub(crate) fn json<T: DeserializeOwned>(self) -> Result<Response<T>, Error> {
        let body = self.parse()?;
        Ok(self.respond(body))
    }

    pub(crate) fn empty(self) -> Result<Response<()>, Error> {
        Ok(self.respond(()))
    }

    pub(crate) fn blob(mut self) -> Result<Response<Blob>, Error> {
        let blob = Blob {
            bytes: std::mem::take(&mut self.body),
            content_type: self.content_type.take(),
        };
        Ok(self.respond(blob))
    }

    pub(crate) fn sent<T: DeserializeOwned>(self) -> Result<Response<Sent<T>>, Error> {
        if self.status == 409 {
            return Ok(self.respond(Sent::Duplicate));
        }
        let body = self.parse()?;
        Ok(self.respond(Sent::New(body)))
    }
}

#[async_trait::async_trait]
impl crate::webhook::account_link::LinkTokenIssuer for Client {
    async fn issue_link_token(&self, user_id: &crate::ids::UserId) -> Result<String, Error> {
        Ok(Client::issue_link_token(self, user_id).await?.body.link_token)
    }
}

/// Percent-encodes one path segment.
pub(crate) fn path_segment(s: &str) -> String {
    const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(s, SEGMENT).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(path_segment("richmenu-abc_1.2~"), "richmenu-abc_1.2~");
        assert_eq!(path_segment("a/b c"), "a%2Fb%20c");
    }

    #[test]
    fn every_operation_is_registered_once() {
        let mut ids: Vec<_> = operations::ALL.iter().map(|o| o.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), operations::ALL.len());
        assert_eq!(ids.len(), 110);
    }

    #[test]
    fn client_debug_hides_the_token() {
        let client = Client::new("tok-SECRET-123");
        let out = format!("{client:?}");
        assert!(!out.contains("tok-SECRET-123"), "{out}");
        assert!(out.contains("redacted"), "{out}");
    }
}
