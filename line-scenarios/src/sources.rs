//! Friend sources (流入経路): which store QR code, flyer, ad or site popup brought a friend, the
//! greeting of that source, and friends, blocks and conversions counted per source.
//!
//! # How a follow is matched to a source
//!
//! LINE's `follow` event says who followed, not where they came from. Attribution therefore goes
//! through a tracked link, the way line-popup attributes a popup to the later follow: the match
//! is by the LINE user ID, never by time.
//!
//! 1. Each source has its own tracked URL, `{base_url}/{code}` ([`SourceRegistry::tracked_url`]),
//!    printed as a QR code in the store or put on the flyer or ad. The host serves it
//!    ([`Sources::visit`], or the axum `router` with the `axum` feature): the visit is counted, a
//!    random attribution token is bound to the source for [`SourceRegistry::token_ttl`], and the
//!    browser is redirected (303) to the entry: the host's LIFF app with the token in the query
//!    ([`Entry::Liff`]), LINE Login with the token as `state` ([`Entry::Login`]), or straight to
//!    the account's add-friend URL ([`Entry::Direct`]).
//! 2. The LIFF app reads the user's ID token and posts it with the attribution token to the host;
//!    the host verifies the ID token with LINE (not this crate's job) and calls
//!    [`Sources::bind`] with the token and the LINE user ID, which ties the user to the source
//!    for [`SourceRegistry::follow_ttl`]. Then the LIFF app opens the add-friend URL
//!    ([`SourceRegistry::add_friend_url`]). The binding is made before the user can add the
//!    account, so the `follow` always finds it.
//! 3. The engine ([`crate::Engine::on_webhook`]) asks [`Sources::on_follow`] for the follow's
//!    source: the binding is taken, the source becomes the user's source, a friend is counted for
//!    it (once per `webhookEventId`), the user gets the source's tag in the profile store, and the
//!    scenarios triggered by `{"follow": {"source": CODE}}` start: the source's greeting.
//!
//! Limits, said plainly:
//! - With [`Entry::Direct`] there is no user ID, so visits are counted but no follow is matched
//!   (every follow is `none`). A heuristic that matches "the next follow within N seconds of a
//!   visit" is deliberately not offered: with QR codes in many stores at once it greets friends
//!   with the wrong store's greeting and counts them for the wrong store, which is worse than the
//!   default greeting.
//! - LINE Login also works as the entry ([`Entry::Login`], for visitors outside the LINE app), but
//!   without `bot_prompt`: with it (line-popup's login goal) LINE shows the add-friend screen
//!   before the login callback, so the follow could arrive before the host can bind the user and
//!   would get the default greeting. Without it, the callback binds, then sends the user on to the
//!   add-friend URL.
//! - A user who adds the account without the tracked link (search, an old QR code of LINE's own,
//!   a link shared by a friend of the LIFF-less kind) or after the binding expired is `none`.
//! - A follow matched to a source makes it the user's source (the last matched follow wins);
//!   blocks and conversions count for the user's source at the time they happen. A follow that is
//!   not matched keeps the user's earlier source.
//! - Counts are exact per event: a follow or unfollow counts once per `webhookEventId` (LINE's
//!   redeliveries count once), a conversion once per (user, event name, event time).
//!
//! Forged or stale codes never redirect anywhere: an unknown code is
//! [`ErrorKind::UnknownSource`] (a 404 from the `router`), and the redirect target is always
//! built from the registry's configuration, never from the request.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! use line_core::ids::UserId;
//! use line_scenarios::memory::InMemoryStore;
//! use line_scenarios::profiles::InMemoryProfiles;
//! use line_scenarios::sender::RecordingSender;
//! use line_scenarios::sources::{Entry, InMemorySources, Source, SourceRegistry, Sources};
//! use line_scenarios::{json, Engine};
//!
//! let registry = SourceRegistry::builder("@shop", "https://shop.example/s")
//!     .entry(Entry::Liff("https://liff.line.me/1650000000-AbCdEfGh".into()))
//!     .source(Source::new("store_shibuya", "Shibuya store"))
//!     .build()
//!     .unwrap();
//! assert_eq!(registry.qr_text("store_shibuya").unwrap(), "https://shop.example/s/store_shibuya");
//! let sources = Sources::new(registry, Arc::new(InMemorySources::new()));
//!
//! // The store's greeting is a scenario.
//! let greeting = json::from_str(r#"{"id": "greet_shibuya",
//!   "trigger": {"follow": {"source": "store_shibuya"}},
//!   "steps": [{"id": "hi", "send": {"messages": [{"type": "text", "text": "Welcome to Shibuya!"}]}}]}"#).unwrap();
//! let store = Arc::new(InMemoryStore::new());
//! let sender = Arc::new(RecordingSender::new());
//! let engine = Engine::builder(vec![greeting])
//!     .state(store.clone())
//!     .scheduler(store)
//!     .profiles(Arc::new(InMemoryProfiles::new()))
//!     .sender(sender.clone())
//!     .sources(sources.clone())
//!     .build()
//!     .unwrap();
//!
//! // The QR code's visit, then the LIFF app's binding of the verified user.
//! let visit = sources.visit("store_shibuya").await.unwrap();
//! assert!(visit.redirect.ends_with(&format!("?source_token={}", visit.token)));
//! let aoi = UserId::new("U4af4980629");
//! sources.bind(&visit.token, &aoi).await.unwrap();
//!
//! // The follow webhook: matched, tagged, greeted, counted.
//! let body = r#"{"destination": "Ubot", "events": [{"type": "follow", "mode": "active",
//!   "timestamp": 1778806800000, "source": {"type": "user", "userId": "U4af4980629"},
//!   "webhookEventId": "01J0000000000000000000000A", "replyToken": "r",
//!   "deliveryContext": {"isRedelivery": false}, "follow": {"isUnblocked": false}}]}"#;
//! for event in &line_core::webhook::parse(body.as_bytes()).unwrap().events {
//!     engine.on_webhook(event).await.unwrap();
//! }
//! assert!(sender.pushed()[0].messages.contains("Welcome to Shibuya!"));
//! let counts = sources.counts("store_shibuya").await.unwrap();
//! assert_eq!((counts.visits, counts.friends), (1, 1));
//! # });
//! ```

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use jiff::{SignedDuration, Timestamp};
use line_core::clock::{Clock, SystemClock};
use line_core::ids::UserId;
use line_segments::profile::{Event, Value};

use crate::error::{Error, ErrorKind, Result};
pub use crate::model::{check_code, MAX_CODE_LEN, RESERVED_CODES};
use crate::model::{props_match, Goal};

/// The query parameter that carries the attribution token to the LIFF app.
pub const TOKEN_PARAM: &str = "source_token";
/// Where the add-friend URL points, before the percent-encoded `@` and the basic ID.
pub const ADD_FRIEND_URL_PREFIX: &str = "https://line.me/R/ti/p/";

/// One friend source: a store's QR code, a flyer, an ad, the site popup.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Source {
    /// The code in the tracked URL and in `{"follow": {"source": CODE}}` (see [`check_code`]).
    pub code: String,
    /// A name for reports ("Shibuya store").
    pub name: String,
    /// The tag a matched follow adds to the user's `tags` (default `source:CODE`).
    pub tag: String,
}

impl Source {
    /// A source with the default tag `source:CODE`.
    pub fn new(code: impl Into<String>, name: impl Into<String>) -> Self {
        let code = code.into();
        Self {
            tag: format!("source:{code}"),
            code,
            name: name.into(),
        }
    }

    /// Sets the tag.
    #[must_use]
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.tag = tag.into();
        self
    }
}

/// Where the tracked URL sends the visitor.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Entry {
    /// The host's LIFF app (`https://liff.line.me/{liffId}`, or the app's own https URL), given
    /// the attribution token in [`TOKEN_PARAM`]. Follows are matched.
    Liff(String),
    /// LINE Login (authorization code flow, scope `openid`, no `bot_prompt`) with the attribution
    /// token as `state`: the host's callback exchanges the code, reads the user ID (`sub`) from
    /// the ID token, calls [`Sources::bind`] with `state`, then redirects to the add-friend URL.
    /// For visitors outside the LINE app (an ad opened in another browser). Follows are matched.
    Login {
        /// The LINE Login channel ID (`client_id`, digits). Not a secret.
        channel_id: String,
        /// The host's registered callback URL (`redirect_uri`).
        redirect_uri: String,
    },
    /// Straight to the add-friend URL. Visits are counted; follows are not matched.
    Direct,
}

/// LINE Login's authorization endpoint.
pub const LOGIN_AUTHORIZE_URL: &str = "https://access.line.me/oauth2/v2.1/authorize";

/// The sources of one account: their tracked URLs, the entry, the goals counted as conversions.
#[derive(Debug, Clone)]
pub struct SourceRegistry {
    sources: Vec<Arc<Source>>,
    by_code: HashMap<String, usize>,
    base_url: String,
    add_friend_url: String,
    entry: Entry,
    login_prefix: Option<String>,
    goals: Vec<Goal>,
    token_ttl: SignedDuration,
    follow_ttl: SignedDuration,
}

/// Builds a [`SourceRegistry`].
#[derive(Debug, Clone)]
#[must_use]
pub struct SourceRegistryBuilder {
    basic_id: String,
    base_url: String,
    entry: Entry,
    sources: Vec<Source>,
    goals: Vec<Goal>,
    token_ttl: SignedDuration,
    follow_ttl: SignedDuration,
}

impl SourceRegistryBuilder {
    /// Adds a source.
    pub fn source(mut self, source: Source) -> Self {
        self.sources.push(source);
        self
    }

    /// Sets the entry (default [`Entry::Direct`]).
    pub fn entry(mut self, entry: Entry) -> Self {
        self.entry = entry;
        self
    }

    /// A host event counted as a conversion of the user's source (with its revenue property).
    pub fn goal(mut self, goal: Goal) -> Self {
        self.goals.push(goal);
        self
    }

    /// How long an attribution token waits for [`Sources::bind`] (default 1 hour).
    pub fn token_ttl(mut self, ttl: SignedDuration) -> Self {
        self.token_ttl = ttl;
        self
    }

    /// How long a bound user waits for their follow (default 1 hour).
    pub fn follow_ttl(mut self, ttl: SignedDuration) -> Self {
        self.follow_ttl = ttl;
        self
    }

    /// Checks everything; errors name the field (`sources/2/code`, `base_url`, …).
    pub fn build(self) -> Result<SourceRegistry> {
        let basic_id = self.basic_id.strip_prefix('@').unwrap_or(&self.basic_id);
        if basic_id.is_empty()
            || basic_id.len() > 64
            || !basic_id.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        {
            return Err(Error::config(
                "basic_id",
                "must be @ followed by letters, digits, '.', '_' or '-'",
            ));
        }
        let base_url = check_url("base_url", &self.base_url)?;
        let base_url = base_url.trim_end_matches('/').to_owned();
        let login_prefix = match &self.entry {
            Entry::Liff(u) => {
                check_url("entry", u)?;
                None
            }
            Entry::Login {
                channel_id,
                redirect_uri,
            } => {
                if channel_id.is_empty() || channel_id.len() > 20 || !channel_id.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(Error::config("entry/channel_id", "must be the channel's numeric ID"));
                }
                check_url("entry/redirect_uri", redirect_uri)?;
                let mut u = url::Url::parse(LOGIN_AUTHORIZE_URL).map_err(|e| Error::config("entry", e.to_string()))?;
                u.query_pairs_mut()
                    .append_pair("response_type", "code")
                    .append_pair("client_id", channel_id)
                    .append_pair("redirect_uri", redirect_uri)
                    .append_pair("scope", "openid");
                Some(format!("{u}&state="))
            }
            Entry::Direct => None,
        };
        let positive = |field: &str, d: SignedDuration| {
            if d.is_positive() {
                Ok(())
            } else {
                Err(Error::config(field, "must be longer than 0"))
            }
        };
        positive("token_ttl", self.token_ttl)?;
        positive("follow_ttl", self.follow_ttl)?;
        let mut by_code = HashMap::new();
        let mut sources = Vec::with_capacity(self.sources.len());
        for (i, s) in self.sources.into_iter().enumerate() {
            check_code(&s.code).map_err(|r| Error::config(format!("sources/{i}/code"), r))?;
            if s.tag.trim().is_empty() {
                return Err(Error::config(format!("sources/{i}/tag"), "must not be empty"));
            }
            if by_code.insert(s.code.clone(), i).is_some() {
                return Err(Error::config(
                    format!("sources/{i}/code"),
                    format!("duplicate source code `{}`", s.code),
                ));
            }
            sources.push(Arc::new(s));
        }
        for (i, g) in self.goals.iter().enumerate() {
            if g.event.is_empty() {
                return Err(Error::config(format!("goals/{i}/event"), "must not be empty"));
            }
        }
        Ok(SourceRegistry {
            sources,
            by_code,
            base_url,
            add_friend_url: format!("{ADD_FRIEND_URL_PREFIX}%40{basic_id}"),
            entry: self.entry,
            login_prefix,
            goals: self.goals,
            token_ttl: self.token_ttl,
            follow_ttl: self.follow_ttl,
        })
    }
}

/// An absolute https URL (http only for loopback hosts, for tests) with no query or fragment
/// except for LIFF, which may carry a query.
fn check_url(field: &str, raw: &str) -> Result<String> {
    let u = url::Url::parse(raw).map_err(|e| Error::config(field, format!("not a URL: {e}")))?;
    let loopback = matches!(u.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    if !(u.scheme() == "https" || (u.scheme() == "http" && loopback)) {
        return Err(Error::config(field, "must be an https URL"));
    }
    if u.host_str().is_none() || u.fragment().is_some() || !u.username().is_empty() || u.password().is_some() {
        return Err(Error::config(
            field,
            "must be an absolute URL with a host and no fragment or user info",
        ));
    }
    if field == "base_url" && u.query().is_some() {
        return Err(Error::config(
            field,
            "must have no query (the code is its last path segment)",
        ));
    }
    Ok(raw.to_owned())
}

impl SourceRegistry {
    /// A registry for the account `@basic_id`, whose tracked URLs are `{base_url}/{code}`.
    pub fn builder(basic_id: impl Into<String>, base_url: impl Into<String>) -> SourceRegistryBuilder {
        SourceRegistryBuilder {
            basic_id: basic_id.into(),
            base_url: base_url.into(),
            entry: Entry::Direct,
            sources: Vec::new(),
            goals: Vec::new(),
            token_ttl: SignedDuration::from_hours(1),
            follow_ttl: SignedDuration::from_hours(1),
        }
    }

    /// The sources, in the order given.
    pub fn sources(&self) -> impl Iterator<Item = &Source> {
        self.sources.iter().map(|s| &**s)
    }

    /// The source with this code, or [`ErrorKind::UnknownSource`].
    pub fn get(&self, code: &str) -> Result<&Arc<Source>> {
        self.by_code
            .get(code)
            .map(|&i| &self.sources[i])
            .ok_or_else(|| Error::new(ErrorKind::UnknownSource { code: code.to_owned() }))
    }

    /// The source's tracked URL, `{base_url}/{code}`: put it on the flyer, the ad, the site.
    pub fn tracked_url(&self, code: &str) -> Result<String> {
        let s = self.get(code)?;
        Ok(format!("{}/{}", self.base_url, s.code))
    }

    /// The text to encode in the source's QR code: its tracked URL (printable ASCII with no
    /// character that needs escaping, since codes are `a-z0-9_-`).
    pub fn qr_text(&self, code: &str) -> Result<String> {
        self.tracked_url(code)
    }

    /// The account's add-friend URL (`https://line.me/R/ti/p/%40{basic_id}`): where the LIFF app
    /// sends the user after binding, and where [`Entry::Direct`] redirects.
    pub fn add_friend_url(&self) -> &str {
        &self.add_friend_url
    }

    /// The entry.
    pub fn entry(&self) -> &Entry {
        &self.entry
    }

    /// How long an attribution token waits for [`Sources::bind`].
    pub fn token_ttl(&self) -> SignedDuration {
        self.token_ttl
    }

    /// How long a bound user waits for their follow.
    pub fn follow_ttl(&self) -> SignedDuration {
        self.follow_ttl
    }

    /// The goals counted as conversions.
    pub fn goals(&self) -> &[Goal] {
        &self.goals
    }

    fn redirect(&self, token: &str) -> String {
        match &self.entry {
            Entry::Direct => self.add_friend_url.clone(),
            Entry::Login { .. } => format!("{}{token}", self.login_prefix.as_deref().unwrap_or(LOGIN_AUTHORIZE_URL)),
            Entry::Liff(base) => {
                let sep = if base.contains('?') { '&' } else { '?' };
                format!("{base}{sep}{TOKEN_PARAM}={token}")
            }
        }
    }
}

/// Counts of one source.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
#[non_exhaustive]
pub struct SourceCounts {
    /// Visits of the tracked URL.
    pub visits: u64,
    /// Follows matched to the source (a user who blocks and comes back through the link again
    /// counts again).
    pub friends: u64,
    /// Blocks (`unfollow`) of users whose source it is.
    pub blocks: u64,
    /// Goal events of users whose source it is.
    pub conversions: u64,
    /// Their revenue, in yen.
    pub revenue: f64,
}

/// The host's store of visits, bindings, users' sources and counts. Each method is one atomic
/// operation, so that a SQL or Redis implementation can do it in one transaction or script.
#[async_trait::async_trait]
pub trait SourceStore: Send + Sync {
    /// Counts a visit of `source` and binds `token` to it until `expires`.
    async fn visit(&self, source: &str, token: &str, expires: Timestamp) -> Result<()>;
    /// Ties `user` to the source of `token` until `expires`, when the token is bound and not
    /// expired at `now`; returns that source. Binding a token again (a reload of the LIFF page)
    /// binds again; a token bound to another user later moves the binding to that user too.
    async fn bind(&self, token: &str, user: &UserId, now: Timestamp, expires: Timestamp) -> Result<Option<String>>;
    /// A follow of `user` at `now`: takes the user's binding if not expired, makes its source the
    /// user's source and counts a friend for it. With an `event_id`, a repeat of the same event
    /// returns the first answer and counts nothing. Returns the follow's source.
    async fn follow(&self, user: &UserId, event_id: Option<&str>, now: Timestamp) -> Result<Option<String>>;
    /// A block: counts one for the user's source (once per `event_id`); returns that source.
    async fn unfollow(&self, user: &UserId, event_id: Option<&str>) -> Result<Option<String>>;
    /// A conversion of `user` worth `revenue`: counts it for the user's source once per `key`;
    /// returns that source.
    async fn convert(&self, user: &UserId, key: &str, revenue: f64) -> Result<Option<String>>;
    /// The user's source (of their last matched follow).
    async fn source_of(&self, user: &UserId) -> Result<Option<String>>;
    /// The counts of `source` (zero for a source never seen).
    async fn counts(&self, source: &str) -> Result<SourceCounts>;
}

#[async_trait::async_trait]
impl<T: SourceStore + ?Sized> SourceStore for Arc<T> {
    async fn visit(&self, source: &str, token: &str, expires: Timestamp) -> Result<()> {
        (**self).visit(source, token, expires).await
    }
    async fn bind(&self, token: &str, user: &UserId, now: Timestamp, expires: Timestamp) -> Result<Option<String>> {
        (**self).bind(token, user, now, expires).await
    }
    async fn follow(&self, user: &UserId, event_id: Option<&str>, now: Timestamp) -> Result<Option<String>> {
        (**self).follow(user, event_id, now).await
    }
    async fn unfollow(&self, user: &UserId, event_id: Option<&str>) -> Result<Option<String>> {
        (**self).unfollow(user, event_id).await
    }
    async fn convert(&self, user: &UserId, key: &str, revenue: f64) -> Result<Option<String>> {
        (**self).convert(user, key, revenue).await
    }
    async fn source_of(&self, user: &UserId) -> Result<Option<String>> {
        (**self).source_of(user).await
    }
    async fn counts(&self, source: &str) -> Result<SourceCounts> {
        (**self).counts(source).await
    }
}

#[derive(Debug, Default)]
struct Mem {
    tokens: HashMap<String, (String, Timestamp)>,
    bound: HashMap<UserId, (String, Timestamp)>,
    source_of: HashMap<UserId, String>,
    follows: HashMap<String, Option<String>>,
    seen: HashSet<String>,
    counts: HashMap<String, SourceCounts>,
}

/// A [`SourceStore`] in memory. Expired tokens and bindings are dropped when next touched and by
/// [`InMemorySources::purge`]; the event ids seen are kept for the life of the store.
#[derive(Debug, Default)]
pub struct InMemorySources {
    inner: Mutex<Mem>,
}

impl InMemorySources {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Mem> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Drops tokens and bindings expired at `now`.
    pub fn purge(&self, now: Timestamp) {
        let mut m = self.lock();
        m.tokens.retain(|_, (_, exp)| *exp > now);
        m.bound.retain(|_, (_, exp)| *exp > now);
    }
}

#[async_trait::async_trait]
impl SourceStore for InMemorySources {
    async fn visit(&self, source: &str, token: &str, expires: Timestamp) -> Result<()> {
        let mut m = self.lock();
        m.tokens.insert(token.to_owned(), (source.to_owned(), expires));
        m.counts.entry(source.to_owned()).or_default().visits += 1;
        Ok(())
    }

    async fn bind(&self, token: &str, user: &UserId, now: Timestamp, expires: Timestamp) -> Result<Option<String>> {
        let mut m = self.lock();
        let source = match m.tokens.get(token) {
            Some((s, exp)) if *exp > now => s.clone(),
            Some(_) => {
                m.tokens.remove(token);
                return Ok(None);
            }
            None => return Ok(None),
        };
        m.bound.insert(user.clone(), (source.clone(), expires));
        Ok(Some(source))
    }

    async fn follow(&self, user: &UserId, event_id: Option<&str>, now: Timestamp) -> Result<Option<String>> {
        let mut m = self.lock();
        if let Some(id) = event_id {
            if let Some(first) = m.follows.get(id) {
                return Ok(first.clone());
            }
        }
        let source = match m.bound.remove(user) {
            Some((s, exp)) if exp > now => Some(s),
            _ => None,
        };
        if let Some(s) = &source {
            m.source_of.insert(user.clone(), s.clone());
            m.counts.entry(s.clone()).or_default().friends += 1;
        }
        if let Some(id) = event_id {
            m.follows.insert(id.to_owned(), source.clone());
        }
        Ok(source)
    }

    async fn unfollow(&self, user: &UserId, event_id: Option<&str>) -> Result<Option<String>> {
        let mut m = self.lock();
        let Some(source) = m.source_of.get(user).cloned() else {
            return Ok(None);
        };
        if let Some(id) = event_id {
            if !m.seen.insert(format!("unfollow\u{1f}{id}")) {
                return Ok(Some(source));
            }
        }
        m.counts.entry(source.clone()).or_default().blocks += 1;
        Ok(Some(source))
    }

    async fn convert(&self, user: &UserId, key: &str, revenue: f64) -> Result<Option<String>> {
        let mut m = self.lock();
        let Some(source) = m.source_of.get(user).cloned() else {
            return Ok(None);
        };
        if m.seen.insert(format!("convert\u{1f}{key}")) {
            let c = m.counts.entry(source.clone()).or_default();
            c.conversions += 1;
            c.revenue += revenue;
        }
        Ok(Some(source))
    }

    async fn source_of(&self, user: &UserId) -> Result<Option<String>> {
        Ok(self.lock().source_of.get(user).cloned())
    }

    async fn counts(&self, source: &str) -> Result<SourceCounts> {
        Ok(self.lock().counts.get(source).copied().unwrap_or_default())
    }
}

/// A visit of a tracked URL.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Visit {
    /// The source.
    pub source: Arc<Source>,
    /// The attribution token (32 lowercase hex digits).
    pub token: String,
    /// Where to send the browser (303): the LIFF app with the token, LINE Login with the token as
    /// `state`, or the add-friend URL.
    pub redirect: String,
}

/// One row of [`Sources::report`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SourceRow {
    /// The source.
    pub source: Arc<Source>,
    /// Its counts.
    pub counts: SourceCounts,
}

/// Friend sources at work: the registry, the store and a clock. Cheap to clone.
#[derive(Clone)]
pub struct Sources {
    registry: Arc<SourceRegistry>,
    store: Arc<dyn SourceStore>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Sources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sources")
            .field("sources", &self.registry.sources.len())
            .finish_non_exhaustive()
    }
}

impl Sources {
    /// Sources on this store, with the system clock.
    pub fn new(registry: SourceRegistry, store: Arc<dyn SourceStore>) -> Self {
        Self {
            registry: Arc::new(registry),
            store,
            clock: Arc::new(SystemClock),
        }
    }

    /// Uses this clock (tests).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The registry.
    pub fn registry(&self) -> &SourceRegistry {
        &self.registry
    }

    /// A visit of the tracked URL of `code`: counts it, binds a new attribution token to the
    /// source, and says where to redirect. An unknown code is [`ErrorKind::UnknownSource`].
    pub async fn visit(&self, code: &str) -> Result<Visit> {
        let source = self.registry.get(code)?.clone();
        let token = uuid::Uuid::new_v4().simple().to_string();
        let expires = self.expiry(self.registry.token_ttl);
        self.store.visit(&source.code, &token, expires).await?;
        Ok(Visit {
            redirect: self.registry.redirect(&token),
            source,
            token,
        })
    }

    /// Ties the LINE user (from the LIFF app's verified ID token) to the source of `token`, so
    /// that their follow is matched. Returns the source, or `None` for an unknown or expired token
    /// (send the user to the add-friend URL anyway: they will get the default greeting). A token
    /// that is not 32 hex digits is [`ErrorKind::InvalidInput`].
    pub async fn bind(&self, token: &str, user: &UserId) -> Result<Option<Arc<Source>>> {
        if token.len() != 32 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::new(ErrorKind::InvalidInput {
                field: TOKEN_PARAM.to_owned(),
                reason: "not an attribution token (32 hex digits)".to_owned(),
            }));
        }
        if user.as_str().is_empty() {
            return Err(Error::new(ErrorKind::InvalidInput {
                field: "user".to_owned(),
                reason: "empty LINE user ID".to_owned(),
            }));
        }
        let now = self.clock.now();
        let expires = self.expiry(self.registry.follow_ttl);
        let found = self.store.bind(&token.to_ascii_lowercase(), user, now, expires).await?;
        Ok(found.and_then(|c| self.registry.get(&c).ok().cloned()))
    }

    /// A follow of `user` (the engine calls it): its source, if matched; see [`SourceStore::follow`].
    /// A source removed from the registry since the binding counts but gives `None`.
    pub async fn on_follow(&self, user: &UserId, event_id: Option<&str>) -> Result<Option<Arc<Source>>> {
        let found = self.store.follow(user, event_id, self.clock.now()).await?;
        Ok(found.and_then(|c| self.registry.get(&c).ok().cloned()))
    }

    /// A block of `user` (the engine calls it): counted for the user's source.
    pub async fn on_unfollow(&self, user: &UserId, event_id: Option<&str>) -> Result<()> {
        self.store.unfollow(user, event_id).await.map(|_| ())
    }

    /// A host event of `user` (the engine calls it): when it is one of the registry's goals, a
    /// conversion of the user's source with its revenue, once per (user, event, time).
    pub async fn on_event(&self, user: &UserId, event: &Event) -> Result<()> {
        for goal in &self.registry.goals {
            if goal.event != *event.name || !props_match(&goal.props, event) {
                continue;
            }
            let revenue = goal
                .revenue
                .as_deref()
                .and_then(|p| match event.prop(p) {
                    Some(Value::Num(n)) if n.is_finite() => Some(*n),
                    _ => None,
                })
                .unwrap_or(0.0);
            let key = format!(
                "{}\u{1f}{}\u{1f}{}",
                user.as_str(),
                event.name,
                event.at.as_millisecond()
            );
            self.store.convert(user, &key, revenue).await?;
            break;
        }
        Ok(())
    }

    /// The user's source.
    pub async fn source_of(&self, user: &UserId) -> Result<Option<Arc<Source>>> {
        let found = self.store.source_of(user).await?;
        Ok(found.and_then(|c| self.registry.get(&c).ok().cloned()))
    }

    /// The counts of one source (an unknown code is [`ErrorKind::UnknownSource`]).
    pub async fn counts(&self, code: &str) -> Result<SourceCounts> {
        let s = self.registry.get(code)?;
        self.store.counts(&s.code).await
    }

    /// The counts of every source, in registry order.
    pub async fn report(&self) -> Result<Vec<SourceRow>> {
        let mut rows = Vec::with_capacity(self.registry.sources.len());
        for s in &self.registry.sources {
            rows.push(SourceRow {
                counts: self.store.counts(&s.code).await?,
                source: s.clone(),
            });
        }
        Ok(rows)
    }

    fn expiry(&self, ttl: SignedDuration) -> Timestamp {
        let now = self.clock.now();
        now.saturating_add(ttl).unwrap_or(now)
    }
}

/// The rows of [`Sources::report`] as a terminal table: visits, friends, blocks, conversions,
/// revenue, and friends per visit.
pub fn render_table(rows: &[SourceRow]) -> String {
    use std::fmt::Write as _;
    let header = [
        "source",
        "name",
        "visits",
        "friends",
        "blocks",
        "conv",
        "revenue",
        "friends/visit",
    ];
    let body: Vec<[String; 8]> = rows
        .iter()
        .map(|r| {
            let c = &r.counts;
            [
                r.source.code.clone(),
                r.source.name.clone(),
                c.visits.to_string(),
                c.friends.to_string(),
                c.blocks.to_string(),
                c.conversions.to_string(),
                crate::stats::yen(c.revenue),
                if c.visits == 0 {
                    "-".to_owned()
                } else {
                    format!("{:.1}%", c.friends as f64 * 100.0 / c.visits as f64)
                },
            ]
        })
        .collect();
    let mut width = header.map(|h| h.chars().count());
    for row in &body {
        for (w, cell) in width.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[String]| {
        for (i, (cell, w)) in cells.iter().zip(width).enumerate() {
            let pad = w - cell.chars().count();
            if i < 2 {
                let _ = write!(out, "{cell}{}", " ".repeat(pad));
            } else {
                let _ = write!(out, "{}{cell}", " ".repeat(pad));
            }
            out.push_str(if i + 1 < cells.len() { "  " } else { "\n" });
        }
    };
    line(&header.map(str::to_owned));
    for row in &body {
        line(row);
    }
    out
}

/// The tracked-URL handler for axum (feature `axum`): `GET /{code}` counts the visit and answers
/// `303 See Other` to the entry ([`Sources::visit`]), with `Cache-Control: no-store`. An unknown or
/// malformed code is `404 Not Found` with no `Location`; a store failure is `503`. Mount it under
/// the path of the registry's base URL:
/// `Router::new().nest("/s", line_scenarios::sources::router(sources))`.
#[cfg(feature = "axum")]
pub fn router(sources: Sources) -> axum::Router {
    use axum::extract::{Path, State};
    use axum::http::{header, StatusCode};
    use axum::response::{IntoResponse, Response};

    async fn tracked(State(sources): State<Sources>, Path(code): Path<String>) -> Response {
        match sources.visit(&code).await {
            Ok(v) => (
                StatusCode::SEE_OTHER,
                [
                    (header::LOCATION, v.redirect),
                    (header::CACHE_CONTROL, "no-store".to_owned()),
                ],
            )
                .into_response(),
            Err(e) if matches!(e.kind(), ErrorKind::UnknownSource { .. }) => {
                (StatusCode::NOT_FOUND, "unknown friend source").into_response()
            }
            Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "could not record the visit").into_response(),
        }
    }

    axum::Router::new()
        .route("/{code}", axum::routing::get(tracked))
        .with_state(sources)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_lowercase_words_and_not_reserved() {
        assert!(check_code("store_shibuya").is_ok());
        assert!(check_code("flyer-2026-05").is_ok());
        assert!(check_code("").is_err());
        assert!(check_code("Store").is_err());
        assert!(check_code("a/b").is_err());
        assert!(check_code("https://evil.example").is_err());
        assert!(check_code("any").unwrap_err().contains("reserved"));
        assert!(check_code("none").is_err());
        assert!(check_code(&"a".repeat(65)).is_err());
        assert!(check_code(&"a".repeat(64)).is_ok());
    }

    #[test]
    fn follow_source_matches() {
        use crate::model::FollowSource;
        let code = FollowSource::Code("a".into());
        assert!(code.matches(Some("a")));
        assert!(!code.matches(Some("b")));
        assert!(!code.matches(None));
        assert!(FollowSource::Any.matches(Some("b")));
        assert!(!FollowSource::Any.matches(None));
        assert!(FollowSource::NoSource.matches(None));
        assert!(!FollowSource::NoSource.matches(Some("a")));
    }

    #[test]
    fn liff_redirects_carry_the_token() {
        let r = SourceRegistry::builder("@shop", "https://shop.example/s/")
            .entry(Entry::Liff("https://liff.line.me/1650000000-abcd".into()))
            .source(Source::new("a", "A"))
            .build()
            .unwrap();
        assert_eq!(r.tracked_url("a").unwrap(), "https://shop.example/s/a");
        assert_eq!(r.redirect("0f"), "https://liff.line.me/1650000000-abcd?source_token=0f");
        assert_eq!(r.add_friend_url(), "https://line.me/R/ti/p/%40shop");
    }

    #[test]
    fn login_redirects_carry_the_token_as_state() {
        let r = SourceRegistry::builder("@shop", "https://shop.example/s")
            .entry(Entry::Login {
                channel_id: "1650000000".into(),
                redirect_uri: "https://shop.example/line/callback?x=1&y=2".into(),
            })
            .build()
            .unwrap();
        assert_eq!(
            r.redirect("0f"),
            "https://access.line.me/oauth2/v2.1/authorize?response_type=code&client_id=1650000000\
             &redirect_uri=https%3A%2F%2Fshop.example%2Fline%2Fcallback%3Fx%3D1%26y%3D2&scope=openid&state=0f"
        );
        let bad = SourceRegistry::builder("@shop", "https://shop.example/s")
            .entry(Entry::Login {
                channel_id: "abc".into(),
                redirect_uri: "https://shop.example/cb".into(),
            })
            .build()
            .unwrap_err();
        assert!(matches!(bad.kind(), ErrorKind::Config { field, .. } if field == "entry/channel_id"));
        let bad = SourceRegistry::builder("@shop", "https://shop.example/s")
            .entry(Entry::Login {
                channel_id: "1650000000".into(),
                redirect_uri: "http://evil.example/cb".into(),
            })
            .build()
            .unwrap_err();
        assert!(matches!(bad.kind(), ErrorKind::Config { field, .. } if field == "entry/redirect_uri"));
    }
}
