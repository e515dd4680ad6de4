// SPDX-License-Identifier: Apache-2.0
#include "optimizers/models/scheduling_model.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace knob {

SchedulingAdvice AdviseScheduling(const SchedulingInput& in) {
  SchedulingAdvice out;
  const size_t cores = std::max<size_t>(in.core_busy_fraction.size(), 1);
  double free = 0;
  for (size_t i = 0; i < in.core_busy_fraction.size(); ++i) {
    double busy = std::clamp(in.core_busy_fraction[i], 0.0, 1.0);
    free += 1 - busy;
    if (busy < 0.90) out.core_set.push_back(static_cast<int>(i));
  }
  if (in.core_busy_fraction.empty()) free = 1;
  if (out.core_set.empty()) {
    // Every core is saturated: keep the least busy one rather than an empty set.
    auto it = std::min_element(in.core_busy_fraction.begin(), in.core_busy_fraction.end());
    out.core_set.push_back(it == in.core_busy_fraction.end()
                               ? 0
                               : static_cast<int>(it - in.core_busy_fraction.begin()));
  }
  double runnable = std::min<double>(cores, in.cores_used + free);
  if (in.quota_cores) runnable = std::min(runnable, *in.quota_cores);
  out.throttled = in.throttled_fraction > 0.05;
  if (out.throttled) runnable = std::min(runnable, std::max(in.cores_used, 0.5));
  runnable = std::max(runnable, 0.5);
  out.runnable_cores = runnable;

  double cpu_fraction = std::clamp(in.cpu_fraction.value_or(1.0), 0.05, 1.0);
  out.cpu_bound = cpu_fraction >= 0.7;
  if (out.cpu_bound) {
    out.worker_threads = static_cast<int>(std::ceil(runnable - 1e-9));
    if (in.runqueue_delay_fraction < 0.10 && !out.throttled) out.worker_threads += 1;
  } else {
    out.worker_threads = static_cast<int>(std::ceil(runnable / cpu_fraction - 1e-9));
  }
  out.worker_threads = std::max(out.worker_threads, 1);

  double mean = 0, var = 0;
  for (double b : in.core_busy_fraction) mean += b;
  mean /= cores;
  for (double b : in.core_busy_fraction) var += (b - mean) * (b - mean);
  double cv = mean > 0 ? std::sqrt(var / cores) / mean : 0;
  if (out.cpu_bound && cv > 0.25) {
    out.strategy = "work_stealing";
  } else if (!out.cpu_bound && (in.runqueue_delay_fraction > 0.25 || in.cpu_pressure > 0.20)) {
    out.strategy = "priority";
  } else {
    out.strategy = "fifo";
  }
  out.reason = fmt::format(
      "{:.2f} runnable cores ({} of {} not saturated{}), {} (cpu fraction {:.2f}), run-queue "
      "delay {:.0f}% of run time",
      runnable, out.core_set.size(), cores, out.throttled ? ", throttled" : "",
      out.cpu_bound ? "cpu-bound" : "i/o-bound", cpu_fraction, 100 * in.runqueue_delay_fraction);
  return out;
}

}  // namespace knob
