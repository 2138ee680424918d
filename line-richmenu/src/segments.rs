//! An adapter from `line-segments` compiled segments to [`SegmentCondition`] over a [`UserContext`].

use jiff::Timestamp;
use line_segments::eval::CompiledSegment;
use line_segments::profile::{Profile, Value};

use crate::policy::SegmentCondition;
use crate::store::UserContext;

/// A compiled segment used as a policy condition. The user's context becomes a profile:
/// `line.id_linked` and `line.store` from the context, each attribute as a string attribute,
/// and the tags as the set attribute `tags`. `unknown` does not match.
#[derive(Debug)]
pub struct CompiledSegmentCondition(pub CompiledSegment);

impl SegmentCondition<UserContext> for CompiledSegmentCondition {
    fn matches(&self, user: &UserContext, now: Timestamp) -> Option<bool> {
        let mut p = Profile::new(user.user_id.clone());
        p.line.id_linked = Some(user.linked);
        p.line.store = user.store.clone();
        for (k, v) in &user.attributes {
            p = p.with_attr(k.as_str(), Value::Str(v.clone()));
        }
        p = p.with_attr("tags", Value::Set(user.tags.iter().cloned().collect()));
        self.0.matches(&p, now)
    }
}
