//! Click tracking through tracked URLs.
//!
//! A [`TrackingSender`] rewrites every `http`/`https` URL of a URI action in a push (`uri`,
//! `altUri.desktop`, imagemap `linkUri`) into a tracked URL the host serves,
//! `{base}{token}` (e.g. `https://shop.example/c/{token}`). The token names the scenario, the step,
//! the entry, the user and the target URL, and carries an HMAC-SHA256 tag (128 bits) under the
//! host's [`LinkKey`]: a token cannot be made, or changed to point elsewhere, without the key.
//!
//! The host answers `GET {base}{token}` with [`ClickService::click`] (or, with feature
//! `axum`, the axum router of [`router`]): a valid token is recorded once per send and
//! user in a [`ClickStore`] (the first click also goes to the [`Journal`] as a
//! [`RecordKind::Clicked`] record, so reports count clicks per scenario and step) and answers a
//! 302 redirect to the target. A bad or forged token answers 404; only a URL the key signed is
//! ever a redirect target (no open redirect).
//!
//! Plain-text URLs in text messages are left as they are (LINE links them itself), and so is a
//! URL whose tracked form would pass LINE's 1,000-character limit for a URI action.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use jiff::Timestamp;
use line_core::clock::Clock;
use line_core::ids::{RetryKey, UserId};
use serde_json::Value;
use sha2::Sha256;

use crate::error::Result;
use crate::render::Rendered;
use crate::sender::{Accepted, SendContext, SendFailure, Sender};
use crate::stats::{Journal, Record, RecordKind};

/// LINE's limit on the length of a URI action's `uri`.
pub const MAX_URI: usize = 1000;
const TAG: usize = 16;
const VERSION: u8 = 1;

/// The key that signs tracked links. `Debug` shows `<redacted>`.
#[derive(Clone)]
pub struct LinkKey(Vec<u8>);

impl LinkKey {
    /// A key from secret bytes (at least 16; 32 random bytes are right).
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Self> {
        let bytes = bytes.into();
        if bytes.len() < 16 {
            return Err(crate::Error::config("link key", "must be at least 16 bytes"));
        }
        Ok(Self(bytes))
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC takes a key of any length.
        <Hmac<Sha256> as Mac>::new_from_slice(&self.0).unwrap_or_else(|_| unreachable!())
    }
}

impl std::fmt::Debug for LinkKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkKey(<redacted>)")
    }
}

/// One tracked link: which send it was in, for whom, and where it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Link {
    /// The scenario id.
    pub scenario: String,
    /// The step index.
    pub step: u16,
    /// The entry number.
    pub entry: u32,
    /// The user.
    pub user: UserId,
    /// The target URL (`http` or `https`).
    pub url: String,
}

impl Link {
    /// A link.
    pub fn new(scenario: impl Into<String>, step: u16, entry: u32, user: UserId, url: impl Into<String>) -> Self {
        Self {
            scenario: scenario.into(),
            step,
            entry,
            user,
            url: url.into(),
        }
    }
}

/// Why a token was refused. Deliberately coarse: the answer to a bad token never says which part
/// was wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// Not a token of this format.
    #[error("not a tracked-link token")]
    Malformed,
    /// The tag does not match: forged, altered or signed under another key.
    #[error("tracked-link token has a bad signature")]
    BadSignature,
}

fn trackable(url: &str) -> bool {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    lower.starts_with("https://") || lower.starts_with("http://")
}

fn put(out: &mut Vec<u8>, field: &[u8]) -> Option<()> {
    out.extend_from_slice(&u16::try_from(field.len()).ok()?.to_be_bytes());
    out.extend_from_slice(field);
    Some(())
}

/// The token of `link` under `key` (URL-safe base64, no padding), or `None` when the link cannot
/// be tracked (a target that is not `http`/`https`, or a field over 65,535 bytes).
pub fn sign(key: &LinkKey, link: &Link) -> Option<String> {
    if !trackable(&link.url) {
        return None;
    }
    let mut out = Vec::with_capacity(16 + link.scenario.len() + link.user.as_str().len() + link.url.len() + TAG);
    out.push(VERSION);
    out.extend_from_slice(&link.step.to_be_bytes());
    out.extend_from_slice(&link.entry.to_be_bytes());
    put(&mut out, link.scenario.as_bytes())?;
    put(&mut out, link.user.as_str().as_bytes())?;
    out.extend_from_slice(link.url.as_bytes());
    let mut mac = key.mac();
    mac.update(&out);
    let tag = mac.finalize().into_bytes();
    out.extend_from_slice(&tag[..TAG]);
    Some(URL_SAFE_NO_PAD.encode(out))
}

/// The link of a token made by [`sign`] under `key`. Never panics, whatever the input.
pub fn verify(key: &LinkKey, token: &str) -> std::result::Result<Link, TokenError> {
    if token.len() > 4 * MAX_URI {
        return Err(TokenError::Malformed);
    }
    let raw = URL_SAFE_NO_PAD.decode(token).map_err(|_| TokenError::Malformed)?;
    if raw.len() < 1 + 2 + 4 + 2 + 2 + TAG {
        return Err(TokenError::Malformed);
    }
    let (body, tag) = raw.split_at(raw.len() - TAG);
    let mut mac = key.mac();
    mac.update(body);
    mac.verify_truncated_left(tag).map_err(|_| TokenError::BadSignature)?;
    // Signed by us: the layout is ours, but read it defensively all the same.
    let mut rest = body;
    let mut take = |n: usize| -> std::result::Result<&[u8], TokenError> {
        if rest.len() < n {
            return Err(TokenError::Malformed);
        }
        let (a, b) = rest.split_at(n);
        rest = b;
        Ok(a)
    };
    if take(1)? != [VERSION] {
        return Err(TokenError::Malformed);
    }
    let step = u16::from_be_bytes(take(2)?.try_into().map_err(|_| TokenError::Malformed)?);
    let entry = u32::from_be_bytes(take(4)?.try_into().map_err(|_| TokenError::Malformed)?);
    let n = usize::from(u16::from_be_bytes(
        take(2)?.try_into().map_err(|_| TokenError::Malformed)?,
    ));
    let scenario = String::from_utf8(take(n)?.to_vec()).map_err(|_| TokenError::Malformed)?;
    let n = usize::from(u16::from_be_bytes(
        take(2)?.try_into().map_err(|_| TokenError::Malformed)?,
    ));
    let user = String::from_utf8(take(n)?.to_vec()).map_err(|_| TokenError::Malformed)?;
    let url = String::from_utf8(rest.to_vec()).map_err(|_| TokenError::Malformed)?;
    if !trackable(&url) {
        return Err(TokenError::Malformed);
    }
    Ok(Link {
        scenario,
        step,
        entry,
        user: UserId::new(user),
        url,
    })
}

/// Makes tracked URLs: `{base}{token}`.
#[derive(Debug, Clone)]
pub struct Tracker {
    key: LinkKey,
    base: String,
}

impl Tracker {
    /// Tracked URLs start with `base` (e.g. `https://shop.example/c/`), which must be an `https`
    /// (or, for tests, `http`) URL ending in `/` or `=`; the token follows it.
    pub fn new(key: LinkKey, base: impl Into<String>) -> Result<Self> {
        let base = base.into();
        if !trackable(&base) || !(base.ends_with('/') || base.ends_with('=')) {
            return Err(crate::Error::config(
                "tracker base",
                "must be an http(s) URL ending in `/` (or `=`, for a query parameter)",
            ));
        }
        Ok(Self { key, base })
    }

    /// The tracked URL of `link`, or `None` when it cannot be tracked (see [`sign`]) or would be
    /// longer than LINE takes.
    pub fn url(&self, link: &Link) -> Option<String> {
        let token = sign(&self.key, link)?;
        let url = format!("{}{token}", self.base);
        (url.len() <= MAX_URI).then_some(url)
    }

    /// `messages` (a JSON array of message objects) with every trackable URI-action URL
    /// replaced by its tracked URL for `user` in the send `context`. `None` when nothing changed.
    pub fn rewrite(&self, messages: &str, context: &SendContext<'_>, user: &UserId) -> Option<String> {
        let mut v: Value = serde_json::from_str(messages).ok()?;
        let mut changed = false;
        self.walk(&mut v, context, user, &mut changed);
        if changed {
            serde_json::to_string(&v).ok()
        } else {
            None
        }
    }

    fn walk(&self, v: &mut Value, context: &SendContext<'_>, user: &UserId, changed: &mut bool) {
        match v {
            Value::Array(items) => {
                for x in items {
                    self.walk(x, context, user, changed);
                }
            }
            Value::Object(map) => {
                let is_uri = map.get("type").and_then(Value::as_str) == Some("uri");
                if is_uri {
                    for field in ["uri", "linkUri"] {
                        self.replace(map.get_mut(field), context, user, changed);
                    }
                    if let Some(Value::Object(alt)) = map.get_mut("altUri") {
                        self.replace(alt.get_mut("desktop"), context, user, changed);
                    }
                }
                for (k, x) in map.iter_mut() {
                    if !(is_uri && (k == "uri" || k == "linkUri" || k == "altUri")) {
                        self.walk(x, context, user, changed);
                    }
                }
            }
            _ => {}
        }
    }

    fn replace(&self, slot: Option<&mut Value>, context: &SendContext<'_>, user: &UserId, changed: &mut bool) {
        let Some(Value::String(url)) = slot else { return };
        if url.starts_with(&self.base) {
            return;
        }
        let link = Link::new(
            context.scenario,
            context.step,
            context.entry,
            user.clone(),
            url.as_str(),
        );
        if let Some(tracked) = self.url(&link) {
            *url = tracked;
            *changed = true;
        }
    }
}

/// A [`Sender`] that tracks the links of every push (see the module docs) and hands the push on.
#[derive(Debug, Clone)]
pub struct TrackingSender<S> {
    inner: S,
    tracker: Tracker,
}

impl<S: Sender> TrackingSender<S> {
    /// Tracks the links of pushes sent through `inner`.
    pub fn new(inner: S, tracker: Tracker) -> Self {
        Self { inner, tracker }
    }
}

#[async_trait::async_trait]
impl<S: Sender> Sender for TrackingSender<S> {
    async fn push(&self, user: &UserId, messages: &Rendered, retry_key: RetryKey) -> Result<Accepted, SendFailure> {
        self.inner.push(user, messages, retry_key).await
    }

    async fn push_in(
        &self,
        user: &UserId,
        messages: &Rendered,
        retry_key: RetryKey,
        context: &SendContext<'_>,
    ) -> std::result::Result<Accepted, SendFailure> {
        match self.tracker.rewrite(&messages.json, context, user) {
            Some(json) => {
                let tracked = Rendered {
                    json,
                    count: messages.count,
                };
                self.inner.push_in(user, &tracked, retry_key, context).await
            }
            None => self.inner.push_in(user, messages, retry_key, context).await,
        }
    }
}

/// Where clicks are kept: once per send (scenario, step, entry) and user. Object-safe.
#[async_trait::async_trait]
pub trait ClickStore: Send + Sync {
    /// Records a click on `link`; `true` the first time for its send and user, `false` after.
    async fn record_click(&self, link: &Link, at: Timestamp) -> Result<bool>;

    /// Users who clicked, per step of `scenario` (each send and user once).
    async fn clicks(&self, scenario: &str) -> Result<BTreeMap<u16, u64>>;
}

/// A [`ClickStore`] in memory.
#[derive(Debug, Default)]
pub struct InMemoryClickStore {
    seen: Mutex<HashSet<(String, u16, u32, UserId)>>,
}

impl InMemoryClickStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait::async_trait]
impl ClickStore for InMemoryClickStore {
    async fn record_click(&self, link: &Link, _at: Timestamp) -> Result<bool> {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        Ok(seen.insert((link.scenario.clone(), link.step, link.entry, link.user.clone())))
    }

    async fn clicks(&self, scenario: &str) -> Result<BTreeMap<u16, u64>> {
        let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = BTreeMap::new();
        for (s, step, _, _) in seen.iter() {
            if s == scenario {
                *out.entry(*step).or_default() += 1;
            }
        }
        Ok(out)
    }
}

/// A durable [`ClickStore`] on SQLite (feature `sqlite`): one row per send and user in
/// `{prefix}clicks`, created if missing. Calls block on SQLite for one statement.
#[cfg(feature = "sqlite")]
pub struct SqliteClickStore {
    conn: Mutex<rusqlite::Connection>,
    prefix: String,
}

#[cfg(feature = "sqlite")]
impl std::fmt::Debug for SqliteClickStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteClickStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "sqlite")]
impl SqliteClickStore {
    /// Opens (or creates) the database at `path`; tables are named `{prefix}clicks`.
    pub fn open(path: impl AsRef<std::path::Path>, prefix: &str) -> Result<Self> {
        let conn = rusqlite::Connection::open(path).map_err(|e| crate::Error::store("open", e))?;
        Self::init(conn, prefix)
    }

    /// A database in memory (tests).
    pub fn open_in_memory(prefix: &str) -> Result<Self> {
        let conn = rusqlite::Connection::open_in_memory().map_err(|e| crate::Error::store("open", e))?;
        Self::init(conn, prefix)
    }

    fn init(conn: rusqlite::Connection, prefix: &str) -> Result<Self> {
        if !prefix.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(crate::Error::config("prefix", "use only ASCII letters, digits and `_`"));
        }
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(|e| crate::Error::store("busy_timeout", e))?;
        conn.execute_batch(&format!(
            "CREATE TABLE IF NOT EXISTS {prefix}clicks (
                scenario TEXT NOT NULL,
                step INTEGER NOT NULL,
                entry INTEGER NOT NULL,
                user_id TEXT NOT NULL,
                url TEXT NOT NULL,
                at INTEGER NOT NULL,
                PRIMARY KEY (scenario, step, entry, user_id)
            ) WITHOUT ROWID"
        ))
        .map_err(|e| crate::Error::store("create clicks", e))?;
        Ok(Self {
            conn: Mutex::new(conn),
            prefix: prefix.to_owned(),
        })
    }
}

#[cfg(feature = "sqlite")]
#[async_trait::async_trait]
impl ClickStore for SqliteClickStore {
    async fn record_click(&self, link: &Link, at: Timestamp) -> Result<bool> {
        let conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        let n = conn
            .execute(
                &format!(
                    "INSERT OR IGNORE INTO {}clicks (scenario, step, entry, user_id, url, at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    self.prefix
                ),
                rusqlite::params![
                    link.scenario,
                    link.step,
                    link.entry,
                    link.user.as_str(),
                    link.url,
                    at.as_millisecond()
                ],
            )
            .map_err(|e| crate::Error::store("record_click", e))?;
        Ok(n == 1)
    }

    async fn clicks(&self, scenario: &str) -> Result<BTreeMap<u16, u64>> {
        let conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT step, COUNT(*) FROM {}clicks WHERE scenario = ?1 GROUP BY step",
                self.prefix
            ))
            .map_err(|e| crate::Error::store("clicks", e))?;
        let rows = stmt
            .query_map([scenario], |r| Ok((r.get::<_, u16>(0)?, r.get::<_, i64>(1)?)))
            .map_err(|e| crate::Error::store("clicks", e))?;
        let mut out = BTreeMap::new();
        for row in rows {
            let (step, n) = row.map_err(|e| crate::Error::store("clicks", e))?;
            out.insert(step, u64::try_from(n).unwrap_or(0));
        }
        Ok(out)
    }
}

/// What the host answers to `GET {base}{token}`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClickAnswer {
    /// 302 to this URL (signed by the key).
    Redirect(String),
    /// 404: not a valid token.
    NotFound,
}

/// Answers tracked-link requests: verifies, records once, redirects.
pub struct ClickService {
    key: LinkKey,
    store: Arc<dyn ClickStore>,
    journal: Option<Arc<dyn Journal>>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for ClickService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClickService").finish_non_exhaustive()
    }
}

impl ClickService {
    /// A service checking tokens with `key` and keeping clicks in `store`.
    pub fn new(key: LinkKey, store: Arc<dyn ClickStore>, clock: Arc<dyn Clock>) -> Self {
        Self {
            key,
            store,
            journal: None,
            clock,
        }
    }

    /// Also write each first click to `journal` (a [`RecordKind::Clicked`] record).
    #[must_use]
    pub fn journal(mut self, journal: Arc<dyn Journal>) -> Self {
        self.journal = Some(journal);
        self
    }

    /// The answer to a request for `token`. A store or journal failure still redirects (the user
    /// gets where the link said; the failure is returned beside the answer so the host can log it).
    pub async fn click(&self, token: &str) -> (ClickAnswer, Option<crate::Error>) {
        let Ok(link) = verify(&self.key, token) else {
            return (ClickAnswer::NotFound, None);
        };
        let at = self.clock.now();
        let failure = match self.store.record_click(&link, at).await {
            Ok(true) => match &self.journal {
                Some(j) => j
                    .record(Record {
                        at,
                        scenario: link.scenario.as_str().into(),
                        user: link.user.clone(),
                        step: Some(link.step),
                        kind: RecordKind::Clicked,
                    })
                    .await
                    .err(),
                None => None,
            },
            Ok(false) => None,
            Err(e) => Some(e),
        };
        (ClickAnswer::Redirect(link.url), failure)
    }
}

/// The axum router answering `GET /c/{token}` with a [`ClickService`] (feature `axum`).
/// Nest it where the [`Tracker`]'s base points (`https://host/c/` for `router` at the root).
#[cfg(feature = "axum")]
pub fn router(service: Arc<ClickService>) -> axum::Router {
    use axum::extract::{Path, State};
    use axum::http::{header, HeaderValue, StatusCode};
    use axum::response::{IntoResponse, Response};

    async fn handle(State(service): State<Arc<ClickService>>, Path(token): Path<String>) -> Response {
        match service.click(&token).await.0 {
            ClickAnswer::Redirect(url) => match HeaderValue::from_str(&url) {
                Ok(location) => (
                    StatusCode::FOUND,
                    [
                        (header::LOCATION, location),
                        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
                        (header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")),
                    ],
                )
                    .into_response(),
                Err(_) => StatusCode::NOT_FOUND.into_response(),
            },
            ClickAnswer::NotFound => StatusCode::NOT_FOUND.into_response(),
        }
    }
    axum::Router::new()
        .route("/c/{token}", axum::routing::get(handle))
        .with_state(service)
}

/// The conformance suite of [`ClickStore`] (feature `testing`): panics naming the broken rule.
#[cfg(feature = "testing")]
pub async fn click_store_conformance(
    store: std::sync::Arc<dyn ClickStore>,
    _clock: &dyn line_core::testing::TestClock,
) {
    let store = &*store;
    let run = format!("c{:x}", Timestamp::now().as_nanosecond() & 0xffff_ffff_ffff);
    let a = format!("{run}-a");
    let b = format!("{run}-b");
    let at = Timestamp::UNIX_EPOCH;
    let u1 = UserId::new(format!("U{run}1"));
    let u2 = UserId::new(format!("U{run}2"));
    let link = |s: &str, step: u16, entry: u32, u: &UserId, url: &str| Link::new(s, step, entry, u.clone(), url);
    let click = |l: Link| async move { store.record_click(&l, at).await.expect("record_click") };
    assert!(
        click(link(&a, 2, 1, &u1, "https://x.example/1")).await,
        "a first click counts"
    );
    assert!(
        !click(link(&a, 2, 1, &u1, "https://x.example/1")).await,
        "a second click on the same send by the same user does not count"
    );
    assert!(
        !click(link(&a, 2, 1, &u1, "https://x.example/other")).await,
        "another link of the same send by the same user does not count"
    );
    assert!(
        click(link(&a, 2, 1, &u2, "https://x.example/1")).await,
        "another user counts"
    );
    assert!(
        click(link(&a, 2, 2, &u1, "https://x.example/1")).await,
        "another entry is another send"
    );
    assert!(
        click(link(&a, 3, 1, &u1, "https://x.example/1")).await,
        "another step counts"
    );
    assert!(
        click(link(&b, 2, 1, &u1, "https://x.example/1")).await,
        "another scenario counts"
    );
    assert_eq!(
        store.clicks(&a).await.expect("clicks"),
        BTreeMap::from([(2, 3), (3, 1)]),
        "clicks per step of one scenario"
    );
    assert_eq!(store.clicks(&b).await.expect("clicks"), BTreeMap::from([(2, 1)]));
    assert!(
        store.clicks(&format!("{run}-none")).await.expect("clicks").is_empty(),
        "a scenario without clicks has none"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> LinkKey {
        LinkKey::new(*b"0123456789abcdef0123456789abcdef").unwrap()
    }

    fn link() -> Link {
        Link::new(
            "cart",
            2,
            7,
            UserId::new("Uabc"),
            "https://shop.example/item?id=1&x=<y>",
        )
    }

    #[test]
    fn tokens_round_trip_and_refuse_any_change() {
        let t = sign(&key(), &link()).unwrap();
        assert_eq!(verify(&key(), &t), Ok(link()));
        let other = LinkKey::new(*b"fedcba9876543210fedcba9876543210").unwrap();
        assert_eq!(verify(&other, &t), Err(TokenError::BadSignature));
        let raw = URL_SAFE_NO_PAD.decode(&t).unwrap();
        for i in 0..raw.len() {
            let mut bad = raw.clone();
            bad[i] ^= 0x01;
            assert!(
                verify(&key(), &URL_SAFE_NO_PAD.encode(&bad)).is_err(),
                "byte {i} flipped"
            );
        }
        for bad in ["", "x", "!!!", &t[..t.len() - 1], &"A".repeat(5000)] {
            assert!(verify(&key(), bad).is_err(), "{bad:?}");
        }
        assert!(format!("{:?}", key()).contains("redacted"));
        assert!(LinkKey::new(b"short".to_vec()).is_err());
    }

    #[test]
    fn only_http_targets_are_signed() {
        for url in ["javascript:alert(1)", "line://nv/chat", "//evil.example", "tel:000"] {
            let l = Link::new("s", 0, 1, UserId::new("U1"), url);
            assert_eq!(sign(&key(), &l), None, "{url}");
        }
    }

    #[test]
    fn rewrite_tracks_uri_actions_only() {
        let tracker = Tracker::new(key(), "https://host.example/c/").unwrap();
        let ctx = SendContext::new("cart", "remind", 2, 7);
        let user = UserId::new("Uabc");
        let messages = r#"[{"type":"text","text":"see https://shop.example/a"},
          {"type":"template","altText":"x","template":{"type":"buttons","text":"t","actions":[
            {"type":"uri","label":"go","uri":"https://shop.example/a","altUri":{"desktop":"https://shop.example/d"}},
            {"type":"uri","label":"call","uri":"tel:0000"},
            {"type":"postback","label":"p","data":"https://not.a.link/"}]}}]"#;
        let out: Value = serde_json::from_str(&tracker.rewrite(messages, &ctx, &user).unwrap()).unwrap();
        assert_eq!(out[0]["text"], "see https://shop.example/a");
        let actions = &out[1]["template"]["actions"];
        let uri = actions[0]["uri"].as_str().unwrap();
        let token = uri.strip_prefix("https://host.example/c/").unwrap();
        assert_eq!(verify(&key(), token).unwrap().url, "https://shop.example/a");
        let desktop = actions[0]["altUri"]["desktop"].as_str().unwrap();
        let token = desktop.strip_prefix("https://host.example/c/").unwrap();
        assert_eq!(verify(&key(), token).unwrap().url, "https://shop.example/d");
        assert_eq!(actions[1]["uri"], "tel:0000");
        assert_eq!(actions[2]["data"], "https://not.a.link/");
        assert_eq!(tracker.rewrite(r#"[{"type":"text","text":"hi"}]"#, &ctx, &user), None);
        for bad in ["https://host.example/c", "ftp://host.example/c/", "/c/"] {
            assert!(Tracker::new(key(), bad).is_err(), "{bad}");
        }
    }
}
