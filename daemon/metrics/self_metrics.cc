// SPDX-License-Identifier: Apache-2.0
#include "daemon/metrics/self_metrics.h"

#include <prometheus/registry.h>

#include "core/prometheus.h"
#include "knob/version.h"

namespace knob {
namespace {

// Tick durations from 1 ms (an idle host) to 10 s (a tick that blew through its interval).
const prometheus::Histogram::BucketBoundaries kTickBuckets = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

constexpr TargetState kAllStates[] = {TargetState::kPending, TargetState::kActive,
                                      TargetState::kGone, TargetState::kError,
                                      TargetState::kPaused};

}  // namespace

// A family that cannot be registered is a startup error here (core/prometheus.h): knobd's own
// health metrics are what an operator alerts on.
Result<std::unique_ptr<SelfMetrics>> SelfMetrics::Create(prometheus::Registry& registry,
                                                         WallTime start_time) {
  std::unique_ptr<SelfMetrics> m(new SelfMetrics);
  using prometheus::Counter;
  using prometheus::Gauge;
  using prometheus::Histogram;
  KNOB_ASSIGN_OR_RETURN(
      auto* build_info,
      RegisterFamily<Gauge>(registry, {"knobd_build_info",
                                       "Always 1; the version label says which knobd is running"}));
  build_info->Add({{"version", KNOB_VERSION}}).Set(1);
  KNOB_ASSIGN_OR_RETURN(auto* up, RegisterFamily<Gauge>(registry, {"knobd_up",
                                                                   "Always 1 while knobd serves "
                                                                   "metrics"}));
  up->Add({}).Set(1);
  KNOB_ASSIGN_OR_RETURN(auto* start, RegisterFamily<Gauge>(registry, {"knobd_start_time_seconds",
                                                                      "Unix time knobd started"}));
  start->Add({}).Set(std::chrono::duration<double>(start_time.time_since_epoch()).count());
  KNOB_ASSIGN_OR_RETURN(
      auto* tick_duration,
      RegisterFamily<Histogram>(registry,
                                {"knobd_tick_duration_seconds",
                                 "Wall time of one tick: collection, decision and publishing"}));
  m->tick_duration_ = &tick_duration->Add({}, kTickBuckets);
  KNOB_ASSIGN_OR_RETURN(
      auto* ticks, RegisterFamily<Counter>(registry, {"knobd_ticks_total", "Ticks completed"}));
  m->ticks_ = &ticks->Add({});
  KNOB_ASSIGN_OR_RETURN(
      auto* skipped, RegisterFamily<Counter>(
                         registry, {"knobd_ticks_skipped_total",
                                    "Ticks skipped because the previous one was still running"}));
  m->ticks_skipped_ = &skipped->Add({});
  KNOB_ASSIGN_OR_RETURN(
      m->collector_errors_,
      RegisterFamily<Counter>(registry, {"knobd_collector_errors_total",
                                         "Collect() calls that returned an error, by collector"}));
  KNOB_ASSIGN_OR_RETURN(
      auto* reload_success,
      RegisterFamily<Gauge>(registry, {"knobd_config_last_reload_success",
                                       "1 if the last policy load or reload succeeded, else 0"}));
  m->reload_success_ = &reload_success->Add({});
  KNOB_ASSIGN_OR_RETURN(
      auto* reload_timestamp,
      RegisterFamily<Gauge>(registry, {"knobd_config_last_reload_timestamp_seconds",
                                       "Unix time of the last policy load or reload attempt"}));
  m->reload_timestamp_ = &reload_timestamp->Add({});
  KNOB_ASSIGN_OR_RETURN(
      auto* reloads,
      RegisterFamily<Counter>(registry, {"knobd_config_reloads_total",
                                         "Policy reloads (SIGHUP or control socket), by result"}));
  m->reloads_ok_ = &reloads->Add({{"result", "success"}});
  m->reloads_failed_ = &reloads->Add({{"result", "failure"}});
  KNOB_ASSIGN_OR_RETURN(
      auto* targets,
      RegisterFamily<Gauge>(
          registry, {"knobd_targets", "Targets in the policy by state, as of the last tick"}));
  for (TargetState s : kAllStates) {
    m->targets_[s] = &targets->Add({{"state", std::string(TargetStateName(s))}});
  }
  KNOB_ASSIGN_OR_RETURN(
      auto* published,
      RegisterFamily<Counter>(registry, {"knobd_recommendations_published_total",
                                         "Recommendations handed to the publishers after the "
                                         "guards"}));
  m->published_ = &published->Add({});
  return m;
}

void SelfMetrics::ObserveTick(double seconds) {
  tick_duration_->Observe(seconds);
  ticks_->Increment();
}

void SelfMetrics::CountSkippedTick() { ticks_skipped_->Increment(); }

void SelfMetrics::InitCollector(const std::string& collector) {
  collector_errors_->Add({{"collector", collector}});
}

void SelfMetrics::CountCollectorError(const std::string& collector) {
  collector_errors_->Add({{"collector", collector}}).Increment();
}

void SelfMetrics::RecordInitialLoad(WallTime when) {
  reload_success_->Set(1);
  reload_timestamp_->Set(std::chrono::duration<double>(when.time_since_epoch()).count());
}

void SelfMetrics::RecordReload(bool success, WallTime when) {
  reload_success_->Set(success ? 1 : 0);
  reload_timestamp_->Set(std::chrono::duration<double>(when.time_since_epoch()).count());
  (success ? reloads_ok_ : reloads_failed_)->Increment();
}

void SelfMetrics::SetTargetsByState(const Snapshot& snapshot) {
  std::map<TargetState, int> counts;
  // A paused target counts once, as paused, whatever its lifecycle state.
  for (const auto& [name, t] : snapshot.targets)
    counts[t.paused ? TargetState::kPaused : t.state]++;
  for (auto& [state, gauge] : targets_) gauge->Set(counts[state]);
}

void SelfMetrics::CountPublished(size_t n) { published_->Increment(static_cast<double>(n)); }

}  // namespace knob
