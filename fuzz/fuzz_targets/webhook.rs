//! Webhook bodies: `webhook::parse` (the direct reader, with serde as its
//! fallback) must agree with the serde path alone, and an accepted body must
//! serialize back to the same JSON value (the lossless round trip).
//!
//! The serde path reads the body as UTF-8 text first: JSON is UTF-8, and
//! `serde_json::from_slice` does not check the strings it skips.
#![no_main]

use libfuzzer_sys::fuzz_target;
use line_core::webhook::{self, CallbackRequest};
use serde_json::Value;

fuzz_target!(|body: &[u8]| {
    let ours = webhook::parse(body);
    let serde_path = match std::str::from_utf8(body) {
        Ok(text) => serde_json::from_str::<CallbackRequest>(text).map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    let request = match (ours, serde_path) {
        (Ok(ours), Ok(theirs)) => {
            assert_eq!(
                ours, theirs,
                "webhook::parse and the serde path build different requests"
            );
            ours
        }
        (Err(_), Err(_)) => return,
        (Ok(ours), Err(e)) => panic!("webhook::parse accepts a body the serde path rejects ({e}): {ours:?}"),
        (Err(e), Ok(theirs)) => panic!("webhook::parse rejects a body the serde path accepts ({e}): {theirs:?}"),
    };

    // Lossless: the request serializes to the body's own JSON value.
    let input: Value = serde_json::from_slice(body).expect("an accepted body is JSON");
    let output = serde_json::to_value(&request).expect("a request serializes");
    assert_eq!(output, input, "the round trip changed the JSON value");

    // And the serialized form parses back to the same JSON value. (Not to an
    // equal request: an event kept as raw JSON keeps its text, spaces included.)
    let text = serde_json::to_vec(&request).expect("a request serializes");
    let again = webhook::parse(&text).expect("a serialized request parses");
    let again = serde_json::to_value(&again).expect("a request serializes");
    assert_eq!(again, input, "parse(serialize(request)) has another JSON value");
});
