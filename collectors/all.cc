#include "collectors/all.h"

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
  out.push_back(std::make_unique<CpuCollector>(env, registry));
  out.push_back(std::make_unique<LoadCollector>(env, registry));
  out.push_back(std::make_unique<AllocatorCollector>(env, registry));
  out.push_back(std::make_unique<SocketCollector>(env, registry));
  out.push_back(std::make_unique<CacheCollector>(env, registry));
  return out;
}

RealEnv::RealEnv(const Policy& policy)
    : procfs_(policy.global.collection.proc_root, policy.global.collection.sys_root),
      env_{SystemClock::Instance(), procfs_, sock_diag_, perf_} {}

}  // namespace knob
