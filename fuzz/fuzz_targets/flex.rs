//! Flex documents: parse, validate, and the lossless round trip (the
//! document serializes to the input's JSON value and parses back equal).
#![no_main]

use libfuzzer_sys::fuzz_target;
use line_flex::{Document, ErrorKind};
use serde_json::Value;

fuzz_target!(|bytes: &[u8]| {
    // Never panics, whatever the input.
    let checked = line_flex::validate_document(bytes);
    let doc = match line_flex::parse_document(bytes) {
        Ok(doc) => doc,
        Err(e) => {
            // A shape error becomes one finding; anything else stays an error.
            match (e.kind(), &checked) {
                (ErrorKind::Structure { pointer, .. }, Ok(findings)) => {
                    assert_eq!(findings.len(), 1);
                    assert_eq!(&findings[0].pointer, pointer);
                }
                (ErrorKind::Structure { .. }, Err(_)) => panic!("a shape error did not become a finding"),
                (_, Ok(_)) => panic!("validate_document accepted what parse_document rejected: {e}"),
                (_, Err(_)) => {}
            }
            return;
        }
    };
    let findings = doc.validate();
    assert_eq!(
        checked.as_ref().ok(),
        Some(&findings),
        "validate_document differs from validate"
    );

    // Lossless: the document serializes to the input's JSON value...
    let input: Value = serde_json::from_slice(bytes).expect("a parsed document is JSON");
    let output = serde_json::to_value(&doc).expect("a document serializes");
    assert_eq!(output, input, "the round trip changed the JSON value");
    // ...parses back equal, and validates the same.
    let again = Document::from_value(output).expect("a serialized document parses");
    assert_eq!(again, doc, "parse(serialize(doc)) differs");
    assert_eq!(
        again.validate(),
        findings,
        "the reparsed document validates differently"
    );
    let pretty = line_flex::format_document(bytes).expect("a parsed document formats");
    assert_eq!(line_flex::parse_document(pretty.as_bytes()).ok().as_ref(), Some(&doc));

    // A whole flex message is already line-model's; as a `Message` it serializes the same.
    if let Document::Message(message) = doc {
        let json = serde_json::to_value(&message).expect("a flex message serializes");
        let wire = line_flex::model::Message::from(message);
        let back = serde_json::to_value(&wire).expect("a message serializes");
        assert_eq!(back, json, "line-model's Message changed the flex message JSON");
    }
});
