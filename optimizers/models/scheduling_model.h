// SPDX-License-Identifier: Apache-2.0
#pragma once
// What the cores can actually run: worker threads, a core set and a scheduling strategy hint,
// from per-core utilisation, run-queue delay, cgroup throttling and CPU pressure (PSI).
//
//   free_i          = 1 - busy_i                         idle fraction of core i over the tick
//   runnable_cores  = min(quota, sum_i(own_share_i + free_i))   cores this target could use
//       (own_share_i is approximated by the target's cores_used spread over allowed cores)
//   saturated core  : busy_i >= 0.90;  the core set keeps the rest (at least one core)
//   worker threads  : cpu-bound (cpu_fraction >= 0.7): ceil(runnable_cores), +1 when the
//                     run-queue delay is below 10% of run time; I/O-bound: runnable_cores /
//                     cpu_fraction (threads blocked on I/O do not compete for a core)
//   cpu_fraction    = cpu seconds per request / mean latency (1 = all time on a CPU)
//   strategy        : "work_stealing" when cpu-bound with uneven per-core load
//                     (coefficient of variation > 0.25), "priority" when I/O-bound and the
//                     run-queue delay or CPU pressure is high (short tasks need to jump the
//                     queue), else "fifo".
// Source: Linux Documentation/scheduler/sched-stats.rst (run-queue delay), accounting/psi.rst;
// the I/O-bound sizing is Goetz, "Java Concurrency in Practice" sec. 8.2 (N = cores * (1 + W/C)).
// Thread rule: pure function, any thread.

#include <optional>
#include <string>
#include <vector>

namespace knob {

struct SchedulingInput {
  std::vector<double> core_busy_fraction;  // per online core, 0..1 over the last tick
  double cores_used = 0;                   // the target's CPU cores (cpu seconds / s)
  double runqueue_delay_fraction = 0;      // run-queue wait / run time of the target
  double throttled_fraction = 0;           // throttled time / wall time (cgroup), 0..1
  std::optional<double> quota_cores;       // cgroup cpu.max
  double cpu_pressure = 0;                 // PSI cpu some avg10 as fraction
  std::optional<double> cpu_fraction;      // cpu time per request / latency, 0..1
};

struct SchedulingAdvice {
  double runnable_cores = 0;
  int worker_threads = 1;
  std::vector<int> core_set;  // cores to prefer (not saturated)
  std::string strategy;       // "work_stealing" | "priority" | "fifo"
  std::string reason;         // one sentence
  bool cpu_bound = false;
  bool throttled = false;
};

SchedulingAdvice AdviseScheduling(const SchedulingInput& in);

}  // namespace knob
