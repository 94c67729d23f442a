//! A string-keyed map that can ignore ASCII case, looked up without allocating.
//!
//! Keys of case-insensitive maps are stored lowercased; lookups hash the probe's bytes
//! lowercased on the fly, so a request's `Host: API.Example.com` finds `api.example.com`
//! without building a lowercase copy.

use std::hash::{Hash, Hasher};

use hashbrown::{Equivalent, HashMap};

/// A stored key.
#[derive(PartialEq, Eq)]
struct Key(Box<str>);

/// A lookup probe.
struct Probe<'a> {
    text: &'a str,
    fold: bool,
}

/// Hashes ASCII-lowercased bytes, eight at a time.
fn hash_folded<H: Hasher>(s: &str, state: &mut H) {
    let (chunks, rest) = s.as_bytes().as_chunks::<8>();
    for chunk in chunks {
        let mut word = [0u8; 8];
        for (w, b) in word.iter_mut().zip(chunk) {
            *w = b.to_ascii_lowercase();
        }
        state.write_u64(u64::from_le_bytes(word));
    }
    let mut tail = [0u8; 8];
    for (w, b) in tail.iter_mut().zip(rest) {
        *w = b.to_ascii_lowercase();
    }
    state.write_u64(u64::from_le_bytes(tail));
    state.write_usize(s.len());
}

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_folded(&self.0, state);
    }
}

impl Hash for Probe<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_folded(self.text, state);
    }
}

impl Equivalent<Key> for Probe<'_> {
    fn equivalent(&self, key: &Key) -> bool {
        if self.fold {
            key.0.eq_ignore_ascii_case(self.text)
        } else {
            *key.0 == *self.text
        }
    }
}

/// Map from strings to rule-id posting lists.
pub struct StrMap {
    map: HashMap<Key, Box<[u32]>>,
    fold: bool,
}

impl StrMap {
    /// Builds a map; with `fold`, keys must already be lowercase.
    pub fn new(entries: HashMap<Box<str>, Vec<u32>>, fold: bool) -> Self {
        let map = entries
            .into_iter()
            .map(|(k, v)| (Key(k), v.into_boxed_slice()))
            .collect();
        StrMap { map, fold }
    }

    /// The rules posted under `key`.
    pub fn get(&self, key: &str) -> &[u32] {
        self.map
            .get(&Probe {
                text: key,
                fold: self.fold,
            })
            .map_or(&[], |v| v)
    }
}
