// SPDX-License-Identifier: Apache-2.0
//! A fixed-bucket latency histogram for the hot path: one relaxed atomic add per request, no
//! lock, no allocation. `drain` takes the counts since the previous drain (one report
//! interval). Samples above the last bound count in the last bucket.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub(crate) struct LatencyHistogram {
    pub(crate) bounds: Vec<f64>,
    bounds_ns: Vec<u64>,
    counts: Vec<AtomicU64>,
    sum_ns: AtomicU64,
    pub(crate) total: AtomicU64,
}

/// 50 µs doubling, 22 buckets (~105 s), as the C++ client.
pub(crate) fn default_bounds() -> Vec<f64> {
    (0..22).map(|i| 50e-6 * 2f64.powi(i)).collect()
}

impl LatencyHistogram {
    pub(crate) fn new(bounds: Vec<f64>) -> Self {
        let bounds = if bounds.is_empty() { default_bounds() } else { bounds };
        LatencyHistogram {
            bounds_ns: bounds.iter().map(|b| (b * 1e9) as u64).collect(),
            counts: bounds.iter().map(|_| AtomicU64::new(0)).collect(),
            bounds,
            sum_ns: AtomicU64::new(0),
            total: AtomicU64::new(0),
        }
    }

    pub(crate) fn record(&self, latency: Duration) {
        let ns = u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX);
        let i = self.bounds_ns.partition_point(|&b| b < ns).min(self.bounds_ns.len() - 1);
        self.counts[i].fetch_add(1, Ordering::Relaxed);
        self.sum_ns.fetch_add(ns, Ordering::Relaxed);
        self.total.fetch_add(1, Ordering::Relaxed);
    }

    /// (counts, sum in seconds) of the interval since the previous drain.
    pub(crate) fn drain(&self) -> (Vec<u64>, f64) {
        let counts = self.counts.iter().map(|c| c.swap(0, Ordering::Relaxed)).collect();
        (counts, self.sum_ns.swap(0, Ordering::Relaxed) as f64 / 1e9)
    }
}

/// Quantile q in (0,1) from per-bucket counts, interpolating linearly inside the bucket.
pub(crate) fn quantile(bounds: &[f64], counts: &[u64], q: f64) -> Option<f64> {
    let n: u64 = counts.iter().sum();
    if n == 0 || bounds.len() != counts.len() {
        return None;
    }
    let rank = q * n as f64;
    let mut seen = 0.0;
    for (i, &c) in counts.iter().enumerate() {
        if c == 0 {
            continue;
        }
        let next = seen + c as f64;
        if next >= rank {
            let lo = if i == 0 { 0.0 } else { bounds[i - 1] };
            return Some(lo + (bounds[i] - lo) * (rank - seen) / c as f64);
        }
        seen = next;
    }
    bounds.last().copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_interpolates_inside_the_bucket() {
        assert_eq!(quantile(&[1.0, 2.0, 4.0], &[0, 10, 0], 0.5), Some(1.5));
        assert_eq!(quantile(&[1.0], &[0], 0.5), None);
    }

    #[test]
    fn drain_resets_the_interval_but_not_the_total() {
        let h = LatencyHistogram::new(vec![]);
        h.record(Duration::from_micros(40));
        h.record(Duration::from_secs(1000));
        let (counts, sum) = h.drain();
        assert_eq!(counts[0], 1);
        assert_eq!(counts[21], 1, "above the last bound counts in the last bucket");
        assert!(sum > 999.0);
        assert_eq!(h.drain().0.iter().sum::<u64>(), 0);
        assert_eq!(h.total.load(Ordering::Relaxed), 2);
    }
}
