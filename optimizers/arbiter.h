// SPDX-License-Identifier: Apache-2.0
#pragma once
// Arbitration (docs/model.md "Arbitration"): a target's proposals, best first. Violation fixes
// first, then model-based before exploratory, then by expected gain x confidence; ties keep the
// order they were proposed in (knobs in policy order, each knob's candidates in its owner's
// scenario order). The brain sends the first one the guard allows: one change per target.
// Thread rule: stateless.

#include <utility>
#include <vector>

#include "config/policy.h"
#include "optimizers/optimizer.h"

namespace knob {

struct Candidate {
  Proposal proposal;
  KnobPolicy knob_policy;
};

void RankCandidates(std::vector<Candidate>& candidates);

}  // namespace knob
