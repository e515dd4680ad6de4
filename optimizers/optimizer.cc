#include "optimizers/optimizer.h"

#include <algorithm>
#include <cmath>

#include "optimizers/concurrency_optimizer.h"
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

double KnobMin(const KnobPolicy& k, double fallback) { return k.min.value_or(fallback); }
double KnobMax(const KnobPolicy& k, double fallback) { return k.max.value_or(fallback); }

double MaxStep(double current, const KnobPolicy& k, const GuardSettings& g) {
  if (k.max_step_abs && !k.max_step_fraction) return *k.max_step_abs;
  double frac = k.max_step_fraction.value_or(g.default_max_step_fraction);
  double step = std::max(1.0, std::floor(std::fabs(current) * frac));
  if (k.max_step_abs) step = std::min(step, *k.max_step_abs);
  return step;
}

double OneStep(double current, int direction, const KnobPolicy& k, const GuardSettings& g) {
  double step = MaxStep(current, k, g);
  double v = current + direction * step;
  if (k.min) v = std::max(v, *k.min);
  if (k.max) v = std::min(v, *k.max);
  return v;
}

std::optional<double> P99LimitSeconds(const Constraints& c) {
  if (!c.p99_latency) return std::nullopt;
  return std::chrono::duration<double>(*c.p99_latency).count();
}

}  // namespace knob
