//! `push_each` resumes after a crash without sending anything twice: the run
//! is killed after k pushes ended, for every k, and re-run with the same key
//! store; every user's inbox then holds exactly one push.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use common::start;
use line_core::client::{Client, InMemoryRetryKeyStore, Progress, RetryKeyStore};
use line_core::model::{Message, TextMessage};
use line_core::{Error, ErrorKind, RetryKey, UserId};
use line_emulator::{Emulator, EmulatorConfig};

const USERS: usize = 12;

/// The message of every injected crash.
const CRASH: &str = "crash injected";

/// Keeps the injected crashes out of the test output; other panics print as usual.
fn quiet_injected_crashes() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let injected = info
                .payload()
                .downcast_ref::<String>()
                .is_some_and(|m| m.starts_with(CRASH));
            if !injected {
                default(info);
            }
        }));
    });
}
const CONCURRENCY: usize = 3;

fn items(users: &[UserId]) -> Vec<(UserId, Vec<Message>)> {
    users
        .iter()
        .enumerate()
        .map(|(i, u)| {
            let text = format!("¥{} more to reach the next tier", 1_000 + i);
            (u.clone(), vec![Message::from(TextMessage::new(text))])
        })
        .collect()
}

/// Pushes each user's inbox got.
fn inboxes(emu: &Emulator, users: &[UserId]) -> Vec<usize> {
    users.iter().map(|u| emu.messages(u).len()).collect()
}

/// Runs `push_each` on its own task and kills it (a panic in the progress hook,
/// as a crash would) once `k` pushes have ended; `k = 0` is after the keys were
/// stored and before any push, `k = users.len()` after the last push and before
/// the report.
async fn run_killed_after(client: &Client, store: Arc<dyn RetryKeyStore>, users: &[UserId], k: usize) {
    let fan_out = client
        .fan_out()
        .concurrency(CONCURRENCY)
        .resumable(store, "tier-push-2026-05")
        .on_progress(move |p: &Progress| {
            if p.requests == k {
                panic!("{CRASH} after {k} pushes");
            }
        });
    let items = items(users);
    quiet_injected_crashes();
    let run = tokio::spawn(async move { fan_out.push_each(items).await });
    match run.await {
        Ok(report) => panic!("k = {k}: the run was not killed: {report:?}"),
        Err(e) => assert!(e.is_panic(), "{e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_after_k_pushes_resumes_with_zero_duplicates_for_every_k() {
    for k in 0..=USERS {
        let (emu, client) = start(EmulatorConfig::new().friends(USERS)).await;
        let users = emu.follower_ids();
        assert_eq!(users.len(), USERS);
        let store = Arc::new(InMemoryRetryKeyStore::new());

        run_killed_after(&client, store.clone(), &users, k).await;
        assert_eq!(
            store.len("tier-push-2026-05"),
            USERS,
            "every key stored before the first push"
        );
        let delivered = emu.delivered_count();
        assert!(
            delivered >= k,
            "k = {k}: the {k} pushes that ended were delivered ({delivered})"
        );

        // The re-run: same store, same run.
        let report = client
            .fan_out()
            .concurrency(CONCURRENCY)
            .resumable(store.clone(), "tier-push-2026-05")
            .push_each(items(&users))
            .await
            .unwrap();
        assert!(report.failed.is_empty(), "k = {k}: {:?}", report.failed);
        assert_eq!(report.sent + report.duplicates, USERS, "k = {k}");
        assert!(report.duplicates >= k, "k = {k}: {} duplicates", report.duplicates);
        assert_eq!(inboxes(&emu, &users), vec![1; USERS], "k = {k}: one push per user");
        assert_eq!(emu.delivered_count(), USERS, "k = {k}");
        emu.shutdown().await;
    }
}

/// The same crash without a key store: the re-run makes new keys and some
/// users get the push twice. This is what the store prevents.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_store_a_rerun_after_a_crash_duplicates() {
    let (emu, client) = start(EmulatorConfig::new().friends(USERS)).await;
    let users = emu.follower_ids();
    let k = USERS / 2;
    let fan_out = client
        .fan_out()
        .concurrency(CONCURRENCY)
        .on_progress(move |p: &Progress| {
            if p.requests == k {
                panic!("{CRASH} after {k} pushes");
            }
        });
    let first = items(&users);
    quiet_injected_crashes();
    assert!(tokio::spawn(async move { fan_out.push_each(first).await })
        .await
        .unwrap_err()
        .is_panic());
    let report = client.fan_out().push_each(items(&users)).await.unwrap();
    assert_eq!(report.duplicates, 0, "fresh keys: LINE sees new requests");
    assert!(inboxes(&emu, &users).iter().filter(|&&n| n == 2).count() >= k);
}

/// A store that keeps the keys and then fails, as a process dying right after
/// persisting them would.
struct FailsAfterStoring(InMemoryRetryKeyStore, AtomicUsize);

#[async_trait]
impl RetryKeyStore for FailsAfterStoring {
    async fn keys(&self, run: &str, proposed: &[(&str, RetryKey)]) -> Result<Vec<RetryKey>, Error> {
        let keys = self.0.keys(run, proposed).await?;
        if self.1.fetch_add(1, Ordering::SeqCst) == 0 {
            return Err(Error::new(ErrorKind::Store {
                operation: "keys (injected failure)".into(),
            }));
        }
        Ok(keys)
    }

    async fn forget_run(&self, run: &str) -> Result<(), Error> {
        self.0.forget_run(run).await
    }
}

#[tokio::test]
async fn a_store_failure_stops_the_run_before_any_push_and_the_rerun_uses_the_stored_keys() {
    let (emu, client) = start(EmulatorConfig::new().friends(4)).await;
    let users = emu.follower_ids();
    let store = Arc::new(FailsAfterStoring(InMemoryRetryKeyStore::new(), AtomicUsize::new(0)));
    let err = client
        .fan_out()
        .resumable(store.clone(), "run")
        .push_each(items(&users))
        .await
        .unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Store { .. }), "{err:?}");
    assert_eq!(
        emu.calls("pushMessage"),
        0,
        "nothing is sent before the keys are stored"
    );
    let stored: Vec<(&str, RetryKey)> = users.iter().map(|u| (u.as_str(), RetryKey::new())).collect();
    let stored = store.0.keys("run", &stored).await.unwrap();

    let report = client
        .fan_out()
        .resumable(store.clone(), "run")
        .push_each(items(&users))
        .await
        .unwrap();
    assert_eq!(report.sent, 4);
    assert_eq!(inboxes(&emu, &users), vec![1; 4]);
    // The pushes carried the keys stored by the failed run.
    let again: Vec<(&str, RetryKey)> = users.iter().map(|u| (u.as_str(), RetryKey::new())).collect();
    assert_eq!(store.0.keys("run", &again).await.unwrap(), stored);
}

/// Progress arrives while the run goes on, not only at the end.
#[tokio::test]
async fn push_each_and_multicast_report_progress_while_they_run() {
    let (emu, client) = start(EmulatorConfig::new().friends(1_200)).await;
    let users = emu.follower_ids();
    let seen: Arc<Mutex<Vec<Progress>>> = Arc::default();
    let log = seen.clone();
    let report = client
        .fan_out()
        .concurrency(2)
        .on_progress(move |p: &Progress| log.lock().unwrap().push(p.clone()))
        .multicast(&[TextMessage::new("Sale").into()], &users)
        .await
        .unwrap();
    assert_eq!(report.accepted_recipients, 1_200);
    let seen = std::mem::take(&mut *seen.lock().unwrap());
    assert_eq!(seen.len(), 4, "once at the start, then after each of the 3 chunks");
    assert_eq!((seen[0].sent, seen[0].remaining, seen[0].total), (0, 1_200, 1_200));
    let sent: Vec<usize> = seen.iter().map(|p| p.sent).collect();
    assert!(sent.windows(2).all(|w| w[0] < w[1]), "{sent:?}");
    let last = seen.last().unwrap();
    assert_eq!(
        (last.sent, last.failed, last.remaining, last.requests),
        (1_200, 0, 0, 3)
    );
    assert!(last.rate() > 0.0);
    assert!(seen
        .iter()
        .all(|p| p.sent + p.duplicates + p.failed + p.remaining == p.total));
}
