// SPDX-License-Identifier: Apache-2.0
// The scenarios of issue 11, each a few numbers over the simulator of sim.h. Costs are chosen to
// look like services measured in this repository (docs/benchmarks.md): a 2-core box, requests of
// 0.5-2 ms CPU, backends of 1-20 ms.
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

Scenario CpuLock() {
  Scenario s;
  s.id = "cpu_lock";
  s.title = "CPU-bound with a contended lock (closed loop, 64 clients)";
  s.knobs = {Workers(16)};
  s.fixed = {{kPool, 64}};
  s.conditions = [](double) {
    Conditions c;
    c.closed_loop = true;
    c.clients = 64;
    c.cpu_seconds = 0.002;
    c.alpha = 0.05;
    c.beta = 0.004;
    c.backend_seconds = 0.001;
    return c;
  };
  s.p99_slo_seconds = 0.5;
  s.seed = 11;
  return s;
}

Scenario IoBackend() {
  Scenario s;
  s.id = "io_backend";
  s.title = "I/O-bound: 20 ms backend waits, open loop 1200/s";
  s.knobs = {Workers(4)};
  s.fixed = {{kPool, 64}};
  s.conditions = [](double) {
    Conditions c;
    c.rate = 1200;
    c.cpu_seconds = 0.0005;
    c.backend_seconds = 0.02;
    return c;
  };
  s.p99_slo_seconds = 0.1;
  s.seed = 12;
  return s;
}

Scenario ClosedPlateau() {
  Scenario s;
  s.id = "closed_plateau";
  s.title = "Closed loop whose throughput plateaus at the CPU (the knee, not the max)";
  s.knobs = {Workers(2)};
  s.fixed = {{kPool, 64}};
  s.conditions = [](double) {
    Conditions c;
    c.closed_loop = true;
    c.clients = 32;
    c.cpu_seconds = 0.001;
    c.alpha = 0.002;
    c.backend_seconds = 0.004;
    return c;
  };
  s.p99_slo_seconds = 0.2;
  s.seed = 13;
  return s;
}

Scenario BurstyLimit() {
  Scenario s;
  s.id = "bursty_limit";
  s.title = "Bursty open loop (3x for 5 s each minute) against a concurrency limit";
  s.knobs = {{kLimit, 1, 512, 512, LimitGrid(), false}};
  s.fixed = {{kWorkers, 16}, {kPool, 64}};
  s.conditions = [](double) {
    Conditions c;
    c.rate = 700;
    c.burst_factor = 3;
    c.burst_every_seconds = 60;
    c.burst_seconds = 5;
    c.cpu_seconds = 0.001;
    c.backend_seconds = 0.003;
    return c;
  };
  s.p99_slo_seconds = 0.1;
  s.max_error_ratio = 0.05;
  s.seed = 14;
  return s;
}

Scenario LimitFarAbove() {
  Scenario s;
  s.id = "limit_far_above";
  s.title = "A concurrency limit far above the load (leave it alone)";
  s.knobs = {{kLimit, 1, 512, 256, LimitGrid(), false}};
  s.fixed = {{kWorkers, 64}, {kPool, 64}};
  s.conditions = [](double) {
    Conditions c;
    c.rate = 300;
    c.cpu_seconds = 0.001;
    c.backend_seconds = 0.005;
    return c;
  };
  s.p99_slo_seconds = 0.1;
  s.seed = 15;
  return s;
}

Scenario LoadShift() {
  Scenario s;
  s.id = "load_shift";
  s.title = "Load shifts 400/s -> 1200/s at 15 min (the optimum moves)";
  s.knobs = {Workers(8)};
  s.fixed = {{kPool, 64}};
  s.conditions = [](double t) {
    Conditions c;
    c.rate = t < 900 ? 400 : 1200;
    c.cpu_seconds = 0.0004;
    c.backend_seconds = 0.01;
    return c;
  };
  s.shifts = {900};
  s.p99_slo_seconds = 0.1;
  s.seed = 16;
  return s;
}

Scenario Neighbour() {
  Scenario s;
  s.id = "neighbour";
  s.title = "A neighbour takes one of two cores at 15 min";
  s.knobs = {Workers(4)};
  s.fixed = {{kPool, 64}};
  s.conditions = [](double t) {
    Conditions c;
    c.closed_loop = true;
    c.clients = 48;
    c.cpu_seconds = 0.001;
    c.alpha = 0.03;
    c.beta = 0.002;
    c.backend_seconds = 0.002;
    if (t >= 900) {
      c.cores = 1;
      c.host_other_busy_cores = 1;
    }
    return c;
  };
  s.shifts = {900};
  s.p99_slo_seconds = 0.5;
  s.seed = 17;
  return s;
}

Scenario CacheCap() {
  Scenario s;
  s.id = "cache_cap";
  s.title = "LRU cache over Zipf(0.9) keys under a 256 MiB memory cap";
  s.knobs = {
      {kCache, 1 * kMiB, 512 * kMiB, 16 * kMiB, Range(8 * kMiB, 512 * kMiB, 8 * kMiB), true}};
  s.fixed = {{kWorkers, 16}, {kPool, 16}};
  s.conditions = [](double) {
    Conditions c;
    c.closed_loop = true;
    c.clients = 16;
    c.cpu_seconds = 0.0001;
    c.backend_seconds = 0.005;
    c.cache = true;
    c.keys = 300000;
    c.zipf_s = 0.9;
    c.item_bytes = 1024;
    c.base_rss_bytes = 100 * kMiB;
    return c;
  };
  s.memory_cap_bytes = 256 * kMiB;
  s.p99_slo_seconds = 0.2;
  s.seed = 18;
  return s;
}

Scenario P99Binds() {
  Scenario s;
  s.id = "p99_binds";
  s.title = "A p99 SLO (40 ms) that binds before the throughput peak";
  s.knobs = {Workers(8)};
  s.fixed = {{kPool, 64}};
  s.conditions = [](double) {
    Conditions c;
    c.closed_loop = true;
    c.clients = 128;
    c.cpu_seconds = 0.0005;
    c.backend_seconds = 0.005;
    c.backend_knee = 8;
    c.backend_slope = 0.08;
    c.queue_in_latency = false;
    return c;
  };
  s.p99_slo_seconds = 0.04;
  s.seed = 19;
  return s;
}

Scenario Retrograde() {
  Scenario s;
  s.id = "retrograde";
  s.title = "A retrograde backend (throughput falls past ~13 connections), pool starts at 32";
  s.knobs = {Pool(32)};
  s.fixed = {{kWorkers, 64}};
  s.conditions = [](double) {
    Conditions c;
    c.closed_loop = true;
    c.clients = 64;
    c.cpu_seconds = 0.0002;
    c.backend_seconds = 0.0011;
    c.backend_knee = 1;
    c.backend_slope = 0.25;
    c.backend_retro = 0.006;
    return c;
  };
  s.p99_slo_seconds = 0.05;
  s.seed = 20;
  return s;
}

Scenario TwoKnobs() {
  Scenario s;
  s.id = "two_knobs";
  s.title = "Workers and backend pool interacting (pool <= workers matters)";
  s.knobs = {Workers(4, 32), Pool(4, 32)};
  s.knobs[0].grid = Range(1, 32);
  s.knobs[1].grid = {1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 24, 32};
  s.conditions = [](double) {
    Conditions c;
    c.closed_loop = true;
    c.clients = 64;
    c.cpu_seconds = 0.001;
    c.alpha = 0.02;
    c.beta = 0.0005;
    c.backend_seconds = 0.004;
    c.backend_knee = 8;
    c.backend_slope = 0.1;
    return c;
  };
  s.p99_slo_seconds = 0.2;
  s.seed = 21;
  return s;
}

Scenario Flat() {
  Scenario s;
  s.id = "flat";
  s.title = "A flat landscape: light load, the worker count does nothing";
  s.knobs = {Workers(16)};
  s.fixed = {{kPool, 64}};
  s.conditions = [](double) {
    Conditions c;
    c.rate = 150;
    c.cpu_seconds = 0.0005;
    c.backend_seconds = 0.002;
    return c;
  };
  s.p99_slo_seconds = 0.1;
  s.flat = true;
  s.seed = 22;
  return s;
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
  return {CpuLock(),   IoBackend(), ClosedPlateau(), BurstyLimit(), LimitFarAbove(), LoadShift(),
          Neighbour(), CacheCap(),  P99Binds(),      Retrograde(),  TwoKnobs(),      Flat()};
}

std::vector<Scenario> ShortScenarios() {
  std::vector<Scenario> v = {CpuLock(), Retrograde(), Flat()};
  for (Scenario& s : v) s.duration_seconds = 600;
  return v;
}

}  // namespace knob::tuning
