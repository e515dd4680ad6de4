// SPDX-License-Identifier: Apache-2.0
#pragma once
// The periodic re-probe (scenario "reprobe", docs/model.md): a converged and quiet target in
// apply mode (no optimizer proposes anything) moves its least recently changed knob one step to
// re-measure the baseline's neighbourhood; the verification window keeps it only if it is better.
// Two parts:
//   ReprobeSchedule  when a target is due: every reprobe_interval, jittered +/-20% per target
//                    (mixed with the target name) so a fleet does not probe in sync.
//   ReprobeOptimizer an ordinary Optimizer with its own scenario: on a re-probe turn
//                    (OptimizerInput::reprobe_direction != 0) one step in that direction, or the
//                    other one, never across a constraint the knob's owner predicts
//                    (Optimizer::Predict) nor into a penalized region.
// Proposals carry optimizer "guard" (the name the wire, the history and the scenario table have
// always used for it). It owns no knob (Owns is false), so it is not in AllOptimizers(): the
// brain asks it only on a re-probe turn, for the knob LeastRecentlyChanged picks.
// Thread rule: ReprobeSchedule loop thread only (it holds the jitter generator); the optimizer
// is stateless.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/policy.h"
#include "core/clock.h"
#include "core/snapshot.h"
#include "optimizers/guard.h"
#include "optimizers/optimizer.h"

namespace knob {

// Per target.
struct ReprobeState {
  std::optional<MonoTime> next;
  int direction = 1;  // of the next re-probe; alternates with every re-probe turn
};

class ReprobeSchedule {
 public:
  // interval zero disables re-probing.
  ReprobeSchedule(Duration interval, uint64_t seed) : interval_(interval), rng_(seed) {}

  // The first schedule of a target, when it has none.
  void EnsureScheduled(const std::string& target, MonoTime now, ReprobeState& s);
  // A re-probe turn is due for a target in apply mode.
  bool Due(const TargetPolicy& tp, MonoTime now, const ReprobeState& s) const;
  // The next turn, from now.
  void Schedule(const std::string& target, MonoTime now, ReprobeState& s);

 private:
  Duration interval_;
  std::mt19937_64 rng_;
};

class ReprobeOptimizer final : public Optimizer {
 public:
  // owners: the optimizers that own the knobs (AllOptimizers()), asked for predictions; they
  // must outlive this one.
  explicit ReprobeOptimizer(const std::vector<std::unique_ptr<Optimizer>>& owners)
      : owners_(owners) {}

  std::string_view Name() const override { return "guard"; }
  // It may step any knob on a re-probe turn, and owns none.
  bool Handles(std::string_view knob) const override;
  bool Owns(std::string_view knob) const override;
  std::span<const Scenario> Scenarios() const override;
  // Nothing unless in.reprobe_direction is set (a re-probe turn).
  std::optional<Proposal> Propose(const OptimizerInput& in) const override;
  // The knob owner's prediction.
  std::map<std::string, double> Predict(const TargetModel& model, std::string_view knob,
                                        double value) const override;

  // The least recently changed enabled knob the target reports (a never-changed one first), or
  // null.
  static const std::string* LeastRecentlyChanged(const TargetPolicy& tp, const AppReport& app,
                                                 const std::map<std::string, KnobHistory>& knobs);

 private:
  const std::vector<std::unique_ptr<Optimizer>>& owners_;
};

}  // namespace knob
