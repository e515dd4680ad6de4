// SPDX-License-Identifier: Apache-2.0
#pragma once
// Miss-ratio curve (MRC) of an LRU cache from sampled reuse (stack) distances.
//
//   For an LRU cache of size C, an access hits iff its reuse distance d (bytes or objects of
//   distinct data touched since the previous access to the same key) is < C. So
//   hit_ratio(C) = #{accesses with d < C} / (#accesses incl. cold), miss_ratio = 1 - hit_ratio.
//   SHARDS (spatially hashed sampling): keep keys with hash(key) mod P < T, rate R = T/P; a
//   sampled distance d' estimates d = d'/R, and counts are scaled by 1/R (they cancel in the
//   ratio). Within a histogram bucket the curve is interpolated linearly (uniform distances).
// Sources: Waldspurger et al., "Efficient MRC Construction with SHARDS", FAST 2015;
// Mattson et al., "Evaluation techniques for storage hierarchies", IBM Syst. J. 1970.
// Thread rule: plain values, any thread.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace knob {

class MissRatioCurve {
 public:
  struct Point {
    double size = 0;        // cache size, same unit as the histogram bounds
    double miss_ratio = 1;  // 0..1
  };

  // bounds: ascending bucket upper bounds (distances already scaled to full-trace units);
  // counts: accesses per bucket; cold: first-seen accesses (always miss).
  static Result<MissRatioCurve> FromHistogram(const std::vector<double>& bounds,
                                              const std::vector<uint64_t>& counts, uint64_t cold);
  // Exact LRU stack distances in objects over a key trace, with optional SHARDS sampling
  // (sample_rate in (0, 1]; 1 keeps every key). O(n log n).
  static MissRatioCurve FromTrace(const std::vector<std::string>& keys, double sample_rate = 1.0);

  double MissRatio(double size) const;
  double HitRatio(double size) const { return 1 - MissRatio(size); }
  // Smallest size reaching the target hit ratio; nullopt when unreachable (cold misses).
  std::optional<double> SmallestSizeForHitRatio(double target_hit_ratio) const;
  // Largest hit ratio with size <= cap.
  double BestHitRatioUnder(double cap) const { return HitRatio(cap); }
  const std::vector<Point>& points() const { return points_; }
  uint64_t total_accesses() const { return total_; }

 private:
  std::vector<Point> points_;  // starts at size 0 with miss ratio 1, ascending size
  uint64_t total_ = 0;
};

}  // namespace knob
