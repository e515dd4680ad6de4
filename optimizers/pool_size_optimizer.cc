#include "optimizers/pool_size_optimizer.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>

#include "optimizers/models/queueing.h"

namespace knob {
namespace {

constexpr std::array<Scenario, 7> kScenarios = {{
    {"grow_pool_wait",
     "requests wait for a pool member: Erlang C says the smallest pool whose "
     "mean wait fits the budget is larger than the current one"},
    {"grow_pool_demand",
     "the pool binds throughput (or p99): nearly every member is busy and requests queue for "
     "one; grow toward the demand busy + waiters, even when the mean wait fits the budget"},
    {"hold_no_gain",
     "hold: the last raise of this pool did not improve the objective beyond noise "
     "(a closed-loop load keeps every member busy at any size, so Erlang C would grow it "
     "to the maximum); the periodic re-probe tries again later"},
    {"shrink_pool_idle",
     "the pool is far larger than Erlang C needs for the wait budget: free "
     "threads/connections, keeping one spare"},
    {"grow_cache_hits",
     "the miss-ratio curve says a larger cache (within the memory cap) gains "
     "at least one point of hit ratio"},
    {"shrink_cache_unused",
     "the cache is larger than the size that already reaches the best "
     "hit ratio under the cap: free the memory"},
    {"shrink_cache_memory", "resident memory is above the memory constraint: shrink the cache"},
}};

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

// Cache sizes are proposed on a grid of 1/16 of the power of two below them (6.25%, at least
// 64 KiB): the client's reuse histogram has doubling buckets, so finer sizes carry no
// information, and a knee that moved a few KiB with every report made a new proposal (and a new
// veto record, when a penalty forbade it) on every tick.
double RoundUpToGrid(double bytes) {
  if (!(bytes > 0)) return bytes;
  double grid = std::max(65536.0, std::exp2(std::floor(std::log2(bytes))) / 16);
  return std::ceil(bytes / grid) * grid;
}

std::string Bytes(double b) {
  if (b >= 1 << 30) return fmt::format("{:.1f} GiB", b / (1 << 30));
  if (b >= 1 << 20) return fmt::format("{:.1f} MiB", b / (1 << 20));
  return fmt::format("{:.0f} KiB", b / 1024);
}

}  // namespace

std::string PoolSizeOptimizer::PoolForKnob(std::string_view knob) {
  if (knob == "worker_threads") return "workers";
  for (std::string_view suffix : {"_pool_size", "_pool", "_connections"}) {
    if (EndsWith(knob, suffix) && knob.size() > suffix.size())
      return std::string(knob.substr(0, knob.size() - suffix.size()));
  }
  return "";
}

bool PoolSizeOptimizer::IsCacheKnob(std::string_view knob) {
  return knob == "cache_bytes" || EndsWith(knob, "_cache_bytes");
}

bool PoolSizeOptimizer::Handles(std::string_view knob) const {
  return !PoolForKnob(knob).empty() || IsCacheKnob(knob);
}

std::span<const Scenario> PoolSizeOptimizer::Scenarios() const { return kScenarios; }

std::optional<Proposal> PoolSizeOptimizer::Propose(const OptimizerInput& in) const {
  const TargetModel& m = in.model;
  if (!m.latest()) return std::nullopt;
  Proposal p;
  p.knob = in.knob;
  p.current = in.current;
  p.optimizer = std::string(Name());
  const double lo = KnobMin(in.knob_policy, 1);
  const double hi = KnobMax(in.knob_policy, std::max(in.current * 4, 256.0));

  if (IsCacheKnob(in.knob)) {
    std::string name;
    if (in.knob != "cache_bytes")
      name = in.knob.substr(0, in.knob.size() - strlen("_cache_bytes"));
    else if (!m.caches().empty())
      name = m.caches().begin()->first;
    auto mrc = m.Cache(name);
    if (!mrc) return std::nullopt;
    const double cache_hi = KnobMax(in.knob_policy, std::numeric_limits<double>::infinity());
    double cap = cache_hi;
    const auto& mem_limit = in.policy.constraints.memory_bytes;
    std::optional<double> rss = m.latest()->memory_bytes;
    if (mem_limit && rss) {
      double headroom = static_cast<double>(*mem_limit) - *rss;
      if (headroom < 0) {
        double target = std::max(lo, in.current + headroom);  // give back the excess
        if (target >= in.current) return std::nullopt;
        p.value = target;
        p.scenario = "shrink_cache_memory";
        p.binding_constraint = "memory_bytes";
        p.fixes_violation = true;
        p.confidence = 0.8;
        p.reason = fmt::format("resident memory {} is above the limit {}", Bytes(*rss),
                               Bytes(static_cast<double>(*mem_limit)));
        p.predicted["hit_ratio"] = mrc->HitRatio(target);
        p.predicted["memory_bytes"] = *rss + (target - in.current);
        p.trade_offs.push_back(fmt::format("hit ratio falls from {:.1f}% to {:.1f}%",
                                           100 * mrc->HitRatio(in.current),
                                           100 * mrc->HitRatio(target)));
        p.expected_gain = 0.05;
        return p;
      }
      cap = std::min(cap, in.current + 0.8 * headroom);
    }
    double best = mrc->BestHitRatioUnder(cap);
    double knee = mrc->SmallestSizeForHitRatio(best * 0.995).value_or(cap);
    knee = std::clamp(RoundUpToGrid(knee), lo, cap);
    double h_cur = mrc->HitRatio(in.current), h_new = mrc->HitRatio(knee);
    p.triggers["hit_ratio"] = h_cur;
    p.predicted["hit_ratio"] = h_new;
    if (rss) p.predicted["memory_bytes"] = *rss + (knee - in.current);
    p.confidence = std::min(0.9, 0.3 + std::log10(1.0 + mrc->total_accesses()) / 10);
    if (knee > in.current && h_new - h_cur >= 0.01) {
      p.value = knee;
      p.scenario = "grow_cache_hits";
      // The memory cap binds when a larger cache would still gain hit ratio.
      if (cap < cache_hi && mrc->HitRatio(cache_hi) > best + 0.005)
        p.binding_constraint = "memory_bytes";
      p.reason = fmt::format("the miss-ratio curve gains {:.1f} points of hit ratio up to {}",
                             100 * (h_new - h_cur), Bytes(knee));
      p.trade_offs.push_back(fmt::format("{} more memory", Bytes(knee - in.current)));
      p.expected_gain = h_new - h_cur;
      // Under a throughput objective a larger cache turns misses into hits: requests complete
      // faster, the clients send more of them, and the misses that remain meet a busier backend,
      // so the tail may rise while throughput grows. Say which rise is accepted (the guard rolls
      // back only a p99 rise beyond it plus its regression budget, and always the SLO): at most
      // in proportion to the throughput gain the step's miss ratio predicts, (1 - h) / (1 - h')
      // if misses dominate the cost of a request, capped at doubling and at (1 - h) x SLO.
      const double step_to =
          std::min(knee, in.current + MaxStep(in.current, in.knob_policy, in.guard));
      const double h_step = mrc->HitRatio(step_to);
      const double x_gain = std::min(1.0, (1 - h_cur) / std::max(1e-9, 1 - h_step) - 1);
      const auto& last = *m.latest();
      if (in.policy.objective == Objective::kMaximizeThroughput && x_gain > 0) {
        p.predicted["throughput"] = last.throughput * (1 + x_gain);
        if (last.p99_seconds) {
          double accepted = *last.p99_seconds * (1 + x_gain);
          if (auto slo = P99LimitSeconds(in.policy.constraints))
            accepted = std::min(accepted, (1 - in.guard.hysteresis_fraction) * *slo);
          if (accepted > *last.p99_seconds) {
            p.predicted["p99_seconds"] = accepted;
            p.trade_offs.push_back(fmt::format(
                "p99 may rise up to {:.1f} ms as throughput grows (up to {:.0f}% predicted)",
                1000 * accepted, 100 * x_gain));
          }
        }
      }
      return p;
    }
    if (knee < in.current * 0.8 && h_cur - h_new < 0.005) {
      p.value = knee;
      p.scenario = "shrink_cache_unused";
      p.reason = fmt::format("{} already reaches a {:.1f}% hit ratio", Bytes(knee), 100 * h_new);
      p.trade_offs.push_back(fmt::format("hit ratio {:.2f} points lower", 100 * (h_cur - h_new)));
      p.expected_gain = 0.001;
      return p;
    }
    return std::nullopt;
  }

  auto pool = m.Pool(PoolForKnob(in.knob));
  if (!pool || pool->arrival_rate <= 0 || pool->service_seconds <= 0) return std::nullopt;
  const auto slo = P99LimitSeconds(in.policy.constraints);
  double budget = slo ? 0.1 * *slo : 0.05 * pool->service_seconds;
  int c_lo = static_cast<int>(std::max(1.0, lo));
  int c_hi = static_cast<int>(hi);
  auto needed =
      SmallestServersForWait(pool->arrival_rate, pool->service_seconds, budget, c_lo, c_hi);
  double wait_cur =
      MeanWaitSeconds(static_cast<int>(in.current), pool->arrival_rate, pool->service_seconds);
  p.triggers["arrival_rate"] = pool->arrival_rate;
  p.triggers["service_seconds"] = pool->service_seconds;
  p.triggers["busy"] = pool->busy;
  p.triggers["waiters"] = pool->waiters;
  // Erlang C assumes Poisson arrivals and exponential service; confidence reflects that the
  // inputs are measured but the model is an approximation.
  p.confidence = std::min(0.8, 0.3 + 0.05 * static_cast<double>(m.observations().size()));
  if (!needed) {
    if (in.current >= hi) return std::nullopt;
    needed = c_hi;  // even the largest pool misses the budget: go as far as allowed
  }
  // Demand on the pool by Little's law: the requests holding a member plus those queued for one.
  // Under a closed-loop load (or any saturated pool) the measured offered load is capped at the
  // pool size, so Erlang C alone asks for one more member per step; the queue says how many more
  // would be used at once. Used only when the pool binds and the objective gains from a larger
  // pool (throughput, p99); growth stops at the measured plateau (hold_no_gain below).
  // Judged over the last kPeakObservations observations at the current size, not the model's
  // 10-observation mean: near the plateau the gauges swing between idle and queued from tick to
  // tick, and a short window reads such a pool as binding often enough to creep past the plateau.
  RunningStat busy_w, waiters_w;
  double peak = 0;
  size_t seen = 0;
  for (auto it = m.observations().rbegin();
       it != m.observations().rend() && seen < kPeakObservations; ++it) {
    auto o = it->pools.find(pool->name);
    if (o == it->pools.end()) continue;
    ++seen;
    peak = std::max(peak, o->second.busy + o->second.waiters);
    auto k = it->knobs.find(in.knob);
    if (k != it->knobs.end() && k->second != in.current) continue;
    busy_w.Add(o->second.busy);
    waiters_w.Add(o->second.waiters);
  }
  const double demand = busy_w.mean + waiters_w.mean;
  const bool demand_objective = in.policy.objective != Objective::kMinimizeCpuPerRequest;
  const bool binds = demand_objective && busy_w.n > 0 && waiters_w.mean >= kBindingWaiters &&
                     busy_w.mean >= kBindingUtilisation * in.current;
  p.triggers["demand"] = demand;
  double target = *needed;
  // Erlang C's own size stands when the queue is stable and it asks for more (its inputs are
  // then sound); the demand takes over when the measured load is capped by the pool (saturated)
  // or when the wait fits the budget yet the pool binds.
  const bool saturated = !(std::isfinite(wait_cur) && wait_cur < 3600);
  const bool by_demand = binds && std::ceil(demand) > target && (saturated || target <= in.current);
  if (by_demand) target = std::min(std::ceil(demand), static_cast<double>(c_hi));
  auto describe = [&](double c) {
    double w = MeanWaitSeconds(static_cast<int>(c), pool->arrival_rate, pool->service_seconds);
    std::string wait =
        std::isfinite(w) && w < 3600 ? fmt::format("{:.1f} ms", 1000 * w) : "unbounded";
    return fmt::format(
        "offered load {:.1f} Erlangs ({:.0f}/s x {:.1f} ms), predicted wait {} at {:.0f}",
        pool->offered_erlangs, pool->arrival_rate, 1000 * pool->service_seconds, wait, c);
  };
  if (target > in.current) {
    // Past the throughput plateau a closed loop still shows busy == size, so Erlang C keeps
    // asking for more; the measured effect of the previous raise is the better witness.
    if (const auto& last = in.last_change; last && last->verified &&
                                           last->new_value > last->old_value &&
                                           in.current >= last->new_value) {
      const bool helped = last->improvement && last->signal_to_noise && *last->improvement > 0 &&
                          *last->signal_to_noise >= in.guard.min_signal_to_noise;
      // Inconclusive, not flat: a large measured gain drowned in a noisy host's variance while
      // the pool still binds with a queue of half its size or more. A pool past its plateau stops
      // binding (its members idle), so this does not apply there; a worker pool under a closed
      // loop binds at any size, but past its plateau its measured gain is near zero, not large.
      const bool inconclusive_gain = last->improvement && *last->improvement >= kLargeGain &&
                                     binds && demand >= kDeepQueue * in.current;
      if (!helped && !inconclusive_gain) {
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
        return p;
      }
    }
    p.value = target;
    p.scenario = by_demand && !saturated ? "grow_pool_demand" : "grow_pool_wait";
    // An unstable queue (offered load >= servers) has no finite mean wait: say so in words
    // rather than printing a clamped sentinel.
    const std::string demand_clause =
        by_demand ? fmt::format("{:.1f} requests waiting for one (demand {:.1f}); ", waiters_w.mean,
                                demand)
                  : std::string();
    p.reason =
        !saturated && by_demand
            ? fmt::format("pool {} binds: {:.1f} of {:.0f} members busy and {}{}", pool->name,
                          busy_w.mean, in.current, demand_clause, describe(target))
        : !saturated
            ? fmt::format("requests wait for pool {} (mean wait {:.1f} ms > budget {:.1f} ms); {}",
                          pool->name, 1000 * wait_cur, 1000 * budget, describe(target))
            : fmt::format(
                  "pool {} is saturated ({:.1f} Erlangs offered to {:.0f} servers, the "
                  "queue grows without bound{}); {}",
                  pool->name, pool->offered_erlangs, in.current,
                  by_demand ? "; " + demand_clause.substr(0, demand_clause.size() - 2)
                            : std::string(),
                  describe(target));
    if (slo) p.binding_constraint = "p99_latency";
    double w_new =
        MeanWaitSeconds(static_cast<int>(target), pool->arrival_rate, pool->service_seconds);
    p.predicted["wait_seconds"] = w_new;
    if (m.latest()->p99_seconds && std::isfinite(wait_cur))
      p.predicted["p99_seconds"] = std::max(0.0, *m.latest()->p99_seconds - (wait_cur - w_new));
    p.trade_offs.push_back(fmt::format("{:.0f} more {}", target - in.current, in.knob));
    p.expected_gain = std::isfinite(wait_cur) && m.latest()->mean_latency_seconds
                          ? (wait_cur - w_new) / std::max(*m.latest()->mean_latency_seconds, 1e-9)
                          : 0.05;
    // A binding pool limits throughput about in proportion to its size.
    if (by_demand)
      p.expected_gain = std::max(p.expected_gain, std::min(1.0, target / in.current - 1));
    // Same test as the reason's "saturated": a pool at 3.99 Erlangs (huge finite wait) and one
    // at 4.0 (infinite) are the same pool, and must not flip the guard's flap rule per tick.
    p.fixes_violation = saturated;
    return p;
  }
  // Shrink to one spare member above Erlang C's size, but never to where the recent peak demand
  // would bind the smaller pool (the two rules must not undo each other).
  const double shrink_to = std::max(target + 1, std::ceil(peak / kShrinkUtilisation));
  if (binds) return std::nullopt;
  if (in.current > 1.5 * shrink_to) {
    p.triggers["peak_demand"] = peak;
    p.value = std::max(lo, shrink_to);
    p.scenario = "shrink_pool_idle";
    p.reason = fmt::format("pool {} is mostly idle; {}", pool->name, describe(p.value));
    p.predicted["wait_seconds"] =
        MeanWaitSeconds(static_cast<int>(p.value), pool->arrival_rate, pool->service_seconds);
    p.trade_offs.push_back("less headroom for load spikes");
    p.expected_gain = 0.001;
    return p;
  }
  return std::nullopt;
}

}  // namespace knob
