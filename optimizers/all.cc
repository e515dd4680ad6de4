// SPDX-License-Identifier: Apache-2.0
// The one list of optimizers. An explicit table, not self-registering static initialisers: those
// vanish when linked from a static library. Adding an optimizer: its file pair, one line here,
// its scenario table in docs/model.md, its tests in tests/unit/optimizers/.
//
// Who owns which knob (Optimizer::Owns; exactly one owner each, the brain asks only it):
//   concurrency_limit, max_in_flight, max_concurrency         ConcurrencyOptimizer
//   worker_threads, cpu_affinity_mask, scheduling_strategy,    SchedulingOptimizer (worker_threads:
//   allowed_cpus, cpu_quota_percent                            its CPU rule, then the workers
//                                                              pool's Erlang C proposal)
//   NAME_pool, NAME_pool_size, NAME_connections                PoolSizeOptimizer
//   cache_bytes, NAME_cache_bytes                              CacheSizeOptimizer
// The periodic re-probe (ReprobeOptimizer, reprobe_optimizer.h) is an Optimizer that owns no
// knob: the brain asks it only on a re-probe turn, so it is not listed.

#include "optimizers/cache_size_optimizer.h"
#include "optimizers/concurrency_optimizer.h"
#include "optimizers/optimizer.h"
#include "optimizers/pool_size_optimizer.h"
#include "optimizers/scheduling_optimizer.h"

namespace knob {

std::vector<std::unique_ptr<Optimizer>> AllOptimizers() {
  std::vector<std::unique_ptr<Optimizer>> all;
  all.push_back(std::make_unique<ConcurrencyOptimizer>());
  all.push_back(std::make_unique<SchedulingOptimizer>());
  all.push_back(std::make_unique<PoolSizeOptimizer>());
  all.push_back(std::make_unique<CacheSizeOptimizer>());
  return all;
}

}  // namespace knob
