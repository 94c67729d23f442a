//! Small string-keyed maps that can borrow: labels, headers, claims, context.
//!
//! A request holds a handful of entries per map, so a slice searched in order beats a hash
//! map, and it can be built from a `&'static` array without allocating. In JSON they are
//! objects; a key given twice is an error rather than "last one wins", because a duplicated
//! key is how a request smuggles a second value past a reviewer (the rule is
//! [`RequestBuilder`](super::RequestBuilder)'s, applied here entry by entry).

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An ordered list of `(key, value)` pairs with unique keys, borrowed or owned.
#[derive(Clone, Debug, PartialEq)]
pub struct Pairs<'a, V: Clone + 'a>(pub Cow<'a, [(Cow<'a, str>, V)]>);

impl<V: Clone> Default for Pairs<'_, V> {
    fn default() -> Self {
        Pairs(Cow::Owned(Vec::new()))
    }
}

impl<'a, V: Clone + 'a> Pairs<'a, V> {
    /// Pairs borrowed from a slice, with no allocation.
    pub const fn borrowed(pairs: &'a [(Cow<'a, str>, V)]) -> Self {
        Pairs(Cow::Borrowed(pairs))
    }

    /// The value under `key`, compared exactly.
    pub fn get(&self, key: &str) -> Option<&V> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The value under `key`, ignoring ASCII case (HTTP header names).
    pub fn get_ignore_case(&self, key: &str) -> Option<&V> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The entries in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &V)> {
        self.0.iter().map(|(k, v)| (k.as_ref(), v))
    }

    /// Adds an entry, replacing any with the same key.
    pub fn insert(&mut self, key: impl Into<Cow<'a, str>>, value: V) {
        let key = key.into();
        let entries = self.0.to_mut();
        match entries.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => entries.push((key, value)),
        }
    }
}

impl<'a, V: Clone + 'a> FromIterator<(Cow<'a, str>, V)> for Pairs<'a, V> {
    fn from_iter<T: IntoIterator<Item = (Cow<'a, str>, V)>>(iter: T) -> Self {
        let mut out = Pairs::default();
        for (k, v) in iter {
            out.insert(k, v);
        }
        out
    }
}

impl<V: Clone + Serialize> Serialize for Pairs<'_, V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0.iter() {
            map.serialize_entry(k.as_ref(), v)?;
        }
        map.end()
    }
}

impl<'de, 'a, V: Clone + Deserialize<'de> + 'a> Deserialize<'de> for Pairs<'a, V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PairsVisitor<'a, V>(PhantomData<&'a V>);
        impl<'de, 'a, V: Clone + Deserialize<'de> + 'a> Visitor<'de> for PairsVisitor<'a, V> {
            type Value = Pairs<'a, V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
                let mut entries: Vec<(Cow<'a, str>, V)> = Vec::new();
                while let Some(key) = access.next_key::<String>()? {
                    super::builder::map_key(&entries, &key).map_err(serde::de::Error::custom)?;
                    let value = access.next_value::<V>()?;
                    entries.push((Cow::Owned(key), value));
                }
                Ok(Pairs(Cow::Owned(entries)))
            }
        }
        deserializer.deserialize_map(PairsVisitor(PhantomData))
    }
}
