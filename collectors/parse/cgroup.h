// SPDX-License-Identifier: Apache-2.0
#pragma once
// Parsers for cgroup files.
// /proc/PID/cgroup, "hierarchy-ID:controllers:path" per line. This VM (hybrid, Linux 6.18):
//   9:name=systemd:/
//   4:memory:/process_api/189bb0ca94b652bb02f5a8a7748e7424
//   1:cpu:/
//   0::/
// Pure v2 hosts have only the "0::" line; pure v1 hosts have no "0::" line.
// cgroup v2 cpu.stat:  "usage_usec 37651353\nuser_usec ...\nnr_periods 0\nnr_throttled 0\n
//   throttled_usec 0\n" (the nr_* lines only when the cpu controller is enabled there).
// cgroup v2 cpu.max: "max 100000\n" or "50000 100000\n" (quota period, microseconds).
// Thread rule: pure functions.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace knob::parse {

struct PidCgroup {
  std::optional<std::string> unified;     // v2 path from the "0::" line
  std::map<std::string, std::string> v1;  // controller ("cpu", "name=systemd") -> path
};
Result<PidCgroup> ParsePidCgroup(std::string_view text);

struct CgroupCpuStat {
  std::optional<uint64_t> usage_usec, nr_periods, nr_throttled, throttled_usec;
};
Result<CgroupCpuStat> ParseCgroupCpuStat(std::string_view text);

// Quota in cores (quota/period); unset for "max".
Result<std::optional<double>> ParseCgroupCpuMax(std::string_view text);

}  // namespace knob::parse
