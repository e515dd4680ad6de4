// SPDX-License-Identifier: Apache-2.0
#include "optimizers/change_tracker.h"

#include <fmt/format.h>

#include <algorithm>

#include "optimizers/verify.h"

namespace knob {

Duration ChangeLifetime(const GuardSettings& g) {
  return std::max<Duration>(3 * g.verification_window, 2 * g.cooldown);
}

void ChangeTracker::Start(const Recommendation& r, double from, bool is_reprobe,
                          bool fixes_violation, std::map<std::string, double> baseline_knobs,
                          const GuardSettings& g, MonoTime now) {
  KnobHistory& kh = knobs_[r.knob];
  KnobHistory prior = kh;
  active_ = Active{r.id,
                   r.knob,
                   r.old_value,
                   r.new_value,
                   now,
                   std::nullopt,
                   now + ChangeLifetime(g),
                   false,
                   is_reprobe,
                   fixes_violation,
                   std::move(prior),
                   std::move(baseline_knobs),
                   r.old_list,
                   r.new_list};
  kh.Charge(from, r.new_value, now);
}

std::optional<Recommendation> ChangeTracker::Track(const TargetPolicy& tp, const GuardSettings& g,
                                                   const TargetSnapshot& ts, MonoTime now,
                                                   WallTime wall_now, TargetModel& model,
                                                   DecisionHistory& history,
                                                   BrainMetrics& metrics) {
  Active& a = *active_;
  Recommendation* found = history.Find(a.id);
  if (!found) {
    active_.reset();
    return std::nullopt;
  }
  Recommendation& rec = *found;
  if (!a.applied) {
    auto cur = ts.app->knobs.find(a.knob);
    auto cur_list = ts.app->knob_lists.find(a.knob);
    const bool reports_new =
        a.new_list.empty() ? cur != ts.app->knobs.end() && cur->second == a.new_value
                           : cur_list != ts.app->knob_lists.end() && cur_list->second == a.new_list;
    if (reports_new) {
      a.applied = now;
      history.SetOutcome(rec, Outcome::kApplied, "the target reports the new value");
    } else if (now >= a.expires) {
      history.SetOutcome(rec, Outcome::kExpired, "not applied before it expired");
      history.Log(fmt::format("gave up on {} of {} = {}: not applied before it expired", a.knob,
                              tp.name, LogNumber(a.new_value)));
      active_.reset();
      return std::nullopt;
    } else {
      return std::nullopt;
    }
  }
  if (a.is_rollback) {
    history.SetOutcome(rec, Outcome::kVerified, "the old value is restored");
    knobs_[a.knob].last_change = *a.applied;
    active_.reset();
    return std::nullopt;
  }
  VerifyResult v = JudgeChange(tp, g, model,
                               AppliedChange{a.knob, a.old_value, a.new_value, a.sent, *a.applied,
                                             a.fixes_violation, a.baseline_knobs, rec.predicted},
                               now);
  if (v.kind == VerifyResult::Kind::kWait) return std::nullopt;
  rec.realized = v.realized;
  for (auto& t : v.trade_offs) rec.trade_offs.push_back("realized: " + t);
  metrics.SetRealized(tp.name, a.knob, v.realized);
  if (v.kind == VerifyResult::Kind::kVerified) {
    history.SetOutcome(rec, Outcome::kVerified, v.reason);
    history.Log(fmt::format("verified {} of {} = {}: {}", a.knob, tp.name, LogNumber(a.new_value),
                            v.reason));
    active_.reset();
    return std::nullopt;
  }
  if (v.kind == VerifyResult::Kind::kKept) {
    history.SetOutcome(rec, Outcome::kKept, v.reason);
    history.Log(
        fmt::format("kept {} of {} = {}: {}", a.knob, tp.name, LogNumber(a.new_value), v.reason));
    const double snr = v.realized.count("signal_to_noise") ? v.realized.at("signal_to_noise") : 0;
    const double gain =
        v.realized.count("realized_improvement") ? v.realized.at("realized_improvement") : 0;
    if (!v.predicted_gain)
      knobs_[a.knob].no_effect = KnobHistory::NoEffect{
          a.old_value, a.new_value, now,
          fmt::format("{} to {} (objective {:+.1f}%, signal-to-noise {:.1f} < {:.1f})",
                      LogNumber(a.old_value), LogNumber(a.new_value), 100 * gain, snr,
                      g.min_signal_to_noise)};
    active_.reset();
    return std::nullopt;
  }
  // Roll back at once and penalize the region beyond the bad value.
  history.SetOutcome(rec, Outcome::kRolledBack, v.reason);
  Penalty pen = RollbackPenalty(g, model, a.knob, a.old_value, a.new_value, a.is_reprobe, now);
  pen.reason = fmt::format("#{} rolled back: {}", a.id, v.reason);
  model.Penalize(a.knob, pen);
  return RollBack(tp, g, ts, now, wall_now, rec, v.reason, v.realized, history, metrics);
}

std::optional<Recommendation> ChangeTracker::RollBack(
    const TargetPolicy& tp, const GuardSettings& g, const TargetSnapshot& ts, MonoTime now,
    WallTime wall_now, const Recommendation& rec, const std::string& why,
    const std::map<std::string, double>& realized, DecisionHistory& history,
    BrainMetrics& metrics) {
  const Active a = *active_;
  Recommendation rb;
  rb.id = history.NextId();
  rb.target = tp.name;
  rb.knob = a.knob;
  rb.old_value = a.new_value;
  rb.new_value = a.old_value;
  rb.old_list = a.new_list;
  rb.new_list = a.old_list;
  rb.optimizer = rec.optimizer;
  rb.scenario = "rollback";
  rb.reason = a.new_list.empty()
                  ? DescribeStep(tp.name, a.knob, a.new_value, a.old_value,
                                 fmt::format("rolled back #{}: {}", a.id, why))
                  : fmt::format("set {} of {} from {} back to {}: rolled back #{}: {}", a.knob,
                                tp.name, a.new_list, a.old_list, a.id, why);
  rb.triggers = realized;
  rb.predicted = {};
  rb.confidence = 1.0;
  rb.verdicts.push_back({"verification", Verdict::kVeto, why});
  rb.advisory = tp.mode != Mode::kApply;
  rb.outcome = rb.advisory ? Outcome::kAdvisory : Outcome::kPending;
  rb.created = wall_now;
  Duration life = ChangeLifetime(g);
  rb.expires = rb.created + std::chrono::duration_cast<WallTime::duration>(life);
  history.Log(rb.reason);
  KnobHistory& kh = knobs_[a.knob];
  KnobHistory prior = kh;
  kh.Charge(a.new_value, a.old_value, now);
  active_ = Active{rb.id,      a.knob,       a.new_value,      a.old_value,
                   now,        std::nullopt, now + life,       true,
                   false,      false,        std::move(prior), TunedSettings(tp, *ts.app),
                   a.new_list, a.old_list};
  metrics.SetRecommended(tp.name, a.knob, a.old_value);
  return history.Record(std::move(rb));
}

void ChangeTracker::OnOutcome(Recommendation& rec, Outcome outcome, const std::string& reason,
                              MonoTime now, Duration delivery_hold, DecisionHistory& history) {
  const bool is_active = active_ && active_->id == rec.id;
  switch (outcome) {
    case Outcome::kApplied:
      if (is_active && !active_->applied) {
        active_->applied = now;
        history.SetOutcome(rec, Outcome::kApplied, reason.empty() ? "acked as applied" : reason);
      }
      break;
    case Outcome::kRejected:
    case Outcome::kExpired:
      if (rec.outcome == Outcome::kVerified || rec.outcome == Outcome::kKept ||
          rec.outcome == Outcome::kRolledBack)
        break;
      history.SetOutcome(rec, outcome, reason);
      history.Log(fmt::format("{} of {} = {} was {}: {}", rec.knob, rec.target,
                              LogNumber(rec.new_value), OutcomeName(outcome), reason));
      if (is_active) active_.reset();
      break;
    case Outcome::kVetoed:
      // Never delivered (operator pause, observe mode): nothing changed on the target, so
      // nothing may stay charged to the knob, and nothing is left to wait for.
      if (rec.outcome == Outcome::kVerified || rec.outcome == Outcome::kKept ||
          rec.outcome == Outcome::kRolledBack)
        break;
      history.SetOutcome(rec, Outcome::kVetoed, reason.empty() ? "not delivered" : reason);
      history.Log(fmt::format("{} of {} = {} was not delivered: {}", rec.knob, rec.target,
                              LogNumber(rec.new_value), rec.outcome_reason));
      if (is_active && !active_->applied) {
        knobs_[active_->knob] = std::move(active_->prior_history);
        active_.reset();
        hold_until_ = now + delivery_hold;
      }
      break;
    default:
      history.SetOutcome(rec, outcome, reason);
      break;
  }
}

}  // namespace knob
