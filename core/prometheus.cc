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

}  // namespace knob
