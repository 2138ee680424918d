//! LINE notification messages on the emulator: the push's answers (200, 422, 400), the
//! signed delivery webhook with the tag after its delay, and the daily count.

mod common;

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use common::{api, client, start};
use line_core::model::{PnpMessagesRequest, TextMessage};
use line_core::webhook::event::Event;
use line_core::webhook::WebhookVerifier;
use line_emulator::pnp::phone_hash;
use line_emulator::{EmulatorConfig, PhoneUser};
use tokio::sync::mpsc;

type Seen = mpsc::UnboundedReceiver<(Bytes, Option<String>, std::time::Instant)>;

async fn hook(
    State(tx): State<mpsc::UnboundedSender<(Bytes, Option<String>, std::time::Instant)>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let sig = headers
        .get("x-line-signature")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let _ = tx.send((body, sig, std::time::Instant::now()));
    StatusCode::OK
}

async fn receiver() -> (String, Seen) {
    let (tx, rx) = mpsc::unbounded_channel();
    let app = Router::new().route("/callback", post(hook)).with_state(tx);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/callback"), rx)
}

fn request(e164: &str) -> PnpMessagesRequest {
    PnpMessagesRequest::new(
        vec![TextMessage::new("Your parcel arrives today.").into()],
        phone_hash(e164),
    )
}

#[tokio::test]
async fn a_number_with_line_gets_200_then_a_signed_delivery_webhook_with_the_tag() {
    let (url, mut seen) = receiver().await;
    let (emu, client) = start(EmulatorConfig::new().webhook_url(url)).await;
    let alice = emu.add_user(line_emulator::UserSpec::new("Alice").friend(false));
    emu.add_phone_user(
        PhoneUser::with_line("+819012345678")
            .delivery_delay(Duration::from_millis(150))
            .user(alice.clone()),
    )
    .unwrap();
    let sent_at = std::time::Instant::now();
    let resp = client
        .push_messages_by_phone(request("+819012345678"))
        .delivery_tag("shipment-000000001")
        .await
        .unwrap();
    let (body, sig, at) = tokio::time::timeout(Duration::from_secs(5), seen.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(
        at.duration_since(sent_at) >= Duration::from_millis(150),
        "the webhook waits for its delay"
    );
    let parsed = WebhookVerifier::new(emu.channel_secret())
        .verify_and_parse(&body, sig.as_deref())
        .expect("signed with the channel secret");
    match &parsed.events[..] {
        [Event::Delivery(d)] => {
            assert_eq!(d.delivery.data, "shipment-000000001");
            assert!(d.webhook_event_id.is_some());
            assert!(d.source.is_none());
        }
        other => panic!("{other:?}"),
    }
    let delivered = emu.pnp_deliveries();
    assert_eq!(delivered.len(), 1);
    assert_eq!(Some(&delivered[0].request_id), resp.request_id.as_ref());
    // The linked simulated user got the message, friend or not.
    assert_eq!(emu.messages(&alice).len(), 1);
    assert_eq!(emu.pnp_webhooks_sent(), 1);
}

#[tokio::test]
async fn without_a_tag_the_webhook_carries_the_hashed_number() {
    let (url, mut seen) = receiver().await;
    let (emu, client) = start(EmulatorConfig::new().webhook_url(url)).await;
    emu.add_phone_user(PhoneUser::with_line("+818000001234")).unwrap();
    client.push_messages_by_phone(request("+818000001234")).await.unwrap();
    let (body, _, _) = tokio::time::timeout(Duration::from_secs(5), seen.recv())
        .await
        .unwrap()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        v["events"][0]["delivery"]["data"],
        "d41e0ad70dddfeb68f149ad6fc61574b9c5780ab7bcb2fba5517771ffbb2409c"
    );
}

#[tokio::test]
async fn numbers_without_line_or_unknown_get_422_and_ones_that_never_confirm_get_silence() {
    let (url, mut seen) = receiver().await;
    let (emu, client) = start(EmulatorConfig::new().webhook_url(url)).await;
    emu.add_phone_user(PhoneUser::without_line("+819011112222")).unwrap();
    emu.add_phone_user(PhoneUser::never_confirms("+819033334444")).unwrap();
    for number in ["+819011112222", "+819099990000"] {
        let err = client
            .push_messages_by_phone(request(number))
            .delivery_tag("order-0000000000042")
            .await
            .unwrap_err();
        assert_eq!(api(&err).status, 422, "{number}");
    }
    assert_eq!(emu.pnp_refused(), 2);
    client
        .push_messages_by_phone(request("+819033334444"))
        .delivery_tag("order-0000000000043")
        .await
        .unwrap();
    assert!(
        tokio::time::timeout(Duration::from_millis(300), seen.recv())
            .await
            .is_err(),
        "no webhook"
    );
    assert!(emu.pnp_deliveries().is_empty());
    assert_eq!(emu.pnp_webhooks_sent(), 0);
}

#[tokio::test]
async fn bad_requests_get_400_in_lines_shape() {
    let (emu, client) = start(EmulatorConfig::new()).await;
    emu.add_phone_user(PhoneUser::with_line("+819012345678")).unwrap();
    // Tags outside 16 to 100 characters.
    for tag in ["short", &"x".repeat(101)] {
        let err = client
            .push_messages_by_phone(request("+819012345678"))
            .delivery_tag(tag)
            .await
            .unwrap_err();
        assert_eq!(api(&err).status, 400);
        assert!(api(&err).message.contains("X-Line-Delivery-Tag"));
    }
    // A `to` that is the number itself, not its hash.
    let mut raw = request("+819012345678");
    raw.to = "+819012345678".into();
    let err = client.push_messages_by_phone(&raw).await.unwrap_err();
    assert_eq!(api(&err).status, 400);
    assert_eq!(api(&err).details[0].property.as_deref(), Some("to"));
    // No messages.
    let empty = PnpMessagesRequest::new(Vec::new(), phone_hash("+819012345678"));
    let err = client.push_messages_by_phone(&empty).await.unwrap_err();
    assert_eq!(api(&err).status, 400);
    assert_eq!(api(&err).details[0].property.as_deref(), Some("messages"));
    // A body that is not JSON.
    let http = reqwest::Client::new();
    let resp = http
        .post(format!("{}/bot/pnp/push", emu.base_url()))
        .bearer_auth(line_emulator::ANY_TOKEN)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    assert!(emu.pnp_deliveries().is_empty());
}

#[tokio::test]
async fn the_daily_count_is_of_delivered_messages() {
    let (emu, client) = start(EmulatorConfig::new()).await;
    emu.add_phone_user(PhoneUser::with_line("+819012345678")).unwrap();
    emu.add_phone_user(PhoneUser::never_confirms("+819033334444")).unwrap();
    let mut two = request("+819012345678");
    two.messages.push(TextMessage::new("Track it in the app.").into());
    client.push_messages_by_phone(&two).await.unwrap();
    client.push_messages_by_phone(request("+819033334444")).await.unwrap();
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(9)))
        .strftime("%Y%m%d")
        .to_string();
    let stats = client.get_pnp_message_statistics(&today).await.unwrap().body;
    assert_eq!(stats.success, Some(2));
    assert_eq!(
        client
            .get_pnp_message_statistics("20200101")
            .await
            .unwrap()
            .body
            .success,
        Some(0)
    );
    let err = client.get_pnp_message_statistics("2026-12-06").await.unwrap_err();
    assert_eq!(api(&err).status, 400);
}

#[tokio::test]
async fn phone_users_are_checked_and_never_shown() {
    let (emu, _client) = start(EmulatorConfig::new()).await;
    let err = emu.add_phone_user(PhoneUser::with_line("090-1234-5678")).unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(shown.contains("e164") && !shown.contains("1234"), "{shown}");
    let user = PhoneUser::never_confirms("+819012345678");
    assert!(!format!("{user:?}").contains("12345678"));
}

fn today_in_japan() -> String {
    jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(9)))
        .strftime("%Y%m%d")
        .to_string()
}

#[tokio::test]
async fn phone_users_belong_to_their_channel_and_a_push_from_another_never_reaches_them() {
    let (url, mut seen) = receiver().await;
    let (emu, default_client) = start(EmulatorConfig::new().webhook_url(url).channels(2)).await;
    let channels = emu.channels();
    let (a, b) = (&channels[0], &channels[1]);
    let (ca, cb) = (client(a), client(b));
    let number = "+819055556666";
    let alice = a.add_user(line_emulator::UserSpec::new("Alice").friend(false));
    a.add_phone_user(PhoneUser::with_line(number).user(alice.clone()))
        .unwrap();

    // B and the default channel do not know A's number: 422, counted on their side only.
    for client in [&cb, &default_client] {
        let err = client
            .push_messages_by_phone(request(number))
            .delivery_tag("order-from-the-wrong-channel")
            .await
            .unwrap_err();
        assert_eq!(api(&err).status, 422);
    }
    assert_eq!((a.pnp_refused(), b.pnp_refused(), emu.pnp_refused()), (0, 1, 1));

    // A's push is delivered, to A's user, with A's webhook.
    ca.push_messages_by_phone(request(number))
        .delivery_tag("order-of-channel-a-0001")
        .await
        .unwrap();
    let (body, sig, _) = tokio::time::timeout(Duration::from_secs(5), seen.recv())
        .await
        .unwrap()
        .unwrap();
    let parsed = WebhookVerifier::new(a.channel_secret())
        .verify_and_parse(&body, sig.as_deref())
        .expect("signed with A's secret");
    assert_eq!(parsed.destination.as_deref(), Some(a.bot_user_id()));
    match &parsed.events[..] {
        [Event::Delivery(d)] => assert_eq!(d.delivery.data, "order-of-channel-a-0001"),
        other => panic!("{other:?}"),
    }
    for secret in [b.channel_secret(), emu.channel_secret()] {
        assert!(WebhookVerifier::new(secret)
            .verify_and_parse(&body, sig.as_deref())
            .is_err());
    }
    assert_eq!(a.pnp_deliveries().len(), 1);
    assert!(b.pnp_deliveries().is_empty() && emu.pnp_deliveries().is_empty());
    assert_eq!((a.pnp_webhooks_sent(), b.pnp_webhooks_sent()), (1, 0));
    assert_eq!(a.messages(&alice).len(), 1);
    assert!(b.messages(&alice).is_empty() && emu.messages(&alice).is_empty());

    // The same number may be known to B too, as a user of B's own: B's answer and count
    // follow B's registration, and A's stay as they were.
    b.add_phone_user(PhoneUser::never_confirms(number)).unwrap();
    cb.push_messages_by_phone(request(number)).await.unwrap();
    assert!(
        tokio::time::timeout(Duration::from_millis(300), seen.recv())
            .await
            .is_err(),
        "B's number never confirms: no webhook"
    );
    let today = today_in_japan();
    let success = |c: &line_core::client::Client| {
        let c = c.clone();
        let today = today.clone();
        async move { c.get_pnp_message_statistics(&today).await.unwrap().body.success }
    };
    assert_eq!(success(&ca).await, Some(1));
    assert_eq!(success(&cb).await, Some(0));
    assert_eq!(success(&default_client).await, Some(0));
    assert_eq!(a.pnp_deliveries().len(), 1);
}

#[tokio::test]
async fn each_channel_has_its_own_delivery_delay() {
    let (url, mut seen) = receiver().await;
    let (emu, _) = start(EmulatorConfig::new().webhook_url(url).channels(1)).await;
    let a = &emu.channels()[0];
    a.add_phone_user(PhoneUser::with_line("+819077778888")).unwrap();
    a.set_pnp_delivery_delay(Duration::from_secs(3600));
    emu.add_phone_user(PhoneUser::with_line("+819077778888")).unwrap();
    client(a)
        .push_messages_by_phone(request("+819077778888"))
        .delivery_tag("slow-channel-a-000001")
        .await
        .unwrap();
    client(&emu.default_channel())
        .push_messages_by_phone(request("+819077778888"))
        .delivery_tag("fast-default-channel-1")
        .await
        .unwrap();
    // The default channel kept no delay: its webhook comes although pushed second; A's
    // waits for the hour A was given.
    let (body, _, _) = tokio::time::timeout(Duration::from_secs(5), seen.recv())
        .await
        .unwrap()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["events"][0]["delivery"]["data"], "fast-default-channel-1");
    assert_eq!((emu.pnp_webhooks_sent(), a.pnp_webhooks_sent()), (1, 0));
    assert_eq!((emu.pnp_deliveries().len(), a.pnp_deliveries().len()), (1, 1));
}

#[tokio::test]
async fn a_bad_number_for_a_channel_names_the_field() {
    let (emu, _) = start(EmulatorConfig::new().channels(1)).await;
    let err = emu.channels()[0]
        .add_phone_user(PhoneUser::with_line("090-1234-5678"))
        .unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(shown.contains("e164") && !shown.contains("1234"), "{shown}");
}
