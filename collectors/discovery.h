// SPDX-License-Identifier: Apache-2.0
#pragma once
// Discovery: turns each policy target's Selector into the set of live processes it names, and
// fills TargetSnapshot::{name, state, processes, cgroup, error}. It is a Collector so the daemon
// runs it like the others; MakeCollectors() always puts it first, and every other collector
// only reads the process list it wrote.
//
// How a selector resolves (all set fields must match, logical AND):
//   pid          that pid, if alive
//   registered   the pid a control-socket client registered under that name (ctx.registered_pids),
//                every such pid when several processes registered it (ctx.instance_pids)
//   comm         exact /proc/PID/comm (the name inside stat's parentheses)
//   exe          /proc/PID/exe: full path, or basename when the selector has no '/'
//   cmdline_regex RE2 regex searched in the NUL->space joined /proc/PID/cmdline
//   cgroup       the process's v2 path ("0::" line) equals it or lies below it
//   systemd_unit a path component of the v2 path, or of the v1 name=systemd path, equals it
//   host         no processes; the target is always active (host metrics only)
// A process is a ProcessKey (pid, start time), from /proc/PID/stat read once when the pid is
// new. A known pid is re-checked with a pread of /proc/PID/comm on a kept fd: that fails with
// ESRCH once its task is gone, even if the pid was reused (the pid is then read again as new, so
// a new key starts a new history), and a changed comm means an exec. comm rather than stat
// because the kernel sums over all threads to format a process's stat (do_task_stat): at 20 000
// threads that was most of discovery's cost.
//
// Cost: a full scan (one getdents of /proc plus one pread of each PID/comm on a kept fd) happens
// every CollectionSettings::discovery_interval, and only when some target needs scanning (pid,
// registered and host targets never scan): listing /proc makes the kernel walk every pid,
// threads included, which at 20 000 threads costs milliseconds. Between scans only the processes
// that matched last tick are re-checked, so exits and pid reuse still show within a tick; new
// processes show at the next scan. On the real /proc (Linux >= 5.3) a matched process is watched
// through a pidfd in an epoll set (core/pid_watch.h), and one epoll_wait per tick names the ones
// that exited, instead of a comm read per process per tick; an exec of a watched process (same
// pid, new comm) then shows at the next scan. Elsewhere (fixture roots, old kernels) the re-check
// is the comm read, and execs show within a tick. A target that has no
// processes yet (pending or gone) does not wait for the interval: the scan runs at the next tick
// in which /proc/loadavg's last-pid field moved (a process or thread was created). exe, cmdline
// and cgroup are read once per process (again when its comm changes, i.e. after an exec) and
// only when a selector needs them.
//
// A pid that names another process than last tick (the old one exited, the kernel handed its
// pid to a newcomer that the selector matches too: a `pid:` target always does) is logged once
// and counted in knobd_target_process_replaced_total; the new key starts a new history (counters
// from zero, no delta across the two processes).
//
// States: pending (nothing matched yet), active, gone (matched before, nothing now), error
// (nothing matched and some candidate could not be inspected: permission denied, or a bad
// regex), with the reason in TargetSnapshot::error. A matched target with unreadable
// candidates stays active and carries the warning in `error`.
//
// Thread rule: collection thread only.

#include <re2/re2.h>
#include <sys/types.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "collectors/collector.h"
#include "collectors/metrics.h"
#include "core/env.h"
#include "core/pid_watch.h"

namespace knob {

class Discovery final : public Collector {
 public:
  Discovery(Env& env, prometheus::Registry& registry);
  std::string_view Name() const override { return "discovery"; }
  Status Collect(const CollectContext& ctx, Snapshot& out) override;

  // Number of processes in the scan cache (tests, benchmark).
  size_t cached_processes() const { return procs_.size(); }
  // Matched processes watched through a pidfd, and the comm re-checks made between scans.
  size_t watched_processes() const { return watch_.size(); }
  uint64_t comm_rechecks() const { return comm_rechecks_; }

 private:
  struct Proc {
    ProcessKey key;
    std::string comm;
    // Lazily loaded; `*_status` remembers a failure (permission denied) for this process.
    std::optional<std::string> exe, cmdline;
    Status exe_status, cmdline_status, cgroup_status;
    bool cgroup_loaded = false;
    std::optional<std::string> cgroup_v2, cgroup_systemd;
    uint64_t seen_scan = 0;
  };
  struct TargetMemo {
    bool ever_active = false;
    bool active_last = false;  // active after the last tick
    std::string regex_src;
    std::unique_ptr<re2::RE2> regex;  // RE2: see kMaxCmdlineRegexBytes for why not std::regex
    Status regex_status;
    std::vector<ProcessKey> last_processes;  // matched last tick, to see a pid now naming another
  };

  // Reads PID/stat (new pid) or PID/comm (kept fd, known pid) into a fresh or refreshed Proc;
  // NotFound when gone.
  Status Refresh(pid_t pid, Proc*& out);
  void Scan();
  // /proc/loadavg's last allocated pid, or nullopt when it cannot be read.
  std::optional<uint64_t> LastPid();
  // Whether `p` matches; a Status other than OK means "could not tell" (reason kept).
  bool Matches(const Selector& sel, const TargetMemo& memo, Proc& p, const CollectContext& ctx,
               std::string& why_not);
  void LoadCgroup(Proc& p);

  Env& env_;
  std::map<pid_t, Proc> procs_;
  std::map<std::string, TargetMemo> memo_;
  uint64_t scan_ = 0;
  std::optional<MonoTime> last_scan_;
  std::optional<uint64_t> last_pid_at_scan_;
  std::vector<pid_t> matched_;  // pids matched by scanning targets last tick
  std::vector<pid_t> direct_;   // pids named directly (pid, registered) this tick
  PidWatch watch_;              // matched processes, on the real /proc only
  uint64_t comm_rechecks_ = 0;
  std::string buf_;
  std::vector<std::string> names_;
  TargetMetricTable target_series_;  // lists the per-target series below; before them
  GaugeVec processes_gauge_;
  GaugeVec up_gauge_;
  CounterVec replaced_;
  CounterVec scans_;
  SupportTracker support_;  // source "pidfd"
};

}  // namespace knob
