// SPDX-License-Identifier: Apache-2.0
#pragma once
// The brain's Prometheus series (docs/metrics.md): one object per brain, every method a no-op
// when the brain runs without a registry or the registration failed (a family name taken with
// another type: the brain then runs without its metrics rather than taking the daemon down).
//   knobd_recommendations_total{target,knob,outcome}   counter, one per outcome transition
//   knobd_recommended_value{target,knob}               gauge, last recommended value
//   knobd_predicted_<unit>{target,knob,quantity}       gauge, prediction of the last change
//   knobd_realized_<unit>{target,knob,quantity}        gauge, measured after verification
//     (<unit>: requests_per_second, seconds, cores, bytes, ratio: one unit per name)
//   knobd_model_usl_peak_concurrency{target}           gauge, N* (absent without a peak)
//   knobd_model_fit_r_squared{target,model}            gauge
//   knobd_model_confidence{target,model}               gauge, 0..1
//   knobd_model_workload_shifts_total{target}          counter
//   knobd_model_observations{target}                   gauge, observations held (restored too)
//   knobd_model_penalized_regions{target,knob}         gauge, active penalties from rollbacks
// Thread rule: loop thread only.

#include <map>
#include <memory>
#include <string>

#include "core/clock.h"
#include "core/recommendation.h"
#include "optimizers/models/target_model.h"

namespace prometheus {
class Registry;
}  // namespace prometheus

namespace knob {

class BrainMetrics {
 public:
  // registry may be null: then nothing is exported.
  explicit BrainMetrics(prometheus::Registry* registry);
  ~BrainMetrics();
  BrainMetrics(const BrainMetrics&) = delete;
  BrainMetrics& operator=(const BrainMetrics&) = delete;

  void CountOutcome(const std::string& target, const std::string& knob, Outcome outcome);
  void SetRecommended(const std::string& target, const std::string& knob, double value);
  // Finite values only.
  void SetPredicted(const std::string& target, const std::string& knob,
                    const std::map<std::string, double>& predicted);
  void SetRealized(const std::string& target, const std::string& knob,
                   const std::map<std::string, double>& realized);
  // The model gauges of one target; penalties are counted as active at now.
  void ExportModel(const std::string& target, const TargetModel& m, MonoTime now);

 private:
  struct Families;
  std::unique_ptr<Families> f_;
  std::map<std::string, uint64_t> shifts_seen_;
};

}  // namespace knob
