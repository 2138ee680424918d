//! What the SQL stores share: the owned form of a reservation, and (for SQLite) the
//! cap decision over the rows read in its transaction.

#[cfg(feature = "sqlite")]
use std::collections::HashMap;

use crate::config::Caps;
use crate::error::Error;
#[cfg(feature = "sqlite")]
use crate::store::{check_caps, CapKind, CapState};
use crate::store::{secs_to_ms, EventKind, ReserveRequest};

/// After how many calls a store deletes a batch of expired rows.
pub(crate) const PURGE_EVERY: u64 = 256;
/// How many expired rows of a table one amortised purge deletes at most.
pub(crate) const PURGE_BATCH: i64 = 512;
/// How many days of counted webhook event IDs are kept (as the in-memory store does).
pub(crate) const SEEN_EVENT_DAYS: i64 = 8;

pub(crate) struct OwnedCandidate {
    pub campaign: String,
    pub variant: String,
    pub caps: Caps,
}

/// A [`ReserveRequest`] that can be sent to another thread.
pub(crate) struct OwnedReserve {
    pub visitor: String,
    pub session: String,
    pub now_ms: i64,
    pub day: String,
    pub max_per_day: Option<u32>,
    pub session_exp_ms: i64,
    pub token: String,
    pub token_exp_ms: i64,
    pub candidates: Vec<OwnedCandidate>,
}

fn is_token(token: &str) -> bool {
    token.len() == 32 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

impl OwnedReserve {
    pub fn new(req: &ReserveRequest<'_>) -> Result<Self, Error> {
        // As the in-memory store: a malformed token reserves nothing.
        if !is_token(req.token) {
            return Err(Error::invalid_input("token", "must be 32 hex digits"));
        }
        let now_ms = req.now.as_millisecond();
        Ok(Self {
            visitor: req.visitor.to_owned(),
            session: req.session.to_owned(),
            now_ms,
            day: req.day.to_owned(),
            max_per_day: req.max_per_day,
            session_exp_ms: now_ms.saturating_add(secs_to_ms(req.session_ttl_secs)),
            token: req.token.to_owned(),
            token_exp_ms: now_ms.saturating_add(secs_to_ms(req.token_ttl_secs)),
            candidates: req
                .candidates
                .iter()
                .map(|c| OwnedCandidate {
                    campaign: c.campaign.to_owned(),
                    variant: c.variant.to_owned(),
                    caps: c.caps.clone(),
                })
                .collect(),
        })
    }
}

/// A visitor's state in one campaign, as stored.
#[cfg(feature = "sqlite")]
#[derive(Default)]
pub(crate) struct CampaignRow {
    pub lifetime: i64,
    pub last_ms: Option<i64>,
    pub dismissed_ms: Option<i64>,
    pub converted: bool,
    /// Showing times in the rolling window, comma-separated milliseconds.
    pub window: String,
}

#[cfg(feature = "sqlite")]
fn window_times(s: &str) -> impl Iterator<Item = i64> + '_ {
    s.split(',').filter_map(|t| t.parse().ok())
}

/// The reservation to write: the candidate's index and its new window text.
#[cfg(feature = "sqlite")]
pub(crate) struct Chosen {
    pub index: usize,
    pub window: String,
}

/// Checks the candidates in order against the rows read: the first one all caps
/// allow, and the blocking cap of each one before it. (`PgStore` checks them in its
/// server-side function instead.)
#[cfg(feature = "sqlite")]
pub(crate) fn decide(
    r: &OwnedReserve,
    day_count: i64,
    rows: &HashMap<String, CampaignRow>,
    sessions: &HashMap<String, i64>,
) -> (Option<Chosen>, Vec<CapKind>) {
    let empty = CampaignRow::default();
    let daily = r
        .max_per_day
        .filter(|max| day_count >= i64::from(*max))
        .map(|_| CapKind::Daily);
    let mut blocked = Vec::with_capacity(r.candidates.len());
    for (index, c) in r.candidates.iter().enumerate() {
        let row = rows.get(&c.campaign).unwrap_or(&empty);
        let window_from = c.caps.window.map(|w| r.now_ms.saturating_sub(secs_to_ms(w.secs)));
        let in_window = match window_from {
            Some(from) => window_times(&row.window).filter(|t| *t > from).count(),
            None => 0,
        };
        let state = CapState {
            lifetime: u32::try_from(row.lifetime).unwrap_or(u32::MAX),
            in_window: u32::try_from(in_window).unwrap_or(u32::MAX),
            in_session: u32::try_from(sessions.get(&c.campaign).copied().unwrap_or(0)).unwrap_or(u32::MAX),
            last_shown_ms: row.last_ms,
            dismissed_ms: row.dismissed_ms,
            converted: row.converted,
        };
        match check_caps(&c.caps, &state, r.now_ms).or(daily) {
            Some(cap) => blocked.push(cap),
            None => {
                let window = match window_from {
                    Some(from) => window_times(&row.window)
                        .filter(|t| *t > from)
                        .chain(std::iter::once(r.now_ms))
                        .map(|t| t.to_string())
                        .collect::<Vec<_>>()
                        .join(","),
                    None => row.window.clone(),
                };
                return (Some(Chosen { index, window }), blocked);
            }
        }
    }
    (None, blocked)
}

/// The bit of an event kind in a token's `events` column.
pub(crate) fn event_bit(kind: EventKind) -> i64 {
    match kind {
        EventKind::Shown => 1,
        EventKind::Clicked => 2,
        EventKind::Dismissed => 4,
        EventKind::ConvertedFriend => 8,
        EventKind::ConvertedLink => 16,
    }
}

/// The oldest day whose counted event IDs are kept, given the day of a new one
/// (`None` when `day` is not a date: nothing is purged then).
pub(crate) fn oldest_kept_day(day: &str) -> Option<String> {
    let d: jiff::civil::Date = day.parse().ok()?;
    d.checked_sub(jiff::Span::new().days(SEEN_EVENT_DAYS - 1))
        .ok()
        .map(|d| d.to_string())
}
