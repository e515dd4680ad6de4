#pragma once
// CpuCollector: per-target CPU use and scheduling, per-core host utilisation, cgroup throttling.
//
// Per process, every tick, from /proc/PID/stat on a kept fd: user/system time (the kernel keeps
// exited threads' time in the process totals, so these never drop) and the thread count.
// Per thread, in rotation, from /proc/PID/task/TID/{schedstat,stat,status}: run-queue delay,
// timeslices, voluntary/involuntary switches and the CPU it last ran on. In processes with more
// than 64 threads, status (context switches only, and the costliest file) is read on every
// third rotation pass, so those switch counts are up to 3 x thread_interval old. /proc/PID/status
// and /proc/PID/schedstat describe only the main thread, so these are summed over threads; when a
// thread exits its last values move into per-process "dead" totals so sums never go backwards.
// Rotation: each tick ceil(threads * tick / thread_interval) threads get a full read
// (schedstat, stat, status), so each thread is fully refreshed once per
// CollectionSettings::thread_interval; a process with <= 64 threads also has every thread's
// schedstat (tiny, cheap) read every tick, so its run-queue delay is current each tick. Thread
// files are read through kept fds while ProcFs's fd budget lasts (RealEnv sizes it from
// RLIMIT_NOFILE), so steady state makes no open() for known threads. The age of the oldest full
// thread reading is TargetSnapshot::refreshed["threads"]. Affinity (Cpus_allowed_list of
// /proc/PID/status) is re-read when the thread list is. Host: /proc/stat per core, busy =
// user+nice+system+irq+softirq+steal (guest is inside user), total = busy+idle+iowait, each clamped
// to never decrease (iowait can go backwards). Cgroup v2: <cgroup>/cpu.stat nr_throttled,
// throttled_usec and cpu.max, when the target has a v2 cgroup with the cpu controller enabled.
// Thread rule: collection thread only.

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "collectors/collector.h"
#include "collectors/metrics.h"
#include "collectors/missing_files.h"
#include "core/env.h"

namespace knob {

class CpuCollector final : public Collector {
 public:
  CpuCollector(Env& env, prometheus::Registry& registry);
  std::string_view Name() const override { return "cpu"; }
  Status Collect(const CollectContext& ctx, Snapshot& out) override;

 private:
  struct ThreadState {
    uint64_t wait_ns = 0, slices = 0, vcs = 0, nvcs = 0;
    int last_cpu = -1;
    uint32_t passes = 0;  // detail reads so far
    std::optional<MonoTime> read_at;
  };
  struct Totals {
    double wait_ns = 0, slices = 0, vcs = 0, nvcs = 0;
  };
  struct ProcState {
    std::map<pid_t, ThreadState> threads;
    size_t cursor = 0;  // rotation position in `threads` order
    Totals dead;
    Totals reported;  // never report less than this
    std::optional<MonoTime> last_list;
    uint32_t allowed_cpus = 0;
    uint64_t seen_tick = 0;
  };

  // Fills `cpu` with one process's contribution. NotFound when the process is gone.
  Status CollectProcess(const ProcessKey& key, const CollectContext& ctx, ProcState& ps,
                        CpuStats& cpu, std::optional<MonoTime>& oldest_thread);
  // schedstat always; stat too when `detail`, and status on every `status_every`-th detail read.
  Status ReadThread(pid_t pid, pid_t tid, bool kept, bool detail, uint32_t status_every,
                    ThreadState& t, MonoTime now);
  void RefreshThreadList(pid_t pid, ProcState& ps, MonoTime now);
  void CollectHost(Snapshot& out);
  void CollectCgroup(const std::string& target, const std::string& cgroup, MonoTime now,
                     CpuStats& cpu);

  Env& env_;
  double ticks_per_second_;
  std::map<ProcessKey, ProcState> procs_;
  uint64_t tick_ = 0;
  std::string buf_;
  std::vector<std::string> names_;
  std::vector<double> host_busy_, host_total_;
  std::optional<std::optional<std::string>> cgroup_root_;  // outer unset: not probed yet
  MissingFiles missing_;

  SupportTracker support_;
  TargetSweeper sweeper_;
  CounterVec cpu_seconds_, runqueue_, timeslices_, switches_, throttled_periods_,
      throttled_seconds_, host_busy_seconds_, host_total_seconds_, vanished_;
  GaugeVec threads_gauge_, allowed_cpus_gauge_, quota_gauge_, age_gauge_;
};

}  // namespace knob
