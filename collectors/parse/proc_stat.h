// SPDX-License-Identifier: Apache-2.0
#pragma once
// Parser for /proc/stat (proc(5)). Linux 6.18 excerpt:
//   cpu  1932 0 1798 249324 349 0 21 18 0 0
//   cpu0 493 0 580 125665 4 0 5 5 0 0
//   ...
//   procs_running 1
//   procs_blocked 0
// Columns: user nice system idle iowait irq softirq steal guest guest_nice (USER_HZ ticks).
// Quirks: guest and guest_nice are already included in user and nice (never add them again);
// iowait can go backwards on NOHZ kernels (consumers clamp); older kernels have fewer columns
// (steal since 2.6.11, guest 2.6.24, guest_nice 2.6.33) which read as 0; offline CPUs are
// simply missing, so `cpu` is the index parsed from the name, not the line order.
// Thread rule: pure function.

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace knob::parse {

struct CpuTimes {
  int cpu = -1;  // -1 for the aggregate "cpu" line
  uint64_t user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0,
           guest = 0, guest_nice = 0;
  // Busy excludes idle and iowait; guest is inside user already.
  uint64_t BusyTicks() const { return user + nice + system + irq + softirq + steal; }
  uint64_t TotalTicks() const { return BusyTicks() + idle + iowait; }
};

struct ProcStat {
  CpuTimes total;
  std::vector<CpuTimes> cpus;  // in file order
  std::optional<uint64_t> procs_running, procs_blocked;
};

Result<ProcStat> ParseProcStat(std::string_view text);

}  // namespace knob::parse
