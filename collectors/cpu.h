// SPDX-License-Identifier: Apache-2.0
#pragma once
// CpuCollector: per-target CPU use and scheduling, per-core host utilisation, cgroup throttling.
//
// Per process, every tick, from /proc/PID/stat on a kept fd: user/system time (the kernel keeps
// exited threads' time in the process totals, so these never drop) and the thread count. This is
// the collector's floor: to format it the kernel walks every thread of the process
// (do_task_stat; the process CPU clock walks them too), ~20 us per 100-thread process here.
// So a process whose stat has not changed for idle_process_interval is read once per interval
// (staggered by pid) until it changes - unless its target's app reported new requests this tick
// (a target being measured is read in full every tick); refreshed["process"] is the oldest stat
// reading. Such a
// process, once each of its threads has been visited since its last change, gets no thread
// visits either (with taskstats; see Settled()), leaving the budget to processes that run.
// Run-queue delay, timeslices and context switches are per-thread numbers in /proc (schedstat,
// status describe one thread each), which at 20 000 threads is far too much text per second.
// So, per process, when the kernel allows it (CAP_NET_ADMIN, real /proc root): one netlink
// taskstats TGID query (SockDiag::TaskStatsTgid) gives those sums over live threads computed in
// the kernel; its drops (a thread exited) are turned into zero increments, so the totals never
// go backwards and lose at most one query's worth of the exiting thread's increments. The query
// costs as much again as stat (a lock per thread), so it is made when this tick's stat moved
// (CPU time, faults or thread count changed) and otherwise once per thread_interval, staggered
// by pid; the sums are cumulative, so a skipped tick delays increments but never loses them.
// refreshed["runqueue"] is the oldest query behind the target.
// Otherwise (fallback) they are summed from per-thread files read in rotation, the sum of the
// latest reading of each thread (so up to one rotation old; refreshed["runqueue"] says how old),
// with an exited thread's last values kept in per-process "dead" totals.
// The thread rotation is described in collectors/cpu_threads.h, host and cgroup CPU in
// collectors/cpu_host.h.
// Opt-in per-thread series (CollectionSettings::per_thread_metrics): for each target, the
// per_thread_metrics_limit threads with the most CPU time (utime+stime of their latest visit in
// the rotation, so as old as refreshed["threads"]) get knobd_thread_cpu_seconds_total
// {target,tid,comm,mode}; series of threads that exit or leave that set are removed, so the
// cardinality stays at most 2 x limit per target.
// Thread rule: collection thread only.

#include <sys/types.h>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "collectors/collector.h"
#include "collectors/cpu_host.h"
#include "collectors/cpu_threads.h"
#include "collectors/metrics.h"
#include "collectors/proc_stat_cache.h"
#include "core/env.h"

namespace knob {

class CpuCollector final : public Collector {
 public:
  CpuCollector(Env& env, prometheus::Registry& registry);
  std::string_view Name() const override { return "cpu"; }
  Status Collect(const CollectContext& ctx, Snapshot& out) override;

  // Thread files read in the last Collect (bounded by thread_reads_per_tick); for tests and the
  // benchmark.
  size_t thread_reads_last_tick() const { return threads_.reads_last_tick(); }
  // /proc/PID/stat reads so far (one per process per tick, one per idle_process_interval for an
  // idle process), and the reads skipped because the process was idle.
  uint64_t stat_reads() const { return stat_reads_; }
  uint64_t idle_skips() const { return idle_skips_; }
  // taskstats queries so far (one per process whose stat moved, else once per thread_interval).
  uint64_t taskstats_queries() const { return taskstats_queries_; }
  // Whether run-queue delay and switches come from taskstats (else from thread files).
  bool using_taskstats() const { return taskstats_; }
  // This tick's /proc/PID/stat of the targets' processes, for the allocator collector.
  const ProcStatCache* stat_cache() const { return &stat_cache_; }
  // Tests: let taskstats (a fake SockDiag) answer over a fixture /proc root too.
  void AllowTaskStatsOnAnyRoot() { taskstats_any_root_ = true; }

 private:
  using ProcState = cpu_threads::ProcState;

  // Process-level reads of one process. NotFound when the process is gone.
  // `serving`: the target's app reported new requests this tick (never skip it as idle).
  Status ReadProcess(const ProcessKey& key, const CollectContext& ctx, ProcState& ps, bool serving);

  Env& env_;
  double ticks_per_second_;
  std::map<ProcessKey, ProcState> procs_;
  uint64_t tick_ = 0;
  bool taskstats_ = false;  // decided per tick: supported and a real /proc root
  bool probed_taskstats_ = false;
  bool taskstats_any_root_ = false;
  uint64_t stat_reads_ = 0;
  std::map<std::string, double> last_requests_;  // per target: app requests_total last tick
  uint64_t idle_skips_ = 0;
  uint64_t taskstats_queries_ = 0;
  std::string buf_;
  ProcStatCache stat_cache_;

  SupportTracker support_;
  TargetSweeper sweeper_;
  // Every per-target series below (and the cgroup part's and the rotation's) is listed here,
  // so a target that goes loses exactly the series created for it. Declared before them.
  TargetMetricTable target_series_;
  CounterVec cpu_seconds_, runqueue_, timeslices_, switches_;
  CgroupCpu cgroup_;
  HostCpu host_;
  CounterVec vanished_;
  ThreadRotation threads_;
  GaugeVec threads_gauge_, allowed_cpus_gauge_, age_gauge_;
};

}  // namespace knob
