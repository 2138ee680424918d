//! Profiles, followers paging, insight queries, chat helpers.

mod common;

use line_core::model::ShowLoadingAnimationRequest;
use serde_json::json;
use wiremock::matchers::{body_json, method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

#[tokio::test]
async fn followers_page_through_start_and_limit() {
    let (server, client) = common::setup().await;
    Mock::given(method("GET"))
        .and(path("/v2/bot/followers/ids"))
        .and(query_param("limit", "2"))
        .and(query_param("start", "tok1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"userIds": ["U3"]})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/bot/followers/ids"))
        .and(query_param("limit", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"userIds": ["U1", "U2"], "next": "tok1"})))
        .expect(1)
        .mount(&server)
        .await;
    let mut all = Vec::new();
    let mut start: Option<String> = None;
    loop {
        let mut req = client.get_followers().limit(2);
        if let Some(s) = &start {
            req = req.start(s);
        }
        let page = req.await.unwrap().body;
        all.extend(page.user_ids);
        match page.next {
            Some(n) => start = Some(n),
            None => break,
        }
    }
    assert_eq!(all, vec!["U1", "U2", "U3"]);
}

#[tokio::test]
async fn profile_and_insight() {
    let (server, client) = common::setup().await;
    Mock::given(method("GET"))
        .and(path("/v2/bot/profile/U1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "displayName": "Aiko", "userId": "U1", "language": "ja", "pictureUrl": "https://p.example/a.png"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/bot/insight/message/delivery"))
        .and(query_param("date", "20261124"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"status": "ready", "broadcast": 5385, "targeting": 522})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let p = client.get_profile("U1").await.unwrap().body;
    assert_eq!(p.display_name, "Aiko");
    assert_eq!(p.user_id, "U1");
    let d = client.get_number_of_message_deliveries("20261124").await.unwrap().body;
    assert_eq!(d.broadcast, Some(5385));
    assert_eq!(d.status.as_ref().map(|s| s.as_str()), Some("ready"));
}

#[tokio::test]
async fn loading_animation_is_a_202() {
    let (server, client) = common::setup().await;
    Mock::given(method("POST"))
        .and(path("/v2/bot/chat/loading/start"))
        .and(body_json(json!({"chatId": "U1", "loadingSeconds": 10})))
        .respond_with(ResponseTemplate::new(202).set_body_json(json!({})))
        .expect(1)
        .mount(&server)
        .await;
    let mut req = ShowLoadingAnimationRequest::new("U1");
    req.loading_seconds = Some(10);
    assert_eq!(client.show_loading_animation(&req).await.unwrap().status, 202);
}
