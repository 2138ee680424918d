//! One negative test per validation rule, asserting the JSON pointer and the severity.

use line_flex::action::{Clipboard, DatetimeMode, DatetimePicker, Message, Postback, Uri};
use line_flex::value::{Angle, AspectRatio, Color};
use line_flex::{
    parse_document, vbox, Bubble, BubbleSize, Button, Carousel, ErrorKind, FlexMessage, Image, LinearGradient,
    QuickReply, QuickReplyItem, Severity, Text, ValidateOptions,
};
use serde_json::{json, Value};

/// Findings of a JSON document as (severity, pointer) pairs.
fn findings_of(doc: Value) -> Vec<(Severity, String)> {
    let doc = parse_document(doc.to_string().as_bytes()).expect("the test document parses");
    doc.validate().into_iter().map(|f| (f.severity, f.pointer)).collect()
}

fn has(findings: &[(Severity, String)], severity: Severity, pointer: &str) -> bool {
    findings.iter().any(|(s, p)| *s == severity && p == pointer)
}

#[track_caller]
fn assert_finding(doc: Value, severity: Severity, pointer: &str) {
    let f = findings_of(doc);
    assert!(
        has(&f, severity, pointer),
        "expected {severity} at {pointer}, got {f:?}"
    );
}

#[track_caller]
fn assert_clean(doc: Value) {
    let f = findings_of(doc);
    assert!(f.is_empty(), "expected no findings, got {f:?}");
}

fn text_bubble(text: &str) -> Value {
    json!({"type":"bubble","body":{"type":"box","layout":"vertical","contents":[{"type":"text","text":text}]}})
}

fn body_with(component: Value) -> Value {
    json!({"type":"bubble","body":{"type":"box","layout":"vertical","contents":[component]}})
}

fn button_with(action: Value) -> Value {
    body_with(json!({"type":"button","action":action}))
}

#[test]
fn carousel_of_more_than_12_bubbles_is_an_error() {
    let bubbles: Vec<Value> = (0..13).map(|_| text_bubble("x")).collect();
    assert_finding(
        json!({"type":"carousel","contents":bubbles}),
        Severity::Error,
        "/contents",
    );
    let twelve: Vec<Value> = (0..12).map(|_| text_bubble("x")).collect();
    assert_clean(json!({"type":"carousel","contents":twelve}));
}

#[test]
fn empty_carousel_is_an_error() {
    assert_finding(json!({"type":"carousel","contents":[]}), Severity::Error, "/contents");
}

#[test]
fn carousel_bubbles_of_different_sizes_are_an_error() {
    let mut b1 = text_bubble("a");
    b1["size"] = json!("kilo");
    let mut b2 = text_bubble("b");
    b2["size"] = json!("micro");
    assert_finding(
        json!({"type":"carousel","contents":[b1.clone(), b2]}),
        Severity::Error,
        "/contents/1/size",
    );
    // No size means mega.
    let mut mega = text_bubble("c");
    mega["size"] = json!("mega");
    assert_clean(json!({"type":"carousel","contents":[text_bubble("d"), mega]}));
}

#[test]
fn bubble_over_30_kb_is_an_error_and_the_threshold_is_configurable() {
    let long = "x".repeat(31_000);
    assert_finding(text_bubble(&long), Severity::Error, "");
    assert_clean(text_bubble(&"x".repeat(29_000)));

    let bubble = Bubble::new().body(vbox![Text::new("a little text")]);
    assert!(bubble.validate().is_empty());
    let strict = ValidateOptions::default().max_bubble_bytes(20);
    let f = bubble.validate_with(&strict);
    assert_eq!(f.len(), 1);
    assert_eq!((f[0].severity, f[0].pointer.as_str()), (Severity::Error, ""));
}

#[test]
fn carousel_over_50_kb_is_an_error_and_the_threshold_is_configurable() {
    let bubbles: Vec<Value> = (0..2).map(|_| text_bubble(&"x".repeat(26_000))).collect();
    let doc = json!({"type":"carousel","contents":bubbles});
    let f = findings_of(doc.clone());
    assert_eq!(f, [(Severity::Error, String::new())], "only the carousel is too big");

    let carousel = Carousel::new([Bubble::new().body(vbox![Text::new("a")])]);
    let exact = serde_json::to_vec(&carousel).unwrap().len();
    assert!(carousel
        .validate_with(&ValidateOptions::default().max_carousel_bytes(exact))
        .is_empty());
    let f = carousel.validate_with(&ValidateOptions::default().max_carousel_bytes(exact - 1));
    assert_eq!(f.len(), 1, "the carousel size must be counted exactly: {f:?}");
}

#[test]
fn alt_text_must_be_1_to_1500_utf16_units() {
    let msg = |alt: &str| json!({"type":"flex","altText":alt,"contents":text_bubble("x")});
    assert_finding(msg(""), Severity::Error, "/altText");
    // 751 emoji are 1502 UTF-16 units but only 751 characters.
    assert_finding(msg(&"😀".repeat(751)), Severity::Error, "/altText");
    assert_clean(msg(&"😀".repeat(750)));
    assert_clean(msg(&"a".repeat(1500)));
    assert_finding(msg(&"a".repeat(1501)), Severity::Error, "/altText");
}

#[test]
fn media_urls_must_be_https_and_not_too_long() {
    let hero = |url: &str| json!({"type":"bubble","hero":{"type":"image","url":url}});
    assert_finding(hero("http://example.com/a.png"), Severity::Error, "/hero/url");
    let long = format!("https://example.com/{}", "a".repeat(2000));
    assert_finding(hero(&long), Severity::Error, "/hero/url");
    assert_clean(hero("https://example.com/a.png"));
    let icon = json!({"type":"bubble","body":{"type":"box","layout":"baseline","contents":[
        {"type":"icon","url":"ftp://example.com/a.png"}]}});
    assert_finding(icon, Severity::Error, "/body/contents/0/url");
}

#[test]
fn uri_actions_allow_http_https_line_and_tel_only() {
    let with_uri = |uri: &str| button_with(json!({"type":"uri","label":"go","uri":uri}));
    for ok in [
        "https://example.com",
        "http://example.com",
        "line://nv/location",
        "tel:0312345678",
    ] {
        assert_clean(with_uri(ok));
    }
    for bad in ["ftp://example.com", "javascript:alert(1)", "example.com", "https:/x"] {
        assert_finding(with_uri(bad), Severity::Error, "/body/contents/0/action/uri");
    }
    let long = format!("https://example.com/{}", "a".repeat(1000));
    assert_finding(with_uri(&long), Severity::Error, "/body/contents/0/action/uri");
    let alt = button_with(json!({"type":"uri","label":"go","uri":"https://a.example","altUri":{"desktop":"mailto:x"}}));
    assert_finding(alt, Severity::Error, "/body/contents/0/action/altUri/desktop");
}

#[test]
fn action_labels_are_at_most_40_grapheme_clusters() {
    let with_label = |label: &str| button_with(json!({"type":"message","label":label,"text":"hi"}));
    assert_finding(
        with_label(&"a".repeat(41)),
        Severity::Error,
        "/body/contents/0/action/label",
    );
    assert_clean(with_label(&"a".repeat(40)));
    // A family emoji is 7 scalar values but one grapheme cluster.
    assert_clean(with_label(&"👨‍👩‍👧‍👦".repeat(40)));
    assert_finding(
        with_label(&"👨‍👩‍👧‍👦".repeat(41)),
        Severity::Error,
        "/body/contents/0/action/label",
    );
}

#[test]
fn buttons_need_a_label() {
    assert_finding(
        button_with(json!({"type":"uri","uri":"https://example.com"})),
        Severity::Error,
        "/body/contents/0/action/label",
    );
}

#[test]
fn postback_data_is_at_most_300_characters() {
    let with_data = |data: &str| button_with(json!({"type":"postback","label":"p","data":data}));
    assert_finding(
        with_data(&"d".repeat(301)),
        Severity::Error,
        "/body/contents/0/action/data",
    );
    assert_clean(with_data(&"d".repeat(300)));
    let both = button_with(json!({"type":"postback","label":"p","data":"d","displayText":"a","text":"b"}));
    assert_finding(both, Severity::Error, "/body/contents/0/action/text");
}

#[test]
fn clipboard_text_is_1_to_1000_characters() {
    let with_text = |t: &str| button_with(json!({"type":"clipboard","label":"copy","clipboardText":t}));
    assert_finding(with_text(""), Severity::Error, "/body/contents/0/action/clipboardText");
    assert_finding(
        with_text(&"c".repeat(1001)),
        Severity::Error,
        "/body/contents/0/action/clipboardText",
    );
    assert_clean(with_text(&"c".repeat(1000)));
}

#[test]
fn datetimepicker_formats_and_min_not_after_max() {
    let picker = |mode: &str, extra: Value| {
        let mut a = json!({"type":"datetimepicker","label":"pick","data":"d","mode":mode});
        for (k, v) in extra.as_object().unwrap() {
            a[k] = v.clone();
        }
        button_with(a)
    };
    let at = |k: &str| format!("/body/contents/0/action/{k}");
    assert_clean(picker(
        "date",
        json!({"initial":"2024-02-29","min":"2024-01-01","max":"2024-12-31"}),
    ));
    assert_clean(picker("time", json!({"initial":"09:30","min":"00:00","max":"23:59"})));
    assert_clean(picker(
        "datetime",
        json!({"initial":"2024-02-01T10:00","min":"2024-02-01t00:00"}),
    ));
    assert_finding(
        picker("date", json!({"initial":"2024/01/01"})),
        Severity::Error,
        &at("initial"),
    );
    assert_finding(
        picker("date", json!({"initial":"2023-02-29"})),
        Severity::Error,
        &at("initial"),
    );
    assert_finding(picker("date", json!({"max":"2101-01-01"})), Severity::Error, &at("max"));
    assert_finding(picker("time", json!({"min":"24:00"})), Severity::Error, &at("min"));
    assert_finding(
        picker("datetime", json!({"max":"2024-01-01 10:00"})),
        Severity::Error,
        &at("max"),
    );
    assert_finding(
        picker("date", json!({"min":"2024-12-31","max":"2024-01-01"})),
        Severity::Error,
        &at("min"),
    );
    assert_finding(
        picker("time", json!({"min":"10:00","max":"09:00"})),
        Severity::Error,
        &at("min"),
    );
    assert_finding(
        picker("date", json!({"initial":"2025-01-01","max":"2024-12-31"})),
        Severity::Error,
        &at("initial"),
    );
    assert_finding(picker("week", json!({})), Severity::Error, &at("mode"));
}

#[test]
fn at_most_10_animated_images_per_message() {
    let images: Vec<Value> = (0..11)
        .map(|i| json!({"type":"image","url":format!("https://example.com/{i}.png"),"animated":true}))
        .collect();
    let doc = json!({"type":"bubble","body":{"type":"box","layout":"vertical","contents":images}});
    let f = findings_of(doc);
    assert_eq!(f, [(Severity::Error, "/body/contents/10/animated".to_owned())]);
    // Across the bubbles of a carousel too.
    let bubble = |n: usize| {
        let images: Vec<Value> = (0..n)
            .map(|_| json!({"type":"image","url":"https://example.com/a.png","animated":true}))
            .collect();
        json!({"type":"bubble","body":{"type":"box","layout":"vertical","contents":images}})
    };
    assert_finding(
        json!({"type":"carousel","contents":[bubble(6), bubble(5)]}),
        Severity::Error,
        "/contents/1/body/contents/4/animated",
    );
    assert_clean(json!({"type":"carousel","contents":[bubble(5), bubble(5)]}));
}

#[test]
fn aspect_ratio_bounds() {
    let hero =
        |r: &str| json!({"type":"bubble","hero":{"type":"image","url":"https://example.com/a.png","aspectRatio":r}});
    assert_clean(hero("1:3"));
    assert_clean(hero("20:13"));
    assert_finding(hero("1:4"), Severity::Error, "/hero/aspectRatio");
    assert_finding(hero("0:1"), Severity::Error, "/hero/aspectRatio");
    assert_finding(hero("100001:1"), Severity::Error, "/hero/aspectRatio");
    assert_finding(hero("16/9"), Severity::Error, "/hero/aspectRatio");
    assert!("1:4".parse::<AspectRatio>().is_err());
}

#[test]
fn decimal_aspect_ratios_are_a_warning_with_the_whole_number_ratio() {
    // LINE used 1.51:1 and 1.91:1 in its own examples and once listed them as fixed values.
    let hero =
        |r: &str| json!({"type":"bubble","hero":{"type":"image","url":"https://example.com/a.png","aspectRatio":r}});
    for (ratio, whole) in [
        ("1.91:1", "191:100"),
        ("1.51:1", "151:100"),
        ("1.5:1", "3:2"),
        ("4:2.5", "8:5"),
    ] {
        let doc = parse_document(hero(ratio).to_string().as_bytes()).unwrap();
        let f = doc.validate();
        assert_eq!(f.len(), 1, "{ratio}: {f:?}");
        assert_eq!(
            (f[0].severity, f[0].pointer.as_str()),
            (Severity::Warning, "/hero/aspectRatio")
        );
        assert!(f[0].message.contains(whole), "{ratio}: {}", f[0].message);
        let parsed: AspectRatio = ratio.parse().unwrap();
        assert_eq!(parsed.as_str(), ratio, "printed as read");
    }
    // Decimals do not lift the other limits.
    assert_finding(hero("1:3.5"), Severity::Error, "/hero/aspectRatio");
    assert_finding(hero("0.5:1"), Severity::Error, "/hero/aspectRatio");
    assert_finding(hero("1.:1"), Severity::Error, "/hero/aspectRatio");
    assert_finding(hero(".5:1"), Severity::Error, "/hero/aspectRatio");
    assert_finding(hero("-1.5:1"), Severity::Error, "/hero/aspectRatio");
}

#[test]
fn gradient_without_angle_is_an_error() {
    // LINE's reference marks `angle` as required.
    let doc = json!({"type":"bubble","body":{"type":"box","layout":"vertical","contents":[],
        "background":{"type":"linearGradient","startColor":"#ff0000","endColor":"#0000ff"}}});
    let f = findings_of(doc);
    assert_eq!(f, [(Severity::Error, "/body/background".to_owned())]);
    let built = Bubble::new().body(vbox![].background(LinearGradient::new(
        Angle::deg(90),
        Color::from_static("#ff0000"),
        Color::from_static("#0000ff"),
    )));
    assert!(built.validate().is_empty());
}

#[test]
fn absolute_first_child_is_a_warning() {
    let doc = body_with(json!({"type":"text","text":"x","position":"absolute"}));
    assert_eq!(
        findings_of(doc),
        [(Severity::Warning, "/body/contents/0/position".to_owned())]
    );
}

#[test]
fn video_rules() {
    let video = json!({"type":"video","url":"https://example.com/v.mp4","previewUrl":"https://example.com/p.png",
        "aspectRatio":"16:9","altContent":{"type":"image","url":"https://example.com/p.png","aspectRatio":"16:9"}});
    assert_clean(json!({"type":"bubble","size":"giga","hero":video.clone()}));
    // Not in a nano bubble.
    assert_finding(
        json!({"type":"bubble","size":"nano","hero":video.clone()}),
        Severity::Error,
        "/hero/type",
    );
    // Not in a carousel.
    assert_finding(
        json!({"type":"carousel","contents":[{"type":"bubble","hero":video.clone()}]}),
        Severity::Error,
        "/contents/0/hero/type",
    );
    // Only as the hero.
    assert_finding(body_with(video.clone()), Severity::Error, "/body/contents/0/type");
    // altContent is an image or a box.
    let mut bad_alt = video.clone();
    bad_alt["altContent"] = json!({"type":"text","text":"x"});
    assert_finding(
        json!({"type":"bubble","hero":bad_alt}),
        Severity::Error,
        "/hero/altContent/type",
    );
    // https only.
    let mut http = video.clone();
    http["previewUrl"] = json!("http://example.com/p.png");
    assert_finding(
        json!({"type":"bubble","hero":http}),
        Severity::Error,
        "/hero/previewUrl",
    );
    // Mismatched aspect ratios render badly.
    let mut mismatch = video;
    mismatch["aspectRatio"] = json!("1:1");
    assert_finding(
        json!({"type":"bubble","hero":mismatch}),
        Severity::Warning,
        "/hero/aspectRatio",
    );
}

#[test]
fn empty_text_is_an_error() {
    assert_finding(text_bubble(""), Severity::Error, "/body/contents/0/text");
    assert_finding(
        body_with(json!({"type":"text"})),
        Severity::Error,
        "/body/contents/0/text",
    );
    assert_clean(body_with(
        json!({"type":"text","contents":[{"type":"span","text":"a"}]}),
    ));
    assert_finding(
        body_with(json!({"type":"text","contents":[{"type":"span","text":""}]})),
        Severity::Error,
        "/body/contents/0/contents/0/text",
    );
}

#[test]
fn quick_reply_of_more_than_13_items_is_an_error() {
    let items = |n: usize| -> Vec<Value> {
        (0..n)
            .map(|i| json!({"type":"action","action":{"type":"message","label":format!("r{i}"),"text":"t"}}))
            .collect()
    };
    let msg = |n| json!({"type":"flex","altText":"alt","contents":text_bubble("x"),"quickReply":{"items":items(n)}});
    assert_finding(msg(14), Severity::Error, "/quickReply/items");
    assert_clean(msg(13));
    // Quick-reply labels are at most 20 grapheme clusters; camera is fine there.
    let long = json!({"type":"flex","altText":"alt","contents":text_bubble("x"),"quickReply":{"items":[
        {"type":"action","action":{"type":"camera","label":"c".repeat(21)}}]}});
    assert_finding(long, Severity::Error, "/quickReply/items/0/action/label");

    let built = FlexMessage::new("alt", Bubble::new().body(vbox![Text::new("x")])).quick_reply(QuickReply::new(
        (0..14).map(|i| QuickReplyItem::new(Message::new("t").label(format!("{i}")))),
    ));
    let f = built.validate();
    assert_eq!(f.len(), 1);
    assert_eq!(
        (f[0].severity, f[0].pointer.as_str()),
        (Severity::Error, "/quickReply/items")
    );
}

#[test]
fn non_flex_actions_and_misplaced_components_are_errors() {
    assert_finding(
        button_with(json!({"type":"camera","label":"c"})),
        Severity::Error,
        "/body/contents/0/action/type",
    );
    assert_finding(
        body_with(json!({"type":"icon","url":"https://example.com/i.png"})),
        Severity::Error,
        "/body/contents/0/type",
    );
    assert_finding(
        body_with(json!({"type":"span","text":"s"})),
        Severity::Error,
        "/body/contents/0/type",
    );
    let image_in_baseline = json!({"type":"bubble","body":{"type":"box","layout":"baseline","contents":[
        {"type":"image","url":"https://example.com/a.png"}]}});
    assert_finding(image_in_baseline, Severity::Error, "/body/contents/0/type");
    assert_finding(
        body_with(json!({"type":"carousel-item"})),
        Severity::Error,
        "/body/contents/0/type",
    );
    let text_hero = json!({"type":"bubble","hero":{"type":"text","text":"x"}});
    assert_finding(text_hero, Severity::Error, "/hero/type");
}

#[test]
fn unknown_keywords_and_bad_values_are_errors() {
    let doc = json!({"type":"bubble","body":{"type":"box","layout":"grid","contents":[]}});
    assert_finding(doc, Severity::Error, "/body/layout");
    assert_finding(
        body_with(json!({"type":"text","text":"x","size":"huge"})),
        Severity::Error,
        "/body/contents/0/size",
    );
    assert_finding(
        body_with(json!({"type":"text","text":"x","color":"red"})),
        Severity::Error,
        "/body/contents/0/color",
    );
    assert_finding(
        body_with(json!({"type":"text","text":"x","margin":"-3px"})),
        Severity::Error,
        "/body/contents/0/margin",
    );
    assert_clean(body_with(json!({"type":"text","text":"x","offsetTop":"-3px"})));
    assert_finding(
        body_with(json!({"type":"text","text":"x","lineSpacing":"-3px"})),
        Severity::Error,
        "/body/contents/0/lineSpacing",
    );
    assert_finding(
        body_with(json!({"type":"box","layout":"vertical","contents":[],"width":"wide"})),
        Severity::Error,
        "/body/contents/0/width",
    );
    assert_finding(
        body_with(json!({"type":"text","text":"x","weight":"heavy"})),
        Severity::Error,
        "/body/contents/0/weight",
    );
    assert_finding(json!({"type":"bubble","size":"tera"}), Severity::Error, "/size");
}

#[test]
fn bad_shapes_are_typed_parse_errors_with_a_pointer() {
    let err = parse_document(b"{not json").unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Syntax { line: 1, .. }), "{err:?}");

    let err = parse_document(br#"{"type":"bubble","body":{"type":"box","layout":"vertical"}}"#).unwrap_err();
    assert_eq!(err.pointer(), Some("/body"));
    assert!(err.to_string().contains("contents"), "{err}");

    let err = parse_document(
        br#"{"type":"bubble","body":{"type":"box","layout":"vertical","contents":[{"type":"text","text":"a","flex":"1"}]}}"#,
    )
    .unwrap_err();
    assert_eq!(err.pointer(), Some("/body/contents/0/flex"));

    let err = parse_document(br#"{"type":"image","url":"x"}"#).unwrap_err();
    assert_eq!(err.pointer(), Some("/type"));

    let err = parse_document(br#"{"type":"carousel","contents":[{"type":"box"}]}"#).unwrap_err();
    assert_eq!(err.pointer(), Some("/contents/0/type"));

    let err = parse_document(b"[1,2]").unwrap_err();
    assert_eq!(err.pointer(), Some(""));
}

#[test]
fn builders_cannot_break_the_grammar() {
    // Typed constructors print LINE's exact strings.
    let b = Bubble::new()
        .size(BubbleSize::Kilo)
        .hero(Image::new("https://example.com/a.png").aspect_ratio(AspectRatio::new(20, 13)))
        .body(vbox![
            Button::new(Postback::new("id=1").label("Buy")),
            Button::new(Clipboard::new("CODE").label("Copy")),
            Button::new(
                DatetimePicker::new("when", DatetimeMode::Date)
                    .min("2024-01-01")
                    .label("Date")
            ),
            Button::new(Uri::new("https://example.com").label("Open"))
        ]);
    assert!(b.validate().is_empty(), "{:?}", b.validate());
    let v = serde_json::to_value(&b).unwrap();
    assert_eq!(v["hero"]["aspectRatio"], "20:13");
    assert_eq!(v["size"], "kilo");
    assert_eq!(v["body"]["contents"][2]["action"]["type"], "datetimepicker");
}
