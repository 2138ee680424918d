//! Test support: a small stateful fake of LINE's rich-menu endpoints (wiremock), image
//! makers, and client setup.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use line_core::client::Client;
use line_core::ratelimit::RateLimiter;
use line_core::retry::RetryPolicy;
use serde_json::{json, Value};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// One recorded request.
#[derive(Debug, Clone)]
pub struct Logged {
    pub method: String,
    pub path: String,
    pub body: Value,
}

/// Fails matching requests with a 500 after letting `skip` of them through.
#[derive(Debug, Clone)]
pub struct FailRule {
    pub method: String,
    pub path: String,
    pub skip: u32,
    pub fail: u32,
    pub status: u16,
}

#[derive(Debug, Default)]
pub struct State {
    pub next: u32,
    pub menus: BTreeMap<String, Value>,
    pub images: HashMap<String, (String, usize)>,
    pub aliases: BTreeMap<String, String>,
    pub links: HashMap<String, String>,
    /// How many times a write changed or re-set each user's link.
    pub link_writes: HashMap<String, u32>,
    pub log: Vec<Logged>,
    pub unexpected: Vec<String>,
    pub fail: Vec<FailRule>,
    pub batch_ongoing_polls: u32,
    pub batch_keys: HashMap<String, String>,
}

impl State {
    pub fn writes(&self) -> Vec<&Logged> {
        self.log.iter().filter(|l| l.method != "GET").collect()
    }

    pub fn count(&self, method: &str, path: &str) -> usize {
        self.log.iter().filter(|l| l.method == method && l.path == path).count()
    }

    pub fn users_on(&self, menu: &str) -> usize {
        self.links.values().filter(|m| *m == menu).count()
    }

    fn id(&mut self, prefix: &str) -> String {
        self.next += 1;
        format!("{prefix}-{:08x}", self.next)
    }

    fn link(&mut self, user: &str, menu: &str) {
        self.links.insert(user.to_owned(), menu.to_owned());
        *self.link_writes.entry(user.to_owned()).or_default() += 1;
    }

    fn unlink(&mut self, user: &str) {
        self.links.remove(user);
        *self.link_writes.entry(user.to_owned()).or_default() += 1;
    }
}

struct Router(Arc<Mutex<State>>);

fn err(status: u16, msg: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({ "message": msg }))
}

impl Respond for Router {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let mut s = self.0.lock().unwrap();
        let method = req.method.as_str().to_owned();
        let path = req.url.path().to_owned();
        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        s.log.push(Logged {
            method: method.clone(),
            path: path.clone(),
            body: body.clone(),
        });
        for rule in s.fail.iter_mut() {
            if rule.method == method && path.starts_with(&rule.path) {
                if rule.skip > 0 {
                    rule.skip -= 1;
                } else if rule.fail > 0 {
                    rule.fail -= 1;
                    let status = rule.status;
                    return err(status, "injected failure");
                }
            }
        }
        let rid = s.id("req");
        let ok = |t: ResponseTemplate| t.insert_header("x-line-request-id", rid.as_str());
        let seg: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match (method.as_str(), seg.as_slice()) {
            ("POST", ["v2", "bot", "richmenu"]) => {
                let id = s.id("richmenu");
                let mut m = body.clone();
                m["richMenuId"] = json!(id);
                s.menus.insert(id.clone(), m);
                ok(ResponseTemplate::new(200).set_body_json(json!({ "richMenuId": id })))
            }
            ("GET", ["v2", "bot", "richmenu", "list"]) => {
                let list: Vec<Value> = s.menus.values().cloned().collect();
                ok(ResponseTemplate::new(200).set_body_json(json!({ "richmenus": list })))
            }
            ("GET", ["v2", "bot", "richmenu", "alias", "list"]) => {
                let list: Vec<Value> = s
                    .aliases
                    .iter()
                    .map(|(a, m)| json!({"richMenuAliasId": a, "richMenuId": m}))
                    .collect();
                ok(ResponseTemplate::new(200).set_body_json(json!({ "aliases": list })))
            }
            ("POST", ["v2", "bot", "richmenu", "alias"]) => {
                let a = body["richMenuAliasId"].as_str().unwrap_or_default().to_owned();
                let m = body["richMenuId"].as_str().unwrap_or_default().to_owned();
                if s.aliases.contains_key(&a) {
                    return err(400, "conflict richmenu alias id");
                }
                if !s.menus.contains_key(&m) || !s.images.contains_key(&m) {
                    return err(400, "richmenu not found or image not uploaded");
                }
                s.aliases.insert(a, m);
                ok(ResponseTemplate::new(200).set_body_json(json!({})))
            }
            ("POST", ["v2", "bot", "richmenu", "alias", a]) => {
                let a = (*a).to_owned();
                let m = body["richMenuId"].as_str().unwrap_or_default().to_owned();
                if !s.aliases.contains_key(&a) {
                    return err(404, "alias not found");
                }
                if !s.images.contains_key(&m) {
                    return err(400, "richmenu not found or image not uploaded");
                }
                s.aliases.insert(a, m);
                ok(ResponseTemplate::new(200).set_body_json(json!({})))
            }
            ("DELETE", ["v2", "bot", "richmenu", "alias", a]) => {
                if s.aliases.remove(*a).is_none() {
                    return err(404, "alias not found");
                }
                ok(ResponseTemplate::new(200).set_body_json(json!({})))
            }
            ("POST", ["v2", "bot", "richmenu", "bulk", "link"]) => {
                let m = body["richMenuId"].as_str().unwrap_or_default().to_owned();
                if !s.images.contains_key(&m) {
                    return err(400, "richmenu not found");
                }
                let users: Vec<String> = serde_json::from_value(body["userIds"].clone()).unwrap_or_default();
                if users.is_empty() || users.len() > 500 {
                    return err(400, "userIds must hold 1 to 500 users");
                }
                for u in users {
                    s.link(&u, &m);
                }
                ok(ResponseTemplate::new(202).set_body_json(json!({})))
            }
            ("POST", ["v2", "bot", "richmenu", "bulk", "unlink"]) => {
                let users: Vec<String> = serde_json::from_value(body["userIds"].clone()).unwrap_or_default();
                if users.is_empty() || users.len() > 500 {
                    return err(400, "userIds must hold 1 to 500 users");
                }
                for u in users {
                    s.unlink(&u);
                }
                ok(ResponseTemplate::new(202).set_body_json(json!({})))
            }
            ("POST", ["v2", "bot", "richmenu", "batch"]) => {
                let key = body["resumeRequestKey"].as_str().unwrap_or_default().to_owned();
                if let Some(earlier) = s.batch_keys.get(&key) {
                    // Resent with the same key: already applied, nothing more to do.
                    let earlier = earlier.clone();
                    return ResponseTemplate::new(202)
                        .insert_header("x-line-request-id", earlier.as_str())
                        .set_body_json(json!({}));
                }
                let ops = body["operations"].as_array().cloned().unwrap_or_default();
                for op in ops {
                    let from = op["from"].as_str().unwrap_or_default().to_owned();
                    let users: Vec<String> = s
                        .links
                        .iter()
                        .filter(|(_, m)| **m == from)
                        .map(|(u, _)| u.clone())
                        .collect();
                    match op["type"].as_str() {
                        Some("link") => {
                            let to = op["to"].as_str().unwrap_or_default().to_owned();
                            for u in users {
                                s.link(&u, &to);
                            }
                        }
                        Some("unlink") => {
                            for u in users {
                                s.unlink(&u);
                            }
                        }
                        _ => return err(400, "unknown operation"),
                    }
                }
                s.batch_keys.insert(key, rid.clone());
                ok(ResponseTemplate::new(202).set_body_json(json!({})))
            }
            ("GET", ["v2", "bot", "richmenu", "progress", "batch"]) => {
                let phase = if s.batch_ongoing_polls > 0 {
                    s.batch_ongoing_polls -= 1;
                    "ongoing"
                } else {
                    "succeeded"
                };
                ok(ResponseTemplate::new(200)
                    .set_body_json(json!({"phase": phase, "acceptedTime": "2026-01-01T00:00:00.000Z"})))
            }
            ("POST", ["v2", "bot", "richmenu", id, "content"]) => {
                let id = (*id).to_owned();
                if !s.menus.contains_key(&id) {
                    return err(404, "richmenu not found");
                }
                if s.images.contains_key(&id) {
                    return err(400, "An image has already been uploaded to the richmenu");
                }
                let ct = req
                    .headers
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                s.images.insert(id, (ct, req.body.len()));
                ok(ResponseTemplate::new(200).set_body_json(json!({})))
            }
            ("DELETE", ["v2", "bot", "richmenu", id]) => {
                let id = (*id).to_owned();
                if s.menus.remove(&id).is_none() {
                    return err(404, "richmenu not found");
                }
                s.images.remove(&id);
                s.links.retain(|_, m| *m != id);
                ok(ResponseTemplate::new(200).set_body_json(json!({})))
            }
            ("POST", ["v2", "bot", "user", u, "richmenu", id]) => {
                let (u, id) = ((*u).to_owned(), (*id).to_owned());
                if !s.images.contains_key(&id) {
                    return err(400, "richmenu not found");
                }
                s.link(&u, &id);
                ok(ResponseTemplate::new(200).set_body_json(json!({})))
            }
            ("DELETE", ["v2", "bot", "user", u, "richmenu"]) => {
                let u = (*u).to_owned();
                s.unlink(&u);
                ok(ResponseTemplate::new(200).set_body_json(json!({})))
            }
            ("GET", ["v2", "bot", "user", u, "richmenu"]) => match s.links.get(*u) {
                Some(m) => {
                    let m = m.clone();
                    ok(ResponseTemplate::new(200).set_body_json(json!({ "richMenuId": m })))
                }
                None => err(404, "the user has no richmenu"),
            },
            _ => {
                s.unexpected.push(format!("{method} {path}"));
                err(418, "unexpected request in test")
            }
        }
    }
}

/// The fake LINE server.
pub struct FakeLine {
    pub server: MockServer,
    state: Arc<Mutex<State>>,
}

impl FakeLine {
    pub async fn start() -> Self {
        let server = MockServer::start().await;
        let state = Arc::new(Mutex::new(State::default()));
        Mock::given(any())
            .respond_with(Router(state.clone()))
            .mount(&server)
            .await;
        Self { server, state }
    }

    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }

    pub fn client(&self) -> Client {
        Client::builder()
            .token("test-token")
            .base_url(self.server.uri())
            .retry_policy(RetryPolicy::none())
            .rate_limiter(RateLimiter::disabled())
            .build()
            .unwrap()
    }

    /// Clears the request log.
    pub fn reset_log(&self) {
        self.state().log.clear();
    }

    /// Answers 500 to `fail` matching requests after letting `skip` through.
    pub fn fail(&self, method: &str, path: &str, skip: u32, fail: u32) {
        self.fail_with(500, method, path, skip, fail);
    }

    /// Answers `status` to `fail` matching requests after letting `skip` through.
    pub fn fail_with(&self, status: u16, method: &str, path: &str, skip: u32, fail: u32) {
        self.state().fail.push(FailRule {
            method: method.into(),
            path: path.into(),
            skip,
            fail,
            status,
        });
    }
}

/// A real PNG of `w`x`h`, all pixels `shade` (compresses to a few KB).
pub fn png(w: u32, h: u32, shade: u8) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().unwrap();
        writer.write_image_data(&vec![shade; (w * h) as usize]).unwrap();
    }
    out
}

/// The header of a baseline JPEG of `w`x`h`: enough for a dimension reader.
pub fn jpeg_header(w: u16, h: u16) -> Vec<u8> {
    let [hh, hl] = h.to_be_bytes();
    let [wh, wl] = w.to_be_bytes();
    vec![
        0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x11, 0x08, hh, hl, wh, wl, 0x03, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1, 0xFF, 0xD9,
    ]
}

/// The header of a GIF of `w`x`h`.
pub fn gif_header(w: u16, h: u16) -> Vec<u8> {
    let mut v = b"GIF89a".to_vec();
    v.extend_from_slice(&w.to_le_bytes());
    v.extend_from_slice(&h.to_le_bytes());
    v.extend_from_slice(&[0, 0, 0, 0x3B]);
    v
}

/// A temporary folder removed on drop.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        let p = std::env::temp_dir().join(format!("line-richmenu-{name}-{}", uuid_like()));
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }

    pub fn write(&self, name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn uuid_like() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let n = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    format!("{}-{n}", std::process::id())
}

/// A user ID.
pub fn user(i: u32) -> String {
    format!("U{i:032x}")
}
