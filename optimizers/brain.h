// SPDX-License-Identifier: Apache-2.0
#pragma once
// The brain: implements Decider (optimizers/decider.h). Per target it owns a TargetModel, asks
// every optimizer for a proposal on every enabled knob the policy lists and the target reports,
// arbitrates to at most one change per target per tick, runs the guard, tracks the change
// through delivery, application and the verification window, rolls back a change that made
// things worse (and penalizes that region of the model), re-probes the baseline periodically
// with jitter, and keeps a history per target for `knobctl history` / `explain`.
//
// Lifecycle of a recommendation (Recommendation::outcome):
//   returned by Decide: kAdvisory (recommend mode) or kPending (apply mode)
//   -> kApplied when the target acks it (OnOutcome) or reports the new value in its knobs
//   -> kVerified or kRolledBack after the verification window (a rollback is a new
//      Recommendation with scenario "rollback" restoring the old value)
//   or kRejected / kExpired (OnOutcome, or no application before `expires`)
//   or kVetoed (OnOutcome: never delivered, e.g. the operator paused the target): the change
//      is dropped at once, is not charged to the knob's cooldown / flap history, and the
//      target starts no new change for one cooldown.
// Vetoed proposals are recorded with kVetoed unless only cooldown/hysteresis stopped them.
// A change starts only when its baseline (the observations before it, at the current settings;
// TargetModel::Baseline) holds min_samples, so every verification has something to compare.
// Modes: observe models only (Decide returns nothing); recommend and apply both publish.
//
// The parts, one file each (docs/model.md): the optimizers and their owners (optimizer.h,
// all.cc), arbitration (arbiter.h), the guard (guard.h), the periodic re-probe
// (reprobe_optimizer.h), the change in flight (change_tracker.h), judging an applied change
// (verify.h), records and the decision log (history.h), metrics (brain_metrics.h, exported on
// every Observe and right after Load). The brain only orchestrates them per target.
// Thread rule: loop thread only.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "optimizers/arbiter.h"
#include "optimizers/brain_metrics.h"
#include "optimizers/change_tracker.h"
#include "optimizers/decider.h"
#include "optimizers/guard.h"
#include "optimizers/history.h"
#include "optimizers/models/target_model.h"
#include "optimizers/optimizer.h"
#include "optimizers/override_hold.h"
#include "optimizers/reprobe_optimizer.h"

namespace prometheus {
class Registry;
}  // namespace prometheus

namespace knob {

struct BrainOptions {
  // Mean interval between baseline re-probes of a converged target in apply mode (jittered
  // +/-20% per target so a fleet does not probe in sync). Zero disables re-probing.
  Duration reprobe_interval = std::chrono::minutes(30);
  size_t max_history_per_target = 1000;
  size_t max_decision_log = 1000;
  uint64_t seed = 0x6b6e6f62;  // jitter seed (mixed with the target name)
};

// A JSON-friendly summary of one target's model, for `knobctl` / admin queries.
struct ModelSummary {
  std::string target;
  size_t observations = 0;
  struct Usl {
    double alpha = 0, beta = 0, gamma = 0, alpha_se = 0, beta_se = 0, gamma_se = 0;
    double r_squared = 0, confidence = 0;
    std::optional<double> peak;
    int levels = 0;
  };
  std::optional<Usl> usl;
  std::string usl_status;  // why there is no fit, when there is none
  double latency_factor = 1;
  uint64_t workload_shifts = 0;
  std::vector<PoolModel> pools;
  struct Cache {
    std::string name;
    double capacity_bytes = 0, hit_ratio_now = 0;
    std::optional<double> bytes_for_90pct;
  };
  std::vector<Cache> caches;
  std::optional<SchedulingAdvice> scheduling;
  struct PenaltyInfo {
    std::string knob;
    double value = 0;
    int direction = 0;
    double remaining_seconds = 0;
    std::string reason;
  };
  std::vector<PenaltyInfo> penalties;
  std::optional<uint64_t> active_recommendation;  // change in flight
  struct HoldInfo {  // a knob someone else changed, left alone (override_hold.h)
    std::string knob;
    double remaining_seconds = 0;
  };
  std::vector<HoldInfo> override_holds;
  // Why the last tick started no change (empty while one is in flight or was just started),
  // and each knob its owner chose to keep where it is, with the owner's reason.
  std::string holding_still;
  struct Kept {
    std::string knob;
    double value = 0;
    std::string reason;
  };
  std::vector<Kept> kept;
};

class Brain final : public Decider {
 public:
  // registry may be null (tests, knobctl); the families live as long as the registry.
  Brain(Clock& clock, prometheus::Registry* registry, BrainOptions options = {});
  ~Brain() override;

  void Observe(const Policy& policy, const Snapshot& snapshot) override;
  std::vector<Recommendation> Decide(const Policy& policy, const Snapshot& snapshot) override;
  void OnOutcome(uint64_t recommendation_id, Outcome outcome, const std::string& reason) override;
  std::vector<Recommendation> Restore(const Policy& policy, const std::string& target) override;
  Status Save(const std::string& state_dir) const override;
  Status Load(const std::string& state_dir) override;

  // Query API (admin `history TARGET`, `explain ID`, models).
  std::vector<Recommendation> History(const std::string& target) const;  // oldest first
  std::optional<Recommendation> Find(uint64_t id) const;
  std::vector<ModelSummary> Models() const;
  std::optional<ModelSummary> Model(const std::string& target) const;
  // Recent decision-log sentences, oldest first ("raised concurrency_limit of web from 32 ...").
  std::vector<std::string> DecisionLog() const;
  const TargetModel* FindModel(const std::string& target) const;
  // Every optimizer's scenario table, for `knobctl explain` and the docs.
  std::vector<std::pair<std::string, Scenario>> ScenarioTable() const;

  static constexpr const char* kStateFile = "brain-state.json";

 private:
  struct TargetRuntime {
    TargetModel model;
    ChangeTracker change;
    ReprobeState reprobe;
    std::map<std::string, std::string> holds;  // knob -> hold scenario last logged
    // For `knobctl show`: why the last tick started nothing, and the knobs kept that tick.
    std::string still;
    std::vector<ModelSummary::Kept> kept;
    OverrideHold overrides;
  };
  // Overrides in this report: recorded once each, a change of the knob in flight given up.
  void CheckOverrides(const TargetPolicy& tp, const GuardSettings& g, const TargetSnapshot& ts,
                      MonoTime now, TargetRuntime& rt);

  // One target's tick when no change is in flight: at most one new change.
  std::optional<Recommendation> Step(const TargetPolicy& tp, const GuardSettings& g,
                                     const TargetSnapshot& ts, const HostSnapshot& host,
                                     MonoTime now, TargetRuntime& rt);
  // Every owner's proposals for the target's enabled, reported knobs (holds go to the log).
  std::vector<Candidate> Collect(const TargetPolicy& tp, const GuardSettings& g,
                                 const TargetSnapshot& ts, const HostSnapshot& host, MonoTime now,
                                 TargetRuntime& rt);
  // The first ranked candidate the guard allows, sent; vetoes recorded once in a row. When
  // none is allowed, rt.still says why the best one was not.
  std::optional<Recommendation> Send(const TargetPolicy& tp, const GuardSettings& g,
                                     const std::vector<Candidate>& ranked, bool is_reprobe,
                                     std::map<std::string, double> settings, MonoTime now,
                                     TargetRuntime& rt);
  // rt.still when no optimizer proposed a step (the knobs kept on purpose are in rt.kept).
  static std::string StillReason(const TargetPolicy& tp, const TargetSnapshot& ts,
                                 const TargetRuntime& rt, MonoTime now);
  // state_dir/originals.json into targets_; a missing file is fine, a corrupt one is moved aside.
  Status LoadOverrides(const std::string& state_dir);
  Recommendation MakeRecommendation(const TargetPolicy& tp, const GuardSettings& g,
                                    const Proposal& p, double value);

  Clock& clock_;
  BrainOptions options_;
  std::vector<std::unique_ptr<Optimizer>> optimizers_;
  BrainMetrics metrics_;  // before history_, which counts on it
  OverrideMetrics override_metrics_;
  DecisionHistory history_;
  ReprobeSchedule reprobe_schedule_;
  ReprobeOptimizer reprobe_;  // after optimizers_, whose owners it asks for predictions
  std::map<std::string, TargetRuntime> targets_;
  Duration delivery_hold_ = std::chrono::seconds(30);  // the policy's cooldown, as last seen
};

}  // namespace knob
