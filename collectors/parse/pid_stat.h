// SPDX-License-Identifier: Apache-2.0
#pragma once
// Parser for /proc/PID/stat and /proc/PID/task/TID/stat (proc(5)).
// Linux 6.18 excerpt (comm may hold spaces, parentheses, even a newline: parse from the LAST ')'):
//   5410 (bash) S 5402 5402 5399 0 -1 4194560 127 0 0 0 0 0 0 0 20 0 1 0 262512 7467008 851 ...
// Fields used (1-based as in proc(5)): 3 state, 4 ppid, 10 minflt, 12 majflt, 14 utime,
// 15 stime (clock ticks), 20 num_threads, 22 starttime (ticks since boot), 24 rss (pages),
// 39 processor (last CPU; absent before 2.2.8 so optional).
// Thread rule: pure function.

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace knob::parse {

struct PidStat {
  pid_t pid = 0;
  std::string comm;
  char state = '?';
  pid_t ppid = 0;
  uint64_t minflt = 0, majflt = 0;
  uint64_t utime_ticks = 0, stime_ticks = 0;
  int64_t num_threads = 0;
  uint64_t starttime_ticks = 0;
  int64_t rss_pages = 0;
  std::optional<int> processor;
};

Result<PidStat> ParsePidStat(std::string_view text);

}  // namespace knob::parse
