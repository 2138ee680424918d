//! # line-emulator
//!
//! A local LINE Messaging API, in the spirit of LocalStack: an axum server on
//! 127.0.0.1 that keeps everything in memory and behaves like LINE on the
//! endpoints bots use most. Our tests, benchmarks and the tour run on it, and
//! so can your CI, in any language.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use line_core::model::{PushMessageRequest, TextMessage};
//! use line_emulator::{Emulator, EmulatorConfig};
//!
//! let emu = Emulator::start_with(EmulatorConfig::new().friends(2)).await?;
//! let client = emu.client_builder().build()?;
//! let alice = emu.users()[0].user_id.clone();
//! let req = PushMessageRequest::new(alice.as_str(), vec![TextMessage::new("hi").into()]);
//! let sent = client.push_message(&req).await?;
//! let inbox = emu.messages(&alice);
//! assert_eq!(inbox.len(), 1);
//! assert_eq!(Some(&inbox[0].request_id), sent.request_id.as_ref());
//! emu.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! What it covers:
//! - Sending: reply, push, multicast, narrowcast (audiences, redelivery,
//!   demographic filters, limits, progress) and broadcast, with LINE's error
//!   shape, retry keys (409 with `x-line-accepted-request-id`, kept 24 h of
//!   emulated time), a monthly quota and the quota endpoints.
//! - Message checks of its own, written from LINE's reference, on every send
//!   endpoint and on `/v2/bot/message/validate/*`: 1 to 5 messages, text
//!   lengths in UTF-16 units, LINE emojis, media URLs (HTTPS, 2,000
//!   characters), stickers, locations, imagemaps, templates (alt text, action
//!   counts, labels), quick replies (13 items) and Flex (alt text, bubble or
//!   carousel of at most 12 bubbles, JSON size, which component may go where,
//!   required fields, keywords and units, aspect ratios, action rules). Every
//!   problem is one `details[]` entry with LINE's property path
//!   (`messages[0].contents.body.contents[1].url`); a rejected send delivers
//!   nothing and uses no quota.
//! - Profiles, follower ids with paging, bot info, link tokens and the
//!   account-link flow, loading animation, mark-as-read.
//! - Rich menus: objects, images, default, per-user and bulk links, aliases,
//!   batches with progress, and LINE's limits.
//! - Audiences for uploaded user ids (JSON).
//! - LINE's rate limits, counted by the emulator itself (not with the client's
//!   limiter) per channel (bearer token) and per endpoint, as a strict sliding
//!   window (at most the limit in any span of the window, in emulated time,
//!   with a time scale), `x-line-request-id`
//!   on every answer, 404 in LINE's shape for unknown endpoints.
//! - Webhooks to a configured URL, signed with the channel secret, with
//!   helpers that make a simulated user follow, write, tap a postback or finish
//!   an account link.
//! - LINE Login ([`login`]): `GET /oauth2/v2.1/certs` with the emulator's own
//!   ES256 key, `POST /oauth2/v2.1/verify` for ID tokens and
//!   `GET /oauth2/v2.1/verify` for access tokens, and methods that mint tokens
//!   for tests ([`Emulator::mint_id_token`]).
//! - Channel access tokens per channel ([`oauth`]): registered channels and
//!   assertion keys, v2.1 tokens from signed JWT assertions, short-lived and
//!   stateless tokens, verify and revoke; API calls with a revoked or expired
//!   token get 401.
//! - LINE notification messages ([`pnp`]): phone numbers with and without LINE
//!   (and ones that never confirm), `POST /bot/pnp/push` with LINE's 200, 422 and
//!   400 answers, the signed `delivery` completion webhook with the delivery tag
//!   after a configurable delay, and `GET /v2/bot/message/delivery/pnp`.
//! - Fault injection per endpoint ([`faults`]) and an inspection API (this
//!   type's methods) and an admin HTTP interface ([`admin`]).
//!
//! With the feature `browser`, `browser` is a headless-Chromium harness for
//! browser tests (chromedriver over WebDriver, with a Chrome DevTools escape
//! hatch), shared by the workspace's page tests.

pub mod admin;
mod api;
#[cfg(feature = "browser")]
pub mod browser;
mod config;
mod error;
pub mod faults;
pub mod login;
pub mod oauth;
pub mod pnp;
mod ratelimit;
mod server;
mod state;
mod validate;
mod webhook;

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use line_core::client::ClientBuilder;
use line_core::ids::UserId;
use line_core::secret::ChannelSecret;
use serde_json::{json, Value};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use config::{EmulatorConfig, DEFAULT_CHANNEL_SECRET};
pub use error::{Error, ErrorKind};
pub use faults::{FaultConfig, FaultCounts, FaultRule};
pub use pnp::{PhoneKind, PhoneUser, PnpDelivered};
pub use state::{ReceivedMessage, User, UserSpec};
pub use webhook::WebhookDelivery;

use server::Shared;
use state::State;

/// The bearer token [`Emulator::client_builder`] uses when no token is configured.
pub const ANY_TOKEN: &str = "line-emulator-token";

/// The first line `linectl emulator` prints on stdout:
/// `listening on http://127.0.0.1:PORT`.
///
/// ```
/// let addr: std::net::SocketAddr = "127.0.0.1:8080".parse().unwrap();
/// assert_eq!(line_emulator::listening_line(addr), "listening on http://127.0.0.1:8080");
/// ```
pub fn listening_line(addr: SocketAddr) -> String {
    format!("listening on http://{addr}")
}

/// A running emulator. Dropping it stops the server.
#[derive(Debug)]
pub struct Emulator {
    shared: Arc<Shared>,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Emulator {
    /// Starts an emulator with [`EmulatorConfig::new`] on a random port.
    pub async fn start() -> Result<Self, Error> {
        Self::start_with(EmulatorConfig::new()).await
    }

    /// Starts an emulator with `config` on the current tokio runtime.
    pub async fn start_with(config: EmulatorConfig) -> Result<Self, Error> {
        config.validate()?;
        let bind = SocketAddr::from((Ipv4Addr::LOCALHOST, config.port));
        let listener = tokio::net::TcpListener::bind(bind)
            .await
            .map_err(|e| Error::with_source(ErrorKind::Bind { addr: bind.to_string() }, e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::with_source(ErrorKind::Bind { addr: bind.to_string() }, e))?;
        let http = reqwest::Client::builder().build().map_err(|e| {
            let kind = ErrorKind::Config {
                field: "http".into(),
                reason: "cannot build the HTTP client".into(),
            };
            Error::with_source(kind, e)
        })?;
        let mut state = State::new(config.seed, config.friends);
        let bot_user_id = state.hex_id("U");
        let shared = Arc::new(Shared {
            faults: Mutex::new(faults::Faults::new(config.faults.clone())),
            oauth: Mutex::new(oauth::OAuth::default()),
            config,
            state: Mutex::new(state),
            http,
            bot_user_id,
            base_url: format!("http://{addr}"),
        });
        let (stop, stopped) = oneshot::channel::<()>();
        let app = server::router(Arc::clone(&shared));
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(e) = serve.await {
                tracing::error!(error = %e, "line-emulator server stopped");
            }
        });
        Ok(Self {
            shared,
            addr,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// The socket address (always 127.0.0.1).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`: the base URL of both api.line.me and
    /// api-data.line.me paths (one port serves both).
    pub fn base_url(&self) -> &str {
        &self.shared.base_url
    }

    /// The base URL for api.line.me operations (the same as [`base_url`](Self::base_url)).
    pub fn api_base_url(&self) -> &str {
        self.base_url()
    }

    /// The base URL for api-data.line.me operations (the same as [`base_url`](Self::base_url)).
    pub fn data_base_url(&self) -> &str {
        self.base_url()
    }

    /// A line-core client builder pointed at this emulator, with the
    /// configured token (or [`ANY_TOKEN`]).
    pub fn client_builder(&self) -> ClientBuilder {
        let token = self.shared.config.token.clone().unwrap_or_else(|| ANY_TOKEN.into());
        line_core::client::Client::builder()
            .token(token)
            .base_url(self.base_url())
    }

    /// The channel secret webhooks are signed with.
    pub fn channel_secret(&self) -> &ChannelSecret {
        &self.shared.config.channel_secret
    }

    /// The bot's own user id (`destination` of webhooks, `userId` of bot info).
    pub fn bot_user_id(&self) -> &str {
        &self.shared.bot_user_id
    }

    /// The state, with the jobs that are due run first.
    fn settled(&self) -> std::sync::MutexGuard<'_, State> {
        let mut st = self.shared.lock();
        st.settle(self.shared.now());
        st
    }

    pub(crate) fn users_of(shared: &Shared) -> Vec<User> {
        shared.lock().users.iter().map(state::SimUser::view).collect()
    }

    /// Every simulated user, in the order they were added.
    pub fn users(&self) -> Vec<User> {
        Self::users_of(&self.shared)
    }

    /// The ids of the users who are friends and have not blocked the account.
    pub fn follower_ids(&self) -> Vec<UserId> {
        let st = self.shared.lock();
        st.users
            .iter()
            .filter(|u| u.reachable())
            .map(|u| u.user_id.clone())
            .collect()
    }

    /// Adds a user (or replaces one with the same id) and returns its id.
    pub fn add_user(&self, spec: UserSpec) -> UserId {
        let mut st = self.shared.lock();
        let i = st.add_user(spec);
        st.users[i].user_id.clone()
    }

    /// Adds `n` friends with generated profiles and demographics.
    pub fn add_friends(&self, n: usize) {
        self.shared.lock().seed_friends(n);
    }

    /// The messages `user` received, in order, each with its request id.
    pub fn messages(&self, user: &UserId) -> Vec<ReceivedMessage> {
        self.settled().inbox.get(user.as_str()).cloned().unwrap_or_default()
    }

    /// The users a push or multicast carrying the aggregation unit `unit`
    /// (`customAggregationUnits`) was delivered to, in the order they were added.
    pub fn unit_recipients(&self, unit: &str) -> Vec<UserId> {
        let st = self.shared.lock();
        st.units
            .get(unit)
            .map(|u| u.delivered.iter().map(|&i| st.users[i].user_id.clone()).collect())
            .unwrap_or_default()
    }

    /// `user` opens the messages of `unit` they received; LINE's per-unit statistics
    /// (`getStatisticsPerUnit`) count each user once. False when no message of the unit reached
    /// them.
    pub fn open_unit(&self, user: &UserId, unit: &str) -> bool {
        self.unit_event(user, unit, false)
    }

    /// `user` opens a URL in a message of `unit` (which opens the message too). False when no
    /// message of the unit reached them.
    pub fn click_unit(&self, user: &UserId, unit: &str) -> bool {
        self.unit_event(user, unit, true)
    }

    fn unit_event(&self, user: &UserId, unit: &str, click: bool) -> bool {
        let mut st = self.shared.lock();
        let Some(i) = st.user(user.as_str()) else { return false };
        match st.units.get_mut(unit) {
            Some(u) if u.delivered.contains(&i) => {
                u.opened.insert(i);
                if click {
                    u.clicked.insert(i);
                }
                true
            }
            _ => false,
        }
    }

    /// How many messages were delivered in all.
    pub fn delivered_count(&self) -> usize {
        self.settled().inbox.values().map(Vec::len).sum()
    }

    /// Calls to one operation (by operationId, e.g. `"multicast"`), faulty
    /// ones included; `"unknown"` counts unmatched paths.
    pub fn calls(&self, operation_id: &str) -> u64 {
        self.shared.lock().calls.get(operation_id).copied().unwrap_or(0)
    }

    /// Calls per operationId.
    pub fn call_counts(&self) -> BTreeMap<String, u64> {
        self.shared.lock().calls.clone()
    }

    /// Messages counted against the monthly quota.
    pub fn quota_consumption(&self) -> u64 {
        self.settled().quota_used
    }

    /// The rich menu linked to `user` (per-user link, not the default).
    pub fn rich_menu_of(&self, user: &UserId) -> Option<String> {
        self.settled().user_rich_menu.get(user.as_str()).cloned()
    }

    /// The default rich menu.
    pub fn default_rich_menu(&self) -> Option<String> {
        self.settled().default_rich_menu.clone()
    }

    /// Ids of all rich menus, oldest first.
    pub fn rich_menu_ids(&self) -> Vec<String> {
        let st = self.shared.lock();
        let mut v: Vec<(&String, u64)> = st.rich_menus.iter().map(|(k, m)| (k, m.seq)).collect();
        v.sort_by_key(|(_, s)| *s);
        v.into_iter().map(|(k, _)| k.clone()).collect()
    }

    /// Rich-menu aliases, alias id to rich menu id.
    pub fn rich_menu_aliases(&self) -> BTreeMap<String, String> {
        self.shared.lock().aliases.clone()
    }

    /// The user ids of an audience, in upload order.
    pub fn audience_members(&self, audience_group_id: i64) -> Option<Vec<String>> {
        self.shared
            .lock()
            .audiences
            .get(&audience_group_id)
            .map(|a| a.user_ids.clone())
    }

    /// Loading animations shown: (user, seconds), in order.
    pub fn loading_animations(&self) -> Vec<(UserId, i32)> {
        self.shared.lock().loading.clone()
    }

    /// Users whose messages were marked as read, in order.
    pub fn marked_as_read(&self) -> Vec<UserId> {
        self.shared.lock().marked_read.clone()
    }

    /// Mints a reply token for `user`, as a webhook event would carry.
    pub fn issue_reply_token(&self, user: &UserId) -> Result<String, Error> {
        let mut st = self.shared.lock();
        let idx = st.user(user.as_str()).ok_or_else(|| unknown_user(user))?;
        let token = st.hex_id("");
        st.reply_tokens.insert(token.clone(), (idx, self.shared.now()));
        Ok(token)
    }

    /// Replaces the fault configuration (and reseeds its RNG).
    pub fn set_faults(&self, faults: FaultConfig) -> Result<(), Error> {
        faults.validate()?;
        *self.shared.lock_faults() = faults::Faults::new(faults);
        Ok(())
    }

    /// Faults injected since the configuration was last set.
    pub fn fault_counts(&self) -> FaultCounts {
        self.shared.lock_faults().counts()
    }

    /// The fault configuration in force.
    pub fn faults(&self) -> FaultConfig {
        self.shared.lock_faults().config().clone()
    }

    pub(crate) fn reset_shared(shared: &Shared) {
        *shared.lock() = State::new(shared.config.seed, shared.config.friends);
        *shared.lock_faults() = faults::Faults::new(shared.config.faults.clone());
        shared.lock_oauth().clear_tokens();
    }

    /// Back to the state at start: the same seeded friends, nothing sent,
    /// no rich menus or audiences, the initial faults, no issued tokens
    /// (registered channels and keys stay).
    pub fn reset(&self) {
        Self::reset_shared(&self.shared);
    }

    fn user_index(shared: &Shared, user: &UserId) -> Result<usize, Error> {
        shared.lock().user(user.as_str()).ok_or_else(|| unknown_user(user))
    }

    pub(crate) async fn follow_shared(shared: &Shared, user: &UserId) -> Result<WebhookDelivery, Error> {
        let idx = Self::user_index(shared, user)?;
        let now = shared.now();
        let ev = {
            let mut st = shared.lock();
            let was_blocked = st.users[idx].spec.blocked;
            st.users[idx].spec.friend = true;
            st.users[idx].spec.blocked = false;
            let mut ev = webhook::event(&mut st, "follow", user.as_str(), now);
            webhook::with_reply_token(&mut st, &mut ev, idx, now);
            ev["follow"] = json!({"isUnblocked": was_blocked});
            ev
        };
        webhook::deliver(shared, vec![ev]).await
    }

    /// `user` adds the account as a friend (or unblocks it); sends a `follow` event.
    pub async fn follow(&self, user: &UserId) -> Result<WebhookDelivery, Error> {
        Self::follow_shared(&self.shared, user).await
    }

    /// `user` blocks the account; sends an `unfollow` event.
    pub async fn unfollow(&self, user: &UserId) -> Result<WebhookDelivery, Error> {
        let idx = Self::user_index(&self.shared, user)?;
        let now = self.shared.now();
        let ev = {
            let mut st = self.shared.lock();
            st.users[idx].spec.blocked = true;
            webhook::event(&mut st, "unfollow", user.as_str(), now)
        };
        webhook::deliver(&self.shared, vec![ev]).await
    }

    pub(crate) async fn send_text_shared(shared: &Shared, user: &UserId, text: &str) -> Result<WebhookDelivery, Error> {
        let idx = Self::user_index(shared, user)?;
        let now = shared.now();
        let ev = {
            let mut st = shared.lock();
            let mut ev = webhook::event(&mut st, "message", user.as_str(), now);
            webhook::with_reply_token(&mut st, &mut ev, idx, now);
            let read_token = st.hex_id("r");
            st.read_tokens.insert(read_token.clone(), idx);
            let id = rand::Rng::random_range(&mut st.rng, 100_000_000_000_000_000u64..1_000_000_000_000_000_000);
            let quote = st.hex_id("q");
            ev["message"] = json!({
                "id": id.to_string(),
                "type": "text",
                "text": text,
                "quoteToken": quote,
                "markAsReadToken": read_token,
            });
            ev
        };
        webhook::deliver(shared, vec![ev]).await
    }

    /// `user` sends a text message; sends a `message` event (with a reply
    /// token and a `markAsReadToken`).
    pub async fn send_text(&self, user: &UserId, text: &str) -> Result<WebhookDelivery, Error> {
        Self::send_text_shared(&self.shared, user, text).await
    }

    pub(crate) async fn postback_shared(shared: &Shared, user: &UserId, data: &str) -> Result<WebhookDelivery, Error> {
        let idx = Self::user_index(shared, user)?;
        let now = shared.now();
        let ev = {
            let mut st = shared.lock();
            let mut ev = webhook::event(&mut st, "postback", user.as_str(), now);
            webhook::with_reply_token(&mut st, &mut ev, idx, now);
            ev["postback"] = json!({"data": data});
            ev
        };
        webhook::deliver(shared, vec![ev]).await
    }

    /// `user` taps a postback action with `data`; sends a `postback` event.
    pub async fn postback(&self, user: &UserId, data: &str) -> Result<WebhookDelivery, Error> {
        Self::postback_shared(&self.shared, user, data).await
    }

    pub(crate) async fn complete_account_link_shared(
        shared: &Shared,
        link_token: &str,
        nonce: &str,
    ) -> Result<WebhookDelivery, Error> {
        let now = shared.now();
        let ev = {
            let mut st = shared.lock();
            let Some(t) = st.link_tokens.get_mut(link_token) else {
                return Err(Error::new(ErrorKind::UnknownLinkToken));
            };
            let ttl = jiff::SignedDuration::from_secs(line_core::limits::LINK_TOKEN_TTL_SECS as i64);
            let ok = !t.used && now.duration_since(t.issued) <= ttl;
            t.used = true;
            let user_id = t.user_id.clone();
            let mut ev = webhook::event(&mut st, "accountLink", user_id.as_str(), now);
            if ok {
                if let Some(idx) = st.user(user_id.as_str()) {
                    webhook::with_reply_token(&mut st, &mut ev, idx, now);
                }
            }
            ev["link"] = json!({"result": if ok { "ok" } else { "failed" }, "nonce": nonce});
            ev
        };
        webhook::deliver(shared, vec![ev]).await
    }

    /// The user of `link_token` finishes LINE's account-link page with
    /// `nonce`; sends an `accountLink` event (`result: ok`, or `failed` for a
    /// used or expired token). A link token works once.
    pub async fn complete_account_link(&self, link_token: &str, nonce: &str) -> Result<WebhookDelivery, Error> {
        Self::complete_account_link_shared(&self.shared, link_token, nonce).await
    }

    /// Sends arbitrary events (each gets `webhookEventId`, `deliveryContext`,
    /// `timestamp` and `mode` if missing) to the webhook.
    pub async fn send_events(&self, events: Vec<Value>) -> Result<WebhookDelivery, Error> {
        let now = self.shared.now();
        let events = {
            let mut st = self.shared.lock();
            events
                .into_iter()
                .map(|mut e| {
                    let base = webhook::event(&mut st, "", "", now);
                    if let (Some(obj), Value::Object(b)) = (e.as_object_mut(), base) {
                        for (k, v) in b {
                            if k != "type" && k != "source" {
                                obj.entry(k).or_insert(v);
                            }
                        }
                    }
                    e
                })
                .collect()
        };
        webhook::deliver(&self.shared, events).await
    }

    /// Stops the server and waits for it.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    /// Serves until Ctrl-C, then stops (for `linectl emulator`).
    pub async fn run_until_ctrl_c(self) -> Result<(), Error> {
        let r = tokio::signal::ctrl_c().await;
        self.shutdown().await;
        r.map_err(|e| Error::with_source(ErrorKind::Signal, e))
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn unknown_user(user: &UserId) -> Error {
    Error::new(ErrorKind::UnknownUser {
        user_id: user.as_str().to_owned(),
    })
}
