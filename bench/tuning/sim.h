// SPDX-License-Identifier: Apache-2.0
#pragma once
// A simulated service with knobs, in virtual time, for the tuning benchmark (docs/benchmarks.md,
// "Tuning benchmark"). One Tick() is one second of the service's life: it takes the current knob
// values, solves the service's steady state for that second and returns the true figures (for
// scoring) and the report a real knob::Client would have sent (for the tuners).
//
// The model is an analytic fluid approximation per tick, not a request-level discrete-event
// simulation: a 30-minute scenario is 1 800 solves, which is what lets the oracle sweep every
// setting. Per request:
//   CPU time      c(n) = cpu_s * (1 + alpha (n-1) + beta n (n-1))      (USL contention/coherency,
//                 n = requests holding a worker), stretched by max(1, X c / cores) when the
//                 workers want more CPU than the cores give;
//   backend time  b(k) = backend_s * (1 + slope (k-k0)+ + retro ((k-k0)+)^2)  for k busy
//                 connections (a backend that degrades past k0 connections; retro > 0 makes
//                 its throughput k / b(k) fall: a retrograde backend), one call per cache miss;
//   pool          at most P connections; a saturated pool queues requests inside the workers;
//   cache         LRU over a Zipf(s) key space; the hit ratio of C bytes is the share of
//                 accesses to the C/item most popular keys (the LRU stack-distance CDF under the
//                 independent reference model, a mild overestimate of LRU); the reuse histogram
//                 reported is that same CDF, so the miss-ratio curve a tuner builds is the truth;
//   limit         a concurrency limit L rejects what would exceed L requests in the service.
// Throughput X with n requests in service is the fixed point of X = n / (c sigma + m (b + w)).
// Open loop (rate lambda, bursts): n is the smallest concurrency that carries lambda, or the
// saturated min(W, L) with a backlog carried to the next tick (bounded by L and a 2 s client
// timeout; the excess is errors); the random queueing delay below saturation is Sakasegawa's
// M/M/c approximation Wq = T u^sqrt(2(c+1)) / (c (1-u)). Closed loop (N clients, think time Z):
// the bisection root of X = f(min(W, L, N - X Z)), clients past L rejected (errors).
// p99 = tail * (CPU + backend time) + 1.5 * (FIFO waits behind a standing queue: for a core,
// a connection, a worker) + 4.6 * the random M/M/c wait (an exponential tail).
// Measurement noise: the reported counters and percentiles carry multiplicative AR(1) noise
// (lag-1 correlation phi, like the 0.7 measured on a real pooler in issue 11); the true figures
// are noise-free. Deterministic per seed.
// Thread rule: single-threaded value type.

#include <cstdint>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "core/snapshot.h"

namespace knob::tuning {

// The knobs the simulated service has (names as knobd knows them).
inline constexpr const char* kWorkers = "worker_threads";
inline constexpr const char* kPool = "backend_pool";
inline constexpr const char* kLimit = "concurrency_limit";
inline constexpr const char* kCache = "cache_bytes";

using Knobs = std::map<std::string, double>;

// The world at one moment: load, hardware, service costs. Scenarios change it over time.
struct Conditions {
  bool closed_loop = false;
  double rate = 100;         // open loop: arrivals per second (before bursts)
  double clients = 16;       // closed loop: clients
  double think_seconds = 0;  // closed loop: think time between a reply and the next request
  double burst_factor = 1;   // open loop: rate multiplier during a burst
  double burst_every_seconds = 0, burst_seconds = 0;  // 0: no bursts
  double cores = 2;
  double cpu_seconds = 0.001;  // CPU per request at concurrency 1
  double alpha = 0, beta = 0;  // USL contention and coherency of the worker stage
  double backend_seconds = 0;  // service time of one backend call at low load (0: no backend)
  double backend_knee = 1e9;   // k0: connections past which the backend degrades
  double backend_slope = 0, backend_retro = 0;
  bool cache = false;
  double keys = 100000, zipf_s = 0.9, item_bytes = 1024;
  double base_rss_bytes = 64.0 * 1024 * 1024;
  bool queue_in_latency = true;  // false: the server measures latency from dequeue
  double tail = 2.5;             // p99 / mean of the service time
  double timeout_seconds = 2;    // open-loop clients give up after this long in the queue
  double noise = 0.03, noise_phi = 0.7;
  double host_other_busy_cores = 0;  // another process's CPU use (host pressure, not ours)
};

// What really happened in one tick (noise-free), for the oracle and the scores.
struct Truth {
  double goodput = 0;  // successful requests per second
  double errors = 0;   // rejected or timed-out requests per second
  double p99_seconds = 0;
  double mean_seconds = 0;
  double in_flight = 0, queued = 0;
  double workers_busy = 0, backend_busy = 0, backend_waiters = 0;
  double hit_ratio = 0;
  double memory_bytes = 0;
  double cpu_cores = 0;
  double error_ratio() const { return goodput + errors > 0 ? errors / (goodput + errors) : 0; }
};

class Simulator {
 public:
  // conditions(t) gives the world at simulated second t (scenarios change it over time).
  Simulator(std::function<Conditions(double)> conditions, uint64_t seed, double start_seconds = 0);

  // One second with these knob values; advances time. Missing knobs take their defaults
  // (workers 8, pool 64, no limit, cache 0).
  Truth Tick(const Knobs& knobs);
  // The report of the tick just simulated, as the control server stores it (cumulative
  // counters, this interval's latency histogram, pools, caches, knobs), with measurement noise.
  // `reported` lists the knobs the service reports.
  TargetSnapshot Report(const std::vector<std::string>& reported) const;
  HostSnapshot Host() const;
  double now_seconds() const { return t_; }

  // The steady state for one second at time t without advancing or touching the backlog (the
  // oracle's view); backlog carries nothing between calls.
  static Truth Solve(const Conditions& c, const Knobs& knobs, double backlog, double& backlog_out,
                     double t);
  static double HitRatio(const Conditions& c, double cache_bytes);

 private:
  std::function<Conditions(double)> conditions_;
  std::mt19937_64 rng_;
  double t_ = 0;
  double backlog_ = 0;
  double noise_x_ = 0, noise_l_ = 0;
  Truth last_;
  Conditions last_c_;
  Knobs last_knobs_;
  // Cumulative report state.
  double requests_ = 0, errors_ = 0, cpu_seconds_ = 0, hits_ = 0, misses_ = 0;
  double host_busy_ = 0, host_total_ = 0;
  std::vector<double> reuse_counts_;
};

}  // namespace knob::tuning
