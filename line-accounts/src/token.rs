//! Channel access tokens for one account: issued, cached, refreshed before they
//! expire (one refresh at a time), kept through a failing token endpoint, revoked.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use jsonwebtoken::{Algorithm, Header};
use line_core::client::{Client, TokenSource};
use line_core::clock::Clock;
use line_core::model::{
    IssueChannelTokenByJWTRequest, IssueChannelTokenRequest, IssueStatelessChannelTokenByClientSecretRequest,
    IssueStatelessChannelTokenByClientSecretRequestGrantType, IssueStatelessChannelTokenRequest,
    RevokeChannelTokenByJWTRequest, RevokeChannelTokenRequest,
};
use line_core::secret::{ChannelAccessToken, ChannelSecret, SecretString};
use serde::Serialize;

use crate::account::{Account, ChannelId, PrivateKey, TokenConfig};
use crate::error::{Error, ErrorKind};

/// The `aud` of a v2.1 assertion.
pub const ASSERTION_AUDIENCE: &str = "https://api.line.me/";

/// How long a v2.1 assertion is valid (`exp` from now). LINE takes at most 30
/// minutes; half of that leaves room for a clock that differs from LINE's by
/// minutes either way (the assertion is used at once).
pub const ASSERTION_LIFETIME: Duration = Duration::from_secs(15 * 60);

/// After a failed refresh, the next attempt waits this long while the old token
/// is still good (so a failing endpoint is not called on every request).
pub const REFRESH_RETRY_AFTER: Duration = Duration::from_secs(30);

/// The `client_assertion_type` of JWT assertions.
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    exp: i64,
    token_exp: u64,
}

/// Signs a v2.1 assertion: RS256 with the channel's private key, header `kid`,
/// `iss` = `sub` = the channel ID, `aud` = `https://api.line.me/`, `exp`
/// [`ASSERTION_LIFETIME`] after `now`, and `token_exp` (the lifetime asked for the token, in seconds).
pub fn sign_assertion(
    channel_id: &ChannelId,
    kid: &str,
    key: &PrivateKey,
    token_lifetime: Duration,
    now: Timestamp,
) -> Result<String, Error> {
    let mut header = Header::new(Algorithm::RS256);
    header.typ = Some("JWT".into());
    header.kid = Some(kid.to_owned());
    let claims = Claims {
        iss: channel_id.as_str(),
        sub: channel_id.as_str(),
        aud: ASSERTION_AUDIENCE,
        exp: now.as_second() + ASSERTION_LIFETIME.as_secs() as i64,
        token_exp: token_lifetime.as_secs(),
    };
    // The signing error of jsonwebtoken names no key material; it is kept as the source.
    jsonwebtoken::encode(&header, &claims, key.encoding_key()).map_err(|e| {
        Error::with_source(
            ErrorKind::Token {
                channel_id: channel_id.to_string(),
                operation: "sign the assertion",
            },
            e.to_string(),
        )
    })
}

/// A token as issued.
struct Issued {
    token: ChannelAccessToken,
    expires_at: Timestamp,
    refresh_at: Timestamp,
}

#[derive(Default)]
struct State {
    current: Option<Issued>,
    /// After a failed refresh: no new attempt before this while the old token is good.
    retry_at: Option<Timestamp>,
}

/// What [`AccountTokenSource::status`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenStatus {
    /// When the cached token expires (`None` with no cached token, and for static tokens).
    pub expires_at: Option<Timestamp>,
    /// When the source will try to replace it.
    pub refresh_at: Option<Timestamp>,
}

/// The token source of one account: a line-core [`TokenSource`].
///
/// - A static token is used as it is.
/// - v2.1, short-lived and stateless tokens are issued on first use and cached;
///   a token is replaced once a tenth of its lifetime (at most a day) is left.
/// - One refresh at a time: callers that arrive during a refresh wait for it and
///   get its token, so many concurrent requests cause one call to the token endpoint.
/// - If a refresh fails while the old token is still valid, the old token keeps
///   being used (the next attempt waits [`REFRESH_RETRY_AFTER`]); once it has
///   expired, [`token`](TokenSource::token) fails with line-core's
///   [`Token`](line_core::ErrorKind::Token) error whose source is this crate's
///   [`ErrorKind::Token`] error, with the endpoint's error below it.
/// - After LINE answers 401 ([`invalidate`](TokenSource::invalidate)), the next
///   call issues a new token and does not fall back on the old one.
/// - Once [retired](Self::retire) (its account was removed), it gives no token:
///   calls fail with line-core's `Token` error whose source is
///   [`ErrorKind::UnknownChannel`].
pub struct AccountTokenSource {
    channel_id: ChannelId,
    secret: ChannelSecret,
    config: TokenConfig,
    endpoint: Client,
    clock: Arc<dyn Clock>,
    state: tokio::sync::Mutex<State>,
    invalid: AtomicBool,
    /// Set when the account was removed: no token is given or issued any more.
    retired: AtomicBool,
}

impl fmt::Debug for AccountTokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountTokenSource")
            .field("channel_id", &self.channel_id)
            .field("kind", &self.config.kind())
            .finish_non_exhaustive()
    }
}

impl AccountTokenSource {
    /// The token source of `account`, calling the token endpoints on `api_base`
    /// (`https://api.line.me`, or an emulator) and reading the time from `clock`.
    pub fn new(account: &Account, api_base: &str, clock: Arc<dyn Clock>) -> Result<Self, Error> {
        Self::with_http(account, api_base, clock, None)
    }

    /// As [`new`](Self::new), on a shared HTTP client (its connection pool).
    pub(crate) fn with_http(
        account: &Account,
        api_base: &str,
        clock: Arc<dyn Clock>,
        http: Option<reqwest::Client>,
    ) -> Result<Self, Error> {
        let mut b = Client::builder()
            .token(ChannelAccessToken::new(String::new()))
            .base_url(api_base);
        if let Some(http) = http {
            b = b.http_client(http);
        }
        let endpoint = b.build().map_err(|e| {
            Error::with_source(
                ErrorKind::InvalidAccount {
                    entry: "account".into(),
                    field: "api_base".into(),
                    reason: "not a usable base URL".into(),
                },
                e,
            )
        })?;
        Ok(Self {
            channel_id: account.channel_id.clone(),
            secret: account.channel_secret.clone(),
            config: account.token.clone(),
            endpoint,
            clock,
            state: tokio::sync::Mutex::new(State::default()),
            invalid: AtomicBool::new(false),
            retired: AtomicBool::new(false),
        })
    }

    /// The channel.
    pub fn channel_id(&self) -> &ChannelId {
        &self.channel_id
    }

    /// Issues a new token now, whatever the cache holds, and caches it.
    /// Fails with [`ErrorKind::Token`] (operation `issue`) when the endpoint
    /// fails; the cached token is then kept.
    pub async fn refresh(&self) -> Result<TokenStatus, Error> {
        if let TokenConfig::Static(_) = self.config {
            return Ok(TokenStatus {
                expires_at: None,
                refresh_at: None,
            });
        }
        let mut state = self.state.lock().await;
        let now = self.clock.now();
        match self.issue(now).await {
            Ok(issued) => {
                let status = TokenStatus {
                    expires_at: Some(issued.expires_at),
                    refresh_at: Some(issued.refresh_at),
                };
                state.current = Some(issued);
                state.retry_at = None;
                self.invalid.store(false, Ordering::SeqCst);
                Ok(status)
            }
            Err(e) => {
                state.retry_at = Some(now + REFRESH_RETRY_AFTER);
                Err(e)
            }
        }
    }

    /// When the cached token expires and will be refreshed.
    pub async fn status(&self) -> TokenStatus {
        let state = self.state.lock().await;
        TokenStatus {
            expires_at: state.current.as_ref().map(|c| c.expires_at),
            refresh_at: state.current.as_ref().map(|c| c.refresh_at),
        }
    }

    /// Revokes the cached token at LINE (v2.1: `POST /oauth2/v2.1/revoke`;
    /// short-lived: `POST /v2/oauth/revoke`) and forgets it. Static tokens are
    /// the host's and are not revoked; stateless tokens cannot be. Gives whether
    /// a token was revoked.
    pub async fn revoke(&self) -> Result<bool, Error> {
        let mut state = self.state.lock().await;
        let Some(current) = state.current.take() else {
            return Ok(false);
        };
        if current.expires_at <= self.clock.now() {
            return Ok(false);
        }
        let token = SecretString::new(current.token.expose());
        let result = match &self.config {
            TokenConfig::V21 { .. } => self
                .endpoint
                .revoke_channel_token_by_jwt(RevokeChannelTokenByJWTRequest::new(
                    self.channel_id.as_str(),
                    SecretString::new(self.secret.expose()),
                    token,
                ))
                .await
                .map(|_| true),
            TokenConfig::ShortLived => self
                .endpoint
                .revoke_channel_token(RevokeChannelTokenRequest::new(token))
                .await
                .map(|_| true),
            _ => Ok(false),
        };
        result.map_err(|e| {
            // The token stays cached: it was not revoked.
            state.current = Some(current);
            Error::with_source(
                ErrorKind::Token {
                    channel_id: self.channel_id.to_string(),
                    operation: "revoke",
                },
                e,
            )
        })
    }

    /// Stops the source for good (its account was removed): every later call to
    /// [`token`](TokenSource::token) fails, nothing more is issued, and the cached
    /// token is revoked as [`revoke`](Self::revoke) does.
    pub async fn retire(&self) -> Result<bool, Error> {
        self.retired.store(true, Ordering::SeqCst);
        self.revoke().await
    }

    fn removed(&self) -> Error {
        Error::new(ErrorKind::UnknownChannel {
            channel_id: self.channel_id.to_string(),
        })
    }

    async fn issue(&self, now: Timestamp) -> Result<Issued, Error> {
        if self.retired.load(Ordering::SeqCst) {
            return Err(self.removed());
        }
        let secret = || SecretString::new(self.secret.expose());
        let answer = match &self.config {
            TokenConfig::Static(t) => return Ok(far_future(t.clone(), now)),
            TokenConfig::V21 {
                kid,
                private_key,
                lifetime,
            } => {
                let assertion = sign_assertion(&self.channel_id, kid, private_key, *lifetime, now)?;
                let body =
                    IssueChannelTokenByJWTRequest::new("client_credentials", JWT_BEARER, SecretString::new(assertion));
                self.endpoint
                    .issue_channel_token_by_jwt(&body)
                    .await
                    .map(|r| (r.body.access_token, r.body.expires_in))
            }
            TokenConfig::ShortLived => {
                let body = IssueChannelTokenRequest::new("client_credentials", self.channel_id.as_str(), secret());
                self.endpoint
                    .issue_channel_token(&body)
                    .await
                    .map(|r| (r.body.access_token, r.body.expires_in))
            }
            TokenConfig::Stateless => {
                let body =
                    IssueStatelessChannelTokenRequest::from(IssueStatelessChannelTokenByClientSecretRequest::new(
                        IssueStatelessChannelTokenByClientSecretRequestGrantType::ClientCredentials,
                        self.channel_id.as_str(),
                        secret(),
                    ));
                self.endpoint
                    .issue_stateless_channel_token(&body)
                    .await
                    .map(|r| (r.body.access_token, r.body.expires_in))
            }
        };
        let (token, expires_in) = answer.map_err(|e| {
            Error::with_source(
                ErrorKind::Token {
                    channel_id: self.channel_id.to_string(),
                    operation: "issue",
                },
                e,
            )
        })?;
        let lifetime = SignedDuration::from_secs(i64::from(expires_in.max(0)));
        let margin = (lifetime / 10).min(SignedDuration::from_hours(24));
        Ok(Issued {
            token: token.into(),
            expires_at: now.saturating_add(lifetime).unwrap_or(now),
            refresh_at: now.saturating_add(lifetime - margin).unwrap_or(now),
        })
    }
}

fn far_future(token: ChannelAccessToken, _now: Timestamp) -> Issued {
    Issued {
        token,
        expires_at: Timestamp::MAX,
        refresh_at: Timestamp::MAX,
    }
}

#[async_trait]
impl TokenSource for AccountTokenSource {
    async fn token(&self) -> Result<ChannelAccessToken, line_core::Error> {
        if self.retired.load(Ordering::SeqCst) {
            return Err(line_core::Error::with_source(
                line_core::ErrorKind::Token,
                self.removed(),
            ));
        }
        if let TokenConfig::Static(t) = &self.config {
            return Ok(t.clone());
        }
        let mut state = self.state.lock().await;
        let now = self.clock.now();
        if self.invalid.swap(false, Ordering::SeqCst) {
            // LINE refused the cached token: never fall back on it.
            state.current = None;
            state.retry_at = None;
        }
        if let Some(c) = &state.current {
            let backing_off = state.retry_at.is_some_and(|r| now < r);
            if now < c.refresh_at || (backing_off && now < c.expires_at) {
                return Ok(c.token.clone());
            }
        }
        match self.issue(now).await {
            Ok(issued) => {
                let token = issued.token.clone();
                state.current = Some(issued);
                state.retry_at = None;
                Ok(token)
            }
            Err(e) => {
                state.retry_at = Some(now + REFRESH_RETRY_AFTER);
                match &state.current {
                    Some(c) if now < c.expires_at => {
                        tracing::warn!(
                            channel_id = %self.channel_id,
                            expires_at = %c.expires_at,
                            "token refresh failed, the old token is used until it expires: {e}"
                        );
                        Ok(c.token.clone())
                    }
                    _ => Err(line_core::Error::with_source(line_core::ErrorKind::Token, e)),
                }
            }
        }
    }

    fn invalidate(&self) {
        if !matches!(self.config, TokenConfig::Static(_)) {
            self.invalid.store(true, Ordering::SeqCst);
        }
    }

    fn can_refresh(&self) -> bool {
        !matches!(self.config, TokenConfig::Static(_))
    }
}
