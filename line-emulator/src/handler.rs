//! The types every handler shares: the emulator's [`Shared`] state, one [`Channel`]'s
//! state, the request as handlers see it ([`Ctx`]) and their answer ([`Answer`], [`Reply`]).
//!
//! It sits between the state below it (`state`, with the per-feature leaves `pnp` and
//! `oauth` that hold phone numbers and tokens) and everything that serves requests above it
//! (`webhook`, the endpoint modules `api/*`, `login`, `channels`, `admin`, `server`): it imports
//! none of those, so the crate's modules import each other in one direction only.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use axum::http::{HeaderMap, StatusCode};
use bytes::Bytes;
use jiff::Timestamp;
use line_core::client::Operation;
use line_core::ids::RequestId;
use line_core::secret::{ChannelAccessToken, ChannelSecret};
use serde::Serialize;

use crate::config::EmulatorConfig;
use crate::error::LineError;
use crate::faults::{FaultConfig, Faults};
use crate::state::State;

/// What every handler shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: EmulatorConfig,
    /// The channel of today's single-channel emulator: requests whose bearer token belongs
    /// to no added channel land here.
    pub(crate) default: Arc<Channel>,
    pub(crate) channels: RwLock<Channels>,
    pub(crate) oauth: Mutex<crate::oauth::OAuth>,
    pub(crate) http: reqwest::Client,
    pub(crate) base_url: String,
}

impl Shared {
    pub(crate) fn now(&self) -> Timestamp {
        self.config.clock.now()
    }

    /// The default channel's state.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.default.lock()
    }

    pub(crate) fn lock_oauth(&self) -> MutexGuard<'_, crate::oauth::OAuth> {
        self.oauth.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn read_channels(&self) -> std::sync::RwLockReadGuard<'_, Channels> {
        self.channels.read().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn write_channels(&self) -> std::sync::RwLockWriteGuard<'_, Channels> {
        self.channels.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The channel with this ID (the default channel included).
    pub(crate) fn channel(&self, channel_id: &str) -> Option<Arc<Channel>> {
        self.read_channels().by_id.get(channel_id).cloned()
    }

    /// Back to the state at start in every channel, and no issued tokens (channels,
    /// ready tokens and registered keys stay).
    pub(crate) fn reset(&self) {
        let channels: Vec<Arc<Channel>> = self.read_channels().by_id.values().cloned().collect();
        for c in channels {
            c.reset();
        }
        self.lock_oauth().clear_tokens();
    }

    /// The channel whose state serves a token the token endpoints issued for `channel_id`:
    /// an added channel, or the default one for a channel that was only registered.
    pub(crate) fn channel_or_default(&self, channel_id: &str) -> Arc<Channel> {
        self.channel(channel_id).unwrap_or_else(|| Arc::clone(&self.default))
    }
}

/// Every channel, by ID and by ready token.
#[derive(Default)]
pub(crate) struct Channels {
    /// Channel ID to channel; the default channel is here too.
    pub(crate) by_id: HashMap<String, Arc<Channel>>,
    /// An added channel's ready token to the channel (the token itself is the key: the map
    /// is never printed).
    pub(crate) by_token: HashMap<String, Arc<Channel>>,
    /// Added channels, in the order they were added.
    pub(crate) added: Vec<Arc<Channel>>,
}

impl std::fmt::Debug for Channels {
    // The ready tokens are keys of `by_token`: only the channel IDs are shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Channels")
            .field("added", &self.added.iter().map(|c| &c.channel_id).collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// What a channel starts with, and goes back to on reset.
#[derive(Debug, Clone)]
pub(crate) struct Initial {
    pub(crate) seed: u64,
    pub(crate) friends: usize,
    pub(crate) monthly_quota: Option<u64>,
    pub(crate) faults: FaultConfig,
}

/// One channel (LINE Official Account): its credentials, its webhook and its own state.
pub(crate) struct Channel {
    pub(crate) channel_id: String,
    pub(crate) bot_user_id: String,
    pub(crate) secret: ChannelSecret,
    /// The token that reaches this channel without the token endpoints (for the default
    /// channel, the configured token or [`crate::ANY_TOKEN`]).
    pub(crate) token: ChannelAccessToken,
    pub(crate) webhook_url: Option<String>,
    pub(crate) initial: Initial,
    pub(crate) state: Mutex<State>,
    pub(crate) faults: Mutex<Faults>,
}

impl std::fmt::Debug for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Channel")
            .field("channel_id", &self.channel_id)
            .field("bot_user_id", &self.bot_user_id)
            .field("webhook_url", &self.webhook_url)
            .finish_non_exhaustive()
    }
}

impl Channel {
    pub(crate) fn new(
        channel_id: String,
        bot_user_id: String,
        secret: ChannelSecret,
        token: ChannelAccessToken,
        webhook_url: Option<String>,
        initial: Initial,
        state: State,
    ) -> Self {
        Self {
            faults: Mutex::new(Faults::new(initial.faults.clone())),
            channel_id,
            bot_user_id,
            secret,
            token,
            webhook_url,
            initial,
            state: Mutex::new(state),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn lock_faults(&self) -> MutexGuard<'_, Faults> {
        self.faults.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A fresh state as at start: the seeded friends, nothing sent, the initial quota.
    pub(crate) fn initial_state(initial: &Initial) -> State {
        let mut st = State::new(initial.seed, initial.friends);
        st.monthly_quota = initial.monthly_quota;
        st
    }

    /// Back to the state at start, with the initial faults.
    pub(crate) fn reset(&self) {
        *self.lock() = Self::initial_state(&self.initial);
        *self.lock_faults() = Faults::new(self.initial.faults.clone());
    }

    /// Counts one call to `operation_id`.
    pub(crate) fn count_call(&self, operation_id: &str) {
        let mut st = self.lock();
        match st.calls.get_mut(operation_id) {
            Some(n) => *n += 1,
            None => {
                st.calls.insert(operation_id.to_owned(), 1);
            }
        }
    }

    pub(crate) fn calls(&self) -> BTreeMap<String, u64> {
        self.lock().calls.clone()
    }
}

/// One LINE API request, as the handlers see it.
#[derive(Debug)]
pub(crate) struct Ctx {
    pub(crate) op: &'static Operation,
    /// The channel the bearer token belongs to (the default channel for other tokens).
    pub(crate) channel: Arc<Channel>,
    pub(crate) params: Vec<String>,
    pub(crate) query: HashMap<String, String>,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
    pub(crate) request_id: RequestId,
    pub(crate) now: Timestamp,
    /// The fields of a `multipart/form-data` body, in order.
    pub(crate) form: Vec<(String, Bytes)>,
}

impl Ctx {
    /// The state of the request's channel.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.channel.lock()
    }

    /// The first form field called `name`.
    pub(crate) fn field(&self, name: &str) -> Option<&Bytes> {
        self.form.iter().find(|(n, _)| n == name).map(|(_, b)| b)
    }

    pub(crate) fn param(&self, i: usize) -> &str {
        self.params.get(i).map(String::as_str).unwrap_or("")
    }

    /// The JSON body as `T`; errors name the property (LINE's `details[].property`).
    pub(crate) fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, LineError> {
        let bytes: &[u8] = if self.body.iter().all(u8::is_ascii_whitespace) {
            b"null"
        } else {
            &self.body
        };
        line_core::error::from_json_slice(bytes).map_err(|e| match e.kind() {
            line_core::ErrorKind::Parse { pointer, reason } if !pointer.is_empty() => {
                LineError::property(crate::error::property_from_pointer(pointer), reason.clone())
            }
            line_core::ErrorKind::Parse { reason, .. } => {
                LineError::bad_request(format!("The request body could not be parsed as JSON: {reason}"))
            }
            _ => LineError::bad_request("The request body could not be parsed as JSON"),
        })
    }
}

/// A successful answer.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) body: AnswerBody,
    pub(crate) accepted_request_id: Option<RequestId>,
}

#[derive(Debug)]
pub(crate) enum AnswerBody {
    Json(serde_json::Value),
    Bytes(Bytes, String),
}

impl Answer {
    /// `status` with `{}`.
    pub(crate) fn empty(status: StatusCode) -> Self {
        Self {
            status,
            body: AnswerBody::Json(serde_json::Value::Object(Default::default())),
            accepted_request_id: None,
        }
    }

    /// 200 with `{}`.
    pub(crate) fn ok() -> Self {
        Self::empty(StatusCode::OK)
    }

    /// 202 with `{}`.
    pub(crate) fn accepted() -> Self {
        Self::empty(StatusCode::ACCEPTED)
    }

    /// 200 with a typed body.
    pub(crate) fn json<T: Serialize>(body: &T) -> Self {
        Self {
            status: StatusCode::OK,
            body: AnswerBody::Json(serde_json::to_value(body).unwrap_or_default()),
            accepted_request_id: None,
        }
    }

    pub(crate) fn bytes(bytes: Bytes, content_type: String) -> Self {
        Self {
            status: StatusCode::OK,
            body: AnswerBody::Bytes(bytes, content_type),
            accepted_request_id: None,
        }
    }
}

pub(crate) type Reply = Result<Answer, LineError>;
