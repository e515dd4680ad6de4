// SPDX-License-Identifier: Apache-2.0
#include "collectors/cache.h"

#include <cstdlib>

namespace knob {
namespace {

constexpr PerfCounter kCounters[] = {PerfCounter::kCacheReferences, PerfCounter::kCacheMisses,
                                     PerfCounter::kLlcLoads,        PerfCounter::kLlcLoadMisses,
                                     PerfCounter::kInstructions,    PerfCounter::kCycles};

std::optional<uint64_t>& Field(PerfStats& p, PerfCounter c) {
  switch (c) {
    case PerfCounter::kCacheReferences:
      return p.cache_references;
    case PerfCounter::kCacheMisses:
      return p.cache_misses;
    case PerfCounter::kLlcLoads:
      return p.llc_loads;
    case PerfCounter::kLlcLoadMisses:
      return p.llc_load_misses;
    case PerfCounter::kInstructions:
      return p.instructions;
    case PerfCounter::kCycles:
      return p.cycles;
  }
  return p.cycles;
}

}  // namespace

CacheCollector::CacheCollector(Env& env, prometheus::Registry& reg)
    : env_(env),
      support_(reg, "cache"),
      perf_(target_series_, reg, "knobd_target_perf_events_total",
            "Hardware events counted for the target (opt-in per target), event=cache_references|"
            "cache_misses|llc_loads|llc_load_misses|instructions|cycles"),
      app_hits_(target_series_, reg, "knobd_target_app_cache_hits_total",
                "Cache hits the target reports for its own cache, by cache name"),
      app_misses_(target_series_, reg, "knobd_target_app_cache_misses_total",
                  "Cache misses the target reports for its own cache, by cache name"),
      app_bytes_(target_series_, reg, "knobd_target_app_cache_bytes",
                 "Bytes held in the target's own cache"),
      app_capacity_(target_series_, reg, "knobd_target_app_cache_capacity_bytes",
                    "Configured capacity of the target's own cache") {}

CacheCollector::~CacheCollector() {
  for (auto& [key, pe] : procs_) CloseProcess(pe);
}

void CacheCollector::CloseProcess(ProcEvents& pe) {
  for (auto& [c, h] : pe.handles) env_.perf.Close(h);
  handles_total_ -= pe.handles.size();
  pe.handles.clear();
}

bool CacheCollector::OpenProcess(const ProcessKey& key, ProcEvents& pe) {
  std::vector<pid_t> tids;
  if (env_.procfs.ListDir(FsRoot::kProc, std::to_string(key.pid) + "/task", names_).ok()) {
    for (const std::string& n : names_) {
      pid_t tid = static_cast<pid_t>(std::strtol(n.c_str(), nullptr, 10));
      if (tid > 0) tids.push_back(tid);
    }
  }
  if (tids.empty()) tids.push_back(key.pid);
  for (pid_t tid : tids) {
    if (tid != key.pid && handles_total_ + std::size(kCounters) > kMaxPerfHandles) continue;
    for (PerfCounter c : kCounters) {
      Result<int> h = env_.perf.Open(tid, c);
      if (h.ok()) {
        pe.handles.emplace_back(c, *h);
        ++handles_total_;
        continue;
      }
      const StatusCode code = h.status().code();
      if (code == StatusCode::kUnavailable || code == StatusCode::kPermissionDenied) {
        // A missing LLC event alone is not fatal; instructions/cycles missing means no PMU.
        if (c == PerfCounter::kLlcLoads || c == PerfCounter::kLlcLoadMisses) continue;
        support_.Report("perf", h.status());
        CloseProcess(pe);
        return false;
      }
      break;  // the thread exited (NotFound) or a transient error: skip this thread
    }
  }
  if (!pe.handles.empty()) support_.Report("perf", OkStatus());
  return true;
}

void CacheCollector::ExportApp(const std::string& target, const AppReport& app) {
  for (const auto& [cache, c] : app.caches) {
    prometheus::Labels l{{"target", target}, {"cache", cache}};
    app_hits_.Observe(l, c.hits_total);
    app_misses_.Observe(l, c.misses_total);
    app_bytes_.Set(l, c.bytes);
    app_capacity_.Set(l, c.capacity_bytes);
  }
}

void CacheCollector::Probe() {
  probed_ = true;
  Result<int> h = env_.perf.Open(0, PerfCounter::kInstructions);
  if (h.ok()) {
    env_.perf.Close(*h);
    support_.Report("perf", OkStatus());
  } else {
    support_.Report("perf", h.status());
  }
}

Status CacheCollector::Collect(const CollectContext& ctx, Snapshot& out) {
  ++tick_;
  if (!probed_) Probe();
  for (auto& [name, ts] : out.targets) {
    if (ts.app) ExportApp(name, *ts.app);
    if (ts.state != TargetState::kActive || ts.processes.empty()) continue;
    const TargetPolicy* tp = nullptr;
    for (const TargetPolicy& t : ctx.policy.targets) {
      if (t.name == name) tp = &t;
    }
    if (tp == nullptr || !tp->perf_counters || !support_.Supported("perf")) continue;
    PerfStats stats;
    bool any = false;
    for (const ProcessKey& key : ts.processes) {
      auto [it, inserted] = procs_.try_emplace(key);
      it->second.seen_tick = tick_;
      if (inserted && !OpenProcess(key, it->second)) break;
      for (auto& [c, h] : it->second.handles) {
        Result<uint64_t> v = env_.perf.Read(h);
        if (!v.ok()) continue;
        auto& f = Field(stats, c);
        f = f.value_or(0) + *v;
        any = true;
      }
    }
    if (!any) continue;
    for (PerfCounter c : kCounters) {
      const auto& f = Field(stats, c);
      if (f)
        perf_.Observe({{"target", name}, {"event", std::string(PerfCounterName(c))}},
                      static_cast<double>(*f));
    }
    ts.perf = stats;
  }
  for (auto it = procs_.begin(); it != procs_.end();) {
    if (it->second.seen_tick != tick_) {
      CloseProcess(it->second);
      it = procs_.erase(it);
    } else {
      ++it;
    }
  }
  sweeper_.Sweep(ctx.policy, [&](const std::string& t) { target_series_.ForgetTarget(t); });
  return OkStatus();
}

}  // namespace knob
