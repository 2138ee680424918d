//! Webhook verify + parse: line-core against the community crate
//! `line-bot-sdk-rust` 3.0.0, and against a bare `serde_json::Value` parse
//! plus HMAC (the floor), on the 28-event fixture and a generated 100-event
//! body with unknown event types mixed in.
//!
//! Run: `cargo bench -p line-core --bench webhook`. Criterion reports time per
//! event (throughput in elements).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use hmac::{Hmac, Mac};
use line_core::webhook::WebhookVerifier;
use line_core::ChannelSecret;
use serde_json::{json, Value};
use sha2::Sha256;

const SECRET: &str = "bench-channel-secret";
const MANY: &[u8] = include_bytes!("../tests/fixtures/webhook/many-events-v3.json");

/// 100 events: the fixture's 28 cycled, with fresh ids, and every 7th event an
/// unknown type carrying data of its own.
fn body_100() -> Vec<u8> {
    let v: Value = serde_json::from_slice(MANY).unwrap();
    let base = v["events"].as_array().unwrap();
    let mut events = Vec::with_capacity(100);
    for i in 0..100 {
        let mut e = if i % 7 == 3 {
            json!({"type": "futureEvent", "timestamp": 1_700_000_000_000_u64 + i as u64, "mode": "active",
                   "source": {"type": "user", "userId": "U4af4980629"},
                   "deliveryContext": {"isRedelivery": false},
                   "future": {"score": i, "tags": ["a", "b"], "nested": {"ok": true}}})
        } else {
            base[i % base.len()].clone()
        };
        e["webhookEventId"] = json!(format!("01H{i:023}"));
        events.push(e);
    }
    serde_json::to_vec(&json!({"destination": "Uxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "events": events})).unwrap()
}

fn bench(c: &mut Criterion) {
    let bodies = [("28-events", MANY.to_vec(), 28u64), ("100-events", body_100(), 100u64)];
    let verifier = WebhookVerifier::new(&ChannelSecret::new(SECRET));
    for (name, body, events) in &bodies {
        let signature = verifier.sign(body);
        let text = std::str::from_utf8(body).unwrap();
        // Both parsers must accept the body before their times mean anything.
        let ours = verifier.verify_and_parse(body, Some(&signature)).unwrap();
        assert_eq!(ours.events.len() as u64, *events);
        assert_eq!(
            serde_json::to_value(&ours).unwrap(),
            serde_json::from_slice::<Value>(body).unwrap()
        );
        assert!(line_bot_sdk_rust::parser::signature::validate_signature(
            SECRET, &signature, text
        ));
        let theirs: line_bot_sdk_rust::line_webhook::models::CallbackRequest = serde_json::from_str(text).unwrap();
        assert_eq!(theirs.events.len() as u64, *events);

        let mut g = c.benchmark_group(format!("webhook/{name}"));
        g.throughput(Throughput::Elements(*events));
        g.bench_function(BenchmarkId::new("line-core", "verify+parse"), |b| {
            b.iter(|| {
                verifier
                    .verify_and_parse(black_box(body), Some(black_box(&signature)))
                    .unwrap()
            })
        });
        g.bench_function(BenchmarkId::new("line-bot-sdk-rust", "verify+parse"), |b| {
            b.iter(|| {
                assert!(line_bot_sdk_rust::parser::signature::validate_signature(
                    SECRET,
                    black_box(&signature),
                    black_box(text)
                ));
                serde_json::from_str::<line_bot_sdk_rust::line_webhook::models::CallbackRequest>(black_box(text))
                    .unwrap()
            })
        });
        g.bench_function(BenchmarkId::new("line-core", "parse-only"), |b| {
            b.iter(|| line_core::webhook::parse(black_box(body)).unwrap())
        });
        g.bench_function(BenchmarkId::new("line-bot-sdk-rust", "parse-only"), |b| {
            b.iter(|| {
                serde_json::from_str::<line_bot_sdk_rust::line_webhook::models::CallbackRequest>(black_box(text))
                    .unwrap()
            })
        });
        g.bench_function(BenchmarkId::new("floor", "hmac-only"), |b| {
            b.iter(|| verifier.verify(black_box(body), Some(black_box(&signature))).unwrap())
        });
        g.bench_function(BenchmarkId::new("floor", "hmac+Value"), |b| {
            let key = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
            let sig = base64_decode(&signature);
            b.iter(|| {
                let mut mac = key.clone();
                mac.update(black_box(body));
                mac.verify_slice(&sig).unwrap();
                serde_json::from_slice::<Value>(black_box(body)).unwrap()
            })
        });
        g.finish();
    }
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

criterion_group!(benches, bench);
criterion_main!(benches);
