// SPDX-License-Identifier: Apache-2.0
#pragma once
// A miss-ratio curve from hit ratios observed at different cache sizes, for caches that report
// hits and misses but no reuse-distance histogram (Redis through adapters/redis: INFO gives
// keyspace_hits/misses and maxmemory, nothing per key).
//
//   Each report interval at capacity C adds its hits and misses to C's point (the interval in
//   which C changed is skipped: the cache is still filling or evicting). A point's miss ratio
//   m(C) = misses / (hits + misses) over its most recent kMaxIntervals intervals.
//   LRU inclusion (a larger LRU cache holds everything a smaller one does, Mattson 1970) says
//   m is non-increasing in C, so the points are fitted by isotonic regression (pool adjacent
//   violators, weighted by accesses) before use.
//   Beyond the largest observed size C_n nothing is known; the curve extends it along the last
//   observed slope s = (m_{n-1} - m_n) / (C_n - C_{n-1}) (with one point, the line from (0, 1):
//   the uniform-popularity hypothesis, hit ratio proportional to size), down to miss 0 and at
//   most to 4 C_n. This is a probe, not a promise: the cache optimizer steps at most max_step
//   toward it, the guard verifies the step, and the next point replaces the guess. Once the
//   last segment is flat (less than kFlatSlope gain) the curve stops at C_n and growth stops.
// The result is a MissRatioCurve built through MissRatioCurve::FromHistogram (the points become
// hit-count increments), so the cache optimizer reads it like a SHARDS curve.
// Source: Mattson et al., IBM Syst. J. 1970 (inclusion property); Ayer et al. 1955 (PAV).
// Thread rule: plain values, any thread.

#include <cstdint>
#include <deque>
#include <map>
#include <optional>

#include "optimizers/models/mrc.h"

namespace knob {

class ObservedHitRatios {
 public:
  static constexpr size_t kMaxIntervals = 20;
  static constexpr double kMinAccesses = 200;  // per point, before it is used
  static constexpr double kFlatSlope = 1e-12;  // miss ratio per byte: a flat segment
  static constexpr double kFullFraction = 0.9;

  // One report interval: the capacity in effect during it, the lookups it saw, and the bytes
  // held at its end (<= 0: unknown, taken as full).
  void Add(double capacity_bytes, double hits, double misses, double bytes = 0);
  // The curve, when at least one point has kMinAccesses lookups.
  std::optional<MissRatioCurve> Curve() const;
  // Observed points after the isotonic fit: capacity -> miss ratio (tests, explanations).
  std::map<double, double> FittedPoints() const;

 private:
  struct Interval {
    double hits = 0, misses = 0, fill = 1;  // fill: bytes / capacity
  };
  // Whether the cache was full at this capacity over its recent intervals.
  bool Full(double capacity_bytes) const;
  std::map<double, std::deque<Interval>> by_capacity_;
};

}  // namespace knob
