//! Inputs found by the fuzz targets (`fuzz/`), kept as tests.

use line_segments::{json, text};

/// Found by `segments_text`: the text form accepts a segment nested 200 `not`s deep, and its JSON
/// value reads back, but its JSON text does not (the JSON reader stops at 128 levels). A segment
/// the text form accepts must survive the interchange format; either the text form limits nesting
/// as the JSON text form does, or the JSON text form reads what the JSON form writes.
#[test]
fn a_segment_the_text_form_accepts_reads_back_from_its_json_text() {
    // A large stack: this test is about the JSON text, not about the depth the parser handles
    // on a small stack (debug builds recurse in big frames).
    std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(text_to_json_text_round_trip)
        .unwrap()
        .join()
        .unwrap();
}

fn text_to_json_text_round_trip() {
    let src = format!("{}a", "not ".repeat(200));
    let Ok(segment) = text::parse(&src) else {
        return; // rejected up front: nothing to round-trip
    };
    let value = serde_json::to_value(&segment).unwrap();
    assert_eq!(json::from_json(&value).unwrap(), segment);
    let written = value.to_string();
    let read = json::from_json_str(&written).unwrap_or_else(|e| panic!("the JSON text does not read back: {e}"));
    assert_eq!(read, segment);
}

/// Found by `segments_json`: an integer the JSON form read (999999999999999996) printed as
/// text that the text form refused (it reads integers below 9e15 in magnitude). The JSON
/// form now refuses it too, with the pointer; an integer within the bound still goes both ways.
#[test]
fn json_integers_stay_within_what_the_text_form_reads() {
    let big = r#"{"calendar": "day", "attr": "birthday", "tz": "UTC", "in": [0, 999999999999999996]}"#;
    let err = json::from_json_str(big).expect_err("an integer the text form cannot read");
    assert!(err.to_string().contains("/in/1"), "{err}");

    let ok = r#"{"calendar": "day", "attr": "birthday", "tz": "UTC", "in": [0, 8999999999999999]}"#;
    let segment = json::from_json_str(ok).expect("an integer within the bound");
    let printed = segment.to_string();
    assert_eq!(text::parse(&printed).expect("its text parses"), segment, "{printed}");
}

/// Found by `segments_json`: an occurrence test (`last(purse, 365d) before 1`) took a number
/// where the text form reads only a date or timestamp, so its printed form did not parse. The
/// JSON form now refuses it as it does for an attribute's `before`, with the pointer; a
/// timestamp still goes both ways.
#[test]
fn an_occurrence_compares_with_a_date_or_timestamp_only() {
    let number = r#"{"last": {"event": "purse"}, "window": "365d", "before": 1}"#;
    let err = json::from_json_str(number).expect_err("a number is not a time");
    assert!(err.to_string().contains("/before"), "{err}");
    assert!(err.to_string().contains("found a"), "{err}");

    let ok = r#"{"last": {"event": "purse"}, "window": "365d", "after": {"timestamp": "2026-05-01T00:00:00Z"}}"#;
    let segment = json::from_json_str(ok).expect("a timestamp");
    let printed = text::print(&segment);
    assert_eq!(text::parse(&printed).expect("its text parses"), segment, "{printed}");
}
