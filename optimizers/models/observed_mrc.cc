// SPDX-License-Identifier: Apache-2.0
#include "optimizers/models/observed_mrc.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace knob {

void ObservedHitRatios::Add(double capacity_bytes, double hits, double misses, double bytes) {
  if (!(capacity_bytes > 0) || !(hits >= 0) || !(misses >= 0) || hits + misses <= 0) return;
  auto& q = by_capacity_[capacity_bytes];
  q.push_back({hits, misses, bytes > 0 ? bytes / capacity_bytes : 1.0});
  while (q.size() > kMaxIntervals) q.pop_front();
}

bool ObservedHitRatios::Full(double capacity_bytes) const {
  auto it = by_capacity_.find(capacity_bytes);
  if (it == by_capacity_.end() || it->second.empty()) return true;
  double fill = 0;
  for (const auto& i : it->second) fill += i.fill;
  return fill / static_cast<double>(it->second.size()) >= kFullFraction;
}

std::map<double, double> ObservedHitRatios::FittedPoints() const {
  struct Block {
    double size, miss, weight;
  };
  std::vector<Block> blocks;
  for (const auto& [c, q] : by_capacity_) {
    double h = 0, m = 0;
    for (const auto& i : q) {
      h += i.hits;
      m += i.misses;
    }
    if (h + m < kMinAccesses) continue;
    blocks.push_back({c, m / (h + m), h + m});
    // Pool adjacent violators: a larger size that misses more than a smaller one merges with
    // it into their weighted mean.
    while (blocks.size() >= 2 && blocks[blocks.size() - 1].miss > blocks[blocks.size() - 2].miss) {
      Block b = blocks.back();
      blocks.pop_back();
      Block& a = blocks.back();
      double w = a.weight + b.weight;
      a.miss = (a.miss * a.weight + b.miss * b.weight) / w;
      a.weight = w;
      a.size = b.size;  // the merged block ends at the larger size
      // Its smaller sizes keep the merged value too (filled in below).
    }
  }
  // Expand the merged blocks back to every observed size at or below each block's end.
  std::map<double, double> out;
  size_t bi = 0;
  for (const auto& [c, q] : by_capacity_) {
    double h = 0, m = 0;
    for (const auto& i : q) {
      h += i.hits;
      m += i.misses;
    }
    if (h + m < kMinAccesses) continue;
    while (bi < blocks.size() && blocks[bi].size < c) ++bi;
    if (bi < blocks.size()) out[c] = blocks[bi].miss;
  }
  return out;
}

std::optional<MissRatioCurve> ObservedHitRatios::Curve() const {
  std::map<double, double> pts = FittedPoints();
  if (pts.empty()) return std::nullopt;
  // The extension beyond the largest observed size (see the header).
  auto last = std::prev(pts.end());
  double slope = 0;
  if (pts.size() >= 2) {
    auto before = std::prev(last);
    slope = (before->second - last->second) / (last->first - before->first);
  } else {
    slope = (1 - last->second) / last->first;
  }
  if (slope > kFlatSlope && last->second > 0 && Full(last->first)) {
    double to = std::min(last->first + last->second / slope, 4 * last->first);
    pts[to] = std::max(0.0, last->second - slope * (to - last->first));
  }
  // Points -> hit-count increments per size bucket, scaled to the lookups observed, so the
  // curve's total_accesses (and the confidence drawn from it) is what was actually seen.
  double scale = 0;
  for (const auto& [c, q] : by_capacity_)
    for (const auto& i : q) scale += i.hits + i.misses;
  std::vector<double> bounds;
  std::vector<uint64_t> counts;
  double prev_miss = 1;
  for (const auto& [size, miss] : pts) {
    bounds.push_back(size);
    counts.push_back(static_cast<uint64_t>(std::llround(std::max(0.0, prev_miss - miss) * scale)));
    prev_miss = std::min(prev_miss, miss);
  }
  auto cold = static_cast<uint64_t>(std::llround(prev_miss * scale));
  auto mrc = MissRatioCurve::FromHistogram(bounds, counts, cold);
  if (!mrc.ok()) return std::nullopt;
  return *mrc;
}

}  // namespace knob
