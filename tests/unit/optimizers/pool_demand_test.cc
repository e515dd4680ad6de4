// SPDX-License-Identifier: Apache-2.0
// Pool sizing found end to end (tests/integration/e2e/pools_e2e_test.cc): a backend connection
// pool under a closed-loop load stopped growing at 4 connections while 11 requests queued for
// one and throughput was still climbing, because Erlang C's mean wait at 4 (2 ms) fitted the
// wait budget (10% of a 200 ms SLO). For a throughput objective a pool that binds (nearly all
// members busy, a queue waiting) limits throughput whatever its mean wait: grow toward the
// demand busy + waiters, stop at the measured plateau, and never shrink back into binding.
// Everything under a FakeClock, no sleeps.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <set>

#include "optimizers/brain.h"
#include "optimizers/cache_size_optimizer.h"
#include "optimizers/models/target_model.h"
#include "optimizers/pool_size_optimizer.h"
#include "tests/support/brain_driver.h"
#include "tests/support/fake_clock.h"

namespace knob::test {
namespace {

using ::testing::HasSubstr;

// A model fed `ticks` one-second observations of one pool.
TargetModel PoolModelOf(FakeClock& clock, double throughput, AppReport::Pool pool, int ticks = 10,
                        const std::string& name = "backend", double p99_seconds = 0.016) {
  TargetModel model;
  HostSnapshot host;
  double requests = 0;
  for (int i = 0; i < ticks; ++i) {
    clock.Advance(std::chrono::seconds(1));
    requests += throughput;
    TargetSnapshot t;
    t.state = TargetState::kActive;
    AppReport a;
    a.requests_total = requests;
    a.latency_sum_seconds = 16 * (i + 1);
    a.latency_p99_seconds = p99_seconds;
    a.pools[name] = pool;
    t.app = a;
    model.Observe(t, host, clock.Now());
  }
  return model;
}

TargetPolicy ThroughputPolicy() {
  TargetPolicy tp;
  tp.objective = Objective::kMaximizeThroughput;
  tp.constraints.p99_latency = std::chrono::milliseconds(200);
  return tp;
}

// Erlang C reads a pool with every member busy as saturated (no finite wait), and under a
// closed loop it reads so at every size. That is a reason to grow, not a broken constraint: a
// raise marked as a violation fix is exempt from the rollback of a worse objective, and in the
// tuning benchmark's cpu_lock scenario 16 -> 17 threads cost 8% beyond noise and was "verified".
TEST(PoolDemandTest, ASaturatedPoolIsAViolationFixOnlyWhenTheP99IsAboveItsLimit) {
  TargetPolicy tp = ThroughputPolicy();  // p99 limit 200 ms
  GuardSettings g;
  KnobPolicy kp;
  kp.max = 64;
  PoolSizeOptimizer opt;
  HostSnapshot host;
  for (double p99 : {0.016, 0.3}) {
    FakeClock clock;
    TargetModel model = PoolModelOf(clock, 370, {16, 16, 48}, 10, "workers", p99);
    OptimizerInput in{tp, g, model, host, "worker_threads", 16, kp};
    auto p = opt.Propose(in);
    ASSERT_TRUE(p.has_value()) << "p99 " << p99;
    EXPECT_GT(p->value, 16) << p->reason;
    EXPECT_THAT(p->reason, HasSubstr("saturated")) << p->reason;
    EXPECT_EQ(p->fixes_violation, p99 > 0.2) << "p99 " << p99 << ": " << p->reason;
  }
}

TEST(PoolDemandTest, BindingPoolGrowsTowardDemandEvenWhenTheMeanWaitFitsTheBudget) {
  FakeClock clock;
  // The numbers seen end to end: 3.6 of 4 busy, 11 waiting, 3700 req/s.
  TargetModel model = PoolModelOf(clock, 3700, {4, 3.6, 11});
  TargetPolicy tp = ThroughputPolicy();
  GuardSettings g;
  KnobPolicy kp;
  kp.max = 32;
  PoolSizeOptimizer opt;
  HostSnapshot host;
  OptimizerInput in{tp, g, model, host, "backend_pool", 4, kp};
  auto p = opt.Propose(in);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->scenario, "grow_pool_demand");
  EXPECT_EQ(p->value, 15);  // ceil(3.6 + 11)
  EXPECT_THAT(p->reason, HasSubstr("binds"));
  EXPECT_THAT(p->reason, HasSubstr("11.0 requests waiting"));
  EXPECT_DOUBLE_EQ(p->triggers.at("demand"), 14.6);
  EXPECT_FALSE(p->fixes_violation);  // a finite wait: not a violation fix
  bool listed = false;
  for (const auto& s : opt.Scenarios()) listed |= s.id == "grow_pool_demand";
  EXPECT_TRUE(listed);

  // Bounded by the knob's max.
  kp.max = 8;
  OptimizerInput capped{tp, g, model, host, "backend_pool", 4, kp};
  EXPECT_EQ(opt.Propose(capped)->value, 8);

  // The plateau rule still stops it: the last raise was kept but did not help.
  in.last_change = PastChange{3, 4, true, 0.01, 0.5};
  EXPECT_EQ(opt.Propose(in)->scenario, "hold_no_gain");
}

// Found end to end: on a busy host 2 -> 4 backend connections measured +31% at signal-to-noise
// 0.7, and hold_no_gain kept the pool at 4 with 4 of 4 busy and ~10 requests queued (x2.2 where
// 8 connections give x6). A large measured gain on a pool that still binds with a deep queue is
// inconclusive, not a plateau: growth goes on. A small one still holds.
TEST(PoolDemandTest, ALargeButNoisyGainOnADeeplyQueuedPoolDoesNotHold) {
  FakeClock clock;
  TargetModel model = PoolModelOf(clock, 1800, {4, 4, 10});
  TargetPolicy tp = ThroughputPolicy();
  GuardSettings g;
  KnobPolicy kp;
  kp.max = 32;
  PoolSizeOptimizer opt;
  HostSnapshot host;
  OptimizerInput in{tp, g, model, host, "backend_pool", 4, kp};
  in.last_change = PastChange{2, 4, true, 0.31, 0.7};
  auto p = opt.Propose(in);
  ASSERT_TRUE(p.has_value());
  EXPECT_NE(p->scenario, "hold_no_gain");
  EXPECT_GT(p->value, 4);
  in.last_change = PastChange{2, 4, true, 0.03, 0.7};  // small and noisy: a plateau
  EXPECT_EQ(opt.Propose(in)->scenario, "hold_no_gain");
  // A shallow queue: the pool is near its plateau, hold.
  TargetModel shallow = PoolModelOf(clock, 1800, {4, 3.8, 1.5});
  OptimizerInput in2{tp, g, shallow, host, "backend_pool", 4, kp};
  in2.last_change = PastChange{2, 4, true, 0.31, 0.7};
  auto p2 = opt.Propose(in2);
  EXPECT_TRUE(!p2 || p2->scenario == "hold_no_gain" || p2->value == 4);
}

TEST(PoolDemandTest, NoQueueOrLowUtilisationIsNotBinding) {
  FakeClock clock;
  TargetPolicy tp = ThroughputPolicy();
  GuardSettings g;
  PoolSizeOptimizer opt;
  HostSnapshot host;
  // Busy but no queue: well sized.
  TargetModel no_queue = PoolModelOf(clock, 3700, {4, 3.6, 0.2});
  OptimizerInput a{tp, g, no_queue, host, "backend_pool", 4, KnobPolicy{}};
  EXPECT_FALSE(opt.Propose(a).has_value());
  // A queue on a half-idle pool (a burst): not the pool's size that limits.
  TargetModel burst = PoolModelOf(clock, 3700, {8, 3, 2});
  OptimizerInput b{tp, g, burst, host, "backend_pool", 8, KnobPolicy{}};
  auto p = opt.Propose(b);
  EXPECT_TRUE(!p || p->scenario != "grow_pool_demand");
}

// Found end to end: near the plateau the gauges swing between idle and queued from tick to
// tick; ten queued ticks after ten idle ones read as binding over the model's 10-observation
// mean, and the pool crept one member at a time past the plateau. The binding test uses the
// last 20 observations at the current size.
TEST(PoolDemandTest, ASwingingPoolAtThePlateauDoesNotBind) {
  FakeClock clock;
  TargetModel model;
  HostSnapshot host;
  double requests = 0;
  for (int i = 0; i < 20; ++i) {
    clock.Advance(std::chrono::milliseconds(250));
    requests += 1500;
    TargetSnapshot t;
    t.state = TargetState::kActive;
    AppReport a;
    a.requests_total = requests;
    a.latency_sum_seconds = 4.0 * (i + 1);
    a.latency_p99_seconds = 0.012;
    a.knobs["backend_pool"] = 9;
    a.pools["backend"] = i < 10 ? AppReport::Pool{9, 4, 0} : AppReport::Pool{9, 8.5, 2};
    t.app = a;
    model.Observe(t, host, clock.Now());
  }
  ASSERT_GE(model.Pool("backend")->busy, 0.85 * 9);  // the short mean alone would say "binds"
  TargetPolicy tp = ThroughputPolicy();
  GuardSettings g;
  PoolSizeOptimizer opt;
  OptimizerInput in{tp, g, model, host, "backend_pool", 9, KnobPolicy{}};
  auto p = opt.Propose(in);
  EXPECT_TRUE(!p || p->value <= 9) << p->reason;
}

TEST(PoolDemandTest, CpuObjectiveSizesByErlangCOnly) {
  FakeClock clock;
  TargetModel model = PoolModelOf(clock, 3700, {4, 3.6, 11});
  TargetPolicy tp = ThroughputPolicy();
  tp.objective = Objective::kMinimizeCpuPerRequest;
  GuardSettings g;
  PoolSizeOptimizer opt;
  HostSnapshot host;
  OptimizerInput in{tp, g, model, host, "backend_pool", 4, KnobPolicy{}};
  auto p = opt.Propose(in);
  EXPECT_TRUE(!p || p->scenario != "grow_pool_demand");
}

TEST(PoolDemandTest, ShrinkKeepsTheRecentPeakDemandUnbound) {
  FakeClock clock;
  TargetPolicy tp = ThroughputPolicy();
  GuardSettings g;
  PoolSizeOptimizer opt;
  HostSnapshot host;
  // 12 members, usually 6 busy, one tick CPU-starved (1 busy): the peak of 6 keeps it at 12
  // (6 / 0.75 = 8; 12 is not above 1.5 x 8).
  TargetModel model = PoolModelOf(clock, 3000, {12, 6, 0}, 15);
  OptimizerInput in{tp, g, model, host, "backend_pool", 12, KnobPolicy{}};
  EXPECT_FALSE(opt.Propose(in).has_value());
  // Truly idle (peak 1.5): shrink, to the larger of Erlang C + 1 and peak / 0.75.
  TargetModel idle = PoolModelOf(clock, 500, {12, 1.5, 0}, 25);
  OptimizerInput in2{tp, g, idle, host, "backend_pool", 12, KnobPolicy{}};
  auto p = opt.Propose(in2);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->scenario, "shrink_pool_idle");
  EXPECT_EQ(p->value, 3);  // max(c_needed + 1, ceil(1.5 / 0.75)) = max(3, 2)
  EXPECT_DOUBLE_EQ(p->triggers.at("peak_demand"), 1.5);
}

// A closed loop of 16 clients whose requests each need a backend connection: below the plateau
// (8 connections: the CPU limit) every connection is busy and the rest of the clients queue;
// from the plateau on throughput is flat and the pool has idle members.
struct ClosedLoopBackend : BrainDriver {
  double pool = 1, requests = 0, cpu = 0;
  double plateau = 8, per_member = 500, clients = 16, noise = 0.02;
  std::mt19937 rng{5};

  ClosedLoopBackend() : BrainDriver(Policy{}) {
    policy.global.guard.cooldown = std::chrono::seconds(1);
    policy.global.guard.verification_window = std::chrono::seconds(2);
    policy.global.guard.min_samples = 6;
    TargetPolicy t;
    t.name = "svc";
    t.mode = Mode::kApply;
    t.objective = Objective::kMaximizeThroughput;
    t.constraints.p99_latency = std::chrono::milliseconds(200);
    KnobPolicy k;
    k.min = 1;
    k.max = 32;
    k.max_step_fraction = 1.0;
    k.max_step_abs = 4;
    t.knobs["backend_pool"] = k;
    policy.targets.push_back(t);
  }

  void Tick() {
    const double dt = 0.25;
    std::normal_distribution<double> e(0, noise);
    double x = per_member * std::min(pool, plateau) * (1 + e(rng));
    requests += x * dt;
    cpu += 0.0002 * x * dt;
    TargetSnapshot t;
    t.name = "svc";
    t.state = TargetState::kActive;
    AppReport a;
    a.requests_total = requests;
    a.knobs["backend_pool"] = pool;
    a.latency_sum_seconds = clients * dt;  // Little: 16 in the system
    a.latency_p99_seconds = 2.0 * clients / x;
    double busy = pool < plateau ? pool : 0.7 * plateau;
    a.pools["backend"] = {pool, busy, pool < plateau ? clients - pool : 0};
    t.app = a;
    CpuStats c;
    c.user_seconds = cpu;
    t.cpu = c;
    Step(std::chrono::milliseconds(250), std::move(t));
  }

 protected:
  void Apply(const Recommendation& r) override { pool = r.new_value; }
};

TEST(PoolDemandTest, ClosedLoopPoolReachesThePlateauInFewStepsAndHolds) {
  ClosedLoopBackend h;
  for (int i = 0; i < 240; ++i) h.Tick();  // 60 s
  EXPECT_GE(h.pool, h.plateau);
  EXPECT_LE(h.pool, h.plateau + 4);  // at most one max_step past it
  // 1 -> 2 -> 4 -> 8 (max_step 100%, at most 4), not eight single steps.
  int raises = 0;
  for (const auto& r : h.published) {
    if (r.scenario == "rollback") continue;
    ++raises;
    EXPECT_LE(r.new_value - r.old_value, std::min(4.0, std::max(1.0, r.old_value)) + 1e-9);
  }
  EXPECT_LE(raises, 5);
  // Holds: nothing more over the next minute.
  const size_t n = h.published.size();
  const double held = h.pool;
  for (int i = 0; i < 240; ++i) h.Tick();
  EXPECT_EQ(h.published.size(), n);
  EXPECT_EQ(h.pool, held);
}

TEST(PoolDemandTest, RestartWithTheSavedStateDoesNotExploreAgain) {
  ClosedLoopBackend h;
  for (int i = 0; i < 240; ++i) h.Tick();
  const double held = h.pool;
  ASSERT_GE(held, h.plateau);
  std::string dir = ::testing::TempDir() + "/pool_demand_restart";
  std::filesystem::create_directories(dir);
  ASSERT_TRUE(h.brain->Save(dir).ok());
  const size_t records = h.brain->History("svc").size();

  h.Restart();
  ASSERT_TRUE(h.brain->Load(dir).ok());
  EXPECT_EQ(h.brain->History("svc").size(), records);
  ASSERT_NE(h.brain->FindModel("svc"), nullptr);
  EXPECT_GT(h.brain->FindModel("svc")->observations().size(), 100u);
  const size_t n = h.published.size();
  for (int i = 0; i < 240; ++i) h.Tick();
  for (size_t i = n; i < h.published.size(); ++i)
    ADD_FAILURE() << "after the restart: " << h.published[i].reason;
  EXPECT_EQ(h.pool, held);
}

}  // namespace
}  // namespace knob::test

namespace knob::test {
namespace {

// Found end to end (CacheE2eTest): growing the cache from 2 to 4 MiB raised throughput by 42%
// (signal-to-noise 6.5) and was rolled back twice because p99 rose 12% and 29% "beyond the
// predicted 0%": in a closed loop the clients send more requests once hits are faster, and the
// misses that remain meet a busier backend. grow_cache_hits now predicts the throughput gain of
// its step and accepts a p99 rise in proportion, inside the SLO; the guard still rolls back a
// larger rise.
struct ClosedLoopCache : BrainDriver {
  double cache = 256 * 1024, requests = 0, hits = 0, misses = 0;
  std::vector<double> bounds;
  std::vector<uint64_t> counts;
  MissRatioCurve truth;

  ClosedLoopCache() : BrainDriver(Policy{}) {
    policy.global.guard.cooldown = std::chrono::seconds(1);
    policy.global.guard.verification_window = std::chrono::seconds(2);
    policy.global.guard.min_samples = 6;
    TargetPolicy t;
    t.name = "svc";
    t.mode = Mode::kApply;
    t.objective = Objective::kMaximizeThroughput;
    t.constraints.p99_latency = std::chrono::milliseconds(200);
    KnobPolicy k;
    k.min = 65536;
    k.max = 64.0 * 1024 * 1024;
    k.max_step_fraction = 1.0;
    t.knobs["cache_bytes"] = k;
    policy.targets.push_back(t);
    // Reuse distances spread evenly (in log size) from 8 KiB to 16 MiB: a Zipf-like curve.
    for (int i = 0; i < 36; ++i) {
      bounds.push_back(1024.0 * std::pow(2.0, i));
      counts.push_back(i >= 3 && i <= 14 ? 10000 : 0);
    }
    truth = *MissRatioCurve::FromHistogram(bounds, counts, 100);
  }

  void Tick() {
    const double dt = 0.25;
    double h = truth.HitRatio(cache);
    double x = std::min(6000.0, 1000.0 / (1 - h));  // two backend connections for the misses
    requests += x * dt;
    hits += h * x * dt;
    misses += (1 - h) * x * dt;
    TargetSnapshot t;
    t.name = "svc";
    t.state = TargetState::kActive;
    AppReport a;
    a.requests_total = requests;
    a.latency_sum_seconds = 16 * dt;
    a.latency_p99_seconds = 0.02 * x / 1000;  // the tail grows with the request rate
    a.knobs["cache_bytes"] = cache;
    AppReport::Cache c;
    c.hits_total = hits;
    c.misses_total = misses;
    c.capacity_bytes = cache;
    c.reuse_bounds_bytes = bounds;
    c.reuse_counts = counts;
    c.reuse_cold = 100;
    c.sample_rate = 0.1;
    a.caches["main"] = c;
    t.app = a;
    Step(std::chrono::milliseconds(250), std::move(t));
  }

 protected:
  void Apply(const Recommendation& r) override { cache = r.new_value; }
};

TEST(CacheGrowthTest, ThroughputGainWithAProportionalTailRiseIsKept) {
  ClosedLoopCache h;
  for (int i = 0; i < 480; ++i) h.Tick();  // 2 minutes
  for (const auto& r : h.brain->History("svc")) {
    EXPECT_NE(r.outcome, Outcome::kRolledBack) << r.reason << ": " << r.outcome_reason;
    if (r.scenario == "grow_cache_hits" && r.predicted.count("p99_seconds")) {
      EXPECT_LE(r.predicted.at("p99_seconds"), 0.95 * 0.2);
    }
  }
  const double knee =
      *h.truth.SmallestSizeForHitRatio(h.truth.BestHitRatioUnder(64.0 * 1024 * 1024) * 0.995);
  EXPECT_GE(h.cache, knee / 2);
  EXPECT_LE(h.cache, knee * 1.0625 + 65536);  // the 1/16-octave grid
  // And then it holds.
  const size_t n = h.published.size();
  for (int i = 0; i < 240; ++i) h.Tick();
  EXPECT_EQ(h.published.size(), n);
}

TEST(CacheGrowthTest, AnUnpredictedTailRiseIsStillRolledBack) {
  ClosedLoopCache h;
  h.policy.targets[0].objective = Objective::kMinimizeP99Latency;  // no tail rise is accepted
  for (int i = 0; i < 120; ++i) h.Tick();
  bool rolled_back = false;
  for (const auto& r : h.brain->History("svc")) rolled_back |= r.outcome == Outcome::kRolledBack;
  EXPECT_TRUE(rolled_back);
}

}  // namespace
}  // namespace knob::test

namespace knob::test {
namespace {

// Found end to end: while a penalty forbade growing the cache past 8 MiB, the knee moved by a
// few KiB with every report (16 133 KiB, 16 154 KiB, ...), and each new value was a new veto
// record: 28 in 15 s. Proposals are on a 1/16-octave grid, so the same knee is the same value.
TEST(CacheGrowthTest, KneeIsOnACoarseGridSoAJitteringCurveProposesOneValue) {
  std::set<double> proposed;
  for (int jitter = 0; jitter < 20; ++jitter) {
    FakeClock clock;
    TargetModel model;
    HostSnapshot host;
    std::vector<double> bounds;
    std::vector<uint64_t> counts;
    for (int i = 0; i < 36; ++i) {
      bounds.push_back(1024.0 * std::pow(2.0, i));
      counts.push_back(i >= 3 && i <= 14 ? 10000 + (i == 14 ? 37 * jitter : 0) : 0);
    }
    for (int t = 0; t < 3; ++t) {
      clock.Advance(std::chrono::seconds(1));
      TargetSnapshot s;
      s.state = TargetState::kActive;
      AppReport a;
      a.requests_total = 1000.0 * t;
      a.knobs["cache_bytes"] = 8 << 20;
      AppReport::Cache c;
      c.capacity_bytes = 8 << 20;
      c.reuse_bounds_bytes = bounds;
      c.reuse_counts = counts;
      c.reuse_cold = 100;
      a.caches["main"] = c;
      s.app = a;
      model.Observe(s, host, clock.Now());
    }
    TargetPolicy tp;
    GuardSettings g;
    KnobPolicy kp;
    kp.max = 64.0 * 1024 * 1024;
    CacheSizeOptimizer opt;  // the one owner of cache knobs
    OptimizerInput in{tp, g, model, host, "cache_bytes", 8 << 20, kp};
    auto p = opt.Propose(in);
    ASSERT_TRUE(p.has_value());
    EXPECT_EQ(p->scenario, "grow_cache_hits");
    proposed.insert(p->value);
  }
  EXPECT_EQ(proposed.size(), 1u);
  EXPECT_EQ(std::fmod(*proposed.begin(), 512 * 1024), 0);  // the 8..16 MiB octave: 512 KiB
}

}  // namespace
}  // namespace knob::test
