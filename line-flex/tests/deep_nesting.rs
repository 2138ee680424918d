//! Deeply nested input is a typed error or a clean parse, never a stack overflow.

use line_flex::{parse_document, ErrorKind};

fn nested_boxes(depth: usize) -> String {
    let mut s = String::from(r#"{"type":"text","text":"x"}"#);
    for _ in 0..depth {
        s = format!(r#"{{"type":"box","layout":"vertical","contents":[{s}]}}"#);
    }
    format!(r#"{{"type":"bubble","body":{s}}}"#)
}

#[test]
fn realistic_nesting_parses_and_validates_on_a_small_stack() {
    // Run on a thread with a small (256 KiB) stack to catch large frames.
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(|| {
            let doc = parse_document(nested_boxes(10).as_bytes()).unwrap();
            assert!(doc.validate().is_empty());
        })
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn absurd_nesting_is_a_structure_error() {
    let err = parse_document(nested_boxes(40).as_bytes()).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Structure { .. }), "{err:?}");
    // serde_json's own recursion limit turns deeper input into a syntax error.
    let err = parse_document(nested_boxes(200).as_bytes()).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Syntax { .. }), "{err:?}");
}
