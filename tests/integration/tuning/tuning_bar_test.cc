// SPDX-License-Identifier: Apache-2.0
// knobd's bar on the tuning benchmark's short scenarios (issue 11): >= 95% of the oracle's
// objective at steady state, resources <= 1.25x the knee, zero constraint violations after
// convergence, recovery from a shift in < 20 ticks, no change on the flat landscape after its
// first verification window. Every short scenario meets it today (cpu_lock since a saturated
// pool stopped counting as a broken constraint), so all run in the test command. A scenario the
// brain does not meet yet goes in a second binary with ctest label tuning_bar, which
// scripts/test.sh leaves out (ctest -L tuning_bar runs it).
#include <gtest/gtest.h>

#include "bench/tuning/harness.h"

namespace knob::tuning {
namespace {

void ExpectBar(int index) {
  Scenario s = ShortScenarios().at(index);
  Oracle o = SweepOracle(s);
  auto knobd = MakeTuner("knobd", s);
  Trace t = RunTuner(s, *knobd);
  Scores sc = Score(s, o, t);
  std::string why;
  EXPECT_TRUE(MeetsBar(s, sc, &why)) << s.id << ": " << why << " (last decision: " << t.note << ")";
}

TEST(TuningBar, CpuLock) { ExpectBar(0); }
TEST(TuningBar, Retrograde) { ExpectBar(1); }
TEST(TuningBar, Flat) { ExpectBar(2); }

}  // namespace
}  // namespace knob::tuning
