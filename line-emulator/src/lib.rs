#![doc = include_str!("../README.md")]

// The modules import each other downward only (no file imports one that imports it back):
// - leaves: `error`, `faults`, `config`, `ratelimit`, `validate`, and the per-feature state
//   with its public types: `pnp` (phone numbers, deliveries) and `oauth` (registered
//   channels, issued tokens);
// - `state`: one channel's state (uses `pnp`, `ratelimit`);
// - `handler`: `Shared`, `Channel`, and the request/answer vocabulary (`Ctx`, `Answer`, `Reply`);
// - `webhook` (signed deliveries) and `login` (LINE Login keys and its two handlers);
// - the endpoints in `api/*` (`api::oauth` and `api::pnp` included), `channels`, `admin`;
// - `server` (routing, auth, faults, rate limits), then this file: `Emulator` and its methods.

pub mod admin;
mod api;
#[cfg(feature = "browser")]
pub mod browser;
pub mod channels;
mod config;
mod error;
pub mod faults;
mod handler;
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
use std::sync::{Arc, Mutex, RwLock};

use line_core::client::ClientBuilder;
use line_core::ids::UserId;
use line_core::secret::{ChannelAccessToken, ChannelSecret};
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use channels::{ChannelHandle, ChannelSpec, DEFAULT_CHANNEL_ID};
pub use config::{EmulatorConfig, DEFAULT_CHANNEL_SECRET};
pub use error::{Error, ErrorKind};
pub use faults::{FaultConfig, FaultCounts, FaultRule};
pub use pnp::{PhoneKind, PhoneUser, PnpDelivered};
pub use state::{ReceivedMessage, User, UserSpec};
pub use webhook::WebhookDelivery;

use login::IdTokenSpec;
use oauth::IssuedToken;

use handler::{Channel, Channels, Initial, Shared};
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
        let initial = Initial {
            seed: config.seed,
            friends: config.friends,
            monthly_quota: config.monthly_quota,
            faults: config.faults.clone(),
        };
        let mut state = Channel::initial_state(&initial);
        let bot_user_id = state.hex_id("U");
        let token = config
            .token
            .clone()
            .unwrap_or_else(|| ChannelAccessToken::new(ANY_TOKEN));
        let default = Arc::new(Channel::new(
            DEFAULT_CHANNEL_ID.to_owned(),
            bot_user_id,
            config.channel_secret.clone(),
            token,
            config.webhook_url.clone(),
            initial,
            state,
        ));
        let mut channels = Channels::default();
        channels
            .by_id
            .insert(DEFAULT_CHANNEL_ID.to_owned(), Arc::clone(&default));
        let extra = config.channels;
        let shared = Arc::new(Shared {
            oauth: Mutex::new(oauth::OAuth::default()),
            config,
            default,
            channels: RwLock::new(channels),
            http,
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
        let emu = Self {
            shared,
            addr,
            stop: Some(stop),
            task: Some(task),
        };
        for _ in 0..extra {
            let spec = ChannelSpec::new()
                .friends(emu.shared.config.friends)
                .monthly_quota(emu.shared.config.monthly_quota);
            emu.add_channel(spec)?;
        }
        Ok(emu)
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
    /// configured token (or [`ANY_TOKEN`]): the default channel's.
    pub fn client_builder(&self) -> ClientBuilder {
        self.default_channel().client_builder()
    }

    /// The channel secret webhooks are signed with.
    pub fn channel_secret(&self) -> &ChannelSecret {
        &self.shared.config.channel_secret
    }

    /// The bot's own user id (`destination` of webhooks, `userId` of bot info).
    pub fn bot_user_id(&self) -> &str {
        &self.shared.default.bot_user_id
    }

    /// The state, with the jobs that are due run first.
    fn settled(&self) -> std::sync::MutexGuard<'_, State> {
        let mut st = self.shared.lock();
        st.settle(self.shared.now());
        st
    }

    /// Adds a channel and gives its handle. Errors name the field of `spec` that was
    /// rejected: a malformed or taken `channel_id`, `bot_user_id` or `token`, an empty
    /// `channel_secret`, a bad `webhook_url` or `faults`.
    ///
    /// Cheap: a channel is its credentials, an empty state and its friends (a thousand
    /// channels of a thousand friends each fit in one test process).
    pub fn add_channel(&self, spec: ChannelSpec) -> Result<ChannelHandle, Error> {
        channels::add_channel(&self.shared, spec)
    }

    /// The added channels, in the order they were added (the default channel is not one).
    pub fn channels(&self) -> Vec<ChannelHandle> {
        self.shared
            .read_channels()
            .added
            .iter()
            .map(|c| ChannelHandle {
                shared: Arc::clone(&self.shared),
                channel: Arc::clone(c),
            })
            .collect()
    }

    /// The channel with this ID: an added one, or the default channel for
    /// [`DEFAULT_CHANNEL_ID`].
    pub fn channel(&self, channel_id: &str) -> Option<ChannelHandle> {
        self.shared.channel(channel_id).map(|channel| ChannelHandle {
            shared: Arc::clone(&self.shared),
            channel,
        })
    }

    /// The default channel: today's single channel, which the emulator's own methods act on.
    pub fn default_channel(&self) -> ChannelHandle {
        ChannelHandle {
            shared: Arc::clone(&self.shared),
            channel: Arc::clone(&self.shared.default),
        }
    }

    /// Registers a channel (or replaces its secret): its ID and channel secret, for
    /// the token endpoints ([`oauth`]). Tokens issued for a channel that was not added
    /// with [`Emulator::add_channel`] reach the default channel's state (with rate limits of
    /// their own channel); an added channel is registered already.
    pub fn register_channel(&self, channel_id: &str, secret: impl Into<ChannelSecret>) -> Result<(), Error> {
        self.shared.lock_oauth().register_channel(channel_id, secret.into())
    }

    /// Registers the public key of a channel's assertion signing key (a JWK: `kty`
    /// `RSA`, `alg` `RS256`, `use` `sig` or `key_ops` `["verify"]`, `n`, `e`, 2048
    /// bits, and no `kid`, as LINE's console wants) and gives its `kid`.
    pub fn register_public_key(&self, channel_id: &str, jwk: &Value) -> Result<String, Error> {
        let key = oauth::public_key(jwk)?;
        self.shared.lock_oauth().add_public_key(channel_id, key)
    }

    /// Every token issued for `channel_id`, oldest expiry first.
    pub fn issued_tokens(&self, channel_id: &str) -> Vec<IssuedToken> {
        self.shared.lock_oauth().issued_tokens(channel_id)
    }

    /// The channel an issued access token is bound to (whether or not it is still valid).
    pub fn token_channel(&self, access_token: &str) -> Option<String> {
        self.shared.lock_oauth().channel_of_token(access_token)
    }

    /// The channel ID of the emulator's LINE Login channel ([`login`]).
    pub fn login_channel_id(&self) -> &'static str {
        login::LOGIN_CHANNEL_ID
    }

    /// An ES256 ID token for `user_id`, valid for an hour, signed with the emulator's key.
    pub fn mint_id_token(&self, user_id: &str, nonce: Option<&str>) -> String {
        let mut spec = IdTokenSpec::new(user_id);
        spec.nonce = nonce.map(str::to_owned);
        self.mint_id_token_with(&spec)
    }

    /// An ES256 ID token as `spec` says.
    pub fn mint_id_token_with(&self, spec: &IdTokenSpec) -> String {
        login::mint_id_token(spec)
    }

    /// A LINE Login access token for `client_id` that `GET /oauth2/v2.1/verify` reports with
    /// `expires_in` seconds left (the endpoint refuses it once that is not positive).
    pub fn issue_login_access_token(&self, client_id: &str, expires_in: i64) -> String {
        login::issue_access_token(client_id, expires_in)
    }

    /// Every simulated user of the default channel, in the order they were added.
    pub fn users(&self) -> Vec<User> {
        self.default_channel().users()
    }

    /// The ids of the users who are friends and have not blocked the account.
    pub fn follower_ids(&self) -> Vec<UserId> {
        self.default_channel().follower_ids()
    }

    /// Adds a user (or replaces one with the same id) and returns its id.
    pub fn add_user(&self, spec: UserSpec) -> UserId {
        self.default_channel().add_user(spec)
    }

    /// Adds `n` friends with generated profiles and demographics.
    pub fn add_friends(&self, n: usize) {
        self.default_channel().add_friends(n)
    }

    /// The messages `user` received from the default channel, in order, each with its
    /// request id.
    pub fn messages(&self, user: &UserId) -> Vec<ReceivedMessage> {
        self.default_channel().messages(user)
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

    /// How many messages the default channel delivered in all.
    pub fn delivered_count(&self) -> usize {
        self.default_channel().delivered_count()
    }

    /// Calls to one operation (by operationId, e.g. `"multicast"`) over all channels, faulty
    /// ones included; `"unknown"` counts unmatched paths. [`ChannelHandle::calls`] counts
    /// one channel's.
    pub fn calls(&self, operation_id: &str) -> u64 {
        self.call_counts().get(operation_id).copied().unwrap_or(0)
    }

    /// Calls per operationId over all channels.
    pub fn call_counts(&self) -> BTreeMap<String, u64> {
        let channels: Vec<Arc<Channel>> = self.shared.read_channels().by_id.values().cloned().collect();
        let mut all = BTreeMap::new();
        for c in channels {
            for (op, n) in c.calls() {
                *all.entry(op).or_insert(0) += n;
            }
        }
        all
    }

    /// Messages counted against the default channel's monthly quota.
    pub fn quota_consumption(&self) -> u64 {
        self.default_channel().quota_consumption()
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
        self.default_channel().issue_reply_token(user)
    }

    /// Adds (or replaces) a phone number for LINE notification messages to the default
    /// channel ([`ChannelHandle::add_phone_user`] for another one). Fails with a config error
    /// naming `e164` (not echoing it) when it is not `+` and 2 to 15 digits.
    pub fn add_phone_user(&self, user: PhoneUser) -> Result<(), Error> {
        self.default_channel().add_phone_user(user)
    }

    /// The delay of the default channel's delivery webhook for numbers without their own
    /// (default: none; the webhook still goes after the push has been answered).
    pub fn set_pnp_delivery_delay(&self, delay: std::time::Duration) {
        self.default_channel().set_pnp_delivery_delay(delay)
    }

    /// Notification messages the default channel delivered so far, in order.
    pub fn pnp_deliveries(&self) -> Vec<PnpDelivered> {
        self.default_channel().pnp_deliveries()
    }

    /// Delivery webhooks the default channel sent (or attempted) so far.
    pub fn pnp_webhooks_sent(&self) -> u64 {
        self.default_channel().pnp_webhooks_sent()
    }

    /// The default channel's pushes answered 422.
    pub fn pnp_refused(&self) -> u64 {
        self.default_channel().pnp_refused()
    }

    /// Replaces the default channel's fault configuration (and reseeds its RNG); an added
    /// channel has its own ([`ChannelHandle::set_faults`]).
    pub fn set_faults(&self, faults: FaultConfig) -> Result<(), Error> {
        self.default_channel().set_faults(faults)
    }

    /// Faults injected on the default channel since its configuration was last set.
    pub fn fault_counts(&self) -> FaultCounts {
        self.default_channel().fault_counts()
    }

    /// The default channel's fault configuration.
    pub fn faults(&self) -> FaultConfig {
        self.default_channel().faults()
    }

    /// Back to the state at start, in every channel: the same seeded friends,
    /// nothing sent, no rich menus or audiences, the initial quota and faults, no
    /// issued tokens (added and registered channels, their ready tokens and keys stay).
    pub fn reset(&self) {
        self.shared.reset();
    }

    /// `user` adds the account as a friend (or unblocks it); sends a `follow` event.
    pub async fn follow(&self, user: &UserId) -> Result<WebhookDelivery, Error> {
        self.default_channel().follow(user).await
    }

    /// `user` blocks the account; sends an `unfollow` event.
    pub async fn unfollow(&self, user: &UserId) -> Result<WebhookDelivery, Error> {
        self.default_channel().unfollow(user).await
    }

    /// `user` sends a text message; sends a `message` event (with a reply
    /// token and a `markAsReadToken`).
    pub async fn send_text(&self, user: &UserId, text: &str) -> Result<WebhookDelivery, Error> {
        self.default_channel().send_text(user, text).await
    }

    /// `user` taps a postback action with `data`; sends a `postback` event.
    pub async fn postback(&self, user: &UserId, data: &str) -> Result<WebhookDelivery, Error> {
        self.default_channel().postback(user, data).await
    }

    /// The user of `link_token` finishes LINE's account-link page with
    /// `nonce`; sends an `accountLink` event (`result: ok`, or `failed` for a
    /// used or expired token). A link token works once. The channel that issued the
    /// token sends the event.
    pub async fn complete_account_link(&self, link_token: &str, nonce: &str) -> Result<WebhookDelivery, Error> {
        channels::link_channel(&self.shared, link_token)
            .complete_account_link(link_token, nonce)
            .await
    }

    /// Sends arbitrary events (each gets `webhookEventId`, `deliveryContext`,
    /// `timestamp` and `mode` if missing) to the webhook.
    pub async fn send_events(&self, events: Vec<Value>) -> Result<WebhookDelivery, Error> {
        self.default_channel().send_events(events).await
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
