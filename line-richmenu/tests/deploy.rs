//! Deploy against a stateful fake of LINE's rich-menu endpoints.

mod common;

use std::sync::Arc;

use common::{png, user, FakeLine};
use jiff::SignedDuration;
use line_core::clock::ManualClock;
use line_core::model::{Action, RichMenuSwitchAction, URIAction};
use line_richmenu::scheduler::ManualScheduler;
use line_richmenu::store::{
    Assignment, AssignmentStore, InMemoryAssignmentStore, InMemoryMenuStore, MenuStore, UserContext,
};
use line_richmenu::{Bounds, ErrorKind, Image, Menu, MenuDef, MenuSet, Options, Policy, RichMenus};

fn uri() -> Action {
    let mut a = URIAction::new();
    a.uri = Some("https://example.com".into());
    a.into()
}

fn switch(alias: &str) -> Action {
    let mut s = RichMenuSwitchAction::new();
    s.rich_menu_alias_id = Some(alias.into());
    s.data = Some(format!("to-{alias}"));
    s.into()
}

/// Two tab menus that switch to each other; `home_shade` changes the home image.
fn tabs(home_shade: u8) -> MenuSet {
    let home = MenuDef::new("home", "Home", "home.png")
        .alias("tab-home")
        .area(Bounds::new(0, 0, 400, 540), uri())
        .area(Bounds::new(400, 0, 400, 540), switch("tab-shop"));
    let shop = MenuDef::new("shop", "Shop", "shop.png")
        .alias("tab-shop")
        .area(Bounds::new(0, 0, 400, 540), switch("tab-home"));
    MenuSet::new([
        Menu::new(home, Image::from_bytes(png(800, 540, home_shade))),
        Menu::new(shop, Image::from_bytes(png(800, 540, 200))),
    ])
}

struct Setup {
    rm: RichMenus,
    menus: Arc<InMemoryMenuStore>,
    assignments: Arc<InMemoryAssignmentStore>,
    clock: ManualClock,
}

fn setup(fake: &FakeLine, options: Options) -> Setup {
    let menus = Arc::new(InMemoryMenuStore::new());
    let assignments = Arc::new(InMemoryAssignmentStore::new());
    let clock = ManualClock::new("2026-03-01T00:00:00Z".parse().unwrap());
    let rm = RichMenus::new(fake.client(), menus.clone(), assignments.clone())
        .with_clock(Arc::new(clock.clone()))
        .with_scheduler(Arc::new(ManualScheduler::new(clock.clone())))
        .with_options(options);
    Setup {
        rm,
        menus,
        assignments,
        clock,
    }
}

#[tokio::test]
async fn deploy_twice_makes_no_write_the_second_time() {
    let fake = FakeLine::start().await;
    let s = setup(&fake, Options::default());
    let report = s.rm.deploy(&tabs(1)).await.unwrap();
    assert_eq!(report.created.len(), 2);
    {
        let st = fake.state();
        assert_eq!(st.menus.len(), 2);
        assert_eq!(st.images.len(), 2);
        assert_eq!(st.images[report.live["home"].as_str()].0, "image/png");
        assert_eq!(st.aliases["tab-home"], report.live["home"].as_str());
        assert_eq!(st.aliases["tab-shop"], report.live["shop"].as_str());
        assert!(st.unexpected.is_empty(), "{:?}", st.unexpected);
    }
    fake.reset_log();
    let again = s.rm.deploy(&tabs(1)).await.unwrap();
    assert_eq!(s.menus.records().await.unwrap().len(), 2);
    assert_eq!(again.writes(), 0);
    assert_eq!(again.live, report.live);
    let st = fake.state();
    assert_eq!(st.writes().len(), 0, "second deploy wrote: {:?}", st.writes());
}

#[tokio::test]
async fn an_image_change_creates_a_new_menu_moves_its_users_and_deletes_the_old_one() {
    let fake = FakeLine::start().await;
    let s = setup(&fake, Options::default());
    let v1 = s.rm.deploy(&tabs(1)).await.unwrap();
    let old_home = v1.live["home"].clone();
    let users: Vec<UserContext> = (0..7).map(|i| UserContext::new(user(i))).collect();
    s.rm.reconcile(&Policy::new("home"), users.clone()).await.unwrap();
    assert_eq!(fake.state().users_on(old_home.as_str()), 7);

    fake.reset_log();
    let v2 = s.rm.deploy(&tabs(2)).await.unwrap();
    let new_home = v2.live["home"].clone();
    assert_ne!(new_home, old_home);
    assert_eq!(v2.live["shop"], v1.live["shop"], "the unchanged menu stays");
    assert_eq!(v2.created.len(), 1);
    assert_eq!(v2.deleted, vec![old_home.clone()]);
    {
        let st = fake.state();
        assert_eq!(st.count("POST", "/v2/bot/richmenu"), 1);
        assert_eq!(st.count("POST", "/v2/bot/richmenu/batch"), 1);
        assert_eq!(st.count("DELETE", &format!("/v2/bot/richmenu/{old_home}")), 1);
        assert!(!st.menus.contains_key(old_home.as_str()));
        assert_eq!(st.users_on(new_home.as_str()), 7, "every user moved to the new version");
        assert_eq!(st.aliases["tab-home"], new_home.as_str(), "the alias follows");
        assert!(st.unexpected.is_empty(), "{:?}", st.unexpected);
    }
    for u in &users {
        assert_eq!(
            s.assignments.get(&u.user_id).await.unwrap(),
            Some(Assignment::menu("home", new_home.clone())),
            "the assignment store follows"
        );
    }
    assert_eq!(v2.migration.moved.get("home"), Some(&7));
    let records = s.menus.records().await.unwrap();
    assert_eq!(records.len(), 2, "the old record is gone: {records:?}");
    fake.reset_log();
    s.rm.deploy(&tabs(2)).await.unwrap();
    assert_eq!(fake.state().writes().len(), 0);
}

#[tokio::test]
async fn a_menu_no_longer_declared_loses_its_alias_users_and_menu() {
    let fake = FakeLine::start().await;
    let s = setup(&fake, Options::default());
    let v1 = s.rm.deploy(&tabs(1)).await.unwrap();
    let shop = v1.live["shop"].clone();
    s.rm.reconcile(&Policy::new("shop"), (0..3).map(|i| UserContext::new(user(i))))
        .await
        .unwrap();
    let home_only = MenuDef::new("home", "Home", "home.png")
        .alias("tab-home")
        .area(Bounds::new(0, 0, 800, 540), uri());
    let set = MenuSet::new([Menu::new(home_only, Image::from_bytes(png(800, 540, 9)))]);
    let v2 = s.rm.deploy(&set).await.unwrap();
    assert!(v2.deleted.contains(&shop));
    {
        let st = fake.state();
        assert!(!st.aliases.contains_key("tab-shop"));
        assert_eq!(st.users_on(shop.as_str()), 0);
        assert_eq!(st.menus.len(), 1);
    }
    assert_eq!(
        s.assignments.get(&user(0).into()).await.unwrap(),
        Some(Assignment::Default)
    );
}

#[tokio::test]
async fn a_menu_created_just_before_a_crash_is_adopted_not_created_again() {
    let fake = FakeLine::start().await;
    let s = setup(&fake, Options::default());
    // The image upload fails once: the menu exists on LINE without an image.
    fake.fail("POST", "/v2/bot/richmenu/", 0, 1);
    let e = s.rm.deploy(&tabs(1)).await.unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Api { status: Some(500), .. }), "{e}");
    // The store was lost too: a fresh one must find the orphan by its name tag.
    let fresh = setup(&fake, Options::default());
    let report = fresh.rm.deploy(&tabs(1)).await.unwrap();
    assert_eq!(report.adopted.len(), 1, "{report:?}");
    let st = fake.state();
    assert_eq!(st.count("POST", "/v2/bot/richmenu"), 2, "one create per menu in all");
    assert_eq!(st.menus.len(), 2);
    assert_eq!(st.images.len(), 2);
}

#[tokio::test]
async fn the_hourly_create_budget_stops_a_deploy_and_the_next_hour_finishes_it() {
    let fake = FakeLine::start().await;
    let s = setup(&fake, {
        let mut o = Options::default();
        o.create_delete_per_hour = 1;
        o
    });
    let e = s.rm.deploy(&tabs(1)).await.unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Limit { .. }), "{e}");
    assert_eq!(fake.state().count("POST", "/v2/bot/richmenu"), 1);
    s.clock.advance(SignedDuration::from_mins(61));
    let report = s.rm.deploy(&tabs(1)).await.unwrap();
    assert_eq!(report.created.len(), 1);
    assert_eq!(fake.state().count("POST", "/v2/bot/richmenu"), 2);
    assert_eq!(fake.state().aliases.len(), 2);
}

#[tokio::test]
async fn an_invalid_set_sends_nothing() {
    let fake = FakeLine::start().await;
    let s = setup(&fake, Options::default());
    let bad = MenuDef::new("home", "Home", "home.png").area(Bounds::new(0, 0, 900, 540), uri());
    let set = MenuSet::new([Menu::new(bad, Image::from_bytes(png(800, 540, 1)))]);
    let e = s.rm.deploy(&set).await.unwrap_err();
    match e.kind() {
        ErrorKind::Invalid { findings } => assert_eq!(findings[0].place, "/menus/0/areas/0/bounds"),
        other => panic!("{other:?}"),
    }
    assert!(fake.state().log.is_empty());
}

#[tokio::test]
async fn a_deploy_stopped_while_polling_the_batch_resumes_without_a_second_batch_call() {
    let fake = FakeLine::start().await;
    let s = setup(&fake, Options::default());
    let v1 = s.rm.deploy(&tabs(1)).await.unwrap();
    let old_home = v1.live["home"].clone();
    s.rm.reconcile(&Policy::new("home"), (0..5).map(|i| UserContext::new(user(i))))
        .await
        .unwrap();
    fake.reset_log();
    fake.fail("GET", "/v2/bot/richmenu/progress/batch", 0, 1);
    let e = s.rm.deploy(&tabs(2)).await.unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Api { status: Some(500), .. }), "{e}");
    assert!(
        fake.state().menus.contains_key(old_home.as_str()),
        "the old menu stays until its users are moved"
    );
    let v2 = s.rm.deploy(&tabs(2)).await.unwrap();
    assert!(v2.migration.resumed);
    assert_eq!(v2.deleted, vec![old_home.clone()]);
    let st = fake.state();
    assert_eq!(
        st.count("POST", "/v2/bot/richmenu/batch"),
        1,
        "the job is polled again, not resent"
    );
    assert_eq!(
        st.count("POST", "/v2/bot/richmenu"),
        1,
        "the new version is created once"
    );
    assert_eq!(st.users_on(v2.live["home"].as_str()), 5);
    assert!(!st.menus.contains_key(old_home.as_str()));
}

#[tokio::test]
async fn the_1000_menu_limit_stops_a_deploy_before_it_would_pass() {
    let fake = FakeLine::start().await;
    {
        let mut st = fake.state();
        for i in 0..999 {
            let id = format!("richmenu-other-{i}");
            st.menus.insert(
                id.clone(),
                serde_json::json!({"richMenuId": id, "size": {"width": 800, "height": 540}, "selected": false,
                                   "name": "someone else's", "chatBarText": "x", "areas": []}),
            );
        }
    }
    let s = setup(&fake, Options::default());
    let e = s.rm.deploy(&tabs(1)).await.unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::Limit { limit, .. } if limit == "rich menus per channel"),
        "{e}"
    );
    assert_eq!(fake.state().count("POST", "/v2/bot/richmenu"), 1);
    assert_eq!(fake.state().menus.len(), 1_000);
}

#[tokio::test]
async fn errors_and_debug_output_never_show_the_token() {
    let fake = FakeLine::start().await;
    let s = setup(&fake, Options::default());
    fake.fail("GET", "/v2/bot/richmenu/list", 0, 1);
    let e = s.rm.deploy(&tabs(1)).await.unwrap_err();
    let shown = format!("{e} {e:?} {:?}", s.rm);
    assert!(shown.contains("getRichMenuList"), "{shown}");
    assert!(!shown.contains("test-token"), "{shown}");
}

#[tokio::test]
async fn prune_unmanaged_deletes_menus_nobody_declared() {
    let fake = FakeLine::start().await;
    fake.state().menus.insert(
        "richmenu-foreign".into(),
        serde_json::json!({"richMenuId": "richmenu-foreign", "size": {"width": 800, "height": 540},
                           "selected": false, "name": "old", "chatBarText": "x", "areas": []}),
    );
    let keep = setup(&fake, Options::default());
    keep.rm.deploy(&tabs(1)).await.unwrap();
    assert!(fake.state().menus.contains_key("richmenu-foreign"), "off by default");
    let mut o = Options::default();
    o.prune_unmanaged = true;
    let prune = RichMenus::new(fake.client(), keep.menus.clone(), keep.assignments.clone()).with_options(o);
    let report = prune.deploy(&tabs(1)).await.unwrap();
    assert_eq!(
        report.deleted,
        vec![line_core::ids::RichMenuId::new("richmenu-foreign")]
    );
    assert_eq!(fake.state().menus.len(), 2);
}
