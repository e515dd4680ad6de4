#pragma once
// AllocatorCollector: the target's memory seen from outside and from inside.
// Outside, per process each tick: /proc/PID/smaps_rollup (Rss, Pss, Anonymous, Swap; kernels
// >= 4.14) on a kept fd, falling back to /proc/PID/status (VmRSS, RssAnon, VmSwap; no PSS) when
// it is missing or unreadable; minor/major faults from /proc/PID/stat. Summed over processes
// (RSS double-counts pages shared between them; PSS does not).
// Inside: AppReport::allocator (jemalloc/glibc stats the client library sends over the control
// socket), exported as gauges, and fragmentation = resident / allocated when both exist.
// Thread rule: collection thread only.

#include <string>

#include "collectors/collector.h"
#include "collectors/metrics.h"
#include "core/env.h"

namespace knob {

class AllocatorCollector final : public Collector {
 public:
  AllocatorCollector(Env& env, prometheus::Registry& registry);
  std::string_view Name() const override { return "allocator"; }
  Status Collect(const CollectContext& ctx, Snapshot& out) override;

 private:
  Status CollectProcess(const ProcessKey& key, MemoryStats& mem, bool& have_pss);

  Env& env_;
  std::string buf_;
  SupportTracker support_;
  GaugeVec rss_, pss_, anon_, swap_, app_bytes_, fragmentation_;
  CounterVec faults_;
};

}  // namespace knob
