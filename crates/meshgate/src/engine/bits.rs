//! Bit-prefix maps: every stored prefix of a fixed-width number that a probe starts with.
//!
//! CIDRs are prefixes of an address's bits (`10.1.2.0/24` is the first 24 bits of 10.1.2.x),
//! and a port range is a union of aligned blocks, each a prefix of the port's 16 bits
//! (`8000..8099` is 8000-8063, 8064-8095 and 8096-8099). One map per prefix length keyed by the
//! prefix's bits finds every posting a probe lies in with one hash lookup per distinct length
//! in use: a handful in real policies, at most the width plus one.

use hashbrown::HashMap;
use ipnet::IpNet;

/// Prefixes of `width`-bit numbers (at most 128), each with its posting list.
#[derive(Debug)]
pub struct BitPrefixes {
    width: u8,
    /// The prefix lengths in use, each once.
    lens: Box<[u8]>,
    map: HashMap<(u8, u128), Box<[u32]>>,
}

/// Collects prefixes, then freezes them into [`BitPrefixes`].
pub struct BitPrefixesBuilder {
    width: u8,
    map: HashMap<(u8, u128), Vec<u32>>,
}

/// The first `len` of the `width` low bits of `bits`, as a number.
fn prefix(bits: u128, len: u8, width: u8) -> u128 {
    match width.checked_sub(len) {
        Some(shift) if shift < 128 => bits >> shift,
        _ => 0,
    }
}

impl BitPrefixesBuilder {
    /// A builder for `width`-bit numbers (32 for IPv4, 128 for IPv6, 16 for ports).
    pub fn new(width: u8) -> Self {
        BitPrefixesBuilder {
            width: width.min(128),
            map: HashMap::new(),
        }
    }

    /// Posts `id` under the first `len` bits of `bits`.
    pub fn push(&mut self, bits: u128, len: u8, id: u32) {
        let len = len.min(self.width);
        let list = self
            .map
            .entry((len, prefix(bits, len, self.width)))
            .or_default();
        if list.last() != Some(&id) {
            list.push(id);
        }
    }

    /// Freezes the map.
    pub fn build(self) -> BitPrefixes {
        let mut lens: Vec<u8> = self.map.keys().map(|&(len, _)| len).collect();
        lens.sort_unstable();
        lens.dedup();
        BitPrefixes {
            width: self.width,
            lens: lens.into_boxed_slice(),
            map: self
                .map
                .into_iter()
                .map(|(k, v)| (k, v.into_boxed_slice()))
                .collect(),
        }
    }
}

impl BitPrefixes {
    /// Calls `f` with the posting list of every stored prefix of `bits`.
    pub fn probe(&self, bits: u128, mut f: impl FnMut(&[u32])) {
        for &len in &self.lens {
            if let Some(ids) = self.map.get(&(len, prefix(bits, len, self.width))) {
                f(ids);
            }
        }
    }
}

/// An address as the bits a [`BitPrefixes`] of its family is keyed by.
pub fn ip_bits(ip: std::net::IpAddr) -> (bool, u128) {
    match ip {
        std::net::IpAddr::V4(a) => (true, u128::from(u32::from(a))),
        std::net::IpAddr::V6(a) => (false, u128::from(a)),
    }
}

/// A network's family, bits and prefix length.
pub fn net_bits(net: &IpNet) -> (bool, u128, u8) {
    let (v4, bits) = ip_bits(net.network());
    (v4, bits, net.prefix_len())
}

/// The aligned blocks `(start, prefix length)` of 16-bit numbers whose union is `lo..=hi`.
pub fn port_blocks(lo: u16, hi: u16) -> Vec<(u16, u8)> {
    let mut out = Vec::new();
    let (mut lo, hi) = (u32::from(lo), u32::from(hi));
    while lo <= hi {
        // The largest block starting at `lo` that is aligned and fits.
        let mut size: u32 = if lo == 0 {
            1 << 16
        } else {
            1 << lo.trailing_zeros().min(16)
        };
        while lo.saturating_add(size).saturating_sub(1) > hi {
            size >>= 1;
        }
        let len = 16u8.saturating_sub(u8::try_from(size.trailing_zeros()).unwrap_or(16));
        out.push((u16::try_from(lo).unwrap_or(u16::MAX), len));
        lo = lo.saturating_add(size);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_enclosing_network() {
        let mut b = BitPrefixesBuilder::new(32);
        for (i, net) in [
            "10.0.0.0/8",
            "10.1.0.0/16",
            "10.1.2.0/24",
            "10.2.0.0/16",
            "0.0.0.0/0",
        ]
        .iter()
        .enumerate()
        {
            let net: IpNet = net.parse().unwrap();
            let (_, bits, len) = net_bits(&net);
            b.push(bits, len, i as u32);
        }
        let m = b.build();
        let mut found = Vec::new();
        let (_, bits) = ip_bits("10.1.2.3".parse().unwrap());
        m.probe(bits, |ids| found.extend_from_slice(ids));
        found.sort_unstable();
        assert_eq!(found, [0, 1, 2, 4]);
    }

    proptest::proptest! {
        /// The blocks of a range cover exactly the range.
        #[test]
        fn port_blocks_cover_the_range(a in 0u16.., b in 0u16.., probe in 0u16..) {
            let (lo, hi) = (a.min(b), a.max(b));
            let blocks = port_blocks(lo, hi);
            let hits = blocks
                .iter()
                .filter(|&&(start, len)| prefix(u128::from(probe), len, 16) == prefix(u128::from(start), len, 16))
                .count();
            proptest::prop_assert_eq!(hits, usize::from(lo <= probe && probe <= hi));
            proptest::prop_assert!(blocks.len() <= 32);
        }
    }
}
