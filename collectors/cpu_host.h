// SPDX-License-Identifier: Apache-2.0
#pragma once
// The host and cgroup parts of CpuCollector, each a small reader with its own metrics.
// Host: /proc/stat per core, busy = user+nice+system+irq+softirq+steal (guest is inside user),
// total = busy+idle+iowait, each clamped to never decrease (iowait can go backwards).
// Cgroup v2: <cgroup>/cpu.stat nr_throttled, throttled_usec and cpu.max, when the target has a
// v2 cgroup with the cpu controller enabled; a missing file is retried every 30 s.
// Thread rule: collection thread only.

#include <optional>
#include <string>
#include <vector>

#include "collectors/metrics.h"
#include "collectors/missing_files.h"
#include "core/env.h"
#include "core/snapshot.h"

namespace knob {

class HostCpu {
 public:
  HostCpu(Env& env, prometheus::Registry& reg, double ticks_per_second);
  // Fills out.host's per-core seconds; `support` records whether /proc/stat can be read.
  void Collect(SupportTracker& support, Snapshot& out);

 private:
  Env& env_;
  double ticks_per_second_;
  std::string buf_;
  std::vector<double> busy_, total_;  // per core, never decreasing
  CounterVec busy_seconds_, total_seconds_;
};

class CgroupCpu final : public TargetSeries {
 public:
  // Lists its per-target series in `table`, which removes them when a target goes.
  CgroupCpu(Env& env, TargetMetricTable& table, prometheus::Registry& reg);
  // Throttling and quota of `cgroup` (a path below the v2 root) into `cpu`.
  void Collect(const std::string& target, const std::string& cgroup, MonoTime now, CpuStats& cpu);
  void ForgetTarget(const std::string& target) override { series_.ForgetTarget(target); }

 private:
  Env& env_;
  std::string buf_;
  std::optional<std::optional<std::string>> root_;  // outer unset: not probed yet
  MissingFiles missing_;
  TargetMetricTable series_;  // before the series it lists
  CounterVec throttled_periods_, throttled_seconds_;
  GaugeVec quota_gauge_;
};

}  // namespace knob
