// SPDX-License-Identifier: Apache-2.0
#include "collectors/all.h"

#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <algorithm>

#include "collectors/allocator.h"
#include "collectors/cache.h"
#include "collectors/cpu.h"
#include "collectors/discovery.h"
#include "collectors/load.h"
#include "collectors/socket.h"

namespace knob {

std::vector<std::unique_ptr<Collector>> MakeCollectors(Env& env, prometheus::Registry& registry,
                                                       const Policy& /*policy*/) {
  std::vector<std::unique_ptr<Collector>> out;
  out.push_back(std::make_unique<Discovery>(env, registry));
  auto cpu = std::make_unique<CpuCollector>(env, registry);
  // The allocator reuses the cpu collector's /proc/PID/stat of this tick (it runs after it);
  // both live and die together in the returned vector.
  const ProcStatCache* stat = cpu->stat_cache();
  out.push_back(std::move(cpu));
  out.push_back(std::make_unique<LoadCollector>(env, registry));
  out.push_back(std::make_unique<AllocatorCollector>(env, registry, stat));
  out.push_back(std::make_unique<SocketCollector>(env, registry));
  out.push_back(std::make_unique<CacheCollector>(env, registry));
  return out;
}

size_t KeptFdBudgetFor(uint64_t nofile_limit) {
  // Reserve max(1024, limit/8) fds, but never more than half the limit.
  const uint64_t reserve = std::min(std::max<uint64_t>(1024, nofile_limit / 8), nofile_limit / 2);
  return static_cast<size_t>(std::min<uint64_t>(nofile_limit - reserve, 262144));
}

namespace {

// Kept /proc fds are what makes a tick open()-free, and a host with 20 000 threads wants about
// one per thread plus a handful per process: raise the soft RLIMIT_NOFILE to the hard limit and
// let ProcFs keep all of it but a reserve for sockets, perf events, logs and the control server.
// Past the budget a file is opened, read and closed on each visit (correct, just dearer).
size_t KeptFdBudget() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return 512;
  if (lim.rlim_cur < lim.rlim_max) {
    rlimit raised = lim;
    raised.rlim_cur = lim.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) lim = raised;
  }
  const size_t budget = KeptFdBudgetFor(static_cast<uint64_t>(lim.rlim_cur));
  spdlog::info("collectors: keeping up to {} /proc fds open (RLIMIT_NOFILE {})", budget,
               lim.rlim_cur);
  return budget;
}

}  // namespace

RealEnv::RealEnv(const Policy& policy)
    : procfs_(policy.global.collection.proc_root, policy.global.collection.sys_root,
              KeptFdBudget()),
      env_{SystemClock::Instance(), procfs_, sock_diag_, perf_} {}

}  // namespace knob
