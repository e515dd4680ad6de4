// SPDX-License-Identifier: Apache-2.0
#include "core/prometheus.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <exception>

namespace knob {
namespace {

std::atomic<uint64_t> g_failures{0};

template <typename T>
auto Builder() {
  if constexpr (std::is_same_v<T, prometheus::Counter>) {
    return prometheus::BuildCounter();
  } else if constexpr (std::is_same_v<T, prometheus::Gauge>) {
    return prometheus::BuildGauge();
  } else {
    static_assert(std::is_same_v<T, prometheus::Histogram>, "Counter, Gauge or Histogram");
    return prometheus::BuildHistogram();
  }
}

// Where FamilyOrUnscraped puts what the real registry refused: never exposed.
prometheus::Registry& Unscraped() {
  static prometheus::Registry registry;
  return registry;
}

}  // namespace

template <typename T>
Result<prometheus::Family<T>*> RegisterFamily(prometheus::Registry& registry,
                                              const FamilySpec& spec) {
  try {
    return &Builder<T>().Name(spec.name).Help(spec.help).Register(registry);
  } catch (const std::exception& e) {
    return InternalError("registering " + spec.name + ": " + e.what());
  }
}

template <typename T>
prometheus::Family<T>& FamilyOrUnscraped(prometheus::Registry& registry, const FamilySpec& spec) {
  auto family = RegisterFamily<T>(registry, spec);
  if (family.ok()) return **family;
  g_failures.fetch_add(1, std::memory_order_relaxed);
  spdlog::error("metrics: {}; it will not be exported", family.status().message());
  auto fallback = RegisterFamily<T>(Unscraped(), spec);
  if (!fallback.ok()) {
    // Even an empty registry refused it: the name itself is invalid, a programming error.
    spdlog::critical("metrics: {}", fallback.status().message());
    std::terminate();
  }
  return **fallback;
}

uint64_t RegistrationFailures() { return g_failures.load(std::memory_order_relaxed); }

namespace {

bool HasTarget(const prometheus::Labels& l, const std::string& target) {
  auto it = l.find("target");
  return it != l.end() && it->second == target;
}

}  // namespace

template Result<prometheus::Family<prometheus::Counter>*> RegisterFamily(prometheus::Registry&,
                                                                         const FamilySpec&);
template Result<prometheus::Family<prometheus::Gauge>*> RegisterFamily(prometheus::Registry&,
                                                                       const FamilySpec&);
template Result<prometheus::Family<prometheus::Histogram>*> RegisterFamily(prometheus::Registry&,
                                                                           const FamilySpec&);
template prometheus::Family<prometheus::Counter>& FamilyOrUnscraped(prometheus::Registry&,
                                                                    const FamilySpec&);
template prometheus::Family<prometheus::Gauge>& FamilyOrUnscraped(prometheus::Registry&,
                                                                  const FamilySpec&);
template prometheus::Family<prometheus::Histogram>& FamilyOrUnscraped(prometheus::Registry&,
                                                                      const FamilySpec&);

void CounterVec::Observe(const prometheus::Labels& labels, double raw) {
  auto it = series_.find(labels);
  if (it == series_.end()) {
    it = series_.emplace(labels, Series{&family_->Add(labels), CounterFeed{}}).first;
  }
  it->second.feed.Observe(*it->second.counter, raw);
}

void CounterVec::Increment(const prometheus::Labels& labels, double delta) {
  auto it = series_.find(labels);
  if (it == series_.end()) {
    it = series_.emplace(labels, Series{&family_->Add(labels), CounterFeed{}}).first;
  }
  it->second.counter->Increment(delta);
}

void CounterVec::ForgetTarget(const std::string& target) {
  for (auto it = series_.begin(); it != series_.end();) {
    if (HasTarget(it->first, target)) {
      family_->Remove(it->second.counter);
      it = series_.erase(it);
    } else {
      ++it;
    }
  }
}

void CounterVec::Forget(const prometheus::Labels& labels) {
  auto it = series_.find(labels);
  if (it == series_.end()) return;
  family_->Remove(it->second.counter);
  series_.erase(it);
}

void GaugeVec::Set(const prometheus::Labels& labels, double v) {
  auto it = series_.find(labels);
  if (it == series_.end()) it = series_.emplace(labels, Series{&family_->Add(labels)}).first;
  it->second.gauge->Set(v);
  it->second.touched = true;
}

void GaugeVec::ForgetTarget(const std::string& target) {
  for (auto it = series_.begin(); it != series_.end();) {
    if (HasTarget(it->first, target)) {
      family_->Remove(it->second.gauge);
      it = series_.erase(it);
    } else {
      ++it;
    }
  }
}

void GaugeVec::BeginTarget(const std::string& target) {
  for (auto& [l, s] : series_) {
    if (HasTarget(l, target)) s.touched = false;
  }
}

void GaugeVec::EndTarget(const std::string& target) {
  for (auto it = series_.begin(); it != series_.end();) {
    if (HasTarget(it->first, target) && !it->second.touched) {
      family_->Remove(it->second.gauge);
      it = series_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace knob
