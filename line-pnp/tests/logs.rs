//! No phone number, token or SMS text in the logs (at TRACE), in Debug output or in errors,
//! through every flow: delivered by LINE, a 422 that falls back, a timeout that falls back.
//! Its own test binary, so the process-wide subscriber sees every thread and only this test.

mod common;

use std::sync::{Arc, Mutex};

use common::*;
use line_emulator::PhoneUser;
use line_pnp::{DeliveryTag, InMemoryNoticeStore, NoticeStore};

fn memory() -> Arc<dyn NoticeStore> {
    Arc::new(InMemoryNoticeStore::new())
}

/// A tracing writer into a shared buffer.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn no_phone_number_or_token_in_logs_debug_or_errors() {
    let logs = Logs::default();
    let sink = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || sink.clone())
        .finish();
    // The process-wide default: the emulator's and the notifier's tasks log from any thread,
    // and this is the binary's only test, so nothing else logs into the buffer.
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber of this binary");
    let mut h = Harness::start(memory()).await;
    let numbers = ["+819033330001", "+819033330002", "+819033330003"];
    let a = h.phone(PhoneUser::with_line(numbers[0]), numbers[0]);
    let b = h.phone(PhoneUser::without_line(numbers[1]), numbers[1]);
    let c = h.phone(PhoneUser::never_confirms(numbers[2]), numbers[2]);
    let mut shown = String::new();
    for (i, to) in [&a, &b, &c].into_iter().enumerate() {
        let n = notice(&format!("log-{i}"), to);
        shown += &format!("{n:?}");
        shown += &format!("{:?}", h.notifier.send(n).await.unwrap());
    }
    h.next_delivery().await;
    h.time_out();
    h.notifier.sweep(100).await.unwrap();
    shown += &format!("{:?} {:?}", h.notifier, h.sms.sent());
    for r in h.notifier.store().due(jiff::Timestamp::MAX, 100).await.unwrap() {
        shown += &format!("{r:?}");
    }
    shown += &format!(
        "{:?}",
        h.notifier
            .store()
            .get(&DeliveryTag::from_reference("log-1").unwrap())
            .await
    );
    let err = line_pnp::PhoneParser::new()
        .parse("phone", "+8190333300019999999")
        .unwrap_err();
    shown += &format!("{err} {err:?}");
    let logged = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(logged.contains("falling back"), "the flows logged: {logged}");
    for text in [&shown, &logged] {
        for n in numbers {
            assert!(!text.contains(&n[3..]), "a phone number leaked: {text}");
        }
        assert!(!text.contains(line_emulator::ANY_TOKEN), "the token leaked");
        assert!(!text.contains("has shipped"), "an SMS text leaked: {text}");
    }
}
