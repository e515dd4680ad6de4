// One regression test per bug the end-to-end run found in the brain, the guard and the
// optimizers (FakeClock, no sleeps). Each fails on the code before its fix.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "optimizers/brain.h"
#include "optimizers/brain_state.h"
#include "optimizers/guard.h"
#include "optimizers/pool_size_optimizer.h"
#include "optimizers/target_model.h"
#include "tests/unit/optimizers/sim_service.h"

namespace knob {
namespace {

using ::knob::testing::FakeClock;
using ::knob::testing::SimPolicy;
using ::knob::testing::SimService;
using ::testing::HasSubstr;

// The SimService under a brain, as in brain_test.cc, with delivery left to the test.
struct SimHarness {
  FakeClock clock;
  Brain brain{clock, nullptr};
  SimService sim;
  Policy policy = SimPolicy(Mode::kApply);
  std::vector<Recommendation> published;

  // Returns what the brain decided this tick (not delivered).
  std::vector<Recommendation> Tick() {
    clock.Advance(std::chrono::seconds(1));
    Snapshot s;
    s.time = clock.Now();
    s.wall_time = clock.WallNow();
    s.targets["web"] = sim.Tick(1.0);
    brain.Observe(policy, s);
    auto recs = brain.Decide(policy, s);
    for (const auto& r : recs) published.push_back(r);
    return recs;
  }
};

BrainStateData SavedState(const Brain& brain, const std::string& name) {
  std::string dir = ::testing::TempDir() + "/" + name;
  std::filesystem::create_directories(dir);
  EXPECT_TRUE(brain.Save(dir).ok());
  std::ifstream in(dir + "/" + Brain::kStateFile);
  std::stringstream ss;
  ss << in.rdbuf();
  auto d = DecodeBrainState(ss.str());
  EXPECT_TRUE(d.ok());
  return d.ok() ? *d : BrainStateData{};
}

// Bug 1: the control API reports kVetoed for a paused / observe-mode target. The change never
// reached the target, so it must not stay in flight until it expires (then be overwritten as
// `expired`), nor stay charged to the knob's cooldown and flap history.
TEST(BrainRegressionTest, VetoedDeliveryFreesTheTargetAndUndoesTheKnobCharge) {
  SimHarness h;
  std::optional<Recommendation> first;
  for (int i = 0; i < 30 && !first; ++i) {
    auto recs = h.Tick();
    if (!recs.empty()) first = recs.front();
  }
  ASSERT_TRUE(first.has_value());
  const std::string why = "target 'web' is paused by the operator";
  h.brain.OnOutcome(first->id, Outcome::kVetoed, why);

  EXPECT_FALSE(h.brain.Model("web")->active_recommendation.has_value());
  BrainStateData state = SavedState(h.brain, "vetoed_delivery");
  ASSERT_EQ(state.targets.size(), 1u);
  for (const auto& k : state.targets[0].knobs) {
    if (k.knob != "concurrency_limit") continue;
    EXPECT_LT(k.last_change_age_seconds, 0) << "a vetoed change is charged to the cooldown";
    EXPECT_TRUE(k.values.empty()) << "a vetoed change is charged to the flap history";
  }

  // Long past its expiry it is still `vetoed`, with the operator's reason.
  for (int i = 0; i < 60; ++i) {
    for (const auto& r : h.Tick()) h.brain.OnOutcome(r.id, Outcome::kVetoed, why);
  }
  auto r = h.brain.Find(first->id);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->outcome, Outcome::kVetoed);
  EXPECT_EQ(r->outcome_reason, why);
  // A paused target is offered at most one change per cooldown (10 s), not one per tick.
  EXPECT_LE(h.published.size(), 8u);
  EXPECT_GE(h.published.size(), 2u);
}

// Bug 2a: with an empty (or thin) before-window a change was "verified" with "objective
// improved by 0.0% (signal-to-noise 0.0)", or compared against 3 samples.
TEST(GuardRegressionTest, ChangeWithoutABaselineIsNotCompared) {
  GuardSettings settings;  // min_samples 10
  Guard g(settings);
  auto window = [](double x, double p99, int n) {
    WindowStats w;
    for (int i = 0; i < n; ++i) {
      Observation o;
      o.throughput = x * (1 + 0.001 * (i % 3));
      o.p99_seconds = p99;
      w.Add(o);
    }
    return w;
  };
  auto after = window(110, 0.02, 20);
  auto r = g.Verify(Objective::kMaximizeThroughput, {}, WindowStats{}, after, {},
                    std::chrono::seconds(25));
  EXPECT_EQ(r.kind, VerifyResult::Kind::kVerified);
  EXPECT_THAT(r.reason, HasSubstr("without a baseline"));
  EXPECT_THAT(r.reason, ::testing::Not(HasSubstr("0.0%")));
  EXPECT_EQ(r.realized.count("realized_improvement"), 0u);
  EXPECT_EQ(r.realized.count("signal_to_noise"), 0u);
  EXPECT_GT(r.realized.at("throughput"), 100);

  // 3 samples are below min_samples: not a baseline to roll back against either.
  r = g.Verify(Objective::kMaximizeThroughput, {}, window(200, 0.02, 3), after, {},
               std::chrono::seconds(25));
  EXPECT_EQ(r.kind, VerifyResult::Kind::kVerified);
  EXPECT_THAT(r.reason, HasSubstr("without a baseline"));

  // The constraints still hold it to account.
  Constraints c;
  c.p99_latency = std::chrono::milliseconds(10);
  r = g.Verify(Objective::kMaximizeThroughput, c, WindowStats{}, after, {},
               std::chrono::seconds(25));
  EXPECT_EQ(r.kind, VerifyResult::Kind::kRollBack);
  EXPECT_THAT(r.reason, HasSubstr("p99_latency"));
}

// Bug 2b: the brain started a change on its second observation, so its verification had no
// baseline. Every change must now be verified against min_samples observations before it.
TEST(BrainRegressionTest, ChangesStartOnlyWithAFullBaseline) {
  SimHarness h;
  const MonoTime start = h.clock.Now();
  std::optional<MonoTime> first_at;
  for (int i = 0; i < 300; ++i) {
    for (const auto& r : h.Tick()) {
      if (!first_at) first_at = h.clock.Now();
      h.sim.limit = r.new_value;
      h.brain.OnOutcome(r.id, Outcome::kApplied, "");
    }
  }
  ASSERT_TRUE(first_at.has_value());
  // Observations start on the second tick; min_samples (5) of them precede the first change.
  EXPECT_GE(*first_at - start, std::chrono::seconds(1 + h.policy.global.guard.min_samples));
  int verified = 0;
  for (const auto& r : h.brain.History("web")) {
    if (r.outcome != Outcome::kVerified || r.scenario == "rollback") continue;
    ++verified;
    EXPECT_EQ(r.realized.count("signal_to_noise"), 1u) << r.outcome_reason;
    EXPECT_THAT(r.outcome_reason, ::testing::Not(HasSubstr("without a baseline")));
  }
  EXPECT_GT(verified, 3);
}

// Bug 2c: under a closed loop the concurrency N stays put while a worker-pool change moves the
// throughput; the shift detector read knobd's own change as a workload shift and dropped every
// observation, the change's baseline included.
TEST(TargetModelRegressionTest, OwnKnobChangeIsNotAWorkloadShift) {
  FakeClock clock;
  TargetModel model;
  HostSnapshot host;
  double requests = 0;
  std::mt19937 rng(5);
  std::normal_distribution<double> e(0, 0.005);
  auto feed = [&](double workers, double x, int ticks) {
    for (int i = 0; i < ticks; ++i) {
      clock.Advance(std::chrono::seconds(1));
      double xi = x * (1 + e(rng));
      requests += xi;
      TargetSnapshot t;
      t.name = "svc";
      t.state = TargetState::kActive;
      AppReport a;
      a.requests_total = requests;
      a.latency_sum_seconds = 32;  // 32 clients in a closed loop: N = 32 at any pool size
      a.latency_p99_seconds = 2 * 32 / xi;
      a.knobs["worker_threads"] = workers;
      t.app = a;
      model.Observe(t, host, clock.Now());
    }
  };
  feed(4, 400, 30);
  feed(5, 500, 30);  // knobd raised the pool: 25% more throughput at the same N
  EXPECT_EQ(model.shifts(), 0u);
  EXPECT_EQ(model.observations().size(), 59u);
  // A real shift (same settings, same N, different X) is still detected.
  feed(5, 300, 40);
  EXPECT_EQ(model.shifts(), 1u);
}

// A closed-loop service whose worker pool stops helping at 4 workers: every worker is always
// busy (offered load reads as busy == size), so Erlang C alone asks for ever more.
struct ClosedLoopPool {
  FakeClock clock;
  Brain brain{clock, nullptr};
  Policy policy;
  double workers = 2, requests = 0, cpu = 0;
  double plateau = 4, per_worker = 100, noise = 0.01;
  bool idle = false;
  std::mt19937 rng{77};
  std::vector<Recommendation> published;
  std::vector<double> host_busy = {0, 0}, host_total = {0, 0};

  ClosedLoopPool() {
    policy.global.guard.cooldown = std::chrono::seconds(10);
    policy.global.guard.verification_window = std::chrono::seconds(8);
    policy.global.guard.min_samples = 5;
    TargetPolicy t;
    t.name = "svc";
    t.mode = Mode::kApply;
    t.objective = Objective::kMaximizeThroughput;
    t.constraints.p99_latency = std::chrono::seconds(2);
    KnobPolicy k;
    k.min = 1;
    k.max = 64;
    t.knobs["worker_threads"] = k;
    policy.targets.push_back(t);
  }

  void Tick() {
    clock.Advance(std::chrono::seconds(1));
    std::normal_distribution<double> e(0, noise);
    double x = idle ? 0 : per_worker * std::min(workers, plateau) * (1 + e(rng));
    requests += x;
    cpu += idle ? 0.0005 : 0.001 * x;
    TargetSnapshot t;
    t.name = "svc";
    t.state = TargetState::kActive;
    AppReport a;
    a.requests_total = requests;
    a.knobs["worker_threads"] = workers;
    if (!idle) {
      a.latency_sum_seconds = 32;
      a.latency_p99_seconds = 2.5 * 32 / x;
      a.pools["workers"] = {workers, workers, 32 - workers};
    }
    t.app = a;
    CpuStats c;
    c.user_seconds = cpu;
    // An idle process still wakes up now and then; its run-queue ratio is noise.
    c.runqueue_delay_seconds = cpu * (idle ? 0.5 * (1 + std::sin(requests + cpu * 1e4)) : 0.01);
    c.timeslices = static_cast<uint64_t>(cpu * 1e5);
    t.cpu = c;
    Snapshot s;
    s.time = clock.Now();
    s.wall_time = clock.WallNow();
    for (size_t i = 0; i < 2; ++i) {
      host_busy[i] += 0.02;
      host_total[i] += 1;
    }
    s.host.cpu_busy_seconds = host_busy;
    s.host.cpu_total_seconds = host_total;
    s.targets["svc"] = t;
    brain.Observe(policy, s);
    for (const auto& r : brain.Decide(policy, s)) {
      published.push_back(r);
      if (!r.advisory) {
        workers = r.new_value;
        brain.OnOutcome(r.id, Outcome::kApplied, "");
      }
    }
  }
};

// Bug 3: grow_pool_wait kept raising worker_threads past the throughput plateau up to the
// policy's maximum.
TEST(PoolSizeRegressionTest, StopsGrowingAPoolOnceARaiseDidNotHelp) {
  ClosedLoopPool h;
  for (int i = 0; i < 900; ++i) h.Tick();
  EXPECT_GE(h.workers, 4);  // the raises that helped were made
  EXPECT_LE(h.workers, 6);  // and it stopped soon after the plateau
  bool said_so = false;
  for (const auto& l : h.brain.DecisionLog())
    said_so |= l.find("hold: last raise did not help") != std::string::npos;
  EXPECT_TRUE(said_so);
}

TEST(PoolSizeRegressionTest, HoldIsAScenarioAndAHelpfulRaiseKeepsGrowing) {
  FakeClock clock;
  TargetModel model;
  HostSnapshot host;
  double requests = 0;
  for (int i = 0; i < 10; ++i) {
    clock.Advance(std::chrono::seconds(1));
    requests += 400;
    TargetSnapshot t;
    t.state = TargetState::kActive;
    AppReport a;
    a.requests_total = requests;
    a.latency_sum_seconds = 32;
    a.pools["workers"] = {5, 5, 27};
    t.app = a;
    model.Observe(t, host, clock.Now());
  }
  PoolSizeOptimizer opt;
  GuardSettings g;
  TargetPolicy tp;
  tp.constraints.p99_latency = std::chrono::milliseconds(200);
  OptimizerInput in{tp, g, model, host, "worker_threads", 5, KnobPolicy{}};
  in.last_change = PastChange{4, 5, true, 0.002, 0.4};
  auto p = opt.Propose(in);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->scenario, "hold_no_gain");
  EXPECT_EQ(p->value, 5);
  EXPECT_THAT(p->reason, HasSubstr("hold: last raise did not help"));
  bool listed = false;
  for (const auto& s : opt.Scenarios()) listed |= s.id == "hold_no_gain";
  EXPECT_TRUE(listed);

  in.last_change = PastChange{4, 5, true, 0.2, 12};  // that raise helped: keep going
  p = opt.Propose(in);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->scenario, "grow_pool_wait");
  EXPECT_GT(p->value, 5);
  in.last_change = std::nullopt;
  EXPECT_EQ(opt.Propose(in)->scenario, "grow_pool_wait");
}

// Bug 4: on an idle target the scheduling optimizer flapped worker_threads 1 <-> 2
// (threads_below_cores / threads_exceed_cores, "cpu fraction 1.00").
TEST(SchedulingRegressionTest, IdleTargetKeepsItsThreads) {
  ClosedLoopPool h;
  h.idle = true;
  h.workers = 1;
  for (int i = 0; i < 600; ++i) h.Tick();
  for (const auto& r : h.published) ADD_FAILURE() << r.reason;
  EXPECT_EQ(h.workers, 1);
}

// Bug 4b: the flap rule compared against the value before the previous change, which the
// history held only from the second change on: the first A -> B -> A passed.
TEST(GuardRegressionTest, FirstReturnAndRepeatedOscillationAreFlapping) {
  FakeClock clock;
  GuardSettings settings;  // cooldown 30 s
  Guard g(settings);
  TargetModel model;
  Proposal p;
  p.knob = "worker_threads";
  p.optimizer = "scheduling";
  p.current = 2;
  p.value = 1;
  KnobHistory h;
  h.Charge(1, 2, clock.Now());  // the knob's first change: 1 -> 2
  clock.Advance(std::chrono::seconds(31));
  auto d = g.Review(p, {}, h, model, clock.Now());
  EXPECT_FALSE(d.allowed);
  EXPECT_THAT(d.veto_reason, HasSubstr("flap"));

  // Once it did go 1 -> 2 -> 1, going back to 2 is held four times longer.
  clock.Advance(std::chrono::seconds(100));
  h.Charge(2, 1, clock.Now());
  p.current = 1;
  p.value = 2;
  clock.Advance(5 * settings.cooldown);  // past the single-return window
  d = g.Review(p, {}, h, model, clock.Now());
  EXPECT_FALSE(d.allowed);
  EXPECT_THAT(d.veto_reason, HasSubstr("already went 1 -> 2 -> 1"));
  clock.Advance(12 * settings.cooldown);
  EXPECT_TRUE(g.Review(p, {}, h, model, clock.Now()).allowed);
}

}  // namespace
}  // namespace knob

namespace knob {
namespace {

// Regression: on a busy 2-core host the web-server profile's 20% host cpu_pressure limit was
// already broken before every step, and each step was rolled back for it, so the example
// service could never be tuned. A constraint that was already broken only rolls a change back
// when the change made it measurably worse.
WindowStats PressureWindow(double throughput, double pressure, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> e(0, 0.01);
  WindowStats w;
  for (int i = 0; i < 20; ++i) {
    Observation o;
    o.throughput = throughput * (1 + e(rng));
    o.p99_seconds = 0.010 * (1 + e(rng));
    o.cpu_cores = 1.0;
    o.cpu_pressure = pressure * (1 + e(rng));
    w.Add(o);
  }
  return w;
}

TEST(GuardConstraintRegressionTest, AlreadyBrokenConstraintRollsBackOnlyWhenWorse) {
  GuardSettings settings;
  settings.verification_window = std::chrono::seconds(20);
  settings.min_samples = 10;
  Guard g(settings);
  Constraints c;
  c.cpu_pressure = 0.20;
  const auto after_window = std::chrono::seconds(25);

  // Broken before (30%), unchanged after: the step stands.
  auto r = g.Verify(Objective::kMaximizeThroughput, c, PressureWindow(100, 0.30, 1),
                    PressureWindow(110, 0.30, 2), {}, after_window);
  EXPECT_EQ(r.kind, VerifyResult::Kind::kVerified) << r.reason;

  // Held before (10%), broken after (30%): the change broke it.
  r = g.Verify(Objective::kMaximizeThroughput, c, PressureWindow(100, 0.10, 3),
               PressureWindow(110, 0.30, 4), {}, after_window);
  EXPECT_EQ(r.kind, VerifyResult::Kind::kRollBack);
  EXPECT_NE(r.reason.find("cpu_pressure violated"), std::string::npos) << r.reason;

  // Broken before (30%) and clearly worse after (45%): the change made it worse.
  r = g.Verify(Objective::kMaximizeThroughput, c, PressureWindow(100, 0.30, 5),
               PressureWindow(110, 0.45, 6), {}, after_window);
  EXPECT_EQ(r.kind, VerifyResult::Kind::kRollBack);
  EXPECT_NE(r.reason.find("got worse"), std::string::npos) << r.reason;
}

}  // namespace
}  // namespace knob
