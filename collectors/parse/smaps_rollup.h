// SPDX-License-Identifier: Apache-2.0
#pragma once
// Parser for /proc/PID/smaps_rollup (Linux >= 4.14): one header line then "Key: N kB" lines.
// Linux 6.18 excerpt:
//   55d0c5a6c000-7ffd4b5fe000 ---p 00000000 00:00 0                          [rollup]
//   Rss:                3404 kB
//   Pss:                 964 kB
//   Anonymous:           512 kB
//   Swap:                  0 kB
// Reading it walks every VMA of the process (cost grows with mappings); read at most once a tick.
// Thread rule: pure function.

#include <cstdint>
#include <string_view>

#include "core/status.h"

namespace knob::parse {

struct SmapsRollup {
  uint64_t rss_bytes = 0, pss_bytes = 0, anonymous_bytes = 0, swap_bytes = 0;
};

// Error when Rss or Pss is missing (an empty rollup is what a kernel thread gives).
Result<SmapsRollup> ParseSmapsRollup(std::string_view text);

}  // namespace knob::parse
