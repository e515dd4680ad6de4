// SPDX-License-Identifier: Apache-2.0
#pragma once
// knob::Client: makes a service tunable by knobd. The service registers its knobs with a
// callback, records requests on its hot path, and a background thread does the rest: connects
// to knobd's control socket, says hello, sends a report every tick, applies `set` messages by
// calling the knob's callback and acks the result, and reconnects with exponential backoff when
// knobd restarts. Protocol: docs/protocol.md.
//
//   knob::Client client({.name = "my-service"});
//   client.RegisterKnob({.name = "worker_threads", .value = 8, .min = 1, .max = 64,
//                        .unit = "threads"},
//                       [&](double v) { return pool.Resize(v) ? knob::SetResult::Applied()
//                                                            : knob::SetResult::Rejected("busy");
//                                                            });
//   client.Start();
//   ... on each request: client.RecordRequest(latency);   // lock-free
//
// Guarantees: no method throws; no method called from an application thread blocks on the
// socket (the hot-path methods are atomics only; pool()/cache()/gauges take a short mutex on
// first use of a name); knob callbacks run on the client's background thread, one at a time.
// Thread rule: every method may be called from any thread, except that Start/Stop and the
// destructor must not run concurrently with each other.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "knob/histogram.h"
#include "knob/shards.h"
#include "knob/status.h"

namespace knob {

// The report as the protocol carries it (core/snapshot.h inside knobd's tree). Only BuildReport
// names it; an installed consumer never needs its definition.
struct AppReport;

struct SetResult {
  bool applied = true;
  std::string reason;           // why rejected (or a note about what was applied)
  std::optional<double> value;  // the value actually in effect, when it differs from requested
  // A list-valued knob: the CPU list actually in effect (e.g. what the kernel made of it).
  std::optional<std::string> list = std::nullopt;
  static SetResult Applied(std::optional<double> actual = std::nullopt) {
    return {true, "", actual, std::nullopt};
  }
  static SetResult AppliedList(std::string actual) {
    return {true, "", std::nullopt, std::move(actual)};
  }
  static SetResult Rejected(std::string why) {
    return {false, std::move(why), std::nullopt, std::nullopt};
  }
};

struct KnobSpec {
  std::string name;
  double value = 0;  // current value
  std::optional<double> min;
  std::optional<double> max;
  std::string unit;
  // A list-valued knob (RegisterListKnob): its current CPU list ("0-3,8"); `value` is then
  // ignored and reported as the number of CPUs in it.
  std::optional<std::string> list = std::nullopt;
};

struct ClientOptions {
  std::string name;  // registered name; the policy's `registered: NAME` selector matches it
  // Empty: $KNOBD_SOCKET, else /run/knobd/control.sock.
  std::string socket_path;
  std::chrono::milliseconds initial_backoff{100};
  std::chrono::milliseconds max_backoff{5000};
  // Report interval until the daemon's welcome says otherwise.
  std::chrono::milliseconds default_report_interval{1000};
  // Upper bounds of the latency histogram; empty: 50 µs doubling to ~105 s (22 buckets).
  std::vector<double> latency_bounds_seconds;
};

// Gauges of one pool (threads, connections). Plain atomics: set them from any thread.
struct PoolGauges {
  std::atomic<double> size{0}, busy{0}, waiters{0};
};

// Counters of one cache plus its SHARDS reuse-distance sampler.
class CacheStats {
 public:
  explicit CacheStats(double sample_rate) : sampler_(sample_rate) {}
  void Hit() { hits_.fetch_add(1, std::memory_order_relaxed); }
  void Miss() { misses_.fetch_add(1, std::memory_order_relaxed); }
  // Counts taken from a server's own statistics (adapters/): many lookups at once.
  void Add(uint64_t hits, uint64_t misses) {
    hits_.fetch_add(hits, std::memory_order_relaxed);
    misses_.fetch_add(misses, std::memory_order_relaxed);
  }
  void SetBytes(double b) { bytes_.store(b, std::memory_order_relaxed); }
  void SetCapacity(double b) { capacity_.store(b, std::memory_order_relaxed); }
  // Every access (hit or miss) with the item's size: feeds the miss-ratio curve. Only sampled
  // keys (about sample_rate of them) take the sampler's lock.
  void Access(std::string_view key, uint64_t size_bytes) { sampler_.Access(key, size_bytes); }

  uint64_t hits() const { return hits_.load(std::memory_order_relaxed); }
  uint64_t misses() const { return misses_.load(std::memory_order_relaxed); }
  double bytes() const { return bytes_.load(std::memory_order_relaxed); }
  double capacity_bytes() const { return capacity_.load(std::memory_order_relaxed); }
  const ShardsSampler& sampler() const { return sampler_; }

 private:
  std::atomic<uint64_t> hits_{0}, misses_{0};
  std::atomic<double> bytes_{0}, capacity_{0};
  ShardsSampler sampler_;
};

class Client {
 public:
  using OnSet = std::function<SetResult(double value)>;
  // A list-valued knob's callback gets the CPU list in canonical form ("0-3,8").
  using OnSetList = std::function<SetResult(const std::string& list)>;

  explicit Client(ClientOptions options);
  ~Client();  // Stop()
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Registers (or replaces) a knob. Knobs registered after Start() are announced on the next
  // connection. `on_set` runs on the background thread.
  void RegisterKnob(KnobSpec spec, OnSet on_set);
  // Registers a knob whose value is a CPU list (spec.list; docs/protocol.md, list-valued knobs),
  // such as the cores a service may run on: a list, not a mask, so any number of CPUs works.
  void RegisterListKnob(KnobSpec spec, OnSetList on_set);
  // The app changed a knob itself: report the new value.
  void UpdateKnobValue(const std::string& name, double value);
  // The same for a list-valued knob; a text that is not a CPU list is ignored.
  void UpdateKnobList(const std::string& name, const std::string& list);

  // `fn` runs on the background thread right before each report is built (call before Start()).
  // A relay of another server's counters (adapters/) reads them here: read on a timer of its own
  // at the report's period, by phase one report carried no new counters and the next two
  // intervals' worth, and knobd saw the rate as 0 then twice it.
  void SetBeforeReport(std::function<void()> fn) { before_report_ = std::move(fn); }

  // Starts the background thread. Fails only if the thread cannot be created.
  Status Start();
  // Says bye, closes, joins the thread. Idempotent.
  void Stop();

  // --- Hot path: lock-free ---
  void RecordRequest(std::chrono::nanoseconds latency) { latency_.Record(latency); }
  void RecordError() { errors_.fetch_add(1, std::memory_order_relaxed); }
  // `n` requests that each took `latency`, `n` errors: for adapters that relay a server's own
  // counters and histogram buckets (adapters/) instead of timing requests themselves.
  void RecordRequests(uint64_t n, std::chrono::nanoseconds latency) { latency_.Record(latency, n); }
  void RecordErrors(uint64_t n) { errors_.fetch_add(n, std::memory_order_relaxed); }
  void SetInFlight(double n) { in_flight_.store(n, std::memory_order_relaxed); }
  void SetQueueDepth(double n) { queue_depth_.store(n, std::memory_order_relaxed); }

  // --- Named gauges: the first call for a name takes a mutex, the returned reference is
  // stable for the Client's lifetime ---
  PoolGauges& pool(const std::string& name);
  // sample_rate is fixed by the first call for a name (SHARDS rate, e.g. 0.01).
  CacheStats& cache(const std::string& name, double sample_rate = 0.01);
  void SetGauge(const std::string& name, double value);

  // --- Introspection ---
  bool connected() const { return connected_.load(); }
  uint64_t reports_sent() const { return reports_sent_.load(); }
  uint64_t connections() const { return connections_.load(); }
  std::string last_error() const;
  std::string session() const;
  std::string target() const;

  // The report the next tick would send (tests, debugging; needs knobd's core/snapshot.h).
  // Drains the interval histogram.
  AppReport BuildReport();

 private:
  struct Knob {
    KnobSpec spec;
    OnSet on_set;
    OnSetList on_set_list = nullptr;
  };
  void Run();
  bool SleepFor(std::chrono::milliseconds d);  // false when stopping
  void SetError(std::string e);

  ClientOptions options_;
  std::string socket_path_;
  std::function<void()> before_report_;  // set before Start(), then the background thread's
  LatencyHistogram latency_;
  std::atomic<uint64_t> errors_{0};
  std::atomic<double> in_flight_{0}, queue_depth_{0};

  mutable std::mutex mu_;  // guards everything below that is not atomic
  std::map<std::string, Knob> knobs_;
  std::map<std::string, std::unique_ptr<PoolGauges>> pools_;
  std::map<std::string, std::unique_ptr<CacheStats>> caches_;
  std::map<std::string, double> gauges_;
  std::string last_error_;
  std::string session_;
  std::string target_;

  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stop_ = false;
  int wake_fd_ = -1;  // eventfd: wakes the background thread's poll() on Stop
  std::thread thread_;
  std::atomic<bool> connected_{false};
  std::atomic<uint64_t> reports_sent_{0};
  std::atomic<uint64_t> connections_{0};
  uint64_t seq_ = 0;
};

}  // namespace knob
