// SPDX-License-Identifier: Apache-2.0
#pragma once
// Scoring of the tuning benchmark's real runs (bench/tuning/real.sh; docs/benchmarks.md, "Real
// runs"): the measured sweep of a knob on the real example service becomes the oracle, each
// real tuner run becomes a Trace, and both go through the same Score() as the simulated runs.
// Next to each real run it prints the simulator's run of the scenario of the same id, shortened
// to the real run's length and with knobd's guard timed as in the real run, so a reader sees
// where the simulator and reality agree.
// Thread rule: single-threaded.

#include <string>
#include <vector>

namespace knob::tuning {

// Scores the runs real.sh left in `dir` (DIR/<scenario>/{meta,sweep.csv,<tuner>-<rep>/...}),
// prints the table and writes DIR/tuning-real.{md,csv}. Returns 0, or 1 after printing what is
// missing or malformed.
int ScoreRealRuns(const std::string& dir, const std::vector<std::string>& scenarios);

}  // namespace knob::tuning
