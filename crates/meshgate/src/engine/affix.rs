//! A radix tree of literal prefixes (or, fed reversed strings, suffixes) that finds every stored
//! key that begins a probe, in one walk.
//!
//! Globs are posted here under the literal text before their first `*` (a *prefix*) or after
//! their last one (a *suffix*): `"spiffe://cluster.local/ns/shop/sa/*"` under
//! `spiffe://cluster.local/ns/shop/sa/`, `"*.shop.example.com"` under `.shop.example.com`.
//! A string can only match a glob if it starts with the glob's prefix and ends with its suffix,
//! so the keys found for a probe name a superset of the globs it matches.
//!
//! The tree is built once from all keys and frozen into three flat arrays (nodes, label bytes,
//! posting lists), so it costs a few words per key and a walk allocates nothing. Edge labels are
//! compressed: a walk compares whole labels and branches only where keys diverge, so its cost
//! is the probe's length plus one binary search per branching node, whatever the number of keys.
//!
//! Invariant: the children of a node are contiguous in `nodes`, sorted by the first byte of
//! their label, and no two children share a first byte.

/// One node: its edge label, children and posting list, as ranges into the flat arrays.
#[derive(Clone, Copy, Debug, Default)]
struct Node {
    label_start: u32,
    label_len: u32,
    children_start: u32,
    children_len: u32,
    ids_start: u32,
    ids_len: u32,
}

/// The frozen tree. Node 0 is the root; its label is empty.
#[derive(Debug, Default)]
pub struct Affix {
    nodes: Box<[Node]>,
    labels: Box<[u8]>,
    ids: Box<[u32]>,
    /// Keys and probes compare ignoring ASCII case (keys are stored lowercase).
    fold: bool,
}

/// Collects keys, then freezes them into an [`Affix`].
#[derive(Default)]
pub struct AffixBuilder {
    entries: Vec<Entry>,
}

/// A key and the rule posted under it.
type Entry = (Box<[u8]>, u32);

impl AffixBuilder {
    /// Posts `id` under `key` (already reversed for a suffix tree, lowercased when folding).
    pub fn push(&mut self, key: &[u8], id: u32) {
        self.entries.push((key.into(), id));
    }

    /// Freezes the keys; probes compare ignoring ASCII case when `fold`.
    pub fn build(mut self, fold: bool) -> Affix {
        self.entries.sort_unstable();
        self.entries.dedup();
        let mut out = Frozen::default();
        out.nodes.push(Node::default());
        out.fill(0, &self.entries, 0);
        Affix {
            nodes: out.nodes.into_boxed_slice(),
            labels: out.labels.into_boxed_slice(),
            ids: out.ids.into_boxed_slice(),
            fold,
        }
    }
}

#[derive(Default)]
struct Frozen {
    nodes: Vec<Node>,
    labels: Vec<u8>,
    ids: Vec<u32>,
}

/// Index conversion for the flat arrays; a tree with more than `u32::MAX` entries cannot be
/// built from a policy within the limits, and saturating keeps the arithmetic total.
fn u32_of(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl Frozen {
    /// Fills node `at`, whose keys are `entries` (sorted, all sharing their first `depth`
    /// bytes, which the path to `at` spells).
    fn fill(&mut self, at: usize, entries: &[Entry], depth: usize) {
        // Keys that end here are this node's postings; being shortest they sort first.
        let here = entries.iter().take_while(|(k, _)| k.len() == depth).count();
        let ids_start = u32_of(self.ids.len());
        self.ids
            .extend(entries.iter().take(here).map(|&(_, id)| id));
        let rest = entries.get(here..).unwrap_or_default();
        // Group the rest by their byte at `depth`.
        let mut groups: Vec<&[Entry]> = Vec::new();
        let mut i = 0;
        while let Some((first, _)) = rest.get(i) {
            let b = first.get(depth);
            let len = rest
                .get(i..)
                .unwrap_or_default()
                .iter()
                .take_while(|(k, _)| k.get(depth) == b)
                .count();
            groups.push(rest.get(i..i.saturating_add(len)).unwrap_or_default());
            i = i.saturating_add(len.max(1));
        }
        let children_start = self.nodes.len();
        self.nodes
            .extend(std::iter::repeat_n(Node::default(), groups.len()));
        if let Some(node) = self.nodes.get_mut(at) {
            node.ids_start = ids_start;
            node.ids_len = u32_of(here);
            node.children_start = u32_of(children_start);
            node.children_len = u32_of(groups.len());
        }
        for (g, group) in groups.iter().enumerate() {
            // The label runs to the longest prefix the group's keys share; sorted, that is the
            // common prefix of its first and last key.
            let (Some((first, _)), Some((last, _))) = (group.first(), group.last()) else {
                continue;
            };
            let common = first
                .iter()
                .zip(last.iter())
                .skip(depth)
                .take_while(|(a, b)| a == b)
                .count();
            let label = first
                .get(depth..depth.saturating_add(common))
                .unwrap_or_default();
            let child = children_start.saturating_add(g);
            let label_start = u32_of(self.labels.len());
            self.labels.extend_from_slice(label);
            if let Some(node) = self.nodes.get_mut(child) {
                node.label_start = label_start;
                node.label_len = u32_of(label.len());
            }
            self.fill(child, group, depth.saturating_add(common));
        }
    }
}

impl Affix {
    /// Calls `f` with the posting list of every key that begins `probe` (the bytes of a string,
    /// forwards for prefixes, backwards for suffixes).
    pub fn walk(&self, mut probe: impl Iterator<Item = u8>, mut f: impl FnMut(&[u32])) {
        let Some(mut node) = self.nodes.first() else {
            return;
        };
        loop {
            let ids = self.slice_ids(node);
            if !ids.is_empty() {
                f(ids);
            }
            let Some(b) = probe.next() else {
                return;
            };
            let b = if self.fold { b.to_ascii_lowercase() } else { b };
            let Some(child) = self.child(node, b) else {
                return;
            };
            // The label's first byte matched; the rest must follow in the probe.
            let label = self.label(child);
            for &want in label.get(1..).unwrap_or_default() {
                match probe.next() {
                    Some(got)
                        if (if self.fold {
                            got.to_ascii_lowercase()
                        } else {
                            got
                        }) == want => {}
                    _ => return,
                }
            }
            node = child;
        }
    }

    /// Whether nothing is posted.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    fn slice_ids(&self, node: &Node) -> &[u32] {
        let start = node.ids_start as usize;
        self.ids
            .get(start..start.saturating_add(node.ids_len as usize))
            .unwrap_or_default()
    }

    fn label(&self, node: &Node) -> &[u8] {
        let start = node.label_start as usize;
        self.labels
            .get(start..start.saturating_add(node.label_len as usize))
            .unwrap_or_default()
    }

    /// The child of `node` whose label starts with `b`.
    fn child(&self, node: &Node, b: u8) -> Option<&Node> {
        let start = node.children_start as usize;
        let children = self
            .nodes
            .get(start..start.saturating_add(node.children_len as usize))?;
        let i = children
            .binary_search_by_key(&b, |c| self.label(c).first().copied().unwrap_or(0))
            .ok()?;
        children.get(i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(keys: &[(&str, u32)], fold: bool) -> Affix {
        let mut b = AffixBuilder::default();
        for (k, id) in keys {
            b.push(k.as_bytes(), *id);
        }
        b.build(fold)
    }

    fn found(t: &Affix, probe: &str) -> Vec<u32> {
        let mut out = Vec::new();
        t.walk(probe.bytes(), |ids| out.extend_from_slice(ids));
        out.sort_unstable();
        out
    }

    #[test]
    fn finds_every_key_that_begins_the_probe() {
        let t = tree(
            &[
                ("", 0),
                ("/a", 1),
                ("/api/", 2),
                ("/api/v1/", 3),
                ("/b", 4),
                ("/api/", 5),
            ],
            false,
        );
        assert_eq!(found(&t, "/api/v1/x"), [0, 1, 2, 3, 5]);
        assert_eq!(found(&t, "/api"), [0, 1]);
        assert_eq!(found(&t, "/b"), [0, 4]);
        assert_eq!(found(&t, ""), [0]);
        assert_eq!(found(&t, "x"), [0]);
    }

    #[test]
    fn folds_case_when_asked() {
        let t = tree(&[(".example.com", 7)], true);
        assert_eq!(found(&t, ".EXAMPLE.com.x"), [7]);
        let t = tree(&[(".example.com", 7)], false);
        assert!(found(&t, ".EXAMPLE.com").is_empty());
    }

    proptest::proptest! {
        /// The walk finds exactly the keys that are prefixes of the probe.
        #[test]
        fn agrees_with_starts_with(
            keys in proptest::collection::vec("[ab/]{0,5}", 0..20),
            probe in "[ab/]{0,8}",
        ) {
            let entries: Vec<(&str, u32)> =
                keys.iter().enumerate().map(|(i, k)| (k.as_str(), i as u32)).collect();
            let t = tree(&entries, false);
            let want: Vec<u32> = entries
                .iter()
                .filter(|(k, _)| probe.starts_with(k))
                .map(|&(_, id)| id)
                .collect();
            proptest::prop_assert_eq!(found(&t, &probe), want);
        }
    }
}
