//! Many channels in one emulator: [`ChannelSpec`] describes one, [`Emulator::add_channel`](crate::Emulator::add_channel)
//! starts it, and its [`ChannelHandle`] gives its credentials and inspects its state.
//!
//! A request's channel comes from its bearer token: a channel's ready token
//! ([`ChannelHandle::token`]), or a token the token endpoints issued for it (v2.1, short-lived
//! or stateless: an added channel is registered for them with its ID and secret). Each channel
//! has its own bot user ID, channel secret, friends, inboxes (what user U received from this
//! channel), monthly quota and consumption, rate-limit windows, faults, calls, and webhooks:
//! sent to its webhook URL, signed with its secret, with its bot user ID as `destination`.
//!
//! The emulator's own methods ([`Emulator::messages`](crate::Emulator::messages), [`Emulator::set_faults`](crate::Emulator::set_faults), …) act on the
//! *default channel*, today's single channel: any other bearer token (or the configured one)
//! lands there, with the configured secret, friends, quota and faults.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use line_core::model::{PushMessageRequest, TextMessage};
//! use line_emulator::{ChannelSpec, Emulator};
//!
//! let emu = Emulator::start().await?;
//! let shop = emu.add_channel(ChannelSpec::new().friends(2).monthly_quota(Some(100)))?;
//! let cafe = emu.add_channel(ChannelSpec::new().friends(2))?;
//!
//! let alice = shop.follower_ids()[0].clone();
//! let client = shop.client_builder().build()?;
//! let req = PushMessageRequest::new(alice.as_str(), vec![TextMessage::new("hi").into()]);
//! client.push_message(&req).await?;
//!
//! assert_eq!(shop.messages(&alice).len(), 1);
//! assert_eq!(shop.quota_consumption(), 1);
//! assert_eq!(cafe.quota_consumption(), 0);
//! assert_eq!(emu.quota_consumption(), 0); // the default channel
//! assert_eq!(shop.calls("pushMessage"), 1);
//! assert_ne!(shop.bot_user_id(), cafe.bot_user_id());
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use line_core::client::ClientBuilder;
use line_core::ids::UserId;
use line_core::secret::{ChannelAccessToken, ChannelSecret};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use crate::error::{Error, ErrorKind};
use crate::faults::{FaultConfig, FaultCounts, Faults};
use crate::handler::{Channel, Initial, Shared};
use crate::oauth::{self, AssertionKeyPair};
use crate::pnp::{PhoneUser, PnpDelivered};
use crate::state::{ReceivedMessage, SimUser, User, UserSpec};
use crate::webhook::{self, WebhookDelivery};

/// The channel ID of the default channel (today's single channel).
pub const DEFAULT_CHANNEL_ID: &str = "1000000000";

/// The first generated channel ID; the `n`th added channel gets this plus `n - 1` (or the
/// next free one).
pub const FIRST_CHANNEL_ID: u64 = 1_600_000_001;

/// A channel to add with [`Emulator::add_channel`](crate::Emulator::add_channel). Anything not set is generated from the
/// emulator's seed and the channel's position, so a run is reproducible: a channel ID from
/// [`FIRST_CHANNEL_ID`] on, a bot user ID (`U` and 32 lowercase hex digits), a channel
/// secret (32 lowercase hex digits) and a ready token.
///
/// Defaults: no friends, no monthly quota, the emulator's webhook URL, no faults.
#[derive(Clone, Default)]
#[must_use]
pub struct ChannelSpec {
    channel_id: Option<String>,
    bot_user_id: Option<String>,
    secret: Option<ChannelSecret>,
    token: Option<ChannelAccessToken>,
    friends: usize,
    monthly_quota: Option<u64>,
    webhook_url: Option<String>,
    faults: FaultConfig,
    seed: Option<u64>,
}

impl std::fmt::Debug for ChannelSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChannelSpec")
            .field("channel_id", &self.channel_id)
            .field("bot_user_id", &self.bot_user_id)
            .field("secret", &self.secret)
            .field("token", &self.token)
            .field("friends", &self.friends)
            .field("monthly_quota", &self.monthly_quota)
            .field("webhook_url", &self.webhook_url)
            .finish_non_exhaustive()
    }
}

impl ChannelSpec {
    /// Everything generated, no friends.
    pub fn new() -> Self {
        Self::default()
    }

    /// A fixed channel ID (1 to 20 digits).
    pub fn channel_id(mut self, id: impl Into<String>) -> Self {
        self.channel_id = Some(id.into());
        self
    }

    /// A fixed bot user ID (`U` and 32 lowercase hex digits).
    pub fn bot_user_id(mut self, id: impl Into<String>) -> Self {
        self.bot_user_id = Some(id.into());
        self
    }

    /// A fixed channel secret.
    pub fn channel_secret(mut self, secret: impl Into<ChannelSecret>) -> Self {
        self.secret = Some(secret.into());
        self
    }

    /// A fixed ready token (a channel access token that reaches this channel).
    pub fn token(mut self, token: impl Into<ChannelAccessToken>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// Seeds `n` friends with generated profiles and demographics.
    pub fn friends(mut self, n: usize) -> Self {
        self.friends = n;
        self
    }

    /// The monthly message quota (`None`: no limit).
    pub fn monthly_quota(mut self, quota: Option<u64>) -> Self {
        self.monthly_quota = quota;
        self
    }

    /// Where this channel's webhooks go (an `http://` URL); the emulator's by default.
    pub fn webhook_url(mut self, url: impl Into<String>) -> Self {
        self.webhook_url = Some(url.into());
        self
    }

    /// The channel's initial faults.
    pub fn faults(mut self, faults: FaultConfig) -> Self {
        self.faults = faults;
        self
    }

    /// The seed of the channel's friends and ids (generated otherwise).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }
}

fn valid_bot_user_id(id: &str) -> bool {
    id.len() == 33
        && id.starts_with('U')
        && id[1..]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Adds a channel and gives its handle ([`Emulator::add_channel`](crate::Emulator::add_channel) says what is checked).
pub(crate) fn add_channel(shared: &Arc<Shared>, spec: ChannelSpec) -> Result<ChannelHandle, Error> {
    if let Some(id) = &spec.channel_id {
        if id.is_empty() || id.len() > 20 || !id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::config("channel_id", "must be 1 to 20 digits"));
        }
    }
    if let Some(id) = &spec.bot_user_id {
        if !valid_bot_user_id(id) {
            return Err(Error::config("bot_user_id", "must be U and 32 lowercase hex digits"));
        }
    }
    if spec.secret.as_ref().is_some_and(|s| s.expose().is_empty()) {
        return Err(Error::config("channel_secret", "must not be empty"));
    }
    if spec.token.as_ref().is_some_and(|t| t.expose().is_empty()) {
        return Err(Error::config("token", "must not be empty"));
    }
    let webhook_url = spec.webhook_url.clone().or_else(|| shared.config.webhook_url.clone());
    if let Some(url) = &spec.webhook_url {
        crate::config::check_webhook_url(url)?;
    }
    spec.faults.validate()?;

    let channel = {
        let mut channels = shared.write_channels();
        let position = channels.added.len() as u64 + 1;
        let mut rng = StdRng::seed_from_u64(shared.config.seed ^ position.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let channel_id = match spec.channel_id {
            Some(id) if channels.by_id.contains_key(&id) => {
                return Err(Error::config("channel_id", format!("channel {id} already exists")))
            }
            Some(id) => id,
            None => (FIRST_CHANNEL_ID + position - 1..)
                .map(|n| n.to_string())
                .find(|id| !channels.by_id.contains_key(id))
                .unwrap_or_default(),
        };
        let taken_bot = |id: &str| channels.by_id.values().any(|c| c.bot_user_id == id);
        let bot_user_id = match spec.bot_user_id {
            Some(id) if taken_bot(&id) => {
                return Err(Error::config("bot_user_id", "another channel has this bot user ID"))
            }
            Some(id) => id,
            None => loop {
                let id = format!("U{:032x}", rng.random::<u128>());
                if !taken_bot(&id) {
                    break id;
                }
            },
        };
        let secret = spec
            .secret
            .unwrap_or_else(|| ChannelSecret::new(format!("{:032x}", rng.random::<u128>())));
        let default_token = shared.config.token.as_ref().map(|t| t.expose().to_owned());
        let token = match spec.token {
            Some(t) if channels.by_token.contains_key(t.expose()) || default_token.as_deref() == Some(t.expose()) => {
                return Err(Error::config("token", "another channel has this token"))
            }
            Some(t) => t,
            None => loop {
                let t = format!("emu{channel_id}x{:032x}", rng.random::<u128>());
                if !channels.by_token.contains_key(&t) {
                    break ChannelAccessToken::new(t);
                }
            },
        };
        let initial = Initial {
            seed: spec.seed.unwrap_or_else(|| rng.random()),
            friends: spec.friends,
            monthly_quota: spec.monthly_quota,
            faults: spec.faults,
        };
        let state = Channel::initial_state(&initial);
        let channel = Arc::new(Channel::new(
            channel_id.clone(),
            bot_user_id,
            secret,
            token,
            webhook_url,
            initial,
            state,
        ));
        channels.by_id.insert(channel_id, Arc::clone(&channel));
        channels
            .by_token
            .insert(channel.token.expose().to_owned(), Arc::clone(&channel));
        channels.added.push(Arc::clone(&channel));
        channel
    };
    // The token endpoints know the channel by its ID and secret.
    shared
        .lock_oauth()
        .register_channel(&channel.channel_id, channel.secret.clone())?;
    Ok(ChannelHandle {
        shared: Arc::clone(shared),
        channel,
    })
}

/// The channel that issued `link_token` (the default channel if none did): the account-link
/// page names no channel.
pub(crate) fn link_channel(shared: &Arc<Shared>, link_token: &str) -> ChannelHandle {
    let channels: Vec<Arc<Channel>> = shared.read_channels().by_id.values().cloned().collect();
    channels
        .into_iter()
        .map(|channel| ChannelHandle {
            shared: Arc::clone(shared),
            channel,
        })
        .find(|h| h.has_link_token(link_token))
        .unwrap_or_else(|| ChannelHandle {
            shared: Arc::clone(shared),
            channel: Arc::clone(&shared.default),
        })
}

/// One channel of a running emulator: its credentials and its state. Cheap to clone.
///
/// `Debug` shows the channel ID and bot user ID only.
#[derive(Clone)]
pub struct ChannelHandle {
    pub(crate) shared: Arc<Shared>,
    pub(crate) channel: Arc<Channel>,
}

impl std::fmt::Debug for ChannelHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChannelHandle")
            .field("channel_id", &self.channel.channel_id)
            .field("bot_user_id", &self.channel.bot_user_id)
            .finish_non_exhaustive()
    }
}

impl ChannelHandle {
    /// The channel ID.
    pub fn channel_id(&self) -> &str {
        &self.channel.channel_id
    }

    /// The bot's user ID: the `destination` of this channel's webhooks.
    pub fn bot_user_id(&self) -> &str {
        &self.channel.bot_user_id
    }

    /// The channel secret its webhooks are signed with (and the token endpoints check).
    pub fn channel_secret(&self) -> &ChannelSecret {
        &self.channel.secret
    }

    /// The ready token: a channel access token for this channel that needs no token endpoint.
    /// For the default channel, the configured token or [`ANY_TOKEN`](crate::ANY_TOKEN).
    pub fn token(&self) -> &ChannelAccessToken {
        &self.channel.token
    }

    /// Where this channel's webhooks go, if anywhere.
    pub fn webhook_url(&self) -> Option<&str> {
        self.channel.webhook_url.as_deref()
    }

    /// A line-core client builder pointed at the emulator with this channel's ready token.
    pub fn client_builder(&self) -> ClientBuilder {
        line_core::client::Client::builder()
            .token(self.channel.token.clone())
            .base_url(&self.shared.base_url)
    }

    /// What a user of `linectl emulator --channels N` needs, as JSON:
    /// `{"channelId", "botUserId", "channelSecret", "accessToken", "webhookUrl"}`. It holds the
    /// secret and the token on purpose (they are the emulator's test credentials).
    pub fn credentials_json(&self) -> Value {
        json!({
            "channelId": self.channel.channel_id,
            "botUserId": self.channel.bot_user_id,
            "channelSecret": self.channel.secret.expose(),
            "accessToken": self.channel.token.expose(),
            "webhookUrl": self.channel.webhook_url,
        })
    }

    /// Registers the public half of an assertion signing key (a JWK, see
    /// [`Emulator::register_public_key`](crate::Emulator::register_public_key)) for v2.1 tokens and gives its `kid`.
    pub fn register_public_key(&self, jwk: &Value) -> Result<String, Error> {
        let key = oauth::public_key(jwk)?;
        let mut o = self.shared.lock_oauth();
        if !o.has_channel(&self.channel.channel_id) {
            o.register_channel(&self.channel.channel_id, self.channel.secret.clone())?;
        }
        o.add_public_key(&self.channel.channel_id, key)
    }

    /// Makes a fresh 2048-bit assertion key pair, registers its public half, and gives the
    /// pair with its `kid`: what a v2.1 token source needs (the private key in PEM and the kid).
    pub fn new_assertion_key(&self) -> Result<(AssertionKeyPair, String), Error> {
        let pair = AssertionKeyPair::generate();
        let kid = self.register_public_key(pair.public_jwk())?;
        Ok((pair, kid))
    }

    /// Every simulated user of this channel, in the order they were added.
    pub fn users(&self) -> Vec<User> {
        self.channel.lock().users.iter().map(SimUser::view).collect()
    }

    /// The users who are friends and have not blocked this channel.
    pub fn follower_ids(&self) -> Vec<UserId> {
        let st = self.channel.lock();
        st.users
            .iter()
            .filter(|u| u.reachable())
            .map(|u| u.user_id.clone())
            .collect()
    }

    /// Adds a user (or replaces one with the same id) and returns its id. The same user ID
    /// may be a user of several channels; each channel keeps its own inbox for it.
    pub fn add_user(&self, spec: UserSpec) -> UserId {
        let mut st = self.channel.lock();
        let i = st.add_user(spec);
        st.users[i].user_id.clone()
    }

    /// Adds `n` friends with generated profiles and demographics.
    pub fn add_friends(&self, n: usize) {
        self.channel.lock().seed_friends(n);
    }

    /// The messages `user` received from this channel, in order.
    pub fn messages(&self, user: &UserId) -> Vec<ReceivedMessage> {
        let mut st = self.channel.lock();
        st.settle(self.shared.now());
        st.inbox(user.as_str())
    }

    /// How many messages this channel delivered in all.
    pub fn delivered_count(&self) -> usize {
        let mut st = self.channel.lock();
        st.settle(self.shared.now());
        st.delivered
    }

    /// Messages counted against this channel's monthly quota.
    pub fn quota_consumption(&self) -> u64 {
        let mut st = self.channel.lock();
        st.settle(self.shared.now());
        st.quota_used
    }

    /// This channel's monthly quota (`None`: no limit).
    pub fn monthly_quota(&self) -> Option<u64> {
        self.channel.lock().monthly_quota
    }

    /// Sets this channel's monthly quota (`None`: no limit); consumption is kept.
    pub fn set_quota(&self, quota: Option<u64>) {
        self.channel.lock().monthly_quota = quota;
    }

    /// Replaces this channel's fault configuration (and reseeds its RNG).
    pub fn set_faults(&self, faults: FaultConfig) -> Result<(), Error> {
        faults.validate()?;
        *self.channel.lock_faults() = Faults::new(faults);
        Ok(())
    }

    /// This channel's fault configuration.
    pub fn faults(&self) -> FaultConfig {
        self.channel.lock_faults().config().clone()
    }

    /// Faults injected on this channel since its configuration was last set.
    pub fn fault_counts(&self) -> FaultCounts {
        self.channel.lock_faults().counts()
    }

    /// Calls to one operation (by operationId) made with this channel's tokens.
    pub fn calls(&self, operation_id: &str) -> u64 {
        self.channel.lock().calls.get(operation_id).copied().unwrap_or(0)
    }

    /// Calls per operationId made with this channel's tokens.
    pub fn call_counts(&self) -> BTreeMap<String, u64> {
        self.channel.calls()
    }

    /// Adds (or replaces) a phone number for LINE notification messages ([`crate::pnp`]) to
    /// this channel: a push from this channel reaches it, a push from another channel does
    /// not. Fails with a config error naming `e164` (not echoing it) when it is not `+` and 2
    /// to 15 digits.
    pub fn add_phone_user(&self, user: PhoneUser) -> Result<(), Error> {
        self.channel.lock().pnp.add_phone(user)
    }

    /// The delay of this channel's delivery webhook for numbers without their own (default:
    /// none; the webhook still goes after the push has been answered).
    pub fn set_pnp_delivery_delay(&self, delay: Duration) {
        self.channel.lock().pnp.delay = delay;
    }

    /// Notification messages this channel delivered so far, in order.
    pub fn pnp_deliveries(&self) -> Vec<PnpDelivered> {
        self.channel.lock().pnp.delivered.clone()
    }

    /// Delivery webhooks this channel sent (or attempted) so far.
    pub fn pnp_webhooks_sent(&self) -> u64 {
        self.channel.lock().pnp.webhooks
    }

    /// This channel's pushes answered 422.
    pub fn pnp_refused(&self) -> u64 {
        self.channel.lock().pnp.refused
    }

    /// Mints a reply token for `user`, as a webhook event would carry.
    pub fn issue_reply_token(&self, user: &UserId) -> Result<String, Error> {
        let mut st = self.channel.lock();
        let idx = st.user(user.as_str()).ok_or_else(|| unknown_user(user))?;
        let token = st.hex_id("");
        st.reply_tokens.insert(token.clone(), (idx, self.shared.now()));
        Ok(token)
    }

    fn user_index(&self, user: &UserId) -> Result<usize, Error> {
        self.channel
            .lock()
            .user(user.as_str())
            .ok_or_else(|| unknown_user(user))
    }

    async fn deliver(&self, events: Vec<Value>) -> Result<WebhookDelivery, Error> {
        webhook::deliver(&self.shared, &self.channel, events).await
    }

    /// `user` adds this channel as a friend (or unblocks it); sends a `follow` event.
    pub async fn follow(&self, user: &UserId) -> Result<WebhookDelivery, Error> {
        let idx = self.user_index(user)?;
        let now = self.shared.now();
        let ev = {
            let mut st = self.channel.lock();
            let was_blocked = st.users[idx].spec.blocked;
            st.users[idx].spec.friend = true;
            st.users[idx].spec.blocked = false;
            let mut ev = webhook::event(&mut st, "follow", user.as_str(), now);
            webhook::with_reply_token(&mut st, &mut ev, idx, now);
            ev["follow"] = json!({"isUnblocked": was_blocked});
            ev
        };
        self.deliver(vec![ev]).await
    }

    /// `user` blocks this channel; sends an `unfollow` event.
    pub async fn unfollow(&self, user: &UserId) -> Result<WebhookDelivery, Error> {
        let idx = self.user_index(user)?;
        let now = self.shared.now();
        let ev = {
            let mut st = self.channel.lock();
            st.users[idx].spec.blocked = true;
            webhook::event(&mut st, "unfollow", user.as_str(), now)
        };
        self.deliver(vec![ev]).await
    }

    /// `user` sends a text message; sends a `message` event (with a reply token and a
    /// `markAsReadToken`).
    pub async fn send_text(&self, user: &UserId, text: &str) -> Result<WebhookDelivery, Error> {
        let idx = self.user_index(user)?;
        let now = self.shared.now();
        let ev = {
            let mut st = self.channel.lock();
            let mut ev = webhook::event(&mut st, "message", user.as_str(), now);
            webhook::with_reply_token(&mut st, &mut ev, idx, now);
            let read_token = st.hex_id("r");
            st.read_tokens.insert(read_token.clone(), idx);
            let id = st
                .rng
                .random_range(100_000_000_000_000_000u64..1_000_000_000_000_000_000);
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
        self.deliver(vec![ev]).await
    }

    /// `user` taps a postback action with `data`; sends a `postback` event.
    pub async fn postback(&self, user: &UserId, data: &str) -> Result<WebhookDelivery, Error> {
        let idx = self.user_index(user)?;
        let now = self.shared.now();
        let ev = {
            let mut st = self.channel.lock();
            let mut ev = webhook::event(&mut st, "postback", user.as_str(), now);
            webhook::with_reply_token(&mut st, &mut ev, idx, now);
            ev["postback"] = json!({"data": data});
            ev
        };
        self.deliver(vec![ev]).await
    }

    /// Whether this channel issued `link_token` (for the account-link page, which names no
    /// channel).
    pub(crate) fn has_link_token(&self, link_token: &str) -> bool {
        self.channel.lock().link_tokens.contains_key(link_token)
    }

    /// The user of `link_token` finishes LINE's account-link page with `nonce`; sends an
    /// `accountLink` event (`result: ok`, or `failed` for a used or expired token).
    pub async fn complete_account_link(&self, link_token: &str, nonce: &str) -> Result<WebhookDelivery, Error> {
        let now = self.shared.now();
        let ev = {
            let mut st = self.channel.lock();
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
        self.deliver(vec![ev]).await
    }

    /// Sends arbitrary events (each gets `webhookEventId`, `deliveryContext`, `timestamp` and
    /// `mode` if missing) to this channel's webhook.
    pub async fn send_events(&self, events: Vec<Value>) -> Result<WebhookDelivery, Error> {
        let now = self.shared.now();
        let events = {
            let mut st = self.channel.lock();
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
        self.deliver(events).await
    }
}

pub(crate) fn unknown_user(user: &UserId) -> Error {
    Error::new(ErrorKind::UnknownUser {
        user_id: user.as_str().to_owned(),
    })
}
