//! The direct reader against the serde path: on every body, both accept with
//! the same result or both reject. And every body accepted is read
//! losslessly: serializing the result gives serde_json's own view of it.

use serde_json::{Map, Value};

use super::event::{CallbackRequest, Event, MessageContent};
use super::read_request;

const FIXTURES: &[(&str, &str)] = &[
    (
        "account_link",
        include_str!("../../tests/fixtures/webhook/account_link.json"),
    ),
    ("beacon", include_str!("../../tests/fixtures/webhook/beacon.json")),
    (
        "beacon_with_dm",
        include_str!("../../tests/fixtures/webhook/beacon_with_dm.json"),
    ),
    (
        "callback-request",
        include_str!("../../tests/fixtures/webhook/callback-request.json"),
    ),
    ("file", include_str!("../../tests/fixtures/webhook/file.json")),
    ("follow", include_str!("../../tests/fixtures/webhook/follow.json")),
    ("image", include_str!("../../tests/fixtures/webhook/image.json")),
    ("join", include_str!("../../tests/fixtures/webhook/join.json")),
    ("leave", include_str!("../../tests/fixtures/webhook/leave.json")),
    ("location", include_str!("../../tests/fixtures/webhook/location.json")),
    (
        "many-events-v3",
        include_str!("../../tests/fixtures/webhook/many-events-v3.json"),
    ),
    (
        "member_joined",
        include_str!("../../tests/fixtures/webhook/member_joined.json"),
    ),
    (
        "member_left",
        include_str!("../../tests/fixtures/webhook/member_left.json"),
    ),
    (
        "message-edited",
        include_str!("../../tests/fixtures/webhook/message-edited.json"),
    ),
    ("postback", include_str!("../../tests/fixtures/webhook/postback.json")),
    (
        "sticker-keywords-array",
        include_str!("../../tests/fixtures/webhook/sticker-keywords-array.json"),
    ),
    (
        "sticker-keywords-remove",
        include_str!("../../tests/fixtures/webhook/sticker-keywords-remove.json"),
    ),
    (
        "sticker-with-text",
        include_str!("../../tests/fixtures/webhook/sticker-with-text.json"),
    ),
    ("sticker", include_str!("../../tests/fixtures/webhook/sticker.json")),
    (
        "text-emojis",
        include_str!("../../tests/fixtures/webhook/text-emojis.json"),
    ),
    (
        "text-group",
        include_str!("../../tests/fixtures/webhook/text-group.json"),
    ),
    (
        "text-mention",
        include_str!("../../tests/fixtures/webhook/text-mention.json"),
    ),
    ("text-user", include_str!("../../tests/fixtures/webhook/text-user.json")),
    ("unfollow", include_str!("../../tests/fixtures/webhook/unfollow.json")),
    ("unknown", include_str!("../../tests/fixtures/webhook/unknown.json")),
    ("unsend", include_str!("../../tests/fixtures/webhook/unsend.json")),
    (
        "video-play-complete",
        include_str!("../../tests/fixtures/webhook/video-play-complete.json"),
    ),
    ("video", include_str!("../../tests/fixtures/webhook/video.json")),
    (
        "webhook-redelivery",
        include_str!("../../tests/fixtures/webhook/webhook-redelivery.json"),
    ),
];

/// What the serde path alone makes of `text`.
fn serde_path(text: &str) -> Option<CallbackRequest> {
    serde_json::from_str(text).ok()
}

/// Both paths agree on `text`, and an accepted body serializes back to the
/// same JSON value. Returns the request when it was accepted.
#[track_caller]
fn agree_on(text: &str) -> Option<CallbackRequest> {
    let ours = read_request(text).ok();
    let theirs = serde_path(text);
    assert_eq!(ours, theirs, "the paths disagree on:\n{text}");
    if let Some(request) = &ours {
        assert_eq!(
            serde_json::to_value(request).unwrap(),
            serde_json::from_str::<Value>(text).unwrap(),
            "the round trip changed:\n{text}"
        );
    }
    ours
}

/// [`agree_on`], returning whether the body was accepted.
#[track_caller]
fn agree(text: &str) -> bool {
    agree_on(text).is_some()
}

/// How many events of `request` are invalid, and how many are not.
fn invalid_and_read(request: &CallbackRequest) -> (usize, usize) {
    let invalid = request.events.iter().filter(|e| e.is_invalid()).count();
    (invalid, request.events.len() - invalid)
}

/// A small deterministic generator (xorshift), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
}

/// How the writer orders an object's keys.
#[derive(Clone, Copy)]
enum Order {
    AsParsed,
    TagFirst,
    TagLast,
    Shuffled,
}

/// Strings stand for raw number tokens when they start with this.
const RAW: &str = "\u{0}raw:";

/// Writes `v` as JSON text with `order`, random whitespace and, now and then,
/// keys and strings spelled with `\u` escapes.
fn write(v: &Value, order: Order, rng: &mut Rng, out: &mut String) {
    write_with(v, order, 0, rng, out)
}

/// [`write`]; with `repeat` above zero, about one key in `repeat` is written
/// twice: first with another value, then with its own.
fn write_with(v: &Value, order: Order, repeat: usize, rng: &mut Rng, out: &mut String) {
    let ws = |rng: &mut Rng, out: &mut String| {
        if rng.chance(6) {
            out.push_str([" ", "\n", "\t ", "\r\n  "][rng.below(4)]);
        }
    };
    match v {
        Value::Object(m) => {
            out.push('{');
            let mut keys: Vec<&String> = m.keys().collect();
            match order {
                Order::AsParsed => {}
                Order::TagFirst => keys.sort_by_key(|k| *k != "type"),
                Order::TagLast => keys.sort_by_key(|k| *k == "type"),
                Order::Shuffled => {
                    for i in (1..keys.len()).rev() {
                        keys.swap(i, rng.below(i + 1));
                    }
                }
            }
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if repeat > 0 && rng.chance(repeat) {
                    write_str(k, rng, out);
                    out.push(':');
                    write_with(&random_value(rng, 2), order, 0, rng, out);
                    out.push(',');
                }
                ws(rng, out);
                write_str(k, rng, out);
                ws(rng, out);
                out.push(':');
                ws(rng, out);
                write_with(&m[k.as_str()], order, repeat, rng, out);
            }
            ws(rng, out);
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                ws(rng, out);
                write_with(x, order, repeat, rng, out);
            }
            out.push(']');
        }
        Value::String(s) if s.starts_with(RAW) => out.push_str(&s[RAW.len()..]),
        Value::String(s) => write_str(s, rng, out),
        other => out.push_str(&other.to_string()),
    }
}

fn write_str(s: &str, rng: &mut Rng, out: &mut String) {
    if rng.chance(10) {
        out.push('"');
        for unit in s.encode_utf16() {
            out.push_str(&format!("\\u{unit:04x}"));
        }
        out.push('"');
    } else {
        out.push_str(&Value::String(s.to_owned()).to_string());
    }
}

const KEYS: &[&str] = &[
    "type",
    "source",
    "timestamp",
    "mode",
    "webhookEventId",
    "deliveryContext",
    "replyToken",
    "message",
    "text",
    "id",
    "quoteToken",
    "emojis",
    "mention",
    "postback",
    "data",
    "params",
    "userId",
    "groupId",
    "isRedelivery",
    "joined",
    "members",
    "unsend",
    "messageId",
    "future",
    "x-extra",
];

fn random_value(rng: &mut Rng, depth: usize) -> Value {
    match rng.below(if depth > 2 { 5 } else { 7 }) {
        0 => Value::Null,
        1 => Value::Bool(rng.chance(2)),
        2 => {
            let tokens = [
                "0",
                "7",
                "-3",
                "1700000000000",
                "-0",
                "1.5",
                "1e3",
                "-2.5E-3",
                "18446744073709551615",
                "18446744073709551616",
                "9223372036854775808",
                "-9223372036854775809",
                "123456789012345678",
                "1234567890123456789",
                "0.1",
                "2147483648",
            ];
            Value::String(format!("{RAW}{}", tokens[rng.below(tokens.len())]))
        }
        3 | 4 => {
            let strings = [
                "",
                "text",
                "message",
                "user",
                "group",
                "active",
                "standby",
                "a \"quoted\" \\ word",
                "line\nbreak",
                "\u{e9}t\u{e9}",
                "\u{1F600} emoji",
                "tab\there",
                "\u{1}",
                "follow",
                "unknownKind",
                "image",
                "sticker",
            ];
            Value::String(strings[rng.below(strings.len())].to_owned())
        }
        5 => Value::Array((0..rng.below(3)).map(|_| random_value(rng, depth + 1)).collect()),
        _ => {
            let mut m = Map::new();
            for _ in 0..rng.below(4) {
                m.insert(KEYS[rng.below(KEYS.len())].to_owned(), random_value(rng, depth + 1));
            }
            Value::Object(m)
        }
    }
}

/// Changes one random place in `v`.
fn mutate(v: &mut Value, rng: &mut Rng) {
    match v {
        Value::Object(m) if !m.is_empty() && rng.chance(2) => {
            let k = m.keys().nth(rng.below(m.len())).cloned().unwrap_or_default();
            if let Some(child) = m.get_mut(&k) {
                mutate(child, rng);
            }
        }
        Value::Object(m) => match rng.below(4) {
            0 if !m.is_empty() => {
                let k = m.keys().nth(rng.below(m.len())).cloned().unwrap_or_default();
                m.remove(&k);
            }
            1 => {
                let kinds = [
                    "message",
                    "follow",
                    "unfollow",
                    "postback",
                    "futureEvent",
                    "text",
                    "image",
                    "user",
                    "group",
                ];
                m.insert(
                    "type".to_owned(),
                    Value::String(kinds[rng.below(kinds.len())].to_owned()),
                );
            }
            _ => {
                m.insert(KEYS[rng.below(KEYS.len())].to_owned(), random_value(rng, 1));
            }
        },
        Value::Array(a) if !a.is_empty() => {
            let i = rng.below(a.len());
            mutate(&mut a[i], rng);
        }
        other => *other = random_value(rng, 1),
    }
}

fn fixture_events() -> Vec<Value> {
    let mut events = Vec::new();
    for (_, text) in FIXTURES {
        let v: Value = serde_json::from_str(text).unwrap();
        events.extend(v["events"].as_array().unwrap().iter().cloned());
    }
    events
}

#[test]
fn every_fixture_is_read_directly_in_any_key_order() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for (name, text) in FIXTURES {
        assert!(read_request(text).is_ok(), "{name}: the direct reader gave up");
        assert!(agree(text), "{name}");
        let v: Value = serde_json::from_str(text).unwrap();
        for order in [Order::TagFirst, Order::TagLast, Order::Shuffled, Order::Shuffled] {
            let mut out = String::new();
            write(&v, order, &mut rng, &mut out);
            assert!(agree(&out), "{name}: rejected in another key order");
        }
    }
}

#[test]
fn mutated_events_get_the_same_answer_from_both_paths() {
    let events = fixture_events();
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let (mut invalid, mut read) = (0, 0);
    for i in 0..6_000 {
        let mut batch = Vec::new();
        for _ in 0..1 + rng.below(3) {
            let mut e = events[rng.below(events.len())].clone();
            for _ in 0..1 + rng.below(3) {
                mutate(&mut e, &mut rng);
            }
            batch.push(e);
        }
        let order = [Order::AsParsed, Order::TagFirst, Order::TagLast, Order::Shuffled][rng.below(4)];
        // In one body in four, events repeat a key here and there.
        let repeat = if i % 4 == 0 { 12 } else { 0 };
        let mut text = String::from(r#"{"destination":"U0123","events":["#);
        for (i, e) in batch.iter().enumerate() {
            if i > 0 {
                text.push(',');
            }
            write_with(e, order, repeat, &mut rng, &mut text);
        }
        text.push_str("]}");
        // A bad event never fails the body: it is invalid on its own.
        let request = agree_on(&text).unwrap_or_else(|| panic!("rejected:\n{text}"));
        let (i, r) = invalid_and_read(&request);
        invalid += i;
        read += r;
    }
    // The generator must exercise both answers for the check to mean much.
    assert!(invalid > 1_000 && read > 1_000, "invalid {invalid}, read {read}");
}

#[test]
fn corrupted_bodies_get_the_same_answer_from_both_paths() {
    let mut rng = Rng(0xdead_beef_cafe_f00d);
    let pieces = [
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        "\"",
        "\\",
        "0",
        "-",
        "e",
        "x",
        "null",
        "tru",
        " ",
        "\"type\":",
    ];
    let (mut accepted, mut invalid) = (0, 0);
    for (_, text) in FIXTURES {
        // As written, and with every tag last (so values are set aside).
        let mut tag_last = String::new();
        write(
            &serde_json::from_str(text).unwrap(),
            Order::TagLast,
            &mut rng,
            &mut tag_last,
        );
        for i in 0..300 {
            let mut t = if i % 2 == 0 { text.to_string() } else { tag_last.clone() };
            for _ in 0..1 + rng.below(2) {
                // Only ASCII edits at char boundaries, so the text stays UTF-8.
                let at = loop {
                    let i = rng.below(t.len() + 1);
                    if t.is_char_boundary(i) {
                        break i;
                    }
                };
                if rng.chance(2) && at < t.len() {
                    let end = (at + 1..=t.len()).find(|&j| t.is_char_boundary(j)).unwrap_or(t.len());
                    t.replace_range(at..end, "");
                } else {
                    t.insert_str(at, pieces[rng.below(pieces.len())]);
                }
            }
            if let Some(request) = agree_on(&t) {
                accepted += 1;
                invalid += invalid_and_read(&request).0;
            }
        }
    }
    // Some edits land in whitespace or strings and keep the body valid, some
    // break one event only.
    assert!(accepted > 0 && invalid > 0, "accepted {accepted}, invalid {invalid}");
}

#[test]
fn bodies_the_reader_hands_to_serde_still_parse() {
    // Nesting past the reader's depth limit, inside an unknown property:
    // the reader gives up, and `parse` still returns serde's result.
    let deep = format!(
        r#"{{"events":[{{"type":"unfollow","timestamp":1,"x":{}0{}}}]}}"#,
        "[".repeat(110),
        "]".repeat(110)
    );
    assert!(read_request(&deep).is_err());
    let parsed = super::parse(deep.as_bytes()).unwrap();
    assert_eq!(Some(parsed), serde_path(&deep));
}

#[test]
fn a_repeated_key_makes_its_event_invalid_on_both_paths() {
    for (event, pointer) in [
        (r#"{"type":"unfollow","timestamp":1,"timestamp":2}"#, "/timestamp"),
        (
            r#"{"type":"unfollow","timestamp":1,"mode":null,"mode":"active"}"#,
            "/mode",
        ),
        (r#"{"timestamp":1,"mode":"active","type":"unfollow","type":7}"#, "/type"),
        (r#"{"type":"unfollow","timestamp":1,"type":"unfollow"}"#, "/type"),
        (r#"{"x":1,"type":"zzz","x":2}"#, "/x"),
        (r#"{"type":"zzz","timestamp":1,"type":"message"}"#, "/type"),
        (r#"{"x":{"a":1,"a":1},"type":"zzz"}"#, "/x/a"),
        (
            r#"{"type":"unfollow","timestamp":1,"future":[{"k":1},{"k":1,"k":2}]}"#,
            "/future/1/k",
        ),
        (
            r#"{"message":{"type":"text","id":"1","text":"a"},"type":"message","timestamp":1,"message":{"type":"text","id":"2","text":"b"}}"#,
            "/message",
        ),
        (
            r#"{"type":"message","timestamp":1,"message":{"id":"1","type":"text","text":"a","type":"sticker"}}"#,
            "/message/type",
        ),
        (
            r#"{"source":{"userId":"U1","type":"user"},"source":null,"type":"unfollow","timestamp":1}"#,
            "/source",
        ),
        (
            r#"{"type":"unfollow","timestamp":1,"source":{"type":"user","userId":"U1","\u0075serId":"U2"}}"#,
            "/source/userId",
        ),
    ] {
        let good = r#"{"type":"unfollow","timestamp":5}"#;
        let text = format!(r#"{{"destination":"U0","events":[{good},{event},{good}]}}"#);
        let request = agree_on(&text).unwrap_or_else(|| panic!("rejected: {text}"));
        assert!(matches!(request.events[0], Event::Unfollow(_)), "{text}");
        assert!(matches!(request.events[2], Event::Unfollow(_)), "{text}");
        let Event::Invalid { raw, error, .. } = &request.events[1] else {
            panic!("{event}: {:?}", request.events[1])
        };
        assert_eq!(raw.as_str(), event);
        assert_eq!(error.pointer(), pointer, "{event}");
        assert!(error.reason().starts_with("repeated key"), "{event}: {error}");
    }
}

#[test]
fn a_repeated_key_in_the_request_object_fails_the_body() {
    for (text, pointer) in [
        (r#"{"events":[],"events":[]}"#, "/events"),
        (r#"{"destination":"U0","events":[],"destination":"U1"}"#, "/destination"),
        (r#"{"events":[],"x":1,"x":2}"#, "/x"),
        (r#"{"events":[],"x":[{"a":1,"a":2}]}"#, "/x/0/a"),
    ] {
        assert!(!agree(text), "{text}");
        let err = super::parse(text.as_bytes()).unwrap_err();
        assert_eq!(
            (err.pointer(), err.reason().starts_with("repeated key")),
            (pointer, true),
            "{text}: {err}"
        );
    }
}

/// Every place of `v` (as pointer segments), parents before children.
fn places(v: &Value, at: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    let children: Vec<(String, &Value)> = match v {
        Value::Object(m) => m.iter().map(|(k, v)| (k.clone(), v)).collect(),
        Value::Array(a) => a.iter().enumerate().map(|(i, v)| (i.to_string(), v)).collect(),
        _ => Vec::new(),
    };
    for (k, child) in children {
        at.push(k);
        out.push(at.clone());
        places(child, at, out);
        at.pop();
    }
}

fn place_mut<'v>(v: &'v mut Value, path: &[String]) -> &'v mut Value {
    path.iter().fold(v, |v, k| match v {
        Value::Array(a) => &mut a[k.parse::<usize>().unwrap()],
        other => &mut other[k.as_str()],
    })
}

/// A value of another JSON type than `v`.
fn other_type(v: &Value) -> Value {
    match v {
        Value::String(_) => Value::from(7),
        Value::Number(_) | Value::Bool(_) | Value::Null => Value::from("x"),
        Value::Array(_) => Value::Object(Map::new()),
        Value::Object(_) => Value::Array(Vec::new()),
    }
}

#[test]
fn every_fixture_event_broken_anywhere_is_invalid_alone_in_its_batch() {
    let good: Value = serde_json::from_str(FIXTURES[10].1).unwrap();
    assert_eq!(FIXTURES[10].0, "many-events-v3");
    let good_events = good["events"].as_array().unwrap().clone();
    let good_request = read_request(FIXTURES[10].1).unwrap();
    let mut rng = Rng(0x51_7cc1_b727_220a);
    let (mut invalid, mut still_read, mut cases) = (0, 0, 0);
    for event in fixture_events() {
        let mut paths = Vec::new();
        places(&event, &mut Vec::new(), &mut paths);
        for path in paths {
            let (parent, last) = path.split_at(path.len() - 1);
            for drop in [true, false] {
                let mut broken = event.clone();
                if drop {
                    match place_mut(&mut broken, parent) {
                        Value::Object(m) => {
                            m.remove(&last[0]);
                        }
                        // Items of an array are not properties.
                        _ => continue,
                    }
                } else {
                    let slot = place_mut(&mut broken, &path);
                    *slot = other_type(slot);
                }
                // The broken event in the middle of the 28 good ones.
                let at = rng.below(good_events.len() + 1);
                let mut events = good_events.clone();
                events.insert(at, broken);
                let mut body = Map::new();
                body.insert("destination".into(), Value::from("U0"));
                body.insert("events".into(), Value::Array(events));
                let order = [Order::AsParsed, Order::TagLast, Order::Shuffled][rng.below(3)];
                let mut text = String::new();
                write(&Value::Object(body), order, &mut rng, &mut text);

                let request = agree_on(&text).unwrap_or_else(|| panic!("rejected:\n{text}"));
                cases += 1;
                let mut others = request.events.clone();
                let this = others.remove(at);
                assert_eq!(others, good_request.events, "{text}");
                match this {
                    Event::Invalid { error, .. } => {
                        invalid += 1;
                        // The pointer leads to the broken place (a missing
                        // property: to its object).
                        let pointer: Vec<&str> = error.pointer().split('/').skip(1).collect();
                        let escaped: Vec<String> =
                            path.iter().map(|k| k.replace('~', "~0").replace('/', "~1")).collect();
                        assert!(
                            pointer.len() <= escaped.len() && pointer.iter().zip(&escaped).all(|(a, b)| a == b),
                            "{} does not lead to /{}",
                            error.pointer(),
                            escaped.join("/")
                        );
                    }
                    // An optional or unknown property may go or change type.
                    _ => still_read += 1,
                }
            }
        }
    }
    assert!(
        invalid > 1_000 && still_read > 200,
        "invalid {invalid}, read {still_read} of {cases}"
    );
}

#[test]
fn values_set_aside_before_the_tag_are_checked_in_full() {
    for text in [
        r#"{"events":[{"x":12abc,"type":"unfollow","timestamp":1}]}"#,
        r#"{"events":[{"x":nullx,"type":"unfollow","timestamp":1}]}"#,
        r#"{"events":[{"x":"a"b,"type":"futureEvent","timestamp":1}]}"#,
        r#"{"events":[{"postback":{"data":"d"}x,"type":"postback","timestamp":1,"replyToken":"r"}]}"#,
    ] {
        assert!(!agree(text), "{text}");
    }
    // The same bodies without the stray bytes are fine.
    for text in [
        r#"{"events":[{"x":12,"type":"unfollow","timestamp":1}]}"#,
        r#"{"events":[{"x":"a","type":"futureEvent","timestamp":1}]}"#,
        r#"{"events":[{"postback":{"data":"d"},"type":"postback","timestamp":1,"replyToken":"r"}]}"#,
    ] {
        assert!(agree(text), "{text}");
    }
}

#[test]
fn an_unknown_object_keeps_its_text_exactly() {
    let event = r#"{ "replyToken" : "r", "type":"brandNew","n":[1, 2.50,{"a":null}],"m":"again", "s":"\u00e9" }"#;
    let message = r#"{"id":"1","type":"hologram","depth":3}"#;
    let body =
        format!(r#"{{"events":[{event},{{"type":"message","timestamp":1,"replyToken":"r","message":{message}}}]}}"#);
    let request = read_request(&body).unwrap();
    let Event::Unknown { kind, raw } = &request.events[0] else {
        panic!("{:?}", request.events[0])
    };
    assert_eq!((kind.as_str(), raw.as_str()), ("brandNew", event));
    assert_eq!(raw.get("m"), Some(Value::from("again")));
    let Event::Message(m) = &request.events[1] else {
        panic!("{:?}", request.events[1])
    };
    let MessageContent::Unknown { kind, raw } = &m.message else {
        panic!("{:?}", m.message)
    };
    assert_eq!((kind.as_str(), raw.as_str()), ("hologram", message));
    // The serde path gives an equal value, written anew.
    assert!(agree(&body));
}

#[test]
fn a_body_that_is_not_a_webhook_request_names_the_place() {
    let err = super::parse(b"{\"destination\":\"U1\",\"events\":{}}").unwrap_err();
    assert_eq!(err.pointer(), "/events");
    assert!(err.reason().starts_with("invalid type: map"), "{err}");
    assert_eq!(
        err.to_string(),
        format!("invalid webhook body at /events: {}", err.reason())
    );

    let err = super::parse(b"{\"destination\":\"U\xff\",\"events\":[]}").unwrap_err();
    assert_eq!(err.pointer(), "/destination", "{err}");

    let err = super::parse(b"{\"events\":[]} x").unwrap_err();
    assert_eq!(err.pointer(), "");
    assert!(
        err.to_string()
            .starts_with("invalid webhook body at the document root: "),
        "{err}"
    );
    assert_eq!(err.clone().into_parts(), (String::new(), err.reason().to_owned()));
}
