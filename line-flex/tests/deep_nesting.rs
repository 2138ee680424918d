//! Deeply nested input is a typed error or a clean parse, never a stack overflow.

use line_flex::limits::MAX_NESTING_DEPTH;
use line_flex::{parse_document, ErrorKind};

/// A bubble whose body holds `depth` more nested boxes around a text.
fn nested_boxes(depth: usize) -> String {
    let mut s = String::from(r#"{"type":"text","text":"x"}"#);
    for _ in 0..depth {
        s = format!(r#"{{"type":"box","layout":"vertical","contents":[{s}]}}"#);
    }
    format!(r#"{{"type":"bubble","body":{{"type":"box","layout":"vertical","contents":[{s}]}}}}"#)
}

/// The innermost text sits at `/body/contents/0` plus two steps per extra box.
const DEEPEST_ACCEPTED: usize = (MAX_NESTING_DEPTH - 3) / 2;

#[test]
fn the_deepest_accepted_document_fits_a_2_mib_stack_even_unoptimized() {
    // 2 MiB is the default stack of test threads and of tokio's worker threads.
    std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(|| {
            let doc = parse_document(nested_boxes(DEEPEST_ACCEPTED).as_bytes()).unwrap();
            assert!(doc.validate().is_empty());
            let json = serde_json::to_vec(&doc).unwrap();
            drop(doc);
            assert!(!json.is_empty());
        })
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn deeper_nesting_is_a_structure_error_with_a_pointer() {
    let err = parse_document(nested_boxes(DEEPEST_ACCEPTED + 1).as_bytes()).unwrap_err();
    match err.kind() {
        ErrorKind::Structure { pointer, .. } => assert!(pointer.len() > MAX_NESTING_DEPTH, "{pointer}"),
        other => panic!("expected a structure error, got {other:?}"),
    }
    // serde_json's own recursion limit turns far deeper input into a syntax error.
    let err = parse_document(nested_boxes(200).as_bytes()).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Syntax { .. }), "{err:?}");
}
