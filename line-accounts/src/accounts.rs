//! [`Accounts`]: a registry plus, per account, a ready line-core [`Client`]
//! with the account's token source and its own rate limiter.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use line_core::client::{Client, ClientBuilder, InFlightLimit};
use line_core::clock::{Clock, SystemClock};
use line_core::webhook::WebhookVerifier;

use crate::account::{Account, ChannelId, MessagePlan, Settings};
use crate::error::{Error, ErrorKind};
use crate::registry::AccountRegistry;
use crate::token::AccountTokenSource;

/// Calls in flight across every account's client, by default.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 256;

/// LINE's API host, where the token endpoints are.
const LINE_API: &str = "https://api.line.me";

type Configure = Arc<dyn Fn(ClientBuilder, &Account) -> ClientBuilder + Send + Sync>;

/// One account, ready to use: its registry entry, its token source and a client.
///
/// Each account's client has a rate limiter of its own (LINE counts per
/// channel), so one account's burst never waits on another's.
#[derive(Debug)]
pub struct AccountHandle {
    account: Account,
    tokens: Arc<AccountTokenSource>,
    client: Client,
    verifier: WebhookVerifier,
}

impl AccountHandle {
    /// The webhook verifier of this account's channel secret (keyed once).
    pub fn verifier(&self) -> &WebhookVerifier {
        &self.verifier
    }

    /// The account (channel, credentials, settings).
    pub fn account(&self) -> &Account {
        &self.account
    }

    /// The channel ID.
    pub fn channel_id(&self) -> &ChannelId {
        &self.account.channel_id
    }

    /// A client that calls LINE as this account. Cheap to clone.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The account's token source (to refresh, inspect or revoke its token).
    pub fn tokens(&self) -> &Arc<AccountTokenSource> {
        &self.tokens
    }

    /// The account's settings.
    pub fn settings(&self) -> &Settings {
        &self.account.settings
    }

    /// The account's message plan.
    pub fn plan(&self) -> &MessagePlan {
        &self.account.settings.plan
    }
}

/// What [`Accounts::remove`] did.
#[derive(Debug)]
#[non_exhaustive]
pub struct Removed {
    /// The account that was removed.
    pub account: Account,
    /// Whether a token this process had issued for it was revoked at LINE.
    pub revoked: bool,
    /// Why revocation failed, if it did (the account is removed all the same;
    /// the token expires on its own).
    pub revoke_error: Option<Error>,
}

/// Many accounts from one service: an [`AccountRegistry`] and, per account, a
/// live [`AccountHandle`] (made on first use and kept while the registry's entry
/// stays the same).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), line_accounts::Error> {
/// use std::sync::Arc;
/// use line_accounts::{Account, Accounts, BotUserId, ChannelId, InMemoryRegistry, MessagePlan, Settings, TokenConfig};
///
/// let accounts = Accounts::builder(Arc::new(InMemoryRegistry::new())).build()?;
/// let shop = Account::new(
///     ChannelId::new("1234567890")?,
///     BotUserId::new("U0123456789abcdef0123456789abcdef")?,
///     "0123456789abcdef0123456789abcdef".into(),
///     TokenConfig::Static("long-lived-token".into()),
///     Settings::new("Asia/Tokyo", MessagePlan::new(30_000, Some(3.0))?)?,
/// )?;
/// accounts.add(shop).await?;
/// let handle = accounts.get(&ChannelId::new("1234567890")?).await?;
/// let _client = handle.client(); // push, multicast, … as this account
/// assert_eq!(handle.settings().time_zone_name(), "Asia/Tokyo");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Accounts {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Arc<dyn AccountRegistry>,
    /// One connection pool for every account's client and token endpoint.
    http: reqwest::Client,
    in_flight: InFlightLimit,
    base_url: Option<String>,
    clock: Arc<dyn Clock>,
    configure: Option<Configure>,
    live: Mutex<HashMap<ChannelId, Arc<AccountHandle>>>,
}

impl fmt::Debug for Accounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Accounts")
            .field("registry", &self.inner.registry)
            .field("base_url", &self.inner.base_url)
            .finish_non_exhaustive()
    }
}

/// Builds [`Accounts`].
#[must_use]
pub struct AccountsBuilder {
    registry: Arc<dyn AccountRegistry>,
    http: Option<reqwest::Client>,
    max_in_flight: usize,
    base_url: Option<String>,
    clock: Arc<dyn Clock>,
    configure: Option<Configure>,
}

impl fmt::Debug for AccountsBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountsBuilder")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl AccountsBuilder {
    /// One base URL for every LINE host, token endpoints included (an emulator).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The HTTP client every account's client shares (proxies, custom TLS); by
    /// default one is made with a 10-second connect timeout. Sharing one keeps one
    /// connection pool for all accounts.
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// Most calls in flight across every account's client at once (default
    /// [`DEFAULT_MAX_IN_FLIGHT`]; 0 counts as 1). Each call in flight holds
    /// one connection of the shared pool, so this bounds the host's open
    /// connections to LINE, and a burst of many accounts reuses connections
    /// instead of opening one per call. A call takes its slot once its
    /// account's rate limiter lets it go, so an account waiting for its own
    /// limit holds none.
    pub fn max_in_flight(mut self, n: usize) -> Self {
        self.max_in_flight = n.max(1);
        self
    }

    /// The clock tokens expire by (default the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Adjusts each account's client builder (retry policy, a shared rate
    /// limiter, timeouts) before it is built; the token source and base URL are set already.
    pub fn configure_clients(
        mut self,
        f: impl Fn(ClientBuilder, &Account) -> ClientBuilder + Send + Sync + 'static,
    ) -> Self {
        self.configure = Some(Arc::new(f));
        self
    }

    /// Builds; fails only when the default HTTP client cannot be made.
    pub fn build(self) -> Result<Accounts, Error> {
        let http = match self.http {
            Some(h) => h,
            None => reqwest::Client::builder()
                .connect_timeout(std::time::Duration::from_secs(10))
                .user_agent(concat!("line-rs/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| {
                    Error::with_source(
                        ErrorKind::InvalidAccount {
                            entry: "accounts".into(),
                            field: "http".into(),
                            reason: "the HTTP client could not be built".into(),
                        },
                        e,
                    )
                })?,
        };
        Ok(Accounts {
            inner: Arc::new(Inner {
                registry: self.registry,
                http,
                in_flight: InFlightLimit::new(self.max_in_flight),
                base_url: self.base_url,
                clock: self.clock,
                configure: self.configure,
                live: Mutex::new(HashMap::new()),
            }),
        })
    }
}

impl Accounts {
    /// A builder over `registry`, for LINE's production hosts.
    pub fn builder(registry: Arc<dyn AccountRegistry>) -> AccountsBuilder {
        AccountsBuilder {
            registry,
            http: None,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            base_url: None,
            clock: Arc::new(SystemClock),
            configure: None,
        }
    }

    /// The registry.
    pub fn registry(&self) -> &Arc<dyn AccountRegistry> {
        &self.inner.registry
    }

    /// The bound on calls in flight shared by every account's client.
    pub fn in_flight(&self) -> &InFlightLimit {
        &self.inner.in_flight
    }

    fn live(&self) -> std::sync::MutexGuard<'_, HashMap<ChannelId, Arc<AccountHandle>>> {
        self.inner.live.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds an account to the registry (or replaces its channel's); gives the replaced one.
    pub async fn add(&self, account: Account) -> Result<Option<Account>, Error> {
        self.inner.registry.put(account).await
    }

    /// The handle of a channel's account; [`ErrorKind::UnknownChannel`] when the
    /// registry has none.
    pub async fn get(&self, channel_id: &ChannelId) -> Result<Arc<AccountHandle>, Error> {
        match self.inner.registry.get(channel_id).await? {
            Some(account) => self.handle(account),
            None => {
                self.live().remove(channel_id);
                Err(Error::new(ErrorKind::UnknownChannel {
                    channel_id: channel_id.to_string(),
                }))
            }
        }
    }

    /// The live handle of a channel's account, if one was made and is still
    /// cached (no registry lookup; it may be stale if the registry changed since).
    pub(crate) fn cached(&self, channel_id: &ChannelId) -> Option<Arc<AccountHandle>> {
        self.live().get(channel_id).cloned()
    }

    /// The handle of the account whose bot has this user ID (a webhook's
    /// `destination`), if any.
    pub async fn by_destination(&self, destination: &str) -> Result<Option<Arc<AccountHandle>>, Error> {
        match self.inner.registry.by_bot_user_id(destination).await? {
            Some(account) => self.handle(account).map(Some),
            None => Ok(None),
        }
    }

    /// The live handle for `account`: the cached one while the account is unchanged.
    fn handle(&self, account: Account) -> Result<Arc<AccountHandle>, Error> {
        if let Some(h) = self.live().get(&account.channel_id) {
            if h.account == account {
                return Ok(Arc::clone(h));
            }
        }
        let api = self.inner.base_url.as_deref().unwrap_or(LINE_API);
        let tokens = Arc::new(AccountTokenSource::with_http(
            &account,
            api,
            Arc::clone(&self.inner.clock),
            Some(self.inner.http.clone()),
        )?);
        let mut b = Client::builder()
            .token_source(tokens.clone())
            .http_client(self.inner.http.clone())
            .in_flight_limit(self.inner.in_flight.clone());
        if let Some(url) = &self.inner.base_url {
            b = b.base_url(url.clone());
        }
        if let Some(f) = &self.inner.configure {
            b = f(b, &account);
        }
        let client = b.build().map_err(|e| {
            Error::with_source(
                ErrorKind::InvalidAccount {
                    entry: format!("channel {}", account.channel_id),
                    field: "client".into(),
                    reason: "the client could not be built".into(),
                },
                e,
            )
        })?;
        let handle = Arc::new(AccountHandle {
            verifier: WebhookVerifier::new(&account.channel_secret),
            account,
            tokens,
            client,
        });
        // Two callers racing here keep the first handle, so one token cache serves both.
        let mut live = self.live();
        let entry = live
            .entry(handle.account.channel_id.clone())
            .and_modify(|h| {
                if h.account != handle.account {
                    *h = Arc::clone(&handle);
                }
            })
            .or_insert(handle);
        Ok(Arc::clone(entry))
    }

    /// Removes a channel's account from the registry and revokes the token this
    /// process issued for it, if any. A handle still held elsewhere (a send in
    /// progress) stops working: its client's calls fail with line-core's `Token`
    /// error whose source is [`ErrorKind::UnknownChannel`], and no new token is
    /// issued for it. `None` when the registry had no such account.
    pub async fn remove(&self, channel_id: &ChannelId) -> Result<Option<Removed>, Error> {
        let Some(account) = self.inner.registry.remove(channel_id).await? else {
            return Ok(None);
        };
        let handle = self.live().remove(channel_id);
        let (revoked, revoke_error) = match handle {
            Some(h) => match h.tokens.retire().await {
                Ok(r) => (r, None),
                Err(e) => (false, Some(e)),
            },
            None => (false, None),
        };
        Ok(Some(Removed {
            account,
            revoked,
            revoke_error,
        }))
    }
}
