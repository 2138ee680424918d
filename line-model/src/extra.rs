//! [`Extra`]: the properties a wire type does not know.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::LazyLock;

use serde_json::{Map, Value};

/// The properties of a JSON object that the model does not know (newer than
/// this version, or outside LINE's spec), kept as they came so they serialize
/// back.
///
/// Every wire struct has one, and it is almost always empty, so an empty one
/// costs one pointer and no allocation. It reads and writes as a
/// [`serde_json::Map`] through `Deref`/`DerefMut`; the first write allocates.
///
/// ```
/// use line_model::Extra;
/// use serde_json::json;
///
/// let mut extra = Extra::default();
/// assert!(extra.is_empty());
/// extra.insert("newField".into(), json!(1));
/// assert_eq!(extra.get("newField"), Some(&json!(1)));
/// assert_eq!(extra, Extra::from(serde_json::Map::from_iter([("newField".into(), json!(1))])));
/// ```
#[derive(Clone, Default)]
pub struct Extra(Option<Box<Map<String, Value>>>);

/// What an empty [`Extra`] reads as.
static EMPTY: LazyLock<Map<String, Value>> = LazyLock::new(Map::new);

impl Extra {
    /// An empty set of properties (no allocation).
    pub const fn new() -> Self {
        Self(None)
    }

    /// The properties as a map (empty when there are none).
    pub fn into_map(self) -> Map<String, Value> {
        self.0.map(|m| *m).unwrap_or_default()
    }

    /// Whether a property `key` is kept, without allocating.
    #[inline]
    pub(crate) fn has(&self, key: &str) -> bool {
        self.0.as_ref().is_some_and(|m| m.contains_key(key))
    }
}

impl Deref for Extra {
    type Target = Map<String, Value>;

    #[inline]
    fn deref(&self) -> &Map<String, Value> {
        match &self.0 {
            Some(m) => m,
            None => &EMPTY,
        }
    }
}

impl DerefMut for Extra {
    #[inline]
    fn deref_mut(&mut self) -> &mut Map<String, Value> {
        self.0.get_or_insert_with(Default::default)
    }
}

impl PartialEq for Extra {
    /// Equal when they hold the same properties (an empty one allocated or not).
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl PartialEq<Map<String, Value>> for Extra {
    fn eq(&self, other: &Map<String, Value>) -> bool {
        **self == *other
    }
}

impl fmt::Debug for Extra {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl serde::Serialize for Extra {
    /// As a JSON object.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (**self).serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for Extra {
    /// From a JSON object.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Map::deserialize(d).map(Self::from)
    }
}

impl From<Map<String, Value>> for Extra {
    fn from(map: Map<String, Value>) -> Self {
        if map.is_empty() {
            Self(None)
        } else {
            Self(Some(Box::new(map)))
        }
    }
}

impl From<Extra> for Map<String, Value> {
    fn from(extra: Extra) -> Self {
        extra.into_map()
    }
}

impl FromIterator<(String, Value)> for Extra {
    fn from_iter<I: IntoIterator<Item = (String, Value)>>(iter: I) -> Self {
        Map::from_iter(iter).into()
    }
}

impl<'a> IntoIterator for &'a Extra {
    type Item = (&'a String, &'a Value);
    type IntoIter = serde_json::map::Iter<'a>;

    fn into_iter(self) -> Self::IntoIter {
        (**self).iter()
    }
}

impl IntoIterator for Extra {
    type Item = (String, Value);
    type IntoIter = serde_json::map::IntoIter;

    fn into_iter(self) -> Self::IntoIter {
        self.into_map().into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_empty_extra_is_one_pointer_and_reads_as_an_empty_map() {
        assert_eq!(std::mem::size_of::<Extra>(), std::mem::size_of::<usize>());
        let e = Extra::new();
        assert!(e.is_empty());
        assert!(!e.has("a"));
        assert_eq!(e.get("a"), None);
        assert_eq!(e, Extra::from(Map::new()));
        assert_eq!(format!("{e:?}"), "{}");
    }

    #[test]
    fn writes_go_to_the_map_and_equality_is_by_content() {
        let mut e = Extra::new();
        e.insert("b".into(), json!(2));
        e.insert("a".into(), json!(null));
        assert!(e.has("a"));
        assert_eq!(e.len(), 2);
        let keys: Vec<_> = (&e).into_iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys.len(), 2);
        // Allocated then emptied equals never allocated.
        let mut emptied = e.clone();
        emptied.clear();
        assert_eq!(emptied, Extra::new());
        let map: Map<String, Value> = e.clone().into();
        assert_eq!(e, map);
        assert_eq!(Extra::from_iter(map.clone()), e);
        assert_eq!(e.clone().into_iter().count(), 2);
        // Serializes as the object it holds, and reads back the same.
        let text = serde_json::to_string(&e).unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(&text).unwrap(),
            json!({"a": null, "b": 2})
        );
        assert_eq!(serde_json::from_str::<Extra>(&text).unwrap(), e);
        assert_eq!(serde_json::to_string(&Extra::new()).unwrap(), "{}");
        assert!(serde_json::from_str::<Extra>("[]").is_err());
    }
}
