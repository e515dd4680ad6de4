// SPDX-License-Identifier: Apache-2.0
#pragma once
// AllocatorCollector: the target's memory seen from outside and from inside.
// Outside, per process: every tick /proc/PID/statm on a kept fd (RSS; anonymous = resident -
// shared) and /proc/PID/stat (minor/major faults); every CollectionSettings::smaps_interval
// /proc/PID/smaps_rollup (PSS, Swap; kernels >= 4.14), which walks every VMA and so costs far
// more, falling back to /proc/PID/status (VmSwap; no PSS) when it is missing or unreadable.
// Those reads are staggered by pid over the interval and capped per tick at twice the average
// (processes / (smaps_interval / tick), at least 2), so no tick reads many; a process's first
// read is never postponed. /proc/PID/stat comes from the cpu collector's ProcStatCache.
// Summed over processes (RSS double-counts pages shared between them; PSS does not). The age of
// the oldest smaps reading is TargetSnapshot::refreshed["memory_detail"].
// Inside: AppReport::allocator (jemalloc/glibc stats the client library sends over the control
// socket), exported as gauges, and fragmentation = resident / allocated when both exist.
// Thread rule: collection thread only.

#include <map>
#include <optional>
#include <string>

#include "collectors/collector.h"
#include "collectors/metrics.h"
#include "collectors/parse/statm.h"
#include "collectors/proc_stat_cache.h"
#include "core/env.h"

namespace knob {

class AllocatorCollector final : public Collector {
 public:
  // `shared_stat`: the cpu collector's this-tick /proc/PID/stat (MakeCollectors passes it), so
  // the file is not read twice per tick; null reads it here.
  AllocatorCollector(Env& env, prometheus::Registry& registry,
                     const ProcStatCache* shared_stat = nullptr);
  std::string_view Name() const override { return "allocator"; }
  Status Collect(const CollectContext& ctx, Snapshot& out) override;
  // smaps_rollup (or status fallback) reads in the last Collect; for tests and the benchmark.
  size_t detail_reads_last_tick() const { return detail_reads_tick_; }

 private:
  struct Detail {
    std::optional<uint64_t> pss_bytes;
    uint64_t swap_bytes = 0;
    std::optional<MonoTime> read_at;
    MonoTime due{};  // next smaps_rollup read
    uint64_t seen_tick = 0;
    std::optional<parse::Statm> statm;  // last statm reading, reused while the process is idle
  };
  Status CollectProcess(const ProcessKey& key, const CollectContext& ctx, Detail& detail,
                        MemoryStats& mem);
  Status ReadDetail(const std::string& base, Detail& detail, MonoTime now);

  Env& env_;
  const ProcStatCache* shared_stat_;
  parse::PidStat own_stat_;
  std::string buf_;
  uint64_t page_size_;
  std::map<ProcessKey, Detail> details_;
  uint64_t tick_ = 0;
  size_t detail_cap_ = 0, detail_reads_tick_ = 0;  // smaps_rollup reads allowed / done this tick
  SupportTracker support_;
  TargetSweeper sweeper_;
  TargetMetricTable target_series_;  // lists the per-target series below; before them
  GaugeVec rss_, pss_, anon_, swap_, app_bytes_, fragmentation_, age_;
  CounterVec faults_;
};

}  // namespace knob
