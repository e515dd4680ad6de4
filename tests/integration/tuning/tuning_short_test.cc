// SPDX-License-Identifier: Apache-2.0
// The tuning benchmark's short mode: every tuner on the short scenarios (bench/tuning), checking
// that each runs, produces finite scores, and that the harness itself can tell good from bad
// (the oracle's own best setting scores 100%, a deliberately bad fixed setting does not), and
// that the baselines size every knob of the two-knob scenario.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "bench/tuning/harness.h"

namespace knob::tuning {
namespace {

// A tuner that sets the given values once and holds them.
class Fixed final : public Tuner {
 public:
  explicit Fixed(Knobs k) : k_(std::move(k)) {}
  std::string Name() const override { return "fixed"; }
  void Start(const Scenario&, Knobs& knobs) override {
    for (auto& [n, v] : k_) knobs[n] = v;
  }
  Knobs Tick(const Snapshot&, const Knobs&) override { return {}; }

 private:
  Knobs k_;
};

TEST(TuningShort, SimulatorIsDeterministicPerSeedAndNoisyInItsReports) {
  Scenario s = ShortScenarios().front();
  Simulator a(s.conditions, 7), b(s.conditions, 7), c(s.conditions, 8);
  Knobs k = s.Initial();
  for (int i = 0; i < 50; ++i) {
    a.Tick(k);
    b.Tick(k);
    c.Tick(k);
  }
  std::vector<std::string> knobs = {kWorkers};
  EXPECT_EQ(a.Report(knobs).app->requests_total, b.Report(knobs).app->requests_total);
  EXPECT_NE(a.Report(knobs).app->requests_total, c.Report(knobs).app->requests_total);
  EXPECT_EQ(a.Report(knobs).app->knobs.at(kWorkers), 16);
}

TEST(TuningShort, UslShapeRetrogradeBackendAndCacheCurve) {
  // Throughput of the contended-lock service rises then falls with workers.
  Scenario cpu = ShortScenarios()[0];
  auto goodput = [](const Scenario& s, Knobs k) {
    double out = 0;
    Simulator::Solve(s.conditions(0), k, 0, out, 0);
    return Simulator::Solve(s.conditions(0), k, 0, out, 0).goodput;
  };
  Knobs k = cpu.fixed;
  k[kWorkers] = 1;
  double x1 = goodput(cpu, k);
  k[kWorkers] = 2;
  double x2 = goodput(cpu, k);
  k[kWorkers] = 32;
  double x32 = goodput(cpu, k);
  EXPECT_GT(x2, 1.5 * x1);
  EXPECT_LT(x32, 0.8 * x2);
  // The retrograde backend: a pool of 32 carries less than one of 12.
  Scenario retro = ShortScenarios()[1];
  Knobs p = retro.fixed;
  p[kPool] = 12;
  double p12 = goodput(retro, p);
  p[kPool] = 32;
  EXPECT_LT(goodput(retro, p), 0.9 * p12);
  // The Zipf hit ratio grows with the cache and saturates at the key space.
  Conditions c;
  c.cache = true;
  EXPECT_LT(Simulator::HitRatio(c, 1e6), Simulator::HitRatio(c, 1e7));
  EXPECT_NEAR(Simulator::HitRatio(c, c.keys * c.item_bytes), 1.0, 1e-3);
}

TEST(TuningShort, OracleBestScoresFullAndABadSettingDoesNot) {
  Scenario s = ShortScenarios()[0];
  Oracle o = SweepOracle(s);
  ASSERT_EQ(o.phases.size(), 1u);
  Fixed best(o.phases[0].best);
  Scores sb = Score(s, o, RunTuner(s, best));
  EXPECT_NEAR(sb.steady_pct, 100, 3);
  EXPECT_GE(sb.converge_ticks, 0);
  EXPECT_EQ(sb.violations_after, 0);
  Fixed bad(Knobs{{kWorkers, 64}});
  Scores sw = Score(s, o, RunTuner(s, bad));
  EXPECT_LT(sw.steady_pct, 80);
  EXPECT_GT(sw.resource_ratio, 1.25);
  std::string why;
  EXPECT_FALSE(MeetsBar(s, sw, &why));
  EXPECT_FALSE(why.empty());
}

TEST(TuningShort, EveryTunerRunsEveryShortScenarioWithFiniteScores) {
  for (const Scenario& s : ShortScenarios()) {
    Oracle o = SweepOracle(s);
    for (const PhaseOracle& p : o.phases) {
      EXPECT_GT(p.best_goodput, 0) << s.id;
      EXPECT_TRUE(std::isfinite(p.best_goodput)) << s.id;
    }
    for (const std::string& name : TunerNames()) {
      auto tuner = MakeTuner(name, s);
      ASSERT_NE(tuner, nullptr) << name;
      Trace t = RunTuner(s, *tuner);
      ASSERT_EQ(t.ticks.size(), static_cast<size_t>(s.duration_seconds)) << s.id << " " << name;
      for (size_t i = 0; i < t.ticks.size(); ++i) {
        ASSERT_TRUE(std::isfinite(t.ticks[i].goodput)) << s.id << " " << name << " tick " << i;
        ASSERT_TRUE(std::isfinite(t.ticks[i].p99_seconds)) << s.id << " " << name;
        for (const KnobSpec& k : s.knobs) {
          double v = t.knobs[i].at(k.name);
          ASSERT_TRUE(v >= k.min && v <= k.max) << s.id << " " << name << " " << k.name << "=" << v;
        }
      }
      Scores sc = Score(s, o, t);
      EXPECT_TRUE(std::isfinite(sc.steady_pct)) << s.id << " " << name;
      EXPECT_GT(sc.steady_pct, 0) << s.id << " " << name;
      EXPECT_GE(sc.converge_ticks, -1) << s.id << " " << name;
      EXPECT_GE(sc.changes, 0);
      if (name == "knobd") {
        EXPECT_GE(sc.false_alarms, 0) << s.id;
      }
      if (name == "static") {
        EXPECT_EQ(sc.changes, 0) << s.id;
      }
    }
  }
}

}  // namespace
}  // namespace knob::tuning

namespace knob::tuning {
namespace {

// Feeds a baseline hand-made reports of a service on a concurrency limit and returns the value
// it sets after each tick (the current value when it sets none).
class BaselineRules : public ::testing::Test {
 protected:
  BaselineRules() {
    s_.id = "rules";
    s_.knobs = {{kLimit, 1, 512, 10, {}, false}};
    s_.conditions = [](double) { return Conditions{}; };
  }
  double Step(Tuner& t, double in_flight, double errors, double rtt_seconds) {
    requests_ += 1000;
    errors_ += errors;
    TargetSnapshot ts;
    ts.name = "svc";
    ts.state = TargetState::kActive;
    AppReport a;
    a.requests_total = requests_;
    a.errors_total = errors_;
    a.in_flight = in_flight;
    a.latency_sum_seconds = 1000 * rtt_seconds;
    a.latency_p99_seconds = 2 * rtt_seconds;
    a.knobs[kLimit] = knobs_[kLimit];
    ts.app = a;
    Snapshot snap;
    snap.targets["svc"] = ts;
    for (auto& [k, v] : t.Tick(snap, knobs_)) knobs_[k] = v;
    return knobs_[kLimit];
  }
  std::unique_ptr<Tuner> Make(const std::string& name) {
    auto t = MakeTuner(name, s_);
    knobs_ = s_.Initial();
    t->Start(s_, knobs_);
    return t;
  }
  Scenario s_;
  Knobs knobs_;
  double requests_ = 0, errors_ = 0;
};

TEST_F(BaselineRules, AimdAddsOneWhenHalfUsedAndBacksOffByTenPercentOnADrop) {
  auto t = Make("aimd");
  EXPECT_EQ(knobs_[kLimit], 10);  // its published initial limit
  Step(*t, 8, 0, 0.01);           // the first report only sets the counters
  EXPECT_EQ(Step(*t, 8, 0, 0.01), 11);
  EXPECT_EQ(Step(*t, 8, 0, 0.01), 12);
  EXPECT_EQ(Step(*t, 2, 0, 0.01), 12);  // app-limited: holds
  EXPECT_EQ(Step(*t, 8, 5, 0.01), 10);  // floor(12 * 0.9)
}

TEST_F(BaselineRules, Gradient2ShrinksOnRisingLatencyButNotBelowItsMinimum) {
  auto t = Make("gradient2");
  EXPECT_EQ(knobs_[kLimit], 20);
  Step(*t, 20, 0, 0.01);
  for (int i = 0; i < 12; ++i) Step(*t, 20, 0, 0.01);
  // Steady RTT: gradient 1, each window adds smoothing * queueSize = 0.8.
  double grown = Step(*t, 40, 0, 0.01);
  EXPECT_GT(grown, 20);
  for (int i = 0; i < 30; ++i) Step(*t, 40, 0, 0.05);  // RTT x5: gradient 0.5
  EXPECT_EQ(knobs_[kLimit], 20);
}

TEST_F(BaselineRules, VegasGrowsByBetaWithoutQueueingAndShrinksWithIt) {
  auto t = Make("vegas");
  Step(*t, 20, 0, 0.01);
  Step(*t, 20, 0, 0.01);                 // sets rtt_noload
  EXPECT_EQ(Step(*t, 20, 0, 0.01), 26);  // no queue: + 6 log10(20) rounded down to 6
  // RTT doubled: queue = ceil(26 * 0.5) = 13 > beta 6: - log10 = 25.
  EXPECT_EQ(Step(*t, 26, 0, 0.02), 25);
}

}  // namespace
}  // namespace knob::tuning

namespace knob::tuning {
namespace {

Scenario TwoKnobsShort() {
  for (Scenario& s : AllScenarios())
    if (s.id == "two_knobs") {
      s.duration_seconds = 600;
      return s;
    }
  ADD_FAILURE() << "no two_knobs scenario";
  return {};
}

// Every adaptive baseline sizes both knobs of two_knobs (the limit algorithms one instance per
// pool, hill climbing and golden search coordinate-wise), not only the first.
TEST(TuningBaselines, EveryAdaptiveBaselineMovesBothKnobsOfTwoKnobs) {
  const Scenario s = TwoKnobsShort();
  ASSERT_EQ(s.knobs.size(), 2u);
  for (const char* name : {"aimd", "gradient2", "vegas", "hill_climb", "golden"}) {
    auto tuner = MakeTuner(name, s);
    Trace t = RunTuner(s, *tuner);
    for (const KnobSpec& k : s.knobs) {
      // The scenario's start counts: a limit algorithm sets its published initial limit first.
      std::set<double> seen = {k.initial};
      for (const Knobs& v : t.knobs) seen.insert(v.at(k.name));
      EXPECT_GE(seen.size(), 2u) << name << " never moved " << k.name;
    }
  }
}

// A limit algorithm per pool: each is fed its own pool's demand, so a busy worker pool grows
// while an idle backend pool of the same size holds (AIMD: +1 when half the limit is in use).
TEST(TuningBaselines, AimdSizesEachPoolByItsOwnDemand) {
  Scenario s = TwoKnobsShort();
  auto t = MakeTuner("aimd", s);
  Knobs knobs = s.Initial();
  t->Start(s, knobs);
  EXPECT_EQ(knobs.at(kWorkers), 10);  // AIMD's published initial limit, on both pools
  EXPECT_EQ(knobs.at(kPool), 10);
  double requests = 0;
  auto step = [&] {
    requests += 1000;
    TargetSnapshot ts;
    ts.name = "svc";
    ts.state = TargetState::kActive;
    AppReport a;
    a.requests_total = requests;
    a.latency_sum_seconds = 10;
    a.in_flight = 10;
    a.pools["workers"].size = knobs.at(kWorkers);
    a.pools["workers"].busy = 8;
    a.pools["backend"].size = knobs.at(kPool);
    a.pools["backend"].busy = 2;
    ts.app = a;
    Snapshot snap;
    snap.targets["svc"] = ts;
    for (auto& [k, v] : t->Tick(snap, knobs)) knobs[k] = v;
  };
  step();  // the first report only sets the counters
  step();
  EXPECT_EQ(knobs.at(kWorkers), 11);
  EXPECT_EQ(knobs.at(kPool), 10);
}

}  // namespace
}  // namespace knob::tuning
