// SPDX-License-Identifier: Apache-2.0
#pragma once
// Parser for /proc/PID/status (and task/TID/status): "Key:\tvalue" lines, units in kB.
// Linux 6.18 excerpt:
//   Name:	bash
//   Threads:	1
//   VmRSS:	    3404 kB
//   RssAnon:	     512 kB
//   VmSwap:	       0 kB
//   Cpus_allowed_list:	0-1
//   voluntary_ctxt_switches:	3
//   nonvoluntary_ctxt_switches:	0
// Kernel threads have no Vm* lines; RssAnon appeared in 4.5; the ctxt switch counts describe
// the one task whose file this is (for /proc/PID/status: the main thread only).
// Thread rule: pure function.

#include <cstdint>
#include <optional>
#include <string_view>

#include "core/status.h"

namespace knob::parse {

struct PidStatus {
  std::optional<uint64_t> threads;
  std::optional<uint64_t> vm_rss_bytes, rss_anon_bytes, vm_swap_bytes;
  std::optional<uint64_t> voluntary_ctxt_switches, nonvoluntary_ctxt_switches;
  std::optional<uint32_t> cpus_allowed;  // count of CPUs in Cpus_allowed_list
};

// Unknown keys are ignored; an empty file or a known key with a malformed value is an error.
Result<PidStatus> ParsePidStatus(std::string_view text);

// Counts CPUs in a list like "0-3,8,10-11". Unset when malformed.
std::optional<uint32_t> CountCpuList(std::string_view list);

}  // namespace knob::parse
