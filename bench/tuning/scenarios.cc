// SPDX-License-Identifier: Apache-2.0
// The scenarios of issue 11, each a few numbers over the simulator of sim.h, written as one table
// (a row per scenario; what a row leaves out takes the defaults of Conditions and Scenario).
// Costs are chosen to look like services measured in this repository (docs/benchmarks.md): a
// 2-core box, requests of 0.5-2 ms CPU, backends of 1-20 ms.
#include "bench/tuning/scenarios.h"

#include <cmath>

namespace knob::tuning {
namespace {

constexpr double kMiB = 1024.0 * 1024.0;

std::vector<double> Range(double lo, double hi, double step = 1) {
  std::vector<double> v;
  for (double x = lo; x <= hi + 1e-9; x += step) v.push_back(x);
  return v;
}

std::vector<double> LimitGrid() {
  std::vector<double> v = Range(1, 16);
  for (double x = 20; x <= 512; x *= 1.25) v.push_back(std::round(x));
  return v;
}

KnobSpec Workers(double initial, double max = 64) {
  return {kWorkers, 1, max, initial, Range(1, max), true};
}
KnobSpec Pool(double initial, double max = 64) {
  return {kPool, 1, max, initial, Range(1, max), true};
}
KnobSpec Limit(double initial) { return {kLimit, 1, 512, initial, LimitGrid(), false}; }

// One scenario. The world is `c` throughout, or `after` from `shift_at` seconds on.
struct Row {
  const char* id;
  const char* title;
  std::vector<KnobSpec> knobs;
  Knobs fixed;
  Conditions c;
  double p99_slo_seconds;
  uint64_t seed;
  double max_error_ratio = 0.01;
  std::optional<double> memory_cap_bytes = std::nullopt;
  bool flat = false;
  std::optional<Conditions> after = std::nullopt;
  double shift_at = 0;
};

Scenario Build(const Row& r) {
  Scenario s;
  s.id = r.id;
  s.title = r.title;
  s.knobs = r.knobs;
  s.fixed = r.fixed;
  if (r.after) {
    s.conditions = [c = r.c, after = *r.after, at = r.shift_at](double t) {
      return t < at ? c : after;
    };
    s.shifts = {r.shift_at};
  } else {
    s.conditions = [c = r.c](double) { return c; };
  }
  s.p99_slo_seconds = r.p99_slo_seconds;
  s.max_error_ratio = r.max_error_ratio;
  s.memory_cap_bytes = r.memory_cap_bytes;
  s.flat = r.flat;
  s.seed = r.seed;
  return s;
}

// `c` with a change applied: the second phase of a shifting scenario.
template <typename F>
Conditions With(Conditions c, F change) {
  change(c);
  return c;
}

std::vector<Row> Rows() {
  const Conditions shift_before = {.rate = 400, .cpu_seconds = 0.0004, .backend_seconds = 0.01};
  const Conditions neighbour_before = {.closed_loop = true,
                                       .clients = 48,
                                       .cpu_seconds = 0.001,
                                       .alpha = 0.03,
                                       .beta = 0.002,
                                       .backend_seconds = 0.002};
  return {
      {.id = "cpu_lock",
       .title = "CPU-bound with a contended lock (closed loop, 64 clients)",
       .knobs = {Workers(16)},
       .fixed = {{kPool, 64}},
       .c = {.closed_loop = true,
             .clients = 64,
             .cpu_seconds = 0.002,
             .alpha = 0.05,
             .beta = 0.004,
             .backend_seconds = 0.001},
       .p99_slo_seconds = 0.5,
       .seed = 11},
      {.id = "io_backend",
       .title = "I/O-bound: 20 ms backend waits, open loop 1200/s",
       .knobs = {Workers(4)},
       .fixed = {{kPool, 64}},
       .c = {.rate = 1200, .cpu_seconds = 0.0005, .backend_seconds = 0.02},
       .p99_slo_seconds = 0.1,
       .seed = 12},
      {.id = "closed_plateau",
       .title = "Closed loop whose throughput plateaus at the CPU (the knee, not the max)",
       .knobs = {Workers(2)},
       .fixed = {{kPool, 64}},
       .c = {.closed_loop = true,
             .clients = 32,
             .cpu_seconds = 0.001,
             .alpha = 0.002,
             .backend_seconds = 0.004},
       .p99_slo_seconds = 0.2,
       .seed = 13},
      {.id = "bursty_limit",
       .title = "Bursty open loop (3x for 5 s each minute) against a concurrency limit",
       .knobs = {Limit(512)},
       .fixed = {{kWorkers, 16}, {kPool, 64}},
       .c = {.rate = 700,
             .burst_factor = 3,
             .burst_every_seconds = 60,
             .burst_seconds = 5,
             .cpu_seconds = 0.001,
             .backend_seconds = 0.003},
       .p99_slo_seconds = 0.1,
       .seed = 14,
       .max_error_ratio = 0.05},
      {.id = "limit_far_above",
       .title = "A concurrency limit far above the load (leave it alone)",
       .knobs = {Limit(256)},
       .fixed = {{kWorkers, 64}, {kPool, 64}},
       .c = {.rate = 300, .cpu_seconds = 0.001, .backend_seconds = 0.005},
       .p99_slo_seconds = 0.1,
       .seed = 15},
      {.id = "load_shift",
       .title = "Load shifts 400/s -> 1200/s at 15 min (the optimum moves)",
       .knobs = {Workers(8)},
       .fixed = {{kPool, 64}},
       .c = shift_before,
       .p99_slo_seconds = 0.1,
       .seed = 16,
       .after = With(shift_before, [](Conditions& c) { c.rate = 1200; }),
       .shift_at = 900},
      {.id = "neighbour",
       .title = "A neighbour takes one of two cores at 15 min",
       .knobs = {Workers(4)},
       .fixed = {{kPool, 64}},
       .c = neighbour_before,
       .p99_slo_seconds = 0.5,
       .seed = 17,
       .after = With(neighbour_before,
                     [](Conditions& c) {
                       c.cores = 1;
                       c.host_other_busy_cores = 1;
                     }),
       .shift_at = 900},
      {.id = "cache_cap",
       .title = "LRU cache over Zipf(0.9) keys under a 256 MiB memory cap",
       .knobs = {{kCache, 1 * kMiB, 512 * kMiB, 16 * kMiB, Range(8 * kMiB, 512 * kMiB, 8 * kMiB),
                  true}},
       .fixed = {{kWorkers, 16}, {kPool, 16}},
       .c = {.closed_loop = true,
             .clients = 16,
             .cpu_seconds = 0.0001,
             .backend_seconds = 0.005,
             .cache = true,
             .keys = 300000,
             .zipf_s = 0.9,
             .item_bytes = 1024,
             .base_rss_bytes = 100 * kMiB},
       .p99_slo_seconds = 0.2,
       .seed = 18,
       .memory_cap_bytes = 256 * kMiB},
      {.id = "p99_binds",
       .title = "A p99 SLO (40 ms) that binds before the throughput peak",
       .knobs = {Workers(8)},
       .fixed = {{kPool, 64}},
       .c = {.closed_loop = true,
             .clients = 128,
             .cpu_seconds = 0.0005,
             .backend_seconds = 0.005,
             .backend_knee = 8,
             .backend_slope = 0.08,
             .queue_in_latency = false},
       .p99_slo_seconds = 0.04,
       .seed = 19},
      {.id = "retrograde",
       .title = "A retrograde backend (throughput falls past ~13 connections), pool starts at 32",
       .knobs = {Pool(32)},
       .fixed = {{kWorkers, 64}},
       .c = {.closed_loop = true,
             .clients = 64,
             .cpu_seconds = 0.0002,
             .backend_seconds = 0.0011,
             .backend_knee = 1,
             .backend_slope = 0.25,
             .backend_retro = 0.006},
       .p99_slo_seconds = 0.05,
       .seed = 20},
      {.id = "two_knobs",
       .title = "Workers and backend pool interacting (pool <= workers matters)",
       .knobs = {Workers(4, 32),
                 {kPool, 1, 32, 4, {1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 24, 32}, true}},
       .fixed = {},
       .c = {.closed_loop = true,
             .clients = 64,
             .cpu_seconds = 0.001,
             .alpha = 0.02,
             .beta = 0.0005,
             .backend_seconds = 0.004,
             .backend_knee = 8,
             .backend_slope = 0.1},
       .p99_slo_seconds = 0.2,
       .seed = 21},
      {.id = "flat",
       .title = "A flat landscape: light load, the worker count does nothing",
       .knobs = {Workers(16)},
       .fixed = {{kPool, 64}},
       .c = {.rate = 150, .cpu_seconds = 0.0005, .backend_seconds = 0.002},
       .p99_slo_seconds = 0.1,
       .seed = 22,
       .flat = true},
  };
}

}  // namespace

std::vector<std::pair<double, double>> Scenario::Phases() const {
  std::vector<std::pair<double, double>> out;
  double start = 0;
  for (double s : shifts) {
    out.emplace_back(start, s);
    start = s;
  }
  out.emplace_back(start, duration_seconds);
  return out;
}

Knobs Scenario::Initial() const {
  Knobs k = fixed;
  for (const KnobSpec& spec : knobs) k[spec.name] = spec.initial;
  return k;
}

bool Scenario::Violates(const Truth& t) const {
  if (t.p99_seconds > p99_slo_seconds) return true;
  if (t.error_ratio() > max_error_ratio) return true;
  if (memory_cap_bytes && t.memory_bytes > *memory_cap_bytes) return true;
  return false;
}

std::vector<Scenario> AllScenarios() {
  std::vector<Scenario> out;
  for (const Row& r : Rows()) out.push_back(Build(r));
  return out;
}

std::vector<Scenario> ShortScenarios() {
  std::vector<Scenario> v;
  for (Scenario& s : AllScenarios()) {
    if (s.id != "cpu_lock" && s.id != "retrograde" && s.id != "flat") continue;
    s.duration_seconds = 600;
    v.push_back(std::move(s));
  }
  return v;
}

}  // namespace knob::tuning
