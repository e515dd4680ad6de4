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

// The least recently changed enabled knob the target reports (a never-changed one first).
const std::string* LeastRecentlyChanged(const TargetPolicy& tp, const AppReport& app,
                                        const std::map<std::string, KnobHistory>& knobs) {
  const std::string* pick = nullptr;
  std::optional<MonoTime> oldest;
  for (const auto& [knob, kp] : tp.knobs) {
    if (!kp.enabled || !app.knobs.count(knob)) continue;
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

}  // namespace

std::span<const Scenario> ReprobeOptimizer::Scenarios() const { return kScenarios; }

void ReprobeOptimizer::EnsureScheduled(const std::string& target, MonoTime now, ReprobeState& s) {
  if (!s.next) Schedule(target, now, s);
}

void ReprobeOptimizer::Schedule(const std::string& target, MonoTime now, ReprobeState& s) {
  if (interval_ <= Duration::zero()) return;
  // Per-target jitter: mix the target name into the draw so targets drift apart.
  std::uniform_real_distribution<double> u(0.8, 1.2);
  double f =
      u(rng_) * (0.9 + 0.2 * static_cast<double>(std::hash<std::string>{}(target) % 1000) / 1000.0);
  s.next = now + ToDuration(ToSeconds(interval_) * std::clamp(f, 0.8, 1.2));
}

std::optional<Proposal> ReprobeOptimizer::Propose(
    const TargetPolicy& tp, const GuardSettings& g, const AppReport& app, const TargetModel& model,
    const std::map<std::string, KnobHistory>& knobs,
    const std::vector<std::unique_ptr<Optimizer>>& owners, MonoTime now, ReprobeState& s) {
  if (tp.mode != Mode::kApply || !s.next || now < *s.next || interval_ <= Duration::zero())
    return std::nullopt;
  std::optional<Proposal> out;
  if (const std::string* pick = LeastRecentlyChanged(tp, app, knobs)) {
    const KnobPolicy& kp = tp.knobs.at(*pick);
    const double cur = app.knobs.at(*pick);
    // Never probe across a constraint the model can predict: an upward probe whose predicted
    // p99 exceeds the SLO goes down instead.
    const Optimizer* owner = OwnerOf(owners, *pick);
    auto crosses = [&](double v) {
      const auto slo = P99LimitSeconds(tp.constraints);
      if (!slo || !owner || !(v > cur)) return false;
      auto predicted = owner->Predict(model, *pick, v);
      auto p99 = predicted.find("p99_seconds");
      return p99 != predicted.end() && p99->second > *slo;
    };
    double v = OneStep(cur, s.direction, kp, g);
    if (v == cur || crosses(v) || model.PenaltyFor(*pick, v, now))
      v = OneStep(cur, -s.direction, kp, g);
    if (crosses(v) || model.PenaltyFor(*pick, v, now)) v = cur;
    s.direction = -s.direction;
    if (v != cur) {
      Proposal p;
      p.knob = *pick;
      p.current = cur;
      p.value = v;
      p.optimizer = std::string(Name());
      p.scenario = "reprobe";
      p.reason =
          "periodic re-probe of the baseline (kept only if the verification window confirms it)";
      p.exploratory = true;
      p.confidence = 0.1;
      if (model.latest()) {
        p.triggers["throughput"] = model.latest()->throughput;
        if (model.latest()->p99_seconds) p.predicted["p99_seconds"] = *model.latest()->p99_seconds;
      }
      out = std::move(p);
    }
  }
  Schedule(tp.name, now, s);
  return out;
}

}  // namespace knob
