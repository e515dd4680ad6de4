// SPDX-License-Identifier: Apache-2.0
#pragma once
// The per-process state behind CpuCollector's thread rotation (the rotation itself is in
// cpu_threads.cc as CpuCollector members, since it shares the collector's budget and caches).
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
#include <string>
#include <vector>

#include "collectors/parse/pid_stat.h"
#include "core/clock.h"
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
