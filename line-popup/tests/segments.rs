//! The line-segments adapter and the profile source.

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
    let seg = LineSegment::parse("women", r#"gender = "female""#).unwrap();
    let mut c = campaign("women-only");
    c.targeting.segment = Some("women".into());
    let engine = PopupEngine::builder(
        PopupConfig::new("@baroque", vec![c]),
        Arc::new(line_popup::InMemoryStore::new()),
        Arc::new(line_core::clock::ManualClock::new(start())),
    )
    .segment("women", Arc::new(seg))
    .profiles(Arc::new(Profiles))
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
    let e = LineSegment::parse("broken", "gender = = ").unwrap_err();
    assert_eq!(e.kind(), &line_popup::ErrorKind::Segment { name: "broken".into() });
}

/// Counts lookups, and fails for the visitor "broken".
#[derive(Debug, Default)]
struct Counting(std::sync::atomic::AtomicUsize);

#[async_trait::async_trait]
impl VisitorProfiles for Counting {
    async fn profile(&self, v: &VisitorContext) -> Result<Option<Profile>, line_popup::Error> {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if v.visitor_id == "broken" {
            return Err(line_popup::Error::invalid_input("visitor", "the profile store is down"));
        }
        Ok(Some(
            Profile::new("U1").with_attr("gender", Value::Str("female".into())),
        ))
    }
}

#[tokio::test]
async fn the_profile_is_looked_up_once_per_decision_and_its_failure_fails_closed() {
    let profiles = Arc::new(Counting::default());
    let mut a = campaign("first");
    a.targeting.segment = Some("men".into());
    let mut b = campaign("second");
    b.targeting.segment = Some("women".into());
    // A closure over the visitor is a condition too.
    let men: Arc<line_popup::PopupSegment> = Arc::new(|v: &line_popup::Visitor<'_>, _now: jiff::Timestamp| {
        v.profile
            .map(|p| p.attributes.get("gender") == Some(&Value::Str("male".into())))
    });
    let engine = PopupEngine::builder(
        PopupConfig::new("@baroque", vec![a, b]),
        Arc::new(line_popup::InMemoryStore::new()),
        Arc::new(line_core::clock::ManualClock::new(start())),
    )
    .segment("men", men)
    .segment(
        "women",
        Arc::new(LineSegment::parse("women", r#"gender = "female""#).unwrap()),
    )
    .profiles(profiles.clone())
    .build()
    .unwrap();
    let d = engine.decide(&view("alice")).await.unwrap();
    assert_eq!(d.showing().map(|s| &*s.campaign), Some("second"));
    assert_eq!(profiles.0.load(std::sync::atomic::Ordering::SeqCst), 1);
    let err = engine.decide(&view("broken")).await.unwrap_err();
    assert_eq!(err.kind(), &line_popup::ErrorKind::Segment { name: "men".into() });
}

#[tokio::test]
async fn without_a_profile_source_a_line_segment_matches_nobody() {
    let mut c = campaign("women-only");
    c.targeting.segment = Some("women".into());
    let engine = PopupEngine::builder(
        PopupConfig::new("@baroque", vec![c]),
        Arc::new(line_popup::InMemoryStore::new()),
        Arc::new(line_core::clock::ManualClock::new(start())),
    )
    .segment(
        "women",
        Arc::new(LineSegment::parse("women", r#"gender = "female""#).unwrap()),
    )
    .build()
    .unwrap();
    assert_eq!(
        engine.decide(&view("alice")).await.unwrap().reason(),
        Some(Reason::Segment)
    );
}
