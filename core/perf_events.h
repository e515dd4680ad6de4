// SPDX-License-Identifier: Apache-2.0
#pragma once
// PerfEvents: hardware counters (cache references/misses, LLC, instructions, cycles) through
// perf_event_open(2), behind an interface so the cache collector is tested with a fake on
// machines that have a PMU and on machines (like CI VMs) that do not.
//
// Errors map as the kernel means them: ENOENT / EOPNOTSUPP / ENODEV -> Unavailable (no such
// event on this PMU, or no PMU), EACCES / EPERM -> PermissionDenied (perf_event_paranoid or
// missing CAP_PERFMON), ESRCH -> NotFound (the task is gone).
//
// Thread rule: one instance per collection thread.

#include <sys/types.h>

#include <cstdint>

#include "core/status.h"

namespace knob {

enum class PerfCounter {
  kCacheReferences,
  kCacheMisses,
  kLlcLoads,
  kLlcLoadMisses,
  kInstructions,
  kCycles,
};
inline constexpr int kPerfCounterCount = 6;
std::string_view PerfCounterName(PerfCounter c);  // "cache_references" ...

class PerfEvents {
 public:
  virtual ~PerfEvents() = default;
  // Counts `counter` for thread `tid` on any CPU, with inherit=1 so threads it creates later are
  // counted too. Returns an fd-like handle owned by the caller (pass to Read/Close).
  virtual Result<int> Open(pid_t tid, PerfCounter counter) = 0;
  // Current count, scaled for multiplexing (count * enabled / running).
  virtual Result<uint64_t> Read(int handle) = 0;
  virtual void Close(int handle) = 0;
};

class RealPerfEvents final : public PerfEvents {
 public:
  Result<int> Open(pid_t tid, PerfCounter counter) override;
  Result<uint64_t> Read(int handle) override;
  void Close(int handle) override;
};

}  // namespace knob
