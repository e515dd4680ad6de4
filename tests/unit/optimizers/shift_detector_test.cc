// SPDX-License-Identifier: Apache-2.0
#include "optimizers/models/shift_detector.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace knob {
namespace {

TEST(ShiftDetectorTest, QuietOnStationaryNoise) {
  ShiftDetector d;
  std::mt19937 rng(11);
  std::normal_distribution<double> n(0, 0.05);
  int alarms = 0;
  for (int i = 0; i < 2000; ++i) alarms += d.Update(n(rng));
  EXPECT_LE(alarms, 1);
}

TEST(ShiftDetectorTest, DetectsLevelShiftBothWays) {
  for (double shift : {0.3, -0.3}) {
    ShiftDetector d;
    std::mt19937 rng(5);
    std::normal_distribution<double> n(0, 0.05);
    for (int i = 0; i < 200; ++i) ASSERT_FALSE(d.Update(n(rng)));
    int detected_at = -1;
    for (int i = 0; i < 50 && detected_at < 0; ++i) {
      if (d.Update(shift + n(rng))) detected_at = i;
    }
    EXPECT_GE(detected_at, 0) << shift;
    EXPECT_LT(detected_at, 20) << shift;
    EXPECT_EQ(d.shifts(), 1u);
  }
}

// Measured ticks are autocorrelated (AR(1), lag-1 0.7, 3% as on the real pooler of issue 11 and
// in bench/tuning): the sums the test accumulates wander ~2.4x farther than independent noise,
// and a detector that ignores it raised 7-26 alarms per 30 simulated minutes at a fixed setting.
std::vector<double> Ar1(uint32_t seed, int n, double sigma, double rho) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> n01(0, 1);
  std::vector<double> out;
  double x = 0;
  for (int i = 0; i < n; ++i) {
    x = rho * x + std::sqrt(1 - rho * rho) * sigma * n01(rng);
    out.push_back(x);
  }
  return out;
}

TEST(ShiftDetectorTest, QuietOnAutocorrelatedNoiseAtAFixedSetting) {
  int alarms = 0;
  double rho = 0;
  for (uint32_t seed = 1; seed <= 10; ++seed) {
    ShiftDetector d;
    for (double r : Ar1(seed, 1800, 0.03, 0.7)) alarms += d.Update(r);
    rho += d.autocorrelation() / 10;
  }
  // Ten runs of 30 minutes: at most one alarm in all of them.
  EXPECT_LE(alarms, 1);
  // The figure it used is the correlation that was there.
  EXPECT_NEAR(rho, 0.7, 0.1);
}

TEST(ShiftDetectorTest, DetectsALevelShiftInAutocorrelatedNoise) {
  for (double shift : {0.3, -0.3}) {
    ShiftDetector d;
    std::vector<double> noise = Ar1(7, 260, 0.03, 0.7);
    for (int i = 0; i < 200; ++i) ASSERT_FALSE(d.Update(noise[i])) << i;
    int detected_at = -1;
    for (int i = 0; i < 60 && detected_at < 0; ++i)
      if (d.Update(shift + noise[200 + i])) detected_at = i;
    EXPECT_GE(detected_at, 0) << shift;
    EXPECT_LT(detected_at, 10) << shift;
  }
}

}  // namespace
}  // namespace knob
