//! Personalization templates and conversion into line-model messages.

use std::collections::HashMap;

use line_flex::action::{Message as MessageAction, Uri};
use line_flex::model::Message;
use line_flex::template::Template;
use line_flex::{
    parse_document, vbox, Bubble, Button, Carousel, Document, ErrorKind, FlexMessage, QuickReply, QuickReplyItem, Text,
};
use serde_json::{json, Value};

fn tier_bubble() -> Bubble {
    Bubble::new()
        .body(vbox![
            Text::new("{name}さん、いつもありがとう"),
            Text::new("¥{remaining_yen} more to reach REINE"),
            Text::new("Literal braces: {{not_a_var}} and {also not}"),
        ])
        .footer(vbox![Button::new(
            Uri::new("https://example.com/tier?u={user_id}").label("See {name}'s tier")
        )])
}

#[test]
fn template_renders_every_recipient_and_escapes_values() {
    let t = Template::new(&tier_bubble()).unwrap();
    assert_eq!(t.variables(), ["name", "remaining_yen", "user_id"]);

    let mut vars = HashMap::new();
    vars.insert("name", "Aoi \"\\ \n");
    vars.insert("remaining_yen", "3,200");
    vars.insert("user_id", "U1");
    let rendered: Value = serde_json::from_str(&t.render(&vars).unwrap()).unwrap();
    let mut expected = serde_json::to_value(tier_bubble()).unwrap();
    expected["body"]["contents"][0]["text"] = json!("Aoi \"\\ \nさん、いつもありがとう");
    expected["body"]["contents"][1]["text"] = json!("¥3,200 more to reach REINE");
    expected["body"]["contents"][2]["text"] = json!("Literal braces: {not_a_var} and {also not}");
    expected["footer"]["contents"][0]["action"]["uri"] = json!("https://example.com/tier?u=U1");
    expected["footer"]["contents"][0]["action"]["label"] = json!("See Aoi \"\\ \n's tier");
    assert_eq!(rendered, expected);

    // The positional fast path gives the same bytes.
    let mut out = String::new();
    t.render_values(&["Aoi \"\\ \n", "3,200", "U1"], &mut out).unwrap();
    assert_eq!(out, t.render(&vars).unwrap());
}

#[test]
fn missing_variable_is_an_error_naming_it_and_its_place() {
    let t = Template::new(&tier_bubble()).unwrap();
    let err = t.render(&[("name", "Aoi"), ("remaining_yen", "1")]).unwrap_err();
    assert_eq!(
        err.kind(),
        &ErrorKind::MissingVariable {
            name: "user_id".into(),
            pointer: "/footer/contents/0/action/uri".into()
        }
    );
    let mut out = String::new();
    assert!(t.render_values(&["only one"], &mut out).is_err());
}

#[test]
fn rendered_documents_can_be_validated_per_recipient() {
    let t = Template::message("{name}: your coupon", Bubble::new().body(vbox![Text::new("Hi {name}")])).unwrap();
    let ok = t.render_document(&[("name", "Aoi")]).unwrap();
    assert!(ok.validate().is_empty());
    let too_long = "x".repeat(1500);
    let bad = t.render_document(&[("name", too_long.as_str())]).unwrap();
    let f = bad.validate();
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].pointer, "/altText");
}

#[test]
fn a_template_without_variables_renders_the_document_unchanged() {
    let c = Carousel::new((0..3).map(|i| Bubble::new().body(vbox![Text::new(format!("#{i}"))])));
    let t = Template::new(&c).unwrap();
    assert!(t.variables().is_empty());
    assert_eq!(
        t.render(&[] as &[(&str, &str)]).unwrap(),
        serde_json::to_string(&c).unwrap()
    );
}

#[test]
fn into_message_gives_a_line_model_flex_message() {
    let bubble = Bubble::new().body(vbox![Text::new("hello")]);
    let expected = json!({"type":"flex","altText":"hello alt","contents":serde_json::to_value(&bubble).unwrap()});
    let message = bubble.clone().into_message("hello alt");
    assert!(matches!(message, Message::Flex(_)));
    assert_eq!(serde_json::to_value(&message).unwrap(), expected);

    // The conversion cannot fail; an empty altText is what validation reports.
    let f = bubble.message("").validate();
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].pointer, "/altText");
}

#[test]
fn whole_flex_message_with_quick_reply_converts() {
    let msg = FlexMessage::new("alt", Bubble::new().body(vbox![Text::new("x")])).quick_reply(QuickReply::new([
        QuickReplyItem::new(MessageAction::new("yes").label("Yes")),
    ]));
    assert!(msg.validate().is_empty());
    let json = serde_json::to_value(&msg).unwrap();
    assert_eq!(
        json["quickReply"]["items"][0],
        json!({"type":"action","action":{"type":"message","label":"Yes","text":"yes"}})
    );
    let message = Message::from(msg);
    assert_eq!(serde_json::to_value(&message).unwrap(), json);
    // And it parses back as a whole flex message.
    let doc = parse_document(json.to_string().as_bytes()).unwrap();
    assert!(matches!(doc, Document::Message(_)));
}

#[test]
fn every_fixture_converts_into_a_line_model_message_losslessly() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let doc = parse_document(&std::fs::read(&path).unwrap()).unwrap();
        let (json, message) = match doc {
            Document::Container(c) => (
                json!({"type":"flex","altText":"alt","contents":c}),
                Message::from(line_flex::model::FlexMessage::new("alt", c)),
            ),
            Document::Message(m) => (serde_json::to_value(&m).unwrap(), Message::from(m)),
        };
        assert_eq!(serde_json::to_value(&message).unwrap(), json, "{}", path.display());
    }
}
