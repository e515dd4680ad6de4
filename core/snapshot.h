// SPDX-License-Identifier: Apache-2.0
#pragma once
// What one tick saw: the host and every target, as raw counters and gauges in base units.
// Collectors fill their own parts (collectors/), the control server fills `app` from the
// latest `report` of the target's client; rates are derived later by the time-series store.
// This is where collectors and optimizers meet: neither folder includes the other.
// Thread rule: a Snapshot is built on one thread and then only read.

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"

namespace knob {

// A process is (pid, start time): a reused pid is a different process.
struct ProcessKey {
  pid_t pid = 0;
  uint64_t start_time_ticks = 0;  // field 22 of /proc/PID/stat, clock ticks since boot
  // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 flags the defaulted <=> itself
  auto operator<=>(const ProcessKey&) const = default;
};

enum class TargetState {
  kPending,  // policy names it, nothing matched yet
  kActive,   // processes found / client connected
  kGone,     // had processes or a client, now none; history kept
  kError,    // collection failed (reason in TargetSnapshot::error)
  // Never set by collection: pause is an operator override, kept in TargetSnapshot::paused
  // beside the lifecycle state. Only the targets gauge and `knobctl show` report it as a state.
  kPaused,
};
std::string_view TargetStateName(TargetState s);  // "pending" "active" "gone" "error" "paused"

struct CpuStats {
  double user_seconds = 0;  // summed over threads, live and exited
  double system_seconds = 0;
  double runqueue_delay_seconds = 0;  // schedstat field 2, summed over threads
  uint64_t timeslices = 0;            // schedstat field 3
  uint64_t voluntary_ctxt_switches = 0;
  uint64_t nonvoluntary_ctxt_switches = 0;
  uint32_t threads = 0;
  uint32_t allowed_cpus = 0;         // popcount of the affinity mask
  std::vector<int> threads_per_cpu;  // threads whose last CPU was i (index = cpu)
  std::optional<uint64_t> cgroup_nr_throttled;
  std::optional<double> cgroup_throttled_seconds;
  std::optional<double> cgroup_cpu_quota_cores;  // cpu.max quota/period, unset when "max"
};

struct PressureLine {                       // one "some" or "full" line of a PSI file
  double avg10 = 0, avg60 = 0, avg300 = 0;  // percent as the kernel writes it, 0..100
  uint64_t total_us = 0;
};
struct Pressure {
  std::optional<PressureLine> some, full;
};
struct PressureSet {
  std::optional<Pressure> cpu, memory, io;  // unset: file missing or PSI disabled
};

struct MemoryStats {
  uint64_t rss_bytes = 0;
  std::optional<uint64_t> pss_bytes;  // smaps_rollup only
  uint64_t anon_bytes = 0;
  uint64_t swap_bytes = 0;
  uint64_t minor_faults = 0;
  uint64_t major_faults = 0;
  // App-reported allocator resident / allocated (AppReport::allocator), when both exist.
  std::optional<double> allocator_fragmentation_ratio;
};

struct SocketStats {
  std::map<std::string, uint32_t> tcp_by_state;  // "established", "time_wait", "listen", ...
  struct Listener {
    uint16_t port = 0;
    uint32_t accept_queue = 0;  // current (rqueue of a LISTEN socket)
    uint32_t backlog = 0;       // max (wqueue of a LISTEN socket)
  };
  std::vector<Listener> listeners;
  uint64_t send_queue_bytes = 0;
  uint64_t recv_queue_bytes = 0;
  double rtt_seconds_mean = 0;
  double rttvar_seconds_mean = 0;
  uint64_t retransmits_total = 0;
  double cwnd_mean = 0;
  uint32_t udp_sockets = 0;
  uint32_t unix_sockets = 0;
  std::map<std::string, uint32_t> unix_by_type;  // "stream", "dgram", "seqpacket", "other"
};

struct PerfStats {  // hardware counters; absent on machines without a PMU
  std::optional<uint64_t> cache_references, cache_misses, llc_loads, llc_load_misses;
  std::optional<uint64_t> instructions, cycles;
};

// What the target reported about itself over the control socket (docs/protocol.md `report`).
struct AppReport {
  WallTime received{};
  double requests_total = 0;  // counters are cumulative since the client started
  double errors_total = 0;
  double in_flight = 0;
  double queue_depth = 0;
  // Latency: percentiles in seconds over the report interval, and the fixed-bucket histogram.
  std::optional<double> latency_p50_seconds, latency_p90_seconds, latency_p99_seconds;
  std::vector<double> latency_bucket_bounds_seconds;  // upper bounds, ascending
  std::vector<uint64_t> latency_bucket_counts;        // per bucket (not cumulative), this interval
  double latency_sum_seconds = 0;                     // this interval
  struct Pool {
    double size = 0, busy = 0, waiters = 0;
  };
  std::map<std::string, Pool> pools;  // e.g. "workers", "backend"
  struct Cache {
    double hits_total = 0, misses_total = 0, bytes = 0, capacity_bytes = 0;
    // SHARDS sampled reuse distances: histogram bucket upper bounds (bytes) and counts,
    // plus the count of cold (first-seen) sampled accesses.
    std::vector<double> reuse_bounds_bytes;
    std::vector<uint64_t> reuse_counts;
    uint64_t reuse_cold = 0;
    double sample_rate = 0;
  };
  std::map<std::string, Cache> caches;
  struct Allocator {
    std::string kind;  // "jemalloc" | "glibc"
    double allocated = 0, active = 0, resident = 0, mapped = 0, retained = 0;
  };
  std::optional<Allocator> allocator;
  std::map<std::string, double> knobs;  // current knob values
  // List-valued knobs (a CPU list, core/cpu_list.h): their text here, their CPU count in knobs.
  std::map<std::string, std::string> knob_lists = {};
  std::map<std::string, double> gauges;  // anything else the app sends
};

struct TargetSnapshot {
  std::string name;
  TargetState state = TargetState::kPending;
  std::string error;  // why, when state == kError (or a partial-collection warning)
  // The operator paused it (knobctl pause): set by the control side before collection, which
  // must not clear it. Collection and the brain still run on a paused target; nothing is sent.
  bool paused = false;
  std::vector<ProcessKey> processes;
  std::optional<std::string> cgroup;  // v2 path of the first process, when on cgroup v2
  std::optional<CpuStats> cpu;
  std::optional<MemoryStats> memory;
  std::optional<PressureSet> cgroup_pressure;
  std::optional<SocketStats> sockets;
  std::optional<PerfStats> perf;
  std::optional<AppReport> app;
  // When each part was last fully refreshed, for parts collected on a slower cadence than the
  // tick ("process", "threads", "runqueue", "memory_detail", "sockets", "fds"); age =
  // Snapshot::time - refreshed[part].
  std::map<std::string, MonoTime> refreshed;
};

struct HostSnapshot {
  double load1 = 0, load5 = 0, load15 = 0;
  uint32_t runnable_tasks = 0, total_tasks = 0;
  PressureSet pressure;
  // Per-core cumulative jiffies-derived seconds from /proc/stat: busy and total, index = cpu.
  std::vector<double> cpu_busy_seconds, cpu_total_seconds;
  uint32_t online_cpus = 0;
  uint64_t listen_overflows = 0, listen_drops = 0;
};

struct Snapshot {
  MonoTime time{};
  WallTime wall_time{};
  HostSnapshot host;
  std::map<std::string, TargetSnapshot> targets;  // by target name
};

}  // namespace knob
