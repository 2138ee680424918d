//! Channel access tokens per channel: the emulator issues, verifies and revokes them
//! as LINE's token endpoints do, and refuses API calls with a revoked or expired one.
//!
//! Register a channel ([`Emulator::register_channel`](crate::Emulator::register_channel);
//! an added channel is registered already) and, for v2.1 tokens, the public half of its
//! assertion signing key ([`Emulator::register_public_key`](crate::Emulator::register_public_key)
//! or [`ChannelHandle::new_assertion_key`](crate::ChannelHandle::new_assertion_key), which give
//! the `kid` as LINE's console does). Then:
//!
//! - `POST /oauth2/v2.1/token`: a JWT assertion (RS256, header `kid` of a registered
//!   key, `iss` = `sub` = that key's channel, `aud` = `https://api.line.me/`, `exp`
//!   in the future and at most 30 minutes ahead, `token_exp` at most 30 days) gives
//!   a token of `token_exp` seconds bound to the channel, with its `key_id`;
//! - `GET /oauth2/v2.1/tokens/kid`: the key IDs of the channel's valid v2.1 tokens;
//! - `POST /oauth2/v2.1/revoke` (`client_id`, `client_secret`, `access_token`);
//! - `POST /v2/oauth/accessToken` (client ID and secret): a short-lived token (30 days);
//! - `POST /v2/oauth/verify`, `POST /v2/oauth/revoke`;
//! - `POST /oauth2/v3/token` (client ID and secret, or a JWT assertion): a stateless
//!   token (15 minutes) that cannot be revoked;
//! - `GET /oauth2/v2.1/verify?access_token=`: `client_id`, `expires_in`, `scope` of a
//!   channel token (LINE Login access tokens are answered as before).
//!
//! Refusals are 400 with `{"error": ..., "error_description": ...}` (and LINE's
//! `message`). An API call whose bearer token was issued here is accepted while the
//! token is valid and gets 401 once it is revoked or expired (in emulated time);
//! other bearer tokens are checked as before (any, or the configured one). The
//! rate limits count per channel for issued tokens.

use std::collections::HashMap;

use aws_lc_rs::encoding::AsDer;
use axum::http::StatusCode;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use jiff::Timestamp;
use jsonwebtoken::{Algorithm, DecodingKey};
use line_core::secret::ChannelSecret;
use serde_json::{json, Value};

use crate::error::{Error, LineError};

/// The `aud` LINE expects in a v2.1 assertion.
pub const AUDIENCE: &str = "https://api.line.me/";
/// The longest lifetime of an assertion (`exp` from now).
pub const MAX_ASSERTION_LIFETIME_SECS: i64 = 30 * 60;
/// The longest lifetime of a v2.1 token (`token_exp`).
pub const MAX_V21_TOKEN_SECS: i64 = 30 * 24 * 60 * 60;
/// The lifetime of a short-lived token.
pub const SHORT_LIVED_SECS: i64 = 30 * 24 * 60 * 60;
/// The lifetime of a stateless token.
pub const STATELESS_SECS: i64 = 15 * 60;

/// The `client_assertion_type` of a JWT assertion.
pub(crate) const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A 2048-bit RSA key pair for tests: the private key in PEM (PKCS#8), the public
/// key as the JWK LINE's console takes (no `kid`).
#[derive(Clone)]
pub struct AssertionKeyPair {
    private_pem: String,
    /// The private key as PKCS#1 DER (what jsonwebtoken signs RS256 with).
    pkcs1: Vec<u8>,
    public_jwk: Value,
}

impl std::fmt::Debug for AssertionKeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AssertionKeyPair")
            .field("public_jwk", &self.public_jwk)
            .finish_non_exhaustive()
    }
}

impl AssertionKeyPair {
    /// A fresh key pair.
    pub fn generate() -> Self {
        use aws_lc_rs::signature::KeyPair as _;
        // Key generation with a working system RNG does not fail; the emulator cannot run without it.
        let pair =
            aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).expect("RSA key generation works");
        let der = pair.as_der().expect("a generated key encodes");
        let b64 = STANDARD.encode(der.as_ref());
        let mut pem = String::from("-----BEGIN PRIVATE KEY-----\n");
        for line in b64.as_bytes().chunks(64) {
            pem.push_str(std::str::from_utf8(line).unwrap_or_default());
            pem.push('\n');
        }
        pem.push_str("-----END PRIVATE KEY-----\n");
        let (n, e) = rsa_public_components(pair.public_key().as_ref()).expect("a generated public key parses");
        let pkcs1 = pkcs1_of_pkcs8(der.as_ref())
            .expect("a generated key is PKCS#8")
            .to_vec();
        let public_jwk = json!({
            "kty": "RSA", "alg": "RS256", "use": "sig",
            "n": URL_SAFE_NO_PAD.encode(n), "e": URL_SAFE_NO_PAD.encode(e),
        });
        Self {
            private_pem: pem,
            pkcs1,
            public_jwk,
        }
    }

    /// Signs `claims` RS256 with this key, with `kid` in the header: an assertion
    /// for tests, well formed or not as the claims say.
    pub fn sign(&self, kid: &str, claims: &Value) -> String {
        let mut header = jsonwebtoken::Header::new(Algorithm::RS256);
        header.kid = Some(kid.to_owned());
        jsonwebtoken::encode(&header, claims, &jsonwebtoken::EncodingKey::from_rsa_der(&self.pkcs1))
            .expect("signing with a generated key does not fail")
    }

    /// The private key, PEM (PKCS#8).
    pub fn private_pem(&self) -> &str {
        &self.private_pem
    }

    /// The public key as a JWK.
    pub fn public_jwk(&self) -> &Value {
        &self.public_jwk
    }
}

/// One DER element of `tag` at the start of `input`: its contents and what follows.
fn tlv(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&t, rest) = input.split_first()?;
    if t != tag {
        return None;
    }
    let (&l, rest) = rest.split_first()?;
    let (len, rest) = if l < 0x80 {
        (usize::from(l), rest)
    } else {
        let n = usize::from(l & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n].iter().fold(0usize, |a, &b| (a << 8) | usize::from(b));
        (len, &rest[n..])
    };
    (rest.len() >= len).then(|| (&rest[..len], &rest[len..]))
}

/// The `RSAPrivateKey` (PKCS#1) inside a PKCS#8 `PrivateKeyInfo`
/// (`SEQUENCE { INTEGER version, SEQUENCE algorithm, OCTET STRING key }`).
fn pkcs1_of_pkcs8(der: &[u8]) -> Option<&[u8]> {
    let (seq, _) = tlv(der, 0x30)?;
    let (_, rest) = tlv(seq, 0x02)?;
    let (_, rest) = tlv(rest, 0x30)?;
    tlv(rest, 0x04).map(|(key, _)| key)
}

/// `n` and `e` of a DER `RSAPublicKey` (`SEQUENCE { INTEGER n, INTEGER e }`).
fn rsa_public_components(der: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let (seq, _) = tlv(der, 0x30)?;
    let (n, rest) = tlv(seq, 0x02)?;
    let (e, _) = tlv(rest, 0x02)?;
    let strip = |v: &[u8]| v.iter().skip_while(|&&b| b == 0).copied().collect::<Vec<u8>>();
    Some((strip(n), strip(e)))
}

/// The kinds of channel access token the token endpoints issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    V21,
    ShortLived,
    Stateless,
}

/// One issued token.
#[derive(Debug)]
pub(crate) struct TokenRecord {
    pub(crate) channel_id: String,
    pub(crate) kind: Kind,
    pub(crate) key_id: String,
    pub(crate) expires_at: Timestamp,
    pub(crate) revoked: bool,
}

/// A channel registered for the token endpoints.
pub(crate) struct Registered {
    pub(crate) secret: ChannelSecret,
    /// kid to the public key.
    pub(crate) keys: HashMap<String, DecodingKey>,
}

impl std::fmt::Debug for Registered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registered")
            .field("keys", &self.keys.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// The channels and the tokens issued for them.
#[derive(Debug, Default)]
pub(crate) struct OAuth {
    pub(crate) channels: HashMap<String, Registered>,
    /// kid to channel ID.
    pub(crate) kids: HashMap<String, String>,
    /// The issued tokens (the token itself is the key: the map is never printed).
    pub(crate) tokens: HashMap<String, TokenRecord>,
}

/// What one issued token looks like from the inspection API.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IssuedToken {
    /// The channel it is bound to.
    pub channel_id: String,
    /// `v2.1`, `short_lived` or `stateless`.
    pub kind: &'static str,
    /// When it expires (emulated time).
    pub expires_at: Timestamp,
    /// Whether it was revoked.
    pub revoked: bool,
}

impl OAuth {
    /// Forgets every issued token (channels and keys stay).
    pub(crate) fn clear_tokens(&mut self) {
        self.tokens.clear();
    }

    /// Whether `channel_id` is registered.
    pub(crate) fn has_channel(&self, channel_id: &str) -> bool {
        self.channels.contains_key(channel_id)
    }

    /// Registers a channel (or replaces its secret) for the token endpoints.
    pub(crate) fn register_channel(&mut self, channel_id: &str, secret: ChannelSecret) -> Result<(), Error> {
        if channel_id.is_empty() || !channel_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::config("channel_id", "must be digits"));
        }
        if secret.expose().is_empty() {
            return Err(Error::config("channel_secret", "must not be empty"));
        }
        match self.channels.get_mut(channel_id) {
            Some(c) => c.secret = secret,
            None => {
                self.channels.insert(
                    channel_id.to_owned(),
                    Registered {
                        secret,
                        keys: HashMap::new(),
                    },
                );
            }
        }
        Ok(())
    }

    /// Registers a public key (from [`public_key`]) for a registered channel; gives its `kid`.
    pub(crate) fn add_public_key(&mut self, channel_id: &str, key: DecodingKey) -> Result<String, Error> {
        let Some(channel) = self.channels.get_mut(channel_id) else {
            return Err(Error::config(
                "channel_id",
                format!("channel {channel_id} is not registered"),
            ));
        };
        let kid = uuid::Uuid::new_v4().to_string();
        channel.keys.insert(kid.clone(), key);
        self.kids.insert(kid.clone(), channel_id.to_owned());
        Ok(kid)
    }

    /// Every token issued for `channel_id`, oldest expiry first.
    pub(crate) fn issued_tokens(&self, channel_id: &str) -> Vec<IssuedToken> {
        let mut v: Vec<IssuedToken> = self
            .tokens
            .values()
            .filter(|t| t.channel_id == channel_id)
            .map(|t| IssuedToken {
                channel_id: t.channel_id.clone(),
                kind: match t.kind {
                    Kind::V21 => "v2.1",
                    Kind::ShortLived => "short_lived",
                    Kind::Stateless => "stateless",
                },
                expires_at: t.expires_at,
                revoked: t.revoked,
            })
            .collect();
        v.sort_by_key(|t| t.expires_at);
        v
    }

    /// The channel an issued token is bound to, valid or not.
    pub(crate) fn channel_of_token(&self, token: &str) -> Option<String> {
        self.tokens.get(token).map(|t| t.channel_id.clone())
    }

    /// For a bearer token issued here: `Some(Ok(channel))` while valid at `now`, `Some(Err)`
    /// (401) once revoked or expired. `None` for other tokens.
    pub(crate) fn check_bearer(&self, token: &str, now: Timestamp) -> Option<Result<String, LineError>> {
        let t = self.tokens.get(token)?;
        if t.revoked || t.expires_at <= now {
            return Some(Err(LineError::new(
                StatusCode::UNAUTHORIZED,
                "Authentication failed. Confirm that the access token in the authorization header is valid.",
            )));
        }
        Some(Ok(t.channel_id.clone()))
    }
}

/// The public half of an assertion signing key, checked as LINE's console does (a JWK: `kty`
/// `RSA`, `alg` `RS256`, `use` `sig` or `key_ops` `["verify"]`, `n`, `e`, 2048 bits, no `kid`).
pub(crate) fn public_key(jwk: &Value) -> Result<DecodingKey, Error> {
    let field = "public_key";
    let s = |k: &str| jwk.get(k).and_then(Value::as_str);
    if s("kty") != Some("RSA") {
        return Err(Error::config(field, "kty must be RSA"));
    }
    if s("alg") != Some("RS256") {
        return Err(Error::config(field, "alg must be RS256"));
    }
    let verify_only = jwk.get("key_ops") == Some(&json!(["verify"]));
    if s("use") != Some("sig") && !verify_only {
        return Err(Error::config(field, "use must be sig, or key_ops [\"verify\"]"));
    }
    if jwk.get("kid").is_some() {
        return Err(Error::config(field, "must not have a kid (LINE gives one)"));
    }
    let (Some(n), Some(e)) = (s("n"), s("e")) else {
        return Err(Error::config(field, "n and e are required"));
    };
    let bits = URL_SAFE_NO_PAD
        .decode(n)
        .map_err(|_| Error::config(field, "n is not base64url"))?
        .iter()
        .skip_while(|&&b| b == 0)
        .count()
        * 8;
    if bits != 2048 {
        return Err(Error::config(field, format!("the key must have 2048 bits, not {bits}")));
    }
    DecodingKey::from_rsa_components(n, e).map_err(|_| Error::config(field, "n or e is malformed"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_have_2048_bit_public_halves() {
        let pair = AssertionKeyPair::generate();
        let n = URL_SAFE_NO_PAD
            .decode(pair.public_jwk()["n"].as_str().unwrap())
            .unwrap();
        assert_eq!(n.len(), 256);
        assert!(pair.private_pem().starts_with("-----BEGIN PRIVATE KEY-----\n"));
        assert!(!format!("{pair:?}").contains("PRIVATE KEY"));
    }

    #[test]
    fn der_reader_refuses_truncated_input() {
        assert!(rsa_public_components(&[0x30, 0x05, 0x02, 0x01]).is_none());
        assert!(rsa_public_components(&[0x30, 0x06, 0x02, 0x01, 0x05, 0x02, 0x01, 0x03]) == Some((vec![5], vec![3])));
    }
}
