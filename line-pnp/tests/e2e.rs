//! End to end against the emulator, with the in-memory store: delivered by LINE, a 422
//! that falls back at once, a timeout that falls back, a delivery racing the fallback,
//! an unknown tag, and crash recovery without a second SMS (no phone number in any output:
//! `logs.rs`).

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use line_emulator::PhoneUser;
use line_pnp::testing::SmsMode;
use line_pnp::{
    Change, DeliveryMatch, DeliveryTag, ErrorKind, FallbackReason, InMemoryNoticeStore, NoticeState, NoticeStore,
};

fn memory() -> Arc<dyn NoticeStore> {
    Arc::new(InMemoryNoticeStore::new())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivered_by_line_sends_no_sms() {
    let mut h = Harness::start(memory()).await;
    let to = h.phone(PhoneUser::with_line("+819011110001"), "090-1111-0001");
    let record = h.notifier.send(notice("order-1", &to)).await.unwrap();
    assert!(matches!(record.state, NoticeState::Accepted | NoticeState::Delivered));
    assert!(record.line_request_id.is_some() || record.state == NoticeState::Delivered);
    match h.next_delivery().await {
        DeliveryMatch::Delivered(r) => assert_eq!(r.tag.reference(), Some("order-1")),
        other => panic!("{other:?}"),
    }
    h.time_out();
    let report = h.notifier.sweep(100).await.unwrap();
    assert_eq!(report.sms_sent + report.timed_out, 0);
    assert!(h.sms.sent().is_empty());
    let counts = h.notifier.store().counts().await.unwrap();
    assert_eq!((counts.delivered, counts.sms_sent, counts.total()), (1, 0, 1));
    // The emulator saw the tag on the push, and counts the message for today (JST).
    let delivered = h.emu.pnp_deliveries();
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].delivery_tag.as_deref(), Some("line-pnp-notice:order-1"));
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(9)))
        .strftime("%Y%m%d")
        .to_string();
    let client = h.emu.client_builder().build().unwrap();
    let stats = client.get_pnp_message_statistics(&today).await.unwrap();
    assert_eq!(stats.body.success, Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_422_falls_back_to_sms_at_once() {
    let h = Harness::start(memory()).await;
    let to = h.phone(PhoneUser::without_line("+819011110002"), "09011110002");
    let record = h.notifier.send(notice("order-2", &to)).await.unwrap();
    assert_eq!(record.state, NoticeState::SmsSent);
    assert_eq!(record.fallback, Some(FallbackReason::LineCannotDeliver));
    let sent = h.sms.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to, to);
    assert_eq!(sent[0].text, "Your order order-2 has shipped.");
    assert_eq!(sent[0].idempotency_key, "sms:line-pnp-notice:order-2");
    assert_eq!(h.emu.pnp_refused(), 1);
    // A number LINE does not know at all answers 422 too.
    let unknown = line_pnp::PhoneNumber::parse("+81 90 9999 0000").unwrap();
    let record = h.notifier.send(notice("order-2b", &unknown)).await.unwrap();
    assert_eq!(record.fallback, Some(FallbackReason::LineCannotDeliver));
    assert_eq!(h.sms.sent().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_delivery_in_time_falls_back_once() {
    let h = Harness::start(memory()).await;
    let to = h.phone(PhoneUser::never_confirms("+819011110003"), "090-1111-0003");
    let record = h.notifier.send(notice("order-3", &to)).await.unwrap();
    assert_eq!(record.state, NoticeState::Accepted);
    // Not due yet.
    h.clock.advance(jiff::SignedDuration::from_secs(300));
    assert_eq!(h.notifier.sweep(100).await.unwrap().timed_out, 0);
    assert!(h.sms.sent().is_empty());
    h.time_out();
    let report = h.notifier.sweep(100).await.unwrap();
    assert_eq!((report.timed_out, report.sms_sent), (1, 1));
    let r = h.notifier.store().get(&record.tag).await.unwrap().unwrap();
    assert_eq!(
        (r.state, r.fallback),
        (NoticeState::SmsSent, Some(FallbackReason::NoDeliveryInTime))
    );
    // Sweeping again sends nothing more.
    h.clock.advance(jiff::SignedDuration::from_hours(1));
    assert_eq!(h.notifier.sweep(100).await.unwrap(), Default::default());
    assert_eq!(h.sms.sent().len(), 1);
    assert_eq!(h.emu.pnp_webhooks_sent(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_after_the_fallback_is_recorded_as_late() {
    let mut h = Harness::start(memory()).await;
    let to = h.phone(
        PhoneUser::with_line("+819011110004").delivery_delay(Duration::from_millis(400)),
        "090-1111-0004",
    );
    let record = h.notifier.send(notice("order-4", &to)).await.unwrap();
    assert_eq!(record.state, NoticeState::Accepted);
    h.time_out();
    assert_eq!(h.notifier.sweep(100).await.unwrap().sms_sent, 1);
    match h.next_delivery().await {
        DeliveryMatch::Late(r) => {
            assert_eq!(r.state, NoticeState::SmsSent);
            assert!(r.delivered_late());
        }
        other => panic!("{other:?}"),
    }
    let counts = h.notifier.store().counts().await.unwrap();
    assert_eq!((counts.delivered, counts.sms_sent, counts.late_deliveries), (0, 1, 1));
    assert_eq!(h.sms.sent().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deliveries_racing_sweeps_give_exactly_one_outcome_each() {
    let mut h = Harness::start(memory()).await;
    let n = 16;
    let mut tags = Vec::new();
    for i in 0..n {
        let number = format!("+8190222200{i:02}");
        // Deliveries land between 0 and 60 ms after each push, while sweeps run.
        let user = PhoneUser::with_line(number.as_str()).delivery_delay(Duration::from_millis(4 * i as u64));
        let to = h.phone(user, &number);
        let r = h.notifier.send(notice(&format!("race-{i}"), &to)).await.unwrap();
        tags.push(r.tag);
    }
    h.time_out();
    let sweeps: Vec<_> = (0..4)
        .map(|_| {
            let notifier = h.notifier.clone();
            tokio::spawn(async move {
                let mut sent = 0;
                for _ in 0..5 {
                    sent += notifier.sweep(100).await.unwrap().sms_sent;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                sent
            })
        })
        .collect();
    let mut sms_by_sweeps = 0;
    for s in sweeps {
        sms_by_sweeps += s.await.unwrap();
    }
    // Every delivery webhook arrives in the end.
    for _ in 0..n {
        h.next_delivery().await;
    }
    let sent: Vec<DeliveryTag> = h.sms.sent().into_iter().map(|s| s.tag).collect();
    assert_eq!(
        sent.len() as u64,
        sms_by_sweeps,
        "each SMS was sent by exactly one sweep"
    );
    assert_eq!(h.sms.attempts(), sms_by_sweeps, "no SMS was even attempted twice");
    for tag in &tags {
        let r = h.notifier.store().get(tag).await.unwrap().unwrap();
        let by_sms = sent.contains(tag);
        match r.state {
            NoticeState::Delivered => assert!(!by_sms, "{tag}: delivered by LINE and by SMS"),
            NoticeState::SmsSent => assert!(by_sms, "{tag}: recorded as SMS but none sent"),
            other => panic!("{tag}: {other:?}"),
        }
        assert!(r.delivered_at.is_some());
    }
    let counts = h.notifier.store().counts().await.unwrap();
    assert_eq!(counts.delivered + counts.sms_sent, n as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_tag_is_recorded_not_a_panic() {
    let mut h = Harness::start(memory()).await;
    let d = h
        .emu
        .send_events(vec![serde_json::json!({
            "type": "delivery",
            "delivery": {"data": "someone-elses-tag-0001"}
        })])
        .await
        .unwrap();
    assert_eq!(d.status, Some(200));
    match h.next_delivery().await {
        DeliveryMatch::Unknown(u) => assert_eq!((u.data.as_str(), u.count), ("someone-elses-tag-0001", 1)),
        other => panic!("{other:?}"),
    }
    let unknown = h.notifier.store().unknown_deliveries().await.unwrap();
    assert_eq!(unknown.len(), 1);
    assert_eq!(h.notifier.store().counts().await.unwrap().unknown_deliveries, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_sms_is_resumed_without_a_second_sms() {
    let h = Harness::start(memory()).await;
    let to = h.phone(PhoneUser::never_confirms("+819011110005"), "090-1111-0005");
    let record = h.notifier.send(notice("order-5", &to)).await.unwrap();
    h.time_out();
    // A process claims the fallback, hands the SMS to the gateway and stops before
    // recording it.
    let now = jiff::Timestamp::from_millisecond(line_core::clock::Clock::now(&h.clock).as_millisecond()).unwrap();
    let claimed = h
        .notifier
        .store()
        .apply(
            &record.tag,
            &Change::StartFallback {
                reason: FallbackReason::NoDeliveryInTime,
                resume_at: now + jiff::SignedDuration::from_secs(60),
            },
            now,
        )
        .await
        .unwrap()
        .unwrap();
    let key = claimed.tag.sms_key();
    line_pnp::SmsSender::send(
        h.sms.as_ref(),
        &line_pnp::Sms::new(&claimed.phone, &claimed.sms_text, &claimed.tag, &key),
    )
    .await
    .unwrap();
    // Within the lease nobody touches it; after, a sweep resumes it with the same key.
    assert_eq!(h.notifier.sweep(100).await.unwrap(), Default::default());
    h.clock.advance(jiff::SignedDuration::from_secs(61));
    let report = h.notifier.sweep(100).await.unwrap();
    assert_eq!(report.sms_sent, 1);
    assert_eq!(h.sms.attempts(), 2, "the resumed attempt reached the gateway");
    assert_eq!(h.sms.sent().len(), 1, "with the same key, so one SMS");
    assert_eq!(
        h.notifier.store().get(&record.tag).await.unwrap().unwrap().state,
        NoticeState::SmsSent
    );
    // Sending the same notice again (a restarted host) pushes nothing and sends nothing.
    let again = h.notifier.send(notice("order-5", &to)).await.unwrap();
    assert_eq!(again.state, NoticeState::SmsSent);
    assert_eq!(h.emu.calls("pushMessagesByPhone"), 1);
    assert_eq!(h.sms.attempts(), 2);
    // The same tag for another number is refused.
    let other = line_pnp::PhoneNumber::parse("090-1111-0006").unwrap();
    let err = h.notifier.send(notice("order-5", &other)).await.unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::TagConflict { .. }));
    assert!(!err.to_string().contains("0006"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sms_failures_retry_or_fail() {
    let h = Harness::start(memory()).await;
    let a = h.phone(PhoneUser::without_line("+819011110007"), "090-1111-0007");
    h.sms.set_mode(SmsMode::FailTransient);
    let r = h.notifier.send(notice("order-7", &a)).await.unwrap();
    assert_eq!(r.state, NoticeState::FallingBack);
    h.sms.set_mode(SmsMode::Send);
    assert_eq!(
        h.notifier.sweep(100).await.unwrap().sms_sent,
        0,
        "not before the retry delay"
    );
    h.clock.advance(jiff::SignedDuration::from_secs(61));
    assert_eq!(h.notifier.sweep(100).await.unwrap().sms_sent, 1);
    let b = h.phone(PhoneUser::without_line("+819011110008"), "090-1111-0008");
    h.sms.set_mode(SmsMode::Refuse);
    let r = h.notifier.send(notice("order-8", &b)).await.unwrap();
    assert_eq!(r.state, NoticeState::Failed);
    let counts = h.notifier.store().counts().await.unwrap();
    assert_eq!((counts.sms_sent, counts.failed), (1, 1));
}

/// LINE's answer is lost after it took the notice: the notice is not sent again (no
/// retry key exists for this endpoint) and the delivery webhook settles it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_answer_is_not_resent_and_the_webhook_settles_it() {
    use line_emulator::{FaultConfig, FaultRule};
    let mut h = Harness::start(memory()).await;
    let to = h.phone(PhoneUser::with_line("+819011110009"), "090-1111-0009");
    h.emu
        .set_faults(FaultConfig::none().with_endpoint("pushMessagesByPhone", FaultRule::new().lost_response_rate(1.0)))
        .unwrap();
    let record = h.notifier.send(notice("order-9", &to)).await.unwrap();
    assert!(matches!(record.state, NoticeState::Pending | NoticeState::Delivered));
    assert_eq!(h.emu.calls("pushMessagesByPhone"), 1, "never sent twice");
    assert!(matches!(h.next_delivery().await, DeliveryMatch::Delivered(_)));
    h.time_out();
    assert_eq!(h.notifier.sweep(100).await.unwrap().sms_sent, 0);
    assert!(h.sms.sent().is_empty());
}

/// LINE answers 500 (it did not take the notice, but the client cannot know): no
/// second push; the deadline falls back to SMS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_error_waits_for_the_deadline_then_sends_the_sms() {
    use line_emulator::{FaultConfig, FaultRule};
    let h = Harness::start(memory()).await;
    let to = h.phone(PhoneUser::with_line("+819011110010"), "090-1111-0010");
    h.emu
        .set_faults(FaultConfig::none().with_endpoint("pushMessagesByPhone", FaultRule::new().error_rate(1.0)))
        .unwrap();
    let record = h.notifier.send(notice("order-10", &to)).await.unwrap();
    assert_eq!(record.state, NoticeState::Pending);
    assert_eq!(h.emu.calls("pushMessagesByPhone"), 1, "never sent twice");
    h.time_out();
    assert_eq!(h.notifier.sweep(100).await.unwrap().sms_sent, 1);
    let r = h.notifier.store().get(&record.tag).await.unwrap().unwrap();
    assert_eq!(
        (r.state, r.fallback),
        (NoticeState::SmsSent, Some(FallbackReason::NoDeliveryInTime))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_second_channel_only_that_channels_numbers_are_reached() {
    // The notifier sends with an added channel's token; its receiver checks that channel's
    // secret. A number registered with the default channel only is unknown to it.
    let mut h = Harness::start_on_added_channel(memory()).await;
    let to = h.phone(PhoneUser::with_line("+819011110011"), "090-1111-0011");
    h.emu.add_phone_user(PhoneUser::with_line("+819011110012")).unwrap();
    let default_only = line_pnp::PhoneNumber::parse("090-1111-0012").unwrap();

    h.notifier.send(notice("order-11", &to)).await.unwrap();
    match h.next_delivery().await {
        DeliveryMatch::Delivered(r) => assert_eq!(r.tag.reference(), Some("order-11")),
        other => panic!("{other:?}"),
    }
    let record = h.notifier.send(notice("order-12", &default_only)).await.unwrap();
    assert_eq!(record.state, NoticeState::SmsSent);
    assert_eq!(record.fallback, Some(FallbackReason::LineCannotDeliver));

    let delivered = h.channel.pnp_deliveries();
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].delivery_tag.as_deref(), Some("line-pnp-notice:order-11"));
    assert_eq!(h.channel.pnp_refused(), 1);
    assert!(h.emu.pnp_deliveries().is_empty());
    assert_eq!((h.emu.pnp_refused(), h.emu.pnp_webhooks_sent()), (0, 0));
    assert_eq!(h.sms.sent().len(), 1);
    assert_eq!(h.channel.calls("pushMessagesByPhone"), 2);
    assert_eq!(h.emu.default_channel().calls("pushMessagesByPhone"), 0);
}
