// SPDX-License-Identifier: Apache-2.0
#include "optimizers/scheduling_optimizer.h"

#include <fmt/format.h>

#include <array>
#include <cmath>

#include "core/cpu_list.h"
#include "optimizers/pool_size_optimizer.h"

namespace knob {
namespace {

constexpr std::array<Scenario, 6> kScenarios = {{
    {"threads_exceed_cores",
     "cpu-bound and waiting in the run queue (or throttled): more worker "
     "threads than runnable cores only add context switches, so lower "
     "them to what the cores can run"},
    {"threads_below_cores",
     "cpu-bound with idle cores and little run-queue delay: raise worker "
     "threads to the runnable cores"},
    {"avoid_saturated_cores", "some allowed cores are saturated by others: pin to the rest"},
    {"strategy",
     "the task mix favours another scheduling strategy (work-stealing for uneven "
     "cpu-bound load, priority for short I/O-bound tasks under CPU pressure)"},
    {"quota_throttled",
     "the CPU quota throttles a target that uses all of it: raise the quota to what it would "
     "use with headroom"},
    {"quota_unused",
     "the target uses well under half its CPU quota and is never throttled: lower the quota "
     "toward its use, so a runaway cannot take the cores others need"},
}};

// Headroom kept above the measured use when sizing a quota: bursts shorter than a tick are not
// in the mean, and throttling costs a whole period.
constexpr double kQuotaHeadroom = 1.5;

}  // namespace

double SchedulingOptimizer::StrategyCode(std::string_view s) {
  if (s == "work_stealing") return 1;
  if (s == "priority") return 2;
  return 0;
}

bool SchedulingOptimizer::Handles(std::string_view knob) const {
  return knob == "worker_threads" || knob == "cpu_affinity_mask" || knob == "scheduling_strategy" ||
         knob == kAllowedCpusKnob || knob == kCpuQuotaKnob;
}

std::span<const Scenario> SchedulingOptimizer::Scenarios() const { return kScenarios; }

std::vector<Proposal> SchedulingOptimizer::Candidates(const OptimizerInput& in) const {
  std::vector<Proposal> out = Optimizer::Candidates(in);
  if (in.knob == "worker_threads")
    if (auto p = PoolSizeOptimizer().Propose(in)) out.push_back(std::move(*p));
  return out;
}

std::optional<Proposal> SchedulingOptimizer::Propose(const OptimizerInput& in) const {
  const TargetModel& m = in.model;
  auto advice = m.scheduling();
  if (!advice || !m.latest()) return std::nullopt;
  Proposal p;
  p.knob = in.knob;
  p.current = in.current;
  p.optimizer = std::string(Name());
  p.triggers["runnable_cores"] = advice->runnable_cores;
  p.triggers["runqueue_fraction"] = m.latest()->runqueue_fraction.value_or(0);
  p.triggers["throttled_fraction"] = m.latest()->throttled_fraction.value_or(0);
  p.confidence = 0.6;
  double rq = m.latest()->runqueue_fraction.value_or(0);

  if (in.knob == "worker_threads") {
    // An idle target has no cpu per request: the advice then assumes cpu-bound (fraction 1),
    // and a run-queue ratio over a few idle microseconds of cpu is noise. Act only on a target
    // that serves requests and has a measured cpu per request and latency, over the last few
    // ticks, not one.
    constexpr int kTicks = 3;
    int seen = 0;
    double rq_sum = 0;
    for (auto it = m.observations().rbegin(); it != m.observations().rend() && seen < kTicks;
         ++it, ++seen) {
      if (!(it->throughput > 0) || !it->cpu_per_request_seconds ||
          !(*it->cpu_per_request_seconds > 0) || !it->mean_latency_seconds ||
          !(*it->mean_latency_seconds > 0))
        return std::nullopt;
      rq_sum += it->runqueue_fraction.value_or(0);
    }
    if (seen < kTicks) return std::nullopt;
    rq = rq_sum / kTicks;
    p.triggers["runqueue_fraction"] = rq;
    if (!advice->cpu_bound) return std::nullopt;  // pool_size (Erlang C) sizes I/O-bound pools
    double target =
        std::max(KnobMin(in.knob_policy, 1), static_cast<double>(advice->worker_threads));
    target = std::min(target, KnobMax(in.knob_policy, target));
    if (in.current > target && (rq > 0.25 || advice->throttled)) {
      p.value = target;
      p.scenario = "threads_exceed_cores";
      p.reason = fmt::format("{} threads compete for {}", in.current, advice->reason);
      p.predicted["runqueue_fraction"] = rq * target / in.current;
      if (in.policy.constraints.runqueue_delay) p.binding_constraint = "runqueue_delay";
      p.trade_offs.push_back("fewer requests in service at once");
      p.expected_gain = 0.5 * rq;
      p.fixes_violation = advice->throttled;
      return p;
    }
    if (in.current < target && rq < 0.10 && !advice->throttled) {
      p.value = target;
      p.scenario = "threads_below_cores";
      p.reason = fmt::format("{} threads leave cores idle: {}", in.current, advice->reason);
      if (m.latest()->cpu_cores)
        p.predicted["cpu_cores"] = *m.latest()->cpu_cores * target / in.current;
      p.trade_offs.push_back("more CPU used");
      p.expected_gain = 0.5 * (target - in.current) / std::max(in.current, 1.0);
      return p;
    }
    return std::nullopt;
  }
  if (in.knob == kAllowedCpusKnob) {
    // The same core set as cpu_affinity_mask, as a CPU list: no 64-core limit.
    if (advice->core_set.empty() || in.current_list.empty()) return std::nullopt;
    const double n = static_cast<double>(advice->core_set.size());
    if (n < KnobMin(in.knob_policy, 1) || n > KnobMax(in.knob_policy, n)) return std::nullopt;
    p.current_list = in.current_list;
    p.value_list = FormatCpuList(advice->core_set);
    if (p.value_list == in.current_list) return std::nullopt;
    p.value = n;
    p.scenario = "avoid_saturated_cores";
    p.categorical = true;
    p.reason = fmt::format("{} cores are not saturated ({})", n, advice->reason);
    p.expected_gain = 0.01;
    return p;
  }
  if (in.knob == kCpuQuotaKnob) return ProposeQuota(in, *advice, std::move(p));
  if (in.knob == "cpu_affinity_mask") {
    double mask = 0;
    for (int c : advice->core_set)
      if (c < 53) mask += std::ldexp(1.0, c);
    if (mask == in.current || mask == 0) return std::nullopt;
    p.value = mask;
    p.scenario = "avoid_saturated_cores";
    p.categorical = true;
    p.reason =
        fmt::format("{} cores are not saturated ({})", advice->core_set.size(), advice->reason);
    p.expected_gain = 0.01;
    return p;
  }
  if (in.knob == "scheduling_strategy") {
    double code = StrategyCode(advice->strategy);
    if (code == in.current) return std::nullopt;
    p.value = code;
    p.scenario = "strategy";
    p.categorical = true;
    p.reason = fmt::format("{} suits the task mix: {}", advice->strategy, advice->reason);
    p.expected_gain = 0.01;
    p.confidence = 0.4;
    return p;
  }
  return std::nullopt;
}

std::optional<Proposal> SchedulingOptimizer::ProposeQuota(const OptimizerInput& in,
                                                          const SchedulingAdvice& advice,
                                                          Proposal p) const {
  const auto& o = *in.model.latest();
  if (!o.cpu_cores || !(in.current > 0)) return std::nullopt;
  const double used_percent = 100 * *o.cpu_cores;
  const double throttled = o.throttled_fraction.value_or(0);
  p.triggers["cpu_percent_used"] = used_percent;
  const double lo = KnobMin(in.knob_policy, 1), hi = KnobMax(in.knob_policy, 1e9);
  if (advice.throttled || throttled > 0.05) {
    double target = std::min(hi, std::max(in.current * kQuotaHeadroom, used_percent * 2));
    if (!(target > in.current)) return std::nullopt;
    p.value = std::round(target);
    p.scenario = "quota_throttled";
    p.reason = fmt::format("throttled {:.0f}% of the time at CPUQuota={}%, using {:.0f}%",
                           100 * throttled, in.current, used_percent);
    p.predicted["throttled_fraction"] = throttled * in.current / p.value;
    p.trade_offs.push_back("the target may take more CPU from its neighbours");
    p.expected_gain = 0.5 * throttled;
    p.fixes_violation = throttled > 0.25;
    return p;
  }
  if (used_percent * 2 < in.current && throttled == 0) {
    double target = std::max(lo, std::ceil(used_percent * kQuotaHeadroom / 10) * 10);
    if (!(target < in.current)) return std::nullopt;
    p.value = target;
    p.scenario = "quota_unused";
    p.reason = fmt::format("uses {:.0f}% of CPUQuota={}%", used_percent, in.current);
    p.trade_offs.push_back("less room for a burst above today's use");
    p.expected_gain = 0.01;
    p.confidence = 0.4;
    return p;
  }
  return std::nullopt;
}

}  // namespace knob
