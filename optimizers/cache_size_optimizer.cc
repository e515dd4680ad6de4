// SPDX-License-Identifier: Apache-2.0
#include "optimizers/cache_size_optimizer.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>

namespace knob {
namespace {

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

// What every cache scenario reads. Evaluated in the scenario table's order: the first rule
// that decides (a proposal, or that there is none) ends the evaluation.
struct CacheCase {
  const OptimizerInput& in;
  const MissRatioCurve& mrc;
  double lo = 0;
  double cache_hi = 0;             // the knob's max (infinite without one)
  std::optional<double> rss;       // resident memory now
  std::optional<double> headroom;  // memory constraint - rss, when both are known
};

struct Decision {
  bool decided = false;
  std::optional<Proposal> proposal;
};
Decision Next() { return {}; }
Decision Done(std::optional<Proposal> p) { return {true, std::move(p)}; }

Decision ShrinkForMemory(const CacheCase& c, Proposal p) {
  const OptimizerInput& in = c.in;
  if (!c.headroom || *c.headroom >= 0) return Next();
  double target = std::max(c.lo, in.current + *c.headroom);  // give back the excess
  if (target >= in.current) return Done(std::nullopt);
  p.value = target;
  p.scenario = "shrink_cache_memory";
  p.binding_constraint = "memory_bytes";
  p.fixes_violation = true;
  p.confidence = 0.8;
  p.reason = fmt::format("resident memory {} is above the limit {}", Bytes(*c.rss),
                         Bytes(static_cast<double>(*in.policy.constraints.memory_bytes)));
  p.predicted["hit_ratio"] = c.mrc.HitRatio(target);
  p.predicted["memory_bytes"] = *c.rss + (target - in.current);
  p.trade_offs.push_back(fmt::format("hit ratio falls from {:.1f}% to {:.1f}%",
                                     100 * c.mrc.HitRatio(in.current),
                                     100 * c.mrc.HitRatio(target)));
  p.expected_gain = 0.05;
  return Done(std::move(p));
}

// The size the curve asks for, under the cap, and what it says of it.
struct Knee {
  double cap = 0, best = 0, size = 0, h_cur = 0, h_new = 0;
};

Knee FindKnee(const CacheCase& c) {
  Knee k;
  k.cap = c.cache_hi;
  if (c.headroom) k.cap = std::min(k.cap, c.in.current + 0.8 * *c.headroom);
  k.best = c.mrc.BestHitRatioUnder(k.cap);
  k.size = c.mrc.SmallestSizeForHitRatio(k.best * 0.995).value_or(k.cap);
  k.size = std::clamp(RoundUpToGrid(k.size), c.lo, k.cap);
  k.h_cur = c.mrc.HitRatio(c.in.current);
  k.h_new = c.mrc.HitRatio(k.size);
  return k;
}

// The curve's own triggers, prediction and confidence, for either direction.
void DescribeKnee(const CacheCase& c, const Knee& k, Proposal& p) {
  p.triggers["hit_ratio"] = k.h_cur;
  p.predicted["hit_ratio"] = k.h_new;
  if (c.rss) p.predicted["memory_bytes"] = *c.rss + (k.size - c.in.current);
  p.confidence = std::min(0.9, 0.3 + std::log10(1.0 + c.mrc.total_accesses()) / 10);
}

// Under a throughput objective a larger cache turns misses into hits: requests complete
// faster, the clients send more of them, and the misses that remain meet a busier backend,
// so the tail may rise while throughput grows. Say which rise is accepted (the guard rolls
// back only a p99 rise beyond it plus its regression budget, and always the SLO): at most
// in proportion to the throughput gain the step's miss ratio predicts, (1 - h) / (1 - h')
// if misses dominate the cost of a request, capped at doubling and at (1 - h) x SLO.
void AcceptThroughputRise(const CacheCase& c, const Knee& k, Proposal& p) {
  const OptimizerInput& in = c.in;
  const double step_to =
      std::min(k.size, in.current + MaxStep(in.current, in.knob_policy, in.guard));
  const double h_step = c.mrc.HitRatio(step_to);
  const double x_gain = std::min(1.0, (1 - k.h_cur) / std::max(1e-9, 1 - h_step) - 1);
  const auto& last = *in.model.latest();
  if (in.policy.objective != Objective::kMaximizeThroughput || !(x_gain > 0)) return;
  p.predicted["throughput"] = last.throughput * (1 + x_gain);
  if (!last.p99_seconds) return;
  double accepted = *last.p99_seconds * (1 + x_gain);
  if (auto slo = P99LimitSeconds(in.policy.constraints))
    accepted = std::min(accepted, (1 - in.guard.hysteresis_fraction) * *slo);
  if (accepted > *last.p99_seconds) {
    p.predicted["p99_seconds"] = accepted;
    p.trade_offs.push_back(
        fmt::format("p99 may rise up to {:.1f} ms as throughput grows (up to {:.0f}% predicted)",
                    1000 * accepted, 100 * x_gain));
  }
}

Decision GrowForHits(const CacheCase& c, Proposal p) {
  const OptimizerInput& in = c.in;
  const Knee k = FindKnee(c);
  if (!(k.size > in.current && k.h_new - k.h_cur >= 0.01)) return Next();
  DescribeKnee(c, k, p);
  p.value = k.size;
  p.scenario = "grow_cache_hits";
  // The memory cap binds when a larger cache would still gain hit ratio.
  if (k.cap < c.cache_hi && c.mrc.HitRatio(c.cache_hi) > k.best + 0.005)
    p.binding_constraint = "memory_bytes";
  p.reason = fmt::format("the miss-ratio curve gains {:.1f} points of hit ratio up to {}",
                         100 * (k.h_new - k.h_cur), Bytes(k.size));
  p.trade_offs.push_back(fmt::format("{} more memory", Bytes(k.size - in.current)));
  p.expected_gain = k.h_new - k.h_cur;
  AcceptThroughputRise(c, k, p);
  return Done(std::move(p));
}

Decision ShrinkUnused(const CacheCase& c, Proposal p) {
  const OptimizerInput& in = c.in;
  const Knee k = FindKnee(c);
  if (!(k.size < in.current * 0.8 && k.h_cur - k.h_new < 0.005)) return Next();
  DescribeKnee(c, k, p);
  p.value = k.size;
  p.scenario = "shrink_cache_unused";
  p.reason = fmt::format("{} already reaches a {:.1f}% hit ratio", Bytes(k.size), 100 * k.h_new);
  p.trade_offs.push_back(fmt::format("hit ratio {:.2f} points lower", 100 * (k.h_cur - k.h_new)));
  p.expected_gain = 0.001;
  return Done(std::move(p));
}

// The scenario table, in evaluation order (docs/model.md).
struct Rule {
  Scenario scenario;
  Decision (*decide)(const CacheCase&, Proposal);
};
constexpr std::array<Rule, 3> kRules = {{
    {{"shrink_cache_memory", "resident memory is above the memory constraint: shrink the cache"},
     ShrinkForMemory},
    {{"grow_cache_hits",
      "the miss-ratio curve says a larger cache (within the memory cap) gains "
      "at least one point of hit ratio"},
     GrowForHits},
    {{"shrink_cache_unused",
      "the cache is larger than the size that already reaches the best "
      "hit ratio under the cap: free the memory"},
     ShrinkUnused},
}};

constexpr std::array<Scenario, 3> kScenarios = {kRules[0].scenario, kRules[1].scenario,
                                                kRules[2].scenario};

}  // namespace

bool CacheSizeOptimizer::IsCacheKnob(std::string_view knob) {
  return knob == "cache_bytes" ||
         (knob.size() >= strlen("_cache_bytes") &&
          knob.substr(knob.size() - strlen("_cache_bytes")) == "_cache_bytes");
}

std::span<const Scenario> CacheSizeOptimizer::Scenarios() const { return kScenarios; }

std::optional<Proposal> CacheSizeOptimizer::Propose(const OptimizerInput& in) const {
  const TargetModel& m = in.model;
  if (!m.latest() || !IsCacheKnob(in.knob)) return std::nullopt;
  std::string name;
  if (in.knob != "cache_bytes")
    name = in.knob.substr(0, in.knob.size() - strlen("_cache_bytes"));
  else if (!m.caches().empty())
    name = m.caches().begin()->first;
  auto mrc = m.Cache(name);
  if (!mrc) return std::nullopt;
  const std::optional<double> rss = m.latest()->memory_bytes;
  std::optional<double> headroom;
  if (in.policy.constraints.memory_bytes && rss)
    headroom = static_cast<double>(*in.policy.constraints.memory_bytes) - *rss;
  const CacheCase c{in,
                    *mrc,
                    KnobMin(in.knob_policy, 1),
                    KnobMax(in.knob_policy, std::numeric_limits<double>::infinity()),
                    rss,
                    headroom};
  Proposal p;
  p.knob = in.knob;
  p.current = in.current;
  p.optimizer = std::string(Name());
  for (const Rule& r : kRules) {
    Decision d = r.decide(c, p);
    if (d.decided) return d.proposal;
  }
  return std::nullopt;
}

}  // namespace knob
