//! A `line-segments` compiled segment works as a policy condition.

use line_richmenu::segments::CompiledSegmentCondition;
use line_richmenu::store::UserContext;
use line_richmenu::{Condition, Policy, Target};
use line_segments::eval::CompiledSegment;

#[test]
fn a_text_segment_selects_linked_vip_users_and_unknown_does_not_match() {
    let seg = line_segments::text::parse(r#"line.id_linked and rank = "gold""#).unwrap();
    let cond = Condition::segment(CompiledSegmentCondition(CompiledSegment::compile(&seg).unwrap()));
    let p = Policy::new("guest").rule("gold members", cond, "gold");
    let now = "2026-03-01T00:00:00Z".parse().unwrap();
    let mut gold = UserContext::new("U00000000000000000000000000000001").linked(true);
    gold.attributes.insert("rank".into(), "gold".into());
    assert_eq!(p.evaluate(&gold, now).target, Target::from("gold"));
    let mut silver = gold.clone();
    silver.attributes.insert("rank".into(), "silver".into());
    assert_eq!(p.evaluate(&silver, now).target, Target::from("guest"));
    // No rank at all: unknown, so the rule does not match.
    let unranked = UserContext::new("U00000000000000000000000000000002").linked(true);
    assert_eq!(p.evaluate(&unranked, now).target, Target::from("guest"));
}
