// SPDX-License-Identifier: Apache-2.0
#include "collectors/cpu.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iterator>

#include "collectors/parse/pid_stat.h"

namespace knob {

using cpu_threads::kReadWholeThreads;
using cpu_threads::kRelistIntervals;
CpuCollector::CpuCollector(Env& env, prometheus::Registry& reg)
    : env_(env),
      ticks_per_second_(static_cast<double>(::sysconf(_SC_CLK_TCK))),
      support_(reg, "cpu"),
      cpu_seconds_(target_series_, reg, "knobd_target_cpu_seconds_total",
                   "CPU time of the target's processes (all threads, live and exited), by mode"),
      runqueue_(target_series_, reg, "knobd_target_runqueue_delay_seconds_total",
                "Time the target's threads spent runnable but waiting for a CPU (schedstat)"),
      timeslices_(target_series_, reg, "knobd_target_timeslices_total",
                  "Times the target's threads were scheduled onto a CPU (schedstat)"),
      switches_(target_series_, reg, "knobd_target_context_switches_total",
                "Context switches of the target's threads, kind=voluntary|involuntary"),
      cgroup_(env, target_series_, reg),
      host_(env, reg, ticks_per_second_),
      vanished_(reg, "knobd_collector_vanished_processes_total",
                "Processes that exited between discovery and a collector's read"),
      threads_(env, target_series_, reg, ticks_per_second_),
      threads_gauge_(target_series_, reg, "knobd_target_threads",
                     "Threads of the target's processes"),
      allowed_cpus_gauge_(target_series_, reg, "knobd_target_allowed_cpus",
                          "CPUs in the affinity mask (largest over the target's processes)"),
      age_gauge_(target_series_, reg, "knobd_collector_sample_age_seconds",
                 "Age of the oldest reading behind a slow-cadence part of a target's snapshot") {}

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
    threads_.RefreshThreadList(key.pid, ps, ctx);
  }
  return OkStatus();
}

Status CpuCollector::Collect(const CollectContext& ctx, Snapshot& out) {
  ++tick_;
  stat_cache_.Clear();
  host_.Collect(support_, out);
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
  threads_.Visit(ctx, all);
  for (Live& l : live) {
    const std::string& name = *l.name;
    TargetSnapshot& ts = *l.ts;
    CpuStats cpu;
    std::optional<MonoTime> oldest_visit, oldest_sched, oldest_ts, oldest_stat;
    bool all_ts = true;
    for (ProcState* ps : l.procs) {
      ThreadRotation::Aggregate(*ps, cpu, oldest_visit, oldest_sched);
      if (ps->stat_at && (!oldest_stat || *ps->stat_at < *oldest_stat)) oldest_stat = ps->stat_at;
      if (ps->ts_now && (!oldest_ts || *ps->ts_asked < *oldest_ts)) oldest_ts = ps->ts_asked;
      all_ts = all_ts && ps->ts_now;
    }
    if (ts.cgroup) cgroup_.Collect(name, *ts.cgroup, ctx.now, cpu);
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
      threads_.ExportThreads(name, l.procs, ctx.policy.global.collection.per_thread_metrics_limit);
    } else if (threads_.HasSeries(name)) {
      threads_.ForgetTarget(name);
    }
    allowed_cpus_gauge_.Set({{"target", name}}, cpu.allowed_cpus);
    ts.cpu = std::move(cpu);
  }
  // A target without live processes this tick keeps no per-thread series.
  for (const std::string& target : threads_.TargetsWithSeries()) {
    const bool is_live =
        std::any_of(live.begin(), live.end(), [&](const Live& l) { return *l.name == target; });
    if (!is_live) threads_.ForgetTarget(target);
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
    target_series_.ForgetTarget(t);
  });
  return OkStatus();
}

}  // namespace knob
