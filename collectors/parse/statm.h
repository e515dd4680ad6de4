// SPDX-License-Identifier: Apache-2.0
#pragma once
// Parser for /proc/PID/statm (proc(5)): sizes in pages, one line. Linux 6.18:
//   "1823 851 597 226 0 250 0\n"   size resident shared text lib data dt
// resident - shared is the anonymous resident part (shared = file-backed + shmem).
// The cheapest memory file procfs has (no VMA walk), so it is read every tick.
// Thread rule: pure function.

#include <cstdint>
#include <string_view>

#include "core/status.h"

namespace knob::parse {

struct Statm {
  uint64_t size_pages = 0, resident_pages = 0, shared_pages = 0;
};

Result<Statm> ParseStatm(std::string_view text);

}  // namespace knob::parse
