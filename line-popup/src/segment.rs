//! Optional segment targeting.
//!
//! A campaign's [`Targeting::segment`](crate::config::Targeting::segment) names
//! a condition registered with
//! [`PopupEngineBuilder::segment`](crate::PopupEngineBuilder::segment): a
//! [`SegmentCondition`] (line-segments' one condition trait, shared with
//! line-richmenu) over a [`Visitor`], the page view and the visitor's profile.
//! Any segment engine can stand behind it: a closure, a [`VisitorSet`], or a
//! `line_segments` segment through [`LineSegment`].
//!
//! The profile comes from the [`VisitorProfiles`] source registered with
//! [`PopupEngineBuilder::profiles`](crate::PopupEngineBuilder::profiles). The
//! engine asks it at most once per decision, and only when a campaign with a
//! segment passed every cheaper rule (schedule, audience, page, device); an
//! error of the source fails the decision closed.

use std::fmt;

use async_trait::async_trait;
use jiff::Timestamp;
pub use line_segments::condition::SegmentCondition;
use line_segments::eval::CompiledSegment;
use line_segments::profile::Profile;

use crate::error::{Error, ErrorKind};
use crate::visitor::VisitorContext;

/// What a popup segment is evaluated on.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Visitor<'a> {
    /// The page view.
    pub context: &'a VisitorContext,
    /// The visitor's profile, when the engine has a [`VisitorProfiles`] source and it knows the
    /// visitor.
    pub profile: Option<&'a Profile>,
}

impl<'a> Visitor<'a> {
    /// A visitor with this page view and maybe a profile.
    pub fn new(context: &'a VisitorContext, profile: Option<&'a Profile>) -> Self {
        Self { context, profile }
    }
}

/// A segment condition of the popup engine: a [`SegmentCondition`] over a [`Visitor`]. Only
/// `Some(true)` lets the campaign through.
pub type PopupSegment = dyn for<'a> SegmentCondition<Visitor<'a>>;

/// Looks up the profile of a visitor for segment evaluation.
#[async_trait]
pub trait VisitorProfiles: Send + Sync + fmt::Debug {
    /// The visitor's profile, or `None` when the host knows nothing of them.
    async fn profile(&self, visitor: &VisitorContext) -> Result<Option<Profile>, Error>;
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

impl SegmentCondition<Visitor<'_>> for VisitorSet {
    fn matches(&self, visitor: &Visitor<'_>, _now: Timestamp) -> Option<bool> {
        Some(self.0.contains(&visitor.context.visitor_id))
    }
}

/// A `line_segments` segment as a popup condition, evaluated on the visitor's profile. A visitor
/// without a profile is not a member, and neither is one for whom the segment is unknown.
#[derive(Debug)]
pub struct LineSegment {
    compiled: CompiledSegment,
}

impl LineSegment {
    /// Parses `text` in line-segments' text syntax and compiles it. Errors name the segment.
    pub fn parse(name: &str, text: &str) -> Result<Self, Error> {
        let seg = line_segments::text::parse(text)
            .map_err(|e| Error::with_source(ErrorKind::Segment { name: name.to_owned() }, e.to_string()))?;
        let compiled = CompiledSegment::compile(&seg)
            .map_err(|e| Error::with_source(ErrorKind::Segment { name: name.to_owned() }, e.to_string()))?;
        Ok(Self { compiled })
    }

    /// A segment compiled elsewhere.
    pub fn new(compiled: CompiledSegment) -> Self {
        Self { compiled }
    }
}

impl SegmentCondition<Visitor<'_>> for LineSegment {
    fn matches(&self, visitor: &Visitor<'_>, now: Timestamp) -> Option<bool> {
        match visitor.profile {
            Some(p) => self.compiled.matches(p, now),
            None => Some(false),
        }
    }
}
