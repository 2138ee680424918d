//! The executor against the emulator (and, for the audience states the emulator never reports, a
//! wiremock server): upload, readiness, narrowcast, progress, multicast chunks, faults, resuming.
#![cfg(feature = "execute")]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::Timestamp;
use line_core::client::Client;
use line_core::model::{Message, TextMessage};
use line_core::ratelimit::RateLimiter;
use line_core::retry::RetryPolicy;
use line_emulator::{Emulator, EmulatorConfig, FaultConfig, FaultRule, UserSpec};
use line_segments::execute::{Checkpoint, ExecuteOptions, Executor, Polling, Report};
use line_segments::narrowcast::{plan_profiles, Plan, PlanOptions};
use line_segments::profile::{Profile, Value};
use line_segments::{text, ErrorKind};

fn now() -> Timestamp {
    "2026-05-15T03:00:00Z".parse().unwrap()
}

fn messages() -> Vec<Message> {
    vec![TextMessage::new("Sale starts now").into()]
}

/// Short waits, so that the tests poll several times quickly.
fn fast() -> ExecuteOptions {
    let p = Polling::new(
        Duration::from_millis(20),
        Duration::from_millis(80),
        Duration::from_secs(10),
    );
    ExecuteOptions::default().audience_ready(p).progress(p)
}

async fn emulator(job_delay: Duration) -> Emulator {
    Emulator::start_with(EmulatorConfig::new().rate_limits(false).job_delay(job_delay))
        .await
        .unwrap()
}

fn client_of(emu: &Emulator) -> Client {
    emu.client_builder()
        .rate_limiter(RateLimiter::disabled())
        .retry_policy(
            RetryPolicy::default()
                .with_base_delay(Duration::from_millis(5))
                .with_max_delay(Duration::from_millis(20)),
        )
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

/// `n` friends on the emulator, every other one a woman, and their profiles: the first `fans`
/// like cosmetics.
fn people(emu: &Emulator, n: usize, fans: usize) -> Vec<Profile> {
    (0..n)
        .map(|i| {
            let id = format!("U{i:032}");
            let gender = if i % 2 == 0 { "female" } else { "male" };
            emu.add_user(UserSpec::new(format!("user {i}")).user_id(&id).gender(gender));
            Profile::new(id).with_attr(
                "interests",
                Value::Set(if i < fans { vec!["cosmetics".into()] } else { vec![] }),
            )
        })
        .collect()
}

fn plan_of(src: &str, profiles: &[Profile]) -> Plan {
    plan_profiles(&text::parse(src).unwrap(), profiles, now(), &PlanOptions::default()).unwrap()
}

/// How many times each user got a message, by operation.
fn received(emu: &Emulator, users: &[Profile], operation: &str) -> Vec<usize> {
    users
        .iter()
        .map(|p| emu.messages(&p.id).iter().filter(|m| m.operation == operation).count())
        .collect()
}

const CAMPAIGN: &str = r#"demo.gender("female") and "cosmetics" in interests"#;

#[tokio::test]
async fn a_narrowcast_plan_uploads_waits_sends_and_reports_progress() {
    let emu = emulator(Duration::from_millis(200)).await;
    let people = people(&emu, 200, 120);
    let plan = plan_of(CAMPAIGN, &people);
    let Plan::Narrowcast(n) = &plan else {
        panic!("expected a narrowcast, got {plan:?}")
    };
    assert_eq!(n.upload.as_ref().unwrap().user_ids.len(), 120);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let mut checkpoint = Checkpoint::new();
    let report = Executor::new(client_of(&emu))
        .options(fast())
        .on_checkpoint(move |c| log.lock().unwrap().push(*c))
        .execute(&plan, &messages(), &mut checkpoint)
        .await
        .unwrap();
    let Report::Narrowcast(r) = &report else {
        panic!("expected a narrowcast report, got {report:?}")
    };
    let audience = r.audience_group_id.unwrap();
    assert_eq!(r.uploaded_users, 120);
    assert!(!r.resumed);
    // The job took 200 ms: the first look saw it waiting.
    assert!(r.polls >= 2, "{} polls", r.polls);
    assert_eq!(r.progress.phase.as_str(), "succeeded");
    assert_eq!(r.progress.target_count, Some(60));
    assert_eq!(report.reached(), 60);
    // LINE has the audience, and the women among it got the message once, nobody else.
    assert_eq!(emu.audience_members(audience).unwrap().len(), 120);
    let got = received(&emu, &people, "narrowcast");
    for (i, n) in got.iter().enumerate() {
        assert_eq!(*n, usize::from(i < 120 && i % 2 == 0), "user {i}");
    }
    assert!(emu.messages(&people[0].id).iter().all(|m| m.request_id == r.request_id));
    assert_eq!(emu.calls("narrowcast"), 1);
    assert_eq!(emu.calls("createAudienceGroup"), 1);
    assert!(emu.calls("getAudienceData") >= 1);
    assert_eq!(u64::from(r.polls), emu.calls("getNarrowcastProgress"));
    // The checkpoint was handed over once the audience existed.
    assert_eq!(checkpoint.audience_group_id, Some(audience));
    assert_eq!(checkpoint.uploaded, 120);
    assert_eq!(*seen.lock().unwrap(), vec![checkpoint]);
}

#[tokio::test]
async fn a_large_upload_goes_in_chunks_of_ten_thousand() {
    let emu = emulator(Duration::ZERO).await;
    // 25,000 profiles that like cosmetics; the emulator knows only some of them as friends.
    let mut people = people(&emu, 100, 100);
    people.extend(
        (100..25_000)
            .map(|i| Profile::new(format!("U{i:032}")).with_attr("interests", Value::Set(vec!["cosmetics".into()]))),
    );
    let plan = plan_of(CAMPAIGN, &people);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let report = Executor::new(client_of(&emu))
        .options(fast())
        .on_checkpoint(move |c| log.lock().unwrap().push(c.uploaded))
        .execute(&plan, &messages(), &mut Checkpoint::new())
        .await
        .unwrap();
    let Report::Narrowcast(r) = report else {
        panic!("expected a narrowcast report")
    };
    assert_eq!(emu.calls("createAudienceGroup"), 1);
    assert_eq!(emu.calls("addAudienceToAudienceGroup"), 2);
    assert_eq!(*seen.lock().unwrap(), vec![10_000, 20_000, 25_000]);
    let members = emu.audience_members(r.audience_group_id.unwrap()).unwrap();
    assert_eq!(members.len(), 25_000);
    assert_eq!(r.progress.success_count, Some(50));
}

#[tokio::test]
async fn a_rejected_upload_sends_nothing() {
    let emu = emulator(Duration::ZERO).await;
    let people = people(&emu, 100, 60);
    let options = PlanOptions {
        // LINE allows 120 characters.
        audience_description: "x".repeat(121),
        ..PlanOptions::default()
    };
    let plan = plan_profiles(&text::parse(CAMPAIGN).unwrap(), &people, now(), &options).unwrap();
    let mut checkpoint = Checkpoint::new();
    let err = Executor::new(client_of(&emu))
        .options(fast())
        .execute(&plan, &messages(), &mut checkpoint)
        .await
        .unwrap_err();
    assert_eq!(
        err.kind(),
        &ErrorKind::Line {
            operation: "createAudienceGroup".into()
        }
    );
    assert!(err.to_string().contains("description"), "{err}");
    assert_eq!(checkpoint.audience_group_id, None);
    assert_eq!(emu.calls("narrowcast"), 0);
    assert_eq!(emu.delivered_count(), 0);
}

#[tokio::test]
async fn lost_answers_and_server_errors_never_send_twice_and_a_stored_key_resumes() {
    let emu = emulator(Duration::ZERO).await;
    let people = people(&emu, 100, 60);
    let plan = plan_of(CAMPAIGN, &people);
    // Every answer of the narrowcast is lost: LINE took the first attempt, the client retried
    // with the same key and gave up.
    emu.set_faults(FaultConfig::none().with_endpoint("narrowcast", FaultRule::new().lost_response_rate(1.0)))
        .unwrap();
    let mut checkpoint = Checkpoint::new();
    let stored = checkpoint;
    let executor = Executor::new(client_of(&emu)).options(fast());
    let err = executor.execute(&plan, &messages(), &mut checkpoint).await.unwrap_err();
    assert_eq!(
        err.kind(),
        &ErrorKind::Line {
            operation: "narrowcast".into()
        }
    );
    assert!(emu.calls("narrowcast") >= 2, "the client retried");
    let audience = checkpoint.audience_group_id.expect("the audience was made");
    assert_eq!(checkpoint.retry_key, stored.retry_key);
    assert_eq!(received(&emu, &people, "narrowcast").iter().sum::<usize>(), 30);

    // Resumed with the checkpoint, through 500s on every step: no second audience, no second
    // narrowcast, and the progress of the first one.
    emu.set_faults(
        FaultConfig::none()
            .with_seed(3)
            .with_default(FaultRule::new().error_rate(0.4)),
    )
    .unwrap();
    let report = executor.execute(&plan, &messages(), &mut checkpoint).await.unwrap();
    let Report::Narrowcast(r) = report else {
        panic!("expected a narrowcast report")
    };
    assert!(r.resumed, "LINE answered 409 for the stored key");
    assert_eq!(r.audience_group_id, Some(audience));
    assert_eq!(r.progress.success_count, Some(30));
    assert_eq!(emu.calls("createAudienceGroup"), 1);
    assert!(emu.fault_counts().errors > 0, "the faults were hit");
    let got = received(&emu, &people, "narrowcast");
    for (i, n) in got.iter().enumerate() {
        assert_eq!(*n, usize::from(i < 60 && i % 2 == 0), "user {i}");
    }
    assert!(emu.messages(&people[0].id).iter().all(|m| m.request_id == r.request_id));
}

#[tokio::test]
async fn a_narrowcast_line_fails_later_is_a_typed_error() {
    let emu = emulator(Duration::ZERO).await;
    // The uploaded users are not friends of this account: LINE accepts, then finds nobody.
    let people: Vec<Profile> = (0..60)
        .map(|i| Profile::new(format!("Ustranger{i:024}")).with_attr("vip", Value::Bool(true)))
        .collect();
    let plan = plan_of(r#"demo.gender("female") and vip"#, &people);
    let err = Executor::new(client_of(&emu))
        .options(fast())
        .execute(&plan, &messages(), &mut Checkpoint::new())
        .await
        .unwrap_err();
    let ErrorKind::NarrowcastFailed { error_code, .. } = err.kind() else {
        panic!("expected a failed narrowcast, got {err}")
    };
    assert_eq!(*error_code, Some(2));
}

#[tokio::test]
async fn a_demographic_only_plan_needs_no_upload() {
    let emu = emulator(Duration::from_millis(50)).await;
    let people = people(&emu, 10, 0);
    let plan = plan_of(r#"demo.gender("male")"#, &people);
    let report = Executor::new(client_of(&emu))
        .options(fast())
        .execute(&plan, &messages(), &mut Checkpoint::new())
        .await
        .unwrap();
    assert_eq!(report.reached(), 5);
    assert_eq!(emu.calls("createAudienceGroup"), 0);
    assert_eq!(emu.calls("getAudienceData"), 0);
}

#[tokio::test]
async fn the_multicast_fallback_sends_chunks_of_500_once_and_resumes() {
    let emu = emulator(Duration::ZERO).await;
    let people: Vec<Profile> = people(&emu, 1_200, 0)
        .into_iter()
        .map(|p| p.with_attr("vip", Value::Bool(true)))
        .collect();
    let plan = plan_of("vip", &people);
    assert!(matches!(plan, Plan::Multicast(_)));
    // Every multicast answer is lost: each chunk was taken once, and the run reports failure.
    emu.set_faults(FaultConfig::none().with_endpoint("multicast", FaultRule::new().lost_response_rate(1.0)))
        .unwrap();
    let executor = Executor::new(client_of(&emu)).options(fast());
    let mut checkpoint = Checkpoint::new();
    let err = executor.execute(&plan, &messages(), &mut checkpoint).await.unwrap_err();
    assert_eq!(
        err.kind(),
        &ErrorKind::MulticastIncomplete {
            failed_recipients: 1_200,
            recipients: 1_200
        }
    );
    // Run again with the checkpoint: LINE answers 409 for every chunk's key.
    emu.set_faults(FaultConfig::none()).unwrap();
    let report = executor.execute(&plan, &messages(), &mut checkpoint).await.unwrap();
    let Report::Multicast(m) = &report else {
        panic!("expected a multicast report")
    };
    assert_eq!((m.recipients, m.sent, m.duplicates), (1_200, 0, 1_200));
    assert_eq!(m.request_ids.len(), 3);
    assert!(m.request_ids.iter().all(Option::is_some));
    assert!(received(&emu, &people, "multicast").iter().all(|&n| n == 1));
    // A fresh run is a new send.
    let report = executor
        .execute(&plan, &messages(), &mut Checkpoint::new())
        .await
        .unwrap();
    assert_eq!(report.reached(), 1_200);
    assert!(received(&emu, &people, "multicast").iter().all(|&n| n == 2));
}

#[test]
fn chunk_keys_are_distinct_uuids_of_the_same_version() {
    let c = Checkpoint::new();
    let keys: Vec<_> = (0..1_000).map(|i| c.chunk_key(i)).collect();
    assert_eq!(keys[0], c.retry_key);
    let distinct: std::collections::HashSet<_> = keys.iter().collect();
    assert_eq!(distinct.len(), 1_000);
    assert!(keys.iter().all(|k| k.as_uuid().get_version_num() == 4));
    // The same checkpoint gives the same keys (what makes a resumed run answer 409).
    let again: Checkpoint = serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
    assert_eq!(again.chunk_key(999), keys[999]);
}

#[tokio::test]
async fn bad_messages_are_refused_before_any_call() {
    let emu = emulator(Duration::ZERO).await;
    let people = people(&emu, 100, 60);
    let plan = plan_of(CAMPAIGN, &people);
    let six: Vec<Message> = (0..6).map(|i| TextMessage::new(format!("m{i}")).into()).collect();
    for bad in [Vec::new(), six] {
        let err = Executor::new(client_of(&emu))
            .execute(&plan, &bad, &mut Checkpoint::new())
            .await
            .unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::Limit { .. }), "{err}");
    }
    assert_eq!(emu.call_counts().values().sum::<u64>(), 0);
}

/// The audience states the emulator never reports (it makes every audience READY at once), on a
/// wiremock server.
mod audience_states {
    use super::*;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    async fn line(statuses: &[&str]) -> (MockServer, Client) {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v2/bot/audienceGroup/upload"))
            .respond_with(ResponseTemplate::new(202).set_body_json(serde_json::json!({"audienceGroupId": 77})))
            .expect(1)
            .mount(&server)
            .await;
        for (i, s) in statuses.iter().enumerate() {
            let mut body = serde_json::json!({"audienceGroup": {"audienceGroupId": 77, "status": s}, "jobs": []});
            if *s == "FAILED" {
                body["audienceGroup"]["failedType"] = "AUDIENCE_GROUP_AUDIENCE_INSUFFICIENT".into();
            }
            let last = i + 1 == statuses.len();
            let mock = Mock::given(method("GET"))
                .and(path("/v2/bot/audienceGroup/77"))
                .respond_with(ResponseTemplate::new(200).set_body_json(body));
            // Earlier answers once each, in order; the last one from then on.
            let mock = if last { mock } else { mock.up_to_n_times(1) };
            mock.with_priority(u8::try_from(i + 1).unwrap()).mount(&server).await;
        }
        let client = Client::builder()
            .token("t")
            .base_url(server.uri())
            .rate_limiter(RateLimiter::disabled())
            .retry_policy(RetryPolicy::none())
            .build()
            .unwrap();
        (server, client)
    }

    fn plan() -> Plan {
        let people: Vec<Profile> = (0..60)
            .map(|i| Profile::new(format!("U{i:032}")).with_attr("vip", Value::Bool(true)))
            .collect();
        plan_of(r#"demo.gender("female") and vip"#, &people)
    }

    async fn narrowcasts(server: &MockServer) -> usize {
        let requests = server.received_requests().await.unwrap_or_default();
        requests
            .iter()
            .filter(|r| r.url.path() == "/v2/bot/message/narrowcast")
            .count()
    }

    #[tokio::test]
    async fn failed_and_expired_audiences_are_typed_errors_and_send_nothing() {
        for (status, failed_type) in [
            ("FAILED", Some("AUDIENCE_GROUP_AUDIENCE_INSUFFICIENT".to_owned())),
            ("EXPIRED", None),
        ] {
            let (server, client) = line(&["IN_PROGRESS", status]).await;
            let mut checkpoint = Checkpoint::new();
            let err = Executor::new(client)
                .options(fast())
                .execute(&plan(), &messages(), &mut checkpoint)
                .await
                .unwrap_err();
            assert_eq!(
                err.kind(),
                &ErrorKind::AudienceFailed {
                    audience_group_id: 77,
                    status: status.into(),
                    failed_type
                }
            );
            assert!(err.to_string().contains(&format!("audience 77 is {status}")), "{err}");
            assert_eq!(checkpoint.audience_group_id, Some(77));
            assert_eq!(narrowcasts(&server).await, 0);
        }
    }

    #[tokio::test]
    async fn an_audience_that_stays_in_progress_times_out() {
        let (server, client) = line(&["IN_PROGRESS"]).await;
        let polling = Polling::new(
            Duration::from_millis(10),
            Duration::from_millis(20),
            Duration::from_millis(150),
        );
        let err = Executor::new(client)
            .options(ExecuteOptions::default().audience_ready(polling))
            .execute(&plan(), &messages(), &mut Checkpoint::new())
            .await
            .unwrap_err();
        assert_eq!(
            err.kind(),
            &ErrorKind::Timeout {
                waiting_for: "audience 77 to be READY".into()
            }
        );
        let polls = server
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .filter(|r| r.url.path() == "/v2/bot/audienceGroup/77")
            .count();
        assert!(polls >= 3, "{polls} polls");
        assert_eq!(narrowcasts(&server).await, 0);
    }
}
