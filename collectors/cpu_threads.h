// SPDX-License-Identifier: Apache-2.0
#pragma once
// CpuCollector's thread rotation (ThreadRotation) and the per-process state behind it.
// CpuCollector reads the process-level files and hands each tick's processes to the rotation,
// which lists, visits and sums their threads under the tick's budget and owns the opt-in
// per-thread series.
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
// is re-read with the thread list.
// Thread rule: collection thread only.

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "collectors/collector.h"
#include "collectors/parse/pid_stat.h"
#include "core/clock.h"
#include "core/env.h"
#include "core/prometheus.h"
#include "core/snapshot.h"
#include "core/sock_diag.h"

namespace knob::cpu_threads {

// A process with at most this many threads has every thread's schedstat read every tick (in
// fallback, when the budget has room).
constexpr size_t kReadWholeThreads = 64;
// status (the costliest thread file) is read every this many visits of a thread.
constexpr uint32_t kStatusEveryPasses = 3;
// An unchanged process re-lists its threads every this many thread_intervals.
constexpr int kRelistIntervals = 6;

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
  std::optional<MonoTime> ts_at;            // schedule of the periodic taskstats query (staggered)
  std::optional<MonoTime> ts_asked;         // last successful taskstats query
  std::optional<MonoTime> stat_at;          // last /proc/PID/stat read
  MonoTime moved_at{};                      // last read that saw stat change (or the first read)
  std::optional<MonoTime> idle_next;        // idle: the next stat read (staggered by pid)
};

}  // namespace knob::cpu_threads

namespace knob {

class ThreadRotation final : public TargetSeries {
 public:
  using ProcState = cpu_threads::ProcState;
  using ThreadState = cpu_threads::ThreadState;
  using Totals = cpu_threads::Totals;

  // Lists its per-thread series in `table`, which removes them when a target goes.
  ThreadRotation(Env& env, TargetMetricTable& table, prometheus::Registry& reg,
                 double ticks_per_second);

  // Re-reads /proc/PID/task (and the affinity in /proc/PID/status).
  void RefreshThreadList(pid_t pid, ProcState& ps, const CollectContext& ctx);
  // This tick's thread visits over `procs`, under one budget (thread_reads_per_tick). The next
  // tick starts with the process after the one the budget ran out in.
  void Visit(const CollectContext& ctx, const std::vector<ProcState*>& procs);
  // Thread files read in the last Visit.
  size_t reads_last_tick() const { return reads_last_tick_; }
  // Adds one process's reading and thread sums to its target's CpuStats; the oldest thread visit
  // and schedstat read behind them.
  static void Aggregate(ProcState& ps, CpuStats& cpu, std::optional<MonoTime>& oldest_visit,
                        std::optional<MonoTime>& oldest_sched);
  // Idle (stat unchanged for idle_process_interval), on taskstats, and every thread visited
  // since its last change: its thread visits would read nothing new, so they are skipped.
  static bool Settled(const ProcState& ps);

  // per_thread_metrics: series for the target's busiest threads; drops the others' series.
  void ExportThreads(const std::string& target, const std::vector<ProcState*>& procs,
                     uint32_t limit);
  // Drops every per-thread series of `target` (per_thread_metrics off, or no live process).
  void ForgetTarget(const std::string& target) override;
  // Targets that have per-thread series now.
  std::vector<std::string> TargetsWithSeries() const;
  bool HasSeries(const std::string& target) const { return thread_series_.count(target) > 0; }

 private:
  // This tick's visits of one process, charging `budget` (file reads left).
  void VisitThreads(const CollectContext& ctx, ProcState& ps, size_t& budget, bool& exhausted);
  // Reads one thread's files; `reads` counts the files read.
  Status ReadThread(pid_t pid, pid_t tid, bool sched, bool detail, uint32_t status_every,
                    ThreadState& t, MonoTime now, size_t& reads);

  Env& env_;
  double ticks_per_second_;
  std::string buf_;
  std::vector<std::string> names_;
  size_t rr_ = 0;  // where the next tick's visits start
  size_t reads_last_tick_ = 0;
  CounterVec thread_cpu_;
  std::map<std::string, std::set<std::pair<pid_t, std::string>>> thread_series_;  // tid, comm
};

}  // namespace knob
