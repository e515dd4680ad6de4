// SPDX-License-Identifier: Apache-2.0
#include "knob/histogram.h"

#include <algorithm>

namespace knob {

LatencyHistogram::LatencyHistogram(std::vector<double> bounds_seconds)
    : bounds_(std::move(bounds_seconds)) {
  if (bounds_.empty()) {
    double b = 50e-6;
    for (int i = 0; i < 22; ++i, b *= 2) bounds_.push_back(b);
  }
  for (double b : bounds_) bounds_ns_.push_back(static_cast<int64_t>(b * 1e9));
  counts_ = std::make_unique<std::atomic<uint64_t>[]>(bounds_.size());
  for (size_t i = 0; i < bounds_.size(); ++i) counts_[i].store(0);
}

void LatencyHistogram::Record(std::chrono::nanoseconds latency, uint64_t n) {
  if (n == 0) return;
  int64_t ns = std::max<int64_t>(0, latency.count());
  auto it = std::lower_bound(bounds_ns_.begin(), bounds_ns_.end(), ns);
  size_t i =
      it == bounds_ns_.end() ? bounds_ns_.size() - 1 : static_cast<size_t>(it - bounds_ns_.begin());
  counts_[i].fetch_add(n, std::memory_order_relaxed);
  sum_ns_.fetch_add(static_cast<uint64_t>(ns) * n, std::memory_order_relaxed);
  total_.fetch_add(n, std::memory_order_relaxed);
}

std::optional<double> LatencyHistogram::Quantile(const std::vector<double>& bounds,
                                                 const std::vector<uint64_t>& counts, double q) {
  uint64_t n = 0;
  for (uint64_t c : counts) n += c;
  if (n == 0 || bounds.size() != counts.size()) return std::nullopt;
  double rank = q * static_cast<double>(n);
  double seen = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] == 0) continue;
    double next = seen + static_cast<double>(counts[i]);
    if (next >= rank) {
      double lo = i == 0 ? 0 : bounds[i - 1];
      double frac = (rank - seen) / static_cast<double>(counts[i]);
      return lo + (bounds[i] - lo) * frac;
    }
    seen = next;
  }
  return bounds.back();
}

LatencyHistogram::Interval LatencyHistogram::Drain() {
  Interval out;
  out.bounds_seconds = bounds_;
  out.counts.resize(bounds_.size());
  for (size_t i = 0; i < bounds_.size(); ++i) {
    out.counts[i] = counts_[i].exchange(0, std::memory_order_relaxed);
    out.total += out.counts[i];
  }
  out.sum_seconds = static_cast<double>(sum_ns_.exchange(0, std::memory_order_relaxed)) / 1e9;
  out.p50 = Quantile(out.bounds_seconds, out.counts, 0.50);
  out.p90 = Quantile(out.bounds_seconds, out.counts, 0.90);
  out.p99 = Quantile(out.bounds_seconds, out.counts, 0.99);
  return out;
}

}  // namespace knob
