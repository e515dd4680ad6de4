// SPDX-License-Identifier: Apache-2.0
#include "optimizers/optimizer.h"

#include <algorithm>
#include <cmath>

namespace knob {

std::vector<Proposal> Optimizer::Candidates(const OptimizerInput& in) const {
  std::vector<Proposal> out;
  if (auto p = Propose(in)) out.push_back(std::move(*p));
  return out;
}

std::map<std::string, double> Optimizer::Predict(const TargetModel& model, std::string_view knob,
                                                 double value) const {
  (void)model;
  (void)knob;
  (void)value;
  return {};
}

const Optimizer* OwnerOf(const std::vector<std::unique_ptr<Optimizer>>& all,
                         std::string_view knob) {
  for (const auto& o : all)
    if (o->Owns(knob)) return o.get();
  return nullptr;
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
