// SPDX-License-Identifier: Apache-2.0
// The thread rotation of CpuCollector (see collectors/cpu_threads.h): thread lists, visits under
// the per-tick budget, per-thread reads and their sums per process.
#include "collectors/cpu_threads.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iterator>

#include "collectors/parse/pid_stat.h"
#include "collectors/parse/pid_status.h"
#include "collectors/parse/schedstat.h"

namespace knob {

using cpu_threads::kReadWholeThreads;
using cpu_threads::kRelistIntervals;
using cpu_threads::kStatusEveryPasses;

ThreadRotation::ThreadRotation(Env& env, TargetMetricTable& table, prometheus::Registry& reg,
                               double ticks_per_second)
    : env_(env),
      ticks_per_second_(ticks_per_second),
      thread_cpu_(reg, "knobd_thread_cpu_seconds_total",
                  "CPU time of one of a target's busiest threads, by mode (opt-in: "
                  "per_thread_metrics)") {
  table.Add(*this);
}

void ThreadRotation::Visit(const CollectContext& ctx, const std::vector<ProcState*>& all) {
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
  reads_last_tick_ = start_budget - budget;
}

void ThreadRotation::ForgetTarget(const std::string& target) {
  thread_cpu_.ForgetTarget(target);
  thread_series_.erase(target);
}

std::vector<std::string> ThreadRotation::TargetsWithSeries() const {
  std::vector<std::string> out;
  for (const auto& [target, series] : thread_series_) out.push_back(target);
  return out;
}

void ThreadRotation::RefreshThreadList(pid_t pid, ProcState& ps, const CollectContext& ctx) {
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

Status ThreadRotation::ReadThread(pid_t pid, pid_t tid, bool sched, bool detail,
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

bool ThreadRotation::Settled(const ProcState& ps) {
  // With taskstats a visit only refreshes a thread's last CPU and CPU time, which do not move
  // while the process is idle; in fallback visits also carry schedstat and switches, which do.
  return ps.ts_now && ps.idle_next && ps.visits_since_move >= ps.threads.size();
}

void ThreadRotation::VisitThreads(const CollectContext& ctx, ProcState& ps, size_t& budget,
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

void ThreadRotation::Aggregate(ProcState& ps, CpuStats& cpu, std::optional<MonoTime>& oldest_visit,
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

void ThreadRotation::ExportThreads(const std::string& target, const std::vector<ProcState*>& procs,
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

}  // namespace knob
