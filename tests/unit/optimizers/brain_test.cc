// SPDX-License-Identifier: Apache-2.0
#include "optimizers/brain.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include "optimizers/brain_state.h"
#include "tests/support/brain_driver.h"
#include "tests/support/metric_value.h"
#include "tests/unit/optimizers/sim_service.h"

namespace knob {
namespace {

using ::knob::test::BrainDriver;
using ::knob::test::Delivery;
using ::knob::test::FakeClock;
using ::knob::test::SimPolicy;
using ::knob::test::SimService;

// The SimService under a brain that exports its metrics.
struct Harness : BrainDriver {
  SimService sim;

  explicit Harness(Mode mode, BrainOptions opts = {})
      : BrainDriver(SimPolicy(mode), Delivery::kApplyAck, /*metrics=*/true, opts) {}

  // One tick: the service runs for 1 s, knobd observes and decides, the service applies.
  void Tick(bool apply = true) {
    Step(std::chrono::seconds(1), sim.Tick(1.0), apply ? Delivery::kApplyAck : Delivery::kNone);
  }

 protected:
  void Apply(const Recommendation& r) override { sim.limit = r.new_value; }
};

TEST(BrainSimTest, ConvergesNearConstrainedOptimumInApplyMode) {
  Harness h(Mode::kApply);
  // Known optimum: the largest N with true p99 <= 50 ms (below the USL peak ~49.5).
  int best = 1;
  for (int n = 1; n <= 200; ++n)
    if (h.sim.TrueP99(n) <= 0.050) best = n;
  ASSERT_EQ(best, 31);
  for (int i = 0; i < 1500; ++i) h.Tick();
  EXPECT_GE(h.sim.limit, best - 3);
  EXPECT_LE(h.sim.limit, best);
  EXPECT_LE(h.sim.TrueP99(h.sim.limit), 0.050);
  // Every value knobd settled on met the SLO; anything above it was rolled back at once.
  for (const auto& r : h.brain->History("web")) {
    if (r.outcome == Outcome::kVerified && r.scenario != "rollback") {
      EXPECT_LE(h.sim.TrueP99(r.new_value), 0.0505) << r.reason;
    }
  }
  EXPECT_GT(h.sim.Truth().Throughput(h.sim.limit), 1.8 * h.sim.Truth().Throughput(8));
  // Each step is explained in one sentence.
  auto log = h.brain->DecisionLog();
  ASSERT_FALSE(log.empty());
  EXPECT_THAT(log.front(), ::testing::StartsWith("raised concurrency_limit of web from 8 to 9: "));
  bool saw_usl_reason = false;
  for (const auto& l : log) saw_usl_reason |= l.find("USL peak at") != std::string::npos;
  EXPECT_TRUE(saw_usl_reason);
}

TEST(BrainSimTest, NeverStepsMoreThanMaxStepOrDuringCooldown) {
  Harness h(Mode::kApply);
  for (int i = 0; i < 600; ++i) h.Tick();
  std::optional<WallTime> last;
  int steps = 0, after_a_change = 0;
  for (const auto& r : h.published) {
    if (r.scenario == "rollback") {
      last = r.created;
      continue;
    }
    ++steps;
    double step = std::max(1.0, std::floor(r.old_value * 0.10));
    EXPECT_LE(std::fabs(r.new_value - r.old_value), step + 1e-9) << r.reason;
    EXPECT_GE(r.new_value, 1);
    EXPECT_LE(r.new_value, 200);
    if (last) {
      ++after_a_change;
      EXPECT_GE(r.created - *last, std::chrono::seconds(10)) << r.reason;
    }
    last = r.created;
  }
  // Not vacuous: the climb from 8 takes many steps, each after the first checked for cooldown.
  EXPECT_GE(steps, 10);
  EXPECT_EQ(after_a_change, steps - 1);
}

TEST(BrainSimTest, RollsBackAPlantedRegressionAndPenalizesIt) {
  Harness h(Mode::kApply);
  h.sim.regress_at = 12;  // from 12 up throughput halves: the model cannot predict it
  h.sim.regress_factor = 0.5;
  for (int i = 0; i < 400; ++i) h.Tick();
  auto hist = h.brain->History("web");
  const Recommendation* bad = nullptr;
  const Recommendation* rollback = nullptr;
  for (const auto& r : hist) {
    if (r.new_value >= 12 && r.old_value < 12 && r.outcome == Outcome::kRolledBack && !bad)
      bad = &r;
    if (r.scenario == "rollback" && !rollback) rollback = &r;
  }
  ASSERT_NE(bad, nullptr);
  ASSERT_NE(rollback, nullptr);
  EXPECT_EQ(rollback->new_value, bad->old_value);
  // Half the throughput at the same concurrency doubles latency: whichever check fires first.
  EXPECT_THAT(bad->outcome_reason, ::testing::AnyOf(::testing::HasSubstr("objective got worse"),
                                                    ::testing::HasSubstr("violated")));
  EXPECT_LT(bad->realized.at("realized_improvement"), -0.3);
  EXPECT_LT(h.sim.limit, 12);
  auto model = h.brain->Model("web");
  ASSERT_TRUE(model.has_value());
  ASSERT_FALSE(model->penalties.empty());
  EXPECT_EQ(model->penalties[0].value, 12);
  EXPECT_EQ(model->penalties[0].direction, 1);
  // The penalty keeps it from retrying the bad region right away, and each repeated rollback
  // doubles the penalty (10, 20, 40 cooldowns...).
  std::vector<WallTime> attempts;
  for (const auto& r : hist)
    if (r.new_value >= 12 && r.old_value < 12 && r.outcome != Outcome::kVetoed)
      attempts.push_back(r.created);
  ASSERT_GE(attempts.size(), 2u);
  EXPECT_GE(attempts[1] - attempts[0], std::chrono::seconds(100));
  if (attempts.size() >= 3) {
    EXPECT_GE(attempts[2] - attempts[1], std::chrono::seconds(200));
  }
  EXPECT_LE(attempts.size(), 3u);
}

TEST(BrainTest, ObserveModeModelsButNeverRecommends) {
  Harness h(Mode::kObserve);
  for (int i = 0; i < 200; ++i) h.Tick();
  EXPECT_TRUE(h.published.empty());
  ASSERT_NE(h.brain->FindModel("web"), nullptr);
  EXPECT_GT(h.brain->FindModel("web")->observations().size(), 100u);
}

TEST(BrainTest, RecommendModeIsAdvisoryAndNoticesWhenTheTargetAppliesIt) {
  Harness h(Mode::kRecommend);
  for (int i = 0; i < 20 && h.published.empty(); ++i) h.Tick();
  ASSERT_EQ(h.published.size(), 1u);
  const Recommendation r = h.published[0];
  EXPECT_TRUE(r.advisory);
  EXPECT_EQ(r.outcome, Outcome::kAdvisory);
  h.sim.limit = r.new_value;  // the operator applies it by hand
  h.Tick(false);
  EXPECT_EQ(h.brain->Find(r.id)->outcome, Outcome::kApplied);
  for (int i = 0; i < 30; ++i) h.Tick(false);
  EXPECT_EQ(h.brain->Find(r.id)->outcome, Outcome::kVerified);
  EXPECT_GT(h.brain->Find(r.id)->realized.at("throughput"), 0);
}

TEST(BrainTest, UnappliedRecommendationExpires) {
  Harness h(Mode::kApply);
  for (int i = 0; i < 20 && h.published.empty(); ++i) h.Tick(false);
  ASSERT_EQ(h.published.size(), 1u);
  uint64_t id = h.published[0].id;
  for (int i = 0; i < 40; ++i) h.Tick(false);
  EXPECT_EQ(h.brain->Find(id)->outcome, Outcome::kExpired);
  h.brain->OnOutcome(id, Outcome::kRejected, "late");  // a late ack does not resurrect it
  EXPECT_EQ(h.brain->Find(id)->outcome, Outcome::kRejected);
}

TEST(BrainTest, RejectedAckFreesTheTarget) {
  Harness h(Mode::kApply);
  for (int i = 0; i < 20 && h.published.empty(); ++i) h.Tick(false);
  ASSERT_EQ(h.published.size(), 1u);
  h.brain->OnOutcome(h.published[0].id, Outcome::kRejected, "limit is managed by the operator");
  auto r = h.brain->Find(h.published[0].id);
  EXPECT_EQ(r->outcome, Outcome::kRejected);
  EXPECT_EQ(r->outcome_reason, "limit is managed by the operator");
  EXPECT_FALSE(h.brain->Model("web")->active_recommendation.has_value());
}

TEST(BrainTest, PersistenceRoundTripKeepsModelAndHistory) {
  std::string dir = ::testing::TempDir() + "/brain_state_rt";
  std::filesystem::create_directories(dir);
  Harness h(Mode::kApply);
  for (int i = 0; i < 300; ++i) h.Tick();
  ASSERT_TRUE(h.brain->Save(dir).ok());
  EXPECT_FALSE(std::filesystem::exists(dir + "/brain-state.json.tmp"));

  FakeClock clock2;
  Brain restored(clock2, nullptr);
  ASSERT_TRUE(restored.Load(dir).ok());
  auto before = h.brain->History("web");
  auto after = restored.History("web");
  ASSERT_EQ(before.size(), after.size());
  for (size_t i = 0; i < before.size(); ++i) {
    EXPECT_EQ(before[i].id, after[i].id);
    EXPECT_EQ(before[i].new_value, after[i].new_value);
    EXPECT_EQ(before[i].reason, after[i].reason);
    EXPECT_EQ(before[i].created, after[i].created);
  }
  auto m1 = h.brain->Model("web");
  auto m2 = restored.Model("web");
  ASSERT_TRUE(m1 && m2);
  EXPECT_EQ(m1->observations, m2->observations);
  ASSERT_TRUE(m1->usl && m2->usl);
  EXPECT_NEAR(m1->usl->alpha, m2->usl->alpha, 1e-9);
  EXPECT_NEAR(m1->usl->beta, m2->usl->beta, 1e-12);
  // New ids continue after the stored ones.
  Harness h2(Mode::kApply);
  EXPECT_TRUE(h2.brain->Load(dir).ok());
  EXPECT_FALSE(h2.brain->Load(dir + "/missing").ok());
}

TEST(BrainTest, CorruptStateIsAnErrorNotACrash) {
  std::string dir = ::testing::TempDir() + "/brain_state_bad";
  std::filesystem::create_directories(dir);
  {
    std::ofstream f(dir + "/brain-state.json");
    f << "{\"version\": 1, \"targets\": [{\"observations\": [{\"x\": \"oops\"}]}]";
  }
  FakeClock clock;
  Brain b(clock, nullptr);
  Status s = b.Load(dir);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
}

TEST(BrainTest, ExportsDocumentedMetricFamilies) {
  Harness h(Mode::kApply);
  for (int i = 0; i < 100; ++i) h.Tick();
  prometheus::TextSerializer ser;
  std::string text = ser.Serialize(h.registry.Collect());
  for (const char* fam :
       {"knobd_recommendations_total", "knobd_recommended_value",
        "knobd_predicted_requests_per_second", "knobd_realized_requests_per_second",
        "knobd_realized_ratio", "knobd_model_fit_r_squared", "knobd_model_confidence"}) {
    EXPECT_NE(text.find(fam), std::string::npos) << fam;
  }
  EXPECT_NE(text.find("outcome=\"verified\""), std::string::npos);
}

TEST(BrainTest, ScenarioTableCoversEveryOptimizer) {
  FakeClock clock;
  Brain b(clock, nullptr);
  std::set<std::string> opts;
  for (const auto& [opt, sc] : b.ScenarioTable()) {
    opts.insert(opt);
    EXPECT_FALSE(sc.description.empty());
  }
  EXPECT_EQ(opts, (std::set<std::string>{"concurrency", "pool_size", "cache_size", "scheduling",
                                         "guard"}));
}

}  // namespace
}  // namespace knob

namespace knob {
namespace {

// Property over random services and policies (fixed seed): whatever the brain publishes stays
// inside the knob's bounds, never moves by more than max_step, and never changes a knob during
// its cooldown (a rollback is immediate by design and exempt).
TEST(BrainPropertyTest, RandomServicesNeverBreakBoundsStepOrCooldown) {
  std::mt19937_64 rng(424242);
  std::uniform_real_distribution<double> u(0, 1);
  size_t decisions = 0;
  for (int run = 0; run < 40; ++run) {
    Harness h(Mode::kApply);
    h.sim.alpha = 0.001 + 0.1 * u(rng);
    h.sim.beta = 0.00001 + 0.002 * u(rng);
    h.sim.gamma = 10 + 500 * u(rng);
    h.sim.noise = 0.05 * u(rng);
    if (u(rng) < 0.3) {
      h.sim.regress_at = 5 + std::floor(40 * u(rng));
      h.sim.regress_factor = 0.3 + 0.6 * u(rng);
    }
    KnobPolicy& k = h.policy.targets[0].knobs["concurrency_limit"];
    k.min = 1 + std::floor(5 * u(rng));
    k.max = *k.min + 5 + std::floor(100 * u(rng));
    if (u(rng) < 0.5) k.max_step_fraction = 0.05 + 0.5 * u(rng);
    if (u(rng) < 0.3) k.max_step_abs = 1 + std::floor(8 * u(rng));
    h.policy.global.guard.cooldown = std::chrono::seconds(5 + static_cast<int>(20 * u(rng)));
    h.policy.targets[0].constraints.p99_latency =
        std::chrono::milliseconds(5 + static_cast<int>(200 * u(rng)));
    h.sim.limit = std::clamp(std::floor(1 + 50 * u(rng)), *k.min, *k.max);
    std::map<std::string, WallTime> last_change;
    for (int i = 0; i < 400; ++i) h.Tick();
    for (const auto& r : h.published) {
      ++decisions;
      ASSERT_GE(r.new_value, *k.min) << r.reason;
      ASSERT_LE(r.new_value, *k.max) << r.reason;
      if (r.scenario != "rollback") {
        ASSERT_LE(std::fabs(r.new_value - r.old_value),
                  MaxStep(r.old_value, k, h.policy.global.guard) + 1e-9)
            << r.reason;
        auto it = last_change.find(r.knob);
        ASSERT_TRUE(it == last_change.end() ||
                    r.created - it->second >= h.policy.global.guard.cooldown)
            << r.reason;
      }
      last_change[r.knob] = r.created;
    }
  }
  EXPECT_GT(decisions, 200u);
}

}  // namespace
}  // namespace knob

namespace knob {
namespace {

// Several tunable knobs on one target: at most one change per tick and one in flight, so every
// effect is attributable to one knob.
TEST(BrainTest, OneChangeAtATimePerTarget) {
  Harness h(Mode::kApply);
  KnobPolicy pool;
  pool.min = 1;
  pool.max = 64;
  h.policy.targets[0].knobs["worker_threads"] = pool;
  double workers = 2;
  for (int i = 0; i < 600; ++i) {
    Snapshot s;
    s.targets["web"] = h.sim.Tick(1.0);
    // A starved worker pool: 2 workers, both busy, requests waiting.
    s.targets["web"].app->knobs["worker_threads"] = workers;
    s.targets["web"].app->pools["workers"] = {workers, std::min(workers, 3.0) * 0.98,
                                              workers < 4 ? 6.0 : 0.0};
    auto recs = h.Step(std::chrono::seconds(1), std::move(s), Delivery::kNone);
    ASSERT_LE(recs.size(), 1u);
    for (auto& r : recs) {
      if (r.knob == "worker_threads") workers = r.new_value;
      if (r.knob == "concurrency_limit") h.sim.limit = r.new_value;
      h.brain->OnOutcome(r.id, Outcome::kApplied, "");
    }
  }
  std::set<std::string> knobs;
  for (const auto& r : h.published) knobs.insert(r.knob);
  EXPECT_EQ(knobs, (std::set<std::string>{"concurrency_limit", "worker_threads"}));
  // Changes never overlap: each starts after the previous one was verified or rolled back.
  auto hist = h.brain->History("web");
  for (size_t i = 1; i < hist.size(); ++i) {
    if (hist[i].outcome == Outcome::kVetoed || hist[i - 1].outcome == Outcome::kVetoed) continue;
    EXPECT_NE(hist[i - 1].outcome, Outcome::kPending) << hist[i].reason;
    EXPECT_NE(hist[i - 1].outcome, Outcome::kApplied) << hist[i].reason;
  }
  EXPECT_GT(workers, 2);
}

}  // namespace
}  // namespace knob

namespace knob {
namespace {

// After a restart the brain resumes from its saved model: no exploration from scratch.
// The reloaded model is on /metrics right after Load, before the target reconnects: the
// observation count and the penalized region of a rolled-back change (the end-to-end tests
// read these to prove a restart kept what was learned).
TEST(BrainTest, LoadExportsTheRestoredModelAndPenalties) {
  std::string dir = ::testing::TempDir() + "/brain_state_metrics";
  std::filesystem::create_directories(dir);
  Harness h(Mode::kApply);
  h.sim.regress_at = 10;
  h.sim.regress_factor = 0.5;
  bool rolled_back = false;
  for (int i = 0; i < 1000 && !rolled_back; ++i) {
    h.Tick();
    for (const auto& r : h.brain->History("web"))
      rolled_back = rolled_back || r.outcome == Outcome::kRolledBack;
  }
  ASSERT_TRUE(rolled_back);
  ASSERT_TRUE(h.brain->Save(dir).ok());
  const double observations = static_cast<double>(h.brain->Model("web")->observations);

  Harness h2(Mode::kApply);
  ASSERT_TRUE(h2.brain->Load(dir).ok());
  prometheus::TextSerializer ser;
  std::string text = ser.Serialize(h2.registry.Collect());
  auto value = [&](const std::string& series) { return test::SampleValue(text, series); };
  EXPECT_EQ(value("knobd_model_observations{target=\"web\"}"), observations) << text;
  EXPECT_GE(value("knobd_model_penalized_regions{knob=\"concurrency_limit\",target=\"web\"}"), 1)
      << text;
}

TEST(BrainTest, RestartResumesFromTheSavedModel) {
  std::string dir = ::testing::TempDir() + "/brain_state_resume";
  std::filesystem::create_directories(dir);
  Harness h(Mode::kApply);
  // Run until the model drives the steps (the first USL-based step), let it verify, then stop.
  for (int i = 0; i < 1000; ++i) {
    h.Tick();
    if (!h.published.empty() && h.published.back().scenario == "grow_below_peak") break;
  }
  ASSERT_EQ(h.published.back().scenario, "grow_below_peak");
  for (int i = 0; i < 30; ++i) h.Tick();
  ASSERT_TRUE(h.brain->Save(dir).ok());
  double limit = h.sim.limit;

  Harness h2(Mode::kApply);
  h2.clock.Advance(std::chrono::hours(2));  // a restart: monotonic time starts elsewhere
  ASSERT_TRUE(h2.brain->Load(dir).ok());
  ASSERT_TRUE(h2.brain->Model("web")->usl.has_value());
  h2.sim.limit = limit;
  h2.sim.requests = h.sim.requests;
  for (int i = 0; i < 300; ++i) h2.Tick();
  ASSERT_FALSE(h2.published.empty());
  for (const auto& r : h2.published) {
    EXPECT_THAT(r.scenario, ::testing::Not(::testing::StartsWith("explore"))) << r.reason;
  }
  EXPECT_GT(h2.published.front().id, h.published.back().id);
  EXPECT_GT(h2.sim.limit, limit);
  EXPECT_LE(h2.sim.TrueP99(h2.sim.limit), 0.050);
}

}  // namespace
}  // namespace knob
