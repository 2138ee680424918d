//! The line-segments adapter (feature `segments`).
#![cfg(feature = "segments")]

mod common;

use std::sync::Arc;

use common::*;
use line_popup::engine::Reason;
use line_popup::segment::{LineSegment, VisitorProfiles};
use line_popup::{PopupConfig, PopupEngine, VisitorContext};
use line_segments::profile::{Profile, Value};

#[derive(Debug)]
struct Profiles;

#[async_trait::async_trait]
impl VisitorProfiles for Profiles {
    async fn profile(&self, v: &VisitorContext) -> Result<Option<Profile>, line_popup::Error> {
        Ok(match v.visitor_id.as_str() {
            "alice" => Some(Profile::new("U1").with_attr("gender", Value::Str("female".into()))),
            "bob" => Some(Profile::new("U2").with_attr("gender", Value::Str("male".into()))),
            _ => None,
        })
    }
}

#[tokio::test]
async fn a_line_segment_targets_a_campaign() {
    let seg = LineSegment::parse("women", r#"gender = "female""#, Arc::new(Profiles)).unwrap();
    let mut c = campaign("women-only");
    c.targeting.segment = Some("women".into());
    let engine = PopupEngine::builder(
        PopupConfig::new("@baroque", vec![c]),
        Arc::new(line_popup::InMemoryStore::new()),
        Arc::new(line_core::clock::ManualClock::new(start())),
    )
    .segment("women", Arc::new(seg))
    .build()
    .unwrap();
    assert!(engine.decide(&view("alice")).await.unwrap().showing().is_some());
    assert_eq!(
        engine.decide(&view("bob")).await.unwrap().reason(),
        Some(Reason::Segment)
    );
    assert_eq!(
        engine.decide(&view("carol")).await.unwrap().reason(),
        Some(Reason::Segment)
    );
}

#[test]
fn a_bad_segment_is_a_typed_error() {
    let e = LineSegment::parse("broken", "gender = = ", Arc::new(Profiles)).unwrap_err();
    assert_eq!(e.kind(), &line_popup::ErrorKind::Segment { name: "broken".into() });
}
