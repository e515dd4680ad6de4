// SPDX-License-Identifier: Apache-2.0
#pragma once
// One interface for every optimizer: given the target's policy and model and one knob's current
// value, propose a value with the reason in words, the prediction for the objective and every
// constrained quantity, the binding constraint, the confidence and the trade-offs.
// Optimizers propose targets (where the knob should end up); the guard (guard.h) limits each
// step (max_step), enforces bounds, cooldown, hysteresis and penalized regions.
// Contract: a proposal never crosses a constraint the model can predict; when the model is too
// thin it may explore (exploratory = true) with one small step in a direction no predicted
// constraint forbids.
// Thread rule: optimizers are stateless; loop thread (any thread, in fact).

#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/policy.h"
#include "core/clock.h"
#include "core/snapshot.h"
#include "optimizers/models/target_model.h"

namespace knob {

// Every reason an optimizer may act, in words (bpftune-style scenario table).
struct Scenario {
  std::string_view id;
  std::string_view description;
};

// The last judged change of a knob (verified or rolled back; not a rollback itself), from the
// brain's history: what the previous move really did, measured against its baseline.
struct PastChange {
  double old_value = 0, new_value = 0;
  bool verified = false;                  // kept; false: rolled back
  std::optional<double> improvement;      // realized relative objective change, when comparable
  std::optional<double> signal_to_noise;  // of that change
};

struct OptimizerInput {
  const TargetPolicy& policy;
  const GuardSettings& guard;
  const TargetModel& model;
  const HostSnapshot& host;
  std::string knob;
  double current = 0;
  KnobPolicy knob_policy;
  std::optional<PastChange> last_change = std::nullopt;  // of this knob, when there is one
  // The brain's tick (penalties are judged at it).
  MonoTime now{};
  // A re-probe turn (ReprobeOptimizer, reprobe_optimizer.h): the direction to try first, +1 or
  // -1; 0 on an ordinary turn.
  int reprobe_direction = 0;
  // A list-valued knob (a CPU list, core/cpu_list.h): its current list; `current` is its size.
  std::string current_list = {};
};

struct Proposal {
  std::string knob;
  double current = 0;
  double value = 0;
  std::string optimizer;
  std::string scenario;
  std::string reason;  // the clause after "raised X of T from A to B: "
  std::map<std::string, double> triggers;
  std::map<std::string, double> predicted;  // "throughput", "p99_seconds", "cpu_cores", ...
  std::string binding_constraint;
  double confidence = 0;
  std::vector<std::string> trade_offs;
  // Predicted relative improvement of the objective (0.05 = 5% better); used to arbitrate.
  double expected_gain = 0;
  bool exploratory = false;
  bool fixes_violation = false;  // acts because a constraint is violated now: goes first
  bool categorical = false;      // a code or bitmask, not a quantity: no max_step or hysteresis
  // A list-valued knob: the current and proposed CPU lists (current/value are their sizes); a
  // proposal differs from the current setting when either the value or the list does.
  std::string current_list = {}, value_list = {};
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  virtual std::string_view Name() const = 0;
  virtual bool Handles(std::string_view knob) const = 0;
  virtual std::span<const Scenario> Scenarios() const = 0;
  virtual std::optional<Proposal> Propose(const OptimizerInput& in) const = 0;

  // Exactly one optimizer of AllOptimizers() owns each knob (the table in all.cc): the brain asks
  // only the owner. By default an optimizer owns what it handles.
  virtual bool Owns(std::string_view knob) const { return Handles(knob); }
  // Every proposal for a knob this optimizer owns, in its scenario order (the arbiter ranks
  // them); by default Propose's alone.
  virtual std::vector<Proposal> Candidates(const OptimizerInput& in) const;
  // What the optimizer's model predicts ("throughput", "p99_seconds", ...) with knob at value,
  // for a step the guard shortened or a re-probe; empty when it predicts nothing there.
  virtual std::map<std::string, double> Predict(const TargetModel& model, std::string_view knob,
                                                double value) const;
};

// The one list of optimizers (optimizers/all.cc), in arbitration tie-break order.
std::vector<std::unique_ptr<Optimizer>> AllOptimizers();
// The optimizer of all that owns knob, or null.
const Optimizer* OwnerOf(const std::vector<std::unique_ptr<Optimizer>>& all, std::string_view knob);

// Helpers shared by the optimizers.
double KnobMin(const KnobPolicy& k, double fallback);
double KnobMax(const KnobPolicy& k, double fallback);
// Largest change per decision: max(1, floor(|current| x fraction)) with the knob's fraction or
// GuardSettings::default_max_step_fraction; max_step_abs alone replaces it; both: the smaller.
double MaxStep(double current, const KnobPolicy& k, const GuardSettings& g);
// One guard-sized step from current in direction (+1/-1), inside the bounds.
double OneStep(double current, int direction, const KnobPolicy& k, const GuardSettings& g);
std::optional<double> P99LimitSeconds(const Constraints& c);

}  // namespace knob
