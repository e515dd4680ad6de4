// SPDX-License-Identifier: Apache-2.0
#include "knob/shards.h"

#include <algorithm>
#include <cmath>

namespace knob {

ShardsSampler::ShardsSampler(double sample_rate) {
  rate_ = std::clamp(sample_rate, 1.0 / static_cast<double>(kModulus), 1.0);
  threshold_ = static_cast<uint64_t>(std::llround(rate_ * static_cast<double>(kModulus)));
  double b = 1024;
  for (int i = 0; i < 36; ++i, b *= 2) bounds_.push_back(b);
  counts_.assign(bounds_.size(), 0);
}

uint64_t ShardsSampler::Hash(std::string_view key) {
  // FNV-1a then a splitmix64 finaliser: cheap and well mixed in the low bits we sample on.
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : key) {
    h ^= c;
    h *= 1099511628211ull;
  }
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  h ^= h >> 31;
  return h;
}

void ShardsSampler::Access(std::string_view key, uint64_t size_bytes) {
  uint64_t h = Hash(key);
  if (h % kModulus >= threshold_) return;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = index_.find(h);
  if (it == index_.end()) {
    ++cold_;
  } else {
    uint64_t distance = 0;
    for (auto e = lru_.begin(); e != it->second; ++e) distance += e->size;
    double scaled = static_cast<double>(distance) / rate_;
    auto b = std::lower_bound(bounds_.begin(), bounds_.end(), scaled);
    size_t i = b == bounds_.end() ? bounds_.size() - 1 : static_cast<size_t>(b - bounds_.begin());
    ++counts_[i];
    lru_.erase(it->second);
  }
  lru_.push_front(Entry{h, size_bytes});
  index_[h] = lru_.begin();
  if (lru_.size() > kMaxTracked) {
    index_.erase(lru_.back().key);
    lru_.pop_back();
  }
}

ShardsSampler::Histogram ShardsSampler::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return Histogram{bounds_, counts_, cold_};
}

}  // namespace knob
