// SPDX-License-Identifier: Apache-2.0
#pragma once
// A synthetic service whose throughput follows a known USL: the brain's tests drive it under a
// FakeClock and check that knobd finds the known constrained optimum.

#include <chrono>
#include <cmath>
#include <random>
#include <string>

#include "config/policy.h"
#include "core/snapshot.h"
#include "optimizers/models/usl.h"
#include "tests/support/fake_clock.h"

namespace knob::test {

struct SimService {
  double alpha = 0.02, beta = 0.0004, gamma = 100;  // peak N* ~ 49.5
  double p99_factor = 2.5;                          // p99 = factor * mean latency
  double limit = 8;                                 // concurrency_limit, saturated by clients
  double noise = 0.01;
  // A planted regression: for limit >= regress_at, throughput is multiplied by regress_factor.
  double regress_at = 1e9, regress_factor = 1.0;
  double requests = 0, errors = 0, cpu = 0;
  std::mt19937 rng{1234};

  UslFit Truth() const {
    UslFit f;
    f.alpha = alpha;
    f.beta = beta;
    f.gamma = gamma;
    return f;
  }
  double TrueP99(double n) const { return p99_factor * Truth().Latency(n); }

  TargetSnapshot Tick(double dt) {
    std::normal_distribution<double> eps(0, noise);
    double n = limit;
    double x = Truth().Throughput(n) * (1 + eps(rng));
    if (limit >= regress_at) x *= regress_factor;
    double mean = n / x;
    requests += x * dt;
    cpu += 0.001 * x * dt;
    TargetSnapshot t;
    t.name = "web";
    t.state = TargetState::kActive;
    AppReport a;
    a.requests_total = requests;
    a.errors_total = errors;
    a.in_flight = n;
    a.latency_sum_seconds = x * dt * mean;
    a.latency_p99_seconds = p99_factor * mean * (1 + eps(rng));
    a.knobs["concurrency_limit"] = limit;
    t.app = a;
    CpuStats c;
    c.user_seconds = cpu;
    t.cpu = c;
    return t;
  }
};

inline Policy SimPolicy(Mode mode, double p99_ms = 50) {
  Policy p;
  p.global.guard.cooldown = std::chrono::seconds(10);
  p.global.guard.verification_window = std::chrono::seconds(8);
  p.global.guard.min_samples = 5;
  TargetPolicy t;
  t.name = "web";
  t.mode = mode;
  t.objective = Objective::kMaximizeThroughput;
  t.constraints.p99_latency = std::chrono::microseconds(static_cast<int64_t>(p99_ms * 1000));
  KnobPolicy k;
  k.min = 1;
  k.max = 200;
  t.knobs["concurrency_limit"] = k;
  p.targets.push_back(t);
  return p;
}

}  // namespace knob::test
