//! The verifier: local ID token checks and LINE's verify endpoints.

use std::collections::HashSet;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use line_core::ChannelSecret;
use serde::Deserialize;
use tokio::sync::Mutex;

use crate::error::{cut, Error, ErrorKind, MalformedPart};
use crate::jwks::JwksCache;
use crate::{DEFAULT_API_BASE, ISSUER, JWKS_PATH, VERIFY_PATH};

/// The settings of a [`Verifier`]: the LINE Login channel, and how tokens are checked.
#[derive(Clone)]
pub struct Config {
    channel_id: String,
    channel_secret: Option<ChannelSecret>,
    api_base: String,
    leeway: Duration,
    jwks_ttl: Duration,
    jwks_min_refetch: Duration,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("channel_id", &self.channel_id)
            .field("channel_secret", &self.channel_secret.as_ref().map(|_| "<redacted>"))
            .field("api_base", &self.api_base)
            .field("leeway", &self.leeway)
            .field("jwks_ttl", &self.jwks_ttl)
            .field("jwks_min_refetch", &self.jwks_min_refetch)
            .finish()
    }
}

impl Config {
    /// Settings for the LINE Login channel `channel_id` (the `aud` of its ID tokens), with
    /// LINE's API base, a 60 s leeway, a JWKS kept 1 hour and fetched again at most every 30 s.
    pub fn new(channel_id: impl Into<String>) -> Self {
        Self {
            channel_id: channel_id.into(),
            channel_secret: None,
            api_base: DEFAULT_API_BASE.to_owned(),
            leeway: Duration::from_secs(60),
            jwks_ttl: Duration::from_secs(3600),
            jwks_min_refetch: Duration::from_secs(30),
        }
    }

    /// The channel secret, needed for HS256 ID tokens (web login).
    #[must_use]
    pub fn channel_secret(mut self, secret: impl Into<ChannelSecret>) -> Self {
        self.channel_secret = Some(secret.into());
        self
    }

    /// The base URL of the JWKS and verify endpoints (an emulator or a mock in tests).
    #[must_use]
    pub fn api_base(mut self, base: impl Into<String>) -> Self {
        self.api_base = base.into().trim_end_matches('/').to_owned();
        self
    }

    /// How far `exp` and `iat` may be off (clock skew).
    #[must_use]
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// How long fetched keys are used before they are fetched again.
    #[must_use]
    pub fn jwks_ttl(mut self, ttl: Duration) -> Self {
        self.jwks_ttl = ttl;
        self
    }

    /// The least time between two JWKS fetches (unknown key IDs do not fetch more often).
    #[must_use]
    pub fn jwks_min_refetch(mut self, interval: Duration) -> Self {
        self.jwks_min_refetch = interval;
        self
    }

    /// The channel ID tokens must be issued for.
    pub fn channel_id(&self) -> &str {
        &self.channel_id
    }
}

/// The claims of a verified ID token (as LINE documents them).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct IdTokenClaims {
    /// The issuer, `https://access.line.me`.
    pub iss: String,
    /// The user ID.
    pub sub: String,
    /// The channel ID.
    pub aud: String,
    /// Expiry, UNIX seconds.
    pub exp: u64,
    /// Issue time, UNIX seconds.
    pub iat: u64,
    /// Not before, UNIX seconds (LINE does not send it; checked when present).
    #[serde(default)]
    pub nbf: Option<u64>,
    /// User authentication time, UNIX seconds.
    #[serde(default)]
    pub auth_time: Option<u64>,
    /// The nonce of the authorization request.
    #[serde(default)]
    pub nonce: Option<String>,
    /// Authentication methods.
    #[serde(default)]
    pub amr: Vec<String>,
    /// Display name (scope `profile`).
    #[serde(default)]
    pub name: Option<String>,
    /// Profile image URL (scope `profile`).
    #[serde(default)]
    pub picture: Option<String>,
    /// Email address (scope `email`).
    #[serde(default)]
    pub email: Option<String>,
}

/// What `GET /oauth2/v2.1/verify` says of a valid access token.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct AccessTokenInfo {
    /// Granted scopes, space-separated.
    pub scope: String,
    /// The channel the token was issued for.
    pub client_id: String,
    /// Seconds until the token expires.
    pub expires_in: i64,
}

#[derive(Deserialize)]
struct RawHeader {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
}

#[derive(Deserialize)]
struct LineErrorBody {
    #[serde(default)]
    error: String,
    #[serde(default)]
    error_description: String,
}

/// Verifies LINE ID tokens and access tokens for one channel. Share it (`Arc`): it caches
/// LINE's keys.
pub struct Verifier {
    config: Config,
    http: reqwest::Client,
    jwks: Mutex<JwksCache>,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

const POST_VERIFY: &str = "POST /oauth2/v2.1/verify";
const GET_VERIFY: &str = "GET /oauth2/v2.1/verify";

impl Verifier {
    /// A verifier with its own HTTP client.
    pub fn new(config: Config) -> Self {
        Self::with_client(config, reqwest::Client::new())
    }

    /// A verifier using `http` for the JWKS and verify endpoints.
    pub fn with_client(config: Config, http: reqwest::Client) -> Self {
        Self {
            config,
            http,
            jwks: Mutex::new(JwksCache::default()),
        }
    }

    /// The settings.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Verifies an ID token locally: signature (HS256 with the channel secret, ES256 with
    /// LINE's keys), issuer, audience, expiry and issue time (with the leeway), and `nonce`
    /// when given.
    pub async fn verify_id_token(&self, token: &str, nonce: Option<&str>) -> Result<IdTokenClaims, Error> {
        let (header, claims) = parse(token)?;
        let (alg, key) = match header.alg.as_str() {
            "HS256" => {
                let secret = self.config.channel_secret.as_ref().ok_or(ErrorKind::NoChannelSecret)?;
                (Algorithm::HS256, DecodingKey::from_secret(secret.expose().as_bytes()))
            }
            "ES256" => {
                let kid = header.kid.as_deref().ok_or(ErrorKind::MissingKeyId)?;
                let url = format!("{}{JWKS_PATH}", self.config.api_base);
                let key = self
                    .jwks
                    .lock()
                    .await
                    .key(
                        kid,
                        &self.http,
                        &url,
                        self.config.jwks_ttl,
                        self.config.jwks_min_refetch,
                    )
                    .await?;
                (Algorithm::ES256, key)
            }
            other => return Err(ErrorKind::UnsupportedAlgorithm { alg: cut(other, 16) }.into()),
        };
        // jsonwebtoken checks the signature only; the claims, already parsed into `IdTokenClaims`,
        // are checked below, each with its own error (so its copy of the payload is skipped).
        let mut validation = Validation::new(alg);
        validation.required_spec_claims = HashSet::new();
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        jsonwebtoken::decode::<serde::de::IgnoredAny>(token, &key, &validation).map_err(|_| ErrorKind::BadSignature)?;
        self.check_claims(&claims, nonce, now_secs())?;
        Ok(claims)
    }

    fn check_claims(&self, claims: &IdTokenClaims, nonce: Option<&str>, now: u64) -> Result<(), Error> {
        let leeway = self.config.leeway.as_secs();
        if claims.iss != ISSUER {
            return Err(ErrorKind::WrongIssuer.into());
        }
        if claims.aud != self.config.channel_id {
            return Err(ErrorKind::WrongAudience.into());
        }
        if now > claims.exp.saturating_add(leeway) {
            return Err(ErrorKind::Expired.into());
        }
        let starts = claims.nbf.map_or(claims.iat, |nbf| nbf.max(claims.iat));
        if starts > now.saturating_add(leeway) {
            return Err(ErrorKind::NotYetValid.into());
        }
        if let Some(nonce) = nonce {
            if claims.nonce.as_deref() != Some(nonce) {
                return Err(ErrorKind::NonceMismatch.into());
            }
        }
        Ok(())
    }

    /// Asks LINE to verify an ID token (`POST /oauth2/v2.1/verify` with `id_token`,
    /// `client_id` and `nonce` when given); LINE checks the signature, audience, expiry and nonce.
    pub async fn verify_id_token_remote(&self, token: &str, nonce: Option<&str>) -> Result<IdTokenClaims, Error> {
        let mut form = vec![("id_token", token), ("client_id", self.config.channel_id.as_str())];
        if let Some(nonce) = nonce {
            form.push(("nonce", nonce));
        }
        let body = serde_urlencoded::to_string(&form).map_err(|e| Error::http(POST_VERIFY, e.to_string()))?;
        let req = self
            .http
            .post(format!("{}{VERIFY_PATH}", self.config.api_base))
            .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body);
        let claims: IdTokenClaims = send(req, POST_VERIFY).await?;
        // LINE has checked the token; the issuer and audience are checked again so a wrong base URL cannot pass.
        if claims.iss != ISSUER {
            return Err(ErrorKind::WrongIssuer.into());
        }
        if claims.aud != self.config.channel_id {
            return Err(ErrorKind::WrongAudience.into());
        }
        Ok(claims)
    }

    /// Asks LINE about an access token (`GET /oauth2/v2.1/verify?access_token=`), and checks
    /// that it was issued for this channel (`client_id`) and has time left (`expires_in > 0`).
    pub async fn verify_access_token(&self, access_token: &str) -> Result<AccessTokenInfo, Error> {
        let query = serde_urlencoded::to_string([("access_token", access_token)])
            .map_err(|e| Error::http(GET_VERIFY, e.to_string()))?;
        let req = self.http.get(format!("{}{VERIFY_PATH}?{query}", self.config.api_base));
        let info: AccessTokenInfo = send(req, GET_VERIFY).await?;
        if info.client_id != self.config.channel_id {
            return Err(ErrorKind::WrongAudience.into());
        }
        if info.expires_in <= 0 {
            return Err(ErrorKind::Expired.into());
        }
        Ok(info)
    }
}

async fn send<T: serde::de::DeserializeOwned>(
    req: reqwest::RequestBuilder,
    endpoint: &'static str,
) -> Result<T, Error> {
    // `without_url`: the access token is in the query string, so no URL goes into an error.
    let resp = req
        .send()
        .await
        .map_err(|e| Error::http(endpoint, e.without_url().to_string()))?;
    let status = resp.status();
    let body = resp
        .bytes()
        .await
        .map_err(|e| Error::http(endpoint, e.without_url().to_string()))?;
    if status.is_success() {
        return serde_json::from_slice(&body).map_err(|e| Error::http(endpoint, format!("unreadable answer: {e}")));
    }
    let detail: LineErrorBody = serde_json::from_slice(&body).unwrap_or(LineErrorBody {
        error: String::new(),
        error_description: String::new(),
    });
    Err(ErrorKind::Rejected {
        endpoint,
        status: status.as_u16(),
        error: cut(&detail.error, 64),
        description: cut(&detail.error_description, 200),
    }
    .into())
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Splits and reads a JWT: three parts, each base64url, header and payload JSON.
fn parse(token: &str) -> Result<(RawHeader, IdTokenClaims), Error> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(Error::malformed(
            MalformedPart::Token,
            "expected three dot-separated parts",
        ));
    };
    let header = URL_SAFE_NO_PAD
        .decode(h)
        .map_err(|_| Error::malformed(MalformedPart::Header, "not base64url"))?;
    let header: RawHeader = serde_json::from_slice(&header)
        .map_err(|_| Error::malformed(MalformedPart::Header, "not a JSON object with a string alg"))?;
    let payload = URL_SAFE_NO_PAD
        .decode(p)
        .map_err(|_| Error::malformed(MalformedPart::Payload, "not base64url"))?;
    let claims: IdTokenClaims = serde_json::from_slice(&payload).map_err(|_| {
        Error::malformed(
            MalformedPart::Payload,
            "not a JSON object with iss, sub, aud, exp and iat",
        )
    })?;
    URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| Error::malformed(MalformedPart::Signature, "not base64url"))?;
    Ok((header, claims))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: u64, iat: u64) -> IdTokenClaims {
        IdTokenClaims {
            iss: ISSUER.into(),
            sub: "U1".into(),
            aud: "123".into(),
            exp,
            iat,
            nbf: None,
            auth_time: None,
            nonce: Some("n".into()),
            amr: vec![],
            name: None,
            picture: None,
            email: None,
        }
    }

    #[test]
    fn leeway_bounds_expiry_and_issue_time() {
        let v = Verifier::new(Config::new("123").leeway(Duration::from_secs(10)));
        let c = claims(1000, 900);
        assert!(v.check_claims(&c, None, 1010).is_ok());
        assert_eq!(v.check_claims(&c, None, 1011).unwrap_err().kind(), &ErrorKind::Expired);
        assert!(v.check_claims(&c, None, 890).is_ok());
        assert_eq!(
            v.check_claims(&c, None, 889).unwrap_err().kind(),
            &ErrorKind::NotYetValid
        );
        let mut c = claims(1000, 900);
        c.nbf = Some(950);
        assert_eq!(
            v.check_claims(&c, None, 939).unwrap_err().kind(),
            &ErrorKind::NotYetValid
        );
    }

    #[test]
    fn nonce_is_checked_only_when_given() {
        let v = Verifier::new(Config::new("123"));
        let c = claims(1000, 900);
        assert!(v.check_claims(&c, None, 950).is_ok());
        assert!(v.check_claims(&c, Some("n"), 950).is_ok());
        assert_eq!(
            v.check_claims(&c, Some("m"), 950).unwrap_err().kind(),
            &ErrorKind::NonceMismatch
        );
    }

    #[test]
    fn config_debug_hides_the_secret() {
        let cfg = Config::new("123").channel_secret("s3cr3t-value");
        let text = format!("{cfg:?} {:?}", Verifier::new(cfg.clone()));
        assert!(!text.contains("s3cr3t-value"), "{text}");
        assert!(text.contains("<redacted>"));
    }
}
