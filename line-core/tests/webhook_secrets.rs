//! The channel secret never shows in Debug, Display or error output.

use line_core::clock::ManualClock;
use line_core::webhook::account_link::{AccountLink, InMemoryNonceStore};
use line_core::webhook::dedupe::{Deduper, InMemoryDedupeStore};
use line_core::webhook::{parse, verify, verify_and_parse, WebhookVerifier};
use line_core::ChannelSecret;

const SECRET: &str = "very-secret-channel-key-31337";

#[test]
fn no_output_contains_the_secret_or_the_expected_signature() {
    let secret = ChannelSecret::new(SECRET);
    let verifier = WebhookVerifier::new(&secret);
    let body = br#"{"destination":"U0","events":[]}"#;
    let expected = verifier.sign(body);
    let wrong = WebhookVerifier::new(&ChannelSecret::new("other")).sign(body);

    let mut outputs = vec![
        format!("{secret:?}"),
        format!("{secret:#?}"),
        format!("{verifier:?}"),
        format!("{verifier:#?}"),
    ];
    let errors = [
        verifier.verify(body, None).unwrap_err(),
        verifier.verify(body, Some("!!")).unwrap_err(),
        verifier.verify(body, Some(&wrong)).unwrap_err(),
        verify(&secret, b"tampered", Some(&expected)).unwrap_err(),
        verify_and_parse(&secret, body, Some(&wrong)).unwrap_err(),
        verifier
            .verify_and_parse(b"{]", Some(&verifier.sign(b"{]")))
            .unwrap_err(),
        parse(SECRET.as_bytes()).unwrap_err(),
    ];
    for e in &errors {
        outputs.push(format!("{e}"));
        outputs.push(format!("{e:?}"));
        outputs.push(format!("{e:#?}"));
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            outputs.push(format!("{s} {s:?}"));
            source = s.source();
        }
    }
    let clock = ManualClock::new("2026-05-01T00:00:00Z".parse().unwrap());
    outputs.push(format!(
        "{:?}",
        Deduper::new(InMemoryDedupeStore::with_clock(clock.clone()))
    ));
    outputs.push(format!("{:?}", AccountLink::new(InMemoryNonceStore::with_clock(clock))));

    for out in &outputs {
        assert!(!out.contains(SECRET), "secret leaked: {out}");
        assert!(!out.contains(&expected), "expected signature leaked: {out}");
    }
    assert!(outputs.iter().any(|o| o.contains("<redacted>")));
}

#[test]
fn parse_errors_do_not_echo_the_body_beyond_the_offending_token() {
    // serde_json quotes at most the offending token; a secret elsewhere in the body stays out.
    let body = format!(r#"{{"destination":"{SECRET}","events":"x"}}"#);
    let e = parse(body.as_bytes()).unwrap_err();
    assert!(!format!("{e} {e:?}").contains(SECRET));
    // Nor does the error of an invalid event.
    let body = format!(r#"{{"destination":"{SECRET}","events":[{{"type":"unfollow","timestamp":"x"}}]}}"#);
    let request = parse(body.as_bytes()).unwrap();
    let line_core::webhook::Event::Invalid { error, .. } = &request.events[0] else {
        panic!("{:?}", request.events[0])
    };
    assert!(!format!("{error} {error:?}").contains(SECRET));
}
