// SPDX-License-Identifier: Apache-2.0
#pragma once
// The tuned service's own signals on /metrics (docs/metrics.md, section "Targets"): what the
// target reports over the control socket (requests and errors as counters, latency as a real
// Prometheus histogram from the report's buckets, each knob's applied value), each constraint's
// headroom (limit - measured, one metric name per unit) and the target's phase as a state gauge.
// Series of a target that leaves the snapshot are removed (core/prometheus.h TargetMetricTable).
//
// MeteredDecider wraps the brain so these series are refreshed on every tick right after the
// brain observed the snapshot, with no edit to the tick pipeline.
// Thread rule: loop thread only (prometheus objects are scraped concurrently, which is safe).

#include <prometheus/family.h>
#include <prometheus/histogram.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "config/policy.h"
#include "core/brain_queries.h"
#include "core/prometheus.h"
#include "core/recommendation.h"
#include "core/snapshot.h"
#include "optimizers/decider.h"

namespace prometheus {
class Registry;
}

namespace knob {

// What knobd is doing with a target, as one word (the `phase` label, `knobctl targets`).
enum class TargetPhase { kLearning, kExploring, kVerifying, kConverged, kPaused, kOverridden };
std::string_view TargetPhaseName(TargetPhase p);
// Every phase, in enum order (the state gauge exports one series per phase).
const std::vector<TargetPhase>& AllTargetPhases();

struct PhaseInputs {
  TargetState state = TargetState::kPending;
  bool mode_overridden = false;           // an operator `knobctl mode` is in force
  std::optional<Outcome> newest_outcome;  // of the target's newest recommendation
  size_t observations = 0;                // the brain's model holds this many
  uint32_t min_samples = 10;              // guard.min_samples
  std::optional<double> confidence;       // USL fit confidence, when there is a fit
};
// First match wins: paused (operator pause) > overridden (operator mode) > verifying (a change
// sent or applied and not judged yet) > learning (fewer observations than min_samples, or no
// model) > exploring (a fit below the 0.3 confidence the optimizers trust) > converged.
TargetPhase PhaseOf(const PhaseInputs& in);

class TargetMetrics {
 public:
  explicit TargetMetrics(prometheus::Registry& registry);
  TargetMetrics(const TargetMetrics&) = delete;
  TargetMetrics& operator=(const TargetMetrics&) = delete;

  // `effective` is the tick's policy (operator overrides applied), `configured` the policy file
  // in force (null: no override is assumed); `brain` may be null (phase from state only).
  void Update(const Policy& effective, const Policy* configured, const Snapshot& snapshot,
              const BrainQueries* brain);

 private:
  struct Latency {
    std::vector<double> bounds;
    prometheus::Histogram* histogram = nullptr;
  };
  struct Last {
    WallTime received{};  // the report last counted (a report is counted once)
    double requests = 0, errors = 0;
    std::optional<double> error_rate;
    double cpu_seconds = 0;
    MonoTime cpu_time{};
    std::optional<double> cpu_cores;
  };
  void UpdateLatency(const std::string& target, const AppReport& app);
  void UpdateHeadroom(const TargetPolicy& tp, const TargetSnapshot& ts, MonoTime now);
  void Forget(const std::string& target);

  TargetMetricTable table_;
  CounterVec requests_;
  CounterVec errors_;
  GaugeVec knob_value_;
  GaugeVec phase_;
  GaugeVec headroom_seconds_;
  GaugeVec headroom_ratio_;
  GaugeVec headroom_cores_;
  GaugeVec headroom_bytes_;
  prometheus::Family<prometheus::Histogram>* latency_family_;
  std::map<std::string, Latency> latency_;
  std::map<std::string, Last> last_;
  std::set<std::string> known_;
};

// A Decider that forwards to `inner` and refreshes TargetMetrics after each Observe.
class MeteredDecider final : public Decider {
 public:
  // `configured` returns the policy file in force (for the `overridden` phase); `brain` is the
  // query view of `inner` (may be null) and must outlive this object.
  MeteredDecider(std::unique_ptr<Decider> inner, const BrainQueries* brain,
                 prometheus::Registry& registry,
                 std::function<std::shared_ptr<const Policy>()> configured);
  void Observe(const Policy& policy, const Snapshot& snapshot) override;
  std::vector<Recommendation> Decide(const Policy& policy, const Snapshot& snapshot) override {
    return inner_->Decide(policy, snapshot);
  }
  void OnOutcome(uint64_t id, Outcome outcome, const std::string& reason) override {
    inner_->OnOutcome(id, outcome, reason);
  }
  std::vector<Recommendation> Restore(const Policy& policy, const std::string& target) override {
    return inner_->Restore(policy, target);
  }
  Status Save(const std::string& state_dir) const override { return inner_->Save(state_dir); }
  Status Load(const std::string& state_dir) override { return inner_->Load(state_dir); }

 private:
  std::unique_ptr<Decider> inner_;
  const BrainQueries* brain_;
  TargetMetrics metrics_;
  std::function<std::shared_ptr<const Policy>()> configured_;
};

}  // namespace knob
