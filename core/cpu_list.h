// SPDX-License-Identifier: Apache-2.0
#pragma once
// A set of CPUs in the kernel's list format ("0-3,8", as in cpuset.cpus, /sys/devices/system/
// cpu/online and systemd's AllowedCPUs=), the value of a list-valued knob (docs/protocol.md).
// A list, not a 64-bit mask, so hosts with more than 64 CPUs are covered.
// Thread rule: pure functions, any thread.

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace knob {

// Cores named by the list, sorted and without duplicates. Accepts what the kernel writes
// (ranges, single cores, commas, a trailing newline); an empty list, a reversed range or a core
// above kMaxCpu is an error that quotes the text.
inline constexpr int kMaxCpu = 65535;
Result<std::vector<int>> ParseCpuList(std::string_view text);

// The canonical form: ascending, runs of three or more as ranges ("0-3,8"), pairs as "4,5".
std::string FormatCpuList(const std::vector<int>& cpus);

}  // namespace knob
