//! The `x-line-signature` check: HMAC-SHA256 of the raw body, keyed with the
//! channel secret, in standard base64.

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::{Error, ErrorKind};
use crate::secret::ChannelSecret;

type HmacSha256 = Hmac<Sha256>;

/// The name of the header that carries a webhook request's signature.
pub const SIGNATURE_HEADER: &str = "x-line-signature";

/// Length of a signature header value: base64 of the 32 bytes of an HMAC-SHA256.
const SIGNATURE_B64_LEN: usize = 44;
/// Length of the raw HMAC-SHA256 output.
const MAC_LEN: usize = 32;

/// Checks webhook signatures for one channel.
///
/// The HMAC key schedule is computed once, when the verifier is made; each
/// check clones that state instead of keying again. Make one verifier per
/// channel at start-up and share it (it is cheap to clone).
///
/// `Debug` never shows the secret or the key state.
///
/// ```
/// use line_core::webhook::WebhookVerifier;
/// use line_core::ChannelSecret;
///
/// let verifier = WebhookVerifier::new(&ChannelSecret::new("test_secret"));
/// let body = br#"{"hello":"world"}"#;
/// assert!(verifier.verify(body, Some("t7Hn4ZDHqs6e+wdvI5TyQIvzie0DmMUmuXEBqyyE/tM=")).is_ok());
/// assert!(verifier.verify(body, None).is_err());
/// ```
#[derive(Clone)]
pub struct WebhookVerifier {
    keyed: HmacSha256,
}

impl WebhookVerifier {
    /// A verifier for the channel with this secret.
    pub fn new(secret: &ChannelSecret) -> Self {
        Self::from_key(secret.expose().as_bytes())
    }

    pub(crate) fn from_key(key: &[u8]) -> Self {
        // HMAC accepts keys of any length (long keys are hashed first), so this never fails.
        let keyed = match HmacSha256::new_from_slice(key) {
            Ok(mac) => mac,
            Err(_) => unreachable!("hmac accepts keys of any length"),
        };
        Self { keyed }
    }

    /// Checks `signature` (the `x-line-signature` header value, if any) against
    /// the raw request `body`.
    ///
    /// The comparison is constant-time. Errors:
    /// [`MissingSignature`](ErrorKind::MissingSignature) when there is no header,
    /// [`MalformedSignature`](ErrorKind::MalformedSignature) when it is not base64
    /// of 32 bytes, [`InvalidSignature`](ErrorKind::InvalidSignature) when it does
    /// not match.
    pub fn verify(&self, body: &[u8], signature: Option<&str>) -> Result<(), Error> {
        let signature = signature.ok_or_else(|| Error::new(ErrorKind::MissingSignature))?;
        let expected = decode_signature(signature)?;
        let mut mac = self.keyed.clone();
        mac.update(body);
        mac.verify_slice(&expected)
            .map_err(|_| Error::new(ErrorKind::InvalidSignature))
    }

    /// The signature LINE would send with `body`, in standard base64.
    ///
    /// Useful for tests and emulators that post webhook requests to a bot.
    pub fn sign(&self, body: &[u8]) -> String {
        let mut mac = self.keyed.clone();
        mac.update(body);
        STANDARD.encode(mac.finalize().into_bytes())
    }
}

impl fmt::Debug for WebhookVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookVerifier(<redacted>)")
    }
}

/// Decodes a header value into the 32 bytes of a MAC.
fn decode_signature(signature: &str) -> Result<[u8; MAC_LEN], Error> {
    let signature = signature.trim_ascii();
    if signature.len() != SIGNATURE_B64_LEN {
        return Err(Error::new(ErrorKind::MalformedSignature));
    }
    // 44 base64 characters decode to at most 33 bytes; a roomy buffer keeps the
    // decoder's length estimate from ever refusing valid input.
    let mut buf = [0u8; 48];
    match STANDARD.decode_slice(signature, &mut buf) {
        Ok(MAC_LEN) => {
            let mut out = [0u8; MAC_LEN];
            out.copy_from_slice(&buf[..MAC_LEN]);
            Ok(out)
        }
        _ => Err(Error::new(ErrorKind::MalformedSignature)),
    }
}

/// Checks a webhook signature with a one-off verifier.
///
/// Prefer a long-lived [`WebhookVerifier`] on hot paths: it keys the HMAC once.
/// See [`WebhookVerifier::verify`] for the errors.
pub fn verify(secret: &ChannelSecret, body: &[u8], signature: Option<&str>) -> Result<(), Error> {
    WebhookVerifier::new(secret).verify(body, signature)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind_of(r: Result<(), Error>) -> ErrorKind {
        r.expect_err("expected an error").kind().clone()
    }

    #[test]
    fn known_vector_verifies_and_signs() {
        let v = WebhookVerifier::new(&ChannelSecret::new("test_secret"));
        let body = br#"{"hello":"world"}"#;
        assert_eq!(v.sign(body), "t7Hn4ZDHqs6e+wdvI5TyQIvzie0DmMUmuXEBqyyE/tM=");
        v.verify(body, Some("t7Hn4ZDHqs6e+wdvI5TyQIvzie0DmMUmuXEBqyyE/tM="))
            .unwrap();
    }

    #[test]
    fn errors_are_classified() {
        let v = WebhookVerifier::new(&ChannelSecret::new("test_secret"));
        let body = br#"{"hello":"world"}"#;
        assert_eq!(kind_of(v.verify(body, None)), ErrorKind::MissingSignature);
        assert_eq!(kind_of(v.verify(body, Some(""))), ErrorKind::MalformedSignature);
        assert_eq!(kind_of(v.verify(body, Some("deadbeef"))), ErrorKind::MalformedSignature);
        // 44 characters but not base64.
        let not_b64 = "!".repeat(44);
        assert_eq!(kind_of(v.verify(body, Some(&not_b64))), ErrorKind::MalformedSignature);
        // Valid base64 of 33 bytes has 44 characters without padding: still malformed.
        let long = STANDARD.encode([0u8; 33]);
        assert_eq!(kind_of(v.verify(body, Some(&long))), ErrorKind::MalformedSignature);
        // Right shape, wrong value (one letter's case changed).
        assert_eq!(
            kind_of(v.verify(body, Some("t7Hn4ZDHqs6e+wdvi5TyQivzie0DmMUmuXEBqyyE/tM="))),
            ErrorKind::InvalidSignature
        );
        // Right signature, tampered body.
        assert_eq!(
            kind_of(v.verify(
                br#"{"hello":"world!"}"#,
                Some("t7Hn4ZDHqs6e+wdvI5TyQIvzie0DmMUmuXEBqyyE/tM=")
            )),
            ErrorKind::InvalidSignature
        );
    }

    #[test]
    fn surrounding_whitespace_is_ignored() {
        let v = WebhookVerifier::new(&ChannelSecret::new("test_secret"));
        v.verify(
            br#"{"hello":"world"}"#,
            Some(" t7Hn4ZDHqs6e+wdvI5TyQIvzie0DmMUmuXEBqyyE/tM=\n"),
        )
        .unwrap();
    }

    #[test]
    fn free_function_matches_the_verifier() {
        let secret = ChannelSecret::new("SECRET");
        verify(&secret, b"{}", Some("3q8QXTAGaey18yL8FWTqdVlbMr6hcuNvM4tefa0o9nA=")).unwrap();
        assert!(verify(&secret, b"{} ", Some("3q8QXTAGaey18yL8FWTqdVlbMr6hcuNvM4tefa0o9nA=")).is_err());
    }

    #[test]
    fn debug_hides_the_key() {
        let v = WebhookVerifier::new(&ChannelSecret::new("sec-xyz789"));
        let out = format!("{v:?} {v:#?}");
        assert!(!out.contains("sec-xyz789"));
        assert!(out.contains("<redacted>"));
    }
}
