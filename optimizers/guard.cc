// SPDX-License-Identifier: Apache-2.0
#include "optimizers/guard.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace knob {
namespace {

std::string Num(double v) { return fmt::format("{:g}", v); }

}  // namespace

void KnobHistory::Charge(double from, double to, MonoTime now) {
  last_change = now;
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
    EnabledRule, BoundsRule, MaxStepRule, CooldownRule, HysteresisRule, PenaltyRule,
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

VerifyResult Guard::Verify(Objective objective, const Constraints& constraints,
                           const WindowStats& before, const WindowStats& after,
                           const std::map<std::string, double>& predicted, Duration since_applied,
                           bool fixing_violation) const {
  VerifyResult r;
  if (since_applied < settings_.verification_window) return r;
  // A baseline thinner than min_samples is not comparable: waiting does not help (it lies before
  // the change), so the change is judged on its after-window alone and says so.
  const bool has_baseline = before.samples() >= settings_.min_samples;
  if (after.samples() < settings_.min_samples) {
    if (since_applied > 5 * settings_.verification_window) {
      r.kind = VerifyResult::Kind::kVerified;
      r.reason = fmt::format("inconclusive: only {} samples after {:.0f} s, keeping the change",
                             after.samples(), ToSeconds(since_applied));
    }
    return r;
  }
  r.realized["throughput"] = after.throughput.mean;
  if (after.p99_seconds.n > 0) r.realized["p99_seconds"] = after.p99_seconds.mean;
  if (after.cpu_cores.n > 0) r.realized["cpu_cores"] = after.cpu_cores.mean;
  if (after.cpu_per_request.n > 0)
    r.realized["cpu_per_request_seconds"] = after.cpu_per_request.mean;
  if (after.memory_bytes.n > 0) r.realized["memory_bytes"] = after.memory_bytes.mean;
  r.realized["error_rate"] = after.error_rate.mean;

  ObjectiveValue ob = EvaluateObjective(objective, before);
  ObjectiveValue oa = EvaluateObjective(objective, after);
  double improvement = 0, snr = 0;
  const bool comparable = has_baseline && ob.valid && oa.valid && ob.value != 0;
  if (comparable) {
    double diff = ob.higher_is_better ? oa.value - ob.value : ob.value - oa.value;
    improvement = diff / std::fabs(ob.value);
    double se = std::hypot(ob.standard_error, oa.standard_error);
    snr = std::isfinite(se) && se > 0 ? std::fabs(diff) / se : (diff != 0 ? 1e9 : 0);
    r.realized["realized_improvement"] = improvement;
    r.realized["signal_to_noise"] = snr;
  }
  if (has_baseline && before.cpu_cores.n > 0 && after.cpu_cores.n > 0 &&
      before.cpu_cores.mean > 0) {
    r.realized["resource_savings"] =
        (before.cpu_cores.mean - after.cpu_cores.mean) / before.cpu_cores.mean;
  }
  auto worse = [&](const char* name, const RunningStat& b, const RunningStat& a,
                   bool higher_better) {
    if (!has_baseline || b.n == 0 || a.n == 0 || b.mean == 0) return;
    double rel = (a.mean - b.mean) / std::fabs(b.mean);
    if ((higher_better && rel < -0.05) || (!higher_better && rel > 0.05))
      r.trade_offs.push_back(
          fmt::format("{} {} {:.0f}%", name, rel > 0 ? "rose" : "fell", 100 * std::fabs(rel)));
  };
  worse("throughput", before.throughput, after.throughput, true);
  worse("p99", before.p99_seconds, after.p99_seconds, false);
  worse("cpu cores", before.cpu_cores, after.cpu_cores, false);
  worse("memory", before.memory_bytes, after.memory_bytes, false);
  worse("error rate", before.error_rate, after.error_rate, false);

  // A constraint broken after the change is the change's fault when it held before, or when the
  // change made it measurably worse. One that was already broken and did not get worse (say,
  // host CPU pressure from a neighbour) is no reason to undo an unrelated step.
  // A broken constraint is the change's fault only when the change made that quantity
  // measurably worse: beyond the windows' noise and 5%. A constraint that was already broken and
  // stayed put (host CPU pressure from a neighbour), or one that hovers at its limit and crossed
  // it by noise, is no reason to undo a step. Without a baseline nothing can be compared, so a
  // violation rolls back unless the change was made to cure it.
  const auto violated_before =
      has_baseline ? ViolatedConstraints(constraints, before) : std::vector<ConstraintViolation>{};
  for (const ConstraintViolation& v : ViolatedConstraints(constraints, after)) {
    bool was_broken = false;
    for (const auto& b : violated_before)
      if (b.name == v.name) was_broken = true;
    const RunningStat* b = has_baseline ? ConstraintStat(v.name, before) : nullptr;
    bool got_worse = true;
    if (b != nullptr && b->n > 0) {
      double noise = std::hypot(b->n > 1 ? b->standard_error() : 0.0,
                                v.stat->n > 1 ? v.stat->standard_error() : 0.0);
      double margin = std::max(2 * noise, 0.05 * std::fabs(b->mean));
      got_worse = v.stat->mean > b->mean + margin;
    }
    if (got_worse && (has_baseline || !fixing_violation)) {
      r.kind = VerifyResult::Kind::kRollBack;
      r.reason =
          !was_broken
              ? fmt::format("constraint {} violated after the change: {}", v.name, v.sentence)
              : fmt::format("constraint {} got worse after the change: {} (was {:.4g})", v.name,
                            v.sentence, b != nullptr ? b->mean : 0.0);
      return r;
    }
  }
  if (improvement < 0 && snr >= settings_.min_signal_to_noise && !fixing_violation) {
    r.kind = VerifyResult::Kind::kRollBack;
    r.reason = fmt::format("the objective got worse by {:.1f}% (signal-to-noise {:.1f} >= {:.1f})",
                           -100 * improvement, snr, settings_.min_signal_to_noise);
    return r;
  }
  if (!has_baseline) {
    r.kind = VerifyResult::Kind::kVerified;
    auto still = ViolatedConstraint(constraints, after);
    r.reason = fmt::format(
        "verified without a baseline: only {} samples before the change (min_samples {}), so "
        "the objective could not be compared; {}",
        before.samples(), settings_.min_samples,
        still ? "the violation it was made to fix remains (" + still->second + ")"
              : std::string("every constraint held"));
    return r;
  }
  if (before.p99_seconds.n > 1 && after.p99_seconds.n > 1 && before.p99_seconds.mean > 0) {
    double b = before.p99_seconds.mean;
    double rise = (after.p99_seconds.mean - b) / b;
    double predicted_rise = 0;
    if (auto it = predicted.find("p99_seconds"); it != predicted.end())
      predicted_rise = std::max(0.0, (it->second - b) / b);
    double se = std::hypot(before.p99_seconds.standard_error(), after.p99_seconds.standard_error());
    double p99_snr = se > 0 ? (after.p99_seconds.mean - b) / se : 1e9;
    if (rise > predicted_rise + settings_.regression_p99_fraction && p99_snr >= 1 &&
        !fixing_violation) {
      r.kind = VerifyResult::Kind::kRollBack;
      r.reason = fmt::format(
          "p99 rose {:.0f}% (predicted {:.0f}%), more than the {:.0f}% regression budget",
          100 * rise, 100 * predicted_rise, 100 * settings_.regression_p99_fraction);
      return r;
    }
  }
  r.kind = VerifyResult::Kind::kVerified;
  // A constraint still above its limit that the change did not make worse (a violation fix that
  // landed at the limit, a neighbour's pressure) is named, not called "held".
  std::string constraints_text = "every constraint held";
  if (auto still = ViolatedConstraint(constraints, after))
    constraints_text = fmt::format("{} still above its limit but not made worse ({})", still->first,
                                   still->second);
  if (!comparable) {
    r.reason =
        "the objective could not be compared (not measured in both windows, or zero "
        "before the change); " +
        constraints_text;
    return r;
  }
  r.reason = fmt::format("objective {} by {:.1f}% (signal-to-noise {:.1f}), {}",
                         improvement >= 0 ? "improved" : "changed", 100 * improvement, snr,
                         constraints_text);
  return r;
}

}  // namespace knob
