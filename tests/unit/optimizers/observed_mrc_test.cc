// SPDX-License-Identifier: Apache-2.0
// ObservedHitRatios (optimizers/models/observed_mrc.h): the miss-ratio curve of a cache that
// reports only hits and misses (Redis), and its hook in TargetModel::Cache.
#include "optimizers/models/observed_mrc.h"

#include <gtest/gtest.h>

#include "optimizers/models/target_model.h"

namespace knob {
namespace {

constexpr double kMiB = 1 << 20;

TEST(ObservedHitRatiosTest, NoCurveBeforeEnoughLookups) {
  ObservedHitRatios o;
  EXPECT_FALSE(o.Curve().has_value());
  o.Add(4 * kMiB, 50, 50);
  EXPECT_FALSE(o.Curve().has_value());  // 100 < kMinAccesses
  o.Add(4 * kMiB, 50, 50);
  EXPECT_TRUE(o.Curve().has_value());
}

TEST(ObservedHitRatiosTest, OnePointExtendsAlongTheUniformLine) {
  // 25% hits at 4 MiB: uniform popularity would reach 100% at 16 MiB, the extension stops
  // at 4x the observed size.
  ObservedHitRatios o;
  o.Add(4 * kMiB, 2500, 7500);
  auto c = o.Curve();
  ASSERT_TRUE(c);
  EXPECT_NEAR(c->HitRatio(4 * kMiB), 0.25, 1e-3);
  EXPECT_NEAR(c->HitRatio(8 * kMiB), 0.50, 1e-3);
  EXPECT_NEAR(c->HitRatio(16 * kMiB), 1.0, 1e-3);
  EXPECT_NEAR(c->HitRatio(64 * kMiB), 1.0, 1e-3);
  EXPECT_EQ(c->total_accesses(), 10000u);
}

TEST(ObservedHitRatiosTest, FlatLastSegmentStopsTheExtension) {
  // Every key fits from 10 MiB on: more memory gains nothing, and the curve says so.
  ObservedHitRatios o;
  o.Add(8 * kMiB, 9000, 1000);
  o.Add(10 * kMiB, 9990, 10);
  o.Add(12 * kMiB, 9990, 10);
  auto c = o.Curve();
  ASSERT_TRUE(c);
  EXPECT_NEAR(c->HitRatio(12 * kMiB), 0.999, 1e-3);
  EXPECT_NEAR(c->HitRatio(48 * kMiB), 0.999, 1e-3);
  auto knee = c->SmallestSizeForHitRatio(0.995 * c->BestHitRatioUnder(64 * kMiB));
  ASSERT_TRUE(knee);
  EXPECT_LE(*knee, 10 * kMiB);
  EXPECT_GT(*knee, 8 * kMiB);
}

TEST(ObservedHitRatiosTest, ACacheWithRoomToSpareGainsNothingFromMore) {
  // Every key fits in 19 MiB of a 30 MiB cache: the hit ratio may still be rising (keys not yet
  // written), but more memory cannot help, so the curve does not extend past 30 MiB.
  ObservedHitRatios o;
  o.Add(20 * kMiB, 9000, 1000, 19.9 * kMiB);
  o.Add(30 * kMiB, 9700, 300, 19.9 * kMiB);
  auto c = o.Curve();
  ASSERT_TRUE(c);
  EXPECT_NEAR(c->HitRatio(30 * kMiB), 0.97, 1e-3);
  EXPECT_NEAR(c->HitRatio(60 * kMiB), 0.97, 1e-3);
  // The same points from a full cache do extend.
  ObservedHitRatios full;
  full.Add(20 * kMiB, 9000, 1000, 20 * kMiB);
  full.Add(30 * kMiB, 9700, 300, 29.9 * kMiB);
  EXPECT_GT(full.Curve()->HitRatio(40 * kMiB), 0.98);
}

TEST(ObservedHitRatiosTest, NoisyPointsAreFittedNonIncreasing) {
  // A larger cache that missed more (noise, a burst of new keys) is merged with its smaller
  // neighbour: LRU never misses more with more memory.
  ObservedHitRatios o;
  o.Add(4 * kMiB, 6000, 4000);  // miss 0.4
  o.Add(6 * kMiB, 5000, 5000);  // miss 0.5: violates
  auto pts = o.FittedPoints();
  ASSERT_EQ(pts.size(), 2u);
  EXPECT_NEAR(pts[4 * kMiB], 0.45, 1e-9);
  EXPECT_NEAR(pts[6 * kMiB], 0.45, 1e-9);
  EXPECT_GE(pts[4 * kMiB], pts[6 * kMiB]);
}

TEST(ObservedHitRatiosTest, KeepsOnlyRecentIntervalsPerSize) {
  ObservedHitRatios o;
  for (size_t i = 0; i < ObservedHitRatios::kMaxIntervals; ++i) o.Add(4 * kMiB, 0, 1000);
  for (size_t i = 0; i < ObservedHitRatios::kMaxIntervals; ++i) o.Add(4 * kMiB, 500, 500);
  EXPECT_NEAR(o.FittedPoints()[4 * kMiB], 0.5, 1e-9);
}

// Through the model: reports without a reuse histogram, the capacity raised once; the interval
// of the change is skipped, and the curve knows both sizes.
TEST(ObservedHitRatiosTest, TargetModelBuildsTheCurveFromReports) {
  TargetModel m;
  HostSnapshot host;
  MonoTime t0{};
  double hits = 0, misses = 0, requests = 0;
  auto step = [&](int i, double capacity, double hit_ratio) {
    hits += 1000 * hit_ratio;
    misses += 1000 * (1 - hit_ratio);
    requests += 1000;
    TargetSnapshot s;
    s.name = "redis";
    AppReport a;
    a.requests_total = requests;
    // As knob::Client sends it for a cache fed only by counts: bounds, no samples.
    a.caches["keyspace"] = {hits, misses, capacity, capacity, {1024, 2048}, {0, 0}, 0, 0.01};
    a.knobs["cache_bytes"] = capacity;
    s.app = a;
    (void)m.Observe(s, host, t0 + std::chrono::seconds(i));
  };
  for (int i = 0; i < 5; ++i) step(i, 4 * kMiB, 0.25);
  step(5, 5 * kMiB, 0.9);  // the change's interval: not counted at either size
  for (int i = 6; i < 10; ++i) step(i, 5 * kMiB, 0.3125);
  auto c = m.Cache("keyspace");
  ASSERT_TRUE(c);
  EXPECT_NEAR(c->HitRatio(4 * kMiB), 0.25, 1e-3);
  EXPECT_NEAR(c->HitRatio(5 * kMiB), 0.3125, 1e-3);
  EXPECT_GT(c->HitRatio(6 * kMiB), c->HitRatio(5 * kMiB));  // the probe beyond what was seen
}

}  // namespace
}  // namespace knob
