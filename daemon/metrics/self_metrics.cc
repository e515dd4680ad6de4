#include "daemon/metrics/self_metrics.h"

#include <prometheus/registry.h>

#include <exception>

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

Result<std::unique_ptr<SelfMetrics>> SelfMetrics::Create(prometheus::Registry& registry,
                                                         WallTime start_time) {
  std::unique_ptr<SelfMetrics> m(new SelfMetrics);
  try {
    prometheus::BuildGauge()
        .Name("knobd_build_info")
        .Help("Always 1; the version label says which knobd is running")
        .Register(registry)
        .Add({{"version", KNOB_VERSION}})
        .Set(1);
    prometheus::BuildGauge()
        .Name("knobd_up")
        .Help("Always 1 while knobd serves metrics")
        .Register(registry)
        .Add({})
        .Set(1);
    prometheus::BuildGauge()
        .Name("knobd_start_time_seconds")
        .Help("Unix time knobd started")
        .Register(registry)
        .Add({})
        .Set(std::chrono::duration<double>(start_time.time_since_epoch()).count());
    m->tick_duration_ = &prometheus::BuildHistogram()
                             .Name("knobd_tick_duration_seconds")
                             .Help("Wall time of one tick: collection, decision and publishing")
                             .Register(registry)
                             .Add({}, kTickBuckets);
    m->ticks_ = &prometheus::BuildCounter()
                     .Name("knobd_ticks_total")
                     .Help("Ticks completed")
                     .Register(registry)
                     .Add({});
    m->ticks_skipped_ = &prometheus::BuildCounter()
                             .Name("knobd_ticks_skipped_total")
                             .Help("Ticks skipped because the previous one was still running")
                             .Register(registry)
                             .Add({});
    m->collector_errors_ = &prometheus::BuildCounter()
                                .Name("knobd_collector_errors_total")
                                .Help("Collect() calls that returned an error, by collector")
                                .Register(registry);
    m->reload_success_ = &prometheus::BuildGauge()
                              .Name("knobd_config_last_reload_success")
                              .Help("1 if the last policy load or reload succeeded, else 0")
                              .Register(registry)
                              .Add({});
    m->reload_timestamp_ = &prometheus::BuildGauge()
                                .Name("knobd_config_last_reload_timestamp_seconds")
                                .Help("Unix time of the last policy load or reload attempt")
                                .Register(registry)
                                .Add({});
    auto& reloads = prometheus::BuildCounter()
                        .Name("knobd_config_reloads_total")
                        .Help("Policy reloads (SIGHUP or control socket), by result")
                        .Register(registry);
    m->reloads_ok_ = &reloads.Add({{"result", "success"}});
    m->reloads_failed_ = &reloads.Add({{"result", "failure"}});
    auto& targets = prometheus::BuildGauge()
                        .Name("knobd_targets")
                        .Help("Targets in the policy by state, as of the last tick")
                        .Register(registry);
    for (TargetState s : kAllStates) {
      m->targets_[s] = &targets.Add({{"state", std::string(TargetStateName(s))}});
    }
    m->published_ = &prometheus::BuildCounter()
                         .Name("knobd_recommendations_published_total")
                         .Help("Recommendations handed to the publishers after the guards")
                         .Register(registry)
                         .Add({});
  } catch (const std::exception& e) {
    return InternalError(std::string("registering knobd self metrics: ") + e.what());
  }
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
  for (const auto& [name, t] : snapshot.targets) counts[t.state]++;
  for (auto& [state, gauge] : targets_) gauge->Set(counts[state]);
}

void SelfMetrics::CountPublished(size_t n) { published_->Increment(static_cast<double>(n)); }

}  // namespace knob
