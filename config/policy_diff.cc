// SPDX-License-Identifier: Apache-2.0
#include "config/policy_diff.h"

#include <chrono>
#include <functional>
#include <map>
#include <optional>

#include "config/suggestions.h"
#include "config/units.h"
#include "core/format.h"

namespace knob {
namespace {

using std::chrono::nanoseconds;

std::string Opt(const std::optional<nanoseconds>& v) { return v ? FormatDuration(*v) : "unset"; }
std::string Opt(const std::optional<uint64_t>& v) { return v ? FormatSize(*v) : "unset"; }
std::string OptPercent(const std::optional<double>& v) { return v ? FormatPercent(*v) : "unset"; }
std::string OptNumber(const std::optional<double>& v) { return v ? FormatNumber(*v) : "unset"; }

std::string MaxStep(const KnobPolicy& k) {
  if (k.max_step_fraction && k.max_step_abs) {
    return "[" + FormatPercent(*k.max_step_fraction) + ", " + FormatNumber(*k.max_step_abs) + "]";
  }
  if (k.max_step_fraction) return FormatPercent(*k.max_step_fraction);
  if (k.max_step_abs) return FormatNumber(*k.max_step_abs);
  return "default";
}

std::string DescribeSelector(const Selector& s) {
  std::vector<std::string> parts;
  if (s.pid) parts.push_back("pid=" + std::to_string(*s.pid));
  if (s.comm) parts.push_back("comm=" + *s.comm);
  if (s.exe) parts.push_back("exe=" + *s.exe);
  if (s.cmdline_regex) parts.push_back("cmdline=" + *s.cmdline_regex);
  if (s.cgroup) parts.push_back("cgroup=" + *s.cgroup);
  if (s.systemd_unit) parts.push_back("unit=" + *s.systemd_unit);
  if (s.registered) parts.push_back("registered=" + *s.registered);
  if (s.host) parts.push_back("host");
  return "{" + JoinList(parts) + "}";
}

class ChangeList {
 public:
  template <typename T>
  void Field(const std::string& name, const T& a, const T& b,
             const std::function<std::string(const T&)>& fmt) {
    if (!(a == b)) lines_.push_back(name + ": " + fmt(a) + " -> " + fmt(b));
  }
  void Add(std::string line) { lines_.push_back(std::move(line)); }
  std::vector<std::string> Take() { return std::move(lines_); }

 private:
  std::vector<std::string> lines_;
};

void DiffConstraints(ChangeList& out, const std::string& prefix, const Constraints& a,
                     const Constraints& b) {
  using OD = std::optional<nanoseconds>;
  using OF = std::optional<double>;
  using OS = std::optional<uint64_t>;
  auto dur = [](const OD& v) { return Opt(v); };
  auto pct = [](const OF& v) { return OptPercent(v); };
  auto num = [](const OF& v) { return OptNumber(v); };
  auto size = [](const OS& v) { return Opt(v); };
  out.Field<OD>(prefix + "p99_latency", a.p99_latency, b.p99_latency, dur);
  out.Field<OF>(prefix + "error_rate", a.error_rate, b.error_rate, pct);
  out.Field<OF>(prefix + "cpu_cores", a.cpu_cores, b.cpu_cores, num);
  out.Field<OS>(prefix + "memory", a.memory_bytes, b.memory_bytes, size);
  out.Field<OF>(prefix + "cpu_pressure", a.cpu_pressure, b.cpu_pressure, pct);
  out.Field<OF>(prefix + "memory_pressure", a.memory_pressure, b.memory_pressure, pct);
  out.Field<OF>(prefix + "io_pressure", a.io_pressure, b.io_pressure, pct);
  out.Field<OD>(prefix + "runqueue_delay", a.runqueue_delay, b.runqueue_delay, dur);
}

void DiffKnobs(ChangeList& out, const std::string& prefix,
               const std::map<std::string, KnobPolicy>& a,
               const std::map<std::string, KnobPolicy>& b) {
  using OF = std::optional<double>;
  auto num = [](const OF& v) { return OptNumber(v); };
  for (const auto& [name, k] : a) {
    if (!b.count(name)) out.Add(prefix + name + " removed");
  }
  for (const auto& [name, k] : b) {
    auto it = a.find(name);
    if (it == a.end()) {
      out.Add(prefix + name + " added (min " + OptNumber(k.min) + ", max " + OptNumber(k.max) +
              ", max_step " + MaxStep(k) + (k.enabled ? "" : ", disabled") + ")");
      continue;
    }
    const KnobPolicy& old = it->second;
    out.Field<OF>(prefix + name + " min", old.min, k.min, num);
    out.Field<OF>(prefix + name + " max", old.max, k.max, num);
    if (old.max_step_fraction != k.max_step_fraction || old.max_step_abs != k.max_step_abs) {
      out.Add(prefix + name + " max_step: " + MaxStep(old) + " -> " + MaxStep(k));
    }
    if (old.enabled != k.enabled) {
      out.Add(prefix + name + " enabled: " + (old.enabled ? "true" : "false") + " -> " +
              (k.enabled ? "true" : "false"));
    }
  }
}

}  // namespace

std::vector<std::string> DescribePolicyChanges(const Policy& before, const Policy& after) {
  ChangeList out;
  const GlobalSettings& a = before.global;
  const GlobalSettings& b = after.global;
  auto dur = [](const nanoseconds& v) { return FormatDuration(v); };
  auto str = [](const std::string& v) { return v.empty() ? std::string("\"\"") : v; };
  auto pct = [](const double& v) { return FormatPercent(v); };
  auto num = [](const double& v) { return FormatNumber(v); };
  auto u32 = [](const uint32_t& v) { return std::to_string(v); };
  auto boolean = [](const bool& v) { return std::string(v ? "true" : "false"); };
  auto mode = [](const Mode& m) { return std::string(ModeName(m)); };
  auto objective = [](const Objective& o) { return std::string(ObjectiveName(o)); };

  out.Field<nanoseconds>("tick_interval", a.tick_interval, b.tick_interval, dur);
  out.Field<std::string>("metrics_listen", a.metrics_listen, b.metrics_listen, str);
  out.Field<std::string>("log_level", a.log_level, b.log_level, str);
  out.Field<Mode>("mode", a.mode, b.mode, mode);
  out.Field<std::string>("state_dir", a.state_dir, b.state_dir, str);
  out.Field<nanoseconds>("checkpoint_interval", a.checkpoint_interval, b.checkpoint_interval, dur);
  out.Field<bool>("restore_on_stop", a.restore_on_stop, b.restore_on_stop, boolean);
  out.Field<std::string>("control.socket", a.control.socket_path, b.control.socket_path, str);
  out.Field<std::string>("control.group", a.control.group, b.control.group, str);
  out.Field<std::string>("control.admin_group", a.control.admin_group, b.control.admin_group, str);
  out.Field<uint64_t>("control.max_message_size", a.control.max_message_bytes,
                      b.control.max_message_bytes, [](const uint64_t& v) { return FormatSize(v); });
  out.Field<uint32_t>("control.max_clients", a.control.max_clients, b.control.max_clients, u32);
  out.Field<double>("control.max_messages_per_second", a.control.max_messages_per_second,
                    b.control.max_messages_per_second, num);
  out.Field<nanoseconds>("control.idle_timeout", a.control.idle_timeout, b.control.idle_timeout,
                         dur);
  out.Field<std::string>("collection.proc_root", a.collection.proc_root, b.collection.proc_root,
                         str);
  out.Field<std::string>("collection.sys_root", a.collection.sys_root, b.collection.sys_root, str);
  out.Field<nanoseconds>("collection.thread_interval", a.collection.thread_interval,
                         b.collection.thread_interval, dur);
  out.Field<nanoseconds>("collection.socket_dump_interval", a.collection.socket_dump_interval,
                         b.collection.socket_dump_interval, dur);
  out.Field<nanoseconds>("collection.fd_rescan_interval", a.collection.fd_rescan_interval,
                         b.collection.fd_rescan_interval, dur);
  out.Field<nanoseconds>("collection.discovery_interval", a.collection.discovery_interval,
                         b.collection.discovery_interval, dur);
  out.Field<nanoseconds>("collection.smaps_interval", a.collection.smaps_interval,
                         b.collection.smaps_interval, dur);
  out.Field<nanoseconds>("collection.idle_process_interval", a.collection.idle_process_interval,
                         b.collection.idle_process_interval, dur);
  out.Field<uint32_t>("collection.thread_reads_per_tick", a.collection.thread_reads_per_tick,
                      b.collection.thread_reads_per_tick, u32);
  out.Field<uint32_t>("collection.socket_dump_sockets_per_tick",
                      a.collection.socket_dump_sockets_per_tick,
                      b.collection.socket_dump_sockets_per_tick, u32);
  out.Field<bool>("collection.use_taskstats", a.collection.use_taskstats,
                  b.collection.use_taskstats, boolean);
  out.Field<bool>("collection.per_thread_metrics", a.collection.per_thread_metrics,
                  b.collection.per_thread_metrics, boolean);
  out.Field<uint32_t>("collection.per_thread_metrics_limit", a.collection.per_thread_metrics_limit,
                      b.collection.per_thread_metrics_limit, u32);
  out.Field<nanoseconds>("guard.cooldown", a.guard.cooldown, b.guard.cooldown, dur);
  out.Field<nanoseconds>("guard.verification_window", a.guard.verification_window,
                         b.guard.verification_window, dur);
  out.Field<uint32_t>("guard.min_samples", a.guard.min_samples, b.guard.min_samples, u32);
  out.Field<double>("guard.default_max_step", a.guard.default_max_step_fraction,
                    b.guard.default_max_step_fraction, pct);
  out.Field<double>("guard.regression_p99", a.guard.regression_p99_fraction,
                    b.guard.regression_p99_fraction, pct);
  out.Field<double>("guard.min_signal_to_noise", a.guard.min_signal_to_noise,
                    b.guard.min_signal_to_noise, num);
  out.Field<double>("guard.hysteresis", a.guard.hysteresis_fraction, b.guard.hysteresis_fraction,
                    pct);
  out.Field<nanoseconds>("guard.override_hold", a.guard.override_hold, b.guard.override_hold, dur);

  for (const auto& [name, p] : before.profiles) {
    if (!after.profiles.count(name)) out.Add("profile " + name + " removed");
  }
  for (const auto& [name, p] : after.profiles) {
    auto it = before.profiles.find(name);
    if (it == before.profiles.end()) {
      out.Add("profile " + name + " added");
    } else if (!(it->second == p)) {
      out.Add("profile " + name + " changed");
    }
  }

  for (const TargetPolicy& t : before.targets) {
    if (after.FindTarget(t.name) == nullptr) out.Add("target " + t.name + " removed");
  }
  for (const TargetPolicy& t : after.targets) {
    const TargetPolicy* old = before.FindTarget(t.name);
    if (old == nullptr) {
      out.Add("target " + t.name + " added (" + std::string(ModeName(t.mode)) + ", select " +
              DescribeSelector(t.selector) + ")");
      continue;
    }
    const std::string p = "target " + t.name + " ";
    if (!(old->selector == t.selector)) {
      out.Add(p + "select: " + DescribeSelector(old->selector) + " -> " +
              DescribeSelector(t.selector));
    }
    out.Field<std::string>(p + "profile", old->profile, t.profile, str);
    out.Field<Objective>(p + "objective", old->objective, t.objective, objective);
    out.Field<Mode>(p + "mode", old->mode, t.mode, mode);
    out.Field<bool>(p + "perf_counters", old->perf_counters, t.perf_counters, boolean);
    DiffConstraints(out, p + "constraint ", old->constraints, t.constraints);
    DiffKnobs(out, p + "knob ", old->knobs, t.knobs);
  }
  return out.Take();
}

}  // namespace knob
