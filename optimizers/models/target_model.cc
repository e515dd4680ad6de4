// SPDX-License-Identifier: Apache-2.0
#include "optimizers/models/target_model.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace knob {
namespace {

// Concurrency bins: N rounded to 2 significant digits, so a fit needs genuinely different
// concurrency levels, not jitter around one setting.
double BinConcurrency(double n) {
  if (n <= 0) return 0;
  double mag = std::pow(10.0, std::floor(std::log10(n)) - 1);
  return std::max(1.0, std::round(n / mag) * mag);
}

std::optional<double> SomeAvg10(const std::optional<Pressure>& p) {
  if (!p || !p->some) return std::nullopt;
  return p->some->avg10 / 100.0;
}

}  // namespace

double RunningStat::standard_error() const {
  if (n < 2) return std::numeric_limits<double>::infinity();
  return std::sqrt(variance() / n);
}

void WindowStats::Add(const Observation& o) {
  throughput.Add(o.throughput);
  error_rate.Add(o.error_rate);
  concurrency.Add(o.concurrency);
  if (o.p99_seconds) p99_seconds.Add(*o.p99_seconds);
  if (o.cpu_cores) cpu_cores.Add(*o.cpu_cores);
  if (o.cpu_per_request_seconds) cpu_per_request.Add(*o.cpu_per_request_seconds);
  if (o.memory_bytes) memory_bytes.Add(*o.memory_bytes);
  if (o.cpu_pressure) cpu_pressure.Add(*o.cpu_pressure);
  if (o.memory_pressure) memory_pressure.Add(*o.memory_pressure);
  if (o.io_pressure) io_pressure.Add(*o.io_pressure);
  if (o.runqueue_delay_per_slice_seconds)
    runqueue_delay_seconds.Add(*o.runqueue_delay_per_slice_seconds);
}

ObjectiveValue EvaluateObjective(Objective objective, const WindowStats& w) {
  ObjectiveValue v;
  const RunningStat* s = &w.throughput;
  switch (objective) {
    case Objective::kMaximizeThroughput:
      s = &w.throughput;
      v.higher_is_better = true;
      break;
    case Objective::kMinimizeP99Latency:
      s = &w.p99_seconds;
      v.higher_is_better = false;
      break;
    case Objective::kMinimizeCpuPerRequest:
      s = &w.cpu_per_request;
      v.higher_is_better = false;
      break;
  }
  v.valid = s->n >= 1;
  v.value = s->mean;
  v.standard_error = s->standard_error();
  return v;
}

std::optional<Observation> TargetModel::Observe(const TargetSnapshot& t, const HostSnapshot& host,
                                                MonoTime now) {
  std::optional<Observation> result;
  if (t.app) caches_ = t.app->caches;
  // No report arrived since the last observation (a client that reports at the tick's own
  // period misses a tick now and then by phase): this tick has no new counters. Observing it
  // would record zero throughput here and double it on the next tick, a 0/2x alternation that
  // buried a 2x step of a real HAProxy under the noise. The tick is skipped whole, prev_ kept,
  // so the next observation spans both ticks with every counter, the CPU included. A report
  // without a receive time (the simulator's, a test's) is taken as new each tick.
  if (t.app && prev_ && prev_->app && t.app->received != WallTime{} &&
      t.app->received == prev_->app->received)
    return result;
  if (prev_ && prev_time_ && now > *prev_time_ && t.app && prev_->app) {
    const AppReport& a = *t.app;
    const AppReport& p = *prev_->app;
    double dt = ToSeconds(now - *prev_time_);
    double dreq = a.requests_total - p.requests_total;
    if (dreq >= 0 && a.errors_total >= p.errors_total) {
      Observation o;
      o.time = now;
      o.interval_seconds = dt;
      o.throughput = dreq / dt;
      // The client library counts successes in requests_total and failures apart, so the
      // error rate is failures over all attempts (a slight underestimate for a client that
      // counts failures in requests_total too).
      double derr = a.errors_total - p.errors_total;
      o.error_rate = dreq + derr > 0 ? derr / (dreq + derr) : 0;
      if (dreq > 0 && a.latency_sum_seconds > 0) {
        o.mean_latency_seconds = a.latency_sum_seconds / dreq;
        o.concurrency = a.latency_sum_seconds / dt;
      } else {
        o.concurrency = a.in_flight;
      }
      o.p99_seconds = a.latency_p99_seconds;
      o.pools = a.pools;
      o.knobs = a.knobs;
      ObserveHitRatios(a, p);
      std::optional<double> own_wait_rate;  // seconds the target's threads waited for a CPU, /s
      if (t.cpu && prev_->cpu) {
        double dcpu = (t.cpu->user_seconds + t.cpu->system_seconds) -
                      (prev_->cpu->user_seconds + prev_->cpu->system_seconds);
        if (dcpu >= 0) {
          o.cpu_cores = dcpu / dt;
          if (dreq > 0) o.cpu_per_request_seconds = dcpu / dreq;
          double drq = t.cpu->runqueue_delay_seconds - prev_->cpu->runqueue_delay_seconds;
          if (dcpu > 0 && drq >= 0) o.runqueue_fraction = drq / dcpu;
          if (drq >= 0 && t.cpu->timeslices > 0) own_wait_rate = drq / dt;
          double dslices = static_cast<double>(t.cpu->timeslices) - prev_->cpu->timeslices;
          if (dslices > 0 && drq >= 0) o.runqueue_delay_per_slice_seconds = drq / dslices;
        }
        if (t.cpu->cgroup_throttled_seconds && prev_->cpu->cgroup_throttled_seconds) {
          double dth = *t.cpu->cgroup_throttled_seconds - *prev_->cpu->cgroup_throttled_seconds;
          if (dth >= 0) o.throttled_fraction = dth / dt;
        }
      }
      if (t.memory) o.memory_bytes = static_cast<double>(t.memory->rss_bytes);
      const PressureSet* ps = t.cgroup_pressure ? &*t.cgroup_pressure : &host.pressure;
      o.cpu_pressure = SomeAvg10(ps->cpu);
      // Without a cgroup of its own the target only has the host's CPU pressure, most of which
      // may be another process's. The share of stalled time the target can account for is at
      // most the time its own threads spent waiting for a CPU per second (schedstat): a stall
      // nobody of the target waited in is not its doing, and its constraint must not be charged
      // with it (issue 11: a neighbour's load rolled back a good raise). avg10 is smoothed over
      // ~10 s and the wait rate is this tick's, so the bound is loose but on the right side.
      if (!t.cgroup_pressure && o.cpu_pressure && own_wait_rate)
        o.cpu_pressure = std::min(*o.cpu_pressure, *own_wait_rate);
      o.memory_pressure = SomeAvg10(ps->memory);
      o.io_pressure = SomeAvg10(ps->io);
      if (o.throughput > 0 && o.concurrency > 0) {
        // Residual against the mean of earlier observations at the same concurrency level:
        // unlike the USL prediction, it does not move when the fit extrapolates to a new level,
        // so only a change of the workload itself (same N, different X) trips the detector.
        double bin = BinConcurrency(o.concurrency);
        RunningStat same;
        // Keyed by the knob settings too: a closed-loop client keeps N fixed while a pool or
        // thread change moves X, and knobd's own change must not read as a workload shift
        // (it would drop the very baseline the change is verified against).
        for (const auto& prev : observations_) {
          if (prev.throughput > 0 && BinConcurrency(prev.concurrency) == bin &&
              prev.knobs == o.knobs)
            same.Add(prev.throughput);
        }
        if (same.n >= 5 && same.mean > 0 &&
            detector_.Update((o.throughput - same.mean) / same.mean)) {
          // The workload changed: points from before the shift describe another system. The
          // regions penalized by rollbacks stay: each expires on its own, and on a noisy host
          // the detector fires often enough that clearing them let a change that had just
          // broken a constraint be retried at once (and reset the doubling on repeats).
          // The points go aside, not away: a size curve (size_curve.h) takes those at sizes
          // not run since, when the sizes run on both sides of the alarm still agree.
          for (const auto& prev : observations_) pre_shift_.push_back(prev);
          while (pre_shift_.size() > kMaxObservations) pre_shift_.pop_front();
          observations_.clear();
          usl_.reset();
          last_shift_ = now;
        }
      }
      Append(o);
      result = o;
    }
  }
  // Scheduling advice from per-core deltas.
  if (prev_host_busy_ && host.cpu_busy_seconds.size() == prev_host_busy_->size() &&
      host.cpu_total_seconds.size() == prev_host_total_->size()) {
    SchedulingInput in;
    for (size_t i = 0; i < host.cpu_busy_seconds.size(); ++i) {
      double db = host.cpu_busy_seconds[i] - (*prev_host_busy_)[i];
      double dtot = host.cpu_total_seconds[i] - (*prev_host_total_)[i];
      in.core_busy_fraction.push_back(dtot > 0 ? std::clamp(db / dtot, 0.0, 1.0) : 0.0);
    }
    if (result) {
      in.cores_used = result->cpu_cores.value_or(0);
      in.runqueue_delay_fraction = result->runqueue_fraction.value_or(0);
      in.throttled_fraction = result->throttled_fraction.value_or(0);
      in.cpu_pressure = result->cpu_pressure.value_or(0);
      if (result->cpu_per_request_seconds && result->mean_latency_seconds &&
          *result->mean_latency_seconds > 0) {
        in.cpu_fraction = *result->cpu_per_request_seconds / *result->mean_latency_seconds;
      }
    }
    if (t.cpu) in.quota_cores = t.cpu->cgroup_cpu_quota_cores;
    if (!in.core_busy_fraction.empty()) scheduling_ = AdviseScheduling(in);
  }
  prev_host_busy_ = host.cpu_busy_seconds;
  prev_host_total_ = host.cpu_total_seconds;
  prev_ = t;
  prev_time_ = now;
  return result;
}

void TargetModel::Append(const Observation& o) {
  observations_.push_back(o);
  while (observations_.size() > kMaxObservations) observations_.pop_front();
  latest_ = o;
  Refit();
}

void TargetModel::Refit() {
  std::map<double, RunningStat> bins;
  std::vector<double> factors;
  for (const auto& o : observations_) {
    if (o.throughput > 0 && o.concurrency > 0)
      bins[BinConcurrency(o.concurrency)].Add(o.throughput);
    if (o.p99_seconds && o.throughput > 0 && o.concurrency > 0) {
      double mean = o.mean_latency_seconds.value_or(o.concurrency / o.throughput);
      if (mean > 0) factors.push_back(*o.p99_seconds / mean);
    }
  }
  if (!factors.empty()) {
    std::nth_element(factors.begin(), factors.begin() + factors.size() / 2, factors.end());
    latency_factor_ = std::max(1.0, factors[factors.size() / 2]);
  }
  std::vector<UslPoint> pts;
  for (const auto& [n, st] : bins) pts.push_back({n, st.mean});
  auto fit = FitUsl(pts);
  if (fit.ok()) {
    usl_ = *fit;
    usl_error_.clear();
  } else {
    usl_.reset();
    usl_error_ = fit.status().message();
  }
}

WindowStats TargetModel::Window(MonoTime from, MonoTime to) const {
  WindowStats w;
  for (const auto& o : observations_) {
    if (o.time >= from && o.time < to) w.Add(o);
  }
  return w;
}

WindowStats TargetModel::Baseline(MonoTime to, const std::map<std::string, double>& knobs,
                                  Duration span, size_t min_samples) const {
  WindowStats w;
  // Newest first. An index, not std::views::reverse: clang (clang-tidy) cannot take the reverse
  // view of a std::deque with GCC 12's library.
  for (size_t i = observations_.size(); i-- > 0;) {
    const Observation& o = observations_[i];
    if (o.time >= to) continue;
    if (o.time < to - 5 * span) break;
    if (o.time < to - span && w.samples() >= min_samples) break;
    bool same = true;
    for (const auto& [k, v] : knobs) {
      auto f = o.knobs.find(k);
      same = same && f != o.knobs.end() && f->second == v;
    }
    if (!same) break;  // an earlier setting: not this change's baseline
    w.Add(o);
  }
  return w;
}

WindowStats TargetModel::AtSetting(const std::string& knob, double value, size_t max) const {
  WindowStats w;
  size_t taken = 0;
  for (auto it = observations_.rbegin(); it != observations_.rend() && taken < max; ++it) {
    auto k = it->knobs.find(knob);
    if (k != it->knobs.end() && k->second == value) {
      w.Add(*it);
      ++taken;
    }
  }
  return w;
}

std::optional<PoolModel> TargetModel::Pool(const std::string& name) const {
  // Average the last few observations: pool gauges are instantaneous and jumpy.
  PoolModel m;
  m.name = name;
  int n = 0;
  double lambda = 0;
  for (auto it = observations_.rbegin(); it != observations_.rend() && n < 10; ++it) {
    auto p = it->pools.find(name);
    if (p == it->pools.end()) continue;
    m.size += p->second.size;
    m.busy += p->second.busy;
    m.waiters += p->second.waiters;
    lambda += it->throughput;
    ++n;
  }
  if (n == 0) return std::nullopt;
  m.size /= n;
  m.busy /= n;
  m.waiters /= n;
  m.arrival_rate = lambda / n;
  m.offered_erlangs = m.busy;
  m.service_seconds = m.arrival_rate > 0 ? m.busy / m.arrival_rate : 0;
  return m;
}

namespace {
// A cache whose client samples reuse distances. knob::Client always sends the histogram's bounds,
// so a cache fed only by counts (an adapter relaying Redis's hits and misses) has bounds but no
// samples: that one is modelled from observed hit ratios instead.
bool HasReuseSamples(const AppReport::Cache& c) {
  uint64_t n = c.reuse_cold;
  for (uint64_t k : c.reuse_counts) n += k;
  return !c.reuse_bounds_bytes.empty() && n > 0;
}
}  // namespace

std::optional<MissRatioCurve> TargetModel::Cache(const std::string& name) const {
  auto it = caches_.find(name);
  if (it == caches_.end()) return std::nullopt;
  const auto& c = it->second;
  if (!HasReuseSamples(c)) {
    auto o = observed_caches_.find(name);
    return o == observed_caches_.end() ? std::nullopt : o->second.Curve();
  }
  // Bounds from the client are already in full-trace bytes (SHARDS-scaled).
  auto mrc = MissRatioCurve::FromHistogram(c.reuse_bounds_bytes, c.reuse_counts, c.reuse_cold);
  if (!mrc.ok()) return std::nullopt;
  return *mrc;
}

void TargetModel::ObserveHitRatios(const AppReport& now, const AppReport& prev) {
  for (const auto& [name, c] : now.caches) {
    auto p = prev.caches.find(name);
    // Only caches without a reuse histogram, at a capacity that held the whole interval.
    if (HasReuseSamples(c) || p == prev.caches.end() ||
        p->second.capacity_bytes != c.capacity_bytes)
      continue;
    observed_caches_[name].Add(c.capacity_bytes, c.hits_total - p->second.hits_total,
                               c.misses_total - p->second.misses_total, c.bytes);
  }
}

void TargetModel::Penalize(const std::string& knob, Penalty p) {
  std::vector<Penalty>& list = penalties_[knob];
  list.push_back(std::move(p));
  // Expired penalties stay (they count the repeats that double the next one), but only the
  // most recent few: drop the one that ends first.
  while (list.size() > kMaxPenaltiesPerKnob) {
    auto first = std::min_element(list.begin(), list.end(), [](const Penalty& a, const Penalty& b) {
      return a.until < b.until;
    });
    list.erase(first);
  }
}

const Penalty* TargetModel::PenaltyFor(const std::string& knob, double value, MonoTime now) const {
  auto it = penalties_.find(knob);
  if (it == penalties_.end()) return nullptr;
  for (const auto& p : it->second) {
    if (p.until <= now) continue;
    if ((p.direction > 0 && value >= p.value) || (p.direction < 0 && value <= p.value)) return &p;
  }
  return nullptr;
}

}  // namespace knob
