//! Webhook events switch menus: follow, accountLink, unfollow, and "member unlinked".

mod common;

use std::sync::Arc;

use common::{png, user, FakeLine};
use line_core::clock::ManualClock;
use line_core::ids::UserId;
use line_core::model::{Action, URIAction};
use line_core::webhook::Event;
use line_richmenu::store::{
    Assignment, InMemoryAssignmentStore, InMemoryMenuStore, InMemoryUserDirectory, UserDirectory,
};
use line_richmenu::{Bounds, Condition, EventHandler, Image, Menu, MenuDef, MenuSet, Policy, Reason, RichMenus};
use serde_json::json;

fn uri() -> Action {
    let mut a = URIAction::new();
    a.uri = Some("https://example.com".into());
    a.into()
}

fn event(kind: &str, uid: &str, extra: serde_json::Value) -> Event {
    let mut v = json!({
        "type": kind,
        "timestamp": 1_700_000_000_000i64,
        "mode": "active",
        "webhookEventId": "01H0000000000000000000000",
        "deliveryContext": {"isRedelivery": false},
        "source": {"type": "user", "userId": uid},
        "replyToken": "r",
    });
    for (k, x) in extra.as_object().unwrap() {
        v[k] = x.clone();
    }
    serde_json::from_value(v).unwrap()
}

struct Setup {
    handler: EventHandler,
    rm: RichMenus,
    directory: Arc<InMemoryUserDirectory>,
    guest: String,
    member: String,
}

async fn setup(fake: &FakeLine) -> Setup {
    let set = MenuSet::new(["guest", "member"].iter().enumerate().map(|(i, k)| {
        let def = MenuDef::new(*k, "Menu", format!("{k}.png")).area(Bounds::new(0, 0, 800, 540), uri());
        Menu::new(def, Image::from_bytes(png(800, 540, i as u8)))
    }));
    let clock = ManualClock::new("2026-03-01T00:00:00Z".parse().unwrap());
    let rm = RichMenus::new(
        fake.client(),
        Arc::new(InMemoryMenuStore::new()),
        Arc::new(InMemoryAssignmentStore::new()),
    )
    .with_clock(Arc::new(clock));
    let live = rm.deploy(&set).await.unwrap().live;
    fake.reset_log();
    let policy = Arc::new(Policy::new("guest").rule("ID-linked", Condition::Linked(true), "member"));
    let directory = Arc::new(InMemoryUserDirectory::new());
    Setup {
        handler: EventHandler::new(rm.clone(), policy, directory.clone()),
        rm,
        directory,
        guest: live["guest"].as_str().to_owned(),
        member: live["member"].as_str().to_owned(),
    }
}

#[tokio::test]
async fn follow_then_account_link_switch_menus_and_unlink_switches_back() {
    let fake = FakeLine::start().await;
    let s = setup(&fake).await;
    let u = user(1);
    let uid = UserId::new(u.clone());

    let c = s
        .handler
        .handle(&event("follow", &u, json!({"follow": {"isUnblocked": false}})))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.reason, Reason::Follow);
    assert_eq!(fake.state().links[&u], s.guest);

    let link = event("accountLink", &u, json!({"link": {"result": "ok", "nonce": "n"}}));
    let planned = s.handler.plan(&link).await.unwrap().unwrap();
    assert_eq!(planned.to.as_ref().and_then(Assignment::key), Some("member"));
    assert_eq!(fake.state().links[&u], s.guest, "plan writes nothing");
    assert!(!s.directory.context(&uid).await.unwrap().linked, "plan writes nothing");

    let c = s.handler.handle(&link).await.unwrap().unwrap();
    assert_eq!(c.reason, Reason::AccountLinked);
    assert_eq!(fake.state().links[&u], s.member);
    assert!(s.directory.context(&uid).await.unwrap().linked);
    assert_eq!(
        s.rm.assignment_store().get(&uid).await.unwrap(),
        Some(Assignment::menu("member", s.member.as_str()))
    );

    let c = s.handler.member_unlinked(&uid).await.unwrap().unwrap();
    assert_eq!(c.reason, Reason::MemberUnlinked);
    assert_eq!(fake.state().links[&u], s.guest);

    let c = s
        .handler
        .handle(&event("unfollow", &u, json!({})))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.to, None);
    assert_eq!(
        s.rm.assignment_store().get(&uid).await.unwrap(),
        None,
        "unfollow forgets"
    );
    assert!(fake.state().unexpected.is_empty());
}

#[tokio::test]
async fn a_failed_account_link_and_other_events_change_nothing() {
    let fake = FakeLine::start().await;
    let s = setup(&fake).await;
    let u = user(2);
    let failed = event("accountLink", &u, json!({"link": {"result": "failed", "nonce": "n"}}));
    assert_eq!(s.handler.handle(&failed).await.unwrap(), None);
    let postback = event("postback", &u, json!({"postback": {"data": "x"}}));
    assert_eq!(s.handler.handle(&postback).await.unwrap(), None);
    assert!(fake.state().log.is_empty());
}

#[tokio::test]
async fn a_follow_of_a_known_linked_member_gets_the_member_menu() {
    let fake = FakeLine::start().await;
    let s = setup(&fake).await;
    let u = user(3);
    s.directory.set_linked(&UserId::new(u.clone()), true).await.unwrap();
    s.handler
        .handle(&event("follow", &u, json!({"follow": {"isUnblocked": true}})))
        .await
        .unwrap();
    assert_eq!(fake.state().links[&u], s.member);
}
