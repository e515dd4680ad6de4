// SPDX-License-Identifier: Apache-2.0
#pragma once
// CacheCollector: hardware cache counters per target via perf_event_open, and the cache
// hit/miss/byte numbers the target reports about its own caches (AppReport::caches).
//
// Perf is off unless TargetPolicy::perf_counters is set (counters tax context-switch-heavy
// targets). When on, each counter (cache references/misses, LLC loads/misses, instructions,
// cycles) is opened for every thread of each process with inherit=1, so threads created later
// by those threads are counted too; reading the parent event sums its inherited children. At
// most kMaxPerfHandles events are held in total; past that only main threads are opened.
// A probe (one instructions counter on knobd's own thread, opened and closed) on the first
// Collect sets the gauge even when no target asks for perf.
// Degraded modes: ENOENT / EOPNOTSUPP (no PMU: CI VMs, `perf stat -e cache-misses` says "not
// supported") and EACCES / EPERM (perf_event_paranoid, missing CAP_PERFMON) set
// knobd_collector_supported{collector="cache",source="perf"} 0 and log one warning with the
// reason; the app-reported numbers are exported regardless.
// Thread rule: collection thread only.

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "collectors/collector.h"
#include "collectors/metrics.h"
#include "core/env.h"

namespace knob {

class CacheCollector final : public Collector {
 public:
  static constexpr size_t kMaxPerfHandles = 2048;

  CacheCollector(Env& env, prometheus::Registry& registry);
  ~CacheCollector() override;
  std::string_view Name() const override { return "cache"; }
  Status Collect(const CollectContext& ctx, Snapshot& out) override;

  size_t open_handles() const { return handles_total_; }

 private:
  struct ProcEvents {
    std::vector<std::pair<PerfCounter, int>> handles;
    uint64_t seen_tick = 0;
  };
  // Opens events for a new process. Returns false (and closes what it opened) when perf is
  // unusable on this host.
  bool OpenProcess(const ProcessKey& key, ProcEvents& pe);
  void CloseProcess(ProcEvents& pe);
  void ExportApp(const std::string& target, const AppReport& app);
  // Opens and closes one counter on the calling thread, so knobd_collector_supported says
  // whether perf works here even while every target has perf_counters off.
  void Probe();

  Env& env_;
  std::map<ProcessKey, ProcEvents> procs_;
  size_t handles_total_ = 0;
  uint64_t tick_ = 0;
  bool probed_ = false;
  std::vector<std::string> names_;
  SupportTracker support_;
  TargetSweeper sweeper_;
  TargetMetricTable target_series_;  // lists the per-target series below; before them
  CounterVec perf_, app_hits_, app_misses_;
  GaugeVec app_bytes_, app_capacity_;
};

}  // namespace knob
