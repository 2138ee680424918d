//! The host's profiles: what conditions read and what acts change, and the rich-menu switch.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use line_core::ids::UserId;
use line_segments::profile::{Event, Profile, Value};

use crate::error::Result;
use crate::packed::{pack, Fast};

/// The set attribute that [`crate::model::Act::AddTag`] and `RemoveTag` change.
pub const TAGS: &str = "tags";

/// Profiles as the host keeps them. Object-safe; use as `Arc<dyn ProfileStore>`.
#[async_trait::async_trait]
pub trait ProfileStore: Send + Sync {
    /// The user's profile, `None` for a user the host does not know.
    async fn profile(&self, user: &UserId) -> Result<Option<Arc<Profile>>>;
    /// Profiles in ascending id order after `after` (all when `None`), at most `limit`: for calendar
    /// triggers.
    async fn page(&self, after: Option<&UserId>, limit: usize) -> Result<Vec<Arc<Profile>>>;
    /// Records a host event in the user's history (the engine calls it for every host event it is
    /// given, before it evaluates anything). A host that stores events itself may do nothing.
    async fn record_event(&self, user: &UserId, event: &Event) -> Result<()>;
    /// Adds `tag` to the user's [`TAGS`] set.
    async fn add_tag(&self, user: &UserId, tag: &str) -> Result<()>;
    /// Removes `tag` from the user's [`TAGS`] set.
    async fn remove_tag(&self, user: &UserId, tag: &str) -> Result<()>;
    /// Sets an attribute.
    async fn set_attribute(&self, user: &UserId, name: &str, value: Value) -> Result<()>;
    /// Removes an attribute.
    async fn remove_attribute(&self, user: &UserId, name: &str) -> Result<()>;
}

/// Links users to rich menus, for [`crate::model::Act::RichMenu`].
#[async_trait::async_trait]
pub trait RichMenuSwitcher: Send + Sync {
    /// Links `user` to `menu` (a rich-menu id or whatever the host maps names to).
    async fn link(&self, user: &UserId, menu: &str) -> Result<()>;
}

/// A [`ProfileStore`] in memory. Acts on an unknown user create an empty profile for them.
///
/// Profiles are found by a hash of the user id (one probe per lookup; a LINE user id is keyed by
/// its 16 bytes, as in [`crate::memory`]); an ordered set of the ids serves [`ProfileStore::page`].
#[derive(Debug, Default)]
pub struct InMemoryProfiles {
    inner: Mutex<Profiles>,
}

/// The profiles by id, and their ids in order.
#[derive(Debug, Default)]
struct Profiles {
    /// Profiles of LINE user ids (`U` and 32 lowercase hex digits), by the id's bytes.
    packed: HashMap<[u8; 16], Arc<Profile>, Fast>,
    /// Profiles of ids in any other form (the standard keyed hash: crafted ids cannot degrade it).
    other: HashMap<UserId, Arc<Profile>>,
    order: BTreeSet<UserId>,
}

impl Profiles {
    fn get(&self, user: &UserId) -> Option<&Arc<Profile>> {
        match pack(user.as_str()) {
            Some(p) => self.packed.get(&p),
            None => self.other.get(user),
        }
    }

    fn insert(&mut self, profile: Profile) {
        let id = profile.id.clone();
        let before = match pack(id.as_str()) {
            Some(p) => self.packed.insert(p, Arc::new(profile)),
            None => self.other.insert(id.clone(), Arc::new(profile)),
        };
        if before.is_none() {
            self.order.insert(id);
        }
    }

    /// The user's profile, made empty if there is none.
    fn entry(&mut self, user: &UserId) -> &mut Arc<Profile> {
        use std::collections::hash_map::Entry;
        let empty = || Arc::new(Profile::new(user.clone()));
        match pack(user.as_str()) {
            Some(p) => match self.packed.entry(p) {
                Entry::Occupied(e) => e.into_mut(),
                Entry::Vacant(v) => {
                    self.order.insert(user.clone());
                    v.insert(empty())
                }
            },
            None => match self.other.entry(user.clone()) {
                Entry::Occupied(e) => e.into_mut(),
                Entry::Vacant(v) => {
                    self.order.insert(user.clone());
                    v.insert(empty())
                }
            },
        }
    }

    fn len(&self) -> usize {
        self.packed.len() + self.other.len()
    }
}

impl InMemoryProfiles {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// A store holding these profiles.
    pub fn with_profiles(profiles: impl IntoIterator<Item = Profile>) -> Self {
        let store = Self::new();
        for p in profiles {
            store.insert(p);
        }
        store
    }

    /// Adds or replaces a profile.
    pub fn insert(&self, profile: Profile) {
        self.lock().insert(profile);
    }

    /// A copy of a profile.
    pub fn get(&self, user: &UserId) -> Option<Profile> {
        self.lock().get(user).map(|p| Profile::clone(p))
    }

    /// The number of profiles.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.lock().len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Profiles> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn update(&self, user: &UserId, f: impl FnOnce(&mut Profile)) {
        f(Arc::make_mut(self.lock().entry(user)));
    }
}

#[async_trait::async_trait]
impl ProfileStore for InMemoryProfiles {
    async fn profile(&self, user: &UserId) -> Result<Option<Arc<Profile>>> {
        Ok(self.lock().get(user).cloned())
    }

    async fn page(&self, after: Option<&UserId>, limit: usize) -> Result<Vec<Arc<Profile>>> {
        let g = self.lock();
        let ids: Box<dyn Iterator<Item = &UserId>> = match after {
            Some(a) => Box::new(
                g.order
                    .range::<UserId, _>((std::ops::Bound::Excluded(a), std::ops::Bound::Unbounded)),
            ),
            None => Box::new(g.order.iter()),
        };
        Ok(ids.take(limit).filter_map(|id| g.get(id).cloned()).collect())
    }

    async fn record_event(&self, user: &UserId, event: &Event) -> Result<()> {
        self.update(user, |p| p.events.push(event.clone()));
        Ok(())
    }

    async fn add_tag(&self, user: &UserId, tag: &str) -> Result<()> {
        self.update(user, |p| {
            let mut tags = match p.attributes.get(TAGS) {
                Some(Value::Set(s)) => s.clone(),
                _ => Vec::new(),
            };
            if !tags.iter().any(|t| t == tag) {
                tags.push(tag.to_owned());
            }
            p.attributes.insert(TAGS, Value::Set(tags));
        });
        Ok(())
    }

    async fn remove_tag(&self, user: &UserId, tag: &str) -> Result<()> {
        self.update(user, |p| {
            if let Some(Value::Set(s)) = p.attributes.get(TAGS) {
                let tags: Vec<String> = s.iter().filter(|t| *t != tag).cloned().collect();
                p.attributes.insert(TAGS, Value::Set(tags));
            }
        });
        Ok(())
    }

    async fn set_attribute(&self, user: &UserId, name: &str, value: Value) -> Result<()> {
        self.update(user, |p| p.attributes.insert(name, value));
        Ok(())
    }

    async fn remove_attribute(&self, user: &UserId, name: &str) -> Result<()> {
        self.update(user, |p| {
            p.attributes.remove(name);
        });
        Ok(())
    }
}

/// A [`RichMenuSwitcher`] that remembers the last menu of each user.
#[derive(Debug, Default)]
pub struct InMemoryRichMenus {
    links: Mutex<HashMap<UserId, String>>,
}

impl InMemoryRichMenus {
    /// No links.
    pub fn new() -> Self {
        Self::default()
    }

    /// The menu linked to `user`.
    pub fn menu_of(&self, user: &UserId) -> Option<String> {
        self.links.lock().unwrap_or_else(|e| e.into_inner()).get(user).cloned()
    }
}

#[async_trait::async_trait]
impl RichMenuSwitcher for InMemoryRichMenus {
    async fn link(&self, user: &UserId, menu: &str) -> Result<()> {
        self.links
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(user.clone(), menu.to_owned());
        Ok(())
    }
}

/// Links rich menus through LINE's API (`POST /v2/bot/user/{userId}/richmenu/{richMenuId}`).
#[cfg(feature = "client")]
#[async_trait::async_trait]
impl RichMenuSwitcher for line_core::client::Client {
    async fn link(&self, user: &UserId, menu: &str) -> Result<()> {
        self.link_rich_menu_id_to_user(user.as_str(), menu)
            .await
            .map(|_| ())
            .map_err(|e| crate::Error::store("rich menu link", &e).with_source(e))
    }
}

/// A profile value as template text: numbers without a trailing `.0`, sets joined by `, `.
pub fn value_text(v: &Value) -> String {
    match v {
        Value::Str(s) => s.clone(),
        Value::Num(n) => number_text(*n),
        Value::Bool(b) => b.to_string(),
        Value::Date(d) => d.to_string(),
        Value::Time(t) => t.to_string(),
        Value::Set(s) => s.join(", "),
    }
}

/// A number as template text (`1200`, `12.5`).
pub fn number_text(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}
