//! One end-to-end run against the local LINE emulator: deploy, a second deploy without writes,
//! reconcile by ID-link status, and an image change that moves everyone.

mod common;

use std::sync::Arc;

use common::png;
use line_core::model::{Action, URIAction};
use line_emulator::{Emulator, EmulatorConfig};
use line_richmenu::store::{InMemoryAssignmentStore, InMemoryMenuStore, UserContext};
use line_richmenu::{Bounds, Condition, Image, Menu, MenuDef, MenuSet, Policy, RichMenus};

fn uri() -> Action {
    let mut a = URIAction::new();
    a.uri = Some("https://example.com".into());
    a.into()
}

fn set(shade: u8) -> MenuSet {
    MenuSet::new(["guest", "member"].iter().enumerate().map(|(i, k)| {
        let def = MenuDef::new(*k, "Menu", format!("{k}.png"))
            .alias(format!("tab-{k}"))
            .area(Bounds::new(0, 0, 800, 540), uri());
        Menu::new(def, Image::from_bytes(png(800, 540, shade + i as u8)))
    }))
}

#[tokio::test]
async fn deploy_reconcile_and_an_image_change_on_the_emulator() {
    let emu = Emulator::start_with(EmulatorConfig::new().friends(1_200))
        .await
        .unwrap();
    let client = emu.client_builder().build().unwrap();
    let rm = RichMenus::new(
        client,
        Arc::new(InMemoryMenuStore::new()),
        Arc::new(InMemoryAssignmentStore::new()),
    );
    let v1 = rm.deploy(&set(1)).await.unwrap();

    let before = emu.call_counts();
    let again = rm.deploy(&set(1)).await.unwrap();
    assert_eq!(again.writes(), 0);
    let after = emu.call_counts();
    let changed: Vec<_> = after
        .iter()
        .filter(|(op, n)| before.get(*op) != Some(n) && !op.starts_with("get"))
        .collect();
    assert!(changed.is_empty(), "the second deploy wrote: {changed:?}");

    let users: Vec<UserContext> = emu
        .users()
        .iter()
        .enumerate()
        .map(|(i, u)| UserContext::new(u.user_id.clone()).linked(i.is_multiple_of(2)))
        .collect();
    let policy = Policy::new("guest").rule("ID-linked", Condition::Linked(true), "member");
    let report = rm.reconcile(&policy, users.clone()).await.unwrap();
    assert_eq!(report.calls.bulk_link, 4, "600 + 600 users in chunks of 500");
    assert_eq!(
        emu.rich_menu_of(&users[0].user_id).as_deref(),
        Some(v1.live["member"].as_str())
    );
    assert_eq!(
        emu.rich_menu_of(&users[1].user_id).as_deref(),
        Some(v1.live["guest"].as_str())
    );

    let v2 = rm.deploy(&set(5)).await.unwrap();
    assert_eq!(v2.migration.calls.batch, 1);
    for (i, u) in users.iter().enumerate() {
        let key = if i.is_multiple_of(2) { "member" } else { "guest" };
        assert_eq!(emu.rich_menu_of(&u.user_id).as_deref(), Some(v2.live[key].as_str()));
    }
    let mut ids = emu.rich_menu_ids();
    ids.sort();
    let mut live: Vec<String> = v2.live.values().map(|id| id.as_str().to_owned()).collect();
    live.sort();
    assert_eq!(ids, live, "LINE holds exactly the declared set");
    assert_eq!(emu.rich_menu_aliases()["tab-member"], v2.live["member"].as_str());
    emu.shutdown().await;
}
