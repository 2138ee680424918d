//! Rich menus: objects, images, default, links, aliases, batches, limits.

mod common;

use common::{api, png, start};
use line_core::model::{
    CreateRichMenuAliasRequest, RichMenuBatchRequest, RichMenuBulkLinkRequest, RichMenuBulkUnlinkRequest,
    RichMenuRequest, UpdateRichMenuAliasRequest,
};
use line_core::UserId;
use line_emulator::EmulatorConfig;
use serde_json::json;

fn menu(name: &str) -> RichMenuRequest {
    serde_json::from_value(json!({
        "size": {"width": 2500, "height": 843},
        "selected": false,
        "name": name,
        "chatBarText": "Menu",
        "areas": [
            {"bounds": {"x": 0, "y": 0, "width": 1250, "height": 843},
             "action": {"type": "postback", "data": "left"}},
            {"bounds": {"x": 1250, "y": 0, "width": 1250, "height": 843},
             "action": {"type": "richmenuswitch", "richMenuAliasId": "page-2", "data": "switch"}}
        ]
    }))
    .unwrap()
}

async fn menu_with_image(client: &line_core::client::Client, name: &str) -> String {
    let id = client.create_rich_menu(menu(name)).await.unwrap().body.rich_menu_id;
    client
        .set_rich_menu_image(&id, png(2500, 843), "image/png")
        .await
        .unwrap();
    id
}

#[tokio::test]
async fn create_get_list_delete() {
    let (emu, client) = start(EmulatorConfig::new()).await;
    let a = client.create_rich_menu(menu("a")).await.unwrap().body.rich_menu_id;
    let b = client.create_rich_menu(menu("b")).await.unwrap().body.rich_menu_id;
    assert!(a.starts_with("richmenu-") && a != b);
    let got = client.get_rich_menu(&a).await.unwrap().body;
    assert_eq!(got.rich_menu_id, a);
    assert_eq!(got.name, "a");
    assert_eq!(got.areas.len(), 2);
    assert_eq!(
        serde_json::to_value(&got.areas).unwrap(),
        serde_json::to_value(menu("a").areas).unwrap()
    );
    let list = client.get_rich_menu_list().await.unwrap().body;
    let ids: Vec<&str> = list.richmenus.iter().map(|m| m.rich_menu_id.as_str()).collect();
    assert_eq!(ids, [a.as_str(), b.as_str()]);
    client.delete_rich_menu(&a).await.unwrap();
    assert_eq!(emu.rich_menu_ids(), vec![b.clone()]);
    let err = client.get_rich_menu(&a).await.unwrap_err();
    assert_eq!(api(&err).status, 404);
    let err = client.delete_rich_menu(&a).await.unwrap_err();
    assert_eq!(api(&err).status, 404);
}

#[tokio::test]
async fn invalid_menus_name_each_property() {
    let (emu, client) = start(EmulatorConfig::new()).await;
    let mut bad = menu("x");
    bad.chat_bar_text = Some("fifteen chars!!".into());
    bad.size.as_mut().unwrap().width = Some(700);
    let err = client.create_rich_menu(&bad).await.unwrap_err();
    let props: Vec<_> = api(&err).details.iter().filter_map(|d| d.property.clone()).collect();
    assert_eq!(props, ["size.width", "chatBarText"]);
    let err = client.validate_rich_menu_object(&bad).await.unwrap_err();
    assert_eq!(api(&err).status, 400);
    client.validate_rich_menu_object(menu("ok")).await.unwrap();

    let mut outside = menu("x");
    outside.areas.as_mut().unwrap()[1].bounds.as_mut().unwrap().x = Some(1300);
    let err = client.create_rich_menu(&outside).await.unwrap_err();
    assert_eq!(api(&err).details[0].property.as_deref(), Some("areas[1].bounds"));
    let mut huge = menu("x");
    huge.areas.as_mut().unwrap()[0].bounds.as_mut().unwrap().x = Some(i64::MAX);
    let err = client.create_rich_menu(&huge).await.unwrap_err();
    assert_eq!(api(&err).details[0].property.as_deref(), Some("areas[0].bounds"));
    assert!(emu.rich_menu_ids().is_empty());
}

#[tokio::test]
async fn images_upload_once_download_and_must_match_the_size() {
    let (_emu, client) = start(EmulatorConfig::new()).await;
    let id = client.create_rich_menu(menu("m")).await.unwrap().body.rich_menu_id;
    let err = client.get_rich_menu_image(&id).await.unwrap_err();
    assert_eq!(api(&err).status, 404);
    let err = client
        .set_rich_menu_image(&id, png(2500, 1686), "image/png")
        .await
        .unwrap_err();
    assert!(api(&err).message.contains("does not match"), "{err}");
    let err = client
        .set_rich_menu_image(&id, png(2500, 843), "image/gif")
        .await
        .unwrap_err();
    assert_eq!(api(&err).status, 415);
    let err = client
        .set_rich_menu_image(&id, png(2500, 843), "image/jpeg")
        .await
        .unwrap_err();
    assert_eq!(api(&err).status, 400);
    let image = png(2500, 843);
    client
        .set_rich_menu_image(&id, image.clone(), "image/png")
        .await
        .unwrap();
    let blob = client.get_rich_menu_image(&id).await.unwrap().body;
    assert_eq!(blob.bytes.as_ref(), image.as_slice());
    assert_eq!(blob.content_type.as_deref(), Some("image/png"));
    let err = client.set_rich_menu_image(&id, image, "image/png").await.unwrap_err();
    assert!(api(&err).message.contains("already"), "{err}");
}

#[tokio::test]
async fn default_and_per_user_links() {
    let (emu, client) = start(EmulatorConfig::new().friends(2)).await;
    let alice = emu.users()[0].user_id.clone();
    let bare = client
        .create_rich_menu(menu("no image"))
        .await
        .unwrap()
        .body
        .rich_menu_id;
    let err = client.set_default_rich_menu(&bare).await.unwrap_err();
    assert_eq!(api(&err).status, 400);
    let err = client
        .link_rich_menu_id_to_user(alice.as_str(), &bare)
        .await
        .unwrap_err();
    assert_eq!(api(&err).status, 400);

    let id = menu_with_image(&client, "main").await;
    client.set_default_rich_menu(&id).await.unwrap();
    assert_eq!(client.get_default_rich_menu_id().await.unwrap().body.rich_menu_id, id);
    client.cancel_default_rich_menu().await.unwrap();
    assert!(client.get_default_rich_menu_id().await.is_err());
    assert_eq!(emu.default_rich_menu(), None);

    let err = client.get_rich_menu_id_of_user(alice.as_str()).await.unwrap_err();
    assert_eq!(api(&err).status, 404);
    client.link_rich_menu_id_to_user(alice.as_str(), &id).await.unwrap();
    assert_eq!(
        client
            .get_rich_menu_id_of_user(alice.as_str())
            .await
            .unwrap()
            .body
            .rich_menu_id,
        id
    );
    assert_eq!(emu.rich_menu_of(&alice), Some(id.clone()));
    client.unlink_rich_menu_id_from_user(alice.as_str()).await.unwrap();
    assert_eq!(emu.rich_menu_of(&alice), None);

    client.link_rich_menu_id_to_user(alice.as_str(), &id).await.unwrap();
    client.delete_rich_menu(&id).await.unwrap();
    assert_eq!(emu.rich_menu_of(&alice), None, "deleting a menu unlinks its users");
}

#[tokio::test]
async fn bulk_link_and_unlink_answer_202() {
    let (emu, client) = start(EmulatorConfig::new().friends(3)).await;
    let users: Vec<UserId> = emu.follower_ids();
    let id = menu_with_image(&client, "bulk").await;
    let r = client
        .link_rich_menu_id_to_users(RichMenuBulkLinkRequest::new(id.clone(), users.clone()))
        .await
        .unwrap();
    assert_eq!(r.status, 202);
    assert!(users.iter().all(|u| emu.rich_menu_of(u) == Some(id.clone())));
    let r = client
        .unlink_rich_menu_id_from_users(RichMenuBulkUnlinkRequest::new(users[..2].to_vec()))
        .await
        .unwrap();
    assert_eq!(r.status, 202);
    assert_eq!(emu.rich_menu_of(&users[0]), None);
    assert_eq!(emu.rich_menu_of(&users[2]), Some(id.clone()));

    let too_many: Vec<UserId> = (0..501).map(|i| UserId::new(format!("U{i:032x}"))).collect();
    let err = client
        .link_rich_menu_id_to_users(RichMenuBulkLinkRequest::new(id, too_many))
        .await
        .unwrap_err();
    assert_eq!(api(&err).details[0].property.as_deref(), Some("userIds"));
}

#[tokio::test]
async fn aliases_create_get_update_list_delete() {
    let (emu, client) = start(EmulatorConfig::new()).await;
    let one = menu_with_image(&client, "one").await;
    let two = menu_with_image(&client, "two").await;
    client
        .create_rich_menu_alias(CreateRichMenuAliasRequest::new("page-1", one.clone()))
        .await
        .unwrap();
    let err = client
        .create_rich_menu_alias(CreateRichMenuAliasRequest::new("page-1", two.clone()))
        .await
        .unwrap_err();
    assert_eq!(api(&err).message, "conflict richmenu alias id");
    let err = client
        .create_rich_menu_alias(CreateRichMenuAliasRequest::new("bad alias!", two.clone()))
        .await
        .unwrap_err();
    assert_eq!(api(&err).details[0].property.as_deref(), Some("richMenuAliasId"));
    let got = client.get_rich_menu_alias("page-1").await.unwrap().body;
    assert_eq!(got.rich_menu_id, one);
    client
        .update_rich_menu_alias("page-1", UpdateRichMenuAliasRequest::new(two.clone()))
        .await
        .unwrap();
    assert_eq!(emu.rich_menu_aliases()["page-1"], two);
    client
        .create_rich_menu_alias(CreateRichMenuAliasRequest::new("page-2", one.clone()))
        .await
        .unwrap();
    let list = client.get_rich_menu_alias_list().await.unwrap().body;
    assert_eq!(list.aliases.len(), 2);
    client.delete_rich_menu_alias("page-1").await.unwrap();
    let err = client.get_rich_menu_alias("page-1").await.unwrap_err();
    assert_eq!(api(&err).status, 404);
}

#[tokio::test]
async fn batch_replaces_and_unlinks_with_progress() {
    let clock = line_core::clock::ManualClock::new("2026-05-01T00:00:00Z".parse::<jiff::Timestamp>().unwrap());
    let config = EmulatorConfig::new()
        .friends(3)
        .clock(std::sync::Arc::new(clock.clone()))
        .job_delay(std::time::Duration::from_secs(30));
    let (emu, client) = start(config).await;
    let users = emu.follower_ids();
    let old = menu_with_image(&client, "old").await;
    let new = menu_with_image(&client, "new").await;
    for u in &users[..2] {
        client.link_rich_menu_id_to_user(u.as_str(), &old).await.unwrap();
    }
    client.link_rich_menu_id_to_user(users[2].as_str(), &new).await.unwrap();

    let batch: RichMenuBatchRequest = serde_json::from_value(json!({
        "operations": [{"type": "link", "from": old, "to": new}]
    }))
    .unwrap();
    client.validate_rich_menu_batch_request(&batch).await.unwrap();
    let r = client.rich_menu_batch(&batch).await.unwrap();
    assert_eq!(r.status, 202);
    let request_id = r.request_id.unwrap();
    let p = client
        .get_rich_menu_batch_progress(request_id.as_str())
        .await
        .unwrap()
        .body;
    assert_eq!(p.phase.as_str(), "ongoing");
    assert_eq!(emu.rich_menu_of(&users[0]), Some(old.clone()));
    clock.advance(jiff::SignedDuration::from_secs(30));
    let p = client
        .get_rich_menu_batch_progress(request_id.as_str())
        .await
        .unwrap()
        .body;
    assert_eq!(p.phase.as_str(), "succeeded");
    assert!(p.completed_time.is_some());
    assert!(users.iter().all(|u| emu.rich_menu_of(u) == Some(new.clone())));

    let unlink: RichMenuBatchRequest = serde_json::from_value(json!({"operations": [{"type": "unlinkAll"}]})).unwrap();
    client.rich_menu_batch(&unlink).await.unwrap();
    clock.advance(jiff::SignedDuration::from_secs(30));
    assert_eq!(emu.rich_menu_of(&users[0]), None);
    assert_eq!(emu.messages(&users[0]).len(), 0);

    let bad: RichMenuBatchRequest = serde_json::from_value(json!({
        "operations": [{"type": "unlink", "from": "richmenu-nope"}, {"type": "fly"}]
    }))
    .unwrap();
    let err = client.rich_menu_batch(&bad).await.unwrap_err();
    let props: Vec<_> = api(&err).details.iter().filter_map(|d| d.property.clone()).collect();
    assert_eq!(props, ["operations[0].from", "operations[1].type"]);
}

#[tokio::test]
async fn create_is_limited_to_100_per_hour() {
    let (emu, client) = start(EmulatorConfig::new()).await;
    for i in 0..100 {
        client.create_rich_menu(menu(&format!("m{i}"))).await.unwrap();
    }
    let err = client.create_rich_menu(menu("one too many")).await.unwrap_err();
    assert_eq!(api(&err).status, 429);
    assert_eq!(emu.rich_menu_ids().len(), 100);
}
