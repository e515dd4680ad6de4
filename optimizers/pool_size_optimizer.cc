// SPDX-License-Identifier: Apache-2.0
#include "optimizers/pool_size_optimizer.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "optimizers/models/queueing.h"
#include "optimizers/models/size_curve.h"

namespace knob {
namespace {

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// A pool binds when nearly every member is busy and at least one request waits on average: more
// members would serve the queue at once. Utilisation alone is not enough (a pool at 90% with no
// queue is just well sized), and waiters alone are not either (a burst on a mostly idle pool).
constexpr double kBindingUtilisation = 0.85;
constexpr double kBindingWaiters = 1.0;
// A shrink keeps the recent peak demand at most this busy, so the smaller pool does not bind.
constexpr double kShrinkUtilisation = 0.75;
// Observations the peak demand is taken over (the pool gauges are instantaneous and jumpy; a
// CPU-starved tick shows few busy connections and must not read as an idle pool).
constexpr size_t kPeakObservations = 20;
// A kept raise that measured at least this gain, below the signal-to-noise bar, on a pool that
// still binds with demand >= kDeepQueue x size, is inconclusive rather than a plateau.
constexpr double kLargeGain = 0.10;
constexpr double kDeepQueue = 1.5;

// What every pool scenario reads, computed once. Evaluated in the rule table's order (kRules
// below): the first rule that decides (a proposal, or that there is none) ends the evaluation.
struct PoolCase {
  PoolCase(const OptimizerInput& input, const PoolModel& model) : in(input), pool(model) {}

  const OptimizerInput& in;
  const PoolModel& pool;
  std::optional<double> slo;
  double budget = 0;    // the Erlang-C wait budget, seconds
  int c_hi = 0;         // the largest pool allowed
  double lo = 1;        // the knob's min
  double wait_cur = 0;  // Erlang-C mean wait at the current size
  // Demand over the last kPeakObservations at the current size: the requests holding a member
  // plus those queued for one (Little), and its peak over those observations at any size.
  RunningStat busy_w, waiters_w;
  double demand = 0, peak = 0;
  bool binds = false;
  // The offered load has no finite Erlang-C wait at the current size (the queue grows).
  bool saturated = false;
  double target = 0;  // Erlang C's size, or the demand's when that takes over
  bool by_demand = false;
  // Throughput and p99 against the sizes the pool has run at (size_curve.h).
  SizeCurve curve;

  // "offered load 3.2 Erlangs (1000/s x 3.2 ms), predicted wait 0.4 ms at 5"
  std::string Describe(double c) const;
};

std::string PoolCase::Describe(double c) const {
  double w = MeanWaitSeconds(static_cast<int>(c), pool.arrival_rate, pool.service_seconds);
  std::string wait =
      std::isfinite(w) && w < 3600 ? fmt::format("{:.1f} ms", 1000 * w) : "unbounded";
  return fmt::format(
      "offered load {:.1f} Erlangs ({:.0f}/s x {:.1f} ms), predicted wait {} at {:.0f}",
      pool.offered_erlangs, pool.arrival_rate, 1000 * pool.service_seconds, wait, c);
}

// Demand on the pool by Little's law: the requests holding a member plus those queued for one.
// Under a closed-loop load (or any saturated pool) the measured offered load is capped at the
// pool size, so Erlang C alone asks for one more member per step; the queue says how many more
// would be used at once. Used only when the pool binds and the objective gains from a larger
// pool (throughput, p99); growth stops at the measured plateau (hold_no_gain).
// Judged over the last kPeakObservations observations at the current size, not the model's
// 10-observation mean: near the plateau the gauges swing between idle and queued from tick to
// tick, and a short window reads such a pool as binding often enough to creep past the plateau.
void MeasureDemand(PoolCase& c) {
  const OptimizerInput& in = c.in;
  size_t seen = 0;
  for (auto it = in.model.observations().rbegin();
       it != in.model.observations().rend() && seen < kPeakObservations; ++it) {
    auto o = it->pools.find(c.pool.name);
    if (o == it->pools.end()) continue;
    ++seen;
    c.peak = std::max(c.peak, o->second.busy + o->second.waiters);
    auto k = it->knobs.find(in.knob);
    if (k != it->knobs.end() && k->second != in.current) continue;
    c.busy_w.Add(o->second.busy);
    c.waiters_w.Add(o->second.waiters);
  }
  c.demand = c.busy_w.mean + c.waiters_w.mean;
  const bool demand_objective = in.policy.objective != Objective::kMinimizeCpuPerRequest;
  c.binds = demand_objective && c.busy_w.n > 0 && c.waiters_w.mean >= kBindingWaiters &&
            c.busy_w.mean >= kBindingUtilisation * in.current;
}

struct Decision {
  bool decided = false;
  std::optional<Proposal> proposal;
};
Decision Next() { return {}; }
Decision Done(std::optional<Proposal> p) { return {true, std::move(p)}; }

// The p99 limit broken by this p99 (none without a limit or a measurement).
bool AboveP99Limit(const PoolCase& c, std::optional<double> p99) {
  return c.slo && p99 && *p99 > *c.slo;
}

// Past the throughput plateau a closed loop still shows busy == size, so Erlang C keeps asking
// for more; the measured effect of the previous raise is the better witness.
Decision HoldNoGain(const PoolCase& c, Proposal p) {
  const OptimizerInput& in = c.in;
  if (!(c.target > in.current)) return Next();
  const auto& last = in.last_change;
  if (!(last && last->verified && last->new_value > last->old_value &&
        in.current >= last->new_value))
    return Next();
  const bool helped = last->improvement && last->signal_to_noise && *last->improvement > 0 &&
                      *last->signal_to_noise >= in.guard.min_signal_to_noise;
  // Inconclusive, not flat: a large measured gain drowned in a noisy host's variance while
  // the pool still binds with a queue of half its size or more. A pool past its plateau stops
  // binding (its members idle), so this does not apply there; a worker pool under a closed
  // loop binds at any size, but past its plateau its measured gain is near zero, not large.
  const bool inconclusive_gain = last->improvement && *last->improvement >= kLargeGain && c.binds &&
                                 c.demand >= kDeepQueue * in.current;
  if (helped || inconclusive_gain) return Next();
  p.value = in.current;
  p.scenario = "hold_no_gain";
  p.reason = last->improvement && last->signal_to_noise
                 ? fmt::format(
                       "hold: last raise did not help ({:.0f} to {:.0f} changed the "
                       "objective by {:.1f}%, signal-to-noise {:.1f} < {:.1f})",
                       last->old_value, last->new_value, 100 * *last->improvement,
                       *last->signal_to_noise, in.guard.min_signal_to_noise)
                 : fmt::format(
                       "hold: last raise did not help ({:.0f} to {:.0f} could not be "
                       "compared with a baseline)",
                       last->old_value, last->new_value);
  p.triggers["last_raise_from"] = last->old_value;
  p.triggers["last_raise_to"] = last->new_value;
  return Done(std::move(p));
}

// Both growth scenarios: the size, its reason, the predicted wait and p99, the gain.
Decision Grow(const PoolCase& c, Proposal p) {
  const OptimizerInput& in = c.in;
  const TargetModel& m = in.model;
  p.value = c.target;
  p.scenario = c.by_demand && !c.saturated ? "grow_pool_demand" : "grow_pool_wait";
  // An unstable queue (offered load >= servers) has no finite mean wait: say so in words
  // rather than printing a clamped sentinel.
  const std::string demand_clause =
      c.by_demand ? fmt::format("{:.1f} requests waiting for one (demand {:.1f}); ",
                                c.waiters_w.mean, c.demand)
                  : std::string();
  p.reason =
      !c.saturated && c.by_demand
          ? fmt::format("pool {} binds: {:.1f} of {:.0f} members busy and {}{}", c.pool.name,
                        c.busy_w.mean, in.current, demand_clause, c.Describe(c.target))
      : !c.saturated
          ? fmt::format("requests wait for pool {} (mean wait {:.1f} ms > budget {:.1f} ms); {}",
                        c.pool.name, 1000 * c.wait_cur, 1000 * c.budget, c.Describe(c.target))
          : fmt::format(
                "pool {} is saturated ({:.1f} Erlangs offered to {:.0f} servers, the "
                "queue grows without bound{}); {}",
                c.pool.name, c.pool.offered_erlangs, in.current,
                c.by_demand ? "; " + demand_clause.substr(0, demand_clause.size() - 2)
                            : std::string(),
                c.Describe(c.target));
  if (c.slo) p.binding_constraint = "p99_latency";
  double w_new =
      MeanWaitSeconds(static_cast<int>(c.target), c.pool.arrival_rate, c.pool.service_seconds);
  p.predicted["wait_seconds"] = w_new;
  if (m.latest()->p99_seconds && std::isfinite(c.wait_cur))
    p.predicted["p99_seconds"] = std::max(0.0, *m.latest()->p99_seconds - (c.wait_cur - w_new));
  p.trade_offs.push_back(fmt::format("{:.0f} more {}", c.target - in.current, in.knob));
  p.expected_gain = std::isfinite(c.wait_cur) && m.latest()->mean_latency_seconds
                        ? (c.wait_cur - w_new) / std::max(*m.latest()->mean_latency_seconds, 1e-9)
                        : 0.05;
  // A binding pool limits throughput about in proportion to its size.
  if (c.by_demand)
    p.expected_gain = std::max(p.expected_gain, std::min(1.0, c.target / in.current - 1));
  // A raise cures a violation only when a constraint is broken: saturation by itself is Erlang
  // C's reading, and under a closed loop it reads "saturated" at every size (the clients refill
  // the queue). Marked as a fix, a raise that made the objective worse beyond noise was judged
  // on a violation that did not exist and called verified (cpu_lock: 16 -> 17, -8%, S/N 4.6).
  // Same test as the reason's "saturated": a pool at 3.99 Erlangs (huge finite wait) and one
  // at 4.0 (infinite) are the same pool, and must not flip the guard's flap rule per tick.
  p.fixes_violation = c.saturated && AboveP99Limit(c, m.latest()->p99_seconds);
  return Done(std::move(p));
}

Decision GrowPoolDemand(const PoolCase& c, Proposal p) {
  if (!(c.target > c.in.current) || !c.by_demand || c.saturated) return Next();
  return Grow(c, std::move(p));
}

Decision GrowPoolWait(const PoolCase& c, Proposal p) {
  if (!(c.target > c.in.current)) return Next();
  return Grow(c, std::move(p));
}

// Shrink to one spare member above Erlang C's size, but never to where the recent peak demand
// would bind the smaller pool (the two rules must not undo each other).
Decision ShrinkPoolIdle(const PoolCase& c, Proposal p) {
  const OptimizerInput& in = c.in;
  const double shrink_to = std::max(c.target + 1, std::ceil(c.peak / kShrinkUtilisation));
  if (c.binds || !(in.current > 1.5 * shrink_to)) return Done(std::nullopt);
  p.triggers["peak_demand"] = c.peak;
  p.value = std::max(c.lo, shrink_to);
  p.scenario = "shrink_pool_idle";
  p.reason = fmt::format("pool {} is mostly idle; {}", c.pool.name, c.Describe(p.value));
  p.predicted["wait_seconds"] =
      MeanWaitSeconds(static_cast<int>(p.value), c.pool.arrival_rate, c.pool.service_seconds);
  p.trade_offs.push_back("less headroom for load spikes");
  p.expected_gain = 0.001;
  return Done(std::move(p));
}

// Nearly every member busy at the current size: the size, not the load, sets the concurrency.
bool Full(const PoolCase& c) {
  return c.busy_w.n > 0 && c.busy_w.mean >= kBindingUtilisation * c.in.current;
}

std::optional<double> ObservedP99(const PoolCase& c) {
  if (const SizeLevel* l = c.curve.Level(c.in.current)) return l->p99_seconds;
  return c.in.model.latest()->p99_seconds;
}

std::string Sizes(const SizeCurve& curve) {
  std::string s;
  for (const SizeLevel& l : curve.levels)
    s += (s.empty() ? "" : ", ") + fmt::format("{:g}", l.size);
  return s.empty() ? "none yet" : s;
}

// A full pool whose size curve is fitted goes to its knee: the smallest size within the noise of
// the best throughput the p99 limit allows. This lowers a pool too large for its backend (its
// service time grows with its size) and raises one still on the rising side.
Decision SizeToKnee(const PoolCase& c, Proposal p) {
  const OptimizerInput& in = c.in;
  if (!c.curve.usl || !Full(c)) return Next();
  const double h = in.guard.hysteresis_fraction;
  std::optional<double> limit;
  if (c.slo) limit = (1 - h) * *c.slo;
  auto knee = ChooseKnee(c.curve, static_cast<int>(std::max(1.0, c.lo)), c.c_hi, c.demand, limit);
  if (!knee) return Next();
  if (!knee->feasible) {
    // No size meets the limit by the curve's p99: its p99 term is then extrapolated far from
    // anything measured (an overloaded open loop's p99 is its timeout, not its service time).
    // Only the throughput curve still speaks: lowering toward a throughput knee below serves
    // more with less queueing; otherwise the queueing rules below decide.
    auto free_knee =
        ChooseKnee(c.curve, static_cast<int>(std::max(1.0, c.lo)), c.c_hi, c.demand, std::nullopt);
    if (!free_knee || !(free_knee->size < in.current)) return Next();
    knee = free_knee;
    knee->feasible = false;
  }
  const UslFit& f = *c.curve.usl;
  const double busy_now = std::min(in.current, c.demand >= 1 ? c.demand : in.current);
  const double x_now = c.curve.Throughput(busy_now);
  const auto p99_now = ObservedP99(c);
  const bool violated = AboveP99Limit(c, p99_now);
  p.triggers["knee_size"] = knee->size;
  p.triggers["peak_size"] = knee->peak_size;
  p.triggers["usl_alpha"] = f.alpha;
  p.triggers["usl_beta"] = f.beta;
  p.triggers["noise_fraction"] = c.curve.noise;
  const std::string curve = fmt::format(
      "throughput against size (USL over busy members at sizes {}: alpha {:.3f}, beta {:.4f}) "
      "peaks at {:.0f} with {:.0f}/s{}",
      Sizes(c.curve), f.alpha, f.beta, knee->peak_size, knee->peak_throughput,
      knee->p99_bound ? " under the p99 limit" : "");
  const std::string p99_text =
      knee->p99_seconds ? fmt::format("; predicted p99 {:.1f} ms", 1000 * *knee->p99_seconds)
                        : std::string();
  if (std::fabs(knee->size - in.current) < std::max(1.0, h * in.current)) {
    p.value = in.current;
    p.scenario = "hold_at_knee";
    p.reason = fmt::format("hold: {} is the knee: {}; no smaller size is within {:.1f}% of it{}",
                           in.current, curve, 100 * c.curve.noise, p99_text);
    return Done(std::move(p));
  }
  p.value = knee->size;
  const bool lower = knee->size < in.current;
  p.scenario = lower ? "lower_to_knee" : "raise_to_knee";
  p.reason = knee->feasible
                 ? fmt::format(
                       "{}; {:.0f} is the smallest size within {:.1f}% (the noise) of "
                       "it{}{}",
                       curve, knee->size, 100 * c.curve.noise, p99_text,
                       lower ? fmt::format(" (the service time grows from {:.2f} ms at "
                                           "{:.0f} busy to {:.2f} ms at {:.0f})",
                                           1000 * std::min(knee->size, busy_now) /
                                               std::max(knee->throughput, 1e-9),
                                           std::min(knee->size, busy_now),
                                           1000 * busy_now / std::max(x_now, 1e-9), busy_now)
                             : std::string())
                 : fmt::format(
                       "{}; no size meets the p99 limit by the curve, and {:.0f} is "
                       "the smallest size within {:.1f}% (the noise) of the peak: fewer "
                       "members serve as much with less queueing{}",
                       curve, knee->size, 100 * c.curve.noise, p99_text);
  if (c.slo) p.binding_constraint = "p99_latency";
  p.predicted["throughput"] = knee->throughput;
  if (knee->p99_seconds) p.predicted["p99_seconds"] = *knee->p99_seconds;
  p.trade_offs.push_back(lower ? fmt::format("{:.0f} fewer {}", in.current - knee->size, in.knob)
                               : fmt::format("{:.0f} more {}", knee->size - in.current, in.knob));
  p.expected_gain = std::max(0.01, knee->throughput / std::max(x_now, 1e-9) - 1);
  p.fixes_violation = violated && knee->p99_seconds && *knee->p99_seconds < *p99_now;
  p.confidence = std::max(0.3, std::min(0.8, f.Confidence()));
  return Done(std::move(p));
}

// A full pool without a fitted curve (fewer than three sizes measured) whose larger sizes
// served less: its last raise was rolled back or measured worse beyond noise, or every size
// measured above the smallest one served less beyond noise. The grow rules would only enlarge it
// (and hold_no_gain would stop there for good), yet a backend whose service time grows with its
// size is told apart from a plateau only below: measure one step under the smallest size run.
Decision ProbeSizeCurve(const PoolCase& c, Proposal p) {
  const OptimizerInput& in = c.in;
  if (c.curve.usl || !Full(c)) return Next();
  const auto& last = in.last_change;
  // Worse beyond noise, not merely flat: a plateau is hold_no_gain's, a raise that measurably
  // cut the objective (kept or rolled back) says the curve falls on that side. A rollback for a
  // constraint alone says nothing about the size's throughput.
  const bool raise_failed = last && last->new_value > last->old_value && last->improvement &&
                            last->signal_to_noise && *last->improvement < 0 &&
                            *last->signal_to_noise >= in.guard.min_signal_to_noise;
  const SizeLevel* lowest = c.curve.levels.empty() ? nullptr : &c.curve.levels.front();
  if (!lowest) return Next();
  bool larger_worse = c.curve.levels.size() >= 2;
  for (const SizeLevel& l : c.curve.levels) {
    if (&l == lowest) continue;
    const double noise = 2 * std::hypot(l.throughput_se, lowest->throughput_se);
    if (!(l.throughput < lowest->throughput - noise)) larger_worse = false;
  }
  if (!raise_failed && !larger_worse) return Next();
  const double from = std::min(in.current, lowest->size);
  const double v = OneStep(from, -1, in.knob_policy, in.guard);
  if (!(v < in.current) || !(v < from)) return Next();
  p.value = v;
  p.scenario = "probe_size_curve";
  p.exploratory = true;
  const std::string why =
      larger_worse     ? fmt::format("every size above {:g} served less beyond noise", lowest->size)
      : last->verified ? fmt::format(
                             "the raise from {:.0f} to {:.0f} did not improve the "
                             "objective beyond noise",
                             last->old_value, last->new_value)
                       : fmt::format("the raise from {:.0f} to {:.0f} was rolled back",
                                     last->old_value, last->new_value);
  p.reason = fmt::format(
      "explore: the size curve has no fit yet ({}; measured sizes {}); {}, so measure {:.0f}, "
      "below the sizes run: a backend whose service time grows with its size serves more with "
      "fewer, a plateau serves the same",
      c.curve.error, Sizes(c.curve), why, v);
  p.trade_offs.push_back(
      fmt::format("{:.0f} fewer {} while it is measured", in.current - v, in.knob));
  p.expected_gain = 0.01;
  p.confidence = 0.2;
  return Done(std::move(p));
}

// SizeToKnee decides all three of its scenarios; the table lists each for its words. The
// unused by-value Proposal is the table's signature (Rule::decide).
Decision DecidedAbove(const PoolCase&, Proposal) {  // NOLINT(performance-unnecessary-value-param)
  return Next();
}

// The scenario table, in evaluation order (docs/model.md).
struct Rule {
  Scenario scenario;
  Decision (*decide)(const PoolCase&, Proposal);
};
constexpr std::array<Rule, 8> kRules = {{
    {{"hold_at_knee",
      "hold: the pool is full and its size curve (USL of throughput over busy members, fitted "
      "from the sizes it ran at) puts the knee here: no smaller size is within the noise of the "
      "best the p99 limit allows"},
     SizeToKnee},
    {{"lower_to_knee",
      "the pool is full and its size curve puts the knee below the current size: past it the "
      "service time grows with the size (contention, coherency, a retrograde backend), so fewer "
      "members serve as much or more"},
     DecidedAbove},
    {{"raise_to_knee",
      "the pool is full and its size curve puts the knee above the current size: more members "
      "still add throughput beyond the noise, within the p99 limit"},
     DecidedAbove},
    {{"probe_size_curve",
      "explore: a full pool whose larger sizes served less has no size curve yet; one step below "
      "measures the side that tells a retrograde backend from a plateau"},
     ProbeSizeCurve},
    {{"hold_no_gain",
      "hold: the last raise of this pool did not improve the objective beyond noise "
      "(a closed-loop load keeps every member busy at any size, so Erlang C would grow it "
      "to the maximum); the periodic re-probe tries again later"},
     HoldNoGain},
    {{"grow_pool_demand",
      "the pool binds throughput (or p99): nearly every member is busy and requests queue for "
      "one; grow toward the demand busy + waiters, even when the mean wait fits the budget"},
     GrowPoolDemand},
    {{"grow_pool_wait",
      "requests wait for a pool member: Erlang C says the smallest pool whose "
      "mean wait fits the budget is larger than the current one"},
     GrowPoolWait},
    {{"shrink_pool_idle",
      "the pool is far larger than Erlang C needs for the wait budget: free "
      "threads/connections, keeping one spare"},
     ShrinkPoolIdle},
}};

constexpr std::array<Scenario, 8> kScenarios = {
    kRules[0].scenario, kRules[1].scenario, kRules[2].scenario, kRules[3].scenario,
    kRules[4].scenario, kRules[5].scenario, kRules[6].scenario, kRules[7].scenario};

}  // namespace

std::string PoolSizeOptimizer::PoolForKnob(std::string_view knob) {
  if (knob == "worker_threads") return "workers";
  for (std::string_view suffix : {"_pool_size", "_pool", "_connections"}) {
    if (EndsWith(knob, suffix) && knob.size() > suffix.size())
      return std::string(knob.substr(0, knob.size() - suffix.size()));
  }
  return "";
}

bool PoolSizeOptimizer::Handles(std::string_view knob) const { return !PoolForKnob(knob).empty(); }

bool PoolSizeOptimizer::Owns(std::string_view knob) const {
  return !PoolForKnob(knob).empty() && knob != "worker_threads";
}

std::span<const Scenario> PoolSizeOptimizer::Scenarios() const { return kScenarios; }

std::optional<Proposal> PoolSizeOptimizer::Propose(const OptimizerInput& in) const {
  const TargetModel& m = in.model;
  if (!m.latest()) return std::nullopt;
  auto pool = m.Pool(PoolForKnob(in.knob));
  if (!pool || pool->arrival_rate <= 0 || pool->service_seconds <= 0) return std::nullopt;
  PoolCase c(in, *pool);
  c.slo = P99LimitSeconds(in.policy.constraints);
  c.budget = c.slo ? 0.1 * *c.slo : 0.05 * pool->service_seconds;
  c.lo = KnobMin(in.knob_policy, 1);
  const double hi = KnobMax(in.knob_policy, std::max(in.current * 4, 256.0));
  const int c_lo = static_cast<int>(std::max(1.0, c.lo));
  c.c_hi = static_cast<int>(hi);
  auto needed =
      SmallestServersForWait(pool->arrival_rate, pool->service_seconds, c.budget, c_lo, c.c_hi);
  c.wait_cur =
      MeanWaitSeconds(static_cast<int>(in.current), pool->arrival_rate, pool->service_seconds);
  if (!needed) {
    if (in.current >= hi) return std::nullopt;
    needed = c.c_hi;  // even the largest pool misses the budget: go as far as allowed
  }
  MeasureDemand(c);
  c.curve = FitSizeCurve(m.observations(), m.pre_shift_observations(), in.knob, c.pool.name);
  c.target = *needed;
  // Erlang C's own size stands when the queue is stable and it asks for more (its inputs are
  // then sound); the demand takes over when the measured load is capped by the pool (saturated)
  // or when the wait fits the budget yet the pool binds.
  c.saturated = !(std::isfinite(c.wait_cur) && c.wait_cur < 3600);
  c.by_demand =
      c.binds && std::ceil(c.demand) > c.target && (c.saturated || c.target <= in.current);
  if (c.by_demand) c.target = std::min(std::ceil(c.demand), static_cast<double>(c.c_hi));

  Proposal p;
  p.knob = in.knob;
  p.current = in.current;
  p.optimizer = std::string(Name());
  p.triggers["arrival_rate"] = pool->arrival_rate;
  p.triggers["service_seconds"] = pool->service_seconds;
  p.triggers["busy"] = pool->busy;
  p.triggers["waiters"] = pool->waiters;
  p.triggers["demand"] = c.demand;
  // Erlang C assumes Poisson arrivals and exponential service; confidence reflects that the
  // inputs are measured but the model is an approximation.
  p.confidence = std::min(0.8, 0.3 + 0.05 * static_cast<double>(m.observations().size()));
  for (const Rule& r : kRules) {
    Decision d = r.decide(c, p);
    if (d.decided) return d.proposal;
  }
  return std::nullopt;
}

}  // namespace knob
