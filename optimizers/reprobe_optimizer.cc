// SPDX-License-Identifier: Apache-2.0
#include "optimizers/reprobe_optimizer.h"

#include <algorithm>
#include <array>
#include <functional>

namespace knob {
namespace {

constexpr std::array<Scenario, 1> kScenarios = {{
    {"reprobe",
     "converged and quiet: one step away from the "
     "current value, periodically with jitter, to "
     "re-measure the baseline"},
}};

Duration ToDuration(double seconds) {
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(seconds));
}

}  // namespace

void ReprobeSchedule::EnsureScheduled(const std::string& target, MonoTime now, ReprobeState& s) {
  if (!s.next) Schedule(target, now, s);
}

bool ReprobeSchedule::Due(const TargetPolicy& tp, MonoTime now, const ReprobeState& s) const {
  return tp.mode == Mode::kApply && s.next && now >= *s.next && interval_ > Duration::zero();
}

void ReprobeSchedule::Schedule(const std::string& target, MonoTime now, ReprobeState& s) {
  if (interval_ <= Duration::zero()) return;
  // Per-target jitter: mix the target name into the draw so targets drift apart.
  std::uniform_real_distribution<double> u(0.8, 1.2);
  double f =
      u(rng_) * (0.9 + 0.2 * static_cast<double>(std::hash<std::string>{}(target) % 1000) / 1000.0);
  s.next = now + ToDuration(ToSeconds(interval_) * std::clamp(f, 0.8, 1.2));
}

bool ReprobeOptimizer::Handles(std::string_view knob) const {
  (void)knob;
  return true;
}

bool ReprobeOptimizer::Owns(std::string_view knob) const {
  (void)knob;
  return false;
}

std::span<const Scenario> ReprobeOptimizer::Scenarios() const { return kScenarios; }

const std::string* ReprobeOptimizer::LeastRecentlyChanged(
    const TargetPolicy& tp, const AppReport& app, const std::map<std::string, KnobHistory>& knobs) {
  const std::string* pick = nullptr;
  std::optional<MonoTime> oldest;
  for (const auto& [knob, kp] : tp.knobs) {
    // A CPU list has no "a step either way" to re-probe.
    if (!kp.enabled || !app.knobs.count(knob) || app.knob_lists.count(knob)) continue;
    auto h = knobs.find(knob);
    std::optional<MonoTime> last = h == knobs.end() ? std::nullopt : h->second.last_change;
    if (!pick || (!last) || (oldest && last && *last < *oldest)) {
      pick = &knob;
      oldest = last;
      if (!last) break;
    }
  }
  return pick;
}

std::map<std::string, double> ReprobeOptimizer::Predict(const TargetModel& model,
                                                        std::string_view knob, double value) const {
  const Optimizer* owner = OwnerOf(owners_, knob);
  return owner ? owner->Predict(model, knob, value) : std::map<std::string, double>{};
}

std::optional<Proposal> ReprobeOptimizer::Propose(const OptimizerInput& in) const {
  if (in.reprobe_direction == 0) return std::nullopt;
  const TargetModel& model = in.model;
  const double cur = in.current;
  const MonoTime now = in.now;
  // Never probe across a constraint the model can predict: an upward probe whose predicted
  // p99 exceeds the SLO goes down instead.
  auto crosses = [&](double v) {
    const auto slo = P99LimitSeconds(in.policy.constraints);
    if (!slo || !(v > cur)) return false;
    auto predicted = Predict(model, in.knob, v);
    auto p99 = predicted.find("p99_seconds");
    return p99 != predicted.end() && p99->second > *slo;
  };
  double v = OneStep(cur, in.reprobe_direction, in.knob_policy, in.guard);
  if (v == cur || crosses(v) || model.PenaltyFor(in.knob, v, now))
    v = OneStep(cur, -in.reprobe_direction, in.knob_policy, in.guard);
  if (crosses(v) || model.PenaltyFor(in.knob, v, now)) v = cur;
  if (v == cur) return std::nullopt;
  Proposal p;
  p.knob = in.knob;
  p.current = cur;
  p.value = v;
  p.optimizer = std::string(Name());
  p.scenario = "reprobe";
  p.reason = "periodic re-probe of the baseline (kept only if the verification window confirms it)";
  p.exploratory = true;
  p.confidence = 0.1;
  if (model.latest()) {
    p.triggers["throughput"] = model.latest()->throughput;
    if (model.latest()->p99_seconds) p.predicted["p99_seconds"] = *model.latest()->p99_seconds;
  }
  return p;
}

}  // namespace knob
