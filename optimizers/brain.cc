#include "optimizers/brain.h"

#include <fmt/format.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <sstream>

#include "optimizers/brain_state.h"
#include "optimizers/concurrency_optimizer.h"

namespace knob {

struct Brain::Metrics {
  explicit Metrics(prometheus::Registry& r)
      : recommendations(prometheus::BuildCounter()
                            .Name("knobd_recommendations_total")
                            .Help("Recommendations by target, knob and outcome transition")
                            .Register(r)),
        recommended(prometheus::BuildGauge()
                        .Name("knobd_recommended_value")
                        .Help("Last value recommended for a knob")
                        .Register(r)),
        predicted(prometheus::BuildGauge()
                      .Name("knobd_predicted_value")
                      .Help("Predicted quantity after the last change of a knob")
                      .Register(r)),
        realized(prometheus::BuildGauge()
                     .Name("knobd_realized_value")
                     .Help("Quantity measured in the verification window of the last change")
                     .Register(r)),
        usl_peak(prometheus::BuildGauge()
                     .Name("knobd_model_usl_peak_concurrency")
                     .Help("Concurrency N* at which the fitted USL throughput peaks")
                     .Register(r)),
        r_squared(prometheus::BuildGauge()
                      .Name("knobd_model_fit_r_squared")
                      .Help("Coefficient of determination of a model fit")
                      .Register(r)),
        confidence(prometheus::BuildGauge()
                       .Name("knobd_model_confidence")
                       .Help("Confidence of a model fit, 0..1")
                       .Register(r)),
        shifts(prometheus::BuildCounter()
                   .Name("knobd_model_workload_shifts_total")
                   .Help("Workload shifts detected (the model forgot older points)")
                   .Register(r)),
        observations(prometheus::BuildGauge()
                         .Name("knobd_model_observations")
                         .Help("Observations the target's model holds (restored ones included)")
                         .Register(r)),
        penalties(prometheus::BuildGauge()
                      .Name("knobd_model_penalized_regions")
                      .Help("Active penalized regions of a knob (values a rollback forbids)")
                      .Register(r)) {}
  prometheus::Family<prometheus::Counter>& recommendations;
  prometheus::Family<prometheus::Gauge>& recommended;
  prometheus::Family<prometheus::Gauge>& predicted;
  prometheus::Family<prometheus::Gauge>& realized;
  prometheus::Family<prometheus::Gauge>& usl_peak;
  prometheus::Family<prometheus::Gauge>& r_squared;
  prometheus::Family<prometheus::Gauge>& confidence;
  prometheus::Family<prometheus::Counter>& shifts;
  prometheus::Family<prometheus::Gauge>& observations;
  prometheus::Family<prometheus::Gauge>& penalties;
  std::map<std::string, uint64_t> shifts_seen;
};

namespace {

std::string Fmt(double v) {
  if (std::fabs(v - std::round(v)) < 1e-9 && std::fabs(v) < 1e15) return fmt::format("{:.0f}", v);
  return fmt::format("{:.3g}", v);
}

Duration ToDuration(double seconds) {
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(seconds));
}

// The before-window of a change: the verification window, at least 2 s (skipping the settle
// second leaves something to compare).
Duration BaselineSpan(const GuardSettings& g) {
  return std::max<Duration>(g.verification_window, std::chrono::seconds(2));
}

// The settings a baseline is keyed by: the tuned knobs (those the policy lists) as the target
// reports them. Other values the app reports may move on their own and must not void it.
std::map<std::string, double> TunedSettings(const TargetPolicy& tp, const AppReport& app) {
  std::map<std::string, double> out;
  for (const auto& [knob, kp] : tp.knobs) {
    (void)kp;
    if (auto it = app.knobs.find(knob); it != app.knobs.end()) out.emplace(knob, it->second);
  }
  return out;
}

}  // namespace

std::string DescribeStep(const std::string& target, const std::string& knob, double old_value,
                         double new_value, const std::string& reason) {
  const char* verb =
      new_value > old_value ? "raised" : (new_value < old_value ? "lowered" : "kept");
  return fmt::format("{} {} of {} from {} to {}: {}", verb, knob, target, Fmt(old_value),
                     Fmt(new_value), reason);
}

Brain::Brain(Clock& clock, prometheus::Registry* registry, BrainOptions options)
    : clock_(clock), options_(options), optimizers_(AllOptimizers()), rng_(options.seed) {
  if (registry) {
    // prometheus-cpp throws when a family name is taken with another type; the brain then runs
    // without its metrics rather than taking the daemon down.
    try {
      metrics_ = std::make_unique<Metrics>(*registry);
    } catch (const std::exception&) {
      metrics_.reset();
    }
  }
}

Brain::~Brain() = default;

Brain::TargetRuntime& Brain::Runtime(const std::string& target) { return targets_[target]; }

void Brain::Log(std::string sentence) {
  decision_log_.push_back(std::move(sentence));
  while (decision_log_.size() > options_.max_decision_log) decision_log_.pop_front();
}

Recommendation& Brain::Record(Recommendation rec) {
  uint64_t id = rec.id;
  std::string target = rec.target;
  TargetRuntime& rt = Runtime(target);
  rt.history.push_back(id);
  while (rt.history.size() > options_.max_history_per_target) {
    records_.erase(rt.history.front());
    record_target_.erase(rt.history.front());
    rt.history.pop_front();
  }
  record_target_[id] = target;
  Recommendation& stored = records_[id] = std::move(rec);
  if (metrics_) {
    metrics_->recommendations
        .Add({{"target", stored.target},
              {"knob", stored.knob},
              {"outcome", std::string(OutcomeName(stored.outcome))}})
        .Increment();
  }
  return stored;
}

void Brain::SetOutcome(Recommendation& rec, Outcome o, const std::string& reason) {
  rec.outcome = o;
  rec.outcome_reason = reason;
  if (metrics_) {
    metrics_->recommendations
        .Add({{"target", rec.target}, {"knob", rec.knob}, {"outcome", std::string(OutcomeName(o))}})
        .Increment();
  }
}

void Brain::Observe(const Policy& policy, const Snapshot& snapshot) {
  for (const auto& tp : policy.targets) {
    auto it = snapshot.targets.find(tp.name);
    if (it == snapshot.targets.end() || it->second.state != TargetState::kActive) continue;
    TargetRuntime& rt = Runtime(tp.name);
    rt.model.Observe(it->second, snapshot.host, snapshot.time);
    ExportModel(tp.name, rt.model);
  }
}

void Brain::ExportModel(const std::string& target, const TargetModel& m) {
  if (!metrics_) return;
  if (const auto& f = m.usl()) {
    metrics_->r_squared.Add({{"target", target}, {"model", "usl"}}).Set(f->r_squared);
    metrics_->confidence.Add({{"target", target}, {"model", "usl"}}).Set(f->Confidence());
    if (auto peak = f->Peak()) metrics_->usl_peak.Add({{"target", target}}).Set(*peak);
  }
  metrics_->observations.Add({{"target", target}})
      .Set(static_cast<double>(m.observations().size()));
  // Every knob that ever had a penalty keeps its series (0 once they expired).
  const MonoTime now = clock_.Now();
  for (const auto& [knob, list] : m.penalties()) {
    double active = 0;
    for (const auto& p : list) active += p.until > now ? 1 : 0;
    metrics_->penalties.Add({{"target", target}, {"knob", knob}}).Set(active);
  }
  uint64_t& seen = metrics_->shifts_seen[target];
  if (m.shifts() > seen) {
    metrics_->shifts.Add({{"target", target}}).Increment(static_cast<double>(m.shifts() - seen));
    seen = m.shifts();
  }
}

std::vector<Recommendation> Brain::Decide(const Policy& policy, const Snapshot& snapshot) {
  std::vector<Recommendation> out;
  const GuardSettings& g = policy.global.guard;
  delivery_hold_ = g.cooldown;
  for (const auto& tp : policy.targets) {
    if (tp.mode == Mode::kObserve) continue;
    auto it = snapshot.targets.find(tp.name);
    if (it == snapshot.targets.end()) continue;
    const TargetSnapshot& ts = it->second;
    if (ts.state != TargetState::kActive || !ts.app) continue;
    TargetRuntime& rt = Runtime(tp.name);
    if (rt.active) {
      if (auto r = Track(tp, g, ts, snapshot.time, rt)) out.push_back(std::move(*r));
      if (rt.active) continue;  // one change in flight per target, so effects are attributable
      if (!out.empty() && out.back().target == tp.name) continue;
    }
    if (auto r = Step(tp, g, ts, snapshot.host, snapshot.time, rt)) out.push_back(std::move(*r));
  }
  return out;
}

Recommendation Brain::MakeRecommendation(const TargetPolicy& tp, const GuardSettings& g,
                                         const Proposal& p, double value, MonoTime now) {
  (void)now;
  Recommendation r;
  r.id = next_id_++;
  r.target = tp.name;
  r.knob = p.knob;
  r.old_value = p.current;
  r.new_value = value;
  r.optimizer = p.optimizer;
  r.scenario = p.scenario;
  r.reason = DescribeStep(tp.name, p.knob, p.current, value, p.reason);
  r.triggers = p.triggers;
  r.predicted = p.predicted;
  r.binding_constraint = p.binding_constraint;
  r.confidence = p.confidence;
  r.trade_offs = p.trade_offs;
  r.advisory = tp.mode != Mode::kApply;
  r.outcome = r.advisory ? Outcome::kAdvisory : Outcome::kPending;
  r.created = clock_.WallNow();
  Duration life = std::max<Duration>(3 * g.verification_window, 2 * g.cooldown);
  r.expires = r.created + std::chrono::duration_cast<WallTime::duration>(life);
  return r;
}

void Brain::ScheduleReprobe(const std::string& target, MonoTime now, TargetRuntime& rt) {
  if (options_.reprobe_interval <= Duration::zero()) return;
  // Per-target jitter: mix the target name into the draw so targets drift apart.
  std::uniform_real_distribution<double> u(0.8, 1.2);
  double f =
      u(rng_) * (0.9 + 0.2 * static_cast<double>(std::hash<std::string>{}(target) % 1000) / 1000.0);
  rt.next_reprobe =
      now + ToDuration(ToSeconds(options_.reprobe_interval) * std::clamp(f, 0.8, 1.2));
}

std::optional<Recommendation> Brain::Step(const TargetPolicy& tp, const GuardSettings& g,
                                          const TargetSnapshot& ts, const HostSnapshot& host,
                                          MonoTime now, TargetRuntime& rt) {
  if (!rt.next_reprobe) ScheduleReprobe(tp.name, now, rt);
  if (rt.delivery_hold_until && now < *rt.delivery_hold_until) return std::nullopt;
  // Without a baseline at the current settings the change could not be verified: wait for it
  // (min_samples ticks after the last change, or after start).
  std::map<std::string, double> settings = TunedSettings(tp, *ts.app);
  if (rt.model.Baseline(now, settings, BaselineSpan(g), g.min_samples).samples() < g.min_samples)
    return std::nullopt;
  Guard guard(g);
  std::vector<std::pair<Proposal, KnobPolicy>> proposals;
  for (const auto& [knob, kp] : tp.knobs) {
    auto cur = ts.app->knobs.find(knob);
    if (cur == ts.app->knobs.end()) continue;  // the target does not report this knob
    if (!kp.enabled) continue;
    for (const auto& opt : optimizers_) {
      if (!opt->Handles(knob)) continue;
      OptimizerInput in{tp, g, rt.model, host, knob, cur->second, kp, LastJudgedChange(rt, knob)};
      auto p = opt->Propose(in);
      if (!p) continue;
      if (p->value != p->current) {
        proposals.emplace_back(*p, kp);
        continue;
      }
      // A deliberate hold (e.g. "hold: last raise did not help") goes to the decision log once.
      if (!p->scenario.empty() && !p->reason.empty()) {
        std::string& logged = rt.holds[knob];
        if (logged != p->scenario) {
          logged = p->scenario;
          Log(fmt::format("kept {} of {} at {}: {}", knob, tp.name, Fmt(p->current), p->reason));
        }
      }
    }
  }
  std::stable_sort(proposals.begin(), proposals.end(), [](const auto& a, const auto& b) {
    if (a.first.fixes_violation != b.first.fixes_violation) return a.first.fixes_violation;
    if (a.first.exploratory != b.first.exploratory) return !a.first.exploratory;
    return a.first.expected_gain * a.first.confidence > b.first.expected_gain * b.first.confidence;
  });

  bool reprobe = false;
  if (proposals.empty() && tp.mode == Mode::kApply && rt.next_reprobe && now >= *rt.next_reprobe &&
      options_.reprobe_interval > Duration::zero()) {
    // Converged and quiet: move the least recently changed knob one step to re-measure the
    // baseline's neighbourhood; the verification window keeps it only if it is better.
    const std::string* pick = nullptr;
    std::optional<MonoTime> oldest;
    for (const auto& [knob, kp] : tp.knobs) {
      if (!kp.enabled || !ts.app->knobs.count(knob)) continue;
      auto h = rt.knobs.find(knob);
      std::optional<MonoTime> last = h == rt.knobs.end() ? std::nullopt : h->second.last_change;
      if (!pick || (!last) || (oldest && last && *last < *oldest)) {
        pick = &knob;
        oldest = last;
        if (!last) break;
      }
    }
    if (pick) {
      const KnobPolicy& kp = tp.knobs.at(*pick);
      double cur = ts.app->knobs.at(*pick);
      // Never probe across a constraint the model can predict: an upward concurrency probe
      // whose predicted p99 exceeds the SLO goes down instead.
      auto crosses = [&](double v) {
        const auto slo = P99LimitSeconds(tp.constraints);
        const auto& fit = rt.model.usl();
        return slo && fit && ConcurrencyOptimizer().Handles(*pick) && v > cur &&
               fit->Latency(v) * rt.model.latency_factor() > *slo;
      };
      double v = OneStep(cur, rt.reprobe_direction, kp, g);
      if (v == cur || crosses(v) || rt.model.PenaltyFor(*pick, v, now))
        v = OneStep(cur, -rt.reprobe_direction, kp, g);
      if (crosses(v) || rt.model.PenaltyFor(*pick, v, now)) v = cur;
      rt.reprobe_direction = -rt.reprobe_direction;
      if (v != cur) {
        Proposal p;
        p.knob = *pick;
        p.current = cur;
        p.value = v;
        p.optimizer = "guard";
        p.scenario = "reprobe";
        p.reason =
            "periodic re-probe of the baseline (kept only if the verification window confirms it)";
        p.exploratory = true;
        p.confidence = 0.1;
        if (rt.model.latest()) {
          p.triggers["throughput"] = rt.model.latest()->throughput;
          if (rt.model.latest()->p99_seconds)
            p.predicted["p99_seconds"] = *rt.model.latest()->p99_seconds;
        }
        proposals.emplace_back(p, kp);
        reprobe = true;
      }
    }
    ScheduleReprobe(tp.name, now, rt);
  }

  for (const auto& [p, kp] : proposals) {
    KnobHistory& kh = rt.knobs[p.knob];
    GuardDecision d = guard.Review(p, kp, kh, rt.model, now);
    if (!d.allowed) {
      if (d.quiet) continue;
      // Record a veto once per (knob, value, reason) in a row: the same proposal every tick is
      // not news.
      bool repeat = false;
      for (auto id = rt.history.rbegin(); id != rt.history.rend(); ++id) {
        const Recommendation& prev = records_[*id];
        if (prev.knob != p.knob) continue;
        repeat = prev.outcome == Outcome::kVetoed && prev.new_value == d.value &&
                 prev.outcome_reason == d.veto_reason;
        break;
      }
      if (!repeat) {
        Recommendation r = MakeRecommendation(tp, g, p, d.value, now);
        r.verdicts = d.verdicts;
        r.outcome = Outcome::kVetoed;
        r.outcome_reason = d.veto_reason;
        Log(fmt::format("did not change {} of {}: {}", p.knob, tp.name, d.veto_reason));
        Record(std::move(r));
      }
      continue;
    }
    Recommendation r = MakeRecommendation(tp, g, p, d.value, now);
    r.verdicts = d.verdicts;
    if (d.value != p.value && rt.model.usl() && p.optimizer == "concurrency") {
      // The guard shortened the step: predict the value actually proposed.
      const UslFit& f = *rt.model.usl();
      r.predicted["throughput"] = f.Throughput(d.value);
      r.predicted["p99_seconds"] = f.Latency(d.value) * rt.model.latency_factor();
    }
    Log(r.reason);
    rt.holds.erase(r.knob);
    KnobHistory prior = kh;
    rt.active = ActiveChange{r.id,
                             r.knob,
                             r.old_value,
                             r.new_value,
                             now,
                             std::nullopt,
                             now + std::max<Duration>(3 * g.verification_window, 2 * g.cooldown),
                             false,
                             reprobe,
                             p.fixes_violation,
                             std::move(prior),
                             std::move(settings)};
    kh.Charge(p.current, d.value, now);
    if (metrics_) {
      metrics_->recommended.Add({{"target", tp.name}, {"knob", r.knob}}).Set(r.new_value);
      for (const auto& [q, v] : r.predicted)
        if (std::isfinite(v))
          metrics_->predicted.Add({{"target", tp.name}, {"knob", r.knob}, {"quantity", q}}).Set(v);
    }
    return Record(std::move(r));
  }
  return std::nullopt;
}

std::optional<Recommendation> Brain::Track(const TargetPolicy& tp, const GuardSettings& g,
                                           const TargetSnapshot& ts, MonoTime now,
                                           TargetRuntime& rt) {
  ActiveChange& a = *rt.active;
  auto rec_it = records_.find(a.id);
  if (rec_it == records_.end()) {
    rt.active.reset();
    return std::nullopt;
  }
  Recommendation& rec = rec_it->second;
  if (!a.applied) {
    auto cur = ts.app->knobs.find(a.knob);
    if (cur != ts.app->knobs.end() && cur->second == a.new_value) {
      a.applied = now;
      SetOutcome(rec, Outcome::kApplied, "the target reports the new value");
    } else if (now >= a.expires) {
      SetOutcome(rec, Outcome::kExpired, "not applied before it expired");
      Log(fmt::format("gave up on {} of {} = {}: not applied before it expired", a.knob, tp.name,
                      Fmt(a.new_value)));
      rt.active.reset();
      return std::nullopt;
    } else {
      return std::nullopt;
    }
  }
  if (a.is_rollback) {
    SetOutcome(rec, Outcome::kVerified, "the old value is restored");
    rt.knobs[a.knob].last_change = *a.applied;
    rt.active.reset();
    return std::nullopt;
  }
  Guard guard(g);
  Duration settle = std::chrono::seconds(1);
  WindowStats before = rt.model.Baseline(a.sent, a.baseline_knobs, BaselineSpan(g), g.min_samples);
  WindowStats after = rt.model.Window(*a.applied + settle, now + std::chrono::nanoseconds(1));
  VerifyResult v = guard.Verify(tp.objective, tp.constraints, before, after, rec.predicted,
                                now - *a.applied, a.fixes_violation);
  if (v.kind == VerifyResult::Kind::kWait) return std::nullopt;
  rec.realized = v.realized;
  for (auto& t : v.trade_offs) rec.trade_offs.push_back("realized: " + t);
  if (metrics_) {
    for (const auto& [q, val] : v.realized)
      if (std::isfinite(val))
        metrics_->realized.Add({{"target", tp.name}, {"knob", a.knob}, {"quantity", q}}).Set(val);
  }
  if (v.kind == VerifyResult::Kind::kVerified) {
    SetOutcome(rec, Outcome::kVerified, v.reason);
    Log(fmt::format("verified {} of {} = {}: {}", a.knob, tp.name, Fmt(a.new_value), v.reason));
    rt.active.reset();
    return std::nullopt;
  }
  // Roll back at once and penalize the region beyond the bad value.
  SetOutcome(rec, Outcome::kRolledBack, v.reason);
  Penalty pen;
  pen.value = a.new_value;
  pen.direction = a.new_value > a.old_value ? 1 : -1;
  // Each earlier rollback into the same region doubles the penalty, so a real regression is
  // retried ever more rarely instead of every 10 cooldowns.
  int repeats = 0;
  if (auto it = rt.model.penalties().find(a.knob); it != rt.model.penalties().end()) {
    for (const auto& old : it->second)
      if (old.direction == pen.direction &&
          (pen.direction > 0 ? old.value <= pen.value : old.value >= pen.value))
        ++repeats;
  }
  pen.until =
      now + (a.is_reprobe ? 2 * g.cooldown : 10 * g.cooldown) * (1 << std::min(repeats, 10));
  pen.reason = fmt::format("#{} rolled back: {}", a.id, v.reason);
  rt.model.Penalize(a.knob, pen);

  Recommendation rb;
  rb.id = next_id_++;
  rb.target = tp.name;
  rb.knob = a.knob;
  rb.old_value = a.new_value;
  rb.new_value = a.old_value;
  rb.optimizer = rec.optimizer;
  rb.scenario = "rollback";
  rb.reason = DescribeStep(tp.name, a.knob, a.new_value, a.old_value,
                           fmt::format("rolled back #{}: {}", a.id, v.reason));
  rb.triggers = v.realized;
  rb.predicted = {};
  rb.confidence = 1.0;
  rb.verdicts.push_back({"verification", "veto", v.reason});
  rb.advisory = tp.mode != Mode::kApply;
  rb.outcome = rb.advisory ? Outcome::kAdvisory : Outcome::kPending;
  rb.created = clock_.WallNow();
  Duration life = std::max<Duration>(3 * g.verification_window, 2 * g.cooldown);
  rb.expires = rb.created + std::chrono::duration_cast<WallTime::duration>(life);
  Log(rb.reason);
  KnobHistory& kh = rt.knobs[a.knob];
  KnobHistory prior = kh;
  kh.Charge(a.new_value, a.old_value, now);
  std::map<std::string, double> knobs_now = TunedSettings(tp, *ts.app);
  rt.active = ActiveChange{rb.id, a.knob,       a.new_value,      a.old_value,
                           now,   std::nullopt, now + life,       true,
                           false, false,        std::move(prior), std::move(knobs_now)};
  if (metrics_) metrics_->recommended.Add({{"target", tp.name}, {"knob", a.knob}}).Set(a.old_value);
  return Record(std::move(rb));
}

void Brain::OnOutcome(uint64_t id, Outcome outcome, const std::string& reason) {
  auto it = records_.find(id);
  if (it == records_.end()) return;
  Recommendation& rec = it->second;
  TargetRuntime& rt = Runtime(rec.target);
  const bool is_active = rt.active && rt.active->id == id;
  switch (outcome) {
    case Outcome::kApplied:
      if (is_active && !rt.active->applied) {
        rt.active->applied = clock_.Now();
        SetOutcome(rec, Outcome::kApplied, reason.empty() ? "acked as applied" : reason);
      }
      break;
    case Outcome::kRejected:
    case Outcome::kExpired:
      if (rec.outcome == Outcome::kVerified || rec.outcome == Outcome::kRolledBack) break;
      SetOutcome(rec, outcome, reason);
      Log(fmt::format("{} of {} = {} was {}: {}", rec.knob, rec.target, Fmt(rec.new_value),
                      OutcomeName(outcome), reason));
      if (is_active) rt.active.reset();
      break;
    case Outcome::kVetoed:
      // Never delivered (operator pause, observe mode): nothing changed on the target, so
      // nothing may stay charged to the knob, and nothing is left to wait for.
      if (rec.outcome == Outcome::kVerified || rec.outcome == Outcome::kRolledBack) break;
      SetOutcome(rec, Outcome::kVetoed, reason.empty() ? "not delivered" : reason);
      Log(fmt::format("{} of {} = {} was not delivered: {}", rec.knob, rec.target,
                      Fmt(rec.new_value), rec.outcome_reason));
      if (is_active && !rt.active->applied) {
        rt.knobs[rt.active->knob] = std::move(rt.active->prior_history);
        rt.active.reset();
        rt.delivery_hold_until = clock_.Now() + delivery_hold_;
      }
      break;
    default:
      SetOutcome(rec, outcome, reason);
      break;
  }
}

std::optional<PastChange> Brain::LastJudgedChange(const TargetRuntime& rt,
                                                  const std::string& knob) const {
  for (auto id = rt.history.rbegin(); id != rt.history.rend(); ++id) {
    auto r = records_.find(*id);
    if (r == records_.end() || r->second.knob != knob || r->second.scenario == "rollback") continue;
    const Recommendation& rec = r->second;
    if (rec.outcome != Outcome::kVerified && rec.outcome != Outcome::kRolledBack) continue;
    PastChange c;
    c.old_value = rec.old_value;
    c.new_value = rec.new_value;
    c.verified = rec.outcome == Outcome::kVerified;
    if (auto it = rec.realized.find("realized_improvement"); it != rec.realized.end())
      c.improvement = it->second;
    if (auto it = rec.realized.find("signal_to_noise"); it != rec.realized.end())
      c.signal_to_noise = it->second;
    return c;
  }
  return std::nullopt;
}

std::vector<Recommendation> Brain::History(const std::string& target) const {
  std::vector<Recommendation> out;
  auto it = targets_.find(target);
  if (it == targets_.end()) return out;
  for (uint64_t id : it->second.history) {
    auto r = records_.find(id);
    if (r != records_.end()) out.push_back(r->second);
  }
  return out;
}

std::optional<Recommendation> Brain::Find(uint64_t id) const {
  auto it = records_.find(id);
  if (it == records_.end()) return std::nullopt;
  return it->second;
}

const TargetModel* Brain::FindModel(const std::string& target) const {
  auto it = targets_.find(target);
  return it == targets_.end() ? nullptr : &it->second.model;
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
  if (it->second.active) s.active_recommendation = it->second.active->id;
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

std::vector<std::string> Brain::DecisionLog() const {
  return {decision_log_.begin(), decision_log_.end()};
}

std::vector<std::pair<std::string, Scenario>> Brain::ScenarioTable() const {
  std::vector<std::pair<std::string, Scenario>> out;
  for (const auto& o : optimizers_)
    for (const auto& s : o->Scenarios()) out.emplace_back(std::string(o->Name()), s);
  out.emplace_back("guard", Scenario{"reprobe",
                                     "converged and quiet: one step away from the "
                                     "current value, periodically with jitter, to "
                                     "re-measure the baseline"});
  out.emplace_back("guard", Scenario{"rollback",
                                     "the verification window found the objective "
                                     "worse beyond noise, a constraint violated or "
                                     "p99 regressed: restore the old value"});
  return out;
}

Status Brain::Save(const std::string& state_dir) const {
  BrainStateData d;
  d.next_id = next_id_;
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
    for (const auto& [knob, kh] : rt.knobs) {
      BrainStateData::StoredKnob k;
      k.knob = knob;
      k.last_change_age_seconds = kh.last_change ? ToSeconds(now - *kh.last_change) : -1;
      k.values.assign(kh.values.begin(), kh.values.end());
      t.knobs.push_back(std::move(k));
    }
    t.history.assign(rt.history.begin(), rt.history.end());
    d.targets.push_back(std::move(t));
  }
  for (const auto& [id, r] : records_) {
    (void)id;
    d.records.push_back(r);
  }
  return WriteFileAtomically(state_dir + "/" + kStateFile, EncodeBrainState(d))
      .WithContext("saving the brain state");
}

Status Brain::Load(const std::string& state_dir) {
  std::string path = state_dir + "/" + kStateFile;
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError("no brain state at " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  auto d = DecodeBrainState(ss.str());
  if (!d.ok()) return d.status().WithContext(path);
  MonoTime now = clock_.Now();
  targets_.clear();
  records_.clear();
  record_target_.clear();
  next_id_ = std::max<uint64_t>(d->next_id, 1);
  for (auto& r : d->records) {
    // A change in flight when we stopped cannot be verified any more: say so.
    if (r.outcome == Outcome::kPending || r.outcome == Outcome::kApplied ||
        r.outcome == Outcome::kAdvisory) {
      r.outcome = Outcome::kExpired;
      r.outcome_reason = "knobd restarted before it was verified";
    }
    next_id_ = std::max(next_id_, r.id + 1);
    record_target_[r.id] = r.target;
    records_[r.id] = std::move(r);
  }
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
      KnobHistory& kh = rt.knobs[k.knob];
      if (k.last_change_age_seconds >= 0)
        kh.last_change = now - ToDuration(k.last_change_age_seconds);
      kh.values.assign(k.values.begin(), k.values.end());
    }
    for (uint64_t id : t.history)
      if (records_.count(id)) rt.history.push_back(id);
    // The restored model shows on /metrics at once, before the target reconnects.
    ExportModel(t.name, rt.model);
  }
  return OkStatus();
}

}  // namespace knob
