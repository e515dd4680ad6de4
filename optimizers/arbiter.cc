// SPDX-License-Identifier: Apache-2.0
#include "optimizers/arbiter.h"

#include <algorithm>

namespace knob {

void RankCandidates(std::vector<Candidate>& candidates) {
  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const Candidate& a, const Candidate& b) {
                     const Proposal& x = a.proposal;
                     const Proposal& y = b.proposal;
                     if (x.fixes_violation != y.fixes_violation) return x.fixes_violation;
                     if (x.exploratory != y.exploratory) return !x.exploratory;
                     return x.expected_gain * x.confidence > y.expected_gain * y.confidence;
                   });
}

}  // namespace knob
