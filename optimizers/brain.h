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
// Metrics (registered on the registry given to the constructor; see docs/metrics.md):
//   knobd_recommendations_total{target,knob,outcome}   counter, one per outcome transition
//   knobd_recommended_value{target,knob}               gauge, last recommended value
//   knobd_predicted_value{target,knob,quantity}        gauge, prediction of the last change
//   knobd_realized_value{target,knob,quantity}         gauge, measured after verification
//   knobd_model_usl_peak_concurrency{target}           gauge, N* (absent without a peak)
//   knobd_model_fit_r_squared{target,model}            gauge
//   knobd_model_confidence{target,model}               gauge, 0..1
//   knobd_model_workload_shifts_total{target}          counter
//   knobd_model_observations{target}                   gauge, observations held (restored too)
//   knobd_model_penalized_regions{target,knob}         gauge, active penalties from rollbacks
// The model gauges are exported on every Observe and right after Load.
// Thread rule: loop thread only.

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "core/clock.h"
#include "optimizers/decider.h"
#include "optimizers/guard.h"
#include "optimizers/models/target_model.h"
#include "optimizers/optimizer.h"

namespace prometheus {
class Registry;
template <typename T>
class Family;
class Counter;
class Gauge;
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
};

class Brain final : public Decider {
 public:
  // registry may be null (tests, knobctl); the families live as long as the registry.
  Brain(Clock& clock, prometheus::Registry* registry, BrainOptions options = {});
  ~Brain() override;

  void Observe(const Policy& policy, const Snapshot& snapshot) override;
  std::vector<Recommendation> Decide(const Policy& policy, const Snapshot& snapshot) override;
  void OnOutcome(uint64_t recommendation_id, Outcome outcome, const std::string& reason) override;
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
  struct ActiveChange {
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
  };
  struct TargetRuntime {
    TargetModel model;
    std::map<std::string, KnobHistory> knobs;
    std::optional<ActiveChange> active;
    std::optional<MonoTime> next_reprobe;
    int reprobe_direction = 1;
    std::deque<uint64_t> history;  // recommendation ids, oldest first
    // After a change was vetoed on delivery (operator pause, observe mode), no new change is
    // started before this, so a paused target is not sent (and does not record) one per tick.
    std::optional<MonoTime> delivery_hold_until;
    std::map<std::string, std::string> holds;  // knob -> hold reason last logged
  };
  struct Metrics;

  TargetRuntime& Runtime(const std::string& target);
  Recommendation& Record(Recommendation rec);
  void SetOutcome(Recommendation& rec, Outcome o, const std::string& reason);
  void Log(std::string sentence);
  std::optional<Recommendation> Step(const TargetPolicy& tp, const GuardSettings& g,
                                     const TargetSnapshot& ts, const HostSnapshot& host,
                                     MonoTime now, TargetRuntime& rt);
  std::optional<Recommendation> Track(const TargetPolicy& tp, const GuardSettings& g,
                                      const TargetSnapshot& ts, MonoTime now, TargetRuntime& rt);
  Recommendation MakeRecommendation(const TargetPolicy& tp, const GuardSettings& g,
                                    const Proposal& p, double value, MonoTime now);
  void ScheduleReprobe(const std::string& target, MonoTime now, TargetRuntime& rt);
  std::optional<PastChange> LastJudgedChange(const TargetRuntime& rt,
                                             const std::string& knob) const;
  void ExportModel(const std::string& target, const TargetModel& m);

  Clock& clock_;
  BrainOptions options_;
  std::vector<std::unique_ptr<Optimizer>> optimizers_;
  std::map<std::string, TargetRuntime> targets_;
  std::map<uint64_t, Recommendation> records_;
  std::map<uint64_t, std::string> record_target_;
  std::deque<std::string> decision_log_;
  uint64_t next_id_ = 1;
  Duration delivery_hold_ = std::chrono::seconds(30);  // the policy's cooldown, as last seen
  std::mt19937_64 rng_;
  std::unique_ptr<Metrics> metrics_;
};

// "raised concurrency_limit of web from 32 to 40: <reason>" (decision-log sentence).
std::string DescribeStep(const std::string& target, const std::string& knob, double old_value,
                         double new_value, const std::string& reason);

}  // namespace knob
