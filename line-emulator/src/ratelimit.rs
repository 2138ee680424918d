//! LINE's rate limits, counted the way the server counts them.
//!
//! This is the emulator's own counter, not the client's limiter: a client
//! tested against the emulator is checked by an independent implementation.
//! LINE counts requests per channel and per endpoint; the emulator takes each
//! bearer token for one channel (with `--token`, there is only one).
//!
//! A window admits at most `count` requests in any span of `per` of emulated
//! time (a strict sliding window): a burst of `count` passes, and the next
//! request is refused until the oldest of them is `per` old. The configured
//! time scale multiplies `per`.

use std::collections::{HashMap, VecDeque};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

const SECOND: Duration = Duration::from_secs(1);
const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3_600);

/// LINE's limit for an operation: `count` requests per `per`, from the table of
/// LINE's Messaging API reference ("Rate limits").
pub(crate) fn limit_of(operation_id: &str) -> (u32, Duration) {
    match operation_id {
        "narrowcast" | "broadcast" => (60, HOUR),
        "multicast" => (200, SECOND),
        "listCoupon" | "createCoupon" | "getCouponDetail" | "closeCoupon" => (200, SECOND),
        "getFriendsDemographics"
        | "getNumberOfMessageDeliveries"
        | "getNumberOfFollowers"
        | "getMessageEvent"
        | "getStatisticsPerUnit"
        | "getRichMenuInsightSummary"
        | "getRichMenuInsightDaily" => (60, HOUR),
        "createAudienceGroup"
        | "addAudienceToAudienceGroup"
        | "createAudienceForUploadingUserIds"
        | "addUserIdsToAudience"
        | "createClickBasedAudienceGroup"
        | "createImpBasedAudienceGroup"
        | "updateAudienceGroupDescription"
        | "deleteAudienceGroup"
        | "getAudienceData"
        | "getAudienceGroups"
        | "getSharedAudienceData"
        | "getSharedAudienceGroups" => (60, MINUTE),
        "createRichMenu" | "deleteRichMenu" => (100, HOUR),
        "richMenuBatch" => (3, HOUR),
        "getRichMenuList" => (10, SECOND),
        "showLoadingAnimation" => (100, SECOND),
        _ => (2_000, SECOND),
    }
}

/// The requests one channel made to one endpoint within the last window.
#[derive(Debug)]
struct Window {
    count: usize,
    /// `None`: a window too long to express (a huge time scale); nothing expires.
    per: Option<SignedDuration>,
    admitted: VecDeque<Timestamp>,
}

impl Window {
    fn admit(&mut self, now: Timestamp) -> bool {
        if let Some(per) = self.per {
            while self.admitted.front().is_some_and(|t| now.duration_since(*t) >= per) {
                self.admitted.pop_front();
            }
        }
        if self.admitted.len() >= self.count {
            return false;
        }
        self.admitted.push_back(now);
        true
    }
}

/// Every channel's windows, keyed by channel and operation.
#[derive(Debug, Default)]
pub(crate) struct RateCounter {
    windows: HashMap<(u64, &'static str), Window>,
}

impl RateCounter {
    /// Counts one request of `channel` (its bearer token) to `operation_id` at
    /// `now`; `false` means LINE would answer the rate-limit 429 (and the
    /// refused request does not count).
    pub(crate) fn admit(&mut self, channel: &str, operation_id: &'static str, now: Timestamp, time_scale: f64) -> bool {
        // The token itself is not kept (the state is printable with `Debug`).
        let mut h = DefaultHasher::new();
        channel.hash(&mut h);
        let key = (h.finish(), operation_id);
        let window = self.windows.entry(key).or_insert_with(|| {
            let (count, per) = limit_of(operation_id);
            let scaled = Duration::try_from_secs_f64(per.as_secs_f64() * time_scale).ok();
            Window {
                count: count as usize,
                per: scaled.and_then(|d| SignedDuration::try_from(d).ok()),
                admitted: VecDeque::new(),
            }
        });
        window.admit(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> Timestamp {
        Timestamp::from_millisecond(1_800_000_000_000 + ms).unwrap()
    }

    #[test]
    fn a_window_admits_its_count_then_frees_slots_as_they_age() {
        let mut c = RateCounter::default();
        for _ in 0..10 {
            assert!(c.admit("t", "getRichMenuList", at(0), 1.0));
        }
        assert!(!c.admit("t", "getRichMenuList", at(0), 1.0));
        assert!(!c.admit("t", "getRichMenuList", at(999), 1.0));
        assert!(c.admit("t", "getRichMenuList", at(1_000), 1.0));
        // Another channel and another endpoint have their own windows.
        assert!(c.admit("u", "getRichMenuList", at(0), 1.0));
        assert!(c.admit("t", "getBotInfo", at(0), 1.0));
    }

    #[test]
    fn refused_requests_do_not_count() {
        let mut c = RateCounter::default();
        for _ in 0..3 {
            assert!(c.admit("t", "richMenuBatch", at(0), 0.001));
        }
        for ms in 1..3_600 {
            assert!(!c.admit("t", "richMenuBatch", at(ms), 0.001));
        }
        // The hour, scaled, is 3.6 s: all three slots are free again.
        for _ in 0..3 {
            assert!(c.admit("t", "richMenuBatch", at(3_600), 0.001));
        }
    }

    #[test]
    fn a_huge_scale_never_frees_the_window() {
        let mut c = RateCounter::default();
        for _ in 0..3 {
            assert!(c.admit("t", "richMenuBatch", at(0), 1e300));
        }
        assert!(!c.admit("t", "richMenuBatch", at(1_000_000_000), 1e300));
    }
}
