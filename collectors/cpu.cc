#include "collectors/cpu.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iterator>

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
constexpr int kRelistIntervals = 6;

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
      thread_cpu_(reg, "knobd_thread_cpu_seconds_total",
                  "CPU time of one of a target's busiest threads, by mode (opt-in: "
                  "per_thread_metrics)"),
      threads_gauge_(reg, "knobd_target_threads", "Threads of the target's processes"),
      allowed_cpus_gauge_(reg, "knobd_target_allowed_cpus",
                          "CPUs in the affinity mask (largest over the target's processes)"),
      quota_gauge_(reg, "knobd_target_cgroup_cpu_quota_cores",
                   "cgroup v2 cpu.max quota/period; absent when unlimited"),
      age_gauge_(reg, "knobd_collector_sample_age_seconds",
                 "Age of the oldest reading behind a slow-cadence part of a target's snapshot") {}

void CpuCollector::RefreshThreadList(pid_t pid, ProcState& ps, const CollectContext& ctx) {
  const std::string base = std::to_string(pid);
  if (!env_.procfs.ListDirKept(FsRoot::kProc, base + "/task", names_).ok()) return;
  if (!ps.last_list) {
    // Stagger re-lists by pid over the interval, so 200 processes found in the same tick do
    // not all re-list together every thread_interval (that tick would pay for all of them).
    const auto& cs = ctx.policy.global.collection;
    const int64_t tick = std::max<int64_t>(1, ctx.policy.global.tick_interval.count());
    const int64_t slots =
        std::max<int64_t>(1, kRelistIntervals * cs.thread_interval.count() / tick);
    ps.last_list = ctx.now - Duration(tick * (static_cast<int64_t>(pid) % slots));
  } else {
    ps.last_list = ctx.now;
  }
  std::map<pid_t, ThreadState> next;
  for (const std::string& n : names_) {
    pid_t tid = static_cast<pid_t>(std::strtol(n.c_str(), nullptr, 10));
    if (tid <= 0) continue;
    auto it = ps.threads.find(tid);
    next[tid] = it == ps.threads.end() ? ThreadState{} : it->second;
  }
  for (const auto& [tid, t] : ps.threads) {
    if (next.count(tid)) continue;
    ps.dead.wait_ns += static_cast<double>(t.wait_ns);
    ps.dead.slices += static_cast<double>(t.slices);
    ps.dead.vcs += static_cast<double>(t.vcs);
    ps.dead.nvcs += static_cast<double>(t.nvcs);
    env_.procfs.Forget(FsRoot::kProc, base + "/task/" + std::to_string(tid) + "/");
  }
  ps.threads.swap(next);
  ps.dirty = true;
  ps.moved_since_list = false;
  if (env_.procfs.ReadKept(FsRoot::kProc, base + "/status", buf_).ok()) {
    auto st = parse::ParsePidStatus(buf_);
    if (st.ok() && st->cpus_allowed) ps.allowed_cpus = *st->cpus_allowed;
  }
}

Status CpuCollector::ReadThread(pid_t pid, pid_t tid, bool sched, bool detail,
                                uint32_t status_every, ThreadState& t, MonoTime now,
                                size_t& reads) {
  const std::string base = std::to_string(pid) + "/task/" + std::to_string(tid) + "/";
  // Kept fds while the ProcFs fd budget lasts (it falls back to open/read/close past it): a
  // pread of a kept /proc fd costs a fraction of an open().
  auto read = [&](const char* file) {
    ++reads;
    return env_.procfs.ReadKept(FsRoot::kProc, base + file, buf_);
  };
  if (sched) {
    KNOB_RETURN_IF_ERROR(read("schedstat"));
    auto ss = parse::ParseSchedstat(buf_);
    if (!ss.ok()) return ss.status();
    // Kernel counters only grow; max() keeps a torn read from moving a sum backwards.
    t.wait_ns = std::max(t.wait_ns, ss->wait_ns);
    t.slices = std::max(t.slices, ss->timeslices);
    t.sched_at = now;
  }
  if (!detail) return OkStatus();
  KNOB_RETURN_IF_ERROR(read("stat"));
  auto st = parse::ParsePidStat(buf_);
  if (!st.ok()) return st.status();
  t.last_cpu = st->processor.value_or(-1);
  t.utime_ticks = st->utime_ticks;
  t.stime_ticks = st->stime_ticks;
  if (t.comm != st->comm) t.comm = st->comm;
  // status (only needed for context switches) formats ~50 fields: the costliest thread file.
  if (status_every > 0 && t.passes % status_every == 0) {
    KNOB_RETURN_IF_ERROR(read("status"));
    auto status = parse::ParsePidStatus(buf_);
    if (!status.ok()) return status.status();
    t.vcs = std::max(t.vcs, status->voluntary_ctxt_switches.value_or(0));
    t.nvcs = std::max(t.nvcs, status->nonvoluntary_ctxt_switches.value_or(0));
  }
  ++t.passes;
  t.read_at = now;
  return OkStatus();
}

Status CpuCollector::ReadProcess(const ProcessKey& key, const CollectContext& ctx, ProcState& ps,
                                 bool serving) {
  const std::string base = std::to_string(key.pid);
  ps.pid = key.pid;
  const auto& cs = ctx.policy.global.collection;
  // Process CPU time is wanted every tick, so stat is read every tick. It costs a walk over all
  // the process's threads in the kernel (do_task_stat; the process CPU clock walks them too),
  // so a process idle for idle_process_interval is re-read once per interval: its last reading
  // stands (nothing moved), and an exit or a reused pid still shows within a tick because
  // discovery re-checks every matched process each tick. A target whose app reports requests
  // has all its processes read every tick: a worker that wakes up must not be counted late
  // while the model is measuring that target.
  if (!serving && ps.last_stat && ps.idle_next && ctx.now < *ps.idle_next &&
      cs.idle_process_interval > Duration(0)) {
    stat_cache_.Put(key, ctx.now, *ps.last_stat, /*idle=*/true);
    ++idle_skips_;
    return OkStatus();
  }
  KNOB_RETURN_IF_ERROR(env_.procfs.ReadKept(FsRoot::kProc, base + "/stat", buf_));
  auto parsed = parse::ParsePidStat(buf_);
  if (!parsed.ok()) return parsed.status().WithContext(base + "/stat");
  if (parsed->starttime_ticks != key.start_time_ticks) return NotFoundError(base + ": pid reused");
  const bool moved =
      !ps.last_stat || parsed->utime_ticks != ps.last_stat->utime_ticks ||
      parsed->stime_ticks != ps.last_stat->stime_ticks || parsed->minflt != ps.last_stat->minflt ||
      parsed->majflt != ps.last_stat->majflt || parsed->num_threads != ps.last_stat->num_threads;
  ps.last_stat = std::move(*parsed);
  ++stat_reads_;
  if (moved) {
    ps.moved_at = ctx.now;
    ps.visits_since_move = 0;
  }
  ps.stat_at = ctx.now;
  const Duration idle = cs.idle_process_interval;
  if (idle > Duration(0) && !moved && ctx.now - ps.moved_at >= idle) {
    // Gone quiet: the first slow read is staggered by pid, so processes that went quiet
    // together (e.g. all found in the first tick) do not come due in the same tick.
    const int64_t tick = std::max<int64_t>(1, ctx.policy.global.tick_interval.count());
    const int64_t slots = std::max<int64_t>(1, idle.count() / tick);
    ps.idle_next =
        ctx.now + idle -
        (ps.idle_next ? Duration(0) : Duration(tick * (static_cast<int64_t>(key.pid) % slots)));
  } else {
    ps.idle_next.reset();
  }

  // taskstats (as costly again: it takes a lock per thread) is queried when stat moved, and
  // otherwise at least once per thread_interval, staggered by pid. Its sums are cumulative, so
  // a skipped tick only delays increments: when a thread ran so briefly that no stat field
  // moved, its run-queue delay and switches show at the next query. refreshed["runqueue"] is
  // the oldest query behind the target.
  if (taskstats_) {
    const bool due = moved || !ps.ts_at || ctx.now - *ps.ts_at >= cs.thread_interval;
    if (due) {
      TaskStatsTotals t;
      Status s = env_.sock_diag.TaskStatsTgid(key.pid, t);
      if (s.code() == StatusCode::kNotFound) return s;
      if (s.ok()) {
        if (ps.last_ts) {
          // A drop means a thread exited taking its share with it: count no increment.
          auto inc = [](uint64_t now, uint64_t before) {
            return now > before ? static_cast<double>(now - before) : 0.0;
          };
          ps.ts_acc.wait_ns += inc(t.cpu_delay_ns, ps.last_ts->cpu_delay_ns);
          ps.ts_acc.slices += inc(t.cpu_count, ps.last_ts->cpu_count);
          ps.ts_acc.vcs += inc(t.nvcsw, ps.last_ts->nvcsw);
          ps.ts_acc.nvcs += inc(t.nivcsw, ps.last_ts->nivcsw);
        } else {
          ps.ts_acc = {static_cast<double>(t.cpu_delay_ns), static_cast<double>(t.cpu_count),
                       static_cast<double>(t.nvcsw), static_cast<double>(t.nivcsw)};
        }
        if (!ps.ts_at) {
          // Stagger the periodic queries of processes found in the same tick over the interval.
          const int64_t tick = std::max<int64_t>(1, ctx.policy.global.tick_interval.count());
          const int64_t slots = std::max<int64_t>(1, cs.thread_interval.count() / tick);
          ps.ts_at = ctx.now - Duration(tick * (static_cast<int64_t>(key.pid) % slots));
        } else {
          ps.ts_at = ctx.now;
        }
        ps.ts_asked = ctx.now;
        ps.last_ts = t;
        ps.ts_now = true;
        ++taskstats_queries_;
      } else {
        ps.ts_now = false;
        support_.Report("taskstats", s);
      }
    }
  } else {
    ps.ts_now = false;
  }
  const parse::PidStat* st = &*ps.last_stat;
  stat_cache_.Put(key, ctx.now, *st);
  ps.user_seconds = static_cast<double>(st->utime_ticks) / ticks_per_second_;
  ps.system_seconds = static_cast<double>(st->stime_ticks) / ticks_per_second_;
  ps.num_threads = static_cast<uint32_t>(std::max<int64_t>(0, st->num_threads));

  // Listing /proc/PID/task looks up a dentry per thread: only re-list when stat's thread count
  // differs from the list (small processes at once, large ones at most once per
  // thread_interval), and otherwise every kRelistIntervals thread intervals, in case threads
  // were replaced one for one (a visit that finds its thread gone shrinks the list, so the
  // count differs from the next tick on anyway) - but only if the process's stat moved since
  // the last listing: replacing a thread takes CPU and faults, and a quiet process has none.
  if (moved) ps.moved_since_list = true;
  const bool changed = static_cast<int64_t>(ps.threads.size()) != st->num_threads;
  const Duration since = ps.last_list ? ctx.now - *ps.last_list : Duration::max();
  if (!ps.last_list || (ps.moved_since_list && since >= kRelistIntervals * cs.thread_interval) ||
      (changed && (ps.threads.size() <= kReadWholeThreads || since >= cs.thread_interval))) {
    RefreshThreadList(key.pid, ps, ctx);
  }
  return OkStatus();
}

bool CpuCollector::Settled(const ProcState& ps) {
  // With taskstats a visit only refreshes a thread's last CPU and CPU time, which do not move
  // while the process is idle; in fallback visits also carry schedstat and switches, which do.
  return ps.ts_now && ps.idle_next && ps.visits_since_move >= ps.threads.size();
}

void CpuCollector::VisitThreads(const CollectContext& ctx, ProcState& ps, size_t& budget,
                                bool& exhausted) {
  const size_t n = ps.threads.size();
  if (n == 0) return;
  const auto& cs = ctx.policy.global.collection;
  const double tick = ToSeconds(ctx.policy.global.tick_interval);
  const double interval = std::max(ToSeconds(cs.thread_interval), tick);
  const size_t want = std::clamp<size_t>(
      static_cast<size_t>(std::ceil(static_cast<double>(n) * tick / interval)), 1, n);
  // With taskstats a visit only needs the last CPU (stat); without, schedstat and status too.
  const bool fallback = !ps.ts_now;
  const uint32_t status_every = fallback ? (n <= kReadWholeThreads ? 1 : kStatusEveryPasses) : 0;
  // A small process in fallback has every thread's schedstat read each tick when the budget
  // covers the worst case (schedstat, stat and status for every thread).
  const bool whole = fallback && n <= kReadWholeThreads && budget >= 3 * n;
  std::vector<pid_t> gone;
  size_t visited = 0;
  // The rotation resumes at the first thread id >= the cursor (O(log n), and robust to threads
  // that came or went since).
  auto it = ps.threads.lower_bound(ps.cursor_tid);
  if (it == ps.threads.end()) it = ps.threads.begin();
  ps.dirty = true;
  if (whole) {
    const size_t start = static_cast<size_t>(std::distance(ps.threads.begin(), it));
    std::vector<char> in_slice(n, 0);
    for (size_t i = 0; i < want; ++i) in_slice[(start + i) % n] = 1;
    size_t idx = 0;
    for (auto t = ps.threads.begin(); t != ps.threads.end(); ++t, ++idx) {
      size_t reads = 0;
      // A new thread gets its full read at once, so the first tick is complete.
      const bool detail = in_slice[idx] || !t->second.read_at;
      Status s =
          ReadThread(ps.pid, t->first, true, detail, status_every, t->second, ctx.now, reads);
      budget -= std::min(budget, reads);
      if (s.code() == StatusCode::kNotFound) gone.push_back(t->first);
    }
    visited = want;
    it = ps.threads.begin();
    std::advance(it, static_cast<std::ptrdiff_t>((start + want) % n));
  } else {
    for (; visited < want; ++visited) {
      if (it == ps.threads.end()) it = ps.threads.begin();
      ThreadState& t = it->second;
      const size_t cost =
          fallback ? 2 + (status_every > 0 && t.passes % status_every == 0 ? 1 : 0) : 1;
      if (cost > budget) {
        exhausted = true;
        break;
      }
      size_t reads = 0;
      Status s = ReadThread(ps.pid, it->first, fallback, true, status_every, t, ctx.now, reads);
      budget -= std::min(budget, reads);
      if (s.code() == StatusCode::kNotFound) gone.push_back(it->first);
      ++it;
    }
  }
  ps.cursor_tid = it == ps.threads.end() ? 0 : it->first;
  ps.visits_since_move += visited;
  const std::string base = std::to_string(ps.pid);
  for (pid_t tid : gone) {
    auto t = ps.threads.find(tid);
    ps.dead.wait_ns += static_cast<double>(t->second.wait_ns);
    ps.dead.slices += static_cast<double>(t->second.slices);
    ps.dead.vcs += static_cast<double>(t->second.vcs);
    ps.dead.nvcs += static_cast<double>(t->second.nvcs);
    ps.threads.erase(t);
    env_.procfs.Forget(FsRoot::kProc, base + "/task/" + std::to_string(tid) + "/");
  }
}

void CpuCollector::Aggregate(ProcState& ps, CpuStats& cpu, std::optional<MonoTime>& oldest_visit,
                             std::optional<MonoTime>& oldest_sched) {
  cpu.user_seconds += ps.user_seconds;
  cpu.system_seconds += ps.system_seconds;
  cpu.threads += ps.num_threads;
  // The per-thread part only changes when threads were visited or re-listed: walking 20 000
  // map nodes every tick for nothing was a visible share of the collector's time.
  if (ps.dirty) {
    ps.thread_sum = Totals{};
    ps.per_cpu.clear();
    ps.oldest_read.reset();
    ps.oldest_sched.reset();
    for (const auto& [tid, t] : ps.threads) {
      ps.thread_sum.wait_ns += static_cast<double>(t.wait_ns);
      ps.thread_sum.slices += static_cast<double>(t.slices);
      ps.thread_sum.vcs += static_cast<double>(t.vcs);
      ps.thread_sum.nvcs += static_cast<double>(t.nvcs);
      if (t.last_cpu >= 0) {
        if (ps.per_cpu.size() <= static_cast<size_t>(t.last_cpu)) {
          ps.per_cpu.resize(static_cast<size_t>(t.last_cpu) + 1, 0);
        }
        ++ps.per_cpu[static_cast<size_t>(t.last_cpu)];
      }
      if (t.read_at && (!ps.oldest_read || *t.read_at < *ps.oldest_read))
        ps.oldest_read = t.read_at;
      // A thread never read yet counts as infinitely old: use the oldest known reading.
      if (t.sched_at && (!ps.oldest_sched || *t.sched_at < *ps.oldest_sched)) {
        ps.oldest_sched = t.sched_at;
      }
    }
    ps.dirty = false;
  }
  Totals now_totals = ps.dead;
  now_totals.wait_ns += ps.thread_sum.wait_ns;
  now_totals.slices += ps.thread_sum.slices;
  now_totals.vcs += ps.thread_sum.vcs;
  now_totals.nvcs += ps.thread_sum.nvcs;
  if (cpu.threads_per_cpu.size() < ps.per_cpu.size()) cpu.threads_per_cpu.resize(ps.per_cpu.size());
  for (size_t i = 0; i < ps.per_cpu.size(); ++i) cpu.threads_per_cpu[i] += ps.per_cpu[i];
  // A settled process's threads were all read after its last change, and its latest stat read
  // says nothing has changed since: they are as current as that read.
  const std::optional<MonoTime> read = Settled(ps) ? ps.stat_at : ps.oldest_read;
  if (read && (!oldest_visit || *read < *oldest_visit)) oldest_visit = read;
  if (!ps.ts_now && ps.oldest_sched && (!oldest_sched || *ps.oldest_sched < *oldest_sched)) {
    oldest_sched = ps.oldest_sched;
  }
  if (ps.ts_now) now_totals = ps.ts_acc;
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
}

void CpuCollector::ExportThreads(const std::string& target, const std::vector<ProcState*>& procs,
                                 uint32_t limit) {
  struct Candidate {
    uint64_t ticks;
    pid_t tid;
    const ThreadState* t;
  };
  std::vector<Candidate> all;
  for (const ProcState* ps : procs) {
    for (const auto& [tid, t] : ps->threads) {
      if (t.read_at) all.push_back({t.utime_ticks + t.stime_ticks, tid, &t});
    }
  }
  const size_t k = std::min<size_t>(limit, all.size());
  std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(k), all.end(),
                    [](const Candidate& a, const Candidate& b) {
                      return a.ticks != b.ticks ? a.ticks > b.ticks : a.tid < b.tid;
                    });
  std::set<std::pair<pid_t, std::string>> now;
  for (size_t i = 0; i < k; ++i) {
    const Candidate& c = all[i];
    const std::string tid = std::to_string(c.tid);
    thread_cpu_.Observe({{"target", target}, {"tid", tid}, {"comm", c.t->comm}, {"mode", "user"}},
                        static_cast<double>(c.t->utime_ticks) / ticks_per_second_);
    thread_cpu_.Observe({{"target", target}, {"tid", tid}, {"comm", c.t->comm}, {"mode", "system"}},
                        static_cast<double>(c.t->stime_ticks) / ticks_per_second_);
    now.emplace(c.tid, c.t->comm);
  }
  for (const auto& [tid, comm] : thread_series_[target]) {
    if (now.count({tid, comm})) continue;
    for (const char* mode : {"user", "system"}) {
      thread_cpu_.Forget(
          {{"target", target}, {"tid", std::to_string(tid)}, {"comm", comm}, {"mode", mode}});
    }
  }
  thread_series_[target] = std::move(now);
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
  stat_cache_.Clear();
  CollectHost(out);
  // taskstats answers for the real host only: over a fixture root its pids mean nothing.
  taskstats_ = ctx.policy.global.collection.use_taskstats &&
               (taskstats_any_root_ || env_.procfs.RootPath(FsRoot::kProc) == "/proc") &&
               support_.Supported("taskstats");
  if (taskstats_ && !probed_taskstats_) {
    probed_taskstats_ = true;
    TaskStatsTotals t;
    Status s = env_.sock_diag.TaskStatsTgid(::getpid(), t);
    // Over a fixture root our own pid may be unknown to a fake: only refusals count.
    taskstats_ = s.code() == StatusCode::kNotFound || support_.Report("taskstats", s);
  }
  struct Live {
    const std::string* name;
    TargetSnapshot* ts;
    std::vector<ProcState*> procs;
  };
  std::vector<Live> live;
  std::vector<ProcState*> all;
  for (auto& [name, ts] : out.targets) {
    if (ts.state != TargetState::kActive || ts.processes.empty()) continue;
    Live l{&name, &ts, {}};
    bool serving = false;
    if (ts.app) {
      auto [last, inserted] = last_requests_.try_emplace(name, ts.app->requests_total);
      serving = inserted || last->second != ts.app->requests_total;
      last->second = ts.app->requests_total;
    }
    for (const ProcessKey& key : ts.processes) {
      ProcState& ps = procs_[key];
      ps.seen_tick = tick_;
      Status s = ReadProcess(key, ctx, ps, serving);
      if (s.ok()) {
        l.procs.push_back(&ps);
      } else if (s.code() == StatusCode::kNotFound) {
        vanished_.Increment({{"collector", "cpu"}});
        procs_.erase(key);
      } else if (ts.error.empty()) {
        ts.error = "cpu: " + s.ToString();
      }
    }
    all.insert(all.end(), l.procs.begin(), l.procs.end());
    if (!l.procs.empty()) live.push_back(std::move(l));
  }
  // Thread visits under one budget for the whole tick. The next tick starts with the process
  // after the one the budget ran out in, so a budget smaller than the wanted visits still
  // reaches every process in turn.
  const uint32_t limit = ctx.policy.global.collection.thread_reads_per_tick;
  size_t budget = limit == 0 ? SIZE_MAX : limit;
  const size_t start_budget = budget;
  if (!all.empty()) {
    const size_t start = rr_ % all.size();
    for (size_t i = 0; i < all.size(); ++i) {
      const size_t idx = (start + i) % all.size();
      bool exhausted = false;
      if (Settled(*all[idx])) {
        // Its thread files will not be read while it stays idle: give their kept fds (and the
        // kernel's buffers behind them) back to the budget, for threads that do run.
        if (!all[idx]->threads_forgotten) {
          env_.procfs.Forget(FsRoot::kProc, std::to_string(all[idx]->pid) + "/task/");
          all[idx]->threads_forgotten = true;
        }
        continue;
      }
      all[idx]->threads_forgotten = false;
      VisitThreads(ctx, *all[idx], budget, exhausted);
      if (exhausted || budget == 0) {
        // Its cursor remembers where it stopped; the others go first next tick.
        rr_ = idx + 1;
        break;
      }
    }
  }
  thread_reads_last_tick_ = start_budget - budget;
  for (Live& l : live) {
    const std::string& name = *l.name;
    TargetSnapshot& ts = *l.ts;
    CpuStats cpu;
    std::optional<MonoTime> oldest_visit, oldest_sched, oldest_ts, oldest_stat;
    bool all_ts = true;
    for (ProcState* ps : l.procs) {
      Aggregate(*ps, cpu, oldest_visit, oldest_sched);
      if (ps->stat_at && (!oldest_stat || *ps->stat_at < *oldest_stat)) oldest_stat = ps->stat_at;
      if (ps->ts_now && (!oldest_ts || *ps->ts_asked < *oldest_ts)) oldest_ts = ps->ts_asked;
      all_ts = all_ts && ps->ts_now;
    }
    if (ts.cgroup) CollectCgroup(name, *ts.cgroup, ctx.now, cpu);
    if (oldest_stat) {
      ts.refreshed["process"] = *oldest_stat;
      age_gauge_.Set({{"target", name}, {"part", "process"}}, ToSeconds(ctx.now - *oldest_stat));
    }
    if (oldest_visit) {
      ts.refreshed["threads"] = *oldest_visit;
      age_gauge_.Set({{"target", name}, {"part", "threads"}}, ToSeconds(ctx.now - *oldest_visit));
    }
    const std::optional<MonoTime> rq = all_ts ? oldest_ts : oldest_sched;
    if (rq) {
      ts.refreshed["runqueue"] = *rq;
      age_gauge_.Set({{"target", name}, {"part", "runqueue"}}, ToSeconds(ctx.now - *rq));
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
    if (ctx.policy.global.collection.per_thread_metrics) {
      ExportThreads(name, l.procs, ctx.policy.global.collection.per_thread_metrics_limit);
    } else if (thread_series_.count(name)) {
      thread_cpu_.ForgetTarget(name);
      thread_series_.erase(name);
    }
    allowed_cpus_gauge_.Set({{"target", name}}, cpu.allowed_cpus);
    ts.cpu = std::move(cpu);
  }
  // A target without live processes this tick keeps no per-thread series.
  for (auto it = thread_series_.begin(); it != thread_series_.end();) {
    const bool is_live =
        std::any_of(live.begin(), live.end(), [&](const Live& l) { return *l.name == it->first; });
    if (is_live) {
      ++it;
    } else {
      thread_cpu_.ForgetTarget(it->first);
      it = thread_series_.erase(it);
    }
  }
  for (auto it = procs_.begin(); it != procs_.end();) {
    if (it->second.seen_tick != tick_) {
      it = procs_.erase(it);
    } else {
      ++it;
    }
  }
  sweeper_.Sweep(ctx.policy, [&](const std::string& t) {
    last_requests_.erase(t);
    cpu_seconds_.ForgetTarget(t);
    thread_cpu_.ForgetTarget(t);
    thread_series_.erase(t);
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
