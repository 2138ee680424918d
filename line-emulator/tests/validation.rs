//! The emulator judges messages as LINE does: every send endpoint and every
//! `/v2/bot/message/validate/*` endpoint answers LINE's 400 with the property
//! path of each problem, and accepts the Flex documents of LINE's SDK tests.

mod common;

use common::start;
use line_emulator::{Emulator, EmulatorConfig};
use serde_json::{json, Value};

/// POSTs `body` to `path` with the emulator's token; returns the status and the JSON answer.
async fn post(emu: &Emulator, path: &str, body: &Value) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(format!("{}{path}", emu.base_url()))
        .header("authorization", "Bearer line-emulator-token")
        .header("content-type", "application/json")
        .body(serde_json::to_vec(body).unwrap())
        .send()
        .await
        .expect("the emulator answers");
    let status = resp.status().as_u16();
    let bytes = resp.bytes().await.expect("a body");
    let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, value)
}

/// The `property` of every detail of a 400 answer.
fn properties(answer: &Value) -> Vec<String> {
    answer["details"]
        .as_array()
        .map(|d| {
            d.iter()
                .map(|x| x["property"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn flex(contents: Value) -> Value {
    json!({"type": "flex", "altText": "alt", "contents": contents})
}

fn bubble_body(contents: Value) -> Value {
    flex(json!({"type": "bubble", "body": {"type": "box", "layout": "vertical", "contents": contents}}))
}

fn text(t: &str) -> Value {
    json!({"type": "text", "text": t})
}

fn with_quick_reply(items: Value) -> Value {
    json!({"type": "text", "text": "pick", "quickReply": {"items": items}})
}

fn button(action: Value) -> Value {
    flex(
        json!({"type": "bubble", "footer": {"type": "box", "layout": "vertical", "contents": [
            {"type": "button", "action": action}
        ]}}),
    )
}

/// One rule each: the messages of a request and the property LINE names.
fn rejected_cases() -> Vec<(&'static str, Value, &'static str)> {
    let big_text = "😀".repeat(2_501); // 2,501 characters but 5,002 UTF-16 code units
    let long_url = format!("https://example.com/{}", "a".repeat(1_990));
    let bubble = json!({"type": "bubble", "body": {"type": "box", "layout": "vertical", "contents": [text("x")]}});
    let filler = "x".repeat(31 * 1024);
    vec![
        ("no messages", json!([]), "messages"),
        (
            "six messages",
            json!([text("1"), text("2"), text("3"), text("4"), text("5"), text("6")]),
            "messages",
        ),
        (
            "unknown message type",
            json!([{"type": "hologram"}]),
            "messages[0].type",
        ),
        (
            "text over 5,000 UTF-16 units",
            json!([text(&big_text)]),
            "messages[0].text",
        ),
        ("empty text", json!([text("")]), "messages[0].text"),
        (
            "emoji index not at a $",
            json!([{"type": "text", "text": "a $ b", "emojis": [{"index": 0, "productId": "p", "emojiId": "001"}]}]),
            "messages[0].emojis[0].index",
        ),
        (
            "textV2 mention without mentionee",
            json!([{"type": "textV2", "text": "hi {who}", "substitution": {"who": {"type": "mention"}}}]),
            "messages[0].substitution.who.mentionee",
        ),
        (
            "sticker without stickerId",
            json!([{"type": "sticker", "packageId": "446"}]),
            "messages[0].stickerId",
        ),
        (
            "image over http",
            json!([{"type": "image", "originalContentUrl": "http://example.com/a.png", "previewImageUrl": "https://example.com/p.png"}]),
            "messages[0].originalContentUrl",
        ),
        (
            "image URL over 2,000 characters",
            json!([{"type": "image", "originalContentUrl": "https://example.com/a.png", "previewImageUrl": long_url}]),
            "messages[0].previewImageUrl",
        ),
        (
            "video without preview",
            json!([{"type": "video", "originalContentUrl": "https://example.com/a.mp4"}]),
            "messages[0].previewImageUrl",
        ),
        (
            "audio without duration",
            json!([{"type": "audio", "originalContentUrl": "https://example.com/a.m4a"}]),
            "messages[0].duration",
        ),
        (
            "location title over 100",
            json!([{"type": "location", "title": "t".repeat(101), "address": "a", "latitude": 35.0, "longitude": 139.0}]),
            "messages[0].title",
        ),
        (
            "location without address",
            json!([{"type": "location", "title": "t", "latitude": 35.0, "longitude": 139.0}]),
            "messages[0].address",
        ),
        (
            "template alt text over 400",
            json!([{"type": "template", "altText": "a".repeat(401), "template": {"type": "confirm", "text": "ok?", "actions": [
                {"type": "message", "label": "yes", "text": "yes"}, {"type": "message", "label": "no", "text": "no"}]}}]),
            "messages[0].altText",
        ),
        (
            "confirm with one action",
            json!([{"type": "template", "altText": "a", "template": {"type": "confirm", "text": "ok?", "actions": [
                {"type": "message", "label": "yes", "text": "yes"}]}}]),
            "messages[0].template.actions",
        ),
        (
            "buttons with five actions",
            json!([{"type": "template", "altText": "a", "template": {"type": "buttons", "text": "pick", "actions":
                (0..5).map(|i| json!({"type": "message", "label": format!("l{i}"), "text": "t"})).collect::<Vec<_>>()}}]),
            "messages[0].template.actions",
        ),
        (
            "template label over 20",
            json!([{"type": "template", "altText": "a", "template": {"type": "buttons", "text": "pick", "actions": [
                {"type": "message", "label": "l".repeat(21), "text": "t"}]}}]),
            "messages[0].template.actions[0].label",
        ),
        (
            "carousel columns with different action counts",
            json!([{"type": "template", "altText": "a", "template": {"type": "carousel", "columns": [
                {"text": "a", "actions": [{"type": "message", "label": "x", "text": "x"}]},
                {"text": "b", "actions": [{"type": "message", "label": "x", "text": "x"}, {"type": "message", "label": "y", "text": "y"}]}
            ]}}]),
            "messages[0].template.columns",
        ),
        (
            "quick reply with 14 items",
            json!([with_quick_reply(json!((0..14)
                .map(
                    |i| json!({"type": "action", "action": {"type": "message", "label": format!("l{i}"), "text": "t"}})
                )
                .collect::<Vec<_>>()))]),
            "messages[0].quickReply.items",
        ),
        (
            "quick reply camera without label",
            json!([with_quick_reply(
                json!([{"type": "action", "action": {"type": "camera"}}])
            )]),
            "messages[0].quickReply.items[0].action.label",
        ),
        (
            "quick reply label over 20",
            json!([with_quick_reply(
                json!([{"type": "action", "action": {"type": "message", "label": "l".repeat(21), "text": "t"}}])
            )]),
            "messages[0].quickReply.items[0].action.label",
        ),
        (
            "quick reply icon over http",
            json!([with_quick_reply(
                json!([{"type": "action", "imageUrl": "http://example.com/i.png", "action": {"type": "message", "label": "l", "text": "t"}}])
            )]),
            "messages[0].quickReply.items[0].imageUrl",
        ),
        (
            "quick reply item of another type",
            json!([with_quick_reply(
                json!([{"type": "button", "action": {"type": "message", "label": "l", "text": "t"}}])
            )]),
            "messages[0].quickReply.items[0].type",
        ),
        (
            "quick reply item without action",
            json!([with_quick_reply(json!([{"type": "action"}]))]),
            "messages[0].quickReply.items[0].action",
        ),
        (
            "rich-menu switch in a quick reply",
            json!([with_quick_reply(
                json!([{"type": "action", "action": {"type": "richmenuswitch", "label": "l", "richMenuAliasId": "a", "data": "d"}}])
            )]),
            "messages[0].quickReply.items[0].action.type",
        ),
        (
            "flex alt text over 1,500",
            json!([{"type": "flex", "altText": "a".repeat(1_501), "contents": bubble.clone()}]),
            "messages[0].altText",
        ),
        (
            "flex without alt text",
            json!([{"type": "flex", "contents": bubble.clone()}]),
            "messages[0].altText",
        ),
        (
            "flex contents neither bubble nor carousel",
            json!([flex(json!({"type": "box", "layout": "vertical", "contents": []}))]),
            "messages[0].contents.type",
        ),
        (
            "carousel of 13 bubbles",
            json!([flex(json!({"type": "carousel", "contents": vec![bubble.clone(); 13]}))]),
            "messages[0].contents.contents",
        ),
        (
            "carousel holding a box",
            json!([flex(
                json!({"type": "carousel", "contents": [{"type": "box", "layout": "vertical", "contents": []}]})
            )]),
            "messages[0].contents.contents[0].type",
        ),
        (
            "bubble over 30 KB",
            json!([bubble_body(json!([text(&filler)]))]),
            "messages[0].contents",
        ),
        (
            "bubble body that is not a box",
            json!([flex(json!({"type": "bubble", "body": text("x")}))]),
            "messages[0].contents.body.type",
        ),
        (
            "span directly in a box",
            json!([bubble_body(json!([{"type": "span", "text": "x"}]))]),
            "messages[0].contents.body.contents[0].type",
        ),
        (
            "icon in a vertical box",
            json!([bubble_body(
                json!([{"type": "icon", "url": "https://example.com/i.png"}])
            )]),
            "messages[0].contents.body.contents[0].type",
        ),
        (
            "video in a box",
            json!([bubble_body(
                json!([{"type": "video", "url": "https://example.com/v.mp4", "previewUrl": "https://example.com/p.png", "altContent": {"type": "image", "url": "https://example.com/p.png"}}])
            )]),
            "messages[0].contents.body.contents[0].type",
        ),
        (
            "button in a baseline box",
            json!([bubble_body(
                json!([{"type": "box", "layout": "baseline", "contents": [{"type": "button", "action": {"type": "message", "label": "l", "text": "t"}}]}])
            )]),
            "messages[0].contents.body.contents[0].contents[0].type",
        ),
        (
            "unknown component",
            json!([bubble_body(json!([{"type": "marquee"}]))]),
            "messages[0].contents.body.contents[0].type",
        ),
        (
            "text without text",
            json!([bubble_body(json!([{"type": "text", "wrap": true}]))]),
            "messages[0].contents.body.contents[0].text",
        ),
        (
            "span without text",
            json!([bubble_body(json!([{"type": "text", "contents": [{"type": "span"}]}]))]),
            "messages[0].contents.body.contents[0].contents[0].text",
        ),
        (
            "image without url",
            json!([flex(
                json!({"type": "bubble", "hero": {"type": "image", "size": "full"}})
            )]),
            "messages[0].contents.hero.url",
        ),
        (
            "image over http",
            json!([flex(
                json!({"type": "bubble", "hero": {"type": "image", "url": "http://example.com/a.png"}})
            )]),
            "messages[0].contents.hero.url",
        ),
        (
            "button without action",
            json!([flex(
                json!({"type": "bubble", "footer": {"type": "box", "layout": "vertical", "contents": [{"type": "button", "style": "primary"}]}})
            )]),
            "messages[0].contents.footer.contents[0].action",
        ),
        (
            "box without layout",
            json!([flex(json!({"type": "bubble", "body": {"type": "box", "contents": []}}))]),
            "messages[0].contents.body.layout",
        ),
        (
            "box without contents",
            json!([flex(
                json!({"type": "bubble", "body": {"type": "box", "layout": "vertical"}})
            )]),
            "messages[0].contents.body.contents",
        ),
        (
            "icon without url",
            json!([bubble_body(
                json!([{"type": "box", "layout": "baseline", "contents": [{"type": "icon", "size": "sm"}]}])
            )]),
            "messages[0].contents.body.contents[0].contents[0].url",
        ),
        (
            "linear gradient without angle",
            json!([flex(
                json!({"type": "bubble", "body": {"type": "box", "layout": "vertical", "contents": [],
                "background": {"type": "linearGradient", "startColor": "#000000", "endColor": "#ffffff"}}})
            )]),
            "messages[0].contents.body.background.angle",
        ),
        (
            "unknown layout",
            json!([flex(
                json!({"type": "bubble", "body": {"type": "box", "layout": "diagonal", "contents": []}})
            )]),
            "messages[0].contents.body.layout",
        ),
        (
            "unknown text size",
            json!([bubble_body(json!([{"type": "text", "text": "x", "size": "huge"}]))]),
            "messages[0].contents.body.contents[0].size",
        ),
        (
            "text size in points",
            json!([bubble_body(json!([{"type": "text", "text": "x", "size": "12pt"}]))]),
            "messages[0].contents.body.contents[0].size",
        ),
        (
            "unknown gravity",
            json!([bubble_body(json!([{"type": "text", "text": "x", "gravity": "middle"}]))]),
            "messages[0].contents.body.contents[0].gravity",
        ),
        (
            "unknown align",
            json!([bubble_body(json!([{"type": "text", "text": "x", "align": "left"}]))]),
            "messages[0].contents.body.contents[0].align",
        ),
        (
            "margin without a unit",
            json!([bubble_body(json!([{"type": "text", "text": "x", "margin": "12"}]))]),
            "messages[0].contents.body.contents[0].margin",
        ),
        (
            "colour by name",
            json!([bubble_body(json!([{"type": "text", "text": "x", "color": "red"}]))]),
            "messages[0].contents.body.contents[0].color",
        ),
        (
            "negative flex",
            json!([bubble_body(json!([{"type": "text", "text": "x", "flex": -1}]))]),
            "messages[0].contents.body.contents[0].flex",
        ),
        (
            "eleven animated images",
            json!([bubble_body(json!(vec![
                json!({"type": "image", "url": "https://example.com/a.png", "animated": true});
                11
            ]))]),
            "messages[0].contents",
        ),
        (
            "aspect ratio taller than 1:3",
            json!([flex(
                json!({"type": "bubble", "hero": {"type": "image", "url": "https://example.com/a.png", "aspectRatio": "1:4"}})
            )]),
            "messages[0].contents.hero.aspectRatio",
        ),
        (
            "aspect ratio not W:H",
            json!([flex(
                json!({"type": "bubble", "hero": {"type": "image", "url": "https://example.com/a.png", "aspectRatio": "16x9"}})
            )]),
            "messages[0].contents.hero.aspectRatio",
        ),
        (
            "aspect ratio over 100000",
            json!([flex(
                json!({"type": "bubble", "hero": {"type": "image", "url": "https://example.com/a.png", "aspectRatio": "100001:100000"}})
            )]),
            "messages[0].contents.hero.aspectRatio",
        ),
        (
            "uri action with an ftp uri",
            json!([button(
                json!({"type": "uri", "label": "go", "uri": "ftp://example.com/f"})
            )]),
            "messages[0].contents.footer.contents[0].action.uri",
        ),
        (
            "uri over 1,000 characters",
            json!([button(
                json!({"type": "uri", "label": "go", "uri": format!("https://example.com/{}", "a".repeat(1_000))})
            )]),
            "messages[0].contents.footer.contents[0].action.uri",
        ),
        (
            "flex label over 40",
            json!([button(json!({"type": "message", "label": "l".repeat(41), "text": "t"}))]),
            "messages[0].contents.footer.contents[0].action.label",
        ),
        (
            "postback data over 300",
            json!([button(
                json!({"type": "postback", "label": "go", "data": "d".repeat(301)})
            )]),
            "messages[0].contents.footer.contents[0].action.data",
        ),
        (
            "postback without data",
            json!([button(json!({"type": "postback", "label": "go"}))]),
            "messages[0].contents.footer.contents[0].action.data",
        ),
        (
            "message action without text",
            json!([button(json!({"type": "message", "label": "go"}))]),
            "messages[0].contents.footer.contents[0].action.text",
        ),
        (
            "camera action in a flex button",
            json!([button(json!({"type": "camera", "label": "go"}))]),
            "messages[0].contents.footer.contents[0].action.type",
        ),
        (
            "unknown action type",
            json!([button(json!({"type": "teleport", "label": "go"}))]),
            "messages[0].contents.footer.contents[0].action.type",
        ),
        (
            "datetime picker initial not in its mode's format",
            json!([button(
                json!({"type": "datetimepicker", "label": "go", "data": "d", "mode": "date", "initial": "2026-05-01T10:00"})
            )]),
            "messages[0].contents.footer.contents[0].action.initial",
        ),
        (
            "sender name over 20",
            json!([{"type": "text", "text": "hi", "sender": {"name": "n".repeat(21)}}]),
            "messages[0].sender.name",
        ),
    ]
}

#[tokio::test]
async fn each_rule_is_rejected_on_push_and_on_validate_with_lines_property_path() {
    let (emu, _) = start(EmulatorConfig::new().friends(1)).await;
    let to = emu.users()[0].user_id.clone();
    let mut failures = Vec::new();
    for (name, messages, property) in rejected_cases() {
        for (path, body) in [
            ("/v2/bot/message/push", json!({"to": to.as_str(), "messages": messages})),
            ("/v2/bot/message/validate/push", json!({"messages": messages})),
        ] {
            let (status, answer) = post(&emu, path, &body).await;
            let props = properties(&answer);
            let counted = answer["message"] == format!("The request body has {} error(s)", props.len());
            if status != 400 || !props.iter().any(|p| p == property) || !counted {
                failures.push(format!("{name} on {path}: {status} {answer}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "not rejected as expected:\n{}",
        failures.join("\n")
    );
    // Nothing was delivered and no quota was used by any of them.
    assert_eq!(emu.delivered_count(), 0);
    assert_eq!(emu.quota_consumption(), 0);
    assert!(emu.messages(&to).is_empty());
}

#[tokio::test]
async fn every_send_and_validate_endpoint_checks_the_messages() {
    let clock = line_core::clock::ManualClock::new("2026-05-01T00:00:00Z".parse::<jiff::Timestamp>().unwrap());
    let (emu, _) = start(
        EmulatorConfig::new()
            .friends(2)
            .monthly_quota(Some(100))
            .clock(std::sync::Arc::new(clock)),
    )
    .await;
    let users = emu.follower_ids();
    let reply_token = emu.issue_reply_token(&users[0]).unwrap();
    let bad = json!([bubble_body(json!([{"type": "image"}]))]);
    let property = "messages[0].contents.body.contents[0].url";
    let bodies = [
        (
            "/v2/bot/message/reply",
            json!({"replyToken": reply_token, "messages": bad}),
        ),
        (
            "/v2/bot/message/push",
            json!({"to": users[0].as_str(), "messages": bad}),
        ),
        (
            "/v2/bot/message/multicast",
            json!({"to": [users[0].as_str(), users[1].as_str()], "messages": bad}),
        ),
        ("/v2/bot/message/narrowcast", json!({"messages": bad})),
        ("/v2/bot/message/broadcast", json!({"messages": bad})),
        ("/v2/bot/message/validate/reply", json!({"messages": bad})),
        ("/v2/bot/message/validate/push", json!({"messages": bad})),
        ("/v2/bot/message/validate/multicast", json!({"messages": bad})),
        ("/v2/bot/message/validate/narrowcast", json!({"messages": bad})),
        ("/v2/bot/message/validate/broadcast", json!({"messages": bad})),
    ];
    for (path, body) in &bodies {
        let (status, answer) = post(&emu, path, body).await;
        assert_eq!(status, 400, "{path}: {answer}");
        assert_eq!(answer["message"], "The request body has 1 error(s)", "{path}");
        assert_eq!(answer["details"][0]["property"], property, "{path}");
        assert!(answer["details"][0]["message"].is_string(), "{path}");
    }
    assert_eq!(emu.delivered_count(), 0);
    assert_eq!(emu.quota_consumption(), 0);
    // The reply token was not used up by the rejected reply.
    let good = json!([text("hi")]);
    let (status, answer) = post(
        &emu,
        "/v2/bot/message/reply",
        &json!({"replyToken": reply_token, "messages": good}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
}

#[tokio::test]
async fn a_rejected_push_uses_no_quota_and_delivers_nothing() {
    let (emu, _) = start(EmulatorConfig::new().friends(1).monthly_quota(Some(1))).await;
    let to = emu.users()[0].user_id.clone();
    let bad = json!({"to": to.as_str(), "messages": [text("ok"), {"type": "image", "originalContentUrl": "http://example.com/a.png", "previewImageUrl": "https://example.com/p.png"}]});
    let (status, answer) = post(&emu, "/v2/bot/message/push", &bad).await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(properties(&answer), ["messages[1].originalContentUrl"]);
    assert!(emu.messages(&to).is_empty());
    assert_eq!(emu.quota_consumption(), 0);
    // The one message of quota is still there for a valid push.
    let (status, answer) = post(
        &emu,
        "/v2/bot/message/push",
        &json!({"to": to.as_str(), "messages": [text("ok")]}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(emu.messages(&to).len(), 1);
    assert_eq!(emu.quota_consumption(), 1);
}

#[tokio::test]
async fn what_line_accepts_passes() {
    let (emu, _) = start(EmulatorConfig::new().friends(1)).await;
    let to = emu.users()[0].user_id.clone();
    let ok = vec![
        json!({"type": "text", "text": "😀".repeat(2_500)}),
        json!({"type": "text", "text": "$ sale $", "emojis": [{"index": 0, "productId": "p", "emojiId": "001"}, {"index": 7, "productId": "p", "emojiId": "002"}]}),
        json!({"type": "textV2", "text": "hi {who} {smile}", "substitution": {"who": {"type": "mention", "mentionee": {"type": "all"}}, "smile": {"type": "emoji", "productId": "p", "emojiId": "001"}}}),
        json!({"type": "sticker", "packageId": "446", "stickerId": "1988"}),
        json!({"type": "location", "title": "t".repeat(100), "address": "a", "latitude": 35.65, "longitude": 139.7}),
        json!({"type": "template", "altText": "a".repeat(400), "template": {"type": "image_carousel", "columns": [
            {"imageUrl": "https://example.com/a.png", "action": {"type": "uri", "label": "l".repeat(12), "uri": "line://nv/location"}}]}}),
        with_quick_reply(json!([
            {"type": "action", "imageUrl": "https://example.com/i.png", "action": {"type": "camera", "label": "Camera"}},
            {"type": "action", "action": {"type": "location", "label": "Where"}},
            {"type": "action", "action": {"type": "datetimepicker", "label": "When", "data": "d", "mode": "datetime", "initial": "2026-05-01T10:00"}},
            {"type": "action", "action": {"type": "uri", "label": "Call", "uri": "tel:0312345678"}},
            {"action": {"type": "postback", "label": "No type", "data": "", "displayText": "ok"}}
        ])),
        flex(
            json!({"type": "bubble", "size": "deca", "hero": {"type": "image", "url": "https://example.com/a.png", "size": "50%", "aspectRatio": "1.91:1"},
            "body": {"type": "box", "layout": "vertical", "paddingAll": "5%", "offsetTop": "-4px", "contents": [
                {"type": "text", "contents": [{"type": "span", "text": "a", "size": "14px"}]},
                {"type": "box", "layout": "baseline", "contents": [{"type": "icon", "url": "https://example.com/i.png"}, {"type": "text", "text": "b"}]}
            ]}}),
        ),
    ];
    for (i, m) in ok.into_iter().enumerate() {
        let (status, answer) = post(&emu, "/v2/bot/message/validate/push", &json!({"messages": [m.clone()]})).await;
        assert_eq!(status, 200, "message {i}: {answer}");
        let (status, answer) = post(
            &emu,
            "/v2/bot/message/push",
            &json!({"to": to.as_str(), "messages": [m]}),
        )
        .await;
        assert_eq!(status, 200, "message {i}: {answer}");
    }
}

#[tokio::test]
async fn the_flex_documents_of_lines_sdk_tests_are_accepted() {
    let (emu, _) = start(EmulatorConfig::new().friends(1)).await;
    let to = emu.users()[0].user_id.clone();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/flex");
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert_eq!(files.len(), 24);
    for file in &files {
        let doc: Value = serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
        let message = if doc["type"] == "flex" { doc } else { flex(doc) };
        for (path, body) in [
            ("/v2/bot/message/validate/push", json!({"messages": [message]})),
            (
                "/v2/bot/message/push",
                json!({"to": to.as_str(), "messages": [message]}),
            ),
        ] {
            let (status, answer) = post(&emu, path, &body).await;
            assert_eq!(status, 200, "{} on {path}: {answer}", file.display());
        }
    }
    assert_eq!(emu.messages(&to).len(), 24);
}
