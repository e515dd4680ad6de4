// SPDX-License-Identifier: Apache-2.0
#include "optimizers/guard.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/format.h"

namespace knob {
namespace {

std::string Num(double v) { return FormatNumber(v, NumberStyle{.whole_as_integer = false}); }

}  // namespace

void KnobHistory::Charge(double from, double to, MonoTime now) {
  last_change = now;
  no_effect.reset();
  if (values.empty() || values.back() != from) values.push_back(from);
  values.push_back(to);
  while (values.size() > 8) values.pop_front();
}

std::vector<ConstraintViolation> ViolatedConstraints(const Constraints& c, const WindowStats& w) {
  std::vector<ConstraintViolation> out;
  auto check = [&](const char* name, const RunningStat& s, double limit, std::string sentence) {
    if (s.n > 0 && s.mean > limit) out.push_back({name, std::move(sentence), &s});
  };
  if (c.p99_latency) {
    double lim = std::chrono::duration<double>(*c.p99_latency).count();
    check("p99_latency", w.p99_seconds, lim,
          fmt::format("p99 {:.1f} ms > SLO {:.1f} ms", 1000 * w.p99_seconds.mean, 1000 * lim));
  }
  if (c.error_rate)
    check(
        "error_rate", w.error_rate, *c.error_rate,
        fmt::format("error rate {:.3f}% > {:.3f}%", 100 * w.error_rate.mean, 100 * *c.error_rate));
  if (c.cpu_cores)
    check("cpu_cores", w.cpu_cores, *c.cpu_cores,
          fmt::format("{:.2f} cores > {:.2f}", w.cpu_cores.mean, *c.cpu_cores));
  if (c.memory_bytes)
    check("memory_bytes", w.memory_bytes, static_cast<double>(*c.memory_bytes),
          fmt::format("rss {:.0f} B > {} B", w.memory_bytes.mean, *c.memory_bytes));
  if (c.cpu_pressure)
    check("cpu_pressure", w.cpu_pressure, *c.cpu_pressure,
          fmt::format("cpu pressure {:.1f}% > {:.1f}%", 100 * w.cpu_pressure.mean,
                      100 * *c.cpu_pressure));
  if (c.memory_pressure)
    check("memory_pressure", w.memory_pressure, *c.memory_pressure,
          fmt::format("memory pressure {:.1f}% > {:.1f}%", 100 * w.memory_pressure.mean,
                      100 * *c.memory_pressure));
  if (c.io_pressure)
    check("io_pressure", w.io_pressure, *c.io_pressure,
          fmt::format("io pressure {:.1f}% > {:.1f}%", 100 * w.io_pressure.mean,
                      100 * *c.io_pressure));
  if (c.runqueue_delay) {
    double lim = std::chrono::duration<double>(*c.runqueue_delay).count();
    check("runqueue_delay", w.runqueue_delay_seconds, lim,
          fmt::format("run-queue delay {:.2f} ms > {:.2f} ms", 1000 * w.runqueue_delay_seconds.mean,
                      1000 * lim));
  }
  return out;
}

const RunningStat* ConstraintStat(std::string_view name, const WindowStats& w) {
  if (name == "p99_latency") return &w.p99_seconds;
  if (name == "error_rate") return &w.error_rate;
  if (name == "cpu_cores") return &w.cpu_cores;
  if (name == "memory_bytes") return &w.memory_bytes;
  if (name == "cpu_pressure") return &w.cpu_pressure;
  if (name == "memory_pressure") return &w.memory_pressure;
  if (name == "io_pressure") return &w.io_pressure;
  if (name == "runqueue_delay") return &w.runqueue_delay_seconds;
  return nullptr;
}

std::optional<std::pair<std::string, std::string>> ViolatedConstraint(const Constraints& c,
                                                                      const WindowStats& w) {
  auto all = ViolatedConstraints(c, w);
  if (all.empty()) return std::nullopt;
  return std::make_pair(all.front().name, all.front().sentence);
}

namespace {

// What every review rule reads. A rule appends its verdict and returns true to hand the proposal
// to the next rule, or vetoes it (Veto) and returns false.
struct ReviewInput {
  const Proposal& p;
  const KnobPolicy& knob;
  const KnobHistory& history;
  const TargetModel& model;
  MonoTime now;
  const GuardSettings& settings;
};

bool Veto(GuardDecision& d, std::string guard, std::string reason, bool quiet) {
  d.verdicts.push_back({std::move(guard), Verdict::kVeto, reason});
  if (d.veto_reason.empty()) {
    d.veto_reason = std::move(reason);
    d.quiet = quiet;
  }
  d.allowed = false;
  return false;
}

bool EnabledRule(const ReviewInput& in, GuardDecision& d) {
  if (!in.knob.enabled)
    return Veto(d, "enabled", "the knob is frozen by the policy (enabled: false)", true);
  return true;
}

bool BoundsRule(const ReviewInput& in, GuardDecision& d) {
  if (in.knob.min && d.value < *in.knob.min) {
    d.verdicts.push_back(
        {"bounds", Verdict::kClamp,
         fmt::format("{} raised to the minimum {}", Num(d.value), Num(*in.knob.min))});
    d.value = *in.knob.min;
  } else if (in.knob.max && d.value > *in.knob.max) {
    d.verdicts.push_back(
        {"bounds", Verdict::kClamp,
         fmt::format("{} lowered to the maximum {}", Num(d.value), Num(*in.knob.max))});
    d.value = *in.knob.max;
  } else {
    d.verdicts.push_back({"bounds", Verdict::kAllow, "inside the bounds"});
  }
  return true;
}

bool MaxStepRule(const ReviewInput& in, GuardDecision& d) {
  if (in.p.categorical) return true;
  double step = MaxStep(in.p.current, in.knob, in.settings);
  if (std::fabs(d.value - in.p.current) > step + 1e-9) {
    double v = in.p.current + (d.value > in.p.current ? step : -step);
    d.verdicts.push_back(
        {"max_step", Verdict::kClamp,
         fmt::format("step limited to {} (from {} to {})", Num(step), Num(d.value), Num(v))});
    d.value = v;
  } else {
    d.verdicts.push_back({"max_step", Verdict::kAllow, fmt::format("step within {}", Num(step))});
  }
  return true;
}

bool CooldownRule(const ReviewInput& in, GuardDecision& d) {
  const KnobHistory& h = in.history;
  if (h.last_change && in.now - *h.last_change < in.settings.cooldown) {
    return Veto(d, "cooldown",
                fmt::format("changed {:.0f} s ago, cooldown is {:.0f} s",
                            ToSeconds(in.now - *h.last_change), ToSeconds(in.settings.cooldown)),
                true);
  }
  d.verdicts.push_back({"cooldown", Verdict::kAllow, "cooldown elapsed"});
  return true;
}

bool HysteresisRule(const ReviewInput& in, GuardDecision& d) {
  const Proposal& p = in.p;
  const KnobHistory& history = in.history;
  double delta = std::fabs(d.value - p.current);
  if (delta == 0) return Veto(d, "hysteresis", "no change after clamping", true);
  // One unit is the minimum step (max(1, 10%)), so it is always a real move.
  if (!p.categorical && delta < in.settings.hysteresis_fraction * std::fabs(p.current) &&
      std::fabs(delta - 1) > 1e-9) {
    return Veto(d, "hysteresis", fmt::format("change {} is below the hysteresis band", Num(delta)),
                true);
  }
  if (history.values.size() >= 2 && history.last_change &&
      d.value == history.values[history.values.size() - 2]) {
    // A knob that already went A->B->A and now wants B again is oscillating, not converging:
    // hold it four times longer than a single return.
    const size_t n = history.values.size();
    const bool oscillated = n >= 3 && history.values[n - 3] == history.values[n - 1] &&
                            history.values[n - 1] != d.value;
    const Duration window = (oscillated ? 16 : 4) * in.settings.cooldown;
    // A violation to fix excuses a single return (undoing the step that caused it), not a third
    // visit: after A->B->A, B was already tried and left, and a proposal's claim to fix a
    // violation flickers from tick to tick (a pool at 3.99 vs 4.0 Erlangs), so it must not
    // turn the veto of one tick into an allow on the next.
    if ((!p.fixes_violation || oscillated) && in.now - *history.last_change < window) {
      return Veto(d, "hysteresis",
                  fmt::format("returning to {} so soon would flap{}", Num(d.value),
                              oscillated ? fmt::format(" (it already went {} -> {} -> {})",
                                                       Num(history.values[n - 3]), Num(d.value),
                                                       Num(history.values[n - 1]))
                                         : ""),
                  false);
    }
  }
  d.verdicts.push_back({"hysteresis", Verdict::kAllow, "outside the hysteresis band"});
  return true;
}

// A step that showed no measurable effect says the objective is flat here: the next step the
// same way is expected to show none either (and a return just undoes a change that cost
// nothing), so the knob holds until the workload changes or a constraint needs it.
bool NoEffectRule(const ReviewInput& in, GuardDecision& d) {
  const auto& ne = in.history.no_effect;
  const auto shift = in.model.last_shift();
  if (ne && !in.p.fixes_violation && !(shift && *shift > ne->at)) {
    const bool same_way = (d.value > in.p.current) == (ne->to > ne->from);
    if (same_way || d.value == ne->from) {
      return Veto(d, "no_effect",
                  fmt::format("holding still: the last step, {}, had no measurable effect, so "
                              "{} is not expected to show one; waiting for a workload change or "
                              "a violated constraint",
                              ne->summary, same_way ? "a step further that way" : "going back"),
                  false);
    }
  }
  d.verdicts.push_back({"no_effect", Verdict::kAllow, "no step without effect to repeat"});
  return true;
}

bool PenaltyRule(const ReviewInput& in, GuardDecision& d) {
  if (const Penalty* pen = in.model.PenaltyFor(in.p.knob, d.value, in.now)) {
    if (!in.p.fixes_violation || (pen->direction > 0) == (d.value > in.p.current)) {
      return Veto(d, "penalty",
                  fmt::format("{} lies in a region penalized by a rollback ({})", Num(d.value),
                              pen->reason),
                  false);
    }
  }
  d.verdicts.push_back({"penalty", Verdict::kAllow, "no penalized region"});
  return true;
}

// The review rules in the order they run (docs/model.md, "The guard"): the bounds and the step
// limit shape the value first, so cooldown, hysteresis and penalties judge the value that would
// actually be sent.
constexpr bool (*kReviewRules[])(const ReviewInput&, GuardDecision&) = {
    EnabledRule, BoundsRule, MaxStepRule, CooldownRule, HysteresisRule, NoEffectRule, PenaltyRule,
};

}  // namespace

GuardDecision Guard::Review(const Proposal& p, const KnobPolicy& knob, const KnobHistory& history,
                            const TargetModel& model, MonoTime now) const {
  GuardDecision d;
  d.value = p.value;
  const ReviewInput in{p, knob, history, model, now, settings_};
  for (auto* rule : kReviewRules) {
    if (!rule(in, d)) return d;
  }
  d.allowed = true;
  return d;
}

}  // namespace knob
