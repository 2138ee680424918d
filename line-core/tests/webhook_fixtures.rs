//! Webhook bodies from the official SDKs parse into the typed model and
//! serialize back to the same JSON value; every event type, message content
//! type and source type is checked field by field.

use std::path::PathBuf;

use line_core::webhook::event::{
    BeaconContentType, ContentProviderType, DetachedModuleContentReason, EventMode, LinkContentResult,
    MembershipContent, Mentionee, MessageContent, ModuleContent, Source, StickerMessageContentStickerResourceType,
};
use line_core::webhook::{parse, CallbackRequest, Event};
use line_core::ErrorKind;
use serde_json::{json, Value};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/webhook")
}

fn bytes(name: &str) -> Vec<u8> {
    std::fs::read(dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn load(name: &str) -> CallbackRequest {
    parse(&bytes(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn one(name: &str) -> Event {
    let mut req = load(name);
    assert_eq!(req.events.len(), 1, "{name}");
    req.events.remove(0)
}

fn pointer_of(body: &[u8]) -> String {
    match parse(body).expect_err("expected a parse error").kind() {
        ErrorKind::Parse { pointer, .. } => pointer.clone(),
        k => panic!("unexpected {k:?}"),
    }
}

fn assert_round_trip(body: &[u8]) -> CallbackRequest {
    let input: Value = serde_json::from_slice(body).unwrap();
    let req = parse(body).unwrap_or_else(|e| panic!("{e}\n{input:#}"));
    assert_eq!(serde_json::to_value(&req).unwrap(), input);
    req
}

fn user_id(source: &Source) -> Option<&str> {
    match source {
        Source::User(u) => u.user_id.as_ref().map(|u| u.as_str()),
        Source::Group(g) => g.user_id.as_ref().map(|u| u.as_str()),
        Source::Room(r) => r.user_id.as_ref().map(|u| u.as_str()),
        _ => None,
    }
}

#[test]
fn every_fixture_round_trips() {
    let mut names = Vec::new();
    let mut failures = Vec::new();
    for entry in std::fs::read_dir(dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let input: Value = serde_json::from_slice(&bytes).unwrap();
        match parse(&bytes) {
            Ok(req) => {
                let output = serde_json::to_value(&req).unwrap();
                if output != input {
                    failures.push(format!("{}: round trip differs:\n{output:#}", path.display()));
                }
                // Parsing the output again gives the same typed value.
                let again = parse(&serde_json::to_vec(&req).unwrap()).unwrap();
                if again != req {
                    failures.push(format!("{}: second parse differs", path.display()));
                }
            }
            Err(e) => failures.push(format!("{}: {e}", path.display())),
        }
        names.push(path.file_name().unwrap().to_string_lossy().into_owned());
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(names.len(), 29, "{names:?}");
}

#[test]
fn many_events_v3_parses_whole() {
    let req = load("many-events-v3.json");
    let kinds: Vec<&str> = req.events.iter().map(Event::kind).collect();
    assert_eq!(
        kinds,
        [
            "message",
            "message",
            "message",
            "message",
            "message",
            "message",
            "follow",
            "unfollow",
            "join",
            "leave",
            "postback",
            "beacon",
            "beacon",
            "accountLink",
            "message",
            "message",
            "postback",
            "postback",
            "postback",
            "memberJoined",
            "memberLeft",
            "message",
            "unsend",
            "videoPlayComplete",
            "message",
            "message",
            "messageEdited",
            "undefined",
        ]
    );
    // Every event carries the ids the v3 SDK test puts in.
    for (i, e) in req.events.iter().enumerate() {
        assert_eq!(
            e.webhook_event_id().as_deref().map(String::as_str),
            Some("testwebhookeventid"),
            "event {i}"
        );
        let redelivered = e.delivery_context().map(|c| c.is_redelivery);
        assert_eq!(redelivered, Some(i == 25 || i == 27), "event {i}");
        assert!(e.source().is_some(), "event {i}");
        assert!(e.timestamp().is_some(), "event {i}");
    }
    let contents: Vec<&str> = req
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Message(m) => Some(m.message.kind()),
            _ => None,
        })
        .collect();
    assert_eq!(
        contents,
        ["text", "image", "video", "audio", "location", "sticker", "text", "text", "file", "image", "text"]
    );
    assert!(matches!(&req.events[3], Event::Message(m) if matches!(m.message, MessageContent::Audio(_))));
    assert!(matches!(&req.events[1], Event::Message(m) if matches!(m.source, Some(Source::Room(_)))));
    assert!(matches!(&req.events[26], Event::MessageEdited(_)));
    match &req.events[27] {
        Event::Unknown { kind, raw } => {
            assert_eq!(kind, "undefined");
            assert_eq!(raw.get("type"), Some(json!("undefined")));
        }
        e => panic!("expected an unknown event, got {e:?}"),
    }
    assert!(req.events[27].is_unknown());
    assert_eq!(req.events.iter().filter(|e| e.is_unknown()).count(), 1);
}

#[test]
fn text_messages_from_user_group_and_room() {
    match one("text-user.json") {
        Event::Message(m) => {
            let MessageContent::Text(t) = &m.message else {
                panic!("{:?}", m.message)
            };
            assert_eq!(t.text, "Hello, world");
            assert_eq!(t.id, "325708");
            assert!(matches!(m.source, Some(Source::User(_))));
            assert_eq!(
                user_id(m.source.as_ref().unwrap()),
                Some("u206d25c2ea6bd87c17655609a1c37cb8")
            );
            assert_eq!(m.reply_token.as_deref(), Some("nHuyWiB7yP5Zw52FIkcQobQuGDXCTA"));
            assert_eq!(m.timestamp, 1462629479859);
            assert_eq!(m.webhook_event_id, None);
            assert_eq!(m.delivery_context, None);
        }
        e => panic!("{e:?}"),
    }
    match one("text-group.json") {
        Event::Message(m) => {
            assert_eq!(m.mode, Some(EventMode::Standby));
            match m.source {
                Some(Source::Group(g)) => {
                    assert_eq!(g.group_id.as_str(), "u206d25c2ea6bd87c17655609a1c37cb8");
                    assert_eq!(g.user_id, None);
                }
                s => panic!("{s:?}"),
            }
        }
        e => panic!("{e:?}"),
    }
    let req = load("many-events-v3.json");
    match &req.events[15] {
        Event::Message(m) => match &m.source {
            Some(Source::Room(r)) => {
                assert!(!r.room_id.as_str().is_empty());
                assert!(r.user_id.is_some());
            }
            s => panic!("{s:?}"),
        },
        e => panic!("{e:?}"),
    }
}

#[test]
fn text_with_emojis_and_mentions() {
    let Event::Message(m) = one("text-mention.json") else {
        panic!()
    };
    let MessageContent::Text(t) = m.message else { panic!() };
    let mentionees = t.mention.expect("mention").mentionees;
    assert_eq!(mentionees.len(), 2);
    match &mentionees[0] {
        Mentionee::User(u) => {
            assert_eq!((u.index, u.length), (13, 6));
            assert_eq!(
                u.user_id.as_ref().map(|u| u.as_str()),
                Some("U12345678901234567890123456780")
            );
        }
        m => panic!("{m:?}"),
    }
    assert!(matches!(mentionees[1], Mentionee::All(_)));

    let Event::Message(m) = one("text-emojis.json") else {
        panic!()
    };
    let MessageContent::Text(t) = m.message else { panic!() };
    let emojis = t.emojis.expect("emojis");
    assert!(!emojis.is_empty());
    assert!(emojis
        .iter()
        .all(|e| !e.product_id.is_empty() && !e.emoji_id.is_empty()));
}

#[test]
fn media_location_and_sticker_contents() {
    let Event::Message(m) = one("image.json") else { panic!() };
    match m.message {
        MessageContent::Image(i) => {
            assert_eq!(i.content_provider.kind, ContentProviderType::External);
            assert_eq!(
                i.content_provider.original_content_url.as_deref(),
                Some("https://example.com/original.jpg")
            );
        }
        c => panic!("{c:?}"),
    }
    let Event::Message(m) = one("video.json") else { panic!() };
    assert!(matches!(m.message, MessageContent::Video(_)), "{:?}", m.message);
    let Event::Message(m) = one("file.json") else { panic!() };
    match m.message {
        MessageContent::File(f) => {
            assert_eq!(f.file_name, "sample.pdf");
            assert_eq!(f.file_size, 22016);
        }
        c => panic!("{c:?}"),
    }
    let Event::Message(m) = one("location.json") else {
        panic!()
    };
    match m.message {
        MessageContent::Location(l) => {
            assert_eq!(l.title.as_deref(), Some("hello"));
            let (lat, long) = (l.latitude.as_f64().unwrap(), l.longitude.as_f64().unwrap());
            assert!((lat - 35.659108).abs() < 1e-6, "{lat}");
            assert!((long - 139.703729).abs() < 1e-6, "{long}");
            assert!(l.address.unwrap().contains("東京都"));
        }
        c => panic!("{c:?}"),
    }
    let Event::Message(m) = one("sticker.json") else {
        panic!()
    };
    match m.message {
        MessageContent::Sticker(s) => {
            assert_eq!((s.package_id.as_str(), s.sticker_id.as_str()), ("1", "1"));
            assert_eq!(
                s.sticker_resource_type,
                StickerMessageContentStickerResourceType::Static
            );
            assert_eq!(s.keywords.unwrap(), ["bed", "sleep", "bedtime"]);
        }
        c => panic!("{c:?}"),
    }
    for name in [
        "sticker-with-text.json",
        "sticker-keywords-array.json",
        "sticker-keywords-remove.json",
    ] {
        let Event::Message(m) = one(name) else { panic!("{name}") };
        assert!(matches!(m.message, MessageContent::Sticker(_)), "{name}");
    }
    let req = load("many-events-v3.json");
    let Event::Message(m) = &req.events[3] else { panic!() };
    match &m.message {
        MessageContent::Audio(a) => {
            assert_eq!(a.content_provider.kind, ContentProviderType::External);
            assert_eq!(a.duration, Some(60000));
        }
        c => panic!("{c:?}"),
    }
    let Event::Message(m) = &req.events[24] else { panic!() };
    match &m.message {
        MessageContent::Image(i) => {
            assert_eq!(i.content_provider.kind, ContentProviderType::Line);
            assert_eq!(i.image_set.as_ref().map(|s| s.id.as_str()), Some("E005D41A7288F41B655"));
        }
        c => panic!("{c:?}"),
    }
}

#[test]
fn unknown_fixture_keeps_the_raw_json() {
    let body = bytes("unknown.json");
    let input: Value = serde_json::from_slice(&body).unwrap();
    let req = load("unknown.json");
    assert_eq!(req.events.len(), 2);
    match &req.events[0] {
        Event::Unknown { kind, raw } => {
            assert_eq!(kind, "greatNewFeature");
            assert_eq!(&Value::Object(raw.to_map()), &input["events"][0]);
        }
        e => panic!("{e:?}"),
    }
    // The common properties still read through the accessors.
    let e = &req.events[0];
    assert_eq!(e.kind(), "greatNewFeature");
    assert!(e.is_unknown());
    assert_eq!(e.timestamp().as_deref(), Some(&1462629479859));
    assert_eq!(e.mode().as_deref(), Some(&EventMode::Active));
    assert_eq!(
        e.source().as_deref().and_then(user_id),
        Some("U012345678901234567890123456789ab")
    );
    assert_eq!(e.webhook_event_id(), None);

    // A known event type with an unknown source and an unknown message type.
    match &req.events[1] {
        Event::Message(m) => {
            assert!(!req.events[1].is_unknown());
            match &m.source {
                Some(Source::Unknown { kind, raw }) => {
                    assert_eq!(kind, "unknownunknownuknown");
                    assert_eq!(&Value::Object(raw.to_map()), &input["events"][1]["source"]);
                }
                s => panic!("{s:?}"),
            }
            match &m.message {
                MessageContent::Unknown { kind, raw } => {
                    assert_eq!(kind, "unknownunknownuknown");
                    assert_eq!(raw.get("unknown"), Some(json!("blah blah")));
                    assert_eq!(raw.get("id"), Some(json!("325708")));
                }
                c => panic!("{c:?}"),
            }
        }
        e => panic!("{e:?}"),
    }
    assert_eq!(serde_json::to_value(&req).unwrap(), input);
}

#[test]
fn message_edited_parses_as_message_edited() {
    match one("message-edited.json") {
        Event::MessageEdited(m) => {
            assert_eq!(m.webhook_event_id.as_deref(), Some("01G2KZKG2DS765NMRH3GZFD8AP"));
            assert_eq!(m.delivery_context.as_ref().map(|c| c.is_redelivery), Some(false));
            assert!(matches!(&m.source, Some(Source::Group(g)) if g.user_id.is_some()));
            match &m.message {
                MessageContent::Text(t) => assert_eq!(t.text, "Hello, edited world"),
                c => panic!("{c:?}"),
            }
        }
        e => panic!("{e:?}"),
    }
}

#[test]
fn redelivery_is_visible() {
    let e = one("webhook-redelivery.json");
    assert_eq!(
        e.webhook_event_id().as_deref().map(String::as_str),
        Some("01G2KZKG2DS765NMRH3GZFD8AP")
    );
    assert!(e.delivery_context().unwrap().is_redelivery);
}

#[test]
fn lifecycle_and_group_events() {
    let e = one("follow.json");
    assert!(
        matches!(&e, Event::Follow(f) if f.reply_token == "nHuyWiB7yP5Zw52FIkcQobQuGDXCTA"),
        "{e:?}"
    );
    assert!(matches!(one("unfollow.json"), Event::Unfollow(_)));
    match one("join.json") {
        Event::Join(j) => assert!(matches!(j.source, Some(Source::Group(_)))),
        e => panic!("{e:?}"),
    }
    match one("leave.json") {
        Event::Leave(l) => match l.source {
            Some(Source::Group(g)) => assert_eq!(g.group_id.as_str(), "cxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"),
            s => panic!("{s:?}"),
        },
        e => panic!("{e:?}"),
    }
    match one("member_joined.json") {
        Event::MemberJoined(m) => {
            assert_eq!(m.reply_token, "REPLYTOKEN12345");
            assert_eq!(m.joined.members.len(), 1);
            assert_eq!(user_id(&m.joined.members[0]), Some("U111111"));
            assert!(matches!(m.joined.members[0], Source::User(_)));
        }
        e => panic!("{e:?}"),
    }
    match one("member_left.json") {
        Event::MemberLeft(m) => assert_eq!(m.left.members.len(), 1),
        e => panic!("{e:?}"),
    }
    match one("unsend.json") {
        Event::Unsend(u) => assert_eq!(u.unsend.message_id, "325708"),
        e => panic!("{e:?}"),
    }
}

#[test]
fn postback_beacon_video_and_account_link_events() {
    match one("postback.json") {
        Event::Postback(p) => {
            assert_eq!(p.postback.data, "action=buyItem&itemId=123123&color=red");
            assert_eq!(p.postback.params.map(|m| m.len()), Some(0));
        }
        e => panic!("{e:?}"),
    }
    let req = load("many-events-v3.json");
    let with_params = req
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Postback(p) => p.postback.params.as_ref(),
            _ => None,
        })
        .filter(|p| !p.is_empty())
        .count();
    assert!(with_params >= 1, "the v3 fixture has postbacks with date/time params");

    match one("beacon.json") {
        Event::Beacon(b) => {
            assert_eq!(b.beacon.kind, BeaconContentType::Enter);
            assert_eq!(b.beacon.dm, None);
        }
        e => panic!("{e:?}"),
    }
    match one("beacon_with_dm.json") {
        Event::Beacon(b) => {
            assert_eq!(b.beacon.hwid, "374591320");
            assert_eq!(b.beacon.dm.as_deref(), Some("1234567890abcdef"));
        }
        e => panic!("{e:?}"),
    }
    match one("video-play-complete.json") {
        Event::VideoPlayComplete(v) => assert_eq!(v.video_play_complete.tracking_id, "track_id"),
        e => panic!("{e:?}"),
    }
    match one("account_link.json") {
        Event::AccountLink(a) => {
            assert_eq!(a.link.result, LinkContentResult::Ok);
            assert_eq!(a.link.nonce, "xxxxxxxxxxxxxxx");
            assert_eq!(a.reply_token.as_deref(), Some("nHuyWiB7yP5Zw52FIkcQobQuGDXCTA"));
        }
        e => panic!("{e:?}"),
    }
}

/// The event types no SDK fixture covers, written from the spec.
#[test]
fn membership_module_chat_control_bot_and_delivery_events() {
    let common = json!({
        "timestamp": 1700000000000i64,
        "mode": "active",
        "webhookEventId": "01HZZZZZZZZZZZZZZZZZZZZZZZ",
        "deliveryContext": {"isRedelivery": false},
        "source": {"type": "user", "userId": "U0123456789abcdef0123456789abcdef"}
    });
    let event = |extra: Value| {
        let mut e = common.clone();
        e.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        e
    };
    let body = json!({
        "destination": "Uab012345678901234567890123456789",
        "events": [
            event(json!({"type": "membership", "replyToken": "rt", "membership": {"type": "joined", "membershipId": 3189}})),
            event(json!({"type": "membership", "replyToken": "rt", "membership": {"type": "left", "membershipId": 3189}})),
            event(json!({"type": "membership", "replyToken": "rt", "membership": {"type": "renewed", "membershipId": 3189}})),
            event(json!({"type": "module", "module": {"type": "attached", "botId": "U0000", "scopes": ["message:send", "message:receive"]}})),
            event(json!({"type": "module", "module": {"type": "detached", "botId": "U0000", "reason": "bot_deleted"}})),
            event(json!({"type": "activated", "chatControl": {"expireAt": 1700000060000i64}})),
            event(json!({"type": "deactivated"})),
            event(json!({"type": "botSuspended"})),
            event(json!({"type": "botResumed"})),
            event(json!({"type": "delivery", "delivery": {"data": "d41d8cd98f00b204e9800998ecf8427e"}})),
        ]
    });
    let req = assert_round_trip(&serde_json::to_vec(&body).unwrap());
    let kinds: Vec<&str> = req.events.iter().map(Event::kind).collect();
    assert_eq!(
        kinds,
        [
            "membership",
            "membership",
            "membership",
            "module",
            "module",
            "activated",
            "deactivated",
            "botSuspended",
            "botResumed",
            "delivery"
        ]
    );
    assert!(req.events.iter().all(|e| !e.is_unknown()));
    match &req.events[0] {
        Event::Membership(m) => match &m.membership {
            MembershipContent::Joined(j) => assert_eq!(j.membership_id, 3189),
            c => panic!("{c:?}"),
        },
        e => panic!("{e:?}"),
    }
    assert!(matches!(&req.events[1], Event::Membership(m) if matches!(m.membership, MembershipContent::Left(_))));
    assert!(matches!(&req.events[2], Event::Membership(m) if matches!(m.membership, MembershipContent::Renewed(_))));
    match &req.events[3] {
        Event::Module(m) => match &m.module {
            ModuleContent::Attached(a) => assert_eq!(a.scopes, ["message:send", "message:receive"]),
            c => panic!("{c:?}"),
        },
        e => panic!("{e:?}"),
    }
    match &req.events[4] {
        Event::Module(m) => match &m.module {
            ModuleContent::Detached(d) => assert_eq!(d.reason, DetachedModuleContentReason::BotDeleted),
            c => panic!("{c:?}"),
        },
        e => panic!("{e:?}"),
    }
    match &req.events[5] {
        Event::Activated(a) => assert_eq!(a.chat_control.expire_at, 1700000060000),
        e => panic!("{e:?}"),
    }
    assert!(matches!(req.events[6], Event::Deactivated(_)));
    assert!(matches!(req.events[7], Event::BotSuspended(_)));
    assert!(matches!(req.events[8], Event::BotResumed(_)));
    match &req.events[9] {
        Event::Delivery(d) => assert_eq!(d.delivery.data, "d41d8cd98f00b204e9800998ecf8427e"),
        e => panic!("{e:?}"),
    }
    for e in &req.events {
        assert_eq!(
            e.webhook_event_id().as_deref().map(String::as_str),
            Some("01HZZZZZZZZZZZZZZZZZZZZZZZ")
        );
        assert_eq!(
            e.source().as_deref().and_then(user_id),
            Some("U0123456789abcdef0123456789abcdef")
        );
    }
}

#[test]
fn lenient_where_real_payloads_are() {
    // No webhookEventId, deliveryContext, source or mode.
    let req = assert_round_trip(br#"{"destination":"U0","events":[{"type":"unfollow","timestamp":1}]}"#);
    let e = &req.events[0];
    assert!(matches!(e, Event::Unfollow(_)));
    assert_eq!(e.source(), None);
    assert_eq!(e.webhook_event_id(), None);
    assert_eq!(e.delivery_context(), None);
    assert_eq!(e.mode(), None);
    // The connection check LINE sends when a webhook URL is verified.
    let req = assert_round_trip(br#"{"destination":"Uab012345678901234567890123456789","events":[]}"#);
    assert!(req.events.is_empty());
    // Unknown top-level and nested properties survive.
    let req = assert_round_trip(
        br#"{"destination":"U0","newTopLevel":{"a":[1,2]},"events":[{"type":"message","timestamp":2,"mode":"active",
        "futureField":true,"source":{"type":"user","userId":"U1","futureSourceField":"x"},
        "message":{"type":"text","id":"1","text":"hi","quoteToken":"q","futureContentField":null}}]}"#,
    );
    assert_eq!(req.extra.get("newTopLevel"), Some(&json!({"a": [1, 2]})));
    // An unknown mode string is kept.
    let req = assert_round_trip(br#"{"destination":"U0","events":[{"type":"leave","timestamp":1,"mode":"sleeping"}]}"#);
    assert_eq!(
        req.events[0].mode().as_deref(),
        Some(&EventMode::Unknown("sleeping".into()))
    );
}

#[test]
fn errors_name_the_json_pointer() {
    assert_eq!(pointer_of(br#"{"destination":"U0","events":{}}"#), "/events");
    assert_eq!(pointer_of(br#"{"destination":7,"events":[]}"#), "/destination");
    assert_eq!(pointer_of(br#"{"destination":"U0","events":null}"#), "/events");
    // Not an object, not JSON, empty, trailing bytes: the document root.
    for body in [&b"[]"[..], b"not json", b"", br#"{"events":[]} trailing"#, b"\xff\xfe"] {
        assert_eq!(pointer_of(body), "", "{:?}", String::from_utf8_lossy(body));
    }
    // A syntax error inside an event fails the body, at the event.
    let pointer = pointer_of(br#"{"events":[{"type":"unfollow","timestamp":1,}]}"#);
    assert!(pointer.starts_with("/events/0"), "{pointer}");
    let e = parse(br#"{"destination":"U0","events":{}}"#).unwrap_err();
    assert!(e.to_string().contains("/events"), "{e}");
    // A missing required property names its object.
    assert_eq!(pointer_of(br#"{"destination":"U0"}"#), "");
}

/// The error of the one invalid event of `body`, as (pointer, reason).
fn invalid_event(body: &[u8]) -> (String, String) {
    let req = assert_round_trip(body);
    let [Event::Invalid { error, .. }] = req.events.as_slice() else {
        panic!("{:?}", req.events)
    };
    (error.pointer().to_owned(), error.reason().to_owned())
}

#[test]
fn event_errors_name_the_json_pointer_inside_the_event() {
    assert_eq!(
        invalid_event(br#"{"destination":"U0","events":[{"type":"unfollow","timestamp":"soon"}]}"#).0,
        "/timestamp"
    );
    assert_eq!(
        invalid_event(br#"{"events":[{"type":"message","timestamp":1,"message":{"type":"text","id":"1","text":5}}]}"#)
            .0,
        "/message/text"
    );
    assert_eq!(
        invalid_event(br#"{"destination":"U0","events":[{"type":"postback","timestamp":1,"postback":{"data":7}}]}"#).0,
        "/postback/data"
    );
    // The expected type reads as English.
    let (pointer, reason) = invalid_event(br#"{"destination":"U0","events":[1]}"#);
    assert_eq!(pointer, "");
    assert!(reason.contains("expected an Event object"), "{reason}");
    let (pointer, reason) = invalid_event(br#"{"events":[{"type":"unfollow","timestamp":1,"source":2}]}"#);
    assert_eq!(pointer, "/source");
    assert!(reason.contains("expected a Source object"), "{reason}");
    // A missing required property names its object, and itself in the reason.
    let (pointer, reason) = invalid_event(br#"{"events":[{"type":"message","timestamp":1}]}"#);
    assert_eq!((pointer.as_str(), reason.as_str()), ("", "missing field `message`"));
}

#[test]
fn truncated_fixtures_fail_cleanly() {
    for entry in std::fs::read_dir(dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let body = std::fs::read(&path).unwrap();
        // Every cut of the small files, every 13th byte of the big one.
        let step = if body.len() > 2000 { 13 } else { 1 };
        let last = body.iter().rposition(|b| *b == b'}').unwrap();
        for cut in (0..last).step_by(step) {
            assert!(parse(&body[..cut]).is_err(), "{} cut at {cut} parsed", path.display());
        }
    }
}

mod garbage {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn random_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse(&body);
        }

        #[test]
        fn random_json_never_panics(v in json_value()) {
            let body = serde_json::to_vec(&json!({"destination": "U0", "events": [v]})).unwrap();
            if let Ok(req) = parse(&body) {
                // Whatever parses serializes back to the same value.
                let input: Value = serde_json::from_slice(&body).unwrap();
                prop_assert_eq!(serde_json::to_value(&req).unwrap(), input);
            }
        }
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            prop_oneof![
                Just("message"),
                Just("text"),
                Just("user"),
                Just("group"),
                Just("follow"),
                Just("accountLink"),
                Just("ok"),
                Just("x")
            ]
            .prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::btree_map(
                    prop_oneof![
                        Just("type".to_owned()),
                        Just("timestamp".to_owned()),
                        Just("source".to_owned()),
                        Just("message".to_owned()),
                        Just("userId".to_owned()),
                        Just("text".to_owned()),
                        Just("id".to_owned()),
                        Just("link".to_owned()),
                        Just("webhookEventId".to_owned()),
                        Just("deliveryContext".to_owned()),
                        "[a-z]{1,6}"
                    ],
                    inner,
                    0..6
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }
}

/// Writes `v` as JSON with every object's `"type"` moved after its other properties, so each
/// union meets its tag last and must buffer and replay what came before it.
fn write_type_last(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            out.push('{');
            let ordered = m
                .iter()
                .filter(|(k, _)| *k != "type")
                .chain(m.iter().filter(|(k, _)| *k == "type"));
            for (i, (k, v)) in ordered.enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(k).unwrap());
                out.push(':');
                write_type_last(v, out);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, v) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_type_last(v, out);
            }
            out.push(']');
        }
        other => out.push_str(&serde_json::to_string(other).unwrap()),
    }
}

#[test]
fn every_fixture_round_trips_with_the_tag_last() {
    let mut checked = 0;
    for entry in std::fs::read_dir(dir()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let original = load(&name);
        let mut late = String::new();
        write_type_last(&serde_json::from_slice(&bytes(&name)).unwrap(), &mut late);
        let req = assert_round_trip(late.as_bytes());
        // The same kinds (and unknown-ness) as with the tag first, event by event.
        let kinds = |r: &CallbackRequest| -> Vec<(String, bool)> {
            r.events.iter().map(|e| (e.kind().to_owned(), e.is_unknown())).collect()
        };
        assert_eq!(kinds(&req), kinds(&original), "{name}");
        assert_eq!(req, original, "{name}: a late tag must give the same typed events");
        checked += 1;
    }
    assert!(checked >= 29, "only {checked} fixtures");
}
