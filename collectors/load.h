// SPDX-License-Identifier: Apache-2.0
#pragma once
// LoadCollector: host load average and runnable/total tasks (/proc/loadavg), and PSI pressure
// for cpu, memory and io (some/full; avg10/60/300 and the stall-time total) for the host
// (/proc/pressure/*) and for each target's cgroup v2 (<cgroup>/{cpu,memory,io}.pressure).
// Degraded modes: no /proc/pressure (ENOENT: kernel without CONFIG_PSI) or EOPNOTSUPP (psi=0 on
// the command line) -> knobd_collector_supported{collector="load",source="psi"} 0, one warning,
// and HostSnapshot::pressure stays unset; likewise source="psi_cgroup" for cgroup files (pure v1
// host, or a cgroup without the files). A missing "full" line (cpu before 5.13) is not an error.
// Thread rule: collection thread only.

#include <optional>
#include <set>
#include <string>

#include "collectors/collector.h"
#include "collectors/metrics.h"
#include "collectors/missing_files.h"
#include "core/env.h"

namespace knob {

class LoadCollector final : public Collector {
 public:
  LoadCollector(Env& env, prometheus::Registry& registry);
  std::string_view Name() const override { return "load"; }
  Status Collect(const CollectContext& ctx, Snapshot& out) override;

 private:
  // Reads three PSI files named by `path(resource)`; unset when the source is unsupported.
  template <typename PathFn>
  std::optional<PressureSet> ReadPressure(FsRoot root, PathFn path, const char* source,
                                          MonoTime now);
  void Export(const prometheus::Labels& base, const PressureSet& set, GaugeVec& ratio,
              CounterVec& stalled);

  Env& env_;
  std::string buf_;
  std::optional<std::optional<std::string>> cgroup_root_;
  std::set<std::string> cgroups_read_;  // the targets' cgroups read last tick
  MissingFiles missing_;
  SupportTracker support_;
  TargetSweeper sweeper_;
  TargetMetricTable target_series_;  // lists the per-target series below; before them
  GaugeVec load_, tasks_, host_ratio_, target_ratio_;
  CounterVec host_stalled_, target_stalled_;
};

}  // namespace knob
