// SPDX-License-Identifier: Apache-2.0
#include "bench/tuning/tuner.h"

#include <cmath>

namespace knob::tuning {

std::optional<Measures::Tick> Measures::Update(const TargetSnapshot& t, const std::string& knob) {
  if (!t.app) return std::nullopt;
  const AppReport& a = *t.app;
  std::optional<Tick> out;
  if (requests_) {
    Tick m;
    m.throughput = std::max(0.0, a.requests_total - *requests_);
    m.errors = std::max(0.0, a.errors_total - *errors_);
    m.mean_rtt = m.throughput > 0 ? a.latency_sum_seconds / m.throughput : 0;
    m.p99 = a.latency_p99_seconds.value_or(m.mean_rtt);
    m.in_flight = a.in_flight;
    std::string pool = knob == kPool ? "backend" : "workers";
    auto it = a.pools.find(pool);
    m.pool_demand =
        knob == kLimit || it == a.pools.end() ? a.in_flight : it->second.busy + it->second.waiters;
    out = m;
  }
  requests_ = a.requests_total;
  errors_ = a.errors_total;
  return out;
}

std::vector<std::string> TunerNames() {
  return {"knobd", "static", "aimd", "gradient2", "vegas", "hill_climb", "golden"};
}

std::unique_ptr<Tuner> MakeTuner(const std::string& name, const Scenario& s) {
  if (name == "knobd") return MakeKnobdTuner(s);
  if (name == "static") return MakeStaticTuner();
  if (name == "aimd") return MakeAimdTuner(s);
  if (name == "gradient2") return MakeGradient2Tuner(s);
  if (name == "vegas") return MakeVegasTuner(s);
  if (name == "hill_climb") return MakeHillClimbTuner(s);
  if (name == "golden") return MakeGoldenTuner(s);
  return nullptr;
}

}  // namespace knob::tuning
