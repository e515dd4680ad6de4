// SPDX-License-Identifier: Apache-2.0
#pragma once
// knobd's own health metrics (docs/metrics.md, section "Daemon"): tick timing, collector errors,
// policy reloads, targets by state, build info, and the process's own memory and CPU.
// Thread rule: the prometheus metric objects are thread-safe; SelfMetrics is created on the loop
// thread and updated from the loop thread (tick completion, reload).

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/snapshot.h"
#include "core/status.h"

namespace prometheus {
class Registry;
}

namespace knob {

class SelfMetrics {
 public:
  // Registers every family on `registry`. Fails (instead of throwing) if a name clashes.
  static Result<std::unique_ptr<SelfMetrics>> Create(prometheus::Registry& registry,
                                                     WallTime start_time);

  void ObserveTick(double seconds);
  void CountSkippedTick();
  // Creates the collector's error series at 0, so rate() works before the first error.
  void InitCollector(const std::string& collector);
  void CountCollectorError(const std::string& collector);
  // The startup load: success 1 and its timestamp; not counted as a reload.
  void RecordInitialLoad(WallTime when);
  // Reload result: sets last_reload_success and the timestamp, counts by result.
  void RecordReload(bool success, WallTime when);
  // Sets knobd_targets{state} for every state (0 for states with no targets).
  void SetTargetsByState(const Snapshot& snapshot);
  void CountPublished(size_t n);

 private:
  SelfMetrics() = default;
  prometheus::Histogram* tick_duration_ = nullptr;
  prometheus::Counter* ticks_ = nullptr;
  prometheus::Counter* ticks_skipped_ = nullptr;
  prometheus::Family<prometheus::Counter>* collector_errors_ = nullptr;
  prometheus::Gauge* reload_success_ = nullptr;
  prometheus::Gauge* reload_timestamp_ = nullptr;
  prometheus::Counter* reloads_ok_ = nullptr;
  prometheus::Counter* reloads_failed_ = nullptr;
  std::map<TargetState, prometheus::Gauge*> targets_;
  prometheus::Counter* published_ = nullptr;
};

}  // namespace knob
