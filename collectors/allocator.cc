// SPDX-License-Identifier: Apache-2.0
#include "collectors/allocator.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>

#include "collectors/parse/pid_stat.h"
#include "collectors/parse/pid_status.h"
#include "collectors/parse/smaps_rollup.h"
#include "collectors/parse/statm.h"

namespace knob {

AllocatorCollector::AllocatorCollector(Env& env, prometheus::Registry& reg,
                                       const ProcStatCache* shared_stat)
    : env_(env),
      shared_stat_(shared_stat),
      support_(reg, "allocator"),
      rss_(target_series_, reg, "knobd_target_resident_memory_bytes",
           "Resident memory of the target's processes, summed (shared pages counted per process)"),
      pss_(target_series_, reg, "knobd_target_proportional_memory_bytes",
           "Proportional set size (smaps_rollup Pss), summed; absent without smaps_rollup"),
      anon_(target_series_, reg, "knobd_target_anonymous_memory_bytes",
            "Anonymous resident memory, summed"),
      swap_(target_series_, reg, "knobd_target_swap_bytes", "Swapped-out memory, summed"),
      app_bytes_(target_series_, reg, "knobd_target_allocator_bytes",
                 "Allocator statistics reported by the target's client library, "
                 "stat=allocated|active|resident|mapped|retained, allocator=jemalloc|glibc"),
      fragmentation_(target_series_, reg, "knobd_target_allocator_fragmentation_ratio",
                     "Allocator resident / allocated as reported by the target"),
      age_(target_series_, reg, "knobd_collector_sample_age_seconds",
           "Age of the oldest reading behind a slow-cadence part of a target's snapshot"),
      faults_(target_series_, reg, "knobd_target_page_faults_total",
              "Page faults, kind=minor|major") {
  page_size_ = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

Status AllocatorCollector::ReadDetail(const std::string& base, Detail& d, MonoTime now) {
  if (support_.Supported("smaps_rollup")) {
    Status s = env_.procfs.ReadKept(FsRoot::kProc, base + "/smaps_rollup", buf_);
    if (s.ok()) {
      auto r = parse::ParseSmapsRollup(buf_);
      if (r.ok()) {
        d.pss_bytes = r->pss_bytes;
        d.swap_bytes = r->swap_bytes;
        d.read_at = now;
        support_.Report("smaps_rollup", s);
        return OkStatus();
      }
      // An empty or cut rollup (kernel thread, zombie, short read): fall through to status.
    } else if (s.code() == StatusCode::kPermissionDenied || s.code() == StatusCode::kUnavailable) {
      support_.Report("smaps_rollup", s);
    }
  }
  KNOB_RETURN_IF_ERROR(env_.procfs.ReadKept(FsRoot::kProc, base + "/status", buf_));
  auto status = parse::ParsePidStatus(buf_);
  if (!status.ok()) return status.status();
  d.pss_bytes.reset();
  d.swap_bytes = status->vm_swap_bytes.value_or(0);
  d.read_at = now;
  return OkStatus();
}

Status AllocatorCollector::CollectProcess(const ProcessKey& key, const CollectContext& ctx,
                                          Detail& detail, MemoryStats& mem) {
  const std::string base = std::to_string(key.pid);
  const parse::PidStat* st = shared_stat_ != nullptr ? shared_stat_->Get(key, ctx.now) : nullptr;
  if (st == nullptr) {
    KNOB_RETURN_IF_ERROR(env_.procfs.ReadKept(FsRoot::kProc, base + "/stat", buf_));
    auto parsed = parse::ParsePidStat(buf_);
    if (!parsed.ok()) return parsed.status();
    own_stat_ = std::move(*parsed);
    st = &own_stat_;
  }
  if (st->starttime_ticks != key.start_time_ticks) return NotFoundError(base + ": pid reused");
  // An idle process (the cpu collector found its stat unchanged for idle_process_interval and
  // did not re-read it) has not faulted, so its resident set has not grown: its last statm
  // stands until its next stat read (reclaim could only have shrunk it meanwhile).
  const bool idle = shared_stat_ != nullptr && shared_stat_->Idle(key, ctx.now);
  if (!idle || !detail.statm) {
    KNOB_RETURN_IF_ERROR(env_.procfs.ReadKept(FsRoot::kProc, base + "/statm", buf_));
    auto parsed = parse::ParseStatm(buf_);
    if (!parsed.ok()) return parsed.status();
    detail.statm = *parsed;
  }
  const parse::Statm* sm = &*detail.statm;
  const bool first = !detail.read_at;
  // A first read is never postponed (PSS would be missing); later ones share a per-tick cap so
  // that pids crowding into the same stagger slot cannot line up in one tick.
  if (first || (ctx.now >= detail.due && detail_reads_tick_ < detail_cap_)) {
    ++detail_reads_tick_;
    KNOB_RETURN_IF_ERROR(ReadDetail(base, detail, ctx.now));
    // smaps_rollup walks every mapping (~130 us for a process with 100 thread stacks): after
    // the first read, spread processes over the interval by pid so no tick reads them all.
    const Duration interval = ctx.policy.global.collection.smaps_interval;
    const int64_t tick = std::max<int64_t>(1, ctx.policy.global.tick_interval.count());
    const int64_t slots = std::max<int64_t>(1, interval.count() / tick);
    detail.due = ctx.now + interval -
                 (first ? Duration(tick * (static_cast<int64_t>(key.pid) % slots)) : Duration(0));
  }
  mem.minor_faults += st->minflt;
  mem.major_faults += st->majflt;
  mem.rss_bytes += sm->resident_pages * page_size_;
  mem.anon_bytes +=
      (sm->resident_pages - std::min(sm->resident_pages, sm->shared_pages)) * page_size_;
  mem.swap_bytes += detail.swap_bytes;
  if (detail.pss_bytes) mem.pss_bytes = mem.pss_bytes.value_or(0) + *detail.pss_bytes;
  return OkStatus();
}

Status AllocatorCollector::Collect(const CollectContext& ctx, Snapshot& out) {
  ++tick_;
  size_t processes = 0;
  for (const auto& [name, ts] : out.targets) {
    if (ts.state == TargetState::kActive) processes += ts.processes.size();
  }
  // Each process wants one smaps_rollup read per smaps_interval: processes/slots per tick on
  // average. Twice that (at least 2) absorbs uneven slots without letting a tick pay for many.
  const double slots =
      std::max(1.0, ToSeconds(ctx.policy.global.collection.smaps_interval) /
                        std::max(1e-3, ToSeconds(ctx.policy.global.tick_interval)));
  detail_cap_ = std::max<size_t>(
      2, 2 * static_cast<size_t>(std::ceil(static_cast<double>(processes) / slots)));
  detail_reads_tick_ = 0;
  for (auto& [name, ts] : out.targets) {
    if (ts.state != TargetState::kActive) continue;
    const prometheus::Labels t{{"target", name}};
    if (!ts.processes.empty()) {
      MemoryStats mem;
      size_t ok = 0;
      std::optional<MonoTime> oldest;
      for (const ProcessKey& key : ts.processes) {
        Detail& d = details_[key];
        d.seen_tick = tick_;
        Status s = CollectProcess(key, ctx, d, mem);
        if (s.ok()) {
          ++ok;
          if (d.read_at && (!oldest || *d.read_at < *oldest)) oldest = d.read_at;
        } else if (s.code() == StatusCode::kNotFound) {
          details_.erase(key);
        } else if (ts.error.empty()) {
          ts.error = "allocator: " + s.ToString();
        }
      }
      if (ok > 0) {
        if (oldest) {
          ts.refreshed["memory_detail"] = *oldest;
          age_.Set({{"target", name}, {"part", "memory_detail"}}, ToSeconds(ctx.now - *oldest));
        }
        rss_.Set(t, static_cast<double>(mem.rss_bytes));
        if (mem.pss_bytes) pss_.Set(t, static_cast<double>(*mem.pss_bytes));
        anon_.Set(t, static_cast<double>(mem.anon_bytes));
        swap_.Set(t, static_cast<double>(mem.swap_bytes));
        faults_.Observe({{"target", name}, {"kind", "minor"}},
                        static_cast<double>(mem.minor_faults));
        faults_.Observe({{"target", name}, {"kind", "major"}},
                        static_cast<double>(mem.major_faults));
        ts.memory = mem;
      }
    }
    if (ts.app && ts.app->allocator) {
      const AppReport::Allocator& a = *ts.app->allocator;
      const std::pair<const char*, double> stats[] = {{"allocated", a.allocated},
                                                      {"active", a.active},
                                                      {"resident", a.resident},
                                                      {"mapped", a.mapped},
                                                      {"retained", a.retained}};
      for (const auto& [stat, v] : stats) {
        app_bytes_.Set({{"target", name}, {"allocator", a.kind}, {"stat", stat}}, v);
      }
      if (a.allocated > 0 && a.resident > 0) {
        double ratio = a.resident / a.allocated;
        fragmentation_.Set(t, ratio);
        if (!ts.memory) ts.memory = MemoryStats{};
        ts.memory->allocator_fragmentation_ratio = ratio;
      }
    }
  }
  for (auto it = details_.begin(); it != details_.end();) {
    it = it->second.seen_tick == tick_ ? std::next(it) : details_.erase(it);
  }
  sweeper_.Sweep(ctx.policy, [&](const std::string& t) { target_series_.ForgetTarget(t); });
  return OkStatus();
}

}  // namespace knob
