//! [`SegmentCondition`]: the one trait through which the crates that target by segment (rich-menu
//! policies, site popups) ask whether a subject belongs to a segment.
//!
//! The subject is whatever the caller evaluates: a rich-menu user context, a popup visitor, a
//! profile. The answer is three-valued, as everywhere in this crate: `Some(true)`, `Some(false)`,
//! or `None` for "unknown", which callers treat as "not a member".
//!
//! A closure is a condition, and so is a [`CompiledSegment`] over any [`ProfileView`]:
//!
//! ```
//! use line_segments::condition::SegmentCondition;
//! use line_segments::profile::{Profile, Value};
//! use line_segments::{text, CompiledSegment};
//! let now: jiff::Timestamp = "2026-05-01T00:00:00Z".parse().unwrap();
//!
//! let vip = CompiledSegment::compile(&text::parse("vip").unwrap()).unwrap();
//! let alice = Profile::new("U1").with_attr("vip", Value::Bool(true));
//! assert_eq!(vip.matches(&alice, now), Some(true));
//! assert_eq!(vip.matches(&Profile::new("U2"), now), None); // no `vip` attribute: unknown
//!
//! let even = |n: &u32, _now: jiff::Timestamp| Some(n % 2 == 0);
//! assert_eq!(even.matches(&4, now), Some(true));
//! ```

use jiff::Timestamp;

use crate::eval::{CompiledSegment, Truth};
use crate::profile::ProfileView;

/// Whether a subject of type `S` is in a segment at `now`: `Some(true)`, `Some(false)`, or `None`
/// when it cannot be known (which does not match).
///
/// Evaluation is synchronous and should be cheap: what needs I/O (loading a profile) is done by
/// the caller before it asks, so that one lookup serves every condition of a decision.
pub trait SegmentCondition<S: ?Sized>: Send + Sync {
    /// Whether `subject` is in the segment at `now`; `None` is unknown.
    fn matches(&self, subject: &S, now: Timestamp) -> Option<bool>;
}

impl<S: ?Sized, F> SegmentCondition<S> for F
where
    F: Fn(&S, Timestamp) -> Option<bool> + Send + Sync,
{
    fn matches(&self, subject: &S, now: Timestamp) -> Option<bool> {
        self(subject, now)
    }
}

/// A compiled segment over a profile: `unknown` is `None`.
impl<P: ProfileView + ?Sized> SegmentCondition<P> for CompiledSegment {
    fn matches(&self, subject: &P, now: Timestamp) -> Option<bool> {
        self.at(now).eval(&subject).into()
    }
}

impl From<Truth> for Option<bool> {
    fn from(t: Truth) -> Self {
        match t {
            Truth::True => Some(true),
            Truth::False => Some(false),
            Truth::Unknown => None,
        }
    }
}
