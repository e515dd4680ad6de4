// SPDX-License-Identifier: Apache-2.0
#include "optimizers/history.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/format.h"

namespace knob {

std::string LogNumber(double v) {
  return FormatNumber(v, NumberStyle{.significant = 3, .whole_tolerance = 1e-9});
}

std::string DescribeStep(const std::string& target, const std::string& knob, double old_value,
                         double new_value, const std::string& reason) {
  const char* verb =
      new_value > old_value ? "raised" : (new_value < old_value ? "lowered" : "kept");
  return fmt::format("{} {} of {} from {} to {}: {}", verb, knob, target, LogNumber(old_value),
                     LogNumber(new_value), reason);
}

Recommendation& DecisionHistory::Record(Recommendation rec) {
  uint64_t id = rec.id;
  std::deque<uint64_t>& ids = by_target_[rec.target];
  ids.push_back(id);
  while (ids.size() > max_per_target_) {
    records_.erase(ids.front());
    ids.pop_front();
  }
  Recommendation& stored = records_[id] = std::move(rec);
  metrics_.CountOutcome(stored.target, stored.knob, stored.outcome);
  return stored;
}

void DecisionHistory::SetOutcome(Recommendation& rec, Outcome o, const std::string& reason) {
  rec.outcome = o;
  rec.outcome_reason = reason;
  metrics_.CountOutcome(rec.target, rec.knob, o);
}

void DecisionHistory::Log(std::string sentence) {
  log_.push_back(std::move(sentence));
  while (log_.size() > max_log_) log_.pop_front();
}

Recommendation* DecisionHistory::Find(uint64_t id) {
  auto it = records_.find(id);
  return it == records_.end() ? nullptr : &it->second;
}

const Recommendation* DecisionHistory::Find(uint64_t id) const {
  auto it = records_.find(id);
  return it == records_.end() ? nullptr : &it->second;
}

const std::deque<uint64_t>* DecisionHistory::Ids(const std::string& target) const {
  auto it = by_target_.find(target);
  return it == by_target_.end() ? nullptr : &it->second;
}

std::vector<Recommendation> DecisionHistory::Of(const std::string& target) const {
  std::vector<Recommendation> out;
  if (const auto* ids = Ids(target))
    for (uint64_t id : *ids)
      if (const Recommendation* r = Find(id)) out.push_back(*r);
  return out;
}

std::optional<PastChange> DecisionHistory::LastJudgedChange(const std::string& target,
                                                            const std::string& knob) const {
  const auto* ids = Ids(target);
  if (!ids) return std::nullopt;
  // Newest first.
  for (size_t i = ids->size(); i-- > 0;) {
    const Recommendation* r = Find((*ids)[i]);
    if (!r || r->knob != knob || r->scenario == "rollback") continue;
    if (r->outcome != Outcome::kVerified && r->outcome != Outcome::kKept &&
        r->outcome != Outcome::kRolledBack)
      continue;
    PastChange c;
    c.old_value = r->old_value;
    c.new_value = r->new_value;
    // Kept is still a change that stayed; its improvement and signal-to-noise say it did nothing.
    c.verified = r->outcome == Outcome::kVerified || r->outcome == Outcome::kKept;
    if (auto it = r->realized.find("realized_improvement"); it != r->realized.end())
      c.improvement = it->second;
    if (auto it = r->realized.find("signal_to_noise"); it != r->realized.end())
      c.signal_to_noise = it->second;
    return c;
  }
  return std::nullopt;
}

bool DecisionHistory::RepeatsVeto(const std::string& target, const std::string& knob, double value,
                                  const std::string& reason) const {
  const auto* ids = Ids(target);
  if (!ids) return false;
  // Newest first.
  for (size_t i = ids->size(); i-- > 0;) {
    const Recommendation* prev = Find((*ids)[i]);
    if (!prev || prev->knob != knob) continue;
    return prev->outcome == Outcome::kVetoed && prev->new_value == value &&
           prev->outcome_reason == reason;
  }
  return false;
}

void DecisionHistory::Restore(uint64_t next_id, std::vector<Recommendation> records) {
  records_.clear();
  by_target_.clear();
  next_id_ = std::max<uint64_t>(next_id, 1);
  for (auto& r : records) {
    next_id_ = std::max(next_id_, r.id + 1);
    uint64_t id = r.id;
    records_[id] = std::move(r);
  }
}

void DecisionHistory::RestoreIds(const std::string& target, const std::vector<uint64_t>& ids) {
  std::deque<uint64_t>& list = by_target_[target];
  for (uint64_t id : ids)
    if (records_.count(id)) list.push_back(id);
}

}  // namespace knob
