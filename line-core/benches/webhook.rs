//! Webhook verify + parse: line-core against the community crate
//! `line-bot-sdk-rust` 3.0.0, and against a bare `serde_json::Value` parse
//! plus HMAC (the floor), on three bodies:
//! - `28-events`: the SDK fixture, as LINE writes it (pretty-printed);
//! - `100-events`: 100 events generated from it, compact, each in the
//!   fixture's own key order (LINE's documented order: `replyToken` before
//!   `type` in most events, `id` before `type` in a message), every 7th an
//!   unknown type;
//! - `100-events-sorted-keys`: the same events with every object's keys in
//!   alphabetical order, so each union's tag comes after the properties it
//!   decides (a stress case for tagged-union parsing).
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

/// 100 events: the fixture's 28 cycled in their own key order (LINE's: for
/// most events `replyToken` comes before `type`, and a message's `id` before
/// its `type`), with fresh ids, and every 7th event an unknown type carrying
/// data of its own.
fn body_100() -> Vec<u8> {
    let fixture: Json = serde_json::from_slice(MANY).unwrap();
    let Json::Array(base) = fixture.get("events").unwrap().clone() else {
        panic!("no events")
    };
    let mut events = Vec::with_capacity(100);
    for i in 0..100 {
        let mut e = if i % 7 == 3 {
            serde_json::from_value(
                json!({"type": "futureEvent", "timestamp": 1_700_000_000_000_u64 + i as u64, "mode": "active",
                   "source": {"type": "user", "userId": "U4af4980629"},
                   "deliveryContext": {"isRedelivery": false},
                   "future": {"score": i, "tags": ["a", "b"], "nested": {"ok": true}}}),
            )
            .unwrap()
        } else {
            base[i % base.len()].clone()
        };
        e.set("webhookEventId", Json::Leaf(json!(format!("01H{i:023}"))));
        events.push(e);
    }
    let body = Json::Object(vec![
        (
            "destination".into(),
            Json::Leaf(json!("Uxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")),
        ),
        ("events".into(), Json::Array(events)),
    ]);
    let mut text = String::new();
    body.write(&mut text);
    text.into_bytes()
}

/// The same body with every object's keys sorted (serde_json's own order).
fn sorted_keys(body: &[u8]) -> Vec<u8> {
    serde_json::to_vec(&serde_json::from_slice::<Value>(body).unwrap()).unwrap()
}

/// A JSON value that keeps its objects' key order (serde_json's `Value`
/// sorts them).
#[derive(Clone)]
enum Json {
    Leaf(Value),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn set(&mut self, key: &str, value: Json) {
        if let Json::Object(m) = self {
            match m.iter_mut().find(|(k, _)| k == key) {
                Some((_, v)) => *v = value,
                None => m.push((key.to_owned(), value)),
            }
        }
    }

    fn write(&self, out: &mut String) {
        match self {
            Json::Leaf(v) => out.push_str(&v.to_string()),
            Json::Array(a) => {
                out.push('[');
                for (i, x) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    x.write(out);
                }
                out.push(']');
            }
            Json::Object(m) => {
                out.push('{');
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&Value::String(k.clone()).to_string());
                    out.push(':');
                    v.write(out);
                }
                out.push('}');
            }
        }
    }
}

impl<'de> serde::Deserialize<'de> for Json {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Json;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("JSON")
            }
            fn visit_unit<E>(self) -> Result<Json, E> {
                Ok(Json::Leaf(Value::Null))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Json, E> {
                Ok(Json::Leaf(v.into()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Json, E> {
                Ok(Json::Leaf(v.into()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Json, E> {
                Ok(Json::Leaf(v.into()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Json, E> {
                Ok(Json::Leaf(v.into()))
            }
            fn visit_str<E>(self, v: &str) -> Result<Json, E> {
                Ok(Json::Leaf(v.into()))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut a: A) -> Result<Json, A::Error> {
                let mut out = Vec::new();
                while let Some(x) = a.next_element()? {
                    out.push(x);
                }
                Ok(Json::Array(out))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut a: A) -> Result<Json, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = a.next_entry()? {
                    out.push((k, v));
                }
                Ok(Json::Object(out))
            }
        }
        d.deserialize_any(V)
    }
}

fn bench(c: &mut Criterion) {
    let bodies = [
        ("28-events", MANY.to_vec(), 28u64),
        ("100-events", body_100(), 100u64),
        ("100-events-sorted-keys", sorted_keys(&body_100()), 100u64),
    ];
    // The generated body keeps the fixture's key order: the tag is not first.
    assert!(std::str::from_utf8(&bodies[1].1).unwrap().contains(r#"{"replyToken":"#));
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
