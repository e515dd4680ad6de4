// SPDX-License-Identifier: Apache-2.0
#pragma once
// The tuning benchmark's scenarios (issue 11): a simulated service (sim.h), the knobs a tuner
// may move with their bounds and starting values, the constraints, and the moments the world
// changes (load shift, a neighbour taking a core), which split a run into phases the oracle
// judges separately.
// Thread rule: plain values.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "bench/tuning/sim.h"
#include "config/policy.h"

namespace knob::tuning {

struct KnobSpec {
  std::string name;
  double min = 1, max = 64, initial = 8;
  std::vector<double> grid;  // the oracle's sweep
  bool resource = true;      // threads, connections, bytes count against the knee
};

struct Scenario {
  std::string id;
  std::string title;
  std::vector<KnobSpec> knobs;  // what tuners may move
  Knobs fixed;                  // the service's other settings
  std::function<Conditions(double)> conditions;
  std::vector<double> shifts;  // seconds at which the world changes (phase boundaries)
  double duration_seconds = 1800;
  double p99_slo_seconds = 0.1;
  double max_error_ratio = 0.01;
  std::optional<double> memory_cap_bytes;
  bool flat = false;  // the knob does nothing: no change is the only right answer
  uint64_t seed = 1;
  // knobd's guard timing in this run (unset: the policy defaults). The real runs time it
  // shorter to fit minutes, and their simulated twins use the same.
  std::optional<GuardSettings> knobd_guard;

  std::vector<std::pair<double, double>> Phases() const;  // [start, end) seconds
  Knobs Initial() const;  // fixed + every tuned knob at its initial value
  // A tick's settings violate the constraints.
  bool Violates(const Truth& t) const;
};

std::vector<Scenario> AllScenarios();
// The short mode's scenarios (run as a ctest): a contended lock, a too-large pool on a
// retrograde backend, the flat landscape.
std::vector<Scenario> ShortScenarios();

}  // namespace knob::tuning
