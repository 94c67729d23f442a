//! The rule index of one group of rules (deny, allow, observe, or the claims of allow rules).
//!
//! Every rule is posted once: under the keys of the one [`Choice`] that selects it best, or on
//! the residual list when it has none (or cannot be looked up: an index never drops a rule).
//! Lookups yield every rule that may match a request, possibly more than once when an attribute
//! has several values (claims, audiences); the engine evaluates each candidate. Soundness
//! (never missing a rule that matches) rests on what [`keys`] claims of a choice, and is
//! checked against the reference evaluator by the equivalence property test.
//!
//! A lookup costs one probe per dimension in use: a hash lookup for exact strings, a walk of
//! the value's bytes for glob prefixes and suffixes, one hash lookup per prefix length in use
//! for CIDRs and ports. It does not depend on the number of rules.

use hashbrown::HashMap;
use ipnet::IpNet;

use super::affix::{Affix, AffixBuilder};
use super::bits::{self, BitPrefixes, BitPrefixesBuilder};
use super::keys::{self, Affix as Side, Choice, Dim, Keys, Purpose};
use super::strmap::StrMap;
use crate::attr::Attr;
use crate::eval::Env;
use crate::model::Rule;

/// A string dimension: exact values, glob prefixes and glob suffixes.
struct StrDim {
    attr: Attr,
    exact: StrMap,
    prefixes: Affix,
    suffixes: Affix,
    /// Every rule posted here, for requests without the attribute when the caller says so.
    all: Box<[u32]>,
}

/// An address dimension.
struct IpDim {
    attr: Attr,
    v4: BitPrefixes,
    v6: BitPrefixes,
}

/// The index of one group.
pub struct Index {
    strs: Box<[StrDim]>,
    ips: Box<[IpDim]>,
    ports: Option<BitPrefixes>,
    residual: Box<[u32]>,
    stats: IndexStats,
}

/// How the rules of a group were posted, for diagnostics and benchmarks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct IndexStats {
    /// Rules in the group.
    pub rules: usize,
    /// Rules evaluated for every request (no choice could key them).
    pub residual: usize,
    /// Rules posted per dimension and kind of key (`request.path prefix`, `source.ip cidr`,
    /// …), in name order.
    pub by_dimension: Vec<(String, usize)>,
}

/// A key, borrowed from a choice, for counting how many rules offer it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum KeyRef<'a> {
    Exact(&'a Dim, &'a str),
    Affix(&'a Dim, Side, &'a str),
    Net(&'a Dim, IpNet),
    Port(u16, u8),
}

/// Every key of a choice, with its intrinsic breadth: how much of the value space it covers
/// beyond its own value (0 for an exact value; a literal halves it per byte or bit).
fn each_key<'a>(c: &'a Choice, mut f: impl FnMut(KeyRef<'a>, u32)) {
    match &c.keys {
        Keys::Str {
            exact,
            side,
            affixes,
        } => {
            exact.iter().for_each(|k| f(KeyRef::Exact(&c.dim, k), 32));
            affixes.iter().for_each(|k| {
                f(
                    KeyRef::Affix(&c.dim, *side, k),
                    u32::try_from(k.len()).unwrap_or(32),
                )
            });
        }
        Keys::Nets(nets) => nets
            .iter()
            .for_each(|n| f(KeyRef::Net(&c.dim, *n), u32::from(n.prefix_len()))),
        Keys::Ports(ranges) => ranges.iter().for_each(|&(lo, hi)| {
            bits::port_blocks(lo, hi)
                .into_iter()
                .for_each(|(start, len)| f(KeyRef::Port(start, len), u32::from(len)))
        }),
    }
}

/// Builders of the dimensions, while posting.
#[derive(Default)]
struct Builders {
    strs: HashMap<Attr, StrBuilder>,
    ips: HashMap<Attr, (BitPrefixesBuilder, BitPrefixesBuilder)>,
    ports: Option<BitPrefixesBuilder>,
    counts: HashMap<String, usize>,
}

#[derive(Default)]
struct StrBuilder {
    exact: HashMap<Box<str>, Vec<u32>>,
    prefixes: AffixBuilder,
    suffixes: AffixBuilder,
    all: Vec<u32>,
}

impl Builders {
    /// Posts `id` under `choice`; false when the choice's dimension and keys do not fit.
    fn post(&mut self, id: u32, choice: &Choice) -> bool {
        let kind = match (&choice.dim, &choice.keys) {
            (
                Dim::Str(attr),
                Keys::Str {
                    exact,
                    side,
                    affixes,
                },
            ) => {
                let b = self.strs.entry(attr.clone()).or_default();
                for k in exact {
                    let list = b.exact.entry(k.clone()).or_default();
                    if list.last() != Some(&id) {
                        list.push(id);
                    }
                }
                for k in affixes {
                    match side {
                        Side::Prefix => b.prefixes.push(k.as_bytes(), id),
                        Side::Suffix => {
                            let reversed: Vec<u8> = k.bytes().rev().collect();
                            b.suffixes.push(&reversed, id);
                        }
                    }
                }
                b.all.push(id);
                match (affixes.is_empty(), side) {
                    (true, _) => "exact",
                    (false, Side::Prefix) => "prefix",
                    (false, Side::Suffix) => "suffix",
                }
            }
            (Dim::Ip(attr), Keys::Nets(nets)) => {
                let (v4, v6) = self
                    .ips
                    .entry(attr.clone())
                    .or_insert_with(|| (BitPrefixesBuilder::new(32), BitPrefixesBuilder::new(128)));
                for n in nets {
                    let (is_v4, bits, len) = bits::net_bits(n);
                    if is_v4 { &mut *v4 } else { &mut *v6 }.push(bits, len, id);
                }
                "cidr"
            }
            (Dim::Port, Keys::Ports(ranges)) => {
                let b = self
                    .ports
                    .get_or_insert_with(|| BitPrefixesBuilder::new(16));
                for &(lo, hi) in ranges {
                    for (start, len) in bits::port_blocks(lo, hi) {
                        b.push(u128::from(start), len, id);
                    }
                }
                "range"
            }
            // `keys` pairs each dimension with its kind of keys; should a bug pair them
            // otherwise, the caller keeps the rule residual (evaluated for every request).
            _ => return false,
        };
        let name = match &choice.dim {
            Dim::Str(a) | Dim::Ip(a) => format!("{a} {kind}"),
            Dim::Port => format!("{} {kind}", Attr::DestPort),
        };
        let n = self.counts.entry(name).or_default();
        *n = n.saturating_add(1);
        true
    }
}

impl Index {
    /// Indexes the rules of `all` whose positions are `members`, keyed for `purpose`.
    pub fn build(all: &[Rule], members: &[u32], purpose: Purpose) -> Index {
        let choices: Vec<Option<Vec<Choice>>> = members
            .iter()
            .map(|&id| all.get(id as usize).map(|r| keys::choices(r, purpose)))
            .collect();
        // A key offered by many rules makes a long posting list; a short literal (or a wide
        // network) is reached by many requests. A rule takes the choice whose keys cost least.
        let mut counts: HashMap<KeyRef<'_>, u64> = HashMap::new();
        for c in choices.iter().flatten().flatten() {
            each_key(c, |k, _| {
                let n = counts.entry(k).or_default();
                *n = n.saturating_add(1);
            });
        }
        let n = members.len() as u64;
        let cost = |c: &Choice| -> u64 {
            let mut total = 0u64;
            each_key(c, |k, literal| {
                let shared = counts.get(&k).copied().unwrap_or(1);
                let breadth = n.checked_shr(literal.min(63)).unwrap_or(0);
                total = total.saturating_add(shared).saturating_add(breadth);
            });
            total
        };
        let mut builders = Builders::default();
        let mut residual = Vec::new();
        for (&id, options) in members.iter().zip(&choices) {
            let best = options
                .as_ref()
                .and_then(|opts| opts.iter().min_by_key(|c| cost(c)));
            match best {
                // Posting under the empty prefix would find the rule for every request: the
                // residual list says so more plainly.
                Some(c) if !is_everything(c) && builders.post(id, c) => {}
                _ => residual.push(id),
            }
        }
        let mut by_dimension: Vec<(String, usize)> = builders.counts.into_iter().collect();
        by_dimension.sort();
        let stats = IndexStats {
            rules: members.len(),
            residual: residual.len(),
            by_dimension,
        };
        let mut strs: Vec<StrDim> = builders
            .strs
            .into_iter()
            .map(|(attr, b)| {
                let fold = attr.case_insensitive();
                StrDim {
                    exact: StrMap::new(b.exact, fold),
                    prefixes: b.prefixes.build(fold),
                    suffixes: b.suffixes.build(fold),
                    all: b.all.into_boxed_slice(),
                    attr,
                }
            })
            .collect();
        strs.sort_by(|a, b| a.attr.cmp(&b.attr));
        let mut ips: Vec<IpDim> = builders
            .ips
            .into_iter()
            .map(|(attr, (v4, v6))| IpDim {
                attr,
                v4: v4.build(),
                v6: v6.build(),
            })
            .collect();
        ips.sort_by(|a, b| a.attr.cmp(&b.attr));
        Index {
            strs: strs.into_boxed_slice(),
            ips: ips.into_boxed_slice(),
            ports: builders.ports.map(BitPrefixesBuilder::build),
            residual: residual.into_boxed_slice(),
            stats,
        }
    }

    /// Calls `f` with the id of every rule that may match the request, at least once each, in
    /// no particular order. `absent(attr)` says whether a request without a string attribute
    /// should meet every rule posted under it (for claims, whose selections are unknown, not
    /// false, without it).
    pub fn candidates(
        &self,
        env: &Env<'_, '_>,
        absent: impl Fn(&Attr) -> bool,
        mut f: impl FnMut(u32),
    ) {
        let mut each = |ids: &[u32]| ids.iter().for_each(|&id| f(id));
        for d in self.strs.iter() {
            let mut present = false;
            env.each_str(&d.attr, |value| {
                present = true;
                each(d.exact.get(value));
                if !d.prefixes.is_empty() {
                    d.prefixes.walk(value.bytes(), &mut each);
                }
                if !d.suffixes.is_empty() {
                    d.suffixes.walk(value.bytes().rev(), &mut each);
                }
            });
            if !present && absent(&d.attr) {
                each(&d.all);
            }
        }
        for d in self.ips.iter() {
            if let Some(ip) = env.ip_attr(&d.attr) {
                match bits::ip_bits(ip) {
                    (true, b) => d.v4.probe(b, &mut each),
                    (false, b) => d.v6.probe(b, &mut each),
                }
            }
        }
        if let (Some(ports), Some(port)) = (&self.ports, env.request().destination.port) {
            ports.probe(u128::from(port), &mut each);
        }
        each(&self.residual);
    }

    /// How the rules were posted.
    pub fn stats(&self) -> IndexStats {
        self.stats.clone()
    }
}

/// Whether a choice's keys admit every value (an empty prefix or suffix, `/0`, every port).
fn is_everything(c: &Choice) -> bool {
    match &c.keys {
        Keys::Str { affixes, .. } => affixes.iter().any(|a| a.is_empty()),
        Keys::Nets(nets) => nets.iter().any(|n| n.prefix_len() == 0),
        Keys::Ports(ranges) => ranges.iter().any(|&(lo, hi)| lo == 0 && hi == u16::MAX),
    }
}
