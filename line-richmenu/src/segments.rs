//! An adapter from `line-segments` compiled segments to [`SegmentCondition`] (feature `segments`).

use jiff::Timestamp;
use line_segments::eval::{CompiledSegment, Truth};
use line_segments::profile::{Profile, Value};

use crate::policy::SegmentCondition;
use crate::store::UserContext;

/// A compiled segment used as a policy condition. The user's context becomes a profile:
/// `line.id_linked` and `line.store` from the context, each attribute as a string attribute,
/// and the tags as the set attribute `tags`. `unknown` does not match.
#[derive(Debug)]
pub struct CompiledSegmentCondition(pub CompiledSegment);

impl SegmentCondition for CompiledSegmentCondition {
    fn matches(&self, user: &UserContext, now: Timestamp) -> Option<bool> {
        let mut p = Profile::new(user.user_id.clone());
        p.line.id_linked = Some(user.linked);
        p.line.store = user.store.clone();
        for (k, v) in &user.attributes {
            p = p.with_attr(k.as_str(), Value::Str(v.clone()));
        }
        p = p.with_attr("tags", Value::Set(user.tags.iter().cloned().collect()));
        match self.0.at(now).eval(&p) {
            Truth::True => Some(true),
            Truth::False => Some(false),
            Truth::Unknown => None,
        }
    }
}
