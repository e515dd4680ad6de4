// SPDX-License-Identifier: Apache-2.0
#include "core/perf_events.h"

#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "core/enum_names.h"

namespace knob {

namespace {

constexpr auto kPerfCounterNames =
    MakeEnumNames<PerfCounter>({{PerfCounter::kCacheReferences, "cache_references"},
                                {PerfCounter::kCacheMisses, "cache_misses"},
                                {PerfCounter::kLlcLoads, "llc_loads"},
                                {PerfCounter::kLlcLoadMisses, "llc_load_misses"},
                                {PerfCounter::kInstructions, "instructions"},
                                {PerfCounter::kCycles, "cycles"}},
                               "unknown");

}  // namespace

std::string_view PerfCounterName(PerfCounter c) { return kPerfCounterNames.Name(c); }

Result<int> RealPerfEvents::Open(pid_t tid, PerfCounter counter) {
  perf_event_attr attr;
  std::memset(&attr, 0, sizeof(attr));
  attr.size = sizeof(attr);
  auto cache = [](uint64_t id, uint64_t result) {
    return id | (PERF_COUNT_HW_CACHE_OP_READ << 8) | (result << 16);
  };
  switch (counter) {
    case PerfCounter::kCacheReferences:
      attr.type = PERF_TYPE_HARDWARE;
      attr.config = PERF_COUNT_HW_CACHE_REFERENCES;
      break;
    case PerfCounter::kCacheMisses:
      attr.type = PERF_TYPE_HARDWARE;
      attr.config = PERF_COUNT_HW_CACHE_MISSES;
      break;
    case PerfCounter::kLlcLoads:
      attr.type = PERF_TYPE_HW_CACHE;
      attr.config = cache(PERF_COUNT_HW_CACHE_LL, PERF_COUNT_HW_CACHE_RESULT_ACCESS);
      break;
    case PerfCounter::kLlcLoadMisses:
      attr.type = PERF_TYPE_HW_CACHE;
      attr.config = cache(PERF_COUNT_HW_CACHE_LL, PERF_COUNT_HW_CACHE_RESULT_MISS);
      break;
    case PerfCounter::kInstructions:
      attr.type = PERF_TYPE_HARDWARE;
      attr.config = PERF_COUNT_HW_INSTRUCTIONS;
      break;
    case PerfCounter::kCycles:
      attr.type = PERF_TYPE_HARDWARE;
      attr.config = PERF_COUNT_HW_CPU_CYCLES;
      break;
  }
  attr.inherit = 1;
  attr.exclude_kernel = 1;
  attr.exclude_hv = 1;
  attr.read_format = PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING;
  long fd = ::syscall(SYS_perf_event_open, &attr, tid, -1, -1, PERF_FLAG_FD_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    std::string what =
        "perf_event_open " + std::string(PerfCounterName(counter)) + " tid " + std::to_string(tid);
    // ENOENT means "no such event on this PMU", not "no such task" (that is ESRCH), so it must
    // not be read as a vanished process.
    if (err == ENOENT || err == EOPNOTSUPP || err == ENODEV) {
      return UnavailableError(what + ": " + std::strerror(err) + " (no hardware PMU or event)");
    }
    return ErrnoToStatus(err, what);
  }
  return static_cast<int>(fd);
}

Result<uint64_t> RealPerfEvents::Read(int handle) {
  uint64_t v[3] = {0, 0, 0};
  ssize_t n = ::read(handle, v, sizeof(v));
  if (n < 0) return ErrnoToStatus(errno, "perf read");
  if (n != static_cast<ssize_t>(sizeof(v))) return InternalError("perf read: short read");
  if (v[2] == 0) return uint64_t{0};
  if (v[2] >= v[1]) return v[0];
  return static_cast<uint64_t>(static_cast<double>(v[0]) * static_cast<double>(v[1]) /
                               static_cast<double>(v[2]));
}

void RealPerfEvents::Close(int handle) {
  if (handle >= 0) ::close(handle);
}

}  // namespace knob
