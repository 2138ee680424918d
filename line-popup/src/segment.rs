//! Optional segment targeting.
//!
//! A campaign's [`Targeting::segment`](crate::config::Targeting::segment) names
//! a [`SegmentCondition`] registered with
//! [`PopupEngineBuilder::segment`](crate::PopupEngineBuilder::segment). The
//! trait is this crate's own, so that any segment engine can stand behind it;
//! with the `segments` feature, `LineSegment` adapts a
//! `line_segments` segment.

use std::fmt;

use async_trait::async_trait;
use jiff::Timestamp;

use crate::error::Error;
use crate::visitor::VisitorContext;

/// Whether a visitor belongs to a segment.
///
/// Evaluated only for campaigns that passed every cheaper rule (schedule,
/// audience, page, device). An error fails the decision closed.
#[async_trait]
pub trait SegmentCondition: Send + Sync + fmt::Debug {
    /// Whether the visitor is in the segment at `now`.
    async fn matches(&self, visitor: &VisitorContext, now: Timestamp) -> Result<bool, Error>;
}

/// A fixed set of visitor IDs, for tests and small allow-lists.
#[derive(Debug, Clone, Default)]
pub struct VisitorSet(std::collections::HashSet<String>);

impl VisitorSet {
    /// A segment of these visitors.
    pub fn new<I: IntoIterator<Item = S>, S: Into<String>>(ids: I) -> Self {
        Self(ids.into_iter().map(Into::into).collect())
    }
}

#[async_trait]
impl SegmentCondition for VisitorSet {
    async fn matches(&self, visitor: &VisitorContext, _now: Timestamp) -> Result<bool, Error> {
        Ok(self.0.contains(&visitor.visitor_id))
    }
}

#[cfg(feature = "segments")]
pub use adapter::{LineSegment, VisitorProfiles};

#[cfg(feature = "segments")]
mod adapter {
    use super::*;
    use crate::error::ErrorKind;
    use line_segments::eval::CompiledSegment;
    use line_segments::profile::Profile;
    use std::sync::Arc;

    /// Looks up the profile of a visitor for segment evaluation.
    #[async_trait]
    pub trait VisitorProfiles: Send + Sync + fmt::Debug {
        /// The visitor's profile, or `None` when the host knows nothing of them.
        async fn profile(&self, visitor: &VisitorContext) -> Result<Option<Profile>, Error>;
    }

    /// A `line_segments` segment as a [`SegmentCondition`]. A visitor without
    /// a profile is not a member.
    #[derive(Debug)]
    pub struct LineSegment {
        name: String,
        compiled: CompiledSegment,
        profiles: Arc<dyn VisitorProfiles>,
    }

    impl LineSegment {
        /// Parses `text` in line-segments' text syntax and compiles it.
        pub fn parse(name: &str, text: &str, profiles: Arc<dyn VisitorProfiles>) -> Result<Self, Error> {
            let seg = line_segments::text::parse(text)
                .map_err(|e| Error::with_source(ErrorKind::Segment { name: name.to_owned() }, e.to_string()))?;
            let compiled = CompiledSegment::compile(&seg)
                .map_err(|e| Error::with_source(ErrorKind::Segment { name: name.to_owned() }, e.to_string()))?;
            Ok(Self {
                name: name.to_owned(),
                compiled,
                profiles,
            })
        }
    }

    #[async_trait]
    impl SegmentCondition for LineSegment {
        async fn matches(&self, visitor: &VisitorContext, now: Timestamp) -> Result<bool, Error> {
            let _ = &self.name;
            Ok(match self.profiles.profile(visitor).await? {
                Some(p) => self.compiled.at(now).matches(&p),
                None => false,
            })
        }
    }
}
