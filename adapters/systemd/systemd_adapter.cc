// SPDX-License-Identifier: Apache-2.0
// knob-systemd-adapter: makes any systemd unit's CPU quota and CPU set tunable by knobd, with
// nothing linked into the service (docs/adapters.md).
//
//   knob cpu_quota_percent  systemd's CPUQuota= (100 = one CPU); unlimited reads as 100 x the
//                           unit's CPUs
//   knob allowed_cpus       systemd's AllowedCPUs=, a CPU list ("0-3,8"): a list-valued knob
//                           (docs/protocol.md), so it works with any number of CPUs
//   Set through systemd's D-Bus API when a systemd manager runs, else by writing the unit's
//   cgroup files (unit_cgroup.h; --backend forces one, and the start-up line says which); read
//   back, either way, from the cgroup, and acked with what the kernel reports, or with systemd's
//   or the kernel's own error text.
//   report, read just before each is sent: both knobs and, from the cgroup's cpu.stat, the gauges
//   cpu_usage_seconds, throttled_seconds and throttled_periods. The unit's processes (CPU,
//   run-queue delay, throttling) are what knobd itself collects for the policy's
//   `select: {unit: ..., registered: ...}`: the adapter reports no requests or latency.
// Thread rule: after Start() everything runs on the client's thread (knob callbacks, and the
// poll before each report, which only reads cgroup files).
#include <knob/client.h>
#include <unistd.h>

#include <cmath>
#include <memory>
#include <string>

#include "adapters/common/adapter.h"
#include "adapters/systemd/unit_cgroup.h"
#include "core/cpu_list.h"

namespace knob::adapter {
namespace {

constexpr const char* kName = "knob-systemd-adapter";

class SystemdAdapter {
 public:
  SystemdAdapter(UnitBackend& backend, Client& client) : backend_(backend), client_(client) {}

  // Unlimited reads as the unit's CPUs, all of them: what "no quota" lets it use.
  Result<double> QuotaPercent() {
    KNOB_ASSIGN_OR_RETURN(std::optional<double> q, backend_.files().QuotaPercent());
    if (q) return *q;
    KNOB_ASSIGN_OR_RETURN(std::string cpus, backend_.files().EffectiveCpus());
    KNOB_ASSIGN_OR_RETURN(std::vector<int> list, ParseCpuList(cpus));
    return 100.0 * static_cast<double>(list.size());
  }

  Status Poll() {
    KNOB_ASSIGN_OR_RETURN(double quota, QuotaPercent());
    KNOB_ASSIGN_OR_RETURN(std::string cpus, backend_.files().EffectiveCpus());
    KNOB_ASSIGN_OR_RETURN(CgroupFiles::CpuStat st, backend_.files().Stat());
    client_.UpdateKnobValue("cpu_quota_percent", quota);
    client_.UpdateKnobList("allowed_cpus", cpus);
    client_.SetGauge("cpu_usage_seconds", st.usage_seconds);
    client_.SetGauge("throttled_seconds", st.throttled_seconds);
    client_.SetGauge("throttled_periods", st.throttled_periods);
    return OkStatus();
  }

  SetResult SetQuota(double percent) {
    const double want = std::round(percent);
    if (Status s = backend_.SetQuota(want); !s.ok()) return SetResult::Rejected(s.message());
    auto now = QuotaPercent();
    if (!now.ok())
      return SetResult::Rejected("set, but cannot read back: " + now.status().message());
    // The kernel keeps the quota in µs of a period: allow its rounding, not a different value.
    if (std::fabs(*now - want) > 0.5)
      return SetResult::Rejected("the cgroup reports a quota of " + std::to_string(*now) +
                                 "% after set");
    client_.UpdateKnobValue("cpu_quota_percent", *now);
    return SetResult::Applied(*now);
  }

  SetResult SetCpus(const std::string& list) {
    if (Status s = backend_.SetCpus(list); !s.ok()) return SetResult::Rejected(s.message());
    auto now = backend_.files().EffectiveCpus();
    if (!now.ok())
      return SetResult::Rejected("set, but cannot read back: " + now.status().message());
    // The effective set is the request within the parent's: a smaller one means CPUs the
    // parent does not allow (or that are offline), which is not what knobd asked for.
    if (*now != list)
      return SetResult::Rejected("the cgroup's effective CPUs are " + *now + " after setting " +
                                 list);
    client_.UpdateKnobList("allowed_cpus", *now);
    return SetResult::AppliedList(*now);
  }

 private:
  UnitBackend& backend_;
  Client& client_;
};

constexpr const char* kUsage =
    "usage: knob-systemd-adapter --unit UNIT [--backend auto|dbus|cgroup] [--cgroup PATH]\n"
    "         [--cgroup-root /sys/fs/cgroup] [--name NAME] [--knobd-socket PATH] [--interval 1s]\n"
    "         [--min-quota 10] [--max-quota PERCENT]\n"
    "Registers UNIT with knobd as NAME (default: the unit name without its suffix) with two "
    "knobs,\n"
    "cpu_quota_percent (CPUQuota=, bounded by --min-quota/--max-quota, default 10%..100% x the\n"
    "host's CPUs) and allowed_cpus (AllowedCPUs=, a CPU list). --backend auto uses systemd's\n"
    "D-Bus API when a systemd manager runs, else the cgroup files; --cgroup is the unit's group\n"
    "for the cgroup backend (default /system.slice/UNIT). See docs/adapters.md.\n";

int Main(int argc, char** argv) {
  const double host_cpus = static_cast<double>(sysconf(_SC_NPROCESSORS_ONLN));
  auto flags = Flags::Parse(argc, argv,
                            {{"unit", ""},
                             {"backend", "auto"},
                             {"cgroup", ""},
                             {"cgroup-root", "/sys/fs/cgroup"},
                             {"name", ""},
                             {"knobd-socket", ""},
                             {"interval", "1s"},
                             {"min-quota", "10"},
                             {"max-quota", std::to_string(static_cast<int>(100 * host_cpus))}});
  if (!flags.ok()) return UsageError(kName, flags.status(), kUsage);
  auto interval = flags->Duration("interval");
  auto lo = flags->Number("min-quota"), hi = flags->Number("max-quota");
  const std::string unit = flags->Get("unit"), backend_name = flags->Get("backend");
  Status unit_ok = OkStatus();
  if (unit.find('.') == std::string::npos || unit.find('/') != std::string::npos)
    unit_ok =
        InvalidArgumentError("--unit: expected a unit name like nginx.service, got '" + unit + "'");
  if (backend_name != "auto" && backend_name != "dbus" && backend_name != "cgroup")
    unit_ok = InvalidArgumentError("--backend: expected auto, dbus or cgroup, got '" +
                                   backend_name + "'");
  for (const Status& s : {interval.status(), lo.status(), hi.status(), unit_ok})
    if (!s.ok()) return UsageError(kName, s, kUsage);
  const std::string group = flags->Has("cgroup") ? flags->Get("cgroup") : "/system.slice/" + unit;
  const std::string root = flags->Get("cgroup-root");
  InstallStopHandlers();

  std::unique_ptr<UnitBackend> backend;
  std::string dbus_why;
  if (!WaitUntilUp(kName, [&]() -> Status {
        if (backend_name != "cgroup") {
          auto d = MakeDbusBackend(unit, root);
          if (d.ok()) {
            backend = std::move(*d);
            return OkStatus();
          }
          if (backend_name == "dbus") return d.status();
          dbus_why = d.status().message();
        }
        KNOB_ASSIGN_OR_RETURN(CgroupFiles files, CgroupFiles::Open(root, group));
        backend = MakeCgroupBackend(std::move(files));
        return OkStatus();
      }))
    return 0;
  Log(kName, "changing " + unit + " through " + backend->Describe() +
                 (dbus_why.empty() ? "" : " (D-Bus not used: " + dbus_why + ")"));

  std::string name = flags->Get("name");
  if (name.empty()) name = unit.substr(0, unit.rfind('.'));
  ClientOptions options = BaseClientOptions(*flags, *interval);
  options.name = name;
  Client client(options);
  SystemdAdapter adapter(*backend, client);
  auto quota = adapter.QuotaPercent();
  auto cpus = backend->files().EffectiveCpus();
  for (const Status& s : {quota.status(), cpus.status()}) {
    if (!s.ok()) {
      Log(kName, s.message());
      return 1;
    }
  }
  client.RegisterKnob(
      {.name = "cpu_quota_percent", .value = *quota, .min = *lo, .max = *hi, .unit = "percent"},
      [&](double v) { return adapter.SetQuota(v); });
  client.RegisterListKnob(
      {.name = "allowed_cpus", .value = 0, .min = {}, .max = {}, .unit = "cpu list", .list = *cpus},
      [&](const std::string& l) { return adapter.SetCpus(l); });
  return Serve(
      client, kName, [&] { return adapter.Poll(); },
      "relaying " + unit + " (CPUQuota " + std::to_string(std::lround(*quota)) + "%, AllowedCPUs " +
          *cpus + ") to knobd as '" + name + "'");
}

}  // namespace
}  // namespace knob::adapter

int main(int argc, char** argv) { return knob::adapter::Main(argc, argv); }
