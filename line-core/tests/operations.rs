//! Every operation of LINE's specs has a client method, and each method sends
//! the spec's method and path to the spec's host.
//!
//! The facts come from `tests/data/operations.tsv` (derived from the specs).
//! Each builder is turned into its request without network once, and sent
//! once against a local mock server whose three hosts are told apart by a
//! path prefix; both must match the spec and the operation registry.

mod common;

use std::collections::BTreeMap;

use line_core::client::{operations, Client, HttpMethod, RequestAuth};
use line_core::ratelimit::RateLimiter;
use line_core::retry::RetryPolicy;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

struct Fact {
    method: String,
    path: String,
    server: String,
}

fn facts() -> BTreeMap<String, Fact> {
    let text = include_str!("data/operations.tsv");
    let mut out = BTreeMap::new();
    for line in text.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols.len(), 5, "bad facts line: {line}");
        out.insert(
            cols[3].to_owned(),
            Fact {
                method: cols[1].to_owned(),
                path: cols[2].to_owned(),
                server: cols[4].to_owned(),
            },
        );
    }
    out
}

fn method_str(m: HttpMethod) -> &'static str {
    m.as_str()
}

#[test]
fn registry_matches_the_spec() {
    let facts = facts();
    assert_eq!(facts.len(), 110, "the facts file lists 110 operations");
    let mut problems = Vec::new();
    for (id, fact) in &facts {
        match operations::ALL.iter().find(|o| o.id == id) {
            None => problems.push(format!("{id}: no operation in the client")),
            Some(op) => {
                if method_str(op.method) != fact.method {
                    problems.push(format!(
                        "{id}: method {} but the spec says {}",
                        method_str(op.method),
                        fact.method
                    ));
                }
                if op.path != fact.path {
                    problems.push(format!("{id}: path {} but the spec says {}", op.path, fact.path));
                }
                if op.host.default_url() != fact.server {
                    problems.push(format!(
                        "{id}: host {} but the spec says {}",
                        op.host.default_url(),
                        fact.server
                    ));
                }
            }
        }
    }
    for op in operations::ALL {
        if !facts.contains_key(op.id) {
            problems.push(format!("{}: in the client but not in the spec", op.id));
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// `/v2/bot/profile/{userId}` becomes a pattern that accepts the sample values.
fn path_matches(template: &str, actual: &str) -> bool {
    let t: Vec<&str> = template.split('/').collect();
    let a: Vec<&str> = actual.split('/').collect();
    t.len() == a.len()
        && t.iter().zip(&a).all(|(t, a)| {
            if t.starts_with('{') {
                *a == "p1" || *a == "7"
            } else {
                t == a
            }
        })
}

#[tokio::test]
async fn every_operation_has_a_method_that_sends_the_spec_method_and_path() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_string("{}"))
        .mount(&server)
        .await;
    let client = Client::builder()
        .token("test-token")
        .api_base(format!("{}/api", server.uri()))
        .data_base(format!("{}/data", server.uri()))
        .manager_base(format!("{}/manager", server.uri()))
        .retry_policy(RetryPolicy::none())
        .rate_limiter(RateLimiter::disabled())
        .build()
        .unwrap();

    let facts = facts();
    let calls: BTreeMap<&str, _> = common::generated_calls::calls()
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    let mut problems = Vec::new();
    for (id, fact) in &facts {
        let Some(call) = calls.get(id.as_str()) else {
            problems.push(format!("{id}: no client method"));
            continue;
        };
        let before = server.received_requests().await.unwrap_or_default().len();
        let _ = (call.send)(&client).await; // the body of `{}` may not fit the response type; only the request matters
        let requests = server.received_requests().await.unwrap_or_default();
        if requests.len() != before + 1 {
            problems.push(format!("{id}: sent {} requests instead of 1", requests.len() - before));
            continue;
        }
        let req = &requests[before];
        let prefix = match fact.server.as_str() {
            "https://api.line.me" => "/api",
            "https://api-data.line.me" => "/data",
            _ => "/manager",
        };
        let path = req.url.path();
        if req.method.as_str() != fact.method {
            problems.push(format!("{id}: sent {} but the spec says {}", req.method, fact.method));
        }
        match path.strip_prefix(prefix) {
            Some(rest) if path_matches(&fact.path, rest) => {}
            _ => problems.push(format!("{id}: sent {path} but the spec says {prefix}{}", fact.path)),
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// `try_into_request` on all 110 operations, without network: the request
/// names its registry entry, and its method, host, path template, content
/// type, retry key and authentication agree with the spec and the registry.
#[test]
fn every_builder_makes_its_request_without_network() {
    let client = Client::builder()
        .token("test-token")
        .api_base("http://api.test")
        .data_base("http://data.test")
        .manager_base("http://manager.test")
        .build()
        .unwrap();
    let facts = facts();
    let calls = common::generated_calls::calls();
    assert_eq!(calls.len(), 110, "one builder per operation");
    let mut problems = Vec::new();
    for call in &calls {
        let id = call.id;
        let (Some(fact), Some(op)) = (facts.get(id), operations::ALL.iter().find(|o| o.id == id)) else {
            problems.push(format!("{id}: not in the facts or the registry"));
            continue;
        };
        let req = match (call.request)(&client) {
            Ok(req) => req,
            Err(e) => {
                problems.push(format!("{id}: try_into_request failed: {e}"));
                continue;
            }
        };
        if req.operation().id != id {
            problems.push(format!("{id}: the request names {}", req.operation().id));
        }
        if req.method() != op.method || req.method().as_str() != fact.method {
            problems.push(format!(
                "{id}: method {} but the spec says {}",
                req.method().as_str(),
                fact.method
            ));
        }
        if !path_matches(op.path, req.path()) || !path_matches(&fact.path, req.path()) {
            problems.push(format!("{id}: path {} but the template is {}", req.path(), fact.path));
        }
        let base = match fact.server.as_str() {
            "https://api.line.me" => "http://api.test",
            "https://api-data.line.me" => "http://data.test",
            _ => "http://manager.test",
        };
        if !req.url().starts_with(&format!("{base}{}", req.path())) {
            problems.push(format!("{id}: url {} is not on {base}", req.url()));
        }
        // A binary upload (`*/*`) carries the content type the caller gave (the sample's is image/png).
        let expected = if call.content_type == "*/*" {
            "image/png"
        } else {
            call.content_type
        };
        let content_type = req.header("content-type").unwrap_or_default();
        if !content_type.starts_with(expected) || content_type.is_empty() != expected.is_empty() {
            problems.push(format!(
                "{id}: content type {content_type:?} but the spec's body is {expected:?}"
            ));
        }
        if req.body().is_empty() != expected.is_empty() {
            problems.push(format!("{id}: no body"));
        }
        if req.retry_key().is_some() != op.retry_key || req.header("X-Line-Retry-Key").is_some() != op.retry_key {
            problems.push(format!(
                "{id}: retry key {:?} but the registry says {}",
                req.retry_key(),
                op.retry_key
            ));
        }
        let auth_ok = matches!(
            (req.auth(), op.auth),
            (RequestAuth::Bearer, line_core::client::AuthScheme::Bearer)
                | (RequestAuth::Basic { .. }, line_core::client::AuthScheme::Basic)
                | (RequestAuth::None, line_core::client::AuthScheme::None)
        );
        if !auth_ok {
            problems.push(format!(
                "{id}: auth {:?} but the registry says {:?}",
                req.auth(),
                op.auth
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
