//! Batch evaluation over a host profile source.
//!
//! A [`ProfileSource`] pages through profiles. The [`FetchRequest`] says which attributes, LINE facts
//! and event windows the segment reads, so a database-backed source can fetch only those.

use std::collections::HashSet;
use std::ops::Range;
use std::sync::Arc;

use async_trait::async_trait;
use jiff::Timestamp;
use line_core::ids::UserId;

use crate::ast::LineFact;
use crate::error::Result;
use crate::eval::{CompiledSegment, Evaluator, Hits, Needs};
use crate::profile::{str_eq, Attributes, Event, LineFacts, Profile, ProfileView, Value, ValueRef};

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
/// attributes and events in the request. `testing::profile_source_conformance` (feature `testing`) checks this.
#[async_trait]
pub trait ProfileSource: Send + Sync {
    /// Fetches the page after `cursor` (the first page when `None`).
    async fn page(&self, request: &FetchRequest, cursor: Option<String>) -> Result<ProfilePage>;

    /// Evaluates a segment over every profile in place, for a source that holds its profiles in
    /// memory: the IDs of the members, in the order of a full scan. The default, `None`, makes
    /// [`evaluate_source`] page through the source instead.
    fn evaluate_in_place(&self, eval: &Evaluator<'_>) -> Option<Vec<UserId>> {
        let _ = eval;
        None
    }
}

/// Profiles held in memory, packed for scanning.
///
/// [`InMemorySource::new`] copies the profiles into three arrays: the profiles, the attributes of
/// all profiles, and the events of all profiles, with attribute, event and property names interned
/// (one allocation per distinct name). A batch evaluation then reads memory mostly in order, and
/// a test of attributes reads no events. Pages are rebuilt as owned profiles.
#[derive(Debug, Clone, Default)]
pub struct InMemorySource {
    store: Arc<Store>,
}

#[derive(Debug, Default)]
struct Store {
    profiles: Vec<Packed>,
    /// The attributes of every profile, profile after profile.
    attrs: Vec<(Arc<str>, Value)>,
    /// The events of every profile, profile after profile.
    events: Vec<Event>,
}

/// One profile of a [`Store`]: its attributes and events are ranges of the store's arrays.
#[derive(Debug)]
struct Packed {
    id: UserId,
    line: LineFacts,
    history_start: Option<Timestamp>,
    attrs: Range<usize>,
    events: Range<usize>,
}

/// Interns names: equal names share one allocation. The last few names seen are recognized by
/// address first, since consecutive events mostly share their names already.
#[derive(Default)]
struct Names {
    set: HashSet<Arc<str>>,
    recent: [Option<(*const u8, Arc<str>)>; 4],
    next: usize,
}

impl Names {
    fn get(&mut self, name: &Arc<str>) -> Arc<str> {
        let at = Arc::as_ptr(name).cast::<u8>();
        if let Some((_, interned)) = self.recent.iter().flatten().find(|(p, _)| *p == at) {
            return interned.clone();
        }
        let interned = match self.set.get(&**name) {
            Some(x) => x.clone(),
            None => {
                self.set.insert(name.clone());
                name.clone()
            }
        };
        // `name` is kept alive by the profiles being packed, so its address is not reused.
        self.recent[self.next % 4] = Some((at, interned.clone()));
        self.next += 1;
        interned
    }
}

impl Store {
    fn profile(&self, p: &Packed) -> Profile {
        Profile {
            id: p.id.clone(),
            attributes: Attributes::from_entries(self.attrs.get(p.attrs.clone()).unwrap_or_default().to_vec()),
            line: p.line.clone(),
            events: self.events.get(p.events.clone()).unwrap_or_default().to_vec(),
            history_start: p.history_start,
        }
    }
}

/// A packed profile, as the evaluator reads it.
struct PackedView<'a> {
    store: &'a Store,
    p: &'a Packed,
}

impl ProfileView for PackedView<'_> {
    #[inline(always)]
    fn attr(&self, _slot: usize, name: &str) -> Option<ValueRef<'_>> {
        for (k, v) in self.store.attrs.get(self.p.attrs.clone())? {
            if str_eq(k, name) {
                return Some(v.as_ref());
            }
        }
        None
    }
    #[inline(always)]
    fn line_fact(&self, fact: LineFact) -> Option<ValueRef<'_>> {
        self.p.line.get(fact)
    }
    #[inline(always)]
    fn events(&self) -> &[Event] {
        self.store.events.get(self.p.events.clone()).unwrap_or_default()
    }
    #[inline(always)]
    fn history_start(&self) -> Option<Timestamp> {
        self.p.history_start
    }
}

impl InMemorySource {
    /// A source over these profiles (copied into the packed arrays; see the type's docs).
    pub fn new(profiles: Vec<Profile>) -> Self {
        let mut names = Names::default();
        // All attributes first, then all events, each copied in order, so that each array and
        // the values it points to are laid out in scan order.
        let mut attrs = Vec::with_capacity(profiles.iter().map(|p| p.attributes.len()).sum());
        let mut attr_ranges = Vec::with_capacity(profiles.len());
        for p in &profiles {
            let start = attrs.len();
            for (k, v) in p.attributes.entries() {
                attrs.push((names.get(k), v.clone()));
            }
            attr_ranges.push(start..attrs.len());
        }
        let mut events = Vec::with_capacity(profiles.iter().map(|p| p.events.len()).sum());
        let mut event_ranges = Vec::with_capacity(profiles.len());
        for p in &profiles {
            let start = events.len();
            for e in &p.events {
                events.push(Event {
                    name: names.get(&e.name),
                    at: e.at,
                    props: e.props.iter().map(|(k, v)| (names.get(k), v.clone())).collect(),
                });
            }
            event_ranges.push(start..events.len());
        }
        let profiles = profiles
            .into_iter()
            .zip(attr_ranges)
            .zip(event_ranges)
            .map(|((p, attrs), events)| Packed {
                id: p.id,
                line: p.line,
                history_start: p.history_start,
                attrs,
                events,
            })
            .collect();
        Self {
            store: Arc::new(Store {
                profiles,
                attrs,
                events,
            }),
        }
    }

    /// The number of profiles.
    pub fn len(&self) -> usize {
        self.store.profiles.len()
    }

    /// Whether there are no profiles.
    pub fn is_empty(&self) -> bool {
        self.store.profiles.is_empty()
    }

    /// Copies of the profiles, in order.
    pub fn profiles(&self) -> Vec<Profile> {
        self.store.profiles.iter().map(|p| self.store.profile(p)).collect()
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
        let store = &self.store;
        let size = request.page_size.max(1);
        let end = start.saturating_add(size).min(store.profiles.len());
        let profiles = store
            .profiles
            .get(start..end)
            .unwrap_or_default()
            .iter()
            .map(|p| Arc::new(store.profile(p)))
            .collect();
        Ok(ProfilePage {
            profiles,
            next: (end < store.profiles.len()).then(|| end.to_string()),
        })
    }

    fn evaluate_in_place(&self, eval: &Evaluator<'_>) -> Option<Vec<UserId>> {
        let store = &*self.store;
        // The store stays borrowed for the whole loop, as `Hits` requires.
        let mut hits = Hits::default();
        let mut out = Vec::new();
        for p in &store.profiles {
            if eval.matches_in(&PackedView { store, p }, &mut hits) {
                out.push(p.id.clone());
            }
        }
        Some(out)
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
    if let Some(ids) = source.evaluate_in_place(&eval) {
        return Ok(ids);
    }
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = source.page(&request, cursor).await?;
        // The page stays borrowed for the whole loop, as `Hits` requires.
        let mut hits = Hits::default();
        for p in &page.profiles {
            let p: &Profile = p;
            if eval.matches_in(p, &mut hits) {
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

    use std::sync::Arc;

    use line_core::testing::TestClock;

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

    /// Runs the suite on `source`, which must hold exactly the profiles of [`fixture`] (the trait
    /// has no writes, so the caller stores them). Panics (as a test does) on the first violation,
    /// with a message saying which rule broke. It has the shape of every host trait's suite; the
    /// clock is unused, as the suite passes a fixed instant to each call.
    pub async fn profile_source_conformance(source: Arc<dyn ProfileSource>, _clock: &dyn TestClock) {
        let profiles = fixture();
        let source = &*source;
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
        let ids = evaluate_source(&compiled, source, now, 7)
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
        if let Some(in_place) = source.evaluate_in_place(&eval) {
            let request = FetchRequest {
                needs: compiled.needs().clone(),
                now,
                page_size: 5,
            };
            let mut scanned = Vec::new();
            let mut cursor = None;
            loop {
                let page = source.page(&request, cursor).await.expect("page() succeeds");
                scanned.extend(
                    page.profiles
                        .iter()
                        .filter(|p| eval.matches(&***p))
                        .map(|p| p.id.clone()),
                );
                match page.next {
                    Some(n) => cursor = Some(n),
                    None => break,
                }
            }
            assert_eq!(
                in_place, scanned,
                "evaluate_in_place() disagrees with evaluating a full scan, in its order"
            );
        }
    }
}
