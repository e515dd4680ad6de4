// SPDX-License-Identifier: Apache-2.0
#include "config/policy.h"

#include "core/enum_names.h"

namespace knob {

namespace {

constexpr auto kModeNames = MakeEnumNames<Mode>(
    {{Mode::kObserve, "observe"}, {Mode::kRecommend, "recommend"}, {Mode::kApply, "apply"}},
    "unknown");
constexpr auto kObjectiveNames =
    MakeEnumNames<Objective>({{Objective::kMaximizeThroughput, "maximize: throughput"},
                              {Objective::kMinimizeP99Latency, "minimize: p99_latency"},
                              {Objective::kMinimizeCpuPerRequest, "minimize: cpu_per_request"}},
                             "unknown");

}  // namespace

std::string_view ModeName(Mode m) { return kModeNames.Name(m); }
std::optional<Mode> ParseMode(std::string_view s) { return kModeNames.Parse(s); }
std::vector<std::string> ModeNames() {
  std::vector<std::string> out;
  for (const auto& [mode, name] : kModeNames.entries()) out.emplace_back(name);
  return out;
}
std::string_view ObjectiveName(Objective o) { return kObjectiveNames.Name(o); }

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
