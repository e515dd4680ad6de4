// SPDX-License-Identifier: Apache-2.0
#pragma once
// The brain's memory of what it did (docs/model.md "History, decision log, persistence"): every
// recommendation by id and per target (oldest first, at most max_per_target each; trimming a
// target's oldest id forgets its record), the decision log (one sentence per step, at most
// max_log), and the id counter. Every outcome transition (Record, SetOutcome) is counted on
// BrainMetrics.
// Thread rule: loop thread only.

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/recommendation.h"
#include "optimizers/brain_metrics.h"
#include "optimizers/optimizer.h"

namespace knob {

// A knob value in a decision-log sentence: integers without decimals, else 3 significant digits.
std::string LogNumber(double v);
// "raised concurrency_limit of web from 32 to 40: <reason>" (decision-log sentence).
std::string DescribeStep(const std::string& target, const std::string& knob, double old_value,
                         double new_value, const std::string& reason);

class DecisionHistory {
 public:
  DecisionHistory(size_t max_per_target, size_t max_log, BrainMetrics& metrics)
      : max_per_target_(max_per_target), max_log_(max_log), metrics_(metrics) {}

  uint64_t NextId() { return next_id_++; }
  uint64_t next_id() const { return next_id_; }

  // Stores rec (its outcome counted), appended to its target's list.
  Recommendation& Record(Recommendation rec);
  void SetOutcome(Recommendation& rec, Outcome o, const std::string& reason);
  void Log(std::string sentence);

  Recommendation* Find(uint64_t id);
  const Recommendation* Find(uint64_t id) const;
  std::vector<Recommendation> Of(const std::string& target) const;  // oldest first
  const std::deque<uint64_t>* Ids(const std::string& target) const;
  const std::map<uint64_t, Recommendation>& records() const { return records_; }
  std::vector<std::string> DecisionLog() const { return {log_.begin(), log_.end()}; }

  // The knob's latest verified or rolled-back change (not a rollback), for the optimizers.
  std::optional<PastChange> LastJudgedChange(const std::string& target,
                                             const std::string& knob) const;
  // The knob's latest record is a veto of value for reason: the same proposal every tick is
  // not news.
  bool RepeatsVeto(const std::string& target, const std::string& knob, double value,
                   const std::string& reason) const;

  // Persistence: replaces every record (the id counter never goes below a record's id + 1),
  // then each target's list keeps only ids that have a record.
  void Restore(uint64_t next_id, std::vector<Recommendation> records);
  void RestoreIds(const std::string& target, const std::vector<uint64_t>& ids);

 private:
  size_t max_per_target_, max_log_;
  BrainMetrics& metrics_;
  uint64_t next_id_ = 1;
  std::map<uint64_t, Recommendation> records_;
  std::map<std::string, std::deque<uint64_t>> by_target_;
  std::deque<std::string> log_;
};

}  // namespace knob
