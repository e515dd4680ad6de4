// SPDX-License-Identifier: Apache-2.0
// The tuned service's series on /metrics (daemon/metrics/target_metrics.h): counters and a real
// histogram from reports, knob values, headroom per unit, the phase gauge, and removal of a
// target's series when it leaves.

#include "daemon/metrics/target_metrics.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include "config/policy_loader.h"
#include "tests/support/metric_value.h"

namespace knob {
namespace {

using test::MetricValue;

Policy LoadOrDie(const std::string& yaml) {
  PolicyLoad load = LoadPolicyString(yaml);
  EXPECT_TRUE(load.ok()) << (load.errors.empty() ? "" : load.errors.front().ToString());
  return *load.policy;
}

const char* kPolicy = R"(global:
  guard: {min_samples: 5}
targets:
  - name: web
    select: {registered: web}
    mode: apply
    constraints: {p99_latency: 50ms, error_rate: 1%, cpu_cores: 2, memory: 1GiB}
)";

class FakeBrain final : public BrainQueries {
 public:
  std::vector<Recommendation> History(const std::string&, uint32_t) const override {
    return newest ? std::vector<Recommendation>{*newest} : std::vector<Recommendation>{};
  }
  Result<Explanation> Explain(uint64_t) const override { return NotFoundError("none"); }
  std::optional<ModelView> Model(const std::string&) const override { return model; }
  std::optional<Recommendation> newest;
  std::optional<ModelView> model;
};

struct Fixture {
  Policy policy = LoadOrDie(kPolicy);
  prometheus::Registry registry;
  TargetMetrics metrics{registry};
  Snapshot snap;
  MonoTime now{};
  WallTime wall{};

  TargetSnapshot& Web() {
    auto& t = snap.targets["web"];
    t.name = "web";
    t.state = TargetState::kActive;
    return t;
  }
  // One tick one second later, with a report of `requests`/`errors` totals and a fresh report
  // time, and `cpu` seconds used so far.
  void Tick(double requests, double errors, double cpu, const BrainQueries* brain = nullptr,
            const Policy* configured = nullptr) {
    now += std::chrono::seconds(1);
    wall += std::chrono::seconds(1);
    snap.time = now;
    auto& t = Web();
    AppReport a;
    a.received = wall;
    a.requests_total = requests;
    a.errors_total = errors;
    a.latency_p99_seconds = 0.020;
    a.latency_bucket_bounds_seconds = {0.01, 0.1, 1};
    a.latency_bucket_counts = {6, 3, 1};
    a.latency_sum_seconds = 0.5;
    a.knobs = {{"concurrency_limit", 12}};
    t.app = a;
    CpuStats c;
    c.user_seconds = cpu;
    t.cpu = c;
    MemoryStats m;
    m.rss_bytes = 256ull << 20;
    t.memory = m;
    metrics.Update(policy, configured, snap, brain);
  }
  std::optional<double> Value(const std::string& name,
                              const std::map<std::string, std::string>& labels = {}) {
    auto l = labels;
    l["target"] = "web";
    return MetricValue(registry, name, l);
  }
};

TEST(TargetMetricsTest, CountersHistogramAndKnobValues) {
  Fixture f;
  f.Tick(100, 1, 0);
  f.Tick(300, 3, 0.5);
  EXPECT_EQ(f.Value("knobd_target_requests_total"), 300);
  EXPECT_EQ(f.Value("knobd_target_errors_total"), 3);
  EXPECT_EQ(f.Value("knobd_target_knob_value", {{"knob", "concurrency_limit"}}), 12);
  // Two reports of 10 requests each: a histogram, cumulative buckets, +Inf equal to the count.
  EXPECT_EQ(f.Value("knobd_target_request_duration_seconds"), 20);
  prometheus::TextSerializer ser;
  std::string text = ser.Serialize(f.registry.Collect());
  EXPECT_NE(text.find("knobd_target_request_duration_seconds_bucket{target=\"web\",le=\"0.1\"} 18"),
            std::string::npos)
      << text;
  EXPECT_NE(
      text.find("knobd_target_request_duration_seconds_bucket{target=\"web\",le=\"+Inf\"} 20"),
      std::string::npos);
  EXPECT_NE(text.find("# TYPE knobd_target_request_duration_seconds histogram"), std::string::npos);
}

TEST(TargetMetricsTest, AReportSeenOnTwoTicksIsCountedOnce) {
  Fixture f;
  f.Tick(100, 0, 0);
  f.now += std::chrono::seconds(1);
  f.snap.time = f.now;
  f.metrics.Update(f.policy, nullptr, f.snap, nullptr);  // same report, no new one
  EXPECT_EQ(f.Value("knobd_target_request_duration_seconds"), 10);
}

TEST(TargetMetricsTest, HeadroomIsLimitMinusMeasuredInTheConstraintsUnit) {
  Fixture f;
  f.Tick(1000, 0, 0);
  f.Tick(1995, 5, 0.5);  // 5 failures in 1000 attempts, 0.5 cores
  EXPECT_NEAR(*f.Value("knobd_target_constraint_headroom_seconds", {{"constraint", "p99_latency"}}),
              0.030, 1e-9);
  EXPECT_NEAR(*f.Value("knobd_target_constraint_headroom_ratio", {{"constraint", "error_rate"}}),
              0.01 - 0.005, 1e-9);
  EXPECT_NEAR(*f.Value("knobd_target_constraint_headroom_cores", {{"constraint", "cpu_cores"}}),
              1.5, 1e-9);
  EXPECT_EQ(f.Value("knobd_target_constraint_headroom_bytes", {{"constraint", "memory_bytes"}}),
            static_cast<double>((1ull << 30) - (256ull << 20)));
}

TEST(TargetMetricsTest, PhaseIsAStateGaugeFollowingTheBrain) {
  Fixture f;
  FakeBrain brain;
  auto phase = [&](const char* p) { return f.Value("knobd_target_phase", {{"phase", p}}); };
  f.Tick(10, 0, 0, &brain);
  EXPECT_EQ(phase("learning"), 1);
  for (const char* other : {"exploring", "verifying", "converged", "paused", "overridden"})
    EXPECT_EQ(phase(other), 0) << other;

  brain.model = ModelView{{{"observations", 20}, {"usl.confidence", 0.1}}, {}};
  f.Tick(20, 0, 0, &brain);
  EXPECT_EQ(phase("exploring"), 1);
  EXPECT_EQ(phase("learning"), 0);

  Recommendation r;
  r.outcome = Outcome::kApplied;
  brain.newest = r;
  f.Tick(30, 0, 0, &brain);
  EXPECT_EQ(phase("verifying"), 1);

  brain.newest->outcome = Outcome::kVerified;
  brain.model->model["usl.confidence"] = 0.9;
  f.Tick(40, 0, 0, &brain);
  EXPECT_EQ(phase("converged"), 1);

  Policy configured = f.policy;
  configured.targets[0].mode = Mode::kRecommend;  // the file says recommend, an override apply
  f.Tick(50, 0, 0, &brain, &configured);
  EXPECT_EQ(phase("overridden"), 1);

  f.Web().state = TargetState::kPaused;
  f.metrics.Update(f.policy, nullptr, f.snap, &brain);
  EXPECT_EQ(phase("paused"), 1);
  EXPECT_EQ(phase("converged"), 0);
}

TEST(TargetMetricsTest, SeriesOfATargetThatGoesAreRemoved) {
  Fixture f;
  f.Tick(10, 0, 0);
  f.Tick(20, 0, 0.1);
  ASSERT_TRUE(f.Value("knobd_target_requests_total").has_value());
  f.Web().state = TargetState::kGone;
  f.metrics.Update(f.policy, nullptr, f.snap, nullptr);
  prometheus::TextSerializer ser;
  std::string text = ser.Serialize(f.registry.Collect());
  EXPECT_EQ(text.find("target=\"web\""), std::string::npos) << text;
}

}  // namespace
}  // namespace knob
