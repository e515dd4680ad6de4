#include "collectors/cpu.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>

#include "collectors/cgroup_fs.h"
#include "collectors/parse/cgroup.h"
#include "collectors/parse/pid_stat.h"
#include "collectors/parse/pid_status.h"
#include "collectors/parse/proc_stat.h"
#include "collectors/parse/schedstat.h"

namespace knob {
namespace {

constexpr size_t kReadWholeThreads = 64;
constexpr uint32_t kStatusEveryPasses = 3;

}  // namespace

CpuCollector::CpuCollector(Env& env, prometheus::Registry& reg)
    : env_(env),
      ticks_per_second_(static_cast<double>(::sysconf(_SC_CLK_TCK))),
      support_(reg, "cpu"),
      cpu_seconds_(reg, "knobd_target_cpu_seconds_total",
                   "CPU time of the target's processes (all threads, live and exited), by mode"),
      runqueue_(reg, "knobd_target_runqueue_delay_seconds_total",
                "Time the target's threads spent runnable but waiting for a CPU (schedstat)"),
      timeslices_(reg, "knobd_target_timeslices_total",
                  "Times the target's threads were scheduled onto a CPU (schedstat)"),
      switches_(reg, "knobd_target_context_switches_total",
                "Context switches of the target's threads, kind=voluntary|involuntary"),
      throttled_periods_(reg, "knobd_target_cgroup_throttled_periods_total",
                         "cgroup v2 cpu.stat nr_throttled of the target's cgroup"),
      throttled_seconds_(reg, "knobd_target_cgroup_throttled_seconds_total",
                         "cgroup v2 cpu.stat throttled_usec of the target's cgroup, in seconds"),
      host_busy_seconds_(reg, "knobd_host_cpu_busy_seconds_total",
                         "Non-idle time per core from /proc/stat (guest counted once)"),
      host_total_seconds_(reg, "knobd_host_cpu_elapsed_seconds_total",
                          "Busy+idle+iowait time per core from /proc/stat; busy/elapsed rates "
                          "give utilisation"),
      vanished_(reg, "knobd_collector_vanished_processes_total",
                "Processes that exited between discovery and a collector's read"),
      threads_gauge_(reg, "knobd_target_threads", "Threads of the target's processes"),
      allowed_cpus_gauge_(reg, "knobd_target_allowed_cpus",
                          "CPUs in the affinity mask (largest over the target's processes)"),
      quota_gauge_(reg, "knobd_target_cgroup_cpu_quota_cores",
                   "cgroup v2 cpu.max quota/period; absent when unlimited"),
      age_gauge_(reg, "knobd_collector_sample_age_seconds",
                 "Age of the oldest reading behind a slow-cadence part of a target's snapshot") {}

void CpuCollector::RefreshThreadList(pid_t pid, ProcState& ps, MonoTime now) {
  const std::string base = std::to_string(pid);
  if (!env_.procfs.ListDirKept(FsRoot::kProc, base + "/task", names_).ok()) return;
  ps.last_list = now;
  std::map<pid_t, ThreadState> next;
  for (const std::string& n : names_) {
    pid_t tid = static_cast<pid_t>(std::strtol(n.c_str(), nullptr, 10));
    if (tid <= 0) continue;
    auto it = ps.threads.find(tid);
    next[tid] = it == ps.threads.end() ? ThreadState{} : it->second;
  }
  for (auto& [tid, t] : ps.threads) {
    if (next.count(tid)) continue;
    ps.dead.wait_ns += static_cast<double>(t.wait_ns);
    ps.dead.slices += static_cast<double>(t.slices);
    ps.dead.vcs += static_cast<double>(t.vcs);
    ps.dead.nvcs += static_cast<double>(t.nvcs);
    env_.procfs.Forget(FsRoot::kProc, base + "/task/" + std::to_string(tid) + "/");
  }
  ps.threads.swap(next);
  if (ps.cursor >= ps.threads.size()) ps.cursor = 0;
  if (env_.procfs.ReadKept(FsRoot::kProc, base + "/status", buf_).ok()) {
    auto st = parse::ParsePidStatus(buf_);
    if (st.ok() && st->cpus_allowed) ps.allowed_cpus = *st->cpus_allowed;
  }
}

Status CpuCollector::ReadThread(pid_t pid, pid_t tid, bool kept, bool detail, uint32_t status_every,
                                ThreadState& t, MonoTime now) {
  const std::string base = std::to_string(pid) + "/task/" + std::to_string(tid) + "/";
  auto read = [&](const char* file) {
    return kept ? env_.procfs.ReadKept(FsRoot::kProc, base + file, buf_)
                : env_.procfs.Read(FsRoot::kProc, base + file, buf_);
  };
  KNOB_RETURN_IF_ERROR(read("schedstat"));
  auto ss = parse::ParseSchedstat(buf_);
  if (!ss.ok()) return ss.status();
  // Kernel counters only grow; max() keeps a torn read from moving a sum backwards.
  t.wait_ns = std::max(t.wait_ns, ss->wait_ns);
  t.slices = std::max(t.slices, ss->timeslices);
  if (!detail) return OkStatus();
  // stat and status are far costlier to generate than schedstat (status formats ~50 fields),
  // so they are only read in rotation; status (only needed for context switches) of threads in
  // large processes only every kStatusEveryPasses rotation passes.
  KNOB_RETURN_IF_ERROR(read("stat"));
  auto st = parse::ParsePidStat(buf_);
  if (!st.ok()) return st.status();
  t.last_cpu = st->processor.value_or(-1);
  if (t.passes++ % status_every == 0) {
    KNOB_RETURN_IF_ERROR(read("status"));
    auto status = parse::ParsePidStatus(buf_);
    if (!status.ok()) return status.status();
    t.vcs = std::max(t.vcs, status->voluntary_ctxt_switches.value_or(0));
    t.nvcs = std::max(t.nvcs, status->nonvoluntary_ctxt_switches.value_or(0));
  }
  t.read_at = now;
  return OkStatus();
}

Status CpuCollector::CollectProcess(const ProcessKey& key, const CollectContext& ctx, ProcState& ps,
                                    CpuStats& cpu, std::optional<MonoTime>& oldest_thread) {
  const std::string base = std::to_string(key.pid);
  KNOB_RETURN_IF_ERROR(env_.procfs.ReadKept(FsRoot::kProc, base + "/stat", buf_));
  auto st = parse::ParsePidStat(buf_);
  if (!st.ok()) return st.status().WithContext(base + "/stat");
  if (st->starttime_ticks != key.start_time_ticks) return NotFoundError(base + ": pid reused");
  cpu.user_seconds += static_cast<double>(st->utime_ticks) / ticks_per_second_;
  cpu.system_seconds += static_cast<double>(st->stime_ticks) / ticks_per_second_;
  cpu.threads += static_cast<uint32_t>(std::max<int64_t>(0, st->num_threads));

  const auto& cs = ctx.policy.global.collection;
  // Small processes re-list as soon as the thread count changes; large ones on the cadence.
  if (!ps.last_list || ctx.now - *ps.last_list >= cs.thread_interval ||
      (ps.threads.size() <= kReadWholeThreads &&
       static_cast<int64_t>(ps.threads.size()) != st->num_threads)) {
    RefreshThreadList(key.pid, ps, ctx.now);
  }
  const size_t n = ps.threads.size();
  // Small processes: schedstat of every thread every tick (kept fds, no open()), stat+status in
  // rotation. Large ones: everything in rotation with plain reads (too many fds to keep).
  const bool whole = n <= kReadWholeThreads;
  size_t budget = n;
  {
    double tick = ToSeconds(ctx.policy.global.tick_interval);
    double interval = std::max(ToSeconds(cs.thread_interval), tick);
    budget = static_cast<size_t>(std::ceil(static_cast<double>(n) * tick / interval));
    budget = std::clamp<size_t>(budget, n == 0 ? 0 : 1, n);
  }
  if (n > 0) {
    std::vector<pid_t> gone;
    std::vector<bool> in_slice(n, false);
    for (size_t i = 0; i < budget; ++i) in_slice[(ps.cursor + i) % n] = true;
    size_t idx = 0;
    for (auto it = ps.threads.begin(); it != ps.threads.end(); ++it, ++idx) {
      if (!whole && !in_slice[idx]) continue;
      // A small process's new thread gets its full read at once, so the first tick is complete.
      const bool detail = in_slice[idx] || (whole && !it->second.read_at);
      // Kept fds for every thread file while the ProcFs fd budget lasts (it falls back to
      // open/read/close past it): a pread of a kept /proc fd costs a fraction of an open().
      Status s = ReadThread(key.pid, it->first, /*kept=*/true, detail,
                            whole ? 1 : kStatusEveryPasses, it->second, ctx.now);
      if (s.code() == StatusCode::kNotFound) gone.push_back(it->first);
    }
    ps.cursor = (ps.cursor + budget) % n;
    for (pid_t tid : gone) {
      auto t = ps.threads.find(tid);
      ps.dead.wait_ns += static_cast<double>(t->second.wait_ns);
      ps.dead.slices += static_cast<double>(t->second.slices);
      ps.dead.vcs += static_cast<double>(t->second.vcs);
      ps.dead.nvcs += static_cast<double>(t->second.nvcs);
      ps.threads.erase(t);
      env_.procfs.Forget(FsRoot::kProc, base + "/task/" + std::to_string(tid) + "/");
    }
    if (ps.cursor >= ps.threads.size()) ps.cursor = 0;
  }
  Totals now_totals = ps.dead;
  for (const auto& [tid, t] : ps.threads) {
    now_totals.wait_ns += static_cast<double>(t.wait_ns);
    now_totals.slices += static_cast<double>(t.slices);
    now_totals.vcs += static_cast<double>(t.vcs);
    now_totals.nvcs += static_cast<double>(t.nvcs);
    if (t.last_cpu >= 0) {
      if (cpu.threads_per_cpu.size() <= static_cast<size_t>(t.last_cpu)) {
        cpu.threads_per_cpu.resize(static_cast<size_t>(t.last_cpu) + 1, 0);
      }
      ++cpu.threads_per_cpu[static_cast<size_t>(t.last_cpu)];
    }
    if (t.read_at && (!oldest_thread || *t.read_at < *oldest_thread)) oldest_thread = t.read_at;
  }
  // A thread that exits between two rotations loses its last increments; never report less.
  ps.reported.wait_ns = std::max(ps.reported.wait_ns, now_totals.wait_ns);
  ps.reported.slices = std::max(ps.reported.slices, now_totals.slices);
  ps.reported.vcs = std::max(ps.reported.vcs, now_totals.vcs);
  ps.reported.nvcs = std::max(ps.reported.nvcs, now_totals.nvcs);
  cpu.runqueue_delay_seconds += ps.reported.wait_ns / 1e9;
  cpu.timeslices += static_cast<uint64_t>(ps.reported.slices);
  cpu.voluntary_ctxt_switches += static_cast<uint64_t>(ps.reported.vcs);
  cpu.nonvoluntary_ctxt_switches += static_cast<uint64_t>(ps.reported.nvcs);
  cpu.allowed_cpus = std::max(cpu.allowed_cpus, ps.allowed_cpus);
  return OkStatus();
}

void CpuCollector::CollectCgroup(const std::string& target, const std::string& cgroup, MonoTime now,
                                 CpuStats& cpu) {
  constexpr Duration kRetryMissing = std::chrono::seconds(30);
  if (!cgroup_root_) cgroup_root_ = FindCgroupV2Root(env_.procfs);
  if (!cgroup_root_->has_value()) return;
  const std::string& root = **cgroup_root_;
  const std::string stat_path = CgroupFile(root, cgroup, "cpu.stat");
  const std::string max_path = CgroupFile(root, cgroup, "cpu.max");
  Status s = missing_.ShouldTry(stat_path, now)
                 ? env_.procfs.ReadKept(FsRoot::kSys, stat_path, buf_)
                 : NotFoundError(stat_path);
  missing_.Record(stat_path, s, now, kRetryMissing);
  if (s.ok()) {
    auto st = parse::ParseCgroupCpuStat(buf_);
    if (st.ok() && st->nr_throttled && st->throttled_usec) {
      cpu.cgroup_nr_throttled = *st->nr_throttled;
      cpu.cgroup_throttled_seconds = static_cast<double>(*st->throttled_usec) / 1e6;
      throttled_periods_.Observe({{"target", target}}, static_cast<double>(*st->nr_throttled));
      throttled_seconds_.Observe({{"target", target}}, *cpu.cgroup_throttled_seconds);
    }
  }
  if (!missing_.ShouldTry(max_path, now)) return;
  s = env_.procfs.ReadKept(FsRoot::kSys, max_path, buf_);
  missing_.Record(max_path, s, now, kRetryMissing);
  if (s.ok()) {
    auto q = parse::ParseCgroupCpuMax(buf_);
    if (q.ok() && q->has_value()) {
      cpu.cgroup_cpu_quota_cores = **q;
      quota_gauge_.Set({{"target", target}}, **q);
    }
  }
}

void CpuCollector::CollectHost(Snapshot& out) {
  Status s = env_.procfs.ReadKept(FsRoot::kProc, "stat", buf_);
  if (!support_.Report("proc_stat", s)) return;
  if (!s.ok()) return;
  auto st = parse::ParseProcStat(buf_);
  if (!st.ok()) return;
  HostSnapshot& h = out.host;
  int max_cpu = -1;
  for (const auto& c : st->cpus) max_cpu = std::max(max_cpu, c.cpu);
  const size_t n = static_cast<size_t>(max_cpu + 1);
  host_busy_.resize(std::max(host_busy_.size(), n), 0);
  host_total_.resize(std::max(host_total_.size(), n), 0);
  h.cpu_busy_seconds.assign(n, 0);
  h.cpu_total_seconds.assign(n, 0);
  h.online_cpus = static_cast<uint32_t>(st->cpus.size());
  for (const auto& c : st->cpus) {
    const size_t i = static_cast<size_t>(c.cpu);
    host_busy_[i] = std::max(host_busy_[i], static_cast<double>(c.BusyTicks()) / ticks_per_second_);
    host_total_[i] = std::max(
        {host_total_[i], host_busy_[i], static_cast<double>(c.TotalTicks()) / ticks_per_second_});
    h.cpu_busy_seconds[i] = host_busy_[i];
    h.cpu_total_seconds[i] = host_total_[i];
    const std::string cpu = std::to_string(c.cpu);
    host_busy_seconds_.Observe({{"cpu", cpu}}, host_busy_[i]);
    host_total_seconds_.Observe({{"cpu", cpu}}, host_total_[i]);
  }
}

Status CpuCollector::Collect(const CollectContext& ctx, Snapshot& out) {
  ++tick_;
  CollectHost(out);
  for (auto& [name, ts] : out.targets) {
    if (ts.state != TargetState::kActive || ts.processes.empty()) continue;
    CpuStats cpu;
    std::optional<MonoTime> oldest;
    size_t ok = 0;
    for (const ProcessKey& key : ts.processes) {
      ProcState& ps = procs_[key];
      ps.seen_tick = tick_;
      Status s = CollectProcess(key, ctx, ps, cpu, oldest);
      if (s.ok()) {
        ++ok;
      } else if (s.code() == StatusCode::kNotFound) {
        vanished_.Increment({{"collector", "cpu"}});
        procs_.erase(key);
      } else if (ts.error.empty()) {
        ts.error = "cpu: " + s.ToString();
      }
    }
    if (ok == 0) continue;
    if (ts.cgroup) CollectCgroup(name, *ts.cgroup, ctx.now, cpu);
    if (oldest) {
      ts.refreshed["threads"] = *oldest;
      age_gauge_.Set({{"target", name}, {"part", "threads"}}, ToSeconds(ctx.now - *oldest));
    }
    cpu_seconds_.Observe({{"target", name}, {"mode", "user"}}, cpu.user_seconds);
    cpu_seconds_.Observe({{"target", name}, {"mode", "system"}}, cpu.system_seconds);
    runqueue_.Observe({{"target", name}}, cpu.runqueue_delay_seconds);
    timeslices_.Observe({{"target", name}}, static_cast<double>(cpu.timeslices));
    switches_.Observe({{"target", name}, {"kind", "voluntary"}},
                      static_cast<double>(cpu.voluntary_ctxt_switches));
    switches_.Observe({{"target", name}, {"kind", "involuntary"}},
                      static_cast<double>(cpu.nonvoluntary_ctxt_switches));
    threads_gauge_.Set({{"target", name}}, cpu.threads);
    allowed_cpus_gauge_.Set({{"target", name}}, cpu.allowed_cpus);
    ts.cpu = std::move(cpu);
  }
  for (auto it = procs_.begin(); it != procs_.end();) {
    if (it->second.seen_tick != tick_) {
      it = procs_.erase(it);
    } else {
      ++it;
    }
  }
  sweeper_.Sweep(ctx.policy, [&](const std::string& t) {
    cpu_seconds_.ForgetTarget(t);
    runqueue_.ForgetTarget(t);
    timeslices_.ForgetTarget(t);
    switches_.ForgetTarget(t);
    throttled_periods_.ForgetTarget(t);
    throttled_seconds_.ForgetTarget(t);
    threads_gauge_.ForgetTarget(t);
    allowed_cpus_gauge_.ForgetTarget(t);
    quota_gauge_.ForgetTarget(t);
    age_gauge_.ForgetTarget(t);
  });
  return OkStatus();
}

}  // namespace knob
