// SPDX-License-Identifier: Apache-2.0
// The tick pipeline with fake stages and a FakeClock: order of stages, error accounting, the
// overrun rule, app-report merging and the metrics it records.

#include "daemon/tick.h"

#include <gtest/gtest.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include "daemon/metrics/self_metrics.h"
#include "tests/support/fake_clock.h"
#include "tests/support/metric_value.h"

namespace knob {
namespace {

using std::chrono::milliseconds;
using test::FakeClock;
using test::MetricValue;

std::shared_ptr<const Policy> TwoTargets() {
  Policy p;
  p.source = "<test>";
  TargetPolicy web;
  web.name = "web";
  web.selector.comm = "web";
  TargetPolicy app;
  app.name = "app";
  app.selector.registered = "app";
  p.targets = {web, app};
  return std::make_shared<const Policy>(std::move(p));
}

// Records the order stages ran in, shared by every fake.
struct Trace {
  std::vector<std::string> events;
};

class FakeCollector : public Collector {
 public:
  FakeCollector(std::string name, Trace& trace, FakeClock* clock = nullptr,
                Status result = OkStatus())
      : name_(std::move(name)), trace_(trace), clock_(clock), result_(std::move(result)) {}
  std::string_view Name() const override { return name_; }
  Status Collect(const CollectContext& ctx, Snapshot& out) override {
    trace_.events.push_back("collect:" + name_);
    seen_registered_ = ctx.registered_pids;
    if (ctx.instance_pids != nullptr) seen_instances_ = *ctx.instance_pids;
    saw_app_report_ = out.targets.count("app") && out.targets.at("app").app.has_value();
    for (auto& [n, t] : out.targets) {
      if (n == "web") t.state = TargetState::kActive;
    }
    if (clock_ != nullptr) clock_->Advance(milliseconds(250));
    return result_;
  }
  std::map<std::string, pid_t> seen_registered_;
  std::map<std::string, std::vector<pid_t>> seen_instances_;
  bool saw_app_report_ = false;

 private:
  std::string name_;
  Trace& trace_;
  FakeClock* clock_;
  Status result_;
};

class FakeDecider : public Decider {
 public:
  explicit FakeDecider(Trace& trace) : trace_(trace) {}
  void Observe(const Policy&, const Snapshot& s) override {
    trace_.events.push_back("observe");
    saw_app_report_ = s.targets.at("app").app.has_value();
  }
  std::vector<Recommendation> Decide(const Policy&, const Snapshot&) override {
    trace_.events.push_back("decide");
    Recommendation r;
    r.id = 7;
    r.target = "web";
    r.knob = "worker_threads";
    r.old_value = 8;
    r.new_value = 10;
    return {r, r};
  }
  void OnOutcome(uint64_t, Outcome, const std::string&) override {}
  Status Save(const std::string&) const override { return OkStatus(); }
  Status Load(const std::string&) override { return OkStatus(); }
  bool saw_app_report_ = false;

 private:
  Trace& trace_;
};

class FakePublisher : public Publisher {
 public:
  explicit FakePublisher(Trace& trace) : trace_(trace) {}
  void Publish(const Recommendation& rec) override {
    trace_.events.push_back("publish:" + rec.knob);
    published.push_back(rec);
  }
  std::vector<Recommendation> published;

 private:
  Trace& trace_;
};

class FakeApps : public AppReportSource {
 public:
  explicit FakeApps(Trace& trace) : trace_(trace) {}
  std::map<std::string, pid_t> RegisteredPids() const override { return {{"app", 4242}}; }
  void MergeReports(const Policy&, Snapshot& s) override {
    trace_.events.push_back("merge");
    auto& t = s.targets.at("app");
    t.state = TargetState::kActive;
    t.app = AppReport{};
    t.app->requests_total = 100;
  }

 private:
  Trace& trace_;
};

class TickTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto m = SelfMetrics::Create(registry_, clock_.WallNow());
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    metrics_ = std::move(*m);
    pipeline_ = std::make_unique<TickPipeline>(clock_, metrics_.get());
  }
  FakeClock clock_;
  prometheus::Registry registry_;
  std::unique_ptr<SelfMetrics> metrics_;
  std::unique_ptr<TickPipeline> pipeline_;
  Trace trace_;
};

TEST_F(TickTest, StagesRunInPipelineOrder) {
  FakePublisher pub1(trace_), pub2(trace_);
  FakeApps apps(trace_);
  pipeline_->AddCollector(std::make_unique<FakeCollector>("discovery", trace_));
  pipeline_->AddCollector(std::make_unique<FakeCollector>("cpu", trace_));
  pipeline_->SetDecider(std::make_unique<FakeDecider>(trace_));
  pipeline_->AddPublisher(&pub1);
  pipeline_->AddPublisher(&pub2);
  pipeline_->SetAppReportSource(&apps);

  auto r = pipeline_->RunSync(TwoTargets());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->published, 2u);
  std::vector<std::string> want = {"merge",
                                   "collect:discovery",
                                   "collect:cpu",
                                   "observe",
                                   "decide",
                                   "publish:worker_threads",
                                   "publish:worker_threads",
                                   "publish:worker_threads",
                                   "publish:worker_threads"};
  EXPECT_EQ(trace_.events, want);
  EXPECT_EQ(pub1.published.size(), 2u);
  EXPECT_EQ(pub2.published.size(), 2u);
  EXPECT_EQ(MetricValue(registry_, "knobd_recommendations_published_total"), 2);
}

TEST_F(TickTest, SnapshotHasEveryPolicyTargetAndClockTimes) {
  auto r = pipeline_->RunSync(TwoTargets());
  ASSERT_TRUE(r.ok());
  auto snap = pipeline_->last_snapshot();
  ASSERT_NE(snap, nullptr);
  ASSERT_EQ(snap->targets.size(), 2u);
  EXPECT_EQ(snap->targets.at("web").state, TargetState::kPending);
  EXPECT_EQ(snap->time, clock_.Now());
  EXPECT_EQ(snap->wall_time, clock_.WallNow());
  EXPECT_EQ(MetricValue(registry_, "knobd_targets", {{"state", "pending"}}), 2);
  EXPECT_EQ(MetricValue(registry_, "knobd_targets", {{"state", "active"}}), 0);
}

TEST_F(TickTest, RegisteredPidsAndReportsReachCollectorsAndDecider) {
  FakeApps apps(trace_);
  auto collector = std::make_unique<FakeCollector>("discovery", trace_);
  FakeCollector* c = collector.get();
  auto decider = std::make_unique<FakeDecider>(trace_);
  FakeDecider* d = decider.get();
  pipeline_->AddCollector(std::move(collector));
  pipeline_->SetDecider(std::move(decider));
  pipeline_->SetAppReportSource(&apps);
  ASSERT_TRUE(pipeline_->RunSync(TwoTargets()).ok());
  EXPECT_EQ(c->seen_registered_.at("app"), 4242);
  EXPECT_TRUE(c->saw_app_report_);
  EXPECT_TRUE(d->saw_app_report_);
  EXPECT_EQ(MetricValue(registry_, "knobd_targets", {{"state", "active"}}), 2);
  EXPECT_EQ(MetricValue(registry_, "knobd_targets", {{"state", "pending"}}), 0);
}

// A source that creates a target (as a catch-all does for each registered name, issue 15).
class CreatingApps : public AppReportSource {
 public:
  std::map<std::string, pid_t> RegisteredPids() const override { return {{"billing", 7}}; }
  std::map<std::string, std::vector<pid_t>> InstancePids() const override {
    return {{"billing", {7, 8}}};
  }
  void MergeReports(const Policy&, Snapshot& s) override {
    seeded = s.targets.count("billing") == 1;
  }
  bool ApplyOverrides(Policy& p) const override {
    TargetPolicy t;
    t.name = "billing";
    t.selector.registered = "billing";
    p.targets.push_back(t);
    return true;
  }
  bool seeded = false;
};

TEST_F(TickTest, TargetsTheSourceCreatesAreSeededAndCollected) {
  CreatingApps apps;
  auto collector = std::make_unique<FakeCollector>("discovery", trace_);
  FakeCollector* c = collector.get();
  pipeline_->AddCollector(std::move(collector));
  pipeline_->SetAppReportSource(&apps);
  ASSERT_TRUE(pipeline_->RunSync(TwoTargets()).ok());
  EXPECT_TRUE(apps.seeded) << "the created target must be in the snapshot reports merge into";
  EXPECT_EQ(pipeline_->last_snapshot()->targets.count("billing"), 1u);
  EXPECT_EQ(c->seen_instances_.at("billing"), (std::vector<pid_t>{7, 8}));
}

TEST_F(TickTest, FailingCollectorIsCountedAndOthersStillRun) {
  pipeline_->AddCollector(std::make_unique<FakeCollector>(
      "socket", trace_, nullptr, PermissionDeniedError("sock_diag: Operation not permitted")));
  pipeline_->AddCollector(std::make_unique<FakeCollector>("cpu", trace_));
  auto r = pipeline_->RunSync(TwoTargets());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->collector_errors, 1u);
  EXPECT_EQ(trace_.events, (std::vector<std::string>{"collect:socket", "collect:cpu"}));
  EXPECT_EQ(MetricValue(registry_, "knobd_collector_errors_total", {{"collector", "socket"}}), 1);
  ASSERT_TRUE(pipeline_->RunSync(TwoTargets()).ok());
  EXPECT_EQ(MetricValue(registry_, "knobd_collector_errors_total", {{"collector", "socket"}}), 2);
  EXPECT_EQ(MetricValue(registry_, "knobd_collector_errors_total", {{"collector", "cpu"}}), 0);
}

TEST_F(TickTest, DurationComesFromTheClock) {
  pipeline_->AddCollector(std::make_unique<FakeCollector>("slow", trace_, &clock_));
  auto r = pipeline_->RunSync(TwoTargets());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->duration, milliseconds(250));
  EXPECT_EQ(MetricValue(registry_, "knobd_ticks_total"), 1);
  EXPECT_EQ(MetricValue(registry_, "knobd_tick_duration_seconds"), 1);
  EXPECT_DOUBLE_EQ(*test::HistogramSum(registry_, "knobd_tick_duration_seconds"), 0.25);
}

TEST_F(TickTest, OverrunningTickIsSkippedNotQueued) {
  auto job = pipeline_->Begin(TwoTargets());
  ASSERT_NE(job, nullptr);
  EXPECT_TRUE(pipeline_->in_flight());
  EXPECT_EQ(pipeline_->Begin(TwoTargets()), nullptr);
  EXPECT_EQ(pipeline_->Begin(TwoTargets()), nullptr);
  EXPECT_FALSE(pipeline_->RunSync(TwoTargets()).ok());
  EXPECT_EQ(MetricValue(registry_, "knobd_ticks_skipped_total"), 3);
  pipeline_->Collect(*job);
  pipeline_->Finish(std::move(job));
  EXPECT_FALSE(pipeline_->in_flight());
  EXPECT_EQ(MetricValue(registry_, "knobd_ticks_total"), 1);
  EXPECT_NE(pipeline_->Begin(TwoTargets()), nullptr);
}

TEST_F(TickTest, JobKeepsThePolicyItStartedWith) {
  // A reload between Begin and Finish must not change the tick in flight.
  auto before = TwoTargets();
  auto job = pipeline_->Begin(before);
  ASSERT_NE(job, nullptr);
  auto after = std::make_shared<const Policy>();
  EXPECT_EQ(job->policy, before);
  EXPECT_EQ(job->snapshot.targets.size(), 2u);
  pipeline_->Collect(*job);
  pipeline_->Finish(std::move(job));
  ASSERT_TRUE(pipeline_->RunSync(after).ok());
  EXPECT_TRUE(pipeline_->last_snapshot()->targets.empty());
}

TEST_F(TickTest, AbandonedJobAllowsTheNextTick) {
  auto job = pipeline_->Begin(TwoTargets());
  ASSERT_NE(job, nullptr);
  pipeline_->Abandon();
  EXPECT_NE(pipeline_->Begin(TwoTargets()), nullptr);
}

TEST_F(TickTest, WithoutDeciderNothingIsPublished) {
  FakePublisher pub(trace_);
  pipeline_->AddPublisher(&pub);
  auto r = pipeline_->RunSync(TwoTargets());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->published, 0u);
  EXPECT_TRUE(pub.published.empty());
}

TEST(SelfMetricsTest, ReloadResultsAreRecorded) {
  prometheus::Registry registry;
  FakeClock clock;
  auto m = SelfMetrics::Create(registry, clock.WallNow());
  ASSERT_TRUE(m.ok());
  (*m)->RecordReload(true, clock.WallNow());
  EXPECT_EQ(MetricValue(registry, "knobd_config_last_reload_success"), 1);
  (*m)->RecordReload(false, clock.WallNow() + std::chrono::seconds(5));
  EXPECT_EQ(MetricValue(registry, "knobd_config_last_reload_success"), 0);
  EXPECT_EQ(MetricValue(registry, "knobd_config_last_reload_timestamp_seconds"), 1'800'000'005.0);
  EXPECT_EQ(MetricValue(registry, "knobd_config_reloads_total", {{"result", "success"}}), 1);
  EXPECT_EQ(MetricValue(registry, "knobd_config_reloads_total", {{"result", "failure"}}), 1);
  EXPECT_EQ(MetricValue(registry, "knobd_build_info"), 1);
}

TEST(SelfMetricsTest, NameClashIsAStatusNotAThrow) {
  prometheus::Registry registry;
  FakeClock clock;
  // A gauge already owns the name knobd wants for a counter: prometheus-cpp throws inside.
  prometheus::BuildGauge().Name("knobd_ticks_total").Help("clash").Register(registry);
  auto m = SelfMetrics::Create(registry, clock.WallNow());
  EXPECT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kInternal);
}

}  // namespace
}  // namespace knob
