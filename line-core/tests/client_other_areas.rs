//! The remaining API areas: coupons, memberships, PNP, chat, content,
//! webhook settings, insight, LIFF, module and shop.

mod common;

use line_core::model::*;
use line_core::ChannelSecret;
use serde_json::json;
use wiremock::matchers::{body_json, body_string_contains, header, method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

#[tokio::test]
async fn coupons_list_with_repeated_status_query() {
    let (server, client) = common::setup().await;
    Mock::given(method("GET"))
        .and(path("/v2/bot/coupon"))
        .and(query_param("limit", "50"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"items": [{"couponId": "c1", "title": "10% off"}], "next": "n2"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let page = client
        .list_coupon()
        .status(&[ListCouponStatus::Running, ListCouponStatus::Draft])
        .limit(50)
        .await
        .unwrap()
        .body;
    assert_eq!(page.next.as_deref(), Some("n2"));
    let url = server.received_requests().await.unwrap()[0].url.clone();
    let statuses: Vec<String> = url
        .query_pairs()
        .filter(|(k, _)| k == "status")
        .map(|(_, v)| v.into_owned())
        .collect();
    assert_eq!(statuses, ["RUNNING", "DRAFT"], "arrays are sent as repeated parameters");
}

#[tokio::test]
async fn pnp_sends_the_delivery_tag_header() {
    let (server, client) = common::setup().await;
    Mock::given(method("POST"))
        .and(path("/bot/pnp/push"))
        .and(header("x-line-delivery-tag", "order-2026-11-25-0001"))
        .and(body_json(
            json!({"to": "819012345678", "messages": [{"type": "text", "text": "Your parcel ships today"}]}),
        ))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let req = PnpMessagesRequest::new(vec![TextMessage::new("Your parcel ships today").into()], "819012345678");
    client
        .push_messages_by_phone(&req)
        .delivery_tag("order-2026-11-25-0001")
        .await
        .unwrap();
}

#[tokio::test]
async fn content_download_returns_bytes_and_type() {
    let (server, client) = common::setup().await;
    Mock::given(method("GET"))
        .and(path("/v2/bot/message/325708/content"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(b"\xff\xd8\xffjpeg".to_vec(), "image/jpeg"))
        .expect(1)
        .mount(&server)
        .await;
    let blob = client.get_message_content("325708").await.unwrap().body;
    assert_eq!(&blob.bytes[..], b"\xff\xd8\xffjpeg");
    assert_eq!(blob.content_type.as_deref(), Some("image/jpeg"));
}

#[tokio::test]
async fn chat_webhook_settings_and_insight() {
    let (server, client) = common::setup().await;
    Mock::given(method("POST"))
        .and(path("/v2/bot/message/markAsRead"))
        .and(body_json(json!({"chat": {"userId": "U1"}})))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/v2/bot/channel/webhook/endpoint"))
        .and(body_json(json!({"endpoint": "https://shop.example/callback"})))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/bot/insight/demographic"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "available": true, "genders": [{"gender": "female", "percentage": 61.5}, {"gender": "male", "percentage": 38.5}]
        })))
        .expect(1)
        .mount(&server)
        .await;
    client
        .mark_messages_as_read(MarkMessagesAsReadRequest::new(ChatReference::new("U1")))
        .await
        .unwrap();
    client
        .set_webhook_endpoint(SetWebhookEndpointRequest::new("https://shop.example/callback"))
        .await
        .unwrap();
    let demo = client.get_friends_demographics().await.unwrap().body;
    assert_eq!(demo.available, Some(true));
    assert_eq!(demo.genders.unwrap().len(), 2);
}

#[tokio::test]
async fn liff_membership_and_shop() {
    let (server, client) = common::setup().await;
    Mock::given(method("GET"))
        .and(path("/liff/v1/apps"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"apps": [{"liffId": "1234-abcd",
            "view": {"type": "full", "url": "https://shop.example/liff"}}]})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/bot/membership/list"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"memberships": []})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/shop/v3/mission"))
        .and(body_json(
            json!({"to": "U1", "productId": "p", "productType": "STICKER", "sendPresentMessage": false}),
        ))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let apps = client.get_all_liff_apps().await.unwrap().body;
    assert_eq!(apps.apps.unwrap()[0].liff_id.as_deref(), Some("1234-abcd"));
    assert!(client.get_membership_list().await.unwrap().body.memberships.is_empty());
    client
        .mission_sticker_v3(MissionStickerRequest::new("U1", "p", "STICKER", false))
        .await
        .unwrap();
}

/// A plan without a member cap answers `"memberLimit": null` (the spec's own
/// example); the list must decode, not fail the whole call.
#[tokio::test]
async fn membership_list_with_an_uncapped_plan_decodes() {
    let (server, client) = common::setup().await;
    let plan = |id: i64, limit: serde_json::Value| {
        json!({"membershipId": id, "title": "Gold", "description": "Perks", "benefits": ["Coupon"],
               "price": 500.0, "currency": "JPY", "memberCount": 3, "memberLimit": limit,
               "isInAppPurchase": false, "isPublished": true})
    };
    Mock::given(method("GET"))
        .and(path("/v2/bot/membership/list"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"memberships": [plan(1, serde_json::Value::Null), plan(2, json!(100))]})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let list = client.get_membership_list().await.unwrap().body;
    let limits: Vec<Option<i64>> = list.memberships.iter().map(|m| m.member_limit).collect();
    assert_eq!(limits, [None, Some(100)]);
}

#[tokio::test]
async fn module_attach_uses_basic_auth_and_a_form() {
    let (server, client) = common::setup().await;
    // base64("1234:s3cret")
    Mock::given(method("POST"))
        .and(path("/module/auth/v1/token"))
        .and(header("authorization", "Basic MTIzNDpzM2NyZXQ="))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string_contains("grant_type=authorization_code"))
        .and(body_string_contains("code=abc"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"bot_id": "U1", "scopes": ["message:send"]})))
        .expect(1)
        .mount(&server)
        .await;
    let req = AttachModuleRequest::new("authorization_code", "abc", "https://shop.example/cb");
    let resp = client
        .attach_module(&req, "1234", &ChannelSecret::new("s3cret"))
        .await
        .unwrap();
    assert_eq!(resp.body.bot_id, "U1");
}
