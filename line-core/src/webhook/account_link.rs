//! Account linking: tie a LINE user to a member of your own service.
//!
//! The flow, as LINE documents it:
//! 1. the bot issues a link token for the user (an API call, good for 10
//!    minutes, single use);
//! 2. the user logs in to your service, which redirects them to
//!    `https://access.line.me/dialog/bot/accountLink?linkToken=…&nonce=…` with a
//!    fresh nonce remembered against the member;
//! 3. LINE sends an `accountLink` webhook event carrying the nonce; the nonce
//!    tells which member the LINE user is.
//!
//! [`AccountLink`] does steps 2 and 3 over a host [`NonceStore`], and step 1
//! through a [`LinkTokenIssuer`] (the HTTP client implements it).

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use super::event::{AccountLinkEvent, LinkContentResult, Source, UserSource};
use super::expiring::ExpiringMap;
use crate::clock::{Clock, SystemClock};
use crate::error::{Error, ErrorKind};
use crate::ids::UserId;
use crate::limits::LINK_TOKEN_TTL_SECS;

/// Where the user is sent to link their account.
pub const ACCOUNT_LINK_URL: &str = "https://access.line.me/dialog/bot/accountLink";

/// Random bytes in a nonce: 24 bytes give 32 base64url characters, inside
/// LINE's 10 to 255 characters.
const NONCE_BYTES: usize = 24;

/// How long a nonce is kept: as long as the link token it goes with.
pub const NONCE_TTL: Duration = Duration::from_secs(LINK_TOKEN_TTL_SECS);

/// A host store of account-link nonces, each pointing to a member of your service.
///
/// [`take`](NonceStore::take) must be atomic (read and delete in one step), so a
/// nonce can be used once only even when two servers see the same event.
/// Implementations can run `line_core::testing::nonce_store_conformance` (feature
/// `testing`) on themselves.
#[async_trait]
pub trait NonceStore: Send + Sync {
    /// Remembers that `nonce` belongs to `member_id`, for `ttl`.
    async fn put(&self, nonce: &str, member_id: &str, ttl: Duration) -> Result<(), Error>;

    /// Removes `nonce` and returns its member, or `None` when the nonce is
    /// unknown, already taken, or expired.
    async fn take(&self, nonce: &str) -> Result<Option<String>, Error>;
}

#[async_trait]
impl<T: NonceStore + ?Sized> NonceStore for Arc<T> {
    async fn put(&self, nonce: &str, member_id: &str, ttl: Duration) -> Result<(), Error> {
        (**self).put(nonce, member_id, ttl).await
    }

    async fn take(&self, nonce: &str) -> Result<Option<String>, Error> {
        (**self).take(nonce).await
    }
}

/// A [`NonceStore`] in process memory, for one server or for tests.
///
/// Expiry follows the [`Clock`] it was given; expired nonces are dropped on every call.
pub struct InMemoryNonceStore {
    clock: Arc<dyn Clock>,
    nonces: Mutex<ExpiringMap<String>>,
}

impl InMemoryNonceStore {
    /// A store on the system clock.
    pub fn new() -> Self {
        Self::with_clock(SystemClock)
    }

    /// A store on the given clock (a [`ManualClock`](crate::clock::ManualClock) in tests).
    pub fn with_clock(clock: impl Clock + 'static) -> Self {
        Self {
            clock: Arc::new(clock),
            nonces: Mutex::new(ExpiringMap::default()),
        }
    }

    /// How many nonces are live now.
    pub fn len(&self) -> usize {
        let now = self.clock.now();
        self.lock().len(now)
    }

    /// Whether no nonce is live now.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ExpiringMap<String>> {
        self.nonces.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Default for InMemoryNonceStore {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for InMemoryNonceStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Nonces are bearer values until used: never print them.
        f.debug_struct("InMemoryNonceStore")
            .field("clock", &self.clock)
            .field("len", &self.len())
            .finish()
    }
}

#[async_trait]
impl NonceStore for InMemoryNonceStore {
    async fn put(&self, nonce: &str, member_id: &str, ttl: Duration) -> Result<(), Error> {
        let now = self.clock.now();
        self.lock().insert(now, nonce, member_id.to_owned(), ttl);
        Ok(())
    }

    async fn take(&self, nonce: &str) -> Result<Option<String>, Error> {
        let now = self.clock.now();
        Ok(self.lock().take(now, nonce))
    }
}

/// Issues link tokens (`POST /v2/bot/user/{userId}/linkToken`).
///
/// The HTTP client implements this; tests can use a stub.
#[async_trait]
pub trait LinkTokenIssuer: Send + Sync {
    /// A fresh link token for `user_id`.
    async fn issue_link_token(&self, user_id: &UserId) -> Result<String, Error>;
}

/// The account-link flow over a [`NonceStore`].
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use line_core::webhook::account_link::{AccountLink, InMemoryNonceStore};
///
/// let link = AccountLink::new(InMemoryNonceStore::new());
/// let url = link.begin("member-42", "LINK_TOKEN").await?;
/// assert!(url.starts_with("https://access.line.me/dialog/bot/accountLink?linkToken=LINK_TOKEN&nonce="));
/// # Ok::<(), line_core::Error>(())
/// # }).unwrap();
/// ```
pub struct AccountLink {
    store: Arc<dyn NonceStore>,
    ttl: Duration,
}

impl AccountLink {
    /// The flow over `store`; nonces live as long as a link token (10 minutes).
    pub fn new(store: impl NonceStore + 'static) -> Self {
        Self {
            store: Arc::new(store),
            ttl: NONCE_TTL,
        }
    }

    /// Changes how long a nonce stays valid.
    pub fn with_nonce_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Makes a fresh nonce for `member_id`, stores it, and returns the URL to
    /// send the user to.
    pub async fn begin(&self, member_id: &str, link_token: &str) -> Result<String, Error> {
        if member_id.is_empty() {
            return Err(Error::invalid_input("member_id", "must not be empty"));
        }
        if link_token.is_empty() {
            return Err(Error::invalid_input("link_token", "must not be empty"));
        }
        let nonce = new_nonce();
        self.store.put(&nonce, member_id, self.ttl).await?;
        Ok(link_url(link_token, &nonce))
    }

    /// Issues a link token for `user_id` and then does [`begin`](Self::begin).
    pub async fn start<I>(&self, issuer: &I, user_id: &UserId, member_id: &str) -> Result<String, Error>
    where
        I: LinkTokenIssuer + ?Sized,
    {
        if member_id.is_empty() {
            return Err(Error::invalid_input("member_id", "must not be empty"));
        }
        let token = issuer.issue_link_token(user_id).await?;
        self.begin(member_id, &token).await
    }

    /// Matches an `accountLink` event to the member its nonce was made for.
    ///
    /// The nonce is consumed either way: it can be resolved once only.
    /// - result `ok`: `Some((LINE user, member id))`;
    /// - result `failed` (or a result this version does not know): `None`;
    /// - result `ok` with a nonce that is unknown, used or expired:
    ///   [`UnknownNonce`](ErrorKind::UnknownNonce);
    /// - result `ok` from an event without a user source: an
    ///   [`InvalidInput`](ErrorKind::InvalidInput) error, and the nonce is kept.
    pub async fn resolve(&self, event: &AccountLinkEvent) -> Result<Option<(UserId, String)>, Error> {
        let nonce = event.link.nonce.as_str();
        if event.link.result != LinkContentResult::Ok {
            self.store.take(nonce).await?;
            return Ok(None);
        }
        let user_id = match &event.source {
            Some(Source::User(UserSource {
                user_id: Some(user_id), ..
            })) => user_id.clone(),
            _ => {
                return Err(Error::invalid_input(
                    "source.userId",
                    "an accountLink event must come from a user source with a userId",
                ))
            }
        };
        match self.store.take(nonce).await? {
            Some(member_id) => Ok(Some((user_id, member_id))),
            None => Err(Error::new(ErrorKind::UnknownNonce)),
        }
    }
}

impl fmt::Debug for AccountLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountLink")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

/// A fresh random nonce: base64url of 24 bytes from the thread's CSPRNG.
fn new_nonce() -> String {
    let bytes: [u8; NONCE_BYTES] = rand::random();
    URL_SAFE_NO_PAD.encode(bytes)
}

fn link_url(link_token: &str, nonce: &str) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("linkToken", link_token)
        .append_pair("nonce", nonce)
        .finish();
    format!("{ACCOUNT_LINK_URL}?{query}")
}
