// SPDX-License-Identifier: Apache-2.0
#pragma once
// Pool-size optimizer: worker/connection pools by Erlang C.
//
// Pools (knob -> pool): worker_threads -> "workers"; NAME_pool, NAME_pool_size,
// NAME_connections -> "NAME"; a pool named exactly like the knob also matches.
//   lambda = observed throughput (requests/s), S = busy / lambda (Little), a = busy (Erlangs)
//   wait budget W = 10% of the p99 SLO (or 5% of the mean service time with no SLO)
//   c_needed = smallest c with Erlang-C mean wait Wq(c) <= W (optimizers/models/queueing.h)
//   grow when c_needed > current (grow_pool_wait);
//   demand D = busy + waiters (Little: requests holding or queued for a member), means over
//   the last 20 observations at the current size; the pool binds when waiters >= 1 and
//   busy >= 85% of the size: then, for a throughput or p99
//   objective, grow to max(c_needed, ceil(D)) (grow_pool_demand) -- a saturated pool's measured
//   offered load is capped at its size, so Erlang C alone would add one member per step, and a
//   closed-loop pool whose mean wait fits the budget still limits throughput;
//   stop growing once a kept raise did not improve the objective beyond noise (hold_no_gain),
//   unless it measured >= 10% while the pool still binds with D >= 1.5 x size (inconclusive
//   on a noisy host, not a plateau);
//   shrink only when current > 1.5 x S with S = max(c_needed + 1, ceil(peak D / 0.75)), the
//   peak over the last 20 observations, to S (one spare server, and never a size the recent
//   peak demand would bind), freeing threads/connections.
// Before those, the size curve (optimizers/models/size_curve.h): when the pool is full (busy >=
// 85% of its size) and >= 3 sizes have been run, throughput and p99 against the size are fitted
// (USL over busy members: the service time grows with the size) and the pool goes to its knee,
// the smallest size within the noise of the best the p99 limit allows (lower_to_knee,
// raise_to_knee, hold_at_knee); with fewer sizes, a full pool whose larger sizes served less
// beyond noise is probed one step below the smallest size run (probe_size_curve, exploratory).
// It does not own worker_threads (SchedulingOptimizer owns that and asks this optimizer for the
// workers pool's proposal), and caches are CacheSizeOptimizer's alone: see the ownership table
// in all.cc.
// Sources: Kleinrock 1975 (M/M/c); Gunther 2007 (USL).
// Thread rule: stateless.

#include "optimizers/optimizer.h"

namespace knob {

class PoolSizeOptimizer final : public Optimizer {
 public:
  std::string_view Name() const override { return "pool_size"; }
  bool Handles(std::string_view knob) const override;
  std::span<const Scenario> Scenarios() const override;
  std::optional<Proposal> Propose(const OptimizerInput& in) const override;
  bool Owns(std::string_view knob) const override;

  // The pool a knob sizes, or "" when it is not a pool knob.
  static std::string PoolForKnob(std::string_view knob);
};

}  // namespace knob
