//! The host store of popup counters, attribution tokens and report counters.
//!
//! # Semantics every implementation keeps
//!
//! - [`PopupStore::reserve`] is **one atomic step**: it checks every cap of
//!   every candidate campaign, in order, and reserves a showing for the first
//!   one that all caps allow, incrementing all of its counters; or it changes
//!   nothing. Concurrent page views of one visitor therefore never exceed a cap.
//!   [`PopupStore::try_reserve_now`], when a store answers it, is the same
//!   step without a future, with the same answer.
//! - **A reserved showing counts, rendered or not.** The caps count
//!   reservations, not renders: a showing reserved for a page that was closed
//!   before the banner appeared still uses up one of the visitor's showings.
//!   This errs on the side of showing less, never more. Reports count both:
//!   `reserved` (decisions to show) and `impressions` (the browser said
//!   `shown`), and the gap between them is the unrendered reservations.
//! - [`PopupStore::record`] counts an event at most once per token and kind,
//!   so a retried beacon or a redelivered webhook is not counted twice.
//! - Counters expire with their windows: window and session entries, day
//!   counters and tokens carry a time to live; only the per-campaign state of a
//!   visitor (lifetime count, last showing, dismiss, conversion) is kept.
//! - Time is always passed in (`now`), never read from the system clock, so
//!   cap decisions follow the engine's [`Clock`](line_core::clock::Clock).

use std::fmt;

use async_trait::async_trait;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::config::Caps;
use crate::error::Error;

/// A cap or rule that blocked a showing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CapKind {
    /// [`Caps::lifetime`].
    Lifetime,
    /// [`Caps::window`].
    Window,
    /// [`Caps::per_session`].
    Session,
    /// [`Caps::min_interval_secs`].
    MinInterval,
    /// [`Caps::dismiss_cooldown_secs`].
    DismissCooldown,
    /// [`Caps::stop_after_conversion`].
    Converted,
    /// [`PopupConfig::max_per_day`](crate::PopupConfig::max_per_day), across campaigns.
    Daily,
}

impl CapKind {
    /// The snake-case name used in JSON and in store scripts.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Lifetime => "lifetime",
            Self::Window => "window",
            Self::Session => "session",
            Self::MinInterval => "min_interval",
            Self::DismissCooldown => "dismiss_cooldown",
            Self::Converted => "converted",
            Self::Daily => "daily",
        }
    }

    /// The inverse of [`as_str`](Self::as_str).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "lifetime" => Self::Lifetime,
            "window" => Self::Window,
            "session" => Self::Session,
            "min_interval" => Self::MinInterval,
            "dismiss_cooldown" => Self::DismissCooldown,
            "converted" => Self::Converted,
            "daily" => Self::Daily,
            _ => return None,
        })
    }
}

/// One campaign the engine would show, with its caps.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Candidate<'a> {
    /// Campaign ID.
    pub campaign: &'a str,
    /// The banner variant this visitor gets in this campaign.
    pub variant: &'a str,
    /// The campaign's caps.
    pub caps: &'a Caps,
}

impl<'a> Candidate<'a> {
    /// A candidate.
    pub fn new(campaign: &'a str, variant: &'a str, caps: &'a Caps) -> Self {
        Self {
            campaign,
            variant,
            caps,
        }
    }
}

/// The input of [`PopupStore::reserve`].
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct ReserveRequest<'a> {
    /// The visitor (a first-party cookie ID, for example).
    pub visitor: &'a str,
    /// The visitor's session.
    pub session: &'a str,
    /// The instant of the page view.
    pub now: Timestamp,
    /// The calendar day of `now` in the configuration's time zone (`2026-05-01`).
    pub day: &'a str,
    /// Across campaigns, at most this many showings per visitor on `day`.
    pub max_per_day: Option<u32>,
    /// Time to live of a session counter.
    pub session_ttl_secs: u64,
    /// Campaigns in priority order; the first one that all caps allow is reserved.
    pub candidates: &'a [Candidate<'a>],
    /// The attribution token to store for the reserved showing: 32 hex digits
    /// (a UUID in simple form), as [`crate::PopupEngine::decide`] makes them.
    pub token: &'a str,
    /// How long the token can be matched to events.
    pub token_ttl_secs: u64,
}

/// The result of [`PopupStore::reserve`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReserveOutcome {
    /// A showing of `candidates[index]` was reserved under the request's token.
    Reserved {
        /// Index into the request's candidates.
        index: usize,
        /// The blocking cap of each candidate before `index`, in order.
        skipped: Vec<CapKind>,
    },
    /// Nothing was reserved; one blocking cap per candidate, in order.
    Blocked(Vec<CapKind>),
}

/// An event of a showing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EventKind {
    /// The banner was rendered.
    Shown,
    /// The button was clicked.
    Clicked,
    /// The banner was closed; starts the dismiss cool-down.
    Dismissed,
    /// The visitor became a friend (a `follow` event).
    ConvertedFriend,
    /// The visitor linked their member ID (an `accountLink` event).
    ConvertedLink,
}

impl EventKind {
    /// The snake-case name used in JSON and in store keys.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Shown => "shown",
            Self::Clicked => "clicked",
            Self::Dismissed => "dismissed",
            Self::ConvertedFriend => "converted_friend",
            Self::ConvertedLink => "converted_link",
        }
    }

    /// The inverse of [`as_str`](Self::as_str).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "shown" => Self::Shown,
            "clicked" => Self::Clicked,
            "dismissed" => Self::Dismissed,
            "converted_friend" => Self::ConvertedFriend,
            "converted_link" => Self::ConvertedLink,
            _ => return None,
        })
    }

    /// Whether this is a conversion.
    pub fn is_conversion(self) -> bool {
        matches!(self, Self::ConvertedFriend | Self::ConvertedLink)
    }
}

/// What an attribution token stands for: one reserved showing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Attribution {
    /// The visitor.
    pub visitor: String,
    /// The campaign.
    pub campaign: String,
    /// The banner variant.
    pub variant: String,
    /// When the showing was reserved.
    pub reserved_at: Timestamp,
}

impl Attribution {
    /// An attribution.
    pub fn new(visitor: &str, campaign: &str, variant: &str, reserved_at: Timestamp) -> Self {
        Self {
            visitor: visitor.to_owned(),
            campaign: campaign.to_owned(),
            variant: variant.to_owned(),
            reserved_at,
        }
    }
}

/// The result of [`PopupStore::record`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Recorded {
    /// Counted now.
    New(Attribution),
    /// This kind was already counted for this token; nothing changed.
    Duplicate(Attribution),
    /// No such token, or it expired.
    UnknownToken,
}

/// What a report counter counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum StatKind {
    /// A showing was reserved (a decision to show).
    Reserved,
    /// An [`EventKind`] was recorded.
    Event(EventKind),
}

impl StatKind {
    /// The name used in store keys (`reserved`, or the event's name).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reserved => "reserved",
            Self::Event(e) => e.as_str(),
        }
    }

    /// The inverse of [`as_str`](Self::as_str).
    pub fn parse(s: &str) -> Option<Self> {
        if s == "reserved" {
            Some(Self::Reserved)
        } else {
            EventKind::parse(s).map(Self::Event)
        }
    }
}

/// One report counter of one day.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StatRow {
    /// The calendar day.
    pub day: String,
    /// The campaign.
    pub campaign: String,
    /// The variant.
    pub variant: String,
    /// What is counted.
    pub kind: StatKind,
    /// The count.
    pub count: u64,
}

impl StatRow {
    /// A row.
    pub fn new(day: &str, campaign: &str, variant: &str, kind: StatKind, count: u64) -> Self {
        Self {
            day: day.to_owned(),
            campaign: campaign.to_owned(),
            variant: variant.to_owned(),
            kind,
            count,
        }
    }
}

/// The counters of a set of days.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Per campaign, variant and kind, per day.
    pub rows: Vec<StatRow>,
    /// New friends (all of them, from `follow` events) per day.
    pub new_friends: Vec<(String, u64)>,
}

/// A host store for popup decisions. See the [module docs](self) for the
/// semantics every implementation keeps, and run
/// `line_popup::testing::popup_store_conformance` (feature `testing`) on yours.
#[async_trait]
pub trait PopupStore: Send + Sync + fmt::Debug {
    /// Atomically checks the caps of `req.candidates` in order and reserves a
    /// showing of the first one all caps allow: increments its lifetime,
    /// window, session and day counters, sets its last-showing time, stores
    /// the token, and counts a [`StatKind::Reserved`] for `req.day`.
    async fn reserve(&self, req: &ReserveRequest<'_>) -> Result<ReserveOutcome, Error>;

    /// [`reserve`](Self::reserve) without a future, for stores that never
    /// wait for I/O (in process memory): `Some` with what `reserve` would
    /// answer, or `None`, the default, when the store must be awaited. The
    /// engine tries it first, which saves the boxed future of an
    /// `async_trait` call on every decision.
    fn try_reserve_now(&self, req: &ReserveRequest<'_>) -> Option<Result<ReserveOutcome, Error>> {
        let _ = req;
        None
    }

    /// Atomically records `kind` for the showing of `token`, once: counts it
    /// for `day`, and for [`EventKind::Dismissed`] starts the campaign's
    /// cool-down for the visitor (at `now`), for a conversion marks the
    /// visitor as converted in the campaign. Tokens past their time to live
    /// (compared with `now`) are unknown.
    async fn record(&self, token: &str, kind: EventKind, now: Timestamp, day: &str) -> Result<Recorded, Error>;

    /// Points `key` (a LINE user ID, an account-link nonce) to `token`, for
    /// `ttl_secs`, if the token is known and not expired at `now`. Returns
    /// whether it was bound.
    async fn bind(&self, key: &str, token: &str, now: Timestamp, ttl_secs: u64) -> Result<bool, Error>;

    /// The token `key` points to, if bound and not expired at `now`.
    async fn resolve(&self, key: &str, now: Timestamp) -> Result<Option<String>, Error>;

    /// Counts one new friend on `day`, at most once per `event_id` (the
    /// webhook event ID) when one is given. Returns whether it was counted.
    async fn count_new_friend(&self, event_id: Option<&str>, day: &str) -> Result<bool, Error>;

    /// The report counters of `days`.
    async fn stats(&self, days: &[String]) -> Result<Stats, Error>;
}

#[async_trait]
impl<T: PopupStore + ?Sized> PopupStore for std::sync::Arc<T> {
    async fn reserve(&self, req: &ReserveRequest<'_>) -> Result<ReserveOutcome, Error> {
        (**self).reserve(req).await
    }
    fn try_reserve_now(&self, req: &ReserveRequest<'_>) -> Option<Result<ReserveOutcome, Error>> {
        (**self).try_reserve_now(req)
    }
    async fn record(&self, token: &str, kind: EventKind, now: Timestamp, day: &str) -> Result<Recorded, Error> {
        (**self).record(token, kind, now, day).await
    }
    async fn bind(&self, key: &str, token: &str, now: Timestamp, ttl_secs: u64) -> Result<bool, Error> {
        (**self).bind(key, token, now, ttl_secs).await
    }
    async fn resolve(&self, key: &str, now: Timestamp) -> Result<Option<String>, Error> {
        (**self).resolve(key, now).await
    }
    async fn count_new_friend(&self, event_id: Option<&str>, day: &str) -> Result<bool, Error> {
        (**self).count_new_friend(event_id, day).await
    }
    async fn stats(&self, days: &[String]) -> Result<Stats, Error> {
        (**self).stats(days).await
    }
}

/// The cap check (campaign caps; the daily cap is checked after them) shared by the in-memory store (and mirrored by the Redis
/// script): given one campaign's state, which cap (if any) blocks a showing.
pub(crate) struct CapState {
    pub lifetime: u32,
    pub in_window: u32,
    pub in_session: u32,
    pub last_shown_ms: Option<i64>,
    pub dismissed_ms: Option<i64>,
    pub converted: bool,
}

pub(crate) fn check_caps(caps: &Caps, st: &CapState, now_ms: i64) -> Option<CapKind> {
    if caps.stop_after_conversion && st.converted {
        return Some(CapKind::Converted);
    }
    if let (Some(cd), Some(d)) = (caps.dismiss_cooldown_secs, st.dismissed_ms) {
        if now_ms < d.saturating_add(secs_to_ms(cd)) {
            return Some(CapKind::DismissCooldown);
        }
    }
    if let Some(max) = caps.lifetime {
        if st.lifetime >= max {
            return Some(CapKind::Lifetime);
        }
    }
    if let (Some(iv), Some(last)) = (caps.min_interval_secs, st.last_shown_ms) {
        if now_ms < last.saturating_add(secs_to_ms(iv)) {
            return Some(CapKind::MinInterval);
        }
    }
    if let Some(w) = caps.window {
        if st.in_window >= w.max {
            return Some(CapKind::Window);
        }
    }
    if let Some(max) = caps.per_session {
        if st.in_session >= max {
            return Some(CapKind::Session);
        }
    }
    None
}

pub(crate) fn secs_to_ms(secs: u64) -> i64 {
    i64::try_from(secs).unwrap_or(i64::MAX / 1000).saturating_mul(1000)
}
