// SPDX-License-Identifier: Apache-2.0
#pragma once
// The tuners the benchmark compares, behind one interface: knobd's real Brain (through its
// Decider interface with a manual clock) and the published baselines. Every tuner sees only what
// a real target reports (the Snapshot the control server builds) and answers with knob values,
// so the harness treats them all alike. Each baseline's source and default parameters are in a
// comment at its implementation and in docs/benchmarks.md.
// Thread rule: one tuner per run, single-threaded.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bench/tuning/scenarios.h"
#include "core/snapshot.h"

namespace knob::tuning {

class Tuner {
 public:
  virtual ~Tuner() = default;
  virtual std::string Name() const = 0;
  // Before the first tick: the tuner may replace the starting values (the static default does).
  virtual void Start(const Scenario& /*s*/, Knobs& /*knobs*/) {}
  // One tick of 1 s has passed and `snapshot` is what the target reported; returns the knob
  // values to set now (empty: no change).
  virtual Knobs Tick(const Snapshot& snapshot, const Knobs& current) = 0;
  virtual int Rollbacks() const { return 0; }
  // Workload shifts the tuner believed it saw (knobd's shift detector; -1: no such detector).
  virtual int ShiftAlarms() const { return -1; }
  // One line on why it stopped where it did, when it can say (knobd's decision log tail).
  virtual std::string Note() const { return ""; }
};

// Per-tick figures from consecutive reports of one target, the way every baseline measures.
class Measures {
 public:
  struct Tick {
    double throughput = 0;   // requests per second
    double errors = 0;       // errors per second
    double mean_rtt = 0;     // seconds
    double p99 = 0;          // seconds
    double in_flight = 0;    // requests in the service
    double pool_demand = 0;  // busy + waiting of the pool the knob sizes
  };
  std::optional<Tick> Update(const TargetSnapshot& t, const std::string& knob);

 private:
  std::optional<double> requests_, errors_;
};

std::vector<std::string> TunerNames();  // every tuner, in table order; "knobd" first
std::unique_ptr<Tuner> MakeTuner(const std::string& name, const Scenario& s);

// Factories, one per implementation file.
std::unique_ptr<Tuner> MakeStaticTuner();
std::unique_ptr<Tuner> MakeAimdTuner(const Scenario& s);
std::unique_ptr<Tuner> MakeGradient2Tuner(const Scenario& s);
std::unique_ptr<Tuner> MakeVegasTuner(const Scenario& s);
std::unique_ptr<Tuner> MakeHillClimbTuner(const Scenario& s);
std::unique_ptr<Tuner> MakeGoldenTuner(const Scenario& s);
std::unique_ptr<Tuner> MakeKnobdTuner(const Scenario& s);

}  // namespace knob::tuning
