// SPDX-License-Identifier: Apache-2.0
// knobd's real brain as a tuner: optimizers/Brain through the Decider interface, on a manual
// clock, in apply mode, with the guard defaults a policy file gets (docs/policy.md). A
// recommendation is applied at once and acknowledged as the daemon's control server would on the
// target's ack; a rollback is a recommendation like any other (scenario "rollback").
#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "bench/tuning/tuner.h"
#include "config/policy.h"
#include "optimizers/brain.h"

namespace knob::tuning {
namespace {

// Time moves only when the benchmark says so.
class ManualClock final : public Clock {
 public:
  MonoTime Now() const override { return now_; }
  WallTime WallNow() const override { return wall_; }
  void Advance(Duration d) {
    now_ += d;
    wall_ += std::chrono::duration_cast<WallTime::duration>(d);
  }

 private:
  MonoTime now_{std::chrono::hours(1)};
  WallTime wall_{std::chrono::seconds(1'800'000'000)};
};

class KnobdTuner final : public Tuner {
 public:
  explicit KnobdTuner(const Scenario& s) : brain_(clock_, nullptr, BrainOptions{}), id_(s.id) {
    TargetPolicy t;
    t.name = "svc";
    t.selector.registered = "svc";
    t.mode = Mode::kApply;
    t.objective = Objective::kMaximizeThroughput;
    t.constraints.p99_latency =
        std::chrono::nanoseconds(static_cast<int64_t>(s.p99_slo_seconds * 1e9));
    t.constraints.error_rate = s.max_error_ratio;
    if (s.memory_cap_bytes) t.constraints.memory_bytes = static_cast<uint64_t>(*s.memory_cap_bytes);
    for (const KnobSpec& k : s.knobs) {
      KnobPolicy kp;
      kp.min = k.min;
      kp.max = k.max;
      t.knobs[k.name] = kp;
    }
    policy_.source = "<tuning-bench>";
    policy_.global.mode = Mode::kApply;
    if (s.knobd_guard) policy_.global.guard = *s.knobd_guard;
    policy_.targets.push_back(t);
  }
  std::string Name() const override { return "knobd"; }
  Knobs Tick(const Snapshot& snap, const Knobs&) override {
    clock_.Advance(std::chrono::seconds(1));
    Snapshot s = snap;
    s.time = clock_.Now();
    s.wall_time = clock_.WallNow();
    brain_.Observe(policy_, s);
    Knobs change;
    for (const Recommendation& r : brain_.Decide(policy_, s)) {
      if (r.scenario == "rollback") ++rollbacks_;
      if (r.advisory) continue;
      change[r.knob] = r.new_value;
      brain_.OnOutcome(r.id, Outcome::kApplied, "");
    }
    return change;
  }
  // KNOB_TUNING_TRACE=1: the decision log of every run on stderr, to read why knobd went where.
  ~KnobdTuner() override {
    if (!std::getenv("KNOB_TUNING_TRACE")) return;
    for (const std::string& line : brain_.DecisionLog())
      std::fprintf(stderr, "[%s] %s\n", id_.c_str(), line.c_str());
  }
  int Rollbacks() const override { return rollbacks_; }
  int ShiftAlarms() const override {
    auto m = brain_.Model("svc");
    return m ? static_cast<int>(m->workload_shifts) : 0;
  }
  std::string Note() const override {
    std::vector<std::string> log = brain_.DecisionLog();
    return log.empty() ? "" : log.back();
  }

 private:
  ManualClock clock_;
  Brain brain_;
  Policy policy_;
  std::string id_;
  int rollbacks_ = 0;
};

}  // namespace

std::unique_ptr<Tuner> MakeKnobdTuner(const Scenario& s) { return std::make_unique<KnobdTuner>(s); }

}  // namespace knob::tuning
