// SPDX-License-Identifier: Apache-2.0
// Over 500 lines on purpose: the concurrency scenario table (eleven rules, docs/model.md's
// order) and the case they all read stay in one file, so a reader finds every rule of this
// optimizer, and the order they are tried in, in one place.
#include "optimizers/concurrency_optimizer.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

namespace knob {
namespace {

constexpr std::array<Scenario, 10> kScenarios = {{
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
     "the objective favours less concurrency: one small step down, to a limit the demand "
     "reaches (so the step measures a new concurrency level)"},
    {"hold_not_binding",
     "hold: the limit is above the peak in-flight count, and so is the next step down: a "
     "limit the demand never reaches changes nothing, so moving it measures nothing"},
}};

constexpr double kMinConfidence = 0.3;
// Observations the peak in-flight count is taken over.
constexpr size_t kPeakObservations = 20;
// An error rate above this while the limit binds reads as the limit's own rejections.
constexpr double kRejectionErrorRate = 0.001;

// The limit that carries a mean concurrency n without turning bursts away: the in-flight count
// of a Poisson-like arrival stream stays below n + 3 sqrt(n) all but ~0.1% of the time.
double BurstLimit(double n) { return n + 3 * std::sqrt(std::max(0.0, n)) + 1; }

std::string Ms(double seconds) { return fmt::format("{:.0f} ms", seconds * 1000); }

// What every concurrency scenario reads, computed once. Evaluated in the rule table's order
// (kRules below): the first rule that decides (a proposal, or that there is none) ends it.
struct ConcurrencyCase {
  explicit ConcurrencyCase(const OptimizerInput& input);

  // Observations at a concurrency 20% above today's that carried less than (1 + gain) x
  // today's throughput. Measured, not fitted: past the knee of an overloaded service X is flat,
  // so more in flight only queues.
  bool HigherConcurrencyCarriedNoMore(double gain) const;
  // The fit's throughput, p99 and CPU at n into p.predicted (nothing without a fit).
  void Predict(double n, Proposal& p) const;
  // The observed p99 is above the SLO by more than its standard error.
  bool P99Violated() const { return slo && has_p99 && p99_obs - p99_se > *slo; }

  const OptimizerInput& in;
  const TargetModel& m;
  double cur = 0, lo = 0, hi = 0;
  std::optional<double> slo;
  double factor = 1;
  // Recent behaviour for violation checks, over as many observations as the guard needs to
  // judge a change.
  WindowStats recent;
  // Hysteresis band around the SLO: grow only to a predicted p99 <= (1 - h) x SLO, shrink only
  // when the observed p99 is above the SLO by more than its standard error, so noise at the
  // optimum does not flap the limit.
  std::optional<double> slo_grow;
  double p99_se = 0, x_obs = 0, n_obs = 0, p99_obs = 0;
  bool has_p99 = false;
  const UslFit* fit = nullptr;
  bool confident = false;
  // The limit binds when the mean concurrency is near it (a closed loop fills it), or when
  // requests fail while bursts above the mean reach it (an open loop: the mean stays well below
  // the limit, yet the peaks are turned away as "busy"). Errors while it binds are likely its
  // own rejections, which a lower limit would only worsen.
  bool rejecting = false;
  bool limit_binds = false;  // the limit, not the demand, bounds concurrency
  double peak_n = std::numeric_limits<double>::infinity();
  // The largest mean in flight over the last kPeakObservations, and the burst allowance above
  // it: a limit at or above that allowance is not reached by the demand (it changes nothing).
  double peak_in_flight = 0, reach = 0;
};

ConcurrencyCase::ConcurrencyCase(const OptimizerInput& input) : in(input), m(input.model) {
  cur = in.current;
  lo = std::max(1.0, KnobMin(in.knob_policy, 1));
  hi = KnobMax(in.knob_policy, std::max(cur * 4, 1024.0));
  slo = P99LimitSeconds(in.policy.constraints);
  factor = m.latency_factor();
  size_t n = 0;
  const size_t want = std::max<size_t>(5, in.guard.min_samples);
  for (auto it = m.observations().rbegin(); it != m.observations().rend() && n < want; ++it, ++n)
    recent.Add(*it);
  if (slo) slo_grow = *slo * (1 - in.guard.hysteresis_fraction);
  p99_se =
      std::isfinite(recent.p99_seconds.standard_error()) ? recent.p99_seconds.standard_error() : 0;
  x_obs = recent.throughput.mean;
  n_obs = recent.concurrency.mean;
  has_p99 = recent.p99_seconds.n > 0;
  p99_obs = recent.p99_seconds.mean;
  if (m.usl()) fit = &*m.usl();
  confident = fit && fit->Confidence() >= kMinConfidence;
  rejecting =
      recent.error_rate.mean > kRejectionErrorRate && cur < BurstLimit(recent.concurrency.mean);
  limit_binds = recent.concurrency.mean >= 0.8 * cur || rejecting;
  if (confident && fit->Peak()) peak_n = *fit->Peak();
  size_t k = 0;
  for (auto it = m.observations().rbegin(); it != m.observations().rend() && k < kPeakObservations;
       ++it, ++k)
    peak_in_flight = std::max(peak_in_flight, it->concurrency);
  reach = BurstLimit(peak_in_flight);
}

bool ConcurrencyCase::HigherConcurrencyCarriedNoMore(double gain) const {
  RunningStat higher;
  for (const auto& o : m.observations())
    if (o.concurrency > 1.2 * n_obs && o.throughput > 0) higher.Add(o.throughput);
  return higher.n >= std::max<double>(5, in.guard.min_samples) && higher.mean < x_obs * (1 + gain);
}

void ConcurrencyCase::Predict(double n, Proposal& p) const {
  if (!fit) return;
  p.predicted["throughput"] = fit->Throughput(n);
  p.predicted["p99_seconds"] = fit->Latency(n) * factor;
  if (m.latest()->cpu_per_request_seconds)
    p.predicted["cpu_cores"] = *m.latest()->cpu_per_request_seconds * fit->Throughput(n);
}

struct Decision {
  bool decided = false;
  std::optional<Proposal> proposal;
};
Decision Next() { return {}; }
Decision Done(std::optional<Proposal> p) { return {true, std::move(p)}; }

// p99 is above the SLO, but the last lowering, which really cut the concurrency in flight, did
// not lower it: then the limit is not what drives it (a neighbour's CPU contention, a slow
// dependency), and shedding further would only turn requests away.
Decision HoldLatencyNotLimit(const ConcurrencyCase& c, Proposal p) {
  if (!c.P99Violated()) return Next();
  const auto& last = c.in.last_change;
  if (!(last && last->verified && last->new_value == c.cur && last->old_value > c.cur))
    return Next();
  WindowStats here = c.m.AtSetting(c.in.knob, c.cur, 40);
  WindowStats there = c.m.AtSetting(c.in.knob, last->old_value, 40);
  const double need = std::max<double>(5, c.in.guard.min_samples);
  if (!(here.p99_seconds.n >= need && there.p99_seconds.n >= need &&
        there.concurrency.mean > c.cur))
    return Next();
  const double b = there.p99_seconds.mean, a = here.p99_seconds.mean;
  const double noise =
      std::hypot(there.p99_seconds.standard_error(), here.p99_seconds.standard_error());
  if (!(a > b - std::max(2 * noise, 0.05 * b))) return Next();
  p.value = c.cur;
  p.scenario = "hold_latency_not_limit";
  p.binding_constraint = "p99_latency";
  p.reason = fmt::format(
      "p99 {} stays above the SLO {}, but lowering the limit from {:.0f} to {:.0f} did "
      "not lower it ({} before): the limit is not what drives p99",
      Ms(a), Ms(*c.slo), last->old_value, c.cur, Ms(b));
  return Done(std::move(p));
}

// A constraint is violated now: shed concurrency.
Decision ShrinkLatencyObserved(const ConcurrencyCase& c, Proposal p) {
  if (!c.P99Violated()) return Next();
  double target = OneStep(c.cur, -1, c.in.knob_policy, c.in.guard);
  if (c.confident) {
    if (auto l = LargestConcurrencyUnderLatency(*c.fit, *c.slo, c.factor, c.lo, c.cur)) {
      target = std::min(target, std::floor(*l));
    } else {
      target = c.lo;
    }
  }
  if (target >= c.cur) return Done(std::nullopt);
  p.value = target;
  p.scenario = "shrink_latency";
  p.binding_constraint = "p99_latency";
  p.fixes_violation = true;
  p.confidence = c.confident ? c.fit->Confidence() : 0.5;
  p.reason = fmt::format("observed p99 {} is above the SLO {}", Ms(c.p99_obs), Ms(*c.slo));
  c.Predict(target, p);
  p.trade_offs.push_back("lower throughput ceiling for a p99 within the SLO");
  p.expected_gain = (c.p99_obs - *c.slo) / *c.slo;
  return Done(std::move(p));
}

// Errors while the limit is slack are not its own rejections: shed concurrency.
Decision ShrinkErrors(const ConcurrencyCase& c, Proposal p) {
  const auto& limit = c.in.policy.constraints.error_rate;
  if (!limit || c.limit_binds || !(c.recent.error_rate.mean > *limit)) return Next();
  double target = OneStep(c.cur, -1, c.in.knob_policy, c.in.guard);
  if (target >= c.cur) return Done(std::nullopt);
  p.value = target;
  p.scenario = "shrink_errors";
  p.binding_constraint = "error_rate";
  p.fixes_violation = true;
  p.confidence = 0.5;
  p.reason = fmt::format("error rate {:.2f}% is above the limit {:.2f}%",
                         100 * c.recent.error_rate.mean, 100 * *limit);
  c.Predict(target, p);
  p.expected_gain = 0.01;
  return Done(std::move(p));
}

// The limit turns bursts away. The USL speaks of the mean concurrency, the limit caps the
// instantaneous one: if admitting the rejected share (Little: N grows to n / (1 - e)) stays
// below the fit's peak and inside the p99 room, raise the limit to the burst allowance.
Decision GrowRejections(const ConcurrencyCase& c, Proposal p) {
  const OptimizerInput& in = c.in;
  if (!c.rejecting || in.policy.objective != Objective::kMaximizeThroughput) return Next();
  const double e = std::clamp(c.recent.error_rate.mean, 0.0, 0.9);
  const double n_admitted = c.n_obs / (1 - e);
  const double target = std::min(c.hi, std::ceil(BurstLimit(n_admitted)));
  bool room = target > c.cur && n_admitted <= c.peak_n;
  // Latency at the concurrency that will really be in flight, not at the cap.
  double p99_next = c.has_p99 ? c.p99_obs * std::max(1.0, n_admitted / std::max(c.n_obs, 1e-9)) : 0;
  if (c.confident) p99_next = std::max(p99_next, c.fit->Latency(n_admitted) * c.factor);
  if (c.slo_grow) room = room && p99_next <= *c.slo_grow;
  // Overload rejects too: when the fit says the admitted load would not be served faster
  // (X flat past the knee: at most half the gain e / (1 - e) of serving it at today's
  // latency), the rejections are the capacity's, and a higher limit only adds queueing.
  // The same test without a fit (a flat X explains no variance, so its R^2 and confidence
  // are low exactly then): observations at a concurrency 20% higher that carried no more.
  const double want_gain = 0.5 * e / (1 - e);
  if (c.confident && room) {
    const double x_now = c.fit->Throughput(c.n_obs);
    room = x_now > 0 && c.fit->Throughput(n_admitted) / x_now - 1 >= want_gain;
  }
  if (room && c.HigherConcurrencyCarriedNoMore(want_gain)) room = false;
  if (!room) return Next();
  p.value = target;
  p.scenario = "grow_rejections";
  p.confidence = c.confident ? c.fit->Confidence() : 0.5;
  p.reason = fmt::format(
      "{:.1f}% of requests are turned away while bursts of the mean {:.1f} in flight reach "
      "the limit; {:.0f} carries {:.1f} in flight with room for bursts{}",
      100 * e, c.n_obs, target, n_admitted,
      c.slo ? fmt::format(" (predicted p99 {} <= SLO {})", Ms(p99_next), Ms(*c.slo)) : "");
  p.predicted["throughput"] =
      c.confident ? std::min(c.fit->Throughput(n_admitted), c.x_obs / (1 - e)) : c.x_obs / (1 - e);
  if (c.has_p99 || c.confident) p.predicted["p99_seconds"] = p99_next;
  p.predicted["error_rate"] = 0;
  p.expected_gain = e / (1 - e);
  p.trade_offs.push_back(
      fmt::format("mean in flight rises from {:.1f} to {:.1f}", c.n_obs, n_admitted));
  p.triggers["error_rate"] = e;
  // Rejections above the error-rate limit are a violated constraint this step cures: the
  // p99 it costs inside the SLO (bursts admitted now queue somewhere) is the accepted
  // trade-off, so only a constraint made worse rolls it back (guard.h, Verify).
  if (in.policy.constraints.error_rate && e > *in.policy.constraints.error_rate) {
    p.fixes_violation = true;
    p.binding_constraint = "error_rate";
    p.trade_offs.push_back("p99 may rise inside the SLO as bursts are admitted");
  }
  return Done(std::move(p));
}

// The fitted optimum under a throughput objective, shared by the three fitted scenarios
// (grow_below_peak, shrink_past_peak, shrink_latency by prediction); nullopt: hold.
struct FittedTarget {
  double n = 0;
  bool latency_bound = false;
};
std::optional<FittedTarget> FittedThroughputTarget(const ConcurrencyCase& c) {
  if (!c.confident || c.in.policy.objective != Objective::kMaximizeThroughput) return std::nullopt;
  const auto peak = c.fit->Peak();
  auto choice = ChooseConcurrency(*c.fit, static_cast<int>(c.lo), static_cast<int>(c.hi),
                                  c.slo_grow, c.factor);
  if (!choice) return std::nullopt;
  double target = choice->n;
  // Lowering the limit changes nothing (but turns bursts away) unless the observed
  // concurrency itself is beyond the chosen N: a limit far above what the demand fills is
  // not past the peak, whatever its value.
  if (target < c.cur && c.n_obs <= target) return std::nullopt;
  if (target < c.cur && !(peak && c.n_obs > *peak) && c.slo) {
    // Inside the hysteresis band (predicted p99 between (1-h) SLO and the SLO) hold; above
    // the SLO shrink only to the largest N that meets the SLO itself.
    auto full =
        ChooseConcurrency(*c.fit, static_cast<int>(c.lo), static_cast<int>(c.hi), c.slo, c.factor);
    if (!full || full->n >= c.cur) return std::nullopt;
    target = full->n;
  }
  if (target == c.cur) return std::nullopt;
  if (target > c.cur && !c.limit_binds) return std::nullopt;  // demand-limited: raising is moot
  return FittedTarget{target, choice->latency_bound};
}

// What the three fitted scenarios share: prediction, gain, the USL's parameters.
void DescribeFitted(const ConcurrencyCase& c, const FittedTarget& t, Proposal& p) {
  const auto peak = c.fit->Peak();
  p.confidence = c.fit->Confidence();
  p.value = t.n;
  c.Predict(t.n, p);
  const double x_cur = c.fit->Throughput(c.cur);
  p.expected_gain = x_cur > 0 ? (c.fit->Throughput(t.n) - x_cur) / x_cur : 0;
  if (t.latency_bound) p.binding_constraint = "p99_latency";
  p.triggers["usl_alpha"] = c.fit->alpha;
  p.triggers["usl_beta"] = c.fit->beta;
  if (peak) p.triggers["usl_peak"] = *peak;
}

std::string PeakText(const ConcurrencyCase& c) {
  const auto peak = c.fit->Peak();
  return peak ? fmt::format("USL peak at {:.0f}", *peak) : "no USL peak";
}

std::string SloText(const ConcurrencyCase& c, double n) {
  return c.slo ? fmt::format("; predicted p99 {} <= SLO {}", Ms(c.fit->Latency(n) * c.factor),
                             Ms(*c.slo))
               : "";
}

bool PastPeak(const ConcurrencyCase& c) {
  const auto peak = c.fit->Peak();
  return peak && c.n_obs > *peak;
}

Decision GrowBelowPeak(const ConcurrencyCase& c, Proposal p) {
  auto t = FittedThroughputTarget(c);
  if (!t || !(t->n > c.cur)) return Next();
  DescribeFitted(c, *t, p);
  p.scenario = "grow_below_peak";
  p.reason =
      fmt::format("throughput still grows with concurrency ({}){}", PeakText(c), SloText(c, t->n));
  p.trade_offs.push_back(fmt::format("p99 rises from {} to {}",
                                     Ms(c.fit->Latency(c.cur) * c.factor),
                                     Ms(c.fit->Latency(t->n) * c.factor)));
  return Done(std::move(p));
}

Decision ShrinkPastPeak(const ConcurrencyCase& c, Proposal p) {
  auto t = FittedThroughputTarget(c);
  if (!t || !(t->n < c.cur) || !PastPeak(c)) return Next();
  DescribeFitted(c, *t, p);
  p.scenario = "shrink_past_peak";
  p.reason =
      fmt::format("the limit is past the {}: more concurrency lowers throughput", PeakText(c));
  return Done(std::move(p));
}

// The observed concurrency's predicted p99 exceeds the SLO (the observed p99 does not, yet:
// ShrinkLatencyObserved handles that).
Decision ShrinkLatencyPredicted(const ConcurrencyCase& c, Proposal p) {
  auto t = FittedThroughputTarget(c);
  if (!t || !(t->n < c.cur) || PastPeak(c)) return Next();
  DescribeFitted(c, *t, p);
  p.scenario = "shrink_latency";
  p.reason = fmt::format("the predicted p99 at {} would exceed the SLO{}", c.cur, SloText(c, t->n));
  p.binding_constraint = "p99_latency";
  return Done(std::move(p));
}

// Latency or CPU per request: the smallest N that still carries the observed throughput.
Decision ShrinkSameThroughput(const ConcurrencyCase& c, Proposal p) {
  if (!c.confident || c.in.policy.objective == Objective::kMaximizeThroughput) return Next();
  p.confidence = c.fit->Confidence();
  double target = c.cur;
  for (double n = c.lo; n < c.cur; n += 1) {
    double lcb = c.fit->Throughput(n) - c.fit->ThroughputSe(n);
    if (lcb >= 0.98 * c.x_obs) {
      target = n;
      break;
    }
  }
  if (target >= c.cur) return Done(std::nullopt);
  p.value = target;
  p.scenario = "shrink_same_throughput";
  c.Predict(target, p);
  double r_cur = c.fit->Latency(c.cur), r_new = c.fit->Latency(target);
  p.expected_gain = r_cur > 0 ? (r_cur - r_new) / r_cur : 0;
  p.reason = fmt::format(
      "{:.0f} in flight still carry the observed {:.0f}/s ({}); predicted p99 "
      "falls from {} to {}",
      target, c.x_obs, PeakText(c), Ms(r_cur * c.factor), Ms(r_new * c.factor));
  p.trade_offs.push_back("less headroom for bursts above the observed throughput");
  return Done(std::move(p));
}

// Too little data to fit: explore one small step. Both exploration rules say why.
// Exploration is aimed at the data the fit lacks, and says which.
std::string ExploreWhy(const ConcurrencyCase& c) {
  const std::string lacks =
      c.m.usl_error().empty()
          ? fmt::format("the USL fit is not yet confident (confidence {:.2f} < {:.1f})",
                        c.fit ? c.fit->Confidence() : 0.0, kMinConfidence)
          : fmt::format("the USL fit lacks data ({})", c.m.usl_error());
  return lacks + ": this step measures throughput at a concurrency level it has not seen";
}
void MarkExploratory(Proposal& p) {
  p.exploratory = true;
  p.confidence = 0.2;
}

Decision ExploreUp(const ConcurrencyCase& c, Proposal p) {
  const OptimizerInput& in = c.in;
  if (c.confident || in.policy.objective != Objective::kMaximizeThroughput) return Next();
  const double up = OneStep(c.cur, +1, in.knob_policy, in.guard);
  bool up_ok = up > c.cur && c.limit_binds && !c.m.PenaltyFor(in.knob, up, c.m.latest()->time) &&
               !c.HigherConcurrencyCarriedNoMore(0.02);
  // No predicted crossing: p99 grows at most linearly in N (Little's law with X non-decreasing).
  if (c.slo && c.has_p99) up_ok = up_ok && c.p99_obs * (up / c.cur) <= *c.slo_grow;
  if (c.fit && c.slo) up_ok = up_ok && c.fit->Latency(up) * c.factor <= *c.slo_grow;
  if (!up_ok) return Next();
  MarkExploratory(p);
  p.value = up;
  p.scenario = "explore_up";
  const std::string why = ExploreWhy(c);
  p.reason = c.slo && c.has_p99 ? fmt::format("{}; p99 {} leaves room under the SLO {}", why,
                                              Ms(c.p99_obs), Ms(*c.slo))
                                : why;
  p.expected_gain = 0.001;
  p.predicted["throughput"] = c.x_obs;
  return Done(std::move(p));
}

// A limit that rejects is admitting all it can: a lower one turns more away at the same
// latency (Little), a throughput loss known in advance, so there is nothing to learn below.
// The step down, when exploration would take one (else nullopt).
std::optional<double> ExploreDownStep(const ConcurrencyCase& c) {
  const OptimizerInput& in = c.in;
  if (c.confident) return std::nullopt;
  const bool want_up = in.policy.objective == Objective::kMaximizeThroughput;
  const double up = OneStep(c.cur, +1, in.knob_policy, in.guard);
  const double down = OneStep(c.cur, -1, in.knob_policy, in.guard);
  const MonoTime now = c.m.latest()->time;
  if (!(down < c.cur && !(want_up && c.rejecting) && !c.m.PenaltyFor(in.knob, down, now) &&
        (!want_up || c.m.PenaltyFor(in.knob, up, now))))
    return std::nullopt;
  return down;
}

// A step down that stays above what the demand reaches changes neither the concurrency in
// flight nor anything the fit could learn from (the 256 -> 192 -> 144 with 16 in
// flight): hold, and say why.
Decision HoldNotBinding(const ConcurrencyCase& c, Proposal p) {
  const auto down = ExploreDownStep(c);
  if (!down || c.limit_binds || *down < c.reach) return Next();
  p.value = c.cur;
  p.scenario = "hold_not_binding";
  p.triggers["peak_in_flight"] = c.peak_in_flight;
  p.reason = fmt::format(
      "the limit is not binding: at most {:.1f} requests were in flight over the last {} "
      "observations (bursts to about {:.0f}), so a lower limit of {:.0f} or more would change "
      "nothing and measure nothing",
      c.peak_in_flight, std::min(kPeakObservations, c.m.observations().size()), c.reach,
      std::ceil(c.reach));
  return Done(std::move(p));
}

Decision ExploreDown(const ConcurrencyCase& c, Proposal p) {
  const auto down_step = ExploreDownStep(c);
  if (!down_step) return Next();
  const double down = *down_step;
  MarkExploratory(p);
  p.value = down;
  p.scenario = "explore_down";
  p.reason = ExploreWhy(c);
  p.expected_gain = 0.0005;
  p.predicted["throughput"] = c.x_obs;
  return Done(std::move(p));
}

// The scenario table's evaluation order (docs/model.md): violations first, then the
// rejections a higher limit cures, then the fit's optimum, then exploration.
struct Rule {
  std::string_view scenario;
  Decision (*decide)(const ConcurrencyCase&, Proposal);
};
constexpr std::array<Rule, 11> kRules = {{
    {"hold_latency_not_limit", HoldLatencyNotLimit},
    {"shrink_latency", ShrinkLatencyObserved},
    {"shrink_errors", ShrinkErrors},
    {"grow_rejections", GrowRejections},
    {"grow_below_peak", GrowBelowPeak},
    {"shrink_past_peak", ShrinkPastPeak},
    {"shrink_latency", ShrinkLatencyPredicted},
    {"shrink_same_throughput", ShrinkSameThroughput},
    {"explore_up", ExploreUp},
    {"hold_not_binding", HoldNotBinding},
    {"explore_down", ExploreDown},
}};

// Every rule names a scenario of the table, and every scenario has a rule.
constexpr bool RulesMatchScenarios() {
  for (const Rule& r : kRules) {
    bool found = false;
    for (const Scenario& s : kScenarios) found = found || s.id == r.scenario;
    if (!found) return false;
  }
  for (const Scenario& s : kScenarios) {
    bool found = false;
    for (const Rule& r : kRules) found = found || s.id == r.scenario;
    if (!found) return false;
  }
  return true;
}
static_assert(RulesMatchScenarios());

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
  if (!in.model.latest() || in.model.observations().size() < 3) return std::nullopt;
  const ConcurrencyCase c(in);
  Proposal p;
  p.knob = in.knob;
  p.current = c.cur;
  p.optimizer = std::string(Name());
  p.triggers["throughput"] = c.x_obs;
  p.triggers["concurrency"] = c.n_obs;
  if (c.has_p99) p.triggers["p99_seconds"] = c.p99_obs;
  for (const Rule& r : kRules) {
    Decision d = r.decide(c, p);
    if (d.decided) return d.proposal;
  }
  return std::nullopt;
}

}  // namespace knob
