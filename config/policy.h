// SPDX-License-Identifier: Apache-2.0
#pragma once
// The policy: what the user asked knobd to do, as plain values. Built only by the loader
// (config/policy_loader.h), which fills every default documented in docs/policy.md and merges
// each target's profile into the target, so consumers read resolved values and never YAML.
// Thread rule: immutable after load; shared as std::shared_ptr<const Policy>.

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace knob {

enum class Mode { kObserve, kRecommend, kApply };
enum class Objective { kMaximizeThroughput, kMinimizeP99Latency, kMinimizeCpuPerRequest };

std::string_view ModeName(Mode m);                  // "observe" | "recommend" | "apply"
std::optional<Mode> ParseMode(std::string_view s);  // the inverse of ModeName
std::vector<std::string> ModeNames();               // every mode's name, in enum order
std::string_view ObjectiveName(Objective o);        // "maximize: throughput" ...

// Limits the optimizer must never cross. Unset means unconstrained.
struct Constraints {
  std::optional<std::chrono::nanoseconds> p99_latency;
  std::optional<double> error_rate;       // fraction of requests, 0.001 == "0.1%"
  std::optional<double> cpu_cores;        // cores used by the target, e.g. 4 or 0.5
  std::optional<uint64_t> memory_bytes;   // resident bytes of the target
  std::optional<double> cpu_pressure;     // PSI cpu some avg10, fraction (0.10 == "10%")
  std::optional<double> memory_pressure;  // PSI memory some avg10, fraction
  std::optional<double> io_pressure;      // PSI io some avg10, fraction
  std::optional<std::chrono::nanoseconds> runqueue_delay;  // mean run-queue wait per timeslice
  bool operator==(const Constraints&) const = default;
};

// One tunable knob: bounds and how fast knobd may move it.
struct KnobPolicy {
  std::optional<double> min;
  std::optional<double> max;
  // Largest change per decision: a fraction of the current value ("25%") and/or an absolute
  // amount ("4"). When both are set the smaller wins; when neither, the guard default applies.
  std::optional<double> max_step_fraction;
  std::optional<double> max_step_abs;
  bool enabled = true;  // `false` freezes the knob: knobd observes it but never proposes
  bool operator==(const KnobPolicy&) const = default;
};

// `cmdline` patterns are RE2 (linear time, bounded stack). libstdc++'s std::regex matched by
// recursion, a few hundred bytes of stack per input character (GCC bug 86164): a process whose
// command line is 4 KiB of 'a', which any local user can start, overflowed the collection
// worker's stack with `server.*--port`. The pattern length is capped so a policy cannot ask
// for a megabyte automaton; the loader refuses a longer one with its position.
inline constexpr size_t kMaxCmdlineRegexBytes = 4096;

// How to find a target's processes. Any set field narrows the match (logical AND); a target
// with only `registered` is whatever client says `hello` with that name.
struct Selector {
  std::optional<pid_t> pid;
  std::optional<std::string> comm;           // exact /proc/PID/comm
  std::optional<std::string> exe;            // basename or full path of /proc/PID/exe
  std::optional<std::string> cmdline_regex;  // RE2 regex over space-joined cmdline
  std::optional<std::string> cgroup;         // cgroup v2 path, e.g. /system.slice/nginx.service
  std::optional<std::string> systemd_unit;   // e.g. nginx.service (resolved via its cgroup)
  std::optional<std::string> registered;     // name given in a control-socket hello
  bool host = false;                         // the whole host (no processes, host metrics only)
  bool operator==(const Selector&) const = default;
};

struct Profile {
  std::string name;
  std::string description;
  Objective objective = Objective::kMaximizeThroughput;
  Constraints constraints;
  std::map<std::string, KnobPolicy> knobs;
  bool operator==(const Profile&) const = default;
};

// A target after its profile was merged in (target fields override profile fields).
struct TargetPolicy {
  std::string name;
  Selector selector;
  std::string profile;  // empty when none
  Objective objective = Objective::kMaximizeThroughput;
  Constraints constraints;
  std::map<std::string, KnobPolicy> knobs;
  Mode mode = Mode::kObserve;
  bool perf_counters = false;  // hardware counters are off unless asked for (they tax the target)
  bool operator==(const TargetPolicy&) const = default;
};

struct ControlSettings {
  std::string socket_path = "/run/knobd/control.sock";
  std::string group;            // socket group; empty: knobd's own group
  uint32_t socket_mode = 0660;  // file mode of the socket: 0600, 0660 or 0666
  std::string admin_group;      // uids in this group may run admin ops; root always may
  uint64_t max_message_bytes = 64 * 1024;
  uint32_t max_clients = 1024;
  double max_messages_per_second = 100;  // per client, token bucket with burst = 2x
  std::chrono::nanoseconds idle_timeout = std::chrono::seconds(120);
  bool operator==(const ControlSettings&) const = default;
};

struct CollectionSettings {
  std::string proc_root = "/proc";
  std::string sys_root = "/sys";
  std::chrono::nanoseconds thread_interval = std::chrono::seconds(5);  // per-thread rotation
  // Full sock_diag pass (TCP with tcp_info, UDP, Unix): ~1 us of kernel time per socket, so a
  // host with 20 000 sockets pays ~20 ms per pass. 15 s is the usual Prometheus scrape interval;
  // listen queues are read every tick regardless.
  std::chrono::nanoseconds socket_dump_interval = std::chrono::seconds(15);
  std::chrono::nanoseconds fd_rescan_interval = std::chrono::seconds(30);  // /proc/PID/fd rescan
  std::chrono::nanoseconds discovery_interval = std::chrono::seconds(5);   // full /proc scan
  std::chrono::nanoseconds smaps_interval = std::chrono::seconds(30);  // smaps_rollup (PSS) re-read
  // A process whose /proc/PID/stat has not changed for this long (no CPU tick, fault or thread
  // count change) is re-read once per interval instead of every tick, until it changes again:
  // a process-wide stat read walks every thread in the kernel. 0 = every process every tick.
  std::chrono::nanoseconds idle_process_interval = std::chrono::seconds(5);
  bool per_thread_metrics = false;         // opt-in: per-thread Prometheus series
  uint32_t per_thread_metrics_limit = 64;  // busiest threads exported per target when opted in
  // Most /proc/PID/task/TID files the cpu collector reads in one tick, over all targets: bounds
  // the worst tick. Past it the thread rotation takes longer than thread_interval (the age is
  // exposed). 0 = unbounded.
  uint32_t thread_reads_per_tick = 250;
  // Per-process run-queue delay and context switches from netlink taskstats when the kernel
  // allows it (CAP_NET_ADMIN); false forces the per-thread-file rotation.
  bool use_taskstats = true;
  // Most sockets the socket collector reads from its spread-out full dump (TCP with tcp_info,
  // UDP, Unix) in one tick: bounds the worst tick. A pass is paced to finish within
  // socket_dump_interval; past this cap it takes longer (the age is exposed). 0 = unbounded
  // (the whole pass in one tick).
  uint32_t socket_dump_sockets_per_tick = 5000;
  bool operator==(const CollectionSettings&) const = default;
};

struct GuardSettings {
  std::chrono::nanoseconds cooldown = std::chrono::seconds(30);
  std::chrono::nanoseconds verification_window = std::chrono::seconds(20);
  uint32_t min_samples = 10;                // observations needed before judging a change
  double default_max_step_fraction = 0.10;  // max(1, 10%) when a knob sets no max_step
  double regression_p99_fraction = 0.10;    // p99 rise that counts as a regression inside the SLO
  double min_signal_to_noise = 3.0;         // improvement must exceed noise by this factor
  double hysteresis_fraction = 0.05;  // ignore proposals closer than this to the current value
  // A knob whose reported value changes to one knobd did not send (an operator, a deploy, the
  // service itself) is left alone this long, then re-learned from its new value. Zero: never
  // held (knobd tunes from the new value at once).
  std::chrono::nanoseconds override_hold = std::chrono::minutes(30);
  bool operator==(const GuardSettings&) const = default;
};

struct GlobalSettings {
  std::chrono::nanoseconds tick_interval = std::chrono::seconds(1);
  std::string metrics_listen = "127.0.0.1:10464";
  std::string log_level = "info";
  Mode mode = Mode::kRecommend;
  std::string state_dir = "/var/lib/knobd";
  // How often learned state is saved while running (besides at shutdown); bounds what a crash
  // can lose.
  std::chrono::nanoseconds checkpoint_interval = std::chrono::seconds(60);
  // On SIGTERM, send every knob knobd changed back to the value it first saw (as `knobctl
  // restore --all` does) before exiting.
  bool restore_on_stop = false;
  ControlSettings control;
  CollectionSettings collection;
  GuardSettings guard;
  bool operator==(const GlobalSettings&) const = default;
};

struct Policy {
  std::string source;  // file path it was loaded from ("<string>" for tests)
  GlobalSettings global;
  std::map<std::string, Profile> profiles;  // built-ins plus user-defined
  std::vector<TargetPolicy> targets;

  const TargetPolicy* FindTarget(std::string_view name) const;
  // The target a registered client with this name belongs to, if any.
  const TargetPolicy* FindRegistered(std::string_view client_name) const;
};

}  // namespace knob
