// SPDX-License-Identifier: Apache-2.0
#include "collectors/cpu_host.h"

#include <algorithm>

#include "collectors/cgroup_fs.h"
#include "collectors/parse/cgroup.h"
#include "collectors/parse/proc_stat.h"

namespace knob {

HostCpu::HostCpu(Env& env, prometheus::Registry& reg, double ticks_per_second)
    : env_(env),
      ticks_per_second_(ticks_per_second),
      busy_seconds_(reg, "knobd_host_cpu_busy_seconds_total",
                    "Non-idle time per core from /proc/stat (guest counted once)"),
      total_seconds_(reg, "knobd_host_cpu_elapsed_seconds_total",
                     "Busy+idle+iowait time per core from /proc/stat; busy/elapsed rates "
                     "give utilisation") {}

void HostCpu::Collect(SupportTracker& support, Snapshot& out) {
  Status s = env_.procfs.ReadKept(FsRoot::kProc, "stat", buf_);
  if (!support.Report("proc_stat", s)) return;
  if (!s.ok()) return;
  auto st = parse::ParseProcStat(buf_);
  if (!st.ok()) return;
  HostSnapshot& h = out.host;
  int max_cpu = -1;
  for (const auto& c : st->cpus) max_cpu = std::max(max_cpu, c.cpu);
  const size_t n = max_cpu < 0 ? 0 : static_cast<size_t>(max_cpu) + 1;
  busy_.resize(std::max(busy_.size(), n), 0);
  total_.resize(std::max(total_.size(), n), 0);
  h.cpu_busy_seconds.assign(n, 0);
  h.cpu_total_seconds.assign(n, 0);
  h.online_cpus = static_cast<uint32_t>(st->cpus.size());
  for (const auto& c : st->cpus) {
    const size_t i = static_cast<size_t>(c.cpu);
    busy_[i] = std::max(busy_[i], static_cast<double>(c.BusyTicks()) / ticks_per_second_);
    total_[i] =
        std::max({total_[i], busy_[i], static_cast<double>(c.TotalTicks()) / ticks_per_second_});
    h.cpu_busy_seconds[i] = busy_[i];
    h.cpu_total_seconds[i] = total_[i];
    const std::string cpu = std::to_string(c.cpu);
    busy_seconds_.Observe({{"cpu", cpu}}, busy_[i]);
    total_seconds_.Observe({{"cpu", cpu}}, total_[i]);
  }
}

CgroupCpu::CgroupCpu(Env& env, TargetMetricTable& table, prometheus::Registry& reg)
    : env_(env),
      throttled_periods_(series_, reg, "knobd_target_cgroup_throttled_periods_total",
                         "cgroup v2 cpu.stat nr_throttled of the target's cgroup"),
      throttled_seconds_(series_, reg, "knobd_target_cgroup_throttled_seconds_total",
                         "cgroup v2 cpu.stat throttled_usec of the target's cgroup, in seconds"),
      quota_gauge_(series_, reg, "knobd_target_cgroup_cpu_quota_cores",
                   "cgroup v2 cpu.max quota/period; absent when unlimited") {
  table.Add(*this);
}

void CgroupCpu::Collect(const std::string& target, const std::string& cgroup, MonoTime now,
                        CpuStats& cpu) {
  constexpr Duration kRetryMissing = std::chrono::seconds(30);
  if (!root_) root_ = FindCgroupV2Root(env_.procfs);
  if (!root_->has_value()) return;
  const std::string& root = **root_;
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

}  // namespace knob
