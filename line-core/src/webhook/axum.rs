//! axum extractors that give a handler verified (and parsed) webhook requests.
//!
//! The [`WebhookVerifier`] comes from the router state through
//! [`FromRef`], so a state struct only needs a `WebhookVerifier` field and a
//! `FromRef` impl (or the verifier can be the whole state).
//!
//! A request with no or a bad signature gets `401`, a body that is not a
//! webhook request gets `400`; both with a JSON body such as
//! `{"error":"invalid json at /events: …","kind":"parse","pointer":"/events"}`.
//! Nothing secret is ever in a response. A request whose body is a webhook
//! request reaches the handler even when some of its events cannot be read:
//! those are [`Event::Invalid`](super::Event::Invalid), and the others are
//! not lost.

use axum::extract::{FromRef, FromRequest, Request};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use http::StatusCode;

use super::event::CallbackRequest;
use super::verify::{WebhookVerifier, SIGNATURE_HEADER};
use crate::error::{Error, ErrorKind};

/// The raw body of a webhook request whose signature was checked.
///
/// Use it when you parse the body yourself; otherwise take [`VerifiedEvents`].
#[derive(Debug, Clone)]
pub struct VerifiedBody(pub Bytes);

/// A webhook request whose signature was checked, parsed.
///
/// ```
/// use axum::{routing::post, Router};
/// use line_core::webhook::axum::VerifiedEvents;
/// use line_core::webhook::WebhookVerifier;
/// use line_core::ChannelSecret;
///
/// async fn callback(VerifiedEvents(request): VerifiedEvents) -> &'static str {
///     for event in &request.events {
///         println!("{}", event.kind());
///     }
///     "ok"
/// }
///
/// let verifier = WebhookVerifier::new(&ChannelSecret::new("my-channel-secret"));
/// let app: Router = Router::new().route("/callback", post(callback)).with_state(verifier);
/// ```
#[derive(Debug, Clone)]
pub struct VerifiedEvents(pub CallbackRequest);

impl VerifiedEvents {
    /// The parsed request.
    pub fn into_inner(self) -> CallbackRequest {
        self.0
    }
}

/// Why a webhook request was refused. As a response it is `401` (signature) or
/// `400` (body), with a JSON body that names the problem.
#[derive(Debug)]
pub struct WebhookRejection {
    status: StatusCode,
    kind: &'static str,
    message: String,
    error: Option<Error>,
}

impl WebhookRejection {
    fn from_error(error: Error) -> Self {
        let (status, kind) = match error.kind() {
            ErrorKind::MissingSignature => (StatusCode::UNAUTHORIZED, "missing_signature"),
            ErrorKind::MalformedSignature => (StatusCode::UNAUTHORIZED, "malformed_signature"),
            ErrorKind::InvalidSignature => (StatusCode::UNAUTHORIZED, "invalid_signature"),
            ErrorKind::Parse { .. } => (StatusCode::BAD_REQUEST, "parse"),
            _ => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        };
        Self {
            status,
            kind,
            message: error.to_string(),
            error: Some(error),
        }
    }

    /// The HTTP status the rejection answers with.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The underlying error, when the signature or the parse failed (not when the
    /// body could not be read).
    pub fn error(&self) -> Option<&Error> {
        self.error.as_ref()
    }
}

impl From<Error> for WebhookRejection {
    fn from(error: Error) -> Self {
        Self::from_error(error)
    }
}

impl std::fmt::Display for WebhookRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl IntoResponse for WebhookRejection {
    fn into_response(self) -> Response {
        let mut body = serde_json::Map::new();
        body.insert("error".into(), self.message.into());
        body.insert("kind".into(), self.kind.into());
        if let Some(ErrorKind::Parse { pointer, .. }) = self.error.as_ref().map(Error::kind) {
            body.insert("pointer".into(), pointer.clone().into());
        }
        (self.status, Json(serde_json::Value::Object(body))).into_response()
    }
}

/// Reads the body and checks its signature.
async fn verified_bytes<S>(req: Request, state: &S) -> Result<Bytes, WebhookRejection>
where
    S: Send + Sync,
    WebhookVerifier: FromRef<S>,
{
    let verifier = WebhookVerifier::from_ref(state);
    // Refuse unsigned requests before reading their bodies.
    let signature = match req.headers().get(SIGNATURE_HEADER).map(|v| v.to_str()) {
        None => return Err(reject(Error::new(ErrorKind::MissingSignature))),
        Some(Err(_)) => return Err(reject(Error::new(ErrorKind::MalformedSignature))),
        Some(Ok(s)) => s.to_owned(),
    };
    let body = Bytes::from_request(req, state).await.map_err(|e| {
        tracing::debug!(status = %e.status(), "webhook body could not be read");
        WebhookRejection {
            status: e.status(),
            kind: "body",
            message: e.body_text(),
            error: None,
        }
    })?;
    verifier.verify(&body, Some(&signature)).map_err(reject)?;
    Ok(body)
}

fn reject(error: Error) -> WebhookRejection {
    let rejection = WebhookRejection::from_error(error);
    tracing::warn!(kind = rejection.kind, "webhook request rejected: {}", rejection.message);
    rejection
}

impl<S> FromRequest<S> for VerifiedBody
where
    S: Send + Sync,
    WebhookVerifier: FromRef<S>,
{
    type Rejection = WebhookRejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        verified_bytes(req, state).await.map(VerifiedBody)
    }
}

impl<S> FromRequest<S> for VerifiedEvents
where
    S: Send + Sync,
    WebhookVerifier: FromRef<S>,
{
    type Rejection = WebhookRejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let body = verified_bytes(req, state).await?;
        super::parse(&body).map(VerifiedEvents).map_err(reject)
    }
}
