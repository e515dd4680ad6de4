// SPDX-License-Identifier: Apache-2.0
#pragma once
// The change in flight of one target (docs/model.md "Verification", "Not delivered"): at most one
// at a time, so every effect is attributable to one knob.
//   Start          sent (charged to the knob's KnobHistory, the guard's memory)
//   Track          -> applied when the target reports the new value (or OnOutcome acks it)
//                  -> verified, or rolled back: the original gets kRolledBack, its region a
//                     penalty (verify.h), and a new "rollback" recommendation restores the old
//                     value (returned, and tracked in turn)
//                  -> expired when not applied before `expires`
//   OnOutcome      acks, rejections, expiry, and vetoes (never delivered: the change is dropped
//                  and uncharged, and no new change starts for one cooldown)
// It owns the change in flight, the per-knob histories and the delivery hold; the records live in
// DecisionHistory (history.h).
// Thread rule: loop thread only.

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "config/policy.h"
#include "core/clock.h"
#include "core/recommendation.h"
#include "core/snapshot.h"
#include "optimizers/brain_metrics.h"
#include "optimizers/guard.h"
#include "optimizers/history.h"
#include "optimizers/models/target_model.h"

namespace knob {

// How long a recommendation waits for its application: max(3 verification windows, 2 cooldowns).
Duration ChangeLifetime(const GuardSettings& g);

class ChangeTracker {
 public:
  bool InFlight() const { return active_.has_value(); }
  std::optional<uint64_t> active_id() const {
    return active_ ? std::optional<uint64_t>(active_->id) : std::nullopt;
  }
  // A vetoed delivery holds new changes until then.
  bool Held(MonoTime now) const { return hold_until_ && now < *hold_until_; }
  std::optional<MonoTime> hold_until() const { return hold_until_; }

  std::map<std::string, KnobHistory>& knobs() { return knobs_; }
  const std::map<std::string, KnobHistory>& knobs() const { return knobs_; }

  // r was sent now (from p.current to r.new_value): charge its knob and wait for it.
  // baseline_knobs: the tuned settings in force when it was decided.
  void Start(const Recommendation& r, double from, bool is_reprobe, bool fixes_violation,
             std::map<std::string, double> baseline_knobs, const GuardSettings& g, MonoTime now);

  // One tick of the change in flight; returns a rollback to send, if it was rolled back.
  std::optional<Recommendation> Track(const TargetPolicy& tp, const GuardSettings& g,
                                      const TargetSnapshot& ts, MonoTime now, WallTime wall_now,
                                      TargetModel& model, DecisionHistory& history,
                                      BrainMetrics& metrics);

  // The control side's word on rec (a record of this target). delivery_hold: the policy's
  // cooldown, as last seen.
  void OnOutcome(Recommendation& rec, Outcome outcome, const std::string& reason, MonoTime now,
                 Duration delivery_hold, DecisionHistory& history);

 private:
  struct Active {
    uint64_t id = 0;
    std::string knob;
    double old_value = 0, new_value = 0;
    MonoTime sent{};
    std::optional<MonoTime> applied;
    MonoTime expires{};
    bool is_rollback = false;
    bool is_reprobe = false;
    bool fixes_violation = false;
    // The knob's history before this change charged it, restored if the change is never
    // delivered (vetoed by an operator pause / observe mode), so cooldown and the flap rule
    // count only changes that happened.
    KnobHistory prior_history{};
    // The settings in force when it was decided: its baseline is measured at exactly these.
    std::map<std::string, double> baseline_knobs{};
    // A list-valued knob: the lists (old/new_value are their sizes); empty for a number.
    std::string old_list{}, new_list{};
  };
  std::optional<Recommendation> RollBack(const TargetPolicy& tp, const GuardSettings& g,
                                         const TargetSnapshot& ts, MonoTime now, WallTime wall_now,
                                         const Recommendation& rec, const std::string& why,
                                         const std::map<std::string, double>& realized,
                                         DecisionHistory& history, BrainMetrics& metrics);

  std::optional<Active> active_;
  std::map<std::string, KnobHistory> knobs_;
  std::optional<MonoTime> hold_until_;
};

}  // namespace knob
