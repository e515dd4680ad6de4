#include "collectors/allocator.h"

#include "collectors/parse/pid_stat.h"
#include "collectors/parse/pid_status.h"
#include "collectors/parse/smaps_rollup.h"

namespace knob {

AllocatorCollector::AllocatorCollector(Env& env, prometheus::Registry& reg)
    : env_(env),
      support_(reg, "allocator"),
      rss_(reg, "knobd_target_resident_memory_bytes",
           "Resident memory of the target's processes, summed (shared pages counted per process)"),
      pss_(reg, "knobd_target_proportional_memory_bytes",
           "Proportional set size (smaps_rollup Pss), summed; absent without smaps_rollup"),
      anon_(reg, "knobd_target_anonymous_memory_bytes", "Anonymous resident memory, summed"),
      swap_(reg, "knobd_target_swap_bytes", "Swapped-out memory, summed"),
      app_bytes_(reg, "knobd_target_allocator_bytes",
                 "Allocator statistics reported by the target's client library, "
                 "stat=allocated|active|resident|mapped|retained, allocator=jemalloc|glibc"),
      fragmentation_(reg, "knobd_target_allocator_fragmentation_ratio",
                     "Allocator resident / allocated as reported by the target"),
      faults_(reg, "knobd_target_page_faults_total", "Page faults, kind=minor|major") {}

Status AllocatorCollector::CollectProcess(const ProcessKey& key, MemoryStats& mem,
                                          bool& have_pss) {
  const std::string base = std::to_string(key.pid);
  KNOB_RETURN_IF_ERROR(env_.procfs.ReadKept(FsRoot::kProc, base + "/stat", buf_));
  auto st = parse::ParsePidStat(buf_);
  if (!st.ok()) return st.status();
  if (st->starttime_ticks != key.start_time_ticks) return NotFoundError(base + ": pid reused");
  mem.minor_faults += st->minflt;
  mem.major_faults += st->majflt;

  if (support_.Supported("smaps_rollup")) {
    Status s = env_.procfs.ReadKept(FsRoot::kProc, base + "/smaps_rollup", buf_);
    if (s.ok()) {
      auto r = parse::ParseSmapsRollup(buf_);
      if (r.ok()) {
        mem.rss_bytes += r->rss_bytes;
        mem.pss_bytes = mem.pss_bytes.value_or(0) + r->pss_bytes;
        mem.anon_bytes += r->anonymous_bytes;
        mem.swap_bytes += r->swap_bytes;
        have_pss = true;
        support_.Report("smaps_rollup", s);
        return OkStatus();
      }
      // An empty rollup (kernel thread, zombie): fall through to status.
    } else if (s.code() == StatusCode::kPermissionDenied || s.code() == StatusCode::kUnavailable) {
      support_.Report("smaps_rollup", s);
    }
  }
  KNOB_RETURN_IF_ERROR(env_.procfs.ReadKept(FsRoot::kProc, base + "/status", buf_));
  auto status = parse::ParsePidStatus(buf_);
  if (!status.ok()) return status.status();
  mem.rss_bytes += status->vm_rss_bytes.value_or(0);
  mem.anon_bytes += status->rss_anon_bytes.value_or(0);
  mem.swap_bytes += status->vm_swap_bytes.value_or(0);
  return OkStatus();
}

Status AllocatorCollector::Collect(const CollectContext&, Snapshot& out) {
  for (auto& [name, ts] : out.targets) {
    if (ts.state != TargetState::kActive) continue;
    const prometheus::Labels t{{"target", name}};
    if (!ts.processes.empty()) {
      MemoryStats mem;
      bool have_pss = false;
      size_t ok = 0;
      for (const ProcessKey& key : ts.processes) {
        Status s = CollectProcess(key, mem, have_pss);
        if (s.ok()) {
          ++ok;
        } else if (s.code() != StatusCode::kNotFound && ts.error.empty()) {
          ts.error = "allocator: " + s.ToString();
        }
      }
      if (ok > 0) {
        if (!have_pss) mem.pss_bytes.reset();
        rss_.Set(t, static_cast<double>(mem.rss_bytes));
        if (mem.pss_bytes) pss_.Set(t, static_cast<double>(*mem.pss_bytes));
        anon_.Set(t, static_cast<double>(mem.anon_bytes));
        swap_.Set(t, static_cast<double>(mem.swap_bytes));
        faults_.Observe({{"target", name}, {"kind", "minor"}}, static_cast<double>(mem.minor_faults));
        faults_.Observe({{"target", name}, {"kind", "major"}}, static_cast<double>(mem.major_faults));
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
  return OkStatus();
}

}  // namespace knob
