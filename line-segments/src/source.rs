//! Batch evaluation over a host profile source.
//!
//! A [`ProfileSource`] pages through profiles. The [`FetchRequest`] says which attributes, LINE facts
//! and event windows the segment reads, so a database-backed source can fetch only those.

use std::sync::Arc;

use async_trait::async_trait;
use jiff::Timestamp;
use line_core::ids::UserId;

use crate::error::Result;
use crate::eval::{CompiledSegment, Needs};
use crate::profile::Profile;

/// What a batch evaluation needs from the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchRequest {
    /// What the segment reads. Events outside `needs.events` (by name and window, counted back from
    /// `now`) may be left out.
    pub needs: Needs,
    /// The instant the evaluation runs at.
    pub now: Timestamp,
    /// The largest page the caller wants.
    pub page_size: usize,
}

/// One page of profiles.
#[derive(Debug, Clone, Default)]
pub struct ProfilePage {
    /// The profiles of this page.
    pub profiles: Vec<Arc<Profile>>,
    /// The cursor of the next page; `None` on the last page.
    pub next: Option<String>,
}

/// A host's store of profiles, paged.
///
/// Implementations must return every profile exactly once over a full scan (starting with cursor
/// `None` and following `next`), never more than `page_size` per page, and with at least the
/// attributes and events in the request. `testing::conformance` (feature `testing`) checks this.
#[async_trait]
pub trait ProfileSource: Send + Sync {
    /// Fetches the page after `cursor` (the first page when `None`).
    async fn page(&self, request: &FetchRequest, cursor: Option<String>) -> Result<ProfilePage>;
}

/// Profiles held in memory.
#[derive(Debug, Clone, Default)]
pub struct InMemorySource {
    profiles: Arc<Vec<Arc<Profile>>>,
}

impl InMemorySource {
    /// A source over these profiles.
    pub fn new(profiles: Vec<Profile>) -> Self {
        Self {
            profiles: Arc::new(profiles.into_iter().map(Arc::new).collect()),
        }
    }

    /// The number of profiles.
    pub fn len(&self) -> usize {
        self.profiles.len()
    }

    /// Whether there are no profiles.
    pub fn is_empty(&self) -> bool {
        self.profiles.is_empty()
    }

    /// The profiles.
    pub fn profiles(&self) -> &[Arc<Profile>] {
        &self.profiles
    }
}

#[async_trait]
impl ProfileSource for InMemorySource {
    async fn page(&self, request: &FetchRequest, cursor: Option<String>) -> Result<ProfilePage> {
        let start = match cursor {
            None => 0,
            Some(c) => c
                .parse::<usize>()
                .map_err(|_| crate::Error::source_failed(format!("invalid cursor `{c}`")))?,
        };
        let size = request.page_size.max(1);
        let end = (start + size).min(self.profiles.len());
        let profiles = self.profiles.get(start..end).map(|s| s.to_vec()).unwrap_or_default();
        Ok(ProfilePage {
            profiles,
            next: (end < self.profiles.len()).then(|| end.to_string()),
        })
    }
}

/// Evaluates a compiled segment over every profile of a source, returning the members' IDs in
/// source order.
pub async fn evaluate_source(
    segment: &CompiledSegment,
    source: &dyn ProfileSource,
    now: Timestamp,
    page_size: usize,
) -> Result<Vec<UserId>> {
    let request = FetchRequest {
        needs: segment.needs().clone(),
        now,
        page_size,
    };
    let eval = segment.at(now);
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = source.page(&request, cursor).await?;
        let profiles = &page.profiles;
        for p in profiles.iter() {
            if eval.matches(&**p) {
                out.push(p.id.clone());
            }
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(out),
        }
    }
}

/// Conformance suite for [`ProfileSource`] implementations.
#[cfg(feature = "testing")]
pub mod testing {
    use std::collections::BTreeSet;

    use super::*;
    use crate::profile::{Event, Value};

    /// The profiles the suite stores in the source under test: 23 profiles with attributes and events.
    pub fn fixture() -> Vec<Profile> {
        let base: Timestamp = "2026-05-01T00:00:00Z".parse().unwrap_or(Timestamp::UNIX_EPOCH);
        (0..23)
            .map(|i| {
                let mut p = Profile::new(format!("U{i:032x}"))
                    .with_attr("rank", Value::Str(if i % 3 == 0 { "gold" } else { "silver" }.into()))
                    .with_attr("points", Value::Num(f64::from(i * 10)));
                for k in 0..(i % 4) {
                    let at = base
                        .checked_sub(jiff::SignedDuration::from_hours(i64::from(24 * (k + 1))))
                        .unwrap_or(base);
                    p = p.with_event(Event::new("purchase", at).with("amount", Value::Num(1000.0)));
                }
                p
            })
            .collect()
    }

    /// Runs the suite. `build` makes a source holding exactly the given profiles. Panics (as a
    /// test does) on the first violation, with a message saying which rule broke.
    pub async fn conformance<S: ProfileSource>(build: impl FnOnce(Vec<Profile>) -> S) {
        let profiles = fixture();
        let source = build(profiles.clone());
        let seg = crate::text::parse(r#"rank = "gold" and count(purchase, 30d) >= 1"#).expect("fixture segment parses");
        let compiled = CompiledSegment::compile(&seg).expect("fixture segment compiles");
        let now: Timestamp = "2026-05-01T00:00:00Z".parse().unwrap_or(Timestamp::UNIX_EPOCH);
        for page_size in [1usize, 5, 23, 100] {
            let request = FetchRequest {
                needs: compiled.needs().clone(),
                now,
                page_size,
            };
            let mut seen = BTreeSet::new();
            let mut cursor = None;
            let mut pages = 0;
            loop {
                let page = source.page(&request, cursor).await.expect("page() succeeds");
                pages += 1;
                assert!(
                    pages <= profiles.len() + 1,
                    "the scan does not terminate (page size {page_size})"
                );
                assert!(
                    page.profiles.len() <= page_size,
                    "a page holds {} profiles, more than the page size {page_size}",
                    page.profiles.len()
                );
                for p in &page.profiles {
                    assert!(
                        seen.insert(p.id.clone()),
                        "profile {} returned twice (page size {page_size})",
                        p.id
                    );
                    let original = profiles
                        .iter()
                        .find(|o| o.id == p.id)
                        .expect("only stored profiles are returned");
                    for a in &request.needs.attributes {
                        assert_eq!(
                            p.attributes.get(a),
                            original.attributes.get(a),
                            "attribute `{a}` of {} differs",
                            p.id
                        );
                    }
                    let want = original.events.iter().filter(|e| &*e.name == "purchase").count();
                    let got = p.events.iter().filter(|e| &*e.name == "purchase").count();
                    assert_eq!(got, want, "events needed by the segment are missing for {}", p.id);
                }
                match page.next {
                    Some(n) => cursor = Some(n),
                    None => break,
                }
            }
            assert_eq!(
                seen.len(),
                profiles.len(),
                "a full scan must return every profile (page size {page_size})"
            );
        }
        let ids = evaluate_source(&compiled, &source, now, 7)
            .await
            .expect("batch evaluation succeeds");
        let eval = compiled.at(now);
        let expected: Vec<UserId> = profiles
            .iter()
            .filter(|p| eval.matches(*p))
            .map(|p| p.id.clone())
            .collect();
        let (mut a, mut b) = (ids.clone(), expected.clone());
        a.sort();
        b.sort();
        assert_eq!(
            a, b,
            "batch evaluation over the source disagrees with evaluating the profiles directly"
        );
        assert!(!expected.is_empty(), "the fixture selects someone");
    }
}
