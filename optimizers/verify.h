// SPDX-License-Identifier: Apache-2.0
#pragma once
// Judging an applied change (docs/model.md "Verification"): the baseline it is compared with,
// the after-window, the guard's verdict (Guard::Verify, guard.h), and the penalty a rollback
// leaves on the region beyond the bad value.
// Thread rule: stateless; any thread.

#include <map>
#include <string>

#include "config/policy.h"
#include "core/clock.h"
#include "optimizers/guard.h"
#include "optimizers/models/target_model.h"

namespace knob {

// The before-window of a change: the verification window, at least 2 s (skipping the settle
// second leaves something to compare).
Duration BaselineSpan(const GuardSettings& g);

// The settings a baseline is keyed by: the tuned knobs (those the policy lists) as the target
// reports them. Other values the app reports may move on their own and must not void it.
std::map<std::string, double> TunedSettings(const TargetPolicy& tp, const AppReport& app);

struct AppliedChange {
  std::string knob;
  double old_value = 0, new_value = 0;
  MonoTime sent{}, applied{};
  bool fixes_violation = false;
  const std::map<std::string, double>& baseline_knobs;
  const std::map<std::string, double>& predicted;
};

// The guard's verdict on c at now: its baseline (before it was sent, at its baseline settings)
// against the observations from one settle second after it was applied, with the noise of both
// corrected for the autocorrelation between ticks (Autocorrelation, guard.h).
VerifyResult JudgeChange(const TargetPolicy& tp, const GuardSettings& g, const TargetModel& model,
                         const AppliedChange& c, MonoTime now);

// The penalty for a rolled-back change of knob from old_value to new_value: the region at and
// beyond new_value, for 10 cooldowns (2 for a re-probe), doubling with every earlier rollback
// into the same region (up to 2^10).
Penalty RollbackPenalty(const GuardSettings& g, const TargetModel& model, const std::string& knob,
                        double old_value, double new_value, bool is_reprobe, MonoTime now);

}  // namespace knob
