//! The official SDKs' `x-line-signature` vectors: each signature verifies, and
//! wrong signatures and tampered bodies fail.

use std::path::PathBuf;

use line_core::webhook::{verify, WebhookVerifier};
use line_core::{ChannelSecret, ErrorKind};
use serde::Deserialize;

#[derive(Deserialize)]
struct Vector {
    source: String,
    secret: String,
    body_utf8: Option<String>,
    body_file: Option<String>,
    signature: String,
    negative: Option<String>,
}

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn vectors() -> Vec<(Vector, Vec<u8>)> {
    let raw = std::fs::read(fixtures().join("signature/vectors.json")).unwrap();
    let vectors: Vec<Vector> = serde_json::from_slice(&raw).unwrap();
    vectors
        .into_iter()
        .map(|v| {
            let body = match (&v.body_utf8, &v.body_file) {
                (Some(s), _) => s.as_bytes().to_vec(),
                // Raw bytes: no newline added or trimmed.
                (None, Some(f)) => std::fs::read(fixtures().join(f)).unwrap(),
                (None, None) => panic!("{}: no body", v.source),
            };
            (v, body)
        })
        .collect()
}

#[test]
fn all_five_vectors_verify() {
    let vectors = vectors();
    assert_eq!(vectors.len(), 5);
    for (v, body) in &vectors {
        let secret = ChannelSecret::new(v.secret.as_str());
        let verifier = WebhookVerifier::new(&secret);
        verifier
            .verify(body, Some(&v.signature))
            .unwrap_or_else(|e| panic!("{}: {e}", v.source));
        verify(&secret, body, Some(&v.signature)).unwrap_or_else(|e| panic!("{}: {e}", v.source));
        assert_eq!(verifier.sign(body), v.signature, "{}", v.source);
        #[cfg(feature = "testing")]
        {
            assert_eq!(line_core::testing::sign(&secret, body), v.signature, "{}", v.source);
            assert_eq!(line_core::testing::sign(&v.secret, body), v.signature, "{}", v.source);
            assert_eq!(
                line_core::testing::sign(v.secret.as_str(), body),
                v.signature,
                "{}",
                v.source
            );
        }
    }
}

#[test]
fn php_body_is_signed_without_a_trailing_newline() {
    let body = std::fs::read(fixtures().join("signature/php_signature_body.json")).unwrap();
    assert_eq!(body.len(), 2399);
    assert_ne!(body.last(), Some(&b'\n'));
    let verifier = WebhookVerifier::new(&ChannelSecret::new("testsecret"));
    let sig = "Nq7AExtg27CQRfM3ngKtQxtVeIM/757ZTyDOrxQtWNg=";
    verifier.verify(&body, Some(sig)).unwrap();
    let mut with_newline = body.clone();
    with_newline.push(b'\n');
    assert_eq!(
        verifier.verify(&with_newline, Some(sig)).unwrap_err().kind(),
        &ErrorKind::InvalidSignature
    );
}

#[test]
fn negative_signatures_fail() {
    let mut checked = 0;
    for (v, body) in vectors() {
        let Some(neg) = &v.negative else { continue };
        let verifier = WebhookVerifier::new(&ChannelSecret::new(v.secret.as_str()));
        let err = verifier.verify(&body, Some(neg)).unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::InvalidSignature | ErrorKind::MalformedSignature),
            "{}: {err:?}",
            v.source
        );
        checked += 1;
    }
    assert_eq!(checked, 4);
}

#[test]
fn tampered_bodies_and_wrong_secrets_fail() {
    for (v, body) in vectors() {
        let verifier = WebhookVerifier::new(&ChannelSecret::new(v.secret.as_str()));
        // Flip one bit in each of a few positions.
        for pos in [0, body.len() / 2, body.len() - 1] {
            let mut tampered = body.clone();
            tampered[pos] ^= 0x01;
            assert_eq!(
                verifier.verify(&tampered, Some(&v.signature)).unwrap_err().kind(),
                &ErrorKind::InvalidSignature,
                "{} (byte {pos})",
                v.source
            );
        }
        let mut longer = body.clone();
        longer.push(b' ');
        assert!(verifier.verify(&longer, Some(&v.signature)).is_err(), "{}", v.source);
        assert!(verifier.verify(&body[..body.len() - 1], Some(&v.signature)).is_err());

        let other = WebhookVerifier::new(&ChannelSecret::new(format!("{}x", v.secret)));
        assert_eq!(
            other.verify(&body, Some(&v.signature)).unwrap_err().kind(),
            &ErrorKind::InvalidSignature,
            "{}",
            v.source
        );
        assert_eq!(
            verifier.verify(&body, None).unwrap_err().kind(),
            &ErrorKind::MissingSignature
        );
    }
}
