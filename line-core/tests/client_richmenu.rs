//! Rich menus: JSON operations on api.line.me, images on api-data.line.me.

mod common;

use line_core::client::Client;
use line_core::model::{Action, RichMenuArea, RichMenuBounds, RichMenuBulkLinkRequest, RichMenuRequest, RichMenuSize};
use line_core::ratelimit::RateLimiter;
use line_core::retry::RetryPolicy;
use line_core::UserId;
use serde_json::json;
use wiremock::matchers::{body_bytes, body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn create_rich_menu_sends_the_typed_object() {
    let (server, client) = common::setup().await;
    let mut size = RichMenuSize::new();
    size.width = Some(2500);
    size.height = Some(843);
    let mut bounds = RichMenuBounds::new();
    (bounds.x, bounds.y, bounds.width, bounds.height) = (Some(0), Some(0), Some(1250), Some(843));
    let mut area = RichMenuArea::new();
    area.bounds = Some(bounds);
    area.action =
        Some(serde_json::from_value::<Action>(json!({"type": "uri", "uri": "https://shop.example/member"})).unwrap());
    let mut req = RichMenuRequest::new();
    req.size = Some(size);
    req.selected = Some(true);
    req.name = Some("linked".into());
    req.chat_bar_text = Some("Menu".into());
    req.areas = Some(vec![area]);
    Mock::given(method("POST"))
        .and(path("/v2/bot/richmenu"))
        .and(body_json(json!({
            "size": {"width": 2500, "height": 843}, "selected": true, "name": "linked", "chatBarText": "Menu",
            "areas": [{"bounds": {"x": 0, "y": 0, "width": 1250, "height": 843},
                       "action": {"type": "uri", "uri": "https://shop.example/member"}}]
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"richMenuId": "richmenu-abc"})))
        .expect(1)
        .mount(&server)
        .await;
    let resp = client.create_rich_menu(&req).await.unwrap();
    assert_eq!(resp.body.rich_menu_id, "richmenu-abc");
}

/// Two servers stand for the two hosts: the image calls must reach the data one.
#[tokio::test]
async fn images_go_to_the_data_host_with_their_content_type() {
    let api = MockServer::start().await;
    let data = MockServer::start().await;
    let client = Client::builder()
        .token(common::TOKEN)
        .api_base(api.uri())
        .data_base(data.uri())
        .retry_policy(RetryPolicy::none())
        .rate_limiter(RateLimiter::disabled())
        .build()
        .unwrap();
    let png: &[u8] = b"\x89PNG\r\n\x1a\nfake-image";
    Mock::given(method("POST"))
        .and(path("/v2/bot/richmenu/richmenu-abc/content"))
        .and(header("content-type", "image/png"))
        .and(body_bytes(png))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&data)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/bot/richmenu/richmenu-abc/content"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(png.to_vec(), "image/png"))
        .expect(1)
        .mount(&data)
        .await;
    client
        .set_rich_menu_image("richmenu-abc", png.to_vec(), "image/png")
        .await
        .unwrap();
    let blob = client.get_rich_menu_image("richmenu-abc").await.unwrap().body;
    assert_eq!(&blob.bytes[..], png);
    assert_eq!(blob.content_type.as_deref(), Some("image/png"));
    assert!(
        api.received_requests().await.unwrap().is_empty(),
        "nothing may reach api.line.me"
    );
}

#[tokio::test]
async fn bulk_link_is_a_202_and_list_parses() {
    let (server, client) = common::setup().await;
    Mock::given(method("POST"))
        .and(path("/v2/bot/richmenu/bulk/link"))
        .and(body_json(
            json!({"richMenuId": "richmenu-abc", "userIds": ["U1", "U2"]}),
        ))
        .respond_with(ResponseTemplate::new(202).set_body_json(json!({})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/bot/richmenu/list"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"richmenus": [{
            "richMenuId": "richmenu-abc", "size": {"width": 2500, "height": 843}, "selected": false,
            "name": "n", "chatBarText": "Tap", "areas": [], "futureField": 1
        }]})))
        .expect(1)
        .mount(&server)
        .await;
    let resp = client
        .link_rich_menu_id_to_users(RichMenuBulkLinkRequest::new(
            "richmenu-abc",
            vec![UserId::new("U1"), UserId::new("U2")],
        ))
        .await
        .unwrap();
    assert_eq!(resp.status, 202);
    let list = client.get_rich_menu_list().await.unwrap().body;
    assert_eq!(list.richmenus[0].rich_menu_id, "richmenu-abc");
    assert_eq!(
        list.richmenus[0].extra["futureField"],
        json!(1),
        "unknown properties are kept"
    );
}

#[tokio::test]
async fn path_parameters_are_percent_encoded() {
    let (server, client) = common::setup().await;
    Mock::given(method("DELETE"))
        .and(path("/v2/bot/richmenu/alias/a%2Fb"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    client.delete_rich_menu_alias("a/b").await.unwrap();
}
