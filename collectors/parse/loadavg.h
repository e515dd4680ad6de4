// SPDX-License-Identifier: Apache-2.0
#pragma once
// Parser for /proc/loadavg. Linux 6.18: "0.00 0.02 0.00 1/88 5390\n"
// (1, 5, 15 min load; runnable/total scheduling entities; last pid).
// Thread rule: pure function.

#include <cstdint>
#include <optional>
#include <string_view>

#include "core/status.h"

namespace knob::parse {

struct LoadAvg {
  double load1 = 0, load5 = 0, load15 = 0;
  uint64_t runnable = 0, total = 0;
  // The most recently allocated pid in knobd's pid namespace; absent when the field is missing.
  // Discovery compares it between ticks: unchanged means no process or thread was created.
  std::optional<uint64_t> last_pid;
};

Result<LoadAvg> ParseLoadAvg(std::string_view text);

}  // namespace knob::parse
