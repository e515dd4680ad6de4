// SPDX-License-Identifier: Apache-2.0
#pragma once
// Scheduling optimizer: worker threads the cores can actually run, a core set that avoids
// saturated or throttled cores, and the scheduling strategy, from
// optimizers/models/scheduling_model.h. Knobs: worker_threads (acts only on a CPU signal: cpu-bound
// with run-queue delay or throttling while threads exceed the runnable cores, or idle cores while
// cpu-bound with fewer threads); cpu_affinity_mask (bit i = core i, as a number);
// scheduling_strategy (0 = fifo, 1 = work_stealing, 2 = priority); allowed_cpus (the same core
// set as a CPU list, "0-3,8": a list-valued knob, any number of CPUs; systemd's AllowedCPUs=);
// cpu_quota_percent (systemd's CPUQuota=, 100 = one core: raised when throttled, lowered
// toward the measured use when most of it goes unused). Thread rule: stateless.

#include "optimizers/optimizer.h"

namespace knob {

inline constexpr std::string_view kAllowedCpusKnob = "allowed_cpus";
inline constexpr std::string_view kCpuQuotaKnob = "cpu_quota_percent";

struct SchedulingAdvice;

class SchedulingOptimizer final : public Optimizer {
 public:
  std::string_view Name() const override { return "scheduling"; }
  bool Handles(std::string_view knob) const override;
  std::span<const Scenario> Scenarios() const override;
  std::optional<Proposal> Propose(const OptimizerInput& in) const override;
  std::vector<Proposal> Candidates(const OptimizerInput& in) const override;

  static double StrategyCode(std::string_view strategy);

 private:
  std::optional<Proposal> ProposeQuota(const OptimizerInput& in, const SchedulingAdvice& advice,
                                       Proposal p) const;
};

}  // namespace knob
