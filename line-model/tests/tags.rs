//! A variant struct read on its own checks the tag it carries.

use line_model::{FlexBubble, FlexCarousel, FlexContainer, Message, TextMessage};

fn pointer_and_message<T: serde::de::DeserializeOwned + std::fmt::Debug>(json: &str) -> (String, String) {
    let mut de = serde_json::Deserializer::from_str(json);
    let err = serde_path_to_error::deserialize::<_, T>(&mut de).unwrap_err();
    let pointer = err
        .path()
        .iter()
        .map(|s| match s {
            serde_path_to_error::Segment::Seq { index } => format!("/{index}"),
            other => format!("/{other}"),
        })
        .collect::<String>();
    (pointer, err.inner().to_string())
}

#[test]
fn a_text_message_is_not_read_from_an_image() {
    let (pointer, message) = pointer_and_message::<TextMessage>(r#"{"type":"image","text":"hi"}"#);
    assert_eq!(pointer, "/type");
    assert!(message.starts_with(r#"expected "text", found "image""#), "{message}");
}

#[test]
fn a_tag_that_is_not_a_string_is_refused() {
    let (pointer, message) = pointer_and_message::<TextMessage>(r#"{"text":"hi","type":5}"#);
    assert_eq!(pointer, "/type");
    assert!(message.contains("expected a string"), "{message}");
}

#[test]
fn a_carousel_item_must_be_a_bubble() {
    let json = r#"{"type":"carousel","contents":[{"type":"bubble"},{"type":"box","layout":"vertical","contents":[]}]}"#;
    let (pointer, message) = pointer_and_message::<FlexCarousel>(json);
    assert_eq!(pointer, "/contents/1/type");
    assert!(message.starts_with(r#"expected "bubble", found "box""#), "{message}");
    // Through the union as well.
    let (pointer, _) = pointer_and_message::<FlexContainer>(json);
    assert_eq!(pointer, "/contents/1/type");
}

#[test]
fn the_right_tag_or_none_still_reads() {
    let m: TextMessage = serde_json::from_str(r#"{"type":"text","text":"hi"}"#).unwrap();
    assert_eq!(m.text, "hi");
    assert_eq!(serde_json::to_string(&m).unwrap(), r#"{"type":"text","text":"hi"}"#);
    // The struct knows its kind, so a missing tag is not an error (as before).
    let m: TextMessage = serde_json::from_str(r#"{"text":"hi"}"#).unwrap();
    assert_eq!(
        serde_json::to_value(&m).unwrap(),
        serde_json::json!({"type": "text", "text": "hi"})
    );
    let b: FlexBubble = serde_json::from_str(r#"{"size":"kilo","type":"bubble"}"#).unwrap();
    assert!(b.extra.is_empty());
}

#[test]
fn unions_still_find_the_tag_anywhere() {
    let m: Message = serde_json::from_str(r#"{"text":"hi","type":"text"}"#).unwrap();
    assert_eq!(m.kind(), "text");
    let c: FlexContainer = serde_json::from_str(r#"{"contents":[{"type":"bubble"}],"type":"carousel"}"#).unwrap();
    assert_eq!(c.kind(), "carousel");
}
