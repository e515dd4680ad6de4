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
// Rotation: a process wants ceil(threads * tick / thread_interval) thread visits per tick so
// each thread is visited once per CollectionSettings::thread_interval; a visit reads stat (last
// CPU) and, in fallback, schedstat and, every third pass, status (switches; the costliest
// file). All visits of one tick together never read more than
// CollectionSettings::thread_reads_per_tick files: when the wanted visits exceed it the rotation
// stretches (refreshed["threads"] = oldest visit) and the next tick starts with the process
// after the one the budget stopped in. In fallback, a process with <= 64 threads also has every
// thread's schedstat read every tick when the budget has room, so small targets stay current.
// Thread files are read through kept fds while ProcFs's fd budget lasts (RealEnv sizes it from
// RLIMIT_NOFILE). Thread lists (/proc/PID/task, kept dir fd) are re-read when stat's thread
// count differs from the list (small processes at once, large ones at most once per
// thread_interval) and otherwise every 6 thread_intervals, staggered by pid so processes do not
// all re-list in the same tick. Affinity (Cpus_allowed_list of /proc/PID/status)
// is re-read with the thread list. Host: /proc/stat per core, busy =
// user+nice+system+irq+softirq+steal (guest is inside user), total = busy+idle+iowait, each clamped
// to never decrease (iowait can go backwards). Cgroup v2: <cgroup>/cpu.stat nr_throttled,
// throttled_usec and cpu.max, when the target has a v2 cgroup with the cpu controller enabled.
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
#include "collectors/metrics.h"
#include "collectors/missing_files.h"
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
  size_t thread_reads_last_tick() const { return thread_reads_last_tick_; }
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
  struct ThreadState {
    uint64_t wait_ns = 0, slices = 0, vcs = 0, nvcs = 0;
    int last_cpu = -1;
    uint64_t utime_ticks = 0, stime_ticks = 0;  // from the thread's stat at its last visit
    std::string comm;
    uint32_t passes = 0;               // visits so far
    std::optional<MonoTime> read_at;   // last visit
    std::optional<MonoTime> sched_at;  // last schedstat read (fallback)
  };
  struct Totals {
    double wait_ns = 0, slices = 0, vcs = 0, nvcs = 0;
  };
  struct ProcState {
    pid_t pid = 0;
    std::map<pid_t, ThreadState> threads;
    pid_t cursor_tid = 0;  // the rotation resumes at the first thread id >= this
    // Sums over `threads` as of the last Aggregate; recomputed only when `dirty` (visited or
    // re-listed since).
    bool dirty = true;
    Totals thread_sum;
    std::vector<int> per_cpu;
    std::optional<MonoTime> oldest_read, oldest_sched;
    Totals dead;
    Totals reported;  // never report less than this
    std::optional<MonoTime> last_list;
    bool moved_since_list = false;   // stat moved since the last /proc/PID/task listing
    size_t visits_since_move = 0;    // thread visits since stat last moved
    bool threads_forgotten = false;  // settled: its thread files' kept fds were closed
    uint32_t allowed_cpus = 0;
    uint64_t seen_tick = 0;
    // This tick's process-level reading.
    double user_seconds = 0, system_seconds = 0;
    uint32_t num_threads = 0;
    // taskstats: last raw sums and the increments accumulated from them.
    std::optional<TaskStatsTotals> last_ts;
    Totals ts_acc;
    bool ts_now = false;  // taskstats is this process's source (its last query answered)
    std::optional<parse::PidStat> last_stat;  // the latest /proc/PID/stat read
    std::optional<MonoTime> ts_at;      // schedule of the periodic taskstats query (staggered)
    std::optional<MonoTime> ts_asked;   // last successful taskstats query
    std::optional<MonoTime> stat_at;    // last /proc/PID/stat read
    MonoTime moved_at{};                // last read that saw stat change (or the first read)
    std::optional<MonoTime> idle_next;  // idle: the next stat read (staggered by pid)
  };

  // Process-level reads of one process. NotFound when the process is gone.
  // `serving`: the target's app reported new requests this tick (never skip it as idle).
  Status ReadProcess(const ProcessKey& key, const CollectContext& ctx, ProcState& ps, bool serving);
  // This tick's thread visits of one process, charging `budget` (file reads left).
  void VisitThreads(const CollectContext& ctx, ProcState& ps, size_t& budget, bool& exhausted);
  // Reads one thread's files; `reads` counts the files read.
  Status ReadThread(pid_t pid, pid_t tid, bool sched, bool detail, uint32_t status_every,
                    ThreadState& t, MonoTime now, size_t& reads);
  void Aggregate(ProcState& ps, CpuStats& cpu, std::optional<MonoTime>& oldest_visit,
                 std::optional<MonoTime>& oldest_sched);
  void RefreshThreadList(pid_t pid, ProcState& ps, const CollectContext& ctx);
  // Idle (stat unchanged for idle_process_interval), on taskstats, and every thread visited
  // since its last change: its thread visits would read nothing new, so they are skipped.
  static bool Settled(const ProcState& ps);
  void CollectHost(Snapshot& out);
  // per_thread_metrics: series for the target's busiest threads; drops the others' series.
  void ExportThreads(const std::string& target, const std::vector<ProcState*>& procs,
                     uint32_t limit);
  void CollectCgroup(const std::string& target, const std::string& cgroup, MonoTime now,
                     CpuStats& cpu);

  Env& env_;
  double ticks_per_second_;
  std::map<ProcessKey, ProcState> procs_;
  uint64_t tick_ = 0;
  bool taskstats_ = false;  // decided per tick: supported and a real /proc root
  bool probed_taskstats_ = false;
  bool taskstats_any_root_ = false;
  size_t rr_ = 0;  // where the next tick's thread visits start
  size_t thread_reads_last_tick_ = 0;
  uint64_t stat_reads_ = 0;
  std::map<std::string, double> last_requests_;  // per target: app requests_total last tick
  uint64_t idle_skips_ = 0;
  uint64_t taskstats_queries_ = 0;
  std::string buf_;
  std::vector<std::string> names_;
  std::vector<double> host_busy_, host_total_;
  std::optional<std::optional<std::string>> cgroup_root_;  // outer unset: not probed yet
  MissingFiles missing_;
  ProcStatCache stat_cache_;

  SupportTracker support_;
  TargetSweeper sweeper_;
  CounterVec cpu_seconds_, runqueue_, timeslices_, switches_, throttled_periods_,
      throttled_seconds_, host_busy_seconds_, host_total_seconds_, vanished_;
  CounterVec thread_cpu_;
  std::map<std::string, std::set<std::pair<pid_t, std::string>>> thread_series_;  // tid, comm
  GaugeVec threads_gauge_, allowed_cpus_gauge_, quota_gauge_, age_gauge_;
};

}  // namespace knob
