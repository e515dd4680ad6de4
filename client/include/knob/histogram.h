// SPDX-License-Identifier: Apache-2.0
#pragma once
// A fixed-bucket latency histogram for the hot path: one relaxed atomic increment per request,
// no lock, no allocation. Drain() takes the counts since the previous drain (one report
// interval) and estimates percentiles from them.
// Thread rule: Record from any thread; Drain from one thread at a time.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

namespace knob {

class LatencyHistogram {
 public:
  // `bounds_seconds` ascending upper bounds; empty: 50 µs doubling, 22 buckets (~105 s).
  // Samples above the last bound count in the last bucket.
  explicit LatencyHistogram(std::vector<double> bounds_seconds = {});

  void Record(std::chrono::nanoseconds latency) { Record(latency, 1); }
  // `n` samples of the same latency: adapters feed a server's own histogram bucket by bucket.
  void Record(std::chrono::nanoseconds latency, uint64_t n);

  struct Interval {
    std::vector<double> bounds_seconds;
    std::vector<uint64_t> counts;
    uint64_t total = 0;
    double sum_seconds = 0;
    std::optional<double> p50, p90, p99;
  };
  Interval Drain();
  // Cumulative count of every sample recorded.
  uint64_t total() const { return total_.load(std::memory_order_relaxed); }

  // Quantile q in (0,1) from per-bucket counts, interpolating linearly inside the bucket.
  static std::optional<double> Quantile(const std::vector<double>& bounds,
                                        const std::vector<uint64_t>& counts, double q);

 private:
  std::vector<double> bounds_;
  std::vector<int64_t> bounds_ns_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;
  std::atomic<uint64_t> sum_ns_{0};
  std::atomic<uint64_t> total_{0};
};

}  // namespace knob
