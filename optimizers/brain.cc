// SPDX-License-Identifier: Apache-2.0
#include "optimizers/brain.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "optimizers/brain_state.h"
#include "optimizers/verify.h"

namespace knob {
namespace {

// A guard veto may already read as a hold; `knobctl show` adds the words itself.
constexpr std::string_view kHoldingStill = "holding still: ";

Duration ToDuration(double seconds) {
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(seconds));
}

// The rollback is the change tracker's scenario; listed with the guard's, as it always was.
constexpr Scenario kRollbackScenario{"rollback",
                                     "the verification window found the objective "
                                     "worse beyond noise, a constraint violated or "
                                     "p99 regressed: restore the old value"};

}  // namespace

Brain::Brain(Clock& clock, prometheus::Registry* registry, BrainOptions options)
    : clock_(clock),
      options_(options),
      optimizers_(AllOptimizers()),
      metrics_(registry),
      override_metrics_(registry),
      history_(options.max_history_per_target, options.max_decision_log, metrics_),
      reprobe_schedule_(options.reprobe_interval, options.seed),
      reprobe_(optimizers_) {}

Brain::~Brain() = default;

void Brain::Observe(const Policy& policy, const Snapshot& snapshot) {
  for (const auto& tp : policy.targets) {
    auto it = snapshot.targets.find(tp.name);
    if (it == snapshot.targets.end() || it->second.state != TargetState::kActive) continue;
    TargetRuntime& rt = targets_[tp.name];
    rt.model.Observe(it->second, snapshot.host, snapshot.time);
    metrics_.ExportModel(tp.name, rt.model, clock_.Now());
  }
}

std::vector<Recommendation> Brain::Decide(const Policy& policy, const Snapshot& snapshot) {
  std::vector<Recommendation> out;
  const GuardSettings& g = policy.global.guard;
  delivery_hold_ = g.cooldown;
  for (const auto& tp : policy.targets) {
    auto it = snapshot.targets.find(tp.name);
    if (it == snapshot.targets.end()) continue;
    const TargetSnapshot& ts = it->second;
    if (ts.state != TargetState::kActive || !ts.app) continue;
    if (tp.mode == Mode::kObserve) {
      // Nothing is sent to it (observe, or paused by the operator), so nothing seen is a fight;
      // resuming starts from what it reports now.
      if (auto rt = targets_.find(tp.name); rt != targets_.end())
        rt->second.overrides.Settle(ts.app->knobs, snapshot.time);
      continue;
    }
    TargetRuntime& rt = targets_[tp.name];
    CheckOverrides(tp, g, ts, snapshot.time, rt);
    if (rt.change.InFlight()) {
      rt.still.clear();
      rt.kept.clear();
      if (auto r = rt.change.Track(tp, g, ts, snapshot.time, clock_.WallNow(), rt.model, history_,
                                   metrics_))
        out.push_back(std::move(*r));
      if (rt.change.InFlight()) continue;  // one change in flight per target: attributable
      if (!out.empty() && out.back().target == tp.name) continue;
    }
    if (auto r = Step(tp, g, ts, snapshot.host, snapshot.time, rt)) out.push_back(std::move(*r));
  }
  // Every set knobd publishes, rollbacks and advisory ones too, is a value it may see reported.
  for (const Recommendation& r : out)
    targets_[r.target].overrides.Sent(r.knob, r.old_value, r.new_value,
                                      snapshot.time + ChangeLifetime(g));
  return out;
}

void Brain::CheckOverrides(const TargetPolicy& tp, const GuardSettings& g, const TargetSnapshot& ts,
                           MonoTime now, TargetRuntime& rt) {
  // Only knobs knobd tunes: a change of anything else is not a fight over it.
  std::map<std::string, double> tuned;
  for (const auto& [knob, kp] : tp.knobs)
    if (auto v = ts.app->knobs.find(knob); kp.enabled && v != ts.app->knobs.end())
      tuned.emplace(knob, v->second);
  for (const OverrideHold::Override& o : rt.overrides.Check(tuned, now, g.override_hold)) {
    const std::string held =
        g.override_hold > Duration::zero()
            ? fmt::format("knobd leaves it alone for {}s, then re-learns from {}",
                          LogNumber(ToSeconds(g.override_hold)), LogNumber(o.reported))
            : fmt::format("knobd re-learns from {} (override_hold is 0)", LogNumber(o.reported));
    Recommendation r;
    r.id = history_.NextId();
    r.target = tp.name;
    r.knob = o.knob;
    r.old_value = o.expected;
    r.new_value = o.reported;
    r.optimizer = "operator";
    r.scenario = "override";
    r.reason = fmt::format("{} of {} changed from {} to {} by someone other than knobd: {}", o.knob,
                           tp.name, LogNumber(o.expected), LogNumber(o.reported), held);
    r.advisory = false;
    r.outcome = Outcome::kOverridden;
    r.outcome_reason = "an operator, a deploy or the service itself set this value";
    r.created = clock_.WallNow();
    r.expires = r.created;
    history_.Log(r.reason);
    override_metrics_.Count(tp.name, o.knob);
    // A change of this knob in flight would be judged against a value knobd did not set, and a
    // rollback would undo the operator: give it up.
    if (auto id = rt.change.active_id())
      if (Recommendation* active = history_.Find(*id); active && active->knob == o.knob)
        rt.change.OnOutcome(*active, Outcome::kExpired,
                            "given up: " + o.knob + " was changed by someone other than knobd", now,
                            delivery_hold_, history_);
    history_.Record(std::move(r));
  }
  override_metrics_.Export(tp.name, rt.overrides, now);
}

std::vector<Recommendation> Brain::Restore(const Policy& policy, const std::string& target) {
  std::vector<Recommendation> out;
  const GuardSettings& g = policy.global.guard;
  MonoTime now = clock_.Now();
  for (auto& [name, rt] : targets_) {
    if (!target.empty() && name != target) continue;
    for (const auto& [knob, original] : rt.overrides.originals()) {
      std::optional<double> cur = rt.overrides.Current(knob);
      if (!cur || OverrideHold::Matches(*cur, original)) continue;
      // Asked twice before the target reported the first restore's value: it is on its way.
      if (rt.overrides.Sending(knob, original, now)) continue;
      if (auto id = rt.change.active_id())
        if (Recommendation* active = history_.Find(*id); active && active->knob == knob)
          rt.change.OnOutcome(*active, Outcome::kExpired, "given up: the operator restored " + knob,
                              now, delivery_hold_, history_);
      Recommendation r;
      r.id = history_.NextId();
      r.target = name;
      r.knob = knob;
      r.old_value = *cur;
      r.new_value = original;
      r.optimizer = "operator";
      r.scenario = std::string(kRestoreScenario);
      r.reason = fmt::format(
          "restored {} of {} from {} to {}, its value before knobd first "
          "changed it",
          knob, name, LogNumber(*cur), LogNumber(original));
      r.advisory = false;  // the operator's order, binding in any mode
      r.outcome = Outcome::kPending;
      r.created = clock_.WallNow();
      r.expires = r.created + std::chrono::duration_cast<WallTime::duration>(ChangeLifetime(g));
      history_.Log(r.reason);
      out.push_back(history_.Record(std::move(r)));
    }
    for (const Recommendation& r : out)
      if (r.target == name)
        rt.overrides.Sent(r.knob, r.old_value, r.new_value, now + ChangeLifetime(g));
  }
  return out;
}

Recommendation Brain::MakeRecommendation(const TargetPolicy& tp, const GuardSettings& g,
                                         const Proposal& p, double value) {
  Recommendation r;
  r.id = history_.NextId();
  r.target = tp.name;
  r.knob = p.knob;
  r.old_value = p.current;
  r.new_value = value;
  r.old_list = p.current_list;
  r.new_list = p.value_list;
  r.optimizer = p.optimizer;
  r.scenario = p.scenario;
  r.reason = p.value_list.empty() ? DescribeStep(tp.name, p.knob, p.current, value, p.reason)
                                  : fmt::format("set {} of {} from {} to {}: {}", p.knob, tp.name,
                                                p.current_list, p.value_list, p.reason);
  r.triggers = p.triggers;
  r.predicted = p.predicted;
  r.binding_constraint = p.binding_constraint;
  r.confidence = p.confidence;
  r.trade_offs = p.trade_offs;
  r.advisory = tp.mode != Mode::kApply;
  r.outcome = r.advisory ? Outcome::kAdvisory : Outcome::kPending;
  r.created = clock_.WallNow();
  r.expires = r.created + std::chrono::duration_cast<WallTime::duration>(ChangeLifetime(g));
  return r;
}

std::optional<Recommendation> Brain::Step(const TargetPolicy& tp, const GuardSettings& g,
                                          const TargetSnapshot& ts, const HostSnapshot& host,
                                          MonoTime now, TargetRuntime& rt) {
  reprobe_schedule_.EnsureScheduled(tp.name, now, rt.reprobe);
  rt.kept.clear();
  if (rt.change.Held(now)) {
    rt.still =
        fmt::format("waiting {} s more before the next change: the last one was never delivered",
                    LogNumber(std::ceil(ToSeconds(*rt.change.hold_until() - now))));
    return std::nullopt;
  }
  // Without a baseline at the current settings the change could not be verified: wait for it
  // (min_samples ticks after the last change, or after start).
  std::map<std::string, double> settings = TunedSettings(tp, *ts.app);
  if (size_t have = rt.model.Baseline(now, settings, BaselineSpan(g), g.min_samples).samples();
      have < g.min_samples) {
    rt.still = fmt::format(
        "measuring the current settings before any change, so its effect can be judged "
        "({} of {} observations)",
        have, g.min_samples);
    return std::nullopt;
  }
  std::vector<Candidate> ranked = Collect(tp, g, ts, host, now, rt);
  RankCandidates(ranked);
  bool is_reprobe = false;
  if (ranked.empty() && reprobe_schedule_.Due(tp, now, rt.reprobe)) {
    if (const std::string* pick =
            ReprobeOptimizer::LeastRecentlyChanged(tp, *ts.app, rt.change.knobs());
        pick && !rt.overrides.Held(*pick, now)) {
      const KnobPolicy& kp = tp.knobs.at(*pick);
      OptimizerInput in{tp,       g,
                        rt.model, host,
                        *pick,    ts.app->knobs.at(*pick),
                        kp,       history_.LastJudgedChange(tp.name, *pick),
                        now,      rt.reprobe.direction};
      rt.reprobe.direction = -rt.reprobe.direction;
      if (auto p = reprobe_.Propose(in)) {
        ranked.push_back({std::move(*p), kp});
        is_reprobe = true;
      }
    }
    reprobe_schedule_.Schedule(tp.name, now, rt.reprobe);
  }
  std::optional<Recommendation> r = Send(tp, g, ranked, is_reprobe, std::move(settings), now, rt);
  if (!r && ranked.empty()) rt.still = StillReason(tp, ts, rt, now);
  return r;
}

std::string Brain::StillReason(const TargetPolicy& tp, const TargetSnapshot& ts,
                               const TargetRuntime& rt, MonoTime now) {
  size_t tuned = 0, held = 0;
  for (const auto& [knob, kp] : tp.knobs) {
    if (!kp.enabled || !ts.app->knobs.contains(knob)) continue;
    ++tuned;
    if (rt.overrides.Held(knob, now)) ++held;
  }
  if (tuned == 0)
    return "no knob to tune: the target reports none of the enabled knobs its policy lists";
  if (held == tuned) return "every knob it tunes was set by someone else and is left alone";
  if (!rt.kept.empty())
    return rt.kept.size() + held == tuned
               ? "every knob is where its model wants it (see why below)"
               : "no model asks for a change; the knobs kept on purpose are listed below";
  return "no model asks for a change: each knob's optimizer sees nothing to gain from a step "
         "in either direction";
}

std::vector<Candidate> Brain::Collect(const TargetPolicy& tp, const GuardSettings& g,
                                      const TargetSnapshot& ts, const HostSnapshot& host,
                                      MonoTime now, TargetRuntime& rt) {
  std::vector<Candidate> out;
  for (const auto& [knob, kp] : tp.knobs) {
    auto cur = ts.app->knobs.find(knob);
    if (cur == ts.app->knobs.end()) continue;  // the target does not report this knob
    if (!kp.enabled) continue;
    if (rt.overrides.Held(knob, now)) continue;  // someone else set it: not ours to change now
    const Optimizer* owner = OwnerOf(optimizers_, knob);
    if (!owner) continue;
    OptimizerInput in{tp,   g,           rt.model, host,
                      knob, cur->second, kp,       history_.LastJudgedChange(tp.name, knob)};
    if (auto list = ts.app->knob_lists.find(knob); list != ts.app->knob_lists.end())
      in.current_list = list->second;
    for (Proposal& p : owner->Candidates(in)) {
      if (p.value != p.current || p.value_list != p.current_list) {
        out.push_back({std::move(p), kp});
        continue;
      }
      // A deliberate hold (e.g. "hold: last raise did not help") goes to the decision log once.
      if (!p.scenario.empty() && !p.reason.empty()) {
        rt.kept.push_back({knob, p.current, p.reason});
        std::string& logged = rt.holds[knob];
        if (logged != p.scenario) {
          logged = p.scenario;
          history_.Log(fmt::format("kept {} of {} at {}: {}", knob, tp.name, LogNumber(p.current),
                                   p.reason));
        }
      }
    }
  }
  return out;
}

std::optional<Recommendation> Brain::Send(const TargetPolicy& tp, const GuardSettings& g,
                                          const std::vector<Candidate>& ranked, bool is_reprobe,
                                          std::map<std::string, double> settings, MonoTime now,
                                          TargetRuntime& rt) {
  Guard guard(g);
  rt.still.clear();
  for (const auto& [p, kp] : ranked) {
    GuardDecision d = guard.Review(p, kp, rt.change.knobs()[p.knob], rt.model, now);
    if (!d.allowed) {
      if (rt.still.empty()) {
        std::string_view why = d.veto_reason;
        if (why.starts_with(kHoldingStill)) why.remove_prefix(kHoldingStill.size());
        rt.still = fmt::format("the guard stopped the best proposal, {} of {} to {}: {}", p.knob,
                               tp.name, LogNumber(d.value), why);
      }
      if (d.quiet) continue;
      // Record a veto once per (knob, value, reason) in a row: the same proposal every tick is
      // not news.
      if (!history_.RepeatsVeto(tp.name, p.knob, d.value, d.veto_reason)) {
        Recommendation r = MakeRecommendation(tp, g, p, d.value);
        r.verdicts = d.verdicts;
        r.outcome = Outcome::kVetoed;
        r.outcome_reason = d.veto_reason;
        history_.Log(fmt::format("did not change {} of {}: {}", p.knob, tp.name, d.veto_reason));
        history_.Record(std::move(r));
      }
      continue;
    }
    // A CPU list cannot be cut to a shorter step: a clamped list proposal is dropped.
    if (!p.value_list.empty() && d.value != p.value) continue;
    Recommendation r = MakeRecommendation(tp, g, p, d.value);
    r.verdicts = d.verdicts;
    if (d.value != p.value) {
      // The guard shortened the step: the knob's owner predicts the value actually proposed.
      if (const Optimizer* owner = OwnerOf(optimizers_, p.knob))
        for (const auto& [q, v] : owner->Predict(rt.model, p.knob, d.value)) r.predicted[q] = v;
    }
    history_.Log(r.reason);
    rt.holds.erase(r.knob);
    rt.still.clear();
    rt.kept.clear();
    rt.change.Start(r, p.current, is_reprobe, p.fixes_violation, std::move(settings), g, now);
    metrics_.SetRecommended(tp.name, r.knob, r.new_value);
    metrics_.SetPredicted(tp.name, r.knob, r.predicted);
    return history_.Record(std::move(r));
  }
  return std::nullopt;
}

void Brain::OnOutcome(uint64_t id, Outcome outcome, const std::string& reason) {
  Recommendation* rec = history_.Find(id);
  if (!rec) return;
  if (rec->scenario == kRestoreScenario && outcome == Outcome::kApplied) {
    // Restores are not changes to verify: the ack is their end.
    history_.SetOutcome(*rec, outcome, reason.empty() ? "acked as applied" : reason);
    return;
  }
  targets_[rec->target].change.OnOutcome(*rec, outcome, reason, clock_.Now(), delivery_hold_,
                                         history_);
}

std::vector<Recommendation> Brain::History(const std::string& target) const {
  if (!targets_.count(target)) return {};
  return history_.Of(target);
}

std::optional<Recommendation> Brain::Find(uint64_t id) const {
  if (const Recommendation* r = history_.Find(id)) return *r;
  return std::nullopt;
}

const TargetModel* Brain::FindModel(const std::string& target) const {
  auto it = targets_.find(target);
  return it == targets_.end() ? nullptr : &it->second.model;
}

std::vector<std::string> Brain::DecisionLog() const { return history_.DecisionLog(); }

std::vector<std::pair<std::string, Scenario>> Brain::ScenarioTable() const {
  std::vector<std::pair<std::string, Scenario>> out;
  for (const auto& o : optimizers_)
    for (const auto& s : o->Scenarios()) out.emplace_back(std::string(o->Name()), s);
  for (const auto& s : reprobe_.Scenarios()) out.emplace_back(std::string(reprobe_.Name()), s);
  out.emplace_back("guard", kRollbackScenario);
  return out;
}

std::optional<ModelSummary> Brain::Model(const std::string& target) const {
  auto it = targets_.find(target);
  if (it == targets_.end()) return std::nullopt;
  const TargetModel& m = it->second.model;
  ModelSummary s;
  s.target = target;
  s.observations = m.observations().size();
  if (const auto& f = m.usl()) {
    s.usl = ModelSummary::Usl{f->alpha,   f->beta,           f->gamma,     f->alpha_se,
                              f->beta_se, f->gamma_se,       f->r_squared, f->Confidence(),
                              f->Peak(),  f->distinct_levels};
  } else {
    s.usl_status = m.usl_error().empty() ? "no data" : m.usl_error();
  }
  s.latency_factor = m.latency_factor();
  s.workload_shifts = m.shifts();
  if (m.latest()) {
    for (const auto& [name, pool] : m.latest()->pools) {
      (void)pool;
      if (auto p = m.Pool(name)) s.pools.push_back(*p);
    }
  }
  for (const auto& [name, c] : m.caches()) {
    ModelSummary::Cache cs;
    cs.name = name;
    cs.capacity_bytes = c.capacity_bytes;
    if (auto mrc = m.Cache(name)) {
      cs.hit_ratio_now = mrc->HitRatio(c.capacity_bytes);
      cs.bytes_for_90pct = mrc->SmallestSizeForHitRatio(0.9);
    }
    s.caches.push_back(cs);
  }
  s.scheduling = m.scheduling();
  MonoTime now = clock_.Now();
  for (const auto& [knob, list] : m.penalties()) {
    for (const auto& p : list) {
      if (p.until <= now) continue;
      s.penalties.push_back({knob, p.value, p.direction, ToSeconds(p.until - now), p.reason});
    }
  }
  s.active_recommendation = it->second.change.active_id();
  for (const auto& [knob, until] : it->second.overrides.Holds(now))
    s.override_holds.push_back({knob, ToSeconds(until - now)});
  s.holding_still = it->second.still;
  s.kept = it->second.kept;
  return s;
}

std::vector<ModelSummary> Brain::Models() const {
  std::vector<ModelSummary> out;
  for (const auto& [name, rt] : targets_) {
    (void)rt;
    if (auto s = Model(name)) out.push_back(std::move(*s));
  }
  return out;
}

Status Brain::Save(const std::string& state_dir) const {
  BrainStateData d;
  d.next_id = history_.next_id();
  MonoTime now = clock_.Now();
  for (const auto& [name, rt] : targets_) {
    BrainStateData::Target t;
    t.name = name;
    for (const auto& o : rt.model.observations())
      t.observations.push_back({ToSeconds(now - o.time), o});
    // Expired penalties too (negative remaining_seconds): they count the repeats that double
    // the next penalty into the same region, which must survive a restart.
    for (const auto& [knob, list] : rt.model.penalties())
      for (const auto& p : list)
        t.penalties.push_back({knob, p.value, p.direction, ToSeconds(p.until - now), p.reason});
    for (const auto& [knob, kh] : rt.change.knobs()) {
      BrainStateData::StoredKnob k;
      k.knob = knob;
      k.last_change_age_seconds = kh.last_change ? ToSeconds(now - *kh.last_change) : -1;
      k.values.assign(kh.values.begin(), kh.values.end());
      if (kh.no_effect)
        k.no_effect = BrainStateData::StoredKnob::NoEffect{kh.no_effect->from, kh.no_effect->to,
                                                           ToSeconds(now - kh.no_effect->at),
                                                           kh.no_effect->summary};
      t.knobs.push_back(std::move(k));
    }
    if (const auto* ids = history_.Ids(name)) t.history.assign(ids->begin(), ids->end());
    d.targets.push_back(std::move(t));
  }
  for (const auto& [id, r] : history_.records()) {
    (void)id;
    d.records.push_back(r);
  }
  std::map<std::string, const OverrideHold*> holds;
  for (const auto& [name, rt] : targets_) holds[name] = &rt.overrides;
  KNOB_RETURN_IF_ERROR(
      WriteFileAtomically(state_dir + "/" + kOverrideStateFile, EncodeOverrideState(holds, now))
          .WithContext("saving the first-seen knob values"));
  return WriteFileAtomically(state_dir + "/" + kStateFile, EncodeBrainState(d))
      .WithContext("saving the brain state");
}

Status Brain::LoadOverrides(const std::string& state_dir) {
  std::string path = state_dir + "/" + kOverrideStateFile;
  std::ifstream in(path, std::ios::binary);
  if (!in) return OkStatus();  // nothing changed yet, or a state directory from before it
  std::stringstream ss;
  ss << in.rdbuf();
  Status s = DecodeOverrideState(
      ss.str(), clock_.Now(),
      [this](const std::string& name) -> OverrideHold& { return targets_[name].overrides; });
  if (s.ok()) return s;
  std::string aside = path + ".corrupt";
  if (::rename(path.c_str(), aside.c_str()) == 0)
    return InvalidArgumentError(path + ": " + s.message() + "; moved aside to " + aside +
                                " (restore knows no first-seen values)");
  return s.WithContext(path);
}

Status Brain::Load(const std::string& state_dir) {
  std::string path = state_dir + "/" + kStateFile;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    KNOB_RETURN_IF_ERROR(LoadOverrides(state_dir));
    return NotFoundError("no brain state at " + path);
  }
  std::stringstream ss;
  ss << in.rdbuf();
  auto d = DecodeBrainState(ss.str());
  if (!d.ok()) {
    // A torn or corrupt file (a crash before the atomic rename existed, a disk error, a hand
    // edit) is kept for a human under another name, so the next checkpoint cannot overwrite
    // the evidence and the next start does not trip over it again.
    std::string aside = path + ".corrupt";
    if (::rename(path.c_str(), aside.c_str()) == 0)
      return InvalidArgumentError(path + ": " + d.status().message() + "; moved aside to " + aside);
    return d.status().WithContext(path);
  }
  MonoTime now = clock_.Now();
  targets_.clear();
  for (auto& r : d->records) {
    // A change in flight when we stopped cannot be verified any more: say so.
    if (r.outcome == Outcome::kPending || r.outcome == Outcome::kApplied ||
        r.outcome == Outcome::kAdvisory) {
      r.outcome = Outcome::kExpired;
      r.outcome_reason = "knobd restarted before it was verified";
    }
  }
  history_.Restore(d->next_id, std::move(d->records));
  for (const auto& t : d->targets) {
    TargetRuntime& rt = targets_[t.name];
    for (const auto& so : t.observations) {
      Observation o = so.obs;
      o.time = now - ToDuration(so.age_seconds);
      rt.model.Restore(o);
    }
    for (const auto& p : t.penalties)
      rt.model.Penalize(
          p.knob, Penalty{p.value, p.direction, now + ToDuration(p.remaining_seconds), p.reason});
    for (const auto& k : t.knobs) {
      KnobHistory& kh = rt.change.knobs()[k.knob];
      if (k.last_change_age_seconds >= 0)
        kh.last_change = now - ToDuration(k.last_change_age_seconds);
      kh.values.assign(k.values.begin(), k.values.end());
      if (k.no_effect)
        kh.no_effect =
            KnobHistory::NoEffect{k.no_effect->from, k.no_effect->to,
                                  now - ToDuration(k.no_effect->age_seconds), k.no_effect->summary};
    }
    history_.RestoreIds(t.name, t.history);
    // The restored model shows on /metrics at once, before the target reconnects.
    metrics_.ExportModel(t.name, rt.model, clock_.Now());
  }
  return LoadOverrides(state_dir);
}

}  // namespace knob
