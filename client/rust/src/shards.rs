// SPDX-License-Identifier: Apache-2.0
//! SHARDS spatial sampling of cache accesses (Waldspurger et al., FAST 2015), the same as the
//! C++ client's `client/shards.h`: a key is sampled iff hash(key) mod P < R·P, so every access
//! to a sampled key is seen. The reuse distance of a sampled access is the bytes of distinct
//! sampled keys touched since the previous access to the same key, scaled by 1/R; first
//! accesses count as cold. Buckets double from 1 KiB (36 of them); the histogram is cumulative.
//! Unsampled accesses cost one hash and take no lock; sampled ones walk an LRU list bounded to
//! `MAX_TRACKED` entries under a mutex.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

pub(crate) const MODULUS: u64 = 1 << 24;
const MAX_TRACKED: usize = 8192;

/// The sampling hash shared by every knob client (FNV-1a over the key's bytes, then a
/// splitmix64 finaliser), so the same key is sampled in C++, Python, Go and Rust.
pub fn shards_hash(key: &[u8]) -> u64 {
    let mut h: u64 = 1469598103934665603;
    for &c in key {
        h ^= u64::from(c);
        h = h.wrapping_mul(1099511628211);
    }
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58476d1ce4e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d049bb133111eb);
    h ^= h >> 31;
    h
}

struct State {
    // Most recent at the front: (key hash, size). A deque keeps the walk cache-friendly; the
    // map only says whether a key is tracked.
    lru: VecDeque<(u64, u64)>,
    tracked: HashMap<u64, ()>,
    counts: Vec<u64>,
    cold: u64,
}

pub(crate) struct ShardsSampler {
    pub(crate) rate: f64,
    threshold: u64,
    pub(crate) bounds: Vec<f64>,
    state: Mutex<State>,
}

impl ShardsSampler {
    pub(crate) fn new(rate: f64) -> Self {
        let rate = if rate.is_nan() { 1.0 } else { rate.clamp(1.0 / MODULUS as f64, 1.0) };
        let bounds: Vec<f64> = (0..36).map(|i| 1024.0 * 2f64.powi(i)).collect();
        let n = bounds.len();
        ShardsSampler {
            rate,
            threshold: (rate * MODULUS as f64).round() as u64,
            bounds,
            state: Mutex::new(State {
                lru: VecDeque::new(),
                tracked: HashMap::new(),
                counts: vec![0; n],
                cold: 0,
            }),
        }
    }

    pub(crate) fn access(&self, key: &[u8], size_bytes: u64) {
        let h = shards_hash(key);
        if h % MODULUS >= self.threshold {
            return;
        }
        let mut s = match self.state.lock() {
            Ok(s) => s,
            Err(p) => p.into_inner(),
        };
        if s.tracked.contains_key(&h) {
            let mut distance = 0u64;
            let mut at = 0;
            for (i, &(k, size)) in s.lru.iter().enumerate() {
                if k == h {
                    at = i;
                    break;
                }
                distance += size;
            }
            let scaled = distance as f64 / self.rate;
            let i = self.bounds.partition_point(|&b| b < scaled).min(self.bounds.len() - 1);
            s.counts[i] += 1;
            s.lru.remove(at);
        } else {
            s.cold += 1;
            s.tracked.insert(h, ());
        }
        s.lru.push_front((h, size_bytes));
        if s.lru.len() > MAX_TRACKED {
            if let Some((k, _)) = s.lru.pop_back() {
                s.tracked.remove(&k);
            }
        }
    }

    /// (counts, cold), cumulative.
    pub(crate) fn snapshot(&self) -> (Vec<u64>, u64) {
        let s = match self.state.lock() {
            Ok(s) => s,
            Err(p) => p.into_inner(),
        };
        (s.counts.clone(), s.cold)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_matches_the_cpp_client() {
        // Values from knob::ShardsSampler::Hash (client/shards.cc).
        assert_eq!(shards_hash(b"abc"), 14975275710875166334);
        assert_eq!(shards_hash(b"key-17"), 8028618030320287292);
    }

    #[test]
    fn loop_over_ten_keys_lands_in_the_first_bucket() {
        let s = ShardsSampler::new(1.0);
        for i in 0..100u8 {
            s.access(&[b'a' + i % 10], 100);
        }
        let (counts, cold) = s.snapshot();
        // Every re-access has 9 distinct 100-byte keys in between: 900 bytes < 1 KiB.
        assert_eq!(cold, 10);
        assert_eq!(counts[0], 90);
    }

    #[test]
    fn half_rate_samples_about_half_the_keys() {
        let s = ShardsSampler::new(0.5);
        for i in 0..1000u32 {
            s.access(&i.to_le_bytes(), 1);
        }
        let (_, cold) = s.snapshot();
        assert!((400..=600).contains(&cold), "sampled {} of 1000", cold);
    }
}
