//! Segment text: parse → print → parse gives the same segment, and the JSON
//! form of a parsed segment reads back to it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use line_segments::{json, text};

fuzz_target!(|bytes: &[u8]| {
    let Ok(src) = std::str::from_utf8(bytes) else { return };
    let Ok(segment) = text::parse(src) else { return };
    let printed = text::print(&segment);
    assert_eq!(segment.to_string(), printed);
    let back = text::parse(&printed).unwrap_or_else(|e| panic!("the printed form {printed:?} does not parse: {e}"));
    assert_eq!(back, segment, "parse(print(segment)) differs; printed {printed:?}");
    assert_eq!(text::print(&back), printed, "printing is not stable");

    let value = serde_json::to_value(&segment).expect("a parsed segment has a JSON form");
    let from_json = json::from_json(&value).unwrap_or_else(|e| panic!("the JSON form {value} does not parse: {e}"));
    assert_eq!(from_json, segment, "from_json(to_json(segment)) differs; JSON {value}");
    let json_text = value.to_string();
    let from_text = json::from_json_str(&json_text).unwrap_or_else(|e| panic!("{json_text} does not parse: {e}"));
    assert_eq!(from_text, segment);
});
