//! The token lifecycle against the emulator: v2.1 tokens from signed assertions,
//! short-lived and stateless tokens, one refresh at a time, a failing endpoint,
//! revocation on removal.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use jiff::SignedDuration;
use line_accounts::{ErrorKind, TokenConfig};
use line_core::client::TokenSource;
use line_core::clock::ManualClock;
use line_emulator::{FaultConfig, FaultRule};

const DAY: Duration = Duration::from_secs(86_400);

async fn bot_info_ok(client: &line_core::client::Client) -> Result<(), line_core::Error> {
    client.get_bot_info().await.map(|_| ())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_v21_token_is_issued_from_a_signed_assertion_and_works() {
    let clock = ManualClock::new(start());
    let emu = emulator(&clock).await;
    let accounts = accounts(&emu, &clock);
    let account = v21_account(&emu, 1, DAY);
    let id = account.channel_id.clone();
    accounts.add(account).await.unwrap();
    let handle = accounts.get(&id).await.unwrap();
    bot_info_ok(handle.client()).await.unwrap();
    let issued = emu.issued_tokens(id.as_str());
    assert_eq!(issued.len(), 1);
    assert_eq!(issued[0].kind, "v2.1");
    // token_exp was honoured: a day from the emulated now.
    assert_eq!(issued[0].expires_at, start() + SignedDuration::from_hours(24));
    let token = handle.tokens().token().await.unwrap();
    assert_eq!(emu.token_channel(token.expose()).as_deref(), Some(id.as_str()));
    // Cached: a second call issues nothing.
    bot_info_ok(handle.client()).await.unwrap();
    assert_eq!(emu.calls("issueChannelTokenByJWT"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_concurrent_callers_cause_one_token_request() {
    let clock = ManualClock::new(start());
    let emu = emulator(&clock).await;
    let accounts = accounts(&emu, &clock);
    let account = v21_account(&emu, 2, DAY);
    let id = account.channel_id.clone();
    accounts.add(account).await.unwrap();
    let barrier = Arc::new(tokio::sync::Barrier::new(64));
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let (accounts, id, barrier) = (accounts.clone(), id.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                let handle = accounts.get(&id).await.unwrap();
                handle.tokens().token().await.unwrap().expose().to_owned()
            })
        })
        .collect();
    let mut tokens = Vec::new();
    for t in tasks {
        tokens.push(t.await.unwrap());
    }
    assert_eq!(
        emu.calls("issueChannelTokenByJWT"),
        1,
        "the token endpoint saw one request"
    );
    assert!(
        tokens.windows(2).all(|w| w[0] == w[1]),
        "every caller got the same token"
    );

    // At refresh time, again one request for many callers, and a new token.
    clock.advance(SignedDuration::from_hours(22));
    let barrier = Arc::new(tokio::sync::Barrier::new(64));
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let (accounts, id, barrier) = (accounts.clone(), id.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                accounts
                    .get(&id)
                    .await
                    .unwrap()
                    .tokens()
                    .token()
                    .await
                    .unwrap()
                    .expose()
                    .to_owned()
            })
        })
        .collect();
    let mut fresh = Vec::new();
    for t in tasks {
        fresh.push(t.await.unwrap());
    }
    assert_eq!(emu.calls("issueChannelTokenByJWT"), 2, "one refresh for 64 callers");
    assert!(fresh.windows(2).all(|w| w[0] == w[1]));
    assert_ne!(fresh[0], tokens[0], "the refresh gave a new token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_refreshed_before_they_expire() {
    let clock = ManualClock::new(start());
    let emu = emulator(&clock).await;
    let accounts = accounts(&emu, &clock);
    let account = v21_account(&emu, 3, Duration::from_secs(1000));
    let id = account.channel_id.clone();
    accounts.add(account).await.unwrap();
    let handle = accounts.get(&id).await.unwrap();
    let first = handle.tokens().token().await.unwrap();
    let status = handle.tokens().status().await;
    assert_eq!(status.expires_at, Some(start() + SignedDuration::from_secs(1000)));
    // A tenth of the lifetime before expiry.
    assert_eq!(status.refresh_at, Some(start() + SignedDuration::from_secs(900)));
    clock.advance(SignedDuration::from_secs(899));
    assert_eq!(handle.tokens().token().await.unwrap(), first, "not yet");
    clock.advance(SignedDuration::from_secs(2));
    let second = handle.tokens().token().await.unwrap();
    assert_ne!(second, first, "refreshed while the old token was still valid");
    bot_info_ok(handle.client()).await.unwrap();
    assert_eq!(emu.calls("issueChannelTokenByJWT"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_token_endpoint_keeps_the_old_token_until_it_expires() {
    let clock = ManualClock::new(start());
    let emu = emulator(&clock).await;
    let accounts = accounts(&emu, &clock);
    let account = v21_account(&emu, 4, Duration::from_secs(1000));
    let id = account.channel_id.clone();
    accounts.add(account).await.unwrap();
    let handle = accounts.get(&id).await.unwrap();
    let old = handle.tokens().token().await.unwrap();
    emu.set_faults(FaultConfig::default().with_endpoint("issueChannelTokenByJWT", FaultRule::new().error_rate(1.0)))
        .unwrap();

    // Past the refresh point: the refresh fails, with a typed error…
    clock.advance(SignedDuration::from_secs(950));
    let err = handle.tokens().refresh().await.unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Token { channel_id, operation: "issue" } if channel_id == id.as_str()),
        "{err:?}"
    );
    // …and calls go on with the old token, which LINE still takes.
    assert_eq!(handle.tokens().token().await.unwrap(), old);
    bot_info_ok(handle.client()).await.unwrap();

    // Once it has expired, the error reaches the caller.
    clock.advance(SignedDuration::from_secs(60));
    let err = handle.tokens().token().await.unwrap_err();
    assert_eq!(err.kind(), &line_core::ErrorKind::Token);
    let source = std::error::Error::source(&err)
        .unwrap()
        .downcast_ref::<line_accounts::Error>()
        .unwrap();
    assert!(matches!(source.kind(), ErrorKind::Token { operation: "issue", .. }));
    let err = bot_info_ok(handle.client()).await.unwrap_err();
    assert_eq!(err.kind(), &line_core::ErrorKind::Token);

    // The endpoint recovers: a new token, and calls work again.
    emu.set_faults(FaultConfig::default()).unwrap();
    clock.advance(SignedDuration::from_secs(31));
    bot_info_ok(handle.client()).await.unwrap();
    assert_ne!(handle.tokens().token().await.unwrap(), old);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_an_account_revokes_its_token() {
    let clock = ManualClock::new(start());
    let emu = emulator(&clock).await;
    let accounts = accounts(&emu, &clock);
    for (i, token) in [(5, None), (6, Some(TokenConfig::ShortLived))] {
        let account = match token {
            None => v21_account(&emu, i, DAY),
            Some(t) => account(&emu, i, t),
        };
        let id = account.channel_id.clone();
        accounts.add(account).await.unwrap();
        let handle = accounts.get(&id).await.unwrap();
        let client = handle.client().clone();
        bot_info_ok(&client).await.unwrap();
        let token = handle.tokens().token().await.unwrap();
        let removed = accounts.remove(&id).await.unwrap().unwrap();
        assert!(removed.revoked, "channel {id}: {:?}", removed.revoke_error);
        assert!(emu.issued_tokens(id.as_str()).iter().all(|t| t.revoked));
        // The revoked token is refused now.
        let raw = line_core::client::Client::builder()
            .token(token)
            .base_url(emu.base_url())
            .build()
            .unwrap();
        let err = bot_info_ok(&raw).await.unwrap_err();
        assert_eq!(err.api().map(|a| a.status), Some(401), "{err:?}");
        assert!(matches!(
            accounts.get(&id).await.unwrap_err().kind(),
            ErrorKind::UnknownChannel { .. }
        ));
        // A handle held through the removal stops: no token, nothing issued.
        let issued = emu.issued_tokens(id.as_str()).len();
        let err = bot_info_ok(&client).await.unwrap_err();
        assert_eq!(err.kind(), &line_core::ErrorKind::Token);
        let source = std::error::Error::source(&err)
            .unwrap()
            .downcast_ref::<line_accounts::Error>()
            .unwrap();
        assert!(matches!(source.kind(), ErrorKind::UnknownChannel { .. }), "{source:?}");
        assert_eq!(emu.issued_tokens(id.as_str()).len(), issued);
    }
    assert_eq!(emu.calls("revokeChannelTokenByJWT"), 1);
    assert_eq!(emu.calls("revokeChannelToken"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_lived_and_stateless_tokens_are_issued_per_channel() {
    let clock = ManualClock::new(start());
    let emu = emulator(&clock).await;
    let accounts = accounts(&emu, &clock);
    let short = account(&emu, 7, TokenConfig::ShortLived);
    let stateless = account(&emu, 8, TokenConfig::Stateless);
    let (s_id, st_id) = (short.channel_id.clone(), stateless.channel_id.clone());
    accounts.add(short).await.unwrap();
    accounts.add(stateless).await.unwrap();
    bot_info_ok(accounts.get(&s_id).await.unwrap().client()).await.unwrap();
    bot_info_ok(accounts.get(&st_id).await.unwrap().client()).await.unwrap();
    let s = emu.issued_tokens(s_id.as_str());
    let st = emu.issued_tokens(st_id.as_str());
    assert_eq!((s.len(), s[0].kind), (1, "short_lived"));
    assert_eq!(s[0].expires_at, start() + SignedDuration::from_hours(24 * 30));
    assert_eq!((st.len(), st[0].kind), (1, "stateless"));
    assert_eq!(st[0].expires_at, start() + SignedDuration::from_mins(15));
    // A stateless token lives 15 minutes: refreshed after 13.5, and an API call
    // with the old one after 15 gets 401.
    let handle = accounts.get(&st_id).await.unwrap();
    let old = handle.tokens().token().await.unwrap();
    clock.advance(SignedDuration::from_secs(13 * 60 + 31));
    let new = handle.tokens().token().await.unwrap();
    assert_ne!(new, old);
    clock.advance(SignedDuration::from_secs(90));
    let raw = line_core::client::Client::builder()
        .token(old)
        .base_url(emu.base_url())
        .build()
        .unwrap();
    assert_eq!(bot_info_ok(&raw).await.unwrap_err().api().map(|a| a.status), Some(401));
    bot_info_ok(handle.client()).await.unwrap();
    // Removing a stateless account revokes nothing (LINE cannot).
    let removed = accounts.remove(&st_id).await.unwrap().unwrap();
    assert!(!removed.revoked && removed.revoke_error.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_401_makes_the_next_call_issue_a_new_token() {
    let clock = ManualClock::new(start());
    let emu = emulator(&clock).await;
    let accounts = accounts(&emu, &clock);
    let account = v21_account(&emu, 9, DAY);
    let (id, secret) = (account.channel_id.clone(), account.channel_secret.clone());
    accounts.add(account).await.unwrap();
    let handle = accounts.get(&id).await.unwrap();
    let first = handle.tokens().token().await.unwrap();
    // Someone revokes the token behind our back.
    let raw = line_core::client::Client::builder()
        .token("unused")
        .base_url(emu.base_url())
        .build()
        .unwrap();
    raw.revoke_channel_token_by_jwt(line_core::model::RevokeChannelTokenByJWTRequest::new(
        id.as_str(),
        secret.expose(),
        first.expose(),
    ))
    .await
    .unwrap();
    // The client sees 401, invalidates, gets a new token and retries once.
    bot_info_ok(handle.client()).await.unwrap();
    assert_ne!(handle.tokens().token().await.unwrap(), first);
    assert_eq!(emu.calls("issueChannelTokenByJWT"), 2);
}

#[tokio::test]
async fn token_sources_and_handles_never_print_secrets() {
    let clock = ManualClock::new(start());
    let emu = emulator(&clock).await;
    let accounts = accounts(&emu, &clock);
    let account = v21_account(&emu, 10, DAY);
    let id = account.channel_id.clone();
    let TokenConfig::V21 { private_key, .. } = &account.token else {
        unreachable!()
    };
    let pem_body: String = private_key.expose_pem().lines().nth(1).unwrap().to_owned();
    let secret = account.channel_secret.expose().to_owned();
    accounts.add(account).await.unwrap();
    let handle = accounts.get(&id).await.unwrap();
    let token = handle.tokens().token().await.unwrap();
    let out = format!("{handle:?} {handle:#?} {accounts:?} {:?}", handle.account());
    for s in [pem_body.as_str(), secret.as_str(), token.expose()] {
        assert!(!out.contains(s), "a secret was printed: {out}");
    }
}

#[test]
fn the_assertion_has_lines_header_and_claims() {
    let pair = line_emulator::oauth::AssertionKeyPair::generate();
    let key = line_accounts::PrivateKey::from_pem(pair.private_pem()).unwrap();
    let channel = line_accounts::ChannelId::new("1650000001").unwrap();
    let jwt = line_accounts::sign_assertion(&channel, "kid-7", &key, Duration::from_secs(3600), start()).unwrap();
    let header = jsonwebtoken::decode_header(&jwt).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
    assert_eq!(header.kid.as_deref(), Some("kid-7"));
    assert_eq!(header.typ.as_deref(), Some("JWT"));
    let jwk = pair.public_jwk();
    let decoding =
        jsonwebtoken::DecodingKey::from_rsa_components(jwk["n"].as_str().unwrap(), jwk["e"].as_str().unwrap()).unwrap();
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    v.validate_exp = false;
    v.set_audience(&["https://api.line.me/"]);
    v.set_issuer(&["1650000001"]);
    v.sub = Some("1650000001".into());
    let claims = jsonwebtoken::decode::<serde_json::Value>(&jwt, &decoding, &v)
        .unwrap()
        .claims;
    assert_eq!(
        claims["exp"],
        start().as_second() + 15 * 60,
        "15 minutes: within LINE's 30"
    );
    assert_eq!(claims["token_exp"], 3600);
    // Another key does not verify it.
    let other = line_emulator::oauth::AssertionKeyPair::generate();
    let other_jwk = other.public_jwk();
    let wrong = jsonwebtoken::DecodingKey::from_rsa_components(
        other_jwk["n"].as_str().unwrap(),
        other_jwk["e"].as_str().unwrap(),
    )
    .unwrap();
    assert!(jsonwebtoken::decode::<serde_json::Value>(&jwt, &wrong, &v).is_err());
}

/// The private key of `pair` as the JWK LINE's console gives (read back from its PKCS#8 PEM).
fn private_jwk(pair: &line_emulator::oauth::AssertionKeyPair) -> serde_json::Value {
    use base64::Engine as _;
    fn tlv(input: &[u8]) -> (u8, &[u8], &[u8]) {
        let (tag, l) = (input[0], input[1]);
        let (len, rest) = if l < 0x80 {
            (usize::from(l), &input[2..])
        } else {
            let n = usize::from(l & 0x7f);
            (
                input[2..2 + n].iter().fold(0usize, |a, &b| (a << 8) | usize::from(b)),
                &input[2 + n..],
            )
        };
        (tag, &rest[..len], &rest[len..])
    }
    let b64: String = pair.private_pem().lines().filter(|l| !l.starts_with("-----")).collect();
    let der = base64::engine::general_purpose::STANDARD.decode(b64).unwrap();
    let (_, info, _) = tlv(&der);
    let (_, _, rest) = tlv(info); // version
    let (_, _, rest) = tlv(rest); // algorithm
    let (_, pkcs1, _) = tlv(rest);
    let (_, mut seq, _) = tlv(pkcs1);
    let mut ints = Vec::new();
    while !seq.is_empty() {
        let (tag, value, rest) = tlv(seq);
        assert_eq!(tag, 2);
        let trimmed: Vec<u8> = value.iter().skip_while(|&&b| b == 0).copied().collect();
        ints.push(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(trimmed));
        seq = rest;
    }
    serde_json::json!({
        "kty": "RSA", "alg": "RS256", "use": "sig",
        "n": ints[1], "e": ints[2], "d": ints[3], "p": ints[4], "q": ints[5],
        "dp": ints[6], "dq": ints[7], "qi": ints[8],
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_key_given_as_a_jwk_issues_tokens() {
    let clock = ManualClock::new(start());
    let emu = emulator(&clock).await;
    let accounts = accounts(&emu, &clock);
    let (id, _, secret) = channel(11);
    emu.register_channel(id.as_str(), secret.as_str()).unwrap();
    let pair = line_emulator::oauth::AssertionKeyPair::generate();
    let kid = emu.register_public_key(id.as_str(), pair.public_jwk()).unwrap();
    let jwk = private_jwk(&pair);
    // Through the registry file, as an object in `private_key`.
    let doc = serde_json::json!({"accounts": [{
        "channel_id": id.as_str(),
        "bot_user_id": channel(11).1.as_str(),
        "channel_secret": secret,
        "token": {"type": "v2.1", "kid": kid, "private_key": jwk},
        "plan": {"free_messages_per_month": 0}
    }]});
    let account = line_accounts::parse_registry(&serde_json::to_vec(&doc).unwrap(), None)
        .unwrap()
        .remove(0);
    accounts.add(account).await.unwrap();
    bot_info_ok(accounts.get(&id).await.unwrap().client()).await.unwrap();
    assert_eq!(emu.issued_tokens(id.as_str())[0].kind, "v2.1");
    // A JWK with a part missing, or of another key type, is refused without quoting it.
    let d = jwk["d"].as_str().unwrap().to_owned();
    let mut broken = jwk.clone();
    broken.as_object_mut().unwrap().remove("qi");
    let mut ec = jwk.clone();
    ec["kty"] = serde_json::json!("EC");
    for bad in [broken, ec] {
        let err = line_accounts::PrivateKey::from_jwk(&bad.to_string()).unwrap_err();
        let out = format!("{err} {err:?}");
        assert!(matches!(err.kind(), ErrorKind::InvalidAccount { field, .. } if field == "token.private_key"));
        assert!(!out.contains(&d[..20]), "{out}");
        // The same key inline in a registry file.
        let mut doc = doc.clone();
        doc["accounts"][0]["token"]["private_key"] = bad;
        let err = line_accounts::parse_registry(&serde_json::to_vec(&doc).unwrap(), None).unwrap_err();
        let out = format!("{err} {err:?}");
        assert!(matches!(err.kind(), ErrorKind::InvalidAccount { field, .. } if field == "token.private_key"));
        assert!(out.contains("not an RSA private key as a JWK"), "{out}");
        assert!(!out.contains(&d[..20]), "{out}");
    }
}
