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
            stable_hash(comp, key.as_bytes())
        } else {
            stable_hash(comp, &[])
        }
    }
}

/// A hash with no seed, so that every process of a cluster and every shard of a run agree
/// (checkpoints are re-partitioned when read, so it need not stay the same across
/// versions): eight bytes at a time, then murmur3's finaliser, whose low bits (the
/// partition is the hash modulo a small count) depend on every input bit.
fn stable_hash(comp: u32, key: &[u8]) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let mix = |h: u64, w: u64| (h ^ w).wrapping_mul(K).rotate_left(31);
    let mut h = mix(u64::from(comp), (key.len() as u64) << 32 | 1);
    let mut words = key.chunks_exact(8);
    for w in &mut words {
        let mut b = [0u8; 8];
        b.copy_from_slice(w);
        h = mix(h, u64::from_le_bytes(b));
    }
    let rest = words.remainder();
    if !rest.is_empty() {
        let mut b = [0u8; 8];
        b[..rest.len()].copy_from_slice(rest);
        h = mix(h, u64::from_le_bytes(b));
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

#[cfg(test)]
mod tests {
    use super::stable_hash;

    #[test]
    fn the_routing_hash_spreads_similar_keys_evenly() {
        // Group keys differ in a digit or two: each of 2, 3 and 5 partitions gets its share.
        for parts in [2u64, 3, 5] {
            let mut counts = vec![0u32; parts as usize];
            for i in 0..30_000 {
                let key = format!("user{i}\u{0}WS{:04}", i % 500);
                counts[(stable_hash(3, key.as_bytes()) % parts) as usize] += 1;
            }
            let even = 30_000 / parts as u32;
            for c in counts {
                assert!(c.abs_diff(even) < even / 20, "{parts} partitions: {c} of {even}");
            }
        }
    }

    #[test]
    fn the_routing_hash_tells_lengths_and_components_apart() {
        assert_ne!(stable_hash(0, b"a"), stable_hash(0, b"a\0"));
        assert_ne!(stable_hash(0, b""), stable_hash(0, b"\0"));
        assert_ne!(stable_hash(0, b"k"), stable_hash(1, b"k"));
        assert_eq!(stable_hash(7, b"same key"), stable_hash(7, b"same key"));
    }
}
