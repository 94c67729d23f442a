//! A trie over `/`-separated path segments, for path patterns.
//!
//! A pattern is posted at the node of its literal segments: an exact path at its full path, as
//! an *exact* entry, found only when the request path ends there; a glob at the segments before
//! its first `*`, as a *prefix* entry, found whenever the request path passes through. Walking
//! a request path visits one node per segment, so lookups cost the path's depth whatever the
//! number of patterns.

use hashbrown::HashMap;

#[derive(Default)]
struct Node {
    children: HashMap<Box<str>, u32>,
    prefix: Vec<u32>,
    exact: Vec<u32>,
}

/// The trie; node 0 is the root (no segment consumed).
pub struct PathTrie {
    nodes: Vec<Node>,
}

/// Where a pattern is posted.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PathKey {
    /// Literal segments from the start of the pattern.
    pub segments: Vec<Box<str>>,
    /// Whether the pattern goes on past them (a glob).
    pub prefix: bool,
}

impl PathKey {
    /// The key of a pattern.
    pub fn of(p: &crate::pattern::Pattern) -> PathKey {
        PathKey {
            segments: p.literal_prefix().map(Box::from).collect(),
            prefix: p.is_glob(),
        }
    }

    /// Whether every path this key admits is also admitted by `other` (so posting the rule
    /// under `other` alone suffices).
    fn within(&self, other: &PathKey) -> bool {
        other.prefix
            && other.segments.len() <= self.segments.len()
            && other
                .segments
                .iter()
                .zip(&self.segments)
                .all(|(a, b)| a == b)
    }
}

impl Default for PathTrie {
    fn default() -> Self {
        PathTrie {
            nodes: vec![Node::default()],
        }
    }
}

impl PathTrie {
    /// Posts `rule` under `keys`. Keys within another of the rule's keys are dropped, so that a
    /// walk finds each rule at most once.
    pub fn insert(&mut self, rule: u32, keys: &[PathKey]) {
        for (i, key) in keys.iter().enumerate() {
            let covered = keys
                .iter()
                .enumerate()
                .any(|(j, other)| j != i && key.within(other) && !(other.within(key) && j > i));
            if covered || keys.iter().take(i).any(|k| k == key) {
                continue;
            }
            let mut node = 0usize;
            for seg in &key.segments {
                let next = self.nodes.len();
                let child = match self.nodes.get_mut(node) {
                    Some(n) => *n.children.entry(seg.clone()).or_insert(next as u32),
                    None => return,
                };
                if child as usize == next {
                    self.nodes.push(Node::default());
                }
                node = child as usize;
            }
            if let Some(n) = self.nodes.get_mut(node) {
                if key.prefix {
                    n.prefix.push(rule)
                } else {
                    n.exact.push(rule)
                }
            }
        }
    }

    /// Calls `f` with every posting list that `path` reaches.
    pub fn walk(&self, path: &str, mut f: impl FnMut(&[u32])) {
        let Some(mut node) = self.nodes.first() else {
            return;
        };
        let mut segments = path.split('/');
        loop {
            if !node.prefix.is_empty() {
                f(&node.prefix);
            }
            let Some(seg) = segments.next() else {
                if !node.exact.is_empty() {
                    f(&node.exact);
                }
                return;
            };
            match node
                .children
                .get(seg)
                .and_then(|&c| self.nodes.get(c as usize))
            {
                Some(child) => node = child,
                None => return,
            }
        }
    }

    /// Whether nothing is posted.
    pub fn is_empty(&self) -> bool {
        self.nodes.len() == 1
            && self
                .nodes
                .first()
                .is_none_or(|n| n.prefix.is_empty() && n.exact.is_empty())
    }
}
