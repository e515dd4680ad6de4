// SPDX-License-Identifier: Apache-2.0
// libFuzzer entry point for the pure /proc and cgroup parsers (collectors/parse/). The first
// byte picks the parser, the rest is the file text, so one corpus covers all of them.
// Build and run: see the "Fuzzing" section of docs/architecture.md.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "collectors/parse/cgroup.h"
#include "collectors/parse/loadavg.h"
#include "collectors/parse/netstat.h"
#include "collectors/parse/pid_stat.h"
#include "collectors/parse/pid_status.h"
#include "collectors/parse/pressure.h"
#include "collectors/parse/proc_stat.h"
#include "collectors/parse/schedstat.h"
#include "collectors/parse/smaps_rollup.h"
#include "collectors/parse/statm.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  using namespace knob::parse;
  switch (data[0] % 12) {
    case 0:
      (void)ParsePidStat(text);
      break;
    case 1:
      (void)ParsePidStatus(text);
      break;
    case 2:
      (void)ParseSchedstat(text);
      break;
    case 3:
      (void)ParseSmapsRollup(text);
      break;
    case 4:
      (void)ParseStatm(text);
      break;
    case 5:
      (void)ParseProcStat(text);
      break;
    case 6:
      (void)ParseLoadAvg(text);
      break;
    case 7:
      (void)ParsePressure(text);
      break;
    case 8:
      (void)ParsePidCgroup(text);
      break;
    case 9:
      (void)ParseCgroupCpuStat(text);
      break;
    case 10:
      (void)ParseCgroupCpuMax(text);
      break;
    case 11:
      (void)ParseNetstatListen(text);
      break;
  }
  return 0;
}
