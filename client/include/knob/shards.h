// SPDX-License-Identifier: Apache-2.0
#pragma once
// SHARDS spatial sampling of cache accesses (Waldspurger et al., FAST 2015): a key is sampled
// iff hash(key) mod P < T (rate R = T/P), so every access to a sampled key is seen. For each
// sampled access the reuse distance is the bytes of distinct sampled keys touched since the
// previous access to the same key, scaled by 1/R to estimate the full-trace distance; first
// accesses count as cold. The histogram (byte bounds doubling from 1 KiB) is cumulative since
// start, the shape optimizers/models/mrc.h turns into a miss-ratio curve.
// Cost: unsampled accesses are one hash; sampled ones walk an LRU list of sampled keys (bounded
// to kMaxTracked entries) under a mutex.
// Thread rule: Access and Fill from any thread.

#include <cstdint>
#include <list>
#include <mutex>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace knob {

class ShardsSampler {
 public:
  static constexpr size_t kMaxTracked = 8192;
  static constexpr uint64_t kModulus = 1 << 24;

  explicit ShardsSampler(double sample_rate);
  void Access(std::string_view key, uint64_t size_bytes);

  double sample_rate() const { return rate_; }
  struct Histogram {
    std::vector<double> bounds_bytes;
    std::vector<uint64_t> counts;
    uint64_t cold = 0;
  };
  Histogram Snapshot() const;
  static uint64_t Hash(std::string_view key);

 private:
  struct Entry {
    uint64_t key;
    uint64_t size;
  };
  double rate_;
  uint64_t threshold_;
  mutable std::mutex mu_;
  std::list<Entry> lru_;  // most recent first
  std::unordered_map<uint64_t, std::list<Entry>::iterator> index_;
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;
  uint64_t cold_ = 0;
};

}  // namespace knob
