//! Test helpers (feature `testing`): the conformance suite of [`NoticeStore`]
//! implementations, and [`RecordingSms`], an [`SmsSender`] that records.
//!
//! The suite has the workspace's one shape,
//! `notice_store_conformance(store: Arc<dyn NoticeStore>, clock: &dyn TestClock)`; the
//! store's methods take the time as an argument, so the suite reads `clock.now()` once
//! and passes instants from it. It expects an empty store.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! use line_core::clock::ManualClock;
//! use line_pnp::testing::notice_store_conformance;
//! use line_pnp::InMemoryNoticeStore;
//!
//! let clock = ManualClock::new("2026-12-01T00:00:00Z".parse().unwrap());
//! notice_store_conformance(Arc::new(InMemoryNoticeStore::new()), &clock).await;
//! # });
//! ```

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
pub use line_core::testing::TestClock;

use crate::phone::PhoneNumber;
use crate::sms::{Sms, SmsError, SmsSender};
use crate::store::{Change, DeliveryMatch, FallbackReason, Insert, NewNotice, NoticeRecord, NoticeState, NoticeStore};
use crate::tag::DeliveryTag;

/// One SMS a [`RecordingSms`] took. `Debug` hides the number and text.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SentSms {
    /// The recipient.
    pub to: PhoneNumber,
    /// The text.
    pub text: String,
    /// The notice's tag.
    pub tag: DeliveryTag,
    /// The idempotency key.
    pub idempotency_key: String,
}

impl std::fmt::Debug for SentSms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SentSms")
            .field("to", &self.to)
            .field("tag", &self.tag)
            .field("idempotency_key", &self.idempotency_key)
            .finish_non_exhaustive()
    }
}

/// How a [`RecordingSms`] answers its next calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SmsMode {
    /// Sends (records) it.
    #[default]
    Send,
    /// Fails transiently, sending nothing.
    FailTransient,
    /// Refuses, sending nothing.
    Refuse,
}

/// An [`SmsSender`] that records what it sends and, like a gateway with idempotency
/// keys, sends one key once (a repeat succeeds without sending). Cheap to share.
#[derive(Debug, Default)]
pub struct RecordingSms {
    inner: Mutex<Recording>,
}

#[derive(Debug, Default)]
struct Recording {
    sent: Vec<SentSms>,
    keys: HashSet<String>,
    attempts: u64,
    mode: SmsMode,
}

impl RecordingSms {
    /// A sender that sends.
    pub fn new() -> Self {
        Self::default()
    }

    /// How the next calls are answered.
    pub fn set_mode(&self, mode: SmsMode) {
        self.lock().mode = mode;
    }

    /// The SMS sent, in order (one per idempotency key).
    pub fn sent(&self) -> Vec<SentSms> {
        self.lock().sent.clone()
    }

    /// Calls made, repeats and failures included.
    pub fn attempts(&self) -> u64 {
        self.lock().attempts
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Recording> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The error a [`RecordingSms`] gives when told to fail.
#[derive(Debug)]
struct GatewayDown;

impl std::fmt::Display for GatewayDown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("recording gateway told to fail")
    }
}

impl std::error::Error for GatewayDown {}

#[async_trait]
impl SmsSender for RecordingSms {
    async fn send(&self, sms: &Sms<'_>) -> Result<(), SmsError> {
        let mut r = self.lock();
        r.attempts += 1;
        match r.mode {
            SmsMode::Send => {}
            SmsMode::FailTransient => return Err(SmsError::transient(GatewayDown)),
            SmsMode::Refuse => return Err(SmsError::permanent(GatewayDown)),
        }
        if r.keys.insert(sms.idempotency_key.to_owned()) {
            r.sent.push(SentSms {
                to: sms.to.clone(),
                text: sms.text.to_owned(),
                tag: sms.tag.clone(),
                idempotency_key: sms.idempotency_key.to_owned(),
            });
        }
        Ok(())
    }
}

fn tag(run: &str, name: &str) -> DeliveryTag {
    DeliveryTag::from_reference(&format!("{run}-{name}")).expect("a valid reference")
}

fn phone(n: u32) -> PhoneNumber {
    PhoneNumber::parse(&format!("090{:08}", 10_000_000 + n)).expect("a valid Japanese mobile number")
}

fn secs(s: i64) -> SignedDuration {
    SignedDuration::from_secs(s)
}

/// The conformance suite of [`NoticeStore`]: idempotent insert, every state change from
/// its allowed states only, deliveries (first, repeated, late, unknown), due notices and
/// their order, resume leases, counts, and a delivery racing a fallback on many notices
/// at once (exactly one wins each). Expects an empty store.
pub async fn notice_store_conformance(store: Arc<dyn NoticeStore>, clock: &dyn TestClock) {
    let t0 = Timestamp::from_millisecond(clock.now().as_millisecond()).expect("a timestamp in range");
    let run = format!("c{:08x}", rand_u32());

    // Insert is idempotent by tag.
    let a = tag(&run, "a");
    let new_a = NewNotice::new(a.clone(), phone(1), "sms a", t0 + secs(600));
    let created = match store.insert(new_a.clone(), t0).await.expect("insert") {
        Insert::Created(r) => r,
        other => panic!("a new tag must be created, got {other:?}"),
    };
    assert_eq!(created.state, NoticeState::Pending);
    assert_eq!(created.phone, phone(1));
    assert_eq!(created.sms_text, "sms a");
    assert_eq!(created.due_at, t0 + secs(600));
    assert_eq!(created.created_at, t0);
    let again = NewNotice::new(a.clone(), phone(2), "other", t0 + secs(5));
    match store.insert(again, t0 + secs(1)).await.expect("insert again") {
        Insert::Existing(r) => assert_eq!(r, created, "an existing notice is given back unchanged"),
        other => panic!("a known tag must not be inserted twice, got {other:?}"),
    }
    assert_eq!(store.get(&a).await.expect("get"), Some(created.clone()));
    assert_eq!(store.get(&tag(&run, "missing")).await.expect("get missing"), None);

    // Changes apply from their states only.
    let accepted = Change::Accepted {
        line_request_id: Some("req-1".into()),
    };
    let r = store.apply(&a, &accepted, t0 + secs(1)).await.expect("accept");
    let r = r.expect("pending -> accepted");
    assert_eq!(r.state, NoticeState::Accepted);
    assert_eq!(r.line_request_id.as_deref(), Some("req-1"));
    assert_eq!(r.updated_at, t0 + secs(1));
    assert_eq!(
        store.apply(&a, &accepted, t0 + secs(2)).await.expect("accept twice"),
        None
    );
    assert_eq!(
        store
            .apply(&a, &Change::SmsSent, t0 + secs(2))
            .await
            .expect("sms before fallback"),
        None
    );
    assert_eq!(
        store
            .apply(&tag(&run, "missing"), &accepted, t0)
            .await
            .expect("apply to missing"),
        None
    );
    let fallback = Change::StartFallback {
        reason: FallbackReason::NoDeliveryInTime,
        resume_at: t0 + secs(660),
    };
    let r = store
        .apply(&a, &fallback, t0 + secs(600))
        .await
        .expect("fall back")
        .expect("accepted -> falling back");
    assert_eq!(r.state, NoticeState::FallingBack);
    assert_eq!(r.fallback, Some(FallbackReason::NoDeliveryInTime));
    assert_eq!(r.due_at, t0 + secs(660));
    assert_eq!(
        store
            .apply(&a, &fallback, t0 + secs(600))
            .await
            .expect("fall back twice"),
        None
    );

    // Resume only once due, and only one of two claims.
    let resume = Change::Resume {
        lease_until: t0 + secs(720),
    };
    assert_eq!(
        store.apply(&a, &resume, t0 + secs(630)).await.expect("resume early"),
        None
    );
    let r = store
        .apply(&a, &resume, t0 + secs(660))
        .await
        .expect("resume")
        .expect("due -> claimed");
    assert_eq!(r.due_at, t0 + secs(720));
    assert_eq!(
        store.apply(&a, &resume, t0 + secs(660)).await.expect("resume twice"),
        None
    );
    let retry = Change::RetrySms { at: t0 + secs(700) };
    let r = store
        .apply(&a, &retry, t0 + secs(661))
        .await
        .expect("retry")
        .expect("falling back stays");
    assert_eq!((r.state, r.due_at), (NoticeState::FallingBack, t0 + secs(700)));
    let r = store
        .apply(&a, &Change::SmsSent, t0 + secs(662))
        .await
        .expect("sent")
        .expect("falling back -> sent");
    assert_eq!(r.state, NoticeState::SmsSent);
    assert_eq!(r.fallback, Some(FallbackReason::NoDeliveryInTime));
    assert_eq!(
        store
            .apply(&a, &Change::Failed, t0 + secs(663))
            .await
            .expect("fail after sent"),
        None
    );

    // Deliveries.
    match store
        .record_delivery(a.as_str(), t0 + secs(700))
        .await
        .expect("late delivery")
    {
        DeliveryMatch::Late(r) => {
            assert_eq!(r.state, NoticeState::SmsSent, "a late delivery keeps the SMS outcome");
            assert_eq!(r.delivered_at, Some(t0 + secs(700)));
            assert!(r.delivered_late());
        }
        other => panic!("expected a late delivery, got {other:?}"),
    }
    let b = tag(&run, "b");
    store
        .insert(NewNotice::new(b.clone(), phone(2), "sms b", t0 + secs(600)), t0)
        .await
        .expect("insert b");
    match store.record_delivery(b.as_str(), t0 + secs(5)).await.expect("delivery") {
        DeliveryMatch::Delivered(r) => {
            assert_eq!(r.state, NoticeState::Delivered);
            assert_eq!(r.delivered_at, Some(t0 + secs(5)));
            assert!(!r.delivered_late());
        }
        other => panic!("a pending notice is delivered, got {other:?}"),
    }
    match store
        .record_delivery(b.as_str(), t0 + secs(9))
        .await
        .expect("repeated delivery")
    {
        DeliveryMatch::Repeated(r) => assert_eq!(r.delivered_at, Some(t0 + secs(5))),
        other => panic!("expected a repeat, got {other:?}"),
    }
    assert_eq!(
        store
            .apply(&b, &fallback, t0 + secs(600))
            .await
            .expect("fallback after delivery"),
        None
    );
    let unknown = format!("{run}-never-sent-tag");
    for n in 1..=2u64 {
        match store
            .record_delivery(&unknown, t0 + secs(n as i64))
            .await
            .expect("unknown")
        {
            DeliveryMatch::Unknown(u) => {
                assert_eq!(u.data, unknown);
                assert_eq!(u.count, n);
                assert_eq!(u.first_at, t0 + secs(1));
            }
            other => panic!("expected an unknown delivery, got {other:?}"),
        }
    }
    let hashed = phone(9).hash();
    assert!(matches!(
        store.record_delivery(hashed.as_str(), t0).await.expect("hash data"),
        DeliveryMatch::Unknown(_)
    ));
    let unknowns = store.unknown_deliveries().await.expect("unknown list");
    assert_eq!(unknowns.len(), 2);
    assert_eq!(unknowns[0].data, unknown);
    assert!(!format!("{unknowns:?}").contains(hashed.as_str()));

    // Due notices: earliest first, limited, final and future ones left out.
    let c = tag(&run, "c");
    let d = tag(&run, "d");
    let e = tag(&run, "e");
    store
        .insert(NewNotice::new(c.clone(), phone(3), "c", t0 + secs(30)), t0)
        .await
        .expect("c");
    store
        .insert(NewNotice::new(d.clone(), phone(4), "d", t0 + secs(20)), t0)
        .await
        .expect("d");
    store
        .insert(NewNotice::new(e.clone(), phone(5), "e", t0 + secs(90)), t0)
        .await
        .expect("e");
    store
        .apply(&c, &accepted, t0)
        .await
        .expect("accept c")
        .expect("c accepted");
    let due: Vec<DeliveryTag> = store
        .due(t0 + secs(60), 10)
        .await
        .expect("due")
        .into_iter()
        .map(|r| r.tag)
        .collect();
    assert_eq!(due, vec![d.clone(), c.clone()]);
    assert_eq!(store.due(t0 + secs(60), 1).await.expect("due 1").len(), 1);
    assert!(store.due(t0 + secs(10), 10).await.expect("due none").is_empty());

    // A delivery racing a fallback: exactly one of them moves each notice.
    let n = 24u32;
    let mut tags = Vec::new();
    for i in 0..n {
        let t = tag(&run, &format!("race{i}"));
        store
            .insert(NewNotice::new(t.clone(), phone(100 + i), "race", t0 + secs(10)), t0)
            .await
            .expect("race insert");
        tags.push(t);
    }
    let mut tasks = Vec::new();
    for t in &tags {
        let (s1, s2) = (Arc::clone(&store), Arc::clone(&store));
        let (t1, t2) = (t.clone(), t.clone());
        let fb = Change::StartFallback {
            reason: FallbackReason::NoDeliveryInTime,
            resume_at: t0 + secs(70),
        };
        tasks.push(tokio::spawn(async move {
            s1.record_delivery(t1.as_str(), t0 + secs(10))
                .await
                .expect("race delivery")
        }));
        tasks.push(tokio::spawn(async move {
            match s2.apply(&t2, &fb, t0 + secs(10)).await.expect("race fallback") {
                Some(_) => DeliveryMatch::Unknown(crate::store::UnknownDelivery::new("fallback-won", t0, 0)),
                None => DeliveryMatch::Unknown(crate::store::UnknownDelivery::new("fallback-lost", t0, 0)),
            }
        }));
    }
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.expect("race task"));
    }
    for (i, pair) in outcomes.chunks(2).enumerate() {
        let delivery_won = matches!(pair[0], DeliveryMatch::Delivered(_));
        let fallback_won = matches!(&pair[1], DeliveryMatch::Unknown(u) if u.data == "fallback-won");
        assert!(
            delivery_won != fallback_won,
            "notice {i}: exactly one of delivery and fallback wins"
        );
        if fallback_won {
            assert!(
                matches!(pair[0], DeliveryMatch::Late(_)),
                "notice {i}: the losing delivery is late"
            );
        }
        let r: NoticeRecord = store.get(&tags[i]).await.expect("race get").expect("race notice");
        let want = if delivery_won {
            NoticeState::Delivered
        } else {
            NoticeState::FallingBack
        };
        assert_eq!(r.state, want, "notice {i}");
        assert!(r.delivered_at.is_some());
    }

    // Counts.
    let counts = store.counts().await.expect("counts");
    let delivered_in_race = outcomes
        .chunks(2)
        .filter(|p| matches!(p[0], DeliveryMatch::Delivered(_)))
        .count() as u64;
    assert_eq!(counts.sms_sent, 1);
    assert_eq!(counts.delivered, 1 + delivered_in_race);
    assert_eq!(counts.falling_back, u64::from(n) - delivered_in_race);
    assert_eq!(counts.accepted, 1);
    assert_eq!(counts.pending, 2);
    assert_eq!(counts.failed, 0);
    assert_eq!(counts.late_deliveries, 1 + (u64::from(n) - delivered_in_race));
    assert_eq!(counts.unknown_deliveries, 2);
    assert_eq!(counts.total(), 5 + u64::from(n));

    // Records never show the phone number or the SMS text.
    let shown = format!("{:?}", store.get(&c).await.expect("get c"));
    assert!(
        !shown.contains(phone(3).expose_e164()) && !shown.contains("09010000003"),
        "{shown}"
    );
    assert!(shown.contains("<redacted>"));
}

fn rand_u32() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish() as u32
}
