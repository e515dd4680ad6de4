// SPDX-License-Identifier: Apache-2.0
#pragma once
// Concurrency (in-flight limit) optimizer over the USL fit.
//
//   maximize throughput:  N_target = argmax_{integer N in bounds} LCB[X(N)]
//                         s.t. p99(N) = f * N / X(N) <= (1 - h) SLO   (f = model.latency_factor(),
//                         h = hysteresis_fraction: growth stops short of the SLO, shrinking
//                         starts only when observed p99 - se > SLO, so noise does not flap)
//   minimize p99 / cpu per request: the smallest N whose LCB[X(N)] still carries the observed
//                         throughput (less queueing in the system, less coherency work)
// X(N) and R = N/X from optimizers/models/usl.h (Gunther 2007; Little's law); LCB = X - 1 * se(X).
// Knobs: concurrency_limit, max_in_flight, max_concurrency.
// Thread rule: stateless.

#include "optimizers/optimizer.h"

namespace knob {

class ConcurrencyOptimizer final : public Optimizer {
 public:
  std::string_view Name() const override { return "concurrency"; }
  bool Handles(std::string_view knob) const override;
  std::span<const Scenario> Scenarios() const override;
  std::optional<Proposal> Propose(const OptimizerInput& in) const override;
  // The USL's throughput and p99 (x the model's latency factor) at value; empty without a fit.
  std::map<std::string, double> Predict(const TargetModel& model, std::string_view knob,
                                        double value) const override;
};

}  // namespace knob
