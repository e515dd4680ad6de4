#include "config/policy.h"

namespace knob {

std::string_view ModeName(Mode m) {
  switch (m) {
    case Mode::kObserve:
      return "observe";
    case Mode::kRecommend:
      return "recommend";
    case Mode::kApply:
      return "apply";
  }
  return "unknown";
}

std::string_view ObjectiveName(Objective o) {
  switch (o) {
    case Objective::kMaximizeThroughput:
      return "maximize: throughput";
    case Objective::kMinimizeP99Latency:
      return "minimize: p99_latency";
    case Objective::kMinimizeCpuPerRequest:
      return "minimize: cpu_per_request";
  }
  return "unknown";
}

const TargetPolicy* Policy::FindTarget(std::string_view name) const {
  for (const TargetPolicy& t : targets) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

const TargetPolicy* Policy::FindRegistered(std::string_view client_name) const {
  // An exact name beats the "*" catch-all wherever they appear; among equals, file order wins.
  const TargetPolicy* wildcard = nullptr;
  for (const TargetPolicy& t : targets) {
    if (!t.selector.registered.has_value()) continue;
    if (*t.selector.registered == client_name) return &t;
    if (*t.selector.registered == "*" && wildcard == nullptr) wildcard = &t;
  }
  return wildcard;
}

}  // namespace knob
