// SPDX-License-Identifier: Apache-2.0
#pragma once
// Scheduling optimizer: worker threads the cores can actually run, a core set that avoids
// saturated or throttled cores, and the scheduling strategy, from
// optimizers/models/scheduling_model.h. Knobs: worker_threads (acts only on a CPU signal: cpu-bound
// with run-queue delay or throttling while threads exceed the runnable cores, or idle cores while
// cpu-bound with fewer threads); cpu_affinity_mask (bit i = core i, as a number);
// scheduling_strategy (0 = fifo, 1 = work_stealing, 2 = priority). Thread rule: stateless.

#include "optimizers/optimizer.h"

namespace knob {

class SchedulingOptimizer final : public Optimizer {
 public:
  std::string_view Name() const override { return "scheduling"; }
  bool Handles(std::string_view knob) const override;
  std::span<const Scenario> Scenarios() const override;
  std::optional<Proposal> Propose(const OptimizerInput& in) const override;
  std::vector<Proposal> Candidates(const OptimizerInput& in) const override;

  static double StrategyCode(std::string_view strategy);
};

}  // namespace knob
