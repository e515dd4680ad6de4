// SPDX-License-Identifier: Apache-2.0
#pragma once
// Parser for /proc/PID/task/TID/schedstat (Documentation/scheduler/sched-stats.rst):
//   "<ns on cpu> <ns waiting on a runqueue> <timeslices run>\n"   e.g. "1187432 20871 7\n"
// /proc/PID/schedstat is the main thread's only; callers sum over threads.
// Thread rule: pure function.

#include <cstdint>
#include <string_view>

#include "core/status.h"

namespace knob::parse {

struct Schedstat {
  uint64_t run_ns = 0, wait_ns = 0, timeslices = 0;
};

Result<Schedstat> ParseSchedstat(std::string_view text);

}  // namespace knob::parse
