#pragma once
// TimeSeriesStore: the in-memory windows the model reads. Per target, per named series, a fixed
// ring buffer of (monotonic time, value) samples; cumulative counters are stored raw and rates
// are derived on read, so a reader picks its own window and a missed tick only widens one gap.
//
// Rate(window) = (v_last - v_first) / (t_last - t_first) over the samples inside the window.
// A counter that drops (process restarted, pid reused: a new history) restarts the computation
// at the drop, so a rate is never negative. Memory: capacity * 16 bytes per series
// (600 samples = 10 min at 1 s ticks ~ 9.4 KiB).
//
// RecordSnapshot() appends the standard series (names in knob::series below) from a Snapshot;
// the model may Append() its own derived series too.
//
// Thread rule: not thread-safe. Written and read on the tick thread (after collection).

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/snapshot.h"

namespace knob {

namespace series {
// Target series (counters are cumulative; gauges instantaneous). Units in the names.
inline constexpr std::string_view kCpuSeconds = "cpu_seconds_total";  // user+system
inline constexpr std::string_view kCpuUserSeconds = "cpu_user_seconds_total";
inline constexpr std::string_view kCpuSystemSeconds = "cpu_system_seconds_total";
inline constexpr std::string_view kRunqueueDelaySeconds = "runqueue_delay_seconds_total";
inline constexpr std::string_view kTimeslices = "timeslices_total";
inline constexpr std::string_view kVoluntarySwitches = "voluntary_ctxt_switches_total";
inline constexpr std::string_view kInvoluntarySwitches = "nonvoluntary_ctxt_switches_total";
inline constexpr std::string_view kThreads = "threads";
inline constexpr std::string_view kThrottledSeconds = "cgroup_throttled_seconds_total";
inline constexpr std::string_view kRssBytes = "rss_bytes";
inline constexpr std::string_view kPssBytes = "pss_bytes";
inline constexpr std::string_view kMajorFaults = "major_faults_total";
inline constexpr std::string_view kMinorFaults = "minor_faults_total";
inline constexpr std::string_view kCgroupCpuPressureSome = "cgroup_cpu_pressure_some_avg10";
inline constexpr std::string_view kAcceptQueue = "accept_queue";  // summed over listeners
inline constexpr std::string_view kRetransmits = "tcp_retransmits_total";
inline constexpr std::string_view kRttSeconds = "tcp_rtt_seconds_mean";
inline constexpr std::string_view kCacheMisses = "perf_cache_misses_total";
inline constexpr std::string_view kInstructions = "perf_instructions_total";
inline constexpr std::string_view kAppRequests = "app_requests_total";
inline constexpr std::string_view kAppErrors = "app_errors_total";
inline constexpr std::string_view kAppInFlight = "app_in_flight";
inline constexpr std::string_view kAppP99Seconds = "app_latency_p99_seconds";
// Host series, stored under target kHostTarget.
inline constexpr std::string_view kHostTarget = "_host";
inline constexpr std::string_view kHostLoad1 = "load1";
inline constexpr std::string_view kHostCpuBusySeconds = "cpu_busy_seconds_total";  // all cores
inline constexpr std::string_view kHostCpuTotalSeconds = "cpu_total_seconds_total";
inline constexpr std::string_view kHostCpuPressureSome = "cpu_pressure_some_avg10";
inline constexpr std::string_view kHostListenOverflows = "listen_overflows_total";
}  // namespace series

struct Sample {
  MonoTime time{};
  double value = 0;
};

// Fixed-capacity ring of samples, oldest first.
class SampleRing {
 public:
  explicit SampleRing(size_t capacity);
  void Push(Sample s);
  size_t size() const { return size_; }
  size_t capacity() const { return buf_.size(); }
  const Sample& at(size_t i) const;  // 0 = oldest
  const Sample& back() const { return at(size_ - 1); }
  bool empty() const { return size_ == 0; }

 private:
  std::vector<Sample> buf_;
  size_t head_ = 0;  // index of the oldest sample
  size_t size_ = 0;
};

class TimeSeriesStore {
 public:
  explicit TimeSeriesStore(size_t capacity_per_series = 600);

  void Append(std::string_view target, std::string_view name, MonoTime t, double v);
  const SampleRing* Find(std::string_view target, std::string_view name) const;
  std::optional<Sample> Latest(std::string_view target, std::string_view name) const;
  // Per-second rate of a cumulative counter over the last `window` before the newest sample.
  // Unset with fewer than two samples in the window.
  std::optional<double> Rate(std::string_view target, std::string_view name, Duration window) const;
  // Mean of a gauge over the last `window` before the newest sample.
  std::optional<double> Mean(std::string_view target, std::string_view name, Duration window) const;
  // Copies of the samples in the window, oldest first.
  std::vector<Sample> Window(std::string_view target, std::string_view name, Duration window) const;
  // How old the newest sample is at `now` (the model may refuse stale data).
  std::optional<Duration> Age(std::string_view target, std::string_view name, MonoTime now) const;

  // Appends the standard series from one snapshot at snapshot.time.
  void RecordSnapshot(const Snapshot& snapshot);
  void ForgetTarget(std::string_view target);
  std::vector<std::string> Targets() const;

 private:
  size_t capacity_;
  std::map<std::string, std::map<std::string, SampleRing, std::less<>>, std::less<>> data_;
};

}  // namespace knob
