//! One account: its channel, credentials and settings, checked on the way in.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use jsonwebtoken::EncodingKey;
use line_core::secret::{ChannelAccessToken, ChannelSecret};
use serde::{Deserialize, Serialize};

use crate::error::Error;

/// The longest lifetime LINE gives a channel access token v2.1 (`token_exp`): 30 days.
pub const MAX_V21_TOKEN_LIFETIME: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// The time zone an account gets when its entry names none.
pub const DEFAULT_TIME_ZONE: &str = "Asia/Tokyo";

/// A channel ID: the digits LINE shows in the console (`1234567890`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct ChannelId(String);

impl ChannelId {
    /// Checks and wraps a channel ID: 1 to 20 ASCII digits.
    pub fn new(id: impl Into<String>) -> Result<Self, Error> {
        let id = id.into();
        if id.is_empty() || id.len() > 20 || !id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::invalid("account", "channel_id", "must be 1 to 20 digits"));
        }
        Ok(Self(id))
    }

    /// The ID.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ChannelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A bot's own user ID (`U` and 32 lowercase hex digits): the `destination` of
/// the channel's webhooks.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct BotUserId(String);

impl BotUserId {
    /// Checks and wraps a bot user ID.
    pub fn new(id: impl Into<String>) -> Result<Self, Error> {
        let id = id.into();
        let ok = id.len() == 33
            && id.starts_with('U')
            && id[1..]
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !ok {
            return Err(Error::invalid(
                "account",
                "bot_user_id",
                "must be `U` followed by 32 lowercase hexadecimal digits",
            ));
        }
        Ok(Self(id))
    }

    /// The ID.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BotUserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The RSA private key of a channel's assertion signing key (PEM, PKCS#1 or
/// PKCS#8, 2048 bits), checked when made. Never printed.
#[derive(Clone)]
pub struct PrivateKey {
    pem: Arc<str>,
    key: EncodingKey,
}

impl PrivateKey {
    /// Reads and checks a PEM private key. The error never quotes the key.
    pub fn from_pem(pem: &str) -> Result<Self, Error> {
        let field = "token.private_key";
        let key = EncodingKey::from_rsa_pem(pem.as_bytes())
            .map_err(|_| Error::invalid("account", field, "not an RSA private key in PEM (PKCS#1 or PKCS#8)"))?;
        let pair = aws_lc_rs::signature::RsaKeyPair::from_der(key.inner())
            .map_err(|_| Error::invalid("account", field, "not a usable RSA private key"))?;
        if pair.public_modulus_len() != 256 {
            return Err(Error::invalid(
                "account",
                field,
                format!(
                    "LINE's assertion signing keys are 2048-bit RSA keys, this one has {} bits",
                    pair.public_modulus_len() * 8
                ),
            ));
        }
        Ok(Self { pem: pem.into(), key })
    }

    /// Reads and checks a private key given as a JSON Web Key (`kty` `RSA` with
    /// `n`, `e`, `d`, `p`, `q`, `dp`, `dq`, `qi` in base64url), the form LINE's
    /// console gives when it issues an assertion signing key. The error never
    /// quotes the key.
    pub fn from_jwk(jwk: &str) -> Result<Self, Error> {
        let members: Jwk = serde_json::from_str(jwk).map_err(|_| Jwk::bad())?;
        Self::from_jwk_members(&members)
    }

    /// A key from the members of its JWK (read from text, or inline in a registry entry).
    pub(crate) fn from_jwk_members(jwk: &Jwk) -> Result<Self, Error> {
        let bad = Jwk::bad;
        if jwk.kty.as_deref() != Some("RSA") {
            return Err(bad());
        }
        let mut ints = Vec::with_capacity(9);
        ints.push(vec![0u8]); // version 0: two primes
        for member in [&jwk.n, &jwk.e, &jwk.d, &jwk.p, &jwk.q, &jwk.dp, &jwk.dq, &jwk.qi] {
            let text = member.as_deref().ok_or_else(bad)?;
            let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(text.trim_end_matches('='))
                .map_err(|_| bad())?;
            if bytes.is_empty() {
                return Err(bad());
            }
            ints.push(bytes);
        }
        let der = der::sequence(&ints.iter().map(|i| der::integer(i)).collect::<Vec<_>>().concat());
        let b64 = base64::engine::general_purpose::STANDARD.encode(der);
        let mut pem = String::from("-----BEGIN RSA PRIVATE KEY-----\n");
        for line in b64.as_bytes().chunks(64) {
            pem.push_str(std::str::from_utf8(line).unwrap_or_default());
            pem.push('\n');
        }
        pem.push_str("-----END RSA PRIVATE KEY-----\n");
        Self::from_pem(&pem)
    }

    /// A key as PEM, or as a JWK when the text is a JSON object.
    pub fn parse(text: &str) -> Result<Self, Error> {
        if text.trim_start().starts_with('{') {
            Self::from_jwk(text)
        } else {
            Self::from_pem(text)
        }
    }

    /// The PEM text. Call this only where the key is stored.
    pub fn expose_pem(&self) -> &str {
        &self.pem
    }

    pub(crate) fn encoding_key(&self) -> &EncodingKey {
        &self.key
    }
}

impl PartialEq for PrivateKey {
    fn eq(&self, other: &Self) -> bool {
        self.pem == other.pem
    }
}

impl Eq for PrivateKey {}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PrivateKey(<redacted>)")
    }
}

/// Where an account's channel access tokens come from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenConfig {
    /// A long-lived token issued in the console; used as it is, never refreshed
    /// or revoked by this crate.
    Static(ChannelAccessToken),
    /// Channel access tokens v2.1: a JWT assertion signed with the channel's
    /// assertion signing key (RS256, header `kid`), exchanged at
    /// `POST /oauth2/v2.1/token` for a token of `lifetime` (at most 30 days).
    V21 {
        /// The key ID LINE gave when the public key was registered.
        kid: String,
        /// The private key.
        private_key: PrivateKey,
        /// How long each issued token lives (`token_exp`).
        lifetime: Duration,
    },
    /// Short-lived tokens (30 days) issued from the channel ID and secret at
    /// `POST /v2/oauth/accessToken`.
    ShortLived,
    /// Stateless tokens (15 minutes) issued from the channel ID and secret at
    /// `POST /oauth2/v3/token`; they cannot be revoked.
    Stateless,
}

impl TokenConfig {
    /// A v2.1 configuration with LINE's longest token lifetime (30 days).
    pub fn v21(kid: impl Into<String>, private_key: PrivateKey) -> Self {
        Self::V21 {
            kid: kid.into(),
            private_key,
            lifetime: MAX_V21_TOKEN_LIFETIME,
        }
    }

    /// The name the registry file uses for this kind (`static`, `v2.1`,
    /// `short_lived`, `stateless`).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Static(_) => "static",
            Self::V21 { .. } => "v2.1",
            Self::ShortLived => "short_lived",
            Self::Stateless => "stateless",
        }
    }
}

/// What an account pays for messages: LINE's plans have free messages per month
/// and, on some plans, a price per additional message.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct MessagePlan {
    /// Messages included per month.
    pub free_messages_per_month: u64,
    /// Yen per message past the free ones; `None` when the plan allows no
    /// additional messages (sends past the free ones are refused by LINE).
    pub yen_per_additional_message: Option<f64>,
}

/// What sending some messages costs under a plan.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct Cost {
    /// Messages that fit in what is left of the month's free messages.
    pub free: u64,
    /// Messages past the free ones.
    pub additional: u64,
    /// The price of the additional messages in yen (0 when there are none);
    /// `None` when the plan allows no additional messages and some are needed.
    pub yen: Option<f64>,
}

impl MessagePlan {
    /// A plan with `free` messages a month and `yen` per additional message.
    pub fn new(free: u64, yen: Option<f64>) -> Result<Self, Error> {
        if let Some(y) = yen {
            if !(y.is_finite() && y >= 0.0) {
                return Err(Error::invalid(
                    "account",
                    "plan.yen_per_additional_message",
                    "must be a finite number of yen, zero or more",
                ));
            }
        }
        Ok(Self {
            free_messages_per_month: free,
            yen_per_additional_message: yen,
        })
    }

    /// The cost of sending `messages` more when `used` were sent this month.
    ///
    /// ```
    /// use line_accounts::MessagePlan;
    /// let standard = MessagePlan::new(30_000, Some(3.0))?;
    /// let c = standard.cost(29_000, 1_500);
    /// assert_eq!((c.free, c.additional, c.yen), (1_000, 500, Some(1_500.0)));
    /// let light = MessagePlan::new(5_000, None)?;
    /// assert_eq!(light.cost(5_000, 1).yen, None);
    /// # Ok::<(), line_accounts::Error>(())
    /// ```
    pub fn cost(&self, used: u64, messages: u64) -> Cost {
        let left = self.free_messages_per_month.saturating_sub(used);
        let free = messages.min(left);
        let additional = messages - free;
        let yen = match (additional, self.yen_per_additional_message) {
            (0, _) => Some(0.0),
            (n, Some(y)) => Some(n as f64 * y),
            (_, None) => None,
        };
        Cost { free, additional, yen }
    }
}

/// An account's settings.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Settings {
    /// The account's IANA time zone (`Asia/Tokyo`): its calendar, quiet hours, month.
    pub time_zone: jiff::tz::TimeZone,
    /// Its message plan.
    pub plan: MessagePlan,
}

impl Settings {
    /// Settings with this time zone name (checked against the time zone database) and plan.
    pub fn new(time_zone: &str, plan: MessagePlan) -> Result<Self, Error> {
        let tz = jiff::tz::TimeZone::get(time_zone)
            .map_err(|_| Error::invalid("account", "time_zone", format!("unknown IANA time zone {time_zone:?}")))?;
        Ok(Self { time_zone: tz, plan })
    }

    /// The time zone's IANA name.
    pub fn time_zone_name(&self) -> &str {
        self.time_zone.iana_name().unwrap_or("UTC")
    }
}

/// One LINE Official Account: its channel, credentials and settings.
///
/// `Debug` never shows the channel secret, a token or the private key.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Account {
    /// The channel ID.
    pub channel_id: ChannelId,
    /// The bot's user ID: the `destination` of its webhooks.
    pub bot_user_id: BotUserId,
    /// A name for people (a brand, a store); optional.
    pub name: Option<String>,
    /// The channel secret: the key of webhook signatures, and the client secret
    /// of the short-lived and stateless token endpoints and of revocation.
    pub channel_secret: ChannelSecret,
    /// Where its tokens come from.
    pub token: TokenConfig,
    /// Its settings.
    pub settings: Settings,
}

impl Account {
    /// An account; the secret is checked (32 hexadecimal digits, as LINE's are).
    pub fn new(
        channel_id: ChannelId,
        bot_user_id: BotUserId,
        channel_secret: ChannelSecret,
        token: TokenConfig,
        settings: Settings,
    ) -> Result<Self, Error> {
        check_secret(channel_secret.expose())?;
        if let TokenConfig::Static(t) = &token {
            check_token(t.expose())?;
        }
        if let TokenConfig::V21 { kid, lifetime, .. } = &token {
            check_kid(kid)?;
            check_lifetime(*lifetime)?;
        }
        Ok(Self {
            channel_id,
            bot_user_id,
            name: None,
            channel_secret,
            token,
            settings,
        })
    }

    /// The same account with a name.
    #[must_use]
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }
}

fn check_secret(secret: &str) -> Result<(), Error> {
    if secret.len() == 32 && secret.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(Error::invalid(
            "account",
            "channel_secret",
            "must be 32 hexadecimal digits, as LINE's channel secrets are",
        ))
    }
}

fn check_token(token: &str) -> Result<(), Error> {
    if !token.is_empty() && token.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(())
    } else {
        Err(Error::invalid(
            "account",
            "token.access_token",
            "must be non-empty printable ASCII without spaces",
        ))
    }
}

fn check_kid(kid: &str) -> Result<(), Error> {
    if !kid.is_empty() && kid.len() <= 200 && kid.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(())
    } else {
        Err(Error::invalid(
            "account",
            "token.kid",
            "must be the key ID LINE gave for the public key (printable ASCII, 1 to 200 characters)",
        ))
    }
}

fn check_lifetime(lifetime: Duration) -> Result<(), Error> {
    if lifetime.as_secs() >= 60 && lifetime <= MAX_V21_TOKEN_LIFETIME {
        Ok(())
    } else {
        Err(Error::invalid(
            "account",
            "token.token_lifetime_secs",
            format!(
                "must be between 60 and {} seconds (30 days)",
                MAX_V21_TOKEN_LIFETIME.as_secs()
            ),
        ))
    }
}

// ---- The serialized form: one entry of a registry file, and what the SQL stores keep. ----

/// One account as a registry file (and the SQL registries) spell it.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Entry {
    pub(crate) channel_id: String,
    pub(crate) bot_user_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) name: Option<String>,
    pub(crate) channel_secret: Redacted,
    pub(crate) token: TokenEntry,
    #[serde(default = "default_tz")]
    pub(crate) time_zone: String,
    pub(crate) plan: PlanEntry,
}

fn default_tz() -> String {
    DEFAULT_TIME_ZONE.to_owned()
}

/// A private key in an [`Entry`]: PEM text, or a JWK object. Never printed.
#[derive(Deserialize, Serialize)]
#[serde(untagged)]
pub(crate) enum KeyText {
    Text(String),
    Jwk(Box<Jwk>),
}

impl fmt::Debug for KeyText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// The members of an RSA private key as a JSON Web Key that [`PrivateKey::from_jwk`] reads
/// (base64url); other members are ignored. Checked there, not here, so that a missing member
/// gets the JWK error. No `Debug`: never printed.
#[derive(Deserialize, Serialize)]
pub(crate) struct Jwk {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kty: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    n: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    e: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    d: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    p: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    q: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dp: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dq: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    qi: Option<String>,
}

impl Jwk {
    fn bad() -> Error {
        Error::invalid(
            "account",
            "token.private_key",
            "not an RSA private key as a JWK (kty RSA with n, e, d, p, q, dp, dq, qi in base64url)",
        )
    }
}

/// A secret string while it is in an [`Entry`]: never printed.
#[derive(Deserialize, Serialize)]
#[serde(transparent)]
pub(crate) struct Redacted(pub(crate) String);

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(tag = "type", deny_unknown_fields)]
pub(crate) enum TokenEntry {
    #[serde(rename = "static")]
    Static { access_token: Redacted },
    #[serde(rename = "v2.1")]
    V21 {
        kid: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        private_key: Option<KeyText>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        private_key_file: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token_lifetime_secs: Option<u64>,
    },
    #[serde(rename = "short_lived")]
    ShortLived,
    #[serde(rename = "stateless")]
    Stateless,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PlanEntry {
    pub(crate) free_messages_per_month: u64,
    #[serde(default)]
    pub(crate) yen_per_additional_message: Option<f64>,
}

impl Entry {
    /// The account this entry describes; `base` resolves `private_key_file`.
    pub(crate) fn into_account(self, base: Option<&std::path::Path>) -> Result<Account, Error> {
        let channel_id = ChannelId::new(self.channel_id)?;
        let bot_user_id = BotUserId::new(self.bot_user_id)?;
        let token = match self.token {
            TokenEntry::Static { access_token } => TokenConfig::Static(ChannelAccessToken::new(access_token.0)),
            TokenEntry::V21 {
                kid,
                private_key,
                private_key_file,
                token_lifetime_secs,
            } => {
                let private_key = match (private_key, private_key_file) {
                    (Some(KeyText::Text(text)), None) => PrivateKey::parse(&text)?,
                    (Some(KeyText::Jwk(jwk)), None) => PrivateKey::from_jwk_members(&jwk)?,
                    (None, Some(file)) => {
                        let path = match base {
                            Some(b) => b.join(&file),
                            None => std::path::PathBuf::from(&file),
                        };
                        let text = std::fs::read_to_string(&path).map_err(|e| {
                            Error::with_source(
                                crate::ErrorKind::InvalidAccount {
                                    entry: "account".into(),
                                    field: "token.private_key_file".into(),
                                    reason: format!("cannot read {}", path.display()),
                                },
                                e,
                            )
                        })?;
                        PrivateKey::parse(&text)?
                    }
                    _ => {
                        return Err(Error::invalid(
                            "account",
                            "token",
                            "a v2.1 token needs exactly one of `private_key` and `private_key_file`",
                        ))
                    }
                };
                TokenConfig::V21 {
                    kid,
                    private_key,
                    lifetime: token_lifetime_secs.map_or(MAX_V21_TOKEN_LIFETIME, Duration::from_secs),
                }
            }
            TokenEntry::ShortLived => TokenConfig::ShortLived,
            TokenEntry::Stateless => TokenConfig::Stateless,
        };
        let plan = MessagePlan::new(self.plan.free_messages_per_month, self.plan.yen_per_additional_message)?;
        let settings = Settings::new(&self.time_zone, plan)?;
        let mut account = Account::new(
            channel_id,
            bot_user_id,
            ChannelSecret::new(self.channel_secret.0),
            token,
            settings,
        )?;
        account.name = self.name;
        Ok(account)
    }

    /// The entry of an account, with its key inline (as the SQL registries store it).
    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    pub(crate) fn from_account(a: &Account) -> Self {
        let token = match &a.token {
            TokenConfig::Static(t) => TokenEntry::Static {
                access_token: Redacted(t.expose().to_owned()),
            },
            TokenConfig::V21 {
                kid,
                private_key,
                lifetime,
            } => TokenEntry::V21 {
                kid: kid.clone(),
                private_key: Some(KeyText::Text(private_key.expose_pem().to_owned())),
                private_key_file: None,
                token_lifetime_secs: Some(lifetime.as_secs()),
            },
            TokenConfig::ShortLived => TokenEntry::ShortLived,
            TokenConfig::Stateless => TokenEntry::Stateless,
        };
        Self {
            channel_id: a.channel_id.as_str().to_owned(),
            bot_user_id: a.bot_user_id.as_str().to_owned(),
            name: a.name.clone(),
            channel_secret: Redacted(a.channel_secret.expose().to_owned()),
            token,
            time_zone: a.settings.time_zone_name().to_owned(),
            plan: PlanEntry {
                free_messages_per_month: a.settings.plan.free_messages_per_month,
                yen_per_additional_message: a.settings.plan.yen_per_additional_message,
            },
        }
    }
}

/// The JSON the SQL registries keep for an account (secrets included: see the
/// crate docs on storage).
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn to_stored_json(a: &Account) -> String {
    serde_json::to_string(&Entry::from_account(a)).unwrap_or_default()
}

/// An account back from its stored JSON.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn from_stored_json(json: &str) -> Result<Account, Error> {
    // The parser's message could quote a value, secrets included: only its line is kept.
    let entry: Entry = serde_json::from_str(json).map_err(|e| {
        Error::new(crate::ErrorKind::InvalidFile {
            pointer: String::new(),
            reason: format!("a stored account could not be read (line {})", e.line()),
        })
    })?;
    entry.into_account(None)
}

/// Just enough DER to write a PKCS#1 `RSAPrivateKey`.
mod der {
    fn with_len(tag: u8, body: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        let len = body.len();
        if len < 0x80 {
            out.push(len as u8);
        } else {
            let bytes = len.to_be_bytes();
            let skip = bytes.iter().take_while(|&&b| b == 0).count();
            out.push(0x80 | (bytes.len() - skip) as u8);
            out.extend_from_slice(&bytes[skip..]);
        }
        out.extend_from_slice(body);
        out
    }

    /// An INTEGER of an unsigned big-endian value.
    pub(super) fn integer(value: &[u8]) -> Vec<u8> {
        let trimmed = {
            let skip = value.iter().take_while(|&&b| b == 0).count().min(value.len() - 1);
            &value[skip..]
        };
        let mut body = Vec::with_capacity(trimmed.len() + 1);
        if trimmed[0] & 0x80 != 0 {
            body.push(0);
        }
        body.extend_from_slice(trimmed);
        with_len(0x02, &body)
    }

    pub(super) fn sequence(contents: &[u8]) -> Vec<u8> {
        with_len(0x30, contents)
    }
}
