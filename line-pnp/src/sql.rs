//! What the SQL stores share: reading a row into a record, and the columns a change writes.

use std::fmt;

use jiff::Timestamp;

use crate::phone::PhoneNumber;
use crate::store::{Change, FallbackReason, NewNotice, NoticeRecord, NoticeState};
use crate::tag::DeliveryTag;

/// The error of a store call, boxed.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

pub(crate) fn ts(ms: i64) -> Result<Timestamp, BoxError> {
    Timestamp::from_millisecond(ms).map_err(|e| Box::new(e) as BoxError)
}

/// A column that does not hold what the store wrote.
#[derive(Debug)]
pub(crate) struct Corrupt(pub(crate) &'static str);

impl fmt::Display for Corrupt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "column {} holds a value this store never writes", self.0)
    }
}

impl std::error::Error for Corrupt {}

/// The columns of a notice, as read from either SQL store.
pub(crate) struct RawNotice {
    pub(crate) tag: String,
    pub(crate) phone: String,
    pub(crate) sms_text: String,
    pub(crate) state: String,
    pub(crate) fallback: Option<String>,
    pub(crate) created_ms: i64,
    pub(crate) due_ms: i64,
    pub(crate) updated_ms: i64,
    pub(crate) delivered_ms: Option<i64>,
    pub(crate) line_request_id: Option<String>,
}

impl RawNotice {
    pub(crate) fn into_record(self) -> Result<NoticeRecord, BoxError> {
        let tag = DeliveryTag::parse_at("tag", &self.tag).map_err(|_| Box::new(Corrupt("tag")) as BoxError)?;
        let phone = PhoneNumber::from_e164("phone", &self.phone).map_err(|_| Box::new(Corrupt("phone")) as BoxError)?;
        let state = NoticeState::from_name(&self.state).ok_or_else(|| Box::new(Corrupt("state")) as BoxError)?;
        let fallback = match self.fallback {
            None => None,
            Some(f) => Some(FallbackReason::from_name(&f).ok_or_else(|| Box::new(Corrupt("fallback")) as BoxError)?),
        };
        let mut r = NoticeRecord::pending(
            NewNotice::new(tag, phone, self.sms_text, ts(self.due_ms)?),
            ts(self.created_ms)?,
        );
        r.state = state;
        r.fallback = fallback;
        r.updated_at = ts(self.updated_ms)?;
        r.delivered_at = self.delivered_ms.map(ts).transpose()?;
        r.line_request_id = self.line_request_id;
        Ok(r)
    }
}

/// What a change writes: the new state, the fallback, the due time, the request id, the
/// two states it applies from (the second repeats the first when there is one), and
/// whether it applies only when due.
pub(crate) struct ChangeCols {
    pub(crate) state: &'static str,
    pub(crate) fallback: Option<&'static str>,
    pub(crate) due_ms: Option<i64>,
    pub(crate) request_id: Option<String>,
    pub(crate) from: [&'static str; 2],
    pub(crate) only_if_due: bool,
}

impl ChangeCols {
    pub(crate) fn of(change: &Change) -> Self {
        let from = change.from();
        let from = [from[0].as_str(), from.get(1).unwrap_or(&from[0]).as_str()];
        let (state, fallback, due_ms, request_id) = match change {
            Change::Accepted { line_request_id } => (NoticeState::Accepted, None, None, line_request_id.clone()),
            Change::StartFallback { reason, resume_at } => (
                NoticeState::FallingBack,
                Some(reason.as_str()),
                Some(resume_at.as_millisecond()),
                None,
            ),
            Change::Resume { lease_until } => {
                (NoticeState::FallingBack, None, Some(lease_until.as_millisecond()), None)
            }
            Change::RetrySms { at } => (NoticeState::FallingBack, None, Some(at.as_millisecond()), None),
            Change::SmsSent => (NoticeState::SmsSent, None, None, None),
            Change::Failed => (NoticeState::Failed, None, None, None),
        };
        Self {
            state: state.as_str(),
            fallback,
            due_ms,
            request_id,
            from,
            only_if_due: matches!(change, Change::Resume { .. }),
        }
    }
}
