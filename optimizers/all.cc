// The one list of optimizers. An explicit table, not self-registering static initialisers: those
// vanish when linked from a static library. Adding an optimizer: its file pair, one line here,
// its scenario table in docs/model.md, its tests in tests/unit/optimizers/.

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
  return all;
}

}  // namespace knob
