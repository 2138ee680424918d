//! Webhooks from the emulator, received by a small axum server and checked with line-core.

mod common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use common::start;
use line_core::model::{ReplyMessageRequest, TextMessage};
use line_core::webhook::account_link::{AccountLink, InMemoryNonceStore};
use line_core::webhook::event::{Event, MessageContent, Source};
use line_core::webhook::WebhookVerifier;
use line_core::ChannelSecret;
use line_emulator::{EmulatorConfig, UserSpec};
use tokio::sync::mpsc;

struct Receiver {
    tx: mpsc::UnboundedSender<(Bytes, Option<String>)>,
    fail_first: AtomicU32,
}

async fn hook(State(r): State<Arc<Receiver>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let sig = headers
        .get("x-line-signature")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let _ = r.tx.send((body, sig));
    let left = r.fail_first.load(Ordering::SeqCst);
    if left > 0 {
        r.fail_first.store(left - 1, Ordering::SeqCst);
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    }
}

/// A webhook server on 127.0.0.1 that fails its first `fail_first` deliveries.
async fn receiver(fail_first: u32) -> (String, mpsc::UnboundedReceiver<(Bytes, Option<String>)>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let state = Arc::new(Receiver {
        tx,
        fail_first: AtomicU32::new(fail_first),
    });
    let app = Router::new().route("/callback", post(hook)).with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/callback"), rx)
}

fn user_of(source: Option<std::borrow::Cow<'_, Source>>) -> String {
    match source.as_deref() {
        Some(Source::User(u)) => u.user_id.as_ref().unwrap().as_str().to_owned(),
        other => panic!("expected a user source, got {other:?}"),
    }
}

#[tokio::test]
async fn events_are_signed_and_parse_with_line_core() {
    let (url, mut rx) = receiver(0).await;
    let secret = "my-channel-secret";
    let (emu, client) = start(EmulatorConfig::new().channel_secret(secret).webhook_url(url)).await;
    let alice = emu.add_user(UserSpec::new("Alice").friend(false));
    let verifier = WebhookVerifier::new(&ChannelSecret::new(secret));

    let follow = emu.follow(&alice).await.unwrap();
    assert_eq!(follow.status, Some(200));
    let (body, sig) = rx.recv().await.unwrap();
    let parsed = verifier.verify_and_parse(&body, sig.as_deref()).unwrap();
    assert_eq!(parsed.destination.as_deref(), Some(emu.bot_user_id()));
    let Event::Follow(f) = &parsed.events[0] else {
        panic!("{:?}", parsed.events[0])
    };
    assert_eq!(user_of(parsed.events[0].source()), alice.as_str());
    assert_eq!(f.webhook_event_id.as_ref().unwrap().len(), 26);
    assert!(!f.delivery_context.as_ref().unwrap().is_redelivery);
    assert!(emu.users().iter().any(|u| u.user_id == alice && u.friend));

    emu.send_text(&alice, "こんにちは").await.unwrap();
    let (body, sig) = rx.recv().await.unwrap();
    let parsed = verifier.verify_and_parse(&body, sig.as_deref()).unwrap();
    let Event::Message(m) = &parsed.events[0] else { panic!() };
    let MessageContent::Text(t) = &m.message else { panic!() };
    assert_eq!(t.text, "こんにちは");
    let token = m.reply_token.clone().unwrap();
    client
        .reply_message(ReplyMessageRequest::new(token, vec![TextMessage::new("どうも").into()]))
        .await
        .unwrap();
    assert_eq!(emu.messages(&alice).len(), 1);

    emu.postback(&alice, "action=buy&item=1").await.unwrap();
    let (body, sig) = rx.recv().await.unwrap();
    let parsed = verifier.verify_and_parse(&body, sig.as_deref()).unwrap();
    let Event::Postback(p) = &parsed.events[0] else {
        panic!()
    };
    assert_eq!(p.postback.data, "action=buy&item=1");

    let wrong = WebhookVerifier::new(&ChannelSecret::new("another-secret"));
    assert!(wrong.verify_and_parse(&body, sig.as_deref()).is_err());

    emu.unfollow(&alice).await.unwrap();
    let (body, sig) = rx.recv().await.unwrap();
    let parsed = verifier.verify_and_parse(&body, sig.as_deref()).unwrap();
    assert!(matches!(parsed.events[0], Event::Unfollow(_)));
    assert!(emu.users().iter().any(|u| u.user_id == alice && u.blocked));
}

#[tokio::test]
async fn failed_deliveries_are_redelivered_with_the_same_event_id() {
    let (url, mut rx) = receiver(2).await;
    let (emu, _) = start(EmulatorConfig::new().friends(1).webhook_url(url).redeliveries(2)).await;
    let alice = emu.users()[0].user_id.clone();
    let d = emu.send_text(&alice, "hi").await.unwrap();
    assert_eq!(d.attempts, 3);
    assert_eq!(d.status, Some(200));
    let verifier = WebhookVerifier::new(emu.channel_secret());
    let mut seen = Vec::new();
    for _ in 0..3 {
        let (body, sig) = rx.recv().await.unwrap();
        let parsed = verifier.verify_and_parse(&body, sig.as_deref()).unwrap();
        let ev = &parsed.events[0];
        seen.push((
            ev.webhook_event_id().unwrap().into_owned(),
            ev.delivery_context().unwrap().is_redelivery,
        ));
    }
    assert!(seen.iter().all(|(id, _)| Some(id.as_str()) == d.webhook_event_id()));
    assert_eq!(seen.iter().map(|(_, r)| *r).collect::<Vec<_>>(), [false, true, true]);

    let (url, _rx) = receiver(10).await;
    let (emu, _) = start(EmulatorConfig::new().friends(1).webhook_url(url).redeliveries(1)).await;
    let err = emu.send_text(&emu.users()[0].user_id, "x").await.unwrap_err();
    assert!(
        matches!(err.kind(), line_emulator::ErrorKind::Webhook { status: Some(500), .. }),
        "{err}"
    );
}

#[tokio::test]
async fn the_account_link_flow_end_to_end() {
    let (url, mut rx) = receiver(0).await;
    let (emu, client) = start(EmulatorConfig::new().friends(1).webhook_url(url)).await;
    let alice = emu.users()[0].user_id.clone();
    let link = AccountLink::new(InMemoryNonceStore::new());
    let redirect = link.start(&client, &alice, "member-42").await.unwrap();
    let path = redirect.strip_prefix("https://access.line.me").unwrap();
    let resp = reqwest::get(format!("{}{path}", emu.base_url())).await.unwrap();
    assert_eq!(resp.status(), 200);
    let (body, sig) = rx.recv().await.unwrap();
    let parsed = WebhookVerifier::new(emu.channel_secret())
        .verify_and_parse(&body, sig.as_deref())
        .unwrap();
    let Event::AccountLink(ev) = &parsed.events[0] else {
        panic!("{:?}", parsed.events[0])
    };
    let resolved = link.resolve(ev).await.unwrap();
    assert_eq!(resolved, Some((alice, "member-42".to_owned())));
}

#[tokio::test]
async fn without_a_webhook_url_helpers_still_change_state() {
    let (emu, _) = start(EmulatorConfig::new()).await;
    let bob = emu.add_user(UserSpec::new("Bob").friend(false));
    let d = emu.follow(&bob).await.unwrap();
    assert_eq!(d.status, None);
    assert_eq!(d.attempts, 0);
    assert!(d.reply_token().is_some());
    assert_eq!(emu.follower_ids(), vec![bob]);
    let err = emu.follow(&line_core::UserId::new("Unknown")).await.unwrap_err();
    assert!(matches!(err.kind(), line_emulator::ErrorKind::UnknownUser { .. }));
}

#[tokio::test]
async fn custom_events_get_an_event_id_and_delivery_context() {
    let (url, mut rx) = receiver(0).await;
    let (emu, _) = start(EmulatorConfig::new().webhook_url(url)).await;
    let group = format!("C{:032x}", 5u8);
    let d = emu
        .send_events(vec![serde_json::json!({
            "type": "join",
            "source": {"type": "group", "groupId": group},
            "replyToken": "r"
        })])
        .await
        .unwrap();
    assert_eq!(d.status, Some(200));
    let (body, sig) = rx.recv().await.unwrap();
    let parsed = WebhookVerifier::new(emu.channel_secret())
        .verify_and_parse(&body, sig.as_deref())
        .unwrap();
    let Event::Join(j) = &parsed.events[0] else {
        panic!("{:?}", parsed.events[0])
    };
    assert_eq!(j.webhook_event_id.as_deref(), d.webhook_event_id());
    assert_eq!(j.webhook_event_id.as_ref().map(String::len), Some(26));
    assert!(!j.delivery_context.as_ref().unwrap().is_redelivery);
    assert!(matches!(&j.source, Some(Source::Group(_))));
}
