//! Where a correlation group lives when correlation state is partitioned (`run --threads`
//! shards, cluster workers): correlations that feed one another (S12) stay on one
//! partition; a correlation on its own is partitioned by group.

use super::group::GroupKey;
use crate::compile::RuleSet;

/// Correlation components: correlations that feed one another (S12) must live on one
/// worker. `comps[ci]` is the smallest correlation index of `ci`'s component;
/// `alone[ci]` says whether it is the only one (then it is partitioned by group).
#[derive(Debug, Clone)]
pub struct Components {
    pub comps: Vec<u32>,
    pub alone: Vec<bool>,
}

impl Components {
    /// The components of `set`.
    pub fn of(set: &RuleSet) -> Components {
        let n = set.correlations.len();
        let mut parent: Vec<u32> = (0..n as u32).collect();
        fn root(parent: &mut [u32], mut i: u32) -> u32 {
            while parent[i as usize] != i {
                parent[i as usize] = parent[parent[i as usize] as usize];
                i = parent[i as usize];
            }
            i
        }
        for (ci, consumers) in set.wiring.by_correlation.iter().enumerate() {
            for &c in consumers {
                let (a, b) = (root(&mut parent, ci as u32), root(&mut parent, c));
                parent[a.max(b) as usize] = a.min(b);
            }
        }
        let comps: Vec<u32> = (0..n as u32).map(|i| root(&mut parent, i)).collect();
        let alone = (0..n)
            .map(|i| comps.iter().filter(|c| **c == comps[i]).count() == 1)
            .collect();
        Components { comps, alone }
    }

    #[cfg_attr(not(feature = "cluster"), allow(dead_code))]
    /// The routing hash of a group of correlation `ci`: by (correlation, group) when the
    /// correlation stands alone, by its component otherwise. The worker is the hash
    /// modulo the number of workers (timely's exchange).
    pub fn route(&self, ci: u32, key: &GroupKey) -> u64 {
        self.route_key(ci, key.as_str())
    }

    /// [`route`](Self::route) of a group key's text.
    pub fn route_key(&self, ci: u32, key: &str) -> u64 {
        let comp = self.comps[ci as usize];
        if self.alone[comp as usize] {
            fnv(&[&comp.to_le_bytes(), key.as_bytes()])
        } else {
            fnv(&[&comp.to_le_bytes()])
        }
    }
}

/// FNV-1a, 64 bits: a hash that is the same in every process and version.
fn fnv(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.iter().chain(&[0xff]) {
            h ^= *b as u64;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}
