//! The admin HTTP interface and the CLI contract, as a script in any language would use them.

mod common;

use common::start;
use line_core::model::{PushMessageRequest, TextMessage};
use line_emulator::{listening_line, EmulatorConfig};
use serde_json::{json, Value};

async fn get_json(url: String) -> (u16, Value) {
    let resp = reqwest::get(url).await.unwrap();
    let status = resp.status().as_u16();
    (status, serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap())
}

async fn send(method: reqwest::Method, url: String, body: &str) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .request(method, url)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let bytes = resp.bytes().await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_cli_settings_seed_friends_and_enforce_the_token() {
    let config = EmulatorConfig::new().port(0).friends(3).token("T");
    let (emu, client) = start(config).await;
    let line = listening_line(emu.addr());
    assert_eq!(line, format!("listening on {}", emu.base_url()));
    assert!(line.starts_with("listening on http://127.0.0.1:"));
    assert_ne!(emu.addr().port(), 0);

    let (status, users) = get_json(format!("{}/_emulator/users", emu.base_url())).await;
    assert_eq!(status, 200);
    let users = users.as_array().unwrap();
    assert_eq!(users.len(), 3);
    for u in users {
        let obj = u.as_object().unwrap();
        let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["blocked", "displayName", "friend", "userId"]);
        assert_eq!(u["friend"], true);
        assert_eq!(u["blocked"], false);
        assert_eq!(u["userId"].as_str().unwrap().len(), 33);
    }
    assert!(client.get_bot_info().await.is_ok());
    let resp = reqwest::Client::new()
        .get(format!("{}/v2/bot/info", emu.base_url()))
        .bearer_auth("not-T")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let body = resp.bytes().await.unwrap();
    assert!(!String::from_utf8_lossy(&body).contains("not-T"));
    let shown = format!("{emu:?}");
    assert!(!shown.contains("\"T\"") && shown.contains("redacted"), "{shown}");
}

#[tokio::test]
async fn messages_reset_calls_and_user_creation() {
    let (emu, client) = start(EmulatorConfig::new().friends(2).seed(9)).await;
    let before = emu.users();
    let alice = before[0].user_id.clone();
    let sent = client
        .push_message(PushMessageRequest::new(
            alice.as_str(),
            vec![TextMessage::new("hi").into()],
        ))
        .await
        .unwrap();
    let url = format!("{}/_emulator/messages?userId={}", emu.base_url(), alice.as_str());
    let (status, msgs) = get_json(url.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(msgs.as_array().unwrap().len(), 1);
    assert_eq!(msgs[0]["requestId"], sent.request_id.unwrap().as_str());
    assert_eq!(msgs[0]["message"], json!({"type": "text", "text": "hi"}));
    assert_eq!(msgs[0]["operation"], "pushMessage");

    let (status, calls) = get_json(format!("{}/_emulator/calls", emu.base_url())).await;
    assert_eq!(status, 200);
    assert_eq!(calls["pushMessage"], 1);
    assert_eq!(emu.call_counts().get("pushMessage"), Some(&1));
    emu.add_friends(2);
    assert_eq!(emu.follower_ids().len(), 4);

    let (status, err) = get_json(format!("{}/_emulator/messages", emu.base_url())).await;
    assert_eq!(status, 400);
    assert_eq!(err["details"][0]["property"], "userId");

    let (status, added) = send(
        reqwest::Method::POST,
        format!("{}/_emulator/users", emu.base_url()),
        r#"{"displayName": "Carol", "blocked": true}"#,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(added["blocked"], true);
    assert_eq!(emu.users().len(), 5);

    let (status, _) = send(reqwest::Method::POST, format!("{}/_emulator/reset", emu.base_url()), "").await;
    assert_eq!(status, 200);
    assert_eq!(emu.users(), before, "reset restores the seeded friends");
    let (_, msgs) = get_json(url).await;
    assert_eq!(msgs, json!([]));
    assert_eq!(emu.calls("pushMessage"), 0);
}

#[tokio::test]
async fn faults_are_set_over_http_and_bad_ones_name_the_pointer() {
    let (emu, client) = start(EmulatorConfig::new().friends(1)).await;
    let url = format!("{}/_emulator/faults", emu.base_url());
    let (status, body) = send(
        reqwest::Method::PUT,
        url.clone(),
        r#"{"seed": 1, "endpoints": {"getBotInfo": {"errorRate": 1.0}}}"#,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let err = client.get_bot_info().await.unwrap_err();
    assert_eq!(err.api().unwrap().status, 500);
    assert!(client.get_message_quota().await.is_ok());
    let (_, current) = get_json(url.clone()).await;
    assert_eq!(current["endpoints"]["getBotInfo"]["errorRate"], 1.0);

    let (status, body) = send(
        reqwest::Method::PUT,
        url.clone(),
        r#"{"endpoints": {"multicast": {"lostResponseRate": -1}}}"#,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["details"][0]["property"], "/endpoints/multicast/lostResponseRate");
    let (status, body) = send(reqwest::Method::PUT, url.clone(), r#"{"endpoints": []}"#).await;
    assert_eq!(status, 400);
    assert_eq!(body["details"][0]["property"], "/endpoints");
    assert_eq!(
        emu.faults().endpoints["getBotInfo"].error_rate,
        1.0,
        "a bad config changes nothing"
    );
}

#[tokio::test]
async fn webhook_helpers_over_http() {
    let (emu, _) = start(EmulatorConfig::new().friends(1)).await;
    let alice = emu.users()[0].user_id.clone();
    let (status, d) = send(
        reqwest::Method::POST,
        format!("{}/_emulator/webhook/text", emu.base_url()),
        &json!({"userId": alice.as_str(), "text": "hello"}).to_string(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(d["events"][0]["message"]["text"], "hello");
    assert_eq!(d["status"], Value::Null);
    let (status, _) = send(
        reqwest::Method::POST,
        format!("{}/_emulator/webhook/postback", emu.base_url()),
        &json!({"userId": alice.as_str()}).to_string(),
    )
    .await;
    assert_eq!(status, 400);
    let (status, _) = send(
        reqwest::Method::POST,
        format!("{}/_emulator/webhook/follow", emu.base_url()),
        r#"{"userId": "Unobody"}"#,
    )
    .await;
    assert_eq!(status, 404);
}
