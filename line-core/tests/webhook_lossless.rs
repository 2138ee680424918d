//! A bad event never loses its batch, and what parses is lossless:
//! `to_value(parse(body)) == from_slice::<Value>(body)` for every body that
//! parses. (The exhaustive checks, every fixture event broken at every place
//! and both parse paths compared, are line-model's unit tests in `webhook/reader_tests.rs`.)

use line_core::webhook::event::{MessageContent, Source};
use line_core::webhook::{parse, CallbackRequest, Event};
use line_core::ErrorKind;
use serde_json::{json, Value};

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/webhook/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// Parses `body`, checking the lossless rule.
#[track_caller]
fn lossless(body: &[u8]) -> CallbackRequest {
    let request = parse(body).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(body)));
    assert_eq!(
        serde_json::to_value(&request).unwrap(),
        serde_json::from_slice::<Value>(body).unwrap(),
        "{}",
        String::from_utf8_lossy(body)
    );
    request
}

#[track_caller]
fn parse_error(body: &[u8]) -> (String, String) {
    match parse(body).map(|_| ()).unwrap_err().kind() {
        ErrorKind::Parse { pointer, reason } => (pointer.clone(), reason.clone()),
        other => panic!("{other:?}"),
    }
}

/// The 28 good events of the SDK fixture with `bad` inserted at `at`.
fn batch_with(bad: Value, at: usize) -> Vec<u8> {
    let mut body = fixture("many-events-v3.json");
    body["events"].as_array_mut().unwrap().insert(at, bad);
    serde_json::to_vec(&body).unwrap()
}

#[test]
fn an_image_without_its_content_provider_is_invalid_alone() {
    let mut image = fixture("image.json")["events"][0].clone();
    image["message"].as_object_mut().unwrap().remove("contentProvider");
    image["webhookEventId"] = json!("01HXBAD");
    let good = parse(&serde_json::to_vec(&fixture("many-events-v3.json")).unwrap()).unwrap();
    for at in [0, 13, 28] {
        let request = lossless(&batch_with(image.clone(), at));
        let mut events = request.events.clone();
        let Event::Invalid { kind, raw, error } = events.remove(at) else {
            panic!("{:?}", request.events[at])
        };
        assert_eq!(events, good.events);
        assert_eq!(kind, "message");
        assert_eq!(raw.to_value(), image);
        assert_eq!(error.pointer(), "/message");
        assert_eq!(error.reason(), "missing field `contentProvider`");
        assert_eq!(
            error.to_string(),
            "invalid event at /message: missing field `contentProvider`"
        );
        // The common properties are still there to read (say, to dedupe it).
        let invalid = &request.events[at];
        assert!(invalid.is_invalid() && !invalid.is_unknown());
        assert_eq!(
            invalid.webhook_event_id().as_deref().map(String::as_str),
            Some("01HXBAD")
        );
        assert_eq!(invalid.timestamp().as_deref(), Some(&1_462_629_479_859));
    }
}

#[test]
fn a_timestamp_given_as_a_string_is_invalid_alone() {
    let mut follow = fixture("follow.json")["events"][0].clone();
    follow["timestamp"] = json!("1462629479859");
    let request = lossless(&batch_with(follow, 5));
    assert_eq!(request.events.len(), 29);
    let invalid: Vec<usize> = (0..29).filter(|&i| request.events[i].is_invalid()).collect();
    assert_eq!(invalid, [5]);
    let Event::Invalid { kind, error, .. } = &request.events[5] else {
        unreachable!()
    };
    assert_eq!((kind.as_str(), error.pointer()), ("follow", "/timestamp"));
    assert!(error.reason().contains("expected i64"), "{error}");
    assert_eq!(request.events[5].timestamp(), None);
}

#[test]
fn anything_that_is_not_an_event_is_invalid_alone() {
    for (bad, kind, pointer) in [
        (json!(5), "", ""),
        (json!("message"), "", ""),
        (json!(null), "", ""),
        (json!([{"type": "follow"}]), "", ""),
        (json!({}), "", ""),
        (json!({"type": 7, "timestamp": 1}), "", "/type"),
        (
            json!({"type": "message", "timestamp": 1, "message": {"id": "1"}}),
            "message",
            "/message",
        ),
        (
            json!({"type": "unfollow", "timestamp": 1, "source": {"type": "user", "userId": 5}}),
            "unfollow",
            "/source/userId",
        ),
    ] {
        let request = lossless(&batch_with(bad.clone(), 1));
        let Event::Invalid { kind: k, raw, error } = &request.events[1] else {
            panic!("{bad}: {:?}", request.events[1])
        };
        assert_eq!((k.as_str(), error.pointer()), (kind, pointer), "{bad}: {error}");
        assert_eq!(raw.to_value(), bad);
        assert_eq!(request.events.iter().filter(|e| e.is_invalid()).count(), 1);
    }
}

#[test]
fn a_body_that_is_not_a_webhook_request_is_still_an_error() {
    for (body, pointer) in [
        (&b"not json"[..], ""),
        (b"[]", ""),
        (br#"{"destination":"U0"}"#, ""),
        (br#"{"events":{}}"#, "/events"),
        (br#"{"events":"[]"}"#, "/events"),
        (br#"{"destination":["U0"],"events":[]}"#, "/destination"),
        // A syntax error inside one event is a syntax error of the body.
        (
            br#"{"events":[{"type":"follow","timestamp":1},{"type":"follow" "timestamp":1}]}"#,
            "/events/1",
        ),
    ] {
        // (Past the event, a syntax error's place is not always a pointer.)
        let at = parse_error(body).0;
        assert!(
            at == pointer || at.starts_with("/events/"),
            "{at}: {}",
            String::from_utf8_lossy(body)
        );
        assert!(at.starts_with(pointer), "{at}: {}", String::from_utf8_lossy(body));
    }
}

#[test]
fn a_new_member_kind_keeps_its_type_and_a_mistyped_one_is_invalid() {
    let body = br#"{"events":[{"type":"memberJoined","timestamp":1,"replyToken":"r",
        "joined":{"members":[{"type":"user","userId":"U1"},{"type":"bot","botId":"B1"}]}},
        {"type":"memberLeft","timestamp":1,"left":{"members":[{"userId":"U2","type":"group","groupId":"G"}]}}]}"#;
    let request = lossless(body);
    let Event::MemberJoined(joined) = &request.events[0] else {
        panic!("{:?}", request.events[0])
    };
    assert!(matches!(&joined.joined.members[0], Source::User(u) if u.user_id.as_ref().unwrap().as_str() == "U1"));
    assert!(matches!(&joined.joined.members[1], Source::Unknown { kind, .. } if kind == "bot"));
    let Event::MemberLeft(left) = &request.events[1] else {
        panic!("{:?}", request.events[1])
    };
    assert!(matches!(&left.left.members[0], Source::Group(_)));

    for (member, pointer) in [
        (r#"{"type":7}"#, "/joined/members/0/type"),
        (r#"{"userId":"U1"}"#, "/joined/members/0"),
    ] {
        let body = format!(
            r#"{{"events":[{{"type":"memberJoined","timestamp":1,"replyToken":"r","joined":{{"members":[{member}]}}}}]}}"#
        );
        let request = lossless(body.as_bytes());
        let Event::Invalid { error, .. } = &request.events[0] else {
            panic!("{member}: {:?}", request.events[0])
        };
        assert_eq!(error.pointer(), pointer, "{member}: {error}");
    }
}

#[test]
fn integer_coordinates_stay_integers() {
    let body = br#"{"events":[{"type":"message","timestamp":1,"replyToken":"r","message":
        {"type":"location","id":"1","latitude":35,"longitude":-139,"address":"x"}},
        {"type":"message","timestamp":1,"replyToken":"r","message":
        {"id":"2","type":"location","latitude":35.0,"longitude":1.25e2}}]}"#;
    let request = lossless(body);
    let coordinates: Vec<(String, String)> = request
        .events
        .iter()
        .map(|e| match e {
            Event::Message(m) => match &m.message {
                MessageContent::Location(l) => (l.latitude.to_string(), l.longitude.to_string()),
                c => panic!("{c:?}"),
            },
            e => panic!("{e:?}"),
        })
        .collect();
    assert_eq!(
        coordinates,
        [("35".into(), "-139".into()), ("35.0".into(), "125.0".into())]
    );
}

#[test]
fn invalid_utf8_is_an_error_even_where_nothing_reads_it() {
    for body in [
        // A repeated tag, which a lenient reader would skip.
        &b"{\"events\":[{\"type\":\"unfollow\",\"timestamp\":1,\"type\":\"\xff\"}]}"[..],
        // A member's tag.
        b"{\"events\":[{\"type\":\"memberLeft\",\"timestamp\":1,\"left\":{\"members\":[{\"type\":\"us\xc3er\"}]}}]}",
        // A property nobody knows.
        b"{\"events\":[],\"x\":\"\xed\xa0\x80\"}",
    ] {
        assert!(parse(body).is_err(), "{}", String::from_utf8_lossy(body));
        assert!(serde_json::from_slice::<Value>(body).is_err());
    }
}

#[test]
fn a_repeated_tag_makes_the_event_invalid_and_it_serializes_as_it_came() {
    // Read by the first "type" this was an unknown `zzz` event whose raw JSON,
    // read by the last, turned into a message without its properties.
    let body = br#"{"events":[{"type":"zzz","timestamp":1,"type":"message"},{"type":"unfollow","timestamp":1}]}"#;
    let request = lossless(body);
    let Event::Invalid { kind, raw, error } = &request.events[0] else {
        panic!("{:?}", request.events[0])
    };
    assert_eq!(kind, "message");
    assert_eq!(raw.as_str(), r#"{"type":"zzz","timestamp":1,"type":"message"}"#);
    assert_eq!((error.pointer(), error.reason()), ("/type", "repeated key `type`"));
    assert!(matches!(request.events[1], Event::Unfollow(_)));
    // Written out and parsed again, the event is the same.
    let again = lossless(&serde_json::to_vec(&request).unwrap());
    assert_eq!(again.events[1], request.events[1]);
    assert!(again.events[0].is_invalid());
}

#[test]
fn a_repeated_key_in_the_request_object_is_an_error_at_that_key() {
    let (pointer, reason) = parse_error(br#"{"destination":"U0","events":[],"destination":"U1"}"#);
    assert_eq!(pointer, "/destination");
    assert!(reason.starts_with("repeated key `destination`"), "{reason}");
    assert_eq!(parse_error(br#"{"events":[],"new":{"a":1,"a":1}}"#).0, "/new/a");
}
