// SPDX-License-Identifier: Apache-2.0
#pragma once
// The control side's two views of the brain (core/brain_queries.h) over Brain's public API:
// outcomes go to Brain::OnOutcome, history is turned newest first, explain turns the stored
// record into its steps, the model is flattened by FlattenModelSummary.
// Thread rule: loop thread only (like the Brain it reads).

#include "core/brain_queries.h"
#include "optimizers/brain.h"

namespace knob {

class BrainQueriesOver final : public OutcomeSink, public BrainQueries {
 public:
  // `brain` must outlive this object.
  explicit BrainQueriesOver(Brain& brain) : brain_(brain) {}

  void OnOutcome(uint64_t recommendation_id, Outcome outcome, const std::string& reason) override;
  std::vector<Recommendation> History(const std::string& target, uint32_t limit) const override;
  Result<Explanation> Explain(uint64_t recommendation_id) const override;
  std::optional<ModelView> Model(const std::string& target) const override;

 private:
  Brain& brain_;
};

}  // namespace knob
