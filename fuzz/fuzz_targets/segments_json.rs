//! Segment JSON: parse → to_json → parse gives the same segment, and the
//! text form of a parsed segment parses and prints stably. (The text form
//! has no one-member `all`/`any`, so it may read back as a simpler segment.)
#![no_main]

use libfuzzer_sys::fuzz_target;
use line_segments::{json, text};

fuzz_target!(|bytes: &[u8]| {
    let Ok(src) = std::str::from_utf8(bytes) else { return };
    let Ok(segment) = json::from_json_str(src) else { return };
    let value = serde_json::to_value(&segment).expect("a parsed segment has a JSON form");
    let back = json::from_json(&value).unwrap_or_else(|e| panic!("the JSON form {value} does not parse: {e}"));
    assert_eq!(back, segment, "from_json(to_json(segment)) differs; JSON {value}");
    assert_eq!(
        serde_json::to_value(&back).expect("a parsed segment has a JSON form"),
        value,
        "to_json is not stable"
    );

    let printed = text::print(&segment);
    let from_text =
        text::parse(&printed).unwrap_or_else(|e| panic!("the printed form {printed:?} does not parse: {e}"));
    assert_eq!(text::print(&from_text), printed, "print(parse(print(segment))) differs");
});
