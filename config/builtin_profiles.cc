// SPDX-License-Identifier: Apache-2.0
#include "config/builtin_profiles.h"

#include <chrono>
#include <cstdint>

namespace knob {
namespace {

using std::chrono::milliseconds;

constexpr uint64_t kMiB = uint64_t{1} << 20;
constexpr uint64_t kGiB = uint64_t{1} << 30;

KnobPolicy Bound(double min, double max, double step_fraction) {
  KnobPolicy k;
  k.min = min;
  k.max = max;
  k.max_step_fraction = step_fraction;
  return k;
}

KnobPolicy BoundAbs(double min, double max, double step_abs) {
  KnobPolicy k;
  k.min = min;
  k.max = max;
  k.max_step_abs = step_abs;
  return k;
}

// Latency-sensitive request/response front end: many connections, an upstream pool, a cache.
// p99 is what users feel; errors above 1% mean the limit is too tight or a backend is failing.
Profile WebServer() {
  Profile p;
  p.name = "web-server";
  p.description = "HTTP front end: minimize p99 latency under a 100ms SLO";
  p.objective = Objective::kMinimizeP99Latency;
  p.constraints.p99_latency = milliseconds(100);
  p.constraints.error_rate = 0.01;
  p.constraints.cpu_pressure = 0.20;
  p.constraints.memory_pressure = 0.10;
  p.knobs[std::string(kKnobWorkerThreads)] = Bound(1, 256, 0.25);
  p.knobs[std::string(kKnobConcurrencyLimit)] = Bound(1, 10000, 0.25);
  p.knobs[std::string(kKnobBackendPool)] = Bound(1, 512, 0.25);
  p.knobs[std::string(kKnobCacheBytes)] = Bound(1.0 * kMiB, 4.0 * kGiB, 0.25);
  return p;
}

// One service among many behind RPC: tighter SLO, smaller pools, strict error budget, and a
// small step so a change never ripples through callers' retries.
Profile Microservice() {
  Profile p;
  p.name = "microservice";
  p.description = "RPC service in a call graph: minimize p99 latency under a 50ms SLO";
  p.objective = Objective::kMinimizeP99Latency;
  p.constraints.p99_latency = milliseconds(50);
  p.constraints.error_rate = 0.001;
  p.constraints.cpu_pressure = 0.10;
  p.constraints.memory_pressure = 0.05;
  p.knobs[std::string(kKnobWorkerThreads)] = Bound(1, 64, 0.20);
  p.knobs[std::string(kKnobConcurrencyLimit)] = Bound(1, 2048, 0.20);
  p.knobs[std::string(kKnobConnectionPool)] = Bound(1, 256, 0.20);
  p.knobs[std::string(kKnobCacheBytes)] = Bound(1.0 * kMiB, 512.0 * kMiB, 0.20);
  return p;
}

// Batch work: latency does not matter, throughput does, as long as the host stays healthy
// (memory pressure means swapping or reclaim, which ruins throughput anyway).
Profile DataPipeline() {
  Profile p;
  p.name = "data-pipeline";
  p.description = "Batch / ETL: maximize throughput while the host stays out of memory pressure";
  p.objective = Objective::kMaximizeThroughput;
  p.constraints.error_rate = 0.01;
  p.constraints.memory_pressure = 0.10;
  p.constraints.io_pressure = 0.30;
  p.knobs[std::string(kKnobWorkerThreads)] = Bound(1, 512, 0.50);
  p.knobs[std::string(kKnobConcurrencyLimit)] = Bound(1, 4096, 0.50);
  p.knobs[std::string(kKnobConnectionPool)] = Bound(1, 256, 0.50);
  p.knobs[std::string(kKnobCacheBytes)] = Bound(16.0 * kMiB, 16.0 * kGiB, 0.50);
  p.knobs[std::string(kKnobBatchSize)] = Bound(1, 100000, 0.50);
  return p;
}

// Continuous event processing: keep up with the input (throughput) but within a latency bound,
// since lag is the failure mode; run-queue delay shows the consumers starving each other.
Profile StreamProcessing() {
  Profile p;
  p.name = "stream-processing";
  p.description = "Event stream consumer: maximize throughput with p99 under 500ms";
  p.objective = Objective::kMaximizeThroughput;
  p.constraints.p99_latency = milliseconds(500);
  p.constraints.error_rate = 0.001;
  p.constraints.memory_pressure = 0.10;
  p.constraints.runqueue_delay = milliseconds(5);
  p.knobs[std::string(kKnobWorkerThreads)] = Bound(1, 128, 0.25);
  p.knobs[std::string(kKnobConcurrencyLimit)] = Bound(1, 4096, 0.25);
  p.knobs[std::string(kKnobConnectionPool)] = Bound(1, 128, 0.25);
  p.knobs[std::string(kKnobCacheBytes)] = Bound(4.0 * kMiB, 2.0 * kGiB, 0.25);
  p.knobs[std::string(kKnobQueueDepth)] = Bound(1, 65536, 0.25);
  return p;
}

// A small device: every CPU cycle is battery or heat, memory is fixed. Moves are in absolute
// steps because 25% of 2 threads is not a step at all.
Profile Edge() {
  Profile p;
  p.name = "edge";
  p.description = "Small device: minimize CPU per request under a 256MiB memory cap";
  p.objective = Objective::kMinimizeCpuPerRequest;
  p.constraints.memory_bytes = 256 * kMiB;
  p.constraints.cpu_cores = 1.0;
  p.constraints.p99_latency = milliseconds(200);
  p.constraints.memory_pressure = 0.05;
  p.knobs[std::string(kKnobWorkerThreads)] = BoundAbs(1, 8, 1);
  p.knobs[std::string(kKnobConcurrencyLimit)] = BoundAbs(1, 256, 8);
  p.knobs[std::string(kKnobConnectionPool)] = BoundAbs(1, 16, 2);
  p.knobs[std::string(kKnobCacheBytes)] = Bound(256.0 * 1024, 64.0 * kMiB, 0.25);
  return p;
}

}  // namespace

const std::vector<std::string_view>& KnownKnobNames() {
  static const std::vector<std::string_view> kNames = {
      kKnobWorkerThreads,  kKnobConcurrencyLimit, kKnobConnectionPool,     kKnobBackendPool,
      kKnobCacheBytes,     kKnobQueueDepth,       kKnobBatchSize,          kKnobMaxInFlight,
      kKnobMaxConcurrency, kKnobCpuAffinityMask,  kKnobSchedulingStrategy, kKnobAllowedCpus,
      kKnobCpuQuotaPercent};
  return kNames;
}

const std::map<std::string, Profile>& BuiltinProfiles() {
  static const std::map<std::string, Profile> kProfiles = [] {
    std::map<std::string, Profile> m;
    for (Profile p : {WebServer(), Microservice(), DataPipeline(), StreamProcessing(), Edge()}) {
      std::string name = p.name;
      m.emplace(std::move(name), std::move(p));
    }
    return m;
  }();
  return kProfiles;
}

}  // namespace knob
