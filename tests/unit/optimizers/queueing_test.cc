// SPDX-License-Identifier: Apache-2.0
#include "optimizers/models/queueing.h"

#include <gtest/gtest.h>

#include <cmath>

namespace knob {
namespace {

TEST(ErlangCTest, KnownValues) {
  // M/M/1: P(wait) = rho.
  EXPECT_NEAR(ErlangC(1, 0.5), 0.5, 1e-12);
  // Textbook value: c = 2, a = 1 -> C = 1/3.
  EXPECT_NEAR(ErlangC(2, 1.0), 1.0 / 3.0, 1e-12);
  // c = 10, a = 8: 0.409 (standard Erlang C table).
  EXPECT_NEAR(ErlangC(10, 8.0), 0.4092, 5e-4);
  EXPECT_DOUBLE_EQ(ErlangC(4, 4.0), 1.0);  // unstable
  EXPECT_DOUBLE_EQ(ErlangC(4, 0.0), 0.0);
}

TEST(ErlangCTest, MeanWaitMatchesMM1) {
  // M/M/1: Wq = rho S / (1 - rho).
  double lambda = 8, s = 0.1;
  EXPECT_NEAR(MeanWaitSeconds(1, lambda, s), 0.8 * 0.1 / 0.2, 1e-12);
  EXPECT_TRUE(std::isinf(MeanWaitSeconds(1, 10, 0.1)));
}

TEST(ErlangCTest, SmallestPoolMeetsTarget) {
  double lambda = 100, s = 0.05;  // 5 Erlangs
  auto c = SmallestServersForWait(lambda, s, 0.005, 1, 100);
  ASSERT_TRUE(c.has_value());
  EXPECT_LE(MeanWaitSeconds(*c, lambda, s), 0.005);
  EXPECT_GT(MeanWaitSeconds(*c - 1, lambda, s), 0.005);
  EXPECT_GT(*c, 5);
  auto p = SmallestServersForWaitProbability(lambda, s, 0.2, 1, 100);
  ASSERT_TRUE(p.has_value());
  EXPECT_LE(ErlangC(*p, 5), 0.2);
  EXPECT_GT(ErlangC(*p - 1, 5), 0.2);
  EXPECT_FALSE(SmallestServersForWait(lambda, s, 0.001, 1, 5).has_value());
}

TEST(ErlangCTest, LargePoolsAreNumericallyStable) {
  double c = ErlangC(1000, 950);
  EXPECT_TRUE(std::isfinite(c));
  EXPECT_GT(c, 0);
  EXPECT_LT(c, 1);
}

}  // namespace
}  // namespace knob
