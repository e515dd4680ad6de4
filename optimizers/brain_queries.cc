// SPDX-License-Identifier: Apache-2.0
#include "optimizers/brain_queries.h"

#include <algorithm>

#include "optimizers/model_summary.h"

namespace knob {

void BrainQueriesOver::OnOutcome(uint64_t recommendation_id, Outcome outcome,
                                 const std::string& reason) {
  brain_.OnOutcome(recommendation_id, outcome, reason);
}

std::vector<Recommendation> BrainQueriesOver::History(const std::string& target,
                                                      uint32_t limit) const {
  // The brain keeps history oldest first; operators read the newest first (docs/protocol.md).
  std::vector<Recommendation> all = brain_.History(target);
  std::reverse(all.begin(), all.end());
  if (limit > 0 && all.size() > limit) all.resize(limit);
  return all;
}

Result<Explanation> BrainQueriesOver::Explain(uint64_t recommendation_id) const {
  std::optional<Recommendation> rec = brain_.Find(recommendation_id);
  if (!rec) return NotFoundError("no recommendation " + std::to_string(recommendation_id));
  Explanation out;
  out.steps.push_back(rec->reason);
  for (const auto& v : rec->verdicts) {
    out.steps.push_back(v.guard + ": " + std::string(VerdictName(v.verdict)) + " (" + v.reason +
                        ")");
  }
  out.recommendation = std::move(*rec);
  return out;
}

std::optional<ModelView> BrainQueriesOver::Model(const std::string& target) const {
  std::optional<ModelSummary> m = brain_.Model(target);
  if (!m) return std::nullopt;
  return FlattenModelSummary(*m);
}

}  // namespace knob
