// SPDX-License-Identifier: Apache-2.0
#pragma once
// The guard: what may change, by how much, and whether a change that was applied did what was
// predicted. Review() runs on every proposal, in this order, each adding a GuardVerdict:
//   enabled     a knob with `enabled: false` is frozen                         -> veto
//   bounds      clamp into [min, max]                                         -> clamp
//   max_step    clamp to current +/- MaxStep() (optimizer.h)                   -> clamp
//   cooldown    no change within `cooldown` of the knob's last change          -> veto
//   hysteresis  |new - current| < hysteresis_fraction x current, unless the
//               change is exactly one unit (the minimum step)                -> veto;
//               returning to the value left by the previous change within
//               4 cooldowns without a violation to fix, or within 16 cooldowns
//               after the knob already went A->B->A, even to fix a violation
//               (flapping)                                                    -> veto
//   no_effect   the knob's last change was `kept` (no measurable effect) and the
//               workload has not shifted since: a step further that way, or
//               back to where it came from, unless it fixes a violation       -> veto
//   penalty     the value lies in a region penalized by a rollback (a change
//               that fixes a violation may only move out of the region)       -> veto
// Verify() (defined in verify.cc, with the rest of verification) judges an applied change once
// the verification window has passed and the after-window holds >= min_samples observations
// (it waits up to 5 windows for them, then keeps the change as "inconclusive"). A baseline
// (before-window) with fewer than min_samples is not comparable: the change is then judged on the
// constraints alone and, if they hold, "verified without a baseline" with no realized_improvement /
// signal_to_noise (never a made-up 0%). With both windows full:
//   roll back if any constraint is violated after the change; or the objective got worse by
//   more than noise: |delta| / se(delta) >= min_signal_to_noise with
//   se(delta) = sqrt(se_before^2 + se_after^2) x sqrt((1 + rho) / (1 - rho)) (Autocorrelation); or
//   p99 rose by more than regression_p99_fraction beyond the rise that was predicted and accepted
//   (with SNR >= 1).
// Otherwise the change stays: `verified` when the objective improved with SNR >= min_signal_to_
// noise (or the change was a violation fix, judged on the violation), `kept` when the objective
// moved by less than the noise either way: the change did nothing measurable.
// Thread rule: stateless apart from settings; any thread.

#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/policy.h"
#include "core/clock.h"
#include "core/recommendation.h"
#include "optimizers/models/target_model.h"
#include "optimizers/optimizer.h"

namespace knob {

// What the guard needs to remember per (target, knob).
struct KnobHistory {
  std::optional<MonoTime> last_change;
  // Values the knob was set to, oldest first (last few). Charge() also records the value a
  // change left when it differs from the last entry, so values[size-2] is always the value the
  // last change left (the flap rule depends on it, also for the very first change).
  std::deque<double> values;
  // The last change of the knob was judged `kept`: no measurable effect on the objective. Until
  // the workload shifts, another step the same way (or back to where it came from) is not
  // expected to show one either, so the guard holds the knob (NoEffectRule, guard.cc). Any new
  // change of the knob clears it (Charge).
  struct NoEffect {
    double from = 0, to = 0;
    MonoTime at{};
    std::string summary;  // "16 to 15 changed the objective by +1.0% (signal-to-noise 1.3 < 3.0)"
  };
  std::optional<NoEffect> no_effect;
  void Charge(double from, double to, MonoTime now);
};

struct GuardDecision {
  bool allowed = false;
  double value = 0;
  std::vector<GuardVerdict> verdicts;
  std::string veto_reason;  // first veto, one sentence
  bool quiet = false;       // vetoed only by cooldown/hysteresis: not worth a history record
};

// Lag-1 autocorrelation of the ticks behind the two windows (JudgeChange measures it, verify.h).
// Successive ticks are not independent samples: the variance of a window's mean is var/n x
// (1 + rho) / (1 - rho), i.e. the window holds n_eff = n (1 - rho) / (1 + rho) independent
// samples, and every signal-to-noise test divides by the standard error that n_eff gives.
struct Autocorrelation {
  double objective = 0;  // of the objective's quantity
  double p99 = 0;        // of p99 (the regression-budget test)
};

struct VerifyResult {
  // kKept: applied, nothing broke, and the objective moved by less than the noise.
  enum class Kind { kWait, kVerified, kKept, kRollBack };
  Kind kind = Kind::kWait;
  std::string reason;
  std::map<std::string, double> realized;
  std::vector<std::string> trade_offs;
  // kKept only: the step's optimizer predicted the objective from a model (a miss-ratio curve,
  // a fit). Then the knob follows the model on (its own holds judge a shortfall); a step that
  // predicted nothing for the objective (an idle pool's shrink, a re-probe) was exploration, and
  // the guard stops exploring that way (KnobHistory::no_effect).
  bool predicted_gain = false;
};

class Guard {
 public:
  explicit Guard(const GuardSettings& settings) : settings_(settings) {}
  const GuardSettings& settings() const { return settings_; }

  GuardDecision Review(const Proposal& p, const KnobPolicy& knob, const KnobHistory& history,
                       const TargetModel& model, MonoTime now) const;

  // before: observations at the old value; after: since the change was applied.
  // fixing_violation: the change was made to cure a violated constraint; its objective loss
  // is the accepted trade-off, so only a worse violation (or a new one) rolls it back.
  VerifyResult Verify(Objective objective, const Constraints& constraints,
                      const WindowStats& before, const WindowStats& after,
                      const std::map<std::string, double>& predicted, Duration since_applied,
                      bool fixing_violation = false, Autocorrelation rho = {}) const;

 private:
  GuardSettings settings_;
};

struct ConstraintViolation {
  std::string name;         // "p99_latency", "cpu_pressure", ...
  std::string sentence;     // "cpu pressure 29.8% > 20.0%"
  const RunningStat* stat;  // the window's statistic the constraint is measured on
};
// The window's statistic a constraint ("p99_latency", "cpu_pressure", ...) is measured on.
const RunningStat* ConstraintStat(std::string_view name, const WindowStats& w);
// Every constraint the window violates, in a fixed order.
std::vector<ConstraintViolation> ViolatedConstraints(const Constraints& c, const WindowStats& w);
// Which constraint (if any) the window violates, as "p99_latency" etc., with a sentence.
std::optional<std::pair<std::string, std::string>> ViolatedConstraint(const Constraints& c,
                                                                      const WindowStats& w);

}  // namespace knob
