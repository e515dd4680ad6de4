// SPDX-License-Identifier: Apache-2.0
#pragma once
// The tuning benchmark's harness: run one tuner on one scenario, sweep the oracle, score the run
// against it, and write the table, the series and the gnuplot scripts (docs/benchmarks.md,
// "Tuning benchmark", defines every score).
// Thread rule: single-threaded.

#include <map>
#include <string>
#include <vector>

#include "bench/tuning/scenarios.h"
#include "bench/tuning/tuner.h"

namespace knob::tuning {

// Per tick of one run: the truth and the settings in force.
struct Trace {
  std::string tuner;
  std::vector<Truth> ticks;
  std::vector<Knobs> knobs;
  std::vector<bool> violated;
  int changes = 0;
  int rollbacks = 0;
  int shift_alarms = -1;
  std::string note;
  double wall_seconds = 0;
};

struct PhaseOracle {
  double start = 0, end = 0;
  Knobs best;               // the setting with the best objective meeting the constraints
  double best_goodput = 0;  // its mean goodput over the phase
  double best_violation_fraction = 0;
  bool feasible = true;  // false: no setting met the constraints (best is the least bad)
  Knobs knee;            // the smallest setting within 1% of the best
  double knee_goodput = 0;
};

struct Oracle {
  std::vector<PhaseOracle> phases;
  // Per tick of the whole run with each phase's best setting (switched at the phase's start):
  // the reference a tuner's objective is compared with, tick by tick.
  std::vector<double> reference_goodput;
  std::vector<bool> reference_violated;
  size_t points = 0;  // settings swept
};

struct Scores {
  double converge_ticks = -1;  // first phase: ticks until the objective stays within 5%; -1 never
  double steady_pct = 0;       // worst phase: mean goodput over its last third, % of the oracle
  double resource_ratio = 0;   // worst phase: resources at steady state / the knee's; NaN n/a
  int violations_after = 0;    // ticks breaking a constraint after convergence, past the oracle's
  double recovery_ticks = 0;   // worst shift: ticks until back within 5%; -1 never; NaN no shift
  int changes = 0, rollbacks = 0;
  int changes_after_60s = 0;
  int false_alarms = -1;  // knobd: shift alarms minus real shifts; -1: no detector
};

Trace RunTuner(const Scenario& s, Tuner& tuner);
Oracle SweepOracle(const Scenario& s);
Scores Score(const Scenario& s, const Oracle& o, const Trace& t);
// knobd's bar (issue 11); `why` lists what it missed.
bool MeetsBar(const Scenario& s, const Scores& sc, std::string* why);

struct Result {
  std::string scenario, tuner;
  Scores scores;
};
// Writes DIR/tuning-results.{md,csv}, DIR/series/<scenario>.dat and DIR/plots/<scenario>.gp.
void WriteResults(const std::string& dir, const std::vector<Scenario>& scenarios,
                  const std::map<std::string, Oracle>& oracles,
                  const std::map<std::string, std::vector<Trace>>& traces,
                  const std::vector<Result>& results);

}  // namespace knob::tuning
