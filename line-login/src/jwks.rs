//! LINE's published ES256 keys, fetched on demand and cached.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet};
use jsonwebtoken::DecodingKey;

use crate::error::{cut, Error, ErrorKind};

const ENDPOINT: &str = "GET /oauth2/v2.1/certs";

/// The cached key set: keys by `kid`, when they were fetched, and when a fetch was last tried.
#[derive(Default)]
pub(crate) struct JwksCache {
    keys: HashMap<String, DecodingKey>,
    fetched_at: Option<Instant>,
    last_attempt: Option<Instant>,
}

impl JwksCache {
    /// The key for `kid`: from the cache while it is fresh, else fetched again, but never
    /// more often than `min_refetch`, so a flood of unknown key IDs does not reach LINE.
    pub(crate) async fn key(
        &mut self,
        kid: &str,
        http: &reqwest::Client,
        url: &str,
        ttl: Duration,
        min_refetch: Duration,
    ) -> Result<DecodingKey, Error> {
        let now = Instant::now();
        let fresh = self.fetched_at.is_some_and(|t| now.duration_since(t) < ttl);
        if fresh {
            if let Some(key) = self.keys.get(kid) {
                return Ok(key.clone());
            }
        }
        let may_fetch = self.last_attempt.is_none_or(|t| now.duration_since(t) >= min_refetch);
        if may_fetch {
            self.last_attempt = Some(now);
            self.keys = fetch(http, url).await?;
            self.fetched_at = Some(now);
        }
        self.keys
            .get(kid)
            .cloned()
            .ok_or_else(|| ErrorKind::UnknownKeyId { kid: cut(kid, 64) }.into())
    }
}

async fn fetch(http: &reqwest::Client, url: &str) -> Result<HashMap<String, DecodingKey>, Error> {
    let resp = http
        .get(url)
        .send()
        .await
        .map_err(|e| Error::http(ENDPOINT, e.without_url().to_string()))?;
    let status = resp.status();
    if !status.is_success() {
        return Err(Error::http(ENDPOINT, format!("status {}", status.as_u16())));
    }
    let body = resp
        .bytes()
        .await
        .map_err(|e| Error::http(ENDPOINT, e.without_url().to_string()))?;
    parse(&body)
}

/// Reads a JWKS document, keeping the EC keys that have a `kid`.
pub(crate) fn parse(body: &[u8]) -> Result<HashMap<String, DecodingKey>, Error> {
    let set: JwkSet =
        serde_json::from_slice(body).map_err(|e| Error::http(ENDPOINT, format!("not a JSON Web Key Set: {e}")))?;
    let mut keys = HashMap::new();
    for jwk in &set.keys {
        let (Some(kid), AlgorithmParameters::EllipticCurve(_)) = (&jwk.common.key_id, &jwk.algorithm) else {
            continue;
        };
        if let Ok(key) = DecodingKey::from_jwk(jwk) {
            keys.insert(kid.clone(), key);
        }
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_ec_keys_with_kid_and_skips_others() {
        let body = br#"{"keys":[
            {"kty":"EC","alg":"ES256","use":"sig","kid":"k1","crv":"P-256",
             "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRjmXJDwDWHCnFXIlpgDFv2BWRwnQ7_rVo9XfLs"},
            {"kty":"EC","alg":"ES256","crv":"P-256",
             "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRjmXJDwDWHCnFXIlpgDFv2BWRwnQ7_rVo9XfLs"},
            {"kty":"oct","kid":"k2","k":"c2VjcmV0"}
        ]}"#;
        let keys = parse(body).unwrap();
        assert_eq!(keys.keys().collect::<Vec<_>>(), vec!["k1"]);
    }

    #[test]
    fn rejects_a_body_that_is_not_a_key_set() {
        let err = parse(b"[]").unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::Http { .. }), "{err}");
    }
}
