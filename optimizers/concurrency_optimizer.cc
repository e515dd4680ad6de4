// SPDX-License-Identifier: Apache-2.0
#include "optimizers/concurrency_optimizer.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

namespace knob {
namespace {

constexpr std::array<Scenario, 9> kScenarios = {{
    {"grow_below_peak",
     "throughput still grows with concurrency (below the USL peak) and the "
     "predicted p99 stays under the SLO: raise the limit toward the "
     "lower-confidence-bound optimum"},
    {"shrink_past_peak",
     "the limit is beyond the USL peak: coherency costs make more "
     "concurrency lower throughput, so lower it to the peak"},
    {"shrink_latency",
     "observed p99 is above the SLO: lower the limit to the largest value "
     "whose predicted p99 meets it"},
    {"hold_latency_not_limit",
     "observed p99 is above the SLO, but the last lowering of the limit (which cut the "
     "concurrency in flight) did not lower it: the limit is not what drives p99, hold"},
    {"shrink_errors",
     "the error rate is above its limit while the limit is slack (so the errors "
     "are not its own rejections): shed concurrency"},
    {"shrink_same_throughput",
     "objective is latency or CPU per request: a smaller limit still "
     "carries the observed throughput with less queueing"},
    {"grow_rejections",
     "the limit turns requests away: bursts of the observed mean concurrency "
     "(n + 3 sqrt(n) + 1) reach it while the error rate shows rejections, and "
     "p99 has room: raise it so the offered load fits (Little's law)"},
    {"explore_up",
     "too few concurrency levels to fit the USL: one small step up while p99 and "
     "errors have room, to learn the curve"},
    {"explore_down",
     "too few concurrency levels to fit the USL and stepping up is penalized or "
     "the objective favours less concurrency: one small step down"},
}};

constexpr double kMinConfidence = 0.3;
// An error rate above this while the limit binds reads as the limit's own rejections.
constexpr double kRejectionErrorRate = 0.001;

// The limit that carries a mean concurrency n without turning bursts away: the in-flight count
// of a Poisson-like arrival stream stays below n + 3 sqrt(n) all but ~0.1% of the time.
double BurstLimit(double n) { return n + 3 * std::sqrt(std::max(0.0, n)) + 1; }

std::string Ms(double seconds) { return fmt::format("{:.0f} ms", seconds * 1000); }

}  // namespace

bool ConcurrencyOptimizer::Handles(std::string_view knob) const {
  return knob == "concurrency_limit" || knob == "max_in_flight" || knob == "max_concurrency";
}

std::span<const Scenario> ConcurrencyOptimizer::Scenarios() const { return kScenarios; }

std::map<std::string, double> ConcurrencyOptimizer::Predict(const TargetModel& model,
                                                            std::string_view knob,
                                                            double value) const {
  (void)knob;
  std::map<std::string, double> out;
  if (const auto& fit = model.usl()) {
    out["throughput"] = fit->Throughput(value);
    out["p99_seconds"] = fit->Latency(value) * model.latency_factor();
  }
  return out;
}

std::optional<Proposal> ConcurrencyOptimizer::Propose(const OptimizerInput& in) const {
  const TargetModel& m = in.model;
  if (!m.latest() || m.observations().size() < 3) return std::nullopt;
  const double cur = in.current;
  const double lo = std::max(1.0, KnobMin(in.knob_policy, 1));
  const double hi = KnobMax(in.knob_policy, std::max(cur * 4, 1024.0));
  const auto slo = P99LimitSeconds(in.policy.constraints);
  const double factor = m.latency_factor();

  // Recent behaviour for violation checks, over as many observations as the guard needs to
  // judge a change.
  WindowStats recent;
  {
    size_t n = 0, want = std::max<size_t>(5, in.guard.min_samples);
    for (auto it = m.observations().rbegin(); it != m.observations().rend() && n < want; ++it, ++n)
      recent.Add(*it);
  }
  // Hysteresis band around the SLO: grow only to a predicted p99 <= (1 - h) x SLO, shrink only
  // when the observed p99 is above the SLO by more than its standard error, so noise at the
  // optimum does not flap the limit.
  const std::optional<double> slo_grow =
      slo ? std::optional<double>(*slo * (1 - in.guard.hysteresis_fraction)) : std::nullopt;
  const double p99_se =
      std::isfinite(recent.p99_seconds.standard_error()) ? recent.p99_seconds.standard_error() : 0;
  const double x_obs = recent.throughput.mean;
  const double n_obs = recent.concurrency.mean;
  const bool has_p99 = recent.p99_seconds.n > 0;
  const double p99_obs = recent.p99_seconds.mean;

  Proposal p;
  p.knob = in.knob;
  p.current = cur;
  p.optimizer = std::string(Name());
  p.triggers["throughput"] = x_obs;
  p.triggers["concurrency"] = n_obs;
  if (has_p99) p.triggers["p99_seconds"] = p99_obs;

  const std::optional<UslFit>& fit = m.usl();
  const bool confident = fit && fit->Confidence() >= kMinConfidence;
  auto predict = [&](double n) {
    if (!fit) return;
    p.predicted["throughput"] = fit->Throughput(n);
    p.predicted["p99_seconds"] = fit->Latency(n) * factor;
    if (m.latest()->cpu_per_request_seconds)
      p.predicted["cpu_cores"] = *m.latest()->cpu_per_request_seconds * fit->Throughput(n);
  };

  // 1. A constraint is violated now: shed concurrency.
  if (slo && has_p99 && p99_obs - p99_se > *slo) {
    // Unless the last lowering, which really cut the concurrency in flight, did not lower p99:
    // then the limit is not what drives it (a neighbour's CPU contention, a slow dependency),
    // and shedding further would only turn requests away.
    if (const auto& last = in.last_change;
        last && last->verified && last->new_value == cur && last->old_value > cur) {
      WindowStats here = m.AtSetting(in.knob, cur, 40);
      WindowStats there = m.AtSetting(in.knob, last->old_value, 40);
      const double need = std::max<double>(5, in.guard.min_samples);
      if (here.p99_seconds.n >= need && there.p99_seconds.n >= need &&
          there.concurrency.mean > cur) {
        const double b = there.p99_seconds.mean, a = here.p99_seconds.mean;
        const double noise =
            std::hypot(there.p99_seconds.standard_error(), here.p99_seconds.standard_error());
        if (a > b - std::max(2 * noise, 0.05 * b)) {
          p.value = cur;
          p.scenario = "hold_latency_not_limit";
          p.binding_constraint = "p99_latency";
          p.reason = fmt::format(
              "p99 {} stays above the SLO {}, but lowering the limit from {:.0f} to {:.0f} did "
              "not lower it ({} before): the limit is not what drives p99",
              Ms(a), Ms(*slo), last->old_value, cur, Ms(b));
          return p;
        }
      }
    }
    double target = OneStep(cur, -1, in.knob_policy, in.guard);
    if (confident) {
      if (auto l = LargestConcurrencyUnderLatency(*fit, *slo, factor, lo, cur)) {
        target = std::min(target, std::floor(*l));
      } else {
        target = lo;
      }
    }
    if (target >= cur) return std::nullopt;
    p.value = target;
    p.scenario = "shrink_latency";
    p.binding_constraint = "p99_latency";
    p.fixes_violation = true;
    p.confidence = confident ? fit->Confidence() : 0.5;
    p.reason = fmt::format("observed p99 {} is above the SLO {}", Ms(p99_obs), Ms(*slo));
    predict(target);
    p.trade_offs.push_back("lower throughput ceiling for a p99 within the SLO");
    p.expected_gain = (p99_obs - *slo) / *slo;
    return p;
  }
  // The limit binds when the mean concurrency is near it (a closed loop fills it), or when
  // requests fail while bursts above the mean reach it (an open loop: the mean stays well below
  // the limit, yet the peaks are turned away as "busy"). Errors while it binds are likely its
  // own rejections, which a lower limit would only worsen: shed concurrency for errors only
  // when the limit is slack.
  const bool rejecting =
      recent.error_rate.mean > kRejectionErrorRate && cur < BurstLimit(recent.concurrency.mean);
  const bool limit_binds = recent.concurrency.mean >= 0.8 * cur || rejecting;
  if (in.policy.constraints.error_rate && !limit_binds &&
      recent.error_rate.mean > *in.policy.constraints.error_rate) {
    double target = OneStep(cur, -1, in.knob_policy, in.guard);
    if (target >= cur) return std::nullopt;
    p.value = target;
    p.scenario = "shrink_errors";
    p.binding_constraint = "error_rate";
    p.fixes_violation = true;
    p.confidence = 0.5;
    p.reason = fmt::format("error rate {:.2f}% is above the limit {:.2f}%",
                           100 * recent.error_rate.mean, 100 * *in.policy.constraints.error_rate);
    predict(target);
    p.expected_gain = 0.01;
    return p;
  }

  const bool saturated = limit_binds;  // the limit, not the demand, bounds concurrency
  // Measured, not fitted: observations at a concurrency 20% above today's that carried less
  // than (1 + gain) x today's throughput. Past the knee of an overloaded service X is flat, so
  // more in flight only queues.
  auto HigherConcurrencyCarriedNoMore = [&](double gain) {
    RunningStat higher;
    for (const auto& o : m.observations())
      if (o.concurrency > 1.2 * n_obs && o.throughput > 0) higher.Add(o.throughput);
    return higher.n >= std::max<double>(5, in.guard.min_samples) &&
           higher.mean < x_obs * (1 + gain);
  };
  const double peak_n =
      confident && fit->Peak() ? *fit->Peak() : std::numeric_limits<double>::infinity();

  // 2. The limit turns bursts away. The USL speaks of the mean concurrency, the limit caps the
  // instantaneous one: if admitting the rejected share (Little: N grows to n / (1 - e)) stays
  // below the fit's peak and inside the p99 room, raise the limit to the burst allowance.
  if (rejecting && in.policy.objective == Objective::kMaximizeThroughput) {
    const double e = std::clamp(recent.error_rate.mean, 0.0, 0.9);
    const double n_admitted = n_obs / (1 - e);
    const double target = std::min(hi, std::ceil(BurstLimit(n_admitted)));
    bool room = target > cur && n_admitted <= peak_n;
    // Latency at the concurrency that will really be in flight, not at the cap.
    double p99_next = has_p99 ? p99_obs * std::max(1.0, n_admitted / std::max(n_obs, 1e-9)) : 0;
    if (confident) p99_next = std::max(p99_next, fit->Latency(n_admitted) * factor);
    if (slo_grow) room = room && p99_next <= *slo_grow;
    // Overload rejects too: when the fit says the admitted load would not be served faster
    // (X flat past the knee: at most half the gain e / (1 - e) of serving it at today's
    // latency), the rejections are the capacity's, and a higher limit only adds queueing.
    // The same test without a fit (a flat X explains no variance, so its R^2 and confidence
    // are low exactly then): observations at a concurrency 20% higher that carried no more.
    const double want_gain = 0.5 * e / (1 - e);
    if (confident && room) {
      const double x_now = fit->Throughput(n_obs);
      room = x_now > 0 && fit->Throughput(n_admitted) / x_now - 1 >= want_gain;
    }
    if (room && HigherConcurrencyCarriedNoMore(want_gain)) room = false;
    if (room) {
      p.value = target;
      p.scenario = "grow_rejections";
      p.confidence = confident ? fit->Confidence() : 0.5;
      p.reason = fmt::format(
          "{:.1f}% of requests are turned away while bursts of the mean {:.1f} in flight reach "
          "the limit; {:.0f} carries {:.1f} in flight with room for bursts{}",
          100 * e, n_obs, target, n_admitted,
          slo ? fmt::format(" (predicted p99 {} <= SLO {})", Ms(p99_next), Ms(*slo)) : "");
      p.predicted["throughput"] =
          confident ? std::min(fit->Throughput(n_admitted), x_obs / (1 - e)) : x_obs / (1 - e);
      if (has_p99 || confident) p.predicted["p99_seconds"] = p99_next;
      p.predicted["error_rate"] = 0;
      p.expected_gain = e / (1 - e);
      p.trade_offs.push_back(
          fmt::format("mean in flight rises from {:.1f} to {:.1f}", n_obs, n_admitted));
      p.triggers["error_rate"] = e;
      // Rejections above the error-rate limit are a violated constraint this step cures: the
      // p99 it costs inside the SLO (bursts admitted now queue somewhere) is the accepted
      // trade-off, so only a constraint made worse rolls it back (guard.h, Verify).
      if (in.policy.constraints.error_rate && e > *in.policy.constraints.error_rate) {
        p.fixes_violation = true;
        p.binding_constraint = "error_rate";
        p.trade_offs.push_back("p99 may rise inside the SLO as bursts are admitted");
      }
      return p;
    }
  }

  if (confident) {
    p.confidence = fit->Confidence();
    auto peak = fit->Peak();
    std::string peak_text = peak ? fmt::format("USL peak at {:.0f}", *peak) : "no USL peak";
    if (in.policy.objective == Objective::kMaximizeThroughput) {
      auto choice =
          ChooseConcurrency(*fit, static_cast<int>(lo), static_cast<int>(hi), slo_grow, factor);
      if (!choice) return std::nullopt;
      double target = choice->n;
      // Lowering the limit changes nothing (but turns bursts away) unless the observed
      // concurrency itself is beyond the chosen N: a limit far above what the demand fills is
      // not past the peak, whatever its value.
      if (target < cur && n_obs <= target) return std::nullopt;
      if (target < cur && !(peak && n_obs > *peak) && slo) {
        // Inside the hysteresis band (predicted p99 between (1-h) SLO and the SLO) hold; above
        // the SLO shrink only to the largest N that meets the SLO itself.
        auto full =
            ChooseConcurrency(*fit, static_cast<int>(lo), static_cast<int>(hi), slo, factor);
        if (!full) return std::nullopt;
        if (full->n >= cur) return std::nullopt;
        target = full->n;
      }
      if (target == cur) return std::nullopt;
      if (target > cur && !saturated) return std::nullopt;  // demand-limited: raising is moot
      p.value = target;
      predict(target);
      double x_cur = fit->Throughput(cur);
      p.expected_gain = x_cur > 0 ? (fit->Throughput(target) - x_cur) / x_cur : 0;
      if (choice->latency_bound) p.binding_constraint = "p99_latency";
      std::string slo_text = slo ? fmt::format("; predicted p99 {} <= SLO {}",
                                               Ms(fit->Latency(target) * factor), Ms(*slo))
                                 : "";
      if (target > cur) {
        p.scenario = "grow_below_peak";
        p.reason =
            fmt::format("throughput still grows with concurrency ({}){}", peak_text, slo_text);
        p.trade_offs.push_back(fmt::format("p99 rises from {} to {}",
                                           Ms(fit->Latency(cur) * factor),
                                           Ms(fit->Latency(target) * factor)));
      } else {
        p.scenario = peak && n_obs > *peak ? "shrink_past_peak" : "shrink_latency";
        p.reason =
            peak && n_obs > *peak
                ? fmt::format("the limit is past the {}: more concurrency lowers throughput",
                              peak_text)
                : fmt::format("the predicted p99 at {} would exceed the SLO{}", cur, slo_text);
        if (p.scenario == "shrink_latency") p.binding_constraint = "p99_latency";
      }
      p.triggers["usl_alpha"] = fit->alpha;
      p.triggers["usl_beta"] = fit->beta;
      if (peak) p.triggers["usl_peak"] = *peak;
      return p;
    }
    // Latency or CPU per request: the smallest N that still carries the observed throughput.
    double target = cur;
    for (double n = lo; n < cur; n += 1) {
      double lcb = fit->Throughput(n) - fit->ThroughputSe(n);
      if (lcb >= 0.98 * x_obs) {
        target = n;
        break;
      }
    }
    if (target >= cur) return std::nullopt;
    p.value = target;
    p.scenario = "shrink_same_throughput";
    predict(target);
    double r_cur = fit->Latency(cur), r_new = fit->Latency(target);
    p.expected_gain = r_cur > 0 ? (r_cur - r_new) / r_cur : 0;
    p.reason = fmt::format(
        "{:.0f} in flight still carry the observed {:.0f}/s ({}); predicted p99 "
        "falls from {} to {}",
        target, x_obs, peak_text, Ms(r_cur * factor), Ms(r_new * factor));
    p.trade_offs.push_back("less headroom for bursts above the observed throughput");
    return p;
  }

  // 3. Too little data to fit: explore one small step.
  p.exploratory = true;
  p.confidence = 0.2;
  const std::string why = m.usl_error().empty() ? "the USL fit is not yet confident"
                                                : fmt::format("no USL fit yet ({})", m.usl_error());
  double up = OneStep(cur, +1, in.knob_policy, in.guard);
  double down = OneStep(cur, -1, in.knob_policy, in.guard);
  bool up_ok = up > cur && saturated && !m.PenaltyFor(in.knob, up, m.latest()->time) &&
               !HigherConcurrencyCarriedNoMore(0.02);
  // No predicted crossing: p99 grows at most linearly in N (Little's law with X non-decreasing).
  if (slo && has_p99) up_ok = up_ok && p99_obs * (up / cur) <= *slo_grow;
  if (fit && slo) up_ok = up_ok && fit->Latency(up) * factor <= *slo_grow;
  bool want_up = in.policy.objective == Objective::kMaximizeThroughput;
  if (want_up && up_ok) {
    p.value = up;
    p.scenario = "explore_up";
    p.reason = slo && has_p99 ? fmt::format("{}; p99 {} leaves room under the SLO {}", why,
                                            Ms(p99_obs), Ms(*slo))
                              : why;
    p.expected_gain = 0.001;
    p.predicted["throughput"] = x_obs;
    return p;
  }
  // A limit that rejects is admitting all it can: a lower one turns more away at the same
  // latency (Little), a throughput loss known in advance, so there is nothing to learn below.
  if (down < cur && !(want_up && rejecting) && !m.PenaltyFor(in.knob, down, m.latest()->time) &&
      (!want_up || m.PenaltyFor(in.knob, up, m.latest()->time))) {
    p.value = down;
    p.scenario = "explore_down";
    p.reason = why;
    p.expected_gain = 0.0005;
    p.predicted["throughput"] = x_obs;
    return p;
  }
  return std::nullopt;
}

}  // namespace knob
