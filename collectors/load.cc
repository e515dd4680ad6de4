// SPDX-License-Identifier: Apache-2.0
#include "collectors/load.h"

#include "collectors/cgroup_fs.h"
#include "collectors/parse/loadavg.h"
#include "collectors/parse/pressure.h"

namespace knob {
namespace {

constexpr const char* kResources[] = {"cpu", "memory", "io"};

std::optional<Pressure>& Slot(PressureSet& s, int i) {
  return i == 0 ? s.cpu : (i == 1 ? s.memory : s.io);
}
const std::optional<Pressure>& Slot(const PressureSet& s, int i) {
  return i == 0 ? s.cpu : (i == 1 ? s.memory : s.io);
}

}  // namespace

LoadCollector::LoadCollector(Env& env, prometheus::Registry& reg)
    : env_(env),
      support_(reg, "load"),
      load_(reg, "knobd_host_load", "Load average from /proc/loadavg, window=1m|5m|15m"),
      tasks_(reg, "knobd_host_tasks",
             "Scheduling entities from /proc/loadavg, state=runnable|total"),
      host_ratio_(reg, "knobd_host_pressure_ratio",
                  "PSI share of time stalled (0..1), resource=cpu|memory|io, kind=some|full, "
                  "window=10s|60s|300s"),
      target_ratio_(target_series_, reg, "knobd_target_pressure_ratio",
                    "PSI of the target's cgroup v2 (0..1), labels as knobd_host_pressure_ratio"),
      host_stalled_(reg, "knobd_host_pressure_stalled_seconds_total",
                    "PSI total stall time, resource, kind"),
      target_stalled_(target_series_, reg, "knobd_target_pressure_stalled_seconds_total",
                      "PSI total stall time of the target's cgroup, resource, kind") {}

template <typename PathFn>
std::optional<PressureSet> LoadCollector::ReadPressure(FsRoot root, PathFn path, const char* source,
                                                       MonoTime now) {
  PressureSet set;
  bool any = false;
  for (int i = 0; i < 3; ++i) {
    const std::string file = path(kResources[i]);
    Status s = missing_.ShouldTry(file, now) ? env_.procfs.ReadKept(root, file, buf_)
                                             : NotFoundError(file);
    missing_.Record(file, s, now, std::chrono::seconds(30));
    if (!s.ok()) {
      // cpu is the file every PSI kernel has: its absence decides support.
      if (i == 0 && !support_.Report(source, s)) return std::nullopt;
      continue;
    }
    auto p = parse::ParsePressure(buf_);
    if (!p.ok()) continue;
    Slot(set, i) = *p;
    any = true;
  }
  if (!any) return std::nullopt;
  support_.Report(source, OkStatus());
  return set;
}

void LoadCollector::Export(const prometheus::Labels& base, const PressureSet& set, GaugeVec& ratio,
                           CounterVec& stalled) {
  for (int i = 0; i < 3; ++i) {
    const std::optional<Pressure>& p = Slot(set, i);
    if (!p) continue;
    for (int k = 0; k < 2; ++k) {
      const std::optional<PressureLine>& line = k == 0 ? p->some : p->full;
      if (!line) continue;
      prometheus::Labels l = base;
      l["resource"] = kResources[i];
      l["kind"] = k == 0 ? "some" : "full";
      stalled.Observe(l, static_cast<double>(line->total_us) / 1e6);
      l["window"] = "10s";
      ratio.Set(l, line->avg10 / 100);
      l["window"] = "60s";
      ratio.Set(l, line->avg60 / 100);
      l["window"] = "300s";
      ratio.Set(l, line->avg300 / 100);
    }
  }
}

Status LoadCollector::Collect(const CollectContext& ctx, Snapshot& out) {
  Status s = env_.procfs.ReadKept(FsRoot::kProc, "loadavg", buf_);
  if (support_.Report("loadavg", s) && s.ok()) {
    auto l = parse::ParseLoadAvg(buf_);
    if (l.ok()) {
      out.host.load1 = l->load1;
      out.host.load5 = l->load5;
      out.host.load15 = l->load15;
      out.host.runnable_tasks = static_cast<uint32_t>(l->runnable);
      out.host.total_tasks = static_cast<uint32_t>(l->total);
      load_.Set({{"window", "1m"}}, l->load1);
      load_.Set({{"window", "5m"}}, l->load5);
      load_.Set({{"window", "15m"}}, l->load15);
      tasks_.Set({{"state", "runnable"}}, static_cast<double>(l->runnable));
      tasks_.Set({{"state", "total"}}, static_cast<double>(l->total));
    }
  }
  if (support_.Supported("psi")) {
    auto host = ReadPressure(
        FsRoot::kProc, [](const char* r) { return std::string("pressure/") + r; }, "psi", ctx.now);
    if (host) {
      out.host.pressure = *host;
      Export({}, *host, host_ratio_, host_stalled_);
    }
  }
  if (!cgroup_root_) cgroup_root_ = FindCgroupV2Root(env_.procfs);
  std::set<std::string> read;
  for (auto& [name, ts] : out.targets) {
    if (ts.state != TargetState::kActive || !ts.cgroup) continue;
    read.insert(*ts.cgroup);
    if (!cgroup_root_->has_value()) {
      support_.Report("psi_cgroup", UnavailableError("no cgroup v2 hierarchy under " +
                                                     env_.procfs.RootPath(FsRoot::kSys)));
      break;
    }
    auto set = ReadPressure(
        FsRoot::kSys,
        // A reference, not the structured binding itself: clang < 16 cannot capture those.
        [&, &cgroup = *ts.cgroup](const char* r) {
          std::string file = std::string(r) + ".pressure";
          return CgroupFile(**cgroup_root_, cgroup, file.c_str());
        },
        "psi_cgroup", ctx.now);
    if (set) {
      ts.cgroup_pressure = *set;
      Export({{"target", name}}, *set, target_ratio_, target_stalled_);
    }
  }
  // A cgroup no active target is in any more (its processes left or exited) would keep its
  // cached files open for as long as knobd runs: close what is cached under it (a file still
  // read by another target or collector is opened again on its next read).
  if (cgroup_root_->has_value()) {
    for (const std::string& gone : cgroups_read_)
      if (read.count(gone) == 0)
        env_.procfs.Forget(FsRoot::kSys, CgroupFile(**cgroup_root_, gone, ""));
  }
  cgroups_read_ = std::move(read);
  sweeper_.Sweep(ctx.policy, [&](const std::string& t) { target_series_.ForgetTarget(t); });
  return OkStatus();
}

}  // namespace knob
