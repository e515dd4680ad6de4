// SPDX-License-Identifier: Apache-2.0
#pragma once
// The brain as the tick sees it: observe a snapshot, decide at most one knob change per target,
// learn from outcomes, persist what was learned. The implementation (optimizers/brain.h) owns
// the per-target models, the optimizers, the guards and the history.
// Thread rule: loop thread only.

#include <cstdint>
#include <string>
#include <vector>

#include "config/policy.h"
#include "core/clock.h"
#include "core/recommendation.h"
#include "core/snapshot.h"
#include "core/status.h"

namespace knob {

class Decider {
 public:
  virtual ~Decider() = default;
  virtual void Observe(const Policy& policy, const Snapshot& snapshot) = 0;
  // Recommendations allowed by the guards (vetoed ones are recorded in history, not returned).
  virtual std::vector<Recommendation> Decide(const Policy& policy, const Snapshot& snapshot) = 0;
  // The target acked (applied/rejected) or the recommendation expired.
  virtual void OnOutcome(uint64_t recommendation_id, Outcome outcome,
                         const std::string& reason) = 0;
  // `knobctl restore`, restore_on_stop: one binding set per knob knobd changed on `target` (every
  // target when empty), back to the value it had before knobd first changed it. The caller
  // publishes them. A decider that changes nothing has nothing to restore.
  virtual std::vector<Recommendation> Restore(const Policy& policy, const std::string& target) {
    (void)policy;
    (void)target;
    return {};
  }
  virtual Status Save(const std::string& state_dir) const = 0;
  virtual Status Load(const std::string& state_dir) = 0;
};

}  // namespace knob
