// SPDX-License-Identifier: Apache-2.0
#include "collectors/discovery.h"

#include <re2/re2.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>
#include <memory>

#include "collectors/parse/cgroup.h"
#include "collectors/parse/loadavg.h"
#include "collectors/parse/pid_stat.h"
#include "collectors/parse/text.h"

namespace knob {
namespace {

// `registered` beside `cgroup` or `unit` names the client that carries the target's knobs (an
// adapter such as knob-systemd-adapter), not a process: the processes are the group's.
bool RegisteredIsProcess(const Selector& s) { return s.registered && !s.cgroup && !s.systemd_unit; }

bool NeedsScan(const Selector& s) {
  if (s.host || s.pid || RegisteredIsProcess(s)) return false;
  return s.comm || s.exe || s.cmdline_regex || s.cgroup || s.systemd_unit;
}

bool IsPidName(const std::string& n) {
  return !n.empty() && std::all_of(n.begin(), n.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool CgroupUnder(const std::string& path, const std::string& want) {
  if (want == "/" || want.empty()) return true;
  std::string w = want;
  while (w.size() > 1 && w.back() == '/') w.pop_back();
  if (path.compare(0, w.size(), w) != 0) return false;
  return path.size() == w.size() || path[w.size()] == '/';
}

bool HasComponent(const std::string& path, const std::string& comp) {
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t next = path.find('/', pos);
    if (next == std::string::npos) next = path.size();
    if (path.compare(pos, next - pos, comp) == 0 && next - pos == comp.size()) return true;
    pos = next + 1;
  }
  return false;
}

}  // namespace

Discovery::Discovery(Env& env, prometheus::Registry& registry)
    : env_(env),
      processes_gauge_(target_series_, registry, "knobd_target_processes",
                       "Live processes matched by the target's selector"),
      up_gauge_(target_series_, registry, "knobd_target_up",
                "1 when the target is active (processes found or host target), else 0"),
      replaced_(target_series_, registry, "knobd_target_process_replaced_total",
                "Times a pid the target matched was found naming another process (pid reuse)"),
      scans_(registry, "knobd_discovery_scans_total", "Full /proc scans done by discovery"),
      support_(registry, "discovery") {}

Status Discovery::Refresh(pid_t pid, Proc*& out) {
  out = nullptr;
  const std::string prefix = std::to_string(pid) + "/";
  auto known = procs_.find(pid);
  if (known != procs_.end()) {
    Status s = env_.procfs.ReadKept(FsRoot::kProc, prefix + "comm", buf_);
    if (s.ok()) {
      std::string_view comm(buf_);
      if (!comm.empty() && comm.back() == '\n') comm.remove_suffix(1);
      Proc& p = known->second;
      if (p.comm != comm) {
        // A new comm usually means an exec: exe and cmdline changed with it.
        p.exe.reset();
        p.cmdline.reset();
        p.exe_status = OkStatus();
        p.cmdline_status = OkStatus();
        p.comm.assign(comm);
      }
      p.seen_scan = scan_;
      out = &p;
      return OkStatus();
    }
    if (s.code() != StatusCode::kNotFound) return s;
    // The kept fd names a dead task, whose pid may have been reused: read it again as new.
    procs_.erase(known);
    env_.procfs.Forget(FsRoot::kProc, prefix);
  }
  const std::string path = prefix + "stat";
  // One open per new process; later ticks use the kept comm fd.
  KNOB_RETURN_IF_ERROR(env_.procfs.Read(FsRoot::kProc, path, buf_));
  auto st = parse::ParsePidStat(buf_);
  if (!st.ok()) return st.status().WithContext(path);
  Proc& p = procs_.emplace(pid, Proc{}).first->second;
  p.key = ProcessKey{pid, st->starttime_ticks};
  p.comm = std::move(st->comm);
  p.seen_scan = scan_;
  out = &p;
  return OkStatus();
}

std::optional<uint64_t> Discovery::LastPid() {
  if (!env_.procfs.ReadKept(FsRoot::kProc, "loadavg", buf_).ok()) return std::nullopt;
  auto l = parse::ParseLoadAvg(buf_);
  if (!l.ok()) return std::nullopt;
  return l->last_pid;
}

void Discovery::Scan() {
  ++scan_;
  Status s = env_.procfs.ListDir(FsRoot::kProc, "", names_);
  if (!s.ok()) {
    spdlog::error("discovery: cannot list {}: {}", env_.procfs.RootPath(FsRoot::kProc),
                  s.ToString());
    return;
  }
  scans_.Observe({}, static_cast<double>(scan_));
  for (const std::string& n : names_) {
    uint64_t pid = 0;
    if (!IsPidName(n) || !parse::ToU64(n, pid) || pid > 0x7fffffff) continue;
    Proc* p = nullptr;
    Refresh(static_cast<pid_t>(pid), p).IgnoreError();  // vanished or unreadable: skip
  }
  for (auto it = procs_.begin(); it != procs_.end();) {
    if (it->second.seen_scan != scan_) {
      env_.procfs.Forget(FsRoot::kProc, std::to_string(it->first) + "/");
      it = procs_.erase(it);
    } else {
      ++it;
    }
  }
}

void Discovery::LoadCgroup(Proc& p) {
  if (p.cgroup_loaded) return;
  p.cgroup_loaded = true;
  std::string path = std::to_string(p.key.pid) + "/cgroup";
  p.cgroup_status = env_.procfs.Read(FsRoot::kProc, path, buf_);
  if (!p.cgroup_status.ok()) return;
  auto cg = parse::ParsePidCgroup(buf_);
  if (!cg.ok()) {
    p.cgroup_status = cg.status().WithContext(path);
    return;
  }
  p.cgroup_v2 = cg->unified;
  auto sd = cg->v1.find("name=systemd");
  if (sd != cg->v1.end()) p.cgroup_systemd = sd->second;
}

bool Discovery::Matches(const Selector& sel, const TargetMemo& memo, Proc& p,
                        const CollectContext& ctx, std::string& why_not) {
  if (sel.pid && p.key.pid != *sel.pid) return false;
  if (RegisteredIsProcess(sel)) {
    auto it = ctx.registered_pids.find(*sel.registered);
    bool registered = it != ctx.registered_pids.end() && it->second == p.key.pid;
    if (!registered && ctx.instance_pids != nullptr) {
      auto all = ctx.instance_pids->find(*sel.registered);
      registered =
          all != ctx.instance_pids->end() &&
          std::find(all->second.begin(), all->second.end(), p.key.pid) != all->second.end();
    }
    if (!registered) return false;
  }
  if (sel.comm && p.comm != *sel.comm) return false;
  const std::string pid = std::to_string(p.key.pid);
  if (sel.exe) {
    if (!p.exe && p.exe_status.ok()) {
      std::string link;
      p.exe_status = env_.procfs.ReadLink(FsRoot::kProc, pid + "/exe", link);
      if (p.exe_status.ok()) {
        constexpr std::string_view kDeleted = " (deleted)";
        if (link.size() > kDeleted.size() &&
            link.compare(link.size() - kDeleted.size(), kDeleted.size(), kDeleted) == 0) {
          link.resize(link.size() - kDeleted.size());
        }
        p.exe = std::move(link);
      }
    }
    if (!p.exe) {
      if (p.exe_status.code() == StatusCode::kPermissionDenied) why_not = p.exe_status.ToString();
      return false;
    }
    const std::string& want = *sel.exe;
    if (want.find('/') != std::string::npos) {
      if (*p.exe != want) return false;
    } else {
      size_t slash = p.exe->rfind('/');
      if (p.exe->substr(slash == std::string::npos ? 0 : slash + 1) != want) return false;
    }
  }
  if (sel.cmdline_regex) {
    if (!memo.regex) {
      why_not = memo.regex_status.ToString();
      return false;
    }
    if (!p.cmdline && p.cmdline_status.ok()) {
      p.cmdline_status = env_.procfs.Read(FsRoot::kProc, pid + "/cmdline", buf_);
      if (p.cmdline_status.ok()) {
        std::replace(buf_.begin(), buf_.end(), '\0', ' ');
        p.cmdline = std::string(parse::Trim(buf_));
      }
    }
    if (!p.cmdline) {
      if (p.cmdline_status.code() == StatusCode::kPermissionDenied) {
        why_not = p.cmdline_status.ToString();
      }
      return false;
    }
    if (!re2::RE2::PartialMatch(*p.cmdline, *memo.regex)) return false;
  }
  if (sel.cgroup || sel.systemd_unit) {
    LoadCgroup(p);
    if (p.cgroup_status.code() == StatusCode::kPermissionDenied) {
      why_not = p.cgroup_status.ToString();
      return false;
    }
    if (sel.cgroup && !(p.cgroup_v2 && CgroupUnder(*p.cgroup_v2, *sel.cgroup))) return false;
    if (sel.systemd_unit) {
      bool in_unit = (p.cgroup_v2 && HasComponent(*p.cgroup_v2, *sel.systemd_unit)) ||
                     (p.cgroup_systemd && HasComponent(*p.cgroup_systemd, *sel.systemd_unit));
      if (!in_unit) return false;
    }
  }
  return true;
}

Status Discovery::Collect(const CollectContext& ctx, Snapshot& out) {
  const auto& settings = ctx.policy.global.collection;
  bool need_scan = false, waiting = false;
  for (const TargetPolicy& t : ctx.policy.targets) {
    if (!NeedsScan(t.selector)) continue;
    need_scan = true;
    auto m = memo_.find(t.name);
    waiting |= m == memo_.end() || !m->second.active_last;
  }
  if (need_scan) {
    bool scan = !last_scan_ || ctx.now - *last_scan_ >= settings.discovery_interval;
    if (!scan && waiting) {
      // A target still waiting for its processes should not wait a whole discovery_interval
      // after they start: scan now if any pid was allocated since the last scan.
      std::optional<uint64_t> last = LastPid();
      scan = !last || !last_pid_at_scan_ || *last != *last_pid_at_scan_;
    }
    // Exited watched processes are dropped whether or not this tick scans (a scan would drop
    // them too, but must not meet a stale watch of a reused pid).
    for (pid_t pid : watch_.Exited()) {
      if (procs_.erase(pid)) env_.procfs.Forget(FsRoot::kProc, std::to_string(pid) + "/");
    }
    if (scan) {
      last_pid_at_scan_ = LastPid();
      Scan();
      last_scan_ = ctx.now;
    } else {
      // Between scans, only the processes that matched last tick are re-checked: by the pidfd
      // watch when they have one, else by a pread of comm on a kept fd.
      bool watch = env_.procfs.RootPath(FsRoot::kProc) == "/proc";
      if (watch && !watch_.available()) {
        support_.Report("pidfd",
                        UnavailableError("pidfd_open or epoll refused; matched processes are "
                                         "re-checked by reading /proc/PID/comm every tick"));
        watch = false;
      }
      for (pid_t pid : matched_) {
        if (watch_.Watching(pid)) continue;
        Proc* p = nullptr;
        ++comm_rechecks_;
        Refresh(pid, p).IgnoreError();  // gone: Refresh dropped it
        if (p == nullptr || !watch) continue;
        if (!watch_.Watch(pid)) continue;
        support_.Report("pidfd", OkStatus());
        // The pidfd names whatever process has the pid now: confirm through the kept comm fd
        // (which names the process we matched) that it is still that one.
        Proc* again = nullptr;
        if (!Refresh(pid, again).ok() || again == nullptr) watch_.Unwatch(pid);
      }
    }
  }
  matched_.clear();
  direct_.clear();

  for (const TargetPolicy& t : ctx.policy.targets) {
    TargetSnapshot& ts = out.targets[t.name];
    ts.name = t.name;
    ts.processes.clear();
    ts.error.clear();
    TargetMemo& memo = memo_[t.name];
    if (t.selector.cmdline_regex && memo.regex_src != *t.selector.cmdline_regex) {
      memo.regex_src = *t.selector.cmdline_regex;
      re2::RE2::Options opts;
      opts.set_log_errors(false);
      memo.regex = std::make_unique<re2::RE2>(memo.regex_src, opts);
      if (memo.regex->ok()) {
        memo.regex_status = OkStatus();
      } else {
        memo.regex_status =
            InvalidArgumentError("cmdline_regex '" + memo.regex_src + "': " + memo.regex->error());
        memo.regex.reset();
      }
    }
    if (t.selector.host) {
      ts.state = TargetState::kActive;
      memo.ever_active = true;
      up_gauge_.Set({{"target", t.name}}, 1);
      processes_gauge_.Set({{"target", t.name}}, 0);
      continue;
    }

    std::string reason;
    size_t unreadable = 0;
    auto consider = [&](Proc& p) {
      std::string why;
      if (Matches(t.selector, memo, p, ctx, why)) {
        ts.processes.push_back(p.key);
      } else if (!why.empty()) {
        ++unreadable;
        if (reason.empty()) reason = why;
      }
    };
    std::optional<pid_t> direct = t.selector.pid;
    bool direct_only = direct.has_value() || RegisteredIsProcess(t.selector);
    if (!direct && RegisteredIsProcess(t.selector)) {
      auto it = ctx.registered_pids.find(*t.selector.registered);
      if (it != ctx.registered_pids.end()) direct = it->second;
    }
    if (direct_only) {
      std::vector<pid_t> pids;
      if (direct) pids.push_back(*direct);
      if (!t.selector.pid && t.selector.registered && ctx.instance_pids != nullptr) {
        auto all = ctx.instance_pids->find(*t.selector.registered);
        if (all != ctx.instance_pids->end())
          for (pid_t other : all->second)
            if (std::find(pids.begin(), pids.end(), other) == pids.end()) pids.push_back(other);
      }
      for (pid_t pid : pids) {
        direct_.push_back(pid);
        Proc* p = nullptr;
        Status s = Refresh(pid, p);
        if (p != nullptr) {
          consider(*p);
        } else if (s.code() == StatusCode::kPermissionDenied ||
                   s.code() == StatusCode::kInvalidArgument) {
          ++unreadable;
          reason = s.ToString();
        }
      }
    } else {
      for (auto& [pid, p] : procs_) consider(p);
    }
    std::sort(ts.processes.begin(), ts.processes.end());
    for (const ProcessKey& k : ts.processes) {
      auto was = std::find_if(memo.last_processes.begin(), memo.last_processes.end(),
                              [&](const ProcessKey& o) { return o.pid == k.pid; });
      if (was == memo.last_processes.end() || was->start_time_ticks == k.start_time_ticks) continue;
      spdlog::warn(
          "target {}: pid {} now names another process (started at tick {}, was {}): its "
          "counters and history start again",
          t.name, k.pid, k.start_time_ticks, was->start_time_ticks);
      replaced_.Increment({{"target", t.name}});
    }
    memo.last_processes = ts.processes;

    if (!ts.processes.empty()) {
      ts.state = TargetState::kActive;
      memo.ever_active = true;
      auto it = procs_.find(ts.processes.front().pid);
      if (it != procs_.end()) {
        LoadCgroup(it->second);
        if (it->second.cgroup_v2) ts.cgroup = it->second.cgroup_v2;
      }
      if (unreadable > 0) {
        ts.error = std::to_string(unreadable) + " candidate process(es) not inspectable: " + reason;
      }
    } else if (unreadable > 0) {
      ts.state = TargetState::kError;
      ts.error = reason;
      if (reason.find("ermission") != std::string::npos) {
        ts.error +=
            " (knobd needs CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH to inspect other users' "
            "processes)";
      }
    } else {
      ts.state = memo.ever_active ? TargetState::kGone : TargetState::kPending;
      ts.cgroup.reset();
    }
    memo.active_last = ts.state == TargetState::kActive;
    if (NeedsScan(t.selector)) {
      for (const ProcessKey& k : ts.processes) matched_.push_back(k.pid);
    }
    up_gauge_.Set({{"target", t.name}}, ts.state == TargetState::kActive ? 1 : 0);
    processes_gauge_.Set({{"target", t.name}}, static_cast<double>(ts.processes.size()));
  }

  std::sort(matched_.begin(), matched_.end());
  matched_.erase(std::unique(matched_.begin(), matched_.end()), matched_.end());
  watch_.Retain(matched_);
  // With no scanning target nothing else drops a directly named process from the cache, so a
  // live process that no longer belongs to any target (every instance of a registered client
  // left) would keep its /proc files open for as long as knobd runs.
  if (!need_scan) {
    for (auto it = procs_.begin(); it != procs_.end();) {
      if (std::find(direct_.begin(), direct_.end(), it->first) == direct_.end()) {
        env_.procfs.Forget(FsRoot::kProc, std::to_string(it->first) + "/");
        it = procs_.erase(it);
      } else {
        ++it;
      }
    }
  }

  for (auto it = memo_.begin(); it != memo_.end();) {
    bool configured = std::any_of(ctx.policy.targets.begin(), ctx.policy.targets.end(),
                                  [&](const TargetPolicy& t) { return t.name == it->first; });
    if (!configured) {
      target_series_.ForgetTarget(it->first);
      it = memo_.erase(it);
    } else {
      ++it;
    }
  }
  return OkStatus();
}

}  // namespace knob
