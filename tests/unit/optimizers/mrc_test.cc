// SPDX-License-Identifier: Apache-2.0
#include "optimizers/models/mrc.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>

namespace knob {
namespace {

TEST(MrcTest, FromHistogram) {
  // 100 accesses: 20 cold, 40 at distance <= 1 MiB, 40 at <= 4 MiB.
  auto mrc = MissRatioCurve::FromHistogram({1 << 20, 4 << 20}, {40, 40}, 20);
  ASSERT_TRUE(mrc.ok());
  EXPECT_DOUBLE_EQ(mrc->MissRatio(0), 1.0);
  EXPECT_NEAR(mrc->MissRatio(1 << 20), 0.6, 1e-12);
  EXPECT_NEAR(mrc->MissRatio(4 << 20), 0.2, 1e-12);
  EXPECT_NEAR(mrc->MissRatio(100 << 20), 0.2, 1e-12);
  EXPECT_NEAR(mrc->HitRatio(2.5 * (1 << 20)), 0.6, 1e-12);  // linear within the bucket
  auto s = mrc->SmallestSizeForHitRatio(0.6);
  ASSERT_TRUE(s.has_value());
  EXPECT_NEAR(*s, 2.5 * (1 << 20), 1);
  EXPECT_FALSE(mrc->SmallestSizeForHitRatio(0.9).has_value());  // cold misses cap it at 0.8
  EXPECT_NEAR(mrc->BestHitRatioUnder(1 << 20), 0.4, 1e-12);
}

TEST(MrcTest, RejectsBadHistograms) {
  EXPECT_FALSE(MissRatioCurve::FromHistogram({1, 2}, {1}, 0).ok());
  EXPECT_FALSE(MissRatioCurve::FromHistogram({2, 1}, {1, 1}, 0).ok());
  EXPECT_FALSE(MissRatioCurve::FromHistogram({}, {}, 0).ok());
}

TEST(MrcTest, ExactStackDistancesOnCyclicTrace) {
  std::vector<std::string> keys;
  for (int r = 0; r < 100; ++r)
    for (int k = 0; k < 10; ++k) keys.push_back("k" + std::to_string(k));
  auto mrc = MissRatioCurve::FromTrace(keys);
  // LRU on a cyclic scan: every access misses below 10 objects, hits at 10.
  EXPECT_NEAR(mrc.MissRatio(9), 1.0, 1e-12);
  EXPECT_NEAR(mrc.MissRatio(10), 10.0 / 1000, 1e-12);
}

TEST(MrcTest, ShardsSamplingApproximatesExactCurve) {
  std::mt19937 rng(3);
  // Mildly skewed keys (p ~ 1/sqrt(i+1) over 20000 keys): SHARDS without adjustment is
  // accurate when no handful of hot keys dominates the sample.
  std::vector<double> w;
  for (int i = 0; i < 20000; ++i) w.push_back(1.0 / std::sqrt(i + 1.0));
  std::discrete_distribution<int> dist(w.begin(), w.end());
  std::vector<std::string> keys;
  for (int i = 0; i < 300000; ++i) keys.push_back("key-" + std::to_string(dist(rng)));
  auto exact = MissRatioCurve::FromTrace(keys);
  auto sampled = MissRatioCurve::FromTrace(keys, 0.1);
  for (double size : {1000.0, 4000.0, 10000.0}) {
    EXPECT_NEAR(sampled.MissRatio(size), exact.MissRatio(size), 0.05) << size;
  }
}

}  // namespace
}  // namespace knob
