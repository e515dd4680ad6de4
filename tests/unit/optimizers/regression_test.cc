// SPDX-License-Identifier: Apache-2.0
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
#include "optimizers/models/target_model.h"
#include "optimizers/pool_size_optimizer.h"
#include "tests/support/brain_driver.h"
#include "tests/unit/optimizers/sim_service.h"

namespace knob {
namespace {

using ::knob::test::BrainDriver;
using ::knob::test::Delivery;
using ::knob::test::FakeClock;
using ::knob::test::SimPolicy;
using ::knob::test::SimService;
using ::testing::HasSubstr;

// The SimService under a brain, as in brain_test.cc, with delivery left to the test.
struct SimHarness : BrainDriver {
  SimService sim;

  SimHarness() : BrainDriver(SimPolicy(Mode::kApply), Delivery::kNone) {}

  // Returns what the brain decided this tick (not delivered).
  std::vector<Recommendation> Tick() { return Step(std::chrono::seconds(1), sim.Tick(1.0)); }
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
  h.brain->OnOutcome(first->id, Outcome::kVetoed, why);

  EXPECT_FALSE(h.brain->Model("web")->active_recommendation.has_value());
  BrainStateData state = SavedState(*h.brain, "vetoed_delivery");
  ASSERT_EQ(state.targets.size(), 1u);
  for (const auto& k : state.targets[0].knobs) {
    if (k.knob != "concurrency_limit") continue;
    EXPECT_LT(k.last_change_age_seconds, 0) << "a vetoed change is charged to the cooldown";
    EXPECT_TRUE(k.values.empty()) << "a vetoed change is charged to the flap history";
  }

  // Long past its expiry it is still `vetoed`, with the operator's reason.
  for (int i = 0; i < 60; ++i) {
    for (const auto& r : h.Tick()) h.brain->OnOutcome(r.id, Outcome::kVetoed, why);
  }
  auto r = h.brain->Find(first->id);
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
      h.brain->OnOutcome(r.id, Outcome::kApplied, "");
    }
  }
  ASSERT_TRUE(first_at.has_value());
  // Observations start on the second tick; min_samples (5) of them precede the first change.
  EXPECT_GE(*first_at - start, std::chrono::seconds(1 + h.policy.global.guard.min_samples));
  int verified = 0;
  for (const auto& r : h.brain->History("web")) {
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
struct ClosedLoopPool : BrainDriver {
  double workers = 2, requests = 0, cpu = 0;
  double plateau = 4, per_worker = 100, noise = 0.01;
  bool idle = false;
  std::mt19937 rng{77};
  std::vector<double> host_busy = {0, 0}, host_total = {0, 0};

  ClosedLoopPool() : BrainDriver(Policy{}) {
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
    for (size_t i = 0; i < 2; ++i) {
      host_busy[i] += 0.02;
      host_total[i] += 1;
    }
    s.host.cpu_busy_seconds = host_busy;
    s.host.cpu_total_seconds = host_total;
    s.targets["svc"] = t;
    Step(std::chrono::seconds(1), std::move(s));
  }

 protected:
  void Apply(const Recommendation& r) override { workers = r.new_value; }
};

// Bug 3: grow_pool_wait kept raising worker_threads past the throughput plateau up to the
// policy's maximum.
TEST(PoolSizeRegressionTest, StopsGrowingAPoolOnceARaiseDidNotHelp) {
  ClosedLoopPool h;
  for (int i = 0; i < 900; ++i) h.Tick();
  EXPECT_GE(h.workers, 4);  // the raises that helped were made
  EXPECT_LE(h.workers, 6);  // and it stopped soon after the plateau
  // Held, and said why: by the plateau rule, or (once three sizes are measured) by the size
  // curve's knee (optimizers/models/size_curve.h).
  bool said_so = false;
  for (const auto& l : h.brain->DecisionLog())
    said_so |= l.find("hold: last raise did not help") != std::string::npos ||
               l.find("is the knee") != std::string::npos;
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

  // Hovering at the limit (19.6% before, 20.3% after, 1% noise): crossing it by noise is not
  // the change's doing (seen live: host PSI around 20% undid every step of the example service).
  r = g.Verify(Objective::kMaximizeThroughput, c, PressureWindow(100, 0.196, 7),
               PressureWindow(110, 0.203, 8), {}, after_window);
  EXPECT_EQ(r.kind, VerifyResult::Kind::kVerified) << r.reason;

  // Broken before (30%) and clearly worse after (45%): the change made it worse.
  r = g.Verify(Objective::kMaximizeThroughput, c, PressureWindow(100, 0.30, 5),
               PressureWindow(110, 0.45, 6), {}, after_window);
  EXPECT_EQ(r.kind, VerifyResult::Kind::kRollBack);
  EXPECT_NE(r.reason.find("got worse"), std::string::npos) << r.reason;
}

}  // namespace
}  // namespace knob

namespace knob {
namespace {

// Regression (real daemon, example service under the web-server profile on a busy 2-core VM):
// worker_threads 4 -> 5 was rolled back because host cpu pressure got worse, and the very same
// 4 -> 5 was made again 30 s later, then again and again. Two causes: (1) the workload-shift
// detector, which fires often on a noisy host, cleared the rollback's penalty; (2) a saturated
// pool claimed to fix a violation on some ticks only (3.99 vs 4.0 Erlangs), and a violation fix
// skipped the flap rule, so a flap veto on one tick became an allow on the next.

// A saturated worker pool on a host whose cpu pressure is already above the 20% limit, and
// clearly worse with 5 workers than with 4. The service applies advisory (recommend-mode) sets.
struct PressuredPool : BrainDriver {
  double workers = 4, requests = 0, cpu = 0, rate = 3000;
  bool flicker = false;  // offered load alternates 3.95 / 4.0 Erlangs every 20 s
  // Seconds per second the service's own threads wait for a CPU (schedstat); unset: not read.
  std::optional<double> own_wait;
  double waited = 0;
  int tick = 0;
  std::mt19937 rng{31};

  PressuredPool() : BrainDriver(Policy{}, Delivery::kApplyOnly) {
    policy.global.guard.cooldown = std::chrono::seconds(30);
    policy.global.guard.verification_window = std::chrono::seconds(20);
    policy.global.guard.min_samples = 5;
    TargetPolicy t;
    t.name = "svc";
    t.mode = Mode::kRecommend;
    t.objective = Objective::kMinimizeP99Latency;
    t.constraints.p99_latency = std::chrono::milliseconds(100);
    t.constraints.cpu_pressure = 0.20;
    KnobPolicy k;
    k.min = 1;
    k.max = 64;
    t.knobs["worker_threads"] = k;
    policy.targets.push_back(t);
  }

  void Tick() {
    ++tick;
    std::normal_distribution<double> e(0, 0.01);
    double x = rate * (1 + e(rng));
    requests += x;
    cpu += 0.001 * x;
    TargetSnapshot t;
    t.name = "svc";
    t.state = TargetState::kActive;
    AppReport a;
    a.requests_total = requests;
    a.knobs["worker_threads"] = workers;
    a.latency_sum_seconds = 16;
    a.latency_p99_seconds = 2.5 * 16 / x;
    double busy = flicker && (tick / 20) % 2 == 0 ? workers - 0.05 : workers;
    a.pools["workers"] = {workers, busy, 12};
    t.app = a;
    CpuStats c;
    c.user_seconds = cpu;
    if (own_wait) {
      waited += *own_wait;
      c.runqueue_delay_seconds = waited;
      c.timeslices = static_cast<uint64_t>(100 * tick);
    }
    t.cpu = c;
    Snapshot s;
    Pressure p;
    p.some = PressureLine{100 * (workers >= 5 ? 0.31 : 0.25) * (1 + e(rng)), 0, 0, 0};
    s.host.pressure.cpu = p;
    s.targets["svc"] = t;
    Step(std::chrono::seconds(1), std::move(s));
  }

 protected:
  // The service applies the advisory set.
  void Apply(const Recommendation& r) override { workers = r.new_value; }
};

// Ticks until the first change is rolled back (at most 200 s).
std::optional<Recommendation> FirstRollback(PressuredPool& h) {
  for (int i = 0; i < 200; ++i) {
    h.Tick();
    for (const auto& r : h.brain->History("svc"))
      if (r.outcome == Outcome::kRolledBack) return r;
  }
  return std::nullopt;
}

TEST(BrainPenaltyRegressionTest, RolledBackChangeIsNotRetriedWithinItsPenaltyAcrossAShift) {
  PressuredPool h;
  std::optional<Recommendation> bad = FirstRollback(h);
  ASSERT_TRUE(bad.has_value()) << "4 -> 5 was never rolled back";
  EXPECT_EQ(bad->old_value, 4);
  EXPECT_EQ(bad->new_value, 5);
  EXPECT_THAT(bad->outcome_reason, HasSubstr("cpu_pressure"));
  const uint64_t bad_id = bad->id;
  const MonoTime rolled_back_at = h.clock.Now();

  // The workload shifts (same N, same settings, 35% less throughput): the model forgets its
  // points, not the penalty.
  for (int i = 0; i < 40; ++i) h.Tick();
  h.rate = 1950;
  const uint64_t shifts_before = h.brain->Model("svc")->workload_shifts;
  for (int i = 0; i < 60; ++i) h.Tick();
  EXPECT_GT(h.brain->Model("svc")->workload_shifts, shifts_before)
      << "the test needs a workload shift after the rollback";
  auto model = h.brain->Model("svc");
  ASSERT_FALSE(model->penalties.empty()) << "the shift dropped the rollback's penalty";
  EXPECT_EQ(model->penalties[0].value, 5);

  // Up to the end of the penalty (10 cooldowns = 300 s) 4 -> 5 is proposed and vetoed (as a
  // flap: the knob went 4 -> 5 -> 4; the penalty holds it too), never made again.
  while (h.clock.Now() - rolled_back_at < std::chrono::seconds(290)) h.Tick();
  int vetoes = 0;
  for (const auto& r : h.brain->History("svc")) {
    if (r.id <= bad_id + 1) continue;  // the change and its rollback
    if (r.new_value == 5) {
      EXPECT_EQ(r.outcome, Outcome::kVetoed) << "#" << r.id << " " << r.reason;
      ++vetoes;
    }
  }
  EXPECT_GE(vetoes, 1);
  EXPECT_EQ(h.workers, 4);
  EXPECT_NE(h.brain->FindModel("svc")->PenaltyFor("worker_threads", 5, h.clock.Now()), nullptr);
}

// Issue 11: the host's CPU pressure rose with 5 workers, but the service's own threads hardly
// waited for a CPU (2% of a second per second): the stall was another process's, and the raise
// is not rolled back for it.
TEST(BrainPenaltyRegressionTest, HostPressureTheTargetDidNotWaitInIsNotChargedToIt) {
  PressuredPool h;
  h.own_wait = 0.02;
  bool raised = false;
  for (int i = 0; i < 200; ++i) {
    h.Tick();
    for (const auto& r : h.brain->History("svc")) {
      raised |= r.old_value == 4 && r.new_value == 5;
      EXPECT_FALSE(r.outcome == Outcome::kRolledBack &&
                   r.outcome_reason.find("cpu_pressure") != std::string::npos)
          << "#" << r.id << " " << r.outcome_reason;
    }
  }
  EXPECT_TRUE(raised) << "the test needs the 4 -> 5 raise";
  EXPECT_GE(h.workers, 5);

  // The same service whose threads do wait (90% of a second per second) is charged as before.
  PressuredPool waiting;
  waiting.own_wait = 0.9;
  std::optional<Recommendation> bad = FirstRollback(waiting);
  ASSERT_TRUE(bad.has_value());
  EXPECT_THAT(bad->outcome_reason, HasSubstr("cpu_pressure"));
}

// The bound itself: the host's some-avg10 is charged up to the target's own wait rate, a
// cgroup's own pressure as it is, and the host's as it is when schedstat was not read.
TEST(TargetModelPressureTest, HostCpuPressureIsChargedUpToTheTargetsOwnWaiting) {
  auto observe = [](std::optional<double> wait_per_s, std::optional<double> cgroup_some) {
    TargetModel m;
    HostSnapshot host;
    host.pressure.cpu = Pressure{PressureLine{40, 0, 0, 0}, std::nullopt};
    std::optional<Observation> last;
    for (int i = 0; i < 3; ++i) {
      TargetSnapshot t;
      t.name = "svc";
      t.state = TargetState::kActive;
      AppReport a;
      a.requests_total = 1000.0 * i;
      t.app = a;
      CpuStats c;
      c.user_seconds = 0.5 * i;
      if (wait_per_s) {
        c.runqueue_delay_seconds = *wait_per_s * i;
        c.timeslices = static_cast<uint64_t>(100 * i);
      }
      t.cpu = c;
      if (cgroup_some) {
        PressureSet ps;
        ps.cpu = Pressure{PressureLine{*cgroup_some, 0, 0, 0}, std::nullopt};
        t.cgroup_pressure = ps;
      }
      last = m.Observe(t, host, MonoTime(std::chrono::seconds(i)));
    }
    return last ? last->cpu_pressure : std::nullopt;
  };
  EXPECT_NEAR(observe(0.05, std::nullopt).value_or(-1), 0.05, 1e-9);
  EXPECT_NEAR(observe(0.9, std::nullopt).value_or(-1), 0.40, 1e-9);
  EXPECT_NEAR(observe(std::nullopt, std::nullopt).value_or(-1), 0.40, 1e-9);
  EXPECT_NEAR(observe(0.05, 30.0).value_or(-1), 0.30, 1e-9);
}

TEST(BrainPenaltyRegressionTest, FlickeringViolationFixDoesNotTurnAFlapVetoIntoAnAllow) {
  PressuredPool h;
  h.flicker = true;
  std::optional<Recommendation> bad = FirstRollback(h);
  ASSERT_TRUE(bad.has_value());
  // Past the penalty (10 cooldowns) but inside the oscillation hold (16 cooldowns after
  // 4 -> 5 -> 4), only the flap rule stands between the pool and a second 4 -> 5: it must
  // hold on every tick, whether or not that tick's proposal claims to fix a violation.
  const MonoTime rolled_back_at = h.clock.Now();
  while (h.clock.Now() - rolled_back_at < std::chrono::seconds(450)) h.Tick();
  int raises = 0;
  bool flap_veto = false;
  for (const auto& r : h.brain->History("svc")) {
    if (r.new_value == 5 && r.outcome != Outcome::kVetoed) ++raises;
    flap_veto |=
        r.outcome == Outcome::kVetoed && r.outcome_reason.find("flap") != std::string::npos;
  }
  EXPECT_EQ(raises, 1);
  EXPECT_TRUE(flap_veto);
  EXPECT_EQ(h.workers, 4);
}

TEST(GuardRegressionTest, ViolationFixRespectsOscillationAndTheRollbacksPenalty) {
  FakeClock clock;
  GuardSettings settings;  // cooldown 30 s
  Guard g(settings);
  TargetModel model;
  KnobHistory h;
  h.Charge(4, 5, clock.Now());  // change 4 -> 5
  clock.Advance(std::chrono::seconds(20));
  h.Charge(5, 4, clock.Now());  // rolled back: 5 -> 4
  model.Penalize("worker_threads", Penalty{5, 1, clock.Now() + 10 * settings.cooldown, "#1"});
  clock.Advance(std::chrono::seconds(31));  // past the cooldown

  Proposal p;
  p.knob = "worker_threads";
  p.optimizer = "pool_size";
  p.current = 4;
  p.value = 5;
  auto d = g.Review(p, {}, h, model, clock.Now());
  EXPECT_FALSE(d.allowed);
  EXPECT_THAT(d.veto_reason, HasSubstr("already went 4 -> 5 -> 4"));

  // Next tick, the same move now claims to fix a violation: still a flap.
  clock.Advance(std::chrono::seconds(1));
  p.fixes_violation = true;
  d = g.Review(p, {}, h, model, clock.Now());
  EXPECT_FALSE(d.allowed);
  EXPECT_THAT(d.veto_reason, HasSubstr("flap"));

  // Without the flap history (say, another knob moved it meanwhile), the penalty of the
  // rollback still holds a violation fix that goes back into the region.
  KnobHistory fresh;
  d = g.Review(p, {}, fresh, model, clock.Now());
  EXPECT_FALSE(d.allowed);
  EXPECT_THAT(d.veto_reason, HasSubstr("penalized by a rollback"));
  // Moving out of the region to fix a violation is allowed.
  p.current = 6;
  p.value = 5;
  EXPECT_TRUE(g.Review(p, {}, fresh, model, clock.Now()).allowed);
}

TEST(TargetModelRegressionTest, WorkloadShiftKeepsRollbackPenalties) {
  FakeClock clock;
  TargetModel model;
  HostSnapshot host;
  double requests = 0;
  model.Penalize("worker_threads", Penalty{5, 1, clock.Now() + std::chrono::hours(1), "#1"});
  auto feed = [&](double x, int ticks) {
    for (int i = 0; i < ticks; ++i) {
      clock.Advance(std::chrono::seconds(1));
      requests += x;
      TargetSnapshot t;
      t.state = TargetState::kActive;
      AppReport a;
      a.requests_total = requests;
      a.latency_sum_seconds = 32;
      a.knobs["worker_threads"] = 4;
      t.app = a;
      model.Observe(t, host, clock.Now());
    }
  };
  feed(400, 30);
  feed(250, 40);
  ASSERT_GE(model.shifts(), 1u);
  ASSERT_NE(model.PenaltyFor("worker_threads", 5, clock.Now()), nullptr);
}

TEST(TargetModelRegressionTest, PenaltiesPerKnobAreBoundedKeepingTheLatest) {
  TargetModel model;
  MonoTime t0{};
  for (int i = 0; i < 20; ++i)
    model.Penalize("k", Penalty{static_cast<double>(i), 1, t0 + std::chrono::seconds(i), ""});
  const auto& list = model.penalties().at("k");
  EXPECT_EQ(list.size(), TargetModel::kMaxPenaltiesPerKnob);
  for (const auto& p : list) EXPECT_GE(p.value, 20.0 - TargetModel::kMaxPenaltiesPerKnob);
}

// Penalties, expired ones included (they double the next one), survive Save / Load.
TEST(BrainPenaltyRegressionTest, PenaltiesSurviveSaveAndLoad) {
  PressuredPool h;
  std::optional<Recommendation> bad = FirstRollback(h);
  ASSERT_TRUE(bad.has_value());
  auto before = h.brain->Model("svc");
  ASSERT_EQ(before->penalties.size(), 1u);
  const double remaining = before->penalties[0].remaining_seconds;
  EXPECT_GT(remaining, 250);

  std::string dir = ::testing::TempDir() + "/penalty_round_trip";
  std::filesystem::create_directories(dir);
  ASSERT_TRUE(h.brain->Save(dir).ok());
  FakeClock clock2;
  Brain restored(clock2, nullptr);
  ASSERT_TRUE(restored.Load(dir).ok());
  auto after = restored.Model("svc");
  ASSERT_TRUE(after.has_value());
  ASSERT_EQ(after->penalties.size(), 1u);
  EXPECT_EQ(after->penalties[0].knob, "worker_threads");
  EXPECT_EQ(after->penalties[0].value, 5);
  EXPECT_EQ(after->penalties[0].direction, 1);
  EXPECT_NEAR(after->penalties[0].remaining_seconds, remaining, 1);
  EXPECT_THAT(after->penalties[0].reason, HasSubstr("rolled back"));
  const TargetModel* m = restored.FindModel("svc");
  ASSERT_NE(m, nullptr);
  EXPECT_NE(m->PenaltyFor("worker_threads", 5, clock2.Now()), nullptr);

  // Once expired it is no longer listed or enforced, but it is still saved: the next rollback
  // into the region is penalized twice as long.
  clock2.Advance(std::chrono::seconds(static_cast<int>(remaining) + 5));
  EXPECT_TRUE(restored.Model("svc")->penalties.empty());
  EXPECT_EQ(m->PenaltyFor("worker_threads", 5, clock2.Now()), nullptr);
  BrainStateData saved = SavedState(restored, "penalty_round_trip_expired");
  ASSERT_EQ(saved.targets.size(), 1u);
  ASSERT_EQ(saved.targets[0].penalties.size(), 1u);
  EXPECT_LT(saved.targets[0].penalties[0].remaining_seconds, 0);
  Brain again(clock2, nullptr);
  ASSERT_TRUE(again.Load(::testing::TempDir() + "/penalty_round_trip_expired").ok());
  EXPECT_EQ(again.FindModel("svc")->penalties().at("worker_threads").size(), 1u);
}

}  // namespace
}  // namespace knob
