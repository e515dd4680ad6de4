// SPDX-License-Identifier: Apache-2.0
#include "optimizers/models/shift_detector.h"

#include <gtest/gtest.h>

#include <random>

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

}  // namespace
}  // namespace knob
