// SPDX-License-Identifier: Apache-2.0
#pragma once
// What the control side may ask of the brain, as two small interfaces, so the control socket
// (knob_control) reaches the decision path without linking knob_optimizers. knobd's main wires
// one optimizers/brain_queries.h `BrainQueriesOver` (over the running Brain) into both roles.
// Thread rule: loop thread only.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/recommendation.h"
#include "core/status.h"

namespace knob {

// Where a delivery's fate goes: the target acked (applied / rejected), a set expired without an
// ack, or the control socket never delivered it (paused, observe mode, no client): kVetoed.
class OutcomeSink {
 public:
  virtual ~OutcomeSink() = default;
  virtual void OnOutcome(uint64_t recommendation_id, Outcome outcome,
                         const std::string& reason) = 0;
};

// A recommendation and one sentence per decision step: the reason, then each guard's verdict.
struct Explanation {
  Recommendation recommendation;
  std::vector<std::string> steps;
};

// One target's model as `knobctl show` prints it: "usl.alpha"-style numbers, plus notes for
// what is not a number (why there is no fit, penalties in force, the change being verified).
struct ModelView {
  std::map<std::string, double> model;
  std::vector<std::string> notes;
};

class BrainQueries {
 public:
  virtual ~BrainQueries() = default;
  // Newest first; `limit` 0 means all of them.
  virtual std::vector<Recommendation> History(const std::string& target, uint32_t limit) const = 0;
  // NotFound when no recommendation has this id.
  virtual Result<Explanation> Explain(uint64_t recommendation_id) const = 0;
  // nullopt when the brain has no model of `target` yet.
  virtual std::optional<ModelView> Model(const std::string& target) const = 0;
};

}  // namespace knob
