//! The tour's webhook bot handles each event once, and handles again the
//! redelivery of an event it failed on (nothing lost, nothing twice).

use std::sync::Arc;

use line_core::clock::{Clock, ManualClock};
use line_core::retry::RetryPolicy;
use line_core::webhook::account_link::InMemoryNonceStore;
use line_core::webhook::Event;
use line_emulator::{Emulator, EmulatorConfig, FaultConfig, FaultRule, UserSpec};
use line_examples::bot::ShopBot;
use line_popup::{Banner, Campaign, InMemoryStore, PopupConfig, PopupEngine};
use line_richmenu::store::{InMemoryAssignmentStore, InMemoryMenuStore, InMemoryUserDirectory};
use line_richmenu::{EventHandler, Policy, RichMenus};
use line_segments::profile::Value;

/// The tour's bot on in-memory stores, sending with `client` and reading `clock`.
fn bot(client: line_core::client::Client, clock: Arc<dyn Clock>) -> ShopBot {
    let rm = RichMenus::new(
        client.clone(),
        Arc::new(InMemoryMenuStore::new()),
        Arc::new(InMemoryAssignmentStore::new()),
    );
    let handler = EventHandler::new(
        rm,
        Arc::new(Policy::new("guest")),
        Arc::new(InMemoryUserDirectory::new()),
    );
    let popup = PopupEngine::builder(
        PopupConfig::new("@shop", vec![Campaign::new("c", vec![Banner::new("a", "A")])]),
        Arc::new(InMemoryStore::new()),
        clock.clone(),
    )
    .build()
    .unwrap();
    ShopBot::new(
        client,
        clock,
        Arc::new(popup),
        handler,
        Arc::new(InMemoryNonceStore::new()),
    )
}

#[tokio::test]
async fn a_failed_event_is_handled_again_on_redelivery_and_only_then() {
    let clock = ManualClock::new("2026-05-15T01:00:00Z".parse().unwrap());
    let shared: Arc<dyn Clock> = Arc::new(clock.clone());
    let emu = Emulator::start_with(EmulatorConfig::new().clock(shared.clone()))
        .await
        .unwrap();
    let client = emu.client_builder().retry_policy(RetryPolicy::none()).build().unwrap();
    let bot = bot(client, shared);

    let aoi = emu.add_user(UserSpec::new("Aoi"));
    let token = emu.issue_reply_token(&aoi).unwrap();
    let event: Event = serde_json::from_value(serde_json::json!({
        "type": "postback", "mode": "active", "timestamp": 1_778_806_800_000i64,
        "webhookEventId": "01HXTOURBOTTEST0000000001", "replyToken": token,
        "deliveryContext": {"isRedelivery": false},
        "source": {"type": "user", "userId": aoi.as_str()},
        "postback": {"data": "survey=interest:cosmetics"}
    }))
    .unwrap();

    // The reply fails: the event is not done.
    emu.set_faults(FaultConfig::none().with_endpoint("replyMessage", FaultRule::new().error_rate(1.0)))
        .unwrap();
    assert!(bot.handle(&event).await.is_err());
    assert!(emu.messages(&aoi).is_empty());

    // LINE redelivers it: handled, the thanks arrives.
    emu.set_faults(FaultConfig::none()).unwrap();
    bot.handle(&event).await.unwrap();
    assert_eq!(emu.messages(&aoi).len(), 1);
    let profile = bot.profiles().into_iter().find(|p| p.id == aoi).unwrap();
    assert_eq!(
        profile.attributes.get("interests"),
        Some(&Value::Set(vec!["cosmetics".into()]))
    );

    // Another redelivery of a handled event is dropped.
    bot.handle(&event).await.unwrap();
    assert_eq!(emu.messages(&aoi).len(), 1);
}

#[tokio::test]
async fn an_unknown_survey_answer_is_a_typed_error() {
    let emu = Emulator::start().await.unwrap();
    let client = emu.client_builder().build().unwrap();
    let shared: Arc<dyn Clock> = Arc::new(line_core::clock::SystemClock);
    let bot = bot(client, shared);
    let event: Event = serde_json::from_value(serde_json::json!({
        "type": "postback", "mode": "active", "timestamp": 1,
        "source": {"type": "user", "userId": "U0123"},
        "postback": {"data": "survey=interest:skydiving"}
    }))
    .unwrap();
    let err = bot.handle(&event).await.unwrap_err();
    assert!(err.to_string().contains("postback.data"), "{err}");
    assert!(err.to_string().contains("skydiving"), "{err}");
}
