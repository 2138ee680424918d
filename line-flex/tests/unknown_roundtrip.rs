//! Open enums and unknown types keep their raw value through a round trip.

use line_flex::model::{Action, FlexBoxLayout, FlexBubble, FlexComponent, FlexContainer, FlexTextWeight};
use line_flex::{parse_document, Document, Severity};
use serde_json::{json, Value};

fn round_trip(v: &Value) -> Document {
    let doc = parse_document(v.to_string().as_bytes()).unwrap();
    assert_eq!(&serde_json::to_value(&doc).unwrap(), v);
    doc
}

fn bubble(doc: &Document) -> &FlexBubble {
    match doc.container() {
        FlexContainer::Bubble(b) => b,
        other => panic!("not a bubble: {other:?}"),
    }
}

#[test]
fn unknown_keywords_round_trip_and_are_kept_in_unknown() {
    let v = json!({"type":"bubble","body":{"type":"box","layout":"vertical","contents":[
        {"type":"text","text":"x","weight":"black","size":"6xl","margin":"huge"}]}});
    let doc = round_trip(&v);
    let Some(body) = &bubble(&doc).body else {
        panic!("no body")
    };
    assert_eq!(body.layout, FlexBoxLayout::Vertical);
    let FlexComponent::Text(t) = &body.contents[0] else {
        panic!("not a text")
    };
    assert_eq!(t.weight, Some(FlexTextWeight::Unknown("black".into())));
    assert_eq!(t.size.as_deref(), Some("6xl"));
    assert_eq!(t.margin.as_deref(), Some("huge"));
    let findings = doc.validate();
    assert_eq!(findings.len(), 3, "{findings:?}");
    assert!(findings.iter().all(|f| f.severity == Severity::Error));
}

#[test]
fn unknown_layout_round_trips() {
    let v = json!({"type":"bubble","body":{"type":"box","layout":"grid","contents":[{"type":"filler"}]}});
    let doc = round_trip(&v);
    let Some(body) = &bubble(&doc).body else {
        panic!("no body")
    };
    assert_eq!(body.layout, FlexBoxLayout::Unknown("grid".into()));
    let findings = doc.validate();
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(findings[0].pointer, "/body/layout");
}

#[test]
fn unknown_properties_round_trip_and_are_in_extra() {
    let v = json!({"type":"bubble","futureFlag":{"a":[1,2]},"body":{"type":"box","layout":"vertical",
        "contents":[{"type":"text","text":"x","newProp":null,"maxLines":0}],"x-ray":true}});
    let doc = round_trip(&v);
    let b = bubble(&doc);
    assert_eq!(b.extra.get("futureFlag"), Some(&json!({"a":[1,2]})));
    assert_eq!(b.body.as_ref().unwrap().extra.get("x-ray"), Some(&json!(true)));
}

#[test]
fn unknown_action_component_and_hero_types_round_trip() {
    let v = json!({"type":"bubble",
        "hero":{"type":"video","url":"https://example.com/v.mp4","previewUrl":"https://example.com/p.png",
            "altContent":{"type":"image","url":"https://example.com/p.png"}},
        "size":"nano",
        "body":{"type":"box","layout":"vertical","contents":[
            {"type":"button","action":{"type":"richmenuswitch","label":"x","richMenuAliasId":"a","data":"d"}},
            {"type":"hologram","intensity":3}]}});
    let doc = round_trip(&v);
    let b = bubble(&doc);
    // A video hero parses as a video; the nano size is what validation rejects.
    assert!(matches!(b.hero, Some(FlexComponent::Video(_))));
    let children = &b.body.as_ref().unwrap().contents;
    let FlexComponent::Button(button) = &children[0] else {
        panic!()
    };
    assert!(matches!(button.action, Action::Richmenuswitch(_)));
    assert!(matches!(&children[1], FlexComponent::Unknown { kind, .. } if kind == "hologram"));
    let pointers: Vec<_> = doc.validate().into_iter().map(|f| (f.severity, f.pointer)).collect();
    assert_eq!(
        pointers,
        [
            (Severity::Error, "/hero/type".to_owned()),
            (Severity::Error, "/body/contents/0/action/type".to_owned()),
            (Severity::Error, "/body/contents/1/type".to_owned()),
        ]
    );
}

#[test]
fn unknown_container_inside_a_flex_message_round_trips() {
    let v = json!({"type":"flex","altText":"a","contents":{"type":"hyperbubble","x":1},"sender":{"name":"Bot"}});
    let doc = round_trip(&v);
    assert!(matches!(doc.container(), FlexContainer::Unknown { kind, .. } if kind == "hyperbubble"));
    let f = doc.validate();
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].pointer, "/contents/type");
}

#[test]
fn documents_deserialize_through_serde_too() {
    let v = json!({"type":"carousel","contents":[{"type":"bubble"}]});
    let doc: Document = serde_json::from_value(v.clone()).unwrap();
    assert_eq!(serde_json::to_value(&doc).unwrap(), v);
    let err = serde_json::from_value::<Document>(json!({"type":"carousel"})).unwrap_err();
    assert!(err.to_string().contains("contents"), "{err}");
}
