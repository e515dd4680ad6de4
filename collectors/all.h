// SPDX-License-Identifier: Apache-2.0
#pragma once
// The one list of collectors. The daemon builds them once with MakeCollectors() and, each tick,
// calls Collect() on each in order on its collection worker thread. Discovery is element 0: it
// resolves selectors into TargetSnapshot::processes/state, which every later collector reads.
// Order after it: cpu, load, allocator, socket, cache.
//
// Integration contract for the daemon:
//  - Before the first Collect of a tick, put the latest AppReport into out.targets[name].app
//    (the cache and allocator collectors export app-reported values from it); discovery creates
//    missing TargetSnapshots itself.
//  - Pass CollectContext{policy, now, registered_pids}.
//  - A policy reload may keep the same collectors (they read cadences and targets from the
//    policy each tick) unless proc_root/sys_root changed, which needs a new Env.
// Thread rule: the returned collectors are used from one thread at a time.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "collectors/collector.h"
#include "core/env.h"

namespace knob {

std::vector<std::unique_ptr<Collector>> MakeCollectors(Env& env, prometheus::Registry& registry,
                                                       const Policy& policy);

// How many /proc fds ProcFs may keep open under an RLIMIT_NOFILE of `nofile_limit`: all but a
// reserve of max(1024, limit/8) (at most half the limit), capped at 262 144. 20 000 -> 17 500;
// 262 144 (the unit's LimitNOFILE) -> 229 376; 1 024 -> 512.
size_t KeptFdBudgetFor(uint64_t nofile_limit);

// An Env over the real host, owning its parts. proc/sys roots from policy.global.collection.
// Raises the soft RLIMIT_NOFILE to the hard limit (kept /proc fds; see all.cc). Must outlive
// the collectors built on it (the cache collector closes perf fds through it on destruction).
class RealEnv {
 public:
  explicit RealEnv(const Policy& policy);
  Env& env() { return env_; }

 private:
  RealProcFs procfs_;
  RealSockDiag sock_diag_;
  RealPerfEvents perf_;
  Env env_;
};

}  // namespace knob
