// SPDX-License-Identifier: Apache-2.0
#include "optimizers/verify.h"

#include <algorithm>

namespace knob {

Duration BaselineSpan(const GuardSettings& g) {
  return std::max<Duration>(g.verification_window, std::chrono::seconds(2));
}

std::map<std::string, double> TunedSettings(const TargetPolicy& tp, const AppReport& app) {
  std::map<std::string, double> out;
  for (const auto& [knob, kp] : tp.knobs) {
    (void)kp;
    if (auto it = app.knobs.find(knob); it != app.knobs.end()) out.emplace(knob, it->second);
  }
  return out;
}

VerifyResult JudgeChange(const TargetPolicy& tp, const GuardSettings& g, const TargetModel& model,
                         const AppliedChange& c, MonoTime now) {
  Guard guard(g);
  Duration settle = std::chrono::seconds(1);
  WindowStats before = model.Baseline(c.sent, c.baseline_knobs, BaselineSpan(g), g.min_samples);
  WindowStats after = model.Window(c.applied + settle, now + std::chrono::nanoseconds(1));
  return guard.Verify(tp.objective, tp.constraints, before, after, c.predicted, now - c.applied,
                      c.fixes_violation);
}

Penalty RollbackPenalty(const GuardSettings& g, const TargetModel& model, const std::string& knob,
                        double old_value, double new_value, bool is_reprobe, MonoTime now) {
  Penalty pen;
  pen.value = new_value;
  pen.direction = new_value > old_value ? 1 : -1;
  // Each earlier rollback into the same region doubles the penalty, so a real regression is
  // retried ever more rarely instead of every 10 cooldowns.
  int repeats = 0;
  if (auto it = model.penalties().find(knob); it != model.penalties().end()) {
    for (const auto& old : it->second)
      if (old.direction == pen.direction &&
          (pen.direction > 0 ? old.value <= pen.value : old.value >= pen.value))
        ++repeats;
  }
  pen.until = now + (is_reprobe ? 2 * g.cooldown : 10 * g.cooldown) * (1 << std::min(repeats, 10));
  return pen;
}

}  // namespace knob
