// SPDX-License-Identifier: Apache-2.0
#include "optimizers/models/mrc.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <unordered_map>

namespace knob {

Result<MissRatioCurve> MissRatioCurve::FromHistogram(const std::vector<double>& bounds,
                                                     const std::vector<uint64_t>& counts,
                                                     uint64_t cold) {
  if (bounds.size() != counts.size()) {
    return InvalidArgumentError("reuse histogram: bounds and counts differ in length");
  }
  for (size_t i = 0; i < bounds.size(); ++i) {
    if (!(bounds[i] > 0) || (i > 0 && !(bounds[i] > bounds[i - 1]))) {
      return InvalidArgumentError("reuse histogram: bounds must be positive and ascending");
    }
  }
  uint64_t total = cold;
  for (uint64_t c : counts) total += c;
  if (total == 0) return FailedPreconditionError("reuse histogram is empty");
  MissRatioCurve mrc;
  mrc.total_ = total;
  mrc.points_.push_back({0, 1});
  uint64_t hits = 0;
  for (size_t i = 0; i < bounds.size(); ++i) {
    hits += counts[i];
    mrc.points_.push_back({bounds[i], 1 - static_cast<double>(hits) / total});
  }
  return mrc;
}

MissRatioCurve MissRatioCurve::FromTrace(const std::vector<std::string>& keys, double sample_rate) {
  sample_rate = std::clamp(sample_rate, 1e-6, 1.0);
  const uint64_t kModulus = 1u << 24;
  const uint64_t threshold = static_cast<uint64_t>(sample_rate * kModulus);
  std::hash<std::string> hasher;
  // Fenwick tree over access positions: 1 marks the latest access of some key; the stack
  // distance of a reuse is the number of marks after the key's previous position.
  std::vector<int> tree(keys.size() + 1, 0);
  auto add = [&](size_t i, int v) {
    for (++i; i < tree.size(); i += i & (~i + 1)) tree[i] += v;
  };
  auto prefix = [&](size_t i) {  // sum over [0, i)
    int s = 0;
    for (; i > 0; i -= i & (~i + 1)) s += tree[i];
    return s;
  };
  std::unordered_map<std::string, size_t> last;
  std::vector<uint64_t> dist_counts;  // index = scaled distance bucket (objects)
  uint64_t cold = 0;
  int live = 0;
  size_t pos = 0;
  for (const auto& k : keys) {
    if (sample_rate < 1.0 && (hasher(k) % kModulus) >= threshold) continue;
    auto it = last.find(k);
    if (it == last.end()) {
      ++cold;
      last.emplace(k, pos);
    } else {
      int d = live - prefix(it->second + 1);  // distinct keys touched since
      add(it->second, -1);
      --live;
      size_t scaled = static_cast<size_t>(std::floor(d / sample_rate));
      if (dist_counts.size() <= scaled) dist_counts.resize(scaled + 1, 0);
      ++dist_counts[scaled];
      it->second = pos;
    }
    add(pos, 1);
    ++live;
    ++pos;
  }
  // Distance d (distinct others) hits in a cache of size >= d + 1 objects.
  std::vector<double> bounds;
  std::vector<uint64_t> counts;
  for (size_t d = 0; d < dist_counts.size(); ++d) {
    if (dist_counts[d] == 0) continue;
    bounds.push_back(static_cast<double>(d + 1));
    counts.push_back(dist_counts[d]);
  }
  auto r = FromHistogram(bounds, counts, cold);
  if (!r.ok()) return MissRatioCurve();
  // Distances are exact integers here, not uniform within buckets: make the curve a step.
  MissRatioCurve step;
  step.total_ = r->total_;
  step.points_.push_back({0, 1});
  for (size_t i = 1; i < r->points_.size(); ++i) {
    double prev_size = r->points_[i].size - 1;
    if (prev_size > step.points_.back().size) {
      step.points_.push_back({prev_size, step.points_.back().miss_ratio});
    }
    step.points_.push_back(r->points_[i]);
  }
  return step;
}

double MissRatioCurve::MissRatio(double size) const {
  if (points_.empty()) return 1;
  if (size <= 0) return points_.front().miss_ratio;
  for (size_t i = 1; i < points_.size(); ++i) {
    if (size <= points_[i].size) {
      const Point& a = points_[i - 1];
      const Point& b = points_[i];
      double t = (size - a.size) / (b.size - a.size);
      return a.miss_ratio + t * (b.miss_ratio - a.miss_ratio);
    }
  }
  return points_.back().miss_ratio;
}

std::optional<double> MissRatioCurve::SmallestSizeForHitRatio(double target) const {
  double target_miss = 1 - target;
  if (points_.empty() || points_.back().miss_ratio > target_miss + 1e-12) return std::nullopt;
  if (points_.front().miss_ratio <= target_miss) return points_.front().size;
  for (size_t i = 1; i < points_.size(); ++i) {
    if (points_[i].miss_ratio <= target_miss + 1e-12) {
      const Point& a = points_[i - 1];
      const Point& b = points_[i];
      if (a.miss_ratio == b.miss_ratio) return b.size;
      double t = (a.miss_ratio - target_miss) / (a.miss_ratio - b.miss_ratio);
      return a.size + t * (b.size - a.size);
    }
  }
  return std::nullopt;
}

}  // namespace knob
