// SPDX-License-Identifier: Apache-2.0
#pragma once
// The two ways knob-systemd-adapter changes a unit's CPU quota and CPU set, and the one way it
// reads them back: the unit's cgroup files.
//   DbusBackend    systemd's D-Bus API (sd-bus: SetUnitProperties on org.freedesktop.systemd1,
//                  runtime) with CPUQuotaPerSecUSec and AllowedCPUs, as `systemctl set-property
//                  --runtime` does: systemd stays the owner of the cgroup and its unit file.
//   CgroupBackend  writes the cgroup's files itself (cgroup v2 cpu.max / cpuset.cpus, or v1
//                  cpu.cfs_quota_us / cpuset.cpus): for hosts with no systemd manager, or a group
//                  systemd does not manage. Under systemd the D-Bus path is the right one: a
//                  daemon-reload rewrites what was written behind systemd's back.
// Read back, either way, from cgroup v2 cpu.max and cpuset.cpus.effective (v1: cpu.cfs_quota_us
// over cpu.cfs_period_us, cpuset.effective_cpus).
// Thread rule: CgroupFiles is stateless after Open (file reads and writes, any thread); a backend
// is used by one thread at a time (the client's, in the knob callbacks).

#include <memory>
#include <optional>
#include <string>

#include "core/status.h"

namespace knob::adapter {

class CgroupFiles {
 public:
  // The unit's cgroup `group` (e.g. /system.slice/nginx.service) under `root` (/sys/fs/cgroup):
  // cgroup v2 when `root/group/cpu.max` exists, else v1 when `root/cpu/group` exists (cpu
  // controller) with `root/cpuset/group` (cpuset). The error names the files looked for.
  static Result<CgroupFiles> Open(const std::string& root, const std::string& group);

  bool v2() const { return v2_; }
  std::string Describe() const;  // "cgroup v2 /sys/fs/cgroup/x.service"

  // CPU quota in percent of one CPU (systemd's CPUQuota=); nullopt when unlimited.
  Result<std::optional<double>> QuotaPercent() const;
  Result<std::string> EffectiveCpus() const;  // canonical CPU list (core/cpu_list.h)
  Status WriteQuota(double percent) const;
  Status WriteCpus(const std::string& list) const;

  struct CpuStat {
    double usage_seconds = 0, throttled_seconds = 0, throttled_periods = 0;
  };
  Result<CpuStat> Stat() const;

 private:
  bool v2_ = false;
  std::string cpu_dir_, cpuset_dir_;
};

class UnitBackend {
 public:
  virtual ~UnitBackend() = default;
  virtual std::string Describe() const = 0;
  virtual Status SetQuota(double percent) = 0;
  virtual Status SetCpus(const std::string& list) = 0;
  // Where the result is read back.
  virtual const CgroupFiles& files() const = 0;
};

std::unique_ptr<UnitBackend> MakeCgroupBackend(CgroupFiles files);

// Connects to the system bus and resolves the unit's cgroup (its ControlGroup property) under
// `cgroup_root`. Fails when no systemd manager runs (sd_booted), the bus is unreachable, or the
// unit is unknown; the message says which.
Result<std::unique_ptr<UnitBackend>> MakeDbusBackend(const std::string& unit,
                                                     const std::string& cgroup_root);

}  // namespace knob::adapter
