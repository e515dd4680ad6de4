// SPDX-License-Identifier: Apache-2.0
#pragma once
// The per-target model: turns successive TargetSnapshots into per-tick observations (rates from
// counters), keeps them keyed by the knob settings in force, and fits the performance functions
// (USL for concurrency, Erlang C per pool, miss-ratio curve per cache, scheduling advice), each
// with a fit quality and a confidence. A Page-Hinkley test on throughput residuals at a fixed
// concurrency level and the same knob settings (observed vs the mean of earlier points there)
// detects a workload shift (knobd's own knob changes are not shifts); the model then forgets the
// points from before the shift instead of averaging across it. Penalized regions (values whose
// change was rolled back) live here too and are not forgotten on a shift.
//
// Observation fields (units): throughput requests/s = d(requests_total)/dt (successes, as the
// client library counts them); error_rate = d(errors) / (d(requests) + d(errors)); concurrency N =
// latency_sum / dt (Little's law: mean requests in the system) when the app reports latency sums,
// else the in_flight gauge; cpu_cores = d(user+system seconds)/dt; cpu_per_request = cpu seconds /
// request; runqueue_fraction = d(run-queue delay)/d(cpu time); throttled_fraction = d(throttled
// seconds)/dt; pressure = PSI some avg10 / 100. Thread rule: loop thread only (owned by the Brain).

#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/policy.h"
#include "core/clock.h"
#include "core/snapshot.h"
#include "optimizers/models/mrc.h"
#include "optimizers/models/observed_mrc.h"
#include "optimizers/models/scheduling_model.h"
#include "optimizers/models/shift_detector.h"
#include "optimizers/models/usl.h"

namespace knob {

struct Observation {
  MonoTime time{};
  double interval_seconds = 0;
  double throughput = 0;   // requests/s
  double error_rate = 0;   // fraction of requests
  double concurrency = 0;  // N
  std::optional<double> p99_seconds;
  std::optional<double> mean_latency_seconds;
  std::optional<double> cpu_cores;
  std::optional<double> cpu_per_request_seconds;
  std::optional<double> memory_bytes;
  std::optional<double> cpu_pressure, memory_pressure, io_pressure;  // fractions
  std::optional<double> runqueue_fraction;
  std::optional<double> runqueue_delay_per_slice_seconds;
  std::optional<double> throttled_fraction;
  std::map<std::string, AppReport::Pool> pools;
  std::map<std::string, double> knobs;
};

// Mean and variance by Welford's method.
struct RunningStat {
  double n = 0, mean = 0, m2 = 0;
  void Add(double x) {
    n += 1;
    double d = x - mean;
    mean += d / n;
    m2 += d * (x - mean);
  }
  double variance() const { return n > 1 ? m2 / (n - 1) : 0; }
  double standard_error() const;  // sqrt(var / n); inf when n < 2
};

// Statistics of the quantities the objective and the constraints are made of, over a window.
struct WindowStats {
  RunningStat throughput, p99_seconds, error_rate, cpu_cores, cpu_per_request, memory_bytes,
      cpu_pressure, memory_pressure, io_pressure, runqueue_delay_seconds, concurrency;
  void Add(const Observation& o);
  size_t samples() const { return static_cast<size_t>(throughput.n); }
};

// The objective's value over a window (higher is better after sign), and its standard error.
struct ObjectiveValue {
  double value = 0;  // in the objective's own unit (requests/s, seconds, cpu s/request)
  double standard_error = 0;
  bool higher_is_better = true;
  bool valid = false;
};
ObjectiveValue EvaluateObjective(Objective objective, const WindowStats& w);

struct PoolModel {
  std::string name;
  double size = 0, busy = 0, waiters = 0;
  double arrival_rate = 0;     // requests/s offered to the pool
  double service_seconds = 0;  // busy / arrival_rate (Little)
  double offered_erlangs = 0;  // busy
};

struct Penalty {
  double value = 0;
  int direction = 0;  // +1: values >= value are bad; -1: values <= value are bad
  MonoTime until{};
  std::string reason;
};

class TargetModel {
 public:
  static constexpr size_t kMaxObservations = 600;

  // Derives an observation from this snapshot and the previous one (none on the first, or
  // when the app counters reset). Returns the new observation, if any.
  std::optional<Observation> Observe(const TargetSnapshot& t, const HostSnapshot& host,
                                     MonoTime now);
  // Re-adds a stored observation (persistence); refits lazily.
  void Restore(const Observation& o) { Append(o); }

  const std::deque<Observation>& observations() const { return observations_; }
  // The observations cleared by workload-shift alarms, oldest first (at most kMaxObservations):
  // kept for the size curve's consistency check (size_curve.h), never for the other fits.
  const std::deque<Observation>& pre_shift_observations() const { return pre_shift_; }
  const std::optional<Observation>& latest() const { return latest_; }
  // Observations with time in [from, to).
  WindowStats Window(MonoTime from, MonoTime to) const;
  // The baseline of a change decided at `to`: the unbroken run of observations before `to`
  // taken at these knob settings (every knob in `knobs` reported with that value; others are
  // not compared), so it never straddles an earlier change, covering
  // `span` and reaching further back, up to 5 x span, until it holds min_samples (slow ticks).
  WindowStats Baseline(MonoTime to, const std::map<std::string, double>& knobs, Duration span,
                       size_t min_samples) const;
  // Observations whose knob `knob` equals value (the most recent `max` of them).
  WindowStats AtSetting(const std::string& knob, double value, size_t max = 60) const;

  // USL fit over concurrency bins (N rounded to 2 significant digits), if it succeeded.
  const std::optional<UslFit>& usl() const { return usl_; }
  const std::string& usl_error() const { return usl_error_; }
  // Median p99 / mean latency: translates the USL's Little's-law mean latency into a p99.
  double latency_factor() const { return latency_factor_; }
  std::optional<PoolModel> Pool(const std::string& name) const;
  std::optional<MissRatioCurve> Cache(const std::string& name) const;
  const std::map<std::string, AppReport::Cache>& caches() const { return caches_; }
  std::optional<SchedulingAdvice> scheduling() const { return scheduling_; }
  uint64_t shifts() const { return detector_.shifts(); }
  std::optional<MonoTime> last_shift() const { return last_shift_; }

  // Penalized regions survive a workload shift (each expires on its own). Expired ones are kept,
  // the most recent kMaxPenaltiesPerKnob per knob, because they count the repeats that double
  // the next penalty into the same region.
  static constexpr size_t kMaxPenaltiesPerKnob = 8;
  void Penalize(const std::string& knob, Penalty p);
  // The penalty that forbids moving knob to value, if any (expired ones are ignored).
  const Penalty* PenaltyFor(const std::string& knob, double value, MonoTime now) const;
  // Every penalty, expired ones included.
  const std::map<std::string, std::vector<Penalty>>& penalties() const { return penalties_; }

 private:
  void Append(const Observation& o);
  void ObserveHitRatios(const AppReport& now, const AppReport& prev);
  void Refit();

  std::optional<TargetSnapshot> prev_;
  std::optional<MonoTime> prev_time_;
  std::optional<std::vector<double>> prev_host_busy_, prev_host_total_;
  std::deque<Observation> observations_;
  std::deque<Observation> pre_shift_;
  std::optional<Observation> latest_;
  std::optional<UslFit> usl_;
  std::string usl_error_;
  double latency_factor_ = 1.0;
  std::map<std::string, AppReport::Cache> caches_;
  // Caches without a reuse histogram: hit ratios seen at each capacity (observed_mrc.h).
  std::map<std::string, ObservedHitRatios> observed_caches_;
  std::optional<SchedulingAdvice> scheduling_;
  ShiftDetector detector_;
  std::optional<MonoTime> last_shift_;
  std::map<std::string, std::vector<Penalty>> penalties_;
};

}  // namespace knob
