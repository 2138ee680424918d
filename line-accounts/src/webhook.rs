//! One webhook endpoint for many channels (feature `axum`).
//!
//! LINE posts every channel's webhooks with the channel's bot user ID in the
//! body's `destination`. The [`ChannelEvents`] extractor:
//!
//! 1. refuses a request without `x-line-signature` (401) before reading its body;
//! 2. reads only `destination` from the body (no event is parsed yet);
//! 3. looks that bot user ID up in the registry: an unknown destination gets
//!    404, and no secret is touched;
//! 4. checks the signature with that channel's secret, with line-core's
//!    verifier: a signature made with any other secret gets 401;
//! 5. parses the body with line-core's parser.
//!
//! A body that is not JSON, or whose `destination` is missing or not a string,
//! gets 400 with a JSON pointer. Every refusal has a JSON body like line-core's
//! (`{"error": …, "kind": …, "pointer": …}`), and none names a secret.
//!
//! ```
//! use axum::{routing::post, Router};
//! use line_accounts::webhook::ChannelEvents;
//! use line_accounts::{Accounts, InMemoryRegistry};
//!
//! async fn callback(ChannelEvents { account, request, .. }: ChannelEvents) -> &'static str {
//!     println!("{} events for channel {}", request.events.len(), account.channel_id());
//!     "ok"
//! }
//!
//! let accounts = Accounts::builder(std::sync::Arc::new(InMemoryRegistry::new())).build()?;
//! let app: Router = Router::new().route("/callback", post(callback)).with_state(accounts);
//! # Ok::<(), line_accounts::Error>(())
//! ```

use std::borrow::Cow;
use std::sync::Arc;

use axum::extract::{FromRef, FromRequest, Request};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use http::StatusCode;
use line_core::webhook::axum::WebhookRejection;
use line_core::webhook::{CallbackRequest, SIGNATURE_HEADER};
use serde::Deserialize;

use crate::accounts::{AccountHandle, Accounts};
use crate::error::Error;

/// A verified and parsed webhook request of one of the registry's channels.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ChannelEvents {
    /// The account the request is for (its `destination`).
    pub account: Arc<AccountHandle>,
    /// The request, parsed.
    pub request: CallbackRequest,
}

/// Why a webhook request was refused.
#[derive(Debug)]
#[non_exhaustive]
pub enum ChannelWebhookRejection {
    /// The signature or the body, as line-core refuses them (401 or 400).
    Webhook(WebhookRejection),
    /// No account has the body's `destination` (404).
    UnknownDestination,
    /// The registry could not be read (500).
    Registry(Error),
}

impl ChannelWebhookRejection {
    /// The HTTP status the rejection answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Webhook(w) => w.status(),
            Self::UnknownDestination => StatusCode::NOT_FOUND,
            Self::Registry(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ChannelWebhookRejection {
    fn into_response(self) -> Response {
        match self {
            Self::Webhook(w) => w.into_response(),
            Self::UnknownDestination => (
                StatusCode::NOT_FOUND,
                Json(serde_json::json!({
                    "error": "no channel has this destination",
                    "kind": "unknown_destination",
                    "pointer": "/destination",
                })),
            )
                .into_response(),
            Self::Registry(e) => {
                tracing::error!("webhook: the account registry failed: {e}");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Json(serde_json::json!({"error": "the account registry failed", "kind": "registry"})),
                )
                    .into_response()
            }
        }
    }
}

fn reject(error: line_core::Error) -> ChannelWebhookRejection {
    let rejection = WebhookRejection::from(error);
    tracing::warn!(status = %rejection.status(), "webhook request rejected: {rejection}");
    ChannelWebhookRejection::Webhook(rejection)
}

/// Only the `destination` of a webhook body; every other property is skipped unread.
#[derive(Deserialize)]
struct Head<'a> {
    #[serde(borrow)]
    destination: Option<Cow<'a, str>>,
}

/// The body's `destination`, read without parsing the events. Errors are
/// line-core [`Parse`](line_core::ErrorKind::Parse) errors with a JSON pointer.
pub fn read_destination(body: &[u8]) -> Result<String, line_core::Error> {
    let head: Head<'_> = match serde_json::from_slice(body) {
        Ok(h) => h,
        // The slow path, for the pointer of what is wrong.
        Err(_) => line_core::error::from_json_slice::<Head<'_>>(body)?,
    };
    match head.destination {
        Some(d) => Ok(d.into_owned()),
        None => Err(line_core::Error::new(line_core::ErrorKind::Parse {
            pointer: "/destination".into(),
            reason: "missing destination: the request cannot be routed to a channel".into(),
        })),
    }
}

async fn extract<S>(req: Request, state: &S) -> Result<ChannelEvents, ChannelWebhookRejection>
where
    S: Send + Sync,
    Accounts: FromRef<S>,
{
    let accounts = Accounts::from_ref(state);
    let signature = match req.headers().get(SIGNATURE_HEADER).map(|v| v.to_str()) {
        None => return Err(reject(line_core::Error::new(line_core::ErrorKind::MissingSignature))),
        Some(Err(_)) => return Err(reject(line_core::Error::new(line_core::ErrorKind::MalformedSignature))),
        Some(Ok(s)) => s.to_owned(),
    };
    let body = Bytes::from_request(req, state).await.map_err(|e| {
        // Too large or unreadable: axum's own answer, kept as line-core would.
        tracing::debug!(status = %e.status(), "webhook body could not be read");
        ChannelWebhookRejection::Webhook(WebhookRejection::from(line_core::Error::new(
            line_core::ErrorKind::Parse {
                pointer: String::new(),
                reason: "the body could not be read".into(),
            },
        )))
    })?;
    let destination = read_destination(&body).map_err(reject)?;
    let account = accounts
        .by_destination(&destination)
        .await
        .map_err(ChannelWebhookRejection::Registry)?
        .ok_or(ChannelWebhookRejection::UnknownDestination)?;
    account.verifier().verify(&body, Some(&signature)).map_err(reject)?;
    let request = line_core::webhook::parse(&body).map_err(reject)?;
    Ok(ChannelEvents { account, request })
}

impl<S> FromRequest<S> for ChannelEvents
where
    S: Send + Sync,
    Accounts: FromRef<S>,
{
    type Rejection = ChannelWebhookRejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        extract(req, state).await
    }
}
