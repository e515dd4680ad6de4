// SPDX-License-Identifier: Apache-2.0
#include "optimizers/verify.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <utility>
#include <vector>

namespace knob {

Duration BaselineSpan(const GuardSettings& g) {
  return std::max<Duration>(g.verification_window, std::chrono::seconds(2));
}

std::map<std::string, double> TunedSettings(const TargetPolicy& tp, const AppReport& app) {
  std::map<std::string, double> out;
  for (const auto& [knob, kp] : tp.knobs) {
    (void)kp;
    if (auto it = app.knobs.find(knob); it != app.knobs.end()) out.emplace(knob, it->second);
  }
  return out;
}

namespace {

// Clamped: negative estimates (a short window's bias) count as independent ticks, and above 0.9
// a window's n_eff would be a twentieth of its ticks, past what ten ticks can estimate.
constexpr double kMaxAutocorrelation = 0.9;

// Sums behind a lag-1 autocorrelation estimate, pooled over windows, each centred on its own
// mean (the change may move the mean; that is the signal, not correlation).
struct Lag1 {
  double num = 0, den = 0;
  void Add(const std::vector<double>& x) {
    if (x.size() < 4) return;
    double m = 0;
    for (double v : x) m += v;
    m /= static_cast<double>(x.size());
    for (size_t t = 0; t < x.size(); ++t) {
      den += (x[t] - m) * (x[t] - m);
      if (t > 0) num += (x[t] - m) * (x[t - 1] - m);
    }
  }
  double Rho() const { return den > 0 ? std::clamp(num / den, 0.0, kMaxAutocorrelation) : 0; }
};

std::optional<double> ObjectiveQuantity(Objective objective, const Observation& o) {
  switch (objective) {
    case Objective::kMaximizeThroughput:
      return o.throughput;
    case Objective::kMinimizeP99Latency:
      return o.p99_seconds;
    case Objective::kMinimizeCpuPerRequest:
      return o.cpu_per_request_seconds;
  }
  return std::nullopt;
}

// The lag-1 autocorrelation of the objective and of p99 over the ticks of the before-window
// (the baseline span before the change was sent) and of the after-window.
Autocorrelation MeasureAutocorrelation(Objective objective, const TargetModel& model,
                                       MonoTime before_from, MonoTime before_to,
                                       MonoTime after_from, MonoTime after_to) {
  Lag1 obj, p99;
  for (const auto& [from, to] : {std::pair{before_from, before_to}, {after_from, after_to}}) {
    std::vector<double> xs, ps;
    for (const Observation& o : model.observations()) {
      if (o.time < from || o.time >= to) continue;
      if (auto v = ObjectiveQuantity(objective, o)) xs.push_back(*v);
      if (o.p99_seconds) ps.push_back(*o.p99_seconds);
    }
    obj.Add(xs);
    p99.Add(ps);
  }
  return {obj.Rho(), p99.Rho()};
}

// The step's prediction of the objective's quantity, when its optimizer made one.
std::optional<double> PredictedObjective(Objective objective,
                                         const std::map<std::string, double>& predicted) {
  const char* key = objective == Objective::kMaximizeThroughput   ? "throughput"
                    : objective == Objective::kMinimizeP99Latency ? "p99_seconds"
                                                                  : "cpu_per_request_seconds";
  auto it = predicted.find(key);
  if (it == predicted.end() || !std::isfinite(it->second)) return std::nullopt;
  return it->second;
}

// sqrt((1 + rho) / (1 - rho)): how much larger the standard error of a mean of autocorrelated
// ticks is than the independent-sample formula says.
double NoiseFactor(double rho) { return std::sqrt((1 + rho) / (1 - rho)); }

// The figure the signal-to-noise test used, when the ticks were correlated: ", lag-1
// autocorrelation 0.70: 5 effective of 30 samples".
std::string NoiseClause(double rho, const WindowStats& before, const WindowStats& after) {
  if (!(rho > 0)) return "";
  const double n = static_cast<double>(before.samples() + after.samples());
  return fmt::format(", lag-1 autocorrelation {:.2f}: {:.0f} effective of {:.0f} samples", rho,
                     n * (1 - rho) / (1 + rho), n);
}

}  // namespace

VerifyResult JudgeChange(const TargetPolicy& tp, const GuardSettings& g, const TargetModel& model,
                         const AppliedChange& c, MonoTime now) {
  Guard guard(g);
  Duration settle = std::chrono::seconds(1);
  WindowStats before = model.Baseline(c.sent, c.baseline_knobs, BaselineSpan(g), g.min_samples);
  WindowStats after = model.Window(c.applied + settle, now + std::chrono::nanoseconds(1));
  const Autocorrelation rho =
      MeasureAutocorrelation(tp.objective, model, c.sent - BaselineSpan(g), c.sent,
                             c.applied + settle, now + std::chrono::nanoseconds(1));
  return guard.Verify(tp.objective, tp.constraints, before, after, c.predicted, now - c.applied,
                      c.fixes_violation, rho);
}

Penalty RollbackPenalty(const GuardSettings& g, const TargetModel& model, const std::string& knob,
                        double old_value, double new_value, bool is_reprobe, MonoTime now) {
  Penalty pen;
  pen.value = new_value;
  pen.direction = new_value > old_value ? 1 : -1;
  // Each earlier rollback into the same region doubles the penalty, so a real regression is
  // retried ever more rarely instead of every 10 cooldowns.
  int repeats = 0;
  if (auto it = model.penalties().find(knob); it != model.penalties().end()) {
    for (const auto& old : it->second)
      if (old.direction == pen.direction &&
          (pen.direction > 0 ? old.value <= pen.value : old.value >= pen.value))
        ++repeats;
  }
  pen.until = now + (is_reprobe ? 2 * g.cooldown : 10 * g.cooldown) * (1 << std::min(repeats, 10));
  return pen;
}

// The guard's judgement of an applied change (its contract is in guard.h); it lives here with
// the windows it is given, so the whole of verification reads in one file.
VerifyResult Guard::Verify(Objective objective, const Constraints& constraints,
                           const WindowStats& before, const WindowStats& after,
                           const std::map<std::string, double>& predicted, Duration since_applied,
                           bool fixing_violation, Autocorrelation rho) const {
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
  double improvement = 0, snr = 0, objective_se = 0;
  const bool comparable = has_baseline && ob.valid && oa.valid && ob.value != 0;
  if (comparable) {
    double diff = ob.higher_is_better ? oa.value - ob.value : ob.value - oa.value;
    improvement = diff / std::fabs(ob.value);
    const double se = std::hypot(ob.standard_error, oa.standard_error) * NoiseFactor(rho.objective);
    objective_se = se;
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
    r.reason =
        fmt::format("the objective got worse by {:.1f}% (signal-to-noise {:.1f} >= {:.1f}{})",
                    -100 * improvement, snr, settings_.min_signal_to_noise,
                    NoiseClause(rho.objective, before, after));
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
    double se =
        std::hypot(before.p99_seconds.standard_error(), after.p99_seconds.standard_error()) *
        NoiseFactor(rho.p99);
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
  // Inside the noise either way: the change did nothing measurable. It stays (it broke nothing),
  // but it is not a success; a violation fix is judged on its violation instead.
  if (snr < settings_.min_signal_to_noise && !fixing_violation) {
    r.kind = VerifyResult::Kind::kKept;
    // What the step itself predicted for the objective: a model's prediction is followed on (a
    // 10% step up a long miss-ratio curve gains a little each time, below the noise); a step
    // that predicted nothing for it was exploration, and found the objective flat this way.
    std::string expectation = "no further step this way is expected to show one";
    if (auto pred = PredictedObjective(objective, predicted)) {
      const double gain = ob.higher_is_better ? *pred - ob.value : ob.value - *pred;
      r.predicted_gain = true;
      expectation = fmt::format(
          "the model predicted {:+.1f}% (the windows resolve {:.1f}%), so the knob follows it",
          100 * gain / std::fabs(ob.value),
          100 * settings_.min_signal_to_noise * objective_se / std::fabs(ob.value));
    }
    r.reason = fmt::format(
        "no measurable effect: the objective changed by {:+.1f}% (signal-to-noise {:.1f} < "
        "{:.1f}{}), {}; keeping the new value, {}",
        100 * improvement, snr, settings_.min_signal_to_noise,
        NoiseClause(rho.objective, before, after), constraints_text, expectation);
    return r;
  }
  r.reason = fmt::format("objective {} by {:.1f}% (signal-to-noise {:.1f}{}), {}",
                         improvement >= 0 ? "improved" : "changed", 100 * improvement, snr,
                         NoiseClause(rho.objective, before, after), constraints_text);
  return r;
}

}  // namespace knob
