//! [`NoticeStore`]: where every notice and its outcome is kept, and the in-memory
//! implementation.
//!
//! # States
//!
//! ```text
//!   Pending ──(LINE answered 200)──▶ Accepted
//!      │  ╲                            │   ╲
//!      │   ╲──(delivery webhook)───────┼────▶ Delivered          (final: LINE)
//!      │                               │
//!      └──(422 / refusal / due)──▶ FallingBack ──▶ SmsSent        (final: SMS)
//!                    (due) ◀───────────┘     └───▶ Failed         (final)
//! ```
//!
//! Every change is one atomic compare-and-set on the notice's state
//! ([`NoticeStore::apply`], [`NoticeStore::record_delivery`]): a delivery webhook and a
//! fallback racing on one notice end with exactly one of them having moved it. A
//! delivery that loses (it came after the fallback started) is still recorded, as the
//! notice's `delivered_at`; a delivery with a tag no notice has is kept as an
//! [`UnknownDelivery`].

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

use async_trait::async_trait;
use jiff::Timestamp;

use crate::error::Error;
use crate::phone::PhoneNumber;
use crate::tag::DeliveryTag;

/// Where a notice is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NoticeState {
    /// Recorded; LINE's answer to the send is not known (not sent yet, or the call's
    /// outcome was unknown). LINE may still deliver it.
    Pending,
    /// LINE accepted the send (200); waiting for its delivery webhook.
    Accepted,
    /// LINE's delivery webhook came before any fallback started. Final.
    Delivered,
    /// The SMS fallback started (an SMS may be in flight).
    FallingBack,
    /// The SMS was sent. Final.
    SmsSent,
    /// The SMS gateway refused the SMS. Final.
    Failed,
}

impl NoticeState {
    /// Every state, in order.
    pub const ALL: [NoticeState; 6] = [
        Self::Pending,
        Self::Accepted,
        Self::Delivered,
        Self::FallingBack,
        Self::SmsSent,
        Self::Failed,
    ];

    /// The name kept in SQL stores.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Accepted => "accepted",
            Self::Delivered => "delivered",
            Self::FallingBack => "falling_back",
            Self::SmsSent => "sms_sent",
            Self::Failed => "failed",
        }
    }

    /// The state of a name kept by [`as_str`](Self::as_str).
    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Whether nothing more will happen to the notice.
    pub fn is_final(&self) -> bool {
        matches!(self, Self::Delivered | Self::SmsSent | Self::Failed)
    }
}

/// Why a notice fell back to SMS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FallbackReason {
    /// LINE answered 422: it cannot deliver to this number (no LINE account, or the
    /// user cannot receive notification messages).
    LineCannotDeliver,
    /// LINE refused the send with another 4xx (a bad request, a quota): nothing was sent.
    LineRejected,
    /// No delivery webhook came before the notice was due.
    NoDeliveryInTime,
}

impl FallbackReason {
    /// The name kept in SQL stores.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::LineCannotDeliver => "line_cannot_deliver",
            Self::LineRejected => "line_rejected",
            Self::NoDeliveryInTime => "no_delivery_in_time",
        }
    }

    /// The reason of a name kept by [`as_str`](Self::as_str).
    pub fn from_name(s: &str) -> Option<Self> {
        [Self::LineCannotDeliver, Self::LineRejected, Self::NoDeliveryInTime]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

/// A notice to record with [`NoticeStore::insert`].
#[derive(Clone)]
#[non_exhaustive]
pub struct NewNotice {
    /// The notice's key.
    pub tag: DeliveryTag,
    /// The recipient.
    pub phone: PhoneNumber,
    /// The SMS text, should the notice fall back.
    pub sms_text: String,
    /// When the notice falls back to SMS if no delivery webhook came.
    pub due_at: Timestamp,
}

impl NewNotice {
    /// A new notice.
    pub fn new(tag: DeliveryTag, phone: PhoneNumber, sms_text: impl Into<String>, due_at: Timestamp) -> Self {
        Self {
            tag,
            phone,
            sms_text: sms_text.into(),
            due_at,
        }
    }
}

impl fmt::Debug for NewNotice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewNotice")
            .field("tag", &self.tag)
            .field("phone", &self.phone)
            .field("sms_text", &"<redacted>")
            .field("due_at", &self.due_at)
            .finish()
    }
}

/// A notice as stored. `Debug` hides the phone number and the SMS text.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub struct NoticeRecord {
    /// The notice's key.
    pub tag: DeliveryTag,
    /// The recipient.
    pub phone: PhoneNumber,
    /// The SMS text.
    pub sms_text: String,
    /// Where it is.
    pub state: NoticeState,
    /// Why it fell back, once it did.
    pub fallback: Option<FallbackReason>,
    /// When it was recorded.
    pub created_at: Timestamp,
    /// When it is next due: the fallback deadline while `Pending` or `Accepted`, the
    /// time an unfinished SMS attempt is resumed while `FallingBack`.
    pub due_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
    /// When LINE's delivery webhook came, also when it came after the fallback started.
    pub delivered_at: Option<Timestamp>,
    /// The `x-line-request-id` of LINE's 200, when there was one.
    pub line_request_id: Option<String>,
}

impl NoticeRecord {
    /// A new record of `notice`, `Pending`, at `now`.
    pub fn pending(notice: NewNotice, now: Timestamp) -> Self {
        Self {
            tag: notice.tag,
            phone: notice.phone,
            sms_text: notice.sms_text,
            state: NoticeState::Pending,
            fallback: None,
            created_at: now,
            due_at: notice.due_at,
            updated_at: now,
            delivered_at: None,
            line_request_id: None,
        }
    }

    /// Whether LINE delivered after the fallback had started (the user may have both).
    pub fn delivered_late(&self) -> bool {
        self.delivered_at.is_some() && self.state != NoticeState::Delivered
    }

    /// Applies `change` if the state allows it; returns whether it did.
    pub fn apply(&mut self, change: &Change, now: Timestamp) -> bool {
        if !change.from().contains(&self.state) {
            return false;
        }
        if matches!(change, Change::Resume { .. }) && self.due_at > now {
            return false;
        }
        self.updated_at = now;
        match change {
            Change::Accepted { line_request_id } => {
                self.state = NoticeState::Accepted;
                self.line_request_id.clone_from(line_request_id);
            }
            Change::StartFallback { reason, resume_at } => {
                self.state = NoticeState::FallingBack;
                self.fallback = Some(*reason);
                self.due_at = *resume_at;
            }
            Change::Resume { lease_until } => self.due_at = *lease_until,
            Change::RetrySms { at } => self.due_at = *at,
            Change::SmsSent => self.state = NoticeState::SmsSent,
            Change::Failed => self.state = NoticeState::Failed,
        }
        true
    }

    /// Records LINE's delivery webhook at `now` (see [`NoticeStore::record_delivery`]).
    pub fn deliver(&mut self, now: Timestamp) -> DeliveryMatch {
        match self.state {
            NoticeState::Pending | NoticeState::Accepted => {
                self.state = NoticeState::Delivered;
                self.delivered_at = Some(now);
                self.updated_at = now;
                DeliveryMatch::Delivered(Box::new(self.clone()))
            }
            NoticeState::Delivered => DeliveryMatch::Repeated(Box::new(self.clone())),
            _ => {
                if self.delivered_at.is_none() {
                    self.delivered_at = Some(now);
                    self.updated_at = now;
                }
                DeliveryMatch::Late(Box::new(self.clone()))
            }
        }
    }
}

impl fmt::Debug for NoticeRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NoticeRecord")
            .field("tag", &self.tag)
            .field("phone", &self.phone)
            .field("sms_text", &"<redacted>")
            .field("state", &self.state)
            .field("fallback", &self.fallback)
            .field("created_at", &self.created_at)
            .field("due_at", &self.due_at)
            .field("updated_at", &self.updated_at)
            .field("delivered_at", &self.delivered_at)
            .field("line_request_id", &self.line_request_id)
            .finish()
    }
}

/// A state change, applied only from the states [`from`](Change::from) names.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Change {
    /// `Pending` → `Accepted`: LINE answered 200.
    Accepted {
        /// LINE's `x-line-request-id`.
        line_request_id: Option<String>,
    },
    /// `Pending` or `Accepted` → `FallingBack`: the SMS fallback starts; an attempt not
    /// finished by `resume_at` is resumed then.
    StartFallback {
        /// Why.
        reason: FallbackReason,
        /// When an unfinished attempt is resumed.
        resume_at: Timestamp,
    },
    /// `FallingBack` stays, due again at `lease_until`, if it was due at `now` (a
    /// sweep claims an interrupted attempt: of two sweeps, one gets it).
    Resume {
        /// Until when the attempt is this sweep's.
        lease_until: Timestamp,
    },
    /// `FallingBack` stays, due again at `at` (a transient SMS failure).
    RetrySms {
        /// When to try again.
        at: Timestamp,
    },
    /// `FallingBack` → `SmsSent`.
    SmsSent,
    /// `FallingBack` → `Failed`.
    Failed,
}

impl Change {
    /// The states this change applies from.
    pub fn from(&self) -> &'static [NoticeState] {
        match self {
            Self::Accepted { .. } => &[NoticeState::Pending],
            Self::StartFallback { .. } => &[NoticeState::Pending, NoticeState::Accepted],
            Self::Resume { .. } | Self::RetrySms { .. } | Self::SmsSent | Self::Failed => &[NoticeState::FallingBack],
        }
    }
}

/// What [`NoticeStore::insert`] did.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Insert {
    /// The notice is new.
    Created(NoticeRecord),
    /// A notice with this tag was recorded before (unchanged; given as stored).
    Existing(NoticeRecord),
}

/// What a delivery webhook matched.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum DeliveryMatch {
    /// The notice is now delivered by LINE: no SMS will be sent for it.
    Delivered(Box<NoticeRecord>),
    /// The notice was already delivered (a redelivered webhook).
    Repeated(Box<NoticeRecord>),
    /// The fallback had started: the SMS outcome stands, the delivery time is recorded.
    Late(Box<NoticeRecord>),
    /// No notice has this tag; the delivery is recorded as unknown.
    Unknown(UnknownDelivery),
}

/// A delivery webhook whose `delivery.data` matched no notice.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnknownDelivery {
    /// The `delivery.data` (a tag of another sender, or a hashed phone number when the
    /// send had no tag).
    pub data: String,
    /// When it first came.
    pub first_at: Timestamp,
    /// How many times it came.
    pub count: u64,
}

impl UnknownDelivery {
    /// A first sighting.
    pub fn new(data: impl Into<String>, first_at: Timestamp, count: u64) -> Self {
        Self {
            data: data.into(),
            first_at,
            count,
        }
    }
}

impl fmt::Debug for UnknownDelivery {
    // A `data` that is not a tag may be a hashed phone number: only its length is shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("UnknownDelivery");
        match DeliveryTag::parse_at("data", &self.data) {
            Ok(tag) if self.data.len() != 64 => d.field("data", &tag),
            _ => d.field("data", &format_args!("<{} characters>", self.data.chars().count())),
        };
        d.field("first_at", &self.first_at).field("count", &self.count).finish()
    }
}

/// How many notices are in each state, and the deliveries beside them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct NoticeCounts {
    /// `Pending`.
    pub pending: u64,
    /// `Accepted`.
    pub accepted: u64,
    /// `Delivered` (by LINE).
    pub delivered: u64,
    /// `FallingBack`.
    pub falling_back: u64,
    /// `SmsSent`.
    pub sms_sent: u64,
    /// `Failed`.
    pub failed: u64,
    /// Notices delivered by LINE after their fallback started.
    pub late_deliveries: u64,
    /// Distinct unknown `delivery.data` values.
    pub unknown_deliveries: u64,
}

impl NoticeCounts {
    /// Adds one notice in `record`'s state.
    pub fn add(&mut self, record: &NoticeRecord) {
        *self.slot(record.state) += 1;
        if record.delivered_late() {
            self.late_deliveries += 1;
        }
    }

    /// The counter of `state`.
    pub fn slot(&mut self, state: NoticeState) -> &mut u64 {
        match state {
            NoticeState::Pending => &mut self.pending,
            NoticeState::Accepted => &mut self.accepted,
            NoticeState::Delivered => &mut self.delivered,
            NoticeState::FallingBack => &mut self.falling_back,
            NoticeState::SmsSent => &mut self.sms_sent,
            NoticeState::Failed => &mut self.failed,
        }
    }

    /// All notices.
    pub fn total(&self) -> u64 {
        self.pending + self.accepted + self.delivered + self.falling_back + self.sms_sent + self.failed
    }
}

/// Where notices and their outcomes are kept (a host trait).
///
/// Every method is atomic on its own: a SQL implementation does each in one statement
/// or one transaction. The time is an argument, so every process of a deployment
/// decides on the same instants.
#[async_trait]
pub trait NoticeStore: Send + Sync {
    /// Records a notice as `Pending`, unless one with its tag exists (then it is
    /// returned unchanged).
    async fn insert(&self, notice: NewNotice, now: Timestamp) -> Result<Insert, Error>;

    /// The notice with `tag`.
    async fn get(&self, tag: &DeliveryTag) -> Result<Option<NoticeRecord>, Error>;

    /// Applies `change` if the notice is in one of [`change.from()`](Change::from):
    /// the changed record, or `None` when the notice is missing or elsewhere.
    async fn apply(&self, tag: &DeliveryTag, change: &Change, now: Timestamp) -> Result<Option<NoticeRecord>, Error>;

    /// Records LINE's delivery webhook for `data` (the `delivery.data`): a `Pending` or
    /// `Accepted` notice becomes `Delivered`; a later one keeps its state and gets its
    /// `delivered_at`; an unknown `data` is kept (counted once per value, with how many
    /// times it came).
    async fn record_delivery(&self, data: &str, now: Timestamp) -> Result<DeliveryMatch, Error>;

    /// Up to `limit` notices due at `now`: `Pending`, `Accepted` or `FallingBack` with
    /// `due_at <= now`, earliest first.
    async fn due(&self, now: Timestamp, limit: usize) -> Result<Vec<NoticeRecord>, Error>;

    /// The unknown deliveries, first seen first.
    async fn unknown_deliveries(&self) -> Result<Vec<UnknownDelivery>, Error>;

    /// How many notices are in each state.
    async fn counts(&self) -> Result<NoticeCounts, Error>;
}

/// A [`NoticeStore`] in memory (tests, one process that may lose its notices on restart).
#[derive(Debug, Default)]
pub struct InMemoryNoticeStore {
    inner: Mutex<Memory>,
}

#[derive(Debug, Default)]
struct Memory {
    notices: HashMap<DeliveryTag, NoticeRecord>,
    unknown: Vec<UnknownDelivery>,
}

impl InMemoryNoticeStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Memory> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl NoticeStore for InMemoryNoticeStore {
    async fn insert(&self, notice: NewNotice, now: Timestamp) -> Result<Insert, Error> {
        let mut m = self.lock();
        if let Some(r) = m.notices.get(&notice.tag) {
            return Ok(Insert::Existing(r.clone()));
        }
        let record = NoticeRecord::pending(notice, now);
        m.notices.insert(record.tag.clone(), record.clone());
        Ok(Insert::Created(record))
    }

    async fn get(&self, tag: &DeliveryTag) -> Result<Option<NoticeRecord>, Error> {
        Ok(self.lock().notices.get(tag).cloned())
    }

    async fn apply(&self, tag: &DeliveryTag, change: &Change, now: Timestamp) -> Result<Option<NoticeRecord>, Error> {
        let mut m = self.lock();
        Ok(m.notices
            .get_mut(tag)
            .and_then(|r| r.apply(change, now).then(|| r.clone())))
    }

    async fn record_delivery(&self, data: &str, now: Timestamp) -> Result<DeliveryMatch, Error> {
        let mut m = self.lock();
        if let Ok(tag) = DeliveryTag::parse_at("delivery.data", data) {
            if let Some(r) = m.notices.get_mut(&tag) {
                return Ok(r.deliver(now));
            }
        }
        if let Some(u) = m.unknown.iter_mut().find(|u| u.data == data) {
            u.count += 1;
            return Ok(DeliveryMatch::Unknown(u.clone()));
        }
        let u = UnknownDelivery::new(data, now, 1);
        m.unknown.push(u.clone());
        Ok(DeliveryMatch::Unknown(u))
    }

    async fn due(&self, now: Timestamp, limit: usize) -> Result<Vec<NoticeRecord>, Error> {
        let m = self.lock();
        let mut due: Vec<NoticeRecord> = m
            .notices
            .values()
            .filter(|r| {
                matches!(
                    r.state,
                    NoticeState::Pending | NoticeState::Accepted | NoticeState::FallingBack
                ) && r.due_at <= now
            })
            .cloned()
            .collect();
        due.sort_by(|a, b| a.due_at.cmp(&b.due_at).then_with(|| a.tag.cmp(&b.tag)));
        due.truncate(limit);
        Ok(due)
    }

    async fn unknown_deliveries(&self) -> Result<Vec<UnknownDelivery>, Error> {
        Ok(self.lock().unknown.clone())
    }

    async fn counts(&self) -> Result<NoticeCounts, Error> {
        let m = self.lock();
        let mut c = NoticeCounts::default();
        for r in m.notices.values() {
            c.add(r);
        }
        c.unknown_deliveries = m.unknown.len() as u64;
        Ok(c)
    }
}
