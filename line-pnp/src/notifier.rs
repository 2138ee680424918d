//! [`Notifier`]: sends notices through LINE and falls back to SMS.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use line_core::client::Client;
use line_core::clock::{Clock, SystemClock};
use line_core::model::{Message, PnpMessagesRequest};
use line_core::webhook::event::{Event, PnpDeliveryCompletionEvent};

use crate::error::{Error, ErrorKind};
use crate::phone::PhoneNumber;
use crate::sms::{Sms, SmsSender};
use crate::store::{Change, DeliveryMatch, FallbackReason, Insert, NewNotice, NoticeRecord, NoticeState, NoticeStore};
use crate::tag::DeliveryTag;

/// When a notice falls back to SMS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct FallbackPolicy {
    /// How long after sending a notice LINE's delivery webhook may take before the
    /// notice falls back to SMS. LINE says a delivery webhook that has not come within
    /// 24 hours will not come; a shop usually waits much less (default: 10 minutes).
    pub wait_for_delivery: Duration,
    /// How long an SMS attempt that did not finish (the process stopped) is left before
    /// [`Notifier::sweep`] resumes it (default: 1 minute).
    pub sms_lease: Duration,
    /// How long after a transient SMS failure the SMS is tried again (default: 1 minute).
    pub sms_retry: Duration,
}

impl Default for FallbackPolicy {
    fn default() -> Self {
        Self {
            wait_for_delivery: Duration::from_secs(600),
            sms_lease: Duration::from_secs(60),
            sms_retry: Duration::from_secs(60),
        }
    }
}

impl FallbackPolicy {
    /// The default policy with another wait for the delivery webhook.
    pub fn waiting(wait_for_delivery: Duration) -> Self {
        Self {
            wait_for_delivery,
            ..Self::default()
        }
    }
}

/// One notice to send: LINE messages to a phone number, and the SMS to send instead.
#[derive(Clone)]
#[non_exhaustive]
pub struct Notice {
    /// The notice's tag (its key).
    pub tag: DeliveryTag,
    /// The recipient.
    pub to: PhoneNumber,
    /// The LINE messages (1 to 5).
    pub messages: Vec<Message>,
    /// The SMS text, should it fall back.
    pub sms_text: String,
    /// LINE's `notificationDisabled`.
    pub notification_disabled: Option<bool>,
}

impl Notice {
    /// A notice.
    pub fn new(tag: DeliveryTag, to: PhoneNumber, messages: Vec<Message>, sms_text: impl Into<String>) -> Self {
        Self {
            tag,
            to,
            messages,
            sms_text: sms_text.into(),
            notification_disabled: None,
        }
    }
}

impl fmt::Debug for Notice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notice")
            .field("tag", &self.tag)
            .field("to", &self.to)
            .field("messages", &self.messages.len())
            .field("sms_text", &"<redacted>")
            .finish()
    }
}

/// What one [`Notifier::sweep`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SweepReport {
    /// Notices that fell back because no delivery came in time.
    pub timed_out: u64,
    /// SMS sent.
    pub sms_sent: u64,
    /// SMS the gateway refused (notices now `Failed`).
    pub failed: u64,
    /// SMS that failed transiently (due again later).
    pub retried: u64,
    /// Notices another worker or a delivery webhook moved first.
    pub skipped: u64,
}

/// Sends LINE notification messages and falls back to SMS.
///
/// - [`send`](Self::send) records the notice, then sends it to LINE with its tag as
///   `X-Line-Delivery-Tag`. A 422 (LINE cannot deliver to this number) or another
///   refusal (4xx) falls back to SMS at once; a 200 waits for the delivery webhook.
///   A send whose outcome is unknown (a 5xx or a lost answer after line-core's retries)
///   is never sent again (LINE's notification messages take no retry key, so a repeat
///   could deliver twice): it waits for the webhook like an accepted one.
/// - [`on_delivery`](Self::on_delivery) (or [`handle_events`](Self::handle_events))
///   takes LINE's delivery webhook.
/// - [`sweep`](Self::sweep), run every few seconds, falls back the notices whose wait
///   ran out and resumes SMS attempts that a stop interrupted.
///
/// The store decides every race: a notice ends delivered by LINE or sent by SMS (or
/// failed), never both by this crate's doing.
#[derive(Clone)]
pub struct Notifier {
    client: Client,
    store: Arc<dyn NoticeStore>,
    sms: Arc<dyn SmsSender>,
    clock: Arc<dyn Clock>,
    policy: FallbackPolicy,
}

impl fmt::Debug for Notifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notifier")
            .field("client", &self.client)
            .field("clock", &self.clock)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

fn after(now: Timestamp, d: Duration) -> Timestamp {
    now.saturating_add(SignedDuration::try_from(d).unwrap_or(SignedDuration::MAX))
        .unwrap_or(now)
}

impl Notifier {
    /// A notifier with the default [`FallbackPolicy`] on the system clock.
    pub fn new(client: Client, store: Arc<dyn NoticeStore>, sms: Arc<dyn SmsSender>) -> Self {
        Self {
            client,
            store,
            sms,
            clock: Arc::new(SystemClock),
            policy: FallbackPolicy::default(),
        }
    }

    /// Another policy.
    #[must_use]
    pub fn policy(mut self, policy: FallbackPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Another clock (tests).
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn NoticeStore> {
        &self.store
    }

    /// Records and sends `notice`; gives the record as it stands after LINE's answer
    /// (and the SMS, when LINE refused).
    ///
    /// Sending a tag again does nothing and gives the stored record, so a host may call
    /// `send` again after a crash. A tag used for another phone number is a
    /// [`TagConflict`](ErrorKind::TagConflict).
    pub async fn send(&self, notice: Notice) -> Result<NoticeRecord, Error> {
        if notice.messages.is_empty() || notice.messages.len() > line_core::limits::MAX_MESSAGES_PER_REQUEST {
            return Err(Error::invalid_input(
                "messages",
                format!(
                    "{} messages; a notification message has 1 to {}",
                    notice.messages.len(),
                    line_core::limits::MAX_MESSAGES_PER_REQUEST
                ),
            ));
        }
        let now = self.clock.now();
        let new = NewNotice::new(
            notice.tag.clone(),
            notice.to.clone(),
            notice.sms_text,
            after(now, self.policy.wait_for_delivery),
        );
        let record = match self.store.insert(new, now).await? {
            Insert::Created(r) => r,
            Insert::Existing(r) if r.phone == notice.to => return Ok(r),
            Insert::Existing(_) => {
                return Err(Error::new(ErrorKind::TagConflict {
                    tag: notice.tag.as_str().to_owned(),
                }))
            }
        };
        let mut request = PnpMessagesRequest::new(notice.messages, notice.to.hash().as_str());
        request.notification_disabled = notice.notification_disabled;
        match self
            .client
            .push_messages_by_phone(&request)
            .delivery_tag(notice.tag.as_str())
            .await
        {
            Ok(resp) => {
                let change = Change::Accepted {
                    line_request_id: resp.request_id.as_ref().map(|r| r.as_str().to_owned()),
                };
                match self.store.apply(&notice.tag, &change, self.clock.now()).await? {
                    Some(r) => Ok(r),
                    // A delivery webhook overtook the answer.
                    None => Ok(self.store.get(&notice.tag).await?.unwrap_or(record)),
                }
            }
            Err(e) => match e.api().map(|a| a.status) {
                Some(422) => {
                    tracing::info!(tag = %notice.tag, "LINE cannot deliver this notice; falling back to SMS");
                    self.fall_back(&notice.tag, FallbackReason::LineCannotDeliver).await
                }
                Some(status) if (400..500).contains(&status) => {
                    tracing::warn!(tag = %notice.tag, status, "LINE refused this notice; falling back to SMS");
                    self.fall_back(&notice.tag, FallbackReason::LineRejected).await
                }
                _ => {
                    // 5xx, timeout, lost answer: LINE may have taken it. It is not sent
                    // again; the webhook or the deadline decides.
                    tracing::warn!(tag = %notice.tag, error = %e, "outcome of the LINE send unknown; waiting for its delivery webhook");
                    Ok(record)
                }
            },
        }
    }

    /// Starts the fallback of `tag` (if it is still `Pending` or `Accepted`) and sends
    /// its SMS.
    async fn fall_back(&self, tag: &DeliveryTag, reason: FallbackReason) -> Result<NoticeRecord, Error> {
        let now = self.clock.now();
        let change = Change::StartFallback {
            reason,
            resume_at: after(now, self.policy.sms_lease),
        };
        match self.store.apply(tag, &change, now).await? {
            Some(r) => self.send_sms(r).await.map(|(r, _)| r),
            None => self
                .store
                .get(tag)
                .await?
                .ok_or_else(|| Error::invalid_input("tag", "no notice has this tag")),
        }
    }

    /// Sends the SMS of a `FallingBack` notice and records how it went.
    async fn send_sms(&self, record: NoticeRecord) -> Result<(NoticeRecord, Result<(), bool>), Error> {
        let key = record.tag.sms_key();
        let sms = Sms {
            to: &record.phone,
            text: &record.sms_text,
            tag: &record.tag,
            idempotency_key: &key,
        };
        let (change, outcome) = match self.sms.send(&sms).await {
            Ok(()) => (Change::SmsSent, Ok(())),
            Err(e) if e.is_transient() => {
                tracing::warn!(tag = %record.tag, error = %e, "SMS failed; trying again later");
                (
                    Change::RetrySms {
                        at: after(self.clock.now(), self.policy.sms_retry),
                    },
                    Err(true),
                )
            }
            Err(e) => {
                tracing::warn!(tag = %record.tag, error = %e, "SMS refused; the notice failed");
                (Change::Failed, Err(false))
            }
        };
        let now = self.clock.now();
        let updated = self.store.apply(&record.tag, &change, now).await?;
        let current = match updated {
            Some(r) => r,
            None => self.store.get(&record.tag).await?.unwrap_or(record),
        };
        Ok((current, outcome))
    }

    /// Takes LINE's delivery completion event. Never fails on a tag it does not know:
    /// that is recorded and given back as [`DeliveryMatch::Unknown`].
    pub async fn on_delivery(&self, event: &PnpDeliveryCompletionEvent) -> Result<DeliveryMatch, Error> {
        let m = self
            .store
            .record_delivery(&event.delivery.data, self.clock.now())
            .await?;
        match &m {
            DeliveryMatch::Delivered(r) => tracing::info!(tag = %r.tag, "notice delivered by LINE"),
            DeliveryMatch::Late(r) => {
                tracing::warn!(tag = %r.tag, "LINE delivered a notice after its SMS fallback started")
            }
            DeliveryMatch::Unknown(u) => tracing::warn!(count = u.count, "delivery webhook for an unknown tag"),
            _ => {}
        }
        Ok(m)
    }

    /// Takes every `delivery` event among `events` (the others are left alone); gives
    /// what each matched, in order.
    pub async fn handle_events<'a>(
        &self,
        events: impl IntoIterator<Item = &'a Event>,
    ) -> Result<Vec<DeliveryMatch>, Error> {
        let mut out = Vec::new();
        for event in events {
            if let Event::Delivery(d) = event {
                out.push(self.on_delivery(d).await?);
            }
        }
        Ok(out)
    }

    /// Falls back every notice whose wait ran out, and resumes the SMS of every notice
    /// whose attempt was interrupted or failed transiently (with the same idempotency
    /// key). Handles up to `limit` notices; call it again while it reports work.
    pub async fn sweep(&self, limit: usize) -> Result<SweepReport, Error> {
        let now = self.clock.now();
        let mut report = SweepReport::default();
        for record in self.store.due(now, limit).await? {
            let record = match record.state {
                NoticeState::Pending | NoticeState::Accepted => {
                    let change = Change::StartFallback {
                        reason: FallbackReason::NoDeliveryInTime,
                        resume_at: after(now, self.policy.sms_lease),
                    };
                    match self.store.apply(&record.tag, &change, now).await? {
                        Some(r) => {
                            report.timed_out += 1;
                            r
                        }
                        None => {
                            report.skipped += 1;
                            continue;
                        }
                    }
                }
                NoticeState::FallingBack => {
                    // Resumed: claim the attempt for another lease first, so two sweeps
                    // do not both resume it.
                    let change = Change::Resume {
                        lease_until: after(now, self.policy.sms_lease),
                    };
                    match self.store.apply(&record.tag, &change, now).await? {
                        Some(r) => r,
                        None => {
                            report.skipped += 1;
                            continue;
                        }
                    }
                }
                _ => {
                    report.skipped += 1;
                    continue;
                }
            };
            match self.send_sms(record).await?.1 {
                Ok(()) => report.sms_sent += 1,
                Err(true) => report.retried += 1,
                Err(false) => report.failed += 1,
            }
        }
        Ok(report)
    }
}
