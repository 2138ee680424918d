//! Fan-out of one multicast to 1,000,000 recipients (2,000 requests of 500)
//! against a local mock that answers after 50 ms and allows 200 multicast
//! requests per second (a sliding window; excess requests get LINE's
//! rate-limit 429). The rate limit allows it in 10 s; the target is at most
//! 10.5 s, at no more than 10% of one core for the client.
//!
//! Run: `cargo bench -p line-core --bench fanout`. Besides criterion's time
//! per run, each run prints its wall time, the client's CPU time (the
//! client runtime's threads only, read from /proc) and the 429s it drew.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use criterion::{criterion_group, criterion_main, Criterion};
use line_core::client::Client;
use line_core::model::{Message, TextMessage};
use line_core::retry::RetryPolicy;
use line_core::UserId;

const RECIPIENTS: usize = 1_000_000;
const LIMIT_PER_SEC: usize = 200;

#[derive(Default)]
struct Mock {
    window: Mutex<VecDeque<Instant>>,
    accepted: AtomicU64,
    rejected: AtomicU64,
}

async fn multicast(State(mock): State<Arc<Mock>>, body: axum::body::Bytes) -> (StatusCode, Json<serde_json::Value>) {
    let allowed = {
        let now = Instant::now();
        let mut w = mock.window.lock().unwrap();
        while w
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
        {
            w.pop_front();
        }
        if w.len() < LIMIT_PER_SEC {
            w.push_back(now);
            true
        } else {
            false
        }
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    if allowed {
        assert!(body.len() > 10_000, "a chunk of 500 user IDs");
        mock.accepted.fetch_add(1, Ordering::Relaxed);
        (StatusCode::OK, Json(serde_json::json!({})))
    } else {
        mock.rejected.fetch_add(1, Ordering::Relaxed);
        (
            StatusCode::TOO_MANY_REQUESTS,
            Json(serde_json::json!({"message": "The API rate limit has been exceeded. Try again later."})),
        )
    }
}

/// CPU time (user + system) of this process's threads whose name starts with `prefix`.
fn thread_cpu(prefix: &str) -> Duration {
    let ticks_per_sec = 100.0; // USER_HZ on Linux
    let mut total = 0u64;
    for entry in std::fs::read_dir("/proc/self/task").into_iter().flatten().flatten() {
        let comm = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
        if !comm.trim_end().starts_with(prefix) {
            continue;
        }
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        // fields after the ")" of the command name: state is field 3; utime 14, stime 15
        if let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) {
            let f: Vec<&str> = rest.split_whitespace().collect();
            total += f.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
            total += f.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        }
    }
    Duration::from_secs_f64(total as f64 / ticks_per_sec)
}

fn bench(c: &mut Criterion) {
    // The mock has its own runtime and threads, so its CPU is not counted as the client's.
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("mock")
        .enable_all()
        .build()
        .unwrap();
    let mock = Arc::new(Mock::default());
    let base = server_rt.block_on(async {
        let app = Router::new()
            .route("/v2/bot/message/multicast", post(multicast))
            .with_state(mock.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("http://{addr}")
    });
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("client")
        .enable_all()
        .build()
        .unwrap();
    let users: Vec<UserId> = (0..RECIPIENTS).map(|i| UserId::new(format!("U{i:032x}"))).collect();
    let messages: Vec<Message> = vec![TextMessage::new("Winter sale: 20% off until Sunday").into()];
    let mut g = c.benchmark_group("fanout");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(100));
    g.bench_function("multicast_1m_recipients_200rps_50ms", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let rejected_before = mock.rejected.load(Ordering::Relaxed);
                let cpu_before = thread_cpu("client");
                let start = Instant::now();
                // A fresh client (and rate limiter) per run, as a fresh process would have.
                let report = client_rt.block_on(async {
                    let client = Client::builder()
                        .token("bench-token")
                        .base_url(&base)
                        .retry_policy(RetryPolicy::default().with_base_delay(Duration::from_millis(200)))
                        .build()
                        .unwrap();
                    client.fan_out().multicast(&messages, &users).await.unwrap()
                });
                let wall = start.elapsed();
                let cpu = thread_cpu("client").saturating_sub(cpu_before);
                assert_eq!(report.accepted_recipients, RECIPIENTS);
                eprintln!(
                    "fanout: {} requests, wall {:.3} s, client cpu {:.3} s ({:.1}% of one core), 429s {}",
                    report.chunks.len(),
                    wall.as_secs_f64(),
                    cpu.as_secs_f64(),
                    100.0 * cpu.as_secs_f64() / wall.as_secs_f64(),
                    mock.rejected.load(Ordering::Relaxed) - rejected_before
                );
                total += wall;
            }
            total
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
