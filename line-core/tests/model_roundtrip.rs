//! The wire model parses and re-serializes to the same JSON value, keeps what
//! it does not know, and exposes typed variants.

use line_core::model::*;
use serde_json::{json, Value};

fn round_trip<T: serde::de::DeserializeOwned + serde::Serialize>(v: Value) -> T {
    let typed: T = serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("{e}: {v}"));
    let back = serde_json::to_value(&typed).unwrap();
    assert_eq!(back, v, "round trip changed the JSON");
    // and from text, through the streaming path
    let typed2: T = serde_json::from_str(&v.to_string()).unwrap();
    assert_eq!(serde_json::to_value(&typed2).unwrap(), v);
    typed
}

fn quick_reply() -> Value {
    json!({"items": [
        {"type": "action", "imageUrl": "https://example.com/a.png", "action": {"type": "message", "label": "Yes", "text": "yes"}},
        {"type": "action", "action": {"type": "camera", "label": "Camera"}},
        {"type": "action", "action": {"type": "cameraRoll", "label": "Roll"}},
        {"type": "action", "action": {"type": "location", "label": "Where"}},
        {"type": "action", "action": {"type": "postback", "label": "Buy", "data": "a=1", "displayText": "Buy", "inputOption": "openKeyboard", "fillInText": "x"}},
        {"type": "action", "action": {"type": "datetimepicker", "label": "When", "data": "d", "mode": "datetime", "initial": "2026-11-25T10:00", "max": "2026-12-31T23:59", "min": "2026-11-25T00:00"}},
        {"type": "action", "action": {"type": "uri", "label": "Shop", "uri": "https://shop.example", "altUri": {"desktop": "https://shop.example/pc"}}},
        {"type": "action", "action": {"type": "clipboard", "label": "Copy", "clipboardText": "COUPON10"}},
        {"type": "action", "action": {"type": "richmenuswitch", "label": "Tab", "richMenuAliasId": "tab-2", "data": "tab=2"}}
    ]})
}

#[test]
fn all_eleven_message_kinds_round_trip() {
    let messages = json!([
        {"type": "text", "text": "Hello $", "emojis": [{"index": 6, "productId": "5ac1bfd5040ab15980c9b435", "emojiId": "001"}],
         "quoteToken": "q", "quickReply": quick_reply(), "sender": {"name": "Cony", "iconUrl": "https://example.com/c.png"}},
        {"type": "textV2", "text": "Hi {user}! {laugh}", "substitution": {
            "user": {"type": "mention", "mentionee": {"type": "user", "userId": "U123"}},
            "laugh": {"type": "emoji", "productId": "5a8555cfe6256cc92ea23c2a", "emojiId": "002"},
            "all": {"type": "mention", "mentionee": {"type": "all"}}}},
        {"type": "sticker", "packageId": "446", "stickerId": "1988"},
        {"type": "image", "originalContentUrl": "https://example.com/o.jpg", "previewImageUrl": "https://example.com/p.jpg"},
        {"type": "video", "originalContentUrl": "https://example.com/v.mp4", "previewImageUrl": "https://example.com/p.jpg", "trackingId": "t1"},
        {"type": "audio", "originalContentUrl": "https://example.com/a.m4a", "duration": 60000},
        {"type": "location", "title": "Shop", "address": "Tokyo", "latitude": 35.65910807942215, "longitude": 139.70372892916203},
        {"type": "imagemap", "baseUrl": "https://example.com/im", "altText": "map", "baseSize": {"width": 1040, "height": 1040},
         "video": {"originalContentUrl": "https://example.com/v.mp4", "previewImageUrl": "https://example.com/p.jpg",
                   "area": {"x": 0, "y": 0, "width": 1040, "height": 585},
                   "externalLink": {"linkUri": "https://example.com", "label": "See"}},
         "actions": [{"type": "uri", "linkUri": "https://example.com", "area": {"x": 0, "y": 586, "width": 520, "height": 454}},
                     {"type": "message", "text": "Hi", "area": {"x": 520, "y": 586, "width": 520, "height": 454}},
                     {"type": "clipboard", "clipboardText": "X", "area": {"x": 0, "y": 0, "width": 1, "height": 1}}]},
        {"type": "template", "altText": "buttons", "template": {"type": "buttons", "text": "Pick", "title": "Menu",
         "thumbnailImageUrl": "https://example.com/t.jpg", "imageAspectRatio": "rectangle", "imageSize": "cover",
         "defaultAction": {"type": "uri", "label": "View", "uri": "https://example.com"},
         "actions": [{"type": "postback", "label": "Buy", "data": "buy"}]}},
        {"type": "template", "altText": "confirm", "template": {"type": "confirm", "text": "Sure?",
         "actions": [{"type": "message", "label": "Yes", "text": "yes"}, {"type": "message", "label": "No", "text": "no"}]}},
        {"type": "template", "altText": "carousel", "template": {"type": "carousel", "columns": [
            {"text": "A", "actions": [{"type": "uri", "label": "Go", "uri": "https://example.com"}]}]}},
        {"type": "template", "altText": "images", "template": {"type": "image_carousel", "columns": [
            {"imageUrl": "https://example.com/i.jpg", "action": {"type": "uri", "label": "Go", "uri": "https://example.com"}}]}},
        {"type": "flex", "altText": "coupon", "contents": {"type": "bubble", "body": {"type": "box", "layout": "vertical",
            "contents": [{"type": "text", "text": "10% off", "weight": "bold", "size": "xl"}]}}},
        {"type": "coupon", "couponId": "01JYNW8JMQVFBNWF6APF8Z3FM8"}
    ]);
    let parsed: Vec<Message> = round_trip(messages.clone());
    let kinds: Vec<&str> = parsed.iter().map(Message::kind).collect();
    assert_eq!(
        kinds,
        [
            "text", "textV2", "sticker", "image", "video", "audio", "location", "imagemap", "template", "template",
            "template", "template", "flex", "coupon"
        ]
    );
    assert!(parsed.iter().all(|m| !m.is_unknown()));
    let Message::Text(text) = &parsed[0] else {
        panic!("text")
    };
    let items = text.quick_reply.as_ref().unwrap().items.as_ref().unwrap();
    assert_eq!(items.len(), 9);
    let actions: Vec<&str> = items.iter().map(|i| i.action.as_ref().unwrap().kind()).collect();
    assert_eq!(
        actions,
        [
            "message",
            "camera",
            "cameraRoll",
            "location",
            "postback",
            "datetimepicker",
            "uri",
            "clipboard",
            "richmenuswitch"
        ]
    );
    assert!(matches!(items[8].action, Some(Action::Richmenuswitch(_))));
    let Message::TextV2(v2) = &parsed[1] else {
        panic!("textV2")
    };
    assert!(matches!(
        v2.substitution.as_ref().unwrap()["user"],
        SubstitutionObject::Mention(_)
    ));
}

#[test]
fn unknown_kinds_values_and_properties_survive() {
    let v = json!([
        {"type": "hologram", "depth": 3, "nested": {"a": [1, 2]}},
        {"type": "text", "text": "hi", "futureProperty": {"x": true}, "quoteToken": null},
        {"type": "template", "altText": "x", "template": {"type": "spiral", "text": "t"}}
    ]);
    let parsed: Vec<Message> = round_trip(v);
    match &parsed[0] {
        Message::Unknown { kind, raw } => {
            assert_eq!(kind, "hologram");
            assert_eq!(raw["depth"], json!(3));
        }
        other => panic!("expected unknown, got {other:?}"),
    }
    let Message::Text(t) = &parsed[1] else { panic!() };
    assert_eq!(t.extra["futureProperty"], json!({"x": true}));
    assert_eq!(t.quote_token, None);
    let Message::Template(tm) = &parsed[2] else { panic!() };
    assert_eq!(tm.template.kind(), "spiral");
    assert!(tm.template.is_unknown());
    let status: AudienceGroupStatus = serde_json::from_value(json!("ARCHIVED_FOREVER")).unwrap();
    assert_eq!(status, AudienceGroupStatus::Unknown("ARCHIVED_FOREVER".into()));
    assert_eq!(serde_json::to_value(&status).unwrap(), json!("ARCHIVED_FOREVER"));
}

#[test]
fn the_tag_may_come_anywhere_in_the_object() {
    let v = json!({"text": "late tag", "quoteToken": "q", "type": "text"});
    let m: Message = serde_json::from_str(&v.to_string()).unwrap();
    let Message::Text(t) = &m else { panic!("{m:?}") };
    assert_eq!(t.text, "late tag");
    assert_eq!(t.quote_token.as_deref(), Some("q"));
}

#[test]
fn missing_required_fields_and_wrong_types_name_the_place() {
    let e = line_core::error::from_json_slice::<PushMessageRequest>(br#"{"to":"U1","messages":[{"type":"text"}]}"#)
        .unwrap_err();
    assert!(
        e.to_string().contains("/messages/0") && e.to_string().contains("text"),
        "{e}"
    );
    let e = line_core::error::from_json_slice::<PushMessageRequest>(
        br#"{"to":"U1","messages":[{"type":"sticker","packageId":1,"stickerId":"2"}]}"#,
    )
    .unwrap_err();
    assert!(e.to_string().contains("/messages/0/packageId"), "{e}");
    let e = line_core::error::from_json_slice::<Message>(br#"{"text":"no tag"}"#).unwrap_err();
    assert!(e.to_string().contains("type"), "{e}");
}

#[test]
fn narrowcast_recipient_filter_and_limit() {
    let v = json!({
        "messages": [{"type": "text", "text": "Sale"}],
        "recipient": {"type": "operator", "and": [
            {"type": "audience", "audienceGroupId": 5614991017776_i64},
            {"type": "operator", "not": {"type": "redelivery", "requestId": "5b59509c-c57b-11e9-aa8c-2a2ae2dbcce4"}}
        ]},
        "filter": {"demographic": {"type": "operator", "or": [
            {"type": "gender", "oneOf": ["female"]},
            {"type": "age", "gte": "age_20", "lt": "age_40"},
            {"type": "area", "oneOf": ["jp_13", "jp_27"]},
            {"type": "appType", "oneOf": ["ios"]},
            {"type": "subscriptionPeriod", "gte": "day_7", "lt": "day_90"}
        ]}},
        "limit": {"max": 1000, "upToRemainingQuota": true, "forbidPartialDelivery": false},
        "notificationDisabled": false
    });
    let req: NarrowcastRequest = round_trip(v);
    let Some(Recipient::Operator(op)) = &req.recipient else {
        panic!()
    };
    assert!(matches!(op.and.as_ref().unwrap()[0], Recipient::Audience(_)));
    let demo = req.filter.as_ref().unwrap().demographic.as_ref().unwrap();
    let DemographicFilter::Operator(or) = demo else {
        panic!()
    };
    assert_eq!(or.or.as_ref().unwrap().len(), 5);
    assert_eq!(req.limit.as_ref().unwrap().max, Some(1000));
}

#[test]
fn rich_menu_and_audience_objects() {
    let menu = json!({"richMenuId": "richmenu-1", "size": {"width": 2500, "height": 1686}, "selected": false,
        "name": "linked", "chatBarText": "Menu",
        "areas": [{"bounds": {"x": 0, "y": 0, "width": 1250, "height": 1686},
                   "action": {"type": "richmenuswitch", "richMenuAliasId": "unlinked", "data": "switch"}}]});
    let _: RichMenuResponse = round_trip(menu);
    let batch = json!({"operations": [
        {"type": "link", "from": "richmenu-1", "to": "richmenu-2"},
        {"type": "unlink", "from": "richmenu-2"},
        {"type": "unlinkAll"}], "resumeRequestKey": "k"});
    let b: RichMenuBatchRequest = round_trip(batch);
    assert_eq!(b.operations.len(), 3);
    let audience = json!({"audienceGroup": {"audienceGroupId": 1, "type": "UPLOAD", "description": "vip",
        "status": "READY", "audienceCount": 1500, "created": 1613698278, "permission": "READ_WRITE",
        "createRoute": "MESSAGING_API", "isIfaAudience": false, "expireTimestamp": 1629250278},
        "jobs": [{"audienceGroupJobId": 2, "audienceGroupId": 1, "description": "add", "type": "DIFF_ADD",
                  "jobStatus": "FINISHED", "audienceCount": 10, "created": 1613698278}]});
    let a: GetAudienceDataResponse = round_trip(audience);
    assert_eq!(a.audience_group.unwrap().status, Some(AudienceGroupStatus::Ready));
}

#[test]
fn constructors_build_what_line_expects() {
    let req = PushMessageRequest::new(
        "U1",
        vec![TextMessage::new("Hi").into(), StickerMessage::new("446", "1988").into()],
    );
    assert_eq!(
        serde_json::to_value(&req).unwrap(),
        json!({"to": "U1", "messages": [{"type": "text", "text": "Hi"}, {"type": "sticker", "packageId": "446", "stickerId": "1988"}]})
    );
}

#[test]
fn properties_before_a_late_tag_survive_for_known_and_unknown_kinds() {
    // Sorted keys put "type" after the typed common properties (quickReply, sender).
    let unknown = json!({"quickReply": {"items": []}, "sender": {"name": "A"}, "type": "hologram", "zzz": 1});
    let m: Message = round_trip(unknown);
    assert!(m.is_unknown());
    // An unfollow event carries no replyToken; one that arrives before the tag is kept as JSON.
    let event = json!({"mode": "active", "replyToken": "r", "source": {"type": "user", "userId": "U1"},
                       "timestamp": 1, "type": "unfollow", "webhookEventId": "01H"});
    let e: line_core::webhook::Event = round_trip(event);
    let line_core::webhook::Event::Unfollow(u) = &e else {
        panic!("{e:?}")
    };
    assert_eq!(u.extra["replyToken"], json!("r"));
    assert_eq!(e.webhook_event_id().as_deref().map(String::as_str), Some("01H"));
}

fn membership(limit: Value) -> Value {
    json!({
        "membershipId": 3189, "title": "Premium", "description": "All the perks",
        "benefits": ["Early access", "Monthly coupon"], "price": 500.0, "currency": "JPY",
        "memberCount": 12, "memberLimit": limit, "isInAppPurchase": true, "isPublished": true
    })
}

/// `Membership.memberLimit` is required and nullable: a plan with no member cap
/// sends `null`, which must parse and be written back as `null`.
#[test]
fn a_required_nullable_field_keeps_its_null() {
    let list: MembershipListResponse =
        round_trip(json!({"memberships": [membership(Value::Null), membership(json!(1000))]}));
    assert_eq!(list.memberships[0].member_limit, None);
    assert_eq!(list.memberships[1].member_limit, Some(1000));

    // Built in code, `None` is written as `null`, never left out.
    let plan = Membership::new(
        1,
        "t",
        "d",
        vec!["b".to_owned()],
        1.5,
        MembershipCurrency::Jpy,
        0,
        None,
        false,
        true,
    );
    let json = serde_json::to_value(&plan).unwrap();
    assert_eq!(json.get("memberLimit"), Some(&Value::Null));
    let capped = Membership::new(
        1,
        "t",
        "d",
        vec!["b".to_owned()],
        1.5,
        MembershipCurrency::Jpy,
        0,
        30,
        false,
        true,
    );
    assert_eq!(serde_json::to_value(&capped).unwrap()["memberLimit"], 30);

    // Still required: a missing key is an error that names it.
    let mut missing = membership(Value::Null);
    missing.as_object_mut().unwrap().remove("memberLimit");
    let err = serde_json::from_value::<Membership>(missing).unwrap_err();
    assert!(err.to_string().contains("memberLimit"), "{err}");
}

/// Every optional nullable property of the specs (insight statistics and the
/// rich-menu insight period) and the nullable `failedType` enum accept `null`
/// and write it back.
#[test]
fn optional_nullable_fields_accept_null() {
    let overview = json!({"requestId": "r", "timestamp": 1, "delivered": 5,
        "uniqueImpression": null, "uniqueClick": null, "uniqueMediaPlayed": null, "uniqueMediaPlayed100Percent": null});
    let message = json!({"seq": 1, "impression": null, "mediaPlayed": null, "mediaPlayed25Percent": null,
        "mediaPlayed50Percent": null, "mediaPlayed75Percent": null, "mediaPlayed100Percent": null,
        "uniqueMediaPlayed": null, "uniqueMediaPlayed25Percent": null, "uniqueMediaPlayed50Percent": null,
        "uniqueMediaPlayed75Percent": null, "uniqueMediaPlayed100Percent": null});
    let click = json!({"seq": 1, "url": "https://example.com", "click": null, "uniqueClick": null, "uniqueClickOfRequest": null});
    let event: GetMessageEventResponse =
        round_trip(json!({"overview": overview, "messages": [message], "clicks": [click]}));
    let overview = event.overview.unwrap();
    assert_eq!((overview.unique_impression, overview.unique_click), (None, None));

    let unit_overview = json!({"uniqueImpression": null, "uniqueClick": null, "uniqueMediaPlayed": null, "uniqueMediaPlayed100Percent": null});
    let unit_message = json!({"seq": 1, "impression": null, "mediaPlayed": null,
        "mediaPlayed25Percent": null, "mediaPlayed50Percent": null, "mediaPlayed75Percent": null, "mediaPlayed100Percent": null,
        "uniqueImpression": null, "uniqueMediaPlayed": null, "uniqueMediaPlayed25Percent": null, "uniqueMediaPlayed50Percent": null,
        "uniqueMediaPlayed75Percent": null, "uniqueMediaPlayed100Percent": null});
    let unit_click = json!({"seq": 1, "url": "https://example.com", "click": null, "uniqueClick": null, "uniqueClickOfRequest": null});
    let unit: GetStatisticsPerUnitResponse =
        round_trip(json!({"overview": unit_overview, "messages": [unit_message], "clicks": [unit_click]}));
    assert_eq!(unit.messages[0].impression, None);

    let summary: GetRichMenuInsightSummaryResponse =
        round_trip(json!({"richMenuId": "richmenu-1", "metricsFrom": null, "metricsTo": null}));
    assert_eq!(summary.metrics_from, None);
    let daily: GetRichMenuInsightDailyResponse =
        round_trip(json!({"richMenuId": "richmenu-1", "metricsFrom": null, "metricsTo": null}));
    assert_eq!(daily.metrics_to, None);

    let audience: AudienceGroup = round_trip(json!({"audienceGroupId": 4, "type": "UPLOAD", "failedType": null}));
    assert_eq!(audience.failed_type, None);
}
