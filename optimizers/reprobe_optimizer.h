// SPDX-License-Identifier: Apache-2.0
#pragma once
// The periodic re-probe (scenario "reprobe", docs/model.md): a converged and quiet target in
// apply mode (no optimizer proposes anything) moves its least recently changed knob one step to
// re-measure the baseline's neighbourhood; the verification window keeps it only if it is better.
// Every reprobe_interval, jittered +/-20% per target (mixed with the target name) so a fleet
// does not probe in sync; the direction alternates; never across a constraint the knob's owner
// predicts (Optimizer::Predict) nor into a penalized region. Proposals carry optimizer "guard"
// (the name the wire, the history and the scenario table have always used for it).
// It is not in AllOptimizers(): it owns no knob and runs across a target's knobs, after them.
// Thread rule: loop thread only (it holds the jitter generator).

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
#include "optimizers/models/target_model.h"
#include "optimizers/optimizer.h"

namespace knob {

// Per target.
struct ReprobeState {
  std::optional<MonoTime> next;
  int direction = 1;
};

class ReprobeOptimizer {
 public:
  // interval zero disables re-probing.
  ReprobeOptimizer(Duration interval, uint64_t seed) : interval_(interval), rng_(seed) {}

  std::string_view Name() const { return "guard"; }
  std::span<const Scenario> Scenarios() const;

  // The first schedule of a target, when it has none.
  void EnsureScheduled(const std::string& target, MonoTime now, ReprobeState& s);
  // When due: the step (if any knob can take one) and the next schedule.
  std::optional<Proposal> Propose(const TargetPolicy& tp, const GuardSettings& g,
                                  const AppReport& app, const TargetModel& model,
                                  const std::map<std::string, KnobHistory>& knobs,
                                  const std::vector<std::unique_ptr<Optimizer>>& owners,
                                  MonoTime now, ReprobeState& s);

 private:
  void Schedule(const std::string& target, MonoTime now, ReprobeState& s);

  Duration interval_;
  std::mt19937_64 rng_;
};

}  // namespace knob
