// SPDX-License-Identifier: Apache-2.0
#include "daemon/metrics/target_metrics.h"

#include <prometheus/registry.h>

#include <chrono>
#include <cmath>

namespace knob {
namespace {

// Below this the optimizers explore instead of trusting the fit (docs/model.md).
constexpr double kTrustedConfidence = 0.3;

const std::vector<std::pair<TargetPhase, std::string_view>>& PhaseNames() {
  static const std::vector<std::pair<TargetPhase, std::string_view>> names = {
      {TargetPhase::kLearning, "learning"},   {TargetPhase::kExploring, "exploring"},
      {TargetPhase::kVerifying, "verifying"}, {TargetPhase::kConverged, "converged"},
      {TargetPhase::kPaused, "paused"},       {TargetPhase::kOverridden, "overridden"}};
  return names;
}

double Seconds(std::chrono::nanoseconds d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

std::string_view TargetPhaseName(TargetPhase p) {
  for (const auto& [phase, name] : PhaseNames())
    if (phase == p) return name;
  return "unknown";
}

const std::vector<TargetPhase>& AllTargetPhases() {
  static const std::vector<TargetPhase> all = [] {
    std::vector<TargetPhase> v;
    for (const auto& [phase, name] : PhaseNames()) v.push_back(phase);
    return v;
  }();
  return all;
}

TargetPhase PhaseOf(const PhaseInputs& in) {
  if (in.state == TargetState::kPaused) return TargetPhase::kPaused;
  if (in.mode_overridden) return TargetPhase::kOverridden;
  if (in.newest_outcome &&
      (*in.newest_outcome == Outcome::kPending || *in.newest_outcome == Outcome::kApplied ||
       *in.newest_outcome == Outcome::kProposed))
    return TargetPhase::kVerifying;
  if (in.observations < in.min_samples) return TargetPhase::kLearning;
  if (!in.confidence || *in.confidence < kTrustedConfidence) return TargetPhase::kExploring;
  return TargetPhase::kConverged;
}

TargetMetrics::TargetMetrics(prometheus::Registry& registry)
    : requests_(table_, registry, "knobd_target_requests_total",
                "Requests the target reports having served (control socket report)"),
      errors_(table_, registry, "knobd_target_errors_total",
              "Failed requests the target reports (control socket report)"),
      knob_value_(table_, registry, "knobd_target_knob_value",
                  "Value of a knob as the target last reported it (applied), in the knob's unit"),
      phase_(table_, registry, "knobd_target_phase",
             "1 for the phase knobd is in with the target, 0 for the others"),
      headroom_seconds_(table_, registry, "knobd_target_constraint_headroom_seconds",
                        "Limit minus measured value of a constraint measured in seconds"),
      headroom_ratio_(table_, registry, "knobd_target_constraint_headroom_ratio",
                      "Limit minus measured value of a constraint that is a fraction (0..1)"),
      headroom_cores_(table_, registry, "knobd_target_constraint_headroom_cores",
                      "CPU limit minus the cores the target uses"),
      headroom_bytes_(table_, registry, "knobd_target_constraint_headroom_bytes",
                      "Memory limit minus the target's resident bytes"),
      latency_family_(&FamilyOrUnscraped<prometheus::Histogram>(
          registry, {"knobd_target_request_duration_seconds",
                     "Request latency the target reports, from its report's buckets"})) {}

void TargetMetrics::Update(const Policy& effective, const Policy* configured,
                           const Snapshot& snapshot, const BrainQueries* brain) {
  std::set<std::string> seen;
  for (const auto& [name, ts] : snapshot.targets) {
    const TargetPolicy* tp = effective.FindTarget(name);
    if (tp == nullptr || ts.state == TargetState::kGone) continue;
    seen.insert(name);
    known_.insert(name);
    const prometheus::Labels target{{"target", name}};

    if (ts.app) {
      const AppReport& app = *ts.app;
      requests_.Observe(target, app.requests_total);
      errors_.Observe(target, app.errors_total);
      for (const auto& [knob, value] : app.knobs)
        if (std::isfinite(value)) knob_value_.Set({{"target", name}, {"knob", knob}}, value);
      UpdateLatency(name, app);
    }
    UpdateHeadroom(*tp, ts, snapshot.time);

    PhaseInputs in;
    in.state = ts.state;
    in.min_samples = effective.global.guard.min_samples;
    if (configured != nullptr) {
      const TargetPolicy* file = configured->FindTarget(name);
      in.mode_overridden = file != nullptr && file->mode != tp->mode;
    }
    if (brain != nullptr) {
      auto newest = brain->History(name, 1);
      if (!newest.empty()) in.newest_outcome = newest.front().outcome;
      if (auto model = brain->Model(name)) {
        auto get = [&](const char* key) -> std::optional<double> {
          auto it = model->model.find(key);
          if (it == model->model.end()) return std::nullopt;
          return it->second;
        };
        in.observations = static_cast<size_t>(get("observations").value_or(0));
        in.confidence = get("usl.confidence");
      }
    }
    TargetPhase now = PhaseOf(in);
    for (TargetPhase p : AllTargetPhases())
      phase_.Set({{"target", name}, {"phase", std::string(TargetPhaseName(p))}}, p == now ? 1 : 0);
  }
  for (auto it = known_.begin(); it != known_.end();) {
    if (seen.count(*it) == 0) {
      Forget(*it);
      it = known_.erase(it);
    } else {
      ++it;
    }
  }
}

// Each report is counted once (a tick without a new report must not count the old one again);
// reports the client sends faster than the tick are not seen, so the histogram samples the
// target's traffic at the tick rate (its counters, cumulative, lose nothing).
void TargetMetrics::UpdateLatency(const std::string& target, const AppReport& app) {
  Last& last = last_[target];
  if (app.received == last.received) return;
  last.received = app.received;
  const auto& bounds = app.latency_bucket_bounds_seconds;
  const auto& counts = app.latency_bucket_counts;
  if (bounds.empty() || counts.size() != bounds.size()) return;
  Latency& l = latency_[target];
  if (l.histogram == nullptr || l.bounds != bounds) {
    // New bucket layout (a client restart with other bounds): a new series, as a client
    // library would start one.
    if (l.histogram != nullptr) latency_family_->Remove(l.histogram);
    l.bounds = bounds;
    l.histogram = &latency_family_->Add({{"target", target}}, bounds);
  }
  // The protocol puts samples above the last bound into the last bucket, so +Inf adds nothing.
  std::vector<double> increments(counts.begin(), counts.end());
  increments.push_back(0);
  l.histogram->ObserveMultiple(increments, app.latency_sum_seconds);
}

void TargetMetrics::UpdateHeadroom(const TargetPolicy& tp, const TargetSnapshot& ts, MonoTime now) {
  const std::string& name = tp.name;
  const Constraints& c = tp.constraints;
  Last& last = last_[name];
  auto set = [&](GaugeVec& vec, const char* constraint, double value) {
    vec.Set({{"target", name}, {"constraint", constraint}}, value);
  };
  if (ts.app) {
    const AppReport& app = *ts.app;
    double dreq = app.requests_total - last.requests;
    double derr = app.errors_total - last.errors;
    // As the brain measures it (optimizers/models/target_model.cc): clients count successes in
    // requests_total and failures apart, so the rate is failures over all attempts.
    if (dreq >= 0 && derr >= 0 && dreq + derr > 0 && (last.requests > 0 || last.errors > 0))
      last.error_rate = derr / (dreq + derr);
    if (dreq != 0 || derr != 0) {
      last.requests = app.requests_total;
      last.errors = app.errors_total;
    }
    if (c.p99_latency && app.latency_p99_seconds)
      set(headroom_seconds_, "p99_latency", Seconds(*c.p99_latency) - *app.latency_p99_seconds);
    if (c.error_rate && last.error_rate)
      set(headroom_ratio_, "error_rate", *c.error_rate - *last.error_rate);
  }
  if (ts.cpu) {
    double cpu = ts.cpu->user_seconds + ts.cpu->system_seconds;
    if (last.cpu_time != MonoTime{} && now > last.cpu_time && cpu >= last.cpu_seconds)
      last.cpu_cores = (cpu - last.cpu_seconds) / Seconds(now - last.cpu_time);
    last.cpu_seconds = cpu;
    last.cpu_time = now;
    if (c.cpu_cores && last.cpu_cores)
      set(headroom_cores_, "cpu_cores", *c.cpu_cores - *last.cpu_cores);
  }
  if (c.memory_bytes && ts.memory)
    set(headroom_bytes_, "memory_bytes",
        static_cast<double>(*c.memory_bytes) - static_cast<double>(ts.memory->rss_bytes));
  if (ts.cgroup_pressure) {
    auto psi = [&](const std::optional<double>& limit, const std::optional<Pressure>& p,
                   const char* constraint) {
      if (limit && p && p->some) set(headroom_ratio_, constraint, *limit - p->some->avg10 / 100);
    };
    psi(c.cpu_pressure, ts.cgroup_pressure->cpu, "cpu_pressure");
    psi(c.memory_pressure, ts.cgroup_pressure->memory, "memory_pressure");
    psi(c.io_pressure, ts.cgroup_pressure->io, "io_pressure");
  }
}

void TargetMetrics::Forget(const std::string& target) {
  table_.ForgetTarget(target);
  auto it = latency_.find(target);
  if (it != latency_.end()) {
    if (it->second.histogram != nullptr) latency_family_->Remove(it->second.histogram);
    latency_.erase(it);
  }
  last_.erase(target);
}

MeteredDecider::MeteredDecider(std::unique_ptr<Decider> inner, const BrainQueries* brain,
                               prometheus::Registry& registry,
                               std::function<std::shared_ptr<const Policy>()> configured)
    : inner_(std::move(inner)),
      brain_(brain),
      metrics_(registry),
      configured_(std::move(configured)) {}

void MeteredDecider::Observe(const Policy& policy, const Snapshot& snapshot) {
  inner_->Observe(policy, snapshot);
  std::shared_ptr<const Policy> file = configured_ ? configured_() : nullptr;
  metrics_.Update(policy, file.get(), snapshot, brain_);
}

}  // namespace knob
