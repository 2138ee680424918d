//! Every fixture parses into the typed model and serializes back to the same JSON value.

use std::fs;
use std::path::PathBuf;

use line_flex::model::{FlexComponent, FlexContainer};
use line_flex::{parse_document, Document, Severity};
use serde_json::Value;

fn fixtures() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut out: Vec<(String, Vec<u8>)> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                fs::read(&p).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn there_are_24_fixtures() {
    assert_eq!(fixtures().len(), 24);
}

#[test]
fn every_fixture_round_trips_to_the_same_json_value() {
    for (name, bytes) in fixtures() {
        let input: Value = serde_json::from_slice(&bytes).unwrap();
        let doc = parse_document(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let output = serde_json::to_value(&doc).unwrap();
        assert_eq!(output, input, "{name} changed in a round trip");
        // And through `format_document`, which `linectl flex fmt` prints.
        let pretty: Value = serde_json::from_str(&line_flex::format_document(&bytes).unwrap()).unwrap();
        assert_eq!(pretty, input, "{name} changed through format_document");
        // `validate_document`, behind `linectl flex validate`, agrees with `validate()`.
        assert_eq!(line_flex::validate_document(&bytes).unwrap(), doc.validate(), "{name}");
    }
}

#[test]
fn fixtures_are_typed_not_just_kept_raw() {
    // A round trip through raw JSON would pass trivially; check that the
    // known containers really land in the typed model.
    for (name, bytes) in fixtures() {
        let doc = parse_document(&bytes).unwrap();
        match doc.container() {
            FlexContainer::Bubble(_) | FlexContainer::Carousel(_) => {}
            other => panic!("{name}: container was not typed: {other:?}"),
        }
    }
    let video = parse_document(&fs::read(fixture_path("java__reconstruction__VideoContent.json")).unwrap()).unwrap();
    assert!(matches!(
        video.container(),
        FlexContainer::Bubble(b) if matches!(b.hero, Some(FlexComponent::Video(_)))
    ));
    let msg =
        parse_document(&fs::read(fixture_path("php__SendFlexTest__testReplyFlex_message_quickReply.json")).unwrap())
            .unwrap();
    match msg {
        Document::Message(m) => assert_eq!(m.quick_reply.unwrap().items.unwrap().len(), 2),
        other => panic!("expected a flex message, got {other:?}"),
    }
}

fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

#[test]
fn legacy_spacer_fixtures_validate_with_a_warning_and_keep_the_spacer() {
    for name in [
        "java__legacy-line-bot-model__Menu.json",
        "java__legacy-line-bot-model__Ticket.json",
        "java__kitchensink__ExampleFlexMessageSupplier_message.json",
    ] {
        let bytes = fs::read(fixture_path(name)).unwrap();
        let doc = parse_document(&bytes).unwrap();
        let findings = doc.validate();
        let spacers: Vec<_> = findings.iter().filter(|f| f.message.contains("spacer")).collect();
        assert!(!spacers.is_empty(), "{name}: no spacer finding in {findings:?}");
        assert!(
            spacers.iter().all(|f| f.severity == Severity::Warning),
            "{name}: {spacers:?}"
        );
        assert!(
            !findings.iter().any(|f| f.is_error()),
            "{name}: unexpected errors {findings:?}"
        );
        let out = serde_json::to_string(&doc).unwrap();
        assert!(out.contains(r#""type":"spacer""#), "{name}: the spacer was dropped");
    }
    // Menu: the spacer is the first child of the footer.
    let doc = parse_document(&fs::read(fixture_path("java__legacy-line-bot-model__Menu.json")).unwrap()).unwrap();
    let pointers: Vec<_> = doc.validate().into_iter().map(|f| f.pointer).collect();
    assert_eq!(pointers, ["/footer/contents/0/type"]);
}

#[test]
fn flex_zero_and_max_lines_zero_survive() {
    let bytes = fs::read(fixture_path("go__flex_test__4_restaurant_like.json")).unwrap();
    let doc = parse_document(&bytes).unwrap();
    let out = serde_json::to_string(&doc).unwrap();
    assert!(out.contains(r#""maxLines":0"#));
    assert!(out.contains(r#""flex":0"#));
}

#[test]
fn offsets_keep_their_exact_text() {
    let bytes = fs::read(fixture_path("java__reconstruction__Apparel.json")).unwrap();
    let out = serde_json::to_string(&parse_document(&bytes).unwrap()).unwrap();
    assert!(out.contains(r#""offsetTop":"-2px""#));
    assert!(out.contains(r##""backgroundColor":"#03303Acc""##));
}

#[test]
fn official_templates_validate_without_errors() {
    for (name, bytes) in fixtures() {
        let doc = parse_document(&bytes).unwrap();
        let errors: Vec<_> = doc.validate().into_iter().filter(|f| f.is_error()).collect();
        assert!(errors.is_empty(), "{name}: {errors:#?}");
    }
}
