//! Where the channel access token comes from.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::Client;
use crate::error::{Error, ErrorKind};
use crate::model::{
    IssueChannelTokenByJWTRequest, IssueStatelessChannelTokenByClientSecretRequest,
    IssueStatelessChannelTokenByClientSecretRequestGrantType, IssueStatelessChannelTokenRequest,
};
use crate::secret::{ChannelAccessToken, ChannelSecret, SecretString};

/// A source of channel access tokens, so hosts can rotate them.
///
/// A plain [`ChannelAccessToken`] is a static source. [`StatelessTokenSource`]
/// and [`JwtTokenSource`] issue short-lived tokens and cache them until
/// shortly before they expire.
#[async_trait]
pub trait TokenSource: Send + Sync + fmt::Debug {
    /// The token to use now.
    async fn token(&self) -> Result<ChannelAccessToken, Error>;

    /// Forgets a cached token (called after LINE answered 401).
    fn invalidate(&self) {}

    /// Whether [`invalidate`](Self::invalidate) can lead to a different token,
    /// making one retry after a 401 worthwhile.
    fn can_refresh(&self) -> bool {
        false
    }
}

#[async_trait]
impl TokenSource for ChannelAccessToken {
    async fn token(&self) -> Result<ChannelAccessToken, Error> {
        Ok(self.clone())
    }
}

struct Cached {
    token: ChannelAccessToken,
    refresh_at: Instant,
}

/// A cache of one issued token, refreshed a minute before it expires.
struct TokenCache {
    slot: tokio::sync::Mutex<Option<Cached>>,
    invalid: std::sync::atomic::AtomicBool,
}

impl TokenCache {
    fn new() -> Self {
        Self {
            slot: tokio::sync::Mutex::new(None),
            invalid: std::sync::atomic::AtomicBool::new(false),
        }
    }

    async fn get_or_issue<F, Fut>(&self, issue: F) -> Result<ChannelAccessToken, Error>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<(SecretString, i64), Error>>,
    {
        let mut slot = self.slot.lock().await;
        let invalid = self.invalid.swap(false, std::sync::atomic::Ordering::SeqCst);
        if let Some(c) = slot.as_ref() {
            if !invalid && Instant::now() < c.refresh_at {
                return Ok(c.token.clone());
            }
        }
        let (token, expires_in) = issue().await.map_err(|e| Error::with_source(ErrorKind::Token, e))?;
        let lifetime = Duration::from_secs(expires_in.max(0) as u64);
        let margin = Duration::from_secs(60).min(lifetime / 2);
        let token: ChannelAccessToken = token.into();
        *slot = Some(Cached {
            token: token.clone(),
            refresh_at: Instant::now() + lifetime - margin,
        });
        Ok(token)
    }

    fn invalidate(&self) {
        self.invalid.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

fn token_client(base: Option<&str>) -> Client {
    let mut b = Client::builder().token(ChannelAccessToken::new(String::new()));
    if let Some(base) = base {
        b = b.base_url(base);
    }
    b.build().expect("a token client with a valid base URL")
}

/// Issues stateless channel access tokens (valid 15 minutes) from the channel
/// ID and secret, through `POST /oauth2/v3/token`.
pub struct StatelessTokenSource {
    client: Client,
    channel_id: String,
    secret: ChannelSecret,
    cache: TokenCache,
}

impl StatelessTokenSource {
    /// A source for this channel, against LINE's production host.
    pub fn new(channel_id: impl Into<String>, secret: ChannelSecret) -> Self {
        Self {
            client: token_client(None),
            channel_id: channel_id.into(),
            secret,
            cache: TokenCache::new(),
        }
    }

    /// Uses another base URL (an emulator or a mock).
    pub fn with_base_url(mut self, url: &str) -> Result<Self, Error> {
        url::Url::parse(url).map_err(|_| {
            Error::new(ErrorKind::Config {
                field: "base_url".into(),
                reason: format!("not a URL: {url}"),
            })
        })?;
        self.client = token_client(Some(url));
        Ok(self)
    }
}

impl fmt::Debug for StatelessTokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StatelessTokenSource")
            .field("channel_id", &self.channel_id)
            .field("secret", &self.secret)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl TokenSource for StatelessTokenSource {
    async fn token(&self) -> Result<ChannelAccessToken, Error> {
        self.cache
            .get_or_issue(|| async {
                let body =
                    IssueStatelessChannelTokenRequest::from(IssueStatelessChannelTokenByClientSecretRequest::new(
                        IssueStatelessChannelTokenByClientSecretRequestGrantType::ClientCredentials,
                        self.channel_id.clone(),
                        SecretString::new(self.secret.expose()),
                    ));
                let resp = self.client.issue_stateless_channel_token(&body).await?;
                Ok((resp.body.access_token, i64::from(resp.body.expires_in)))
            })
            .await
    }

    fn invalidate(&self) {
        self.cache.invalidate();
    }

    fn can_refresh(&self) -> bool {
        true
    }
}

/// A function that makes a signed JWT assertion (v2.1 tokens). Signing stays
/// with the host, which holds the assertion signing key.
pub type AssertionFn = Arc<dyn Fn() -> Result<String, Error> + Send + Sync>;

/// Issues v2.1 channel access tokens from a JWT assertion, through
/// `POST /oauth2/v2.1/token`.
pub struct JwtTokenSource {
    client: Client,
    assertion: AssertionFn,
    cache: TokenCache,
}

impl JwtTokenSource {
    /// A source that signs a fresh assertion with `assertion` whenever it
    /// needs a token.
    pub fn new(assertion: AssertionFn) -> Self {
        Self {
            client: token_client(None),
            assertion,
            cache: TokenCache::new(),
        }
    }

    /// Uses another base URL (an emulator or a mock).
    pub fn with_base_url(mut self, url: &str) -> Result<Self, Error> {
        url::Url::parse(url).map_err(|_| {
            Error::new(ErrorKind::Config {
                field: "base_url".into(),
                reason: format!("not a URL: {url}"),
            })
        })?;
        self.client = token_client(Some(url));
        Ok(self)
    }
}

impl fmt::Debug for JwtTokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtTokenSource").finish_non_exhaustive()
    }
}

#[async_trait]
impl TokenSource for JwtTokenSource {
    async fn token(&self) -> Result<ChannelAccessToken, Error> {
        self.cache
            .get_or_issue(|| async {
                let assertion = (self.assertion)()?;
                let body = IssueChannelTokenByJWTRequest::new(
                    "client_credentials",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                    SecretString::new(assertion),
                );
                let resp = self.client.issue_channel_token_by_jwt(&body).await?;
                Ok((resp.body.access_token, i64::from(resp.body.expires_in)))
            })
            .await
    }

    fn invalidate(&self) {
        self.cache.invalidate();
    }

    fn can_refresh(&self) -> bool {
        true
    }
}
