// SPDX-License-Identifier: Apache-2.0
// The size curve (optimizers/models/size_curve.h) and the pool rules built on it. The backend
// here is the retrograde one of the tuning benchmark (bench/tuning/scenarios.cc, "retrograde"),
// shaped like the PgBouncer-through-pgbench measurement of issue 11: the service time grows with
// the connections served at once, 1.1 ms at 1 connection to ~16 ms at 32, so throughput peaks
// near 12 and a pool of 32 serves less than one of 12 -- which Erlang C, taking the service time
// as fixed, cannot see.
#include "optimizers/models/size_curve.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "optimizers/models/target_model.h"
#include "optimizers/pool_size_optimizer.h"
#include "tests/support/fake_clock.h"

namespace knob::test {
namespace {

using ::testing::HasSubstr;

constexpr const char* kKnob = "backend_pool";

// Service time per transaction at k connections busy, seconds.
double ServiceSeconds(double k) {
  const double over = std::max(0.0, k - 1);
  return 0.0011 * (1 + 0.25 * over + 0.006 * over * over);
}
// Closed loop of 64 clients: every connection of the pool busy, throughput k / S(k).
double Throughput(double k) { return k / ServiceSeconds(k); }

// `ticks` observations at each size, throughput with 1% noise, p99 = 64 clients / X x 1.5.
std::deque<Observation> RunAt(const std::vector<double>& sizes, int ticks = 12, double scale = 1.0,
                              uint32_t seed = 7) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> noise(0, 0.01);
  std::deque<Observation> out;
  for (double s : sizes) {
    for (int i = 0; i < ticks; ++i) {
      Observation o;
      o.throughput = scale * Throughput(s) * (1 + noise(rng));
      o.p99_seconds = 1.5 * 64 / o.throughput;
      o.knobs[kKnob] = s;
      o.pools["backend"] = {s, s, 64 - s};
      out.push_back(o);
    }
  }
  return out;
}

TEST(SizeCurveTest, AServiceTimeThatGrowsWithTheSizeIsFittedAndItsKneeIsBelowTheLargePool) {
  SizeCurve c = FitSizeCurve(RunAt({8, 16, 32}), {}, kKnob, "backend");
  ASSERT_TRUE(c.usl.has_value()) << c.error;
  ASSERT_EQ(c.levels.size(), 3u);
  // The first tick at each size straddles the change and is left out.
  EXPECT_EQ(c.levels[0].samples, 11u);
  // The fit reproduces the service time growing with the size (Little: S = N / X).
  EXPECT_NEAR(16 / c.Throughput(16), ServiceSeconds(16), 0.05 * ServiceSeconds(16));
  EXPECT_GT(32 / c.Throughput(32), 2 * (8 / c.Throughput(8)));
  auto k = ChooseKnee(c, 1, 64, 64, std::nullopt);
  ASSERT_TRUE(k.has_value());
  EXPECT_TRUE(k->feasible);
  EXPECT_GE(k->size, 7);
  EXPECT_LE(k->size, 14);
  EXPECT_LE(k->size, k->peak_size);  // the smaller size within the noise wins
  EXPECT_GT(k->throughput, 1.1 * Throughput(32));
  EXPECT_GE(c.noise, 0.01);
  EXPECT_LE(c.noise, 0.04);
}

TEST(SizeCurveTest, FewerThanThreeBusyLevelsIsNoFitAndSaysWhy) {
  SizeCurve c = FitSizeCurve(RunAt({32, 35}), {}, kKnob, "backend");
  EXPECT_FALSE(c.usl.has_value());
  EXPECT_THAT(c.error, HasSubstr("2 distinct busy levels"));
  EXPECT_FALSE(ChooseKnee(c, 1, 64, 64, std::nullopt).has_value());
  // Sizes whose busy members coincide (a pool that does not bind) are one level to the fit.
  std::deque<Observation> idle = RunAt({8, 16, 32});
  for (Observation& o : idle) o.pools["backend"].busy = 5;
  EXPECT_FALSE(FitSizeCurve(idle, {}, kKnob, "backend").usl.has_value());
}

TEST(SizeCurveTest, AMeasuredSizeOutranksTheFit) {
  std::deque<Observation> obs = RunAt({8, 16, 32});
  // 10 was measured and is bad (say a neighbour's lock): the fit alone would place the knee
  // near it.
  std::deque<Observation> bad = RunAt({10});
  for (Observation& o : bad) o.throughput *= 0.5;
  obs.insert(obs.end(), bad.begin(), bad.end());
  SizeCurve c = FitSizeCurve(obs, {}, kKnob, "backend");
  ASSERT_TRUE(c.usl.has_value());
  auto k = ChooseKnee(c, 1, 64, 64, std::nullopt);
  ASSERT_TRUE(k.has_value());
  EXPECT_NE(k->size, 10);
}

TEST(SizeCurveTest, AP99LimitSetsTheKneeWhenItBindsFirst) {
  SizeCurve c = FitSizeCurve(RunAt({8, 16, 32}), {}, kKnob, "backend");
  ASSERT_TRUE(c.p99_fitted);
  // p99 = 1.5 x 64 / X: recovered by the queue term.
  EXPECT_NEAR(*c.P99Seconds(16), 1.5 * 64 / Throughput(16), 0.05 * 1.5 * 64 / Throughput(16));
  // In this closed loop the lowest p99 is at the throughput peak: a limit between the peak's
  // p99 and the large pool's admits only sizes near the peak.
  const double limit = 1.5 * 64 / Throughput(20);
  auto k = ChooseKnee(c, 1, 64, 64, limit);
  ASSERT_TRUE(k.has_value());
  EXPECT_TRUE(k->feasible);
  EXPECT_LE(*k->p99_seconds, limit);
  auto unconstrained = ChooseKnee(c, 1, 64, 64, std::nullopt);
  EXPECT_GE(k->size, unconstrained->size);
  // A limit no size meets: said so, and the lowest predicted p99 is chosen.
  auto none = ChooseKnee(c, 1, 64, 64, 0.001);
  ASSERT_TRUE(none.has_value());
  EXPECT_FALSE(none->feasible);
}

TEST(SizeCurveTest, SizesFromBeforeAShiftAlarmCountOnlyWhenTheSizesRunOnBothSidesAgree) {
  std::deque<Observation> before = RunAt({8, 16, 32}, 12, 1.0, 1);
  std::deque<Observation> after = RunAt({32}, 12, 1.0, 2);
  SizeCurve same = FitSizeCurve(after, before, kKnob, "backend");
  EXPECT_TRUE(same.usl.has_value()) << same.error;
  EXPECT_EQ(same.levels.size(), 3u);
  // A real shift: the same size now serves 30% less; what the other sizes taught is void.
  std::deque<Observation> shifted = RunAt({32}, 12, 0.7, 2);
  SizeCurve moved = FitSizeCurve(shifted, before, kKnob, "backend");
  EXPECT_FALSE(moved.usl.has_value());
  EXPECT_EQ(moved.levels.size(), 1u);
}

// A model fed through Observe, the way the brain feeds it: snapshots one second apart at each
// size in turn, the pool reporting its size as a knob.
TargetModel ModelOver(FakeClock& clock, const std::vector<double>& sizes, int ticks = 15) {
  TargetModel model;
  HostSnapshot host;
  double requests = 0, latency_sum = 0;
  std::mt19937 rng(3);
  std::normal_distribution<double> noise(0, 0.005);
  for (double s : sizes) {
    for (int i = 0; i < ticks; ++i) {
      clock.Advance(std::chrono::seconds(1));
      const double x = Throughput(s) * (1 + noise(rng));
      requests += x;
      latency_sum += 64;  // Little: 64 clients in the system each second
      TargetSnapshot t;
      t.state = TargetState::kActive;
      AppReport a;
      a.requests_total = requests;
      a.latency_sum_seconds = latency_sum;
      a.latency_p99_seconds = 1.5 * 64 / x;
      a.pools["backend"] = {s, s, 64 - s};
      a.knobs[kKnob] = s;
      t.app = a;
      model.Observe(t, host, clock.Now());
    }
  }
  return model;
}

TargetPolicy Slo(double seconds) {
  TargetPolicy tp;
  tp.objective = Objective::kMaximizeThroughput;
  tp.constraints.p99_latency = std::chrono::microseconds(static_cast<int64_t>(seconds * 1e6));
  return tp;
}

TEST(SizeCurveTest, APoolTooLargeForItsBackendIsLoweredToTheKneeWithItsReason) {
  FakeClock clock;
  TargetModel model = ModelOver(clock, {24, 28, 32});
  // p99 at 32 is 1.5 x 64 / 2000 = 48 ms: a 45 ms SLO is violated there.
  TargetPolicy tp = Slo(0.045);
  GuardSettings g;
  KnobPolicy kp;
  kp.min = 1;
  kp.max = 64;
  HostSnapshot host;
  OptimizerInput in{tp, g, model, host, kKnob, 32, kp};
  auto p = PoolSizeOptimizer().Propose(in);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->scenario, "lower_to_knee");
  EXPECT_LT(p->value, 24);
  EXPECT_TRUE(p->fixes_violation);
  EXPECT_THAT(p->reason, HasSubstr("service time grows"));
  EXPECT_THAT(p->reason, HasSubstr("sizes 24, 28, 32"));
  EXPECT_GT(p->predicted.at("throughput"), Throughput(32));
  EXPECT_LT(p->predicted.at("p99_seconds"), 0.045);
  // Erlang C alone (the old rules) grew this pool: it binds, 32 requests wait.
  bool listed = false;
  for (const auto& s : PoolSizeOptimizer().Scenarios()) listed |= s.id == "lower_to_knee";
  EXPECT_TRUE(listed);
}

TEST(SizeCurveTest, AtTheKneeThePoolHoldsAndSaysWhy) {
  FakeClock clock;
  // X(9) is within 1% of the peak near 11, X(8) 2% below it: 9 is the knee.
  TargetModel model = ModelOver(clock, {8, 10, 12, 14, 16, 9});
  TargetPolicy tp = Slo(0.2);
  GuardSettings g;
  KnobPolicy kp;
  kp.max = 64;
  HostSnapshot host;
  OptimizerInput in{tp, g, model, host, kKnob, 9, kp};
  auto p = PoolSizeOptimizer().Propose(in);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->scenario, "hold_at_knee");
  EXPECT_EQ(p->value, 9);
  EXPECT_THAT(p->reason, HasSubstr("is the knee"));
}

TEST(SizeCurveTest, AFullPoolWhoseRaiseFailedProbesBelowNotAgainAbove) {
  FakeClock clock;
  TargetModel model = ModelOver(clock, {35, 32});
  TargetPolicy tp = Slo(0.05);
  GuardSettings g;
  KnobPolicy kp;
  kp.max = 64;
  HostSnapshot host;
  OptimizerInput in{tp, g, model, host, kKnob, 32, kp};
  in.last_change = PastChange{32, 35, false, -0.034, 4.0};  // rolled back: 3.4% less
  auto p = PoolSizeOptimizer().Propose(in);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->scenario, "probe_size_curve");
  EXPECT_TRUE(p->exploratory);
  EXPECT_EQ(p->value, OneStep(32, -1, kp, g));
  EXPECT_THAT(p->reason, HasSubstr("explore"));
  EXPECT_THAT(p->reason, HasSubstr("below the sizes run"));
  EXPECT_THAT(p->reason, HasSubstr("measured sizes 32, 35"));
  // Without that evidence (a raise that helped), the probe does not fire.
  in.last_change = PastChange{28, 32, true, 0.2, 8};
  TargetModel rising = ModelOver(clock, {32});
  OptimizerInput in2{tp, g, rising, host, kKnob, 32, kp};
  in2.last_change = in.last_change;
  auto q = PoolSizeOptimizer().Propose(in2);
  EXPECT_TRUE(!q || q->scenario != "probe_size_curve");
}

}  // namespace
}  // namespace knob::test
