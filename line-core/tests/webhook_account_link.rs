//! The account-link flow and the nonce store conformance suite.

use std::sync::Arc;
use std::sync::Mutex;

use async_trait::async_trait;
use jiff::SignedDuration;
use line_core::clock::ManualClock;
#[cfg(feature = "testing")]
use line_core::testing::nonce_store_conformance;
use line_core::webhook::account_link::{AccountLink, InMemoryNonceStore, LinkTokenIssuer, ACCOUNT_LINK_URL};
use line_core::webhook::event::AccountLinkEvent;
use line_core::webhook::{parse, Event};
use line_core::{Error, ErrorKind, UserId};

const USER: &str = "U0123456789abcdef0123456789abcdef";

fn clock() -> ManualClock {
    ManualClock::new("2026-05-01T00:00:00Z".parse().unwrap())
}

/// The nonce in a link URL.
fn nonce_of(url: &str) -> String {
    let (_, query) = url.split_once('?').unwrap();
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    pairs.into_iter().find(|(k, _)| k == "nonce").unwrap().1
}

fn link_event(result: &str, nonce: &str, source: &str) -> AccountLinkEvent {
    let body = format!(
        r#"{{"destination":"U0","events":[{{"type":"accountLink","timestamp":1,"mode":"active",
        "replyToken":"rt","source":{source},"link":{{"result":"{result}","nonce":"{nonce}"}}}}]}}"#
    );
    match parse(body.as_bytes()).unwrap().events.remove(0) {
        Event::AccountLink(e) => e,
        e => panic!("{e:?}"),
    }
}

fn user_source() -> String {
    format!(r#"{{"type":"user","userId":"{USER}"}}"#)
}

#[cfg(feature = "testing")]
#[tokio::test]
async fn in_memory_store_passes_the_conformance_suite() {
    let clock = clock();
    let store = InMemoryNonceStore::with_clock(clock.clone());
    nonce_store_conformance(std::sync::Arc::new(store), &clock).await;
}

#[tokio::test]
async fn begin_builds_the_url_with_a_fresh_nonce() {
    let link = AccountLink::new(InMemoryNonceStore::with_clock(clock()));
    let a = link.begin("member-1", "tok+en/=").await.unwrap();
    let b = link.begin("member-1", "tok+en/=").await.unwrap();
    assert!(a.starts_with(&format!("{ACCOUNT_LINK_URL}?linkToken=")), "{a}");
    // The token is form-encoded, so it survives the query string.
    let (_, query) = a.split_once('?').unwrap();
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    assert_eq!(pairs[0], ("linkToken".to_owned(), "tok+en/=".to_owned()));
    let (na, nb) = (nonce_of(&a), nonce_of(&b));
    assert_ne!(na, nb, "each link gets its own nonce");
    for n in [&na, &nb] {
        assert!((10..=255).contains(&n.len()), "LINE wants 10 to 255 characters: {n}");
        assert!(
            n.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'),
            "{n}"
        );
    }
}

#[tokio::test]
async fn resolve_gives_the_member_once() {
    let link = AccountLink::new(InMemoryNonceStore::with_clock(clock()));
    let url = link.begin("member-42", "LINK").await.unwrap();
    let event = link_event("ok", &nonce_of(&url), &user_source());
    let (user, member) = link.resolve(&event).await.unwrap().expect("linked");
    assert_eq!(user, UserId::new(USER));
    assert_eq!(member, "member-42");
    // Single use: the same event again is refused.
    let err = link.resolve(&event).await.unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::UnknownNonce);
}

#[tokio::test]
async fn a_failed_link_gives_none_and_consumes_the_nonce() {
    let store = Arc::new(InMemoryNonceStore::with_clock(clock()));
    let link = AccountLink::new(store.clone());
    let url = link.begin("member-7", "LINK").await.unwrap();
    let nonce = nonce_of(&url);
    assert_eq!(store.len(), 1);
    assert_eq!(
        link.resolve(&link_event("failed", &nonce, &user_source()))
            .await
            .unwrap(),
        None
    );
    assert!(store.is_empty());
    assert_eq!(
        link.resolve(&link_event("ok", &nonce, &user_source()))
            .await
            .unwrap_err()
            .kind(),
        &ErrorKind::UnknownNonce
    );
    // A result this version does not know is not a success either.
    let url = link.begin("member-8", "LINK").await.unwrap();
    assert_eq!(
        link.resolve(&link_event("pending", &nonce_of(&url), &user_source()))
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn nonces_expire_with_the_link_token() {
    let clock = clock();
    let link = AccountLink::new(InMemoryNonceStore::with_clock(clock.clone()));
    let url = link.begin("member-1", "LINK").await.unwrap();
    clock.advance(SignedDuration::from_secs(
        line_core::limits::LINK_TOKEN_TTL_SECS as i64 + 1,
    ));
    let err = link
        .resolve(&link_event("ok", &nonce_of(&url), &user_source()))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::UnknownNonce);

    let url = link.begin("member-2", "LINK").await.unwrap();
    clock.advance(SignedDuration::from_secs(
        line_core::limits::LINK_TOKEN_TTL_SECS as i64 - 1,
    ));
    assert!(link
        .resolve(&link_event("ok", &nonce_of(&url), &user_source()))
        .await
        .unwrap()
        .is_some());
}

#[tokio::test]
async fn an_event_without_a_user_keeps_the_nonce() {
    let link = AccountLink::new(InMemoryNonceStore::with_clock(clock()));
    let url = link.begin("member-1", "LINK").await.unwrap();
    let nonce = nonce_of(&url);
    let err = link
        .resolve(&link_event("ok", &nonce, r#"{"type":"group","groupId":"C1"}"#))
        .await
        .unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::InvalidInput { field, .. } if field == "source.userId"),
        "{err:?}"
    );
    assert!(link
        .resolve(&link_event("ok", &nonce, &user_source()))
        .await
        .unwrap()
        .is_some());
}

#[tokio::test]
async fn start_issues_a_token_then_begins() {
    struct Issuer(Mutex<Vec<UserId>>);
    #[async_trait]
    impl LinkTokenIssuer for Issuer {
        async fn issue_link_token(&self, user_id: &UserId) -> Result<String, Error> {
            self.0.lock().unwrap().push(user_id.clone());
            Ok("ISSUED".to_owned())
        }
    }
    let issuer = Issuer(Mutex::new(Vec::new()));
    let link = AccountLink::new(InMemoryNonceStore::with_clock(clock()));
    let url = link.start(&issuer, &UserId::new(USER), "member-9").await.unwrap();
    assert!(url.contains("linkToken=ISSUED&nonce="), "{url}");
    assert_eq!(*issuer.0.lock().unwrap(), [UserId::new(USER)]);
    let dyn_issuer: &dyn LinkTokenIssuer = &issuer;
    link.start(dyn_issuer, &UserId::new(USER), "member-9").await.unwrap();
}

#[tokio::test]
async fn empty_arguments_are_refused() {
    let link = AccountLink::new(InMemoryNonceStore::new());
    for (member, token, field) in [("", "T", "member_id"), ("m", "", "link_token")] {
        let err = link.begin(member, token).await.unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::InvalidInput { field: f, .. } if f == field),
            "{err:?}"
        );
    }
}
